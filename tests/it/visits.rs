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

/// The visit mail kinds queued for the resident.
fn resident_events(jobs: &[serde_json::Value]) -> Vec<String> {
    jobs.iter()
        .filter(|j| {
            j["template"] == "visit_for_resident" && j["to"] == "occupant.visite@exemple.fr"
        })
        .filter_map(|j| j["event"].as_str().map(str::to_owned))
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
    let events = resident_events(&app.pending_jobs().await);
    for event in ["planifiee", "reportee", "effectuee"] {
        assert!(events.iter().any(|e| e == event), "{event} in {events:?}");
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

/// Marks the report as suspected of `qualification` (as the scoring does).
async fn qualify(app: &TestApp, report: u64, qualification: &str) {
    sqlx::query(
        "INSERT INTO report_qualifications (report_id, qualification, status) VALUES (?, ?, CONCAT(?, '_check'))",
    )
    .bind(report)
    .bind(qualification)
    .bind(qualification)
    .execute(&app.db)
    .await
    .unwrap();
}

async fn listed(app: &TestApp, query: &str, uuid: &str) -> bool {
    let (status, html) = app.get_html(&format!("/bo/signalements?{query}")).await;
    assert_eq!(status, 200, "{query}");
    html.contains(uuid)
}

#[tokio::test]
async fn a_suspected_danger_without_a_visit_is_flagged_until_one_is_planned() {
    let app = TestApp::spawn_with_accounts().await;
    let (report, uuid, _) = active_case(&app).await;
    let (calm, calm_uuid, _) = active_case(&app).await;
    qualify(&app, report, "danger").await;
    qualify(&app, calm, "rsd").await;
    app.login_as(RT69).await;
    let (_, page) = app.get_html(&format!("/bo/signalements/{uuid}")).await;
    assert!(page.contains("id=\"visite-necessaire\""));
    let (_, page) = app.get_html(&format!("/bo/signalements/{calm_uuid}")).await;
    assert!(
        !page.contains("id=\"visite-necessaire\""),
        "RSD alone needs no visit"
    );
    assert!(listed(&app, "visite=necessaire", &uuid).await);
    assert!(!listed(&app, "visite=necessaire", &calm_uuid).await);
    let (_, dashboard) = app.get_html("/bo").await;
    assert!(dashboard.contains("Visite nécessaire"));
    assert!(dashboard.contains("/bo/signalements?visite=necessaire"));

    let response = app
        .post_form(
            &format!("/bo/signalements/{uuid}/visites"),
            &[
                ("scheduled_at", "2031-03-02T09:30"),
                ("external_operator", "Cabinet Diagnostics Rhône"),
            ],
        )
        .await;
    assert_eq!(response.status(), 303);
    let (_, page) = app.get_html(&format!("/bo/signalements/{uuid}")).await;
    assert!(
        !page.contains("id=\"visite-necessaire\""),
        "a planned visit answers the need"
    );
    assert!(!listed(&app, "visite=necessaire", &uuid).await);

    // Concluded with a procedure: the list finds the case by it.
    let visit = only_visit(&app, report).await;
    let response = app
        .post_form(
            &format!("/bo/signalements/{uuid}/visites/{visit}"),
            &[
                ("status", "done"),
                ("procedure", "mise_en_securite_peril"),
                ("conclusions", "Plancher affaissé dans la cuisine."),
            ],
        )
        .await;
    assert_eq!(response.status(), 303);
    assert!(listed(&app, "procedure_constatee=mise_en_securite_peril", &uuid).await);
    assert!(!listed(&app, "procedure_constatee=insalubrite", &uuid).await);
    let (_, html) = app
        .get_html("/bo/signalements?procedure_constatee=peril")
        .await;
    assert!(
        html.contains("n’est pas reconnue pour la procédure constatée"),
        "an unknown procedure is refused, in French"
    );
}

#[tokio::test]
async fn the_resident_sees_the_visit_and_only_a_public_conclusion() {
    let app = TestApp::spawn_with_accounts().await;
    let schs = partner_id(&app, "Service communal%Lyon").await;
    let code = "v".repeat(43);
    let case = CaseBuilder::new("69A")
        .status("active")
        .occupant("Alex", "Testeur")
        .commune("69003", "Lyon")
        .follow_up_code(&code)
        .assigned_to(schs, "en_cours")
        .create(&app)
        .await;
    app.login_as(AGENT_SCHS69).await;
    let plan = |at: &'static str, text: &'static str, public: &'static str| {
        vec![
            ("kind", "visite"),
            ("scheduled_at", at),
            ("procedure", "insalubrite"),
            ("conclusions", text),
            ("conclusion_public", public),
        ]
    };
    // Two visits already done: one conclusion public, one not.
    for (at, text, public) in [
        ("2026-01-10T10:00", "Conclusion lisible par l’usager.", "1"),
        ("2026-02-10T10:00", "Note réservée aux partenaires.", ""),
    ] {
        let response = app
            .post_form(
                &format!("/bo/signalements/{}/visites", case.uuid),
                &plan(at, text, public),
            )
            .await;
        assert_eq!(response.status(), 303);
    }
    let v = crate::report_form::Visitor::new(&app).await;
    let path = format!("/suivre-mon-signalement/{code}");
    let checked = v
        .post(
            &path,
            &[
                ("initiale_prenom", "A"),
                ("initiale_nom", "T"),
                ("code_postal", "69003"),
            ],
        )
        .await;
    assert_eq!(checked.status, 303, "{}", checked.html);
    let page = v.get(&path).await;
    assert!(page.html.contains("Visites du logement"));
    assert!(page.html.contains("10/01/2026 10:00") && page.html.contains("Effectuée"));
    assert!(page.html.contains("Conclusion lisible par l’usager."));
    assert!(!page.html.contains("Note réservée aux partenaires."));
}

fn pdf(text: &str) -> Vec<u8> {
    format!("%PDF-1.4\n1 0 obj << /Title ({text}) >> endobj\n%%EOF\n").into_bytes()
}

fn png() -> Vec<u8> {
    crate::report_form::png()
}

/// Posts the visit's upload form (multipart, the CSRF token in the URL as
/// the page does).
async fn upload_to_visit(
    app: &TestApp,
    path: &str,
    fields: &[(&str, &str)],
    files: &[(&str, Vec<u8>)],
) -> reqwest::Response {
    let token = app.csrf().await;
    let mut form = reqwest::multipart::Form::new();
    for (k, v) in fields {
        form = form.text(k.to_string(), v.to_string());
    }
    for (name, bytes) in files {
        form = form.part(
            "fichiers",
            reqwest::multipart::Part::bytes(bytes.clone()).file_name(name.to_string()),
        );
    }
    app.client
        .post(app.url(&format!("{path}?_csrf={token}")))
        .multipart(form)
        .send()
        .await
        .unwrap()
}

#[tokio::test]
async fn a_visit_receives_its_report_and_three_photos_scanned_like_every_upload() {
    let app = TestApp::spawn_with_accounts().await;
    let schs = partner_id(&app, "Service communal%Lyon").await;
    let code = "w".repeat(43);
    let case = CaseBuilder::new("69A")
        .status("active")
        .occupant("Alex", "Testeur")
        .occupant_email("occupant.visite@exemple.fr")
        .commune("69003", "Lyon")
        .follow_up_code(&code)
        .assigned_to(schs, "en_cours")
        .create(&app)
        .await;
    let uuid = case.uuid.clone();
    app.login_as(AGENT_SCHS69).await;
    let response = app
        .post_form(
            &format!("/bo/signalements/{uuid}/visites"),
            &[("scheduled_at", "2031-03-02T09:30")],
        )
        .await;
    assert_eq!(response.status(), 303);
    let visit = only_visit(&app, case.id).await;
    let files = format!("/bo/signalements/{uuid}/visites/{visit}/fichiers");
    let response = upload_to_visit(
        &app,
        &files,
        &[("nature", "rapport")],
        &[("rapport.pdf", pdf("Rapport"))],
    )
    .await;
    assert_eq!(response.status(), 422, "a planned visit has no report yet");
    assert!(
        response
            .text()
            .await
            .unwrap()
            .contains("une fois la visite effectuée")
    );
    let response = app
        .post_form(
            &format!("/bo/signalements/{uuid}/visites/{visit}"),
            &[
                ("status", "done"),
                ("procedure", "insalubrite"),
                ("procedure", "rsd"),
                ("conclusions", "Moisissures et absence de ventilation."),
                ("conclusion_public", "1"),
            ],
        )
        .await;
    assert_eq!(response.status(), 303);
    let response = upload_to_visit(
        &app,
        &files,
        &[("nature", "rapport"), ("public", "1")],
        &[("rapport-visite.pdf", pdf("Rapport"))],
    )
    .await;
    assert_eq!(response.status(), 303);
    let response = upload_to_visit(
        &app,
        &files,
        &[("nature", "photos"), ("public", "1")],
        &[
            ("cuisine.png", png()),
            ("chambre.png", png()),
            ("salle-de-bain.png", png()),
        ],
    )
    .await;
    assert_eq!(response.status(), 303);
    let rows: Vec<(String, Option<String>, bool, Option<u64>)> = sqlx::query_as(
        "SELECT filename, document_type, is_public, visit_id FROM documents WHERE report_id = ? ORDER BY id",
    )
    .bind(case.id)
    .fetch_all(&app.db)
    .await
    .unwrap();
    assert_eq!(rows.len(), 4);
    assert!(rows.iter().all(|r| r.3 == Some(visit)), "{rows:?}");
    assert_eq!(rows[0].1.as_deref(), Some("rapport_visite"));
    assert!(rows[0].2, "the report is public");
    assert!(
        rows[1..]
            .iter()
            .all(|r| r.1.as_deref() == Some("photo_visite") && !r.2),
        "photos stay with the staff: {rows:?}"
    );
    let jobs = app.pending_jobs().await;
    assert_eq!(
        jobs.iter().filter(|j| j["kind"] == "scan_document").count(),
        4,
        "each file is scanned"
    );
    assert!(
        jobs.iter()
            .any(|j| j["template"] == "visit_for_resident" && j["event"] == "rapport"),
        "the resident hears the report is available"
    );
    let (_, page) = app.get_html(&format!("/bo/signalements/{uuid}")).await;
    assert!(page.contains("Rapport de visite : ") && page.contains("salle-de-bain.png"));

    // The resident sees the public part: the visit, its conclusion, the report.
    let v = crate::report_form::Visitor::new(&app).await;
    let path = format!("/suivre-mon-signalement/{code}");
    let checked = v
        .post(
            &path,
            &[
                ("initiale_prenom", "A"),
                ("initiale_nom", "T"),
                ("code_postal", "69003"),
            ],
        )
        .await;
    assert_eq!(checked.status, 303, "{}", checked.html);
    let page = v.get(&path).await;
    assert!(page.html.contains("Moisissures et absence de ventilation."));
    assert!(page.html.contains("rapport-visite.pdf"));
    assert!(!page.html.contains("cuisine.png"));
}
