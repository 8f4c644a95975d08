//! The public reporting form: every declarant profile from the address to
//! the confirmation, each validation rule, upload attacks, double and
//! concurrent submissions, and the browser walk-through.

use std::collections::HashSet;

use reqwest::StatusCode;
use sqlx::Row;

use crate::common::{TestApp, csrf_in, new_client};

pub const ADMIN_13: &str = "rt13@exemple.fr";

/// Territory 13 open to the public, with one territory admin.
pub async fn open_territory(app: &TestApp) {
    for sql in [
        "UPDATE territories SET is_active = TRUE WHERE code = '13'",
        "INSERT INTO partners (territory_id, name, type, competences) VALUES (13, 'DDETS des Bouches-du-Rhône', 'ddets', '[]')",
        "INSERT INTO users (uuid, email, first_name, last_name, role, status) VALUES (UUID(), 'rt13@exemple.fr', 'Rose', 'Terrier', 'territory_admin', 'active')",
        "INSERT INTO user_partners (user_id, partner_id, territory_id)
         SELECT u.id, p.id, 13 FROM users u, partners p WHERE u.email = 'rt13@exemple.fr' AND p.territory_id = 13",
    ] {
        sqlx::query(sql).execute(&app.db).await.expect(sql);
    }
}

pub async fn scalar(app: &TestApp, sql: &str) -> i64 {
    sqlx::query(sql)
        .fetch_one(&app.db)
        .await
        .expect(sql)
        .try_get::<i64, _>(0)
        .expect("i64")
}

pub async fn text(app: &TestApp, sql: &str) -> String {
    sqlx::query(sql)
        .fetch_one(&app.db)
        .await
        .expect(sql)
        .try_get::<String, _>(0)
        .expect("string")
}

/// A person using the site with their own browser (cookies, IP address).
pub struct Visitor {
    pub client: reqwest::Client,
    pub base: String,
    token: String,
}

pub struct Page {
    pub status: StatusCode,
    pub location: String,
    pub html: String,
}

impl Visitor {
    pub async fn new(app: &TestApp) -> Self {
        let client = new_client();
        let html = client
            .get(app.url("/signalement/adresse"))
            .send()
            .await
            .expect("get")
            .text()
            .await
            .expect("body");
        Self {
            client,
            base: app.base_url.clone(),
            token: csrf_in(&html),
        }
    }

    async fn page(response: reqwest::Response) -> Page {
        let status = response.status();
        let location = response
            .headers()
            .get("location")
            .map(|v| v.to_str().unwrap_or_default().to_owned())
            .unwrap_or_default();
        Page {
            status,
            location,
            html: response.text().await.unwrap_or_default(),
        }
    }

    pub async fn get(&self, path: &str) -> Page {
        Self::page(
            self.client
                .get(format!("{}{path}", self.base))
                .send()
                .await
                .expect("get"),
        )
        .await
    }

    pub async fn post(&self, path: &str, fields: &[(&str, &str)]) -> Page {
        let mut body: Vec<(&str, &str)> = vec![("_csrf", self.token.as_str())];
        body.extend_from_slice(fields);
        Self::page(
            self.client
                .post(format!("{}{path}", self.base))
                .form(&body)
                .send()
                .await
                .expect("post"),
        )
        .await
    }

    /// A multipart POST (upload screens): the token goes in the URL.
    pub async fn post_files(
        &self,
        path: &str,
        fields: &[(&str, &str)],
        files: &[(&str, &str, Vec<u8>)],
    ) -> Page {
        // Browsers always send something (at least the empty file inputs).
        let mut form = reqwest::multipart::Form::new().text("_envoi", "1");
        for (k, v) in fields {
            form = form.text(k.to_string(), v.to_string());
        }
        for (field, name, bytes) in files {
            form = form.part(
                field.to_string(),
                reqwest::multipart::Part::bytes(bytes.clone()).file_name(name.to_string()),
            );
        }
        Self::page(
            self.client
                .post(format!("{}{path}?_csrf={}", self.base, self.token))
                .multipart(form)
                .send()
                .await
                .expect("post"),
        )
        .await
    }

    /// Sends one screen and expects to be sent on to the next.
    pub async fn step(&self, uuid: &str, step: &str, fields: &[(&str, &str)]) -> String {
        let path = format!("/signalement/{uuid}/{step}");
        let page = if matches!(
            step,
            "composition" | "desordres-batiment" | "desordres-logement"
        ) {
            self.post_files(&path, fields, &[]).await
        } else {
            self.post(&path, fields).await
        };
        assert_eq!(
            page.status,
            StatusCode::SEE_OTHER,
            "{step} should be accepted: {}",
            errors_of(&page.html)
        );
        page.location
    }

    /// The address screen; returns the draft's uuid.
    pub async fn start(&self, street: &str, postal: &str, city: &str) -> String {
        let page = self
            .post(
                "/signalement/adresse",
                &[
                    ("adresse_logement_adresse_detail_numero", street),
                    ("adresse_logement_adresse_detail_code_postal", postal),
                    ("adresse_logement_adresse_detail_commune", city),
                    ("adresse_logement_complement_adresse_etage", "2"),
                ],
            )
            .await;
        assert_eq!(
            page.status,
            StatusCode::SEE_OTHER,
            "{}",
            errors_of(&page.html)
        );
        page.location
            .trim_start_matches("/signalement/")
            .trim_end_matches("/profil")
            .to_owned()
    }
}

/// The error summary of a page, for assertion messages.
pub fn errors_of(html: &str) -> String {
    html.split("fr-error-text")
        .skip(1)
        .chain(html.split("fr-message--error").skip(1))
        .map(|s| {
            s.chars()
                .skip(2)
                .take_while(|c| *c != '<')
                .collect::<String>()
        })
        .collect::<Vec<_>>()
        .join(" | ")
}

/// A small valid PNG.
pub fn png() -> Vec<u8> {
    vec![
        0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A, 0x00, 0x00, 0x00, 0x0D, 0x49, 0x48, 0x44,
        0x52, 0x00, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00, 0x01, 0x08, 0x02, 0x00, 0x00, 0x00, 0x90,
        0x77, 0x53, 0xDE, 0x00, 0x00, 0x00, 0x0C, 0x49, 0x44, 0x41, 0x54, 0x08, 0xD7, 0x63, 0xF8,
        0xCF, 0xC0, 0x00, 0x00, 0x03, 0x01, 0x01, 0x00, 0x18, 0xDD, 0x8D, 0xB0, 0x00, 0x00, 0x00,
        0x00, 0x49, 0x45, 0x4E, 0x44, 0xAE, 0x42, 0x60, 0x82,
    ]
}

const CONSENTS_ALL: [&str; 6] = [
    "utilisation_service_ok_prevenir_bailleur",
    "utilisation_service_ok_visite",
    "utilisation_service_ok_demande_logement",
    "utilisation_service_ok_signalement_tiers",
    "utilisation_service_ok_donnees_sante",
    "utilisation_service_ok_cgu",
];

fn consents() -> Vec<(&'static str, &'static str)> {
    CONSENTS_ALL.iter().map(|c| (*c, "1")).collect()
}

/// A tenant's whole form up to the summary (photo on the building screen).
pub async fn fill_as_tenant(v: &Visitor, email: &str) -> String {
    let uuid = v
        .start("12 rue des Lilas", "13100", "Aix-en-Provence")
        .await;
    v.step(
        &uuid,
        "profil",
        &[
            ("signalement_concerne_profil", "logement_occupez"),
            ("signalement_concerne_profil_detail_occupant", "locataire"),
            ("signalement_concerne_logement_social_autre_tiers", "non"),
        ],
    )
    .await;
    v.step(
        &uuid,
        "vos-coordonnees",
        &[
            ("vos_coordonnees_occupant_civilite", "mme"),
            ("vos_coordonnees_occupant_nom", "Durand"),
            ("vos_coordonnees_occupant_prenom", "Camille"),
            ("vos_coordonnees_occupant_email", email),
            ("vos_coordonnees_occupant_tel", "06 12 34 56 78"),
        ],
    )
    .await;
    v.step(
        &uuid,
        "bailleur",
        &[
            ("coordonnees_bailleur_nom", "SCI Les Lilas"),
            ("coordonnees_bailleur_email", "bailleur@exemple.fr"),
            ("info_procedure_bailleur_prevenu", "oui"),
            ("info_procedure_bail_moyen", "courrier"),
            ("info_procedure_bail_date", "01/2026"),
            ("info_procedure_bail_reponse", "Pas de réponse"),
        ],
    )
    .await;
    v.step(&uuid, "logement", &dwelling("batiment_logement"))
        .await;
    v.step(
        &uuid,
        "composition",
        &[
            ("composition_logement_nombre_personnes", "3"),
            ("composition_logement_nombre_enfants", "1"),
            ("composition_logement_enfants", "oui"),
            ("bail_dpe_date_emmenagement", "2020-05-01"),
            ("bail_dpe_bail", "oui"),
            ("bail_dpe_etat_des_lieux", "oui"),
            ("bail_dpe_dpe", "nsp"),
        ],
    )
    .await;
    v.step(
        &uuid,
        "situation",
        &[
            ("logement_social_demande_relogement", "non"),
            ("logement_social_allocation", "non"),
            ("travailleur_social_quitte_logement", "non"),
            ("travailleur_social_accompagnement", "non"),
        ],
    )
    .await;
    let page = v
        .post_files(
            &format!("/signalement/{uuid}/desordres-batiment"),
            &[
                ("desordres_batiment_securite", "1"),
                ("desordres_batiment_securite_murs_fissures", "1"),
                (
                    "desordres_batiment_securite_murs_fissures_details_mur_porteur",
                    "oui",
                ),
            ],
            &[(
                "desordres_batiment_securite_photos_upload",
                "fissure.png",
                png(),
            )],
        )
        .await;
    assert_eq!(
        page.status,
        StatusCode::SEE_OTHER,
        "{}",
        errors_of(&page.html)
    );
    v.step(&uuid, "desordres-logement", &dwelling_defects(true))
        .await;
    let mut procedure = vec![
        ("info_procedure_assurance_contactee", "non"),
        ("info_procedure_depart_apres_travaux", "oui"),
        (
            "message_administration",
            "<script>alert('x')</script> Merci",
        ),
    ];
    procedure.extend(consents());
    v.step(&uuid, "procedure", &procedure).await;
    v.step(
        &uuid,
        "complements",
        &[
            ("informations_complementaires_logement_montant_loyer", "650"),
            (
                "informations_complementaires_logement_annee_construction",
                "1965",
            ),
        ],
    )
    .await;
    uuid
}

