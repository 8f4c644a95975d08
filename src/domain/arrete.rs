//! Orders (arrêtés) signed by a prefect or a mayor about a dwelling:
//! their 14 types, the checks on a recorded order, who may record one,
//! and the case command that records one on a case (docs/arretes.md).

use time::{Date, Month};

use super::audit::diff;
use super::case::codes::stored_codes;
use super::case::plan::{Audience, AuditEntry, Author, CaseRef, Guard, NewFollowUp, Notice, Plan};
use super::case::{FieldErrors, NotificationKind, Refusal, ReportStatus};
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

/// The case command: an admin records an order on a case. The plan writes
/// a public follow-up (the resident sees it), the audit entry, tells the
/// followers and e-mails the resident; the caller writes the order row in
/// the same transaction.
pub fn record_on_case(
    actor: &Actor,
    case: &CaseFacts,
    input: &ArreteInput,
    today: Date,
) -> Result<(Plan, ValidArrete), Refusal> {
    if !may_record(actor, case.territory_id) {
        return Err(Refusal::NotAllowed);
    }
    if !RECORDABLE.contains(&case.status) {
        return Err(Refusal::WrongStatus(case.status));
    }
    let order = check(input, None, today).map_err(Refusal::Invalid)?;
    let case_ref = CaseRef {
        report_id: case.report_id,
        uuid: case.uuid.clone(),
        territory_id: case.territory_id,
    };
    let mut plan = Plan::new(case_ref, Some(actor.user_id), Guard::None);
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
        ]),
    });
    plan.notices.push(Notice::Staff {
        audience: Audience::Followers,
        kind: NotificationKind::NewFollowUp,
        title: "Un arrêté a été enregistré sur un signalement",
    });
    plan.notices.push(Notice::Resident {
        title: RESIDENT_TITLE.into(),
        message: summary,
    });
    Ok((plan, order))
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

    #[test]
    fn only_the_territory_admins_record_on_an_accepted_or_closed_case() {
        let (plan, order) = record_on_case(
            &actor(Role::TerritoryAdmin, 69),
            &case(ReportStatus::Active),
            &input(),
            TODAY,
        )
        .unwrap();
        assert_eq!(order.kind, ArreteType::L511_19Insalubrite);
        let follow_up = plan.follow_up.as_ref().unwrap();
        assert!(follow_up.public, "the resident sees it");
        assert!(follow_up.body.contains("n° 2026/DD69/00012 du 20/11/2026"));
        assert_eq!(plan.resident_email().map(|(t, _)| t), Some(RESIDENT_TITLE));
        assert_eq!(plan.audit.as_ref().unwrap().action, "arrete");
        assert!(
            record_on_case(
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
                record_on_case(&who, &case(ReportStatus::Active), &input(), TODAY).map(|_| ()),
                Err(Refusal::NotAllowed)
            );
        }
        assert_eq!(
            record_on_case(
                &actor(Role::TerritoryAdmin, 69),
                &case(ReportStatus::NeedValidation),
                &input(),
                TODAY
            )
            .map(|_| ()),
            Err(Refusal::WrongStatus(ReportStatus::NeedValidation))
        );
    }
}
