//! Jobs for the worker, recorded in the `outbox` table inside the caller's
//! transaction: a job exists if and only if the business write that implies
//! it was committed. The worker (`jobs/`) runs them.

use serde::{Deserialize, Serialize};

use crate::domain::case::visit::VisitEvent;
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
    /// The day's notifications of a user who chose the daily digest
    /// (worker schedule `daily_digest`).
    DailyDigest {
        to: String,
        /// (reference, what happened, link) per notification.
        items: Vec<(String, String, String)>,
    },
    /// An account unused for eleven months: log in before `deadline` or it
    /// is deactivated (worker schedule `inactive_accounts`).
    AccountInactivity {
        to: String,
        first_name: String,
        /// `dd/mm/yyyy`.
        deadline: String,
        link: String,
    },
    /// A report was filed: its reference and the private follow-up link.
    ReportConfirmation {
        to: String,
        first_name: String,
        reference: String,
        link: String,
    },
    /// A territory admin learns of a new report to validate.
    NewReportToValidate {
        to: String,
        reference: String,
        city: String,
        link: String,
    },
    /// A resident wrote from the follow-up space.
    ResidentMessage {
        to: String,
        reference: String,
        link: String,
    },
    /// A third party invited by the resident: their own link to the
    /// follow-up space (docs/resident-space.md §3).
    GuestInvitation {
        to: String,
        name: String,
        reference: String,
        link: String,
    },
    /// The link that confirms a resident's new address, sent to it.
    EmailChangeConfirmation {
        to: String,
        reference: String,
        link: String,
    },
    /// The old address is told the report's address changed (link: the
    /// follow-up space).
    EmailChangeNotice {
        to: String,
        reference: String,
        link: String,
    },
    /// "Lost my link": the follow-up links of the matching reports.
    FollowUpLinks {
        to: String,
        /// (reference, link) pairs.
        links: Vec<(String, String)>,
    },
    /// The link to resume a form draft.
    DraftResume { to: String, link: String },
    /// News of their case for the resident: validation, refusal, closure,
    /// a public follow-up, a visit.
    CaseUpdateForResident {
        to: String,
        reference: String,
        title: String,
        message: String,
        link: String,
    },
    /// A step of a visit of the dwelling, for the resident (one mail kind
    /// per [`VisitEvent`], docs/visits.md §3).
    VisitForResident {
        to: String,
        reference: String,
        event: VisitEvent,
        message: String,
        link: String,
    },
    /// An order (arrêté) about the dwelling was recorded on the case, for
    /// the resident (docs/arretes.md).
    ArreteForResident {
        to: String,
        reference: String,
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
    /// A message of the public contact form, for the territory's contact
    /// address or the national team (docs/terms.md §4).
    ContactMessage {
        to: String,
        /// The sender's name and (unverified) address.
        name: String,
        from: String,
        /// The territory chosen, if any.
        territory: Option<String>,
        subject: String,
        message: String,
        /// The contact page.
        link: String,
    },
}

impl Email {
    pub fn recipient(&self) -> &str {
        match self {
            Email::AccountActivation { to, .. }
            | Email::PasswordReset { to, .. }
            | Email::AccountInactivity { to, .. }
            | Email::DailyDigest { to, .. }
            | Email::ReportConfirmation { to, .. }
            | Email::NewReportToValidate { to, .. }
            | Email::ResidentMessage { to, .. }
            | Email::FollowUpLinks { to, .. }
            | Email::GuestInvitation { to, .. }
            | Email::EmailChangeConfirmation { to, .. }
            | Email::EmailChangeNotice { to, .. }
            | Email::DraftResume { to, .. }
            | Email::CaseUpdateForResident { to, .. }
            | Email::VisitForResident { to, .. }
            | Email::ArreteForResident { to, .. }
            | Email::CaseUpdateForStaff { to, .. }
            | Email::ContactMessage { to, .. } => to,
        }
    }
}

