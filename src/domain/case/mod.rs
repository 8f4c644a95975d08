//! The core of a case: its typed states and the commands that act on it.
//!
//! - [`status`]: report, assignment and visit states, each mapped to its
//!   stored string in one place; [`notification`]: the kinds of in-app
//!   notification; [`codes`]: the macro giving them `as_str`, `parse`,
//!   `label` and `ALL`.
//! - Commands, one pure function per action, taking the actor, the case's
//!   facts and the parsed input, and returning a [`plan::Plan`] or a
//!   [`refusal::Refusal`]: [`validation`] (validate, refuse),
//!   [`assignment`] (assign, unassign, accept / refuse / close an
//!   assignment), [`closure`] (close for all, reopen), [`follow_up`]
//!   (follow-up, tags, subscription), [`visit`] (plan, conclude),
//!   [`resident`] (message, procedure request), [`edit`] (the report's
//!   sections).
//!
//! `case_plan::apply` carries a plan out; docs/case-commands.md tells
//! how the pieces fit.

pub mod assignment;
pub mod closure;
pub mod codes;
pub mod edit;
pub mod follow_up;
pub mod invitation;
pub mod notification;
pub mod plan;
pub mod refusal;
pub mod resident;
pub mod resident_edit;
pub mod resident_email;
pub mod status;
pub mod validation;
pub mod visit;

#[cfg(test)]
mod rules;
#[cfg(test)]
mod testing;

pub use notification::NotificationKind;
pub use plan::Plan;
pub use refusal::{FieldErrors, Refusal};
pub use status::{AssignmentStatus, ReportStatus, VisitOutcome};
