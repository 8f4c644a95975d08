//! Filing a report from the public form, step 3 of docs/form.md §5.6: a
//! [`SubmissionPlan`] written in one transaction, with the draft row locked
//! — the report, its defects, qualifications, documents (each with its
//! antivirus scan job), the first follow-up, the draft marked submitted,
//! the reference, and every job. Either all of it is committed or none: a
//! visitor shown the confirmation has a report and its e-mails queued, and
//! a failure leaves the draft as it was, ready to be sent again.
//!
//! It sits above `db` (SQL), `queue` (typed jobs) and `uploads` (a document
//! with its scan job), so that the web form today and an API later file
//! reports the same way.

use crate::{
    db::{self, Pool},
    domain::report::{
        draft::DraftPayload,
        submission::{self, DraftGate, PlannedEmail, PlannedJob, SubmissionPlan},
    },
    queue::{self, Email, Job, JobContext},
    uploads,
};

/// What became of the submission.
#[derive(Debug, Clone, PartialEq)]
pub enum Filed {
    /// The report exists, with this id and reference.
    Filed { report_id: u64, reference: String },
    /// A concurrent submission of the same draft won the race.
    AlreadyFiled,
    /// The draft changed (another tab) or left the form since it was read:
    /// nothing was written.
    DraftChanged,
}

/// Applies `plan` to the draft `draft_uuid`, provided the draft still holds
/// `expected` (what the plan was made from).
pub async fn persist(
    pool: &Pool,
    draft_uuid: &str,
    expected: &DraftPayload,
    plan: &SubmissionPlan,
) -> Result<Filed, sqlx::Error> {
    let mut tx = pool.begin().await?;
    let Some(locked) = db::drafts::lock(&mut tx, draft_uuid).await? else {
        tx.rollback().await?;
        return Ok(Filed::DraftChanged);
    };
    match submission::gate(
        locked.status,
        locked.report_id.is_some(),
        locked.payload.0 == *expected,
    ) {
        DraftGate::File => {}
        DraftGate::AlreadyFiled => {
            tx.rollback().await?;
            return Ok(Filed::AlreadyFiled);
        }
        DraftGate::Changed => {
            tx.rollback().await?;
            return Ok(Filed::DraftChanged);
        }
    }

    let territory_id = plan.report.territory_id;
    let report_id = db::submission::insert_report(&mut tx, plan).await?;
    for file in &plan.documents {
        uploads::record(
            &mut tx,
            &db::documents::NewDocument {
                uuid: &uuid::Uuid::new_v4().to_string(),
                report_id,
                follow_up_id: None,
                object_key: &file.key,
                thumbnail_key: file.thumbnail_key.as_deref(),
                filename: &file.filename,
                mime: &file.mime,
                size: file.size,
                sha256: &file.sha256,
                kind: &file.kind,
                document_type: file.document_type(),
                defect_code: file.defect_code(),
                is_public: false,
            },
        )
        .await?;
    }
    db::drafts::mark_submitted(&mut tx, locked.id, report_id).await?;

    let context = JobContext {
        report_id: Some(report_id),
        ..JobContext::default()
    };
    for job in &plan.jobs {
        if *job == PlannedJob::Geocode {
            queue::enqueue(
                &mut tx,
                &Job::GeocodeReport { report_id },
                Some(&format!("report:{report_id}:geocode")),
                context,
            )
            .await?;
        }
    }
    let admins = db::reports::territory_admin_emails(&mut tx, territory_id).await?;

    // From here to the commit, the territory's counter row is locked and
    // concurrent submissions in the territory wait: only what needs the
    // reference comes after it.
    let reference =
        db::submission::assign_reference(&mut tx, report_id, territory_id, plan.reference_year)
            .await?;
    for job in &plan.jobs {
        let PlannedJob::Email(email) = job else {
            continue;
        };
        match email {
            PlannedEmail::Confirmation {
                to,
                first_name,
                link,
            } => {
                queue::enqueue(
                    &mut tx,
                    &Job::SendEmail(Email::ReportConfirmation {
                        to: to.to_string(),
                        first_name: first_name.clone(),
                        reference: reference.clone(),
                        link: link.clone(),
                    }),
                    Some(&format!("report:{report_id}:confirmation:{to}")),
                    context,
                )
                .await?;
            }
            PlannedEmail::ToTerritoryAdmins { city, link } => {
                for to in &admins {
                    queue::enqueue(
                        &mut tx,
                        &Job::SendEmail(Email::NewReportToValidate {
                            to: to.clone(),
                            reference: reference.clone(),
                            city: city.clone(),
                            link: link.clone(),
                        }),
                        Some(&format!("report:{report_id}:new:{to}")),
                        context,
                    )
                    .await?;
                }
            }
        }
    }
    tx.commit().await?;
    Ok(Filed::Filed {
        report_id,
        reference,
    })
}
