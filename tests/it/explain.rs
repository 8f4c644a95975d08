//! EXPLAIN of the back-office list (page and count queries), of the map and
//! of every statistics query, with the common filter combinations and every
//! role scope: no full scan of `reports` (nor of the other per-report
//! tables). The plans are read on a few thousand generated reports (the
//! bulk loader of the benchmark, which also runs ANALYZE) so that the
//! optimizer has statistics to weigh; the timings themselves belong to
//! scripts/bench.sh, never to the tests.

use histologe::{
    bulk_seed::{self, BenchDataOptions},
    db,
    db::{cases::ExplainRow, stats::Selection},
    domain::{
        case_filter::CaseFilter,
        map::{FEW_POINTS, MAX_POINTS, POINTS_ZOOM, grouping, parse_view},
        permissions::ReportScope,
    },
};
use sqlx::Row;

use crate::common::TestApp;

async fn id_of(app: &TestApp, sql: &str) -> u64 {
    let row = sqlx::query(sql).fetch_one(&app.db).await.expect(sql);
    row.try_get::<u64, _>(0)
        .or_else(|_| row.try_get::<u32, _>(0).map(u64::from))
        .expect("id")
}

/// A test database with 4,000 generated reports (statistics analysed),
/// the id of the Bouches-du-Rhône and of the partner with most assignments.
async fn bulk_loaded() -> (TestApp, u64, u64) {
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
    // Statistics read from every page of the table, not from a random
    // sample of 20: on a few thousand rows a sample made the optimizer
    // hesitate between an index and a scan from one run to the next.
    for sql in [
        "ALTER TABLE reports STATS_SAMPLE_PAGES = 65535",
        "ANALYZE TABLE reports",
    ] {
        sqlx::query(sql).execute(&app.db).await.expect(sql);
    }
    let t13 = id_of(&app, "SELECT id FROM territories WHERE code = '13'").await;
    let partner = id_of(
        &app,
        "SELECT partner_id FROM assignments GROUP BY partner_id ORDER BY COUNT(*) DESC LIMIT 1",
    )
    .await;
    (app, t13, partner)
}

fn filter(query: &str) -> CaseFilter {
    let pairs: Vec<(String, String)> = serde_urlencoded::from_str(query).expect("query");
    CaseFilter::parse(&pairs).expect("filter")
}

/// The three role scopes: super administrator, territory administrator of
/// the Bouches-du-Rhône, agent of `partner`.
fn scopes(t13: u64, partner: u64) -> [ReportScope; 3] {
    [
        ReportScope::All,
        ReportScope::Territories(vec![t13 as u32]),
        ReportScope::Partners(vec![partner]),
    ]
}

/// Tables small enough to be read whole: territories, partners, the defect
/// taxonomy, and the temporary tables of derived tables and subqueries.
/// Every other table (`reports`, `assignments`, `follow_ups`,
/// `report_defects`, `report_qualifications`...) grows with the reports.
const SMALL_TABLES: [&str; 5] = ["t", "p", "dp", "dc", "oc"];

/// The rows of `plan` that read a per-report table whole (`type = ALL`).
/// A full *index* scan (`type = index`) is accepted: a national
/// aggregation has to read every report, and it reads them from a
/// covering index, a fraction of the table.
fn full_scans(plan: &[ExplainRow]) -> Vec<&ExplainRow> {
    plan.iter()
        .filter(|row| row.access_type.as_deref() == Some("ALL"))
        .filter(|row| match row.table.as_deref() {
            Some(table) => !SMALL_TABLES.contains(&table) && !table.starts_with('<'),
            None => false,
        })
        .collect()
}

/// Rows of `plan` reading `reports` (alias `r`, or unaliased).
fn reads_of_reports(plan: &[ExplainRow]) -> usize {
    plan.iter()
        .filter(|row| matches!(row.table.as_deref(), Some("r" | "reports")))
        .count()
}

