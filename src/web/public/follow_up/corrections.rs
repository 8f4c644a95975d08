//! The resident corrects their case from the space
//! (`/suivre-mon-signalement/{code}/modifier`): the form is the public
//! form's questions prefilled from the report, one section per group
//! (`domain::case::resident_edit` decides what may change and checks it
//! with the form's validator); a plain HTML form, no JavaScript needed.

use askama::Template;
use askama_web::WebTemplate;
use axum::{
    extract::{Path, RawForm, State},
    http::StatusCode,
    response::{IntoResponse, Redirect, Response},
};
use tower_sessions::Session;

use super::{apply_plan, check, find_report, resident_case};
use crate::{
    app::AppState,
    db,
    domain::{
        case::{
            Refusal,
            resident_edit::{self, CorrectionInput},
        },
        report::form::{Answers, DeclarantProfile},
    },
    error::{AppError, AppResult},
    web::{
        layout::{Layout, PublicLayout},
        public::form::{FieldView, FileView, view_fields},
    },
};

/// One section of the correction form.
pub struct SectionView {
    pub title: &'static str,
    pub fields: Vec<FieldView>,
}

#[derive(Template, WebTemplate)]
#[template(path = "pages/public/follow_up/corrections.html")]
pub struct CorrectionsPage {
    pub layout: Layout,
    pub code: String,
    pub reference: String,
    pub version: u32,
    pub sections: Vec<SectionView>,
    /// The errors, for the summary above the form.
    pub errors: Vec<(String, String)>,
    /// The field template lists files already sent; none here.
    pub files: Vec<FileView>,
}

fn profile_of(report: &db::reports::ResidentReport) -> DeclarantProfile {
    DeclarantProfile::parse(&report.declarant_profile).unwrap_or(DeclarantProfile::Locataire)
}

fn page(
    layout: Layout,
    report: &db::reports::ResidentReport,
    version: u32,
    answers: &Answers,
    errors: &[(&'static str, String)],
) -> CorrectionsPage {
    let by_field = errors
        .iter()
        .map(|(f, m)| (*f, m.as_str()))
        .collect::<std::collections::BTreeMap<_, _>>();
    let sections = resident_edit::sections(profile_of(report))
        .into_iter()
        .map(|section| {
            let questions: Vec<_> = section
                .fields
                .iter()
                .map(|(slug, _)| resident_edit::question_of(slug))
                .collect();
            SectionView {
                title: section.title,
                fields: view_fields(&questions, answers, &by_field, &[]),
            }
        })
        .collect();
    CorrectionsPage {
        layout,
        code: report.follow_up_code.clone(),
        reference: report.reference.clone(),
        version,
        sections,
        errors: errors
            .iter()
            .map(|(f, m)| ((*f).to_owned(), m.clone()))
            .collect(),
        files: Vec::new(),
    }
}

pub async fn show_form(
    State(state): State<AppState>,
    PublicLayout(layout): PublicLayout,
    session: Session,
    Path(code): Path<String>,
) -> AppResult<Response> {
    let report = find_report(&state, &code).await?;
    if !check::is_verified(&state, &session, &code, report.id).await? {
        return Ok(Redirect::to(&format!("/suivre-mon-signalement/{code}")).into_response());
    }
    if !report.status.is_open() {
        return Err(AppError::Forbidden);
    }
    let (stored, version) = db::resident_details::load(&state.db, report.id).await?;
    let answers = resident_edit::prefilled(profile_of(&report), &stored);
    Ok(page(layout, &report, version, &answers, &[]).into_response())
}

pub async fn save(
    State(state): State<AppState>,
    PublicLayout(layout): PublicLayout,
    session: Session,
    Path(code): Path<String>,
    RawForm(body): RawForm,
) -> AppResult<Response> {
    let report = find_report(&state, &code).await?;
    if !check::is_verified(&state, &session, &code, report.id).await? {
        return Err(AppError::Forbidden);
    }
    let fields: Vec<(String, String)> = serde_urlencoded::from_bytes(&body)
        .map_err(|_| AppError::BadRequest("formulaire illisible".into()))?;
    let mut input = CorrectionInput { version: 0, fields };
    input.version = input.get("version").parse().unwrap_or(0);
    let (stored, version) = db::resident_details::load(&state.db, report.id).await?;
    let profile = profile_of(&report);
    let case = resident_case(&state, &report).await?;
    let today = time::OffsetDateTime::now_utc().date();
    let plan = match resident_edit::correct_details(&case, profile, version, &stored, &input, today)
    {
        Ok(Some(plan)) => plan,
        Ok(None) => {
            return Ok(
                Redirect::to(&format!("/suivre-mon-signalement/{code}?ok=inchange"))
                    .into_response(),
            );
        }
        Err(Refusal::Invalid(errors)) => {
            let view = page(layout, &report, version, &input.answers(profile), &errors.0);
            return Ok((StatusCode::UNPROCESSABLE_ENTITY, view).into_response());
        }
        Err(Refusal::Stale) => return Err(AppError::Conflict(super::STALE.into())),
        Err(_) => return Err(AppError::Forbidden),
    };
    let mut tx = state.db.begin().await?;
    apply_plan(&state, &mut tx, &plan).await?;
    tx.commit().await?;
    Ok(Redirect::to(&format!("/suivre-mon-signalement/{code}?ok=modification")).into_response())
}
