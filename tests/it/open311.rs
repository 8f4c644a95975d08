//! Open311 GeoReport v2 (docs/open311.md), driven by a client written to
//! the specification: it knows the paths, the parameters, and which
//! elements are lists, and reads JSON and XML into the same tree, so that
//! both formats are checked to say the same thing.

use std::collections::BTreeMap;

use quick_xml::events::Event;
use reqwest::StatusCode;

use axum::response::IntoResponse;
use histologe::web::open311::{post, render::Format};

use crate::{
    common::{
        TestApp,
        cases::{CaseBuilder, territory_id},
    },
    report_form::{ADMIN_13, open_territory},
};

/// A document as the specification describes it.
#[derive(Debug, Clone, PartialEq)]
enum Node {
    Text(String),
    List(Vec<Node>),
    Map(BTreeMap<String, Node>),
}

impl Node {
    fn list(&self) -> &[Node] {
        match self {
            Node::List(items) => items,
            other => panic!("not a list: {other:?}"),
        }
    }
    fn get(&self, key: &str) -> &Node {
        match self {
            Node::Map(fields) => fields
                .get(key)
                .unwrap_or_else(|| panic!("no {key} in {fields:?}")),
            other => panic!("not an element: {other:?}"),
        }
    }
    fn has(&self, key: &str) -> bool {
        matches!(self, Node::Map(fields) if fields.contains_key(key))
    }
    fn text(&self, key: &str) -> &str {
        match self.get(key) {
            Node::Text(t) => t,
            other => panic!("{key} is not text: {other:?}"),
        }
    }
}

/// The elements the specification defines as lists.
const LISTS: [&str; 7] = [
    "services",
    "service_requests",
    "errors",
    "attributes",
    "values",
    "endpoints",
    "formats",
];

fn from_json(value: &serde_json::Value) -> Node {
    match value {
        serde_json::Value::Null => Node::Text(String::new()),
        serde_json::Value::String(s) => Node::Text(s.clone()),
        serde_json::Value::Array(items) => Node::List(items.iter().map(from_json).collect()),
        serde_json::Value::Object(fields) => Node::Map(
            fields
                .iter()
                .map(|(k, v)| (k.clone(), from_json(v)))
                .collect(),
        ),
        other => Node::Text(other.to_string()),
    }
}

/// An element being read: its name, its children, its text.
type Open = (String, Vec<(String, Node)>, String);

/// Parses an XML document (well-formedness checked by quick-xml, element
/// by element) into the tree; returns the root element's name and content.
fn from_xml(xml: &str) -> (String, Node) {
    assert!(
        xml.starts_with("<?xml version=\"1.0\" encoding=\"utf-8\"?>"),
        "XML declaration: {xml:.80}"
    );
    let mut reader = quick_xml::Reader::from_str(xml);
    reader.config_mut().check_end_names = true;
    // (name, children, text) per open element.
    let mut stack: Vec<Open> = Vec::new();
    let mut root = None;
    loop {
        match reader.read_event().expect("well-formed XML") {
            Event::Start(e) => {
                assert!(
                    e.attributes().next().is_none(),
                    "no attribute, no namespace"
                );
                let name = String::from_utf8(e.name().as_ref().to_vec()).unwrap();
                stack.push((name, Vec::new(), String::new()));
            }
            Event::Empty(e) => {
                let name = String::from_utf8(e.name().as_ref().to_vec()).unwrap();
                let node = if LISTS.contains(&name.as_str()) {
                    Node::List(Vec::new())
                } else {
                    Node::Text(String::new())
                };
                stack
                    .last_mut()
                    .expect("inside the root")
                    .1
                    .push((name, node));
            }
            Event::Text(t) => {
                let text = t.decode().unwrap();
                match stack.last_mut() {
                    Some(open) => open.2 += &text,
                    None => assert!(text.trim().is_empty(), "text outside the root"),
                }
            }
            Event::GeneralRef(r) => {
                let name = String::from_utf8(r.to_vec()).unwrap();
                let c = match name.as_str() {
                    "amp" => "&",
                    "lt" => "<",
                    "gt" => ">",
                    "quot" => "\"",
                    "apos" => "'",
                    other => panic!("unknown entity {other}"),
                };
                stack.last_mut().expect("inside an element").2 += c;
            }
            Event::End(_) => {
                let (name, children, text) = stack.pop().expect("balanced");
                let node = if LISTS.contains(&name.as_str()) {
                    Node::List(children.into_iter().map(|(_, n)| n).collect())
                } else if children.is_empty() {
                    Node::Text(text)
                } else {
                    Node::Map(children.into_iter().collect())
                };
                match stack.last_mut() {
                    Some(parent) => parent.1.push((name, node)),
                    None => root = Some((name, node)),
                }
            }
            Event::Eof => break,
            Event::Decl(_) => {}
            other => panic!("unexpected XML event {other:?}"),
        }
    }
    root.expect("a root element")
}

