//! The demo seed, written by the one generator shared with the benchmark
//! data (docs/generator.md): the demo accounts sign in, every generated
//! report carries the score and qualifications the back office would
//! compute from its stored facts (`db::scoring::rescore`, the path of an
//! edit), and the same seed gives the same reports.

use histologe::{
    db,
    seed::{self, SeedOptions},
};
use sqlx::Row;

use crate::common::TestApp;

/// (e-mail, role) of the demo accounts, as the README lists them.
const DEMO_ACCOUNTS: &[(&str, &str)] = &[
    ("admin@histologe.localhost", "super_admin"),
    ("rt69@histologe.localhost", "territory_admin"),
    ("admin.schs69@histologe.localhost", "partner_admin"),
    ("agent.schs69@histologe.localhost", "agent"),
    ("agent.ars69@histologe.localhost", "agent"),
    ("rt13@histologe.localhost", "territory_admin"),
    ("agent.schs13@histologe.localhost", "agent"),
];

#[tokio::test]
async fn the_demo_seed_creates_the_demo_accounts_and_runs_once() {
    let app = TestApp::spawn().await;
    let summary = seed::run(&app.db, &SeedOptions { reports: 40 })
        .await
        .expect("demo data loads");
    assert!(summary.contains("40 signalements"), "{summary}");
    for (email, role) in DEMO_ACCOUNTS {
        let stored: String = sqlx::query_scalar("SELECT role FROM users WHERE email = ?")
            .bind(email)
            .fetch_one(&app.db)
            .await
            .expect(email);
        assert_eq!(stored, *role, "{email}");
        app.login_as(email).await;
        app.logout().await;
    }
    let again = seed::run(&app.db, &SeedOptions { reports: 40 })
        .await
        .expect("second run");
    assert!(again.contains("déjà présentes"), "{again}");
    let reports: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM reports")
        .fetch_one(&app.db)
        .await
        .expect("count");
    assert_eq!(reports, 40, "the second run adds nothing");
    // A resident filing next continues the reference sequence.
    let counters: i64 = sqlx::query_scalar(
        "SELECT CAST(SUM(last_number) AS SIGNED) FROM report_reference_counters",
    )
    .fetch_one(&app.db)
    .await
    .expect("counters");
    assert_eq!(counters, 40);
}

/// Score and qualifications as stored by the seed, for one report.
async fn stored_scoring(conn: &mut sqlx::MySqlConnection, id: u64) -> (f64, Vec<String>) {
    let raw: f64 =
        sqlx::query_scalar("SELECT CAST(severity_score_raw AS DOUBLE) FROM reports WHERE id = ?")
            .bind(id)
            .fetch_one(&mut *conn)
            .await
            .expect("score");
    let qualifications: Vec<String> = sqlx::query_scalar(
        "SELECT CONCAT(qualification, ':', status, ':', CAST(precision_codes AS CHAR))
         FROM report_qualifications WHERE report_id = ? ORDER BY qualification",
    )
    .bind(id)
    .fetch_all(&mut *conn)
    .await
    .expect("qualifications");
    (raw, qualifications)
}

/// The seed scores through `scoring::assess` on the very facts it stores:
/// scoring each stored report again, as a back-office edit does, changes
/// neither its score nor its qualifications nor its defects.
#[tokio::test]
async fn every_seeded_report_keeps_its_score_when_scored_again_from_its_stored_facts() {
    let app = TestApp::spawn().await;
    seed::run(&app.db, &SeedOptions { reports: 80 })
        .await
        .expect("demo data loads");
    let ids: Vec<u64> = sqlx::query_scalar("SELECT id FROM reports ORDER BY id")
        .fetch_all(&app.db)
        .await
        .expect("ids");
    assert_eq!(ids.len(), 80);
    let mut tx = app.db.begin().await.expect("transaction");
    let mut qualified = 0;
    for id in ids {
        let before = stored_scoring(&mut tx, id).await;
        let defects_before: i64 =
            sqlx::query_scalar("SELECT COUNT(*) FROM report_defects WHERE report_id = ?")
                .bind(id)
                .fetch_one(&mut *tx)
                .await
                .expect("defects");
        let rescored = db::scoring::rescore(&mut tx, id).await.expect("rescore");
        assert_eq!(rescored.score, before.0, "report {id}");
        let after = stored_scoring(&mut tx, id).await;
        assert_eq!(after, before, "report {id}");
        let defects_after: i64 =
            sqlx::query_scalar("SELECT COUNT(*) FROM report_defects WHERE report_id = ?")
                .bind(id)
                .fetch_one(&mut *tx)
                .await
                .expect("defects");
        assert_eq!(defects_after, defects_before, "report {id}");
        qualified += usize::from(!before.1.is_empty());
    }
    tx.rollback().await.expect("rollback");
    assert!(qualified > 0, "some reports carry qualifications");
}

/// What two seeded databases hold, report by report, dates aside (they
/// count back from the time of the run).
async fn demo_reports(app: &TestApp) -> Vec<String> {
    let rows = sqlx::query(
        "SELECT CONCAT_WS('|', r.reference, r.status, r.occupant_first_name, r.occupant_last_name,
                r.address_line, r.city, CAST(r.severity_score_raw AS CHAR), r.follow_up_code,
                (SELECT GROUP_CONCAT(p.code ORDER BY p.code) FROM report_defects d
                 JOIN defect_precisions p ON p.id = d.precision_id WHERE d.report_id = r.id),
                (SELECT GROUP_CONCAT(pa.name, ':', a.status ORDER BY pa.name) FROM assignments a
                 JOIN partners pa ON pa.id = a.partner_id WHERE a.report_id = r.id),
                (SELECT COUNT(*) FROM follow_ups f WHERE f.report_id = r.id))
         FROM reports r ORDER BY r.id",
    )
    .fetch_all(&app.db)
    .await
    .expect("reports");
    rows.iter()
        .map(|r| r.try_get::<String, _>(0).expect("text"))
        .collect()
}

#[tokio::test]
async fn two_demo_seeds_give_the_same_reports() {
    let (first, second) = (TestApp::spawn().await, TestApp::spawn().await);
    for app in [&first, &second] {
        seed::run(&app.db, &SeedOptions { reports: 30 })
            .await
            .expect("demo data loads");
    }
    let reports = demo_reports(&first).await;
    assert_eq!(reports.len(), 30);
    assert_eq!(reports, demo_reports(&second).await);
}
