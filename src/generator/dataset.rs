//! A whole dataset: reports spread over territories (weighted), each with
//! its life so far — status, dates, assignments to the territory's
//! partners, follow-ups and visits — as the rows of `db::bulk`, in batches
//! of one transaction each. The demo seed and the benchmark differ only by
//! the territories and staff they pass in, the [`Scale`] and the volume.
//!
//! Ids are chosen here (from `first_id`), so that child rows need no round
//! trip; reference numbers (`2026-17`) are counted per territory and year
//! and returned for `report_reference_counters`. Deterministic: the same
//! random generator, territories and `today` give the same rows.

use std::collections::BTreeMap;

use base64::Engine;
use rand::{Rng, seq::IndexedRandom};
use sqlx::types::Json;
use time::{Duration, PrimitiveDateTime};

use super::{
    names::{PARTNER_MESSAGES, ascii},
    reports::{self, Catalogue, GeneratedReport, Scale},
};
use crate::{
    db::bulk::{AssignmentRow, Batch, FollowUpRow, QualificationRow, ReportRow, VisitRow},
    domain::{
        case::{AssignmentStatus, ReportStatus, VisitOutcome},
        report::scoring::{self, InsurerContacted},
    },
};

/// A partner and its accounts (the authors of its follow-ups).
#[derive(Debug, Clone)]
pub struct Partner {
    pub id: u64,
    pub users: Vec<u64>,
}

/// (INSEE code, postal code, name) of a commune.
pub type Commune = (String, String, String);

/// What the generator knows of a territory.
#[derive(Debug, Clone)]
pub struct Territory {
    pub id: u32,
    /// Share of the reports, relative to the other territories.
    pub weight: u32,
    /// (south, west, north, east): reports are placed inside.
    pub bbox: (f64, f64, f64, f64),
    pub communes: Vec<Commune>,
    /// The territory's lead (the PDLHI): validates, refuses and closes.
    pub lead: Partner,
    /// The partners a validated report is assigned to.
    pub partners: Vec<Partner>,
}

/// What a generation run needs besides the random generator.
pub struct Dataset<'a> {
    pub territories: &'a [Territory],
    pub catalogue: &'a Catalogue,
    pub scale: Scale,
    /// Dates are drawn back from here.
    pub today: PrimitiveDateTime,
    /// Id of the first report.
    pub first_id: u64,
    /// Reports per [`Batch`].
    pub batch_size: usize,
}

/// Now (UTC, whole seconds), the usual `today` of a dataset.
pub fn today() -> PrimitiveDateTime {
    let now = time::OffsetDateTime::now_utc();
    PrimitiveDateTime::new(
        now.date(),
        now.time().replace_nanosecond(0).unwrap_or(now.time()),
    )
}

/// (territory id, year, last reference number) for each pair used.
pub type Counters = Vec<(u32, u16, u32)>;

/// How a report was closed.
const CLOSURE_REASONS: &[&str] = &[
    "travaux_faits_ou_en_cours",
    "logement_decent",
    "depart_occupant",
    "insalubrite",
    "non_decence",
];
/// Why a report was refused at validation.
const REFUSAL_REASONS: &[&str] = &["hors_pdlhi", "doublon", "hors_competence"];
/// Partners' answers to an assignment while the case is open (weighted).
const OPEN_ASSIGNMENTS: &[AssignmentStatus] = &[
    AssignmentStatus::New,
    AssignmentStatus::Accepted,
    AssignmentStatus::Accepted,
    AssignmentStatus::Accepted,
    AssignmentStatus::Refused,
];

/// Generates `total` reports, handing each full batch (and the last one)
/// to `sink`; stops early when `sink` returns false. Returns the
/// reference counters, sorted.
pub fn generate(
    rng: &mut impl Rng,
    dataset: &Dataset<'_>,
    total: u64,
    mut sink: impl FnMut(Batch) -> bool,
) -> Counters {
    let weights: u32 = dataset.territories.iter().map(|t| t.weight).sum();
    let mut counters: BTreeMap<(u32, u16), u32> = BTreeMap::new();
    let mut batch = Batch::default();
    if weights == 0 {
        return Vec::new();
    }
    for n in 0..total {
        let mut pick = rng.random_range(0..weights);
        let Some(territory) = dataset.territories.iter().find(|t| {
            if pick < t.weight {
                true
            } else {
                pick -= t.weight;
                false
            }
        }) else {
            break;
        };
        push_case(
            rng,
            dataset,
            territory,
            dataset.first_id + n,
            &mut counters,
            &mut batch,
        );
        if batch.reports.len() >= dataset.batch_size && !sink(std::mem::take(&mut batch)) {
            break;
        }
    }
    if !batch.reports.is_empty() {
        sink(batch);
    }
    counters.into_iter().map(|((t, y), n)| (t, y, n)).collect()
}

