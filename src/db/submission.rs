//! The SQL of filing a report (docs/form.md §5.6): the report row with its
//! defects, qualifications and first follow-up, and its reference. The
//! transaction, the draft lock and the jobs are `filing::persist`'s: this
//! layer knows no jobs.

use sqlx::MySqlConnection;

use crate::{db, domain::report::submission::SubmissionPlan};

/// Inserts the report of `plan` under a provisional reference, with its
/// defects, automatic qualifications and public first follow-up; returns
/// its id. Documents are recorded by the caller (each with its scan job).
pub async fn insert_report(
    conn: &mut MySqlConnection,
    plan: &SubmissionPlan,
) -> Result<u64, sqlx::Error> {
    let r = &plan.report;
    // A provisional reference, unique by construction: the counter row is
    // locked only at the end of the transaction, for as short as possible.
    let provisional = format!("tmp-{}", r.uuid.get(..16).unwrap_or(&r.uuid));
    let report_id = db::reports::insert(
        &mut *conn,
        &db::reports::NewReport {
            uuid: &r.uuid,
            territory_id: r.territory_id,
            reference: &provisional,
            status: r.status,
            follow_up_code: &r.follow_up_code,
            severity_score: r.severity_score,
            severity_score_raw: r.severity_score_raw,
            severity_building: r.severity_building,
            severity_dwelling: r.severity_dwelling,
            form: &r.form,
        },
    )
    .await?;
    for precision_id in &plan.defect_ids {
        db::reports::insert_defect(&mut *conn, report_id, *precision_id).await?;
    }
    for q in &plan.qualifications {
        db::reports::insert_qualification(
            &mut *conn,
            report_id,
            q.qualification.code(),
            q.status.code(),
            &q.precision_slugs,
        )
        .await?;
    }
    db::follow_ups::insert(
        &mut *conn,
        report_id,
        "system",
        "new_report",
        plan.first_follow_up,
        true,
    )
    .await?;
    Ok(report_id)
}

/// Gives the report its reference `YYYY-N`. The territory's counter row
/// stays locked until the commit: call it last, just before what needs
/// the reference.
pub async fn assign_reference(
    conn: &mut MySqlConnection,
    report_id: u64,
    territory_id: u32,
    year: u16,
) -> Result<String, sqlx::Error> {
    let number = db::reports::next_reference_number(&mut *conn, territory_id, year).await?;
    let reference = format!("{year}-{number}");
    db::reports::set_reference(conn, report_id, &reference).await?;
    Ok(reference)
}
