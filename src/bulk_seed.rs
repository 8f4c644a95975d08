//! The national-scale benchmark dataset (`histologe bench-data --reports N`):
//! every territory open, ~30 partners per territory (with perimeters), ~10
//! users per partner, and N reports spread over territories (uneven, like the
//! real deployment), statuses, profiles and 36 months, with their defects,
//! qualifications, assignments, ~5 follow-ups each and visits.
//!
//! Bulk loading: a generator thread builds batches of rows while the async
//! side writes the previous batch with multi-row INSERTs (src/db/bulk.rs),
//! one transaction per batch, foreign keys kept. Deterministic for a given
//! `--rng-seed`. Refuses to run on a database whose name has no `bench` in
//! it (the demo and test databases are never touched), and does nothing
//! when the database already holds reports.

use std::time::Instant;

use base64::Engine;
use futures::StreamExt;
use rand::{Rng, SeedableRng, rngs::StdRng, seq::IndexedRandom};
use sqlx::types::Json;
use time::{Duration, OffsetDateTime, PrimitiveDateTime};

use crate::{
    auth::password,
    db::{
        self,
        bulk::{
            AssignmentRow, FollowUpRow, PartnerRow, QualificationRow, ReportRow, UserRow, VisitRow,
        },
    },
    domain::report::scoring::{self, Precision, Qualification, ScoringInput, Zone},
};

/// Password of every generated account (loopback benchmark only).
pub const BENCH_PASSWORD: &str = "Histologe-Bench-2026!";
/// The super admin the load scenarios log in with.
pub const BENCH_ADMIN: &str = "admin@bench.localhost";

const PARTNERS_PER_TERRITORY: usize = 30;
const USERS_PER_PARTNER: usize = 10;
const BATCH: usize = 5_000;
/// Batches written at the same time (one connection each).
const WRITERS: usize = 2;

#[derive(Debug, Clone, clap::Args)]
pub struct BenchDataOptions {
    /// How many reports to generate (1000000 for the national dataset).
    #[arg(long, default_value_t = 100_000)]
    pub reports: u64,
    /// Seed of the random generator (same seed, same data).
    #[arg(long, default_value_t = 20_261_123)]
    pub rng_seed: u64,
    /// Allow a database whose name does not contain "bench".
    #[arg(long)]
    pub force: bool,
}

/// True when the URL's database name contains `bench`.
pub fn is_bench_database(url: &str) -> bool {
    url.rsplit('/')
        .next()
        .map(|db| db.split('?').next().unwrap_or(db).contains("bench"))
        .unwrap_or(false)
}

const FIRST_NAMES: &[&str] = &[
    "Nadia", "Karim", "Sophie", "Thomas", "Fatou", "Julien", "Aïcha", "Marc", "Léa", "Mehdi",
    "Chloé", "Yves", "Inès", "Pierre", "Amina", "Hugo", "Sarah", "Bruno", "Élodie", "Moussa",
    "Camille", "Louis", "Manon", "Nicolas", "Yasmine", "Paul", "Emma", "Rachid", "Jeanne", "Omar",
];
const LAST_NAMES: &[&str] = &[
    "Benali",
    "Dupont",
    "Nguyen",
    "Lefèvre",
    "Diallo",
    "Garcia",
    "Rousseau",
    "Haddad",
    "Fontaine",
    "Traoré",
    "Mercier",
    "Lambert",
    "Bonnet",
    "Chevalier",
    "Da Silva",
    "Morel",
    "Girard",
    "Mansouri",
    "Faure",
    "Roux",
    "Martin",
    "Bernard",
    "Petit",
    "Durand",
    "Leroy",
    "Moreau",
    "Simon",
    "Laurent",
    "Michel",
    "Lefebvre",
    "Fournier",
    "Blanc",
    "Guerin",
    "Muller",
    "Henry",
    "Roussel",
    "Nicolas",
    "Perrin",
    "Morin",
    "Mathieu",
    "Clement",
    "Gauthier",
    "Dumont",
    "Lopez",
    "Fabre",
    "Brun",
    "Dufour",
    "Meyer",
    "Barbier",
    "Aubert",
];
/// Syllables of the generated surnames (40 x 40 = 1,600 of them).
const NAME_STARTS: &[&str] = &[
    "Bel", "Ber", "Bou", "Cha", "Del", "Dur", "Fa", "Gar", "Gi", "Lan", "Le", "Ma", "Mon", "Pe",
    "Ri", "Ro", "Sa", "Ta", "Va", "Vi", "Ben", "Car", "Col", "Cou", "Dam", "Fer", "Gau", "Jou",
    "Lau", "Mar", "Mer", "Pas", "Pon", "Que", "Ray", "Sau", "Ser", "Tes", "Tour", "Ver",
];
const NAME_ENDS: &[&str] = &[
    "nard", "rand", "mont", "lin", "chet", "gnon", "zet", "vier", "rault", "quet", "det", "geot",
    "neau", "ron", "tier", "vet", "bert", "card", "gier", "lot", "maire", "nier", "rat", "reau",
    "rin", "teau", "thier", "tin", "vaux", "zière", "bois", "court", "fort", "lard", "lière",
    "mas", "nay", "rieux", "sard", "ville",
];

