//! One scoring path (docs/scoring.md §2.7): a report filed through the public
//! form, then edited in the back office, keeps the score and qualifications
//! its stored facts give; an edit changes exactly what the rules say.

use crate::{
    common::TestApp,
    report_form::{Visitor, errors_of, submit},
};

const RT13: &str = "rt13@histologe.localhost";

/// A tenant's report built to exercise every scoring input:
/// - building: load-bearing wall cracked (6) and roof elements (4): ΣB = 10;
/// - dwelling: humidity with a leak (0, ASSURANTIEL), washing machine (2),
///   mould back after cleaning (5), hard-to-heat living room (0.5,
///   NON_DECENCE_ENERGETIQUE): ΣL = 7.5;
/// - insurer contacted `oui` (so no ASSURANTIEL suspicion), no DPE (so
///   energy non-decency is confirmed), 3 occupants receiving housing
///   allowance in 20 m² (overcrowded: 25 m² needed), no child under 6.
async fn file_report(app: &TestApp) -> u64 {
    let v = Visitor::new(app).await;
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
            ("vos_coordonnees_occupant_email", "camille@exemple.fr"),
            ("vos_coordonnees_occupant_tel", "06 12 34 56 78"),
        ],
    )
    .await;
    v.step(
        &uuid,
        "bailleur",
        &[
            ("coordonnees_bailleur_nom", "SCI Les Lilas"),
            ("info_procedure_bailleur_prevenu", "non"),
        ],
    )
    .await;
    v.step(
        &uuid,
        "logement",
        &[
            ("zone_concernee_zone", "batiment_logement"),
            ("zone_concernee_debut_desordres", "months_1_to_6"),
            ("zone_concernee_constatation_desordres", "oui"),
            ("type_logement_nature", "appartement"),
            ("type_logement_rdc", "non"),
            ("type_logement_dernier_etage", "non"),
            ("type_logement_sous_sol_sans_fenetre", "non"),
            ("composition_logement_piece_unique", "plusieurs_pieces"),
            ("composition_logement_superficie", "20"),
            ("composition_logement_nb_pieces", "2"),
            ("type_logement_commodites_piece_a_vivre_9m", "oui"),
            ("type_logement_commodites_cuisine", "oui"),
            ("type_logement_commodites_salle_de_bain", "oui"),
            ("type_logement_commodites_wc", "oui"),
            ("type_logement_commodites_wc_cuisine", "non"),
        ],
    )
    .await;
    v.step(
        &uuid,
        "composition",
        &[
            ("composition_logement_nombre_personnes", "3"),
            ("composition_logement_nombre_enfants", "1"),
            ("composition_logement_enfants", "non"),
            ("bail_dpe_date_emmenagement", "2020-05-01"),
            ("bail_dpe_bail", "oui"),
            ("bail_dpe_etat_des_lieux", "oui"),
            ("bail_dpe_dpe", "non"),
        ],
    )
    .await;
    v.step(
        &uuid,
        "situation",
        &[
            ("logement_social_demande_relogement", "non"),
            ("logement_social_allocation", "oui"),
            ("logement_social_allocation_caisse", "caf"),
            ("logement_social_date_naissance", "1985-04-12"),
            ("travailleur_social_quitte_logement", "non"),
            ("travailleur_social_accompagnement", "non"),
        ],
    )
    .await;
    v.step(
        &uuid,
        "desordres-batiment",
        &[
            ("desordres_batiment_securite", "1"),
            ("desordres_batiment_securite_murs_fissures", "1"),
            (
                "desordres_batiment_securite_murs_fissures_details_mur_porteur",
                "oui",
            ),
            ("desordres_batiment_securite_elements_toit", "1"),
        ],
    )
    .await;
    v.step(
        &uuid,
        "desordres-logement",
        &[
            ("desordres_logement_humidite", "1"),
            ("desordres_logement_humidite_piece_a_vivre", "1"),
            (
                "desordres_logement_humidite_piece_a_vivre_details_fuite",
                "oui",
            ),
            (
                "desordres_logement_humidite_piece_a_vivre_details_machine",
                "non",
            ),
            (
                "desordres_logement_humidite_piece_a_vivre_details_moisissure_apres_nettoyage",
                "oui",
            ),
            ("desordres_logement_chauffage", "1"),
            (
                "desordres_logement_chauffage_details_difficultes_chauffage",
                "1",
            ),
            (
                "desordres_logement_chauffage_details_difficultes_chauffage_pieces_piece_a_vivre",
                "1",
            ),
        ],
    )
    .await;
    let mut procedure = vec![
        ("info_procedure_assurance_contactee", "oui"),
        ("info_procedure_reponse_assurance", "Pas de réponse"),
        ("info_procedure_depart_apres_travaux", "oui"),
    ];
    for consent in [
        "utilisation_service_ok_prevenir_bailleur",
        "utilisation_service_ok_visite",
        "utilisation_service_ok_demande_logement",
        "utilisation_service_ok_signalement_tiers",
        "utilisation_service_ok_donnees_sante",
        "utilisation_service_ok_cgu",
    ] {
        procedure.push((consent, "1"));
    }
    v.step(&uuid, "procedure", &procedure).await;
    v.step(&uuid, "complements", &[]).await;
    let confirmation = submit(&v, &uuid).await;
    assert_eq!(
        confirmation.status,
        200,
        "{}",
        errors_of(&confirmation.html)
    );
    sqlx::query_scalar("SELECT id FROM reports WHERE occupant_email = 'camille@exemple.fr'")
        .fetch_one(&app.db)
        .await
        .expect("the report is stored")
}

