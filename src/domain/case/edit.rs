//! Editing the sections of a report from the back office (contacts,
//! dwelling, address): who may, the field rules, the audit diff, and what
//! follows a write (the report is scored again from every stored fact, a
//! new address is geocoded).

use super::plan::{AuditEntry, Guard, Plan, PlannedJob};
use super::refusal::{FieldErrors, Refusal, check_allowed, check_version};
use super::validation::case_ref;
use crate::domain::audit::diff;
use crate::domain::contact::{Email, Phone};
use crate::domain::permissions::Actor;
use crate::domain::report::address::Commune;
use crate::domain::workflow::{CaseAction, CaseFacts};

/// The editable sections of a report, as stored.
#[derive(Debug, Clone, PartialEq)]
pub struct Sections {
    pub occupant_first_name: Option<String>,
    pub occupant_last_name: Option<String>,
    pub occupant_email: Option<String>,
    pub occupant_phone: Option<String>,
    pub landlord_name: Option<String>,
    pub landlord_email: Option<String>,
    pub landlord_phone: Option<String>,
    pub dwelling_surface: Option<f64>,
    pub dwelling_rooms: Option<u16>,
    pub dwelling_occupants_count: Option<u16>,
    pub dwelling_children_under_6: Option<bool>,
    pub is_public_housing: Option<bool>,
    pub household_housing_allowance: Option<bool>,
    pub address_line: String,
    pub postal_code: String,
    pub city: String,
}

/// The sections to write, with the INSEE code of their commune.
#[derive(Debug, Clone, PartialEq)]
pub struct SectionsWrite {
    pub sections: Sections,
    pub insee_code: String,
}

/// (field, label) of the text fields, in form order.
pub const TEXT_FIELDS: [(&str, &str); 13] = [
    ("occupant_first_name", "Prénom de l’occupant"),
    ("occupant_last_name", "Nom de l’occupant"),
    ("occupant_email", "Courriel de l’occupant"),
    ("occupant_phone", "Téléphone de l’occupant"),
    ("landlord_name", "Nom ou raison sociale du bailleur"),
    ("landlord_email", "Courriel du bailleur"),
    ("landlord_phone", "Téléphone du bailleur"),
    ("dwelling_surface", "Surface (m²)"),
    ("dwelling_rooms", "Nombre de pièces à vivre"),
    ("dwelling_occupants_count", "Nombre d’occupants"),
    ("address_line", "Adresse (numéro et voie)"),
    ("postal_code", "Code postal"),
    ("city", "Commune"),
];

/// (field, label) of the yes / no / unknown fields.
pub const CHOICE_FIELDS: [(&str, &str); 3] = [
    ("dwelling_children_under_6", "Enfants de moins de 6 ans"),
    ("is_public_housing", "Logement social"),
    (
        "household_housing_allowance",
        "Allocataire (aide au logement)",
    ),
];

/// Longest text field.
pub const MAX_TEXT_CHARS: usize = 255;

/// A field's value as the form shows it (`oui` / `non` / `nsp` for the
/// choices); also what the audit diff compares.
pub fn text_of(s: &Sections, field: &str) -> String {
    let number = |v: Option<u16>| v.map(|v| v.to_string()).unwrap_or_default();
    match field {
        "occupant_first_name" => s.occupant_first_name.clone().unwrap_or_default(),
        "occupant_last_name" => s.occupant_last_name.clone().unwrap_or_default(),
        "occupant_email" => s.occupant_email.clone().unwrap_or_default(),
        "occupant_phone" => s.occupant_phone.clone().unwrap_or_default(),
        "landlord_name" => s.landlord_name.clone().unwrap_or_default(),
        "landlord_email" => s.landlord_email.clone().unwrap_or_default(),
        "landlord_phone" => s.landlord_phone.clone().unwrap_or_default(),
        "dwelling_surface" => s
            .dwelling_surface
            .map(|v| v.to_string())
            .unwrap_or_default(),
        "dwelling_rooms" => number(s.dwelling_rooms),
        "dwelling_occupants_count" => number(s.dwelling_occupants_count),
        "address_line" => s.address_line.clone(),
        "postal_code" => s.postal_code.clone(),
        "city" => s.city.clone(),
        "dwelling_children_under_6" => choice_code(s.dwelling_children_under_6),
        "is_public_housing" => choice_code(s.is_public_housing),
        "household_housing_allowance" => choice_code(s.household_housing_allowance),
        _ => String::new(),
    }
}

