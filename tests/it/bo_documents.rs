//! Documents in the back office, over HTTP against the real MariaDB, Redis,
//! clamd and object store: several files uploaded at once with a type and a
//! title, the case page grouping them, rename / type / visibility, photos
//! rotated for real, deletion by the uploader or a territory admin (refused
//! to another partner's agent), what the resident sees, hostile files, and
//! the case-list filters "avec rapport de visite" / "sans photo".

use std::io::Cursor;

use histologe::uploads::office::samples;
use object_store::{ObjectStoreExt, path::Path};
use reqwest::StatusCode;

use crate::common::{TestApp, cases::CaseBuilder};
use crate::report_form::Visitor;

const RT69: &str = "rt69@histologe.localhost";
const AGENT_SCHS69: &str = "agent.schs69@histologe.localhost";
const AGENT_ARS69: &str = "agent.ars69@histologe.localhost";

fn pdf(text: &str) -> Vec<u8> {
    format!("%PDF-1.4\n1 0 obj << /Title ({text}) >> endobj\n%%EOF\n").into_bytes()
}

/// A `width` × `height` PNG with a red left half, so that a turn shows.
fn png(width: u32, height: u32) -> Vec<u8> {
    let image = image::RgbImage::from_fn(width, height, |x, _| {
        if x < width / 2 {
            image::Rgb([200, 0, 0])
        } else {
            image::Rgb([0, 0, 200])
        }
    });
    let mut out = Vec::new();
    image::DynamicImage::ImageRgb8(image)
        .write_to(&mut Cursor::new(&mut out), image::ImageFormat::Png)
        .unwrap();
    out
}

/// A JPEG carrying an EXIF segment (camera metadata a photo must not keep).
fn jpeg_with_exif(width: u32, height: u32) -> Vec<u8> {
    let image = image::RgbImage::from_pixel(width, height, image::Rgb([90, 120, 30]));
    let mut plain = Vec::new();
    image::DynamicImage::ImageRgb8(image)
        .write_to(&mut Cursor::new(&mut plain), image::ImageFormat::Jpeg)
        .unwrap();
    let mut exif = b"Exif\0\0II*\0\x08\0\0\0\0\0\0\0\0\0".to_vec();
    exif.extend(b"GPS 45.76N 4.83E");
    let len = u16::try_from(exif.len() + 2).unwrap().to_be_bytes();
    let mut out = plain[..2].to_vec();
    out.extend([0xFF, 0xE1, len[0], len[1]]);
    out.extend(exif);
    out.extend(&plain[2..]);
    out
}

fn dimensions(bytes: &[u8]) -> (u32, u32) {
    let image = image::load_from_memory(bytes).expect("a readable image");
    (image.width(), image.height())
}

/// (filename, document_type, title, scan_status, uploaded_by_user_id)
type DocumentRow = (String, Option<String>, Option<String>, String, Option<u64>);

async fn partner_id(app: &TestApp, like: &str) -> u64 {
    sqlx::query_scalar("SELECT id FROM partners WHERE name LIKE ?")
        .bind(like)
        .fetch_one(&app.db)
        .await
        .unwrap()
}

async fn user_id(app: &TestApp, email: &str) -> u64 {
    sqlx::query_scalar("SELECT id FROM users WHERE email = ?")
        .bind(email)
        .fetch_one(&app.db)
        .await
        .unwrap()
}

/// An active case of the Rhône, assigned to the SCHS of Lyon and the ARS,
/// both accepted.
async fn case_with_partners(app: &TestApp, reference: &str) -> crate::common::cases::Case {
    let schs = partner_id(app, "Service communal%Lyon").await;
    let ars = partner_id(app, "ARS Auvergne%").await;
    CaseBuilder::new("69A")
        .reference(reference)
        .occupant_email("occupant@exemple.fr")
        .assigned_to(schs, "en_cours")
        .assigned_to(ars, "en_cours")
        .create(app)
        .await
}

