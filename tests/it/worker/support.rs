//! Fixtures: a worker bound to a test app, data rows, enqueue and drain.

use std::{
    sync::Arc,
    time::{Duration, Instant},
};

use histologe::{
    config::{Config, MailConfig, Secret},
    db::{self, outbox::JobState},
    queue::{self, Job, JobContext},
    worker::{Worker, WorkerOptions},
};

use crate::common::{TestApp, cases::CaseBuilder};

/// Options fit for tests: short timeouts, short backoff, no scheduler.
pub fn options() -> WorkerOptions {
    WorkerOptions {
        batch: 4,
        lease: Duration::from_secs(30),
        poll_interval: Duration::from_millis(20),
        backoff_base: Duration::from_millis(50),
        backoff_max: Duration::from_millis(400),
        connect_timeout: Duration::from_secs(1),
        timeout: Duration::from_secs(2),
        scheduler: false,
        ..WorkerOptions::default()
    }
}

/// A worker on the app's database and storage, with a tweaked configuration.
pub fn worker(app: &TestApp, tweak: impl FnOnce(&mut Config), options: WorkerOptions) -> Worker {
    let mut config = (*app.state.config).clone();
    tweak(&mut config);
    Worker::new(
        app.db.clone(),
        Arc::new(config),
        app.state.storage.clone(),
        options,
    )
    .expect("worker")
}

pub fn brevo_config(url: &str) -> MailConfig {
    MailConfig::Brevo {
        api_key: Secret::new(crate::fakes::BREVO_KEY),
        api_url: format!("{url}/v3"),
    }
}

/// Records a job as a business transaction would; returns its id.
pub async fn enqueue(app: &TestApp, job: &Job, context: JobContext) -> u64 {
    let key = format!("test:{}", uuid::Uuid::new_v4());
    let mut tx = app.db.begin().await.unwrap();
    queue::enqueue(&mut tx, job, Some(&key), context)
        .await
        .unwrap();
    tx.commit().await.unwrap();
    db::outbox::find_by_key(&app.db, &key)
        .await
        .unwrap()
        .unwrap()
        .id
}

pub async fn job(app: &TestApp, id: u64) -> JobState {
    db::outbox::find(&app.db, id).await.unwrap().unwrap()
}

/// Runs the worker until the job reaches one of `statuses` (polling, with
/// a deadline).
pub async fn run_until(worker: &Worker, app: &TestApp, id: u64, statuses: &[&str]) -> JobState {
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let state = job(app, id).await;
        if statuses.contains(&state.status.as_str()) {
            return state;
        }
        assert!(
            Instant::now() < deadline,
            "job {id} still {} after 20 s: {state:?}",
            state.status
        );
        if worker.run_once().await.unwrap() == 0 {
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }
}

/// Runs the worker until no job is pending, failed or running.
pub async fn drain(worker: &Worker, app: &TestApp) {
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let open = db::outbox::list_all(&app.db)
            .await
            .unwrap()
            .into_iter()
            .filter(|j| matches!(j.status.as_str(), "pending" | "failed" | "running"))
            .count();
        if open == 0 {
            return;
        }
        assert!(
            Instant::now() < deadline,
            "{open} jobs still open after 30 s"
        );
        if worker.run_once().await.unwrap() == 0 {
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }
}

pub async fn territory(app: &TestApp, code: &str) -> u32 {
    sqlx::query_scalar("SELECT CAST(id AS UNSIGNED) FROM territories WHERE code = ?")
        .bind(code)
        .fetch_one(&app.db)
        .await
        .map(|id: u64| id as u32)
        .unwrap()
}

/// A partner of territory 13 with the given interconnection settings.
#[derive(Default)]
pub struct PartnerSettings<'a> {
    pub esabora: Option<(&'a str, &'a str)>,
    pub webhook: Option<(&'a str, &'a str)>,
    pub zapier: Option<&'a str>,
    pub territory: Option<&'a str>,
}

pub async fn partner(app: &TestApp, settings: PartnerSettings<'_>) -> u64 {
    let territory = territory(app, settings.territory.unwrap_or("13")).await;
    sqlx::query(
        "INSERT INTO partners (territory_id, name, type, competences, email, esabora_kind, esabora_url,
                               esabora_token, webhook_url, webhook_secret, zapier_url, zapier_token)
         VALUES (?, CONCAT('Partenaire ', UUID()), 'commune_schs', '[]', 'schs@ville.fr', ?, ?, ?, ?, ?, ?, ?)",
    )
    .bind(territory)
    .bind(settings.esabora.map(|(kind, _)| kind))
    .bind(settings.esabora.map(|(_, url)| url))
    .bind(settings.esabora.map(|_| crate::fakes::ESABORA_TOKEN))
    .bind(settings.webhook.map(|(url, _)| url))
    .bind(settings.webhook.map(|(_, secret)| secret))
    .bind(settings.zapier)
    .bind(settings.zapier.map(|_| "zap-token"))
    .execute(&app.db)
    .await
    .unwrap()
    .last_insert_id()
}

/// A report in territory 13 at `address`.
pub async fn report(app: &TestApp, address: &str) -> u64 {
    CaseBuilder::new("13")
        .occupant_civility("mme")
        .occupant("Nawell", "Mapaire")
        .occupant_email("nawell.mapaire@yopmail.com")
        .occupant_phone("+33240556677")
        .street(address)
        .commune("13003", "Marseille")
        .insee_code(None)
        .floor_and_door("3e étage", "12")
        .details("Moisissures dans la chambre")
        .occupants(4)
        .create(app)
        .await
        .id
}

pub async fn assignment(app: &TestApp, report_id: u64, partner_id: u64) -> u64 {
    crate::common::cases::assign(app, report_id, partner_id, "nouveau").await
}

pub fn context(report_id: u64, partner_id: Option<u64>) -> JobContext {
    JobContext {
        report_id: Some(report_id),
        partner_id,
        delay_secs: 0,
    }
}
