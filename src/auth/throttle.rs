//! Login throttling with growing delays, per account and per IP address,
//! kept in Redis so that every web process sees the same counters.
//!
//! The key for an account is derived from the e-mail typed, whether or not
//! such an account exists: an unknown e-mail is throttled exactly like a
//! known one, so the answers reveal nothing.

use crate::kv::{self, RedisPool};

/// Failures allowed before the first delay.
const ACCOUNT_FREE_FAILURES: i64 = 5;
const IP_FREE_FAILURES: i64 = 20;
/// Counters are forgotten an hour after the last failure.
const WINDOW_SECS: i64 = 3600;
/// First delay, doubled at each further failure, capped.
const BASE_DELAY_SECS: i64 = 30;
const MAX_DELAY_SECS: i64 = 15 * 60;

fn account_key(prefix: &str, email: &str) -> String {
    format!(
        "{prefix}login:acct:{}",
        super::tokens::digest(&email.trim().to_lowercase())
    )
}

fn ip_key(prefix: &str, ip: &str) -> String {
    format!("{prefix}login:ip:{ip}")
}

/// How long the caller must wait, for `failures` failures with `free` free ones.
pub fn delay_for(failures: i64, free: i64) -> i64 {
    if failures < free {
        return 0;
    }
    let doublings = (failures - free).min(10) as u32;
    (BASE_DELAY_SECS * 2i64.pow(doublings)).min(MAX_DELAY_SECS)
}

/// Seconds to wait before another attempt is allowed (0 = go ahead).
pub async fn wait_before_attempt(
    redis: &RedisPool,
    prefix: &str,
    email: &str,
    ip: &str,
) -> Result<i64, kv::fred::error::Error> {
    let account =
        kv::lock_remaining(redis, &format!("{}:lock", account_key(prefix, email))).await?;
    let by_ip = kv::lock_remaining(redis, &format!("{}:lock", ip_key(prefix, ip))).await?;
    Ok(account.max(by_ip))
}

/// Records a failed attempt and sets the delay the next one must wait.
pub async fn record_failure(
    redis: &RedisPool,
    prefix: &str,
    email: &str,
    ip: &str,
) -> Result<(), kv::fred::error::Error> {
    for (key, free) in [
        (account_key(prefix, email), ACCOUNT_FREE_FAILURES),
        (ip_key(prefix, ip), IP_FREE_FAILURES),
    ] {
        let failures = kv::hit(redis, &key, WINDOW_SECS).await?;
        let delay = delay_for(failures, free);
        if delay > 0 {
            kv::lock(redis, &format!("{key}:lock"), delay).await?;
        }
    }
    Ok(())
}

/// A successful login clears the account's counter (not the IP's: one
/// good password must not unlock guessing on other accounts).
pub async fn record_success(
    redis: &RedisPool,
    prefix: &str,
    email: &str,
) -> Result<(), kv::fred::error::Error> {
    let key = account_key(prefix, email);
    kv::forget(redis, &[key.clone(), format!("{key}:lock")]).await
}

#[cfg(test)]
mod tests {
    use super::delay_for;

    #[test]
    fn delays_start_after_the_free_failures_and_double_up_to_a_cap() {
        assert_eq!(delay_for(4, 5), 0);
        assert_eq!(delay_for(5, 5), 30);
        assert_eq!(delay_for(6, 5), 60);
        assert_eq!(delay_for(7, 5), 120);
        assert_eq!(delay_for(50, 5), 900);
    }
}
