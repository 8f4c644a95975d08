//! Signing in and out, forgotten password, account activation.

use askama::Template;
use askama_web::WebTemplate;
use axum::{
    Form,
    extract::{Path, Query, State},
    http::StatusCode,
    response::{IntoResponse, Redirect, Response},
};
use serde::Deserialize;
use tower_sessions::Session;

use crate::{
    app::AppState,
    auth::{
        session::{self, CurrentUser, RequestOrigin},
        throttle, tokens,
    },
    db, domain,
    error::{AppError, AppResult},
    queue::{self, Email, Job, JobContext},
    web::{
        forms::{FormErrors, safe_next},
        layout::{Layout, PublicLayout},
    },
};

/// Activation links last a week; reset links an hour.
pub const ACTIVATION_MINUTES: i64 = 7 * 24 * 60;
pub const RESET_MINUTES: i64 = 60;
/// "Mot de passe oublié" requests per IP address per 20 minutes.
const FORGOT_LIMIT: i64 = 10;

#[derive(Template, WebTemplate)]
#[template(path = "pages/account/login.html")]
pub struct LoginPage {
    pub layout: Layout,
    pub email: String,
    pub remember: bool,
    pub next: String,
    pub error: Option<String>,
    pub notice: Option<&'static str>,
}

#[derive(Deserialize)]
pub struct LoginQuery {
    suite: Option<String>,
    ok: Option<String>,
}

pub async fn show_login(
    PublicLayout(layout): PublicLayout,
    Query(query): Query<LoginQuery>,
) -> LoginPage {
    let notice = match query.ok.as_deref() {
        Some("mot-de-passe") => {
            Some("Votre mot de passe est enregistré : vous pouvez vous connecter.")
        }
        Some("deconnecte") => Some("Vous êtes déconnecté."),
        Some("cgu-refusees") => Some(
            "Vous avez refusé les conditions d’utilisation : vous êtes déconnecté. Elles vous seront présentées à votre prochaine connexion.",
        ),
        _ => None,
    };
    LoginPage {
        layout,
        email: String::new(),
        remember: false,
        next: safe_next(query.suite.as_deref()),
        error: None,
        notice,
    }
}

#[derive(Deserialize)]
pub struct LoginForm {
    #[serde(default)]
    email: String,
    #[serde(default)]
    password: String,
    remember: Option<String>,
    suite: Option<String>,
}

const BAD_CREDENTIALS: &str = "Adresse électronique ou mot de passe incorrect.";
/// The page of a login refused because password hashing is saturated.
pub const HASHING_BUSY: &str = "Le service reçoit beaucoup de connexions en ce moment. Patientez quelques instants, puis réessayez.";
/// Longest identifier looked up: an e-mail address has at most 254
/// characters; anything longer cannot be an account.
const MAX_IDENTIFIER_CHARS: usize = 254;

/// The French message of a throttled attempt (`what`: "de connexion"…).
pub fn throttled_message(what: &str, wait_secs: i64) -> String {
    let minutes = (wait_secs + 59) / 60;
    format!(
        "Trop de tentatives {what}. Pour protéger les comptes, réessayez dans {minutes} minute{}.",
        if minutes > 1 { "s" } else { "" }
    )
}

