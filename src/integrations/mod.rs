//! Typed clients of the external services (docs/contracts.md): BAN geocoding,
//! ADEME DPE, Brevo, Esabora SCHS / SI-SH, Zapier and signed webhooks;
//! and ClamAV's daemon ([`clamav`], its own socket protocol, not HTTP).
//!
//! Every call goes through [`Http::send`] (services the operator
//! configures: BAN, ADEME, Brevo) or [`Http::send_to_partner`] (URLs a
//! territory admin types: webhooks, Esabora, Zapier; see [`guard`]): a
//! reqwest client with a connect timeout and a total timeout, an answer
//! read up to [`MAX_BODY_BYTES`], and one `interconnection_calls` row per
//! call (endpoint without secrets, status, duration, attempt, error
//! category, redacted request excerpt). Clients turn answers into
//! [`JobError`]s that say whether the worker should retry (timeouts, 5xx,
//! 429 with its Retry-After) or give up.
//!
//! Errors stored in the database (and shown on the "Interconnexions" page)
//! are categories ("délai dépassé", "adresse refusée", "HTTP 500"), never
//! text from the answer: a partner URL pointing at an internal service
//! must not read that service back. Details go to the logs only.

pub mod ban;
pub mod brevo;
pub mod clamav;
pub mod dpe;
pub mod esabora;
pub mod guard;
pub mod webhook;
pub mod zapier;

use std::time::{Duration, Instant};

use reqwest::{RequestBuilder, Url, header::HeaderMap};

use crate::db::{self, Pool, interconnections::NewCall};

/// Why a job did not complete.
#[derive(Debug, Clone, PartialEq)]
pub enum JobError {
    /// Worth another attempt (timeout, connection error, 5xx, 429), not
    /// before `retry_after` when the service said so.
    Retry {
        message: String,
        retry_after: Option<Duration>,
    },
    /// Another attempt would fail the same way (bad request, bad key, ...).
    Permanent(String),
}

impl JobError {
    pub fn retry(message: impl Into<String>) -> Self {
        JobError::Retry {
            message: message.into(),
            retry_after: None,
        }
    }
    pub fn message(&self) -> &str {
        match self {
            JobError::Retry { message, .. } | JobError::Permanent(message) => message,
        }
    }
}

impl std::fmt::Display for JobError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.message())
    }
}

impl From<sqlx::Error> for JobError {
    fn from(e: sqlx::Error) -> Self {
        JobError::retry(format!("base de données : {e}"))
    }
}

/// What a call is about, for the log.
#[derive(Debug, Clone, Copy, Default)]
pub struct CallContext {
    pub outbox_id: Option<u64>,
    pub partner_id: Option<u64>,
    pub report_id: Option<u64>,
    pub attempt: u32,
}

/// An HTTP answer, whatever its status.
#[derive(Debug, Clone)]
pub struct Answer {
    pub status: u16,
    pub headers: HeaderMap,
    pub body: String,
}

impl Answer {
    pub fn is_success(&self) -> bool {
        (200..300).contains(&self.status)
    }

    /// The delay the service asked for (`Retry-After` in seconds, or Brevo's
    /// `x-sib-ratelimit-reset`).
    pub fn retry_after(&self) -> Option<Duration> {
        ["retry-after", "x-sib-ratelimit-reset"]
            .iter()
            .find_map(|name| {
                self.headers
                    .get(*name)?
                    .to_str()
                    .ok()?
                    .trim()
                    .parse::<f64>()
                    .ok()
            })
            .filter(|secs| secs.is_finite() && *secs >= 0.0)
            .map(|secs| Duration::from_secs_f64(secs.min(3600.0)))
    }

