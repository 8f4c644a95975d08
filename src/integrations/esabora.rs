//! Esabora, SCHS and SI-SH flavours (docs/contracts.md §4): treatments
//! (`POST {url}/modbdd/?task=doTreatment`) and searches
//! (`POST {url}/mult/?task=doSearch`), Bearer token, JSON bodies.

use serde::Deserialize;
use serde_json::{Value, json};

use super::{Call, CallContext, Http, JobError};
use crate::db::jobs_data::AssignmentContext;
use crate::domain::case::AssignmentStatus;

/// Which Esabora.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Flavour {
    Schs,
    Sish,
}

impl Flavour {
    pub fn parse(kind: &str) -> Option<Self> {
        match kind {
            "schs" => Some(Flavour::Schs),
            "sish" => Some(Flavour::Sish),
            _ => None,
        }
    }
    pub fn service(self) -> &'static str {
        match self {
            Flavour::Schs => "esabora_schs",
            Flavour::Sish => "esabora_sish",
        }
    }
    /// How follow-ups name the system.
    pub fn label(self) -> &'static str {
        match self {
            Flavour::Schs => "Esabora",
            Flavour::Sish => "SI-Santé Habitat (SI-SH)",
        }
    }
}

/// A partner's Esabora.
#[derive(Debug, Clone)]
pub struct Esabora {
    pub flavour: Flavour,
    pub url: String,
    pub token: String,
}

/// The answer to a treatment.
#[derive(Debug, Clone, PartialEq)]
pub enum Treated {
    /// Inserted; the first technical key (dossier or address id).
    Inserted(Option<String>),
    /// `WS_ERR_SQL`: the dossier already exists (a previous push got
    /// through). Counts as done, as in Histologe.
    Duplicate,
}

#[derive(Deserialize)]
struct TreatmentAnswer {
    #[serde(rename = "keyDataList", default)]
    key_data_list: Vec<Value>,
}

#[derive(Deserialize)]
struct ErrorAnswer {
    code: Option<String>,
}

/// A search result: named columns, positional rows.
#[derive(Debug, Clone, Default, Deserialize)]
pub struct SearchAnswer {
    #[serde(rename = "columnList", default)]
    pub column_list: Vec<String>,
    #[serde(rename = "rowList", default)]
    pub row_list: Vec<Row>,
}

#[derive(Debug, Clone, Default, Deserialize)]
pub struct Row {
    #[serde(rename = "columnDataList", default)]
    pub column_data_list: Vec<Value>,
    #[serde(rename = "keyDataList", default)]
    pub key_data_list: Vec<Value>,
}

impl SearchAnswer {
    /// The value of a named column in the first row (`None` when absent or
    /// null). Columns are looked up by name, as Histologe does.
    pub fn first(&self, column: &str) -> Option<String> {
        let index = self.column_list.iter().position(|c| c == column)?;
        value_text(self.row_list.first()?.column_data_list.get(index)?)
    }
}

/// A scalar as text (Esabora mixes strings and numbers).
pub fn value_text(value: &Value) -> Option<String> {
    match value {
        Value::String(s) => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        _ => None,
    }
}

fn field(name: &str, value: Value) -> Value {
    json!({ "fieldName": name, "fieldValue": value })
}

fn opt(value: &Option<String>) -> Value {
    value.as_deref().map_or(Value::Null, |v| json!(v))
}

fn truncate(value: &str, max: usize) -> String {
    value.chars().take(max).collect()
}

fn dmy(date: time::PrimitiveDateTime) -> String {
    format!(
        "{:02}/{:02}/{}",
        date.day(),
        u8::from(date.month()),
        date.year()
    )
}

