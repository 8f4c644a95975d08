//! Orders (arrêtés) in the back office: the case page's panel and the
//! form that records an order on a case (docs/arretes.md). The rules are
//! `domain::arrete`; the order row and the command's plan (public
//! follow-up, audit, resident e-mail) are written in one transaction.

use askama::Template;
use askama_web::WebTemplate;
use axum::{
    Form,
    extract::{Multipart, Path, RawForm, State},
    http::StatusCode,
    response::{IntoResponse, Redirect, Response},
};

use super::cases::{case_page, load_visible};
use crate::{
    app::AppState,
    auth::session::RequestOrigin,
    case_plan::{self, ApplyContext, ApplyError},
    db::{
        self,
        arretes::{ArreteRow, InsertError, Placement},
    },
    domain::{
        address::AddressKey,
        arrete::{self, ArreteInput, ArreteType, Signatory, Source},
        arrete_import::{self, FileError, ImportLine, LineError},
        case::{Refusal, ReportStatus},
        permissions::Actor,
        roles::Role,
    },
    error::{AppError, AppResult},
    web::{
        account::audit_event,
        forms::FormErrors,
        layout::{Layout, OfficePage},
    },
};

/// An order as the pages show it.
pub struct OrderView {
    pub kind: String,
    pub number: String,
    pub date: String,
    pub signatory: String,
    pub deadline: String,
    /// "en cours" or "levé le …".
    pub state: String,
    /// The case it is attached to, when it is this address's other case.
    pub address: String,
}

impl OrderView {
    pub fn of(row: &ArreteRow) -> Self {
        let signatory = Signatory::parse(&row.signatory).map_or("—", Signatory::label);
        Self {
            kind: ArreteType::label_of(&row.kind).to_owned(),
            number: row.number.clone(),
            date: arrete::french_date(row.order_date),
            signatory: match &row.signer_name {
                Some(name) => format!("{signatory} ({name})"),
                None => signatory.to_owned(),
            },
            deadline: row
                .works_deadline
                .map(arrete::french_date)
                .unwrap_or_default(),
            state: row.lifted_on.map_or_else(
                || "En cours".to_owned(),
                |d| format!("Levé le {}", arrete::french_date(d)),
            ),
            address: row.address_label.clone(),
        }
    }
}

/// The case page's "Arrêtés" panel.
pub struct CasePanel {
    pub orders: Vec<OrderView>,
    pub can_record: bool,
    pub types: &'static [ArreteType],
    pub address_key: String,
}

/// The orders recorded at the case's address (attached to it or not).
pub async fn case_panel(
    state: &AppState,
    actor: &Actor,
    report_id: u64,
    territory_id: u32,
    status: ReportStatus,
) -> AppResult<CasePanel> {
    let (key, _) = db::arretes::case_address(&state.db, report_id).await?;
    let orders = match AddressKey::parse(&key) {
        Some(k) => db::arretes::at_address(&state.db, &k).await?,
        None => Vec::new(),
    };
    Ok(CasePanel {
        orders: orders.iter().map(OrderView::of).collect(),
        can_record: arrete::may_record(actor, territory_id)
            && matches!(status, ReportStatus::Active | ReportStatus::Closed),
        types: ArreteType::ALL,
        address_key: key,
    })
}

fn field(form: &[(String, String)], key: &str) -> String {
    form.iter()
        .find(|(k, _)| k == key)
        .map(|(_, v)| v.trim().to_owned())
        .unwrap_or_default()
}