/// What scoring stored for a report.
#[derive(Debug, PartialEq)]
struct Stored {
    raw: f64,
    rounded: String,
    /// (qualification, status, linked precisions), sorted.
    qualifications: Vec<(String, String, String)>,
    defects: Vec<String>,
}

async fn stored(app: &TestApp, report: u64) -> Stored {
    let (raw, rounded): (f64, String) = sqlx::query_as(
        "SELECT severity_score_raw, CAST(severity_score AS CHAR) FROM reports WHERE id = ?",
    )
    .bind(report)
    .fetch_one(&app.db)
    .await
    .unwrap();
    let qualifications = sqlx::query_as(
        "SELECT qualification, status, CAST(precision_codes AS CHAR) FROM report_qualifications
         WHERE report_id = ? ORDER BY qualification, status",
    )
    .bind(report)
    .fetch_all(&app.db)
    .await
    .unwrap();
    let defects = sqlx::query_scalar(
        "SELECT p.code FROM report_defects d JOIN defect_precisions p ON p.id = d.precision_id
         WHERE d.report_id = ? ORDER BY p.code",
    )
    .bind(report)
    .fetch_all(&app.db)
    .await
    .unwrap();
    Stored {
        raw,
        rounded,
        qualifications,
        defects,
    }
}

fn statuses(s: &Stored) -> Vec<&str> {
    s.qualifications
        .iter()
        .map(|(_, st, _)| st.as_str())
        .collect()
}

/// The edit page's current values, as a user's browser would send them back.
async fn edit_form(app: &TestApp, uuid: &str) -> Vec<(String, String)> {
    let (status, html) = app
        .get_html(&format!("/bo/signalements/{uuid}/modifier"))
        .await;
    assert_eq!(status, 200);
    let unescape = |v: &str| {
        v.replace("&#39;", "'")
            .replace("&#x27;", "'")
            .replace("&quot;", "\"")
            .replace("&#34;", "\"")
            .replace("&amp;", "&")
    };
    let attr = |tag: &str, name: &str| {
        let key = format!(" {name}=\"");
        let start = tag.find(&key)? + key.len();
        Some(unescape(&tag[start..start + tag[start..].find('"')?]))
    };
    let mut out = Vec::new();
    for tag in html.split("<input").skip(1) {
        let tag = &tag[..tag.find('>').unwrap_or(tag.len())];
        let (Some(name), Some(value)) = (attr(tag, "name"), attr(tag, "value")) else {
            continue;
        };
        if name == "_csrf" || (tag.contains("type=\"radio\"") && !tag.contains(" checked")) {
            continue;
        }
        out.push((name, value));
    }
    out
}

async fn save(app: &TestApp, uuid: &str, fields: &[(String, String)]) {
    let borrowed: Vec<(&str, &str)> = fields
        .iter()
        .map(|(k, v)| (k.as_str(), v.as_str()))
        .collect();
    let response = app
        .post_form(&format!("/bo/signalements/{uuid}/modifier"), &borrowed)
        .await;
    assert_eq!(
        response.status(),
        303,
        "{}",
        errors_of(&response.text().await.unwrap_or_default())
    );
}

