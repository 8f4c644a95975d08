//! Map, statistics and exports: role scope, server-side clustering, each
//! statistic on known data, export content, flat memory on a large export,
//! and the map in a browser.

use std::time::Instant;

use futures::StreamExt;
use serde_json::Value;

use crate::common::{TestApp, cases::CaseBuilder, screenshot_dir, webdriver::Browser};

const RT69: &str = "rt69@histologe.localhost";
const AGENT_SCHS69: &str = "agent.schs69@histologe.localhost";
const SUPER_ADMIN: &str = "admin@histologe.localhost";

/// A case with known facts, made through `CaseBuilder`.
struct Case<'a> {
    reference: &'a str,
    status: &'a str,
    profile: &'a str,
    last_name: &'a str,
    address: &'a str,
    lat: f64,
    lon: f64,
    created: &'a str,
    validated: Option<&'a str>,
    closed: Option<&'a str>,
    severity: Option<f64>,
    refusal_reason: Option<&'a str>,
    closure_reason: Option<&'a str>,
}

impl Default for Case<'_> {
    fn default() -> Self {
        Self {
            reference: "2026-900",
            status: "active",
            profile: "locataire",
            last_name: "Testeur",
            address: "12 rue Garibaldi",
            lat: 45.7600,
            lon: 4.8400,
            created: "2026-03-10 10:00:00",
            validated: None,
            closed: None,
            severity: Some(20.0),
            refusal_reason: None,
            closure_reason: None,
        }
    }
}

async fn insert_case(app: &TestApp, c: Case<'_>) -> (u64, String) {
    let case = CaseBuilder::new("69A")
        .reference(c.reference)
        .status(c.status)
        .profile(c.profile)
        .occupant("Alex", c.last_name)
        .street(c.address)
        .location(c.lat, c.lon)
        .created(c.created)
        .validated(c.validated)
        .closed(c.closed)
        .severity(c.severity)
        .refusal_reason(c.refusal_reason)
        .closure_reason(c.closure_reason)
        .create(app)
        .await;
    (case.id, case.uuid)
}

/// `count` generated cases of 69A around (lat, lon), spread over about a
/// kilometre, references `{prefix}-N`.
async fn insert_many(app: &TestApp, count: u32, prefix: &str, lat: f64, lon: f64) {
    // Raw on purpose: thousands of rows in one statement for a volume test
    // (docs/testing.md §2); one `CaseBuilder` per row would take minutes.
    sqlx::query(&format!(
        "INSERT INTO reports (uuid, territory_id, reference, status, declarant_profile, occupant_first_name,
            occupant_last_name, occupant_email, postal_code, city, insee_code, address_line, latitude, longitude,
            created_at, severity_score, follow_up_code)
         SELECT UUID(), t.id, CONCAT('{prefix}-', s.seq), 'active', 'locataire', 'Camille', CONCAT('Occupant ', s.seq),
            CONCAT('occupant', s.seq, '@exemple.fr'), '69003', 'Lyon', '69383', CONCAT(s.seq, ' rue de la Part-Dieu'),
            ? + (s.seq % 17) * 0.0008, ? + (s.seq % 13) * 0.0008,
            '2026-05-01 08:00:00' + INTERVAL (s.seq % 90) DAY, s.seq % 80,
            LPAD(CONCAT('{prefix}', s.seq), 43, '0')
         FROM seq_1_to_{count} s JOIN territories t ON t.code = '69A'"
    ))
    .bind(lat)
    .bind(lon)
    .execute(&app.db)
    .await
    .expect("insert generated cases");
}

async fn partner_id(app: &TestApp, like: &str) -> u64 {
    sqlx::query_scalar("SELECT id FROM partners WHERE name LIKE ?")
        .bind(like)
        .fetch_one(&app.db)
        .await
        .unwrap()
}

async fn assign(app: &TestApp, report: u64, partner: u64, status: &str, answered: Option<&str>) {
    crate::common::cases::assign_at(app, report, partner, status, answered).await;
}

async fn json(app: &TestApp, path: &str) -> (u16, Value) {
    let response = app.get(path).await;
    let status = response.status().as_u16();
    (status, response.json().await.expect("json body"))
}

async fn body(app: &TestApp, path: &str) -> (u16, Vec<u8>) {
    let response = app.get(path).await;
    let status = response.status().as_u16();
    (status, response.bytes().await.expect("body").to_vec())
}

