//! From the answers of a finished draft to a filed report (docs/form.md
//! §5.6), in three steps each testable alone:
//!
//! 1. [`validate`]: the draft checked again as a whole → a
//!    [`ValidSubmission`] or every error for the summary;
//! 2. [`plan`]: what filing it writes → a [`SubmissionPlan`] (report row,
//!    scores, defects, qualifications, documents, jobs);
//! 3. `filing::persist`: the plan in one transaction.
//!
//! This module also maps the answers to the report's columns
//! ([`Submission`], docs/form.md §4): who is the occupant, who declares, the
//! landlord, the dwelling, the household and the procedure; and decides what
//! a submission does with its draft once locked ([`gate`]).

mod plan;
mod validate;

pub use plan::{
    FIRST_FOLLOW_UP, KnownPrecision, NEW_REPORT_STATUS, PlanFacts, PlannedEmail, PlannedJob,
    PlannedReport, SubmissionPlan, plan,
};
pub use validate::{Facts, SummaryError, ValidSubmission, validate};

use serde_json::{Map, Value};

use super::draft::DraftState;
use crate::domain::contact::{Email, Phone};

use super::form::{self, Answers, DeclarantProfile, get, is};
use super::scoring::{DpeFacts, DpePeriod, InsurerContacted, ScoringInput};

/// The columns of a new report that come from the form.
#[derive(Debug, Clone, Default)]
pub struct Submission {
    pub declarant_profile: DeclarantProfile,
    pub occupant_profile: Option<DeclarantProfile>,
    pub is_public_housing: Option<bool>,

    pub occupant_civility: Option<String>,
    pub occupant_first_name: Option<String>,
    pub occupant_last_name: Option<String>,
    pub occupant_email: Option<Email>,
    pub occupant_phone: Option<Phone>,
    pub occupant_phone_secondary: Option<Phone>,

    pub declarant_civility: Option<String>,
    pub declarant_first_name: Option<String>,
    pub declarant_last_name: Option<String>,
    pub declarant_email: Option<Email>,
    pub declarant_phone: Option<Phone>,
    pub declarant_phone_secondary: Option<Phone>,
    pub declarant_structure: Option<String>,
    pub declarant_link: Option<String>,

    pub landlord_kind: Option<String>,
    pub landlord_name: Option<String>,
    pub landlord_first_name: Option<String>,
    pub landlord_email: Option<Email>,
    pub landlord_phone: Option<Phone>,
    pub landlord_address: Option<String>,
    pub landlord_postal_code: Option<String>,
    pub landlord_city: Option<String>,

    pub dwelling_type: Option<String>,
    pub dwelling_type_other: Option<String>,
    pub dwelling_surface: Option<f64>,
    pub dwelling_rooms: Option<u16>,
    pub dwelling_is_single_room: Option<bool>,
    pub dwelling_is_ground_floor: Option<bool>,
    pub dwelling_is_top_floor: Option<bool>,
    pub dwelling_is_attic_without_window: Option<bool>,
    pub dwelling_is_basement_without_window: Option<bool>,
    pub dwelling_has_room_9m2: Option<bool>,
    pub dwelling_has_kitchen: Option<bool>,
    pub dwelling_kitchen_shared: Option<bool>,
    pub dwelling_has_bathroom: Option<bool>,
    pub dwelling_bathroom_shared: Option<bool>,
    pub dwelling_has_wc: Option<bool>,
    pub dwelling_wc_shared: Option<bool>,
    pub dwelling_wc_in_kitchen: Option<bool>,
    pub dwelling_occupants_count: Option<u16>,
    pub dwelling_children_count: Option<u16>,
    pub dwelling_children_under_6: Option<bool>,
    pub dwelling_move_in_date: Option<time::Date>,
    pub dwelling_has_lease: Option<bool>,
    pub dwelling_has_inventory: Option<bool>,
    pub dwelling_has_dpe: Option<bool>,
    pub dwelling_dpe_class: Option<String>,
    pub dwelling_dpe_period: Option<String>,
    pub dwelling_tax_id: Option<String>,

