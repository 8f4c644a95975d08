//! The resident's follow-up space (`/suivre-mon-signalement/{code}`) and
//! the "lost my link" page.
//!
//! The secret code in the link is the key; a light check (initials of the
//! occupant or declarant and the dwelling's postal code) guards against a
//! forwarded link. After 5 failed checks the code is locked for 15 minutes
//! (Redis). A successful check is remembered in the session, so the
//! resident is not asked again on each page.

use askama::Template;
use askama_web::WebTemplate;
use axum::{
    Form,
    extract::{DefaultBodyLimit, Path, Request, State},
    handler::Handler,
    http::StatusCode,
    response::{IntoResponse, Redirect, Response},
};
use serde::Deserialize;
use tower_sessions::Session;

use crate::{
    app::AppState,
    auth::session::RequestOrigin,
    case_plan, db,
    domain::{
        case::{
            Plan, Refusal,
            plan::CaseRef,
            resident::{self, ResidentCase},
        },
        permissions::Access,
        report::submission::initial,
    },
    error::{AppError, AppResult},
    kv,
    queue::{self, Email, Job, JobContext},
    uploads,
    web::{
        layout::{Layout, PublicLayout},
        public::form::{TOO_MANY_FILES, read_body, store_files, within_upload_quota},
        routes::Routes,
    },
};

/// Failed checks before the code is locked, and the lock's length.
const MAX_ATTEMPTS: i64 = 5;
const LOCK_SECONDS: i64 = 15 * 60;
/// "Lost my link" requests per IP address per 20 minutes.
const LINK_LIMIT: i64 = 10;
const SESSION_KEY: &str = "follow_up_codes";
/// Messages per report, and per address, per hour: each one notifies the
/// territory's agents by e-mail.
const MESSAGES_PER_REPORT_PER_HOUR: i64 = 20;
const MESSAGES_PER_IP_PER_HOUR: i64 = 60;

/// Adds the follow-up space's routes to the site.
pub fn register(routes: Routes) -> Routes {
    use Access::Public;
    routes
        .get("/suivre-mon-signalement", Public, show_help)
        .get("/suivre-mon-signalement/{code}", Public, show_space)
        .post("/suivre-mon-signalement/{code}", Public, check_identity)
        .post(
            "/suivre-mon-signalement/{code}/messages",
            Public,
            send_message.layer(DefaultBodyLimit::max(64 * 1024 * 1024)),
        )
        .post(
            "/suivre-mon-signalement/{code}/procedure",
            Public,
            request_procedure,
        )
        .get(
            "/suivre-mon-signalement/{code}/documents/{uuid}",
            Public,
            download_document,
        )
        .get("/demande-lien-signalement", Public, show_lost_link)
        .post("/demande-lien-signalement", Public, request_link)
}

#[derive(Template, WebTemplate)]
#[template(path = "pages/public/follow_up/help.html")]
pub struct HelpPage {
    pub layout: Layout,
}

pub async fn show_help(PublicLayout(layout): PublicLayout) -> HelpPage {
    HelpPage { layout }
}

#[derive(Template, WebTemplate)]
#[template(path = "pages/public/follow_up/check.html")]
pub struct CheckPage {
    pub layout: Layout,
    pub action: String,
    pub first: String,
    pub last: String,
    pub postal_code: String,
    pub error: Option<String>,
}

/// One entry of the timeline.
pub struct Entry {
    pub date: String,
    pub author: &'static str,
    pub paragraphs: Vec<String>,
}

pub struct DocumentView {
    pub url: String,
    pub filename: String,
    pub size_label: String,
    /// "Analyse en cours" or "Bloqué" (antivirus), none when clean.
    pub badge: Option<&'static str>,
    pub blocked: bool,
}

/// A visit as the resident sees it (docs/visits.md §6).
pub struct PublicVisit {
    pub kind: &'static str,
    pub date: String,
    pub status: &'static str,
    /// The conclusion, when the staff made it public.
    pub conclusion: Option<String>,
}

#[derive(Template, WebTemplate)]
#[template(path = "pages/public/follow_up/space.html")]
pub struct SpacePage {
    pub layout: Layout,
    pub code: String,
    pub reference: String,
    pub status_label: &'static str,
    pub address: String,
    pub created: String,
    pub entries: Vec<Entry>,
    pub documents: Vec<DocumentView>,
    pub visits: Vec<PublicVisit>,
    pub message: String,
    pub error: Option<String>,
    pub notice: Option<&'static str>,
    pub can_write: bool,
}

fn looks_like_code(code: &str) -> bool {
    code.len() == 43
        && code
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
}

