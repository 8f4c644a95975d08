//! The public reporting form (signalement): multi-step, server-rendered,
//! usable without JavaScript.
//!
//! The address screen comes first; once the territory is known to be open a
//! draft is created and every later screen lives under
//! `/signalement/{draft uuid}/{screen}`. Each "Suivant" validates the screen,
//! saves the draft and moves on; the summary's "Envoyer" builds the report in
//! one transaction ([`submit`]).

mod address;
mod duplicates;
mod submit;
mod view;

use std::collections::BTreeMap;

use askama::Template;
use askama_web::WebTemplate;
use axum::{
    Form,
    extract::{DefaultBodyLimit, FromRequest, Multipart, Path, Request, State},
    handler::Handler,
    http::{StatusCode, header},
    response::{IntoResponse, Redirect, Response},
};
use bytes::Bytes;

use crate::{
    app::AppState,
    auth::session::RequestOrigin,
    db,
    domain::{
        permissions::Access,
        report::{
            defects,
            draft::{DraftFile, DraftPayload, DraftState},
            form::{self, Answers, Question, Step},
        },
    },
    error::{AppError, AppResult},
    queue::{self, Email, Job, JobContext},
    uploads,
    web::{
        layout::{Layout, PublicLayout},
        routes::Routes,
    },
};

/// The follow-up secret of a new report, for the other ways of filing (Open311).
pub use submit::new_follow_up_code;
pub use view::{FieldView, fields as view_fields, size_label as view_size_label};

/// Largest multipart body of one screen (several photos at once).
const UPLOAD_BODY_LIMIT: usize = 64 * 1024 * 1024;
/// Drafts one address may start per hour: each costs a row and an address
/// lookup.
const DRAFTS_PER_IP_PER_HOUR: i64 = 30;
/// Files one draft may receive (accepted or not) per day, and files one
/// address may send per hour: every photo costs a decode.
const FILES_PER_DRAFT: i64 = 60;
const FILES_PER_IP_PER_HOUR: i64 = 200;
const HOUR: i64 = 60 * 60;

/// Adds the form's routes to the site.
pub fn register(routes: Routes) -> Routes {
    use Access::Public;
    routes
        .get("/signalement", Public, show_intro)
        .get("/signalement/adresse", Public, show_new_address)
        .post("/signalement/adresse", Public, create_draft)
        .get(
            "/signalement/recherche-adresse",
            Public,
            address::search_address,
        )
        .get("/signalement/{uuid}/{step}", Public, show_step)
        .post(
            "/signalement/{uuid}/{step}",
            Public,
            save_step.layer(DefaultBodyLimit::max(UPLOAD_BODY_LIMIT)),
        )
        .post(
            "/signalement/{uuid}/brouillon/lien",
            Public,
            send_resume_link,
        )
}

#[derive(Template, WebTemplate)]
#[template(path = "pages/public/form/intro.html")]
pub struct IntroPage {
    pub layout: Layout,
}

pub async fn show_intro(PublicLayout(layout): PublicLayout) -> IntroPage {
    IntroPage { layout }
}

/// One screen of the form.
#[derive(Template, WebTemplate)]
#[template(path = "pages/public/form/step.html")]
pub struct StepPage {
    pub layout: Layout,
    pub title: String,
    pub intro: String,
    pub position: usize,
    pub total: usize,
    pub action: String,
    pub multipart: bool,
    pub fields: Vec<FieldView>,
    pub errors: Vec<(String, String)>,
    pub back: Option<String>,
    pub draft_uuid: Option<String>,
    pub files: Vec<FileView>,
    pub is_address: bool,
    /// A deep link's profile code, carried through the address screen.
    pub deep_link: String,
}

/// A file already attached to the draft.
pub struct FileView {
    pub field: String,
    pub filename: String,
    pub size_label: String,
}

/// The page shown when the dwelling's territory is not open (nothing is
/// stored).
#[derive(Template, WebTemplate)]
#[template(path = "pages/public/form/closed.html")]
pub struct ClosedTerritoryPage {
    pub layout: Layout,
    pub city: String,
}

#[derive(Template, WebTemplate)]
#[template(path = "pages/public/form/link_sent.html")]
pub struct LinkSentPage {
    pub layout: Layout,
    pub sent: bool,
    pub back: String,
}