fn dwelling(zone: &'static str) -> Vec<(&'static str, &'static str)> {
    vec![
        ("zone_concernee_zone", zone),
        ("zone_concernee_debut_desordres", "months_1_to_6"),
        ("zone_concernee_constatation_desordres", "oui"),
        ("type_logement_nature", "appartement"),
        ("type_logement_rdc", "non"),
        ("type_logement_dernier_etage", "non"),
        ("type_logement_sous_sol_sans_fenetre", "non"),
        ("composition_logement_piece_unique", "plusieurs_pieces"),
        ("composition_logement_superficie", "45"),
        ("composition_logement_nb_pieces", "2"),
        ("type_logement_commodites_piece_a_vivre_9m", "oui"),
        ("type_logement_commodites_cuisine", "oui"),
        ("type_logement_commodites_salle_de_bain", "oui"),
        ("type_logement_commodites_wc", "oui"),
        ("type_logement_commodites_wc_cuisine", "non"),
    ]
}

fn dwelling_defects(occupant: bool) -> Vec<(&'static str, &'static str)> {
    let mut fields = vec![
        ("desordres_logement_humidite", "1"),
        ("desordres_logement_humidite_piece_a_vivre", "1"),
        (
            "desordres_logement_humidite_piece_a_vivre_details_fuite",
            "non",
        ),
        (
            "desordres_logement_humidite_piece_a_vivre_details_machine",
            "non",
        ),
        ("desordres_logement_electricite", "1"),
        (
            "desordres_logement_electricite_installation_dangereuse",
            "1",
        ),
    ];
    if occupant {
        fields.push((
            "desordres_logement_humidite_piece_a_vivre_details_moisissure_apres_nettoyage",
            "oui",
        ));
    }
    fields
}

/// Sends the summary; returns the confirmation page.
pub async fn submit(v: &Visitor, uuid: &str) -> Page {
    let page = v
        .post(
            &format!("/signalement/{uuid}/recapitulatif"),
            &[("site_web", "")],
        )
        .await;
    assert_eq!(page.status, StatusCode::SEE_OTHER, "{}", page.html);
    assert_eq!(page.location, format!("/signalement/{uuid}/confirmation"));
    v.get(&page.location).await
}

/// The follow-up link shown on a confirmation page.
pub fn follow_up_path(confirmation: &str) -> String {
    let start = confirmation.find("/suivre-mon-signalement/").expect("link");
    confirmation[start..start + "/suivre-mon-signalement/".len() + 43].to_owned()
}

/// A tenant files a report; returns (visitor, follow-up path).
pub async fn file_tenant_report(app: &TestApp, email: &str) -> (Visitor, String) {
    let v = Visitor::new(app).await;
    let uuid = fill_as_tenant(&v, email).await;
    let confirmation = submit(&v, &uuid).await;
    (v, follow_up_path(&confirmation.html))
}

// ------------------------------------------------------------ profiles

#[tokio::test]
async fn a_tenant_files_a_report_and_gets_a_reference_a_follow_up_link_and_queued_jobs() {
    let app = TestApp::spawn().await;
    open_territory(&app).await;
    let v = Visitor::new(&app).await;
    let uuid = fill_as_tenant(&v, "camille@exemple.fr").await;

    let summary = v.get(&format!("/signalement/{uuid}/recapitulatif")).await;
    assert_eq!(summary.status, 200);
    assert!(summary.html.contains("SCI Les Lilas"));
    assert!(summary.html.contains("fissure.png"));
    assert!(
        summary.html.contains("&#60;script&#62;") && !summary.html.contains("<script>alert"),
        "typed HTML is shown escaped"
    );

    let confirmation = submit(&v, &uuid).await;
    let year = time::OffsetDateTime::now_utc().year();
    assert!(
        confirmation.html.contains(&format!("{year}-1")),
        "reference shown"
    );
    let link = follow_up_path(&confirmation.html);
    let code = link.trim_start_matches("/suivre-mon-signalement/");
    assert_eq!(code.len(), 43);

    let row = sqlx::query(
        "SELECT reference, status, declarant_profile, occupant_last_name, occupant_phone,
                CAST(severity_score AS DOUBLE) AS score, address_line, insee_code,
                CAST(follow_up_code AS CHAR) AS follow_up_code,
                dwelling_children_under_6 AS child
         FROM reports",
    )
    .fetch_one(&app.db)
    .await
    .unwrap();
    assert_eq!(row.get::<String, _>("reference"), format!("{year}-1"));
    assert_eq!(row.get::<String, _>("status"), "need_validation");
    assert_eq!(row.get::<String, _>("declarant_profile"), "locataire");
    assert_eq!(row.get::<String, _>("occupant_last_name"), "Durand");
    assert_eq!(row.get::<String, _>("occupant_phone"), "+33612345678");
    assert_eq!(row.get::<String, _>("insee_code"), "13001");
    assert_eq!(
        scalar(
            &app,
            "SELECT CAST(dwelling_construction_year AS SIGNED) FROM reports"
        )
        .await,
        1965
    );
    assert_eq!(row.get::<String, _>("follow_up_code"), code);
    assert!(row.get::<f64, _>("score") > 0.0);
    assert!(scalar(&app, "SELECT COUNT(*) FROM report_defects").await >= 4);
    assert!(
        scalar(
            &app,
            "SELECT COUNT(*) FROM report_qualifications WHERE qualification = 'danger'"
        )
        .await
            == 1,
        "dangerous wiring is a danger suspicion"
    );
    assert_eq!(
        scalar(&app, "SELECT COUNT(*) FROM documents WHERE kind = 'photo' AND defect_code = 'desordres_batiment_securite'").await,
        1
    );
    let key = text(&app, "SELECT object_key FROM documents").await;
    assert!(key.starts_with("documents/") && !key.contains("fissure"));
    assert_eq!(
        scalar(
            &app,
            "SELECT COUNT(*) FROM follow_ups WHERE is_public = TRUE"
        )
        .await,
        1
    );
    assert_eq!(
        text(&app, "SELECT status FROM drafts").await,
        "en_signalement"
    );

    let jobs = app.pending_jobs().await;
    let templates: Vec<_> = jobs
        .iter()
        .map(|j| format!("{}:{}", j["kind"], j["template"].as_str().unwrap_or("")))
        .collect();
    assert!(jobs.iter().any(|j| j["template"] == "report_confirmation"
        && j["to"] == "camille@exemple.fr"
        && j["link"].as_str().unwrap().ends_with(code)));
    assert!(
        jobs.iter().any(|j| j["kind"] == "geocode_report"),
        "{templates:?}"
    );
    assert!(
        jobs.iter()
            .any(|j| j["template"] == "new_report_to_validate" && j["to"] == ADMIN_13)
    );
}

/// Files a report for a profile through every screen it sees.
async fn file_as(
    app: &TestApp,
    profile: &[(&str, &str)],
    screens: &[(&str, Vec<(&str, &str)>)],
) -> Page {
    let v = Visitor::new(app).await;
    let uuid = v
        .start("5 avenue Victor Hugo", "13100", "Aix-en-Provence")
        .await;
    v.step(&uuid, "profil", profile).await;
    for (step, fields) in screens {
        v.step(&uuid, step, fields).await;
    }
    submit(&v, &uuid).await
}

fn third_party(
    email: &'static str,
    lien: bool,
    organisation: bool,
) -> Vec<(&'static str, &'static str)> {
    let mut f = vec![
        ("vos_coordonnees_tiers_nom", "Martin"),
        ("vos_coordonnees_tiers_prenom", "Luc"),
        ("vos_coordonnees_tiers_email", email),
        ("vos_coordonnees_tiers_tel", "0692 12 34 56"),
    ];
    if lien {
        f.push(("vos_coordonnees_tiers_lien", "voisin"));
    }
    if organisation {
        f.push(("vos_coordonnees_tiers_nom_organisme", "Association Habitat"));
    }
    f
}

