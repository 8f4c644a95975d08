//! The partner API, `/api/v1` (docs/api.md): JSON with French field names,
//! bearer tokens of API accounts, RFC 9457 problems, 60 requests a minute
//! per account, every call audited with its account.
//!
//! The API has its own router, mounted by `app::router` outside the
//! back office's session, CSRF check and role gate: a partner system holds
//! no cookie (a bearer token cannot be sent by a foreign page, so there is
//! no CSRF to guard against), and its rights are its account's
//! permissions and scope, checked here ([`authenticate`]) and per case by
//! the same `ReportScope` as the back office.
//!
//! - [`token`]: `POST /api/v1/token` (secret → bearer token), `DELETE` it.
//! - [`cases`]: the account itself and the cases of its scope.
//! - [`openapi`]: the OpenAPI 3.1 document generated from these handlers,
//!   and its human page `/api/doc`.
//! - [`problem`]: the error documents.

pub mod cases;
pub mod documents;
pub mod openapi;
pub mod problem;
pub mod token;
pub mod visits;
pub mod writes;

use axum::{
    Router,
    extract::{MatchedPath, Request, State},
    http::header,
    middleware::{self, Next},
    response::{IntoResponse, Response},
    routing::{get, post},
};

use self::problem::Problem;
use crate::{
    app::AppState,
    auth::{self, session::RequestOrigin},
    db,
    domain::api::{ApiAccount, Permission},
    kv,
};

/// The account calling, put in the request by [`authenticate`].
#[derive(Debug, Clone)]
pub struct ApiCaller {
    pub account: ApiAccount,
    pub token_id: u64,
}

impl ApiCaller {
    /// A 403 problem unless the account has this permission.
    pub fn require(&self, permission: Permission) -> Result<(), Problem> {
        if self.account.permissions.has(permission) {
            Ok(())
        } else {
            Err(Problem::forbidden(&format!(
                "Ce compte API n’a pas la permission « {} ».",
                permission.label()
            )))
        }
    }
}

/// The body limit of the routes that take a file's bytes: one file and a
/// little room.
fn file_limit() -> axum::extract::DefaultBodyLimit {
    axum::extract::DefaultBodyLimit::max(crate::uploads::MAX_FILE_BYTES + 64 * 1024)
}

/// Every route of `/api`, to be nested there.
pub fn router(state: AppState) -> Router<AppState> {
    let authenticated = Router::new()
        .route("/v1/moi", get(cases::show_me))
        .route("/v1/signalements", get(cases::list_cases))
        .route("/v1/signalements/{uuid}", get(cases::show_case))
        .route("/v1/token", axum::routing::delete(token::revoke_token))
        .route(
            "/v1/affectations/{uuid}",
            axum::routing::patch(writes::answer_assignment),
        )
        .route(
            "/v1/signalements/{uuid}/suivis",
            post(writes::add_follow_up),
        )
        .route("/v1/signalements/{uuid}/visites", post(visits::plan_visit))
        .route(
            "/v1/visites/{uuid}/conclusion",
            post(visits::conclude_visit).patch(visits::edit_conclusion),
        )
        .route(
            "/v1/visites/{uuid}/reprogrammation",
            post(visits::reschedule_visit),
        )
        .route("/v1/visites/{uuid}/annulation", post(visits::cancel_visit))
        .route(
            "/v1/visites/{uuid}/rapport-visite",
            post(visits::upload_report).layer(file_limit()),
        )
        .route(
            "/v1/visites/{uuid}/photos-visite",
            post(visits::upload_photo).layer(file_limit()),
        )
        .route(
            "/v1/documents/{uuid}",
            get(documents::download_document)
                .patch(documents::edit_document)
                .delete(documents::delete_document),
        )
        .route(
            "/v1/documents/{uuid}/rotation",
            post(documents::rotate_document),
        )
        .route(
            "/v1/signalements/{uuid}/documents",
            post(documents::upload_document).layer(file_limit()),
        )
        .route_layer(middleware::from_fn_with_state(state, authenticate));
    Router::new()
        .route("/v1/token", post(token::create_token))
        .route("/v1/openapi.json", get(openapi::serve_spec))
        .route("/doc", get(openapi::show_doc))
        .merge(authenticated)
        .fallback(not_found)
        .layer(middleware::from_fn(problem::problem_rejections))
}