/// The dates of a report's life.
struct Life {
    status: ReportStatus,
    created_at: PrimitiveDateTime,
    validated_at: Option<PrimitiveDateTime>,
    refused_at: Option<PrimitiveDateTime>,
    closed_at: Option<PrimitiveDateTime>,
}

/// Status and dates: spread over `scale.months`, slightly more recent
/// reports than old ones; a report of the last fortnight is mostly still
/// waiting for validation, an older one mostly active or closed.
fn life(rng: &mut impl Rng, scale: &Scale, today: PrimitiveDateTime) -> Life {
    let age_minutes = {
        let u: f64 = rng.random();
        (u.powf(1.3) * f64::from(scale.months) * 30.4 * 24.0 * 60.0) as i64 + 30
    };
    let created_at = today - Duration::minutes(age_minutes);
    use ReportStatus as S;
    let status = match (age_minutes / (24 * 60), rng.random_range(0..100)) {
        (0..15, 0..60) => S::NeedValidation,
        (0..15, 60..95) => S::Active,
        (0..15, _) => S::Refused,
        (_, 0..3) => S::NeedValidation,
        (_, 3..48) => S::Active,
        (_, 48..82) => S::Closed,
        (_, 82..92) => S::Refused,
        _ => S::Archived,
    };
    let validated_at = matches!(status, S::Active | S::Closed | S::Archived)
        .then(|| created_at + Duration::hours(rng.random_range(2..96)))
        .map(|v| v.min(today));
    let refused_at = (status == S::Refused).then(|| (created_at + Duration::days(3)).min(today));
    let closed_at = matches!(status, S::Closed | S::Archived).then(|| {
        (validated_at.unwrap_or(created_at) + Duration::days(rng.random_range(20..400))).min(today)
    });
    Life {
        status,
        created_at,
        validated_at,
        refused_at,
        closed_at,
    }
}