fn occupant() -> Vec<(&'static str, &'static str)> {
    vec![
        ("coordonnees_occupant_nom", "Petit"),
        ("coordonnees_occupant_prenom", "Inès"),
        ("coordonnees_occupant_email", "ines@exemple.fr"),
    ]
}

fn composition(lease: bool) -> Vec<(&'static str, &'static str)> {
    let mut f = vec![
        ("composition_logement_nombre_personnes", "2"),
        ("composition_logement_nombre_enfants", "0"),
        ("bail_dpe_dpe", "oui"),
        ("bail_dpe_classe_energetique", "G"),
        ("desordres_logement_chauffage_details_dpe_annee", "post2023"),
    ];
    if lease {
        f.push(("bail_dpe_bail", "nsp"));
        f.push(("bail_dpe_etat_des_lieux", "nsp"));
    }
    f
}

fn situation_third() -> Vec<(&'static str, &'static str)> {
    vec![
        ("logement_social_allocation", "nsp"),
        ("travailleur_social_quitte_logement", "nsp"),
        ("travailleur_social_accompagnement", "nsp"),
    ]
}

fn procedure(insurer: &'static str, stay: bool) -> Vec<(&'static str, &'static str)> {
    let mut f = vec![("info_procedure_assurance_contactee", insurer)];
    if stay {
        f.push(("info_procedure_depart_apres_travaux", "nsp"));
    }
    f.extend(consents());
    f
}

fn landlord(prevenu: &'static str) -> Vec<(&'static str, &'static str)> {
    vec![
        ("coordonnees_bailleur_nom", "Monsieur Bailleur"),
        ("info_procedure_bailleur_prevenu", prevenu),
    ]
}

#[tokio::test]
async fn every_declarant_profile_can_file_a_report() {
    let app = TestApp::spawn().await;
    open_territory(&app).await;

    // Owner-occupant: no landlord screen.
    file_as(
        &app,
        &[
            ("signalement_concerne_profil", "logement_occupez"),
            (
                "signalement_concerne_profil_detail_occupant",
                "bailleur_occupant",
            ),
            (
                "signalement_concerne_profil_detail_bailleur_proprietaire",
                "particulier",
            ),
            ("signalement_concerne_logement_social_autre_tiers", "non"),
        ],
        &[
            (
                "vos-coordonnees",
                vec![
                    ("vos_coordonnees_occupant_nom", "Roux"),
                    ("vos_coordonnees_occupant_prenom", "Paul"),
                    ("vos_coordonnees_occupant_email", "paul@exemple.fr"),
                    ("vos_coordonnees_occupant_tel", "0596 12 34 56"),
                ],
            ),
            ("logement", dwelling("logement")),
            (
                "composition",
                vec![
                    ("composition_logement_nombre_personnes", "1"),
                    ("composition_logement_nombre_enfants", "0"),
                    ("bail_dpe_date_emmenagement", "2015-01-01"),
                    ("bail_dpe_dpe", "non"),
                ],
            ),
            (
                "situation",
                vec![
                    ("logement_social_demande_relogement", "non"),
                    ("logement_social_allocation", "oui"),
                    ("logement_social_allocation_caisse", "caf"),
                    ("logement_social_date_naissance", "1970-03-04"),
                    ("travailleur_social_quitte_logement", "oui"),
                    ("travailleur_social_accompagnement", "non"),
                ],
            ),
            ("desordres-logement", dwelling_defects(true)),
            (
                "procedure",
                vec![
                    ("info_procedure_assurance_contactee", "oui"),
                    ("info_procedure_reponse_assurance", "En cours"),
                    ("info_procedure_depart_apres_travaux", "oui"),
                ]
                .into_iter()
                .chain(consents())
                .collect(),
            ),
        ],
    )
    .await;

    // Private third party (neighbour).
    file_as(
        &app,
        &[
            ("signalement_concerne_profil", "autre_logement"),
            (
                "signalement_concerne_profil_detail_tiers",
                "tiers_particulier",
            ),
            (
                "signalement_concerne_profil_detail_profil_occupant",
                "locataire",
            ),
            ("signalement_concerne_logement_social_autre_tiers", "non"),
        ],
        &[
            (
                "vos-coordonnees",
                third_party("tpa@exemple.fr", true, false),
            ),
            ("occupant", occupant()),
            ("bailleur", landlord("nsp")),
            ("logement", dwelling("logement")),
            ("composition", composition(true)),
            ("situation", situation_third()),
            ("desordres-logement", dwelling_defects(false)),
            ("procedure", procedure("nsp", true)),
        ],
    )
    .await;

    // Professional third party.
    file_as(
        &app,
        &[
            ("signalement_concerne_profil", "autre_logement"),
            ("signalement_concerne_profil_detail_tiers", "tiers_pro"),
            (
                "signalement_concerne_profil_detail_profil_occupant",
                "locataire",
            ),
            ("signalement_concerne_logement_social_autre_tiers", "oui"),
        ],
        &[
            (
                "vos-coordonnees",
                third_party("tpr@exemple.fr", false, true),
            ),
            ("occupant", occupant()),
            ("bailleur", landlord("non")),
            ("logement", dwelling("logement")),
            ("composition", composition(true)),
            ("situation", situation_third()),
            ("desordres-logement", dwelling_defects(false)),
            ("procedure", procedure("non", true)),
        ],
    )
    .await;

    // Landlord: no landlord screen, no "stay after works" question.
    file_as(
        &app,
        &[
            ("signalement_concerne_profil", "autre_logement"),
            ("signalement_concerne_profil_detail_tiers", "bailleur"),
            (
                "signalement_concerne_profil_detail_bailleur_bailleur",
                "organisme_societe",
            ),
            ("signalement_concerne_logement_social_autre_tiers", "oui"),
        ],
        &[
            (
                "vos-coordonnees",
                third_party("bai@exemple.fr", false, true),
            ),
            ("occupant", occupant()),
            ("logement", dwelling("logement")),
            ("composition", composition(true)),
            ("situation", situation_third()),
            ("desordres-logement", dwelling_defects(false)),
            (
                "procedure",
                vec![("info_procedure_assurance_contactee", "non")]
                    .into_iter()
                    .chain(consents())
                    .collect(),
            ),
        ],
    )
    .await;

    // Emergency service: no situation screen, occupant names optional.
    file_as(
        &app,
        &[
            ("signalement_concerne_profil", "autre_logement"),
            (
                "signalement_concerne_profil_detail_tiers",
                "service_secours",
            ),
            ("signalement_concerne_profil_detail_profil_occupant", "nsp"),
            (
                "signalement_concerne_logement_social_service_secours",
                "ne-sais-pas",
            ),
        ],
        &[
            (
                "vos-coordonnees",
                third_party("sec@exemple.fr", false, true),
            ),
            ("occupant", vec![]),
            ("bailleur", vec![("info_procedure_bailleur_prevenu", "nsp")]),
            ("logement", dwelling("logement")),
            ("composition", composition(true)),
            ("desordres-logement", dwelling_defects(false)),
            ("procedure", procedure("nsp", true)),
        ],
    )
    .await;

    let profiles: Vec<String> =
        sqlx::query_scalar("SELECT declarant_profile FROM reports ORDER BY id")
            .fetch_all(&app.db)
            .await
            .unwrap();
    assert_eq!(
        profiles,
        vec![
            "bailleur_occupant",
            "tiers_particulier",
            "tiers_pro",
            "bailleur",
            "service_secours"
        ]
    );
    // The landlord of an owner-occupant is the declarant; the emergency
    // service's "don't know" social flag stays unknown.
    assert_eq!(
        text(
            &app,
            "SELECT landlord_name FROM reports WHERE declarant_profile = 'bailleur_occupant'"
        )
        .await,
        "Roux"
    );
    assert_eq!(
        scalar(&app, "SELECT COUNT(*) FROM reports WHERE declarant_profile = 'service_secours' AND is_public_housing IS NULL").await,
        1
    );
    assert_eq!(
        text(
            &app,
            "SELECT declarant_phone FROM reports WHERE declarant_profile = 'tiers_particulier'"
        )
        .await,
        "+262692123456"
    );
    assert_eq!(
        scalar(&app, "SELECT COUNT(*) FROM report_qualifications WHERE qualification = 'non_decence_energetique'").await,
        4,
        "class G opens an energy non-decency record"
    );
    let references: HashSet<String> = sqlx::query_scalar("SELECT reference FROM reports")
        .fetch_all(&app.db)
        .await
        .unwrap()
        .into_iter()
        .collect();
    assert_eq!(references.len(), 5);
}

// ------------------------------------------------------------ validation

#[tokio::test]
async fn a_deep_link_answers_the_profile_in_advance() {
    let app = TestApp::spawn().await;
    open_territory(&app).await;
    let v = Visitor::new(&app).await;
    let page = v.get("/signalement/adresse?profil=bailleur_social").await;
    assert!(
        page.html
            .contains("name=\"profil\" value=\"bailleur_social\"")
    );
    let page = v
        .post(
            "/signalement/adresse",
            &[
                ("profil", "bailleur_social"),
                ("adresse_logement_adresse_detail_numero", "12 rue des Lilas"),
                ("adresse_logement_adresse_detail_code_postal", "13100"),
                ("adresse_logement_adresse_detail_commune", "Aix-en-Provence"),
            ],
        )
        .await;
    assert_eq!(page.status, 303);
    let page = v.get(&page.location).await;
    assert!(page.html.contains("id=\"signalement_concerne_profil_detail_tiers-bailleur\" name=\"signalement_concerne_profil_detail_tiers\" value=\"bailleur\" checked"));
    assert!(page.html.contains("value=\"organisme_societe\" checked"));
}

