//! Demo data for a first run: two open territories, partners of several
//! types with perimeters, one user per role (password printed, demo only)
//! and a few hundred reports in every status, with defects, qualifications,
//! assignments and follow-ups, so that every back-office page has something
//! to show. Idempotent: a second run changes nothing. Refused in production
//! ([`ensure_allowed`]): the accounts have a public password.

// Temporary, file-wide: the demo data picks from constant, non-empty lists
// and from the partners it created itself, so these `expect`s cannot fail.
// The seed is being rewritten into the one generator shared with the
// benchmark data (issue 13); the rewrite drops this allow (docs/ci.md).
#![allow(
    clippy::expect_used,
    reason = "picks from constant non-empty lists; temporary, see above"
)]

use rand::{Rng, SeedableRng, rngs::StdRng, seq::IndexedRandom};
use time::{Duration, OffsetDateTime, PrimitiveDateTime};

use crate::{
    auth::{password, tokens},
    config::Environment,
    db::{self, partners::PartnerFields, users::NewUser},
    domain::report::scoring::{self, Precision, Qualification, ScoringInput, Zone},
};

/// The demo password of every demo account (printed and in the README).
pub const DEMO_PASSWORD: &str = "Histologe-Demo-2026!";

#[derive(Debug, Clone, clap::Args)]
pub struct SeedOptions {
    /// How many demo reports to create.
    #[arg(long, default_value_t = 300)]
    pub reports: u32,
}

struct DemoPartner {
    key: &'static str,
    territory: &'static str,
    name: &'static str,
    partner_type: &'static str,
    email: &'static str,
    insee: &'static [&'static str],
}

const PARTNERS: &[DemoPartner] = &[
    DemoPartner {
        key: "rt69",
        territory: "69A",
        name: "Pôle départemental de lutte contre l’habitat indigne – Métropole de Lyon",
        partner_type: "ddt_m",
        email: "pdlhi@lyon.histologe.localhost",
        insee: &[],
    },
    DemoPartner {
        key: "schs69",
        territory: "69A",
        name: "Service communal d’hygiène et de santé de Lyon",
        partner_type: "commune_schs",
        email: "schs@lyon.histologe.localhost",
        insee: &[
            "69381", "69382", "69383", "69384", "69385", "69386", "69387", "69388", "69389",
        ],
    },
    DemoPartner {
        key: "ars69",
        territory: "69A",
        name: "ARS Auvergne-Rhône-Alpes – délégation du Rhône",
        partner_type: "ars",
        email: "ars69@histologe.localhost",
        insee: &[],
    },
    DemoPartner {
        key: "caf69",
        territory: "69A",
        name: "CAF du Rhône",
        partner_type: "caf_msa",
        email: "caf69@histologe.localhost",
        insee: &[],
    },
    DemoPartner {
        key: "adil69",
        territory: "69A",
        name: "ADIL du Rhône",
        partner_type: "adil",
        email: "adil69@histologe.localhost",
        insee: &[],
    },
    DemoPartner {
        key: "rt13",
        territory: "13",
        name: "Pôle départemental de lutte contre l’habitat indigne – Bouches-du-Rhône",
        partner_type: "ddt_m",
        email: "pdlhi@13.histologe.localhost",
        insee: &[],
    },
    DemoPartner {
        key: "schs13",
        territory: "13",
        name: "Service communal d’hygiène et de santé de Marseille",
        partner_type: "commune_schs",
        email: "schs@marseille.histologe.localhost",
        insee: &[
            "13201", "13202", "13203", "13204", "13205", "13206", "13207", "13208", "13209",
            "13210", "13211", "13212", "13213", "13214", "13215", "13216",
        ],
    },
    DemoPartner {
        key: "ars13",
        territory: "13",
        name: "ARS Provence-Alpes-Côte d’Azur – délégation des Bouches-du-Rhône",
        partner_type: "ars",
        email: "ars13@histologe.localhost",
        insee: &[],
    },
    DemoPartner {
        key: "caf13",
        territory: "13",
        name: "CAF des Bouches-du-Rhône",
        partner_type: "caf_msa",
        email: "caf13@histologe.localhost",
        insee: &[],
    },
    DemoPartner {
        key: "ccas13",
        territory: "13",
        name: "CCAS d’Aix-en-Provence",
        partner_type: "ccas",
        email: "ccas.aix@histologe.localhost",
        insee: &["13001"],
    },
];