async fn find_report(state: &AppState, code: &str) -> AppResult<db::reports::ResidentReport> {
    if !looks_like_code(code) {
        return Err(AppError::NotFound);
    }
    db::reports::find_by_follow_up_code(&state.db, code)
        .await?
        .ok_or(AppError::NotFound)
}

async fn is_verified(session: &Session, code: &str) -> AppResult<bool> {
    let codes: Vec<String> = session.get(SESSION_KEY).await?.unwrap_or_default();
    Ok(codes.iter().any(|c| c == code))
}

fn format_date(d: time::PrimitiveDateTime) -> String {
    format!("{:02}/{:02}/{}", d.day(), u8::from(d.month()), d.year())
}

/// Stored follow-up bodies are sanitized HTML; the resident sees them as
/// text (escaped again by the template), one paragraph per line.
pub fn body_to_paragraphs(body: &str) -> Vec<String> {
    let with_breaks = body
        .replace("<br>", "\n")
        .replace("<br/>", "\n")
        .replace("<br />", "\n")
        .replace("</p>", "\n");
    let mut text = String::new();
    let mut in_tag = false;
    for c in with_breaks.chars() {
        match c {
            '<' => in_tag = true,
            '>' if in_tag => in_tag = false,
            c if !in_tag => text.push(c),
            _ => {}
        }
    }
    let text = text
        .replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&quot;", "\"")
        .replace("&#39;", "'")
        .replace("&amp;", "&");
    text.lines()
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .map(str::to_owned)
        .collect()
}

async fn render_space(
    state: &AppState,
    layout: Layout,
    report: &db::reports::ResidentReport,
    message: String,
    error: Option<String>,
    notice: Option<&'static str>,
) -> AppResult<SpacePage> {
    let entries = db::follow_ups::list_public(&state.db, report.id)
        .await?
        .into_iter()
        .map(|f| Entry {
            date: format_date(f.created_at),
            author: match f.author_kind.as_str() {
                "resident" => "Vous",
                "partner" => "Les services",
                _ => "Histologe",
            },
            paragraphs: body_to_paragraphs(&f.body),
        })
        .collect();
    let documents = db::documents::list_for_resident(&state.db, report.id)
        .await?
        .into_iter()
        .map(|d| DocumentView {
            url: format!(
                "/suivre-mon-signalement/{}/documents/{}",
                report.follow_up_code, d.uuid
            ),
            filename: d.filename,
            size_label: crate::web::public::form::view_size_label(d.size),
            badge: d.scan_status.badge(),
            blocked: d.scan_status.is_blocked(),
        })
        .collect();
    Ok(SpacePage {
        layout,
        code: report.follow_up_code.clone(),
        reference: report.reference.clone(),
        status_label: report.status.resident_label(),
        address: format!(
            "{}, {} {}",
            report.address_line, report.postal_code, report.city
        ),
        created: format_date(report.created_at),
        entries,
        documents,
        visits: db::visits::of_case(&state.db, report.id)
            .await?
            .into_iter()
            .map(|v| PublicVisit {
                kind: v.facts.kind.label(),
                date: crate::domain::case::visit::french_datetime(&v.facts.scheduled_at),
                status: v.facts.status.label(),
                conclusion: v
                    .facts
                    .conclusion
                    .public
                    .then_some(v.facts.conclusion.text)
                    .filter(|t| !t.is_empty()),
            })
            .collect(),
        message,
        error,
        notice,
        can_write: report.status.is_open(),
    })
}

pub async fn show_space(
    State(state): State<AppState>,
    PublicLayout(layout): PublicLayout,
    session: Session,
    Path(code): Path<String>,
    axum::extract::Query(query): axum::extract::Query<NoticeQuery>,
) -> AppResult<Response> {
    let report = find_report(&state, &code).await?;
    if !is_verified(&session, &code).await? {
        return Ok(CheckPage {
            layout,
            action: format!("/suivre-mon-signalement/{code}"),
            first: String::new(),
            last: String::new(),
            postal_code: String::new(),
            error: None,
        }
        .into_response());
    }
    let notice = match query.ok.as_deref() {
        Some("message") => {
            Some("Votre message a été envoyé aux services qui suivent le signalement.")
        }
        Some("fermeture") => Some("Votre demande de clôture a été transmise."),
        Some("poursuite") => Some("Votre souhait de poursuivre la procédure a été transmis."),
        _ => None,
    };
    Ok(
        render_space(&state, layout, &report, String::new(), None, notice)
            .await?
            .into_response(),
    )
}

