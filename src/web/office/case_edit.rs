//! Editing the sections of a report (contacts, dwelling, address) from the
//! back office: version-checked, recorded in the history with a diff, the
//! severity and suspected qualifications recomputed, and a new geocoding
//! queued when the address changed.

use askama::Template;
use askama_web::WebTemplate;
use axum::{
    extract::{Path, RawForm, State},
    http::StatusCode,
    response::{IntoResponse, Redirect, Response},
};

use super::cases::load_visible;
use crate::{
    app::AppState,
    db::{self, case_edit::Sections},
    domain::{
        self,
        workflow::{self, CaseAction},
    },
    error::{AppError, AppResult},
    queue::{self, Job, JobContext},
    web::{
        forms::FormErrors,
        layout::{Layout, OfficePage},
    },
};

#[derive(Template, WebTemplate)]
#[template(path = "pages/office/case_edit.html")]
pub struct CaseEditPage {
    pub layout: Layout,
    pub uuid: String,
    pub reference: String,
    pub version: u32,
    pub f: Vec<(&'static str, &'static str, String)>,
    pub choices: Vec<(&'static str, &'static str, String)>,
    pub errors: FormErrors,
}

/// (field, label) of the text fields, in form order.
const TEXT_FIELDS: [(&str, &str); 13] = [
    ("occupant_first_name", "Prénom de l’occupant"),
    ("occupant_last_name", "Nom de l’occupant"),
    ("occupant_email", "Courriel de l’occupant"),
    ("occupant_phone", "Téléphone de l’occupant"),
    ("landlord_name", "Nom ou raison sociale du bailleur"),
    ("landlord_email", "Courriel du bailleur"),
    ("landlord_phone", "Téléphone du bailleur"),
    ("dwelling_surface", "Surface (m²)"),
    ("dwelling_rooms", "Nombre de pièces à vivre"),
    ("dwelling_occupants_count", "Nombre d’occupants"),
    ("address_line", "Adresse (numéro et voie)"),
    ("postal_code", "Code postal"),
    ("city", "Commune"),
];
/// (field, label) of the yes / no / unknown fields.
const CHOICE_FIELDS: [(&str, &str); 3] = [
    ("dwelling_children_under_6", "Enfants de moins de 6 ans"),
    ("is_public_housing", "Logement social"),
    (
        "household_housing_allowance",
        "Allocataire (aide au logement)",
    ),
];

fn text_of(s: &Sections, field: &str) -> String {
    match field {
        "occupant_first_name" => s.occupant_first_name.clone().unwrap_or_default(),
        "occupant_last_name" => s.occupant_last_name.clone().unwrap_or_default(),
        "occupant_email" => s.occupant_email.clone().unwrap_or_default(),
        "occupant_phone" => s.occupant_phone.clone().unwrap_or_default(),
        "landlord_name" => s.landlord_name.clone().unwrap_or_default(),
        "landlord_email" => s.landlord_email.clone().unwrap_or_default(),
        "landlord_phone" => s.landlord_phone.clone().unwrap_or_default(),
        "dwelling_surface" => s
            .dwelling_surface
            .map(|v| v.to_string())
            .unwrap_or_default(),
        "dwelling_rooms" => s.dwelling_rooms.map(|v| v.to_string()).unwrap_or_default(),
        "dwelling_occupants_count" => s
            .dwelling_occupants_count
            .map(|v| v.to_string())
            .unwrap_or_default(),
        "address_line" => s.address_line.clone(),
        "postal_code" => s.postal_code.clone(),
        "city" => s.city.clone(),
        "dwelling_children_under_6" => choice_code(s.dwelling_children_under_6),
        "is_public_housing" => choice_code(s.is_public_housing),
        "household_housing_allowance" => choice_code(s.household_housing_allowance),
        _ => String::new(),
    }
}

fn choice_code(value: Option<bool>) -> String {
    match value {
        Some(true) => "oui",
        Some(false) => "non",
        None => "nsp",
    }
    .to_owned()
}

