//! `ScanDocument`: every uploaded file is scanned by ClamAV (clamd, over
//! its socket) right after the upload, and the daily `antivirus_rescan`
//! schedule queues again the ones still pending.
//!
//! - clean → `clean`: the file may now be served and sent to partners;
//! - infected → the object moves to `quarantine/<key>` (copy, then the
//!   database says `infected` with the signature, then the original and its
//!   thumbnail are deleted), an `antivirus_quarantine` audit entry is
//!   written, the uploader gets an e-mail and the territory (its admins and
//!   the agents following the case) a notification;
//! - clamd down, slow or erroring → the job is retried with the worker's
//!   backoff and the document stays `pending` ("analyse en cours"); after
//!   the last attempt the daily rescan queues it again.
//!
//! Each step is idempotent: a worker that dies mid-way leaves a state the
//! next run completes (a verdict is final; a second run on an `infected`
//! row only finishes deleting the original).

use object_store::{ObjectStoreExt, path::Path};

use super::{Completed, Worker};
use crate::{
    db::{self, documents::ScanTarget},
    domain::antivirus::ScanStatus,
    integrations::{
        JobError,
        clamav::{Clamd, Verdict},
    },
    queue::{Email, Job, JobContext, enqueue},
};

/// Prefix of the quarantined objects (never served; kept for inspection).
pub const QUARANTINE_PREFIX: &str = "quarantine/";
/// Documents queued per daily rescan (the rest waits for the next day).
const RESCAN_BATCH: u32 = 5000;

pub async fn scan_document(worker: &Worker, document_id: u64) -> Result<Completed, JobError> {
    let Some(document) = db::documents::find_for_scan(&worker.pool, document_id).await? else {
        return Ok(Completed::Done);
    };
    match document.scan_status {
        ScanStatus::Clean => return Ok(Completed::Done),
        ScanStatus::Infected => {
            // A verdict is final; only the deletion of the original may be
            // left over from a worker that died.
            if let Some(original) = document.object_key.strip_prefix(QUARANTINE_PREFIX) {
                delete_if_present(worker, original).await?;
            }
            return Ok(Completed::Done);
        }
        ScanStatus::Pending => {}
    }
    let content = match worker
        .storage
        .get(&Path::from(document.object_key.as_str()))
        .await
    {
        Ok(object) => object
            .bytes()
            .await
            .map_err(|e| JobError::retry(format!("stockage : {e}")))?,
        // Nothing to scan, nothing will ever be served: leave it pending.
        Err(object_store::Error::NotFound { .. }) => {
            tracing::warn!(
                document.id = document.id,
                "document missing from storage, not scanned"
            );
            return Err(JobError::Permanent(
                "fichier absent du stockage : rien à analyser".into(),
            ));
        }
        Err(e) => return Err(JobError::retry(format!("stockage : {e}"))),
    };
    let clamd = Clamd::new(
        worker.config.clamd_address.clone(),
        worker.config.clamd_timeout,
    );
    let verdict = clamd.scan(&content).await.map_err(|e| {
        // The document waits; the outbox row says why (and when it retries).
        JobError::retry(format!("antivirus : {e}"))
    })?;
    match verdict {
        Verdict::Clean => {
            db::documents::mark_clean(&worker.pool, document.id).await?;
            tracing::info!(document.id = document.id, "document scanned clean");
        }
        Verdict::Infected(signature) => quarantine(worker, &document, &signature).await?,
    }
    Ok(Completed::Done)
}

/// Moves an infected file out of reach and tells the people concerned.
async fn quarantine(
    worker: &Worker,
    document: &ScanTarget,
    signature: &str,
) -> Result<(), JobError> {
    let original = document.object_key.as_str();
    let quarantined = format!("{QUARANTINE_PREFIX}{original}");
    worker
        .storage
        .copy(&Path::from(original), &Path::from(quarantined.as_str()))
        .await
        .map_err(|e| JobError::retry(format!("stockage (quarantaine) : {e}")))?;

    let mut tx = worker.pool.begin().await?;
    if !db::documents::mark_infected(&mut tx, document.id, signature, &quarantined).await? {
        // Another worker gave the verdict meanwhile.
        return Ok(());
    }
    db::audit::record(
        &mut tx,
        &db::audit::NewEvent {
            actor_user_id: None,
            actor_email: None,
            action: "antivirus_quarantine",
            entity_type: "document",
            entity_id: Some(document.uuid.clone()),
            report_id: Some(document.report_id),
            ip: None,
            user_agent: None,
            diff: Some(serde_json::json!({
                "filename": document.filename,
                "signature": signature,
                "quarantine_key": quarantined,
            })),
        },
    )
    .await?;
    tell_uploader(worker, &mut tx, document).await?;
    tell_territory(worker, &mut tx, document).await?;
    tx.commit().await?;
    tracing::warn!(
        document.id = document.id,
        report.id = document.report_id,
        signature,
        "infected document quarantined"
    );

    delete_if_present(worker, original).await?;
    if let Some(thumbnail) = &document.thumbnail_key {
        delete_if_present(worker, thumbnail).await?;
    }
    Ok(())
}

