//! Application-wide components in a struct accessible from each request, the
//! router, and the middleware stack.

use std::{sync::Arc, time::Duration};

use axum::{
    Router,
    http::{HeaderValue, StatusCode, header},
    middleware,
    response::{IntoResponse, Response},
};
use tower::ServiceBuilder;
use tower_http::{
    catch_panic::CatchPanicLayer,
    compression::CompressionLayer,
    request_id::{MakeRequestUuid, PropagateRequestIdLayer, SetRequestIdLayer},
    services::ServeDir,
    set_header::SetResponseHeaderLayer,
    timeout::TimeoutLayer,
    trace::{DefaultOnFailure, TraceLayer},
};
use tower_sessions::{Expiry, SessionManagerLayer, cookie::SameSite};
use tower_sessions_redis_store::RedisStore;

use crate::{
    config::Config,
    db,
    domain::{export_slots::ExportSlots, report::defects::Category},
    error::AppError,
    kv, storage, telemetry,
    web::{self, layout::ErrorPage},
};

/// Outbound calls made during a request: the visitor is waiting, and the
/// page must work without the answer.
const REQUEST_PATH_CONNECT_TIMEOUT: Duration = Duration::from_secs(2);
const REQUEST_PATH_TIMEOUT: Duration = Duration::from_secs(3);

/// Everything a handler may need. Cheap to clone.
#[derive(Clone)]
pub struct AppState {
    pub config: Arc<Config>,
    pub db: db::Pool,
    pub redis: kv::RedisPool,
    pub storage: storage::Storage,
    /// The exports' own small pool (see `db::exports::connect_pool`).
    pub export_db: db::Pool,
    /// The exports running now, per user and in all.
    pub export_slots: ExportSlots,
    /// The bound on concurrent password hashing (`PASSWORD_HASHING_PERMITS`).
    pub hasher: crate::auth::password::Hasher,
    /// The form's defect taxonomy, read once: it is reference data that
    /// only a migration (a deploy, a restart) changes, and every form
    /// screen and submission needs it.
    taxonomy: Arc<tokio::sync::OnceCell<Arc<Vec<Category>>>>,
    /// The same taxonomy as the case page shows it, by precision id.
    defect_catalog: Arc<tokio::sync::OnceCell<Arc<db::case_view::DefectCatalog>>>,
    /// Bounds the image decodes running at once (see `uploads::images`).
    pub image_gate: crate::uploads::images::DecodeGate,
    /// The external services' client for calls made while a visitor waits
    /// (the address autocomplete): short timeouts, every call logged.
    pub http: crate::integrations::Http,
}

impl AppState {
    /// Connects to every component named by the configuration. Connections
    /// are lazy: the process starts even when a component is down.
    pub fn connect(config: Config) -> anyhow::Result<Self> {
        let db = db::connect(&config)?;
        Ok(Self {
            http: crate::integrations::Http::new(
                db.clone(),
                REQUEST_PATH_CONNECT_TIMEOUT,
                REQUEST_PATH_TIMEOUT,
                crate::integrations::guard::Guard::from_config(&config),
            )?,
            db,
            export_db: db::exports::connect_pool(&config)?,
            export_slots: ExportSlots::new(
                config.exports.max_per_user,
                config.exports.max_concurrent,
            ),
            redis: kv::connect(&config)?,
            storage: storage::build(&config.storage)?,
            hasher: crate::auth::password::Hasher::new(config.password_hashing_permits),
            config: Arc::new(config),
            taxonomy: Arc::default(),
            defect_catalog: Arc::default(),
            image_gate: crate::uploads::images::DecodeGate::default(),
        })
    }

    /// The defect taxonomy of the public form (loaded at first use).
    pub async fn taxonomy(&self) -> Result<Arc<Vec<Category>>, sqlx::Error> {
        self.taxonomy
            .get_or_try_init(|| async { db::defects::load_taxonomy(&self.db).await.map(Arc::new) })
            .await
            .cloned()
    }

    /// Every defect precision with its labels (loaded at first use).
    pub async fn defect_catalog(&self) -> Result<Arc<db::case_view::DefectCatalog>, sqlx::Error> {
        self.defect_catalog
            .get_or_try_init(|| async {
                db::case_view::defect_catalog(&self.db).await.map(Arc::new)
            })
            .await
            .cloned()
    }
}

