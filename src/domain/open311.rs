//! Open311 GeoReport v2 (docs/open311.md): the rules of the public
//! endpoint, free of HTTP and SQL.
//!
//! - services: the public form's defect categories, and each one's
//!   definition (its attributes) derived from the form's own questions, so
//!   that a request posted through Open311 is asked exactly what the form
//!   asks;
//! - requests: which reports are public, how a report status reads
//!   (`open` / `closed` and a fixed French note), the public id, the
//!   commune-level position;
//! - the GET filters (dates, statuses, paging) and the POST body turned into
//!   form answers, which then go through the form's own validation.

use std::collections::BTreeMap;

use time::{Duration, OffsetDateTime};

use super::case::ReportStatus;
use super::report::{
    defects::{self, COMPOSITION_CATEGORY, Category},
    form::{Answers, DeclarantProfile, Kind, Question, Step},
};

/// The last change of what this endpoint serves (discovery's `changeset`).
pub const CHANGESET: &str = "2026-12-06T00:00:00Z";
/// The widest `start_date`..`end_date` span a client may ask (the spec's).
pub const MAX_SPAN_DAYS: i64 = 90;
/// Requests per page when the client does not say, and the most it may ask.
pub const MAX_PAGE_SIZE: u32 = 1000;

// ---------------------------------------------------------------------------
// Statuses and visibility

/// Who may see a report through Open311, by its status code.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Visibility {
    /// Listed by `GET requests` and readable by id.
    Listed,
    /// Readable by its id only (whoever posted it may follow it), not listed.
    ById,
    /// Never shown: as if it did not exist.
    Hidden,
}

/// A report's status as Open311 tells it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PublicStatus {
    /// `open` or `closed`.
    pub code: &'static str,
    /// A fixed French phrase: never a text someone wrote.
    pub note: &'static str,
    pub visibility: Visibility,
}

/// How Open311 tells a report's status (docs/open311.md §3.1).
pub fn public_status(status: ReportStatus) -> PublicStatus {
    let (code, note, visibility) = match status {
        ReportStatus::NeedValidation => (
            "open",
            "Signalement reçu, en attente de validation.",
            Visibility::ById,
        ),
        ReportStatus::Active => (
            "open",
            "Signalement validé, en cours de traitement.",
            Visibility::Listed,
        ),
        ReportStatus::Closed => ("closed", "Signalement clôturé.", Visibility::Listed),
        ReportStatus::Refused => ("closed", "Signalement non retenu.", Visibility::ById),
        ReportStatus::Archived => ("closed", "", Visibility::Hidden),
    };
    PublicStatus {
        code,
        note,
        visibility,
    }
}

/// The report statuses `GET requests` lists for an Open311 status.
pub fn listed_statuses(open311: &str) -> &'static [ReportStatus] {
    match open311 {
        "open" => &[ReportStatus::Active],
        "closed" => &[ReportStatus::Closed],
        _ => &[],
    }
}

/// The report statuses readable by id.
pub const BY_ID_STATUSES: [ReportStatus; 4] = [
    ReportStatus::NeedValidation,
    ReportStatus::Active,
    ReportStatus::Closed,
    ReportStatus::Refused,
];

// ---------------------------------------------------------------------------
// Public ids and positions

/// A report's public id: the territory (département) code and the
/// reference, unique together (`13-2026-42`). Never a database id.
pub fn request_id(territory_code: &str, reference: &str) -> String {
    format!("{territory_code}-{reference}")
}

/// The territory code and the reference of a public id.
pub fn parse_request_id(id: &str) -> Option<(&str, &str)> {
    let (territory, reference) = id.trim().split_once('-')?;
    let territory_ok =
        (1..=3).contains(&territory.len()) && territory.bytes().all(|b| b.is_ascii_alphanumeric());
    let reference_ok = !reference.is_empty()
        && reference.len() <= 20
        && reference.bytes().all(|b| b.is_ascii_digit() || b == b'-');
    (territory_ok && reference_ok).then_some((territory, reference))
}

/// A coordinate blurred to a 0.01° grid (about 1.1 km north-south, 0.75 km
/// east-west in mainland France): the neighbourhood of the commune, never
/// the building.
pub fn blur(coordinate: f64) -> f64 {
    (coordinate * 100.0).round() / 100.0
}