/// The GeoReport v2 client.
struct GeoReport {
    http: reqwest::Client,
    endpoint: String,
}

/// What the server answered: the status, the raw body and the tree.
struct Reply {
    status: StatusCode,
    body: String,
    root: Option<String>,
    doc: Node,
}

impl GeoReport {
    /// Reads discovery at the endpoint's address. (Discovery advertises the
    /// site's configured address, which a test server on a random port does
    /// not have: the client keeps the address it was given.)
    async fn discover(app: &TestApp) -> (Self, Node) {
        let http = reqwest::Client::new();
        let endpoint = app.url("/open311/v2");
        let body = http
            .get(format!("{endpoint}/discovery.json"))
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap();
        let doc = from_json(&serde_json::from_str(&body).unwrap());
        (Self { http, endpoint }, doc)
    }

    async fn read(&self, response: reqwest::Response, format: &str) -> Reply {
        let status = response.status();
        let content_type = response
            .headers()
            .get("content-type")
            .unwrap()
            .to_str()
            .unwrap()
            .to_owned();
        let body = response.text().await.unwrap();
        let (root, doc) = if format == "xml" {
            assert_eq!(content_type, "text/xml; charset=utf-8");
            let (root, doc) = from_xml(&body);
            (Some(root), doc)
        } else {
            assert_eq!(content_type, "application/json; charset=utf-8");
            (None, from_json(&serde_json::from_str(&body).unwrap()))
        };
        Reply {
            status,
            body,
            root,
            doc,
        }
    }

    async fn get(&self, path: &str, format: &str, query: &[(&str, &str)]) -> Reply {
        let response = self
            .http
            .get(format!("{}/{path}.{format}", self.endpoint))
            .query(query)
            .send()
            .await
            .unwrap();
        self.read(response, format).await
    }

    /// The same resource in both formats, checked to be the same tree.
    async fn get_both(&self, path: &str, query: &[(&str, &str)]) -> Reply {
        let json = self.get(path, "json", query).await;
        let xml = self.get(path, "xml", query).await;
        assert_eq!(json.status, xml.status, "{path}");
        assert_eq!(json.doc, xml.doc, "{path}: JSON and XML differ");
        json
    }

    async fn post(&self, format: &str, fields: &[(&str, String)]) -> Reply {
        let response = self
            .http
            .post(format!("{}/requests.{format}", self.endpoint))
            .form(fields)
            .send()
            .await
            .unwrap();
        self.read(response, format).await
    }
}

async fn precision_id(app: &TestApp, code: &str) -> u32 {
    sqlx::query_scalar("SELECT id FROM defect_precisions WHERE code = ?")
        .bind(code)
        .fetch_one(&app.db)
        .await
        .unwrap_or_else(|e| panic!("precision {code}: {e}"))
}

fn assert_error(reply: &Reply, status: u16) {
    assert_eq!(reply.status.as_u16(), status, "{}", reply.body);
    let errors = reply.doc.list();
    assert!(!errors.is_empty(), "{}", reply.body);
    for error in errors {
        assert_eq!(error.text("code"), status.to_string());
        assert!(!error.text("description").is_empty());
    }
}

