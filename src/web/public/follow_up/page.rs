//! The follow-up space itself: the help page, and for a checked resident
//! the report's status, its public timeline and its documents (or the
//! identity check when the session has not passed it yet).

use askama::Template;
use askama_web::WebTemplate;
use axum::{
    extract::{Path, Query, State},
    response::{IntoResponse, Response},
};
use serde::Deserialize;
use tower_sessions::Session;

use super::{
    check::{self, CheckPage},
    find_report,
};
use crate::{
    app::AppState,
    db,
    domain::case::resident::Writing,
    error::AppResult,
    web::layout::{Layout, PublicLayout},
};

#[derive(Template, WebTemplate)]
#[template(path = "pages/public/follow_up/help.html")]
pub struct HelpPage {
    pub layout: Layout,
}

pub async fn show_help(PublicLayout(layout): PublicLayout) -> HelpPage {
    HelpPage { layout }
}

/// One entry of the timeline.
pub struct Entry {
    pub date: String,
    pub author: &'static str,
    pub paragraphs: Vec<String>,
}

pub struct DocumentView {
    pub url: String,
    pub filename: String,
    pub size_label: String,
    /// "Analyse en cours" or "Bloqué" (antivirus), none when clean.
    pub badge: Option<&'static str>,
    pub blocked: bool,
}

/// A visit as the resident sees it (docs/visits.md §6).
pub struct PublicVisit {
    pub kind: &'static str,
    pub date: String,
    pub status: &'static str,
    /// The conclusion, when the staff made it public.
    pub conclusion: Option<String>,
}

#[derive(Template, WebTemplate)]
#[template(path = "pages/public/follow_up/space.html")]
pub struct SpacePage {
    pub layout: Layout,
    pub code: String,
    pub reference: String,
    pub status_label: &'static str,
    pub address: String,
    pub created: String,
    pub entries: Vec<Entry>,
    pub documents: Vec<DocumentView>,
    pub visits: Vec<PublicVisit>,
    pub message: String,
    pub error: Option<String>,
    pub notice: Option<&'static str>,
    pub can_write: bool,
    /// The one message after closure (the form says it reopens nothing).
    pub once_after_closure: bool,
    /// Why the message form is closed, when it is.
    pub closed_reason: Option<&'static str>,
    /// The case may still be corrected (it is open).
    pub can_correct: bool,
    /// A guest looks (their name): the invitations are not theirs to manage.
    pub guest: Option<String>,
    /// The invitations in force (shown to the resident only).
    pub invitations: Vec<InvitationView>,
    /// The invitation form's values and errors (field → message).
    pub invite: (String, String, String),
    pub invite_errors: Vec<(&'static str, String)>,
    /// The addresses of the report (declarant, occupant when another
    /// person), the change form's value and error.
    pub declarant_email: String,
    pub occupant_email: Option<String>,
    pub new_email: String,
    pub email_error: Option<String>,
}

/// An invitation in force, as the resident sees it.
pub struct InvitationView {
    pub id: u64,
    pub name: String,
    pub email: String,
    pub relation: &'static str,
    pub date: String,
}

impl SpacePage {
    /// The error of an invitation form field.
    pub fn invite_error(&self, field: &str) -> Option<&str> {
        self.invite_errors
            .iter()
            .find(|(f, _)| *f == field)
            .map(|(_, m)| m.as_str())
    }

    /// The relations the invitation form offers (code, label).
    pub fn relations(&self) -> Vec<(&'static str, &'static str)> {
        crate::domain::case::invitation::Relation::ALL
            .iter()
            .map(|r| (r.code(), r.label()))
            .collect()
    }
}

fn format_date(d: time::PrimitiveDateTime) -> String {
    format!("{:02}/{:02}/{}", d.day(), u8::from(d.month()), d.year())
}

/// Stored follow-up bodies are sanitized HTML; the resident sees them as
/// text (escaped again by the template), one paragraph per line.
pub fn body_to_paragraphs(body: &str) -> Vec<String> {
    let with_breaks = body
        .replace("<br>", "\n")
        .replace("<br/>", "\n")
        .replace("<br />", "\n")
        .replace("</p>", "\n");
    let mut text = String::new();
    let mut in_tag = false;
    for c in with_breaks.chars() {
        match c {
            '<' => in_tag = true,
            '>' if in_tag => in_tag = false,
            c if !in_tag => text.push(c),
            _ => {}
        }
    }
    let text = text
        .replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&quot;", "\"")
        .replace("&#39;", "'")
        .replace("&amp;", "&");
    text.lines()
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .map(str::to_owned)
        .collect()
}

