//! How e-mails leave: the Brevo HTTP API (`BREVO_API_KEY`), an SMTP relay
//! (`SMTP_URL`, lettre), or the local mailbox folder (default). The worker
//! sends whatever [`super::render::render`] produced.
//!
//! A failure that condemns the recipient's address (an SMTP 5xx answer, an
//! address the local mailbox refuses) says so in [`Failure::refused`]: the
//! worker records it as Brevo's webhook would (docs/deliverability.md §5).

use std::{path::PathBuf, time::Instant};

use lettre::{
    AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor,
    message::{MultiPart, header::ContentType},
};

use super::render::RenderedEmail;
use crate::{
    config::{MailConfig, Secret},
    db::interconnections::NewCall,
    domain::delivery::{IssueKind, Source},
    integrations::{self, CallContext, Http, JobError},
};

/// A send that failed, and what it says of the recipient's address.
#[derive(Debug)]
pub struct Failure {
    pub error: JobError,
    /// The address is refused for good: the kind of issue and the answer.
    pub refused: Option<(IssueKind, String)>,
}

impl From<JobError> for Failure {
    fn from(error: JobError) -> Self {
        Self {
            error,
            refused: None,
        }
    }
}

/// The reserved top-level domain (RFC 2606) the local mailbox refuses, so
/// that a bounce can be seen without a relay: `usager@adresse.invalid`.
pub const MAILBOX_REFUSED_TLD: &str = ".invalid";

#[derive(Clone)]
pub enum Transport {
    Brevo { api_key: Secret, api_url: String },
    Smtp(AsyncSmtpTransport<Tokio1Executor>),
    Mailbox(PathBuf),
}

impl Transport {
    pub fn from_config(config: &MailConfig) -> anyhow::Result<Self> {
        Ok(match config {
            MailConfig::Brevo { api_key, api_url } => Transport::Brevo {
                api_key: api_key.clone(),
                api_url: api_url.clone(),
            },
            MailConfig::Smtp { url } => {
                let transport: AsyncSmtpTransport<Tokio1Executor> =
                    AsyncSmtpTransport::<Tokio1Executor>::from_url(url.expose())?
                        .timeout(Some(std::time::Duration::from_secs(30)))
                        .build();
                Transport::Smtp(transport)
            }
            MailConfig::Mailbox { dir } => Transport::Mailbox(dir.clone()),
        })
    }

    /// Who reports this transport's refusals (`email_delivery_issues.source`).
    pub fn source(&self) -> Source {
        match self {
            Transport::Brevo { .. } => Source::Brevo,
            Transport::Smtp(_) => Source::Smtp,
            Transport::Mailbox(_) => Source::Mailbox,
        }
    }

    /// `brevo`, `smtp` or `file` (as stored in `sent_emails.provider`).
    pub fn provider(&self) -> &'static str {
        match self {
            Transport::Brevo { .. } => "brevo",
            Transport::Smtp(_) => "smtp",
            Transport::Mailbox(_) => "file",
        }
    }

    /// Sends one e-mail. Returns the provider's message id when it gives one.
    pub async fn send(
        &self,
        http: &Http,
        ctx: &CallContext,
        from: &str,
        email: &RenderedEmail,
        tag: &str,
        key: &str,
    ) -> Result<Option<String>, Failure> {
        match self {
            Transport::Brevo { api_key, api_url } => {
                let message = integrations::brevo::Message {
                    to: &email.to,
                    subject: &email.subject,
                    html: &email.html,
                    text: &email.text,
                };
                let body = integrations::brevo::body(from, message, tag, key);
                integrations::brevo::send(http, ctx, api_url, api_key.expose(), &body)
                    .await
                    .map(Some)
                    .map_err(Failure::from)
            }
            Transport::Smtp(smtp) => send_smtp(smtp, http, ctx, from, email, key).await,
            Transport::Mailbox(dir) => {
                if email.to.to_ascii_lowercase().ends_with(MAILBOX_REFUSED_TLD) {
                    return Err(Failure {
                        error: JobError::Permanent("boîte locale : domaine inexistant".into()),
                        refused: Some((
                            IssueKind::HardBounce,
                            "domaine inexistant (boîte locale de développement)".into(),
                        )),
                    });
                }
                let dir = dir.clone();
                let (from, email, key) = (from.to_owned(), email.clone(), key.to_owned());
                tokio::task::spawn_blocking(move || {
                    super::mailbox::write(&dir, &from, &email, &key)
                })
                .await
                .map_err(|e| JobError::retry(format!("boîte locale : {e}")))?
                .map(Some)
                .map_err(|e| JobError::retry(format!("boîte locale : {e}")).into())
            }
        }
    }
}

