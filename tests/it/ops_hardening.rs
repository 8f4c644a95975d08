//! Operations hardening: exports that cannot starve the site (caps, own
//! pool, write timeout, no file left behind), logs without secrets,
//! `/readyz` without error details, and fail-closed defaults (`seed` in
//! production, the dev mailbox, the "same address" panel's scope).

use std::sync::{Arc, Mutex};

use histologe::config::Secret;

use crate::common::{TestApp, fresh_database, mysql_admin_url, redis_url};

const SUPER_ADMIN: &str = "admin@histologe.localhost";
const RT69: &str = "rt69@histologe.localhost";
const RT13: &str = "rt13@histologe.localhost";
const ADMIN_SCHS69: &str = "admin.schs69@histologe.localhost";
const AGENT_SCHS69: &str = "agent.schs69@histologe.localhost";
const AGENT_ARS69: &str = "agent.ars69@histologe.localhost";
const AGENT_SCHS13: &str = "agent.schs13@histologe.localhost";

/// A case of territory `territory` at `address` (postal code 69003),
/// inserted directly. Returns its id and uuid.
async fn insert_case(
    app: &TestApp,
    territory: &str,
    reference: &str,
    address: &str,
) -> (u64, String) {
    let uuid = uuid::Uuid::new_v4().to_string();
    let code = format!("{:0>43}", uuid.replace('-', ""));
    let result = sqlx::query(
        "INSERT INTO reports (uuid, territory_id, reference, status, declarant_profile, occupant_first_name,
            occupant_last_name, postal_code, city, insee_code, address_line, follow_up_code)
         SELECT ?, id, ?, 'active', 'locataire', 'Alex', 'Testeur', '69003', 'Lyon', '69383', ?, ?
         FROM territories WHERE code = ?",
    )
    .bind(&uuid)
    .bind(reference)
    .bind(address)
    .bind(&code)
    .bind(territory)
    .execute(&app.db)
    .await
    .expect("insert case");
    (result.last_insert_id(), uuid)
}

async fn assign(app: &TestApp, report: u64, partner_key_name: &str) {
    sqlx::query(
        "INSERT INTO assignments (report_id, partner_id, status)
         SELECT ?, id, 'accepted' FROM partners WHERE name LIKE ?",
    )
    .bind(report)
    .bind(partner_key_name)
    .execute(&app.db)
    .await
    .expect("assign");
}

/// The references listed in the "same address" panel of a case page.
fn same_address_panel(html: &str) -> Vec<String> {
    let start = html
        .find("id=\"meme-adresse-titre\"")
        .expect("the case page has the same-address panel");
    let panel = &html[start..start + html[start..].find("</section>").expect("panel end")];
    panel
        .split("<a href=\"/bo/signalements/")
        .skip(1)
        .map(|chunk| {
            let text = &chunk[chunk.find('>').expect("link text") + 1..];
            text[..text.find('<').expect("end of link")].to_owned()
        })
        .collect()
}

// ------------------------------------------------------ same-address panel

