//! The inspection path through the partner API (issue 16): a visit planned,
//! rescheduled, concluded with two procedures, its conclusion rewritten,
//! its report and photos uploaded; a visit cancelled; documents typed,
//! renamed, shown to the resident, turned and deleted. Each the back
//! office's command, so the same refusals (French, field by field) and the
//! same e-mails to the resident.

use super::*;

const OCCUPANT: &str = "occupant.api-visite@exemple.fr";

/// An accepted case of a new 69A partner with the visit competence, whose
/// occupant has an e-mail, and an account of that partner.
async fn visiting_partner(app: &TestApp) -> (crate::common::cases::Case, String) {
    let t69 = territory_id(app, "69A").await;
    let partner = create_partner(app, t69, "SCHS API visites", "commune_schs").await;
    sqlx::query("UPDATE partners SET competences = '[\"visites\"]' WHERE id = ?")
        .bind(partner)
        .execute(&app.db)
        .await
        .unwrap();
    let case = CaseBuilder::new("69A")
        .occupant_email(OCCUPANT)
        .assigned_to(partner, "en_cours")
        .create(app)
        .await;
    let (id, secret) = api_account(
        app,
        "69A",
        AccountScope::Partners(vec![partner]),
        &Permission::ALL,
    )
    .await;
    let bearer = token(app, &id, &secret).await;
    (case, bearer)
}

fn day(offset: i64) -> String {
    (time::OffsetDateTime::now_utc() + time::Duration::days(offset))
        .date()
        .to_string()
}

/// The visit mail events queued for the occupant.
async fn resident_events(app: &TestApp) -> Vec<String> {
    app.pending_jobs()
        .await
        .iter()
        .filter(|j| j["template"] == "visit_for_resident" && j["to"] == OCCUPANT)
        .filter_map(|j| j["event"].as_str().map(str::to_owned))
        .collect()
}

async fn post_file(
    app: &TestApp,
    bearer: &str,
    path: &str,
    query: &[(&str, &str)],
    bytes: Vec<u8>,
) -> reqwest::Response {
    app.client
        .post(app.url(path))
        .query(query)
        .bearer_auth(bearer)
        .header("content-type", "application/octet-stream")
        .body(bytes)
        .send()
        .await
        .unwrap()
}

fn png() -> Vec<u8> {
    let image = image::RgbImage::from_fn(8, 4, |x, _| {
        if x < 4 {
            image::Rgb([200, 0, 0])
        } else {
            image::Rgb([0, 0, 200])
        }
    });
    let mut out = Vec::new();
    image::DynamicImage::ImageRgb8(image)
        .write_to(&mut std::io::Cursor::new(&mut out), image::ImageFormat::Png)
        .unwrap();
    out
}