fn references(data: &Value) -> Vec<String> {
    let mut refs: Vec<String> = data["points"]
        .as_array()
        .expect("points")
        .iter()
        .map(|p| p["reference"].as_str().unwrap().to_owned())
        .collect();
    refs.sort();
    refs
}

const LYON_VIEW: &str = "bbox=4.79,45.74,4.89,45.79&zoom=14";

// ------------------------------------------------------------------ scope

#[tokio::test]
async fn an_agent_sees_only_the_points_and_rows_of_their_partner() {
    let app = TestApp::spawn_with_accounts().await;
    let schs = partner_id(&app, "Service communal%Lyon").await;
    let ars = partner_id(&app, "ARS%").await;
    let (mine, _) = insert_case(
        &app,
        Case {
            reference: "2026-1",
            ..Case::default()
        },
    )
    .await;
    let (other, _) = insert_case(
        &app,
        Case {
            reference: "2026-2",
            lat: 45.761,
            ..Case::default()
        },
    )
    .await;
    insert_case(
        &app,
        Case {
            reference: "2026-3",
            lat: 45.762,
            ..Case::default()
        },
    )
    .await;
    assign(&app, mine, schs, "en_cours", Some("2026-03-12 10:00:00")).await;
    assign(&app, other, ars, "nouveau", None).await;

    let agent = app.as_another_user();
    agent.login_as(AGENT_SCHS69).await;
    let (status, data) = json(&agent, &format!("/bo/cartographie/donnees?{LYON_VIEW}")).await;
    assert_eq!(status, 200, "{data}");
    assert_eq!(data["mode"], "points");
    assert_eq!(references(&data), ["2026-1"]);
    let (_, csv) = body(&agent, "/bo/signalements/export.csv").await;
    let csv = String::from_utf8(csv).unwrap();
    assert_eq!(csv.lines().count(), 2, "header + one row: {csv}");
    assert!(csv.contains("2026-1;") && !csv.contains("2026-2;"));
    // Zoomed out, the clusters count only the agent's case too.
    let (_, data) = json(&agent, "/bo/cartographie/donnees?bbox=-5,41,10,51&zoom=5").await;
    assert_eq!(data["total"], 1);

    let admin = app.as_another_user();
    admin.login_as(RT69).await;
    let (_, data) = json(&admin, &format!("/bo/cartographie/donnees?{LYON_VIEW}")).await;
    assert_eq!(references(&data), ["2026-1", "2026-2", "2026-3"]);
    // The list's filters apply to the map as well.
    let (_, data) = json(
        &admin,
        &format!("/bo/cartographie/donnees?{LYON_VIEW}&partenaire={ars}"),
    )
    .await;
    assert_eq!(references(&data), ["2026-2"]);
    let (_, csv) = body(&admin, "/bo/signalements/export.csv").await;
    assert_eq!(String::from_utf8(csv).unwrap().lines().count(), 4);
}

// ------------------------------------------------------------- clustering

fn clusters(data: &Value) -> Vec<(i64, f64, f64, f64, f64, f64, f64)> {
    data["clusters"]
        .as_array()
        .expect("clusters")
        .iter()
        .map(|c| {
            let f = |k: &str| c[k].as_f64().unwrap();
            (
                c["count"].as_i64().unwrap(),
                f("lat"),
                f("lon"),
                f("south"),
                f("west"),
                f("north"),
                f("east"),
            )
        })
        .collect()
}

