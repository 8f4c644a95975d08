//! Orders (arrêtés) recorded on a case: who may, what the resident is
//! told, the French refusals, and the order seen from another case at
//! the same address (docs/arretes.md).

use crate::common::{TestApp, cases::CaseBuilder};

const SUPER_ADMIN: &str = "admin@histologe.localhost";
const RT69: &str = "rt69@histologe.localhost";
const RT13: &str = "rt13@histologe.localhost";
const ADMIN_SCHS69: &str = "admin.schs69@histologe.localhost";
const AGENT_SCHS69: &str = "agent.schs69@histologe.localhost";

async fn schs69(app: &TestApp) -> u64 {
    sqlx::query_scalar(
        "SELECT id FROM partners WHERE name LIKE 'Service communal d’hygiène et de santé de Lyon%'",
    )
    .fetch_one(&app.db)
    .await
    .expect("SCHS of Lyon")
}

/// An active case of 69A at `street`, accepted by the SCHS of Lyon.
async fn active_case(app: &TestApp, street: &str) -> crate::common::cases::Case {
    let partner = schs69(app).await;
    CaseBuilder::new("69A")
        .status("active")
        .street(street)
        .occupant_email("occupant@exemple.fr")
        .assigned_to(partner, "en_cours")
        .create(app)
        .await
}

fn order(number: &str) -> Vec<(&'static str, &str)> {
    vec![
        ("arrete_type", "l_511_19_insalubrite"),
        ("arrete_number", number),
        ("arrete_date", "2026-11-20"),
        ("arrete_signatory", "prefet"),
        ("arrete_signer", "Mme la préfète du Rhône"),
        ("arrete_deadline", "2027-05-20"),
    ]
}

async fn orders_of(app: &TestApp, report_id: u64) -> Vec<String> {
    sqlx::query_scalar("SELECT number FROM arretes WHERE report_id = ? ORDER BY id")
        .bind(report_id)
        .fetch_all(&app.db)
        .await
        .expect("orders")
}

fn pdf(text: &str) -> Vec<u8> {
    format!("%PDF-1.4\n1 0 obj << /Title ({text}) >> endobj\n%%EOF\n").into_bytes()
}

/// Posts the case page's order form as the page does: multipart, the CSRF
/// token in the URL, the signed order in `arrete_fichier`.
async fn post_order(
    app: &TestApp,
    case: &str,
    fields: &[(&str, &str)],
    file: Option<(&str, Vec<u8>)>,
) -> reqwest::Response {
    let token = app.csrf().await;
    let mut form = reqwest::multipart::Form::new();
    for (k, v) in fields {
        form = form.text(k.to_string(), v.to_string());
    }
    if let Some((name, bytes)) = file {
        form = form.part(
            "arrete_fichier",
            reqwest::multipart::Part::bytes(bytes).file_name(name.to_string()),
        );
    }
    app.client
        .post(app.url(&format!("/bo/signalements/{case}/arretes?_csrf={token}")))
        .multipart(form)
        .send()
        .await
        .unwrap()
}

#[tokio::test]
async fn a_territory_admin_records_an_order_with_its_pdf_and_the_resident_is_told() {
    let app = TestApp::spawn_with_accounts().await;
    let code = "a".repeat(43);
    let partner = schs69(&app).await;
    let case = CaseBuilder::new("69A")
        .status("active")
        .street("12 rue X")
        .occupant("Alex", "Testeur")
        .commune("69003", "Lyon")
        .occupant_email("occupant@exemple.fr")
        .follow_up_code(&code)
        .assigned_to(partner, "en_cours")
        .create(&app)
        .await;
    app.login_as(RT69).await;
    let (_, page) = app
        .get_html(&format!("/bo/signalements/{}", case.uuid))
        .await;
    assert!(
        page.contains("name=\"arrete_fichier\""),
        "the form takes the signed order"
    );
    let mut fields = order("2026/DD69/00012");
    fields.push(("arrete_public", "1"));
    let response = post_order(
        &app,
        &case.uuid,
        &fields,
        Some(("arrete-signe.pdf", pdf("arrêté"))),
    )
    .await;
    assert_eq!(response.status(), 303);
    assert_eq!(orders_of(&app, case.id).await, ["2026/DD69/00012"]);

    // The signed order is a document of the case, of type "arrêté
    // préfectoral", shown to the resident once scanned, and the order
    // points at it.
    let (document_type, public, scan, linked): (String, bool, String, bool) = sqlx::query_as(
        "SELECT d.document_type, d.is_public, d.scan_status, a.document_id = d.id
         FROM arretes a JOIN documents d ON d.report_id = a.report_id
         WHERE a.report_id = ? AND d.filename = 'arrete-signe.pdf'",
    )
    .bind(case.id)
    .fetch_one(&app.db)
    .await
    .expect("the order's document");
    assert_eq!(document_type, "arrete_prefectoral");
    assert!(public);
    assert_eq!(scan, "pending", "scanned like every upload");
    assert!(linked, "arretes.document_id names the document");

    // The resident: a public follow-up and an e-mail of its own kind.
    let (body, public): (String, bool) = sqlx::query_as(
        "SELECT body, is_public FROM follow_ups WHERE report_id = ? AND category = 'arrete_enregistre'",
    )
    .bind(case.id)
    .fetch_one(&app.db)
    .await
    .expect("follow-up");
    assert!(public, "the resident sees the follow-up");
    assert!(
        body.contains("Arrêté L.511-19 - Insalubrité n° 2026/DD69/00012 du 20/11/2026"),
        "{body}"
    );
    let jobs = app.pending_jobs().await;
    assert!(
        jobs.iter().any(|j| j["template"] == "arrete_for_resident"
            && j["to"] == "occupant@exemple.fr"
            && j["message"]
                .as_str()
                .is_some_and(|m| m.contains("n° 2026/DD69/00012"))),
        "{jobs:?}"
    );
    // Audited in the same transaction.
    let audited: i64 = sqlx::query_scalar(
        "SELECT COUNT(*) FROM audit_events WHERE action = 'arrete' AND report_id = ?",
    )
    .bind(case.id)
    .fetch_one(&app.db)
    .await
    .expect("audit");
    assert_eq!(audited, 1);
    // The case page lists it.
    let (status, html) = app
        .get_html(&format!("/bo/signalements/{}", case.uuid))
        .await;
    assert_eq!(status, 200);
    assert!(html.contains("n° 2026/DD69/00012 du 20/11/2026"), "{html}");

    // The resident reads it in their follow-up space.
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
    let space = v.get(&path).await;
    assert!(
        space
            .html
            .contains("Un arrêté a été pris concernant votre logement"),
        "{}",
        space.html
    );
}

