//! Editing the sections of a report (contacts, dwelling, address) from the
//! back office: the page, and the form handed to the `edit_sections`
//! command (`domain::case::edit`: who may, the field rules, the diff),
//! whose plan `case_plan::apply` carries out (version, write, score again,
//! audit, geocoding).

use askama::Template;
use askama_web::WebTemplate;
use axum::{
    extract::{Path, RawForm, State},
    http::StatusCode,
    response::{IntoResponse, Redirect, Response},
};

use super::cases::load_visible;
use crate::{
    app::AppState,
    auth::session::RequestOrigin,
    case_plan::{self, ApplyContext, ApplyError},
    db,
    domain::{
        case::{
            Refusal,
            edit::{self, CHOICE_FIELDS, EditInput, TEXT_FIELDS, text_of},
        },
        workflow::{self, CaseAction},
    },
    error::{AppError, AppResult},
    web::{
        forms::FormErrors,
        layout::{Layout, OfficePage},
    },
};

#[derive(Template, WebTemplate)]
#[template(path = "pages/office/case_edit.html")]
pub struct CaseEditPage {
    pub layout: Layout,
    pub uuid: String,
    pub reference: String,
    pub version: u32,
    pub f: Vec<(&'static str, &'static str, String)>,
    pub choices: Vec<(&'static str, &'static str, String)>,
    pub errors: FormErrors,
}

fn page(
    layout: Layout,
    uuid: &str,
    reference: &str,
    version: u32,
    values: &dyn Fn(&str) -> String,
    errors: FormErrors,
) -> CaseEditPage {
    CaseEditPage {
        layout,
        uuid: uuid.to_owned(),
        reference: reference.to_owned(),
        version,
        f: TEXT_FIELDS
            .iter()
            .map(|(name, label)| (*name, *label, values(name)))
            .collect(),
        choices: CHOICE_FIELDS
            .iter()
            .map(|(name, label)| (*name, *label, values(name)))
            .collect(),
        errors,
    }
}

pub async fn show_edit(
    State(state): State<AppState>,
    office: OfficePage,
    Path(uuid): Path<String>,
) -> AppResult<CaseEditPage> {
    let (key, facts) = load_visible(&state, &office.user, &uuid).await?;
    if !workflow::can(&office.user.actor, &facts, CaseAction::EditSections) {
        return Err(AppError::Forbidden);
    }
    let sections = db::case_edit::load(&state.db, key.id).await?;
    Ok(page(
        office.layout,
        &uuid,
        &key.reference,
        key.version,
        &|f| text_of(&sections, f),
        FormErrors::default(),
    ))
}

const CONFLICT: &str = "Ce signalement a été modifié par quelqu’un d’autre pendant que vous le modifiiez : vos changements n’ont pas été enregistrés. Rechargez la page pour repartir de la version à jour.";

pub async fn save_edit(
    State(state): State<AppState>,
    office: OfficePage,
    origin: RequestOrigin,
    Path(uuid): Path<String>,
    RawForm(body): RawForm,
) -> AppResult<Response> {
    let (key, facts) = load_visible(&state, &office.user, &uuid).await?;
    let fields: Vec<(String, String)> = serde_urlencoded::from_bytes(&body).unwrap_or_default();
    let mut input = EditInput { version: 0, fields };
    input.version = input.get("version").parse().unwrap_or(0);
    let before = db::case_edit::load(&state.db, key.id).await?;
    let communes = db::reports::communes(&state.db, &input.get("postal_code")).await?;
    let plan = match edit::edit_sections(&office.user.actor, &facts, &before, &input, &communes) {
        Ok(plan) => plan,
        Err(Refusal::Stale) => return Err(AppError::Conflict(CONFLICT.into())),
        Err(Refusal::NotAllowed | Refusal::WrongStatus(_)) => return Err(AppError::Forbidden),
        Err(Refusal::NotFound) => return Err(AppError::NotFound),
        Err(Refusal::BadInput(message)) => return Err(AppError::BadRequest(message.into())),
        Err(Refusal::Invalid(fields)) => {
            let mut errors = FormErrors::default();
            for (field, message) in fields.0 {
                errors.add(field, message);
            }
            let view = page(
                office.layout,
                &uuid,
                &key.reference,
                key.version,
                &|f| input.get(f),
                errors,
            );
            return Ok((StatusCode::UNPROCESSABLE_ENTITY, view).into_response());
        }
    };
    let ctx = ApplyContext {
        base_url: &state.config.base_url,
        actor_email: Some(&office.user.email),
        ip: origin.ip,
        user_agent: origin.user_agent.as_deref(),
    };
    let mut tx = state.db.begin().await?;
    match case_plan::apply(&mut tx, &plan, &ctx).await {
        Ok(_) => {}
        Err(ApplyError::Conflict) => return Err(AppError::Conflict(CONFLICT.into())),
        Err(ApplyError::NotFound) => return Err(AppError::NotFound),
        Err(ApplyError::NoActor) => return Err(AppError::Forbidden),
        Err(ApplyError::Db(e)) => return Err(e.into()),
    }
    tx.commit().await?;
    Ok(Redirect::to(&format!("/bo/signalements/{uuid}")).into_response())
}
