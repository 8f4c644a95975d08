//! The home page and the static pages (accessibility, legal notice, privacy).

use askama::Template;
use askama_web::WebTemplate;
use axum::extract::State;

use crate::{
    app::AppState,
    db,
    error::AppResult,
    web::layout::{Layout, PublicLayout},
};

#[derive(Template, WebTemplate)]
#[template(path = "pages/public/home.html")]
pub struct HomePage {
    pub layout: Layout,
    pub stats_reports: Option<u64>,
}

pub async fn show_home(
    State(state): State<AppState>,
    PublicLayout(layout): PublicLayout,
) -> AppResult<HomePage> {
    // The counter is a nicety: the home page still shows when MySQL is down.
    let stats_reports = db::reports::count_filed(&state.db).await.ok();
    Ok(HomePage {
        layout,
        stats_reports,
    })
}

#[derive(Template, WebTemplate)]
#[template(path = "pages/public/accessibility.html")]
pub struct AccessibilityPage {
    pub layout: Layout,
}

pub async fn show_accessibility(PublicLayout(layout): PublicLayout) -> AccessibilityPage {
    AccessibilityPage { layout }
}

#[derive(Template, WebTemplate)]
#[template(path = "pages/public/legal.html")]
pub struct LegalPage {
    pub layout: Layout,
}

pub async fn show_legal(PublicLayout(layout): PublicLayout) -> LegalPage {
    LegalPage { layout }
}

#[derive(Template, WebTemplate)]
#[template(path = "pages/public/privacy.html")]
pub struct PrivacyPage {
    pub layout: Layout,
}

pub async fn show_privacy(PublicLayout(layout): PublicLayout) -> PrivacyPage {
    PrivacyPage { layout }
}

#[derive(Template, WebTemplate)]
#[template(path = "pages/public/sitemap.html")]
pub struct SitemapPage {
    pub layout: Layout,
}

pub async fn show_sitemap(PublicLayout(layout): PublicLayout) -> SitemapPage {
    SitemapPage { layout }
}
