//! Orders (arrêtés) signed by a prefect or a mayor about a dwelling:
//! their 14 types, the checks on a recorded order, who may record one,
//! and the case command that records one on a case (docs/arretes.md).

use time::{Date, Month};

use super::audit::diff;
use super::case::codes::stored_codes;
use super::case::plan::{Audience, AuditEntry, Author, CaseRef, Guard, NewFollowUp, Notice, Plan};
use super::case::{FieldErrors, NotificationKind, Refusal, ReportStatus};
use super::document::DocumentType;
use super::document::commands::{DocumentChange, DocumentFacts, StoredFile};
use super::permissions::Actor;
use super::workflow::CaseFacts;

stored_codes! {
    /// Histologe's 14 types of order, with its exact labels.
    pub enum ArreteType {
        MiseEnSecurite = ("mise_en_securite", "Mise en sécurité"),
        MiseEnSecuriteUrgente = ("mise_en_securite_procedure_urgente", "Mise en sécurité procédure urgente"),
        MiseEnSecuriteModificatif = ("mise_en_securite_modificatif", "Mise en sécurité modificatif"),
        L511_11Impropre = ("l_511_11_impropre", "Arrêté L.511-11 - Impropre"),
        L511_11Irremediable = ("l_511_11_ordinaire_irremediable", "Arrêté L.511-11 - Ordinaire irrémédiable"),
        L511_11Remediable = ("l_511_11_ordinaire_remediable", "Arrêté L.511-11 - Ordinaire remédiable"),
        L511_11Suroccupation = ("l_511_11_suroccupation", "Arrêté L.511-11 - Suroccupation"),
        L511_11UsageNonApproprie = ("l_511_11_usage_non_approprie", "Arrêté L.511-11 - Usage non approprié"),
        L511_19Insalubrite = ("l_511_19_insalubrite", "Arrêté L.511-19 - Insalubrité"),
        L511_19InsalubriteSaturnisme = ("l_511_19_insalubrite_saturnisme", "Arrêté L.511-19 - Insalubrité & Saturnisme"),
        L511_19Saturnisme = ("l_511_19_saturnisme", "Arrêté L.511-19 - Saturnisme"),
        L1331_26 = ("l_1331_26", "Arrêté L1331-26"),
        L1311_4 = ("l_1311_4", "Arrêté L.1311-4"),
        LetchimyArticle10 = ("letchimy_article_10", "Arrêté Letchimy : article 10"),
    }
}

impl ArreteType {
    /// The type named by a register's "classification" column: its code, its
    /// label, or the label without the "Arrêté L.511-xx - " prefix, in any
    /// case ("Insalubrité" is the L.511-19 one, as in Histologe's template).
    pub fn from_label(text: &str) -> Option<Self> {
        let wanted = fold(text);
        Self::parse(text.trim()).or_else(|| {
            Self::ALL.iter().copied().find(|t| {
                let label = fold(t.label());
                label == wanted
                    || label
                        .split_once(" - ")
                        .is_some_and(|(_, short)| short == wanted)
            })
        })
    }
}

/// Lowercase, accents and spacing folded, to compare labels.
fn fold(text: &str) -> String {
    text.trim()
        .to_lowercase()
        .replace(['é', 'è', 'ê'], "e")
        .replace('’', "'")
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" ")
}

stored_codes! {
    /// Who signed the order.
    pub enum Signatory {
        Prefect = ("prefet", "Préfet ou préfète"),
        Mayor = ("maire", "Maire"),
    }
}

stored_codes! {
    /// How the order came in.
    pub enum Source {
        Manual = ("manual", "Saisie"),
        Import = ("import", "Import du registre"),
    }
}

/// Longest order number, signer name (the columns' lengths).
pub const MAX_NUMBER_CHARS: usize = 50;
pub const MAX_SIGNER_CHARS: usize = 120;