#[tokio::test]
async fn the_map_groups_reports_on_a_grid_when_zoomed_out_and_lists_them_when_zoomed_in() {
    let app = TestApp::spawn_with_accounts().await;
    // Two groups of 300: central Lyon and Villefranche-sur-Saône.
    insert_many(&app, 300, "2025", 45.7600, 4.8000).await;
    insert_many(&app, 300, "2024", 45.9900, 4.7200).await;
    app.login_as(SUPER_ADMIN).await;

    // Country view: one cell holds both groups.
    let (status, data) = json(&app, "/bo/cartographie/donnees?bbox=-5,41,10,51&zoom=7").await;
    assert_eq!(status, 200, "{data}");
    assert_eq!(data["mode"], "clusters");
    assert_eq!(data["total"], 600);
    let zoom7 = clusters(&data);
    assert_eq!(zoom7.len(), 1, "{zoom7:?}");
    assert_eq!(zoom7[0].0, 600);

    // Département view: the two groups apart, each with its centroid and
    // extent.
    let (_, data) = json(&app, "/bo/cartographie/donnees?bbox=3.5,45,6,47&zoom=10").await;
    let mut zoom10 = clusters(&data);
    zoom10.sort_by(|a, b| a.1.total_cmp(&b.1));
    assert_eq!(zoom10.len(), 2, "{zoom10:?}");
    for (count, lat, lon, south, west, north, east) in &zoom10 {
        assert_eq!(*count, 300);
        assert!(south <= lat && lat <= north && west <= lon && lon <= east);
    }
    assert!(zoom10[0].5 < 45.78, "Lyon's group: {:?}", zoom10[0]);
    assert!(zoom10[1].3 > 45.98, "Villefranche's group: {:?}", zoom10[1]);

    // Closer: finer cells, never fewer groups, same total.
    let (_, data) = json(
        &app,
        "/bo/cartographie/donnees?bbox=4.6,45.7,4.9,46.05&zoom=12",
    )
    .await;
    assert_eq!(data["mode"], "clusters");
    let zoom12 = clusters(&data);
    assert!(zoom12.len() >= zoom10.len(), "{zoom12:?}");
    assert_eq!(zoom12.iter().map(|c| c.0).sum::<i64>(), 600);

    // Street level: the reports themselves.
    let (_, data) = json(
        &app,
        "/bo/cartographie/donnees?bbox=4.79,45.75,4.83,45.78&zoom=15",
    )
    .await;
    assert_eq!(data["mode"], "points");
    assert_eq!(data["points"].as_array().unwrap().len(), 300);
    let point = &data["points"][0];
    assert!(point["uuid"].as_str().unwrap().len() == 36);
    assert!(
        point["address"]
            .as_str()
            .unwrap()
            .contains("rue de la Part-Dieu, 69003 Lyon")
    );

    // A box with few reports is sent point by point even zoomed out.
    let (_, data) = json(
        &app,
        "/bo/cartographie/donnees?bbox=-5,41,10,51&zoom=7&q=69003&criticite_min=79",
    )
    .await;
    assert_eq!(data["mode"], "points");
    assert!(data["total"].as_i64().unwrap() > 0 && data["total"].as_i64().unwrap() < 20);
}

// -------------------------------------------------------------- bad input

#[tokio::test]
async fn bad_views_filters_and_columns_get_a_french_400_never_a_500() {
    let app = TestApp::spawn_with_accounts().await;
    app.login_as(RT69).await;
    for (query, expected) in [
        ("zoom=12", "bbox"),
        ("bbox=4.7,45.7,4.9,45.8", "zoom"),
        ("bbox=4.9,45.7,4.7,45.8&zoom=12", "inversée"),
        (
            "bbox=-74.1,40.6,-73.8,40.9&zoom=12",
            "en dehors de la France",
        ),
        ("bbox=-5,41,10,51&zoom=15", "trop grande"),
        ("bbox=a,b,c,d&zoom=12", "quatre nombres"),
        ("bbox=4.7,45.7,4.9,45.8&zoom=99", "zoom"),
        ("bbox=4.7,45.7,4.9,45.8&zoom=12&statut=perdu", "statut"),
        (
            "bbox=4.7,45.7,4.9,45.8&zoom=12&depot_du=2026-02-01&depot_au=2026-01-01",
            "postérieure",
        ),
    ] {
        let (status, data) = json(&app, &format!("/bo/cartographie/donnees?{query}")).await;
        assert_eq!(status, 400, "{query}: {data}");
        let message = data["erreur"].as_str().unwrap();
        assert!(message.contains(expected), "{query}: {message}");
    }
    for path in [
        "/bo/signalements/export.csv?colonnes=reference,mot_de_passe",
        "/bo/signalements/export.xlsx?statut=perdu",
        "/bo/signalements/export.csv?depot_du=2026-02-01&depot_au=2026-01-01",
        "/bo/statistiques?depot_du=hier",
        "/bo/cartographie?criticite_min=300",
    ] {
        let (status, html) = app.get_html(path).await;
        assert_eq!(status, 400, "{path}");
        assert!(
            html.contains("n’existe pas")
                || html.contains("n’est pas reconnue")
                || html.contains("postérieure")
                || html.contains("AAAA-MM-JJ")
                || html.contains("entre 0 et 100"),
            "{path}: {html}"
        );
    }
}

