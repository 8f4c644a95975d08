//! Auto-assignment rules: which partners a validated report goes to,
//! without the territory admin ticking them one by one (Histologe's
//! `AutoAffectationRule`). A rule names a partner type and conditions on
//! the report; the partners of that type whose perimeter covers the report
//! are picked.

/// A rule as stored.
#[derive(Debug, Clone, PartialEq)]
pub struct Rule {
    pub id: u64,
    pub partner_type: String,
    /// `all`, `occupant` (tenant or owner-occupant), `tiers` (third
    /// parties), or one declarant profile.
    pub declarant_profile: String,
    /// `all`, `prive`, `public`, `non_renseigne`.
    pub housing_sector: String,
    /// `all`, `oui`, `non`, `caf`, `msa`, `nsp`.
    pub allowance: String,
    /// Empty = every commune.
    pub insee_include: Vec<String>,
    pub insee_exclude: Vec<String>,
    pub partner_exclude: Vec<u64>,
}

/// The facts of a report the rules look at.
#[derive(Debug, Clone, Default)]
pub struct ReportFacts {
    pub declarant_profile: String,
    pub is_public_housing: Option<bool>,
    pub housing_allowance: Option<bool>,
    /// `caf` or `msa` when known.
    pub allowance_fund: Option<String>,
    pub insee_code: String,
}

/// A candidate partner: id, type, perimeter (empty = whole territory).
#[derive(Debug, Clone)]
pub struct Candidate {
    pub id: u64,
    pub partner_type: String,
    pub insee_codes: Vec<String>,
}

pub const PROFILES: [(&str, &str); 9] = [
    ("all", "Tous les déclarants"),
    ("occupant", "Occupants (locataire, propriétaire occupant)"),
    ("tiers", "Tiers (particulier, professionnel, secours)"),
    ("locataire", "Locataire"),
    ("bailleur_occupant", "Propriétaire occupant"),
    ("tiers_particulier", "Tiers particulier"),
    ("tiers_pro", "Tiers professionnel"),
    ("service_secours", "Service de secours"),
    ("bailleur", "Bailleur"),
];
pub const SECTORS: [(&str, &str); 4] = [
    ("all", "Tous les parcs"),
    ("prive", "Parc privé"),
    ("public", "Parc public (social)"),
    ("non_renseigne", "Parc non renseigné"),
];
pub const ALLOWANCES: [(&str, &str); 6] = [
    ("all", "Allocataire ou non"),
    ("oui", "Allocataire"),
    ("non", "Non allocataire"),
    ("caf", "Allocataire CAF"),
    ("msa", "Allocataire MSA"),
    ("nsp", "Ne sait pas"),
];

fn profile_matches(rule: &str, profile: &str) -> bool {
    match rule {
        "all" => true,
        "occupant" => matches!(profile, "locataire" | "bailleur_occupant"),
        "tiers" => matches!(
            profile,
            "tiers_particulier" | "tiers_pro" | "service_secours"
        ),
        other => other == profile,
    }
}

fn sector_matches(rule: &str, public: Option<bool>) -> bool {
    match rule {
        "prive" => public == Some(false),
        "public" => public == Some(true),
        "non_renseigne" => public.is_none(),
        _ => true,
    }
}

fn allowance_matches(rule: &str, allowance: Option<bool>, fund: Option<&str>) -> bool {
    match rule {
        "oui" => allowance == Some(true),
        "non" => allowance == Some(false),
        "nsp" => allowance.is_none(),
        "caf" | "msa" => allowance == Some(true) && fund == Some(rule),
        _ => true,
    }
}

/// Whether the rule applies to the report (before looking at partners).
pub fn rule_applies(rule: &Rule, report: &ReportFacts) -> bool {
    profile_matches(&rule.declarant_profile, &report.declarant_profile)
        && sector_matches(&rule.housing_sector, report.is_public_housing)
        && allowance_matches(
            &rule.allowance,
            report.housing_allowance,
            report.allowance_fund.as_deref(),
        )
        && (rule.insee_include.is_empty() || rule.insee_include.contains(&report.insee_code))
        && !rule.insee_exclude.contains(&report.insee_code)
}

/// The partners the rules pick for the report, sorted, without duplicates.
pub fn pick(rules: &[Rule], report: &ReportFacts, candidates: &[Candidate]) -> Vec<u64> {
    let mut picked: Vec<u64> = rules
        .iter()
        .filter(|rule| rule_applies(rule, report))
        .flat_map(|rule| {
            candidates.iter().filter(move |c| {
                c.partner_type == rule.partner_type
                    && !rule.partner_exclude.contains(&c.id)
                    && (c.insee_codes.is_empty() || c.insee_codes.contains(&report.insee_code))
            })
        })
        .map(|c| c.id)
        .collect();
    picked.sort_unstable();
    picked.dedup();
    picked
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rule(partner_type: &str) -> Rule {
        Rule {
            id: 1,
            partner_type: partner_type.into(),
            declarant_profile: "all".into(),
            housing_sector: "all".into(),
            allowance: "all".into(),
            insee_include: vec![],
            insee_exclude: vec![],
            partner_exclude: vec![],
        }
    }

    fn candidates() -> Vec<Candidate> {
        vec![
            Candidate {
                id: 1,
                partner_type: "commune_schs".into(),
                insee_codes: vec!["69381".into(), "69383".into()],
            },
            Candidate {
                id: 2,
                partner_type: "commune_schs".into(),
                insee_codes: vec!["69123".into()],
            },
            Candidate {
                id: 3,
                partner_type: "caf_msa".into(),
                insee_codes: vec![],
            },
            Candidate {
                id: 4,
                partner_type: "ars".into(),
                insee_codes: vec![],
            },
        ]
    }

    fn report() -> ReportFacts {
        ReportFacts {
            declarant_profile: "locataire".into(),
            is_public_housing: Some(false),
            housing_allowance: Some(true),
            allowance_fund: Some("caf".into()),
            insee_code: "69383".into(),
        }
    }

    #[test]
    fn a_rule_picks_the_partners_of_its_type_whose_perimeter_covers_the_commune() {
        assert_eq!(
            pick(&[rule("commune_schs")], &report(), &candidates()),
            vec![1]
        );
        assert_eq!(
            pick(
                &[rule("ars"), rule("commune_schs")],
                &report(),
                &candidates()
            ),
            vec![1, 4]
        );
    }

    #[test]
    fn conditions_on_the_report_narrow_the_rules() {
        let caf_only = Rule {
            allowance: "caf".into(),
            ..rule("caf_msa")
        };
        assert_eq!(
            pick(std::slice::from_ref(&caf_only), &report(), &candidates()),
            vec![3]
        );
        let msa_report = ReportFacts {
            allowance_fund: Some("msa".into()),
            ..report()
        };
        assert!(pick(&[caf_only], &msa_report, &candidates()).is_empty());
        let public_only = Rule {
            housing_sector: "public".into(),
            ..rule("ars")
        };
        assert!(pick(&[public_only], &report(), &candidates()).is_empty());
        let thirds = Rule {
            declarant_profile: "tiers".into(),
            ..rule("ars")
        };
        assert!(pick(&[thirds], &report(), &candidates()).is_empty());
        let excluded = Rule {
            insee_exclude: vec!["69383".into()],
            ..rule("ars")
        };
        assert!(pick(&[excluded], &report(), &candidates()).is_empty());
        let without_4 = Rule {
            partner_exclude: vec![4],
            ..rule("ars")
        };
        assert!(pick(&[without_4], &report(), &candidates()).is_empty());
    }
}
