//! The resident corrects their case from the follow-up space: their own
//! contact details, the occupant's (when someone else filed), the
//! landlord's, the household and the dwelling's size. Each field is the
//! public form's own question (`form::question`: label, hint, bounds and
//! French messages), checked by the form's validator (`form::validate`), so
//! the space accepts exactly what the form accepted.
//!
//! What the resident did not touch is kept as stored, even when today's
//! rules would refuse it (older data must not block a correction). E-mail
//! addresses of the resident are not corrected here: a new address is
//! confirmed by a link first (`resident_email`).
//!
//! The plan writes the corrected columns (the report is then scored again),
//! adds a follow-up listing each change (old → new) that partners and the
//! resident see, records the diff in the audit log and tells the case's
//! followers in the application.

use super::NotificationKind;
use super::plan::{Audience, AuditEntry, Author, Guard, NewFollowUp, Notice, Plan, ReportField};
use super::refusal::{FieldErrors, Refusal};
use super::resident::{ResidentCase, text_to_html};
use crate::domain::audit::diff;
use crate::domain::report::form::{self, Answers, DeclarantProfile, Question};

/// Follow-up category of a correction.
pub const CATEGORY: &str = "modification_usager";

/// The columns a resident may correct, as stored.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ResidentDetails {
    pub declarant_first_name: Option<String>,
    pub declarant_last_name: Option<String>,
    pub declarant_phone: Option<String>,
    pub occupant_first_name: Option<String>,
    pub occupant_last_name: Option<String>,
    pub occupant_phone: Option<String>,
    pub landlord_name: Option<String>,
    pub landlord_first_name: Option<String>,
    pub landlord_email: Option<String>,
    pub landlord_phone: Option<String>,
    pub occupants_count: Option<u16>,
    pub children_count: Option<u16>,
    pub children_under_6: Option<bool>,
    /// m², as the database prints its decimal ("42.50").
    pub surface: Option<String>,
    pub rooms: Option<u16>,
}

/// One correctable column.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Column {
    DeclarantFirstName,
    DeclarantLastName,
    DeclarantPhone,
    OccupantFirstName,
    OccupantLastName,
    OccupantPhone,
    LandlordName,
    LandlordFirstName,
    LandlordEmail,
    LandlordPhone,
    OccupantsCount,
    ChildrenCount,
    ChildrenUnder6,
    Surface,
    Rooms,
}

impl Column {
    const ALL: [Self; 15] = [
        Self::DeclarantFirstName,
        Self::DeclarantLastName,
        Self::DeclarantPhone,
        Self::OccupantFirstName,
        Self::OccupantLastName,
        Self::OccupantPhone,
        Self::LandlordName,
        Self::LandlordFirstName,
        Self::LandlordEmail,
        Self::LandlordPhone,
        Self::OccupantsCount,
        Self::ChildrenCount,
        Self::ChildrenUnder6,
        Self::Surface,
        Self::Rooms,
    ];

