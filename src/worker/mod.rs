//! The job engine run by `histologe-worker` (and in-process by the tests).
//!
//! The `outbox` table is the queue, the source of truth and the job log:
//! 1. [`Worker::run_once`] claims due rows with a lease
//!    (`db::outbox::claim`: `FOR UPDATE SKIP LOCKED`, status `running`,
//!    `locked_by`, `locked_until`), so any number of workers can run;
//! 2. each claimed job runs its handler ([`handlers`]);
//! 3. the row becomes `done`, or `failed` with `run_after` = now +
//!    exponential backoff with jitter (at least the service's Retry-After),
//!    or `dead` after `max_attempts` or on a permanent error. An admin can
//!    retry a dead job from the "Interconnexions" page.
//!
//! A worker killed mid-job leaves its rows `running`; once the lease is
//! over, another worker claims them again. Handlers are idempotent (same
//! writes, Esabora's duplicate answer, webhook delivery ids), and e-mails
//! go through `sent_emails` so that none is sent twice.
//!
//! The [`scheduler`] turns periodic tasks into outbox rows with one
//! idempotency key per period, so that several workers never run a
//! schedule twice.

pub mod antivirus;
pub mod handlers;
pub mod scheduler;

use std::{sync::Arc, time::Duration};

use rand::Rng;

use crate::{
    config::Config,
    db::{self, Pool, outbox::ClaimedJob},
    integrations::{CallContext, Http, JobError},
    mail::transport::Transport,
    storage::Storage,
};

/// Tunables; the defaults suit production.
#[derive(Debug, Clone)]
pub struct WorkerOptions {
    /// Jobs claimed (and run concurrently) at once.
    pub batch: u32,
    /// How long a claimed job is ours before another worker may take it.
    pub lease: Duration,
    /// Sleep between polls when the queue is empty.
    pub poll_interval: Duration,
    /// First retry delay; doubles with each attempt, with ±50 % jitter.
    pub backoff_base: Duration,
    pub backoff_max: Duration,
    /// Per call: connect timeout and total timeout.
    pub connect_timeout: Duration,
    pub timeout: Duration,
    /// Whether this worker also inserts the periodic jobs (harmless on
    /// several workers: one row per period).
    pub scheduler: bool,
    /// Done jobs older than this are deleted by the `outbox_prune` schedule
    /// (`OUTBOX_RETENTION_DAYS`, docs/worker.md).
    pub retention: Duration,
}

impl Default for WorkerOptions {
    fn default() -> Self {
        Self {
            batch: 8,
            lease: Duration::from_secs(300),
            poll_interval: Duration::from_secs(1),
            backoff_base: Duration::from_secs(30),
            backoff_max: Duration::from_secs(6 * 3600),
            connect_timeout: Duration::from_secs(5),
            timeout: Duration::from_secs(30),
            scheduler: true,
            retention: Duration::from_secs(7 * 86_400),
        }
    }
}

/// Everything a handler needs. Cheap to clone.
#[derive(Clone)]
pub struct Worker {
    pub id: String,
    pub pool: Pool,
    pub config: Arc<Config>,
    pub storage: Storage,
    pub http: Http,
    pub transport: Transport,
    pub options: WorkerOptions,
}

/// How a handler finished.
#[derive(Debug, PartialEq, Eq)]
pub enum Completed {
    /// The engine marks the job done.
    Done,
    /// The handler marked it done itself, in its own transaction.
    AlreadyMarked,
}

impl Worker {
    pub fn new(
        pool: Pool,
        config: Arc<Config>,
        storage: Storage,
        options: WorkerOptions,
    ) -> anyhow::Result<Self> {
        let http = Http::new(
            pool.clone(),
            options.connect_timeout,
            options.timeout,
            crate::integrations::guard::Guard::from_config(&config),
        )?;
        let transport = Transport::from_config(&config.mail)?;
        let host = std::env::var("HOSTNAME")
            .or_else(|_| std::env::var("CONTAINER"))
            .unwrap_or_else(|_| "local".into());
        let id = format!(
            "{host}:{}:{}",
            std::process::id(),
            &uuid::Uuid::new_v4().simple().to_string()[..8]
        );
        Ok(Self {
            id,
            pool,
            config,
            storage,
            http,
            transport,
            options,
        })
    }

    /// Runs until `shutdown` resolves; jobs in flight finish first.
    pub async fn run(self, shutdown: impl std::future::Future<Output = ()>) {
        tokio::pin!(shutdown);
        tracing::info!(worker = %self.id, "worker started");
        let mut last_schedule: Option<std::time::Instant> = None;
        let mut db_down = false;
        loop {
            if self.options.scheduler
                && last_schedule.is_none_or(|t| t.elapsed() >= Duration::from_secs(60))
            {
                match scheduler::tick(&self.pool, time::OffsetDateTime::now_utc()).await {
                    Ok(_) => last_schedule = Some(std::time::Instant::now()),
                    Err(e) => tracing::warn!(error = %e, "scheduler tick failed"),
                }
            }
            let ran = tokio::select! {
                () = &mut shutdown => break,
                ran = self.run_once() => ran,
            };
            let idle = match ran {
                Ok(0) => true,
                Ok(_) => {
                    if db_down {
                        tracing::info!("worker reconnected to MySQL");
                        db_down = false;
                    }
                    false
                }
                Err(e) => {
                    if !db_down {
                        tracing::warn!(error = %e, "worker cannot claim jobs (MySQL down?)");
                        db_down = true;
                    }
                    true
                }
            };
            if idle {
                tokio::select! {
                    () = &mut shutdown => break,
                    () = tokio::time::sleep(self.options.poll_interval) => {}
                }
            }
        }
        tracing::info!(worker = %self.id, "worker stopped");
    }

