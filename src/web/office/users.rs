//! Administration of back-office users: list and search, creation with an
//! activation e-mail, role and memberships, deactivation.
//!
//! Who may manage whom is decided by `domain::permissions`; every write is
//! recorded in the audit log with a field-level diff.

use askama::Template;
use askama_web::WebTemplate;
use axum::{
    Form,
    extract::{Path, Query, State},
    http::StatusCode,
    response::{IntoResponse, Redirect, Response},
};
use serde::Deserialize;

use crate::{
    app::AppState,
    auth::session::{CurrentUser, RequestOrigin},
    db::{self, users::UserScope},
    domain::{
        self,
        permissions::{self, Actor, Membership, UserFacts},
        roles::Role,
    },
    error::{AppError, AppResult},
    web::{
        account::{TokenKind, audit_event, queue_token},
        forms::{FormErrors, Pagination, non_empty},
        layout::{Layout, OfficePage},
    },
};

const PER_PAGE: u32 = 25;

/// The users a list shows for this actor.
fn scope(actor: &Actor) -> UserScope {
    match actor.role {
        Role::SuperAdmin => UserScope {
            kind: "all",
            ids: String::new(),
        },
        Role::TerritoryAdmin => UserScope {
            kind: "territories",
            ids: db::id_list(&actor.territory_ids()),
        },
        _ => UserScope {
            kind: "partners",
            ids: db::id_list(&actor.partner_ids()),
        },
    }
}

/// The partners this actor may put users in: (id, label, territory id).
async fn partner_options(state: &AppState, actor: &Actor) -> AppResult<Vec<(u64, String, u32)>> {
    let options = match actor.role {
        Role::SuperAdmin => db::partners::options(&state.db, None).await?,
        Role::TerritoryAdmin => {
            db::partners::options(&state.db, Some(&actor.territory_ids())).await?
        }
        _ => db::partners::options(&state.db, Some(&actor.territory_ids()))
            .await?
            .into_iter()
            .filter(|(id, _, _)| actor.is_member_of(*id))
            .collect(),
    };
    Ok(options)
}

pub struct UserListItem {
    pub id: u64,
    pub name: String,
    pub email: String,
    pub role_label: &'static str,
    pub status_label: &'static str,
    pub partners: String,
    pub last_login: String,
}

fn status_label(status: &str) -> &'static str {
    match status {
        "active" => "Actif",
        "inactive" => "En attente d’activation",
        "archived" => "Désactivé",
        _ => "Inconnu",
    }
}

fn format_datetime(dt: Option<time::PrimitiveDateTime>) -> String {
    dt.map_or_else(
        || "Jamais".to_owned(),
        |d| {
            format!(
                "{:02}/{:02}/{} {:02}:{:02}",
                d.day(),
                u8::from(d.month()),
                d.year(),
                d.hour(),
                d.minute()
            )
        },
    )
}

#[derive(Template, WebTemplate)]
#[template(path = "pages/office/users.html")]
pub struct UsersPage {
    pub layout: Layout,
    pub users: Vec<UserListItem>,
    pub q: String,
    pub selected_partner: u64,
    pub partners: Vec<(u64, String, u32)>,
    pub pagination: Pagination,
    pub query_base: String,
}

#[derive(Deserialize)]
pub struct UsersQuery {
    q: Option<String>,
    partenaire: Option<String>,
    page: Option<u32>,
}

pub async fn list_users(
    State(state): State<AppState>,
    page: OfficePage,
    Query(query): Query<UsersQuery>,
) -> AppResult<UsersPage> {
    let q = query.q.unwrap_or_default();
    let partner_id = query
        .partenaire
        .as_deref()
        .and_then(|p| p.parse::<u64>().ok());
    let (rows, total) = db::users::list(
        &state.db,
        &scope(&page.user.actor),
        &q,
        partner_id,
        PER_PAGE,
        Pagination::offset(query.page, PER_PAGE),
    )
    .await?;
    let ids: Vec<u64> = rows.iter().map(|r| r.id).collect();
    let memberships = db::users::memberships_of(&state.db, &ids).await?;
    let users = rows
        .into_iter()
        .map(|r| UserListItem {
            id: r.id,
            name: format!("{} {}", r.first_name, r.last_name)
                .trim()
                .to_owned(),
            email: r.email,
            role_label: Role::parse(&r.role).map_or("?", Role::label),
            status_label: status_label(&r.status),
            partners: memberships
                .iter()
                .filter(|(uid, _)| *uid == r.id)
                .map(|(_, m)| format!("{} ({})", m.partner_name, m.territory_code))
                .collect::<Vec<_>>()
                .join(", "),
            last_login: format_datetime(r.last_login_at),
        })
        .collect();
    let partners = partner_options(&state, &page.user.actor).await?;
    let query_base = format!(
        "q={}&partenaire={}",
        crate::web::forms::url_encode(&q),
        partner_id.map(|p| p.to_string()).unwrap_or_default()
    );
    Ok(UsersPage {
        layout: page.layout,
        users,
        q,
        selected_partner: partner_id.unwrap_or(0),
        partners,
        pagination: Pagination::new(query.page, PER_PAGE, total),
        query_base,
    })
}