fn choice_code(value: Option<bool>) -> String {
    match value {
        Some(true) => "oui",
        Some(false) => "non",
        None => "nsp",
    }
    .to_owned()
}

/// What the edit form sends: the version it was built from and its raw
/// fields.
#[derive(Debug, Clone, Default)]
pub struct EditInput {
    pub version: u32,
    pub fields: Vec<(String, String)>,
}

impl EditInput {
    /// The trimmed value of a field ("" when absent).
    pub fn get(&self, name: &str) -> String {
        self.fields
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.trim().to_owned())
            .unwrap_or_default()
    }

    fn opt(&self, name: &str) -> Option<String> {
        Some(self.get(name)).filter(|v| !v.is_empty())
    }
}

/// A user who may edit the case (a territory admin, or a partner that
/// accepted it; never an archived case) writes its sections. `before`:
/// the stored sections; `communes`: the communes of the posted postal code.
///
/// Rules: the form's version is the case's (else [`Refusal::Stale`]);
/// text fields 255 characters at most; e-mails valid (stored lower case);
/// a phone changed must be a French number (stored E.164) while a stored
/// one left untouched is kept as it is; numbers between 1 and a bound
/// (surface 2,000 m², rooms and occupants 50), `,` accepted as decimal
/// separator; an address line; the postal code a known one, the city one
/// of its communes (may stay empty when the code has one commune), in the
/// case's territory.
///
/// The plan bumps the version, writes the sections (the report is then
/// scored again from every stored fact: docs/scoring.md §2.7), records
/// the diff, and geocodes the address again when it changed.
pub fn edit_sections(
    actor: &Actor,
    case: &CaseFacts,
    before: &Sections,
    input: &EditInput,
    communes: &[Commune],
) -> Result<Plan, Refusal> {
    // Who may comes first: a stale form from someone who may not edit is
    // still a 403.
    check_allowed(actor, case, CaseAction::EditSections)?;
    check_version(case, input.version)?;
    let mut errors = FieldErrors::default();
    for (name, label) in TEXT_FIELDS {
        if input.get(name).chars().count() > MAX_TEXT_CHARS {
            errors.add(name, format!("{label} : 255 caractères au plus."));
        }
    }
    let email = |name: &'static str, errors: &mut FieldErrors| {
        let value = input.opt(name)?;
        match Email::parse(&value) {
            Ok(email) => Some(email.into_inner()),
            Err(invalid) => {
                errors.add(name, invalid.message());
                None
            }
        }
    };
    let occupant_email = email("occupant_email", &mut errors);
    let landlord_email = email("landlord_email", &mut errors);
    let phone = |name: &'static str, stored: &Option<String>, errors: &mut FieldErrors| {
        let value = input.opt(name)?;
        if stored.as_deref() == Some(value.as_str()) {
            return Some(value);
        }
        match Phone::parse(&value) {
            Ok(phone) => Some(phone.into_inner()),
            Err(invalid) => {
                errors.add(name, invalid.message());
                None
            }
        }
    };
    let occupant_phone = phone("occupant_phone", &before.occupant_phone, &mut errors);
    let landlord_phone = phone("landlord_phone", &before.landlord_phone, &mut errors);
    let number = |name: &'static str, max: f64, errors: &mut FieldErrors| -> Option<f64> {
        let raw = input.get(name).replace(',', ".");
        if raw.is_empty() {
            return None;
        }
        match raw.parse::<f64>() {
            Ok(v) if v > 0.0 && v <= max => Some(v),
            _ => {
                errors.add(name, format!("Indiquez un nombre entre 1 et {max}."));
                None
            }
        }
    };
    let surface = number("dwelling_surface", 2000.0, &mut errors);
    // Bounded by 50 just above: the casts cannot truncate.
    let rooms = number("dwelling_rooms", 50.0, &mut errors).map(|v| v as u16);
    let occupants = number("dwelling_occupants_count", 50.0, &mut errors).map(|v| v as u16);
    let choice = |name: &str| match input.get(name).as_str() {
        "oui" => Some(true),
        "non" => Some(false),
        _ => None,
    };
    let address = input.get("address_line");
    let postal = input.get("postal_code");
    let city = input.get("city");
    if address.is_empty() {
        errors.add("address_line", "Indiquez le numéro et la voie.");
    }
    let commune = communes
        .iter()
        .find(|c| c.name.to_lowercase() == city.to_lowercase())
        .or(communes
            .first()
            .filter(|_| communes.len() == 1 && city.is_empty()));
    match commune {
        None if communes.is_empty() => errors.add("postal_code", "Ce code postal n’existe pas."),
        None => errors.add("city", "Cette commune ne correspond pas au code postal."),
        Some(c) if c.territory_id != case.territory_id => errors.add(
            "postal_code",
            "Cette adresse est hors du territoire du signalement.",
        ),
        Some(_) => {}
    }
    errors.into_result()?;
    let commune = commune.ok_or(Refusal::BadInput("commune"))?;
    let after = Sections {
        occupant_first_name: input.opt("occupant_first_name"),
        occupant_last_name: input.opt("occupant_last_name"),
        occupant_email,
        occupant_phone,
        landlord_name: input.opt("landlord_name"),
        landlord_email,
        landlord_phone,
        dwelling_surface: surface,
        dwelling_rooms: rooms,
        dwelling_occupants_count: occupants,
        dwelling_children_under_6: choice("dwelling_children_under_6"),
        is_public_housing: choice("is_public_housing"),
        household_housing_allowance: choice("household_housing_allowance"),
        address_line: address,
        postal_code: postal,
        city: commune.name.clone(),
    };
    let changes: Vec<(&str, String, String)> = TEXT_FIELDS
        .iter()
        .chain(CHOICE_FIELDS.iter())
        .map(|(name, _)| (*name, text_of(before, name), text_of(&after, name)))
        .collect();
    let mut plan = Plan::new(
        case_ref(case),
        Some(actor.user_id),
        Guard::Version(case.version),
    );
    plan.audit = Some(AuditEntry {
        action: "edit",
        diff: diff(&changes),
    });
    if before.address_line != after.address_line
        || before.postal_code != after.postal_code
        || before.city != after.city
    {
        plan.jobs.push(PlannedJob::GeocodeReport);
    }
    plan.sections = Some(SectionsWrite {
        sections: after,
        insee_code: commune.insee_code.clone(),
    });
    Ok(plan)
}

