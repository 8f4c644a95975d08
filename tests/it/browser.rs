//! Browser tests: headless Chromium driven through the page objects of
//! `common::pages`, so that each test reads as what a person does;
//! screenshots are saved under tests/screenshots/.

use crate::common::{
    TestApp,
    pages::{CaseListPage, CasePage, FollowUpPage, HomePage, LoginPage},
    screenshot_dir,
    webdriver::Browser,
};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_visitor_opens_the_home_page_and_follows_the_link_to_the_form() {
    let app = TestApp::spawn().await;
    let browser = Browser::start(390, 844).await;
    let home = HomePage::open(&browser, &app).await;
    assert!(home.title().await.contains("Histologe"));
    browser
        .screenshot(&screenshot_dir().join("shell-home-mobile.png"))
        .await;
    let form = home.follow_the_link_to_the_form().await;
    browser
        .screenshot(&screenshot_dir().join("shell-form-link.png"))
        .await;
    form.start().await;
    form.fill_address("12 rue des Lilas", "13100", "Aix-en-Provence")
        .await;
    assert!(form.title().await.starts_with("Adresse du logement"));
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
        let dashboard = LoginPage::sign_in_as(&browser, &app, email).await;
        let nav = dashboard.navigation().await;
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
    LoginPage::sign_in_as(&browser, &app, "rt13@histologe.localhost").await;
    let case = CaseListPage::open(&browser, &app, "statut=need_validation")
        .await
        .open_case(&uuid)
        .await;
    assert_eq!(case.status_once("nouveau").await, "nouveau, à valider");
    case.tick_partner_to_assign_on_validation(schs13).await;
    browser
        .screenshot(&shots.join("workflow-1-validation.png"))
        .await;
    case.validate().await;
    assert_eq!(case.status_once("en cours").await, "en cours");
    assert!(
        case.assignments_once("En attente de réponse")
            .await
            .contains("En attente de réponse")
    );
    browser.quit().await;

    // The agent accepts and writes to the resident.
    let browser = Browser::start(1280, 1000).await;
    LoginPage::sign_in_as(&browser, &app, "agent.schs13@histologe.localhost").await;
    let case = CasePage::open(&browser, &app, &uuid).await;
    case.accept_the_assignment().await;
    assert!(case.assignments_once("Acceptée").await.contains("Acceptée"));
    case.write_follow_up(
        "Bonjour, une visite de votre logement sera organisée dans les quinze jours.",
        true,
    )
    .await;
    assert!(
        case.follow_ups_once("sera organisée")
            .await
            .contains("une visite de votre logement sera organisée")
    );
    browser
        .screenshot(&shots.join("workflow-2-agent-follow-up.png"))
        .await;
    browser.quit().await;

    // The resident reads it in the follow-up space.
    let browser = Browser::start(390, 844).await;
    let space = FollowUpPage::open(&browser, &app, &follow_up).await;
    space.confirm_identity("C", "D", "13100").await;
    let page = space.text_once("sera organisée").await;
    assert!(
        page.contains("une visite de votre logement sera organisée"),
        "{page}"
    );
    browser
        .screenshot(&shots.join("workflow-3-resident-reads.png"))
        .await;
    browser.quit().await;
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
    let url = LoginPage::open(&browser, &app)
        .await
        .sign_in(bulk_seed::BENCH_ADMIN, bulk_seed::BENCH_PASSWORD)
        .await;
    assert!(url.ends_with("/bo"), "{url}");
    let list = CaseListPage::open(&browser, &app, "").await;
    let count = list.count().await;
    assert!(count.contains("plus de 1"), "{count}");
    assert!(list.offers_a_next_page().await, "the next page is offered");
    list.open_more_filters().await;
    let hint = list.partner_filter_label().await;
    assert!(hint.contains("Choisissez d’abord un territoire"), "{hint}");
    browser
        .screenshot(&screenshot_dir().join("list-national.png"))
        .await;
    let t13: u32 = sqlx::query_scalar("SELECT id FROM territories WHERE code = '13'")
        .fetch_one(&app.db)
        .await
        .expect("territory 13");
    list.filter_by_territory(t13).await;
    // The territory's page, with its "Plus de filtres" opened again.
    list.open_more_filters().await;
    let menu = list.partner_menu_once_it_lists("13 – ").await;
    assert!(menu.contains("13 – "), "{menu}");
    assert!(!menu.contains("69A – "), "{menu}");
    browser
        .screenshot(&screenshot_dir().join("list-territory.png"))
        .await;
    browser.quit().await;
}
