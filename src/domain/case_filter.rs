//! The filters of the back-office case list, parsed from the URL query
//! string (so that a view can be shared, bookmarked and saved). Unknown
//! values are refused with a French message rather than ignored, so that a
//! mistyped link does not silently show something else.

use time::Date;

/// Sort columns offered by the list.
pub const SORTS: [(&str, &str); 5] = [
    ("date", "Date de dépôt"),
    ("reference", "Référence"),
    ("dernier_suivi", "Dernier suivi"),
    ("ville", "Ville"),
    ("criticite", "Criticité"),
];

/// Assignment situations a case can be filtered on.
pub const ASSIGNMENT_FILTERS: [(&str, &str); 6] = [
    ("en_attente", "Affectation en attente de réponse"),
    ("acceptee", "Affectation acceptée"),
    ("refusee", "Affectation refusée"),
    ("aucune_acceptee", "Aucune affectation acceptée"),
    (
        "cloture_un_partenaire",
        "Clôturé par au moins un partenaire",
    ),
    ("cloture_tous", "Clôturé par tous les partenaires"),
];

#[derive(Debug, Clone, Default, PartialEq)]
pub struct CaseFilter {
    pub territory_id: Option<u32>,
    pub q: String,
    pub statuses: Vec<String>,
    pub postal_codes: Vec<String>,
    pub date_from: Option<Date>,
    pub date_to: Option<Date>,
    pub partner_ids: Vec<u64>,
    /// "Aucun partenaire": cases without any assignment.
    pub no_partner: bool,
    pub assignment: Option<String>,
    pub profile: Option<String>,
    /// `public`, `prive` or `inconnu`.
    pub housing: Option<String>,
    pub allowance: Option<bool>,
    pub children_under_6: Option<bool>,
    pub severity_min: Option<f64>,
    pub severity_max: Option<f64>,
    pub qualification: Option<String>,
    pub tag_ids: Vec<u64>,
    pub last_follow_up_from: Option<Date>,
    pub last_follow_up_to: Option<Date>,
    pub last_follow_up_author: Option<String>,
    pub visit_status: Option<String>,
    /// A procedure found at a done visit (docs/visits.md §5).
    pub procedure: Option<String>,
    /// "Avec rapport de visite" / "Sans photo" (`documents=`).
    pub documents: Option<super::document::DocumentPresence>,
    /// "Arrêté en cours" (`arrete=en_cours`): an order recorded on the case
    /// and not lifted (docs/arretes.md).
    pub arrete: Option<String>,
    pub closure_reason: Option<String>,
    /// "E-mail à vérifier": a resident's address bounced
    /// (docs/deliverability.md §3).
    pub email_to_check: bool,
    pub mine: bool,
    pub sort: String,
    pub descending: bool,
    pub page: u32,
}

fn date(value: &str, field: &str) -> Result<Date, String> {
    let format = time::macros::format_description!("[year]-[month]-[day]");
    Date::parse(value, &format)
        .map_err(|_| format!("La date « {value} » ({field}) doit être au format AAAA-MM-JJ."))
}

fn yes_no(value: &str, field: &str) -> Result<Option<bool>, String> {
    match value {
        "" => Ok(None),
        "oui" => Ok(Some(true)),
        "non" => Ok(Some(false)),
        other => Err(format!(
            "La valeur « {other} » n’est pas reconnue pour {field} (oui ou non)."
        )),
    }
}

fn one_of(value: &str, allowed: &[&str], field: &str) -> Result<Option<String>, String> {
    if value.is_empty() {
        Ok(None)
    } else if allowed.contains(&value) {
        Ok(Some(value.to_owned()))
    } else {
        Err(format!(
            "La valeur « {value} » n’est pas reconnue pour {field}."
        ))
    }
}