/// What the user form shows and sends back.
#[derive(Debug, Default, Deserialize)]
pub struct UserForm {
    #[serde(default)]
    pub email: String,
    #[serde(default)]
    pub first_name: String,
    #[serde(default)]
    pub last_name: String,
    #[serde(default)]
    pub job_title: String,
    #[serde(default)]
    pub role: String,
    #[serde(default)]
    pub partner_id: String,
    /// On the edit page: `update` (default), `add_membership`, `remove_membership`.
    #[serde(default)]
    pub action: String,
}

pub struct MembershipView {
    pub partner_id: u64,
    pub label: String,
}

#[derive(Template, WebTemplate)]
#[template(path = "pages/office/user_form.html")]
pub struct UserFormPage {
    pub layout: Layout,
    pub user_id: Option<u64>,
    pub form: UserForm,
    pub errors: FormErrors,
    pub roles: Vec<(&'static str, &'static str)>,
    pub partners: Vec<(u64, String, u32)>,
    pub memberships: Vec<MembershipView>,
    pub status: String,
    pub status_label: &'static str,
    pub last_login: String,
}

fn role_options(actor: &Actor) -> Vec<(&'static str, &'static str)> {
    permissions::grantable_roles(actor)
        .into_iter()
        .map(|r| (r.code(), r.label()))
        .collect()
}

pub async fn show_new_user(
    State(state): State<AppState>,
    page: OfficePage,
) -> AppResult<UserFormPage> {
    let partners = partner_options(&state, &page.user.actor).await?;
    Ok(UserFormPage {
        roles: role_options(&page.user.actor),
        form: UserForm {
            role: "agent".into(),
            ..UserForm::default()
        },
        layout: page.layout,
        user_id: None,
        errors: FormErrors::default(),
        partners,
        memberships: Vec::new(),
        status: String::new(),
        status_label: "",
        last_login: String::new(),
    })
}

/// Checks the identity part of the form; returns the parsed role.
fn check_identity(form: &UserForm, actor: &Actor, errors: &mut FormErrors) -> Option<Role> {
    if form.first_name.trim().is_empty() || form.first_name.trim().chars().count() > 100 {
        errors.add("first_name", "Indiquez le prénom (100 caractères au plus).");
    }
    if form.last_name.trim().is_empty() || form.last_name.trim().chars().count() > 100 {
        errors.add("last_name", "Indiquez le nom (100 caractères au plus).");
    }
    if form.job_title.trim().chars().count() > 100 {
        errors.add(
            "job_title",
            "La fonction ne doit pas dépasser 100 caractères.",
        );
    }
    match Role::parse(&form.role) {
        Some(role) if permissions::can_grant_role(actor, role) => Some(role),
        Some(_) => {
            errors.add(
                "role",
                "Vous ne pouvez pas attribuer un rôle supérieur au vôtre.",
            );
            None
        }
        None => {
            errors.add("role", "Choisissez un rôle.");
            None
        }
    }
}

/// Parses the chosen partner and checks the actor may put users in it.
fn check_partner(
    raw: &str,
    options: &[(u64, String, u32)],
    required: bool,
    errors: &mut FormErrors,
) -> Option<(u64, u32)> {
    if raw.trim().is_empty() {
        if required {
            errors.add("partner_id", "Choisissez le partenaire de l’utilisateur.");
        }
        return None;
    }
    match raw
        .trim()
        .parse::<u64>()
        .ok()
        .and_then(|id| options.iter().find(|(p, _, _)| *p == id))
    {
        Some((id, _, territory)) => Some((*id, *territory)),
        None => {
            errors.add(
                "partner_id",
                "Ce partenaire n’existe pas ou n’est pas dans votre périmètre.",
            );
            None
        }
    }
}

