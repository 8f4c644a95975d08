//! One handler per job kind. Each is idempotent: run twice (a worker died
//! before marking the job done), it has its effect once.

use object_store::{ObjectStoreExt, path::Path};
use serde_json::json;

use super::{Completed, Worker, with_db_retry};
use crate::{
    db::{self, jobs_data::AssignmentContext, outbox::ClaimedJob, sent_emails::Previous},
    domain::case::AssignmentStatus,
    integrations::{
        CallContext, JobError, ban, dpe,
        esabora::{self, Attachment, Esabora, Flavour, Treated},
        webhook, zapier,
    },
    mail::{render, transport::Doubt},
    queue::{Email, Job, JobContext, enqueue},
};

pub async fn run(
    worker: &Worker,
    job: &ClaimedJob,
    ctx: &CallContext,
    parsed: Job,
) -> Result<Completed, JobError> {
    match parsed {
        Job::SendEmail(email) => send_email(worker, job, ctx, &email).await,
        Job::GeocodeReport { report_id } => geocode_report(worker, ctx, report_id).await,
        Job::DpeLookup { report_id } => dpe_lookup(worker, ctx, report_id).await,
        Job::AssignmentCreated { assignment_id } => {
            fan_out_assignment(worker, job, assignment_id, true).await
        }
        Job::AssignmentStatusChanged { assignment_id } => {
            fan_out_assignment(worker, job, assignment_id, false).await
        }
        Job::EsaboraPush { assignment_id } => esabora_push(worker, ctx, assignment_id).await,
        Job::EsaboraSync { assignment_id } => esabora_sync(worker, ctx, assignment_id).await,
        Job::ZapierPush { assignment_id } => zapier_push(worker, ctx, assignment_id).await,
        Job::Webhook {
            assignment_id,
            event,
        } => send_webhook(worker, job, ctx, assignment_id, &event).await,
        Job::ImportEsaboraEvent {
            assignment_id,
            event_id,
            date,
            label,
            text,
        } => import_event(worker, job, assignment_id, &event_id, &date, &label, &text).await,
        Job::ImportSishVisit {
            assignment_id,
            scheduled_at,
            visit_type,
            operator,
            ..
        } => {
            import_visit(
                worker,
                job,
                assignment_id,
                &scheduled_at,
                &visit_type,
                operator.as_deref(),
            )
            .await
        }
        Job::ScanDocument { document_id } => {
            super::antivirus::scan_document(worker, document_id).await
        }
        Job::Scheduled { name, period } => super::scheduler::run(worker, &name, &period).await,
    }
}

/// The template name of an e-mail (Brevo tag, `sent_emails.email_type`).
fn template_name(email: &Email) -> String {
    serde_json::to_value(email)
        .ok()
        .and_then(|v| v.get("template")?.as_str().map(str::to_owned))
        .unwrap_or_else(|| "email".into())
}

