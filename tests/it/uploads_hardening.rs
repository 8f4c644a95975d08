//! Uploads as an attacker sends them: image bombs (measured on the real
//! `histologe serve` process), Office documents with macros, installers,
//! Java and Android packages, zip bombs, the saturated decoder, download
//! names, and the quotas on drafts, files and resident messages.

use std::{process::Stdio, time::Duration};

use histologe::uploads::{images::bombs, office::samples};
use reqwest::StatusCode;
use tokio::io::{AsyncBufReadExt, BufReader};

use crate::common::{TestApp, fresh_database, mysql_admin_url, redis_url, tempdir::TempDir};
use crate::report_form::{Page, Visitor, errors_of, file_tenant_report, open_territory, png, text};

const FIELD: &str = "desordres_logement_bruit_photos_upload";
const FIELDS: [(&str, &str); 1] = [("desordres_logement_bruit", "1")];

/// A visitor with a draft at the defects screen; returns the screen's path.
async fn draft_at_upload_screen(v: &Visitor) -> String {
    let uuid = v
        .start("12 rue des Lilas", "13100", "Aix-en-Provence")
        .await;
    v.step(
        &uuid,
        "profil",
        &[
            ("signalement_concerne_profil", "logement_occupez"),
            ("signalement_concerne_profil_detail_occupant", "locataire"),
            ("signalement_concerne_logement_social_autre_tiers", "non"),
        ],
    )
    .await;
    format!("/signalement/{uuid}/desordres-logement")
}

async fn upload(v: &Visitor, path: &str, name: &str, bytes: Vec<u8>) -> Page {
    v.post_files(path, &FIELDS, &[(FIELD, name, bytes)]).await
}

/// The `histologe serve` binary, on its own port, against a test database.
struct Server {
    child: tokio::process::Child,
    base_url: String,
    _storage: TempDir,
}

impl Server {
    async fn start(database_url: &str) -> Self {
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .expect("free port")
            .local_addr()
            .expect("port")
            .port();
        let storage = TempDir::new("histologe-storage");
        let mut child = tokio::process::Command::new(env!("CARGO_BIN_EXE_histologe"))
            .arg("serve")
            .env_clear()
            .env("PATH", std::env::var("PATH").unwrap_or_default())
            .env("APP_ENV", "test")
            .env("HOST", "127.0.0.1")
            .env("PORT", port.to_string())
            .env("APP_BASE_URL", format!("http://127.0.0.1:{port}"))
            .env("DATABASE_URL", database_url)
            .env("DATABASE_MAX_CONNECTIONS", "4")
            .env("REDIS_URL", redis_url())
            .env(
                "REDIS_KEY_PREFIX",
                format!("test:{}:", uuid::Uuid::new_v4().simple()),
            )
            .env("STORAGE_DIR", storage.path())
            .env("MAILBOX_DIR", storage.path().join("mailbox"))
            .env("ASSETS_DIR", concat!(env!("CARGO_MANIFEST_DIR"), "/assets"))
            .env("BAN_API_URL", "http://127.0.0.1:9/ban")
            .env("DPE_API_URL", "http://127.0.0.1:9/dpe")
            .env("TRUST_X_FORWARDED_FOR", "true")
            .env("LOG_FORMAT", "pretty")
            .env("RUST_LOG", "info")
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .kill_on_drop(true)
            .spawn()
            .expect("histologe serve starts");
        // Ready when it says it listens.
        let mut lines = BufReader::new(child.stdout.take().expect("stdout")).lines();
        tokio::time::timeout(Duration::from_secs(60), async {
            while let Some(line) = lines.next_line().await.expect("log line") {
                if line.contains("web process listening") {
                    return;
                }
            }
            panic!("histologe serve exited before listening");
        })
        .await
        .expect("histologe serve listens within a minute");
        // Keep draining the logs so the process never blocks on a full pipe.
        tokio::spawn(async move { while let Ok(Some(_)) = lines.next_line().await {} });
        Self {
            child,
            base_url: format!("http://127.0.0.1:{port}"),
            _storage: storage,
        }
    }

    /// The peak resident memory of the process so far, in MB.
    fn peak_memory_mb(&self) -> u64 {
        let pid = self.child.id().expect("running");
        let status = std::fs::read_to_string(format!("/proc/{pid}/status")).expect("proc status");
        let line = status
            .lines()
            .find(|l| l.starts_with("VmHWM:"))
            .expect("VmHWM line");
        let kb: u64 = line
            .split_whitespace()
            .nth(1)
            .and_then(|n| n.parse().ok())
            .expect("VmHWM in kB");
        kb / 1024
    }
}

