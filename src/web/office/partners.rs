//! Administration of partners: name, type, competences, generic e-mail,
//! perimeter (INSEE codes), interconnection settings (Esabora, webhook,
//! Zapier push: docs/contracts.md §5).

use askama::Template;
use askama_web::WebTemplate;
use axum::{
    extract::{Path, Query, RawForm, State},
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
        partner::{COMPETENCES, PARTNER_TYPES, is_competence, is_partner_type, partner_type_label},
        permissions,
        roles::Role,
    },
    error::{AppError, AppResult},
    web::{
        forms::{FormErrors, Pagination, non_empty},
        layout::{Layout, OfficePage},
    },
};

const PER_PAGE: u32 = 25;

/// The territories an actor administers (`None` = all).
fn administered(user: &CurrentUser) -> Option<Vec<u32>> {
    (user.role != Role::SuperAdmin).then(|| user.actor.territory_ids())
}

pub struct PartnerListItem {
    pub id: u64,
    pub territory_code: String,
    pub name: String,
    pub type_label: String,
    pub email: String,
    pub is_archived: bool,
    pub users: i64,
}

#[derive(Template, WebTemplate)]
#[template(path = "pages/office/partners.html")]
pub struct PartnersPage {
    pub layout: Layout,
    pub partners: Vec<PartnerListItem>,
    pub q: String,
    pub partner_type: String,
    pub types: [(&'static str, &'static str); 18],
    pub pagination: Pagination,
    pub query_base: String,
}

#[derive(Deserialize)]
pub struct PartnersQuery {
    q: Option<String>,
    #[serde(rename = "type")]
    partner_type: Option<String>,
    page: Option<u32>,
}

pub async fn list_partners(
    State(state): State<AppState>,
    page: OfficePage,
    Query(query): Query<PartnersQuery>,
) -> AppResult<PartnersPage> {
    let q = query.q.unwrap_or_default();
    let partner_type = query
        .partner_type
        .filter(|t| is_partner_type(t))
        .unwrap_or_default();
    let scope = administered(&page.user);
    let (rows, total) = db::partners::list(
        &state.db,
        scope.as_deref(),
        &q,
        &partner_type,
        PER_PAGE,
        Pagination::offset(query.page, PER_PAGE),
    )
    .await?;
    let partners = rows
        .into_iter()
        .map(|r| PartnerListItem {
            id: r.id,
            territory_code: r.territory_code,
            name: r.name,
            type_label: partner_type_label(&r.partner_type).to_owned(),
            email: r.email.unwrap_or_default(),
            is_archived: r.is_archived,
            users: r.users,
        })
        .collect();
    let query_base = format!(
        "q={}&type={}",
        crate::web::forms::url_encode(&q),
        partner_type
    );
    Ok(PartnersPage {
        layout: page.layout,
        partners,
        q,
        partner_type,
        types: PARTNER_TYPES,
        pagination: Pagination::new(query.page, PER_PAGE, total),
        query_base,
    })
}

/// The partner form, as typed.
#[derive(Debug, Default, Clone)]
pub struct PartnerForm {
    pub territory_id: String,
    pub name: String,
    pub partner_type: String,
    pub competences: Vec<String>,
    pub email: String,
    pub email_notifiable: bool,
    pub is_archived: bool,
    pub insee_codes: String,
    pub esabora_kind: String,
    pub esabora_url: String,
    pub esabora_token: String,
    pub webhook_url: String,
    pub webhook_secret: String,
    /// The Zapier catch hook (a secret too: whoever knows it can post).
    pub zapier_url: String,
    pub zapier_token: String,
    /// "Ne plus envoyer à Zapier": clears both.
    pub zapier_remove: bool,
    /// Whether a hook is stored (the form never shows it).
    pub zapier_configured: bool,
}