#[tokio::test]
async fn the_same_address_panel_lists_only_the_cases_the_viewer_may_open() {
    let app = TestApp::spawn_with_accounts().await;
    let address = "7 impasse des Doublons";
    // One case per partner of 69A, one unassigned case of 69A, one case of
    // territory 13 at the same address.
    let (schs, schs_uuid) = insert_case(&app, "69A", "2026-101", address).await;
    assign(&app, schs, "Service communal d’hygiène et de santé de Lyon").await;
    let (ars, ars_uuid) = insert_case(&app, "69A", "2026-102", address).await;
    assign(&app, ars, "ARS Auvergne-Rhône-Alpes%").await;
    insert_case(&app, "69A", "2026-103", address).await;
    let (other, other_uuid) = insert_case(&app, "13", "2026-104", address).await;
    assign(&app, other, "%Marseille%").await;

    for (who, case, expected) in [
        // A partner's users see only their partner's cases.
        (AGENT_SCHS69, &schs_uuid, vec![]),
        (ADMIN_SCHS69, &schs_uuid, vec![]),
        (AGENT_ARS69, &ars_uuid, vec![]),
        // The territory admin sees the territory's cases, not another's.
        (RT69, &schs_uuid, vec!["2026-103", "2026-102"]),
        (RT13, &other_uuid, vec![]),
        // The super admin sees every one.
        (
            SUPER_ADMIN,
            &schs_uuid,
            vec!["2026-104", "2026-103", "2026-102"],
        ),
    ] {
        let viewer = app.as_another_user();
        viewer.login_as(who).await;
        let (status, html) = viewer.get_html(&format!("/bo/signalements/{case}")).await;
        assert_eq!(status, 200, "{who} opens {case}");
        let mut listed = same_address_panel(&html);
        listed.sort();
        let mut expected: Vec<String> = expected.into_iter().map(String::from).collect();
        expected.sort();
        assert_eq!(
            listed, expected,
            "same-address panel of {case} seen by {who}"
        );
    }
    // The agent of territory 13 sees its case with nothing of 69A.
    let viewer = app.as_another_user();
    viewer.login_as(AGENT_SCHS13).await;
    let (status, html) = viewer
        .get_html(&format!("/bo/signalements/{other_uuid}"))
        .await;
    assert_eq!(status, 200);
    assert!(same_address_panel(&html).is_empty(), "{html}");
}

// ---------------------------------------------------------------- /readyz

#[tokio::test]
async fn readyz_names_the_components_up_or_down_and_nothing_more() {
    // MySQL refuses this account: the driver's message names the user, the
    // host and the server; none of it may reach the public answer.
    let app = TestApp::spawn_configured(
        "mysql://histologe:wrong-password@127.0.0.1:3307/t_missing",
        &redis_url(),
        |_| {},
    )
    .await;
    let response = app.get("/readyz").await;
    assert_eq!(response.status(), 503);
    let text = response.text().await.unwrap();
    let body: serde_json::Value = serde_json::from_str(&text).expect("json");
    assert_eq!(
        body,
        serde_json::json!({
            "status": "unavailable",
            "mysql": "down",
            "redis": "up",
            "storage": "up",
            "down": ["mysql"],
        })
    );
    for leak in ["Access denied", "histologe", "3307", "127.0.0.1", "error"] {
        assert!(!text.contains(leak), "{leak} in {text}");
    }
}

// ------------------------------------------------------- fail-closed seed

#[tokio::test]
async fn seed_refuses_to_run_in_production_and_leaves_the_database_untouched() {
    let database_url = fresh_database(&mysql_admin_url()).await;
    for environment in ["production", "prod", "staging"] {
        let output = std::process::Command::new(env!("CARGO_BIN_EXE_histologe"))
            .arg("seed")
            .arg("--reports=1")
            .env("APP_ENV", environment)
            .env("SECRET_KEY", "a-production-secret-key-of-at-least-32-chars")
            .env("DATABASE_URL", &database_url)
            .env("REDIS_URL", redis_url())
            .env("LOG_FORMAT", "pretty")
            .output()
            .expect("run histologe seed");
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert!(!output.status.success(), "{environment}: {stderr}");
        assert!(
            stderr.contains("refuse de s’exécuter en production")
                && stderr.contains("refuses to run in production"),
            "{environment}: {stderr}"
        );
    }
    let pool = histologe::db::pool_options(1)
        .connect(&database_url)
        .await
        .unwrap();
    let users: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM users")
        .fetch_one(&pool)
        .await
        .unwrap();
    assert_eq!(users, 0, "no demo account was created");
    // In development it runs.
    let output = std::process::Command::new(env!("CARGO_BIN_EXE_histologe"))
        .arg("seed")
        .arg("--reports=1")
        .env("APP_ENV", "development")
        .env("DATABASE_URL", &database_url)
        .env("REDIS_URL", redis_url())
        .output()
        .expect("run histologe seed");
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let users: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM users")
        .fetch_one(&pool)
        .await
        .unwrap();
    assert!(users > 0);
}