    /// The generic reading of an error status: 429, 408 and 5xx are worth
    /// a retry, other statuses are not. The body is not quoted (see the
    /// module documentation).
    pub fn to_error(&self, service: &str) -> JobError {
        let message = format!("{service} : HTTP {}", self.status);
        if self.status == 429 || self.status == 408 || self.status >= 500 {
            JobError::Retry {
                message,
                retry_after: self.retry_after(),
            }
        } else {
            JobError::Permanent(message)
        }
    }
}

/// A request to log: service and action names, the endpoint as it may be
/// shown (no secret in it), the body excerpt (redacted by [`redact_json`]).
pub struct Call<'a> {
    pub service: &'a str,
    pub action: &'a str,
    pub endpoint: String,
    pub request_excerpt: Option<String>,
}

/// The most an answer may weigh: the services answer a few kilobytes; a
/// partner URL must not make the worker buffer an endless stream.
pub const MAX_BODY_BYTES: usize = 4 * 1024 * 1024;

/// The HTTP clients shared by every integration.
#[derive(Clone)]
pub struct Http {
    client: reqwest::Client,
    /// For partner-configured URLs: guarded resolver, no redirect, no proxy.
    partner: reqwest::Client,
    guard: guard::Guard,
    pool: Pool,
}

/// Why a call got no usable answer; [`Failure::category`] is what is stored.
#[derive(Debug)]
enum Failure {
    Transport(reqwest::Error),
    TooLarge,
}

impl Failure {
    /// The redacted category stored and shown to admins.
    fn category(&self) -> &'static str {
        match self {
            Failure::TooLarge => "réponse trop volumineuse",
            Failure::Transport(e) if guard::refusal(e).is_some() => "adresse refusée",
            Failure::Transport(e) if e.is_timeout() => "délai dépassé",
            Failure::Transport(e) if e.is_connect() => "connexion impossible",
            Failure::Transport(e) if e.is_body() || e.is_decode() => "réponse interrompue",
            Failure::Transport(_) => "erreur de transport",
        }
    }

    /// A refusal by the guard will not change on retry; the rest may.
    fn to_job_error(&self, service: &str) -> JobError {
        let message = format!("{service} : {}", self.category());
        match self {
            Failure::Transport(e) if guard::refusal(e).is_some() => JobError::Permanent(message),
            Failure::TooLarge => JobError::Permanent(message),
            Failure::Transport(_) => JobError::retry(message),
        }
    }
}

impl From<reqwest::Error> for Failure {
    fn from(e: reqwest::Error) -> Self {
        // The URL may hold a secret (a Zapier hook): it stays out of logs.
        Failure::Transport(e.without_url())
    }
}

/// Reads the answer, refusing more than [`MAX_BODY_BYTES`].
async fn read_capped(mut response: reqwest::Response) -> Result<String, Failure> {
    if response
        .content_length()
        .is_some_and(|length| length > MAX_BODY_BYTES as u64)
    {
        return Err(Failure::TooLarge);
    }
    let mut body = Vec::new();
    while let Some(chunk) = response.chunk().await? {
        if body.len() + chunk.len() > MAX_BODY_BYTES {
            return Err(Failure::TooLarge);
        }
        body.extend_from_slice(&chunk);
    }
    Ok(String::from_utf8_lossy(&body).into_owned())
}

impl Http {
    /// Clients with the given connect and total timeouts; partner calls
    /// go through `guard`.
    pub fn new(
        pool: Pool,
        connect_timeout: Duration,
        timeout: Duration,
        guard: guard::Guard,
    ) -> anyhow::Result<Self> {
        let user_agent = concat!("histologe/", env!("CARGO_PKG_VERSION"));
        let client = reqwest::Client::builder()
            .connect_timeout(connect_timeout)
            .timeout(timeout)
            .user_agent(user_agent)
            .build()?;
        let partner = reqwest::Client::builder()
            .connect_timeout(connect_timeout)
            .timeout(timeout)
            .user_agent(user_agent)
            .redirect(reqwest::redirect::Policy::none())
            .no_proxy()
            .https_only(guard.policy() == guard::Policy::PublicOnly)
            .dns_resolver(guard.dns_resolver())
            .build()?;
        Ok(Self {
            client,
            partner,
            guard,
            pool,
        })
    }

