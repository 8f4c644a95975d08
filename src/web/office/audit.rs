//! The audit log page (super admin): logins, failures, administrative
//! writes, filterable.

use askama::Template;
use askama_web::WebTemplate;
use axum::extract::{Query, State};
use serde::Deserialize;

use crate::{
    app::AppState,
    db::{self, audit::EventFilter},
    error::AppResult,
    web::{
        forms::{Pagination, url_encode},
        layout::{Layout, OfficePage},
    },
};

const PER_PAGE: u32 = 50;

pub struct EventItem {
    pub at: String,
    pub actor: String,
    pub action: String,
    pub entity: String,
    pub ip: String,
    pub changes: Vec<(String, String, String)>,
}

#[derive(Template, WebTemplate)]
#[template(path = "pages/office/audit.html")]
pub struct AuditPage {
    pub layout: Layout,
    pub events: Vec<EventItem>,
    pub filter: EventFilter,
    pub actions: [&'static str; 10],
    pub entity_types: [&'static str; 5],
    pub pagination: Pagination,
    pub query_base: String,
}

#[derive(Deserialize)]
pub struct AuditQuery {
    acteur: Option<String>,
    action: Option<String>,
    objet: Option<String>,
    page: Option<u32>,
}

const ACTIONS: [&str; 10] = [
    "login",
    "login_failed",
    "logout",
    "create",
    "update",
    "delete",
    "activate",
    "password_reset",
    "password_change",
    "resend_activation",
];
const ENTITY_TYPES: [&str; 5] = ["user", "partner", "territory", "tag", "report"];

fn render_value(value: &serde_json::Value) -> String {
    match value {
        serde_json::Value::Null => "—".to_owned(),
        serde_json::Value::String(s) if s.is_empty() => "—".to_owned(),
        serde_json::Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

pub async fn list_events(
    State(state): State<AppState>,
    page: OfficePage,
    Query(query): Query<AuditQuery>,
) -> AppResult<AuditPage> {
    let filter = EventFilter {
        actor: query.acteur.unwrap_or_default(),
        action: query
            .action
            .filter(|a| ACTIONS.contains(&a.as_str()))
            .unwrap_or_default(),
        entity_type: query
            .objet
            .filter(|o| ENTITY_TYPES.contains(&o.as_str()))
            .unwrap_or_default(),
    };
    let (rows, total) = db::audit::list(
        &state.db,
        &filter,
        PER_PAGE,
        Pagination::offset(query.page, PER_PAGE),
    )
    .await?;
    let events = rows
        .into_iter()
        .map(|r| EventItem {
            at: format!(
                "{:02}/{:02}/{} {:02}:{:02}:{:02}",
                r.created_at.day(),
                u8::from(r.created_at.month()),
                r.created_at.year(),
                r.created_at.hour(),
                r.created_at.minute(),
                r.created_at.second()
            ),
            actor: r.actor_email.unwrap_or_else(|| "—".into()),
            action: r.action,
            entity: format!("{} {}", r.entity_type, r.entity_id.unwrap_or_default())
                .trim()
                .to_owned(),
            ip: r.ip.unwrap_or_default(),
            changes: r
                .diff
                .and_then(|d| d.0.as_object().cloned())
                .map(|map| {
                    map.into_iter()
                        .map(|(field, pair)| {
                            let before = pair.get(0).map(render_value).unwrap_or_default();
                            let after = pair.get(1).map(render_value).unwrap_or_default();
                            (field, before, after)
                        })
                        .collect()
                })
                .unwrap_or_default(),
        })
        .collect();
    let query_base = format!(
        "acteur={}&action={}&objet={}",
        url_encode(&filter.actor),
        filter.action,
        filter.entity_type
    );
    Ok(AuditPage {
        layout: page.layout,
        events,
        filter,
        actions: ACTIONS,
        entity_types: ENTITY_TYPES,
        pagination: Pagination::new(query.page, PER_PAGE, total),
        query_base,
    })
}
