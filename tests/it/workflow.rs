//! The case workflow in the back office: list and filters, case page,
//! validation, assignments, follow-ups, visits, closure, notifications,
//! concurrent edits.

use sqlx::Row;

use crate::common::{TestApp, cases::CaseBuilder};

const RT69: &str = "rt69@histologe.localhost";
const RT13: &str = "rt13@histologe.localhost";
const AGENT_SCHS69: &str = "agent.schs69@histologe.localhost";
const AGENT_ARS69: &str = "agent.ars69@histologe.localhost";

/// A case with known facts, made through `CaseBuilder`.
struct NewCase<'a> {
    territory: &'a str,
    reference: &'a str,
    status: &'a str,
    profile: &'a str,
    last_name: &'a str,
    email: &'a str,
    postal_code: &'a str,
    city: &'a str,
    address: &'a str,
    created: &'a str,
    severity: f64,
    public_housing: Option<bool>,
    allowance: Option<bool>,
    children: Option<bool>,
}

impl Default for NewCase<'_> {
    fn default() -> Self {
        Self {
            territory: "69A",
            reference: "2026-900",
            status: "need_validation",
            profile: "locataire",
            last_name: "Testeur",
            email: "occupant@exemple.fr",
            postal_code: "69003",
            city: "Lyon",
            address: "12 rue Garibaldi",
            created: "2026-06-15 10:00:00",
            severity: 20.0,
            public_housing: None,
            allowance: None,
            children: None,
        }
    }
}

async fn insert_case(app: &TestApp, c: NewCase<'_>) -> (u64, String) {
    let case = CaseBuilder::new(c.territory)
        .reference(c.reference)
        .status(c.status)
        .profile(c.profile)
        .occupant("Alex", c.last_name)
        .occupant_email(c.email)
        .commune(c.postal_code, c.city)
        .street(c.address)
        .created(c.created)
        .severity(Some(c.severity))
        .public_housing(c.public_housing)
        .housing_allowance(c.allowance)
        .children_under_6(c.children)
        .create(app)
        .await;
    (case.id, case.uuid)
}

async fn partner_id(app: &TestApp, like: &str) -> u64 {
    sqlx::query_scalar("SELECT id FROM partners WHERE name LIKE ?")
        .bind(like)
        .fetch_one(&app.db)
        .await
        .unwrap()
}

async fn assign(app: &TestApp, report: u64, partner: u64, status: &str) {
    crate::common::cases::assign(app, report, partner, status).await;
}

async fn status_of(app: &TestApp, report: u64) -> String {
    sqlx::query_scalar("SELECT status FROM reports WHERE id = ?")
        .bind(report)
        .fetch_one(&app.db)
        .await
        .unwrap()
}

async fn version_of(app: &TestApp, report: u64) -> String {
    let v: u32 = sqlx::query_scalar("SELECT version FROM reports WHERE id = ?")
        .bind(report)
        .fetch_one(&app.db)
        .await
        .unwrap();
    v.to_string()
}

#[tokio::test]
async fn a_territory_admin_validates_a_new_report_and_assigns_partners() {
    let app = TestApp::spawn_with_accounts().await;
    let (report, uuid) = insert_case(&app, NewCase::default()).await;
    let schs = partner_id(&app, "Service communal%Lyon").await;
    let ars = partner_id(&app, "ARS Auvergne%").await;
    app.login_as(RT69).await;
    let (status, html) = app.get_html(&format!("/bo/signalements/{uuid}")).await;
    assert_eq!(status, 200);
    assert!(html.contains("Valider le signalement"));
    let response = app
        .post_form(
            &format!("/bo/signalements/{uuid}/valider"),
            &[
                ("version", &version_of(&app, report).await),
                ("partner_id", &schs.to_string()),
                ("partner_id", &ars.to_string()),
            ],
        )
        .await;
    assert_eq!(response.status(), 303);
    assert_eq!(status_of(&app, report).await, "active");
    let statuses: Vec<String> =
        sqlx::query_scalar("SELECT status FROM assignments WHERE report_id = ?")
            .bind(report)
            .fetch_all(&app.db)
            .await
            .unwrap();
    assert_eq!(statuses, ["nouveau", "nouveau"]);
    let jobs = app.pending_jobs().await;
    assert!(
        jobs.iter().any(
            |j| j["template"] == "case_update_for_resident" && j["to"] == "occupant@exemple.fr"
        ),
        "{jobs:?}"
    );
    assert_eq!(
        jobs.iter()
            .filter(|j| j["kind"] == "assignment_created")
            .count(),
        2
    );
    // The SCHS agent is notified in the application.
    let notified: i64 = sqlx::query_scalar(
        "SELECT COUNT(*) FROM notifications n JOIN users u ON u.id = n.user_id WHERE u.email = ? AND n.kind = 'nouvelle_affectation'",
    )
    .bind(AGENT_SCHS69)
    .fetch_one(&app.db)
    .await
    .unwrap();
    assert_eq!(notified, 1);
    let (_, html) = app.get_html(&format!("/bo/signalements/{uuid}")).await;
    assert!(html.contains("En attente de réponse"));
}