/// Sends an e-mail once, and never withholds it for a database blip.
///
/// `sent_emails` holds one row per idempotency key (`outbox:<id>`):
/// reserved just before the call to the provider, confirmed with the
/// provider's message id in the transaction that marks the job done (with
/// the database retry of every write).
/// - a worker that dies before the reservation: the next one sends;
/// - after the confirmation: the next one sees "sent" and only marks done;
/// - between the two (during the provider call, or after it answered but
///   before the commit): the e-mail is in doubt, and the transport resolves
///   it ([`Transport::resolve_doubt`](crate::mail::transport::Transport)):
///   found at the provider → confirmed without a second send; not found,
///   or a transport that cannot tell (SMTP) → sent again. Only a provider
///   that refuses to answer for good leaves the job dead for an admin.
/// - a definite failure (the provider answered an error, or the connection
///   was refused, or timed out) releases the reservation and retries.
async fn send_email(
    worker: &Worker,
    job: &ClaimedJob,
    ctx: &CallContext,
    email: &Email,
) -> Result<Completed, JobError> {
    let key = format!("outbox:{}", job.id);
    let email_type = template_name(email);
    match db::sent_emails::previous(&worker.pool, &key).await? {
        Previous::Sent => return Ok(Completed::Done),
        Previous::InDoubt => match worker
            .transport
            .resolve_doubt(&worker.http, ctx, &key)
            .await
        {
            Ok(Doubt::Sent(message_id)) => {
                tracing::info!(
                    job = job.id,
                    "e-mail in doubt found at the provider: not sent again"
                );
                confirm_sent(worker, job, &key, &email_type, message_id.as_deref()).await?;
                return Ok(Completed::AlreadyMarked);
            }
            Ok(Doubt::Resend) => {
                tracing::info!(
                    job = job.id,
                    "e-mail in doubt not found at the provider: sent again"
                );
                with_db_retry(|| db::sent_emails::release(&worker.pool, &key)).await?;
            }
            Err(JobError::Permanent(reason)) => {
                return Err(JobError::Permanent(format!(
                    "envoi incertain : le worker s'est arrêté pendant l'envoi et le fournisseur \
                     ne dit pas s'il l'a reçu ({reason}) ; vérifier son journal avant de relancer"
                )));
            }
            Err(retry) => return Err(retry),
        },
        Previous::None => {}
    }
    let rendered =
        render::render(email).map_err(|e| JobError::Permanent(format!("gabarit : {e}")))?;
    let provider = worker.transport.provider();
    if !db::sent_emails::reserve(
        &worker.pool,
        &key,
        Some(job.id),
        &rendered.to,
        &rendered.subject,
        provider,
        job.report_id,
    )
    .await?
    {
        return Err(JobError::retry(
            "envoi incertain : déjà réservé par un autre worker",
        ));
    }
    let sent = worker
        .transport
        .send(
            &worker.http,
            ctx,
            &worker.config.mail_from,
            &rendered,
            &email_type,
            &key,
        )
        .await;
    match sent {
        Ok(message_id) => {
            confirm_sent(worker, job, &key, &email_type, message_id.as_deref()).await?;
            Ok(Completed::AlreadyMarked)
        }
        Err(failure) => {
            if let Some((kind, reason)) = &failure.refused {
                record_refusal(worker, &rendered.to, *kind, reason, &key).await;
            }
            with_db_retry(|| db::sent_emails::release(&worker.pool, &key)).await?;
            Err(failure.error)
        }
    }
}

/// Records an address the transport refused for good, as Brevo's webhook
/// would (docs/deliverability.md §5): the cases with this address show
/// "Adresse e-mail à vérifier". Keyed by the outbox key, so recorded once.
async fn record_refusal(
    worker: &Worker,
    to: &str,
    kind: crate::domain::delivery::IssueKind,
    reason: &str,
    key: &str,
) {
    use crate::domain::{contact::Email, delivery::Notice};
    // An address our own rules refuse matches no case: nothing to show.
    let Ok(email) = Email::parse(to) else {
        return;
    };
    let now = time::OffsetDateTime::now_utc();
    let notice = Notice::new(
        email,
        kind,
        Some(reason),
        key,
        time::PrimitiveDateTime::new(now.date(), now.time()),
        worker.transport.source(),
    );
    if let Err(error) = with_db_retry(|| db::delivery::record(&worker.pool, &notice)).await {
        tracing::error!(%error, "delivery issue not recorded");
    }
}

/// Confirms a sent e-mail and marks its job done, in one transaction, with
/// the database retry of every write.
async fn confirm_sent(
    worker: &Worker,
    job: &ClaimedJob,
    key: &str,
    email_type: &str,
    message_id: Option<&str>,
) -> Result<(), sqlx::Error> {
    with_db_retry(|| async {
        let mut tx = worker.pool.begin().await?;
        db::sent_emails::confirm(&mut tx, key, email_type, message_id).await?;
        db::outbox::mark_done(&mut tx, job.id, &worker.id).await?;
        tx.commit().await
    })
    .await
}

