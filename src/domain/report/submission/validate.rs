//! Submission, step 1 (docs/form.md §5.6): the whole draft checked again,
//! screen by screen, since it may have been edited in any order, then the
//! profile, the address against its communes, and at least one defect.
//! Pure: the caller looks up the communes of the answered postal code.

use time::Date;

use super::Submission;
use crate::domain::report::{
    address::{self, Commune, Outcome},
    defects::{self, Category},
    form::{self, Answers, Step},
    scoring::{self, ScoringInput},
};

/// What validation needs besides the answers.
pub struct Facts<'a> {
    /// The form's defect taxonomy.
    pub taxonomy: &'a [Category],
    /// The communes of the answered postal code ([`address::postal_code`]).
    pub communes: &'a [Commune],
    pub today: Date,
}

/// A reason the summary cannot be sent: the screen to go back to, the
/// question's label, the French message.
#[derive(Debug, Clone, PartialEq)]
pub struct SummaryError {
    pub step: Step,
    pub label: String,
    pub message: String,
}

impl SummaryError {
    fn new(step: Step, label: impl Into<String>, message: impl Into<String>) -> Self {
        Self {
            step,
            label: label.into(),
            message: message.into(),
        }
    }
}

/// A draft that can become a report: normalised answers, the report's
/// columns, its open territory, the facts scoring needs and the codes of
/// the precisions it selects (derived ones included, in form order).
#[derive(Debug, Clone)]
pub struct ValidSubmission {
    pub answers: Answers,
    pub form: Submission,
    pub territory_id: u32,
    pub scoring: ScoringInput,
    pub precision_codes: Vec<String>,
}

/// Checks a draft's answers; every error at once, for the summary.
pub fn validate(draft: &Answers, facts: &Facts<'_>) -> Result<ValidSubmission, Vec<SummaryError>> {
    let mut a = draft.clone();
    let mut errors = Vec::new();
    for step in Step::ALL {
        if step == Step::Recapitulatif || !step.applies(&a) {
            continue;
        }
        let questions = defects::step_questions(facts.taxonomy, step, &a);
        for (field, message) in form::validate(&questions, &mut a, facts.today) {
            let label = questions
                .iter()
                .find(|q| q.slug == field)
                .map(|q| q.label.clone())
                .unwrap_or_default();
            errors.push(SummaryError::new(step, label, message));
        }
        let categories = defects::step_categories(facts.taxonomy, step, &a);
        for (_, message) in defects::check_rooms(&categories, &a) {
            errors.push(SummaryError::new(step, step.title(), message));
        }
    }
    if form::profile(&a).is_none() {
        errors.push(SummaryError::new(
            Step::Profil,
            "Votre situation",
            "Indiquez à quel titre vous faites ce signalement.",
        ));
    }
    let territory_id = match address::resolve(&mut a, facts.communes) {
        Outcome::Open(id) => Some(id),
        Outcome::Closed(city) => {
            errors.push(SummaryError::new(
                Step::Adresse,
                "Adresse du logement",
                format!("Le service n’est pas ouvert à {city}."),
            ));
            None
        }
        Outcome::Invalid(list) => {
            errors.extend(
                list.into_iter()
                    .map(|(_, m)| SummaryError::new(Step::Adresse, "Adresse du logement", m)),
            );
            None
        }
    };

    let form = Submission::from_answers(&a);
    let scoring = form.scoring_input(&a);
    // S: the answers' precisions and the overcrowding one the household
    // calls for (docs/scoring.md §2.4).
    let precision_codes = scoring::ReportFacts {
        defects: defects::selected_precisions(facts.taxonomy, &a),
        input: scoring,
    }
    .precision_slugs();
    if precision_codes.is_empty() {
        // Without any precision the score is 0 and nobody could act on it.
        let step = if Step::DesordresLogement.applies(&a) {
            Step::DesordresLogement
        } else {
            Step::DesordresBatiment
        };
        errors.push(SummaryError::new(
            step,
            "Les problèmes",
            "Indiquez au moins un problème : sans cela, le signalement ne peut pas être traité.",
        ));
    }
    match territory_id {
        Some(territory_id) if errors.is_empty() => Ok(ValidSubmission {
            answers: a,
            form,
            territory_id,
            scoring,
            precision_codes,
        }),
        _ => Err(errors),
    }
}
