//! The map (cartographie): the list's selection on a Leaflet map, with the
//! same filters and the same role scope.
//!
//! The page loads no report itself: `assets/js/map.js` asks
//! `/bo/cartographie/donnees` for the visible box at each move. Zoomed in
//! (or when the box holds few reports) the answer lists the reports; zoomed
//! out, the database groups them on a grid (see [`crate::db::map`]), so a
//! whole territory or the whole country stays fast. Without JavaScript, or
//! for screen readers, `?vue=tableau` shows the same selection as a table.

use askama::Template;
use askama_web::WebTemplate;
use axum::{
    Json,
    extract::{RawQuery, State},
    http::StatusCode,
    response::{IntoResponse, Response},
};
use serde::Serialize;

use super::{
    filter_options::{FilterOptions, filter_options},
    stats::{iso, parse_filter},
};
use crate::{
    app::AppState,
    db,
    domain::{
        case::ReportStatus,
        case_filter::CaseFilter,
        map::{self, FEW_POINTS, MAX_POINTS, POINTS_ZOOM},
        permissions::{self, ReportScope},
    },
    error::AppResult,
    web::{
        forms::Pagination,
        layout::{Layout, OfficePage},
        office::cases::{CaseListItem, format_date, format_score},
    },
};

#[derive(Template, WebTemplate)]
#[template(path = "pages/office/map.html")]
pub struct MapPage {
    pub layout: Layout,
    pub filter: CaseFilter,
    pub error: Option<String>,
    pub form_action: &'static str,
    pub statuses: &'static [ReportStatus],
    pub options: FilterOptions,
    pub postal_codes: String,
    pub date_from: String,
    pub date_to: String,
    pub query: String,
    /// The query of the table view's pagination links.
    pub table_query: String,
    pub tile_url: String,
    /// `west,south,east,north` of the first view.
    pub bounds: String,
    /// The table view (`vue=tableau`).
    pub table: bool,
    pub cases: Vec<CaseListItem>,
    pub pagination: Pagination,
}

/// The first view: the chosen territory, else the user's territories, else
/// the active territories, else metropolitan France.
async fn first_view(
    state: &AppState,
    page: &OfficePage,
    scope: &ReportScope,
    filter: &CaseFilter,
) -> AppResult<String> {
    let ids = match (filter.territory_id, scope) {
        (Some(id), _) => Some(vec![id]),
        (None, ReportScope::All) => None,
        (None, _) => Some(page.user.actor.territory_ids()),
    };
    let boxes = db::map::territory_boxes(&state.db, ids.as_deref()).await?;
    let mut bounds: Option<(f64, f64, f64, f64)> = None;
    for b in boxes {
        let (Some(w), Some(s), Some(e), Some(n)) = (
            b["w"].as_f64(),
            b["s"].as_f64(),
            b["e"].as_f64(),
            b["n"].as_f64(),
        ) else {
            continue;
        };
        bounds = Some(match bounds {
            None => (w, s, e, n),
            Some((w0, s0, e0, n0)) => (w0.min(w), s0.min(s), e0.max(e), n0.max(n)),
        });
    }
    let (w, s, e, n) = bounds.unwrap_or((-5.2, 41.3, 9.6, 51.1));
    Ok(format!("{w},{s},{e},{n}"))
}

pub async fn show_map(
    State(state): State<AppState>,
    page: OfficePage,
    RawQuery(query): RawQuery,
) -> AppResult<Response> {
    let (filter, error) = parse_filter(query.as_deref());
    let table = query
        .as_deref()
        .unwrap_or("")
        .split('&')
        .any(|pair| pair == "vue=tableau");
    let scope = permissions::report_scope(&page.user.actor);
    let options = filter_options(&state, &page, &scope, &filter).await?;
    let (mut cases, mut total) = (Vec::new(), db::cases::ListTotal::default());
    if table && error.is_none() {
        let (rows, count) = db::cases::list(&state.db, &scope, &filter, page.user.id).await?;
        total = count;
        cases = rows
            .into_iter()
            .map(|r| CaseListItem {
                assignments: Vec::new(),
                uuid: r.uuid,
                reference: r.reference,
                territory_code: r.territory_code,
                status_label: ReportStatus::label_of(&r.status).to_owned(),
                status_code: r.status,
                created: format_date(&r.created_at),
                last_follow_up: String::new(),
                occupant: r.occupant_name,
                address: format!("{}, {} {}", r.address, r.postal_code, r.city),
                severity: format_score(r.severity),
            })
            .collect();
    }
    let bounds = first_view(&state, &page, &scope, &filter).await?;
    let status = if error.is_some() {
        StatusCode::BAD_REQUEST
    } else {
        StatusCode::OK
    };
    let view = MapPage {
        layout: page.layout,
        postal_codes: filter.postal_codes.join(", "),
        date_from: iso(filter.date_from),
        date_to: iso(filter.date_to),
        query: filter.query_string(),
        table_query: format!("{}&vue=tableau", filter.query_string()),
        pagination: Pagination::at_least(
            Some(filter.page),
            db::cases::PER_PAGE,
            total.count,
            total.capped,
        ),
        filter,
        error,
        form_action: "/bo/cartographie",
        statuses: ReportStatus::ALL,
        options,
        tile_url: state.config.map_tile_url.clone(),
        bounds,
        table,
        cases,
    };
    Ok((status, view).into_response())
}