/// Posts the upload form (multipart, the CSRF token in the URL as the page does).
async fn upload(
    app: &TestApp,
    case: &str,
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
        .post(app.url(&format!("/bo/signalements/{case}/documents?_csrf={token}")))
        .multipart(form)
        .send()
        .await
        .unwrap()
}

async fn uuid_of(app: &TestApp, filename: &str) -> String {
    sqlx::query_scalar("SELECT uuid FROM documents WHERE filename = ? ORDER BY id DESC LIMIT 1")
        .bind(filename)
        .fetch_one(&app.db)
        .await
        .unwrap()
}

async fn object(app: &TestApp, key: &str) -> Option<Vec<u8>> {
    match app.state.storage.get(&Path::from(key)).await {
        Ok(found) => Some(found.bytes().await.unwrap().to_vec()),
        Err(object_store::Error::NotFound { .. }) => None,
        Err(e) => panic!("storage: {e}"),
    }
}

async fn keys_of(app: &TestApp, uuid: &str) -> (String, Option<String>) {
    sqlx::query_as("SELECT object_key, thumbnail_key FROM documents WHERE uuid = ?")
        .bind(uuid)
        .fetch_one(&app.db)
        .await
        .unwrap()
}

/// The resident, checked in on the case's follow-up space; returns its path.
async fn resident(app: &TestApp, case: &crate::common::cases::Case) -> (Visitor, String) {
    let visitor = Visitor::new(app).await;
    let path = format!("/suivre-mon-signalement/{}", case.follow_up_code);
    let page = visitor
        .post(
            &path,
            &[
                ("initiale_prenom", "a"),
                ("initiale_nom", "t"),
                ("code_postal", "69003"),
            ],
        )
        .await;
    assert_eq!(page.status, StatusCode::SEE_OTHER, "identity check");
    (visitor, path)
}

#[tokio::test]
async fn an_agent_uploads_several_files_at_once_and_the_case_page_groups_them_by_type() {
    let app = TestApp::spawn_with_accounts().await;
    let case = case_with_partners(&app, "2026-DOC1").await;
    app.login_as(AGENT_SCHS69).await;
    let response = upload(
        &app,
        &case.uuid,
        &[
            ("document_type", "rapport_visite"),
            ("title", "Rapport du 3 mars"),
        ],
        &[
            ("rapport.pdf", pdf("rapport")),
            ("annexe.pdf", pdf("annexe")),
        ],
    )
    .await;
    assert_eq!(response.status(), 303);
    let response = upload(
        &app,
        &case.uuid,
        &[("document_type", "photo_situation")],
        &[("cuisine.png", png(40, 20))],
    )
    .await;
    assert_eq!(response.status(), 303);

    let agent = user_id(&app, AGENT_SCHS69).await;
    let rows: Vec<DocumentRow> = sqlx::query_as(
        "SELECT filename, document_type, title, scan_status, uploaded_by_user_id FROM documents
         WHERE report_id = ? ORDER BY id",
    )
    .bind(case.id)
    .fetch_all(&app.db)
    .await
    .unwrap();
    assert_eq!(rows.len(), 3);
    assert_eq!(rows[0].1.as_deref(), Some("rapport_visite"));
    assert_eq!(rows[1].2.as_deref(), Some("Rapport du 3 mars"));
    assert_eq!(rows[2].1.as_deref(), Some("photo_situation"));
    assert!(rows.iter().all(|r| r.3 == "pending" && r.4 == Some(agent)));
    // Each file has its antivirus scan queued with it.
    let scans: i64 = sqlx::query_scalar(
        "SELECT COUNT(*) FROM outbox WHERE kind = 'scan_document' AND report_id = ?",
    )
    .bind(case.id)
    .fetch_one(&app.db)
    .await
    .unwrap();
    assert_eq!(scans, 3);
    let (_, page) = app
        .get_html(&format!("/bo/signalements/{}", case.uuid))
        .await;
    assert!(page.contains("Procédure (2)"), "{page}");
    assert!(page.contains("Photos (1)"));
    assert!(page.contains("Analyse en cours"));

    app.run_antivirus_scans().await;
    let (_, page) = app
        .get_html(&format!("/bo/signalements/{}", case.uuid))
        .await;
    assert!(page.contains("Rapport du 3 mars"));
    assert!(!page.contains("Analyse en cours"));
    let photo = uuid_of(&app, "cuisine.png").await;
    assert!(page.contains(&format!("/bo/documents/{photo}/vignette")));
    let thumbnail = app.get(&format!("/bo/documents/{photo}/vignette")).await;
    assert_eq!(thumbnail.status(), 200);
    assert_eq!(thumbnail.headers()["content-type"], "image/jpeg");
    let audit: i64 = sqlx::query_scalar(
        "SELECT COUNT(*) FROM audit_events WHERE action = 'document_ajout' AND report_id = ?",
    )
    .bind(case.id)
    .fetch_one(&app.db)
    .await
    .unwrap();
    assert_eq!(audit, 2);
}