    /// The client of operator-configured services.
    pub fn client(&self) -> &reqwest::Client {
        &self.client
    }

    pub fn pool(&self) -> &Pool {
        &self.pool
    }

    pub fn guard(&self) -> &guard::Guard {
        &self.guard
    }

    /// Sends a request to an operator-configured service and records it.
    /// Any HTTP answer is `Ok` (the client reads its status); no answer
    /// (timeout, refused connection, broken or oversized body) is an error.
    pub async fn send(
        &self,
        ctx: &CallContext,
        call: Call<'_>,
        request: RequestBuilder,
    ) -> Result<Answer, JobError> {
        self.execute(ctx, call, request, true).await
    }

    /// Sends a request to a URL a partner's admin configured: the URL is
    /// checked by the [`guard`] first (a refusal is recorded and permanent:
    /// no connection is attempted), then `build` makes the request on the
    /// guarded client. The answer's body is never recorded.
    pub async fn send_to_partner(
        &self,
        ctx: &CallContext,
        call: Call<'_>,
        url: &str,
        build: impl FnOnce(&reqwest::Client, Url) -> RequestBuilder,
    ) -> Result<Answer, JobError> {
        match self.guard.check_url(url) {
            Ok(url) => {
                let request = build(&self.partner, url);
                self.execute(ctx, call, request, false).await
            }
            Err(refused) => {
                tracing::warn!(
                    service = call.service,
                    partner.id = ctx.partner_id,
                    reason = %refused,
                    "partner URL refused before any connection"
                );
                let message = format!("{} : adresse refusée", call.service);
                self.log(&NewCall {
                    outbox_id: ctx.outbox_id,
                    partner_id: ctx.partner_id,
                    report_id: ctx.report_id,
                    service: call.service.to_owned(),
                    action: call.action.to_owned(),
                    endpoint: call.endpoint,
                    http_status: None,
                    duration_ms: 0,
                    attempt: ctx.attempt.max(1),
                    error: Some("adresse refusée".into()),
                    request_excerpt: None,
                    response_excerpt: None,
                })
                .await;
                Err(JobError::Permanent(message))
            }
        }
    }

    async fn execute(
        &self,
        ctx: &CallContext,
        call: Call<'_>,
        request: RequestBuilder,
        keep_response_excerpt: bool,
    ) -> Result<Answer, JobError> {
        let started = Instant::now();
        let result = async {
            let response = request.send().await?;
            let status = response.status().as_u16();
            let headers = response.headers().clone();
            let body = read_capped(response).await?;
            Ok::<_, Failure>(Answer {
                status,
                headers,
                body,
            })
        }
        .await;
        let duration_ms = u32::try_from(started.elapsed().as_millis()).unwrap_or(u32::MAX);
        let (http_status, error, response_excerpt) = match &result {
            Ok(answer) => (
                Some(answer.status),
                (!answer.is_success()).then(|| format!("HTTP {}", answer.status)),
                keep_response_excerpt.then(|| redact_json(&answer.body)),
            ),
            Err(failure) => {
                tracing::warn!(
                    service = call.service,
                    action = call.action,
                    partner.id = ctx.partner_id,
                    error = ?failure,
                    "call without a usable answer"
                );
                (None, Some(failure.category().to_owned()), None)
            }
        };
        let record = NewCall {
            outbox_id: ctx.outbox_id,
            partner_id: ctx.partner_id,
            report_id: ctx.report_id,
            service: call.service.to_owned(),
            action: call.action.to_owned(),
            endpoint: call.endpoint,
            http_status,
            duration_ms,
            attempt: ctx.attempt.max(1),
            error,
            request_excerpt: call.request_excerpt,
            response_excerpt,
        };
        self.log(&record).await;
        result.map_err(|failure| failure.to_job_error(call.service))
    }