/// The answer of the data endpoint.
#[derive(Debug, Serialize, serde::Deserialize)]
pub struct MapData {
    /// `points` or `clusters`.
    pub mode: String,
    pub zoom: u8,
    /// Reports of the selection inside the box.
    pub total: i64,
    /// Whether the points were capped at [`MAX_POINTS`].
    pub truncated: bool,
    pub points: Vec<db::map::MapPoint>,
    pub clusters: Vec<db::map::MapCluster>,
}

/// A French error as JSON, with status 400.
fn bad_request(message: String) -> Response {
    (
        StatusCode::BAD_REQUEST,
        Json(serde_json::json!({ "erreur": message })),
    )
        .into_response()
}

pub async fn map_data(
    State(state): State<AppState>,
    page: OfficePage,
    RawQuery(query): RawQuery,
) -> AppResult<Response> {
    let pairs: Vec<(String, String)> =
        serde_urlencoded::from_str(query.as_deref().unwrap_or("")).unwrap_or_default();
    let filter = match CaseFilter::parse(&pairs) {
        Ok(filter) => filter,
        Err(message) => return Ok(bad_request(message)),
    };
    let value = |name: &str| {
        pairs
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    };
    let (bbox, zoom) = match map::parse_view(value("bbox"), value("zoom")) {
        Ok(view) => view,
        Err(message) => return Ok(bad_request(message)),
    };
    let scope = permissions::report_scope(&page.user.actor);
    let data = if zoom < POINTS_ZOOM {
        // Zoomed-out answers are cached for a minute per scope, selection
        // and view: a département or the country aggregates tens of
        // thousands to a million reports, and many people open the same
        // view. Street-level answers (the reports themselves) stay live.
        let key = cache_key(
            &state.config.redis_prefix,
            &scope,
            &filter,
            page.user.id,
            &bbox,
            zoom,
        );
        crate::kv::cached_json(
            &state.redis,
            &key,
            CLUSTERS_CACHE_SECONDS,
            view_data(&state.db, &scope, &filter, page.user.id, &bbox, zoom),
        )
        .await?
    } else {
        view_data(&state.db, &scope, &filter, page.user.id, &bbox, zoom).await?
    };
    Ok(Json(data).into_response())
}

/// How long a zoomed-out answer is reused, in seconds.
const CLUSTERS_CACHE_SECONDS: i64 = 60;

/// The cache key of a zoomed-out answer: everything the answer depends on
/// (the user's id only when the selection is "mes dossiers"), hashed.
fn cache_key(
    prefix: &str,
    scope: &ReportScope,
    filter: &CaseFilter,
    user_id: u64,
    bbox: &map::BBox,
    zoom: u8,
) -> String {
    use sha2::{Digest, Sha256};
    let owner = if filter.mine { user_id } else { 0 };
    let view = format!(
        "{scope:?}|{}|{owner}|{:.4},{:.4},{:.4},{:.4}|{zoom}",
        filter.query_string(),
        bbox.west,
        bbox.south,
        bbox.east,
        bbox.north
    );
    let hex = crate::auth::tokens::to_hex(&Sha256::digest(view.as_bytes()));
    format!("{prefix}map:v1:{hex}")
}

/// What the map shows of the selection in this view: grid clusters when
/// zoomed out over many reports, else the reports themselves (also the SQL
/// floor of the benchmark, src/bin/bench_sql.rs).
pub async fn view_data(
    pool: &db::Pool,
    scope: &ReportScope,
    filter: &CaseFilter,
    user_id: u64,
    bbox: &map::BBox,
    zoom: u8,
) -> Result<MapData, sqlx::Error> {
    // Zoomed out, the clusters come first: their counts add up to the total,
    // so the box is read once (a second time only when it holds few enough
    // reports to send them one by one).
    let clusters = if zoom < POINTS_ZOOM {
        db::map::clusters(pool, scope, filter, user_id, bbox, map::grouping(zoom)).await?
    } else {
        Vec::new()
    };
    let clustered: i64 = clusters.iter().map(|c| c.count).sum();
    let data = if zoom < POINTS_ZOOM && clustered > FEW_POINTS {
        MapData {
            mode: "clusters".into(),
            zoom,
            total: clustered,
            truncated: false,
            points: Vec::new(),
            clusters,
        }
    } else {
        let total = if zoom < POINTS_ZOOM {
            clustered
        } else {
            db::map::count_in_box(pool, scope, filter, user_id, bbox).await?
        };
        let points = db::map::points(pool, scope, filter, user_id, bbox, MAX_POINTS).await?;
        MapData {
            mode: "points".into(),
            zoom,
            total,
            truncated: total > points.len() as i64,
            points,
            clusters: Vec::new(),
        }
    };
    Ok(data)
}

/// The routes of the map, statistics and exports area.
pub fn register(routes: crate::web::routes::Routes) -> crate::web::routes::Routes {
    use crate::domain::permissions::Access;
    use crate::web::{office, public};
    routes
        .get("/bo/cartographie", Access::SignedIn, show_map)
        .get("/bo/cartographie/donnees", Access::SignedIn, map_data)
        .get(
            "/bo/statistiques",
            Access::SignedIn,
            office::stats::show_stats,
        )
        .get(
            "/bo/signalements/export",
            Access::SignedIn,
            office::exports::show_export_form,
        )
        .get(
            "/bo/signalements/export.csv",
            Access::SignedIn,
            office::exports::export_csv,
        )
        .get(
            "/bo/signalements/export.xlsx",
            Access::SignedIn,
            office::exports::export_xlsx,
        )
        .get(
            "/statistiques",
            Access::Public,
            public::stats::show_public_stats,
        )
}