#[tokio::test]
async fn image_bombs_get_a_french_422_and_the_web_process_stays_small() {
    let database_url = fresh_database(&mysql_admin_url()).await;
    let app = TestApp::spawn_with(&database_url, &redis_url()).await;
    open_territory(&app).await;
    let server = Server::start(&database_url).await;
    let remote = TestApp {
        base_url: server.base_url.clone(),
        ..app.clone_handle()
    };
    let v = Visitor::new(&remote).await;
    let path = draft_at_upload_screen(&v).await;
    // A real photo first, so that the baseline includes a decode.
    let page = upload(&v, &path, "photo.png", png()).await;
    assert_eq!(page.status, 303, "{}", errors_of(&page.html));
    let before = server.peak_memory_mb();

    // The bomb: 1 MB of PNG declaring 12000 × 12000 16-bit RGBA
    // (1.15 GB once decoded).
    let page = upload(
        &v,
        &path,
        "bombe.png",
        bombs::png(12_000, 12_000, 1024 * 1024),
    )
    .await;
    assert_eq!(page.status, 422);
    assert!(
        page.html
            .contains("est trop grande (12000 × 12000 pixels) : envoyez une image de 8000 pixels de côté au plus"),
        "{}",
        errors_of(&page.html)
    );
    // Within 8000 px, but 8000 × 8000 × 8 bytes.
    let page = upload(&v, &path, "carre.png", bombs::png(8000, 8000, 1024)).await;
    assert_eq!(page.status, 422);
    assert!(
        page.html.contains("trop lourde à traiter (environ 488 Mo"),
        "{}",
        errors_of(&page.html)
    );
    // The other formats, animated ones included.
    for (name, bomb) in [
        ("anim.gif", bombs::gif(7000, 7000)),
        ("anim.webp", bombs::webp(16_000, 16_000)),
        ("progressif.jpg", bombs::jpeg(7900, 7900)),
    ] {
        let page = upload(&v, &path, name, bomb).await;
        assert_eq!(page.status, 422, "{name}");
        assert!(
            page.html.contains(&format!("L’image « {name} » est trop")),
            "{name}: {}",
            errors_of(&page.html)
        );
    }
    let after = server.peak_memory_mb();
    println!("histologe serve peak memory: {before} MB before the bombs, {after} MB after");
    assert!(
        after <= before + 30,
        "the bombs grew the process from {before} MB to {after} MB"
    );
    assert_eq!(
        text(
            &app,
            "SELECT CAST(JSON_LENGTH(payload, '$.files') AS CHAR) FROM drafts"
        )
        .await,
        "1",
        "only the real photo is kept"
    );
}

#[tokio::test]
async fn macros_programs_installers_packages_and_zip_bombs_are_refused() {
    let app = TestApp::spawn().await;
    open_territory(&app).await;
    let v = Visitor::new(&app).await;
    let path = draft_at_upload_screen(&v).await;
    let mut elf = b"\x7fELF\x02\x01\x01\x00".to_vec();
    elf.extend(vec![0u8; 512]);
    for (name, bytes, message) in [
        ("rapport.docx", samples::docm(), "contient des macros"),
        ("comptes.xlsx", samples::xlsm(), "contient des macros"),
        (
            "courrier.doc",
            samples::doc_with_macros(),
            "contient des macros",
        ),
        (
            "setup.msi",
            samples::msi(),
            "est un programme ou un installateur",
        ),
        (
            "photo.jpg",
            samples::jar(),
            "est un programme ou un installateur",
        ),
        (
            "appli.apk",
            samples::apk(),
            "est un programme ou un installateur",
        ),
        ("photo.png", elf, "est un programme ou un installateur"),
        (
            "gros.docx",
            samples::zip_bomb(150),
            "est une archive anormalement compressée",
        ),
    ] {
        let page = upload(&v, &path, name, bytes).await;
        assert_eq!(page.status, 422, "{name}");
        assert!(
            page.html.contains(&format!("« {name} » {message}")),
            "{name}: {}",
            errors_of(&page.html)
        );
    }
    assert_eq!(
        text(
            &app,
            "SELECT CAST(JSON_LENGTH(payload, '$.files') AS CHAR) FROM drafts"
        )
        .await,
        "0",
        "nothing refused is kept"
    );
}

/// The uuid of the first document link of a follow-up space page.
fn document_links(html: &str, path: &str) -> Vec<String> {
    let marker = format!("{path}/documents/");
    html.match_indices(&marker)
        .map(|(at, _)| html[at..at + marker.len() + 36].to_owned())
        .collect()
}

