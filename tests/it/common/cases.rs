//! One way for tests to make the cases, users and partners they need,
//! through the crate's own `db` functions (the ones the form submission, the
//! back office and the demo seed use), so that a fixture is a row the
//! application itself could have written.
//!
//! ```ignore
//! let case = CaseBuilder::new("69A")
//!     .status("active")
//!     .assigned_to(schs, "accepte")
//!     .with_defects(&[precision])
//!     .create(&app)
//!     .await;
//! ```
//!
//! Everything not set is left empty (NULL), as a report filed with only the
//! required answers. A case's past (when it was filed, validated, closed, its
//! position on the map) is written by the application with the current time
//! or by the geocoder; tests need known values, so [`CaseBuilder::create`]
//! writes them after the insert, in one statement, in this module only.

use histologe::{
    db::{self, reports::NewReport},
    domain::report::{form::DeclarantProfile, submission::Submission},
};
use time::{PrimitiveDateTime, macros::format_description};

use super::TestApp;

/// A case made by [`CaseBuilder::create`].
#[derive(Debug, Clone)]
pub struct Case {
    pub id: u64,
    pub uuid: String,
    pub reference: String,
    /// The secret of the resident's follow-up link (`/suivre-mon-signalement/{code}`).
    pub follow_up_code: String,
}

/// One assignment of the case to a partner, as the back office would have
/// recorded it (`answered` is when the partner answered, if it did).
struct Assignment {
    partner_id: u64,
    status: String,
    answered: Option<String>,
}

/// The facts of a case to create; see the module documentation.
#[must_use]
pub struct CaseBuilder {
    territory: String,
    reference: Option<String>,
    status: String,
    form: Submission,
    severity: Option<f64>,
    follow_up_code: Option<String>,
    created: Option<String>,
    validated: Option<String>,
    closed: Option<String>,
    refusal_reason: Option<String>,
    closure_reason: Option<String>,
    location: Option<(f64, f64)>,
    assignments: Vec<Assignment>,
    defects: Vec<u32>,
}

/// `YYYY-MM-DD HH:MM:SS`, the way tests write dates.
pub fn datetime(text: &str) -> PrimitiveDateTime {
    PrimitiveDateTime::parse(
        text,
        format_description!("[year]-[month]-[day] [hour]:[minute]:[second]"),
    )
    .unwrap_or_else(|e| panic!("{text:?} is not YYYY-MM-DD HH:MM:SS: {e}"))
}

impl CaseBuilder {
    /// A tenant's active case at 12 rue Garibaldi, 69003 Lyon, in the
    /// territory of that code (`69A`, `13`...).
    pub fn new(territory: &str) -> Self {
        let form = Submission {
            declarant_profile: DeclarantProfile::Locataire,
            occupant_first_name: Some("Alex".into()),
            occupant_last_name: Some("Testeur".into()),
            address_line: "12 rue Garibaldi".into(),
            postal_code: "69003".into(),
            city: "Lyon".into(),
            insee_code: Some("69383".into()),
            consents: serde_json::json!({}),
            extra: serde_json::json!({}),
            ..Submission::default()
        };
        Self {
            territory: territory.to_owned(),
            reference: None,
            status: "active".into(),
            form,
            severity: None,
            follow_up_code: None,
            created: None,
            validated: None,
            closed: None,
            refusal_reason: None,
            closure_reason: None,
            location: None,
            assignments: Vec::new(),
            defects: Vec::new(),
        }
    }

    /// The reference shown everywhere (default: a unique `T-…`).
    pub fn reference(mut self, reference: &str) -> Self {
        self.reference = Some(reference.to_owned());
        self
    }

    /// The stored status (`need_validation`, `active`, `closed`, `refused`...).
    pub fn status(mut self, status: &str) -> Self {
        self.status = status.to_owned();
        self
    }

    /// Who filed it (`locataire`, `bailleur_occupant`, `tiers_particulier`...).
    pub fn profile(mut self, profile: &str) -> Self {
        self.form.declarant_profile = DeclarantProfile::parse(profile)
            .unwrap_or_else(|| panic!("{profile:?} is not a declarant profile"));
        self
    }

