//! Demo data for a first run: two open territories, partners of several
//! types with perimeters, one user per role (password printed, demo only)
//! and a few hundred reports in every status, with defects, qualifications,
//! assignments, follow-ups and visits, so that every back-office page has
//! something to show. The reports come from the one generator shared with
//! the benchmark data (`generator::dataset`, scored through
//! `scoring::assess`), with a fixed seed: two runs on fresh databases the
//! same day give the same reports. Idempotent: a second run changes
//! nothing. Refused in production ([`ensure_allowed`]): the accounts have a
//! public password.

use std::collections::HashMap;

use anyhow::Context;
use rand::{SeedableRng, rngs::StdRng};

use crate::{
    auth::password,
    config::Environment,
    db::{self, partners::PartnerFields, users::NewUser},
    generator::{
        dataset::{self, Dataset, Partner, Territory},
        reports::{Catalogue, Scale},
    },
};

/// The demo password of every demo account (printed and in the README).
pub const DEMO_PASSWORD: &str = "Histologe-Demo-2026!";

/// Seed of the demo's random generator: the same demo on every machine.
const DEMO_RNG_SEED: u64 = 20_261_123;

#[derive(Debug, Clone, clap::Args)]
pub struct SeedOptions {
    /// How many demo reports to create.
    #[arg(long, default_value_t = 300)]
    pub reports: u32,
}

/// The `seed` command's arguments: the demo data's options, and whether to
/// also create a demo API account.
#[derive(Debug, clap::Args)]
pub struct SeedCommand {
    #[command(flatten)]
    pub options: SeedOptions,
    /// Also create a demo API account (territory 69A, every permission)
    /// and print its identifier and secret (scripts/schemathesis.sh).
    #[arg(long)]
    pub api_account: bool,
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

/// The demo's territories: (code, share of the reports, centre of the
/// reports as latitude and longitude).
const TERRITORIES: &[(&str, u32, (f64, f64))] =
    &[("69A", 3, (45.7640, 4.8357)), ("13", 2, (43.2965, 5.3698))];

pub async fn run(pool: &db::Pool, options: &SeedOptions) -> anyhow::Result<String> {
    let Some((admin_email, ..)) = USERS.first() else {
        anyhow::bail!("no demo account");
    };
    if db::seed::user_exists(pool, admin_email).await? {
        return Ok(format!(
            "Données de démonstration déjà présentes.\n{}",
            accounts_summary()
        ));
    }
    let hash = password::hash(DEMO_PASSWORD.to_owned()).await?;
    let mut tx = pool.begin().await?;

    let mut territory_of = HashMap::new();
    for (code, ..) in TERRITORIES {
        let id = db::seed::territory_id(&mut tx, code).await?;
        db::seed::activate_territory(&mut tx, id).await?;
        territory_of.insert(*code, id);
    }
    // key → (partner id, territory id)
    let mut partner_of: HashMap<&str, (u64, u32)> = HashMap::new();
    for p in PARTNERS {
        let territory_id = *territory_of
            .get(p.territory)
            .with_context(|| format!("territoire {} du partenaire {}", p.territory, p.key))?;
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
        partner_of.insert(p.key, (id, territory_id));
    }
    // partner key → its accounts
    let mut members: HashMap<&str, Vec<u64>> = HashMap::new();
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
        // The demo accounts have accepted the current terms of use, as at
        // activation (docs/terms.md §3).
        db::terms::accept(
            &mut tx,
            id,
            crate::domain::terms::Audience::Agents.current().code,
        )
        .await?;
        if let Some(key) = partner {
            let (partner_id, territory_id) = *partner_of
                .get(key)
                .with_context(|| format!("partenaire {key} du compte {email}"))?;
            db::users::add_membership(&mut tx, id, partner_id, territory_id).await?;
            members.entry(key).or_default().push(id);
        }
    }

