//! Operations hardening: exports that cannot starve the site (caps, own
//! pool, write timeout, no file left behind), logs without secrets,
//! `/readyz` without error details, and fail-closed defaults (`seed` in
//! production, the dev mailbox, the "same address" panel's scope).

use std::{
    sync::{Arc, Mutex},
    time::{Duration, Instant},
};

use histologe::config::Secret;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

use crate::common::{TestApp, cases::CaseBuilder, fresh_database, mysql_admin_url, redis_url};

const SUPER_ADMIN: &str = "admin@histologe.localhost";
const RT69: &str = "rt69@histologe.localhost";
const RT13: &str = "rt13@histologe.localhost";
const ADMIN_SCHS69: &str = "admin.schs69@histologe.localhost";
const AGENT_SCHS69: &str = "agent.schs69@histologe.localhost";
const AGENT_ARS69: &str = "agent.ars69@histologe.localhost";
const AGENT_SCHS13: &str = "agent.schs13@histologe.localhost";

/// A case of territory `territory` at `address` (postal code 69003).
/// Returns its id and uuid.
async fn insert_case(
    app: &TestApp,
    territory: &str,
    reference: &str,
    address: &str,
) -> (u64, String) {
    let case = CaseBuilder::new(territory)
        .reference(reference)
        .street(address)
        .create(app)
        .await;
    (case.id, case.uuid)
}

async fn assign(app: &TestApp, report: u64, partner_key_name: &str) {
    let partner: u64 = sqlx::query_scalar("SELECT id FROM partners WHERE name LIKE ?")
        .bind(partner_key_name)
        .fetch_one(&app.db)
        .await
        .expect("partner");
    crate::common::cases::assign(app, report, partner, "en_cours").await;
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
            // Production requires a clamd (docs/antivirus.md).
            .env("CLAMD_ADDRESS", "tcp://127.0.0.1:3311")
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
        std::io::Write::write(&mut *self.0.lock().unwrap(), buf)
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

// ---------------------------------------------------------------- exports

/// Every column of the export: the widest rows, so that a few thousand
/// rows outgrow the sockets' buffers.
fn all_columns() -> String {
    histologe::db::exports::COLUMNS
        .iter()
        .map(|c| c.key)
        .collect::<Vec<_>>()
        .join(",")
}

/// `count` generated active cases of 69A, with every text column filled.
async fn insert_many(app: &TestApp, count: u32) {
    // Raw on purpose: thousands of rows in one statement for a volume test
    // (docs/testing.md §2); one `CaseBuilder` per row would take minutes.
    sqlx::query(&format!(
        "INSERT INTO reports (uuid, territory_id, reference, status, declarant_profile, occupant_first_name,
            occupant_last_name, occupant_email, occupant_phone, declarant_first_name, declarant_last_name,
            declarant_email, landlord_name, landlord_email, landlord_address, landlord_city, postal_code, city,
            insee_code, address_line, address_complement, details, created_at, severity_score, follow_up_code)
         SELECT UUID(), t.id, CONCAT('EXP-', s.seq), 'active', 'locataire', 'Camille', CONCAT('Occupant ', s.seq),
            CONCAT('occupant', s.seq, '@exemple.fr'), '0612345678', 'Dominique', CONCAT('Déclarant ', s.seq),
            CONCAT('declarant', s.seq, '@exemple.fr'), 'SCI des Lilas', 'bailleur@exemple.fr',
            '3 avenue des Frères Lumière', 'Lyon', '69003', 'Lyon', '69383', CONCAT(s.seq, ' rue de la Part-Dieu'),
            'Bâtiment B, escalier 2, porte gauche',
            'Humidité dans toutes les pièces, moisissures au plafond de la chambre des enfants, fenêtres qui ferment mal.',
            '2026-05-01 08:00:00' + INTERVAL (s.seq % 90) DAY, s.seq % 80,
            LPAD(CONCAT('x', s.seq), 43, '0')
         FROM seq_1_to_{count} s JOIN territories t ON t.code = '69A'"
    ))
    .execute(&app.db)
    .await
    .expect("insert generated cases");
}

