//! The partner API `/api/v1`, driven with a real HTTP client against the
//! running router: API accounts made in the back office, tokens, scope,
//! limits, revocation, paging, `since`, ETag, problem documents, audit and
//! the OpenAPI document (docs/api.md).

use histologe::{
    auth, db,
    domain::api::{AccountScope, Permission, Permissions},
};
use serde_json::{Value, json};

use crate::common::{
    TestApp,
    cases::{CaseBuilder, create_partner, datetime, territory_id},
};

/// Visits, their files and documents through the API (issue 16).
mod inspections;

const RT69: &str = "rt69@histologe.localhost";

/// An API account written as the back office writes it; returns its
/// identifier and secret.
async fn api_account(
    app: &TestApp,
    territory: &str,
    scope: AccountScope,
    permissions: &[Permission],
) -> (String, String) {
    let territory_id = territory_id(app, territory).await;
    let (secret, secret_hash) = auth::api::new_secret();
    let uuid = uuid::Uuid::new_v4().to_string();
    let admin: u64 = sqlx::query_scalar("SELECT id FROM users WHERE email = ?")
        .bind(RT69)
        .fetch_one(&app.db)
        .await
        .unwrap();
    let mut conn = app.db.acquire().await.unwrap();
    db::api::insert_account(
        &mut conn,
        &db::api::NewAccount {
            uuid: &uuid,
            name: "Logiciel de test",
            territory_id,
            scope: &scope,
            permissions: &Permissions::new(permissions.to_vec()),
            secret_hash: &secret_hash,
            created_by_user_id: admin,
        },
    )
    .await
    .unwrap();
    (uuid, secret)
}

/// A bearer token for an account (asserts the exchange works).
async fn token(app: &TestApp, identifier: &str, secret: &str) -> String {
    let response = app
        .client
        .post(app.url("/api/v1/token"))
        .json(&json!({ "identifiant": identifier, "secret": secret }))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200, "token exchange");
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["type_jeton"], "Bearer");
    assert_eq!(body["expire_dans"], 3600);
    body["jeton"].as_str().unwrap().to_owned()
}

async fn api_get(app: &TestApp, token: &str, path: &str) -> reqwest::Response {
    app.client
        .get(app.url(path))
        .bearer_auth(token)
        .send()
        .await
        .unwrap()
}

async fn json_of(response: reqwest::Response) -> Value {
    response.json().await.unwrap()
}

/// Asserts an RFC 9457 problem with this status.
async fn assert_problem(response: reqwest::Response, status: u16) -> Value {
    assert_eq!(response.status(), status);
    assert_eq!(
        response.headers()["content-type"],
        "application/problem+json"
    );
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["status"], status);
    assert!(body["title"].as_str().is_some_and(|t| !t.is_empty()));
    assert!(body["detail"].as_str().is_some_and(|t| !t.is_empty()));
    body
}

fn uuids(page: &Value) -> Vec<String> {
    page["signalements"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["uuid"].as_str().unwrap().to_owned())
        .collect()
}

#[tokio::test]
async fn a_territory_admin_creates_an_account_whose_secret_is_shown_once_then_revokes_it() {
    let app = TestApp::spawn_with_accounts().await;
    let t69 = territory_id(&app, "69A").await;
    let schs = create_partner(&app, t69, "SCHS de test", "commune_schs").await;
    app.login_as(RT69).await;
    let (status, html) = app.get_html("/bo/comptes-api").await;
    assert_eq!(status, 200);
    assert!(html.contains("Aucun compte API"));

    // A form without partner nor permission is refused on its fields.
    let refused = app
        .post_form(
            "/bo/comptes-api",
            &[
                ("name", "CRM"),
                ("territory_id", &t69.to_string()),
                ("scope", "partners"),
            ],
        )
        .await;
    assert_eq!(refused.status(), 422);
    let html = refused.text().await.unwrap();
    assert!(html.contains("Cochez au moins un partenaire"));
    assert!(html.contains("Cochez au moins une permission"));

    let created = app
        .post_form(
            "/bo/comptes-api",
            &[
                ("name", "Logiciel SCHS"),
                ("territory_id", &t69.to_string()),
                ("scope", "partners"),
                ("partners", &schs.to_string()),
                ("permissions", "lire_signalements"),
                ("permissions", "ecrire_suivis"),
            ],
        )
        .await;
    assert_eq!(created.status(), 201);
    assert_eq!(created.headers()["cache-control"], "no-store");
    let html = created.text().await.unwrap();
    let between = |id: &str| {
        let start = html.find(&format!("id=\"{id}\">")).unwrap() + id.len() + 6;
        html[start..start + html[start..].find('<').unwrap()].to_owned()
    };
    let (identifier, secret) = (between("api-identifiant"), between("api-secret"));
    assert_eq!(secret.len(), 64);

    // The secret is not kept: the list shows the account, never the secret.
    let (_, list) = app.get_html("/bo/comptes-api").await;
    assert!(list.contains("Logiciel SCHS") && list.contains(&identifier));
    assert!(!list.contains(&secret));
    let stored: String = sqlx::query_scalar("SELECT CAST(secret_hash AS CHAR) FROM api_accounts")
        .fetch_one(&app.db)
        .await
        .unwrap();
    assert_ne!(stored, secret);

    let bearer = token(&app, &identifier, &secret).await;
    let me = json_of(api_get(&app, &bearer, "/api/v1/moi").await).await;
    assert_eq!(me["identifiant"], identifier.as_str());
    assert_eq!(me["nom"], "Logiciel SCHS");
    assert_eq!(me["territoire"], "69A");
    assert_eq!(me["perimetre"], "partenaires");
    assert_eq!(me["partenaires"], json!([schs]));
    assert_eq!(
        me["permissions"],
        json!(["lire_signalements", "ecrire_suivis"])
    );
    // The list shows when the account was last used.
    let (_, list) = app.get_html("/bo/comptes-api").await;
    let row = &list[list.find("Logiciel SCHS").unwrap()..];
    let row = &row[..row.find("</tr>").unwrap()];
    assert_eq!(row.matches("<td>—</td>").count(), 0, "{row}");

    // Revoking the account kills its tokens and its secret.
    let account_id: u64 = sqlx::query_scalar("SELECT id FROM api_accounts")
        .fetch_one(&app.db)
        .await
        .unwrap();
    let revoked = app
        .post_form(&format!("/bo/comptes-api/{account_id}/revoquer"), &[])
        .await;
    assert_eq!(revoked.status(), 303);
    let body = assert_problem(api_get(&app, &bearer, "/api/v1/moi").await, 401).await;
    assert!(body["detail"].as_str().unwrap().contains("révoqué"));
    let again = app
        .client
        .post(app.url("/api/v1/token"))
        .json(&json!({ "identifiant": identifier, "secret": secret }))
        .send()
        .await
        .unwrap();
    assert_problem(again, 401).await;
    let (_, list) = app.get_html("/bo/comptes-api").await;
    assert!(list.contains("Révoqué le"));
}

