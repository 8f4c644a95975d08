//! The signed-in user's profile: name, notification preference, password.

use askama::Template;
use askama_web::WebTemplate;
use axum::{
    Form,
    extract::State,
    http::StatusCode,
    response::{IntoResponse, Redirect, Response},
};
use serde::Deserialize;
use tower_sessions::Session;

use crate::{
    app::AppState,
    auth::{
        session::{self, RequestOrigin},
        throttle, tokens,
    },
    db, domain,
    error::AppResult,
    web::{
        account::{HASHING_BUSY, audit_event, throttled_message},
        forms::FormErrors,
        layout::{Layout, OfficePage},
    },
};

pub const NOTIFICATION_PREFS: [(&str, &str); 3] = [
    ("instant", "Un courriel à chaque nouvelle notification"),
    ("digest", "Un récapitulatif quotidien"),
    (
        "none",
        "Aucun courriel (notifications dans l’application seulement)",
    ),
];

#[derive(Template, WebTemplate)]
#[template(path = "pages/office/profile.html")]
pub struct ProfilePage {
    pub layout: Layout,
    pub email: String,
    pub role_label: &'static str,
    pub first_name: String,
    pub last_name: String,
    pub notification_pref: String,
    pub prefs: [(&'static str, &'static str); 3],
    pub errors: FormErrors,
    pub password_errors: FormErrors,
}

fn profile_page(page: OfficePage) -> ProfilePage {
    ProfilePage {
        email: page.user.email.clone(),
        role_label: page.user.role.label(),
        first_name: page.user.first_name.clone(),
        last_name: page.user.last_name.clone(),
        notification_pref: page.user.notification_pref.clone(),
        prefs: NOTIFICATION_PREFS,
        errors: FormErrors::default(),
        password_errors: FormErrors::default(),
        layout: page.layout,
    }
}

pub async fn show_profile(page: OfficePage) -> ProfilePage {
    profile_page(page)
}

#[derive(Deserialize)]
pub struct ProfileForm {
    #[serde(default)]
    first_name: String,
    #[serde(default)]
    last_name: String,
    #[serde(default)]
    notification_pref: String,
}

pub async fn update_profile(
    State(state): State<AppState>,
    origin: RequestOrigin,
    page: OfficePage,
    Form(form): Form<ProfileForm>,
) -> AppResult<Response> {
    let mut errors = FormErrors::default();
    let first_name = form.first_name.trim().to_owned();
    let last_name = form.last_name.trim().to_owned();
    if first_name.is_empty() || first_name.chars().count() > 100 {
        errors.add(
            "first_name",
            "Indiquez votre prénom (100 caractères au plus).",
        );
    }
    if last_name.is_empty() || last_name.chars().count() > 100 {
        errors.add("last_name", "Indiquez votre nom (100 caractères au plus).");
    }
    if !NOTIFICATION_PREFS
        .iter()
        .any(|(code, _)| *code == form.notification_pref)
    {
        errors.add("notification_pref", "Choisissez une des options proposées.");
    }
    let user = page.user.clone();
    if !errors.is_empty() {
        let mut view = profile_page(page);
        view.first_name = first_name;
        view.last_name = last_name;
        view.notification_pref = form.notification_pref;
        view.errors = errors;
        return Ok((StatusCode::UNPROCESSABLE_ENTITY, view).into_response());
    }
    let mut tx = state.db.begin().await?;
    db::users::update_profile(
        &mut tx,
        user.id,
        &first_name,
        &last_name,
        &form.notification_pref,
    )
    .await?;
    let diff = domain::audit::diff(&[
        ("first_name", user.first_name.clone(), first_name),
        ("last_name", user.last_name.clone(), last_name),
        (
            "notification_pref",
            user.notification_pref.clone(),
            form.notification_pref,
        ),
    ]);
    if diff.is_some() {
        db::audit::record(
            &mut tx,
            &audit_event(
                Some(&user),
                &origin,
                "update",
                "user",
                Some(user.id.to_string()),
                diff,
            ),
        )
        .await?;
    }
    tx.commit().await?;
    Ok(Redirect::to("/bo/profil?ok=profil").into_response())
}

#[derive(Deserialize)]
pub struct PasswordForm {
    #[serde(default)]
    current: String,
    #[serde(default)]
    password: String,
    #[serde(default)]
    confirmation: String,
}

/// Changes the password. The current password is verified under the same
/// throttle as the login form (its own counters, keyed by the account), so
/// that a stolen session cannot be used to guess it; the change ends every
/// other session of the user and keeps this one, under a new id.
pub async fn change_password(
    State(state): State<AppState>,
    origin: RequestOrigin,
    session: Session,
    page: OfficePage,
    Form(form): Form<PasswordForm>,
) -> AppResult<Response> {
    let user = page.user.clone();
    let refuse = |page: OfficePage, status: StatusCode, field: &'static str, message: String| {
        let mut view = profile_page(page);
        view.password_errors.add(field, message);
        (status, view).into_response()
    };
    let keys = throttle::Keys::new(
        &state.config.redis_prefix,
        "password-change",
        &tokens::keyed_digest(state.config.secret_key.expose(), &user.id.to_string()),
        &origin.rate_key(),
    );
    if let throttle::Decision::Wait(wait) = throttle::begin_attempt(&state.redis, &keys).await? {
        return Ok(refuse(
            page,
            StatusCode::TOO_MANY_REQUESTS,
            "current",
            throttled_message("de mot de passe", wait),
        ));
    }
    let mut errors = FormErrors::default();
    let stored = db::users::find_for_login(&state.db, &user.email)
        .await?
        .and_then(|a| a.password_hash);
    let Ok(current_matches) = state.hasher.verify(form.current, stored).await else {
        return Ok(refuse(
            page,
            StatusCode::TOO_MANY_REQUESTS,
            "current",
            HASHING_BUSY.to_owned(),
        ));
    };
    if !current_matches {
        errors.add("current", "Le mot de passe actuel est incorrect.");
    } else if let Err(message) = domain::password::check(&form.password, &user.email) {
        errors.add("password", message);
    } else if form.password != form.confirmation {
        errors.add(
            "confirmation",
            "Les deux mots de passe ne sont pas identiques.",
        );
    }
    if !errors.is_empty() {
        let mut view = profile_page(page);
        view.password_errors = errors;
        return Ok((StatusCode::UNPROCESSABLE_ENTITY, view).into_response());
    }
    throttle::record_success(&state.redis, &keys).await?;
    let Ok(hash) = state.hasher.hash(form.password).await else {
        return Ok(refuse(
            page,
            StatusCode::TOO_MANY_REQUESTS,
            "password",
            HASHING_BUSY.to_owned(),
        ));
    };
    let mut tx = state.db.begin().await?;
    let generation = db::users::set_password(&mut tx, user.id, &hash?).await?;
    db::audit::record(
        &mut tx,
        &audit_event(
            Some(&user),
            &origin,
            "password_change",
            "user",
            Some(user.id.to_string()),
            None,
        ),
    )
    .await?;
    tx.commit().await?;
    session::renew(&session, generation).await?;
    Ok(Redirect::to("/bo/profil?ok=mot-de-passe").into_response())
}
