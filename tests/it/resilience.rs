//! MySQL and Redis outages: clean 503 while down, service back without a
//! restart once they return. Each test runs its own private servers, since
//! stopping the shared ones would break the tests running alongside.

use crate::common::{
    TestApp, fresh_database,
    servers::{PrivateMariaDb, PrivateRedis},
};

async fn readyz(app: &TestApp) -> (u16, serde_json::Value) {
    let response = app.get("/readyz").await;
    let status = response.status().as_u16();
    (status, response.json().await.expect("readyz json"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stopping_mariadb_turns_readyz_into_503_naming_mysql_and_starting_it_brings_200_back() {
    let mut mariadb = PrivateMariaDb::start();
    let database_url = fresh_database(&mariadb.admin_url()).await;
    let app = TestApp::spawn_with(&database_url, &crate::common::redis_url()).await;
    let (status, body) = readyz(&app).await;
    assert_eq!(status, 200, "{body}");

    mariadb.stop();
    let (status, body) = readyz(&app).await;
    assert_eq!(status, 503, "{body}");
    assert_eq!(body["mysql"], "down");
    assert_eq!(body["down"], serde_json::json!(["mysql"]));
    assert_eq!(body["redis"], "up");

    mariadb.resume();
    let (status, body) = readyz(&app).await;
    assert_eq!(status, 200, "same process serves again: {body}");
    let (status, _) = app.get_html("/").await;
    assert_eq!(status, 200);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stopping_redis_turns_readyz_into_503_naming_redis_and_starting_it_brings_200_back() {
    let mut redis = PrivateRedis::start();
    let database_url = fresh_database(&crate::common::mysql_admin_url()).await;
    let app = TestApp::spawn_with(&database_url, &redis.url()).await;
    let (status, body) = readyz(&app).await;
    assert_eq!(status, 200, "{body}");

    redis.stop();
    let (status, body) = readyz(&app).await;
    assert_eq!(status, 503, "{body}");
    assert_eq!(body["down"], serde_json::json!(["redis"]));
    // Pages that do not need Redis keep working.
    let (status, _) = app.get_html("/").await;
    assert_eq!(status, 200);

    redis.resume();
    // The pool reconnects on its own (every 500 ms); readyz waits for it up
    // to its own 3 s timeout.
    let (status, body) = readyz(&app).await;
    assert_eq!(status, 200, "same process serves again: {body}");
}