#[tokio::test]
async fn office_documents_are_accepted_and_downloaded_under_their_detected_type() {
    let app = TestApp::spawn().await;
    open_territory(&app).await;
    let (v, path) = file_tenant_report(&app, "bureautique@exemple.fr").await;
    let page = v
        .post(
            &path,
            &[
                ("initiale_prenom", "c"),
                ("initiale_nom", "d"),
                ("code_postal", "13100"),
            ],
        )
        .await;
    assert_eq!(page.status, StatusCode::SEE_OTHER);
    // Real Word and Excel files, sent under misleading names.
    for (name, bytes) in [
        ("setup.msi", samples::docx()),
        ("x.jar", samples::xlsx()),
        ("ancien.exe", samples::doc()),
    ] {
        let page = v
            .post_files(
                &format!("{path}/messages"),
                &[("message", "Voici le document")],
                &[("documents", name, bytes)],
            )
            .await;
        assert_eq!(page.status, 303, "{name}: {}", errors_of(&page.html));
    }
    // Served only once scanned clean (docs/antivirus.md).
    app.run_antivirus_scans().await;
    let page = v.get(&path).await;
    let links = document_links(&page.html, &path);
    let mut names = Vec::new();
    for link in &links {
        let response = v
            .client
            .get(format!("{}{link}", v.base))
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 200);
        let disposition = response.headers()["content-disposition"]
            .to_str()
            .unwrap()
            .to_owned();
        names.push((
            response.headers()["content-type"]
                .to_str()
                .unwrap()
                .to_owned(),
            disposition,
        ));
    }
    let has = |mime: &str, name: &str| {
        names
            .iter()
            .any(|(m, d)| m == mime && d.contains(&format!("filename=\"{name}\"")))
    };
    assert!(
        has(
            "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
            "setup.docx"
        ),
        "{names:?}"
    );
    assert!(
        has(
            "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
            "x.xlsx"
        ),
        "{names:?}"
    );
    assert!(has("application/msword", "ancien.doc"), "{names:?}");
    assert!(
        names
            .iter()
            .all(|(_, d)| !d.contains(".msi") && !d.contains(".jar") && !d.contains(".exe")),
        "{names:?}"
    );
}

#[tokio::test]
async fn a_saturated_image_decoder_answers_503_with_retry_after_in_french() {
    let app = TestApp::spawn().await;
    open_territory(&app).await;
    let v = Visitor::new(&app).await;
    let path = draft_at_upload_screen(&v).await;
    let held = app.state.image_gate.hold_all().await;
    let response = v
        .client
        .post(format!("{}{path}?_csrf={}", v.base, {
            let page = v.get(&path).await;
            crate::common::csrf_in(&page.html)
        }))
        .multipart(
            reqwest::multipart::Form::new()
                .text(FIELDS[0].0, FIELDS[0].1)
                .part(
                    FIELD,
                    reqwest::multipart::Part::bytes(png()).file_name("photo.png"),
                ),
        )
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 503);
    assert_eq!(response.headers()["retry-after"], "10");
    let html = response.text().await.unwrap();
    assert!(
        html.contains("traite beaucoup de photos en ce moment"),
        "{html}"
    );
    drop(held);
    let page = upload(&v, &path, "photo.png", png()).await;
    assert_eq!(page.status, 303, "a free slot decodes again");
}

#[tokio::test]
async fn an_unreadable_upload_body_gets_a_french_400() {
    let app = TestApp::spawn().await;
    open_territory(&app).await;
    let v = Visitor::new(&app).await;
    let path = draft_at_upload_screen(&v).await;
    let page = v.get(&path).await;
    let token = crate::common::csrf_in(&page.html);
    let response = v
        .client
        .post(format!("{}{path}?_csrf={token}", v.base))
        .header("content-type", "multipart/form-data; boundary=XYZ")
        .body("--XYZ\r\nContent-Disposition: form-data; name=\"a\"\r\n\r\nno end")
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 400);
    let html = response.text().await.unwrap();
    assert!(
        html.contains("Le formulaire envoyé n’a pas pu être lu"),
        "{html}"
    );
    assert!(!html.to_lowercase().contains("multipart"), "{html}");
}

// ------------------------------------------------------------ quotas

#[tokio::test]
async fn one_address_may_start_thirty_drafts_an_hour() {
    let app = TestApp::spawn().await;
    open_territory(&app).await;
    let v = Visitor::new(&app).await;
    for _ in 0..30 {
        v.start("12 rue des Lilas", "13100", "Aix-en-Provence")
            .await;
    }
    let page = v
        .post(
            "/signalement/adresse",
            &[
                ("adresse_logement_adresse_detail_numero", "12 rue des Lilas"),
                ("adresse_logement_adresse_detail_code_postal", "13100"),
                ("adresse_logement_adresse_detail_commune", "Aix-en-Provence"),
                ("adresse_logement_complement_adresse_etage", "2"),
            ],
        )
        .await;
    assert_eq!(page.status, 429);
    assert!(page.html.contains("trop de demandes"), "{}", page.html);
    assert_eq!(
        text(&app, "SELECT CAST(COUNT(*) AS CHAR) FROM drafts").await,
        "30"
    );
    // Another address is not affected.
    let other = Visitor::new(&app).await;
    other
        .start("12 rue des Lilas", "13100", "Aix-en-Provence")
        .await;
}