/// Splits "12 bis rue des Lilas" into ("12", Some("BIS"), "rue des Lilas").
pub fn split_street(line: &str) -> (Option<String>, Option<String>, String) {
    let line = line.trim();
    let digits: String = line.chars().take_while(char::is_ascii_digit).collect();
    if digits.is_empty() {
        return (None, None, line.to_owned());
    }
    let rest = line[digits.len()..].trim_start_matches([',', ' ']);
    let mut words = rest.splitn(2, ' ');
    let first = words.next().unwrap_or_default();
    let suffix = ["bis", "ter", "quater", "b", "t"]
        .iter()
        .find(|s| first.eq_ignore_ascii_case(s));
    match suffix {
        Some(s) => (
            Some(digits),
            Some(s.to_ascii_uppercase()),
            words.next().unwrap_or_default().trim().to_owned(),
        ),
        None => (Some(digits), None, rest.trim().to_owned()),
    }
}

/// Floor as Esabora wants it: sous-sol → "-1", else the first number of at
/// most 3 digits; ground floor (0) → null, as in Histologe.
pub fn floor(value: Option<&str>) -> Value {
    let Some(value) = value.map(str::trim).filter(|v| !v.is_empty()) else {
        return Value::Null;
    };
    let lower = value.to_lowercase();
    if lower.contains("sous") || lower.starts_with('-') {
        return json!("-1");
    }
    let digits: String = value
        .chars()
        .skip_while(|c| !c.is_ascii_digit())
        .take_while(char::is_ascii_digit)
        .collect();
    match digits.parse::<u32>() {
        Ok(0) | Err(_) => Value::Null,
        Ok(n) if digits.len() <= 3 => json!(n.to_string()),
        Ok(_) => Value::Null,
    }
}

/// A document for `PJ_Documents`.
pub struct Attachment {
    pub name: String,
    pub content: Vec<u8>,
}

fn documents(attachments: &[Attachment]) -> Value {
    use base64::Engine;
    json!({
        "fieldName": "PJ_Documents",
        "fieldDocumentUpdate": 1,
        "fieldValue": attachments.iter().map(|a| json!({
            "documentName": truncate(&a.name, 100),
            "documentSize": a.content.len(),
            "documentContent": base64::engine::general_purpose::STANDARD.encode(&a.content),
        })).collect::<Vec<_>>(),
    })
}

fn occupant_phone(phone: &Option<String>) -> Value {
    match phone.as_deref() {
        Some(p) if p.starts_with("+33") => json!(format!("0{}", &p[3..])),
        Some(p) => json!(p.trim_start_matches('+')),
        None => Value::Null,
    }
}

fn problems(c: &AssignmentContext) -> String {
    let mut text = String::from("Points signalés:\n");
    if let Some(details) = &c.details {
        text.push_str(details);
        text.push('\n');
    }
    text.push_str(match c.procedure_landlord_informed {
        Some(true) => "Propriétaire averti : OUI\n",
        _ => "Propriétaire averti : NON\n",
    });
    if let Some(n) = c.dwelling_occupants_count {
        text.push_str(&format!("Nb personnes: {n}\n"));
    }
    if let Some(n) = c.dwelling_children_count {
        text.push_str(&format!("Nb enfants: {n}\n"));
    }
    truncate(&text, 4000)
}

/// SCHS "Import HISTOLOGE" (§4.3).
pub fn schs_push(c: &AssignmentContext, attachments: &[Attachment], file_names: &str) -> Value {
    let (number, _, street) = split_street(&c.address_line);
    json!({
        "treatmentName": "Import HISTOLOGE",
        "fieldList": [
            field("Référence_Histologe", json!(c.report_uuid)),
            field("Usager_Nom", opt(&c.occupant_last_name)),
            field("Usager_Prénom", c.occupant_first_name.as_deref().map_or(Value::Null, |v| json!(truncate(v, 25)))),
            field("Usager_Mail", opt(&c.occupant_email)),
            field("Usager_Téléphone", occupant_phone(&c.occupant_phone)),
            field("Usager_Numéro", json!("")),
            field("Usager_Nom_Rue", json!(street)),
            field("Usager_Adresse2", json!("")),
            field("Usager_CodePostal", json!(c.postal_code)),
            field("Usager_Ville", json!(c.city)),
            field("Adresse_Numéro", opt(&number)),
            field("Adresse_Nom_Rue", json!(street)),
            field("Adresse_CodePostal", json!(c.postal_code)),
            field("Adresse_Ville", json!(c.city)),
            field("Adresse_Etage", floor(c.floor.as_deref())),
            field("Adresse_Porte", c.door.as_deref().map_or(Value::Null, |v| json!(truncate(v, 5)))),
            field("Adresse_Latitude", json!(c.latitude.unwrap_or(0.0))),
            field("Adresse_Longitude", json!(c.longitude.unwrap_or(0.0))),
            field("Dossier_Ouverture", json!(dmy(c.report_created_at))),
            field("Dossier_Commentaire", json!(format!("{}\n{} => {}", problems(c), c.partner_name, c.assignment_status.as_str()))),
            field("PJ_Observations", json!(truncate(file_names, 4000))),
            documents(attachments),
        ],
    })
}