#[tokio::test]
async fn rotating_a_photo_turns_the_stored_image_and_its_thumbnail_without_metadata() {
    let app = TestApp::spawn_with_accounts().await;
    let case = case_with_partners(&app, "2026-DOC2").await;
    app.login_as(AGENT_SCHS69).await;
    let response = upload(
        &app,
        &case.uuid,
        &[("document_type", "photo_desordre")],
        &[
            ("mur.jpg", jpeg_with_exif(60, 30)),
            ("note.pdf", pdf("note")),
        ],
    )
    .await;
    assert_eq!(response.status(), 303);
    app.run_antivirus_scans().await;
    let photo = uuid_of(&app, "mur.jpg").await;
    let (before, before_thumb) = keys_of(&app, &photo).await;
    assert_eq!(dimensions(&object(&app, &before).await.unwrap()), (60, 30));

    let turned = app
        .post_form(
            &format!("/bo/documents/{photo}/pivoter"),
            &[("degres", "90")],
        )
        .await;
    assert_eq!(turned.status(), 303);
    let (after, after_thumb) = keys_of(&app, &photo).await;
    assert_ne!(after, before);
    let stored = object(&app, &after).await.unwrap();
    assert_eq!(dimensions(&stored), (30, 60), "turned a quarter");
    assert!(!stored.windows(4).any(|w| w == b"Exif"), "no metadata kept");
    let thumb = object(&app, after_thumb.as_deref().unwrap()).await.unwrap();
    let (w, h) = dimensions(&thumb);
    assert!(h > w, "the thumbnail turned too: {w}×{h}");
    assert!(object(&app, &before).await.is_none(), "old object removed");
    assert!(
        object(&app, before_thumb.as_deref().unwrap())
            .await
            .is_none()
    );
    let download = app.get(&format!("/bo/documents/{photo}")).await;
    assert_eq!(download.status(), 200);
    assert_eq!(dimensions(&download.bytes().await.unwrap()), (30, 60));

    let back = app
        .post_form(
            &format!("/bo/documents/{photo}/pivoter"),
            &[("degres", "270")],
        )
        .await;
    assert_eq!(back.status(), 303);
    let (again, _) = keys_of(&app, &photo).await;
    assert_eq!(dimensions(&object(&app, &again).await.unwrap()), (60, 30));

    // A PDF does not turn; a strange angle is a bad request.
    let pdf_uuid = uuid_of(&app, "note.pdf").await;
    let refused = app
        .post_form(
            &format!("/bo/documents/{pdf_uuid}/pivoter"),
            &[("degres", "90")],
        )
        .await;
    assert_eq!(refused.status(), 422);
    assert!(
        refused
            .text()
            .await
            .unwrap()
            .contains("Seules les photos peuvent être pivotées.")
    );
    let odd = app
        .post_form(
            &format!("/bo/documents/{photo}/pivoter"),
            &[("degres", "45")],
        )
        .await;
    assert_eq!(odd.status(), 400);
}