#[tokio::test]
async fn an_account_of_partner_a_never_sees_the_cases_of_partner_b() {
    let app = TestApp::spawn_with_accounts().await;
    let t69 = territory_id(&app, "69A").await;
    let a = create_partner(&app, t69, "Partenaire A", "commune_schs").await;
    let b = create_partner(&app, t69, "Partenaire B", "ars").await;
    let case_a = CaseBuilder::new("69A")
        .assigned_to(a, "en_cours")
        .create(&app)
        .await;
    let case_b = CaseBuilder::new("69A")
        .assigned_to(b, "nouveau")
        .create(&app)
        .await;
    let unassigned = CaseBuilder::new("69A")
        .status("need_validation")
        .create(&app)
        .await;
    let marseille = CaseBuilder::new("13").create(&app).await;

    let (id, secret) = api_account(
        &app,
        "69A",
        AccountScope::Partners(vec![a]),
        &[Permission::ReadCases],
    )
    .await;
    let bearer = token(&app, &id, &secret).await;
    let page = json_of(api_get(&app, &bearer, "/api/v1/signalements").await).await;
    assert_eq!(uuids(&page), vec![case_a.uuid.clone()]);
    assert_eq!(
        page["signalements"][0]["affectations"][0]["partenaire"],
        "Partenaire A"
    );
    assert_eq!(page["signalements"][0]["statut"], "en_cours");
    let detail = api_get(
        &app,
        &bearer,
        &format!("/api/v1/signalements/{}", case_a.uuid),
    )
    .await;
    assert_eq!(detail.status(), 200);
    for other in [&case_b, &unassigned, &marseille] {
        let response = api_get(
            &app,
            &bearer,
            &format!("/api/v1/signalements/{}", other.uuid),
        )
        .await;
        assert_problem(response, 404).await;
    }

    // A territory account sees every case of its territory, none other.
    let (id, secret) = api_account(
        &app,
        "69A",
        AccountScope::Territory(t69),
        &[Permission::ReadCases],
    )
    .await;
    let bearer = token(&app, &id, &secret).await;
    let page = json_of(api_get(&app, &bearer, "/api/v1/signalements").await).await;
    let mut expected = vec![case_a.uuid, case_b.uuid, unassigned.uuid];
    expected.sort_by_key(|u| u.clone());
    let mut got = uuids(&page);
    got.sort();
    assert_eq!(got, expected);
    let response = api_get(
        &app,
        &bearer,
        &format!("/api/v1/signalements/{}", marseille.uuid),
    )
    .await;
    assert_problem(response, 404).await;
}