/// The whole application as a router, so that tests run the real thing.
pub fn router(state: AppState) -> Router {
    let sessions = SessionManagerLayer::new(RedisStore::new(state.redis.clone()))
        .with_name("histologe_session")
        .with_secure(state.config.is_https())
        .with_same_site(SameSite::Lax)
        .with_http_only(true)
        .with_expiry(Expiry::OnInactivity(
            time::Duration::try_from(state.config.session_idle).unwrap_or(time::Duration::hours(2)),
        ));

    let assets = ServiceBuilder::new()
        .layer(SetResponseHeaderLayer::overriding(
            header::CACHE_CONTROL,
            HeaderValue::from_static("public, max-age=31536000, immutable"),
        ))
        .service(ServeDir::new(&state.config.assets_dir));

    let (routes, _) = web::routes::routes();
    let mut app = routes
        .fallback(not_found)
        .layer(middleware::from_fn_with_state(
            state.clone(),
            web::csrf::protect,
        ))
        .layer(sessions)
        // The partner API: bearer tokens, no session nor CSRF cookie (web::api).
        .nest("/api", web::api::router(state.clone()))
        // Requests by route template, status and latency (`/metrics`).
        .layer(middleware::from_fn(web::metrics::track))
        // The authorization gate reads the state from here (see web::routes).
        .layer(axum::Extension(state.clone()))
        // Read by `auth::session::client_ip`, which cannot see the state.
        .layer(axum::Extension(crate::auth::session::TrustForwardedFor(
            state.config.trust_forwarded_for,
        )))
        .nest_service("/assets", assets)
        // A machine endpoint: no session, no CSRF cookie (docs/open311.md).
        .nest(web::open311::PREFIX, web::open311::router(state.clone()));

    for layer in web::headers::layers(state.config.is_https(), &state.config.map_tile_url) {
        app = app.layer(layer);
    }

    app.layer(
        ServiceBuilder::new()
            // One Sentry hub per request, so that the route set on its scope
            // (telemetry::request_span) stays with that request.
            .layer(sentry::integrations::tower::NewSentryLayer::<
                axum::extract::Request,
            >::new_from_top())
            .layer(SetRequestIdLayer::x_request_id(MakeRequestUuid))
            // The span names the route template, never the raw path (tokens).
            // A 5xx is reported once, by AppError: tower-http's failure line
            // stays in the logs at WARN, out of Sentry.
            .layer(
                TraceLayer::new_for_http()
                    .make_span_with(telemetry::request_span)
                    .on_failure(DefaultOnFailure::new().level(tracing::Level::WARN)),
            )
            .layer(PropagateRequestIdLayer::x_request_id())
            .layer(CatchPanicLayer::custom(panic_response))
            .layer(TimeoutLayer::with_status_code(
                StatusCode::SERVICE_UNAVAILABLE,
                Duration::from_secs(30),
            ))
            .layer(CompressionLayer::new()),
    )
    .with_state(state)
}

async fn not_found() -> AppError {
    AppError::NotFound
}

fn panic_response(_: Box<dyn std::any::Any + Send + 'static>) -> Response {
    tracing::error!("a request handler panicked");
    (
        StatusCode::INTERNAL_SERVER_ERROR,
        ErrorPage::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            "Erreur inattendue",
            "Une erreur inattendue s’est produite. L’équipe technique a été prévenue.".into(),
        ),
    )
        .into_response()
}

/// A fingerprint of the assets folder (names, sizes, modification times) used
/// in asset URLs so that browsers fetch a changed file after a deploy.
pub fn fingerprint_assets(dir: &std::path::Path) -> String {
    use std::hash::{DefaultHasher, Hash, Hasher};
    fn walk(dir: &std::path::Path, hasher: &mut DefaultHasher) {
        let Ok(entries) = std::fs::read_dir(dir) else {
            return;
        };
        let mut entries: Vec<_> = entries.flatten().collect();
        entries.sort_by_key(|e| e.path());
        for entry in entries {
            let path = entry.path();
            if path.is_dir() {
                walk(&path, hasher);
            } else if let Ok(meta) = entry.metadata() {
                path.hash(hasher);
                meta.len().hash(hasher);
                meta.modified().ok().hash(hasher);
            }
        }
    }
    let mut hasher = DefaultHasher::new();
    walk(dir, &mut hasher);
    format!("{:x}", hasher.finish() & 0xffff_ffff)
}

/// Runs the web process until SIGTERM or Ctrl-C, then drains in-flight
/// requests.
pub async fn serve(state: AppState) -> anyhow::Result<()> {
    web::layout::set_asset_version(fingerprint_assets(&state.config.assets_dir));
    let address = format!("{}:{}", state.config.host, state.config.port);
    let listener = tokio::net::TcpListener::bind(&address).await?;
    tracing::info!(%address, "web process listening");
    axum::serve(
        listener,
        router(state).into_make_service_with_connect_info::<std::net::SocketAddr>(),
    )
    .with_graceful_shutdown(shutdown_signal())
    .await?;
    tracing::info!("web process stopped");
    Ok(())
}

/// Resolves on SIGTERM (what Scalingo sends) or Ctrl-C.
pub async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut signal) => {
                signal.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => {},
        () = terminate => {},
    }
}
