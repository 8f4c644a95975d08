//! Auto-assignment rules of a territory (territory admins) and the
//! simulator that shows which partners the rules pick for a given report.

use askama::Template;
use askama_web::WebTemplate;
use axum::{
    Form,
    extract::{Path, Query, State},
    http::StatusCode,
    response::{IntoResponse, Redirect, Response},
};
use serde::Deserialize;

use crate::{
    app::AppState,
    auth::session::{CurrentUser, RequestOrigin},
    db,
    domain::{
        self,
        auto_assignment::{ALLOWANCES, PROFILES, SECTORS, pick},
        partner::{PARTNER_TYPES, is_partner_type, partner_type_label},
        permissions,
        roles::Role,
    },
    error::{AppError, AppResult},
    web::{
        account::audit_event,
        forms::FormErrors,
        layout::{Layout, OfficePage},
    },
};

pub struct RuleView {
    pub id: u64,
    pub territory_code: String,
    pub partner_type: String,
    pub conditions: String,
    pub description: String,
}

/// The simulator's answer.
pub struct Simulation {
    pub reference: String,
    pub uuid: String,
    pub partners: Vec<String>,
}

#[derive(Template, WebTemplate)]
#[template(path = "pages/office/auto_assignment.html")]
pub struct RulesPage {
    pub layout: Layout,
    pub rules: Vec<RuleView>,
    pub territories: Vec<(u32, String)>,
    pub types: [(&'static str, &'static str); 18],
    pub profiles: [(&'static str, &'static str); 9],
    pub sectors: [(&'static str, &'static str); 4],
    pub allowances: [(&'static str, &'static str); 6],
    pub form: RuleForm,
    pub errors: FormErrors,
    pub simulation: Option<Simulation>,
    pub simulation_error: Option<String>,
    pub sim_reference: String,
    pub sim_territory: String,
}

#[derive(Debug, Default, Clone, Deserialize)]
pub struct RuleForm {
    #[serde(default)]
    pub territory_id: String,
    #[serde(default)]
    pub partner_type: String,
    #[serde(default)]
    pub declarant_profile: String,
    #[serde(default)]
    pub housing_sector: String,
    #[serde(default)]
    pub allowance: String,
    #[serde(default)]
    pub insee_include: String,
    #[serde(default)]
    pub insee_exclude: String,
    #[serde(default)]
    pub description: String,
}

fn label<'a>(list: &'a [(&'a str, &'a str)], code: &'a str) -> &'a str {
    list.iter()
        .find(|(c, _)| *c == code)
        .map_or(code, |(_, l)| l)
}

fn scope(user: &CurrentUser) -> Option<Vec<u32>> {
    (user.role != Role::SuperAdmin).then(|| user.actor.territory_ids())
}

async fn page_of(
    state: &AppState,
    page: OfficePage,
    form: RuleForm,
    errors: FormErrors,
) -> AppResult<RulesPage> {
    let scope = scope(&page.user);
    let rules = db::auto_assignment::list(&state.db, scope.as_deref())
        .await?
        .into_iter()
        .map(|r| {
            let rule = r.rule();
            let mut conditions = vec![
                label(&PROFILES, &rule.declarant_profile).to_owned(),
                label(&SECTORS, &rule.housing_sector).to_owned(),
                label(&ALLOWANCES, &rule.allowance).to_owned(),
            ];
            if !rule.insee_include.is_empty() {
                conditions.push(format!("communes {}", rule.insee_include.join(", ")));
            }
            if !rule.insee_exclude.is_empty() {
                conditions.push(format!("sauf {}", rule.insee_exclude.join(", ")));
            }
            RuleView {
                id: r.id,
                territory_code: r.territory_code,
                partner_type: partner_type_label(&rule.partner_type).to_owned(),
                conditions: conditions.join(" · "),
                description: r.description.unwrap_or_default(),
            }
        })
        .collect();
    let territories = super::filter_options::territory_options(state, scope.as_deref()).await?;
    let sim_territory = territories
        .first()
        .map(|(id, _)| id.to_string())
        .unwrap_or_default();
    Ok(RulesPage {
        layout: page.layout,
        rules,
        territories,
        types: PARTNER_TYPES,
        profiles: PROFILES,
        sectors: SECTORS,
        allowances: ALLOWANCES,
        form,
        errors,
        simulation: None,
        simulation_error: None,
        sim_reference: String::new(),
        sim_territory,
    })
}