/// What the order form sends (raw).
#[derive(Debug, Clone, Default)]
pub struct ArreteInput {
    pub kind: String,
    pub number: String,
    /// `AAAA-MM-JJ` (date field) or `JJ/MM/AAAA` (registers).
    pub date: String,
    pub signatory: String,
    pub signer_name: String,
    pub works_deadline: String,
    pub lifted_on: String,
}

/// An order whose fields passed the checks.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ValidArrete {
    pub kind: ArreteType,
    pub number: String,
    pub date: Date,
    pub signatory: Signatory,
    pub signer_name: Option<String>,
    pub works_deadline: Option<Date>,
    pub lifted_on: Option<Date>,
}

/// A date as typed: `AAAA-MM-JJ` or `JJ/MM/AAAA`.
pub fn parse_date(text: &str) -> Option<Date> {
    let text = text.trim();
    let (y, m, d) = if let Some((y, rest)) = text.split_once('-') {
        let (m, d) = rest.split_once('-')?;
        (y, m, d)
    } else {
        let (d, rest) = text.split_once('/')?;
        let (m, y) = rest.split_once('/')?;
        (y, m, d)
    };
    let digits = |s: &str, n: std::ops::RangeInclusive<usize>| {
        n.contains(&s.len()) && s.bytes().all(|b| b.is_ascii_digit())
    };
    if !(digits(y, 4..=4) && digits(m, 1..=2) && digits(d, 1..=2)) {
        return None;
    }
    let month = Month::try_from(m.parse::<u8>().ok()?).ok()?;
    Date::from_calendar_date(y.parse().ok()?, month, d.parse().ok()?).ok()
}

/// The checks on an order, French messages keyed by field. `today` bounds
/// the date (an order is recorded once signed); registers go back to 1990.
pub fn check(
    input: &ArreteInput,
    default_signatory: Option<Signatory>,
    today: Date,
) -> Result<ValidArrete, FieldErrors> {
    let mut errors = FieldErrors::default();
    let kind = ArreteType::from_label(&input.kind);
    if kind.is_none() {
        errors.add("arrete_type", "Choisissez le type d’arrêté dans la liste.");
    }
    let number = input.number.trim().to_owned();
    let number_ok = (1..=MAX_NUMBER_CHARS).contains(&number.chars().count())
        && number.chars().any(|c| c.is_ascii_digit())
        && number
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "/-._ ".contains(c));
    if !number_ok {
        errors.add(
            "arrete_number",
            "Le numéro de l’arrêté contient au moins un chiffre et seulement des lettres, chiffres, espaces, « / », « - », « . » ou « _ » (50 caractères au plus).",
        );
    }
    let earliest = Date::from_calendar_date(1990, Month::January, 1).unwrap_or(Date::MIN);
    let date = parse_date(&input.date);
    match date {
        None => errors.add("arrete_date", "Indiquez la date de l’arrêté (JJ/MM/AAAA)."),
        Some(d) if d > today => errors.add(
            "arrete_date",
            "La date de l’arrêté ne peut pas être dans le futur.",
        ),
        Some(d) if d < earliest => errors.add(
            "arrete_date",
            "La date de l’arrêté est antérieure à 1990 : vérifiez-la.",
        ),
        Some(_) => {}
    }
    let signatory = match input.signatory.trim() {
        "" => default_signatory,
        code => Signatory::parse(code),
    };
    if signatory.is_none() {
        errors.add(
            "arrete_signatory",
            "Indiquez qui a signé l’arrêté (préfet ou maire).",
        );
    }
    let signer_name = input.signer_name.trim();
    if signer_name.chars().count() > MAX_SIGNER_CHARS {
        errors.add(
            "arrete_signer",
            "Le nom du signataire fait 120 caractères au plus.",
        );
    }
    let optional_date = |field: &'static str, text: &str, errors: &mut FieldErrors, what: &str| {
        if text.trim().is_empty() {
            return None;
        }
        let parsed = parse_date(text);
        match (parsed, date) {
            (None, _) => {
                errors.add(
                    field,
                    format!("La date {what} n’est pas une date (JJ/MM/AAAA)."),
                );
                None
            }
            (Some(d), Some(order)) if d <= order => {
                errors.add(
                    field,
                    format!("La date {what} doit être postérieure à la date de l’arrêté."),
                );
                None
            }
            (Some(d), _) => Some(d),
        }
    };
    let works_deadline = optional_date(
        "arrete_deadline",
        &input.works_deadline,
        &mut errors,
        "limite des travaux",
    );
    let lifted_on = optional_date(
        "arrete_lifted",
        &input.lifted_on,
        &mut errors,
        "de mainlevée",
    );
    if lifted_on.is_some_and(|d| d > today) {
        errors.add(
            "arrete_lifted",
            "La date de mainlevée ne peut pas être dans le futur.",
        );
    }
    match (kind, date, signatory, errors.is_empty()) {
        (Some(kind), Some(date), Some(signatory), true) => Ok(ValidArrete {
            kind,
            number,
            date,
            signatory,
            signer_name: (!signer_name.is_empty()).then(|| signer_name.to_owned()),
            works_deadline,
            lifted_on,
        }),
        _ => Err(errors),
    }
}