fn page(
    layout: Layout,
    uuid: &str,
    reference: &str,
    version: u32,
    values: &dyn Fn(&str) -> String,
    errors: FormErrors,
) -> CaseEditPage {
    CaseEditPage {
        layout,
        uuid: uuid.to_owned(),
        reference: reference.to_owned(),
        version,
        f: TEXT_FIELDS
            .iter()
            .map(|(name, label)| (*name, *label, values(name)))
            .collect(),
        choices: CHOICE_FIELDS
            .iter()
            .map(|(name, label)| (*name, *label, values(name)))
            .collect(),
        errors,
    }
}

pub async fn show_edit(
    State(state): State<AppState>,
    office: OfficePage,
    Path(uuid): Path<String>,
) -> AppResult<CaseEditPage> {
    let (key, facts) = load_visible(&state, &office.user, &uuid).await?;
    if !workflow::can(&office.user.actor, &facts, CaseAction::EditSections) {
        return Err(AppError::Forbidden);
    }
    let sections = db::case_edit::load(&state.db, key.id).await?;
    Ok(page(
        office.layout,
        &uuid,
        &key.reference,
        key.version,
        &|f| text_of(&sections, f),
        FormErrors::default(),
    ))
}

fn phone_ok(value: &str) -> bool {
    let digits = value.chars().filter(char::is_ascii_digit).count();
    value
        .chars()
        .all(|c| c.is_ascii_digit() || matches!(c, ' ' | '+' | '.' | '-'))
        && (10..=15).contains(&digits)
}

