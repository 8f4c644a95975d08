//! One generated report: who filed it, the dwelling and household, the
//! defects a resident ticked, and the score and qualifications these facts
//! give through the one scoring path (`scoring::assess`, docs/scoring.md
//! §2.7). The facts scored are built from the very fields the callers
//! store ([`GeneratedReport::scoring_facts`]), so that scoring a stored
//! generated report again (`db::scoring::rescore`, after a back-office
//! edit) gives the same result.
//!
//! Statuses, dates, assignments and follow-ups are drawn by
//! [`super::dataset`], which places each report in a territory.

use std::collections::HashMap;

use rand::{Rng, seq::IndexedRandom};

use super::names::{self, Surnames};
use crate::{
    db::defects::PrecisionRow,
    domain::report::scoring::{
        self, DpeFacts, InsurerContacted, Precision, ReportFacts, Scoring, ScoringInput,
    },
};

/// Slug prefixes of precisions a resident never ticks: the ones derived
/// from housing facts (overcrowding included) and the emergency services'
/// own form.
const NOT_PICKABLE: [&str; 2] = [
    "desordres_type_composition_logement",
    "desordres_service_secours",
];

/// The defect taxonomy as the generator needs it: every precision with its
/// id and weights, and those a resident can tick.
pub struct Catalogue {
    by_slug: HashMap<String, (u32, Precision)>,
    /// Slugs a resident can tick, in id order.
    pickable: Vec<String>,
}

impl Catalogue {
    /// Builds the catalogue from every precision of the taxonomy, with its
    /// id (`db::defects::all_precisions`).
    pub fn new(precisions: Vec<PrecisionRow>) -> Self {
        let pickable = precisions
            .iter()
            .map(|row| &row.precision.slug)
            .filter(|slug| !NOT_PICKABLE.iter().any(|n| slug.starts_with(n)))
            .cloned()
            .collect();
        Self {
            by_slug: precisions
                .into_iter()
                .map(|row| (row.precision.slug.clone(), (row.id, row.precision)))
                .collect(),
            pickable,
        }
    }

    /// The weights of a slug, for `scoring::assess`.
    pub fn weights(&self, slug: &str) -> Option<&Precision> {
        self.by_slug.get(slug).map(|(_, p)| p)
    }

    /// The slug of a `defect_precisions.id`.
    pub fn slug_of(&self, id: u32) -> Option<&str> {
        self.by_slug
            .iter()
            .find(|(_, (known, _))| *known == id)
            .map(|(slug, _)| slug.as_str())
    }

    /// The `defect_precisions.id` of a slug.
    pub fn id_of(&self, slug: &str) -> Option<u32> {
        self.by_slug.get(slug).map(|(id, _)| *id)
    }
}

/// The ranges a dataset draws from.
#[derive(Debug, Clone, Copy)]
pub struct Scale {
    /// Surface in m², half-open.
    pub surface: (u32, u32),
    /// Living rooms, half-open.
    pub rooms: (u16, u16),
    /// Occupants, half-open.
    pub occupants: (u16, u16),
    /// Ticked defects, inclusive.
    pub defects: (usize, usize),
    /// How surnames are spread.
    pub surnames: Surnames,
    /// How far back reports were filed, in months.
    pub months: u32,
}

impl Scale {
    /// The demo: a few hundred reports, common names.
    pub const DEMO: Self = Self {
        surface: (14, 110),
        rooms: (1, 6),
        occupants: (1, 7),
        defects: (1, 5),
        surnames: Surnames::Common,
        months: 18,
    };
    /// The national benchmark: a million reports, names as a national file.
    pub const NATIONAL: Self = Self {
        surface: (12, 140),
        rooms: (1, 7),
        occupants: (1, 8),
        defects: (1, 5),
        surnames: Surnames::National,
        months: 36,
    };
}

/// Declarant profiles, weighted by repetition (tenants file most reports).
const PROFILES: &[&str] = &[
    "locataire",
    "locataire",
    "locataire",
    "locataire",
    "bailleur_occupant",
    "tiers_particulier",
    "tiers_particulier",
    "tiers_pro",
    "service_secours",
];