async fn geocode_report(
    worker: &Worker,
    ctx: &CallContext,
    report_id: u64,
) -> Result<Completed, JobError> {
    let Some(address) = db::jobs_data::report_address(&worker.pool, report_id).await? else {
        return Ok(Completed::Done);
    };
    let query = format!(
        "{} {} {}",
        address.address_line, address.postal_code, address.city
    );
    let found = match ban::search(&worker.http, ctx, &worker.config.ban_api_url, &query).await {
        Ok(found) => found,
        Err(JobError::Permanent(message)) => {
            db::jobs_data::flag_address(&worker.pool, report_id).await?;
            return Err(JobError::Permanent(message));
        }
        Err(e) => return Err(e),
    };
    let Some(found) = found else {
        db::jobs_data::flag_address(&worker.pool, report_id).await?;
        return Ok(Completed::Done);
    };
    let accepted = found.score >= ban::ACCEPTED_SCORE;
    let geocode = db::jobs_data::Geocode {
        latitude: found.latitude,
        longitude: found.longitude,
        insee_code: found.citycode.clone(),
        ban_id: found.ban_id.clone(),
        score: found.score,
        needs_check: !accepted,
    };
    let mut tx = worker.pool.begin().await?;
    db::jobs_data::set_geocode(&mut tx, report_id, &geocode).await?;
    if let (true, Some(ban_id)) = (accepted, &found.ban_id) {
        enqueue(
            &mut tx,
            &Job::DpeLookup { report_id },
            Some(&format!("dpe:{report_id}:{ban_id}")),
            JobContext {
                report_id: Some(report_id),
                ..JobContext::default()
            },
        )
        .await?;
    }
    tx.commit().await?;
    Ok(Completed::Done)
}

async fn dpe_lookup(
    worker: &Worker,
    ctx: &CallContext,
    report_id: u64,
) -> Result<Completed, JobError> {
    let Some(ban_id) = db::jobs_data::report_address(&worker.pool, report_id)
        .await?
        .and_then(|a| a.ban_id)
    else {
        return Ok(Completed::Done);
    };
    if let Some(found) = dpe::lookup(&worker.http, ctx, &worker.config.dpe_api_url, &ban_id).await?
    {
        let date = found.date.as_deref().and_then(|d| {
            time::Date::parse(
                d.get(..10)?,
                time::macros::format_description!("[year]-[month]-[day]"),
            )
            .ok()
        });
        db::jobs_data::set_dpe(
            &worker.pool,
            report_id,
            &db::jobs_data::Dpe {
                label: found.label,
                date,
                number: found.number,
                consumption: found.consumption,
            },
        )
        .await?;
    }
    Ok(Completed::Done)
}

/// An assignment's context with the partner's secrets decrypted
/// (`crate::secrets`): they are stored encrypted.
async fn context_with_secrets(
    worker: &Worker,
    assignment_id: u64,
) -> Result<Option<AssignmentContext>, JobError> {
    use crate::secrets::{Column, Secrets};
    let Some(mut c) = db::jobs_data::assignment_context(&worker.pool, assignment_id).await? else {
        return Ok(None);
    };
    let secrets = Secrets::from_config(&worker.config);
    let unreadable = |what: &'static str| {
        move |e: crate::secrets::Unreadable| JobError::Permanent(format!("{what} : {e}"))
    };
    c.esabora_token = secrets
        .reveal(Column::EsaboraToken, c.esabora_token.as_deref())
        .map_err(unreadable("Jeton Esabora"))?;
    c.webhook_secret = secrets
        .reveal(Column::WebhookSecret, c.webhook_secret.as_deref())
        .map_err(unreadable("Secret du webhook"))?;
    c.zapier_url = secrets
        .reveal(Column::ZapierUrl, c.zapier_url.as_deref())
        .map_err(unreadable("Adresse Zapier"))?;
    c.zapier_token = secrets
        .reveal(Column::ZapierToken, c.zapier_token.as_deref())
        .map_err(unreadable("Jeton Zapier"))?;
    Ok(Some(c))
}

