//! The outbox table itself: the claim reads index ranges (never the whole
//! table, which holds every finished job until it is pruned), and pruning
//! deletes old finished jobs without forgetting their idempotency keys.

use histologe::{
    db,
    queue::{self, Job, JobContext},
};

use super::support::{enqueue, job, options, run_until, worker};
use crate::common::TestApp;

/// `count` finished jobs, done `days_ago` days ago, in one statement.
async fn finished_jobs(app: &TestApp, count: u32, days_ago: u32) {
    sqlx::query(
        "INSERT INTO outbox (kind, payload, status, attempts, done_at, run_after, created_at)
         SELECT 'geocode_report', JSON_OBJECT('kind', 'geocode_report', 'report_id', seq),
                'done', 1, UTC_TIMESTAMP() - INTERVAL ? DAY, UTC_TIMESTAMP() - INTERVAL ? DAY,
                UTC_TIMESTAMP() - INTERVAL ? DAY
         FROM seq_1_to_100000 WHERE seq <= ?",
    )
    .bind(days_ago)
    .bind(days_ago)
    .bind(days_ago)
    .bind(count)
    .execute(&app.db)
    .await
    .expect("finished jobs");
}

#[tokio::test]
async fn the_claim_reads_index_ranges_of_the_outbox_never_the_whole_table() {
    let app = TestApp::spawn().await;
    finished_jobs(&app, 5_000, 1).await;
    for report_id in 1..=20 {
        let context = JobContext::default();
        enqueue(&app, &Job::GeocodeReport { report_id }, context).await;
    }
    for sql in [
        "ALTER TABLE outbox STATS_SAMPLE_PAGES = 65535",
        "ANALYZE TABLE outbox",
    ] {
        sqlx::query(sql).execute(&app.db).await.expect(sql);
    }
    let plan = db::outbox::explain_claim(&app.db).await.expect("explain");
    let outbox_reads: Vec<_> = plan
        .iter()
        .filter(|row| row.table.as_deref() == Some("outbox"))
        .collect();
    assert_eq!(outbox_reads.len(), 2, "one read per claim step: {plan:#?}");
    for row in outbox_reads {
        assert_eq!(row.access_type.as_deref(), Some("range"), "{plan:#?}");
        assert!(
            row.key
                .as_deref()
                .is_some_and(|key| key.starts_with("idx_outbox_status_")),
            "{plan:#?}"
        );
    }
    // And the claim hands exactly the due jobs out.
    let claimed = db::outbox::claim(&app.db, "explain-test", 50, 30)
        .await
        .expect("claim");
    assert_eq!(claimed.len(), 20);
    assert!(
        claimed
            .iter()
            .all(|j| j.kind == "geocode_report" && j.attempts == 1)
    );
}

#[tokio::test]
async fn finished_jobs_are_pruned_after_the_retention_and_their_keys_still_refuse_a_second_enqueue()
{
    let app = TestApp::spawn().await;
    finished_jobs(&app, 2_300, 8).await;
    finished_jobs(&app, 5, 2).await;
    // A keyed job done long ago (an Esabora event imported once), and a
    // dead one that an admin still has to see.
    let imported = Job::ImportEsaboraEvent {
        assignment_id: 1,
        event_id: "evt-1".into(),
        date: "01/12/2026".into(),
        label: String::new(),
        text: "Visite faite".into(),
    };
    let key = "esabora_event:1:evt-1";
    let mut conn = app.db.acquire().await.unwrap();
    queue::enqueue(&mut conn, &imported, Some(key), JobContext::default())
        .await
        .unwrap();
    let keyed = db::outbox::find_by_key(&app.db, key)
        .await
        .unwrap()
        .unwrap();
    sqlx::query(
        "UPDATE outbox SET status = 'done', done_at = UTC_TIMESTAMP() - INTERVAL 30 DAY WHERE id = ?",
    )
    .bind(keyed.id)
    .execute(&app.db)
    .await
    .unwrap();
    let dead = enqueue(
        &app,
        &Job::GeocodeReport { report_id: 7 },
        JobContext::default(),
    )
    .await;
    sqlx::query("UPDATE outbox SET status = 'dead', done_at = UTC_TIMESTAMP() - INTERVAL 30 DAY WHERE id = ?")
        .bind(dead)
        .execute(&app.db)
        .await
        .unwrap();

    let prune = enqueue(
        &app,
        &Job::Scheduled {
            name: "outbox_prune".into(),
            period: "2026-12-05".into(),
        },
        JobContext::default(),
    )
    .await;
    let worker = worker(&app, |_| {}, options());
    let state = run_until(&worker, &app, prune, &["done", "dead"]).await;
    assert_eq!(state.status, "done", "{state:?}");

    let remaining = db::outbox::list_all(&app.db).await.unwrap();
    // The 5 recent done jobs, the dead one and the prune job itself.
    assert_eq!(remaining.len(), 7, "{remaining:#?}");
    assert!(remaining.iter().any(|j| j.id == dead && j.status == "dead"));
    assert!(db::outbox::find(&app.db, keyed.id).await.unwrap().is_none());

    // The pruned job's key still makes a second enqueue a no-op.
    queue::enqueue(&mut conn, &imported, Some(key), JobContext::default())
        .await
        .unwrap();
    assert!(
        db::outbox::find_by_key(&app.db, key)
            .await
            .unwrap()
            .is_none()
    );
    assert_eq!(job(&app, dead).await.status, "dead");
}
