//! The public reporting form as data: its screens, their questions, when each
//! question is shown and required, and the checks on each answer
//! (docs/form.md). Pure rules: the web layer renders these questions and calls
//! [`validate_step`]; nothing here knows about HTTP or SQL.
//!
//! Answers are a flat map `slug → value` (docs/form.md §0): radios hold their
//! code, checkboxes `1`, counters digits, dates `YYYY-MM-DD`. A question whose
//! condition is false is never required and its answer is dropped
//! (docs/form.md §6 rule 1), so stale branches never reach the report.

use std::collections::BTreeMap;

use serde_json::{Value, json};

use crate::domain::contact::{Email, Phone, PostalCode};

/// The answers of a draft, keyed by form slug.
pub type Answers = BTreeMap<String, String>;

/// Who files the report (ProfileDeclarant), stored in
/// `reports.declarant_profile` and `drafts.profile` under [`Self::code`], the
/// one place that spells the codes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum DeclarantProfile {
    /// Also what a draft without the answer is read as.
    #[default]
    Locataire,
    BailleurOccupant,
    TiersParticulier,
    TiersPro,
    Bailleur,
    ServiceSecours,
}

impl DeclarantProfile {
    pub const ALL: [Self; 6] = [
        Self::Locataire,
        Self::BailleurOccupant,
        Self::TiersParticulier,
        Self::TiersPro,
        Self::Bailleur,
        Self::ServiceSecours,
    ];

    /// The lowercase code (`reports.declarant_profile`).
    pub fn code(self) -> &'static str {
        match self {
            Self::Locataire => "locataire",
            Self::BailleurOccupant => "bailleur_occupant",
            Self::TiersParticulier => "tiers_particulier",
            Self::TiersPro => "tiers_pro",
            Self::Bailleur => "bailleur",
            Self::ServiceSecours => "service_secours",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|p| p.code() == s)
    }

    pub fn label(self) -> &'static str {
        match self {
            Self::Locataire => "Locataire du logement",
            Self::BailleurOccupant => "Propriétaire occupant",
            Self::TiersParticulier => "Proche, voisin ou autre particulier",
            Self::TiersPro => "Professionnel (travailleur social, association…)",
            Self::Bailleur => "Bailleur du logement",
            Self::ServiceSecours => "Service de secours",
        }
    }

    /// The short label of the back office (case page, statistics).
    pub fn office_label(self) -> &'static str {
        match self {
            Self::Locataire => "Locataire",
            Self::BailleurOccupant => "Propriétaire occupant",
            Self::TiersParticulier => "Tiers particulier (proche, voisin)",
            Self::TiersPro => "Tiers professionnel",
            Self::ServiceSecours => "Service de secours",
            Self::Bailleur => "Bailleur",
        }
    }

    /// Locataire and propriétaire occupant file for their own home.
    pub fn is_occupant(self) -> bool {
        matches!(self, Self::Locataire | Self::BailleurOccupant)
    }

    /// Someone else than the occupant or the landlord: a relative, a
    /// professional, the emergency services (Esabora's `Declarant_NonOccupant`).
    pub fn is_third_party(self) -> bool {
        match self {
            Self::TiersParticulier | Self::TiersPro | Self::ServiceSecours => true,
            Self::Locataire | Self::BailleurOccupant | Self::Bailleur => false,
        }
    }

    /// The declarant's link to the occupant when the profile says it
    /// (`reports.declarant_link`); a private third party answers it.
    pub fn implied_link(self) -> Option<&'static str> {
        match self {
            Self::ServiceSecours => Some("secours"),
            Self::Bailleur => Some("bailleur"),
            Self::TiersPro => Some("pro"),
            Self::Locataire | Self::BailleurOccupant | Self::TiersParticulier => None,
        }
    }
}

/// The derived profile: the occupant detail or the third-party detail,
/// according to the first answer (docs/form.md §1.1).
pub fn profile(a: &Answers) -> Option<DeclarantProfile> {
    match get(a, "signalement_concerne_profil") {
        Some("logement_occupez") => {
            get(a, "signalement_concerne_profil_detail_occupant").and_then(DeclarantProfile::parse)
        }
        Some("autre_logement") => {
            get(a, "signalement_concerne_profil_detail_tiers").and_then(DeclarantProfile::parse)
        }
        _ => None,
    }
}

/// A non-empty answer.
pub fn get<'a>(a: &'a Answers, slug: &str) -> Option<&'a str> {
    a.get(slug).map(String::as_str).filter(|v| !v.is_empty())
}

/// Whether an answer equals a code.
pub fn is(a: &Answers, slug: &str, value: &str) -> bool {
    get(a, slug) == Some(value)
}

/// The social-housing answer, whichever question asked it (docs/form.md §6
/// rules 2 and 3): `Some(true)` social, `Some(false)` private, `None` unknown.
pub fn is_social_housing(a: &Answers) -> Option<bool> {
    let answer = if profile(a) == Some(DeclarantProfile::ServiceSecours) {
        get(a, "signalement_concerne_logement_social_service_secours")
    } else {
        get(a, "signalement_concerne_logement_social_autre_tiers")
    };
    match answer {
        Some("oui") => Some(true),
        Some("non") => Some(false),
        _ => None,
    }
}

/// The occupant's status: owner for BO, tenant for LOC and BAI, else the
/// third party's answer (`nsp` = unknown).
pub fn occupant_profile(a: &Answers) -> Option<DeclarantProfile> {
    match profile(a)? {
        DeclarantProfile::BailleurOccupant => Some(DeclarantProfile::BailleurOccupant),
        DeclarantProfile::Locataire | DeclarantProfile::Bailleur => {
            Some(DeclarantProfile::Locataire)
        }
        _ => get(a, "signalement_concerne_profil_detail_profil_occupant")
            .and_then(DeclarantProfile::parse),
    }
}

/// When a question is shown (or required). Conditions on questions of the
/// same screen are also evaluated in the browser (`data-show`), so that
/// JavaScript can hide them; the server always decides.
#[derive(Debug, Clone)]
pub enum Cond {
    Always,
    Never,
    /// The answer to `slug` is one of `values`.
    Eq(String, Vec<String>),
    /// The declarant's profile is one of these.
    Profiles(Vec<DeclarantProfile>),
    All(Vec<Cond>),
    Any(Vec<Cond>),
    Not(Box<Cond>),
    /// A rule on answers of earlier screens (server side only).
    Custom(fn(&Answers) -> bool),
}

pub fn eq(slug: &str, values: &[&str]) -> Cond {
    Cond::Eq(
        slug.to_owned(),
        values.iter().map(|v| (*v).to_owned()).collect(),
    )
}

pub fn profiles(list: &[DeclarantProfile]) -> Cond {
    Cond::Profiles(list.to_vec())
}

pub fn not(c: Cond) -> Cond {
    Cond::Not(Box::new(c))
}

/// The profiles that are not occupants.
const THIRD_PARTIES: [DeclarantProfile; 4] = [
    DeclarantProfile::TiersParticulier,
    DeclarantProfile::TiersPro,
    DeclarantProfile::Bailleur,
    DeclarantProfile::ServiceSecours,
];