#[tokio::test]
async fn the_61st_request_in_a_minute_gets_a_429_with_retry_after() {
    let app = TestApp::spawn_with_accounts().await;
    let t69 = territory_id(&app, "69A").await;
    let (id, secret) = api_account(
        &app,
        "69A",
        AccountScope::Territory(t69),
        &[Permission::ReadCases],
    )
    .await;
    let bearer = token(&app, &id, &secret).await;
    for n in 1..=60 {
        let response = api_get(&app, &bearer, "/api/v1/moi").await;
        assert_eq!(response.status(), 200, "request {n}");
    }
    let refused = api_get(&app, &bearer, "/api/v1/moi").await;
    let retry_after: u64 = refused.headers()["retry-after"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!((1..=60).contains(&retry_after), "{retry_after}");
    assert_problem(refused, 429).await;
    // Another account has its own budget.
    let (id, secret) = api_account(
        &app,
        "69A",
        AccountScope::Territory(t69),
        &[Permission::ReadCases],
    )
    .await;
    let other = token(&app, &id, &secret).await;
    assert_eq!(api_get(&app, &other, "/api/v1/moi").await.status(), 200);
}

#[tokio::test]
async fn cases_come_in_cursor_pages_and_filter_by_since_status_insee_and_assignment_date() {
    let app = TestApp::spawn_with_accounts().await;
    let t69 = territory_id(&app, "69A").await;
    let a = create_partner(&app, t69, "Partenaire A", "commune_schs").await;
    let mut cases = Vec::new();
    for n in 0..5 {
        let builder = CaseBuilder::new("69A")
            .status(if n == 4 { "closed" } else { "active" })
            .insee_code(Some(if n == 3 { "69381" } else { "69383" }))
            .assigned_to(a, "en_cours");
        cases.push(builder.create(&app).await);
    }
    // Known dates: case i was changed on day i+1 and assigned on day i+1.
    for (i, case) in cases.iter().enumerate() {
        let at = datetime(&format!("2026-11-0{} 10:00:00", i + 1));
        sqlx::query("UPDATE assignments SET created_at = ? WHERE report_id = ?")
            .bind(at)
            .bind(case.id)
            .execute(&app.db)
            .await
            .unwrap();
        sqlx::query("UPDATE reports SET updated_at = ? WHERE id = ?")
            .bind(at)
            .bind(case.id)
            .execute(&app.db)
            .await
            .unwrap();
    }
    let (id, secret) = api_account(
        &app,
        "69A",
        AccountScope::Partners(vec![a]),
        &[Permission::ReadCases],
    )
    .await;
    let bearer = token(&app, &id, &secret).await;

    // Pages of two, followed to the end, give every case once, in order.
    let mut seen = Vec::new();
    let mut path = "/api/v1/signalements?limite=2".to_owned();
    let mut pages = 0;
    loop {
        let page = json_of(api_get(&app, &bearer, &path).await).await;
        pages += 1;
        assert!(page["signalements"].as_array().unwrap().len() <= 2);
        seen.extend(uuids(&page));
        match page["curseur_suivant"].as_str() {
            Some(cursor) => path = format!("/api/v1/signalements?limite=2&curseur={cursor}"),
            None => break,
        }
    }
    assert_eq!(pages, 3);
    assert_eq!(
        seen,
        cases.iter().map(|c| c.uuid.clone()).collect::<Vec<_>>()
    );

    let only = |indexes: &[usize]| -> Vec<String> {
        indexes.iter().map(|i| cases[*i].uuid.clone()).collect()
    };
    let filtered = |query: &str| {
        let path = format!("/api/v1/signalements?{query}");
        let bearer = bearer.clone();
        let app = &app;
        async move { uuids(&json_of(api_get(app, &bearer, &path).await).await) }
    };
    assert_eq!(filtered("since=2026-11-04T00:00:00Z").await, only(&[3, 4]));
    assert_eq!(
        filtered("since=2026-11-04T11:00:00%2B02:00").await,
        only(&[3, 4])
    );
    assert_eq!(filtered("statut=ferme").await, only(&[4]));
    assert_eq!(filtered("code_insee=69381").await, only(&[3]));
    assert_eq!(
        filtered("date_affectation_debut=2026-11-02&date_affectation_fin=2026-11-03").await,
        only(&[1, 2])
    );

    // Wrong parameters are named in a 422.
    let response = api_get(
        &app,
        &bearer,
        "/api/v1/signalements?limite=101&statut=actif&since=hier&code_insee=1",
    )
    .await;
    let body = assert_problem(response, 422).await;
    let fields: Vec<&str> = body["erreurs"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["champ"].as_str().unwrap())
        .collect();
    assert_eq!(fields, vec!["limite", "since", "statut", "code_insee"]);
    assert_problem(
        api_get(&app, &bearer, "/api/v1/signalements?limite=abc").await,
        400,
    )
    .await;
}

#[tokio::test]
async fn a_case_is_read_whole_with_an_etag_that_answers_304_until_it_changes() {
    let app = TestApp::spawn_with_accounts().await;
    let t69 = territory_id(&app, "69A").await;
    let a = create_partner(&app, t69, "Partenaire A", "commune_schs").await;
    let precision: u32 = sqlx::query_scalar("SELECT id FROM defect_precisions ORDER BY id LIMIT 1")
        .fetch_one(&app.db)
        .await
        .unwrap();
    let case = CaseBuilder::new("69A")
        .occupant("Awa", "Diallo")
        .assigned_to(a, "en_cours")
        .with_defects(&[precision])
        .create(&app)
        .await;
    let (id, secret) = api_account(
        &app,
        "69A",
        AccountScope::Partners(vec![a]),
        &[Permission::ReadCases],
    )
    .await;
    let bearer = token(&app, &id, &secret).await;
    let path = format!("/api/v1/signalements/{}", case.uuid);
    let first = api_get(&app, &bearer, &path).await;
    assert_eq!(first.status(), 200);
    let etag = first.headers()["etag"].to_str().unwrap().to_owned();
    let body = json_of(first).await;
    assert_eq!(body["reference"], case.reference.as_str());
    assert_eq!(body["nom_occupant"], "Diallo");
    assert_eq!(body["prenom_occupant"], "Awa");
    assert_eq!(body["desordres"].as_array().unwrap().len(), 1);
    assert_eq!(body["affectations"][0]["statut"], "en_cours");
    assert!(body["affectations"][0]["uuid"].as_str().unwrap().len() == 36);
    for list in ["suivis", "visites", "documents", "qualifications"] {
        assert!(body[list].is_array(), "{list}");
    }

    let again = app
        .client
        .get(app.url(&path))
        .bearer_auth(&bearer)
        .header("if-none-match", &etag)
        .send()
        .await
        .unwrap();
    assert_eq!(again.status(), 304);
    assert_eq!(again.headers()["etag"], etag.as_str());

    // A new follow-up changes the case: the old ETag no longer matches.
    sqlx::query(
        "INSERT INTO follow_ups (report_id, author_kind, category, body, is_public) VALUES (?, 'partner', 'message_partner', 'Visite prévue', FALSE)",
    )
    .bind(case.id)
    .execute(&app.db)
    .await
    .unwrap();
    let changed = app
        .client
        .get(app.url(&path))
        .bearer_auth(&bearer)
        .header("if-none-match", &etag)
        .send()
        .await
        .unwrap();
    assert_eq!(changed.status(), 200);
    assert_ne!(changed.headers()["etag"], etag.as_str());
    let body = json_of(changed).await;
    assert_eq!(body["suivis"][0]["texte"], "Visite prévue");
    assert_eq!(body["suivis"][0]["public"], false);
}

#[tokio::test]
async fn errors_are_problem_documents_with_the_exact_status() {
    let app = TestApp::spawn_with_accounts().await;
    let t69 = territory_id(&app, "69A").await;
    let (id, secret) = api_account(
        &app,
        "69A",
        AccountScope::Territory(t69),
        &[Permission::WriteFollowUps],
    )
    .await;

    // 401: no token, a made-up one, a wrong secret, an expired token.
    let none = app.client.get(app.url("/api/v1/moi")).send().await.unwrap();
    assert!(
        none.headers()["www-authenticate"]
            .to_str()
            .unwrap()
            .starts_with("Bearer")
    );
    assert_problem(none, 401).await;
    assert_problem(api_get(&app, &"ab".repeat(32), "/api/v1/moi").await, 401).await;
    let wrong = app
        .client
        .post(app.url("/api/v1/token"))
        .json(&json!({ "identifiant": id, "secret": "cd".repeat(32) }))
        .send()
        .await
        .unwrap();
    assert_problem(wrong, 401).await;
    let bearer = token(&app, &id, &secret).await;
    assert_eq!(api_get(&app, &bearer, "/api/v1/moi").await.status(), 200);

    // 403: an account without the reading permission.
    assert_problem(api_get(&app, &bearer, "/api/v1/signalements").await, 403).await;
    // 404: an unknown path, an unknown case, a path that is no uuid.
    assert_problem(api_get(&app, &bearer, "/api/v1/nulle-part").await, 404).await;
    // 405 and 415/422 on the token exchange.
    let method = app
        .client
        .put(app.url("/api/v1/moi"))
        .bearer_auth(&bearer)
        .send()
        .await
        .unwrap();
    assert_problem(method, 405).await;
    let not_json = app
        .client
        .post(app.url("/api/v1/token"))
        .body("identifiant=x")
        .send()
        .await
        .unwrap();
    assert_problem(not_json, 415).await;
    let bad_shape = app
        .client
        .post(app.url("/api/v1/token"))
        .json(&json!({ "identifiant": 3 }))
        .send()
        .await
        .unwrap();
    assert_problem(bad_shape, 422).await;

    // An expired token is refused; so is one revoked by its holder.
    sqlx::query("UPDATE api_tokens SET expires_at = UTC_TIMESTAMP() - INTERVAL 1 SECOND")
        .execute(&app.db)
        .await
        .unwrap();
    assert_problem(api_get(&app, &bearer, "/api/v1/moi").await, 401).await;
    let fresh = token(&app, &id, &secret).await;
    let revoked = app
        .client
        .delete(app.url("/api/v1/token"))
        .bearer_auth(&fresh)
        .send()
        .await
        .unwrap();
    assert_eq!(revoked.status(), 204);
    assert_problem(api_get(&app, &fresh, "/api/v1/moi").await, 401).await;

    let (reader, secret) = api_account(
        &app,
        "69A",
        AccountScope::Territory(t69),
        &[Permission::ReadCases],
    )
    .await;
    let bearer = token(&app, &reader, &secret).await;
    for path in [
        "/api/v1/signalements/00000000-0000-4000-8000-000000000000".to_owned(),
        "/api/v1/signalements/pas-un-uuid".to_owned(),
    ] {
        assert_problem(api_get(&app, &bearer, &path).await, 404).await;
    }
}

#[tokio::test]
async fn every_api_call_is_audited_with_its_account() {
    let app = TestApp::spawn_with_accounts().await;
    let t69 = territory_id(&app, "69A").await;
    let (id, secret) = api_account(
        &app,
        "69A",
        AccountScope::Territory(t69),
        &[Permission::ReadCases],
    )
    .await;
    let bearer = token(&app, &id, &secret).await;
    api_get(&app, &bearer, "/api/v1/moi").await;
    api_get(
        &app,
        &bearer,
        "/api/v1/signalements/00000000-0000-4000-8000-000000000000",
    )
    .await;
    let calls: Vec<(String, String)> = sqlx::query_as(
        "SELECT actor_email, CAST(JSON_EXTRACT(diff, '$.appel') AS CHAR) FROM audit_events
         WHERE action = 'api_call' ORDER BY id",
    )
    .fetch_all(&app.db)
    .await
    .unwrap();
    let actor = format!("api:{id}");
    assert_eq!(
        calls,
        vec![
            (actor.clone(), "\"GET /api/v1/moi\"".to_owned()),
            (actor, "\"GET /api/v1/signalements/{uuid}\"".to_owned()),
        ]
    );
}

#[tokio::test]
async fn the_served_openapi_document_is_the_committed_one_and_has_a_human_page() {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("docs/api/openapi-v1.json");
    let generated = histologe::web::api::openapi::spec_json();
    if std::env::var("UPDATE_OPENAPI").as_deref() == Ok("1") {
        std::fs::write(&path, &generated).unwrap();
    }
    let committed = std::fs::read_to_string(&path).unwrap_or_default();
    assert!(
        committed == generated,
        "the OpenAPI document of /api/v1 changed. If the change is intended and backward \
         compatible (v1 clients keep working: no path, field or accepted value removed, no \
         type narrowed), accept it with\n  UPDATE_OPENAPI=1 cargo test --test integration \
         api::the_served_openapi\nand commit docs/api/openapi-v1.json."
    );
    let spec: Value = serde_json::from_str(&generated).unwrap();
    assert_eq!(spec["openapi"], "3.1.0");

    let app = TestApp::spawn().await;
    let served = app.get("/api/v1/openapi.json").await;
    assert_eq!(served.status(), 200);
    assert_eq!(served.text().await.unwrap(), generated);
    let (status, html) = app.get_html("/api/doc").await;
    assert_eq!(status, 200);
    assert!(html.contains("GET /api/v1/signalements/{uuid}"));
    assert!(html.contains("curseur_suivant"));
    // The page needs no script of its own.
    assert!(!html.contains("redoc") && !html.contains("swagger"));
}

// ----------------------------------------------------------------- writes

/// A case of 69A assigned to a new partner in that status, and an account
/// of that partner with every permission.
async fn partner_case(app: &TestApp, status: &str) -> (crate::common::cases::Case, u64, String) {
    let t69 = territory_id(app, "69A").await;
    let partner = create_partner(app, t69, "SCHS API", "commune_schs").await;
    let case = CaseBuilder::new("69A")
        .assigned_to(partner, status)
        .create(app)
        .await;
    let (id, secret) = api_account(
        app,
        "69A",
        AccountScope::Partners(vec![partner]),
        &Permission::ALL,
    )
    .await;
    let bearer = token(app, &id, &secret).await;
    (case, partner, bearer)
}

async fn send(
    app: &TestApp,
    method: reqwest::Method,
    bearer: &str,
    path: &str,
    body: &Value,
    key: Option<&str>,
) -> reqwest::Response {
    let mut request = app
        .client
        .request(method, app.url(path))
        .bearer_auth(bearer)
        .json(body);
    if let Some(key) = key {
        request = request.header("idempotency-key", key);
    }
    request.send().await.unwrap()
}

async fn assignment_uuid(app: &TestApp, report_id: u64) -> String {
    sqlx::query_scalar("SELECT uuid FROM assignments WHERE report_id = ?")
        .bind(report_id)
        .fetch_one(&app.db)
        .await
        .unwrap()
}

#[tokio::test]
async fn a_partner_account_answers_its_assignment_with_the_back_office_rules() {
    let app = TestApp::spawn_with_accounts().await;
    let (case, _, bearer) = partner_case(&app, "nouveau").await;
    let path = format!(
        "/api/v1/affectations/{}",
        assignment_uuid(&app, case.id).await
    );
    let patch = reqwest::Method::PATCH;

    // A refusal needs its reason and message, named as the API names them.
    let body = assert_problem(
        send(
            &app,
            patch.clone(),
            &bearer,
            &path,
            &json!({"action": "refuser"}),
            None,
        )
        .await,
        422,
    )
    .await;
    let fields: Vec<&str> = body["erreurs"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["champ"].as_str().unwrap())
        .collect();
    assert_eq!(fields, vec!["motif", "message"]);
    assert_problem(
        send(
            &app,
            patch.clone(),
            &bearer,
            &path,
            &json!({"action": "oublier"}),
            None,
        )
        .await,
        422,
    )
    .await;

    let accepted = send(
        &app,
        patch.clone(),
        &bearer,
        &path,
        &json!({"action": "accepter"}),
        None,
    )
    .await;
    assert_eq!(accepted.status(), 200);
    let body = json_of(accepted).await;
    assert_eq!(body["statut"], "en_cours");
    assert!(body["date_reponse"].is_string());

    // What the back office does comes with it: the timeline entry, the
    // audit entry naming the account, the job for the partner's systems.
    let follow_ups: i64 = sqlx::query_scalar(
        "SELECT COUNT(*) FROM follow_ups WHERE report_id = ? AND category = 'affectation_acceptee'",
    )
    .bind(case.id)
    .fetch_one(&app.db)
    .await
    .unwrap();
    assert_eq!(follow_ups, 1);
    let audited: String = sqlx::query_scalar(
        "SELECT actor_email FROM audit_events WHERE action = 'accept_assignment' AND report_id = ?",
    )
    .bind(case.id)
    .fetch_one(&app.db)
    .await
    .unwrap();
    assert!(audited.starts_with("api:"), "{audited}");
    let jobs = app.pending_jobs().await;
    assert!(
        jobs.iter()
            .any(|j| j["kind"] == "assignment_status_changed"),
        "{jobs:?}"
    );

    // Accepting twice is refused; so is answering another partner's
    // assignment (it is out of scope), or answering as a territory account.
    let again = send(
        &app,
        patch.clone(),
        &bearer,
        &path,
        &json!({"action": "accepter"}),
        None,
    )
    .await;
    assert!(
        matches!(again.status().as_u16(), 403 | 409),
        "{}",
        again.status()
    );
    let t69 = territory_id(&app, "69A").await;
    let other = create_partner(&app, t69, "Autre", "ars").await;
    let (id, secret) = api_account(
        &app,
        "69A",
        AccountScope::Partners(vec![other]),
        &Permission::ALL,
    )
    .await;
    let stranger = token(&app, &id, &secret).await;
    assert_problem(
        send(
            &app,
            patch.clone(),
            &stranger,
            &path,
            &json!({"action": "clore"}),
            None,
        )
        .await,
        404,
    )
    .await;
    let (id, secret) =
        api_account(&app, "69A", AccountScope::Territory(t69), &Permission::ALL).await;
    let territory = token(&app, &id, &secret).await;
    assert_problem(
        send(
            &app,
            patch,
            &territory,
            &path,
            &json!({"action": "clore"}),
            None,
        )
        .await,
        403,
    )
    .await;
}

#[tokio::test]
async fn a_retried_write_with_the_same_idempotency_key_acts_once() {
    let app = TestApp::spawn_with_accounts().await;
    let (case, _, bearer) = partner_case(&app, "en_cours").await;
    let path = format!("/api/v1/signalements/{}/suivis", case.uuid);
    let body = json!({"texte": "Courrier envoyé au bailleur le 2 décembre.", "public": false});
    let post = reqwest::Method::POST;
    let first = send(&app, post.clone(), &bearer, &path, &body, Some("suivi-42")).await;
    assert_eq!(first.status(), 201);
    assert!(first.headers().get("idempotent-replayed").is_none());
    let first_body = json_of(first).await;
    let retry = send(&app, post.clone(), &bearer, &path, &body, Some("suivi-42")).await;
    assert_eq!(retry.status(), 201);
    assert_eq!(retry.headers()["idempotent-replayed"], "true");
    assert_eq!(json_of(retry).await, first_body);
    let count = || async {
        sqlx::query_scalar::<_, i64>(
            "SELECT COUNT(*) FROM follow_ups WHERE report_id = ? AND category = 'message_partner'",
        )
        .bind(case.id)
        .fetch_one(&app.db)
        .await
        .unwrap()
    };
    assert_eq!(count().await, 1, "the retry did not write again");
    // The same key with another request is refused; a new key writes.
    let other = json!({"texte": "Autre chose", "public": true});
    assert_problem(
        send(&app, post.clone(), &bearer, &path, &other, Some("suivi-42")).await,
        422,
    )
    .await;
    assert_eq!(
        send(&app, post.clone(), &bearer, &path, &other, Some("suivi-43"))
            .await
            .status(),
        201
    );
    assert_eq!(count().await, 2);
    // A refused write keeps no answer: the key may serve again.
    let empty = json!({"texte": ""});
    assert_problem(
        send(&app, post.clone(), &bearer, &path, &empty, Some("suivi-44")).await,
        422,
    )
    .await;
    assert_eq!(
        send(&app, post, &bearer, &path, &body, Some("suivi-44"))
            .await
            .status(),
        201
    );
    let detail = json_of(
        api_get(
            &app,
            &bearer,
            &format!("/api/v1/signalements/{}", case.uuid),
        )
        .await,
    )
    .await;
    assert!(
        detail["suivis"]
            .as_array()
            .unwrap()
            .iter()
            .any(|s| s["texte"] == "Autre chose" && s["public"] == true)
    );
}

#[tokio::test]
async fn a_visit_is_planned_then_concluded_once() {
    let app = TestApp::spawn_with_accounts().await;
    let (case, partner, bearer) = partner_case(&app, "en_cours").await;
    // Only partners with the visit competence visit (docs/visits.md).
    sqlx::query("UPDATE partners SET competences = '[\"visites\"]' WHERE id = ?")
        .bind(partner)
        .execute(&app.db)
        .await
        .unwrap();
    let post = reqwest::Method::POST;
    let tomorrow = (time::OffsetDateTime::now_utc() + time::Duration::days(1)).date();
    let when = format!("{tomorrow}T10:30");
    let bad = send(
        &app,
        post.clone(),
        &bearer,
        &format!("/api/v1/signalements/{}/visites", case.uuid),
        &json!({"date_visite": "demain"}),
        None,
    )
    .await;
    let body = assert_problem(bad, 422).await;
    assert_eq!(body["erreurs"][0]["champ"], "date_visite");
    let planned = send(
        &app,
        post.clone(),
        &bearer,
        &format!("/api/v1/signalements/{}/visites", case.uuid),
        &json!({"date_visite": when, "commentaire": "Prévenir la gardienne"}),
        None,
    )
    .await;
    assert_eq!(planned.status(), 201);
    let visit = json_of(planned).await;
    assert_eq!(visit["statut"], "planned");
    assert_eq!(visit["commentaire"], "Prévenir la gardienne");
    let uuid = visit["uuid"].as_str().unwrap().to_owned();

    let path = format!("/api/v1/visites/{uuid}/conclusion");
    let done = json!({"statut": "done", "conclusions": "Humidité importante dans la chambre, VMC hors service.", "occupant_present": true});
    let concluded = send(&app, post.clone(), &bearer, &path, &done, None).await;
    assert_eq!(concluded.status(), 200);
    let visit = json_of(concluded).await;
    assert_eq!(visit["statut"], "done");
    assert_eq!(visit["occupant_present"], true);
    assert_problem(send(&app, post, &bearer, &path, &done, None).await, 409).await;
}

#[tokio::test]
async fn a_document_is_served_only_once_scanned_clean() {
    use object_store::ObjectStoreExt;
    let app = TestApp::spawn_with_accounts().await;
    let (case, _, bearer) = partner_case(&app, "en_cours").await;
    let uuid = uuid::Uuid::new_v4().to_string();
    app.state
        .storage
        .put(
            &object_store::path::Path::from("documents/api-test"),
            bytes::Bytes::from_static(b"%PDF-1.4 bail").into(),
        )
        .await
        .unwrap();
    sqlx::query(
        "INSERT INTO documents (uuid, report_id, object_key, filename, mime, size, kind, scan_status)
         VALUES (?, ?, 'documents/api-test', 'bail.pdf', 'application/pdf', 13, 'document', 'pending')",
    )
    .bind(&uuid)
    .bind(case.id)
    .execute(&app.db)
    .await
    .unwrap();
    let path = format!("/api/v1/documents/{uuid}");
    let pending = api_get(&app, &bearer, &path).await;
    assert!(pending.headers().contains_key("retry-after"));
    assert_problem(pending, 409).await;
    let set = |status: &'static str| {
        let app = &app;
        let uuid = uuid.clone();
        async move {
            sqlx::query("UPDATE documents SET scan_status = ? WHERE uuid = ?")
                .bind(status)
                .bind(uuid)
                .execute(&app.db)
                .await
                .unwrap();
        }
    };
    set("infected").await;
    assert_problem(api_get(&app, &bearer, &path).await, 410).await;
    set("clean").await;
    let served = api_get(&app, &bearer, &path).await;
    assert_eq!(served.status(), 200);
    assert!(
        served.headers()["content-disposition"]
            .to_str()
            .unwrap()
            .starts_with("attachment")
    );
    assert_eq!(served.bytes().await.unwrap().as_ref(), b"%PDF-1.4 bail");
    // Another partner's account does not see it.
    let t69 = territory_id(&app, "69A").await;
    let other = create_partner(&app, t69, "Autre", "ars").await;
    let (id, secret) = api_account(
        &app,
        "69A",
        AccountScope::Partners(vec![other]),
        &[Permission::ReadCases],
    )
    .await;
    let stranger = token(&app, &id, &secret).await;
    assert_problem(api_get(&app, &stranger, &path).await, 404).await;
}