#[tokio::test]
async fn the_case_list_uses_an_index_on_reports_for_every_common_filter_and_scope() {
    let (app, t13, partner) = bulk_loaded().await;
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
        // Visits (docs/visits.md §5): an EXISTS probe on the visits' report
        // index, the page still read in index order.
        "procedure_constatee=insalubrite".to_owned(),
    ];
    let scopes = scopes(t13, partner);
    let mut failures = Vec::new();
    let mut checked = 0;
    for query in &filters {
        let filter = filter(query);
        for scope in &scopes {
            let plan = db::cases::explain_list(&app.db, scope, &filter, 1)
                .await
                .expect("explain");
            assert!(!plan.is_empty(), "no plan for {query:?}");
            // The views sorted newest first read an index in that order and
            // stop after one page: no sort of every visible report (a
            // (created_at, status) index once broke that order and the
            // national list took 470 ms at a million reports).
            // (A search or a postal code selects few reports: sorting those
            // is the right plan.)
            let in_page_order = !["q=", "tri=", "code_postal="]
                .iter()
                .any(|narrow| query.contains(narrow));
            let page_read = plan.iter().find(|row| row.table.as_deref() == Some("r"));
            if in_page_order
                && !matches!(scope, ReportScope::Partners(_))
                && page_read
                    .and_then(|row| row.extra.as_deref())
                    .is_some_and(|extra| extra.contains("filesort"))
            {
                failures.push(format!("sorted by hand: {query:?} / {scope:?}: {plan:#?}"));
            }
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

/// Records `plan` in `failures` when it reads a per-report table whole or
/// reads `reports` fewer than `queries` times (one per query explained).
fn check(label: &str, plan: &[ExplainRow], queries: usize, failures: &mut Vec<String>) {
    let scans = full_scans(plan);
    if !scans.is_empty() || reads_of_reports(plan) < queries {
        failures.push(format!("{label}: {scans:#?}\nin {plan:#?}"));
    }
}

#[tokio::test]
async fn the_map_queries_use_an_index_for_a_departement_and_for_the_country_in_every_scope() {
    let (app, t13, partner) = bulk_loaded().await;
    let boxes = db::map::territory_boxes(&app.db, Some(&[t13 as u32]))
        .await
        .expect("territory box");
    let corner = |key: &str| boxes[0][key].as_f64().expect("bbox corner");
    let departement = format!(
        "{},{},{},{}",
        corner("w"),
        corner("s"),
        corner("e"),
        corner("n")
    );
    // (bbox, zoom, filter): the Bouches-du-Rhône with its territory chosen,
    // metropolitan France without any, and a few streets of Marseille at
    // street level without any.
    let views = [
        (departement.as_str(), 9, format!("territoire={t13}")),
        ("-5,41,10,51", 5, String::new()),
        ("5.36,43.28,5.40,43.31", 15, String::new()),
    ];
    let mut failures = Vec::new();
    for (bbox, zoom, query) in &views {
        let (bbox, zoom) = parse_view(Some(bbox), Some(&zoom.to_string())).expect("view");
        let filter = filter(query);
        for scope in &scopes(t13, partner) {
            let label = format!("{bbox:?} {query:?} / {scope:?}");
            let plans = db::map::explain_map(
                &app.db,
                scope,
                &filter,
                1,
                &bbox,
                MAX_POINTS,
                grouping(zoom),
            )
            .await
            .expect("explain");
            check(&format!("count {label}"), &plans.count, 1, &mut failures);
            // The page's choice (web::office::map::view_data): points at
            // street level or when the box holds few reports, clusters
            // otherwise. Points over a box of many reports are never asked
            // for; on so few rows the optimizer would sort the whole table
            // for them, while at scale it walks idx_reports_severity and
            // stops at the limit.
            let total = db::map::count_in_box(&app.db, scope, &filter, 1, &bbox)
                .await
                .expect("count");
            if zoom >= POINTS_ZOOM || total <= FEW_POINTS {
                check(&format!("points {label}"), &plans.points, 1, &mut failures);
            } else {
                check(
                    &format!("clusters {label}"),
                    &plans.clusters,
                    1,
                    &mut failures,
                );
            }
        }
    }
    assert!(failures.is_empty(), "full scans:\n{}", failures.join("\n"));
}

#[tokio::test]
async fn every_statistics_query_uses_an_index_for_national_territory_and_partner_selections() {
    let (app, t13, partner) = bulk_loaded().await;
    let [all, territory, partner_scope] = scopes(t13, partner);
    // The selections the statistics page builds: its role scope (super
    // administrator, territory administrator, agent) and the list's filter
    // from the query string (a super administrator choosing a territory or
    // a partner).
    let selections = [
        (&all, String::new()),
        (&territory, String::new()),
        (&all, format!("territoire={t13}")),
        (&partner_scope, String::new()),
        (&all, format!("partenaire={partner}")),
    ];
    let mut failures = Vec::new();
    for (scope, query) in &selections {
        let filter = filter(query);
        let sel = Selection {
            scope,
            filter: &filter,
            user_id: 1,
        };
        let plan = db::stats::explain_selection(&app.db, &sel)
            .await
            .expect("explain");
        // total, partner answers, 7 grouped counts, 3 delays.
        check(&format!("{query:?} / {scope:?}"), &plan, 12, &mut failures);
    }
    let plan = db::stats::explain_public(&app.db).await.expect("explain");
    check("public page", &plan, 4, &mut failures);
    assert!(failures.is_empty(), "full scans:\n{}", failures.join("\n"));
}

#[tokio::test]
async fn the_document_filters_probe_an_index_of_documents_per_case() {
    let (app, t13, partner) = bulk_loaded().await;
    // Documents for every report: photos on half of them, a visit report on
    // a third, a few deleted.
    for sql in [
        "INSERT INTO documents (uuid, report_id, object_key, filename, mime, size, kind, document_type, deleted_at)
         SELECT UUID(), id, CONCAT('documents/', id), 'photo.jpg', 'image/jpeg', 1000, 'photo', 'photo_desordre',
                IF(id % 17 = 0, UTC_TIMESTAMP(), NULL)
         FROM reports WHERE id % 2 = 0",
        "INSERT INTO documents (uuid, report_id, object_key, filename, mime, size, kind, document_type)
         SELECT UUID(), id, CONCAT('documents/r', id), 'rapport.pdf', 'application/pdf', 1000, 'document', 'rapport_visite'
         FROM reports WHERE id % 3 = 0",
        "ANALYZE TABLE documents",
    ] {
        sqlx::query(sql).execute(&app.db).await.expect(sql);
    }
    let mut failures = Vec::new();
    for query in [
        "documents=avec_rapport_visite".to_owned(),
        "documents=sans_photo".to_owned(),
        format!("territoire={t13}&documents=sans_photo"),
        "statut=active&documents=avec_rapport_visite".to_owned(),
    ] {
        let filter = filter(&query);
        for scope in &scopes(t13, partner) {
            let plan = db::cases::explain_list(&app.db, scope, &filter, 1)
                .await
                .expect("explain");
            let documents: Vec<_> = plan
                .iter()
                .filter(|row| row.table.as_deref() == Some("d"))
                .collect();
            if documents.is_empty() {
                failures.push(format!(
                    "documents not read: {query:?} / {scope:?}: {plan:#?}"
                ));
            }
            for row in documents {
                let indexed = row.key.as_deref().is_some_and(|k| {
                    k == "idx_documents_report_type_deleted"
                        || k == "idx_documents_report_kind_deleted"
                });
                if !indexed || row.access_type.as_deref() == Some("ALL") {
                    failures.push(format!("{query:?} / {scope:?}: {row:#?}"));
                }
            }
            if !full_scans(&plan).is_empty() {
                failures.push(format!("full scan: {query:?} / {scope:?}: {plan:#?}"));
            }
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

/// "E-mail à vérifier" (docs/deliverability.md §3): the list filter and
/// the dashboard count start from the few open delivery issues (their
/// index), then find the cases by the reports' e-mail indexes; no scan of
/// the reports nor of the issues, whatever the scope.
#[tokio::test]
async fn the_email_to_check_filter_and_count_start_from_the_open_issues() {
    let (app, t13, partner) = bulk_loaded().await;
    for sql in [
        // Open issues for one report in 50, resolved ones for one in 7.
        "INSERT INTO email_delivery_issues (email, event, event_key, source, to_check)
         SELECT occupant_email, 'hard_bounce', CONCAT('<o', id, '@mailin.fr>'), 'brevo', TRUE
         FROM reports WHERE id % 50 = 0 AND occupant_email IS NOT NULL",
        "INSERT INTO email_delivery_issues (email, event, event_key, source, to_check, resolved_at, resolution)
         SELECT occupant_email, 'spam', CONCAT('<r', id, '@mailin.fr>'), 'brevo', TRUE, UTC_TIMESTAMP(), 'checked'
         FROM reports WHERE id % 7 = 0 AND occupant_email IS NOT NULL",
        "ANALYZE TABLE email_delivery_issues",
    ] {
        sqlx::query(sql).execute(&app.db).await.expect(sql);
    }
    let mut failures = Vec::new();
    for scope in &scopes(t13, partner) {
        let mut plans = Vec::new();
        for query in [
            "email_a_verifier=1".to_owned(),
            format!("territoire={t13}&email_a_verifier=1"),
            "statut=active&email_a_verifier=1".to_owned(),
        ] {
            let plan = db::cases::explain_list(&app.db, scope, &filter(&query), 1)
                .await
                .expect("explain");
            plans.push((query, plan));
        }
        let count = db::delivery::explain_count(&app.db, scope)
            .await
            .expect("explain count");
        plans.push(("count".to_owned(), count));
        for (label, plan) in plans {
            let issues_indexed = plan
                .iter()
                .filter(|row| matches!(row.table.as_deref(), Some("ei" | "ei2")))
                .all(|row| row.key.as_deref() == Some("idx_email_delivery_issues_open"));
            let by_email = plan
                .iter()
                .filter(|row| matches!(row.table.as_deref(), Some("eo" | "ed")))
                .all(|row| {
                    row.key
                        .as_deref()
                        .is_some_and(|k| k.starts_with("idx_reports_") && k.ends_with("_email"))
                });
            let reads_issues = plan
                .iter()
                .any(|row| matches!(row.table.as_deref(), Some("ei" | "ei2")));
            if !full_scans(&plan).is_empty() || !issues_indexed || !by_email || !reads_issues {
                failures.push(format!("{label} / {scope:?}: {plan:#?}"));
            }
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[tokio::test]
async fn the_order_in_force_filter_probes_the_orders_report_index() {
    let (app, t13, partner) = bulk_loaded().await;
    // Orders on a tenth of the reports, a third of them lifted.
    for sql in [
        "INSERT INTO arretes (uuid, territory_id, report_id, address_key, address_label, kind, number,
                              order_date, signatory, lifted_on, source)
         SELECT UUID(), territory_id, id, address_key, 'adresse', 'mise_en_securite', CONCAT('AP-', id),
                '2026-01-10', 'prefet', IF(id % 3 = 0, '2026-06-01', NULL), 'import'
         FROM reports WHERE id % 10 = 0",
        "ANALYZE TABLE arretes",
    ] {
        sqlx::query(sql).execute(&app.db).await.expect(sql);
    }
    let mut failures = Vec::new();
    for query in [
        "arrete=en_cours".to_owned(),
        format!("territoire={t13}&arrete=en_cours"),
        "statut=active&arrete=en_cours".to_owned(),
    ] {
        let filter = filter(&query);
        for scope in &scopes(t13, partner) {
            let plan = db::cases::explain_list(&app.db, scope, &filter, 1)
                .await
                .expect("explain");
            let orders: Vec<_> = plan
                .iter()
                .filter(|row| row.table.as_deref() == Some("ar"))
                .collect();
            if orders.is_empty() {
                failures.push(format!("orders not read: {query:?} / {scope:?}: {plan:#?}"));
            }
            for row in orders {
                if row.key.as_deref() != Some("idx_arretes_report_lifted")
                    || row.access_type.as_deref() == Some("ALL")
                {
                    failures.push(format!("{query:?} / {scope:?}: {row:#?}"));
                }
            }
            if !full_scans(&plan).is_empty() {
                failures.push(format!("full scan: {query:?} / {scope:?}: {plan:#?}"));
            }
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}
