//! Open311 GeoReport v2 at `/open311/v2` (docs/open311.md): discovery, the
//! services (the form's defect categories) and their definitions, the
//! public, anonymised list of requests and one request, and `POST requests`
//! which files a report through the form's own submission path.
//!
//! A machine endpoint: mounted beside the site's router, outside the
//! session and CSRF layers (no cookie is read or set; `POST` is
//! authenticated by its `api_key`). Every error, including unknown paths
//! under the prefix, is the specification's list of `{code, description}`.

pub mod post;
pub mod render;

use std::collections::BTreeMap;

use axum::{
    Router,
    extract::{Path, Query, Request, State},
    http::{HeaderValue, Method, StatusCode, Uri, header},
    middleware::{self, Next},
    response::{IntoResponse, Response},
    routing::get,
};
use serde_json::{Value, json};
use time::OffsetDateTime;

use self::render::{Format, respond};
use crate::{
    app::AppState,
    auth::session::RequestOrigin,
    db,
    domain::{
        case::ReportStatus,
        open311::{self, Open311Error, RequestQuery, Visibility},
        report::defects::Category,
    },
    error::AppError,
    kv,
};

/// Where the endpoint is mounted.
pub const PREFIX: &str = "/open311/v2";

/// The endpoint's routes, to nest at [`PREFIX`]; the public reads are
/// limited per client address ([`limit_reads`]).
pub fn router(state: AppState) -> Router<AppState> {
    Router::new()
        .route("/{file}", get(get_root).post(post::post_request))
        .route("/services/{file}", get(get_service_definition))
        .route("/requests/{file}", get(get_request))
        .fallback(unknown_path)
        .layer(middleware::from_fn_with_state(state, limit_reads))
}

/// Why a call failed: a specification error, or one of the application's
/// (database down…), told in the specification's shape.
pub enum Failure {
    Spec(Format, Open311Error),
    App(Format, AppError),
}

impl Failure {
    fn spec(format: Format, error: Open311Error) -> Self {
        Self::Spec(format, error)
    }
}

trait OrFail<T> {
    fn or_fail(self, format: Format) -> Result<T, Failure>;
}

impl<T, E: Into<AppError>> OrFail<T> for Result<T, E> {
    fn or_fail(self, format: Format) -> Result<T, Failure> {
        self.map_err(|e| Failure::App(format, e.into()))
    }
}

fn error_body(errors: &[(u16, String)]) -> Value {
    Value::Array(
        errors
            .iter()
            .map(|(code, description)| json!({ "code": code, "description": description }))
            .collect(),
    )
}

impl IntoResponse for Failure {
    fn into_response(self) -> Response {
        match self {
            Failure::Spec(format, error) => respond(
                StatusCode::from_u16(error.status).unwrap_or(StatusCode::BAD_REQUEST),
                format,
                "errors",
                &error_body(&error.errors),
            ),
            Failure::App(format, error) => {
                // AppError logs (and reports) the cause once; only its
                // status is kept, the page is replaced by the spec's body.
                let status = error.into_response().status();
                let description = if status.is_server_error() {
                    "Le service est momentanément indisponible, réessayez plus tard."
                } else {
                    "Requête refusée."
                };
                respond(
                    status,
                    format,
                    "errors",
                    &error_body(&[(status.as_u16(), description.to_owned())]),
                )
            }
        }
    }
}

pub type Answer = Result<Response, Failure>;

/// A 429 in the specification's shape, with `Retry-After`.
pub(crate) fn too_many_requests(format: Format, seconds: u64) -> Response {
    let mut response = Failure::Spec(
        format,
        Open311Error::new(
            429,
            format!("Trop de requêtes : réessayez dans {seconds} secondes."),
        ),
    )
    .into_response();
    response
        .headers_mut()
        .insert(header::RETRY_AFTER, HeaderValue::from(seconds));
    response
}

