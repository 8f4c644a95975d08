//! The terms of use pages (docs/terms.md §2): the public form's and the
//! back office's, each with its version, its date and the list of versions.

use askama::Template;
use askama_web::WebTemplate;

use crate::{
    domain::terms::{Audience, Version},
    web::layout::{Layout, PublicLayout},
};

#[derive(Template, WebTemplate)]
#[template(path = "pages/public/terms.html")]
pub struct TermsPage {
    pub layout: Layout,
    pub agents: bool,
    pub current: Version,
    /// Newest first.
    pub versions: Vec<Version>,
}

fn page(layout: Layout, audience: Audience) -> TermsPage {
    TermsPage {
        layout,
        agents: audience == Audience::Agents,
        current: audience.current(),
        versions: audience.versions().iter().rev().copied().collect(),
    }
}

/// `/conditions-utilisation`: what the public form's checkbox accepts.
pub async fn show_public(PublicLayout(layout): PublicLayout) -> TermsPage {
    page(layout, Audience::Public)
}

/// `/conditions-utilisation-professionnels`: what agents accept.
pub async fn show_agents(PublicLayout(layout): PublicLayout) -> TermsPage {
    page(layout, Audience::Agents)
}