    pub fn occupant(mut self, first_name: &str, last_name: &str) -> Self {
        self.form.occupant_first_name = Some(first_name.to_owned());
        self.form.occupant_last_name = Some(last_name.to_owned());
        self
    }

    pub fn occupant_email(mut self, email: &str) -> Self {
        self.form.occupant_email =
            Some(histologe::domain::contact::Email::parse(email).expect("a valid e-mail"));
        self
    }

    pub fn occupant_phone(mut self, phone: &str) -> Self {
        self.form.occupant_phone =
            Some(histologe::domain::contact::Phone::parse(phone).expect("a valid phone"));
        self
    }

    /// The street line, keeping the commune.
    pub fn street(mut self, line: &str) -> Self {
        self.form.address_line = line.to_owned();
        self
    }

    /// The commune (postal code, name); the INSEE code stays Lyon 3e's.
    pub fn commune(mut self, postal_code: &str, city: &str) -> Self {
        self.form.postal_code = postal_code.to_owned();
        self.form.city = city.to_owned();
        self
    }

    pub fn insee_code(mut self, insee_code: Option<&str>) -> Self {
        self.form.insee_code = insee_code.map(str::to_owned);
        self
    }

    /// Floor and door, as the form asks them.
    pub fn floor_and_door(mut self, floor: &str, door: &str) -> Self {
        self.form.floor = Some(floor.to_owned());
        self.form.door = Some(door.to_owned());
        self
    }

    pub fn details(mut self, details: &str) -> Self {
        self.form.details = Some(details.to_owned());
        self
    }

    pub fn occupants(mut self, count: u16) -> Self {
        self.form.dwelling_occupants_count = Some(count);
        self
    }

    pub fn occupant_civility(mut self, civility: &str) -> Self {
        self.form.occupant_civility = Some(civility.to_owned());
        self
    }

    pub fn public_housing(mut self, answer: Option<bool>) -> Self {
        self.form.is_public_housing = answer;
        self
    }

    pub fn housing_allowance(mut self, answer: Option<bool>) -> Self {
        self.form.household_housing_allowance = answer;
        self
    }

    pub fn children_under_6(mut self, answer: Option<bool>) -> Self {
        self.form.dwelling_children_under_6 = answer;
        self
    }

    /// Any other form answer.
    pub fn form(mut self, change: impl FnOnce(&mut Submission)) -> Self {
        change(&mut self.form);
        self
    }

    /// The severity score (default: none computed).
    pub fn severity(mut self, score: Option<f64>) -> Self {
        self.severity = score;
        self
    }

    /// The follow-up secret (default: a fresh random one).
    pub fn follow_up_code(mut self, code: &str) -> Self {
        self.follow_up_code = Some(code.to_owned());
        self
    }

    /// When it was filed, `YYYY-MM-DD HH:MM:SS` (default: now).
    pub fn created(mut self, at: &str) -> Self {
        self.created = Some(at.to_owned());
        self
    }

    pub fn validated(mut self, at: Option<&str>) -> Self {
        self.validated = at.map(str::to_owned);
        self
    }

    pub fn closed(mut self, at: Option<&str>) -> Self {
        self.closed = at.map(str::to_owned);
        self
    }

    /// Refused for this reason (on the day it was filed).
    pub fn refusal_reason(mut self, reason: Option<&str>) -> Self {
        self.refusal_reason = reason.map(str::to_owned);
        self
    }

    pub fn closure_reason(mut self, reason: Option<&str>) -> Self {
        self.closure_reason = reason.map(str::to_owned);
        self
    }

    /// Geocoded at this point (default: not geocoded).
    pub fn location(mut self, latitude: f64, longitude: f64) -> Self {
        self.location = Some((latitude, longitude));
        self
    }

    /// Assigned to the partner, the assignment in that status (`nouveau`,
    /// `en_cours`, `refuse`, `ferme`), answered now unless `nouveau`.
    pub fn assigned_to(self, partner_id: u64, status: &str) -> Self {
        self.assigned_to_answered(partner_id, status, None)
    }