#[cfg(test)]
mod tests {
    use super::super::testing::{admin, agent, case, other_admin};
    use super::super::{AssignmentStatus as A, ReportStatus as R};
    use super::*;

    fn stored() -> Sections {
        Sections {
            occupant_first_name: Some("Lina".into()),
            occupant_last_name: Some("Martin".into()),
            occupant_email: Some("lina@exemple.fr".into()),
            occupant_phone: Some("+33612345678".into()),
            landlord_name: None,
            landlord_email: None,
            landlord_phone: Some("ancien format 12".into()),
            dwelling_surface: Some(42.5),
            dwelling_rooms: Some(2),
            dwelling_occupants_count: Some(3),
            dwelling_children_under_6: Some(false),
            is_public_housing: None,
            household_housing_allowance: Some(true),
            address_line: "3 rue Garibaldi".into(),
            postal_code: "69003".into(),
            city: "Lyon 3e Arrondissement".into(),
        }
    }

    fn lyon() -> Vec<Commune> {
        vec![Commune {
            insee_code: "69383".into(),
            name: "Lyon 3e Arrondissement".into(),
            territory_id: 69,
            territory_active: true,
            authorized_insee_codes: Vec::new(),
        }]
    }

    /// The form as the edit page fills it from `s`, at version 3.
    fn form(s: &Sections) -> EditInput {
        EditInput {
            version: 3,
            fields: TEXT_FIELDS
                .iter()
                .chain(CHOICE_FIELDS.iter())
                .map(|(name, _)| ((*name).to_owned(), text_of(s, name)))
                .collect(),
        }
    }

    fn set(input: &mut EditInput, name: &str, value: &str) {
        input.fields.retain(|(k, _)| k != name);
        input.fields.push((name.to_owned(), value.to_owned()));
    }

