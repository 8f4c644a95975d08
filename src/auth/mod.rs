//! Back-office authentication: password hashing, e-mailed tokens, login
//! throttling, sessions and the gate every back-office route goes through.

pub mod api;
pub mod password;
pub mod session;
pub mod throttle;
pub mod tokens;
