//! Each way bad input used to end as a 500 or as axum's English text, one
//! test per point: database refusals of user input are a French 4xx, a
//! forged territory id is refused on its field, malformed ids are a French
//! 404 and malformed queries or methods a French page.

use axum::response::IntoResponse;
use histologe::{db, error::AppError};

use crate::common::TestApp;

const SUPER_ADMIN: &str = "admin@histologe.localhost";

async fn body_of(response: axum::response::Response) -> String {
    let bytes = axum::body::to_bytes(response.into_body(), 1 << 20)
        .await
        .expect("body");
    String::from_utf8_lossy(&bytes).into_owned()
}

async fn territory_69(app: &TestApp) -> u32 {
    sqlx::query_scalar("SELECT id FROM territories WHERE code = '69A'")
        .fetch_one(&app.db)
        .await
        .expect("territory 69A")
}

#[tokio::test]
async fn a_database_refusal_of_user_input_is_a_french_4xx_and_not_a_500() {
    let app = TestApp::spawn().await;
    app.seed_demo().await;
    let territory = territory_69(&app).await;
    let mut conn = app.db.acquire().await.expect("connection");

    // An id that names nothing (foreign key): 422.
    let unknown = db::tags::insert(&mut conn, 999_999, "Plomb")
        .await
        .expect_err("foreign key");
    let response = AppError::from(unknown).into_response();
    assert_eq!(response.status(), 422);
    assert!(body_of(response).await.contains("Saisie non valide"));

    // Longer than the column: 422, even under an anyhow context (the
    // chain is searched for the database error).
    let long = db::tags::insert(&mut conn, territory, &"x".repeat(10_000))
        .await
        .expect_err("too long");
    let response = AppError::from(anyhow::Error::new(long).context("insert tag")).into_response();
    assert_eq!(response.status(), 422);
    assert!(body_of(response).await.contains("trop longue"));

    // The same value twice where it must be unique: 409.
    db::tags::insert(&mut conn, territory, "Doublon")
        .await
        .expect("first tag");
    let twice = db::tags::insert(&mut conn, territory, "Doublon")
        .await
        .expect_err("unique key");
    let response = AppError::from(twice).into_response();
    assert_eq!(response.status(), 409);
    assert!(body_of(response).await.contains("Déjà enregistré"));

    // A lost table is a bug, not input: still a 500.
    let missing = sqlx::query("SELECT * FROM no_such_table")
        .execute(&mut *conn)
        .await
        .expect_err("no table");
    assert_eq!(AppError::from(missing).into_response().status(), 500);
}

#[tokio::test]
async fn an_unknown_territory_on_a_new_tag_is_refused_next_to_the_field() {
    let app = TestApp::spawn().await;
    app.seed_demo().await;
    app.login_as(SUPER_ADMIN).await;
    for forged in ["999999", "-1", "99999999999999999999", "abc"] {
        let response = app
            .post_form(
                "/bo/etiquettes",
                &[("label", "Étiquette forgée"), ("territory_id", forged)],
            )
            .await;
        assert_eq!(response.status(), 422, "territory {forged}");
        let html = response.text().await.unwrap();
        assert!(
            html.contains("Choisissez un territoire de votre périmètre."),
            "the error is on the field"
        );
    }
    let stored: i64 =
        sqlx::query_scalar("SELECT COUNT(*) FROM tags WHERE label = 'Étiquette forgée'")
            .fetch_one(&app.db)
            .await
            .unwrap();
    assert_eq!(stored, 0, "nothing written");

    // A real territory still works.
    let territory = territory_69(&app).await.to_string();
    let response = app
        .post_form(
            "/bo/etiquettes",
            &[("label", "Étiquette vraie"), ("territory_id", &territory)],
        )
        .await;
    assert_eq!(response.status(), 303);
}

