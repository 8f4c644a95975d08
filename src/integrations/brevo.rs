//! Brevo transactional e-mail API (docs/contracts.md §3):
//! `POST {api}/smtp/email` with an `api-key` header; 201 `{"messageId"}`.

use serde::Deserialize;
use serde_json::json;

use super::{Call, CallContext, Http, JobError};

#[derive(Deserialize)]
struct Sent {
    #[serde(rename = "messageId")]
    message_id: Option<String>,
    #[serde(rename = "messageIds", default)]
    message_ids: Vec<String>,
}

#[derive(Deserialize)]
struct BrevoError {
    code: Option<String>,
}

/// Splits `Name <address>` (or a bare address).
pub fn parse_mailbox(from: &str) -> (Option<String>, String) {
    match (from.rfind('<'), from.rfind('>')) {
        (Some(start), Some(end)) if start < end => {
            let name = from[..start].trim().trim_matches('"').trim();
            (
                (!name.is_empty()).then(|| name.to_owned()),
                from[start + 1..end].trim().to_owned(),
            )
        }
        _ => (None, from.trim().to_owned()),
    }
}

/// One e-mail as Brevo takes it (the mail module renders it; this client
/// knows nothing of templates).
#[derive(Debug, Clone, Copy)]
pub struct Message<'a> {
    pub to: &'a str,
    pub subject: &'a str,
    pub html: &'a str,
    pub text: &'a str,
}

/// The request body for one e-mail.
pub fn body(from: &str, email: Message<'_>, tag: &str, idempotency_key: &str) -> serde_json::Value {
    let (name, address) = parse_mailbox(from);
    let mut sender = json!({ "email": address });
    if let Some(name) = name {
        sender["name"] = json!(name);
    }
    json!({
        "sender": sender,
        "to": [{ "email": email.to }],
        "subject": email.subject,
        "htmlContent": email.html,
        "textContent": email.text,
        // The key as a second tag: Brevo's event log can be searched by tag,
        // which resolves an e-mail in doubt (`find_sent`).
        "tags": [tag, idempotency_key],
        "headers": { "X-Histologe-Idempotency-Key": idempotency_key },
    })
}

/// Sends one e-mail; returns Brevo's message id.
pub async fn send(
    http: &Http,
    ctx: &CallContext,
    api_url: &str,
    api_key: &str,
    body: &serde_json::Value,
) -> Result<String, JobError> {
    let url = format!("{}/smtp/email", api_url.trim_end_matches('/'));
    let text = body.to_string();
    let answer = http
        .send(
            ctx,
            Call {
                service: "brevo",
                action: "send_email",
                endpoint: format!("POST {}", super::loggable_url(&url)),
                request_excerpt: Some(super::redact_json(&text)),
            },
            http.client()
                .post(&url)
                .header("api-key", api_key)
                .header("content-type", "application/json")
                .header("accept", "application/json")
                .body(text),
        )
        .await?;
    if answer.status == 201 || answer.status == 200 {
        let sent: Sent = serde_json::from_str(&answer.body)
            .map_err(|_| JobError::Permanent("Brevo : réponse illisible après envoi".into()))?;
        return sent
            .message_id
            .or_else(|| sent.message_ids.into_iter().next())
            .ok_or_else(|| JobError::Permanent("Brevo : pas de messageId dans la réponse".into()));
    }
    // Brevo's code is a plain identifier; its message may quote the
    // recipient's address, which the Interconnexions page must not show.
    let code = serde_json::from_str::<BrevoError>(&answer.body)
        .ok()
        .and_then(|e| e.code)
        .and_then(|c| super::safe_code(&c).map(str::to_owned))
        .unwrap_or_default();
    let message = format!("Brevo HTTP {} {code}", answer.status)
        .trim_end()
        .to_owned();
    Err(if answer.status == 429 || answer.status >= 500 {
        JobError::Retry {
            message,
            retry_after: answer.retry_after(),
        }
    } else {
        JobError::Permanent(message)
    })
}

#[derive(Deserialize)]
struct Events {
    #[serde(default)]
    events: Vec<Event>,
}

#[derive(Deserialize)]
struct Event {
    #[serde(rename = "messageId")]
    message_id: Option<String>,
}

/// Looks an e-mail up in Brevo's event log by its idempotency key (sent as
/// a tag, [`body`]): `GET {api}/smtp/statistics/events?tags=<key>`. Brevo
/// logs a `requests` event for every e-mail it accepted, so an event means
/// the e-mail left (its message id is returned) and none means it did not.
pub async fn find_sent(
    http: &Http,
    ctx: &CallContext,
    api_url: &str,
    api_key: &str,
    idempotency_key: &str,
) -> Result<Option<String>, JobError> {
    let url = format!("{}/smtp/statistics/events", api_url.trim_end_matches('/'));
    let answer = http
        .send(
            ctx,
            Call {
                service: "brevo",
                action: "find_email",
                endpoint: format!("GET {}", super::loggable_url(&url)),
                request_excerpt: Some(format!("tags={idempotency_key}")),
            },
            http.client()
                .get(&url)
                .query(&[("tags", idempotency_key), ("days", "30"), ("limit", "10")])
                .header("api-key", api_key)
                .header("accept", "application/json"),
        )
        .await?;
    if !answer.is_success() {
        return Err(answer.to_error("Brevo"));
    }
    let events: Events = serde_json::from_str(&answer.body)
        .map_err(|_| JobError::retry("Brevo : journal des événements illisible"))?;
    Ok(events
        .events
        .into_iter()
        .next()
        .map(|e| e.message_id.unwrap_or_default()))
}