#[tokio::test]
async fn a_georeport_client_reads_discovery_services_and_their_definitions() {
    let app = TestApp::spawn().await;
    let (client, discovery) = GeoReport::discover(&app).await;
    let endpoint = &discovery.get("endpoints").list()[0];
    assert_eq!(
        endpoint.text("specification"),
        "http://wiki.open311.org/GeoReport_v2"
    );
    assert_eq!(
        endpoint.text("url"),
        format!("{}/open311/v2", app.state.config.base_url)
    );
    let formats: Vec<&Node> = endpoint.get("formats").list().iter().collect();
    assert!(formats.contains(&&Node::Text("text/xml".into())));
    assert!(formats.contains(&&Node::Text("application/json".into())));
    for field in ["changeset", "contact", "key_service"] {
        assert!(!discovery.text(field).is_empty(), "{field}");
    }
    let xml = client.get("discovery", "xml", &[]).await;
    assert_eq!(xml.root.as_deref(), Some("discovery"));
    assert_eq!(xml.doc, discovery);

    let services = client.get_both("services", &[]).await;
    assert_eq!(services.status, StatusCode::OK);
    let xml = client.get("services", "xml", &[]).await;
    assert_eq!(xml.root.as_deref(), Some("services"));
    let humidity = services
        .doc
        .list()
        .iter()
        .find(|s| s.text("service_code") == "desordres_logement_humidite")
        .expect("the humidity category is a service");
    assert_eq!(humidity.text("metadata"), "true");
    assert_eq!(humidity.text("type"), "realtime");
    assert_eq!(humidity.text("group"), "Logement");
    assert!(!humidity.text("service_name").is_empty());
    assert!(
        !services
            .doc
            .list()
            .iter()
            .any(|s| s.text("service_code") == "desordres_type_composition_logement"),
        "the composition category has no screen, hence no service"
    );

    let definition = client
        .get_both(
            "services/desordres_logement_humidite",
            &[("jurisdiction_id", "x")],
        )
        .await;
    assert_eq!(definition.status, StatusCode::OK);
    assert_eq!(
        definition.doc.text("service_code"),
        "desordres_logement_humidite"
    );
    let attributes = definition.doc.get("attributes").list();
    let first = &attributes[0];
    assert_eq!(first.text("code"), "desordres_logement_humidite");
    assert_eq!(first.text("datatype"), "multivaluelist");
    assert_eq!(first.text("required"), "true");
    assert!(
        first
            .get("values")
            .list()
            .iter()
            .any(|v| v.text("key") == "desordres_logement_humidite_cuisine")
    );
    let orders: Vec<String> = attributes
        .iter()
        .map(|a| a.text("order").to_owned())
        .collect();
    let expected: Vec<String> = (1..=attributes.len()).map(|i| i.to_string()).collect();
    assert_eq!(orders, expected, "orders are unique and positive");
    for attribute in attributes {
        assert_eq!(attribute.text("variable"), "true");
        let datatype = attribute.text("datatype");
        assert!(
            [
                "string",
                "number",
                "datetime",
                "text",
                "singlevaluelist",
                "multivaluelist"
            ]
            .contains(&datatype),
            "{datatype}"
        );
        if datatype.ends_with("valuelist") {
            assert!(!attribute.get("values").list().is_empty(), "{attribute:?}");
        }
    }
    assert!(
        attributes
            .iter()
            .any(|a| a.text("code") == "coordonnees_occupant_nom"),
        "the form's other questions are attributes too"
    );

    for format in ["json", "xml"] {
        let unknown = client.get("services/nope", format, &[]).await;
        assert_error(&unknown, 404);
        let unknown = client.get("tokens/abc", format, &[]).await;
        assert_error(&unknown, 404);
    }
}

