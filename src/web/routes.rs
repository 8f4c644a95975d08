//! The route table: every route of the site with the access it requires.
//!
//! Routes are registered through [`Routes::add`], which both mounts the
//! handler behind the authorization gate and records the route in the table
//! that the role × route test walks: a route cannot be added without saying
//! who may use it, and a route missing from the test's matrix fails it.

use axum::{
    Router,
    handler::Handler,
    middleware,
    routing::{MethodFilter, on},
};

use super::gate::gate;
use crate::{app::AppState, domain::permissions::Access};

/// One route and the access it requires.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RouteInfo {
    pub method: &'static str,
    pub path: &'static str,
    pub access: Access,
}

pub struct Routes {
    router: Router<AppState>,
    table: Vec<RouteInfo>,
}

impl Routes {
    fn new() -> Self {
        Self {
            router: Router::new(),
            table: Vec::new(),
        }
    }

    pub fn add<H, T>(
        mut self,
        method: &'static str,
        path: &'static str,
        access: Access,
        handler: H,
    ) -> Self
    where
        H: Handler<T, AppState>,
        T: 'static,
    {
        let filter = match method {
            "GET" => MethodFilter::GET,
            "POST" => MethodFilter::POST,
            other => panic!("unsupported method {other}"),
        };
        let route = on(filter, handler).route_layer(middleware::from_fn_with_state(access, gate));
        self.router = self.router.route(path, route);
        self.table.push(RouteInfo {
            method,
            path,
            access,
        });
        self
    }

    pub fn get<H: Handler<T, AppState>, T: 'static>(
        self,
        path: &'static str,
        access: Access,
        handler: H,
    ) -> Self {
        self.add("GET", path, access, handler)
    }

    pub fn post<H: Handler<T, AppState>, T: 'static>(
        self,
        path: &'static str,
        access: Access,
        handler: H,
    ) -> Self {
        self.add("POST", path, access, handler)
    }
}

