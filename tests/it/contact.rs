//! The public contact form (docs/terms.md §4): French errors next to the
//! fields, the message e-mailed to the territory's contact address or the
//! national team's, the honeypot, the limit per address.

use crate::common::{TestApp, new_client};

/// The contact e-mails queued.
async fn queued(app: &TestApp) -> Vec<serde_json::Value> {
    app.pending_jobs()
        .await
        .into_iter()
        .filter(|email| email["template"] == "contact_message")
        .collect()
}

fn message<'a>(territory: &'a str, honeypot: &'a str) -> Vec<(&'a str, &'a str)> {
    vec![
        ("nom", "Camille Durand"),
        ("email", "camille@exemple.fr"),
        ("territoire", territory),
        ("sujet", "deposer"),
        (
            "message",
            "Je n’arrive pas à trouver mon adresse dans le formulaire.",
        ),
        ("site_web", honeypot),
    ]
}

#[tokio::test]
async fn a_message_reaches_the_territory_or_else_the_national_team() {
    let app = TestApp::spawn().await;
    let (status, html) = app.get_html("/contact").await;
    assert_eq!(status, 200);
    assert!(html.contains("name=\"site_web\""));
    sqlx::query(
        "UPDATE territories SET contact_email = 'contact-69@exemple.fr' WHERE code = '69A'",
    )
    .execute(&app.db)
    .await
    .unwrap();
    let lyon: u32 = sqlx::query_scalar("SELECT id FROM territories WHERE code = '69A'")
        .fetch_one(&app.db)
        .await
        .unwrap();
    let gard: u32 = sqlx::query_scalar("SELECT id FROM territories WHERE code = '30'")
        .fetch_one(&app.db)
        .await
        .unwrap();

    for (territory, to) in [
        (lyon.to_string(), "contact-69@exemple.fr"),
        (gard.to_string(), "equipe-nationale@histologe.localhost"),
        (String::new(), "equipe-nationale@histologe.localhost"),
    ] {
        let response = app.post_form("/contact", &message(&territory, "")).await;
        assert_eq!(response.status(), 200);
        let html = response.text().await.unwrap();
        assert!(html.contains("id=\"message-envoye\""));
        let jobs = queued(&app).await;
        let email = jobs.last().expect("an e-mail queued");
        assert_eq!(email["to"], to);
        assert_eq!(email["from"], "camille@exemple.fr");
        assert_eq!(email["name"], "Camille Durand");
    }
    assert_eq!(queued(&app).await.len(), 3);
}

#[tokio::test]
async fn errors_are_shown_next_to_their_fields_and_nothing_is_sent() {
    let app = TestApp::spawn().await;
    let response = app
        .post_form(
            "/contact",
            &[
                ("nom", " "),
                ("email", "pas-une-adresse"),
                ("territoire", "999999"),
                ("sujet", "inconnu"),
                ("message", "court"),
            ],
        )
        .await;
    assert_eq!(response.status(), 422);
    let html = response.text().await.unwrap();
    for (field, text) in [
        ("nom", "Indiquez votre nom."),
        ("territoire", "Choisissez un territoire de la liste."),
        ("sujet", "Choisissez l’objet de votre message."),
        ("message", "Écrivez votre message (10 caractères au moins)."),
    ] {
        assert!(
            html.contains(&format!(
                "<p class=\"fr-error-text\" id=\"{field}-error\">{text}</p>"
            )) || html.contains(&format!(
                "<p id=\"{field}-error\" class=\"fr-error-text\">{text}</p>"
            )),
            "{field}: {html}"
        );
    }
    assert!(html.contains("id=\"email-error\""));
    // What was typed stays in the form.
    assert!(html.contains("value=\"pas-une-adresse\""));
    assert!(queued(&app).await.is_empty());
}

#[tokio::test]
async fn a_robot_filling_the_honeypot_is_thanked_and_nothing_is_sent() {
    let app = TestApp::spawn().await;
    let response = app
        .post_form("/contact", &message("", "https://spam.example"))
        .await;
    assert_eq!(response.status(), 200);
    assert!(
        response
            .text()
            .await
            .unwrap()
            .contains("id=\"message-envoye\"")
    );
    assert!(queued(&app).await.is_empty());
}

#[tokio::test]
async fn messages_are_limited_per_address() {
    let app = TestApp::spawn().await;
    for n in 0..histologe::web::public::contact::CONTACT_LIMIT {
        let response = app.post_form("/contact", &message("", "")).await;
        assert_eq!(response.status(), 200, "message {n}");
    }
    let response = app.post_form("/contact", &message("", "")).await;
    assert_eq!(response.status(), 429);
    // Another address is not limited.
    let other = TestApp {
        client: new_client(),
        ..app.clone_handle()
    };
    assert_eq!(
        other.post_form("/contact", &message("", "")).await.status(),
        200
    );
}

#[tokio::test]
async fn the_super_admin_sets_a_territorys_contact_address() {
    let app = TestApp::spawn().await;
    app.seed_demo().await;
    app.login_as("admin@histologe.localhost").await;
    let id: u32 = sqlx::query_scalar("SELECT id FROM territories WHERE code = '30'")
        .fetch_one(&app.db)
        .await
        .unwrap();
    let path = format!("/bo/territoires/{id}");
    let form = |email: &'static str| {
        vec![
            ("timezone", "Europe/Paris"),
            ("insee_codes", ""),
            ("contact_email", email),
        ]
    };
    let response = app.post_form(&path, &form("pas-une-adresse")).await;
    assert_eq!(response.status(), 422);
    assert!(
        response
            .text()
            .await
            .unwrap()
            .contains("id=\"contact_email-error\"")
    );
    assert_eq!(
        app.post_form(&path, &form("Contact-30@Exemple.fr"))
            .await
            .status(),
        303
    );
    let stored: Option<String> =
        sqlx::query_scalar("SELECT contact_email FROM territories WHERE id = ?")
            .bind(id)
            .fetch_one(&app.db)
            .await
            .unwrap();
    assert_eq!(stored.as_deref(), Some("contact-30@exemple.fr"));
    let (_, html) = app.get_html(&path).await;
    assert!(html.contains("value=\"contact-30@exemple.fr\""));
}
