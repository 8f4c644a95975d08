//! The back-office home page: the queues that need action, with counts and
//! links to the matching filtered list, and the administration shortcuts.

use askama::Template;
use askama_web::WebTemplate;

use axum::extract::State;

use crate::{
    app::AppState,
    auth::session::PartnerMembership,
    db,
    domain::{permissions, roles::Role},
    error::AppResult,
    web::layout::{Layout, OfficePage},
};

/// One queue of the dashboard.
pub struct Queue {
    pub code: &'static str,
    pub label: &'static str,
    pub count: i64,
    pub href: String,
}

#[derive(Template, WebTemplate)]
#[template(path = "pages/office/dashboard.html")]
pub struct DashboardPage {
    pub layout: Layout,
    pub first_name: String,
    pub role_label: &'static str,
    pub memberships: Vec<PartnerMembership>,
    pub links: Vec<(&'static str, &'static str, &'static str)>,
    pub queues: Vec<Queue>,
    pub unread: i64,
}

pub async fn show_dashboard(
    State(state): State<AppState>,
    page: OfficePage,
) -> AppResult<DashboardPage> {
    let scope = permissions::report_scope(&page.user.actor);
    let own_partners = if page.user.role >= Role::TerritoryAdmin {
        Vec::new()
    } else {
        page.user.actor.partner_ids()
    };
    let mut counts = db::dashboard::queue_counts(&state.db, &scope, &own_partners).await?;
    // A query of its own, driven by the few open delivery issues.
    counts.push((
        "email_to_check",
        db::delivery::count_to_check(&state.db, &scope).await?,
    ));
    let thirty_days_ago = time::OffsetDateTime::now_utc().date() - time::Duration::days(30);
    let inactive_since = format!(
        "{:04}-{:02}-{:02}",
        thirty_days_ago.year(),
        u8::from(thirty_days_ago.month()),
        thirty_days_ago.day()
    );
    let queues = counts
        .into_iter()
        .filter(|(code, _)| {
            page.user.role >= Role::TerritoryAdmin
                || !matches!(*code, "to_validate" | "no_accepted")
        })
        .map(|(code, count)| {
            let (label, href) = match code {
                "to_validate" => (
                    "Nouveaux signalements à valider",
                    "/bo/signalements?statut=need_validation".to_owned(),
                ),
                "no_accepted" => (
                    "Sans affectation acceptée",
                    "/bo/signalements?affectation=aucune_acceptee".to_owned(),
                ),
                "waiting_answer" => (
                    "Affectations en attente de réponse",
                    "/bo/signalements?affectation=en_attente&statut=active".to_owned(),
                ),
                "resident_messages" => (
                    "Messages d’usagers sans réponse",
                    "/bo/signalements?statut=active&suivi_auteur=resident".to_owned(),
                ),
                "visit_needed" => (
                    "Visite nécessaire (danger ou insalubrité, aucune visite)",
                    "/bo/signalements?visite=necessaire".to_owned(),
                ),
                "inactive" => (
                    "Sans activité depuis 30 jours",
                    format!("/bo/signalements?statut=active&suivi_au={inactive_since}"),
                ),
                "email_to_check" => (
                    "E-mail à vérifier (un e-mail à l’usager n’a pas été remis)",
                    "/bo/signalements?email_a_verifier=1".to_owned(),
                ),
                _ => (
                    "Demandes de clôture de l’usager",
                    "/bo/signalements?statut=active".to_owned(),
                ),
            };
            Queue {
                code,
                label,
                count,
                href,
            }
        })
        .collect();
    let unread = db::notifications::unread_count(&state.db, page.user.id).await?;
    let links = page
        .layout
        .nav
        .iter()
        .filter(|item| item.href != "/bo")
        .filter_map(|item| {
            Some(match item.href.as_str() {
                "/bo/utilisateurs" => (
                    "Utilisateurs",
                    "/bo/utilisateurs",
                    "Créer les comptes, changer les rôles, renvoyer les activations.",
                ),
                "/bo/partenaires" => (
                    "Partenaires",
                    "/bo/partenaires",
                    "Les organismes du territoire, leur périmètre et leurs compétences.",
                ),
                "/bo/etiquettes" => (
                    "Étiquettes",
                    "/bo/etiquettes",
                    "Les étiquettes qui classent les signalements du territoire.",
                ),
                "/bo/territoires" => (
                    "Territoires",
                    "/bo/territoires",
                    "Ouvrir un département au formulaire public, ses communes.",
                ),
                "/bo/journal" => (
                    "Journal d’audit",
                    "/bo/journal",
                    "Connexions et modifications administratives.",
                ),
                _ => return None,
            })
        })
        .collect();
    Ok(DashboardPage {
        queues,
        unread,
        first_name: page.user.first_name.clone(),
        role_label: page.user.role.label(),
        memberships: page.user.memberships.clone(),
        links,
        layout: page.layout,
    })
}