pub async fn create_user(
    State(state): State<AppState>,
    origin: RequestOrigin,
    page: OfficePage,
    Form(form): Form<UserForm>,
) -> AppResult<Response> {
    let actor = page.user.actor.clone();
    let options = partner_options(&state, &actor).await?;
    let mut errors = FormErrors::default();
    let email = form.email.trim().to_lowercase();
    if crate::domain::contact::Email::parse(&email).is_err() {
        errors.add(
            "email",
            "Saisissez une adresse électronique valide, par exemple nom@domaine.fr.",
        );
    }
    let role = check_identity(&form, &actor, &mut errors);
    let partner = check_partner(
        &form.partner_id,
        &options,
        role != Some(Role::SuperAdmin),
        &mut errors,
    );
    let mut tx = state.db.begin().await?;
    if errors.get("email").is_none() && db::users::email_exists(&mut tx, &email, None).await? {
        errors.add(
            "email",
            "Un compte existe déjà avec cette adresse électronique.",
        );
    }
    if let (Some(role), Some((partner_id, territory_id))) = (role, partner) {
        let target = UserFacts {
            user_id: 0,
            role,
            memberships: vec![Membership {
                partner_id,
                territory_id,
            }],
        };
        if !permissions::can_manage_user(&actor, &target) {
            errors.add(
                "partner_id",
                "Vous ne pouvez pas créer de compte pour ce partenaire.",
            );
        }
    }
    let (Some(role), true) = (role, errors.is_empty()) else {
        drop(tx);
        let view = UserFormPage {
            roles: role_options(&actor),
            layout: page.layout,
            user_id: None,
            form,
            errors,
            partners: options,
            memberships: Vec::new(),
            status: String::new(),
            status_label: "",
            last_login: String::new(),
        };
        return Ok((StatusCode::UNPROCESSABLE_ENTITY, view).into_response());
    };
    let first_name = form.first_name.trim();
    let last_name = form.last_name.trim();
    let job_title = non_empty(&form.job_title);
    let user_id = db::users::insert(
        &mut tx,
        &db::users::NewUser {
            email: &email,
            first_name,
            last_name,
            job_title: job_title.as_deref(),
            role: role.code(),
        },
    )
    .await?;
    if let Some((partner_id, territory_id)) = partner {
        db::users::add_membership(&mut tx, user_id, partner_id, territory_id).await?;
    }
    queue_token(
        &mut tx,
        &state.config.base_url,
        user_id,
        &email,
        TokenKind::Activation,
        first_name,
    )
    .await?;
    db::audit::record(
        &mut tx,
        &db::audit::NewEvent {
            actor_user_id: Some(page.user.id),
            actor_email: Some(&page.user.email),
            action: "create",
            entity_type: "user",
            entity_id: Some(user_id.to_string()),
            report_id: None,
            ip: origin.ip,
            user_agent: origin.user_agent.as_deref(),
            diff: Some(domain::audit::created(&[
                ("email", email.clone()),
                ("first_name", first_name.to_owned()),
                ("last_name", last_name.to_owned()),
                ("role", role.code().to_owned()),
                (
                    "partner_id",
                    partner.map(|p| p.0.to_string()).unwrap_or_default(),
                ),
            ])),
        },
    )
    .await?;
    tx.commit().await?;
    Ok(Redirect::to("/bo/utilisateurs?ok=utilisateur-cree").into_response())
}

/// Loads a user and checks the actor may manage them (404 when unknown,
/// 403 when outside the actor's scope).
async fn load_managed(
    state: &AppState,
    actor: &CurrentUser,
    id: u64,
) -> AppResult<(db::users::UserRow, UserFacts, Vec<db::users::MembershipRow>)> {
    let user = db::users::find(&state.db, id)
        .await?
        .ok_or(AppError::NotFound)?;
    let memberships = db::users::memberships(&state.db, id).await?;
    let facts = UserFacts {
        user_id: id,
        role: Role::parse(&user.role)
            .ok_or_else(|| AppError::Unexpected(anyhow::anyhow!("unknown role {}", user.role)))?,
        memberships: memberships
            .iter()
            .map(|m| Membership {
                partner_id: m.partner_id,
                territory_id: m.territory_id,
            })
            .collect(),
    };
    if !permissions::can_manage_user(&actor.actor, &facts) {
        return Err(AppError::Forbidden);
    }
    Ok((user, facts, memberships))
}

