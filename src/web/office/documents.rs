//! Documents of a case in the back office: upload (several files, multipart,
//! no JavaScript), rename / change the type / show to the resident, rotate a
//! photo, delete, and the thumbnails of the case page. Files go through the
//! same checks and antivirus scan as the public upload (`uploads::store`,
//! `uploads::record`); each action is a case command
//! (`domain::document::commands`) applied by `case_plan::apply`.
//! docs/documents.md tells the rules.

use axum::{
    extract::{DefaultBodyLimit, Path, RawForm, Request, State},
    handler::Handler,
    http::{HeaderValue, header},
    response::{IntoResponse, Response},
};

use super::case_actions::{Action, ActionForm};
use super::cases::{format_date, load_visible};
use crate::{
    app::AppState,
    auth::session::{CurrentUser, RequestOrigin},
    db::documents::{CaseDocumentRow, ManagedDocument},
    domain::{
        antivirus::{ScanStatus, Serving},
        case::{FieldErrors, Refusal},
        document::{
            DocumentGroup, DocumentType,
            commands::{self, DocumentFacts, StoredFile},
        },
        permissions::{Access, Actor},
        workflow::{CaseAction, CaseFacts, can},
    },
    error::{AppError, AppResult, Component},
    uploads,
    web::{layout::OfficePage, public::form, routes::Routes},
};

/// Largest upload request: ten files of 10 Mo and the form around them.
pub(super) const UPLOAD_BODY_LIMIT: usize = 64 * 1024 * 1024;
/// The file input's name.
pub(super) const FILES_FIELD: &str = "fichiers";

/// Adds the documents' routes to the site.
pub fn register(routes: Routes) -> Routes {
    use Access::SignedIn;
    routes
        .post(
            "/bo/signalements/{uuid}/documents",
            SignedIn,
            upload.layer(DefaultBodyLimit::max(UPLOAD_BODY_LIMIT)),
        )
        .post("/bo/documents/{uuid}/modifier", SignedIn, edit)
        .post("/bo/documents/{uuid}/pivoter", SignedIn, rotate)
        .post("/bo/documents/{uuid}/supprimer", SignedIn, delete)
        .get("/bo/documents/{uuid}/vignette", SignedIn, thumbnail)
}

/// One document on the case page.
pub struct DocumentView {
    pub uuid: String,
    /// The title, or the file name.
    pub name: String,
    pub filename: String,
    pub title: String,
    pub type_code: &'static str,
    pub type_label: &'static str,
    pub is_public: bool,
    pub is_image: bool,
    /// Clean with a thumbnail: shown as an image.
    pub thumbnail: bool,
    pub scan_label: &'static str,
    pub scan_class: &'static str,
    pub blocked: bool,
    pub added: String,
    pub can_delete: bool,
}

/// The documents under one heading.
pub struct GroupView {
    pub label: &'static str,
    pub slug: &'static str,
    pub documents: Vec<DocumentView>,
}

/// The case page's documents panel.
pub struct DocumentsPanel {
    pub groups: Vec<GroupView>,
    pub count: usize,
    pub photos: usize,
    pub can_manage: bool,
    pub types: Vec<(&'static str, &'static str)>,
}

fn slug(group: DocumentGroup) -> &'static str {
    match group {
        DocumentGroup::Situation => "situation",
        DocumentGroup::Photos => "photos",
        DocumentGroup::Procedure => "procedure",
        DocumentGroup::Bailleur => "bailleur",
        DocumentGroup::Autre => "autres",
    }
}

fn scan(status: ScanStatus) -> (&'static str, &'static str) {
    match status {
        ScanStatus::Pending => ("Analyse en cours", "fr-badge--info"),
        ScanStatus::Clean => ("Sain", "fr-badge--success"),
        ScanStatus::Infected => ("Bloqué par l’antivirus", "fr-badge--error"),
    }
}

