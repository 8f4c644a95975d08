//! Importing a prefecture's register of orders (docs/arretes.md §6): dry
//! run with line-by-line errors and nothing written, confirm writing only
//! the valid lines, idempotent re-import, Windows-1252, size limit.

use crate::common::{TestApp, cases::CaseBuilder};

const RT69: &str = "rt69@histologe.localhost";
const AGENT_SCHS69: &str = "agent.schs69@histologe.localhost";

const HEADER: &str = "date arrêté;numéro arrêté;classification arrêté;date arrêté main levée;numéro de voie;nom de la voie;code postal;commune";

async fn territory_69(app: &TestApp) -> String {
    let id: u32 = sqlx::query_scalar("SELECT id FROM territories WHERE code = '69A'")
        .fetch_one(&app.db)
        .await
        .expect("69A");
    id.to_string()
}

/// The dry run: uploads `bytes` as the register of 69A.
async fn dry_run(app: &TestApp, territory: &str, bytes: Vec<u8>) -> (u16, String) {
    let token = app.csrf().await;
    let form = reqwest::multipart::Form::new()
        .text("territory_id", territory.to_owned())
        .part(
            "fichier",
            reqwest::multipart::Part::bytes(bytes)
                .file_name("registre.csv")
                .mime_str("text/csv")
                .unwrap(),
        );
    let response = app
        .client
        .post(app.url(&format!("/bo/arretes/import?_csrf={token}")))
        .multipart(form)
        .send()
        .await
        .expect("upload");
    let status = response.status().as_u16();
    (status, response.text().await.unwrap())
}

/// The value of the hidden `csv` field of the dry-run page, unescaped.
fn carried_csv(html: &str) -> String {
    let start = html.find("name=\"csv\" value=\"").expect("csv field") + 18;
    let raw = &html[start..start + html[start..].find('"').unwrap()];
    raw.replace("&#10;", "\n")
        .replace("&#13;", "\r")
        .replace("&quot;", "\"")
        .replace("&#34;", "\"")
        .replace("&#39;", "'")
        .replace("&#x27;", "'")
        .replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&amp;", "&")
}

async fn count(app: &TestApp) -> i64 {
    sqlx::query_scalar("SELECT COUNT(*) FROM arretes")
        .fetch_one(&app.db)
        .await
        .unwrap()
}

#[tokio::test]
async fn a_register_with_bad_lines_is_simulated_then_only_its_valid_lines_are_written_once() {
    let app = TestApp::spawn_with_accounts().await;
    let case = CaseBuilder::new("69A")
        .status("active")
        .street("12 rue X")
        .create(&app)
        .await;
    let territory = territory_69(&app).await;
    app.login_as(RT69).await;
    let register = format!(
        "{HEADER}\n\
         01/02/2026;AP-1;Insalubrité;;12;Rue X;69003;Lyon\n\
         31/02/2026;AP-2;Insalubrité;;3;Rue Y;69003;Lyon\n\
         01/03/2026;AP-3;Amende;;4;Rue Z;690;Lyon\n\
         15/01/2026;AP-4;Mise en sécurité procédure urgente;20/02/2026;25bis;Avenue W;69003;Lyon\n"
    );
    let (status, html) = dry_run(&app, &territory, register.into_bytes()).await;
    assert_eq!(status, 200, "{html}");
    assert_eq!(count(&app).await, 0, "the dry run writes nothing");
    assert!(
        html.contains("Ligne 3 : Indiquez la date de l’arrêté (JJ/MM/AAAA)."),
        "{html}"
    );
    assert!(
        html.contains(
            "Ligne 4 : Choisissez le type d’arrêté dans la liste. Le code postal fait 5 chiffres."
        ),
        "{html}"
    );
    assert!(html.contains("Créé, rattaché au signalement"), "{html}");
    assert!(
        html.contains("Créé, sans signalement à cette adresse"),
        "{html}"
    );

    let csv = carried_csv(&html);
    let confirm = app
        .post_form(
            "/bo/arretes/import/confirmer",
            &[("territory_id", &territory), ("csv", &csv)],
        )
        .await;
    assert_eq!(confirm.status(), 200);
    let page = confirm.text().await.unwrap();
    assert!(
        page.contains("2 arrêté(s) importé(s), 0 déjà enregistré(s), 2 ligne(s) en erreur"),
        "{page}"
    );
    let numbers: Vec<(String, Option<u64>)> =
        sqlx::query_as("SELECT number, report_id FROM arretes ORDER BY number")
            .fetch_all(&app.db)
            .await
            .unwrap();
    assert_eq!(
        numbers,
        [
            ("AP-1".to_owned(), Some(case.id)),
            ("AP-4".to_owned(), None)
        ]
    );

    // The same register again: nothing new.
    let again = app
        .post_form(
            "/bo/arretes/import/confirmer",
            &[("territory_id", &territory), ("csv", &csv)],
        )
        .await;
    assert!(
        again
            .text()
            .await
            .unwrap()
            .contains("0 arrêté(s) importé(s), 2 déjà enregistré(s)")
    );
    assert_eq!(count(&app).await, 2);
}