/// The public reads' limit: `OPEN311_RATE_PER_MINUTE` requests a minute
/// per client address (its /64 for IPv6), a fixed window in Redis like the
/// site's other limits. `POST` is counted on its API account instead.
async fn limit_reads(
    State(state): State<AppState>,
    origin: RequestOrigin,
    request: Request,
    next: Next,
) -> Response {
    if request.method() == Method::POST {
        return next.run(request).await;
    }
    let format = format_of(request.uri().path());
    let key = format!(
        "{}open311:rate:{}",
        state.config.redis_prefix,
        origin.rate_key()
    );
    let limit = i64::from(state.config.open311_rate_per_minute);
    let checked = async {
        if kv::within_rate(&state.redis, &key, limit, 60).await? {
            return Ok(None);
        }
        let left = kv::lock_remaining(&state.redis, &key).await?;
        Ok::<_, kv::fred::error::Error>(Some(u64::try_from(left.max(1)).unwrap_or(1)))
    };
    match checked.await {
        Ok(None) => next.run(request).await,
        Ok(Some(seconds)) => too_many_requests(format, seconds),
        Err(error) => Failure::App(format, error.into()).into_response(),
    }
}

/// The format of a path, XML (the required one) when it has no known
/// extension.
fn format_of(file: &str) -> Format {
    Format::split(file).map_or(Format::Xml, |(_, f)| f)
}

fn not_found(format: Format, what: &str) -> Failure {
    Failure::spec(format, Open311Error::not_found(what))
}

async fn unknown_path(uri: Uri) -> Failure {
    not_found(format_of(uri.path()), "Ressource inconnue.")
}

/// `GET /discovery.{fmt}`, `/services.{fmt}`, `/requests.{fmt}`.
async fn get_root(
    State(state): State<AppState>,
    Path(file): Path<String>,
    Query(params): Query<BTreeMap<String, String>>,
) -> Answer {
    let Some((name, format)) = Format::split(&file) else {
        return Err(not_found(format_of(&file), "Ressource inconnue."));
    };
    match name {
        "discovery" => Ok(discovery(&state, format)),
        "services" => {
            let taxonomy = state.taxonomy().await.or_fail(format)?;
            Ok(services(&taxonomy, format))
        }
        "requests" => list_requests(&state, format, &params).await,
        _ => Err(not_found(format, "Ressource inconnue.")),
    }
}

fn endpoint_url(state: &AppState) -> String {
    format!("{}{PREFIX}", state.config.base_url.trim_end_matches('/'))
}

fn discovery(state: &AppState, format: Format) -> Response {
    let base = state.config.base_url.trim_end_matches('/');
    let kind = match state.config.environment {
        crate::config::Environment::Production => "production",
        _ => "test",
    };
    let document = json!({
        "changeset": open311::CHANGESET,
        "contact": format!(
            "Équipe Histologe, via le formulaire de contact de {base}/mentions-legales"
        ),
        "key_service": format!(
            "Une clé (api_key) est le secret d’un compte API, créé par le responsable \
             de territoire ou un super administrateur dans l’espace partenaire ({base}/bo)."
        ),
        "endpoints": [{
            "specification": "http://wiki.open311.org/GeoReport_v2",
            "url": endpoint_url(state),
            "changeset": open311::CHANGESET,
            "type": kind,
            "formats": ["text/xml", "application/json"],
        }],
    });
    respond(StatusCode::OK, format, "discovery", &document)
}

fn services(taxonomy: &[Category], format: Format) -> Response {
    let list: Vec<Value> = open311::services(taxonomy)
        .into_iter()
        .map(|s| {
            json!({
                "service_code": s.code,
                "service_name": s.name,
                "description": s.description,
                "metadata": true,
                "type": "realtime",
                "keywords": s.keywords,
                "group": s.group,
            })
        })
        .collect();
    respond(StatusCode::OK, format, "services", &Value::Array(list))
}

/// The category of a service code, if it is one.
fn find_service<'a>(taxonomy: &'a [Category], code: &str) -> Option<&'a Category> {
    open311::service_categories(taxonomy).find(|c| c.code == code)
}

