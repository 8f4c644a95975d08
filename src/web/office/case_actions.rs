//! Actions on a case from the back office. Each handler parses its form,
//! loads the case's facts (404/403 when the user may not see it), asks the
//! domain command (`domain::case`) for a plan, and has `case_plan`
//! apply it in one transaction; refusals become a 409, a 403 or the case
//! page again with its field errors (422). The rules themselves live in the
//! commands: docs/case-commands.md.

use axum::{
    extract::{Path, RawForm, State},
    http::StatusCode,
    response::{IntoResponse, Redirect, Response},
};

use super::cases::{case_page, load_visible};
use crate::{
    app::AppState,
    auth::session::RequestOrigin,
    case_plan::{self, ApplyContext, ApplyError},
    db,
    domain::{
        case::{
            Plan, Refusal, assignment, closure, follow_up,
            plan::Guard,
            validation::{self, ValidateInput},
        },
        workflow::CaseFacts,
    },
    error::{AppError, AppResult},
    web::{forms::FormErrors, layout::OfficePage},
};

/// The fields of an action form (repeated keys kept: `partner_id` may
/// repeat when validating).
pub(super) struct ActionForm(Vec<(String, String)>);

impl ActionForm {
    pub(super) fn parse(body: &[u8]) -> Self {
        Self(serde_urlencoded::from_bytes(body).unwrap_or_default())
    }
    pub(super) fn get(&self, key: &str) -> String {
        self.0
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.trim().to_owned())
            .unwrap_or_default()
    }
    pub(super) fn all(&self, key: &str) -> Vec<String> {
        self.0
            .iter()
            .filter(|(k, _)| k == key)
            .map(|(_, v)| v.trim().to_owned())
            .collect()
    }
    pub(super) fn flag(&self, key: &str) -> bool {
        self.0.iter().any(|(k, v)| k == key && !v.is_empty())
    }
    fn version(&self) -> u32 {
        self.get("version").parse().unwrap_or(0)
    }
}

const CONFLICT: &str = "Ce signalement a été modifié par quelqu’un d’autre pendant que vous le consultiez : \
votre action n’a pas été enregistrée. Rechargez la page pour voir la situation à jour, puis recommencez si besoin.";

/// One action: the facts of the visible case, the command, the plan applied.
pub(super) struct Action<'a> {
    pub(super) state: &'a AppState,
    pub(super) page: OfficePage,
    origin: RequestOrigin,
    uuid: &'a str,
}

impl<'a> Action<'a> {
    pub(super) fn new(
        state: &'a AppState,
        page: OfficePage,
        origin: RequestOrigin,
        uuid: &'a str,
    ) -> Self {
        Self {
            state,
            page,
            origin,
            uuid,
        }
    }

    pub(super) async fn facts(&self) -> AppResult<CaseFacts> {
        Ok(load_visible(self.state, &self.page.user, self.uuid)
            .await?
            .1)
    }

    /// Applies the command's plan and goes back to the case, or answers
    /// its refusal.
    pub(super) async fn run(self, planned: Result<Plan, Refusal>) -> AppResult<Response> {
        let plan = match planned {
            Ok(plan) => plan,
            Err(refusal) => return self.refused(refusal).await,
        };
        let ctx = ApplyContext {
            base_url: &self.state.config.base_url,
            actor_email: Some(&self.page.user.email),
            ip: self.origin.ip,
            user_agent: self.origin.user_agent.as_deref(),
        };
        let mut tx = self.state.db.begin().await?;
        match case_plan::apply(&mut tx, &plan, &ctx).await {
            Ok(_) => {}
            Err(ApplyError::Conflict) => return Err(conflict(&plan)),
            Err(ApplyError::NotFound) => return Err(AppError::NotFound),
            Err(ApplyError::NoActor) => return Err(AppError::Forbidden),
            Err(ApplyError::Db(e)) => return Err(e.into()),
        }
        tx.commit().await?;
        Ok(Redirect::to(&format!("/bo/signalements/{}", self.uuid)).into_response())
    }

