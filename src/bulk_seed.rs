//! The national-scale benchmark dataset (`histologe bench-data --reports N`):
//! every territory open, ~30 partners per territory (with perimeters), ~10
//! users per partner, and N reports spread over territories (uneven, like the
//! real deployment), statuses, profiles and 36 months, with their defects,
//! qualifications, assignments, ~5 follow-ups each and visits.
//!
//! The reports and their history come from the one generator
//! (`generator::dataset`, shared with the demo seed); this module sets up
//! the national staff and loads in bulk: a generator thread builds batches
//! of rows while the async side writes the previous batch with multi-row
//! INSERTs (src/db/bulk.rs), one transaction per batch, foreign keys kept.
//! Deterministic for a given `--rng-seed` (and day). Refuses to run on a database whose name has no `bench` in
//! it (the demo and test databases are never touched), and does nothing
//! when the database already holds reports.

use std::time::Instant;

use futures::StreamExt;
use rand::{Rng, SeedableRng, rngs::StdRng, seq::IndexedRandom};
use sqlx::types::Json;

use crate::{
    auth::password,
    db::{
        self,
        bulk::{Batch, PartnerRow, UserRow},
    },
    generator::{
        dataset::{self, Dataset, Partner, Territory},
        names::{self, Surnames},
        reports::{Catalogue, Scale},
    },
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

fn uuid(rng: &mut StdRng) -> String {
    uuid::Builder::from_random_bytes(rng.random())
        .into_uuid()
        .to_string()
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
    let (catalogue, ids) = {
        let mut conn = pool.acquire().await?;
        let catalogue = Catalogue::new(db::defects::all_precisions(&mut conn).await?);
        (catalogue, db::bulk::next_ids(&mut conn).await?)
    };
    let communes = db::bulk::all_communes(pool).await?;
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
        let own: Vec<dataset::Commune> = communes
            .iter()
            .filter(|c| c.0 == t.id)
            .map(|c| (c.1.clone(), c.2.clone(), c.3.clone()))
            .collect();
        if own.is_empty() {
            continue;
        }
        let mut staff = Vec::with_capacity(PARTNERS_PER_TERRITORY);
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
                let n = rng.random_range(1..=12).min(own.len());
                for c in own.choose_multiple(&mut rng, n) {
                    insee_rows.push((id, c.0.clone()));
                }
            }
            let mut partner = Partner {
                id,
                users: Vec::with_capacity(USERS_PER_PARTNER),
            };
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
                    first_name: names::first_name(&mut rng),
                    last_name: names::surname(&mut rng, Surnames::Common),
                    role,
                    membership: Some((id, t.id)),
                    can_assign: u < 2,
                });
                partner.users.push(next_user);
                next_user += 1;
            }
            staff.push(partner);
        }
        let mut staff = staff.into_iter();
        let Some(lead) = staff.next() else {
            continue;
        };
        territories.push(Territory {
            id: t.id,
            // Big urban départements get many more reports.
            weight: match t.code.as_str() {
                "13" | "59" | "69A" | "75" | "93" => 40,
                "92" | "94" | "33" | "31" | "06" | "62" | "34" | "44" | "67" | "76" => 20,
                _ => 5 + (t.id % 7) * 2,
            },
            bbox,
            communes: own,
            lead,
            partners: staff.collect(),
        });
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
    let total = options.reports;
    let first_id = ids.report;
    let territory_count = territories.len();
    let (sender, receiver) = tokio::sync::mpsc::channel::<Batch>(3);
    let generator = std::thread::spawn(move || {
        let dataset = Dataset {
            territories: &territories,
            catalogue: &catalogue,
            scale: Scale::NATIONAL,
            today: dataset::today(),
            first_id,
            batch_size: BATCH,
        };
        dataset::generate(&mut rng, &dataset, total, |batch| {
            sender.blocking_send(batch).is_ok()
        })
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
        "Jeu de données de benchmark chargé en {:.0} s : {territory_count} territoires ouverts, {} partenaires, {} comptes, \
         {loaded} signalements, {defects} désordres, {assignments} affectations, {follow_ups} suivis, {visits} visites.\n\
         Compte super admin : {BENCH_ADMIN} / {BENCH_PASSWORD}",
        elapsed.as_secs_f64(),
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
    db::bulk::insert_batch(&mut tx, batch).await?;
    tx.commit().await
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
