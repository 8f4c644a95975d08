//! Page objects for the browser tests: each page the tests drive, with
//! methods named after what a person does there, so that a test reads as
//! user steps and a change of markup is fixed here once.
//!
//! Every step that loads a page waits for what the person would wait for (a
//! title, an address, a text), never for a fixed delay.

use std::time::{Duration, Instant};

use super::{DEMO_PASSWORD, TestApp, webdriver::Browser};

/// Waits (15 s at most) until the page title starts with `title`.
async fn wait_for_title(browser: &Browser, title: &str, after: &str) {
    let deadline = Instant::now() + Duration::from_secs(15);
    loop {
        if browser.title().await.starts_with(title) {
            return;
        }
        assert!(
            Instant::now() < deadline,
            "page « {title} » not reached after {after} (title: {})",
            browser.title().await
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// The home page.
pub struct HomePage<'a> {
    browser: &'a Browser,
}

impl<'a> HomePage<'a> {
    pub async fn open(browser: &'a Browser, app: &TestApp) -> Self {
        browser.goto(&app.url("/")).await;
        Self { browser }
    }

    pub async fn title(&self) -> String {
        self.browser.title().await
    }

    /// Follows the call to action to the reporting form.
    pub async fn follow_the_link_to_the_form(self) -> FormPage<'a> {
        self.browser.click("main a[href='/signalement']").await;
        let url = self.browser.wait_for_url("/signalement").await;
        assert!(url.ends_with("/signalement"), "the form's intro, not {url}");
        FormPage {
            browser: self.browser,
        }
    }
}

/// The public reporting form, one step at a time.
pub struct FormPage<'a> {
    browser: &'a Browser,
}

impl<'a> FormPage<'a> {
    pub async fn open(browser: &'a Browser, app: &TestApp) -> Self {
        browser.goto(&app.url("/signalement")).await;
        Self { browser }
    }

    /// From the intro page, to the first step (the address).
    pub async fn start(&self) {
        self.browser.click("#commencer").await;
        wait_for_title(self.browser, "Adresse du logement", "#commencer").await;
    }

    /// The first step: the dwelling's address typed by hand.
    pub async fn fill_address(&self, street: &str, postal_code: &str, city: &str) {
        self.browser
            .type_into("#adresse_logement_adresse_detail_numero", street)
            .await;
        self.browser
            .type_into("#adresse_logement_adresse_detail_code_postal", postal_code)
            .await;
        self.browser
            .type_into("#adresse_logement_adresse_detail_commune", city)
            .await;
    }

    /// Ticks the radio or checkbox whose input has this id.
    pub async fn choose(&self, input_id: &str) {
        self.browser
            .click(&format!("label[for='{input_id}']"))
            .await;
    }

    /// Types into the field whose id is given.
    pub async fn type_into(&self, field_id: &str, text: &str) {
        self.browser.type_into(&format!("#{field_id}"), text).await;
    }

    /// "Suivant", then waits for the step titled `next_title`.
    pub async fn next_step(&self, next_title: &str) {
        self.browser.click("#bouton-suivant").await;
        wait_for_title(self.browser, next_title, "#bouton-suivant").await;
    }

    pub async fn title(&self) -> String {
        self.browser.title().await
    }
}

/// The sign-in page.
pub struct LoginPage<'a> {
    browser: &'a Browser,
}

impl<'a> LoginPage<'a> {
    pub async fn open(browser: &'a Browser, app: &TestApp) -> Self {
        browser.goto(&app.url("/connexion")).await;
        Self { browser }
    }

    /// Signs in; returns the address the browser lands on.
    pub async fn sign_in(&self, email: &str, password: &str) -> String {
        self.browser.type_into("#email", email).await;
        self.browser.type_into("#password", password).await;
        self.browser
            .click("form[action='/connexion'] button[type='submit']")
            .await;
        self.browser.wait_for_url("/bo").await
    }

    /// Signs in with the demo password and checks the dashboard is shown.
    pub async fn sign_in_as(browser: &'a Browser, app: &TestApp, email: &str) -> Dashboard<'a> {
        let url = Self::open(browser, app)
            .await
            .sign_in(email, DEMO_PASSWORD)
            .await;
        assert!(
            url.ends_with("/bo"),
            "{email} lands on the dashboard, not {url}"
        );
        Dashboard { browser }
    }
}

/// The back-office dashboard (and the navigation every back-office page has).
pub struct Dashboard<'a> {
    browser: &'a Browser,
}

impl Dashboard<'_> {
    /// The text of the main navigation.
    pub async fn navigation(&self) -> String {
        self.browser.text_of("#navigation-principale").await
    }
}

/// The list of cases.
pub struct CaseListPage<'a> {
    browser: &'a Browser,
}