#[tokio::test]
async fn requests_are_public_and_anonymised() {
    let app = TestApp::spawn().await;
    let humidity = precision_id(
        &app,
        "desordres_logement_humidite_cuisine_details_fuite_oui",
    )
    .await;
    let case = CaseBuilder::new("69A")
        .reference("2026-17")
        .status("active")
        .occupant("Gwendoline", "Zyskowicz")
        .occupant_email("gwendoline.zyskowicz@example.org")
        .occupant_phone("+33612345678")
        .street("27 rue Paul Bert")
        .floor_and_door("3", "12B")
        .details("Mon voisin Marcel Quintard fait du bruit")
        .location(45.759_712, 4.842_235)
        .with_defects(&[humidity])
        .create(&app)
        .await;
    let (client, _) = GeoReport::discover(&app).await;

    let list = client.get_both("requests", &[]).await;
    assert_eq!(list.status, StatusCode::OK);
    let xml = client.get("requests", "xml", &[]).await;
    assert_eq!(xml.root.as_deref(), Some("service_requests"));
    let one = client.get_both("requests/69A-2026-17", &[]).await;
    assert_eq!(one.doc, list.doc, "a list of one, the same request");
    let request = &one.doc.list()[0];
    assert_eq!(request.text("service_request_id"), "69A-2026-17");
    assert_eq!(request.text("status"), "open");
    assert_eq!(
        request.text("status_notes"),
        "Signalement validé, en cours de traitement."
    );
    assert_eq!(request.text("service_code"), "desordres_logement_humidite");
    assert_eq!(request.text("zipcode"), "69003");
    assert_eq!(request.text("address"), "69003 Lyon");
    assert_eq!(request.text("lat"), "45.76");
    assert_eq!(request.text("long"), "4.84");
    assert!(request.text("requested_datetime").ends_with('Z'));
    assert!(!request.has("description"));

    for body in [&list.body, &xml.body, &one.body] {
        for secret in [
            "Gwendoline",
            "Zyskowicz",
            "gwendoline",
            "@example.org",
            "612345678",
            "Paul Bert",
            "12B",
            "Quintard",
            "45.7597",
            "4.8422",
            &case.uuid,
            &case.follow_up_code,
        ] {
            assert!(!body.contains(secret), "{secret:?} published in {body}");
        }
    }
}

#[tokio::test]
async fn requests_are_filtered_paged_and_bounded_to_ninety_days() {
    let app = TestApp::spawn().await;
    let humidity = precision_id(
        &app,
        "desordres_logement_humidite_cuisine_details_fuite_oui",
    )
    .await;
    let noise = precision_id(&app, "desordres_logement_bruit_voisins").await;
    let now = time::OffsetDateTime::now_utc();
    let days_ago = |n: i64| {
        let at = now - time::Duration::days(n);
        format!(
            "{:04}-{:02}-{:02} 10:00:00",
            at.year(),
            u8::from(at.month()),
            at.day()
        )
    };
    for (reference, status, defect, age) in [
        ("2026-1", "active", humidity, 3),
        ("2026-2", "closed", noise, 5),
        ("2026-3", "need_validation", humidity, 1),
        ("2026-4", "refused", humidity, 2),
        ("2026-5", "archived", humidity, 2),
        ("2025-6", "active", humidity, 200),
    ] {
        let mut case = CaseBuilder::new("69A")
            .reference(reference)
            .status(status)
            .created(&days_ago(age))
            .with_defects(&[defect]);
        if status == "closed" {
            case = case.closed(Some(&days_ago(1)));
        }
        if status == "refused" {
            case = case.refusal_reason(Some("doublon"));
        }
        case.create(&app).await;
    }
    let (client, _) = GeoReport::discover(&app).await;
    let ids = |reply: &Reply| -> Vec<String> {
        reply
            .doc
            .list()
            .iter()
            .map(|r| r.text("service_request_id").to_owned())
            .collect()
    };

    let all = client.get_both("requests", &[]).await;
    assert_eq!(
        ids(&all),
        ["69A-2026-1", "69A-2026-2"],
        "newest first, validated only"
    );
    let closed = &all.doc.list()[1];
    assert_eq!(closed.text("status"), "closed");
    assert_eq!(
        closed.text("updated_datetime"),
        format!("{}Z", days_ago(1).replace(' ', "T"))
    );

    let open = client.get_both("requests", &[("status", "open")]).await;
    assert_eq!(ids(&open), ["69A-2026-1"]);
    let by_service = client
        .get_both(
            "requests",
            &[("service_code", "desordres_logement_bruit,x")],
        )
        .await;
    assert_eq!(ids(&by_service), ["69A-2026-2"]);
    let paged = client
        .get_both("requests", &[("page_size", "1"), ("page", "2")])
        .await;
    assert_eq!(ids(&paged), ["69A-2026-2"]);

    // Older than the default 90 days: only with an explicit window.
    let start = now - time::Duration::days(210);
    let end = now - time::Duration::days(150);
    let fmt = |at: time::OffsetDateTime| {
        at.format(&time::format_description::well_known::Rfc3339)
            .unwrap()
    };
    let old = client
        .get_both(
            "requests",
            &[("start_date", &fmt(start)), ("end_date", &fmt(end))],
        )
        .await;
    assert_eq!(ids(&old), ["69A-2025-6"]);
    for format in ["json", "xml"] {
        let too_wide = client
            .get(
                "requests",
                format,
                &[
                    ("start_date", &fmt(now - time::Duration::days(91))),
                    ("end_date", &fmt(now)),
                ],
            )
            .await;
        assert_error(&too_wide, 400);
        assert!(too_wide.body.contains("90 jours"), "{}", too_wide.body);
        assert_error(
            &client
                .get("requests", format, &[("status", "pending")])
                .await,
            400,
        );
        assert_error(
            &client
                .get("requests", format, &[("page_size", "5000")])
                .await,
            400,
        );
    }

    // By id: a report not yet validated can be followed, a refused one
    // reads closed, an archived one does not exist.
    let pending = client.get_both("requests/69A-2026-3", &[]).await;
    assert_eq!(pending.doc.list()[0].text("status"), "open");
    assert_eq!(
        pending.doc.list()[0].text("status_notes"),
        "Signalement reçu, en attente de validation."
    );
    let refused = client.get_both("requests/69A-2026-4", &[]).await;
    assert_eq!(refused.doc.list()[0].text("status"), "closed");
    for format in ["json", "xml"] {
        assert_error(&client.get("requests/69A-2026-5", format, &[]).await, 404);
        assert_error(&client.get("requests/69A-9999-1", format, &[]).await, 404);
        assert_error(&client.get("requests/1", format, &[]).await, 404);
    }
    let several = client
        .get_both(
            "requests",
            &[
                ("service_request_id", "69A-2026-3,69A-2026-5,69A-2025-6"),
                ("status", "closed"),
            ],
        )
        .await;
    assert_eq!(
        ids(&several),
        ["69A-2026-3", "69A-2025-6"],
        "ids override the other filters; archived stays hidden"
    );
}

