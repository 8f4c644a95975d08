//! Accounts facing the open internet: the login throttle counted before
//! verifying, the bound on password hashing, hostile identifiers, session
//! generations, archived partners, subscriptions that end with the access,
//! the return path after login and the client address.

use sqlx::Row;

use crate::common::{
    DEMO_PASSWORD, TestApp, cases::CaseBuilder, fresh_database, mysql_admin_url, redis_url,
};

const SUPER_ADMIN: &str = "admin@histologe.localhost";
const RT69: &str = "rt69@histologe.localhost";
const AGENT_SCHS69: &str = "agent.schs69@histologe.localhost";
const AGENT_ARS69: &str = "agent.ars69@histologe.localhost";
const BAD_CREDENTIALS: &str = "Adresse électronique ou mot de passe incorrect.";

async fn user_id(app: &TestApp, email: &str) -> u64 {
    sqlx::query_scalar("SELECT id FROM users WHERE email = ?")
        .bind(email)
        .fetch_one(&app.db)
        .await
        .unwrap()
}

async fn partner_id(app: &TestApp, like: &str) -> u64 {
    sqlx::query_scalar("SELECT id FROM partners WHERE name LIKE ?")
        .bind(like)
        .fetch_one(&app.db)
        .await
        .unwrap()
}

/// An active case of territory 69A; returns (id, uuid).
async fn insert_case(app: &TestApp, reference: &str) -> (u64, String) {
    let case = CaseBuilder::new("69A")
        .reference(reference)
        .occupant_email("occupant@exemple.fr")
        .created("2026-06-15 10:00:00")
        .severity(Some(20.0))
        .create(app)
        .await;
    (case.id, case.uuid)
}

async fn assign(app: &TestApp, report: u64, partner: u64, status: &str) {
    crate::common::cases::assign(app, report, partner, status).await;
}

async fn subscribers(app: &TestApp, report: u64) -> Vec<String> {
    sqlx::query_scalar(
        "SELECT u.email FROM report_subscriptions s JOIN users u ON u.id = s.user_id
         WHERE s.report_id = ? ORDER BY u.email",
    )
    .bind(report)
    .fetch_all(&app.db)
    .await
    .unwrap()
}

async fn notified(app: &TestApp, report: u64) -> Vec<String> {
    sqlx::query_scalar(
        "SELECT DISTINCT u.email FROM notifications n JOIN users u ON u.id = n.user_id
         WHERE n.report_id = ? ORDER BY u.email",
    )
    .bind(report)
    .fetch_all(&app.db)
    .await
    .unwrap()
}

async fn version_of(app: &TestApp, report: u64) -> String {
    let v: u32 = sqlx::query_scalar("SELECT version FROM reports WHERE id = ?")
        .bind(report)
        .fetch_one(&app.db)
        .await
        .unwrap();
    v.to_string()
}

/// A fresh app trusting `X-Forwarded-For` or not.
async fn spawn_trusting(trust: bool) -> TestApp {
    let database = fresh_database(&mysql_admin_url()).await;
    TestApp::spawn_configured(&database, &redis_url(), |c| c.trust_forwarded_for = trust).await
}

/// True when the client is still signed in (`/bo` answers the page rather
/// than sending it to the login page).
async fn signed_in(app: &TestApp) -> bool {
    let response = app.get("/bo").await;
    match response.status().as_u16() {
        200 => true,
        303 => {
            let location = response.headers()["location"].to_str().unwrap().to_owned();
            assert!(location.starts_with("/connexion"), "{location}");
            false
        }
        other => panic!("/bo answered {other}"),
    }
}

// ------------------------------------------------------------ logins