impl PartnerForm {
    /// Reads the urlencoded body (the competence checkboxes repeat a key,
    /// which serde's form extractor does not collect).
    fn parse(body: &[u8]) -> Self {
        let mut form = PartnerForm::default();
        for (key, value) in form_urlencoded(body) {
            match key.as_str() {
                "territory_id" => form.territory_id = value,
                "name" => form.name = value,
                "partner_type" => form.partner_type = value,
                "competences" => form.competences.push(value),
                "email" => form.email = value,
                "email_notifiable" => form.email_notifiable = true,
                "is_archived" => form.is_archived = true,
                "insee_codes" => form.insee_codes = value,
                "esabora_kind" => form.esabora_kind = value,
                "esabora_url" => form.esabora_url = value,
                "esabora_token" => form.esabora_token = value,
                "webhook_url" => form.webhook_url = value,
                "webhook_secret" => form.webhook_secret = value,
                "zapier_url" => form.zapier_url = value,
                "zapier_token" => form.zapier_token = value,
                "zapier_remove" => form.zapier_remove = true,
                _ => {}
            }
        }
        form
    }

    pub fn has_competence(&self, code: &str) -> bool {
        self.competences.iter().any(|c| c == code)
    }
}

fn form_urlencoded(body: &[u8]) -> Vec<(String, String)> {
    serde_urlencoded::from_bytes::<Vec<(String, String)>>(body).unwrap_or_default()
}