#[tokio::test]
async fn an_order_takes_a_document_of_the_case_but_not_a_bad_file_nor_another_case_s() {
    let app = TestApp::spawn_with_accounts().await;
    let case = active_case(&app, "5 rue W").await;
    let other = active_case(&app, "6 rue W").await;
    app.login_as(RT69).await;
    // A document of type "arrêté municipal" already on the case.
    let token = app.csrf().await;
    let form = reqwest::multipart::Form::new()
        .text("document_type", "arrete_municipal")
        .part(
            "fichiers",
            reqwest::multipart::Part::bytes(pdf("municipal")).file_name("municipal.pdf"),
        );
    let response = app
        .client
        .post(app.url(&format!(
            "/bo/signalements/{}/documents?_csrf={token}",
            case.uuid
        )))
        .multipart(form)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 303);
    let (doc_id, doc_uuid): (u64, String) =
        sqlx::query_as("SELECT id, uuid FROM documents WHERE filename = 'municipal.pdf'")
            .fetch_one(&app.db)
            .await
            .unwrap();
    let (_, page) = app
        .get_html(&format!("/bo/signalements/{}", case.uuid))
        .await;
    assert!(
        page.contains(&format!("<option value=\"{doc_uuid}\">")),
        "offered in the form"
    );

    // Not from another case: a French 422, nothing written.
    let mut fields = order("M-1");
    fields.push(("arrete_document", &doc_uuid));
    let response = post_order(&app, &other.uuid, &fields, None).await;
    assert_eq!(response.status(), 422);
    assert!(
        response
            .text()
            .await
            .unwrap()
            .contains("n’est pas un document de ce signalement")
    );
    // A file the upload checks refuse: its French reason, nothing written.
    let response = post_order(
        &app,
        &case.uuid,
        &order("M-2"),
        Some(("arrete.exe", b"MZ\x90\x00binary".to_vec())),
    )
    .await;
    assert_eq!(response.status(), 422);
    assert!(
        orders_of(&app, case.id).await.is_empty() && orders_of(&app, other.id).await.is_empty()
    );

    let response = post_order(&app, &case.uuid, &fields, None).await;
    assert_eq!(response.status(), 303);
    let linked: Option<u64> =
        sqlx::query_scalar("SELECT document_id FROM arretes WHERE number = 'M-1'")
            .fetch_one(&app.db)
            .await
            .unwrap();
    assert_eq!(linked, Some(doc_id));
}

#[tokio::test]
async fn only_the_territory_admins_and_the_super_admin_record_orders() {
    let app = TestApp::spawn_with_accounts().await;
    let case = active_case(&app, "3 place Y").await;
    for (who, expected, number) in [
        (SUPER_ADMIN, 303, "A-1"),
        (RT69, 303, "A-2"),
        // Another territory's admin does not even see the case.
        (RT13, 404, "A-3"),
        // The partner working on the case reads orders, does not record them.
        (ADMIN_SCHS69, 403, "A-4"),
        (AGENT_SCHS69, 403, "A-5"),
    ] {
        let user = app.as_another_user();
        user.login_as(who).await;
        let response = user
            .post_form(
                &format!("/bo/signalements/{}/arretes", case.uuid),
                &order(number),
            )
            .await;
        let status = response.status().as_u16();
        assert!(
            status == expected || (expected == 404 && status == 403),
            "{who}: {status}"
        );
        // The form is offered to those who may use it only.
        let (_, html) = user
            .get_html(&format!("/bo/signalements/{}", case.uuid))
            .await;
        assert_eq!(
            html.contains("Enregistrer l’arrêté"),
            expected == 303,
            "{who} sees the form"
        );
    }
    assert_eq!(orders_of(&app, case.id).await, ["A-1", "A-2"]);
    // Anonymous: to the login page, nothing written.
    let anonymous = app.as_another_user();
    let response = anonymous
        .post_form(
            &format!("/bo/signalements/{}/arretes", case.uuid),
            &order("A-6"),
        )
        .await;
    assert_ne!(response.status(), 200);
    assert!(response.status().is_redirection() || response.status().is_client_error());
    assert_eq!(orders_of(&app, case.id).await.len(), 2);
}