    // The reports, from the generator shared with the benchmark data.
    let mut territories = Vec::new();
    for (code, weight, (lat, lon)) in TERRITORIES {
        let id = *territory_of
            .get(code)
            .with_context(|| format!("territoire {code}"))?;
        let mut lead = None;
        let mut partners = Vec::new();
        for p in PARTNERS.iter().filter(|p| p.territory == *code) {
            let (partner_id, _) = *partner_of
                .get(p.key)
                .with_context(|| format!("partenaire {}", p.key))?;
            let partner = Partner {
                id: partner_id,
                users: members.get(p.key).cloned().unwrap_or_default(),
            };
            // The PDLHI (`rt…`) validates and closes; the others are assigned.
            if p.key.starts_with("rt") {
                lead = Some(partner);
            } else {
                partners.push(partner);
            }
        }
        territories.push(Territory {
            id,
            weight: *weight,
            // ±0.06° of latitude and ±0.08° of longitude around the centre
            // once the generator keeps to the middle 70 % of the box.
            bbox: (lat - 0.086, lon - 0.114, lat + 0.086, lon + 0.114),
            communes: db::seed::communes(&mut tx, id).await?,
            lead: lead.with_context(|| format!("pas de pôle départemental pour {code}"))?,
            partners,
        });
    }
    let catalogue = Catalogue::new(db::defects::all_precisions(&mut tx).await?);
    let dataset = Dataset {
        territories: &territories,
        catalogue: &catalogue,
        scale: Scale::DEMO,
        today: dataset::today(),
        first_id: db::bulk::next_ids(&mut tx).await?.report,
        batch_size: db::bulk::REPORTS_PER_STATEMENT,
    };
    let mut batches = Vec::new();
    let counters = dataset::generate(
        &mut StdRng::seed_from_u64(DEMO_RNG_SEED),
        &dataset,
        u64::from(options.reports),
        |batch| {
            batches.push(batch);
            true
        },
    );
    for batch in &batches {
        db::bulk::insert_batch(&mut tx, batch).await?;
    }
    db::bulk::upsert_counters(&mut tx, &counters).await?;
    if let Some(territory_id) = territory_of.get("69A") {
        demo_orders(&mut tx, *territory_id, dataset::today().date()).await?;
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

/// A demo API account of territory 69A with every permission, created by
/// the super admin: its identifier and its secret, shown once like in the
/// back office. Each call creates a new account (a secret is never stored
/// in clear, so an older one cannot be shown again).
pub async fn api_account(pool: &db::Pool) -> anyhow::Result<(String, String)> {
    let Some((admin_email, ..)) = USERS.first() else {
        anyhow::bail!("no demo account");
    };
    let admin = db::users::find_for_login(pool, admin_email)
        .await?
        .context("les données de démonstration doivent être chargées d’abord")?;
    let (secret, secret_hash) = crate::auth::api::new_secret();
    let uuid = uuid::Uuid::new_v4().to_string();
    let mut tx = pool.begin().await?;
    let territory_id = db::seed::territory_id(&mut tx, "69A").await?;
    let scope = crate::domain::api::AccountScope::Territory(territory_id);
    let permissions =
        crate::domain::api::Permissions::new(crate::domain::api::Permission::ALL.to_vec());
    db::api::insert_account(
        &mut tx,
        &db::api::NewAccount {
            uuid: &uuid,
            name: "Logiciel partenaire de démonstration",
            territory_id,
            scope: &scope,
            permissions: &permissions,
            secret_hash: &secret_hash,
            created_by_user_id: admin.id,
        },
    )
    .await?;
    tx.commit().await?;
    Ok((uuid, secret))
}

fn accounts_summary() -> String {
    let mut out = format!("Comptes de démonstration (mot de passe : {DEMO_PASSWORD}) :\n");
    for (email, _, _, role, _) in USERS {
        out.push_str(&format!("  {role:<16} {email}\n"));
    }
    out
}

/// Two cases of the Rhône at one address (spelled two ways) and two orders
/// there, so that the address history, the orders panel and the "arrêté en
/// cours" filter show something: an insalubrity order in force on the
/// first, a lifted "mise en sécurité" on the second.
async fn demo_orders(
    conn: &mut sqlx::MySqlConnection,
    territory_id: u32,
    today: time::Date,
) -> anyhow::Result<()> {
    use crate::domain::arrete::{ArreteType, Signatory, ValidArrete};
    let [first, second] = db::seed::two_active_cases(conn, territory_id).await?[..] else {
        return Ok(());
    };
    db::seed::copy_address(conn, first, second).await?;
    let days = time::Duration::days;
    let orders = [
        (
            first,
            ValidArrete {
                kind: ArreteType::L511_19Insalubrite,
                number: "DEMO-2026-001".into(),
                date: today - days(60),
                signatory: Signatory::Prefect,
                signer_name: Some("La préfète du Rhône".into()),
                works_deadline: Some(today + days(120)),
                lifted_on: None,
            },
        ),
        (
            second,
            ValidArrete {
                kind: ArreteType::MiseEnSecuriteUrgente,
                number: "DEMO-2025-014".into(),
                date: today - days(400),
                signatory: Signatory::Mayor,
                signer_name: None,
                works_deadline: Some(today - days(300)),
                lifted_on: Some(today - days(30)),
            },
        ),
    ];
    for (case, order) in &orders {
        db::arretes::insert_for_case(conn, *case, None, order, None)
            .await
            .map_err(|e| anyhow::anyhow!("arrêté de démonstration : {e:?}"))?;
    }
    Ok(())
}