async fn not_found() -> Problem {
    Problem::not_found()
}

/// The bearer token of a request, if it sent one.
fn bearer(request: &Request) -> Option<&str> {
    let value = request
        .headers()
        .get(header::AUTHORIZATION)?
        .to_str()
        .ok()?;
    let (scheme, token) = value.split_once(' ')?;
    scheme.eq_ignore_ascii_case("bearer").then(|| token.trim())
}

/// Authenticates the bearer token, applies the account's rate limit and
/// audits the call with its account and answer.
pub async fn authenticate(
    State(state): State<AppState>,
    origin: RequestOrigin,
    mut request: Request,
    next: Next,
) -> Response {
    let Some(token) = bearer(&request) else {
        return Problem::unauthorized(
            "Envoyez un jeton d’accès dans l’en-tête « Authorization: Bearer … » (voir POST /api/v1/token).",
        )
        .into_response();
    };
    let caller = match auth::api::account_of_token(&state.db, token).await {
        Ok(Some((account, token_id))) => ApiCaller { account, token_id },
        Ok(None) => {
            return Problem::unauthorized(
                "Ce jeton d’accès est inconnu, expiré ou révoqué. Demandez-en un nouveau (POST /api/v1/token).",
            )
            .into_response();
        }
        Err(error) => return Problem::from(error).into_response(),
    };
    let route = request.extensions().get::<MatchedPath>().map_or_else(
        || request.uri().path().to_owned(),
        |m| m.as_str().to_owned(),
    );
    let method = request.method().clone();
    let response = match within_rate(&state, caller.account.id).await {
        Ok(None) => {
            if let Err(error) = db::api::touch(&state.db, caller.account.id, caller.token_id).await
            {
                tracing::warn!(error = %error, "API account use not recorded");
            }
            request.extensions_mut().insert(caller.clone());
            next.run(request).await
        }
        Ok(Some(retry_after)) => Problem::too_many_requests(retry_after).into_response(),
        Err(problem) => problem.into_response(),
    };
    audit_call(
        &state,
        (caller.account.id, &caller.account.uuid),
        &origin,
        &format!("{method} {route}"),
        response.status().as_u16(),
    )
    .await;
    response
}

/// `None` while the account is within its limit, else the seconds until
/// the window ends (a fixed one-minute window in Redis, like the site's
/// other limits).
pub(crate) async fn within_rate(state: &AppState, account_id: u64) -> Result<Option<u64>, Problem> {
    let key = format!("{}api:rate:{account_id}", state.config.redis_prefix);
    let limit = i64::from(state.config.api_rate_per_minute);
    let within = kv::within_rate(&state.redis, &key, limit, 60)
        .await
        .map_err(|e| Problem::from(crate::error::AppError::from(e)))?;
    if within {
        return Ok(None);
    }
    let left = kv::lock_remaining(&state.redis, &key)
        .await
        .map_err(|e| Problem::from(crate::error::AppError::from(e)))?;
    Ok(Some(u64::try_from(left.max(1)).unwrap_or(1)))
}

/// One audit event per authenticated call, of `/api/v1` and of Open311's
/// POST: the account (`actor_email` `api:<uuid>`), the route template
/// (never the raw path), the status. A failure to audit is logged, never
/// turned into a failed call.
pub(crate) async fn audit_call(
    state: &AppState,
    (account_id, account_uuid): (u64, &str),
    origin: &RequestOrigin,
    call: &str,
    status: u16,
) {
    let actor = format!("api:{account_uuid}");
    let recorded = async {
        let mut conn = state.db.acquire().await?;
        let event = db::audit::NewEvent {
            actor_email: Some(&actor),
            ..db::audit::NewEvent::new(
                None,
                "api_call",
                "api_account",
                Some(account_id.to_string()),
            )
        }
        .from_origin(origin.ip, origin.user_agent.as_deref())
        .with_diff(Some(serde_json::json!({ "appel": call, "statut": status })));
        db::audit::record(&mut conn, &event).await
    };
    if let Err(error) = recorded.await {
        tracing::warn!(error = %error, "API call not audited");
    }
}