fn today() -> time::Date {
    time::OffsetDateTime::now_utc().date()
}

/// A draft uuid as it may appear in a URL (refused before any lookup).
fn looks_like_uuid(s: &str) -> bool {
    s.len() == 36
        && s.bytes().enumerate().all(|(i, b)| {
            matches!(i, 8 | 13 | 18 | 23) == (b == b'-') && (b == b'-' || b.is_ascii_hexdigit())
        })
}

async fn load_draft(state: &AppState, uuid: &str) -> AppResult<db::drafts::DraftRow> {
    if !looks_like_uuid(uuid) {
        return Err(AppError::NotFound);
    }
    db::drafts::find(&state.db, uuid)
        .await?
        .filter(|d| d.status.is_reachable())
        .ok_or(AppError::NotFound)
}

fn step_url(uuid: &str, step: Step) -> String {
    format!("/signalement/{uuid}/{}", step.slug())
}

fn confirmation_url(uuid: &str) -> String {
    format!("/signalement/{uuid}/confirmation")
}

/// The questions of a screen, the defect screens' from the taxonomy.
async fn questions_of(state: &AppState, step: Step, a: &Answers) -> AppResult<Vec<Question>> {
    Ok(match defects::step_zone(step) {
        Some(_) => defects::step_questions(&state.taxonomy().await?, step, a),
        None => step.questions(a),
    })
}

/// Upload fields of a screen: (field name, label, shown-when category).
fn upload_fields(step: Step, questions: &[Question]) -> Vec<(String, String, Option<String>)> {
    match step {
        Step::Composition => vec![
            (
                "bail_dpe_bail_upload".into(),
                "Le bail (facultatif)".into(),
                Some("bail_dpe_bail".into()),
            ),
            (
                "bail_dpe_etat_des_lieux_upload".into(),
                "L’état des lieux (facultatif)".into(),
                Some("bail_dpe_etat_des_lieux".into()),
            ),
            (
                "bail_dpe_dpe_upload".into(),
                "Le DPE (facultatif)".into(),
                Some("bail_dpe_dpe".into()),
            ),
        ],
        Step::DesordresBatiment | Step::DesordresLogement => questions
            .iter()
            .filter(|q| matches!(q.show, form::Cond::Always))
            .map(|q| {
                (
                    format!("{}_photos_upload", q.slug),
                    format!("Photos : {} (facultatif)", q.label.to_lowercase()),
                    Some(q.slug.clone()),
                )
            })
            .collect(),
        _ => Vec::new(),
    }
}

#[allow(clippy::too_many_arguments)]
fn render_step(
    layout: Layout,
    step: Step,
    uuid: Option<&str>,
    questions: &[Question],
    a: &Answers,
    files: &[DraftFile],
    errors: Vec<(String, String)>,
) -> StepPage {
    let error_map: BTreeMap<&str, &str> = errors
        .iter()
        .map(|(f, m)| (f.as_str(), m.as_str()))
        .collect();
    let uploads = upload_fields(step, questions);
    let fields = view::fields(questions, a, &error_map, &uploads);
    let (position, total) = step.progress(a);
    StepPage {
        layout,
        title: step.title().to_owned(),
        intro: view::intro(step).to_owned(),
        position,
        total,
        action: match uuid {
            Some(uuid) => step_url(uuid, step),
            None => "/signalement/adresse".to_owned(),
        },
        multipart: step.has_uploads(),
        fields,
        errors,
        back: match (uuid, step.previous(a)) {
            (Some(uuid), Some(previous)) => Some(step_url(uuid, previous)),
            _ => Some("/signalement".to_owned()),
        },
        draft_uuid: uuid.map(str::to_owned),
        files: files
            .iter()
            .filter(|f| uploads.iter().any(|(name, _, _)| *name == f.field))
            .map(|f| FileView {
                field: f.field.clone(),
                filename: f.filename.clone(),
                size_label: view::size_label(f.size),
            })
            .collect(),
        is_address: step == Step::Adresse,
        deep_link: String::new(),
    }
}

#[derive(serde::Deserialize)]
pub struct DeepLink {
    profil: Option<String>,
}

