//! What a case command decided: a [`Plan`] lists every write, notice, job
//! and audit entry of one action, as data. The command (pure) builds it;
//! `case_plan::apply` carries it out in one transaction. Nothing in a
//! plan is read from the database: recipients are named by audience and
//! resolved when the plan is applied.

use time::PrimitiveDateTime;

use super::edit::SectionsWrite;
use super::visit::kinds::{Conclusion, Procedure, VisitEvent, VisitKind, Visitor};
use super::{AssignmentStatus, NotificationKind, ReportStatus, VisitOutcome};

/// The case a plan applies to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CaseRef {
    pub report_id: u64,
    /// For links in e-mails.
    pub uuid: String,
    pub territory_id: u32,
}

/// How a plan is protected against concurrent changes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Guard {
    /// The report's status moves from one of `from` to `to`, only if its
    /// version is still `version` (0 rows → conflict).
    Transition {
        version: u32,
        from: Vec<ReportStatus>,
        to: ReportStatus,
    },
    /// The status stays; the version must still be `version` (and moves on).
    Version(u32),
    /// A partner's assignment moves on, only if it is still in the status
    /// the answer starts from (someone of the same partner may answer first).
    Answer { partner_id: u64, answer: Answer },
    /// A visit receives its outcome, only if it is still planned.
    VisitOutcome {
        visit_id: u64,
        outcome: VisitOutcome,
        conclusions: Option<String>,
        occupant_present: Option<bool>,
        owner_present: Option<bool>,
        procedures: Vec<Procedure>,
        /// The resident reads the conclusion.
        public: bool,
    },
    /// A visit changes, only if it is still in the state the change starts
    /// from (planned; done for a conclusion edit).
    Visit { visit_id: u64, change: VisitChange },
    /// No concurrent change can make this action wrong (a follow-up, tags,
    /// a resident's message).
    None,
}

/// A change to an existing visit.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum VisitChange {
    /// A planned visit moves to `to` (still at `from`); the move is kept
    /// in its history with the reason.
    Reschedule {
        from: PrimitiveDateTime,
        to: PrimitiveDateTime,
        reason: String,
    },
    /// A planned visit is cancelled.
    Cancel { reason: String },
    /// A done visit's conclusion is rewritten.
    EditConclusion(Conclusion),
}

/// A partner's answer to its assignment.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Answer {
    Accept,
    Refuse { reason: String, message: String },
    Close { reason: String, message: String },
}

impl Answer {
    /// (status it must be in, status it moves to).
    pub const fn transition(&self) -> (AssignmentStatus, AssignmentStatus) {
        match self {
            Self::Accept => (AssignmentStatus::New, AssignmentStatus::Accepted),
            Self::Refuse { .. } => (AssignmentStatus::New, AssignmentStatus::Refused),
            Self::Close { .. } => (AssignmentStatus::Accepted, AssignmentStatus::Closed),
        }
    }
}

/// A field of the report written with the change.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ReportField {
    /// Why the territory refused the report, and what it told the resident.
    Refusal { reason: String, message: String },
    /// Why the case was closed (`None`: cleared on reopening).
    ClosureReason(Option<String>),
    /// The details the resident corrected from the follow-up space
    /// (the report is then scored again).
    ResidentDetails(Box<super::resident_edit::ResidentDetails>),
}

/// A change to the assignments, besides the guarded answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AssignmentChange {
    /// A new assignment (ignored if the partner already has one). Its
    /// partner is told (users, generic mailbox) and its connected systems
    /// get an `AssignmentCreated` job, keyed by the assignment id.
    Create { partner_id: u64 },
    /// The partner's assignment is removed (none → not found).
    Remove { partner_id: u64 },
    /// Every open assignment is closed with this reason.
    CloseAll { reason: String },
    /// The closed assignments are waiting for an answer again.
    ReopenClosed,
}

/// Who wrote a follow-up.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Author {
    /// Written by the platform on an event (validation, visit...).
    System,
    /// Written by a back-office user.
    Partner,
    /// Written by the resident in the follow-up space.
    Resident,
}

impl Author {
    /// As stored in `follow_ups.author_kind`.
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::System => "system",
            Self::Partner => "partner",
            Self::Resident => "resident",
        }
    }
}

/// A follow-up added to the case's timeline.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewFollowUp {
    pub author: Author,
    /// The actor's partner, when it writes for one.
    pub partner_id: Option<u64>,
    pub category: &'static str,
    pub body: String,
    /// Shown to the resident in the follow-up space.
    pub public: bool,
}

/// A visit put on the calendar.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewVisit {
    pub visitor: Visitor,
    pub kind: VisitKind,
    pub scheduled_at: PrimitiveDateTime,
    pub comment: Option<String>,
    /// A visit already done when recorded (past date), with its conclusion.
    pub concluded: Option<Conclusion>,
}