/// What is wrong with a partner URL, if anything: the worker's guard
/// (`integrations::guard`) would refuse it, so the admin is told now, next
/// to the field. Names are checked again on their addresses at each call.
fn partner_url_error(state: &AppState, value: &str, invalid: &'static str) -> Option<&'static str> {
    use crate::integrations::guard::{Guard, Refused};
    if value.len() > 255 || value.contains(char::is_whitespace) {
        return Some(invalid);
    }
    match Guard::from_config(&state.config).check_url(value) {
        Ok(_) => None,
        Err(Refused::Invalid) => Some(invalid),
        Err(refused) => Some(refused.form_message()),
    }
}

#[derive(Template, WebTemplate)]
#[template(path = "pages/office/partner_form.html")]
pub struct PartnerFormPage {
    pub layout: Layout,
    pub partner_id: Option<u64>,
    pub form: PartnerForm,
    pub errors: FormErrors,
    pub territories: Vec<(u32, String)>,
    pub types: [(&'static str, &'static str); 18],
    pub competences: [(&'static str, &'static str); 21],
}

async fn territory_options(state: &AppState, user: &CurrentUser) -> AppResult<Vec<(u32, String)>> {
    let rows = match administered(user) {
        None => db::territories::list(&state.db).await?,
        Some(ids) => db::territories::list_by_ids(&state.db, &ids).await?,
    };
    Ok(rows
        .into_iter()
        .map(|t| (t.id, format!("{} – {}", t.code, t.name)))
        .collect())
}

async fn form_page(
    state: &AppState,
    page: OfficePage,
    partner_id: Option<u64>,
    form: PartnerForm,
    errors: FormErrors,
) -> AppResult<PartnerFormPage> {
    Ok(PartnerFormPage {
        territories: territory_options(state, &page.user).await?,
        layout: page.layout,
        partner_id,
        form,
        errors,
        types: PARTNER_TYPES,
        competences: COMPETENCES,
    })
}

pub async fn show_new_partner(
    State(state): State<AppState>,
    page: OfficePage,
) -> AppResult<PartnerFormPage> {
    let territory_id = page
        .user
        .actor
        .territory_ids()
        .first()
        .map(ToString::to_string)
        .unwrap_or_default();
    let form = PartnerForm {
        territory_id,
        email_notifiable: true,
        ..PartnerForm::default()
    };
    form_page(&state, page, None, form, FormErrors::default()).await
}

/// Checks every field; returns the territory and the INSEE codes.
async fn validate(
    state: &AppState,
    user: &CurrentUser,
    form: &PartnerForm,
    errors: &mut FormErrors,
) -> AppResult<(u32, Vec<String>)> {
    let territory_id = form.territory_id.trim().parse::<u32>().unwrap_or(0);
    if territory_id == 0
        || db::territories::find(&state.db, territory_id)
            .await?
            .is_none()
    {
        errors.add("territory_id", "Choisissez un territoire.");
    } else if !permissions::can_manage_partner(&user.actor, territory_id) {
        errors.add(
            "territory_id",
            "Ce territoire n’est pas dans votre périmètre.",
        );
    }
    if form.name.trim().is_empty() || form.name.trim().chars().count() > 255 {
        errors.add(
            "name",
            "Indiquez le nom du partenaire (255 caractères au plus).",
        );
    }
    if !is_partner_type(&form.partner_type) {
        errors.add("partner_type", "Choisissez un type de partenaire.");
    }
    if form.competences.iter().any(|c| !is_competence(c)) {
        errors.add("competences", "Une compétence choisie est inconnue.");
    }
    if !form.email.trim().is_empty() && crate::domain::contact::Email::parse(&form.email).is_err() {
        errors.add(
            "email",
            "Saisissez une adresse électronique valide, par exemple contact@ville.fr.",
        );
    }
    let mut codes: Vec<String> = form
        .insee_codes
        .split(|c: char| c == ',' || c == ';' || c.is_whitespace())
        .map(|c| c.trim().to_uppercase())
        .filter(|c| !c.is_empty())
        .collect();
    codes.sort();
    codes.dedup();
    if let Some(bad) = codes
        .iter()
        .find(|c| crate::domain::contact::InseeCode::parse(c).is_err())
    {
        errors.add(
            "insee_codes",
            format!("« {bad} » n’est pas un code INSEE (5 caractères, par exemple 69123)."),
        );
    } else if errors.get("territory_id").is_none() {
        let unknown = db::territories::unknown_insee_codes(&state.db, territory_id, &codes).await?;
        if !unknown.is_empty() {
            errors.add(
                "insee_codes",
                format!(
                    "Code INSEE inconnu dans ce territoire : {}.",
                    unknown.join(", ")
                ),
            );
        }
    }
    if !matches!(form.esabora_kind.as_str(), "" | "schs" | "sish") {
        errors.add("esabora_kind", "Choisissez SCHS, SI-SH ou aucun.");
    }
    if !form.esabora_kind.is_empty() {
        if let Some(error) = partner_url_error(
            state,
            form.esabora_url.trim(),
            "Indiquez l’adresse du service Esabora (https://…).",
        ) {
            errors.add("esabora_url", error);
        }
        if form.esabora_token.trim().is_empty() {
            errors.add("esabora_token", "Indiquez le jeton d’accès Esabora.");
        } else if form.esabora_token.trim().chars().count() > MAX_SECRET_CHARS {
            errors.add(
                "esabora_token",
                "Le jeton ne doit pas dépasser 500 caractères.",
            );
        }
    }
    if !form.webhook_url.trim().is_empty() {
        if let Some(error) = partner_url_error(
            state,
            form.webhook_url.trim(),
            "Indiquez une adresse https://… valide.",
        ) {
            errors.add("webhook_url", error);
        }
        let length = form.webhook_secret.trim().chars().count();
        if !(16..=MAX_SECRET_CHARS).contains(&length) {
            errors.add(
                "webhook_secret",
                "Le secret de signature doit contenir de 16 à 500 caractères.",
            );
        }
    }
    // The Zapier push needs both its hook and its token (docs/contracts.md
    // §5); the hook is an outbound URL like the others (SSRF guard).
    let (zapier_url, zapier_token) = (form.zapier_url.trim(), form.zapier_token.trim());
    let zapier_typed = !zapier_url.is_empty() || !zapier_token.is_empty();
    if zapier_typed && !form.zapier_remove {
        if zapier_url.is_empty() {
            errors.add(
                "zapier_url",
                "Indiquez l’adresse du déclencheur Zapier (https://…).",
            );
        } else if let Some(error) = partner_url_error(
            state,
            zapier_url,
            "Indiquez l’adresse du déclencheur Zapier (https://…).",
        ) {
            errors.add("zapier_url", error);
        }
        if zapier_token.is_empty() {
            errors.add("zapier_token", "Indiquez le jeton attendu par Zapier.");
        } else if zapier_token.len() > MAX_SECRET_CHARS {
            errors.add(
                "zapier_token",
                "Le jeton ne doit pas dépasser 500 caractères.",
            );
        }
    }
    // The fields of an unused integration are stored as typed: whatever the
    // choice, none may be longer than its column (a 422 on the field, not
    // the database's refusal; see docs/input-validation.md).
    // Secrets are counted in bytes: sealed (nonce, tag, base64) 500 bytes
    // fit their VARCHAR(1024), 500 four-byte characters would not.
    for (field, value, max, bytes) in [
        ("esabora_url", &form.esabora_url, MAX_URL_CHARS, false),
        ("webhook_url", &form.webhook_url, MAX_URL_CHARS, false),
        ("esabora_token", &form.esabora_token, MAX_SECRET_CHARS, true),
        (
            "webhook_secret",
            &form.webhook_secret,
            MAX_SECRET_CHARS,
            true,
        ),
    ] {
        let value = value.trim();
        let length = if bytes {
            value.len()
        } else {
            value.chars().count()
        };
        if length > max {
            errors.add(
                field,
                format!("Ce champ ne doit pas dépasser {max} caractères."),
            );
        }
    }
    Ok((territory_id, codes))
}

/// The longest secret the form takes: encrypted, it fits the 1024
/// characters of its column (`crate::secrets`).
const MAX_SECRET_CHARS: usize = 500;
/// The partner URL columns (`VARCHAR(255)`).
const MAX_URL_CHARS: usize = 255;

/// The form's secrets, encrypted for storage (`crate::secrets`).
struct SealedSecrets {
    esabora_token: Option<String>,
    webhook_secret: Option<String>,
    zapier_url: Option<String>,
    zapier_token: Option<String>,
}

fn seal(state: &AppState, form: &PartnerForm) -> SealedSecrets {
    use crate::secrets::{Column, Secrets};
    let secrets = Secrets::from_config(&state.config);
    let seal = |column: Column, value: &str| {
        let value = value.trim();
        (!value.is_empty()).then(|| secrets.encrypt(column, value))
    };
    SealedSecrets {
        esabora_token: seal(Column::EsaboraToken, &form.esabora_token),
        webhook_secret: seal(Column::WebhookSecret, &form.webhook_secret),
        zapier_url: seal(Column::ZapierUrl, &form.zapier_url).filter(|_| !form.zapier_remove),
        zapier_token: seal(Column::ZapierToken, &form.zapier_token).filter(|_| !form.zapier_remove),
    }
}

fn fields<'a>(
    territory_id: u32,
    form: &'a PartnerForm,
    email: &'a Option<String>,
    sealed: &'a SealedSecrets,
) -> db::partners::PartnerFields<'a> {
    let opt = |s: &'a String| -> Option<&'a str> {
        let t = s.trim();
        (!t.is_empty()).then_some(t)
    };
    db::partners::PartnerFields {
        territory_id,
        name: form.name.trim(),
        partner_type: &form.partner_type,
        competences: &form.competences,
        email: email.as_deref(),
        email_notifiable: form.email_notifiable,
        is_archived: form.is_archived,
        esabora_kind: opt(&form.esabora_kind),
        esabora_url: opt(&form.esabora_url),
        esabora_token: sealed.esabora_token.as_deref(),
        webhook_url: opt(&form.webhook_url),
        webhook_secret: sealed.webhook_secret.as_deref(),
    }
}

