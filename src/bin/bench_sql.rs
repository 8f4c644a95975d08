//! The SQL floors of the benchmark (scripts/bench.sh): the queries a page
//! runs, through sqlx and the same `db` functions as the handlers, without
//! HTTP, templates or sessions. Each scenario runs for a bounded time at a
//! given concurrency and prints one line:
//!
//!   FLOOR <name> <concurrency> <p50 ms> <p95 ms> <p99 ms> <requests/s> <errors>
//!
//! `bench_sql uuids --count N` prints N report uuids (one a line) for the
//! case-page and follow-up scenarios of both sides.

use std::{
    sync::Arc,
    time::{Duration, Instant},
};

use clap::{Parser, Subcommand, ValueEnum};
use histologe::{
    db::{self, case_view, cases, workflow},
    domain::{case_filter::CaseFilter, map, permissions::ReportScope},
};
use rand::{Rng, SeedableRng, rngs::StdRng};
use sqlx::mysql::MySqlConnectOptions;

#[derive(Parser)]
#[command(name = "bench_sql", about = "SQL floors of the histologe benchmark")]
struct Cli {
    /// The benchmark database.
    #[arg(long, env = "DATABASE_URL")]
    database_url: String,
    /// Pool size (the web process uses DATABASE_MAX_CONNECTIONS, 20 by default).
    #[arg(long, env = "DATABASE_MAX_CONNECTIONS", default_value_t = 20)]
    pool: u32,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Prints report uuids, one a line.
    Uuids {
        #[arg(long, default_value_t = 2000)]
        count: u32,
    },
    /// Copies a completed draft COUNT times; prints the new uuids.
    CloneDrafts {
        #[arg(long)]
        from: String,
        #[arg(long, default_value_t = 1000)]
        count: u32,
    },
    /// Runs one scenario.
    Floor {
        /// Label printed on the result line.
        #[arg(long)]
        name: String,
        #[arg(long, value_enum)]
        scenario: Scenario,
        /// Query string of the page (list and map scenarios).
        #[arg(long, default_value = "")]
        query: String,
        /// File of report uuids (case and follow-up scenarios).
        #[arg(long)]
        uuids: Option<std::path::PathBuf>,
        /// User id (follow-up author, "mine" filter).
        #[arg(long, default_value_t = 1)]
        user_id: u64,
        #[arg(long, default_value_t = 1)]
        concurrency: usize,
        /// Seconds of measurement (after one second of warm-up).
        #[arg(long, default_value_t = 5.0)]
        duration: f64,
    },
}

#[derive(Clone, Copy, ValueEnum)]
enum Scenario {
    /// `db::cases::list` + `assignments_of` for a super admin.
    List,
    /// The queries of the case page.
    Case,
    /// The follow-up transaction (insert + followers).
    FollowUp,
    /// The map data queries (count, then points or grid clusters).
    Map,
    /// `SELECT 1`: the round trip alone.
    Ping,
}

struct Job {
    scenario: Scenario,
    filter: CaseFilter,
    view: Option<(map::BBox, u8)>,
    uuids: Vec<String>,
    user_id: u64,
    /// The case page's defect catalog (the server reads it once too).
    catalog: case_view::DefectCatalog,
}

async fn run_once(pool: &db::Pool, job: &Job, rng: &mut StdRng) -> anyhow::Result<()> {
    match job.scenario {
        Scenario::List => {
            let (rows, _total) =
                cases::list(pool, &ReportScope::All, &job.filter, job.user_id).await?;
            let ids: Vec<u64> = rows.iter().map(|r| r.id).collect();
            cases::assignments_of(pool, &ids).await?;
        }
        Scenario::Case => {
            let uuid = &job.uuids[rng.random_range(0..job.uuids.len())];
            let r = case_view::find_by_uuid(pool, uuid, job.user_id)
                .await?
                .ok_or_else(|| anyhow::anyhow!("unknown uuid {uuid}"))?;
            case_view::assignments(pool, r.id).await?;
            case_view::details(pool, &r, &job.catalog, &ReportScope::All).await?;
            if r.unread {
                db::notifications::mark_case_seen(pool, job.user_id, r.id).await?;
            }
            case_view::assignable_partners(
                pool,
                r.territory_id,
                r.insee_code.as_deref().unwrap_or(""),
            )
            .await?;
        }
        Scenario::FollowUp => {
            let uuid = &job.uuids[rng.random_range(0..job.uuids.len())];
            let key = case_view::find_key(pool, uuid)
                .await?
                .ok_or_else(|| anyhow::anyhow!("unknown uuid {uuid}"))?;
            case_view::assignments(pool, key.id).await?;
            let mut tx = pool.begin().await?;
            workflow::add_follow_up(
                &mut tx,
                key.id,
                Some(job.user_id),
                None,
                "partner",
                "message_partner",
                "Suivi de charge (benchmark).",
                false,
            )
            .await?;
            workflow::case_followers(&mut tx, key.id).await?;
            tx.commit().await?;
        }
        Scenario::Map => {
            let (bbox, zoom) = job
                .view
                .as_ref()
                .ok_or_else(|| anyhow::anyhow!("map scenario without bbox and zoom"))?;
            histologe::web::office::map::view_data(
                pool,
                &ReportScope::All,
                &job.filter,
                job.user_id,
                bbox,
                *zoom,
            )
            .await?;
        }
        Scenario::Ping => {
            db::health::ping(pool).await?;
        }
    }
    Ok(())
}