/// Who may record an order on a territory's addresses: its territory
/// admins and the super admin. Partners (even those with the "arrêtés"
/// competence) read them but do not record them, as in Histologe, where
/// the territory management pages hold the orders.
pub fn may_record(actor: &Actor, territory_id: u32) -> bool {
    actor.administers_territory(territory_id)
}

/// An order is recorded on a case that was accepted (active) or is over
/// (closed: the order often comes after the visit that closed it).
const RECORDABLE: [ReportStatus; 2] = [ReportStatus::Active, ReportStatus::Closed];

/// Whether the order form is offered on this case to this actor.
pub fn may_record_on(actor: &Actor, case_territory: u32, status: ReportStatus) -> bool {
    may_record(actor, case_territory) && RECORDABLE.contains(&status)
}

/// An order the actor may record on the case, its fields checked. Only
/// [`approve`] builds one, so no file is stored for a refused request
/// (the signed order is stored between the approval and the plan).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApprovedArrete {
    order: ValidArrete,
}

impl ApprovedArrete {
    pub fn order(&self) -> &ValidArrete {
        &self.order
    }
}

/// The signed order that goes with the record.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum OrderDocument {
    /// None yet (it can be added to the case's documents later).
    None,
    /// A file just checked and stored (`store_files`: type, size, scan
    /// queued); it becomes a document of the case of type "arrêté
    /// préfectoral" or "arrêté municipal" after the signatory.
    Upload { file: StoredFile, public: bool },
    /// A document already on the case; it must be of an "arrêté" type and
    /// not blocked by the antivirus. The caller found it on this case.
    Existing(DocumentFacts),
}

/// Which document the order row points at (written by `case_plan::apply`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DocumentLink {
    None,
    /// The document the same plan adds.
    Added,
    /// A document of the case, by id.
    Existing(u64),
}

/// The order row a plan writes, attached to the plan's case and to the
/// case's address (`reports.address_key`, read in the same transaction).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewArrete {
    pub order: ValidArrete,
    pub document: DocumentLink,
}

/// The refusal when the territory already has this order (same number and
/// date): the caller looks it up before storing any file.
pub fn already_recorded() -> Refusal {
    let mut errors = FieldErrors::default();
    errors.add(
        "arrete_number",
        "Un arrêté de ce numéro et de cette date est déjà enregistré pour ce territoire.",
    );
    Refusal::Invalid(errors)
}

