//! Rules about reports (signalements): severity score and suspected
//! qualifications, the public form's questions and checks, and what a
//! finished form becomes.

pub mod defects;
pub mod draft;
pub mod form;
pub mod scoring;
pub mod submission;