#[tokio::test]
async fn unused_integration_fields_longer_than_their_column_are_refused_on_the_field() {
    let app = TestApp::spawn().await;
    app.seed_demo().await;
    app.login_as("rt69@histologe.localhost").await;
    let partner: u64 =
        sqlx::query_scalar("SELECT id FROM partners WHERE name LIKE 'Service communal%Lyon'")
            .fetch_one(&app.db)
            .await
            .expect("the SCHS of Lyon");
    let path = format!("/bo/partenaires/{partner}");
    let (status, html) = app.get_html(&path).await;
    assert_eq!(status, 200);
    // The page's own form, as a browser sends it, with no Esabora chosen
    // but its fields filled far beyond their columns.
    let form = super::html::parse(&html)
        .forms
        .into_iter()
        .find(|f| f.method == "POST" && f.fields.iter().any(|x| x.name == "esabora_token"))
        .expect("the partner form");
    let long_url = format!("https://esabora.example/{}", "x".repeat(300));
    let long_token = "😀".repeat(400);
    let fields: Vec<(String, String)> = form
        .fields
        .iter()
        .filter(|f| {
            !matches!(
                f.kind,
                super::html::Kind::Checkbox | super::html::Kind::Radio
            ) || f.checked
        })
        .map(|f| {
            let value = match f.name.as_str() {
                "esabora_kind" => String::new(),
                "esabora_url" => long_url.clone(),
                "esabora_token" => long_token.clone(),
                _ => f.value.clone(),
            };
            (f.name.clone(), value)
        })
        .collect();
    let response = app
        .client
        .post(app.url(&path))
        .form(&fields)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 422);
    let html = response.text().await.unwrap();
    assert!(html.contains("Ce champ ne doit pas dépasser 255 caractères."));
    assert!(html.contains("Ce champ ne doit pas dépasser 500 caractères."));
    let stored: Option<String> =
        sqlx::query_scalar("SELECT esabora_url FROM partners WHERE id = ?")
            .bind(partner)
            .fetch_one(&app.db)
            .await
            .unwrap();
    assert_ne!(
        stored.as_deref(),
        Some(long_url.as_str()),
        "nothing written"
    );
}

#[tokio::test]
async fn malformed_ids_queries_and_methods_get_french_pages_not_english_text() {
    let app = TestApp::spawn().await;
    app.seed_demo().await;
    app.login_as(SUPER_ADMIN).await;
    for (path, status, title) in [
        // A number expected in the path: the page does not exist.
        ("/bo/utilisateurs/abc", 404, "Page non trouvée"),
        (
            "/bo/territoires/99999999999999999999",
            404,
            "Page non trouvée",
        ),
        // Case and document ids that are not uuids never reach the database.
        ("/bo/signalements/%F0%9F%98%80", 404, "Page non trouvée"),
        (
            "/bo/signalements/..%2F..%2Fetc%2Fpasswd/modifier",
            404,
            "Page non trouvée",
        ),
        ("/bo/documents/%F0%9F%98%80", 404, "Page non trouvée"),
        // A query parameter of the wrong type.
        ("/bo/utilisateurs?page=abc", 400, "Requête invalide"),
        // An action URL opened as a page.
        ("/bo/etiquettes/1/supprimer", 405, "Action non disponible"),
    ] {
        let response = app.get(path).await;
        assert_eq!(response.status(), status, "{path}");
        assert!(
            response.headers()["content-type"]
                .to_str()
                .unwrap()
                .starts_with("text/html"),
            "{path} answers the site's page"
        );
        let html = response.text().await.unwrap();
        assert!(html.contains(title), "{path}: {title}");
        assert!(
            !html.contains("Cannot parse") && !html.contains("Failed to deserialize"),
            "{path}: no English rejection text"
        );
    }
    // A body of another type than the form's (the CSRF token in its header).
    let token = app.csrf().await;
    let response = app
        .client
        .post(app.url("/bo/etiquettes"))
        .header("content-type", "application/json")
        .header("x-csrf-token", token)
        .body(r#"{"label": "x"}"#)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 415);
    assert!(
        response
            .text()
            .await
            .unwrap()
            .contains("Envoi non pris en charge")
    );

    // A markup id is not reflected raw.
    let html = app
        .get("/bo/utilisateurs/%3Cscript%3Ealert(1)%3C%2Fscript%3E")
        .await
        .text()
        .await
        .unwrap();
    assert!(!html.contains("<script>alert(1)"));
}
