//! E-mail deliverability (docs/deliverability.md): Brevo's transactional
//! webhook marks a case's resident address "à vérifier" (case page, list
//! filter, dashboard count), authenticated by its shared secret, replayed
//! events recorded once; the SMTP relay's and the local mailbox's refusals
//! are recorded the same way; an agent marks the address checked.

use base64::Engine;
use histologe::{
    config::{MailConfig, Secret},
    queue::{Email, Job, JobContext},
};
use serde_json::{Value, json};

use crate::{
    common::{TestApp, cases::CaseBuilder},
    fakes,
    worker::support::{brevo_config, enqueue, options, run_until, worker},
};

const RT69: &str = "rt69@histologe.localhost";
const SECRET: &str = "un-secret-partage-avec-brevo";
const BOUNCED: &str = "occupant.rebond@exemple.fr";

/// An app with the webhook's secret and the demo accounts.
async fn app() -> TestApp {
    let app = TestApp::spawn_tweaked(|c| c.brevo_webhook_secret = Some(Secret::new(SECRET))).await;
    app.seed_demo().await;
    app
}

fn basic(user: &str, password: &str) -> String {
    let raw = format!("{user}:{password}");
    format!(
        "Basic {}",
        base64::engine::general_purpose::STANDARD.encode(raw)
    )
}

/// POSTs `body` to the webhook as Brevo does (JSON, HTTP Basic from the
/// URL's `user:password`), with `authorization` when given.
async fn post_webhook(app: &TestApp, authorization: Option<&str>, body: &Value) -> (u16, String) {
    let mut request = reqwest::Client::new()
        .post(app.url("/webhooks/brevo"))
        .header("content-type", "application/json")
        .body(body.to_string());
    if let Some(value) = authorization {
        request = request.header("authorization", value);
    }
    let response = request.send().await.expect("webhook call");
    let status = response.status().as_u16();
    (status, response.text().await.unwrap_or_default())
}

async fn issues(app: &TestApp) -> i64 {
    sqlx::query_scalar("SELECT COUNT(*) FROM email_delivery_issues")
        .fetch_one(&app.db)
        .await
        .expect("count")
}

