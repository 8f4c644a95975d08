//! The summary screen and the submission. The handler only reads the
//! request and renders: the draft is checked by
//! [`submission::validate`], what filing writes is decided by
//! [`submission::plan`], and [`filing::persist`] writes it in one
//! transaction with the draft row locked, so that a replayed submission
//! lands on the same confirmation instead of creating a second report
//! (docs/form.md §5.6).

use askama::Template;
use askama_web::WebTemplate;
use axum::{
    http::StatusCode,
    response::{IntoResponse, Redirect, Response},
};
use rand::RngCore;

use super::{Submitted, confirmation_url, step_url, today};
use crate::{
    app::AppState,
    auth::session::RequestOrigin,
    db,
    domain::report::{
        address,
        defects::{self, Category},
        draft::DraftState,
        form::{self, Answers, Step},
        submission::{self, KnownPrecision, SummaryError},
    },
    error::{AppError, AppResult},
    filing::{self, Filed},
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

fn sections(taxonomy: &[Category], uuid: &str, a: &Answers) -> Vec<Section> {
    Step::ALL
        .into_iter()
        .filter(|s| *s != Step::Recapitulatif && s.applies(a))
        .map(|step| Section {
            title: step.title().to_owned(),
            edit: step_url(uuid, step),
            lines: defects::step_questions(taxonomy, step, a)
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

/// "Envoyer" on the summary.
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
    // Everything is read and checked before the transaction, so that it
    // holds one connection and the reference counter only briefly.
    let draft = super::load_draft(state, uuid).await?;
    if draft.status == DraftState::Submitted {
        return Ok(Redirect::to(&confirmation_url(uuid)).into_response());
    }
    let taxonomy = state.taxonomy().await?;
    let answers = &draft.payload.0.answers;
    let communes = db::reports::communes(&state.db, address::postal_code(answers)).await?;
    let facts = submission::Facts {
        taxonomy: &taxonomy,
        communes: &communes,
        today: today(),
    };
    let valid = match submission::validate(answers, &facts) {
        Ok(valid) => valid,
        Err(errors) => {
            let errors = summary_errors(uuid, errors);
            let status = StatusCode::UNPROCESSABLE_ENTITY;
            return show_summary(state, layout, &draft, errors, status).await;
        }
    };
    let precisions: Vec<KnownPrecision> =
        db::defects::find_precisions(&state.db, &valid.precision_codes)
            .await?
            .into_iter()
            .map(|p| KnownPrecision {
                id: p.id,
                precision: p.precision,
            })
            .collect();
    let plan = submission::plan(
        valid,
        &submission::PlanFacts {
            precisions: &precisions,
            files: &draft.payload.0.files,
            report_uuid: uuid::Uuid::new_v4().to_string(),
            follow_up_code: new_follow_up_code(),
            base_url: &state.config.base_url,
            now: time::OffsetDateTime::now_utc(),
        },
    );
    match filing::persist(&state.db, uuid, &draft.payload.0, &plan).await? {
        Filed::Filed {
            report_id,
            reference,
        } => {
            tracing::info!(report.id = report_id, report.reference = %reference, "report filed");
            Ok(Redirect::to(&confirmation_url(uuid)).into_response())
        }
        Filed::AlreadyFiled => Ok(Redirect::to(&confirmation_url(uuid)).into_response()),
        Filed::DraftChanged => {
            Ok(Redirect::to(&step_url(uuid, Step::Recapitulatif)).into_response())
        }
    }
}

/// The summary's error list: link to the screen, label, message.
fn summary_errors(uuid: &str, errors: Vec<SummaryError>) -> Vec<(String, String, String)> {
    errors
        .into_iter()
        .map(|e| (step_url(uuid, e.step), e.label, e.message))
        .collect()
}

pub async fn show_confirmation(
    state: &AppState,
    layout: Layout,
    draft: &db::drafts::DraftRow,
) -> AppResult<Response> {
    let Some(report_id) = draft
        .report_id
        .filter(|_| draft.status == DraftState::Submitted)
    else {
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