pub async fn show_new_address(
    PublicLayout(layout): PublicLayout,
    axum::extract::Query(link): axum::extract::Query<DeepLink>,
) -> StepPage {
    let a = Answers::new();
    let mut page = render_step(
        layout,
        Step::Adresse,
        None,
        &Step::Adresse.questions(&a),
        &a,
        &[],
        Vec::new(),
    );
    page.deep_link = link
        .profil
        .filter(|p| !form::deep_link_answers(p).is_empty())
        .unwrap_or_default();
    page
}

/// The submitted fields of a screen.
type Submitted = Vec<(String, String)>;

/// Keeps the submitted values of the screen's questions only: a request
/// cannot slip other keys into the draft.
fn merge(a: &Answers, questions: &[Question], submitted: &Submitted) -> Answers {
    let mut merged = a.clone();
    for q in questions {
        merged.remove(&q.slug);
    }
    for (key, value) in submitted {
        if questions.iter().any(|q| q.slug == *key) && !value.trim().is_empty() {
            merged.insert(key.clone(), value.clone());
        }
    }
    merged
}

/// First screen: checks the address and the territory, then creates the
/// draft.
pub async fn create_draft(
    State(state): State<AppState>,
    PublicLayout(layout): PublicLayout,
    origin: RequestOrigin,
    Form(submitted): Form<Submitted>,
) -> AppResult<Response> {
    let questions = Step::Adresse.questions(&Answers::new());
    let mut a = merge(&Answers::new(), &questions, &submitted);
    let mut errors = form::validate(&questions, &mut a, today());
    let outcome = if errors.is_empty() {
        address::check(&state, &mut a, &mut errors).await?
    } else {
        address::Outcome::Invalid
    };
    match outcome {
        address::Outcome::Open(territory_id) => {
            let key = format!(
                "{}rate:drafts:{}",
                state.config.redis_prefix,
                origin.rate_key()
            );
            if !crate::kv::within_rate(&state.redis, &key, DRAFTS_PER_IP_PER_HOUR, HOUR).await? {
                return Err(AppError::TooManyRequests);
            }
            let uuid = uuid::Uuid::new_v4().to_string();
            if let Some((_, code)) = submitted.iter().find(|(k, _)| k == "profil") {
                for (slug, value) in form::deep_link_answers(code) {
                    a.insert(slug.to_owned(), value.to_owned());
                }
            }
            let payload = DraftPayload {
                answers: a,
                files: Vec::new(),
            };
            let mut conn = state.db.acquire().await?;
            db::drafts::insert(&mut conn, &uuid, &payload, "adresse_logement", territory_id)
                .await?;
            Ok(Redirect::to(&step_url(&uuid, Step::Profil)).into_response())
        }
        address::Outcome::Closed(city) => Ok(ClosedTerritoryPage { layout, city }.into_response()),
        address::Outcome::Invalid => {
            let mut page = render_step(layout, Step::Adresse, None, &questions, &a, &[], errors);
            page.deep_link = submitted
                .iter()
                .find(|(k, _)| k == "profil")
                .map(|(_, code)| code.clone())
                .filter(|code| !form::deep_link_answers(code).is_empty())
                .unwrap_or_default();
            Ok((StatusCode::UNPROCESSABLE_ENTITY, page).into_response())
        }
    }
}

pub async fn show_step(
    State(state): State<AppState>,
    PublicLayout(layout): PublicLayout,
    Path((uuid, step)): Path<(String, String)>,
) -> AppResult<Response> {
    let draft = load_draft(&state, &uuid).await?;
    if step == "confirmation" {
        return submit::show_confirmation(&state, layout, &draft).await;
    }
    if draft.status == DraftState::Submitted {
        return Ok(Redirect::to(&confirmation_url(&uuid)).into_response());
    }
    let step = Step::parse(&step).ok_or(AppError::NotFound)?;
    let a = &draft.payload.0.answers;
    if !step.applies(a) {
        let next = step.next(a).unwrap_or(Step::Recapitulatif);
        return Ok(Redirect::to(&step_url(&uuid, next)).into_response());
    }
    if step == Step::Recapitulatif {
        return submit::show_summary(&state, layout, &draft, Vec::new(), StatusCode::OK).await;
    }
    let questions = questions_of(&state, step, a).await?;
    Ok(render_step(
        layout,
        step,
        Some(&uuid),
        &questions,
        a,
        &draft.payload.0.files,
        Vec::new(),
    )
    .into_response())
}