#[tokio::test]
async fn another_territorys_admin_and_another_partners_agent_cannot_see_or_act() {
    let app = TestApp::spawn_with_accounts().await;
    let (report, uuid) = insert_case(
        &app,
        NewCase {
            status: "active",
            ..NewCase::default()
        },
    )
    .await;
    let schs = partner_id(&app, "Service communal%Lyon").await;
    assign(&app, report, schs, "nouveau").await;
    let rt13 = app.as_another_user();
    rt13.login_as(RT13).await;
    assert_eq!(
        rt13.get(&format!("/bo/signalements/{uuid}")).await.status(),
        403
    );
    let version = version_of(&app, report).await;
    let response = rt13
        .post_form(
            &format!("/bo/signalements/{uuid}/cloturer"),
            &[
                ("version", &version),
                ("reason", "autre"),
                ("message", "Je ne devrais pas pouvoir"),
            ],
        )
        .await;
    assert_eq!(response.status(), 403);
    let ars = app.as_another_user();
    ars.login_as(AGENT_ARS69).await;
    assert_eq!(
        ars.get(&format!("/bo/signalements/{uuid}")).await.status(),
        403
    );
    let (_, html) = ars.get_html("/bo/signalements").await;
    assert!(
        html.contains("<strong>0</strong> signalement"),
        "the ARS agent's list is empty"
    );
    assert_eq!(status_of(&app, report).await, "active");
}

#[tokio::test]
async fn an_agent_accepts_the_assignment_and_writes_public_and_private_follow_ups() {
    let app = TestApp::spawn_with_accounts().await;
    let (report, uuid) = insert_case(
        &app,
        NewCase {
            status: "active",
            ..NewCase::default()
        },
    )
    .await;
    let schs = partner_id(&app, "Service communal%Lyon").await;
    assign(&app, report, schs, "nouveau").await;
    app.login_as(AGENT_SCHS69).await;
    // Not accepted yet: cannot write.
    let early = app
        .post_form(
            &format!("/bo/signalements/{uuid}/suivis"),
            &[("body", "Trop tôt")],
        )
        .await;
    assert_eq!(early.status(), 403);
    assert_eq!(
        app.post_form(
            &format!("/bo/signalements/{uuid}/affectation/accepter"),
            &[]
        )
        .await
        .status(),
        303
    );
    let status: String = sqlx::query_scalar("SELECT status FROM assignments WHERE report_id = ?")
        .bind(report)
        .fetch_one(&app.db)
        .await
        .unwrap();
    assert_eq!(status, "en_cours");
    // A second accept is refused (already answered).
    assert_eq!(
        app.post_form(
            &format!("/bo/signalements/{uuid}/affectation/accepter"),
            &[]
        )
        .await
        .status(),
        403
    );

    sqlx::query("DELETE FROM outbox")
        .execute(&app.db)
        .await
        .unwrap();
    app.post_form(
        &format!("/bo/signalements/{uuid}/suivis"),
        &[("body", "Note interne : propriétaire injoignable.")],
    )
    .await;
    assert!(
        !app.pending_jobs()
            .await
            .iter()
            .any(|j| j["template"] == "case_update_for_resident")
    );
    app.post_form(
        &format!("/bo/signalements/{uuid}/suivis"),
        &[
            ("body", "Une visite sera proposée la semaine prochaine."),
            ("public", "1"),
        ],
    )
    .await;
    let jobs = app.pending_jobs().await;
    let mail = jobs
        .iter()
        .find(|j| j["template"] == "case_update_for_resident")
        .expect("resident told");
    assert!(
        mail["message"]
            .as_str()
            .unwrap()
            .contains("visite sera proposée")
    );
    let (_, html) = app.get_html(&format!("/bo/signalements/{uuid}")).await;
    assert!(
        html.contains("Note interne")
            && html.contains("Partenaires seulement")
            && html.contains("Visible par l’usager")
    );
    let last: String =
        sqlx::query_scalar("SELECT last_follow_up_author_kind FROM reports WHERE id = ?")
            .bind(report)
            .fetch_one(&app.db)
            .await
            .unwrap();
    assert_eq!(last, "partner");
}

#[tokio::test]
async fn refusing_needs_a_reason_and_a_message_and_tells_the_resident() {
    let app = TestApp::spawn_with_accounts().await;
    let (report, uuid) = insert_case(&app, NewCase::default()).await;
    app.login_as(RT69).await;
    let version = version_of(&app, report).await;
    let response = app
        .post_form(
            &format!("/bo/signalements/{uuid}/refuser"),
            &[("version", &version), ("reason", ""), ("message", "court")],
        )
        .await;
    assert_eq!(response.status(), 422);
    let html = response.text().await.unwrap();
    assert!(
        html.contains("Choisissez le motif du refus.") && html.contains("10 à 5 000 caractères")
    );
    assert_eq!(status_of(&app, report).await, "need_validation");
    let response = app
        .post_form(
            &format!("/bo/signalements/{uuid}/refuser"),
            &[
                ("version", &version),
                ("reason", "hors_pdlhi"),
                (
                    "message",
                    "Votre situation relève d’un litige locatif : contactez l’ADIL.",
                ),
            ],
        )
        .await;
    assert_eq!(response.status(), 303);
    assert_eq!(status_of(&app, report).await, "refused");
    let jobs = app.pending_jobs().await;
    assert!(
        jobs.iter()
            .any(|j| j["template"] == "case_update_for_resident"
                && j["message"].as_str().unwrap().contains("ADIL"))
    );
}