/// The session cookie of `email`, signed in through the login form.
async fn session_cookie(app: &TestApp, email: &str) -> String {
    let jar = Arc::new(reqwest::cookie::Jar::default());
    let client = reqwest::Client::builder()
        .cookie_provider(jar.clone())
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let forwarded = format!("10.77.{}.{}", rand_octet(), rand_octet());
    let html = client
        .get(app.url("/connexion"))
        .header("x-forwarded-for", &forwarded)
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let token = crate::common::csrf_in(&html);
    let response = client
        .post(app.url("/connexion"))
        .header("x-forwarded-for", &forwarded)
        .form(&[
            ("_csrf", token.as_str()),
            ("email", email),
            ("password", crate::common::DEMO_PASSWORD),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 303, "login of {email}");
    let url: reqwest::Url = app.base_url.parse().unwrap();
    reqwest::cookie::CookieStore::cookies(&*jar, &url)
        .expect("a session cookie")
        .to_str()
        .unwrap()
        .to_owned()
}

fn rand_octet() -> u8 {
    uuid::Uuid::new_v4().as_bytes()[0]
}

/// A download by a client that reads its status line and then stops
/// reading, socket open, with a small receive buffer (a phone on a bad
/// network, or an attacker).
struct StalledDownload {
    socket: tokio::net::TcpStream,
    status: u16,
    head: Vec<u8>,
}

impl StalledDownload {
    async fn start(app: &TestApp, path: &str, cookie: &str) -> Self {
        let socket = tokio::net::TcpSocket::new_v4().unwrap();
        socket.set_recv_buffer_size(4096).unwrap();
        let mut socket = socket.connect(app.address).await.unwrap();
        let request = format!(
            "GET {path} HTTP/1.1\r\nHost: {}\r\nCookie: {cookie}\r\nX-Forwarded-For: 10.78.{}.{}\r\nConnection: close\r\n\r\n",
            app.address,
            rand_octet(),
            rand_octet()
        );
        socket.write_all(request.as_bytes()).await.unwrap();
        // Read until the status line is in: a few bytes, then stall.
        let mut head = Vec::new();
        let mut buffer = [0u8; 64];
        while !head.windows(2).any(|w| w == b"\r\n") {
            let n = socket.read(&mut buffer).await.unwrap();
            assert!(n > 0, "connection closed before the status line");
            head.extend_from_slice(&buffer[..n]);
        }
        let status = std::str::from_utf8(&head[9..12]).unwrap().parse().unwrap();
        Self {
            socket,
            status,
            head,
        }
    }

    /// Resumes reading until the server closes: everything received.
    async fn read_rest(mut self) -> Vec<u8> {
        let mut all = self.head;
        let mut buffer = vec![0u8; 64 * 1024];
        loop {
            match self.socket.read(&mut buffer).await {
                Ok(0) | Err(_) => return all,
                Ok(n) => all.extend_from_slice(&buffer[..n]),
            }
        }
    }
}

/// Polls `condition` every 50 ms until it holds, or fails after `limit`.
async fn eventually(limit: Duration, what: &str, mut condition: impl FnMut() -> bool) {
    let deadline = Instant::now() + limit;
    while !condition() {
        assert!(Instant::now() < deadline, "{what}: not within {limit:?}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn thirty_stalled_csv_downloads_leave_the_case_list_answering() {
    let app = TestApp::spawn_tweaked(|_| {}).await;
    app.seed_demo().await;
    insert_many(&app, 30_000).await;
    let path = format!("/bo/signalements/export.csv?colonnes={}", all_columns());
    // The two users who see the 30,000 cases start 15 downloads each.
    let cookies = [
        session_cookie(&app, SUPER_ADMIN).await,
        session_cookie(&app, RT69).await,
    ];
    let mut downloads = Vec::new();
    for i in 0..30 {
        downloads.push(StalledDownload::start(&app, &path, &cookies[i % 2]).await);
    }
    let statuses: Vec<u16> = downloads.iter().map(|d| d.status).collect();
    let granted = statuses.iter().filter(|s| **s == 200).count();
    // Refused: 429 (no slot), or 503 when the machine is so loaded that a
    // request waited past the pool's acquire timeout (seen when the suite
    // shares two cores with compilers); never a 500, never a fifth export.
    let refused = statuses.iter().filter(|s| [429, 503].contains(*s)).count();
    assert_eq!(
        (granted, refused),
        (4, 26),
        "2 per user, 4 in all, the rest refused: {statuses:?}"
    );
    assert!(
        statuses.iter().filter(|s| **s == 429).count() >= 20,
        "{statuses:?}"
    );
    assert_eq!(app.state.export_slots.in_use(), 4);
    // The stalled downloads hold the exports' whole pool (the fourth waits
    // for a connection of it)...
    let pool = app.state.export_db.clone();
    eventually(Duration::from_secs(20), "export pool saturated", || {
        pool.size() == 3 && pool.num_idle() == 0
    })
    .await;

    // ... while the site keeps answering from its own.
    let reader = app.as_another_user();
    reader.login_as(AGENT_SCHS69).await;
    let mut latencies = Vec::new();
    for _ in 0..20 {
        let started = Instant::now();
        let response = reader.get("/bo/signalements").await;
        assert_eq!(response.status(), 200);
        response.text().await.unwrap();
        latencies.push(started.elapsed());
    }
    latencies.sort();
    println!(
        "case list during 30 stalled exports: median {} ms, max {} ms",
        latencies[10].as_millis(),
        latencies[19].as_millis()
    );
    assert!(latencies[19] < Duration::from_secs(3), "{latencies:?}");

    // A refused download got the French page.
    let refused = downloads
        .into_iter()
        .find(|d| d.status == 429)
        .unwrap()
        .read_rest()
        .await;
    let text = String::from_utf8_lossy(&refused);
    assert!(
        text.contains("Exports déjà en cours") || text.contains("Trop d’exports en cours"),
        "{text}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_download_that_stops_reading_is_ended_after_the_write_timeout() {
    let timeout = Duration::from_secs(2);
    let app = TestApp::spawn_tweaked(|c| c.exports.write_timeout = timeout).await;
    app.seed_demo().await;
    insert_many(&app, 20_000).await;
    let path = format!("/bo/signalements/export.csv?colonnes={}", all_columns());
    let cookie = session_cookie(&app, RT69).await;

    let started = Instant::now();
    let first = StalledDownload::start(&app, &path, &cookie).await;
    let second = StalledDownload::start(&app, &path, &cookie).await;
    assert_eq!((first.status, second.status), (200, 200));
    let third = StalledDownload::start(&app, &path, &cookie).await;
    assert_eq!(third.status, 429, "two per user");

    // Nobody reads: the exports end on their own, giving back their slots
    // and their connections.
    let slots = app.state.export_slots.clone();
    eventually(Duration::from_secs(30), "stalled exports ended", || {
        slots.in_use() == 0
    })
    .await;
    assert!(
        started.elapsed() >= timeout,
        "ended after the write timeout, not before: {:?}",
        started.elapsed()
    );
    let pool = app.state.export_db.clone();
    eventually(Duration::from_secs(10), "connections back", || {
        pool.num_idle() == pool.size() as usize
    })
    .await;

    // The same user exports again, to the end.
    let reader = app.as_another_user();
    reader.login_as(RT69).await;
    let response = reader.get("/bo/signalements/export.csv").await;
    assert_eq!(response.status(), 200);
    let csv = response.text().await.unwrap();
    let cases = visible_cases_of_69a(&app).await;
    assert_eq!(csv.lines().count(), cases + 1, "header + every case");

    // The stalled client, reading again, gets a download that does not
    // end like a complete one: it can tell the file is cut.
    let received = first.read_rest().await;
    assert!(
        !received.ends_with(b"\r\n0\r\n\r\n"),
        "no final chunk after a cut"
    );
    let lines = received.iter().filter(|b| **b == b'\n').count();
    assert!(lines < cases, "{lines} lines of {cases}");
}

/// The cases of 69A its territory admin exports by default (not archived).
async fn visible_cases_of_69a(app: &TestApp) -> usize {
    let n: i64 = sqlx::query_scalar(
        "SELECT COUNT(*) FROM reports r JOIN territories t ON t.id = r.territory_id
         WHERE t.code = '69A' AND r.status <> 'archived'",
    )
    .fetch_one(&app.db)
    .await
    .unwrap();
    usize::try_from(n).unwrap()
}

/// The files the process has open under `dir` (unlinked ones included).
fn open_files_under(dir: &std::path::Path) -> Vec<String> {
    std::fs::read_dir("/proc/self/fd")
        .unwrap()
        .flatten()
        .filter_map(|fd| std::fs::read_link(fd.path()).ok())
        .map(|target| target.display().to_string())
        .filter(|target| target.starts_with(&dir.display().to_string()))
        .collect()
}

fn listing(dir: &std::path::Path) -> Vec<String> {
    std::fs::read_dir(dir)
        .unwrap()
        .flatten()
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_xlsx_export_cancelled_midway_leaves_no_file_behind() {
    let tmp = crate::common::tempdir::TempDir::new("histologe-exports");
    let dir = tmp.path().to_path_buf();
    let app = TestApp::spawn_tweaked(|c| c.exports.tmp_dir = dir.clone()).await;
    app.seed_demo().await;
    insert_many(&app, 20_000).await;
    let cookie = session_cookie(&app, SUPER_ADMIN).await;

    // The workbook is being built: its files are open in the folder, and
    // the folder shows none of them.
    let socket = tokio::net::TcpStream::connect(app.address).await.unwrap();
    let mut socket = socket;
    let request = format!(
        "GET /bo/signalements/export.xlsx?colonnes={} HTTP/1.1\r\nHost: x\r\nCookie: {cookie}\r\nConnection: close\r\n\r\n",
        all_columns()
    );
    socket.write_all(request.as_bytes()).await.unwrap();
    eventually(Duration::from_secs(20), "the workbook's files open", || {
        !open_files_under(&dir).is_empty()
    })
    .await;
    let open = open_files_under(&dir);
    assert!(
        open.iter().all(|f| f.ends_with("(deleted)")),
        "unlinked from the start: {open:?}"
    );
    assert_eq!(listing(&dir), Vec::<String>::new());

    // The client gives up mid-way.
    drop(socket);
    let slots = app.state.export_slots.clone();
    eventually(Duration::from_secs(60), "the export released", || {
        slots.in_use() == 0 && open_files_under(&dir).is_empty()
    })
    .await;
    assert_eq!(listing(&dir), Vec::<String>::new(), "nothing left on disk");

    // A complete export still works, and leaves nothing either.
    let reader = app.as_another_user();
    reader.login_as(SUPER_ADMIN).await;
    let response = reader
        .get("/bo/signalements/export.xlsx?colonnes=reference")
        .await;
    assert_eq!(response.status(), 200);
    let bytes = response.bytes().await.unwrap();
    assert_eq!(&bytes[..4], b"PK\x03\x04");
    eventually(Duration::from_secs(10), "files closed", || {
        open_files_under(&dir).is_empty()
    })
    .await;
    assert_eq!(listing(&dir), Vec::<String>::new());
}
