//! Terms of use (docs/terms.md): the public and agents' pages with their
//! version, the public form's checkbox linking to its page and the version
//! kept on the report, the agents' interstitial at the next sign-in
//! (accepting records version and time, refusing signs out).

use histologe::domain::terms::Audience;

use crate::{
    common::{DEMO_PASSWORD, TestApp},
    report_form::{Visitor, fill_as_tenant, open_territory, submit, text},
};

const RT69: &str = "rt69@histologe.localhost";

async fn set_accepted(app: &TestApp, email: &str, version: Option<&str>) {
    sqlx::query("UPDATE users SET terms_version = ?, terms_accepted_at = NULL WHERE email = ?")
        .bind(version)
        .bind(email)
        .execute(&app.db)
        .await
        .expect("terms version");
}

async fn sign_in(app: &TestApp, email: &str) -> reqwest::Response {
    app.post_form(
        "/connexion",
        &[("email", email), ("password", DEMO_PASSWORD)],
    )
    .await
}

fn location(response: &reqwest::Response) -> String {
    response.headers()["location"]
        .to_str()
        .expect("location")
        .to_owned()
}

async fn audited(app: &TestApp, action: &str) -> i64 {
    sqlx::query_scalar("SELECT COUNT(*) FROM audit_events WHERE action = ?")
        .bind(action)
        .fetch_one(&app.db)
        .await
        .expect("audit")
}

#[tokio::test]
async fn an_agent_accepts_the_new_version_at_the_next_sign_in_and_then_works_as_before() {
    let app = TestApp::spawn_with_accounts().await;
    let current = Audience::Agents.current().code;
    set_accepted(&app, RT69, Some("2024-01")).await;

    let response = sign_in(&app, RT69).await;
    assert_eq!(response.status(), 303);
    assert_eq!(location(&response), "/bo/conditions-utilisation?suite=/bo");
    // Every back-office page leads there until accepted.
    let response = app.get("/bo/signalements?statut=active").await;
    assert_eq!(response.status(), 303);
    assert_eq!(
        location(&response),
        "/bo/conditions-utilisation?suite=/bo/signalements%3Fstatut%3Dactive"
    );
    let (status, html) = app.get_html("/bo/conditions-utilisation?suite=/bo").await;
    assert_eq!(status, 200);
    assert!(html.contains(&format!("Version {current}")));
    assert!(html.contains("J’accepte les conditions d’utilisation"));
    assert!(html.contains("Accès et compte"));

    let response = app
        .post_form(
            "/bo/conditions-utilisation",
            &[("decision", "accepter"), ("suite", "/bo/signalements")],
        )
        .await;
    assert_eq!(response.status(), 303);
    assert_eq!(location(&response), "/bo/signalements");
    let (version, recorded): (Option<String>, bool) = sqlx::query_as(
        "SELECT terms_version, terms_accepted_at > UTC_TIMESTAMP() - INTERVAL 1 MINUTE FROM users WHERE email = ?",
    )
    .bind(RT69)
    .fetch_one(&app.db)
    .await
    .unwrap();
    assert_eq!(version.as_deref(), Some(current));
    assert!(recorded, "the acceptance is timestamped");
    assert_eq!(audited(&app, "terms_accepted").await, 1);
    assert_eq!(app.get("/bo/signalements").await.status(), 200);
    let (_, html) = app.get_html("/bo/conditions-utilisation").await;
    assert!(html.contains("Vous avez accepté cette version le"));

    // Accepted once: the next sign-in goes straight on.
    app.logout().await;
    app.login_as(RT69).await;
    assert_eq!(app.get("/bo").await.status(), 200);
}

#[tokio::test]
async fn refusing_the_terms_signs_the_agent_out() {
    let app = TestApp::spawn_with_accounts().await;
    set_accepted(&app, RT69, None).await;
    let response = sign_in(&app, RT69).await;
    assert_eq!(location(&response), "/bo/conditions-utilisation?suite=/bo");
    // Neither answer: refused, still pending.
    let response = app
        .post_form("/bo/conditions-utilisation", &[("decision", "peut-etre")])
        .await;
    assert_eq!(response.status(), 400);

    let response = app
        .post_form("/bo/conditions-utilisation", &[("decision", "refuser")])
        .await;
    assert_eq!(response.status(), 303);
    assert_eq!(location(&response), "/connexion?ok=cgu-refusees");
    let response = app.get("/bo").await;
    assert!(location(&response).starts_with("/connexion"));
    let (_, html) = app.get_html("/connexion?ok=cgu-refusees").await;
    assert!(html.contains("Vous avez refusé les conditions d’utilisation"));
    let version: Option<String> =
        sqlx::query_scalar("SELECT terms_version FROM users WHERE email = ?")
            .bind(RT69)
            .fetch_one(&app.db)
            .await
            .unwrap();
    assert_eq!(version, None);
    assert_eq!(audited(&app, "terms_refused").await, 1);
}

#[tokio::test]
async fn the_public_form_links_its_terms_and_the_report_keeps_the_version_accepted() {
    let app = TestApp::spawn().await;
    let current = Audience::Public.current();
    for (path, heading) in [
        ("/conditions-utilisation", "Objet du service"),
        ("/conditions-utilisation-professionnels", "Accès et compte"),
    ] {
        let (status, html) = app.get_html(path).await;
        assert_eq!(status, 200, "{path}");
        assert!(html.contains(heading), "{path}");
        assert!(html.contains("id=\"version-cgu\""), "{path}");
    }
    let (_, html) = app.get_html("/conditions-utilisation").await;
    assert!(html.contains(&format!(
        "Version {} du {}",
        current.code,
        current.published_label()
    )));

    open_territory(&app).await;
    let v = Visitor::new(&app).await;
    let uuid = fill_as_tenant(&v, "camille@exemple.fr").await;
    let procedure = v.get(&format!("/signalement/{uuid}/procedure")).await;
    assert!(
        procedure.html.contains("href=\"/conditions-utilisation\""),
        "the checkbox links to the terms"
    );
    submit(&v, &uuid).await;
    assert_eq!(
        text(
            &app,
            "SELECT CAST(JSON_UNQUOTE(JSON_EXTRACT(consents, '$.cgu_version')) AS CHAR) FROM reports"
        )
        .await,
        current.code
    );
}
