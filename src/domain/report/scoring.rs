//! Severity score ("criticité") and suspected qualifications of a report, as
//! specified in docs/scoring.md (Histologe's current "v2" désordres model).
//!
//! The caller (the database layer) loads the selected defect precisions of a
//! report from `defect_precisions`, adds the precisions derived from housing
//! facts (see [`overcrowding_precision`] for overcrowding), then calls
//! [`compute`] with the report facts gathered in a [`ScoringInput`]. The result
//! is a [`Scoring`]: the unrounded score, the two zone scores and the
//! automatic (`_check` and NDE) qualifications, in the order docs/scoring.md §2.7
//! gives. Archiving stale records and keeping post-visit records is the
//! caller's job: this module only says what the automatic records should be.
//!
//! Pure rules: no I/O, no framework types.

use std::collections::HashSet;

/// Denominator of the building score. Hard-coded, not computed at run time,
/// so that scores stay comparable with Histologe's; it still equals the sum of
/// each building critère's highest precision coef (a unit test checks that).
pub const MAX_BATIMENT: f64 = 84.0;

/// Denominator of the dwelling score. Hard-coded like [`MAX_BATIMENT`]; it
/// matches no aggregate of today's data, so the dwelling score can exceed 100
/// and only the final cap hides it (docs/scoring.md §1.3).
pub const MAX_LOGEMENT: f64 = 102.0;

/// Factor applied when a child under 6 lives in the dwelling.
const CHILD_FACTOR: f64 = 1.1;

/// Upper bound of the final score.
const SCORE_CAP: f64 = 100.0;

/// Primary energy consumption (kWh/m²/year) above which the dwelling is not
/// decent (strict comparison).
const NDE_CONSUMPTION_LIMIT: f64 = 450.0;

/// DPE made before this year measured consumption differently (annual totals).
const DPE_REFORM_YEAR: i32 = 2023;

/// Derived precision added when an allocataire household lacks surface.
pub const SUROCCUPATION_ALLOCATAIRE: &str =
    "desordres_type_composition_logement_suroccupation_allocataire";

/// Derived precision added when a non-allocataire household lacks rooms.
pub const SUROCCUPATION_NON_ALLOCATAIRE: &str =
    "desordres_type_composition_logement_suroccupation_non_allocataire";

/// The scoring zone of a precision, inherited from its critère.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Zone {
    /// The building (`BATIMENT`): scored over [`MAX_BATIMENT`].
    Batiment,
    /// The dwelling (`LOGEMENT`): scored over [`MAX_LOGEMENT`].
    Logement,
}

impl Zone {
    /// Reads `batiment` / `logement` (the `defect_criteria.zone` column) or the
    /// Histologe upper-case names; `None` for anything else.
    pub fn parse(s: &str) -> Option<Self> {
        match s.trim().to_ascii_lowercase().as_str() {
            "batiment" => Some(Self::Batiment),
            "logement" => Some(Self::Logement),
            _ => None,
        }
    }

    /// The lowercase code stored in the database.
    pub fn code(self) -> &'static str {
        match self {
            Self::Batiment => "batiment",
            Self::Logement => "logement",
        }
    }
}

/// A qualification (kind of procedure) a report can be suspected of.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Qualification {
    /// Non-décence: the dwelling breaks the decency decree.
    NonDecence,
    /// Breach of the règlement sanitaire départemental.
    Rsd,
    /// Incurie: the occupant keeps the dwelling dirty.
    Salete,
    /// Insalubrité (public health code).
    Insalubrite,
    /// Mise en sécurité / péril: the structure threatens safety.
    MiseEnSecuritePeril,
    /// A matter for the home insurance (e.g. a water leak).
    Assurantiel,
    /// Immediate danger for the occupants.
    Danger,
    /// Overcrowding.
    Suroccupation,
    /// Energy non-decency (NDE).
    NonDecenceEnergetique,
}

impl Qualification {
    /// Every qualification this module knows.
    pub const ALL: [Self; 9] = [
        Self::NonDecence,
        Self::Rsd,
        Self::Salete,
        Self::Insalubrite,
        Self::MiseEnSecuritePeril,
        Self::Assurantiel,
        Self::Danger,
        Self::Suroccupation,
        Self::NonDecenceEnergetique,
    ];

    /// Reads a lowercase code (`non_decence`, as in the `qualifications` JSON
    /// of `defect_precisions`) or a Histologe name (`NON_DECENCE`, as in
    /// `DesordrePrecision.yml`). Unknown codes give `None`, so a caller can
    /// skip tags that play no part in scoring.
    pub fn parse(s: &str) -> Option<Self> {
        let code = s.trim().to_ascii_lowercase();
        Self::ALL.into_iter().find(|q| q.code() == code)
    }

    /// The lowercase `snake_case` code used for storage.
    pub fn code(self) -> &'static str {
        match self {
            Self::NonDecence => "non_decence",
            Self::Rsd => "rsd",
            Self::Salete => "salete",
            Self::Insalubrite => "insalubrite",
            Self::MiseEnSecuritePeril => "mise_en_securite_peril",
            Self::Assurantiel => "assurantiel",
            Self::Danger => "danger",
            Self::Suroccupation => "suroccupation",
            Self::NonDecenceEnergetique => "non_decence_energetique",
        }
    }

    /// A French label for display.
    pub fn label(self) -> &'static str {
        match self {
            Self::NonDecence => "Non-décence",
            Self::Rsd => "Règlement sanitaire départemental",
            Self::Salete => "Incurie / saleté",
            Self::Insalubrite => "Insalubrité",
            Self::MiseEnSecuritePeril => "Mise en sécurité / péril",
            Self::Assurantiel => "Assurantiel",
            Self::Danger => "Danger pour les occupants",
            Self::Suroccupation => "Suroccupation",
            Self::NonDecenceEnergetique => "Non-décence énergétique",
        }
    }
}

/// The status of a qualification record. Automatic rules only produce the
/// `*Check` and `Nde*` statuses; the `*Averee` ones come from visits and
/// orders, and `Archived` from recomputation (docs/scoring.md §2.6, §2.7).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum QualificationStatus {
    NonDecenceCheck,
    NonDecenceAveree,
    RsdCheck,
    RsdAveree,
    SaleteCheck,
    SaleteAveree,
    InsalubriteCheck,
    InsalubriteManquementCheck,
    InsalubriteAveree,
    MiseEnSecuritePerilCheck,
    MiseEnSecuritePerilAveree,
    AssurantielCheck,
    DangerCheck,
    SuroccupationCheck,
    NdeCheck,
    NdeAveree,
    NdeOk,
    Archived,
}

impl QualificationStatus {
    /// Every status, for parsing and listings.
    pub const ALL: [Self; 18] = [
        Self::NonDecenceCheck,
        Self::NonDecenceAveree,
        Self::RsdCheck,
        Self::RsdAveree,
        Self::SaleteCheck,
        Self::SaleteAveree,
        Self::InsalubriteCheck,
        Self::InsalubriteManquementCheck,
        Self::InsalubriteAveree,
        Self::MiseEnSecuritePerilCheck,
        Self::MiseEnSecuritePerilAveree,
        Self::AssurantielCheck,
        Self::DangerCheck,
        Self::SuroccupationCheck,
        Self::NdeCheck,
        Self::NdeAveree,
        Self::NdeOk,
        Self::Archived,
    ];

    /// Reads a stored code (`insalubrite_check`) or a Histologe name
    /// (`INSALUBRITE_CHECK`).
    pub fn parse(s: &str) -> Option<Self> {
        let code = s.trim().to_ascii_lowercase();
        Self::ALL.into_iter().find(|st| st.code() == code)
    }

    /// The lowercase `snake_case` code used for storage.
    pub fn code(self) -> &'static str {
        match self {
            Self::NonDecenceCheck => "non_decence_check",
            Self::NonDecenceAveree => "non_decence_averee",
            Self::RsdCheck => "rsd_check",
            Self::RsdAveree => "rsd_averee",
            Self::SaleteCheck => "salete_check",
            Self::SaleteAveree => "salete_averee",
            Self::InsalubriteCheck => "insalubrite_check",
            Self::InsalubriteManquementCheck => "insalubrite_manquement_check",
            Self::InsalubriteAveree => "insalubrite_averee",
            Self::MiseEnSecuritePerilCheck => "mise_en_securite_peril_check",
            Self::MiseEnSecuritePerilAveree => "mise_en_securite_peril_averee",
            Self::AssurantielCheck => "assurantiel_check",
            Self::DangerCheck => "danger_check",
            Self::SuroccupationCheck => "suroccupation_check",
            Self::NdeCheck => "nde_check",
            Self::NdeAveree => "nde_averee",
            Self::NdeOk => "nde_ok",
            Self::Archived => "archived",
        }
    }

    /// A French label for display.
    pub fn label(self) -> &'static str {
        match self {
            Self::NonDecenceCheck => "Non-décence suspectée",
            Self::NonDecenceAveree => "Non-décence constatée",
            Self::RsdCheck => "Infraction au RSD suspectée",
            Self::RsdAveree => "Infraction au RSD constatée",
            Self::SaleteCheck => "Incurie suspectée",
            Self::SaleteAveree => "Incurie constatée",
            Self::InsalubriteCheck => "Insalubrité suspectée",
            Self::InsalubriteManquementCheck => "Manquement à la salubrité suspecté",
            Self::InsalubriteAveree => "Insalubrité constatée",
            Self::MiseEnSecuritePerilCheck => "Mise en sécurité / péril à envisager",
            Self::MiseEnSecuritePerilAveree => "Mise en sécurité / péril constaté",
            Self::AssurantielCheck => "Sinistre à déclarer à l’assurance",
            Self::DangerCheck => "Danger pour les occupants suspecté",
            Self::SuroccupationCheck => "Suroccupation suspectée",
            Self::NdeCheck => "Non-décence énergétique à vérifier",
            Self::NdeAveree => "Non-décence énergétique constatée",
            Self::NdeOk => "Performance énergétique suffisante",
            Self::Archived => "Archivée",
        }
    }

    /// The qualification this status belongs to (`None` for `Archived`, which
    /// any qualification can take).
    pub fn qualification(self) -> Option<Qualification> {
        use Qualification as Q;
        Some(match self {
            Self::NonDecenceCheck | Self::NonDecenceAveree => Q::NonDecence,
            Self::RsdCheck | Self::RsdAveree => Q::Rsd,
            Self::SaleteCheck | Self::SaleteAveree => Q::Salete,
            Self::InsalubriteCheck | Self::InsalubriteManquementCheck | Self::InsalubriteAveree => {
                Q::Insalubrite
            }
            Self::MiseEnSecuritePerilCheck | Self::MiseEnSecuritePerilAveree => {
                Q::MiseEnSecuritePeril
            }
            Self::AssurantielCheck => Q::Assurantiel,
            Self::DangerCheck => Q::Danger,
            Self::SuroccupationCheck => Q::Suroccupation,
            Self::NdeCheck | Self::NdeAveree | Self::NdeOk => Q::NonDecenceEnergetique,
            Self::Archived => return None,
        })
    }
}

