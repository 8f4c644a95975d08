//! The reads of `/api/v1`: the account itself, the cases of its scope
//! (cursor pages), one case in full (with an ETag).
//!
//! Field names are French and follow the keys of the case exports
//! (`reference`, `territoire`, `statut`, `profil_declarant`, `nom_occupant`…,
//! `db::exports::COLUMNS`), so that a partner reading both finds the same
//! names.

use axum::{
    Extension, Json,
    extract::{Path, State},
    http::{HeaderMap, HeaderValue, StatusCode, header},
    response::{IntoResponse, Response},
};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use time::{PrimitiveDateTime, format_description::well_known::Rfc3339};
use utoipa::{IntoParams, ToSchema};

use super::{
    ApiCaller,
    problem::{ApiQuery, Problem, ProblemBody, field},
};
use crate::{
    app::AppState,
    db::{self, api::CaseQuery, case_view},
    domain::api::{
        AccountScope, DEFAULT_PAGE_SIZE, MAX_PAGE_SIZE, Permission, case_status_code,
        parse_case_status, scan_code,
    },
    web::forms::looks_like_uuid,
};

/// A UTC date-time as RFC 3339 (`2026-12-05T16:08:10Z`).
pub fn rfc3339(value: PrimitiveDateTime) -> String {
    value
        .assume_utc()
        .format(&Rfc3339)
        .unwrap_or_else(|_| value.to_string())
}

pub(super) fn rfc3339_opt(value: Option<PrimitiveDateTime>) -> Option<String> {
    value.map(rfc3339)
}

// ------------------------------------------------------------------ moi

/// Le compte API appelant.
#[derive(Debug, Serialize, ToSchema)]
pub struct Me {
    /// Identifiant du compte.
    pub identifiant: String,
    pub nom: String,
    /// Code du territoire du compte (`69A`, `13`…).
    pub territoire: String,
    /// `territoire` (tous ses signalements) ou `partenaires` (ceux qui leur sont affectés).
    pub perimetre: String,
    /// Partenaires pour lesquels le compte agit (vide pour un compte de territoire).
    pub partenaires: Vec<u64>,
    /// Parmi `lire_signalements`, `repondre_affectations`, `ecrire_suivis`, `ecrire_visites`, `ecrire_documents`.
    pub permissions: Vec<String>,
}

/// Compte appelant
///
/// Le compte API du jeton : son territoire, son périmètre et ses permissions.
#[utoipa::path(
    get,
    path = "/api/v1/moi",
    tag = "Compte",
    responses(
        (status = 200, description = "Le compte API appelant", body = Me),
        (status = 401, description = "Jeton absent, inconnu, expiré ou révoqué", body = ProblemBody, content_type = "application/problem+json"),
        (status = 429, description = "Limite de requêtes atteinte", body = ProblemBody, content_type = "application/problem+json"),
    ),
    security(("bearer" = []))
)]
pub async fn show_me(
    State(state): State<AppState>,
    Extension(caller): Extension<ApiCaller>,
) -> Result<Json<Me>, Problem> {
    let account = &caller.account;
    let territory = db::territories::find(&state.db, account.territory_id)
        .await?
        .map(|t| t.code)
        .unwrap_or_default();
    let (perimetre, partenaires) = match &account.scope {
        AccountScope::Territory(_) => ("territoire", Vec::new()),
        AccountScope::Partners(ids) => ("partenaires", ids.clone()),
    };
    Ok(Json(Me {
        identifiant: account.uuid.clone(),
        nom: account.name.clone(),
        territoire: territory,
        perimetre: perimetre.into(),
        partenaires,
        permissions: account
            .permissions
            .iter()
            .map(|p| p.code().to_owned())
            .collect(),
    }))
}

// ----------------------------------------------------------------- list

/// Filtres et pagination de la liste.
#[derive(Debug, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ListParams {
    /// Signalements par page, de 1 à 100 (30 par défaut).
    #[param(minimum = 1, maximum = 100)]
    pub limite: Option<u32>,
    /// Le `curseur_suivant` de la page précédente.
    pub curseur: Option<String>,
    /// Seulement les signalements modifiés depuis cet instant (RFC 3339).
    #[param(format = DateTime)]
    pub since: Option<String>,
    /// `nouveau`, `en_cours`, `ferme`, `refuse` ou `archive`.
    pub statut: Option<String>,
    /// Code INSEE de la commune (5 caractères).
    pub code_insee: Option<String>,
    /// Affecté (aux partenaires du compte, ou à tout partenaire pour un compte de territoire) ce jour ou après (`AAAA-MM-JJ`).
    #[param(format = Date)]
    pub date_affectation_debut: Option<String>,
    /// Affecté ce jour ou avant (`AAAA-MM-JJ`).
    #[param(format = Date)]
    pub date_affectation_fin: Option<String>,
}

