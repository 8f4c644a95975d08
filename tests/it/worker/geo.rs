//! Geocoding (BAN) and DPE (ADEME).

use histologe::{db, queue::Job};

use super::support::{context, drain, enqueue, options, report, run_until, worker};
use crate::{
    common::TestApp,
    fakes::{self, Reply},
};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_report_is_geocoded_then_its_dpe_is_found() {
    let app = TestApp::spawn().await;
    let (ban, dpe) = (fakes::ban(0.953).await, fakes::dpe().await);
    let worker = worker(
        &app,
        |c| {
            c.ban_api_url = ban.url.clone();
            c.dpe_api_url = dpe.url.clone();
        },
        options(),
    );
    let report_id = report(&app, "8 La Bodinière").await;
    enqueue(
        &app,
        &Job::GeocodeReport { report_id },
        context(report_id, None),
    )
    .await;

    drain(&worker, &app).await;

    let geo = db::jobs_data::stored_geo(&app.db, report_id).await.unwrap();
    assert_eq!(geo.latitude, Some(47.349607));
    assert_eq!(geo.longitude, Some(-1.446559));
    assert_eq!(geo.insee_code.as_deref(), Some("44179"));
    assert_eq!(geo.ban_id.as_deref(), Some("44179_xarfhv_00008"));
    assert_eq!(geo.geocode_score, Some(0.953));
    assert!(!geo.address_needs_check);
    assert_eq!(geo.dpe_label.as_deref(), Some("F"));
    assert_eq!(geo.dpe_number.as_deref(), Some("2344E0123456A"));
    assert_eq!(
        geo.dpe_date.map(|d| d.to_string()).as_deref(),
        Some("2023-05-12")
    );
    let q = ban.requests()[0].param("q").unwrap();
    assert_eq!(q, "8 La Bodinière 13003 Marseille");
    assert_eq!(ban.requests()[0].param("limit").as_deref(), Some("1"));
    assert_eq!(
        dpe.requests()[0].param("identifiant_ban_eq").as_deref(),
        Some("44179_xarfhv_00008")
    );
    let services: Vec<String> = db::interconnections::all(&app.db)
        .await
        .unwrap()
        .into_iter()
        .map(|c| c.service)
        .collect();
    assert_eq!(services, ["ban", "ademe_dpe"]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_low_score_flags_the_address_and_no_result_is_normal() {
    let app = TestApp::spawn().await;
    let (ban, dpe) = (fakes::ban(0.62).await, fakes::dpe().await);
    let worker = worker(
        &app,
        |c| {
            c.ban_api_url = ban.url.clone();
            c.dpe_api_url = dpe.url.clone();
        },
        options(),
    );
    let low = report(&app, "8 La Bodinière").await;
    let unknown = report(&app, "1 rue de Nowhere").await;
    enqueue(
        &app,
        &Job::GeocodeReport { report_id: low },
        context(low, None),
    )
    .await;
    enqueue(
        &app,
        &Job::GeocodeReport { report_id: unknown },
        context(unknown, None),
    )
    .await;

    drain(&worker, &app).await;

    let geo = db::jobs_data::stored_geo(&app.db, low).await.unwrap();
    assert!(geo.address_needs_check, "score 0.62 < 0.9");
    assert_eq!(geo.geocode_score, Some(0.62));
    assert_eq!(dpe.count(), 0, "no DPE lookup for an uncertain address");
    let geo = db::jobs_data::stored_geo(&app.db, unknown).await.unwrap();
    assert!(geo.address_needs_check && geo.latitude.is_none());
    assert!(
        db::outbox::list_all(&app.db)
            .await
            .unwrap()
            .iter()
            .all(|j| j.status == "done")
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ban_429_is_retried_after_its_retry_after_and_malformed_json_is_retried() {
    let app = TestApp::spawn().await;
    let ban = fakes::ban(0.95).await;
    ban.script([
        Reply::json(
            429,
            serde_json::json!({"code": 429, "message": "Too many requests"}),
        )
        .header("retry-after", "2"),
        Reply::text(200, "<html>Bad gateway</html>"),
    ]);
    let worker = worker(&app, |c| c.ban_api_url = ban.url.clone(), options());
    let report_id = report(&app, "8 La Bodinière").await;
    let id = enqueue(
        &app,
        &Job::GeocodeReport { report_id },
        context(report_id, None),
    )
    .await;

    let state = run_until(&worker, &app, id, &["failed"]).await;
    assert!(state.last_error.unwrap().contains("429"));
    let wait: i64 = sqlx::query_scalar(
        "SELECT TIMESTAMPDIFF(SECOND, UTC_TIMESTAMP(), run_after) FROM outbox WHERE id = ?",
    )
    .bind(id)
    .fetch_one(&app.db)
    .await
    .unwrap();
    assert!(wait >= 1, "Retry-After honoured (run_after in {wait} s)");

    let state = run_until(&worker, &app, id, &["done", "dead"]).await;
    assert_eq!(state.status, "done");
    assert_eq!(state.attempts, 3, "429, malformed JSON, then success");
    let calls = db::interconnections::for_job(&app.db, id).await.unwrap();
    assert_eq!(
        calls.iter().map(|c| c.http_status).collect::<Vec<_>>(),
        [Some(429), Some(200), Some(200)]
    );
    assert!(
        db::jobs_data::stored_geo(&app.db, report_id)
            .await
            .unwrap()
            .latitude
            .is_some()
    );
}