#[tokio::test]
async fn a_windows_1252_register_with_commas_is_read() {
    let app = TestApp::spawn_with_accounts().await;
    let territory = territory_69(&app).await;
    app.login_as(RT69).await;
    let text = "date arrêté,numéro arrêté,classification arrêté,numéro de voie,nom de la voie,code postal,commune\n\
                01/02/2026,AP-9,Insalubrité,3,Rue de l’Église,69003,Lyon\n";
    // Encode as Windows-1252 (é = E9, É = C9, ’ = 92).
    let bytes: Vec<u8> = text
        .chars()
        .map(|c| match c {
            '’' => 0x92,
            c => u8::try_from(u32::from(c)).expect("latin-1"),
        })
        .collect();
    let (status, html) = dry_run(&app, &territory, bytes).await;
    assert_eq!(status, 200, "{html}");
    assert!(
        html.contains("3 Rue de l’Église, 69003 Lyon") || html.contains("3 Rue de l&#8217;Église"),
        "{html}"
    );
    assert!(
        html.contains("Arrêté L.511-19 - Insalubrité n° AP-9 du 01/02/2026"),
        "{html}"
    );
}

#[tokio::test]
async fn too_big_or_headless_files_and_other_roles_are_refused() {
    let app = TestApp::spawn_with_accounts().await;
    let territory = territory_69(&app).await;
    app.login_as(RT69).await;
    let (status, html) = dry_run(&app, &territory, vec![b'a'; 600 * 1024]).await;
    assert_eq!(status, 422);
    assert!(html.contains("Le fichier dépasse 512 Ko"), "{html}");
    let (status, html) = dry_run(&app, &territory, b"a;b\n1;2\n".to_vec()).await;
    assert_eq!(status, 422);
    assert!(
        html.contains("Colonnes manquantes dans l’en-tête"),
        "{html}"
    );
    // A formula in a cell stays text on the page and is never evaluated.
    let register =
        format!("{HEADER}\n01/02/2026;=HYPERLINK(\"x\");Insalubrité;;1;=1+1;69003;Lyon\n");
    let (status, html) = dry_run(&app, &territory, register.into_bytes()).await;
    assert_eq!(status, 200);
    assert!(html.contains("Ligne 2 : Le numéro de l’arrêté"), "{html}");

    let agent = app.as_another_user();
    agent.login_as(AGENT_SCHS69).await;
    assert_eq!(agent.get("/bo/arretes/import").await.status(), 403);
    let (status, _) = dry_run(&agent, &territory, b"x".to_vec()).await;
    assert_eq!(status, 403);
    assert_eq!(count(&app).await, 0);
}
