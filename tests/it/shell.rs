//! The web shell: home page, static pages, assets, errors, probes, headers.

use crate::common::TestApp;

#[tokio::test]
async fn the_home_page_says_what_the_service_is_and_leads_to_the_form() {
    let app = TestApp::spawn().await;
    let (status, html) = app.get_html("/").await;
    assert_eq!(status, 200);
    assert!(html.contains("lang=\"fr\""));
    assert!(
        html.contains("href=\"/signalement\""),
        "home links to the form"
    );
    assert!(html.contains("id=\"contenu\""), "skip link target exists");
    assert!(html.contains("/assets/vendor/dsfr/dsfr.min.css"));
}

#[tokio::test]
async fn legal_pages_are_served_in_french() {
    let app = TestApp::spawn().await;
    for (path, words) in [
        ("/accessibilite", "accessibilité"),
        ("/mentions-legales", "Mentions légales"),
        ("/donnees-personnelles", "données personnelles"),
    ] {
        let (status, html) = app.get_html(path).await;
        assert_eq!(status, 200, "{path}");
        assert!(
            html.to_lowercase().contains(&words.to_lowercase()),
            "{path} mentions {words}"
        );
    }
}

#[tokio::test]
async fn an_unknown_page_gets_a_french_404() {
    let app = TestApp::spawn().await;
    let (status, html) = app.get_html("/nulle-part").await;
    assert_eq!(status, 404);
    assert!(html.contains("Page non trouvée"));
}

#[tokio::test]
async fn assets_are_served_with_long_cache_headers() {
    let app = TestApp::spawn().await;
    let response = app.get("/assets/vendor/dsfr/dsfr.min.css").await;
    assert_eq!(response.status(), 200);
    let cache = response.headers()["cache-control"]
        .to_str()
        .unwrap()
        .to_owned();
    assert!(cache.contains("max-age=31536000"), "{cache}");
    assert!(
        response.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/css")
    );
}

#[tokio::test]
async fn every_response_carries_security_headers_and_a_request_id() {
    let app = TestApp::spawn().await;
    let response = app.get("/").await;
    let headers = response.headers();
    let csp = headers["content-security-policy"].to_str().unwrap();
    assert!(csp.contains("frame-ancestors 'none'"));
    assert!(csp.contains("script-src 'self'") && !csp.contains("unsafe-inline"));
    assert_eq!(headers["x-content-type-options"], "nosniff");
    assert_eq!(headers["x-frame-options"], "DENY");
    assert!(headers.contains_key("referrer-policy"));
    assert!(headers.contains_key("x-request-id"));
    // Plain HTTP in tests: no HSTS.
    assert!(!headers.contains_key("strict-transport-security"));
}

#[tokio::test]
async fn pages_contain_no_inline_script_or_style() {
    let app = TestApp::spawn().await;
    for path in [
        "/",
        "/accessibilite",
        "/mentions-legales",
        "/donnees-personnelles",
        "/nulle-part",
    ] {
        let (_, html) = app.get_html(path).await;
        for (i, _) in html.match_indices("<script") {
            let tag = &html[i..i + html[i..].find('>').unwrap()];
            assert!(tag.contains("src="), "{path} has an inline script: {tag}");
        }
        assert!(!html.contains("<style"), "{path} has a <style> block");
        assert!(!html.contains(" style=\""), "{path} has a style attribute");
    }
}

#[tokio::test]
async fn healthz_answers_and_readyz_reports_every_component_up() {
    let app = TestApp::spawn().await;
    let response = app.get("/healthz").await;
    assert_eq!(response.status(), 200);
    let response = app.get("/readyz").await;
    assert_eq!(response.status(), 200);
    let body: serde_json::Value = response.json().await.unwrap();
    assert_eq!(body["status"], "ok");
    for component in ["mysql", "redis", "storage"] {
        assert_eq!(body[component], "up", "{component}: {body}");
    }
}

#[tokio::test]
async fn a_post_without_the_csrf_token_is_refused_with_a_clear_page() {
    let app = TestApp::spawn().await;
    let response = app
        .client
        .post(app.url("/"))
        .form(&[("a", "b")])
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 403);
    let html = response.text().await.unwrap();
    assert!(html.contains("Formulaire expiré"), "{html}");
}

#[tokio::test]
async fn a_post_from_another_origin_is_refused_even_with_the_token() {
    let app = TestApp::spawn().await;
    // First visit sets the token cookie.
    let response = app.get("/").await;
    let cookie = response.headers()["set-cookie"]
        .to_str()
        .unwrap()
        .to_owned();
    let token = cookie
        .split(';')
        .next()
        .unwrap()
        .split_once('=')
        .unwrap()
        .1
        .to_owned();
    let response = app
        .client
        .post(app.url("/"))
        .header("origin", "https://evil.example")
        .form(&[("_csrf", token.as_str())])
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 403);
}