impl CaseFilter {
    /// For templates: whether this option is the selected one.
    pub fn territory_is(&self, id: &u32) -> bool {
        self.territory_id == Some(*id)
    }
    pub fn partner_is(&self, id: &u64) -> bool {
        self.partner_ids.contains(id)
    }
    pub fn tag_is(&self, id: &u64) -> bool {
        self.tag_ids.contains(id)
    }
    /// (code, label) of the documents filter's choices.
    pub fn document_options(&self) -> Vec<(&'static str, &'static str)> {
        super::document::DocumentPresence::ALL
            .iter()
            .map(|d| (d.code(), d.label()))
            .collect()
    }
    pub fn documents_is(&self, code: &str) -> bool {
        self.documents.is_some_and(|d| d.code() == code)
    }
    pub fn status_is(&self, code: &str) -> bool {
        self.statuses.iter().any(|s| s == code)
    }
    /// Whether the optional filter `name` currently has the value `code`.
    pub fn is(&self, name: &str, code: &str) -> bool {
        let value = match name {
            "affectation" => &self.assignment,
            "profil" => &self.profile,
            "parc" => &self.housing,
            "qualification" => &self.qualification,
            "visite" => &self.visit_status,
            "procedure_constatee" => &self.procedure,
            "arrete" => &self.arrete,
            "suivi_auteur" => &self.last_follow_up_author,
            "motif_cloture" => &self.closure_reason,
            _ => return false,
        };
        value.as_deref() == Some(code)
    }
    /// Whether any filter beyond the main ones is set (opens the panel).
    pub fn has_more(&self) -> bool {
        !self.postal_codes.is_empty()
            || self.date_from.is_some()
            || self.date_to.is_some()
            || !self.partner_ids.is_empty()
            || self.no_partner
            || self.assignment.is_some()
            || self.profile.is_some()
            || self.housing.is_some()
            || self.allowance.is_some()
            || self.children_under_6.is_some()
            || self.severity_min.is_some()
            || self.severity_max.is_some()
            || self.qualification.is_some()
            || !self.tag_ids.is_empty()
            || self.last_follow_up_author.is_some()
            || self.visit_status.is_some()
            || self.procedure.is_some()
            || self.documents.is_some()
            || self.email_to_check
            || self.arrete.is_some()
            || self.mine
    }

    /// Parses the query-string pairs; the first error is returned as a
    /// French sentence (the page answers 400 with it).
    pub fn parse(pairs: &[(String, String)]) -> Result<Self, String> {
        let mut f = CaseFilter {
            sort: "date".into(),
            descending: true,
            page: 1,
            ..CaseFilter::default()
        };
        let statuses: Vec<&str> = super::case::ReportStatus::ALL
            .iter()
            .map(|s| s.as_str())
            .collect();
        let assignments: Vec<&str> = ASSIGNMENT_FILTERS.iter().map(|(c, _)| *c).collect();
        let sorts: Vec<&str> = SORTS.iter().map(|(c, _)| *c).collect();
        for (key, raw) in pairs {
            let value = raw.trim();
            match key.as_str() {
                "territoire" if !value.is_empty() => {
                    f.territory_id = Some(
                        value
                            .parse()
                            .map_err(|_| format!("Territoire inconnu : « {value} »."))?,
                    )
                }
                "q" => f.q = value.chars().take(200).collect(),
                "statut" if !value.is_empty() => {
                    one_of(value, &statuses, "le statut")?;
                    f.statuses.push(value.to_owned());
                }
                "code_postal" if !value.is_empty() => {
                    for code in value.split([',', ' ']).filter(|c| !c.is_empty()) {
                        if code.len() != 5 || !code.bytes().all(|b| b.is_ascii_alphanumeric()) {
                            return Err(format!(
                                "« {code} » n’est pas un code postal ou INSEE (5 caractères)."
                            ));
                        }
                        f.postal_codes.push(code.to_uppercase());
                    }
                }
                "depot_du" if !value.is_empty() => {
                    f.date_from = Some(date(value, "date de dépôt, du")?)
                }
                "depot_au" if !value.is_empty() => {
                    f.date_to = Some(date(value, "date de dépôt, au")?)
                }
                "partenaire" if !value.is_empty() => {
                    if value == "aucun" {
                        f.no_partner = true;
                    } else {
                        f.partner_ids.push(
                            value
                                .parse()
                                .map_err(|_| format!("Partenaire inconnu : « {value} »."))?,
                        );
                    }
                }
                "affectation" => f.assignment = one_of(value, &assignments, "l’affectation")?,
                "profil" => {
                    f.profile = one_of(
                        value,
                        &[
                            "locataire",
                            "bailleur_occupant",
                            "tiers_particulier",
                            "tiers_pro",
                            "service_secours",
                            "bailleur",
                        ],
                        "le profil du déclarant",
                    )?
                }
                "parc" => f.housing = one_of(value, &["public", "prive", "inconnu"], "le parc")?,
                "allocataire" => f.allowance = yes_no(value, "allocataire")?,
                "enfants_moins_6" => {
                    f.children_under_6 = yes_no(value, "enfants de moins de 6 ans")?
                }
                "criticite_min" if !value.is_empty() => f.severity_min = Some(severity(value)?),
                "criticite_max" if !value.is_empty() => f.severity_max = Some(severity(value)?),
                "qualification" => {
                    f.qualification = one_of(
                        value,
                        &[
                            "non_decence",
                            "rsd",
                            "salete",
                            "insalubrite",
                            "mise_en_securite_peril",
                            "assurantiel",
                            "danger",
                            "suroccupation",
                            "non_decence_energetique",
                        ],
                        "la qualification",
                    )?
                }
                "etiquette" if !value.is_empty() => f.tag_ids.push(
                    value
                        .parse()
                        .map_err(|_| format!("Étiquette inconnue : « {value} »."))?,
                ),
                "suivi_du" if !value.is_empty() => {
                    f.last_follow_up_from = Some(date(value, "dernier suivi, du")?)
                }
                "suivi_au" if !value.is_empty() => {
                    f.last_follow_up_to = Some(date(value, "dernier suivi, au")?)
                }
                "suivi_auteur" => {
                    f.last_follow_up_author = one_of(
                        value,
                        &["partner", "resident", "system"],
                        "l’auteur du dernier suivi",
                    )?
                }
                "visite" => {
                    f.visit_status = one_of(
                        value,
                        &[
                            "planned",
                            "done",
                            "cancelled",
                            "not_done",
                            "aucune",
                            "necessaire",
                        ],
                        "la visite",
                    )?
                }
                "documents" if !value.is_empty() => {
                    f.documents = Some(super::document::DocumentPresence::parse(value).ok_or_else(
                        || format!("La valeur « {value} » n’est pas reconnue pour les documents."),
                    )?)
                }
                "procedure_constatee" => {
                    let codes: Vec<&str> = crate::domain::case::visit::Procedure::ALL
                        .iter()
                        .map(|p| p.as_str())
                        .collect();
                    f.procedure = one_of(value, &codes, "la procédure constatée")?
                }
                "arrete" => f.arrete = one_of(value, &["en_cours"], "l’arrêté")?,
                "motif_cloture" => {
                    let reasons: Vec<&str> = super::workflow::CLOSURE_REASONS
                        .iter()
                        .map(|(c, _)| *c)
                        .collect();
                    f.closure_reason = one_of(value, &reasons, "le motif de clôture")?
                }
                "mes_dossiers" => f.mine = matches!(value, "1" | "oui" | "on"),
                "email_a_verifier" => f.email_to_check = matches!(value, "1" | "oui" | "on"),
                "tri" if !value.is_empty() => {
                    one_of(value, &sorts, "le tri")?;
                    f.sort = value.to_owned();
                }
                "ordre" => f.descending = value != "asc",
                "page" if !value.is_empty() => {
                    f.page = value
                        .parse::<u32>()
                        .ok()
                        .filter(|p| *p >= 1 && *p <= 100_000)
                        .ok_or_else(|| format!("Page invalide : « {value} »."))?
                }
                _ => {}
            }
        }
        if let (Some(from), Some(to)) = (f.date_from, f.date_to)
            && from > to
        {
            return Err("La date de début de dépôt est postérieure à la date de fin.".into());
        }
        if let (Some(from), Some(to)) = (f.last_follow_up_from, f.last_follow_up_to)
            && from > to
        {
            return Err(
                "La date de début du dernier suivi est postérieure à la date de fin.".into(),
            );
        }
        if let (Some(min), Some(max)) = (f.severity_min, f.severity_max)
            && min > max
        {
            return Err("La criticité minimale est supérieure à la criticité maximale.".into());
        }
        Ok(f)
    }