fn esabora_of(c: &AssignmentContext) -> Option<Esabora> {
    Some(Esabora {
        flavour: Flavour::parse(c.esabora_kind.as_deref()?)?,
        url: c.esabora_url.clone().filter(|u| !u.is_empty())?,
        token: c.esabora_token.clone().filter(|t| !t.is_empty())?,
    })
}

/// An assignment event becomes one job per configured partner system, in
/// one transaction, each with its idempotency key.
async fn fan_out_assignment(
    worker: &Worker,
    job: &ClaimedJob,
    assignment_id: u64,
    created: bool,
) -> Result<Completed, JobError> {
    let Some(c) = context_with_secrets(worker, assignment_id).await? else {
        return Ok(Completed::Done);
    };
    let context = JobContext {
        report_id: Some(c.report_id),
        partner_id: Some(c.partner_id),
        delay_secs: 0,
    };
    let mut tx = worker.pool.begin().await?;
    if created && esabora_of(&c).is_some() {
        enqueue(
            &mut tx,
            &Job::EsaboraPush { assignment_id },
            Some(&format!("esabora_push:{assignment_id}")),
            context,
        )
        .await?;
    }
    if created && c.zapier_url.is_some() && c.zapier_token.is_some() {
        enqueue(
            &mut tx,
            &Job::ZapierPush { assignment_id },
            Some(&format!("zapier_push:{assignment_id}")),
            context,
        )
        .await?;
    }
    if c.webhook_url.is_some() && c.webhook_secret.is_some() {
        let (event, key) = if created {
            (
                "assignment.created",
                format!("webhook:{assignment_id}:created"),
            )
        } else {
            (
                "assignment.status_changed",
                format!("webhook:{assignment_id}:status:{}", job.id),
            )
        };
        enqueue(
            &mut tx,
            &Job::Webhook {
                assignment_id,
                event: event.into(),
            },
            Some(&key),
            context,
        )
        .await?;
    }
    tx.commit().await?;
    Ok(Completed::Done)
}

/// Documents of the report, for `PJ_Documents` (at most 20 MB in all).
async fn attachments(
    worker: &Worker,
    report_id: u64,
) -> Result<(Vec<Attachment>, String), JobError> {
    let docs = db::jobs_data::report_documents(&worker.pool, report_id).await?;
    let names = docs
        .iter()
        .map(|d| d.object_key.clone())
        .collect::<Vec<_>>()
        .join(",");
    let mut out = Vec::new();
    let mut total = 0u64;
    for doc in docs {
        let key = doc.resized_key.clone().unwrap_or(doc.object_key.clone());
        if total + doc.size > 20 * 1024 * 1024 {
            break;
        }
        match worker.storage.get(&Path::from(key.as_str())).await {
            Ok(object) => {
                let bytes = object
                    .bytes()
                    .await
                    .map_err(|e| JobError::retry(format!("stockage : {e}")))?;
                total += bytes.len() as u64;
                out.push(Attachment {
                    name: doc.title.clone().unwrap_or(doc.filename.clone()),
                    content: bytes.to_vec(),
                });
            }
            Err(object_store::Error::NotFound { .. }) => {
                tracing::warn!(key = %key, "document missing from storage, not attached");
            }
            Err(e) => return Err(JobError::retry(format!("stockage : {e}"))),
        }
    }
    Ok((out, names))
}

