//! The visit actions of the case page: plan (or record a visit already
//! done), confirm with its conclusion, reschedule, cancel, edit the
//! conclusion. Each handler parses its form, loads the case (and the
//! visit, 404 when it is not the case's), asks `domain::case::visit` for a
//! plan and applies it like every case action (`case_actions::Action`).
//! The rules: docs/visits.md.

use axum::{
    extract::{Path, RawForm, State},
    response::Response,
};

use super::case_actions::{Action, ActionForm};
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
    error::{AppError, AppResult},
    web::layout::OfficePage,
};

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
    let can_plan = workflow::can(actor, facts, CaseAction::PlanVisit);
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
            conclusion: row.facts.conclusion,
        })
        .collect();
    Ok(VisitPanel {
        visits,
        can_plan,
        partners,
        kinds: VisitKind::options(),
        procedures: Procedure::options(),
    })
}