/// A W3C datetime with its time zone (UTC).
pub fn w3c(at: OffsetDateTime) -> String {
    let at = at.to_offset(time::UtcOffset::UTC);
    format!(
        "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}Z",
        at.year(),
        u8::from(at.month()),
        at.day(),
        at.hour(),
        at.minute(),
        at.second()
    )
}

// ---------------------------------------------------------------------------
// Services

/// A service: one defect category of the public form.
#[derive(Debug, Clone, PartialEq)]
pub struct Service {
    pub code: String,
    pub name: String,
    pub description: String,
    /// `Bâtiment` or `Logement`.
    pub group: &'static str,
    pub keywords: String,
}

fn zone_label(zone: &str) -> &'static str {
    if zone == "batiment" {
        "Bâtiment"
    } else {
        "Logement"
    }
}

/// The categories a request may be filed under: the form's, without the
/// one derived from the dwelling's composition (it has no screen) and the
/// third-party-only cleanliness category kept (Open311 senders are third
/// parties).
pub fn service_categories(taxonomy: &[Category]) -> impl Iterator<Item = &Category> {
    taxonomy.iter().filter(|c| c.code != COMPOSITION_CATEGORY)
}

pub fn services(taxonomy: &[Category]) -> Vec<Service> {
    service_categories(taxonomy)
        .map(|c| Service {
            code: c.code.clone(),
            name: c.label.clone(),
            description: format!(
                "{} : {}.",
                c.label,
                c.criteria
                    .iter()
                    .map(|cr| cr.label.as_str())
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
            group: zone_label(&c.zone),
            keywords: format!("désordre,{},{}", zone_label(&c.zone).to_lowercase(), c.code),
        })
        .collect()
}

/// The datatype of an attribute.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Datatype {
    String,
    Number,
    Text,
    SingleValueList,
    MultiValueList,
}

impl Datatype {
    pub fn code(self) -> &'static str {
        match self {
            Self::String => "string",
            Self::Number => "number",
            Self::Text => "text",
            Self::SingleValueList => "singlevaluelist",
            Self::MultiValueList => "multivaluelist",
        }
    }
}

/// One attribute of a service definition.
#[derive(Debug, Clone, PartialEq)]
pub struct Attribute {
    pub code: String,
    pub datatype: Datatype,
    pub required: bool,
    pub datatype_description: String,
    pub order: u32,
    pub description: String,
    /// (key, name) for the list datatypes.
    pub values: Vec<(String, String)>,
}

/// The profile every Open311 request is filed under: a partner system files
/// for someone else, as a professional (docs/open311.md).
pub const PROFILE: DeclarantProfile = DeclarantProfile::TiersPro;

/// The answers every Open311 request starts from: the profile screen's
/// fixed part.
pub fn base_answers() -> Answers {
    let mut a = Answers::new();
    a.insert(
        "signalement_concerne_profil".into(),
        "autre_logement".into(),
    );
    a.insert(
        "signalement_concerne_profil_detail_tiers".into(),
        PROFILE.code().into(),
    );
    a
}

/// Form slugs that Open311's own fields fill (address, the sender's
/// identity, the description), or that the endpoint sets itself.
fn set_by_endpoint(slug: &str) -> bool {
    const FIXED: [&str; 8] = [
        "signalement_concerne_profil",
        "signalement_concerne_profil_detail_tiers",
        "vos_coordonnees_tiers_nom_organisme",
        "vos_coordonnees_tiers_nom",
        "vos_coordonnees_tiers_prenom",
        "vos_coordonnees_tiers_email",
        "vos_coordonnees_tiers_tel",
        "message_administration",
    ];
    FIXED.contains(&slug)
        || slug == "zone_concernee_zone"
        || slug.starts_with("adresse_logement_")
        || slug.starts_with("utilisation_service_ok_")
}

/// The answers the endpoint sets itself (profile, zone, consents) for a
/// request of `category`.
pub fn fixed_answers(category: &Category, organisation: &str) -> Answers {
    let mut a = base_answers();
    a.insert("zone_concernee_zone".into(), category.zone.clone());
    a.insert(
        "vos_coordonnees_tiers_nom_organisme".into(),
        organisation.into(),
    );
    // The API account's terms of use stand for the form's consents
    // (docs/open311.md): the sender accepted them for every request.
    for q in Step::Procedure.questions(&a) {
        if q.slug.starts_with("utilisation_service_ok_") && q.show.eval(&a) {
            a.insert(q.slug, "1".into());
        }
    }
    a
}