#[tokio::test]
async fn a_visit_is_planned_rescheduled_concluded_and_documented_through_the_api() {
    use reqwest::Method;
    let app = TestApp::spawn_with_accounts().await;
    let (case, bearer) = visiting_partner(&app).await;
    let visits = format!("/api/v1/signalements/{}/visites", case.uuid);

    // Planned, as a control visit.
    let planned = send(
        &app,
        Method::POST,
        &bearer,
        &visits,
        &json!({"date_visite": format!("{}T10:30", day(3)), "type_visite": "visite_controle"}),
        None,
    )
    .await;
    assert_eq!(planned.status(), 201);
    let visit = json_of(planned).await;
    assert_eq!(visit["type_visite"], "visite_controle");
    assert_eq!(visit["statut"], "planned");
    let uuid = visit["uuid"].as_str().unwrap().to_owned();

    // A report before the visit took place is refused, next to the field.
    let early = post_file(
        &app,
        &bearer,
        &format!("/api/v1/visites/{uuid}/rapport-visite"),
        &[("nom_fichier", "rapport.pdf")],
        pdf("trop tôt"),
    )
    .await;
    let body = assert_problem(early, 422).await;
    assert_eq!(body["erreurs"][0]["champ"], "visite");

    // Rescheduled: a past date is refused, a later one moves the visit.
    let reschedule = format!("/api/v1/visites/{uuid}/reprogrammation");
    let past = send(
        &app,
        Method::POST,
        &bearer,
        &reschedule,
        &json!({"date_visite": format!("{}T10:30", day(-2)), "motif": "Occupant absent"}),
        None,
    )
    .await;
    let body = assert_problem(past, 422).await;
    assert_eq!(body["erreurs"][0]["champ"], "date_visite");
    let moved = send(
        &app,
        Method::POST,
        &bearer,
        &reschedule,
        &json!({"date_visite": format!("{}T14:00", day(5)), "motif": "Occupant absent ce jour-là"}),
        None,
    )
    .await;
    assert_eq!(moved.status(), 200);
    let visit = json_of(moved).await;
    assert!(
        visit["date_visite"].as_str().unwrap().starts_with(&day(5)),
        "{visit}"
    );
    let history: i64 = sqlx::query_scalar(
        "SELECT COUNT(*) FROM visit_reschedules vr JOIN visits v ON v.id = vr.visit_id WHERE v.uuid = ?",
    )
    .bind(&uuid)
    .fetch_one(&app.db)
    .await
    .unwrap();
    assert_eq!(history, 1);

    // Concluded with two procedures found, kept from the resident at first.
    let conclusion = format!("/api/v1/visites/{uuid}/conclusion");
    let concluded = send(
        &app,
        Method::POST,
        &bearer,
        &conclusion,
        &json!({
            "statut": "done",
            "conclusions": "Humidité importante, installation électrique dangereuse.",
            "procedures": ["insalubrite", "mise_en_securite_peril"],
            "occupant_present": true,
            "proprietaire_present": false,
            "publique": false
        }),
        None,
    )
    .await;
    assert_eq!(concluded.status(), 200);
    let visit = json_of(concluded).await;
    assert_eq!(
        visit["procedures"],
        json!(["insalubrite", "mise_en_securite_peril"])
    );
    assert_eq!(visit["conclusion_publique"], false);
    assert_eq!(visit["proprietaire_present"], false);

    // Rewritten and made public: audited with its diff.
    let unknown_procedure = send(
        &app,
        Method::PATCH,
        &bearer,
        &conclusion,
        &json!({"conclusions": "Constats complétés après la visite.", "procedures": ["peste"]}),
        None,
    )
    .await;
    let body = assert_problem(unknown_procedure, 422).await;
    assert_eq!(body["erreurs"][0]["champ"], "procedures");
    let edited = send(
        &app,
        Method::PATCH,
        &bearer,
        &conclusion,
        &json!({
            "conclusions": "Humidité importante, installation électrique dangereuse, suroccupation.",
            "procedures": ["insalubrite", "mise_en_securite_peril", "suroccupation"],
            "occupant_present": true,
            "publique": true
        }),
        None,
    )
    .await;
    assert_eq!(edited.status(), 200);
    assert_eq!(json_of(edited).await["conclusion_publique"], true);
    let audited: i64 = sqlx::query_scalar(
        "SELECT COUNT(*) FROM audit_events WHERE report_id = ? AND action = 'edit_visit_conclusion'",
    )
    .bind(case.id)
    .fetch_one(&app.db)
    .await
    .unwrap();
    assert_eq!(audited, 1);

    // The report (public) and a photo (internal) on the visit done.
    let report = post_file(
        &app,
        &bearer,
        &format!("/api/v1/visites/{uuid}/rapport-visite"),
        &[("nom_fichier", "rapport.pdf"), ("public", "true")],
        pdf("rapport"),
    )
    .await;
    assert_eq!(report.status(), 201);
    let report = json_of(report).await;
    assert_eq!(report["categorie"], "rapport_visite");
    assert_eq!(report["public"], true);
    assert_eq!(report["analyse"], "en_attente");
    let photo = post_file(
        &app,
        &bearer,
        &format!("/api/v1/visites/{uuid}/photos-visite"),
        &[("nom_fichier", "salon.png"), ("public", "true")],
        png(),
    )
    .await;
    assert_eq!(photo.status(), 201);
    let photo = json_of(photo).await;
    assert_eq!(photo["categorie"], "photo_visite");
    assert_eq!(photo["public"], false, "a visit photo stays internal");
    let attached: i64 = sqlx::query_scalar(
        "SELECT COUNT(*) FROM documents d JOIN visits v ON v.id = d.visit_id WHERE v.uuid = ?",
    )
    .bind(&uuid)
    .fetch_one(&app.db)
    .await
    .unwrap();
    assert_eq!(attached, 2);

    // The resident heard of each step, the report included.
    let events = resident_events(&app).await;
    for event in [
        "planifiee",
        "reportee",
        "effectuee",
        "conclusion",
        "rapport",
    ] {
        assert!(events.iter().any(|e| e == event), "{event} in {events:?}");
    }

    // A second visit, cancelled with its reason.
    let second = send(
        &app,
        Method::POST,
        &bearer,
        &visits,
        &json!({"date_visite": format!("{}T09:00", day(10))}),
        None,
    )
    .await;
    let second = json_of(second).await["uuid"].as_str().unwrap().to_owned();
    let cancel = format!("/api/v1/visites/{second}/annulation");
    let no_reason = send(
        &app,
        Method::POST,
        &bearer,
        &cancel,
        &json!({"motif": ""}),
        None,
    )
    .await;
    assert_eq!(
        assert_problem(no_reason, 422).await["erreurs"][0]["champ"],
        "motif"
    );
    let cancelled = send(
        &app,
        Method::POST,
        &bearer,
        &cancel,
        &json!({"motif": "Le bailleur a fait les travaux."}),
        None,
    )
    .await;
    assert_eq!(cancelled.status(), 200);
    assert_eq!(json_of(cancelled).await["statut"], "cancelled");

    // The case read back tells all of it.
    let detail = json_of(
        api_get(
            &app,
            &bearer,
            &format!("/api/v1/signalements/{}", case.uuid),
        )
        .await,
    )
    .await;
    let done = detail["visites"]
        .as_array()
        .unwrap()
        .iter()
        .find(|v| v["uuid"] == uuid.as_str())
        .unwrap()
        .clone();
    assert_eq!(done["statut"], "done");
    assert_eq!(done["procedures"].as_array().unwrap().len(), 3);
    let categories: Vec<&str> = detail["documents"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| d["categorie"].as_str().unwrap())
        .collect();
    assert_eq!(categories, vec!["rapport_visite", "photo_visite"]);
}