    pub household_housing_allowance: Option<bool>,
    pub household_allowance_fund: Option<String>,
    pub household_allowance_number: Option<String>,
    pub household_allowance_amount: Option<f64>,
    pub household_wants_to_leave: Option<bool>,
    pub household_notice_given: Option<bool>,
    pub household_wants_rehousing: Option<bool>,
    pub household_social_worker: Option<bool>,
    pub household_social_worker_structure: Option<String>,
    pub household_rsa: Option<bool>,
    pub household_fsl: Option<bool>,
    pub dwelling_rent: Option<f64>,
    pub dwelling_floors: Option<u16>,
    pub dwelling_construction_year: Option<u16>,
    pub occupant_birth_date: Option<time::Date>,

    pub procedure_landlord_informed: Option<bool>,
    pub procedure_landlord_informed_at: Option<time::Date>,
    pub procedure_landlord_informed_how: Option<String>,
    pub procedure_landlord_answer: Option<String>,
    pub procedure_claim_number: Option<String>,
    pub procedure_insurer_contacted: Option<String>,
    pub procedure_insurer_answer: Option<String>,
    pub procedure_stay_after_works: Option<bool>,

    pub defects_zone: Option<String>,
    pub defects_onset: Option<String>,
    pub defects_seen_by_declarant: Option<bool>,

    pub consents: Value,
    pub details: Option<String>,
    pub extra: Value,

    pub address_line: String,
    pub address_complement: Option<String>,
    pub floor: Option<String>,
    pub staircase: Option<String>,
    pub door: Option<String>,
    pub postal_code: String,
    pub city: String,
    pub insee_code: Option<String>,
}

fn text(a: &Answers, slug: &str) -> Option<String> {
    get(a, slug).map(str::to_owned)
}

/// An e-mail answer. The form checked it already (`form::validate` parses
/// every e-mail question with the same [`Email`] rule and keeps the
/// normalised value), so an answer that does not parse is no address.
fn email(a: &Answers, slug: &str) -> Option<Email> {
    get(a, slug).and_then(|v| Email::parse(v).ok())
}

/// A phone answer, checked by the form like [`email`].
fn phone(a: &Answers, slug: &str) -> Option<Phone> {
    get(a, slug).and_then(|v| Phone::parse(v).ok())
}

/// `oui` → true, `non` → false, anything else (nsp) → unknown.
fn tri(a: &Answers, slug: &str) -> Option<bool> {
    match get(a, slug) {
        Some("oui") => Some(true),
        Some("non") => Some(false),
        _ => None,
    }
}

fn number<T: std::str::FromStr>(a: &Answers, slug: &str) -> Option<T> {
    get(a, slug).and_then(|v| v.parse().ok())
}

/// Slugs copied to a column; the others go to `extra`.
const IN_COLUMNS: [&str; 3] = [
    "adresse_logement_adresse_detail_numero",
    "adresse_logement_adresse_detail_code_postal",
    "adresse_logement_adresse_detail_commune",
];