pub async fn create_partner(
    State(state): State<AppState>,
    origin: RequestOrigin,
    page: OfficePage,
    RawForm(body): RawForm,
) -> AppResult<Response> {
    let form = PartnerForm::parse(&body);
    let mut errors = FormErrors::default();
    let (territory_id, codes) = validate(&state, &page.user, &form, &mut errors).await?;
    if !errors.is_empty() {
        let view = form_page(&state, page, None, form, errors).await?;
        return Ok((StatusCode::UNPROCESSABLE_ENTITY, view).into_response());
    }
    let email = non_empty(&form.email).map(|e| e.to_lowercase());
    let mut tx = state.db.begin().await?;
    let sealed = seal(&state, &form);
    let id = db::partners::insert(&mut tx, &fields(territory_id, &form, &email, &sealed)).await?;
    db::partners::replace_insee_codes(&mut tx, id, &codes).await?;
    db::partners::set_zapier(
        &mut tx,
        id,
        sealed.zapier_url.as_deref(),
        sealed.zapier_token.as_deref(),
    )
    .await?;
    db::audit::record(
        &mut tx,
        &db::audit::NewEvent {
            actor_user_id: Some(page.user.id),
            actor_email: Some(&page.user.email),
            action: "create",
            entity_type: "partner",
            entity_id: Some(id.to_string()),
            report_id: None,
            ip: origin.ip,
            user_agent: origin.user_agent.as_deref(),
            diff: Some(domain::audit::created(&[
                ("name", form.name.trim().to_owned()),
                ("type", form.partner_type.clone()),
                ("territory_id", territory_id.to_string()),
                ("competences", form.competences.join(",")),
                ("insee_codes", codes.join(",")),
            ])),
        },
    )
    .await?;
    tx.commit().await?;
    Ok(Redirect::to(&format!("/bo/partenaires/{id}?ok=partenaire-cree")).into_response())
}