    async fn refused(self, refusal: Refusal) -> AppResult<Response> {
        match refusal {
            // The case changed under the user's eyes: that is what they
            // need to know first.
            Refusal::Stale => Err(AppError::Conflict(CONFLICT.into())),
            Refusal::NotAllowed | Refusal::WrongStatus(_) => Err(AppError::Forbidden),
            Refusal::NotFound => Err(AppError::NotFound),
            Refusal::BadInput(message) => Err(AppError::BadRequest(message.into())),
            Refusal::Invalid(fields) => {
                let mut errors = FormErrors::default();
                for (field, message) in fields.0 {
                    errors.add(field, message);
                }
                let view = case_page(self.state, self.page, self.uuid, errors).await?;
                Ok((StatusCode::UNPROCESSABLE_ENTITY, view).into_response())
            }
        }
    }
}

fn conflict(plan: &Plan) -> AppError {
    AppError::Conflict(match plan.guard {
        Guard::VisitOutcome { .. } => "Le résultat de cette visite a déjà été enregistré.".into(),
        Guard::Visit { .. } => {
            "Cette visite a changé pendant que vous la consultiez : rechargez la page.".into()
        }
        // Two admins recording the same order at once (docs/arretes.md).
        _ if plan.arrete.is_some() => {
            "Un arrêté de ce numéro et de cette date vient d’être enregistré pour ce territoire."
                .into()
        }
        _ => CONFLICT.into(),
    })
}

/// The partners of the case's territory that may be assigned.
async fn eligible_partners(state: &AppState, facts: &CaseFacts) -> AppResult<Vec<u64>> {
    let partners = db::case_view::assignable_partners(&state.db, facts.territory_id, "").await?;
    Ok(partners.into_iter().map(|(id, _, _)| id).collect())
}

pub async fn validate_case(
    State(state): State<AppState>,
    page: OfficePage,
    origin: RequestOrigin,
    Path(uuid): Path<String>,
    RawForm(body): RawForm,
) -> AppResult<Response> {
    let form = ActionForm::parse(&body);
    let action = Action::new(&state, page, origin, &uuid);
    let facts = action.facts().await?;
    let partners = form.all("partner_id");
    // Nothing ticked: the territory's auto-assignment rules decide.
    let auto_picked = if partners.is_empty() {
        super::auto_assignment::picked_partners(&state, facts.territory_id, facts.report_id).await?
    } else {
        Vec::new()
    };
    let input = ValidateInput {
        version: form.version(),
        partners,
        eligible: eligible_partners(&state, &facts).await?,
        auto_picked,
    };
    let plan = validation::validate(&action.page.user.actor, &facts, input);
    action.run(plan).await
}

pub async fn refuse_case(
    State(state): State<AppState>,
    page: OfficePage,
    origin: RequestOrigin,
    Path(uuid): Path<String>,
    RawForm(body): RawForm,
) -> AppResult<Response> {
    let form = ActionForm::parse(&body);
    let action = Action::new(&state, page, origin, &uuid);
    let facts = action.facts().await?;
    let input = validation::RefuseInput {
        version: form.version(),
        reason: form.get("reason"),
        message: form.get("message"),
    };
    let plan = validation::refuse(&action.page.user.actor, &facts, input);
    action.run(plan).await
}

pub async fn assign_partner(
    State(state): State<AppState>,
    page: OfficePage,
    origin: RequestOrigin,
    Path(uuid): Path<String>,
    RawForm(body): RawForm,
) -> AppResult<Response> {
    let form = ActionForm::parse(&body);
    let action = Action::new(&state, page, origin, &uuid);
    let facts = action.facts().await?;
    let input = assignment::AssignInput {
        version: form.version(),
        partners: form.all("partner_id"),
        eligible: eligible_partners(&state, &facts).await?,
    };
    let plan = assignment::assign(&action.page.user.actor, &facts, input);
    action.run(plan).await
}

pub async fn unassign_partner(
    State(state): State<AppState>,
    page: OfficePage,
    origin: RequestOrigin,
    Path(uuid): Path<String>,
    RawForm(body): RawForm,
) -> AppResult<Response> {
    let form = ActionForm::parse(&body);
    let action = Action::new(&state, page, origin, &uuid);
    let facts = action.facts().await?;
    let plan = assignment::unassign(
        &action.page.user.actor,
        &facts,
        form.version(),
        &form.get("partner_id"),
    );
    action.run(plan).await
}