#[tokio::test]
async fn thirty_concurrent_wrong_logins_verify_five_passwords_and_get_429_for_the_rest() {
    let app = TestApp::spawn_with_accounts().await;
    let before = app.state.hasher.verifications();
    // One form, sent thirty times at once (one CSRF token for all).
    let token = app.csrf().await;
    let attempts = (0..30).map(|_| {
        app.client
            .post(app.url("/connexion"))
            .form(&[
                ("_csrf", token.as_str()),
                ("email", RT69),
                ("password", "Pas-le-bon-2026!"),
            ])
            .send()
    });
    let statuses: Vec<u16> = futures::future::join_all(attempts)
        .await
        .into_iter()
        .map(|r| r.expect("response").status().as_u16())
        .collect();
    let refused = statuses.iter().filter(|s| **s == 429).count();
    let wrong = statuses.iter().filter(|s| **s == 401).count();
    assert_eq!((wrong, refused), (5, 25), "{statuses:?}");
    assert_eq!(
        app.state.hasher.verifications() - before,
        5,
        "only the attempts let through were verified"
    );
    // The account is locked: even the right password waits.
    let locked = app
        .post_form(
            "/connexion",
            &[("email", RT69), ("password", DEMO_PASSWORD)],
        )
        .await;
    assert_eq!(locked.status(), 429);
    assert!(
        locked
            .text()
            .await
            .unwrap()
            .contains("Trop de tentatives de connexion")
    );
}

#[tokio::test]
async fn a_saturated_password_hasher_answers_429_with_a_french_page_then_recovers() {
    let app = TestApp::spawn_with_accounts().await;
    let permits = app.state.config.password_hashing_permits as u32;
    let held = app
        .state
        .hasher
        .occupy(permits)
        .expect("every permit is free");
    let busy = app
        .post_form(
            "/connexion",
            &[("email", RT69), ("password", DEMO_PASSWORD)],
        )
        .await;
    assert_eq!(busy.status(), 429);
    let html = busy.text().await.unwrap();
    assert!(
        html.contains("Le service reçoit beaucoup de connexions en ce moment"),
        "{html}"
    );
    // Refused for load, not for the password: the attempt does not count.
    drop(held);
    app.login_as(RT69).await;
}

#[tokio::test]
async fn a_ten_thousand_character_or_non_email_identifier_gets_the_usual_401_and_is_not_stored() {
    let app = TestApp::spawn_with_accounts().await;
    let long = "a".repeat(10_000);
    let typed_password = "Motdepasse-Tape-Ici-2026";
    for identifier in [
        long.as_str(),
        typed_password,
        "<script>x</script>@exemple.fr",
    ] {
        let response = app
            .post_form(
                "/connexion",
                &[("email", identifier), ("password", "Pas-le-bon-2026!")],
            )
            .await;
        assert_eq!(
            response.status(),
            401,
            "{}",
            &identifier[..20.min(identifier.len())]
        );
        let html = response.text().await.unwrap();
        assert!(html.contains(BAD_CREDENTIALS));
        assert!(!html.contains(typed_password) && !html.contains(&long[..300]));
    }
    // An unknown but well-formed address is not stored either.
    app.post_form(
        "/connexion",
        &[("email", "jeanne.inconnue@exemple.fr"), ("password", "x")],
    )
    .await;
    let rows = sqlx::query(
        "SELECT actor_email, entity_type, entity_id FROM audit_events WHERE action = 'login_failed'",
    )
    .fetch_all(&app.db)
    .await
    .unwrap();
    assert_eq!(rows.len(), 4);
    for row in &rows {
        let actor: Option<String> = row.get("actor_email");
        let entity_id: String = row.get("entity_id");
        assert_eq!(actor, None);
        assert_eq!(row.get::<String, _>("entity_type"), "login_identifier");
        assert!(
            entity_id.len() == 64 && entity_id.bytes().all(|b| b.is_ascii_hexdigit()),
            "a keyed hash, got {entity_id}"
        );
    }
    let leaked: i64 = sqlx::query_scalar(
        "SELECT COUNT(*) FROM audit_events
         WHERE CONCAT_WS('|', actor_email, entity_id, CAST(diff AS CHAR)) LIKE '%Motdepasse%'
            OR CONCAT_WS('|', actor_email, entity_id) LIKE '%inconnue%'",
    )
    .fetch_one(&app.db)
    .await
    .unwrap();
    assert_eq!(leaked, 0);
}

