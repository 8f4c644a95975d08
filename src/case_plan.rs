//! Carries out a case command's [`Plan`] in the caller's transaction (above
//! `db` and `queue`, which it both uses: `db` knows no jobs). The
//! guard first (optimistic lock: 0 rows → [`ApplyError::Conflict`], nothing
//! else written), then the writes, the audit entry, the notifications with
//! their recipients resolved here, the e-mails and jobs queued in the
//! outbox. The caller begins the transaction and commits it (the resident's
//! message adds its files under the follow-up in between); see
//! docs/case-commands.md.

use std::net::IpAddr;

use sqlx::MySqlConnection;

use crate::{
    db::workflow::{self as wf, Recipient, ResidentContacts},
    domain::case::NotificationKind,
    domain::case::plan::{
        AssignmentChange, Audience, Guard, Notice, Plan, PlannedJob, ReportField, Subscription,
    },
    queue::{self, Email, Job, JobContext},
};

/// Where the request came from, and what e-mail links point to: not
/// decisions of the command, but needed to record and tell.
#[derive(Debug, Clone, Copy, Default)]
pub struct ApplyContext<'a> {
    /// Base URL of the site, for links in e-mails.
    pub base_url: &'a str,
    /// The acting user's address, for the audit log.
    pub actor_email: Option<&'a str>,
    pub ip: Option<IpAddr>,
    pub user_agent: Option<&'a str>,
}

/// What applying created.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Applied {
    /// The follow-up added, if the plan had one.
    pub follow_up_id: Option<u64>,
    /// (partner id, assignment id) of the assignments created.
    pub created_assignments: Vec<(u64, u64)>,
    /// Ids of the documents added, in the plan's order.
    pub added_documents: Vec<u64>,
    /// The public id of the order (arrêté) recorded, if the plan had one.
    pub arrete_uuid: Option<String>,
}