impl Submission {
    pub fn from_answers(a: &Answers) -> Self {
        let profile = form::profile(a).unwrap_or(DeclarantProfile::Locataire);
        let occupant = profile.is_occupant();
        let mut s = Submission {
            declarant_profile: profile,
            occupant_profile: form::occupant_profile(a),
            is_public_housing: form::is_social_housing(a),
            ..Default::default()
        };

        // Declarant and occupant.
        if occupant {
            let p = "vos_coordonnees_occupant";
            s.occupant_civility = text(a, &format!("{p}_civilite"));
            s.occupant_first_name = text(a, &format!("{p}_prenom"));
            s.occupant_last_name = text(a, &format!("{p}_nom"));
            s.occupant_email = email(a, &format!("{p}_email"));
            s.occupant_phone = phone(a, &format!("{p}_tel"));
            s.occupant_phone_secondary = phone(a, &format!("{p}_tel_secondaire"));
            s.declarant_civility = s.occupant_civility.clone();
            s.declarant_first_name = s.occupant_first_name.clone();
            s.declarant_last_name = s.occupant_last_name.clone();
            s.declarant_email = s.occupant_email.clone();
            s.declarant_phone = s.occupant_phone.clone();
            s.declarant_phone_secondary = s.occupant_phone_secondary.clone();
            s.declarant_structure = text(a, &format!("{p}_nom_organisme"));
        } else {
            let p = "vos_coordonnees_tiers";
            s.declarant_first_name = text(a, &format!("{p}_prenom"));
            s.declarant_last_name = text(a, &format!("{p}_nom"));
            s.declarant_email = email(a, &format!("{p}_email"));
            s.declarant_phone = phone(a, &format!("{p}_tel"));
            s.declarant_phone_secondary = phone(a, &format!("{p}_tel_secondaire"));
            s.declarant_structure = text(a, &format!("{p}_nom_organisme"));
            s.declarant_link = match profile.implied_link() {
                Some(link) => Some(link.to_owned()),
                None => text(a, &format!("{p}_lien")),
            };
            let o = "coordonnees_occupant";
            s.occupant_civility = text(a, &format!("{o}_civilite"));
            s.occupant_first_name = text(a, &format!("{o}_prenom"));
            s.occupant_last_name = text(a, &format!("{o}_nom"));
            s.occupant_email = email(a, &format!("{o}_email"));
            s.occupant_phone = phone(a, &format!("{o}_tel"));
        }

        // Landlord: the declarant for BO and BAI (docs/form.md §2.2).
        match profile {
            DeclarantProfile::BailleurOccupant | DeclarantProfile::Bailleur => {
                s.landlord_kind = text(
                    a,
                    "signalement_concerne_profil_detail_bailleur_proprietaire",
                )
                .or_else(|| text(a, "signalement_concerne_profil_detail_bailleur_bailleur"));
                s.landlord_name = s
                    .declarant_structure
                    .clone()
                    .or_else(|| s.declarant_last_name.clone());
                s.landlord_first_name = s.declarant_first_name.clone();
                s.landlord_email = s.declarant_email.clone();
                s.landlord_phone = s.declarant_phone.clone();
                if profile == DeclarantProfile::BailleurOccupant {
                    s.landlord_address = text(a, "adresse_logement_adresse_detail_numero");
                    s.landlord_postal_code = text(a, "adresse_logement_adresse_detail_code_postal");
                    s.landlord_city = text(a, "adresse_logement_adresse_detail_commune");
                }
            }
            _ => {
                s.landlord_name = text(a, "coordonnees_bailleur_nom");
                s.landlord_first_name = text(a, "coordonnees_bailleur_prenom");
                s.landlord_email = email(a, "coordonnees_bailleur_email");
                s.landlord_phone = phone(a, "coordonnees_bailleur_tel");
                s.landlord_address = text(a, "coordonnees_bailleur_adresse_detail_numero");
                s.landlord_postal_code = text(a, "coordonnees_bailleur_adresse_detail_code_postal");
                s.landlord_city = text(a, "coordonnees_bailleur_adresse_detail_commune");
            }
        }

        // Dwelling.
        s.dwelling_type = text(a, "type_logement_nature");
        s.dwelling_type_other = text(a, "type_logement_nature_autre_precision");
        s.dwelling_surface = number(a, "composition_logement_superficie");
        s.dwelling_is_single_room = match get(a, "composition_logement_piece_unique") {
            Some("piece_unique") => Some(true),
            Some("plusieurs_pieces") => Some(false),
            _ => None,
        };
        s.dwelling_rooms = if s.dwelling_is_single_room == Some(true) {
            Some(1)
        } else {
            number(a, "composition_logement_nb_pieces")
        };
        s.dwelling_is_ground_floor = tri(a, "type_logement_rdc");
        s.dwelling_is_top_floor = tri(a, "type_logement_dernier_etage");
        s.dwelling_is_attic_without_window = tri(a, "type_logement_sous_comble_sans_fenetre");
        s.dwelling_is_basement_without_window = tri(a, "type_logement_sous_sol_sans_fenetre");
        s.dwelling_has_room_9m2 = tri(a, "type_logement_commodites_piece_a_vivre_9m");
        s.dwelling_has_kitchen = tri(a, "type_logement_commodites_cuisine");
        s.dwelling_kitchen_shared = tri(a, "type_logement_commodites_cuisine_collective");
        s.dwelling_has_bathroom = tri(a, "type_logement_commodites_salle_de_bain");
        s.dwelling_bathroom_shared = tri(a, "type_logement_commodites_salle_de_bain_collective");
        s.dwelling_has_wc = tri(a, "type_logement_commodites_wc");
        s.dwelling_wc_shared = tri(a, "type_logement_commodites_wc_collective");
        s.dwelling_wc_in_kitchen = tri(a, "type_logement_commodites_wc_cuisine");
        s.dwelling_occupants_count = number(a, "composition_logement_nombre_personnes");
        s.dwelling_children_count = number(a, "composition_logement_nombre_enfants");
        s.dwelling_children_under_6 = tri(a, "composition_logement_enfants");
        s.dwelling_move_in_date = get(a, "bail_dpe_date_emmenagement").and_then(form::parse_date);
        s.dwelling_has_lease = tri(a, "bail_dpe_bail");
        s.dwelling_has_inventory = tri(a, "bail_dpe_etat_des_lieux");
        s.dwelling_has_dpe = tri(a, "bail_dpe_dpe");
        s.dwelling_dpe_class = text(a, "bail_dpe_classe_energetique").filter(|c| c != "nsp");
        s.dwelling_dpe_period =
            text(a, "desordres_logement_chauffage_details_dpe_annee").filter(|c| c != "nsp");
        s.dwelling_tax_id = text(a, "bail_dpe_invariant");

        // Household.
        s.household_housing_allowance = tri(a, "logement_social_allocation");
        s.household_allowance_fund = text(a, "logement_social_allocation_caisse");
        s.household_allowance_number = text(a, "logement_social_numero_allocataire");
        s.household_allowance_amount = number(a, "logement_social_montant_allocation");
        s.occupant_birth_date = get(a, "logement_social_date_naissance").and_then(form::parse_date);
        s.household_wants_to_leave = tri(a, "travailleur_social_quitte_logement");
        s.household_notice_given = tri(a, "travailleur_social_preavis_depart");
        s.household_wants_rehousing = tri(a, "logement_social_demande_relogement");
        s.household_social_worker = tri(a, "travailleur_social_accompagnement");
        s.household_social_worker_structure =
            text(a, "travailleur_social_accompagnement_nom_structure");

        let ic = |k: &str| format!("informations_complementaires_{k}");
        s.household_rsa = tri(a, &ic("situation_occupants_beneficiaire_rsa"));
        s.household_fsl = tri(a, &ic("situation_occupants_beneficiaire_fsl"));
        s.dwelling_rent = number(a, &ic("logement_montant_loyer"));
        s.dwelling_floors = number(a, &ic("logement_nombre_etages"));
        s.dwelling_construction_year = number(a, &ic("logement_annee_construction"));

        // Procedure.
        s.procedure_landlord_informed = tri(a, "info_procedure_bailleur_prevenu");
        s.procedure_landlord_informed_at =
            get(a, "info_procedure_bail_date").and_then(form::parse_month_year);
        s.procedure_landlord_informed_how =
            text(a, "info_procedure_bail_moyen").filter(|v| v != "nsp");
        s.procedure_landlord_answer = text(a, "info_procedure_bail_reponse");
        s.procedure_claim_number = text(a, "info_procedure_bail_numero");
        s.procedure_insurer_contacted =
            text(a, "info_procedure_assurance_contactee").filter(|v| v != "nsp");
        s.procedure_insurer_answer = text(a, "info_procedure_reponse_assurance");
        s.procedure_stay_after_works = tri(a, "info_procedure_depart_apres_travaux");

        s.defects_zone = text(a, "zone_concernee_zone");
        s.defects_onset = text(a, "zone_concernee_debut_desordres").filter(|v| v != "nsp");
        s.defects_seen_by_declarant = tri(a, "zone_concernee_constatation_desordres");

        let mut consents = Map::new();
        for (k, _) in a
            .iter()
            .filter(|(k, _)| k.starts_with("utilisation_service_ok_"))
        {
            consents.insert(k.clone(), Value::Bool(true));
        }
        // The version of the terms of use the checkbox accepted
        // (docs/terms.md §1).
        if consents.contains_key("utilisation_service_ok_cgu") {
            consents.insert(
                "cgu_version".into(),
                Value::String(crate::domain::terms::Audience::Public.current().code.into()),
            );
        }
        s.consents = Value::Object(consents);
        s.details = text(a, "message_administration");

        // Address.
        s.address_line = text(a, "adresse_logement_adresse_detail_numero").unwrap_or_default();
        s.postal_code = text(a, "adresse_logement_adresse_detail_code_postal").unwrap_or_default();
        s.city = text(a, "adresse_logement_adresse_detail_commune").unwrap_or_default();
        s.insee_code = text(a, "adresse_logement_adresse_detail_insee");
        s.floor = text(a, "adresse_logement_complement_adresse_etage");
        s.staircase = text(a, "adresse_logement_complement_adresse_escalier");
        s.door = text(a, "adresse_logement_complement_adresse_numero_appartement");
        s.address_complement = text(a, "adresse_logement_complement_adresse_autre");

        // Everything else, for the record.
        let mut extra = Map::new();
        for (k, v) in a {
            if !IN_COLUMNS.contains(&k.as_str()) && !v.is_empty() {
                extra.insert(k.clone(), Value::String(v.clone()));
            }
        }
        s.extra = Value::Object(extra);
        s
    }

