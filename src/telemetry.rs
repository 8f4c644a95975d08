//! Structured logs (JSON in production) and Sentry error reporting.

use tracing_subscriber::{EnvFilter, layer::SubscriberExt, util::SubscriberInitExt};

use crate::config::Config;

/// Installs the global tracing subscriber. Safe to call more than once (the
/// later calls do nothing), which tests rely on.
pub fn init_logs(config: &Config) {
    let filter = EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| EnvFilter::new("info,sqlx=warn,tower_http=info,fred=warn"));
    let registry = tracing_subscriber::registry()
        .with(filter)
        .with(sentry::integrations::tracing::ErrorLayer::new());
    let result = if config.log_json {
        registry
            .with(tracing_subscriber::fmt::layer().json().flatten_event(true))
            .try_init()
    } else {
        registry.with(tracing_subscriber::fmt::layer()).try_init()
    };
    let _ = result;
}

/// Starts Sentry when `SENTRY_DSN` is set. Must run before the tokio runtime
/// is built; keep the guard alive for the whole process so events are flushed.
pub fn init_sentry(config: &Config) -> Option<sentry::ClientInitGuard> {
    let dsn = config.sentry_dsn.as_ref()?;
    let environment = match config.environment {
        crate::config::Environment::Production => "production",
        crate::config::Environment::Test => "test",
        crate::config::Environment::Development => "development",
    };
    Some(sentry::init((
        dsn.expose(),
        sentry::ClientOptions::new()
            .maybe_release(sentry::release_name!())
            .environment(environment),
    )))
}