/// SI-SH `SISH_ADRESSE` (§4.6 a).
pub fn sish_address(c: &AssignmentContext) -> Value {
    let (number, suffix, street) = split_street(&c.address_line);
    json!({
        "treatmentName": "SISH_ADRESSE",
        "fieldList": [
            field("Reference_Adresse", json!(c.report_uuid)),
            field("Localisation_Numero", opt(&number)),
            field("Localisation_NumeroExt", opt(&suffix)),
            field("Localisation_Adresse1", json!(truncate(&street, 100))),
            field("Localisation_Adresse2", opt(&c.address_complement)),
            field("Localisation_Adresse3", Value::Null),
            field("Localisation_CodePostal", json!(c.postal_code)),
            field("Localisation_Ville", json!(truncate(&c.city, 60))),
            field("Localisation_Insee", c.insee_code.as_deref().map_or(Value::Null, |v| json!(truncate(v, 5)))),
        ],
    })
}

fn flag(value: Option<bool>) -> Value {
    match value {
        Some(true) => json!(1),
        _ => Value::Null,
    }
}

fn bit(value: Option<bool>) -> Value {
    json!(i32::from(value == Some(true)))
}

/// SI-SH `SISH_DOSSIER` (§4.6 b).
pub fn sish_dossier(
    c: &AssignmentContext,
    address_id: &str,
    base_url: &str,
    attachments: &[Attachment],
) -> Value {
    let move_in = c
        .dwelling_move_in_date
        .map(|d| format!("{:02}/{:02}/{}", d.day(), u8::from(d.month()), d.year()));
    let informed_at = c
        .procedure_landlord_informed_at
        .map(|d| format!("{:02}/{:02}/{}", d.day(), u8::from(d.month()), d.year()));
    let a = c.assignment_created_at;
    let nature = c.dwelling_type.clone().unwrap_or_else(|| "Autre".into());
    json!({
        "treatmentName": "SISH_DOSSIER",
        "fieldList": [
            field("Sas_Adresse", address_id.parse::<i64>().map_or(json!(address_id), |n| json!(n))),
            field("Sas_LogicielProvenance", json!("H")),
            field("Reference_Dossier", json!(c.report_uuid)),
            field("Sas_TypeDossier", Value::Null),
            field("Sas_DateAffectation", json!(format!("{} {:02}:{:02}", dmy(a), a.hour(), a.minute()))),
            field("Localisation_Etage", floor(c.floor.as_deref())),
            field("Localisation_Escalier", c.staircase.as_deref().map_or(Value::Null, |v| json!(truncate(&v.to_uppercase(), 3)))),
            field("Localisation_NumPorte", c.door.as_deref().map_or(Value::Null, |v| json!(truncate(v, 30)))),
            field("SitOccupant_NbAdultes", Value::Null),
            field("SitOccupant_NbEnfantsM6", Value::Null),
            field("SitOccupant_NbEnfantsP6", Value::Null),
            field("SitOccupant_NbOccupants", json!(c.dwelling_occupants_count)),
            field("SitOccupant_NumAllocataire", opt(&c.household_allowance_number)),
            field("SitOccupant_MontantAlloc", json!(c.household_allowance_amount)),
            field("SitLogement_BailEncours", flag(c.dwelling_has_lease)),
            field("SitLogement_BailDateEntree", opt(&move_in)),
            field("SitLogement_PreavisDepart", bit(c.household_notice_given)),
            field("SitLogement_Relogement", bit(c.household_wants_rehousing)),
            field("SitLogement_Superficie", json!(c.dwelling_surface.map(|s| s.round() as i64))),
            field("SitLogement_MontantLoyer", json!(c.dwelling_rent)),
            field("Declarant_NonOccupant", flag(Some(c.declarant_profile.is_third_party()))),
            field("Logement_Nature", json!(nature)),
            field("Logement_Type", json!(nature)),
            field("Logement_Social", flag(c.is_public_housing)),
            field("Logement_AnneeConstr", json!(c.dwelling_construction_year.map(|y| y.to_string()))),
            field("Logement_TypeEnergie", Value::Null),
            field("Logement_Collectif", json!(0)),
            field("Logement_Avant1949", bit(c.dwelling_construction_year.map(|y| y < 1949))),
            field("Logement_DiagST", json!(0)),
            field("Logement_Invariant", c.dwelling_tax_id.as_deref().map_or(Value::Null, |v| json!(truncate(v, 12)))),
            field("Logement_NbPieces", json!(c.dwelling_rooms)),
            field("Logement_NbChambres", Value::Null),
            field("Logement_NbNiveaux", Value::Null),
            field("Proprietaire_Averti", bit(c.procedure_landlord_informed)),
            field("Proprietaire_AvertiDate", opt(&informed_at)),
            field("Proprietaire_AvertiMoyen", Value::Null),
            field("Signalement_Score", json!(c.severity_score.map(|s| (s * 10.0).round() / 10.0))),
            field("Signalement_Origine", json!("interfaçage")),
            field("Signalement_Numero", json!(c.reference)),
            field("Signalement_Commentaire", Value::Null),
            field("Signalement_Date", json!(dmy(c.report_created_at))),
            field("Signalement_Details", opt(&c.details)),
            field("Signalement_Problemes", json!(problems(c))),
            field("Signalement_URL", json!(format!("{}/bo/signalements/{}", base_url.trim_end_matches('/'), c.report_uuid))),
            field("PJ_Observations", Value::Null),
            documents(attachments),
        ],
    })
}

