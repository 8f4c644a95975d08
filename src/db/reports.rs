//! Queries on reports (signalements).

use super::Pool;

/// How many reports were ever filed, read from the per-territory reference
/// counters: constant time, unlike `COUNT(*)` over a million rows.
pub async fn count_filed(pool: &Pool) -> Result<u64, sqlx::Error> {
    let total = sqlx::query_scalar!(
        "SELECT CAST(COALESCE(SUM(last_number), 0) AS UNSIGNED) AS `total!: u64` FROM report_reference_counters"
    )
    .fetch_one(pool)
    .await?;
    Ok(total)
}

use sqlx::{MySql, MySqlConnection, encode::IsNull, error::BoxDynError, types::Json};

use crate::domain::case::ReportStatus;
use crate::domain::report::{address::Commune, form::DeclarantProfile, submission::Submission};

// `reports.declarant_profile` / `occupant_profile` are written from the
// domain's enum under its one code.
impl sqlx::Type<MySql> for DeclarantProfile {
    fn type_info() -> sqlx::mysql::MySqlTypeInfo {
        <str as sqlx::Type<MySql>>::type_info()
    }
    fn compatible(ty: &sqlx::mysql::MySqlTypeInfo) -> bool {
        <str as sqlx::Type<MySql>>::compatible(ty)
    }
}

impl sqlx::Encode<'_, MySql> for DeclarantProfile {
    fn encode_by_ref(&self, buf: &mut Vec<u8>) -> Result<IsNull, BoxDynError> {
        <&str as sqlx::Encode<MySql>>::encode(self.code(), buf)
    }
}

// Read back as the enum: a stored code that is none of its codes is a
// decode error, not a silent default.
impl<'r> sqlx::Decode<'r, MySql> for DeclarantProfile {
    fn decode(value: sqlx::mysql::MySqlValueRef<'r>) -> Result<Self, BoxDynError> {
        let raw = <&str as sqlx::Decode<MySql>>::decode(value)?;
        DeclarantProfile::parse(raw)
            .ok_or_else(|| format!("unknown declarant profile {raw:?}").into())
    }
}

/// A commune of the reference table with its territory's opening state.
pub struct CommuneRow {
    pub insee_code: String,
    pub postal_code: String,
    pub name: String,
    pub territory_id: u32,
    pub territory_code: String,
    pub territory_active: bool,
    pub authorized_insee_codes: Option<Json<Vec<String>>>,
}

/// The communes with this postal code.
pub async fn communes_by_postal_code(
    pool: &Pool,
    postal_code: &str,
) -> Result<Vec<CommuneRow>, sqlx::Error> {
    sqlx::query_as!(
        CommuneRow,
        "SELECT c.insee_code, c.postal_code, c.name, c.territory_id, t.code AS territory_code,
                t.is_active AS `territory_active: bool`,
                t.authorized_insee_codes AS `authorized_insee_codes: Json<Vec<String>>`
         FROM communes c JOIN territories t ON t.id = c.territory_id
         WHERE c.postal_code = ? ORDER BY c.name",
        postal_code
    )
    .fetch_all(pool)
    .await
}

/// The communes with this postal code, as the address check reads them.
pub async fn communes(pool: &Pool, postal_code: &str) -> Result<Vec<Commune>, sqlx::Error> {
    Ok(communes_by_postal_code(pool, postal_code)
        .await?
        .into_iter()
        .map(|c| Commune {
            insee_code: c.insee_code,
            name: c.name,
            territory_id: c.territory_id,
            territory_active: c.territory_active,
            authorized_insee_codes: c.authorized_insee_codes.map(|j| j.0).unwrap_or_default(),
        })
        .collect())
}

/// The next reference number of a territory for a year, race-free: the
/// upsert locks the counter row until commit, and `LAST_INSERT_ID(expr)`
/// hands this connection the value it wrote.
pub async fn next_reference_number(
    conn: &mut MySqlConnection,
    territory_id: u32,
    year: u16,
) -> Result<u64, sqlx::Error> {
    sqlx::query!(
        "INSERT INTO report_reference_counters (territory_id, year, last_number)
         VALUES (?, ?, LAST_INSERT_ID(1))
         ON DUPLICATE KEY UPDATE last_number = LAST_INSERT_ID(last_number + 1)",
        territory_id,
        year
    )
    .execute(conn)
    .await
    .map(|done| done.last_insert_id())
}

