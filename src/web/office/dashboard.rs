//! The back-office home page. The queues of reports arrive with the case
//! workflow; for now it greets the user and shows their scope.

use askama::Template;
use askama_web::WebTemplate;

use crate::{
    auth::session::PartnerMembership,
    web::layout::{Layout, OfficePage},
};

#[derive(Template, WebTemplate)]
#[template(path = "pages/office/dashboard.html")]
pub struct DashboardPage {
    pub layout: Layout,
    pub first_name: String,
    pub role_label: &'static str,
    pub memberships: Vec<PartnerMembership>,
    pub links: Vec<(&'static str, &'static str, &'static str)>,
}

pub async fn show_dashboard(page: OfficePage) -> DashboardPage {
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
    DashboardPage {
        first_name: page.user.first_name.clone(),
        role_label: page.user.role.label(),
        memberships: page.user.memberships.clone(),
        links,
        layout: page.layout,
    }
}
