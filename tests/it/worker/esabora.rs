//! Esabora SCHS and SI-SH: push on assignment, duplicates, error bodies,
//! status sync.

use histologe::{db, queue::Job};
use serde_json::json;

use super::support::{
    PartnerSettings, assignment, context, drain, enqueue, options, partner, report, run_until,
    worker,
};
use crate::{
    common::TestApp,
    fakes::{self, Reply, esabora_field, treatments},
};

async fn synchronized(app: &TestApp, assignment_id: u64) -> (bool, Option<String>) {
    sqlx::query_as("SELECT is_synchronized, external_reference FROM assignments WHERE id = ?")
        .bind(assignment_id)
        .fetch_one(&app.db)
        .await
        .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_assignment_to_an_schs_partner_is_pushed_once() {
    let app = TestApp::spawn().await;
    let esabora = fakes::esabora(("Importé", "en cours")).await;
    let worker = worker(&app, |_| {}, options());
    let base = format!("{}/ws/rest", esabora.url);
    let partner_id = partner(
        &app,
        PartnerSettings {
            esabora: Some(("schs", &base)),
            ..Default::default()
        },
    )
    .await;
    let report_id = report(&app, "12 bis rue des Lilas").await;
    let assignment_id = assignment(&app, report_id, partner_id).await;
    enqueue(
        &app,
        &Job::AssignmentCreated { assignment_id },
        context(report_id, Some(partner_id)),
    )
    .await;

    drain(&worker, &app).await;

    let requests = esabora.requests();
    assert_eq!(treatments(&requests), ["Import HISTOLOGE"]);
    let push = &requests[0];
    assert_eq!(push.path, "/ws/rest/modbdd/");
    assert_eq!(push.param("task").as_deref(), Some("doTreatment"));
    assert_eq!(
        push.header("authorization").unwrap(),
        format!("Bearer {}", fakes::ESABORA_TOKEN)
    );
    let uuid: String = sqlx::query_scalar("SELECT uuid FROM reports WHERE id = ?")
        .bind(report_id)
        .fetch_one(&app.db)
        .await
        .unwrap();
    assert_eq!(esabora_field(push, "Référence_Histologe"), json!(uuid));
    assert_eq!(esabora_field(push, "Adresse_Numéro"), json!("12"));
    assert_eq!(
        esabora_field(push, "Adresse_Nom_Rue"),
        json!("rue des Lilas")
    );
    assert_eq!(esabora_field(push, "Adresse_Etage"), json!("3"));
    assert_eq!(esabora_field(push, "Usager_Téléphone"), json!("0240556677"));
    assert_eq!(esabora_field(push, "Adresse_Latitude"), json!(0.0));
    assert!(
        esabora_field(push, "Dossier_Ouverture")
            .as_str()
            .unwrap()
            .contains('/')
    );
    assert_eq!(
        synchronized(&app, assignment_id).await,
        (true, Some("14".into()))
    );

    // A second assignment event does not push again.
    enqueue(
        &app,
        &Job::EsaboraPush { assignment_id },
        context(report_id, Some(partner_id)),
    )
    .await;
    drain(&worker, &app).await;
    assert_eq!(esabora.count(), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_sish_push_chains_address_dossier_and_people_and_a_duplicate_counts_as_done() {
    let app = TestApp::spawn().await;
    let esabora = fakes::esabora(("Importé", "en cours")).await;
    let worker = worker(&app, |_| {}, options());
    let base = format!("{}/ARS/ws/rest", esabora.url);
    let partner_id = partner(
        &app,
        PartnerSettings {
            esabora: Some(("sish", &base)),
            ..Default::default()
        },
    )
    .await;
    let report_id = report(&app, "45 Boulevard Auguste Blanqui").await;
    let first = assignment(&app, report_id, partner_id).await;
    enqueue(
        &app,
        &Job::EsaboraPush {
            assignment_id: first,
        },
        context(report_id, Some(partner_id)),
    )
    .await;
    drain(&worker, &app).await;

    let requests = esabora.requests();
    assert_eq!(
        treatments(&requests),
        ["SISH_ADRESSE", "SISH_DOSSIER", "SISH_DOSSIER_PERSONNE"]
    );
    assert_eq!(esabora_field(&requests[1], "Sas_Adresse"), json!(3));
    assert_eq!(
        esabora_field(&requests[1], "Sas_LogicielProvenance"),
        json!("H")
    );
    assert_eq!(esabora_field(&requests[2], "Sas_Dossier_ID"), json!(14));
    assert_eq!(esabora_field(&requests[2], "Personne_Type"), json!("O"));
    assert_eq!(esabora_field(&requests[2], "Personne_Qualite"), json!("2"));
    assert_eq!(synchronized(&app, first).await, (true, Some("14".into())));

    // The same dossier pushed again (assignment re-created after a reset):
    // Esabora answers WS_ERR_SQL, which counts as done, as in Histologe.
    sqlx::query(
        "UPDATE assignments SET is_synchronized = FALSE, external_reference = NULL WHERE id = ?",
    )
    .bind(first)
    .execute(&app.db)
    .await
    .unwrap();
    let id = enqueue(
        &app,
        &Job::EsaboraPush {
            assignment_id: first,
        },
        context(report_id, Some(partner_id)),
    )
    .await;
    let state = run_until(&worker, &app, id, &["done", "dead"]).await;
    assert_eq!(state.status, "done");
    assert_eq!(esabora.requests().last().unwrap().status, 400);
    assert!(synchronized(&app, first).await.0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn esabora_error_bodies_are_permanent_and_5xx_is_retried() {
    let app = TestApp::spawn().await;
    let esabora = fakes::esabora(("Importé", "en cours")).await;
    esabora.script([
        Reply::json(500, json!({"message": "nginx"})),
        Reply::json(
            400,
            json!({"code": "WS_ERR_DOCUMENT_SIZE", "message": "Document trop volumineux"}),
        ),
    ]);
    let worker = worker(&app, |_| {}, options());
    let base = format!("{}/ws/rest", esabora.url);
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

    let state = run_until(&worker, &app, id, &["done", "dead"]).await;

    assert_eq!(state.status, "dead");
    assert_eq!(state.attempts, 2, "the 500 was retried, the 400 was not");
    assert!(state.last_error.unwrap().contains("WS_ERR_DOCUMENT_SIZE"));
    assert!(!synchronized(&app, assignment_id).await.0);
    let calls = db::interconnections::for_job(&app.db, id).await.unwrap();
    assert_eq!(calls.len(), 2);
    assert_eq!(calls[0].service, "esabora_schs");
    assert_eq!(calls[0].action, "push_dossier");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_scheduled_sync_maps_esabora_states_to_assignment_statuses() {
    let app = TestApp::spawn().await;
    let esabora = fakes::esabora(("Importé", "en cours")).await;
    let worker = worker(&app, |_| {}, options());
    let base = format!("{}/ws/rest", esabora.url);
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
    sqlx::query("UPDATE assignments SET is_synchronized = TRUE WHERE id = ?")
        .bind(assignment_id)
        .execute(&app.db)
        .await
        .unwrap();
    enqueue(
        &app,
        &Job::Scheduled {
            name: "esabora_sync_schs".into(),
            period: "2026-11-23".into(),
        },
        Default::default(),
    )
    .await;

    drain(&worker, &app).await;

    let (status, external): (String, Option<String>) =
        sqlx::query_as("SELECT status, external_status FROM assignments WHERE id = ?")
            .bind(assignment_id)
            .fetch_one(&app.db)
            .await
            .unwrap();
    assert_eq!(status, "en_cours");
    assert_eq!(external.as_deref(), Some("Importé / en cours"));
    let body: String = sqlx::query_scalar("SELECT body FROM follow_ups WHERE report_id = ?")
        .bind(report_id)
        .fetch_one(&app.db)
        .await
        .unwrap();
    assert!(
        body.contains("<b>accepté</b>") && body.contains("via Esabora"),
        "{body}"
    );
    let search = &esabora.requests()[0];
    assert_eq!(search.path, "/ws/rest/mult/");
    assert_eq!(search.json()["searchName"], "WS_ETAT_DOSSIER_SAS");
}

async fn synced_assignment(app: &TestApp, kind: &str, base: &str) -> (u64, u64, u64) {
    let partner_id = partner(
        app,
        PartnerSettings {
            esabora: Some((kind, base)),
            ..Default::default()
        },
    )
    .await;
    let report_id = report(app, "3 rue de la Paix").await;
    let assignment_id = assignment(app, report_id, partner_id).await;
    sqlx::query("UPDATE assignments SET is_synchronized = TRUE WHERE id = ?")
        .bind(assignment_id)
        .execute(&app.db)
        .await
        .unwrap();
    (partner_id, report_id, assignment_id)
}

async fn count(app: &TestApp, sql: &str, id: u64) -> i64 {
    sqlx::query_scalar(sql)
        .bind(id)
        .fetch_one(&app.db)
        .await
        .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn schs_events_become_follow_ups_once_however_many_syncs() {
    let app = TestApp::spawn().await;
    let esabora = fakes::esabora(("Importé", "en cours")).await;
    let worker = worker(&app, |_| {}, options());
    let base = format!("{}/ws/rest", esabora.url);
    let (partner_id, report_id, assignment_id) = synced_assignment(&app, "schs", &base).await;
    for _ in 0..2 {
        enqueue(
            &app,
            &Job::EsaboraSync { assignment_id },
            context(report_id, Some(partner_id)),
        )
        .await;
        drain(&worker, &app).await;
    }
    // One status follow-up, then the two dated events (the undated one is skipped).
    let bodies: Vec<String> =
        sqlx::query_scalar("SELECT body FROM follow_ups WHERE report_id = ? ORDER BY id")
            .bind(report_id)
            .fetch_all(&app.db)
            .await
            .unwrap();
    assert_eq!(bodies.len(), 3, "{bodies:?}");
    assert!(
        bodies[1..]
            .iter()
            .all(|b| b.contains("Message provenant d'esabora SCHS"))
    );
    assert!(
        bodies
            .iter()
            .any(|b| b.contains("document 1<br>Et document 2"))
    );
    assert!(bodies.iter().any(|b| b.contains("Appel téléphonique")));
    let searches: Vec<String> = esabora
        .requests()
        .iter()
        .map(|r| {
            r.json()["searchName"]
                .as_str()
                .unwrap_or_default()
                .to_owned()
        })
        .collect();
    assert_eq!(
        searches,
        [
            "WS_ETAT_DOSSIER_SAS",
            "WS_EVT_DOSSIER_SAS",
            "WS_ETAT_DOSSIER_SAS",
            "WS_EVT_DOSSIER_SAS"
        ]
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sish_visits_become_visits_once_and_a_rejection_refuses_the_assignment() {
    let app = TestApp::spawn().await;
    let esabora = fakes::esabora(("Rejeté", "")).await;
    let worker = worker(&app, |_| {}, options());
    let base = format!("{}/ARS/ws/rest", esabora.url);
    let (partner_id, report_id, assignment_id) = synced_assignment(&app, "sish", &base).await;
    for _ in 0..2 {
        enqueue(
            &app,
            &Job::EsaboraSync { assignment_id },
            context(report_id, Some(partner_id)),
        )
        .await;
        drain(&worker, &app).await;
    }
    assert_eq!(
        count(
            &app,
            "SELECT COUNT(*) FROM visits WHERE report_id = ?",
            report_id
        )
        .await,
        1,
        "the undated visit is skipped"
    );
    let (kind, status, operator): (String, String, Option<String>) =
        sqlx::query_as("SELECT kind, status, external_operator FROM visits WHERE report_id = ?")
            .bind(report_id)
            .fetch_one(&app.db)
            .await
            .unwrap();
    assert_eq!(
        (kind.as_str(), status.as_str(), operator),
        ("visite_controle", "done", None)
    );
    let status: String = sqlx::query_scalar("SELECT status FROM assignments WHERE id = ?")
        .bind(assignment_id)
        .fetch_one(&app.db)
        .await
        .unwrap();
    assert_eq!(status, "refuse");
    assert_eq!(
        count(
            &app,
            "SELECT COUNT(*) FROM follow_ups WHERE report_id = ?",
            report_id
        )
        .await,
        1,
        "one status change"
    );
}