/// What a new report needs besides the form's columns.
pub struct NewReport<'a> {
    pub uuid: &'a str,
    pub territory_id: u32,
    pub reference: &'a str,
    pub status: &'a str,
    pub follow_up_code: &'a str,
    pub severity_score: f64,
    pub severity_score_raw: f64,
    pub severity_building: f64,
    pub severity_dwelling: f64,
    pub form: &'a Submission,
}

pub async fn insert(conn: &mut MySqlConnection, r: &NewReport<'_>) -> Result<u64, sqlx::Error> {
    let s = r.form;
    let result = sqlx::query!(
        "INSERT INTO reports (
            uuid, territory_id, reference, status, declarant_profile, occupant_profile, is_public_housing,
            creation_source,
            occupant_civility, occupant_first_name, occupant_last_name, occupant_email, occupant_phone,
            occupant_phone_secondary, occupant_birth_date,
            declarant_civility, declarant_first_name, declarant_last_name, declarant_email, declarant_phone,
            declarant_phone_secondary, declarant_structure, declarant_link,
            landlord_kind, landlord_name, landlord_first_name, landlord_email, landlord_phone,
            landlord_address, landlord_postal_code, landlord_city,
            dwelling_type, dwelling_type_other, dwelling_surface, dwelling_rooms, dwelling_is_single_room,
            dwelling_is_ground_floor, dwelling_is_top_floor, dwelling_is_attic_without_window,
            dwelling_is_basement_without_window, dwelling_has_room_9m2, dwelling_has_kitchen,
            dwelling_kitchen_shared, dwelling_has_bathroom, dwelling_bathroom_shared, dwelling_has_wc,
            dwelling_wc_shared, dwelling_wc_in_kitchen, dwelling_occupants_count, dwelling_children_count,
            dwelling_children_under_6, dwelling_move_in_date, dwelling_has_lease, dwelling_has_inventory,
            dwelling_has_dpe, dwelling_dpe_class, dwelling_dpe_period, dwelling_tax_id,
            household_housing_allowance, household_allowance_fund, household_allowance_number,
            household_allowance_amount, household_wants_to_leave, household_notice_given,
            household_wants_rehousing, household_social_worker, household_social_worker_structure,
            household_rsa, household_fsl, dwelling_rent, dwelling_floors, dwelling_construction_year,
            procedure_landlord_informed, procedure_landlord_informed_at, procedure_landlord_informed_how,
            procedure_landlord_answer, procedure_claim_number, procedure_insurer_contacted,
            procedure_insurer_answer, procedure_stay_after_works,
            defects_zone, defects_onset, defects_seen_by_declarant, consents, details, extra,
            address_line, address_complement, floor, staircase, door, postal_code, city, insee_code,
            severity_score, severity_score_raw, severity_building, severity_dwelling, follow_up_code
         ) VALUES (
            ?, ?, ?, ?, ?, ?, ?, 'form',
            ?, ?, ?, ?, ?, ?, ?,
            ?, ?, ?, ?, ?, ?, ?, ?,
            ?, ?, ?, ?, ?, ?, ?, ?,
            ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?,
            ?, ?, ?, ?, ?, ?, ?, ?, ?,
            ?, ?, ?, ?, ?,
            ?, ?, ?, ?, ?, ?, ?, ?,
            ?, ?, ?, ?, ?, ?,
            ?, ?, ?, ?, ?, ?, ?, ?,
            ?, ?, ?, ?, ?
         )",
        r.uuid,
        r.territory_id,
        r.reference,
        r.status,
        s.declarant_profile,
        s.occupant_profile,
        s.is_public_housing,
        s.occupant_civility,
        s.occupant_first_name,
        s.occupant_last_name,
        s.occupant_email,
        s.occupant_phone,
        s.occupant_phone_secondary,
        s.occupant_birth_date,
        s.declarant_civility,
        s.declarant_first_name,
        s.declarant_last_name,
        s.declarant_email,
        s.declarant_phone,
        s.declarant_phone_secondary,
        s.declarant_structure,
        s.declarant_link,
        s.landlord_kind,
        s.landlord_name,
        s.landlord_first_name,
        s.landlord_email,
        s.landlord_phone,
        s.landlord_address,
        s.landlord_postal_code,
        s.landlord_city,
        s.dwelling_type,
        s.dwelling_type_other,
        s.dwelling_surface,
        s.dwelling_rooms,
        s.dwelling_is_single_room,
        s.dwelling_is_ground_floor,
        s.dwelling_is_top_floor,
        s.dwelling_is_attic_without_window,
        s.dwelling_is_basement_without_window,
        s.dwelling_has_room_9m2,
        s.dwelling_has_kitchen,
        s.dwelling_kitchen_shared,
        s.dwelling_has_bathroom,
        s.dwelling_bathroom_shared,
        s.dwelling_has_wc,
        s.dwelling_wc_shared,
        s.dwelling_wc_in_kitchen,
        s.dwelling_occupants_count,
        s.dwelling_children_count,
        s.dwelling_children_under_6,
        s.dwelling_move_in_date,
        s.dwelling_has_lease,
        s.dwelling_has_inventory,
        s.dwelling_has_dpe,
        s.dwelling_dpe_class,
        s.dwelling_dpe_period,
        s.dwelling_tax_id,
        s.household_housing_allowance,
        s.household_allowance_fund,
        s.household_allowance_number,
        s.household_allowance_amount,
        s.household_wants_to_leave,
        s.household_notice_given,
        s.household_wants_rehousing,
        s.household_social_worker,
        s.household_social_worker_structure,
        s.household_rsa,
        s.household_fsl,
        s.dwelling_rent,
        s.dwelling_floors,
        s.dwelling_construction_year,
        s.procedure_landlord_informed,
        s.procedure_landlord_informed_at,
        s.procedure_landlord_informed_how,
        s.procedure_landlord_answer,
        s.procedure_claim_number,
        s.procedure_insurer_contacted,
        s.procedure_insurer_answer,
        s.procedure_stay_after_works,
        s.defects_zone,
        s.defects_onset,
        s.defects_seen_by_declarant,
        Json(&s.consents),
        s.details,
        Json(&s.extra),
        s.address_line,
        s.address_complement,
        s.floor,
        s.staircase,
        s.door,
        s.postal_code,
        s.city,
        s.insee_code,
        r.severity_score,
        r.severity_score_raw,
        r.severity_building,
        r.severity_dwelling,
        r.follow_up_code
    )
    .execute(conn)
    .await?;
    Ok(result.last_insert_id())
}

