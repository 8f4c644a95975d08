//! Pages anyone can open.

pub mod follow_up;
pub mod form;
pub mod pages;
pub mod stats;
