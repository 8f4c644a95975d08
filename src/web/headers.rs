//! Security headers set on every response.

use axum::http::{HeaderName, HeaderValue, header};
use tower_http::set_header::SetResponseHeaderLayer;

/// No inline script or style anywhere: every script and stylesheet is a file
/// under `/assets`. Map tiles are the one outside origin (OpenStreetMap by
/// default).
pub const CONTENT_SECURITY_POLICY: &str = "default-src 'self'; script-src 'self'; \
style-src 'self'; img-src 'self' data: blob: https://*.tile.openstreetmap.org; \
font-src 'self'; connect-src 'self'; frame-ancestors 'none'; form-action 'self'; \
base-uri 'self'; object-src 'none'";

/// The origin (scheme and host) of a Leaflet tile template, as a CSP source:
/// `https://{s}.tile.example.org/{z}/{x}/{y}.png` gives
/// `https://*.tile.example.org`. `None` when it is not an absolute http(s)
/// URL or holds characters a CSP source cannot have.
pub fn tile_source(tile_url: &str) -> Option<String> {
    let (scheme, rest) = tile_url.split_once("://")?;
    if scheme != "https" && scheme != "http" {
        return None;
    }
    let host = rest.split(['/', '?', '#']).next()?.replace("{s}", "*");
    let valid = !host.is_empty()
        && host
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | ':' | '*'));
    valid.then(|| format!("{scheme}://{host}"))
}

/// The policy, with the map's tile origin added to `img-src` when it is not
/// OpenStreetMap's.
pub fn content_security_policy(tile_url: &str) -> String {
    match tile_source(tile_url) {
        Some(source)
            if source != "https://*.tile.openstreetmap.org"
                && !source.ends_with("://tile.openstreetmap.org") =>
        {
            CONTENT_SECURITY_POLICY.replacen(
                "https://*.tile.openstreetmap.org",
                &format!("https://*.tile.openstreetmap.org {source}"),
                1,
            )
        }
        _ => CONTENT_SECURITY_POLICY.replacen(
            "https://*.tile.openstreetmap.org",
            "https://tile.openstreetmap.org https://*.tile.openstreetmap.org",
            1,
        ),
    }
}

/// The layers that add the security headers (HSTS only behind HTTPS);
/// `tile_url` is the map's tile template (`MAP_TILE_URL`).
pub fn layers(https: bool, tile_url: &str) -> Vec<SetResponseHeaderLayer<HeaderValue>> {
    let csp = HeaderValue::from_str(&content_security_policy(tile_url))
        .unwrap_or_else(|_| HeaderValue::from_static(CONTENT_SECURITY_POLICY));
    let mut layers = vec![
        SetResponseHeaderLayer::if_not_present(header::CONTENT_SECURITY_POLICY, csp),
        SetResponseHeaderLayer::if_not_present(
            header::X_CONTENT_TYPE_OPTIONS,
            HeaderValue::from_static("nosniff"),
        ),
        SetResponseHeaderLayer::if_not_present(
            header::X_FRAME_OPTIONS,
            HeaderValue::from_static("DENY"),
        ),
        SetResponseHeaderLayer::if_not_present(
            header::REFERRER_POLICY,
            HeaderValue::from_static("same-origin"),
        ),
        SetResponseHeaderLayer::if_not_present(
            HeaderName::from_static("permissions-policy"),
            HeaderValue::from_static("camera=(), microphone=(), geolocation=(self), payment=()"),
        ),
        SetResponseHeaderLayer::if_not_present(
            HeaderName::from_static("cross-origin-opener-policy"),
            HeaderValue::from_static("same-origin"),
        ),
    ];
    if https {
        layers.push(SetResponseHeaderLayer::if_not_present(
            header::STRICT_TRANSPORT_SECURITY,
            HeaderValue::from_static("max-age=63072000; includeSubDomains"),
        ));
    }
    layers
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_tile_origin_joins_the_image_sources() {
        let osm = content_security_policy(crate::config::DEFAULT_MAP_TILE_URL);
        assert!(osm.contains("img-src 'self' data: blob: https://tile.openstreetmap.org https://*.tile.openstreetmap.org;"));
        let other = content_security_policy("https://{s}.tiles.example.fr/osm/{z}/{x}/{y}.png");
        assert!(other.contains("https://*.tile.openstreetmap.org https://*.tiles.example.fr;"));
        assert_eq!(tile_source("javascript:alert(1)"), None);
        assert_eq!(tile_source("https://a b/{z}"), None);
    }
}
