//! Test harness: a fresh database per test, the real app on a random port,
//! and helpers named after what a user does.

#![allow(dead_code)]

pub mod cases;
pub mod pages;
pub mod servers;
pub mod webdriver;

use std::{
    collections::HashMap,
    net::SocketAddr,
    path::PathBuf,
    sync::{Arc, Mutex, OnceLock},
};

use histologe::{
    app::{self, AppState},
    config::Config,
    db,
};
use sqlx::{Connection, MySqlConnection};

/// Where the project's MariaDB listens (as an admin URL without database).
pub fn mysql_admin_url() -> String {
    std::env::var("TEST_DATABASE_URL")
        .unwrap_or_else(|_| "mysql://histologe:histologe@127.0.0.1:3307".into())
}

/// The project's clamd (`scripts/services.sh` exports CLAMD_ADDRESS).
pub fn clamd_address() -> histologe::integrations::clamav::ClamdAddress {
    std::env::var("TEST_CLAMD_ADDRESS")
        .or_else(|_| std::env::var("CLAMD_ADDRESS"))
        .unwrap_or_else(|_| histologe::config::DEFAULT_CLAMD_ADDRESS.into())
        .parse()
        .expect("TEST_CLAMD_ADDRESS or CLAMD_ADDRESS is tcp://host:port or unix:///path")
}

pub fn redis_url() -> String {
    std::env::var("TEST_REDIS_URL").unwrap_or_else(|_| "redis://127.0.0.1:6380/1".into())
}

/// Creates an empty database with a unique name on the server behind
/// `admin_url` and applies every migration. Returns its URL.
pub async fn fresh_database(admin_url: &str) -> String {
    let name = format!("t_{}", uuid::Uuid::new_v4().simple());
    let mut conn = MySqlConnection::connect(admin_url).await.expect(
        "cannot reach the test MariaDB: run `scripts/services.sh start` (scripts/test.sh does it for you)",
    );
    sqlx::query(&format!(
        "CREATE DATABASE `{name}` CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci"
    ))
    .execute(&mut conn)
    .await
    .expect("create test database");
    let url = format!("{admin_url}/{name}");
    drop_guards().insert(
        url.clone(),
        Arc::new(TestDatabase {
            admin_url: admin_url.to_owned(),
            name,
        }),
    );
    let pool = db::pool_options(2)
        .connect(&url)
        .await
        .expect("connect test database");
    db::migrate(&pool)
        .await
        .expect("migrations apply on a fresh database");
    pool.close().await;
    url
}

/// The databases made by `fresh_database` that no `TestApp` has taken yet,
/// by URL. The first app spawned on one takes its guard, so that the
/// database goes away with the last handle on that app.
fn drop_guards() -> std::sync::MutexGuard<'static, HashMap<String, Arc<TestDatabase>>> {
    static GUARDS: OnceLock<Mutex<HashMap<String, Arc<TestDatabase>>>> = OnceLock::new();
    GUARDS
        .get_or_init(Default::default)
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

/// A `t_<uuid>` database of one test, dropped when the test passes and kept
/// (its name printed) when the test fails, so that it can be inspected.
///
/// `Drop` cannot await and the test's runtime may be single-threaded, so the
/// `DROP DATABASE` runs on a thread of its own with its own runtime, through
/// a fresh connection, and the dropping thread waits for it.
pub struct TestDatabase {
    admin_url: String,
    pub name: String,
}

impl Drop for TestDatabase {
    fn drop(&mut self) {
        if std::thread::panicking() {
            eprintln!("test failed: database {} kept for inspection", self.name);
            return;
        }
        let (admin_url, name) = (self.admin_url.clone(), self.name.clone());
        let dropped = std::thread::spawn(move || -> Result<(), String> {
            let runtime = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .map_err(|e| e.to_string())?;
            runtime.block_on(async {
                // A server stopped by a resilience test refuses at once; a
                // lock still held by a leftover task gives up after 5 s.
                tokio::time::timeout(std::time::Duration::from_secs(15), async {
                    let mut conn = MySqlConnection::connect(&admin_url).await?;
                    sqlx::query("SET SESSION lock_wait_timeout = 5")
                        .execute(&mut conn)
                        .await?;
                    sqlx::query(&format!("DROP DATABASE IF EXISTS `{name}`"))
                        .execute(&mut conn)
                        .await?;
                    conn.close().await
                })
                .await
                .map_err(|_| "timed out".to_owned())?
                .map_err(|e| e.to_string())
            })
        })
        .join();
        if let Ok(Err(error)) = dropped {
            eprintln!("test database {} not dropped: {error}", self.name);
        }
    }
}