/// Surnames as a national file holds them: a long tail, where even the
/// most common name is a fraction of a percent (Martin, the most frequent
/// in France, is about 0.4 %). One report in twenty takes one of the
/// common names of [`LAST_NAMES`] (0.1 % each), the others one of 1,600
/// generated ones: a search for a name matches about a thousand reports
/// out of a million, as it would in production (the previous pool of 50
/// names made every name 2 % of the base).
fn surname(rng: &mut StdRng) -> &'static str {
    static GENERATED: std::sync::LazyLock<Vec<String>> = std::sync::LazyLock::new(|| {
        NAME_STARTS
            .iter()
            .flat_map(|a| NAME_ENDS.iter().map(move |b| format!("{a}{b}")))
            .collect()
    });
    if rng.random_bool(0.05) {
        LAST_NAMES.choose(rng).copied().unwrap_or("Martin")
    } else {
        GENERATED.choose(rng).map_or("Martin", String::as_str)
    }
}

const STREETS: &[&str] = &[
    "rue de la République",
    "avenue Jean Jaurès",
    "rue Victor Hugo",
    "boulevard de la Libération",
    "rue des Écoles",
    "place du Marché",
    "rue Pasteur",
    "chemin des Vignes",
    "rue du Moulin",
    "avenue de la Gare",
    "rue Émile Zola",
    "impasse des Lilas",
    "rue Garibaldi",
    "cours Gambetta",
    "rue de la Paix",
    "allée des Tilleuls",
    "rue du Général de Gaulle",
    "rue Jules Ferry",
];
const LANDLORDS: &[&str] = &[
    "SCI Les Tilleuls",
    "M. Girard",
    "Mme Lopez",
    "Foncière du Centre",
    "Habitat et Territoires",
    "M. Perrin",
    "SARL Immo Sud",
    "Mme Caron",
    "Office public de l’habitat",
    "SCI du Port",
];
const DETAILS: &[&str] = &[
    "De la moisissure apparaît sur les murs de la chambre des enfants depuis l’hiver dernier, malgré l’aération.",
    "Le chauffage ne fonctionne plus depuis octobre ; le propriétaire ne répond pas à nos appels.",
    "Des fils électriques sont à nu dans la salle de bain et les prises chauffent.",
    "Présence de punaises de lit et de cafards dans tout l’appartement.",
    "Le plafond de la cuisine s’est effondré en partie après une fuite venant de l’étage.",
    "Nous sommes six dans un deux-pièces de 28 m², sans fenêtre dans une des pièces.",
    "L’escalier de l’immeuble est dangereux : marches cassées et rampe descellée.",
];
const PARTNER_TYPES: &[&str] = &[
    "commune_schs",
    "ars",
    "caf_msa",
    "adil",
    "epci",
    "ccas",
    "operateur_visites_et_travaux",
    "bailleur_social",
    "association",
    "conseil_departemental",
    "police_gendarmerie",
    "ddets",
    "commune_schs",
    "ccas",
    "epci",
];
const PARTNER_MESSAGES: &[(&str, bool)] = &[
    (
        "Prise de contact avec l’occupant ; une visite est à programmer.",
        true,
    ),
    ("Courrier de mise en demeure envoyé au propriétaire.", false),
    (
        "Le propriétaire s’engage à faire les travaux avant la fin du mois.",
        true,
    ),
    (
        "Relance du bailleur par téléphone, sans réponse pour l’instant.",
        false,
    ),
    (
        "Visite effectuée : humidité importante dans la chambre, rapport à suivre.",
        true,
    ),
];