/// `GET /services/{code}.{fmt}`.
async fn get_service_definition(State(state): State<AppState>, Path(file): Path<String>) -> Answer {
    let Some((code, format)) = Format::split(&file) else {
        return Err(not_found(format_of(&file), "Ressource inconnue."));
    };
    let taxonomy = state.taxonomy().await.or_fail(format)?;
    let Some(category) = find_service(&taxonomy, code) else {
        return Err(not_found(format, "service_code inconnu."));
    };
    let attributes: Vec<Value> = open311::service_definition(category)
        .into_iter()
        .map(|a| {
            json!({
                "variable": true,
                "code": a.code,
                "datatype": a.datatype.code(),
                "required": a.required,
                "datatype_description": a.datatype_description,
                "order": a.order,
                "description": a.description,
                "values": a.values.into_iter()
                    .map(|(key, name)| json!({ "key": key, "name": name }))
                    .collect::<Vec<_>>(),
            })
        })
        .collect();
    let document = json!({ "service_code": category.code, "attributes": attributes });
    Ok(respond(
        StatusCode::OK,
        format,
        "service_definition",
        &document,
    ))
}

/// One report as a `request` element: public fields only.
fn request_value(report: &db::open311::PublicReport, taxonomy: &[Category]) -> Value {
    let status = open311::public_status(report.status);
    let service_code = report
        .service_code
        .as_deref()
        .unwrap_or(crate::domain::report::defects::COMPOSITION_CATEGORY);
    let service_name = taxonomy
        .iter()
        .find(|c| c.code == service_code)
        .map_or("Composition du logement", |c| c.label.as_str());
    let updated = match report.status {
        ReportStatus::Closed => report.closed_at,
        ReportStatus::Refused => report.refused_at,
        _ => None,
    }
    .unwrap_or(report.updated_at);
    let mut value = json!({
        "service_request_id": open311::request_id(&report.territory_code, &report.reference),
        "status": status.code,
        "status_notes": status.note,
        "service_name": service_name,
        "service_code": service_code,
        "requested_datetime": open311::w3c(report.created_at.assume_utc()),
        "updated_datetime": open311::w3c(updated.assume_utc()),
        "address": format!("{} {}", report.postal_code, report.city),
        "zipcode": report.postal_code,
    });
    if let (Some(lat), Some(long)) = (report.latitude, report.longitude) {
        value["lat"] = json!(open311::blur(lat));
        value["long"] = json!(open311::blur(long));
    }
    value
}

async fn list_requests(
    state: &AppState,
    format: Format,
    params: &BTreeMap<String, String>,
) -> Answer {
    let query = open311::parse_request_query(params, OffsetDateTime::now_utc())
        .map_err(|e| Failure::spec(format, e))?;
    let reports = match &query {
        RequestQuery::Ids(ids) => db::open311::by_ids(&state.db, ids).await,
        RequestQuery::List(list) => db::open311::list(&state.db, list).await,
    }
    .or_fail(format)?;
    let taxonomy = state.taxonomy().await.or_fail(format)?;
    let list: Vec<Value> = reports
        .iter()
        .filter(|r| open311::public_status(r.status).visibility != Visibility::Hidden)
        .map(|r| request_value(r, &taxonomy))
        .collect();
    Ok(respond(
        StatusCode::OK,
        format,
        "service_requests",
        &Value::Array(list),
    ))
}

/// `GET /requests/{id}.{fmt}`: a list of one, or 404.
async fn get_request(State(state): State<AppState>, Path(file): Path<String>) -> Answer {
    let Some((id, format)) = Format::split(&file) else {
        return Err(not_found(format_of(&file), "Ressource inconnue."));
    };
    let Some((territory, reference)) = open311::parse_request_id(id) else {
        return Err(not_found(format, "service_request_id inconnu."));
    };
    let reports = db::open311::by_ids(&state.db, &[(territory.into(), reference.into())])
        .await
        .or_fail(format)?;
    let Some(report) = reports
        .first()
        .filter(|r| open311::public_status(r.status).visibility != Visibility::Hidden)
    else {
        return Err(not_found(format, "service_request_id inconnu."));
    };
    let taxonomy = state.taxonomy().await.or_fail(format)?;
    Ok(respond(
        StatusCode::OK,
        format,
        "service_requests",
        &json!([request_value(report, &taxonomy)]),
    ))
}