/// Loads a partner the actor may manage (404 unknown, 403 outside scope).
async fn load_managed(
    state: &AppState,
    user: &CurrentUser,
    id: u64,
) -> AppResult<db::partners::PartnerRow> {
    let partner = db::partners::find(&state.db, id)
        .await?
        .ok_or(AppError::NotFound)?;
    if !permissions::can_manage_partner(&user.actor, partner.territory_id) {
        return Err(AppError::Forbidden);
    }
    Ok(partner)
}

fn form_of(partner: &db::partners::PartnerRow, codes: &[String]) -> PartnerForm {
    PartnerForm {
        territory_id: partner.territory_id.to_string(),
        name: partner.name.clone(),
        partner_type: partner.partner_type.clone(),
        competences: partner.competences.0.clone(),
        email: partner.email.clone().unwrap_or_default(),
        email_notifiable: partner.email_notifiable,
        is_archived: partner.is_archived,
        insee_codes: codes.join(", "),
        esabora_kind: partner.esabora_kind.clone().unwrap_or_default(),
        esabora_url: partner.esabora_url.clone().unwrap_or_default(),
        esabora_token: partner.esabora_token.clone().unwrap_or_default(),
        webhook_url: partner.webhook_url.clone().unwrap_or_default(),
        webhook_secret: partner.webhook_secret.clone().unwrap_or_default(),
        zapier_url: partner.zapier_url.clone().unwrap_or_default(),
        zapier_token: partner.zapier_token.clone().unwrap_or_default(),
        zapier_remove: false,
        zapier_configured: partner.zapier_url.is_some() && partner.zapier_token.is_some(),
    }
}

pub async fn show_partner(
    State(state): State<AppState>,
    page: OfficePage,
    Path(id): Path<u64>,
) -> AppResult<PartnerFormPage> {
    let partner = load_managed(&state, &page.user, id).await?;
    let codes = db::partners::insee_codes(&state.db, id).await?;
    form_page(
        &state,
        page,
        Some(id),
        form_of(&partner, &codes),
        FormErrors::default(),
    )
    .await
}