/// Sends `n` small refused files (nothing to decode) in one request.
async fn send_files(v: &Visitor, path: &str, n: usize) -> Page {
    let files: Vec<_> = (0..n)
        .map(|i| (FIELD, "note.txt", format!("note {i}").into_bytes()))
        .collect();
    v.post_files(path, &FIELDS, &files).await
}

#[tokio::test]
async fn files_are_limited_to_sixty_per_draft_and_two_hundred_per_address_an_hour() {
    let app = TestApp::spawn().await;
    open_territory(&app).await;
    let v = Visitor::new(&app).await;
    let first = draft_at_upload_screen(&v).await;
    for _ in 0..3 {
        assert_eq!(send_files(&v, &first, 20).await.status, 422);
    }
    let page = send_files(&v, &first, 1).await;
    assert_eq!(page.status, 429);
    assert!(
        page.html
            .contains("Vous avez envoyé trop de fichiers en peu de temps"),
        "{}",
        errors_of(&page.html)
    );
    // 60 counted for this address (the 61st stopped at the draft's
    // quota); three more drafts reach 200.
    for n in [60, 60, 20] {
        let path = draft_at_upload_screen(&v).await;
        assert_eq!(send_files(&v, &path, n).await.status, 422);
    }
    let path = draft_at_upload_screen(&v).await;
    let page = send_files(&v, &path, 1).await;
    assert_eq!(page.status, 429, "the address's 201st file");
    // Without files the form goes on.
    let page = v.post_files(&path, &FIELDS, &[]).await;
    assert_eq!(page.status, 303, "{}", errors_of(&page.html));
}

#[tokio::test]
async fn a_report_receives_at_most_twenty_resident_messages_an_hour() {
    let app = TestApp::spawn().await;
    open_territory(&app).await;
    let (v, path) = file_tenant_report(&app, "bavard@exemple.fr").await;
    let page = v
        .post(
            &path,
            &[
                ("initiale_prenom", "c"),
                ("initiale_nom", "d"),
                ("code_postal", "13100"),
            ],
        )
        .await;
    assert_eq!(page.status, StatusCode::SEE_OTHER);
    for i in 0..20 {
        let page = v
            .post_files(
                &format!("{path}/messages"),
                &[("message", &format!("Message {i}"))],
                &[],
            )
            .await;
        assert_eq!(page.status, 303, "message {i}: {}", errors_of(&page.html));
    }
    let page = v
        .post_files(
            &format!("{path}/messages"),
            &[("message", "Encore un")],
            &[],
        )
        .await;
    assert_eq!(page.status, 429);
    assert!(
        page.html
            .contains("Trop de messages ont été envoyés sur ce signalement"),
        "{}",
        page.html
    );
    assert_eq!(
        text(
            &app,
            "SELECT CAST(COUNT(*) AS CHAR) FROM follow_ups WHERE category = 'message_usager'"
        )
        .await,
        "20"
    );
}

#[tokio::test]
async fn one_address_may_send_sixty_resident_messages_an_hour_across_reports() {
    let app = TestApp::spawn().await;
    open_territory(&app).await;
    let mut paths = Vec::new();
    for i in 0..4 {
        let (_, path) = file_tenant_report(&app, &format!("voisin{i}@exemple.fr")).await;
        paths.push(path);
    }
    // One person (one address) follows the four reports.
    let v = Visitor::new(&app).await;
    for path in &paths {
        let page = v
            .post(
                path,
                &[
                    ("initiale_prenom", "c"),
                    ("initiale_nom", "d"),
                    ("code_postal", "13100"),
                ],
            )
            .await;
        assert_eq!(page.status, StatusCode::SEE_OTHER);
    }
    for path in &paths[..3] {
        for i in 0..20 {
            let page = v
                .post_files(
                    &format!("{path}/messages"),
                    &[("message", &format!("Message {i}"))],
                    &[],
                )
                .await;
            assert_eq!(page.status, 303, "{}", errors_of(&page.html));
        }
    }
    let page = v
        .post_files(
            &format!("{}/messages", paths[3]),
            &[("message", "Le soixante et unième")],
            &[],
        )
        .await;
    assert_eq!(page.status, 429, "the address's 61st message");
    assert!(
        page.html
            .contains("Patientez une heure avant d’écrire à nouveau")
    );
}
