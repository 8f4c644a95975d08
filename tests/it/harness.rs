//! The test harness itself: what it promises the other tests.

use sqlx::{Connection, MySqlConnection};

use crate::common::{TestApp, mysql_admin_url};

async fn database_exists(name: &str) -> bool {
    let mut conn = MySqlConnection::connect(&mysql_admin_url())
        .await
        .expect("admin connection");
    let found: Option<String> = sqlx::query_scalar(
        "SELECT schema_name FROM information_schema.schemata WHERE schema_name = ?",
    )
    .bind(name)
    .fetch_optional(&mut conn)
    .await
    .expect("schemata");
    found.is_some()
}

#[tokio::test]
async fn the_database_of_a_test_goes_away_with_its_last_app_handle() {
    let app = TestApp::spawn().await;
    let name = app
        .database
        .as_ref()
        .expect("spawn made a database")
        .name
        .clone();
    let other = app.as_another_user();
    drop(app);
    assert!(
        database_exists(&name).await,
        "still used by the other handle"
    );
    drop(other);
    assert!(!database_exists(&name).await, "{name} left behind");
}

#[tokio::test]
async fn the_database_of_a_failing_test_is_kept_for_inspection() {
    let app = TestApp::spawn().await;
    let name = app
        .database
        .as_ref()
        .expect("spawn made a database")
        .name
        .clone();
    // A panic while the app is alive stands for a failing assertion.
    let outcome = tokio::task::spawn(async move {
        let _app = app;
        panic!("a failing assertion");
    })
    .await;
    assert!(outcome.is_err());
    assert!(database_exists(&name).await, "{name} kept");
    let mut conn = MySqlConnection::connect(&mysql_admin_url()).await.unwrap();
    sqlx::query(&format!("DROP DATABASE `{name}`"))
        .execute(&mut conn)
        .await
        .unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_browser_dropped_by_a_failing_test_leaves_no_process_behind() {
    use crate::common::webdriver::{Browser, is_running};
    let (started, processes) = tokio::sync::oneshot::channel();
    let outcome = tokio::task::spawn(async move {
        let browser = Browser::start(800, 600).await;
        let tree = browser.processes();
        started.send(tree).expect("the test waits");
        panic!("a failing assertion while the browser is open");
    })
    .await;
    assert!(outcome.is_err(), "the browser test failed");
    let tree = processes.await.expect("the browser started");
    assert!(tree.len() > 1, "chromedriver started Chromium: {tree:?}");
    // SIGKILL is delivered at once but a process takes a moment to die:
    // wait for that, 5 s at most.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(5);
    let mut alive: Vec<u32> = tree.clone();
    while !alive.is_empty() && std::time::Instant::now() < deadline {
        alive.retain(|pid| is_running(*pid));
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    assert!(alive.is_empty(), "still running after the drop: {alive:?}");
}