#[tokio::test]
async fn deleting_is_for_the_uploader_or_a_territory_admin_and_hides_the_file_everywhere() {
    let app = TestApp::spawn_with_accounts().await;
    let case = case_with_partners(&app, "2026-DOC3").await;
    app.login_as(AGENT_SCHS69).await;
    let response = upload(
        &app,
        &case.uuid,
        &[("document_type", "courrier_bailleur"), ("public", "1")],
        &[
            ("courrier.pdf", pdf("courrier")),
            ("relance.pdf", pdf("relance")),
        ],
    )
    .await;
    assert_eq!(response.status(), 303);
    app.run_antivirus_scans().await;
    let letter = uuid_of(&app, "courrier.pdf").await;
    let reminder = uuid_of(&app, "relance.pdf").await;
    let (visitor, path) = resident(&app, &case).await;
    assert!(visitor.get(&path).await.html.contains("courrier.pdf"));

    // Another partner's agent, working on the same case, may not.
    let ars = app.as_another_user();
    ars.login_as(AGENT_ARS69).await;
    let refused = ars
        .post_form(&format!("/bo/documents/{letter}/supprimer"), &[])
        .await;
    assert_eq!(refused.status(), 403);
    assert!(refused.text().await.unwrap().contains("Accès refusé"));
    let (_, page) = ars
        .get_html(&format!("/bo/signalements/{}", case.uuid))
        .await;
    assert!(!page.contains(&format!("/bo/documents/{letter}/supprimer")));

    // The uploader may.
    let deleted = app
        .post_form(&format!("/bo/documents/{letter}/supprimer"), &[])
        .await;
    assert_eq!(deleted.status(), 303);
    let (deleted_at, deleted_by): (Option<time::PrimitiveDateTime>, Option<u64>) =
        sqlx::query_as("SELECT deleted_at, deleted_by_user_id FROM documents WHERE uuid = ?")
            .bind(&letter)
            .fetch_one(&app.db)
            .await
            .unwrap();
    assert!(deleted_at.is_some());
    assert_eq!(deleted_by, Some(user_id(&app, AGENT_SCHS69).await));
    let audit: String = sqlx::query_scalar(
        "SELECT CAST(diff AS CHAR) FROM audit_events WHERE action = 'document_suppression' AND report_id = ?",
    )
    .bind(case.id)
    .fetch_one(&app.db)
    .await
    .unwrap();
    assert!(audit.contains("courrier.pdf"), "{audit}");
    // No longer listed nor served, in the back office or to the resident.
    assert_eq!(
        app.get(&format!("/bo/documents/{letter}")).await.status(),
        404
    );
    let (_, page) = app
        .get_html(&format!("/bo/signalements/{}", case.uuid))
        .await;
    assert!(!page.contains(&format!("/bo/documents/{letter}")));
    assert!(!visitor.get(&path).await.html.contains("courrier.pdf"));
    assert_eq!(
        visitor
            .get(&format!("{path}/documents/{letter}"))
            .await
            .status,
        404
    );
    // Twice: gone.
    assert_eq!(
        app.post_form(&format!("/bo/documents/{letter}/supprimer"), &[])
            .await
            .status(),
        404
    );

    // The territory admin may delete anybody's.
    let admin = app.as_another_user();
    admin.login_as(RT69).await;
    assert_eq!(
        admin
            .post_form(&format!("/bo/documents/{reminder}/supprimer"), &[])
            .await
            .status(),
        303
    );
    assert!(!visitor.get(&path).await.html.contains("relance.pdf"));
}