pub async fn update_partner(
    State(state): State<AppState>,
    origin: RequestOrigin,
    page: OfficePage,
    Path(id): Path<u64>,
    RawForm(body): RawForm,
) -> AppResult<Response> {
    let partner = load_managed(&state, &page.user, id).await?;
    let mut form = PartnerForm::parse(&body);
    // Secrets are write-only in the form: empty keeps the current one,
    // decrypted to be sealed again with the rest. One that no longer
    // decrypts (SECRET_KEY changed) counts as absent: the admin types it.
    let secrets = crate::secrets::Secrets::from_config(&state.config);
    let current = |column, stored: &Option<String>| {
        stored
            .as_deref()
            .and_then(|s| secrets.decrypt(column, s).ok())
            .unwrap_or_default()
    };
    if form.esabora_token.trim().is_empty() {
        form.esabora_token = current(crate::secrets::Column::EsaboraToken, &partner.esabora_token);
    }
    if form.webhook_secret.trim().is_empty() {
        form.webhook_secret = current(
            crate::secrets::Column::WebhookSecret,
            &partner.webhook_secret,
        );
    }
    // The Zapier hook and token: both empty keeps the stored pair.
    if form.zapier_url.trim().is_empty() && form.zapier_token.trim().is_empty() {
        form.zapier_url = current(crate::secrets::Column::ZapierUrl, &partner.zapier_url);
        form.zapier_token = current(crate::secrets::Column::ZapierToken, &partner.zapier_token);
    }
    form.zapier_configured = partner.zapier_url.is_some() && partner.zapier_token.is_some();
    // A partner does not move between territories (its users and reports
    // belong there).
    form.territory_id = partner.territory_id.to_string();
    let mut errors = FormErrors::default();
    let (territory_id, codes) = validate(&state, &page.user, &form, &mut errors).await?;
    if !errors.is_empty() {
        let view = form_page(&state, page, Some(id), form, errors).await?;
        return Ok((StatusCode::UNPROCESSABLE_ENTITY, view).into_response());
    }
    let before_codes = db::partners::insee_codes(&state.db, id).await?;
    let before = form_of(&partner, &before_codes);
    let email = non_empty(&form.email).map(|e| e.to_lowercase());
    let mut tx = state.db.begin().await?;
    let sealed = seal(&state, &form);
    db::partners::update(&mut tx, id, &fields(territory_id, &form, &email, &sealed)).await?;
    db::partners::replace_insee_codes(&mut tx, id, &codes).await?;
    db::partners::set_zapier(
        &mut tx,
        id,
        sealed.zapier_url.as_deref(),
        sealed.zapier_token.as_deref(),
    )
    .await?;
    let secret = |s: &str| {
        if s.is_empty() {
            String::new()
        } else {
            "***".to_owned()
        }
    };
    let diff = domain::audit::diff(&[
        ("name", before.name.clone(), form.name.trim().to_owned()),
        (
            "type",
            before.partner_type.clone(),
            form.partner_type.clone(),
        ),
        (
            "competences",
            before.competences.join(","),
            form.competences.join(","),
        ),
        (
            "email",
            before.email.clone(),
            email.clone().unwrap_or_default(),
        ),
        (
            "email_notifiable",
            before.email_notifiable.to_string(),
            form.email_notifiable.to_string(),
        ),
        (
            "is_archived",
            before.is_archived.to_string(),
            form.is_archived.to_string(),
        ),
        ("insee_codes", before_codes.join(","), codes.join(",")),
        (
            "esabora_kind",
            before.esabora_kind.clone(),
            form.esabora_kind.clone(),
        ),
        (
            "esabora_url",
            before.esabora_url.clone(),
            form.esabora_url.trim().to_owned(),
        ),
        (
            "esabora_token",
            secret(&before.esabora_token),
            secret(form.esabora_token.trim()),
        ),
        (
            "webhook_url",
            before.webhook_url.clone(),
            form.webhook_url.trim().to_owned(),
        ),
        (
            "webhook_secret",
            secret(&before.webhook_secret),
            secret(form.webhook_secret.trim()),
        ),
        (
            "zapier_url",
            secret(&before.zapier_url),
            secret(sealed.zapier_url.as_deref().unwrap_or("")),
        ),
        (
            "zapier_token",
            secret(&before.zapier_token),
            secret(sealed.zapier_token.as_deref().unwrap_or("")),
        ),
    ]);
    if diff.is_some() {
        db::audit::record(
            &mut tx,
            &db::audit::NewEvent {
                actor_user_id: Some(page.user.id),
                actor_email: Some(&page.user.email),
                action: "update",
                entity_type: "partner",
                entity_id: Some(id.to_string()),
                report_id: None,
                ip: origin.ip,
                user_agent: origin.user_agent.as_deref(),
                diff,
            },
        )
        .await?;
    }
    if form.is_archived && !before.is_archived {
        // Its memberships grant nothing any more (db::users loads only
        // those of live partners): its users stop following its cases.
        db::subscriptions::prune(&mut tx, db::subscriptions::Recheck::PartnerUsers(id)).await?;
    }
    tx.commit().await?;
    Ok(Redirect::to(&format!("/bo/partenaires/{id}?ok=partenaire-modifie")).into_response())
}