/// A file sent with a screen.
pub struct Incoming {
    pub field: String,
    pub filename: String,
    pub bytes: Result<Bytes, ()>,
}

/// The French reason for a body that cannot be read (the parsers' own
/// messages are English and technical).
fn unreadable_body(status: StatusCode) -> AppError {
    AppError::BadRequest(if status == StatusCode::PAYLOAD_TOO_LARGE {
        "L’envoi dépasse 64 Mo : envoyez vos fichiers en plusieurs fois.".to_owned()
    } else {
        "Le formulaire envoyé n’a pas pu être lu. Revenez à la page précédente, rechargez-la et envoyez-le à nouveau.".to_owned()
    })
}

/// Reads a screen's body: urlencoded, or multipart on upload screens.
/// A file over the limit is not read to the end.
pub async fn read_body(
    state: &AppState,
    request: Request,
) -> AppResult<(Submitted, Vec<Incoming>)> {
    let is_multipart = request
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("multipart/form-data"));
    if !is_multipart {
        let Form(fields) = Form::<Submitted>::from_request(request, state)
            .await
            .map_err(|e| unreadable_body(e.status()))?;
        return Ok((fields, Vec::new()));
    }
    let mut multipart = Multipart::from_request(request, state)
        .await
        .map_err(|e| unreadable_body(e.status()))?;
    let mut fields = Vec::new();
    let mut files = Vec::new();
    while let Some(mut field) = multipart
        .next_field()
        .await
        .map_err(|e| unreadable_body(e.status()))?
    {
        let name = field.name().unwrap_or_default().to_owned();
        match field.file_name().map(str::to_owned) {
            Some(filename) => {
                let mut data = Vec::new();
                let mut too_large = false;
                while let Some(chunk) = field
                    .chunk()
                    .await
                    .map_err(|e| unreadable_body(e.status()))?
                {
                    if data.len() + chunk.len() > uploads::MAX_FILE_BYTES {
                        too_large = true;
                        break;
                    }
                    data.extend_from_slice(&chunk);
                }
                if filename.is_empty() && data.is_empty() {
                    continue; // an empty file input
                }
                files.push(Incoming {
                    field: name,
                    filename,
                    bytes: if too_large {
                        Err(())
                    } else {
                        Ok(Bytes::from(data))
                    },
                });
            }
            None => {
                let value = field
                    .text()
                    .await
                    .map_err(|e| unreadable_body(e.status()))?;
                fields.push((name, value));
            }
        }
    }
    Ok((fields, files))
}

/// Checks and stores the files of a request; errors go next to the field.
pub async fn store_files(
    state: &AppState,
    incoming: Vec<Incoming>,
    allowed_fields: &[String],
    already: usize,
    errors: &mut Vec<(String, String)>,
) -> AppResult<Vec<DraftFile>> {
    let mut stored = Vec::new();
    for file in incoming {
        if !allowed_fields.contains(&file.field) {
            continue;
        }
        let filename = uploads::clean_filename(&file.filename);
        if already + stored.len() >= uploads::MAX_FILES_PER_REPORT {
            errors.push((file.field, uploads::UploadError::TooMany.to_string()));
            continue;
        }
        let Ok(bytes) = file.bytes else {
            errors.push((
                file.field,
                uploads::UploadError::TooLarge(filename).to_string(),
            ));
            continue;
        };
        match uploads::store(&state.storage, &state.image_gate, &file.filename, bytes)
            .await
            .map_err(|e| AppError::Unavailable(crate::error::Component::Storage, e.to_string()))?
        {
            Ok(s) => stored.push(DraftFile {
                field: file.field,
                key: s.key,
                thumbnail_key: s.thumbnail_key,
                filename: s.filename,
                mime: s.mime,
                size: s.size,
                sha256: s.sha256,
                kind: s.kind.to_owned(),
            }),
            Err(e @ uploads::UploadError::Busy) => return Err(AppError::Busy(e.to_string())),
            Err(e) => errors.push((file.field, e.to_string())),
        }
    }
    Ok(stored)
}

