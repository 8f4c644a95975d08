//! API accounts in the back office (`/bo/comptes-api`): a territory admin
//! or a super admin creates one for a partner system, bound to the
//! territory or to some of its partners, with permissions; its secret is
//! shown once; accounts are listed with their last use and revoked here
//! (docs/api.md).

use askama::Template;
use askama_web::WebTemplate;
use axum::{
    extract::{Path, RawForm, State},
    http::StatusCode,
    response::{IntoResponse, Redirect, Response},
};

use crate::{
    app::AppState,
    auth::{self, session::RequestOrigin},
    db,
    domain::{
        self,
        api::{AccountError, AccountScope, Permission, Permissions, can_manage_accounts},
        roles::Role,
    },
    error::{AppError, AppResult},
    web::{
        account::audit_event,
        forms::FormErrors,
        layout::{Layout, OfficePage},
        routes::Routes,
    },
};

pub fn register(routes: Routes) -> Routes {
    use crate::domain::permissions::Access;
    routes
        .get("/bo/comptes-api", Access::TerritoryAdmin, list_accounts)
        .post("/bo/comptes-api", Access::TerritoryAdmin, create_account)
        .post(
            "/bo/comptes-api/{id}/revoquer",
            Access::TerritoryAdmin,
            revoke_account,
        )
}

/// The creation form, as typed.
#[derive(Debug, Default, Clone)]
pub struct AccountForm {
    pub name: String,
    pub territory_id: String,
    pub scope: String,
    pub partners: Vec<String>,
    pub permissions: Vec<String>,
}

impl AccountForm {
    /// Reads the urlencoded body (checkboxes repeat their key).
    fn parse(body: &[u8]) -> Self {
        let mut form = AccountForm::default();
        let pairs = serde_urlencoded::from_bytes::<Vec<(String, String)>>(body).unwrap_or_default();
        for (key, value) in pairs {
            match key.as_str() {
                "name" => form.name = value,
                "territory_id" => form.territory_id = value,
                "scope" => form.scope = value,
                "partners" => form.partners.push(value),
                "permissions" => form.permissions.push(value),
                _ => {}
            }
        }
        form
    }

    pub fn has_partner(&self, id: &u64) -> bool {
        self.partners.iter().any(|p| *p == id.to_string())
    }

    pub fn has_permission(&self, code: &str) -> bool {
        self.permissions.iter().any(|p| p == code)
    }
}

#[derive(Template, WebTemplate)]
#[template(path = "pages/office/api_accounts.html")]
pub struct ApiAccountsPage {
    pub layout: Layout,
    pub accounts: Vec<db::api::AccountRow>,
    pub territories: Vec<(u32, String)>,
    pub partners: Vec<(u64, String, u32)>,
    pub permissions: Vec<(&'static str, &'static str)>,
    pub form: AccountForm,
    pub errors: FormErrors,
}

/// The page shown once after a creation, with the secret.
#[derive(Template, WebTemplate)]
#[template(path = "pages/office/api_account_created.html")]
pub struct ApiAccountCreatedPage {
    pub layout: Layout,
    pub name: String,
    pub identifier: String,
    pub secret: String,
}

impl ApiAccountsPage {
    /// A date of the list (`—` when there is none).
    pub fn when(&self, at: Option<&time::PrimitiveDateTime>) -> String {
        at.map_or_else(|| "—".to_owned(), super::cases::format_datetime)
    }
}

/// The territories the user administers (`None`: every one).
fn scope_of(page: &OfficePage) -> Option<Vec<u32>> {
    (page.user.role != Role::SuperAdmin).then(|| page.user.actor.territory_ids())
}

async fn page_of(
    state: &AppState,
    page: OfficePage,
    form: AccountForm,
    errors: FormErrors,
) -> AppResult<ApiAccountsPage> {
    let scope = scope_of(&page);
    let accounts = db::api::list_accounts(&state.db, scope.as_deref()).await?;
    let territories = super::filter_options::territory_options(state, scope.as_deref()).await?;
    let partners = db::partners::options(&state.db, scope.as_deref()).await?;
    Ok(ApiAccountsPage {
        layout: page.layout,
        accounts,
        territories,
        partners,
        permissions: Permission::ALL.map(|p| (p.code(), p.label())).to_vec(),
        form,
        errors,
    })
}

pub async fn list_accounts(
    State(state): State<AppState>,
    page: OfficePage,
) -> AppResult<ApiAccountsPage> {
    let form = AccountForm {
        territory_id: page
            .user
            .actor
            .territory_ids()
            .first()
            .map(ToString::to_string)
            .unwrap_or_default(),
        scope: "partners".into(),
        permissions: vec![Permission::ReadCases.code().into()],
        ..AccountForm::default()
    };
    page_of(&state, page, form, FormErrors::default()).await
}