    fn errors(result: Result<Plan, Refusal>) -> FieldErrors {
        match result {
            Err(Refusal::Invalid(errors)) => errors,
            other => panic!("expected field errors, got {other:?}"),
        }
    }

    fn written(plan: &Plan) -> &Sections {
        &plan.sections.as_ref().expect("sections written").sections
    }

    #[test]
    fn admins_and_partners_that_accepted_may_edit_until_archived() {
        let before = stored();
        let input = form(&before);
        let active = case(R::Active, &[(5, A::Accepted), (6, A::New)]);
        assert!(edit_sections(&admin(), &active, &before, &input, &lyon()).is_ok());
        assert!(edit_sections(&agent(5), &active, &before, &input, &lyon()).is_ok());
        assert_eq!(
            edit_sections(&agent(6), &active, &before, &input, &lyon()),
            Err(Refusal::NotAllowed),
            "a partner that has not accepted"
        );
        assert_eq!(
            edit_sections(&agent(9), &active, &before, &input, &lyon()),
            Err(Refusal::NotAllowed),
            "a partner not on the case"
        );
        assert_eq!(
            edit_sections(&other_admin(), &active, &before, &input, &lyon()),
            Err(Refusal::NotAllowed),
            "another territory's admin"
        );
        for status in [R::NeedValidation, R::Closed, R::Refused] {
            assert!(
                edit_sections(&admin(), &case(status, &[]), &before, &input, &lyon()).is_ok(),
                "{status:?}"
            );
        }
        assert_eq!(
            edit_sections(&admin(), &case(R::Archived, &[]), &before, &input, &lyon()),
            Err(Refusal::WrongStatus(R::Archived))
        );
    }

    #[test]
    fn a_stale_form_is_refused_after_the_rights() {
        let before = stored();
        let mut input = form(&before);
        input.version = 2;
        let active = case(R::Active, &[]);
        assert_eq!(
            edit_sections(&admin(), &active, &before, &input, &lyon()),
            Err(Refusal::Stale)
        );
        assert_eq!(
            edit_sections(&agent(9), &active, &before, &input, &lyon()),
            Err(Refusal::NotAllowed)
        );
    }

    #[test]
    fn the_plan_bumps_the_version_writes_and_records_only_what_changed() {
        let before = stored();
        let mut input = form(&before);
        set(&mut input, "occupant_email", " Nouveau@Exemple.FR ");
        set(&mut input, "dwelling_children_under_6", "oui");
        let plan =
            edit_sections(&admin(), &case(R::Active, &[]), &before, &input, &lyon()).expect("plan");
        assert_eq!(plan.guard, Guard::Version(3));
        assert_eq!(plan.by, Some(1));
        let after = written(&plan);
        assert_eq!(after.occupant_email.as_deref(), Some("nouveau@exemple.fr"));
        assert_eq!(after.dwelling_children_under_6, Some(true));
        assert_eq!(
            plan.sections.as_ref().map(|s| s.insee_code.as_str()),
            Some("69383")
        );
        let audit = plan.audit.expect("audit");
        assert_eq!(audit.action, "edit");
        assert_eq!(
            audit.diff,
            Some(serde_json::json!({
                "occupant_email": ["lina@exemple.fr", "nouveau@exemple.fr"],
                "dwelling_children_under_6": ["non", "oui"],
            }))
        );
        assert!(plan.jobs.is_empty(), "same address: no geocoding");
        assert!(plan.notices.is_empty(), "an edit tells nobody");
    }

    #[test]
    fn an_unchanged_form_writes_the_same_sections_with_an_empty_diff() {
        let before = stored();
        let plan = edit_sections(
            &admin(),
            &case(R::Active, &[]),
            &before,
            &form(&before),
            &lyon(),
        )
        .expect("plan");
        assert_eq!(written(&plan), &before);
        assert_eq!(plan.audit.map(|a| a.diff), Some(None));
    }

    #[test]
    fn a_new_address_is_geocoded_again() {
        let before = stored();
        let mut input = form(&before);
        set(&mut input, "address_line", "40 rue Paul Bert");
        let plan =
            edit_sections(&admin(), &case(R::Active, &[]), &before, &input, &lyon()).expect("plan");
        assert_eq!(plan.jobs, vec![PlannedJob::GeocodeReport]);
    }