impl Cond {
    pub fn eval(&self, a: &Answers) -> bool {
        match self {
            Cond::Always => true,
            Cond::Never => false,
            Cond::Eq(slug, values) => get(a, slug).is_some_and(|v| values.iter().any(|x| x == v)),
            Cond::Profiles(list) => profile(a).is_some_and(|p| list.contains(&p)),
            Cond::All(list) => list.iter().all(|c| c.eval(a)),
            Cond::Any(list) => list.iter().any(|c| c.eval(a)),
            Cond::Not(c) => !c.eval(a),
            Cond::Custom(f) => f(a),
        }
    }

    /// The condition for the browser: parts that only involve answers of
    /// other screens are settled here; what is left refers to fields of the
    /// screen (`local`). `Ok(bool)` when nothing is left.
    pub fn for_client(&self, a: &Answers, local: &dyn Fn(&str) -> bool) -> Result<bool, Value> {
        match self {
            Cond::Eq(slug, values) if local(slug) => Err(json!({ "eq": [slug, values] })),
            Cond::All(list) | Cond::Any(list) => {
                let all = matches!(self, Cond::All(_));
                let mut rest = Vec::new();
                for c in list {
                    match c.for_client(a, local) {
                        Ok(b) if b != all => return Ok(!all),
                        Ok(_) => {}
                        Err(v) => rest.push(v),
                    }
                }
                match rest.len() {
                    0 => Ok(all),
                    1 => Err(rest.remove(0)),
                    _ => Err(json!({ if all { "all" } else { "any" }: rest })),
                }
            }
            Cond::Not(c) => match c.for_client(a, local) {
                Ok(b) => Ok(!b),
                Err(v) => Err(json!({ "not": v })),
            },
            other => Ok(other.eval(a)),
        }
    }
}

/// What kind of answer a question takes, with its bounds.
#[derive(Debug, Clone)]
pub enum Kind {
    Text {
        max: usize,
    },
    Textarea {
        max: usize,
    },
    Email,
    Phone,
    Integer {
        min: i64,
        max: i64,
    },
    /// A date in the past (or today); `after_1900` for move-in dates.
    PastDate,
    /// A date strictly before today (birth dates).
    BirthDate,
    /// `MM/AAAA`, not in the future.
    MonthYear,
    /// A four-digit year, not in the future.
    Year,
    PostalCode,
    Radio(Vec<(String, String)>),
    Select(Vec<(String, String)>),
    Checkbox,
    /// Kept as is, not shown (set by JavaScript or derived).
    Hidden {
        max: usize,
    },
}

/// One question of a screen.
#[derive(Debug, Clone)]
pub struct Question {
    pub slug: String,
    pub label: String,
    pub hint: String,
    pub kind: Kind,
    pub show: Cond,
    pub required: Cond,
    /// Profiles offered a "Je ne sais pas" answer (radios).
    pub nsp_for: Vec<DeclarantProfile>,
    /// Autocomplete token for the browser.
    pub autocomplete: &'static str,
}

impl Question {
    fn new(slug: &str, label: &str, kind: Kind) -> Self {
        Self {
            slug: slug.to_owned(),
            label: label.to_owned(),
            hint: String::new(),
            kind,
            show: Cond::Always,
            required: Cond::Always,
            nsp_for: Vec::new(),
            autocomplete: "",
        }
    }
    fn hint(mut self, hint: &str) -> Self {
        self.hint = hint.to_owned();
        self
    }
    fn show(mut self, c: Cond) -> Self {
        self.show = c;
        self
    }
    fn optional(mut self) -> Self {
        self.required = Cond::Never;
        self
    }
    fn required_when(mut self, c: Cond) -> Self {
        self.required = c;
        self
    }
    fn nsp(mut self, list: &[DeclarantProfile]) -> Self {
        self.nsp_for = list.to_vec();
        self
    }
    fn auto(mut self, token: &'static str) -> Self {
        self.autocomplete = token;
        self
    }

    /// The options a profile sees, "Je ne sais pas" included when offered.
    pub fn options(&self, a: &Answers) -> Vec<(String, String)> {
        let mut options = match &self.kind {
            Kind::Radio(o) | Kind::Select(o) => o.clone(),
            _ => return Vec::new(),
        };
        if profile(a).is_some_and(|p| self.nsp_for.contains(&p)) {
            options.push(("nsp".into(), "Je ne sais pas".into()));
        }
        options
    }
}

fn opts(list: &[(&str, &str)]) -> Vec<(String, String)> {
    list.iter()
        .map(|(v, l)| ((*v).to_owned(), (*l).to_owned()))
        .collect()
}

fn yes_no() -> Kind {
    Kind::Radio(opts(&[("oui", "Oui"), ("non", "Non")]))
}

fn yes_no_nsp() -> Kind {
    Kind::Radio(opts(&[
        ("oui", "Oui"),
        ("non", "Non"),
        ("nsp", "Je ne sais pas"),
    ]))
}

/// The screens of the form, in order.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Step {
    Adresse,
    Profil,
    VosCoordonnees,
    CoordonneesOccupant,
    Bailleur,
    Logement,
    Composition,
    Situation,
    DesordresBatiment,
    DesordresLogement,
    Procedure,
    Complements,
    Recapitulatif,
}

impl Step {
    pub const ALL: [Self; 13] = [
        Self::Adresse,
        Self::Profil,
        Self::VosCoordonnees,
        Self::CoordonneesOccupant,
        Self::Bailleur,
        Self::Logement,
        Self::Composition,
        Self::Situation,
        Self::DesordresBatiment,
        Self::DesordresLogement,
        Self::Procedure,
        Self::Complements,
        Self::Recapitulatif,
    ];