    /// The column's name (the audit diff's key).
    pub const fn name(self) -> &'static str {
        match self {
            Self::DeclarantFirstName => "declarant_first_name",
            Self::DeclarantLastName => "declarant_last_name",
            Self::DeclarantPhone => "declarant_phone",
            Self::OccupantFirstName => "occupant_first_name",
            Self::OccupantLastName => "occupant_last_name",
            Self::OccupantPhone => "occupant_phone",
            Self::LandlordName => "landlord_name",
            Self::LandlordFirstName => "landlord_first_name",
            Self::LandlordEmail => "landlord_email",
            Self::LandlordPhone => "landlord_phone",
            Self::OccupantsCount => "dwelling_occupants_count",
            Self::ChildrenCount => "dwelling_children_count",
            Self::ChildrenUnder6 => "dwelling_children_under_6",
            Self::Surface => "dwelling_surface",
            Self::Rooms => "dwelling_rooms",
        }
    }

    /// The stored value as the form shows it (`oui` / `non` for the
    /// yes-no answer, the surface without trailing zeros).
    pub fn text(self, d: &ResidentDetails) -> String {
        let text = |v: &Option<String>| v.clone().unwrap_or_default();
        let number = |v: Option<u16>| v.map(|v| v.to_string()).unwrap_or_default();
        match self {
            Self::DeclarantFirstName => text(&d.declarant_first_name),
            Self::DeclarantLastName => text(&d.declarant_last_name),
            Self::DeclarantPhone => text(&d.declarant_phone),
            Self::OccupantFirstName => text(&d.occupant_first_name),
            Self::OccupantLastName => text(&d.occupant_last_name),
            Self::OccupantPhone => text(&d.occupant_phone),
            Self::LandlordName => text(&d.landlord_name),
            Self::LandlordFirstName => text(&d.landlord_first_name),
            Self::LandlordEmail => text(&d.landlord_email),
            Self::LandlordPhone => text(&d.landlord_phone),
            Self::OccupantsCount => number(d.occupants_count),
            Self::ChildrenCount => number(d.children_count),
            Self::ChildrenUnder6 => match d.children_under_6 {
                Some(true) => "oui".into(),
                Some(false) => "non".into(),
                None => String::new(),
            },
            Self::Surface => d.surface.as_deref().map(trim_decimal).unwrap_or_default(),
            Self::Rooms => number(d.rooms),
        }
    }

    /// Writes a value the form's validator normalised (`None`: empty).
    fn set(self, d: &mut ResidentDetails, value: Option<&str>) {
        let text = value.map(str::to_owned);
        let number = value.and_then(|v| v.parse::<u16>().ok());
        match self {
            Self::DeclarantFirstName => d.declarant_first_name = text,
            Self::DeclarantLastName => d.declarant_last_name = text,
            Self::DeclarantPhone => d.declarant_phone = text,
            Self::OccupantFirstName => d.occupant_first_name = text,
            Self::OccupantLastName => d.occupant_last_name = text,
            Self::OccupantPhone => d.occupant_phone = text,
            Self::LandlordName => d.landlord_name = text,
            Self::LandlordFirstName => d.landlord_first_name = text,
            Self::LandlordEmail => d.landlord_email = text,
            Self::LandlordPhone => d.landlord_phone = text,
            Self::OccupantsCount => d.occupants_count = number,
            Self::ChildrenCount => d.children_count = number,
            Self::ChildrenUnder6 => {
                d.children_under_6 = match value {
                    Some("oui") => Some(true),
                    Some("non") => Some(false),
                    _ => None,
                }
            }
            Self::Surface => d.surface = text,
            Self::Rooms => d.rooms = number,
        }
    }

    /// The occupant's column a declarant's column mirrors when the
    /// declarant lives in the dwelling (the form stores both).
    const fn mirrored(self) -> Option<Self> {
        match self {
            Self::DeclarantFirstName => Some(Self::OccupantFirstName),
            Self::DeclarantLastName => Some(Self::OccupantLastName),
            Self::DeclarantPhone => Some(Self::OccupantPhone),
            _ => None,
        }
    }
}

/// "42.50" → "42.5", "40.00" → "40".
fn trim_decimal(v: &str) -> String {
    if v.contains('.') {
        v.trim_end_matches('0').trim_end_matches('.').to_owned()
    } else {
        v.to_owned()
    }
}

