//! The visit actions of the case page: plan (or record a visit already
//! done), confirm with its conclusion, reschedule, cancel, edit the
//! conclusion. Each handler parses its form, loads the case (and the
//! visit, 404 when it is not the case's), asks `domain::case::visit` for a
//! plan and applies it like every case action (`case_actions::Action`).
//! The rules: docs/visits.md.

use axum::{
    extract::{DefaultBodyLimit, Path, RawForm, Request, State},
    handler::Handler,
    response::Response,
};

use super::case_actions::{Action, ActionForm};
use super::documents::{FILES_FIELD, UPLOAD_BODY_LIMIT, field, store_files};
use crate::{
    app::AppState,
    auth::session::RequestOrigin,
    db,
    domain::{
        case::VisitOutcome,
        case::visit::{self, Conclusion, ConclusionInput, Procedure, VisitFacts, VisitKind},
        permissions::Actor,
        workflow::{self, CaseAction, CaseFacts},
    },
    domain::{
        case::{FieldErrors, Refusal},
        document::{DocumentType, commands},
    },
    error::{AppError, AppResult},
    web::{layout::OfficePage, public::form, routes::Routes},
};

/// The visit's upload route (multipart, the documents' body limit).
pub fn register(routes: Routes) -> Routes {
    routes.post(
        "/bo/signalements/{uuid}/visites/{visit_id}/fichiers",
        crate::domain::permissions::Access::SignedIn,
        upload.layer(DefaultBodyLimit::max(UPLOAD_BODY_LIMIT)),
    )
}

/// The visit's report or photos, several files at once, through the same
/// checks and antivirus scan as every upload (`documents::store_files`).
pub async fn upload(
    State(state): State<AppState>,
    page: OfficePage,
    origin: RequestOrigin,
    Path((uuid, visit_id)): Path<(String, u64)>,
    request: Request,
) -> AppResult<Response> {
    let (_, facts) = super::cases::load_visible(&state, &page.user, &uuid).await?;
    let visit = visit_of(&state, &facts, visit_id).await?;
    let (fields, incoming) = form::read_body(&state, request).await?;
    let action = Action::new(&state, page, origin, &uuid);
    let nature = field(&fields, "nature");
    let kind = match visit::check_files(&action.page.user.actor, &facts, &visit, &nature) {
        Ok(kind) => kind,
        Err(refusal) => return action.run(Err(refusal)).await,
    };
    let public = kind == DocumentType::RapportVisite && !field(&fields, "public").is_empty();
    let input = commands::UploadInput {
        document_type: kind.code().to_owned(),
        title: String::new(),
        public,
        files: incoming.iter().filter(|f| f.field == FILES_FIELD).count(),
    };
    let approved = match commands::approve_upload(&action.page.user.actor, &facts, &input) {
        Ok(approved) => approved,
        Err(refusal) => return action.run(Err(refusal)).await,
    };
    let stored = match store_files(&state, incoming).await? {
        Ok(stored) => stored,
        Err(message) => {
            let mut errors = FieldErrors::default();
            errors.add(FILES_FIELD, message);
            return action.run(Err(Refusal::Invalid(errors))).await;
        }
    };
    let plan = commands::upload(&action.page.user.actor, &facts, approved, stored);
    let plan = visit::files_added(plan, &visit, kind, public);
    action.run(Ok(plan)).await
}

fn now() -> time::PrimitiveDateTime {
    let now = time::OffsetDateTime::now_utc();
    time::PrimitiveDateTime::new(now.date(), now.time())
}

/// The conclusion fields, shared by the forms that carry one.
fn conclusion_of(form: &ActionForm) -> ConclusionInput {
    ConclusionInput {
        procedures: form.all("procedure"),
        conclusions: form.get("conclusions"),
        occupant_present: form.get("occupant_present"),
        owner_present: form.get("owner_present"),
        public: form.flag("conclusion_public"),
    }
}

async fn visit_of(state: &AppState, facts: &CaseFacts, visit_id: u64) -> AppResult<VisitFacts> {
    db::visits::facts(&state.db, facts.report_id, visit_id)
        .await?
        .ok_or(AppError::NotFound)
}