#[tokio::test]
async fn wrong_fields_and_a_second_entry_are_refused_in_french() {
    let app = TestApp::spawn_with_accounts().await;
    let case = active_case(&app, "8 rue Z").await;
    app.login_as(RT69).await;
    let path = format!("/bo/signalements/{}/arretes", case.uuid);
    for (field, value, message) in [
        (
            "arrete_date",
            "2099-01-01",
            "La date de l’arrêté ne peut pas être dans le futur.",
        ),
        (
            "arrete_date",
            "hier",
            "Indiquez la date de l’arrêté (JJ/MM/AAAA).",
        ),
        (
            "arrete_type",
            "amende",
            "Choisissez le type d’arrêté dans la liste.",
        ),
        (
            "arrete_number",
            "<b>",
            "Le numéro de l’arrêté contient au moins un chiffre",
        ),
        (
            "arrete_deadline",
            "2026-01-01",
            "La date limite des travaux doit être postérieure à la date de l’arrêté.",
        ),
    ] {
        let mut fields = order("B-1");
        fields.retain(|(k, _)| *k != field);
        fields.push((field, value));
        let response = app.post_form(&path, &fields).await;
        assert_eq!(response.status(), 422, "{field}={value}");
        let html = response.text().await.unwrap();
        assert!(
            html.contains(&message.replace('’', "&#8217;")) || html.contains(message),
            "{field}: {message}"
        );
    }
    assert!(orders_of(&app, case.id).await.is_empty(), "nothing written");
    assert_eq!(app.post_form(&path, &order("B-1")).await.status(), 303);
    let again = app.post_form(&path, &order("B-1")).await;
    assert_eq!(again.status(), 422);
    assert!(
        again
            .text()
            .await
            .unwrap()
            .contains("déjà enregistré pour ce territoire")
    );
    assert_eq!(orders_of(&app, case.id).await, ["B-1"]);
}

#[tokio::test]
async fn the_address_history_of_another_case_at_the_same_address_shows_the_order() {
    let app = TestApp::spawn_with_accounts().await;
    let first = active_case(&app, "12 rue X").await;
    let second = active_case(&app, "12, Rue X").await;
    app.login_as(RT69).await;
    let response = app
        .post_form(
            &format!("/bo/signalements/{}/arretes", first.uuid),
            &order("C-7"),
        )
        .await;
    assert_eq!(response.status(), 303);
    let (status, html) = app
        .get_html(&format!("/bo/signalements/{}", second.uuid))
        .await;
    assert_eq!(status, 200);
    let panel = &html[html.find("id=\"arretes-titre\"").expect("orders panel")..];
    let panel = &panel[..panel.find("</section>").unwrap()];
    assert!(panel.contains("n° C-7 du 20/11/2026"), "{panel}");
    assert!(panel.contains("En cours"), "{panel}");
}

#[tokio::test]
async fn the_list_filters_cases_with_an_order_in_force() {
    let app = TestApp::spawn_with_accounts().await;
    let in_force = active_case(&app, "1 rue En Cours").await;
    let lifted = active_case(&app, "2 rue Levée").await;
    let without = active_case(&app, "3 rue Sans").await;
    app.login_as(RT69).await;
    let response = post_order(&app, &in_force.uuid, &order("F-1"), None).await;
    assert_eq!(response.status(), 303);
    let mut fields = order("F-2");
    fields.push(("arrete_lifted", "2026-12-01"));
    let response = post_order(&app, &lifted.uuid, &fields, None).await;
    assert_eq!(response.status(), 303);

    let (status, html) = app.get_html("/bo/signalements?arrete=en_cours").await;
    assert_eq!(status, 200);
    assert!(
        html.contains(&in_force.uuid),
        "the order in force is listed"
    );
    assert!(
        !html.contains(&lifted.uuid),
        "a lifted order is not in force"
    );
    assert!(!html.contains(&without.uuid));
    let (_, all) = app.get_html("/bo/signalements").await;
    assert!(all.contains(&lifted.uuid) && all.contains(&without.uuid));
    let (status, html) = app.get_html("/bo/signalements?arrete=peut-etre").await;
    assert_eq!(status, 400);
    assert!(html.contains("n’est pas reconnue pour l’arrêté"));
}
