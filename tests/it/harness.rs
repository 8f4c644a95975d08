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