#[tokio::test]
async fn a_closed_territory_gets_a_page_explaining_whom_to_contact_and_nothing_is_stored() {
    let app = TestApp::spawn().await;
    let v = Visitor::new(&app).await;
    let page = v
        .post(
            "/signalement/adresse",
            &[
                ("adresse_logement_adresse_detail_numero", "12 rue des Lilas"),
                ("adresse_logement_adresse_detail_code_postal", "13100"),
                ("adresse_logement_adresse_detail_commune", "Aix-en-Provence"),
            ],
        )
        .await;
    assert_eq!(page.status, 200);
    assert!(page.html.contains("0806 706 806"));
    assert_eq!(scalar(&app, "SELECT COUNT(*) FROM drafts").await, 0);
}

#[tokio::test]
async fn a_territory_closed_while_a_draft_is_in_progress_stops_the_next_save() {
    let app = TestApp::spawn().await;
    open_territory(&app).await;
    let v = Visitor::new(&app).await;
    let uuid = v
        .start("12 rue des Lilas", "13100", "Aix-en-Provence")
        .await;
    sqlx::query("UPDATE territories SET authorized_insee_codes = '[\"13201\"]' WHERE code = '13'")
        .execute(&app.db)
        .await
        .unwrap();
    let page = v
        .post(
            &format!("/signalement/{uuid}/profil"),
            &[
                ("signalement_concerne_profil", "logement_occupez"),
                ("signalement_concerne_profil_detail_occupant", "locataire"),
                ("signalement_concerne_logement_social_autre_tiers", "non"),
            ],
        )
        .await;
    assert_eq!(page.status, 200);
    assert!(page.html.contains("0806 706 806"));
}

#[tokio::test]
async fn address_errors_are_shown_next_to_the_field_with_what_was_typed() {
    let app = TestApp::spawn().await;
    open_territory(&app).await;
    let v = Visitor::new(&app).await;
    let cases: [(&str, &str, &str, &str, &str); 5] = [
        (
            "",
            "13100",
            "Aix-en-Provence",
            "adresse_logement_adresse_detail_numero",
            "obligatoire",
        ),
        (
            "12",
            "13100",
            "Aix-en-Provence",
            "adresse_logement_adresse_detail_numero",
            "6 caractères",
        ),
        (
            "12 rue des Lilas",
            "131",
            "Aix",
            "adresse_logement_adresse_detail_code_postal",
            "5 chiffres",
        ),
        (
            "12 rue des Lilas",
            "99999",
            "Nulle-Part",
            "adresse_logement_adresse_detail_code_postal",
            "n’existe pas",
        ),
        (
            "12 rue des Lilas",
            "13100",
            "Marseille",
            "adresse_logement_adresse_detail_commune",
            "ne correspond pas",
        ),
    ];
    for (street, postal, city, field, message) in cases {
        let page = v
            .post(
                "/signalement/adresse",
                &[
                    ("adresse_logement_adresse_detail_numero", street),
                    ("adresse_logement_adresse_detail_code_postal", postal),
                    ("adresse_logement_adresse_detail_commune", city),
                ],
            )
            .await;
        assert_eq!(page.status, 422, "{street} {postal} {city}");
        assert!(
            page.html.contains(&format!("id=\"{field}-error\"")),
            "{field}"
        );
        assert!(
            page.html.contains(message),
            "{message}: {}",
            errors_of(&page.html)
        );
        assert!(
            page.html.contains(&format!("value=\"{city}\"")),
            "typed city kept"
        );
    }
    // Marseille's city code from the BAN is folded into its arrondissement.
    let page = v
        .post(
            "/signalement/adresse",
            &[
                ("adresse_logement_adresse_detail_numero", "1 la Canebière"),
                ("adresse_logement_adresse_detail_code_postal", "13001"),
                ("adresse_logement_adresse_detail_commune", "Marseille"),
                ("adresse_logement_adresse_detail_insee", "13055"),
            ],
        )
        .await;
    assert_eq!(page.status, 303, "{}", errors_of(&page.html));
    assert_eq!(scalar(&app, "SELECT COUNT(*) FROM drafts").await, 1);
}

async fn expect_error(
    v: &Visitor,
    uuid: &str,
    step: &str,
    fields: &[(&str, &str)],
    field: &str,
    message: &str,
) {
    let path = format!("/signalement/{uuid}/{step}");
    let page = if step == "composition" || step.starts_with("desordres") {
        v.post_files(&path, fields, &[]).await
    } else {
        v.post(&path, fields).await
    };
    assert_eq!(page.status, 422, "{step}/{field} should be refused");
    assert!(
        page.html.contains(&format!("id=\"{field}-error\"")),
        "{field}: {}",
        errors_of(&page.html)
    );
    assert!(
        page.html.contains(message),
        "{message}: {}",
        errors_of(&page.html)
    );
}

#[tokio::test]
async fn every_field_rule_gives_a_french_message_and_a_422() {
    let app = TestApp::spawn().await;
    open_territory(&app).await;
    let v = Visitor::new(&app).await;
    let uuid = v
        .start("12 rue des Lilas", "13100", "Aix-en-Provence")
        .await;
    expect_error(
        &v,
        &uuid,
        "profil",
        &[],
        "signalement_concerne_profil",
        "Choisissez une réponse",
    )
    .await;
    v.step(
        &uuid,
        "profil",
        &[
            ("signalement_concerne_profil", "logement_occupez"),
            ("signalement_concerne_profil_detail_occupant", "locataire"),
            ("signalement_concerne_logement_social_autre_tiers", "non"),
        ],
    )
    .await;
    let contact = |email: &'static str, tel: &'static str, nom: &'static str| {
        vec![
            ("vos_coordonnees_occupant_civilite", "mr"),
            ("vos_coordonnees_occupant_nom", nom),
            ("vos_coordonnees_occupant_prenom", "Jo"),
            ("vos_coordonnees_occupant_email", email),
            ("vos_coordonnees_occupant_tel", tel),
        ]
    };
    expect_error(
        &v,
        &uuid,
        "vos-coordonnees",
        &contact("jo@exemple", "0612345678", "Doe"),
        "vos_coordonnees_occupant_email",
        "adresse électronique valide",
    )
    .await;
    expect_error(
        &v,
        &uuid,
        "vos-coordonnees",
        &contact("jo@exemple.fr", "12345", "Doe"),
        "vos_coordonnees_occupant_tel",
        "numéro de téléphone",
    )
    .await;
    let long = "x".repeat(51);
    let long: &'static str = Box::leak(long.into_boxed_str());
    expect_error(
        &v,
        &uuid,
        "vos-coordonnees",
        &contact("jo@exemple.fr", "0612345678", long),
        "vos_coordonnees_occupant_nom",
        "50 caractères",
    )
    .await;
    v.step(
        &uuid,
        "vos-coordonnees",
        &contact("jo@exemple.fr", "0612345678", "Doe"),
    )
    .await;

    let bailleur = |date: &'static str| {
        vec![
            ("coordonnees_bailleur_nom", "X"),
            ("info_procedure_bailleur_prevenu", "oui"),
            ("info_procedure_bail_moyen", "email"),
            ("info_procedure_bail_date", date),
            ("info_procedure_bail_reponse", "Rien"),
        ]
    };
    expect_error(
        &v,
        &uuid,
        "bailleur",
        &bailleur("13/2025"),
        "info_procedure_bail_date",
        "MM/AAAA",
    )
    .await;
    expect_error(
        &v,
        &uuid,
        "bailleur",
        &bailleur("01/2099"),
        "info_procedure_bail_date",
        "futur",
    )
    .await;
    expect_error(
        &v,
        &uuid,
        "bailleur",
        &[
            ("coordonnees_bailleur_nom", "X"),
            ("info_procedure_bailleur_prevenu", "peut-etre"),
        ],
        "info_procedure_bailleur_prevenu",
        "réponses proposées",
    )
    .await;

    // Screens refused so far did not undo what earlier screens saved.
    assert_eq!(
        text(&app, "SELECT email FROM drafts").await,
        "jo@exemple.fr"
    );

    let mut d = dwelling("logement");
    d.retain(|(k, _)| *k != "composition_logement_superficie");
    d.push(("composition_logement_superficie", "0"));
    expect_error(
        &v,
        &uuid,
        "logement",
        &d,
        "composition_logement_superficie",
        "entre 1 et 9999",
    )
    .await;
    d.retain(|(k, _)| *k != "composition_logement_superficie");
    expect_error(
        &v,
        &uuid,
        "logement",
        &d,
        "composition_logement_superficie",
        "obligatoire",
    )
    .await;
    d.push(("composition_logement_superficie", "abc"));
    expect_error(
        &v,
        &uuid,
        "logement",
        &d,
        "composition_logement_superficie",
        "en chiffres",
    )
    .await;
    let mut d = dwelling("logement");
    d.retain(|(k, _)| *k != "composition_logement_nb_pieces");
    d.push(("composition_logement_nb_pieces", "1000"));
    expect_error(
        &v,
        &uuid,
        "logement",
        &d,
        "composition_logement_nb_pieces",
        "entre 1 et 999",
    )
    .await;

    let comp = |persons: &'static str, children: &'static str, move_in: &'static str| {
        vec![
            ("composition_logement_nombre_personnes", persons),
            ("composition_logement_nombre_enfants", children),
            ("composition_logement_enfants", "non"),
            ("bail_dpe_date_emmenagement", move_in),
            ("bail_dpe_bail", "oui"),
            ("bail_dpe_etat_des_lieux", "oui"),
            ("bail_dpe_dpe", "non"),
        ]
    };
    expect_error(
        &v,
        &uuid,
        "composition",
        &comp("100", "0", "2020-01-01"),
        "composition_logement_nombre_personnes",
        "entre 1 et 99",
    )
    .await;
    expect_error(
        &v,
        &uuid,
        "composition",
        &comp("2", "3", "2020-01-01"),
        "composition_logement_nombre_enfants",
        "plus d’enfants",
    )
    .await;
    expect_error(
        &v,
        &uuid,
        "composition",
        &comp("2", "1", "2099-01-01"),
        "bail_dpe_date_emmenagement",
        "futur",
    )
    .await;
    expect_error(
        &v,
        &uuid,
        "composition",
        &comp("2", "1", "1899-12-31"),
        "bail_dpe_date_emmenagement",
        "après 1900",
    )
    .await;

    let today = time::OffsetDateTime::now_utc().date().to_string();
    let today: &'static str = Box::leak(today.into_boxed_str());
    expect_error(
        &v,
        &uuid,
        "situation",
        &[
            ("logement_social_demande_relogement", "non"),
            ("logement_social_allocation", "oui"),
            ("logement_social_allocation_caisse", "msa"),
            ("logement_social_date_naissance", today),
            ("travailleur_social_quitte_logement", "non"),
            ("travailleur_social_accompagnement", "non"),
        ],
        "logement_social_date_naissance",
        "doit être passée",
    )
    .await;

    expect_error(
        &v,
        &uuid,
        "complements",
        &[(
            "informations_complementaires_logement_annee_construction",
            "3000",
        )],
        "informations_complementaires_logement_annee_construction",
        "4 chiffres",
    )
    .await;

    let mut p = vec![
        ("info_procedure_assurance_contactee", "non"),
        ("info_procedure_depart_apres_travaux", "oui"),
    ];
    expect_error(
        &v,
        &uuid,
        "procedure",
        &p,
        "utilisation_service_ok_cgu",
        "Cochez cette case",
    )
    .await;
    let long = "m".repeat(5001);
    let long: &'static str = Box::leak(long.into_boxed_str());
    p.push(("message_administration", long));
    p.extend(consents());
    expect_error(
        &v,
        &uuid,
        "procedure",
        &p,
        "message_administration",
        "5000 caractères",
    )
    .await;

    // A typed value comes back on the re-rendered page.
    let page = v
        .post(
            &format!("/signalement/{uuid}/vos-coordonnees"),
            &contact("pas-un-email", "0612345678", "Tapé <b>ici</b>"),
        )
        .await;
    assert_eq!(page.status, 422);
    assert!(page.html.contains("value=\"pas-un-email\""));
    assert!(page.html.contains("Tapé &#60;b&#62;ici&#60;/b&#62;"));
}

