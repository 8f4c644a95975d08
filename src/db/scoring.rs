//! Scoring a stored report again: read every fact scoring needs
//! ([`load_facts`]), score them through the one scoring path
//! (`domain::report::scoring::assess`) and write the result back
//! ([`store`]), all on the caller's transaction ([`rescore`]).
//!
//! Any action that changes a scoring input of a stored report (the
//! back-office edit today) calls [`rescore`] after its own writes, so that
//! the score can never be computed from part of the facts (docs/scoring.md
//! §2.7).

use sqlx::{MySqlConnection, types::Json};

use crate::domain::report::scoring::{
    self, DpeFacts, DpePeriod, InsurerContacted, ReportFacts, Scoring, ScoringInput,
};

/// Every scoring input of a stored report: its selected precisions
/// (`report_defects`) and the columns of [`ScoringInput`].
pub async fn load_facts(
    conn: &mut MySqlConnection,
    report_id: u64,
) -> Result<ReportFacts, sqlx::Error> {
    let row = sqlx::query!(
        "SELECT dwelling_children_under_6 AS `children_under_6: bool`,
                procedure_insurer_contacted,
                dwelling_occupants_count, CAST(dwelling_surface AS DOUBLE) AS `surface: f64`,
                dwelling_rooms, household_housing_allowance AS `allowance: bool`,
                dwelling_has_dpe AS `has_dpe: bool`, dwelling_dpe_period, dwelling_dpe_year,
                dwelling_dpe_class
         FROM reports WHERE id = ?",
        report_id
    )
    .fetch_one(&mut *conn)
    .await?;
    let defects = sqlx::query_scalar!(
        "SELECT p.code FROM report_defects d JOIN defect_precisions p ON p.id = d.precision_id
         WHERE d.report_id = ?",
        report_id
    )
    .fetch_all(&mut *conn)
    .await?;
    Ok(ReportFacts {
        defects,
        input: ScoringInput {
            child_under_6: row.children_under_6 == Some(true),
            insurer_contacted: row
                .procedure_insurer_contacted
                .as_deref()
                .and_then(InsurerContacted::parse),
            occupants: row.dwelling_occupants_count.map(u32::from),
            surface: row.surface,
            rooms: row.dwelling_rooms.map(u32::from),
            allocataire: row.allowance == Some(true),
            dpe: DpeFacts {
                has_dpe: row.has_dpe,
                period: row
                    .dwelling_dpe_period
                    .as_deref()
                    .and_then(DpePeriod::parse),
                year: row.dwelling_dpe_year.map(i32::from),
                class: row.dwelling_dpe_class.and_then(|c| c.chars().next()),
                // No consumption is stored for a report yet (docs/scoring.md §2.5).
                consumption: None,
            },
        },
    })
}

/// Writes a scoring result: the severity columns, the set S in
/// `report_defects` (a derived overcrowding precision may come or go) and
/// the automatic qualifications, replacing every record that is not
/// post-visit.
pub async fn store(
    conn: &mut MySqlConnection,
    report_id: u64,
    precision_slugs: &[String],
    result: &Scoring,
) -> Result<(), sqlx::Error> {
    sqlx::query!(
        "UPDATE reports SET severity_score = ?, severity_score_raw = ?, severity_building = ?, severity_dwelling = ? WHERE id = ?",
        scoring::score_rounded(result.score),
        result.score,
        result.score_batiment,
        result.score_logement,
        report_id
    )
    .execute(&mut *conn)
    .await?;

    // Slugs never contain commas, so FIND_IN_SET over the joined list is exact.
    let list = precision_slugs.join(",");
    sqlx::query!(
        "DELETE d FROM report_defects d JOIN defect_precisions p ON p.id = d.precision_id
         WHERE d.report_id = ? AND NOT FIND_IN_SET(p.code, ?)",
        report_id,
        list
    )
    .execute(&mut *conn)
    .await?;
    sqlx::query!(
        "INSERT IGNORE INTO report_defects (report_id, precision_id)
         SELECT ?, id FROM defect_precisions WHERE FIND_IN_SET(code, ?)",
        report_id,
        list
    )
    .execute(&mut *conn)
    .await?;

    sqlx::query!(
        "DELETE FROM report_qualifications WHERE report_id = ? AND is_post_visit = FALSE",
        report_id
    )
    .execute(&mut *conn)
    .await?;
    for q in &result.qualifications {
        sqlx::query!(
            "INSERT INTO report_qualifications (report_id, qualification, status, precision_codes) VALUES (?, ?, ?, ?)",
            report_id,
            q.qualification.code(),
            q.status.code(),
            Json(&q.precision_slugs)
        )
        .execute(&mut *conn)
        .await?;
    }
    Ok(())
}

/// Scores a stored report again from all its facts and stores the result,
/// on the caller's transaction (after the caller's own writes).
pub async fn rescore(conn: &mut MySqlConnection, report_id: u64) -> Result<Scoring, sqlx::Error> {
    let facts = load_facts(conn, report_id).await?;
    let slugs = facts.precision_slugs();
    let weights = super::defects::find_precisions(&mut *conn, &slugs).await?;
    let result = scoring::assess(&facts, |slug| {
        weights
            .iter()
            .map(|w| &w.precision)
            .find(|p| p.slug == slug)
    });
    store(conn, report_id, &slugs, &result).await?;
    Ok(result)
}