    /// The query string of this filter, without the page (for pagination
    /// and sort links).
    pub fn query_string(&self) -> String {
        let mut pairs: Vec<(String, String)> = Vec::new();
        let mut push = |k: &str, v: String| pairs.push((k.to_owned(), v));
        if let Some(t) = self.territory_id {
            push("territoire", t.to_string());
        }
        if !self.q.is_empty() {
            push("q", self.q.clone());
        }
        for s in &self.statuses {
            push("statut", s.clone());
        }
        if !self.postal_codes.is_empty() {
            push("code_postal", self.postal_codes.join(","));
        }
        let iso = |d: &Date| format!("{:04}-{:02}-{:02}", d.year(), u8::from(d.month()), d.day());
        if let Some(d) = &self.date_from {
            push("depot_du", iso(d));
        }
        if let Some(d) = &self.date_to {
            push("depot_au", iso(d));
        }
        for p in &self.partner_ids {
            push("partenaire", p.to_string());
        }
        if self.no_partner {
            push("partenaire", "aucun".into());
        }
        for (key, value) in [
            ("affectation", &self.assignment),
            ("profil", &self.profile),
            ("parc", &self.housing),
            ("qualification", &self.qualification),
            ("suivi_auteur", &self.last_follow_up_author),
            ("visite", &self.visit_status),
            ("procedure_constatee", &self.procedure),
            ("arrete", &self.arrete),
            ("motif_cloture", &self.closure_reason),
        ] {
            if let Some(v) = value {
                push(key, v.clone());
            }
        }
        if let Some(d) = self.documents {
            push("documents", d.code().to_owned());
        }
        for (key, value) in [
            ("allocataire", self.allowance),
            ("enfants_moins_6", self.children_under_6),
        ] {
            if let Some(v) = value {
                push(key, if v { "oui" } else { "non" }.into());
            }
        }
        if let Some(v) = self.severity_min {
            push("criticite_min", v.to_string());
        }
        if let Some(v) = self.severity_max {
            push("criticite_max", v.to_string());
        }
        for t in &self.tag_ids {
            push("etiquette", t.to_string());
        }
        if let Some(d) = &self.last_follow_up_from {
            push("suivi_du", iso(d));
        }
        if let Some(d) = &self.last_follow_up_to {
            push("suivi_au", iso(d));
        }
        if self.mine {
            push("mes_dossiers", "1".into());
        }
        if self.email_to_check {
            push("email_a_verifier", "1".into());
        }
        push("tri", self.sort.clone());
        push("ordre", if self.descending { "desc" } else { "asc" }.into());
        serde_urlencoded::to_string(&pairs).unwrap_or_default()
    }
}