/// Une affectation du signalement à un partenaire.
#[derive(Debug, Serialize, ToSchema)]
pub struct Assignment {
    /// Identifiant de l’affectation (`PATCH /api/v1/affectations/{uuid}`).
    pub uuid: String,
    pub partenaire_id: u64,
    pub partenaire: String,
    /// `nouveau`, `en_cours`, `refuse` ou `ferme`.
    pub statut: String,
    pub motif_refus: Option<String>,
    pub motif_cloture: Option<String>,
    /// Message du partenaire au refus ou à la clôture.
    pub message: Option<String>,
    pub date_affectation: String,
    pub date_reponse: Option<String>,
    pub date_cloture: Option<String>,
}

/// Un signalement dans une liste.
#[derive(Debug, Serialize, ToSchema)]
pub struct CaseSummary {
    pub uuid: String,
    pub reference: String,
    pub territoire: String,
    /// `nouveau`, `en_cours`, `ferme`, `refuse` ou `archive`.
    pub statut: String,
    pub profil_declarant: String,
    pub adresse: String,
    pub code_postal: String,
    pub ville: String,
    pub code_insee: Option<String>,
    /// Criticité, de 0 à 100.
    pub criticite: Option<f64>,
    pub date_depot: String,
    pub date_validation: Option<String>,
    pub date_cloture: Option<String>,
    /// Dernière modification du signalement lui-même.
    pub date_modification: String,
    pub affectations: Vec<Assignment>,
}

/// Une page de signalements.
#[derive(Debug, Serialize, ToSchema)]
pub struct CasePage {
    pub signalements: Vec<CaseSummary>,
    /// À renvoyer comme `curseur` pour la page suivante ; null sur la dernière page.
    pub curseur_suivant: Option<String>,
    pub limite: u32,
}

fn parse_instant(
    name: &str,
    value: &str,
    errors: &mut Vec<super::problem::FieldError>,
) -> Option<PrimitiveDateTime> {
    match time::OffsetDateTime::parse(value, &Rfc3339) {
        Ok(at) => {
            let utc = at.to_offset(time::UtcOffset::UTC);
            Some(PrimitiveDateTime::new(utc.date(), utc.time()))
        }
        Err(_) => {
            errors.push(field(
                name,
                "Date et heure attendues au format RFC 3339 (par exemple 2026-12-01T00:00:00Z).",
            ));
            None
        }
    }
}

fn parse_day(
    name: &str,
    value: &str,
    end_of_day: bool,
    errors: &mut Vec<super::problem::FieldError>,
) -> Option<PrimitiveDateTime> {
    let format = time::macros::format_description!("[year]-[month]-[day]");
    match time::Date::parse(value, &format) {
        Ok(day) => Some(if end_of_day {
            PrimitiveDateTime::new(day, time::Time::MAX)
        } else {
            PrimitiveDateTime::new(day, time::Time::MIDNIGHT)
        }),
        Err(_) => {
            errors.push(field(name, "Date attendue au format AAAA-MM-JJ."));
            None
        }
    }
}

/// Reads the parameters of the list; every wrong one is named.
fn case_query(params: &ListParams) -> Result<CaseQuery, Problem> {
    let mut errors = Vec::new();
    let limit = params.limite.unwrap_or(DEFAULT_PAGE_SIZE);
    if !(1..=MAX_PAGE_SIZE).contains(&limit) {
        errors.push(field("limite", "La limite va de 1 à 100."));
    }
    let after_id = match params.curseur.as_deref() {
        None | Some("") => 0,
        Some(cursor) => cursor.parse::<u64>().unwrap_or_else(|_| {
            errors.push(field(
                "curseur",
                "Curseur inconnu : reprenez le curseur_suivant d’une page.",
            ));
            0
        }),
    };
    let since = params
        .since
        .as_deref()
        .and_then(|v| parse_instant("since", v, &mut errors));
    let status = match params.statut.as_deref() {
        None | Some("") => None,
        Some(code) => match parse_case_status(code) {
            Some(status) => Some(status),
            None => {
                errors.push(field(
                    "statut",
                    "Statut inconnu : nouveau, en_cours, ferme, refuse ou archive.",
                ));
                None
            }
        },
    };
    let insee_code = match params.code_insee.as_deref() {
        None | Some("") => None,
        Some(code) if code.len() == 5 && code.bytes().all(|b| b.is_ascii_alphanumeric()) => {
            Some(code.to_ascii_uppercase())
        }
        Some(_) => {
            errors.push(field("code_insee", "Un code INSEE a 5 caractères."));
            None
        }
    };
    let assigned_from = params
        .date_affectation_debut
        .as_deref()
        .and_then(|v| parse_day("date_affectation_debut", v, false, &mut errors));
    let assigned_to = params
        .date_affectation_fin
        .as_deref()
        .and_then(|v| parse_day("date_affectation_fin", v, true, &mut errors));
    if !errors.is_empty() {
        return Err(Problem::invalid(errors));
    }
    Ok(CaseQuery {
        since,
        status,
        insee_code,
        assigned_from,
        assigned_to,
        after_id,
        limit,
    })
}

