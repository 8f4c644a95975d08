//! The case list (filters in the URL, role scope in SQL, saved filters)
//! and the case page.

use askama::Template;
use askama_web::WebTemplate;
use axum::{
    Form,
    extract::{Path, Query, RawQuery, State},
    http::StatusCode,
    response::{IntoResponse, Redirect, Response},
};
use serde::Deserialize;

use super::visits::VisitView;

use crate::{
    app::AppState,
    auth::session::CurrentUser,
    db::{self, case_view},
    domain::{
        case::{AssignmentStatus, ReportStatus, VisitOutcome},
        case_filter::{ASSIGNMENT_FILTERS, CaseFilter, SORTS},
        permissions::{self, ReportFacts},
        report::form::DeclarantProfile,
        roles::Role,
        workflow::{
            self, ASSIGNMENT_REFUSAL_REASONS, CLOSURE_REASONS, CaseAction, CaseFacts,
            REFUSAL_REASONS,
        },
    },
    error::{AppError, AppResult},
    web::{
        forms::{FormErrors, Pagination, looks_like_uuid},
        layout::{Layout, OfficePage},
        office::filter_options::{FilterOptions, filter_options},
    },
};

pub fn format_date(dt: &time::PrimitiveDateTime) -> String {
    format!("{:02}/{:02}/{}", dt.day(), u8::from(dt.month()), dt.year())
}

pub fn format_datetime(dt: &time::PrimitiveDateTime) -> String {
    format!("{} {:02}:{:02}", format_date(dt), dt.hour(), dt.minute())
}

pub fn format_score(score: Option<f64>) -> String {
    score.map_or_else(
        || "—".to_owned(),
        crate::domain::report::scoring::score_display,
    )
}

pub struct CaseListItem {
    pub uuid: String,
    pub reference: String,
    pub territory_code: String,
    pub status_code: String,
    pub status_label: String,
    pub created: String,
    pub last_follow_up: String,
    pub occupant: String,
    pub address: String,
    pub severity: String,
    pub assignments: Vec<(String, String)>,
}

#[derive(Template, WebTemplate)]
#[template(path = "pages/office/cases.html")]
pub struct CasesPage {
    pub layout: Layout,
    pub cases: Vec<CaseListItem>,
    pub filter: CaseFilter,
    pub error: Option<String>,
    pub pagination: Pagination,
    pub query_base: String,
    pub statuses: &'static [ReportStatus],
    pub sorts: [(&'static str, &'static str); 5],
    pub assignment_filters: [(&'static str, &'static str); 6],
    pub options: FilterOptions,
    pub saved: Vec<db::saved_filters::SavedFilterRow>,
    pub postal_codes: String,
    pub date_from: String,
    pub date_to: String,
}

fn iso(d: Option<time::Date>) -> String {
    d.map(|d| format!("{:04}-{:02}-{:02}", d.year(), u8::from(d.month()), d.day()))
        .unwrap_or_default()
}

