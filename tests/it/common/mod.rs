//! Test harness: a fresh database per test, the real app on a random port,
//! and helpers named after what a user does.

#![allow(dead_code)]

pub mod servers;
pub mod webdriver;

use std::{net::SocketAddr, path::PathBuf};

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

/// A running instance of the whole web application.
pub struct TestApp {
    pub address: SocketAddr,
    pub base_url: String,
    pub db: db::Pool,
    pub state: AppState,
    pub client: reqwest::Client,
    pub mailbox: tempdir::TempDir,
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
        let mailbox = tempdir::TempDir::new("histologe-mailbox");
        let config = Config::for_tests(database_url, redis_url, mailbox.path().to_path_buf());
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
        let client = reqwest::Client::builder()
            .cookie_store(true)
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .expect("client");
        Self {
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

/// Where screenshots of browser tests go (git-ignored).
pub fn screenshot_dir() -> PathBuf {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/screenshots");
    std::fs::create_dir_all(&dir).expect("screenshot dir");
    dir
}