/// One group of fields of the correction form.
#[derive(Debug, Clone)]
pub struct Section {
    pub title: &'static str,
    /// (the form's question slug, the column it corrects)
    pub fields: Vec<(&'static str, Column)>,
}

/// The sections a declarant may correct: their own contact, the
/// occupant's when someone else filed, the landlord's unless the declarant
/// is the landlord, the household and the dwelling.
pub fn sections(profile: DeclarantProfile) -> Vec<Section> {
    let mut out = Vec::new();
    out.push(Section {
        title: "Vos coordonnées",
        fields: if profile.is_occupant() {
            vec![
                ("vos_coordonnees_occupant_nom", Column::DeclarantLastName),
                (
                    "vos_coordonnees_occupant_prenom",
                    Column::DeclarantFirstName,
                ),
                ("vos_coordonnees_occupant_tel", Column::DeclarantPhone),
            ]
        } else {
            vec![
                ("vos_coordonnees_tiers_nom", Column::DeclarantLastName),
                ("vos_coordonnees_tiers_prenom", Column::DeclarantFirstName),
                ("vos_coordonnees_tiers_tel", Column::DeclarantPhone),
            ]
        },
    });
    if !profile.is_occupant() {
        out.push(Section {
            title: "L’occupant",
            fields: vec![
                ("coordonnees_occupant_nom", Column::OccupantLastName),
                ("coordonnees_occupant_prenom", Column::OccupantFirstName),
                ("coordonnees_occupant_tel", Column::OccupantPhone),
            ],
        });
    }
    if !matches!(
        profile,
        DeclarantProfile::Bailleur | DeclarantProfile::BailleurOccupant
    ) {
        out.push(Section {
            title: "Le bailleur",
            fields: vec![
                ("coordonnees_bailleur_nom", Column::LandlordName),
                ("coordonnees_bailleur_prenom", Column::LandlordFirstName),
                ("coordonnees_bailleur_email", Column::LandlordEmail),
                ("coordonnees_bailleur_tel", Column::LandlordPhone),
            ],
        });
    }
    out.push(Section {
        title: "Les occupants",
        fields: vec![
            (
                "composition_logement_nombre_personnes",
                Column::OccupantsCount,
            ),
            ("composition_logement_nombre_enfants", Column::ChildrenCount),
            ("composition_logement_enfants", Column::ChildrenUnder6),
        ],
    });
    out.push(Section {
        title: "Le logement",
        fields: vec![
            ("composition_logement_superficie", Column::Surface),
            ("composition_logement_nb_pieces", Column::Rooms),
        ],
    });
    out
}

/// The form's question of a section's field (every slug above is one).
pub fn question_of(slug: &str) -> Question {
    form::question(slug).unwrap_or_else(|| panic!("the form asks {slug}"))
}

/// The answers the questions' conditions read besides the fields: the
/// declarant's profile, and "several rooms" (the space asks the number of
/// rooms directly).
fn context(profile: DeclarantProfile) -> Answers {
    let mut a = Answers::new();
    let (first, detail) = if profile.is_occupant() {
        (
            "logement_occupez",
            "signalement_concerne_profil_detail_occupant",
        )
    } else {
        ("autre_logement", "signalement_concerne_profil_detail_tiers")
    };
    a.insert("signalement_concerne_profil".into(), first.into());
    a.insert(detail.into(), profile.code().into());
    a.insert(
        "composition_logement_piece_unique".into(),
        "plusieurs_pieces".into(),
    );
    a
}

/// The form prefilled from the stored columns (with the context the
/// questions' conditions read).
pub fn prefilled(profile: DeclarantProfile, stored: &ResidentDetails) -> Answers {
    let mut a = context(profile);
    for section in sections(profile) {
        for (slug, column) in section.fields {
            a.insert(slug.into(), column.text(stored));
        }
    }
    a
}

/// What the correction form sends: the case's version it was built from
/// and its raw fields.
#[derive(Debug, Clone, Default)]
pub struct CorrectionInput {
    pub version: u32,
    pub fields: Vec<(String, String)>,
}

impl CorrectionInput {
    /// The trimmed value of a field ("" when absent).
    pub fn get(&self, name: &str) -> String {
        self.fields
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.trim().to_owned())
            .unwrap_or_default()
    }

    /// The answers as posted, with the questions' context, to show the
    /// form again after an error.
    pub fn answers(&self, profile: DeclarantProfile) -> Answers {
        let mut a = context(profile);
        for section in sections(profile) {
            for (slug, _) in section.fields {
                a.insert(slug.into(), self.get(slug));
            }
        }
        a
    }
}

