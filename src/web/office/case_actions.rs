//! Actions on a case: validate or refuse, assign, close for all, reopen,
//! answer and close an assignment, write a follow-up, plan and record a
//! visit, tags, subscription. Each one is checked by the policy, guarded
//! against concurrent changes (the form carries the version it was built
//! from), recorded in the history, and queues its e-mails in the same
//! transaction.

use axum::{
    extract::{Path, RawForm, State},
    http::StatusCode,
    response::{IntoResponse, Redirect, Response},
};
use sqlx::MySqlConnection;

use super::cases::{case_page, load_visible};
use crate::{
    app::AppState,
    db::{self, workflow as wf},
    domain::workflow::{
        self as rules, ACTIVE, ASSIGNMENT_ACCEPTED, ASSIGNMENT_CLOSED, ASSIGNMENT_NEW,
        ASSIGNMENT_REFUSAL_REASONS, ASSIGNMENT_REFUSED, CLOSED, CLOSURE_REASONS, CaseAction,
        MIN_MESSAGE_CHARS, NEED_VALIDATION, REFUSAL_REASONS, REFUSED,
    },
    error::{AppError, AppResult},
    queue::{self, Email, Job, JobContext},
    web::{forms::FormErrors, layout::OfficePage},
};

/// The fields of an action form (repeated keys kept: `partner_id` may
/// repeat when validating).
struct ActionForm(Vec<(String, String)>);

