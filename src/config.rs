//! Typed configuration, read once from the environment at start-up.
//!
//! Every variable is documented here and in `.env.sample`. No other module
//! reads the environment. Secrets are wrapped in [`Secret`] so that they never
//! reach a log line through `Debug`.

use std::{fmt, path::PathBuf, str::FromStr, time::Duration};

use anyhow::{Context, bail};

/// Where clamd listens: `tcp://host:port` or `unix:///path/to/clamd.sock`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ClamdAddress {
    Tcp(String),
    Unix(PathBuf),
}

impl FromStr for ClamdAddress {
    type Err = String;

    fn from_str(raw: &str) -> Result<Self, Self::Err> {
        if let Some(rest) = raw.strip_prefix("tcp://") {
            let rest = rest.trim_end_matches('/');
            match rest.rsplit_once(':') {
                Some((host, port)) if !host.is_empty() && port.parse::<u16>().is_ok() => {
                    Ok(Self::Tcp(rest.to_owned()))
                }
                _ => Err(format!("{raw:?}: expected tcp://host:port")),
            }
        } else if let Some(path) = raw.strip_prefix("unix://") {
            if path.starts_with('/') {
                Ok(Self::Unix(PathBuf::from(path)))
            } else {
                Err(format!("{raw:?}: expected unix:///absolute/path"))
            }
        } else {
            Err(format!("{raw:?}: expected tcp://host:port or unix:///path"))
        }
    }
}

impl fmt::Display for ClamdAddress {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Tcp(host_port) => write!(f, "tcp://{host_port}"),
            Self::Unix(path) => write!(f, "unix://{}", path.display()),
        }
    }
}

/// A value that must not be printed.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(String);

impl Secret {
    pub fn new(value: impl Into<String>) -> Self {
        Self(value.into())
    }
    /// The secret itself, for the one place that needs it.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Secret(***)")
    }
}

/// Where the platform runs: changes log format and cookie security.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Environment {
    Development,
    Test,
    Production,
}

/// Where uploaded documents are kept.
#[derive(Debug, Clone)]
pub enum StorageConfig {
    /// A folder on the local disk (the embedded default).
    Local { root: PathBuf },
    /// An S3-compatible bucket (OVH Object Storage in production).
    S3 {
        bucket: String,
        endpoint: Option<String>,
        region: String,
        access_key_id: String,
        secret_access_key: Secret,
        virtual_hosted_style: bool,
    },
    /// Kept in memory (tests).
    Memory,
}

/// How e-mails leave the platform.
#[derive(Debug, Clone)]
pub enum MailConfig {
    /// Brevo transactional API (`BREVO_API_KEY`).
    Brevo { api_key: Secret, api_url: String },
    /// An SMTP relay (`SMTP_URL`).
    Smtp { url: Secret },
    /// Files written to a local mailbox folder (the embedded default).
    Mailbox { dir: PathBuf },
}

