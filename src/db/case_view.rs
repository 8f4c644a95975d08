//! Reads for the back-office case page: the report and everything attached
//! to it, one query per section (no per-row queries).

use sqlx::types::Json;
use time::{Date, PrimitiveDateTime};

use super::Pool;
use crate::domain::antivirus::ScanStatus;
use crate::domain::case::{AssignmentStatus, ReportStatus, VisitOutcome};
use crate::domain::permissions::ReportScope;

/// The report itself, as the case page shows it.
pub struct CaseReport {
    pub id: u64,
    pub uuid: String,
    pub territory_id: u32,
    pub territory_code: String,
    pub territory_name: String,
    pub reference: String,
    pub status: ReportStatus,
    pub version: u32,
    pub declarant_profile: String,
    pub is_public_housing: Option<bool>,
    pub occupant_first_name: Option<String>,
    pub occupant_last_name: Option<String>,
    pub occupant_email: Option<String>,
    pub occupant_phone: Option<String>,
    pub declarant_first_name: Option<String>,
    pub declarant_last_name: Option<String>,
    pub declarant_email: Option<String>,
    pub declarant_phone: Option<String>,
    pub declarant_structure: Option<String>,
    pub landlord_name: Option<String>,
    pub landlord_email: Option<String>,
    pub landlord_phone: Option<String>,
    pub dwelling_type: Option<String>,
    pub dwelling_surface: Option<f64>,
    pub dwelling_rooms: Option<u16>,
    pub dwelling_occupants_count: Option<u16>,
    pub dwelling_children_under_6: Option<bool>,
    pub dwelling_move_in_date: Option<Date>,
    pub dwelling_dpe_class: Option<String>,
    pub household_housing_allowance: Option<bool>,
    pub household_allowance_fund: Option<String>,
    pub procedure_landlord_informed: Option<bool>,
    pub procedure_insurer_contacted: Option<String>,
    pub details: Option<String>,
    pub address_line: String,
    pub address_complement: Option<String>,
    pub floor: Option<String>,
    pub postal_code: String,
    pub city: String,
    pub insee_code: Option<String>,
    pub latitude: Option<f64>,
    pub longitude: Option<f64>,
    pub address_needs_check: bool,
    pub dpe_label: Option<String>,
    pub dpe_date: Option<Date>,
    pub dpe_number: Option<String>,
    pub severity: Option<f64>,
    pub refusal_reason: Option<String>,
    pub refusal_message: Option<String>,
    pub closure_reason: Option<String>,
    pub created_at: PrimitiveDateTime,
    pub validated_at: Option<PrimitiveDateTime>,
    pub closed_at: Option<PrimitiveDateTime>,
    /// The viewer follows the case.
    pub subscribed: bool,
    /// The viewer has unread notifications about the case.
    pub unread: bool,
}