/// One report and everything that hangs on it, added to `batch`.
fn push_case(
    rng: &mut impl Rng,
    dataset: &Dataset<'_>,
    territory: &Territory,
    id: u64,
    counters: &mut BTreeMap<(u32, u16), u32>,
    batch: &mut Batch,
) {
    let today = dataset.today;
    let life = life(rng, &dataset.scale, today);
    let year = life.created_at.year() as u16;
    let number = counters.entry((territory.id, year)).or_insert(0);
    *number += 1;
    let reference = format!("{year}-{number}");
    let (insee, postal, city) = territory.communes.choose(rng).cloned().unwrap_or_default();
    let generated = reports::report(rng, dataset.catalogue, &dataset.scale);
    for (precision_id, _) in &generated.precisions {
        batch.defects.push((id, *precision_id, life.created_at));
    }
    for q in &generated.scoring.qualifications {
        batch.qualifications.push(QualificationRow {
            report_id: id,
            qualification: q.qualification.code(),
            status: q.status.code(),
            precision_codes: Json(q.precision_slugs.clone()),
        });
    }

    let lead_user = territory.lead.users.first().copied();
    let mut history = History {
        report_id: id,
        last_at: life.created_at,
        last_kind: "system",
    };
    history.push(
        batch,
        FollowUpRow {
            report_id: id,
            author_user_id: None,
            author_partner_id: None,
            author_kind: "system",
            category: "signalement_depose",
            body: "Signalement déposé depuis le formulaire public.",
            is_public: true,
            created_at: life.created_at,
        },
    );
    if let Some(at) = life.refused_at {
        history.by_lead(
            batch,
            territory,
            "signalement_refuse",
            "Signalement refusé : hors du périmètre de la lutte contre l’habitat indigne.",
            at,
        );
    }
    if let Some(validated) = life.validated_at {
        history.push(
            batch,
            FollowUpRow {
                report_id: id,
                author_user_id: lead_user,
                author_partner_id: Some(territory.lead.id),
                author_kind: "system",
                category: "signalement_valide",
                body: "Signalement validé et transmis aux partenaires compétents.",
                is_public: true,
                created_at: validated,
            },
        );
        let count = rng.random_range(1..=3).min(territory.partners.len());
        let picks: Vec<&Partner> = rand::seq::index::sample(rng, territory.partners.len(), count)
            .into_iter()
            .filter_map(|k| territory.partners.get(k))
            .collect();
        for partner in &picks {
            let status = if life.status.is_open() {
                OPEN_ASSIGNMENTS
                    .choose(rng)
                    .copied()
                    .unwrap_or(AssignmentStatus::New)
            } else {
                AssignmentStatus::Closed
            };
            batch.assignments.push(AssignmentRow {
                report_id: id,
                partner_id: partner.id,
                status,
                created_at: validated,
            });
        }
        let end = life.closed_at.unwrap_or(today);
        let span = (end - validated).whole_minutes().max(1);
        let mut times: Vec<i64> = (0..rng.random_range(1..=5))
            .map(|_| rng.random_range(0..span))
            .collect();
        times.sort_unstable();
        for m in times {
            let partner = picks.choose(rng).copied().unwrap_or(&territory.lead);
            // A partner without accounts in the demo writes through the lead.
            let (partner_id, user) = match partner.users.choose(rng) {
                Some(user) => (partner.id, Some(*user)),
                None => (territory.lead.id, lead_user),
            };
            let (body, is_public) = PARTNER_MESSAGES
                .choose(rng)
                .copied()
                .unwrap_or(("Suivi.", false));
            history.push(
                batch,
                FollowUpRow {
                    report_id: id,
                    author_user_id: user,
                    author_partner_id: Some(partner_id),
                    author_kind: "partner",
                    category: "message_partner",
                    body,
                    is_public,
                    created_at: validated + Duration::minutes(m),
                },
            );
        }
        if let (Some(partner), true) = (picks.first(), rng.random_bool(0.25)) {
            let scheduled_at = validated + Duration::days(rng.random_range(7..60));
            let done = scheduled_at < today;
            batch.visits.push(VisitRow {
                report_id: id,
                partner_id: partner.id,
                scheduled_at,
                status: if done {
                    VisitOutcome::Done
                } else {
                    VisitOutcome::Planned
                },
                conclusions: done
                    .then_some("Désordres constatés : humidité, ventilation insuffisante."),
            });
        }
        if let Some(at) = life.closed_at {
            history.by_lead(
                batch,
                territory,
                "cloture_signalement",
                "Signalement clôturé pour tous les partenaires.",
                at,
            );
        }
    }

    let (s, w, north, e) = territory.bbox;
    let latitude = s + (north - s) * (0.15 + 0.7 * rng.random::<f64>());
    let longitude = w + (e - w) * (0.15 + 0.7 * rng.random::<f64>());
    let code_bytes: [u8; 32] = rng.random();
    let uuid = uuid::Builder::from_random_bytes(rng.random())
        .into_uuid()
        .to_string();
    let closure_reason = life
        .closed_at
        .and_then(|_| CLOSURE_REASONS.choose(rng).copied());
    let refusal_reason = life
        .refused_at
        .and_then(|_| REFUSAL_REASONS.choose(rng).copied());
    batch.reports.push(report_row(
        generated,
        ReportPlace {
            id,
            uuid,
            territory_id: territory.id,
            reference,
            postal_code: postal,
            city,
            insee_code: insee,
            latitude: (latitude * 1e6).round() / 1e6,
            longitude: (longitude * 1e6).round() / 1e6,
            follow_up_code: base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(code_bytes),
        },
        &life,
        (closure_reason, refusal_reason),
        (history.last_at, history.last_kind),
    ));
}

/// The follow-ups of one report, remembering the last one (denormalised
/// on the report for the lists).
struct History {
    report_id: u64,
    last_at: PrimitiveDateTime,
    last_kind: &'static str,
}

impl History {
    fn push(&mut self, batch: &mut Batch, row: FollowUpRow) {
        if row.created_at >= self.last_at {
            self.last_at = row.created_at;
            self.last_kind = row.author_kind;
        }
        batch.follow_ups.push(row);
    }

    /// A public follow-up of the territory's lead.
    fn by_lead(
        &mut self,
        batch: &mut Batch,
        territory: &Territory,
        category: &'static str,
        body: &'static str,
        at: PrimitiveDateTime,
    ) {
        let row = FollowUpRow {
            report_id: self.report_id,
            author_user_id: territory.lead.users.first().copied(),
            author_partner_id: Some(territory.lead.id),
            author_kind: "partner",
            category,
            body,
            is_public: true,
            created_at: at,
        };
        self.push(batch, row);
    }
}

/// Where a report is and how it is named.
struct ReportPlace {
    id: u64,
    uuid: String,
    territory_id: u32,
    reference: String,
    postal_code: String,
    city: String,
    insee_code: String,
    latitude: f64,
    longitude: f64,
    follow_up_code: String,
}

