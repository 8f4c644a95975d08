//! The defect taxonomy as the public form and scoring read it.

use sqlx::types::Json;

use super::Pool;
use crate::domain::report::{
    defects::{Category, Criterion, PrecisionRef},
    scoring::{Precision, Qualification, Zone},
};

/// The public form's categories with their criteria and precisions, in
/// display order (emergency-services categories excluded).
pub async fn load_taxonomy(pool: &Pool) -> Result<Vec<Category>, sqlx::Error> {
    let rows = sqlx::query!(
        "SELECT c.code AS category_code, c.label AS category_label, cr.zone AS zone,
                cr.code AS criterion_code, cr.label AS criterion_label,
                p.code AS precision_code, p.label AS precision_label
         FROM defect_categories c
         JOIN defect_criteria cr ON cr.category_id = c.id
         JOIN defect_precisions p ON p.criterion_id = cr.id
         WHERE c.app_context IS NULL
         ORDER BY c.position, cr.position, p.position"
    )
    .fetch_all(pool)
    .await?;
    let mut categories: Vec<Category> = Vec::new();
    for row in rows {
        if categories
            .last()
            .is_none_or(|c| c.code != row.category_code)
        {
            categories.push(Category {
                code: row.category_code.clone(),
                label: row.category_label.clone(),
                zone: row.zone.clone(),
                criteria: Vec::new(),
            });
        }
        let Some(category) = categories.last_mut() else {
            continue;
        };
        if category
            .criteria
            .last()
            .is_none_or(|c| c.code != row.criterion_code)
        {
            category.criteria.push(Criterion {
                code: row.criterion_code.clone(),
                label: row.criterion_label.clone(),
                precisions: Vec::new(),
            });
        }
        if let Some(criterion) = category.criteria.last_mut() {
            criterion.precisions.push(PrecisionRef {
                code: row.precision_code,
                label: row.precision_label,
            });
        }
    }
    Ok(categories)
}

/// A precision with its id and what scoring needs.
pub struct PrecisionRow {
    pub id: u32,
    pub precision: Precision,
}

/// The precisions with these codes (unknown codes are skipped).
pub async fn find_precisions<'e>(
    db: impl sqlx::MySqlExecutor<'e>,
    codes: &[String],
) -> Result<Vec<PrecisionRow>, sqlx::Error> {
    if codes.is_empty() {
        return Ok(Vec::new());
    }
    let list = codes.join(",");
    let rows = sqlx::query_as!(
        PrecisionRecord,
        "SELECT p.id, p.code, cr.zone, CAST(p.coef AS DOUBLE) AS `coef!: f64`,
                p.is_danger AS `is_danger: bool`, p.is_insalubrite AS `is_insalubrite: bool`,
                p.is_suroccupation AS `is_suroccupation: bool`,
                p.qualifications AS `qualifications: Json<Vec<String>>`
         FROM defect_precisions p JOIN defect_criteria cr ON cr.id = p.criterion_id
         WHERE FIND_IN_SET(p.code, ?)",
        list
    )
    .fetch_all(db)
    .await?;
    let mut out: Vec<PrecisionRow> = rows.into_iter().map(PrecisionRow::from).collect();
    // Keep the order the form gave (scoring sums in order).
    out.sort_by_key(|r| codes.iter().position(|c| *c == r.precision.slug));
    Ok(out)
}

/// Every precision of the taxonomy with its id and weights, in id order:
/// the data generator (`generator::reports::Catalogue`) draws defects from
/// them and scores through the same weights as a submission.
pub async fn all_precisions(
    conn: &mut sqlx::MySqlConnection,
) -> Result<Vec<PrecisionRow>, sqlx::Error> {
    let rows = sqlx::query_as!(
        PrecisionRecord,
        "SELECT p.id, p.code, cr.zone, CAST(p.coef AS DOUBLE) AS `coef!: f64`,
                p.is_danger AS `is_danger: bool`, p.is_insalubrite AS `is_insalubrite: bool`,
                p.is_suroccupation AS `is_suroccupation: bool`,
                p.qualifications AS `qualifications: Json<Vec<String>>`
         FROM defect_precisions p JOIN defect_criteria cr ON cr.id = p.criterion_id
         ORDER BY p.id"
    )
    .fetch_all(conn)
    .await?;
    Ok(rows.into_iter().map(PrecisionRow::from).collect())
}

/// A `defect_precisions` row as selected by both queries above.
struct PrecisionRecord {
    id: u32,
    code: String,
    zone: String,
    coef: f64,
    is_danger: bool,
    is_insalubrite: bool,
    is_suroccupation: bool,
    qualifications: Json<Vec<String>>,
}

impl From<PrecisionRecord> for PrecisionRow {
    fn from(r: PrecisionRecord) -> Self {
        PrecisionRow {
            id: r.id,
            precision: Precision {
                slug: r.code,
                zone: Zone::parse(&r.zone).unwrap_or(Zone::Logement),
                coef: r.coef,
                is_danger: r.is_danger,
                is_insalubrite: r.is_insalubrite,
                is_suroccupation: r.is_suroccupation,
                qualifications: r
                    .qualifications
                    .0
                    .iter()
                    .filter_map(|q| Qualification::parse(q))
                    .collect(),
            },
        }
    }
}
