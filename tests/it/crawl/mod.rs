//! The hostile crawler: signed in as each role (anonymous visitor, resident
//! through their follow-up link, agent, partner admin, territory admin,
//! super admin), it follows every link from the entry pages, submits every
//! form it finds with hostile values (empty, 10,000 characters, markup, SQL,
//! traversal, out-of-range numbers and dates, control characters, wrong
//! files) keeping the CSRF token valid, and probes every route template
//! with malformed ids. No answer may be a 5xx, and the markup it sends must
//! never come back unescaped, on the answer or on any page read afterwards.

pub mod html;
mod input;

use std::collections::{HashMap, HashSet, VecDeque};
use std::time::Instant;

use histologe::domain::report::form::Step;
use histologe::web::routes::route_table;

use crate::common::{DEMO_PASSWORD, TestApp, csrf_in, new_client};
use html::{Form, Kind};

/// The markup sent everywhere: seen raw in a page, it would run.
const MARKUP: &str = "<script>alert(1)</script>";
/// What betrays it in a body (also when cut after a few characters).
const MARKUP_RAW: &str = "<script>alert(1)";

const AGENT: &str = "agent.schs69@histologe.localhost";
const PARTNER_ADMIN: &str = "admin.schs69@histologe.localhost";
const TERRITORY_ADMIN: &str = "rt69@histologe.localhost";
const SUPER_ADMIN: &str = "admin@histologe.localhost";

/// Pages read per role at most, and per page shape (same path with other
/// ids, same query keys with other values).
const MAX_PAGES_PER_ROLE: usize = 120;
const MAX_PER_SHAPE: usize = 2;
/// Fields attacked one by one per form at most (the defect screens have
/// dozens of checkboxes of the same kind).
const MAX_FIELDS_PER_FORM: usize = 12;

fn hostile_values() -> Vec<String> {
    vec![
        String::new(),
        "x".repeat(10_000),
        MARKUP.to_owned(),
        "' OR 1=1 --".to_owned(),
        "../../etc/passwd".to_owned(),
        "-1".to_owned(),
        "99999999999999999999".to_owned(),
        "0000-00-00".to_owned(),
        "9999-99-99".to_owned(),
        "\u{0}\u{1}\u{7}\u{1b}[31m\r\n\u{7f}".to_owned(),
        "é😀\u{202e}𝕏".to_owned(),
        "NaN".to_owned(),
    ]
}

/// Files that are not what they claim, or whose name is an attack.
fn hostile_files() -> Vec<(String, Vec<u8>, &'static str)> {
    vec![
        (
            "../../etc/passwd".to_owned(),
            b"root:x:0:0:root:/root:/bin/sh\n".to_vec(),
            "text/plain",
        ),
        (
            "photo.png".to_owned(),
            b"MZ\x90\x00\x03\x00\x00\x00\x04\x00\x00\x00\xff\xff".to_vec(),
            "image/png",
        ),
        (
            format!("{MARKUP}.jpg"),
            b"\xff\xd8\xff\xe0 not really a jpeg".to_vec(),
            "image/jpeg",
        ),
        ("vide.pdf".to_owned(), Vec::new(), "application/pdf"),
        (
            format!("{}.png", "x".repeat(300)),
            crate::report_form::png(),
            "image/png",
        ),
        (
            "rapport.pdf".to_owned(),
            b"<html><script>alert(1)</script></html>".to_vec(),
            "application/pdf",
        ),
    ]
}

/// Malformed path parameters (already URL-encoded).
fn bad_path_values() -> Vec<String> {
    vec![
        "0".to_owned(),
        "-1".to_owned(),
        "99999999999999999999".to_owned(),
        "abc".to_owned(),
        "%00".to_owned(),
        "..%2F..%2Fetc%2Fpasswd".to_owned(),
        "%3Cscript%3Ealert(1)%3C%2Fscript%3E".to_owned(),
        "%27%20OR%201%3D1%20--".to_owned(),
        "00000000-0000-0000-0000-000000000000".to_owned(),
        "%F0%9F%98%80".to_owned(),
        "%FF%FE".to_owned(),
        "x".repeat(2_000),
    ]
}