#[tokio::test]
async fn answers_of_hidden_questions_are_dropped_and_a_report_without_defect_is_refused() {
    let app = TestApp::spawn().await;
    open_territory(&app).await;
    let v = Visitor::new(&app).await;
    let uuid = v
        .start("12 rue des Lilas", "13100", "Aix-en-Provence")
        .await;
    v.step(
        &uuid,
        "profil",
        &[
            ("signalement_concerne_profil", "logement_occupez"),
            ("signalement_concerne_profil_detail_occupant", "locataire"),
            // Stale answer of a branch that is not shown:
            ("signalement_concerne_profil_detail_tiers", "bailleur"),
            ("signalement_concerne_logement_social_autre_tiers", "non"),
        ],
    )
    .await;
    let payload = text(&app, "SELECT CAST(payload AS CHAR) FROM drafts").await;
    assert!(!payload.contains("signalement_concerne_profil_detail_tiers"));

    // Without any defect, the summary refuses to send.
    let mut other = fill_up_to_defects(&v, &uuid).await;
    other.extend(consents());
    v.step(&uuid, "procedure", &other).await;
    let page = v
        .post(
            &format!("/signalement/{uuid}/recapitulatif"),
            &[("site_web", "")],
        )
        .await;
    assert_eq!(page.status, 422);
    assert!(page.html.contains("Indiquez au moins un problème"));
    assert_eq!(scalar(&app, "SELECT COUNT(*) FROM reports").await, 0);

    // A robot filling the honeypot is turned away.
    let page = v
        .post(
            &format!("/signalement/{uuid}/recapitulatif"),
            &[("site_web", "http://spam")],
        )
        .await;
    assert_eq!(page.status, 400);
}

async fn fill_up_to_defects(v: &Visitor, uuid: &str) -> Vec<(&'static str, &'static str)> {
    v.step(
        uuid,
        "vos-coordonnees",
        &[
            ("vos_coordonnees_occupant_civilite", "mr"),
            ("vos_coordonnees_occupant_nom", "Doe"),
            ("vos_coordonnees_occupant_prenom", "Jo"),
            ("vos_coordonnees_occupant_email", "jo@exemple.fr"),
            ("vos_coordonnees_occupant_tel", "0612345678"),
        ],
    )
    .await;
    v.step(uuid, "bailleur", &landlord("non")).await;
    v.step(uuid, "logement", &dwelling("logement")).await;
    v.step(
        uuid,
        "composition",
        &[
            ("composition_logement_nombre_personnes", "1"),
            ("composition_logement_nombre_enfants", "0"),
            ("bail_dpe_date_emmenagement", "2020-01-01"),
            ("bail_dpe_bail", "oui"),
            ("bail_dpe_etat_des_lieux", "oui"),
            ("bail_dpe_dpe", "non"),
        ],
    )
    .await;
    v.step(
        uuid,
        "situation",
        &[
            ("logement_social_demande_relogement", "non"),
            ("logement_social_allocation", "non"),
            ("travailleur_social_quitte_logement", "non"),
            ("travailleur_social_accompagnement", "non"),
        ],
    )
    .await;
    v.step(uuid, "desordres-logement", &[]).await;
    vec![
        ("info_procedure_assurance_contactee", "oui"),
        ("info_procedure_reponse_assurance", "Dossier ouvert"),
        ("info_procedure_depart_apres_travaux", "oui"),
    ]
}

// ------------------------------------------------------------ uploads

#[tokio::test]
async fn uploads_are_checked_by_content_size_and_name() {
    let app = TestApp::spawn().await;
    open_territory(&app).await;
    let v = Visitor::new(&app).await;
    let uuid = v
        .start("12 rue des Lilas", "13100", "Aix-en-Provence")
        .await;
    v.step(
        &uuid,
        "profil",
        &[
            ("signalement_concerne_profil", "logement_occupez"),
            ("signalement_concerne_profil_detail_occupant", "locataire"),
            ("signalement_concerne_logement_social_autre_tiers", "non"),
        ],
    )
    .await;
    let path = format!("/signalement/{uuid}/desordres-logement");
    let fields = [("desordres_logement_bruit", "1")];
    let field = "desordres_logement_bruit_photos_upload";

    // A Windows executable renamed to .jpg.
    let mut exe = b"MZ\x90\x00\x03\x00\x00\x00".to_vec();
    exe.extend(vec![0u8; 2048]);
    let page = v
        .post_files(&path, &fields, &[(field, "photo.jpg", exe)])
        .await;
    assert_eq!(page.status, 422);
    assert!(
        page.html.contains("n’est pas accepté"),
        "{}",
        errors_of(&page.html)
    );

    // A script pretending to be an image.
    let page = v
        .post_files(
            &path,
            &fields,
            &[(field, "x.png", b"<script>alert(1)</script>".to_vec())],
        )
        .await;
    assert_eq!(page.status, 422);

    // Over 10 MB.
    let mut big = png();
    big.resize(10 * 1024 * 1024 + 1, 0);
    let page = v
        .post_files(&path, &fields, &[(field, "grande.png", big)])
        .await;
    assert_eq!(page.status, 422);
    assert!(page.html.contains("dépasse 10 Mo"));
    assert_eq!(
        scalar(&app, "SELECT JSON_LENGTH(payload, '$.files') FROM drafts").await,
        0,
        "nothing refused is kept"
    );

    // A path-traversal name: the file is kept under a random key, its
    // name reduced to the last component.
    let page = v
        .post_files(&path, &fields, &[(field, "../../../etc/passwd.png", png())])
        .await;
    assert_eq!(page.status, 303, "{}", errors_of(&page.html));
    let payload = text(&app, "SELECT CAST(payload AS CHAR) FROM drafts").await;
    let files: serde_json::Value = serde_json::from_str(&payload).unwrap();
    let file = &files["files"][0];
    assert_eq!(file["filename"], "passwd.png");
    let key = file["key"].as_str().unwrap();
    assert!(key.starts_with("documents/") && !key.contains("passwd") && !key.contains(".."));
    assert_eq!(file["mime"], "image/png");
    assert!(file["thumbnail_key"].as_str().is_some());

    // A PDF document is accepted as a document.
    let page = v
        .post_files(
            &path,
            &fields,
            &[(field, "rapport.pdf", b"%PDF-1.4\n%...\n".to_vec())],
        )
        .await;
    assert_eq!(page.status, 303);

    // The 21st file of a report is refused.
    let many: Vec<_> = (0..19).map(|_| (field, "p.png", png())).collect();
    let page = v.post_files(&path, &fields, &many).await;
    assert_eq!(page.status, 422);
    assert!(page.html.contains("plus de 20 fichiers"));
    assert_eq!(
        scalar(&app, "SELECT JSON_LENGTH(payload, '$.files') FROM drafts").await,
        20
    );
}