/// A running instance of the whole web application.
pub struct TestApp {
    pub address: SocketAddr,
    pub base_url: String,
    pub db: db::Pool,
    pub state: AppState,
    pub client: reqwest::Client,
    pub mailbox: tempdir::TempDir,
    /// The test's own database, dropped with the last handle if the test passed.
    pub database: Option<Arc<TestDatabase>>,
}

pub mod tempdir {
    //! A folder removed when the test ends.
    use std::path::{Path, PathBuf};

    pub struct TempDir(PathBuf);

    impl TempDir {
        pub fn new(prefix: &str) -> Self {
            let path =
                std::env::temp_dir().join(format!("{prefix}-{}", uuid::Uuid::new_v4().simple()));
            std::fs::create_dir_all(&path).expect("create temp dir");
            Self(path)
        }
        pub fn path(&self) -> &Path {
            &self.0
        }
    }

    impl Drop for TempDir {
        fn drop(&mut self) {
            let _ = std::fs::remove_dir_all(&self.0);
        }
    }
}

impl TestApp {
    /// A fresh database on the project's MariaDB, the project's Redis.
    pub async fn spawn() -> Self {
        let database_url = fresh_database(&mysql_admin_url()).await;
        Self::spawn_with(&database_url, &redis_url()).await
    }

    /// The app against the given servers (resilience tests bring their own).
    pub async fn spawn_with(database_url: &str, redis_url: &str) -> Self {
        Self::spawn_configured(database_url, redis_url, |_| {}).await
    }

    /// A fresh database and the project's Redis, with the test configuration
    /// changed by `tweak` (limits, folders, opt-in switches).
    pub async fn spawn_tweaked(tweak: impl FnOnce(&mut Config)) -> Self {
        let database_url = fresh_database(&mysql_admin_url()).await;
        Self::spawn_configured(&database_url, &redis_url(), tweak).await
    }

    /// The app with a tweaked test configuration (a guard turned on).
    pub async fn spawn_configured(
        database_url: &str,
        redis_url: &str,
        tweak: impl FnOnce(&mut Config),
    ) -> Self {
        let mailbox = tempdir::TempDir::new("histologe-mailbox");
        let mut config = Config::for_tests(database_url, redis_url, mailbox.path().to_path_buf());
        config.clamd_address = clamd_address();
        tweak(&mut config);
        histologe::telemetry::init_logs(&config);
        let state = AppState::connect(config).expect("app state");
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind");
        let address = listener.local_addr().expect("address");
        let router = app::router(state.clone());
        tokio::spawn(async move {
            axum::serve(
                listener,
                router.into_make_service_with_connect_info::<SocketAddr>(),
            )
            .await
            .expect("serve");
        });
        let client = new_client();
        let database = drop_guards().remove(database_url);
        Self {
            database,
            address,
            base_url: format!("http://{address}"),
            db: state.db.clone(),
            state,
            client,
            mailbox,
        }
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base_url)
    }

    /// GET a page as a visitor would.
    pub async fn get(&self, path: &str) -> reqwest::Response {
        self.client
            .get(self.url(path))
            .send()
            .await
            .expect("request")
    }

    /// GET a page and return its status and HTML.
    pub async fn get_html(&self, path: &str) -> (reqwest::StatusCode, String) {
        let response = self.get(path).await;
        let status = response.status();
        (status, response.text().await.expect("body"))
    }
}

/// A browser-like client: its own cookie jar, no redirect following, and its
/// own client address (through `X-Forwarded-For`), so that the per-address
/// rate limits of concurrent tests sharing one Redis stay apart.
pub fn new_client() -> reqwest::Client {
    let mut headers = reqwest::header::HeaderMap::new();
    let bytes = uuid::Uuid::new_v4().into_bytes();
    let ip = format!("10.{}.{}.{}", bytes[0], bytes[1], bytes[2]);
    headers.insert("x-forwarded-for", ip.parse().expect("ip header"));
    reqwest::Client::builder()
        .cookie_store(true)
        .redirect(reqwest::redirect::Policy::none())
        .default_headers(headers)
        .build()
        .expect("client")
}