/// Who a staff notice goes to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Audience {
    /// The active users of the territory's admin partners.
    TerritoryAdmins,
    /// Users of the partners working on the case, and its subscribers.
    Followers,
}

/// Somebody to tell about the change.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Notice {
    /// In-app notification to the audience (the actor excepted), and an
    /// e-mail at once to those who want it (the others get the digest).
    Staff {
        audience: Audience,
        kind: NotificationKind,
        title: &'static str,
    },
    /// The resident wrote: the territory admins are e-mailed, followers
    /// and admins notified in the application, and followers who want it
    /// e-mailed at once. E-mails are keyed by the follow-up and `key`.
    ResidentWrote { key: &'static str },
    /// E-mail to the resident (occupant and declarant).
    Resident { title: String, message: String },
    /// A visit e-mail to the resident (its own mail kind per event); the
    /// message holds only what the resident may read.
    Visit { event: VisitEvent, message: String },
    /// An order (arrêté) was recorded on the case: the resident's own mail
    /// kind; the message says which order (docs/arretes.md).
    Arrete { message: String },
}

/// A job queued for the worker in the same transaction.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PlannedJob {
    /// The partner's connected systems hear that its assignment changed.
    AssignmentStatusChanged { partner_id: u64 },
    /// The report's address changed: find its coordinates again.
    GeocodeReport,
}

/// A change to who follows the case.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Subscription {
    Subscribe {
        user_id: u64,
    },
    Unsubscribe {
        user_id: u64,
    },
    /// Subscriptions that no longer match an access are dropped (after an
    /// assignment ended or was removed).
    Prune,
}

/// The audit entry of the action (entity "report").
#[derive(Debug, Clone, PartialEq)]
pub struct AuditEntry {
    pub action: &'static str,
    pub diff: Option<serde_json::Value>,
}

/// Everything one action on a case does, in the order `apply` does it:
/// guard, sections (then the score), report fields, assignments, visit,
/// tags, follow-up, subscriptions, audit, notices, jobs.
#[derive(Debug, Clone, PartialEq)]
pub struct Plan {
    pub case: CaseRef,
    /// The user acting; `None` for the resident.
    pub by: Option<u64>,
    pub guard: Guard,
    /// The report's editable sections, rewritten whole; the report is
    /// then scored again from every stored fact.
    pub sections: Option<SectionsWrite>,
    pub report_fields: Vec<ReportField>,
    pub assignments: Vec<AssignmentChange>,
    pub visit: Option<NewVisit>,
    /// The case's tags become exactly these (the territory's live tags only).
    pub tags: Option<Vec<u64>>,
    pub follow_up: Option<NewFollowUp>,
    /// Documents added, edited, turned or deleted (`domain::document::commands`).
    pub documents: Vec<crate::domain::document::commands::DocumentChange>,
    /// The documents the plan adds belong to this visit of the case
    /// (its report and photos, docs/visits.md §4).
    pub documents_visit: Option<u64>,
    /// An order (arrêté) recorded on the case (`domain::arrete`).
    pub arrete: Option<crate::domain::arrete::NewArrete>,
    pub subscriptions: Vec<Subscription>,
    pub audit: Option<AuditEntry>,
    pub notices: Vec<Notice>,
    pub jobs: Vec<PlannedJob>,
}

impl Plan {
    /// A plan that does nothing yet, behind `guard`.
    pub fn new(case: CaseRef, by: Option<u64>, guard: Guard) -> Self {
        Self {
            case,
            by,
            guard,
            sections: None,
            report_fields: Vec::new(),
            assignments: Vec::new(),
            visit: None,
            tags: None,
            follow_up: None,
            documents: Vec::new(),
            documents_visit: None,
            arrete: None,
            subscriptions: Vec::new(),
            audit: None,
            notices: Vec::new(),
            jobs: Vec::new(),
        }
    }

    /// The partners given a new assignment.
    pub fn created_assignments(&self) -> Vec<u64> {
        self.assignments
            .iter()
            .filter_map(|c| match c {
                AssignmentChange::Create { partner_id } => Some(*partner_id),
                _ => None,
            })
            .collect()
    }

    /// The notification kinds sent to staff.
    pub fn staff_notices(&self) -> Vec<(Audience, NotificationKind)> {
        self.notices
            .iter()
            .filter_map(|n| match n {
                Notice::Staff { audience, kind, .. } => Some((*audience, *kind)),
                _ => None,
            })
            .collect()
    }

    /// The e-mail to the resident, if any.
    pub fn resident_email(&self) -> Option<(&str, &str)> {
        self.notices.iter().find_map(|n| match n {
            Notice::Resident { title, message } => Some((title.as_str(), message.as_str())),
            Notice::Visit { event, message } => Some((event.label(), message.as_str())),
            Notice::Arrete { message } => {
                Some((crate::domain::arrete::RESIDENT_TITLE, message.as_str()))
            }
            _ => None,
        })
    }
}
