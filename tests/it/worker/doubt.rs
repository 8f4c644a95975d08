//! E-mails in doubt: a reservation in `sent_emails` without confirmation
//! (a worker stopped during the send, or the database went away before the
//! confirmation). The transport resolves the doubt instead of an admin.

use histologe::{
    db,
    queue::{Email, Job, JobContext},
};

use super::support::{brevo_config, enqueue, options, run_until, worker};
use crate::{common::TestApp, fakes};

fn reset(to: &str) -> Job {
    Job::SendEmail(Email::PasswordReset {
        to: to.into(),
        link: "https://x/y".into(),
    })
}

/// What a worker that stopped just before the provider's call leaves.
async fn reserved(app: &TestApp, id: u64, provider: &str) {
    assert!(
        db::sent_emails::reserve(
            &app.db,
            &format!("outbox:{id}"),
            Some(id),
            "agent@ville.fr",
            "Réinitialisation",
            provider,
            None,
        )
        .await
        .unwrap()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_email_in_doubt_that_never_reached_brevo_is_sent_once() {
    let app = TestApp::spawn().await;
    let brevo = fakes::brevo().await;
    let id = enqueue(&app, &reset("agent@ville.fr"), JobContext::default()).await;
    reserved(&app, id, "brevo").await;
    let worker = worker(&app, |c| c.mail = brevo_config(&brevo.url), options());
    let state = run_until(&worker, &app, id, &["done", "dead"]).await;
    assert_eq!(state.status, "done", "{state:?}");
    let requests = brevo.requests();
    let lookups: Vec<_> = requests.iter().filter(|r| r.method == "GET").collect();
    assert_eq!(lookups.len(), 1, "Brevo's event log was asked once");
    assert_eq!(
        lookups[0].param("tags").as_deref(),
        Some(format!("outbox:{id}").as_str())
    );
    let posts: Vec<_> = requests.iter().filter(|r| r.method == "POST").collect();
    assert_eq!(posts.len(), 1, "sent once");
    assert_eq!(posts[0].json()["tags"][1], format!("outbox:{id}"));
    let sent = db::sent_emails::list(&app.db).await.unwrap();
    assert_eq!(sent.len(), 1);
    assert_eq!(sent[0].email_type.as_deref(), Some("password_reset"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_email_in_doubt_in_the_mailbox_folder_is_confirmed_without_a_second_copy() {
    let app = TestApp::spawn().await;
    let id = enqueue(&app, &reset("agent@ville.fr"), JobContext::default()).await;
    let worker = worker(&app, |_| {}, options());
    // The first send wrote the file, then the database went away before
    // the confirmation.
    let rendered = histologe::mail::render::render(&Email::PasswordReset {
        to: "agent@ville.fr".into(),
        link: "https://x/y".into(),
    })
    .unwrap();
    histologe::mail::mailbox::write(
        app.mailbox.path(),
        &worker.config.mail_from,
        &rendered,
        &format!("outbox:{id}"),
    )
    .unwrap();
    reserved(&app, id, "file").await;
    let state = run_until(&worker, &app, id, &["done", "dead"]).await;
    assert_eq!(state.status, "done", "{state:?}");
    assert_eq!(
        histologe::mail::mailbox::list(app.mailbox.path())
            .unwrap()
            .len(),
        1,
        "one copy"
    );
    let sent = db::sent_emails::list(&app.db).await.unwrap();
    assert_eq!(sent.len(), 1);
    assert_eq!(sent[0].email_type.as_deref(), Some("password_reset"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_email_in_doubt_stays_for_an_admin_only_when_brevo_refuses_to_tell() {
    let app = TestApp::spawn().await;
    let brevo = fakes::brevo().await;
    let id = enqueue(&app, &reset("agent@ville.fr"), JobContext::default()).await;
    reserved(&app, id, "brevo").await;
    // A key that Brevo's log refuses (401): nothing can tell.
    let worker = worker(
        &app,
        |c| {
            c.mail = histologe::config::MailConfig::Brevo {
                api_key: histologe::config::Secret::new("xkeysib-revoquee"),
                api_url: format!("{}/v3", brevo.url),
            }
        },
        options(),
    );
    let state = run_until(&worker, &app, id, &["done", "dead"]).await;
    assert_eq!(state.status, "dead");
    assert!(state.last_error.unwrap().contains("envoi incertain"));
    assert!(
        brevo.requests().iter().all(|r| r.method == "GET"),
        "nothing sent"
    );
}