    /// The facts scoring needs besides the precisions.
    pub fn scoring_input(&self, a: &Answers) -> ScoringInput {
        ScoringInput {
            child_under_6: is(a, "composition_logement_enfants", "oui"),
            insurer_contacted: get(a, "info_procedure_assurance_contactee")
                .and_then(InsurerContacted::parse),
            occupants: self.dwelling_occupants_count.map(u32::from),
            surface: self.dwelling_surface,
            rooms: self.dwelling_rooms.map(u32::from),
            allocataire: self.household_housing_allowance == Some(true),
            dpe: DpeFacts {
                has_dpe: self.dwelling_has_dpe,
                period: self
                    .dwelling_dpe_period
                    .as_deref()
                    .and_then(DpePeriod::parse),
                year: None,
                class: self
                    .dwelling_dpe_class
                    .as_deref()
                    .and_then(|c| c.chars().next()),
                consumption: None,
            },
        }
    }

    /// Who receives the confirmation: the declarant, and the occupant when
    /// it is someone else with an address.
    pub fn confirmation_recipients(&self) -> Vec<(Email, String)> {
        let mut out = Vec::new();
        if let Some(email) = &self.declarant_email {
            out.push((
                email.clone(),
                self.declarant_first_name.clone().unwrap_or_default(),
            ));
        }
        if let Some(email) = &self.occupant_email
            && !out.iter().any(|(e, _)| e == email)
        {
            out.push((
                email.clone(),
                self.occupant_first_name.clone().unwrap_or_default(),
            ));
        }
        out
    }
}