/// The report as `viewer` sees it on the case page (with whether they
/// follow it and have unread notifications about it: two questions asked
/// in the same statement rather than two more round trips).
pub async fn find_by_uuid(
    pool: &Pool,
    uuid: &str,
    viewer: u64,
) -> Result<Option<CaseReport>, sqlx::Error> {
    sqlx::query_as!(
        CaseReport,
        "SELECT r.id, r.uuid, r.territory_id, t.code AS territory_code, t.name AS territory_name, r.reference,
                r.status AS `status: ReportStatus`, r.version, r.declarant_profile, r.is_public_housing AS `is_public_housing: bool`,
                r.occupant_first_name, r.occupant_last_name, r.occupant_email, r.occupant_phone,
                r.declarant_first_name, r.declarant_last_name, r.declarant_email, r.declarant_phone,
                r.declarant_structure, r.landlord_name, r.landlord_email, r.landlord_phone,
                r.dwelling_type, CAST(r.dwelling_surface AS DOUBLE) AS `dwelling_surface: f64`, r.dwelling_rooms,
                r.dwelling_occupants_count, r.dwelling_children_under_6 AS `dwelling_children_under_6: bool`,
                r.dwelling_move_in_date, r.dwelling_dpe_class,
                r.household_housing_allowance AS `household_housing_allowance: bool`, r.household_allowance_fund,
                r.procedure_landlord_informed AS `procedure_landlord_informed: bool`, r.procedure_insurer_contacted,
                r.details, r.address_line, r.address_complement, r.floor, r.postal_code, r.city, r.insee_code,
                CAST(r.latitude AS DOUBLE) AS `latitude: f64`, CAST(r.longitude AS DOUBLE) AS `longitude: f64`,
                r.address_needs_check AS `address_needs_check: bool`, r.dpe_label, r.dpe_date, r.dpe_number,
                CAST(r.severity_score AS DOUBLE) AS `severity: f64`, r.refusal_reason, r.refusal_message,
                r.closure_reason, r.created_at, r.validated_at, r.closed_at,
                EXISTS(SELECT 1 FROM report_subscriptions s WHERE s.report_id = r.id AND s.user_id = ?)
                    AS `subscribed!: bool`,
                EXISTS(SELECT 1 FROM notifications n WHERE n.report_id = r.id AND n.user_id = ? AND n.seen_at IS NULL)
                    AS `unread!: bool`
         FROM reports r JOIN territories t ON t.id = r.territory_id
         WHERE r.uuid = ?",
        viewer,
        viewer,
        uuid
    )
    .fetch_optional(pool)
    .await
}

/// What the policy needs: territory, status and assignments.
pub struct CaseKey {
    pub id: u64,
    pub territory_id: u32,
    pub status: ReportStatus,
    pub version: u32,
    pub reference: String,
}

pub async fn find_key(pool: &Pool, uuid: &str) -> Result<Option<CaseKey>, sqlx::Error> {
    sqlx::query_as!(
        CaseKey,
        "SELECT id, territory_id, status AS `status: ReportStatus`, version, reference FROM reports WHERE uuid = ?",
        uuid
    )
    .fetch_optional(pool)
    .await
}

pub struct AssignmentRow {
    pub id: u64,
    pub partner_id: u64,
    pub partner_name: String,
    pub partner_type: String,
    pub status: AssignmentStatus,
    pub refusal_reason: Option<String>,
    pub closure_reason: Option<String>,
    pub answer_message: Option<String>,
    pub created_at: PrimitiveDateTime,
    pub answered_at: Option<PrimitiveDateTime>,
}

pub async fn assignments(pool: &Pool, report_id: u64) -> Result<Vec<AssignmentRow>, sqlx::Error> {
    sqlx::query_as!(
        AssignmentRow,
        "SELECT a.id, a.partner_id, p.name AS partner_name, p.type AS partner_type, a.status AS `status: AssignmentStatus`, a.refusal_reason,
                a.closure_reason, a.answer_message, a.created_at, a.answered_at
         FROM assignments a JOIN partners p ON p.id = a.partner_id
         WHERE a.report_id = ?",
        report_id
    )
    .fetch_all(pool)
    .await
    .map(|mut rows| {
        // Sorted here: ordered by columns of two tables, the statement
        // needed a temporary table for three rows.
        rows.sort_by(|a, b| (a.created_at, &a.partner_name).cmp(&(b.created_at, &b.partner_name)));
        rows
    })
}

pub struct DefectRow {
    pub zone: String,
    pub category: String,
    pub criterion: String,
    pub precision_label: String,
    pub coef: f64,
    pub is_danger: bool,
    pub free_text: Option<String>,
}

/// A defect precision with its labels and its place in the taxonomy, for
/// the case page (reference data: read once per process, see
/// [`crate::app::AppState::defect_catalog`]).
#[derive(Debug, Clone)]
pub struct CatalogEntry {
    pub zone: String,
    pub category: String,
    pub criterion: String,
    pub precision_label: String,
    pub coef: f64,
    pub is_danger: bool,
    /// Category, criterion and precision positions: the page's order.
    order: (u16, u16, u16),
}