    /// The URL segment.
    pub fn slug(self) -> &'static str {
        match self {
            Self::Adresse => "adresse",
            Self::Profil => "profil",
            Self::VosCoordonnees => "vos-coordonnees",
            Self::CoordonneesOccupant => "occupant",
            Self::Bailleur => "bailleur",
            Self::Logement => "logement",
            Self::Composition => "composition",
            Self::Situation => "situation",
            Self::DesordresBatiment => "desordres-batiment",
            Self::DesordresLogement => "desordres-logement",
            Self::Procedure => "procedure",
            Self::Complements => "complements",
            Self::Recapitulatif => "recapitulatif",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|step| step.slug() == s)
    }

    pub fn title(self) -> &'static str {
        match self {
            Self::Adresse => "Adresse du logement",
            Self::Profil => "Votre situation",
            Self::VosCoordonnees => "Vos coordonnées",
            Self::CoordonneesOccupant => "Le foyer qui occupe le logement",
            Self::Bailleur => "Le bailleur",
            Self::Logement => "Le logement",
            Self::Composition => "Les occupants et les documents",
            Self::Situation => "La situation du foyer",
            Self::DesordresBatiment => "Les problèmes dans le bâtiment",
            Self::DesordresLogement => "Les problèmes dans le logement",
            Self::Procedure => "Démarches et engagements",
            Self::Complements => "Informations complémentaires",
            Self::Recapitulatif => "Récapitulatif",
        }
    }

    /// Whether the screen is part of this declarant's journey.
    pub fn applies(self, a: &Answers) -> bool {
        let p = profile(a);
        match self {
            Self::CoordonneesOccupant => p.is_some_and(|p| !p.is_occupant()),
            Self::Bailleur => landlord_asked(a),
            Self::Situation | Self::Complements => p != Some(DeclarantProfile::ServiceSecours),
            Self::DesordresBatiment => {
                get(a, "zone_concernee_zone").is_none_or(|z| z != "logement")
            }
            Self::DesordresLogement => {
                get(a, "zone_concernee_zone").is_none_or(|z| z != "batiment")
            }
            _ => true,
        }
    }

    /// Whether the screen carries file inputs (sent as multipart).
    pub fn has_uploads(self) -> bool {
        matches!(
            self,
            Self::Composition | Self::DesordresBatiment | Self::DesordresLogement
        )
    }

    pub fn next(self, a: &Answers) -> Option<Self> {
        Self::ALL
            .into_iter()
            .skip_while(|s| *s != self)
            .skip(1)
            .find(|s| s.applies(a))
    }

    pub fn previous(self, a: &Answers) -> Option<Self> {
        Self::ALL
            .into_iter()
            .take_while(|s| *s != self)
            .filter(|s| s.applies(a))
            .last()
    }

    /// Position among the screens this declarant sees (1-based) and count.
    pub fn progress(self, a: &Answers) -> (usize, usize) {
        let seen: Vec<_> = Self::ALL.into_iter().filter(|s| s.applies(a)).collect();
        let index = seen.iter().position(|s| *s == self).unwrap_or(0) + 1;
        (index, seen.len())
    }

    /// The fixed questions of the screen (the defect screens add theirs
    /// from the taxonomy).
    pub fn questions(self, a: &Answers) -> Vec<Question> {
        match self {
            Self::Adresse => address_questions(),
            Self::Profil => profile_questions(),
            Self::VosCoordonnees => {
                if profile(a).is_some_and(DeclarantProfile::is_occupant) {
                    declarant_occupant_questions()
                } else {
                    declarant_third_party_questions()
                }
            }
            Self::CoordonneesOccupant => occupant_questions(),
            Self::Bailleur => landlord_questions(),
            Self::Logement => dwelling_questions(),
            Self::Composition => composition_questions(),
            Self::Situation => situation_questions(),
            Self::DesordresBatiment | Self::DesordresLogement => Vec::new(),
            Self::Procedure => procedure_questions(),
            Self::Complements => complement_questions(),
            Self::Recapitulatif => Vec::new(),
        }
    }
}

/// LOC always; TPA/TPR/SEC unless the occupant owns the dwelling.
fn landlord_asked(a: &Answers) -> bool {
    match profile(a) {
        Some(DeclarantProfile::Locataire) => true,
        Some(
            DeclarantProfile::TiersParticulier
            | DeclarantProfile::TiersPro
            | DeclarantProfile::ServiceSecours,
        ) => !is(
            a,
            "signalement_concerne_profil_detail_profil_occupant",
            "bailleur_occupant",
        ),
        _ => false,
    }
}

fn address_questions() -> Vec<Question> {
    vec![
        Question::new(
            "adresse_logement_adresse",
            "Rechercher l’adresse",
            Kind::Hidden { max: 255 },
        )
        .optional(),
        Question::new(
            "adresse_logement_adresse_detail_numero",
            "Numéro et voie",
            Kind::Text { max: 100 },
        )
        .hint("Par exemple : 12 rue de la République")
        .auto("address-line1"),
        Question::new(
            "adresse_logement_adresse_detail_code_postal",
            "Code postal",
            Kind::PostalCode,
        )
        .hint("5 chiffres")
        .auto("postal-code"),
        Question::new(
            "adresse_logement_adresse_detail_commune",
            "Commune",
            Kind::Text { max: 95 },
        )
        .auto("address-level2"),
        Question::new(
            "adresse_logement_adresse_detail_insee",
            "Code INSEE",
            Kind::Hidden { max: 5 },
        )
        .optional(),
        Question::new(
            "adresse_logement_complement_adresse_etage",
            "Étage",
            Kind::Text { max: 5 },
        )
        .optional(),
        Question::new(
            "adresse_logement_complement_adresse_escalier",
            "Escalier",
            Kind::Text { max: 3 },
        )
        .optional(),
        Question::new(
            "adresse_logement_complement_adresse_numero_appartement",
            "Numéro d’appartement",
            Kind::Text { max: 5 },
        )
        .optional(),
        Question::new(
            "adresse_logement_complement_adresse_autre",
            "Autre précision utile pour trouver le logement",
            Kind::Text { max: 255 },
        )
        .hint("Bâtiment, résidence, lieu-dit…")
        .optional(),
    ]
}

fn profile_questions() -> Vec<Question> {
    let po = "signalement_concerne_profil_detail_profil_occupant";
    vec![
        Question::new(
            "signalement_concerne_profil",
            "Le logement concerné est-il celui où vous habitez ?",
            Kind::Radio(opts(&[
                ("logement_occupez", "Oui, j’habite ce logement"),
                (
                    "autre_logement",
                    "Non, je signale le logement de quelqu’un d’autre",
                ),
            ])),
        ),
        Question::new(
            "signalement_concerne_profil_detail_occupant",
            "Dans ce logement, vous êtes :",
            Kind::Radio(opts(&[
                ("locataire", "Locataire (ou sous-locataire, hébergé…)"),
                ("bailleur_occupant", "Propriétaire et j’y habite"),
            ])),
        )
        .show(eq("signalement_concerne_profil", &["logement_occupez"])),
        Question::new(
            "signalement_concerne_profil_detail_tiers",
            "Vous faites ce signalement en tant que :",
            Kind::Radio(opts(&[
                ("tiers_particulier", "Particulier : proche, voisin…"),
                (
                    "tiers_pro",
                    "Professionnel : travailleur social, association, mairie…",
                ),
                ("bailleur", "Bailleur du logement"),
                ("service_secours", "Service de secours (pompiers, SAMU…)"),
            ])),
        )
        .show(eq("signalement_concerne_profil", &["autre_logement"])),
        Question::new(
            po,
            "Les personnes qui habitent le logement en sont :",
            Kind::Radio(opts(&[
                ("locataire", "Locataires"),
                ("bailleur_occupant", "Propriétaires"),
                ("nsp", "Je ne sais pas"),
            ])),
        )
        .show(Cond::All(vec![
            eq("signalement_concerne_profil", &["autre_logement"]),
            eq(
                "signalement_concerne_profil_detail_tiers",
                &["tiers_particulier", "tiers_pro", "service_secours"],
            ),
        ])),
        Question::new(
            "signalement_concerne_profil_detail_bailleur_proprietaire",
            "Vous êtes propriétaire :",
            Kind::Radio(opts(&[
                ("particulier", "À titre personnel"),
                (
                    "organisme_societe",
                    "Au nom d’un organisme ou d’une société",
                ),
            ])),
        )
        .show(Cond::All(vec![
            eq("signalement_concerne_profil", &["logement_occupez"]),
            eq(
                "signalement_concerne_profil_detail_occupant",
                &["bailleur_occupant"],
            ),
        ])),
        Question::new(
            "signalement_concerne_profil_detail_bailleur_bailleur",
            "Vous louez ce logement :",
            Kind::Radio(opts(&[
                ("particulier", "À titre personnel"),
                (
                    "organisme_societe",
                    "Au nom d’un organisme ou d’une société",
                ),
            ])),
        )
        .show(Cond::All(vec![
            eq("signalement_concerne_profil", &["autre_logement"]),
            eq("signalement_concerne_profil_detail_tiers", &["bailleur"]),
        ])),
        Question::new(
            "signalement_concerne_logement_social_service_secours",
            "S’agit-il d’un logement social (HLM) ?",
            Kind::Radio(opts(&[
                ("oui", "Oui"),
                ("non", "Non"),
                ("ne-sais-pas", "Je ne sais pas"),
            ])),
        )
        .show(Cond::All(vec![
            eq("signalement_concerne_profil", &["autre_logement"]),
            eq(
                "signalement_concerne_profil_detail_tiers",
                &["service_secours"],
            ),
        ])),
        Question::new(
            "signalement_concerne_logement_social_autre_tiers",
            "S’agit-il d’un logement social (HLM, office public, société d’habitat) ?",
            yes_no(),
        )
        .show(Cond::Any(vec![
            eq("signalement_concerne_profil", &["logement_occupez"]),
            Cond::All(vec![
                eq("signalement_concerne_profil", &["autre_logement"]),
                eq(
                    "signalement_concerne_profil_detail_tiers",
                    &["tiers_particulier", "tiers_pro", "bailleur"],
                ),
            ]),
        ])),
    ]
}