pub(super) fn assignment_of(a: db::api::AssignmentSummary) -> Assignment {
    Assignment {
        uuid: a.uuid,
        partenaire_id: a.partner_id,
        partenaire: a.partner_name,
        statut: a.status,
        motif_refus: a.refusal_reason,
        motif_cloture: a.closure_reason,
        message: a.answer_message,
        date_affectation: rfc3339(a.created_at),
        date_reponse: rfc3339_opt(a.answered_at),
        date_cloture: rfc3339_opt(a.closed_at),
    }
}

/// Lister les signalements
///
/// Les signalements du périmètre du compte, dans un ordre stable, page par
/// page : suivre `curseur_suivant` jusqu’à ce qu’il soit null. Avec `since`,
/// seulement ceux modifiés depuis (pour synchroniser).
#[utoipa::path(
    get,
    path = "/api/v1/signalements",
    tag = "Signalements",
    params(ListParams),
    responses(
        (status = 200, description = "Une page de signalements", body = CasePage),
        (status = 400, description = "Paramètre mal formé", body = ProblemBody, content_type = "application/problem+json"),
        (status = 401, description = "Jeton absent, inconnu, expiré ou révoqué", body = ProblemBody, content_type = "application/problem+json"),
        (status = 403, description = "Le compte ne peut pas lire les signalements", body = ProblemBody, content_type = "application/problem+json"),
        (status = 422, description = "Filtre non valide", body = ProblemBody, content_type = "application/problem+json"),
        (status = 429, description = "Limite de requêtes atteinte", body = ProblemBody, content_type = "application/problem+json"),
    ),
    security(("bearer" = []))
)]
pub async fn list_cases(
    State(state): State<AppState>,
    Extension(caller): Extension<ApiCaller>,
    ApiQuery(params): ApiQuery<ListParams>,
) -> Result<Json<CasePage>, Problem> {
    caller.require(Permission::ReadCases)?;
    let query = case_query(&params)?;
    let scope = caller.account.scope.report_scope();
    let mut rows = db::api::list_cases(&state.db, &scope, &query).await?;
    let more = rows.len() > query.limit as usize;
    rows.truncate(query.limit as usize);
    let ids: Vec<u64> = rows.iter().map(|r| r.id).collect();
    let mut assignments = db::api::assignments_of(&state.db, &ids).await?;
    let next = more
        .then(|| rows.last().map(|r| r.id.to_string()))
        .flatten();
    let signalements = rows
        .into_iter()
        .map(|r| {
            let (mine, rest): (Vec<_>, Vec<_>) = std::mem::take(&mut assignments)
                .into_iter()
                .partition(|a| a.report_id == r.id);
            assignments = rest;
            CaseSummary {
                uuid: r.uuid,
                reference: r.reference,
                territoire: r.territory_code,
                statut: case_status_code(r.status).into(),
                profil_declarant: r.declarant_profile,
                adresse: r.address_line,
                code_postal: r.postal_code,
                ville: r.city,
                code_insee: r.insee_code,
                criticite: r.severity,
                date_depot: rfc3339(r.created_at),
                date_validation: rfc3339_opt(r.validated_at),
                date_cloture: rfc3339_opt(r.closed_at),
                date_modification: rfc3339(r.updated_at),
                affectations: mine.into_iter().map(assignment_of).collect(),
            }
        })
        .collect();
    Ok(Json(CasePage {
        signalements,
        curseur_suivant: next,
        limite: query.limit,
    }))
}

// --------------------------------------------------------------- detail