/// What a submission does with its draft, once the row is locked.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DraftGate {
    /// Still in progress and as it was read: file it.
    File,
    /// A concurrent submission of the same draft won the race: show its
    /// confirmation.
    AlreadyFiled,
    /// Edited in another tab, or left the form: show the summary again.
    Changed,
}

/// Decides from the locked draft's state, whether it already points to a
/// report, and whether it still holds what the plan was made from.
pub fn gate(state: DraftState, has_report: bool, unchanged: bool) -> DraftGate {
    match (state, has_report) {
        (DraftState::Submitted, true) => DraftGate::AlreadyFiled,
        (DraftState::Submitted, false) | (DraftState::Archived, _) => DraftGate::Changed,
        (DraftState::InProgress, _) if unchanged => DraftGate::File,
        (DraftState::InProgress, _) => DraftGate::Changed,
    }
}

/// The initials and postal code that unlock the follow-up space: first
/// letter of the first name, first letter of the last name (accents and
/// case ignored).
pub fn initial(name: &str) -> Option<char> {
    let c = name.trim().chars().find(|c| c.is_alphabetic())?;
    let folded = match c.to_lowercase().next()? {
        'à' | 'â' | 'ä' | 'á' | 'ã' => 'a',
        'é' | 'è' | 'ê' | 'ë' => 'e',
        'î' | 'ï' | 'í' => 'i',
        'ô' | 'ö' | 'ó' => 'o',
        'ù' | 'û' | 'ü' | 'ú' => 'u',
        'ç' => 'c',
        'ÿ' => 'y',
        other => other,
    };
    Some(folded)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn initials_ignore_case_and_accents() {
        assert_eq!(initial("Élodie"), Some('e'));
        assert_eq!(initial("  martin"), Some('m'));
        assert_eq!(initial(""), None);
    }

    #[test]
    fn a_tenant_is_both_occupant_and_declarant() {
        let a: Answers = [
            ("signalement_concerne_profil", "logement_occupez"),
            ("signalement_concerne_profil_detail_occupant", "locataire"),
            ("vos_coordonnees_occupant_nom", "Durand"),
            ("vos_coordonnees_occupant_email", "a@b.fr"),
            ("composition_logement_piece_unique", "piece_unique"),
        ]
        .iter()
        .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
        .collect();
        let s = Submission::from_answers(&a);
        assert_eq!(s.declarant_profile, DeclarantProfile::Locataire);
        assert_eq!(s.occupant_last_name.as_deref(), Some("Durand"));
        assert_eq!(
            s.declarant_email.as_ref().map(Email::as_str),
            Some("a@b.fr")
        );
        assert_eq!(s.dwelling_rooms, Some(1));
        assert_eq!(s.confirmation_recipients().len(), 1);
    }
}