pub async fn list_cases(
    State(state): State<AppState>,
    page: OfficePage,
    RawQuery(query): RawQuery,
) -> AppResult<Response> {
    let pairs: Vec<(String, String)> =
        serde_urlencoded::from_str(query.as_deref().unwrap_or("")).unwrap_or_default();
    let (filter, error) = match CaseFilter::parse(&pairs) {
        Ok(filter) => (filter, None),
        Err(message) => (
            CaseFilter {
                sort: "date".into(),
                descending: true,
                page: 1,
                ..CaseFilter::default()
            },
            Some(message),
        ),
    };
    let scope = permissions::report_scope(&page.user.actor);
    let (rows, total) = if error.is_none() {
        db::cases::list(&state.db, &scope, &filter, page.user.id).await?
    } else {
        (Vec::new(), db::cases::ListTotal::default())
    };
    let ids: Vec<u64> = rows.iter().map(|r| r.id).collect();
    let assignments = db::cases::assignments_of(&state.db, &ids).await?;
    let cases = rows
        .into_iter()
        .map(|r| CaseListItem {
            assignments: assignments
                .iter()
                .filter(|(report, _, _)| *report == r.id)
                .map(|(_, partner, status)| {
                    (
                        partner.clone(),
                        AssignmentStatus::label_of(status).to_owned(),
                    )
                })
                .collect(),
            uuid: r.uuid,
            reference: r.reference,
            territory_code: r.territory_code,
            status_label: ReportStatus::label_of(&r.status).to_owned(),
            status_code: r.status,
            created: format_date(&r.created_at),
            last_follow_up: r
                .last_follow_up_at
                .as_ref()
                .map(format_datetime)
                .unwrap_or_default(),
            occupant: r.occupant_name,
            address: format!("{}, {} {}", r.address, r.postal_code, r.city),
            severity: format_score(r.severity),
        })
        .collect();
    let options = filter_options(&state, &page, &scope, &filter).await?;
    let saved = db::saved_filters::list(&state.db, page.user.id).await?;
    let status = if error.is_some() {
        StatusCode::BAD_REQUEST
    } else {
        StatusCode::OK
    };
    let view = CasesPage {
        layout: page.layout,
        cases,
        postal_codes: filter.postal_codes.join(", "),
        date_from: iso(filter.date_from),
        date_to: iso(filter.date_to),
        query_base: filter.query_string(),
        pagination: Pagination::at_least(
            Some(filter.page),
            db::cases::PER_PAGE,
            total.count,
            total.capped,
        ),
        filter,
        error,
        statuses: ReportStatus::ALL,
        sorts: SORTS,
        assignment_filters: ASSIGNMENT_FILTERS,
        options,
        saved,
    };
    Ok((status, view).into_response())
}

#[derive(Deserialize)]
pub struct SaveFilterForm {
    #[serde(default)]
    name: String,
    #[serde(default)]
    query: String,
}

pub async fn save_filter(
    State(state): State<AppState>,
    user: CurrentUser,
    Form(form): Form<SaveFilterForm>,
) -> AppResult<Redirect> {
    let name = form.name.trim();
    if name.is_empty() || name.chars().count() > 100 {
        return Err(AppError::BadRequest(
            "Donnez un nom (100 caractères au plus) à la recherche enregistrée.".into(),
        ));
    }
    let pairs: Vec<(String, String)> = serde_urlencoded::from_str(&form.query).unwrap_or_default();
    let filter = CaseFilter::parse(&pairs).map_err(AppError::BadRequest)?;
    let query = filter.query_string();
    let mut tx = state.db.begin().await?;
    db::saved_filters::insert(&mut tx, user.id, name, &query).await?;
    tx.commit().await?;
    Ok(Redirect::to(&format!("/bo/signalements?{query}")))
}

pub async fn delete_filter(
    State(state): State<AppState>,
    user: CurrentUser,
    Path(id): Path<u64>,
) -> AppResult<Redirect> {
    let mut tx = state.db.begin().await?;
    if !db::saved_filters::delete(&mut tx, user.id, id).await? {
        return Err(AppError::NotFound);
    }
    tx.commit().await?;
    Ok(Redirect::to("/bo/signalements"))
}

/// Loads a case the user may see: 404 when it does not exist, 403 when it
/// is outside the user's scope.
pub async fn load_visible(
    state: &AppState,
    user: &CurrentUser,
    uuid: &str,
) -> AppResult<(case_view::CaseKey, CaseFacts)> {
    if !looks_like_uuid(uuid) {
        return Err(AppError::NotFound);
    }
    let key = case_view::find_key(&state.db, uuid)
        .await?
        .ok_or(AppError::NotFound)?;
    let assignments = case_view::assignments(&state.db, key.id).await?;
    let facts = visible_facts(
        user,
        (key.id, uuid, key.version),
        key.territory_id,
        key.status,
        &assignments,
    )?;
    Ok((key, facts))
}