#[derive(Debug, Clone)]
pub struct Config {
    /// `APP_ENV`: development (default), test or production.
    pub environment: Environment,
    /// `HOST` (default 0.0.0.0) and `PORT` (default 8080, set by Scalingo).
    pub host: String,
    pub port: u16,
    /// `APP_BASE_URL`: public URL used in e-mails and for the Origin check
    /// (default `http://localhost:8080`).
    pub base_url: String,
    /// `DATABASE_URL`, or Scalingo's `SCALINGO_MYSQL_URL`.
    pub database_url: Secret,
    /// `DATABASE_MAX_CONNECTIONS` (default 20).
    pub database_max_connections: u32,
    /// `REDIS_URL`, or Scalingo's `SCALINGO_REDIS_URL`.
    pub redis_url: Secret,
    /// `SECRET_KEY`: signs tokens, and keys the encryption of integration
    /// secrets (`crate::secrets`: changing it makes them unreadable).
    /// Required in production.
    pub secret_key: Secret,
    /// `SESSION_IDLE_MINUTES` (default 120): a back-office session ends after
    /// this long without a request.
    pub session_idle: Duration,
    /// `ASSETS_DIR` (default `assets`).
    pub assets_dir: PathBuf,
    pub storage: StorageConfig,
    pub mail: MailConfig,
    /// `MAIL_FROM` (default `Histologe <ne-pas-repondre@histologe.localhost>`).
    pub mail_from: String,
    /// `BAN_API_URL` (default the Géoplateforme geocoding service).
    pub ban_api_url: String,
    /// `DPE_API_URL` (default ADEME's open data API).
    pub dpe_api_url: String,
    /// `SENTRY_DSN`: errors are reported to Sentry when set.
    pub sentry_dsn: Option<Secret>,
    /// `METRICS_TOKEN`: the bearer token of `/metrics` (web and worker,
    /// docs/worker.md §6); without it the endpoint does not exist.
    pub metrics_token: Option<Secret>,
    /// `BREVO_WEBHOOK_SECRET`: the shared secret Brevo's transactional
    /// webhook sends (HTTP Basic password or Bearer token,
    /// docs/deliverability.md §2); without it `/webhooks/brevo` does not exist.
    pub brevo_webhook_secret: Option<Secret>,
    /// `CONTACT_EMAIL`: where the public contact form's messages go when
    /// the territory has no contact address (docs/terms.md §4).
    pub contact_email: String,
    /// `LOG_FORMAT`: `json` (default in production) or `pretty`.
    pub log_json: bool,
    /// `TRUST_X_FORWARDED_FOR` (default false): set true only behind a router
    /// that appends the client address to `X-Forwarded-For` (Scalingo's does,
    /// `scalingo.json` sets it). Off by default so that a directly exposed
    /// app never lets clients choose their address (and dodge per-address
    /// limits).
    pub trust_forwarded_for: bool,
    /// `PASSWORD_HASHING_PERMITS` (default 4): password hashes computed at
    /// once by this process. An argon2 hash takes ~19 MiB and tens of
    /// milliseconds of a core; beyond the bound, logins wait briefly and then
    /// get a 429 page, instead of exhausting memory and the blocking pool.
    pub password_hashing_permits: usize,
    /// `REDIS_KEY_PREFIX` (default `histologe:`): prefix of the rate-limit and
    /// throttling keys, so that several apps (or tests) can share a Redis.
    pub redis_prefix: String,
    /// `MAP_TILE_URL` (default OpenStreetMap's
    /// `https://tile.openstreetmap.org/{z}/{x}/{y}.png`): the Leaflet tile
    /// template of the back-office map; its origin is added to the CSP
    /// `img-src`.
    pub map_tile_url: String,
    /// `OUTBOUND_ALLOW_PRIVATE` (default false; refused in production): lets
    /// partner calls (webhooks, Esabora, Zapier) use `http` and reach
    /// loopback and private addresses, for tests and local setups whose fake
    /// partner servers listen on 127.0.0.1 (`integrations::guard`).
    pub outbound_allow_private: bool,
    /// The exports' bounds (`EXPORT_*`).
    pub exports: ExportConfig,
    /// `DEV_MAILBOX` (default false): serves the local mailbox folder at
    /// `/dev/courriels`. Opt-in (`scripts/run.sh` sets it), so that a
    /// deployment that forgets a mail provider never publishes its e-mails.
    pub dev_mailbox: bool,
    /// `CLAMD_ADDRESS`: the ClamAV daemon that scans every upload,
    /// `tcp://host:port` or `unix:///path`. Required in production; by
    /// default the one `scripts/services.sh` starts (`tcp://127.0.0.1:3311`).
    pub clamd_address: ClamdAddress,
    /// `CLAMD_TIMEOUT_SECONDS` (default 30): longest a scan may take before
    /// the worker gives up and retries later.
    pub clamd_timeout: Duration,
    /// `API_RATE_PER_MINUTE` (default 60, Histologe's figure): requests one
    /// API account may make per minute before getting 429 (docs/api.md).
    pub api_rate_per_minute: u32,
    /// Open311's public reads a client address may make per minute.
    pub open311_rate_per_minute: u32,
}

