//! Calls to partner-configured URLs (issue 12, "outbound calls"): the
//! guard refuses loopback, private, link-local and reserved addresses,
//! literal or resolved, before any connection; no redirect is followed; the
//! answer is capped and never shown back; admins are told at save time.
//! Integration secrets are stored encrypted ("secrets at rest").
//!
//! No test sends traffic beyond the loopback interface: refused URLs are
//! refused before any socket is opened (a listener on 127.0.0.1 counts the
//! connections it accepts and stays at 0), and names are resolved by a
//! resolver of the test's own.

use std::{
    collections::HashMap,
    net::IpAddr,
    sync::{
        Arc,
        atomic::{AtomicUsize, Ordering},
    },
    time::Duration,
};

use histologe::{
    db,
    integrations::{
        Http,
        guard::{Guard, Lookup, Policy, Resolver},
    },
    queue::Job,
    secrets::{self, Column, Secrets},
    worker::Worker,
};
use tokio::{
    io::{AsyncReadExt, AsyncWriteExt},
    net::TcpListener,
};

use crate::{
    common::{self, TestApp},
    fakes,
    worker::support::{
        PartnerSettings, assignment, context, drain, enqueue, options, partner, report, run_until,
        worker,
    },
};

const PARTNER_SECRET: &str = "secret-de-signature-partenaire";

/// A TCP server on 127.0.0.1 that counts accepted connections and answers
/// every request with the same raw bytes.
struct Listener {
    port: u16,
    accepted: Arc<AtomicUsize>,
}

impl Listener {
    async fn start(response: Vec<u8>) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        let accepted = Arc::new(AtomicUsize::new(0));
        let count = accepted.clone();
        let response = Arc::new(response);
        tokio::spawn(async move {
            while let Ok((mut socket, _)) = listener.accept().await {
                count.fetch_add(1, Ordering::SeqCst);
                let response = response.clone();
                tokio::spawn(async move {
                    read_request(&mut socket).await;
                    let _ = socket.write_all(&response).await;
                    let _ = socket.shutdown().await;
                });
            }
        });
        Self { port, accepted }
    }

    fn accepted(&self) -> usize {
        self.accepted.load(Ordering::SeqCst)
    }
}

/// Reads one request: the head, then `Content-Length` bytes of body.
async fn read_request(socket: &mut tokio::net::TcpStream) {
    let mut data = Vec::new();
    let mut buf = [0u8; 8192];
    loop {
        let Ok(n) = socket.read(&mut buf).await else {
            return;
        };
        if n == 0 {
            return;
        }
        data.extend_from_slice(&buf[..n]);
        if let Some(end) = data.windows(4).position(|w| w == b"\r\n\r\n") {
            let head = String::from_utf8_lossy(&data[..end]).to_ascii_lowercase();
            let length = head
                .lines()
                .find_map(|l| l.strip_prefix("content-length:"))
                .and_then(|v| v.trim().parse::<usize>().ok())
                .unwrap_or(0);
            if data.len() >= end + 4 + length {
                return;
            }
        }
    }
}

fn reply(status: &str, body: &str) -> Vec<u8> {
    format!(
        "HTTP/1.1 {status}\r\ncontent-type: text/plain\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
        body.len()
    )
    .into_bytes()
}

