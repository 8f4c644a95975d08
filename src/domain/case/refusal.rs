//! Why a command refuses, and the checks every command starts with: the
//! form was built from the current version, the actor may take this action
//! in this status, the fields are valid.

use super::ReportStatus;
use crate::domain::permissions::Actor;
use crate::domain::workflow::{CaseAction, CaseFacts, MIN_MESSAGE_CHARS, can, is_code};

/// Field errors, in French, keyed by the form field they belong to (the
/// first error of a field wins).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct FieldErrors(pub Vec<(&'static str, String)>);

impl FieldErrors {
    pub fn add(&mut self, field: &'static str, message: impl Into<String>) {
        if !self.0.iter().any(|(f, _)| *f == field) {
            self.0.push((field, message.into()));
        }
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    pub fn get(&self, field: &str) -> Option<&str> {
        self.0
            .iter()
            .find(|(f, _)| *f == field)
            .map(|(_, m)| m.as_str())
    }

    /// `Err(Invalid)` when any error was added.
    pub fn into_result(self) -> Result<(), Refusal> {
        if self.is_empty() {
            Ok(())
        } else {
            Err(Refusal::Invalid(self))
        }
    }
}

/// A command's typed "no".
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Refusal {
    /// The form was built from an older version of the case: it changed
    /// under the user's eyes.
    Stale,
    /// The actor has no part in this action on this case, whatever its status.
    NotAllowed,
    /// The actor could take this action, but not in the case's current status.
    WrongStatus(ReportStatus),
    /// What the action names does not exist on this case (a partner to unassign).
    NotFound,
    /// The request itself is malformed (a field no form would send so).
    BadInput(&'static str),
    /// The fields are wrong; nothing is written.
    Invalid(FieldErrors),
}

/// The form's version is the case's.
pub fn check_version(case: &CaseFacts, version: u32) -> Result<(), Refusal> {
    if version == case.version {
        Ok(())
    } else {
        Err(Refusal::Stale)
    }
}

/// The actor may take `action` on the case now; otherwise tells a wrong
/// status (some status would allow it) from no right at all.
pub fn check_allowed(actor: &Actor, case: &CaseFacts, action: CaseAction) -> Result<(), Refusal> {
    if can(actor, case, action) {
        return Ok(());
    }
    let in_another_status = ReportStatus::ALL.iter().any(|status| {
        let other = CaseFacts {
            status: *status,
            ..case.clone()
        };
        can(actor, &other, action)
    });
    Err(if in_another_status {
        Refusal::WrongStatus(case.status)
    } else {
        Refusal::NotAllowed
    })
}

/// Longest explanation of a refusal or a closure.
pub const MAX_MESSAGE_CHARS: usize = 5000;

/// A reason (one of `reasons`) and an explanation (10 to 5,000 characters),
/// each wrong one adding its (field, message) error.
pub fn reason_and_message(
    reasons: &[(&str, &str)],
    (reason, message): (&str, &str),
    reason_error: (&'static str, &'static str),
    message_error: (&'static str, &'static str),
    errors: &mut FieldErrors,
) -> (String, String) {
    let reason = reason.trim();
    let message = message.trim();
    if !is_code(reasons, reason) {
        errors.add(reason_error.0, reason_error.1);
    }
    if !(MIN_MESSAGE_CHARS..=MAX_MESSAGE_CHARS).contains(&message.chars().count()) {
        errors.add(message_error.0, message_error.1);
    }
    (reason.to_owned(), message.to_owned())
}