/// First half of the case command: may the actor record an order on this
/// case, and are its fields right.
pub fn approve(
    actor: &Actor,
    case: &CaseFacts,
    input: &ArreteInput,
    today: Date,
) -> Result<ApprovedArrete, Refusal> {
    if !may_record(actor, case.territory_id) {
        return Err(Refusal::NotAllowed);
    }
    if !RECORDABLE.contains(&case.status) {
        return Err(Refusal::WrongStatus(case.status));
    }
    let order = check(input, None, today).map_err(Refusal::Invalid)?;
    Ok(ApprovedArrete { order })
}

/// The document type of the signed order, after who signed it.
pub fn document_type(signatory: Signatory) -> DocumentType {
    match signatory {
        Signatory::Prefect => DocumentType::ArretePrefectoral,
        Signatory::Mayor => DocumentType::ArreteMunicipal,
    }
}

/// Second half of the case command: the plan that records the approved
/// order on the case with its document. The plan writes the order row, the
/// document (added, or an existing one linked), a public follow-up (the
/// resident sees it in their space), the audit entry, tells the followers
/// and e-mails the resident (mail kind `arrete_for_resident`);
/// `case_plan::apply` carries it out in one transaction.
pub fn record_on_case(
    actor: &Actor,
    case: &CaseFacts,
    approved: ApprovedArrete,
    document: OrderDocument,
) -> Result<Plan, Refusal> {
    let order = approved.order;
    let case_ref = CaseRef {
        report_id: case.report_id,
        uuid: case.uuid.clone(),
        territory_id: case.territory_id,
    };
    let mut plan = Plan::new(case_ref, Some(actor.user_id), Guard::None);
    let link = match document {
        OrderDocument::None => DocumentLink::None,
        OrderDocument::Upload { file, public } => {
            plan.documents.push(DocumentChange::Add {
                file,
                document_type: document_type(order.signatory),
                title: Some(format!("Arrêté n° {}", order.number)),
                is_public: public,
            });
            DocumentLink::Added
        }
        OrderDocument::Existing(doc) => {
            let mut errors = FieldErrors::default();
            if !matches!(
                doc.document_type,
                DocumentType::ArretePrefectoral | DocumentType::ArreteMunicipal
            ) {
                errors.add(
                    "arrete_document",
                    "Choisissez un document de type « arrêté » du signalement.",
                );
            } else if doc.scan_status.is_blocked() {
                errors.add(
                    "arrete_document",
                    "Ce fichier est bloqué par l’antivirus : il ne peut pas être l’arrêté signé.",
                );
            }
            errors.into_result()?;
            DocumentLink::Existing(doc.id)
        }
    };
    let summary = resident_summary(&order);
    plan.follow_up = Some(NewFollowUp {
        author: Author::System,
        partner_id: None,
        category: "arrete_enregistre",
        body: summary.clone(),
        public: true,
    });
    plan.audit = Some(AuditEntry {
        action: "arrete",
        diff: diff(&[
            ("arrete_type", String::new(), order.kind.as_str().to_owned()),
            ("arrete_number", String::new(), order.number.clone()),
            ("arrete_date", String::new(), order.date.to_string()),
            (
                "arrete_document",
                String::new(),
                match link {
                    DocumentLink::None => String::new(),
                    DocumentLink::Added => "ajouté".to_owned(),
                    DocumentLink::Existing(id) => format!("document {id}"),
                },
            ),
        ]),
    });
    plan.notices.push(Notice::Staff {
        audience: Audience::Followers,
        kind: NotificationKind::NewFollowUp,
        title: "Un arrêté a été enregistré sur un signalement",
    });
    plan.notices.push(Notice::Arrete { message: summary });
    plan.arrete = Some(NewArrete {
        order,
        document: link,
    });
    Ok(plan)
}

/// The subject of the resident's e-mail (Histologe's wording).
pub const RESIDENT_TITLE: &str = "Un arrêté concernant votre logement a été pris";

