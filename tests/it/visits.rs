//! The visit workflow through the back office's HTTP routes: plan for
//! one's partner, reschedule with a reason (history kept, audited),
//! conclude with two procedures, edit the conclusion (audited with its
//! diff), cancel; an admin plans for an external operator; refusals are
//! French 4xx. docs/visits.md.

use sqlx::Row;

use crate::common::{TestApp, cases::CaseBuilder};

const RT69: &str = "rt69@histologe.localhost";
const AGENT_SCHS69: &str = "agent.schs69@histologe.localhost";
const AGENT_ARS69: &str = "agent.ars69@histologe.localhost";

async fn partner_id(app: &TestApp, like: &str) -> u64 {
    sqlx::query_scalar("SELECT id FROM partners WHERE name LIKE ?")
        .bind(like)
        .fetch_one(&app.db)
        .await
        .unwrap()
}

/// An active case of territory 69 accepted by the SCHS and the ARS.
async fn active_case(app: &TestApp) -> (u64, String, u64) {
    let schs = partner_id(app, "Service communal%Lyon").await;
    let ars = partner_id(app, "ARS Auvergne%").await;
    let case = CaseBuilder::new("69A")
        .status("active")
        .occupant_email("occupant.visite@exemple.fr")
        .assigned_to(schs, "en_cours")
        .assigned_to(ars, "en_cours")
        .create(app)
        .await;
    (case.id, case.uuid, schs)
}

async fn only_visit(app: &TestApp, report: u64) -> u64 {
    sqlx::query_scalar("SELECT id FROM visits WHERE report_id = ?")
        .bind(report)
        .fetch_one(&app.db)
        .await
        .unwrap()
}

fn resident_titles(jobs: &[serde_json::Value]) -> Vec<String> {
    jobs.iter()
        .filter(|j| {
            j["template"] == "case_update_for_resident" || j["to"] == "occupant.visite@exemple.fr"
        })
        .filter_map(|j| j["title"].as_str().map(str::to_owned))
        .collect()
}

async fn audit_diff(app: &TestApp, report: u64, action: &str) -> serde_json::Value {
    let diff: sqlx::types::Json<serde_json::Value> = sqlx::query_scalar(
        "SELECT diff FROM audit_events WHERE report_id = ? AND action = ? ORDER BY id DESC LIMIT 1",
    )
    .bind(report)
    .bind(action)
    .fetch_one(&app.db)
    .await
    .unwrap();
    diff.0
}

#[tokio::test]
async fn an_agent_plans_reschedules_and_concludes_a_visit_with_two_procedures() {
    let app = TestApp::spawn_with_accounts().await;
    let (report, uuid, schs) = active_case(&app).await;
    app.login_as(AGENT_SCHS69).await;
    let response = app
        .post_form(
            &format!("/bo/signalements/{uuid}/visites"),
            &[
                ("kind", "visite"),
                ("scheduled_at", "2031-03-02T09:30"),
                ("comment", "Code porte 1234"),
            ],
        )
        .await;
    assert_eq!(response.status(), 303);
    let visit = only_visit(&app, report).await;
    let row = sqlx::query("SELECT partner_id, kind, status FROM visits WHERE id = ?")
        .bind(visit)
        .fetch_one(&app.db)
        .await
        .unwrap();
    assert_eq!(
        row.get::<Option<u64>, _>("partner_id"),
        Some(schs),
        "the agent's own partner"
    );
    assert_eq!(row.get::<String, _>("status"), "planned");

    // Reschedule: a reason is required, the history keeps the move.
    let path = format!("/bo/signalements/{uuid}/visites/{visit}/reporter");
    let response = app
        .post_form(&path, &[("scheduled_at", "2031-03-09T14:00")])
        .await;
    assert_eq!(response.status(), 422);
    assert!(
        response
            .text()
            .await
            .unwrap()
            .contains("Indiquez le motif du report")
    );
    let response = app
        .post_form(
            &path,
            &[
                ("scheduled_at", "2031-03-09T14:00"),
                ("reason", "Occupant en déplacement"),
            ],
        )
        .await;
    assert_eq!(response.status(), 303);
    let moved =
        sqlx::query("SELECT previous_at, new_at, reason FROM visit_reschedules WHERE visit_id = ?")
            .bind(visit)
            .fetch_all(&app.db)
            .await
            .unwrap();
    assert_eq!(moved.len(), 1);
    assert_eq!(
        moved[0].get::<String, _>("reason"),
        "Occupant en déplacement"
    );
    assert_eq!(
        audit_diff(&app, report, "reschedule_visit").await["scheduled_at"],
        serde_json::json!(["02/03/2031 09:30", "09/03/2031 14:00"])
    );

    // Another partner's agent may not touch it.
    app.logout().await;
    app.login_as(AGENT_ARS69).await;
    let response = app
        .post_form(
            &path,
            &[
                ("scheduled_at", "2031-03-10T14:00"),
                ("reason", "Autre date"),
            ],
        )
        .await;
    assert_eq!(response.status(), 403);
    app.logout().await;
    app.login_as(AGENT_SCHS69).await;

    // Conclude with two procedures, public conclusion.
    let response = app
        .post_form(
            &format!("/bo/signalements/{uuid}/visites/{visit}"),
            &[
                ("status", "done"),
                ("procedure", "insalubrite"),
                ("procedure", "suroccupation"),
                (
                    "conclusions",
                    "Humidité importante, six personnes dans un T2.",
                ),
                ("occupant_present", "oui"),
                ("owner_present", "non"),
                ("conclusion_public", "1"),
            ],
        )
        .await;
    assert_eq!(response.status(), 303);
    let row = sqlx::query(
        "SELECT status, JSON_LENGTH(procedures) AS n, owner_present, conclusion_public FROM visits WHERE id = ?",
    )
    .bind(visit)
    .fetch_one(&app.db)
    .await
    .unwrap();
    assert_eq!(row.get::<String, _>("status"), "done");
    assert_eq!(row.get::<i64, _>("n"), 2);
    assert!(!row.get::<bool, _>("owner_present"));
    assert!(row.get::<bool, _>("conclusion_public"));
    let (_, html) = app.get_html(&format!("/bo/signalements/{uuid}")).await;
    assert!(html.contains("Suroccupation") && html.contains("six personnes dans un T2"));
    assert!(
        html.contains("Reportée : 02/03/2031 09:30 → 09/03/2031 14:00 : Occupant en déplacement")
    );

    // A done visit is not rescheduled any more.
    let response = app
        .post_form(
            &path,
            &[
                ("scheduled_at", "2031-04-09T14:00"),
                ("reason", "Trop tard"),
            ],
        )
        .await;
    assert_eq!(response.status(), 422);
    assert!(
        response
            .text()
            .await
            .unwrap()
            .contains("Cette visite n’est plus planifiée.")
    );

    // Edit the conclusion: audited with its diff.
    let response = app
        .post_form(
            &format!("/bo/signalements/{uuid}/visites/{visit}/conclusion"),
            &[
                ("procedure", "insalubrite"),
                (
                    "conclusions",
                    "Humidité importante, six personnes dans un T2.",
                ),
                ("occupant_present", "oui"),
                ("owner_present", "non"),
                ("conclusion_public", "1"),
            ],
        )
        .await;
    assert_eq!(response.status(), 303);
    assert_eq!(
        audit_diff(&app, report, "edit_visit_conclusion").await,
        serde_json::json!({"procedures": ["insalubrite,suroccupation", "insalubrite"]})
    );

    // The resident heard of each step; the followers were notified.
    let titles = resident_titles(&app.pending_jobs().await);
    for title in [
        "Une visite de votre logement est prévue",
        "La visite de votre logement est reportée",
        "La visite de votre logement a eu lieu",
    ] {
        assert!(titles.iter().any(|t| t == title), "{title} in {titles:?}");
    }
    let notified: i64 = sqlx::query_scalar(
        "SELECT COUNT(*) FROM notifications WHERE report_id = ? AND kind = 'visite'",
    )
    .bind(report)
    .fetch_one(&app.db)
    .await
    .unwrap();
    assert!(notified > 0, "the other partner's agents are notified");
}

