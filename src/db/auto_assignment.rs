//! Auto-assignment rules and what the simulator needs.

use sqlx::{MySqlConnection, types::Json};

use super::Pool;
use crate::domain::auto_assignment::{Candidate, ReportFacts, Rule};

pub struct RuleRow {
    pub id: u64,
    pub territory_id: u32,
    pub territory_code: String,
    pub partner_type: String,
    pub declarant_profile: String,
    pub housing_sector: String,
    pub allowance: String,
    pub insee_include: Option<Json<Vec<String>>>,
    pub insee_exclude: Option<Json<Vec<String>>>,
    pub partner_exclude: Option<Json<Vec<u64>>>,
    pub description: Option<String>,
}

impl RuleRow {
    pub fn rule(&self) -> Rule {
        Rule {
            id: self.id,
            partner_type: self.partner_type.clone(),
            declarant_profile: self.declarant_profile.clone(),
            housing_sector: self.housing_sector.clone(),
            allowance: self.allowance.clone(),
            insee_include: self
                .insee_include
                .as_ref()
                .map(|j| j.0.clone())
                .unwrap_or_default(),
            insee_exclude: self
                .insee_exclude
                .as_ref()
                .map(|j| j.0.clone())
                .unwrap_or_default(),
            partner_exclude: self
                .partner_exclude
                .as_ref()
                .map(|j| j.0.clone())
                .unwrap_or_default(),
        }
    }
}

/// Active rules of some territories (all when `None`).
pub async fn list(pool: &Pool, territory_ids: Option<&[u32]>) -> Result<Vec<RuleRow>, sqlx::Error> {
    let all = territory_ids.is_none();
    let ids = territory_ids.map(super::id_list).unwrap_or_default();
    sqlx::query_as!(
        RuleRow,
        "SELECT r.id, r.territory_id, t.code AS territory_code, r.partner_type, r.declarant_profile, r.housing_sector,
                r.allowance, r.insee_include AS `insee_include: Json<Vec<String>>`,
                r.insee_exclude AS `insee_exclude: Json<Vec<String>>`, r.partner_exclude AS `partner_exclude: Json<Vec<u64>>`,
                r.description
         FROM auto_assignment_rules r JOIN territories t ON t.id = r.territory_id
         WHERE r.status = 'active' AND (? OR FIND_IN_SET(r.territory_id, ?))
         ORDER BY t.code, r.partner_type, r.id",
        all,
        ids
    )
    .fetch_all(pool)
    .await
}

pub struct NewRule<'a> {
    pub territory_id: u32,
    pub partner_type: &'a str,
    pub declarant_profile: &'a str,
    pub housing_sector: &'a str,
    pub allowance: &'a str,
    pub insee_include: &'a [String],
    pub insee_exclude: &'a [String],
    pub description: Option<&'a str>,
}

pub async fn insert(conn: &mut MySqlConnection, r: &NewRule<'_>) -> Result<u64, sqlx::Error> {
    let result = sqlx::query!(
        "INSERT INTO auto_assignment_rules (territory_id, partner_type, declarant_profile, housing_sector, allowance,
            insee_include, insee_exclude, partner_exclude, description)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
        r.territory_id,
        r.partner_type,
        r.declarant_profile,
        r.housing_sector,
        r.allowance,
        Json(r.insee_include),
        Json(r.insee_exclude),
        Json(Vec::<u64>::new()),
        r.description
    )
    .execute(conn)
    .await?;
    Ok(result.last_insert_id())
}

pub async fn territory_of(pool: &Pool, id: u64) -> Result<Option<u32>, sqlx::Error> {
    sqlx::query_scalar!(
        "SELECT territory_id FROM auto_assignment_rules WHERE id = ? AND status = 'active'",
        id
    )
    .fetch_optional(pool)
    .await
}

pub async fn archive(conn: &mut MySqlConnection, id: u64) -> Result<(), sqlx::Error> {
    sqlx::query!(
        "UPDATE auto_assignment_rules SET status = 'archived' WHERE id = ?",
        id
    )
    .execute(conn)
    .await?;
    Ok(())
}

/// The facts the rules look at, for one report.
pub async fn report_facts(pool: &Pool, report_id: u64) -> Result<ReportFacts, sqlx::Error> {
    let row = sqlx::query!(
        "SELECT declarant_profile, is_public_housing AS `is_public_housing: bool`,
                household_housing_allowance AS `allowance: bool`, household_allowance_fund, insee_code
         FROM reports WHERE id = ?",
        report_id
    )
    .fetch_one(pool)
    .await?;
    Ok(ReportFacts {
        declarant_profile: row.declarant_profile,
        is_public_housing: row.is_public_housing,
        housing_allowance: row.allowance,
        allowance_fund: row.household_allowance_fund.map(|f| f.to_lowercase()),
        insee_code: row.insee_code.unwrap_or_default(),
    })
}

/// The active partners of a territory with their perimeters (one query).
pub async fn candidates(pool: &Pool, territory_id: u32) -> Result<Vec<Candidate>, sqlx::Error> {
    let rows = sqlx::query!(
        "SELECT p.id, p.type AS partner_type, c.insee_code AS `insee_code?`
         FROM partners p LEFT JOIN partner_insee_codes c ON c.partner_id = p.id
         WHERE p.territory_id = ? AND p.is_archived = FALSE ORDER BY p.id",
        territory_id
    )
    .fetch_all(pool)
    .await?;
    let mut out: Vec<Candidate> = Vec::new();
    for row in rows {
        match out.last_mut() {
            Some(last) if last.id == row.id => last.insee_codes.extend(row.insee_code),
            _ => out.push(Candidate {
                id: row.id,
                partner_type: row.partner_type,
                insee_codes: row.insee_code.into_iter().collect(),
            }),
        }
    }
    Ok(out)
}

/// A report of a territory by its reference, for the simulator.
pub async fn report_by_reference(
    pool: &Pool,
    territory_id: u32,
    reference: &str,
) -> Result<Option<(u64, String)>, sqlx::Error> {
    let row = sqlx::query!(
        "SELECT id, uuid FROM reports WHERE territory_id = ? AND reference = ?",
        territory_id,
        reference
    )
    .fetch_optional(pool)
    .await?;
    Ok(row.map(|r| (r.id, r.uuid)))
}