#[tokio::test]
async fn a_document_sent_through_the_api_stays_hidden_from_the_resident_unless_public() {
    let app = TestApp::spawn_with_accounts().await;
    let (case, _, bearer) = partner_case(&app, "en_cours").await;
    for (name, public) in [("rapport.pdf", "false"), ("courrier.pdf", "true")] {
        let response = app
            .client
            .post(app.url(&format!(
                "/api/v1/signalements/{}/documents?nom_fichier={name}&public={public}",
                case.uuid
            )))
            .bearer_auth(&bearer)
            .header("content-type", "application/octet-stream")
            .body(b"%PDF-1.4\n%%EOF\n".to_vec())
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 201, "{name}");
    }
    // Recorded as the partner's (a document without uploader is the
    // resident's own and always shown to them).
    let anonymous: i64 = sqlx::query_scalar(
        "SELECT COUNT(*) FROM documents WHERE report_id = ? AND uploaded_by_user_id IS NULL",
    )
    .bind(case.id)
    .fetch_one(&app.db)
    .await
    .unwrap();
    assert_eq!(anonymous, 0);
    let shown: Vec<String> = db::documents::list_for_resident(&app.db, case.id)
        .await
        .unwrap()
        .into_iter()
        .map(|d| d.filename)
        .collect();
    assert_eq!(shown, vec!["courrier.pdf".to_owned()]);
}