    /// Records a call made without [`Http::send`] (SMTP).
    pub async fn log(&self, record: &NewCall) {
        if let Err(e) = db::interconnections::insert(&self.pool, record).await {
            tracing::warn!(error = %e, service = %record.service, "could not record an interconnection call");
        }
    }
}

/// A code from an answer that may be shown: a short identifier
/// (`WS_ERR_SQL`, `invalid_parameter`), never free text.
pub fn safe_code(code: &str) -> Option<&str> {
    let code = code.trim();
    (!code.is_empty()
        && code.len() <= 40
        && code
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-' || c == '.'))
    .then_some(code)
}

/// At most `max` characters of `text`, with an ellipsis when cut.
pub fn excerpt(text: &str, max: usize) -> String {
    if text.chars().count() <= max {
        text.to_owned()
    } else {
        let mut out: String = text.chars().take(max).collect();
        out.push('…');
        out
    }
}

const EXCERPT_CHARS: usize = 2000;

/// Names of JSON fields whose values never reach the log.
fn is_secret_field(name: &str) -> bool {
    let name = name.to_ascii_lowercase();
    [
        "token",
        "password",
        "secret",
        "api-key",
        "api_key",
        "apikey",
        "authorization",
    ]
    .iter()
    .any(|s| name.contains(s))
}

/// Names of JSON fields too big (and too personal) for the log.
fn is_bulky_field(name: &str) -> bool {
    matches!(
        name,
        "documentContent" | "documentZipContent" | "content" | "htmlContent" | "textContent"
    )
}

fn redact_value(value: &mut serde_json::Value) {
    match value {
        serde_json::Value::Object(map) => {
            for (key, v) in map.iter_mut() {
                if is_secret_field(key) {
                    *v = serde_json::Value::String("***".into());
                } else if is_bulky_field(key) {
                    *v = serde_json::Value::String("[…]".into());
                } else {
                    redact_value(v);
                }
            }
        }
        serde_json::Value::Array(items) => items.iter_mut().for_each(redact_value),
        _ => {}
    }
}

/// A body excerpt for the log: JSON with secrets and documents replaced,
/// cut to 2000 characters; non-JSON text only cut.
pub fn redact_json(body: &str) -> String {
    match serde_json::from_str::<serde_json::Value>(body) {
        Ok(mut value) => {
            redact_value(&mut value);
            excerpt(&value.to_string(), EXCERPT_CHARS)
        }
        Err(_) => excerpt(body, EXCERPT_CHARS),
    }
}

/// A URL as it may be logged: no user info, and the values of query
/// parameters that look like secrets replaced.
pub fn loggable_url(url: &str) -> String {
    let Ok(mut parsed) = reqwest::Url::parse(url) else {
        return excerpt(url, 200);
    };
    let _ = parsed.set_username("");
    let _ = parsed.set_password(None);
    let pairs: Vec<(String, String)> = parsed
        .query_pairs()
        .map(|(k, v)| {
            let v = if is_secret_field(&k) {
                "***".to_owned()
            } else {
                v.into_owned()
            };
            (k.into_owned(), v)
        })
        .collect();
    if !pairs.is_empty() {
        parsed.query_pairs_mut().clear().extend_pairs(pairs);
    }
    parsed.to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secrets_and_documents_never_reach_the_log() {
        let body = r#"{"token":"abc","fieldList":[{"fieldName":"PJ_Documents","fieldValue":[{"documentContent":"QUJD"}]}],"api-key":"k"}"#;
        let out = redact_json(body);
        assert!(!out.contains("abc") && !out.contains("QUJD") && !out.contains("\"k\""));
        assert!(out.contains("PJ_Documents"));
        assert_eq!(
            loggable_url("https://u:p@h.fr/x?q=1&token=s"),
            "https://h.fr/x?q=1&token=***"
        );
    }
}