/// A field as a line of the follow-up: "Section – Question : old → new".
fn change_line(section: &str, label: &str, before: &str, after: &str) -> String {
    let shown = |v: &str| {
        if v.is_empty() {
            "(vide)".to_owned()
        } else {
            v.to_owned()
        }
    };
    format!("{section} – {label} : {} → {}", shown(before), shown(after))
}

/// The resident corrects the case. `version`: the case's current version;
/// `stored`: its columns now; `today` for the form's date rules.
///
/// Refused once the case is no longer open ([`Refusal::WrongStatus`]) or
/// when the form was built from an older version ([`Refusal::Stale`]);
/// field errors are the public form's, keyed by the question's slug.
/// `Ok(None)`: nothing changed, nothing to write.
pub fn correct_details(
    case: &ResidentCase,
    profile: DeclarantProfile,
    version: u32,
    stored: &ResidentDetails,
    input: &CorrectionInput,
    today: time::Date,
) -> Result<Option<Plan>, Refusal> {
    if !case.status.is_open() {
        return Err(Refusal::WrongStatus(case.status));
    }
    if input.version != version {
        return Err(Refusal::Stale);
    }
    let sections = sections(profile);
    let mut answers = input.answers(profile);
    // Only what the resident changed is checked: a stored value left as it
    // is stays, whatever today's rules say of it.
    let changed: Vec<(&'static str, &'static str, Column)> = sections
        .iter()
        .flat_map(|s| s.fields.iter().map(move |(slug, c)| (s.title, *slug, *c)))
        .filter(|(_, slug, column)| input.get(slug) != column.text(stored))
        .collect();
    let questions: Vec<Question> = changed
        .iter()
        .map(|(_, slug, _)| question_of(slug))
        .collect();
    let mut errors = FieldErrors::default();
    for (field, message) in form::validate(&questions, &mut answers, today) {
        if let Some((_, slug, _)) = changed.iter().find(|(_, s, _)| *s == field) {
            errors.add(slug, message);
        }
    }
    errors.into_result()?;
    let mut after = stored.clone();
    let mut lines = Vec::new();
    for (title, slug, column) in &changed {
        let value = answers
            .get(*slug)
            .map(String::as_str)
            .filter(|v| !v.is_empty());
        column.set(&mut after, value);
        if profile.is_occupant()
            && let Some(mirror) = column.mirrored()
        {
            mirror.set(&mut after, value);
        }
        let (before_text, after_text) = (column.text(stored), column.text(&after));
        if before_text != after_text {
            let label = question_of(slug).label;
            lines.push(change_line(title, &label, &before_text, &after_text));
        }
    }
    if lines.is_empty() {
        return Ok(None);
    }
    let changes: Vec<(&str, String, String)> = Column::ALL
        .iter()
        .map(|c| (c.name(), c.text(stored), c.text(&after)))
        .collect();
    let mut plan = Plan::new(case.case.clone(), None, Guard::Version(version));
    plan.report_fields
        .push(ReportField::ResidentDetails(Box::new(after)));
    plan.follow_up = Some(NewFollowUp {
        author: Author::Resident,
        partner_id: None,
        category: CATEGORY,
        body: text_to_html(&format!(
            "Le signalement a été corrigé depuis l’espace de suivi :\n{}",
            lines.join("\n")
        )),
        public: true,
    });
    plan.audit = Some(AuditEntry {
        action: "resident_edit",
        diff: diff(&changes),
    });
    plan.notices.push(Notice::Staff {
        audience: Audience::Followers,
        kind: NotificationKind::ResidentFollowUp,
        title: "Le signalement a été corrigé depuis l’espace de suivi",
    });
    Ok(Some(plan))
}

#[cfg(test)]
mod tests {
    use super::super::ReportStatus;
    use super::super::plan::CaseRef;
    use super::*;