fn set(fields: &mut [(String, String)], name: &str, value: &str) {
    let field = fields
        .iter_mut()
        .find(|(k, _)| k == name)
        .unwrap_or_else(|| panic!("no field {name}"));
    field.1 = value.to_owned();
}

const OVERCROWDED: &str = "desordres_type_composition_logement_suroccupation_allocataire";

#[tokio::test]
async fn back_office_edits_score_the_report_from_all_its_stored_facts() {
    let app = TestApp::spawn_with_accounts().await;
    let report = file_report(&app).await;
    let uuid: String = sqlx::query_scalar("SELECT uuid FROM reports WHERE id = ?")
        .bind(report)
        .fetch_one(&app.db)
        .await
        .unwrap();

    // docs/scoring.md §1.2: sB = 10 / 84 × 100, sL = 7.5 / 102 × 100, mean.
    let s = (10.0 / 84.0 * 100.0 + 7.5 / 102.0 * 100.0) / 2.0;
    let filed = stored(&app, report).await;
    assert_eq!(filed.raw, s);
    assert_eq!(filed.rounded, "9.63");
    // Band A (§2.2): no INSALUBRITE without an is_insalubrite precision, no
    // ASSURANTIEL since the insurer was contacted; overcrowded (§2.4),
    // danger (§2.3), NDE confirmed without a DPE (§2.5 rule 2).
    assert_eq!(
        statuses(&filed),
        [
            "danger_check",
            "non_decence_check",
            "nde_averee",
            "rsd_check",
            "suroccupation_check"
        ]
    );
    assert!(filed.defects.iter().any(|d| d == OVERCROWDED));

    app.login_as(RT13).await;

    // 1. A phone number is no scoring input: nothing changes, to the bit.
    let mut fields = edit_form(&app, &uuid).await;
    set(&mut fields, "occupant_phone", "07 98 76 54 32");
    save(&app, &uuid, &fields).await;
    let phone: String = sqlx::query_scalar("SELECT occupant_phone FROM reports WHERE id = ?")
        .bind(report)
        .fetch_one(&app.db)
        .await
        .unwrap();
    assert!(phone.contains("98"), "the phone is saved: {phone}");
    assert_eq!(stored(&app, report).await, filed);

    // 2. A child under 6: × 1.1 (§1.2 step 4), 10.59 moves the report to
    // band B (§2.2): INSALUBRITE_MANQUEMENT (no is_insalubrite precision),
    // linked to the INSALUBRITE-tagged overcrowding precision. The rest
    // stays.
    let mut fields = edit_form(&app, &uuid).await;
    set(&mut fields, "dwelling_children_under_6", "oui");
    save(&app, &uuid, &fields).await;
    let with_child = stored(&app, report).await;
    assert_eq!(with_child.raw, s * 1.1);
    assert_eq!(with_child.rounded, "10.59");
    assert_eq!(
        statuses(&with_child),
        [
            "danger_check",
            "insalubrite_manquement_check",
            "non_decence_check",
            "nde_averee",
            "rsd_check",
            "suroccupation_check"
        ]
    );
    let insalubrite = &with_child.qualifications[1];
    assert_eq!(insalubrite.2, format!("[\"{OVERCROWDED}\"]"));
    assert_eq!(with_child.defects, filed.defects);

    // 3. 30 m² is enough room for three (25 m², §2.4): the overcrowding
    // precision goes, and with it SUROCCUPATION and the INSALUBRITE link.
    let mut fields = edit_form(&app, &uuid).await;
    set(&mut fields, "dwelling_surface", "30");
    save(&app, &uuid, &fields).await;
    let roomy = stored(&app, report).await;
    assert_eq!(roomy.raw, s * 1.1);
    assert!(!roomy.defects.iter().any(|d| d == OVERCROWDED));
    assert_eq!(roomy.defects.len(), filed.defects.len() - 1);
    assert_eq!(
        statuses(&roomy),
        [
            "danger_check",
            "insalubrite_manquement_check",
            "non_decence_check",
            "nde_averee",
            "rsd_check"
        ]
    );
    assert_eq!(roomy.qualifications[1].2, "[]");
}
