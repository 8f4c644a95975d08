//! The job engine run by `histologe-worker` (and in-process by the tests),
//! built on apalis (docs/worker.md).
//!
//! The `outbox` table is the queue, the source of truth and the job log:
//! 1. the apalis backend ([`backend::OutboxBackend`]) claims due rows with a
//!    lease (`db::outbox::claim`: `FOR UPDATE SKIP LOCKED`, status
//!    `running`, `locked_by`, `locked_until`), so any number of workers can
//!    run, and extends the leases of the jobs it holds;
//! 2. each claimed job goes through one tower service ([`Worker::service`]):
//!    the acknowledgement, Sentry, a caught panic, a per-job timeout, then
//!    its handler ([`handlers`]) in a tracing span;
//! 3. the acknowledgement ([`ack`]) marks the row `done`, or `failed` with
//!    `run_after` = now + exponential backoff with jitter (at least the
//!    service's Retry-After), or `dead` after `max_attempts` or on a
//!    permanent error. An admin can retry a dead job from the
//!    "Interconnexions" page.
//!
//! apalis' `Monitor` runs the outbox worker (with a concurrency limit) and
//! the schedules ([`scheduler`], on apalis-cron), and stops them on SIGTERM:
//! jobs in flight finish and are acknowledged, claimed jobs not yet started
//! are handed back. A worker killed mid-job leaves its rows `running`; once
//! the lease is over, another worker claims them again. Handlers are
//! idempotent (same writes, Esabora's duplicate answer, webhook delivery
//! ids), and e-mails go through `sent_emails` so that none is sent twice.
//!
//! [`Worker::run_once`] is the deterministic runner of the tests: one claim,
//! then the same service (handler and acknowledgement) for each job.

pub mod ack;
pub mod antivirus;
pub mod backend;
pub mod handlers;
pub mod metrics;
pub mod scheduler;

use std::{sync::Arc, time::Duration};

use apalis::layers::{TimeoutLayer, catch_panic::CatchPanicLayer, sentry::SentryLayer};
use apalis_core::{
    error::BoxDynError,
    monitor::Monitor,
    task::Task,
    worker::{builder::WorkerBuilder, ext::ack::AcknowledgeLayer},
};
use futures::future::BoxFuture;
use rand::Rng;
use tower::{Service, ServiceBuilder, ServiceExt};

use self::{
    ack::{JobFailure, OutboxAck},
    backend::{InFlight, OutboxBackend, OutboxPersistence},
};
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
    /// Jobs claimed at once, and jobs run concurrently (apalis' concurrency
    /// limit).
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
    /// Whether this worker also runs the schedules (harmless on several
    /// workers: one row per period).
    pub scheduler: bool,
    /// Done jobs older than this are deleted by the `outbox_prune` schedule
    /// (`OUTBOX_RETENTION_DAYS`, docs/worker.md).
    pub retention: Duration,
    /// A job running longer is cut short and counted as a failure worth
    /// another attempt (`WORKER_JOB_TIMEOUT_SECS`).
    pub job_timeout: Duration,
    /// How often the schedules tick (apalis-cron); each tick inserts the
    /// periodic jobs whose hour has come.
    pub schedule_every: Duration,
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
            job_timeout: Duration::from_secs(600),
            schedule_every: Duration::from_secs(60),
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
    /// The jobs this worker holds (their leases are extended).
    pub in_flight: InFlight,
    /// Turns true once [`Worker::run`] has told apalis to stop: from then
    /// on the worker takes no new job ([`Worker::stopped_taking_jobs`]).
    stopping: Arc<tokio::sync::watch::Sender<bool>>,
    /// What runs a claimed job: [`Worker::handle`], or a test's stand-in
    /// ([`Worker::with_handler`]) behind the same layers and acknowledgement.
    handler: Handler,
}

/// A job handler, as the service stack calls it.
pub type Handler = Arc<
    dyn Fn(Worker, ClaimedJob) -> BoxFuture<'static, Result<Completed, JobError>> + Send + Sync,
>;

