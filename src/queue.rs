//! Jobs for the worker, recorded in the `outbox` table inside the caller's
//! transaction: a job exists if and only if the business write that implies
//! it was committed. The worker (`jobs/`) runs them.

use serde::{Deserialize, Serialize};
use sqlx::MySqlConnection;

/// An e-mail to send, with what its template needs. The worker renders it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "template", rename_all = "snake_case")]
pub enum Email {
    /// A new back-office account: link to choose a password.
    AccountActivation {
        to: String,
        first_name: String,
        link: String,
    },
    /// "Mot de passe oublié": link valid one hour.
    PasswordReset { to: String, link: String },
    /// News of their case for the resident: validation, refusal, closure,
    /// a public follow-up, a visit.
    CaseUpdateForResident {
        to: String,
        reference: String,
        title: String,
        message: String,
        link: String,
    },
    /// A back-office notification sent at once (instant preference, or a
    /// partner's generic mailbox).
    CaseUpdateForStaff {
        to: String,
        reference: String,
        title: String,
        link: String,
    },
}

impl Email {
    pub fn recipient(&self) -> &str {
        match self {
            Email::AccountActivation { to, .. }
            | Email::PasswordReset { to, .. }
            | Email::CaseUpdateForResident { to, .. }
            | Email::CaseUpdateForStaff { to, .. } => to,
        }
    }
}

/// The kinds of job, as stored in `outbox.kind`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Job {
    SendEmail(Email),
    /// A report was assigned to a partner: the worker pushes it to the
    /// partner's systems (Esabora, Zapier, webhook) as configured.
    AssignmentCreated {
        assignment_id: u64,
    },
    /// An assignment changed status: the partner's webhook is told.
    AssignmentStatusChanged {
        assignment_id: u64,
    },
}

impl Job {
    pub fn kind(&self) -> &'static str {
        match self {
            Job::SendEmail(_) => "send_email",
            Job::AssignmentCreated { .. } => "assignment_created",
            Job::AssignmentStatusChanged { .. } => "assignment_status_changed",
        }
    }
}

/// Links a job to the report or partner it concerns (for the
/// interconnection log and its filters).
#[derive(Debug, Clone, Copy, Default)]
pub struct JobContext {
    pub report_id: Option<u64>,
    pub partner_id: Option<u64>,
    /// Run no earlier than this many seconds from now.
    pub delay_secs: i64,
}

/// Records a job in the caller's transaction. With an idempotency key, a
/// second enqueue of the same key is a no-op.
pub async fn enqueue(
    conn: &mut MySqlConnection,
    job: &Job,
    idempotency_key: Option<&str>,
    context: JobContext,
) -> Result<(), sqlx::Error> {
    let payload = serde_json::to_value(job).map_err(|e| sqlx::Error::Encode(Box::new(e)))?;
    crate::db::outbox::insert(conn, job.kind(), &payload, idempotency_key, context).await
}
