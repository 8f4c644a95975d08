//! Back-office statistics: the figures of the list's selection (same
//! filters, same role scope), as accessible SVG bar charts rendered by the
//! server and as tables with the same numbers.

use askama::Template;
use askama_web::WebTemplate;
use axum::{
    extract::{RawQuery, State},
    http::StatusCode,
    response::{IntoResponse, Response},
};

use crate::{
    app::AppState,
    db::{
        self,
        stats::{Delay, Selection},
    },
    domain::{
        case::ReportStatus,
        case_filter::CaseFilter,
        permissions,
        stats::{bar_width, days_display, median_of_histogram, percent, severity_band_label},
        workflow::{self, CLOSURE_REASONS, REFUSAL_REASONS},
    },
    error::AppResult,
    web::{
        layout::{Layout, OfficePage},
        office::{
            cases::profile_label,
            filter_options::{FilterOptions, filter_options},
        },
    },
};

/// Parses the query string as the list does; on error, the default filter
/// and the French message.
pub(crate) fn parse_filter(query: Option<&str>) -> (CaseFilter, Option<String>) {
    let pairs: Vec<(String, String)> =
        serde_urlencoded::from_str(query.unwrap_or("")).unwrap_or_default();
    match CaseFilter::parse(&pairs) {
        Ok(filter) => (filter, None),
        Err(message) => (
            CaseFilter {
                sort: "date".into(),
                descending: true,
                page: 1,
                ..CaseFilter::default()
            },
            Some(message),
        ),
    }
}

pub(crate) fn iso(d: Option<time::Date>) -> String {
    d.map(|d| format!("{:04}-{:02}-{:02}", d.year(), u8::from(d.month()), d.day()))
        .unwrap_or_default()
}

/// One bar of a chart (and row of its table).
pub struct Bar {
    pub label: String,
    pub count: i64,
    pub share: f64,
    /// Width of the bar, percent of the chart.
    pub width: u32,
}

/// A titled chart with its table.
pub struct Chart {
    pub id: &'static str,
    pub title: &'static str,
    pub bars: Vec<Bar>,
}

impl Chart {
    fn new(
        id: &'static str,
        title: &'static str,
        counts: Vec<(String, i64)>,
        label: impl Fn(&str) -> String,
    ) -> Self {
        let max = counts.iter().map(|(_, n)| *n).max().unwrap_or(0);
        let total: i64 = counts.iter().map(|(_, n)| *n).sum();
        Self {
            id,
            title,
            bars: counts
                .into_iter()
                .map(|(key, count)| Bar {
                    label: label(&key),
                    count,
                    share: percent(count, total),
                    width: bar_width(count, max),
                })
                .collect(),
        }
    }

    /// Height of the SVG: one 28-pixel row per bar.
    pub fn height(&self) -> usize {
        self.bars.len().max(1) * 28
    }

    /// Vertical position of a bar.
    pub fn y(&self, index: &usize) -> usize {
        index * 28
    }
}

/// Answers of one partner's assignments.
pub struct PartnerRow {
    pub partner: String,
    pub total: i64,
    pub pending: i64,
    pub accepted: i64,
    pub refused: i64,
    pub closed: i64,
    /// Share of assignments answered (accepted, refused or closed).
    pub answer_rate: f64,
    pub acceptance_rate: f64,
}

#[derive(Template, WebTemplate)]
#[template(path = "pages/office/stats.html")]
pub struct StatsPage {
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
    pub total: i64,
    pub median_validation: String,
    pub median_first_acceptance: String,
    pub median_closure: String,
    pub charts: Vec<Chart>,
    pub partner_rows: Vec<PartnerRow>,
}

fn month_label(key: &str) -> String {
    const MONTHS: [&str; 12] = [
        "janvier",
        "février",
        "mars",
        "avril",
        "mai",
        "juin",
        "juillet",
        "août",
        "septembre",
        "octobre",
        "novembre",
        "décembre",
    ];
    match key.split_once('-') {
        Some((year, month)) => match month.parse::<usize>() {
            Ok(m) if (1..=12).contains(&m) => format!("{} {year}", MONTHS[m - 1]),
            _ => key.to_owned(),
        },
        None => key.to_owned(),
    }
}