/// Groups the case's documents by type for the page, with what the viewer may do.
pub fn panel(rows: Vec<CaseDocumentRow>, actor: &Actor, case: &CaseFacts) -> DocumentsPanel {
    let can_manage = can(actor, case, CaseAction::ManageDocuments);
    let count = rows.len();
    let mut groups: Vec<GroupView> = DocumentGroup::ALL
        .iter()
        .map(|g| GroupView {
            label: g.label(),
            slug: slug(*g),
            documents: Vec::new(),
        })
        .collect();
    let mut photos = 0;
    for row in rows {
        let document_type = DocumentType::from_stored(row.document_type.as_deref());
        let is_image = row.kind == "photo";
        photos += usize::from(is_image);
        let facts = DocumentFacts {
            id: row.id,
            uuid: row.uuid.clone(),
            filename: row.filename.clone(),
            title: row.title.clone(),
            document_type,
            is_public: row.is_public,
            is_image,
            scan_status: row.scan_status,
            uploaded_by: row.uploaded_by_user_id,
        };
        let (scan_label, scan_class) = scan(row.scan_status);
        let added = match row.uploader_name.as_deref().map(str::trim) {
            Some(name) if !name.is_empty() => {
                format!("{} par {name}", format_date(&row.created_at))
            }
            _ if row.uploaded_by_user_id.is_none() => {
                format!("{} par l’usager", format_date(&row.created_at))
            }
            _ => format_date(&row.created_at),
        };
        let view = DocumentView {
            name: row.title.clone().unwrap_or_else(|| row.filename.clone()),
            title: row.title.unwrap_or_default(),
            filename: row.filename,
            uuid: row.uuid,
            type_code: document_type.code(),
            type_label: document_type.label(),
            is_public: row.is_public,
            is_image,
            thumbnail: row.has_thumbnail && row.scan_status == ScanStatus::Clean,
            scan_label,
            scan_class,
            blocked: row.scan_status.is_blocked(),
            added,
            can_delete: commands::may_delete(actor, case, &facts),
        };
        let group = document_type.group();
        if let Some(g) = DocumentGroup::ALL.iter().position(|x| *x == group) {
            groups[g].documents.push(view);
        }
    }
    DocumentsPanel {
        groups,
        count,
        photos,
        can_manage,
        types: DocumentType::ALL
            .iter()
            .map(|t| (t.code(), t.label()))
            .collect(),
    }
}

/// The fields of a multipart form.
pub(super) fn field(fields: &[(String, String)], key: &str) -> String {
    fields
        .iter()
        .find(|(k, _)| k == key)
        .map(|(_, v)| v.trim().to_owned())
        .unwrap_or_default()
}

/// Several files at once, with one type, an optional title and whether the
/// resident sees them.
pub async fn upload(
    State(state): State<AppState>,
    page: OfficePage,
    origin: RequestOrigin,
    Path(uuid): Path<String>,
    request: Request,
) -> AppResult<Response> {
    let (_, facts) = load_visible(&state, &page.user, &uuid).await?;
    // Someone who may not add documents is answered before the body is read.
    if !can(&page.user.actor, &facts, CaseAction::ManageDocuments) {
        return Err(AppError::Forbidden);
    }
    let (fields, incoming) = form::read_body(&state, request).await?;
    let input = commands::UploadInput {
        document_type: field(&fields, "document_type"),
        title: field(&fields, "title"),
        public: !field(&fields, "public").is_empty(),
        files: incoming.iter().filter(|f| f.field == FILES_FIELD).count(),
    };
    let action = Action::new(&state, page, origin, &uuid);
    let approved = match commands::approve_upload(&action.page.user.actor, &facts, &input) {
        Ok(approved) => approved,
        Err(refusal) => return action.run(Err(refusal)).await,
    };
    let stored = match store_files(&state, incoming).await? {
        Ok(stored) => stored,
        Err(message) => {
            let mut fields = FieldErrors::default();
            fields.add(FILES_FIELD, message);
            return action.run(Err(Refusal::Invalid(fields))).await;
        }
    };
    let plan = commands::upload(&action.page.user.actor, &facts, approved, stored);
    action.run(Ok(plan)).await
}

/// Stores every file of the files field through the upload checks. One
/// refused file refuses them all (`Err` with the French reasons): the agent
/// sends the others again with the message in front of them, rather than
/// guessing what was kept; what was stored is removed again.
pub(super) async fn store_files(
    state: &AppState,
    incoming: Vec<form::Incoming>,
) -> AppResult<Result<Vec<StoredFile>, String>> {
    let mut errors = Vec::new();
    let mut stored = Vec::new();
    for file in incoming.into_iter().filter(|f| f.field == FILES_FIELD) {
        let name = uploads::clean_filename(&file.filename);
        let Ok(bytes) = file.bytes else {
            errors.push(uploads::UploadError::TooLarge(name).to_string());
            continue;
        };
        match uploads::store(&state.storage, &state.image_gate, &file.filename, bytes)
            .await
            .map_err(|e| AppError::Unavailable(Component::Storage, e.to_string()))?
        {
            Ok(s) => stored.push(s.into()),
            Err(e @ uploads::UploadError::Busy) => {
                uploads::forget(
                    &state.storage,
                    stored.iter().flat_map(StoredFile::object_keys),
                )
                .await;
                return Err(AppError::Busy(e.to_string()));
            }
            Err(e) => errors.push(e.to_string()),
        }
    }
    if errors.is_empty() {
        Ok(Ok(stored))
    } else {
        uploads::forget(
            &state.storage,
            stored.iter().flat_map(StoredFile::object_keys),
        )
        .await;
        Ok(Err(errors.join(" ")))
    }
}