/// Names resolved from a table: what a hostile DNS zone would answer.
struct TableResolver(HashMap<&'static str, Vec<IpAddr>>);

impl Resolver for TableResolver {
    fn lookup(&self, host: String) -> Lookup {
        let answer = self.0.get(host.as_str()).cloned();
        Box::pin(async move {
            answer.ok_or_else(|| std::io::Error::new(std::io::ErrorKind::NotFound, host))
        })
    }
}

/// A worker whose partner calls are guarded as in production, over the
/// given resolver.
fn guarded_worker(app: &TestApp, resolver: TableResolver) -> Worker {
    let mut worker = worker(app, |c| c.outbound_allow_private = false, options());
    worker.http = Http::new(
        app.db.clone(),
        Duration::from_secs(1),
        Duration::from_secs(2),
        Guard::new(Policy::PublicOnly).with_resolver(Arc::new(resolver)),
    )
    .unwrap();
    worker
}

/// A partner with a webhook to `url`, assigned a report; the job id of
/// the assignment's webhook.
async fn webhook_job(app: &TestApp, url: &str) -> u64 {
    let partner_id = partner(
        app,
        PartnerSettings {
            webhook: Some((url, PARTNER_SECRET)),
            ..Default::default()
        },
    )
    .await;
    let report_id = report(app, "3 rue de la République").await;
    let assignment_id = assignment(app, report_id, partner_id).await;
    enqueue(
        app,
        &Job::Webhook {
            assignment_id,
            event: "assignment.created".into(),
        },
        context(report_id, Some(partner_id)),
    )
    .await
}

/// The error recorded for the only call of a job.
async fn call_error(app: &TestApp, job_id: u64) -> (Option<u16>, Option<String>) {
    let calls = db::interconnections::for_job(&app.db, job_id)
        .await
        .unwrap();
    assert_eq!(calls.len(), 1, "one attempt, one call: {calls:?}");
    (calls[0].http_status, calls[0].error.clone())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn webhooks_to_loopback_private_and_link_local_addresses_are_refused_before_any_connection() {
    let app = TestApp::spawn().await;
    let listener = Listener::start(reply("204 No Content", "")).await;
    let worker = guarded_worker(&app, TableResolver(HashMap::new()));
    let port = listener.port;
    for url in [
        // The listener itself, spelt in every way the URL parser accepts.
        format!("https://127.0.0.1:{port}/hook"),
        format!("https://127.1:{port}/hook"),
        format!("https://2130706433:{port}/hook"),
        format!("https://0x7f.0.0.1:{port}/hook"),
        format!("https://[::ffff:127.0.0.1]:{port}/hook"),
        format!("https://[::1]:{port}/hook"),
        format!("https://localhost:{port}/hook"),
        // Private, link-local (cloud metadata), CGNAT, unspecified.
        "https://10.0.0.8/hook".to_owned(),
        "https://172.16.5.4/hook".to_owned(),
        "https://192.168.1.10/hook".to_owned(),
        "https://169.254.169.254/latest/meta-data/".to_owned(),
        "https://100.100.100.200/latest/meta-data/".to_owned(),
        "https://[fe80::1]/hook".to_owned(),
        "https://[fd00::1]/hook".to_owned(),
        "https://0.0.0.0/hook".to_owned(),
        "https://metadata.google.internal/computeMetadata/v1/".to_owned(),
        // Plain http, even to a public address.
        "http://93.184.215.14/hook".to_owned(),
    ] {
        let id = webhook_job(&app, &url).await;
        let state = run_until(&worker, &app, id, &["dead", "done"]).await;
        assert_eq!(state.status, "dead", "{url}: a refusal is permanent");
        assert_eq!(state.attempts, 1, "{url}: not retried");
        assert_eq!(
            state.last_error.as_deref(),
            Some("webhook : adresse refusée"),
            "{url}"
        );
        let (status, error) = call_error(&app, id).await;
        assert_eq!(status, None, "{url}");
        assert_eq!(error.as_deref(), Some("adresse refusée"), "{url}");
    }
    assert_eq!(
        listener.accepted(),
        0,
        "no connection reached the loopback listener"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_name_resolving_to_loopback_is_refused_when_the_call_is_made() {
    let app = TestApp::spawn().await;
    let listener = Listener::start(reply("204 No Content", "")).await;
    let loopback: IpAddr = "127.0.0.1".parse().unwrap();
    let public: IpAddr = "93.184.215.14".parse().unwrap();
    let worker = guarded_worker(
        &app,
        TableResolver(HashMap::from([
            // A partner's name whose zone now points at the platform itself
            // (DNS rebinding: it was public when the admin saved it).
            ("webhook.partenaire.fr", vec![loopback]),
            // A zone answering one public and one loopback address.
            ("mixte.partenaire.fr", vec![public, loopback]),
            (
                "metadonnees.partenaire.fr",
                vec!["169.254.169.254".parse().unwrap()],
            ),
            ("v6.partenaire.fr", vec!["::1".parse().unwrap()]),
        ])),
    );
    let port = listener.port;
    for host in [
        "webhook.partenaire.fr",
        "mixte.partenaire.fr",
        "metadonnees.partenaire.fr",
        "v6.partenaire.fr",
    ] {
        let url = format!("https://{host}:{port}/hook");
        let id = webhook_job(&app, &url).await;
        let state = run_until(&worker, &app, id, &["dead", "done"]).await;
        assert_eq!(state.status, "dead", "{host}");
        assert_eq!(
            state.last_error.as_deref(),
            Some("webhook : adresse refusée"),
            "{host}"
        );
        assert_eq!(
            call_error(&app, id).await.1.as_deref(),
            Some("adresse refusée")
        );
    }
    assert_eq!(listener.accepted(), 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_counting_listener_does_count_when_private_addresses_are_allowed() {
    // The control of the two tests above: with the guard relaxed (test
    // mode), the same kind of URL reaches the listener.
    let app = TestApp::spawn().await;
    let listener = Listener::start(reply("204 No Content", "")).await;
    let worker = worker(&app, |_| {}, options());
    let id = webhook_job(&app, &format!("http://127.0.0.1:{}/hook", listener.port)).await;
    let state = run_until(&worker, &app, id, &["dead", "done"]).await;
    assert_eq!(state.status, "done");
    assert_eq!(listener.accepted(), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn redirects_are_not_followed_and_answers_are_neither_stored_nor_shown() {
    let app = TestApp::spawn().await;
    app.seed_demo().await;
    let target = Listener::start(reply("200 OK", "ok")).await;
    let redirecting = Listener::start(
        format!(
            "HTTP/1.1 302 Found\r\nlocation: http://127.0.0.1:{}/interne\r\ncontent-length: 0\r\nconnection: close\r\n\r\n",
            target.port
        )
        .into_bytes(),
    )
    .await;
    let leaking = Listener::start(reply(
        "500 Internal Server Error",
        "SECRET-INTERNE-4242 mot de passe",
    ))
    .await;
    let worker = worker(&app, |_| {}, options());

    let redirected =
        webhook_job(&app, &format!("http://127.0.0.1:{}/hook", redirecting.port)).await;
    let state = run_until(&worker, &app, redirected, &["dead", "done"]).await;
    assert_eq!(state.status, "dead", "a 3xx is an error status");
    assert_eq!(state.last_error.as_deref(), Some("Webhook : HTTP 302"));
    assert_eq!(redirecting.accepted(), 1);
    assert_eq!(target.accepted(), 0, "the redirect was not followed");

    let failed = webhook_job(&app, &format!("http://127.0.0.1:{}/hook", leaking.port)).await;
    let state = run_until(&worker, &app, failed, &["dead"]).await;
    assert_eq!(state.last_error.as_deref(), Some("Webhook : HTTP 500"));
    let calls = db::interconnections::for_job(&app.db, failed)
        .await
        .unwrap();
    assert!(
        calls
            .iter()
            .all(|c| c.response_excerpt.is_none() && c.error.as_deref() == Some("HTTP 500"))
    );

    app.login_as("admin@histologe.localhost").await;
    let (status, html) = app.get_html("/bo/interconnexions?service=webhook").await;
    assert_eq!(status, 200);
    assert!(
        html.contains("HTTP 500") && html.contains("HTTP 302"),
        "{html}"
    );
    assert!(!html.contains("SECRET-INTERNE"), "no answer is shown back");
    assert!(!html.contains(PARTNER_SECRET));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_answer_over_4_mib_is_refused() {
    let app = TestApp::spawn().await;
    let big = "x".repeat(5 * 1024 * 1024);
    // Announced by Content-Length, and streamed without one.
    let announced = Listener::start(reply("200 OK", &big)).await;
    let streamed = Listener::start(
        format!("HTTP/1.1 200 OK\r\ncontent-type: text/plain\r\nconnection: close\r\n\r\n{big}")
            .into_bytes(),
    )
    .await;
    let worker = worker(&app, |_| {}, options());
    for port in [announced.port, streamed.port] {
        let id = webhook_job(&app, &format!("http://127.0.0.1:{port}/hook")).await;
        let state = run_until(&worker, &app, id, &["dead", "done"]).await;
        assert_eq!(state.status, "dead");
        assert_eq!(
            state.last_error.as_deref(),
            Some("webhook : réponse trop volumineuse")
        );
    }
}

#[tokio::test]
async fn an_admin_saving_an_internal_partner_url_is_told_next_to_the_field() {
    let database_url = common::fresh_database(&common::mysql_admin_url()).await;
    let app = TestApp::spawn_configured(&database_url, &common::redis_url(), |c| {
        c.outbound_allow_private = false
    })
    .await;
    app.seed_demo().await;
    app.login_as("rt13@histologe.localhost").await;
    let territory: u64 =
        sqlx::query_scalar("SELECT CAST(id AS UNSIGNED) FROM territories WHERE code = '13'")
            .fetch_one(&app.db)
            .await
            .unwrap();
    let territory = territory.to_string();
    let save = |url: &'static str| {
        let app = &app;
        let territory = territory.clone();
        async move {
            app.post_form(
                "/bo/partenaires/nouveau",
                &[
                    ("territory_id", territory.as_str()),
                    ("name", "Service hygiène de test"),
                    ("partner_type", "commune_schs"),
                    ("webhook_url", url),
                    ("webhook_secret", PARTNER_SECRET),
                ],
            )
            .await
        }
    };
    for (url, message) in [
        (
            "https://127.0.0.1/hook",
            "Cette adresse IP n’est pas publique",
        ),
        (
            "https://169.254.169.254/latest/meta-data/",
            "Cette adresse IP n’est pas publique",
        ),
        ("https://[::1]/hook", "Cette adresse IP n’est pas publique"),
        ("https://localhost/hook", "Ce nom désigne un réseau interne"),
        (
            "https://metadata.google.internal/",
            "Ce nom désigne un réseau interne",
        ),
        (
            "http://hygiene.arles.fr/hook",
            "L’adresse doit commencer par https",
        ),
    ] {
        let response = save(url).await;
        assert_eq!(response.status(), 422, "{url}");
        let html = response.text().await.unwrap();
        let field_error = html
            .split("<p id=\"webhook_url-error\" class=\"fr-error-text\">")
            .nth(1)
            .unwrap_or_else(|| panic!("{url}: no error under the webhook field: {html}"));
        assert!(field_error.starts_with(message), "{url}: {field_error}");
    }
    let saved: i64 =
        sqlx::query_scalar("SELECT COUNT(*) FROM partners WHERE name = 'Service hygiène de test'")
            .fetch_one(&app.db)
            .await
            .unwrap();
    assert_eq!(saved, 0);
    // The Esabora address goes through the same check.
    let response = app
        .post_form(
            "/bo/partenaires/nouveau",
            &[
                ("territory_id", territory.as_str()),
                ("name", "Service hygiène de test"),
                ("partner_type", "commune_schs"),
                ("esabora_kind", "schs"),
                ("esabora_url", "https://10.0.0.5/ws/rest"),
                ("esabora_token", "jeton"),
            ],
        )
        .await;
    assert_eq!(response.status(), 422);
    let html = response.text().await.unwrap();
    assert!(
        html.contains(
            "<p id=\"esabora_url-error\" class=\"fr-error-text\">Cette adresse IP n’est pas publique"
        ),
        "{html}"
    );
    let response = save("https://hygiene.arles.fr/histologe").await;
    assert_eq!(response.status(), 303, "a public https URL is accepted");
}

#[tokio::test]
async fn the_migration_scrubs_answers_and_errors_stored_by_older_versions() {
    let app = TestApp::spawn().await;
    sqlx::raw_sql(
        "INSERT INTO interconnection_calls (service, action, endpoint, http_status, duration_ms, attempt, error, response_excerpt) VALUES
         ('webhook', 'notify', 'POST x', 500, 1, 1, 'HTTP 500', 'root:x:0:0 SECRET'),
         ('zapier', 'push_dossier', 'POST x', NULL, 1, 1, 'connexion impossible : tcp connect error 10.0.0.1:6379', NULL),
         ('smtp', 'send_email', 'SMTP relay', NULL, 1, 1, 'mailbox full', NULL);
         INSERT INTO outbox (kind, payload, status, last_error) VALUES
         ('webhook', '{}', 'dead', 'Webhook : HTTP 500 root:x:0:0 SECRET'),
         ('esabora_push', '{}', 'dead', 'Esabora HTTP 400 WS_ERR_MOD_VERIFKEY Clé SECRET'),
         ('send_email', '{}', 'dead', 'Brevo HTTP 400 invalid_parameter : SECRET@ville.fr'),
         ('zapier_push', '{}', 'dead', 'Zapier : statut Some(\"SECRET\") au lieu de \"success\"'),
         ('send_email', '{}', 'dead', 'envoi incertain : test');",
    )
    .execute(&app.db)
    .await
    .unwrap();

    sqlx::raw_sql(include_str!(
        "../../migrations/20261205040001_redact_interconnection_errors.sql"
    ))
    .execute(&app.db)
    .await
    .unwrap();

    let calls: Vec<(String, Option<String>, Option<String>)> = sqlx::query_as(
        "SELECT service, error, response_excerpt FROM interconnection_calls ORDER BY id",
    )
    .fetch_all(&app.db)
    .await
    .unwrap();
    assert_eq!(
        calls,
        [
            ("webhook".into(), Some("HTTP 500".into()), None),
            ("zapier".into(), Some("connexion impossible".into()), None),
            ("smtp".into(), Some("mailbox full".into()), None),
        ]
    );
    let errors: Vec<String> = sqlx::query_scalar("SELECT last_error FROM outbox ORDER BY id")
        .fetch_all(&app.db)
        .await
        .unwrap();
    assert_eq!(
        errors,
        [
            "Webhook : HTTP 500",
            "Esabora HTTP 400 WS_ERR_MOD_VERIFKEY",
            "Brevo HTTP 400 invalid_parameter",
            "Zapier : statut autre que \"success\" dans la réponse",
            "envoi incertain : test",
        ]
    );
}

async fn stored_secrets(app: &TestApp, partner_id: u64) -> db::partners::StoredSecrets {
    db::partners::list_stored_secrets(&app.db)
        .await
        .unwrap()
        .into_iter()
        .find(|s| s.id == partner_id)
        .expect("the partner has secrets")
}

#[tokio::test]
async fn secrets_typed_in_the_partner_form_are_stored_encrypted_and_kept_on_edit() {
    let app = TestApp::spawn().await;
    app.seed_demo().await;
    app.login_as("rt13@histologe.localhost").await;
    let territory: u64 =
        sqlx::query_scalar("SELECT CAST(id AS UNSIGNED) FROM territories WHERE code = '13'")
            .fetch_one(&app.db)
            .await
            .unwrap();
    let response = app
        .post_form(
            "/bo/partenaires/nouveau",
            &[
                ("territory_id", &territory.to_string()),
                ("name", "SCHS chiffré"),
                ("partner_type", "commune_schs"),
                ("esabora_kind", "schs"),
                ("esabora_url", "https://esabora.marseille.fr/ws/rest"),
                ("esabora_token", "jeton-esabora-en-clair"),
                ("webhook_url", "https://marseille.fr/histologe"),
                ("webhook_secret", PARTNER_SECRET),
            ],
        )
        .await;
    assert_eq!(response.status(), 303);
    let location = response.headers()["location"].to_str().unwrap().to_owned();
    let partner_id: u64 = sqlx::query_scalar("SELECT id FROM partners WHERE name = 'SCHS chiffré'")
        .fetch_one(&app.db)
        .await
        .unwrap();
    let stored = stored_secrets(&app, partner_id).await;
    let keys = Secrets::from_config(&app.state.config);
    for (column, value, clear) in [
        (
            Column::EsaboraToken,
            &stored.esabora_token,
            "jeton-esabora-en-clair",
        ),
        (
            Column::WebhookSecret,
            &stored.webhook_secret,
            PARTNER_SECRET,
        ),
    ] {
        let value = value.as_deref().unwrap();
        assert!(
            value.starts_with("v1:") && !value.contains(clear),
            "{value}"
        );
        assert_eq!(keys.decrypt(column, value).unwrap(), clear);
    }
    let (_, html) = app.get_html(&location).await;
    assert!(
        !html.contains("jeton-esabora-en-clair")
            && !html.contains(&stored.esabora_token.clone().unwrap())
    );

    // Saved again with the secret fields left empty: the same secrets,
    // sealed once (not the ciphertext sealed again).
    let path = location.split('?').next().unwrap().to_owned();
    let response = app
        .post_form(
            &path,
            &[
                ("name", "SCHS chiffré"),
                ("partner_type", "commune_schs"),
                ("esabora_kind", "schs"),
                ("esabora_url", "https://esabora.marseille.fr/ws/rest"),
                ("webhook_url", "https://marseille.fr/histologe"),
            ],
        )
        .await;
    assert_eq!(response.status(), 303);
    let again = stored_secrets(&app, partner_id).await;
    assert_eq!(
        keys.decrypt(
            Column::EsaboraToken,
            again.esabora_token.as_deref().unwrap()
        )
        .unwrap(),
        "jeton-esabora-en-clair"
    );
    assert_eq!(
        keys.decrypt(
            Column::WebhookSecret,
            again.webhook_secret.as_deref().unwrap()
        )
        .unwrap(),
        PARTNER_SECRET
    );

    // A secret too long for its column is a field error, not a 500.
    let response = app
        .post_form(
            &path,
            &[
                ("name", "SCHS chiffré"),
                ("partner_type", "commune_schs"),
                ("webhook_url", "https://marseille.fr/histologe"),
                ("webhook_secret", &"s".repeat(10_000)),
            ],
        )
        .await;
    assert_eq!(response.status(), 422);
    assert!(
        response
            .text()
            .await
            .unwrap()
            .contains("de 16 à 500 caractères")
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn clear_secrets_of_older_versions_are_encrypted_once_and_still_used() {
    let app = TestApp::spawn().await;
    let zapier = fakes::zapier().await;
    let receiver = fakes::webhook_receiver("partner-secret").await;
    let hook = format!("{}/hooks/catch/123/abcdef", zapier.url);
    let endpoint = format!("{}/histologe", receiver.url);
    // Written in clear, as before this version.
    let partner_id = partner(
        &app,
        PartnerSettings {
            zapier: Some(&hook),
            webhook: Some((&endpoint, "partner-secret")),
            ..Default::default()
        },
    )
    .await;
    let keys = Secrets::from_config(&app.state.config);

    assert_eq!(secrets::encrypt_legacy(&app.db, &keys).await.unwrap(), 1);
    assert_eq!(
        secrets::encrypt_legacy(&app.db, &keys).await.unwrap(),
        0,
        "idempotent"
    );
    let stored = stored_secrets(&app, partner_id).await;
    for (column, value, clear) in [
        (
            Column::WebhookSecret,
            &stored.webhook_secret,
            "partner-secret",
        ),
        (Column::ZapierUrl, &stored.zapier_url, hook.as_str()),
        (Column::ZapierToken, &stored.zapier_token, "zap-token"),
    ] {
        let value = value.as_deref().unwrap();
        assert!(value.starts_with("v1:") && !value.contains(clear));
        assert_eq!(keys.decrypt(column, value).unwrap(), clear);
    }

    // The worker decrypts them when it calls: the receiver verifies the
    // signature made with the clear secret, Zapier gets the clear token.
    let worker = worker(&app, |_| {}, options());
    let report_id = report(&app, "49 Rue du Général Chanzy").await;
    let assignment_id = assignment(&app, report_id, partner_id).await;
    enqueue(
        &app,
        &Job::AssignmentCreated { assignment_id },
        context(report_id, Some(partner_id)),
    )
    .await;
    drain(&worker, &app).await;
    let delivered = receiver.requests();
    assert_eq!(delivered.len(), 1);
    assert_eq!(delivered[0].status, 200, "signature verified");
    let pushed = zapier.requests();
    assert_eq!(pushed.len(), 1);
    assert_eq!(pushed[0].json()["token"], "zap-token");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_secret_sealed_under_another_secret_key_fails_the_job_with_a_clear_message() {
    let app = TestApp::spawn().await;
    let listener = Listener::start(reply("204 No Content", "")).await;
    let url = format!("http://127.0.0.1:{}/hook", listener.port);
    let id = webhook_job(&app, &url).await;
    sqlx::query("UPDATE partners SET webhook_secret = ?")
        .bind(
            Secrets::new("an-older-secret-key-of-at-least-32-characters")
                .encrypt(Column::WebhookSecret, PARTNER_SECRET),
        )
        .execute(&app.db)
        .await
        .unwrap();
    let worker = worker(&app, |_| {}, options());
    let state = run_until(&worker, &app, id, &["dead", "done"]).await;
    assert_eq!(state.status, "dead");
    assert!(
        state
            .last_error
            .as_deref()
            .unwrap()
            .starts_with("Secret du webhook : secret illisible"),
        "{state:?}"
    );
    assert_eq!(listener.accepted(), 0, "nothing sent unsigned");
}

/// Runs the `histologe` command with only the given environment, in an
/// empty folder (no `.env`).
fn histologe_command(args: &[&str], env: &[(&str, &str)]) -> std::process::Output {
    let dir = common::tempdir::TempDir::new("histologe-cli");
    std::process::Command::new(env!("CARGO_BIN_EXE_histologe"))
        .args(args)
        .env_clear()
        .envs(env.iter().copied())
        .current_dir(dir.path())
        .output()
        .expect("run histologe")
}

#[tokio::test]
async fn histologe_migrate_encrypts_the_secrets_left_in_clear() {
    let app = TestApp::spawn().await;
    let partner_id = partner(
        &app,
        PartnerSettings {
            webhook: Some(("https://marseille.fr/histologe", PARTNER_SECRET)),
            ..Default::default()
        },
    )
    .await;
    let database_url = app.state.config.database_url.expose().to_owned();
    let output = tokio::task::spawn_blocking(move || {
        histologe_command(
            &["migrate"],
            &[("APP_ENV", "test"), ("DATABASE_URL", &database_url)],
        )
    })
    .await
    .unwrap();
    assert!(output.status.success(), "{output:?}");
    let stored = stored_secrets(&app, partner_id).await;
    let sealed = stored.webhook_secret.as_deref().unwrap();
    assert!(sealed.starts_with("v1:"), "{sealed}");
    assert_eq!(
        Secrets::from_config(&app.state.config)
            .decrypt(Column::WebhookSecret, sealed)
            .unwrap(),
        PARTNER_SECRET
    );
}

#[test]
fn production_refuses_to_start_with_private_outbound_calls_allowed() {
    let output = histologe_command(
        &["migrate"],
        &[
            ("APP_ENV", "production"),
            ("SECRET_KEY", "a-production-secret-key-of-at-least-32-chars"),
            ("DATABASE_URL", "mysql://nobody@127.0.0.1:9/none"),
            ("CLAMD_ADDRESS", "tcp://127.0.0.1:3311"),
            ("OUTBOUND_ALLOW_PRIVATE", "true"),
        ],
    );
    assert!(!output.status.success());
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains("OUTBOUND_ALLOW_PRIVATE is for tests only"),
        "{stderr}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn partner_calls_resolve_names_through_the_guarded_resolver() {
    // `partenaire.test` exists only in the test's table: the call reaches
    // the listener only if reqwest asked the guard's resolver (and kept
    // the URL's port over the resolver's port 0).
    let app = TestApp::spawn().await;
    let listener = Listener::start(reply("204 No Content", "")).await;
    let mut worker = worker(&app, |_| {}, options());
    worker.http = Http::new(
        app.db.clone(),
        Duration::from_secs(1),
        Duration::from_secs(2),
        Guard::new(Policy::AllowPrivate).with_resolver(Arc::new(TableResolver(HashMap::from([(
            "partenaire.test",
            vec!["127.0.0.1".parse().unwrap()],
        )])))),
    )
    .unwrap();
    let id = webhook_job(
        &app,
        &format!("http://partenaire.test:{}/hook", listener.port),
    )
    .await;
    let state = run_until(&worker, &app, id, &["dead", "done"]).await;
    assert_eq!(state.status, "done", "{state:?}");
    assert_eq!(listener.accepted(), 1);
}