/// Every defect precision by id.
pub type DefectCatalog = std::collections::HashMap<u32, CatalogEntry>;

pub async fn defect_catalog(pool: &Pool) -> Result<DefectCatalog, sqlx::Error> {
    let rows = sqlx::query!(
        "SELECT p.id, c.zone, cat.label AS category, c.label AS criterion, p.label AS precision_label,
                CAST(p.coef AS DOUBLE) AS `coef!: f64`, p.is_danger AS `is_danger: bool`,
                cat.position AS category_position, c.position AS criterion_position,
                p.position AS precision_position
         FROM defect_precisions p
         JOIN defect_criteria c ON c.id = p.criterion_id
         JOIN defect_categories cat ON cat.id = c.category_id"
    )
    .fetch_all(pool)
    .await?;
    Ok(rows
        .into_iter()
        .map(|r| {
            (
                r.id,
                CatalogEntry {
                    zone: r.zone,
                    category: r.category,
                    criterion: r.criterion,
                    precision_label: r.precision_label,
                    coef: r.coef,
                    is_danger: r.is_danger,
                    order: (
                        r.category_position,
                        r.criterion_position,
                        r.precision_position,
                    ),
                },
            )
        })
        .collect())
}

/// The report's defects in the taxonomy's order: the report's rows by
/// primary key, labelled from the catalog (the four-table join with its
/// sort was the most expensive statement of the case page).
pub async fn defects(
    pool: &Pool,
    report_id: u64,
    catalog: &DefectCatalog,
) -> Result<Vec<DefectRow>, sqlx::Error> {
    let rows = sqlx::query!(
        "SELECT precision_id, free_text FROM report_defects WHERE report_id = ?",
        report_id
    )
    .fetch_all(pool)
    .await?;
    let mut defects: Vec<(&CatalogEntry, Option<String>)> = rows
        .into_iter()
        .filter_map(|r| {
            catalog
                .get(&r.precision_id)
                .map(|entry| (entry, r.free_text))
        })
        .collect();
    defects.sort_by(|(a, _), (b, _)| (&a.zone, a.order).cmp(&(&b.zone, b.order)));
    Ok(defects
        .into_iter()
        .map(|(entry, free_text)| DefectRow {
            zone: entry.zone.clone(),
            category: entry.category.clone(),
            criterion: entry.criterion.clone(),
            precision_label: entry.precision_label.clone(),
            coef: entry.coef,
            is_danger: entry.is_danger,
            free_text,
        })
        .collect())
}

pub struct QualificationRow {
    pub qualification: String,
    pub status: String,
}

pub async fn qualifications(
    pool: &Pool,
    report_id: u64,
) -> Result<Vec<QualificationRow>, sqlx::Error> {
    sqlx::query_as!(
        QualificationRow,
        "SELECT qualification, status FROM report_qualifications WHERE report_id = ? AND status <> ?
         ORDER BY qualification",
        report_id,
        super::states::ARCHIVED_QUALIFICATION
    )
    .fetch_all(pool)
    .await
}

pub struct FollowUpRow {
    pub id: u64,
    pub author_kind: String,
    pub author_name: Option<String>,
    pub partner_name: Option<String>,
    pub category: Option<String>,
    pub body: String,
    pub is_public: bool,
    pub created_at: PrimitiveDateTime,
}

pub async fn follow_ups(pool: &Pool, report_id: u64) -> Result<Vec<FollowUpRow>, sqlx::Error> {
    sqlx::query_as!(
        FollowUpRow,
        "SELECT f.id, f.author_kind, CONCAT_WS(' ', u.first_name, u.last_name) AS author_name,
                p.name AS `partner_name?`, f.category AS `category?`, f.body, f.is_public AS `is_public: bool`, f.created_at
         FROM follow_ups f
         LEFT JOIN users u ON u.id = f.author_user_id
         LEFT JOIN partners p ON p.id = f.author_partner_id
         WHERE f.report_id = ? AND f.deleted_at IS NULL
         ORDER BY f.created_at DESC, f.id DESC",
        report_id
    )
    .fetch_all(pool)
    .await
}