/// How a handler finished.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
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
            in_flight: InFlight::default(),
            stopping: Arc::new(tokio::sync::watch::Sender::new(false)),
            handler: Arc::new(|worker, job| Box::pin(async move { worker.handle(job).await })),
        })
    }

    /// The same worker with another handler behind the same layers and
    /// acknowledgement (tests: a panicking or hanging handler).
    pub fn with_handler<F, Fut>(mut self, handler: F) -> Self
    where
        F: Fn(Worker, ClaimedJob) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = Result<Completed, JobError>> + Send + 'static,
    {
        self.handler = Arc::new(move |worker, job| Box::pin(handler(worker, job)));
        self
    }

    /// The service every job goes through, outermost first: the
    /// acknowledgement into the outbox, the Sentry transaction, the caught
    /// panic, the per-job timeout, the handler.
    pub fn service(
        &self,
    ) -> impl Service<
        Task<ClaimedJob>,
        Response = Completed,
        Error = BoxDynError,
        Future = BoxFuture<'static, Result<Completed, BoxDynError>>,
    >
    + Clone
    + Send
    + 'static
    + use<> {
        let worker = self.clone();
        let handler = self.handler.clone();
        ServiceBuilder::new()
            .layer(AcknowledgeLayer::new(OutboxAck {
                worker: self.clone(),
            }))
            .layer(SentryLayer::new())
            .layer(CatchPanicLayer::with_panic_handler(panic_failure))
            .layer(TimeoutLayer::new(self.options.job_timeout))
            .service_fn(move |task: Task<ClaimedJob>| {
                let run = handler(worker.clone(), task.args);
                async move { run.await.map_err(|e| BoxDynError::from(JobFailure(e))) }
            })
    }

    /// Parses a claimed job and runs its handler in a span.
    pub async fn handle(&self, job: ClaimedJob) -> Result<Completed, JobError> {
        use tracing::Instrument;
        let ctx = CallContext {
            outbox_id: Some(job.id),
            partner_id: job.partner_id,
            report_id: job.report_id,
            attempt: job.attempts,
        };
        let span =
            tracing::info_span!("job", id = job.id, kind = %job.kind, attempt = job.attempts);
        match serde_json::from_value(job.payload.0.clone()) {
            Ok(parsed) => {
                handlers::run(self, &job, &ctx, parsed)
                    .instrument(span)
                    .await
            }
            Err(e) => Err(JobError::Permanent(format!("tâche illisible : {e}"))),
        }
    }

    /// Runs the worker until `shutdown` resolves (SIGTERM in production):
    /// apalis' `Monitor` with the outbox worker and, when
    /// `options.scheduler`, the schedules. On shutdown, jobs in flight
    /// finish and are acknowledged; claimed jobs not yet started are handed
    /// back.
    pub async fn run(self, shutdown: impl Future<Output = ()> + Send + 'static) {
        let mut monitor = Monitor::new();
        let me = self.clone();
        monitor = monitor.register(move |_restarts| {
            let persistence = OutboxPersistence::new(
                me.pool.clone(),
                me.id.clone(),
                me.options.batch.max(1),
                me.options.lease,
                me.in_flight.clone(),
            );
            WorkerBuilder::new(format!("outbox@{}", me.id))
                .backend(OutboxBackend::new(persistence, me.options.poll_interval))
                .layer(tower::limit::ConcurrencyLimitLayer::new(
                    me.options.batch.max(1) as usize,
                ))
                .build(me.service())
        });
        if self.options.scheduler {
            monitor = scheduler::register(monitor, &self);
        }
        tracing::info!(worker = %self.id, "worker started");
        // The monitor's own shutdown is started here, before `stopping` is
        // raised: whoever waits on `stopped_taking_jobs` knows that no job
        // will start any more (apalis checks that flag before each poll of
        // the backend). `run_with_signal` starts it again: harmless.
        let monitor_ctx = monitor.context();
        let stopping = self.stopping.clone();
        let result = monitor
            .run_with_signal(async move {
                shutdown.await;
                tracing::info!("shutdown requested: jobs in flight finish, the others go back");
                let _ = monitor_ctx.shutdown();
                stopping.send_replace(true);
                Ok(())
            })
            .await;
        if let Err(e) = result {
            tracing::error!(error = %e, "worker stopped with an error");
        }
        tracing::info!(worker = %self.id, "worker stopped");
    }

    /// Resolves once [`Self::run`] has received its shutdown signal and
    /// apalis has been told to stop: no job starts after that, the jobs in
    /// flight finish (tests synchronise on it instead of sleeping).
    pub async fn stopped_taking_jobs(&self) {
        let mut seen = self.stopping.subscribe();
        // The sender lives in `self`: `wait_for` cannot fail while we wait.
        let _ = seen.wait_for(|stopping| *stopping).await;
    }

    /// The deterministic runner: claims one batch and runs each job through
    /// [`Self::service`] (same handler, same acknowledgement). Returns how
    /// many jobs ran.
    pub async fn run_once(&self) -> Result<usize, sqlx::Error> {
        let lease = u32::try_from(self.options.lease.as_secs().max(1)).unwrap_or(300);
        let jobs = db::outbox::claim(&self.pool, &self.id, self.options.batch, lease).await?;
        let count = jobs.len();
        let service = self.service();
        futures::future::join_all(jobs.into_iter().map(|job| {
            self.in_flight.insert(job.id);
            let id = job.id;
            let service = service.clone();
            async move {
                // The acknowledgement has recorded the outcome; the result
                // is only worth a log line here.
                if let Err(e) = service.oneshot(backend::task_of(job)).await {
                    tracing::debug!(job = id, error = %e, "job failed");
                }
            }
        }))
        .await;
        Ok(count)
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

/// A panicking handler's job fails like any other (retried, then dead);
/// the panic does not take the worker or the batch down.
fn panic_failure(panic: &Box<dyn std::any::Any + Send>) -> JobFailure {
    let text = panic
        .downcast_ref::<&str>()
        .map(|s| (*s).to_owned())
        .or_else(|| panic.downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "sans message".into());
    JobFailure(JobError::retry(format!("panique du worker : {text}")))
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

/// Worth another try: the database away, or a statement that lost a lock
/// conflict (InnoDB rolled it back whole, so it can run again).
fn is_transient(e: &sqlx::Error) -> bool {
    matches!(
        e,
        sqlx::Error::Io(_)
            | sqlx::Error::PoolTimedOut
            | sqlx::Error::PoolClosed
            | sqlx::Error::Protocol(_)
    ) || matches!(e, sqlx::Error::Database(d) if d.message().contains("gone away") || d.message().contains("shutdown"))
        || db::outbox::is_lock_conflict(e)
}