#[tokio::test]
async fn documents_are_typed_renamed_shown_turned_and_deleted_through_the_api() {
    use reqwest::Method;
    let app = TestApp::spawn_with_accounts().await;
    let (case, bearer) = visiting_partner(&app).await;
    let path = format!("/api/v1/signalements/{}/documents", case.uuid);

    let unknown_type = post_file(
        &app,
        &bearer,
        &path,
        &[("nom_fichier", "bail.pdf"), ("type_document", "grimoire")],
        pdf("bail"),
    )
    .await;
    assert_eq!(
        assert_problem(unknown_type, 422).await["erreurs"][0]["champ"],
        "type_document"
    );
    let lease = post_file(
        &app,
        &bearer,
        &path,
        &[
            ("nom_fichier", "bail.pdf"),
            ("type_document", "bail"),
            ("titre", "Bail de 2021"),
        ],
        pdf("bail"),
    )
    .await;
    assert_eq!(lease.status(), 201);
    let lease = json_of(lease).await;
    assert_eq!(lease["categorie"], "bail");
    assert_eq!(lease["titre"], "Bail de 2021");
    assert_eq!(lease["public"], false);
    let lease = lease["uuid"].as_str().unwrap().to_owned();

    // Renamed and shown to the resident (who is told); the type kept.
    let document = format!("/api/v1/documents/{lease}");
    let before = app.pending_jobs().await.len();
    let shown = send(
        &app,
        Method::PATCH,
        &bearer,
        &document,
        &json!({"titre": "Bail signé", "public": true}),
        None,
    )
    .await;
    assert_eq!(shown.status(), 200);
    let shown = json_of(shown).await;
    assert_eq!(shown["titre"], "Bail signé");
    assert_eq!(shown["categorie"], "bail");
    assert_eq!(shown["public"], true);
    assert!(
        app.pending_jobs().await.len() > before,
        "the resident is told"
    );

    // Only a photo turns.
    let turn = format!("/api/v1/documents/{lease}/rotation");
    let not_a_photo = send(
        &app,
        Method::POST,
        &bearer,
        &turn,
        &json!({"degres": 90}),
        None,
    )
    .await;
    assert_eq!(
        assert_problem(not_a_photo, 422).await["erreurs"][0]["champ"],
        "degres"
    );
    let photo = post_file(
        &app,
        &bearer,
        &path,
        &[
            ("nom_fichier", "mur.png"),
            ("type_document", "photo_desordre"),
        ],
        png(),
    )
    .await;
    let photo = json_of(photo).await["uuid"].as_str().unwrap().to_owned();
    let odd = send(
        &app,
        Method::POST,
        &bearer,
        &format!("/api/v1/documents/{photo}/rotation"),
        &json!({"degres": 45}),
        None,
    )
    .await;
    assert_problem(odd, 400).await;
    let turned = send(
        &app,
        Method::POST,
        &bearer,
        &format!("/api/v1/documents/{photo}/rotation"),
        &json!({"degres": 90}),
        None,
    )
    .await;
    assert_eq!(turned.status(), 200);
    let (width, height): (u32, u32) = {
        use object_store::ObjectStoreExt;
        let key: String = sqlx::query_scalar("SELECT object_key FROM documents WHERE uuid = ?")
            .bind(&photo)
            .fetch_one(&app.db)
            .await
            .unwrap();
        let bytes = app
            .state
            .storage
            .get(&object_store::path::Path::from(key))
            .await
            .unwrap()
            .bytes()
            .await
            .unwrap();
        let image = image::load_from_memory(&bytes).unwrap();
        (image.width(), image.height())
    };
    assert_eq!((width, height), (4, 8), "8 × 4 turned a quarter");

    // The resident's own document may not be deleted by the partner; its
    // own one is, then gone from every read.
    let resident_document = uuid::Uuid::new_v4().to_string();
    sqlx::query(
        "INSERT INTO documents (uuid, report_id, object_key, filename, mime, size, kind, scan_status)
         VALUES (?, ?, 'documents/resident', 'photo.pdf', 'application/pdf', 10, 'document', 'clean')",
    )
    .bind(&resident_document)
    .bind(case.id)
    .execute(&app.db)
    .await
    .unwrap();
    let refused = app
        .client
        .delete(app.url(&format!("/api/v1/documents/{resident_document}")))
        .bearer_auth(&bearer)
        .send()
        .await
        .unwrap();
    assert_problem(refused, 403).await;
    let deleted = app
        .client
        .delete(app.url(&document))
        .bearer_auth(&bearer)
        .send()
        .await
        .unwrap();
    assert_eq!(deleted.status(), 204);
    assert!(deleted.text().await.unwrap().is_empty());
    assert_problem(api_get(&app, &bearer, &document).await, 404).await;
    let again = app
        .client
        .delete(app.url(&document))
        .bearer_auth(&bearer)
        .send()
        .await
        .unwrap();
    assert_problem(again, 404).await;
    let detail = json_of(
        api_get(
            &app,
            &bearer,
            &format!("/api/v1/signalements/{}", case.uuid),
        )
        .await,
    )
    .await;
    assert!(
        detail["documents"]
            .as_array()
            .unwrap()
            .iter()
            .all(|d| d["uuid"] != lease.as_str()),
        "a deleted document is not listed"
    );
    let audited: i64 = sqlx::query_scalar(
        "SELECT COUNT(*) FROM audit_events WHERE report_id = ? AND action = 'document_suppression'",
    )
    .bind(case.id)
    .fetch_one(&app.db)
    .await
    .unwrap();
    assert_eq!(audited, 1);
}