/// What the workflow needs of a case, once the policy lets the user see it
/// (403 otherwise).
fn visible_facts(
    user: &CurrentUser,
    (report_id, uuid, version): (u64, &str, u32),
    territory_id: u32,
    status: ReportStatus,
    assignments: &[case_view::AssignmentRow],
) -> AppResult<CaseFacts> {
    let report = ReportFacts {
        territory_id,
        assigned_partner_ids: assignments.iter().map(|a| a.partner_id).collect(),
    };
    if !permissions::can_view_report(&user.actor, &report) {
        return Err(AppError::Forbidden);
    }
    Ok(CaseFacts {
        report_id,
        uuid: uuid.to_owned(),
        version,
        territory_id,
        status,
        assignments: assignments
            .iter()
            .map(|a| (a.partner_id, a.status))
            .collect(),
    })
}

pub struct AssignmentView {
    pub partner_id: u64,
    pub partner_name: String,
    pub status: AssignmentStatus,
    pub status_label: String,
    pub detail: String,
    pub since: String,
}

pub struct FollowUpView {
    pub author: String,
    pub body: String,
    pub is_public: bool,
    pub at: String,
    pub from_resident: bool,
}

pub struct HistoryView {
    pub at: String,
    pub actor: String,
    pub action: String,
    pub changes: String,
}

#[derive(Template, WebTemplate)]
#[template(path = "pages/office/case.html")]
pub struct CasePage {
    pub layout: Layout,
    pub r: case_view::CaseReport,
    pub status_label: String,
    pub severity: String,
    pub created: String,
    pub profile_label: &'static str,
    pub assignments: Vec<AssignmentView>,
    pub defects: Vec<case_view::DefectRow>,
    pub qualifications: Vec<(String, String)>,
    pub follow_ups: Vec<FollowUpView>,
    pub visits: super::visits::VisitPanel,
    pub documents: super::documents::DocumentsPanel,
    /// "Adresse e-mail à vérifier" (docs/deliverability.md §4).
    pub email_checks: super::delivery::EmailChecks,
    pub tags: Vec<(u64, String, bool)>,
    pub same_address: Vec<case_view::SameAddressRow>,
    pub arretes: super::arretes::CasePanel,
    pub history: Vec<HistoryView>,
    pub subscribed: bool,
    pub assignable: Vec<(u64, String, bool)>,
    /// Partners the auto-assignment rules pick (pre-ticked at validation).
    pub suggested: Vec<u64>,
    pub can_validate: bool,
    pub can_assign: bool,
    pub can_close: bool,
    pub can_reopen: bool,
    pub can_answer: bool,
    pub can_close_assignment: bool,
    pub can_write: bool,
    pub can_tag: bool,
    pub can_edit: bool,
    pub refusal_reasons: [(&'static str, &'static str); 5],
    pub closure_reasons: [(&'static str, &'static str); 20],
    pub assignment_refusal_reasons: [(&'static str, &'static str); 4],
    pub errors: FormErrors,
    pub map_link: String,
}

/// The back-office label of a stored declarant profile ("Inconnu" for a
/// code that is none of [`DeclarantProfile`]'s).
pub fn profile_label(code: &str) -> &'static str {
    DeclarantProfile::parse(code).map_or("Inconnu", DeclarantProfile::office_label)
}