/// A question of the form by its slug, among the contact, landlord,
/// dwelling and household screens: the resident's space corrects those
/// answers with the form's own questions (labels, bounds, messages).
pub fn question(slug: &str) -> Option<Question> {
    [
        declarant_occupant_questions(),
        declarant_third_party_questions(),
        occupant_questions(),
        landlord_questions(),
        dwelling_questions(),
        composition_questions(),
    ]
    .into_iter()
    .flatten()
    .find(|q| q.slug == slug)
}

fn name(slug: &str, label: &str) -> Question {
    Question::new(slug, label, Kind::Text { max: 50 })
}

fn civility(slug: &str) -> Question {
    Question::new(
        slug,
        "Civilité",
        Kind::Radio(opts(&[("mme", "Madame"), ("mr", "Monsieur")])),
    )
}

fn declarant_occupant_questions() -> Vec<Question> {
    let p = "vos_coordonnees_occupant";
    vec![
        civility(&format!("{p}_civilite")).required_when(profiles(&[DeclarantProfile::Locataire])),
        Question::new(
            &format!("{p}_nom_organisme"),
            "Nom de l’organisme ou de la société",
            Kind::Text { max: 200 },
        )
        .show(eq(
            "signalement_concerne_profil_detail_bailleur_proprietaire",
            &["organisme_societe"],
        )),
        name(&format!("{p}_nom"), "Nom de famille").auto("family-name"),
        name(&format!("{p}_prenom"), "Prénom").auto("given-name"),
        Question::new(&format!("{p}_email"), "Adresse électronique", Kind::Email)
            .hint("Nous y enverrons le lien pour suivre votre signalement. Format attendu : nom@domaine.fr")
            .auto("email"),
        Question::new(&format!("{p}_tel"), "Numéro de téléphone", Kind::Phone)
            .hint("Par exemple : 06 12 34 56 78 ou 0692 12 34 56")
            .auto("tel"),
        Question::new(
            &format!("{p}_tel_secondaire"),
            "Autre numéro de téléphone",
            Kind::Phone,
        )
        .optional(),
    ]
}

fn declarant_third_party_questions() -> Vec<Question> {
    let p = "vos_coordonnees_tiers";
    vec![
        Question::new(
            &format!("{p}_lien"),
            "Votre lien avec les occupants",
            Kind::Radio(opts(&[
                ("proche", "Un proche"),
                ("voisin", "Un voisin"),
                ("autre", "Autre"),
            ])),
        )
        .show(profiles(&[DeclarantProfile::TiersParticulier]))
        .optional(),
        Question::new(
            &format!("{p}_nom_organisme"),
            "Nom de votre structure",
            Kind::Text { max: 200 },
        )
        .show(Cond::Any(vec![
            profiles(&[DeclarantProfile::TiersPro, DeclarantProfile::ServiceSecours]),
            Cond::All(vec![
                profiles(&[DeclarantProfile::Bailleur]),
                eq(
                    "signalement_concerne_profil_detail_bailleur_bailleur",
                    &["organisme_societe"],
                ),
            ]),
        ])),
        name(&format!("{p}_nom"), "Votre nom de famille").auto("family-name"),
        name(&format!("{p}_prenom"), "Votre prénom").auto("given-name"),
        Question::new(
            &format!("{p}_email"),
            "Votre adresse électronique",
            Kind::Email,
        )
        .hint("Format attendu : nom@domaine.fr")
        .auto("email"),
        Question::new(
            &format!("{p}_tel"),
            "Votre numéro de téléphone",
            Kind::Phone,
        )
        .auto("tel"),
        Question::new(
            &format!("{p}_tel_secondaire"),
            "Autre numéro de téléphone",
            Kind::Phone,
        )
        .optional(),
    ]
}

fn occupant_questions() -> Vec<Question> {
    let p = "coordonnees_occupant";
    let names_required = not(profiles(&[DeclarantProfile::ServiceSecours]));
    vec![
        civility(&format!("{p}_civilite")).optional(),
        name(&format!("{p}_nom"), "Nom de famille de l’occupant")
            .required_when(names_required.clone()),
        name(&format!("{p}_prenom"), "Prénom de l’occupant").required_when(names_required),
        Question::new(
            &format!("{p}_email"),
            "Adresse électronique de l’occupant",
            Kind::Email,
        )
        .hint("Si vous la connaissez : l’occupant pourra suivre le signalement.")
        .optional(),
        Question::new(&format!("{p}_tel"), "Téléphone de l’occupant", Kind::Phone).optional(),
    ]
}

fn landlord_questions() -> Vec<Question> {
    let third = [
        DeclarantProfile::TiersParticulier,
        DeclarantProfile::TiersPro,
        DeclarantProfile::ServiceSecours,
    ];
    let prevenu = || eq("info_procedure_bailleur_prevenu", &["oui"]);
    vec![
        Question::new(
            "coordonnees_bailleur_nom",
            "Nom du bailleur (personne ou organisme)",
            Kind::Text { max: 255 },
        )
        .required_when(not(profiles(&[DeclarantProfile::ServiceSecours]))),
        Question::new(
            "coordonnees_bailleur_prenom",
            "Prénom du bailleur",
            Kind::Text { max: 255 },
        )
        .optional(),
        Question::new(
            "coordonnees_bailleur_email",
            "Adresse électronique du bailleur",
            Kind::Email,
        )
        .optional(),
        Question::new("coordonnees_bailleur_tel", "Téléphone du bailleur", Kind::Phone).optional(),
        Question::new(
            "coordonnees_bailleur_adresse_detail_numero",
            "Adresse du bailleur : numéro et voie",
            Kind::Text { max: 100 },
        )
        .optional(),
        Question::new(
            "coordonnees_bailleur_adresse_detail_code_postal",
            "Adresse du bailleur : code postal",
            Kind::PostalCode,
        )
        .optional(),
        Question::new(
            "coordonnees_bailleur_adresse_detail_commune",
            "Adresse du bailleur : commune",
            Kind::Text { max: 95 },
        )
        .optional(),
        Question::new(
            "info_procedure_bailleur_prevenu",
            "Le bailleur a-t-il été informé des problèmes ?",
            yes_no(),
        )
        .nsp(&third)
        .hint("Si ce n’est pas fait, nous vous conseillons de le prévenir par écrit avant de signaler."),
        Question::new(
            "info_procedure_bail_moyen",
            "Comment a-t-il été informé ?",
            Kind::Select(opts(&[
                ("courrier", "Par courrier"),
                ("email", "Par courriel"),
                ("telephone", "Par téléphone"),
                ("sms", "Par SMS"),
                ("autre", "Autrement"),
            ])),
        )
        .nsp(&third)
        .show(prevenu()),
        Question::new(
            "info_procedure_bail_date",
            "Depuis quand est-il au courant ?",
            Kind::MonthYear,
        )
        .hint("Mois et année, au format MM/AAAA, par exemple 03/2026")
        .show(prevenu())
        .required_when(profiles(&[DeclarantProfile::Locataire])),
        Question::new(
            "info_procedure_bail_reponse",
            "Qu’a-t-il répondu ?",
            Kind::Textarea { max: 255 },
        )
        .show(prevenu())
        .required_when(profiles(&[DeclarantProfile::Locataire])),
        Question::new(
            "info_procedure_bail_numero",
            "Numéro de réclamation auprès du bailleur social",
            Kind::Text { max: 30 },
        )
        .show(Cond::All(vec![
            prevenu(),
            Cond::Custom(|a| is_social_housing(a) == Some(true)),
        ]))
        .optional(),
    ]
}