fn severity(value: &str) -> Result<f64, String> {
    value
        .replace(',', ".")
        .parse::<f64>()
        .ok()
        .filter(|v| (0.0..=100.0).contains(v))
        .ok_or_else(|| format!("La criticité « {value} » doit être un nombre entre 0 et 100."))
}

/// How the free-text search is run.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SearchTerm {
    /// `2026-12`: a reference.
    Reference(String),
    /// Five characters: a postal or INSEE code.
    Code(String),
    /// Contains `@`: an e-mail address.
    Email(String),
    /// Words: full-text search (every word must match, as a prefix).
    Words(String),
}

pub fn search_term(q: &str) -> Option<SearchTerm> {
    let q = q.trim();
    if q.is_empty() {
        return None;
    }
    let is_reference = q.split_once('-').is_some_and(|(y, n)| {
        y.len() == 4
            && y.bytes().all(|b| b.is_ascii_digit())
            && !n.is_empty()
            && n.bytes().all(|b| b.is_ascii_digit())
    });
    if is_reference {
        return Some(SearchTerm::Reference(q.to_owned()));
    }
    if q.len() == 5 && q.bytes().all(|b| b.is_ascii_digit()) {
        return Some(SearchTerm::Code(q.to_owned()));
    }
    if q.contains('@') {
        return Some(SearchTerm::Email(q.to_lowercase()));
    }
    // Boolean-mode full text: each word required, as a prefix; operators
    // typed by the user are dropped so they cannot change the query.
    let words: Vec<String> = q
        .split(|c: char| !c.is_alphanumeric())
        .filter(|w| w.chars().count() >= 2)
        .take(8)
        .map(|w| format!("+{w}*"))
        .collect();
    (!words.is_empty()).then(|| SearchTerm::Words(words.join(" ")))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pairs(q: &str) -> Vec<(String, String)> {
        serde_urlencoded::from_str(q).unwrap()
    }

    #[test]
    fn a_filter_round_trips_through_its_query_string() {
        let f = CaseFilter::parse(&pairs("statut=active&statut=closed&code_postal=69003&depot_du=2026-01-01&partenaire=4&partenaire=aucun&allocataire=oui&criticite_min=30&tri=criticite&ordre=asc&mes_dossiers=1")).unwrap();
        assert_eq!(f.statuses, ["active", "closed"]);
        assert!(f.no_partner && f.partner_ids == [4] && f.allowance == Some(true) && f.mine);
        assert_eq!(
            CaseFilter::parse(&pairs(&f.query_string())).unwrap(),
            CaseFilter { page: 1, ..f }
        );
    }

    #[test]
    fn bad_values_are_refused_in_french() {
        assert!(
            CaseFilter::parse(&pairs("statut=perdu"))
                .unwrap_err()
                .contains("statut")
        );
        assert!(
            CaseFilter::parse(&pairs("depot_du=2026-02-01&depot_au=2026-01-01"))
                .unwrap_err()
                .contains("postérieure")
        );
        assert!(
            CaseFilter::parse(&pairs("criticite_min=120"))
                .unwrap_err()
                .contains("entre 0 et 100")
        );
        assert!(
            CaseFilter::parse(&pairs("depot_du=hier"))
                .unwrap_err()
                .contains("AAAA-MM-JJ")
        );
        assert!(
            CaseFilter::parse(&pairs("tri=aleatoire"))
                .unwrap_err()
                .contains("tri")
        );
    }

    #[test]
    fn the_search_box_understands_references_codes_emails_and_words() {
        assert_eq!(
            search_term("2026-42"),
            Some(SearchTerm::Reference("2026-42".into()))
        );
        assert_eq!(search_term("69003"), Some(SearchTerm::Code("69003".into())));
        assert_eq!(
            search_term("Jean@Exemple.fr"),
            Some(SearchTerm::Email("jean@exemple.fr".into()))
        );
        assert_eq!(
            search_term("rue Garibaldi -x"),
            Some(SearchTerm::Words("+rue* +Garibaldi*".into()))
        );
        assert_eq!(search_term("  "), None);
    }
}