/// What the resident reads: type, number, date, signatory, deadline.
pub fn resident_summary(order: &ValidArrete) -> String {
    let mut text = format!(
        "Un arrêté a été pris concernant votre logement : {} n° {} du {}, signé par {}.",
        order.kind.label(),
        order.number,
        french_date(order.date),
        match order.signatory {
            Signatory::Prefect => "le préfet",
            Signatory::Mayor => "le maire",
        }
    );
    if let Some(deadline) = order.works_deadline {
        text.push_str(&format!(
            " Les travaux prescrits doivent être réalisés avant le {}.",
            french_date(deadline)
        ));
    }
    text
}

/// `JJ/MM/AAAA`.
pub fn french_date(date: Date) -> String {
    format!(
        "{:02}/{:02}/{}",
        date.day(),
        u8::from(date.month()),
        date.year()
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::case::AssignmentStatus;
    use crate::domain::permissions::Membership;
    use crate::domain::roles::Role;
    use time::macros::date;

    const TODAY: Date = date!(2026 - 12 - 05);

    fn input() -> ArreteInput {
        ArreteInput {
            kind: "l_511_19_insalubrite".into(),
            number: "2026/DD69/00012".into(),
            date: "2026-11-20".into(),
            signatory: "prefet".into(),
            signer_name: "Mme la préfète".into(),
            works_deadline: "20/05/2027".into(),
            lifted_on: String::new(),
        }
    }

    fn actor(role: Role, territory_id: u32) -> Actor {
        Actor {
            user_id: 1,
            role,
            memberships: vec![Membership {
                partner_id: 1,
                territory_id,
            }],
        }
    }

    fn case(status: ReportStatus) -> CaseFacts {
        CaseFacts {
            report_id: 7,
            uuid: "0c1b2a39-5d6e-4f70-8a9b-0c1d2e3f4a5b".into(),
            version: 3,
            territory_id: 69,
            status,
            assignments: vec![(10, AssignmentStatus::Accepted)],
        }
    }

    #[test]
    fn fourteen_types_with_histologe_labels() {
        assert_eq!(ArreteType::ALL.len(), 14);
        assert_eq!(
            ArreteType::from_label("Mise en sécurité procédure urgente"),
            Some(ArreteType::MiseEnSecuriteUrgente)
        );
        assert_eq!(
            ArreteType::from_label(" insalubrité "),
            Some(ArreteType::L511_19Insalubrite)
        );
        assert_eq!(
            ArreteType::from_label("Usage non approprié"),
            Some(ArreteType::L511_11UsageNonApproprie)
        );
        assert_eq!(ArreteType::from_label("Amende"), None);
    }

    #[test]
    fn a_valid_order_passes_and_dates_read_both_ways() {
        let order = check(&input(), None, TODAY).unwrap();
        assert_eq!(order.date, date!(2026 - 11 - 20));
        assert_eq!(order.works_deadline, Some(date!(2027 - 05 - 20)));
        assert_eq!(parse_date("1/2/2024"), Some(date!(2024 - 02 - 01)));
        for bad in [
            "",
            "2024-13-01",
            "31/02/2024",
            "2024/01/01",
            "+2024-01-01",
            "01/01/24",
        ] {
            assert_eq!(parse_date(bad), None, "{bad}");
        }
    }

    #[test]
    fn each_wrong_field_has_its_french_message() {
        let wrong = ArreteInput {
            kind: "amende".into(),
            number: "<script>".into(),
            date: "2027-01-01".into(),
            signatory: "roi".into(),
            signer_name: "x".repeat(121),
            works_deadline: "pas une date".into(),
            lifted_on: String::new(),
        };
        let errors = check(&wrong, None, TODAY).unwrap_err();
        for field in [
            "arrete_type",
            "arrete_number",
            "arrete_date",
            "arrete_signatory",
            "arrete_signer",
            "arrete_deadline",
        ] {
            assert!(errors.get(field).is_some(), "{field}: {errors:?}");
        }
        let early_deadline = ArreteInput {
            works_deadline: "2026-11-20".into(),
            ..input()
        };
        assert_eq!(
            check(&early_deadline, None, TODAY)
                .unwrap_err()
                .get("arrete_deadline"),
            Some("La date limite des travaux doit être postérieure à la date de l’arrêté.")
        );
    }

    fn stored() -> StoredFile {
        StoredFile {
            key: "2026/12/arrete.pdf".into(),
            thumbnail_key: None,
            filename: "arrete.pdf".into(),
            mime: "application/pdf".into(),
            size: 1000,
            sha256: "0".repeat(64),
            is_image: false,
        }
    }

    fn document(document_type: DocumentType) -> DocumentFacts {
        DocumentFacts {
            id: 42,
            uuid: "d".into(),
            filename: "arrete.pdf".into(),
            title: None,
            document_type,
            is_public: false,
            is_image: false,
            scan_status: crate::domain::antivirus::ScanStatus::Clean,
            uploaded_by: Some(1),
        }
    }

    #[test]
    fn only_the_territory_admins_record_on_an_accepted_or_closed_case() {
        let admin = actor(Role::TerritoryAdmin, 69);
        let active = case(ReportStatus::Active);
        let approved = approve(&admin, &active, &input(), TODAY).unwrap();
        assert_eq!(approved.order().kind, ArreteType::L511_19Insalubrite);
        let plan = record_on_case(
            &admin,
            &active,
            approved,
            OrderDocument::Upload {
                file: stored(),
                public: true,
            },
        )
        .unwrap();
        let follow_up = plan.follow_up.as_ref().unwrap();
        assert!(follow_up.public, "the resident sees it");
        assert!(follow_up.body.contains("n° 2026/DD69/00012 du 20/11/2026"));
        assert_eq!(plan.resident_email().map(|(t, _)| t), Some(RESIDENT_TITLE));
        assert_eq!(plan.audit.as_ref().unwrap().action, "arrete");
        assert_eq!(plan.arrete.as_ref().unwrap().document, DocumentLink::Added);
        assert!(matches!(
            plan.documents.as_slice(),
            [DocumentChange::Add {
                document_type: DocumentType::ArretePrefectoral,
                is_public: true,
                ..
            }]
        ));
        assert!(
            approve(
                &actor(Role::SuperAdmin, 13),
                &case(ReportStatus::Closed),
                &input(),
                TODAY
            )
            .is_ok()
        );
        for who in [
            actor(Role::TerritoryAdmin, 13),
            actor(Role::PartnerAdmin, 69),
            actor(Role::Agent, 69),
        ] {
            assert_eq!(
                approve(&who, &active, &input(), TODAY).map(|_| ()),
                Err(Refusal::NotAllowed)
            );
        }
        assert_eq!(
            approve(&admin, &case(ReportStatus::NeedValidation), &input(), TODAY).map(|_| ()),
            Err(Refusal::WrongStatus(ReportStatus::NeedValidation))
        );
    }

    #[test]
    fn an_existing_document_must_be_an_order_not_blocked() {
        let admin = actor(Role::TerritoryAdmin, 69);
        let active = case(ReportStatus::Active);
        let with = |doc| {
            let approved = approve(&admin, &active, &input(), TODAY).unwrap();
            record_on_case(&admin, &active, approved, OrderDocument::Existing(doc))
        };
        let plan = with(document(DocumentType::ArreteMunicipal)).unwrap();
        assert_eq!(plan.arrete.unwrap().document, DocumentLink::Existing(42));
        assert!(plan.documents.is_empty(), "nothing added");
        let Err(Refusal::Invalid(errors)) = with(document(DocumentType::Bail)) else {
            panic!("a lease is not an order");
        };
        assert!(errors.get("arrete_document").is_some());
        let mut blocked = document(DocumentType::ArretePrefectoral);
        blocked.scan_status = crate::domain::antivirus::ScanStatus::Infected;
        assert!(matches!(with(blocked), Err(Refusal::Invalid(_))));
    }
}
