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
        let url = browser.wait_for_url("/bo").await;
        assert!(
            url.ends_with("/bo"),
            "{email} lands on the dashboard, not {url}"
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

/// The case workflow in a real browser: a report filed through the public
/// form is validated by the territory admin, accepted by the agent who
/// writes a public follow-up, which the resident then reads in the
/// follow-up space.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_report_goes_from_validation_to_a_public_follow_up_the_resident_reads() {
    let app = TestApp::spawn().await;
    app.seed_demo().await;
    let (_, follow_up) = crate::report_form::file_tenant_report(&app, "habitant@exemple.fr").await;
    let uuid: String =
        sqlx::query_scalar("SELECT uuid FROM reports WHERE occupant_email = 'habitant@exemple.fr'")
            .fetch_one(&app.db)
            .await
            .expect("the filed report");
    let schs13: u64 =
        sqlx::query_scalar("SELECT id FROM partners WHERE name LIKE 'Service communal%Marseille'")
            .fetch_one(&app.db)
            .await
            .unwrap();
    let shots = screenshot_dir();

    // The territory admin finds it in the queue and validates it.
    let browser = Browser::start(1280, 1000).await;
    log_in(&browser, &app, "rt13@histologe.localhost").await;
    browser
        .goto(&app.url("/bo/signalements?statut=need_validation"))
        .await;
    browser
        .click(&format!("a[href='/bo/signalements/{uuid}']"))
        .await;
    assert_eq!(
        browser
            .wait_for_text("#statut", "nouveau")
            .await
            .to_lowercase(),
        "nouveau, à valider"
    );
    browser
        .click(&format!("label[for='valider-{schs13}']"))
        .await;
    browser
        .screenshot(&shots.join("workflow-1-validation.png"))
        .await;
    browser
        .click("form[action$='/valider'] button[type='submit']")
        .await;
    assert_eq!(
        browser
            .wait_for_text("#statut", "en cours")
            .await
            .to_lowercase(),
        "en cours"
    );
    assert!(
        browser
            .wait_for_text("#affectations", "En attente de réponse")
            .await
            .contains("En attente de réponse")
    );
    browser.quit().await;

    // The agent accepts and writes to the resident.
    let browser = Browser::start(1280, 1000).await;
    log_in(&browser, &app, "agent.schs13@histologe.localhost").await;
    browser
        .goto(&app.url(&format!("/bo/signalements/{uuid}")))
        .await;
    browser
        .click("form[action$='/affectation/accepter'] button[type='submit']")
        .await;
    assert!(
        browser
            .wait_for_text("#affectations", "Acceptée")
            .await
            .contains("Acceptée")
    );
    browser
        .type_into(
            "#body",
            "Bonjour, une visite de votre logement sera organisée dans les quinze jours.",
        )
        .await;
    browser.click("label[for='public']").await;
    browser
        .click("form[action$='/suivis'] button[type='submit']")
        .await;
    assert!(
        browser
            .wait_for_text("#suivis", "sera organisée")
            .await
            .contains("une visite de votre logement sera organisée")
    );
    browser
        .screenshot(&shots.join("workflow-2-agent-follow-up.png"))
        .await;
    browser.quit().await;

    // The resident reads it in the follow-up space.
    let browser = Browser::start(390, 844).await;
    browser.goto(&app.url(&follow_up)).await;
    browser
        .type_into("input[name='initiale_prenom']", "C")
        .await;
    browser.type_into("input[name='initiale_nom']", "D").await;
    browser
        .type_into("input[name='code_postal']", "13100")
        .await;
    browser.click("main form button[type='submit']").await;
    let page = browser.wait_for_text("main", "sera organisée").await;
    assert!(
        page.contains("une visite de votre logement sera organisée"),
        "{page}"
    );
    browser
        .screenshot(&shots.join("workflow-3-resident-reads.png"))
        .await;
    browser.quit().await;
}

async fn log_in(browser: &Browser, app: &TestApp, email: &str) {
    browser.goto(&app.url("/connexion")).await;
    browser.type_into("#email", email).await;
    browser
        .type_into("#password", crate::common::DEMO_PASSWORD)
        .await;
    browser
        .click("form[action='/connexion'] button[type='submit']")
        .await;
    let url = browser.wait_for_url("/bo").await;
    assert!(url.ends_with("/bo"), "{email} is signed in, not {url}");
}

/// A national list in a real browser, over more reports than the list
/// counts: the count says "plus de 1 000", the next page is still offered,
/// and the partner menu waits for a territory, then lists that territory's
/// partners only.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_super_admin_browses_a_long_national_list_then_one_territory() {
    use histologe::bulk_seed::{self, BenchDataOptions};
    let app = TestApp::spawn().await;
    bulk_seed::run(
        &app.db,
        &BenchDataOptions {
            reports: 1_200,
            rng_seed: 11,
            force: true,
        },
    )
    .await
    .expect("bulk load");
    let browser = Browser::start(1280, 1100).await;
    browser.goto(&app.url("/connexion")).await;
    browser.type_into("#email", bulk_seed::BENCH_ADMIN).await;
    browser
        .type_into("#password", bulk_seed::BENCH_PASSWORD)
        .await;
    browser
        .click("form[action='/connexion'] button[type='submit']")
        .await;
    browser.wait_for_url("/bo").await;
    browser.goto(&app.url("/bo/signalements")).await;
    let count = browser.text_of("p[role='status']").await;
    assert!(count.contains("plus de 1"), "{count}");
    assert!(
        browser
            .try_text_of("a.fr-pagination__link--next")
            .await
            .is_some(),
        "the next page is offered"
    );
    browser.click("details summary").await;
    let hint = browser.text_of("label[for='partenaire']").await;
    assert!(hint.contains("Choisissez d’abord un territoire"), "{hint}");
    browser
        .screenshot(&screenshot_dir().join("list-national.png"))
        .await;
    let t13: u32 = sqlx::query_scalar("SELECT id FROM territories WHERE code = '13'")
        .fetch_one(&app.db)
        .await
        .expect("territory 13");
    browser
        .click(&format!("#territoire option[value='{t13}']"))
        .await;
    browser
        .click("form[role='search'] button[type='submit']")
        .await;
    // The territory's page, with its "Plus de filtres" opened again.
    browser
        .wait_for_text("p[role='status']", "signalements")
        .await;
    for _ in 0..200 {
        if browser
            .current_url()
            .await
            .contains(&format!("territoire={t13}"))
        {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    browser.click("details summary").await;
    let menu = browser.wait_for_text("#partenaire", "13 – ").await;
    assert!(menu.contains("13 – "), "{menu}");
    assert!(!menu.contains("69A – "), "{menu}");
    browser
        .screenshot(&screenshot_dir().join("list-territory.png"))
        .await;
    browser.quit().await;
}