#[derive(Deserialize)]
pub struct NoticeQuery {
    ok: Option<String>,
}

#[derive(Deserialize)]
pub struct CheckForm {
    #[serde(default)]
    initiale_prenom: String,
    #[serde(default)]
    initiale_nom: String,
    #[serde(default)]
    code_postal: String,
}

fn matches_person(first: Option<&str>, last: Option<&str>, form: &CheckForm) -> bool {
    let (Some(first), Some(last)) = (first, last) else {
        return false;
    };
    initial(first).is_some()
        && initial(first) == initial(&form.initiale_prenom)
        && initial(last).is_some()
        && initial(last) == initial(&form.initiale_nom)
}

pub async fn check_identity(
    State(state): State<AppState>,
    PublicLayout(layout): PublicLayout,
    session: Session,
    Path(code): Path<String>,
    Form(form): Form<CheckForm>,
) -> AppResult<Response> {
    let report = find_report(&state, &code).await?;
    let prefix = &state.config.redis_prefix;
    let lock_key = format!("{prefix}follow-up:lock:{code}");
    let fail_key = format!("{prefix}follow-up:fail:{code}");
    let page = |status: StatusCode, error: String| {
        (
            status,
            CheckPage {
                layout: layout.clone(),
                action: format!("/suivre-mon-signalement/{code}"),
                first: form.initiale_prenom.clone(),
                last: form.initiale_nom.clone(),
                postal_code: form.code_postal.clone(),
                error: Some(error),
            },
        )
            .into_response()
    };
    let locked = kv::lock_remaining(&state.redis, &lock_key).await?;
    if locked > 0 {
        let minutes = (locked + 59) / 60;
        return Ok(page(
            StatusCode::TOO_MANY_REQUESTS,
            format!(
                "Trop d’essais. Par sécurité, réessayez dans {minutes} minute{}.",
                if minutes > 1 { "s" } else { "" }
            ),
        ));
    }
    let postal_ok = form.code_postal.trim() == report.postal_code;
    let person_ok = matches_person(
        report.occupant_first_name.as_deref(),
        report.occupant_last_name.as_deref(),
        &form,
    ) || matches_person(
        report.declarant_first_name.as_deref(),
        report.declarant_last_name.as_deref(),
        &form,
    );
    if !(postal_ok && person_ok) {
        let failures = kv::hit(&state.redis, &fail_key, LOCK_SECONDS).await?;
        if failures >= MAX_ATTEMPTS {
            kv::lock(&state.redis, &lock_key, LOCK_SECONDS).await?;
            kv::forget(&state.redis, &[fail_key]).await?;
            return Ok(page(
                StatusCode::TOO_MANY_REQUESTS,
                "Trop d’essais. Par sécurité, réessayez dans 15 minutes.".into(),
            ));
        }
        let left = MAX_ATTEMPTS - failures;
        return Ok(page(
            StatusCode::UNPROCESSABLE_ENTITY,
            format!(
                "Ces informations ne correspondent pas au signalement. Il vous reste {left} essai{}.",
                if left > 1 { "s" } else { "" }
            ),
        ));
    }
    kv::forget(&state.redis, &[fail_key]).await?;
    let mut codes: Vec<String> = session.get(SESSION_KEY).await?.unwrap_or_default();
    if !codes.contains(&code) {
        codes.push(code.clone());
        // A handful is plenty; keep the session small.
        if codes.len() > 10 {
            codes.remove(0);
        }
        session.insert(SESSION_KEY, codes).await?;
    }
    Ok(Redirect::to(&format!("/suivre-mon-signalement/{code}")).into_response())
}

/// The report as the resident's commands know it.
fn resident_case(report: &db::reports::ResidentReport) -> ResidentCase {
    ResidentCase {
        case: CaseRef {
            report_id: report.id,
            uuid: report.uuid.clone(),
            territory_id: report.territory_id,
        },
        status: report.status,
    }
}

/// Applies a resident's plan in `tx` (the caller commits).
async fn apply_plan(
    state: &AppState,
    tx: &mut sqlx::MySqlConnection,
    plan: &Plan,
) -> AppResult<case_plan::Applied> {
    let ctx = case_plan::ApplyContext {
        base_url: &state.config.base_url,
        ..case_plan::ApplyContext::default()
    };
    case_plan::apply(tx, plan, &ctx).await.map_err(|e| match e {
        case_plan::ApplyError::Db(e) => e.into(),
        other => AppError::Unexpected(other.into()),
    })
}