/// What the generator knows of a territory.
struct Territory {
    id: u32,
    weight: u32,
    /// (south, west, north, east)
    bbox: (f64, f64, f64, f64),
    communes: Vec<(String, String, String)>,
    /// Partner ids (index 0: the territory's lead partner).
    partners: Vec<u64>,
    /// First user id of each partner (USERS_PER_PARTNER consecutive ids).
    first_user: Vec<u64>,
}

/// One transaction's worth of rows.
#[derive(Default)]
struct Batch {
    reports: Vec<ReportRow>,
    defects: Vec<(u64, u32, PrimitiveDateTime)>,
    qualifications: Vec<QualificationRow>,
    assignments: Vec<AssignmentRow>,
    follow_ups: Vec<FollowUpRow>,
    visits: Vec<VisitRow>,
}

fn now() -> PrimitiveDateTime {
    let now = OffsetDateTime::now_utc();
    PrimitiveDateTime::new(
        now.date(),
        now.time().replace_nanosecond(0).unwrap_or(now.time()),
    )
}

fn uuid(rng: &mut StdRng) -> String {
    uuid::Builder::from_random_bytes(rng.random())
        .into_uuid()
        .to_string()
}

fn ascii(name: &str) -> String {
    name.chars()
        .filter_map(|c| match c {
            'é' | 'è' | 'ê' | 'É' => Some('e'),
            'ï' | 'î' => Some('i'),
            'ç' => Some('c'),
            c if c.is_ascii_alphanumeric() => Some(c.to_ascii_lowercase()),
            _ => None,
        })
        .collect()
}