// ------------------------------------------------------------ submissions

#[tokio::test]
async fn submitting_twice_creates_one_report() {
    let app = TestApp::spawn().await;
    open_territory(&app).await;
    let v = Visitor::new(&app).await;
    let uuid = fill_as_tenant(&v, "double@exemple.fr").await;
    let path = format!("/signalement/{uuid}/recapitulatif");
    let (a, b) = tokio::join!(v.post(&path, &[]), v.post(&path, &[]));
    for page in [&a, &b] {
        assert_eq!(page.status, 303);
        assert_eq!(page.location, format!("/signalement/{uuid}/confirmation"));
    }
    let again = v.post(&path, &[]).await;
    assert_eq!(again.location, format!("/signalement/{uuid}/confirmation"));
    assert_eq!(scalar(&app, "SELECT COUNT(*) FROM reports").await, 1);
    let confirmations = app
        .pending_jobs()
        .await
        .into_iter()
        .filter(|j| j["template"] == "report_confirmation")
        .count();
    assert_eq!(confirmations, 1);
    // Going back to a screen of a filed draft lands on the confirmation.
    let page = v.get(&format!("/signalement/{uuid}/profil")).await;
    assert_eq!(page.location, format!("/signalement/{uuid}/confirmation"));
}

#[tokio::test]
async fn fifty_concurrent_submissions_get_fifty_distinct_references() {
    let app = TestApp::spawn().await;
    open_territory(&app).await;
    let v = Visitor::new(&app).await;
    let uuid = fill_as_tenant(&v, "concurrent@exemple.fr").await;
    // 49 more identical drafts, each sent by its own visitor.
    let mut uuids = vec![uuid.clone()];
    uuids.extend(clone_draft(&app, &uuid, 49).await);
    let mut visitors = Vec::new();
    for _ in 0..50 {
        visitors.push(Visitor::new(&app).await);
    }
    let pages = futures::future::join_all(visitors.iter().zip(&uuids).map(|(v, id)| async move {
        v.post(&format!("/signalement/{id}/recapitulatif"), &[])
            .await
    }))
    .await;
    for page in &pages {
        assert_eq!(page.status, 303, "{}", page.html);
    }
    assert_eq!(scalar(&app, "SELECT COUNT(*) FROM reports").await, 50);
    let references: HashSet<String> = sqlx::query_scalar("SELECT reference FROM reports")
        .fetch_all(&app.db)
        .await
        .unwrap()
        .into_iter()
        .collect();
    assert_eq!(references.len(), 50);
    let year = time::OffsetDateTime::now_utc().year();
    for n in 1..=50 {
        assert!(
            references.contains(&format!("{year}-{n}")),
            "{year}-{n} missing"
        );
    }
    assert_eq!(
        scalar(&app, "SELECT COUNT(DISTINCT follow_up_code) FROM reports").await,
        50
    );
}

#[tokio::test]
async fn a_recent_report_for_the_same_home_and_person_only_offers_its_follow_up_link() {
    let app = TestApp::spawn().await;
    open_territory(&app).await;
    let (_, path) = file_tenant_report(&app, "deja@exemple.fr").await;

    let v = Visitor::new(&app).await;
    let uuid = v
        .start("12 RUE DES LILAS", "13100", "Aix-en-Provence")
        .await;
    v.step(
        &uuid,
        "profil",
        &[
            ("signalement_concerne_profil", "logement_occupez"),
            ("signalement_concerne_profil_detail_occupant", "locataire"),
            ("signalement_concerne_logement_social_autre_tiers", "non"),
        ],
    )
    .await;
    let page = v
        .post(
            &format!("/signalement/{uuid}/vos-coordonnees"),
            &[
                ("vos_coordonnees_occupant_civilite", "mme"),
                ("vos_coordonnees_occupant_nom", "Durand"),
                ("vos_coordonnees_occupant_prenom", "Camille"),
                ("vos_coordonnees_occupant_email", "deja@exemple.fr"),
                ("vos_coordonnees_occupant_tel", "0612345678"),
            ],
        )
        .await;
    assert_eq!(page.status, 409);
    assert!(page.html.contains("Un signalement existe déjà"));
    let page = v.post(&format!("/signalement/{uuid}/doublon"), &[]).await;
    assert_eq!(page.status, 200);
    assert!(page.html.contains("vient d’être envoyé"));
    let jobs = app.pending_jobs().await;
    let sent = jobs
        .iter()
        .find(|j| j["template"] == "follow_up_links")
        .expect("link e-mailed");
    assert_eq!(sent["to"], "deja@exemple.fr");
    assert!(sent["links"][0][1].as_str().unwrap().ends_with(&path));
    assert_eq!(
        text(
            &app,
            &format!("SELECT status FROM drafts WHERE uuid = '{uuid}'")
        )
        .await,
        "archive"
    );
    // Someone else at the same address is not blocked.
    let other = Visitor::new(&app).await;
    let uuid = other
        .start("12 rue des Lilas", "13100", "Aix-en-Provence")
        .await;
    other
        .step(
            &uuid,
            "profil",
            &[
                ("signalement_concerne_profil", "logement_occupez"),
                ("signalement_concerne_profil_detail_occupant", "locataire"),
                ("signalement_concerne_logement_social_autre_tiers", "non"),
            ],
        )
        .await;
    other
        .step(
            &uuid,
            "vos-coordonnees",
            &[
                ("vos_coordonnees_occupant_nom", "Voisin"),
                ("vos_coordonnees_occupant_civilite", "mr"),
                ("vos_coordonnees_occupant_prenom", "Jean"),
                ("vos_coordonnees_occupant_email", "voisin@exemple.fr"),
                ("vos_coordonnees_occupant_tel", "0612345679"),
            ],
        )
        .await;
}

/// Copies a filled draft `n` times; returns the new uuids.
async fn clone_draft(app: &TestApp, uuid: &str, n: usize) -> Vec<String> {
    let mut uuids = Vec::new();
    for _ in 0..n {
        let id = uuid::Uuid::new_v4().to_string();
        sqlx::query(
            "INSERT INTO drafts (uuid, payload, current_step, territory_id, status)
             SELECT ?, payload, current_step, territory_id, status FROM drafts WHERE uuid = ?",
        )
        .bind(&id)
        .bind(uuid)
        .execute(&app.db)
        .await
        .unwrap();
        uuids.push(id);
    }
    uuids
}

#[tokio::test]
async fn one_address_cannot_file_more_than_ten_reports_an_hour() {
    let app = TestApp::spawn().await;
    open_territory(&app).await;
    let v = Visitor::new(&app).await;
    let uuid = fill_as_tenant(&v, "robot@exemple.fr").await;
    let mut uuids = vec![uuid.clone()];
    uuids.extend(clone_draft(&app, &uuid, 10).await);
    for id in &uuids[..10] {
        let page = v
            .post(&format!("/signalement/{id}/recapitulatif"), &[])
            .await;
        assert_eq!(page.status, 303);
    }
    let page = v
        .post(&format!("/signalement/{}/recapitulatif", uuids[10]), &[])
        .await;
    assert_eq!(page.status, 429);
    assert_eq!(scalar(&app, "SELECT COUNT(*) FROM reports").await, 10);
}

#[tokio::test]
async fn a_draft_can_be_resumed_from_an_emailed_link() {
    let app = TestApp::spawn().await;
    open_territory(&app).await;
    let v = Visitor::new(&app).await;
    let uuid = v
        .start("12 rue des Lilas", "13100", "Aix-en-Provence")
        .await;
    // Before any e-mail is known, nothing can be sent.
    let page = v
        .post(&format!("/signalement/{uuid}/brouillon/lien"), &[])
        .await;
    assert_eq!(page.status, 200);
    assert!(page.html.contains("pas encore votre adresse"));
    v.step(
        &uuid,
        "profil",
        &[
            ("signalement_concerne_profil", "logement_occupez"),
            ("signalement_concerne_profil_detail_occupant", "locataire"),
            ("signalement_concerne_logement_social_autre_tiers", "non"),
        ],
    )
    .await;
    v.step(
        &uuid,
        "vos-coordonnees",
        &[
            ("vos_coordonnees_occupant_civilite", "mme"),
            ("vos_coordonnees_occupant_nom", "Durand"),
            ("vos_coordonnees_occupant_prenom", "Camille"),
            ("vos_coordonnees_occupant_email", "reprise@exemple.fr"),
            ("vos_coordonnees_occupant_tel", "0612345678"),
        ],
    )
    .await;
    let page = v
        .post(&format!("/signalement/{uuid}/brouillon/lien"), &[])
        .await;
    assert!(page.html.contains("vient d’être envoyé"));
    let link = app
        .last_link_sent_to("draft_resume", "reprise@exemple.fr")
        .await;
    assert!(
        link.ends_with(&format!("/signalement/{uuid}/bailleur")),
        "{link}"
    );
    // Another browser opens it and finds the answers.
    let other = Visitor::new(&app).await;
    let page = other
        .get(&format!("/signalement/{uuid}/vos-coordonnees"))
        .await;
    assert!(page.html.contains("value=\"reprise@exemple.fr\""));
}

