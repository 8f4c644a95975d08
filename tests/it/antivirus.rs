//! Antivirus, end to end against the project's real clamd (started by
//! `scripts/services.sh` with its own EICAR signature): files are served
//! only once scanned clean, infected ones are quarantined and both the
//! uploader and the territory are told, and documents wait while clamd is
//! down.

use std::{
    sync::Arc,
    time::{Duration, Instant},
};

use histologe::{
    db,
    integrations::clamav::{Clamd, ClamdAddress, Verdict},
    worker::{Worker, WorkerOptions, antivirus, scheduler},
};
use object_store::{ObjectStoreExt, path::Path};
use reqwest::StatusCode;

use crate::common::{TestApp, clamd_address};
use crate::report_form::{Visitor, file_tenant_report, scalar, text};

/// The EICAR test file, assembled here so that this source file does not
/// itself carry the signature.
fn eicar() -> Vec<u8> {
    let head = r"X5O!P%@AP[4\PZX54(P^)7CC)7}$";
    format!("{head}EICAR-STANDARD-ANTIVIRUS-TEST-FILE!$H+H*").into_bytes()
}

/// A file the upload checks accept as a PDF, with the EICAR string inside.
fn infected_pdf() -> Vec<u8> {
    let mut pdf = b"%PDF-1.4\n".to_vec();
    pdf.extend(eicar());
    pdf.extend(b"\n%%EOF\n");
    pdf
}

fn clean_pdf() -> Vec<u8> {
    b"%PDF-1.4\n1 0 obj << /Type /Catalog >> endobj\n%%EOF\n".to_vec()
}

const RESIDENT: &str = "locataire@exemple.fr";
const ADMIN_13: &str = "rt13@histologe.localhost";

/// A resident's report in territory 13 (demo accounts loaded), the resident
/// checked in on its follow-up space.
async fn resident_with_report() -> (TestApp, Visitor, String) {
    let app = TestApp::spawn_with_accounts().await;
    let (visitor, path) = file_tenant_report(&app, RESIDENT).await;
    let page = visitor
        .post(
            &path,
            &[
                ("initiale_prenom", "c"),
                ("initiale_nom", "d"),
                ("code_postal", "13100"),
            ],
        )
        .await;
    assert_eq!(page.status, StatusCode::SEE_OTHER, "identity check");
    (app, visitor, path)
}

/// The resident sends a message with one file; returns the document's uuid.
async fn send_file(
    app: &TestApp,
    visitor: &Visitor,
    path: &str,
    name: &str,
    bytes: Vec<u8>,
) -> String {
    let page = visitor
        .post_files(
            &format!("{path}/messages"),
            &[("message", "Voici le document demandé")],
            &[("documents", name, bytes)],
        )
        .await;
    assert_eq!(page.status, StatusCode::SEE_OTHER, "{}", page.html);
    text(
        app,
        &format!("SELECT uuid FROM documents WHERE filename = '{name}'"),
    )
    .await
}

fn worker_with(app: &TestApp, clamd: ClamdAddress) -> Worker {
    let mut config = (*app.state.config).clone();
    config.clamd_address = clamd;
    Worker::new(
        app.db.clone(),
        Arc::new(config),
        app.state.storage.clone(),
        WorkerOptions {
            batch: 8,
            lease: Duration::from_secs(30),
            poll_interval: Duration::from_millis(20),
            backoff_base: Duration::from_millis(50),
            backoff_max: Duration::from_millis(200),
            connect_timeout: Duration::from_secs(1),
            timeout: Duration::from_secs(2),
            scheduler: false,
            ..WorkerOptions::default()
        },
    )
    .expect("worker")
}

/// The outbox row of a document's scan.
async fn scan_job(app: &TestApp, uuid: &str) -> u64 {
    scalar(
        app,
        &format!(
            "SELECT CAST(o.id AS SIGNED) FROM outbox o JOIN documents d
               ON o.idempotency_key = CONCAT('scan_document:', d.id)
             WHERE d.uuid = '{uuid}'"
        ),
    )
    .await as u64
}

/// Runs the worker engine until the job reaches `status` (bounded).
async fn run_until(worker: &Worker, app: &TestApp, job: u64, status: &str) -> db::outbox::JobState {
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let state = db::outbox::find(&app.db, job).await.unwrap().unwrap();
        if state.status == status {
            return state;
        }
        assert!(
            Instant::now() < deadline,
            "job {job} still {} after 20 s: {state:?}",
            state.status
        );
        if worker.run_once().await.unwrap() == 0 {
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }
}