/// The space of `report`, with the message being written, an error above
/// the form or a notice of what was just done.
pub(super) async fn render_space(
    state: &AppState,
    layout: Layout,
    report: &db::reports::ResidentReport,
    viewer: &check::Viewer,
    message: String,
    error: Option<String>,
    notice: Option<&'static str>,
) -> AppResult<SpacePage> {
    let entries = db::follow_ups::list_public(&state.db, report.id)
        .await?
        .into_iter()
        .map(|f| Entry {
            date: format_date(f.created_at),
            author: match f.author_kind.as_str() {
                "resident" => "Vous",
                "partner" => "Les services",
                _ => "Histologe",
            },
            paragraphs: body_to_paragraphs(&f.body),
        })
        .collect();
    let documents = db::documents::list_for_resident(&state.db, report.id)
        .await?
        .into_iter()
        .map(|d| DocumentView {
            url: format!(
                "/suivre-mon-signalement/{}/documents/{}",
                report.follow_up_code, d.uuid
            ),
            filename: d.filename,
            size_label: crate::web::public::form::view_size_label(d.size),
            badge: d.scan_status.badge(),
            blocked: d.scan_status.is_blocked(),
        })
        .collect();
    let writing = super::resident_case(state, report).await?.writing();
    Ok(SpacePage {
        layout,
        code: report.follow_up_code.clone(),
        reference: report.reference.clone(),
        status_label: report.status.resident_label(),
        address: format!(
            "{}, {} {}",
            report.address_line, report.postal_code, report.city
        ),
        created: format_date(report.created_at),
        entries,
        documents,
        visits: db::visits::of_case(&state.db, report.id)
            .await?
            .into_iter()
            .map(|v| PublicVisit {
                kind: v.facts.kind.label(),
                date: crate::domain::case::visit::french_datetime(&v.facts.scheduled_at),
                status: v.facts.status.label(),
                conclusion: v
                    .facts
                    .conclusion
                    .public
                    .then_some(v.facts.conclusion.text)
                    .filter(|t| !t.is_empty()),
            })
            .collect(),
        message,
        error,
        notice,
        can_write: !matches!(writing, Writing::Closed(_)),
        once_after_closure: writing == Writing::OnceAfterClosure,
        closed_reason: match writing {
            Writing::Closed(why) => Some(why),
            _ => None,
        },
        can_correct: report.status.is_open(),
        guest: match viewer {
            check::Viewer::Guest(guest) => Some(guest.name.clone()),
            check::Viewer::Resident => None,
        },
        // The invitations are the resident's to manage: never shown to a
        // guest, whatever page (error pages included) is rendered.
        invitations: match viewer {
            check::Viewer::Guest(_) => Vec::new(),
            check::Viewer::Resident => {
                db::invitations::active_of_report(&state.db, report.id).await?
            }
        }
        .into_iter()
        .map(|i| InvitationView {
            id: i.id,
            name: i.name,
            email: i.email,
            relation: i.relation.label(),
            date: format_date(i.created_at),
        })
        .collect(),
        invite: Default::default(),
        invite_errors: Vec::new(),
        declarant_email: report.declarant_email.clone().unwrap_or_default(),
        occupant_email: crate::domain::report::form::DeclarantProfile::parse(
            &report.declarant_profile,
        )
        .filter(|p| !p.is_occupant())
        .map(|_| report.occupant_email.clone().unwrap_or_default()),
        new_email: String::new(),
        email_error: None,
    })
}

#[derive(Deserialize)]
pub struct NoticeQuery {
    ok: Option<String>,
}

pub async fn show_space(
    State(state): State<AppState>,
    PublicLayout(layout): PublicLayout,
    session: Session,
    Path(code): Path<String>,
    Query(query): Query<NoticeQuery>,
) -> AppResult<Response> {
    let report = find_report(&state, &code).await?;
    let Some(viewer) = check::viewer(&state, &session, &code, report.id).await? else {
        return Ok(CheckPage::empty(layout, &code).into_response());
    };
    let notice = match query.ok.as_deref() {
        Some("message") => {
            Some("Votre message a été envoyé aux services qui suivent le signalement.")
        }
        Some("fermeture") => Some("Votre demande de clôture a été transmise."),
        Some("poursuite") => Some("Votre souhait de poursuivre la procédure a été transmis."),
        Some("modification") => {
            Some("Vos corrections ont été enregistrées et transmises aux services.")
        }
        Some("inchange") => Some("Vous n’avez rien modifié."),
        Some("invitation") => Some("L’invitation a été envoyée par courriel."),
        Some("retrait") => Some("L’accès de cette personne a été retiré."),
        Some("courriel") => Some(
            "Un lien de confirmation a été envoyé à la nouvelle adresse : l’adresse changera quand il sera ouvert.",
        ),
        Some("courriel-confirme") => Some("La nouvelle adresse électronique est confirmée."),
        _ => None,
    };
    let page = render_space(
        &state,
        layout,
        &report,
        &viewer,
        String::new(),
        None,
        notice,
    )
    .await?;
    Ok(page.into_response())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::case::resident::text_to_html;

    #[test]
    fn resident_text_is_stored_escaped_and_shown_as_text() {
        let html = text_to_html("<script>alert(1)</script>\nligne 2");
        assert!(!html.contains("<script>"));
        assert_eq!(
            body_to_paragraphs(&html),
            vec!["<script>alert(1)</script>", "ligne 2"]
        );
    }
}