#[tokio::test]
async fn the_address_search_falls_back_to_an_empty_list_when_the_ban_is_down() {
    let app = TestApp::spawn().await;
    let response = app
        .get("/signalement/recherche-adresse?q=12+rue+des+Lilas")
        .await;
    assert_eq!(response.status(), 200);
    let body: serde_json::Value = response.json().await.unwrap();
    assert_eq!(body, serde_json::json!([]));
}

#[tokio::test]
async fn the_address_search_asks_the_ban_through_the_logged_client() {
    let ban = crate::fakes::ban(0.953).await;
    let app = TestApp::spawn_tweaked(|c| c.ban_api_url = ban.url.clone()).await;

    let response = app
        .get("/signalement/recherche-adresse?q=8+la+bodiniere")
        .await;
    assert_eq!(response.status(), 200);
    let body: serde_json::Value = response.json().await.unwrap();
    assert_eq!(
        body,
        serde_json::json!([{
            "label": "8 la bodiniere 44850 Saint-Mars-du-Désert",
            "street": "8 la bodiniere",
            "postcode": "44850",
            "city": "Saint-Mars-du-Désert",
            "citycode": "44179",
        }])
    );
    let sent = &ban.requests()[0];
    assert_eq!(sent.param("q").as_deref(), Some("8 la bodiniere"));
    assert_eq!(sent.param("limit").as_deref(), Some("5"));
    assert_eq!(sent.param("index").as_deref(), Some("address"));

    // Too short for the BAN: not sent at all.
    let short: serde_json::Value = app
        .get("/signalement/recherche-adresse?q=8+")
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(short, serde_json::json!([]));
    assert_eq!(ban.count(), 1);

    // The call is in the interconnection log, like the worker's.
    let calls = histologe::db::interconnections::all(&app.db).await.unwrap();
    assert_eq!(calls.len(), 1);
    assert_eq!(
        (calls[0].service.as_str(), calls[0].action.as_str()),
        ("ban", "autocomplete")
    );
    assert_eq!(calls[0].http_status, Some(200));
}

// ------------------------------------------------------------ persist

mod persist {
    //! `filing::persist` alone: a plan made by hand, written in one
    //! transaction or not at all.

    use histologe::{
        db,
        domain::report::{
            draft::{DraftFile, DraftPayload},
            submission::{
                FIRST_FOLLOW_UP, NEW_REPORT_STATUS, PlannedEmail, PlannedJob, PlannedReport,
                Submission, SubmissionPlan,
            },
        },
        filing::{self, Filed},
    };

    use super::{ADMIN_13, open_territory, scalar, text};
    use crate::common::TestApp;

    fn file(name: &str, mime: &str) -> DraftFile {
        DraftFile {
            field: "desordres_logement_humidite_photos_upload".into(),
            key: format!("documents/{name}"),
            thumbnail_key: None,
            filename: name.into(),
            mime: mime.into(),
            size: 12,
            sha256: "0".repeat(64),
            kind: "photo".into(),
        }
    }

    async fn draft(app: &TestApp) -> (String, DraftPayload) {
        let uuid = uuid::Uuid::new_v4().to_string();
        let mut payload = DraftPayload::default();
        payload.answers.insert(
            "adresse_logement_adresse_detail_code_postal".into(),
            "13001".into(),
        );
        let mut conn = app.db.acquire().await.unwrap();
        db::drafts::insert(&mut conn, &uuid, &payload, "adresse_logement", 13)
            .await
            .unwrap();
        (uuid, payload)
    }

    async fn plan(app: &TestApp, documents: Vec<DraftFile>) -> SubmissionPlan {
        let precision = scalar(app, "SELECT CAST(MIN(id) AS SIGNED) FROM defect_precisions").await;
        SubmissionPlan {
            report: PlannedReport {
                uuid: uuid::Uuid::new_v4().to_string(),
                territory_id: 13,
                status: NEW_REPORT_STATUS,
                follow_up_code: "c".repeat(43),
                severity_score: 12.5,
                severity_score_raw: 12.46,
                severity_building: 0.0,
                severity_dwelling: 12.46,
                form: Submission {
                    declarant_email: Some(
                        histologe::domain::contact::Email::parse("camille@exemple.fr")
                            .expect("an address"),
                    ),
                    address_line: "12 rue des Lilas".into(),
                    postal_code: "13001".into(),
                    city: "Marseille".into(),
                    consents: serde_json::json!({}),
                    extra: serde_json::json!({}),
                    ..Submission::default()
                },
            },
            defect_ids: vec![u32::try_from(precision).unwrap()],
            qualifications: Vec::new(),
            documents,
            first_follow_up: FIRST_FOLLOW_UP,
            reference_year: 2026,
            jobs: vec![
                PlannedJob::Geocode,
                PlannedJob::Email(PlannedEmail::Confirmation {
                    to: histologe::domain::contact::Email::parse("camille@exemple.fr")
                        .expect("an address"),
                    first_name: "Camille".into(),
                    link: "https://exemple.fr/suivre-mon-signalement/c".into(),
                }),
                PlannedJob::Email(PlannedEmail::ToTerritoryAdmins {
                    city: "Marseille".into(),
                    link: "https://exemple.fr/bo/signalements/x".into(),
                }),
            ],
        }
    }

    async fn jobs(app: &TestApp) -> String {
        text(
            app,
            "SELECT COALESCE(GROUP_CONCAT(kind ORDER BY kind SEPARATOR ','), '') FROM outbox",
        )
        .await
    }

    #[tokio::test]
    async fn a_plan_is_written_with_every_job_in_one_transaction_and_only_once() {
        let app = TestApp::spawn().await;
        open_territory(&app).await;
        let (uuid, payload) = draft(&app).await;
        let plan = plan(&app, vec![file("a.png", "image/png")]).await;

        let filed = filing::persist(&app.db, &uuid, &payload, &plan)
            .await
            .unwrap();

        let Filed::Filed {
            report_id,
            reference,
        } = filed
        else {
            panic!("not filed: {filed:?}");
        };
        assert_eq!(reference, "2026-1");
        assert_eq!(
            text(&app, &format!("SELECT CONCAT(reference, ' ', status, ' ', declarant_email) FROM reports WHERE id = {report_id}")).await,
            "2026-1 need_validation camille@exemple.fr"
        );
        assert_eq!(scalar(&app, "SELECT COUNT(*) FROM report_defects").await, 1);
        assert_eq!(scalar(&app, "SELECT COUNT(*) FROM documents").await, 1);
        assert_eq!(
            text(&app, "SELECT body FROM follow_ups").await,
            FIRST_FOLLOW_UP
        );
        // Geocoding, the declarant's confirmation, the territory admin's
        // notice and the document's antivirus scan: all committed with it.
        assert_eq!(
            jobs(&app).await,
            "geocode_report,scan_document,send_email,send_email"
        );
        assert_eq!(
            scalar(
                &app,
                &format!("SELECT COUNT(*) FROM outbox WHERE JSON_SEARCH(payload, 'one', '{ADMIN_13}') IS NOT NULL")
            )
            .await,
            1
        );
        assert_eq!(
            text(
                &app,
                &format!("SELECT status FROM drafts WHERE uuid = '{uuid}'")
            )
            .await,
            "en_signalement"
        );

        // The same draft again (a replayed request): nothing more.
        let again = filing::persist(&app.db, &uuid, &payload, &plan)
            .await
            .unwrap();
        assert_eq!(again, Filed::AlreadyFiled);
        assert_eq!(scalar(&app, "SELECT COUNT(*) FROM reports").await, 1);
        assert_eq!(scalar(&app, "SELECT COUNT(*) FROM outbox").await, 4);
    }

    #[tokio::test]
    async fn a_failure_midway_leaves_no_report_no_job_and_the_draft_as_it_was() {
        let app = TestApp::spawn().await;
        open_territory(&app).await;
        let (uuid, payload) = draft(&app).await;
        // The second document cannot be stored (its type is longer than the
        // column): the first one, and its scan job, were already written.
        let plan = plan(
            &app,
            vec![file("a.png", "image/png"), file("b.png", &"x".repeat(500))],
        )
        .await;

        let result = filing::persist(&app.db, &uuid, &payload, &plan).await;

        assert!(result.is_err(), "{result:?}");
        for table in [
            "reports",
            "report_defects",
            "documents",
            "follow_ups",
            "outbox",
        ] {
            assert_eq!(
                scalar(&app, &format!("SELECT COUNT(*) FROM {table}")).await,
                0,
                "{table}"
            );
        }
        assert_eq!(
            text(
                &app,
                &format!("SELECT status FROM drafts WHERE uuid = '{uuid}'")
            )
            .await,
            "en_cours"
        );
        assert_eq!(
            scalar(&app, "SELECT COUNT(*) FROM report_reference_counters").await,
            0
        );
    }