/// SI-SH `SISH_DOSSIER_PERSONNE` (§4.6 c): the occupant, the declarant when
/// a third party, the landlord when known.
pub fn sish_people(c: &AssignmentContext, dossier_id: &str) -> Vec<Value> {
    let dossier = dossier_id
        .parse::<i64>()
        .map_or(json!(dossier_id), |n| json!(n));
    let person = |kind: &str,
                  quality: Value,
                  last: &Option<String>,
                  first: &Option<String>,
                  phone: &Option<String>,
                  mail: &Option<String>,
                  link: Value,
                  structure: Value,
                  address: Value| {
        json!({
            "treatmentName": "SISH_DOSSIER_PERSONNE",
            "fieldList": [
                field("Sas_Dossier_ID", dossier.clone()),
                field("Personne_Type", json!(kind)),
                field("Personne_Qualite", quality),
                field("Personne_Nom", json!(truncate(last.as_deref().filter(|v| !v.is_empty()).unwrap_or("Non renseigné"), 60))),
                field("Personne_Prenom", first.as_deref().map_or(Value::Null, |v| json!(truncate(v, 30)))),
                field("Personne_Telephone", phone.as_deref().map_or(Value::Null, |v| json!(truncate(v, 20)))),
                field("Personne_Mail", opt(mail)),
                field("Personne_LienOccupant", link),
                field("Personne_Structure", structure),
                field("Personne_Adresse", address),
                field("Personne_Representant", Value::Null),
            ],
        })
    };
    let civility = match c.occupant_civility.as_deref() {
        Some("mr") => json!("1"),
        Some("mme") => json!("2"),
        _ => json!("6"),
    };
    let mut people = vec![person(
        "O",
        civility,
        &c.occupant_last_name,
        &c.occupant_first_name,
        &c.occupant_phone,
        &c.occupant_email,
        Value::Null,
        Value::Null,
        Value::Null,
    )];
    if c.declarant_profile.is_third_party() {
        people.push(person(
            "D",
            Value::Null,
            &c.declarant_last_name,
            &c.declarant_first_name,
            &c.declarant_phone,
            &c.declarant_email,
            opt(&c.declarant_link),
            opt(&c.declarant_structure),
            Value::Null,
        ));
    }
    if c.landlord_name.as_deref().is_some_and(|n| !n.is_empty()) {
        let address = c.landlord_address.as_ref().map(|a| {
            format!(
                "{a} - {} {}",
                c.landlord_postal_code.as_deref().unwrap_or_default(),
                c.landlord_city.as_deref().unwrap_or_default()
            )
        });
        let quality = if c.landlord_kind.as_deref() == Some("organisme_societe") {
            json!("5")
        } else {
            Value::Null
        };
        people.push(person(
            "P",
            quality,
            &c.landlord_name,
            &c.landlord_first_name,
            &c.landlord_phone,
            &c.landlord_email,
            Value::Null,
            Value::Null,
            opt(&address),
        ));
    }
    people
}