// ------------------------------------------------------------- statistics

/// Whether the table of a chart has this row.
fn has_row(html: &str, section: &str, label: &str, count: i64) -> bool {
    let start = html
        .find(&format!("id=\"stat-{section}\""))
        .unwrap_or_else(|| panic!("no section {section}"));
    let end = html[start..]
        .find("</section>")
        .map_or(html.len(), |e| start + e);
    html[start..end].contains(&format!("<td>{label}</td><td>{count}</td>"))
}

fn stat(html: &str, name: &str) -> String {
    let marker = format!("data-stat=\"{name}\">");
    let start = html.find(&marker).unwrap_or_else(|| panic!("no {name}")) + marker.len();
    html[start..start + html[start..].find('<').unwrap()].to_owned()
}

#[tokio::test]
async fn the_statistics_count_known_cases() {
    let app = TestApp::spawn_with_accounts().await;
    let schs = partner_id(&app, "Service communal%Lyon").await;
    let ars = partner_id(&app, "ARS%").await;
    // Validated after 2, 4 and 10 days; accepted after 3 and 5 days; closed
    // after 30 days.
    let (a, _) = insert_case(
        &app,
        Case {
            reference: "2026-1",
            status: "active",
            created: "2026-01-05 09:00:00",
            validated: Some("2026-01-07 09:00:00"),
            severity: Some(5.0),
            ..Case::default()
        },
    )
    .await;
    let (b, _) = insert_case(
        &app,
        Case {
            reference: "2026-2",
            status: "closed",
            profile: "tiers_pro",
            created: "2026-01-20 09:00:00",
            validated: Some("2026-01-24 09:00:00"),
            closed: Some("2026-02-19 09:00:00"),
            closure_reason: Some("travaux_faits_ou_en_cours"),
            severity: Some(45.0),
            ..Case::default()
        },
    )
    .await;
    let (c, _) = insert_case(
        &app,
        Case {
            reference: "2026-3",
            status: "active",
            created: "2026-02-01 09:00:00",
            validated: Some("2026-02-11 09:00:00"),
            severity: Some(62.5),
            ..Case::default()
        },
    )
    .await;
    insert_case(
        &app,
        Case {
            reference: "2026-4",
            status: "refused",
            profile: "tiers_particulier",
            created: "2026-02-15 09:00:00",
            refusal_reason: Some("doublon"),
            severity: None,
            ..Case::default()
        },
    )
    .await;
    assign(&app, a, schs, "en_cours", Some("2026-01-08 09:00:00")).await;
    assign(&app, b, schs, "ferme", Some("2026-01-25 09:00:00")).await;
    assign(&app, c, schs, "nouveau", None).await;
    assign(&app, a, ars, "refuse", Some("2026-01-09 09:00:00")).await;
    let precision: u32 = sqlx::query_scalar("SELECT MIN(id) FROM defect_precisions")
        .fetch_one(&app.db)
        .await
        .unwrap();
    let category: String = sqlx::query_scalar(
        "SELECT oc.label FROM defect_precisions dp JOIN defect_criteria dc ON dc.id = dp.criterion_id
         JOIN defect_office_categories oc ON oc.id = dc.office_category_id WHERE dp.id = ?",
    )
    .bind(precision)
    .fetch_one(&app.db)
    .await
    .unwrap();
    for report in [a, b] {
        sqlx::query("INSERT INTO report_defects (report_id, precision_id) VALUES (?, ?)")
            .bind(report)
            .bind(precision)
            .execute(&app.db)
            .await
            .unwrap();
    }

    app.login_as(RT69).await;
    let (status, html) = app.get_html("/bo/statistiques").await;
    assert_eq!(status, 200);
    assert_eq!(stat(&html, "total"), "4");
    assert_eq!(stat(&html, "median-validation"), "4");
    assert_eq!(stat(&html, "median-affectation"), "4", "(3 + 5) / 2");
    assert_eq!(stat(&html, "median-cloture"), "30");
    assert!(has_row(&html, "statut", "En cours", 2), "{html}");
    assert!(has_row(&html, "statut", "Fermé", 1));
    assert!(has_row(&html, "statut", "Refusé", 1));
    assert!(has_row(&html, "mois", "janvier 2026", 2));
    assert!(has_row(&html, "mois", "février 2026", 2));
    assert!(has_row(&html, "criticite", "0 à 10", 1));
    assert!(has_row(&html, "criticite", "30 à 50", 1));
    assert!(has_row(&html, "criticite", "plus de 50", 1));
    assert!(has_row(&html, "criticite", "Non calculée", 1));
    assert!(has_row(&html, "profil", "Locataire", 2));
    assert!(has_row(&html, "profil", "Tiers professionnel", 1));
    let escaped = category.replace('\'', "&#39;");
    assert!(has_row(&html, "desordres", &escaped, 2), "{category}");
    assert!(
        has_row(&html, "motif-refus", "Doublon d’un signalement existant", 1),
        "refusal reason"
    );
    let closure = histologe::domain::workflow::label_of(
        &histologe::domain::workflow::CLOSURE_REASONS,
        "travaux_faits_ou_en_cours",
    )
    .replace('\'', "&#39;");
    assert!(has_row(&html, "motif-cloture", &closure, 1), "{closure}");
    // Per partner: SCHS 3 assignments (1 pending) → 66.7 % answered.
    let schs_row = html
        .split("<tr>")
        .find(|row| row.starts_with("<td>Service communal"))
        .expect("SCHS row");
    assert!(
        schs_row.contains("<td>3</td><td>1</td><td>1</td><td>0</td><td>1</td><td>66.7 %</td>"),
        "{schs_row}"
    );
    let ars_row = html
        .split("<tr>")
        .find(|row| row.starts_with("<td>ARS"))
        .expect("ARS row");
    assert!(
        ars_row.contains("<td>1</td><td>0</td><td>0</td><td>1</td><td>0</td><td>100 %</td>"),
        "{ars_row}"
    );

    // Filters: only February.
    let (_, html) = app
        .get_html("/bo/statistiques?depot_du=2026-02-01&depot_au=2026-02-28")
        .await;
    assert_eq!(stat(&html, "total"), "2");
    assert_eq!(stat(&html, "median-validation"), "10");

    // The agent's statistics cover only the SCHS's cases.
    let agent = app.as_another_user();
    agent.login_as(AGENT_SCHS69).await;
    let (_, html) = agent.get_html("/bo/statistiques").await;
    assert_eq!(stat(&html, "total"), "3");
}

