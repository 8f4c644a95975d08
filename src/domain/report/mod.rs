//! Rules about reports (signalements): severity score and suspected
//! qualifications, the public form's questions and checks, the address
//! against the communes, and what a finished form becomes (validate → plan;
//! the database layer persists the plan).

pub mod address;
pub mod defects;
pub mod draft;
pub mod form;
pub mod scoring;
pub mod submission;
