//! The `histologe` command: `serve`, `migrate`, `seed`. A thin shim over the
//! library so that tests run the same code.

use clap::{Parser, Subcommand};
use histologe::{
    app, bulk_seed,
    config::Config,
    db,
    secrets::{self, Secrets},
    seed, telemetry,
};

#[derive(Parser)]
#[command(
    name = "histologe",
    about = "Signalement et traitement du logement indigne"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Runs the web process (listens on $PORT).
    Serve {
        /// Apply pending migrations before serving.
        #[arg(long)]
        migrate: bool,
    },
    /// Applies pending database migrations, then exits.
    Migrate,
    /// Loads demo data: territories, partners, one user per role, reports.
    Seed(seed::SeedCommand),
    /// Fills a benchmark database (name containing `bench`) with a national-scale dataset.
    BenchData(bulk_seed::BenchDataOptions),
}

fn main() -> anyhow::Result<()> {
    let cli = Cli::parse();
    let config = Config::from_env()?;
    // Sentry must start before the runtime (see docs/stack.md G12).
    let _sentry = telemetry::init_sentry(&config);
    telemetry::init_logs(&config);
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    runtime.block_on(async move {
        match cli.command {
            Command::Serve { migrate } => {
                let state = app::AppState::connect(config)?;
                if migrate {
                    db::migrate(&state.db).await?;
                }
                // Secrets still in clear (written by an older version) are
                // encrypted; a failure must not keep the site down.
                match secrets::encrypt_legacy(&state.db, &Secrets::from_config(&state.config)).await {
                    Ok(0) => {}
                    Ok(n) => tracing::info!(partners = n, "integration secrets encrypted"),
                    Err(e) => tracing::warn!(error = %e, "could not encrypt the legacy integration secrets"),
                }
                app::serve(state).await
            }
            Command::Migrate => {
                let pool = db::connect(&config)?;
                db::migrate(&pool).await?;
                tracing::info!("migrations applied");
                let encrypted = secrets::encrypt_legacy(&pool, &Secrets::from_config(&config)).await?;
                tracing::info!(partners = encrypted, "integration secrets encrypted");
                Ok(())
            }
            Command::Seed(seed::SeedCommand {
                options,
                api_account,
            }) => {
                seed::ensure_allowed(config.environment)?;
                let pool = db::connect(&config)?;
                db::migrate(&pool).await?;
                let summary = seed::run(&pool, &options).await?;
                println!("{summary}");
                if api_account {
                    let (identifier, secret) = seed::api_account(&pool).await?;
                    println!("Compte API de démonstration (secret affiché une seule fois) :");
                    println!("API_IDENTIFIANT={identifier}");
                    println!("API_SECRET={secret}");
                }
                Ok(())
            }
            Command::BenchData(options) => {
                if !options.force && !bulk_seed::is_bench_database(config.database_url.expose()) {
                    anyhow::bail!("bench-data writes only to a database whose name contains \"bench\" (or pass --force)");
                }
                let pool = db::connect(&config)?;
                db::migrate(&pool).await?;
                let summary = bulk_seed::run(&pool, &options).await?;
                println!("{summary}");
                Ok(())
            }
        }
    })
}