#[tokio::test]
async fn two_people_acting_on_the_same_case_do_not_lose_each_others_change() {
    let app = TestApp::spawn_with_accounts().await;
    let (report, uuid) = insert_case(&app, NewCase::default()).await;
    let schs = partner_id(&app, "Service communal%Lyon").await;
    let first = app.as_another_user();
    let second = app.as_another_user();
    first.login_as(RT69).await;
    second.login_as("admin@histologe.localhost").await;
    // Both opened the page at the same version.
    let version = version_of(&app, report).await;
    let response = first
        .post_form(
            &format!("/bo/signalements/{uuid}/valider"),
            &[("version", &version), ("partner_id", &schs.to_string())],
        )
        .await;
    assert_eq!(response.status(), 303);
    let response = second
        .post_form(
            &format!("/bo/signalements/{uuid}/refuser"),
            &[
                ("version", &version),
                ("reason", "doublon"),
                ("message", "Déjà signalé sous une autre référence."),
            ],
        )
        .await;
    assert_eq!(response.status(), 409);
    assert!(
        response
            .text()
            .await
            .unwrap()
            .contains("modifié par quelqu’un d’autre")
    );
    assert_eq!(
        status_of(&app, report).await,
        "active",
        "the first change stands"
    );
}

#[tokio::test]
async fn closing_for_all_partners_then_reopening() {
    let app = TestApp::spawn_with_accounts().await;
    let (report, uuid) = insert_case(
        &app,
        NewCase {
            status: "active",
            ..NewCase::default()
        },
    )
    .await;
    let schs = partner_id(&app, "Service communal%Lyon").await;
    assign(&app, report, schs, "en_cours").await;
    app.login_as(RT69).await;
    let response = app
        .post_form(
            &format!("/bo/signalements/{uuid}/cloturer"),
            &[
                ("version", &version_of(&app, report).await),
                ("reason", "travaux_faits_ou_en_cours"),
                ("message", "Les travaux ont été réalisés par le bailleur."),
                ("public", "1"),
            ],
        )
        .await;
    assert_eq!(response.status(), 303);
    assert_eq!(status_of(&app, report).await, "closed");
    let assignment: String =
        sqlx::query_scalar("SELECT status FROM assignments WHERE report_id = ?")
            .bind(report)
            .fetch_one(&app.db)
            .await
            .unwrap();
    assert_eq!(assignment, "ferme");
    let response = app
        .post_form(
            &format!("/bo/signalements/{uuid}/rouvrir"),
            &[("version", &version_of(&app, report).await)],
        )
        .await;
    assert_eq!(response.status(), 303);
    assert_eq!(status_of(&app, report).await, "active");
}

#[tokio::test]
async fn an_agent_plans_a_visit_and_records_its_outcome() {
    let app = TestApp::spawn_with_accounts().await;
    let (report, uuid) = insert_case(
        &app,
        NewCase {
            status: "active",
            ..NewCase::default()
        },
    )
    .await;
    let schs = partner_id(&app, "Service communal%Lyon").await;
    assign(&app, report, schs, "en_cours").await;
    app.login_as(AGENT_SCHS69).await;
    let response = app
        .post_form(
            &format!("/bo/signalements/{uuid}/visites"),
            &[("scheduled_at", "2020-01-01T10:00")],
        )
        .await;
    assert_eq!(response.status(), 422, "a past date is refused");
    let response = app
        .post_form(
            &format!("/bo/signalements/{uuid}/visites"),
            &[
                ("scheduled_at", "2031-03-02T09:30"),
                ("partner_id", &schs.to_string()),
            ],
        )
        .await;
    assert_eq!(response.status(), 303);
    let visit: u64 = sqlx::query_scalar("SELECT id FROM visits WHERE report_id = ?")
        .bind(report)
        .fetch_one(&app.db)
        .await
        .unwrap();
    assert!(
        app.pending_jobs()
            .await
            .iter()
            .any(|j| j["template"] == "visit_for_resident" && j["event"] == "planifiee")
    );
    let response = app
        .post_form(
            &format!("/bo/signalements/{uuid}/visites/{visit}"),
            &[("status", "done"), ("conclusions", "court")],
        )
        .await;
    assert_eq!(response.status(), 422);
    let response = app
        .post_form(
            &format!("/bo/signalements/{uuid}/visites/{visit}"),
            &[
                ("status", "done"),
                (
                    "conclusions",
                    "Humidité importante dans la chambre, VMC hors service.",
                ),
            ],
        )
        .await;
    assert_eq!(response.status(), 303);
    let row = sqlx::query("SELECT status, conclusions FROM visits WHERE id = ?")
        .bind(visit)
        .fetch_one(&app.db)
        .await
        .unwrap();
    assert_eq!(row.get::<String, _>("status"), "done");
    let (_, html) = app.get_html(&format!("/bo/signalements/{uuid}")).await;
    assert!(html.contains("VMC hors service"));
}