/// The demo password of the seeded accounts.
pub const DEMO_PASSWORD: &str = histologe::seed::DEMO_PASSWORD;

/// The value of the first hidden `_csrf` field of a page.
pub fn csrf_in(html: &str) -> String {
    let marker = "name=\"_csrf\" value=\"";
    let start = html.find(marker).expect("page has a CSRF field") + marker.len();
    html[start..start + html[start..].find('"').expect("end of value")].to_owned()
}

impl TestApp {
    /// Loads the demo data (territories 69A and 13, partners, one account
    /// per role) with a few reports.
    pub async fn seed_demo(&self) {
        histologe::seed::run(&self.db, &histologe::seed::SeedOptions { reports: 12 })
            .await
            .expect("demo data loads");
    }

    /// A fresh app with the demo accounts, territories and partners but no
    /// case (nor any job queued by the seeding): each test inserts its own.
    pub async fn spawn_with_accounts() -> TestApp {
        let app = TestApp::spawn().await;
        app.seed_demo().await;
        for table in [
            "report_qualifications",
            "report_defects",
            "follow_ups",
            "assignments",
            "report_tags",
            "notifications",
            "report_subscriptions",
            "visits",
            "documents",
            "arretes",
            "reports",
            "outbox",
        ] {
            sqlx::query(&format!("DELETE FROM {table}"))
                .execute(&app.db)
                .await
                .expect(table);
        }
        app
    }

    /// The same app seen by another person: a client with its own cookies.
    pub fn as_another_user(&self) -> TestApp {
        TestApp {
            client: new_client(),
            ..self.clone_handle()
        }
    }

    /// This client's CSRF token (read from the login page).
    pub async fn csrf(&self) -> String {
        let (_, html) = self.get_html("/connexion").await;
        csrf_in(&html)
    }

    /// POSTs a urlencoded form with the CSRF token added.
    pub async fn post_form(&self, path: &str, fields: &[(&str, &str)]) -> reqwest::Response {
        let token = self.csrf().await;
        let mut body: Vec<(&str, &str)> = vec![("_csrf", token.as_str())];
        body.extend_from_slice(fields);
        self.client
            .post(self.url(path))
            .form(&body)
            .send()
            .await
            .expect("post")
    }

    /// Signs in with the demo password; panics unless it works.
    pub async fn login_as(&self, email: &str) {
        let response = self
            .post_form(
                "/connexion",
                &[("email", email), ("password", DEMO_PASSWORD)],
            )
            .await;
        assert_eq!(response.status(), 303, "login of {email} should redirect");
        assert_eq!(response.headers()["location"], "/bo");
    }

    /// Signs out.
    pub async fn logout(&self) {
        let response = self.post_form("/deconnexion", &[]).await;
        assert_eq!(response.status(), 303);
    }

    /// The jobs waiting in the outbox.
    pub async fn pending_jobs(&self) -> Vec<serde_json::Value> {
        db::outbox::list_pending(&self.db)
            .await
            .expect("outbox")
            .into_iter()
            .map(|row| row.payload.0)
            .collect()
    }

    /// The link of the last queued e-mail of this template sent to `to`.
    pub async fn last_link_sent_to(&self, template: &str, to: &str) -> String {
        let jobs = self.pending_jobs().await;
        let job = jobs
            .iter()
            .rev()
            .find(|j| j["template"] == template && j["to"] == to)
            .unwrap_or_else(|| panic!("no {template} e-mail queued for {to}: {jobs:?}"));
        job["link"].as_str().expect("link").to_owned()
    }

    /// The same running app, for another client (see `TestApp { client, ..app.clone_handle() }`).
    pub fn clone_handle(&self) -> TestApp {
        TestApp {
            address: self.address,
            base_url: self.base_url.clone(),
            db: self.db.clone(),
            state: self.state.clone(),
            client: self.client.clone(),
            mailbox: tempdir::TempDir::new("histologe-mailbox-clone"),
            database: self.database.clone(),
        }
    }

    /// A second client (another browser) on the same app.
    pub fn other_browser(&self) -> reqwest::Client {
        new_client()
    }
}

/// Where screenshots of browser tests go (git-ignored).
pub fn screenshot_dir() -> PathBuf {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/screenshots");
    std::fs::create_dir_all(&dir).expect("screenshot dir");
    dir
}