/// The bounds of the case exports (CSV and XLSX): an export holds a
/// database connection for as long as its client reads, so exports get
/// their own small pool and are counted, per user and per process.
#[derive(Debug, Clone)]
pub struct ExportConfig {
    /// `EXPORT_MAX_PER_USER` (default 2): exports one user may run at once.
    pub max_per_user: usize,
    /// `EXPORT_MAX_CONCURRENT` (default 4): exports the process runs at once.
    pub max_concurrent: usize,
    /// `EXPORT_DATABASE_MAX_CONNECTIONS` (default 3): the exports' own pool,
    /// apart from the site's, so that exports never starve the pages.
    pub database_max_connections: u32,
    /// `EXPORT_WRITE_TIMEOUT_SECONDS` (default 30): an export whose client
    /// takes nothing for this long is ended (connection and slot released).
    pub write_timeout: Duration,
    /// `EXPORT_TMP_DIR` (default the system's temporary folder): where the
    /// XLSX files are built, as files already unlinked.
    pub tmp_dir: PathBuf,
}

impl ExportConfig {
    fn from_env() -> anyhow::Result<Self> {
        Ok(Self {
            max_per_user: parsed("EXPORT_MAX_PER_USER", 2)?,
            max_concurrent: parsed("EXPORT_MAX_CONCURRENT", 4)?,
            database_max_connections: parsed("EXPORT_DATABASE_MAX_CONNECTIONS", 3)?,
            write_timeout: Duration::from_secs(parsed("EXPORT_WRITE_TIMEOUT_SECONDS", 30)?),
            tmp_dir: var("EXPORT_TMP_DIR").map_or_else(std::env::temp_dir, PathBuf::from),
        })
    }

    /// The production defaults, with the system's temporary folder.
    pub fn defaults() -> Self {
        Self {
            max_per_user: 2,
            max_concurrent: 4,
            database_max_connections: 3,
            write_timeout: Duration::from_secs(30),
            tmp_dir: std::env::temp_dir(),
        }
    }
}

/// The clamd `scripts/services.sh` starts, the default outside production.
pub const DEFAULT_CLAMD_ADDRESS: &str = "tcp://127.0.0.1:3311";

/// OpenStreetMap's tile server, the map's default.
pub const DEFAULT_MAP_TILE_URL: &str = "https://tile.openstreetmap.org/{z}/{x}/{y}.png";

/// Reads a variable, treating an empty value as absent.
fn var(name: &str) -> Option<String> {
    std::env::var(name).ok().filter(|v| !v.trim().is_empty())
}

fn var_or(name: &str, default: &str) -> String {
    var(name).unwrap_or_else(|| default.to_owned())
}

fn parsed<T: std::str::FromStr>(name: &str, default: T) -> anyhow::Result<T>
where
    T::Err: std::fmt::Display,
{
    match var(name) {
        None => Ok(default),
        Some(raw) => raw
            .parse()
            .map_err(|e| anyhow::anyhow!("{name} is not valid ({e}): {raw:?}")),
    }
}

/// The development secret: fine on a laptop, refused in production.
const DEV_SECRET_KEY: &str = "dev-only-secret-key-change-me-in-production-0123456789";

