//! Partner systems: the Zapier catch hook (OILHI) and signed webhooks.

use histologe::{db, integrations::webhook, queue::Job};
use serde_json::json;

use super::support::{
    PartnerSettings, assignment, context, drain, enqueue, options, partner, report, run_until,
    worker,
};
use crate::{
    common::TestApp,
    fakes::{self, Reply},
};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_assignment_reaches_zapier_and_a_signed_webhook() {
    let app = TestApp::spawn().await;
    let zapier = fakes::zapier().await;
    let receiver = fakes::webhook_receiver("partner-secret").await;
    let worker = worker(&app, |_| {}, options());
    let hook = format!("{}/hooks/catch/123/abcdef", zapier.url);
    let endpoint = format!("{}/histologe", receiver.url);
    let partner_id = partner(
        &app,
        PartnerSettings {
            zapier: Some(&hook),
            webhook: Some((&endpoint, "partner-secret")),
            ..Default::default()
        },
    )
    .await;
    let report_id = report(&app, "49 Rue du Général Chanzy").await;
    let assignment_id = assignment(&app, report_id, partner_id).await;
    enqueue(
        &app,
        &Job::AssignmentCreated { assignment_id },
        context(report_id, Some(partner_id)),
    )
    .await;

    drain(&worker, &app).await;

    let pushed = zapier.requests();
    assert_eq!(pushed.len(), 1);
    let body = pushed[0].json();
    assert_eq!(body["action"], "push_dossier");
    assert_eq!(body["token"], "zap-token");
    assert_eq!(body["partnerType"], "COMMUNE_SCHS");
    assert_eq!(body["adresseSignalement"], "49 Rue du Général Chanzy");
    assert_eq!(body["nomOccupant"], "Mapaire");
    assert!(
        body["signalementUrl"]
            .as_str()
            .unwrap()
            .contains("/bo/signalements/")
    );
    let synced: bool = sqlx::query_scalar("SELECT is_synchronized FROM assignments WHERE id = ?")
        .bind(assignment_id)
        .fetch_one(&app.db)
        .await
        .unwrap();
    assert!(synced);

    let delivered = receiver.requests();
    assert_eq!(delivered.len(), 1);
    assert_eq!(
        delivered[0].status, 200,
        "the receiver verified the signature"
    );
    let event = delivered[0].json();
    assert_eq!(event["event"], "assignment.created");
    assert_eq!(event["assignment"]["id"], json!(assignment_id));
    assert!(
        delivered[0]
            .header(webhook::DELIVERY_HEADER)
            .unwrap()
            .starts_with("outbox:")
    );

    // Neither secret reaches the log.
    for call in db::interconnections::all(&app.db).await.unwrap() {
        let logged = format!("{:?} {:?}", call.endpoint, call.request_excerpt);
        assert!(
            !logged.contains("zap-token") && !logged.contains("abcdef"),
            "{logged}"
        );
        assert!(!logged.contains("partner-secret"));
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_webhook_with_a_wrong_secret_is_refused_and_zapier_must_say_success() {
    let app = TestApp::spawn().await;
    let zapier = fakes::zapier().await;
    zapier.script([Reply::json(200, json!({"status": "error"}))]);
    let receiver = fakes::webhook_receiver("the-right-secret").await;
    let worker = worker(&app, |_| {}, options());
    let hook = format!("{}/hooks/catch/1/x", zapier.url);
    let endpoint = format!("{}/in", receiver.url);
    let partner_id = partner(
        &app,
        PartnerSettings {
            zapier: Some(&hook),
            webhook: Some((&endpoint, "a-wrong-secret")),
            ..Default::default()
        },
    )
    .await;
    let report_id = report(&app, "1 place Bellecour").await;
    let assignment_id = assignment(&app, report_id, partner_id).await;
    let zap = enqueue(
        &app,
        &Job::ZapierPush { assignment_id },
        context(report_id, Some(partner_id)),
    )
    .await;
    let hook_job = enqueue(
        &app,
        &Job::Webhook {
            assignment_id,
            event: "assignment.created".into(),
        },
        context(report_id, Some(partner_id)),
    )
    .await;

    let state = run_until(&worker, &app, zap, &["done", "dead"]).await;
    assert_eq!(state.status, "done");
    assert_eq!(state.attempts, 2, "a non-success status is retried");
    let state = run_until(&worker, &app, hook_job, &["dead"]).await;
    assert!(state.last_error.unwrap().contains("401"));
    assert!(receiver.requests().iter().all(|r| r.status == 401));
}
