//! The resident's full space (issue 17): correcting the case with the
//! public form's rules, the one message after closure, and their refusals.

use reqwest::StatusCode;

use crate::common::TestApp;
use crate::report_form::{Visitor, file_tenant_report, scalar, text};

const RESIDENT: &str = "locataire@exemple.fr";
const ADMIN_13: &str = "rt13@histologe.localhost";

/// A resident's report in territory 13 (demo accounts loaded), the resident
/// checked in on its follow-up space; returns the report's uuid too.
pub async fn resident_with_report() -> (TestApp, Visitor, String, String) {
    let app = TestApp::spawn_with_accounts().await;
    let (visitor, path) = file_tenant_report(&app, RESIDENT).await;
    let page = visitor
        .post(
            &path,
            &[
                ("initiale_prenom", "c"),
                ("initiale_nom", "d"),
                ("code_postal", "13100"),
            ],
        )
        .await;
    assert_eq!(page.status, StatusCode::SEE_OTHER, "identity check");
    let uuid = text(&app, "SELECT uuid FROM reports").await;
    (app, visitor, path, uuid)
}

/// What a browser would send back from a form as shown: every text input's
/// value and the checked radios (the few entities askama writes undone).
pub fn form_values(html: &str) -> Vec<(String, String)> {
    let attr = |tag: &str, name: &str| -> Option<String> {
        let start = tag.find(&format!(" {name}=\""))? + name.len() + 3;
        let end = tag[start..].find('"')? + start;
        Some(
            tag[start..end]
                .replace("&#43;", "+")
                .replace("&#39;", "'")
                .replace("&#34;", "\"")
                .replace("&#60;", "<")
                .replace("&#62;", ">")
                .replace("&#38;", "&"),
        )
    };
    let mut out = Vec::new();
    for piece in html.split("<input").skip(1) {
        let tag = &piece[..piece.find('>').unwrap_or(piece.len())];
        let Some(name) = attr(tag, "name") else {
            continue;
        };
        if name == "_csrf" || attr(tag, "type").as_deref() == Some("file") {
            continue;
        }
        if attr(tag, "type").as_deref() == Some("radio") && !tag.contains(" checked") {
            continue;
        }
        out.push((name, attr(tag, "value").unwrap_or_default()));
    }
    out
}

fn with(fields: &[(String, String)], changes: &[(&str, &str)]) -> Vec<(String, String)> {
    let mut out: Vec<(String, String)> = fields
        .iter()
        .filter(|(k, _)| !changes.iter().any(|(c, _)| c == k))
        .cloned()
        .collect();
    out.extend(
        changes
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned())),
    );
    out
}

async fn post_owned(
    v: &Visitor,
    path: &str,
    fields: &[(String, String)],
) -> crate::report_form::Page {
    let borrowed: Vec<(&str, &str)> = fields
        .iter()
        .map(|(k, v)| (k.as_str(), v.as_str()))
        .collect();
    v.post(path, &borrowed).await
}

