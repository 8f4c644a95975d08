//! The duplicate check at the first save (docs/form.md §5.4, simplified): a
//! report of the last 90 days, still open, at the same address and for the
//! same person blocks a new one; the declarant can only ask for the
//! follow-up link by e-mail. Older reports do not block.

use askama::Template;
use askama_web::WebTemplate;

use crate::{
    app::AppState,
    db,
    domain::report::form::{self, Answers, Step},
    error::AppResult,
    web::layout::Layout,
};

#[derive(Template, WebTemplate)]
#[template(path = "pages/public/form/duplicate.html")]
pub struct DuplicatePage {
    pub layout: Layout,
    pub action: String,
    pub sent: bool,
}

/// The screen whose "Suivant" is the first save of the declarant's
/// identity: the occupant's own contacts, or the occupant's for third
/// parties.
pub fn is_first_save(step: Step, a: &Answers) -> bool {
    match form::profile(a) {
        Some(p) if p.is_occupant() => step == Step::VosCoordonnees,
        Some(_) => step == Step::CoordonneesOccupant,
        None => false,
    }
}

/// The e-mail the follow-up link goes to: the occupant's for occupants,
/// else the declarant's.
pub fn contact_email(a: &Answers) -> Option<&str> {
    match form::profile(a) {
        Some(p) if p.is_occupant() => form::get(a, "vos_coordonnees_occupant_email"),
        Some(_) => form::get(a, "vos_coordonnees_tiers_email"),
        None => None,
    }
}

/// Whether an open report of the last 90 days matches these answers.
pub async fn has_recent_duplicate(state: &AppState, a: &Answers) -> AppResult<bool> {
    let Some(email) = contact_email(a) else {
        return Ok(false);
    };
    let occupant_name = match form::profile(a) {
        Some(p) if !p.is_occupant() => match form::get(a, "coordonnees_occupant_nom") {
            Some(name) => Some(name),
            // Without the occupant's name there is nothing to compare.
            None => return Ok(false),
        },
        _ => None,
    };
    let found = db::reports::find_recent_duplicates(
        &state.db,
        form::get(a, "adresse_logement_adresse_detail_code_postal").unwrap_or_default(),
        form::get(a, "adresse_logement_adresse_detail_numero").unwrap_or_default(),
        email,
        occupant_name,
    )
    .await?;
    Ok(!found.is_empty())
}

/// Sends the follow-up links of the matching reports to the declarant and
/// closes the draft.
pub async fn send_existing_link(
    state: &AppState,
    layout: Layout,
    draft: &db::drafts::DraftRow,
) -> AppResult<axum::response::Response> {
    use axum::response::{IntoResponse, Redirect};

    use crate::queue::{self, Email, Job, JobContext};

    let a = &draft.payload.0.answers;
    let (Some(email), true) = (contact_email(a), has_recent_duplicate(state, a).await?) else {
        return Ok(
            Redirect::to(&format!("/signalement/{}/recapitulatif", draft.uuid)).into_response(),
        );
    };
    let occupant_name = match form::profile(a) {
        Some(p) if !p.is_occupant() => form::get(a, "coordonnees_occupant_nom"),
        _ => None,
    };
    let ids = db::reports::find_recent_duplicates(
        &state.db,
        form::get(a, "adresse_logement_adresse_detail_code_postal").unwrap_or_default(),
        form::get(a, "adresse_logement_adresse_detail_numero").unwrap_or_default(),
        email,
        occupant_name,
    )
    .await?;
    let mut links = Vec::new();
    for id in ids {
        if let Some(report) = db::reports::find_for_resident(&state.db, id).await? {
            links.push((
                report.reference,
                format!(
                    "{}/suivre-mon-signalement/{}",
                    state.config.base_url, report.follow_up_code
                ),
            ));
        }
    }
    let mut tx = state.db.begin().await?;
    queue::enqueue(
        &mut tx,
        &Job::SendEmail(Email::FollowUpLinks {
            to: email.to_owned(),
            links,
        }),
        Some(&format!("draft:{}:duplicate-link", draft.id)),
        JobContext::default(),
    )
    .await?;
    tx.commit().await?;
    db::drafts::archive_draft(&state.db, draft.id).await?;
    Ok(DuplicatePage {
        layout,
        action: String::new(),
        sent: true,
    }
    .into_response())
}
