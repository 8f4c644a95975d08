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
