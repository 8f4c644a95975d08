//! The "Interconnexions" page: every call to an external system (time,
//! partner, report, action, HTTP status, duration, attempt, error category,
//! redacted request excerpt), filters, and a button to retry a failed or
//! dead job.
//!
//! Answers are never shown, not even in part: a partner URL can point at
//! an internal service, and the page would read it back (server-side
//! request forgery). Errors are categories (`integrations` module).
//!
//! Super admins see every call; territory admins only calls about partners
//! of their territories (and may retry only those). Both see the worker's
//! queue per job kind (depth, oldest due job, running, failed, dead, done
//! in the last hour): counts without any personal data, the same figures as
//! `/metrics` (docs/worker.md §6).

use askama::Template;
use askama_web::WebTemplate;
use axum::{
    extract::{Path, Query, State},
    response::Redirect,
};
use serde::Deserialize;

use crate::{
    app::AppState,
    db::{self, interconnections::CallFilter},
    domain::permissions::Actor,
    error::{AppError, AppResult},
    web::{
        forms::{Pagination, url_encode},
        layout::{Layout, OfficePage},
        routes::Routes,
    },
};

const PER_PAGE: u32 = 50;

/// Adds the interconnection pages (and the development mailbox) to the site.
pub fn register(routes: Routes) -> Routes {
    use crate::domain::permissions::Access;
    let routes = routes
        .get("/bo/interconnexions", Access::TerritoryAdmin, list_calls)
        .post(
            "/bo/interconnexions/{id}/relancer",
            Access::TerritoryAdmin,
            retry_job,
        );
    crate::web::dev_mail::register(routes)
}

/// Services shown in the filter.
pub const SERVICES: [(&str, &str); 8] = [
    ("ban", "BAN (géocodage)"),
    ("ademe_dpe", "ADEME (DPE)"),
    ("brevo", "Brevo (e-mails)"),
    ("smtp", "SMTP (e-mails)"),
    ("esabora_schs", "Esabora SCHS"),
    ("esabora_sish", "SI-SH"),
    ("zapier", "Zapier"),
    ("webhook", "Webhook"),
];

pub const STATUSES: [(&str, &str); 5] = [
    ("ok", "Réussi (2xx)"),
    ("error", "En erreur"),
    ("failed", "Tâche à réessayer"),
    ("dead", "Tâche abandonnée"),
    ("done", "Tâche terminée"),
];

pub struct CallItem {
    pub at: String,
    pub service: String,
    pub action: String,
    pub endpoint: String,
    pub partner: String,
    pub report: String,
    pub http_status: String,
    pub ok: bool,
    pub duration_ms: u32,
    pub attempt: u32,
    pub error: String,
    pub request_excerpt: String,
    pub outbox_id: u64,
    pub job_status: String,
    pub retryable: bool,
}

/// The queue's figures of one job kind.
pub struct QueueRow {
    pub kind: String,
    pub pending: u64,
    /// How long the oldest due job has waited, in words.
    pub oldest: String,
    pub running: u64,
    pub failed: u64,
    pub dead: u64,
    pub done_last_hour: u64,
}

/// `45 s`, `2 min`, `3 h 05`, or `—` when nothing waits.
fn waited(secs: u64) -> String {
    match secs {
        0 => "—".into(),
        1..60 => format!("{secs} s"),
        60..3600 => format!("{} min", secs / 60),
        _ => format!("{} h {:02}", secs / 3600, secs % 3600 / 60),
    }
}

/// A failed or dead job (visible even when it made no call).
pub struct JobItem {
    pub id: u64,
    pub kind: String,
    pub status: String,
    pub attempts: String,
    pub error: String,
    pub at: String,
    pub next_run: String,
    pub partner: String,
    pub report: String,
}

#[derive(Template, WebTemplate)]
#[template(path = "pages/office/interconnections.html")]
pub struct InterconnectionsPage {
    pub layout: Layout,
    pub queue: Vec<QueueRow>,
    pub jobs: Vec<JobItem>,
    pub calls: Vec<CallItem>,
    pub services: [(&'static str, &'static str); 8],
    pub statuses: [(&'static str, &'static str); 5],
    pub partners: Vec<(u64, String)>,
    pub service: String,
    pub partner: u64,
    pub status: String,
    pub from: String,
    pub to: String,
    pub retried: bool,
    pub pagination: Pagination,
    pub query_base: String,
}

#[derive(Deserialize)]
pub struct CallsQuery {
    service: Option<String>,
    partenaire: Option<String>,
    statut: Option<String>,
    du: Option<String>,
    au: Option<String>,
    page: Option<u32>,
    relance: Option<String>,
}

/// `None` = every territory.
fn territory_scope(actor: &Actor) -> Option<Vec<u32>> {
    (!actor.is_super_admin()).then(|| actor.territory_ids())
}

fn valid_date(value: Option<String>) -> String {
    value
        .filter(|d| {
            time::Date::parse(d, time::macros::format_description!("[year]-[month]-[day]")).is_ok()
        })
        .unwrap_or_default()
}