/// (e-mail, first name, last name, role, partner key).
const USERS: &[(&str, &str, &str, &str, Option<&str>)] = &[
    (
        "admin@histologe.localhost",
        "Sacha",
        "Administrateur",
        "super_admin",
        None,
    ),
    (
        "rt69@histologe.localhost",
        "Camille",
        "Martin",
        "territory_admin",
        Some("rt69"),
    ),
    (
        "admin.schs69@histologe.localhost",
        "Dominique",
        "Bernard",
        "partner_admin",
        Some("schs69"),
    ),
    (
        "agent.schs69@histologe.localhost",
        "Alex",
        "Petit",
        "agent",
        Some("schs69"),
    ),
    (
        "agent.ars69@histologe.localhost",
        "Morgan",
        "Robert",
        "agent",
        Some("ars69"),
    ),
    (
        "rt13@histologe.localhost",
        "Claude",
        "Durand",
        "territory_admin",
        Some("rt13"),
    ),
    (
        "agent.schs13@histologe.localhost",
        "Lou",
        "Moreau",
        "agent",
        Some("schs13"),
    ),
];

const FIRST_NAMES: &[&str] = &[
    "Nadia", "Karim", "Sophie", "Thomas", "Fatou", "Julien", "Aïcha", "Marc", "Léa", "Mehdi",
    "Chloé", "Yves", "Inès", "Pierre", "Amina", "Hugo", "Sarah", "Bruno", "Élodie", "Moussa",
];
const LAST_NAMES: &[&str] = &[
    "Benali",
    "Dupont",
    "Nguyen",
    "Lefèvre",
    "Diallo",
    "Garcia",
    "Rousseau",
    "Haddad",
    "Fontaine",
    "Traoré",
    "Mercier",
    "Lambert",
    "Bonnet",
    "Chevalier",
    "Da Silva",
    "Morel",
    "Girard",
    "Mansouri",
    "Faure",
    "Roux",
];
const STREETS: &[&str] = &[
    "rue de la République",
    "avenue Jean Jaurès",
    "rue Victor Hugo",
    "boulevard de la Libération",
    "rue des Écoles",
    "place du Marché",
    "rue Pasteur",
    "chemin des Vignes",
    "rue du Moulin",
    "avenue de la Gare",
    "rue Émile Zola",
    "impasse des Lilas",
    "rue Garibaldi",
    "cours Gambetta",
];
const LANDLORDS: &[&str] = &[
    "SCI Les Tilleuls",
    "M. Girard",
    "Mme Lopez",
    "Foncière du Centre",
    "Habitat et Territoires",
    "M. Perrin",
    "SARL Immo Sud",
    "Mme Caron",
];
const DETAILS: &[&str] = &[
    "De la moisissure apparaît sur les murs de la chambre des enfants depuis l’hiver dernier, malgré l’aération.",
    "Le chauffage ne fonctionne plus depuis octobre ; le propriétaire ne répond pas à nos appels.",
    "Des fils électriques sont à nu dans la salle de bain et les prises chauffent.",
    "Présence de punaises de lit et de cafards dans tout l’appartement.",
    "Le plafond de la cuisine s’est effondré en partie après une fuite venant de l’étage.",
    "Nous sommes six dans un deux-pièces de 28 m², sans fenêtre dans une des pièces.",
    "L’escalier de l’immeuble est dangereux : marches cassées et rampe descellée.",
];

fn now() -> PrimitiveDateTime {
    let now = OffsetDateTime::now_utc();
    PrimitiveDateTime::new(now.date(), now.time())
}

/// Loads the demo data unless it is already there; returns a summary for
/// the terminal.
/// `histologe seed` outside development: refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error(
    "histologe seed refuse de s’exécuter en production (APP_ENV=production, prod ou staging) : \
     il crée des comptes dont le mot de passe est public. / \
     histologe seed refuses to run in production: it creates accounts with a public password."
)]
pub struct SeedRefused;

