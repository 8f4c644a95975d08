//! E-mail deliverability: what a provider says of an e-mail that did not
//! reach its recipient, and when an address becomes "à vérifier"
//! (docs/deliverability.md). Free of HTTP and SQL: the webhook
//! (`web::webhooks`) and the worker's transports (`mail::transport`) build
//! [`Notice`]s, `db::delivery` stores them.

use serde_json::Value;
use time::{OffsetDateTime, PrimitiveDateTime};

use super::contact::Email;

/// The failures recorded (Brevo's error events; an SMTP refusal is a hard
/// bounce, a malformed address an invalid e-mail).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum IssueKind {
    HardBounce,
    SoftBounce,
    Blocked,
    Spam,
    InvalidEmail,
    Error,
    Unsubscribed,
}

impl IssueKind {
    pub const ALL: [IssueKind; 7] = [
        IssueKind::HardBounce,
        IssueKind::SoftBounce,
        IssueKind::Blocked,
        IssueKind::Spam,
        IssueKind::InvalidEmail,
        IssueKind::Error,
        IssueKind::Unsubscribed,
    ];

    /// The stored code, which is also Brevo's event name.
    pub fn as_str(self) -> &'static str {
        match self {
            IssueKind::HardBounce => "hard_bounce",
            IssueKind::SoftBounce => "soft_bounce",
            IssueKind::Blocked => "blocked",
            IssueKind::Spam => "spam",
            IssueKind::InvalidEmail => "invalid_email",
            IssueKind::Error => "error",
            IssueKind::Unsubscribed => "unsubscribed",
        }
    }

    pub fn parse(code: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|k| k.as_str() == code)
    }

    /// Why the address is to check, for the case page.
    pub fn label(self) -> &'static str {
        match self {
            IssueKind::HardBounce => {
                "adresse inexistante ou refusée définitivement par le serveur du destinataire"
            }
            IssueKind::SoftBounce => {
                "refus temporaires répétés (boîte pleine ou serveur indisponible)"
            }
            IssueKind::Blocked => {
                "envoi bloqué par le fournisseur d’e-mails (adresse en liste de blocage)"
            }
            IssueKind::Spam => "le destinataire a signalé un de nos e-mails comme indésirable",
            IssueKind::InvalidEmail => "adresse mal formée",
            IssueKind::Error => "erreur du fournisseur d’e-mails lors de l’envoi",
            IssueKind::Unsubscribed => "le destinataire s’est désinscrit des e-mails",
        }
    }
}

/// Who reported the failure (`email_delivery_issues.source`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Source {
    /// Brevo's transactional webhook.
    Brevo,
    /// The SMTP relay answered a permanent (5xx) error.
    Smtp,
    /// The local mailbox folder (development) refused the address.
    Mailbox,
}

impl Source {
    pub fn as_str(self) -> &'static str {
        match self {
            Source::Brevo => "brevo",
            Source::Smtp => "smtp",
            Source::Mailbox => "file",
        }
    }
}

/// One failure to record.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Notice {
    pub email: Email,
    pub kind: IssueKind,
    pub reason: Option<String>,
    /// Unique with `kind`: the provider's message id, or the outbox key.
    pub event_key: String,
    pub occurred_at: PrimitiveDateTime,
    pub source: Source,
}

/// Longest reason kept (the column's size).
const REASON_CHARS: usize = 255;
/// Longest event key kept (the column's size).
const KEY_CHARS: usize = 255;

impl Notice {
    pub fn new(
        email: Email,
        kind: IssueKind,
        reason: Option<&str>,
        event_key: &str,
        occurred_at: PrimitiveDateTime,
        source: Source,
    ) -> Self {
        Self {
            email,
            kind,
            reason: reason
                .map(|r| r.trim().chars().take(REASON_CHARS).collect::<String>())
                .filter(|r| !r.is_empty()),
            event_key: event_key.chars().take(KEY_CHARS).collect(),
            occurred_at,
            source,
        }
    }
}

/// A soft bounce is often passing (a full mailbox): the address becomes "à
/// vérifier" at the third unresolved one.
pub const SOFT_BOUNCES_TO_CHECK: u64 = 3;

/// Whether a new failure of `kind` puts its address "à vérifier", given the
/// unresolved soft bounces already recorded for it.
pub fn puts_to_check(kind: IssueKind, open_soft_bounces: u64) -> bool {
    kind != IssueKind::SoftBounce || open_soft_bounces + 1 >= SOFT_BOUNCES_TO_CHECK
}

/// What one Brevo webhook event means here.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Incoming {
    /// A failure to record.
    Issue(Notice),
    /// The address received an e-mail (delivered, opened, clicked): its
    /// open issues are resolved, as Histologe does.
    Delivered(Email),
    /// An event that says nothing of the address (request, deferred, ...).
    Ignored,
}

/// Why an event is refused (the webhook answers 400 with it).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refusal {
    NotAnEvent,
    NoEvent,
    NoEmail,
    BadEmail,
    NoKey,
}

impl Refusal {
    pub fn message(self) -> &'static str {
        match self {
            Refusal::NotAnEvent => "l’événement n’est pas un objet JSON",
            Refusal::NoEvent => "champ « event » absent ou invalide",
            Refusal::NoEmail => "champ « email » absent",
            Refusal::BadEmail => "champ « email » invalide",
            Refusal::NoKey => "ni « message-id » ni « ts_event »",
        }
    }
}

/// Brevo's success events: the address works.
const DELIVERED: [&str; 6] = [
    "delivered",
    "opened",
    "unique_opened",
    "proxy_open",
    "unique_proxy_open",
    "click",
];