/// A request as a partner system sends it: Open311's own fields, then the
/// attributes of the service definition.
fn humidity_request() -> Vec<(&'static str, String)> {
    let mut fields: Vec<(&'static str, String)> = vec![
        ("jurisdiction_id", "histologe.beta.gouv.fr".into()),
        ("service_code", "desordres_logement_humidite".into()),
        (
            "address_string",
            "12 rue de la République, 13001 Marseille".into(),
        ),
        ("email", "claire.martin@schs-marseille.example".into()),
        ("first_name", "Claire".into()),
        ("last_name", "Martin".into()),
        ("phone", "04 91 00 00 00".into()),
        (
            "description",
            "Moisissures dans la chambre de l’enfant de Mme Petit.".into(),
        ),
    ];
    for (code, value) in [
        (
            "desordres_logement_humidite][",
            "desordres_logement_humidite_piece_a_vivre",
        ),
        (
            "desordres_logement_humidite_piece_a_vivre_details_fuite",
            "non",
        ),
        (
            "desordres_logement_humidite_piece_a_vivre_details_machine",
            "non",
        ),
        (
            "signalement_concerne_profil_detail_profil_occupant",
            "locataire",
        ),
        ("signalement_concerne_logement_social_autre_tiers", "non"),
        ("coordonnees_occupant_nom", "Petit"),
        ("coordonnees_occupant_prenom", "Inès"),
        ("coordonnees_bailleur_nom", "SCI Les Tilleuls"),
        ("info_procedure_bailleur_prevenu", "non"),
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
        ("composition_logement_nombre_personnes", "3"),
        ("composition_logement_nombre_enfants", "1"),
        ("composition_logement_enfants", "oui"),
        ("bail_dpe_bail", "nsp"),
        ("bail_dpe_etat_des_lieux", "nsp"),
        ("bail_dpe_dpe", "nsp"),
        ("logement_social_allocation", "nsp"),
        ("travailleur_social_quitte_logement", "nsp"),
        ("travailleur_social_accompagnement", "nsp"),
        ("info_procedure_assurance_contactee", "non"),
        ("info_procedure_depart_apres_travaux", "nsp"),
    ] {
        let name: &'static str = Box::leak(format!("attribute[{code}]").into_boxed_str());
        fields.push((name, value.to_owned()));
    }
    fields
}