#[tokio::test]
async fn an_admin_plans_for_an_external_operator_then_cancels_with_a_reason() {
    let app = TestApp::spawn_with_accounts().await;
    let (report, uuid, _) = active_case(&app).await;
    app.login_as(RT69).await;
    let response = app
        .post_form(
            &format!("/bo/signalements/{uuid}/visites"),
            &[
                ("kind", "visite_controle"),
                ("scheduled_at", "2031-05-02T09:30"),
            ],
        )
        .await;
    assert_eq!(response.status(), 422, "an admin names the visitor");
    assert!(
        response
            .text()
            .await
            .unwrap()
            .contains("Choisissez le partenaire qui visite ou nommez l’opérateur externe.")
    );
    let response = app
        .post_form(
            &format!("/bo/signalements/{uuid}/visites"),
            &[
                ("kind", "visite_controle"),
                ("scheduled_at", "2031-05-02T09:30"),
                ("external_operator", "Cabinet Diagnostics Rhône"),
            ],
        )
        .await;
    assert_eq!(response.status(), 303);
    let visit = only_visit(&app, report).await;
    let row = sqlx::query("SELECT partner_id, external_operator, kind FROM visits WHERE id = ?")
        .bind(visit)
        .fetch_one(&app.db)
        .await
        .unwrap();
    assert_eq!(row.get::<Option<u64>, _>("partner_id"), None);
    assert_eq!(row.get::<String, _>("kind"), "visite_controle");
    let cancel = format!("/bo/signalements/{uuid}/visites/{visit}/annuler");
    assert_eq!(
        app.post_form(&cancel, &[("reason", "")]).await.status(),
        422
    );
    assert_eq!(
        app.post_form(&cancel, &[("reason", "Logement vendu")])
            .await
            .status(),
        303
    );
    let row = sqlx::query("SELECT status, cancel_reason FROM visits WHERE id = ?")
        .bind(visit)
        .fetch_one(&app.db)
        .await
        .unwrap();
    assert_eq!(row.get::<String, _>("status"), "cancelled");
    assert_eq!(
        row.get::<Option<String>, _>("cancel_reason").as_deref(),
        Some("Logement vendu")
    );
    assert_eq!(
        app.post_form(&cancel, &[("reason", "Encore")])
            .await
            .status(),
        422,
        "already cancelled"
    );
    // A visit of another case is not found through this one.
    let (_, other, _) = active_case(&app).await;
    assert_eq!(
        app.post_form(
            &format!("/bo/signalements/{other}/visites/{visit}/annuler"),
            &[("reason", "Logement vendu")]
        )
        .await
        .status(),
        404
    );
}