    /// Assigned to the partner, who answered at that time.
    pub fn assigned_to_answered(
        mut self,
        partner_id: u64,
        status: &str,
        answered: Option<&str>,
    ) -> Self {
        self.assignments.push(Assignment {
            partner_id,
            status: status.to_owned(),
            answered: answered.map(str::to_owned),
        });
        self
    }

    /// The defects (ids of `defect_precisions`) the resident ticked.
    pub fn with_defects(mut self, precision_ids: &[u32]) -> Self {
        self.defects.extend_from_slice(precision_ids);
        self
    }

    /// Writes the case, its defects and its assignments in one transaction.
    pub async fn create(self, app: &TestApp) -> Case {
        let uuid = uuid::Uuid::new_v4().to_string();
        let follow_up_code = self
            .follow_up_code
            .clone()
            .unwrap_or_else(|| format!("{:0>43}", uuid.replace('-', "")));
        let reference = self
            .reference
            .clone()
            .unwrap_or_else(|| format!("T-{}", &uuid[..8]));
        let mut tx = app.db.begin().await.expect("begin");
        let territory_id = db::seed::territory_id(&mut tx, &self.territory)
            .await
            .unwrap_or_else(|e| panic!("territory {}: {e}", self.territory));
        let severity = self.severity.unwrap_or(0.0);
        let id = db::reports::insert(
            &mut tx,
            &NewReport {
                uuid: &uuid,
                territory_id,
                reference: &reference,
                status: &self.status,
                follow_up_code: &follow_up_code,
                severity_score: severity,
                severity_score_raw: severity,
                severity_building: 0.0,
                severity_dwelling: 0.0,
                form: &self.form,
            },
        )
        .await
        .expect("insert case");
        // The case's past (see the module doc): known dates and position
        // instead of "now" and the geocoder's answer.
        sqlx::query(
            "UPDATE reports SET created_at = COALESCE(?, created_at), validated_at = ?, closed_at = ?,
                refused_at = IF(? IS NULL, NULL, COALESCE(?, created_at)), refusal_reason = ?,
                closure_reason = ?, latitude = ?, longitude = ?, severity_score = ?, severity_score_raw = ?
             WHERE id = ?",
        )
        .bind(self.created.as_deref().map(datetime))
        .bind(self.validated.as_deref().map(datetime))
        .bind(self.closed.as_deref().map(datetime))
        .bind(self.refusal_reason.as_deref())
        .bind(self.created.as_deref().map(datetime))
        .bind(self.refusal_reason.as_deref())
        .bind(self.closure_reason.as_deref())
        .bind(self.location.map(|(lat, _)| lat))
        .bind(self.location.map(|(_, lon)| lon))
        .bind(self.severity)
        .bind(self.severity)
        .bind(id)
        .execute(&mut *tx)
        .await
        .expect("date the case");
        for precision in &self.defects {
            db::reports::insert_defect(&mut tx, id, *precision)
                .await
                .expect("insert defect");
        }
        let now = time::OffsetDateTime::now_utc();
        let now = PrimitiveDateTime::new(now.date(), now.time());
        for a in &self.assignments {
            let at = a.answered.as_deref().map_or(now, datetime);
            db::seed::insert_assignment(
                &mut tx,
                id,
                a.partner_id,
                assignment_status(&a.status),
                at,
            )
            .await
            .expect("insert assignment");
        }
        tx.commit().await.expect("commit case");
        Case {
            id,
            uuid,
            reference,
            follow_up_code,
        }
    }
}

/// A back-office account, made as the user screens make it
/// (`db::users::insert`, then its status and memberships).
#[must_use]
pub struct UserBuilder {
    email: String,
    first_name: String,
    last_name: String,
    role: String,
    status: String,
    memberships: Vec<(u64, u32)>,
}

impl UserBuilder {
    /// An active agent with no partner.
    pub fn new(email: &str) -> Self {
        Self {
            email: email.to_owned(),
            first_name: "Agent".into(),
            last_name: "Test".into(),
            role: "agent".into(),
            status: "active".into(),
            memberships: Vec::new(),
        }
    }