impl TestApp {
    /// Scans the documents that wait for it, as the worker does right after
    /// an upload (the handler itself; the rest of the queue is left alone),
    /// and marks their scan jobs done.
    pub async fn run_antivirus_scans(&self) {
        let worker = worker_with(self, clamd_address());
        for (id, _) in db::documents::list_pending(&self.db, 1000).await.unwrap() {
            antivirus::scan_document(&worker, id)
                .await
                .expect("scan completes against the project's clamd");
            sqlx::query(
                "UPDATE outbox SET status = 'done', done_at = UTC_TIMESTAMP()
                 WHERE kind = 'scan_document' AND idempotency_key = CONCAT('scan_document:', ?)",
            )
            .bind(id)
            .execute(&self.db)
            .await
            .unwrap();
        }
    }
}

async fn download(visitor: &Visitor, path: &str, uuid: &str) -> reqwest::Response {
    visitor
        .client
        .get(format!("{}{path}/documents/{uuid}", visitor.base))
        .send()
        .await
        .unwrap()
}

async fn scan_status(app: &TestApp, uuid: &str) -> String {
    text(
        app,
        &format!("SELECT scan_status FROM documents WHERE uuid = '{uuid}'"),
    )
    .await
}

#[tokio::test]
async fn the_project_clamd_answers_ping_and_finds_the_eicar_test_file() {
    let clamd = Clamd::new(clamd_address(), Duration::from_secs(10));
    clamd.ping().await.expect("clamd answers PONG");
    assert_eq!(clamd.scan(&clean_pdf()).await.unwrap(), Verdict::Clean);
    match clamd.scan(&infected_pdf()).await.unwrap() {
        Verdict::Infected(signature) => {
            assert!(signature.starts_with("Histologe.Test.EICAR"), "{signature}")
        }
        Verdict::Clean => panic!("EICAR not found"),
    }
    // Larger than one INSTREAM chunk: the EICAR string at the very end.
    let mut big = vec![b' '; 300 * 1024];
    big.extend(eicar());
    assert!(matches!(
        clamd.scan(&big).await.unwrap(),
        Verdict::Infected(_)
    ));
}