pub async fn save_edit(
    State(state): State<AppState>,
    office: OfficePage,
    Path(uuid): Path<String>,
    RawForm(body): RawForm,
) -> AppResult<Response> {
    let (key, facts) = load_visible(&state, &office.user, &uuid).await?;
    if !workflow::can(&office.user.actor, &facts, CaseAction::EditSections) {
        return Err(AppError::Forbidden);
    }
    let pairs: Vec<(String, String)> = serde_urlencoded::from_bytes(&body).unwrap_or_default();
    let get = |name: &str| {
        pairs
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.trim().to_owned())
            .unwrap_or_default()
    };
    let version: u32 = get("version").parse().unwrap_or(0);
    if version != key.version {
        return Err(AppError::Conflict(
            "Ce signalement a été modifié par quelqu’un d’autre pendant que vous le modifiiez : vos changements n’ont pas été enregistrés. Rechargez la page pour repartir de la version à jour.".into(),
        ));
    }
    let mut errors = FormErrors::default();
    let opt = |name: &str| Some(get(name)).filter(|v| !v.is_empty());
    for (name, label) in TEXT_FIELDS {
        if get(name).chars().count() > 255 {
            errors.add(name, format!("{label} : 255 caractères au plus."));
        }
    }
    for name in ["occupant_email", "landlord_email"] {
        if let Some(v) = opt(name)
            && crate::domain::contact::Email::parse(&v).is_err()
        {
            errors.add(
                name,
                "Saisissez une adresse électronique valide, par exemple nom@domaine.fr.",
            );
        }
    }
    for name in ["occupant_phone", "landlord_phone"] {
        if let Some(v) = opt(name)
            && !phone_ok(&v)
        {
            errors.add(name, "Saisissez un numéro de téléphone valide, par exemple 06 12 34 56 78 ou +262 692 12 34 56.");
        }
    }
    let number = |name: &'static str, max: f64, errors: &mut FormErrors| -> Option<f64> {
        let raw = get(name).replace(',', ".");
        if raw.is_empty() {
            return None;
        }
        match raw.parse::<f64>() {
            Ok(v) if v > 0.0 && v <= max => Some(v),
            _ => {
                errors.add(name, format!("Indiquez un nombre entre 1 et {max}."));
                None
            }
        }
    };
    let surface = number("dwelling_surface", 2000.0, &mut errors);
    let rooms = number("dwelling_rooms", 50.0, &mut errors).map(|v| v as u16);
    let occupants = number("dwelling_occupants_count", 50.0, &mut errors).map(|v| v as u16);
    let choice = |name: &str| match get(name).as_str() {
        "oui" => Some(true),
        "non" => Some(false),
        _ => None,
    };
    let address = get("address_line");
    let postal = get("postal_code");
    let city = get("city");
    if address.is_empty() {
        errors.add("address_line", "Indiquez le numéro et la voie.");
    }
    let communes = db::reports::communes_by_postal_code(&state.db, &postal).await?;
    let commune = communes
        .iter()
        .find(|c| c.name.to_lowercase() == city.to_lowercase())
        .or(communes
            .first()
            .filter(|_| communes.len() == 1 && city.is_empty()));
    match commune {
        None if communes.is_empty() => errors.add("postal_code", "Ce code postal n’existe pas."),
        None => errors.add("city", "Cette commune ne correspond pas au code postal."),
        Some(c) if c.territory_id != key.territory_id => errors.add(
            "postal_code",
            "Cette adresse est hors du territoire du signalement.",
        ),
        Some(_) => {}
    }
    if !errors.is_empty() {
        let view = page(
            office.layout,
            &uuid,
            &key.reference,
            key.version,
            &|f| get(f),
            errors,
        );
        return Ok((StatusCode::UNPROCESSABLE_ENTITY, view).into_response());
    }
    let commune = commune.ok_or(AppError::NotFound)?;
    let before = db::case_edit::load(&state.db, key.id).await?;
    let after = Sections {
        occupant_first_name: opt("occupant_first_name"),
        occupant_last_name: opt("occupant_last_name"),
        occupant_email: opt("occupant_email").map(|e| e.to_lowercase()),
        occupant_phone: opt("occupant_phone"),
        landlord_name: opt("landlord_name"),
        landlord_email: opt("landlord_email").map(|e| e.to_lowercase()),
        landlord_phone: opt("landlord_phone"),
        dwelling_surface: surface,
        dwelling_rooms: rooms,
        dwelling_occupants_count: occupants,
        dwelling_children_under_6: choice("dwelling_children_under_6"),
        is_public_housing: choice("is_public_housing"),
        household_housing_allowance: choice("household_housing_allowance"),
        address_line: address,
        postal_code: postal,
        city: commune.name.clone(),
    };
    let diff = domain::audit::diff(
        &TEXT_FIELDS
            .iter()
            .chain(CHOICE_FIELDS.iter())
            .map(|(name, _)| (*name, text_of(&before, name), text_of(&after, name)))
            .collect::<Vec<_>>(),
    );
    let mut tx = state.db.begin().await?;
    if !db::case_edit::save(&mut tx, key.id, key.version, &after, &commune.insee_code).await? {
        return Err(AppError::Conflict(
            "Ce signalement vient d’être modifié par quelqu’un d’autre : rechargez la page.".into(),
        ));
    }
    // Children under 6 and the household facts are scoring inputs: score
    // the report again from all its stored facts (docs/scoring.md §2.7).
    db::scoring::rescore(&mut tx, key.id).await?;
    if before.address_line != after.address_line
        || before.postal_code != after.postal_code
        || before.city != after.city
    {
        queue::enqueue(
            &mut tx,
            &Job::GeocodeReport { report_id: key.id },
            None,
            JobContext {
                report_id: Some(key.id),
                ..JobContext::default()
            },
        )
        .await?;
    }
    db::audit::record(
        &mut tx,
        &db::audit::NewEvent::on_case(
            Some((office.user.id, &office.user.email)),
            "edit",
            key.id,
            diff,
        ),
    )
    .await?;
    tx.commit().await?;
    Ok(Redirect::to(&format!("/bo/signalements/{uuid}")).into_response())
}
