//! The public statistics page: counts only, no personal data, computed at
//! most once an hour (cached in Redis under the app's key prefix; when
//! Redis is down the figures are computed for each request instead).

use askama::Template;
use askama_web::WebTemplate;
use axum::extract::State;
use serde::{Deserialize, Serialize};

use crate::{
    app::AppState,
    db::{
        self,
        stats::{CategoryCount, MonthCount, PublicTotals, TerritoryCount},
    },
    domain::stats::{bar_width, percent},
    error::AppResult,
    web::layout::{Layout, PublicLayout},
};

/// How long the figures are kept, in seconds.
pub const CACHE_SECONDS: i64 = 3600;

/// Everything the page shows (what the cache holds).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct PublicStats {
    pub totals: PublicTotals,
    pub territories: Vec<TerritoryCount>,
    pub months: Vec<MonthCount>,
    pub categories: Vec<CategoryCount>,
    /// When the figures were computed (`JJ/MM/AAAA HH:MM`, UTC).
    pub computed_at: String,
}

async fn compute(state: &AppState) -> AppResult<PublicStats> {
    let now = time::OffsetDateTime::now_utc();
    Ok(PublicStats {
        totals: db::stats::public_totals(&state.db).await?,
        territories: db::stats::public_by_territory(&state.db).await?,
        months: db::stats::public_by_month(&state.db).await?,
        categories: db::stats::public_by_defect_category(&state.db).await?,
        computed_at: format!(
            "{:02}/{:02}/{} {:02}:{:02}",
            now.day(),
            u8::from(now.month()),
            now.year(),
            now.hour(),
            now.minute()
        ),
    })
}

/// The cache key.
pub fn cache_key(prefix: &str) -> String {
    format!("{prefix}stats:public:v1")
}

/// The figures, from the cache when fresh.
pub async fn public_stats(state: &AppState) -> AppResult<PublicStats> {
    let key = cache_key(&state.config.redis_prefix);
    crate::kv::cached_json(&state.redis, &key, CACHE_SECONDS, compute(state)).await
}

/// A row of a table with its bar.
pub struct Line {
    pub label: String,
    pub count: i64,
    pub closed: i64,
    pub width: u32,
}

#[derive(Template, WebTemplate)]
#[template(path = "pages/public/stats.html")]
pub struct PublicStatsPage {
    pub layout: Layout,
    pub totals: PublicTotals,
    pub validated_share: f64,
    pub closed_share: f64,
    pub refused_share: f64,
    pub territories: Vec<Line>,
    pub months: Vec<Line>,
    pub categories: Vec<Line>,
    pub computed_at: String,
}

impl PublicStatsPage {
    /// Height of a chart of `n` bars.
    pub fn height(&self, n: usize) -> usize {
        n.max(1) * 28
    }
}

fn month_label(key: &str) -> String {
    match key.split_once('-') {
        Some((year, month)) => format!("{month}/{year}"),
        None => key.to_owned(),
    }
}

pub async fn show_public_stats(
    State(state): State<AppState>,
    PublicLayout(layout): PublicLayout,
) -> AppResult<PublicStatsPage> {
    let stats = public_stats(&state).await?;
    let t = &stats.totals;
    let max_territory = stats
        .territories
        .iter()
        .map(|x| x.received)
        .max()
        .unwrap_or(0);
    let max_month = stats.months.iter().map(|x| x.received).max().unwrap_or(0);
    let max_category = stats.categories.iter().map(|x| x.count).max().unwrap_or(0);
    Ok(PublicStatsPage {
        layout,
        validated_share: percent(t.validated, t.received),
        closed_share: percent(t.closed, t.received),
        refused_share: percent(t.refused, t.received),
        territories: stats
            .territories
            .iter()
            .map(|x| Line {
                label: format!("{} – {}", x.code, x.name),
                count: x.received,
                closed: x.closed,
                width: bar_width(x.received, max_territory),
            })
            .collect(),
        months: stats
            .months
            .iter()
            .map(|x| Line {
                label: month_label(&x.month),
                count: x.received,
                closed: x.closed,
                width: bar_width(x.received, max_month),
            })
            .collect(),
        categories: stats
            .categories
            .iter()
            .map(|x| Line {
                label: x.label.clone(),
                count: x.count,
                closed: 0,
                width: bar_width(x.count, max_category),
            })
            .collect(),
        totals: stats.totals,
        computed_at: stats.computed_at,
    })
}
