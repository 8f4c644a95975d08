//! "Adresse e-mail à vérifier" on the case page: the open delivery issues
//! of the occupant's and declarant's addresses, and the action that marks
//! them checked (docs/deliverability.md §4).

use axum::{
    extract::{Path, State},
    response::Redirect,
};

use super::cases::{format_datetime, load_visible};
use crate::{
    app::AppState,
    auth::session::RequestOrigin,
    db::{self, case_view::CaseReport},
    domain::{
        permissions::{Access, Actor},
        workflow::{CaseAction, CaseFacts, can},
    },
    error::{AppError, AppResult},
    web::{layout::OfficePage, routes::Routes},
};

/// Adds the route of the "marquer comme vérifiée" action.
pub fn register(routes: Routes) -> Routes {
    routes.post(
        "/bo/signalements/{uuid}/email-verifie",
        Access::SignedIn,
        mark_checked,
    )
}

/// One address to check.
pub struct EmailCheck {
    pub email: String,
    /// "de l’occupant", "du déclarant" or both.
    pub whose: &'static str,
    pub why: &'static str,
    pub reason: Option<String>,
    pub at: String,
}

/// The case page's panel (empty: nothing shown).
pub struct EmailChecks {
    pub items: Vec<EmailCheck>,
    pub can_mark: bool,
}

/// The open issues of the case's resident addresses, the newest per address.
pub async fn panel(
    state: &AppState,
    r: &CaseReport,
    actor: &Actor,
    facts: &CaseFacts,
) -> AppResult<EmailChecks> {
    let (occupant, declarant) = (r.occupant_email.as_deref(), r.declarant_email.as_deref());
    let issues = db::delivery::open_for(&state.db, [occupant, declarant]).await?;
    let mut items: Vec<EmailCheck> = Vec::new();
    for issue in issues {
        if items
            .iter()
            .any(|i| i.email.eq_ignore_ascii_case(&issue.email))
        {
            continue;
        }
        let same = |a: Option<&str>| a.is_some_and(|a| a.eq_ignore_ascii_case(&issue.email));
        let whose = match (same(occupant), same(declarant)) {
            (true, true) => "de l’occupant et du déclarant",
            (true, false) => "de l’occupant",
            _ => "du déclarant",
        };
        items.push(EmailCheck {
            whose,
            why: issue.kind.label(),
            reason: issue.reason,
            at: format_datetime(&issue.occurred_at),
            email: issue.email,
        });
    }
    Ok(EmailChecks {
        can_mark: !items.is_empty() && can(actor, facts, CaseAction::EditSections),
        items,
    })
}

/// Marks the case's resident addresses checked: their open issues are
/// resolved (for every case with those addresses), with an audit event.
pub async fn mark_checked(
    State(state): State<AppState>,
    page: OfficePage,
    origin: RequestOrigin,
    Path(uuid): Path<String>,
) -> AppResult<Redirect> {
    let (key, facts) = load_visible(&state, &page.user, &uuid).await?;
    if !can(&page.user.actor, &facts, CaseAction::EditSections) {
        return Err(AppError::Forbidden);
    }
    let [occupant, declarant] = db::delivery::case_emails(&state.db, key.id).await?;
    let mut tx = state.db.begin().await?;
    let resolved = db::delivery::mark_checked(
        &mut tx,
        [occupant.as_deref(), declarant.as_deref()],
        page.user.id,
    )
    .await?;
    if resolved > 0 {
        let event = db::audit::NewEvent::on_case(
            Some((page.user.id, &page.user.email)),
            "email_checked",
            key.id,
            Some(serde_json::json!({ "issues_resolved": resolved })),
        )
        .from_origin(origin.ip, origin.user_agent.as_deref());
        db::audit::record(&mut tx, &event).await?;
    }
    tx.commit().await?;
    Ok(Redirect::to(&format!(
        "/bo/signalements/{uuid}#email-a-verifier"
    )))
}
