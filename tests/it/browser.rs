//! Browser smoke test: headless Chromium opens the home page, follows the
//! link to the form, and a screenshot is saved under tests/screenshots/.

use crate::common::{TestApp, screenshot_dir, webdriver::Browser};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_visitor_opens_the_home_page_and_follows_the_link_to_the_form() {
    let app = TestApp::spawn().await;
    let browser = Browser::start(390, 844).await;
    browser.goto(&app.url("/")).await;
    assert!(browser.title().await.contains("Histologe"));
    browser
        .screenshot(&screenshot_dir().join("shell-home-mobile.png"))
        .await;
    browser.click("main a[href='/signalement']").await;
    assert!(
        browser.current_url().await.ends_with("/signalement"),
        "{}",
        browser.current_url().await
    );
    browser
        .screenshot(&screenshot_dir().join("shell-form-link.png"))
        .await;
    browser.quit().await;
}

/// The main navigation each demo role should see after logging in.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn each_demo_role_logs_in_through_the_browser_and_sees_its_navigation() {
    let app = TestApp::spawn().await;
    app.seed_demo().await;
    let cases: [(&str, &[&str], &[&str]); 4] = [
        (
            "agent.schs69@histologe.localhost",
            &["Tableau de bord"],
            &["Utilisateurs", "Partenaires", "Territoires"],
        ),
        (
            "admin.schs69@histologe.localhost",
            &["Tableau de bord", "Utilisateurs"],
            &["Partenaires", "Territoires"],
        ),
        (
            "rt69@histologe.localhost",
            &["Utilisateurs", "Partenaires", "Étiquettes"],
            &["Territoires", "Journal"],
        ),
        (
            "admin@histologe.localhost",
            &[
                "Utilisateurs",
                "Partenaires",
                "Territoires",
                "Journal d’audit",
            ],
            &[],
        ),
    ];
    for (email, visible, hidden) in cases {
        let browser = Browser::start(1280, 900).await;
        browser.goto(&app.url("/connexion")).await;
        browser.type_into("#email", email).await;
        browser
            .type_into("#password", crate::common::DEMO_PASSWORD)
            .await;
        browser
            .click("form[action='/connexion'] button[type='submit']")
            .await;
        assert!(
            browser.current_url().await.ends_with("/bo"),
            "{email} lands on the dashboard"
        );
        let nav = browser.text_of("#navigation-principale").await;
        for item in visible {
            assert!(nav.contains(item), "{email} should see {item} in {nav:?}");
        }
        for item in hidden {
            assert!(
                !nav.contains(item),
                "{email} should not see {item} in {nav:?}"
            );
        }
        let name = email.split('@').next().unwrap_or("role").replace('.', "-");
        browser
            .screenshot(&screenshot_dir().join(format!("access-{name}.png")))
            .await;
        browser.quit().await;
    }
}
