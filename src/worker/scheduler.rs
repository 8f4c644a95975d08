//! Periodic tasks as outbox rows.
//!
//! Every worker ticks each minute (apalis-cron, [`register`]) and calls
//! [`tick`]. For each schedule whose hour has
//! come today (UTC), it inserts `Job::Scheduled { name, period }` with the
//! idempotency key `schedule:<name>:<YYYY-MM-DD>`: the unique key makes the
//! second insert a no-op, so a schedule runs once per day however many
//! workers there are, and a worker that was down at the hour catches up
//! when it comes back (same day). The job itself then has the outbox's
//! retries and log.

use std::time::Duration;

use apalis_core::{monitor::Monitor, worker::builder::WorkerBuilder};
use apalis_cron::{CronScheduler, Tick, timezone::Utc};
use time::OffsetDateTime;

use super::{Completed, Worker};
use crate::{
    db::{self, Pool},
    integrations::JobError,
    queue::{Email, Job, JobContext, enqueue},
};

/// A daily task and its hour (UTC).
pub struct Schedule {
    pub name: &'static str,
    pub hour: u8,
}

/// Every periodic task (Histologe's crons, docs/contracts.md §4.9 for Esabora).
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
        name: "antivirus_rescan",
        hour: 4,
    },
    Schedule {
        name: "outbox_prune",
        hour: 5,
    },
    Schedule {
        name: "api_purge",
        hour: 5,
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
    for schedule in SCHEDULES.iter().filter(|s| now.hour() >= s.hour) {
        let job = Job::Scheduled {
            name: schedule.name.into(),
            period: period.clone(),
        };
        let key = format!("schedule:{}:{period}", schedule.name);
        // InnoDB may still pick a concurrent upsert as a deadlock victim:
        // the other one inserted the row, the retry is a no-op.
        super::with_db_retry(|| async {
            let mut conn = pool.acquire().await?;
            enqueue(&mut conn, &job, Some(&key), JobContext::default()).await
        })
        .await?;
        due += 1;
    }
    Ok(due)
}

/// A tick every `period` (whole seconds, aligned on the Unix epoch, so
/// that every worker ticks at the same instants) as an apalis-cron
/// schedule. Production ticks each minute; each tick inserts the schedules
/// whose hour has come ([`tick`]).
#[derive(Debug, Clone, Copy)]
pub struct Every(pub Duration);

impl apalis_cron::Schedule<Utc> for Every {
    fn next_tick(&mut self, _timezone: &Utc) -> Option<Tick<Utc>> {
        let period = self.0.as_secs().max(1);
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .ok()?
            .as_secs();
        Some(Tick::new((now / period + 1) * period))
    }
}

/// What one cron tick does: insert the due periodic jobs for the tick's
/// instant. Several workers ticking at once insert each job once (the
/// idempotency keys).
pub async fn on_tick(pool: &Pool, at: Tick<Utc>) -> Result<usize, sqlx::Error> {
    let now = i64::try_from(at.get_timestamp())
        .ok()
        .and_then(|secs| OffsetDateTime::from_unix_timestamp(secs).ok())
        .unwrap_or_else(OffsetDateTime::now_utc);
    tick(pool, now).await
}

/// Adds the schedule worker (apalis-cron, a tick every
/// `options.schedule_every`) to the monitor.
pub fn register(monitor: Monitor, worker: &Worker) -> Monitor {
    let pool = worker.pool.clone();
    let every = Every(worker.options.schedule_every);
    let name = format!("schedules@{}", worker.id);
    monitor.register(move |_restarts| {
        let pool = pool.clone();
        WorkerBuilder::new(name.clone())
            .backend(CronScheduler::new(every))
            .build(move |at: Tick<Utc>| {
                let pool = pool.clone();
                async move {
                    // A failed tick (database away) is caught up by the
                    // next one: the schedules of the day stay due.
                    if let Err(e) = on_tick(&pool, at).await {
                        tracing::warn!(error = %e, "scheduler tick failed");
                    }
                }
            })
    })
}

