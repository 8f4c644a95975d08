//! The public contact form `/contact` (docs/terms.md §4): name, e-mail,
//! territory (optional), subject, message. The message is e-mailed to the
//! territory's contact address when it has one, else to the national team
//! (`CONTACT_EMAIL`). A hidden honeypot field catches robots (they get the
//! same confirmation, nothing is sent) and submissions are limited per
//! address (Redis, as the other public forms). Works without JavaScript.

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
    domain::{contact::Email as EmailAddress, permissions::Access},
    error::{AppError, AppResult},
    kv,
    queue::{self, Email, Job, JobContext},
    web::{
        forms::FormErrors,
        layout::{Layout, PublicLayout},
        routes::Routes,
    },
};

/// Messages per IP address per 20 minutes (Histologe's limit on its
/// public forms).
pub const CONTACT_LIMIT: i64 = 10;
const WINDOW_SECS: i64 = 20 * 60;
/// The honeypot: a field people never see nor fill.
pub const HONEYPOT: &str = "site_web";
const NAME_CHARS: usize = 100;
const MESSAGE_MIN_CHARS: usize = 10;
const MESSAGE_MAX_CHARS: usize = 5000;

/// The subjects offered: (code, label).
pub const SUBJECTS: [(&str, &str); 5] = [
    ("signalement", "Une question sur un signalement déposé"),
    ("deposer", "Une aide pour déposer un signalement"),
    ("compte", "Mon compte professionnel"),
    (
        "partenaire",
        "Rejoindre la plateforme (collectivité, service, partenaire)",
    ),
    ("autre", "Autre demande"),
];

/// Adds the contact form's routes.
pub fn register(routes: Routes) -> Routes {
    routes.get("/contact", Access::Public, show_contact).post(
        "/contact",
        Access::Public,
        send_contact,
    )
}

#[derive(Template, WebTemplate)]
#[template(path = "pages/public/contact.html")]
pub struct ContactPage {
    pub layout: Layout,
    pub form: ContactForm,
    pub territories: Vec<(u32, String)>,
    pub subjects: [(&'static str, &'static str); 5],
    pub errors: FormErrors,
    pub sent: bool,
}

impl ContactPage {
    pub fn territory_is(&self, id: &u32) -> bool {
        self.form.territoire == id.to_string()
    }
    pub fn subject_is(&self, code: &str) -> bool {
        self.form.sujet == code
    }
}

/// The form as typed.
#[derive(Debug, Default, Clone, Deserialize)]
pub struct ContactForm {
    #[serde(default)]
    pub nom: String,
    #[serde(default)]
    pub email: String,
    #[serde(default)]
    pub territoire: String,
    #[serde(default)]
    pub sujet: String,
    #[serde(default)]
    pub message: String,
    #[serde(default, rename = "site_web")]
    pub honeypot: String,
}

async fn page(
    state: &AppState,
    layout: Layout,
    form: ContactForm,
    errors: FormErrors,
    sent: bool,
) -> AppResult<ContactPage> {
    let territories = db::territories::list(&state.db)
        .await?
        .into_iter()
        .map(|t| (t.id, format!("{} – {}", t.code, t.name)))
        .collect();
    Ok(ContactPage {
        layout,
        form,
        territories,
        subjects: SUBJECTS,
        errors,
        sent,
    })
}

pub async fn show_contact(
    State(state): State<AppState>,
    PublicLayout(layout): PublicLayout,
) -> AppResult<ContactPage> {
    page(
        &state,
        layout,
        ContactForm::default(),
        FormErrors::default(),
        false,
    )
    .await
}

/// A checked message.
struct Message {
    name: String,
    email: EmailAddress,
    territory_id: Option<u32>,
    subject: &'static str,
    body: String,
}

