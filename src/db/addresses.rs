//! The history of an address (docs/addresses.md §4): the cases filed at a
//! normalised address key that a viewer may open, how many others exist
//! there, and (through `db::arretes::at_address`) the orders recorded.

use time::PrimitiveDateTime;

use super::Pool;
use crate::domain::{address::AddressKey, permissions::ReportScope};

/// Most cases listed for one address: more is a data problem (or a
/// generic address such as a town hall), not a page to draw.
pub const MAX_CASES: i64 = 500;

/// A case filed at the address, in the viewer's scope.
pub struct AddressCaseRow {
    pub id: u64,
    pub uuid: String,
    pub reference: String,
    pub status: String,
    pub created_at: PrimitiveDateTime,
    pub address_line: String,
    pub postal_code: String,
    pub city: String,
}

/// The viewer's scope as the three parameters of the static queries:
/// `all`, else the id lists (an empty list matches nothing).
fn scope_params(scope: &ReportScope) -> (bool, String, String) {
    match scope {
        ReportScope::All => (true, String::new(), String::new()),
        ReportScope::Territories(ids) => (false, super::id_list(ids), String::new()),
        ReportScope::Partners(ids) => (false, String::new(), super::id_list(ids)),
    }
}

/// The cases at `key` the viewer may open (newest first, at most
/// [`MAX_CASES`]) and the number of the others, which the page only counts:
/// a case of another territory or not assigned to the viewer's partner is
/// never shown, not even by reference.
pub async fn cases_at(
    pool: &Pool,
    key: &AddressKey,
    scope: &ReportScope,
) -> Result<(Vec<AddressCaseRow>, i64), sqlx::Error> {
    let (all, territories, partners) = scope_params(scope);
    let visible = sqlx::query_as!(
        AddressCaseRow,
        "SELECT r.id, r.uuid, r.reference, r.status, r.created_at, r.address_line, r.postal_code, r.city
         FROM reports r
         WHERE r.address_key = ?
           AND (? OR FIND_IN_SET(r.territory_id, ?) > 0
                OR EXISTS (SELECT 1 FROM assignments sa
                           WHERE sa.report_id = r.id AND FIND_IN_SET(sa.partner_id, ?) > 0))
         ORDER BY r.created_at DESC, r.id DESC LIMIT ?",
        key.as_str(),
        all,
        territories,
        partners,
        MAX_CASES
    )
    .fetch_all(pool)
    .await?;
    let total = sqlx::query_scalar!(
        "SELECT COUNT(*) FROM reports WHERE address_key = ?",
        key.as_str()
    )
    .fetch_one(pool)
    .await?;
    // Counted apart from the listed ones: the cases past the limit are in
    // the viewer's scope, not "others".
    let in_scope = sqlx::query_scalar!(
        "SELECT COUNT(*) FROM reports r
         WHERE r.address_key = ?
           AND (? OR FIND_IN_SET(r.territory_id, ?) > 0
                OR EXISTS (SELECT 1 FROM assignments sa
                           WHERE sa.report_id = r.id AND FIND_IN_SET(sa.partner_id, ?) > 0))",
        key.as_str(),
        all,
        territories,
        partners
    )
    .fetch_one(pool)
    .await?;
    Ok((visible, (total - in_scope).max(0)))
}
