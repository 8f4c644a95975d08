//! The "Interconnexions" page: scope per role, filters, retry.

use histologe::{
    db,
    queue::{Email, Job},
};

use super::support::{
    PartnerSettings, assignment, brevo_config, context, enqueue, options, partner, report,
    run_until, worker,
};
use crate::{
    common::{TestApp, csrf_in},
    fakes::{self, Reply},
};

const SUPER_ADMIN: &str = "admin@histologe.localhost";
const RT69: &str = "rt69@histologe.localhost";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn admins_see_the_calls_of_their_scope_and_retry_a_dead_job() {
    let app = TestApp::spawn().await;
    app.seed_demo().await;
    let esabora = fakes::esabora(("Importé", "en cours")).await;
    esabora.script([Reply::json(
        400,
        serde_json::json!({"code": "WS_ERR_MOD_VERIFKEY", "message": "Clé invalide"}),
    )]);
    let worker = worker(&app, |_| {}, options());
    let base = format!("{}/ws/rest", esabora.url);
    // A partner of territory 13: the 69 territory admin must not see it.
    let partner_id = partner(
        &app,
        PartnerSettings {
            esabora: Some(("schs", &base)),
            ..Default::default()
        },
    )
    .await;
    let report_id = report(&app, "3 rue de la Paix").await;
    let assignment_id = assignment(&app, report_id, partner_id).await;
    let id = enqueue(
        &app,
        &Job::EsaboraPush { assignment_id },
        context(report_id, Some(partner_id)),
    )
    .await;
    assert_eq!(run_until(&worker, &app, id, &["dead"]).await.status, "dead");

    app.login_as(RT69).await;
    let (status, html) = app.get_html("/bo/interconnexions").await;
    assert_eq!(status, 200);
    assert!(
        html.contains("0 appel"),
        "RT69 sees nothing of territory 13"
    );
    let token = csrf_in(&app.get_html("/bo").await.1);
    let response = app
        .client
        .post(app.url(&format!("/bo/interconnexions/{id}/relancer")))
        .form(&[("_csrf", token.as_str())])
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 403);
    app.logout().await;

    app.login_as(SUPER_ADMIN).await;
    let (status, html) = app
        .get_html("/bo/interconnexions?service=esabora_schs&statut=dead")
        .await;
    assert_eq!(status, 200);
    assert!(html.contains("1 appel"), "{html}");
    assert!(html.contains("WS_ERR_MOD_VERIFKEY"));
    assert!(html.contains("Relancer"));
    assert!(!html.contains(fakes::ESABORA_TOKEN));
    let (_, none) = app.get_html("/bo/interconnexions?service=brevo").await;
    assert!(none.contains("0 appel"));
    let token = csrf_in(&html);
    let response = app
        .client
        .post(app.url(&format!("/bo/interconnexions/{id}/relancer")))
        .form(&[("_csrf", token.as_str())])
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 303);
    assert_eq!(
        response.headers()["location"],
        "/bo/interconnexions?relance=ok"
    );
    let state = run_until(&worker, &app, id, &["done", "dead"]).await;
    assert_eq!(
        state.status, "done",
        "Esabora accepts the push on the retry"
    );
    let (_, html) = app.get_html("/bo/interconnexions?statut=ok").await;
    assert!(html.contains("1 appel"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_territory_admin_sees_the_calls_about_partners_of_their_territory() {
    let app = TestApp::spawn().await;
    app.seed_demo().await;
    let brevo = fakes::brevo().await;
    brevo.script([Reply::json(
        400,
        serde_json::json!({"code": "invalid_parameter", "message": "email is not valid in to"}),
    )]);
    let worker = worker(&app, |c| c.mail = brevo_config(&brevo.url), options());
    let partner_id = partner(
        &app,
        PartnerSettings {
            territory: Some("69A"),
            ..Default::default()
        },
    )
    .await;
    let report_id = report(&app, "1 place Bellecour").await;
    let id = enqueue(
        &app,
        &Job::SendEmail(Email::PasswordReset {
            to: "agent@lyon.fr".into(),
            link: "https://x/y".into(),
        }),
        context(report_id, Some(partner_id)),
    )
    .await;
    assert_eq!(run_until(&worker, &app, id, &["dead"]).await.status, "dead");
    assert_eq!(db::interconnections::all(&app.db).await.unwrap().len(), 1);

    app.login_as(RT69).await;
    let (_, html) = app.get_html("/bo/interconnexions").await;
    assert!(html.contains("1 appel"), "{html}");
    assert!(html.contains("Brevo HTTP 400 invalid_parameter"));
    assert!(
        !html.contains("email is not valid in to"),
        "the answer's own words are not shown"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_dead_job_that_made_no_call_is_listed_with_its_error_for_the_super_admin() {
    let app = TestApp::spawn().await;
    app.seed_demo().await;
    let id = enqueue(
        &app,
        &Job::SendEmail(Email::PasswordReset {
            to: "agent@ville.fr".into(),
            link: "https://x/y".into(),
        }),
        Default::default(),
    )
    .await;
    sqlx::query("UPDATE outbox SET status = 'dead', attempts = 8, last_error = 'envoi incertain : test' WHERE id = ?")
        .bind(id)
        .execute(&app.db)
        .await
        .unwrap();
    app.login_as(SUPER_ADMIN).await;
    let (_, html) = app.get_html("/bo/interconnexions").await;
    assert!(html.contains("envoi incertain : test"), "{html}");
    assert!(html.contains(&format!("/bo/interconnexions/{id}/relancer")));
    app.logout().await;
    app.login_as(RT69).await;
    let (_, html) = app.get_html("/bo/interconnexions").await;
    assert!(
        !html.contains("envoi incertain"),
        "no partner: super admins only"
    );
}
