//! Events pushed to us by external services (docs/deliverability.md §2).
//!
//! Machine endpoints: listed in the route table like every route, but
//! exempt from the CSRF check (`web::csrf::protect` skips [`PREFIX`]) since no
//! browser posts them; each authenticates its sender with a shared secret
//! instead, and answers 404 while that secret is not configured.

pub mod brevo;

use crate::{domain::permissions::Access, web::routes::Routes};

/// The path prefix of every webhook (exempt from CSRF).
pub const PREFIX: &str = "/webhooks/";

/// Adds the webhooks' routes.
pub fn register(routes: Routes) -> Routes {
    use axum::handler::Handler;
    routes.post(
        "/webhooks/brevo",
        Access::Public,
        brevo::receive.layer(axum::extract::DefaultBodyLimit::max(brevo::BODY_LIMIT)),
    )
}