/// A selected defect precision, with the facts of `defect_precisions` that
/// scoring needs.
#[derive(Debug, Clone, PartialEq)]
pub struct Precision {
    /// The precision slug (`defect_precisions.code`).
    pub slug: String,
    /// The zone of its critère.
    pub zone: Zone,
    /// Its severity weight (≥ 0, may be fractional).
    pub coef: f64,
    /// Gives a DANGER suspicion at any score.
    pub is_danger: bool,
    /// Makes INSALUBRITE a check (not a mere "manquement") at low scores.
    pub is_insalubrite: bool,
    /// Gives a SUROCCUPATION suspicion (the derived overcrowding precisions).
    pub is_suroccupation: bool,
    /// Its qualification tags.
    pub qualifications: Vec<Qualification>,
}

/// Answer to "has the insurer been contacted?".
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum InsurerContacted {
    /// Contacted.
    Oui,
    /// Not contacted.
    Non,
    /// Does not know.
    Nsp,
    /// The occupant has no home insurance.
    PasAssuranceLogement,
}

impl InsurerContacted {
    /// Reads `oui`, `non`, `nsp` (or `ne_sait_pas`) and `pas_assurance_logement`.
    pub fn parse(s: &str) -> Option<Self> {
        match s.trim().to_ascii_lowercase().as_str() {
            "oui" => Some(Self::Oui),
            "non" => Some(Self::Non),
            "nsp" | "ne_sait_pas" => Some(Self::Nsp),
            "pas_assurance_logement" => Some(Self::PasAssuranceLogement),
            _ => None,
        }
    }

    /// The lowercase code used for storage.
    pub fn code(self) -> &'static str {
        match self {
            Self::Oui => "oui",
            Self::Non => "non",
            Self::Nsp => "nsp",
            Self::PasAssuranceLogement => "pas_assurance_logement",
        }
    }
}

/// When the DPE (energy performance diagnosis) was made, as the public form
/// asks it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum DpePeriod {
    /// Made before 1 January 2023 (consumption possibly an annual total).
    Before2023,
    /// Made in 2023 or later (consumption per m²).
    Post2023,
}

impl DpePeriod {
    /// Reads `before2023` / `post2023`; anything else (`nsp`) is unknown.
    pub fn parse(s: &str) -> Option<Self> {
        match s.trim().to_ascii_lowercase().as_str() {
            "before2023" => Some(Self::Before2023),
            "post2023" => Some(Self::Post2023),
            _ => None,
        }
    }

    /// The code used for storage.
    pub fn code(self) -> &'static str {
        match self {
            Self::Before2023 => "before2023",
            Self::Post2023 => "post2023",
        }
    }
}

/// The unit of an energy consumption figure.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ConsumptionUnit {
    /// kWh per m² per year (what DPE made since 2023 show).
    KwhPerM2Year,
    /// kWh per year for the whole dwelling (older DPE).
    KwhPerYear,
}

impl ConsumptionUnit {
    /// Reads `kwh_m2_year` / `kwh_year`.
    pub fn parse(s: &str) -> Option<Self> {
        match s.trim().to_ascii_lowercase().as_str() {
            "kwh_m2_year" => Some(Self::KwhPerM2Year),
            "kwh_year" => Some(Self::KwhPerYear),
            _ => None,
        }
    }

    /// The code used for storage.
    pub fn code(self) -> &'static str {
        match self {
            Self::KwhPerM2Year => "kwh_m2_year",
            Self::KwhPerYear => "kwh_year",
        }
    }
}

/// An energy consumption figure entered in the back office NDE editor.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Consumption {
    /// The figure as entered.
    pub value: f64,
    /// What the figure measures.
    pub unit: ConsumptionUnit,
}

/// What is known of the dwelling's DPE (docs/scoring.md §2.5).
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct DpeFacts {
    /// `Some(true)` for `oui`, `Some(false)` for `non`, `None` for `nsp` or no answer.
    pub has_dpe: Option<bool>,
    /// The period the public form asks; `None` (or `nsp`) counts as 2023+.
    pub period: Option<DpePeriod>,
    /// The year of a DPE date entered in the back office; wins over `period`.
    pub year: Option<i32>,
    /// The declared energy class, `'A'`..`'G'`.
    pub class: Option<char>,
    /// The consumption, when the back office entered one.
    pub consumption: Option<Consumption>,
}

impl DpeFacts {
    /// Whether the DPE predates the 2023 method. Unknown counts as 2023+,
    /// because then no conversion of the consumption can be justified.
    pub fn is_before_2023(&self) -> bool {
        match self.year {
            Some(year) => year < DPE_REFORM_YEAR,
            None => self.period == Some(DpePeriod::Before2023),
        }
    }

    /// Whether the declared class is G (which alone opens an NDE record).
    pub fn is_class_g(&self) -> bool {
        self.class.is_some_and(|c| c.eq_ignore_ascii_case(&'G'))
    }
}

/// The report facts the rules need, besides the selected precisions.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct ScoringInput {
    /// `composition_logement_enfants` is exactly `oui`: a child under 6
    /// lives there (the ×1.1 factor).
    pub child_under_6: bool,
    /// The answer on the insurer; `None` when not asked or unanswered.
    pub insurer_contacted: Option<InsurerContacted>,
    /// Number of occupants.
    pub occupants: Option<u32>,
    /// Surface in m²; 0 counts as unknown.
    pub surface: Option<f64>,
    /// Number of living rooms.
    pub rooms: Option<u32>,
    /// `logement_social_allocation` is `oui` (the household receives housing
    /// allowance); `non`, `nsp` and unknown are `false`.
    pub allocataire: bool,
    /// DPE facts, for energy non-decency.
    pub dpe: DpeFacts,
}

impl ScoringInput {
    /// The surface when it is usable: known, finite and positive. A stored 0
    /// means "not given" (docs/scoring.md §2.8), not a zero-size dwelling.
    fn known_surface(&self) -> Option<f64> {
        self.surface.filter(|s| s.is_finite() && *s > 0.0)
    }
}

/// One automatic qualification record.
#[derive(Debug, Clone, PartialEq)]
pub struct SuspectedQualification {
    /// What the report is suspected of.
    pub qualification: Qualification,
    /// How far the suspicion goes.
    pub status: QualificationStatus,
    /// Slugs of the selected precisions that led to it (may be empty, e.g. an
    /// INSALUBRITE suspicion coming from the score alone).
    pub precision_slugs: Vec<String>,
}

/// The result of [`compute`].
#[derive(Debug, Clone, PartialEq)]
pub struct Scoring {
    /// The final score: unrounded, child factor applied, capped at 100.
    pub score: f64,
    /// Building score, uncapped, without child factor.
    pub score_batiment: f64,
    /// Dwelling score, uncapped (can exceed 100), without child factor.
    pub score_logement: f64,
    /// The automatic qualifications, in docs/scoring.md §2.7 order.
    pub qualifications: Vec<SuspectedQualification>,
}

/// Score bands of docs/scoring.md §2.2, compared on the final unrounded score.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Band {
    /// 0 ≤ s ≤ 10
    A,
    /// 10 < s ≤ 30
    B,
    /// 30 < s ≤ 50
    C,
    /// s > 50
    D,
}

impl Band {
    fn of(score: f64) -> Self {
        // Scores are never negative (coefs ≥ 0); should one be, it belongs
        // with the lowest band rather than the highest.
        if score <= 10.0 {
            Self::A
        } else if score <= 30.0 {
            Self::B
        } else if score <= 50.0 {
            Self::C
        } else {
            Self::D
        }
    }
}

/// Computes the score and the automatic qualifications of a report.
///
/// `precisions` is the set S of selected precisions, derived ones included.
/// A slug given twice counts once.
pub fn compute(precisions: &[Precision], input: &ScoringInput) -> Scoring {
    let selected = dedupe(precisions);

    // Sum in the given order and keep docs/scoring.md's operation order, so that
    // f64 results match Histologe's bit for bit.
    let zone_sum = |zone: Zone| -> f64 {
        selected
            .iter()
            .filter(|p| p.zone == zone)
            .map(|p| p.coef)
            .sum()
    };
    let score_batiment = zone_sum(Zone::Batiment) / MAX_BATIMENT * 100.0;
    let score_logement = zone_sum(Zone::Logement) / MAX_LOGEMENT * 100.0;
    // A plain mean, even when one zone has no defect.
    let mut score = (score_batiment + score_logement) / 2.0;
    if input.child_under_6 {
        score *= CHILD_FACTOR;
    }
    if score > SCORE_CAP {
        score = SCORE_CAP;
    }

    Scoring {
        score,
        score_batiment,
        score_logement,
        qualifications: qualify(&selected, score, input),
    }
}

/// Everything scoring reads about one report, as stored: the precisions its
/// answers selected (`report_defects`) and the facts of [`ScoringInput`]
/// (`reports` columns). Built from a submission on creation
/// (`Submission::scoring_facts`) and from the database for a stored report
/// (`db::scoring::load_facts`), so that every path scores the same facts
/// (docs/scoring.md §2.7).
#[derive(Debug, Clone, PartialEq, Default)]
pub struct ReportFacts {
    /// Slugs of the selected precisions, composition-derived ones included.
    /// Overcrowding slugs found here are ignored: [`ReportFacts::precision_slugs`]
    /// derives overcrowding again from the household.
    pub defects: Vec<String>,
    /// The report facts besides the precisions.
    pub input: ScoringInput,
}