pub struct VisitRow {
    pub id: u64,
    pub partner_name: Option<String>,
    pub scheduled_at: PrimitiveDateTime,
    pub status: VisitOutcome,
    pub conclusions: Option<String>,
}

pub async fn visits(pool: &Pool, report_id: u64) -> Result<Vec<VisitRow>, sqlx::Error> {
    sqlx::query_as!(
        VisitRow,
        "SELECT v.id, p.name AS `partner_name?`, v.scheduled_at, v.status AS `status: VisitOutcome`, v.conclusions
         FROM visits v LEFT JOIN partners p ON p.id = v.partner_id
         WHERE v.report_id = ? ORDER BY v.scheduled_at DESC",
        report_id
    )
    .fetch_all(pool)
    .await
}

/// (tag id, label, on this report) for the report's territory.
pub async fn tags(
    pool: &Pool,
    report_id: u64,
    territory_id: u32,
) -> Result<Vec<(u64, String, bool)>, sqlx::Error> {
    let rows = sqlx::query!(
        "SELECT g.id, g.label, EXISTS(SELECT 1 FROM report_tags rt WHERE rt.report_id = ? AND rt.tag_id = g.id) AS `on_report: bool`
         FROM tags g WHERE g.territory_id = ? AND g.is_archived = FALSE ORDER BY g.label",
        report_id,
        territory_id
    )
    .fetch_all(pool)
    .await?;
    Ok(rows
        .into_iter()
        .map(|r| (r.id, r.label, r.on_report))
        .collect())
}

/// Other cases at the same address (possible duplicates).
pub struct SameAddressRow {
    pub uuid: String,
    pub reference: String,
    pub status: String,
    pub created_at: PrimitiveDateTime,
}

/// The other cases at this address (same normalised `address_key`, see
/// `domain::address`) that the viewer may open (`scope`):
/// the panel must not reveal, even by reference and status, a case of
/// another territory or one not assigned to the viewer's partner.
pub async fn same_address(
    pool: &Pool,
    report_id: u64,
    scope: &ReportScope,
) -> Result<Vec<SameAddressRow>, sqlx::Error> {
    // One static query for the three scopes: `all`, else the id lists
    // (an empty list matches nothing, so an actor without territory or
    // partner sees no other case).
    let (all, territories, partners) = match scope {
        ReportScope::All => (true, String::new(), String::new()),
        ReportScope::Territories(ids) => (false, super::id_list(ids), String::new()),
        ReportScope::Partners(ids) => (false, String::new(), super::id_list(ids)),
    };
    sqlx::query_as!(
        SameAddressRow,
        "SELECT r.uuid, r.reference, r.status, r.created_at FROM reports r
         WHERE r.address_key = (SELECT k.address_key FROM reports k WHERE k.id = ?) AND r.id <> ?
           AND (? OR FIND_IN_SET(r.territory_id, ?) > 0
                OR EXISTS (SELECT 1 FROM assignments sa
                           WHERE sa.report_id = r.id AND FIND_IN_SET(sa.partner_id, ?) > 0))
         ORDER BY r.created_at DESC LIMIT 10",
        report_id,
        report_id,
        all,
        territories,
        partners
    )
    .fetch_all(pool)
    .await
}

pub struct HistoryRow {
    pub actor_email: Option<String>,
    pub action: String,
    pub diff: Option<Json<serde_json::Value>>,
    pub created_at: PrimitiveDateTime,
}

pub async fn history(pool: &Pool, report_id: u64) -> Result<Vec<HistoryRow>, sqlx::Error> {
    sqlx::query_as!(
        HistoryRow,
        "SELECT actor_email, action, diff AS `diff: Json<serde_json::Value>`, created_at
         FROM audit_events WHERE report_id = ? ORDER BY created_at DESC, id DESC LIMIT 100",
        report_id
    )
    .fetch_all(pool)
    .await
}

