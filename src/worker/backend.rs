//! The apalis backend over the MySQL outbox.
//!
//! apalis-core 1.0 builds a durable backend from a [`Persistence`]
//! implementation driven by [`Persisted`] (registration, heartbeat, batch
//! buffer, hand-back on shutdown), as apalis-redis does. Here each step is a
//! query of `db::outbox`:
//! - `fetch_next` claims due rows with the `FOR UPDATE SKIP LOCKED` lease
//!   (never more than the free slots of this worker);
//! - `heartbeat` (every poll interval) extends the leases of the jobs this
//!   worker holds, once a third of the lease has passed;
//! - `reenqueue_abandoned` hands back the claimed jobs that a shutdown left
//!   unstarted (pending again, their attempt not counted);
//! - the outcome of a job is written by the acknowledgement
//!   ([`super::ack::OutboxAck`]), not through backend events;
//! - on close, once apalis is done, the rows this worker still holds but
//!   never ran go back too ([`OutboxPersistence::hand_back_unstarted`]):
//!   apalis drops a fetch that is under way when the shutdown comes, and
//!   that claim may have committed without its rows ever reaching us.
//!
//! Enqueueing stays `queue::enqueue` in the business transaction: the backend
//! cannot push. A database that is away makes `fetch_next` return nothing
//! (logged once) rather than an error, which would stop the apalis worker.

use std::{
    collections::HashSet,
    future::Future,
    pin::Pin,
    sync::{
        Arc, Mutex,
        atomic::{AtomicBool, Ordering},
    },
    task::{Context, Poll},
    time::{Duration, Instant},
};

use apalis_core::{
    backend::{
        Backend, BackendConfig,
        finalize::Ephemeral,
        persistence::{Persisted, Persistence, TaskEvent},
    },
    task::{Task, builder::TaskBuilder, task_id::TaskId},
    worker::context::WorkerContext,
};
use tower::layer::util::Identity;

use super::ack::JobMeta;
use crate::db::{self, Pool, outbox::ClaimedJob};

/// The ids of the jobs a worker holds (claimed, running or buffered), shared
/// by the backend (which claims and extends their leases) and the
/// acknowledgement (which releases them).
#[derive(Clone, Default, Debug)]
pub struct InFlight(Arc<Mutex<HashSet<u64>>>);

impl InFlight {
    fn ids(&self) -> Vec<u64> {
        self.0
            .lock()
            .map(|set| set.iter().copied().collect())
            .unwrap_or_default()
    }
    pub fn len(&self) -> usize {
        self.0.lock().map(|set| set.len()).unwrap_or_default()
    }
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
    pub fn insert(&self, id: u64) {
        if let Ok(mut set) = self.0.lock() {
            set.insert(id);
        }
    }
    pub fn remove(&self, id: u64) {
        if let Ok(mut set) = self.0.lock() {
            set.remove(&id);
        }
    }
}

/// The outbox as an apalis [`Persistence`].
#[derive(Clone)]
pub struct OutboxPersistence {
    pool: Pool,
    /// `outbox.locked_by` of the rows this worker claims.
    worker_id: String,
    batch: u32,
    lease: Duration,
    in_flight: InFlight,
    last_extension: Arc<Mutex<Instant>>,
    db_down: Arc<AtomicBool>,
}

impl OutboxPersistence {
    pub fn new(
        pool: Pool,
        worker_id: String,
        batch: u32,
        lease: Duration,
        in_flight: InFlight,
    ) -> Self {
        Self {
            pool,
            worker_id,
            batch,
            lease,
            in_flight,
            last_extension: Arc::new(Mutex::new(Instant::now())),
            db_down: Arc::new(AtomicBool::new(false)),
        }
    }

    fn lease_secs(&self) -> u32 {
        u32::try_from(self.lease.as_secs().max(1)).unwrap_or(300)
    }