fn default_form(user: &CurrentUser) -> RuleForm {
    RuleForm {
        territory_id: user
            .actor
            .territory_ids()
            .first()
            .map(ToString::to_string)
            .unwrap_or_default(),
        declarant_profile: "all".into(),
        housing_sector: "all".into(),
        allowance: "all".into(),
        ..RuleForm::default()
    }
}

#[derive(Deserialize)]
pub struct SimulatorQuery {
    reference: Option<String>,
    territoire: Option<String>,
}

pub async fn list_rules(
    State(state): State<AppState>,
    page: OfficePage,
    Query(query): Query<SimulatorQuery>,
) -> AppResult<Response> {
    let form = default_form(&page.user);
    let user = page.user.clone();
    let mut view = page_of(&state, page, form, FormErrors::default()).await?;
    let Some(reference) = query
        .reference
        .map(|r| r.trim().to_owned())
        .filter(|r| !r.is_empty())
    else {
        return Ok(view.into_response());
    };
    view.sim_reference = reference.clone();
    let territory_id = query
        .territoire
        .as_deref()
        .and_then(|t| t.parse::<u32>().ok())
        .unwrap_or(0);
    view.sim_territory = territory_id.to_string();
    if !permissions::can_manage_partner(&user.actor, territory_id) {
        view.simulation_error = Some("Choisissez un territoire de votre périmètre.".into());
        return Ok((StatusCode::BAD_REQUEST, view).into_response());
    }
    let Some((report_id, uuid)) =
        db::auto_assignment::report_by_reference(&state.db, territory_id, &reference).await?
    else {
        view.simulation_error = Some(format!("Aucun signalement {reference} sur ce territoire."));
        return Ok((StatusCode::NOT_FOUND, view).into_response());
    };
    let rules: Vec<_> = db::auto_assignment::list(&state.db, Some(&[territory_id]))
        .await?
        .iter()
        .map(|r| r.rule())
        .collect();
    let facts = db::auto_assignment::report_facts(&state.db, report_id).await?;
    let candidates = db::auto_assignment::candidates(&state.db, territory_id).await?;
    let picked = pick(&rules, &facts, &candidates);
    let names = db::partners::options(&state.db, Some(&[territory_id])).await?;
    view.simulation = Some(Simulation {
        reference,
        uuid,
        partners: picked
            .iter()
            .filter_map(|id| {
                names
                    .iter()
                    .find(|(p, _, _)| p == id)
                    .map(|(_, name, _)| name.clone())
            })
            .collect(),
    });
    Ok(view.into_response())
}

fn codes(raw: &str, field: &'static str, errors: &mut FormErrors) -> Vec<String> {
    let mut codes: Vec<String> = raw
        .split(|c: char| c == ',' || c == ';' || c.is_whitespace())
        .map(|c| c.trim().to_uppercase())
        .filter(|c| !c.is_empty())
        .collect();
    if let Some(bad) = codes
        .iter()
        .find(|c| crate::domain::contact::InseeCode::parse(c).is_err())
    {
        errors.add(
            field,
            format!("« {bad} » n’est pas un code INSEE (5 caractères)."),
        );
    }
    codes.sort();
    codes.dedup();
    codes
}