/// A generated report, in the shape of the `reports` columns callers store.
#[derive(Debug, Clone)]
pub struct GeneratedReport {
    /// `declarant_profile`.
    pub declarant_profile: &'static str,
    /// `occupant_profile`: the declarant when they live there.
    pub occupant_profile: Option<&'static str>,
    pub occupant_first_name: &'static str,
    pub occupant_last_name: &'static str,
    /// Set for third parties.
    pub declarant_first_name: Option<&'static str>,
    pub declarant_last_name: Option<&'static str>,
    /// `+336…` (E.164).
    pub occupant_phone: String,
    pub landlord_name: &'static str,
    /// `appartement` | `maison`.
    pub dwelling_type: &'static str,
    pub dwelling_surface: f64,
    pub dwelling_rooms: u16,
    pub occupants: u16,
    pub children_under_6: bool,
    pub housing_allowance: Option<bool>,
    pub is_public_housing: Option<bool>,
    /// `procedure_insurer_contacted`; `None` for "don't know".
    pub insurer_contacted: Option<InsurerContacted>,
    /// `dwelling_has_dpe`.
    pub has_dpe: Option<bool>,
    /// `dwelling_dpe_class`, when the DPE is known.
    pub dpe_class: Option<char>,
    /// Number and street.
    pub address_line: String,
    /// The declarant's message.
    pub details: &'static str,
    /// Slugs of the ticked defects (before derived ones).
    pub defects: Vec<String>,
    /// The set S to store in `report_defects`: (precision id, slug), the
    /// derived overcrowding precision included.
    pub precisions: Vec<(u32, String)>,
    /// Score and automatic qualifications of [`Self::scoring_facts`].
    pub scoring: Scoring,
}

impl GeneratedReport {
    /// The scoring facts, read from the stored fields only, as
    /// `db::scoring::load_facts` reads them back.
    pub fn scoring_facts(&self) -> ReportFacts {
        ReportFacts {
            defects: self.defects.clone(),
            input: ScoringInput {
                child_under_6: self.children_under_6,
                insurer_contacted: self.insurer_contacted,
                occupants: Some(u32::from(self.occupants)),
                surface: Some(self.dwelling_surface),
                rooms: Some(u32::from(self.dwelling_rooms)),
                allocataire: self.housing_allowance == Some(true),
                dpe: DpeFacts {
                    has_dpe: self.has_dpe,
                    class: self.dpe_class,
                    ..DpeFacts::default()
                },
            },
        }
    }
}

/// Draws one report.
pub fn report(rng: &mut impl Rng, catalogue: &Catalogue, scale: &Scale) -> GeneratedReport {
    let declarant_profile = PROFILES.choose(rng).copied().unwrap_or("locataire");
    let occupant_first_name = names::first_name(rng);
    let occupant_last_name = names::surname(rng, scale.surnames);
    let third_party =
        declarant_profile.starts_with("tiers") || declarant_profile == "service_secours";
    let declarant_first_name = third_party.then(|| names::first_name(rng));
    let declarant_last_name = third_party.then(|| names::surname(rng, scale.surnames));

    let how_many = rng.random_range(scale.defects.0..=scale.defects.1);
    let defects: Vec<String> = catalogue
        .pickable
        .choose_multiple(rng, how_many)
        .cloned()
        .collect();
    let has_dpe = [Some(true), Some(false), None]
        .choose(rng)
        .copied()
        .flatten();
    let mut generated = GeneratedReport {
        declarant_profile,
        occupant_profile: match declarant_profile {
            "locataire" | "bailleur_occupant" => Some(declarant_profile),
            _ => None,
        },
        occupant_first_name,
        occupant_last_name,
        declarant_first_name,
        declarant_last_name,
        occupant_phone: format!("+336{:08}", rng.random_range(0..100_000_000)),
        landlord_name: names::LANDLORDS.choose(rng).copied().unwrap_or("SCI"),
        dwelling_type: if rng.random_bool(0.75) {
            "appartement"
        } else {
            "maison"
        },
        dwelling_surface: f64::from(rng.random_range(scale.surface.0..scale.surface.1)),
        dwelling_rooms: rng.random_range(scale.rooms.0..scale.rooms.1),
        occupants: rng.random_range(scale.occupants.0..scale.occupants.1),
        children_under_6: rng.random_bool(0.25),
        housing_allowance: Some(rng.random_bool(0.5)),
        is_public_housing: [Some(true), Some(false), Some(false), None]
            .choose(rng)
            .copied()
            .flatten(),
        insurer_contacted: [
            Some(InsurerContacted::Oui),
            Some(InsurerContacted::Non),
            Some(InsurerContacted::PasAssuranceLogement),
            None,
        ]
        .choose(rng)
        .copied()
        .flatten(),
        has_dpe,
        dpe_class: has_dpe.filter(|&yes| yes).and_then(|_| {
            ['A', 'B', 'C', 'D', 'E', 'F', 'G', 'G']
                .choose(rng)
                .copied()
        }),
        address_line: format!(
            "{} {}",
            rng.random_range(1..200),
            names::STREETS.choose(rng).copied().unwrap_or("rue")
        ),
        details: names::DETAILS.choose(rng).copied().unwrap_or(""),
        defects,
        precisions: Vec::new(),
        scoring: scoring::compute(&[], &ScoringInput::default()),
    };
    let facts = generated.scoring_facts();
    generated.precisions = facts
        .precision_slugs()
        .into_iter()
        .filter_map(|slug| Some((catalogue.id_of(&slug)?, slug)))
        .collect();
    generated.scoring = scoring::assess(&facts, |slug| catalogue.weights(slug));
    generated
}

