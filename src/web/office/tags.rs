//! Territory tags (étiquettes) that classify reports.

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
    db,
    domain::{self, permissions, roles::Role},
    error::{AppError, AppResult},
    web::{
        account::audit_event,
        forms::FormErrors,
        layout::{Layout, OfficePage},
    },
};

#[derive(Template, WebTemplate)]
#[template(path = "pages/office/tags.html")]
pub struct TagsPage {
    pub layout: Layout,
    pub tags: Vec<db::tags::TagRow>,
    pub territories: Vec<(u32, String)>,
    pub label: String,
    pub territory_id: String,
    pub errors: FormErrors,
}

async fn page_of(
    state: &AppState,
    page: OfficePage,
    label: String,
    territory_id: String,
    errors: FormErrors,
) -> AppResult<TagsPage> {
    let scope = (page.user.role != Role::SuperAdmin).then(|| page.user.actor.territory_ids());
    let tags = db::tags::list(&state.db, scope.as_deref()).await?;
    let territories = super::filter_options::territory_options(state, scope.as_deref()).await?;
    Ok(TagsPage {
        layout: page.layout,
        tags,
        territories,
        label,
        territory_id,
        errors,
    })
}

pub async fn list_tags(State(state): State<AppState>, page: OfficePage) -> AppResult<TagsPage> {
    let territory_id = page
        .user
        .actor
        .territory_ids()
        .first()
        .map(ToString::to_string)
        .unwrap_or_default();
    page_of(
        &state,
        page,
        String::new(),
        territory_id,
        FormErrors::default(),
    )
    .await
}

#[derive(Deserialize)]
pub struct TagForm {
    #[serde(default)]
    label: String,
    #[serde(default)]
    territory_id: String,
}

pub async fn create_tag(
    State(state): State<AppState>,
    origin: RequestOrigin,
    page: OfficePage,
    Form(form): Form<TagForm>,
) -> AppResult<Response> {
    let label = form.label.trim().to_owned();
    let mut errors = FormErrors::default();
    let territory_id = form.territory_id.trim().parse::<u32>().unwrap_or(0);
    // Only a territory the select offers: a forged id (or one of a
    // territory that does not exist, which a super admin's rights would
    // otherwise let through to the foreign key) is refused on the field.
    let scope = (page.user.role != Role::SuperAdmin).then(|| page.user.actor.territory_ids());
    let offered = super::filter_options::territory_options(&state, scope.as_deref()).await?;
    if !permissions::can_manage_tags(&page.user.actor, territory_id)
        || !offered.iter().any(|(id, _)| *id == territory_id)
    {
        errors.add(
            "territory_id",
            "Choisissez un territoire de votre périmètre.",
        );
    }
    if label.is_empty() || label.chars().count() > 80 {
        errors.add(
            "label",
            "Indiquez le libellé de l’étiquette (80 caractères au plus).",
        );
    }
    let mut tx = state.db.begin().await?;
    if errors.is_empty() && db::tags::exists(&mut tx, territory_id, &label).await? {
        errors.add("label", "Cette étiquette existe déjà sur ce territoire.");
    }
    if !errors.is_empty() {
        drop(tx);
        let view = page_of(&state, page, label, form.territory_id, errors).await?;
        return Ok((StatusCode::UNPROCESSABLE_ENTITY, view).into_response());
    }
    let id = db::tags::insert(&mut tx, territory_id, &label).await?;
    db::audit::record(
        &mut tx,
        &audit_event(
            Some(&page.user),
            &origin,
            "create",
            "tag",
            Some(id.to_string()),
            Some(domain::audit::created(&[
                ("label", label),
                ("territory_id", territory_id.to_string()),
            ])),
        ),
    )
    .await?;
    tx.commit().await?;
    Ok(Redirect::to("/bo/etiquettes?ok=etiquette-creee").into_response())
}

pub async fn delete_tag(
    State(state): State<AppState>,
    origin: RequestOrigin,
    page: OfficePage,
    Path(id): Path<u64>,
) -> AppResult<Redirect> {
    let territory_id = db::tags::find_territory(&state.db, id)
        .await?
        .ok_or(AppError::NotFound)?;
    if !permissions::can_manage_tags(&page.user.actor, territory_id) {
        return Err(AppError::Forbidden);
    }
    let mut tx = state.db.begin().await?;
    db::tags::archive(&mut tx, id).await?;
    db::audit::record(
        &mut tx,
        &audit_event(
            Some(&page.user),
            &origin,
            "delete",
            "tag",
            Some(id.to_string()),
            None,
        ),
    )
    .await?;
    tx.commit().await?;
    Ok(Redirect::to("/bo/etiquettes?ok=etiquette-supprimee"))
}
