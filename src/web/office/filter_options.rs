//! The choices offered by the selection form shared by the list, the map
//! and the statistics: territories, partners and tags within the user's
//! scope.
//!
//! Partners and tags are offered one territory at a time (the chosen one,
//! else the user's own): a national user first picks a territory. Three
//! thousand partners in one `<select>` were neither usable nor cheap — the
//! national list page spent more time building that menu than reading its
//! reports (BENCHMARKS.md).

use crate::{
    app::AppState,
    db,
    domain::{case_filter::CaseFilter, permissions::ReportScope},
    error::AppResult,
    web::layout::OfficePage,
};

/// The filter options a selection form offers.
pub struct FilterOptions {
    pub territories: Vec<(u32, String)>,
    pub partners: Vec<(u64, String, u32)>,
    pub tags: Vec<db::tags::TagOption>,
    /// No territory chosen by a national user: the partner and tag menus
    /// only hold what the filter already selects, and the form says why.
    pub pick_territory_first: bool,
}

/// (id, "code – name") of these territories, or of every open territory
/// when `ids` is `None` (a national user): the territory menus.
pub(crate) async fn territory_options(
    state: &AppState,
    ids: Option<&[u32]>,
) -> AppResult<Vec<(u32, String)>> {
    let territories = match ids {
        None => db::territories::list(&state.db)
            .await?
            .into_iter()
            .filter(|t| t.is_active)
            .collect::<Vec<_>>(),
        Some(ids) => db::territories::list_by_ids(&state.db, ids).await?,
    };
    Ok(territories
        .into_iter()
        .map(|t| (t.id, format!("{} – {}", t.code, t.name)))
        .collect())
}

pub(crate) async fn filter_options(
    state: &AppState,
    page: &OfficePage,
    scope: &ReportScope,
    filter: &CaseFilter,
) -> AppResult<FilterOptions> {
    let user_territories = match scope {
        ReportScope::All => None,
        _ => Some(page.user.actor.territory_ids()),
    };
    let territories = territory_options(state, user_territories.as_deref()).await?;
    // A territory outside the user's scope never widens what is offered.
    let offered = match (filter.territory_id, &user_territories) {
        (Some(id), None) => Some(vec![id]),
        (Some(id), Some(own)) if own.contains(&id) => Some(vec![id]),
        (_, own) => own.clone(),
    };
    let (partners, tags) = match &offered {
        Some(ids) => (
            db::partners::options(&state.db, Some(ids)).await?,
            db::tags::options(&state.db, Some(ids)).await?,
        ),
        None if filter.partner_ids.is_empty() && filter.tag_ids.is_empty() => {
            (Vec::new(), Vec::new())
        }
        None => {
            // A saved or shared national filter naming partners or tags:
            // keep them selectable.
            let mut partners = db::partners::options(&state.db, None).await?;
            partners.retain(|(id, _, _)| filter.partner_ids.contains(id));
            let mut tags = db::tags::options(&state.db, None).await?;
            tags.retain(|t| filter.tag_ids.contains(&t.id));
            (partners, tags)
        }
    };
    Ok(FilterOptions {
        territories,
        partners,
        tags,
        pick_territory_first: offered.is_none(),
    })
}
