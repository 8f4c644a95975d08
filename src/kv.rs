//! The Redis connection pool (sessions, rate limits, throttling, short-lived
//! caches).
//!
//! We use the `fred` client that the session store is built on, rather than a
//! second Redis client: one connection pool, one reconnection policy.
//! Commands time out after two seconds so that a Redis outage turns into a
//! clean 503 instead of hanging requests, and the pool reconnects by itself
//! when Redis comes back.

use std::time::Duration;

use fred::prelude::*;
pub use tower_sessions_redis_store::fred;

use crate::config::Config;

/// A cheap-to-clone handle on the Redis pool.
pub type RedisPool = fred::clients::Pool;

/// Builds the pool and starts connecting in the background: the process
/// starts even when Redis is down, and `/readyz` says so.
pub fn connect(config: &Config) -> anyhow::Result<RedisPool> {
    let redis_config = fred::types::config::Config::from_url(config.redis_url.expose())?;
    let pool = fred::types::Builder::from_config(redis_config)
        .with_connection_config(|c| {
            c.connection_timeout = Duration::from_secs(2);
            c.internal_command_timeout = Duration::from_secs(2);
            c.max_command_attempts = 2;
        })
        .with_performance_config(|p| {
            p.default_command_timeout = Duration::from_secs(2);
        })
        // 0 = retry forever, every 500 ms: Redis coming back is picked up
        // without restarting the process.
        .set_policy(ReconnectPolicy::new_constant(0, 500))
        .build_pool(4)?;
    pool.connect_pool();
    Ok(pool)
}

/// `PING`, for the readiness probe.
pub async fn ping(pool: &RedisPool) -> anyhow::Result<()> {
    let _: String = pool.next().ping(None).await?;
    Ok(())
}

/// Increments a counter that expires `window_secs` after its last hit;
/// returns the new count.
pub async fn hit(pool: &RedisPool, key: &str, window_secs: i64) -> Result<i64, fred::error::Error> {
    let client = pool.next();
    let count: i64 = client.incr(key).await?;
    let _: () = client.expire(key, window_secs, None).await?;
    Ok(count)
}

/// Sets a lock that lasts `seconds`.
pub async fn lock(pool: &RedisPool, key: &str, seconds: i64) -> Result<(), fred::error::Error> {
    let _: () = pool
        .next()
        .set(
            key,
            1,
            Some(fred::types::Expiration::EX(seconds)),
            None,
            false,
        )
        .await?;
    Ok(())
}

/// Sets a lock that lasts `seconds` unless one is already set; true when
/// this call set it (the caller won the turn).
pub async fn lock_if_free(
    pool: &RedisPool,
    key: &str,
    seconds: i64,
) -> Result<bool, fred::error::Error> {
    let set: Option<String> = pool
        .next()
        .set(
            key,
            1,
            Some(fred::types::Expiration::EX(seconds)),
            Some(fred::types::SetOptions::NX),
            false,
        )
        .await?;
    Ok(set.is_some())
}

/// Takes back one hit of [`hit`] (an attempt that was refused, or one that
/// must not count).
pub async fn unhit(pool: &RedisPool, key: &str) -> Result<(), fred::error::Error> {
    let client = pool.next();
    let left: i64 = client.decr(key).await?;
    if left <= 0 {
        // The counter had expired meanwhile: DECR created it without a TTL.
        let _: i64 = client.del(key).await?;
    }
    Ok(())
}

/// Seconds left on a lock (0 when there is none).
pub async fn lock_remaining(pool: &RedisPool, key: &str) -> Result<i64, fred::error::Error> {
    let ttl: i64 = pool.next().ttl(key).await?;
    Ok(ttl.max(0))
}

/// Current value of a counter (0 when absent).
pub async fn count(pool: &RedisPool, key: &str) -> Result<i64, fred::error::Error> {
    let value: Option<i64> = pool.next().get(key).await?;
    Ok(value.unwrap_or(0))
}