#[cfg(test)]
mod flow_tests {
    //! validate → plan on a whole tenant's draft, without HTTP nor database.

    use super::*;
    use crate::domain::report::{
        address::Commune,
        defects::{Category, Criterion, PrecisionRef},
        draft::DraftFile,
        form::Step,
        scoring::{self, Precision, Qualification, Zone},
    };

    const TODAY: time::Date = time::macros::date!(2026 - 11 - 23);
    const ELEC: &str = "desordres_logement_electricite_installation_dangereuse";

    fn taxonomy() -> Vec<Category> {
        vec![Category {
            code: "desordres_logement_electricite".into(),
            label: "Électricité".into(),
            zone: "logement".into(),
            criteria: vec![Criterion {
                code: ELEC.into(),
                label: "Installation dangereuse".into(),
                precisions: vec![PrecisionRef {
                    code: ELEC.into(),
                    label: "Installation dangereuse".into(),
                }],
            }],
        }]
    }

    fn aix(active: bool) -> Vec<Commune> {
        vec![Commune {
            insee_code: "13001".into(),
            name: "Aix-en-Provence".into(),
            territory_id: 13,
            territory_active: active,
            authorized_insee_codes: Vec::new(),
        }]
    }

    fn tenant() -> Answers {
        [
            ("adresse_logement_adresse_detail_numero", "12 rue des Lilas"),
            ("adresse_logement_adresse_detail_code_postal", "13100"),
            ("adresse_logement_adresse_detail_commune", "aix en provence"),
            ("signalement_concerne_profil", "logement_occupez"),
            ("signalement_concerne_profil_detail_occupant", "locataire"),
            ("signalement_concerne_logement_social_autre_tiers", "non"),
            ("vos_coordonnees_occupant_civilite", "mme"),
            ("vos_coordonnees_occupant_nom", "Durand"),
            ("vos_coordonnees_occupant_prenom", "Camille"),
            ("vos_coordonnees_occupant_email", " Camille@Exemple.FR "),
            ("vos_coordonnees_occupant_tel", "06 12 34 56 78"),
            ("coordonnees_bailleur_nom", "SCI Les Lilas"),
            ("info_procedure_bailleur_prevenu", "non"),
            ("zone_concernee_zone", "logement"),
            ("zone_concernee_debut_desordres", "months_1_to_6"),
            ("zone_concernee_constatation_desordres", "oui"),
            ("type_logement_nature", "appartement"),
            ("type_logement_rdc", "non"),
            ("type_logement_dernier_etage", "non"),
            ("type_logement_sous_sol_sans_fenetre", "non"),
            ("composition_logement_piece_unique", "plusieurs_pieces"),
            ("composition_logement_superficie", "45"),
            ("composition_logement_nb_pieces", "2"),
            ("type_logement_commodites_piece_a_vivre_9m", "oui"),
            ("type_logement_commodites_cuisine", "oui"),
            ("type_logement_commodites_salle_de_bain", "oui"),
            ("type_logement_commodites_wc", "oui"),
            ("type_logement_commodites_wc_cuisine", "non"),
            ("composition_logement_nombre_personnes", "3"),
            ("composition_logement_nombre_enfants", "1"),
            ("composition_logement_enfants", "oui"),
            ("bail_dpe_date_emmenagement", "2020-05-01"),
            ("bail_dpe_bail", "oui"),
            ("bail_dpe_etat_des_lieux", "oui"),
            ("bail_dpe_dpe", "nsp"),
            ("logement_social_demande_relogement", "non"),
            ("logement_social_allocation", "non"),
            ("travailleur_social_quitte_logement", "non"),
            ("travailleur_social_accompagnement", "non"),
            ("desordres_logement_electricite", "1"),
            (ELEC, "1"),
            ("info_procedure_assurance_contactee", "non"),
            ("info_procedure_depart_apres_travaux", "oui"),
            ("utilisation_service_ok_prevenir_bailleur", "1"),
            ("utilisation_service_ok_visite", "1"),
            ("utilisation_service_ok_demande_logement", "1"),
            ("utilisation_service_ok_signalement_tiers", "1"),
            ("utilisation_service_ok_donnees_sante", "1"),
            ("utilisation_service_ok_cgu", "1"),
        ]
        .iter()
        .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
        .collect()
    }

