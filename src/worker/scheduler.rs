//! Periodic tasks as outbox rows.
//!
//! Every worker calls [`tick`] each minute. For each schedule whose hour has
//! come today (UTC), it inserts `Job::Scheduled { name, period }` with the
//! idempotency key `schedule:<name>:<YYYY-MM-DD>`: the unique key makes the
//! second insert a no-op, so a schedule runs once per day however many
//! workers there are, and a worker that was down at the hour catches up
//! when it comes back (same day). The job itself then has the outbox's
//! retries and log.

use time::OffsetDateTime;

use super::{Completed, Worker};
use crate::{
    db::{self, Pool},
    integrations::JobError,
    queue::{Job, JobContext, enqueue},
};

/// A daily task and its hour (UTC).
pub struct Schedule {
    pub name: &'static str,
    pub hour: u8,
}

/// Every periodic task (Histologe's crons, CONTRACTS.md §4.9 for Esabora).
pub const SCHEDULES: &[Schedule] = &[
    Schedule {
        name: "draft_purge",
        hour: 2,
    },
    Schedule {
        name: "inactive_accounts",
        hour: 3,
    },
    Schedule {
        name: "daily_digest",
        hour: 6,
    },
    Schedule {
        name: "visit_reminders",
        hour: 7,
    },
    Schedule {
        name: "draft_reminders",
        hour: 8,
    },
    Schedule {
        name: "resident_feedback",
        hour: 9,
    },
    Schedule {
        name: "esabora_sync_schs",
        hour: 17,
    },
    Schedule {
        name: "esabora_sync_sish",
        hour: 22,
    },
];

/// The period key of a daily task.
pub fn period(now: OffsetDateTime) -> String {
    let d = now.date();
    format!("{}-{:02}-{:02}", d.year(), u8::from(d.month()), d.day())
}

/// Inserts the due periodic jobs. Returns how many schedules are due now
/// (inserted or already there).
pub async fn tick(pool: &Pool, now: OffsetDateTime) -> Result<usize, sqlx::Error> {
    let period = period(now);
    let mut due = 0;
    // One autocommit insert per schedule: concurrent ticks of several
    // workers then never deadlock on the unique key (a transaction holding
    // several inserts can).
    let mut conn = pool.acquire().await?;
    for schedule in SCHEDULES.iter().filter(|s| now.hour() >= s.hour) {
        let job = Job::Scheduled {
            name: schedule.name.into(),
            period: period.clone(),
        };
        let key = format!("schedule:{}:{period}", schedule.name);
        let mut tries = 0;
        loop {
            match enqueue(&mut conn, &job, Some(&key), JobContext::default()).await {
                Ok(()) => break,
                // InnoDB may still pick a concurrent upsert as a deadlock
                // victim: the other one inserted the row, try again.
                Err(sqlx::Error::Database(e)) if is_deadlock(e.as_ref()) && tries < 5 => {
                    tries += 1;
                }
                Err(e) => return Err(e),
            }
        }
        due += 1;
    }
    Ok(due)
}

fn is_deadlock(e: &dyn sqlx::error::DatabaseError) -> bool {
    e.code().as_deref() == Some("40001") || e.message().contains("Deadlock")
}

/// Runs one periodic task.
pub async fn run(worker: &Worker, name: &str, period: &str) -> Result<Completed, JobError> {
    match name {
        "esabora_sync_schs" => fan_out_esabora_sync(worker, "schs", period).await,
        "esabora_sync_sish" => fan_out_esabora_sync(worker, "sish", period).await,
        "draft_purge" => {
            let purged = db::jobs_data::purge_old_drafts(&worker.pool).await?;
            tracing::info!(purged, "drafts older than six months purged");
            Ok(Completed::Done)
        }
        "inactive_accounts" => {
            let archived = db::jobs_data::archive_inactive_accounts(&worker.pool).await?;
            tracing::info!(archived, "accounts unused for a year archived");
            Ok(Completed::Done)
        }
        // These send e-mails whose templates belong to the features that
        // define them (digest, reminders, feedback request); until their
        // `Email` variants exist the task only records that it ran.
        "esabora_sync_sish_visits"
        | "daily_digest"
        | "visit_reminders"
        | "draft_reminders"
        | "resident_feedback" => {
            tracing::info!(task = name, "periodic task has nothing to send yet");
            Ok(Completed::Done)
        }
        other => Err(JobError::Permanent(format!(
            "tâche planifiée inconnue : {other}"
        ))),
    }
}

/// One `EsaboraSync` job per pushed assignment, keyed by period.
async fn fan_out_esabora_sync(
    worker: &Worker,
    kind: &str,
    period: &str,
) -> Result<Completed, JobError> {
    let targets = db::jobs_data::assignments_to_sync(&worker.pool, kind).await?;
    let mut tx = worker.pool.begin().await?;
    for (assignment_id, partner_id, report_id) in targets {
        enqueue(
            &mut tx,
            &Job::EsaboraSync { assignment_id },
            Some(&format!("esabora_sync:{assignment_id}:{period}")),
            JobContext {
                report_id: Some(report_id),
                partner_id: Some(partner_id),
                delay_secs: 0,
            },
        )
        .await?;
    }
    tx.commit().await?;
    Ok(Completed::Done)
}