pub async fn is_subscribed(pool: &Pool, report_id: u64, user_id: u64) -> Result<bool, sqlx::Error> {
    let n = sqlx::query_scalar!(
        "SELECT COUNT(*) AS `n!: i64` FROM report_subscriptions WHERE report_id = ? AND user_id = ?",
        report_id,
        user_id
    )
    .fetch_one(pool)
    .await?;
    Ok(n > 0)
}

/// Partners of the territory that can receive the case, with whether the
/// report's commune is in their perimeter (empty perimeter = whole
/// territory).
pub async fn assignable_partners(
    pool: &Pool,
    territory_id: u32,
    insee_code: &str,
) -> Result<Vec<(u64, String, bool)>, sqlx::Error> {
    let rows = sqlx::query!(
        "SELECT p.id, p.name,
                (NOT EXISTS (SELECT 1 FROM partner_insee_codes c WHERE c.partner_id = p.id)
                 OR EXISTS (SELECT 1 FROM partner_insee_codes c WHERE c.partner_id = p.id AND c.insee_code = ?)) AS `in_perimeter: bool`
         FROM partners p WHERE p.territory_id = ? AND p.is_archived = FALSE ORDER BY p.name",
        insee_code,
        territory_id
    )
    .fetch_all(pool)
    .await?;
    Ok(rows
        .into_iter()
        .map(|r| (r.id, r.name, r.in_perimeter))
        .collect())
}

pub async fn assignment_id(
    conn: &mut sqlx::MySqlConnection,
    report_id: u64,
    partner_id: u64,
) -> Result<u64, sqlx::Error> {
    sqlx::query_scalar!(
        "SELECT id FROM assignments WHERE report_id = ? AND partner_id = ?",
        report_id,
        partner_id
    )
    .fetch_one(conn)
    .await
}

/// A document and the case it belongs to (for the back-office download).
pub struct DocumentFile {
    pub report_uuid: String,
    pub object_key: String,
    pub filename: String,
    pub mime: String,
    pub scan_status: ScanStatus,
}

pub async fn document_file(pool: &Pool, uuid: &str) -> Result<Option<DocumentFile>, sqlx::Error> {
    sqlx::query_as!(
        DocumentFile,
        "SELECT r.uuid AS report_uuid, d.object_key, d.filename, d.mime,
                d.scan_status AS `scan_status: ScanStatus`
         FROM documents d JOIN reports r ON r.id = d.report_id
         WHERE d.uuid = ? AND d.deleted_at IS NULL",
        uuid
    )
    .fetch_optional(pool)
    .await
}

/// Everything the case page shows besides the report and its assignments.
pub struct CaseDetails {
    pub defects: Vec<DefectRow>,
    pub qualifications: Vec<QualificationRow>,
    pub follow_ups: Vec<FollowUpRow>,
    pub visits: Vec<VisitRow>,
    pub documents: Vec<crate::db::documents::CaseDocumentRow>,
    pub tags: Vec<(u64, String, bool)>,
    pub same_address: Vec<SameAddressRow>,
    pub history: Vec<HistoryRow>,
}

/// The case page's reads, run concurrently on the pool (the handler and
/// the benchmark's SQL floor both call this). `scope` is the viewer's: it
/// bounds the "same address" panel.
pub async fn details(
    pool: &Pool,
    r: &CaseReport,
    catalog: &DefectCatalog,
    scope: &ReportScope,
) -> Result<CaseDetails, sqlx::Error> {
    let (defects, qualifications, follow_ups, visits, documents, tags, same_address, history) = tokio::try_join!(
        defects(pool, r.id, catalog),
        qualifications(pool, r.id),
        follow_ups(pool, r.id),
        visits(pool, r.id),
        crate::db::documents::list_for_case(pool, r.id),
        tags(pool, r.id, r.territory_id),
        same_address(pool, r.id, scope),
        history(pool, r.id),
    )?;
    Ok(CaseDetails {
        defects,
        qualifications,
        follow_ups,
        visits,
        documents,
        tags,
        same_address,
        history,
    })
}
