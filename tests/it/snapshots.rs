//! Snapshots (insta) of what people read: every e-mail the platform sends
//! and the visible text of the main pages. A wording or layout change shows
//! up as a reviewable diff of `tests/it/snapshots/*.snap`; accept it with
//! `cargo insta review` (or `INSTA_UPDATE=always`) once it is intended.
//! scripts/test.sh sets `CI=true`, so a mismatch fails there instead of
//! writing a `.snap.new` file.
//!
//! Volatile parts (dates, times, uuids, tokens, generated references) are
//! replaced by placeholders before comparing, so that a snapshot only moves
//! when the text does.

use histologe::{mail::render::render, queue::Email};

use crate::common::{TestApp, cases::CaseBuilder};

/// The text a reader sees in an HTML page or e-mail: no head, scripts,
/// styles or comments; one line per block; entities decoded; blank lines
/// and runs of spaces collapsed.
pub fn visible_text(html: &str) -> String {
    let mut out = String::new();
    let mut rest = html;
    // Whitespace in the source is one space, as a browser renders it; only
    // block elements start a new line.
    let push_text = |out: &mut String, text: &str| {
        for word in text.split_whitespace() {
            if !out.ends_with(['\n', ' ']) && !out.is_empty() {
                out.push(' ');
            }
            out.push_str(word);
        }
        if text.ends_with(char::is_whitespace) && !out.ends_with('\n') {
            out.push(' ');
        }
    };
    while let Some(lt) = rest.find('<') {
        if rest[..lt].starts_with(char::is_whitespace) && !out.ends_with('\n') {
            out.push(' ');
        }
        push_text(&mut out, &rest[..lt]);
        rest = &rest[lt..];
        if let Some(after) = rest.strip_prefix("<!--") {
            rest = after.find("-->").map_or("", |end| &after[end + 3..]);
            continue;
        }
        let Some(gt) = rest.find('>') else {
            rest = "";
            break;
        };
        let original = rest[1..gt].trim_start_matches('/').to_owned();
        let tag = original.to_ascii_lowercase();
        let name: String = tag
            .chars()
            .take_while(|c| c.is_ascii_alphanumeric())
            .collect();
        let closing = rest.as_bytes().get(1) == Some(&b'/');
        rest = &rest[gt + 1..];
        if !closing
            && matches!(
                name.as_str(),
                "head" | "script" | "style" | "svg" | "template"
            )
        {
            let end = format!("</{name}");
            rest = rest
                .to_ascii_lowercase()
                .find(&end)
                .and_then(|at| rest[at..].find('>').map(|gt| &rest[at + gt + 1..]))
                .unwrap_or("");
            continue;
        }
        let block = matches!(
            name.as_str(),
            "p" | "div"
                | "br"
                | "li"
                | "ul"
                | "ol"
                | "tr"
                | "table"
                | "h1"
                | "h2"
                | "h3"
                | "h4"
                | "h5"
                | "h6"
                | "header"
                | "footer"
                | "nav"
                | "main"
                | "section"
                | "article"
                | "form"
                | "fieldset"
                | "legend"
                | "label"
                | "button"
                | "option"
                | "dt"
                | "dd"
                | "hr"
                | "title"
                | "body"
                | "html"
                | "td"
                | "th"
                | "aside"
                | "details"
                | "summary"
                | "blockquote"
                | "figcaption"
        );
        if block {
            out.push('\n');
        } else if name == "input" {
            // A button-like input shows its value; other inputs show nothing.
            if tag.contains("type=\"submit\"")
                && let Some(value) = attribute(&original, "value")
            {
                out.push('\n');
                out.push_str(&value);
                out.push('\n');
            }
        }
    }
    push_text(&mut out, rest);
    crate::crawl::html::decode_entities(&out)
        .lines()
        .map(|line| line.split_whitespace().collect::<Vec<_>>().join(" "))
        .filter(|line| !line.is_empty())
        .collect::<Vec<_>>()
        .join("\n")
}

fn attribute(tag: &str, name: &str) -> Option<String> {
    let marker = format!("{name}=\"");
    let start = tag.find(&marker)? + marker.len();
    let end = tag[start..].find('"')?;
    Some(tag[start..start + end].to_owned())
}

/// Placeholders for what changes from one run to the next.
fn redactions() -> Vec<(&'static str, &'static str)> {
    vec![
        (
            r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}",
            "[uuid]",
        ),
        (r"\b[0-9A-Za-z_-]{40,}\b", "[jeton]"),
        (r"\b\d{2}/\d{2}/\d{4}\b", "[date]"),
        (r"\b\d{4}-\d{2}-\d{2}\b", "[date]"),
        (r"\b\d{1,2}(:|h)\d{2}\b", "[heure]"),
        (
            r"\b\d{1,2} (janvier|février|mars|avril|mai|juin|juillet|août|septembre|octobre|novembre|décembre) \d{4}\b",
            "[date]",
        ),
        (r"http://127\.0\.0\.1:\d+", "[site]"),
        (r"\bT-[0-9a-f]{8}\b", "[référence]"),
    ]
}