/// The sender a verified key stands for (an API account of territory 13).
async fn sender(app: &TestApp) -> post::Sender {
    post::Sender {
        account_id: 1,
        name: "SCHS de Marseille".into(),
        territory_id: territory_id(app, "13").await,
    }
}

/// Files a request as the endpoint does once the key is verified.
async fn file(app: &TestApp, fields: &[(&str, String)], format: Format) -> Reply {
    let pairs: Vec<(String, String)> = fields
        .iter()
        .map(|(k, v)| ((*k).to_owned(), v.clone()))
        .collect();
    let response = post::file_request(&app.state, &sender(app).await, &pairs, format)
        .await
        .into_response();
    let status = StatusCode::from_u16(response.status().as_u16()).unwrap();
    let bytes = axum::body::to_bytes(response.into_body(), usize::MAX)
        .await
        .unwrap();
    let body = String::from_utf8(bytes.to_vec()).unwrap();
    let (root, doc) = match format {
        Format::Xml => {
            let (root, doc) = from_xml(&body);
            (Some(root), doc)
        }
        Format::Json => (None, from_json(&serde_json::from_str(&body).unwrap())),
    };
    Reply {
        status,
        body,
        root,
        doc,
    }
}

/// An API account of territory 13, made as the back office makes it;
/// returns its secret, the Open311 `api_key`.
async fn api_key(app: &TestApp) -> String {
    let territory_id = territory_id(app, "13").await;
    let (secret, secret_hash) = histologe::auth::api::new_secret();
    let admin: u64 = sqlx::query_scalar("SELECT id FROM users WHERE email = ?")
        .bind(ADMIN_13)
        .fetch_one(&app.db)
        .await
        .unwrap();
    let mut conn = app.db.acquire().await.unwrap();
    histologe::db::api::insert_account(
        &mut conn,
        &histologe::db::api::NewAccount {
            uuid: &uuid::Uuid::new_v4().to_string(),
            name: "SCHS de Marseille",
            territory_id,
            scope: &histologe::domain::api::AccountScope::Territory(territory_id),
            permissions: &histologe::domain::api::Permissions::new(vec![
                histologe::domain::api::Permission::ReadCases,
            ]),
            secret_hash: &secret_hash,
            created_by_user_id: admin,
        },
    )
    .await
    .unwrap();
    secret
}

#[tokio::test]
async fn a_georeport_client_posts_with_its_api_key_and_reads_the_request_back() {
    let app = TestApp::spawn().await;
    open_territory(&app).await;
    let key = api_key(&app).await;
    let (client, _) = GeoReport::discover(&app).await;
    let mut fields = humidity_request();
    fields.push(("api_key", key));
    let filed = client.post("json", &fields).await;
    assert_eq!(filed.status, StatusCode::OK, "{}", filed.body);
    let id = filed.doc.list()[0].text("service_request_id").to_owned();
    assert!(id.starts_with("13-"), "{id}");
    let read = client.get_both(&format!("requests/{id}"), &[]).await;
    assert_eq!(read.doc.list()[0].text("service_request_id"), id);
    assert_eq!(read.doc.list()[0].text("status"), "open");
    let structure: String =
        sqlx::query_scalar("SELECT declarant_structure FROM reports WHERE reference = ?")
            .bind(id.trim_start_matches("13-"))
            .fetch_one(&app.db)
            .await
            .unwrap();
    assert_eq!(structure, "SCHS de Marseille");
}

#[tokio::test]
async fn posting_without_a_valid_api_key_is_forbidden() {
    let app = TestApp::spawn().await;
    open_territory(&app).await;
    let (client, _) = GeoReport::discover(&app).await;
    let fields = humidity_request();
    for format in ["json", "xml"] {
        assert_error(&client.post(format, &fields).await, 403);
        let mut keyed = fields.clone();
        keyed.push(("api_key", "0".repeat(64)));
        assert_error(&client.post(format, &keyed).await, 403);
    }
    let filed: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM reports")
        .fetch_one(&app.db)
        .await
        .unwrap();
    assert_eq!(filed, 0);
}

