//! Reads for the visit commands and pages: the partners that may visit,
//! one visit's facts, a case's visits with their history, reports and
//! photos. Writes go through the case plan (`db::workflow`).

use sqlx::types::Json;
use sqlx::{MySql, QueryBuilder};
use time::PrimitiveDateTime;

use crate::domain::case::VisitOutcome;
use crate::domain::case::visit::{Conclusion, VisitFacts, VisitKind, alert, parse_procedures};

/// The live partners of the territory with the visit competence.
pub async fn visit_partners<'e>(
    db: impl sqlx::MySqlExecutor<'e>,
    territory_id: u32,
) -> Result<Vec<u64>, sqlx::Error> {
    sqlx::query_scalar!(
        r#"SELECT id FROM partners
         WHERE territory_id = ? AND is_archived = FALSE
           AND JSON_CONTAINS(competences, '"visites"')
         ORDER BY name"#,
        territory_id
    )
    .fetch_all(db)
    .await
}

struct Row {
    id: u64,
    kind: String,
    status: VisitOutcome,
    partner_id: Option<u64>,
    scheduled_at: PrimitiveDateTime,
    conclusions: Option<String>,
    procedures: Option<Json<Vec<String>>>,
    occupant_present: Option<bool>,
    owner_present: Option<bool>,
    conclusion_public: bool,
}

fn conclusion_of(
    text: Option<String>,
    procedures: Option<Json<Vec<String>>>,
    occupant_present: Option<bool>,
    owner_present: Option<bool>,
    public: bool,
) -> Conclusion {
    Conclusion {
        // Codes no longer known are dropped rather than failing the page.
        procedures: procedures
            .map(|Json(codes)| {
                codes
                    .iter()
                    .filter_map(|c| parse_procedures(std::slice::from_ref(c)).ok())
                    .flatten()
                    .collect()
            })
            .unwrap_or_default(),
        text: text.unwrap_or_default(),
        occupant_present,
        owner_present,
        public,
    }
}

/// A visit of the report, if it is one of its visits.
pub async fn facts<'e>(
    db: impl sqlx::MySqlExecutor<'e>,
    report_id: u64,
    visit_id: u64,
) -> Result<Option<VisitFacts>, sqlx::Error> {
    let row = sqlx::query_as!(
        Row,
        r#"SELECT id, kind, status AS `status: VisitOutcome`, partner_id, scheduled_at, conclusions,
                procedures AS `procedures: Json<Vec<String>>`,
                occupant_present AS `occupant_present: bool`, owner_present AS `owner_present: bool`,
                conclusion_public AS `conclusion_public: bool`
         FROM visits WHERE id = ? AND report_id = ?"#,
        visit_id,
        report_id
    )
    .fetch_optional(db)
    .await?;
    Ok(row.map(|r| VisitFacts {
        id: r.id,
        kind: VisitKind::parse(&r.kind).unwrap_or(VisitKind::Visit),
        status: r.status,
        partner_id: r.partner_id,
        scheduled_at: r.scheduled_at,
        conclusion: conclusion_of(
            r.conclusions,
            r.procedures,
            r.occupant_present,
            r.owner_present,
            r.conclusion_public,
        ),
    }))
}

/// (id, name) of the live partners of the territory with the visit
/// competence, for the planning form.
pub async fn visit_partner_names(
    pool: &crate::db::Pool,
    territory_id: u32,
) -> Result<Vec<(u64, String)>, sqlx::Error> {
    let rows = sqlx::query!(
        r#"SELECT id, name FROM partners
         WHERE territory_id = ? AND is_archived = FALSE
           AND JSON_CONTAINS(competences, '"visites"')
         ORDER BY name"#,
        territory_id
    )
    .fetch_all(pool)
    .await?;
    Ok(rows.into_iter().map(|r| (r.id, r.name)).collect())
}

/// A visit of a case, for its page.
pub struct VisitRow {
    pub facts: VisitFacts,
    pub partner_name: Option<String>,
    pub external_operator: Option<String>,
    pub cancel_reason: Option<String>,
    pub comment: Option<String>,
}