pub async fn plan(
    State(state): State<AppState>,
    page: OfficePage,
    origin: RequestOrigin,
    Path(uuid): Path<String>,
    RawForm(body): RawForm,
) -> AppResult<Response> {
    let form = ActionForm::parse(&body);
    let action = Action::new(&state, page, origin, &uuid);
    let facts = action.facts().await?;
    let partners = db::visits::visit_partners(&state.db, facts.territory_id).await?;
    let input = visit::PlanVisitInput {
        scheduled_at: form.get("scheduled_at"),
        partner: form.get("partner_id"),
        external_operator: form.get("external_operator"),
        kind: form.get("kind"),
        comment: form.get("comment"),
        outcome: conclusion_of(&form),
    };
    let ctx = visit::PlanContext {
        now: now(),
        visit_partners: &partners,
    };
    let plan = visit::plan_visit(&action.page.user.actor, &facts, input, ctx);
    action.run(plan).await
}

/// The outcome of a planned visit: done (confirmed, with its conclusion),
/// cancelled or not done.
pub async fn conclude(
    State(state): State<AppState>,
    page: OfficePage,
    origin: RequestOrigin,
    Path((uuid, visit_id)): Path<(String, u64)>,
    RawForm(body): RawForm,
) -> AppResult<Response> {
    let form = ActionForm::parse(&body);
    let action = Action::new(&state, page, origin, &uuid);
    let facts = action.facts().await?;
    let conclusion = conclusion_of(&form);
    let input = visit::OutcomeInput {
        visit_id,
        outcome: form.get("status"),
        conclusions: conclusion.conclusions,
        occupant_present: conclusion.occupant_present,
        owner_present: conclusion.owner_present,
        procedures: conclusion.procedures,
        public: conclusion.public,
    };
    let plan = visit::conclude_visit(&action.page.user.actor, &facts, input);
    action.run(plan).await
}

pub async fn reschedule(
    State(state): State<AppState>,
    page: OfficePage,
    origin: RequestOrigin,
    Path((uuid, visit_id)): Path<(String, u64)>,
    RawForm(body): RawForm,
) -> AppResult<Response> {
    let form = ActionForm::parse(&body);
    let action = Action::new(&state, page, origin, &uuid);
    let facts = action.facts().await?;
    let visit = visit_of(&state, &facts, visit_id).await?;
    let input = visit::RescheduleInput {
        scheduled_at: form.get("scheduled_at"),
        reason: form.get("reason"),
    };
    let plan = visit::reschedule_visit(&action.page.user.actor, &facts, &visit, input, now());
    action.run(plan).await
}

pub async fn cancel(
    State(state): State<AppState>,
    page: OfficePage,
    origin: RequestOrigin,
    Path((uuid, visit_id)): Path<(String, u64)>,
    RawForm(body): RawForm,
) -> AppResult<Response> {
    let form = ActionForm::parse(&body);
    let action = Action::new(&state, page, origin, &uuid);
    let facts = action.facts().await?;
    let visit = visit_of(&state, &facts, visit_id).await?;
    let plan = visit::cancel_visit(&action.page.user.actor, &facts, &visit, &form.get("reason"));
    action.run(plan).await
}

pub async fn edit_conclusion(
    State(state): State<AppState>,
    page: OfficePage,
    origin: RequestOrigin,
    Path((uuid, visit_id)): Path<(String, u64)>,
    RawForm(body): RawForm,
) -> AppResult<Response> {
    let form = ActionForm::parse(&body);
    let action = Action::new(&state, page, origin, &uuid);
    let facts = action.facts().await?;
    let visit = visit_of(&state, &facts, visit_id).await?;
    let plan = visit::edit_conclusion(
        &action.page.user.actor,
        &facts,
        &visit,
        conclusion_of(&form),
    );
    action.run(plan).await
}

/// A visit as the case page shows it.
pub struct VisitView {
    pub id: u64,
    pub kind: &'static str,
    pub at: String,
    pub visitor: String,
    pub status: VisitOutcome,
    pub comment: String,
    pub conclusion: Conclusion,
    /// (code, label) of the procedures found.
    pub procedures: Vec<(&'static str, &'static str)>,
    pub cancel_reason: String,
    /// "10/12/2026 14:30 → 17/12/2026 09:00 : reason", oldest first.
    pub history: Vec<String>,
    /// The user may reschedule, cancel, conclude or edit it.
    pub can_handle: bool,
    /// Its report and photos: (uuid, file name, is the report, public, scan label).
    pub files: Vec<VisitFile>,
}