fn or_unknown(label: &str) -> String {
    if label.is_empty() {
        "Non renseigné".to_owned()
    } else {
        label.to_owned()
    }
}

pub async fn show_stats(
    State(state): State<AppState>,
    page: OfficePage,
    RawQuery(query): RawQuery,
) -> AppResult<Response> {
    let (filter, error) = parse_filter(query.as_deref());
    let scope = permissions::report_scope(&page.user.actor);
    let options = filter_options(&state, &page, &scope, &filter).await?;
    let sel = Selection {
        scope: &scope,
        filter: &filter,
        user_id: page.user.id,
    };
    let pool = &state.db;
    let (mut total, mut charts, mut partner_rows) = (0, Vec::new(), Vec::new());
    let mut medians = [None, None, None];
    if error.is_none() {
        total = db::stats::total(pool, &sel).await?;
        for (i, delay) in [
            Delay::Validation,
            Delay::FirstAcceptedAssignment,
            Delay::Closure,
        ]
        .into_iter()
        .enumerate()
        {
            medians[i] = median_of_histogram(&db::stats::delay_histogram(pool, &sel, delay).await?);
        }
        charts = vec![
            Chart::new(
                "statut",
                "Signalements par statut",
                db::stats::by_status(pool, &sel).await?,
                |k| ReportStatus::label_of(k).to_owned(),
            ),
            Chart::new(
                "mois",
                "Signalements par mois de dépôt",
                db::stats::by_month(pool, &sel).await?,
                month_label,
            ),
            Chart::new(
                "criticite",
                "Signalements par tranche de criticité",
                db::stats::by_severity_band(pool, &sel).await?,
                |k| severity_band_label(k).to_owned(),
            ),
            Chart::new(
                "desordres",
                "Signalements par catégorie de désordres",
                db::stats::by_defect_category(pool, &sel).await?,
                or_unknown,
            ),
            Chart::new(
                "profil",
                "Signalements par profil du déclarant",
                db::stats::by_declarant_profile(pool, &sel).await?,
                |k| profile_label(k).to_owned(),
            ),
            Chart::new(
                "motif-refus",
                "Motifs de refus",
                db::stats::refusal_reasons(pool, &sel).await?,
                |k| or_unknown(workflow::label_of(&REFUSAL_REASONS, k)),
            ),
            Chart::new(
                "motif-cloture",
                "Motifs de clôture",
                db::stats::closure_reasons(pool, &sel).await?,
                |k| or_unknown(workflow::label_of(&CLOSURE_REASONS, k)),
            ),
        ];
        partner_rows = db::stats::partner_answers(pool, &sel)
            .await?
            .into_iter()
            .map(|p| PartnerRow {
                answer_rate: percent(p.accepted + p.refused + p.closed, p.total),
                acceptance_rate: percent(p.accepted + p.closed, p.total),
                partner: p.partner,
                total: p.total,
                pending: p.pending,
                accepted: p.accepted,
                refused: p.refused,
                closed: p.closed,
            })
            .collect();
    }
    let status = if error.is_some() {
        StatusCode::BAD_REQUEST
    } else {
        StatusCode::OK
    };
    let view = StatsPage {
        layout: page.layout,
        postal_codes: filter.postal_codes.join(", "),
        date_from: iso(filter.date_from),
        date_to: iso(filter.date_to),
        query: filter.query_string(),
        filter,
        error,
        form_action: "/bo/statistiques",
        statuses: ReportStatus::ALL,
        options,
        total,
        median_validation: days_display(medians[0]),
        median_first_acceptance: days_display(medians[1]),
        median_closure: days_display(medians[2]),
        charts,
        partner_rows,
    };
    Ok((status, view).into_response())
}
