//! The e-mails that left the platform, keyed by an idempotency key so that
//! none leaves twice (see `worker::handlers::send_email`).

use sqlx::MySqlConnection;

use super::Pool;

/// What is known about a key before sending.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Previous {
    /// Never tried: send it.
    None,
    /// Sent and confirmed (the provider gave a message id, or the file or
    /// SMTP relay accepted it).
    Sent,
    /// A send started and its outcome was never recorded: the worker died
    /// during the call to the provider.
    InDoubt,
}

pub async fn previous(pool: &Pool, key: &str) -> Result<Previous, sqlx::Error> {
    let row = sqlx::query!(
        "SELECT provider_message_id, email_type FROM sent_emails WHERE idempotency_key = ?",
        key
    )
    .fetch_optional(pool)
    .await?;
    Ok(match row {
        None => Previous::None,
        Some(r)
            if r.email_type.as_deref() == Some("in_flight") && r.provider_message_id.is_none() =>
        {
            Previous::InDoubt
        }
        Some(_) => Previous::Sent,
    })
}

/// Records, just before the call to the provider, that a send is starting.
/// Returns false when the key already exists (someone else sends it).
pub async fn reserve(
    pool: &Pool,
    key: &str,
    outbox_id: Option<u64>,
    recipient: &str,
    subject: &str,
    provider: &str,
    report_id: Option<u64>,
) -> Result<bool, sqlx::Error> {
    let done = sqlx::query!(
        "INSERT IGNORE INTO sent_emails
             (outbox_id, idempotency_key, email_type, recipient, subject, provider, report_id)
         VALUES (?, ?, 'in_flight', ?, LEFT(?, 255), ?, ?)",
        outbox_id,
        key,
        recipient,
        subject,
        provider,
        report_id
    )
    .execute(pool)
    .await?;
    Ok(done.rows_affected() == 1)
}

/// Confirms a send (in the transaction that marks the job done).
pub async fn confirm(
    conn: &mut MySqlConnection,
    key: &str,
    email_type: &str,
    provider_message_id: Option<&str>,
) -> Result<(), sqlx::Error> {
    sqlx::query!(
        "UPDATE sent_emails SET email_type = ?, provider_message_id = ? WHERE idempotency_key = ?",
        email_type,
        provider_message_id,
        key
    )
    .execute(conn)
    .await?;
    Ok(())
}

/// Forgets a reservation whose send failed for sure (the provider answered
/// with an error), so that a retry may send.
pub async fn release(pool: &Pool, key: &str) -> Result<(), sqlx::Error> {
    sqlx::query!(
        "DELETE FROM sent_emails WHERE idempotency_key = ? AND email_type = 'in_flight'",
        key
    )
    .execute(pool)
    .await?;
    Ok(())
}

/// A sent e-mail (tests).
#[derive(Debug, Clone)]
pub struct SentEmail {
    pub idempotency_key: String,
    pub email_type: Option<String>,
    pub recipient: String,
    pub subject: String,
    pub provider: String,
    pub provider_message_id: Option<String>,
}

pub async fn list(pool: &Pool) -> Result<Vec<SentEmail>, sqlx::Error> {
    sqlx::query_as!(
        SentEmail,
        "SELECT idempotency_key, email_type, recipient, subject, provider, provider_message_id
         FROM sent_emails ORDER BY id"
    )
    .fetch_all(pool)
    .await
}