#[tokio::test]
async fn the_resident_corrects_contact_household_and_landlord_and_partners_see_what_changed() {
    let (app, v, path, uuid) = resident_with_report().await;
    let edit = format!("{path}/modifier");

    let space = v.get(&path).await;
    assert!(space.html.contains(&edit), "the space links to the form");
    let page = v.get(&edit).await;
    assert_eq!(page.status, 200);
    for prefilled in [
        "Durand",
        "Camille",
        "+33612345678",
        "SCI Les Lilas",
        "bailleur@exemple.fr",
    ] {
        assert!(page.html.contains(prefilled), "{prefilled} is prefilled");
    }
    assert!(
        page.html
            .contains("Combien de personnes vivent dans le logement ?")
    );
    let shown = form_values(&page.html);

    // The public form's rules and messages; what was typed is kept.
    let refused = post_owned(
        &v,
        &edit,
        &with(
            &shown,
            &[
                ("vos_coordonnees_occupant_tel", "12 34"),
                ("composition_logement_nombre_enfants", "9"),
                ("coordonnees_bailleur_email", "pas-un-courriel"),
            ],
        ),
    )
    .await;
    assert_eq!(refused.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(
        refused.html.contains("3 réponses à corriger"),
        "{}",
        refused.html
    );
    assert!(
        refused
            .html
            .contains("Il ne peut pas y avoir plus d’enfants que de personnes.")
    );
    assert!(refused.html.contains("value=\"pas-un-courriel\""));
    assert_eq!(
        scalar(
            &app,
            "SELECT COUNT(*) FROM follow_ups WHERE category = 'modification_usager'"
        )
        .await,
        0
    );

    // A valid correction.
    let saved = post_owned(
        &v,
        &edit,
        &with(
            &shown,
            &[
                ("vos_coordonnees_occupant_tel", "07 98 76 54 32"),
                ("composition_logement_nombre_personnes", "4"),
                ("coordonnees_bailleur_prenom", "Jean"),
            ],
        ),
    )
    .await;
    assert_eq!(saved.status, StatusCode::SEE_OTHER, "{}", saved.html);
    assert_eq!(saved.location, format!("{path}?ok=modification"));
    let space = v.get(&saved.location).await;
    assert!(space.html.contains("Vos corrections ont été enregistrées"));
    assert_eq!(
        text(&app, "SELECT CONCAT(declarant_phone, ' ', occupant_phone, ' ', dwelling_occupants_count, ' ', landlord_first_name) FROM reports").await,
        "+33798765432 +33798765432 4 Jean"
    );
    assert_eq!(
        scalar(&app, "SELECT COUNT(*) FROM audit_events WHERE action = 'resident_edit' AND actor_user_id IS NULL AND JSON_UNQUOTE(JSON_EXTRACT(diff, '$.dwelling_occupants_count[1]')) = '4'").await,
        1
    );

    // The partners read what changed, old → new, on the case page.
    let admin = app.as_another_user();
    admin.login_as(ADMIN_13).await;
    let (status, case_page) = admin.get_html(&format!("/bo/signalements/{uuid}")).await;
    assert_eq!(status, 200);
    assert!(
        case_page
            .contains("Les occupants – Combien de personnes vivent dans le logement ? : 3 → 4"),
        "{case_page}"
    );
    assert!(
        case_page.contains("Vos coordonnées – Numéro de téléphone : +33612345678 → +33798765432")
    );
    assert!(case_page.contains("Le bailleur – Prénom du bailleur : (vide) → Jean"));

    // The same form again changes nothing; a form built before the change
    // is refused (409) and writes nothing.
    let again = v.get(&edit).await;
    let unchanged = post_owned(&v, &edit, &form_values(&again.html)).await;
    assert_eq!(unchanged.location, format!("{path}?ok=inchange"));
    let stale = post_owned(
        &v,
        &edit,
        &with(&shown, &[("composition_logement_nombre_personnes", "5")]),
    )
    .await;
    assert_eq!(stale.status, StatusCode::CONFLICT);
    assert!(
        stale
            .html
            .contains("Le signalement a changé pendant que vous le corrigiez")
    );
    assert_eq!(
        scalar(
            &app,
            "SELECT CAST(dwelling_occupants_count AS SIGNED) FROM reports"
        )
        .await,
        4
    );
}

#[tokio::test]
async fn corrections_need_the_check_and_an_open_case() {
    let (app, v, path, _) = resident_with_report().await;
    let edit = format!("{path}/modifier");
    let shown = form_values(&v.get(&edit).await.html);

    // Someone with the link but without the check.
    let stranger = Visitor::new(&app).await;
    let page = stranger.get(&edit).await;
    assert_eq!(page.status, StatusCode::SEE_OTHER);
    assert_eq!(page.location, path);
    let page = post_owned(&stranger, &edit, &shown).await;
    assert_eq!(page.status, StatusCode::FORBIDDEN);
    assert!(page.html.contains("Accès refusé"), "{}", page.html);

    // A closed case is no longer corrected.
    sqlx::query("UPDATE reports SET status = 'closed', closed_at = UTC_TIMESTAMP()")
        .execute(&app.db)
        .await
        .unwrap();
    assert_eq!(v.get(&edit).await.status, StatusCode::FORBIDDEN);
    let page = post_owned(
        &v,
        &edit,
        &with(&shown, &[("composition_logement_nombre_personnes", "5")]),
    )
    .await;
    assert_eq!(page.status, StatusCode::FORBIDDEN);
    assert!(!v.get(&path).await.html.contains(&edit));
    assert_eq!(
        scalar(
            &app,
            "SELECT CAST(dwelling_occupants_count AS SIGNED) FROM reports"
        )
        .await,
        3
    );
}

#[tokio::test]
async fn one_message_is_allowed_within_30_days_after_closure_and_reopens_nothing() {
    let (app, v, path, _) = resident_with_report().await;
    sqlx::query(
        "UPDATE reports SET status = 'closed', closed_at = UTC_TIMESTAMP() - INTERVAL 3 DAY",
    )
    .execute(&app.db)
    .await
    .unwrap();
    let space = v.get(&path).await;
    assert!(
        space.html.contains("id=\"message-apres-cloture\""),
        "{}",
        space.html
    );
    assert!(space.html.contains("Envoyer le message"));

    let sent = v
        .post_files(
            &format!("{path}/messages"),
            &[("message", "Les travaux n’ont finalement pas été faits.")],
            &[],
        )
        .await;
    assert_eq!(sent.status, StatusCode::SEE_OTHER, "{}", sent.html);
    assert_eq!(
        scalar(&app, "SELECT COUNT(*) FROM follow_ups WHERE category = 'message_usager_apres_cloture' AND author_kind = 'resident'").await,
        1
    );
    assert_eq!(
        text(&app, "SELECT status FROM reports").await,
        "closed",
        "the message reopens nothing"
    );
    assert!(
        app.pending_jobs()
            .await
            .iter()
            .any(|j| j["template"] == "resident_message" && j["to"] == ADMIN_13),
        "the territory admins are told"
    );

    // Then the form says why it is closed, and a second message is refused.
    let space = v.get(&path).await;
    assert!(!space.html.contains("Envoyer le message"));
    assert!(
        space
            .html
            .contains("Vous avez déjà envoyé le message possible après la clôture")
    );
    let second = v
        .post_files(&format!("{path}/messages"), &[("message", "Encore")], &[])
        .await;
    assert_eq!(second.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(second.html.contains("déjà envoyé"));

    // More than 30 days after closure: no message at all.
    sqlx::query("DELETE FROM follow_ups WHERE category = 'message_usager_apres_cloture'")
        .execute(&app.db)
        .await
        .unwrap();
    sqlx::query("UPDATE reports SET closed_at = UTC_TIMESTAMP() - INTERVAL 31 DAY")
        .execute(&app.db)
        .await
        .unwrap();
    let space = v.get(&path).await;
    assert!(space.html.contains("clôturé depuis plus de 30 jours"));
    assert!(!space.html.contains("Envoyer le message"));
    let late = v
        .post_files(&format!("{path}/messages"), &[("message", "Bonjour")], &[])
        .await;
    assert_eq!(late.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(
        scalar(&app, "SELECT COUNT(*) FROM follow_ups f JOIN reports r ON r.id = f.report_id WHERE f.author_kind = 'resident' AND f.created_at > r.closed_at").await,
        0
    );
}

#[tokio::test]
async fn the_resident_invites_a_social_worker_who_opens_the_case_with_their_own_link_until_revoked()
{
    let (app, v, path, uuid) = resident_with_report().await;
    let invitations = format!("{path}/invitations");

    // The form's rules, in French.
    let refused = v
        .post(
            &invitations,
            &[
                ("nom", ""),
                ("courriel", "pas-un-courriel"),
                ("lien", "cousin"),
            ],
        )
        .await;
    assert_eq!(refused.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(
        refused
            .html
            .contains("Indiquez le nom de la personne invitée.")
    );
    assert!(
        refused
            .html
            .contains("Choisissez le lien de cette personne avec vous.")
    );
    assert!(refused.html.contains("value=\"pas-un-courriel\""));

    let sent = v
        .post(
            &invitations,
            &[
                ("nom", "Alice Martin"),
                ("courriel", "Alice@CCAS.fr"),
                ("lien", "travailleur_social"),
            ],
        )
        .await;
    assert_eq!(sent.status, StatusCode::SEE_OTHER, "{}", sent.html);
    let space = v.get(&sent.location).await;
    assert!(space.html.contains("L’invitation a été envoyée"));
    assert!(
        space
            .html
            .contains("Alice Martin – Travailleur social – alice@ccas.fr")
    );
    let jobs = app.pending_jobs().await;
    let mail = jobs
        .iter()
        .find(|j| j["template"] == "guest_invitation" && j["to"] == "alice@ccas.fr")
        .expect("the guest gets their link");
    let link = mail["link"].as_str().expect("a link").to_owned();
    let guest_path = &link[link.find("/invitation/").expect("the guest's link")..];
    let token = &guest_path["/invitation/".len()..];
    assert_eq!(
        scalar(&app, &format!("SELECT COUNT(*) FROM invitations WHERE token_hash = SHA2('{token}', 256) AND token_hash <> '{token}'")).await,
        1,
        "only the token's hash is stored"
    );

    // The partners see who was invited on the case page.
    let admin = app.as_another_user();
    admin.login_as(ADMIN_13).await;
    let (_, case_page) = admin.get_html(&format!("/bo/signalements/{uuid}")).await;
    assert!(
        case_page.contains("L’usager a invité Alice Martin (Travailleur social, alice@ccas.fr)")
    );

    // The guest opens the case with their own link, reads it and writes;
    // the invitations are not theirs to manage.
    let guest = Visitor::new(&app).await;
    let opened = guest.get(guest_path).await;
    assert_eq!(opened.status, StatusCode::SEE_OTHER);
    assert_eq!(opened.location, path);
    let seen = guest.get(&path).await;
    assert_eq!(seen.status, 200);
    assert!(
        seen.html
            .contains("en tant que personne invitée (Alice Martin)")
    );
    assert!(
        seen.html
            .contains("Signalement déposé depuis le formulaire")
    );
    assert!(!seen.html.contains("Inviter cette personne"));
    // A message refused (empty) shows the guest's page again, still
    // without the resident's list of invited people.
    let short = guest
        .post_files(&format!("{path}/messages"), &[("message", "  ")], &[])
        .await;
    assert_eq!(short.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(
        short
            .html
            .contains("en tant que personne invitée (Alice Martin)")
    );
    assert!(
        !short
            .html
            .contains("Alice Martin – Travailleur social – alice@ccas.fr")
    );
    let wrote = guest
        .post_files(
            &format!("{path}/messages"),
            &[("message", "Je suis l’assistante sociale de Mme Durand.")],
            &[],
        )
        .await;
    assert_eq!(wrote.status, StatusCode::SEE_OTHER, "{}", wrote.html);
    assert!(
        text(
            &app,
            "SELECT body FROM follow_ups WHERE category = 'message_usager' ORDER BY id DESC LIMIT 1"
        )
        .await
        .starts_with("Message de Alice Martin (Travailleur social), invité par l’usager :")
    );
    let id = scalar(&app, "SELECT CAST(id AS SIGNED) FROM invitations").await;
    let revoke = format!("{invitations}/{id}/revoquer");
    assert_eq!(
        guest
            .post(
                &invitations,
                &[
                    ("nom", "X"),
                    ("courriel", "x@exemple.fr"),
                    ("lien", "proche")
                ]
            )
            .await
            .status,
        StatusCode::FORBIDDEN
    );
    assert_eq!(guest.post(&revoke, &[]).await.status, StatusCode::FORBIDDEN);

    // The resident revokes: the guest's session and link open nothing.
    let revoked = v.post(&revoke, &[]).await;
    assert_eq!(revoked.status, StatusCode::SEE_OTHER);
    assert!(
        v.get(&revoked.location)
            .await
            .html
            .contains("Personne n’est invité")
    );
    assert!(
        guest
            .get(&path)
            .await
            .html
            .contains("Première lettre du prénom")
    );
    assert_eq!(
        guest
            .post_files(
                &format!("{path}/messages"),
                &[("message", "Encore moi")],
                &[]
            )
            .await
            .status,
        StatusCode::FORBIDDEN
    );
    assert_eq!(
        Visitor::new(&app).await.get(guest_path).await.status,
        StatusCode::NOT_FOUND
    );
    assert_eq!(v.post(&revoke, &[]).await.status, StatusCode::NOT_FOUND);
    assert_eq!(
        v.get("/invitation/pas-un-jeton").await.status,
        StatusCode::NOT_FOUND
    );
    assert_eq!(
        scalar(
            &app,
            "SELECT COUNT(*) FROM follow_ups WHERE category = 'invitation_tiers_retiree'"
        )
        .await,
        1
    );
}

#[tokio::test]
async fn a_new_email_address_applies_only_once_its_link_is_opened_and_the_old_one_is_told() {
    let (app, v, path, _) = resident_with_report().await;
    let change = format!("{path}/courriel");
    let refused = v
        .post(&change, &[("nouveau_courriel", "pas-un-courriel")])
        .await;
    assert_eq!(refused.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(
        refused.html.contains("adresse électronique valide"),
        "{}",
        refused.html
    );
    let same = v.post(&change, &[("nouveau_courriel", RESIDENT)]).await;
    assert!(
        same.html
            .contains("C’est déjà l’adresse électronique enregistrée.")
    );

    let asked = v
        .post(&change, &[("nouveau_courriel", "Nouvelle@Exemple.fr")])
        .await;
    assert_eq!(asked.status, StatusCode::SEE_OTHER, "{}", asked.html);
    assert_eq!(
        text(&app, "SELECT declarant_email FROM reports").await,
        RESIDENT,
        "nothing changes before the link is opened"
    );
    let jobs = app.pending_jobs().await;
    let link = jobs
        .iter()
        .find(|j| j["template"] == "email_change_confirmation" && j["to"] == "nouvelle@exemple.fr")
        .and_then(|j| j["link"].as_str())
        .expect("the new address gets the link")
        .to_owned();
    let confirm = &link[link
        .find("/confirmer-courriel/")
        .expect("a confirmation link")..];

    // Anyone with the link confirms (it went to the new address), once.
    let opener = Visitor::new(&app).await;
    let opened = opener.get(confirm).await;
    assert_eq!(opened.status, StatusCode::SEE_OTHER);
    assert_eq!(
        text(
            &app,
            "SELECT CONCAT(declarant_email, ' ', occupant_email) FROM reports"
        )
        .await,
        "nouvelle@exemple.fr nouvelle@exemple.fr",
        "a tenant's address is both"
    );
    assert!(
        app.pending_jobs()
            .await
            .iter()
            .any(|j| j["template"] == "email_change_notice" && j["to"] == RESIDENT),
        "the old address is told"
    );
    assert_eq!(
        scalar(&app, "SELECT COUNT(*) FROM follow_ups WHERE category = 'modification_courriel_usager' AND body LIKE '%locataire@exemple.fr → nouvelle@exemple.fr%'").await,
        1
    );
    assert_eq!(
        opener.get(confirm).await.status,
        StatusCode::NOT_FOUND,
        "used"
    );

    // An expired link changes nothing; a guest cannot ask.
    v.post(&change, &[("nouveau_courriel", "troisieme@exemple.fr")])
        .await;
    sqlx::query("UPDATE email_changes SET expires_at = UTC_TIMESTAMP() - INTERVAL 1 MINUTE WHERE used_at IS NULL")
        .execute(&app.db)
        .await
        .unwrap();
    let link = app
        .pending_jobs()
        .await
        .iter()
        .find(|j| j["template"] == "email_change_confirmation" && j["to"] == "troisieme@exemple.fr")
        .and_then(|j| j["link"].as_str().map(str::to_owned))
        .expect("a second link");
    let expired = opener
        .get(&link[link.find("/confirmer-courriel/").unwrap()..])
        .await;
    assert_eq!(expired.status, StatusCode::BAD_REQUEST);
    assert!(expired.html.contains("Ce lien de confirmation a expiré"));
    assert_eq!(
        text(&app, "SELECT declarant_email FROM reports").await,
        "nouvelle@exemple.fr"
    );
    assert_eq!(
        Visitor::new(&app)
            .await
            .post(&change, &[("nouveau_courriel", "x@exemple.fr")])
            .await
            .status,
        StatusCode::FORBIDDEN
    );
}