async fn esabora_push(
    worker: &Worker,
    ctx: &CallContext,
    assignment_id: u64,
) -> Result<Completed, JobError> {
    let Some(c) = context_with_secrets(worker, assignment_id).await? else {
        return Ok(Completed::Done);
    };
    let Some(esabora) = esabora_of(&c) else {
        return Ok(Completed::Done);
    };
    if c.is_synchronized {
        return Ok(Completed::Done);
    }
    let (docs, names) = attachments(worker, c.report_id).await?;
    let external = match esabora.flavour {
        Flavour::Schs => {
            match esabora
                .treatment(
                    &worker.http,
                    ctx,
                    "push_dossier",
                    &esabora::schs_push(&c, &docs, &names),
                )
                .await?
            {
                Treated::Inserted(key) => key,
                Treated::Duplicate => None,
            }
        }
        Flavour::Sish => {
            let address = match esabora
                .treatment(
                    &worker.http,
                    ctx,
                    "push_adresse",
                    &esabora::sish_address(&c),
                )
                .await?
            {
                Treated::Inserted(Some(id)) => id,
                Treated::Inserted(None) => {
                    return Err(JobError::Permanent(
                        "SI-SH : pas d'identifiant d'adresse".into(),
                    ));
                }
                // Already pushed: Histologe flags the assignment synchronized.
                Treated::Duplicate => return mark_synchronized(worker, assignment_id, None).await,
            };
            let dossier = match esabora
                .treatment(
                    &worker.http,
                    ctx,
                    "push_dossier",
                    &esabora::sish_dossier(&c, &address, &worker.config.base_url, &docs),
                )
                .await?
            {
                Treated::Inserted(Some(id)) => id,
                Treated::Inserted(None) => {
                    return Err(JobError::Permanent(
                        "SI-SH : pas d'identifiant de dossier".into(),
                    ));
                }
                Treated::Duplicate => return mark_synchronized(worker, assignment_id, None).await,
            };
            for person in esabora::sish_people(&c, &dossier) {
                esabora
                    .treatment(&worker.http, ctx, "push_personne", &person)
                    .await?;
            }
            Some(dossier)
        }
    };
    mark_synchronized(worker, assignment_id, external.as_deref()).await
}

async fn mark_synchronized(
    worker: &Worker,
    assignment_id: u64,
    external: Option<&str>,
) -> Result<Completed, JobError> {
    let mut conn = worker.pool.acquire().await?;
    db::jobs_data::mark_synchronized(&mut conn, assignment_id, external).await?;
    Ok(Completed::Done)
}

fn status_words(status: AssignmentStatus) -> &'static str {
    match status {
        AssignmentStatus::New => "remis en attente",
        AssignmentStatus::Accepted => "accepté",
        AssignmentStatus::Closed => "clôturé",
        AssignmentStatus::Refused => "refusé",
    }
}