/// `POST /bo/signalements/{uuid}/arretes`: a territory admin records an
/// order on the case.
pub async fn record_on_case(
    State(state): State<AppState>,
    page: OfficePage,
    origin: RequestOrigin,
    Path(uuid): Path<String>,
    RawForm(body): RawForm,
) -> AppResult<Response> {
    let form: Vec<(String, String)> = serde_urlencoded::from_bytes(&body).unwrap_or_default();
    let facts = load_visible(&state, &page.user, &uuid).await?.1;
    let input = ArreteInput {
        kind: field(&form, "arrete_type"),
        number: field(&form, "arrete_number"),
        date: field(&form, "arrete_date"),
        signatory: field(&form, "arrete_signatory"),
        signer_name: field(&form, "arrete_signer"),
        works_deadline: field(&form, "arrete_deadline"),
        lifted_on: field(&form, "arrete_lifted"),
    };
    let today = time::OffsetDateTime::now_utc().date();
    let (plan, order) = match arrete::record_on_case(&page.user.actor, &facts, &input, today) {
        Ok(planned) => planned,
        Err(Refusal::Invalid(fields)) => {
            let mut errors = FormErrors::default();
            for (field, message) in fields.0 {
                errors.add(field, message);
            }
            return invalid(&state, page, &uuid, errors).await;
        }
        Err(Refusal::NotFound) => return Err(AppError::NotFound),
        Err(_) => return Err(AppError::Forbidden),
    };
    let (key, label) = db::arretes::case_address(&state.db, facts.report_id).await?;
    let key = AddressKey::parse(&key).ok_or(AppError::NotFound)?;
    let ctx = ApplyContext {
        base_url: &state.config.base_url,
        actor_email: Some(&page.user.email),
        ip: origin.ip,
        user_agent: origin.user_agent.as_deref(),
    };
    let mut tx = state.db.begin().await?;
    let placement = Placement {
        territory_id: facts.territory_id,
        report_id: Some(facts.report_id),
        address_key: &key,
        address_label: &label,
        source: Source::Manual,
        created_by: Some(page.user.id),
    };
    match db::arretes::insert(&mut tx, &placement, &order).await {
        Ok(_) => {}
        Err(InsertError::Duplicate) => {
            drop(tx);
            let mut errors = FormErrors::default();
            errors.add(
                "arrete_number",
                "Un arrêté de ce numéro et de cette date est déjà enregistré pour ce territoire.",
            );
            return invalid(&state, page, &uuid, errors).await;
        }
        Err(InsertError::Db(e)) => return Err(e.into()),
    }
    match case_plan::apply(&mut tx, &plan, &ctx).await {
        Ok(_) => {}
        Err(ApplyError::Conflict) => {
            return Err(AppError::Conflict(
                "Ce signalement a changé pendant l’enregistrement : rechargez la page.".into(),
            ));
        }
        Err(ApplyError::NotFound) => return Err(AppError::NotFound),
        Err(ApplyError::NoActor) => return Err(AppError::Forbidden),
        Err(ApplyError::Db(e)) => return Err(e.into()),
    }
    tx.commit().await?;
    Ok(Redirect::to(&format!("/bo/signalements/{uuid}#arretes-titre")).into_response())
}

/// The case page again with the form's errors (422).
async fn invalid(
    state: &AppState,
    page: OfficePage,
    uuid: &str,
    errors: FormErrors,
) -> AppResult<Response> {
    let view = case_page(state, page, uuid, errors).await?;
    Ok((StatusCode::UNPROCESSABLE_ENTITY, view).into_response())
}

// ------------------------------------------------------------ CSV import

#[derive(Template, WebTemplate)]
#[template(path = "pages/office/arretes_import.html")]
pub struct ImportPage {
    pub layout: Layout,
    pub territories: Vec<(u32, String)>,
    pub territory_id: u32,
    /// The file-level refusal, if any.
    pub file_error: String,
    /// Dry run or result: one row per line.
    pub lines: Vec<ImportRow>,
    pub errors: Vec<LineError>,
    /// The decoded register, carried to the confirmation.
    pub csv: String,
    /// "dry" (show and offer to confirm), "done" (written), "" (the form).
    pub stage: &'static str,
    pub created: usize,
    pub skipped: usize,
}

/// A valid line and what the import does (or did) with it.
pub struct ImportRow {
    pub line: usize,
    pub order: String,
    pub address: String,
    pub outcome: String,
}