#[tokio::test]
async fn eicar_sent_by_a_resident_is_quarantined_never_served_and_both_sides_are_told() {
    let (app, visitor, path) = resident_with_report().await;
    let uuid = send_file(&app, &visitor, &path, "facture.pdf", infected_pdf()).await;
    let (object_key, report_id): (String, u64) =
        sqlx::query_as("SELECT object_key, report_id FROM documents WHERE uuid = ?")
            .bind(&uuid)
            .fetch_one(&app.db)
            .await
            .unwrap();
    assert_eq!(scan_status(&app, &uuid).await, "pending");

    app.run_antivirus_scans().await;

    // Infected, with its signature, moved to quarantine.
    assert_eq!(scan_status(&app, &uuid).await, "infected");
    let signature = text(
        &app,
        &format!("SELECT scan_signature FROM documents WHERE uuid = '{uuid}'"),
    )
    .await;
    assert!(signature.starts_with("Histologe.Test.EICAR"), "{signature}");
    let storage = &app.state.storage;
    assert!(matches!(
        storage.get(&Path::from(object_key.as_str())).await,
        Err(object_store::Error::NotFound { .. })
    ));
    let quarantined = storage
        .get(&Path::from(format!("quarantine/{object_key}")))
        .await
        .expect("the file is kept in quarantine")
        .bytes()
        .await
        .unwrap();
    assert_eq!(quarantined.as_ref(), infected_pdf().as_slice());

    // Never served: not to the resident, not to the territory admin.
    let response = download(&visitor, &path, &uuid).await;
    assert_eq!(response.status(), StatusCode::GONE);
    assert!(response.text().await.unwrap().contains("Fichier bloqué"));
    let admin = app.as_another_user();
    admin.login_as(ADMIN_13).await;
    let response = admin.get(&format!("/bo/documents/{uuid}")).await;
    assert_eq!(response.status(), StatusCode::GONE);
    let body = response.text().await.unwrap();
    assert!(body.contains("programme malveillant") && !body.contains("EICAR"));
    // Listed as blocked, without a link.
    let page = visitor.get(&path).await;
    assert!(page.html.contains("Bloqué"));
    assert!(!page.html.contains(&format!("documents/{uuid}")));
    // Nor sent to a partner.
    assert!(
        db::jobs_data::report_documents(&app.db, report_id)
            .await
            .unwrap()
            .iter()
            .all(|d| d.filename != "facture.pdf")
    );

    // The resident is told by e-mail, the territory in the application and
    // by e-mail, and the audit log keeps the event.
    let jobs = app.pending_jobs().await;
    assert!(
        jobs.iter()
            .any(|j| j["template"] == "case_update_for_resident"
                && j["to"] == RESIDENT
                && j["title"].as_str().unwrap().contains("bloqué")),
        "resident e-mail queued: {jobs:?}"
    );
    assert!(
        jobs.iter().any(|j| j["template"] == "case_update_for_staff"
            && j["to"] == ADMIN_13
            && j["title"].as_str().unwrap().contains("antivirus")),
        "territory admin e-mail queued: {jobs:?}"
    );
    assert_eq!(
        scalar(
            &app,
            &format!(
                "SELECT COUNT(*) FROM notifications n JOIN users u ON u.id = n.user_id
                 WHERE u.email = '{ADMIN_13}' AND n.kind = 'document_bloque' AND n.report_id = {report_id}"
            )
        )
        .await,
        1
    );
    let (_, notifications) = admin.get_html("/bo/notifications").await;
    assert!(notifications.contains("Fichier bloqué par l’antivirus"));
    assert_eq!(
        scalar(
            &app,
            &format!(
                "SELECT COUNT(*) FROM audit_events WHERE action = 'antivirus_quarantine'
                 AND entity_id = '{uuid}' AND report_id = {report_id}"
            )
        )
        .await,
        1
    );

    // Scanning again changes nothing (a verdict is final).
    antivirus::scan_document(&worker_with(&app, clamd_address()), {
        scalar(
            &app,
            &format!("SELECT CAST(id AS SIGNED) FROM documents WHERE uuid = '{uuid}'"),
        )
        .await as u64
    })
    .await
    .unwrap();
    assert_eq!(scan_status(&app, &uuid).await, "infected");
    assert_eq!(
        scalar(
            &app,
            "SELECT COUNT(*) FROM audit_events WHERE action = 'antivirus_quarantine'"
        )
        .await,
        1
    );
}

#[tokio::test]
async fn a_clean_file_is_served_only_once_scanned_and_always_as_an_attachment() {
    let (app, visitor, path) = resident_with_report().await;
    let uuid = send_file(&app, &visitor, &path, "Bail signé.pdf", clean_pdf()).await;
    let report_id = scalar(
        &app,
        &format!("SELECT CAST(report_id AS SIGNED) FROM documents WHERE uuid = '{uuid}'"),
    )
    .await as u64;

    // Not scanned yet: 409 "analyse en cours", for the resident and the agent.
    let response = download(&visitor, &path, &uuid).await;
    assert_eq!(response.status(), StatusCode::CONFLICT);
    assert_eq!(response.headers()["retry-after"], "30");
    assert!(response.text().await.unwrap().contains("Analyse en cours"));
    let admin = app.as_another_user();
    admin.login_as(ADMIN_13).await;
    let response = admin.get(&format!("/bo/documents/{uuid}")).await;
    assert_eq!(response.status(), StatusCode::CONFLICT);
    let page = visitor.get(&path).await;
    assert!(page.html.contains("Analyse en cours"), "badge on the list");
    let case_uuid = text(
        &app,
        &format!("SELECT uuid FROM reports WHERE id = {report_id}"),
    )
    .await;
    let (_, case) = admin
        .get_html(&format!("/bo/signalements/{case_uuid}"))
        .await;
    assert!(case.contains("Analyse en cours"));
    let for_partners =
        |docs: Vec<db::jobs_data::DocumentRef>| docs.iter().any(|d| d.filename == "Bail signé.pdf");
    assert!(
        !for_partners(
            db::jobs_data::report_documents(&app.db, report_id)
                .await
                .unwrap()
        ),
        "a pending file is not sent to partners"
    );

    app.run_antivirus_scans().await;

    assert_eq!(scan_status(&app, &uuid).await, "clean");
    for response in [
        download(&visitor, &path, &uuid).await,
        admin.get(&format!("/bo/documents/{uuid}")).await,
    ] {
        assert_eq!(response.status(), StatusCode::OK);
        let headers = response.headers();
        assert_eq!(headers["content-type"], "application/pdf");
        assert_eq!(headers["x-content-type-options"], "nosniff");
        assert_eq!(headers["cache-control"], "private, no-store");
        let disposition = headers["content-disposition"].to_str().unwrap();
        assert!(disposition.starts_with("attachment;"), "{disposition}");
        assert!(disposition.contains("filename*=UTF-8''Bail%20sign%C3%A9.pdf"));
        assert_eq!(response.bytes().await.unwrap().as_ref(), clean_pdf());
    }
    let page = visitor.get(&path).await;
    assert!(!page.html.contains("Analyse en cours"));
    assert!(
        for_partners(
            db::jobs_data::report_documents(&app.db, report_id)
                .await
                .unwrap()
        ),
        "a clean file goes to partners"
    );
}