    #[test]
    fn phones_changed_are_french_numbers_stored_e164_and_untouched_ones_kept() {
        let before = stored();
        let mut input = form(&before);
        set(&mut input, "occupant_phone", "07 98 76 54 32");
        let plan =
            edit_sections(&admin(), &case(R::Active, &[]), &before, &input, &lyon()).expect("plan");
        assert_eq!(
            written(&plan).occupant_phone.as_deref(),
            Some("+33798765432")
        );
        assert_eq!(
            written(&plan).landlord_phone.as_deref(),
            Some("ancien format 12"),
            "a stored value left as it is does not block the edit"
        );
        set(&mut input, "landlord_phone", "12 34");
        let errors = errors(edit_sections(
            &admin(),
            &case(R::Active, &[]),
            &before,
            &input,
            &lyon(),
        ));
        assert!(
            errors
                .get("landlord_phone")
                .is_some_and(|m| m.contains("numéro de téléphone"))
        );
    }

    #[test]
    fn field_rules() {
        let before = stored();
        let mut input = form(&before);
        set(&mut input, "occupant_email", "pas-un-courriel");
        set(&mut input, "occupant_first_name", &"é".repeat(256));
        set(&mut input, "dwelling_surface", "0");
        set(&mut input, "dwelling_rooms", "51");
        set(&mut input, "dwelling_occupants_count", "trois");
        set(&mut input, "address_line", " ");
        let errors = errors(edit_sections(
            &admin(),
            &case(R::Active, &[]),
            &before,
            &input,
            &lyon(),
        ));
        assert!(
            errors
                .get("occupant_email")
                .is_some_and(|m| m.contains("adresse électronique valide"))
        );
        assert_eq!(
            errors.get("occupant_first_name"),
            Some("Prénom de l’occupant : 255 caractères au plus.")
        );
        assert_eq!(
            errors.get("dwelling_surface"),
            Some("Indiquez un nombre entre 1 et 2000.")
        );
        assert_eq!(
            errors.get("dwelling_rooms"),
            Some("Indiquez un nombre entre 1 et 50.")
        );
        assert!(errors.get("dwelling_occupants_count").is_some());
        assert_eq!(
            errors.get("address_line"),
            Some("Indiquez le numéro et la voie.")
        );

        let mut input = form(&before);
        set(&mut input, "dwelling_surface", "38,5");
        set(&mut input, "dwelling_rooms", "");
        let plan =
            edit_sections(&admin(), &case(R::Active, &[]), &before, &input, &lyon()).expect("plan");
        assert_eq!(written(&plan).dwelling_surface, Some(38.5));
        assert_eq!(written(&plan).dwelling_rooms, None, "empty: unknown");
    }

    #[test]
    fn the_commune_must_match_the_postal_code_and_stay_in_the_territory() {
        let before = stored();
        let active = case(R::Active, &[]);
        let input = form(&before);
        assert_eq!(
            errors(edit_sections(&admin(), &active, &before, &input, &[])).get("postal_code"),
            Some("Ce code postal n’existe pas.")
        );
        let mut other_city = form(&before);
        set(&mut other_city, "city", "Marseille");
        assert_eq!(
            errors(edit_sections(
                &admin(),
                &active,
                &before,
                &other_city,
                &lyon()
            ))
            .get("city"),
            Some("Cette commune ne correspond pas au code postal.")
        );
        let mut elsewhere = lyon();
        elsewhere[0].territory_id = 13;
        assert_eq!(
            errors(edit_sections(
                &admin(),
                &active,
                &before,
                &input,
                &elsewhere
            ))
            .get("postal_code"),
            Some("Cette adresse est hors du territoire du signalement.")
        );
        // The city's letter case does not matter; the stored name wins.
        let mut lower = form(&before);
        set(&mut lower, "city", "lyon 3e arrondissement");
        let plan = edit_sections(&admin(), &active, &before, &lower, &lyon()).expect("plan");
        assert_eq!(written(&plan).city, "Lyon 3e Arrondissement");
        // A code with one commune: the city may stay empty.
        set(&mut lower, "city", "");
        assert!(edit_sections(&admin(), &active, &before, &lower, &lyon()).is_ok());
    }
}