#[derive(Debug, thiserror::Error)]
pub enum ApplyError {
    /// The guard matched no row: someone changed the case first. Nothing
    /// was written.
    #[error("the case changed since it was read")]
    Conflict,
    /// What the plan names is not on the case (an assignment to remove).
    #[error("not found on the case")]
    NotFound,
    /// A staff action's plan without its user.
    #[error("plan without an acting user")]
    NoActor,
    #[error(transparent)]
    Db(#[from] sqlx::Error),
}

/// Applies `plan` in `conn`'s transaction (see the module doc for the order).
pub async fn apply(
    conn: &mut MySqlConnection,
    plan: &Plan,
    ctx: &ApplyContext<'_>,
) -> Result<Applied, ApplyError> {
    let report_id = plan.case.report_id;
    guard(conn, plan).await?;
    if let Some(write) = &plan.sections {
        crate::db::case_edit::save(conn, report_id, &write.sections, &write.insee_code).await?;
        // Sections hold scoring inputs (children, occupants, surface...):
        // score again from every stored fact, never from part of them
        // (docs/scoring.md §2.7).
        crate::db::scoring::rescore(conn, report_id).await?;
    }
    // Recipients are read before anything else changes: closing a case
    // tells the partners that worked on it, before their assignments close.
    let mut audiences: Vec<(Audience, Vec<Recipient>)> = Vec::new();
    for notice in &plan.notices {
        let wanted = match notice {
            Notice::Staff { audience, .. } => vec![*audience],
            Notice::ResidentWrote { .. } => vec![Audience::Followers, Audience::TerritoryAdmins],
            Notice::Resident { .. } | Notice::Visit { .. } | Notice::Arrete { .. } => Vec::new(),
        };
        for audience in wanted {
            if !audiences.iter().any(|(a, _)| *a == audience) {
                let recipients = recipients(conn, plan, audience).await?;
                audiences.push((audience, recipients));
            }
        }
    }
    let mut case = CaseMail {
        base_url: ctx.base_url,
        report_id,
        uuid: &plan.case.uuid,
        contacts: None,
    };

    for field in &plan.report_fields {
        match field {
            ReportField::Refusal { reason, message } => {
                wf::set_refusal(conn, report_id, reason, message).await?;
            }
            ReportField::ClosureReason(reason) => {
                wf::set_closure(conn, report_id, reason.as_deref()).await?;
            }
            ReportField::ResidentDetails(details) => {
                crate::db::resident_details::save(conn, report_id, details).await?;
                // Occupants, children and surface are scoring inputs.
                crate::db::scoring::rescore(conn, report_id).await?;
            }
        }
    }
    let mut applied = Applied::default();
    for change in &plan.assignments {
        match change {
            AssignmentChange::Create { partner_id } => {
                let by = plan.by.ok_or(ApplyError::NoActor)?;
                if let Some(assignment) = wf::assign(conn, report_id, *partner_id, by).await? {
                    notify_assignment(conn, &mut case, *partner_id, assignment, by).await?;
                    applied.created_assignments.push((*partner_id, assignment));
                }
            }
            AssignmentChange::Remove { partner_id } => {
                if !wf::unassign(conn, report_id, *partner_id).await? {
                    return Err(ApplyError::NotFound);
                }
            }
            AssignmentChange::CloseAll { reason } => {
                let by = plan.by.ok_or(ApplyError::NoActor)?;
                wf::close_all_assignments(conn, report_id, reason, by).await?;
            }
            AssignmentChange::ReopenClosed => wf::reopen_assignments(conn, report_id).await?,
        }
    }
    if let Some(visit) = &plan.visit {
        let by = plan.by.ok_or(ApplyError::NoActor)?;
        wf::plan_visit(conn, report_id, visit, by).await?;
    }
    if let Some(tags) = &plan.tags {
        wf::set_tags(conn, report_id, plan.case.territory_id, tags).await?;
    }
    if let Some(follow_up) = &plan.follow_up {
        let id = wf::add_follow_up(
            conn,
            report_id,
            plan.by,
            follow_up.partner_id,
            follow_up.author.as_str(),
            follow_up.category,
            &follow_up.body,
            follow_up.public,
        )
        .await?;
        applied.follow_up_id = Some(id);
    }
    for change in &plan.documents {
        if let Some(id) = apply_document(conn, plan, change).await? {
            applied.added_documents.push(id);
        }
    }
    if let Some(arrete) = &plan.arrete {
        let added = applied.added_documents.last().copied();
        applied.arrete_uuid = Some(record_arrete(conn, plan, arrete, added).await?);
    }
    for change in &plan.subscriptions {
        match change {
            Subscription::Subscribe { user_id } => wf::subscribe(conn, report_id, *user_id).await?,
            Subscription::Unsubscribe { user_id } => {
                wf::unsubscribe(conn, report_id, *user_id).await?;
            }
            Subscription::Prune => {
                crate::db::subscriptions::prune(
                    conn,
                    crate::db::subscriptions::Recheck::Case(report_id),
                )
                .await?;
            }
        }
    }
    if let Some(audit) = &plan.audit {
        let actor = plan.by.map(|id| (id, ctx.actor_email.unwrap_or_default()));
        crate::db::audit::record(
            conn,
            &crate::db::audit::NewEvent::on_case(
                actor,
                audit.action,
                report_id,
                audit.diff.clone(),
            )
            .from_origin(ctx.ip, ctx.user_agent),
        )
        .await?;
    }
    let audience = |wanted: Audience| -> &[Recipient] {
        audiences
            .iter()
            .find(|(a, _)| *a == wanted)
            .map_or(&[], |(_, r)| r.as_slice())
    };
    for notice in &plan.notices {
        match notice {
            Notice::Staff {
                audience: wanted,
                kind,
                title,
            } => {
                let recipients: Vec<&Recipient> = audience(*wanted)
                    .iter()
                    .filter(|r| Some(r.user_id) != plan.by)
                    .collect();
                notify_users(conn, &mut case, &recipients, *kind, title).await?;
            }
            Notice::ResidentWrote { key } => {
                let follow_up_id = applied.follow_up_id.unwrap_or_default();
                resident_wrote(
                    conn,
                    &mut case,
                    plan.case.territory_id,
                    (
                        audience(Audience::Followers),
                        audience(Audience::TerritoryAdmins),
                    ),
                    &format!("follow-up:{follow_up_id}:{key}"),
                )
                .await?;
            }
            Notice::Resident { title, message } => {
                email_resident(conn, &mut case, |to, reference, link| {
                    Email::CaseUpdateForResident {
                        to,
                        reference,
                        title: title.clone(),
                        message: message.clone(),
                        link,
                    }
                })
                .await?;
            }
            Notice::Visit { event, message } => {
                email_resident(conn, &mut case, |to, reference, link| {
                    Email::VisitForResident {
                        to,
                        reference,
                        event: *event,
                        message: message.clone(),
                        link,
                    }
                })
                .await?;
            }
            Notice::Arrete { message } => {
                email_resident(conn, &mut case, |to, reference, link| {
                    Email::ArreteForResident {
                        to,
                        reference,
                        message: message.clone(),
                        link,
                    }
                })
                .await?;
            }
        }
    }
    for job in &plan.jobs {
        match job {
            PlannedJob::AssignmentStatusChanged { partner_id } => {
                let assignment_id =
                    crate::db::case_view::assignment_id(conn, report_id, *partner_id).await?;
                queue::enqueue(
                    conn,
                    &Job::AssignmentStatusChanged { assignment_id },
                    None,
                    JobContext {
                        report_id: Some(report_id),
                        partner_id: Some(*partner_id),
                        ..JobContext::default()
                    },
                )
                .await?;
            }
            PlannedJob::GeocodeReport => {
                queue::enqueue(
                    conn,
                    &Job::GeocodeReport { report_id },
                    None,
                    JobContext {
                        report_id: Some(report_id),
                        ..JobContext::default()
                    },
                )
                .await?;
            }
        }
    }
    Ok(applied)
}

/// The plan's guard: the one write that proves nobody changed the case.
async fn guard(conn: &mut MySqlConnection, plan: &Plan) -> Result<(), ApplyError> {
    let report_id = plan.case.report_id;
    let held = match &plan.guard {
        Guard::Transition { version, from, to } => {
            wf::transition(conn, report_id, *version, from, *to).await?
        }
        Guard::Version(version) => wf::bump_version(conn, report_id, *version).await?,
        Guard::Answer { partner_id, answer } => {
            let by = plan.by.ok_or(ApplyError::NoActor)?;
            wf::answer_assignment(conn, report_id, *partner_id, answer, by).await?
        }
        Guard::VisitOutcome {
            visit_id,
            outcome,
            conclusions,
            occupant_present,
            owner_present,
            procedures,
            public,
        } => {
            let write = wf::OutcomeWrite {
                status: *outcome,
                conclusions: conclusions.as_deref(),
                occupant_present: *occupant_present,
                owner_present: *owner_present,
                procedures,
                public: *public,
            };
            wf::record_visit_outcome(conn, report_id, *visit_id, &write).await?
        }
        Guard::Visit { visit_id, change } => {
            wf::change_visit(conn, report_id, *visit_id, change, plan.by).await?
        }
        Guard::None => true,
    };
    if held {
        Ok(())
    } else {
        Err(ApplyError::Conflict)
    }
}

async fn recipients(
    conn: &mut MySqlConnection,
    plan: &Plan,
    audience: Audience,
) -> Result<Vec<Recipient>, sqlx::Error> {
    match audience {
        Audience::TerritoryAdmins => wf::territory_admins(conn, plan.case.territory_id).await,
        Audience::Followers => wf::case_followers(conn, plan.case.report_id).await,
    }
}

/// What e-mails about the case need, the resident's contacts read once.
struct CaseMail<'a> {
    base_url: &'a str,
    report_id: u64,
    uuid: &'a str,
    contacts: Option<ResidentContacts>,
}