/// The demo data holds one account per role, super admin included, all
/// with [`DEMO_PASSWORD`], which is printed and in the README: loading it
/// on a production database would open the platform to anyone. Checked by
/// the `seed` command before it connects to anything.
pub fn ensure_allowed(environment: Environment) -> Result<(), SeedRefused> {
    match environment {
        Environment::Production => Err(SeedRefused),
        Environment::Development | Environment::Test => Ok(()),
    }
}

pub async fn run(pool: &db::Pool, options: &SeedOptions) -> anyhow::Result<String> {
    if db::seed::user_exists(pool, USERS[0].0).await? {
        return Ok(format!(
            "Données de démonstration déjà présentes.\n{}",
            accounts_summary()
        ));
    }
    let hash = password::hash(DEMO_PASSWORD.to_owned()).await?;
    let mut tx = pool.begin().await?;

    let mut partner_ids = Vec::new();
    let mut territory_of = std::collections::HashMap::new();
    for code in ["69A", "13"] {
        let id = db::seed::territory_id(&mut tx, code).await?;
        db::seed::activate_territory(&mut tx, id).await?;
        territory_of.insert(code, id);
    }
    for p in PARTNERS {
        let territory_id = territory_of[p.territory];
        let competences: Vec<String> = crate::domain::partner::default_competences(p.partner_type)
            .iter()
            .map(|c| (*c).to_owned())
            .collect();
        let id = db::partners::insert(
            &mut tx,
            &PartnerFields {
                territory_id,
                name: p.name,
                partner_type: p.partner_type,
                competences: &competences,
                email: Some(p.email),
                email_notifiable: true,
                is_archived: false,
                esabora_kind: None,
                esabora_url: None,
                esabora_token: None,
                webhook_url: None,
                webhook_secret: None,
            },
        )
        .await?;
        let codes: Vec<String> = p.insee.iter().map(|c| (*c).to_owned()).collect();
        db::partners::replace_insee_codes(&mut tx, id, &codes).await?;
        partner_ids.push((p.key, id, territory_id, p.partner_type));
    }
    let mut user_ids = std::collections::HashMap::new();
    for (email, first_name, last_name, role, partner) in USERS {
        let id = db::users::insert(
            &mut tx,
            &NewUser {
                email,
                first_name,
                last_name,
                job_title: None,
                role,
            },
        )
        .await?;
        db::users::set_password(&mut tx, id, &hash).await?;
        if let Some(key) = partner {
            let (_, partner_id, territory_id, _) = partner_ids
                .iter()
                .find(|(k, ..)| k == key)
                .expect("demo partner");
            db::users::add_membership(&mut tx, id, *partner_id, *territory_id).await?;
        }
        user_ids.insert(*email, id);
    }

    let precisions = db::seed::precisions(&mut tx).await?;
    let mut rng = StdRng::seed_from_u64(20261123);
    let today = now();
    let mut counters: std::collections::HashMap<(u32, u16), u32> = std::collections::HashMap::new();
    for n in 0..options.reports {
        let code = if n % 5 < 3 { "69A" } else { "13" };
        let territory_id = territory_of[code];
        let communes = db::seed::communes(&mut tx, territory_id).await?;
        let (insee, postal, city) = communes.choose(&mut rng).expect("communes").clone();
        let created_at = today - Duration::minutes(rng.random_range(60..(540 * 24 * 60)));
        let year = created_at.year() as u16;
        let number = counters.entry((territory_id, year)).or_insert(0);
        *number += 1;
        let status = match rng.random_range(0..100) {
            0..20 => "need_validation",
            20..65 => "active",
            65..85 => "closed",
            85..95 => "refused",
            _ => "archived",
        };
        let profile = *[
            "locataire",
            "locataire",
            "locataire",
            "bailleur_occupant",
            "tiers_particulier",
            "tiers_pro",
            "service_secours",
        ]
        .choose(&mut rng)
        .expect("profile");
        let first = *FIRST_NAMES.choose(&mut rng).expect("name");
        let last = *LAST_NAMES.choose(&mut rng).expect("name");
        let third_party = profile.starts_with("tiers") || profile == "service_secours";
        let declarant_first = third_party.then(|| *FIRST_NAMES.choose(&mut rng).expect("name"));
        let declarant_last = third_party.then(|| *LAST_NAMES.choose(&mut rng).expect("name"));

        let how_many = rng.random_range(1..6);
        let picked: Vec<&db::seed::PrecisionRow> =
            precisions.choose_multiple(&mut rng, how_many).collect();
        let children = rng.random_bool(0.25);
        let scoring_input = ScoringInput {
            child_under_6: children,
            ..ScoringInput::default()
        };
        let score_precisions: Vec<Precision> = picked
            .iter()
            .map(|p| Precision {
                slug: p.code.clone(),
                zone: Zone::parse(&p.zone).unwrap_or(Zone::Logement),
                coef: p.coef,
                is_danger: p.is_danger,
                is_insalubrite: p.is_insalubrite,
                is_suroccupation: p.is_suroccupation,
                qualifications: p
                    .qualifications
                    .0
                    .iter()
                    .filter_map(|q| Qualification::parse(q))
                    .collect(),
            })
            .collect();
        let scoring = scoring::compute(&score_precisions, &scoring_input);
        let (base_lat, base_lon) = if code == "13" {
            (43.2965, 5.3698)
        } else {
            (45.7640, 4.8357)
        };
        let validated_at = (status != "need_validation" && status != "refused")
            .then(|| created_at + Duration::days(2));
        let closed_at =
            (status == "closed").then(|| created_at + Duration::days(rng.random_range(20..200)));
        let report = db::seed::DemoReport {
            uuid: uuid::Uuid::new_v4().to_string(),
            territory_id,
            reference: format!("{year}-{number}"),
            status,
            declarant_profile: profile,
            is_public_housing: Some(rng.random_bool(0.3)),
            occupant_first_name: first,
            occupant_last_name: last,
            occupant_email: format!("{}.{}{}@exemple.fr", ascii(first), ascii(last), n),
            occupant_phone: format!("06{:08}", rng.random_range(0..100_000_000)),
            declarant_first_name: declarant_first,
            declarant_last_name: declarant_last,
            declarant_email: declarant_first.map(|f| format!("{}.{}@exemple.fr", ascii(f), n)),
            landlord_name: LANDLORDS.choose(&mut rng).expect("landlord"),
            dwelling_type: if rng.random_bool(0.8) {
                "appartement"
            } else {
                "maison"
            },
            dwelling_surface: f64::from(rng.random_range(14..110)),
            dwelling_rooms: rng.random_range(1..6),
            occupants: rng.random_range(1..7),
            children_under_6: children,
            housing_allowance: Some(rng.random_bool(0.5)),
            address_line: format!(
                "{} {}",
                rng.random_range(1..120),
                STREETS.choose(&mut rng).expect("street")
            ),
            postal_code: &postal,
            city: &city,
            insee_code: &insee,
            latitude: base_lat + rng.random_range(-0.06..0.06),
            longitude: base_lon + rng.random_range(-0.08..0.08),
            severity: scoring::score_rounded(scoring.score),
            severity_building: scoring.score_batiment,
            severity_dwelling: scoring.score_logement,
            follow_up_code: follow_up_code(),
            details: (*DETAILS.choose(&mut rng).expect("details")).to_owned(),
            created_at,
            validated_at,
            closed_at,
            closure_reason: closed_at.map(|_| {
                *[
                    "travaux_faits_ou_en_cours",
                    "logement_decent",
                    "depart_occupant",
                    "insalubrite",
                ]
                .choose(&mut rng)
                .expect("reason")
            }),
            refusal_reason: (status == "refused").then(|| {
                *["hors_pdlhi", "doublon", "hors_competence"]
                    .choose(&mut rng)
                    .expect("reason")
            }),
        };
        let report_id = db::seed::insert_report(&mut tx, &report).await?;
        for p in &picked {
            db::reports::insert_defect(&mut tx, report_id, p.id).await?;
        }
        for q in &scoring.qualifications {
            db::reports::insert_qualification(
                &mut tx,
                report_id,
                q.qualification.code(),
                q.status.code(),
                &q.precision_slugs,
            )
            .await?;
        }
        db::seed::insert_follow_up(
            &mut tx,
            report_id,
            None,
            "system",
            "signalement_depose",
            "Signalement déposé depuis le formulaire public.",
            true,
            created_at,
        )
        .await?;
        if let Some(validated) = validated_at {
            let territory_partners: Vec<_> = partner_ids
                .iter()
                .filter(|(k, _, t, _)| *t == territory_id && !k.starts_with("rt"))
                .collect();
            let count = rng.random_range(1..3);
            for (_, partner_id, _, _) in territory_partners.choose_multiple(&mut rng, count) {
                let assignment_status = match status {
                    "closed" => "ferme",
                    _ => *["nouveau", "en_cours", "en_cours", "refuse"]
                        .choose(&mut rng)
                        .expect("status"),
                };
                db::seed::insert_assignment(
                    &mut tx,
                    report_id,
                    *partner_id,
                    assignment_status,
                    validated,
                )
                .await?;
            }
            db::seed::insert_follow_up(
                &mut tx,
                report_id,
                None,
                "system",
                "signalement_valide",
                "Signalement validé et transmis aux partenaires compétents.",
                true,
                validated,
            )
            .await?;
            let agent = user_ids[if code == "13" {
                "agent.schs13@histologe.localhost"
            } else {
                "agent.schs69@histologe.localhost"
            }];
            for k in 0..rng.random_range(0..4) {
                let at = validated + Duration::days(3 + 7 * k);
                if at > today {
                    break;
                }
                let (body, public) = if k % 2 == 0 {
                    (
                        "Prise de contact avec l’occupant ; une visite est à programmer.",
                        true,
                    )
                } else {
                    ("Courrier de mise en demeure envoyé au propriétaire.", false)
                };
                db::seed::insert_follow_up(
                    &mut tx,
                    report_id,
                    Some(agent),
                    "partner",
                    "message_partner",
                    body,
                    public,
                    at,
                )
                .await?;
            }
        }
    }
    for ((territory_id, year), last) in counters {
        db::seed::set_counter(&mut tx, territory_id, year, last).await?;
    }
    tx.commit().await?;
    Ok(format!(
        "Données de démonstration chargées : 2 territoires ouverts (69A, 13), {} partenaires, {} comptes, {} signalements.\n{}",
        PARTNERS.len(),
        USERS.len(),
        options.reports,
        accounts_summary()
    ))
}

