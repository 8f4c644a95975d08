//! The worker process (`histologe-worker`): runs the jobs the web process
//! records in the outbox. Job handlers arrive with the worker issue; this
//! binary already connects to MySQL and Redis and stops cleanly on SIGTERM.

use std::time::Duration;

use histologe::{app, config::Config, db, kv, telemetry};

fn main() -> anyhow::Result<()> {
    let config = Config::from_env()?;
    let _sentry = telemetry::init_sentry(&config);
    telemetry::init_logs(&config);
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    runtime.block_on(run(config))
}

async fn run(config: Config) -> anyhow::Result<()> {
    let pool = db::connect(&config)?;
    let redis = kv::connect(&config)?;
    let shutdown = app::shutdown_signal();
    tokio::pin!(shutdown);
    tracing::info!("worker started");
    let mut ticker = tokio::time::interval(Duration::from_secs(5));
    let mut was_ready = None;
    loop {
        tokio::select! {
            () = &mut shutdown => break,
            _ = ticker.tick() => {
                let ready = db::health::ping(&pool).await.is_ok() && kv::ping(&redis).await.is_ok();
                if was_ready != Some(ready) {
                    if ready {
                        tracing::info!("worker connected to MySQL and Redis");
                    } else {
                        tracing::warn!("worker waiting for MySQL or Redis");
                    }
                    was_ready = Some(ready);
                }
            }
        }
    }
    tracing::info!("worker stopped");
    Ok(())
}