async fn send_smtp(
    smtp: &AsyncSmtpTransport<Tokio1Executor>,
    http: &Http,
    ctx: &CallContext,
    from: &str,
    email: &RenderedEmail,
    key: &str,
) -> Result<Option<String>, Failure> {
    let recipient = email.to.parse().map_err(|e| Failure {
        error: JobError::Permanent(format!("destinataire invalide : {e}")),
        refused: Some((IssueKind::InvalidEmail, format!("adresse refusée : {e}"))),
    })?;
    let message = Message::builder()
        .from(
            from.parse()
                .map_err(|e| JobError::Permanent(format!("MAIL_FROM invalide : {e}")))?,
        )
        .to(recipient)
        .subject(&email.subject)
        .message_id(Some(format!("<{}@histologe>", key.replace(':', "."))))
        .multipart(MultiPart::alternative_plain_html(
            email.text.clone(),
            email.html.clone(),
        ))
        .map_err(|e| JobError::Permanent(format!("message invalide : {e}")))?;
    let _ = ContentType::TEXT_PLAIN;
    let started = Instant::now();
    let result = smtp.send(message).await;
    let mut record = NewCall {
        outbox_id: ctx.outbox_id,
        partner_id: ctx.partner_id,
        report_id: ctx.report_id,
        service: "smtp".into(),
        action: "send_email".into(),
        endpoint: "SMTP relay".into(),
        duration_ms: u32::try_from(started.elapsed().as_millis()).unwrap_or(u32::MAX),
        attempt: ctx.attempt.max(1),
        request_excerpt: Some(format!("to: {} / subject: {}", email.to, email.subject)),
        ..NewCall::default()
    };
    match result {
        Ok(response) => {
            record.http_status = Some(response.code().into());
            record.response_excerpt = Some(response.message().collect::<Vec<_>>().join(" "));
            http.log(&record).await;
            Ok(None)
        }
        Err(e) => {
            record.error = Some(e.to_string());
            http.log(&record).await;
            // A 5xx answer: the relay will never take this e-mail, which
            // is a hard bounce of the address.
            if e.is_permanent() {
                Err(Failure {
                    error: JobError::Permanent(format!("SMTP : {e}")),
                    refused: Some((IssueKind::HardBounce, format!("SMTP : {e}"))),
                })
            } else {
                Err(JobError::retry(format!("SMTP : {e}")).into())
            }
        }
    }
}

/// What a transport can tell of an e-mail whose send was interrupted (a
/// reservation in `sent_emails` without confirmation).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Doubt {
    /// It left: confirm it with this message id, send nothing.
    Sent(Option<String>),
    /// It did not leave, or sending it again cannot double it: send.
    Resend,
}

impl Transport {
    /// Resolves the doubt on the e-mail of `key` (docs/worker.md §5):
    /// - the mailbox folder writes once per key: sending again is harmless;
    /// - Brevo is asked for its event log, where the key is a tag;
    /// - an SMTP relay cannot be asked: the e-mail is sent again (a rare
    ///   duplicate is better than a resident's confirmation never sent).
    pub async fn resolve_doubt(
        &self,
        http: &Http,
        ctx: &CallContext,
        key: &str,
    ) -> Result<Doubt, JobError> {
        match self {
            Transport::Brevo { api_key, api_url } => Ok(
                match integrations::brevo::find_sent(http, ctx, api_url, api_key.expose(), key)
                    .await?
                {
                    Some(message_id) => Doubt::Sent(Some(message_id).filter(|id| !id.is_empty())),
                    None => Doubt::Resend,
                },
            ),
            Transport::Smtp(_) | Transport::Mailbox(_) => Ok(Doubt::Resend),
        }
    }
}