fn dwelling_questions() -> Vec<Question> {
    let third = THIRD_PARTIES.to_vec();
    let appart = || eq("type_logement_nature", &["appartement"]);
    vec![
        Question::new(
            "zone_concernee_zone",
            "Où se situent les problèmes ?",
            Kind::Radio(opts(&[
                ("batiment", "Dans les parties communes du bâtiment"),
                ("logement", "Dans le logement"),
                ("batiment_logement", "Dans le bâtiment et dans le logement"),
            ])),
        ),
        Question::new(
            "zone_concernee_debut_desordres",
            "Depuis quand ?",
            Kind::Select(opts(&[
                ("less_1_month", "Moins d’un mois"),
                ("months_1_to_6", "Entre 1 et 6 mois"),
                ("months_6_to_12", "Entre 6 mois et un an"),
                ("years_1_to_2", "Entre 1 et 2 ans"),
                ("more_2_years", "Plus de 2 ans"),
            ])),
        )
        .nsp(&third),
        Question::new(
            "zone_concernee_constatation_desordres",
            "Avez-vous vu ces problèmes vous-même ?",
            yes_no(),
        )
        .show(profiles(&third)),
        Question::new(
            "type_logement_nature",
            "Type de logement",
            Kind::Radio(opts(&[
                ("appartement", "Appartement"),
                ("maison", "Maison"),
                ("autre", "Autre"),
            ])),
        ),
        Question::new(
            "type_logement_nature_autre_precision",
            "Précisez le type de logement",
            Kind::Text { max: 15 },
        )
        .show(eq("type_logement_nature", &["autre"])),
        Question::new(
            "type_logement_rdc",
            "Le logement est-il au rez-de-chaussée ?",
            yes_no(),
        )
        .show(appart()),
        Question::new(
            "type_logement_dernier_etage",
            "Est-il au dernier étage ?",
            yes_no(),
        )
        .show(Cond::All(vec![appart(), eq("type_logement_rdc", &["non"])])),
        Question::new(
            "type_logement_sous_comble_sans_fenetre",
            "Est-il sous les combles, sans fenêtre ?",
            yes_no(),
        )
        .show(Cond::All(vec![
            appart(),
            eq("type_logement_rdc", &["non"]),
            eq("type_logement_dernier_etage", &["oui"]),
        ])),
        Question::new(
            "type_logement_sous_sol_sans_fenetre",
            "Est-il en sous-sol, sans fenêtre ?",
            yes_no(),
        )
        .show(Cond::All(vec![
            appart(),
            eq("type_logement_rdc", &["non"]),
            eq("type_logement_dernier_etage", &["non"]),
        ])),
        Question::new(
            "composition_logement_piece_unique",
            "Combien de pièces à vivre ?",
            Kind::Radio(opts(&[
                ("piece_unique", "Une seule pièce"),
                ("plusieurs_pieces", "Plusieurs pièces"),
            ])),
        ),
        Question::new(
            "composition_logement_superficie",
            "Surface du logement, en m²",
            Kind::Integer { min: 1, max: 9999 },
        )
        .hint("Une estimation suffit.")
        .required_when(profiles(&[
            DeclarantProfile::Locataire,
            DeclarantProfile::BailleurOccupant,
        ])),
        Question::new(
            "composition_logement_nb_pieces",
            "Nombre de pièces à vivre (salon, chambres)",
            Kind::Integer { min: 1, max: 999 },
        )
        .hint("Sans compter cuisine, salle de bain et toilettes.")
        .show(eq(
            "composition_logement_piece_unique",
            &["plusieurs_pieces"],
        )),
        Question::new(
            "type_logement_commodites_piece_a_vivre_9m",
            "Au moins une pièce à vivre fait-elle 9 m² ou plus ?",
            yes_no_nsp(),
        ),
        Question::new(
            "type_logement_commodites_cuisine",
            "Y a-t-il une cuisine ou un coin cuisine ?",
            yes_no(),
        ),
        Question::new(
            "type_logement_commodites_cuisine_collective",
            "Les occupants ont-ils accès à une cuisine partagée ?",
            yes_no(),
        )
        .show(eq("type_logement_commodites_cuisine", &["non"])),
        Question::new(
            "type_logement_commodites_salle_de_bain",
            "Y a-t-il une salle de bain ou une douche ?",
            yes_no(),
        ),
        Question::new(
            "type_logement_commodites_salle_de_bain_collective",
            "Ont-ils accès à une salle de bain partagée ?",
            yes_no(),
        )
        .show(eq("type_logement_commodites_salle_de_bain", &["non"])),
        Question::new(
            "type_logement_commodites_wc",
            "Y a-t-il des toilettes ?",
            yes_no(),
        ),
        Question::new(
            "type_logement_commodites_wc_collective",
            "Ont-ils accès à des toilettes partagées ?",
            yes_no(),
        )
        .show(eq("type_logement_commodites_wc", &["non"])),
        Question::new(
            "type_logement_commodites_wc_cuisine",
            "Les toilettes sont-elles dans la cuisine ?",
            yes_no(),
        )
        .show(Cond::All(vec![
            eq("type_logement_commodites_cuisine", &["oui"]),
            eq("type_logement_commodites_wc", &["oui"]),
        ])),
    ]
}