/// Runs one periodic task.
pub async fn run(worker: &Worker, name: &str, period: &str) -> Result<Completed, JobError> {
    match name {
        "esabora_sync_schs" => fan_out_esabora_sync(worker, "schs", period).await,
        "esabora_sync_sish" => fan_out_esabora_sync(worker, "sish", period).await,
        "outbox_prune" => {
            let older_than = worker.options.retention.as_secs();
            let mut pruned = 0;
            loop {
                let deleted = db::outbox::prune_done(&worker.pool, older_than, 1000).await?;
                pruned += deleted;
                if deleted < 1000 {
                    break;
                }
            }
            tracing::info!(pruned, "finished jobs past their retention pruned");
            Ok(Completed::Done)
        }
        "api_purge" => {
            let (tokens, keys) = db::api::purge(&worker.pool).await?;
            tracing::info!(tokens, keys, "old API tokens and idempotency keys purged");
            Ok(Completed::Done)
        }
        "draft_purge" => {
            let purged = db::jobs_data::purge_old_drafts(&worker.pool).await?;
            tracing::info!(purged, "drafts older than six months purged");
            Ok(Completed::Done)
        }
        "inactive_accounts" => {
            let warned = warn_inactive_accounts(worker).await?;
            let archived = db::jobs_data::archive_inactive_accounts(&worker.pool).await?;
            tracing::info!(warned, "accounts unused for eleven months warned");
            tracing::info!(archived, "accounts unused for a year archived");
            Ok(Completed::Done)
        }
        "resident_feedback" => resident_feedback(worker).await,
        "antivirus_rescan" => super::antivirus::rescan_pending(worker, period).await,
        "visit_reminders" => visit_reminders(worker).await,
        "draft_reminders" => draft_reminders(worker).await,
        "daily_digest" => daily_digest(worker, period).await,
        "esabora_sync_sish_visits" => {
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

fn date_fr(at: time::PrimitiveDateTime) -> String {
    format!(
        "{:02}/{:02}/{} à {:02}h{:02} (UTC)",
        at.day(),
        u8::from(at.month()),
        at.year(),
        at.hour(),
        at.minute()
    )
}

/// Residents without public news for 45 days are asked how things are,
/// once per silence (the key holds its start).
async fn resident_feedback(worker: &Worker) -> Result<Completed, JobError> {
    let base = &worker.config.base_url;
    let targets = db::jobs_data::feedback_targets(&worker.pool).await?;
    let mut conn = worker.pool.acquire().await?;
    for t in targets {
        let email = Email::CaseUpdateForResident {
            to: t.email.clone(),
            reference: t.reference.clone(),
            title: "Où en est votre logement ?".into(),
            message: "Votre dossier n’a pas eu de nouvelles depuis plus de 45 jours. Dites-nous \
                      dans votre espace de suivi si les problèmes persistent, si des travaux ont \
                      été faits ou si vous avez déménagé."
                .into(),
            link: format!("{base}/suivre-mon-signalement/{}", t.follow_up_code),
        };
        let key = format!("resident_feedback:{}:{}", t.report_id, t.since.date());
        let context = JobContext {
            report_id: Some(t.report_id),
            ..JobContext::default()
        };
        enqueue(&mut conn, &Job::SendEmail(email), Some(&key), context).await?;
    }
    Ok(Completed::Done)
}

/// Two days before a visit: the resident and the partner's users; two days
/// after a visit without conclusion: the partner's users.
async fn visit_reminders(worker: &Worker) -> Result<Completed, JobError> {
    let base = &worker.config.base_url;
    let mut conn = worker.pool.acquire().await?;
    for before in [true, false] {
        for v in db::jobs_data::visits_to_remind(&worker.pool, before).await? {
            let context = JobContext {
                report_id: Some(v.report_id),
                partner_id: v.partner_id,
                delay_secs: 0,
            };
            let stage = if before { "before" } else { "conclusion" };
            if before && let Some(to) = &v.resident_email {
                let email = Email::CaseUpdateForResident {
                    to: to.clone(),
                    reference: v.reference.clone(),
                    title: "Rappel : visite de votre logement".into(),
                    message: format!(
                        "La visite de votre logement est prévue le {}. Merci d’être présent ou \
                         représenté.",
                        date_fr(v.scheduled_at)
                    ),
                    link: format!("{base}/suivre-mon-signalement/{}", v.follow_up_code),
                };
                let key = format!("visit_reminder:{}:{stage}:resident", v.visit_id);
                enqueue(&mut conn, &Job::SendEmail(email), Some(&key), context).await?;
            }
            let staff = match v.partner_id {
                Some(partner) => db::jobs_data::partner_user_emails(&worker.pool, partner).await?,
                None => Vec::new(),
            };
            let title = if before {
                format!("Rappel : visite prévue le {}", date_fr(v.scheduled_at))
            } else {
                format!(
                    "Conclusion à renseigner pour la visite du {}",
                    date_fr(v.scheduled_at)
                )
            };
            for to in staff {
                let email = Email::CaseUpdateForStaff {
                    to: to.clone(),
                    reference: v.reference.clone(),
                    title: title.clone(),
                    link: format!("{base}/bo/signalements/{}", v.report_uuid),
                };
                let key = format!("visit_reminder:{}:{stage}:{to}", v.visit_id);
                enqueue(&mut conn, &Job::SendEmail(email), Some(&key), context).await?;
            }
        }
    }
    Ok(Completed::Done)
}

/// Drafts left aside three days get their resume link once.
async fn draft_reminders(worker: &Worker) -> Result<Completed, JobError> {
    let base = &worker.config.base_url;
    for d in db::jobs_data::drafts_to_remind(&worker.pool).await? {
        let mut tx = worker.pool.begin().await?;
        let email = Email::DraftResume {
            to: d.email.clone(),
            link: format!("{base}/signalement/{}/{}", d.uuid, d.current_step),
        };
        let key = format!("draft_reminder:{}", d.id);
        enqueue(
            &mut tx,
            &Job::SendEmail(email),
            Some(&key),
            JobContext::default(),
        )
        .await?;
        db::jobs_data::mark_draft_reminded(&mut tx, d.id).await?;
        tx.commit().await?;
    }
    Ok(Completed::Done)
}

/// Accounts unused for eleven months are told they will be deactivated in
/// 30 days unless their owner logs in (archived by the same task later).
async fn warn_inactive_accounts(worker: &Worker) -> Result<usize, JobError> {
    let users = db::jobs_data::inactive_users_to_warn(&worker.pool).await?;
    let deadline = (OffsetDateTime::now_utc() + time::Duration::days(30)).date();
    let deadline = format!(
        "{:02}/{:02}/{}",
        deadline.day(),
        u8::from(deadline.month()),
        deadline.year()
    );
    for user in &users {
        let mut tx = worker.pool.begin().await?;
        let email = Email::AccountInactivity {
            to: user.email.clone(),
            first_name: user.first_name.clone(),
            deadline: deadline.clone(),
            link: format!("{}/connexion", worker.config.base_url),
        };
        let key = format!("inactivity_warning:{}:{}", user.id, user.last_seen.date());
        enqueue(
            &mut tx,
            &Job::SendEmail(email),
            Some(&key),
            JobContext::default(),
        )
        .await?;
        db::jobs_data::mark_inactivity_warned(&mut tx, user.id).await?;
        tx.commit().await?;
    }
    Ok(users.len())
}

/// One e-mail per user who chose the digest, listing the notifications not
/// yet e-mailed; they are marked e-mailed in the same transaction.
async fn daily_digest(worker: &Worker, period: &str) -> Result<Completed, JobError> {
    let rows = db::jobs_data::digest_rows(&worker.pool).await?;
    let base = &worker.config.base_url;
    let mut users: Vec<(u64, String, Vec<db::jobs_data::DigestRow>)> = Vec::new();
    for row in rows {
        match users.last_mut() {
            Some((id, _, items)) if *id == row.user_id => items.push(row),
            _ => users.push((row.user_id, row.email.clone(), vec![row])),
        }
    }
    for (user_id, to, rows) in users {
        let last_id = rows.iter().map(|r| r.id).max().unwrap_or_default();
        let items = rows
            .iter()
            .map(|r| {
                (
                    r.reference.clone().unwrap_or_else(|| "—".into()),
                    r.kind.digest_label().to_owned(),
                    match &r.report_uuid {
                        Some(uuid) => format!("{base}/bo/signalements/{uuid}"),
                        None => format!("{base}/bo"),
                    },
                )
            })
            .collect();
        let mut tx = worker.pool.begin().await?;
        let email = Email::DailyDigest { to, items };
        let key = format!("digest:{user_id}:{period}");
        enqueue(
            &mut tx,
            &Job::SendEmail(email),
            Some(&key),
            JobContext::default(),
        )
        .await?;
        db::jobs_data::mark_digested(&mut tx, user_id, last_id).await?;
        tx.commit().await?;
    }
    Ok(Completed::Done)
}