/// Loads the dataset; returns a summary for the terminal.
pub async fn run(pool: &db::Pool, options: &BenchDataOptions) -> anyhow::Result<String> {
    let existing = db::bulk::count_reports(pool).await?;
    if existing > 0 {
        return Ok(format!(
            "La base contient déjà {existing} signalements : rien à faire (base neuve pour recharger)."
        ));
    }
    let started = Instant::now();
    let mut rng = StdRng::seed_from_u64(options.rng_seed);
    db::bulk::activate_all_territories(pool).await?;
    let precisions = {
        let mut conn = pool.acquire().await?;
        db::seed::precisions(&mut conn).await?
    };
    let communes = db::bulk::all_communes(pool).await?;
    let ids = db::bulk::next_ids(pool).await?;
    let hash = password::hash(BENCH_PASSWORD.to_owned()).await?;

    // Territories, partners, users.
    let mut territories = Vec::new();
    let mut partners = Vec::new();
    let mut insee_rows = Vec::new();
    let mut users = vec![UserRow {
        id: ids.user,
        uuid: uuid(&mut rng),
        email: BENCH_ADMIN.to_owned(),
        first_name: "Sacha",
        last_name: "Administrateur",
        role: "super_admin",
        membership: None,
        can_assign: true,
    }];
    let mut next_partner = ids.partner;
    let mut next_user = ids.user + 1;
    for t in db::bulk::territories(pool).await? {
        let bbox = t
            .bbox
            .as_ref()
            .and_then(|Json(b)| {
                Some((
                    b.get("s")?.as_f64()?,
                    b.get("w")?.as_f64()?,
                    b.get("n")?.as_f64()?,
                    b.get("e")?.as_f64()?,
                ))
            })
            .unwrap_or((46.0, 2.0, 47.0, 3.0));
        let own: Vec<(String, String, String)> = communes
            .iter()
            .filter(|c| c.0 == t.id)
            .map(|c| (c.1.clone(), c.2.clone(), c.3.clone()))
            .collect();
        if own.is_empty() {
            continue;
        }
        // Big urban départements get many more reports.
        let weight = match t.code.as_str() {
            "13" | "59" | "69A" | "75" | "93" => 40,
            "92" | "94" | "33" | "31" | "06" | "62" | "34" | "44" | "67" | "76" => 20,
            _ => 5 + (t.id % 7) * 2,
        };
        let mut territory = Territory {
            id: t.id,
            weight,
            bbox,
            communes: own,
            partners: Vec::new(),
            first_user: Vec::new(),
        };
        for k in 0..PARTNERS_PER_TERRITORY {
            let partner_type = if k == 0 {
                "ddt_m"
            } else {
                PARTNER_TYPES[k % PARTNER_TYPES.len()]
            };
            let id = next_partner;
            next_partner += 1;
            let name = if k == 0 {
                format!("PDLHI {}", t.code)
            } else {
                format!("{} {} n°{k}", partner_type.replace('_', " "), t.code)
            };
            partners.push(PartnerRow {
                id,
                territory_id: t.id,
                name,
                partner_type,
                competences: Json(
                    crate::domain::partner::default_competences(partner_type)
                        .iter()
                        .map(|c| (*c).to_owned())
                        .collect(),
                ),
                email: format!("partenaire{id}@bench.localhost"),
            });
            if matches!(partner_type, "commune_schs" | "epci" | "ccas") {
                let n = rng.random_range(1..=12).min(territory.communes.len());
                for c in territory.communes.choose_multiple(&mut rng, n) {
                    insee_rows.push((id, c.0.clone()));
                }
            }
            territory.partners.push(id);
            territory.first_user.push(next_user);
            for u in 0..USERS_PER_PARTNER {
                let role = match (k, u) {
                    (0, 0 | 1) => "territory_admin",
                    (_, 0) => "partner_admin",
                    _ => "agent",
                };
                let email = if k == 0 && u == 0 {
                    format!("rt{}@bench.localhost", t.code.to_lowercase())
                } else if k == 1 && u == 1 {
                    format!("agent{}@bench.localhost", t.code.to_lowercase())
                } else {
                    format!("u{next_user}@bench.localhost")
                };
                users.push(UserRow {
                    id: next_user,
                    uuid: uuid(&mut rng),
                    email,
                    first_name: FIRST_NAMES.choose(&mut rng).copied().unwrap_or("Alex"),
                    last_name: LAST_NAMES.choose(&mut rng).copied().unwrap_or("Martin"),
                    role,
                    membership: Some((id, t.id)),
                    can_assign: u < 2,
                });
                next_user += 1;
            }
        }
        territories.push(territory);
    }
    {
        let mut tx = pool.begin().await?;
        db::bulk::insert_partners(&mut tx, &partners).await?;
        db::bulk::insert_partner_insee_codes(&mut tx, &insee_rows).await?;
        db::bulk::insert_users(&mut tx, &users, &hash).await?;
        tx.commit().await?;
    }
    let setup = started.elapsed();
    tracing::info!(
        partners = partners.len(),
        users = users.len(),
        ?setup,
        "partners and users loaded"
    );

    // Reports, generated on a thread while the previous batch is written.
    let score_precisions: Vec<(u32, Precision)> = precisions
        .iter()
        .map(|p| {
            (
                p.id,
                Precision {
                    slug: p.code.clone(),
                    zone: Zone::parse(&p.zone).unwrap_or(Zone::Logement),
                    coef: p.coef,
                    is_danger: p.is_danger,
                    is_insalubrite: p.is_insalubrite,
                    is_suroccupation: p.is_suroccupation,
                    qualifications: p
                        .qualifications
                        .0
                        .iter()
                        .filter_map(|q| Qualification::parse(q))
                        .collect(),
                },
            )
        })
        .collect();
    let total = options.reports;
    let first_report = ids.report;
    let (sender, receiver) = tokio::sync::mpsc::channel::<Batch>(3);
    let generator = std::thread::spawn(move || {
        generate(
            rng,
            &territories,
            &score_precisions,
            total,
            first_report,
            &sender,
        )
    });
    let mut loaded = 0u64;
    let mut follow_ups = 0u64;
    let mut assignments = 0u64;
    let mut visits = 0u64;
    let mut defects = 0u64;
    // Two batches in flight on two connections: the server-side work
    // (index maintenance, full-text tokens) uses both cores. Ids are set by
    // the generator, so the batches never touch the same rows.
    let batches = futures::stream::unfold(receiver, |mut r| async move {
        r.recv().await.map(|batch| (batch, r))
    });
    let mut written = std::pin::pin!(
        batches
            .map(|batch| write_batch(pool, batch))
            .buffer_unordered(WRITERS)
    );
    while let Some(result) = written.next().await {
        let (r, f, a, v, d) = result?;
        loaded += r;
        follow_ups += f;
        assignments += a;
        visits += v;
        defects += d;
        if loaded % 50_000 < BATCH as u64 {
            tracing::info!(loaded, total, elapsed = ?started.elapsed(), "reports loaded");
            eprintln!(
                "[bench-data] {loaded}/{total} reports, {:.0} s",
                started.elapsed().as_secs_f64()
            );
        }
    }
    let counters = generator
        .join()
        .map_err(|_| anyhow::anyhow!("the generator thread panicked"))?;
    {
        let mut tx = pool.begin().await?;
        db::bulk::upsert_counters(&mut tx, &counters).await?;
        tx.commit().await?;
    }
    db::bulk::analyze(pool).await?;
    let elapsed = started.elapsed();
    Ok(format!(
        "Jeu de données de benchmark chargé en {:.0} s : {} territoires ouverts, {} partenaires, {} comptes, \
         {loaded} signalements, {defects} désordres, {assignments} affectations, {follow_ups} suivis, {visits} visites.\n\
         Compte super admin : {BENCH_ADMIN} / {BENCH_PASSWORD}",
        elapsed.as_secs_f64(),
        counters
            .iter()
            .map(|c| c.0)
            .collect::<std::collections::HashSet<_>>()
            .len(),
        partners.len(),
        users.len(),
    ))
}