pub async fn close_case(
    State(state): State<AppState>,
    page: OfficePage,
    origin: RequestOrigin,
    Path(uuid): Path<String>,
    RawForm(body): RawForm,
) -> AppResult<Response> {
    let form = ActionForm::parse(&body);
    let action = Action::new(&state, page, origin, &uuid);
    let facts = action.facts().await?;
    let input = closure::CloseInput {
        version: form.version(),
        reason: form.get("reason"),
        message: form.get("message"),
        public: form.flag("public"),
    };
    let plan = closure::close(&action.page.user.actor, &facts, input);
    action.run(plan).await
}

pub async fn reopen_case(
    State(state): State<AppState>,
    page: OfficePage,
    origin: RequestOrigin,
    Path(uuid): Path<String>,
    RawForm(body): RawForm,
) -> AppResult<Response> {
    let form = ActionForm::parse(&body);
    let action = Action::new(&state, page, origin, &uuid);
    let facts = action.facts().await?;
    let plan = closure::reopen(&action.page.user.actor, &facts, form.version());
    action.run(plan).await
}

pub async fn accept_assignment(
    State(state): State<AppState>,
    page: OfficePage,
    origin: RequestOrigin,
    Path(uuid): Path<String>,
) -> AppResult<Response> {
    let action = Action::new(&state, page, origin, &uuid);
    let facts = action.facts().await?;
    let plan = assignment::accept_assignment(&action.page.user.actor, &facts);
    action.run(plan).await
}

fn end_input(body: &[u8]) -> assignment::EndInput {
    let form = ActionForm::parse(body);
    assignment::EndInput {
        reason: form.get("reason"),
        message: form.get("message"),
    }
}

pub async fn refuse_assignment(
    State(state): State<AppState>,
    page: OfficePage,
    origin: RequestOrigin,
    Path(uuid): Path<String>,
    RawForm(body): RawForm,
) -> AppResult<Response> {
    let action = Action::new(&state, page, origin, &uuid);
    let facts = action.facts().await?;
    let plan = assignment::refuse_assignment(&action.page.user.actor, &facts, end_input(&body));
    action.run(plan).await
}

pub async fn close_assignment(
    State(state): State<AppState>,
    page: OfficePage,
    origin: RequestOrigin,
    Path(uuid): Path<String>,
    RawForm(body): RawForm,
) -> AppResult<Response> {
    let action = Action::new(&state, page, origin, &uuid);
    let facts = action.facts().await?;
    let plan = assignment::close_assignment(&action.page.user.actor, &facts, end_input(&body));
    action.run(plan).await
}

pub async fn add_follow_up(
    State(state): State<AppState>,
    page: OfficePage,
    origin: RequestOrigin,
    Path(uuid): Path<String>,
    RawForm(body): RawForm,
) -> AppResult<Response> {
    let form = ActionForm::parse(&body);
    let action = Action::new(&state, page, origin, &uuid);
    let facts = action.facts().await?;
    let input = follow_up::FollowUpInput {
        body: form.get("body"),
        public: form.flag("public"),
    };
    let plan = follow_up::write_follow_up(&action.page.user.actor, &facts, input);
    action.run(plan).await
}

pub async fn set_tags(
    State(state): State<AppState>,
    page: OfficePage,
    origin: RequestOrigin,
    Path(uuid): Path<String>,
    RawForm(body): RawForm,
) -> AppResult<Response> {
    let form = ActionForm::parse(&body);
    let action = Action::new(&state, page, origin, &uuid);
    let facts = action.facts().await?;
    let plan = follow_up::set_tags(&action.page.user.actor, &facts, &form.all("tag_id"));
    action.run(plan).await
}

pub async fn toggle_subscription(
    State(state): State<AppState>,
    page: OfficePage,
    origin: RequestOrigin,
    Path(uuid): Path<String>,
) -> AppResult<Response> {
    let action = Action::new(&state, page, origin, &uuid);
    let facts = action.facts().await?;
    let subscribed =
        db::case_view::is_subscribed(&state.db, facts.report_id, action.page.user.id).await?;
    let plan = follow_up::toggle_subscription(&action.page.user.actor, &facts, subscribed);
    action.run(Ok(plan)).await
}