/// The kinds of job, as stored in `outbox.kind`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Job {
    SendEmail(Email),
    /// Geocode a report's address with the BAN (then look its DPE up).
    GeocodeReport {
        report_id: u64,
    },
    /// Look the DPE of a geocoded report up at ADEME (by BAN id).
    DpeLookup {
        report_id: u64,
    },
    /// A report was assigned to a partner: the worker pushes it to the
    /// partner's systems (Esabora, Zapier, webhook) as configured.
    AssignmentCreated {
        assignment_id: u64,
    },
    /// An assignment changed status: the partner's webhook is told.
    AssignmentStatusChanged {
        assignment_id: u64,
    },
    /// Push an assignment's report to the partner's Esabora (SCHS or SI-SH).
    EsaboraPush {
        assignment_id: u64,
    },
    /// Read the state of a pushed dossier back from Esabora.
    EsaboraSync {
        assignment_id: u64,
    },
    /// Push an assignment's report to the partner's Zapier catch hook.
    ZapierPush {
        assignment_id: u64,
    },
    /// Signed JSON webhook to the partner's own system.
    Webhook {
        assignment_id: u64,
        /// `assignment.created` or `assignment.status_changed`.
        event: String,
    },
    /// An event of a dossier read from Esabora SCHS, imported once as a
    /// follow-up (the idempotency key holds the event id).
    ImportEsaboraEvent {
        assignment_id: u64,
        event_id: String,
        /// `d/m/Y` as Esabora gives it.
        date: String,
        label: String,
        text: String,
    },
    /// A visit read from SI-SH, imported once (key: the visit id).
    ImportSishVisit {
        assignment_id: u64,
        visit_id: String,
        /// `d/m/Y H:i`, local time of the territory.
        scheduled_at: String,
        /// `Visite` or a type containing "contrôle".
        visit_type: String,
        operator: Option<String>,
    },
    /// Scan an uploaded document with ClamAV: clean, or quarantined and the
    /// uploader and the territory told (docs/antivirus.md).
    ScanDocument {
        document_id: u64,
    },
    /// A periodic task, once per period (the idempotency key holds the period).
    Scheduled {
        name: String,
        period: String,
    },
}

impl Job {
    pub fn kind(&self) -> &'static str {
        match self {
            Job::SendEmail(_) => "send_email",
            Job::GeocodeReport { .. } => "geocode_report",
            Job::DpeLookup { .. } => "dpe_lookup",
            Job::AssignmentCreated { .. } => "assignment_created",
            Job::AssignmentStatusChanged { .. } => "assignment_status_changed",
            Job::EsaboraPush { .. } => "esabora_push",
            Job::EsaboraSync { .. } => "esabora_sync",
            Job::ZapierPush { .. } => "zapier_push",
            Job::Webhook { .. } => "webhook",
            Job::ImportEsaboraEvent { .. } => "import_esabora_event",
            Job::ImportSishVisit { .. } => "import_sish_visit",
            Job::ScanDocument { .. } => "scan_document",
            Job::Scheduled { .. } => "scheduled",
        }
    }
}

/// The report, partner and delay of a job: a column set of the outbox row,
/// defined with it in `db::outbox` (this module depends on that one, not
/// the reverse).
pub use crate::db::outbox::JobContext;

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

/// Records several jobs (without idempotency keys) in the caller's
/// transaction, in one statement.
pub async fn enqueue_many(
    conn: &mut MySqlConnection,
    jobs: &[Job],
    context: JobContext,
) -> Result<(), sqlx::Error> {
    let rows = jobs
        .iter()
        .map(|job| {
            serde_json::to_value(job)
                .map(|payload| (job.kind(), payload))
                .map_err(|e| sqlx::Error::Encode(Box::new(e)))
        })
        .collect::<Result<Vec<_>, _>>()?;
    crate::db::outbox::insert_many(conn, &rows, context).await
}
