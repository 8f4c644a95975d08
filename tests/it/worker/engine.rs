//! The apalis path of the worker (`Worker::run`: apalis' `Monitor`, the
//! outbox backend, the acknowledgement): a shutdown in the middle of a
//! batch, a killed worker taken over after its lease, a panicking handler,
//! cron ticks of two workers at once.

use std::{
    sync::Arc,
    time::{Duration, Instant},
};

use histologe::{
    db,
    queue::{Email, Job, JobContext},
    worker::{Completed, Worker, WorkerOptions, scheduler},
};
use tokio::{
    sync::{Semaphore, oneshot},
    task::JoinHandle,
};

use super::support::{enqueue, job, options, worker};
use crate::common::TestApp;

/// Polls `check` until it holds. The deadline only turns a hang into a
/// failure: it is generous because the whole suite shares two cores and
/// one MariaDB, and costs nothing when the state comes early.
async fn eventually(what: &str, mut check: impl AsyncFnMut() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(90);
    while !check().await {
        assert!(Instant::now() < deadline, "{what}: not reached in 90 s");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// Starts `worker.run` in a task; the sender stops it as SIGTERM would.
fn start(worker: &Worker) -> (oneshot::Sender<()>, JoinHandle<()>) {
    let (stop, stopped) = oneshot::channel::<()>();
    let running = tokio::spawn(worker.clone().run(async {
        let _ = stopped.await;
    }));
    (stop, running)
}

async fn statuses(app: &TestApp) -> Vec<(u64, String, u32)> {
    db::outbox::list_all(&app.db)
        .await
        .unwrap()
        .into_iter()
        .map(|j| (j.id, j.status, j.attempts))
        .collect()
}

fn mails(app: &TestApp) -> Vec<String> {
    histologe::mail::mailbox::list(app.mailbox.path())
        .unwrap()
        .into_iter()
        .map(|m| m.idempotency_key)
        .collect()
}

fn reset_email(n: usize) -> Job {
    Job::SendEmail(Email::PasswordReset {
        to: format!("agent{n}@ville.fr"),
        link: "https://x/y".into(),
    })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_shutdown_during_a_batch_loses_no_job_and_sends_no_email_twice() {
    let app = TestApp::spawn().await;
    for n in 0..12 {
        enqueue(&app, &reset_email(n), JobContext::default()).await;
    }
    // Each e-mail waits at a gate that the test opens: the shutdown comes
    // while a batch is held there, whatever the machine's speed.
    let gate = Arc::new(Semaphore::new(0));
    let held = gate.clone();
    let slow = worker(
        &app,
        |_| {},
        WorkerOptions {
            batch: 4,
            ..options()
        },
    )
    .with_handler(move |worker, job| {
        let held = held.clone();
        async move {
            held.acquire().await.expect("gate").forget();
            worker.handle(job).await
        }
    });
    let (stop, running) = start(&slow);
    // Two e-mails go through; the batch is refilled to four held ones.
    gate.add_permits(2);
    eventually("two e-mails sent, four claimed", async || {
        let jobs = statuses(&app).await;
        count(&jobs, "done") == 2 && count(&jobs, "running") == 4
    })
    .await;
    stop.send(()).unwrap();
    slow.stopped_taking_jobs().await;
    // No job starts any more: the ones held finish, the rest stays queued.
    gate.add_permits(12);
    tokio::time::timeout(Duration::from_secs(60), running)
        .await
        .expect("the worker stops once its jobs in flight are done")
        .unwrap();

    let jobs = statuses(&app).await;
    assert_eq!(jobs.len(), 12);
    assert!(
        jobs.iter().all(|(_, s, _)| s == "done" || s == "pending"),
        "every job finished or handed back: {jobs:?}"
    );
    let done = count(&jobs, "done");
    // Two before the shutdown, then at most the four claimed ones.
    assert!(
        (2..=6).contains(&done),
        "the shutdown came mid-stream: {jobs:?}"
    );
    assert_eq!(mails(&app).len(), done, "one e-mail per finished job");
    assert!(
        jobs.iter()
            .all(|(_, s, attempts)| *attempts == u32::from(s == "done")),
        "a finished job counted once, a job handed back not at all: {jobs:?}"
    );

    // Another worker finishes the rest; still one e-mail each.
    let next = worker(&app, |_| {}, options());
    super::support::drain(&next, &app).await;
    let mut sent = mails(&app);
    sent.sort();
    sent.dedup();
    assert_eq!(sent.len(), 12);
    assert_eq!(mails(&app).len(), 12, "each e-mail once");
    assert_eq!(db::sent_emails::list(&app.db).await.unwrap().len(), 12);
}

fn count(jobs: &[(u64, String, u32)], status: &str) -> usize {
    jobs.iter().filter(|(_, s, _)| s == status).count()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_killed_worker_keeps_its_lease_while_alive_and_another_takes_the_job_over_after_it() {
    let app = TestApp::spawn().await;
    let id = enqueue(&app, &reset_email(1), JobContext::default()).await;
    // A lease of 3 s, extended every second: a heartbeat may come 2 s late
    // (a loaded machine) before the job can be taken from a live worker.
    let short = WorkerOptions {
        lease: Duration::from_secs(3),
        ..options()
    };
    // The first worker hangs in the handler, then is killed.
    let hung = worker(&app, |_| {}, short.clone())
        .with_handler(|_, _| std::future::pending::<Result<Completed, _>>());
    let (_stop, running) = start(&hung);
    eventually("the job is claimed", async || {
        job(&app, id).await.status == "running"
    })
    .await;
    // Its heartbeat extends the lease: two leases later it still holds it.
    let held_since = Instant::now();
    let second = worker(&app, |_| {}, short);
    while held_since.elapsed() < Duration::from_millis(7_000) {
        assert_eq!(
            second.run_once().await.unwrap(),
            0,
            "taken while its worker lives"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let state = job(&app, id).await;
    assert_eq!(state.status, "running");
    assert_eq!(state.attempts, 1);
    running.abort();
    let _ = running.await;

    let (stop, taking_over) = start(&second);
    eventually("the job is taken over and done", async || {
        job(&app, id).await.status == "done"
    })
    .await;
    stop.send(()).unwrap();
    taking_over.await.unwrap();
    assert_eq!(job(&app, id).await.attempts, 2);
    assert_eq!(mails(&app).len(), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_panicking_handler_fails_its_job_only_which_is_retried_then_dead() {
    let app = TestApp::spawn().await;
    let doomed = enqueue(
        &app,
        &Job::GeocodeReport { report_id: 666 },
        JobContext::default(),
    )
    .await;
    sqlx::query("UPDATE outbox SET max_attempts = 3 WHERE id = ?")
        .bind(doomed)
        .execute(&app.db)
        .await
        .unwrap();
    let mut fine = Vec::new();
    for report_id in 1..=3 {
        fine.push(
            enqueue(
                &app,
                &Job::GeocodeReport { report_id },
                JobContext::default(),
            )
            .await,
        );
    }
    let panicky = worker(&app, |_| {}, options()).with_handler(|_, job| async move {
        if job.payload.0["report_id"] == 666 {
            panic!("adresse introuvable dans le cache");
        }
        Ok(Completed::Done)
    });
    let (stop, running) = start(&panicky);
    eventually("the panicking job is dead", async || {
        job(&app, doomed).await.status == "dead"
    })
    .await;
    eventually("the others are done", async || {
        let mut all = true;
        for id in &fine {
            all &= job(&app, *id).await.status == "done";
        }
        all
    })
    .await;
    stop.send(()).unwrap();
    running.await.expect("the worker survived the panics");

    let dead = job(&app, doomed).await;
    assert_eq!(dead.attempts, 3, "retried until its last attempt");
    assert!(
        dead.last_error
            .as_deref()
            .is_some_and(|e| e.contains("panique") && e.contains("adresse introuvable")),
        "{dead:?}"
    );
    for id in fine {
        assert_eq!(job(&app, id).await.attempts, 1);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_cron_tick_fired_by_two_workers_at_once_has_one_effect() {
    let app = TestApp::spawn().await;
    // The same tick handled by two workers at the same instant.
    let evening = apalis_cron::Tick::new(
        time::macros::datetime!(2026-11-23 23:30 UTC).unix_timestamp() as u64,
    );
    let (a, b) = tokio::join!(
        scheduler::on_tick(&app.db, evening),
        scheduler::on_tick(&app.db, evening)
    );
    assert_eq!(a.unwrap(), scheduler::SCHEDULES.len());
    assert_eq!(b.unwrap(), scheduler::SCHEDULES.len());
    let keys: Vec<String> = db::outbox::list_all(&app.db)
        .await
        .unwrap()
        .into_iter()
        .filter_map(|j| j.idempotency_key)
        .collect();
    assert_eq!(keys.len(), scheduler::SCHEDULES.len(), "{keys:?}");
    assert!(keys.contains(&"schedule:daily_digest:2026-11-23".to_owned()));

    // Two real workers ticking each second (apalis-cron): each schedule due
    // today is inserted and run once.
    sqlx::query("DELETE FROM outbox")
        .execute(&app.db)
        .await
        .unwrap();
    let ticking = WorkerOptions {
        scheduler: true,
        schedule_every: Duration::from_secs(1),
        ..options()
    };
    let first = worker(&app, |_| {}, ticking.clone());
    let second = worker(&app, |_| {}, ticking);
    let due_at = |hour: u8| {
        scheduler::SCHEDULES
            .iter()
            .filter(|s| hour >= s.hour)
            .count()
    };
    let due_now = due_at(time::OffsetDateTime::now_utc().hour());
    let started = Instant::now();
    let (stop_a, running_a) = start(&first);
    let (stop_b, running_b) = start(&second);
    // Past two ticks of both workers, every due schedule is done.
    eventually("the due schedules ran", async || {
        let jobs = db::outbox::list_all(&app.db).await.unwrap();
        started.elapsed() > Duration::from_millis(2_200)
            && jobs.len() >= due_now
            && jobs.iter().all(|j| j.status == "done")
    })
    .await;
    stop_a.send(()).unwrap();
    stop_b.send(()).unwrap();
    running_a.await.unwrap();
    running_b.await.unwrap();
    let jobs = db::outbox::list_all(&app.db).await.unwrap();
    let scheduled: Vec<_> = jobs.iter().filter(|j| j.kind == "scheduled").collect();
    // One row per schedule due (an hour that turns during the test may add
    // one more schedule, never a second row of the same).
    let due_then = due_at(time::OffsetDateTime::now_utc().hour());
    assert!(
        (due_now.min(due_then)..=due_now.max(due_then)).contains(&scheduled.len()),
        "{due_now} schedules due: {jobs:#?}"
    );
    let mut keys: Vec<_> = scheduled.iter().map(|j| &j.idempotency_key).collect();
    keys.sort();
    keys.dedup();
    assert_eq!(keys.len(), scheduled.len(), "{jobs:#?}");
    assert!(scheduled.iter().all(|j| j.attempts == 1), "{jobs:#?}");
}
