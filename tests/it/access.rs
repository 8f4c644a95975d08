//! Back-office access: login, sessions, throttling, activation and reset,
//! the role × route matrix, administration and its audit log.

use histologe::web::routes::route_table;
use sqlx::Row;

use crate::common::{DEMO_PASSWORD, TestApp, csrf_in, new_client};

const SUPER_ADMIN: &str = "admin@histologe.localhost";
const RT69: &str = "rt69@histologe.localhost";
const RT13: &str = "rt13@histologe.localhost";
const PA_SCHS69: &str = "admin.schs69@histologe.localhost";
const AGENT_SCHS69: &str = "agent.schs69@histologe.localhost";
const AGENT_ARS69: &str = "agent.ars69@histologe.localhost";

async fn scalar(app: &TestApp, sql: &str) -> i64 {
    sqlx::query(sql)
        .fetch_one(&app.db)
        .await
        .expect(sql)
        .try_get::<i64, _>(0)
        .expect("i64")
}

async fn id_of(app: &TestApp, sql: &str) -> u64 {
    sqlx::query(sql)
        .fetch_one(&app.db)
        .await
        .expect(sql)
        .try_get::<u64, _>(0)
        .expect("u64")
}

// ---------------------------------------------------------------- login

#[tokio::test]
async fn a_user_logs_in_reaches_the_back_office_and_logs_out() {
    let app = TestApp::spawn().await;
    app.seed_demo().await;
    let response = app.get("/bo").await;
    assert_eq!(response.status(), 303);
    assert!(
        response.headers()["location"]
            .to_str()
            .unwrap()
            .starts_with("/connexion?suite=/bo")
    );

    app.login_as(RT69).await;
    let (status, html) = app.get_html("/bo").await;
    assert_eq!(status, 200);
    assert!(html.contains("Bonjour Camille"));
    assert!(html.contains("Responsable de territoire"));

    app.logout().await;
    assert_eq!(app.get("/bo").await.status(), 303, "logged out");
}

