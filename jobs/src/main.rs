//! The worker process (`histologe-worker`): runs the jobs the web process
//! records in the outbox, and inserts the periodic ones. The engine lives in
//! the library (`histologe::worker`) so that the tests run the same code
//! in-process. Stops cleanly on SIGTERM: jobs in flight finish first; a job
//! cut short by a kill is taken over by another worker when its lease ends.

use std::{sync::Arc, time::Duration};

use histologe::{
    app,
    config::Config,
    db, storage,
    worker::{Worker, WorkerOptions},
};

fn main() -> anyhow::Result<()> {
    let config = Config::from_env()?;
    let _sentry = histologe::telemetry::init_sentry(&config);
    histologe::telemetry::init_logs(&config);
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    runtime.block_on(run(config))
}

fn env_secs(name: &str, default: u64) -> Duration {
    Duration::from_secs(
        std::env::var(name)
            .ok()
            .and_then(|v| v.parse().ok())
            .unwrap_or(default),
    )
}

async fn run(config: Config) -> anyhow::Result<()> {
    let pool = db::connect(&config)?;
    let store = storage::build(&config.storage)?;
    let options = WorkerOptions {
        batch: std::env::var("WORKER_BATCH")
            .ok()
            .and_then(|v| v.parse().ok())
            .unwrap_or(8),
        lease: env_secs("WORKER_LEASE_SECS", 300),
        backoff_base: env_secs("WORKER_BACKOFF_SECS", 30),
        job_timeout: env_secs("WORKER_JOB_TIMEOUT_SECS", 600),
        retention: Duration::from_secs(
            86_400
                * std::env::var("OUTBOX_RETENTION_DAYS")
                    .ok()
                    .and_then(|v| v.parse::<u64>().ok())
                    .unwrap_or(7),
        ),
        ..WorkerOptions::default()
    };
    if let Some(addr) = std::env::var("WORKER_METRICS_ADDR")
        .ok()
        .filter(|a| !a.is_empty())
    {
        let listener = tokio::net::TcpListener::bind(&addr).await?;
        let router = histologe::worker::metrics::router(pool.clone(), config.metrics_token.clone());
        tracing::info!(%addr, "worker metrics served");
        tokio::spawn(async move {
            if let Err(e) = axum::serve(listener, router).await {
                tracing::warn!(error = %e, "worker metrics server stopped");
            }
        });
    }
    let worker = Worker::new(pool, Arc::new(config), store, options)?;
    worker.run(app::shutdown_signal()).await;
    Ok(())
}