    pub fn name(mut self, first_name: &str, last_name: &str) -> Self {
        self.first_name = first_name.to_owned();
        self.last_name = last_name.to_owned();
        self
    }

    /// `agent`, `partner_admin`, `territory_admin`, `super_admin`.
    pub fn role(mut self, role: &str) -> Self {
        self.role = role.to_owned();
        self
    }

    /// `active`, `inactive` (not activated yet), `archived`.
    pub fn status(mut self, status: &str) -> Self {
        self.status = status.to_owned();
        self
    }

    /// Member of that partner in that territory.
    pub fn member_of(mut self, partner_id: u64, territory_id: u32) -> Self {
        self.memberships.push((partner_id, territory_id));
        self
    }

    /// Returns the user's id.
    pub async fn create(self, app: &TestApp) -> u64 {
        let mut tx = app.db.begin().await.expect("begin");
        let id = db::users::insert(
            &mut tx,
            &db::users::NewUser {
                email: &self.email,
                first_name: &self.first_name,
                last_name: &self.last_name,
                job_title: None,
                role: &self.role,
            },
        )
        .await
        .expect("insert user");
        if self.status != "inactive" {
            db::users::set_status(&mut tx, id, &self.status)
                .await
                .expect("user status");
            // An active account was activated, which accepts the current
            // terms of use (docs/terms.md §3).
            db::terms::accept(
                &mut tx,
                id,
                histologe::domain::terms::Audience::Agents.current().code,
            )
            .await
            .expect("terms accepted");
        }
        for (partner, territory) in &self.memberships {
            db::users::add_membership(&mut tx, id, *partner, *territory)
                .await
                .expect("membership");
        }
        tx.commit().await.expect("commit user");
        id
    }
}

/// A partner with only a name and a type, as the partner screen makes it.
pub async fn create_partner(app: &TestApp, territory_id: u32, name: &str, kind: &str) -> u64 {
    let mut conn = app.db.acquire().await.expect("connection");
    db::partners::insert(
        &mut conn,
        &db::partners::PartnerFields {
            territory_id,
            name,
            partner_type: kind,
            competences: &[],
            email: None,
            email_notifiable: true,
            is_archived: false,
            esabora_kind: None,
            esabora_url: None,
            esabora_token: None,
            webhook_url: None,
            webhook_secret: None,
        },
    )
    .await
    .expect("insert partner")
}

/// The id of a territory by its code (`69A`, `13`).
/// A stored assignment status the tests name by its code.
fn assignment_status(code: &str) -> histologe::domain::case::AssignmentStatus {
    histologe::domain::case::AssignmentStatus::parse(code)
        .unwrap_or_else(|| panic!("unknown assignment status {code}"))
}

pub async fn territory_id(app: &TestApp, code: &str) -> u32 {
    let mut conn = app.db.acquire().await.expect("connection");
    db::seed::territory_id(&mut conn, code)
        .await
        .unwrap_or_else(|e| panic!("territory {code}: {e}"))
}

/// Assigns an existing case to a partner, the assignment in that status
/// (answered now unless `nouveau`). Returns the assignment's id.
pub async fn assign(app: &TestApp, report_id: u64, partner_id: u64, status: &str) -> u64 {
    assign_at(app, report_id, partner_id, status, None).await
}

/// [`assign`], the partner having answered at `answered` (default: now).
pub async fn assign_at(
    app: &TestApp,
    report_id: u64,
    partner_id: u64,
    status: &str,
    answered: Option<&str>,
) -> u64 {
    let now = time::OffsetDateTime::now_utc();
    let at = answered.map_or(PrimitiveDateTime::new(now.date(), now.time()), datetime);
    let mut conn = app.db.acquire().await.expect("connection");
    db::seed::insert_assignment(
        &mut conn,
        report_id,
        partner_id,
        assignment_status(status),
        at,
    )
    .await
    .expect("insert assignment");
    sqlx::query_scalar("SELECT id FROM assignments WHERE report_id = ? AND partner_id = ?")
        .bind(report_id)
        .bind(partner_id)
        .fetch_one(&mut *conn)
        .await
        .expect("assignment id")
}