async fn territories_of(state: &AppState, page: &OfficePage) -> AppResult<Vec<(u32, String)>> {
    let scope = (page.user.role != Role::SuperAdmin).then(|| page.user.actor.territory_ids());
    super::filter_options::territory_options(state, scope.as_deref()).await
}

fn empty_page(page: OfficePage, territories: Vec<(u32, String)>, territory_id: u32) -> ImportPage {
    ImportPage {
        layout: page.layout,
        territories,
        territory_id,
        file_error: String::new(),
        lines: Vec::new(),
        errors: Vec::new(),
        csv: String::new(),
        stage: "",
        created: 0,
        skipped: 0,
    }
}

/// `GET /bo/arretes/import`: the upload form.
pub async fn import_form(State(state): State<AppState>, page: OfficePage) -> AppResult<ImportPage> {
    let territories = territories_of(&state, &page).await?;
    let first = territories.first().map_or(0, |(id, _)| *id);
    Ok(empty_page(page, territories, first))
}

/// The territory chosen: 400 when none is named, 403 unless the user
/// administers it and it is offered.
fn chosen_territory(page: &OfficePage, territories: &[(u32, String)], raw: &str) -> AppResult<u32> {
    let id = raw
        .trim()
        .parse::<u32>()
        .map_err(|_| AppError::BadRequest("Choisissez un territoire.".into()))?;
    if arrete::may_record(&page.user.actor, id) && territories.iter().any(|(t, _)| *t == id) {
        Ok(id)
    } else {
        Err(AppError::Forbidden)
    }
}

/// `POST /bo/arretes/import` (multipart: `territory_id`, `fichier`): the
/// dry run. The file is read in chunks up to the size limit; nothing is
/// written; the page lists each line's errors or what confirming would do.
pub async fn import_dry_run(
    State(state): State<AppState>,
    page: OfficePage,
    mut multipart: Multipart,
) -> AppResult<Response> {
    let territories = territories_of(&state, &page).await?;
    let mut territory_raw = String::new();
    let mut bytes = Vec::new();
    let mut too_big = false;
    while let Some(mut field) = multipart
        .next_field()
        .await
        .map_err(|_| AppError::BadRequest("Formulaire d’envoi illisible.".into()))?
    {
        match field.name() {
            Some("territory_id") => {
                territory_raw = field.text().await.unwrap_or_default();
            }
            Some("fichier") => {
                while let Some(chunk) = field
                    .chunk()
                    .await
                    .map_err(|_| AppError::BadRequest("Envoi du fichier interrompu.".into()))?
                {
                    // Past the limit the rest is read and dropped (the
                    // answer must not cut the upload short).
                    if too_big || bytes.len() + chunk.len() > arrete_import::MAX_FILE_BYTES {
                        too_big = true;
                        bytes.clear();
                        continue;
                    }
                    bytes.extend_from_slice(&chunk);
                }
            }
            _ => {}
        }
    }
    let territory_id = chosen_territory(&page, &territories, &territory_raw)?;
    let mut view = empty_page(page, territories, territory_id);
    if too_big {
        view.file_error = FileError::TooBig.message();
        return Ok((StatusCode::UNPROCESSABLE_ENTITY, view).into_response());
    }
    let csv = arrete_import::decode(&bytes);
    match plan_import(&state, territory_id, &csv).await? {
        Err(e) => {
            view.file_error = e.message();
            Ok((StatusCode::UNPROCESSABLE_ENTITY, view).into_response())
        }
        Ok((lines, errors)) => {
            view.lines = lines.into_iter().map(|(row, _)| row).collect();
            view.errors = errors;
            view.csv = csv;
            view.stage = "dry";
            Ok(view.into_response())
        }
    }
}

/// What importing `csv` would do, line by line: (row, what to write) for
/// the valid lines (`None`: already recorded), and the refused lines.
#[allow(clippy::type_complexity)]
async fn plan_import(
    state: &AppState,
    territory_id: u32,
    csv: &str,
) -> AppResult<
    Result<
        (
            Vec<(ImportRow, Option<(ImportLine, Option<u64>)>)>,
            Vec<LineError>,
        ),
        FileError,
    >,