    /// Claims one batch and runs it. Returns how many jobs ran.
    pub async fn run_once(&self) -> Result<usize, sqlx::Error> {
        let lease = u32::try_from(self.options.lease.as_secs().max(1)).unwrap_or(300);
        let jobs = db::outbox::claim(&self.pool, &self.id, self.options.batch, lease).await?;
        let count = jobs.len();
        futures::future::join_all(jobs.into_iter().map(|job| self.execute(job))).await;
        Ok(count)
    }

    async fn execute(&self, job: ClaimedJob) {
        let ctx = CallContext {
            outbox_id: Some(job.id),
            partner_id: job.partner_id,
            report_id: job.report_id,
            attempt: job.attempts,
        };
        let span =
            tracing::info_span!("job", id = job.id, kind = %job.kind, attempt = job.attempts);
        // Heartbeat: a job that runs long (SI-SH chain, big documents) keeps
        // its lease. It runs inside this future, so a killed worker (or an
        // aborted task) stops extending it and the lease runs out.
        let handler = async {
            match serde_json::from_value(job.payload.0.clone()) {
                Ok(parsed) => {
                    use tracing::Instrument;
                    handlers::run(self, &job, &ctx, parsed)
                        .instrument(span)
                        .await
                }
                Err(e) => Err(JobError::Permanent(format!("tâche illisible : {e}"))),
            }
        };
        tokio::pin!(handler);
        let lease_secs = u32::try_from(self.options.lease.as_secs().max(1)).unwrap_or(300);
        let mut every =
            tokio::time::interval((self.options.lease / 3).max(Duration::from_millis(200)));
        every.tick().await;
        let result = loop {
            tokio::select! {
                result = &mut handler => break result,
                _ = every.tick() => {
                    if !matches!(
                        db::outbox::extend_lease(&self.pool, job.id, &self.id, lease_secs).await,
                        Ok(true)
                    ) {
                        tracing::warn!(job = job.id, "could not extend the lease");
                    }
                }
            }
        };
        match result {
            Ok(Completed::AlreadyMarked) => {}
            Ok(Completed::Done) => {
                let marked = with_db_retry(|| async {
                    let mut conn = self.pool.acquire().await?;
                    db::outbox::mark_done(&mut conn, job.id, &self.id).await
                })
                .await;
                if !matches!(marked, Ok(true)) {
                    tracing::warn!(
                        job = job.id,
                        "job done but its lease was lost or the database is down"
                    );
                }
            }
            Err(error) => self.record_failure(&job, &error).await,
        }
    }

    async fn record_failure(&self, job: &ClaimedJob, error: &JobError) {
        let (dead, delay) = match error {
            JobError::Permanent(_) => (true, Duration::ZERO),
            JobError::Retry { retry_after, .. } => {
                let backoff = self.backoff(job.attempts);
                (
                    job.attempts >= job.max_attempts,
                    backoff.max(retry_after.unwrap_or_default()),
                )
            }
        };
        let message = crate::integrations::excerpt(error.message(), 2000);
        tracing::warn!(job = job.id, kind = %job.kind, attempt = job.attempts, dead, error = %message, "job failed");
        let secs = u32::try_from(delay.as_secs().max(u64::from(delay.subsec_nanos() > 0)))
            .unwrap_or(u32::MAX);
        let marked = with_db_retry(|| {
            db::outbox::mark_failed(&self.pool, job.id, &self.id, &message, secs, dead)
        })
        .await;
        if !matches!(marked, Ok(true)) {
            tracing::warn!(
                job = job.id,
                "could not record the failure (lease lost or database down)"
            );
        }
    }

    /// Exponential backoff with ±50 % jitter.
    pub fn backoff(&self, attempt: u32) -> Duration {
        let exp = self
            .options
            .backoff_base
            .saturating_mul(2u32.saturating_pow(attempt.saturating_sub(1).min(20)));
        let capped = exp.min(self.options.backoff_max);
        capped.mul_f64(rand::rng().random_range(0.5..1.5))
    }
}

/// Retries a database write for up to a minute: a job whose effect already
/// happened must not lose its "done" because MySQL restarts.
pub async fn with_db_retry<T, F, Fut>(mut f: F) -> Result<T, sqlx::Error>
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Result<T, sqlx::Error>>,
{
    let deadline = std::time::Instant::now() + Duration::from_secs(60);
    let mut wait = Duration::from_millis(100);
    loop {
        match f().await {
            Ok(v) => return Ok(v),
            Err(e) if std::time::Instant::now() < deadline && is_transient(&e) => {
                tokio::time::sleep(wait).await;
                wait = (wait * 2).min(Duration::from_secs(2));
            }
            Err(e) => return Err(e),
        }
    }
}

fn is_transient(e: &sqlx::Error) -> bool {
    matches!(
        e,
        sqlx::Error::Io(_)
            | sqlx::Error::PoolTimedOut
            | sqlx::Error::PoolClosed
            | sqlx::Error::Protocol(_)
    ) || matches!(e, sqlx::Error::Database(d) if d.message().contains("gone away") || d.message().contains("shutdown"))
}