/// Writes one batch in its own transaction (retried once after a deadlock);
/// returns the row counts (reports, follow-ups, assignments, visits, defects).
async fn write_batch(pool: &db::Pool, batch: Batch) -> anyhow::Result<(u64, u64, u64, u64, u64)> {
    let mut attempt = 0;
    loop {
        attempt += 1;
        match try_write_batch(pool, &batch).await {
            Ok(()) => break,
            Err(e) if attempt < 3 && e.to_string().contains("Deadlock") => continue,
            Err(e) => return Err(e.into()),
        }
    }
    Ok((
        batch.reports.len() as u64,
        batch.follow_ups.len() as u64,
        batch.assignments.len() as u64,
        batch.visits.len() as u64,
        batch.defects.len() as u64,
    ))
}

async fn try_write_batch(pool: &db::Pool, batch: &Batch) -> Result<(), sqlx::Error> {
    let mut tx = pool.begin().await?;
    db::bulk::insert_reports(&mut tx, &batch.reports).await?;
    db::bulk::insert_defects(&mut tx, &batch.defects).await?;
    db::bulk::insert_qualifications(&mut tx, &batch.qualifications).await?;
    db::bulk::insert_assignments(&mut tx, &batch.assignments).await?;
    db::bulk::insert_follow_ups(&mut tx, &batch.follow_ups).await?;
    db::bulk::insert_visits(&mut tx, &batch.visits).await?;
    tx.commit().await
}