impl CaseMail<'_> {
    async fn contacts(
        &mut self,
        conn: &mut MySqlConnection,
    ) -> Result<&ResidentContacts, sqlx::Error> {
        let contacts = match self.contacts.take() {
            Some(contacts) => contacts,
            None => wf::resident_contacts(conn, self.report_id).await?,
        };
        Ok(self.contacts.insert(contacts))
    }

    fn office_link(&self) -> String {
        format!("{}/bo/signalements/{}", self.base_url, self.uuid)
    }

    fn context(&self, partner_id: Option<u64>) -> JobContext {
        JobContext {
            report_id: Some(self.report_id),
            partner_id,
            ..JobContext::default()
        }
    }
}

/// E-mails the resident (occupant and declarant) about their case.
/// `email(to, reference, link)` is the e-mail of one recipient.
async fn email_resident(
    conn: &mut MySqlConnection,
    case: &mut CaseMail<'_>,
    email: impl Fn(String, String, String) -> Email,
) -> Result<(), sqlx::Error> {
    let base_url = case.base_url;
    let contacts = case.contacts(conn).await?;
    let mut recipients: Vec<String> = [&contacts.occupant_email, &contacts.declarant_email]
        .into_iter()
        .flatten()
        .cloned()
        .collect();
    recipients.sort();
    recipients.dedup();
    let reference = contacts.reference.clone();
    let link = format!(
        "{base_url}/suivre-mon-signalement/{}",
        contacts.follow_up_code
    );
    for to in recipients {
        let email = email(to, reference.clone(), link.clone());
        queue::enqueue(conn, &Job::SendEmail(email), None, case.context(None)).await?;
    }
    Ok(())
}