    /// The last step of a shutdown: every row still `running` under this
    /// worker's name that no job of ours is running goes back to the queue,
    /// its attempt not counted. By then apalis has drained the jobs it
    /// started (each acknowledged) and handed back the buffered ones; what
    /// is left was claimed by a fetch that apalis dropped half-way (the
    /// shutdown came while the claim was under way), so no handler saw it.
    /// Without this sweep those rows would wait for their lease to end.
    pub async fn hand_back_unstarted(&self) {
        let running = self.in_flight.ids();
        match super::with_db_retry(|| {
            db::outbox::hand_back_all_but(&self.pool, &self.worker_id, &running)
        })
        .await
        {
            Ok(0) => {}
            Ok(count) => tracing::info!(count, "claimed jobs handed back at shutdown"),
            // Their leases run out: another worker takes them then.
            Err(e) => tracing::warn!(error = %e, "could not hand the claimed jobs back"),
        }
    }
}

/// A claimed row as an apalis task: its id is the task id, its attempt
/// count the task's, and [`JobMeta`] travels with it for the
/// acknowledgement.
pub fn task_of(job: ClaimedJob) -> Task<ClaimedJob> {
    let meta = JobMeta::of(&job);
    TaskBuilder::new(job)
        .task_id(TaskId::Int(meta.id))
        .attempt(meta.attempts as usize)
        .max_attempts(meta.max_attempts as usize)
        .data(meta)
        .build()
}

impl Persistence for OutboxPersistence {
    type Compact = ClaimedJob;
    type Response = ();
    type Error = sqlx::Error;

    /// Nothing to register: a claimed row names its worker (`locked_by`).
    async fn register(&mut self, worker: &WorkerContext) -> Result<(), sqlx::Error> {
        tracing::info!(worker = %self.worker_id, name = worker.name(), "worker started");
        Ok(())
    }

    async fn heartbeat(&mut self, _worker: &WorkerContext) -> Result<(), sqlx::Error> {
        let due = self
            .last_extension
            .lock()
            .map(|last| last.elapsed() >= self.lease / 3)
            .unwrap_or(true);
        if !due {
            return Ok(());
        }
        let ids = self.in_flight.ids();
        if !ids.is_empty() {
            match db::outbox::extend_leases(&self.pool, &ids, &self.worker_id, self.lease_secs())
                .await
            {
                Ok(extended) if extended < ids.len() as u64 => {
                    tracing::warn!(held = ids.len(), extended, "some leases were lost");
                }
                Ok(_) => {}
                Err(e) => tracing::warn!(error = %e, "could not extend the leases"),
            }
        }
        if let Ok(mut last) = self.last_extension.lock() {
            *last = Instant::now();
        }
        Ok(())
    }

    async fn fetch_next(
        &mut self,
        _worker: &WorkerContext,
    ) -> Result<Vec<Task<ClaimedJob>>, sqlx::Error> {
        let room = self.batch.saturating_sub(self.in_flight.len() as u32);
        if room == 0 {
            return Ok(Vec::new());
        }
        match db::outbox::claim(&self.pool, &self.worker_id, room, self.lease_secs()).await {
            Ok(jobs) => {
                if self.db_down.swap(false, Ordering::Relaxed) {
                    tracing::info!("worker reconnected to MySQL");
                }
                for job in &jobs {
                    self.in_flight.insert(job.id);
                }
                Ok(jobs.into_iter().map(task_of).collect())
            }
            // Another worker's claim won a lock conflict: the next poll
            // claims again.
            Err(e) if db::outbox::is_lock_conflict(&e) => {
                tracing::debug!(error = %e, "claim lost a lock conflict");
                Ok(Vec::new())
            }
            Err(e) => {
                if !self.db_down.swap(true, Ordering::Relaxed) {
                    tracing::warn!(error = %e, "worker cannot claim jobs (MySQL down?)");
                }
                Ok(Vec::new())
            }
        }
    }

    async fn reenqueue_abandoned(
        &mut self,
        tasks: Vec<Task<ClaimedJob>>,
        _worker: &WorkerContext,
    ) -> Result<u64, sqlx::Error> {
        let ids: Vec<u64> = tasks.iter().map(|t| t.args.id).collect();
        let handed =
            super::with_db_retry(|| db::outbox::hand_back(&self.pool, &ids, &self.worker_id)).await;
        for id in &ids {
            self.in_flight.remove(*id);
        }
        match handed {
            Ok(count) => {
                tracing::info!(count, "unstarted jobs handed back at shutdown");
                Ok(count)
            }
            // Their leases run out: another worker takes them then.
            Err(e) => {
                tracing::warn!(error = %e, "could not hand the unstarted jobs back");
                Ok(0)
            }
        }
    }

