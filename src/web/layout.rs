//! What every page shares: the navigation, the signed-in user's name, the
//! CSRF token for forms, a flash message, and the error page.

use std::sync::OnceLock;

use askama::Template;
use askama_web::WebTemplate;
use axum::{extract::FromRequestParts, http::StatusCode, http::request::Parts};

use super::csrf::CsrfToken;
use crate::{auth::session::CurrentUser, domain::roles::Role};

/// One entry of the main navigation.
#[derive(Debug, Clone)]
pub struct NavItem {
    pub label: String,
    pub href: String,
    pub active: bool,
}

/// The variables the base layout (`templates/layouts/base.html`) reads.
#[derive(Debug, Clone)]
pub struct Layout {
    pub nav: Vec<NavItem>,
    pub user_name: Option<String>,
    pub csrf_token: String,
    pub flash: Option<String>,
    pub asset_version: String,
}

static ASSET_VERSION: OnceLock<String> = OnceLock::new();

/// Set once at start-up from the content of `assets/`, so that a deploy that
/// changes a file changes its URL (assets are cached for a year).
pub fn set_asset_version(version: String) {
    let _ = ASSET_VERSION.set(version);
}

pub fn asset_version() -> String {
    ASSET_VERSION
        .get()
        .cloned()
        .unwrap_or_else(|| env!("CARGO_PKG_VERSION").to_owned())
}

/// The public navigation, with the entry for `path` marked active.
pub fn public_nav(path: &str) -> Vec<NavItem> {
    [
        ("Accueil", "/"),
        ("Signaler un problème", "/signalement"),
        ("Suivre mon signalement", "/suivre-mon-signalement"),
        ("Statistiques", "/statistiques"),
    ]
    .into_iter()
    .map(|(label, href)| NavItem {
        label: label.to_owned(),
        href: href.to_owned(),
        active: if href == "/" {
            path == "/"
        } else {
            path.starts_with(href)
        },
    })
    .collect()
}

impl Layout {
    /// The layout of a public page.
    pub fn public(path: &str, csrf_token: String) -> Self {
        Self {
            nav: public_nav(path),
            user_name: None,
            csrf_token,
            flash: None,
            asset_version: asset_version(),
        }
    }
}

/// The back-office navigation for a role; `path` marks the active entry.
pub fn office_nav(role: Role, path: &str) -> Vec<NavItem> {
    let mut items = vec![
        ("Tableau de bord", "/bo"),
        ("Signalements", "/bo/signalements"),
        ("Cartographie", "/bo/cartographie"),
        ("Statistiques", "/bo/statistiques"),
    ];
    if role >= Role::PartnerAdmin {
        items.push(("Utilisateurs", "/bo/utilisateurs"));
    }
    if role >= Role::TerritoryAdmin {
        items.push(("Partenaires", "/bo/partenaires"));
        items.push(("Étiquettes", "/bo/etiquettes"));
        items.push(("Règles d’affectation", "/bo/regles-affectation"));
        items.push(("Interconnexions", "/bo/interconnexions"));
        items.push(("Comptes API", "/bo/comptes-api"));
        items.push(("Arrêtés", "/bo/arretes/import"));
    }
    if role == Role::SuperAdmin {
        items.push(("Territoires", "/bo/territoires"));
        items.push(("Journal d’audit", "/bo/journal"));
    }
    items
        .into_iter()
        .map(|(label, href)| NavItem {
            label: label.to_owned(),
            href: href.to_owned(),
            active: if href == "/bo" {
                path == "/bo"
            } else {
                path.starts_with(href)
            },
        })
        .collect()
}

impl Layout {
    /// The layout of a back-office page for the signed-in user.
    pub fn office(user: &CurrentUser, path: &str, csrf_token: String) -> Self {
        Self {
            nav: office_nav(user.role, path),
            user_name: Some(user.display_name()),
            csrf_token,
            flash: None,
            asset_version: asset_version(),
        }
    }

    pub fn with_flash(mut self, flash: Option<String>) -> Self {
        self.flash = flash;
        self
    }
}

/// Extractor for back-office pages: the signed-in user and their layout.
pub struct OfficePage {
    pub user: CurrentUser,
    pub layout: Layout,
}

impl<S: Send + Sync> FromRequestParts<S> for OfficePage {
    type Rejection = crate::error::AppError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        let user = CurrentUser::from_request_parts(parts, state).await?;
        let token = parts
            .extensions
            .get::<CsrfToken>()
            .map(|t| t.0.clone())
            .unwrap_or_default();
        let flash = parts
            .uri
            .query()
            .and_then(|q| q.split('&').find_map(|pair| pair.strip_prefix("ok=")))
            .and_then(flash_message)
            .map(str::to_owned);
        let layout = Layout::office(&user, parts.uri.path(), token).with_flash(flash);
        Ok(Self { user, layout })
    }
}

/// The confirmation shown after a successful action: the redirect carries a
/// code (`?ok=...`), never free text, so a link cannot inject a message.
pub fn flash_message(code: &str) -> Option<&'static str> {
    Some(match code {
        "connecte" => "Vous êtes connecté.",
        "profil" => "Votre profil a été enregistré.",
        "mot-de-passe" => "Votre mot de passe a été modifié.",
        "utilisateur-cree" => "Le compte a été créé ; un e-mail d’activation a été envoyé.",
        "utilisateur-modifie" => "Le compte a été modifié.",
        "utilisateur-desactive" => "Le compte a été désactivé.",
        "utilisateur-reactive" => "Le compte a été réactivé.",
        "activation-renvoyee" => "Un nouvel e-mail d’activation a été envoyé.",
        "partenaire-cree" => "Le partenaire a été créé.",
        "partenaire-modifie" => "Le partenaire a été modifié.",
        "territoire-modifie" => "Le territoire a été modifié.",
        "etiquette-creee" => "L’étiquette a été créée.",
        "etiquette-supprimee" => "L’étiquette a été supprimée.",
        "compte-api-revoque" => "Le compte API a été révoqué ; ses jetons ne sont plus acceptés.",
        _ => return None,
    })
}

/// Extractor for public pages: the layout of the requested path.
pub struct PublicLayout(pub Layout);

impl<S: Send + Sync> FromRequestParts<S> for PublicLayout {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Self::Rejection> {
        let token = parts
            .extensions
            .get::<CsrfToken>()
            .map(|t| t.0.clone())
            .unwrap_or_default();
        Ok(Self(Layout::public(parts.uri.path(), token)))
    }
}

/// The French error page (404, 403, 500, 503...).
#[derive(Template, WebTemplate)]
#[template(path = "pages/errors/error.html")]
pub struct ErrorPage {
    pub layout: Layout,
    pub status: u16,
    pub title: String,
    pub message: String,
}

impl ErrorPage {
    pub fn new(status: StatusCode, title: &str, message: String) -> Self {
        Self {
            layout: Layout::public("", String::new()),
            status: status.as_u16(),
            title: title.to_owned(),
            message,
        }
    }
}