fn describe(kind: &Kind) -> (Datatype, String) {
    match kind {
        Kind::Text { max } | Kind::Hidden { max } => (
            Datatype::String,
            format!("Texte, {max} caractères au plus."),
        ),
        Kind::Textarea { max } => (Datatype::Text, format!("Texte, {max} caractères au plus.")),
        Kind::Email => (Datatype::String, "Adresse e-mail.".into()),
        Kind::Phone => (Datatype::String, "Numéro de téléphone français.".into()),
        Kind::Integer { min, max } => {
            (Datatype::Number, format!("Nombre entier de {min} à {max}."))
        }
        Kind::PastDate => (
            Datatype::String,
            "Date AAAA-MM-JJ, pas dans le futur.".into(),
        ),
        Kind::BirthDate => (Datatype::String, "Date AAAA-MM-JJ, passée.".into()),
        Kind::MonthYear => (Datatype::String, "Mois MM/AAAA, pas dans le futur.".into()),
        Kind::Year => (Datatype::Number, "Année sur 4 chiffres.".into()),
        Kind::PostalCode => (Datatype::String, "Code postal, 5 chiffres.".into()),
        Kind::Radio(_) | Kind::Select(_) => (Datatype::SingleValueList, "Une valeur.".into()),
        Kind::Checkbox => (Datatype::SingleValueList, "1 pour oui.".into()),
    }
}

fn attribute_of(q: &Question, base: &Answers) -> Attribute {
    let (datatype, mut datatype_description) = describe(&q.kind);
    let values = match &q.kind {
        Kind::Checkbox => vec![("1".to_owned(), "Oui".to_owned())],
        _ => q.options(base),
    };
    let shown = q.show.eval(base);
    if !shown {
        datatype_description.push_str(" Demandé seulement selon d’autres réponses.");
    }
    Attribute {
        code: q.slug.clone(),
        datatype,
        required: shown && q.required.eval(base),
        datatype_description,
        order: 0,
        description: q.label.clone(),
        values,
    }
}

/// Where a room list of a criterion is answered: one multi-value attribute
/// `<criterion>_pieces` instead of the form's three checkboxes.
fn rooms_attribute(criterion: &str) -> String {
    format!("{criterion}_pieces")
}

/// The attributes of a service: the category's criteria (one multi-value
/// list), what each criterion asks, then the form's other questions for a
/// professional third party (those the Open311 fields do not cover).
pub fn service_definition(category: &Category) -> Vec<Attribute> {
    let mut base = base_answers();
    // Every room offered, so that the room lists are complete.
    for (slug, value) in [
        ("composition_logement_piece_unique", "plusieurs_pieces"),
        ("type_logement_commodites_cuisine", "oui"),
        ("type_logement_commodites_salle_de_bain", "oui"),
        ("type_logement_commodites_wc", "oui"),
    ] {
        base.insert(slug.into(), value.into());
    }
    let mut out = vec![Attribute {
        code: category.code.clone(),
        datatype: Datatype::MultiValueList,
        required: true,
        datatype_description: "Un ou plusieurs problèmes de la liste.".into(),
        order: 0,
        description: format!("{} : les problèmes constatés", category.label),
        values: category
            .criteria
            .iter()
            .map(|c| (c.code.clone(), c.label.clone()))
            .collect(),
    }];
    for q in defects::questions(&[category], &base) {
        if q.slug == category.code || category.criteria.iter().any(|c| c.code == q.slug) {
            continue;
        }
        if let Some(criterion) = room_criterion(category, &q.slug) {
            let code = rooms_attribute(criterion);
            if let Some(existing) = out.iter_mut().find(|a| a.code == code) {
                existing
                    .values
                    .push((room_of(&q.slug).into(), room_label(&q.label)));
            } else {
                out.push(Attribute {
                    code,
                    datatype: Datatype::MultiValueList,
                    required: false,
                    datatype_description:
                        "Les pièces touchées, au moins une si le logement a plusieurs pièces."
                            .into(),
                    order: 0,
                    description: q
                        .label
                        .rsplit_once(" : ")
                        .map_or(q.label.clone(), |(l, _)| format!("{l} : pièces concernées")),
                    values: vec![(room_of(&q.slug).into(), room_label(&q.label))],
                });
            }
            continue;
        }
        let mut attribute = attribute_of(&q, &base);
        attribute.required = false;
        attribute
            .datatype_description
            .push_str(" Requis quand le problème correspondant est choisi.");
        out.push(attribute);
    }
    let common = base_answers();
    for step in Step::ALL {
        if matches!(
            step,
            Step::Adresse | Step::DesordresBatiment | Step::DesordresLogement | Step::Recapitulatif
        ) {
            continue;
        }
        for q in step.questions(&common) {
            if set_by_endpoint(&q.slug) || matches!(q.kind, Kind::Hidden { .. }) {
                continue;
            }
            // The profile screen: only what a professional third party is
            // asked (the other profiles' questions cannot apply).
            if matches!(step, Step::Profil | Step::VosCoordonnees) && !q.show.eval(&common) {
                continue;
            }
            out.push(attribute_of(&q, &common));
        }
    }
    for (i, attribute) in out.iter_mut().enumerate() {
        attribute.order = u32::try_from(i + 1).unwrap_or(u32::MAX);
    }
    out
}