/// A case's visits, latest date first.
pub async fn of_case(pool: &crate::db::Pool, report_id: u64) -> Result<Vec<VisitRow>, sqlx::Error> {
    let rows = sqlx::query!(
        r#"SELECT v.id, v.kind, v.status AS `status: VisitOutcome`, v.partner_id, v.scheduled_at,
                v.conclusions, v.procedures AS `procedures: Json<Vec<String>>`,
                v.occupant_present AS `occupant_present: bool`, v.owner_present AS `owner_present: bool`,
                v.conclusion_public AS `conclusion_public: bool`, p.name AS `partner_name?`,
                v.external_operator, v.cancel_reason, v.comment_before
         FROM visits v LEFT JOIN partners p ON p.id = v.partner_id
         WHERE v.report_id = ? ORDER BY v.scheduled_at DESC, v.id DESC"#,
        report_id
    )
    .fetch_all(pool)
    .await?;
    Ok(rows
        .into_iter()
        .map(|r| VisitRow {
            facts: VisitFacts {
                id: r.id,
                kind: VisitKind::parse(&r.kind).unwrap_or(VisitKind::Visit),
                status: r.status,
                partner_id: r.partner_id,
                scheduled_at: r.scheduled_at,
                conclusion: conclusion_of(
                    r.conclusions,
                    r.procedures,
                    r.occupant_present,
                    r.owner_present,
                    r.conclusion_public,
                ),
            },
            partner_name: r.partner_name,
            external_operator: r.external_operator,
            cancel_reason: r.cancel_reason,
            comment: r.comment_before,
        })
        .collect())
}

/// (visit id, previous date, new date, reason) of every move of the
/// case's visits, oldest first.
pub async fn reschedules(
    pool: &crate::db::Pool,
    report_id: u64,
) -> Result<Vec<(u64, PrimitiveDateTime, PrimitiveDateTime, String)>, sqlx::Error> {
    let rows = sqlx::query!(
        "SELECT r.visit_id, r.previous_at, r.new_at, r.reason
         FROM visit_reschedules r JOIN visits v ON v.id = r.visit_id
         WHERE v.report_id = ? ORDER BY r.created_at, r.id",
        report_id
    )
    .fetch_all(pool)
    .await?;
    Ok(rows
        .into_iter()
        .map(|r| (r.visit_id, r.previous_at, r.new_at, r.reason))
        .collect())
}

/// `(…)`: the report `r` needs a visit (docs/visits.md §5): a live
/// qualification among `alert::VISIT_NEEDED_BY` and no visit planned or
/// done. Both subqueries run on `report_id` indexes; the codes and states
/// are bound.
pub fn push_visit_needed(qb: &mut QueryBuilder<'_, MySql>) {
    qb.push("(EXISTS (SELECT 1 FROM report_qualifications vq WHERE vq.report_id = r.id AND vq.status <> 'archived' AND vq.qualification IN (");
    let mut codes = qb.separated(", ");
    for code in alert::qualification_codes() {
        codes.push_bind(code);
    }
    qb.push(
        ")) AND NOT EXISTS (SELECT 1 FROM visits vn WHERE vn.report_id = r.id AND vn.status IN (",
    );
    let mut states = qb.separated(", ");
    for state in alert::ANSWERING {
        states.push_bind(state);
    }
    qb.push(")))");
}

/// `EXISTS (…)`: the report `r` has a done visit that found `procedure`.
pub fn push_procedure_found(qb: &mut QueryBuilder<'_, MySql>, procedure: &str) {
    qb.push("EXISTS (SELECT 1 FROM visits vp WHERE vp.report_id = r.id AND vp.status = ")
        .push_bind(VisitOutcome::Done)
        .push(" AND JSON_CONTAINS(vp.procedures, JSON_QUOTE(")
        .push_bind(procedure.to_owned())
        .push(")))");
}

/// The report's live qualification codes (not archived).
pub async fn live_qualifications(
    pool: &crate::db::Pool,
    report_id: u64,
) -> Result<Vec<String>, sqlx::Error> {
    sqlx::query_scalar!(
        "SELECT DISTINCT qualification FROM report_qualifications WHERE report_id = ? AND status <> 'archived'",
        report_id
    )
    .fetch_all(pool)
    .await
}

/// The document becomes part of the visit, if the visit is of the same
/// report; false otherwise.
pub async fn attach_document(
    conn: &mut sqlx::MySqlConnection,
    document_id: u64,
    visit_id: u64,
) -> Result<bool, sqlx::Error> {
    let result = sqlx::query!(
        "UPDATE documents d JOIN visits v ON v.id = ? AND v.report_id = d.report_id
         SET d.visit_id = v.id WHERE d.id = ?",
        visit_id,
        document_id
    )
    .execute(conn)
    .await?;
    Ok(result.rows_affected() == 1)
}

/// A file of a visit, for the case page.
pub struct VisitDocument {
    pub visit_id: u64,
    pub uuid: String,
    pub filename: String,
    pub document_type: Option<String>,
    pub is_public: bool,
    pub scan_status: String,
}

/// The live files of the case's visits.
pub async fn documents(
    pool: &crate::db::Pool,
    report_id: u64,
) -> Result<Vec<VisitDocument>, sqlx::Error> {
    sqlx::query_as!(
        VisitDocument,
        r#"SELECT visit_id AS `visit_id!: u64`, uuid, filename, document_type,
                is_public AS `is_public: bool`, scan_status
         FROM documents WHERE report_id = ? AND visit_id IS NOT NULL AND deleted_at IS NULL
         ORDER BY id"#,
        report_id
    )
    .fetch_all(pool)
    .await
}