/// The `reports` row of a generated report.
fn report_row(
    g: GeneratedReport,
    place: ReportPlace,
    life: &Life,
    (closure_reason, refusal_reason): (Option<&'static str>, Option<&'static str>),
    (last_follow_up_at, last_follow_up_author_kind): (PrimitiveDateTime, &'static str),
) -> ReportRow {
    let id = place.id;
    ReportRow {
        id,
        uuid: place.uuid,
        territory_id: place.territory_id,
        reference: place.reference,
        status: life.status,
        declarant_profile: g.declarant_profile,
        occupant_profile: g.occupant_profile,
        is_public_housing: g.is_public_housing,
        occupant_first_name: g.occupant_first_name,
        occupant_last_name: g.occupant_last_name,
        occupant_email: format!(
            "{}.{}{id}@exemple.fr",
            ascii(g.occupant_first_name),
            ascii(g.occupant_last_name)
        ),
        occupant_phone: g.occupant_phone,
        declarant_first_name: g.declarant_first_name,
        declarant_last_name: g.declarant_last_name,
        declarant_email: g
            .declarant_first_name
            .map(|f| format!("{}.d{id}@exemple.fr", ascii(f))),
        landlord_name: g.landlord_name,
        dwelling_type: g.dwelling_type,
        dwelling_surface: g.dwelling_surface,
        dwelling_rooms: g.dwelling_rooms,
        occupants: g.occupants,
        children_under_6: g.children_under_6,
        housing_allowance: g.housing_allowance,
        insurer_contacted: g.insurer_contacted.map(InsurerContacted::code),
        has_dpe: g.has_dpe,
        dpe_class: g.dpe_class.map(String::from),
        details: g.details,
        address_line: g.address_line,
        postal_code: place.postal_code,
        city: place.city,
        insee_code: place.insee_code,
        latitude: place.latitude,
        longitude: place.longitude,
        severity: scoring::score_rounded(g.scoring.score),
        severity_raw: g.scoring.score,
        severity_building: g.scoring.score_batiment,
        severity_dwelling: g.scoring.score_logement,
        follow_up_code: place.follow_up_code,
        created_at: life.created_at,
        validated_at: life.validated_at,
        closed_at: life.closed_at,
        closure_reason,
        refused_at: life.refused_at,
        refusal_reason,
        last_follow_up_at,
        last_follow_up_author_kind,
    }
}

#[cfg(test)]
mod tests {
    use std::collections::HashSet;

    use rand::{SeedableRng, rngs::StdRng};
    use time::macros::datetime;

    use super::*;
    use crate::generator::reports::tests::catalogue;

    fn territories() -> Vec<Territory> {
        let partner = |id: u64, users: &[u64]| Partner {
            id,
            users: users.to_vec(),
        };
        let communes =
            |insee: &str| vec![(insee.to_owned(), "69001".to_owned(), "Lyon".to_owned())];
        vec![
            Territory {
                id: 1,
                weight: 3,
                bbox: (45.7, 4.8, 45.8, 4.9),
                communes: communes("69381"),
                lead: partner(10, &[100]),
                partners: vec![
                    partner(11, &[110, 111]),
                    partner(12, &[]),
                    partner(13, &[130]),
                ],
            },
            Territory {
                id: 2,
                weight: 1,
                bbox: (43.2, 5.3, 43.3, 5.4),
                communes: communes("13201"),
                lead: partner(20, &[200]),
                partners: vec![partner(21, &[210])],
            },
        ]
    }

    fn draw(seed: u64, total: u64) -> (Vec<Batch>, Counters) {
        let territories = territories();
        let catalogue = catalogue();
        let dataset = Dataset {
            territories: &territories,
            catalogue: &catalogue,
            scale: Scale::DEMO,
            today: datetime!(2026-12-05 12:00:00),
            first_id: 1_000,
            batch_size: 100,
        };
        let mut batches = Vec::new();
        let counters = generate(&mut StdRng::seed_from_u64(seed), &dataset, total, |b| {
            batches.push(b);
            true
        });
        (batches, counters)
    }

    /// Same seed and day, same rows: the demo on every machine, and a
    /// benchmark that can be loaded again to compare two versions.
    #[test]
    fn the_same_seed_gives_the_same_dataset_and_another_seed_another() {
        let (a, counters) = draw(5, 250);
        assert_eq!(a.len(), 3, "batches of 100, then the rest");
        assert_eq!((a, counters.clone()), draw(5, 250));
        assert_ne!(draw(6, 250).0, draw(5, 250).0);
        let numbered: u32 = counters.iter().map(|c| c.2).sum();
        assert_eq!(numbered, 250, "one reference number per report");
    }

    /// Each report is one case a resident filed and the territory handled:
    /// unique ids, references and follow-up codes, the deposit follow-up
    /// first, assignments only to its own territory's partners and only
    /// once validated, closed assignments on closed cases, and the last
    /// follow-up recorded on the report.
    #[test]
    fn every_generated_case_is_consistent() {
        let (batches, _) = draw(9, 400);
        let territories = territories();
        let mut references = HashSet::new();
        let mut codes = HashSet::new();
        let mut statuses = HashSet::new();
        for batch in &batches {
            for r in &batch.reports {
                statuses.insert(r.status);
                assert!(references.insert((r.territory_id, r.reference.clone())));
                assert_eq!(r.follow_up_code.len(), 43);
                assert!(
                    r.follow_up_code
                        .bytes()
                        .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
                );
                assert!(codes.insert(r.follow_up_code.clone()));
                let territory = territories.iter().find(|t| t.id == r.territory_id).unwrap();
                let follow_ups: Vec<&FollowUpRow> = batch
                    .follow_ups
                    .iter()
                    .filter(|f| f.report_id == r.id)
                    .collect();
                assert_eq!(follow_ups[0].category, "signalement_depose");
                let last = follow_ups.iter().map(|f| f.created_at).max().unwrap();
                assert_eq!(r.last_follow_up_at, last);
                let assignments: Vec<&AssignmentRow> = batch
                    .assignments
                    .iter()
                    .filter(|a| a.report_id == r.id)
                    .collect();
                assert_eq!(
                    !assignments.is_empty(),
                    r.validated_at.is_some(),
                    "{}",
                    r.status
                );
                for a in &assignments {
                    assert!(territory.partners.iter().any(|p| p.id == a.partner_id));
                    assert_eq!(a.status == AssignmentStatus::Closed, !r.status.is_open());
                }
                assert_eq!(r.refused_at.is_some(), r.status == ReportStatus::Refused);
                assert_eq!(r.closure_reason.is_some(), r.closed_at.is_some());
                let (s, w, n, e) = territory.bbox;
                assert!((s..=n).contains(&r.latitude) && (w..=e).contains(&r.longitude));
            }
        }
        assert_eq!(references.len(), 400);
        assert_eq!(statuses, ReportStatus::ALL.iter().copied().collect());
    }

    /// What is stored scores, through `scoring::assess`, to the severity
    /// and qualifications stored beside it.
    #[test]
    fn stored_severity_and_qualifications_are_those_of_assess() {
        let catalogue = catalogue();
        let (batches, _) = draw(3, 300);
        for batch in &batches {
            for r in &batch.reports {
                let facts = crate::domain::report::scoring::ReportFacts {
                    defects: batch
                        .defects
                        .iter()
                        .filter(|d| d.0 == r.id)
                        .filter_map(|d| catalogue_slug(&catalogue, d.1))
                        .collect(),
                    input: crate::domain::report::scoring::ScoringInput {
                        child_under_6: r.children_under_6,
                        insurer_contacted: r.insurer_contacted.and_then(InsurerContacted::parse),
                        occupants: Some(u32::from(r.occupants)),
                        surface: Some(r.dwelling_surface),
                        rooms: Some(u32::from(r.dwelling_rooms)),
                        allocataire: r.housing_allowance == Some(true),
                        dpe: crate::domain::report::scoring::DpeFacts {
                            has_dpe: r.has_dpe,
                            class: r.dpe_class.as_deref().and_then(|c| c.chars().next()),
                            ..Default::default()
                        },
                    },
                };
                let assessed = scoring::assess(&facts, |s| catalogue.weights(s));
                assert_eq!(r.severity_raw, assessed.score);
                assert_eq!(r.severity, scoring::score_rounded(assessed.score));
                let stored: Vec<(&str, &str, &Vec<String>)> = batch
                    .qualifications
                    .iter()
                    .filter(|q| q.report_id == r.id)
                    .map(|q| (q.qualification, q.status, &q.precision_codes.0))
                    .collect();
                let expected: Vec<(&str, &str, &Vec<String>)> = assessed
                    .qualifications
                    .iter()
                    .map(|q| (q.qualification.code(), q.status.code(), &q.precision_slugs))
                    .collect();
                assert_eq!(stored, expected);
            }
        }
    }

    fn catalogue_slug(catalogue: &Catalogue, id: u32) -> Option<String> {
        catalogue.slug_of(id).map(str::to_owned)
    }
}