/// Asserts the snapshot `name` of `text`, volatile parts redacted.
fn assert_text(name: &str, text: &str) {
    let mut settings = insta::Settings::clone_current();
    settings.set_snapshot_path("snapshots");
    settings.set_prepend_module_to_snapshot(false);
    settings.set_omit_expression(true);
    for (pattern, replacement) in redactions() {
        settings.add_filter(pattern, replacement);
    }
    settings.bind(|| insta::assert_snapshot!(name, text));
}

// ------------------------------------------------------------------ e-mails

const LINK: &str = "https://histologe.example/lien/abc";

/// One of each e-mail, with fixed inputs. The `match` lists every variant
/// without a wildcard: a new kind of e-mail does not compile until it has
/// its example here, hence its snapshot.
fn every_email() -> Vec<(&'static str, Email)> {
    let to = || "camille.durand@exemple.fr".to_owned();
    let emails = vec![
        Email::AccountActivation {
            to: to(),
            first_name: "Camille".into(),
            link: LINK.into(),
        },
        Email::PasswordReset {
            to: to(),
            link: LINK.into(),
        },
        Email::DailyDigest {
            to: to(),
            items: vec![
                ("2026-12".into(), "Nouveau suivi".into(), LINK.into()),
                ("2026-13".into(), "Nouvelle affectation".into(), LINK.into()),
            ],
        },
        Email::AccountInactivity {
            to: to(),
            first_name: "Camille".into(),
            deadline: "15/01/2027".into(),
            link: LINK.into(),
        },
        Email::ReportConfirmation {
            to: to(),
            first_name: "Camille".into(),
            reference: "2026-42".into(),
            link: LINK.into(),
        },
        Email::NewReportToValidate {
            to: to(),
            reference: "2026-42".into(),
            city: "Lyon".into(),
            link: LINK.into(),
        },
        Email::EmailChangeConfirmation {
            to: to(),
            reference: "2026-42".into(),
            link: LINK.into(),
        },
        Email::EmailChangeNotice {
            to: to(),
            reference: "2026-42".into(),
            link: LINK.into(),
        },
        Email::GuestInvitation {
            to: to(),
            name: "Alice Martin".into(),
            reference: "2026-42".into(),
            link: LINK.into(),
        },
        Email::ResidentMessage {
            to: to(),
            reference: "2026-42".into(),
            link: LINK.into(),
        },
        Email::FollowUpLinks {
            to: to(),
            links: vec![
                ("2026-42".into(), LINK.into()),
                ("2026-43".into(), format!("{LINK}2")),
            ],
        },
        Email::DraftResume {
            to: to(),
            link: LINK.into(),
        },
        Email::CaseUpdateForResident {
            to: to(),
            reference: "2026-42".into(),
            title: "Votre signalement a été validé".into(),
            message: "Les services vont l’étudier.\nVous serez tenu informé.".into(),
            link: LINK.into(),
        },
        Email::CaseUpdateForStaff {
            to: to(),
            reference: "2026-42".into(),
            title: "Nouveau suivi".into(),
            link: LINK.into(),
        },
        Email::ContactMessage {
            to: to(),
            name: "Dominique Martin".into(),
            from: "dominique.martin@exemple.fr".into(),
            territory: Some("Rhône".into()),
            subject: "Une aide pour déposer un signalement".into(),
            message: "Bonjour,\nJe ne trouve pas mon adresse <b>dans</b> le formulaire.".into(),
            link: LINK.into(),
        },
        Email::ArreteForResident {
            to: to(),
            reference: "2026-42".into(),
            message: "Un arrêté a été pris concernant votre logement : Arrêté L.511-19 - Insalubrité n° 2026/DD69/00012 du 20/11/2026, signé par le préfet. Les travaux prescrits doivent être réalisés avant le 20/05/2027.".into(),
            link: LINK.into(),
        },
    ];
    // One visit e-mail per mail kind (docs/visits.md §3).
    let emails =
        emails
            .into_iter()
            .chain(
                histologe::domain::case::visit::VisitEvent::ALL
                    .iter()
                    .map(|event| Email::VisitForResident {
                        to: to(),
                        reference: "2026-42".into(),
                        event: *event,
                        message:
                            "La visite prévue le 10/12/2026 14:30 est reportée au 17/12/2026 09:00."
                                .into(),
                        link: LINK.into(),
                    }),
            );
    emails
        .into_iter()
        .map(|email| {
            let name = match &email {
                Email::AccountActivation { .. } => "email_account_activation",
                Email::PasswordReset { .. } => "email_password_reset",
                Email::DailyDigest { .. } => "email_daily_digest",
                Email::AccountInactivity { .. } => "email_account_inactivity",
                Email::ReportConfirmation { .. } => "email_report_confirmation",
                Email::NewReportToValidate { .. } => "email_new_report_to_validate",
                Email::ResidentMessage { .. } => "email_resident_message",
                Email::FollowUpLinks { .. } => "email_follow_up_links",
                Email::GuestInvitation { .. } => "email_guest_invitation",
                Email::EmailChangeConfirmation { .. } => "email_email_change_confirmation",
                Email::EmailChangeNotice { .. } => "email_email_change_notice",
                Email::DraftResume { .. } => "email_draft_resume",
                Email::CaseUpdateForResident { .. } => "email_case_update_for_resident",
                Email::CaseUpdateForStaff { .. } => "email_case_update_for_staff",
                Email::ContactMessage { .. } => "email_contact_message",
                Email::ArreteForResident { .. } => "email_arrete_for_resident",
                Email::VisitForResident { event, .. } => {
                    // A name per mail kind, kept for the whole test run.
                    Box::leak(format!("email_visit_{}", event.as_str()).into_boxed_str())
                }
            };
            (name, email)
        })
        .collect()
}