/// Un désordre du logement ou du bâtiment.
#[derive(Debug, Serialize, ToSchema)]
pub struct Defect {
    /// `batiment` ou `logement`.
    pub zone: String,
    pub categorie: String,
    pub critere: String,
    pub precision: String,
    pub danger: bool,
    pub texte_libre: Option<String>,
}

/// Une qualification suspectée ou avérée (non-décence, insalubrité…).
#[derive(Debug, Serialize, ToSchema)]
pub struct Qualification {
    pub qualification: String,
    pub statut: String,
}

/// Un suivi (entrée de l’historique du signalement).
#[derive(Debug, Serialize, ToSchema)]
pub struct FollowUp {
    pub id: u64,
    /// `system`, `partner`, `resident` ou `technical`.
    pub type_auteur: String,
    pub auteur: Option<String>,
    pub partenaire: Option<String>,
    pub categorie: Option<String>,
    /// Le texte (HTML nettoyé).
    pub texte: String,
    /// Visible par l’usager.
    pub public: bool,
    pub date: String,
}

/// Une visite (prévue ou faite).
#[derive(Debug, Serialize, ToSchema)]
pub struct Visit {
    pub uuid: String,
    pub partenaire: Option<String>,
    pub operateur_externe: Option<String>,
    /// `visite`, `visite_controle` ou `arrete_prefectoral`.
    pub type_visite: String,
    pub date_visite: String,
    /// `planned`, `done`, `cancelled` ou `not_done`.
    pub statut: String,
    pub commentaire: Option<String>,
    pub conclusions: Option<String>,
    pub occupant_present: Option<bool>,
    pub proprietaire_present: Option<bool>,
    /// Procédures constatées à la visite (codes de `ConclusionBody.procedures`).
    pub procedures: Vec<String>,
    /// L’usager lit la conclusion dans son espace de suivi.
    pub conclusion_publique: bool,
    pub date_conclusion: Option<String>,
}

/// Un fichier du signalement.
#[derive(Debug, Serialize, ToSchema)]
pub struct Document {
    pub uuid: String,
    pub nom_fichier: String,
    pub type_mime: String,
    /// Octets.
    pub taille: u64,
    /// `photo` ou `document` (selon le contenu du fichier).
    pub type_document: String,
    /// Le type choisi par qui l’a déposé : `bail`, `etat_des_lieux`, `dpe`,
    /// `diagnostic_plomb_amiante`, `quittance`, `assurance`, `photo_desordre`,
    /// `photo_situation`, `photo_visite`, `rapport_visite`, `mise_en_demeure`,
    /// `arrete_municipal`, `arrete_prefectoral`, `saisine`, `autre_procedure`,
    /// `courrier_bailleur`, `reponse_bailleur`, `devis_travaux`, `facture`, `autre`.
    pub categorie: String,
    /// Titre donné au document, à défaut le nom du fichier.
    pub titre: Option<String>,
    pub public: bool,
    pub date: String,
    /// Antivirus : `en_attente`, `sain` ou `infecte` (seul un fichier `sain` est servi).
    pub analyse: String,
}

/// Un signalement complet.
#[derive(Debug, Serialize, ToSchema)]
pub struct CaseDetail {
    pub uuid: String,
    pub reference: String,
    pub territoire: String,
    pub statut: String,
    pub profil_declarant: String,
    pub parc_social: Option<bool>,
    pub nom_occupant: Option<String>,
    pub prenom_occupant: Option<String>,
    pub email_occupant: Option<String>,
    pub tel_occupant: Option<String>,
    pub nom_declarant: Option<String>,
    pub prenom_declarant: Option<String>,
    pub email_declarant: Option<String>,
    pub tel_declarant: Option<String>,
    pub structure_declarant: Option<String>,
    pub nom_bailleur: Option<String>,
    pub email_bailleur: Option<String>,
    pub tel_bailleur: Option<String>,
    pub adresse: String,
    pub complement_adresse: Option<String>,
    pub etage: Option<String>,
    pub code_postal: String,
    pub ville: String,
    pub code_insee: Option<String>,
    pub latitude: Option<f64>,
    pub longitude: Option<f64>,
    pub type_logement: Option<String>,
    /// m².
    pub superficie: Option<f64>,
    pub nb_pieces: Option<u16>,
    pub nb_occupants: Option<u16>,
    pub enfants_moins_6: Option<bool>,
    pub date_entree: Option<String>,
    pub dpe_declare: Option<String>,
    pub dpe_ademe: Option<String>,
    pub allocataire: Option<bool>,
    pub caisse_allocation: Option<String>,
    pub bailleur_prevenu: Option<bool>,
    pub assurance: Option<String>,
    /// Le message du déclarant.
    pub message: Option<String>,
    pub criticite: Option<f64>,
    pub motif_refus: Option<String>,
    pub motif_cloture: Option<String>,
    pub date_depot: String,
    pub date_validation: Option<String>,
    pub date_cloture: Option<String>,
    pub date_modification: String,
    pub desordres: Vec<Defect>,
    pub qualifications: Vec<Qualification>,
    pub affectations: Vec<Assignment>,
    /// Suivis publics et internes des partenaires, du plus récent au plus ancien.
    pub suivis: Vec<FollowUp>,
    pub visites: Vec<Visit>,
    pub documents: Vec<Document>,
}

