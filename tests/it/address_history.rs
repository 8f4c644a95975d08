//! Address history: one address, one key, whatever the spelling. The key
//! is a stored generated column (`reports.address_key`) and has a Rust twin
//! (`domain::address::AddressKey`); both must agree.

use histologe::domain::address::AddressKey;

use crate::common::{TestApp, cases::CaseBuilder};

const RT69: &str = "rt69@histologe.localhost";

/// The references listed in the "same address" panel of a case page.
fn same_address_panel(html: &str) -> Vec<String> {
    let start = html
        .find("id=\"meme-adresse-titre\"")
        .expect("the case page has the same-address panel");
    let panel = &html[start..start + html[start..].find("</section>").expect("panel end")];
    panel
        .split("<a href=\"/bo/signalements/")
        .skip(1)
        .map(|chunk| {
            let text = &chunk[chunk.find('>').expect("link text") + 1..];
            text[..text.find('<').expect("end of link")].to_owned()
        })
        .collect()
}

#[tokio::test]
async fn two_spellings_of_one_street_are_one_address_on_the_case_page() {
    let app = TestApp::spawn_with_accounts().await;
    let first = CaseBuilder::new("69A")
        .reference("2026-201")
        .street("12 rue X")
        .create(&app)
        .await;
    CaseBuilder::new("69A")
        .reference("2026-202")
        .street("12, Rue X")
        .create(&app)
        .await;
    // Same street in another commune: another address.
    CaseBuilder::new("69A")
        .reference("2026-203")
        .street("12 rue X")
        .commune("69004", "Lyon")
        .create(&app)
        .await;

    app.login_as(RT69).await;
    let (status, html) = app
        .get_html(&format!("/bo/signalements/{}", first.uuid))
        .await;
    assert_eq!(status, 200);
    assert_eq!(same_address_panel(&html), vec!["2026-202".to_owned()]);
}

#[tokio::test]
async fn the_database_and_the_domain_compute_the_same_key() {
    let app = TestApp::spawn().await;
    let streets = [
        "12 rue X",
        "  12, RUE  de l'Église. ",
        "3 bis Œuvre & Ça—Ñandú",
        "Lieu-dit « Les Hôpitaux »",
        "5 place Saint-Exupéry (bât. B)",
        "!!!",
    ];
    for street in streets {
        let case = CaseBuilder::new("69A").street(street).create(&app).await;
        for ban in [None, Some("69383_1234_00012"), Some("")] {
            sqlx::query("UPDATE reports SET ban_id = ? WHERE id = ?")
                .bind(ban)
                .bind(case.id)
                .execute(&app.db)
                .await
                .expect("set ban id");
            let (stored, postal_code): (String, String) =
                sqlx::query_as("SELECT address_key, postal_code FROM reports WHERE id = ?")
                    .bind(case.id)
                    .fetch_one(&app.db)
                    .await
                    .expect("key");
            let computed = AddressKey::of(ban, &postal_code, street);
            assert_eq!(stored, computed.as_str(), "{street:?} with BAN id {ban:?}");
            assert!(
                AddressKey::parse(&stored).is_some(),
                "the key {stored:?} is valid in a URL"
            );
        }
    }
}

const RT13: &str = "rt13@histologe.localhost";
const AGENT_SCHS69: &str = "agent.schs69@histologe.localhost";

async fn schs69(app: &TestApp) -> u64 {
    sqlx::query_scalar("SELECT id FROM partners WHERE name LIKE 'Service communal%Lyon'")
        .fetch_one(&app.db)
        .await
        .expect("SCHS of Lyon")
}

/// The href of the case page's "Historique de l’adresse" link.
fn history_link(html: &str) -> String {
    let at = html
        .find("\">Historique de l’adresse</a>")
        .expect("the case page links to the address history");
    let href = &html[..at];
    href[href.rfind("href=\"").expect("href") + 6..].to_owned()
}

