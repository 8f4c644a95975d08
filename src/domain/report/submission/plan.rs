//! Submission, step 2 (docs/form.md §5.6): what filing a valid draft
//! writes, decided before anything is written. The report row and its
//! scores (through the one scoring function), its defects and automatic
//! qualifications, its documents, the first follow-up, and every job the
//! filing implies. Pure: ids, codes and the clock are given; the database
//! plan is applied in one transaction by `filing::persist`.

use time::OffsetDateTime;

use super::{Submission, ValidSubmission};
use crate::domain::contact::Email;
use crate::domain::report::{
    draft::DraftFile,
    scoring::{self, Precision, SuspectedQualification},
};

/// The status of a report nobody has looked at yet.
pub const NEW_REPORT_STATUS: &str = crate::domain::case::ReportStatus::NeedValidation.as_str();
/// The first follow-up of every report filed online.
pub const FIRST_FOLLOW_UP: &str = "Signalement déposé depuis le formulaire en ligne.";

/// A selected precision with its database id.
#[derive(Debug, Clone, PartialEq)]
pub struct KnownPrecision {
    pub id: u32,
    pub precision: Precision,
}

/// What the plan needs besides the valid submission.
pub struct PlanFacts<'a> {
    /// The precisions of [`ValidSubmission::precision_codes`] that exist,
    /// in that order.
    pub precisions: &'a [KnownPrecision],
    /// The files the draft holds.
    pub files: &'a [DraftFile],
    /// The new report's public id and follow-up secret (random, drawn by
    /// the caller).
    pub report_uuid: String,
    pub follow_up_code: String,
    /// The site's address, for the links in e-mails.
    pub base_url: &'a str,
    pub now: OffsetDateTime,
}

/// The report row.
#[derive(Debug, Clone)]
pub struct PlannedReport {
    pub uuid: String,
    pub territory_id: u32,
    pub status: &'static str,
    pub follow_up_code: String,
    /// The score as shown (one decimal) and the unrounded ones.
    pub severity_score: f64,
    pub severity_score_raw: f64,
    pub severity_building: f64,
    pub severity_dwelling: f64,
    pub form: Submission,
}

/// An e-mail the filing sends. The reference is only known inside the
/// transaction (the territory's counter), so it is added there.
#[derive(Debug, Clone, PartialEq)]
pub enum PlannedEmail {
    /// To the declarant, and to the occupant when someone else.
    Confirmation {
        to: Email,
        first_name: String,
        /// The follow-up link.
        link: String,
    },
    /// To every admin of the territory, as read in the transaction.
    ToTerritoryAdmins { city: String, link: String },
}

/// A job the filing queues, in the same transaction.
#[derive(Debug, Clone, PartialEq)]
pub enum PlannedJob {
    /// Geocoding the address (which then looks for the DPE).
    Geocode,
    Email(PlannedEmail),
}

/// Everything filing a draft writes.
#[derive(Debug, Clone)]
pub struct SubmissionPlan {
    pub report: PlannedReport,
    /// `report_defects` rows: the precision ids.
    pub defect_ids: Vec<u32>,
    pub qualifications: Vec<SuspectedQualification>,
    /// The draft's files, which become the report's private documents.
    pub documents: Vec<DraftFile>,
    /// The public first follow-up.
    pub first_follow_up: &'static str,
    /// The year of the reference `YYYY-N`.
    pub reference_year: u16,
    pub jobs: Vec<PlannedJob>,
}

/// Decides what filing `valid` writes.
pub fn plan(valid: ValidSubmission, facts: &PlanFacts<'_>) -> SubmissionPlan {
    // The one scoring path (docs/scoring.md §2.7), as a back-office edit
    // will score the stored report again.
    let report_facts = scoring::ReportFacts {
        defects: valid.precision_codes.clone(),
        input: valid.scoring,
    };
    let result = scoring::assess(&report_facts, |slug| {
        facts
            .precisions
            .iter()
            .map(|p| &p.precision)
            .find(|p| p.slug == slug)
    });
    let base = facts.base_url.trim_end_matches('/');
    let follow_up_link = format!("{base}/suivre-mon-signalement/{}", facts.follow_up_code);
    let mut jobs = vec![PlannedJob::Geocode];
    jobs.extend(
        valid
            .form
            .confirmation_recipients()
            .into_iter()
            .map(|(to, first_name)| {
                PlannedJob::Email(PlannedEmail::Confirmation {
                    to,
                    first_name,
                    link: follow_up_link.clone(),
                })
            }),
    );
    jobs.push(PlannedJob::Email(PlannedEmail::ToTerritoryAdmins {
        city: valid.form.city.clone(),
        link: format!("{base}/bo/signalements/{}", facts.report_uuid),
    }));
    SubmissionPlan {
        report: PlannedReport {
            uuid: facts.report_uuid.clone(),
            territory_id: valid.territory_id,
            status: NEW_REPORT_STATUS,
            follow_up_code: facts.follow_up_code.clone(),
            severity_score: scoring::score_rounded(result.score),
            severity_score_raw: result.score,
            severity_building: result.score_batiment,
            severity_dwelling: result.score_logement,
            form: valid.form,
        },
        defect_ids: facts.precisions.iter().map(|p| p.id).collect(),
        qualifications: result.qualifications,
        documents: facts.files.to_vec(),
        first_follow_up: FIRST_FOLLOW_UP,
        reference_year: u16::try_from(facts.now.year()).unwrap_or(0),
        jobs,
    }
}