pub(super) fn document_of(d: db::documents::CaseDocumentRow) -> Document {
    Document {
        uuid: d.uuid,
        nom_fichier: d.filename,
        type_mime: d.mime,
        taille: d.size,
        type_document: d.kind,
        categorie: crate::domain::document::DocumentType::from_stored(d.document_type.as_deref())
            .code()
            .to_owned(),
        titre: d.title,
        public: d.is_public,
        date: rfc3339(d.created_at),
        analyse: scan_code(d.scan_status).into(),
    }
}

pub(super) fn visit_of(v: db::api::VisitSummary) -> Visit {
    Visit {
        uuid: v.uuid,
        partenaire: v.partner_name,
        operateur_externe: v.external_operator,
        type_visite: v.kind,
        date_visite: rfc3339(v.scheduled_at),
        statut: v.status,
        commentaire: v.comment_before,
        conclusions: v.conclusions,
        occupant_present: v.occupant_present,
        proprietaire_present: v.owner_present,
        procedures: v.procedures.map(|p| p.0).unwrap_or_default(),
        conclusion_publique: v.conclusion_public,
        date_conclusion: rfc3339_opt(v.concluded_at),
    }
}

/// Lire un signalement
///
/// Un signalement du périmètre du compte avec ses désordres, qualifications,
/// affectations, suivis, visites et documents. Répond 304 quand
/// `If-None-Match` porte l’`ETag` courant.
#[utoipa::path(
    get,
    path = "/api/v1/signalements/{uuid}",
    tag = "Signalements",
    params(
        ("uuid" = String, Path, description = "Identifiant du signalement"),
        ("If-None-Match" = Option<String>, Header, description = "ETag d’une lecture précédente"),
    ),
    responses(
        (status = 200, description = "Le signalement", body = CaseDetail,
            headers(("ETag" = String, description = "Version de la réponse"))),
        (status = 304, description = "Inchangé depuis l’ETag envoyé"),
        (status = 401, description = "Jeton absent, inconnu, expiré ou révoqué", body = ProblemBody, content_type = "application/problem+json"),
        (status = 403, description = "Le compte ne peut pas lire les signalements", body = ProblemBody, content_type = "application/problem+json"),
        (status = 404, description = "Signalement inconnu ou hors du périmètre du compte", body = ProblemBody, content_type = "application/problem+json"),
        (status = 429, description = "Limite de requêtes atteinte", body = ProblemBody, content_type = "application/problem+json"),
    ),
    security(("bearer" = []))
)]
pub async fn show_case(
    State(state): State<AppState>,
    Extension(caller): Extension<ApiCaller>,
    Path(uuid): Path<String>,
    headers: HeaderMap,
) -> Result<Response, Problem> {
    caller.require(Permission::ReadCases)?;
    let uuid = uuid.to_ascii_lowercase();
    if !looks_like_uuid(&uuid) {
        return Err(Problem::not_found());
    }
    let scope = caller.account.scope.report_scope();
    let Some((report_id, updated_at)) =
        db::api::find_case_in_scope(&state.db, &scope, &uuid).await?
    else {
        return Err(Problem::not_found());
    };
    let detail = load_detail(&state, &uuid, report_id, updated_at).await?;
    let body = serde_json::to_vec(&detail)
        .map_err(|e| Problem::from(crate::error::AppError::Unexpected(e.into())))?;
    let etag = format!(
        "\"{}\"",
        &crate::auth::tokens::to_hex(&Sha256::digest(&body))[..32]
    );
    let matches = headers
        .get(header::IF_NONE_MATCH)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| {
            v.split(',').any(|tag| {
                let tag = tag.trim();
                tag == "*" || tag.trim_start_matches("W/") == etag
            })
        });
    let etag_value = HeaderValue::from_str(&etag).unwrap_or(HeaderValue::from_static("\"\""));
    if matches {
        return Ok((StatusCode::NOT_MODIFIED, [(header::ETAG, etag_value)]).into_response());
    }
    Ok((
        StatusCode::OK,
        [
            (
                header::CONTENT_TYPE,
                HeaderValue::from_static("application/json"),
            ),
            (header::ETAG, etag_value),
            (
                header::CACHE_CONTROL,
                HeaderValue::from_static("private, no-cache"),
            ),
        ],
        body,
    )
        .into_response())
}

