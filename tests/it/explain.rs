//! EXPLAIN of the back-office list (page and count queries) with the common
//! filter combinations and every role scope: no full scan of `reports`.
//! The plans are read on a few thousand generated reports (the bulk loader
//! of the benchmark) so that the optimizer has statistics to weigh; the
//! timings themselves belong to scripts/bench.sh, never to the tests.

use histologe::{
    bulk_seed::{self, BenchDataOptions},
    db,
    domain::{case_filter::CaseFilter, permissions::ReportScope},
};
use sqlx::Row;

use crate::common::TestApp;

async fn id_of(app: &TestApp, sql: &str) -> u64 {
    let row = sqlx::query(sql).fetch_one(&app.db).await.expect(sql);
    row.try_get::<u64, _>(0)
        .or_else(|_| row.try_get::<u32, _>(0).map(u64::from))
        .expect("id")
}

#[tokio::test]
async fn the_case_list_uses_an_index_on_reports_for_every_common_filter_and_scope() {
    let app = TestApp::spawn().await;
    bulk_seed::run(
        &app.db,
        &BenchDataOptions {
            reports: 4_000,
            rng_seed: 7,
            force: true,
        },
    )
    .await
    .expect("bulk load");
    let t13 = id_of(&app, "SELECT id FROM territories WHERE code = '13'").await;
    let partner = id_of(
        &app,
        "SELECT partner_id FROM assignments GROUP BY partner_id ORDER BY COUNT(*) DESC LIMIT 1",
    )
    .await;
    let filters = [
        String::new(),
        format!("territoire={t13}"),
        format!("territoire={t13}&statut=active"),
        format!("territoire={t13}&depot_du=2025-01-01&depot_au=2025-06-30"),
        "statut=need_validation".to_owned(),
        "statut=need_validation&profil=locataire".to_owned(),
        "statut=active&tri=criticite".to_owned(),
        "q=Dupont".to_owned(),
        format!("territoire={t13}&q=Nguyen"),
        "q=13001".to_owned(),
        "code_postal=13001".to_owned(),
    ];
    let scopes = [
        ReportScope::All,
        ReportScope::Territories(vec![t13 as u32]),
        ReportScope::Partners(vec![partner]),
    ];
    let mut failures = Vec::new();
    let mut checked = 0;
    for query in &filters {
        let pairs: Vec<(String, String)> = serde_urlencoded::from_str(query).expect("query");
        let filter = CaseFilter::parse(&pairs).expect("filter");
        for scope in &scopes {
            let plan = db::cases::explain_list(&app.db, scope, &filter, 1)
                .await
                .expect("explain");
            assert!(!plan.is_empty(), "no plan for {query:?}");
            for row in &plan {
                if row.table.as_deref() == Some("r") {
                    checked += 1;
                    if row.access_type.as_deref() == Some("ALL") {
                        failures.push(format!("{query:?} / {scope:?}: {plan:#?}"));
                    }
                }
            }
        }
    }
    assert!(
        checked >= filters.len() * scopes.len(),
        "plans without reports: {checked}"
    );
    assert!(
        failures.is_empty(),
        "full scans of reports:\n{}",
        failures.join("\n")
    );
}