/// A file of a visit on the case page.
pub struct VisitFile {
    pub uuid: String,
    pub filename: String,
    pub is_report: bool,
    pub is_public: bool,
    pub pending: bool,
    pub blocked: bool,
}

impl VisitView {
    /// The codes of the procedures found, to tick them again.
    pub fn codes(&self) -> Vec<&'static str> {
        self.procedures.iter().map(|(c, _)| *c).collect()
    }

    pub fn presence(value: &Option<bool>) -> &'static str {
        match value {
            Some(true) => "oui",
            Some(false) => "non",
            None => "",
        }
    }
}

/// The visits section of the case page.
pub struct VisitPanel {
    pub visits: Vec<VisitView>,
    /// "Visite nécessaire": danger or insalubrity, no visit planned or done.
    pub needed: bool,
    pub can_plan: bool,
    /// The partners the user may choose as visitor.
    pub partners: Vec<(u64, String)>,
    pub kinds: Vec<(&'static str, &'static str)>,
    pub procedures: Vec<(&'static str, &'static str)>,
}

/// Reads and shapes the visits section for this user.
pub async fn panel(state: &AppState, actor: &Actor, facts: &CaseFacts) -> AppResult<VisitPanel> {
    let rows = db::visits::of_case(&state.db, facts.report_id).await?;
    let moves = db::visits::reschedules(&state.db, facts.report_id).await?;
    let files = db::visits::documents(&state.db, facts.report_id).await?;
    let can_plan = workflow::can(actor, facts, CaseAction::PlanVisit);
    let qualifications = db::visits::live_qualifications(&state.db, facts.report_id).await?;
    let states: Vec<VisitOutcome> = rows.iter().map(|r| r.facts.status).collect();
    let needed = visit::alert::visit_needed(
        facts.status,
        &qualifications
            .iter()
            .map(String::as_str)
            .collect::<Vec<_>>(),
        &states,
    );
    let partners = if can_plan {
        let admin = actor.administers_territory(facts.territory_id);
        db::visits::visit_partner_names(&state.db, facts.territory_id)
            .await?
            .into_iter()
            .filter(|(id, _)| admin || actor.is_member_of(*id))
            .collect()
    } else {
        Vec::new()
    };
    let visits = rows
        .into_iter()
        .map(|row| VisitView {
            id: row.facts.id,
            kind: row.facts.kind.label(),
            at: visit::french_datetime(&row.facts.scheduled_at),
            visitor: row
                .partner_name
                .or(row
                    .external_operator
                    .map(|o| format!("{o} (opérateur externe)")))
                .unwrap_or_default(),
            status: row.facts.status,
            comment: row.comment.unwrap_or_default(),
            procedures: row
                .facts
                .conclusion
                .procedures
                .iter()
                .map(|p| (p.as_str(), p.label()))
                .collect(),
            cancel_reason: row.cancel_reason.unwrap_or_default(),
            history: moves
                .iter()
                .filter(|(visit_id, ..)| *visit_id == row.facts.id)
                .map(|(_, from, to, reason)| {
                    format!(
                        "{} → {} : {reason}",
                        visit::french_datetime(from),
                        visit::french_datetime(to)
                    )
                })
                .collect(),
            can_handle: can_plan && visit::may_handle(actor, facts, &row.facts),
            files: files
                .iter()
                .filter(|f| f.visit_id == row.facts.id)
                .map(|f| VisitFile {
                    uuid: f.uuid.clone(),
                    filename: f.filename.clone(),
                    is_report: f.document_type.as_deref()
                        == Some(DocumentType::RapportVisite.code()),
                    is_public: f.is_public,
                    pending: f.scan_status == "pending",
                    blocked: f.scan_status == "infected",
                })
                .collect(),
            conclusion: row.facts.conclusion,
        })
        .collect();
    Ok(VisitPanel {
        visits,
        needed,
        can_plan,
        partners,
        kinds: VisitKind::options(),
        procedures: Procedure::options(),
    })
}