/// Builds the case page (also used to re-render it with form errors).
pub async fn case_page(
    state: &AppState,
    page: OfficePage,
    uuid: &str,
    errors: FormErrors,
) -> AppResult<CasePage> {
    if !looks_like_uuid(uuid) {
        return Err(AppError::NotFound);
    }
    // The whole report and its assignments are read once, for the policy
    // and for the page (not through load_visible, which reads a key).
    let r = case_view::find_by_uuid(&state.db, uuid, page.user.id)
        .await?
        .ok_or(AppError::NotFound)?;
    let assignments = case_view::assignments(&state.db, r.id).await?;
    let facts = visible_facts(
        &page.user,
        (r.id, &r.uuid, r.version),
        r.territory_id,
        r.status,
        &assignments,
    )?;
    let catalog = state.defect_catalog().await?;
    let scope = permissions::report_scope(&page.user.actor);
    let details = case_view::details(&state.db, &r, &catalog, &scope).await?;
    let subscribed = r.subscribed;
    if r.unread {
        db::notifications::mark_case_seen(&state.db, page.user.id, r.id).await?;
    }
    let actor = &page.user.actor;
    let can = |action| workflow::can(actor, &facts, action);
    let assignable = if can(CaseAction::Assign) {
        case_view::assignable_partners(
            &state.db,
            r.territory_id,
            r.insee_code.as_deref().unwrap_or(""),
        )
        .await?
        .into_iter()
        .filter(|(id, _, _)| !assignments.iter().any(|a| a.partner_id == *id))
        .collect()
    } else {
        Vec::new()
    };
    let staff = page.user.role >= Role::Agent;
    let suggested = if can(CaseAction::Validate) {
        super::auto_assignment::picked_partners(state, r.territory_id, r.id).await?
    } else {
        Vec::new()
    };
    let arretes = super::arretes::case_panel(
        state,
        actor,
        r.id,
        r.territory_id,
        r.status,
        &details.documents,
    )
    .await?;
    Ok(CasePage {
        arretes,
        status_label: r.status.label().to_owned(),
        severity: format_score(r.severity),
        created: format_datetime(&r.created_at),
        profile_label: profile_label(&r.declarant_profile),
        assignments: assignments
            .iter()
            .map(|a| AssignmentView {
                partner_id: a.partner_id,
                partner_name: a.partner_name.clone(),
                status: a.status,
                status_label: a.status.label().to_owned(),
                detail: [
                    a.refusal_reason
                        .as_deref()
                        .map(|c| workflow::label_of(&ASSIGNMENT_REFUSAL_REASONS, c).to_owned()),
                    a.closure_reason
                        .as_deref()
                        .map(|c| workflow::label_of(&CLOSURE_REASONS, c).to_owned()),
                    a.answer_message.clone(),
                ]
                .into_iter()
                .flatten()
                .collect::<Vec<_>>()
                .join(" — "),
                since: format_date(&a.answered_at.unwrap_or(a.created_at)),
            })
            .collect(),
        defects: details.defects,
        qualifications: details
            .qualifications
            .into_iter()
            .map(|q| {
                let label = crate::domain::report::scoring::QualificationStatus::parse(&q.status)
                    .map_or_else(|| q.status.clone(), |s| s.label().to_owned());
                (q.qualification, label)
            })
            .collect(),
        follow_ups: details
            .follow_ups
            .into_iter()
            .map(|f| FollowUpView {
                author: match f.author_kind.as_str() {
                    "resident" => "Usager".to_owned(),
                    "system" => "Histologe".to_owned(),
                    _ => [
                        f.author_name.clone().filter(|n| !n.trim().is_empty()),
                        f.partner_name.clone(),
                    ]
                    .into_iter()
                    .flatten()
                    .collect::<Vec<_>>()
                    .join(" – "),
                },
                from_resident: f.author_kind == "resident",
                body: f.body,
                is_public: f.is_public,
                at: format_datetime(&f.created_at),
            })
            .collect(),
        visits: super::visits::panel(state, &page.user.actor, &facts).await?,
        documents: super::documents::panel(details.documents, actor, &facts),
        email_checks: super::delivery::panel(state, &r, actor, &facts).await?,
        tags: details.tags,
        same_address: details.same_address,
        history: details
            .history
            .into_iter()
            .map(|h| HistoryView {
                at: format_datetime(&h.created_at),
                actor: h.actor_email.unwrap_or_else(|| "—".into()),
                action: h.action,
                changes: h
                    .diff
                    .and_then(|d| d.0.as_object().cloned())
                    .map(|m| {
                        m.into_iter()
                            .map(|(k, v)| {
                                format!(
                                    "{k} : {} → {}",
                                    v.get(0).map(value_text).unwrap_or_default(),
                                    v.get(1).map(value_text).unwrap_or_default()
                                )
                            })
                            .collect::<Vec<_>>()
                            .join(" ; ")
                    })
                    .unwrap_or_default(),
            })
            .collect(),
        subscribed,
        assignable,
        suggested,
        can_validate: can(CaseAction::Validate),
        can_assign: can(CaseAction::Assign),
        can_close: can(CaseAction::CloseForAll),
        can_reopen: can(CaseAction::Reopen),
        can_answer: can(CaseAction::AnswerAssignment),
        can_close_assignment: can(CaseAction::CloseAssignment),
        can_write: can(CaseAction::WriteFollowUp),
        can_tag: staff && can(CaseAction::ManageTags),
        can_edit: can(CaseAction::EditSections),
        refusal_reasons: REFUSAL_REASONS,
        closure_reasons: CLOSURE_REASONS,
        assignment_refusal_reasons: ASSIGNMENT_REFUSAL_REASONS,
        errors,
        map_link: match (r.latitude, r.longitude) {
            (Some(lat), Some(lon)) => format!(
                "https://www.openstreetmap.org/?mlat={lat:.6}&mlon={lon:.6}#map=18/{lat:.6}/{lon:.6}"
            ),
            _ => String::new(),
        },
        r,
        layout: page.layout,
    })
}

