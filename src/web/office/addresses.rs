//! The history of an address in the back office (docs/addresses.md §4):
//! `/bo/adresses/{key}` lists the cases filed at a normalised address key
//! that the viewer may open (the others only counted) and the orders
//! (arrêtés) recorded there, also those of a register matching no case;
//! `/bo/adresses/{key}/export.csv` exports the same, streamed through an
//! export slot like the case list's exports, formula-guarded.

use std::collections::HashMap;

use askama::Template;
use askama_web::WebTemplate;
use axum::{
    body::Body,
    extract::{Path, State},
    http::header,
    response::{IntoResponse, Response},
};
use bytes::Bytes;

use super::arretes::OrderView;
use super::cases::format_date;
use super::exports::{pump, refusal_page};
use crate::{
    app::AppState,
    db::{self, addresses::AddressCaseRow, arretes::ArreteRow},
    domain::{
        address::AddressKey,
        case::ReportStatus,
        export::{BOM, csv_line},
        permissions::{self, Access},
    },
    error::{AppError, AppResult},
    web::{
        layout::{Layout, OfficePage},
        routes::Routes,
    },
};

/// Adds the address pages to the site.
pub fn register(routes: Routes) -> Routes {
    use Access::SignedIn;
    routes
        .get("/bo/adresses/{key}", SignedIn, show_address)
        .get("/bo/adresses/{key}/export.csv", SignedIn, export_address)
}

/// A case of the address the viewer may open.
pub struct CaseLine {
    pub uuid: String,
    pub reference: String,
    pub status: String,
    pub created: String,
    pub address: String,
}

/// An order recorded at the address, with its case when the viewer may
/// open it.
pub struct OrderLine {
    pub order: OrderView,
    /// (uuid, reference) of its case, if in the viewer's scope.
    pub case: Option<(String, String)>,
    /// Attached to a case the viewer may not open.
    pub other_case: bool,
}

/// What the page and the export show.
struct History {
    key: AddressKey,
    label: String,
    cases: Vec<CaseLine>,
    others: i64,
    orders: Vec<OrderLine>,
}

fn case_line(row: &AddressCaseRow) -> CaseLine {
    CaseLine {
        uuid: row.uuid.clone(),
        reference: row.reference.clone(),
        status: ReportStatus::label_of(&row.status).to_owned(),
        created: format_date(&row.created_at),
        address: format!("{}, {} {}", row.address_line, row.postal_code, row.city),
    }
}

fn order_line(row: &ArreteRow, visible: &HashMap<u64, (String, String)>) -> OrderLine {
    let case = row.report_id.and_then(|id| visible.get(&id).cloned());
    OrderLine {
        other_case: row.report_id.is_some() && case.is_none(),
        case,
        order: OrderView::of(row),
    }
}

/// Reads the history of `key` in the viewer's scope; an impossible key is
/// a 404 (nothing can be filed there).
async fn history(state: &AppState, page: &OfficePage, key: &str) -> AppResult<History> {
    let key = AddressKey::parse(key).ok_or(AppError::NotFound)?;
    let scope = permissions::report_scope(&page.user.actor);
    let (cases, others) = db::addresses::cases_at(&state.db, &key, &scope).await?;
    let orders = db::arretes::at_address(&state.db, &key).await?;
    let visible: HashMap<u64, (String, String)> = cases
        .iter()
        .map(|c| (c.id, (c.uuid.clone(), c.reference.clone())))
        .collect();
    let lines: Vec<CaseLine> = cases.iter().map(case_line).collect();
    // The address as written: a visible case's, else an order's, else the key.
    let label = lines
        .first()
        .map(|c| c.address.clone())
        .or_else(|| orders.first().map(|o| o.address_label.clone()))
        .unwrap_or_else(|| key.as_str().to_owned());
    Ok(History {
        orders: orders.iter().map(|o| order_line(o, &visible)).collect(),
        key,
        label,
        cases: lines,
        others,
    })
}

#[derive(Template, WebTemplate)]
#[template(path = "pages/office/address.html")]
pub struct AddressPage {
    pub layout: Layout,
    pub key: String,
    pub label: String,
    pub cases: Vec<CaseLine>,
    pub others: i64,
    pub orders: Vec<OrderLine>,
}

/// `GET /bo/adresses/{key}`.
pub async fn show_address(
    State(state): State<AppState>,
    page: OfficePage,
    Path(key): Path<String>,
) -> AppResult<AddressPage> {
    let h = history(&state, &page, &key).await?;
    Ok(AddressPage {
        layout: page.layout,
        key: h.key.as_str().to_owned(),
        label: h.label,
        cases: h.cases,
        others: h.others,
        orders: h.orders,
    })
}

/// The export's columns.
const COLUMNS: [&str; 10] = [
    "Nature",
    "Référence",
    "Statut ou état",
    "Date",
    "Adresse",
    "Type d’arrêté",
    "Numéro d’arrêté",
    "Signataire",
    "Date limite des travaux",
    "Signalement de l’arrêté",
];

/// The CSV text of a history (BOM, header, one line per case and order,
/// and the count of the cases the viewer may not open).
fn csv(h: &History) -> String {
    let mut out = String::from(BOM);
    csv_line(&COLUMNS, &mut out);
    for c in &h.cases {
        csv_line(
            &[
                "Signalement",
                &c.reference,
                &c.status,
                &c.created,
                &c.address,
                "",
                "",
                "",
                "",
                "",
            ],
            &mut out,
        );
    }
    for o in &h.orders {
        let case = match (&o.case, o.other_case) {
            (Some((_, reference)), _) => reference.clone(),
            (None, true) => "Hors de votre périmètre".to_owned(),
            (None, false) => String::new(),
        };
        csv_line(
            &[
                "Arrêté",
                "",
                &o.order.state,
                &o.order.date,
                &o.order.address,
                &o.order.kind,
                &o.order.number,
                &o.order.signatory,
                &o.order.deadline,
                &case,
            ],
            &mut out,
        );
    }
    if h.others > 0 {
        csv_line(
            &[
                "Autres signalements hors de votre périmètre",
                &h.others.to_string(),
                "",
                "",
                "",
                "",
                "",
                "",
                "",
                "",
            ],
            &mut out,
        );
    }
    out
}

/// `GET /bo/adresses/{key}/export.csv`: the page as CSV. An address holds
/// few rows (at most 500 cases and 200 orders), read at once; the body
/// still goes through an export slot and the pump, so a client that stops
/// reading releases it like any export.
pub async fn export_address(
    State(state): State<AppState>,
    page: OfficePage,
    Path(key): Path<String>,
) -> AppResult<Response> {
    let h = history(&state, &page, &key).await?;
    let permit = match state.export_slots.acquire(page.user.id) {
        Ok(permit) => permit,
        Err(refusal) => return Ok(refusal_page(refusal)),
    };
    let text = csv(&h);
    let source = futures::stream::iter(
        text.into_bytes()
            .chunks(64 * 1024)
            .map(|c| Ok::<_, std::io::Error>(Bytes::copy_from_slice(c)))
            .collect::<Vec<_>>(),
    );
    let body: Body = pump(source, permit, state.config.exports.write_timeout);
    Ok((
        [
            (header::CONTENT_TYPE, "text/csv; charset=utf-8".to_owned()),
            (
                header::CONTENT_DISPOSITION,
                format!("attachment; filename=\"adresse-{}.csv\"", h.key.as_str()),
            ),
            (header::CACHE_CONTROL, "no-store".to_owned()),
        ],
        body,
    )
        .into_response())
}
