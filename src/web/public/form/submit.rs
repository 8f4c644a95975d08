//! The summary screen and the submission: every screen re-checked, then the
//! report, its defects, qualifications, files, first follow-up and jobs
//! written in one transaction. The draft row is locked during it and marked
//! `en_signalement`, so a replayed submission lands on the same
//! confirmation instead of creating a second report.

use askama::Template;
use askama_web::WebTemplate;
use axum::{
    http::StatusCode,
    response::{IntoResponse, Redirect, Response},
};
use rand::RngCore;

use super::{Submitted, address, confirmation_url, step_url, today};
use crate::{
    app::AppState,
    auth::session::RequestOrigin,
    db,
    domain::report::{
        defects::{self, Category},
        form::{self, Answers, Step},
        scoring,
        submission::Submission,
    },
    error::{AppError, AppResult},
    queue::{self, Email, Job, JobContext},
    web::layout::Layout,
};

/// The hidden field that only robots fill.
pub const HONEYPOT: &str = "site_web";
/// Reports per IP address per hour.
const SUBMIT_LIMIT: i64 = 10;

/// One card of the summary.
pub struct Section {
    pub title: String,
    pub edit: String,
    pub lines: Vec<(String, String)>,
}

#[derive(Template, WebTemplate)]
#[template(path = "pages/public/form/summary.html")]
pub struct SummaryPage {
    pub layout: Layout,
    pub action: String,
    pub back: String,
    pub sections: Vec<Section>,
    pub files: Vec<String>,
    pub errors: Vec<(String, String, String)>,
    pub no_defect: bool,
    pub honeypot: &'static str,
}

#[derive(Template, WebTemplate)]
#[template(path = "pages/public/form/confirmation.html")]
pub struct ConfirmationPage {
    pub layout: Layout,
    pub reference: String,
    /// The full link, as e-mailed.
    pub link: String,
    /// The same link as a path, for the page's own anchor.
    pub path: String,
    pub email: Option<String>,
}

fn zone_categories<'a>(taxonomy: &'a [Category], step: Step, a: &Answers) -> Vec<&'a Category> {
    let zone = if step == Step::DesordresBatiment {
        "batiment"
    } else {
        "logement"
    };
    defects::categories_for(taxonomy, zone, a)
}

fn questions(taxonomy: &[Category], step: Step, a: &Answers) -> Vec<form::Question> {
    match step {
        Step::DesordresBatiment | Step::DesordresLogement => {
            defects::questions(&zone_categories(taxonomy, step, a), a)
        }
        other => other.questions(a),
    }
}

fn sections(taxonomy: &[Category], uuid: &str, a: &Answers) -> Vec<Section> {
    Step::ALL
        .into_iter()
        .filter(|s| *s != Step::Recapitulatif && s.applies(a))
        .map(|step| Section {
            title: step.title().to_owned(),
            edit: step_url(uuid, step),
            lines: questions(taxonomy, step, a)
                .iter()
                .filter(|q| q.show.eval(a) && !matches!(q.kind, form::Kind::Hidden { .. }))
                .filter_map(|q| form::display_answer(q, a).map(|v| (q.label.clone(), v)))
                .collect(),
        })
        .collect()
}

pub async fn show_summary(
    state: &AppState,
    layout: Layout,
    draft: &db::drafts::DraftRow,
    errors: Vec<(String, String, String)>,
    status: StatusCode,
) -> AppResult<Response> {
    let taxonomy = state.taxonomy().await?;
    let a = &draft.payload.0.answers;
    let no_defect = defects::selected_precisions(&taxonomy, a).is_empty();
    let page = SummaryPage {
        layout,
        action: step_url(&draft.uuid, Step::Recapitulatif),
        back: step_url(
            &draft.uuid,
            Step::Recapitulatif.previous(a).unwrap_or(Step::Procedure),
        ),
        sections: sections(&taxonomy, &draft.uuid, a),
        files: draft
            .payload
            .0
            .files
            .iter()
            .map(|f| f.filename.clone())
            .collect(),
        errors,
        no_defect,
        honeypot: HONEYPOT,
    };
    Ok((status, page).into_response())
}

/// 32 random bytes in unpadded base64url: the 43-character secret of the
/// follow-up link.
pub fn new_follow_up_code() -> String {
    let mut bytes = [0u8; 32];
    rand::rng().fill_bytes(&mut bytes);
    base64url(&bytes)
}

fn base64url(bytes: &[u8]) -> String {
    const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    let mut out = String::with_capacity(bytes.len().div_ceil(3) * 4);
    for chunk in bytes.chunks(3) {
        let n = chunk
            .iter()
            .enumerate()
            .fold(0u32, |acc, (i, b)| acc | (u32::from(*b) << (16 - 8 * i)));
        for i in 0..=chunk.len() {
            out.push(ALPHABET[((n >> (18 - 6 * i)) & 63) as usize] as char);
        }
    }
    out
}