fn percentile(sorted: &[f64], p: f64) -> f64 {
    if sorted.is_empty() {
        return f64::NAN;
    }
    let rank = ((p / 100.0) * sorted.len() as f64).ceil() as usize;
    sorted[rank.clamp(1, sorted.len()) - 1]
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let cli = Cli::parse();
    let options: MySqlConnectOptions = cli.database_url.parse()?;
    let pool = db::pool_options(cli.pool).connect_with(options).await?;
    match cli.command {
        Command::Uuids { count } => {
            for uuid in db::bulk::sample_report_uuids(&pool, count).await? {
                println!("{uuid}");
            }
        }
        Command::CloneDrafts { from, count } => {
            for _ in 0..count {
                let uuid = uuid::Uuid::new_v4().to_string();
                if db::bulk::clone_draft(&pool, &from, &uuid).await? == 0 {
                    anyhow::bail!("no draft {from}");
                }
                println!("{uuid}");
            }
        }
        Command::Floor {
            name,
            scenario,
            query,
            uuids,
            user_id,
            concurrency,
            duration,
        } => {
            let pairs: Vec<(String, String)> = serde_urlencoded::from_str(&query)?;
            let filter = CaseFilter::parse(&pairs).map_err(|e| anyhow::anyhow!(e))?;
            let value = |name: &str| {
                pairs
                    .iter()
                    .find(|(k, _)| k == name)
                    .map(|(_, v)| v.as_str())
            };
            let view = map::parse_view(value("bbox"), value("zoom")).ok();
            let uuids = match uuids {
                Some(path) => std::fs::read_to_string(path)?
                    .lines()
                    .filter(|l| !l.is_empty())
                    .map(str::to_owned)
                    .collect(),
                None => Vec::new(),
            };
            let job = Arc::new(Job {
                scenario,
                filter,
                view,
                uuids,
                user_id,
                catalog: case_view::defect_catalog(&pool).await?,
            });
            let warm_up = Instant::now() + Duration::from_secs(1);
            let end = warm_up + Duration::from_secs_f64(duration);
            let mut tasks = Vec::new();
            for worker in 0..concurrency {
                let pool = pool.clone();
                let job = job.clone();
                tasks.push(tokio::spawn(async move {
                    let mut rng = StdRng::seed_from_u64(worker as u64);
                    let mut latencies = Vec::new();
                    let mut errors = 0u64;
                    loop {
                        let start = Instant::now();
                        if start >= end {
                            break;
                        }
                        let result = run_once(&pool, &job, &mut rng).await;
                        if start >= warm_up {
                            match result {
                                Ok(()) => latencies.push(start.elapsed().as_secs_f64() * 1000.0),
                                Err(e) => {
                                    if errors == 0 {
                                        eprintln!("[bench_sql] {e}");
                                    }
                                    errors += 1;
                                }
                            }
                        }
                    }
                    (latencies, errors)
                }));
            }
            let mut all = Vec::new();
            let mut errors = 0;
            for task in tasks {
                let (latencies, e) = task.await?;
                all.extend(latencies);
                errors += e;
            }
            all.sort_by(f64::total_cmp);
            println!(
                "FLOOR {name} {concurrency} {:.2} {:.2} {:.2} {:.1} {errors}",
                percentile(&all, 50.0),
                percentile(&all, 95.0),
                percentile(&all, 99.0),
                all.len() as f64 / duration,
            );
        }
    }
    Ok(())
}