#[tokio::test]
async fn every_list_filter_selects_the_expected_cases() {
    let app = TestApp::spawn_with_accounts().await;
    let schs = partner_id(&app, "Service communal%Lyon").await;
    let caf = partner_id(&app, "CAF du Rhône").await;
    let (a, _) = insert_case(
        &app,
        NewCase {
            reference: "2026-1",
            status: "active",
            last_name: "Garnier",
            email: "garnier@exemple.fr",
            postal_code: "69003",
            created: "2026-01-10 09:00:00",
            severity: 55.0,
            public_housing: Some(true),
            allowance: Some(true),
            children: Some(true),
            ..NewCase::default()
        },
    )
    .await;
    let (b, _) = insert_case(
        &app,
        NewCase {
            reference: "2026-2",
            status: "need_validation",
            profile: "tiers_pro",
            last_name: "Baudry",
            email: "baudry@exemple.fr",
            postal_code: "69007",
            city: "Lyon",
            address: "3 avenue Berthelot",
            created: "2026-03-05 09:00:00",
            severity: 12.0,
            public_housing: Some(false),
            allowance: Some(false),
            children: Some(false),
            ..NewCase::default()
        },
    )
    .await;
    let (c, _) = insert_case(
        &app,
        NewCase {
            reference: "2026-3",
            status: "closed",
            last_name: "Chevallier",
            email: "chevallier@exemple.fr",
            postal_code: "69008",
            created: "2026-05-20 09:00:00",
            severity: 31.0,
            ..NewCase::default()
        },
    )
    .await;
    let (d, _) = insert_case(
        &app,
        NewCase {
            reference: "2026-4",
            status: "archived",
            last_name: "Durand",
            email: "durand@exemple.fr",
            ..NewCase::default()
        },
    )
    .await;
    assign(&app, a, schs, "en_cours").await;
    assign(&app, a, caf, "nouveau").await;
    assign(&app, c, caf, "ferme").await;
    sqlx::query("UPDATE reports SET closure_reason = 'logement_decent' WHERE id = ?")
        .bind(c)
        .execute(&app.db)
        .await
        .unwrap();
    sqlx::query("INSERT INTO report_qualifications (report_id, qualification, status) VALUES (?, 'insalubrite', 'insalubrite_check')").bind(a).execute(&app.db).await.unwrap();
    let tag: u64 = sqlx::query_scalar("INSERT INTO tags (territory_id, label) SELECT id, 'Copro' FROM territories WHERE code = '69A' RETURNING id").fetch_one(&app.db).await.unwrap();
    sqlx::query("INSERT INTO report_tags (report_id, tag_id) VALUES (?, ?)")
        .bind(b)
        .bind(tag)
        .execute(&app.db)
        .await
        .unwrap();
    sqlx::query("INSERT INTO visits (report_id, kind, scheduled_at, status) VALUES (?, 'visite', '2026-06-01 10:00:00', 'done')").bind(c).execute(&app.db).await.unwrap();
    sqlx::query("UPDATE reports SET last_follow_up_at = '2026-06-02 10:00:00', last_follow_up_author_kind = 'resident' WHERE id = ?").bind(b).execute(&app.db).await.unwrap();
    let _ = d;
    app.login_as(RT69).await;
    let expect = |query: &'static str, refs: &'static [&'static str]| (query, refs);
    let cases = [
        expect("", &["2026-1", "2026-2", "2026-3"]),
        expect("statut=archived", &["2026-4"]),
        expect("statut=active&statut=closed", &["2026-1", "2026-3"]),
        expect("q=2026-2", &["2026-2"]),
        expect("q=69008", &["2026-3"]),
        expect("q=GARNIER@exemple.fr", &["2026-1"]),
        expect("q=Berthelot", &["2026-2"]),
        expect("q=chevall", &["2026-3"]),
        expect("code_postal=69003,69007", &["2026-1", "2026-2"]),
        expect(
            "depot_du=2026-03-01&depot_au=2026-05-20",
            &["2026-2", "2026-3"],
        ),
        expect("partenaire=aucun", &["2026-2"]),
        expect("affectation=en_attente", &["2026-1"]),
        expect("affectation=cloture_tous", &["2026-3"]),
        expect("profil=tiers_pro", &["2026-2"]),
        expect("parc=public", &["2026-1"]),
        expect("parc=inconnu", &["2026-3"]),
        expect("allocataire=non", &["2026-2"]),
        expect("enfants_moins_6=oui", &["2026-1"]),
        expect("criticite_min=30&criticite_max=50", &["2026-3"]),
        expect("qualification=insalubrite", &["2026-1"]),
        expect("suivi_auteur=resident", &["2026-2"]),
        expect("suivi_du=2026-06-01&suivi_au=2026-06-30", &["2026-2"]),
        expect("visite=done", &["2026-3"]),
        expect("visite=aucune", &["2026-1", "2026-2"]),
        expect("motif_cloture=logement_decent", &["2026-3"]),
    ];
    for (query, refs) in cases {
        let (status, html) = app.get_html(&format!("/bo/signalements?{query}")).await;
        assert_eq!(status, 200, "{query}");
        for reference in ["2026-1", "2026-2", "2026-3", "2026-4"] {
            let shown = html.contains(&format!(">{reference}</a>"));
            assert_eq!(
                shown,
                refs.contains(&reference),
                "{query}: {reference} shown = {shown}"
            );
        }
    }
    let (_, html) = app
        .get_html(&format!("/bo/signalements?partenaire={caf}"))
        .await;
    assert!(
        html.contains(">2026-1</a>")
            && html.contains(">2026-3</a>")
            && !html.contains(">2026-2</a>")
    );
    let (_, html) = app
        .get_html(&format!("/bo/signalements?etiquette={tag}"))
        .await;
    assert!(html.contains(">2026-2</a>") && !html.contains(">2026-1</a>"));
    // Sorting by severity, ascending.
    let (_, html) = app
        .get_html("/bo/signalements?tri=criticite&ordre=asc")
        .await;
    let (p1, p2, p3) = (
        html.find(">2026-2<").unwrap(),
        html.find(">2026-3<").unwrap(),
        html.find(">2026-1<").unwrap(),
    );
    assert!(p1 < p2 && p2 < p3);
    // Bad values get a clear 400.
    let (status, html) = app
        .get_html("/bo/signalements?depot_du=2026-05-01&depot_au=2026-01-01")
        .await;
    assert_eq!(status, 400);
    assert!(html.contains("postérieure"));
    // An agent sees only the cases assigned to their partner.
    let agent = app.as_another_user();
    agent.login_as(AGENT_SCHS69).await;
    let (_, html) = agent.get_html("/bo/signalements").await;
    assert!(
        html.contains(">2026-1</a>")
            && !html.contains(">2026-2</a>")
            && !html.contains(">2026-3</a>")
    );
}

#[tokio::test]
async fn the_list_paginates_by_25_and_saved_filters_come_back() {
    let app = TestApp::spawn_with_accounts().await;
    for n in 1..=30 {
        let reference = format!("2026-{n}");
        let created = format!("2026-01-{:02} 08:00:00", n.min(28));
        insert_case(
            &app,
            NewCase {
                reference: Box::leak(reference.into_boxed_str()),
                created: Box::leak(created.into_boxed_str()),
                ..NewCase::default()
            },
        )
        .await;
    }
    app.login_as(RT69).await;
    let (_, html) = app.get_html("/bo/signalements").await;
    assert!(html.contains("<strong>30</strong> signalements"));
    assert!(html.matches("/bo/signalements/").count() >= 25);
    let (_, page2) = app.get_html("/bo/signalements?page=2").await;
    assert!(page2.contains("2 / 2"));
    let response = app
        .post_form(
            "/bo/signalements/filtres",
            &[
                ("name", "Lyon 3e"),
                ("query", "code_postal=69003&statut=need_validation"),
            ],
        )
        .await;
    assert_eq!(response.status(), 303);
    let (_, html) = app.get_html("/bo/signalements").await;
    assert!(html.contains("Lyon 3e"));
}

#[tokio::test]
async fn an_agent_refuses_one_assignment_and_closes_another_and_the_territory_admin_is_told() {
    let app = TestApp::spawn_with_accounts().await;
    let (refused, refused_uuid) = insert_case(
        &app,
        NewCase {
            reference: "2026-31",
            status: "active",
            ..NewCase::default()
        },
    )
    .await;
    let (closed, closed_uuid) = insert_case(
        &app,
        NewCase {
            reference: "2026-32",
            status: "active",
            ..NewCase::default()
        },
    )
    .await;
    let schs = partner_id(&app, "Service communal%Lyon").await;
    assign(&app, refused, schs, "nouveau").await;
    assign(&app, closed, schs, "en_cours").await;
    app.login_as(AGENT_SCHS69).await;

    // Refusing needs a reason and an explanation; nothing is written without.
    let bad = app
        .post_form(
            &format!("/bo/signalements/{refused_uuid}/affectation/refuser"),
            &[("reason", "hors_perimetre")],
        )
        .await;
    assert_eq!(bad.status(), 422);
    let refuse = app
        .post_form(
            &format!("/bo/signalements/{refused_uuid}/affectation/refuser"),
            &[
                ("reason", "hors_perimetre"),
                ("message", "Adresse hors de notre commune."),
            ],
        )
        .await;
    assert_eq!(refuse.status(), 303);
    let close = app
        .post_form(
            &format!("/bo/signalements/{closed_uuid}/affectation/cloturer"),
            &[
                ("reason", "travaux_faits_ou_en_cours"),
                ("message", "Travaux réalisés, constatés sur place."),
            ],
        )
        .await;
    assert_eq!(close.status(), 303);

    let state = |report: u64| {
        let db = app.db.clone();
        async move {
            sqlx::query_as::<_, (String, Option<String>, Option<String>)>(
                "SELECT status, refusal_reason, closure_reason FROM assignments WHERE report_id = ?",
            )
            .bind(report)
            .fetch_one(&db)
            .await
            .unwrap()
        }
    };
    assert_eq!(
        state(refused).await,
        ("refuse".to_owned(), Some("hors_perimetre".to_owned()), None)
    );
    let (status, _, reason) = state(closed).await;
    assert_eq!(
        (status.as_str(), reason.as_deref()),
        ("ferme", Some("travaux_faits_ou_en_cours"))
    );
    // Each answer is a follow-up on its case and a notice to the territory admin.
    let follow_ups: Vec<(u64, String)> = sqlx::query_as(
        "SELECT report_id, category FROM follow_ups WHERE report_id IN (?, ?) ORDER BY report_id",
    )
    .bind(refused)
    .bind(closed)
    .fetch_all(&app.db)
    .await
    .unwrap();
    assert_eq!(
        follow_ups,
        [
            (refused, "affectation_refusee".to_owned()),
            (closed, "affectation_cloturee".to_owned())
        ]
    );
    let notices: Vec<(u64, String)> = sqlx::query_as(
        "SELECT n.report_id, n.kind FROM notifications n JOIN users u ON u.id = n.user_id
         WHERE u.email = ? ORDER BY n.report_id",
    )
    .bind(RT69)
    .fetch_all(&app.db)
    .await
    .unwrap();
    assert_eq!(
        notices,
        [
            (refused, "affectation_refusee".to_owned()),
            (closed, "cloture_partenaire".to_owned())
        ]
    );
}

#[tokio::test]
async fn the_case_page_lists_the_defects_building_first_in_the_taxonomys_order() {
    let app = TestApp::spawn_with_accounts().await;
    let (report, uuid) = insert_case(&app, NewCase::default()).await;
    // The last precision of the dwelling, then the first and a dangerous one
    // of the building: the page shows the building's first, in taxonomy order.
    let pick = |sql: &'static str| {
        let db = app.db.clone();
        async move {
            sqlx::query_as::<_, (u32, String)>(sql)
                .fetch_one(&db)
                .await
                .expect(sql)
        }
    };
    let dwelling = pick(
        "SELECT p.id, p.label FROM defect_precisions p JOIN defect_criteria c ON c.id = p.criterion_id
         JOIN defect_categories cat ON cat.id = c.category_id
         WHERE c.zone = 'logement' ORDER BY cat.position DESC, c.position DESC, p.position DESC LIMIT 1",
    )
    .await;
    let building = pick(
        "SELECT p.id, p.label FROM defect_precisions p JOIN defect_criteria c ON c.id = p.criterion_id
         JOIN defect_categories cat ON cat.id = c.category_id
         WHERE c.zone = 'batiment' ORDER BY cat.position, c.position, p.position LIMIT 1",
    )
    .await;
    let danger = pick(
        "SELECT p.id, p.label FROM defect_precisions p JOIN defect_criteria c ON c.id = p.criterion_id
         JOIN defect_categories cat ON cat.id = c.category_id
         WHERE c.zone = 'batiment' AND p.is_danger ORDER BY cat.position DESC, c.position DESC, p.position DESC LIMIT 1",
    )
    .await;
    for (id, free_text) in [
        (dwelling.0, Some("dans la chambre")),
        (danger.0, None),
        (building.0, None),
    ] {
        sqlx::query(
            "INSERT INTO report_defects (report_id, precision_id, free_text) VALUES (?, ?, ?)",
        )
        .bind(report)
        .bind(id)
        .bind(free_text)
        .execute(&app.db)
        .await
        .unwrap();
    }
    app.login_as(RT69).await;
    let (status, html) = app.get_html(&format!("/bo/signalements/{uuid}")).await;
    assert_eq!(status, 200);
    // (Up to the first character the template escapes.)
    let at = |label: &str| {
        let plain: String = label
            .chars()
            .take_while(|c| !matches!(c, '&' | '<' | '>' | '"' | '\''))
            .collect();
        html.find(&plain)
            .unwrap_or_else(|| panic!("{label} missing"))
    };
    assert!(
        at(&building.1) < at(&danger.1),
        "building defects in taxonomy order"
    );
    assert!(at(&danger.1) < at(&dwelling.1), "building before dwelling");
    assert!(html.contains("« dans la chambre »"));
    assert!(html[at(&danger.1)..].contains("Danger"));
}