/// What one request sends.
enum Value {
    Text(String),
    File(String, Vec<u8>, &'static str),
}

/// Counts and findings of the whole crawl.
#[derive(Default)]
struct Report {
    pages: usize,
    forms: usize,
    submissions: usize,
    /// Hostile submissions answered 2xx/3xx: values the site took.
    accepted: usize,
    probes: usize,
    failures: Vec<String>,
}

impl Report {
    /// `body` is what a browser would render: HTML or text shown inline
    /// (downloads such as CSV exports are data and not checked for markup).
    fn check(&mut self, what: &str, status: u16, body: &str) {
        if status >= 500 {
            self.failures
                .push(format!("{what}: server error {status}: {}", headline(body)));
        }
        if body.contains(MARKUP_RAW) {
            self.failures
                .push(format!("{what}: the markup comes back unescaped"));
        }
    }
}

/// The title of an error page (or the start of a body), for the report.
fn headline(body: &str) -> String {
    let main = body.split("<h1").nth(1).unwrap_or(body);
    let mut text = String::new();
    let mut in_tag = false;
    for c in main.chars() {
        match c {
            '<' => in_tag = true,
            '>' => {
                in_tag = false;
                text.push(' ');
            }
            _ if !in_tag => text.push(c),
            _ => {}
        }
    }
    let words: Vec<&str> = text.split_whitespace().collect();
    words.join(" ").chars().take(160).collect()
}

/// The status of a response and what a browser would render of it: HTML
/// and plain text (which must not carry the markup either); downloads
/// (CSV, XLSX, documents) are data, read and dropped. The flag tells HTML.
async fn read(response: reqwest::Response) -> (u16, String, bool) {
    let status = response.status().as_u16();
    let content_type = response
        .headers()
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("text/plain")
        .to_owned();
    let bytes = response.bytes().await.unwrap_or_default();
    let is_html = content_type.starts_with("text/html");
    if is_html || content_type.starts_with("text/plain") {
        (
            status,
            String::from_utf8_lossy(&bytes).into_owned(),
            is_html,
        )
    } else {
        (status, String::new(), false)
    }
}

/// One person's browser.
struct Browser {
    role: &'static str,
    client: reqwest::Client,
    base: String,
}

impl Browser {
    fn new(app: &TestApp, role: &'static str) -> Self {
        Self {
            role,
            client: new_client(),
            base: app.base_url.clone(),
        }
    }

    async fn get(&self, path: &str) -> (u16, String, bool) {
        let response = match self.client.get(format!("{}{path}", self.base)).send().await {
            Ok(response) => response,
            Err(error) => return (599, format!("{:.300}", error.to_string()), false),
        };
        read(response).await
    }

    /// A urlencoded form post with a fresh token read from `page`.
    async fn post_fields(&self, path: &str, page: &str, fields: &[(&str, &str)]) -> (u16, String) {
        let (_, html, _) = self.get(page).await;
        let token = csrf_in(&html);
        let mut body = vec![("_csrf", token.as_str())];
        body.extend_from_slice(fields);
        let response = self
            .client
            .post(format!("{}{path}", self.base))
            .form(&body)
            .send()
            .await
            .expect("post");
        let (status, body, _) = read(response).await;
        (status, body)
    }

    async fn log_in(&self, email: &str) {
        let (status, body) = self
            .post_fields(
                "/connexion",
                "/connexion",
                &[("email", email), ("password", DEMO_PASSWORD)],
            )
            .await;
        assert_eq!(status, 303, "login of {email}: {body}");
    }