pub async fn log_in(
    State(state): State<AppState>,
    PublicLayout(layout): PublicLayout,
    origin: RequestOrigin,
    session: Session,
    Form(form): Form<LoginForm>,
) -> AppResult<Response> {
    let email = form.email.trim().to_lowercase();
    let next = safe_next(form.suite.as_deref());
    let remember = form.remember.is_some();
    // An identifier that cannot be an e-mail address is never looked up nor
    // shown back in full (it may be a password typed in the wrong box).
    let plausible = email.chars().count() <= MAX_IDENTIFIER_CHARS
        && crate::domain::contact::Email::parse(&email).is_ok();
    let page = |status: StatusCode, error: String| {
        (
            status,
            LoginPage {
                layout: layout.clone(),
                email: if plausible {
                    email.clone()
                } else {
                    String::new()
                },
                remember,
                next: next.clone(),
                error: Some(error),
                notice: None,
            },
        )
            .into_response()
    };

    let identifier = tokens::keyed_digest(state.config.secret_key.expose(), &email);
    let keys = throttle::Keys::new(
        &state.config.redis_prefix,
        "login",
        &identifier,
        &origin.rate_key(),
    );
    if let throttle::Decision::Wait(wait) = throttle::begin_attempt(&state.redis, &keys).await? {
        return Ok(page(
            StatusCode::TOO_MANY_REQUESTS,
            throttled_message("de connexion", wait),
        ));
    }

    let account = if plausible {
        db::users::find_for_login(&state.db, &email).await?
    } else {
        None
    };
    let hash = account
        .as_ref()
        .filter(|a| a.status == "active")
        .and_then(|a| a.password_hash.clone());
    let Ok(matches) = state.hasher.verify(form.password, hash).await else {
        return Ok(page(StatusCode::TOO_MANY_REQUESTS, HASHING_BUSY.to_owned()));
    };

    let mut tx = state.db.begin().await?;
    if !matches {
        // Known accounts are logged under their id and stored address; an
        // unknown identifier only as its keyed hash (recognisable across
        // attempts, unreadable).
        let (entity_type, entity_id) = match &account {
            Some(a) => ("user", a.id.to_string()),
            None => ("login_identifier", identifier.clone()),
        };
        db::audit::record(
            &mut tx,
            &db::audit::NewEvent {
                actor_user_id: account.as_ref().map(|a| a.id),
                actor_email: account.as_ref().map(|a| a.email.as_str()),
                action: "login_failed",
                entity_type,
                entity_id: Some(entity_id),
                report_id: None,
                ip: origin.ip,
                user_agent: origin.user_agent.as_deref(),
                diff: None,
            },
        )
        .await?;
        tx.commit().await?;
        return Ok(page(StatusCode::UNAUTHORIZED, BAD_CREDENTIALS.to_owned()));
    }
    let account =
        account.ok_or_else(|| AppError::Unexpected(anyhow::anyhow!("matched without account")))?;
    db::audit::record(
        &mut tx,
        &db::audit::NewEvent {
            actor_user_id: Some(account.id),
            actor_email: Some(&account.email),
            action: "login",
            entity_type: "user",
            entity_id: Some(account.id.to_string()),
            report_id: None,
            ip: origin.ip,
            user_agent: origin.user_agent.as_deref(),
            diff: None,
        },
    )
    .await?;
    tx.commit().await?;
    db::users::record_login(&state.db, account.id).await?;
    throttle::record_success(&state.redis, &keys).await?;
    session::start(&session, account.id, account.session_generation, remember).await?;
    // Terms of use not accepted in their current version: the interstitial
    // first, and the gate keeps sending there until answered (docs/terms.md §3).
    let (accepted, _) = db::terms::accepted(&state.db, account.id).await?;
    if crate::domain::terms::must_accept(accepted.as_deref()) {
        session
            .insert(super::office::terms::PENDING_KEY, true)
            .await?;
        session.save().await?;
        return Ok(Redirect::to(&super::office::terms::interstitial_url(&next)).into_response());
    }
    Ok(Redirect::to(&next).into_response())
}

pub async fn log_out(
    State(state): State<AppState>,
    origin: RequestOrigin,
    session: Session,
) -> AppResult<Redirect> {
    if let Some(user_id) = session::user_id(&session).await?
        && let Some(user) = session::load_user(&state.db, user_id).await?
    {
        // Logging out changes nothing else: the event is its own transaction.
        let mut conn = state.db.acquire().await?;
        db::audit::record(
            &mut conn,
            &audit_event(
                Some(&user),
                &origin,
                "logout",
                "user",
                Some(user.id.to_string()),
                None,
            ),
        )
        .await?;
    }
    session::end(&session).await?;
    Ok(Redirect::to("/connexion?ok=deconnecte"))
}

/// The audit event of a request by `actor`, from where it came; the
/// caller writes it with `db::audit::record` inside its own transaction.
pub fn audit_event<'a>(
    actor: Option<&'a CurrentUser>,
    origin: &'a RequestOrigin,
    action: &'a str,
    entity_type: &'a str,
    entity_id: Option<String>,
    diff: Option<serde_json::Value>,
) -> db::audit::NewEvent<'a> {
    db::audit::NewEvent::new(
        actor.map(|u| (u.id, u.email.as_str())),
        action,
        entity_type,
        entity_id,
    )
    .from_origin(origin.ip, origin.user_agent.as_deref())
    .with_diff(diff)
}

#[derive(Template, WebTemplate)]
#[template(path = "pages/account/forgot_password.html")]
pub struct ForgotPasswordPage {
    pub layout: Layout,
    pub email: String,
    pub errors: FormErrors,
    pub sent: bool,
}