// ------------------------------------------------- documents, scope, tokens

async fn upload(
    app: &TestApp,
    bearer: &str,
    case: &str,
    name: &str,
    bytes: Vec<u8>,
) -> reqwest::Response {
    app.client
        .post(app.url(&format!("/api/v1/signalements/{case}/documents")))
        .query(&[("nom_fichier", name)])
        .bearer_auth(bearer)
        .header("content-type", "application/octet-stream")
        .body(bytes)
        .send()
        .await
        .unwrap()
}

fn pdf(text: &str) -> Vec<u8> {
    format!("%PDF-1.4\n1 0 obj << /Type /Catalog >> endobj\n% {text}\n%%EOF\n").into_bytes()
}

#[tokio::test]
async fn a_document_uploaded_through_the_api_is_scanned_before_it_is_served() {
    let app = TestApp::spawn_with_accounts().await;
    let (case, _, bearer) = partner_case(&app, "en_cours").await;
    let sent = pdf("bail signé");
    let created = upload(&app, &bearer, &case.uuid, "bail.pdf", sent.clone()).await;
    assert_eq!(created.status(), 201);
    let document = json_of(created).await;
    assert_eq!(document["nom_fichier"], "bail.pdf");
    assert_eq!(document["type_mime"], "application/pdf");
    assert_eq!(document["analyse"], "en_attente");
    assert_eq!(document["public"], false);
    let path = format!("/api/v1/documents/{}", document["uuid"].as_str().unwrap());

    // Not scanned yet: 409 with Retry-After.
    let pending = api_get(&app, &bearer, &path).await;
    assert!(pending.headers().contains_key("retry-after"));
    assert_problem(pending, 409).await;
    // The worker's scan against the project's clamd: clean, served.
    app.run_antivirus_scans().await;
    let served = api_get(&app, &bearer, &path).await;
    assert_eq!(served.status(), 200);
    assert_eq!(served.bytes().await.unwrap().as_ref(), sent.as_slice());
    // The case lists it, scanned.
    let read = json_of(
        api_get(
            &app,
            &bearer,
            &format!("/api/v1/signalements/{}", case.uuid),
        )
        .await,
    )
    .await;
    assert!(
        read["documents"]
            .as_array()
            .unwrap()
            .iter()
            .any(|d| d["nom_fichier"] == "bail.pdf" && d["analyse"] == "sain"),
        "{read}"
    );

    // Hostile files: a program named .pdf, an empty body, a name that
    // climbs directories; each a 422 problem, nothing stored.
    let before: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM documents")
        .fetch_one(&app.db)
        .await
        .unwrap();
    let mut program = b"MZ\x90\x00\x03\x00\x00\x00\x04\x00\x00\x00\xff\xff".to_vec();
    program.extend([0u8; 64]);
    let problem = assert_problem(
        upload(&app, &bearer, &case.uuid, "bail.pdf", program).await,
        422,
    )
    .await;
    assert_eq!(problem["erreurs"][0]["champ"], "corps", "{problem}");
    assert_problem(
        upload(&app, &bearer, &case.uuid, "vide.pdf", Vec::new()).await,
        422,
    )
    .await;
    let html = b"<html><script>alert(1)</script></html>".to_vec();
    assert_problem(
        upload(&app, &bearer, &case.uuid, "page.html", html).await,
        422,
    )
    .await;
    let after: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM documents")
        .fetch_one(&app.db)
        .await
        .unwrap();
    assert_eq!(after, before);
    // A traversal in the name does not escape: the stored name is plain.
    let climbing = upload(&app, &bearer, &case.uuid, "../../etc/passwd.pdf", pdf("x")).await;
    if climbing.status() == 201 {
        let stored = json_of(climbing).await;
        assert!(
            !stored["nom_fichier"].as_str().unwrap().contains('/'),
            "{stored}"
        );
    } else {
        assert_problem(climbing, 422).await;
    }
}