impl Config {
    /// Reads the whole configuration from the process environment (and a
    /// `.env` file in development).
    pub fn from_env() -> anyhow::Result<Self> {
        let _ = dotenvy::dotenv();
        let environment = match var_or("APP_ENV", "development").as_str() {
            "development" | "dev" => Environment::Development,
            "test" => Environment::Test,
            "production" | "prod" | "staging" => Environment::Production,
            other => bail!("APP_ENV must be development, test or production, not {other:?}"),
        };
        let database_url = var("DATABASE_URL")
            .or_else(|| var("SCALINGO_MYSQL_URL"))
            .unwrap_or_else(|| "mysql://histologe:histologe@127.0.0.1:3307/histologe".into());
        let redis_url = var("REDIS_URL")
            .or_else(|| var("SCALINGO_REDIS_URL"))
            .unwrap_or_else(|| "redis://127.0.0.1:6380/0".into());
        let secret_key = match var("SECRET_KEY") {
            Some(key) if key.len() >= 32 => key,
            Some(_) => bail!("SECRET_KEY must be at least 32 characters long"),
            None if environment == Environment::Production => {
                bail!("SECRET_KEY is required in production")
            }
            None => DEV_SECRET_KEY.to_owned(),
        };
        let storage = match var("S3_BUCKET") {
            Some(bucket) => StorageConfig::S3 {
                bucket,
                endpoint: var("S3_ENDPOINT"),
                region: var_or("S3_REGION", "gra"),
                access_key_id: var("S3_ACCESS_KEY_ID")
                    .context("S3_ACCESS_KEY_ID is required with S3_BUCKET")?,
                secret_access_key: Secret::new(
                    var("S3_SECRET_ACCESS_KEY")
                        .context("S3_SECRET_ACCESS_KEY is required with S3_BUCKET")?,
                ),
                virtual_hosted_style: parsed("S3_VIRTUAL_HOSTED_STYLE", false)?,
            },
            None => StorageConfig::Local {
                root: PathBuf::from(var_or("STORAGE_DIR", "var/storage")),
            },
        };
        let mail = if let Some(api_key) = var("BREVO_API_KEY") {
            MailConfig::Brevo {
                api_key: Secret::new(api_key),
                api_url: var_or("BREVO_API_URL", "https://api.brevo.com/v3"),
            }
        } else if let Some(url) = var("SMTP_URL") {
            MailConfig::Smtp {
                url: Secret::new(url),
            }
        } else {
            MailConfig::Mailbox {
                dir: PathBuf::from(var_or("MAILBOX_DIR", "var/mailbox")),
            }
        };
        let clamd_address = match var("CLAMD_ADDRESS") {
            Some(raw) => raw
                .parse()
                .map_err(|e| anyhow::anyhow!("CLAMD_ADDRESS is not valid: {e}"))?,
            None if environment == Environment::Production => {
                bail!("CLAMD_ADDRESS is required in production: uploads are scanned by ClamAV")
            }
            None => default_clamd_address(),
        };
        let log_json = match var("LOG_FORMAT").as_deref() {
            Some("json") => true,
            Some("pretty") => false,
            Some(other) => bail!("LOG_FORMAT must be json or pretty, not {other:?}"),
            None => environment == Environment::Production,
        };
        let outbound_allow_private = parsed("OUTBOUND_ALLOW_PRIVATE", false)?;
        if outbound_allow_private && environment == Environment::Production {
            bail!("OUTBOUND_ALLOW_PRIVATE is for tests only and is refused in production");
        }
        Ok(Self {
            environment,
            host: var_or("HOST", "0.0.0.0"),
            port: parsed("PORT", 8080)?,
            base_url: var_or("APP_BASE_URL", "http://localhost:8080")
                .trim_end_matches('/')
                .to_owned(),
            database_url: Secret::new(database_url),
            database_max_connections: parsed("DATABASE_MAX_CONNECTIONS", 20)?,
            redis_url: Secret::new(redis_url),
            secret_key: Secret::new(secret_key),
            session_idle: Duration::from_secs(60 * parsed::<u64>("SESSION_IDLE_MINUTES", 120)?),
            assets_dir: PathBuf::from(var_or("ASSETS_DIR", "assets")),
            storage,
            mail,
            mail_from: var_or(
                "MAIL_FROM",
                "Histologe <ne-pas-repondre@histologe.localhost>",
            ),
            ban_api_url: var_or("BAN_API_URL", "https://data.geopf.fr/geocodage"),
            dpe_api_url: var_or(
                "DPE_API_URL",
                "https://data.ademe.fr/data-fair/api/v1/datasets/dpe03existant",
            ),
            sentry_dsn: var("SENTRY_DSN").map(Secret::new),
            metrics_token: var("METRICS_TOKEN").map(Secret::new),
            brevo_webhook_secret: var("BREVO_WEBHOOK_SECRET").map(Secret::new),
            contact_email: var_or("CONTACT_EMAIL", "contact@histologe.localhost"),
            log_json,
            trust_forwarded_for: parsed("TRUST_X_FORWARDED_FOR", false)?,
            password_hashing_permits: parsed("PASSWORD_HASHING_PERMITS", 4usize)?.max(1),
            redis_prefix: var_or("REDIS_KEY_PREFIX", "histologe:"),
            map_tile_url: var_or("MAP_TILE_URL", DEFAULT_MAP_TILE_URL),
            outbound_allow_private,
            exports: ExportConfig::from_env()?,
            dev_mailbox: parsed("DEV_MAILBOX", false)?,
            clamd_address,
            clamd_timeout: Duration::from_secs(parsed("CLAMD_TIMEOUT_SECONDS", 30)?),
            api_rate_per_minute: parsed("API_RATE_PER_MINUTE", 60u32)?.max(1),
            open311_rate_per_minute: parsed("OPEN311_RATE_PER_MINUTE", 120u32)?.max(1),
        })
    }

