//! The resident's follow-up space and the "lost my link" page, end to end.

use reqwest::StatusCode;

use crate::common::TestApp;
use crate::report_form::{
    ADMIN_13, Visitor, errors_of, file_tenant_report, open_territory, png, scalar,
};

async fn check(
    v: &Visitor,
    path: &str,
    first: &str,
    last: &str,
    postal: &str,
) -> crate::report_form::Page {
    v.post(
        path,
        &[
            ("initiale_prenom", first),
            ("initiale_nom", last),
            ("code_postal", postal),
        ],
    )
    .await
}

#[tokio::test]
async fn the_resident_checks_in_reads_the_timeline_writes_with_a_file_and_downloads_it() {
    let app = TestApp::spawn().await;
    open_territory(&app).await;
    let (_, path) = file_tenant_report(&app, "suivi@exemple.fr").await;

    // A new browser is asked for the light check first.
    let v = Visitor::new(&app).await;
    let page = v.get(&path).await;
    assert_eq!(page.status, 200);
    assert!(page.html.contains("Première lettre du prénom"));
    assert!(!page.html.contains("Écrire aux services"));

    let page = check(&v, &path, "c", "d", "13100").await;
    assert_eq!(page.status, StatusCode::SEE_OTHER, "{}", page.html);
    let page = v.get(&path).await;
    assert!(page.html.contains("Reçu, en attente de validation"));
    assert!(
        page.html
            .contains("Signalement déposé depuis le formulaire")
    );
    assert!(
        page.html.contains("fissure.png"),
        "the form's photo is listed"
    );

    // A message with an attachment (and some HTML, shown escaped).
    let page = v
        .post_files(
            &format!("{path}/messages"),
            &[(
                "message",
                "Bonjour <b>les services</b>\nle plafond s’effrite",
            )],
            &[("documents", "plafond.png", png())],
        )
        .await;
    assert_eq!(
        page.status,
        StatusCode::SEE_OTHER,
        "{}",
        errors_of(&page.html)
    );
    let page = v.get(&format!("{path}?ok=message")).await;
    assert!(page.html.contains("message a été envoyé"));
    assert!(
        page.html
            .contains("Bonjour &#60;b&#62;les services&#60;/b&#62;")
    );
    assert!(!page.html.contains("<b>les services"));
    assert!(page.html.contains("plafond.png"));
    assert_eq!(
        scalar(&app, "SELECT COUNT(*) FROM follow_ups WHERE author_kind = 'resident' AND category = 'message_usager'").await,
        1
    );
    assert!(
        app.pending_jobs()
            .await
            .iter()
            .any(|j| j["template"] == "resident_message" && j["to"] == ADMIN_13),
        "the territory admin is notified"
    );

    // The file is downloaded through the app, after the check and the
    // antivirus scan only.
    app.run_antivirus_scans().await;
    let start = page.html.find(&format!("{path}/documents/")).unwrap();
    let url = &page.html[start..start + path.len() + "/documents/".len() + 36];
    let response = v
        .client
        .get(format!("{}{url}", v.base))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    assert_eq!(response.headers()["content-type"], "image/png");
    let stranger = Visitor::new(&app).await;
    let response = stranger
        .client
        .get(format!("{}{url}", stranger.base))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 403);

    // Empty messages and refused files get a message and keep the text.
    let page = v
        .post_files(&format!("{path}/messages"), &[("message", "  ")], &[])
        .await;
    assert_eq!(page.status, 422);
    assert!(page.html.contains("Écrivez votre message"));
    let page = v
        .post_files(
            &format!("{path}/messages"),
            &[("message", "Voici le programme")],
            &[("documents", "programme.pdf", b"MZ\x90\x00exe".to_vec())],
        )
        .await;
    assert_eq!(page.status, 422);
    assert!(page.html.contains("n’est pas accepté"));
    assert!(page.html.contains("Voici le programme"));

    // Closing request.
    let page = v
        .post(
            &format!("{path}/procedure"),
            &[("demande", "fermer"), ("precision", "Travaux faits")],
        )
        .await;
    assert_eq!(page.status, StatusCode::SEE_OTHER);
    assert_eq!(
        scalar(&app, "SELECT COUNT(*) FROM follow_ups WHERE category = 'demande_abandon_procedure' AND is_public = TRUE").await,
        1
    );
    let page = v
        .post(&format!("{path}/procedure"), &[("demande", "poursuivre")])
        .await;
    assert_eq!(page.status, StatusCode::SEE_OTHER);
}

