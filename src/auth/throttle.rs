//! Password-attempt throttling with growing delays, per account and per
//! client address, kept in Redis so that every web process sees the same
//! counters.
//!
//! An attempt is counted (Redis `INCR`) *before* the password is verified,
//! and the answer of that increment decides whether it may go on: the
//! first attempts of a window go through freely; from the `free`-th on, an
//! attempt goes through only if it can set the account's lock (`SET NX`),
//! which then holds every further attempt back for a delay that doubles
//! each time. Thirty concurrent wrong logins on one account therefore
//! verify five passwords and get 429 for the other twenty-five, where
//! checking first and counting after the verification let them all through.
//! A refused attempt is not counted, so the next one after the delay goes
//! through.
//!
//! The account key is a keyed hash of the identifier typed, whether or not
//! such an account exists: an unknown e-mail is throttled exactly like a
//! known one, so the answers reveal nothing, and the identifier is not
//! readable in Redis.

use crate::kv::{self, RedisPool};

/// Attempts allowed without delay in a window, per account and per address.
const ACCOUNT_FREE_ATTEMPTS: i64 = 5;
const IP_FREE_ATTEMPTS: i64 = 20;
/// Counters are forgotten an hour after the last attempt.
const WINDOW_SECS: i64 = 3600;
/// First delay, doubled at each further attempt, capped.
const BASE_DELAY_SECS: i64 = 30;
const MAX_DELAY_SECS: i64 = 15 * 60;

/// The Redis keys of one kind of attempt (`scope`: login, password change)
/// for one account and one client address.
#[derive(Debug, Clone)]
pub struct Keys {
    account: String,
    ip: String,
}

impl Keys {
    /// `account_digest`: a keyed hash of the identifier (see
    /// [`super::tokens::keyed_digest`]); `rate_key`: the client address as
    /// [`super::session::RequestOrigin::rate_key`] groups it.
    pub fn new(prefix: &str, scope: &str, account_digest: &str, rate_key: &str) -> Self {
        Self {
            account: format!("{prefix}{scope}:acct:{account_digest}"),
            ip: format!("{prefix}{scope}:ip:{rate_key}"),
        }
    }

    fn counters(&self) -> [(&str, i64); 2] {
        [
            (&self.account, ACCOUNT_FREE_ATTEMPTS),
            (&self.ip, IP_FREE_ATTEMPTS),
        ]
    }
}

fn lock_key(counter: &str) -> String {
    format!("{counter}:lock")
}

/// Whether an attempt may verify a password.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Decision {
    Go,
    /// Refused: retry in this many seconds.
    Wait(i64),
}

/// The delay an attempt sets for the next one, when it is the `attempts`-th
/// of the window with `free` free ones.
pub fn delay_for(attempts: i64, free: i64) -> i64 {
    if attempts < free {
        return 0;
    }
    let doublings = (attempts - free).min(10) as u32;
    (BASE_DELAY_SECS * 2i64.pow(doublings)).min(MAX_DELAY_SECS)
}

/// Counts an attempt and says whether it may go on (see the module doc).
/// A refused attempt is not counted.
pub async fn begin_attempt(
    redis: &RedisPool,
    keys: &Keys,
) -> Result<Decision, kv::fred::error::Error> {
    let wait = remaining(redis, keys).await?;
    if wait > 0 {
        return Ok(Decision::Wait(wait));
    }
    // The account first: attempts it refuses never touch the address's
    // counter (thirty guesses at one account count once per verified one).
    let counters = keys.counters();
    for (done, (counter, free)) in counters.iter().enumerate() {
        let attempts = kv::hit(redis, counter, WINDOW_SECS).await?;
        if attempts >= *free
            && !kv::lock_if_free(redis, &lock_key(counter), delay_for(attempts, *free)).await?
        {
            // Another attempt took the turn first (or a lock is running):
            // refused, and not counted.
            for (counted, _) in &counters[..=done] {
                kv::unhit(redis, counted).await?;
            }
            return Ok(Decision::Wait(remaining(redis, keys).await?.max(1)));
        }
    }
    Ok(Decision::Go)
}

async fn remaining(redis: &RedisPool, keys: &Keys) -> Result<i64, kv::fred::error::Error> {
    let mut wait = 0;
    for (counter, _) in keys.counters() {
        wait = wait.max(kv::lock_remaining(redis, &lock_key(counter)).await?);
    }
    Ok(wait)
}

/// A right password clears the account's counter and lock, and takes its
/// attempt back from the address's counter (colleagues behind one office
/// address do not use up each other's attempts by signing in). The
/// address's lock stays: one good password must not unlock guessing on
/// other accounts.
pub async fn record_success(redis: &RedisPool, keys: &Keys) -> Result<(), kv::fred::error::Error> {
    kv::forget(redis, &[keys.account.clone(), lock_key(&keys.account)]).await?;
    kv::unhit(redis, &keys.ip).await
}

#[cfg(test)]
mod tests {
    use super::delay_for;

    #[test]
    fn delays_start_at_the_last_free_attempt_and_double_up_to_a_cap() {
        assert_eq!(delay_for(4, 5), 0);
        assert_eq!(delay_for(5, 5), 30);
        assert_eq!(delay_for(6, 5), 60);
        assert_eq!(delay_for(7, 5), 120);
        assert_eq!(delay_for(50, 5), 900);
    }
}