async fn esabora_sync(
    worker: &Worker,
    ctx: &CallContext,
    assignment_id: u64,
) -> Result<Completed, JobError> {
    let Some(c) = context_with_secrets(worker, assignment_id).await? else {
        return Ok(Completed::Done);
    };
    let Some(esabora) = esabora_of(&c) else {
        return Ok(Completed::Done);
    };
    let answer = esabora
        .search(
            &worker.http,
            ctx,
            "sync_state",
            &esabora::state_search(esabora.flavour, &c.report_uuid),
        )
        .await?;
    if answer.column_list.is_empty() || answer.row_list.is_empty() {
        return Err(JobError::Permanent(format!(
            "{} : dossier introuvable",
            esabora.flavour.label()
        )));
    }
    let (sas, etat, cause, number) = match esabora.flavour {
        Flavour::Schs => (
            answer.first("SAS_Etat"),
            answer.first("Doss_Etat"),
            None,
            None,
        ),
        Flavour::Sish => (
            answer.first("Sas_Etat"),
            answer.first("SISH_DossEtat"),
            answer.first("Sas_CauseRefus"),
            answer.first("SISH_DossNum"),
        ),
    };
    let sas = sas.unwrap_or_default();
    let external = format!("{sas} / {}", etat.clone().unwrap_or_default());
    let new_status =
        esabora::map_state(&sas, etat.as_deref()).filter(|s| *s != c.assignment_status);
    let follow_up = new_status.map(|status| {
        let mut text = if sas == "Rejeté" {
            format!(
                "Signalement <b>refusé</b> via {} pour motif suivant : {}",
                esabora.flavour.label(),
                cause.clone().unwrap_or_default()
            )
        } else {
            format!(
                "Signalement <b>{}</b> par {} via {}",
                status_words(status),
                c.partner_name,
                esabora.flavour.label()
            )
        };
        if let Some(number) = &number {
            text.push_str(&format!(" (Dossier {number})"));
        }
        text
    });
    let status_now = new_status.unwrap_or(c.assignment_status);
    // Events (SCHS, accepted dossiers) and visits (SI-SH): each becomes an
    // import job whose idempotency key is the Esabora id, so a daily sync
    // imports each of them once.
    let imports = match esabora.flavour {
        Flavour::Schs if status_now == AssignmentStatus::Accepted => {
            let events = esabora
                .search(
                    &worker.http,
                    ctx,
                    "sync_events",
                    &esabora::events_search(&c.report_uuid),
                )
                .await?;
            events
                .row_list
                .iter()
                .filter_map(|row| {
                    let (id, date) = (row.own_key()?, row.at(1)?);
                    Some((
                        format!("esabora_event:{}:{id}", c.partner_id),
                        Job::ImportEsaboraEvent {
                            assignment_id,
                            event_id: id,
                            date,
                            label: row.at(4).unwrap_or_default(),
                            text: row.at(2).unwrap_or_default(),
                        },
                    ))
                })
                .collect()
        }
        Flavour::Sish => {
            let visits = esabora
                .search(
                    &worker.http,
                    ctx,
                    "sync_visits",
                    &esabora::visits_search(&c.report_uuid),
                )
                .await?;
            visits
                .row_list
                .iter()
                .filter_map(|row| {
                    let id = row.own_key()?;
                    let Some(date) = row.at(3) else {
                        tracing::warn!(visit = %id, "SI-SH visit without a date, skipped");
                        return None;
                    };
                    Some((
                        format!("sish_visit:{}:{id}", c.partner_id),
                        Job::ImportSishVisit {
                            assignment_id,
                            visit_id: id,
                            scheduled_at: date,
                            visit_type: row.at(5).unwrap_or_default(),
                            operator: row.at(6),
                        },
                    ))
                })
                .collect()
        }
        Flavour::Schs => Vec::new(),
    };
    let mut tx = worker.pool.begin().await?;
    db::jobs_data::apply_external_status(
        &mut tx,
        assignment_id,
        c.report_id,
        c.partner_id,
        new_status,
        &external,
        follow_up.as_deref(),
    )
    .await?;
    let context = JobContext {
        report_id: Some(c.report_id),
        partner_id: Some(c.partner_id),
        delay_secs: 0,
    };
    for (key, import) in imports {
        enqueue(&mut tx, &import, Some(&key), context).await?;
    }
    tx.commit().await?;
    Ok(Completed::Done)
}

fn parse_dmy(date: &str, with_time: bool) -> Option<time::PrimitiveDateTime> {
    let date = date.trim();
    if with_time {
        time::PrimitiveDateTime::parse(
            date,
            time::macros::format_description!("[day]/[month]/[year] [hour]:[minute]"),
        )
        .ok()
    } else {
        time::Date::parse(
            date,
            time::macros::format_description!("[day]/[month]/[year]"),
        )
        .ok()
        .map(|d| d.midnight())
    }
}

/// An Esabora SCHS event becomes a follow-up, in the transaction that
/// marks the job done (once, even if a worker dies).
async fn import_event(
    worker: &Worker,
    job: &ClaimedJob,
    assignment_id: u64,
    event_id: &str,
    date: &str,
    label: &str,
    text: &str,
) -> Result<Completed, JobError> {
    let Some(c) = context_with_secrets(worker, assignment_id).await? else {
        return Ok(Completed::Done);
    };
    let escape = |s: &str| {
        s.replace('&', "&amp;")
            .replace('<', "&lt;")
            .replace('>', "&gt;")
            .replace("\r\n", "<br>")
            .replace('\n', "<br>")
    };
    let body = format!(
        "Date : {}<br>Message provenant d'esabora SCHS :<br>{}{}",
        escape(date),
        if label.is_empty() {
            String::new()
        } else {
            format!("{}<br>", escape(label))
        },
        escape(text)
    );
    tracing::debug!(event = event_id, "importing an Esabora event");
    let mut tx = worker.pool.begin().await?;
    db::jobs_data::insert_external_follow_up(
        &mut tx,
        c.report_id,
        c.partner_id,
        &body,
        parse_dmy(date, false),
    )
    .await?;
    db::outbox::mark_done(&mut tx, job.id, &worker.id).await?;
    tx.commit().await?;
    Ok(Completed::AlreadyMarked)
}