/// Notifies users in the application and, for those who want it at once,
/// by e-mail (the others get the daily digest from the worker).
async fn notify_users(
    conn: &mut MySqlConnection,
    case: &mut CaseMail<'_>,
    recipients: &[&Recipient],
    kind: NotificationKind,
    title: &str,
) -> Result<(), sqlx::Error> {
    if recipients.is_empty() {
        return Ok(());
    }
    let reference = case.contacts(conn).await?.reference.clone();
    let ids: Vec<u64> = recipients.iter().map(|r| r.user_id).collect();
    wf::notify_many(conn, &ids, case.report_id, kind).await?;
    let emails: Vec<Job> = recipients
        .iter()
        .filter(|r| r.notification_pref == "instant")
        .map(|r| {
            Job::SendEmail(Email::CaseUpdateForStaff {
                to: r.email.clone(),
                reference: reference.clone(),
                title: title.to_owned(),
                link: case.office_link(),
            })
        })
        .collect();
    queue::enqueue_many(conn, &emails, case.context(None)).await
}

/// Tells a partner of its new assignment: its users, its generic mailbox,
/// and its connected systems (the worker pushes to Esabora, webhooks...).
async fn notify_assignment(
    conn: &mut MySqlConnection,
    case: &mut CaseMail<'_>,
    partner_id: u64,
    assignment_id: u64,
    by: u64,
) -> Result<(), sqlx::Error> {
    const TITLE: &str = "Un signalement a été affecté à votre partenaire";
    let users = wf::partner_recipients(conn, partner_id).await?;
    let users: Vec<&Recipient> = users.iter().filter(|r| r.user_id != by).collect();
    notify_users(conn, case, &users, NotificationKind::NewAssignment, TITLE).await?;
    if let Some(mailbox) = wf::partner_mailbox(conn, partner_id).await? {
        let reference = case.contacts(conn).await?.reference.clone();
        let email = Email::CaseUpdateForStaff {
            to: mailbox,
            reference,
            title: TITLE.into(),
            link: case.office_link(),
        };
        queue::enqueue(
            conn,
            &Job::SendEmail(email),
            None,
            case.context(Some(partner_id)),
        )
        .await?;
    }
    queue::enqueue(
        conn,
        &Job::AssignmentCreated { assignment_id },
        Some(&format!("assignment-created:{assignment_id}")),
        case.context(Some(partner_id)),
    )
    .await
}

/// The resident wrote: the territory admins are e-mailed; followers and
/// admins are notified in the application; followers who want it at once
/// are e-mailed. Every e-mail is keyed by `key` and its address, so a
/// retried transaction sends nothing twice.
async fn resident_wrote(
    conn: &mut MySqlConnection,
    case: &mut CaseMail<'_>,
    territory_id: u32,
    (followers, admins): (&[Recipient], &[Recipient]),
    key: &str,
) -> Result<(), sqlx::Error> {
    let reference = case.contacts(conn).await?.reference.clone();
    let message = |to: String| {
        Job::SendEmail(Email::ResidentMessage {
            to,
            reference: reference.clone(),
            link: case.office_link(),
        })
    };
    for to in crate::db::reports::territory_admin_emails(conn, territory_id).await? {
        let job = message(to.clone());
        queue::enqueue(conn, &job, Some(&format!("{key}:{to}")), case.context(None)).await?;
    }
    let mut notified: Vec<u64> = Vec::new();
    for r in followers.iter().chain(admins) {
        if !notified.contains(&r.user_id) {
            notified.push(r.user_id);
        }
    }
    wf::notify_many(
        conn,
        &notified,
        case.report_id,
        NotificationKind::ResidentFollowUp,
    )
    .await?;
    for r in followers
        .iter()
        .filter(|r| r.notification_pref == "instant")
    {
        let job = message(r.email.clone());
        queue::enqueue(
            conn,
            &job,
            Some(&format!("{key}:{}", r.email)),
            case.context(None),
        )
        .await?;
    }
    Ok(())
}

