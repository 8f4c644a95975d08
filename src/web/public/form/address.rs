//! The dwelling's address on the form's screens: the communes of the
//! postal code read from the database, checked by
//! [`crate::domain::report::address`] (docs/form.md §5.2); and the address
//! search that proxies the BAN for the browser's autocomplete.

use axum::{
    Json,
    extract::{Query, State},
};
use serde::Deserialize;

use crate::{
    app::AppState,
    db,
    domain::report::{
        address::{self, Outcome as Checked},
        form::Answers,
    },
    error::AppResult,
    integrations::ban,
};

pub enum Outcome {
    /// The territory is open: its id.
    Open(u32),
    /// Consistent address, territory not open: the commune's name.
    Closed(String),
    /// Errors were added.
    Invalid,
}

/// Checks the commune and the territory; on success fixes the INSEE code
/// and the commune's official name in the answers.
pub async fn check(
    state: &AppState,
    a: &mut Answers,
    errors: &mut Vec<(String, String)>,
) -> AppResult<Outcome> {
    let communes = db::reports::communes(&state.db, address::postal_code(a)).await?;
    Ok(match address::resolve(a, &communes) {
        Checked::Open(id) => Outcome::Open(id),
        Checked::Closed(city) => Outcome::Closed(city),
        Checked::Invalid(list) => {
            errors.extend(list);
            Outcome::Invalid
        }
    })
}

#[derive(Deserialize)]
pub struct SearchQuery {
    #[serde(default)]
    q: String,
}

/// Suggestions the autocomplete shows at most.
const SUGGESTIONS: u8 = 5;

/// Address suggestions from the BAN (Géoplateforme), or an empty list when
/// it does not answer in time: the manual fields always work.
pub async fn search_address(
    State(state): State<AppState>,
    Query(query): Query<SearchQuery>,
) -> Json<Vec<ban::Suggestion>> {
    match ban::suggest(
        &state.http,
        &state.config.ban_api_url,
        &query.q,
        SUGGESTIONS,
    )
    .await
    {
        Ok(suggestions) => Json(suggestions),
        Err(e) => {
            tracing::warn!(error = %e, "BAN search failed");
            Json(Vec::new())
        }
    }
}