fn format_time(t: time::PrimitiveDateTime) -> String {
    format!(
        "{:02}/{:02}/{} {:02}:{:02}:{:02}",
        t.day(),
        u8::from(t.month()),
        t.year(),
        t.hour(),
        t.minute(),
        t.second()
    )
}

pub async fn list_calls(
    State(state): State<AppState>,
    page: OfficePage,
    Query(query): Query<CallsQuery>,
) -> AppResult<InterconnectionsPage> {
    let scope = territory_scope(&page.user.actor);
    let service = query
        .service
        .filter(|s| SERVICES.iter().any(|(k, _)| k == s))
        .unwrap_or_default();
    let status = query
        .statut
        .filter(|s| STATUSES.iter().any(|(k, _)| k == s))
        .unwrap_or_default();
    let partner = query
        .partenaire
        .and_then(|p| p.parse::<u64>().ok())
        .unwrap_or(0);
    let filter = CallFilter {
        service: service.clone(),
        partner_id: (partner > 0).then_some(partner),
        status: status.clone(),
        from: valid_date(query.du),
        to: valid_date(query.au),
        territory_ids: scope.clone(),
    };
    let (rows, total) = db::interconnections::list(
        &state.db,
        &filter,
        PER_PAGE,
        Pagination::offset(query.page, PER_PAGE),
    )
    .await?;
    let calls = rows
        .into_iter()
        .map(|r| {
            let job_status = r.job_status.clone().unwrap_or_default();
            CallItem {
                at: format_time(r.created_at),
                service: SERVICES
                    .iter()
                    .find(|(k, _)| *k == r.service)
                    .map_or(r.service.clone(), |(_, l)| (*l).to_owned()),
                action: r.action,
                endpoint: r.endpoint.unwrap_or_default(),
                partner: r.partner_name.unwrap_or_else(|| "—".into()),
                report: r.report_reference.unwrap_or_else(|| "—".into()),
                ok: r.http_status.is_some_and(|s| (200..300).contains(&s)),
                http_status: r
                    .http_status
                    .map_or_else(|| "sans réponse".into(), |s| s.to_string()),
                duration_ms: r.duration_ms,
                attempt: r.attempt,
                error: r.error.or(r.job_last_error).unwrap_or_default(),
                request_excerpt: r.request_excerpt.unwrap_or_default(),
                outbox_id: r.outbox_id.unwrap_or_default(),
                retryable: r.outbox_id.is_some()
                    && matches!(job_status.as_str(), "failed" | "dead"),
                job_status,
            }
        })
        .collect();
    let jobs = db::interconnections::problem_jobs(&state.db, scope.as_deref(), 50)
        .await?
        .into_iter()
        .map(|j| JobItem {
            id: j.id,
            kind: j.kind,
            attempts: format!("{} / {}", j.attempts, j.max_attempts),
            error: j.last_error.unwrap_or_default(),
            at: format_time(j.updated_at),
            next_run: if j.status == "failed" {
                format_time(j.run_after)
            } else {
                "—".into()
            },
            status: j.status,
            partner: j.partner_name.unwrap_or_else(|| "—".into()),
            report: j.report_reference.unwrap_or_else(|| "—".into()),
        })
        .collect();
    let queue = db::outbox::queue_figures(&state.db)
        .await?
        .into_iter()
        .map(|f| QueueRow {
            oldest: waited(f.oldest_due_secs),
            kind: f.kind,
            pending: f.pending,
            running: f.running,
            failed: f.failed,
            dead: f.dead,
            done_last_hour: f.done_last_hour,
        })
        .collect();
    let partners = db::interconnections::partners(&state.db, scope.as_deref()).await?;
    let query_base = format!(
        "service={}&partenaire={}&statut={}&du={}&au={}",
        url_encode(&filter.service),
        if partner > 0 {
            partner.to_string()
        } else {
            String::new()
        },
        url_encode(&filter.status),
        url_encode(&filter.from),
        url_encode(&filter.to)
    );
    Ok(InterconnectionsPage {
        layout: page.layout,
        queue,
        jobs,
        calls,
        services: SERVICES,
        statuses: STATUSES,
        partners,
        service,
        partner,
        status,
        from: filter.from,
        to: filter.to,
        retried: query.relance.as_deref() == Some("ok"),
        pagination: Pagination::new(query.page, PER_PAGE, total),
        query_base,
    })
}

/// "Relancer": a failed or dead job runs again as soon as a worker is free.
pub async fn retry_job(
    State(state): State<AppState>,
    page: OfficePage,
    Path(id): Path<u64>,
) -> AppResult<Redirect> {
    let territory = db::interconnections::job_territory(&state.db, id)
        .await?
        .ok_or(AppError::NotFound)?;
    let actor = &page.user.actor;
    let allowed =
        actor.is_super_admin() || territory.is_some_and(|t| actor.administers_territory(t));
    if !allowed {
        return Err(AppError::Forbidden);
    }
    if !db::outbox::retry_now(&state.db, id).await? {
        return Err(AppError::Conflict(
            "cette tâche n'est ni en échec ni abandonnée".into(),
        ));
    }
    tracing::info!(job = id, user = actor.user_id, "job retried by an admin");
    Ok(Redirect::to("/bo/interconnexions?relance=ok"))
}