    fn case(status: ReportStatus) -> ResidentCase {
        ResidentCase {
            case: CaseRef {
                report_id: 7,
                uuid: "u".into(),
                territory_id: 13,
            },
            status,
            after_closure: None,
        }
    }

    fn stored() -> ResidentDetails {
        ResidentDetails {
            declarant_first_name: Some("Camille".into()),
            declarant_last_name: Some("Dupont".into()),
            declarant_phone: Some("ancien 12".into()),
            occupant_first_name: Some("Camille".into()),
            occupant_last_name: Some("Dupont".into()),
            occupant_phone: Some("ancien 12".into()),
            landlord_name: Some("SCI Soleil".into()),
            occupants_count: Some(3),
            children_count: Some(1),
            children_under_6: Some(false),
            surface: Some("42.50".into()),
            rooms: Some(2),
            ..ResidentDetails::default()
        }
    }

    fn form(profile: DeclarantProfile, s: &ResidentDetails) -> CorrectionInput {
        CorrectionInput {
            version: 4,
            fields: prefilled(profile, s).into_iter().collect(),
        }
    }

    fn set(input: &mut CorrectionInput, name: &str, value: &str) {
        input.fields.retain(|(k, _)| k != name);
        input.fields.push((name.to_owned(), value.to_owned()));
    }

    fn today() -> time::Date {
        time::macros::date!(2026 - 12 - 06)
    }

    const TENANT: DeclarantProfile = DeclarantProfile::Locataire;

    #[test]
    fn every_field_is_a_question_of_the_public_form() {
        for profile in [
            TENANT,
            DeclarantProfile::TiersParticulier,
            DeclarantProfile::Bailleur,
        ] {
            for section in sections(profile) {
                for (slug, _) in section.fields {
                    assert!(form::question(slug).is_some(), "{slug}");
                }
            }
        }
        let titles = |p| sections(p).iter().map(|s| s.title).collect::<Vec<_>>();
        assert!(titles(TENANT).contains(&"Le bailleur"));
        assert!(!titles(TENANT).contains(&"L’occupant"));
        assert!(titles(DeclarantProfile::TiersPro).contains(&"L’occupant"));
        assert!(!titles(DeclarantProfile::BailleurOccupant).contains(&"Le bailleur"));
    }

    #[test]
    fn an_untouched_form_writes_nothing_even_with_old_values() {
        let before = stored();
        let plan = correct_details(
            &case(ReportStatus::Active),
            TENANT,
            4,
            &before,
            &form(TENANT, &before),
            today(),
        );
        assert_eq!(plan, Ok(None));
    }

    #[test]
    fn a_correction_writes_mirrors_lists_the_changes_and_audits_them() {
        let before = stored();
        let mut input = form(TENANT, &before);
        set(&mut input, "vos_coordonnees_occupant_tel", "07 98 76 54 32");
        set(&mut input, "composition_logement_nombre_personnes", "4");
        set(&mut input, "coordonnees_bailleur_email", "Gestion@SCI.fr");
        let plan = correct_details(
            &case(ReportStatus::Active),
            TENANT,
            4,
            &before,
            &input,
            today(),
        )
        .expect("valid")
        .expect("a change");
        assert_eq!(plan.guard, Guard::Version(4));
        assert_eq!(plan.by, None);
        assert_eq!(plan.staff_notices().len(), 1);
        let [ReportField::ResidentDetails(after)] = plan.report_fields.as_slice() else {
            panic!("the details are written");
        };
        assert_eq!(after.declarant_phone.as_deref(), Some("+33798765432"));
        assert_eq!(
            after.occupant_phone.as_deref(),
            Some("+33798765432"),
            "a tenant is the occupant"
        );
        assert_eq!(after.occupants_count, Some(4));
        assert_eq!(after.landlord_email.as_deref(), Some("gestion@sci.fr"));
        assert_eq!(after.surface.as_deref(), Some("42.50"), "untouched");
        let follow_up = plan.follow_up.expect("a follow-up");
        assert_eq!(follow_up.author, Author::Resident);
        assert_eq!(follow_up.category, CATEGORY);
        assert!(
            follow_up
                .body
                .contains("Vos coordonnées – Numéro de téléphone : ancien 12 → +33798765432")
        );
        assert!(
            follow_up
                .body
                .contains("Les occupants – Combien de personnes vivent dans le logement ? : 3 → 4")
        );
        assert!(
            follow_up.body.contains(
                "Le bailleur – Adresse électronique du bailleur : (vide) → gestion@sci.fr"
            )
        );
        let audit = plan.audit.expect("audited");
        assert_eq!(audit.action, "resident_edit");
        let diff = audit.diff.expect("a diff");
        assert_eq!(
            diff["occupant_phone"],
            serde_json::json!(["ancien 12", "+33798765432"])
        );
        assert_eq!(
            diff["dwelling_occupants_count"],
            serde_json::json!(["3", "4"])
        );
    }