    /// True when the public URL is served over HTTPS: cookies get `Secure`
    /// and responses get HSTS.
    pub fn is_https(&self) -> bool {
        self.base_url.starts_with("https://")
    }
}

impl Config {
    /// The configuration the integration tests use: the given database and
    /// Redis, documents in memory, mail in the given folder, a fixed secret.
    pub fn for_tests(database_url: &str, redis_url: &str, mailbox_dir: PathBuf) -> Self {
        Self {
            environment: Environment::Test,
            host: "127.0.0.1".into(),
            port: 0,
            base_url: "http://127.0.0.1".into(),
            database_url: Secret::new(database_url),
            database_max_connections: 5,
            redis_url: Secret::new(redis_url),
            secret_key: Secret::new(DEV_SECRET_KEY),
            session_idle: Duration::from_secs(3600),
            assets_dir: PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("assets"),
            storage: StorageConfig::Memory,
            mail: MailConfig::Mailbox { dir: mailbox_dir },
            mail_from: "Histologe <ne-pas-repondre@histologe.localhost>".into(),
            ban_api_url: "http://127.0.0.1:9/ban".into(),
            dpe_api_url: "http://127.0.0.1:9/dpe".into(),
            sentry_dsn: None,
            metrics_token: None,
            brevo_webhook_secret: None,
            contact_email: "equipe-nationale@histologe.localhost".into(),
            log_json: false,
            // Tests give each client its own address through the header.
            trust_forwarded_for: true,
            password_hashing_permits: 4,
            // Each test app has its own keys in the shared test Redis.
            redis_prefix: format!("test:{}:", uuid::Uuid::new_v4().simple()),
            map_tile_url: DEFAULT_MAP_TILE_URL.into(),
            // The fake partner servers listen on 127.0.0.1 over http; the
            // guard's own tests turn this off.
            outbound_allow_private: true,
            exports: ExportConfig::defaults(),
            dev_mailbox: false,
            // The project's clamd; tests point elsewhere through
            // TEST_CLAMD_ADDRESS (tests/it/common).
            clamd_address: default_clamd_address(),
            clamd_timeout: Duration::from_secs(10),
            api_rate_per_minute: 60,
            open311_rate_per_minute: 120,
        }
    }
}

fn default_clamd_address() -> ClamdAddress {
    ClamdAddress::Tcp(
        DEFAULT_CLAMD_ADDRESS
            .trim_start_matches("tcp://")
            .to_owned(),
    )
}