#[tokio::test]
async fn a_long_list_counts_up_to_a_horizon_and_keeps_offering_the_next_page() {
    let app = TestApp::spawn_with_accounts().await;
    for n in 1..=12 {
        let reference = format!("2026-{n}");
        insert_case(
            &app,
            NewCase {
                reference: Box::leak(reference.into_boxed_str()),
                ..NewCase::default()
            },
        )
        .await;
    }
    let filter = histologe::domain::case_filter::CaseFilter::parse(&[]).expect("default filter");
    let scope = histologe::domain::permissions::ReportScope::All;
    let (rows, total) = histologe::db::cases::list_counted_to(&app.db, &scope, &filter, 0, 5)
        .await
        .expect("list");
    assert_eq!(rows.len(), 12, "the page itself is complete");
    assert_eq!((total.count, total.capped), (5, true));
    let (_, total) = histologe::db::cases::list_counted_to(&app.db, &scope, &filter, 0, 12)
        .await
        .expect("list");
    assert_eq!((total.count, total.capped), (12, false));
    let pagination = histologe::web::forms::Pagination::at_least(Some(1), 2, 5, true);
    assert_eq!(pagination.total_label(), "plus de 5");
    assert!(
        pagination.has_next(),
        "a capped count never hides the next page"
    );
    let exact = histologe::web::forms::Pagination::at_least(Some(1), 25, 12_345, false);
    assert_eq!(exact.total_label(), "12\u{202f}345");
}