impl ReportFacts {
    /// The set S as slugs (docs/scoring.md §1.4): the defects, each once and
    /// without any stale overcrowding precision, then the overcrowding
    /// precision the household calls for today. This is what
    /// `report_defects` holds.
    pub fn precision_slugs(&self) -> Vec<String> {
        let mut seen = HashSet::new();
        let mut out: Vec<String> = self
            .defects
            .iter()
            .filter(|s| !is_overcrowding(s) && seen.insert(s.as_str()))
            .cloned()
            .collect();
        if let Some(slug) = overcrowding_precision(&self.input) {
            out.push(slug.to_owned());
        }
        out
    }
}

/// Whether a slug is one of the two derived overcrowding precisions.
fn is_overcrowding(slug: &str) -> bool {
    slug == SUROCCUPATION_ALLOCATAIRE || slug == SUROCCUPATION_NON_ALLOCATAIRE
}

/// The one scoring path: score and automatic qualifications of a report from
/// its complete facts (docs/scoring.md §2.7). Submission, back-office edit,
/// demo seed and benchmark data all come here.
///
/// `weights` gives the taxonomy facts of a slug (`defect_precisions`); a slug
/// it does not know is dropped, as the form drops slugs the taxonomy does
/// not own. S is summed in slug order, whatever order the slugs were stored
/// in, so that recomputing a stored report gives the very same f64 as its
/// creation did.
pub fn assess<'a>(facts: &ReportFacts, weights: impl Fn(&str) -> Option<&'a Precision>) -> Scoring {
    let mut slugs = facts.precision_slugs();
    slugs.sort_unstable();
    let selected: Vec<Precision> = slugs
        .iter()
        .filter_map(|slug| weights(slug).cloned())
        .collect();
    compute(&selected, &facts.input)
}

/// S is a set: keep the first occurrence of each slug, in the given order.
fn dedupe(precisions: &[Precision]) -> Vec<&Precision> {
    let mut seen = HashSet::new();
    precisions
        .iter()
        .filter(|p| seen.insert(p.slug.as_str()))
        .collect()
}

/// docs/scoring.md §2.1–2.5, in the §2.7 order.
fn qualify(
    selected: &[&Precision],
    score: f64,
    input: &ScoringInput,
) -> Vec<SuspectedQualification> {
    use Qualification as Q;
    use QualificationStatus as St;

    let slugs_where = |keep: &dyn Fn(&Precision) -> bool| -> Vec<String> {
        selected
            .iter()
            .filter(|p| keep(p))
            .map(|p| p.slug.clone())
            .collect()
    };
    let tagged = |q: Qualification| slugs_where(&|p| p.qualifications.contains(&q));
    let record = |qualification, status, precision_slugs| SuspectedQualification {
        qualification,
        status,
        precision_slugs,
    };

    let mut out = Vec::new();

    // §2.1: these tags act at any score.
    for (q, status) in [
        (Q::NonDecence, St::NonDecenceCheck),
        (Q::Rsd, St::RsdCheck),
        (Q::Salete, St::SaleteCheck),
    ] {
        let slugs = tagged(q);
        if !slugs.is_empty() {
            out.push(record(q, status, slugs));
        }
    }

    // §2.2: INSALUBRITE, ASSURANTIEL and PERIL depend on the band. The
    // INSALUBRITE tag only chooses the linked precisions; the is_insalubrite
    // flag is what makes the suspicion mandatory at low scores.
    let insalubrite_flag = selected.iter().any(|p| p.is_insalubrite);
    let insalubrite = |status| record(Q::Insalubrite, status, tagged(Q::Insalubrite));
    match Band::of(score) {
        Band::A => {
            if insalubrite_flag {
                out.push(insalubrite(St::InsalubriteCheck));
            }
            let assurantiel = tagged(Q::Assurantiel);
            // Only once the insurer has been contacted is there nothing left
            // to suggest; "no", "don't know", "no insurance" and no answer
            // all keep the suspicion.
            if !assurantiel.is_empty() && input.insurer_contacted != Some(InsurerContacted::Oui) {
                out.push(record(Q::Assurantiel, St::AssurantielCheck, assurantiel));
            }
        }
        Band::B => out.push(insalubrite(if insalubrite_flag {
            St::InsalubriteCheck
        } else {
            St::InsalubriteManquementCheck
        })),
        Band::C => out.push(insalubrite(St::InsalubriteCheck)),
        Band::D => {
            let peril = tagged(Q::MiseEnSecuritePeril);
            if !peril.is_empty() {
                out.push(record(
                    Q::MiseEnSecuritePeril,
                    St::MiseEnSecuritePerilCheck,
                    peril,
                ));
            }
            out.push(insalubrite(St::InsalubriteCheck));
        }
    }

    // §2.4: overcrowding acts through its derived precisions.
    let suroccupation = slugs_where(&|p| p.is_suroccupation);
    if !suroccupation.is_empty() {
        out.push(record(
            Q::Suroccupation,
            St::SuroccupationCheck,
            suroccupation,
        ));
    }

    // §2.3
    let danger = slugs_where(&|p| p.is_danger);
    if !danger.is_empty() {
        out.push(record(Q::Danger, St::DangerCheck, danger));
    }

    // §2.5: a class G alone is enough to open the record.
    let nde = tagged(Q::NonDecenceEnergetique);
    if !nde.is_empty() || input.dpe.is_class_g() {
        let status = nde_status(&input.dpe, input.known_surface(), !nde.is_empty());
        out.push(record(Q::NonDecenceEnergetique, status, nde));
    }

    out
}

/// The derived overcrowding precision a household calls for, if any
/// (docs/scoring.md §2.4): [`SUROCCUPATION_ALLOCATAIRE`] or
/// [`SUROCCUPATION_NON_ALLOCATAIRE`]. The caller adds it to the selected
/// precisions before [`compute`], and removes both slugs when this gives
/// `None`.
pub fn overcrowding_precision(input: &ScoringInput) -> Option<&'static str> {
    // An empty dwelling is never overcrowded, whatever else is known.
    let occupants = input.occupants.filter(|&n| n > 0)?;
    if input.allocataire {
        // CAF rule: minimum surface per household size; rooms do not matter.
        let surface = input.known_surface()?;
        (surface < allocataire_min_surface(occupants)).then_some(SUROCCUPATION_ALLOCATAIRE)
    } else {
        // More than two occupants per living room; surface does not matter.
        let rooms = input.rooms.filter(|&r| r > 0)?;
        (u64::from(occupants) > 2 * u64::from(rooms)).then_some(SUROCCUPATION_NON_ALLOCATAIRE)
    }
}

/// Smallest surface (m²) an allocataire household of `occupants` people may
/// live in: 9 for one, 16 for two, then 9 more per extra person.
fn allocataire_min_surface(occupants: u32) -> f64 {
    match occupants {
        0 | 1 => 9.0,
        n => 16.0 + 9.0 * f64::from(n - 2),
    }
}

/// The status of an energy non-decency record (docs/scoring.md §2.5, first match
/// wins). `surface` is the dwelling's known surface (m²); `has_nde_precision`
/// says whether a NON_DECENCE_ENERGETIQUE-tagged precision is linked. Public
/// because the back-office NDE editor recomputes this status alone.
pub fn nde_status(
    dpe: &DpeFacts,
    surface: Option<f64>,
    has_nde_precision: bool,
) -> QualificationStatus {
    match dpe.has_dpe {
        None => return QualificationStatus::NdeCheck,
        // Without a DPE the dwelling cannot be let as decent.
        Some(false) => return QualificationStatus::NdeAveree,
        Some(true) => {}
    }

    // The consumption is stored as a whole number of kWh, hence the
    // truncation; a non-finite figure is no figure at all.
    let mut consumption = dpe
        .consumption
        .filter(|c| c.value.is_finite())
        .map(|c| (c.value.trunc(), c.unit));
    // Older DPE gave annual totals; bring them to the per-m² threshold's unit.
    if dpe.is_before_2023()
        && let Some((total, ConsumptionUnit::KwhPerYear)) = consumption
        && let Some(surface) = surface.filter(|s| s.is_finite() && *s > 0.0)
    {
        consumption = Some((total / surface, ConsumptionUnit::KwhPerM2Year));
    }
    let consumption = consumption.map(|(value, _)| value);

    if consumption.is_some_and(|c| c > NDE_CONSUMPTION_LIMIT) {
        return QualificationStatus::NdeAveree;
    }
    // Here a known consumption is ≤ 450. Without one, a record that only
    // exists because of defects (not class G) still needs a check.
    if !dpe.is_class_g() && (consumption.is_some() || !has_nde_precision) {
        return QualificationStatus::NdeOk;
    }
    QualificationStatus::NdeCheck
}

/// The score for display: two decimals, halves away from zero, French
/// decimal comma ("34,04").
pub fn score_display(score: f64) -> String {
    match round_2(score) {
        Some((negative, int, frac)) => {
            format!("{}{int},{frac}", if negative { "-" } else { "" })
        }
        None => score.to_string(),
    }
}

/// The score rounded to two decimals, halves away from zero, for storage in
/// a `DECIMAL(5,2)` column; agrees with [`score_display`].
pub fn score_rounded(score: f64) -> f64 {
    match round_2(score) {
        Some((negative, int, frac)) => {
            let magnitude: f64 = format!("{int}.{frac}").parse().unwrap_or(score.abs());
            if negative { -magnitude } else { magnitude }
        }
        None => score,
    }
}