pub async fn create_rule(
    State(state): State<AppState>,
    origin: RequestOrigin,
    page: OfficePage,
    Form(form): Form<RuleForm>,
) -> AppResult<Response> {
    let mut errors = FormErrors::default();
    let territory_id = form.territory_id.parse::<u32>().unwrap_or(0);
    if !permissions::can_manage_partner(&page.user.actor, territory_id) {
        errors.add(
            "territory_id",
            "Choisissez un territoire de votre périmètre.",
        );
    }
    if !is_partner_type(&form.partner_type) {
        errors.add(
            "partner_type",
            "Choisissez le type de partenaire à affecter.",
        );
    }
    if !PROFILES.iter().any(|(c, _)| *c == form.declarant_profile) {
        errors.add("declarant_profile", "Choisissez une des options proposées.");
    }
    if !SECTORS.iter().any(|(c, _)| *c == form.housing_sector) {
        errors.add("housing_sector", "Choisissez une des options proposées.");
    }
    if !ALLOWANCES.iter().any(|(c, _)| *c == form.allowance) {
        errors.add("allowance", "Choisissez une des options proposées.");
    }
    let include = codes(&form.insee_include, "insee_include", &mut errors);
    let exclude = codes(&form.insee_exclude, "insee_exclude", &mut errors);
    if form.description.chars().count() > 255 {
        errors.add("description", "255 caractères au plus.");
    }
    if !errors.is_empty() {
        let view = page_of(&state, page, form, errors).await?;
        return Ok((StatusCode::UNPROCESSABLE_ENTITY, view).into_response());
    }
    let description = crate::web::forms::non_empty(&form.description);
    let mut tx = state.db.begin().await?;
    let id = db::auto_assignment::insert(
        &mut tx,
        &db::auto_assignment::NewRule {
            territory_id,
            partner_type: &form.partner_type,
            declarant_profile: &form.declarant_profile,
            housing_sector: &form.housing_sector,
            allowance: &form.allowance,
            insee_include: &include,
            insee_exclude: &exclude,
            description: description.as_deref(),
        },
    )
    .await?;
    db::audit::record(
        &mut tx,
        &audit_event(
            Some(&page.user),
            &origin,
            "create",
            "auto_assignment_rule",
            Some(id.to_string()),
            Some(domain::audit::created(&[
                ("partner_type", form.partner_type.clone()),
                ("territory_id", territory_id.to_string()),
            ])),
        ),
    )
    .await?;
    tx.commit().await?;
    Ok(Redirect::to("/bo/regles-affectation").into_response())
}

pub async fn archive_rule(
    State(state): State<AppState>,
    origin: RequestOrigin,
    page: OfficePage,
    Path(id): Path<u64>,
) -> AppResult<Redirect> {
    let territory = db::auto_assignment::territory_of(&state.db, id)
        .await?
        .ok_or(AppError::NotFound)?;
    if !permissions::can_manage_partner(&page.user.actor, territory) {
        return Err(AppError::Forbidden);
    }
    let mut tx = state.db.begin().await?;
    db::auto_assignment::archive(&mut tx, id).await?;
    db::audit::record(
        &mut tx,
        &audit_event(
            Some(&page.user),
            &origin,
            "delete",
            "auto_assignment_rule",
            Some(id.to_string()),
            None,
        ),
    )
    .await?;
    tx.commit().await?;
    Ok(Redirect::to("/bo/regles-affectation"))
}

/// The partners the active rules pick for a report (used by validation).
pub async fn picked_partners(
    state: &AppState,
    territory_id: u32,
    report_id: u64,
) -> AppResult<Vec<u64>> {
    let rules: Vec<_> = db::auto_assignment::list(&state.db, Some(&[territory_id]))
        .await?
        .iter()
        .map(|r| r.rule())
        .collect();
    if rules.is_empty() {
        return Ok(Vec::new());
    }
    let facts = db::auto_assignment::report_facts(&state.db, report_id).await?;
    let candidates = db::auto_assignment::candidates(&state.db, territory_id).await?;
    Ok(pick(&rules, &facts, &candidates))
}