fn composition_questions() -> Vec<Question> {
    let lease = Cond::Any(vec![
        profiles(&[DeclarantProfile::Locataire, DeclarantProfile::Bailleur]),
        Cond::All(vec![
            profiles(&[
                DeclarantProfile::TiersParticulier,
                DeclarantProfile::TiersPro,
                DeclarantProfile::ServiceSecours,
            ]),
            not(eq(
                "signalement_concerne_profil_detail_profil_occupant",
                &["bailleur_occupant"],
            )),
        ]),
    ]);
    vec![
        Question::new(
            "composition_logement_nombre_personnes",
            "Combien de personnes vivent dans le logement ?",
            Kind::Integer { min: 1, max: 99 },
        ),
        Question::new(
            "composition_logement_nombre_enfants",
            "Dont combien d’enfants (moins de 18 ans) ?",
            Kind::Integer { min: 0, max: 99 },
        ),
        Question::new(
            "composition_logement_enfants",
            "Un enfant de moins de 6 ans vit-il dans le logement ?",
            yes_no(),
        )
        .nsp(&[
            DeclarantProfile::TiersParticulier,
            DeclarantProfile::TiersPro,
            DeclarantProfile::Bailleur,
        ])
        .show(Cond::All(vec![
            not(profiles(&[DeclarantProfile::ServiceSecours])),
            Cond::Custom(|a| {
                get(a, "composition_logement_nombre_enfants")
                    .and_then(|v| v.parse::<u32>().ok())
                    .is_none_or(|n| n > 0)
            }),
        ])),
        Question::new(
            "bail_dpe_date_emmenagement",
            "Date d’entrée dans le logement",
            Kind::PastDate,
        )
        .show(profiles(&[
            DeclarantProfile::Locataire,
            DeclarantProfile::BailleurOccupant,
        ])),
        Question::new("bail_dpe_bail", "Un bail a-t-il été signé ?", yes_no_nsp())
            .show(lease.clone()),
        Question::new(
            "bail_dpe_etat_des_lieux",
            "Un état des lieux a-t-il été fait à l’entrée ?",
            yes_no_nsp(),
        )
        .show(lease),
        Question::new(
            "bail_dpe_invariant",
            "Numéro fiscal du logement (invariant)",
            Kind::Text { max: 12 },
        )
        .hint("Il figure sur l’avis de taxe foncière. Facultatif.")
        .show(profiles(&[
            DeclarantProfile::Locataire,
            DeclarantProfile::BailleurOccupant,
            DeclarantProfile::Bailleur,
        ]))
        .optional(),
        Question::new(
            "bail_dpe_dpe",
            "Un diagnostic de performance énergétique (DPE) a-t-il été fait ?",
            yes_no_nsp(),
        ),
        Question::new(
            "bail_dpe_classe_energetique",
            "Classe énergétique indiquée sur le DPE",
            Kind::Select(opts(&[
                ("A", "A"),
                ("B", "B"),
                ("C", "C"),
                ("D", "D"),
                ("E", "E"),
                ("F", "F"),
                ("G", "G"),
                ("nsp", "Je ne sais pas"),
            ])),
        )
        .show(eq("bail_dpe_dpe", &["oui"])),
        Question::new(
            "desordres_logement_chauffage_details_dpe_annee",
            "Quand le DPE a-t-il été fait ?",
            Kind::Radio(opts(&[
                ("post2023", "En 2023 ou après"),
                ("before2023", "Avant 2023"),
                ("nsp", "Je ne sais pas"),
            ])),
        )
        .show(eq("bail_dpe_dpe", &["oui"])),
    ]
}

fn situation_questions() -> Vec<Question> {
    let third = THIRD_PARTIES.to_vec();
    let not_loc: Vec<DeclarantProfile> = DeclarantProfile::ALL
        .into_iter()
        .filter(|p| *p != DeclarantProfile::Locataire)
        .collect();
    let occupants = || {
        profiles(&[
            DeclarantProfile::Locataire,
            DeclarantProfile::BailleurOccupant,
        ])
    };
    let allocation = || eq("logement_social_allocation", &["oui"]);
    let accompagnement = || eq("travailleur_social_accompagnement", &["oui"]);
    vec![
        Question::new(
            "logement_social_demande_relogement",
            "Avez-vous fait une demande de logement social ou de mutation ?",
            yes_no(),
        )
        .show(occupants()),
        Question::new(
            "logement_social_allocation",
            "Le foyer perçoit-il une aide au logement (APL, ALF, ALS) ?",
            yes_no(),
        )
        .nsp(&third),
        Question::new(
            "logement_social_allocation_caisse",
            "Versée par :",
            Kind::Radio(opts(&[("caf", "La CAF"), ("msa", "La MSA")])),
        )
        .show(allocation()),
        Question::new(
            "logement_social_date_naissance",
            "Date de naissance de l’allocataire",
            Kind::BirthDate,
        )
        .show(allocation()),
        Question::new(
            "logement_social_numero_allocataire",
            "Numéro d’allocataire",
            Kind::Text { max: 25 },
        )
        .show(allocation())
        .optional(),
        Question::new(
            "logement_social_montant_allocation",
            "Montant mensuel de l’aide, en euros",
            Kind::Integer {
                min: 0,
                max: 99_999,
            },
        )
        .show(allocation())
        .optional(),
        Question::new(
            "travailleur_social_quitte_logement",
            "Le foyer souhaite-t-il quitter le logement ?",
            yes_no(),
        )
        .nsp(&not_loc),
        Question::new(
            "travailleur_social_preavis_depart",
            "Un préavis de départ a-t-il été donné ?",
            yes_no(),
        )
        .nsp(&not_loc)
        .show(Cond::All(vec![
            eq("travailleur_social_quitte_logement", &["oui"]),
            not(profiles(&[DeclarantProfile::BailleurOccupant])),
            not(eq(
                "signalement_concerne_profil_detail_profil_occupant",
                &["bailleur_occupant"],
            )),
        ])),
        Question::new(
            "travailleur_social_accompagnement",
            "Le foyer est-il accompagné par un travailleur social ?",
            yes_no(),
        )
        .nsp(&third),
        Question::new(
            "travailleur_social_accompagnement_declarant",
            "Je suis moi-même ce travailleur social",
            Kind::Checkbox,
        )
        .show(Cond::All(vec![
            accompagnement(),
            profiles(&[DeclarantProfile::TiersPro]),
        ]))
        .optional(),
        Question::new(
            "travailleur_social_accompagnement_nom_structure",
            "Nom de la structure qui accompagne le foyer",
            Kind::Text { max: 50 },
        )
        .show(Cond::All(vec![
            accompagnement(),
            not(eq("travailleur_social_accompagnement_declarant", &["1"])),
        ]))
        .optional(),
    ]
}