async fn delete_if_present(worker: &Worker, key: &str) -> Result<(), JobError> {
    match worker.storage.delete(&Path::from(key)).await {
        Ok(()) | Err(object_store::Error::NotFound { .. }) => Ok(()),
        Err(e) => Err(JobError::retry(format!("stockage (suppression) : {e}"))),
    }
}

fn context(document: &ScanTarget) -> JobContext {
    JobContext {
        report_id: Some(document.report_id),
        ..JobContext::default()
    }
}

/// The resident (occupant and declarant) who sent the file, or the
/// back-office user who did.
async fn tell_uploader(
    worker: &Worker,
    conn: &mut sqlx::MySqlConnection,
    document: &ScanTarget,
) -> Result<(), JobError> {
    let base = &worker.config.base_url;
    let contacts = db::workflow::resident_contacts(conn, document.report_id).await?;
    let title = format!("Fichier « {} » bloqué", document.filename);
    let emails = match &document.uploader_email {
        Some(to) => vec![Email::CaseUpdateForStaff {
            to: to.clone(),
            reference: contacts.reference.clone(),
            title: format!(
                "{title} : l’antivirus y a détecté un programme malveillant ; il ne sera ni affiché ni transmis"
            ),
            link: format!("{base}/bo/signalements/{}", document.report_uuid),
        }],
        None => {
            let mut recipients: Vec<String> = [contacts.occupant_email, contacts.declarant_email]
                .into_iter()
                .flatten()
                .collect();
            recipients.sort();
            recipients.dedup();
            recipients
                .into_iter()
                .map(|to| Email::CaseUpdateForResident {
                    to,
                    reference: contacts.reference.clone(),
                    title: title.clone(),
                    message: format!(
                        "Le fichier « {} » que vous avez envoyé contient un virus ou un programme \
                         malveillant, détecté par notre antivirus. Il a été mis à l’écart : il ne \
                         sera ni consulté ni transmis. Si ce document est utile à votre dossier, \
                         analysez votre appareil puis envoyez-le à nouveau depuis votre espace de \
                         suivi.",
                        document.filename
                    ),
                    link: format!("{base}/suivre-mon-signalement/{}", contacts.follow_up_code),
                })
                .collect()
        }
    };
    for email in emails {
        let key = format!("antivirus:{}:{}", document.id, email.recipient());
        enqueue(conn, &Job::SendEmail(email), Some(&key), context(document)).await?;
    }
    Ok(())
}

/// The territory's admins and the agents following the case: an in-app
/// notification for all, an e-mail to the admins and to those who want
/// news at once.
async fn tell_territory(
    worker: &Worker,
    conn: &mut sqlx::MySqlConnection,
    document: &ScanTarget,
) -> Result<(), JobError> {
    let admins = db::workflow::territory_admins(conn, document.territory_id).await?;
    let followers = db::workflow::case_followers(conn, document.report_id).await?;
    let mut notified: Vec<u64> = Vec::new();
    let mut emailed: Vec<String> = Vec::new();
    for (r, is_admin) in admins
        .iter()
        .map(|r| (r, true))
        .chain(followers.iter().map(|r| (r, false)))
    {
        if !notified.contains(&r.user_id) {
            notified.push(r.user_id);
        }
        if (is_admin || r.notification_pref == "instant") && !emailed.contains(&r.email) {
            emailed.push(r.email.clone());
        }
    }
    db::workflow::notify_many(
        conn,
        &notified,
        document.report_id,
        crate::domain::case::NotificationKind::DocumentBlocked,
    )
    .await?;
    let reference = db::workflow::resident_contacts(conn, document.report_id)
        .await?
        .reference;
    for to in emailed {
        let key = format!("antivirus:{}:{to}", document.id);
        let email = Email::CaseUpdateForStaff {
            to,
            reference: reference.clone(),
            title: format!(
                "Fichier « {} » bloqué par l’antivirus et mis en quarantaine",
                document.filename
            ),
            link: format!(
                "{}/bo/signalements/{}",
                worker.config.base_url, document.report_uuid
            ),
        };
        enqueue(conn, &Job::SendEmail(email), Some(&key), context(document)).await?;
    }
    Ok(())
}

/// The daily schedule: one scan job per document still pending (the
/// period in the key, so that it runs again the next day if need be).
pub async fn rescan_pending(worker: &Worker, period: &str) -> Result<Completed, JobError> {
    let pending = db::documents::list_pending(&worker.pool, RESCAN_BATCH).await?;
    let mut conn = worker.pool.acquire().await?;
    for (document_id, report_id) in &pending {
        enqueue(
            &mut conn,
            &Job::ScanDocument {
                document_id: *document_id,
            },
            Some(&format!("scan_document:{document_id}:{period}")),
            JobContext {
                report_id: Some(*report_id),
                ..JobContext::default()
            },
        )
        .await?;
    }
    tracing::info!(
        queued = pending.len(),
        "pending documents queued for a scan"
    );
    Ok(Completed::Done)
}
