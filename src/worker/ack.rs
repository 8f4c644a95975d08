//! The acknowledgement of a job: apalis' [`Acknowledge`] writing the outcome
//! into its outbox row, exactly as the hand-written loop did:
//! - done (unless the handler marked it done in its own transaction);
//! - failed with exponential backoff and jitter, never before the service's
//!   Retry-After;
//! - dead after the last attempt or at once on a permanent error.
//!
//! Durable retries stay in the table; apalis' in-memory retry layer is not
//! used. A panic (caught by apalis' catch-panic layer) and a per-job timeout
//! count as failures worth another attempt. Every write goes through
//! [`super::with_db_retry`]: a job whose effect happened must not lose its
//! outcome to a database restart.

use std::time::Duration;

use apalis::layers::sentry::SentryTaskError;
use apalis_core::{error::BoxDynError, task::ExecutionContext, worker::ext::ack::Acknowledge};
use futures::future::BoxFuture;

use super::{Completed, Worker, with_db_retry};
use crate::{db, db::outbox::ClaimedJob, integrations::JobError};

/// What the acknowledgement needs of a claimed row; travels in the task's
/// data.
#[derive(Debug, Clone)]
pub struct JobMeta {
    pub id: u64,
    pub kind: String,
    /// Attempts including this one.
    pub attempts: u32,
    pub max_attempts: u32,
}

impl JobMeta {
    pub fn of(job: &ClaimedJob) -> Self {
        Self {
            id: job.id,
            kind: job.kind.clone(),
            attempts: job.attempts,
            max_attempts: job.max_attempts,
        }
    }
}

/// A handler's [`JobError`] as the error of the apalis service (apalis
/// layers need a `std::error::Error`).
#[derive(Debug)]
pub struct JobFailure(pub JobError);

impl std::fmt::Display for JobFailure {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.0.fmt(f)
    }
}

impl std::error::Error for JobFailure {}

/// The failure recorded for an error of the service stack: the handler's
/// own, a timeout, or a panic, possibly wrapped by the Sentry layer.
pub fn job_error_of(error: &BoxDynError, timeout: Duration) -> JobError {
    let mut current: &(dyn std::error::Error + 'static) = error.as_ref();
    loop {
        if let Some(JobFailure(e)) = current.downcast_ref::<JobFailure>() {
            return e.clone();
        }
        if current.is::<tower::timeout::error::Elapsed>() {
            return JobError::retry(format!(
                "délai dépassé : la tâche a duré plus de {} s",
                timeout.as_secs()
            ));
        }
        // The Sentry layer wraps the inner error without naming it as its
        // source.
        if let Some(SentryTaskError::Inner(inner)) = current.downcast_ref::<SentryTaskError>() {
            current = inner.as_ref();
            continue;
        }
        match current.source() {
            Some(source) => current = source,
            None => return JobError::retry(format!("erreur du worker : {error}")),
        }
    }
}

/// Writes each job's outcome into the outbox.
#[derive(Clone)]
pub struct OutboxAck {
    pub worker: Worker,
}

impl Acknowledge<Completed> for OutboxAck {
    type Error = std::convert::Infallible;
    type Future = BoxFuture<'static, Result<(), std::convert::Infallible>>;

    fn ack(
        &mut self,
        res: &Result<Completed, BoxDynError>,
        ctx: &ExecutionContext,
    ) -> Self::Future {
        let worker = self.worker.clone();
        let meta = ctx.data().get::<JobMeta>().cloned();
        let outcome = match res {
            Ok(completed) => Ok(*completed),
            Err(e) => Err(job_error_of(e, worker.options.job_timeout)),
        };
        Box::pin(async move {
            if let Some(meta) = meta {
                worker.acknowledge(&meta, outcome).await;
                worker.in_flight.remove(meta.id);
            }
            Ok(())
        })
    }
}

impl Worker {
    /// Records a job's outcome (the acknowledgement of both the apalis
    /// worker and the deterministic runner).
    pub async fn acknowledge(&self, job: &JobMeta, outcome: Result<Completed, JobError>) {
        match outcome {
            Ok(Completed::AlreadyMarked) => {}
            Ok(Completed::Done) => {
                let marked = with_db_retry(|| async {
                    let mut conn = self.pool.acquire().await?;
                    db::outbox::mark_done(&mut conn, job.id, &self.id).await
                })
                .await;
                match marked {
                    Ok(true) => {}
                    Ok(false) => tracing::warn!(job = job.id, "job done but its lease was lost"),
                    Err(e) => tracing::warn!(
                        job = job.id,
                        error = %e,
                        "job done but it could not be marked so (its lease will run out)"
                    ),
                }
            }
            Err(error) => self.record_failure(job, &error).await,
        }
    }

    async fn record_failure(&self, job: &JobMeta, error: &JobError) {
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
        match marked {
            Ok(true) => {}
            Ok(false) => tracing::warn!(job = job.id, "failure not recorded: its lease was lost"),
            Err(e) => tracing::warn!(job = job.id, error = %e, "could not record the failure"),
        }
    }
}