async fn load_detail(
    state: &AppState,
    uuid: &str,
    report_id: u64,
    updated_at: PrimitiveDateTime,
) -> Result<CaseDetail, Problem> {
    let r = case_view::find_by_uuid(&state.db, uuid, 0)
        .await?
        .ok_or_else(Problem::not_found)?;
    let catalog = state.defect_catalog().await?;
    let defects = case_view::defects(&state.db, report_id, &catalog).await?;
    let qualifications = case_view::qualifications(&state.db, report_id).await?;
    let assignments = db::api::assignments_of(&state.db, &[report_id]).await?;
    let follow_ups = case_view::follow_ups(&state.db, report_id).await?;
    let visits = db::api::visits_of(&state.db, report_id).await?;
    let documents = db::documents::list_for_case(&state.db, report_id).await?;
    Ok(CaseDetail {
        uuid: r.uuid,
        reference: r.reference,
        territoire: r.territory_code,
        statut: case_status_code(r.status).into(),
        profil_declarant: r.declarant_profile,
        parc_social: r.is_public_housing,
        nom_occupant: r.occupant_last_name,
        prenom_occupant: r.occupant_first_name,
        email_occupant: r.occupant_email,
        tel_occupant: r.occupant_phone,
        nom_declarant: r.declarant_last_name,
        prenom_declarant: r.declarant_first_name,
        email_declarant: r.declarant_email,
        tel_declarant: r.declarant_phone,
        structure_declarant: r.declarant_structure,
        nom_bailleur: r.landlord_name,
        email_bailleur: r.landlord_email,
        tel_bailleur: r.landlord_phone,
        adresse: r.address_line,
        complement_adresse: r.address_complement,
        etage: r.floor,
        code_postal: r.postal_code,
        ville: r.city,
        code_insee: r.insee_code,
        latitude: r.latitude,
        longitude: r.longitude,
        type_logement: r.dwelling_type,
        superficie: r.dwelling_surface,
        nb_pieces: r.dwelling_rooms,
        nb_occupants: r.dwelling_occupants_count,
        enfants_moins_6: r.dwelling_children_under_6,
        date_entree: r.dwelling_move_in_date.map(|d| d.to_string()),
        dpe_declare: r.dwelling_dpe_class,
        dpe_ademe: r.dpe_label,
        allocataire: r.household_housing_allowance,
        caisse_allocation: r.household_allowance_fund,
        bailleur_prevenu: r.procedure_landlord_informed,
        assurance: r.procedure_insurer_contacted,
        message: r.details,
        criticite: r.severity,
        motif_refus: r.refusal_reason,
        motif_cloture: r.closure_reason,
        date_depot: rfc3339(r.created_at),
        date_validation: rfc3339_opt(r.validated_at),
        date_cloture: rfc3339_opt(r.closed_at),
        date_modification: rfc3339(updated_at),
        desordres: defects
            .into_iter()
            .map(|d| Defect {
                zone: d.zone,
                categorie: d.category,
                critere: d.criterion,
                precision: d.precision_label,
                danger: d.is_danger,
                texte_libre: d.free_text,
            })
            .collect(),
        qualifications: qualifications
            .into_iter()
            .map(|q| Qualification {
                qualification: q.qualification,
                statut: q.status,
            })
            .collect(),
        affectations: assignments.into_iter().map(assignment_of).collect(),
        suivis: follow_ups
            .into_iter()
            .map(|f| FollowUp {
                id: f.id,
                type_auteur: f.author_kind,
                auteur: f.author_name.filter(|n| !n.trim().is_empty()),
                partenaire: f.partner_name,
                categorie: f.category,
                texte: f.body,
                public: f.is_public,
                date: rfc3339(f.created_at),
            })
            .collect(),
        visites: visits.into_iter().map(visit_of).collect(),
        documents: documents.into_iter().map(document_of).collect(),
    })
}