#[tokio::test]
async fn partner_menus_list_one_territory_at_a_time() {
    let app = TestApp::spawn_with_accounts().await;
    app.login_as("admin@histologe.localhost").await;
    let (_, national) = app.get_html("/bo/signalements").await;
    assert!(national.contains("Choisissez d’abord un territoire pour lister ses partenaires."));
    assert!(
        !national.contains("Service communal d’hygiène et de santé de Lyon"),
        "no national menu of partners"
    );
    let t69: u32 = sqlx::query_scalar("SELECT id FROM territories WHERE code = '69A'")
        .fetch_one(&app.db)
        .await
        .unwrap();
    let (_, lyon) = app
        .get_html(&format!("/bo/signalements?territoire={t69}"))
        .await;
    let menu = &lyon[lyon.find("id=\"partenaire\"").expect("partner menu")..];
    let menu = &menu[..menu.find("</select>").unwrap()];
    assert!(menu.contains("69A – "), "{menu}");
    assert!(!menu.contains("13 – "), "{menu}");
    // A territory admin never gets another territory's partners, whatever the URL says.
    let rt = app.as_another_user();
    rt.login_as(RT13).await;
    let (_, other) = rt
        .get_html(&format!("/bo/signalements?territoire={t69}"))
        .await;
    let menu = &other[other.find("id=\"partenaire\"").expect("partner menu")..];
    let menu = &menu[..menu.find("</select>").unwrap()];
    assert!(!menu.contains("69A – "), "{menu}");
}

