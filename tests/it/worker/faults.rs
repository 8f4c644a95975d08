//! Faults: a worker killed mid-job, several workers at once, the
//! scheduler on several workers, MariaDB and Redis restarts under a stream
//! of jobs.

use std::time::{Duration, Instant};

use histologe::{
    db,
    queue::{self, Email, Job, JobContext},
    worker::{WorkerOptions, scheduler},
};

use super::support::{brevo_config, context, enqueue, job, options, report, run_until, worker};
use crate::{
    common::{
        TestApp, fresh_database,
        servers::{PrivateMariaDb, PrivateRedis},
    },
    fakes::{self, Reply},
};

/// Polls `check` until it holds (deadline 20 s).
async fn eventually(what: &str, mut check: impl AsyncFnMut() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(20);
    while !check().await {
        assert!(Instant::now() < deadline, "{what}: not reached in 20 s");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

fn short_lease() -> WorkerOptions {
    WorkerOptions {
        lease: Duration::from_secs(2),
        timeout: Duration::from_secs(30),
        ..options()
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_worker_killed_mid_job_is_taken_over_and_the_job_has_its_effect_once() {
    let app = TestApp::spawn().await;
    let (ban, dpe) = (fakes::ban(0.97).await, fakes::dpe().await);
    ban.script([Reply::hang()]);
    let tweak = |c: &mut histologe::config::Config| {
        c.ban_api_url = ban.url.clone();
        c.dpe_api_url = dpe.url.clone();
    };
    let report_id = report(&app, "8 La Bodinière").await;
    let id = enqueue(
        &app,
        &Job::GeocodeReport { report_id },
        context(report_id, None),
    )
    .await;

    let first = worker(&app, tweak, short_lease());
    let running = tokio::spawn(async move {
        loop {
            let _ = first.run_once().await;
        }
    });
    eventually("the first worker is calling the BAN", async || {
        ban.count() == 1
    })
    .await;
    assert_eq!(job(&app, id).await.status, "running");
    running.abort();
    let _ = running.await;

    let second = worker(&app, tweak, short_lease());
    let state = run_until(&second, &app, id, &["done", "dead"]).await;

    assert_eq!(state.status, "done");
    assert_eq!(state.attempts, 2, "taken over after the lease");
    assert_eq!(ban.count(), 2);
    let geo = db::jobs_data::stored_geo(&app.db, report_id).await.unwrap();
    assert_eq!(geo.ban_id.as_deref(), Some("44179_xarfhv_00008"));
    super::support::drain(&second, &app).await;
    let dpe_jobs = db::outbox::list_all(&app.db)
        .await
        .unwrap()
        .into_iter()
        .filter(|j| j.kind == "dpe_lookup")
        .count();
    assert_eq!(dpe_jobs, 1);
    assert_eq!(dpe.count(), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_email_whose_worker_died_during_the_send_is_never_sent_twice() {
    let app = TestApp::spawn().await;
    let brevo = fakes::brevo().await;
    // Brevo accepts the mail but answers after the worker is gone.
    brevo.script([Reply::json(
        201,
        serde_json::json!({"messageId": "<late@smtp-relay.mailin.fr>"}),
    )
    .delayed(Duration::from_secs(5))]);
    let id = enqueue(
        &app,
        &Job::SendEmail(Email::PasswordReset {
            to: "agent@ville.fr".into(),
            link: "https://x/y".into(),
        }),
        JobContext::default(),
    )
    .await;
    let first = worker(&app, |c| c.mail = brevo_config(&brevo.url), short_lease());
    let running = tokio::spawn(async move {
        loop {
            let _ = first.run_once().await;
        }
    });
    eventually("the first worker is sending", async || brevo.count() == 1).await;
    running.abort();
    let _ = running.await;

    let second = worker(&app, |c| c.mail = brevo_config(&brevo.url), short_lease());
    let state = run_until(&second, &app, id, &["done", "dead"]).await;

    // In doubt, resolved from Brevo's event log: it has the e-mail.
    assert_eq!(state.status, "done", "{state:?}");
    let posts = brevo
        .requests()
        .into_iter()
        .filter(|r| r.method == "POST")
        .count();
    assert_eq!(posts, 1, "never sent twice");
    let sent = db::sent_emails::list(&app.db).await.unwrap();
    assert_eq!(sent.len(), 1);
    assert!(
        sent[0]
            .provider_message_id
            .as_deref()
            .is_some_and(|id| id.starts_with("<logged.")),
        "the message id from the log: {sent:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn several_workers_share_the_queue_and_run_each_job_once() {
    let app = TestApp::spawn().await;
    let mut ids = Vec::new();
    for n in 0..30 {
        ids.push(
            enqueue(
                &app,
                &Job::SendEmail(Email::PasswordReset {
                    to: format!("agent{n}@ville.fr"),
                    link: "https://x/y".into(),
                }),
                JobContext::default(),
            )
            .await,
        );
    }
    let workers: Vec<_> = (0..3)
        .map(|_| {
            let w = worker(&app, |_| {}, options());
            tokio::spawn(async move {
                loop {
                    if w.run_once().await.unwrap_or(0) == 0 {
                        tokio::time::sleep(Duration::from_millis(10)).await;
                    }
                }
            })
        })
        .collect();
    eventually("every job done", async || {
        db::outbox::list_all(&app.db)
            .await
            .unwrap()
            .iter()
            .all(|j| j.status == "done")
    })
    .await;
    workers.iter().for_each(|w| w.abort());

    for id in ids {
        assert_eq!(job(&app, id).await.attempts, 1);
    }
    assert_eq!(db::sent_emails::list(&app.db).await.unwrap().len(), 30);
    assert_eq!(
        histologe::mail::mailbox::list(app.mailbox.path())
            .unwrap()
            .len(),
        30
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_scheduler_inserts_each_periodic_job_once_however_many_workers_tick() {
    let app = TestApp::spawn().await;
    let evening = time::macros::datetime!(2026-11-23 23:30 UTC);
    let ticks = (0..5).map(|_| scheduler::tick(&app.db, evening));
    for due in futures::future::join_all(ticks).await {
        assert_eq!(due.unwrap(), scheduler::SCHEDULES.len());
    }
    scheduler::tick(&app.db, evening).await.unwrap();
    let jobs = db::outbox::list_all(&app.db).await.unwrap();
    assert_eq!(jobs.len(), scheduler::SCHEDULES.len());
    assert!(
        jobs.iter()
            .any(|j| j.idempotency_key.as_deref() == Some("schedule:esabora_sync_schs:2026-11-23"))
    );
    // Early morning: only the schedules whose hour has come.
    let morning = time::macros::datetime!(2026-11-24 02:10 UTC);
    assert_eq!(scheduler::tick(&app.db, morning).await.unwrap(), 1);
    let worker = worker(&app, |_| {}, options());
    super::support::drain(&worker, &app).await;
    assert!(
        db::outbox::list_all(&app.db)
            .await
            .unwrap()
            .iter()
            .all(|j| j.status == "done")
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn restarting_mariadb_and_redis_under_a_stream_of_jobs_loses_nothing() {
    const JOBS: usize = 40;
    let mut mariadb = PrivateMariaDb::start();
    let mut redis = PrivateRedis::start();
    let url = fresh_database(&mariadb.admin_url()).await;
    let app = TestApp::spawn_with(&url, &redis.url()).await;
    let worker = worker(
        &app,
        |_| {},
        WorkerOptions {
            lease: Duration::from_secs(15),
            ..options()
        },
    );
    let (stop_tx, stop_rx) = tokio::sync::oneshot::channel::<()>();
    let running = tokio::spawn(worker.clone().run(async {
        let _ = stop_rx.await;
    }));

    // The producer: each job is one business transaction, retried with the
    // same idempotency key until it is acknowledged.
    let failures = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let acknowledged = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let producer = {
        let (pool, failures, acknowledged) =
            (app.db.clone(), failures.clone(), acknowledged.clone());
        tokio::spawn(async move {
            for n in 0..JOBS {
                let job = Job::SendEmail(Email::PasswordReset {
                    to: format!("agent{n}@ville.fr"),
                    link: "https://x/y".into(),
                });
                loop {
                    let attempt = async {
                        let mut tx = pool.begin().await?;
                        queue::enqueue(
                            &mut tx,
                            &job,
                            Some(&format!("stream:{n}")),
                            JobContext::default(),
                        )
                        .await?;
                        tx.commit().await
                    };
                    match attempt.await {
                        Ok(()) => break,
                        Err(_) => {
                            failures.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
                            tokio::time::sleep(Duration::from_millis(50)).await;
                        }
                    }
                }
                acknowledged.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
                tokio::time::sleep(Duration::from_millis(25)).await;
            }
        })
    };

    eventually("a third of the stream is in", async || {
        acknowledged.load(std::sync::atomic::Ordering::SeqCst) >= JOBS / 3
    })
    .await;
    tokio::task::block_in_place(|| mariadb.stop());
    eventually("the producer saw the outage", async || {
        failures.load(std::sync::atomic::Ordering::SeqCst) > 0
    })
    .await;
    tokio::task::block_in_place(|| mariadb.resume());
    tokio::task::block_in_place(|| redis.stop());
    tokio::task::block_in_place(|| redis.resume());
    producer.await.unwrap();

    let deadline = Instant::now() + Duration::from_secs(90);
    loop {
        let jobs = db::outbox::list_all(&app.db).await.unwrap_or_default();
        if jobs.len() == JOBS && jobs.iter().all(|j| j.status == "done") {
            break;
        }
        assert!(Instant::now() < deadline, "jobs not all done: {jobs:?}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let _ = stop_tx.send(());
    running.await.unwrap();

    assert_eq!(
        db::outbox::list_all(&app.db).await.unwrap().len(),
        JOBS,
        "nothing lost, nothing doubled"
    );
    assert_eq!(db::sent_emails::list(&app.db).await.unwrap().len(), JOBS);
    assert_eq!(
        histologe::mail::mailbox::list(app.mailbox.path())
            .unwrap()
            .len(),
        JOBS,
        "each e-mail once"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reminders_ask_residents_staff_and_drafts_once_each() {
    let app = TestApp::spawn().await;
    let worker = worker(&app, |_| {}, options());
    let partner_id = super::support::partner(&app, Default::default()).await;
    let territory = super::support::territory(&app, "13").await;
    let user_id = sqlx::query(
        "INSERT INTO users (uuid, email, role, status) VALUES (UUID(), 'agent@schs13.fr', 'agent', 'active')",
    )
    .execute(&app.db)
    .await
    .unwrap()
    .last_insert_id();
    sqlx::query("INSERT INTO user_partners (user_id, partner_id, territory_id) VALUES (?, ?, ?)")
        .bind(user_id)
        .bind(partner_id)
        .bind(territory)
        .execute(&app.db)
        .await
        .unwrap();
    let quiet = report(&app, "1 rue du Silence").await;
    sqlx::query("UPDATE reports SET validated_at = UTC_TIMESTAMP() - INTERVAL 50 DAY, created_at = UTC_TIMESTAMP() - INTERVAL 60 DAY WHERE id = ?")
        .bind(quiet)
        .execute(&app.db)
        .await
        .unwrap();
    let visited = report(&app, "2 rue de la Visite").await;
    for offset in ["+ INTERVAL 2 DAY", "- INTERVAL 3 DAY"] {
        sqlx::query(&format!(
            "INSERT INTO visits (report_id, partner_id, scheduled_at) VALUES (?, ?, UTC_TIMESTAMP() {offset})"
        ))
        .bind(visited)
        .bind(partner_id)
        .execute(&app.db)
        .await
        .unwrap();
    }
    sqlx::query(
        "INSERT INTO drafts (uuid, email, payload, current_step, updated_at)
         VALUES (UUID(), 'brouillon@yopmail.com', '{}', 'adresse', UTC_TIMESTAMP() - INTERVAL 4 DAY)",
    )
    .execute(&app.db)
    .await
    .unwrap();

    for day in ["2026-11-23", "2026-11-24"] {
        for name in ["resident_feedback", "visit_reminders", "draft_reminders"] {
            enqueue(
                &app,
                &Job::Scheduled {
                    name: name.into(),
                    period: day.into(),
                },
                JobContext::default(),
            )
            .await;
        }
        super::support::drain(&worker, &app).await;
    }

    let mut sent: Vec<(String, String)> = db::sent_emails::list(&app.db)
        .await
        .unwrap()
        .into_iter()
        .map(|m| (m.recipient, m.subject))
        .collect();
    sent.sort();
    let subjects: Vec<&str> = sent.iter().map(|(_, s)| s.as_str()).collect();
    assert_eq!(sent.len(), 5, "{sent:?}");
    assert!(
        subjects
            .iter()
            .any(|s| s.starts_with("Où en est votre logement ?"))
    );
    assert!(
        subjects
            .iter()
            .any(|s| s.starts_with("Rappel : visite de votre logement"))
    );
    assert!(
        subjects
            .iter()
            .any(|s| s.starts_with("Rappel : visite prévue le"))
    );
    assert!(
        subjects
            .iter()
            .any(|s| s.starts_with("Conclusion à renseigner"))
    );
    assert!(subjects.contains(&"Reprendre votre signalement"));
    // The quiet report's resident got one e-mail, not one per day.
    let asked = sent
        .iter()
        .filter(|(_, s)| s.starts_with("Où en est"))
        .count();
    assert_eq!(asked, 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_account_unused_for_a_year_is_warned_then_archived_a_month_later() {
    let app = TestApp::spawn().await;
    let worker = worker(&app, |_| {}, options());
    let user = sqlx::query(
        "INSERT INTO users (uuid, email, first_name, role, status, last_login_at)
         VALUES (UUID(), 'dormant@ville.fr', 'Dominique', 'agent', 'active', UTC_TIMESTAMP() - INTERVAL 340 DAY)",
    )
    .execute(&app.db)
    .await
    .unwrap()
    .last_insert_id();
    let run = async |day: &str| {
        enqueue(
            &app,
            &Job::Scheduled {
                name: "inactive_accounts".into(),
                period: day.into(),
            },
            JobContext::default(),
        )
        .await;
        super::support::drain(&worker, &app).await;
    };
    run("2026-11-23").await;
    run("2026-11-24").await;
    let sent = db::sent_emails::list(&app.db).await.unwrap();
    assert_eq!(sent.len(), 1, "warned once");
    assert_eq!(sent[0].subject, "Votre compte Histologe va être désactivé");
    let status: String = sqlx::query_scalar("SELECT status FROM users WHERE id = ?")
        .bind(user)
        .fetch_one(&app.db)
        .await
        .unwrap();
    assert_eq!(status, "active");

    // A month later, still no login: archived.
    sqlx::query("UPDATE users SET last_login_at = last_login_at - INTERVAL 31 DAY, inactivity_warned_at = inactivity_warned_at - INTERVAL 31 DAY WHERE id = ?")
        .bind(user)
        .execute(&app.db)
        .await
        .unwrap();
    run("2026-12-24").await;
    let status: String = sqlx::query_scalar("SELECT status FROM users WHERE id = ?")
        .bind(user)
        .fetch_one(&app.db)
        .await
        .unwrap();
    assert_eq!(status, "archived");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_daily_digest_lists_the_days_notifications_once() {
    let app = TestApp::spawn().await;
    let worker = worker(&app, |_| {}, options());
    let user = sqlx::query(
        "INSERT INTO users (uuid, email, role, status, notification_pref)
         VALUES (UUID(), 'digest@ville.fr', 'agent', 'active', 'digest')",
    )
    .execute(&app.db)
    .await
    .unwrap()
    .last_insert_id();
    let report_id = report(&app, "5 rue du Récapitulatif").await;
    for kind in ["nouveau_suivi", "nouvelle_affectation"] {
        sqlx::query("INSERT INTO notifications (user_id, report_id, kind) VALUES (?, ?, ?)")
            .bind(user)
            .bind(report_id)
            .bind(kind)
            .execute(&app.db)
            .await
            .unwrap();
    }
    for _ in 0..2 {
        enqueue(
            &app,
            &Job::Scheduled {
                name: "daily_digest".into(),
                period: "2026-11-23".into(),
            },
            JobContext::default(),
        )
        .await;
        super::support::drain(&worker, &app).await;
    }
    let sent = db::sent_emails::list(&app.db).await.unwrap();
    assert_eq!(sent.len(), 1);
    assert_eq!(
        sent[0].subject,
        "Votre récapitulatif Histologe : 2 nouveautés"
    );
    let mail = &histologe::mail::mailbox::list(app.mailbox.path()).unwrap()[0];
    assert!(
        mail.text.contains("nouveau suivi") && mail.text.contains("nouvelle affectation"),
        "{}",
        mail.text
    );
    let pending: i64 =
        sqlx::query_scalar("SELECT COUNT(*) FROM notifications WHERE emailed_at IS NULL")
            .fetch_one(&app.db)
            .await
            .unwrap();
    assert_eq!(pending, 0);
}