    #[tokio::test]
    async fn a_draft_changed_since_it_was_read_is_not_filed() {
        let app = TestApp::spawn().await;
        open_territory(&app).await;
        let (uuid, mut read_before) = draft(&app).await;
        read_before
            .answers
            .insert("vos_coordonnees_occupant_nom".into(), "Durand".into());
        let plan = plan(&app, Vec::new()).await;

        let filed = filing::persist(&app.db, &uuid, &read_before, &plan)
            .await
            .unwrap();

        assert_eq!(filed, Filed::DraftChanged);
        assert_eq!(scalar(&app, "SELECT COUNT(*) FROM reports").await, 0);
        assert_eq!(jobs(&app).await, "");
    }
}

// ------------------------------------------------------------ browser

/// Clicks, then waits until the page whose title starts with `title` is
/// shown (a page load, not a fixed delay).
async fn click_then_wait(browser: &crate::common::webdriver::Browser, css: &str, title: &str) {
    browser.click(css).await;
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(15);
    loop {
        if browser.title().await.starts_with(title) {
            return;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "page « {title} » not reached after {css}"
        );
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
}

#[tokio::test]
async fn in_a_browser_a_tenant_fills_the_whole_form_with_a_photo_and_writes_from_the_follow_up_space()
 {
    use crate::common::{screenshot_dir, webdriver::Browser};
    let app = TestApp::spawn().await;
    open_territory(&app).await;
    let browser = Browser::start(412, 915).await;
    let shots = screenshot_dir();
    let shot = |name: &str| shots.join(format!("formulaire-{name}.png"));
    let base = &app.base_url;

    browser.goto(&format!("{base}/signalement")).await;
    browser.screenshot(&shot("01-accueil")).await;
    click_then_wait(&browser, "#commencer", "Adresse du logement").await;
    browser
        .type_into(
            "#adresse_logement_adresse_detail_numero",
            "12 rue des Lilas",
        )
        .await;
    browser
        .type_into("#adresse_logement_adresse_detail_code_postal", "13100")
        .await;
    browser
        .type_into(
            "#adresse_logement_adresse_detail_commune",
            "Aix-en-Provence",
        )
        .await;
    browser.screenshot(&shot("02-adresse")).await;
    click_then_wait(&browser, "#bouton-suivant", "Votre situation").await;

    browser
        .click("label[for='signalement_concerne_profil-logement_occupez']")
        .await;
    browser
        .click("label[for='signalement_concerne_profil_detail_occupant-locataire']")
        .await;
    browser
        .click("label[for='signalement_concerne_logement_social_autre_tiers-non']")
        .await;
    browser.screenshot(&shot("03-profil")).await;
    click_then_wait(&browser, "#bouton-suivant", "Vos coordonnées").await;

    browser
        .click("label[for='vos_coordonnees_occupant_civilite-mme']")
        .await;
    browser
        .type_into("#vos_coordonnees_occupant_nom", "Durand")
        .await;
    browser
        .type_into("#vos_coordonnees_occupant_prenom", "Camille")
        .await;
    browser
        .type_into("#vos_coordonnees_occupant_email", "navigateur@exemple.fr")
        .await;
    browser
        .type_into("#vos_coordonnees_occupant_tel", "0612345678")
        .await;
    browser.screenshot(&shot("04-coordonnees")).await;
    click_then_wait(&browser, "#bouton-suivant", "Le bailleur").await;

    browser
        .type_into("#coordonnees_bailleur_nom", "SCI Les Lilas")
        .await;
    browser
        .click("label[for='info_procedure_bailleur_prevenu-non']")
        .await;
    browser.screenshot(&shot("05-bailleur")).await;
    click_then_wait(&browser, "#bouton-suivant", "Le logement").await;

    for (id, _) in [
        ("zone_concernee_zone-logement", ()),
        ("type_logement_nature-maison", ()),
        ("composition_logement_piece_unique-piece_unique", ()),
        ("type_logement_commodites_piece_a_vivre_9m-oui", ()),
        ("type_logement_commodites_cuisine-oui", ()),
        ("type_logement_commodites_salle_de_bain-oui", ()),
        ("type_logement_commodites_wc-oui", ()),
        ("type_logement_commodites_wc_cuisine-non", ()),
    ] {
        browser.click(&format!("label[for='{id}']")).await;
    }
    browser
        .type_into("#composition_logement_superficie", "30")
        .await;
    browser.click("#zone_concernee_debut_desordres").await;
    browser
        .click("#zone_concernee_debut_desordres option[value='years_1_to_2']")
        .await;
    browser.screenshot(&shot("06-logement")).await;
    click_then_wait(&browser, "#bouton-suivant", "Les occupants").await;

    browser
        .type_into("#composition_logement_nombre_personnes", "2")
        .await;
    browser
        .type_into("#composition_logement_nombre_enfants", "0")
        .await;
    browser
        .type_into("#bail_dpe_date_emmenagement", "01052020")
        .await;
    browser.click("label[for='bail_dpe_bail-oui']").await;
    browser
        .click("label[for='bail_dpe_etat_des_lieux-non']")
        .await;
    browser.click("label[for='bail_dpe_dpe-nsp']").await;
    browser.screenshot(&shot("07-composition")).await;
    click_then_wait(&browser, "#bouton-suivant", "La situation du foyer").await;

    browser
        .click("label[for='logement_social_demande_relogement-non']")
        .await;
    browser
        .click("label[for='logement_social_allocation-non']")
        .await;
    browser
        .click("label[for='travailleur_social_quitte_logement-non']")
        .await;
    browser
        .click("label[for='travailleur_social_accompagnement-non']")
        .await;
    browser.screenshot(&shot("08-situation")).await;
    click_then_wait(
        &browser,
        "#bouton-suivant",
        "Les problèmes dans le logement",
    )
    .await;

    browser
        .click("label[for='desordres_logement_humidite']")
        .await;
    browser
        .click("label[for='desordres_logement_humidite_tout']")
        .await;
    browser
        .click("label[for='desordres_logement_humidite_tout_details_fuite-non']")
        .await;
    browser
        .click("label[for='desordres_logement_humidite_tout_details_machine-non']")
        .await;
    browser
        .click(
            "label[for='desordres_logement_humidite_tout_details_moisissure_apres_nettoyage-oui']",
        )
        .await;
    let photo = std::env::temp_dir().join(format!("moisissure-{}.png", uuid::Uuid::new_v4()));
    std::fs::write(&photo, png()).unwrap();
    browser
        .type_into(
            "#desordres_logement_humidite_photos_upload",
            photo.to_str().unwrap(),
        )
        .await;
    browser.screenshot(&shot("09-desordres")).await;
    click_then_wait(&browser, "#bouton-suivant", "Démarches").await;

    browser
        .click("label[for='info_procedure_assurance_contactee-non']")
        .await;
    browser
        .click("label[for='info_procedure_depart_apres_travaux-oui']")
        .await;
    for consent in [
        "utilisation_service_ok_prevenir_bailleur",
        "utilisation_service_ok_visite",
        "utilisation_service_ok_demande_logement",
        "utilisation_service_ok_donnees_sante",
        "utilisation_service_ok_cgu",
    ] {
        browser.click(&format!("label[for='{consent}']")).await;
    }
    browser.screenshot(&shot("10-procedure")).await;
    click_then_wait(&browser, "#bouton-suivant", "Informations complémentaires").await;
    browser
        .type_into(
            "#informations_complementaires_logement_annee_construction",
            "1965",
        )
        .await;
    browser.screenshot(&shot("10b-complements")).await;
    click_then_wait(&browser, "#bouton-suivant", "Récapitulatif").await;

    assert!(browser.title().await.starts_with("Récapitulatif"));
    browser.screenshot(&shot("11-recapitulatif")).await;
    click_then_wait(&browser, "#bouton-envoyer", "Signalement envoyé").await;
    let reference = browser.text_of("#reference").await;
    assert!(reference.ends_with("-1"), "{reference}");
    browser.screenshot(&shot("12-confirmation")).await;
    assert_eq!(
        scalar(&app, "SELECT COUNT(*) FROM documents WHERE kind = 'photo'").await,
        1
    );

    click_then_wait(&browser, "#lien-suivi", "Accéder à mon signalement").await;
    browser.type_into("#initiale_prenom", "c").await;
    browser.type_into("#initiale_nom", "D").await;
    browser.type_into("#code_postal", "13100").await;
    browser.screenshot(&shot("13-verification")).await;
    click_then_wait(&browser, "#bouton-acceder", "Signalement ").await;
    assert_eq!(browser.text_of("#reference").await, reference);
    browser
        .type_into("#message", "Les moisissures reviennent dans la chambre.")
        .await;
    browser.screenshot(&shot("14-suivi")).await;
    click_then_wait(&browser, "#bouton-message", "C’est transmis").await;
    assert!(
        browser
            .text_of("#confirmation")
            .await
            .contains("message a été envoyé")
    );
    assert!(
        browser
            .text_of("#suivi")
            .await
            .contains("Les moisissures reviennent")
    );
    browser.screenshot(&shot("15-message-envoye")).await;
    browser.quit().await;
    let _ = std::fs::remove_file(photo);
}