#[tokio::test]
async fn the_dashboard_counts_the_queues_and_notifications_are_marked_seen_when_opened() {
    let app = TestApp::spawn_with_accounts().await;
    let (_, _) = insert_case(
        &app,
        NewCase {
            reference: "2026-10",
            ..NewCase::default()
        },
    )
    .await;
    let (report, uuid) = insert_case(
        &app,
        NewCase {
            reference: "2026-11",
            status: "active",
            ..NewCase::default()
        },
    )
    .await;
    let schs = partner_id(&app, "Service communal%Lyon").await;
    assign(&app, report, schs, "nouveau").await;
    app.login_as(RT69).await;
    let (_, html) = app.get_html("/bo").await;
    let tile = &html[html.find("data-queue=\"to_validate\"").expect("queue tile")..];
    assert!(
        tile[..tile
            .find("</div>")
            .unwrap_or(tile.len())
            .max(400)
            .min(tile.len())]
            .contains("<span>1</span>"),
        "{tile}"
    );
    let agent = app.as_another_user();
    agent.login_as(AGENT_SCHS69).await;
    let user: u64 = sqlx::query_scalar("SELECT id FROM users WHERE email = ?")
        .bind(AGENT_SCHS69)
        .fetch_one(&app.db)
        .await
        .unwrap();
    sqlx::query("INSERT INTO notifications (user_id, report_id, kind) VALUES (?, ?, 'nouvelle_affectation')").bind(user).bind(report).execute(&app.db).await.unwrap();
    let (_, html) = agent.get_html("/bo/notifications").await;
    assert!(html.contains("Non lu") && html.contains("2026-11"));
    agent.get(&format!("/bo/signalements/{uuid}")).await;
    let (_, html) = agent.get_html("/bo/notifications").await;
    assert!(!html.contains("Non lu"));
}

#[tokio::test]
async fn auto_assignment_rules_pick_partners_in_the_simulator_and_at_validation() {
    let app = TestApp::spawn_with_accounts().await;
    let (report, uuid) = insert_case(
        &app,
        NewCase {
            reference: "2026-77",
            public_housing: Some(false),
            ..NewCase::default()
        },
    )
    .await;
    let schs = partner_id(&app, "Service communal%Lyon").await;
    let t69: u32 = sqlx::query_scalar("SELECT id FROM territories WHERE code = '69A'")
        .fetch_one(&app.db)
        .await
        .unwrap();
    app.login_as(RT69).await;
    let bad = app
        .post_form(
            "/bo/regles-affectation",
            &[
                ("territory_id", &t69.to_string()),
                ("partner_type", "nimporte"),
                ("declarant_profile", "all"),
                ("housing_sector", "all"),
                ("allowance", "all"),
            ],
        )
        .await;
    assert_eq!(bad.status(), 422);
    let response = app
        .post_form(
            "/bo/regles-affectation",
            &[
                ("territory_id", &t69.to_string()),
                ("partner_type", "commune_schs"),
                ("declarant_profile", "occupant"),
                ("housing_sector", "prive"),
                ("allowance", "all"),
                ("description", "SCHS pour le parc privé"),
            ],
        )
        .await;
    assert_eq!(response.status(), 303);
    let (status, html) = app
        .get_html(&format!(
            "/bo/regles-affectation?territoire={t69}&reference=2026-77"
        ))
        .await;
    assert_eq!(status, 200);
    let sim = &html[html.find("id=\"simulation\"").expect("simulation shown")..];
    assert!(
        sim.contains("Service communal d’hygiène et de santé de Lyon"),
        "{sim}"
    );
    assert!(!sim[..sim.find("</div>").unwrap()].contains("ARS"));
    // Validation without ticking anyone: the rules decide.
    let version: u32 = sqlx::query_scalar("SELECT version FROM reports WHERE id = ?")
        .bind(report)
        .fetch_one(&app.db)
        .await
        .unwrap();
    let response = app
        .post_form(
            &format!("/bo/signalements/{uuid}/valider"),
            &[("version", &version.to_string())],
        )
        .await;
    assert_eq!(response.status(), 303);
    let partners: Vec<u64> =
        sqlx::query_scalar("SELECT partner_id FROM assignments WHERE report_id = ?")
            .bind(report)
            .fetch_all(&app.db)
            .await
            .unwrap();
    assert_eq!(partners, [schs]);
}