#[tokio::test]
async fn the_resident_sees_a_document_once_it_is_made_visible_and_no_longer_once_hidden() {
    let app = TestApp::spawn_with_accounts().await;
    let case = case_with_partners(&app, "2026-DOC4").await;
    app.login_as(AGENT_SCHS69).await;
    let response = upload(
        &app,
        &case.uuid,
        &[("document_type", "autre")],
        &[("constat.pdf", pdf("constat"))],
    )
    .await;
    assert_eq!(response.status(), 303);
    app.run_antivirus_scans().await;
    let doc = uuid_of(&app, "constat.pdf").await;
    let (visitor, path) = resident(&app, &case).await;
    assert!(!visitor.get(&path).await.html.contains("constat.pdf"));
    assert_eq!(
        visitor.get(&format!("{path}/documents/{doc}")).await.status,
        404
    );
    let mails_before = app.pending_jobs().await.len();

    // Renamed, typed, shown: the resident sees it and is told.
    let edited = app
        .post_form(
            &format!("/bo/documents/{doc}/modifier"),
            &[
                ("title", "Constat d’huissier"),
                ("document_type", "mise_en_demeure"),
                ("public", "1"),
            ],
        )
        .await;
    assert_eq!(edited.status(), 303);
    let (title, kind, public): (Option<String>, Option<String>, bool) =
        sqlx::query_as("SELECT title, document_type, is_public FROM documents WHERE uuid = ?")
            .bind(&doc)
            .fetch_one(&app.db)
            .await
            .unwrap();
    assert_eq!(title.as_deref(), Some("Constat d’huissier"));
    assert_eq!(kind.as_deref(), Some("mise_en_demeure"));
    assert!(public);
    let jobs = app.pending_jobs().await;
    assert!(jobs.len() > mails_before);
    assert!(
        jobs.iter().any(|j| j
            .to_string()
            .contains("Nouveau document sur votre signalement")),
        "{jobs:?}"
    );
    assert!(visitor.get(&path).await.html.contains("constat.pdf"));
    assert_eq!(
        visitor.get(&format!("{path}/documents/{doc}")).await.status,
        200
    );
    let (_, page) = app
        .get_html(&format!("/bo/signalements/{}", case.uuid))
        .await;
    assert!(page.contains("Constat d’huissier") && page.contains("visible par l’usager"));
    let diff: String = sqlx::query_scalar(
        "SELECT CAST(diff AS CHAR) FROM audit_events WHERE action = 'document_modification' AND report_id = ?",
    )
    .bind(case.id)
    .fetch_one(&app.db)
    .await
    .unwrap();
    assert!(
        diff.contains("mise_en_demeure") && diff.contains("visible_usager"),
        "{diff}"
    );

    // Hidden again.
    let hidden = app
        .post_form(
            &format!("/bo/documents/{doc}/modifier"),
            &[("title", ""), ("document_type", "mise_en_demeure")],
        )
        .await;
    assert_eq!(hidden.status(), 303);
    assert!(!visitor.get(&path).await.html.contains("constat.pdf"));
    assert_eq!(
        visitor.get(&format!("{path}/documents/{doc}")).await.status,
        404
    );
}