/// Every page and action of the site.
pub fn routes() -> (Router<AppState>, Vec<RouteInfo>) {
    use super::{account, health, office, public::pages};
    use Access::*;
    let routes = Routes::new()
        // Public pages.
        .get("/", Public, pages::show_home)
        .get("/accessibilite", Public, pages::show_accessibility)
        .get("/mentions-legales", Public, pages::show_legal)
        .get("/donnees-personnelles", Public, pages::show_privacy)
        .get("/plan-du-site", Public, pages::show_sitemap)
        .get("/healthz", Public, health::healthz)
        .get("/readyz", Public, health::readyz)
        // Behind METRICS_TOKEN (docs/worker.md §6).
        .get("/metrics", Public, super::metrics::serve)
        // Accounts.
        .get("/connexion", Public, account::show_login)
        .post("/connexion", Public, account::log_in)
        .post("/deconnexion", Public, account::log_out)
        .get(
            "/mot-de-passe-oublie",
            Public,
            account::show_forgot_password,
        )
        .post(
            "/mot-de-passe-oublie",
            Public,
            account::request_password_reset,
        )
        .get(
            "/mot-de-passe/{token}",
            Public,
            account::show_reset_password,
        )
        .post("/mot-de-passe/{token}", Public, account::reset_password)
        .get("/activation/{token}", Public, account::show_activation)
        .post("/activation/{token}", Public, account::activate)
        // Back office.
        .get("/bo", SignedIn, office::dashboard::show_dashboard)
        .get("/bo/profil", SignedIn, office::profile::show_profile)
        .post("/bo/profil", SignedIn, office::profile::update_profile)
        .post(
            "/bo/profil/mot-de-passe",
            SignedIn,
            office::profile::change_password,
        )
        .get("/bo/utilisateurs", PartnerAdmin, office::users::list_users)
        .get(
            "/bo/utilisateurs/nouveau",
            PartnerAdmin,
            office::users::show_new_user,
        )
        .post(
            "/bo/utilisateurs/nouveau",
            PartnerAdmin,
            office::users::create_user,
        )
        .get(
            "/bo/utilisateurs/{id}",
            PartnerAdmin,
            office::users::show_user,
        )
        .post(
            "/bo/utilisateurs/{id}",
            PartnerAdmin,
            office::users::update_user,
        )
        .post(
            "/bo/utilisateurs/{id}/desactiver",
            PartnerAdmin,
            office::users::deactivate_user,
        )
        .post(
            "/bo/utilisateurs/{id}/reactiver",
            PartnerAdmin,
            office::users::reactivate_user,
        )
        .post(
            "/bo/utilisateurs/{id}/renvoyer-activation",
            PartnerAdmin,
            office::users::resend_activation,
        )
        .get(
            "/bo/partenaires",
            TerritoryAdmin,
            office::partners::list_partners,
        )
        .get(
            "/bo/partenaires/nouveau",
            TerritoryAdmin,
            office::partners::show_new_partner,
        )
        .post(
            "/bo/partenaires/nouveau",
            TerritoryAdmin,
            office::partners::create_partner,
        )
        .get(
            "/bo/partenaires/{id}",
            TerritoryAdmin,
            office::partners::show_partner,
        )
        .post(
            "/bo/partenaires/{id}",
            TerritoryAdmin,
            office::partners::update_partner,
        )
        .get("/bo/etiquettes", TerritoryAdmin, office::tags::list_tags)
        .post("/bo/etiquettes", TerritoryAdmin, office::tags::create_tag)
        .post(
            "/bo/etiquettes/{id}/supprimer",
            TerritoryAdmin,
            office::tags::delete_tag,
        )
        .get(
            "/bo/territoires",
            SuperAdmin,
            office::territories::list_territories,
        )
        .get(
            "/bo/territoires/{id}",
            SuperAdmin,
            office::territories::show_territory,
        )
        .post(
            "/bo/territoires/{id}",
            SuperAdmin,
            office::territories::update_territory,
        )
        .get("/bo/journal", SuperAdmin, office::audit::list_events)
        // Cases: the gate lets each role in; the record policy
        // (domain::workflow) decides per case and per action.
        .get("/bo/signalements", SignedIn, office::cases::list_cases)
        .post(
            "/bo/signalements/filtres",
            SignedIn,
            office::cases::save_filter,
        )
        .post(
            "/bo/signalements/filtres/{id}/supprimer",
            SignedIn,
            office::cases::delete_filter,
        )
        .get(
            "/bo/signalements/{uuid}",
            SignedIn,
            office::cases::show_case,
        )
        .post(
            "/bo/signalements/{uuid}/valider",
            TerritoryAdmin,
            office::case_actions::validate_case,
        )
        .post(
            "/bo/signalements/{uuid}/refuser",
            TerritoryAdmin,
            office::case_actions::refuse_case,
        )
        .post(
            "/bo/signalements/{uuid}/affecter",
            TerritoryAdmin,
            office::case_actions::assign_partner,
        )
        .post(
            "/bo/signalements/{uuid}/desaffecter",
            TerritoryAdmin,
            office::case_actions::unassign_partner,
        )
        .post(
            "/bo/signalements/{uuid}/cloturer",
            TerritoryAdmin,
            office::case_actions::close_case,
        )
        .post(
            "/bo/signalements/{uuid}/rouvrir",
            TerritoryAdmin,
            office::case_actions::reopen_case,
        )
        .post(
            "/bo/signalements/{uuid}/affectation/accepter",
            SignedIn,
            office::case_actions::accept_assignment,
        )
        .post(
            "/bo/signalements/{uuid}/affectation/refuser",
            SignedIn,
            office::case_actions::refuse_assignment,
        )
        .post(
            "/bo/signalements/{uuid}/affectation/cloturer",
            SignedIn,
            office::case_actions::close_assignment,
        )
        .post(
            "/bo/signalements/{uuid}/suivis",
            SignedIn,
            office::case_actions::add_follow_up,
        )
        .post(
            "/bo/signalements/{uuid}/visites",
            SignedIn,
            office::visits::plan,
        )
        .post(
            "/bo/signalements/{uuid}/visites/{visit_id}",
            SignedIn,
            office::visits::conclude,
        )
        .post(
            "/bo/signalements/{uuid}/visites/{visit_id}/reporter",
            SignedIn,
            office::visits::reschedule,
        )
        .post(
            "/bo/signalements/{uuid}/visites/{visit_id}/annuler",
            SignedIn,
            office::visits::cancel,
        )
        .post(
            "/bo/signalements/{uuid}/visites/{visit_id}/conclusion",
            SignedIn,
            office::visits::edit_conclusion,
        )
        .post(
            "/bo/signalements/{uuid}/etiquettes",
            SignedIn,
            office::case_actions::set_tags,
        )
        .post(
            "/bo/signalements/{uuid}/abonnement",
            SignedIn,
            office::case_actions::toggle_subscription,
        )
        .get(
            "/bo/regles-affectation",
            TerritoryAdmin,
            office::auto_assignment::list_rules,
        )
        .post(
            "/bo/regles-affectation",
            TerritoryAdmin,
            office::auto_assignment::create_rule,
        )
        .post(
            "/bo/regles-affectation/{id}/archiver",
            TerritoryAdmin,
            office::auto_assignment::archive_rule,
        )
        .get(
            "/bo/documents/{uuid}",
            SignedIn,
            office::cases::download_document,
        )
        .get(
            "/bo/signalements/{uuid}/modifier",
            SignedIn,
            office::case_edit::show_edit,
        )
        .post(
            "/bo/signalements/{uuid}/modifier",
            SignedIn,
            office::case_edit::save_edit,
        )
        .get(
            "/bo/notifications",
            SignedIn,
            office::cases::list_notifications,
        )
        .post(
            "/bo/notifications/tout-lu",
            SignedIn,
            office::cases::mark_notifications_seen,
        );
    // Each feature area registers its own routes through the same builder.
    let routes = super::public::form::register(routes);
    let routes = super::public::follow_up::register(routes);
    let routes = office::interconnections::register(routes);
    let routes = office::map::register(routes);
    let routes = office::api_accounts::register(routes);
    let routes = office::documents::register(routes);
    let routes = office::visits::register(routes);
    let routes = office::delivery::register(routes);
    let routes = super::webhooks::register(routes);
    let routes = office::terms::register(routes);
    let routes = super::public::contact::register(routes);
    let routes = routes
        .get(
            "/conditions-utilisation",
            Public,
            super::public::terms::show_public,
        )
        .get(
            "/conditions-utilisation-professionnels",
            Public,
            super::public::terms::show_agents,
        );
    let routes = office::arretes::register(routes);
    let routes = office::addresses::register(routes);
    // Extractor rejections (bad form, query or path) become French pages.
    let router = routes
        .router
        .layer(middleware::from_fn(super::error_page::french_rejections));
    (router, routes.table)
}

/// The table alone, for the role × route test.
pub fn route_table() -> Vec<RouteInfo> {
    routes().1
}