/// One write to the case's documents (`domain::document::commands`).
async fn apply_document(
    conn: &mut MySqlConnection,
    plan: &Plan,
    change: &crate::domain::document::commands::DocumentChange,
) -> Result<Option<u64>, ApplyError> {
    use crate::db::documents as docs;
    use crate::domain::document::commands::DocumentChange;
    match change {
        DocumentChange::Add {
            file,
            document_type,
            title,
            is_public,
        } => {
            let id = crate::uploads::record(
                conn,
                &docs::NewDocument {
                    uuid: &uuid::Uuid::new_v4().to_string(),
                    report_id: plan.case.report_id,
                    follow_up_id: None,
                    object_key: &file.key,
                    thumbnail_key: file.thumbnail_key.as_deref(),
                    filename: &file.filename,
                    mime: &file.mime,
                    size: file.size,
                    sha256: &file.sha256,
                    kind: if file.is_image { "photo" } else { "document" },
                    document_type: document_type.code(),
                    defect_code: None,
                    is_public: *is_public,
                },
            )
            .await?;
            docs::set_uploader(conn, id, plan.by, title.as_deref()).await?;
            if let Some(visit_id) = plan.documents_visit
                && !crate::db::visits::attach_document(conn, id, visit_id).await?
            {
                return Err(ApplyError::NotFound);
            }
            return Ok(Some(id));
        }
        DocumentChange::Update {
            document_id,
            title,
            document_type,
            is_public,
        } => {
            let found = docs::update_details(
                conn,
                *document_id,
                title.as_deref(),
                document_type.code(),
                *is_public,
            )
            .await?;
            if !found {
                return Err(ApplyError::NotFound);
            }
        }
        DocumentChange::Replace {
            document_id,
            from_key,
            file,
        } => {
            let objects = docs::NewObjects {
                object_key: &file.key,
                thumbnail_key: file.thumbnail_key.as_deref(),
                mime: &file.mime,
                size: file.size,
                sha256: &file.sha256,
            };
            if !docs::replace_objects(conn, *document_id, from_key, &objects).await? {
                return Err(ApplyError::Conflict);
            }
        }
        DocumentChange::Delete { document_id } => {
            if !docs::soft_delete(conn, *document_id, plan.by).await? {
                return Err(ApplyError::NotFound);
            }
        }
    }
    Ok(None)
}

/// Writes the order row of the plan's case, at the case's address, with
/// its document. The territory already holding this number and date (two
/// admins recording it at once) is a conflict: nothing is written.
async fn record_arrete(
    conn: &mut MySqlConnection,
    plan: &Plan,
    arrete: &crate::domain::arrete::NewArrete,
    added_document: Option<u64>,
) -> Result<String, ApplyError> {
    use crate::domain::arrete::DocumentLink;
    let document_id = match arrete.document {
        DocumentLink::None => None,
        DocumentLink::Added => Some(added_document.ok_or(ApplyError::NotFound)?),
        DocumentLink::Existing(id) => Some(id),
    };
    match crate::db::arretes::insert_for_case(
        conn,
        plan.case.report_id,
        plan.by,
        &arrete.order,
        document_id,
    )
    .await
    {
        Ok(Some(uuid)) => Ok(uuid),
        Ok(None) => Err(ApplyError::NotFound),
        Err(crate::db::arretes::InsertError::Duplicate) => Err(ApplyError::Conflict),
        Err(crate::db::arretes::InsertError::Db(e)) => Err(e.into()),
    }
}