#[tokio::test]
async fn the_public_statistics_show_counts_only_and_are_cached() {
    let app = TestApp::spawn_with_accounts().await;
    insert_case(
        &app,
        Case {
            reference: "2026-1",
            last_name: "Secretnom",
            ..Case::default()
        },
    )
    .await;
    insert_case(
        &app,
        Case {
            reference: "2026-2",
            status: "closed",
            validated: Some("2026-03-11 10:00:00"),
            closed: Some("2026-04-11 10:00:00"),
            ..Case::default()
        },
    )
    .await;
    let (status, html) = app.get_html("/statistiques").await;
    assert_eq!(status, 200);
    assert_eq!(stat(&html, "recus"), "2");
    assert_eq!(stat(&html, "resolus"), "1");
    assert_eq!(stat(&html, "part-clotures"), "50 %");
    assert!(
        html.contains("<td>03/2026</td><td>2</td><td>1</td>"),
        "{html}"
    );
    assert!(html.contains("69A – "));
    assert!(!html.contains("Secretnom") && !html.contains("Garibaldi"));

    // Cached: a new case shows only once the cache expires.
    insert_case(
        &app,
        Case {
            reference: "2026-3",
            ..Case::default()
        },
    )
    .await;
    let (_, html) = app.get_html("/statistiques").await;
    assert_eq!(stat(&html, "recus"), "2");
    let key = histologe::web::public::stats::cache_key(&app.state.config.redis_prefix);
    let _: i64 =
        histologe::kv::fred::prelude::KeysInterface::del(&app.state.redis.next().clone(), &key)
            .await
            .unwrap();
    let (_, html) = app.get_html("/statistiques").await;
    assert_eq!(stat(&html, "recus"), "3");
}

// ---------------------------------------------------------------- exports