#[tokio::test]
async fn editing_a_report_recomputes_its_severity_records_the_diff_and_regeocodes_a_new_address() {
    let app = TestApp::spawn_with_accounts().await;
    let (report, uuid) = insert_case(
        &app,
        NewCase {
            status: "active",
            children: Some(false),
            ..NewCase::default()
        },
    )
    .await;
    // Two dwelling defects with known weights.
    sqlx::query(
        "INSERT INTO report_defects (report_id, precision_id)
         SELECT ?, p.id FROM defect_precisions p JOIN defect_criteria c ON c.id = p.criterion_id
         WHERE c.zone = 'logement' AND p.coef > 0 ORDER BY p.id LIMIT 2",
    )
    .bind(report)
    .execute(&app.db)
    .await
    .unwrap();
    app.login_as(RT69).await;
    let (status, html) = app
        .get_html(&format!("/bo/signalements/{uuid}/modifier"))
        .await;
    assert_eq!(status, 200);
    let version = version_of(&app, report).await;
    let fields = |children: &'static str, email: &'static str, address: &'static str| {
        vec![
            ("version", version.clone()),
            ("occupant_last_name", "Testeur".to_owned()),
            ("occupant_email", email.to_owned()),
            ("dwelling_children_under_6", children.to_owned()),
            ("address_line", address.to_owned()),
            ("postal_code", "69003".to_owned()),
            ("city", "Lyon 3e Arrondissement".to_owned()),
        ]
    };
    let _ = html;
    let as_refs = |v: &Vec<(&'static str, String)>| {
        v.iter().map(|(k, v)| (*k, v.clone())).collect::<Vec<_>>()
    };
    let post = |pairs: Vec<(&'static str, String)>| {
        let app = &app;
        let uuid = uuid.clone();
        async move {
            let borrowed: Vec<(&str, &str)> = pairs.iter().map(|(k, v)| (*k, v.as_str())).collect();
            app.post_form(&format!("/bo/signalements/{uuid}/modifier"), &borrowed)
                .await
        }
    };
    let commune: String =
        sqlx::query_scalar("SELECT name FROM communes WHERE postal_code = '69003' LIMIT 1")
            .fetch_one(&app.db)
            .await
            .unwrap();
    let mut bad = as_refs(&fields("oui", "pas-un-courriel", "12 rue Garibaldi"));
    bad.retain(|(k, _)| *k != "city");
    bad.push(("city", commune.clone()));
    let response = post(bad).await;
    assert_eq!(response.status(), 422);
    assert!(
        response
            .text()
            .await
            .unwrap()
            .contains("adresse électronique valide")
    );

    let before: f64 =
        sqlx::query_scalar("SELECT CAST(severity_score AS DOUBLE) FROM reports WHERE id = ?")
            .bind(report)
            .fetch_one(&app.db)
            .await
            .unwrap();
    let mut good = as_refs(&fields("oui", "nouveau@exemple.fr", "40 rue Paul Bert"));
    good.retain(|(k, _)| *k != "city");
    good.push(("city", commune.clone()));
    let response = post(good.clone()).await;
    assert_eq!(
        response.status(),
        303,
        "{}",
        response.text().await.unwrap_or_default()
    );
    let after: f64 =
        sqlx::query_scalar("SELECT CAST(severity_score AS DOUBLE) FROM reports WHERE id = ?")
            .bind(report)
            .fetch_one(&app.db)
            .await
            .unwrap();
    assert!(
        after > 0.0 && (after - before).abs() > 0.001,
        "the score is recomputed: {before} -> {after}"
    );
    assert!(
        app.pending_jobs()
            .await
            .iter()
            .any(|j| j["kind"] == "geocode_report"),
        "the new address is geocoded"
    );
    let diff: String = sqlx::query_scalar(
        "SELECT CAST(diff AS CHAR) FROM audit_events WHERE report_id = ? AND action = 'edit'",
    )
    .bind(report)
    .fetch_one(&app.db)
    .await
    .unwrap();
    assert!(
        diff.contains("nouveau@exemple.fr") && diff.contains("40 rue Paul Bert"),
        "{diff}"
    );
    // The same form sent again carries a stale version.
    let response = post(good).await;
    assert_eq!(response.status(), 409);
}

#[tokio::test]
async fn a_resident_message_notifies_the_partners_working_on_the_case() {
    let app = TestApp::spawn().await;
    app.seed_demo().await;
    let (_, path) = crate::report_form::file_tenant_report(&app, "voisin@exemple.fr").await;
    let report: u64 =
        sqlx::query_scalar("SELECT id FROM reports WHERE occupant_email = 'voisin@exemple.fr'")
            .fetch_one(&app.db)
            .await
            .unwrap();
    let schs13 = partner_id(&app, "Service communal%Marseille").await;
    sqlx::query("UPDATE reports SET status = 'active' WHERE id = ?")
        .bind(report)
        .execute(&app.db)
        .await
        .unwrap();
    assign(&app, report, schs13, "en_cours").await;
    sqlx::query("DELETE FROM outbox")
        .execute(&app.db)
        .await
        .unwrap();
    let visitor = crate::report_form::Visitor::new(&app).await;
    let page = visitor
        .post(
            &path,
            &[
                ("initiale_prenom", "C"),
                ("initiale_nom", "D"),
                ("code_postal", "13100"),
            ],
        )
        .await;
    assert_eq!(page.status, 303);
    let page = visitor
        .post_files(
            &format!("{path}/messages"),
            &[("message", "Le plafond s’est encore effondré ce matin.")],
            &[],
        )
        .await;
    assert_eq!(page.status, 303);
    let notified: i64 = sqlx::query_scalar(
        "SELECT COUNT(*) FROM notifications n JOIN users u ON u.id = n.user_id WHERE u.email = 'agent.schs13@histologe.localhost' AND n.kind = 'suivi_usager'",
    )
    .fetch_one(&app.db)
    .await
    .unwrap();
    assert_eq!(notified, 1);
    assert!(
        app.pending_jobs()
            .await
            .iter()
            .any(|j| j["template"] == "resident_message"
                && j["to"] == "agent.schs13@histologe.localhost")
    );
}