/// What the writes change on a case: its assignments' statuses, its
/// follow-ups, documents and visits (open ones).
async fn case_state(app: &TestApp, report_id: u64) -> (String, i64, i64, i64) {
    sqlx::query_as(
        "SELECT CAST((SELECT GROUP_CONCAT(status ORDER BY id) FROM assignments WHERE report_id = ?) AS CHAR),
                (SELECT COUNT(*) FROM follow_ups WHERE report_id = ?),
                (SELECT COUNT(*) FROM documents WHERE report_id = ?),
                (SELECT COUNT(*) FROM visits WHERE report_id = ? AND concluded_at IS NULL)",
    )
    .bind(report_id)
    .bind(report_id)
    .bind(report_id)
    .bind(report_id)
    .fetch_one(&app.db)
    .await
    .unwrap()
}

/// Every endpoint that takes a bearer token, with a body it would accept.
fn every_authenticated_call(
    case: &str,
    assignment: &str,
) -> Vec<(reqwest::Method, String, Option<Value>)> {
    use reqwest::Method;
    let unknown = "00000000-0000-4000-8000-000000000000";
    vec![
        (Method::GET, "/api/v1/moi".into(), None),
        (Method::GET, "/api/v1/signalements".into(), None),
        (Method::GET, format!("/api/v1/signalements/{case}"), None),
        (
            Method::PATCH,
            format!("/api/v1/affectations/{assignment}"),
            Some(json!({ "action": "accepter" })),
        ),
        (
            Method::POST,
            format!("/api/v1/signalements/{case}/suivis"),
            Some(json!({ "texte": "Bonjour" })),
        ),
        (
            Method::POST,
            format!("/api/v1/signalements/{case}/visites"),
            Some(json!({ "date_visite": "2030-01-10T10:00" })),
        ),
        (
            Method::POST,
            format!("/api/v1/visites/{unknown}/conclusion"),
            Some(json!({ "statut": "done", "conclusions": "RAS" })),
        ),
        (
            Method::POST,
            format!("/api/v1/signalements/{case}/documents?nom_fichier=a.pdf"),
            None,
        ),
        (Method::GET, format!("/api/v1/documents/{unknown}"), None),
        (
            Method::POST,
            format!("/api/v1/visites/{unknown}/reprogrammation"),
            Some(json!({ "date_visite": "2030-01-11T10:00", "motif": "Absent" })),
        ),
        (
            Method::POST,
            format!("/api/v1/visites/{unknown}/annulation"),
            Some(json!({ "motif": "Travaux faits" })),
        ),
        (
            Method::PATCH,
            format!("/api/v1/visites/{unknown}/conclusion"),
            Some(json!({ "conclusions": "Constats complétés" })),
        ),
        (
            Method::POST,
            format!("/api/v1/visites/{unknown}/rapport-visite?nom_fichier=a.pdf"),
            None,
        ),
        (
            Method::PATCH,
            format!("/api/v1/documents/{unknown}"),
            Some(json!({ "titre": "Bail" })),
        ),
        (
            Method::POST,
            format!("/api/v1/documents/{unknown}/rotation"),
            Some(json!({ "degres": 90 })),
        ),
        (Method::DELETE, format!("/api/v1/documents/{unknown}"), None),
        (Method::DELETE, "/api/v1/token".into(), None),
    ]
}

async fn call(
    app: &TestApp,
    bearer: &str,
    (method, path, body): &(reqwest::Method, String, Option<Value>),
) -> reqwest::Response {
    let mut request = app
        .client
        .request(method.clone(), app.url(path))
        .bearer_auth(bearer);
    request = match body {
        Some(body) => request.json(body),
        None if path.contains("/documents?") || path.contains("-visite?") => request
            .header("content-type", "application/octet-stream")
            .body(pdf("x")),
        None => request,
    };
    request.send().await.unwrap()
}

#[tokio::test]
async fn a_revoked_account_or_an_expired_token_gets_401_on_every_endpoint() {
    let app = TestApp::spawn_with_accounts().await;
    let (case, _, bearer) = partner_case(&app, "nouveau").await;
    let assignment = assignment_uuid(&app, case.id).await;
    let calls = every_authenticated_call(&case.uuid, &assignment);
    let (account_id, identifier): (u64, String) =
        sqlx::query_as("SELECT id, uuid FROM api_accounts ORDER BY id DESC LIMIT 1")
            .fetch_one(&app.db)
            .await
            .unwrap();
    assert_eq!(api_get(&app, &bearer, "/api/v1/moi").await.status(), 200);
    let before = case_state(&app, case.id).await;

    // Expired: every endpoint refuses the token, nothing is written.
    sqlx::query("UPDATE api_tokens SET expires_at = UTC_TIMESTAMP() - INTERVAL 1 SECOND")
        .execute(&app.db)
        .await
        .unwrap();
    for c in &calls {
        let refused = call(&app, &bearer, c).await;
        assert_eq!(refused.status(), 401, "{} {}", c.0, c.1);
        assert_problem(refused, 401).await;
    }

    // Revoked in the back office: its live tokens and its secret stop at once.
    sqlx::query("UPDATE api_tokens SET expires_at = UTC_TIMESTAMP() + INTERVAL 1 HOUR")
        .execute(&app.db)
        .await
        .unwrap();
    assert_eq!(api_get(&app, &bearer, "/api/v1/moi").await.status(), 200);
    let admin: u64 = sqlx::query_scalar("SELECT id FROM users WHERE email = ?")
        .bind(RT69)
        .fetch_one(&app.db)
        .await
        .unwrap();
    let mut conn = app.db.acquire().await.unwrap();
    assert!(
        db::api::revoke_account(&mut conn, account_id, admin)
            .await
            .unwrap()
    );
    drop(conn);
    for c in &calls {
        let refused = call(&app, &bearer, c).await;
        assert_eq!(refused.status(), 401, "{} {}", c.0, c.1);
        assert_problem(refused, 401).await;
    }
    let exchange = app
        .client
        .post(app.url("/api/v1/token"))
        .json(&json!({ "identifiant": identifier, "secret": "x" }))
        .send()
        .await
        .unwrap();
    assert_problem(exchange, 401).await;
    assert_eq!(
        case_state(&app, case.id).await,
        before,
        "nothing was written"
    );
}

#[tokio::test]
async fn an_account_of_partner_a_cannot_write_on_or_download_from_partner_b() {
    let app = TestApp::spawn_with_accounts().await;
    let (_, _, bearer_a) = partner_case(&app, "en_cours").await;
    let (case_b, partner_b, bearer_b) = partner_case(&app, "en_cours").await;
    // B visits (the visit competence, docs/visits.md), plans a visit and
    // uploads a file on its own case.
    sqlx::query("UPDATE partners SET competences = '[\"visites\"]' WHERE id = ?")
        .bind(partner_b)
        .execute(&app.db)
        .await
        .unwrap();
    let visit = send(
        &app,
        reqwest::Method::POST,
        &bearer_b,
        &format!("/api/v1/signalements/{}/visites", case_b.uuid),
        &json!({ "date_visite": "2030-01-10T10:00" }),
        None,
    )
    .await;
    assert_eq!(visit.status(), 201);
    let visit = json_of(visit).await["uuid"].as_str().unwrap().to_owned();
    let document = upload(&app, &bearer_b, &case_b.uuid, "b.pdf", pdf("b")).await;
    assert_eq!(document.status(), 201);
    let document = json_of(document).await["uuid"].as_str().unwrap().to_owned();
    app.run_antivirus_scans().await;
    let assignment = assignment_uuid(&app, case_b.id).await;
    let before = case_state(&app, case_b.id).await;

    // A sees nothing of B: reads, writes and documents are all 404.
    let mut calls = every_authenticated_call(&case_b.uuid, &assignment);
    calls.retain(|(_, path, _)| {
        !path.ends_with("/moi") && !path.ends_with("/token") && path != "/api/v1/signalements"
    });
    calls.push((
        reqwest::Method::POST,
        format!("/api/v1/visites/{visit}/conclusion"),
        Some(json!({ "statut": "done", "conclusions": "RAS" })),
    ));
    calls.push((
        reqwest::Method::GET,
        format!("/api/v1/documents/{document}"),
        None,
    ));
    calls.push((
        reqwest::Method::POST,
        format!("/api/v1/visites/{visit}/reprogrammation"),
        Some(json!({ "date_visite": "2030-01-12T10:00", "motif": "Absent" })),
    ));
    calls.push((
        reqwest::Method::POST,
        format!("/api/v1/visites/{visit}/annulation"),
        Some(json!({ "motif": "Travaux faits" })),
    ));
    calls.push((
        reqwest::Method::POST,
        format!("/api/v1/visites/{visit}/rapport-visite?nom_fichier=a.pdf"),
        None,
    ));
    calls.push((
        reqwest::Method::PATCH,
        format!("/api/v1/documents/{document}"),
        Some(json!({ "public": true })),
    ));
    calls.push((
        reqwest::Method::DELETE,
        format!("/api/v1/documents/{document}"),
        None,
    ));
    calls.push((
        reqwest::Method::PATCH,
        format!("/api/v1/affectations/{assignment}"),
        Some(json!({ "action": "clore", "motif": "travaux_faits", "message": "Fini" })),
    ));
    for c in &calls {
        let refused = call(&app, &bearer_a, c).await;
        assert_eq!(refused.status(), 404, "{} {}", c.0, c.1);
        assert_problem(refused, 404).await;
    }
    assert_eq!(case_state(&app, case_b.id).await, before);
    // B still reads its file.
    assert_eq!(
        api_get(&app, &bearer_b, &format!("/api/v1/documents/{document}"))
            .await
            .status(),
        200
    );
}