/// Search of a dossier's state (§4.4 SCHS, §4.7 SI-SH).
pub fn state_search(flavour: Flavour, report_uuid: &str) -> Value {
    match flavour {
        Flavour::Schs => json!({
            "searchName": "WS_ETAT_DOSSIER_SAS",
            "criterionList": [{"criterionName": "SAS_Référence", "criterionValueList": [report_uuid]}],
        }),
        Flavour::Sish => json!({
            "searchName": "SISH_ETAT_DOSSIER_SAS",
            "criterionList": [
                {"criterionName": "Reference_Dossier", "criterionValueList": [report_uuid]},
                {"criterionName": "Logiciel_Provenance", "criterionValueList": ["H"]},
            ],
        }),
    }
}

/// Search of a SCHS dossier's events (§4.5).
pub fn events_search(report_uuid: &str) -> Value {
    json!({
        "searchName": "WS_EVT_DOSSIER_SAS",
        "criterionList": [{"criterionName": "SAS_Référence", "criterionValueList": [report_uuid]}],
    })
}

/// Search of an SI-SH dossier's visits (§4.7).
pub fn visits_search(report_uuid: &str) -> Value {
    json!({
        "searchName": "SISH_VISITES_DOSSIER_SAS",
        "criterionList": [
            {"criterionName": "Reference_Dossier", "criterionValueList": [report_uuid]},
            {"criterionName": "Logiciel_Provenance", "criterionValueList": ["H"]},
        ],
    })
}

impl Row {
    /// A column by position (events and visits are parsed by position).
    pub fn at(&self, index: usize) -> Option<String> {
        self.column_data_list
            .get(index)
            .and_then(value_text)
            .filter(|v| !v.trim().is_empty())
    }
    /// The row's own technical key (`keyDataList[1]`).
    pub fn own_key(&self) -> Option<String> {
        self.key_data_list.get(1).and_then(value_text)
    }
}

impl Esabora {
    fn endpoint(&self, task: &str) -> String {
        let base = self.url.trim_end_matches('/');
        match task {
            "doTreatment" => format!("{base}/modbdd/?task=doTreatment"),
            _ => format!("{base}/mult/?task=doSearch"),
        }
    }

    async fn post(
        &self,
        http: &Http,
        ctx: &CallContext,
        action: &str,
        task: &str,
        payload: &Value,
    ) -> Result<super::Answer, JobError> {
        let url = self.endpoint(task);
        let body = payload.to_string();
        http.send_to_partner(
            ctx,
            Call {
                service: self.flavour.service(),
                action,
                endpoint: format!("POST {}", super::loggable_url(&url)),
                request_excerpt: Some(super::redact_json(&body)),
            },
            &url,
            |client, url| {
                client
                    .post(url)
                    .bearer_auth(&self.token)
                    .header("content-type", "application/json")
                    .body(body)
            },
        )
        .await
    }