/// Reads one event of Brevo's transactional webhook (docs/deliverability.md
/// §2): `event`, `email`, `message-id`, `reason`, `ts_event` (seconds since
/// the epoch, UTC). `now` dates an event without a usable `ts_event`.
pub fn read_brevo(event: &Value, now: PrimitiveDateTime) -> Result<Incoming, Refusal> {
    let object = event.as_object().ok_or(Refusal::NotAnEvent)?;
    let name = object
        .get("event")
        .and_then(Value::as_str)
        .filter(|e| !e.is_empty() && e.len() <= 40)
        .ok_or(Refusal::NoEvent)?;
    let kind = IssueKind::parse(name);
    let delivered = DELIVERED.contains(&name);
    if kind.is_none() && !delivered {
        return Ok(Incoming::Ignored);
    }
    let email = object
        .get("email")
        .and_then(Value::as_str)
        .ok_or(Refusal::NoEmail)?;
    let email = Email::parse(email).map_err(|_| Refusal::BadEmail)?;
    let Some(kind) = kind else {
        return Ok(Incoming::Delivered(email));
    };
    let seconds = object.get("ts_event").and_then(Value::as_i64);
    let occurred_at = seconds
        .and_then(|s| OffsetDateTime::from_unix_timestamp(s).ok())
        .filter(|t| t.year() >= 2000)
        .map_or(now, |t| PrimitiveDateTime::new(t.date(), t.time()));
    let message_id = object
        .get("message-id")
        .and_then(Value::as_str)
        .map(str::trim)
        .filter(|m| !m.is_empty());
    // Without a message id (never seen, but allowed by Brevo's schema), the
    // address and the second of the event identify a replay.
    let key = match (message_id, seconds) {
        (Some(id), _) => id.to_owned(),
        (None, Some(s)) => format!("{}@{s}", email.as_str()),
        (None, None) => return Err(Refusal::NoKey),
    };
    let reason = object.get("reason").and_then(Value::as_str);
    Ok(Incoming::Issue(Notice::new(
        email,
        kind,
        reason,
        &key,
        occurred_at,
        Source::Brevo,
    )))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn now() -> PrimitiveDateTime {
        time::macros::datetime!(2026-12-08 10:00)
    }

    /// Brevo's own sample of a hard bounce (docs/contracts.md §3.5).
    fn hard_bounce() -> Value {
        json!({"date":"2025-09-16 17:47:53","email":"Partenaire-13-06@signal-logement.fr","event":"hard_bounce",
            "id":1234567890,"message-id":"<202509161547.25699547923@smtp-relay.mailin.fr>",
            "reason":"hard bounce : recipient email does not exist",
            "sender_email":"notifications@signal-logement.beta.gouv.fr",
            "subject":"SIGNAL-LOGEMENT DORDOGNE - [2024-439 - Toto] Nouveau suivi",
            "tag":["Pro Nouveau Suivi Signalement"],"tags":["Pro Nouveau Suivi Signalement"],
            "ts":1758037673,"ts_epoch":1758037673718u64,"ts_event":1758037673,
            "uuid":"00000000-0000-0000-0000-000000000000"})
    }

    #[test]
    fn reads_brevos_hard_bounce() {
        let Ok(Incoming::Issue(notice)) = read_brevo(&hard_bounce(), now()) else {
            panic!("an issue");
        };
        assert_eq!(notice.email.as_str(), "partenaire-13-06@signal-logement.fr");
        assert_eq!(notice.kind, IssueKind::HardBounce);
        assert_eq!(
            notice.event_key,
            "<202509161547.25699547923@smtp-relay.mailin.fr>"
        );
        assert_eq!(
            notice.occurred_at,
            time::macros::datetime!(2025-09-16 15:47:53)
        );
        assert_eq!(
            notice.reason.as_deref(),
            Some("hard bounce : recipient email does not exist")
        );
    }

    #[test]
    fn success_events_resolve_and_others_are_ignored() {
        let mut delivered = hard_bounce();
        delivered["event"] = json!("delivered");
        assert!(matches!(
            read_brevo(&delivered, now()),
            Ok(Incoming::Delivered(_))
        ));
        let mut request = hard_bounce();
        request["event"] = json!("request");
        assert_eq!(read_brevo(&request, now()), Ok(Incoming::Ignored));
    }

    #[test]
    fn refuses_what_is_not_an_event() {
        assert_eq!(read_brevo(&json!([1]), now()), Err(Refusal::NotAnEvent));
        assert_eq!(
            read_brevo(&json!({"email": "a@b.fr"}), now()),
            Err(Refusal::NoEvent)
        );
        assert_eq!(
            read_brevo(&json!({"event": "spam"}), now()),
            Err(Refusal::NoEmail)
        );
        assert_eq!(
            read_brevo(&json!({"event": "spam", "email": "<script>"}), now()),
            Err(Refusal::BadEmail)
        );
        assert_eq!(
            read_brevo(&json!({"event": "spam", "email": "a@b.fr"}), now()),
            Err(Refusal::NoKey)
        );
    }

    #[test]
    fn a_soft_bounce_counts_from_the_third() {
        assert!(puts_to_check(IssueKind::HardBounce, 0));
        assert!(!puts_to_check(IssueKind::SoftBounce, 0));
        assert!(!puts_to_check(IssueKind::SoftBounce, 1));
        assert!(puts_to_check(IssueKind::SoftBounce, 2));
    }
}