async fn edit_page(
    state: &AppState,
    page: OfficePage,
    user: &db::users::UserRow,
    memberships: &[db::users::MembershipRow],
    form: UserForm,
    errors: FormErrors,
) -> AppResult<UserFormPage> {
    Ok(UserFormPage {
        roles: role_options(&page.user.actor),
        partners: partner_options(state, &page.user.actor).await?,
        layout: page.layout,
        user_id: Some(user.id),
        form,
        errors,
        memberships: memberships
            .iter()
            .map(|m| MembershipView {
                partner_id: m.partner_id,
                label: format!("{} – {}", m.territory_code, m.partner_name),
            })
            .collect(),
        status: user.status.clone(),
        status_label: status_label(&user.status),
        last_login: format_datetime(user.last_login_at),
    })
}

pub async fn show_user(
    State(state): State<AppState>,
    page: OfficePage,
    Path(id): Path<u64>,
) -> AppResult<UserFormPage> {
    let (user, _, memberships) = load_managed(&state, &page.user, id).await?;
    let form = UserForm {
        email: user.email.clone(),
        first_name: user.first_name.clone(),
        last_name: user.last_name.clone(),
        job_title: user.job_title.clone().unwrap_or_default(),
        role: user.role.clone(),
        partner_id: String::new(),
        action: String::new(),
    };
    edit_page(
        &state,
        page,
        &user,
        &memberships,
        form,
        FormErrors::default(),
    )
    .await
}

pub async fn update_user(
    State(state): State<AppState>,
    origin: RequestOrigin,
    page: OfficePage,
    Path(id): Path<u64>,
    Form(mut form): Form<UserForm>,
) -> AppResult<Response> {
    let (user, facts, memberships) = load_managed(&state, &page.user, id).await?;
    let actor = page.user.actor.clone();
    let mut errors = FormErrors::default();
    form.email = user.email.clone();
    match form.action.as_str() {
        "add_membership" | "remove_membership" => {
            let options = partner_options(&state, &actor).await?;
            if let Some((partner_id, territory_id)) =
                check_partner(&form.partner_id, &options, true, &mut errors)
            {
                let adding = form.action == "add_membership";
                if adding && memberships.iter().any(|m| m.territory_id == territory_id) {
                    errors.add(
                        "partner_id",
                        "L’utilisateur appartient déjà à un partenaire de ce territoire.",
                    );
                }
                if !adding && !memberships.iter().any(|m| m.partner_id == partner_id) {
                    errors.add(
                        "partner_id",
                        "L’utilisateur n’appartient pas à ce partenaire.",
                    );
                }
                if !adding && memberships.len() == 1 && facts.role != Role::SuperAdmin {
                    errors.add(
                        "partner_id",
                        "Un utilisateur doit appartenir à au moins un partenaire.",
                    );
                }
                if errors.is_empty() {
                    let mut tx = state.db.begin().await?;
                    if adding {
                        db::users::add_membership(&mut tx, id, partner_id, territory_id).await?;
                    } else {
                        db::users::remove_membership(&mut tx, id, partner_id).await?;
                    }
                    let (before, after) = if adding {
                        (String::new(), partner_id.to_string())
                    } else {
                        (partner_id.to_string(), String::new())
                    };
                    db::audit::record(
                        &mut tx,
                        &db::audit::NewEvent {
                            actor_user_id: Some(page.user.id),
                            actor_email: Some(&page.user.email),
                            action: "update",
                            entity_type: "user",
                            entity_id: Some(id.to_string()),
                            report_id: None,
                            ip: origin.ip,
                            user_agent: origin.user_agent.as_deref(),
                            diff: domain::audit::diff(&[("partner_membership", before, after)]),
                        },
                    )
                    .await?;
                    tx.commit().await?;
                    return Ok(Redirect::to(&format!(
                        "/bo/utilisateurs/{id}?ok=utilisateur-modifie"
                    ))
                    .into_response());
                }
            }
        }
        _ => {
            let role = check_identity(&form, &actor, &mut errors);
            if let Some(role) = role {
                let target = UserFacts {
                    role,
                    ..facts.clone()
                };
                if !permissions::can_manage_user(&actor, &target) {
                    errors.add(
                        "role",
                        "Vous ne pouvez pas attribuer ce rôle à cet utilisateur.",
                    );
                }
            }
            if let (Some(role), true) = (role, errors.is_empty()) {
                let job_title = non_empty(&form.job_title);
                let mut tx = state.db.begin().await?;
                db::users::update_identity(
                    &mut tx,
                    id,
                    form.first_name.trim(),
                    form.last_name.trim(),
                    job_title.as_deref(),
                    role.code(),
                )
                .await?;
                let diff = domain::audit::diff(&[
                    (
                        "first_name",
                        user.first_name.clone(),
                        form.first_name.trim().to_owned(),
                    ),
                    (
                        "last_name",
                        user.last_name.clone(),
                        form.last_name.trim().to_owned(),
                    ),
                    (
                        "job_title",
                        user.job_title.clone().unwrap_or_default(),
                        job_title.unwrap_or_default(),
                    ),
                    ("role", user.role.clone(), role.code().to_owned()),
                ]);
                if diff.is_some() {
                    db::audit::record(
                        &mut tx,
                        &db::audit::NewEvent {
                            actor_user_id: Some(page.user.id),
                            actor_email: Some(&page.user.email),
                            action: "update",
                            entity_type: "user",
                            entity_id: Some(id.to_string()),
                            report_id: None,
                            ip: origin.ip,
                            user_agent: origin.user_agent.as_deref(),
                            diff,
                        },
                    )
                    .await?;
                }
                tx.commit().await?;
                return Ok(
                    Redirect::to(&format!("/bo/utilisateurs/{id}?ok=utilisateur-modifie"))
                        .into_response(),
                );
            }
        }
    }
    let view = edit_page(&state, page, &user, &memberships, form, errors).await?;
    Ok((StatusCode::UNPROCESSABLE_ENTITY, view).into_response())
}