/// Builds the report batches; returns the reference counters.
fn generate(
    mut rng: StdRng,
    territories: &[Territory],
    precisions: &[(u32, Precision)],
    total: u64,
    first_id: u64,
    sender: &tokio::sync::mpsc::Sender<Batch>,
) -> Vec<(u32, u16, u32)> {
    let today = now();
    let weights: u32 = territories.iter().map(|t| t.weight).sum();
    let mut counters: std::collections::HashMap<(u32, u16), u32> = std::collections::HashMap::new();
    let mut batch = Batch::default();
    let b64 = base64::engine::general_purpose::URL_SAFE_NO_PAD;
    for n in 0..total {
        let id = first_id + n;
        let mut pick = rng.random_range(0..weights);
        let territory = territories
            .iter()
            .find(|t| {
                if pick < t.weight {
                    true
                } else {
                    pick -= t.weight;
                    false
                }
            })
            .unwrap_or(&territories[0]);
        // 36 months, slightly more recent reports than old ones.
        let age_minutes = {
            let u: f64 = rng.random();
            (u.powf(1.3) * 36.0 * 30.4 * 24.0 * 60.0) as i64 + 30
        };
        let created_at = today - Duration::minutes(age_minutes);
        let year = created_at.year() as u16;
        let number = counters.entry((territory.id, year)).or_insert(0);
        *number += 1;
        let age_days = age_minutes / (24 * 60);
        let status = match (age_days, rng.random_range(0..100)) {
            (0..15, 0..60) => "need_validation",
            (0..15, 60..95) => "active",
            (0..15, _) => "refused",
            (_, 0..3) => "need_validation",
            (_, 3..48) => "active",
            (_, 48..82) => "closed",
            (_, 82..92) => "refused",
            _ => "archived",
        };
        let profile = *[
            "locataire",
            "locataire",
            "locataire",
            "locataire",
            "bailleur_occupant",
            "tiers_particulier",
            "tiers_particulier",
            "tiers_pro",
            "service_secours",
        ]
        .choose(&mut rng)
        .unwrap_or(&"locataire");
        let first = *FIRST_NAMES.choose(&mut rng).unwrap_or(&"Léa");
        let last = surname(&mut rng);
        let third_party = profile.starts_with("tiers") || profile == "service_secours";
        let declarant_first = third_party.then(|| *FIRST_NAMES.choose(&mut rng).unwrap_or(&"Léa"));
        let declarant_last = third_party.then(|| surname(&mut rng));
        let (insee, postal, city) = territory
            .communes
            .choose(&mut rng)
            .cloned()
            .unwrap_or_default();

        let how_many = rng.random_range(1..=5);
        let picked: Vec<&(u32, Precision)> =
            precisions.choose_multiple(&mut rng, how_many).collect();
        let children = rng.random_bool(0.25);
        let chosen: Vec<Precision> = picked.iter().map(|(_, p)| p.clone()).collect();
        let scoring = scoring::compute(
            &chosen,
            &ScoringInput {
                child_under_6: children,
                ..ScoringInput::default()
            },
        );
        for (precision_id, _) in &picked {
            batch.defects.push((id, *precision_id, created_at));
        }
        for q in &scoring.qualifications {
            batch.qualifications.push(QualificationRow {
                report_id: id,
                qualification: q.qualification.code(),
                status: q.status.code(),
                precision_codes: Json(q.precision_slugs.clone()),
            });
        }

        let validated_at = matches!(status, "active" | "closed" | "archived")
            .then(|| created_at + Duration::hours(rng.random_range(2..96)))
            .map(|v| v.min(today));
        let refused_at = (status == "refused").then(|| (created_at + Duration::days(3)).min(today));
        let closed_at = (status == "closed" || status == "archived").then(|| {
            (validated_at.unwrap_or(created_at) + Duration::days(rng.random_range(20..400)))
                .min(today)
        });

        let mut last_at = created_at;
        let mut last_kind = "system";
        batch.follow_ups.push(FollowUpRow {
            report_id: id,
            author_user_id: None,
            author_partner_id: None,
            author_kind: "system",
            category: "signalement_depose",
            body: "Signalement déposé depuis le formulaire public.",
            is_public: true,
            created_at,
        });
        if let Some(at) = refused_at {
            batch.follow_ups.push(FollowUpRow {
                report_id: id,
                author_user_id: Some(territory.first_user[0]),
                author_partner_id: Some(territory.partners[0]),
                author_kind: "partner",
                category: "signalement_is_refused",
                body: "Signalement refusé : hors du périmètre de la lutte contre l’habitat indigne.",
                is_public: true,
                created_at: at,
            });
            last_at = at;
            last_kind = "partner";
        }
        if let Some(validated) = validated_at {
            batch.follow_ups.push(FollowUpRow {
                report_id: id,
                author_user_id: Some(territory.first_user[0]),
                author_partner_id: Some(territory.partners[0]),
                author_kind: "system",
                category: "signalement_is_active",
                body: "Signalement validé et transmis aux partenaires compétents.",
                is_public: true,
                created_at: validated,
            });
            last_at = validated;
            last_kind = "system";
            let count = rng.random_range(1..=3);
            let picks: Vec<usize> =
                rand::seq::index::sample(&mut rng, territory.partners.len() - 1, count)
                    .into_iter()
                    .map(|i| i + 1)
                    .collect();
            for &k in &picks {
                let assignment_status = match status {
                    "closed" | "archived" => "ferme",
                    _ => *["nouveau", "en_cours", "en_cours", "en_cours", "refuse"]
                        .choose(&mut rng)
                        .unwrap_or(&"nouveau"),
                };
                batch.assignments.push(AssignmentRow {
                    report_id: id,
                    partner_id: territory.partners[k],
                    status: assignment_status,
                    created_at: validated,
                });
            }
            let end = closed_at.unwrap_or(today);
            let span = (end - validated).whole_minutes().max(1);
            let messages = rng.random_range(1..=5);
            let mut times: Vec<i64> = (0..messages).map(|_| rng.random_range(0..span)).collect();
            times.sort_unstable();
            for m in times {
                let k = *picks.choose(&mut rng).unwrap_or(&1);
                let (body, public) = *PARTNER_MESSAGES
                    .choose(&mut rng)
                    .unwrap_or(&PARTNER_MESSAGES[0]);
                let at = validated + Duration::minutes(m);
                batch.follow_ups.push(FollowUpRow {
                    report_id: id,
                    author_user_id: Some(
                        territory.first_user[k] + rng.random_range(0..USERS_PER_PARTNER as u64),
                    ),
                    author_partner_id: Some(territory.partners[k]),
                    author_kind: "partner",
                    category: "message_partner",
                    body,
                    is_public: public,
                    created_at: at,
                });
                last_at = at;
                last_kind = "partner";
            }
            if rng.random_bool(0.25) {
                let scheduled_at = validated + Duration::days(rng.random_range(7..60));
                let (visit_status, conclusions) = if scheduled_at < today {
                    (
                        "done",
                        Some("Désordres constatés : humidité, ventilation insuffisante."),
                    )
                } else {
                    ("planned", None)
                };
                batch.visits.push(VisitRow {
                    report_id: id,
                    partner_id: territory.partners[picks[0]],
                    scheduled_at,
                    status: visit_status,
                    conclusions,
                });
            }
            if let Some(at) = closed_at {
                batch.follow_ups.push(FollowUpRow {
                    report_id: id,
                    author_user_id: Some(territory.first_user[0]),
                    author_partner_id: Some(territory.partners[0]),
                    author_kind: "partner",
                    category: "signalement_is_closed",
                    body: "Signalement clôturé pour tous les partenaires.",
                    is_public: true,
                    created_at: at,
                });
                last_at = at;
                last_kind = "partner";
            }
        }

        let (s, w, no, e) = territory.bbox;
        let lat = s + (no - s) * (0.15 + 0.7 * rng.random::<f64>());
        let lon = w + (e - w) * (0.15 + 0.7 * rng.random::<f64>());
        let code_bytes: [u8; 32] = rng.random();
        batch.reports.push(ReportRow {
            id,
            uuid: uuid(&mut rng),
            territory_id: territory.id,
            reference: format!("{year}-{number}"),
            status,
            declarant_profile: profile,
            occupant_profile: match profile {
                "locataire" => Some("locataire"),
                "bailleur_occupant" => Some("bailleur_occupant"),
                _ => None,
            },
            is_public_housing: [Some(true), Some(false), Some(false), None]
                .choose(&mut rng)
                .copied()
                .flatten(),
            occupant_first_name: first,
            occupant_last_name: last,
            occupant_email: format!("{}.{}{}@exemple.fr", ascii(first), ascii(last), id),
            occupant_phone: format!("+336{:08}", rng.random_range(0..100_000_000)),
            declarant_first_name: declarant_first,
            declarant_last_name: declarant_last,
            declarant_email: declarant_first.map(|f| format!("{}.d{}@exemple.fr", ascii(f), id)),
            landlord_name: LANDLORDS.choose(&mut rng).copied().unwrap_or("SCI"),
            dwelling_type: if rng.random_bool(0.75) {
                "appartement"
            } else {
                "maison"
            },
            dwelling_surface: f64::from(rng.random_range(12..140)),
            dwelling_rooms: rng.random_range(1..7),
            occupants: rng.random_range(1..8),
            children_under_6: children,
            housing_allowance: Some(rng.random_bool(0.5)),
            details: DETAILS.choose(&mut rng).copied().unwrap_or(""),
            address_line: format!(
                "{} {}",
                rng.random_range(1..200),
                STREETS.choose(&mut rng).copied().unwrap_or("rue")
            ),
            postal_code: postal,
            city,
            insee_code: insee,
            latitude: (lat * 1e6).round() / 1e6,
            longitude: (lon * 1e6).round() / 1e6,
            severity: scoring::score_rounded(scoring.score),
            severity_raw: scoring.score,
            severity_building: scoring.score_batiment,
            severity_dwelling: scoring.score_logement,
            follow_up_code: b64.encode(code_bytes),
            created_at,
            validated_at,
            closed_at,
            closure_reason: closed_at.map(|_| {
                *[
                    "travaux_faits_ou_en_cours",
                    "logement_decent",
                    "depart_occupant",
                    "insalubrite",
                    "non_decence",
                ]
                .choose(&mut rng)
                .unwrap_or(&"autre")
            }),
            refused_at,
            refusal_reason: refused_at.map(|_| {
                *["hors_pdlhi", "doublon", "hors_competence"]
                    .choose(&mut rng)
                    .unwrap_or(&"autre")
            }),
            last_follow_up_at: last_at,
            last_follow_up_author_kind: last_kind,
        });
        if batch.reports.len() >= BATCH && sender.blocking_send(std::mem::take(&mut batch)).is_err()
        {
            break;
        }
    }
    if !batch.reports.is_empty() {
        let _ = sender.blocking_send(batch);
    }
    counters.into_iter().map(|((t, y), n)| (t, y, n)).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_bench_databases_are_accepted() {
        assert!(is_bench_database(
            "mysql://u:p@127.0.0.1:3307/histologe_bench"
        ));
        assert!(is_bench_database(
            "mysql://u:p@127.0.0.1:3307/histologe_bench?ssl-mode=disabled"
        ));
        assert!(!is_bench_database("mysql://u:p@127.0.0.1:3307/histologe"));
    }
}