fn check(form: &ContactForm, errors: &mut FormErrors) -> Option<Message> {
    let name = form.nom.trim();
    if name.is_empty() {
        errors.add("nom", "Indiquez votre nom.");
    } else if name.chars().count() > NAME_CHARS {
        errors.add("nom", "Le nom ne doit pas dépasser 100 caractères.");
    }
    let email = EmailAddress::parse(&form.email);
    if let Err(invalid) = &email {
        errors.add("email", invalid.message());
    }
    let territory_id = match form.territoire.trim() {
        "" => None,
        id => match id.parse::<u32>() {
            Ok(id) => Some(id),
            Err(_) => {
                errors.add("territoire", "Choisissez un territoire de la liste.");
                None
            }
        },
    };
    let subject = SUBJECTS
        .iter()
        .find(|(code, _)| *code == form.sujet)
        .map(|(_, label)| *label);
    if subject.is_none() {
        errors.add("sujet", "Choisissez l’objet de votre message.");
    }
    let body = form.message.trim();
    let length = body.chars().count();
    if length < MESSAGE_MIN_CHARS {
        errors.add("message", "Écrivez votre message (10 caractères au moins).");
    } else if length > MESSAGE_MAX_CHARS {
        errors.add(
            "message",
            "Le message ne doit pas dépasser 5 000 caractères.",
        );
    }
    if !errors.is_empty() {
        return None;
    }
    Some(Message {
        name: name.to_owned(),
        email: email.ok()?,
        territory_id,
        subject: subject?,
        body: body.to_owned(),
    })
}

/// Checks the message, then e-mails it to the territory's contact address
/// or the national team's; French errors next to the fields otherwise.
pub async fn send_contact(
    State(state): State<AppState>,
    PublicLayout(layout): PublicLayout,
    origin: RequestOrigin,
    Form(form): Form<ContactForm>,
) -> AppResult<Response> {
    let mut errors = FormErrors::default();
    let checked = check(&form, &mut errors);
    // The territory must exist (a made-up id is a field error too, shown
    // with the others).
    let territory = match checked.as_ref().map_or_else(
        || form.territoire.trim().parse::<u32>().ok(),
        |m| m.territory_id,
    ) {
        Some(id) => {
            let found = db::territories::contact_of(&state.db, id).await?;
            if found.is_none() {
                errors.add("territoire", "Choisissez un territoire de la liste.");
            }
            found
        }
        None => None,
    };
    let Some(message) = checked.filter(|_| errors.is_empty()) else {
        let view = page(&state, layout, form, errors, false).await?;
        return Ok((StatusCode::UNPROCESSABLE_ENTITY, view).into_response());
    };
    let key = format!(
        "{}rate:contact:{}",
        state.config.redis_prefix,
        origin.rate_key()
    );
    if !kv::within_rate(&state.redis, &key, CONTACT_LIMIT, WINDOW_SECS).await? {
        return Err(AppError::TooManyRequests);
    }
    // A robot filled the hidden field: it is thanked like anyone, and
    // nothing leaves.
    if form.honeypot.trim().is_empty() {
        let (to, territory_name) = match territory {
            Some(t) => (
                t.contact_email
                    .unwrap_or_else(|| state.config.contact_email.clone()),
                Some(t.name),
            ),
            None => (state.config.contact_email.clone(), None),
        };
        let mut tx = state.db.begin().await?;
        queue::enqueue(
            &mut tx,
            &Job::SendEmail(Email::ContactMessage {
                to,
                name: message.name,
                from: message.email.into_inner(),
                territory: territory_name,
                subject: message.subject.to_owned(),
                message: message.body,
                link: format!("{}/contact", state.config.base_url),
            }),
            None,
            JobContext::default(),
        )
        .await?;
        tx.commit().await?;
    } else {
        tracing::info!("contact form: honeypot filled, nothing sent");
    }
    Ok(page(
        &state,
        layout,
        ContactForm::default(),
        FormErrors::default(),
        true,
    )
    .await?
    .into_response())
}
