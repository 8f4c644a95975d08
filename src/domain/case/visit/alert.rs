//! "Visite nécessaire": a case whose qualifications point to a danger or
//! to insalubrity needs someone on site; until a visit is planned or done,
//! the case page shows an alert, the dashboard counts it and the list can
//! select it (docs/visits.md §5).

use crate::domain::case::{ReportStatus, VisitOutcome};
use crate::domain::report::scoring::Qualification;

/// The qualifications that call for a visit.
pub const VISIT_NEEDED_BY: [Qualification; 3] = [
    Qualification::Danger,
    Qualification::Insalubrite,
    Qualification::MiseEnSecuritePeril,
];

/// The codes of [`VISIT_NEEDED_BY`], as stored in
/// `report_qualifications.qualification`.
pub fn qualification_codes() -> Vec<&'static str> {
    VISIT_NEEDED_BY.iter().map(|q| q.code()).collect()
}

/// The visit states that answer the need (a visit to come or made).
pub const ANSWERING: [VisitOutcome; 2] = [VisitOutcome::Planned, VisitOutcome::Done];

/// Whether an open case with these live qualification codes and visits
/// still needs a visit.
pub fn visit_needed(
    status: ReportStatus,
    qualifications: &[&str],
    visits: &[VisitOutcome],
) -> bool {
    matches!(status, ReportStatus::NeedValidation | ReportStatus::Active)
        && qualifications
            .iter()
            .any(|q| qualification_codes().contains(q))
        && !visits.iter().any(|v| ANSWERING.contains(v))
}

#[cfg(test)]
mod tests {
    use super::*;
    use ReportStatus as R;
    use VisitOutcome as V;

    #[test]
    fn a_danger_without_a_planned_or_done_visit_needs_one() {
        assert!(visit_needed(R::Active, &["danger"], &[]));
        assert!(visit_needed(
            R::NeedValidation,
            &["rsd", "insalubrite"],
            &[V::Cancelled, V::NotDone]
        ));
        assert!(!visit_needed(R::Active, &["danger"], &[V::Planned]));
        assert!(!visit_needed(
            R::Active,
            &["insalubrite"],
            &[V::Cancelled, V::Done]
        ));
        assert!(!visit_needed(R::Active, &["non_decence", "rsd"], &[]));
        assert!(!visit_needed(R::Closed, &["danger"], &[]));
    }
}
