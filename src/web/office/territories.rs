//! Territories (départements): opening one to the public form, its time
//! zone and the communes open to reports (super admin).

use askama::Template;
use askama_web::WebTemplate;
use axum::{
    Form,
    extract::{Path, State},
    http::StatusCode,
    response::{IntoResponse, Redirect, Response},
};
use serde::Deserialize;

use crate::{
    app::AppState,
    auth::session::RequestOrigin,
    db, domain,
    error::{AppError, AppResult},
    web::{
        account::audit_event,
        forms::FormErrors,
        layout::{Layout, OfficePage},
    },
};

#[derive(Template, WebTemplate)]
#[template(path = "pages/office/territories.html")]
pub struct TerritoriesPage {
    pub layout: Layout,
    pub territories: Vec<db::territories::TerritoryRow>,
}

pub async fn list_territories(
    State(state): State<AppState>,
    page: OfficePage,
) -> AppResult<TerritoriesPage> {
    Ok(TerritoriesPage {
        layout: page.layout,
        territories: db::territories::list(&state.db).await?,
    })
}

#[derive(Template, WebTemplate)]
#[template(path = "pages/office/territory_form.html")]
pub struct TerritoryPage {
    pub layout: Layout,
    pub id: u32,
    pub code: String,
    pub name: String,
    pub is_active: bool,
    pub timezone: String,
    pub insee_codes: String,
    /// Receives the public contact form's messages (docs/terms.md §4).
    pub contact_email: String,
    pub errors: FormErrors,
}

pub async fn show_territory(
    State(state): State<AppState>,
    page: OfficePage,
    Path(id): Path<u32>,
) -> AppResult<TerritoryPage> {
    let t = db::territories::find(&state.db, id)
        .await?
        .ok_or(AppError::NotFound)?;
    Ok(TerritoryPage {
        layout: page.layout,
        id,
        code: t.code,
        name: t.name,
        is_active: t.is_active,
        timezone: t.timezone,
        insee_codes: t
            .authorized_insee_codes
            .map(|c| c.0.join(", "))
            .unwrap_or_default(),
        contact_email: db::territories::contact_of(&state.db, id)
            .await?
            .and_then(|c| c.contact_email)
            .unwrap_or_default(),
        errors: FormErrors::default(),
    })
}

#[derive(Deserialize)]
pub struct TerritoryForm {
    is_active: Option<String>,
    #[serde(default)]
    timezone: String,
    #[serde(default)]
    insee_codes: String,
    #[serde(default)]
    contact_email: String,
}

/// The time zones of French territories.
const TIMEZONES: [&str; 9] = [
    "Europe/Paris",
    "America/Guadeloupe",
    "America/Martinique",
    "America/Cayenne",
    "Indian/Reunion",
    "Indian/Mayotte",
    "America/Miquelon",
    "Pacific/Noumea",
    "Pacific/Tahiti",
];

pub async fn update_territory(
    State(state): State<AppState>,
    origin: RequestOrigin,
    page: OfficePage,
    Path(id): Path<u32>,
    Form(form): Form<TerritoryForm>,
) -> AppResult<Response> {
    let t = db::territories::find(&state.db, id)
        .await?
        .ok_or(AppError::NotFound)?;
    let mut errors = FormErrors::default();
    if !TIMEZONES.contains(&form.timezone.as_str()) {
        errors.add("timezone", "Choisissez un fuseau horaire de la liste.");
    }
    let mut codes: Vec<String> = form
        .insee_codes
        .split(|c: char| c == ',' || c == ';' || c.is_whitespace())
        .map(|c| c.trim().to_uppercase())
        .filter(|c| !c.is_empty())
        .collect();
    codes.sort();
    codes.dedup();
    if let Some(bad) = codes
        .iter()
        .find(|c| crate::domain::contact::InseeCode::parse(c).is_err())
    {
        errors.add(
            "insee_codes",
            format!("« {bad} » n’est pas un code INSEE (5 caractères, par exemple 69123)."),
        );
    } else {
        let unknown = db::territories::unknown_insee_codes(&state.db, id, &codes).await?;
        if !unknown.is_empty() {
            errors.add(
                "insee_codes",
                format!(
                    "Code INSEE inconnu dans ce territoire : {}.",
                    unknown.join(", ")
                ),
            );
        }
    }
    let contact_email = match form.contact_email.trim() {
        "" => None,
        typed => match crate::domain::contact::Email::parse(typed) {
            Ok(email) => Some(email.into_inner()),
            Err(invalid) => {
                errors.add("contact_email", invalid.message());
                None
            }
        },
    };
    let is_active = form.is_active.is_some();
    if !errors.is_empty() {
        let view = TerritoryPage {
            layout: page.layout,
            id,
            code: t.code,
            name: t.name,
            is_active,
            timezone: form.timezone,
            insee_codes: form.insee_codes,
            contact_email: form.contact_email,
            errors,
        };
        return Ok((StatusCode::UNPROCESSABLE_ENTITY, view).into_response());
    }
    let mut tx = state.db.begin().await?;
    db::territories::update(&mut tx, id, is_active, &form.timezone, &codes).await?;
    let before_contact = db::territories::contact_of(&state.db, id)
        .await?
        .and_then(|c| c.contact_email)
        .unwrap_or_default();
    db::territories::set_contact_email(&mut tx, id, contact_email.as_deref()).await?;
    let before_codes = t
        .authorized_insee_codes
        .map(|c| c.0.join(","))
        .unwrap_or_default();
    let diff = domain::audit::diff(&[
        ("is_active", t.is_active.to_string(), is_active.to_string()),
        ("timezone", t.timezone.clone(), form.timezone.clone()),
        ("authorized_insee_codes", before_codes, codes.join(",")),
        (
            "contact_email",
            before_contact,
            contact_email.clone().unwrap_or_default(),
        ),
    ]);
    if diff.is_some() {
        db::audit::record(
            &mut tx,
            &audit_event(
                Some(&page.user),
                &origin,
                "update",
                "territory",
                Some(id.to_string()),
                diff,
            ),
        )
        .await?;
    }
    tx.commit().await?;
    Ok(Redirect::to("/bo/territoires?ok=territoire-modifie").into_response())
}