pub async fn show_forgot_password(PublicLayout(layout): PublicLayout) -> ForgotPasswordPage {
    ForgotPasswordPage {
        layout,
        email: String::new(),
        errors: FormErrors::default(),
        sent: false,
    }
}

#[derive(Deserialize)]
pub struct ForgotPasswordForm {
    #[serde(default)]
    email: String,
}

/// Sends a reset link if an account matches, and says the same thing either
/// way (no account enumeration). Accounts never activated get a new
/// activation link instead.
pub async fn request_password_reset(
    State(state): State<AppState>,
    PublicLayout(layout): PublicLayout,
    origin: RequestOrigin,
    Form(form): Form<ForgotPasswordForm>,
) -> AppResult<Response> {
    let email = form.email.trim().to_lowercase();
    if crate::domain::contact::Email::parse(&email).is_err() {
        let mut errors = FormErrors::default();
        errors.add(
            "email",
            "Saisissez une adresse électronique valide, par exemple nom@domaine.fr.",
        );
        return Ok((
            StatusCode::UNPROCESSABLE_ENTITY,
            ForgotPasswordPage {
                layout,
                email,
                errors,
                sent: false,
            },
        )
            .into_response());
    }
    let key = format!(
        "{}rate:forgot:{}",
        state.config.redis_prefix,
        origin.rate_key()
    );
    if !crate::kv::within_rate(&state.redis, &key, FORGOT_LIMIT, 20 * 60).await? {
        return Err(AppError::TooManyRequests);
    }
    if let Some(account) = db::users::find_for_login(&state.db, &email).await? {
        match account.status.as_str() {
            "active" => {
                send_token(&state, account.id, &account.email, TokenKind::Reset, "").await?
            }
            "inactive" => {
                let first_name = db::users::find(&state.db, account.id)
                    .await?
                    .map(|u| u.first_name)
                    .unwrap_or_default();
                send_token(
                    &state,
                    account.id,
                    &account.email,
                    TokenKind::Activation,
                    &first_name,
                )
                .await?;
            }
            _ => {}
        }
    }
    Ok(ForgotPasswordPage {
        layout,
        email,
        errors: FormErrors::default(),
        sent: true,
    }
    .into_response())
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TokenKind {
    Activation,
    Reset,
}

impl TokenKind {
    fn code(self) -> &'static str {
        match self {
            TokenKind::Activation => "activation",
            TokenKind::Reset => "password_reset",
        }
    }
}

/// Creates a token and queues its e-mail, in one transaction.
pub async fn send_token(
    state: &AppState,
    user_id: u64,
    email: &str,
    kind: TokenKind,
    first_name: &str,
) -> AppResult<()> {
    let mut tx = state.db.begin().await?;
    queue_token(
        &mut tx,
        &state.config.base_url,
        user_id,
        email,
        kind,
        first_name,
    )
    .await?;
    tx.commit().await?;
    Ok(())
}

/// Creates a token and queues its e-mail inside the caller's transaction.
pub async fn queue_token(
    conn: &mut sqlx::MySqlConnection,
    base_url: &str,
    user_id: u64,
    email: &str,
    kind: TokenKind,
    first_name: &str,
) -> AppResult<()> {
    let token = tokens::generate();
    let minutes = if kind == TokenKind::Activation {
        ACTIVATION_MINUTES
    } else {
        RESET_MINUTES
    };
    db::users::insert_token(conn, user_id, kind.code(), &tokens::digest(&token), minutes).await?;
    let email_job = match kind {
        TokenKind::Activation => Email::AccountActivation {
            to: email.to_owned(),
            first_name: first_name.to_owned(),
            link: format!("{base_url}/activation/{token}"),
        },
        TokenKind::Reset => Email::PasswordReset {
            to: email.to_owned(),
            link: format!("{base_url}/mot-de-passe/{token}"),
        },
    };
    queue::enqueue(
        conn,
        &Job::SendEmail(email_job),
        None,
        JobContext::default(),
    )
    .await?;
    Ok(())
}

#[derive(Template, WebTemplate)]
#[template(path = "pages/account/set_password.html")]
pub struct SetPasswordPage {
    pub layout: Layout,
    pub heading: &'static str,
    pub action: String,
    pub valid: bool,
    pub errors: FormErrors,
}

fn heading(kind: TokenKind) -> &'static str {
    match kind {
        TokenKind::Activation => "Activer votre compte",
        TokenKind::Reset => "Choisir un nouveau mot de passe",
    }
}