#[tokio::test]
async fn the_csv_export_has_a_bom_semicolons_quoting_and_a_formula_guard() {
    let app = TestApp::spawn_with_accounts().await;
    insert_case(
        &app,
        Case {
            reference: "2026-7",
            last_name: "=HYPERLINK(\"http://x\")",
            address: "3 rue \"des Lilas\"; bâtiment B\nescalier 2",
            lon: -1.5536,
            ..Case::default()
        },
    )
    .await;
    app.login_as(RT69).await;
    let response = app.get("/bo/signalements/export.csv?colonnes=reference,nom_occupant,adresse,longitude,criticite").await;
    assert_eq!(response.status(), 200);
    assert!(
        response.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/csv")
    );
    assert!(
        response.headers()["content-disposition"]
            .to_str()
            .unwrap()
            .contains(".csv")
    );
    let bytes = response.bytes().await.unwrap();
    assert_eq!(&bytes[..3], b"\xEF\xBB\xBF", "UTF-8 BOM");
    let text = std::str::from_utf8(&bytes[3..]).unwrap();
    assert_eq!(
        text,
        "Référence;Nom occupant;Adresse;Longitude;Criticité\r\n\
         2026-7;\"'=HYPERLINK(\"\"http://x\"\")\";\"3 rue \"\"des Lilas\"\"; bâtiment B\nescalier 2\";-1.553600;20.00\r\n"
    );
    // The column menu carries the list's filters and the chosen columns.
    let (status, html) = app
        .get_html("/bo/signalements/export?statut=active&colonnes=reference,ville")
        .await;
    assert_eq!(status, 200);
    assert!(html.contains(r#"<input type="hidden" name="statut" value="active">"#));
    assert!(html.contains(r#"value="reference" checked>"#));
    assert!(html.contains(r#"value="ville" checked>"#));
    assert!(html.contains(r#"value="email_occupant">"#));
    assert!(html.contains(r#"formaction="/bo/signalements/export.xlsx""#));
    // Default columns.
    let (_, csv) = body(&app, "/bo/signalements/export.csv").await;
    let header = String::from_utf8(csv)
        .unwrap()
        .lines()
        .next()
        .unwrap()
        .to_owned();
    assert_eq!(
        header,
        "\u{feff}Référence;Territoire;Déposé le;Statut;Profil déclarant;Nom occupant;Prénom occupant;Adresse;Code postal;Ville;Criticité;Dernier suivi"
    );
}

#[tokio::test]
async fn the_xlsx_export_is_a_workbook_holding_the_rows() {
    let app = TestApp::spawn_with_accounts().await;
    insert_case(
        &app,
        Case {
            reference: "2026-8",
            last_name: "Dupont & fils",
            ..Case::default()
        },
    )
    .await;
    insert_case(
        &app,
        Case {
            reference: "2026-9",
            ..Case::default()
        },
    )
    .await;
    app.login_as(RT69).await;
    let response = app
        .get("/bo/signalements/export.xlsx?colonnes=reference,nom_occupant")
        .await;
    assert_eq!(response.status(), 200);
    assert!(
        response.headers()["content-type"]
            .to_str()
            .unwrap()
            .contains("spreadsheetml")
    );
    let bytes = response.bytes().await.unwrap().to_vec();
    assert_eq!(&bytes[..4], b"PK\x03\x04", "a zip file");
    let mut archive = zip::ZipArchive::new(std::io::Cursor::new(bytes)).expect("valid zip");
    let mut sheet = String::new();
    std::io::Read::read_to_string(
        &mut archive
            .by_name("xl/worksheets/sheet1.xml")
            .expect("first sheet"),
        &mut sheet,
    )
    .unwrap();
    let mut all = sheet.clone();
    if let Ok(mut strings) = archive.by_name("xl/sharedStrings.xml") {
        std::io::Read::read_to_string(&mut strings, &mut all).unwrap();
    }
    for text in [
        "Référence",
        "Nom occupant",
        "2026-8",
        "2026-9",
        "Dupont &amp; fils",
    ] {
        assert!(all.contains(text), "{text} in {all}");
    }
}

/// Peak resident memory of this process (the test runs the server), in KiB.
fn peak_rss_kib() -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap();
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .unwrap_or(0)
}

/// Set in the process that runs the large export alone.
const ALONE: &str = "HISTOLOGE_TEST_EXPORT_ALONE";

/// Peak memory is a figure of the whole process, and the suite runs other
/// tests beside this one in the same process: whatever they allocate
/// meanwhile would count as the export's. So the test runs itself again in
/// a process of its own (the same test binary, this test only) and
/// measures there.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_large_export_streams_in_flat_memory() {
    if std::env::var_os(ALONE).is_none() {
        let output = tokio::process::Command::new(std::env::current_exe().unwrap())
            .args([
                "--exact",
                "map_stats_exports::a_large_export_streams_in_flat_memory",
                "--nocapture",
                "--test-threads=1",
            ])
            .env(ALONE, "1")
            .output()
            .await
            .expect("run the export test alone");
        print!("{}", String::from_utf8_lossy(&output.stdout));
        eprint!("{}", String::from_utf8_lossy(&output.stderr));
        let stdout = String::from_utf8_lossy(&output.stdout);
        assert!(
            output.status.success() && stdout.contains("1 passed"),
            "the export measured in a process of its own failed (its output is above)"
        );
        return;
    }
    let app = TestApp::spawn_with_accounts().await;
    let started = Instant::now();
    insert_many(&app, 100_000, "2020", 45.70, 4.80).await;
    println!(
        "inserted 100,000 cases in {:.1} s",
        started.elapsed().as_secs_f64()
    );
    app.login_as(SUPER_ADMIN).await;

    let before = peak_rss_kib();
    let started = Instant::now();
    let response = app.get("/bo/signalements/export.csv").await;
    assert_eq!(response.status(), 200);
    let mut stream = response.bytes_stream();
    let (mut bytes, mut lines) = (0usize, 0usize);
    while let Some(chunk) = stream.next().await {
        let chunk = chunk.expect("chunk");
        bytes += chunk.len();
        lines += chunk.iter().filter(|b| **b == b'\n').count();
    }
    let csv_time = started.elapsed();
    let after = peak_rss_kib();
    println!(
        "CSV export of 100,000 rows: {:.2} s, {:.1} MB, peak RSS {} MB -> {} MB (+{} MB)",
        csv_time.as_secs_f64(),
        bytes as f64 / 1e6,
        before / 1024,
        after / 1024,
        (after - before) / 1024
    );
    assert_eq!(lines, 100_001, "header + rows");
    assert!(
        (after - before) < 50 * 1024,
        "peak RSS grew by {} MB while streaming {} MB",
        (after - before) / 1024,
        bytes / 1_000_000
    );
    // Time is not what this test measures (BENCHMARKS.md does, on a quiet
    // machine): the bound only catches a path gone quadratic, with room for
    // a suite sharing two cores.
    assert!(csv_time.as_secs() < 120, "{csv_time:?}");

    // The map over the same 100,000 reports: grid clusters for the
    // country and the département, points in a street.
    for (view, mode) in [
        ("bbox=-5.5,41.2,10,51.2&zoom=6", "clusters"),
        ("bbox=4.2,45.4,5.4,46.1&zoom=10", "clusters"),
        ("bbox=4.80,45.70,4.81,45.71&zoom=16", "points"),
    ] {
        let started = Instant::now();
        let (status, data) = json(&app, &format!("/bo/cartographie/donnees?{view}")).await;
        let elapsed = started.elapsed();
        assert_eq!(status, 200, "{data}");
        assert_eq!(data["mode"], mode, "{view}");
        println!(
            "map {view}: {mode}, {} reports, {} clusters, {} points in {} ms",
            data["total"],
            data["clusters"].as_array().map_or(0, Vec::len),
            data["points"].as_array().map_or(0, Vec::len),
            elapsed.as_millis()
        );
        assert!(elapsed.as_secs() < 30, "{view}: {elapsed:?}");
    }

    let before = peak_rss_kib();
    let started = Instant::now();
    let response = app.get("/bo/signalements/export.xlsx").await;
    assert_eq!(response.status(), 200);
    let mut stream = response.bytes_stream();
    let mut bytes = 0usize;
    while let Some(chunk) = stream.next().await {
        bytes += chunk.expect("chunk").len();
    }
    let after = peak_rss_kib();
    println!(
        "XLSX export of 100,000 rows: {:.2} s, {:.1} MB, peak RSS {} MB -> {} MB (+{} MB)",
        started.elapsed().as_secs_f64(),
        bytes as f64 / 1e6,
        before / 1024,
        after / 1024,
        (after - before) / 1024
    );
    assert!(
        (after - before) < 80 * 1024,
        "peak RSS grew by {} MB during the XLSX export",
        (after - before) / 1024
    );
}

// ---------------------------------------------------------------- browser

/// Waits until an element matching `css` exists (the map draws
/// asynchronously).
async fn wait_for(browser: &Browser, css: &str) {
    use futures::FutureExt;
    let deadline = Instant::now() + std::time::Duration::from_secs(45);
    loop {
        let found = std::panic::AssertUnwindSafe(browser.find(css))
            .catch_unwind()
            .await
            .is_ok();
        if found {
            return;
        }
        if Instant::now() >= deadline {
            browser
                .screenshot(&screenshot_dir().join("map-timeout.png"))
                .await;
            let status = std::panic::AssertUnwindSafe(browser.text_of("#map-status"))
                .catch_unwind()
                .await
                .unwrap_or_default();
            panic!("{css} never appeared; map status: {status:?}");
        }
        tokio::time::sleep(std::time::Duration::from_millis(250)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_agent_opens_the_map_zooms_into_a_cluster_and_follows_a_popup_link() {
    let app = TestApp::spawn_with_accounts().await;
    let uuids = [
        insert_case(
            &app,
            Case {
                reference: "2026-11",
                lat: 45.7600,
                lon: 4.8400,
                ..Case::default()
            },
        )
        .await
        .1,
        insert_case(
            &app,
            Case {
                reference: "2026-12",
                lat: 45.7630,
                lon: 4.8440,
                ..Case::default()
            },
        )
        .await
        .1,
        insert_case(
            &app,
            Case {
                reference: "2026-13",
                lat: 45.7580,
                lon: 4.8460,
                status: "need_validation",
                ..Case::default()
            },
        )
        .await
        .1,
    ];
    let browser = Browser::start(1280, 900).await;
    browser.goto(&app.url("/connexion")).await;
    browser.type_into("#email", RT69).await;
    browser
        .type_into("#password", crate::common::DEMO_PASSWORD)
        .await;
    browser
        .click("form[action='/connexion'] button[type='submit']")
        .await;
    // The login's redirect must land before the next navigation.
    let deadline = Instant::now() + std::time::Duration::from_secs(30);
    while !browser.current_url().await.ends_with("/bo") {
        assert!(Instant::now() < deadline, "the login never landed");
        tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    }
    browser.goto(&app.url("/bo/cartographie")).await;
    // Zoomed out on the territory: the three reports form one cluster.
    wait_for(&browser, ".marker-cluster").await;
    browser
        .screenshot(&screenshot_dir().join("map-territory.png"))
        .await;
    browser.click(".marker-cluster").await;
    wait_for(&browser, ".app-map-point").await;
    // Let the last reload of the zoomed view finish (it redraws the markers).
    let deadline = Instant::now() + std::time::Duration::from_secs(30);
    while browser
        .text_of("#map-status")
        .await
        .starts_with("Chargement")
    {
        assert!(Instant::now() < deadline, "the zoomed view never loaded");
        tokio::time::sleep(std::time::Duration::from_millis(250)).await;
    }
    tokio::time::sleep(std::time::Duration::from_millis(800)).await;
    browser.click(".app-map-point").await;
    wait_for(&browser, ".leaflet-popup-content a.app-map-popup__link").await;
    let popup = browser.text_of(".leaflet-popup-content").await;
    assert!(popup.contains("Signalement 2026-1"), "{popup}");
    assert!(popup.contains("12 rue Garibaldi, 69003 Lyon"), "{popup}");
    assert!(popup.contains("criticité 20"), "{popup}");
    browser
        .screenshot(&screenshot_dir().join("map-popup.png"))
        .await;
    browser
        .click(".leaflet-popup-content a.app-map-popup__link")
        .await;
    tokio::time::sleep(std::time::Duration::from_millis(500)).await;
    let url = browser.current_url().await;
    assert!(
        uuids
            .iter()
            .any(|u| url.ends_with(&format!("/bo/signalements/{u}"))),
        "{url}"
    );
    browser.quit().await;

    // The same selection without the map.
    app.login_as(RT69).await;
    let (status, html) = app.get_html("/bo/cartographie?vue=tableau").await;
    assert_eq!(status, 200);
    for reference in ["2026-11", "2026-12", "2026-13"] {
        assert!(html.contains(reference), "{reference}");
    }
    let (_, html) = app.get_html("/bo/cartographie").await;
    assert!(
        html.contains("vue=tableau")
            && html.contains("data-tiles=\"https://tile.openstreetmap.org/")
    );
}
