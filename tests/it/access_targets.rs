//! Real resources for the role × route matrix: every `{placeholder}` of a
//! route is replaced by something that exists (a user, a partner, a case
//! and its visit and document, a draft, a follow-up code, a saved filter of
//! the very user asking...), so that an "allowed" answer is never a 404 for
//! a made-up identifier and a 404 always means "hidden from this user".

use histologe::{
    auth, db,
    domain::api::{AccountScope, Permission, Permissions},
    domain::report::draft::DraftPayload,
    queue::{self, Job},
};

use crate::common::TestApp;

pub struct Targets {
    app_db: sqlx::MySqlPool,
    case_id: u64,
    t69: u32,
    schs69: u64,
    admin_id: u64,
    target_user: u64,
    /// A case of 69A assigned to the SCHS: every role of the matrix sees it.
    pub case_uuid: String,
    follow_up_code: String,
    visit_id: u64,
    document_uuid: String,
    draft_uuid: String,
    job_id: u64,
    /// A case of 13: hidden from every user of 69A but the super admin.
    pub case_of_13: String,
    /// A case of 69A not assigned to the SCHS.
    pub case_of_69_unassigned: String,
}

/// A document of the case, still waiting for its antivirus scan (its
/// download answers "analyse en cours"; no thumbnail is served before the
/// scan, which tests/it/bo_documents.rs covers).
async fn new_document(app: &TestApp, case_id: u64) -> String {
    store_document(&app.db, case_id).await
}

async fn store_document(pool: &sqlx::MySqlPool, case_id: u64) -> String {
    let uuid = uuid::Uuid::new_v4().to_string();
    let mut tx = pool.begin().await.expect("tx");
    db::documents::insert_pending(
        &mut tx,
        &db::documents::NewDocument {
            uuid: &uuid,
            report_id: case_id,
            follow_up_id: None,
            object_key: &format!("documents/{uuid}"),
            thumbnail_key: None,
            filename: "bail.pdf",
            mime: "application/pdf",
            size: 10,
            sha256: &"0".repeat(64),
            kind: "document",
            document_type: "bail",
            defect_code: None,
            is_public: true,
        },
    )
    .await
    .expect("a document of the case");
    tx.commit().await.expect("commit");
    uuid
}

async fn one<T>(db: &sqlx::MySqlPool, sql: &str) -> T
where
    T: for<'r> sqlx::Decode<'r, sqlx::MySql> + sqlx::Type<sqlx::MySql> + Send + Unpin,
{
    sqlx::query_scalar(sql).fetch_one(db).await.expect(sql)
}

impl Targets {
    pub async fn create(app: &TestApp) -> Self {
        let db = app.db.clone();
        let t69: u32 = one(&db, "SELECT id FROM territories WHERE code = '69A'").await;
        let schs69: u64 = one(
            &db,
            "SELECT id FROM partners WHERE name LIKE 'Service communal%Lyon'",
        )
        .await;
        let admin_id: u64 = one(
            &db,
            "SELECT id FROM users WHERE email = 'rt69@histologe.localhost'",
        )
        .await;
        // A user no login depends on, member of the SCHS.
        let target_user = crate::common::cases::UserBuilder::new("cible@lyon.fr")
            .name("Cible", "Test")
            .role("agent")
            .status("inactive")
            .member_of(schs69, t69)
            .create(app)
            .await;
        let (case_id, case_uuid, follow_up_code): (u64, String, String) = sqlx::query_as(
            "SELECT r.id, r.uuid, CONVERT(r.follow_up_code USING utf8mb4) FROM reports r
             JOIN assignments a ON a.report_id = r.id
             WHERE r.territory_id = ? AND a.partner_id = ? ORDER BY r.id LIMIT 1",
        )
        .bind(t69)
        .bind(schs69)
        .fetch_one(&db)
        .await
        .expect("a demo case assigned to the SCHS");
        let case_of_13: String = one(
            &db,
            "SELECT r.uuid FROM reports r JOIN territories t ON t.id = r.territory_id
             WHERE t.code = '13' ORDER BY r.id LIMIT 1",
        )
        .await;
        let case_of_69_unassigned: String = sqlx::query_scalar(
            "SELECT r.uuid FROM reports r WHERE r.territory_id = ?
               AND NOT EXISTS (SELECT 1 FROM assignments a
                               WHERE a.report_id = r.id AND a.partner_id = ?)
             ORDER BY r.id LIMIT 1",
        )
        .bind(t69)
        .bind(schs69)
        .fetch_one(&db)
        .await
        .expect("a demo case of 69A without the SCHS");

        let visit_id = sqlx::query(
            "INSERT INTO visits (report_id, partner_id, scheduled_at, created_by)
             VALUES (?, ?, UTC_TIMESTAMP() + INTERVAL 7 DAY, ?)",
        )
        .bind(case_id)
        .bind(schs69)
        .bind(admin_id)
        .execute(&db)
        .await
        .expect("a visit of the case")
        .last_insert_id();

        let mut tx = db.begin().await.expect("tx");
        let draft_uuid = uuid::Uuid::new_v4().to_string();
        db::drafts::insert(
            &mut tx,
            &draft_uuid,
            &DraftPayload::default(),
            "profil",
            t69,
        )
        .await
        .expect("a draft");
        queue::enqueue(
            &mut tx,
            &Job::GeocodeReport { report_id: case_id },
            None,
            db::outbox::JobContext {
                report_id: Some(case_id),
                partner_id: None,
                delay_secs: 3600,
            },
        )
        .await
        .expect("a job of the case");
        tx.commit().await.expect("commit");
        let job_id: u64 = one(&db, "SELECT MAX(id) FROM outbox").await;
        let document_uuid = new_document(app, case_id).await;
        Self {
            app_db: db,
            case_id,
            t69,
            schs69,
            admin_id,
            target_user,
            case_uuid,
            follow_up_code,
            visit_id,
            document_uuid,
            draft_uuid,
            job_id,
            case_of_13,
            case_of_69_unassigned,
        }
    }