fn accounts_summary() -> String {
    let mut out = format!("Comptes de démonstration (mot de passe : {DEMO_PASSWORD}) :\n");
    for (email, _, _, role, _) in USERS {
        out.push_str(&format!("  {role:<16} {email}\n"));
    }
    out
}

/// A secret follow-up code: 32 random bytes, base64url without padding.
pub fn follow_up_code() -> String {
    let raw = tokens::generate();
    // 64 hex chars = 32 bytes; re-encode as base64url (43 chars).
    let bytes: Vec<u8> = (0..32)
        .map(|i| u8::from_str_radix(&raw[2 * i..2 * i + 2], 16).unwrap_or(0))
        .collect();
    const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    let mut out = String::with_capacity(43);
    for chunk in bytes.chunks(3) {
        let b = [
            chunk[0],
            *chunk.get(1).unwrap_or(&0),
            *chunk.get(2).unwrap_or(&0),
        ];
        let n = (u32::from(b[0]) << 16) | (u32::from(b[1]) << 8) | u32::from(b[2]);
        let chars = chunk.len() + 1;
        for i in 0..chars {
            out.push(ALPHABET[((n >> (18 - 6 * i)) & 63) as usize] as char);
        }
    }
    out
}

/// An e-mail-safe lowercase ASCII form of a name.
fn ascii(name: &str) -> String {
    name.chars()
        .filter_map(|c| match c {
            'é' | 'è' | 'ê' | 'É' => Some('e'),
            'ï' | 'î' => Some('i'),
            'ç' => Some('c'),
            ' ' | '\'' | '’' => None,
            c if c.is_ascii_alphanumeric() => Some(c.to_ascii_lowercase()),
            _ => None,
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn follow_up_codes_are_43_url_safe_characters_and_unique() {
        let a = follow_up_code();
        assert_eq!(a.len(), 43);
        assert!(
            a.bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
        );
        assert_ne!(a, follow_up_code());
    }
}