// ------------------------------------------------------------ dev mailbox

#[tokio::test]
async fn the_dev_mailbox_exists_only_when_opted_in() {
    let app = TestApp::spawn().await;
    assert!(!app.state.config.dev_mailbox, "off by default");
    let (status, html) = app.get_html("/dev/courriels").await;
    assert_eq!(status, 404);
    assert!(html.contains("Page non trouvée"));
    assert_eq!(app.get("/dev/courriels/quelconque").await.status(), 404);

    let app = TestApp::spawn_tweaked(|c| c.dev_mailbox = true).await;
    let (status, html) = app.get_html("/dev/courriels").await;
    assert_eq!(status, 200);
    assert!(
        html.contains("courriel") || html.contains("Courriel"),
        "{html}"
    );
}

// ------------------------------------------------------- logs and Sentry

/// A `MakeWriter` into a shared buffer: what the log lines say.
#[derive(Clone, Default)]
struct Captured(Arc<Mutex<Vec<u8>>>);

impl std::io::Write for Captured {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().write(buf)
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl<'a> tracing_subscriber::fmt::MakeWriter<'a> for Captured {
    type Writer = Captured;
    fn make_writer(&'a self) -> Self::Writer {
        self.clone()
    }
}

impl Captured {
    fn text(&self) -> String {
        String::from_utf8_lossy(&self.0.lock().unwrap()).into_owned()
    }
}

/// Every log line of the requests (the server runs on this test's thread,
/// where the capturing subscriber is the default) names the route template,
/// never the token, the follow-up code or the draft uuid of the path, nor
/// the query string.
#[tokio::test]
async fn request_logs_carry_the_route_template_never_the_secret_in_the_path() {
    use tracing_subscriber::layer::SubscriberExt;
    let captured = Captured::default();
    let subscriber = tracing_subscriber::registry().with(
        tracing_subscriber::fmt::layer()
            .with_writer(captured.clone())
            .with_ansi(false),
    );
    let _guard = tracing::subscriber::set_default(subscriber);

    let app = TestApp::spawn().await;
    let token = "RsT0kEnSecret0123456789abcdefXYZ";
    let code = "C0deSecret0123456789abcdefghijklmnopqrstuvw";
    let draft = uuid::Uuid::new_v4().to_string();
    for path in [
        format!("/mot-de-passe/{token}"),
        format!("/activation/{token}?suite=/bo/{token}"),
        format!("/suivre-mon-signalement/{code}"),
        format!("/signalement/{draft}/logement"),
        format!("/mot-de-passe/{token}/inconnu"),
    ] {
        let response = app.get(&path).await;
        assert!(response.status().as_u16() < 500, "{path}");
    }
    let logs = captured.text();
    for route in [
        "route=/mot-de-passe/{token}",
        "route=/activation/{token}",
        "route=/suivre-mon-signalement/{code}",
        "route=/signalement/{uuid}/{step}",
        "route=(aucune route)",
    ] {
        assert!(logs.contains(route), "{route} in:\n{logs}");
    }
    for secret in [token, code, draft.as_str()] {
        assert!(!logs.contains(secret), "{secret} leaked into:\n{logs}");
    }
}

/// A Sentry transport that keeps the events in memory.
#[derive(Default)]
struct CapturingTransport(Mutex<Vec<sentry::protocol::Event<'static>>>);

impl sentry::Transport for CapturingTransport {
    fn send_envelope(&self, envelope: sentry::Envelope) {
        if let Some(event) = envelope.event() {
            self.0.lock().unwrap().push(event.clone());
        }
    }
}

/// A database that exists but has no table: every query fails with an
/// unexpected error, which the app logs at ERROR (a Sentry event).
async fn database_without_tables() -> String {
    use sqlx::Connection;
    let admin = mysql_admin_url();
    let name = format!("t_{}", uuid::Uuid::new_v4().simple());
    let mut conn = sqlx::MySqlConnection::connect(&admin).await.unwrap();
    sqlx::query(&format!("CREATE DATABASE `{name}`"))
        .execute(&mut conn)
        .await
        .unwrap();
    format!("{admin}/{name}")
}

#[tokio::test]
async fn a_sentry_event_names_the_route_and_carries_no_secret_of_the_url() {
    use tower::ServiceExt;
    use tracing_subscriber::{Layer, layer::SubscriberExt};
    let dsn = "https://public@127.0.0.1:9/1";
    let app = TestApp::spawn_configured(&database_without_tables().await, &redis_url(), |c| {
        c.sentry_dsn = Some(Secret::new(dsn));
    })
    .await;
    // The process's own options (scrubbing included), with a transport
    // that keeps the events instead of sending them.
    let transport = Arc::new(CapturingTransport::default());
    let options = histologe::telemetry::sentry_options(&app.state.config)
        .dsn(dsn)
        .transport(transport.clone());
    assert!(!options.send_default_pii);
    let hub = Arc::new(sentry::Hub::new(
        Some(Arc::new(sentry::Client::from(options))),
        Arc::default(),
    ));
    let subscriber = tracing_subscriber::registry().with(
        sentry::integrations::tracing::ErrorLayer::new()
            .with_filter(tracing_subscriber::filter::LevelFilter::ERROR),
    );
    let _guard = tracing::subscriber::set_default(subscriber);

    let code = "C0deSecret0123456789abcdefghijklmnopqrstuvw";
    let request = axum::http::Request::get(format!("/suivre-mon-signalement/{code}?code={code}"))
        .body(axum::body::Body::empty())
        .unwrap();
    let response = sentry::SentryFutureExt::bind_hub(
        histologe::app::router(app.state.clone()).oneshot(request),
        hub.clone(),
    )
    .await
    .unwrap();
    assert_eq!(
        response.status(),
        500,
        "the missing tables are an unexpected error"
    );

    let events = transport.0.lock().unwrap().clone();
    assert_eq!(events.len(), 1, "{events:?}");
    let event = &events[0];
    assert_eq!(
        event.transaction.as_deref(),
        Some("/suivre-mon-signalement/{code}")
    );
    assert_eq!(
        event.tags.get("route").map(String::as_str),
        Some("/suivre-mon-signalement/{code}")
    );
    let json = serde_json::to_string(event).unwrap();
    assert!(!json.contains(code), "the code leaked into {json}");
}

#[tokio::test]
async fn sentry_before_send_scrubs_urls_and_query_strings() {
    // The options the process starts Sentry with scrub every event.
    let app = TestApp::spawn_tweaked(|c| {
        c.sentry_dsn = Some(Secret::new("https://public@127.0.0.1:9/1"));
    })
    .await;
    let options = histologe::telemetry::sentry_options(&app.state.config);
    let before_send = options.before_send.clone().expect("a before_send callback");
    let mut event = sentry::protocol::Event {
        transaction: Some("/suivre-mon-signalement/C0deSecret0123456789abcdef".into()),
        ..Default::default()
    };
    event.request = Some(sentry::protocol::Request {
        url: "http://127.0.0.1/mot-de-passe/RsT0kEnSecret0123456789?x=1"
            .parse()
            .ok(),
        query_string: Some("x=1".into()),
        ..Default::default()
    });
    let event = before_send(event).expect("event kept");
    assert_eq!(
        event.transaction.as_deref(),
        Some("/suivre-mon-signalement/{code}")
    );
    let url = event.request.unwrap().url.unwrap();
    assert_eq!(url.path(), "/mot-de-passe/%7Btoken%7D");
    assert_eq!(url.query(), None);
    assert!(!options.send_default_pii);
}
