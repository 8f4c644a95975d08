//! Signed JSON webhooks to a partner's own system.
//!
//! `POST <webhook_url>` with the JSON body and three headers:
//! - `X-Histologe-Timestamp`: Unix seconds when signed;
//! - `X-Histologe-Signature`: `sha256=<hex HMAC-SHA256(secret, "<timestamp>.<body>")>`;
//! - `X-Histologe-Delivery`: a delivery id, the same on every retry of one
//!   event, so that the receiver can drop duplicates.
//!
//! A receiver recomputes the HMAC over the raw body, compares in constant
//! time ([`verify`]) and refuses timestamps older than 5 minutes (replay).

use hmac::{Hmac, Mac};
use sha2::Sha256;

use super::{Call, CallContext, Http, JobError};

pub const TIMESTAMP_HEADER: &str = "x-histologe-timestamp";
pub const SIGNATURE_HEADER: &str = "x-histologe-signature";
pub const DELIVERY_HEADER: &str = "x-histologe-delivery";
/// How old a signed timestamp may be.
pub const TOLERANCE_SECS: i64 = 300;

fn mac(secret: &str, timestamp: i64, body: &[u8]) -> Hmac<Sha256> {
    #[allow(clippy::expect_used, reason = "HMAC takes keys of any length")]
    let mut mac = Hmac::<Sha256>::new_from_slice(secret.as_bytes()).expect("HMAC takes any key");
    mac.update(timestamp.to_string().as_bytes());
    mac.update(b".");
    mac.update(body);
    mac
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// The signature header value.
pub fn sign(secret: &str, timestamp: i64, body: &[u8]) -> String {
    format!(
        "sha256={}",
        hex(&mac(secret, timestamp, body).finalize().into_bytes())
    )
}

/// Checks a delivery as a receiver should: signature over timestamp and
/// body (constant time), and a timestamp within [`TOLERANCE_SECS`] of `now`.
pub fn verify(secret: &str, timestamp: &str, signature: &str, body: &[u8], now: i64) -> bool {
    let Ok(ts) = timestamp.parse::<i64>() else {
        return false;
    };
    if (now - ts).abs() > TOLERANCE_SECS {
        return false;
    }
    let Some(hex_sig) = signature.strip_prefix("sha256=") else {
        return false;
    };
    let Some(bytes) = (0..hex_sig.len())
        .step_by(2)
        .map(|i| {
            hex_sig
                .get(i..i + 2)
                .and_then(|h| u8::from_str_radix(h, 16).ok())
        })
        .collect::<Option<Vec<u8>>>()
    else {
        return false;
    };
    mac(secret, ts, body).verify_slice(&bytes).is_ok()
}

/// Sends one event.
pub async fn deliver(
    http: &Http,
    ctx: &CallContext,
    url: &str,
    secret: &str,
    delivery_id: &str,
    body: &serde_json::Value,
) -> Result<(), JobError> {
    let body = body.to_string();
    let timestamp = time::OffsetDateTime::now_utc().unix_timestamp();
    let signature = sign(secret, timestamp, body.as_bytes());
    let answer = http
        .send_to_partner(
            ctx,
            Call {
                service: "webhook",
                action: "notify",
                endpoint: format!("POST {}", super::loggable_url(url)),
                request_excerpt: Some(super::redact_json(&body)),
            },
            url,
            |client, url| {
                client
                    .post(url)
                    .header("content-type", "application/json")
                    .header(TIMESTAMP_HEADER, timestamp.to_string())
                    .header(SIGNATURE_HEADER, signature)
                    .header(DELIVERY_HEADER, delivery_id)
                    .body(body)
            },
        )
        .await?;
    if answer.is_success() {
        Ok(())
    } else {
        Err(answer.to_error("Webhook"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_signature_verifies_once_and_only_for_its_body_and_time() {
        let sig = sign("s3cret", 1_000, b"{}");
        assert!(verify("s3cret", "1000", &sig, b"{}", 1_100));
        assert!(!verify("s3cret", "1000", &sig, b"{ }", 1_100));
        assert!(!verify("other", "1000", &sig, b"{}", 1_100));
        assert!(!verify(
            "s3cret",
            "1000",
            &sig,
            b"{}",
            1_000 + TOLERANCE_SECS + 1
        ));
    }
}