/// Counts `files` against the sender's hourly quota and, for a draft,
/// against the draft's; false once either is spent.
pub async fn within_upload_quota(
    state: &AppState,
    ip: &str,
    draft_uuid: Option<&str>,
    files: usize,
) -> AppResult<bool> {
    let files = i64::try_from(files).unwrap_or(i64::MAX);
    if files == 0 {
        return Ok(true);
    }
    let prefix = &state.config.redis_prefix;
    if let Some(uuid) = draft_uuid {
        let key = format!("{prefix}rate:draft-files:{uuid}");
        if !crate::kv::within_limit(&state.redis, &key, files, FILES_PER_DRAFT, 24 * HOUR).await? {
            return Ok(false);
        }
    }
    let key = format!("{prefix}rate:files:{ip}");
    Ok(crate::kv::within_limit(&state.redis, &key, files, FILES_PER_IP_PER_HOUR, HOUR).await?)
}

/// What the visitor reads when a file quota is spent.
pub const TOO_MANY_FILES: &str = "Vous avez envoyé trop de fichiers en peu de temps. Patientez une heure avant d’en ajouter d’autres : ce qui a déjà été enregistré est conservé.";

pub async fn save_step(
    State(state): State<AppState>,
    PublicLayout(layout): PublicLayout,
    origin: RequestOrigin,
    Path((uuid, step)): Path<(String, String)>,
    request: Request,
) -> AppResult<Response> {
    let draft = load_draft(&state, &uuid).await?;
    if draft.status == DraftState::Submitted {
        return Ok(Redirect::to(&confirmation_url(&uuid)).into_response());
    }
    if step == "doublon" {
        let key = format!(
            "{}rate:draft-link:{}",
            state.config.redis_prefix,
            origin.rate_key()
        );
        if !crate::kv::within_rate(&state.redis, &key, 10, 20 * 60).await? {
            return Err(AppError::TooManyRequests);
        }
        return duplicates::send_existing_link(&state, layout, &draft).await;
    }
    let step = Step::parse(&step).ok_or(AppError::NotFound)?;
    let (submitted, incoming) = read_body(&state, request).await?;
    if step == Step::Recapitulatif {
        return submit::submit(&state, layout, &origin, &uuid, &submitted).await;
    }
    let mut payload = draft.payload.0.clone();
    let before = form::profile(&payload.answers);
    let questions = questions_of(&state, step, &payload.answers).await?;
    let mut a = merge(&payload.answers, &questions, &submitted);
    let mut errors = form::validate(&questions, &mut a, today());
    if defects::step_zone(step).is_some() {
        let taxonomy = state.taxonomy().await?;
        errors.extend(defects::check_rooms(
            &defects::step_categories(&taxonomy, step, &a),
            &a,
        ));
    }
    let mut territory_id = draft.territory_id.unwrap_or_default();
    if step != Step::Adresse && errors.is_empty() {
        // The territory may have closed since the draft began.
        let mut copy = a.clone();
        let mut ignored = Vec::new();
        if let address::Outcome::Closed(city) =
            address::check(&state, &mut copy, &mut ignored).await?
        {
            return Ok(ClosedTerritoryPage { layout, city }.into_response());
        }
    }
    if step == Step::Adresse && errors.is_empty() {
        match address::check(&state, &mut a, &mut errors).await? {
            address::Outcome::Open(id) => territory_id = id,
            address::Outcome::Closed(city) => {
                return Ok(ClosedTerritoryPage { layout, city }.into_response());
            }
            address::Outcome::Invalid => {}
        }
    }
    let allowed: Vec<String> = upload_fields(step, &questions)
        .into_iter()
        .map(|(name, _, _)| name)
        .collect();
    if !within_upload_quota(&state, &origin.rate_key(), Some(&uuid), incoming.len()).await? {
        let field = incoming
            .first()
            .map(|f| f.field.clone())
            .unwrap_or_default();
        errors.push((field, TOO_MANY_FILES.to_owned()));
        let page = render_step(
            layout,
            step,
            Some(&uuid),
            &questions,
            &a,
            &payload.files,
            errors,
        );
        return Ok((StatusCode::TOO_MANY_REQUESTS, page).into_response());
    }
    let new_files =
        store_files(&state, incoming, &allowed, payload.files.len(), &mut errors).await?;
    payload.files.extend(new_files);
    if !errors.is_empty() {
        // Keep the files that passed, so they need not be sent again.
        if payload.files.len() != draft.payload.0.files.len() {
            db::drafts::update_payload(&state.db, draft.id, &payload).await?;
        }
        let page = render_step(
            layout,
            step,
            Some(&uuid),
            &questions,
            &a,
            &payload.files,
            errors,
        );
        return Ok((StatusCode::UNPROCESSABLE_ENTITY, page).into_response());
    }
    if step == Step::Profil && before.is_some() && form::profile(&a) != before {
        form::forget_profile_answers(&mut a);
    }
    payload.answers = a;
    let email = declarant_email(&payload.answers);
    let checksum = email.as_ref().map(|e| {
        crate::auth::tokens::digest(&format!(
            "{e}{}",
            form::get(&payload.answers, "adresse_logement_adresse_detail_numero")
                .unwrap_or_default()
        ))
    });
    db::drafts::update(
        &state.db,
        draft.id,
        &payload,
        step.slug(),
        territory_id,
        form::profile(&payload.answers),
        email.as_ref(),
        checksum.as_deref(),
    )
    .await?;
    if duplicates::is_first_save(step, &payload.answers)
        && duplicates::has_recent_duplicate(&state, &payload.answers).await?
    {
        let page = duplicates::DuplicatePage {
            layout,
            action: format!("/signalement/{uuid}/doublon"),
            sent: false,
        };
        return Ok((StatusCode::CONFLICT, page).into_response());
    }
    let next = step.next(&payload.answers).unwrap_or(Step::Recapitulatif);
    Ok(Redirect::to(&step_url(&uuid, next)).into_response())
}

