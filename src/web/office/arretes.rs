//! Orders (arrêtés) in the back office: the case page's panel and the
//! form that records an order on a case (docs/arretes.md). The rules are
//! `domain::arrete`; the order row and the command's plan (public
//! follow-up, audit, resident e-mail) are written in one transaction.

use askama::Template;
use askama_web::WebTemplate;
use axum::{
    Form,
    extract::{DefaultBodyLimit, Multipart, Path, Request, State},
    handler::Handler,
    http::StatusCode,
    response::{IntoResponse, Response},
};

use super::case_actions::Action;
use super::cases::load_visible;
use super::documents::{FILES_FIELD, UPLOAD_BODY_LIMIT, field, store_files};
use crate::{
    app::AppState,
    auth::session::RequestOrigin,
    db::{
        self,
        arretes::{ArreteRow, InsertError, Placement},
        documents::CaseDocumentRow,
    },
    domain::{
        address::AddressKey,
        arrete::{self, ArreteInput, ArreteType, OrderDocument, Signatory, Source},
        arrete_import::{self, FileError, ImportLine, LineError},
        case::{FieldErrors, Refusal, ReportStatus},
        document::DocumentType,
        permissions::{Access, Actor},
        roles::Role,
    },
    error::{AppError, AppResult},
    web::{
        account::audit_event,
        layout::{Layout, OfficePage},
        public::form,
        routes::Routes,
    },
};

/// The signed order's file input on the case page (one file).
const ORDER_FILE_FIELD: &str = "arrete_fichier";
/// The select naming a document already on the case.
const ORDER_DOCUMENT_FIELD: &str = "arrete_document";

/// Adds the orders' routes to the site.
pub fn register(routes: Routes) -> Routes {
    use Access::{SignedIn, TerritoryAdmin};
    routes
        .post(
            "/bo/signalements/{uuid}/arretes",
            SignedIn,
            record_on_case.layer(DefaultBodyLimit::max(UPLOAD_BODY_LIMIT)),
        )
        .get("/bo/arretes/import", TerritoryAdmin, import_form)
        .post("/bo/arretes/import", TerritoryAdmin, import_dry_run)
        .post(
            "/bo/arretes/import/confirmer",
            TerritoryAdmin,
            import_confirm,
        )
}

/// An order as the pages show it.
pub struct OrderView {
    pub kind: String,
    pub number: String,
    pub date: String,
    pub signatory: String,
    pub deadline: String,
    /// "en cours" or "levé le …".
    pub state: String,
    /// The address as written on the order.
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
    /// Documents of the case that may be the signed order: (uuid, name).
    pub documents: Vec<(String, String)>,
}

/// The orders recorded at the case's address (attached to it or not).
pub async fn case_panel(
    state: &AppState,
    actor: &Actor,
    report_id: u64,
    territory_id: u32,
    status: ReportStatus,
    documents: &[CaseDocumentRow],
) -> AppResult<CasePanel> {
    let (key, _) = db::arretes::case_address(&state.db, report_id).await?;
    let orders = match AddressKey::parse(&key) {
        Some(k) => db::arretes::at_address(&state.db, &k).await?,
        None => Vec::new(),
    };
    Ok(CasePanel {
        orders: orders.iter().map(OrderView::of).collect(),
        can_record: arrete::may_record_on(actor, territory_id, status),
        types: ArreteType::ALL,
        address_key: key,
        documents: documents
            .iter()
            .filter(|d| {
                matches!(
                    DocumentType::from_stored(d.document_type.as_deref()),
                    DocumentType::ArretePrefectoral | DocumentType::ArreteMunicipal
                ) && !d.scan_status.is_blocked()
            })
            .map(|d| {
                (
                    d.uuid.clone(),
                    d.title.clone().unwrap_or_else(|| d.filename.clone()),
                )
            })
            .collect(),
    })
}

fn invalid(field: &'static str, message: &str) -> Refusal {
    let mut errors = FieldErrors::default();
    errors.add(field, message);
    Refusal::Invalid(errors)
}

/// `POST /bo/signalements/{uuid}/arretes` (urlencoded, or multipart with
/// the signed order): a territory admin records an order on the case, with
/// its document uploaded here or chosen among the case's documents.
pub async fn record_on_case(
    State(state): State<AppState>,
    page: OfficePage,
    origin: RequestOrigin,
    Path(uuid): Path<String>,
    request: Request,
) -> AppResult<Response> {
    let (_, facts) = load_visible(&state, &page.user, &uuid).await?;
    // Someone who may not record is answered before the body is read.
    if !arrete::may_record(&page.user.actor, facts.territory_id) {
        return Err(AppError::Forbidden);
    }
    let (fields, incoming) = form::read_body(&state, request).await?;
    let input = ArreteInput {
        kind: field(&fields, "arrete_type"),
        number: field(&fields, "arrete_number"),
        date: field(&fields, "arrete_date"),
        signatory: field(&fields, "arrete_signatory"),
        signer_name: field(&fields, "arrete_signer"),
        works_deadline: field(&fields, "arrete_deadline"),
        lifted_on: field(&fields, "arrete_lifted"),
    };
    let existing = field(&fields, ORDER_DOCUMENT_FIELD);
    let public = !field(&fields, "arrete_public").is_empty();
    let action = Action::new(&state, page, origin, &uuid);
    let today = time::OffsetDateTime::now_utc().date();
    let approved = match arrete::approve(&action.page.user.actor, &facts, &input, today) {
        Ok(approved) => approved,
        Err(refusal) => return action.run(Err(refusal)).await,
    };
    let order = approved.order();
    if db::arretes::exists(&state.db, facts.territory_id, &order.number, order.date).await? {
        return action.run(Err(arrete::already_recorded())).await;
    }
    // store_files reads the documents' files field: the order's file is
    // renamed to it (the case page has both forms, each its own errors).
    let files: Vec<form::Incoming> = incoming
        .into_iter()
        .filter(|f| f.field == ORDER_FILE_FIELD)
        .map(|f| form::Incoming {
            field: FILES_FIELD.to_owned(),
            ..f
        })
        .collect();
    let document = match (files.len(), existing.is_empty()) {
        (0, true) => OrderDocument::None,
        (0, false) => {
            let found = if crate::web::forms::looks_like_uuid(&existing) {
                db::documents::find_managed(&state.db, &existing).await?
            } else {
                None
            };
            match found {
                Some(doc) if doc.report_uuid == facts.uuid => OrderDocument::Existing(doc.facts()),
                _ => {
                    let refusal = invalid(
                        ORDER_DOCUMENT_FIELD,
                        "Ce document n’est pas un document de ce signalement.",
                    );
                    return action.run(Err(refusal)).await;
                }
            }
        }
        (1, true) => match store_files(&state, files).await? {
            Ok(mut stored) => match stored.pop() {
                Some(file) => OrderDocument::Upload { file, public },
                None => OrderDocument::None,
            },
            Err(message) => return action.run(Err(invalid(ORDER_FILE_FIELD, &message))).await,
        },
        _ => {
            let refusal = invalid(
                ORDER_FILE_FIELD,
                "Joignez un seul fichier, l’arrêté signé, ou choisissez un document du signalement, pas les deux.",
            );
            return action.run(Err(refusal)).await;
        }
    };
    let plan = arrete::record_on_case(&action.page.user.actor, &facts, approved, document);
    action.run(plan).await
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