#[tokio::test]
async fn a_posted_request_is_filed_by_the_form_path_and_read_back() {
    let app = TestApp::spawn().await;
    open_territory(&app).await;
    let (client, _) = GeoReport::discover(&app).await;

    // The client checks its attributes against the service definition.
    let definition = client
        .get("services/desordres_logement_humidite", "json", &[])
        .await;
    let codes: Vec<&str> = definition
        .doc
        .get("attributes")
        .list()
        .iter()
        .map(|a| a.text("code"))
        .collect();
    let fields = humidity_request();
    for (name, _) in &fields {
        if let Some(code) = name.strip_prefix("attribute[") {
            let code = code.trim_end_matches("[]").trim_end_matches(']');
            assert!(codes.contains(&code), "{code} is not in the definition");
        }
    }

    // Missing answers: 400, every one named by its Open311 field.
    let partial: Vec<(&str, String)> = fields
        .iter()
        .filter(|(k, _)| !k.contains("coordonnees_occupant") && *k != "email")
        .cloned()
        .collect();
    let refused = file(&app, &partial, Format::Json).await;
    assert_error(&refused, 400);
    assert!(refused.doc.list().len() >= 2, "{}", refused.body);
    for field in ["attribute[coordonnees_occupant_nom]", "email"] {
        assert!(refused.body.contains(field), "{field}: {}", refused.body);
    }
    let mut unknown = fields.clone();
    unknown[1].1 = "desordres_inconnus".into();
    assert_error(&file(&app, &unknown, Format::Xml).await, 404);
    let mut elsewhere = fields.clone();
    elsewhere[2].1 = "27 rue Paul Bert 69003 Lyon".into();
    assert_error(&file(&app, &elsewhere, Format::Json).await, 400);
    let mut odd = fields.clone();
    odd.push(("attribute[inconnu]", "1".into()));
    assert_error(&file(&app, &odd, Format::Json).await, 400);
    let filed_before: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM reports")
        .fetch_one(&app.db)
        .await
        .unwrap();
    assert_eq!(filed_before, 0);

    // Filed, in XML: the new reference, then read back by id over HTTP.
    let filed = file(&app, &fields, Format::Xml).await;
    assert_eq!(filed.status, StatusCode::OK, "{}", filed.body);
    assert_eq!(filed.root.as_deref(), Some("service_requests"));
    let id = filed.doc.list()[0].text("service_request_id").to_owned();
    assert!(id.starts_with("13-"), "{id}");
    assert!(!filed.doc.list()[0].text("service_notice").is_empty());
    let read = client.get_both(&format!("requests/{id}"), &[]).await;
    let request = &read.doc.list()[0];
    assert_eq!(request.text("status"), "open");
    assert_eq!(request.text("service_code"), "desordres_logement_humidite");
    assert_eq!(request.text("zipcode"), "13001");
    assert!(!read.body.contains("Martin") && !read.body.contains("Petit"));

    // The form's own filing: the profile, the declarant, the score, the jobs.
    let reference = id.trim_start_matches("13-");
    let row: (String, String, String, f64, String) = sqlx::query_as(
        "SELECT declarant_profile, declarant_email, declarant_structure,
                CAST(severity_score AS DOUBLE), status
         FROM reports WHERE reference = ?",
    )
    .bind(reference)
    .fetch_one(&app.db)
    .await
    .unwrap();
    assert_eq!(row.0, "tiers_pro");
    assert_eq!(row.1, "claire.martin@schs-marseille.example");
    assert_eq!(row.2, "SCHS de Marseille");
    assert!(row.3 > 0.0, "scored: {}", row.3);
    assert_eq!(row.4, "need_validation");
    let jobs = serde_json::to_string(&app.pending_jobs().await).unwrap();
    assert!(
        jobs.contains("claire.martin@schs-marseille.example"),
        "{jobs}"
    );
    assert!(jobs.contains(ADMIN_13), "{jobs}");
}

/// Posts a request with an `Idempotency-Key`; the reply and whether it was
/// a replay.
async fn post_keyed(client: &GeoReport, fields: &[(&str, String)], key: &str) -> (Reply, bool) {
    let response = client
        .http
        .post(format!("{}/requests.json", client.endpoint))
        .header("Idempotency-Key", key)
        .form(fields)
        .send()
        .await
        .unwrap();
    let replayed = response
        .headers()
        .get("idempotent-replayed")
        .is_some_and(|v| v == "true");
    (client.read(response, "json").await, replayed)
}

async fn report_count(app: &TestApp) -> i64 {
    sqlx::query_scalar("SELECT COUNT(*) FROM reports")
        .fetch_one(&app.db)
        .await
        .unwrap()
}