fn room_criterion<'a>(category: &'a Category, slug: &str) -> Option<&'a str> {
    category.criteria.iter().map(|c| c.code.as_str()).find(|c| {
        slug.strip_prefix(*c)
            .and_then(|rest| rest.strip_prefix("_pieces_"))
            .is_some_and(|room| ["piece_a_vivre", "cuisine", "salle_de_bain"].contains(&room))
    })
}

fn room_of(slug: &str) -> &str {
    ["piece_a_vivre", "cuisine", "salle_de_bain"]
        .into_iter()
        .find(|room| slug.ends_with(room))
        .unwrap_or_default()
}

fn room_label(label: &str) -> String {
    label
        .rsplit_once(" : ")
        .map_or(label, |(_, room)| room)
        .to_owned()
}

// ---------------------------------------------------------------------------
// Errors

/// An Open311 error: the HTTP status and the list of `{code, description}`.
#[derive(Debug, Clone, PartialEq)]
pub struct Open311Error {
    pub status: u16,
    pub errors: Vec<(u16, String)>,
}

impl Open311Error {
    pub fn new(status: u16, description: impl Into<String>) -> Self {
        Self {
            status,
            errors: vec![(status, description.into())],
        }
    }
    pub fn bad_request(description: impl Into<String>) -> Self {
        Self::new(400, description)
    }
    pub fn not_found(description: impl Into<String>) -> Self {
        Self::new(404, description)
    }
}

// ---------------------------------------------------------------------------
// GET requests: filters

/// The filters of `GET requests`, checked.
#[derive(Debug, Clone, PartialEq)]
pub enum RequestQuery {
    /// `service_request_id`: these ids, every other filter ignored.
    Ids(Vec<(String, String)>),
    List(ListQuery),
}

#[derive(Debug, Clone, PartialEq)]
pub struct ListQuery {
    pub service_codes: Vec<String>,
    pub start: OffsetDateTime,
    pub end: OffsetDateTime,
    /// The report statuses asked (`active`, `closed`).
    pub statuses: Vec<ReportStatus>,
    pub page: u32,
    pub page_size: u32,
}

impl ListQuery {
    pub fn offset(&self) -> u64 {
        u64::from(self.page - 1) * u64::from(self.page_size)
    }
}

/// The most ids `service_request_id` may list.
pub const MAX_IDS: usize = 100;

fn present<'a>(params: &'a BTreeMap<String, String>, name: &str) -> Option<&'a str> {
    params.get(name).map(|v| v.trim()).filter(|v| !v.is_empty())
}

fn comma_list(value: &str) -> Vec<String> {
    value
        .split(',')
        .map(str::trim)
        .filter(|v| !v.is_empty())
        .map(str::to_owned)
        .collect()
}

