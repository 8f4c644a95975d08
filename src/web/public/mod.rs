//! Pages anyone can open.

pub mod contact;
pub mod follow_up;
pub mod form;
pub mod pages;
pub mod stats;
pub mod terms;