#[tokio::test]
async fn a_retried_post_files_once_per_idempotency_key_and_every_post_is_audited() {
    let app = TestApp::spawn().await;
    open_territory(&app).await;
    let key = api_key(&app).await;
    let account: String = sqlx::query_scalar("SELECT uuid FROM api_accounts")
        .fetch_one(&app.db)
        .await
        .unwrap();
    let (client, _) = GeoReport::discover(&app).await;
    let mut fields = humidity_request();
    fields.push(("api_key", key));

    let (first, replayed) = post_keyed(&client, &fields, "envoi-42").await;
    assert_eq!(first.status, StatusCode::OK, "{}", first.body);
    assert!(!replayed);
    let (again, replayed) = post_keyed(&client, &fields, "envoi-42").await;
    assert_eq!(again.status, StatusCode::OK, "{}", again.body);
    assert!(replayed, "the retry is the first answer replayed");
    assert_eq!(again.body, first.body);
    assert_eq!(report_count(&app).await, 1);

    // The same key for another request is refused, nothing is filed.
    let mut other = fields.clone();
    other.push(("description", "Autre demande".to_owned()));
    let (reused, _) = post_keyed(&client, &other, "envoi-42").await;
    assert_error(&reused, 400);
    assert!(reused.body.contains("Idempotency-Key"), "{}", reused.body);
    assert_eq!(report_count(&app).await, 1);

    // Two sends of one key at once: one report.
    let (a, b) = tokio::join!(
        post_keyed(&client, &fields, "envoi-43"),
        post_keyed(&client, &fields, "envoi-43")
    );
    let statuses = [a.0.status.as_u16(), b.0.status.as_u16()];
    assert!(statuses.contains(&200), "{statuses:?}");
    assert!(
        statuses.iter().all(|s| [200, 409].contains(s)),
        "{statuses:?}: {} / {}",
        a.0.body,
        b.0.body
    );
    assert_eq!(report_count(&app).await, 2);

    // A refused request keeps no key: corrected, it is filed.
    let mut incomplete = fields.clone();
    incomplete.retain(|(k, _)| *k != "address_string");
    let (refused, _) = post_keyed(&client, &incomplete, "envoi-44").await;
    assert_error(&refused, 400);
    let (filed, replayed) = post_keyed(&client, &fields, "envoi-44").await;
    assert_eq!(filed.status, StatusCode::OK, "{}", filed.body);
    assert!(!replayed);
    assert_eq!(report_count(&app).await, 3);

    let audited: Vec<(String, String, i64)> = sqlx::query_as(
        "SELECT actor_email, CAST(JSON_EXTRACT(diff, '$.appel') AS CHAR),
                CAST(JSON_EXTRACT(diff, '$.statut') AS SIGNED)
         FROM audit_events WHERE action = 'api_call' ORDER BY id",
    )
    .fetch_all(&app.db)
    .await
    .unwrap();
    assert_eq!(audited.len(), 7, "{audited:?}");
    for (actor, call, _) in &audited {
        assert_eq!(actor, &format!("api:{account}"));
        assert_eq!(call, "\"POST /open311/v2/{file}\"");
    }
    assert_eq!(audited[0].2, 200);
    assert_eq!(audited[2].2, 400);
}

#[tokio::test]
async fn public_reads_are_limited_per_address_with_a_french_retry_after() {
    let app = TestApp::spawn_tweaked(|config| config.open311_rate_per_minute = 3).await;
    let (client, _) = GeoReport::discover(&app).await;
    for _ in 0..2 {
        assert_eq!(
            client.get("services", "json", &[]).await.status,
            StatusCode::OK
        );
    }
    for format in ["json", "xml"] {
        let response = client
            .http
            .get(format!("{}/requests.{format}", client.endpoint))
            .send()
            .await
            .unwrap();
        let retry_after: u64 = response.headers()["retry-after"]
            .to_str()
            .unwrap()
            .parse()
            .unwrap();
        assert!((1..=60).contains(&retry_after), "{retry_after}");
        let refused = client.read(response, format).await;
        assert_error(&refused, 429);
        assert!(
            refused.body.contains("Trop de requêtes"),
            "{}",
            refused.body
        );
    }
}