fn parse_datetime(name: &str, value: &str) -> Result<OffsetDateTime, Open311Error> {
    OffsetDateTime::parse(value, &time::format_description::well_known::Rfc3339).map_err(|_| {
        Open311Error::bad_request(format!(
            "{name} n’est pas une date W3C avec fuseau horaire (ex. 2026-01-31T00:00:00Z)."
        ))
    })
}

fn parse_positive(name: &str, value: Option<&str>, default: u32) -> Result<u32, Open311Error> {
    match value {
        None => Ok(default),
        Some(v) => {
            v.parse::<u32>().ok().filter(|n| *n >= 1).ok_or_else(|| {
                Open311Error::bad_request(format!("{name} doit être un entier ≥ 1."))
            })
        }
    }
}

/// Checks the query of `GET requests` (empty parameter = absent).
pub fn parse_request_query(
    params: &BTreeMap<String, String>,
    now: OffsetDateTime,
) -> Result<RequestQuery, Open311Error> {
    if let Some(ids) = present(params, "service_request_id") {
        let ids = comma_list(ids);
        if ids.len() > MAX_IDS {
            return Err(Open311Error::bad_request(format!(
                "service_request_id : {MAX_IDS} identifiants au plus."
            )));
        }
        // An id that cannot exist matches nothing, like an unknown one.
        let parsed = ids
            .iter()
            .filter_map(|id| parse_request_id(id))
            .map(|(t, r)| (t.to_owned(), r.to_owned()))
            .collect();
        return Ok(RequestQuery::Ids(parsed));
    }
    let span = Duration::days(MAX_SPAN_DAYS);
    let start = present(params, "start_date")
        .map(|v| parse_datetime("start_date", v))
        .transpose()?;
    let end = present(params, "end_date")
        .map(|v| parse_datetime("end_date", v))
        .transpose()?;
    let (start, end) = match (start, end) {
        (Some(s), Some(e)) => (s, e),
        (Some(s), None) => (s, (s + span).min(now)),
        (None, Some(e)) => (e - span, e),
        (None, None) => (now - span, now),
    };
    if end < start {
        return Err(Open311Error::bad_request(
            "end_date doit suivre start_date.",
        ));
    }
    if end - start > span {
        return Err(Open311Error::bad_request(format!(
            "L’intervalle entre start_date et end_date ne peut dépasser {MAX_SPAN_DAYS} jours."
        )));
    }
    let mut statuses: Vec<ReportStatus> = Vec::new();
    match present(params, "status") {
        None => {
            statuses.extend(listed_statuses("open"));
            statuses.extend(listed_statuses("closed"));
        }
        Some(list) => {
            for status in comma_list(list) {
                let found = listed_statuses(&status.to_ascii_lowercase());
                if found.is_empty() {
                    return Err(Open311Error::bad_request(format!(
                        "status : « {status} » inconnu (open ou closed)."
                    )));
                }
                statuses.extend(found);
            }
        }
    }
    statuses.sort_unstable_by_key(|s| s.as_str());
    statuses.dedup();
    let page = parse_positive("page", present(params, "page"), 1)?;
    let page_size = parse_positive("page_size", present(params, "page_size"), MAX_PAGE_SIZE)?;
    if page_size > MAX_PAGE_SIZE {
        return Err(Open311Error::bad_request(format!(
            "page_size : {MAX_PAGE_SIZE} au plus."
        )));
    }
    Ok(RequestQuery::List(ListQuery {
        service_codes: present(params, "service_code").map_or_else(Vec::new, comma_list),
        start,
        end,
        statuses,
        page,
        page_size,
    }))
}

// ---------------------------------------------------------------------------
// POST requests: from the body to form answers

/// What the body of `POST requests` says, the key aside.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct PostedRequest {
    pub service_code: Option<String>,
    pub address_string: Option<String>,
    pub has_position: bool,
    pub email: Option<String>,
    pub first_name: Option<String>,
    pub last_name: Option<String>,
    pub phone: Option<String>,
    pub description: Option<String>,
    /// `attribute[CODE]` and `attribute[CODE][]` values, in order.
    pub attributes: BTreeMap<String, Vec<String>>,
}