fn procedure_questions() -> Vec<Question> {
    let consent = |slug: &str, label: &str, who: &[DeclarantProfile]| {
        Question::new(slug, label, Kind::Checkbox).show(profiles(who))
    };
    use DeclarantProfile::*;
    vec![
        Question::new(
            "info_procedure_assurance_contactee",
            "L’assurance habitation a-t-elle été prévenue ?",
            Kind::Radio(opts(&[
                ("oui", "Oui"),
                ("non", "Non"),
                ("pas_assurance_logement", "Le foyer n’a pas d’assurance habitation"),
            ])),
        )
        .nsp(&[TiersParticulier, TiersPro, ServiceSecours]),
        Question::new(
            "info_procedure_reponse_assurance",
            "Qu’a répondu l’assurance ?",
            Kind::Textarea { max: 255 },
        )
        .show(eq("info_procedure_assurance_contactee", &["oui"]))
        .required_when(profiles(&[Locataire, BailleurOccupant, Bailleur])),
        Question::new(
            "info_procedure_depart_apres_travaux",
            "Une fois les travaux faits, le foyer souhaite-t-il rester dans le logement ?",
            yes_no_nsp(),
        )
        .show(not(profiles(&[Bailleur]))),
        Question::new(
            "message_administration",
            "Voulez-vous ajouter quelque chose ?",
            Kind::Textarea { max: 5000 },
        )
        .hint("Décrivez la situation avec vos mots. N’indiquez aucune information sur la santé des personnes.")
        .optional(),
        consent(
            "utilisation_service_ok_prevenir_bailleur",
            "J’accepte que le bailleur soit informé de ce signalement.",
            &[Locataire, TiersParticulier, TiersPro, ServiceSecours],
        ),
        consent(
            "utilisation_service_ok_visite",
            "J’accepte qu’une visite du logement puisse être organisée.",
            &DeclarantProfile::ALL,
        ),
        consent(
            "utilisation_service_ok_demande_logement",
            "J’ai compris que ce signalement n’est pas une demande de logement social.",
            &[Locataire, BailleurOccupant],
        ),
        consent(
            "utilisation_service_ok_signalement_tiers",
            "Je signale pour le compte d’autres personnes et je suis en droit de le faire.",
            &[TiersParticulier, TiersPro, Bailleur, ServiceSecours],
        ),
        consent(
            "utilisation_service_ok_donnees_sante",
            "Je n’ai donné aucune information sur la santé des personnes.",
            &DeclarantProfile::ALL,
        ),
        consent(
            "utilisation_service_ok_cgu",
            "J’accepte les conditions d’utilisation et la politique de données personnelles.",
            &DeclarantProfile::ALL,
        ),
    ]
}

fn complement_questions() -> Vec<Question> {
    use DeclarantProfile::*;
    let ic = |s: &str| format!("informations_complementaires_{s}");
    vec![
        Question::new(
            &ic("situation_occupants_beneficiaire_rsa"),
            "Le foyer perçoit-il le RSA ?",
            yes_no(),
        )
        .show(profiles(&[
            Locataire,
            BailleurOccupant,
            TiersParticulier,
            TiersPro,
        ]))
        .optional(),
        Question::new(
            &ic("situation_occupants_beneficiaire_fsl"),
            "Le foyer a-t-il reçu une aide du fonds de solidarité pour le logement (FSL) ?",
            yes_no(),
        )
        .show(profiles(&[
            Locataire,
            BailleurOccupant,
            TiersParticulier,
            TiersPro,
        ]))
        .optional(),
        Question::new(
            &ic("logement_montant_loyer"),
            "Montant du loyer mensuel, charges comprises, en euros",
            Kind::Integer {
                min: 0,
                max: 99_999,
            },
        )
        .show(profiles(&[Locataire, TiersParticulier, TiersPro, Bailleur]))
        .optional(),
        Question::new(
            &ic("logement_nombre_etages"),
            "Nombre d’étages de l’immeuble ou de la maison",
            Kind::Integer { min: 0, max: 200 },
        )
        .optional(),
        Question::new(
            &ic("logement_annee_construction"),
            "Année de construction, si vous la connaissez",
            Kind::Year,
        )
        .hint("Par exemple : 1965. Une date approximative suffit.")
        .optional(),
    ]
}

/// Whether a date string `YYYY-MM-DD` is valid; returns it.
pub fn parse_date(value: &str) -> Option<time::Date> {
    let format = time::macros::format_description!("[year]-[month]-[day]");
    time::Date::parse(value.trim(), &format).ok()
}

/// `MM/AAAA` → the first day of that month.
pub fn parse_month_year(value: &str) -> Option<time::Date> {
    let (month, year) = value.trim().split_once('/')?;
    if month.len() != 2 || year.len() != 4 {
        return None;
    }
    let month: u8 = month.parse().ok()?;
    let year: i32 = year.parse().ok()?;
    if !(1900..=2099).contains(&year) {
        return None;
    }
    time::Date::from_calendar_date(year, time::Month::try_from(month).ok()?, 1).ok()
}

/// A field error, in French.
pub type FieldErrors = Vec<(String, String)>;

/// Checks one screen's answers (already merged into `a`): drops the answers
/// of hidden questions, normalises phones, and returns the errors by field.
pub fn validate(questions: &[Question], a: &mut Answers, today: time::Date) -> FieldErrors {
    let mut errors = Vec::new();
    for q in questions {
        if !q.show.eval(a) {
            a.remove(&q.slug);
            if matches!(q.kind, Kind::Phone) {
                a.remove(&format!("{}_countrycode", q.slug));
            }
            continue;
        }
        let value = a
            .get(&q.slug)
            .map(|v| v.trim().to_owned())
            .unwrap_or_default();
        if value.is_empty() {
            a.remove(&q.slug);
            if q.required.eval(a) {
                let message = match q.kind {
                    Kind::Radio(_) | Kind::Select(_) => "Choisissez une réponse.",
                    Kind::Checkbox => "Cochez cette case pour continuer.",
                    _ => "Ce champ est obligatoire.",
                };
                errors.push((q.slug.clone(), message.to_owned()));
            }
            continue;
        }
        let error = check(q, &value, a, today);
        match error {
            Err(message) => errors.push((q.slug.clone(), message)),
            Ok(normalized) => {
                a.insert(q.slug.clone(), normalized);
            }
        }
    }
    errors
}

fn too_long(max: usize) -> String {
    format!("{max} caractères au maximum.")
}

fn check(q: &Question, value: &str, a: &Answers, today: time::Date) -> Result<String, String> {
    let chars = value.chars().count();
    match &q.kind {
        Kind::Text { max } | Kind::Textarea { max } | Kind::Hidden { max } => {
            if chars > *max {
                return Err(too_long(*max));
            }
            if q.slug == "adresse_logement_adresse_detail_numero" {
                if chars < 6 {
                    return Err(
                        "Indiquez le numéro et le nom de la voie (6 caractères au moins).".into(),
                    );
                }
                if value.bytes().all(|b| b.is_ascii_digit() || b == b' ') {
                    return Err("Indiquez aussi le nom de la voie.".into());
                }
            }
            Ok(value.to_owned())
        }
        Kind::Email => Email::parse(value)
            .map(Email::into_inner)
            .map_err(|e| e.message().to_owned()),
        Kind::Phone => Phone::parse(value)
            .map(Phone::into_inner)
            .map_err(|e| e.message().to_owned()),
        Kind::Integer { min, max } => {
            if !value.bytes().all(|b| b.is_ascii_digit()) || value.len() > 9 {
                return Err("Saisissez un nombre entier, en chiffres.".into());
            }
            let n: i64 = value.parse().map_err(|_| "Saisissez un nombre entier.")?;
            if n < *min || n > *max {
                return Err(format!("Saisissez un nombre entre {min} et {max}."));
            }
            if q.slug == "composition_logement_nombre_enfants"
                && let Some(persons) = get(a, "composition_logement_nombre_personnes")
                    .and_then(|p| p.parse::<i64>().ok())
                && n > persons
            {
                return Err("Il ne peut pas y avoir plus d’enfants que de personnes.".into());
            }
            Ok(n.to_string())
        }
        Kind::PastDate | Kind::BirthDate => {
            let date = parse_date(value).ok_or("Saisissez une date valide (jj/mm/aaaa).")?;
            let floor = time::macros::date!(1900 - 01 - 01);
            if date <= floor {
                return Err("Saisissez une date après 1900.".into());
            }
            match q.kind {
                Kind::BirthDate if date >= today => {
                    Err("La date de naissance doit être passée.".into())
                }
                _ if date > today => Err("La date ne peut pas être dans le futur.".into()),
                _ => Ok(date.to_string()),
            }
        }
        Kind::MonthYear => {
            let date = parse_month_year(value)
                .ok_or("Saisissez le mois et l’année au format MM/AAAA, par exemple 03/2026.")?;
            if date > today {
                return Err("Cette date ne peut pas être dans le futur.".into());
            }
            Ok(value.to_owned())
        }
        Kind::PostalCode => PostalCode::parse(value)
            .map(PostalCode::into_inner)
            .map_err(|e| e.message().to_owned()),
        Kind::Radio(_) | Kind::Select(_) => {
            if q.options(a).iter().any(|(v, _)| v == value) {
                Ok(value.to_owned())
            } else {
                Err("Choisissez une des réponses proposées.".into())
            }
        }
        Kind::Checkbox => Ok("1".to_owned()),
        Kind::Year => match value.parse::<i32>() {
            Ok(year) if value.len() == 4 && (1000..=today.year()).contains(&year) => {
                Ok(value.to_owned())
            }
            _ => Err("Saisissez une année sur 4 chiffres, par exemple 1965.".into()),
        },
    }
}