    #[test]
    fn the_public_forms_rules_and_messages_apply() {
        let before = stored();
        let mut input = form(TENANT, &before);
        set(&mut input, "vos_coordonnees_occupant_tel", "12 34");
        set(&mut input, "vos_coordonnees_occupant_nom", "");
        set(&mut input, "composition_logement_nombre_enfants", "5");
        set(&mut input, "composition_logement_superficie", "beaucoup");
        set(&mut input, "coordonnees_bailleur_email", "pas-un-courriel");
        let Err(Refusal::Invalid(errors)) = correct_details(
            &case(ReportStatus::Active),
            TENANT,
            4,
            &before,
            &input,
            today(),
        ) else {
            panic!("refused");
        };
        assert!(
            errors
                .get("vos_coordonnees_occupant_tel")
                .is_some_and(|m| m.contains("numéro de téléphone"))
        );
        assert_eq!(
            errors.get("vos_coordonnees_occupant_nom"),
            Some("Ce champ est obligatoire.")
        );
        assert_eq!(
            errors.get("composition_logement_nombre_enfants"),
            Some("Il ne peut pas y avoir plus d’enfants que de personnes.")
        );
        assert_eq!(
            errors.get("composition_logement_superficie"),
            Some("Saisissez un nombre entier, en chiffres.")
        );
        assert!(
            errors
                .get("coordonnees_bailleur_email")
                .is_some_and(|m| m.contains("adresse électronique valide"))
        );
    }

    #[test]
    fn a_closed_case_or_a_stale_form_is_refused() {
        let before = stored();
        let mut input = form(TENANT, &before);
        set(&mut input, "composition_logement_nombre_personnes", "4");
        assert_eq!(
            correct_details(
                &case(ReportStatus::Closed),
                TENANT,
                4,
                &before,
                &input,
                today()
            ),
            Err(Refusal::WrongStatus(ReportStatus::Closed))
        );
        assert_eq!(
            correct_details(
                &case(ReportStatus::Active),
                TENANT,
                5,
                &before,
                &input,
                today()
            ),
            Err(Refusal::Stale)
        );
    }

    #[test]
    fn a_third_party_corrects_the_occupant_without_touching_their_own_contact() {
        let profile = DeclarantProfile::TiersParticulier;
        let before = stored();
        let mut input = form(profile, &before);
        set(&mut input, "coordonnees_occupant_prenom", "Lina");
        let plan = correct_details(
            &case(ReportStatus::NeedValidation),
            profile,
            4,
            &before,
            &input,
            today(),
        )
        .expect("valid")
        .expect("a change");
        let [ReportField::ResidentDetails(after)] = plan.report_fields.as_slice() else {
            panic!("the details are written");
        };
        assert_eq!(after.occupant_first_name.as_deref(), Some("Lina"));
        assert_eq!(after.declarant_first_name.as_deref(), Some("Camille"));
    }
}