pub async fn send_message(
    State(state): State<AppState>,
    PublicLayout(layout): PublicLayout,
    session: Session,
    origin: RequestOrigin,
    Path(code): Path<String>,
    request: Request,
) -> AppResult<Response> {
    let report = find_report(&state, &code).await?;
    if !is_verified(&session, &code).await? {
        return Err(AppError::Forbidden);
    }
    // Counted before the body is even read: a flood costs nothing.
    let prefix = &state.config.redis_prefix;
    let per_report = format!("{prefix}rate:messages:report:{}", report.id);
    let per_ip = format!("{prefix}rate:messages:ip:{}", origin.rate_key());
    if !kv::within_rate(
        &state.redis,
        &per_report,
        MESSAGES_PER_REPORT_PER_HOUR,
        3600,
    )
    .await?
        || !kv::within_rate(&state.redis, &per_ip, MESSAGES_PER_IP_PER_HOUR, 3600).await?
    {
        let page = render_space(
            &state,
            layout,
            &report,
            String::new(),
            Some("Trop de messages ont été envoyés sur ce signalement en peu de temps. Patientez une heure avant d’écrire à nouveau : vos messages précédents ont bien été transmis.".to_owned()),
            None,
        )
        .await?;
        return Ok((StatusCode::TOO_MANY_REQUESTS, page).into_response());
    }
    let (fields, incoming) = read_body(&state, request).await?;
    let message = fields
        .iter()
        .find(|(k, _)| k == "message")
        .map(|(_, v)| v.trim().to_owned())
        .unwrap_or_default();
    let mut errors = Vec::new();
    let reject = |error: String, message: String, layout: Layout| async {
        let page = render_space(&state, layout, &report, message, Some(error), None).await?;
        Ok::<_, AppError>((StatusCode::UNPROCESSABLE_ENTITY, page).into_response())
    };
    let plan = match resident::resident_message(&resident_case(&report), &message) {
        Ok(plan) => plan,
        Err(Refusal::Invalid(fields)) => {
            let error = fields.get("message").unwrap_or_default().to_owned();
            return reject(error, message, layout).await;
        }
        Err(_) => return Err(AppError::Forbidden),
    };
    if !within_upload_quota(&state, &origin.rate_key(), None, incoming.len()).await? {
        let page = render_space(
            &state,
            layout,
            &report,
            message,
            Some(TOO_MANY_FILES.to_owned()),
            None,
        )
        .await?;
        return Ok((StatusCode::TOO_MANY_REQUESTS, page).into_response());
    }
    let already = db::documents::count_for_report(&state.db, report.id).await?;
    let stored = store_files(
        &state,
        incoming,
        &["documents".to_owned()],
        usize::try_from(already).unwrap_or(uploads::MAX_FILES_PER_REPORT),
        &mut errors,
    )
    .await?;
    if let Some((_, error)) = errors.into_iter().next() {
        return reject(error, message, layout).await;
    }
    let mut tx = state.db.begin().await?;
    let applied = apply_plan(&state, &mut tx, &plan).await?;
    let follow_up_id = applied.follow_up_id;
    for file in &stored {
        crate::uploads::record(
            &mut tx,
            &db::documents::NewDocument {
                uuid: &uuid::Uuid::new_v4().to_string(),
                report_id: report.id,
                follow_up_id,
                object_key: &file.key,
                thumbnail_key: file.thumbnail_key.as_deref(),
                filename: &file.filename,
                mime: &file.mime,
                size: file.size,
                sha256: &file.sha256,
                kind: &file.kind,
                document_type: crate::domain::document::DocumentType::Autre.code(),
                defect_code: None,
                is_public: false,
            },
        )
        .await?;
    }
    tx.commit().await?;
    Ok(Redirect::to(&format!("/suivre-mon-signalement/{code}?ok=message")).into_response())
}

#[derive(Deserialize)]
pub struct ProcedureForm {
    #[serde(default)]
    demande: String,
    #[serde(default)]
    precision: String,
}

/// A request to close the report, or to go on with the procedure.
pub async fn request_procedure(
    State(state): State<AppState>,
    session: Session,
    Path(code): Path<String>,
    Form(form): Form<ProcedureForm>,
) -> AppResult<Response> {
    let report = find_report(&state, &code).await?;
    if !is_verified(&session, &code).await? {
        return Err(AppError::Forbidden);
    }
    let request = resident::ProcedureRequest::parse(&form.demande)
        .ok_or_else(|| AppError::BadRequest("demande inconnue".into()))?;
    let plan = resident::resident_request(&resident_case(&report), request, &form.precision);
    let mut tx = state.db.begin().await?;
    apply_plan(&state, &mut tx, &plan).await?;
    tx.commit().await?;
    let ok = request.notice();
    Ok(Redirect::to(&format!("/suivre-mon-signalement/{code}?ok={ok}")).into_response())
}