    async fn handle_events(
        &mut self,
        _events: Vec<TaskEvent<()>>,
        _worker: &WorkerContext,
    ) -> Result<(), sqlx::Error> {
        Ok(())
    }

    async fn push_tasks(&mut self, _tasks: Vec<Task<ClaimedJob>>) -> Result<(), sqlx::Error> {
        Err(sqlx::Error::Protocol(
            "jobs are enqueued with queue::enqueue in the business transaction".into(),
        ))
    }
}

/// The apalis [`Backend`] of `histologe-worker`.
pub struct OutboxBackend {
    persist: Persisted<OutboxPersistence>,
    /// The same outbox, for the sweep of [`Backend::poll_close`].
    outbox: OutboxPersistence,
    /// That sweep, once started; `closed` once it is over.
    sweep: Option<Pin<Box<dyn Future<Output = ()> + Send>>>,
    closed: bool,
    /// Sleep between polls of an empty queue: the heartbeat timer of
    /// [`Persisted`] wakes an idle worker at this pace.
    poll_interval: Duration,
    /// Our own wake-up while `poll_next` waits: [`Persisted`] polls its
    /// heartbeat timer only between fetches, so a timer that fires during a
    /// fetch (a slow claim, a database away for seconds) would wake nobody
    /// once that fetch comes back empty, and the worker would sleep forever.
    idle: Option<Pin<Box<tokio::time::Sleep>>>,
}

impl OutboxBackend {
    pub fn new(persistence: OutboxPersistence, poll_interval: Duration) -> Self {
        Self {
            outbox: persistence.clone(),
            persist: Persisted::new(persistence),
            sweep: None,
            closed: false,
            poll_interval,
            idle: None,
        }
    }
}

impl Backend for OutboxBackend {
    type Task = Task<ClaimedJob>;
    type Error = sqlx::Error;

    fn poll_ready(
        &mut self,
        cx: &mut Context<'_>,
        worker: &WorkerContext,
    ) -> Poll<Result<(), sqlx::Error>> {
        self.persist.poll_ready(cx, worker, self.poll_interval)
    }

    fn poll_next(
        &mut self,
        cx: &mut Context<'_>,
        worker: &WorkerContext,
    ) -> Poll<Option<Result<Self::Task, sqlx::Error>>> {
        let next = self.persist.poll_next(cx, worker);
        if next.is_pending() {
            let every = self.poll_interval;
            let idle = self
                .idle
                .get_or_insert_with(|| Box::pin(tokio::time::sleep(every)));
            if idle.as_mut().poll(cx).is_ready() {
                idle.as_mut().reset(tokio::time::Instant::now() + every);
                let _ = idle.as_mut().poll(cx);
                cx.waker().wake_by_ref();
            }
        } else {
            self.idle = None;
        }
        next
    }

    fn poll_close(
        &mut self,
        cx: &mut Context<'_>,
        worker: &WorkerContext,
    ) -> Poll<Result<(), sqlx::Error>> {
        if self.closed {
            return Poll::Ready(Ok(()));
        }
        if self.sweep.is_none() {
            match self.persist.poll_close(cx, worker) {
                Poll::Ready(Ok(())) => {}
                other => return other,
            }
            let outbox = self.outbox.clone();
            self.sweep = Some(Box::pin(async move { outbox.hand_back_unstarted().await }));
        }
        if let Some(sweep) = self.sweep.as_mut()
            && sweep.as_mut().poll(cx).is_pending()
        {
            return Poll::Pending;
        }
        self.sweep = None;
        self.closed = true;
        Poll::Ready(Ok(()))
    }
}

impl BackendConfig for OutboxBackend {
    type Args = ClaimedJob;
    type Id = u64;
    /// Tasks are handed over as claimed rows; the handler parses the payload
    /// (an unreadable one is a permanent failure of that job, not of the
    /// worker).
    type Kind = Ephemeral;
    type Config = ();
    type Layer = Identity;

    fn config(&self) -> &() {
        &()
    }

    fn middleware(&mut self, _worker: &mut WorkerContext) -> Identity {
        Identity::new()
    }
}
