//! Prometheus text exposition of the platform's figures, for `/metrics` of
//! the web process and of the worker (docs/worker.md §6):
//! - the job queue, read from the outbox (both processes show the same
//!   figures: the table is the queue);
//! - in the web process, requests by route template and status, and a
//!   latency histogram per route template (never the raw path: it may hold
//!   tokens);
//! - the database pool's connections.
//!
//! The endpoint answers only with the bearer token of `METRICS_TOKEN`; without
//! one it does not exist (404).

use std::{
    collections::BTreeMap,
    fmt::Write,
    sync::{LazyLock, Mutex},
    time::Duration,
};

use crate::db::{Pool, outbox::QueueFigures};

/// Upper bounds (seconds) of the latency histogram's buckets.
const BUCKETS: [f64; 11] = [
    0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0,
];

#[derive(Default)]
struct RouteLatency {
    /// Cumulative counts per bucket of [`BUCKETS`].
    buckets: [u64; BUCKETS.len()],
    count: u64,
    sum: f64,
}

#[derive(Default)]
struct Http {
    /// (route template, method, status) → requests.
    requests: BTreeMap<(String, String, u16), u64>,
    latency: BTreeMap<String, RouteLatency>,
}

static HTTP: LazyLock<Mutex<Http>> = LazyLock::new(|| Mutex::new(Http::default()));

/// Counts one answered request of the web process.
pub fn record_request(route: &str, method: &str, status: u16, elapsed: Duration) {
    let Ok(mut http) = HTTP.lock() else {
        return;
    };
    *http
        .requests
        .entry((route.to_owned(), method.to_owned(), status))
        .or_default() += 1;
    let latency = http.latency.entry(route.to_owned()).or_default();
    let secs = elapsed.as_secs_f64();
    for (bucket, bound) in latency.buckets.iter_mut().zip(BUCKETS) {
        if secs <= bound {
            *bucket += 1;
        }
    }
    latency.count += 1;
    latency.sum += secs;
}

/// A label value escaped as the text format wants it.
fn label(value: &str) -> String {
    value
        .replace('\\', "\\\\")
        .replace('"', "\\\"")
        .replace('\n', "\\n")
}

fn header(out: &mut String, name: &str, kind: &str, help: &str) {
    let _ = writeln!(out, "# HELP {name} {help}");
    let _ = writeln!(out, "# TYPE {name} {kind}");
}

/// A gauge of the queue: name, help, and its value for one kind.
type Gauge = (&'static str, &'static str, fn(&QueueFigures) -> f64);

/// The queue's figures per job kind.
pub fn render_queue(out: &mut String, figures: &[QueueFigures]) {
    let gauges: [Gauge; 6] = [
        (
            "histologe_jobs_pending",
            "Jobs waiting for their first attempt (queue depth), per kind.",
            |f| f.pending as f64,
        ),
        (
            "histologe_jobs_oldest_due_seconds",
            "How long the oldest due job of the kind has been waiting.",
            |f| f.oldest_due_secs as f64,
        ),
        (
            "histologe_jobs_running",
            "Jobs claimed by a worker now.",
            |f| f.running as f64,
        ),
        (
            "histologe_jobs_failed",
            "Jobs that failed and wait for their next attempt.",
            |f| f.failed as f64,
        ),
        (
            "histologe_jobs_dead",
            "Jobs given up, waiting for an administrator.",
            |f| f.dead as f64,
        ),
        (
            "histologe_jobs_done_last_hour",
            "Jobs done in the last hour (throughput).",
            |f| f.done_last_hour as f64,
        ),
    ];
    for (name, help, value) in gauges {
        header(out, name, "gauge", help);
        for f in figures {
            let _ = writeln!(out, "{name}{{kind=\"{}\"}} {}", label(&f.kind), value(f));
        }
    }
}

/// The pool's connections.
pub fn render_pool(out: &mut String, pool: &Pool) {
    let size = pool.size();
    let idle = u32::try_from(pool.num_idle()).unwrap_or(u32::MAX).min(size);
    header(
        out,
        "histologe_db_connections",
        "gauge",
        "MySQL connections of this process's pool, by state.",
    );
    let _ = writeln!(
        out,
        "histologe_db_connections{{state=\"in_use\"}} {}",
        size - idle
    );
    let _ = writeln!(out, "histologe_db_connections{{state=\"idle\"}} {idle}");
    header(
        out,
        "histologe_db_connections_max",
        "gauge",
        "The pool's maximum number of connections.",
    );
    let _ = writeln!(
        out,
        "histologe_db_connections_max {}",
        pool.options().get_max_connections()
    );
}

/// The web process's requests and latencies.
pub fn render_http(out: &mut String) {
    let Ok(http) = HTTP.lock() else {
        return;
    };
    header(
        out,
        "histologe_http_requests_total",
        "counter",
        "Requests answered, by route template, method and status.",
    );
    for ((route, method, status), count) in &http.requests {
        let _ = writeln!(
            out,
            "histologe_http_requests_total{{route=\"{}\",method=\"{}\",status=\"{status}\"}} {count}",
            label(route),
            label(method)
        );
    }
    let name = "histologe_http_request_duration_seconds";
    header(out, name, "histogram", "Time to answer, by route template.");
    for (route, latency) in &http.latency {
        let route = label(route);
        for (bound, count) in BUCKETS.iter().zip(latency.buckets) {
            let _ = writeln!(
                out,
                "{name}_bucket{{route=\"{route}\",le=\"{bound}\"}} {count}"
            );
        }
        let _ = writeln!(
            out,
            "{name}_bucket{{route=\"{route}\",le=\"+Inf\"}} {}",
            latency.count
        );
        let _ = writeln!(out, "{name}_sum{{route=\"{route}\"}} {}", latency.sum);
        let _ = writeln!(out, "{name}_count{{route=\"{route}\"}} {}", latency.count);
    }
}

/// Whether `authorization` (the request's header) carries `token`, compared
/// in constant time.
pub fn authorized(token: Option<&str>, authorization: Option<&str>) -> bool {
    use sha2::{Digest, Sha256};
    let (Some(token), Some(given)) = (token, authorization.and_then(|h| h.strip_prefix("Bearer ")))
    else {
        return false;
    };
    // Hashes of equal length: the comparison leaks nothing of the token.
    let (a, b) = (
        Sha256::digest(token.as_bytes()),
        Sha256::digest(given.trim().as_bytes()),
    );
    a.iter()
        .zip(b.iter())
        .fold(0u8, |acc, (x, y)| acc | (x ^ y))
        == 0
}

/// The whole exposition of a process: the queue, the pool, and (web
/// process) the requests.
pub async fn exposition(pool: &Pool, with_http: bool) -> Result<String, sqlx::Error> {
    let figures = crate::db::outbox::queue_figures(pool).await?;
    let mut out = String::new();
    render_queue(&mut out, &figures);
    render_pool(&mut out, pool);
    if with_http {
        render_http(&mut out);
    }
    Ok(out)
}

/// The content type of the text exposition format.
pub const CONTENT_TYPE: &str = "text/plain; version=0.0.4; charset=utf-8";