impl ActionForm {
    fn parse(body: &[u8]) -> Self {
        Self(serde_urlencoded::from_bytes(body).unwrap_or_default())
    }
    fn get(&self, key: &str) -> String {
        self.0
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.trim().to_owned())
            .unwrap_or_default()
    }
    fn all(&self, key: &str) -> Vec<String> {
        self.0
            .iter()
            .filter(|(k, _)| k == key)
            .map(|(_, v)| v.trim().to_owned())
            .collect()
    }
    fn flag(&self, key: &str) -> bool {
        self.0.iter().any(|(k, v)| k == key && !v.is_empty())
    }
    /// The reason (one of `reasons`) and the explanation (10 to 5,000
    /// characters) that go with a refusal or a closure; each missing or
    /// wrong one adds its (field, message) error.
    fn reason_and_message(
        &self,
        reasons: &[(&str, &str)],
        reason_error: (&'static str, &str),
        message_error: (&'static str, &str),
        errors: &mut FormErrors,
    ) -> (String, String) {
        let reason = self.get("reason");
        let message = self.get("message");
        if !rules::is_code(reasons, &reason) {
            errors.add(reason_error.0, reason_error.1);
        }
        let length = message.chars().count();
        if !(MIN_MESSAGE_CHARS..=5000).contains(&length) {
            errors.add(message_error.0, message_error.1);
        }
        (reason, message)
    }

    fn version(&self) -> u32 {
        self.get("version").parse().unwrap_or(0)
    }
}

const CONFLICT: &str = "Ce signalement a été modifié par quelqu’un d’autre pendant que vous le consultiez : \
votre action n’a pas été enregistrée. Rechargez la page pour voir la situation à jour, puis recommencez si besoin.";

fn back(uuid: &str) -> Response {
    Redirect::to(&format!("/bo/signalements/{uuid}")).into_response()
}

async fn invalid(
    state: &AppState,
    page: OfficePage,
    uuid: &str,
    errors: FormErrors,
) -> AppResult<Response> {
    let view = case_page(state, page, uuid, errors).await?;
    Ok((StatusCode::UNPROCESSABLE_ENTITY, view).into_response())
}

/// Checks the policy for this action; returns the case key. A form built
/// from an older version of the case is answered 409 first: the case
/// changed under the user's eyes, which is what they need to know.
async fn allowed(
    state: &AppState,
    page: &OfficePage,
    uuid: &str,
    action: CaseAction,
) -> AppResult<db::case_view::CaseKey> {
    allowed_at(state, page, uuid, action, None).await
}

async fn allowed_at(
    state: &AppState,
    page: &OfficePage,
    uuid: &str,
    action: CaseAction,
    version: Option<u32>,
) -> AppResult<db::case_view::CaseKey> {
    let (key, _) = allowed_case(state, page, uuid, action, version).await?;
    Ok(key)
}

/// The case and what the workflow knows of it, when the user may take
/// `action` on it (at this `version`, when given).
async fn allowed_case(
    state: &AppState,
    page: &OfficePage,
    uuid: &str,
    action: CaseAction,
    version: Option<u32>,
) -> AppResult<(db::case_view::CaseKey, rules::CaseFacts)> {
    let (key, facts) = load_visible(state, &page.user, uuid).await?;
    if version.is_some_and(|v| v != key.version) {
        return Err(AppError::Conflict(CONFLICT.into()));
    }
    if !rules::can(&page.user.actor, &facts, action) {
        return Err(AppError::Forbidden);
    }
    Ok((key, facts))
}

/// E-mails the resident (occupant and declarant) about their case.
async fn email_resident(
    conn: &mut MySqlConnection,
    base_url: &str,
    report_id: u64,
    title: &str,
    message: &str,
) -> AppResult<()> {
    let contacts = wf::resident_contacts(conn, report_id).await?;
    let mut recipients: Vec<String> = [contacts.occupant_email, contacts.declarant_email]
        .into_iter()
        .flatten()
        .collect();
    recipients.sort();
    recipients.dedup();
    for to in recipients {
        let email = Email::CaseUpdateForResident {
            to,
            reference: contacts.reference.clone(),
            title: title.to_owned(),
            message: message.to_owned(),
            link: format!(
                "{base_url}/suivre-mon-signalement/{}",
                contacts.follow_up_code
            ),
        };
        queue::enqueue(
            conn,
            &Job::SendEmail(email),
            None,
            JobContext {
                report_id: Some(report_id),
                ..JobContext::default()
            },
        )
        .await?;
    }
    Ok(())
}

/// Notifies users in the application and, for those who want it at once,
/// by e-mail (the others get the daily digest from the worker).
async fn notify_users(
    conn: &mut MySqlConnection,
    base_url: &str,
    recipients: &[wf::Recipient],
    except: u64,
    (report_id, uuid): (u64, &str),
    kind: &str,
    title: &str,
) -> AppResult<()> {
    let recipients: Vec<&wf::Recipient> =
        recipients.iter().filter(|r| r.user_id != except).collect();
    if recipients.is_empty() {
        return Ok(());
    }
    let reference = wf::resident_contacts(conn, report_id).await?.reference;
    let ids: Vec<u64> = recipients.iter().map(|r| r.user_id).collect();
    wf::notify_many(conn, &ids, report_id, kind).await?;
    let emails: Vec<Job> = recipients
        .iter()
        .filter(|r| r.notification_pref == "instant")
        .map(|r| {
            Job::SendEmail(Email::CaseUpdateForStaff {
                to: r.email.clone(),
                reference: reference.clone(),
                title: title.to_owned(),
                link: format!("{base_url}/bo/signalements/{uuid}"),
            })
        })
        .collect();
    queue::enqueue_many(
        conn,
        &emails,
        JobContext {
            report_id: Some(report_id),
            ..JobContext::default()
        },
    )
    .await?;
    Ok(())
}

/// Notifies a partner of a new assignment: its users, its generic mailbox,
/// and its connected systems (the worker pushes to Esabora, webhooks...).
async fn notify_assignment(
    conn: &mut MySqlConnection,
    base_url: &str,
    report_id: u64,
    uuid: &str,
    partner_id: u64,
    assignment_id: u64,
    by: u64,
) -> AppResult<()> {
    let users = wf::partner_recipients(conn, partner_id).await?;
    notify_users(
        conn,
        base_url,
        &users,
        by,
        (report_id, uuid),
        "nouvelle_affectation",
        "Un signalement a été affecté à votre partenaire",
    )
    .await?;
    if let Some(mailbox) = wf::partner_mailbox(conn, partner_id).await? {
        let reference = wf::resident_contacts(conn, report_id).await?.reference;
        let email = Email::CaseUpdateForStaff {
            to: mailbox,
            reference,
            title: "Un signalement a été affecté à votre partenaire".into(),
            link: format!("{base_url}/bo/signalements/{uuid}"),
        };
        queue::enqueue(
            conn,
            &Job::SendEmail(email),
            None,
            JobContext {
                report_id: Some(report_id),
                partner_id: Some(partner_id),
                ..JobContext::default()
            },
        )
        .await?;
    }
    queue::enqueue(
        conn,
        &Job::AssignmentCreated { assignment_id },
        Some(&format!("assignment-created:{assignment_id}")),
        JobContext {
            report_id: Some(report_id),
            partner_id: Some(partner_id),
            ..JobContext::default()
        },
    )
    .await?;
    Ok(())
}

/// The partners chosen in a form, checked against the territory's.
async fn chosen_partners(
    state: &AppState,
    key: &db::case_view::CaseKey,
    form: &ActionForm,
    errors: &mut FormErrors,
) -> AppResult<Vec<u64>> {
    let allowed = db::case_view::assignable_partners(&state.db, key.territory_id, "").await?;
    let mut ids = Vec::new();
    for raw in form.all("partner_id") {
        match raw
            .parse::<u64>()
            .ok()
            .filter(|id| allowed.iter().any(|(p, _, _)| p == id))
        {
            Some(id) => ids.push(id),
            None => errors.add(
                "partner_id",
                "Ce partenaire n’existe pas sur ce territoire.",
            ),
        }
    }
    ids.sort_unstable();
    ids.dedup();
    Ok(ids)
}

pub async fn validate_case(
    State(state): State<AppState>,
    page: OfficePage,
    Path(uuid): Path<String>,
    RawForm(body): RawForm,
) -> AppResult<Response> {
    let form = ActionForm::parse(&body);
    let key = allowed_at(
        &state,
        &page,
        &uuid,
        CaseAction::Validate,
        Some(form.version()),
    )
    .await?;
    let mut errors = FormErrors::default();
    let mut partners = chosen_partners(&state, &key, &form, &mut errors).await?;
    if !errors.is_empty() {
        return invalid(&state, page, &uuid, errors).await;
    }
    if partners.is_empty() {
        // Nothing ticked: the territory's auto-assignment rules decide.
        partners =
            super::auto_assignment::picked_partners(&state, key.territory_id, key.id).await?;
    }
    let base = &state.config.base_url;
    let mut tx = state.db.begin().await?;
    if !wf::transition(&mut tx, key.id, form.version(), &[NEED_VALIDATION], ACTIVE).await? {
        return Err(AppError::Conflict(CONFLICT.into()));
    }
    for partner in &partners {
        if let Some(assignment) = wf::assign(&mut tx, key.id, *partner, page.user.id).await? {
            notify_assignment(
                &mut tx,
                base,
                key.id,
                &uuid,
                *partner,
                assignment,
                page.user.id,
            )
            .await?;
        }
    }
    wf::add_follow_up(
        &mut tx,
        key.id,
        Some(page.user.id),
        None,
        "system",
        "signalement_valide",
        "Votre signalement a été validé et transmis aux services compétents.",
        true,
    )
    .await?;
    wf::record_history(
        &mut tx,
        page.user.id,
        &page.user.email,
        "validate",
        key.id,
        crate::domain::audit::diff(&[
            ("status", NEED_VALIDATION.into(), ACTIVE.into()),
            ("partners", String::new(), db::id_list(&partners)),
        ]),
    )
    .await?;
    email_resident(&mut tx, base, key.id, "Votre signalement a été validé", "Il a été transmis aux services qui peuvent agir. Vous serez informé de la suite de son traitement.").await?;
    wf::subscribe(&mut tx, key.id, page.user.id).await?;
    tx.commit().await?;
    Ok(back(&uuid))
}

pub async fn refuse_case(
    State(state): State<AppState>,
    page: OfficePage,
    Path(uuid): Path<String>,
    RawForm(body): RawForm,
) -> AppResult<Response> {
    let form = ActionForm::parse(&body);
    let key = allowed_at(
        &state,
        &page,
        &uuid,
        CaseAction::Refuse,
        Some(form.version()),
    )
    .await?;
    let mut errors = FormErrors::default();
    let (reason, message) = form.reason_and_message(
        &REFUSAL_REASONS,
        ("reason", "Choisissez le motif du refus."),
        (
            "message",
            "Expliquez le refus à l’usager (10 à 5 000 caractères).",
        ),
        &mut errors,
    );
    if !errors.is_empty() {
        return invalid(&state, page, &uuid, errors).await;
    }
    let mut tx = state.db.begin().await?;
    if !wf::transition(&mut tx, key.id, form.version(), &[NEED_VALIDATION], REFUSED).await? {
        return Err(AppError::Conflict(CONFLICT.into()));
    }
    wf::set_refusal(&mut tx, key.id, &reason, &message).await?;
    wf::add_follow_up(
        &mut tx,
        key.id,
        Some(page.user.id),
        None,
        "partner",
        "signalement_refuse",
        &message,
        true,
    )
    .await?;
    wf::record_history(
        &mut tx,
        page.user.id,
        &page.user.email,
        "refuse",
        key.id,
        crate::domain::audit::diff(&[
            ("status", NEED_VALIDATION.into(), REFUSED.into()),
            ("refusal_reason", String::new(), reason.clone()),
        ]),
    )
    .await?;
    email_resident(
        &mut tx,
        &state.config.base_url,
        key.id,
        "Votre signalement n’a pas pu être retenu",
        &message,
    )
    .await?;
    tx.commit().await?;
    Ok(back(&uuid))
}

pub async fn assign_partner(
    State(state): State<AppState>,
    page: OfficePage,
    Path(uuid): Path<String>,
    RawForm(body): RawForm,
) -> AppResult<Response> {
    let form = ActionForm::parse(&body);
    let key = allowed_at(
        &state,
        &page,
        &uuid,
        CaseAction::Assign,
        Some(form.version()),
    )
    .await?;
    let mut errors = FormErrors::default();
    let partners = chosen_partners(&state, &key, &form, &mut errors).await?;
    if partners.is_empty() && errors.is_empty() {
        errors.add("partner_id", "Choisissez un partenaire.");
    }
    if !errors.is_empty() {
        return invalid(&state, page, &uuid, errors).await;
    }
    let mut tx = state.db.begin().await?;
    if !wf::bump_version(&mut tx, key.id, form.version()).await? {
        return Err(AppError::Conflict(CONFLICT.into()));
    }
    for partner in &partners {
        if let Some(assignment) = wf::assign(&mut tx, key.id, *partner, page.user.id).await? {
            notify_assignment(
                &mut tx,
                &state.config.base_url,
                key.id,
                &uuid,
                *partner,
                assignment,
                page.user.id,
            )
            .await?;
        }
    }
    wf::record_history(
        &mut tx,
        page.user.id,
        &page.user.email,
        "assign",
        key.id,
        crate::domain::audit::diff(&[("partners", String::new(), db::id_list(&partners))]),
    )
    .await?;
    tx.commit().await?;
    Ok(back(&uuid))
}

pub async fn unassign_partner(
    State(state): State<AppState>,
    page: OfficePage,
    Path(uuid): Path<String>,
    RawForm(body): RawForm,
) -> AppResult<Response> {
    let form = ActionForm::parse(&body);
    let key = allowed_at(
        &state,
        &page,
        &uuid,
        CaseAction::Assign,
        Some(form.version()),
    )
    .await?;
    let partner: u64 = form
        .get("partner_id")
        .parse()
        .map_err(|_| AppError::BadRequest("Partenaire manquant.".into()))?;
    let mut tx = state.db.begin().await?;
    if !wf::bump_version(&mut tx, key.id, form.version()).await? {
        return Err(AppError::Conflict(CONFLICT.into()));
    }
    if !wf::unassign(&mut tx, key.id, partner).await? {
        return Err(AppError::NotFound);
    }
    // The partner's users stop following the case (db::subscriptions).
    db::subscriptions::prune(&mut tx, db::subscriptions::Recheck::Case(key.id)).await?;
    wf::record_history(
        &mut tx,
        page.user.id,
        &page.user.email,
        "unassign",
        key.id,
        crate::domain::audit::diff(&[("partners", partner.to_string(), String::new())]),
    )
    .await?;
    tx.commit().await?;
    Ok(back(&uuid))
}

pub async fn close_case(
    State(state): State<AppState>,
    page: OfficePage,
    Path(uuid): Path<String>,
    RawForm(body): RawForm,
) -> AppResult<Response> {
    let form = ActionForm::parse(&body);
    let key = allowed_at(
        &state,
        &page,
        &uuid,
        CaseAction::CloseForAll,
        Some(form.version()),
    )
    .await?;
    let mut errors = FormErrors::default();
    let (reason, message) = form.reason_and_message(
        &CLOSURE_REASONS,
        ("reason", "Choisissez le motif de clôture."),
        ("message", "Décrivez la clôture (10 à 5 000 caractères)."),
        &mut errors,
    );
    let public = form.flag("public");
    if !errors.is_empty() {
        return invalid(&state, page, &uuid, errors).await;
    }
    let mut tx = state.db.begin().await?;
    if !wf::transition(&mut tx, key.id, form.version(), &[ACTIVE], CLOSED).await? {
        return Err(AppError::Conflict(CONFLICT.into()));
    }
    wf::set_closure(&mut tx, key.id, Some(&reason)).await?;
    // Read before the assignments close: the partners that worked on the
    // case hear of its closure, then stop following it.
    let followers = wf::case_followers(&mut tx, key.id).await?;
    wf::close_all_assignments(&mut tx, key.id, &reason, page.user.id).await?;
    db::subscriptions::prune(&mut tx, db::subscriptions::Recheck::Case(key.id)).await?;
    wf::add_follow_up(
        &mut tx,
        key.id,
        Some(page.user.id),
        None,
        "partner",
        "signalement_cloture",
        &message,
        public,
    )
    .await?;
    wf::record_history(
        &mut tx,
        page.user.id,
        &page.user.email,
        "close",
        key.id,
        crate::domain::audit::diff(&[
            ("status", ACTIVE.into(), CLOSED.into()),
            ("closure_reason", String::new(), reason.clone()),
        ]),
    )
    .await?;
    notify_users(
        &mut tx,
        &state.config.base_url,
        &followers,
        page.user.id,
        (key.id, &uuid),
        "cloture_signalement",
        "Un signalement que vous suivez a été clôturé",
    )
    .await?;
    if public {
        email_resident(
            &mut tx,
            &state.config.base_url,
            key.id,
            "Votre signalement a été clôturé",
            &message,
        )
        .await?;
    }
    tx.commit().await?;
    Ok(back(&uuid))
}

pub async fn reopen_case(
    State(state): State<AppState>,
    page: OfficePage,
    Path(uuid): Path<String>,
    RawForm(body): RawForm,
) -> AppResult<Response> {
    let form = ActionForm::parse(&body);
    let key = allowed_at(
        &state,
        &page,
        &uuid,
        CaseAction::Reopen,
        Some(form.version()),
    )
    .await?;
    let mut tx = state.db.begin().await?;
    let from = key.status.clone();
    if !wf::transition(&mut tx, key.id, form.version(), &[CLOSED, REFUSED], ACTIVE).await? {
        return Err(AppError::Conflict(CONFLICT.into()));
    }
    wf::set_closure(&mut tx, key.id, None).await?;
    wf::reopen_assignments(&mut tx, key.id).await?;
    wf::add_follow_up(
        &mut tx,
        key.id,
        Some(page.user.id),
        None,
        "system",
        "signalement_rouvert",
        "Le signalement a été rouvert.",
        false,
    )
    .await?;
    wf::record_history(
        &mut tx,
        page.user.id,
        &page.user.email,
        "reopen",
        key.id,
        crate::domain::audit::diff(&[("status", from, ACTIVE.into())]),
    )
    .await?;
    tx.commit().await?;
    Ok(back(&uuid))
}

/// The actor's partner on this case (the one with an assignment).
fn own_partner(page: &OfficePage, facts: &rules::CaseFacts) -> AppResult<u64> {
    facts
        .own_assignment(&page.user.actor)
        .map(|(p, _)| p)
        .ok_or(AppError::Forbidden)
}

pub async fn accept_assignment(
    State(state): State<AppState>,
    page: OfficePage,
    Path(uuid): Path<String>,
) -> AppResult<Response> {
    let (key, facts) =
        allowed_case(&state, &page, &uuid, CaseAction::AnswerAssignment, None).await?;
    let partner = own_partner(&page, &facts)?;
    let mut tx = state.db.begin().await?;
    if !wf::answer_assignment(
        &mut tx,
        key.id,
        partner,
        ASSIGNMENT_NEW,
        ASSIGNMENT_ACCEPTED,
        None,
        None,
        page.user.id,
    )
    .await?
    {
        return Err(AppError::Conflict(CONFLICT.into()));
    }
    wf::add_follow_up(
        &mut tx,
        key.id,
        Some(page.user.id),
        Some(partner),
        "system",
        "affectation_acceptee",
        "Le partenaire a accepté de traiter le signalement.",
        false,
    )
    .await?;
    wf::record_history(
        &mut tx,
        page.user.id,
        &page.user.email,
        "accept_assignment",
        key.id,
        crate::domain::audit::diff(&[(
            "assignment",
            ASSIGNMENT_NEW.into(),
            ASSIGNMENT_ACCEPTED.into(),
        )]),
    )
    .await?;
    wf::subscribe(&mut tx, key.id, page.user.id).await?;
    let assignment = assignment_id(&mut tx, key.id, partner).await?;
    queue::enqueue(
        &mut tx,
        &Job::AssignmentStatusChanged {
            assignment_id: assignment,
        },
        None,
        JobContext {
            report_id: Some(key.id),
            partner_id: Some(partner),
            ..JobContext::default()
        },
    )
    .await?;
    tx.commit().await?;
    Ok(back(&uuid))
}

async fn assignment_id(
    conn: &mut MySqlConnection,
    report_id: u64,
    partner_id: u64,
) -> AppResult<u64> {
    Ok(db::case_view::assignment_id(conn, report_id, partner_id).await?)
}

/// How a partner ends its assignment: refusing a new one or closing an
/// accepted one take the same steps with different words and states.
struct AssignmentEnd {
    action: CaseAction,
    reasons: &'static [(&'static str, &'static str)],
    reason_error: (&'static str, &'static str),
    message_error: (&'static str, &'static str),
    from: &'static str,
    to: &'static str,
    /// Follow-up category and audit action.
    category: &'static str,
    history: &'static str,
    /// Notification kind, and the one used when no assignment is left open.
    notice: &'static str,
    notice_when_last: Option<&'static str>,
    title: &'static str,
}

const REFUSAL: AssignmentEnd = AssignmentEnd {
    action: CaseAction::AnswerAssignment,
    reasons: &ASSIGNMENT_REFUSAL_REASONS,
    reason_error: ("assignment_reason", "Choisissez le motif du refus."),
    message_error: (
        "assignment_message",
        "Expliquez le refus (10 à 5 000 caractères).",
    ),
    from: ASSIGNMENT_NEW,
    to: ASSIGNMENT_REFUSED,
    category: "affectation_refusee",
    history: "refuse_assignment",
    notice: "affectation_refusee",
    notice_when_last: None,
    title: "Un partenaire a refusé une affectation",
};

const CLOSURE: AssignmentEnd = AssignmentEnd {
    action: CaseAction::CloseAssignment,
    reasons: &CLOSURE_REASONS,
    reason_error: ("close_reason", "Choisissez le motif de clôture."),
    message_error: (
        "close_message",
        "Décrivez la clôture (10 à 5 000 caractères).",
    ),
    from: ASSIGNMENT_ACCEPTED,
    to: ASSIGNMENT_CLOSED,
    category: "affectation_cloturee",
    history: "close_assignment",
    notice: "nouveau_suivi",
    notice_when_last: Some("cloture_partenaire"),
    title: "Un partenaire a clôturé son intervention",
};

pub async fn refuse_assignment(
    State(state): State<AppState>,
    page: OfficePage,
    Path(uuid): Path<String>,
    RawForm(body): RawForm,
) -> AppResult<Response> {
    end_assignment(&state, page, &uuid, &body, &REFUSAL).await
}

pub async fn close_assignment(
    State(state): State<AppState>,
    page: OfficePage,
    Path(uuid): Path<String>,
    RawForm(body): RawForm,
) -> AppResult<Response> {
    end_assignment(&state, page, &uuid, &body, &CLOSURE).await
}

/// Moves the user's partner's assignment from `end.from` to `end.to` with a
/// reason and a message, writes the message as a follow-up, records the
/// history and tells the territory admins, in one transaction.
async fn end_assignment(
    state: &AppState,
    page: OfficePage,
    uuid: &str,
    body: &[u8],
    end: &AssignmentEnd,
) -> AppResult<Response> {
    let (key, facts) = allowed_case(state, &page, uuid, end.action, None).await?;
    let partner = own_partner(&page, &facts)?;
    let form = ActionForm::parse(body);
    let mut errors = FormErrors::default();
    let (reason, message) = form.reason_and_message(
        end.reasons,
        end.reason_error,
        end.message_error,
        &mut errors,
    );
    if !errors.is_empty() {
        return invalid(state, page, uuid, errors).await;
    }
    let mut tx = state.db.begin().await?;
    if !wf::answer_assignment(
        &mut tx,
        key.id,
        partner,
        end.from,
        end.to,
        Some(&reason),
        Some(&message),
        page.user.id,
    )
    .await?
    {
        return Err(AppError::Conflict(CONFLICT.into()));
    }
    // A refused or closed assignment no longer brings notifications.
    db::subscriptions::prune(&mut tx, db::subscriptions::Recheck::Case(key.id)).await?;
    wf::add_follow_up(
        &mut tx,
        key.id,
        Some(page.user.id),
        Some(partner),
        "partner",
        end.category,
        &message,
        false,
    )
    .await?;
    wf::record_history(
        &mut tx,
        page.user.id,
        &page.user.email,
        end.history,
        key.id,
        crate::domain::audit::diff(&[("assignment", end.from.into(), end.to.into())]),
    )
    .await?;
    let admins = wf::territory_admins(&mut tx, key.territory_id).await?;
    let kind = match end.notice_when_last {
        Some(last) if wf::all_assignments_closed(&mut tx, key.id).await? => last,
        _ => end.notice,
    };
    notify_users(
        &mut tx,
        &state.config.base_url,
        &admins,
        page.user.id,
        (key.id, uuid),
        kind,
        end.title,
    )
    .await?;
    tx.commit().await?;
    Ok(back(uuid))
}

pub async fn add_follow_up(
    State(state): State<AppState>,
    page: OfficePage,
    Path(uuid): Path<String>,
    RawForm(body): RawForm,
) -> AppResult<Response> {
    let (key, facts) = allowed_case(&state, &page, &uuid, CaseAction::WriteFollowUp, None).await?;
    let form = ActionForm::parse(&body);
    let text = form.get("body");
    let public = form.flag("public");
    let mut errors = FormErrors::default();
    if text.chars().count() < 2 || text.chars().count() > 10_000 {
        errors.add("body", "Écrivez le suivi (10 000 caractères au plus).");
    }
    if !errors.is_empty() {
        return invalid(&state, page, &uuid, errors).await;
    }
    let partner = facts.own_assignment(&page.user.actor).map(|(p, _)| p);
    let mut tx = state.db.begin().await?;
    wf::add_follow_up(
        &mut tx,
        key.id,
        Some(page.user.id),
        partner,
        "partner",
        "message_partner",
        &text,
        public,
    )
    .await?;
    let followers = wf::case_followers(&mut tx, key.id).await?;
    notify_users(
        &mut tx,
        &state.config.base_url,
        &followers,
        page.user.id,
        (key.id, &uuid),
        "nouveau_suivi",
        "Nouveau suivi sur un signalement",
    )
    .await?;
    if public {
        email_resident(
            &mut tx,
            &state.config.base_url,
            key.id,
            "Nouveau message sur votre signalement",
            &text,
        )
        .await?;
    }
    tx.commit().await?;
    Ok(back(&uuid))
}

pub async fn plan_visit(
    State(state): State<AppState>,
    page: OfficePage,
    Path(uuid): Path<String>,
    RawForm(body): RawForm,
) -> AppResult<Response> {
    let key = allowed(&state, &page, &uuid, CaseAction::PlanVisit).await?;
    let form = ActionForm::parse(&body);
    let mut errors = FormErrors::default();
    let format = time::macros::format_description!("[year]-[month]-[day]T[hour]:[minute]");
    let scheduled = time::PrimitiveDateTime::parse(&form.get("scheduled_at"), &format).ok();
    let now = time::OffsetDateTime::now_utc();
    let now = time::PrimitiveDateTime::new(now.date(), now.time());
    match scheduled {
        None => errors.add("scheduled_at", "Indiquez la date et l’heure de la visite."),
        Some(at) if at < now - time::Duration::days(1) => {
            errors.add("scheduled_at", "La date de la visite est passée.")
        }
        Some(_) => {}
    }
    let assignments = db::case_view::assignments(&state.db, key.id).await?;
    let partner = form.get("partner_id").parse::<u64>().ok();
    if let Some(p) = partner
        && !assignments
            .iter()
            .any(|a| a.partner_id == p && a.status == ASSIGNMENT_ACCEPTED)
    {
        errors.add(
            "visit_partner",
            "Choisissez un partenaire qui a accepté le signalement.",
        );
    }
    let (Some(at), true) = (scheduled, errors.is_empty()) else {
        return invalid(&state, page, &uuid, errors).await;
    };
    let comment = form.get("comment");
    let mut tx = state.db.begin().await?;
    wf::plan_visit(
        &mut tx,
        key.id,
        partner,
        at,
        (!comment.is_empty()).then_some(comment.as_str()),
        page.user.id,
    )
    .await?;
    let when = super::cases::format_datetime(&at);
    wf::add_follow_up(
        &mut tx,
        key.id,
        Some(page.user.id),
        partner,
        "system",
        "visite_planifiee",
        &format!("Une visite du logement est prévue le {when}."),
        true,
    )
    .await?;
    email_resident(&mut tx, &state.config.base_url, key.id, "Une visite de votre logement est prévue", &format!("Un agent viendra visiter le logement le {when}. Merci de prévoir d’être présent ou de vous faire représenter.")).await?;
    wf::record_history(
        &mut tx,
        page.user.id,
        &page.user.email,
        "plan_visit",
        key.id,
        None,
    )
    .await?;
    tx.commit().await?;
    Ok(back(&uuid))
}

pub async fn record_visit(
    State(state): State<AppState>,
    page: OfficePage,
    Path((uuid, visit_id)): Path<(String, u64)>,
    RawForm(body): RawForm,
) -> AppResult<Response> {
    let key = allowed(&state, &page, &uuid, CaseAction::PlanVisit).await?;
    let form = ActionForm::parse(&body);
    let status = form.get("status");
    let conclusions = form.get("conclusions");
    let mut errors = FormErrors::default();
    if !matches!(status.as_str(), "done" | "cancelled" | "not_done") {
        errors.add(
            "visit_status",
            "Indiquez si la visite a eu lieu, a été annulée ou n’a pas pu se faire.",
        );
    }
    if status == "done" && conclusions.chars().count() < MIN_MESSAGE_CHARS {
        errors.add(
            "conclusions",
            "Résumez les constats de la visite (10 caractères au moins).",
        );
    }
    if !errors.is_empty() {
        return invalid(&state, page, &uuid, errors).await;
    }
    let present = match form.get("occupant_present").as_str() {
        "oui" => Some(true),
        "non" => Some(false),
        _ => None,
    };
    let mut tx = state.db.begin().await?;
    if !wf::record_visit_outcome(
        &mut tx,
        key.id,
        visit_id,
        &status,
        (!conclusions.is_empty()).then_some(conclusions.as_str()),
        present,
    )
    .await?
    {
        return Err(AppError::Conflict(
            "Le résultat de cette visite a déjà été enregistré.".into(),
        ));
    }
    let (title, message) = match status.as_str() {
        "done" => ("La visite de votre logement a eu lieu", conclusions.clone()),
        "cancelled" => (
            "La visite de votre logement est annulée",
            "La visite prévue est annulée ; une nouvelle date vous sera proposée si besoin."
                .to_owned(),
        ),
        _ => (
            "La visite de votre logement n’a pas pu avoir lieu",
            "La visite prévue n’a pas pu se faire. Le service vous recontactera.".to_owned(),
        ),
    };
    wf::add_follow_up(
        &mut tx,
        key.id,
        Some(page.user.id),
        None,
        "partner",
        "visite_resultat",
        &message,
        true,
    )
    .await?;
    email_resident(&mut tx, &state.config.base_url, key.id, title, &message).await?;
    wf::record_history(
        &mut tx,
        page.user.id,
        &page.user.email,
        "record_visit",
        key.id,
        crate::domain::audit::diff(&[("visit", "planned".into(), status.clone())]),
    )
    .await?;
    tx.commit().await?;
    Ok(back(&uuid))
}

pub async fn set_tags(
    State(state): State<AppState>,
    page: OfficePage,
    Path(uuid): Path<String>,
    RawForm(body): RawForm,
) -> AppResult<Response> {
    let key = allowed(&state, &page, &uuid, CaseAction::ManageTags).await?;
    let form = ActionForm::parse(&body);
    let tags: Vec<u64> = form
        .all("tag_id")
        .iter()
        .filter_map(|t| t.parse().ok())
        .collect();
    let mut tx = state.db.begin().await?;
    wf::set_tags(&mut tx, key.id, key.territory_id, &tags).await?;
    wf::record_history(
        &mut tx,
        page.user.id,
        &page.user.email,
        "tags",
        key.id,
        crate::domain::audit::diff(&[("tags", String::new(), db::id_list(&tags))]),
    )
    .await?;
    tx.commit().await?;
    Ok(back(&uuid))
}

pub async fn toggle_subscription(
    State(state): State<AppState>,
    page: OfficePage,
    Path(uuid): Path<String>,
) -> AppResult<Response> {
    let (key, _) = load_visible(&state, &page.user, &uuid).await?;
    let subscribed = db::case_view::is_subscribed(&state.db, key.id, page.user.id).await?;
    let mut tx = state.db.begin().await?;
    if subscribed {
        wf::unsubscribe(&mut tx, key.id, page.user.id).await?;
    } else {
        wf::subscribe(&mut tx, key.id, page.user.id).await?;
    }
    tx.commit().await?;
    Ok(back(&uuid))
}