#[tokio::test]
async fn the_session_id_changes_at_login() {
    let app = TestApp::spawn().await;
    app.seed_demo().await;
    let client = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    // An attacker-chosen session cookie must not survive the login.
    let page = client.get(app.url("/connexion")).send().await.unwrap();
    let csrf_cookie = page.headers()["set-cookie"]
        .to_str()
        .unwrap()
        .split(';')
        .next()
        .unwrap()
        .to_owned();
    let token = csrf_in(&page.text().await.unwrap());
    let fixed = "histologe_session=AAAAAAAAAAAAAAAAAAAAAA";
    let response = client
        .post(app.url("/connexion"))
        .header("cookie", format!("{csrf_cookie}; {fixed}"))
        .form(&[
            ("_csrf", token.as_str()),
            ("email", RT69),
            ("password", DEMO_PASSWORD),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 303);
    let session = response
        .headers()
        .get_all("set-cookie")
        .iter()
        .map(|v| v.to_str().unwrap().to_owned())
        .find(|c| c.starts_with("histologe_session="))
        .expect("a new session cookie");
    assert!(!session.starts_with(fixed), "{session}");
    assert!(
        session.contains("HttpOnly") && session.contains("SameSite=Lax"),
        "{session}"
    );
}

#[tokio::test]
async fn a_wrong_password_and_an_unknown_email_get_the_same_answer() {
    let app = TestApp::spawn().await;
    app.seed_demo().await;
    let wrong = app
        .post_form(
            "/connexion",
            &[("email", RT69), ("password", "Mauvais-mot-2026!")],
        )
        .await;
    assert_eq!(wrong.status(), 401);
    let wrong_html = wrong.text().await.unwrap();
    let unknown = app
        .post_form(
            "/connexion",
            &[
                ("email", "personne@nulle-part.fr"),
                ("password", "Mauvais-mot-2026!"),
            ],
        )
        .await;
    assert_eq!(unknown.status(), 401);
    let unknown_html = unknown.text().await.unwrap();
    let message = "Adresse électronique ou mot de passe incorrect.";
    assert!(wrong_html.contains(message) && unknown_html.contains(message));
    assert_eq!(app.get("/bo").await.status(), 303, "still anonymous");
}

#[tokio::test]
async fn repeated_failures_lock_the_account_with_growing_delays_even_for_unknown_emails() {
    let app = TestApp::spawn().await;
    app.seed_demo().await;
    for email in [RT69, "inconnu@exemple.fr"] {
        for attempt in 1..=5 {
            let response = app
                .post_form(
                    "/connexion",
                    &[("email", email), ("password", "Pas-le-bon-2026!")],
                )
                .await;
            assert_eq!(response.status(), 401, "attempt {attempt} for {email}");
        }
        // Locked now: even the right password is refused for a while.
        let response = app
            .post_form(
                "/connexion",
                &[("email", email), ("password", DEMO_PASSWORD)],
            )
            .await;
        assert_eq!(response.status(), 429, "{email} is locked");
        assert!(
            response
                .text()
                .await
                .unwrap()
                .contains("Trop de tentatives de connexion")
        );
    }
    // Another account from another address is not affected.
    let other = TestApp {
        client: new_client(),
        ..app
    };
    other.login_as(RT13).await;
}

#[tokio::test]
async fn a_deactivated_account_is_signed_out_at_its_next_request() {
    let app = TestApp::spawn().await;
    app.seed_demo().await;
    app.login_as(AGENT_SCHS69).await;
    assert_eq!(app.get("/bo").await.status(), 200);
    sqlx::query("UPDATE users SET status = 'archived' WHERE email = ?")
        .bind(AGENT_SCHS69)
        .execute(&app.db)
        .await
        .unwrap();
    assert_eq!(app.get("/bo").await.status(), 303);
}

#[tokio::test]
async fn a_login_form_without_csrf_token_is_refused_with_a_clear_page() {
    let app = TestApp::spawn().await;
    app.seed_demo().await;
    let response = app
        .client
        .post(app.url("/connexion"))
        .form(&[("email", RT69), ("password", DEMO_PASSWORD)])
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 403);
    assert!(response.text().await.unwrap().contains("Formulaire expiré"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_session_created_by_one_web_process_is_accepted_by_another_sharing_redis() {
    let app = TestApp::spawn().await;
    app.seed_demo().await;
    app.login_as(RT69).await;
    let database_url = app.state.config.database_url.expose().to_owned();
    let second = TestApp::spawn_with(&database_url, &crate::common::redis_url()).await;
    // Same browser (cookie jar), second process on another port: the cookie
    // is scoped to the host, so copy it the way a load balancer would see it.
    let cookies = reqwest::cookie::CookieStore::cookies(
        &*cookie_jar_of(&app).await,
        &app.url("/").parse().unwrap(),
    );
    let response = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap()
        .get(second.url("/bo"))
        .header("cookie", cookies.expect("cookies"))
        .send()
        .await
        .unwrap();
    assert_eq!(
        response.status(),
        200,
        "the second process knows the session"
    );
    assert!(response.text().await.unwrap().contains("Bonjour Camille"));
}

/// Replays the app's login with an explicit jar so the cookies can be read.
async fn cookie_jar_of(app: &TestApp) -> std::sync::Arc<reqwest::cookie::Jar> {
    let jar = std::sync::Arc::new(reqwest::cookie::Jar::default());
    let client = reqwest::Client::builder()
        .cookie_provider(jar.clone())
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let html = client
        .get(app.url("/connexion"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let token = csrf_in(&html);
    let response = client
        .post(app.url("/connexion"))
        .form(&[
            ("_csrf", token.as_str()),
            ("email", RT69),
            ("password", DEMO_PASSWORD),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 303);
    jar
}

// ------------------------------------------------- activation and reset

#[tokio::test]
async fn a_new_user_activates_their_account_from_the_emailed_link_once() {
    let app = TestApp::spawn().await;
    app.seed_demo().await;
    app.login_as(PA_SCHS69).await;
    let partner = id_of(
        &app,
        "SELECT id FROM partners WHERE name LIKE 'Service communal%Lyon'",
    )
    .await;
    let response = app
        .post_form(
            "/bo/utilisateurs/nouveau",
            &[
                ("email", "Nouvelle.Agente@Lyon.fr"),
                ("first_name", "Nora"),
                ("last_name", "Vidal"),
                ("job_title", "Inspectrice de salubrité"),
                ("role", "agent"),
                ("partner_id", &partner.to_string()),
            ],
        )
        .await;
    assert_eq!(response.status(), 303, "{}", response.text().await.unwrap());
    let link = app
        .last_link_sent_to("account_activation", "nouvelle.agente@lyon.fr")
        .await;
    let path = link.trim_start_matches(&app.state.config.base_url);
    assert!(path.starts_with("/activation/"));

    let visitor = TestApp {
        client: new_client(),
        ..app
    };
    let (status, html) = visitor.get_html(path).await;
    assert_eq!(status, 200);
    assert!(html.contains("Activer votre compte"));
    let weak = visitor
        .post_form(
            path,
            &[("password", "motdepasse"), ("confirmation", "motdepasse")],
        )
        .await;
    assert_eq!(weak.status(), 422);
    assert!(
        weak.text()
            .await
            .unwrap()
            .contains("au moins 12 caractères")
    );
    let mismatch = visitor
        .post_form(
            path,
            &[
                ("password", "Salubrite-Lyon-2026"),
                ("confirmation", "Salubrite-Lyon-2027"),
            ],
        )
        .await;
    assert_eq!(mismatch.status(), 422);
    assert!(
        mismatch
            .text()
            .await
            .unwrap()
            .contains("ne sont pas identiques")
    );
    let ok = visitor
        .post_form(
            path,
            &[
                ("password", "Salubrite-Lyon-2026"),
                ("confirmation", "Salubrite-Lyon-2026"),
            ],
        )
        .await;
    assert_eq!(ok.status(), 303);
    assert_eq!(ok.headers()["location"], "/connexion?ok=mot-de-passe");
    // Single use.
    assert_eq!(visitor.get(path).await.status(), 410);
    let login = visitor
        .post_form(
            "/connexion",
            &[
                ("email", "nouvelle.agente@lyon.fr"),
                ("password", "Salubrite-Lyon-2026"),
            ],
        )
        .await;
    assert_eq!(login.status(), 303);
}

#[tokio::test]
async fn a_forgotten_password_is_reset_through_a_one_hour_link_without_revealing_accounts() {
    let app = TestApp::spawn().await;
    app.seed_demo().await;
    let known = app
        .post_form("/mot-de-passe-oublie", &[("email", AGENT_ARS69)])
        .await;
    assert_eq!(known.status(), 200);
    let known_html = known.text().await.unwrap();
    let unknown = app
        .post_form("/mot-de-passe-oublie", &[("email", "personne@exemple.fr")])
        .await;
    assert_eq!(unknown.status(), 200);
    let unknown_html = unknown.text().await.unwrap();
    assert!(known_html.contains("Si un compte correspond à cette adresse"));
    assert!(unknown_html.contains("Si un compte correspond à cette adresse"));
    assert_eq!(
        app.pending_jobs().await.len(),
        1,
        "only the real account gets a mail"
    );

    let link = app.last_link_sent_to("password_reset", AGENT_ARS69).await;
    let path = link
        .trim_start_matches(&app.state.config.base_url)
        .to_owned();
    let expiry = scalar(&app, "SELECT TIMESTAMPDIFF(MINUTE, UTC_TIMESTAMP(), expires_at) FROM user_tokens WHERE kind = 'password_reset'").await;
    assert!(
        (58..=60).contains(&expiry),
        "valid one hour, got {expiry} min"
    );
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
    let old = app
        .post_form(
            "/connexion",
            &[("email", AGENT_ARS69), ("password", DEMO_PASSWORD)],
        )
        .await;
    assert_eq!(old.status(), 401);
    let new = app
        .post_form(
            "/connexion",
            &[("email", AGENT_ARS69), ("password", "Nouveau-Secret-2026")],
        )
        .await;
    assert_eq!(new.status(), 303);
}

#[tokio::test]
async fn an_expired_reset_link_is_refused() {
    let app = TestApp::spawn().await;
    app.seed_demo().await;
    app.post_form("/mot-de-passe-oublie", &[("email", AGENT_ARS69)])
        .await;
    let link = app.last_link_sent_to("password_reset", AGENT_ARS69).await;
    let path = link
        .trim_start_matches(&app.state.config.base_url)
        .to_owned();
    sqlx::query("UPDATE user_tokens SET expires_at = UTC_TIMESTAMP() - INTERVAL 1 MINUTE")
        .execute(&app.db)
        .await
        .unwrap();
    let response = app
        .post_form(
            &path,
            &[
                ("password", "Nouveau-Secret-2026"),
                ("confirmation", "Nouveau-Secret-2026"),
            ],
        )
        .await;
    assert_eq!(response.status(), 410);
    assert!(
        response
            .text()
            .await
            .unwrap()
            .contains("Ce lien n’est plus valable")
    );
}

// ---------------------------------------------------- administration

#[tokio::test]
async fn bad_user_input_gets_a_french_message_on_the_field_and_writes_nothing() {
    let app = TestApp::spawn().await;
    app.seed_demo().await;
    let users_before = scalar(&app, "SELECT COUNT(*) FROM users").await;
    let schs69 = id_of(
        &app,
        "SELECT id FROM partners WHERE name LIKE 'Service communal%Lyon'",
    )
    .await
    .to_string();
    let schs13 = id_of(
        &app,
        "SELECT id FROM partners WHERE name LIKE 'Service communal%Marseille'",
    )
    .await
    .to_string();

    app.login_as(RT69).await;
    // Duplicate e-mail (case-insensitive).
    let response = app
        .post_form(
            "/bo/utilisateurs/nouveau",
            &[
                ("email", "AGENT.SCHS69@histologe.localhost"),
                ("first_name", "A"),
                ("last_name", "B"),
                ("role", "agent"),
                ("partner_id", &schs69),
            ],
        )
        .await;
    assert_eq!(response.status(), 422);
    assert!(
        response
            .text()
            .await
            .unwrap()
            .contains("Un compte existe déjà avec cette adresse électronique.")
    );
    // A partner of another territory.
    let response = app
        .post_form(
            "/bo/utilisateurs/nouveau",
            &[
                ("email", "x@lyon.fr"),
                ("first_name", "A"),
                ("last_name", "B"),
                ("role", "agent"),
                ("partner_id", &schs13),
            ],
        )
        .await;
    assert_eq!(response.status(), 422);
    assert!(
        response
            .text()
            .await
            .unwrap()
            .contains("n’est pas dans votre périmètre")
    );
    // A role above one's own.
    let response = app
        .post_form(
            "/bo/utilisateurs/nouveau",
            &[
                ("email", "y@lyon.fr"),
                ("first_name", "A"),
                ("last_name", "B"),
                ("role", "super_admin"),
                ("partner_id", &schs69),
            ],
        )
        .await;
    assert_eq!(response.status(), 422);
    assert!(
        response
            .text()
            .await
            .unwrap()
            .contains("rôle supérieur au vôtre")
    );
    // Everything typed is kept.
    let response = app
        .post_form(
            "/bo/utilisateurs/nouveau",
            &[
                ("email", "pas-une-adresse"),
                ("first_name", "Gardé"),
                ("last_name", "Aussi"),
                ("role", "agent"),
                ("partner_id", &schs69),
            ],
        )
        .await;
    let html = response.text().await.unwrap();
    assert!(html.contains("value=\"Gardé\"") && html.contains("value=\"pas-une-adresse\""));
    assert!(html.contains("aria-invalid=\"true\""));

    // Unknown INSEE code and partner outside the admin's territory.
    let territory_13 = id_of(
        &app,
        "SELECT CAST(id AS UNSIGNED) FROM territories WHERE code = '13'",
    )
    .await
    .to_string();
    let territory_69a = id_of(
        &app,
        "SELECT CAST(id AS UNSIGNED) FROM territories WHERE code = '69A'",
    )
    .await
    .to_string();
    let response = app
        .post_form(
            "/bo/partenaires/nouveau",
            &[
                ("territory_id", &territory_69a),
                ("name", "Mairie test"),
                ("partner_type", "commune_schs"),
                ("insee_codes", "69381, 99999"),
            ],
        )
        .await;
    assert_eq!(response.status(), 422);
    assert!(
        response
            .text()
            .await
            .unwrap()
            .contains("Code INSEE inconnu dans ce territoire : 99999.")
    );
    let response = app
        .post_form(
            "/bo/partenaires/nouveau",
            &[
                ("territory_id", &territory_13),
                ("name", "Hors zone"),
                ("partner_type", "ccas"),
            ],
        )
        .await;
    assert_eq!(response.status(), 422);
    assert!(
        response
            .text()
            .await
            .unwrap()
            .contains("Ce territoire n’est pas dans votre périmètre.")
    );

    assert_eq!(
        scalar(&app, "SELECT COUNT(*) FROM users").await,
        users_before
    );
    assert_eq!(
        scalar(
            &app,
            "SELECT COUNT(*) FROM partners WHERE name IN ('Mairie test', 'Hors zone')"
        )
        .await,
        0
    );
    assert!(app.pending_jobs().await.is_empty());
}

#[tokio::test]
async fn a_territory_admin_creates_a_partner_with_its_perimeter_and_edits_it() {
    let app = TestApp::spawn().await;
    app.seed_demo().await;
    app.login_as(RT13).await;
    let territory_13 = id_of(
        &app,
        "SELECT CAST(id AS UNSIGNED) FROM territories WHERE code = '13'",
    )
    .await
    .to_string();
    let response = app
        .post_form(
            "/bo/partenaires/nouveau",
            &[
                ("territory_id", &territory_13),
                ("name", "Mairie d’Arles – hygiène"),
                ("partner_type", "commune_schs"),
                ("competences", "visites"),
                ("competences", "insalubrite"),
                ("email", "Hygiene@Arles.fr"),
                ("insee_codes", "13004"),
                ("webhook_url", "https://arles.example/hook"),
                ("webhook_secret", "un-secret-de-plus-de-16"),
            ],
        )
        .await;
    assert_eq!(response.status(), 303);
    let location = response.headers()["location"].to_str().unwrap().to_owned();
    let (status, html) = app.get_html(&location).await;
    assert_eq!(status, 200);
    assert!(html.contains("Le partenaire a été créé."));
    assert!(html.contains("13004"));
    assert!(
        !html.contains("un-secret-de-plus-de-16"),
        "secrets are never shown back"
    );
    let competences: String = sqlx::query_scalar(
        "SELECT CAST(competences AS CHAR) FROM partners WHERE name LIKE 'Mairie d%Arles%'",
    )
    .fetch_one(&app.db)
    .await
    .unwrap();
    assert!(competences.contains("visites") && competences.contains("insalubrite"));

    // Edit keeps the secret when the field is left empty; the audit log has the diff.
    let path = location.split('?').next().unwrap().to_owned();
    let response = app
        .post_form(
            &path,
            &[
                ("name", "Mairie d’Arles – service hygiène"),
                ("partner_type", "commune_schs"),
                ("insee_codes", "13004"),
                ("webhook_url", "https://arles.example/hook"),
            ],
        )
        .await;
    assert_eq!(response.status(), 303);
    let secret: String = sqlx::query_scalar(
        "SELECT webhook_secret FROM partners WHERE name = 'Mairie d’Arles – service hygiène'",
    )
    .fetch_one(&app.db)
    .await
    .unwrap();
    // Stored encrypted (docs/outbound.md), and still the same secret.
    assert_eq!(
        histologe::secrets::Secrets::from_config(&app.state.config)
            .decrypt(histologe::secrets::Column::WebhookSecret, &secret)
            .unwrap(),
        "un-secret-de-plus-de-16"
    );
    let diff: String = sqlx::query_scalar("SELECT CAST(diff AS CHAR) FROM audit_events WHERE entity_type = 'partner' AND action = 'update'")
        .fetch_one(&app.db)
        .await
        .unwrap();
    assert!(
        diff.contains("service hygiène") && !diff.contains("un-secret"),
        "{diff}"
    );
}

#[tokio::test]
async fn partner_admins_manage_only_their_own_partners_users() {
    let app = TestApp::spawn().await;
    app.seed_demo().await;
    let own = id_of(
        &app,
        &format!("SELECT id FROM users WHERE email = '{AGENT_SCHS69}'"),
    )
    .await;
    let other = id_of(
        &app,
        &format!("SELECT id FROM users WHERE email = '{AGENT_ARS69}'"),
    )
    .await;
    app.login_as(PA_SCHS69).await;
    let (status, html) = app.get_html("/bo/utilisateurs").await;
    assert_eq!(status, 200);
    assert!(html.contains(AGENT_SCHS69) && !html.contains(AGENT_ARS69));
    assert_eq!(
        app.get(&format!("/bo/utilisateurs/{own}")).await.status(),
        200
    );
    assert_eq!(
        app.get(&format!("/bo/utilisateurs/{other}")).await.status(),
        403
    );
    let response = app
        .post_form(&format!("/bo/utilisateurs/{other}/desactiver"), &[])
        .await;
    assert_eq!(response.status(), 403);
    let response = app
        .post_form(&format!("/bo/utilisateurs/{own}/desactiver"), &[])
        .await;
    assert_eq!(response.status(), 303);
    assert_eq!(
        scalar(
            &app,
            &format!(
                "SELECT COUNT(*) FROM users WHERE email = '{AGENT_SCHS69}' AND status = 'archived'"
            )
        )
        .await,
        1
    );
}

#[tokio::test]
async fn the_user_list_searches_and_paginates() {
    let app = TestApp::spawn().await;
    app.seed_demo().await;
    for i in 0..30 {
        sqlx::query("INSERT INTO users (uuid, email, first_name, last_name, role, status) VALUES (UUID(), ?, 'Agent', ?, 'agent', 'active')")
            .bind(format!("lot{i:02}@exemple.fr"))
            .bind(format!("Lot{i:02}"))
            .execute(&app.db)
            .await
            .unwrap();
    }
    app.login_as(SUPER_ADMIN).await;
    let (_, html) = app.get_html("/bo/utilisateurs?q=lot").await;
    assert!(html.contains("30 comptes"));
    assert!(
        html.contains("lot00@exemple.fr") && !html.contains("lot29@exemple.fr"),
        "25 per page"
    );
    let (_, html) = app.get_html("/bo/utilisateurs?q=lot&page=2").await;
    assert!(html.contains("lot29@exemple.fr") && !html.contains("lot00@exemple.fr"));
    let (_, html) = app.get_html("/bo/utilisateurs?q=Camille").await;
    assert!(html.contains(RT69) && html.contains("1 compte"));
}

#[tokio::test]
async fn the_audit_log_records_logins_failures_logouts_and_admin_writes_with_a_diff() {
    let app = TestApp::spawn().await;
    app.seed_demo().await;
    app.post_form(
        "/connexion",
        &[("email", RT69), ("password", "Pas-le-bon-2026!")],
    )
    .await;
    app.login_as(RT69).await;
    app.post_form(
        "/bo/profil",
        &[
            ("first_name", "Camille"),
            ("last_name", "Martin-Roux"),
            ("notification_pref", "digest"),
        ],
    )
    .await;
    app.logout().await;
    let actions: Vec<String> =
        sqlx::query_scalar("SELECT action FROM audit_events WHERE actor_email = ? ORDER BY id")
            .bind(RT69)
            .fetch_all(&app.db)
            .await
            .unwrap();
    assert_eq!(actions, ["login_failed", "login", "update", "logout"]);
    let row = sqlx::query(
        "SELECT ip, CAST(diff AS CHAR) AS diff FROM audit_events WHERE action = 'update'",
    )
    .fetch_one(&app.db)
    .await
    .unwrap();
    assert!(row.try_get::<String, _>("ip").unwrap().starts_with("10."));
    let diff: String = row.try_get("diff").unwrap();
    assert!(
        diff.contains("Martin-Roux") && diff.contains("digest") && !diff.contains("first_name"),
        "{diff}"
    );

    // Super admins browse and filter it.
    app.login_as(SUPER_ADMIN).await;
    let (status, html) = app.get_html("/bo/journal?action=login_failed").await;
    assert_eq!(status, 200);
    assert!(html.contains("1 événement") && html.contains(RT69));
    let (_, html) = app
        .get_html(&format!("/bo/journal?acteur={RT69}&action=update"))
        .await;
    assert!(html.contains("Martin-Roux"));
}

#[tokio::test]
async fn the_profile_page_changes_the_password_with_the_policy() {
    let app = TestApp::spawn().await;
    app.seed_demo().await;
    app.login_as(AGENT_ARS69).await;
    let response = app
        .post_form(
            "/bo/profil/mot-de-passe",
            &[
                ("current", DEMO_PASSWORD),
                ("password", "azerty123456"),
                ("confirmation", "azerty123456"),
            ],
        )
        .await;
    assert_eq!(response.status(), 422);
    assert!(response.text().await.unwrap().contains("majuscule"));
    let response = app
        .post_form(
            "/bo/profil/mot-de-passe",
            &[
                ("current", "faux"),
                ("password", "Tres-Bon-Secret-42"),
                ("confirmation", "Tres-Bon-Secret-42"),
            ],
        )
        .await;
    assert!(
        response
            .text()
            .await
            .unwrap()
            .contains("Le mot de passe actuel est incorrect.")
    );
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
}

#[tokio::test]
async fn a_super_admin_opens_a_territory_and_tags_are_managed_per_territory() {
    let app = TestApp::spawn().await;
    app.seed_demo().await;
    let t = id_of(
        &app,
        "SELECT CAST(id AS UNSIGNED) FROM territories WHERE code = '33'",
    )
    .await;
    app.login_as(SUPER_ADMIN).await;
    let response = app
        .post_form(
            &format!("/bo/territoires/{t}"),
            &[
                ("is_active", "1"),
                ("timezone", "Europe/Paris"),
                ("insee_codes", "33063"),
            ],
        )
        .await;
    assert_eq!(response.status(), 303);
    assert_eq!(
        scalar(
            &app,
            "SELECT COUNT(*) FROM territories WHERE code = '33' AND is_active"
        )
        .await,
        1
    );
    let response = app
        .post_form(
            &format!("/bo/territoires/{t}"),
            &[("timezone", "Europe/Paris"), ("insee_codes", "69381")],
        )
        .await;
    assert_eq!(response.status(), 422, "a commune of another territory");

    app.login_as(RT13).await;
    let t13 = id_of(
        &app,
        "SELECT CAST(id AS UNSIGNED) FROM territories WHERE code = '13'",
    )
    .await
    .to_string();
    let t69 = id_of(
        &app,
        "SELECT CAST(id AS UNSIGNED) FROM territories WHERE code = '69A'",
    )
    .await
    .to_string();
    assert_eq!(
        app.post_form(
            "/bo/etiquettes",
            &[("territory_id", &t13), ("label", "Copropriété dégradée")]
        )
        .await
        .status(),
        303
    );
    let duplicate = app
        .post_form(
            "/bo/etiquettes",
            &[("territory_id", &t13), ("label", "Copropriété dégradée")],
        )
        .await;
    assert_eq!(duplicate.status(), 422);
    let outside = app
        .post_form(
            "/bo/etiquettes",
            &[("territory_id", &t69), ("label", "Ailleurs")],
        )
        .await;
    assert_eq!(outside.status(), 422);
    let (_, html) = app.get_html("/bo/etiquettes").await;
    assert!(html.contains("Copropriété dégradée"));
}

// ------------------------------------------------ role × route matrix

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Expect {
    /// The handler ran on an existing resource: any answer but 403, 404 or
    /// a redirect to the login page (a 400/409/422 for an empty form is an
    /// answer of the handler).
    Allowed,
    /// 404: the resource does not exist for this user (a case outside
    /// their scope is hidden, not forbidden).
    Hidden,
    /// 403 from the role gate (`x-denied-by`): the route is not for this role.
    Forbidden,
    /// 403 from the handler: the route is for this role, but the handler
    /// refused this user this resource (a case outside their scope, an
    /// action their role may not take on it). In the matrix it counts as
    /// allowed: the handler ran.
    Refused,
    Login,
}

pub use Expect as MatrixExpect;
use Expect::{Allowed as A, Forbidden as F, Hidden as N, Login as L};

/// Who may use each route: anonymous, agent, partner admin, territory
/// admin, super admin. Every route of the site must be listed here.
const MATRIX: &[(&str, &str, [Expect; 5])] = &[
    ("GET", "/", [A, A, A, A, A]),
    ("GET", "/accessibilite", [A, A, A, A, A]),
    ("GET", "/mentions-legales", [A, A, A, A, A]),
    ("GET", "/donnees-personnelles", [A, A, A, A, A]),
    ("GET", "/plan-du-site", [A, A, A, A, A]),
    ("GET", "/healthz", [A, A, A, A, A]),
    ("GET", "/readyz", [A, A, A, A, A]),
    ("GET", "/connexion", [A, A, A, A, A]),
    ("POST", "/connexion", [A, A, A, A, A]),
    ("GET", "/mot-de-passe-oublie", [A, A, A, A, A]),
    ("POST", "/mot-de-passe-oublie", [A, A, A, A, A]),
    ("GET", "/mot-de-passe/{token}", [A, A, A, A, A]),
    ("POST", "/mot-de-passe/{token}", [A, A, A, A, A]),
    ("GET", "/activation/{token}", [A, A, A, A, A]),
    ("POST", "/activation/{token}", [A, A, A, A, A]),
    ("GET", "/bo", [L, A, A, A, A]),
    ("GET", "/bo/profil", [L, A, A, A, A]),
    ("POST", "/bo/profil", [L, A, A, A, A]),
    ("POST", "/bo/profil/mot-de-passe", [L, A, A, A, A]),
    ("GET", "/bo/utilisateurs", [L, F, A, A, A]),
    ("GET", "/bo/utilisateurs/nouveau", [L, F, A, A, A]),
    ("POST", "/bo/utilisateurs/nouveau", [L, F, A, A, A]),
    ("GET", "/bo/utilisateurs/{id}", [L, F, A, A, A]),
    ("POST", "/bo/utilisateurs/{id}", [L, F, A, A, A]),
    ("POST", "/bo/utilisateurs/{id}/desactiver", [L, F, A, A, A]),
    ("POST", "/bo/utilisateurs/{id}/reactiver", [L, F, A, A, A]),
    (
        "POST",
        "/bo/utilisateurs/{id}/renvoyer-activation",
        [L, F, A, A, A],
    ),
    ("GET", "/bo/partenaires", [L, F, F, A, A]),
    ("GET", "/bo/partenaires/nouveau", [L, F, F, A, A]),
    ("POST", "/bo/partenaires/nouveau", [L, F, F, A, A]),
    ("GET", "/bo/partenaires/{id}", [L, F, F, A, A]),
    ("POST", "/bo/partenaires/{id}", [L, F, F, A, A]),
    ("GET", "/bo/etiquettes", [L, F, F, A, A]),
    ("POST", "/bo/etiquettes", [L, F, F, A, A]),
    ("POST", "/bo/etiquettes/{id}/supprimer", [L, F, F, A, A]),
    ("GET", "/bo/territoires", [L, F, F, F, A]),
    ("GET", "/bo/territoires/{id}", [L, F, F, F, A]),
    ("POST", "/bo/territoires/{id}", [L, F, F, F, A]),
    ("GET", "/bo/journal", [L, F, F, F, A]),
    ("GET", "/bo/signalements", [L, A, A, A, A]),
    ("POST", "/bo/signalements/filtres", [L, A, A, A, A]),
    (
        "POST",
        "/bo/signalements/filtres/{id}/supprimer",
        [L, A, A, A, A],
    ),
    ("GET", "/bo/signalements/{uuid}", [L, A, A, A, A]),
    ("POST", "/bo/signalements/{uuid}/valider", [L, F, F, A, A]),
    ("POST", "/bo/signalements/{uuid}/refuser", [L, F, F, A, A]),
    ("POST", "/bo/signalements/{uuid}/affecter", [L, F, F, A, A]),
    (
        "POST",
        "/bo/signalements/{uuid}/desaffecter",
        [L, F, F, A, A],
    ),
    ("POST", "/bo/signalements/{uuid}/cloturer", [L, F, F, A, A]),
    ("POST", "/bo/signalements/{uuid}/rouvrir", [L, F, F, A, A]),
    (
        "POST",
        "/bo/signalements/{uuid}/affectation/accepter",
        [L, A, A, A, A],
    ),
    (
        "POST",
        "/bo/signalements/{uuid}/affectation/refuser",
        [L, A, A, A, A],
    ),
    (
        "POST",
        "/bo/signalements/{uuid}/affectation/cloturer",
        [L, A, A, A, A],
    ),
    ("POST", "/bo/signalements/{uuid}/suivis", [L, A, A, A, A]),
    ("POST", "/bo/signalements/{uuid}/visites", [L, A, A, A, A]),
    (
        "POST",
        "/bo/signalements/{uuid}/visites/{visit_id}",
        [L, A, A, A, A],
    ),
    (
        "POST",
        "/bo/signalements/{uuid}/etiquettes",
        [L, A, A, A, A],
    ),
    (
        "POST",
        "/bo/signalements/{uuid}/abonnement",
        [L, A, A, A, A],
    ),
    ("GET", "/bo/regles-affectation", [L, F, F, A, A]),
    ("POST", "/bo/regles-affectation", [L, F, F, A, A]),
    (
        "POST",
        "/bo/regles-affectation/{id}/archiver",
        [L, F, F, A, A],
    ),
    ("GET", "/bo/documents/{uuid}", [L, A, A, A, A]),
    ("GET", "/bo/signalements/{uuid}/modifier", [L, A, A, A, A]),
    ("POST", "/bo/signalements/{uuid}/modifier", [L, A, A, A, A]),
    ("GET", "/bo/notifications", [L, A, A, A, A]),
    ("POST", "/bo/notifications/tout-lu", [L, A, A, A, A]),
    // The public form and the resident's follow-up space.
    ("GET", "/signalement", [A, A, A, A, A]),
    ("GET", "/signalement/adresse", [A, A, A, A, A]),
    ("POST", "/signalement/adresse", [A, A, A, A, A]),
    ("GET", "/signalement/recherche-adresse", [A, A, A, A, A]),
    ("GET", "/signalement/{uuid}/{step}", [A, A, A, A, A]),
    ("POST", "/signalement/{uuid}/{step}", [A, A, A, A, A]),
    (
        "POST",
        "/signalement/{uuid}/brouillon/lien",
        [A, A, A, A, A],
    ),
    ("GET", "/suivre-mon-signalement", [A, A, A, A, A]),
    ("GET", "/suivre-mon-signalement/{code}", [A, A, A, A, A]),
    ("POST", "/suivre-mon-signalement/{code}", [A, A, A, A, A]),
    (
        "POST",
        "/suivre-mon-signalement/{code}/messages",
        [A, A, A, A, A],
    ),
    (
        "POST",
        "/suivre-mon-signalement/{code}/procedure",
        [A, A, A, A, A],
    ),
    (
        "GET",
        "/suivre-mon-signalement/{code}/documents/{uuid}",
        [A, A, A, A, A],
    ),
    ("GET", "/demande-lien-signalement", [A, A, A, A, A]),
    ("POST", "/demande-lien-signalement", [A, A, A, A, A]),
    // Logging out last: it ends the session of the role being checked.
    ("POST", "/deconnexion", [A, A, A, A, A]),
];

/// Routes added by other feature areas are checked by their own tests
/// through this same table: they must be listed here too.
fn extra_routes() -> &'static [(&'static str, &'static str, [Expect; 5])] {
    crate::access_matrix_extra::EXTRA
}

fn expected_of(method: &str, path: &str) -> Option<[Expect; 5]> {
    MATRIX
        .iter()
        .chain(extra_routes())
        .find(|(m, p, _)| *m == method && *p == path)
        .map(|(_, _, e)| *e)
}

#[test]
fn every_route_of_the_site_has_an_entry_in_the_role_matrix() {
    let missing: Vec<String> = route_table()
        .into_iter()
        .filter(|r| expected_of(r.method, r.path).is_none())
        .map(|r| format!("{} {}", r.method, r.path))
        .collect();
    assert!(
        missing.is_empty(),
        "routes without an expected answer per role: {missing:?}"
    );
}

/// What a request of the matrix answered, in the matrix's terms.
async fn answer_of(user: &TestApp, method: &str, path: &str) -> (Expect, String) {
    let response = if method == "GET" {
        user.get(path).await
    } else {
        user.post_form(path, &[]).await
    };
    let status = response.status().as_u16();
    let location = response
        .headers()
        .get("location")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_owned();
    let got = if status == 403 && response.headers().contains_key("x-denied-by") {
        Expect::Forbidden
    } else if status == 403 {
        Expect::Refused
    } else if status == 404 {
        Expect::Hidden
    } else if (300..400).contains(&status)
        && location.starts_with("/connexion")
        && path != "/deconnexion"
    {
        Expect::Login
    } else {
        Expect::Allowed
    };
    (got, format!("{status} {location}"))
}

/// A client of its own for each role, logged in (or anonymous).
async fn session_of(app: &TestApp, role: Option<&str>) -> TestApp {
    let user = TestApp {
        client: new_client(),
        ..TestApp::spawn_with(
            app.state.config.database_url.expose(),
            &crate::common::redis_url(),
        )
        .await
    };
    if let Some(email) = role {
        user.login_as(email).await;
    }
    user
}

const ROLES: [Option<&str>; 5] = [
    None,
    Some(AGENT_SCHS69),
    Some(PA_SCHS69),
    Some(RT69),
    Some(SUPER_ADMIN),
];

/// Every route, every role, on real resources (so that "allowed" can never
/// be a 404 for a made-up id): a case of 69A assigned to the SCHS, which
/// every role of the matrix may see.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_route_answers_each_role_as_the_matrix_says() {
    let app = TestApp::spawn().await;
    app.seed_demo().await;
    let targets = crate::access_targets::Targets::create(&app).await;
    let mut failures = Vec::new();
    let mut table: Vec<_> = route_table();
    // Log out last.
    table.sort_by_key(|r| r.path == "/deconnexion");
    let mut checks = 0;
    for (index, role) in ROLES.iter().enumerate() {
        let user = session_of(&app, *role).await;
        for route in &table {
            let Some(expected) = expected_of(route.method, route.path) else {
                continue;
            };
            let path = targets.fill(route.path, *role).await;
            let (got, answer) = answer_of(&user, route.method, &path).await;
            checks += 1;
            let got = if got == Expect::Refused {
                Expect::Allowed
            } else {
                got
            };
            if answer.starts_with('5') {
                failures.push(format!(
                    "{} {path} as {role:?}: server error {answer}",
                    route.method
                ));
            } else if got != expected[index] {
                failures.push(format!(
                    "{} {path} as {role:?}: expected {:?}, got {got:?} {answer}",
                    route.method, expected[index]
                ));
            }
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
    assert_eq!(checks, ROLES.len() * table.len(), "a route was skipped");
}

/// The case routes on cases outside the user's scope: where the matrix
/// lets the role in, the handler refuses a case outside the user's scope
/// (403, as Histologe's voters do: identifiers are random UUIDs, so the
/// refusal reveals nothing guessable) and answers 404 for a case that does
/// not exist. Cases: one of another territory (out of scope for everyone
/// of 69A, not for the super admin), one of 69A not assigned to the SCHS
/// (out of scope for the SCHS's agent and admin, not for the territory),
/// and an unknown one. Where the matrix refuses the role, the role gate
/// answers first, whatever the case.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn case_routes_hide_the_cases_outside_each_users_scope() {
    let app = TestApp::spawn().await;
    app.seed_demo().await;
    let targets = crate::access_targets::Targets::create(&app).await;
    let unknown = uuid::Uuid::new_v4().to_string();
    use Expect::Refused as S;
    // What a role the matrix lets in gets, per case.
    let outside: [(&str, &str, [Expect; 5]); 3] = [
        ("another territory", &targets.case_of_13, [L, S, S, S, A]),
        (
            "not assigned to the SCHS",
            &targets.case_of_69_unassigned,
            [L, S, S, A, A],
        ),
        ("unknown", &unknown, [L, N, N, N, N]),
    ];
    let routes: Vec<_> = route_table()
        .into_iter()
        .filter(|r| r.path.starts_with("/bo/signalements/{uuid}"))
        .collect();
    assert!(routes.len() >= 15, "{} case routes", routes.len());
    let mut failures = Vec::new();
    for (index, role) in ROLES.iter().enumerate() {
        let user = session_of(&app, *role).await;
        for (what, case, expected) in &outside {
            for route in &routes {
                let path = targets
                    .fill(route.path, *role)
                    .await
                    .replace(&targets.case_uuid, case);
                let (got, answer) = answer_of(&user, route.method, &path).await;
                let gate = expected_of(route.method, route.path).expect("in the matrix")[index];
                let expected = if gate == A { *expected } else { [gate; 5] };
                // In scope, the handler may still refuse an action (a super
                // admin answering for a partner): anything but 404 is right.
                // The targets' visit belongs to the SCHS's case, not to this
                // one: where the case is visible, a visit route may answer
                // that this visit is not found (or refuse the empty form
                // before looking).
                let visit_not_here = route.path.contains("{visit_id}") && got == N;
                let matches = got == expected[index]
                    || (expected[index] == A && (got == S || visit_not_here));
                if answer.starts_with('5') || !matches {
                    failures.push(format!(
                        "{} {path} ({what}) as {role:?}: expected {:?}, got {got:?} {answer}",
                        route.method, expected[index]
                    ));
                }
            }
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}