    /// Runs a treatment (write).
    pub async fn treatment(
        &self,
        http: &Http,
        ctx: &CallContext,
        action: &str,
        payload: &Value,
    ) -> Result<Treated, JobError> {
        let answer = self.post(http, ctx, action, "doTreatment", payload).await?;
        if answer.status == 200 {
            let treated: TreatmentAnswer = serde_json::from_str(&answer.body)
                .map_err(|_| JobError::retry("Esabora : réponse illisible"))?;
            return Ok(Treated::Inserted(
                treated.key_data_list.first().and_then(value_text),
            ));
        }
        let code = serde_json::from_str::<ErrorAnswer>(&answer.body)
            .ok()
            .and_then(|e| e.code);
        if answer.status == 400 && code.as_deref().is_some_and(is_duplicate) {
            return Ok(Treated::Duplicate);
        }
        Err(self.error(&answer))
    }

    /// Runs a search (read).
    pub async fn search(
        &self,
        http: &Http,
        ctx: &CallContext,
        action: &str,
        payload: &Value,
    ) -> Result<SearchAnswer, JobError> {
        let answer = self.post(http, ctx, action, "doSearch", payload).await?;
        if answer.status == 200 {
            return serde_json::from_str(&answer.body)
                .map_err(|_| JobError::retry("Esabora : réponse illisible"));
        }
        Err(self.error(&answer))
    }

    /// An error answer as a job error: the status and Esabora's code
    /// (`WS_ERR_…`) when it is a plain identifier; the message is free text
    /// from wherever the URL points and is not quoted.
    fn error(&self, answer: &super::Answer) -> JobError {
        let code = serde_json::from_str::<ErrorAnswer>(&answer.body)
            .ok()
            .and_then(|e| e.code)
            .and_then(|c| super::safe_code(&c).map(str::to_owned))
            .unwrap_or_default();
        let message = format!("{} HTTP {} {}", self.flavour.label(), answer.status, code)
            .trim_end()
            .to_owned();
        if code == "WS_ERR_MULT_TIMEOUT" || answer.status == 429 || answer.status >= 500 {
            JobError::Retry {
                message,
                retry_after: answer.retry_after(),
            }
        } else {
            JobError::Permanent(message)
        }
    }
}

/// Whether an error is Esabora's "already exists" answer.
pub fn is_duplicate(body_code: &str) -> bool {
    body_code == "WS_ERR_SQL"
}

/// Maps an Esabora state to an assignment status (§4.8). `None` when the
/// state means no change.
pub fn map_state(sas_state: &str, dossier_state: Option<&str>) -> Option<AssignmentStatus> {
    let etat = dossier_state.unwrap_or_default().to_lowercase();
    match sas_state {
        "A traiter" => Some(AssignmentStatus::New),
        "Importé" if etat == "en cours" => Some(AssignmentStatus::Accepted),
        "Importé" if etat == "terminé" => Some(AssignmentStatus::Closed),
        "Non importé" | "Rejeté" => Some(AssignmentStatus::Refused),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn streets_and_floors_follow_histologe() {
        assert_eq!(
            split_street("12 bis rue des Lilas"),
            (
                Some("12".into()),
                Some("BIS".into()),
                "rue des Lilas".into()
            )
        );
        assert_eq!(
            split_street("rue sans numéro"),
            (None, None, "rue sans numéro".into())
        );
        assert_eq!(floor(Some("RDC")), Value::Null);
        assert_eq!(floor(Some("0")), Value::Null);
        assert_eq!(floor(Some("3e étage")), json!("3"));
        assert_eq!(floor(Some("sous-sol")), json!("-1"));
        assert_eq!(
            map_state("Importé", Some("En cours")),
            Some(AssignmentStatus::Accepted)
        );
        assert_eq!(
            map_state("Importé", Some("terminé")),
            Some(AssignmentStatus::Closed)
        );
        assert_eq!(map_state("Rejeté", None), Some(AssignmentStatus::Refused));
    }
}