#[cfg(test)]
pub(crate) mod tests {
    use rand::{SeedableRng, rngs::StdRng};

    use super::*;
    use crate::domain::report::scoring::{
        Qualification, SUROCCUPATION_ALLOCATAIRE, SUROCCUPATION_NON_ALLOCATAIRE, Zone,
    };

    /// A small taxonomy: one precision per qualification, both derived
    /// overcrowding precisions and an emergency-services one.
    pub(crate) fn catalogue() -> Catalogue {
        use Qualification as Q;
        let rows: [(&str, Zone, f64, &[Qualification]); 7] = [
            (
                "desordres_batiment_securite_toit",
                Zone::Batiment,
                6.0,
                &[Q::NonDecence],
            ),
            (
                "desordres_logement_humidite_fuite_oui",
                Zone::Logement,
                0.0,
                &[Q::Assurantiel],
            ),
            (
                "desordres_logement_chauffage_ko",
                Zone::Logement,
                1.0,
                &[Q::NonDecenceEnergetique],
            ),
            (
                "desordres_logement_bruit_voisins",
                Zone::Logement,
                1.0,
                &[Q::Rsd],
            ),
            (
                SUROCCUPATION_ALLOCATAIRE,
                Zone::Logement,
                0.0,
                &[Q::Insalubrite],
            ),
            (
                SUROCCUPATION_NON_ALLOCATAIRE,
                Zone::Logement,
                0.0,
                &[Q::Insalubrite],
            ),
            ("desordres_service_secours_x", Zone::Batiment, 0.0, &[]),
        ];
        Catalogue::new(
            (1..)
                .zip(rows)
                .map(|(id, (slug, zone, coef, tags))| PrecisionRow {
                    id,
                    precision: Precision {
                        slug: slug.to_owned(),
                        zone,
                        coef,
                        is_danger: false,
                        is_insalubrite: false,
                        is_suroccupation: slug.contains("suroccupation"),
                        qualifications: tags.to_vec(),
                    },
                })
                .collect(),
        )
    }

    /// The demo seed and the benchmark both draw through [`report`]: for
    /// each scale, what is stored scores to what was generated through the
    /// one scoring path, derived overcrowding included, and no derived or
    /// emergency-services precision is ever ticked.
    #[test]
    fn demo_and_national_reports_score_their_stored_facts_through_assess() {
        let catalogue = catalogue();
        for scale in [Scale::DEMO, Scale::NATIONAL] {
            let mut rng = StdRng::seed_from_u64(3);
            let mut overcrowded = 0;
            for _ in 0..500 {
                let r = report(&mut rng, &catalogue, &scale);
                let facts = r.scoring_facts();
                assert_eq!(r.scoring, scoring::assess(&facts, |s| catalogue.weights(s)));
                let slugs: Vec<&str> = r.precisions.iter().map(|(_, s)| s.as_str()).collect();
                assert_eq!(slugs, facts.precision_slugs());
                assert!(
                    r.defects
                        .iter()
                        .all(|d| !d.contains("composition") && !d.contains("service_secours"))
                );
                if slugs.iter().any(|s| s.contains("suroccupation")) {
                    overcrowded += 1;
                    assert!(
                        r.scoring
                            .qualifications
                            .iter()
                            .any(|q| q.qualification == Qualification::Suroccupation)
                    );
                }
                assert_eq!(r.dpe_class.is_some(), r.has_dpe == Some(true));
            }
            assert!(overcrowded > 0, "some households are overcrowded");
        }
    }

    #[test]
    fn the_same_seed_draws_the_same_reports() {
        let catalogue = catalogue();
        let draw = || {
            let mut rng = StdRng::seed_from_u64(11);
            (0..20)
                .map(|_| report(&mut rng, &catalogue, &Scale::NATIONAL))
                .map(|r| {
                    (
                        r.occupant_last_name,
                        r.address_line,
                        r.scoring.score.to_bits(),
                    )
                })
                .collect::<Vec<_>>()
        };
        assert_eq!(draw(), draw());
    }
}