/// The declarant's e-mail, whichever screen asked it (checked by that
/// screen's validation with the same rule; an answer that does not parse
/// is no address).
fn declarant_email(a: &Answers) -> Option<crate::domain::contact::Email> {
    form::get(a, "vos_coordonnees_occupant_email")
        .or_else(|| form::get(a, "vos_coordonnees_tiers_email"))
        .and_then(|e| crate::domain::contact::Email::parse(e).ok())
}

/// "Finir plus tard": e-mails the declarant a link to resume the draft.
pub async fn send_resume_link(
    State(state): State<AppState>,
    PublicLayout(layout): PublicLayout,
    origin: RequestOrigin,
    Path(uuid): Path<String>,
) -> AppResult<Response> {
    let draft = load_draft(&state, &uuid).await?;
    let key = format!(
        "{}rate:draft-link:{}",
        state.config.redis_prefix,
        origin.rate_key()
    );
    if !crate::kv::within_rate(&state.redis, &key, 10, 20 * 60).await? {
        return Err(AppError::TooManyRequests);
    }
    let a = &draft.payload.0.answers;
    let current = Step::ALL
        .into_iter()
        .find(|s| s.slug() == draft.current_step)
        .and_then(|s| s.next(a))
        .unwrap_or(Step::Profil);
    let back = step_url(&uuid, current);
    let Some(email) = declarant_email(a) else {
        return Ok(LinkSentPage {
            layout,
            sent: false,
            back,
        }
        .into_response());
    };
    let mut tx = state.db.begin().await?;
    queue::enqueue(
        &mut tx,
        &Job::SendEmail(Email::DraftResume {
            to: email.into_inner(),
            link: format!("{}{back}", state.config.base_url),
        }),
        None,
        JobContext::default(),
    )
    .await?;
    tx.commit().await?;
    Ok(LinkSentPage {
        layout,
        sent: true,
        back,
    }
    .into_response())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_well_formed_uuids_reach_the_database() {
        assert!(looks_like_uuid("0b7f3c1e-5a2d-4c8e-9f10-1234567890ab"));
        assert!(!looks_like_uuid("../../etc/passwd"));
        assert!(!looks_like_uuid("0b7f3c1e05a2d-4c8e-9f10-1234567890ab"));
    }
}