#[tokio::test]
async fn a_page_size_outside_1_to_100_is_a_422() {
    let app = TestApp::spawn_with_accounts().await;
    let t69 = territory_id(&app, "69A").await;
    let (id, secret) = api_account(
        &app,
        "69A",
        AccountScope::Territory(t69),
        &[Permission::ReadCases],
    )
    .await;
    let bearer = token(&app, &id, &secret).await;
    for limit in ["101", "0", "-1", "100000000000", "abc", ""] {
        let refused = api_get(
            &app,
            &bearer,
            &format!("/api/v1/signalements?limite={limit}"),
        )
        .await;
        let status = refused.status().as_u16();
        assert!([400, 422].contains(&status), "limite={limit}: {status}");
        let problem = assert_problem(refused, status).await;
        if limit == "101" {
            assert_eq!(status, 422);
            assert_eq!(problem["erreurs"][0]["champ"], "limite", "{problem}");
        }
    }
    assert_eq!(
        api_get(&app, &bearer, "/api/v1/signalements?limite=100")
            .await
            .status(),
        200
    );
}

#[tokio::test]
async fn the_daily_api_purge_removes_old_tokens_and_idempotency_keys_only() {
    use histologe::worker::{Worker, WorkerOptions, scheduler};
    assert!(
        scheduler::SCHEDULES.iter().any(|s| s.name == "api_purge"),
        "the purge is scheduled"
    );
    let app = TestApp::spawn_with_accounts().await;
    let t69 = territory_id(&app, "69A").await;
    let (id, secret) = api_account(
        &app,
        "69A",
        AccountScope::Territory(t69),
        &[Permission::ReadCases],
    )
    .await;
    let live = token(&app, &id, &secret).await;
    for _ in 0..3 {
        token(&app, &id, &secret).await;
    }
    // Two tokens expired two days ago, one revoked two days ago: only the
    // live one stays.
    sqlx::query(
        "UPDATE api_tokens SET expires_at = UTC_TIMESTAMP() - INTERVAL 2 DAY
         WHERE id IN (SELECT id FROM (SELECT id FROM api_tokens ORDER BY id DESC LIMIT 2) t)",
    )
    .execute(&app.db)
    .await
    .unwrap();
    sqlx::query(
        "UPDATE api_tokens SET revoked_at = UTC_TIMESTAMP() - INTERVAL 2 DAY
         WHERE id = (SELECT id FROM (SELECT id FROM api_tokens ORDER BY id DESC LIMIT 1 OFFSET 2) t)",
    )
    .execute(&app.db)
    .await
    .unwrap();
    let account: u64 = sqlx::query_scalar("SELECT id FROM api_accounts WHERE uuid = ?")
        .bind(&id)
        .fetch_one(&app.db)
        .await
        .unwrap();
    for (key, age_hours) in [("vieille", 25), ("recente", 1)] {
        sqlx::query(
            "INSERT INTO api_idempotency_keys (account_id, idempotency_key, request_hash, status, body, created_at)
             VALUES (?, ?, REPEAT('a', 64), 201, '{}', UTC_TIMESTAMP() - INTERVAL ? HOUR)",
        )
        .bind(account)
        .bind(key)
        .bind(age_hours)
        .execute(&app.db)
        .await
        .unwrap();
    }

    let worker = Worker::new(
        app.db.clone(),
        app.state.config.clone(),
        app.state.storage.clone(),
        WorkerOptions {
            scheduler: false,
            ..WorkerOptions::default()
        },
    )
    .expect("worker");
    scheduler::run(&worker, "api_purge", "2026-12-07")
        .await
        .unwrap();

    let tokens: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM api_tokens")
        .fetch_one(&app.db)
        .await
        .unwrap();
    assert_eq!(tokens, 1, "only the live token is left");
    assert_eq!(api_get(&app, &live, "/api/v1/moi").await.status(), 200);
    let keys: Vec<String> =
        sqlx::query_scalar("SELECT CAST(idempotency_key AS CHAR) FROM api_idempotency_keys")
            .fetch_all(&app.db)
            .await
            .unwrap();
    assert_eq!(keys, vec!["recente".to_owned()]);
}

#[tokio::test]
async fn the_technical_user_of_an_api_account_is_not_listed_among_users() {
    let app = TestApp::spawn_with_accounts().await;
    let t69 = territory_id(&app, "69A").await;
    let partner = create_partner(&app, t69, "SCHS listé", "commune_schs").await;
    api_account(
        &app,
        "69A",
        AccountScope::Partners(vec![partner]),
        &Permission::ALL,
    )
    .await;
    let technical: String =
        sqlx::query_scalar("SELECT u.email FROM users u JOIN api_accounts a ON a.user_id = u.id")
            .fetch_one(&app.db)
            .await
            .unwrap();
    // It is no member of any partner: no agent count or partner list sees it.
    let memberships: i64 = sqlx::query_scalar(
        "SELECT COUNT(*) FROM user_partners up JOIN api_accounts a ON a.user_id = up.user_id",
    )
    .fetch_one(&app.db)
    .await
    .unwrap();
    assert_eq!(memberships, 0);
    app.login_as("admin@histologe.localhost").await;
    for path in [
        "/bo/utilisateurs".to_owned(),
        "/bo/utilisateurs?q=Compte+API".to_owned(),
        "/bo/utilisateurs?q=comptes-api".to_owned(),
        format!("/bo/utilisateurs?partenaire={partner}"),
    ] {
        let (status, html) = app.get_html(&path).await;
        assert_eq!(status, 200, "{path}");
        assert!(
            !html.contains(&technical),
            "{path} lists the technical user"
        );
        assert!(!html.contains("comptes-api.invalid"), "{path}");
    }
    let (_, html) = app.get_html("/bo/utilisateurs?q=rt69").await;
    assert!(
        html.contains("rt69@histologe.localhost"),
        "real users are still listed"
    );
}

// ------------------------------------------------------------ attack pass

/// A refusal as a partner system should get one: a 4xx problem document,
/// never a server error or a page.
async fn assert_refused(response: reqwest::Response, what: &str) -> u16 {
    let status = response.status().as_u16();
    assert!((400..500).contains(&status), "{what}: {status}");
    assert_eq!(
        response.headers()["content-type"],
        "application/problem+json",
        "{what}"
    );
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["status"], status, "{what}");
    assert!(
        body["detail"].as_str().is_some_and(|d| !d.is_empty()),
        "{what}"
    );
    status
}

async fn send_raw(
    app: &TestApp,
    method: reqwest::Method,
    bearer: &str,
    path: &str,
    body: Vec<u8>,
) -> reqwest::Response {
    app.client
        .request(method, app.url(path))
        .bearer_auth(bearer)
        .header("content-type", "application/json")
        .body(body)
        .send()
        .await
        .unwrap()
}