fn value_text(value: &serde_json::Value) -> String {
    match value {
        serde_json::Value::Null => "—".into(),
        serde_json::Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

pub async fn show_case(
    State(state): State<AppState>,
    page: OfficePage,
    Path(uuid): Path<String>,
) -> AppResult<CasePage> {
    case_page(&state, page, &uuid, FormErrors::default()).await
}

#[derive(Deserialize)]
pub struct NotificationsQuery {}

#[derive(Template, WebTemplate)]
#[template(path = "pages/office/notifications.html")]
pub struct NotificationsPage {
    pub layout: Layout,
    pub notifications: Vec<(String, String, String, bool, String)>,
}

pub async fn list_notifications(
    State(state): State<AppState>,
    page: OfficePage,
    Query(_q): Query<NotificationsQuery>,
) -> AppResult<NotificationsPage> {
    let rows = db::notifications::list(&state.db, page.user.id).await?;
    Ok(NotificationsPage {
        layout: page.layout,
        notifications: rows
            .into_iter()
            .map(|n| {
                (
                    n.kind.label().to_owned(),
                    n.reference.unwrap_or_default(),
                    n.report_uuid.unwrap_or_default(),
                    n.seen,
                    format_datetime(&n.created_at),
                )
            })
            .collect(),
    })
}

pub async fn mark_notifications_seen(
    State(state): State<AppState>,
    user: CurrentUser,
) -> AppResult<Redirect> {
    db::notifications::mark_all_seen(&state.db, user.id).await?;
    Ok(Redirect::to("/bo/notifications"))
}

/// Downloads a document of a case the user may see, through the app (never
/// from a public bucket URL).
pub async fn download_document(
    State(state): State<AppState>,
    user: CurrentUser,
    Path(uuid): Path<String>,
) -> AppResult<Response> {
    if !looks_like_uuid(&uuid) {
        return Err(AppError::NotFound);
    }
    let file = case_view::document_file(&state.db, &uuid)
        .await?
        .ok_or(AppError::NotFound)?;
    load_visible(&state, &user, &file.report_uuid).await?;
    crate::web::downloads::serve(
        &state,
        crate::web::downloads::Download {
            object_key: file.object_key,
            filename: file.filename,
            mime: file.mime,
            scan_status: file.scan_status,
        },
    )
    .await
}