#[tokio::test]
async fn hostile_files_and_fields_get_french_errors_and_nothing_is_kept() {
    let app = TestApp::spawn_with_accounts().await;
    let case = case_with_partners(&app, "2026-DOC5").await;
    let schs = partner_id(&app, "Service communal%Lyon").await;

    // Not (yet) accepted: no upload.
    let waiting = CaseBuilder::new("69A")
        .reference("2026-DOC6")
        .assigned_to(schs, "nouveau")
        .create(&app)
        .await;
    app.login_as(AGENT_SCHS69).await;
    let refused = upload(
        &app,
        &waiting.uuid,
        &[("document_type", "autre")],
        &[("a.pdf", pdf("a"))],
    )
    .await;
    assert_eq!(refused.status(), 403);

    let mut elf = b"\x7fELF\x02\x01\x01\x00".to_vec();
    elf.extend(vec![0u8; 512]);
    for (name, bytes, message) in [
        ("rapport.docx", samples::docm(), "contient des macros"),
        (
            "setup.msi",
            samples::msi(),
            "est un programme ou un installateur",
        ),
        ("photo.png", elf, "est un programme ou un installateur"),
        (
            "../../etc/passwd",
            b"root:x:0:0\n".to_vec(),
            "n’est pas accepté",
        ),
        (
            "gros.docx",
            samples::zip_bomb(150),
            "anormalement compressée",
        ),
    ] {
        // A good file with a bad one: the upload is refused whole.
        let response = upload(
            &app,
            &case.uuid,
            &[("document_type", "autre")],
            &[("bon.pdf", pdf("bon")), (name, bytes)],
        )
        .await;
        assert_eq!(response.status(), 422, "{name}");
        let html = response.text().await.unwrap();
        assert!(html.contains(message), "{name}: {html}");
    }
    for (fields, message) in [
        (
            vec![("document_type", "PHOTO_VISITE")],
            "Choisissez le type du document dans la liste.",
        ),
        (
            vec![("document_type", "autre"), ("title", &*"x".repeat(300))],
            "Le titre compte 255 caractères au plus.",
        ),
    ] {
        let response = upload(&app, &case.uuid, &fields, &[("a.pdf", pdf("a"))]).await;
        assert_eq!(response.status(), 422);
        assert!(response.text().await.unwrap().contains(message));
    }
    let empty = upload(&app, &case.uuid, &[("document_type", "autre")], &[]).await;
    assert_eq!(empty.status(), 422);
    assert!(
        empty
            .text()
            .await
            .unwrap()
            .contains("Choisissez au moins un fichier")
    );
    let kept: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM documents")
        .fetch_one(&app.db)
        .await
        .unwrap();
    assert_eq!(kept, 0, "nothing refused is recorded");

    // A hostile name is kept as text, escaped on the page.
    let markup = "<img src=x onerror=alert(1)>.pdf";
    let response = upload(
        &app,
        &case.uuid,
        &[
            ("document_type", "autre"),
            ("title", "<script>alert(1)</script>"),
        ],
        &[(markup, pdf("x"))],
    )
    .await;
    assert_eq!(response.status(), 303);
    let (_, page) = app
        .get_html(&format!("/bo/signalements/{}", case.uuid))
        .await;
    assert!(!page.contains("<script>alert(1)</script>") && !page.contains("<img src=x"));
    assert!(page.contains("&lt;script&gt;") || page.contains("&#60;script&#62;"));
}

#[tokio::test]
async fn the_list_filters_cases_with_a_visit_report_and_cases_without_photos() {
    let app = TestApp::spawn_with_accounts().await;
    let with_report = case_with_partners(&app, "2026-AVEC-RAPPORT").await;
    let with_photo = case_with_partners(&app, "2026-AVEC-PHOTO").await;
    let bare = case_with_partners(&app, "2026-SANS-RIEN").await;
    app.login_as(RT69).await;
    for (case, kind, file) in [
        (&with_report, "rapport_visite", ("rapport.pdf", pdf("r"))),
        (&with_photo, "photo_desordre", ("mur.png", png(20, 20))),
    ] {
        let response = upload(&app, &case.uuid, &[("document_type", kind)], &[file]).await;
        assert_eq!(response.status(), 303);
    }
    let (status, list) = app
        .get_html("/bo/signalements?documents=avec_rapport_visite")
        .await;
    assert_eq!(status, 200);
    assert!(list.contains("2026-AVEC-RAPPORT"));
    assert!(!list.contains("2026-AVEC-PHOTO") && !list.contains("2026-SANS-RIEN"));
    let (_, list) = app.get_html("/bo/signalements?documents=sans_photo").await;
    assert!(list.contains("2026-AVEC-RAPPORT") && list.contains("2026-SANS-RIEN"));
    assert!(!list.contains("2026-AVEC-PHOTO"));
    // A deleted photo no longer counts.
    let photo = uuid_of(&app, "mur.png").await;
    assert_eq!(
        app.post_form(&format!("/bo/documents/{photo}/supprimer"), &[])
            .await
            .status(),
        303
    );
    let (_, list) = app.get_html("/bo/signalements?documents=sans_photo").await;
    assert!(list.contains("2026-AVEC-PHOTO"));
    let (status, list) = app.get_html("/bo/signalements?documents=nimporte").await;
    assert_eq!(status, 400);
    assert!(list.contains("n’est pas reconnue pour les documents"));
    let _ = bare;
}