/// An SI-SH visit becomes a visit of the report, once.
async fn import_visit(
    worker: &Worker,
    job: &ClaimedJob,
    assignment_id: u64,
    scheduled_at: &str,
    kind: &str,
    operator: Option<&str>,
) -> Result<Completed, JobError> {
    let Some(c) = context_with_secrets(worker, assignment_id).await? else {
        return Ok(Completed::Done);
    };
    let Some(at) = parse_dmy(scheduled_at, true) else {
        return Err(JobError::Permanent(format!(
            "SI-SH : date de visite illisible {scheduled_at:?}"
        )));
    };
    let kind = if kind.to_lowercase().contains("contrôle") {
        "visite_controle"
    } else {
        "visite"
    };
    // "ARS" and "SH" are the partner itself; anything else is an operator.
    let operator = operator.filter(|o| !matches!(*o, "ARS" | "SH"));
    let mut tx = worker.pool.begin().await?;
    db::jobs_data::insert_external_visit(&mut tx, c.report_id, c.partner_id, operator, kind, at)
        .await?;
    db::outbox::mark_done(&mut tx, job.id, &worker.id).await?;
    tx.commit().await?;
    Ok(Completed::AlreadyMarked)
}

async fn zapier_push(
    worker: &Worker,
    ctx: &CallContext,
    assignment_id: u64,
) -> Result<Completed, JobError> {
    let Some(c) = context_with_secrets(worker, assignment_id).await? else {
        return Ok(Completed::Done);
    };
    let (Some(url), Some(token)) = (c.zapier_url.clone(), c.zapier_token.clone()) else {
        return Ok(Completed::Done);
    };
    let contributors = db::jobs_data::partner_user_emails(&worker.pool, c.partner_id).await?;
    let payload = zapier::payload(&c, &token, &worker.config.base_url, &contributors);
    zapier::push(&worker.http, ctx, &url, &payload).await?;
    mark_synchronized(worker, assignment_id, None).await
}

async fn send_webhook(
    worker: &Worker,
    job: &ClaimedJob,
    ctx: &CallContext,
    assignment_id: u64,
    event: &str,
) -> Result<Completed, JobError> {
    let Some(c) = context_with_secrets(worker, assignment_id).await? else {
        return Ok(Completed::Done);
    };
    let (Some(url), Some(secret)) = (c.webhook_url.clone(), c.webhook_secret.clone()) else {
        return Ok(Completed::Done);
    };
    let delivery = format!("outbox:{}", job.id);
    let body = json!({
        "event": event,
        "delivery": delivery,
        "occurred_at": time::OffsetDateTime::now_utc()
            .format(&time::format_description::well_known::Rfc3339)
            .unwrap_or_default(),
        "report": {
            "uuid": c.report_uuid,
            "reference": c.reference,
            "status": c.report_status.as_str(),
            "url": format!("{}/bo/signalements/{}", worker.config.base_url, c.report_uuid),
            "address": c.address_line,
            "postal_code": c.postal_code,
            "city": c.city,
            "insee_code": c.insee_code,
        },
        "assignment": { "id": c.assignment_id, "status": c.assignment_status.as_str() },
        "partner": { "id": c.partner_id, "name": c.partner_name },
    });
    webhook::deliver(&worker.http, ctx, &url, &secret, &delivery, &body).await?;
    Ok(Completed::Done)
}