/// The count of a dashboard queue.
fn queue_count(html: &str, code: &str) -> i64 {
    let start = html
        .find(&format!("data-queue=\"{code}\""))
        .unwrap_or_else(|| panic!("queue {code} on the dashboard"));
    let rest = &html[start..];
    let count = &rest[rest.find("app-queue-count").expect("count")..];
    let count = &count[count.find("<span>").expect("span") + 6..];
    count[..count.find('<').expect("end")]
        .trim()
        .parse()
        .expect("a number")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_bounce_reported_by_brevo_marks_the_cases_email_to_check_until_an_agent_checks_it() {
    let app = app().await;
    let bounced = CaseBuilder::new("69A")
        .reference("2026-701")
        .occupant_email(BOUNCED)
        .create(&app)
        .await;
    let fine = CaseBuilder::new("69A")
        .reference("2026-702")
        .occupant_email("occupant.joignable@exemple.fr")
        .create(&app)
        .await;
    // An e-mail to the occupant goes through (the fake) Brevo, which gives
    // its message id; Brevo then reports that this message bounced.
    let brevo = fakes::brevo().await;
    let sender = worker(&app, |c| c.mail = brevo_config(&brevo.url), options());
    let job = Job::SendEmail(Email::AccountActivation {
        to: BOUNCED.into(),
        first_name: "Camille".into(),
        link: "https://histologe.example/activation/abc".into(),
    });
    let id = enqueue(&app, &job, JobContext::default()).await;
    assert_eq!(
        run_until(&sender, &app, id, &["done", "dead"]).await.status,
        "done"
    );
    let message_id: String =
        sqlx::query_scalar("SELECT provider_message_id FROM sent_emails WHERE outbox_id = ?")
            .bind(id)
            .fetch_one(&app.db)
            .await
            .expect("the e-mail was sent with a message id");
    let event = fakes::brevo_webhook_event("hard_bounce", BOUNCED, &message_id);

    let (status, _) = post_webhook(&app, Some(&basic("brevo", SECRET)), &event).await;
    assert_eq!(status, 200);
    // Brevo retries: the same event again is recorded once.
    let (status, _) = post_webhook(&app, Some(&basic("brevo", SECRET)), &event).await;
    assert_eq!(status, 200);
    assert_eq!(issues(&app).await, 1);

    app.login_as(RT69).await;
    let (status, html) = app
        .get_html(&format!("/bo/signalements/{}", bounced.uuid))
        .await;
    assert_eq!(status, 200);
    assert!(html.contains("Adresse e-mail à vérifier"), "{html}");
    assert!(html.contains(&format!("<strong>{BOUNCED}</strong> de l’occupant")));
    assert!(html.contains("adresse inexistante"));
    assert!(html.contains("16/09/2025 15:47"));
    assert!(html.contains("recipient email does not exist"));
    let (_, other) = app
        .get_html(&format!("/bo/signalements/{}", fine.uuid))
        .await;
    assert!(!other.contains("Adresse e-mail à vérifier"));

    let (status, list) = app.get_html("/bo/signalements?email_a_verifier=1").await;
    assert_eq!(status, 200);
    assert!(
        list.contains("2026-701") && !list.contains("2026-702"),
        "{list}"
    );
    let (_, dashboard) = app.get_html("/bo").await;
    assert_eq!(queue_count(&dashboard, "email_to_check"), 1);

    // Checked by the territory's administrator: gone everywhere, audited.
    let response = app
        .post_form(
            &format!("/bo/signalements/{}/email-verifie", bounced.uuid),
            &[],
        )
        .await;
    assert_eq!(response.status().as_u16(), 303);
    let (_, html) = app
        .get_html(&format!("/bo/signalements/{}", bounced.uuid))
        .await;
    assert!(!html.contains("Adresse e-mail à vérifier"));
    let (_, list) = app.get_html("/bo/signalements?email_a_verifier=1").await;
    assert!(!list.contains("2026-701"));
    let (_, dashboard) = app.get_html("/bo").await;
    assert_eq!(queue_count(&dashboard, "email_to_check"), 0);
    let audited: i64 = sqlx::query_scalar(
        "SELECT COUNT(*) FROM audit_events WHERE action = 'email_checked' AND report_id = ?",
    )
    .bind(bounced.id)
    .fetch_one(&app.db)
    .await
    .unwrap();
    assert_eq!(audited, 1);
}

#[tokio::test]
async fn changing_the_address_ends_the_check_and_a_later_delivery_resolves_it() {
    let app = app().await;
    let case = CaseBuilder::new("69A")
        .reference("2026-711")
        .occupant_email(BOUNCED)
        .create(&app)
        .await;
    let auth = basic("brevo", SECRET);
    let (status, _) = post_webhook(
        &app,
        Some(&auth),
        &fakes::brevo_webhook_event("blocked", BOUNCED, "<m1@smtp-relay.mailin.fr>"),
    )
    .await;
    assert_eq!(status, 200);
    app.login_as(RT69).await;
    let (_, list) = app.get_html("/bo/signalements?email_a_verifier=1").await;
    assert!(list.contains("2026-711"));

    // The address changes: the case no longer matches the issue.
    sqlx::query("UPDATE reports SET occupant_email = 'nouvelle.adresse@exemple.fr' WHERE id = ?")
        .bind(case.id)
        .execute(&app.db)
        .await
        .unwrap();
    let (_, list) = app.get_html("/bo/signalements?email_a_verifier=1").await;
    assert!(!list.contains("2026-711"));

    // Back to the old address, then Brevo delivers to it: resolved.
    sqlx::query("UPDATE reports SET occupant_email = ? WHERE id = ?")
        .bind(BOUNCED)
        .bind(case.id)
        .execute(&app.db)
        .await
        .unwrap();
    let (_, list) = app.get_html("/bo/signalements?email_a_verifier=1").await;
    assert!(list.contains("2026-711"));
    let (status, _) = post_webhook(
        &app,
        Some(&auth),
        &json!([fakes::brevo_webhook_event(
            "delivered",
            BOUNCED,
            "<m2@smtp-relay.mailin.fr>"
        )]),
    )
    .await;
    assert_eq!(status, 200);
    let (_, list) = app.get_html("/bo/signalements?email_a_verifier=1").await;
    assert!(!list.contains("2026-711"));
}

#[tokio::test]
async fn soft_bounces_put_an_address_to_check_from_the_third() {
    let app = app().await;
    CaseBuilder::new("69A")
        .reference("2026-721")
        .occupant_email(BOUNCED)
        .create(&app)
        .await;
    app.login_as(RT69).await;
    let auth = basic("brevo", SECRET);
    for n in 1..=3 {
        let event =
            fakes::brevo_webhook_event("soft_bounce", BOUNCED, &format!("<soft{n}@mailin.fr>"));
        assert_eq!(post_webhook(&app, Some(&auth), &event).await.0, 200);
        let (_, list) = app.get_html("/bo/signalements?email_a_verifier=1").await;
        assert_eq!(list.contains("2026-721"), n == 3, "after {n} soft bounces");
    }
}

#[tokio::test]
async fn the_webhook_wants_its_secret_and_refuses_hostile_payloads() {
    let app = app().await;
    let event = fakes::brevo_webhook_event("spam", BOUNCED, "<m@mailin.fr>");
    // No secret, a wrong one, a wrong scheme: 401, nothing recorded.
    for authorization in [
        None,
        Some(basic("brevo", "pas-le-secret")),
        Some(basic("brevo", "")),
        Some(format!("Bearer {SECRET}x")),
        Some(format!("Token {SECRET}")),
        Some("Basic !!!".to_owned()),
    ] {
        let (status, _) = post_webhook(&app, authorization.as_deref(), &event).await;
        assert_eq!(status, 401, "{authorization:?}");
    }
    assert_eq!(issues(&app).await, 0);
    // Brevo's bearer-token option works too.
    let bearer = format!("Bearer {SECRET}");
    assert_eq!(post_webhook(&app, Some(&bearer), &event).await.0, 200);
    assert_eq!(issues(&app).await, 1);

    let client = reqwest::Client::new();
    let send = |content_type: &'static str, body: Vec<u8>| {
        client
            .post(app.url("/webhooks/brevo"))
            .header("authorization", bearer.clone())
            .header("content-type", content_type)
            .body(body)
            .send()
    };
    let hostile: Vec<(&str, Vec<u8>, u16)> = vec![
        (
            "application/x-www-form-urlencoded",
            b"event=spam".to_vec(),
            415,
        ),
        ("application/json", b"{not json".to_vec(), 400),
        ("application/json", b"[]".to_vec(), 400),
        ("application/json", b"42".to_vec(), 400),
        ("application/json", br#"{"event": "spam"}"#.to_vec(), 400),
        (
            "application/json",
            br#"{"event": "spam", "email": "<script>@x"}"#.to_vec(),
            400,
        ),
        (
            "application/json",
            br#"{"event": ["spam"], "email": "a@b.fr"}"#.to_vec(),
            400,
        ),
        (
            "application/json",
            format!(
                "{{\"event\": \"spam\", \"email\": \"a@b.fr\", \"x\": \"{}\"}}",
                "a".repeat(300_000)
            )
            .into_bytes(),
            413,
        ),
    ];
    for (content_type, body, expected) in hostile {
        let response = send(content_type, body).await.expect("call");
        assert_eq!(response.status().as_u16(), expected);
    }
    // A batch with one bad event records nothing of it.
    let batch = json!([
        fakes::brevo_webhook_event("spam", "autre@exemple.fr", "<b1@mailin.fr>"),
        {"event": "spam"},
    ]);
    assert_eq!(post_webhook(&app, Some(&bearer), &batch).await.0, 400);
    // Events that say nothing of the address are accepted and ignored.
    let request = fakes::brevo_webhook_event("request", BOUNCED, "<r@mailin.fr>");
    assert_eq!(post_webhook(&app, Some(&bearer), &request).await.0, 200);
    assert_eq!(issues(&app).await, 1);
}

#[tokio::test]
async fn without_a_configured_secret_the_webhook_does_not_exist() {
    let app = TestApp::spawn().await;
    let event = fakes::brevo_webhook_event("spam", BOUNCED, "<m@mailin.fr>");
    let (status, _) = post_webhook(&app, Some(&format!("Bearer {SECRET}")), &event).await;
    assert_eq!(status, 404);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_smtp_relays_and_the_mailboxs_refusals_are_recorded_as_bounces() {
    let app = app().await;
    CaseBuilder::new("69A")
        .reference("2026-731")
        .occupant_email("inconnu@exemple.fr")
        .create(&app)
        .await;
    CaseBuilder::new("69A")
        .reference("2026-732")
        .occupant_email("usager@adresse.invalid")
        .create(&app)
        .await;
    let activation = |to: &str| {
        Job::SendEmail(Email::AccountActivation {
            to: to.into(),
            first_name: "Camille".into(),
            link: "https://histologe.example/activation/abc".into(),
        })
    };
    let sink = fakes::smtp().await;
    let url = format!("smtp://127.0.0.1:{}", sink.port);
    let relay = worker(
        &app,
        |c| {
            c.mail = MailConfig::Smtp {
                url: Secret::new(url),
            }
        },
        options(),
    );
    let id = enqueue(
        &app,
        &activation("inconnu@exemple.fr"),
        JobContext::default(),
    )
    .await;
    assert_eq!(
        run_until(&relay, &app, id, &["done", "dead"]).await.status,
        "dead"
    );
    let mailbox = worker(&app, |_| {}, options());
    let id = enqueue(
        &app,
        &activation("usager@adresse.invalid"),
        JobContext::default(),
    )
    .await;
    assert_eq!(
        run_until(&mailbox, &app, id, &["done", "dead"])
            .await
            .status,
        "dead"
    );

    let rows: Vec<(String, String, String)> =
        sqlx::query_as("SELECT email, event, source FROM email_delivery_issues ORDER BY id")
            .fetch_all(&app.db)
            .await
            .unwrap();
    assert_eq!(
        rows,
        [
            (
                "inconnu@exemple.fr".into(),
                "hard_bounce".into(),
                "smtp".into()
            ),
            (
                "usager@adresse.invalid".into(),
                "hard_bounce".into(),
                "file".into()
            ),
        ]
    );
    app.login_as(RT69).await;
    let (_, list) = app.get_html("/bo/signalements?email_a_verifier=1").await;
    assert!(list.contains("2026-731") && list.contains("2026-732"));
    let (_, dashboard) = app.get_html("/bo").await;
    assert_eq!(queue_count(&dashboard, "email_to_check"), 2);
}