> {
    let today = time::OffsetDateTime::now_utc().date();
    let parsed = match arrete_import::parse(csv.as_bytes(), today) {
        Ok(parsed) => parsed,
        Err(e) => return Ok(Err(e)),
    };
    let mut rows = Vec::new();
    for line in parsed.valid {
        let order = format!(
            "{} n° {} du {}",
            line.order.kind.label(),
            line.order.number,
            arrete::french_date(line.order.date)
        );
        let known =
            db::arretes::exists(&state.db, territory_id, &line.order.number, line.order.date)
                .await?;
        let case = db::arretes::case_at(&state.db, territory_id, &line.address_key).await?;
        let outcome = match (&case, known) {
            (_, true) => "Déjà enregistré : ignoré".to_owned(),
            (Some((_, reference, _)), false) => {
                format!("Créé, rattaché au signalement {reference}")
            }
            (None, false) => "Créé, sans signalement à cette adresse".to_owned(),
        };
        let row = ImportRow {
            line: line.line,
            order,
            address: line.address_label.clone(),
            outcome,
        };
        let write = (!known).then(|| (line, case.map(|(id, _, _)| id)));
        rows.push((row, write));
    }
    Ok(Ok((rows, parsed.errors)))
}

#[derive(serde::Deserialize)]
pub struct ConfirmForm {
    #[serde(default)]
    territory_id: String,
    #[serde(default)]
    csv: String,
}

/// `POST /bo/arretes/import/confirmer`: the register again (carried by the
/// dry run page); only its valid lines are written, the ones already
/// recorded are skipped (the unique key decides), in one transaction with
/// one audit entry.
pub async fn import_confirm(
    State(state): State<AppState>,
    page: OfficePage,
    origin: RequestOrigin,
    Form(form): Form<ConfirmForm>,
) -> AppResult<Response> {
    let territories = territories_of(&state, &page).await?;
    let territory_id = chosen_territory(&page, &territories, &form.territory_id)?;
    let planned = plan_import(&state, territory_id, &form.csv).await?;
    let user = page.user.clone();
    let user_id = user.id;
    let mut view = empty_page(page, territories, territory_id);
    let (rows, errors) = match planned {
        Err(e) => {
            view.file_error = e.message();
            return Ok((StatusCode::UNPROCESSABLE_ENTITY, view).into_response());
        }
        Ok(planned) => planned,
    };
    let mut tx = state.db.begin().await?;
    let (mut created, mut skipped) = (0, 0);
    let mut lines = Vec::new();
    for (mut row, write) in rows {
        match write {
            None => skipped += 1,
            Some((line, report_id)) => {
                let placement = Placement {
                    territory_id,
                    report_id,
                    address_key: &line.address_key,
                    address_label: &line.address_label,
                    source: Source::Import,
                    created_by: Some(user_id),
                };
                match db::arretes::insert(&mut tx, &placement, &line.order).await {
                    Ok(_) => created += 1,
                    // Recorded meanwhile (another import, or twice in the file).
                    Err(InsertError::Duplicate) => {
                        skipped += 1;
                        row.outcome = "Déjà enregistré : ignoré".into();
                    }
                    Err(InsertError::Db(e)) => return Err(e.into()),
                }
            }
        }
        lines.push(row);
    }
    db::audit::record(
        &mut tx,
        &audit_event(
            Some(&user),
            &origin,
            "import",
            "arrete",
            Some(territory_id.to_string()),
            Some(serde_json::json!({
                "created": created,
                "skipped": skipped,
                "refused_lines": errors.len(),
            })),
        ),
    )
    .await?;
    tx.commit().await?;
    view.lines = lines;
    view.errors = errors;
    view.stage = "done";
    view.created = created;
    view.skipped = skipped;
    Ok(view.into_response())
}
