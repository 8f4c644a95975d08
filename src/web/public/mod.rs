//! Pages anyone can open.

pub mod pages;