/// Gives a report its final reference (see [`next_reference_number`]).
pub async fn set_reference(
    conn: &mut MySqlConnection,
    report_id: u64,
    reference: &str,
) -> Result<(), sqlx::Error> {
    sqlx::query!(
        "UPDATE reports SET reference = ? WHERE id = ?",
        reference,
        report_id
    )
    .execute(conn)
    .await?;
    Ok(())
}

pub async fn insert_defect(
    conn: &mut MySqlConnection,
    report_id: u64,
    precision_id: u32,
) -> Result<(), sqlx::Error> {
    sqlx::query!(
        "INSERT IGNORE INTO report_defects (report_id, precision_id) VALUES (?, ?)",
        report_id,
        precision_id
    )
    .execute(conn)
    .await?;
    Ok(())
}

pub async fn insert_qualification(
    conn: &mut MySqlConnection,
    report_id: u64,
    qualification: &str,
    status: &str,
    precision_codes: &[String],
) -> Result<(), sqlx::Error> {
    sqlx::query!(
        "INSERT INTO report_qualifications (report_id, qualification, is_post_visit, status, precision_codes)
         VALUES (?, ?, FALSE, ?, ?)",
        report_id,
        qualification,
        status,
        Json(precision_codes)
    )
    .execute(conn)
    .await?;
    Ok(())
}

/// E-mail addresses of the active territory admins of a territory.
pub async fn territory_admin_emails(
    conn: &mut MySqlConnection,
    territory_id: u32,
) -> Result<Vec<String>, sqlx::Error> {
    sqlx::query_scalar!(
        "SELECT DISTINCT u.email FROM users u JOIN user_partners up ON up.user_id = u.id
         WHERE u.role = 'territory_admin' AND u.status = 'active' AND up.territory_id = ?
         ORDER BY u.email",
        territory_id
    )
    .fetch_all(conn)
    .await
}

