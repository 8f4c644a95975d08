//! The Zapier push configured in the partner form (docs/contracts.md §5):
//! hook URL and token written only, stored encrypted, kept when the fields
//! are left empty, cleared on request, refused with a French message when
//! incomplete or not https.

use histologe::secrets::{Column, Secrets};

use crate::common::TestApp;

const HOOK: &str = "https://hooks.zapier.com/hooks/catch/123/abcdef";
const TOKEN: &str = "jeton-zapier-en-clair";

async fn stored(app: &TestApp, id: u64) -> (Option<String>, Option<String>) {
    sqlx::query_as("SELECT zapier_url, zapier_token FROM partners WHERE id = ?")
        .bind(id)
        .fetch_one(&app.db)
        .await
        .unwrap()
}

#[tokio::test]
async fn a_territory_admin_configures_the_zapier_push_of_a_partner() {
    let app = TestApp::spawn().await;
    app.seed_demo().await;
    app.login_as("rt13@histologe.localhost").await;
    let territory: u64 =
        sqlx::query_scalar("SELECT CAST(id AS UNSIGNED) FROM territories WHERE code = '13'")
            .fetch_one(&app.db)
            .await
            .unwrap();
    let base = |extra: &[(&'static str, &'static str)]| {
        let mut fields = vec![("name", "ARS Zapier"), ("partner_type", "ars")];
        fields.extend_from_slice(extra);
        fields
    };
    let territory = territory.to_string();
    let mut create = base(&[("zapier_url", HOOK), ("zapier_token", TOKEN)]);
    create.push(("territory_id", &territory));
    let response = app.post_form("/bo/partenaires/nouveau", &create).await;
    assert_eq!(response.status(), 303);
    let location = response.headers()["location"].to_str().unwrap().to_owned();
    let path = location.split('?').next().unwrap().to_owned();
    let id: u64 = sqlx::query_scalar("SELECT id FROM partners WHERE name = 'ARS Zapier'")
        .fetch_one(&app.db)
        .await
        .unwrap();
    let keys = Secrets::from_config(&app.state.config);
    let (url, token) = stored(&app, id).await;
    let (url, token) = (url.unwrap(), token.unwrap());
    assert!(url.starts_with("v1:") && !url.contains("zapier.com"));
    assert_eq!(keys.decrypt(Column::ZapierUrl, &url).unwrap(), HOOK);
    assert_eq!(keys.decrypt(Column::ZapierToken, &token).unwrap(), TOKEN);
    // Written only: the page says a hook is stored, never shows it.
    let (_, html) = app.get_html(&path).await;
    assert!(html.contains("id=\"zapier-enregistre\""));
    assert!(!html.contains("hooks.zapier.com/hooks/catch/123") && !html.contains(TOKEN));

    // Saved with the fields empty: kept.
    assert_eq!(app.post_form(&path, &base(&[])).await.status(), 303);
    let (url, token) = stored(&app, id).await;
    assert_eq!(
        keys.decrypt(Column::ZapierUrl, &url.unwrap()).unwrap(),
        HOOK
    );
    assert_eq!(
        keys.decrypt(Column::ZapierToken, &token.unwrap()).unwrap(),
        TOKEN
    );

    // Incomplete or not https: French errors next to the fields, nothing changed.
    for (fields, field, message) in [
        (
            base(&[("zapier_url", "https://hooks.zapier.com/hooks/catch/9/x")]),
            "zapier_token",
            "Indiquez le jeton attendu par Zapier.",
        ),
        (
            base(&[("zapier_token", TOKEN)]),
            "zapier_url",
            "Indiquez l’adresse du déclencheur Zapier (https://…).",
        ),
        (
            base(&[
                ("zapier_url", "ftp://hooks.zapier.com/x"),
                ("zapier_token", TOKEN),
            ]),
            "zapier_url",
            "",
        ),
    ] {
        let response = app.post_form(&path, &fields).await;
        assert_eq!(response.status(), 422, "{field}");
        let html = response.text().await.unwrap();
        assert!(html.contains(&format!("href=\"#{field}\"")), "{field}");
        assert!(html.contains(message));
    }
    let (url, _) = stored(&app, id).await;
    assert_eq!(
        keys.decrypt(Column::ZapierUrl, &url.unwrap()).unwrap(),
        HOOK
    );

    // "Ne plus envoyer à Zapier": both cleared, audited without the secret.
    assert_eq!(
        app.post_form(&path, &base(&[("zapier_remove", "1")]))
            .await
            .status(),
        303
    );
    assert_eq!(stored(&app, id).await, (None, None));
    let diff: String = sqlx::query_scalar(
        "SELECT CAST(diff AS CHAR) FROM audit_events WHERE entity_type = 'partner' AND action = 'update' ORDER BY id DESC LIMIT 1",
    )
    .fetch_one(&app.db)
    .await
    .unwrap();
    assert!(
        diff.contains("zapier_url") && !diff.contains("zapier.com"),
        "{diff}"
    );
}