impl PostedRequest {
    /// Reads the url-encoded pairs (empty values are absent).
    pub fn from_pairs(pairs: &[(String, String)]) -> Self {
        let mut out = Self::default();
        for (key, value) in pairs {
            let value = value.trim();
            if value.is_empty() {
                continue;
            }
            let v = Some(value.to_owned());
            match key.as_str() {
                "service_code" => out.service_code = v,
                "address_string" => out.address_string = v,
                "lat" | "long" => out.has_position = true,
                "email" => out.email = v,
                "first_name" => out.first_name = v,
                "last_name" => out.last_name = v,
                "phone" => out.phone = v,
                "description" => out.description = v,
                other => {
                    if let Some(code) = other
                        .strip_prefix("attribute[")
                        .map(|rest| rest.strip_suffix("[]").unwrap_or(rest))
                        .and_then(|rest| rest.strip_suffix(']'))
                    {
                        out.attributes
                            .entry(code.to_owned())
                            .or_default()
                            .push(value.to_owned());
                    }
                }
            }
        }
        out
    }
}

/// The parts of an `address_string`: street, postal code, commune.
pub fn split_address(address: &str) -> Option<(String, String, String)> {
    let words: Vec<&str> = address
        .split(|c: char| c.is_whitespace() || c == ',')
        .filter(|w| !w.is_empty())
        .collect();
    let at = words
        .iter()
        .rposition(|w| w.len() == 5 && w.bytes().all(|b| b.is_ascii_digit()))?;
    let street = words[..at].join(" ");
    let city = words[at + 1..].join(" ");
    (!street.is_empty() && !city.is_empty()).then(|| (street, words[at].to_owned(), city))
}

/// The form answers of a posted request for `category`, or the errors of
/// what cannot even be read as answers (the form's validation comes next).
pub fn answers_of(
    posted: &PostedRequest,
    category: &Category,
    organisation: &str,
) -> Result<Answers, Vec<String>> {
    let mut errors = Vec::new();
    let mut a = fixed_answers(category, organisation);
    match posted.address_string.as_deref().map(split_address) {
        Some(Some((street, postal_code, city))) => {
            a.insert("adresse_logement_adresse_detail_numero".into(), street);
            a.insert(
                "adresse_logement_adresse_detail_code_postal".into(),
                postal_code,
            );
            a.insert("adresse_logement_adresse_detail_commune".into(), city);
        }
        Some(None) => errors.push(
            "address_string : écrivez « numéro et voie, code postal, commune » \
             (ex. 12 rue de la République 13001 Marseille)."
                .to_owned(),
        ),
        None if posted.has_position => errors.push(
            "address_string est requis : la position lat/long seule ne permet pas de \
             retrouver la commune."
                .to_owned(),
        ),
        None => errors.push("address_string est requis.".to_owned()),
    }
    for (slug, value) in [
        ("vos_coordonnees_tiers_nom", &posted.last_name),
        ("vos_coordonnees_tiers_prenom", &posted.first_name),
        ("vos_coordonnees_tiers_email", &posted.email),
        ("vos_coordonnees_tiers_tel", &posted.phone),
        ("message_administration", &posted.description),
    ] {
        if let Some(value) = value {
            a.insert(slug.into(), value.clone());
        }
    }
    let definition = service_definition(category);
    for (code, values) in &posted.attributes {
        let Some(attribute) = definition.iter().find(|d| d.code == *code) else {
            errors.push(format!(
                "attribute[{code}] : attribut inconnu du service {}.",
                category.code
            ));
            continue;
        };
        let listed = |v: &String| attribute.values.iter().any(|(key, _)| key == v);
        if !attribute.values.is_empty()
            && let Some(bad) = values.iter().find(|v| !listed(v))
        {
            errors.push(format!("attribute[{code}] : valeur « {bad} » inconnue."));
            continue;
        }
        if attribute.datatype != Datatype::MultiValueList && values.len() > 1 {
            errors.push(format!("attribute[{code}] : une seule valeur attendue."));
            continue;
        }
        if *code == category.code {
            a.insert(category.code.clone(), "1".into());
            for criterion in values {
                a.insert(criterion.clone(), "1".into());
            }
        } else if let Some(criterion) = code.strip_suffix("_pieces")
            && attribute.datatype == Datatype::MultiValueList
        {
            for room in values {
                a.insert(format!("{criterion}_pieces_{room}"), "1".into());
            }
        } else if let Some(value) = values.first() {
            a.insert(code.clone(), value.clone());
        }
    }
    if !posted.attributes.contains_key(&category.code) {
        errors.push(format!(
            "attribute[{}] est requis : choisissez au moins un problème.",
            category.code
        ));
    }
    if errors.is_empty() {
        Ok(a)
    } else {
        Err(errors)
    }
}