/// What the resident's follow-up space shows of a report.
pub struct ResidentReport {
    pub id: u64,
    pub uuid: String,
    pub territory_id: u32,
    pub reference: String,
    pub status: ReportStatus,
    pub declarant_profile: String,
    pub occupant_first_name: Option<String>,
    pub occupant_last_name: Option<String>,
    pub occupant_email: Option<String>,
    pub declarant_first_name: Option<String>,
    pub declarant_last_name: Option<String>,
    pub declarant_email: Option<String>,
    pub address_line: String,
    pub postal_code: String,
    pub city: String,
    pub follow_up_code: String,
    pub created_at: time::PrimitiveDateTime,
    pub closed_at: Option<time::PrimitiveDateTime>,
}

pub async fn find_by_follow_up_code(
    pool: &Pool,
    code: &str,
) -> Result<Option<ResidentReport>, sqlx::Error> {
    sqlx::query_as!(
        ResidentReport,
        "SELECT id, uuid, territory_id, reference, status AS `status: ReportStatus`, declarant_profile,
                occupant_first_name, occupant_last_name, occupant_email,
                declarant_first_name, declarant_last_name, declarant_email,
                address_line, postal_code, city, follow_up_code AS `follow_up_code: String`, created_at, closed_at
         FROM reports WHERE follow_up_code = ? AND status <> ?",
        code,
        ReportStatus::Archived
    )
    .fetch_optional(pool)
    .await
}

pub async fn find_for_resident(
    pool: &Pool,
    id: u64,
) -> Result<Option<ResidentReport>, sqlx::Error> {
    sqlx::query_as!(
        ResidentReport,
        "SELECT id, uuid, territory_id, reference, status AS `status: ReportStatus`, declarant_profile,
                occupant_first_name, occupant_last_name, occupant_email,
                declarant_first_name, declarant_last_name, declarant_email,
                address_line, postal_code, city, follow_up_code AS `follow_up_code: String`, created_at, closed_at
         FROM reports WHERE id = ?",
        id
    )
    .fetch_optional(pool)
    .await
}

/// Reports of this occupant or declarant e-mail at this postal code, for
/// the "lost my link" page.
pub async fn find_by_email_and_postal_code(
    pool: &Pool,
    email: &str,
    postal_code: &str,
) -> Result<Vec<ResidentReport>, sqlx::Error> {
    sqlx::query_as!(
        ResidentReport,
        "SELECT id, uuid, territory_id, reference, status AS `status: ReportStatus`, declarant_profile,
                occupant_first_name, occupant_last_name, occupant_email,
                declarant_first_name, declarant_last_name, declarant_email,
                address_line, postal_code, city, follow_up_code AS `follow_up_code: String`, created_at, closed_at
         FROM reports
         WHERE (occupant_email = ? OR declarant_email = ?) AND postal_code = ?
           AND status NOT IN (?, ?)
         ORDER BY id DESC LIMIT 5",
        email,
        email,
        postal_code,
        ReportStatus::Archived,
        ReportStatus::Refused
    )
    .fetch_all(pool)
    .await
}

/// Count of reports of a territory, for tests and statistics.
pub async fn count_for_territory(pool: &Pool, territory_id: u32) -> Result<i64, sqlx::Error> {
    sqlx::query_scalar!(
        "SELECT COUNT(*) FROM reports WHERE territory_id = ?",
        territory_id
    )
    .fetch_one(pool)
    .await
}

/// Reports of the last 90 days, still open, at the same address (same
/// street line, case-insensitive, and postal code) filed for the same
/// person: the same occupant e-mail (`occupant_last_name` = None), or the
/// same declarant e-mail and occupant last name (third parties).
pub async fn find_recent_duplicates(
    pool: &Pool,
    postal_code: &str,
    address_line: &str,
    email: &str,
    occupant_last_name: Option<&str>,
) -> Result<Vec<u64>, sqlx::Error> {
    let third_party = occupant_last_name.is_some();
    let last_name = occupant_last_name.unwrap_or_default();
    sqlx::query_scalar!(
        "SELECT id FROM reports
         WHERE status IN (?, ?)
           AND postal_code = ? AND LOWER(TRIM(address_line)) = LOWER(TRIM(?))
           AND created_at >= UTC_TIMESTAMP() - INTERVAL 90 DAY
           AND ((? = FALSE AND occupant_email = ?)
             OR (? = TRUE AND declarant_email = ? AND LOWER(occupant_last_name) = LOWER(?)))
         ORDER BY id DESC LIMIT 5",
        ReportStatus::NeedValidation,
        ReportStatus::Active,
        postal_code,
        address_line,
        third_party,
        email,
        third_party,
        email,
        last_name
    )
    .fetch_all(pool)
    .await
}