impl<'a> CaseListPage<'a> {
    /// The list, with a query string (`statut=need_validation`) or none.
    pub async fn open(browser: &'a Browser, app: &TestApp, query: &str) -> Self {
        let path = if query.is_empty() {
            "/bo/signalements".to_owned()
        } else {
            format!("/bo/signalements?{query}")
        };
        browser.goto(&app.url(&path)).await;
        Self { browser }
    }

    /// "N signalements" above the list.
    pub async fn count(&self) -> String {
        self.browser.text_of("p[role='status']").await
    }

    pub async fn offers_a_next_page(&self) -> bool {
        self.browser
            .try_text_of("a.fr-pagination__link--next")
            .await
            .is_some()
    }

    /// Opens "Plus de filtres".
    pub async fn open_more_filters(&self) {
        self.browser.click("details summary").await;
    }

    /// The label of the partner menu (its hint while no territory is chosen).
    pub async fn partner_filter_label(&self) -> String {
        self.browser.text_of("label[for='partenaire']").await
    }

    /// Chooses a territory and searches; waits for the new list.
    pub async fn filter_by_territory(&self, territory_id: u32) {
        self.browser
            .click(&format!("#territoire option[value='{territory_id}']"))
            .await;
        self.browser
            .click("form[role='search'] button[type='submit']")
            .await;
        let url = self
            .browser
            .wait_for_url_containing(&format!("territoire={territory_id}"))
            .await;
        assert!(url.contains(&format!("territoire={territory_id}")), "{url}");
        self.browser
            .wait_for_text("p[role='status']", "signalements")
            .await;
    }

    /// The partner menu once it lists `needle`.
    pub async fn partner_menu_once_it_lists(&self, needle: &str) -> String {
        self.browser.wait_for_text("#partenaire", needle).await
    }

    /// Opens the case from its line in the list.
    pub async fn open_case(self, uuid: &str) -> CasePage<'a> {
        self.browser
            .click(&format!("a[href='/bo/signalements/{uuid}']"))
            .await;
        self.browser
            .wait_for_url(&format!("/bo/signalements/{uuid}"))
            .await;
        CasePage {
            browser: self.browser,
        }
    }
}

/// One case in the back office.
pub struct CasePage<'a> {
    browser: &'a Browser,
}

impl<'a> CasePage<'a> {
    pub async fn open(browser: &'a Browser, app: &TestApp, uuid: &str) -> Self {
        browser
            .goto(&app.url(&format!("/bo/signalements/{uuid}")))
            .await;
        Self { browser }
    }

    /// The status badge once it reads `expected` (lower-cased).
    pub async fn status_once(&self, expected: &str) -> String {
        self.browser
            .wait_for_text("#statut", expected)
            .await
            .to_lowercase()
    }

    /// Ticks a partner in the validation form.
    pub async fn tick_partner_to_assign_on_validation(&self, partner_id: u64) {
        self.browser
            .click(&format!("label[for='valider-{partner_id}']"))
            .await;
    }

    pub async fn validate(&self) {
        self.browser
            .click("form[action$='/valider'] button[type='submit']")
            .await;
    }

    pub async fn accept_the_assignment(&self) {
        self.browser
            .click("form[action$='/affectation/accepter'] button[type='submit']")
            .await;
    }

    /// The assignments panel once it mentions `needle`.
    pub async fn assignments_once(&self, needle: &str) -> String {
        self.browser.wait_for_text("#affectations", needle).await
    }

    /// Writes a follow-up, visible to the resident when `public`.
    pub async fn write_follow_up(&self, text: &str, public: bool) {
        self.browser.type_into("#body", text).await;
        if public {
            self.browser.click("label[for='public']").await;
        }
        self.browser
            .click("form[action$='/suivis'] button[type='submit']")
            .await;
    }

    /// The follow-ups once they mention `needle`.
    pub async fn follow_ups_once(&self, needle: &str) -> String {
        self.browser.wait_for_text("#suivis", needle).await
    }
}

/// The resident's follow-up space.
pub struct FollowUpPage<'a> {
    browser: &'a Browser,
}

impl<'a> FollowUpPage<'a> {
    /// Opens the private link (`/suivre-mon-signalement/{code}`).
    pub async fn open(browser: &'a Browser, app: &TestApp, path: &str) -> Self {
        browser.goto(&app.url(path)).await;
        Self { browser }
    }

    /// The light identity check: initials and postal code.
    pub async fn confirm_identity(
        &self,
        first_initial: &str,
        last_initial: &str,
        postal_code: &str,
    ) {
        self.browser
            .type_into("input[name='initiale_prenom']", first_initial)
            .await;
        self.browser
            .type_into("input[name='initiale_nom']", last_initial)
            .await;
        self.browser
            .type_into("input[name='code_postal']", postal_code)
            .await;
        self.browser.click("main form button[type='submit']").await;
    }

    /// The page's main text once it mentions `needle`.
    pub async fn text_once(&self, needle: &str) -> String {
        self.browser.wait_for_text("main", needle).await
    }
}