pub async fn create_account(
    State(state): State<AppState>,
    origin: RequestOrigin,
    page: OfficePage,
    RawForm(body): RawForm,
) -> AppResult<Response> {
    let form = AccountForm::parse(&body);
    let mut errors = FormErrors::default();
    let territory_id = form.territory_id.trim().parse::<u32>().unwrap_or(0);
    let offered =
        super::filter_options::territory_options(&state, scope_of(&page).as_deref()).await?;
    if !can_manage_accounts(&page.user.actor, territory_id)
        || !offered.iter().any(|(id, _)| *id == territory_id)
    {
        errors.add(
            "territory_id",
            "Choisissez un territoire de votre périmètre.",
        );
    }
    let scope = if form.scope == "territory" {
        AccountScope::Territory(territory_id)
    } else {
        AccountScope::Partners(
            form.partners
                .iter()
                .filter_map(|p| p.parse::<u64>().ok())
                .collect(),
        )
    };
    let permissions = Permissions::new(
        form.permissions
            .iter()
            .filter_map(|p| Permission::parse(p))
            .collect(),
    );
    let partner_territories: Vec<(u64, u32)> =
        db::partners::options(&state.db, Some(&[territory_id]))
            .await?
            .into_iter()
            .map(|(id, _, territory)| (id, territory))
            .collect();
    let name = form.name.trim().to_owned();
    for error in domain::api::check_new_account(
        &name,
        territory_id,
        &scope,
        &partner_territories,
        &permissions,
    ) {
        match error {
            AccountError::NameMissing => errors.add(
                "name",
                "Indiquez le nom du compte (le logiciel partenaire, 100 caractères au plus).",
            ),
            AccountError::NoPermission => {
                errors.add("permissions", "Cochez au moins une permission.")
            }
            AccountError::PartnersInvalid => errors.add(
                "partners",
                "Cochez au moins un partenaire du territoire choisi, ou liez le compte à tout le territoire.",
            ),
        }
    }
    if !errors.is_empty() {
        let view = page_of(&state, page, form, errors).await?;
        return Ok((StatusCode::UNPROCESSABLE_ENTITY, view).into_response());
    }
    let (secret, secret_hash) = auth::api::new_secret();
    let uuid = uuid::Uuid::new_v4().to_string();
    let mut tx = state.db.begin().await?;
    let id = db::api::insert_account(
        &mut tx,
        &db::api::NewAccount {
            uuid: &uuid,
            name: &name,
            territory_id,
            scope: &scope,
            permissions: &permissions,
            secret_hash: &secret_hash,
            created_by_user_id: page.user.id,
        },
    )
    .await?;
    db::audit::record(
        &mut tx,
        &audit_event(
            Some(&page.user),
            &origin,
            "create",
            "api_account",
            Some(id.to_string()),
            Some(domain::audit::created(&[
                ("name", name.clone()),
                ("territory_id", territory_id.to_string()),
                ("scope", scope.code().to_owned()),
                (
                    "permissions",
                    permissions
                        .iter()
                        .map(Permission::code)
                        .collect::<Vec<_>>()
                        .join(","),
                ),
            ])),
        ),
    )
    .await?;
    tx.commit().await?;
    // The secret is in this page only: never stored, never redirected.
    let mut response = (
        StatusCode::CREATED,
        ApiAccountCreatedPage {
            layout: page.layout,
            name,
            identifier: uuid,
            secret,
        },
    )
        .into_response();
    response.headers_mut().insert(
        axum::http::header::CACHE_CONTROL,
        axum::http::HeaderValue::from_static("no-store"),
    );
    Ok(response)
}

pub async fn revoke_account(
    State(state): State<AppState>,
    origin: RequestOrigin,
    page: OfficePage,
    Path(id): Path<u64>,
) -> AppResult<Redirect> {
    let territory_id = db::api::find_account_territory(&state.db, id)
        .await?
        .ok_or(AppError::NotFound)?;
    if !can_manage_accounts(&page.user.actor, territory_id) {
        return Err(AppError::Forbidden);
    }
    let mut tx = state.db.begin().await?;
    if db::api::revoke_account(&mut tx, id, page.user.id).await? {
        db::audit::record(
            &mut tx,
            &audit_event(
                Some(&page.user),
                &origin,
                "revoke",
                "api_account",
                Some(id.to_string()),
                None,
            ),
        )
        .await?;
    }
    tx.commit().await?;
    Ok(Redirect::to("/bo/comptes-api?ok=compte-api-revoque"))
}