/// Rounds to two decimals on the shortest decimal form of `x` (the one Rust
/// prints), not on its exact binary value: 2.675 is really
/// 2.67499999999999982236431605997495353221893310546875 in binary, yet people
/// (and PHP's `round`, and MySQL's DECIMAL conversion) expect 2.68. Returns
/// (negative, integer digits, two fraction digits), or `None` when `x` is not
/// finite.
fn round_2(x: f64) -> Option<(bool, String, String)> {
    if !x.is_finite() {
        return None;
    }
    // Display never uses exponent notation for f64, so this is plain digits.
    let repr = x.abs().to_string();
    let (int, frac) = repr.split_once('.').unwrap_or((repr.as_str(), ""));
    let frac = frac.as_bytes();
    let mut digits: Vec<u8> = int
        .bytes()
        .chain((0..2).map(|i| frac.get(i).copied().unwrap_or(b'0')))
        .map(|b| b - b'0')
        .collect();
    if frac.get(2).is_some_and(|&d| d >= b'5') {
        // Add one hundredth, carrying through nines.
        let mut carry = true;
        for d in digits.iter_mut().rev() {
            if *d == 9 {
                *d = 0;
            } else {
                *d += 1;
                carry = false;
                break;
            }
        }
        if carry {
            digits.insert(0, 1);
        }
    }
    let negative = x < 0.0 && digits.iter().any(|&d| d != 0);
    let text: String = digits.iter().map(|d| char::from(b'0' + d)).collect();
    let (int, frac) = text.split_at(text.len() - 2);
    Some((negative, int.to_owned(), frac.to_owned()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use QualificationStatus as St;
    use Zone::{Batiment as B, Logement as L};

    /// (slug, zone, coef, is_danger, is_insalubrite, is_suroccupation,
    /// qualification[]) of every precision the tests use, copied from
    /// `taxonomy-and-reference/DesordrePrecision.yml`, with the zone of the
    /// critère in `DesordreCritere.yml`. Tags are kept in the file's
    /// upper-case spelling, which also exercises [`Qualification::parse`].
    type Fact = (
        &'static str,
        Zone,
        f64,
        bool,
        bool,
        bool,
        &'static [&'static str],
    );

    #[rustfmt::skip]
    const FACTS: &[Fact] = &[
        ("desordres_batiment_proprete_interieur", B, 1.0, false, false, false, &["NON_DECENCE", "RSD"]),
        ("desordres_batiment_proprete_facades", B, 3.0, false, false, false, &["NON_DECENCE", "RSD"]),
        ("desordres_batiment_proprete_parties_communes", B, 2.0, false, false, false, &["RSD", "INSALUBRITE"]),
        ("desordres_batiment_proprete_local_poubelles", B, 3.0, false, false, false, &["NON_DECENCE", "RSD"]),
        ("desordres_batiment_eau_pas_eau_potable", B, 3.0, false, false, false, &["NON_DECENCE"]),
        ("desordres_batiment_eau_evacuation_KO", B, 3.0, false, false, false, &["NON_DECENCE", "RSD", "INSALUBRITE"]),
        ("desordres_batiment_eau_pas_eau_chaude", B, 2.0, false, false, false, &["RSD", "INSALUBRITE", "MISE_EN_SECURITE_PERIL"]),
        ("desordres_batiment_eau_pas_evacuation_eaux_pluie", B, 2.0, false, false, false, &["RSD", "INSALUBRITE"]),
        ("desordres_batiment_isolation_murs", B, 3.0, false, false, false, &["NON_DECENCE", "RSD", "INSALUBRITE"]),
        ("desordres_batiment_isolation_porte_fenetres", B, 2.0, false, false, false, &["NON_DECENCE", "RSD"]),
        ("desordres_batiment_isolation_dernier_etage_toit_dernier_etage", B, 3.0, false, false, false, &["NON_DECENCE", "RSD", "MISE_EN_SECURITE_PERIL"]),
        ("desordres_batiment_isolation_dernier_etage_toit_sous_combles", B, 3.0, false, false, false, &["NON_DECENCE", "RSD", "MISE_EN_SECURITE_PERIL"]),
        ("desordres_batiment_isolation_infiltration_eau_au_sol_non", B, 2.0, false, false, false, &["NON_DECENCE", "RSD"]),
        ("desordres_batiment_isolation_infiltration_eau_sous_sol", B, 3.0, false, false, false, &["NON_DECENCE", "RSD"]),
        ("desordres_batiment_maintenance_ascenseur", B, 6.0, false, false, false, &["RSD", "INSALUBRITE", "MISE_EN_SECURITE_PERIL"]),
        ("desordres_batiment_maintenance_petites_reparations", B, 1.0, false, false, false, &["NON_DECENCE", "RSD"]),
        ("desordres_batiment_nuisibles_cafards", B, 1.0, false, false, false, &["NON_DECENCE", "RSD", "INSALUBRITE"]),
        ("desordres_batiment_nuisibles_rongeurs", B, 1.0, false, false, false, &["NON_DECENCE", "RSD", "INSALUBRITE"]),
        ("desordres_batiment_nuisibles_punaises", B, 1.0, false, false, false, &["NON_DECENCE", "RSD", "INSALUBRITE"]),
        ("desordres_batiment_nuisibles_autres", B, 1.0, false, false, false, &["NON_DECENCE", "RSD", "INSALUBRITE"]),
        ("desordres_batiment_securite_sol_details_plancher_effondre", B, 6.0, true, false, false, &["NON_DECENCE", "RSD", "MISE_EN_SECURITE_PERIL"]),
        ("desordres_batiment_securite_elements_toit", B, 4.0, true, false, false, &["NON_DECENCE", "RSD", "MISE_EN_SECURITE_PERIL"]),
        ("desordres_batiment_securite_toit", B, 6.0, true, false, false, &["NON_DECENCE", "RSD", "MISE_EN_SECURITE_PERIL"]),
        ("desordres_batiment_securite_escalier_details_dangereux", B, 6.0, true, false, false, &["NON_DECENCE", "RSD", "MISE_EN_SECURITE_PERIL"]),
        ("desordres_batiment_securite_murs_fissures_details_mur_porteur_oui", B, 6.0, true, false, false, &["NON_DECENCE", "RSD", "MISE_EN_SECURITE_PERIL"]),
        ("desordres_batiment_securite_balcons", B, 6.0, true, false, false, &["NON_DECENCE", "RSD", "MISE_EN_SECURITE_PERIL"]),
        ("desordres_batiment_incendie_porte_coupe_feu", B, 1.0, true, false, false, &["INSALUBRITE", "MISE_EN_SECURITE_PERIL"]),
        ("desordres_batiment_incendie_odeur_gaz", B, 3.0, true, false, false, &["NON_DECENCE", "RSD", "MISE_EN_SECURITE_PERIL"]),
        ("desordres_batiment_accessibilite_friche", B, 1.0, false, false, false, &["RSD", "INSALUBRITE"]),
        ("desordres_batiment_accessibilite_eclairage", B, 1.0, false, false, false, &["RSD", "INSALUBRITE"]),
        ("desordres_batiment_accessibilite_acces_batiment", B, 1.0, false, false, false, &["RSD"]),
        ("desordres_batiment_bruit_exterieur", B, 1.0, false, false, false, &["RSD", "INSALUBRITE"]),
        ("desordres_batiment_bruit_interieur", B, 1.0, false, false, false, &["RSD", "INSALUBRITE"]),
        ("desordres_type_composition_logement_sous_combles", L, 24.0, false, true, false, &["INSALUBRITE"]),
        ("desordres_type_composition_logement_sous_sol", L, 24.0, false, true, false, &["INSALUBRITE"]),
        ("desordres_type_composition_logement_piece_unique_superficie", L, 3.0, false, true, false, &["NON_DECENCE", "RSD"]),
        ("desordres_type_composition_logement_plusieurs_pieces_aucune_piece_9", L, 3.0, false, false, false, &["NON_DECENCE", "RSD"]),
        ("desordres_type_composition_logement_cuisine_collective_oui", L, 0.0, false, false, false, &["NON_DECENCE"]),
        ("desordres_type_composition_logement_wc_cuisine_ensemble", L, 3.0, false, true, false, &["NON_DECENCE", "RSD", "INSALUBRITE"]),
        ("desordres_type_composition_logement_suroccupation_non_allocataire", L, 0.0, false, false, true, &["INSALUBRITE"]),
        ("desordres_type_composition_logement_suroccupation_allocataire", L, 0.0, false, false, true, &["INSALUBRITE"]),
        ("desordres_logement_aeration_aucune_aeration_pieces_salle_de_bain", L, 2.0, false, false, false, &["NON_DECENCE", "RSD", "MISE_EN_SECURITE_PERIL"]),
        ("desordres_logement_aeration_aucune_aeration_pieces_tout", L, 6.0, false, true, false, &["NON_DECENCE", "RSD", "MISE_EN_SECURITE_PERIL"]),
        ("desordres_logement_chauffage_details_fenetres_permeables_pieces_cuisine", L, 0.8, false, false, false, &["NON_DECENCE", "NON_DECENCE_ENERGETIQUE"]),
        ("desordres_logement_chauffage_details_fenetres_permeables_pieces_tout", L, 2.0, false, false, false, &["NON_DECENCE", "NON_DECENCE_ENERGETIQUE"]),
        ("desordres_logement_chauffage_details_difficultes_chauffage_pieces_piece_a_vivre", L, 0.5, false, false, false, &["NON_DECENCE", "NON_DECENCE_ENERGETIQUE"]),
        ("desordres_logement_chauffage_details_difficultes_chauffage_pieces_cuisine", L, 0.25, false, false, false, &["NON_DECENCE", "NON_DECENCE_ENERGETIQUE"]),
        ("desordres_logement_chauffage_details_difficultes_chauffage_pieces_tout", L, 1.0, false, false, false, &["NON_DECENCE", "NON_DECENCE_ENERGETIQUE"]),
        ("desordres_logement_chauffage_details_chauffage_KO_pieces_salle_de_bain", L, 0.25, false, false, false, &["NON_DECENCE", "RSD", "NON_DECENCE_ENERGETIQUE"]),
        ("desordres_logement_chauffage_details_chauffage_dangereux", L, 4.0, true, false, false, &["NON_DECENCE", "RSD"]),
        ("desordres_logement_humidite_piece_a_vivre_details_machine_non", L, 2.0, false, false, false, &["NON_DECENCE", "RSD"]),
        ("desordres_logement_humidite_piece_a_vivre_details_moisissure_apres_nettoyage_oui", L, 5.0, false, false, false, &["NON_DECENCE", "RSD"]),
        ("desordres_logement_humidite_piece_a_vivre_details_fuite_non", L, 0.0, false, false, false, &[]),
        ("desordres_logement_humidite_piece_a_vivre_details_fuite_oui", L, 0.0, false, false, false, &["ASSURANTIEL"]),
        ("desordres_logement_securite_sol_dangereux_pieces_piece_a_vivre", L, 2.0, true, false, false, &["NON_DECENCE", "RSD", "MISE_EN_SECURITE_PERIL"]),
        ("desordres_logement_securite_sol_dangereux_pieces_tout", L, 6.0, true, false, false, &["NON_DECENCE", "RSD", "MISE_EN_SECURITE_PERIL"]),
        ("desordres_logement_securite_balcons_pieces_salle_de_bain", L, 1.0, true, false, false, &["NON_DECENCE", "RSD", "MISE_EN_SECURITE_PERIL"]),
        ("desordres_logement_securite_balcons_pieces_tout", L, 6.0, true, false, false, &["NON_DECENCE", "RSD", "MISE_EN_SECURITE_PERIL"]),
        ("desordres_logement_securite_plomb_pieces_salle_de_bain_diagnostique_oui", L, 1.0, true, false, false, &["INSALUBRITE"]),
        ("desordres_logement_securite_plomb_pieces_tout_diagnostique_oui", L, 6.0, true, false, false, &["INSALUBRITE"]),
        ("desordres_logement_lumiere_pas_lumiere_pieces_tout", L, 12.0, false, true, false, &["NON_DECENCE", "RSD", "INSALUBRITE"]),
        ("desordres_logement_eau_evacuation", L, 3.0, false, false, false, &["NON_DECENCE", "RSD", "MISE_EN_SECURITE_PERIL"]),
        ("desordres_logement_eau_eau_potable", L, 3.0, false, false, false, &["NON_DECENCE", "RSD"]),
        ("desordres_logement_securite_gaz", L, 3.0, true, false, false, &["NON_DECENCE", "RSD", "MISE_EN_SECURITE_PERIL"]),
        ("desordres_logement_bruit_voisins", L, 1.0, false, false, false, &["NON_DECENCE"]),
        ("desordres_logement_proprete_pieces_tout", L, 0.0, false, false, false, &["RSD", "INSALUBRITE", "MISE_EN_SECURITE_PERIL", "SALETE"]),
    ];

    /// Expands docs/scoring.md's shorthand (`B:`, `L:`, `T:`) into a full slug.
    fn slug(short: &str) -> String {
        for (prefix, full) in [
            ("B:", "desordres_batiment_"),
            ("L:", "desordres_logement_"),
            ("T:", "desordres_type_composition_logement_"),
        ] {
            if let Some(rest) = short.strip_prefix(prefix) {
                return format!("{full}{rest}");
            }
        }
        short.to_owned()
    }

    /// The precision of that slug, built from [`FACTS`].
    fn precision(short: &str) -> Precision {
        let slug = slug(short);
        let (_, zone, coef, is_danger, is_insalubrite, is_suroccupation, tags) = FACTS
            .iter()
            .find(|fact| fact.0 == slug)
            .unwrap_or_else(|| panic!("{slug} is missing from FACTS"));
        Precision {
            slug,
            zone: *zone,
            coef: *coef,
            is_danger: *is_danger,
            is_insalubrite: *is_insalubrite,
            is_suroccupation: *is_suroccupation,
            qualifications: tags
                .iter()
                .map(|t| Qualification::parse(t).unwrap_or_else(|| panic!("unknown tag {t}")))
                .collect(),
        }
    }

    fn set(shorts: &[&str]) -> Vec<Precision> {
        shorts.iter().map(|s| precision(s)).collect()
    }

    /// docs/scoring.md §3 defaults: no child, insurer `non`, no DPE, not overcrowded.
    fn defaults() -> ScoringInput {
        ScoringInput {
            insurer_contacted: Some(InsurerContacted::Non),
            ..ScoringInput::default()
        }
    }

    fn with_child() -> ScoringInput {
        ScoringInput {
            child_under_6: true,
            ..defaults()
        }
    }

    fn statuses(scoring: &Scoring) -> Vec<QualificationStatus> {
        scoring.qualifications.iter().map(|q| q.status).collect()
    }

    fn linked(scoring: &Scoring, qualification: Qualification) -> Vec<String> {
        scoring
            .qualifications
            .iter()
            .find(|q| q.qualification == qualification)
            .map(|q| q.precision_slugs.clone())
            .unwrap_or_default()
    }

    fn slugs(shorts: &[&str]) -> Vec<String> {
        shorts.iter().map(|s| slug(s)).collect()
    }

    fn dpe_yes(dpe: DpeFacts) -> ScoringInput {
        ScoringInput {
            dpe: DpeFacts {
                has_dpe: Some(true),
                ..dpe
            },
            ..defaults()
        }
    }

    fn per_m2(value: f64) -> Option<Consumption> {
        Some(Consumption {
            value,
            unit: ConsumptionUnit::KwhPerM2Year,
        })
    }

    fn per_year(value: f64) -> Option<Consumption> {
        Some(Consumption {
            value,
            unit: ConsumptionUnit::KwhPerYear,
        })
    }

    fn nde(scoring: &Scoring) -> Option<QualificationStatus> {
        scoring
            .qualifications
            .iter()
            .find(|q| q.qualification == Qualification::NonDecenceEnergetique)
            .map(|q| q.status)
    }

    // ---------------------------------------------------------------- §1.3

    /// 84 is derived from the data: the highest precision coef of each
    /// building critère (34 critères, the 3 `desordres_service_secours_*`
    /// ones at 0), computed from `DesordrePrecision.yml` grouped by
    /// `desordre_critere_slug`, for the critères of `DesordreCritere.yml`
    /// whose `zone_categorie` is BATIMENT.
    #[test]
    fn max_batiment_84_is_the_sum_of_building_criteres_top_coefs() {
        #[rustfmt::skip]
        const BUILDING_TOP_COEFS: [(&str, f64); 34] = [
            ("desordres_batiment_proprete_interieur", 1.0),
            ("desordres_batiment_proprete_facades", 3.0),
            ("desordres_batiment_proprete_parties_communes", 2.0),
            ("desordres_batiment_proprete_local_poubelles", 3.0),
            ("desordres_batiment_eau_pas_eau_potable", 3.0),
            ("desordres_batiment_eau_evacuation_KO", 3.0),
            ("desordres_batiment_eau_pas_eau_chaude", 2.0),
            ("desordres_batiment_eau_pas_evacuation_eaux_pluie", 2.0),
            ("desordres_batiment_isolation_murs", 3.0),
            ("desordres_batiment_isolation_porte_fenetres", 2.0),
            ("desordres_batiment_isolation_dernier_etage_toit", 3.0),
            ("desordres_batiment_isolation_infiltration_eau", 3.0),
            ("desordres_batiment_maintenance_ascenseur", 6.0),
            ("desordres_batiment_maintenance_petites_reparations", 1.0),
            ("desordres_batiment_nuisibles_cafards", 1.0),
            ("desordres_batiment_nuisibles_rongeurs", 1.0),
            ("desordres_batiment_nuisibles_punaises", 1.0),
            ("desordres_batiment_nuisibles_autres", 1.0),
            ("desordres_batiment_securite_sol", 6.0),
            ("desordres_batiment_securite_elements_toit", 4.0),
            ("desordres_batiment_securite_toit", 6.0),
            ("desordres_batiment_securite_escalier", 6.0),
            ("desordres_batiment_securite_murs_fissures", 6.0),
            ("desordres_batiment_securite_balcons", 6.0),
            ("desordres_batiment_incendie_porte_coupe_feu", 1.0),
            ("desordres_batiment_incendie_odeur_gaz", 3.0),
            ("desordres_batiment_accessibilite_friche", 1.0),
            ("desordres_batiment_accessibilite_eclairage", 1.0),
            ("desordres_batiment_accessibilite_acces_batiment", 1.0),
            ("desordres_batiment_bruit_exterieur", 1.0),
            ("desordres_batiment_bruit_interieur", 1.0),
            ("desordres_service_secours_mauvais_etat_batiment", 0.0),
            ("desordres_service_secours_securite_personnes", 0.0),
            ("desordres_service_secours_parties_communes_degradees", 0.0),
        ];
        let sum: f64 = BUILDING_TOP_COEFS.iter().map(|(_, coef)| coef).sum();
        assert_eq!(sum, MAX_BATIMENT);
        let scored = BUILDING_TOP_COEFS
            .iter()
            .filter(|(_, coef)| *coef > 0.0)
            .count();
        assert_eq!(scored, 31);
    }

    // ------------------------------------------------------ §3 test vectors

    const V1: [&str; 22] = [
        "B:proprete_interieur",
        "B:proprete_facades",
        "B:isolation_murs",
        "B:isolation_porte_fenetres",
        "B:isolation_dernier_etage_toit_sous_combles",
        "B:isolation_infiltration_eau_au_sol_non",
        "B:maintenance_petites_reparations",
        "B:securite_elements_toit",
        "B:securite_toit",
        "B:securite_murs_fissures_details_mur_porteur_oui",
        "B:securite_balcons",
        "B:incendie_odeur_gaz",
        "L:aeration_aucune_aeration_pieces_salle_de_bain",
        "L:chauffage_details_fenetres_permeables_pieces_cuisine",
        "L:chauffage_details_difficultes_chauffage_pieces_piece_a_vivre",
        "L:chauffage_details_difficultes_chauffage_pieces_cuisine",
        "L:humidite_piece_a_vivre_details_machine_non",
        "L:humidite_piece_a_vivre_details_moisissure_apres_nettoyage_oui",
        "L:humidite_piece_a_vivre_details_fuite_non",
        "L:securite_sol_dangereux_pieces_piece_a_vivre",
        "L:securite_balcons_pieces_salle_de_bain",
        "L:securite_plomb_pieces_salle_de_bain_diagnostique_oui",
    ];

    #[test]
    fn v1_new_form_fixture_scores_34_04_with_child_factor() {
        let input = ScoringInput {
            dpe: DpeFacts {
                has_dpe: Some(true),
                ..DpeFacts::default()
            },
            ..with_child()
        };
        let scoring = compute(&set(&V1), &input);
        assert_eq!(scoring.score, 34.036064425770306);
        assert_eq!(score_display(scoring.score), "34,04");
        assert_eq!(score_display(scoring.score_batiment), "47,62");
        assert_eq!(score_display(scoring.score_logement), "14,26");
        assert_eq!(
            statuses(&scoring),
            [
                St::NonDecenceCheck,
                St::RsdCheck,
                St::InsalubriteCheck,
                St::DangerCheck,
                St::NdeCheck
            ]
        );

        let without_child = compute(
            &set(&V1),
            &ScoringInput {
                child_under_6: false,
                ..input
            },
        );
        assert_eq!(score_display(without_child.score), "30,94");
    }

    #[test]
    fn v2_no_defect_scores_zero_and_suspects_nothing() {
        for input in [defaults(), with_child()] {
            let scoring = compute(&[], &input);
            assert_eq!(scoring.score, 0.0);
            assert_eq!(score_display(scoring.score), "0,00");
            assert!(scoring.qualifications.is_empty());
        }
    }

    #[test]
    fn v3_zero_coef_defects_give_non_decence_and_assurantiel_until_insurer_contacted() {
        let s = set(&[
            "T:cuisine_collective_oui",
            "L:humidite_piece_a_vivre_details_fuite_oui",
        ]);
        for answer in [
            Some(InsurerContacted::Non),
            Some(InsurerContacted::Nsp),
            Some(InsurerContacted::PasAssuranceLogement),
            None,
        ] {
            let input = ScoringInput {
                insurer_contacted: answer,
                ..defaults()
            };
            let scoring = compute(&s, &input);
            assert_eq!(scoring.score, 0.0);
            assert_eq!(
                statuses(&scoring),
                [St::NonDecenceCheck, St::AssurantielCheck],
                "{answer:?}"
            );
            assert_eq!(
                linked(&scoring, Qualification::Assurantiel),
                slugs(&["L:humidite_piece_a_vivre_details_fuite_oui"])
            );
        }
        let contacted = ScoringInput {
            insurer_contacted: Some(InsurerContacted::Oui),
            ..defaults()
        };
        assert_eq!(statuses(&compute(&s, &contacted)), [St::NonDecenceCheck]);
    }

    #[test]
    fn v4_no_room_of_9_m2_scores_1_47_with_non_decence_and_rsd() {
        let scoring = compute(&set(&["T:plusieurs_pieces_aucune_piece_9"]), &defaults());
        assert_eq!(score_display(scoring.score), "1,47");
        assert_eq!(statuses(&scoring), [St::NonDecenceCheck, St::RsdCheck]);
    }

    #[test]
    fn v5_building_access_defect_scores_0_60_even_when_sent_twice() {
        let once = compute(&set(&["B:accessibilite_acces_batiment"]), &defaults());
        let twice = compute(
            &set(&[
                "B:accessibilite_acces_batiment",
                "B:accessibilite_acces_batiment",
            ]),
            &defaults(),
        );
        assert_eq!(score_display(once.score), "0,60");
        assert_eq!(once, twice);
        assert_eq!(statuses(&twice), [St::RsdCheck]);
        assert_eq!(
            linked(&twice, Qualification::Rsd),
            slugs(&["B:accessibilite_acces_batiment"])
        );
    }

    #[test]
    fn v6_attic_dwelling_is_band_b_with_mandatory_insalubrite_check() {
        let s = set(&["T:sous_combles", "T:plusieurs_pieces_aucune_piece_9"]);
        let scoring = compute(&s, &defaults());
        assert_eq!(score_display(scoring.score), "13,24");
        assert_eq!(
            statuses(&scoring),
            [St::NonDecenceCheck, St::RsdCheck, St::InsalubriteCheck]
        );
        // The INSALUBRITE tag links; the flag of the other precision does not.
        assert_eq!(
            linked(&scoring, Qualification::Insalubrite),
            slugs(&["T:sous_combles"])
        );
        assert_eq!(score_display(compute(&s, &with_child()).score), "14,56");
    }

    #[test]
    fn v7_collapsing_floor_gives_danger_at_a_low_score() {
        let scoring = compute(
            &set(&["B:securite_sol_details_plancher_effondre"]),
            &defaults(),
        );
        assert_eq!(score_display(scoring.score), "3,57");
        assert_eq!(
            statuses(&scoring),
            [St::NonDecenceCheck, St::RsdCheck, St::DangerCheck]
        );
        assert_eq!(
            linked(&scoring, Qualification::Danger),
            slugs(&["B:securite_sol_details_plancher_effondre"])
        );
    }

    #[test]
    fn v8_overcrowding_precision_gives_suroccupation_but_no_peril_in_band_a() {
        let input = ScoringInput {
            occupants: Some(5),
            rooms: Some(2),
            ..defaults()
        };
        let derived = overcrowding_precision(&input).expect("5 occupants in 2 rooms");
        assert_eq!(derived, SUROCCUPATION_NON_ALLOCATAIRE);
        let s = set(&["B:isolation_dernier_etage_toit_sous_combles", derived]);
        let scoring = compute(&s, &input);
        assert_eq!(score_display(scoring.score), "1,79");
        assert_eq!(
            statuses(&scoring),
            [St::NonDecenceCheck, St::RsdCheck, St::SuroccupationCheck]
        );
        assert_eq!(
            linked(&scoring, Qualification::Suroccupation),
            slugs(&["T:suroccupation_non_allocataire"])
        );
    }

    #[test]
    fn v9_broken_heating_nde_status_follows_the_consumption() {
        let s = set(&["L:chauffage_details_chauffage_KO_pieces_salle_de_bain"]);
        for (consumption, expected) in [
            (None, St::NdeCheck),
            (per_m2(800.0), St::NdeAveree),
            (per_m2(150.0), St::NdeOk),
        ] {
            let input = dpe_yes(DpeFacts {
                consumption,
                ..DpeFacts::default()
            });
            let scoring = compute(&s, &input);
            assert_eq!(score_display(scoring.score), "0,12");
            assert_eq!(
                statuses(&scoring),
                [St::NonDecenceCheck, St::RsdCheck, expected],
                "{consumption:?}"
            );
            assert_eq!(
                linked(&scoring, Qualification::NonDecenceEnergetique),
                slugs(&["L:chauffage_details_chauffage_KO_pieces_salle_de_bain"])
            );
        }
    }

    #[test]
    fn v10_nde_status_from_dpe_period_consumption_and_surface() {
        let s = set(&["L:chauffage_details_fenetres_permeables_pieces_tout"]);
        let before = |consumption| ScoringInput {
            surface: Some(30.0),
            ..dpe_yes(DpeFacts {
                period: Some(DpePeriod::Before2023),
                consumption,
                ..DpeFacts::default()
            })
        };
        let after = |consumption| {
            dpe_yes(DpeFacts {
                period: Some(DpePeriod::Post2023),
                consumption,
                ..DpeFacts::default()
            })
        };
        let cases = [
            (
                "a: 30000 kWh/yr on 30 m²",
                before(per_year(30000.0)),
                St::NdeAveree,
            ),
            (
                "b: 10000 kWh/yr on 30 m²",
                before(per_year(10000.0)),
                St::NdeOk,
            ),
            (
                "c: 580 kWh/m² after 2023",
                after(per_m2(580.0)),
                St::NdeAveree,
            ),
            ("d: 320 kWh/m² after 2023", after(per_m2(320.0)), St::NdeOk),
            (
                "e: no DPE",
                ScoringInput {
                    dpe: DpeFacts {
                        has_dpe: Some(false),
                        ..DpeFacts::default()
                    },
                    ..defaults()
                },
                St::NdeAveree,
            ),
            ("f: DPE unknown", defaults(), St::NdeCheck),
        ];
        for (case, input, expected) in cases {
            let scoring = compute(&s, &input);
            assert_eq!(score_display(scoring.score), "0,98", "{case}");
            assert_eq!(
                statuses(&scoring),
                [St::NonDecenceCheck, expected],
                "{case}"
            );
        }
    }

    #[test]
    fn v11_overcrowding_specification() {
        let household = |allocataire, occupants, surface, rooms| ScoringInput {
            allocataire,
            occupants: Some(occupants),
            surface,
            rooms,
            ..defaults()
        };
        let cases = [
            (
                "allocataire, 3 in 23 m²",
                household(true, 3, Some(23.0), None),
                Some(SUROCCUPATION_ALLOCATAIRE),
            ),
            (
                "allocataire, 3 in 26 m²",
                household(true, 3, Some(26.0), None),
                None,
            ),
            (
                "not allocataire, 3 in 1 room",
                household(false, 3, None, Some(1)),
                Some(SUROCCUPATION_NON_ALLOCATAIRE),
            ),
            (
                "not allocataire, 3 in 2 rooms",
                household(false, 3, None, Some(2)),
                None,
            ),
            (
                "unknown, 5 in 2 rooms",
                household(false, 5, None, Some(2)),
                Some(SUROCCUPATION_NON_ALLOCATAIRE),
            ),
            (
                "unknown, 5 in 3 rooms",
                household(false, 5, None, Some(3)),
                None,
            ),
            (
                "unknown, 5, rooms unknown",
                household(false, 5, None, None),
                None,
            ),
            (
                "allocataire, no surface",
                household(true, 3, None, Some(1)),
                None,
            ),
        ];
        for (case, input, expected) in cases {
            let derived = overcrowding_precision(&input);
            assert_eq!(derived, expected, "{case}");
            let s: Vec<Precision> = derived.into_iter().map(precision).collect();
            let scoring = compute(&s, &input);
            assert_eq!(scoring.score, 0.0, "{case}");
            let expected_statuses: &[QualificationStatus] = if expected.is_some() {
                &[St::SuroccupationCheck]
            } else {
                &[]
            };
            assert_eq!(statuses(&scoring), expected_statuses, "{case}");
        }
    }

    #[test]
    fn v12_child_factor_moves_band_a_to_band_b() {
        let s = set(&[
            "B:securite_toit",
            "B:securite_balcons",
            "B:securite_elements_toit",
        ]);
        let scoring = compute(&s, &defaults());
        assert_eq!(score_display(scoring.score), "9,52");
        assert_eq!(
            statuses(&scoring),
            [St::NonDecenceCheck, St::RsdCheck, St::DangerCheck]
        );

        let scoring = compute(&s, &with_child());
        assert_eq!(score_display(scoring.score), "10,48");
        assert_eq!(
            statuses(&scoring),
            [
                St::NonDecenceCheck,
                St::RsdCheck,
                St::InsalubriteManquementCheck,
                St::DangerCheck
            ]
        );
        // No precision carries the INSALUBRITE tag: the score alone suspects it.
        assert!(linked(&scoring, Qualification::Insalubrite).is_empty());
    }

    const V13: [&str; 13] = [
        "B:securite_toit",
        "B:securite_balcons",
        "B:securite_murs_fissures_details_mur_porteur_oui",
        "B:securite_escalier_details_dangereux",
        "B:maintenance_ascenseur",
        "B:securite_sol_details_plancher_effondre",
        "B:securite_elements_toit",
        "B:isolation_porte_fenetres",
        "T:sous_combles",
        "L:lumiere_pas_lumiere_pieces_tout",
        "L:aeration_aucune_aeration_pieces_tout",
        "L:securite_sol_dangereux_pieces_tout",
        "T:wc_cuisine_ensemble",
    ];

    #[test]
    fn v13_exactly_50_is_band_c_and_the_child_factor_reaches_band_d() {
        let scoring = compute(&set(&V13), &defaults());
        assert_eq!(scoring.score, 50.0);
        assert_eq!(
            statuses(&scoring),
            [
                St::NonDecenceCheck,
                St::RsdCheck,
                St::InsalubriteCheck,
                St::DangerCheck
            ]
        );

        let scoring = compute(&set(&V13), &with_child());
        assert_eq!(scoring.score, 55.00000000000001);
        assert_eq!(
            statuses(&scoring),
            [
                St::NonDecenceCheck,
                St::RsdCheck,
                St::MiseEnSecuritePerilCheck,
                St::InsalubriteCheck,
                St::DangerCheck
            ]
        );
    }

    const HUMIDITY: [&str; 3] = [
        "L:humidite_piece_a_vivre_details_machine_non",
        "L:humidite_piece_a_vivre_details_moisissure_apres_nettoyage_oui",
        "L:humidite_piece_a_vivre_details_fuite_oui",
    ];

    #[test]
    fn v14_band_d_adds_peril_and_drops_assurantiel() {
        let shorts: Vec<&str> = V13
            .iter()
            .copied()
            .filter(|s| *s != "B:isolation_porte_fenetres" && *s != "T:wc_cuisine_ensemble")
            .chain(HUMIDITY)
            .collect();
        let scoring = compute(&set(&shorts), &defaults());
        assert_eq!(score_display(scoring.score), "50,77");
        assert_eq!(
            statuses(&scoring),
            [
                St::NonDecenceCheck,
                St::RsdCheck,
                St::MiseEnSecuritePerilCheck,
                St::InsalubriteCheck,
                St::DangerCheck
            ]
        );
    }

    #[test]
    fn v15_leak_gives_assurantiel_at_a_low_score() {
        let scoring = compute(&set(&HUMIDITY), &defaults());
        assert_eq!(score_display(scoring.score), "3,43");
        assert_eq!(
            statuses(&scoring),
            [St::NonDecenceCheck, St::RsdCheck, St::AssurantielCheck]
        );
    }

    #[test]
    fn v16_dirty_dwelling_gives_rsd_and_salete() {
        let scoring = compute(&set(&["L:proprete_pieces_tout"]), &defaults());
        assert_eq!(scoring.score, 0.0);
        assert_eq!(statuses(&scoring), [St::RsdCheck, St::SaleteCheck]);
    }

    /// One top-coef precision per scored building critère (Σ 84).
    const V17_BUILDING: [&str; 31] = [
        "B:proprete_interieur",
        "B:proprete_facades",
        "B:proprete_parties_communes",
        "B:proprete_local_poubelles",
        "B:eau_pas_eau_potable",
        "B:eau_evacuation_KO",
        "B:eau_pas_eau_chaude",
        "B:eau_pas_evacuation_eaux_pluie",
        "B:isolation_murs",
        "B:isolation_porte_fenetres",
        "B:isolation_dernier_etage_toit_dernier_etage",
        "B:isolation_infiltration_eau_sous_sol",
        "B:maintenance_ascenseur",
        "B:maintenance_petites_reparations",
        "B:nuisibles_cafards",
        "B:nuisibles_rongeurs",
        "B:nuisibles_punaises",
        "B:nuisibles_autres",
        "B:securite_sol_details_plancher_effondre",
        "B:securite_elements_toit",
        "B:securite_toit",
        "B:securite_escalier_details_dangereux",
        "B:securite_murs_fissures_details_mur_porteur_oui",
        "B:securite_balcons",
        "B:incendie_porte_coupe_feu",
        "B:incendie_odeur_gaz",
        "B:accessibilite_friche",
        "B:accessibilite_eclairage",
        "B:accessibilite_acces_batiment",
        "B:bruit_exterieur",
        "B:bruit_interieur",
    ];

    /// Dwelling precisions summing to exactly 102.
    const V17_DWELLING: [&str; 13] = [
        "T:sous_combles",
        "T:sous_sol",
        "L:lumiere_pas_lumiere_pieces_tout",
        "L:aeration_aucune_aeration_pieces_tout",
        "L:securite_sol_dangereux_pieces_tout",
        "L:securite_balcons_pieces_tout",
        "L:securite_plomb_pieces_tout_diagnostique_oui",
        "L:chauffage_details_chauffage_dangereux",
        "L:humidite_piece_a_vivre_details_machine_non",
        "L:humidite_piece_a_vivre_details_moisissure_apres_nettoyage_oui",
        "L:eau_evacuation",
        "L:securite_gaz",
        "L:bruit_voisins",
    ];

    #[test]
    fn v17_score_is_capped_at_100() {
        let shorts: Vec<&str> = V17_BUILDING.iter().chain(&V17_DWELLING).copied().collect();
        let expected = [
            St::NonDecenceCheck,
            St::RsdCheck,
            St::MiseEnSecuritePerilCheck,
            St::InsalubriteCheck,
            St::DangerCheck,
        ];

        let scoring = compute(&set(&shorts), &defaults());
        assert_eq!(scoring.score_batiment, 100.0);
        assert_eq!(scoring.score_logement, 100.0);
        assert_eq!(scoring.score, 100.0);
        assert_eq!(statuses(&scoring), expected);

        // 110 with the child factor, capped.
        let scoring = compute(&set(&shorts), &with_child());
        assert_eq!(scoring.score, 100.0);
        assert_eq!(statuses(&scoring), expected);

        // The dwelling score itself is not capped: 105 / 102.
        let mut more = shorts.clone();
        more.push("L:eau_eau_potable");
        let scoring = compute(&set(&more), &defaults());
        assert_eq!(score_display(scoring.score_logement), "102,94");
        assert_eq!(
            score_display((scoring.score_batiment + scoring.score_logement) / 2.0),
            "101,47"
        );
        assert_eq!(scoring.score, 100.0);
        assert_eq!(score_display(scoring.score), "100,00");
        assert_eq!(statuses(&scoring), expected);
    }

    #[test]
    fn v18_class_g_alone_opens_an_nde_record() {
        for (consumption, expected) in [
            (None, St::NdeCheck),
            (per_m2(300.0), St::NdeCheck),
            (per_m2(500.0), St::NdeAveree),
        ] {
            let input = dpe_yes(DpeFacts {
                class: Some('G'),
                period: Some(DpePeriod::Post2023),
                consumption,
                ..DpeFacts::default()
            });
            let scoring = compute(&[], &input);
            assert_eq!(scoring.score, 0.0);
            assert_eq!(statuses(&scoring), [expected], "{consumption:?}");
            assert!(linked(&scoring, Qualification::NonDecenceEnergetique).is_empty());
        }
    }

    #[test]
    fn v19_without_a_dpe_nde_is_averee_and_unknown_dpe_is_a_check() {
        let s = set(&["L:chauffage_details_difficultes_chauffage_pieces_tout"]);
        for (has_dpe, expected) in [(Some(false), St::NdeAveree), (None, St::NdeCheck)] {
            let input = ScoringInput {
                dpe: DpeFacts {
                    has_dpe,
                    ..DpeFacts::default()
                },
                ..defaults()
            };
            let scoring = compute(&s, &input);
            assert_eq!(score_display(scoring.score), "0,49");
            assert_eq!(
                statuses(&scoring),
                [St::NonDecenceCheck, expected],
                "{has_dpe:?}"
            );
        }
    }

    // ------------------------------------------------------ §1.5 edge cases

    #[test]
    fn edge_no_precision_scores_zero_with_or_without_child() {
        assert_eq!(compute(&[], &with_child()).score, 0.0);
        assert_eq!(compute(&[], &defaults()).score, 0.0);
    }

    #[test]
    fn edge_duplicate_precision_counts_once_in_score_and_links() {
        let scoring = compute(&set(&["B:securite_toit", "B:securite_toit"]), &defaults());
        assert_eq!(scoring.score_batiment, 6.0 / 84.0 * 100.0);
        assert_eq!(
            linked(&scoring, Qualification::Danger),
            slugs(&["B:securite_toit"])
        );
    }

    #[test]
    fn edge_zero_coef_precisions_still_trigger_qualifications() {
        let scoring = compute(
            &set(&["L:humidite_piece_a_vivre_details_fuite_non"]),
            &defaults(),
        );
        // No tag, no flag: nothing at all.
        assert!(scoring.qualifications.is_empty());
        let scoring = compute(&set(&["T:cuisine_collective_oui"]), &defaults());
        assert_eq!(scoring.score, 0.0);
        assert_eq!(statuses(&scoring), [St::NonDecenceCheck]);
    }

    #[test]
    fn edge_free_text_critere_precision_scores_its_coef_only() {
        // The free text of `nuisibles_autres` never reaches this module; the
        // precision counts like any other.
        let scoring = compute(&set(&["B:nuisibles_autres"]), &defaults());
        assert_eq!(scoring.score_batiment, 1.0 / 84.0 * 100.0);
    }

    #[test]
    fn edge_one_empty_zone_still_halves_the_score() {
        let scoring = compute(&set(&["T:sous_combles"]), &defaults());
        assert_eq!(scoring.score_batiment, 0.0);
        assert_eq!(scoring.score, scoring.score_logement / 2.0);
    }

    // -------------------------------------------------- overcrowding details

    #[test]
    fn overcrowding_allocataire_limits_by_household_size() {
        let limits = [
            (1, 9.0),
            (2, 16.0),
            (3, 25.0),
            (4, 34.0),
            (5, 43.0),
            (6, 52.0),
            (7, 61.0),
            (8, 70.0),
        ];
        for (occupants, limit) in limits {
            let at = |surface| ScoringInput {
                allocataire: true,
                occupants: Some(occupants),
                surface: Some(surface),
                ..defaults()
            };
            assert_eq!(
                overcrowding_precision(&at(limit - 0.5)),
                Some(SUROCCUPATION_ALLOCATAIRE)
            );
            // Strictly below: the limit itself is enough room.
            assert_eq!(overcrowding_precision(&at(limit)), None);
        }
    }

    #[test]
    fn overcrowding_needs_occupants_and_treats_zero_surface_as_unknown() {
        let zero_surface = ScoringInput {
            allocataire: true,
            occupants: Some(1),
            surface: Some(0.0),
            ..defaults()
        };
        assert_eq!(overcrowding_precision(&zero_surface), None);
        let nobody = ScoringInput {
            allocataire: true,
            occupants: Some(0),
            surface: Some(5.0),
            ..defaults()
        };
        assert_eq!(overcrowding_precision(&nobody), None);
        let zero_rooms = ScoringInput {
            occupants: Some(3),
            rooms: Some(0),
            ..defaults()
        };
        assert_eq!(overcrowding_precision(&zero_rooms), None);
        // Rooms thresholds: 1 room from 3 occupants, 3 rooms from 7.
        let rooms = |occupants, rooms| ScoringInput {
            occupants: Some(occupants),
            rooms: Some(rooms),
            ..defaults()
        };
        assert_eq!(overcrowding_precision(&rooms(2, 1)), None);
        assert_eq!(overcrowding_precision(&rooms(6, 3)), None);
        assert_eq!(
            overcrowding_precision(&rooms(7, 3)),
            Some(SUROCCUPATION_NON_ALLOCATAIRE)
        );
    }

    // ------------------------------------------------------------ NDE details

    #[test]
    fn nde_dpe_year_wins_over_period() {
        let dpe = DpeFacts {
            has_dpe: Some(true),
            period: Some(DpePeriod::Post2023),
            year: Some(2021),
            consumption: per_year(30000.0),
            ..DpeFacts::default()
        };
        assert!(dpe.is_before_2023());
        assert_eq!(nde_status(&dpe, Some(100.0), true), St::NdeOk);
        let dpe = DpeFacts {
            year: Some(2023),
            ..dpe
        };
        assert_eq!(nde_status(&dpe, Some(100.0), true), St::NdeAveree);
    }

    #[test]
    fn nde_consumption_is_truncated_and_450_is_decent() {
        let dpe = |value| DpeFacts {
            has_dpe: Some(true),
            consumption: per_m2(value),
            ..DpeFacts::default()
        };
        assert_eq!(nde_status(&dpe(450.0), None, true), St::NdeOk);
        assert_eq!(nde_status(&dpe(450.9), None, true), St::NdeOk);
        assert_eq!(nde_status(&dpe(451.0), None, true), St::NdeAveree);
    }

    #[test]
    fn nde_without_consumption_or_defect_is_ok_unless_class_g() {
        let dpe = DpeFacts {
            has_dpe: Some(true),
            class: Some('D'),
            ..DpeFacts::default()
        };
        assert_eq!(nde_status(&dpe, None, false), St::NdeOk);
        assert_eq!(nde_status(&dpe, None, true), St::NdeCheck);
        let g = DpeFacts {
            class: Some('g'),
            ..dpe
        };
        assert_eq!(nde_status(&g, None, false), St::NdeCheck);
    }

    #[test]
    fn nde_annual_total_needs_a_positive_surface_to_be_converted() {
        let dpe = DpeFacts {
            has_dpe: Some(true),
            period: Some(DpePeriod::Before2023),
            consumption: per_year(10000.0),
            ..DpeFacts::default()
        };
        assert_eq!(nde_status(&dpe, Some(30.0), true), St::NdeOk);
        // Without a surface the figure is compared as given (docs/scoring.md
        // divides only when surface > 0).
        assert_eq!(nde_status(&dpe, None, true), St::NdeAveree);
        // compute() treats a stored 0 surface as unknown.
        let s = set(&["L:chauffage_details_difficultes_chauffage_pieces_tout"]);
        let input = ScoringInput {
            surface: Some(0.0),
            dpe,
            ..defaults()
        };
        assert_eq!(nde(&compute(&s, &input)), Some(St::NdeAveree));
    }

    #[test]
    fn nde_record_absent_without_tag_or_class_g() {
        let input = dpe_yes(DpeFacts {
            class: Some('F'),
            consumption: per_m2(800.0),
            ..DpeFacts::default()
        });
        assert_eq!(nde(&compute(&[], &input)), None);
    }

    // ------------------------------------------------- the one scoring path

    /// Every precision of [`FACTS`], as the taxonomy lookup `assess` takes.
    fn taxonomy() -> Vec<Precision> {
        FACTS.iter().map(|f| precision(f.0)).collect()
    }

    fn weights<'a>(all: &'a [Precision]) -> impl Fn(&str) -> Option<&'a Precision> + 'a {
        move |slug| all.iter().find(|p| p.slug == slug)
    }

    #[test]
    fn report_facts_derive_overcrowding_again_and_drop_a_stale_one() {
        let mut facts = ReportFacts {
            defects: vec![
                slug("B:securite_toit"),
                slug("B:securite_toit"),
                SUROCCUPATION_NON_ALLOCATAIRE.to_owned(),
            ],
            input: ScoringInput {
                occupants: Some(3),
                surface: Some(20.0),
                allocataire: true,
                ..defaults()
            },
        };
        assert_eq!(
            facts.precision_slugs(),
            [
                slug("B:securite_toit"),
                SUROCCUPATION_ALLOCATAIRE.to_owned()
            ]
        );
        facts.input.surface = Some(25.0);
        assert_eq!(facts.precision_slugs(), [slug("B:securite_toit")]);
    }

    #[test]
    fn assess_scores_the_complete_facts_whatever_the_stored_order() {
        let all = taxonomy();
        let facts = ReportFacts {
            defects: [
                "L:humidite_piece_a_vivre_details_fuite_oui",
                "L:chauffage_details_difficultes_chauffage_pieces_tout",
                "B:securite_toit",
            ]
            .iter()
            .map(|s| slug(s))
            .collect(),
            input: ScoringInput {
                insurer_contacted: Some(InsurerContacted::Oui),
                occupants: Some(3),
                rooms: Some(1),
                dpe: DpeFacts {
                    has_dpe: Some(false),
                    ..DpeFacts::default()
                },
                ..defaults()
            },
        };
        let scoring = assess(&facts, weights(&all));
        // The insurer answer, the DPE and overcrowding all count: no
        // ASSURANTIEL, NDE confirmed, SUROCCUPATION.
        assert_eq!(
            statuses(&scoring),
            [
                St::NonDecenceCheck,
                St::RsdCheck,
                St::SuroccupationCheck,
                St::DangerCheck,
                St::NdeAveree
            ]
        );
        let reversed = ReportFacts {
            defects: facts.defects.iter().rev().cloned().collect(),
            ..facts.clone()
        };
        assert_eq!(assess(&reversed, weights(&all)), scoring);
        // Unknown slugs are dropped, as the form drops them.
        let mut unknown = facts.clone();
        unknown.defects.push("desordres_inconnus".to_owned());
        assert_eq!(assess(&unknown, weights(&all)), scoring);
    }

    // ------------------------------------------------------ codes and labels

    #[test]
    fn qualification_parses_lowercase_codes_and_histologe_names() {
        assert_eq!(
            Qualification::parse("non_decence"),
            Some(Qualification::NonDecence)
        );
        assert_eq!(
            Qualification::parse("MISE_EN_SECURITE_PERIL"),
            Some(Qualification::MiseEnSecuritePeril)
        );
        assert_eq!(
            Qualification::parse("NON_DECENCE_ENERGETIQUE"),
            Some(Qualification::NonDecenceEnergetique)
        );
        assert_eq!(Qualification::parse("visites"), None);
        for q in Qualification::ALL {
            assert_eq!(Qualification::parse(q.code()), Some(q));
            assert!(!q.label().is_empty());
        }
    }

    #[test]
    fn status_codes_round_trip_and_are_snake_case() {
        for st in QualificationStatus::ALL {
            assert_eq!(QualificationStatus::parse(st.code()), Some(st));
            assert!(
                st.code()
                    .bytes()
                    .all(|b| b.is_ascii_lowercase() || b == b'_')
            );
            assert!(!st.label().is_empty());
        }
        assert_eq!(
            St::InsalubriteManquementCheck.code(),
            "insalubrite_manquement_check"
        );
        assert_eq!(QualificationStatus::parse("NDE_CHECK"), Some(St::NdeCheck));
        assert_eq!(
            St::NdeOk.qualification(),
            Some(Qualification::NonDecenceEnergetique)
        );
        assert_eq!(St::Archived.qualification(), None);
    }

    #[test]
    fn answers_parse() {
        assert_eq!(Zone::parse("BATIMENT"), Some(Zone::Batiment));
        assert_eq!(Zone::parse("logement"), Some(Zone::Logement));
        assert_eq!(
            InsurerContacted::parse("pas_assurance_logement"),
            Some(InsurerContacted::PasAssuranceLogement)
        );
        assert_eq!(DpePeriod::parse("nsp"), None);
        assert_eq!(
            ConsumptionUnit::parse("kwh_year"),
            Some(ConsumptionUnit::KwhPerYear)
        );
    }

    // --------------------------------------------------------------- display

    #[test]
    fn score_display_rounds_halves_away_from_zero_with_a_comma() {
        assert_eq!(score_display(0.0), "0,00");
        assert_eq!(score_display(100.0), "100,00");
        assert_eq!(score_display(0.125), "0,13");
        assert_eq!(score_display(2.675), "2,68");
        assert_eq!(score_display(1.005), "1,01");
        assert_eq!(score_display(12.344999), "12,34");
        assert_eq!(score_display(99.995), "100,00");
        assert_eq!(score_display(9.999), "10,00");
        assert_eq!(score_display(-1.005), "-1,01");
        assert_eq!(score_display(-0.001), "0,00");
        assert_eq!(score_display(1e-7), "0,00");
    }

    #[test]
    fn score_rounded_agrees_with_display() {
        assert_eq!(score_rounded(34.036064425770306), 34.04);
        assert_eq!(score_rounded(2.675), 2.68);
        assert_eq!(score_rounded(55.00000000000001), 55.0);
        assert_eq!(score_rounded(-1.005), -1.01);
    }
}