    fn validate_with(
        a: &Answers,
        communes: &[Commune],
    ) -> Result<ValidSubmission, Vec<SummaryError>> {
        let taxonomy = taxonomy();
        validate(
            a,
            &Facts {
                taxonomy: &taxonomy,
                communes,
                today: TODAY,
            },
        )
    }

    #[test]
    fn a_complete_draft_is_valid_and_normalised() {
        let valid = validate_with(&tenant(), &aix(true)).unwrap_or_else(|e| panic!("{e:#?}"));
        assert_eq!(valid.territory_id, 13);
        assert_eq!(valid.precision_codes, [ELEC]);
        assert_eq!(
            valid.form.declarant_email.as_ref().map(Email::as_str),
            Some("camille@exemple.fr")
        );
        assert_eq!(
            valid.form.declarant_phone.as_ref().map(Phone::as_str),
            Some("+33612345678")
        );
        // The commune's official name and INSEE code replace what was typed.
        assert_eq!(valid.form.city, "Aix-en-Provence");
        assert_eq!(valid.form.insee_code.as_deref(), Some("13001"));
        assert!(valid.scoring.child_under_6);
    }

    #[test]
    fn every_problem_of_a_draft_is_reported_with_its_screen() {
        let mut a = tenant();
        a.insert("vos_coordonnees_occupant_email".into(), "camille@".into());
        a.remove("signalement_concerne_profil_detail_occupant");
        a.remove(ELEC);
        let errors = validate_with(&a, &aix(false)).unwrap_err();
        let steps: Vec<Step> = errors.iter().map(|e| e.step).collect();
        assert!(steps.contains(&Step::Profil), "{errors:#?}");
        assert!(
            errors.iter().any(|e| e.step == Step::Adresse
                && e.message.contains("n’est pas ouvert à Aix-en-Provence")),
            "{errors:#?}"
        );
        assert!(
            errors
                .iter()
                .any(|e| e.step == Step::DesordresLogement && e.label == "Les problèmes"),
            "{errors:#?}"
        );
    }

