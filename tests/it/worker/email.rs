//! E-mails: Brevo (success, 400, 401, 429, 500, timeout), the local
//! mailbox folder and its development page.

use histologe::{
    config::{Environment, MailConfig},
    db,
    queue::{Email, Job, JobContext},
};
use tower::ServiceExt;

use super::support::{brevo_config, enqueue, job, options, run_until, worker};
use crate::{
    common::TestApp,
    fakes::{self, Reply},
};

fn activation(to: &str) -> Job {
    Job::SendEmail(Email::AccountActivation {
        to: to.into(),
        first_name: "Camille".into(),
        link: "https://histologe.example/activation/abc".into(),
    })
}

async fn seconds_until_run(app: &TestApp, id: u64) -> i64 {
    sqlx::query_scalar(
        "SELECT TIMESTAMPDIFF(SECOND, UTC_TIMESTAMP(), run_after) FROM outbox WHERE id = ?",
    )
    .bind(id)
    .fetch_one(&app.db)
    .await
    .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_email_goes_through_brevo_once_and_its_message_id_is_stored() {
    let app = TestApp::spawn().await;
    let brevo = fakes::brevo().await;
    let worker = worker(&app, |c| c.mail = brevo_config(&brevo.url), options());
    let id = enqueue(&app, &activation("agent@ville.fr"), JobContext::default()).await;

    let state = run_until(&worker, &app, id, &["done", "dead"]).await;

    assert_eq!(state.status, "done", "{state:?}");
    let requests = brevo.requests();
    assert_eq!(requests.len(), 1);
    let body = requests[0].json();
    assert_eq!(
        requests[0].header("api-key").as_deref(),
        Some(fakes::BREVO_KEY)
    );
    assert_eq!(
        body["sender"]["email"],
        "ne-pas-repondre@histologe.localhost"
    );
    assert_eq!(body["sender"]["name"], "Histologe");
    assert_eq!(body["to"][0]["email"], "agent@ville.fr");
    assert_eq!(body["subject"], "Activez votre compte Histologe");
    assert!(
        body["htmlContent"]
            .as_str()
            .unwrap()
            .contains("activation/abc")
    );
    assert!(
        body["textContent"]
            .as_str()
            .unwrap()
            .contains("activation/abc")
    );
    assert_eq!(body["tags"][0], "account_activation");
    let sent = db::sent_emails::list(&app.db).await.unwrap();
    assert_eq!(sent.len(), 1);
    assert_eq!(sent[0].provider, "brevo");
    assert_eq!(sent[0].email_type.as_deref(), Some("account_activation"));
    assert!(
        sent[0]
            .provider_message_id
            .as_deref()
            .unwrap()
            .ends_with("@smtp-relay.mailin.fr>")
    );
    let calls = db::interconnections::for_job(&app.db, id).await.unwrap();
    assert_eq!(calls.len(), 1);
    assert_eq!(calls[0].service, "brevo");
    assert_eq!(calls[0].http_status, Some(201));
    let excerpt = calls[0].request_excerpt.clone().unwrap();
    assert!(!excerpt.contains(fakes::BREVO_KEY), "no secret in the log");
    assert!(
        !excerpt.contains("activation/abc"),
        "no e-mail body in the log"
    );

    // Running the worker again sends nothing more.
    assert_eq!(worker.run_once().await.unwrap(), 0);
    assert_eq!(brevo.count(), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn brevo_400_and_401_are_permanent_and_the_job_is_dead_at_once() {
    let app = TestApp::spawn().await;
    let brevo = fakes::brevo().await;
    let good = worker(&app, |c| c.mail = brevo_config(&brevo.url), options());
    let invalid = enqueue(&app, &activation("pas-une-adresse"), JobContext::default()).await;
    let state = run_until(&good, &app, invalid, &["done", "dead"]).await;
    assert_eq!(state.status, "dead");
    assert_eq!(state.attempts, 1, "a 400 is not retried");
    // Brevo's code, not its free-text message (errors are categories).
    assert_eq!(
        state.last_error.as_deref(),
        Some("Brevo HTTP 400 invalid_parameter")
    );

    let bad_key = worker(
        &app,
        |c| {
            c.mail = MailConfig::Brevo {
                api_key: histologe::config::Secret::new("wrong"),
                api_url: format!("{}/v3", brevo.url),
            }
        },
        options(),
    );
    let unauthorized = enqueue(&app, &activation("agent@ville.fr"), JobContext::default()).await;
    let state = run_until(&bad_key, &app, unauthorized, &["done", "dead"]).await;
    assert_eq!(state.status, "dead");
    assert!(state.last_error.unwrap().contains("unauthorized"));
    // Nothing recorded as sent: a retry by an admin may send.
    assert!(db::sent_emails::list(&app.db).await.unwrap().is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn brevo_429_is_retried_no_earlier_than_its_reset_header() {
    let app = TestApp::spawn().await;
    let brevo = fakes::brevo().await;
    brevo.script([Reply::json(
        429,
        serde_json::json!({"code": "too_many_requests", "message": "rate limited"}),
    )
    .header("x-sib-ratelimit-reset", "3")]);
    let worker = worker(&app, |c| c.mail = brevo_config(&brevo.url), options());
    let id = enqueue(&app, &activation("agent@ville.fr"), JobContext::default()).await;

    let state = run_until(&worker, &app, id, &["failed", "done", "dead"]).await;
    assert_eq!(state.status, "failed");
    assert!(
        seconds_until_run(&app, id).await >= 2,
        "honours the reset delay"
    );
    assert_eq!(worker.run_once().await.unwrap(), 0, "not due yet");

    let state = run_until(&worker, &app, id, &["done", "dead"]).await;
    assert_eq!(state.status, "done");
    assert_eq!(state.attempts, 2);
    assert_eq!(brevo.count(), 2);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn brevo_500_is_retried_with_backoff_then_dead_after_the_last_attempt() {
    let app = TestApp::spawn().await;
    let brevo = fakes::brevo().await;
    let error = Reply::json(
        500,
        serde_json::json!({"code": "internal", "message": "boom"}),
    );
    brevo.script([error.clone(), error.clone(), error]);
    let worker = worker(&app, |c| c.mail = brevo_config(&brevo.url), options());
    let id = enqueue(&app, &activation("agent@ville.fr"), JobContext::default()).await;
    sqlx::query("UPDATE outbox SET max_attempts = 3 WHERE id = ?")
        .bind(id)
        .execute(&app.db)
        .await
        .unwrap();

    let state = run_until(&worker, &app, id, &["done", "dead"]).await;

    assert_eq!(state.status, "dead");
    assert_eq!(state.attempts, 3);
    assert!(state.last_error.unwrap().contains("HTTP 500"));
    let attempts: Vec<u32> = db::interconnections::for_job(&app.db, id)
        .await
        .unwrap()
        .iter()
        .map(|c| c.attempt)
        .collect();
    assert_eq!(attempts, [1, 2, 3]);

    // An admin's retry gives it a new budget; Brevo is back.
    assert!(db::outbox::retry_now(&app.db, id).await.unwrap());
    let state = run_until(&worker, &app, id, &["done", "dead"]).await;
    assert_eq!(state.status, "done");
    assert_eq!(brevo.count(), 4);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_hanging_provider_times_out_the_call_is_logged_and_retried() {
    let app = TestApp::spawn().await;
    let brevo = fakes::brevo().await;
    brevo.script([Reply::hang()]);
    let worker = worker(&app, |c| c.mail = brevo_config(&brevo.url), options());
    let id = enqueue(&app, &activation("agent@ville.fr"), JobContext::default()).await;

    let started = std::time::Instant::now();
    let state = run_until(&worker, &app, id, &["failed", "done", "dead"]).await;
    assert_eq!(state.status, "failed");
    assert!(
        started.elapsed() < std::time::Duration::from_secs(10),
        "total timeout applies"
    );
    let calls = db::interconnections::for_job(&app.db, id).await.unwrap();
    assert_eq!(calls[0].http_status, None);
    assert_eq!(calls[0].error.as_deref(), Some("délai dépassé"));

    let state = run_until(&worker, &app, id, &["done", "dead"]).await;
    assert_eq!(state.status, "done");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_mailbox_folder_gets_each_email_and_the_dev_page_lists_them() {
    let app = TestApp::spawn_tweaked(|c| c.dev_mailbox = true).await;
    let worker = worker(&app, |_| {}, options());
    let id = enqueue(&app, &activation("agent@ville.fr"), JobContext::default()).await;
    assert_eq!(
        run_until(&worker, &app, id, &["done", "dead"]).await.status,
        "done"
    );

    let mails = histologe::mail::mailbox::list(app.mailbox.path()).unwrap();
    assert_eq!(mails.len(), 1);
    assert_eq!(mails[0].to, "agent@ville.fr");
    let (status, html) = app.get_html("/dev/courriels").await;
    assert_eq!(status, 200);
    assert!(html.contains("Activez votre compte Histologe"));
    let (status, body) = app
        .get_html(&format!("/dev/courriels/{}", mails[0].id))
        .await;
    assert_eq!(status, 200);
    assert!(body.contains("activation/abc"));
    assert_eq!(app.get("/dev/courriels/..%2Fetc").await.status(), 404);
    let sent = db::sent_emails::list(&app.db).await.unwrap();
    assert_eq!(sent[0].provider, "file");

    // In production the page does not exist.
    let mut config = (*app.state.config).clone();
    config.environment = Environment::Production;
    let state = histologe::app::AppState::connect(config).unwrap();
    let router = histologe::app::router(state);
    let response = router
        .oneshot(
            axum::http::Request::get("/dev/courriels")
                .body(axum::body::Body::empty())
                .unwrap(),
        )
        .await
        .unwrap();
    assert_eq!(response.status(), 404);
    let _ = job(&app, id).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_email_goes_through_the_smtp_relay_once() {
    let app = TestApp::spawn().await;
    let sink = fakes::smtp().await;
    let url = format!("smtp://127.0.0.1:{}", sink.port);
    let worker = worker(
        &app,
        |c| {
            c.mail = MailConfig::Smtp {
                url: histologe::config::Secret::new(url),
            }
        },
        options(),
    );
    let id = enqueue(&app, &activation("agent@ville.fr"), JobContext::default()).await;

    let state = run_until(&worker, &app, id, &["done", "dead"]).await;

    assert_eq!(state.status, "done", "{state:?}");
    let messages = sink.messages.lock().unwrap().clone();
    assert_eq!(messages.len(), 1);
    assert!(messages[0].contains("To: agent@ville.fr"));
    assert!(messages[0].contains("multipart/alternative"));
    let sent = db::sent_emails::list(&app.db).await.unwrap();
    assert_eq!(sent[0].provider, "smtp");
    let calls = db::interconnections::for_job(&app.db, id).await.unwrap();
    assert_eq!(calls[0].service, "smtp");
    assert_eq!(calls[0].http_status, Some(250));
}