#[tokio::test]
async fn five_wrong_checks_lock_the_link_for_a_while() {
    let app = TestApp::spawn().await;
    open_territory(&app).await;
    let (_, path) = file_tenant_report(&app, "verrou@exemple.fr").await;
    let v = Visitor::new(&app).await;
    let page = check(&v, &path, "X", "D", "13100").await;
    assert_eq!(page.status, 422);
    assert!(page.html.contains("Il vous reste 4 essais"));
    for _ in 0..3 {
        assert_eq!(check(&v, &path, "C", "D", "13001").await.status, 422);
    }
    let page = check(&v, &path, "C", "X", "13100").await;
    assert_eq!(page.status, 429);
    // Even the right answer waits now.
    let page = check(&v, &path, "C", "D", "13100").await;
    assert_eq!(page.status, 429);
    assert!(page.html.contains("réessayez dans"));
    // Writing without the check is refused.
    let page = v
        .post(&format!("{path}/procedure"), &[("demande", "fermer")])
        .await;
    assert_eq!(page.status, 403);
}

#[tokio::test]
async fn unknown_or_malformed_codes_are_not_found() {
    let app = TestApp::spawn().await;
    let v = Visitor::new(&app).await;
    assert_eq!(v.get("/suivre-mon-signalement/abc").await.status, 404);
    let code = "A".repeat(43);
    assert_eq!(
        v.get(&format!("/suivre-mon-signalement/{code}"))
            .await
            .status,
        404
    );
    assert_eq!(v.get("/suivre-mon-signalement").await.status, 200);
}

#[tokio::test]
async fn a_lost_link_is_emailed_only_when_a_report_matches_with_the_same_answer_either_way() {
    let app = TestApp::spawn().await;
    open_territory(&app).await;
    let (_, path) = file_tenant_report(&app, "perdu@exemple.fr").await;
    let v = Visitor::new(&app).await;

    let page = v.get("/demande-lien-signalement").await;
    assert_eq!(page.status, 200);
    let page = v
        .post(
            "/demande-lien-signalement",
            &[("email", "pas-un-email"), ("code_postal", "131")],
        )
        .await;
    assert_eq!(page.status, 422);
    assert!(
        page.html.contains("id=\"email-error\"") && page.html.contains("id=\"code_postal-error\"")
    );

    let miss = v
        .post(
            "/demande-lien-signalement",
            &[("email", "inconnu@exemple.fr"), ("code_postal", "13100")],
        )
        .await;
    let hit = v
        .post(
            "/demande-lien-signalement",
            &[("email", "Perdu@Exemple.fr"), ("code_postal", "13100")],
        )
        .await;
    assert_eq!(miss.status, 200);
    assert_eq!(hit.status, 200);
    assert!(miss.html.contains("Si un signalement correspond"));
    assert!(hit.html.contains("Si un signalement correspond"));
    let jobs = app.pending_jobs().await;
    let sent: Vec<_> = jobs
        .iter()
        .filter(|j| j["template"] == "follow_up_links")
        .collect();
    assert_eq!(sent.len(), 1);
    assert_eq!(sent[0]["to"], "perdu@exemple.fr");
    assert!(sent[0]["links"][0][1].as_str().unwrap().ends_with(&path));

    // Rate limit: the 11th request from one address within 20 minutes.
    for _ in 0..8 {
        v.post(
            "/demande-lien-signalement",
            &[("email", "x@exemple.fr"), ("code_postal", "13100")],
        )
        .await;
    }
    let page = v
        .post(
            "/demande-lien-signalement",
            &[("email", "x@exemple.fr"), ("code_postal", "13100")],
        )
        .await;
    assert_eq!(page.status, 429);
}