    #[test]
    fn an_unknown_postal_code_is_an_address_error() {
        let errors = validate_with(&tenant(), &[]).unwrap_err();
        assert_eq!(errors.len(), 1, "{errors:#?}");
        assert_eq!(errors[0].step, Step::Adresse);
        assert_eq!(
            errors[0].message,
            "Ce code postal n’existe pas. Vérifiez-le."
        );
    }

    fn facts<'a>(precisions: &'a [KnownPrecision], files: &'a [DraftFile]) -> PlanFacts<'a> {
        PlanFacts {
            precisions,
            files,
            report_uuid: "0b7f3c1e-5a2d-4c8e-9f10-1234567890ab".into(),
            follow_up_code: "code".into(),
            base_url: "https://histologe.example/",
            now: time::macros::datetime!(2026-11-23 10:00 UTC),
        }
    }

    #[test]
    fn the_plan_scores_once_and_lists_every_job() {
        let valid = validate_with(&tenant(), &aix(true)).unwrap();
        let precisions = [KnownPrecision {
            id: 7,
            precision: Precision {
                slug: ELEC.into(),
                zone: Zone::Logement,
                coef: 4.0,
                is_danger: true,
                is_insalubrite: false,
                is_suroccupation: false,
                qualifications: vec![Qualification::Danger],
            },
        }];
        let files = [DraftFile {
            field: "desordres_logement_electricite_photos_upload".into(),
            key: "documents/x".into(),
            thumbnail_key: None,
            filename: "prise.png".into(),
            mime: "image/png".into(),
            size: 10,
            sha256: "0".repeat(64),
            kind: "photo".into(),
        }];
        let expected = scoring::compute(&[precisions[0].precision.clone()], &valid.scoring);
        let plan = plan(valid, &facts(&precisions, &files));
        assert_eq!(plan.report.status, "need_validation");
        assert_eq!(plan.report.territory_id, 13);
        assert_eq!(plan.report.severity_score_raw, expected.score);
        assert_eq!(plan.qualifications, expected.qualifications);
        assert!(
            plan.qualifications
                .iter()
                .any(|q| q.qualification == Qualification::Danger)
        );
        assert_eq!(plan.defect_ids, [7]);
        assert_eq!(plan.documents, files);
        assert_eq!(plan.reference_year, 2026);
        assert_eq!(
            plan.jobs,
            [
                PlannedJob::Geocode,
                PlannedJob::Email(PlannedEmail::Confirmation {
                    to: Email::parse("camille@exemple.fr").expect("an address"),
                    first_name: "Camille".into(),
                    link: "https://histologe.example/suivre-mon-signalement/code".into(),
                }),
                PlannedJob::Email(PlannedEmail::ToTerritoryAdmins {
                    city: "Aix-en-Provence".into(),
                    link: "https://histologe.example/bo/signalements/0b7f3c1e-5a2d-4c8e-9f10-1234567890ab"
                        .into(),
                }),
            ]
        );
    }

    #[test]
    fn a_locked_draft_is_filed_once_and_only_as_it_was_read() {
        use crate::domain::report::draft::DraftState::*;
        assert_eq!(gate(InProgress, false, true), DraftGate::File);
        assert_eq!(gate(InProgress, false, false), DraftGate::Changed);
        assert_eq!(gate(Submitted, true, true), DraftGate::AlreadyFiled);
        assert_eq!(gate(Submitted, false, true), DraftGate::Changed);
        assert_eq!(gate(Archived, false, true), DraftGate::Changed);
    }
}