/// The answers a deep link (`/signalement/adresse?profil=...`) gives in
/// advance (docs/form.md §1.1); unknown codes give none.
pub fn deep_link_answers(code: &str) -> Vec<(&'static str, &'static str)> {
    let occupant = |detail| {
        vec![
            ("signalement_concerne_profil", "logement_occupez"),
            ("signalement_concerne_profil_detail_occupant", detail),
        ]
    };
    let third = |detail| {
        vec![
            ("signalement_concerne_profil", "autre_logement"),
            ("signalement_concerne_profil_detail_tiers", detail),
        ]
    };
    let social = "signalement_concerne_logement_social_autre_tiers";
    match code {
        "locataire" => occupant("locataire"),
        "bailleur_occupant" => occupant("bailleur_occupant"),
        "locataire_parc_prive" => [occupant("locataire"), vec![(social, "non")]].concat(),
        "locataire_parc_public" => [occupant("locataire"), vec![(social, "oui")]].concat(),
        "tiers_particulier" | "tiers_pro" | "bailleur" | "service_secours" => {
            third(DeclarantProfile::parse(code).map_or("", DeclarantProfile::code))
        }
        "bailleur_social" => [
            third("bailleur"),
            vec![
                (
                    "signalement_concerne_profil_detail_bailleur_bailleur",
                    "organisme_societe",
                ),
                (social, "oui"),
            ],
        ]
        .concat(),
        _ => Vec::new(),
    }
}

/// The profile-specific answers to forget when the profile changes: every
/// answer except the address and the profile screen's.
pub fn forget_profile_answers(a: &mut Answers) {
    let keep: Vec<String> = address_questions()
        .into_iter()
        .chain(profile_questions())
        .map(|q| q.slug)
        .collect();
    a.retain(|k, _| keep.contains(k));
}

/// A human-readable answer for the summary.
pub fn display_answer(q: &Question, a: &Answers) -> Option<String> {
    let value = get(a, &q.slug)?;
    Some(match &q.kind {
        Kind::Radio(_) | Kind::Select(_) => q
            .options(a)
            .into_iter()
            .find(|(v, _)| v == value)
            .map_or_else(|| value.to_owned(), |(_, l)| l),
        Kind::Checkbox => "Oui".to_owned(),
        Kind::PastDate | Kind::BirthDate => parse_date(value)
            .map(|d| format!("{:02}/{:02}/{}", d.day(), u8::from(d.month()), d.year()))
            .unwrap_or_else(|| value.to_owned()),
        _ => value.to_owned(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn answers(pairs: &[(&str, &str)]) -> Answers {
        pairs
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect()
    }

    const TODAY: time::Date = time::macros::date!(2026 - 11 - 23);

    #[test]
    fn the_profile_follows_the_first_answer() {
        let a = answers(&[
            ("signalement_concerne_profil", "autre_logement"),
            ("signalement_concerne_profil_detail_occupant", "locataire"),
            ("signalement_concerne_profil_detail_tiers", "tiers_pro"),
        ]);
        assert_eq!(profile(&a), Some(DeclarantProfile::TiersPro));
    }

    #[test]
    fn hidden_questions_are_never_required_and_their_answers_are_dropped() {
        let mut a = answers(&[
            ("signalement_concerne_profil", "logement_occupez"),
            ("signalement_concerne_profil_detail_occupant", "locataire"),
            ("signalement_concerne_profil_detail_tiers", "bailleur"),
            ("signalement_concerne_logement_social_autre_tiers", "non"),
        ]);
        let errors = validate(&profile_questions(), &mut a, TODAY);
        assert!(errors.is_empty(), "{errors:?}");
        assert!(!a.contains_key("signalement_concerne_profil_detail_tiers"));
    }

    #[test]
    fn children_cannot_outnumber_occupants_and_dates_cannot_be_future() {
        let mut a = answers(&[
            ("signalement_concerne_profil", "logement_occupez"),
            ("signalement_concerne_profil_detail_occupant", "locataire"),
            ("composition_logement_nombre_personnes", "2"),
            ("composition_logement_nombre_enfants", "3"),
            ("bail_dpe_date_emmenagement", "2027-01-01"),
        ]);
        let errors = validate(&composition_questions(), &mut a, TODAY);
        let fields: Vec<_> = errors.iter().map(|(f, _)| f.as_str()).collect();
        assert!(fields.contains(&"composition_logement_nombre_enfants"));
        assert!(fields.contains(&"bail_dpe_date_emmenagement"));
    }

    #[test]
    fn client_conditions_keep_only_what_the_screen_decides() {
        let a = answers(&[("signalement_concerne_profil", "logement_occupez")]);
        let q = dwelling_questions()
            .into_iter()
            .find(|q| q.slug == "type_logement_dernier_etage")
            .unwrap();
        let local = |s: &str| s.starts_with("type_logement");
        let client = q.show.for_client(&a, &local).unwrap_err();
        assert_eq!(client["all"].as_array().map(Vec::len), Some(2));
        let third = dwelling_questions()
            .into_iter()
            .find(|q| q.slug == "zone_concernee_constatation_desordres")
            .unwrap();
        assert_eq!(third.show.for_client(&a, &local), Ok(false));
    }

    #[test]
    fn deep_links_pre_answer_the_profile() {
        let answers: Answers = deep_link_answers("bailleur_social")
            .into_iter()
            .map(|(k, v)| (k.to_owned(), v.to_owned()))
            .collect();
        assert_eq!(profile(&answers), Some(DeclarantProfile::Bailleur));
        assert_eq!(is_social_housing(&answers), Some(true));
        assert!(deep_link_answers("n_importe_quoi").is_empty());
    }

    #[test]
    fn month_year_dates_are_checked() {
        assert!(parse_month_year("03/2026").is_some());
        assert!(parse_month_year("13/2026").is_none());
        assert!(parse_month_year("3/2026").is_none());
    }
}