#[tokio::test]
async fn the_profile_password_change_is_throttled_like_the_login() {
    let app = TestApp::spawn_with_accounts().await;
    app.login_as(AGENT_ARS69).await;
    let mut statuses = Vec::new();
    for _ in 0..7 {
        let response = app
            .post_form(
                "/bo/profil/mot-de-passe",
                &[
                    ("current", "Devine-Encore-2026"),
                    ("password", "Tres-Bon-Secret-42"),
                    ("confirmation", "Tres-Bon-Secret-42"),
                ],
            )
            .await;
        statuses.push(response.status().as_u16());
        if response.status() == 429 {
            assert!(
                response
                    .text()
                    .await
                    .unwrap()
                    .contains("Trop de tentatives de mot de passe")
            );
        }
    }
    assert_eq!(statuses, [422, 422, 422, 422, 422, 429, 429]);
    // The right current password is held back too while the delay runs.
    let response = app
        .post_form(
            "/bo/profil/mot-de-passe",
            &[
                ("current", DEMO_PASSWORD),
                ("password", "Tres-Bon-Secret-42"),
                ("confirmation", "Tres-Bon-Secret-42"),
            ],
        )
        .await;
    assert_eq!(response.status(), 429);
}

// ------------------------------------------------------------ sessions

#[tokio::test]
async fn a_password_reset_ends_the_other_sessions_including_remember_me() {
    let app = TestApp::spawn_with_accounts().await;
    let remembered = app.as_another_user();
    let response = remembered
        .post_form(
            "/connexion",
            &[
                ("email", AGENT_ARS69),
                ("password", DEMO_PASSWORD),
                ("remember", "1"),
            ],
        )
        .await;
    assert_eq!(response.status(), 303);
    let other = app.as_another_user();
    other.login_as(AGENT_ARS69).await;
    assert!(signed_in(&remembered).await && signed_in(&other).await);

    // Someone (the owner, from a third browser) resets the password.
    app.post_form("/mot-de-passe-oublie", &[("email", AGENT_ARS69)])
        .await;
    let link = app.last_link_sent_to("password_reset", AGENT_ARS69).await;
    let path = link
        .trim_start_matches(&app.state.config.base_url)
        .to_owned();
    let response = app
        .post_form(
            &path,
            &[
                ("password", "Nouveau-Secret-2026"),
                ("confirmation", "Nouveau-Secret-2026"),
            ],
        )
        .await;
    assert_eq!(response.status(), 303);

    assert!(!signed_in(&remembered).await, "the 30-day session is ended");
    assert!(!signed_in(&other).await, "the other session is ended");
    // For good: the old cookie does not come back to life.
    assert!(!signed_in(&remembered).await);
    let again = remembered
        .post_form(
            "/connexion",
            &[("email", AGENT_ARS69), ("password", "Nouveau-Secret-2026")],
        )
        .await;
    assert_eq!(again.status(), 303);
    assert!(signed_in(&remembered).await);
}

#[tokio::test]
async fn a_password_change_keeps_this_session_and_ends_the_others() {
    let app = TestApp::spawn_with_accounts().await;
    app.login_as(AGENT_ARS69).await;
    let other = app.as_another_user();
    other.login_as(AGENT_ARS69).await;
    let response = app
        .post_form(
            "/bo/profil/mot-de-passe",
            &[
                ("current", DEMO_PASSWORD),
                ("password", "Tres-Bon-Secret-42"),
                ("confirmation", "Tres-Bon-Secret-42"),
            ],
        )
        .await;
    assert_eq!(response.status(), 303);
    assert!(signed_in(&app).await, "the session that changed it stays");
    assert!(!signed_in(&other).await);
}