/// The document, its case's facts (404 when deleted or unknown, 403 when
/// the case is not visible).
async fn load_document(
    state: &AppState,
    user: &CurrentUser,
    uuid: &str,
) -> AppResult<(ManagedDocument, CaseFacts)> {
    if !crate::web::forms::looks_like_uuid(uuid) {
        return Err(AppError::NotFound);
    }
    let row = crate::db::documents::find_managed(&state.db, uuid)
        .await?
        .ok_or(AppError::NotFound)?;
    let (_, facts) = load_visible(state, user, &row.report_uuid).await?;
    Ok((row, facts))
}

/// New title, type, visibility.
pub async fn edit(
    State(state): State<AppState>,
    page: OfficePage,
    origin: RequestOrigin,
    Path(uuid): Path<String>,
    RawForm(body): RawForm,
) -> AppResult<Response> {
    let form = ActionForm::parse(&body);
    let (row, facts) = load_document(&state, &page.user, &uuid).await?;
    let input = commands::EditInput {
        document_type: form.get("document_type"),
        title: form.get("title"),
        public: form.flag("public"),
    };
    let plan = commands::edit(&page.user.actor, &facts, &row.facts(), &input);
    Action::new(&state, page, origin, &row.report_uuid)
        .run(plan)
        .await
}

/// Turns a photo by a quarter turn (`degres`: 90, 180 or 270, clockwise).
pub async fn rotate(
    State(state): State<AppState>,
    page: OfficePage,
    origin: RequestOrigin,
    Path(uuid): Path<String>,
    RawForm(body): RawForm,
) -> AppResult<Response> {
    let form = ActionForm::parse(&body);
    let (row, facts) = load_document(&state, &page.user, &uuid).await?;
    let document = row.facts();
    let action = Action::new(&state, page, origin, &row.report_uuid);
    let approved = match commands::approve_rotation(
        &action.page.user.actor,
        &facts,
        &document,
        &form.get("degres"),
    ) {
        Ok(approved) => approved,
        Err(refusal) => return action.run(Err(refusal)).await,
    };
    let turned = uploads::rotate(
        &state.storage,
        &state.image_gate,
        &row.object_key,
        &row.mime,
        approved.quarter_turns,
    )
    .await
    .map_err(|e| AppError::Unavailable(Component::Storage, e.to_string()))?;
    let file = match turned {
        Ok(file) => StoredFile::from(file),
        Err(e @ uploads::UploadError::Busy) => return Err(AppError::Busy(e.to_string())),
        Err(e) => {
            let mut fields = FieldErrors::default();
            fields.add("rotation", e.to_string());
            return action.run(Err(Refusal::Invalid(fields))).await;
        }
    };
    let new_keys = file.object_keys();
    let plan = commands::rotate(
        &action.page.user.actor,
        &facts,
        &document,
        &row.object_key,
        approved,
        file,
    );
    let response = action.run(Ok(plan)).await;
    // The row now names the new objects: the old ones go. Refused or
    // failed: the new ones go.
    if matches!(&response, Ok(r) if r.status().is_redirection()) {
        uploads::forget(
            &state.storage,
            std::iter::once(row.object_key).chain(row.thumbnail_key),
        )
        .await;
    } else {
        uploads::forget(&state.storage, new_keys).await;
    }
    response
}

/// Soft delete: by whoever added it, or a territory admin.
pub async fn delete(
    State(state): State<AppState>,
    page: OfficePage,
    origin: RequestOrigin,
    Path(uuid): Path<String>,
) -> AppResult<Response> {
    let (row, facts) = load_document(&state, &page.user, &uuid).await?;
    let plan = commands::delete(&page.user.actor, &facts, &row.facts());
    Action::new(&state, page, origin, &row.report_uuid)
        .run(plan)
        .await
}

/// The thumbnail of a clean photo, for the case page.
pub async fn thumbnail(
    State(state): State<AppState>,
    user: CurrentUser,
    Path(uuid): Path<String>,
) -> AppResult<Response> {
    let (row, _) = load_document(&state, &user, &uuid).await?;
    let key = row.thumbnail_key.ok_or(AppError::NotFound)?;
    if row.scan_status.serving() != Serving::Serve {
        return Err(AppError::NotFound);
    }
    let bytes = uploads::read(&state.storage, &key)
        .await
        .map_err(|e| AppError::Unavailable(Component::Storage, e.to_string()))?;
    Ok((
        [
            (header::CONTENT_TYPE, HeaderValue::from_static("image/jpeg")),
            (
                header::X_CONTENT_TYPE_OPTIONS,
                HeaderValue::from_static("nosniff"),
            ),
            (
                header::CACHE_CONTROL,
                HeaderValue::from_static("private, no-store"),
            ),
        ],
        bytes,
    )
        .into_response())
}