    /// Sends a form as a browser would, with `values` in place of the
    /// page's values.
    async fn submit(
        &self,
        method: &str,
        action: &str,
        multipart: bool,
        values: Vec<(String, Value)>,
    ) -> (u16, String) {
        let url = format!("{}{action}", self.base);
        let request = if method == "GET" {
            // URLs are bounded (clients and proxies refuse more than a few
            // kilobytes): a search field gets 1,000 characters at most.
            let pairs: Vec<(String, String)> = values
                .into_iter()
                .map(|(k, v)| match v {
                    Value::Text(t) => (k, t.chars().take(1_000).collect()),
                    Value::File(name, ..) => (k, name),
                })
                .collect();
            let query = serde_urlencoded::to_string(&pairs).expect("query");
            let sep = if action.contains('?') { '&' } else { '?' };
            self.client.get(format!("{url}{sep}{query}"))
        } else if multipart {
            let mut form = reqwest::multipart::Form::new();
            for (k, v) in values {
                form = match v {
                    Value::Text(t) => form.text(k, t),
                    Value::File(name, bytes, mime) => form.part(
                        k,
                        reqwest::multipart::Part::bytes(bytes)
                            .file_name(name)
                            .mime_str(mime)
                            .expect("mime"),
                    ),
                };
            }
            self.client.post(url).multipart(form)
        } else {
            let pairs: Vec<(String, String)> = values
                .into_iter()
                .map(|(k, v)| match v {
                    Value::Text(t) => (k, t),
                    Value::File(name, ..) => (k, name),
                })
                .collect();
            self.client.post(url).form(&pairs)
        };
        let response = match request.send().await {
            Ok(response) => response,
            // A connection reset is as bad as a 500 for the person.
            Err(error) => return (599, format!("{:.300}", error.to_string())),
        };
        let (status, body, _) = read(response).await;
        (status, body)
    }
}

/// Ids, uuids and follow-up codes in a path become `{}` so that pages of
/// the same kind are counted together.
fn shape_of(path_and_query: &str) -> String {
    let (path, query) = path_and_query
        .split_once('?')
        .unwrap_or((path_and_query, ""));
    let mut shape: Vec<String> = path
        .split('/')
        .map(|segment| {
            let variable = segment.chars().any(|c| c.is_ascii_digit())
                && (segment.len() >= 16 || segment.chars().all(|c| c.is_ascii_digit()))
                || segment.len() >= 32;
            if variable {
                "{}".to_owned()
            } else {
                segment.to_owned()
            }
        })
        .collect();
    let mut keys: Vec<&str> = query
        .split('&')
        .filter_map(|pair| pair.split('=').next())
        .filter(|k| !k.is_empty() && *k != "page")
        .collect();
    keys.sort_unstable();
    keys.dedup();
    shape.push(keys.join(","));
    shape.join("/")
}

/// A link of the page worth following: on this site, a page (not an
/// asset), not the sign-out.
fn followable(href: &str) -> Option<String> {
    let href = href.split('#').next().unwrap_or_default();
    if !href.starts_with('/') || href.starts_with("//") || href.starts_with("/assets/") {
        return None;
    }
    Some(href.to_owned())
}

/// Where a form is sent, as a path with its query.
fn action_of(form: &Form, page: &str) -> String {
    if form.action.is_empty() {
        page.to_owned()
    } else {
        form.action.clone()
    }
}

/// The fields a browser sends for this form, with `replace` deciding the
/// value of the field at each index (None: the page's own value).
fn fill(
    form: &Form,
    replace: &dyn Fn(usize, &html::Field) -> Option<Value>,
) -> Vec<(String, Value)> {
    let mut out = Vec::new();
    let mut submit_sent = false;
    let mut radios_sent: HashSet<&str> = HashSet::new();
    for (index, field) in form.fields.iter().enumerate() {
        if field.name == "_csrf" {
            out.push((field.name.clone(), Value::Text(field.value.clone())));
            continue;
        }
        if let Some(value) = replace(index, field) {
            if field.kind == Kind::Radio && !radios_sent.insert(&field.name) {
                continue;
            }
            out.push((field.name.clone(), value));
            continue;
        }
        match field.kind {
            Kind::Checkbox | Kind::Radio if !field.checked => {}
            Kind::Submit if submit_sent => {}
            Kind::Submit => {
                submit_sent = true;
                out.push((field.name.clone(), Value::Text(field.value.clone())));
            }
            Kind::File => {
                // Browsers send an empty part for an empty file input.
                out.push((
                    field.name.clone(),
                    Value::File(String::new(), Vec::new(), "application/octet-stream"),
                ));
            }
            _ => out.push((field.name.clone(), Value::Text(field.value.clone()))),
        }
    }
    out
}

/// A value as shown in the report: its start, and its length if long.
fn short(value: &str) -> String {
    let count = value.chars().count();
    let start: String = value.chars().take(24).collect();
    if count > 24 {
        format!("{start:?}… ({count} characters)")
    } else {
        format!("{start:?}")
    }
}

/// Every hostile variant of a form: each value in every field at once, then
/// each field alone with a few values (others keep the page's values, so
/// that validation of one field does not hide a failure behind another).
fn hostile_submissions(form: &Form) -> Vec<(String, Vec<(String, Value)>)> {
    let values = hostile_values();
    let files = hostile_files();
    let attacked: Vec<usize> = {
        let mut names = HashSet::new();
        form.fields
            .iter()
            .enumerate()
            .filter(|(_, f)| {
                f.name != "_csrf" && f.kind != Kind::Submit && names.insert(f.name.clone())
            })
            .map(|(i, _)| i)
            .take(MAX_FIELDS_PER_FORM)
            .collect()
    };
    let mut out = Vec::new();
    if attacked.is_empty() {
        return out;
    }
    let file_of = |n: usize| {
        let (name, bytes, mime) = &files[n % files.len()];
        Value::File(name.clone(), bytes.clone(), mime)
    };
    for (n, value) in values.iter().enumerate() {
        out.push((
            format!("every field = {}", short(value)),
            fill(form, &|_, field| {
                Some(if field.kind == Kind::File {
                    file_of(n)
                } else {
                    Value::Text(value.clone())
                })
            }),
        ));
    }
    for (rank, &index) in attacked.iter().enumerate() {
        let field = &form.fields[index];
        if field.kind == Kind::File {
            for (n, (name, ..)) in files.iter().enumerate() {
                out.push((
                    format!("{} = file {}", field.name, short(name)),
                    fill(form, &|i, _| (i == index).then(|| file_of(n))),
                ));
            }
            continue;
        }
        let picks = [1, 2, 3 + rank % (values.len() - 3)];
        for pick in picks {
            let value = values[pick].clone();
            out.push((
                format!("{} = {}", field.name, short(&value)),
                fill(form, &|i, _| {
                    (i == index).then(|| Value::Text(value.clone()))
                }),
            ));
        }
    }
    out
}

/// Forms of the same kind: same method, action shape and field names.
fn form_key(form: &Form, action: &str) -> String {
    let mut names: Vec<&str> = form.fields.iter().map(|f| f.name.as_str()).collect();
    names.sort_unstable();
    names.dedup();
    format!("{} {} {}", form.method, shape_of(action), names.join(","))
}

/// Crawls from `entries` as `browser`; returns the pages read.
async fn crawl(
    browser: &Browser,
    entries: &[String],
    report: &mut Report,
) -> (Vec<String>, Vec<(String, Form)>) {
    let mut queue: VecDeque<String> = entries.iter().cloned().collect();
    let mut seen: HashSet<String> = HashSet::new();
    let mut shapes: HashMap<String, usize> = HashMap::new();
    let mut form_keys: HashSet<String> = HashSet::new();
    let mut pages = Vec::new();
    let mut forms = Vec::new();
    while let Some(path) = queue.pop_front() {
        if pages.len() >= MAX_PAGES_PER_ROLE || !seen.insert(path.clone()) {
            continue;
        }
        let count = shapes.entry(shape_of(&path)).or_default();
        if *count >= MAX_PER_SHAPE {
            continue;
        }
        *count += 1;
        let (status, body, is_html) = browser.get(&path).await;
        report.pages += 1;
        report.check(&format!("[{}] GET {path}", browser.role), status, &body);
        pages.push(path.clone());
        if !is_html {
            continue;
        }
        let page = html::parse(&body);
        for link in page.links.iter().filter_map(|l| followable(l)) {
            if !seen.contains(&link) {
                queue.push_back(link);
            }
        }
        for form in page.forms {
            let action = action_of(&form, &path);
            if action.starts_with("/deconnexion") {
                continue;
            }
            if form_keys.insert(form_key(&form, &action)) {
                forms.push((path.clone(), form));
            }
        }
    }
    (pages, forms)
}

/// Bodies no browser sends, with a valid CSRF token (in the header): the
/// extractors' rejections must be French pages, not 500s or English text.
async fn malformed_bodies(browser: &Browser, form: &Form, action: &str, report: &mut Report) {
    let Some(token) = form
        .fields
        .iter()
        .find(|f| f.name == "_csrf")
        .map(|f| f.value.clone())
        .or_else(|| {
            action
                .split_once("_csrf=")
                .map(|(_, t)| t.split('&').next().unwrap_or_default().to_owned())
        })
    else {
        return;
    };
    let field = form
        .fields
        .iter()
        .find(|f| f.name != "_csrf")
        .map_or("x", |f| f.name.as_str());
    let bodies: [(&str, String, Vec<u8>); 5] = [
        (
            "invalid UTF-8 and percent-encoding",
            "application/x-www-form-urlencoded".to_owned(),
            format!("{field}=%FF%FE%&{field}=%zz").into_bytes(),
        ),
        (
            "a field sent twice",
            "application/x-www-form-urlencoded".to_owned(),
            format!("{field}=1&{field}=2").into_bytes(),
        ),
        (
            "JSON",
            "application/json".to_owned(),
            format!("{{\"{field}\": 1}}").into_bytes(),
        ),
        (
            "multipart without boundary",
            "multipart/form-data".to_owned(),
            b"--x\r\nContent-Disposition: form-data; name=\"a\"\r\n\r\n1".to_vec(),
        ),
        (
            "truncated multipart",
            "multipart/form-data; boundary=XYZ".to_owned(),
            format!("--XYZ\r\nContent-Disposition: form-data; name=\"{field}\"; filename=\"a.png\"\r\nContent-Type: image/png\r\n\r\n")
                .into_bytes()
                .into_iter()
                .chain(*b"\x89PNG\r\n")
                .collect(),
        ),
    ];
    for (label, content_type, body) in bodies {
        let response = browser
            .client
            .post(format!("{}{action}", browser.base))
            .header("content-type", content_type)
            .header("x-csrf-token", &token)
            .body(body)
            .send()
            .await;
        let (status, body) = match response {
            Ok(response) => {
                let (status, body, _) = read(response).await;
                (status, body)
            }
            Err(error) => (599, format!("{:.300}", error.to_string())),
        };
        report.submissions += 1;
        report.check(
            &format!("[{}] POST {action} with {label}", browser.role),
            status,
            &body,
        );
        if status < 500 && body.contains("Failed to") {
            report.failures.push(format!(
                "[{}] POST {action} with {label}: English rejection text",
                browser.role
            ));
        }
    }
}

/// Submits every hostile variant of every form, then reads the pages again
/// (what was stored must come back escaped).
async fn attack(
    browser: &Browser,
    pages: &[String],
    forms: &[(String, Form)],
    report: &mut Report,
) {
    for (page, form) in forms {
        let action = action_of(form, page);
        let variants = hostile_submissions(form);
        if variants.is_empty() {
            continue;
        }
        report.forms += 1;
        let timer = Instant::now();
        let n = variants.len();
        for (label, values) in variants {
            let (status, body) = browser
                .submit(&form.method, &action, form.multipart, values)
                .await;
            report.submissions += 1;
            if status < 400 {
                report.accepted += 1;
            }
            report.check(
                &format!(
                    "[{}] {} {action} ({page}) with {label}",
                    browser.role, form.method
                ),
                status,
                &body,
            );
        }
        if form.method == "POST" {
            malformed_bodies(browser, form, &action, report).await;
        }
        if std::env::var("CRAWL_TIMING").is_ok() {
            eprintln!(
                "  {:>6.2} s {n:>3} × {} {action}",
                timer.elapsed().as_secs_f64(),
                form.method
            );
        }
    }
    for path in pages {
        let (status, body, _) = browser.get(path).await;
        report.pages += 1;
        report.check(
            &format!("[{}] GET {path} after the attack", browser.role),
            status,
            &body,
        );
    }
}

/// Real values for the parameters of a route template, where one exists.
struct Known {
    case_uuid: String,
    draft_uuid: String,
    code: String,
}

/// Every route template with parameters, each parameter in turn replaced by
/// malformed values (the others real where possible), as GET or POST.
async fn probe_paths(browser: &Browser, known: &Known, only_public: bool, report: &mut Report) {
    let (_, html, _) = browser.get("/connexion").await;
    let token = csrf_in(&html);
    for route in route_table() {
        if !route.path.contains('{') || route.path.starts_with("/deconnexion") {
            continue;
        }
        if only_public && route.path.starts_with("/bo") {
            continue;
        }
        let params: Vec<&str> = route
            .path
            .split('/')
            .filter(|s| s.starts_with('{'))
            .collect();
        let real = |param: &str| -> Option<String> {
            match param {
                "{uuid}" if route.path.starts_with("/bo/signalements/") => {
                    Some(known.case_uuid.clone())
                }
                "{uuid}" if route.path.starts_with("/signalement/") => {
                    Some(known.draft_uuid.clone())
                }
                "{step}" => Some("profil".to_owned()),
                "{code}" => Some(known.code.clone()),
                _ => None,
            }
        };
        for target in &params {
            for bad in bad_path_values() {
                let path = params.iter().fold(route.path.to_owned(), |path, param| {
                    let value = if param == target {
                        bad.clone()
                    } else {
                        real(param).unwrap_or_else(|| bad.clone())
                    };
                    path.replacen(param, &value, 1)
                });
                let (status, body) = if route.method == "GET" {
                    let (status, body, _) = browser.get(&path).await;
                    (status, body)
                } else {
                    let response = browser
                        .client
                        .post(format!("{}{path}", browser.base))
                        .form(&[("_csrf", token.as_str())])
                        .send()
                        .await
                        .expect("probe");
                    let (status, body, _) = read(response).await;
                    (status, body)
                };
                report.probes += 1;
                report.check(
                    &format!(
                        "[{}] probe {} {}",
                        browser.role,
                        route.method,
                        &path[..path.len().min(120)]
                    ),
                    status,
                    &body,
                );
            }
        }
    }
}

async fn scalar_string(app: &TestApp, sql: &str) -> String {
    sqlx::query_scalar(sql).fetch_one(&app.db).await.expect(sql)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_hostile_crawl_of_every_page_and_form_as_each_role_gets_no_server_error_and_no_reflected_markup()
 {
    let started = Instant::now();
    let app = TestApp::spawn().await;
    app.seed_demo().await;

    // Everyone signs in before any hostile login is sent (the throttles
    // would otherwise lock the accounts out).
    let anonymous = Browser::new(&app, "anonyme");
    let resident = Browser::new(&app, "usager");
    let agent = Browser::new(&app, "agent");
    let partner_admin = Browser::new(&app, "admin partenaire");
    let territory_admin = Browser::new(&app, "responsable territoire");
    let super_admin = Browser::new(&app, "super admin");
    for (browser, email) in [
        (&agent, AGENT),
        (&partner_admin, PARTNER_ADMIN),
        (&territory_admin, TERRITORY_ADMIN),
        (&super_admin, SUPER_ADMIN),
    ] {
        browser.log_in(email).await;
    }

    // The resident opens their follow-up link and passes the light check.
    let row: (String, String, String, String) = sqlx::query_as(
        "SELECT CAST(follow_up_code AS CHAR), occupant_first_name, occupant_last_name, postal_code
         FROM reports WHERE status = 'active' AND occupant_first_name IS NOT NULL ORDER BY id LIMIT 1",
    )
    .fetch_one(&app.db)
    .await
    .expect("an active demo case");
    let (code, first, last, postal) = row;
    let space = format!("/suivre-mon-signalement/{code}");
    let (status, _) = resident
        .post_fields(
            &space,
            &space,
            &[
                (
                    "initiale_prenom",
                    &first[..first.char_indices().nth(1).map_or(first.len(), |(i, _)| i)],
                ),
                (
                    "initiale_nom",
                    &last[..last.char_indices().nth(1).map_or(last.len(), |(i, _)| i)],
                ),
                ("code_postal", &postal),
            ],
        )
        .await;
    assert_eq!(status, 303, "the resident passes the check");

    // A photo on an active case of the Rhône, uploaded by the territory
    // admin, so that the documents' forms (edit, rotate, delete) are crawled.
    let case_uuid = scalar_string(
        &app,
        "SELECT r.uuid FROM reports r JOIN users u ON u.email = 'rt69@histologe.localhost'
           JOIN user_partners up ON up.user_id = u.id JOIN partners p ON p.id = up.partner_id
         WHERE r.status = 'active' AND r.territory_id = p.territory_id ORDER BY r.id LIMIT 1",
    )
    .await;
    let (_, html, _) = territory_admin
        .get(&format!("/bo/signalements/{case_uuid}"))
        .await;
    let token = csrf_in(&html);
    let (status, body) = territory_admin
        .submit(
            "POST",
            &format!("/bo/signalements/{case_uuid}/documents?_csrf={token}"),
            true,
            vec![
                (
                    "document_type".to_owned(),
                    Value::Text("photo_situation".to_owned()),
                ),
                (
                    "fichiers".to_owned(),
                    Value::File(
                        "photo.png".to_owned(),
                        crate::report_form::png(),
                        "image/png",
                    ),
                ),
            ],
        )
        .await;
    assert_eq!(status, 303, "a photo is added to a case: {body}");

    // A draft of the public form, so that each of its screens is reached.
    let (status, body) = anonymous
        .post_fields(
            "/signalement/adresse",
            "/signalement/adresse",
            &[
                (
                    "adresse_logement_adresse_detail_numero",
                    "3 rue de la République",
                ),
                ("adresse_logement_adresse_detail_code_postal", "69001"),
                ("adresse_logement_adresse_detail_commune", "Lyon"),
            ],
        )
        .await;
    assert_eq!(status, 303, "a draft starts in 69: {body}");
    let draft_uuid: String =
        scalar_string(&app, "SELECT uuid FROM drafts ORDER BY id DESC LIMIT 1").await;

    // An activation link and a password reset link (for accounts the crawl
    // does not use).
    let (status, _) = partner_admin
        .post_fields(
            "/bo/utilisateurs/nouveau",
            "/bo/utilisateurs/nouveau",
            &[
                ("email", "crawl.nouveau@lyon.fr"),
                ("first_name", "Nadia"),
                ("last_name", "Crawl"),
                ("role", "agent"),
                (
                    "partner_id",
                    &scalar_string(
                        &app,
                        "SELECT CAST(partner_id AS CHAR) FROM user_partners up JOIN users u ON u.id = up.user_id WHERE u.email = 'admin.schs69@histologe.localhost'",
                    )
                    .await,
                ),
            ],
        )
        .await;
    assert_eq!(status, 303, "a user is created for its activation link");
    let activation = app
        .last_link_sent_to("account_activation", "crawl.nouveau@lyon.fr")
        .await;
    let (status, _) = anonymous
        .post_fields(
            "/mot-de-passe-oublie",
            "/mot-de-passe-oublie",
            &[("email", "agent.ars69@histologe.localhost")],
        )
        .await;
    assert!(status < 400, "reset requested");
    let reset = app
        .last_link_sent_to("password_reset", "agent.ars69@histologe.localhost")
        .await;
    let local = |link: &str| {
        link.trim_start_matches(&app.state.config.base_url)
            .to_owned()
    };

    let case_uuid = scalar_string(
        &app,
        "SELECT r.uuid FROM reports r JOIN territories t ON t.id = r.territory_id WHERE t.code = '69A' ORDER BY r.id LIMIT 1",
    )
    .await;
    let known = Known {
        case_uuid,
        draft_uuid: draft_uuid.clone(),
        code: code.clone(),
    };

    let mut report = Report::default();
    let probing = Instant::now();
    // Path probes first, while every session is as it was at sign-in.
    // (The resident's session reaches the public handlers further than an
    // anonymous one: past the follow-up check.)
    probe_paths(&resident, &known, true, &mut report).await;
    probe_paths(&super_admin, &known, false, &mut report).await;
    eprintln!(
        "crawl: {} path probes in {:.1} s",
        report.probes,
        probing.elapsed().as_secs_f64()
    );

    let mut public_entries: Vec<String> = [
        "/",
        "/signalement",
        "/signalement/adresse",
        "/suivre-mon-signalement",
        "/demande-lien-signalement",
        "/connexion",
        "/mot-de-passe-oublie",
        "/statistiques",
        "/plan-du-site",
        "/contact",
        "/conditions-utilisation",
    ]
    .iter()
    .map(|s| (*s).to_owned())
    .collect();
    public_entries.extend(
        Step::ALL
            .iter()
            .map(|step| format!("/signalement/{draft_uuid}/{}", step.slug())),
    );
    public_entries.push(space.clone());
    public_entries.push(format!("{space}/modifier"));
    public_entries.push(local(&activation));
    public_entries.push(local(&reset));
    let back_office = vec!["/bo".to_owned(), "/bo/profil".to_owned()];

    // From the least to the most powerful, so that an account disabled by
    // an administrator's crawl has already been crawled.
    let roles: [(&Browser, Vec<String>); 6] = [
        (&anonymous, public_entries),
        (&resident, vec![space.clone()]),
        (&agent, back_office.clone()),
        (&partner_admin, back_office.clone()),
        (&territory_admin, back_office.clone()),
        (&super_admin, back_office),
    ];
    // Forms outside the back office, and the profile's (each user's own,
    // the same handler for every role), are attacked once, by the first
    // role that finds them (a password check costs an argon2 hash).
    let mut public_forms: HashSet<String> = HashSet::new();
    for (browser, entries) in roles {
        let phase = Instant::now();
        let (pages, mut forms) = crawl(browser, &entries, &mut report).await;
        forms.retain(|(page, form)| {
            let action = action_of(form, page);
            let per_role = action.starts_with("/bo") && !action.starts_with("/bo/profil");
            per_role || public_forms.insert(form_key(form, &action))
        });
        let crawled = phase.elapsed();
        attack(browser, &pages, &forms, &mut report).await;
        eprintln!(
            "crawl as {}: {} pages in {:.1} s, {} forms attacked in {:.1} s",
            browser.role,
            pages.len(),
            crawled.as_secs_f64(),
            forms.len(),
            (phase.elapsed() - crawled).as_secs_f64()
        );
    }

    let elapsed = started.elapsed();
    eprintln!(
        "crawl: {} pages, {} forms, {} hostile submissions ({} accepted), {} path probes, {} failures in {:.1} s",
        report.pages,
        report.forms,
        report.submissions,
        report.accepted,
        report.probes,
        report.failures.len(),
        elapsed.as_secs_f64()
    );
    assert!(
        report.pages > 100,
        "the crawl reached the site ({} pages)",
        report.pages
    );
    assert!(
        report.forms > 30,
        "the crawl found the forms ({})",
        report.forms
    );
    // The markup was taken and stored (a tag's label), so the pages read
    // again after the attack did show it, escaped.
    let stored: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM tags WHERE label = ?")
        .bind(MARKUP)
        .fetch_one(&app.db)
        .await
        .expect("tags");
    assert!(
        stored > 0,
        "the crawl stored the markup somewhere it is shown"
    );
    assert!(
        report.accepted > 100,
        "hostile values went past validation ({} accepted)",
        report.accepted
    );
    assert!(
        report.failures.is_empty(),
        "{} failures:\n{}",
        report.failures.len(),
        report.failures.join("\n")
    );
}

#[test]
fn the_checker_flags_server_errors_and_raw_markup_but_not_escaped_markup() {
    let mut report = Report::default();
    report.check("a", 200, "<p>&#60;script&#62;alert(1)&#60;/script&#62;</p>");
    report.check(
        "b",
        422,
        "<input value=\"&lt;script&gt;alert(1)&lt;/script&gt;\">",
    );
    assert!(report.failures.is_empty(), "{:?}", report.failures);
    report.check("c", 500, "<h1>Erreur inattendue</h1>");
    report.check("d", 200, "<p><script>alert(1)</script></p>");
    assert_eq!(report.failures.len(), 2);
    assert!(report.failures[0].contains("server error 500: Erreur inattendue"));
    assert!(report.failures[1].contains("unescaped"));
}