fn action(kind: TokenKind, token: &str) -> String {
    match kind {
        TokenKind::Activation => format!("/activation/{token}"),
        TokenKind::Reset => format!("/mot-de-passe/{token}"),
    }
}

async fn show_set_password(
    state: &AppState,
    layout: Layout,
    kind: TokenKind,
    token: &str,
) -> AppResult<Response> {
    let valid = tokens::looks_valid(token)
        && db::users::token_is_valid(&state.db, kind.code(), &tokens::digest(token)).await?;
    let page = SetPasswordPage {
        layout,
        heading: heading(kind),
        action: action(kind, token),
        valid,
        errors: FormErrors::default(),
    };
    let status = if valid {
        StatusCode::OK
    } else {
        StatusCode::GONE
    };
    Ok((status, page).into_response())
}

pub async fn show_reset_password(
    State(state): State<AppState>,
    PublicLayout(layout): PublicLayout,
    Path(token): Path<String>,
) -> AppResult<Response> {
    show_set_password(&state, layout, TokenKind::Reset, &token).await
}

pub async fn show_activation(
    State(state): State<AppState>,
    PublicLayout(layout): PublicLayout,
    Path(token): Path<String>,
) -> AppResult<Response> {
    show_set_password(&state, layout, TokenKind::Activation, &token).await
}

#[derive(Deserialize)]
pub struct SetPasswordForm {
    #[serde(default)]
    password: String,
    #[serde(default)]
    confirmation: String,
}

async fn set_password(
    state: &AppState,
    layout: Layout,
    origin: &RequestOrigin,
    kind: TokenKind,
    token: &str,
    form: SetPasswordForm,
) -> AppResult<Response> {
    if !tokens::looks_valid(token) {
        return show_set_password(state, layout, kind, token).await;
    }
    let digest = tokens::digest(token);
    let mut tx = state.db.begin().await?;
    let Some(user_id) = db::users::consume_token(&mut tx, kind.code(), &digest).await? else {
        drop(tx);
        return show_set_password(state, layout, kind, token).await;
    };
    let user = db::users::find(&state.db, user_id)
        .await?
        .ok_or(AppError::NotFound)?;
    let mut errors = FormErrors::default();
    if let Err(message) = domain::password::check(&form.password, &user.email) {
        errors.add("password", message);
    } else if form.password != form.confirmation {
        errors.add(
            "confirmation",
            "Les deux mots de passe ne sont pas identiques.",
        );
    }
    if !errors.is_empty() {
        // Rolling back keeps the token usable for the corrected attempt.
        tx.rollback().await?;
        let page = SetPasswordPage {
            layout,
            heading: heading(kind),
            action: action(kind, token),
            valid: true,
            errors,
        };
        return Ok((StatusCode::UNPROCESSABLE_ENTITY, page).into_response());
    }
    let Ok(hash) = state.hasher.hash(form.password).await else {
        return Err(AppError::TooManyRequests);
    };
    // Ends every other session of the user (the point of a reset).
    db::users::set_password(&mut tx, user_id, &hash?).await?;
    // Activating accepts the current terms of use, which the page links
    // (docs/terms.md §3).
    if kind == TokenKind::Activation {
        db::terms::accept(
            &mut tx,
            user_id,
            crate::domain::terms::Audience::Agents.current().code,
        )
        .await?;
    }
    db::audit::record(
        &mut tx,
        &db::audit::NewEvent {
            actor_user_id: Some(user_id),
            actor_email: Some(&user.email),
            action: if kind == TokenKind::Activation {
                "activate"
            } else {
                "password_reset"
            },
            entity_type: "user",
            entity_id: Some(user_id.to_string()),
            report_id: None,
            ip: origin.ip,
            user_agent: origin.user_agent.as_deref(),
            diff: None,
        },
    )
    .await?;
    tx.commit().await?;
    Ok(Redirect::to("/connexion?ok=mot-de-passe").into_response())
}

pub async fn reset_password(
    State(state): State<AppState>,
    PublicLayout(layout): PublicLayout,
    origin: RequestOrigin,
    Path(token): Path<String>,
    Form(form): Form<SetPasswordForm>,
) -> AppResult<Response> {
    set_password(&state, layout, &origin, TokenKind::Reset, &token, form).await
}

pub async fn activate(
    State(state): State<AppState>,
    PublicLayout(layout): PublicLayout,
    origin: RequestOrigin,
    Path(token): Path<String>,
    Form(form): Form<SetPasswordForm>,
) -> AppResult<Response> {
    set_password(&state, layout, &origin, TokenKind::Activation, &token, form).await
}