pub async fn forget(pool: &RedisPool, keys: &[String]) -> Result<(), fred::error::Error> {
    let _: i64 = pool.next().del(keys.to_vec()).await?;
    Ok(())
}

/// A fixed-window rate limit: true while the caller is within `limit` hits
/// per `window_secs`.
pub async fn within_rate(
    pool: &RedisPool,
    key: &str,
    limit: i64,
    window_secs: i64,
) -> Result<bool, fred::error::Error> {
    let client = pool.next();
    let count: i64 = client.incr(key).await?;
    if count == 1 {
        let _: () = client.expire(key, window_secs, None).await?;
    }
    Ok(count <= limit)
}

/// A fixed-window quota counted in units (files, messages): adds `cost`
/// to the window's count and says whether it is still within `limit`.
/// A refused request counts too, so that hammering does not pay off.
pub async fn within_limit(
    pool: &RedisPool,
    key: &str,
    cost: i64,
    limit: i64,
    window_secs: i64,
) -> Result<bool, fred::error::Error> {
    let client = pool.next();
    let count: i64 = client.incr_by(key, cost).await?;
    if count == cost {
        let _: () = client.expire(key, window_secs, None).await?;
    }
    Ok(count <= limit)
}

/// A value cached as JSON under `key`, or what `compute` returns (then
/// stored for `seconds`). The cache only ever saves work: when Redis is
/// down or holds something unreadable, the value is computed and the page
/// still answers.
///
/// Within the process, one request computes a missing value while the
/// others asking for the same key wait for it: when a national map expired,
/// thirty-two people recomputing it at once saturated the database and
/// timed out, where one computation serves them all.
pub async fn cached_json<T, E, F>(
    pool: &RedisPool,
    key: &str,
    seconds: i64,
    compute: F,
) -> Result<T, E>
where
    T: serde::Serialize + serde::de::DeserializeOwned,
    F: std::future::Future<Output = Result<T, E>>,
{
    if let Some(value) = read_json(pool, key).await {
        return Ok(value);
    }
    let gate = in_flight(key);
    let result = {
        let _turn = gate.lock().await;
        match read_json(pool, key).await {
            Some(value) => Ok(value),
            None => {
                let value = compute.await;
                if let Ok(value) = &value {
                    write_json(pool, key, value, seconds).await;
                }
                value
            }
        }
    };
    release(key, gate);
    result
}

type Gates = std::collections::HashMap<String, std::sync::Arc<tokio::sync::Mutex<()>>>;

static IN_FLIGHT: std::sync::LazyLock<std::sync::Mutex<Gates>> =
    std::sync::LazyLock::new(Default::default);

/// The gate of `key` (created by the first request that misses it).
fn in_flight(key: &str) -> std::sync::Arc<tokio::sync::Mutex<()>> {
    let mut gates = IN_FLIGHT
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    gates.entry(key.to_owned()).or_default().clone()
}

/// Forgets the gate of `key` when nobody else holds or waits on it.
fn release(key: &str, gate: std::sync::Arc<tokio::sync::Mutex<()>>) {
    let mut gates = IN_FLIGHT
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    // Two owners left: the map and this request.
    if std::sync::Arc::strong_count(&gate) <= 2 {
        gates.remove(key);
    }
}

async fn read_json<T: serde::de::DeserializeOwned>(pool: &RedisPool, key: &str) -> Option<T> {
    let cached: Result<Option<String>, _> = pool.next().get(key).await;
    cached
        .ok()
        .flatten()
        .and_then(|json| serde_json::from_str(&json).ok())
}

async fn write_json<T: serde::Serialize>(pool: &RedisPool, key: &str, value: &T, seconds: i64) {
    let Ok(json) = serde_json::to_string(value) else {
        return;
    };
    let stored: Result<(), _> = pool
        .next()
        .set(key, json, Some(Expiration::EX(seconds)), None, false)
        .await;
    if let Err(error) = stored {
        tracing::warn!(error = %error, key, "value not cached");
    }
}