    /// The route with each placeholder replaced for `role` (routes that
    /// consume their target, such as a deletion, get a fresh one).
    pub async fn fill(&self, route: &str, role: Option<&str>) -> String {
        let mut path = route.to_owned();
        let id = if route.starts_with("/bo/utilisateurs/{id}") {
            Some(self.target_user.to_string())
        } else if route.starts_with("/bo/partenaires/{id}") {
            Some(self.schs69.to_string())
        } else if route.starts_with("/bo/territoires/{id}") {
            Some(self.t69.to_string())
        } else if route.starts_with("/bo/etiquettes/{id}") {
            Some(self.new_tag().await.to_string())
        } else if route.starts_with("/bo/signalements/filtres/{id}") {
            Some(self.new_filter_of(role).await)
        } else if route.starts_with("/bo/regles-affectation/{id}") {
            Some(self.new_rule().await.to_string())
        } else if route.starts_with("/bo/interconnexions/{id}") {
            Some(self.job_id.to_string())
        } else if route.starts_with("/bo/comptes-api/{id}") {
            Some(self.new_api_account().await.to_string())
        } else if route.starts_with("/dev/courriels/{id}") {
            Some("1".to_owned())
        } else {
            None
        };
        if route == "/bo/documents/{uuid}/supprimer" {
            // A deletion consumes its document: each role deletes its own.
            let fresh = store_document(&self.app_db, self.case_id).await;
            return route.replace("{uuid}", &fresh);
        }
        if let Some(id) = id {
            path = path.replacen("{id}", &id, 1);
        }
        if route.starts_with("/signalement/{uuid}") {
            path = path
                .replace("{uuid}", &self.draft_uuid)
                .replace("{step}", "profil");
        }
        path.replace("{token}", &"ab".repeat(32))
            .replace("{code}", &self.follow_up_code)
            .replace(
                "/documents/{uuid}",
                &format!("/documents/{}", self.document_uuid),
            )
            .replace("{uuid}", &self.case_uuid)
            .replace("{visit_id}", &self.visit_id.to_string())
            // Any well-formed address key: its history may be empty.
            .replace("{key}", "69003-12-rue-x")
    }

    async fn new_tag(&self) -> u64 {
        sqlx::query_scalar("INSERT INTO tags (territory_id, label) VALUES (?, UUID()) RETURNING id")
            .bind(self.t69)
            .fetch_one(&self.app_db)
            .await
            .expect("a tag")
    }

    /// A saved filter of the user asking (an anonymous request gets the
    /// login page before any lookup).
    async fn new_filter_of(&self, role: Option<&str>) -> String {
        let Some(email) = role else {
            return "1".to_owned();
        };
        let user: u64 = sqlx::query_scalar("SELECT id FROM users WHERE email = ?")
            .bind(email)
            .fetch_one(&self.app_db)
            .await
            .expect("user");
        let mut conn = self.app_db.acquire().await.expect("conn");
        db::saved_filters::insert(&mut conn, user, "Mes dossiers", "statut=active")
            .await
            .expect("a saved filter");
        let id: u64 = sqlx::query_scalar("SELECT MAX(id) FROM saved_filters WHERE user_id = ?")
            .bind(user)
            .fetch_one(&self.app_db)
            .await
            .expect("filter id");
        id.to_string()
    }

    async fn new_rule(&self) -> u64 {
        let mut conn = self.app_db.acquire().await.expect("conn");
        db::auto_assignment::insert(
            &mut conn,
            &db::auto_assignment::NewRule {
                territory_id: self.t69,
                partner_type: "commune_schs",
                declarant_profile: "all",
                housing_sector: "all",
                allowance: "all",
                insee_include: &[],
                insee_exclude: &[],
                description: Some("Règle du test"),
            },
        )
        .await
        .expect("a rule")
    }

    async fn new_api_account(&self) -> u64 {
        let (_, secret_hash) = auth::api::new_secret();
        let uuid = uuid::Uuid::new_v4().to_string();
        let mut conn = self.app_db.acquire().await.expect("conn");
        db::api::insert_account(
            &mut conn,
            &db::api::NewAccount {
                uuid: &uuid,
                name: "Logiciel du test",
                territory_id: self.t69,
                scope: &AccountScope::Territory(self.t69),
                permissions: &Permissions::new(vec![Permission::ReadCases]),
                secret_hash: &secret_hash,
                created_by_user_id: self.admin_id,
            },
        )
        .await
        .expect("an API account")
    }
}