async fn set_status(
    state: &AppState,
    origin: &RequestOrigin,
    page: &OfficePage,
    id: u64,
    new_status: &str,
) -> AppResult<()> {
    let (user, _, _) = load_managed(state, &page.user, id).await?;
    let mut tx = state.db.begin().await?;
    db::users::set_status(&mut tx, id, new_status).await?;
    db::audit::record(
        &mut tx,
        &db::audit::NewEvent {
            actor_user_id: Some(page.user.id),
            actor_email: Some(&page.user.email),
            action: "update",
            entity_type: "user",
            entity_id: Some(id.to_string()),
            report_id: None,
            ip: origin.ip,
            user_agent: origin.user_agent.as_deref(),
            diff: domain::audit::diff(&[("status", user.status.clone(), new_status.to_owned())]),
        },
    )
    .await?;
    tx.commit().await?;
    Ok(())
}

pub async fn deactivate_user(
    State(state): State<AppState>,
    origin: RequestOrigin,
    page: OfficePage,
    Path(id): Path<u64>,
) -> AppResult<Redirect> {
    set_status(&state, &origin, &page, id, "archived").await?;
    Ok(Redirect::to(&format!(
        "/bo/utilisateurs/{id}?ok=utilisateur-desactive"
    )))
}

pub async fn reactivate_user(
    State(state): State<AppState>,
    origin: RequestOrigin,
    page: OfficePage,
    Path(id): Path<u64>,
) -> AppResult<Redirect> {
    let has_password = db::users::find_for_login(
        &state.db,
        &db::users::find(&state.db, id)
            .await?
            .ok_or(AppError::NotFound)?
            .email,
    )
    .await?
    .is_some_and(|a| a.password_hash.is_some());
    set_status(
        &state,
        &origin,
        &page,
        id,
        if has_password { "active" } else { "inactive" },
    )
    .await?;
    Ok(Redirect::to(&format!(
        "/bo/utilisateurs/{id}?ok=utilisateur-reactive"
    )))
}

pub async fn resend_activation(
    State(state): State<AppState>,
    origin: RequestOrigin,
    page: OfficePage,
    Path(id): Path<u64>,
) -> AppResult<Response> {
    let (user, _, _) = load_managed(&state, &page.user, id).await?;
    if user.status != "inactive" {
        return Err(AppError::BadRequest(
            "Ce compte est déjà activé : l’utilisateur peut utiliser « Mot de passe oublié »."
                .into(),
        ));
    }
    let mut tx = state.db.begin().await?;
    queue_token(
        &mut tx,
        &state.config.base_url,
        id,
        &user.email,
        TokenKind::Activation,
        &user.first_name,
    )
    .await?;
    db::audit::record(
        &mut tx,
        &audit_event(
            Some(&page.user),
            &origin,
            "resend_activation",
            "user",
            Some(id.to_string()),
            None,
        ),
    )
    .await?;
    tx.commit().await?;
    Ok(Redirect::to(&format!("/bo/utilisateurs/{id}?ok=activation-renvoyee")).into_response())
}