#[test]
fn every_email_reads_as_its_snapshot() {
    let emails = every_email();
    assert_eq!(
        emails.len(),
        16 + histologe::domain::case::visit::VisitEvent::ALL.len(),
        "one example per kind of e-mail (and per visit mail kind)"
    );
    for (name, email) in emails {
        let rendered = render(&email).unwrap_or_else(|e| panic!("{name} renders: {e}"));
        assert!(
            rendered.html.contains(LINK) && rendered.text.contains(LINK),
            "{name}: the link is in both bodies"
        );
        assert_text(
            name,
            &format!(
                "À : {}\nObjet : {}\n\n--- texte ---\n{}\n\n--- HTML, texte visible ---\n{}\n",
                rendered.to,
                rendered.subject,
                rendered.text.trim(),
                visible_text(&rendered.html)
            ),
        );
    }
}

// -------------------------------------------------------------------- pages

async fn page_text(app: &TestApp, path: &str) -> String {
    let (status, html) = app.get_html(path).await;
    assert_eq!(status, 200, "GET {path}");
    visible_text(&html)
}

#[tokio::test]
async fn the_public_pages_read_as_their_snapshots() {
    let app = TestApp::spawn().await;
    for (name, path) in [
        ("page_home", "/"),
        ("page_form_intro", "/signalement"),
        ("page_form_address", "/signalement/adresse"),
        ("page_login", "/connexion"),
    ] {
        assert_text(name, &page_text(&app, path).await);
    }
}

#[tokio::test]
async fn the_back_office_and_follow_up_pages_read_as_their_snapshots() {
    let app = TestApp::spawn_with_accounts().await;
    let case = CaseBuilder::new("69A")
        .reference("2026-77")
        .status("active")
        .occupant("Camille", "Durand")
        .occupant_email("camille.durand@exemple.fr")
        .occupant_phone("0612345678")
        .details("Moisissures au plafond de la chambre.")
        .created("2026-06-15 10:00:00")
        .validated(Some("2026-06-16 09:00:00"))
        .severity(Some(35.5))
        .create(&app)
        .await;

    // The resident, after the light identity check.
    let resident = app.as_another_user();
    let path = format!("/suivre-mon-signalement/{}", case.follow_up_code);
    let response = resident
        .post_form(
            &path,
            &[
                ("initiale_prenom", "c"),
                ("initiale_nom", "d"),
                ("code_postal", "69003"),
            ],
        )
        .await;
    assert_eq!(response.status(), 303, "identity check accepted");
    assert_text("page_follow_up", &page_text(&resident, &path).await);

    app.login_as("rt69@histologe.localhost").await;
    assert_text("page_dashboard", &page_text(&app, "/bo").await);
    assert_text("page_case_list", &page_text(&app, "/bo/signalements").await);
    assert_text(
        "page_case",
        &page_text(&app, &format!("/bo/signalements/{}", case.uuid)).await,
    );
}

#[test]
fn visible_text_keeps_what_a_reader_sees() {
    let html = "<html><head><title>x</title><style>p{}</style></head><body>\
                <!-- note --><h1>Titre &amp; sous-titre</h1><p>Un <b>mot</b>\n  là</p>\
                <script>alert(1)</script><input type=\"submit\" value=\"Envoyer\"></body></html>";
    assert_eq!(visible_text(html), "Titre & sous-titre\nUn mot là\nEnvoyer");
}