#[tokio::test]
async fn hostile_values_in_every_field_are_refused_cleanly_or_stored_verbatim() {
    use reqwest::Method;
    let app = TestApp::spawn_with_accounts().await;
    let (case, _, bearer) = partner_case(&app, "en_cours").await;
    let assignment = assignment_uuid(&app, case.id).await;
    let before = case_state(&app, case.id).await;
    let nested = format!("{}{}", "[".repeat(5000), "]".repeat(5000));
    let huge = json!({ "texte": "x".repeat(3 * 1024 * 1024) }).to_string();
    let bodies: Vec<(&str, Vec<u8>)> = vec![
        ("invalid UTF-8", b"{\"texte\": \"\xff\xfe\xfd\"}".to_vec()),
        ("nested", nested.clone().into_bytes()),
        (
            "nested object",
            format!("{{\"texte\": {nested}}}").into_bytes(),
        ),
        ("huge", huge.into_bytes()),
        ("not JSON", b"texte=bonjour".to_vec()),
        ("wrong types", br#"{"texte": 42, "public": "oui"}"#.to_vec()),
        ("null", b"null".to_vec()),
        ("empty", Vec::new()),
        ("empty text", br#"{"texte": "   "}"#.to_vec()),
    ];
    let writes = [
        format!("/api/v1/signalements/{}/suivis", case.uuid),
        format!("/api/v1/signalements/{}/visites", case.uuid),
        "/api/v1/visites/00000000-0000-4000-8000-000000000000/conclusion".to_owned(),
    ];
    for path in &writes {
        for (what, body) in &bodies {
            assert_refused(
                send_raw(&app, Method::POST, &bearer, path, body.clone()).await,
                &format!("{what} → {path}"),
            )
            .await;
        }
    }
    for (what, body) in &bodies {
        assert_refused(
            send_raw(
                &app,
                Method::PATCH,
                &bearer,
                &format!("/api/v1/affectations/{assignment}"),
                body.clone(),
            )
            .await,
            what,
        )
        .await;
    }
    for (what, body) in [
        (
            "unknown action",
            json!({ "action": "'; DROP TABLE reports; --" }),
        ),
        ("visit date", json!({ "date_visite": "2030-02-31T25:61" })),
        ("visit far", json!({ "date_visite": "+999999-01-01T00:00" })),
        (
            "partner",
            json!({ "date_visite": "2030-01-10T10:00", "partenaire_id": -1 }),
        ),
        (
            "partner huge",
            json!({ "date_visite": "2030-01-10T10:00", "partenaire_id": 1e300 }),
        ),
    ] {
        let path = if what == "unknown action" {
            format!("/api/v1/affectations/{assignment}")
        } else {
            format!("/api/v1/signalements/{}/visites", case.uuid)
        };
        let method = if what == "unknown action" {
            Method::PATCH
        } else {
            Method::POST
        };
        assert_refused(send(&app, method, &bearer, &path, &body, None).await, what).await;
    }
    assert_eq!(
        case_state(&app, case.id).await,
        before,
        "nothing was written"
    );

    // Reads: bad paging, cursors, filters and identifiers.
    for query in [
        "limite=-1",
        "limite=18446744073709551616",
        "curseur=abc",
        "curseur=-5",
        "curseur=99999999999999999999999999",
        "curseur=%27%20OR%201%3D1",
        "since=hier",
        "since=2026-13-45T99:00:00Z",
        "statut=%27%20OR%20%271%27%3D%271",
        "code_insee=%27%20OR%20%271%27%3D%271",
        "code_insee=690%00",
    ] {
        let response = api_get(&app, &bearer, &format!("/api/v1/signalements?{query}")).await;
        let status = response.status().as_u16();
        if status == 200 {
            // A filter that matches nothing is an answer, not a leak.
            assert!(uuids(&json_of(response).await).is_empty(), "{query}");
        } else {
            assert_refused(response, query).await;
        }
    }
    for path in [
        format!("/api/v1/signalements/{}", "a".repeat(10_000)),
        "/api/v1/signalements/%27%20OR%201%3D1".to_owned(),
        "/api/v1/signalements/%F0%9F%92%A5".to_owned(),
        "/api/v1/documents/..%2F..%2Fetc%2Fpasswd".to_owned(),
    ] {
        let response = api_get(&app, &bearer, &path).await;
        let status = response.status().as_u16();
        assert!((400..500).contains(&status), "{path}: {status}");
    }

    // Unicode and SQL-looking text is kept as written.
    let text = "Robert'); DROP TABLE reports;-- \u{202e}élève 🏚️ 日本 \u{0}fin";
    let written = send(
        &app,
        Method::POST,
        &bearer,
        &format!("/api/v1/signalements/{}/suivis", case.uuid),
        &json!({ "texte": text }),
        None,
    )
    .await;
    let status = written.status().as_u16();
    if status == 201 {
        let read = json_of(
            api_get(
                &app,
                &bearer,
                &format!("/api/v1/signalements/{}", case.uuid),
            )
            .await,
        )
        .await;
        assert!(read.to_string().contains("DROP TABLE reports"), "{read}");
    } else {
        assert_refused(written, "unicode text").await;
    }
    let reports: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM reports")
        .fetch_one(&app.db)
        .await
        .unwrap();
    assert!(reports >= 1);
}

#[tokio::test]
async fn the_same_idempotency_key_sent_twice_at_once_writes_once() {
    let app = TestApp::spawn_with_accounts().await;
    let (case, _, bearer) = partner_case(&app, "en_cours").await;
    let before = case_state(&app, case.id).await;
    let path = format!("/api/v1/signalements/{}/suivis", case.uuid);
    let body = json!({ "texte": "Envoyé deux fois en même temps" });
    let sends: Vec<_> = (0..4)
        .map(|_| {
            send(
                &app,
                reqwest::Method::POST,
                &bearer,
                &path,
                &body,
                Some("en-meme-temps"),
            )
        })
        .collect();
    let responses = futures::future::join_all(sends).await;
    let statuses: Vec<u16> = responses.iter().map(|r| r.status().as_u16()).collect();
    assert!(
        statuses.iter().all(|s| [201, 409].contains(s)),
        "{statuses:?}"
    );
    assert!(statuses.contains(&201), "{statuses:?}");
    let after = case_state(&app, case.id).await;
    assert_eq!(
        after.1,
        before.1 + 1,
        "one follow-up for one key: {statuses:?}"
    );
}

#[tokio::test]
async fn no_endpoint_fetches_a_url_it_is_given() {
    // A listener standing for an internal service: any connection to it
    // would be a server-side request forged by a caller.
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    listener.set_nonblocking(true).unwrap();
    let target = format!("http://{}/interne", listener.local_addr().unwrap());
    let app = TestApp::spawn_with_accounts().await;
    let (case, _, bearer) = partner_case(&app, "en_cours").await;
    let path = format!("/api/v1/signalements/{}/suivis", case.uuid);
    let written = send(
        &app,
        reqwest::Method::POST,
        &bearer,
        &path,
        &json!({ "texte": format!("Voir {target}"), "url": target, "media_url": target }),
        None,
    )
    .await;
    assert!(written.status().as_u16() < 500);
    let upload = app
        .client
        .post(app.url(&format!("/api/v1/signalements/{}/documents", case.uuid)))
        .query(&[("nom_fichier", target.as_str())])
        .bearer_auth(&bearer)
        .header("content-type", "application/octet-stream")
        .body(target.clone())
        .send()
        .await
        .unwrap();
    assert!(upload.status().as_u16() < 500);
    let open311 = app
        .client
        .post(app.url("/open311/v2/requests.json"))
        .form(&[("api_key", "x"), ("media_url", target.as_str())])
        .send()
        .await
        .unwrap();
    assert!(open311.status().as_u16() < 500);
    match listener.accept() {
        Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => {}
        other => panic!("the server connected to a URL it was given: {other:?}"),
    }
}