#[tokio::test]
async fn a_role_change_or_a_lost_membership_ends_the_users_sessions() {
    let app = TestApp::spawn_with_accounts().await;
    let agent = app.as_another_user();
    agent.login_as(AGENT_SCHS69).await;
    let agent_id = user_id(&app, AGENT_SCHS69).await;
    app.login_as(RT69).await;

    // Same role: the session survives an edit of the name.
    let edit = |role: &'static str| {
        let app = &app;
        async move {
            app.post_form(
                &format!("/bo/utilisateurs/{agent_id}"),
                &[
                    ("first_name", "Sacha"),
                    ("last_name", "Durand"),
                    ("job_title", ""),
                    ("role", role),
                    ("action", "update"),
                ],
            )
            .await
        }
    };
    assert_eq!(edit("agent").await.status(), 303);
    assert!(signed_in(&agent).await);
    assert_eq!(edit("partner_admin").await.status(), 303);
    assert!(!signed_in(&agent).await, "a role change ends the session");

    // A membership added (by the super admin, in another territory) ends
    // the session too.
    agent.login_as(AGENT_SCHS69).await;
    let admin = app.as_another_user();
    admin.login_as(SUPER_ADMIN).await;
    let caf13 = partner_id(&app, "CAF des Bouches-du-Rhône").await;
    let response = admin
        .post_form(
            &format!("/bo/utilisateurs/{agent_id}"),
            &[
                ("action", "add_membership"),
                ("partner_id", &caf13.to_string()),
            ],
        )
        .await;
    assert_eq!(response.status(), 303);
    assert!(
        !signed_in(&agent).await,
        "a membership change ends the session"
    );
    assert!(signed_in(&admin).await && signed_in(&app).await);
}

#[tokio::test]
async fn users_of_an_archived_partner_lose_its_cases_its_subscriptions_and_its_notifications() {
    let app = TestApp::spawn_with_accounts().await;
    let (report, uuid) = insert_case(&app, "2026-701").await;
    let schs = partner_id(&app, "Service communal%Lyon").await;
    assign(&app, report, schs, "nouveau").await;
    let agent = app.as_another_user();
    agent.login_as(AGENT_SCHS69).await;
    assert_eq!(
        agent
            .post_form(
                &format!("/bo/signalements/{uuid}/affectation/accepter"),
                &[]
            )
            .await
            .status(),
        303
    );
    assert_eq!(subscribers(&app, report).await, [AGENT_SCHS69]);
    assert_eq!(
        agent
            .get(&format!("/bo/signalements/{uuid}"))
            .await
            .status(),
        200
    );

    // The territory admin archives the partner through its form.
    app.login_as(RT69).await;
    let row = sqlx::query(
        "SELECT name, type, CAST(competences AS CHAR) AS competences FROM partners WHERE id = ?",
    )
    .bind(schs)
    .fetch_one(&app.db)
    .await
    .unwrap();
    let competences: Vec<String> =
        serde_json::from_str(&row.get::<String, _>("competences")).unwrap();
    let name: String = row.get("name");
    let kind: String = row.get("type");
    let mut fields: Vec<(&str, &str)> = vec![
        ("name", &name),
        ("partner_type", &kind),
        ("is_archived", "1"),
    ];
    fields.extend(competences.iter().map(|c| ("competences", c.as_str())));
    let response = app
        .post_form(&format!("/bo/partenaires/{schs}"), &fields)
        .await;
    assert_eq!(response.status(), 303, "{}", response.text().await.unwrap());

    assert!(subscribers(&app, report).await.is_empty());
    let page = agent
        .get(&format!("/bo/signalements/{uuid}"))
        .await
        .status();
    assert!(
        page == 403 || page == 404,
        "the case is out of reach: {page}"
    );

    // A resident message on the case notifies nobody of the archived partner.
    let message = app
        .post_form(
            &format!("/bo/signalements/{uuid}/suivis"),
            &[("body", "Point d’étape du responsable de territoire.")],
        )
        .await;
    assert_eq!(message.status(), 303);
    assert!(
        !notified(&app, report)
            .await
            .contains(&AGENT_SCHS69.to_owned())
    );
}

