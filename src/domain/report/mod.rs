//! Rules about reports (signalements): severity score and suspected
//! qualifications.

pub mod scoring;
