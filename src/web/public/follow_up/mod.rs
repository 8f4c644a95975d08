//! The resident's follow-up space (`/suivre-mon-signalement/{code}`) and
//! the "lost my link" page.
//!
//! The secret code in the link is the key; a light check (initials of the
//! occupant or declarant and the dwelling's postal code) guards against a
//! forwarded link. After 5 failed checks the code is locked for 15 minutes
//! (Redis). A successful check is remembered in the session, so the
//! resident is not asked again on each page.
//!
//! One module per thing the resident does: [`page`] (the space itself),
//! [`check`] (the light identity check), [`messages`] (writing to the
//! services, with files), [`procedure`] (asking to close or to go on),
//! [`documents`] (downloading a file) and [`lost_link`] (getting the links
//! again by e-mail). Each handler reads its request, calls one command of
//! `domain::case::resident` and renders; this module holds what they share:
//! finding the report by its code and applying a resident's plan.

mod check;
mod corrections;
mod documents;
mod email_change;
mod invitations;
mod lost_link;
mod messages;
mod page;
mod procedure;

use axum::{extract::DefaultBodyLimit, handler::Handler};

use crate::{
    app::AppState,
    case_plan, db,
    domain::{
        case::{
            Plan,
            plan::CaseRef,
            resident::{AfterClosure, ResidentCase},
        },
        permissions::Access,
    },
    error::{AppError, AppResult},
    web::routes::Routes,
};

/// A correction built from a version of the case that changed since.
const STALE: &str = "Le signalement a changé pendant que vous le corrigiez : vos corrections n’ont pas été enregistrées. Rechargez la page pour repartir des informations à jour.";

/// Adds the follow-up space's routes to the site.
pub fn register(routes: Routes) -> Routes {
    use Access::Public;
    routes
        .get("/suivre-mon-signalement", Public, page::show_help)
        .get("/suivre-mon-signalement/{code}", Public, page::show_space)
        .post(
            "/suivre-mon-signalement/{code}",
            Public,
            check::check_identity,
        )
        .post(
            "/suivre-mon-signalement/{code}/messages",
            Public,
            messages::send_message.layer(DefaultBodyLimit::max(64 * 1024 * 1024)),
        )
        .get(
            "/suivre-mon-signalement/{code}/modifier",
            Public,
            corrections::show_form,
        )
        .post(
            "/suivre-mon-signalement/{code}/modifier",
            Public,
            corrections::save,
        )
        .post(
            "/suivre-mon-signalement/{code}/invitations",
            Public,
            invitations::invite,
        )
        .post(
            "/suivre-mon-signalement/{code}/invitations/{id}/revoquer",
            Public,
            invitations::revoke,
        )
        .get("/invitation/{token}", Public, invitations::open)
        .post(
            "/suivre-mon-signalement/{code}/courriel",
            Public,
            email_change::request,
        )
        .get("/confirmer-courriel/{token}", Public, email_change::confirm)
        .post(
            "/suivre-mon-signalement/{code}/procedure",
            Public,
            procedure::request_procedure,
        )
        .get(
            "/suivre-mon-signalement/{code}/documents/{uuid}",
            Public,
            documents::download_document,
        )
        .get(
            "/demande-lien-signalement",
            Public,
            lost_link::show_lost_link,
        )
        .post("/demande-lien-signalement", Public, lost_link::request_link)
}

/// A follow-up code is 43 URL-safe base64 characters; anything else is not
/// looked up.
fn looks_like_code(code: &str) -> bool {
    code.len() == 43
        && code
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
}

/// The report of a follow-up code, or 404.
async fn find_report(state: &AppState, code: &str) -> AppResult<db::reports::ResidentReport> {
    if !looks_like_code(code) {
        return Err(AppError::NotFound);
    }
    db::reports::find_by_follow_up_code(&state.db, code)
        .await?
        .ok_or(AppError::NotFound)
}

/// The report as the resident's commands know it (for a closed case,
/// whether the one message after closure was written).
async fn resident_case(
    state: &AppState,
    report: &db::reports::ResidentReport,
) -> AppResult<ResidentCase> {
    let after_closure = match (report.status, report.closed_at) {
        (crate::domain::case::ReportStatus::Closed, Some(closed_at)) => Some(AfterClosure {
            closed_at,
            written: db::resident_details::wrote_since(&state.db, report.id, closed_at).await?,
            now: {
                let now = time::OffsetDateTime::now_utc();
                time::PrimitiveDateTime::new(now.date(), now.time())
            },
        }),
        _ => None,
    };
    Ok(ResidentCase {
        case: CaseRef {
            report_id: report.id,
            uuid: report.uuid.clone(),
            territory_id: report.territory_id,
        },
        status: report.status,
        after_closure,
    })
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
        case_plan::ApplyError::Conflict => AppError::Conflict(STALE.into()),
        other => AppError::Unexpected(other.into()),
    })
}