#[tokio::test]
async fn an_order_on_one_case_shows_in_the_address_history_of_another_spelling() {
    let app = TestApp::spawn_with_accounts().await;
    let schs = schs69(&app).await;
    let a = CaseBuilder::new("69A")
        .reference("2026-301")
        .status("active")
        .street("12 rue X")
        .assigned_to(schs, "en_cours")
        .create(&app)
        .await;
    let b = CaseBuilder::new("69A")
        .reference("2026-302")
        .status("active")
        .street("12, Rue X")
        .create(&app)
        .await;
    // Another territory's case at the same key: counted, never shown.
    CaseBuilder::new("13")
        .reference("2026-303")
        .street("12 RUE X.")
        .commune("69003", "Lyon")
        .create(&app)
        .await;
    // An order of the register that matched no case, at the same address.
    sqlx::query(
        "INSERT INTO arretes (uuid, territory_id, address_key, address_label, kind, number, order_date,
                              signatory, source)
         SELECT UUID(), id, '69003-12-rue-x', '=HYPERLINK(\"http://x\")', 'mise_en_securite', 'REG-9',
                '2025-03-01', 'maire', 'import'
         FROM territories WHERE code = '69A'",
    )
    .execute(&app.db)
    .await
    .expect("a register order");

    app.login_as(RT69).await;
    let response = app
        .post_form(
            &format!("/bo/signalements/{}/arretes", a.uuid),
            &[
                ("arrete_type", "l_511_19_insalubrite"),
                ("arrete_number", "2026/AP/77"),
                ("arrete_date", "2026-11-20"),
                ("arrete_signatory", "prefet"),
            ],
        )
        .await;
    assert_eq!(response.status(), 303);

    // Case B's page: the order in its same-address panel, and the link.
    let (status, html) = app.get_html(&format!("/bo/signalements/{}", b.uuid)).await;
    assert_eq!(status, 200);
    let start = html.find("id=\"meme-adresse-titre\"").expect("panel");
    let panel = &html[start..start + html[start..].find("</section>").expect("end")];
    assert!(panel.contains("n° 2026/AP/77 du 20/11/2026"), "{panel}");
    let link = history_link(&html);
    assert_eq!(link, "/bo/adresses/69003-12-rue-x");

    // The address page as the territory admin of 69.
    let (status, page) = app.get_html(&link).await;
    assert_eq!(status, 200);
    assert!(
        page.contains("2026-301") && page.contains("2026-302"),
        "{page}"
    );
    assert!(
        !page.contains("2026-303"),
        "another territory's case is not shown"
    );
    assert!(
        page.contains("1 autre signalement a été déposé à cette adresse, hors de votre périmètre.")
    );
    assert!(page.contains("n° 2026/AP/77") && page.contains("n° REG-9"));
    assert!(
        page.contains("Aucun (registre)"),
        "the register order matches no case"
    );

    // The agent of the SCHS sees only the case assigned to its partner.
    let agent = app.as_another_user();
    agent.login_as(AGENT_SCHS69).await;
    let (status, page) = agent.get_html(&link).await;
    assert_eq!(status, 200);
    assert!(page.contains("2026-301") && !page.contains("2026-302") && !page.contains("2026-303"));
    assert!(page.contains("2 autres signalements ont été déposés à cette adresse"));

    // The territory admin of 13 sees theirs and counts the two of 69.
    let rt13 = app.as_another_user();
    rt13.login_as(RT13).await;
    let (_, page) = rt13.get_html(&link).await;
    assert!(page.contains("2026-303") && !page.contains("2026-301"));
    assert!(
        page.contains("Hors de votre périmètre"),
        "the order of a case it may not open"
    );

    // The export: the same rows, formula-guarded, the others counted.
    let response = app
        .client
        .get(app.url(&format!("{link}/export.csv")))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    assert!(
        response.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/csv"),
        "a CSV"
    );
    let bytes = response.bytes().await.unwrap();
    assert!(bytes.starts_with(b"\xef\xbb\xbf"), "with its BOM");
    let csv = String::from_utf8(bytes.to_vec()).unwrap();
    assert!(csv.contains("Signalement;2026-301;"), "{csv}");
    assert!(
        csv.contains("2026/AP/77") && csv.contains(";2026-301\r\n"),
        "{csv}"
    );
    assert!(!csv.contains("2026-303"));
    assert!(csv.contains("Autres signalements hors de votre périmètre;1;"));
    assert!(
        csv.contains("\"'=HYPERLINK(\"\"http://x\"\")\""),
        "formula neutralised: {csv}"
    );
    assert!(!csv.contains(";=HYPERLINK"));
}

#[tokio::test]
async fn a_malformed_address_key_is_not_found_and_anonymous_users_log_in() {
    let app = TestApp::spawn_with_accounts().await;
    let anonymous = app.as_another_user();
    let response = anonymous
        .client
        .get(anonymous.url("/bo/adresses/69003-12-rue-x"))
        .send()
        .await
        .unwrap();
    assert!(response.status().is_redirection(), "{}", response.status());
    app.login_as(RT69).await;
    for bad in ["12%20rue%20X", "%3Cscript%3E", &"a".repeat(400)] {
        let (status, _) = app.get_html(&format!("/bo/adresses/{bad}")).await;
        assert_eq!(status, 404, "{bad}");
    }
    let (status, page) = app.get_html("/bo/adresses/00000-nowhere").await;
    assert_eq!(status, 200);
    assert!(page.contains("Aucun signalement de votre périmètre à cette adresse."));
}

#[tokio::test]
async fn the_demo_data_has_two_cases_at_one_address_with_its_orders() {
    let app = TestApp::spawn().await;
    app.seed_demo().await;
    let (key, cases, spellings): (String, i64, i64) = sqlx::query_as(
        "SELECT r.address_key, COUNT(*), COUNT(DISTINCT r.address_line) FROM reports r
         JOIN arretes a ON a.report_id = r.id GROUP BY r.address_key",
    )
    .fetch_one(&app.db)
    .await
    .expect("the demo's orders are on cases of one address");
    assert_eq!((cases, spellings), (2, 2), "two cases, two spellings");
    app.login_as(RT69).await;
    let (status, page) = app.get_html(&format!("/bo/adresses/{key}")).await;
    assert_eq!(status, 200);
    assert!(page.contains("n° DEMO-2026-001") && page.contains("n° DEMO-2025-014"));
    assert!(page.contains("En cours") && page.contains("Levé le"));
    let in_force: Vec<String> = sqlx::query_scalar(
        "SELECT r.uuid FROM reports r JOIN arretes a ON a.report_id = r.id WHERE a.lifted_on IS NULL",
    )
    .fetch_all(&app.db)
    .await
    .expect("cases with an order in force");
    assert_eq!(in_force.len(), 1);
    let (_, list) = app.get_html("/bo/signalements?arrete=en_cours").await;
    assert!(list.contains(&in_force[0]), "the list filter finds it");
}