#[tokio::test]
async fn documents_wait_while_clamd_is_down_and_are_scanned_when_it_returns() {
    let (app, visitor, path) = resident_with_report().await;
    let uuid = send_file(&app, &visitor, &path, "quittance.pdf", clean_pdf()).await;
    let job = scan_job(&app, &uuid).await;

    // clamd down: a closed port.
    let closed = {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        listener.local_addr().unwrap()
    };
    let down = worker_with(&app, ClamdAddress::Tcp(closed.to_string()));
    let state = run_until(&down, &app, job, "failed").await;
    assert!(
        state
            .last_error
            .as_deref()
            .unwrap_or_default()
            .contains("antivirus"),
        "{state:?}"
    );
    assert_eq!(scan_status(&app, &uuid).await, "pending");
    let response = download(&visitor, &path, &uuid).await;
    assert_eq!(response.status(), StatusCode::CONFLICT);

    // clamd is back: the retry scans it.
    let up = worker_with(&app, clamd_address());
    let state = run_until(&up, &app, job, "done").await;
    assert!(state.attempts >= 2, "{state:?}");
    assert_eq!(scan_status(&app, &uuid).await, "clean");
    let response = download(&visitor, &path, &uuid).await;
    assert_eq!(response.status(), StatusCode::OK);
}

#[tokio::test]
async fn the_daily_rescan_queues_every_document_still_pending() {
    assert!(
        scheduler::SCHEDULES
            .iter()
            .any(|s| s.name == "antivirus_rescan" && s.hour == 4)
    );
    let (app, visitor, path) = resident_with_report().await;
    let uuid = send_file(&app, &visitor, &path, "avis.pdf", clean_pdf()).await;
    // Its scan job gave up (clamd was down for all its attempts).
    let job = scan_job(&app, &uuid).await;
    sqlx::query("UPDATE outbox SET status = 'dead' WHERE id = ?")
        .bind(job)
        .execute(&app.db)
        .await
        .unwrap();

    let worker = worker_with(&app, clamd_address());
    scheduler::run(&worker, "antivirus_rescan", "2026-12-05")
        .await
        .unwrap();
    let id = scalar(
        &app,
        &format!("SELECT CAST(id AS SIGNED) FROM documents WHERE uuid = '{uuid}'"),
    )
    .await;
    let rescan = scalar(
        &app,
        &format!(
            "SELECT CAST(id AS SIGNED) FROM outbox
             WHERE idempotency_key = 'scan_document:{id}:2026-12-05' AND status = 'pending'"
        ),
    )
    .await as u64;
    run_until(&worker, &app, rescan, "done").await;
    assert_eq!(scan_status(&app, &uuid).await, "clean");
}

#[test]
fn production_refuses_to_start_without_a_clamd() {
    let dir = crate::common::tempdir::TempDir::new("histologe-cli");
    let output = std::process::Command::new(env!("CARGO_BIN_EXE_histologe"))
        .arg("migrate")
        .env_clear()
        .envs([
            ("APP_ENV", "production"),
            ("SECRET_KEY", "a-production-secret-key-of-at-least-32-chars"),
            ("DATABASE_URL", "mysql://nobody@127.0.0.1:9/none"),
        ])
        .current_dir(dir.path())
        .output()
        .expect("run histologe");
    assert!(!output.status.success());
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains("CLAMD_ADDRESS is required in production"),
        "{stderr}"
    );
}