/// Serves a file through the app, after the check: never a bucket URL.
pub async fn download_document(
    State(state): State<AppState>,
    session: Session,
    Path((code, uuid)): Path<(String, String)>,
) -> AppResult<Response> {
    if !crate::web::forms::looks_like_uuid(&uuid) {
        return Err(AppError::NotFound);
    }
    let report = find_report(&state, &code).await?;
    if !is_verified(&session, &code).await? {
        return Err(AppError::Forbidden);
    }
    let document = db::documents::find_for_resident(&state.db, report.id, &uuid)
        .await?
        .ok_or(AppError::NotFound)?;
    crate::web::downloads::serve(
        &state,
        crate::web::downloads::Download {
            object_key: document.object_key,
            filename: document.filename,
            mime: document.mime,
            scan_status: document.scan_status,
        },
    )
    .await
}

#[derive(Template, WebTemplate)]
#[template(path = "pages/public/follow_up/lost_link.html")]
pub struct LostLinkPage {
    pub layout: Layout,
    pub email: String,
    pub postal_code: String,
    pub errors: Vec<(&'static str, &'static str)>,
    pub sent: bool,
}

impl LostLinkPage {
    pub fn error(&self, field: &str) -> Option<&'static str> {
        self.errors
            .iter()
            .find(|(f, _)| *f == field)
            .map(|(_, m)| *m)
    }
}

pub async fn show_lost_link(PublicLayout(layout): PublicLayout) -> LostLinkPage {
    LostLinkPage {
        layout,
        email: String::new(),
        postal_code: String::new(),
        errors: Vec::new(),
        sent: false,
    }
}

#[derive(Deserialize)]
pub struct LostLinkForm {
    #[serde(default)]
    email: String,
    #[serde(default)]
    code_postal: String,
}

/// E-mails the follow-up links of the matching reports; the answer is the
/// same whether or not a report matches.
pub async fn request_link(
    State(state): State<AppState>,
    PublicLayout(layout): PublicLayout,
    origin: RequestOrigin,
    Form(form): Form<LostLinkForm>,
) -> AppResult<Response> {
    let email = form.email.trim().to_lowercase();
    let postal_code = form.code_postal.trim().to_owned();
    let mut errors = Vec::new();
    if crate::domain::contact::Email::parse(&email).is_err() {
        errors.push((
            "email",
            "Saisissez une adresse électronique valide, par exemple nom@domaine.fr.",
        ));
    }
    if postal_code.len() != 5 || !postal_code.bytes().all(|b| b.is_ascii_digit()) {
        errors.push(("code_postal", "Le code postal compte 5 chiffres."));
    }
    if !errors.is_empty() {
        return Ok((
            StatusCode::UNPROCESSABLE_ENTITY,
            LostLinkPage {
                layout,
                email: form.email,
                postal_code: form.code_postal,
                errors,
                sent: false,
            },
        )
            .into_response());
    }
    let key = format!(
        "{}rate:follow-up-link:{}",
        state.config.redis_prefix,
        origin.rate_key()
    );
    if !kv::within_rate(&state.redis, &key, LINK_LIMIT, 20 * 60).await? {
        return Err(AppError::TooManyRequests);
    }
    let reports =
        db::reports::find_by_email_and_postal_code(&state.db, &email, &postal_code).await?;
    if !reports.is_empty() {
        let links = reports
            .iter()
            .map(|r| {
                (
                    r.reference.clone(),
                    format!(
                        "{}/suivre-mon-signalement/{}",
                        state.config.base_url, r.follow_up_code
                    ),
                )
            })
            .collect();
        let mut tx = state.db.begin().await?;
        queue::enqueue(
            &mut tx,
            &Job::SendEmail(Email::FollowUpLinks {
                to: email.clone(),
                links,
            }),
            None,
            JobContext::default(),
        )
        .await?;
        tx.commit().await?;
    }
    Ok(LostLinkPage {
        layout,
        email,
        postal_code,
        errors: Vec::new(),
        sent: true,
    }
    .into_response())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::case::resident::text_to_html;

    #[test]
    fn resident_text_is_stored_escaped_and_shown_as_text() {
        let html = text_to_html("<script>alert(1)</script>\nligne 2");
        assert!(!html.contains("<script>"));
        assert_eq!(
            body_to_paragraphs(&html),
            vec!["<script>alert(1)</script>", "ligne 2"]
        );
    }
}
