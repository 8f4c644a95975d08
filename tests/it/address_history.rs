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