#[tokio::test]
async fn subscriptions_end_when_the_partner_is_unassigned_or_refuses() {
    let app = TestApp::spawn_with_accounts().await;
    let schs = partner_id(&app, "Service communal%Lyon").await;
    let (unassigned, unassigned_uuid) = insert_case(&app, "2026-711").await;
    let (refused, refused_uuid) = insert_case(&app, "2026-712").await;
    assign(&app, unassigned, schs, "en_cours").await;
    assign(&app, refused, schs, "nouveau").await;
    let agent = app.as_another_user();
    agent.login_as(AGENT_SCHS69).await;
    for uuid in [&unassigned_uuid, &refused_uuid] {
        assert_eq!(
            agent
                .post_form(&format!("/bo/signalements/{uuid}/abonnement"), &[])
                .await
                .status(),
            303
        );
    }
    assert_eq!(subscribers(&app, unassigned).await, [AGENT_SCHS69]);
    assert_eq!(subscribers(&app, refused).await, [AGENT_SCHS69]);

    app.login_as(RT69).await;
    let version = version_of(&app, unassigned).await;
    let response = app
        .post_form(
            &format!("/bo/signalements/{unassigned_uuid}/desaffecter"),
            &[("partner_id", &schs.to_string()), ("version", &version)],
        )
        .await;
    assert_eq!(response.status(), 303);
    assert!(subscribers(&app, unassigned).await.is_empty());

    let response = agent
        .post_form(
            &format!("/bo/signalements/{refused_uuid}/affectation/refuser"),
            &[
                ("reason", "hors_competence"),
                ("message", "Ce dossier ne relève pas de notre service."),
            ],
        )
        .await;
    assert_eq!(response.status(), 303, "{}", response.text().await.unwrap());
    assert!(subscribers(&app, refused).await.is_empty());
}

// ------------------------------------------------------------ fail-closed

#[tokio::test]
async fn the_return_path_after_login_stays_on_the_back_office() {
    let app = TestApp::spawn_with_accounts().await;
    for (suite, expected) in [
        ("/%09/evil.example", "/bo"),
        ("/\t/evil.example", "/bo"),
        ("/\\evil.example", "/bo"),
        ("//evil.example", "/bo"),
        ("https://evil.example/bo", "/bo"),
        ("/bo/../..//evil.example", "/bo"),
        ("/bo/utilisateurs?page=2", "/bo/utilisateurs?page=2"),
    ] {
        let client = app.as_another_user();
        let response = client
            .post_form(
                "/connexion",
                &[
                    ("email", RT69),
                    ("password", DEMO_PASSWORD),
                    ("suite", suite),
                ],
            )
            .await;
        assert_eq!(response.status(), 303);
        assert_eq!(response.headers()["location"], expected, "suite={suite:?}");
    }
    // The login page does not carry a hostile value either.
    let (_, html) = app.get_html("/connexion?suite=/%09/evil.example").await;
    assert!(!html.contains("evil.example"));
}

#[tokio::test]
async fn x_forwarded_for_is_ignored_unless_trusted_and_must_parse_as_an_address() {
    // Default configuration: the header is the client's word, ignored.
    let app = spawn_trusting(false).await;
    app.seed_demo().await;
    app.post_form("/connexion", &[("email", RT69), ("password", "x")])
        .await;
    // Trusted, but not an address: the peer address is used instead.
    let trusting = spawn_trusting(true).await;
    trusting.seed_demo().await;
    let client = reqwest::Client::builder()
        .cookie_store(true)
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let liar = TestApp {
        client,
        ..trusting.clone_handle()
    };
    let token = liar.csrf().await;
    liar.client
        .post(liar.url("/connexion"))
        .header("x-forwarded-for", "1.2.3.4, <script>")
        .form(&[
            ("_csrf", token.as_str()),
            ("email", RT69),
            ("password", "x"),
        ])
        .send()
        .await
        .unwrap();
    // Trusted and valid: the last hop (the one the router appended).
    let token = liar.csrf().await;
    liar.client
        .post(liar.url("/connexion"))
        .header("x-forwarded-for", "198.51.100.1, 2001:db8::7")
        .form(&[
            ("_csrf", token.as_str()),
            ("email", RT69),
            ("password", "x"),
        ])
        .send()
        .await
        .unwrap();
    for (app, expected) in [
        (&app, vec!["127.0.0.1"]),
        (&trusting, vec!["127.0.0.1", "2001:db8::7"]),
    ] {
        let ips: Vec<String> = sqlx::query_scalar(
            "SELECT ip FROM audit_events WHERE action = 'login_failed' ORDER BY id",
        )
        .fetch_all(&app.db)
        .await
        .unwrap();
        assert_eq!(ips, expected);
    }
}
