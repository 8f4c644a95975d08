//! "Lost my link": the resident gives an e-mail address and the dwelling's
//! postal code; the follow-up links of the matching reports are e-mailed.
//! The answer is the same whether or not a report matches (no way to probe
//! who filed a report), and requests are limited per address.

use askama::Template;
use askama_web::WebTemplate;
use axum::{
    Form,
    extract::State,
    http::StatusCode,
    response::{IntoResponse, Response},
};
use serde::Deserialize;

use crate::{
    app::AppState,
    auth::session::RequestOrigin,
    db,
    domain::contact::{Email as EmailAddress, PostalCode},
    error::{AppError, AppResult},
    kv,
    queue::{self, Email, Job, JobContext},
    web::layout::{Layout, PublicLayout},
};

/// "Lost my link" requests per IP address per 20 minutes.
const LINK_LIMIT: i64 = 10;

#[derive(Template, WebTemplate)]
#[template(path = "pages/public/follow_up/lost_link.html")]
pub struct LostLinkPage {
    pub layout: Layout,
    pub email: String,
    pub postal_code: String,
    pub errors: Vec<(&'static str, &'static str)>,
    pub sent: bool,
}

impl LostLinkPage {
    pub fn error(&self, field: &str) -> Option<&'static str> {
        self.errors
            .iter()
            .find(|(f, _)| *f == field)
            .map(|(_, m)| *m)
    }
}

pub async fn show_lost_link(PublicLayout(layout): PublicLayout) -> LostLinkPage {
    LostLinkPage {
        layout,
        email: String::new(),
        postal_code: String::new(),
        errors: Vec::new(),
        sent: false,
    }
}

#[derive(Deserialize)]
pub struct LostLinkForm {
    #[serde(default)]
    email: String,
    #[serde(default)]
    code_postal: String,
}

/// E-mails the follow-up links of the matching reports; the answer is the
/// same whether or not a report matches.
pub async fn request_link(
    State(state): State<AppState>,
    PublicLayout(layout): PublicLayout,
    origin: RequestOrigin,
    Form(form): Form<LostLinkForm>,
) -> AppResult<Response> {
    let (email, postal_code) = match (
        EmailAddress::parse(&form.email),
        PostalCode::parse(&form.code_postal),
    ) {
        (Ok(email), Ok(postal_code)) => (email, postal_code),
        (email, postal_code) => {
            let errors = [("email", email.err()), ("code_postal", postal_code.err())]
                .into_iter()
                .filter_map(|(field, invalid)| invalid.map(|i| (field, i.message())))
                .collect();
            return Ok((
                StatusCode::UNPROCESSABLE_ENTITY,
                LostLinkPage {
                    layout,
                    email: form.email,
                    postal_code: form.code_postal,
                    errors,
                    sent: false,
                },
            )
                .into_response());
        }
    };
    let key = format!(
        "{}rate:follow-up-link:{}",
        state.config.redis_prefix,
        origin.rate_key()
    );
    if !kv::within_rate(&state.redis, &key, LINK_LIMIT, 20 * 60).await? {
        return Err(AppError::TooManyRequests);
    }
    let reports =
        db::reports::find_by_email_and_postal_code(&state.db, email.as_str(), postal_code.as_str())
            .await?;
    if !reports.is_empty() {
        let links = reports
            .iter()
            .map(|r| {
                (
                    r.reference.clone(),
                    format!(
                        "{}/suivre-mon-signalement/{}",
                        state.config.base_url, r.follow_up_code
                    ),
                )
            })
            .collect();
        let mut tx = state.db.begin().await?;
        queue::enqueue(
            &mut tx,
            &Job::SendEmail(Email::FollowUpLinks {
                to: email.to_string(),
                links,
            }),
            None,
            JobContext::default(),
        )
        .await?;
        tx.commit().await?;
    }
    Ok(LostLinkPage {
        layout,
        email: email.into_inner(),
        postal_code: postal_code.into_inner(),
        errors: Vec::new(),
        sent: true,
    }
    .into_response())
}