/// The attribute a form slug is answered through (for error messages).
pub fn attribute_for_slug(category: &Category, slug: &str) -> String {
    if let Some(criterion) = room_criterion(category, slug) {
        return rooms_attribute(criterion);
    }
    match slug {
        "vos_coordonnees_tiers_nom" => "last_name".into(),
        "vos_coordonnees_tiers_prenom" => "first_name".into(),
        "vos_coordonnees_tiers_email" => "email".into(),
        "vos_coordonnees_tiers_tel" => "phone".into(),
        "message_administration" => "description".into(),
        s if s.starts_with("adresse_logement_") => "address_string".into(),
        s if category.criteria.iter().any(|c| c.code == s) => {
            format!("attribute[{}]", category.code)
        }
        s => format!("attribute[{s}]"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::report::defects::{Criterion, PrecisionRef};
    use crate::domain::report::form;

    fn category() -> Category {
        let single = |code: &str, label: &str| Criterion {
            code: code.into(),
            label: label.into(),
            precisions: vec![PrecisionRef {
                code: code.into(),
                label: label.into(),
            }],
        };
        let rooms = |code: &str| Criterion {
            code: code.into(),
            label: "Humidité".into(),
            precisions: [
                "_pieces_tout",
                "_pieces_piece_a_vivre",
                "_pieces_cuisine",
                "_pieces_salle_de_bain",
            ]
            .iter()
            .map(|s| PrecisionRef {
                code: format!("{code}{s}"),
                label: format!("Humidité – {s}"),
            })
            .collect(),
        };
        Category {
            code: "desordres_logement_lumiere".into(),
            label: "Lumière".into(),
            zone: "logement".into(),
            criteria: vec![
                single("desordres_logement_lumiere_pas_volets", "Pas de volets"),
                rooms("desordres_logement_lumiere_pas_lumiere"),
            ],
        }
    }

    #[test]
    fn statuses_read_as_open_or_closed_with_a_fixed_note() {
        assert_eq!(public_status(ReportStatus::Active).code, "open");
        assert_eq!(public_status(ReportStatus::NeedValidation).code, "open");
        assert_eq!(public_status(ReportStatus::Closed).code, "closed");
        assert_eq!(public_status(ReportStatus::Refused).code, "closed");
        assert_eq!(
            public_status(ReportStatus::NeedValidation).visibility,
            Visibility::ById
        );
        assert_eq!(
            public_status(ReportStatus::Archived).visibility,
            Visibility::Hidden
        );
        assert_eq!(
            public_status(ReportStatus::Active).visibility,
            Visibility::Listed
        );
    }

    #[test]
    fn request_ids_round_trip_and_reject_junk() {
        assert_eq!(request_id("13", "2026-42"), "13-2026-42");
        assert_eq!(parse_request_id("2A-2026-7"), Some(("2A", "2026-7")));
        assert_eq!(parse_request_id("13"), None);
        assert_eq!(parse_request_id("13-x' OR 1"), None);
    }

    #[test]
    fn positions_are_blurred_to_the_hundredth_of_a_degree() {
        assert!((blur(43.296_482) - 43.30).abs() < 1e-9);
        assert!((blur(5.369_780) - 5.37).abs() < 1e-9);
    }

    #[test]
    fn date_spans_over_ninety_days_are_refused() {
        let now = time::macros::datetime!(2026-12-06 12:00 UTC);
        let params = |pairs: &[(&str, &str)]| {
            pairs
                .iter()
                .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
                .collect::<BTreeMap<_, _>>()
        };
        let err = parse_request_query(
            &params(&[
                ("start_date", "2026-01-01T00:00:00Z"),
                ("end_date", "2026-06-01T00:00:00+02:00"),
            ]),
            now,
        )
        .unwrap_err();
        assert_eq!(err.status, 400);
        let Ok(RequestQuery::List(q)) = parse_request_query(&params(&[("status", "")]), now) else {
            panic!("default query")
        };
        assert_eq!(q.end - q.start, Duration::days(90));
        assert_eq!(q.statuses, vec![ReportStatus::Active, ReportStatus::Closed]);
        assert_eq!(q.page_size, MAX_PAGE_SIZE);
        assert!(parse_request_query(&params(&[("page_size", "1001")]), now).is_err());
        assert!(parse_request_query(&params(&[("status", "pending")]), now).is_err());
        let Ok(RequestQuery::Ids(ids)) = parse_request_query(
            &params(&[
                ("service_request_id", "13-2026-1, 75-2026-2"),
                ("status", "x"),
            ]),
            now,
        ) else {
            panic!("ids override the rest")
        };
        assert_eq!(ids.len(), 2);
    }

    #[test]
    fn addresses_split_on_the_postal_code() {
        assert_eq!(
            split_address("12 rue de la République, 13001 Marseille"),
            Some((
                "12 rue de la République".into(),
                "13001".into(),
                "Marseille".into()
            ))
        );
        assert_eq!(split_address("13001 Marseille"), None);
        assert_eq!(split_address("12 rue de la Paix"), None);
    }

    #[test]
    fn a_definition_lists_the_criteria_then_the_rooms_then_the_form() {
        let attributes = service_definition(&category());
        assert_eq!(attributes[0].code, "desordres_logement_lumiere");
        assert_eq!(attributes[0].datatype, Datatype::MultiValueList);
        assert_eq!(attributes[0].values.len(), 2);
        let rooms = attributes
            .iter()
            .find(|a| a.code == "desordres_logement_lumiere_pas_lumiere_pieces")
            .expect("a room list");
        assert_eq!(rooms.values.len(), 3);
        assert!(
            attributes
                .iter()
                .any(|a| a.code == "coordonnees_occupant_nom")
        );
        assert!(
            !attributes
                .iter()
                .any(|a| a.code.starts_with("utilisation_service_ok"))
        );
        assert!(
            !attributes
                .iter()
                .any(|a| a.code == "vos_coordonnees_tiers_email")
        );
        let orders: Vec<u32> = attributes.iter().map(|a| a.order).collect();
        assert_eq!(
            orders,
            (1..=u32::try_from(attributes.len()).unwrap()).collect::<Vec<_>>()
        );
    }

    #[test]
    fn posted_attributes_become_form_answers() {
        let pairs: Vec<(String, String)> = [
            ("service_code", "desordres_logement_lumiere"),
            ("address_string", "3 place de la Mairie 13001 Marseille"),
            (
                "attribute[desordres_logement_lumiere][]",
                "desordres_logement_lumiere_pas_lumiere",
            ),
            (
                "attribute[desordres_logement_lumiere_pas_lumiere_pieces][]",
                "cuisine",
            ),
            ("attribute[coordonnees_occupant_nom]", "Durand"),
            ("email", "pro@example.org"),
        ]
        .iter()
        .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
        .collect();
        let posted = PostedRequest::from_pairs(&pairs);
        let a = answers_of(&posted, &category(), "Service d’hygiène").expect("answers");
        assert_eq!(form::get(&a, "desordres_logement_lumiere"), Some("1"));
        assert_eq!(
            form::get(&a, "desordres_logement_lumiere_pas_lumiere"),
            Some("1")
        );
        assert_eq!(
            form::get(&a, "desordres_logement_lumiere_pas_lumiere_pieces_cuisine"),
            Some("1")
        );
        assert_eq!(
            form::get(&a, "adresse_logement_adresse_detail_code_postal"),
            Some("13001")
        );
        assert_eq!(form::get(&a, "zone_concernee_zone"), Some("logement"));
        assert_eq!(form::profile(&a), Some(PROFILE));
        assert_eq!(form::get(&a, "utilisation_service_ok_cgu"), Some("1"));

        let mut bad = posted.clone();
        bad.attributes.insert("inconnu".into(), vec!["x".into()]);
        bad.address_string = None;
        let errors = answers_of(&bad, &category(), "x").unwrap_err();
        assert_eq!(errors.len(), 2, "{errors:?}");
    }
}