pub async fn submit(
    state: &AppState,
    layout: Layout,
    origin: &RequestOrigin,
    uuid: &str,
    submitted: &Submitted,
) -> AppResult<Response> {
    if submitted
        .iter()
        .any(|(k, v)| k == HONEYPOT && !v.trim().is_empty())
    {
        return Err(AppError::BadRequest("honeypot".into()));
    }
    let key = format!(
        "{}rate:report:{}",
        state.config.redis_prefix,
        origin.rate_key()
    );
    if !crate::kv::within_rate(&state.redis, &key, SUBMIT_LIMIT, 3600).await? {
        return Err(AppError::TooManyRequests);
    }
    let taxonomy = state.taxonomy().await?;
    // Everything is read and checked before the transaction, so that it
    // holds one connection and the reference counter only briefly.
    let draft = super::load_draft(state, uuid).await?;
    if draft.status == "en_signalement" {
        return Ok(Redirect::to(&confirmation_url(uuid)).into_response());
    }

    // Every screen again: the draft may have been edited in any order.
    let mut a = draft.payload.0.answers.clone();
    let mut errors = Vec::new();
    for step in Step::ALL {
        if step == Step::Recapitulatif || !step.applies(&a) {
            continue;
        }
        let qs = questions(&taxonomy, step, &a);
        for (field, message) in form::validate(&qs, &mut a, today()) {
            let label = qs
                .iter()
                .find(|q| q.slug == field)
                .map(|q| q.label.clone())
                .unwrap_or_default();
            errors.push((step_url(uuid, step), label, message));
        }
        if matches!(step, Step::DesordresBatiment | Step::DesordresLogement) {
            for (_, message) in defects::check_rooms(&zone_categories(&taxonomy, step, &a), &a) {
                errors.push((step_url(uuid, step), step.title().to_owned(), message));
            }
        }
    }
    if form::profile(&a).is_none() {
        errors.push((
            step_url(uuid, Step::Profil),
            "Votre situation".into(),
            "Indiquez à quel titre vous faites ce signalement.".into(),
        ));
    }
    let mut address_errors = Vec::new();
    let territory_id = match address::check(state, &mut a, &mut address_errors).await? {
        address::Outcome::Open(id) => Some(id),
        address::Outcome::Closed(city) => {
            errors.push((
                step_url(uuid, Step::Adresse),
                "Adresse du logement".into(),
                format!("Le service n’est pas ouvert à {city}."),
            ));
            None
        }
        address::Outcome::Invalid => {
            for (_, message) in address_errors {
                errors.push((
                    step_url(uuid, Step::Adresse),
                    "Adresse du logement".into(),
                    message,
                ));
            }
            None
        }
    };

    let submission = Submission::from_answers(&a);
    let input = submission.scoring_input(&a);
    let mut codes = defects::selected_precisions(&taxonomy, &a);
    if let Some(code) = scoring::overcrowding_precision(&input) {
        codes.push(code.to_owned());
    }
    let precisions = db::defects::find_precisions(&state.db, &codes).await?;
    let selected: Vec<scoring::Precision> =
        precisions.iter().map(|p| p.precision.clone()).collect();
    let result = scoring::compute(&selected, &input);
    if precisions.is_empty() && result.score == 0.0 {
        errors.push((
            step_url(
                uuid,
                if Step::DesordresLogement.applies(&a) {
                    Step::DesordresLogement
                } else {
                    Step::DesordresBatiment
                },
            ),
            "Les problèmes".into(),
            "Indiquez au moins un problème : sans cela, le signalement ne peut pas être traité."
                .into(),
        ));
    }
    let Some(territory_id) = territory_id.filter(|_| errors.is_empty()) else {
        return show_summary(
            state,
            layout,
            &draft,
            errors,
            StatusCode::UNPROCESSABLE_ENTITY,
        )
        .await;
    };

    let mut tx = state.db.begin().await?;
    let locked = db::drafts::lock(&mut tx, uuid)
        .await?
        .ok_or(AppError::NotFound)?;
    if locked.status == "en_signalement" && locked.report_id.is_some() {
        // A concurrent submission of the same draft won the race.
        tx.rollback().await?;
        return Ok(Redirect::to(&confirmation_url(uuid)).into_response());
    }
    if locked.status != "en_cours" || locked.payload.0.answers != draft.payload.0.answers {
        // Edited in another tab meanwhile: show the summary again.
        tx.rollback().await?;
        return Ok(Redirect::to(&step_url(uuid, Step::Recapitulatif)).into_response());
    }

    let report_uuid = uuid::Uuid::new_v4().to_string();
    let code = new_follow_up_code();
    // A provisional reference, unique by construction: the counter row is
    // locked only at the end of the transaction, for as short as possible.
    let provisional: String = format!("tmp-{}", &report_uuid[..16]);
    let report_id = db::reports::insert(
        &mut tx,
        &db::reports::NewReport {
            uuid: &report_uuid,
            territory_id,
            reference: &provisional,
            status: "need_validation",
            follow_up_code: &code,
            severity_score: scoring::score_rounded(result.score),
            severity_score_raw: result.score,
            severity_building: result.score_batiment,
            severity_dwelling: result.score_logement,
            form: &submission,
        },
    )
    .await?;
    for p in &precisions {
        db::reports::insert_defect(&mut tx, report_id, p.id).await?;
    }
    for q in &result.qualifications {
        db::reports::insert_qualification(
            &mut tx,
            report_id,
            q.qualification.code(),
            q.status.code(),
            &q.precision_slugs,
        )
        .await?;
    }
    for file in &locked.payload.0.files {
        crate::uploads::record(
            &mut tx,
            &db::documents::NewDocument {
                uuid: &uuid::Uuid::new_v4().to_string(),
                report_id,
                follow_up_id: None,
                object_key: &file.key,
                thumbnail_key: file.thumbnail_key.as_deref(),
                filename: &file.filename,
                mime: &file.mime,
                size: file.size,
                sha256: &file.sha256,
                kind: &file.kind,
                document_type: file.document_type(),
                defect_code: file.defect_code(),
                is_public: false,
            },
        )
        .await?;
    }
    db::follow_ups::insert(
        &mut tx,
        report_id,
        "system",
        "new_report",
        "Signalement déposé depuis le formulaire en ligne.",
        true,
    )
    .await?;

    db::drafts::mark_submitted(&mut tx, draft.id, report_id).await?;
    let context = JobContext {
        report_id: Some(report_id),
        ..JobContext::default()
    };
    queue::enqueue(
        &mut tx,
        &Job::GeocodeReport { report_id },
        Some(&format!("report:{report_id}:geocode")),
        context,
    )
    .await?;
    let admins = db::reports::territory_admin_emails(&mut tx, territory_id).await?;

    // From here to the commit, the territory's counter row is locked and
    // concurrent submissions in the territory wait: only what needs the
    // reference comes after it.
    let year = time::OffsetDateTime::now_utc().year();
    let number =
        db::reports::next_reference_number(&mut tx, territory_id, u16::try_from(year).unwrap_or(0))
            .await?;
    let reference = format!("{year}-{number}");
    db::reports::set_reference(&mut tx, report_id, &reference).await?;
    let base = &state.config.base_url;
    let link = format!("{base}/suivre-mon-signalement/{code}");
    for (to, first_name) in submission.confirmation_recipients() {
        let key = format!("report:{report_id}:confirmation:{to}");
        queue::enqueue(
            &mut tx,
            &Job::SendEmail(Email::ReportConfirmation {
                to,
                first_name,
                reference: reference.clone(),
                link: link.clone(),
            }),
            Some(&key),
            context,
        )
        .await?;
    }
    for to in admins {
        let key = format!("report:{report_id}:new:{to}");
        queue::enqueue(
            &mut tx,
            &Job::SendEmail(Email::NewReportToValidate {
                to,
                reference: reference.clone(),
                city: submission.city.clone(),
                link: format!("{base}/bo/signalements/{report_uuid}"),
            }),
            Some(&key),
            context,
        )
        .await?;
    }
    tx.commit().await?;
    tracing::info!(report.id = report_id, report.reference = %reference, "report filed");
    Ok(Redirect::to(&confirmation_url(uuid)).into_response())
}

pub async fn show_confirmation(
    state: &AppState,
    layout: Layout,
    draft: &db::drafts::DraftRow,
) -> AppResult<Response> {
    let Some(report_id) = draft.report_id.filter(|_| draft.status == "en_signalement") else {
        return Ok(Redirect::to(&step_url(&draft.uuid, Step::Recapitulatif)).into_response());
    };
    let report = db::reports::find_for_resident(&state.db, report_id)
        .await?
        .ok_or(AppError::NotFound)?;
    Ok(ConfirmationPage {
        layout,
        reference: report.reference,
        link: format!(
            "{}/suivre-mon-signalement/{}",
            state.config.base_url, report.follow_up_code
        ),
        path: format!("/suivre-mon-signalement/{}", report.follow_up_code),
        email: report.declarant_email,
    }
    .into_response())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn follow_up_codes_are_43_url_safe_characters() {
        let code = new_follow_up_code();
        assert_eq!(code.len(), 43);
        assert!(
            code.bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
        );
        assert_ne!(code, new_follow_up_code());
        assert_eq!(base64url(b"any carnal pleas"), "YW55IGNhcm5hbCBwbGVhcw");
    }
}
