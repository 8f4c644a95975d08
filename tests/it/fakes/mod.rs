//! Local fake servers of the external services, following docs/contracts.md
//! field by field: Brevo, BAN, ADEME DPE, Esabora (SCHS and SI-SH), Zapier
//! and a webhook receiver that verifies signatures. Each one is an axum
//! server on 127.0.0.1:0 inside the test process; it records every request
//! and answers either from a script of canned replies (first in, first
//! out) or with its service's normal behaviour.

#![allow(dead_code)]

use std::{
    collections::VecDeque,
    sync::{Arc, Mutex},
    time::Duration,
};

use axum::{
    Router,
    body::Bytes,
    http::{HeaderMap, Method, StatusCode, Uri},
    response::{IntoResponse, Response},
};
use serde_json::{Value, json};

/// A request as received.
#[derive(Debug, Clone)]
pub struct Recorded {
    pub method: String,
    pub path: String,
    pub query: String,
    pub headers: HeaderMap,
    pub body: Bytes,
    /// The status the fake answered.
    pub status: u16,
}

impl Recorded {
    pub fn json(&self) -> Value {
        serde_json::from_slice(&self.body).unwrap_or(Value::Null)
    }
    pub fn header(&self, name: &str) -> Option<String> {
        self.headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned)
    }
    /// A decoded query parameter.
    pub fn param(&self, name: &str) -> Option<String> {
        serde_urlencoded::from_str::<Vec<(String, String)>>(&self.query)
            .ok()?
            .into_iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v)
    }
}

/// A canned answer.
#[derive(Debug, Clone)]
pub struct Reply {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: String,
    /// Wait this long before answering (a hanging server).
    pub delay: Duration,
}

impl Reply {
    pub fn json(status: u16, body: Value) -> Self {
        Self {
            status,
            headers: vec![("content-type".into(), "application/json".into())],
            body: body.to_string(),
            delay: Duration::ZERO,
        }
    }
    pub fn text(status: u16, body: &str) -> Self {
        Self {
            status,
            headers: vec![("content-type".into(), "text/plain".into())],
            body: body.into(),
            delay: Duration::ZERO,
        }
    }
    pub fn header(mut self, name: &str, value: &str) -> Self {
        self.headers.push((name.into(), value.into()));
        self
    }
    pub fn delayed(mut self, delay: Duration) -> Self {
        self.delay = delay;
        self
    }
    /// Never answers within a test's lifetime.
    pub fn hang() -> Self {
        Self::text(200, "").delayed(Duration::from_secs(3600))
    }
}

type Behaviour = Arc<dyn Fn(&Recorded, &[Recorded]) -> Reply + Send + Sync>;

struct State {
    requests: Vec<Recorded>,
    script: VecDeque<Reply>,
}

/// A running fake.
#[derive(Clone)]
pub struct Fake {
    pub url: String,
    state: Arc<Mutex<State>>,
}

impl Fake {
    /// Starts a fake whose normal answer is computed by `behaviour` from
    /// the request and the requests received before it.
    pub async fn start(
        behaviour: impl Fn(&Recorded, &[Recorded]) -> Reply + Send + Sync + 'static,
    ) -> Self {
        let state = Arc::new(Mutex::new(State {
            requests: Vec::new(),
            script: VecDeque::new(),
        }));
        let behaviour: Behaviour = Arc::new(behaviour);
        let shared = state.clone();
        let app = Router::new().fallback(
            move |method: Method, uri: Uri, headers: HeaderMap, body: Bytes| {
                let state = shared.clone();
                let behaviour = behaviour.clone();
                async move {
                    let mut request = Recorded {
                        method: method.to_string(),
                        path: uri.path().to_owned(),
                        query: uri.query().unwrap_or_default().to_owned(),
                        headers,
                        body,
                        status: 0,
                    };
                    let reply = {
                        let mut state = state.lock().unwrap();
                        let reply = state
                            .script
                            .pop_front()
                            .unwrap_or_else(|| behaviour(&request, &state.requests));
                        request.status = reply.status;
                        state.requests.push(request);
                        reply
                    };
                    if !reply.delay.is_zero() {
                        tokio::time::sleep(reply.delay).await;
                    }
                    respond(reply)
                }
            },
        );
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind fake");
        let url = format!("http://{}", listener.local_addr().expect("addr"));
        tokio::spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
        Self { url, state }
    }

    /// The next answers, before the normal behaviour resumes.
    pub fn script(&self, replies: impl IntoIterator<Item = Reply>) {
        self.state.lock().unwrap().script.extend(replies);
    }

    pub fn requests(&self) -> Vec<Recorded> {
        self.state.lock().unwrap().requests.clone()
    }

    pub fn count(&self) -> usize {
        self.state.lock().unwrap().requests.len()
    }
}

fn respond(reply: Reply) -> Response {
    let mut response = (
        StatusCode::from_u16(reply.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR),
        reply.body,
    )
        .into_response();
    for (name, value) in reply.headers {
        response.headers_mut().insert(
            axum::http::HeaderName::from_bytes(name.as_bytes()).unwrap(),
            value.parse().unwrap(),
        );
    }
    response
}

// ------------------------------------------------------------------ Brevo

pub const BREVO_KEY: &str = "xkeysib-test";

/// Brevo `POST /v3/smtp/email` (§3.2, §3.3) and `GET
/// /v3/smtp/statistics/events?tags=` (§3.4): `api-key` required (401
/// `unauthorized` otherwise), sender, recipients and subject required (400
/// `missing_parameter`), recipient e-mails checked (400 `invalid_parameter`
/// "email is not valid in to"); 201 `{"messageId": "<…@smtp-relay.mailin.fr>"}`.
pub async fn brevo() -> Fake {
    Fake::start(|request, previous| {
        // The event log (§3.4): one `requests` event per e-mail accepted
        // with the searched tag.
        if request.method == "GET" && request.path == "/v3/smtp/statistics/events" {
            if request.header("api-key").as_deref() != Some(BREVO_KEY) {
                return Reply::json(
                    401,
                    json!({"code": "unauthorized", "message": "Key not found"}),
                );
            }
            let tag = request.param("tags").unwrap_or_default();
            let events: Vec<Value> = previous
                .iter()
                .enumerate()
                .filter(|(_, r)| r.method == "POST" && r.status == 201)
                .filter(|(_, r)| {
                    r.json()["tags"]
                        .as_array()
                        .is_some_and(|tags| tags.iter().any(|t| t.as_str() == Some(tag.as_str())))
                })
                .map(|(n, r)| {
                    json!({
                        "email": r.json()["to"][0]["email"],
                        "date": "2026-11-23T12:00:00.000+01:00",
                        "messageId": format!("<logged.{n}@smtp-relay.mailin.fr>"),
                        "event": "requests",
                        "tag": tag,
                    })
                })
                .collect();
            return Reply::json(200, json!({ "events": events }));
        }
        if request.method != "POST" || request.path != "/v3/smtp/email" {
            return Reply::json(
                404,
                json!({"code": "document_not_found", "message": "Not found"}),
            );
        }
        if request.header("api-key").as_deref() != Some(BREVO_KEY) {
            return Reply::json(
                401,
                json!({"code": "unauthorized", "message": "Key not found"}),
            );
        }
        let body = request.json();
        if body["sender"]["email"].as_str().is_none() || body["subject"].as_str().is_none() {
            return Reply::json(
                400,
                json!({"code": "missing_parameter", "message": "sender and subject are required"}),
            );
        }
        let to = body["to"].as_array().cloned().unwrap_or_default();
        if to.is_empty() {
            return Reply::json(
                400,
                json!({"code": "missing_parameter", "message": "to is missing"}),
            );
        }
        if to
            .iter()
            .any(|r| !r["email"].as_str().is_some_and(|e| e.contains('@')))
        {
            return Reply::json(
                400,
                json!({"code": "invalid_parameter", "message": "email is not valid in to"}),
            );
        }
        Reply::json(
            201,
            json!({"messageId": format!("<2026112312{:04}.{}@smtp-relay.mailin.fr>", previous.len(), previous.len() + 1)}),
        )
    })
    .await
}

/// One event of Brevo's transactional webhook (docs/contracts.md §3.5:
/// Brevo's own sample of a hard bounce) for `email`, `event` and `message_id`.
pub fn brevo_webhook_event(event: &str, email: &str, message_id: &str) -> Value {
    json!({"date": "2025-09-16 17:47:53", "email": email, "event": event,
        "id": 1234567890, "message-id": message_id,
        "reason": "hard bounce : recipient email does not exist",
        "sender_email": "notifications@signal-logement.beta.gouv.fr",
        "subject": "SIGNAL-LOGEMENT DORDOGNE - [2024-439 - Toto] Nouveau suivi",
        "tag": ["Pro Nouveau Suivi Signalement"], "tags": ["Pro Nouveau Suivi Signalement"],
        "ts": 1758037673, "ts_epoch": 1758037673718u64, "ts_event": 1758037673,
        "uuid": "00000000-0000-0000-0000-000000000000"})
}

// -------------------------------------------------------------------- BAN

/// The captured BAN answer (§1.3), with a chosen score.
pub fn ban_answer(score: f64) -> Value {
    json!({
        "type": "FeatureCollection", "version": "draft",
        "features": [{
            "type": "Feature",
            "geometry": {"type": "Point", "coordinates": [-1.446559, 47.349607]},
            "properties": {
                "label": "8 la bodiniere 44850 Saint-Mars-du-Désert",
                "score": score, "housenumber": "8", "id": "44179_xarfhv_00008",
                "name": "8 la bodiniere", "postcode": "44850", "citycode": "44179",
                "x": 364485.73, "y": 6703813.17, "city": "Saint-Mars-du-Désert",
                "context": "44, Loire-Atlantique, Pays de la Loire", "type": "housenumber",
                "importance": 0.48312, "street": "la bodiniere", "_type": "address"
            }
        }],
        "attribution": "BAN", "licence": "ETALAB-2.0", "limit": 1
    })
}

/// Géoplateforme `GET /search` and `/search/` (§1.5): `q` of 3–200 chars or
/// the 400 body; "nowhere" in the query gives an empty collection; anything
/// else the captured answer with `score`.
pub async fn ban(score: f64) -> Fake {
    Fake::start(move |request, _| {
        if request.method != "GET" || !matches!(request.path.as_str(), "/search" | "/search/") {
            return Reply::json(404, json!({"code": 404, "message": "Not found"}));
        }
        let q = request.param("q").unwrap_or_default();
        let len = q.chars().count();
        if !(3..=200).contains(&len) || !q.chars().next().is_some_and(char::is_alphanumeric) {
            return Reply::json(
                400,
                json!({"code": 400, "message": "Failed parsing query",
                       "detail": ["q: must contain between 3 and 200 chars and start with a number or a letter"]}),
            );
        }
        if q.to_lowercase().contains("nowhere") {
            return Reply::json(200, json!({"type": "FeatureCollection", "features": []}));
        }
        Reply::json(200, ban_answer(score))
    })
    .await
}

// -------------------------------------------------------------------- DPE

/// data-fair `GET /lines` (§2.2): filter `identifiant_ban_eq`; one DPE for
/// the captured BAN id, none for others.
pub async fn dpe() -> Fake {
    Fake::start(|request, _| {
        if request.path != "/lines" {
            return Reply::text(404, "not found");
        }
        if request.param("identifiant_ban_eq").as_deref() == Some("44179_xarfhv_00008") {
            Reply::json(
                200,
                json!({"total": 1, "results": [{
                    "numero_dpe": "2344E0123456A", "date_etablissement_dpe": "2023-05-12",
                    "etiquette_dpe": "F", "etiquette_ges": "E",
                    "conso_5_usages_par_m2_ep": 342.1,
                    "identifiant_ban": "44179_xarfhv_00008", "_score": 1.0, "_id": "a1b2c3"
                }]}),
            )
        } else {
            Reply::json(200, json!({"total": 0, "results": []}))
        }
    })
    .await
}

// ---------------------------------------------------------------- Esabora

pub const ESABORA_TOKEN: &str = "esabora-token";

fn field<'a>(payload: &'a Value, name: &str) -> Option<&'a Value> {
    payload["fieldList"]
        .as_array()?
        .iter()
        .find(|f| f["fieldName"] == name)
        .map(|f| &f["fieldValue"])
}

fn duplicate() -> Reply {
    Reply::json(
        400,
        json!({"code": "WS_ERR_SQL",
               "message": "23505 - ERROR:  duplicate key value violates unique constraint \"imdo_cledoss_unik\"\nDETAIL:  Key (imdo_cledoss, imdo_typimport)=(00000000-0000-0000-2023-000000000020, H) already exists."}),
    )
}

/// Esabora (§4.1–4.4, 4.6, 4.7, 4.10): `POST {base}/modbdd/?task=doTreatment`
/// and `POST {base}/mult/?task=doSearch`, `Authorization: Bearer`, routing
/// on `treatmentName` / `searchName`. A second push of the same reference
/// answers 400 `WS_ERR_SQL`. States are answered with `state` = (SAS état,
/// dossier état).
pub async fn esabora(state: (&'static str, &'static str)) -> Fake {
    Fake::start(move |request, previous| {
        if request.method != "POST" {
            return Reply::text(405, "method not allowed");
        }
        if request.header("authorization").as_deref() != Some(&format!("Bearer {ESABORA_TOKEN}"))
        {
            return Reply::json(
                401,
                json!({"code": "WS_ERR_MOD_VERIFKEY", "message": "Clé invalide"}),
            );
        }
        let payload = request.json();
        let task = request.param("task").unwrap_or_default();
        match (request.path.trim_end_matches('/'), task.as_str()) {
            (p, "doTreatment") if p.ends_with("/modbdd") => {
                let name = payload["treatmentName"].as_str().unwrap_or_default();
                let reference = |r: &Value| {
                    field(r, "Référence_Histologe")
                        .or_else(|| field(r, "Reference_Adresse"))
                        .or_else(|| field(r, "Reference_Dossier"))
                        .cloned()
                };
                let already = previous.iter().any(|old| {
                    old.status_ok()
                        && old.json()["treatmentName"] == name
                        && name != "SISH_DOSSIER_PERSONNE"
                        && reference(&old.json()) == reference(&payload)
                });
                if already {
                    return duplicate();
                }
                let (key, id) = match name {
                    "Import HISTOLOGE" => ("import_affaire.iaff_id", json!("14")),
                    "SISH_ADRESSE" => ("imp_adresse.imad_id", json!(3)),
                    "SISH_DOSSIER" => {
                        if field(&payload, "Sas_Adresse") != Some(&json!(3)) {
                            return Reply::json(
                                400,
                                json!({"code": "WS_ERR_SQL", "message": "Sas_Adresse inconnue"}),
                            );
                        }
                        ("imp_dossier.imdo_id", json!(14))
                    }
                    "SISH_DOSSIER_PERSONNE" => ("imp_dossier_pers.imdp_id", json!(1)),
                    _ => {
                        return Reply::json(
                            400,
                            json!({"code": "WS_ERR_MULT_WSNOTFOUND", "message": "Traitement inconnu"}),
                        );
                    }
                };
                Reply::json(
                    200,
                    json!({"action": "insert", "keyList": [key], "keyDataList": [id]}),
                )
            }
            (p, "doSearch") if p.ends_with("/mult") => {
                let uuid = payload["criterionList"][0]["criterionValueList"][0].clone();
                match payload["searchName"].as_str().unwrap_or_default() {
                    "WS_ETAT_DOSSIER_SAS" => Reply::json(
                        200,
                        json!({"searchId": "00000000-0000-0000-2022-000000000001", "nbResults": 1,
                               "columnList": ["SAS_Référence","SAS_Etat","Doss_ID","Doss_Numéro","Doss_Statut_Abrégé","Doss_Statut","Doss_Etat","Doss_Cloture"],
                               "keyList": ["i1.iaff_id"],
                               "rowList": [{"columnDataList": [uuid, state.0, "20221", "2022-1", "Traité", "Traité", state.1, null], "keyDataList": ["21"]}]}),
                    ),
                    "SISH_ETAT_DOSSIER_SAS" => Reply::json(
                        200,
                        json!({"searchId": "00000000-0000-0000-2023-000000000010", "nbResults": 1,
                               "columnList": ["Reference_Dossier","Sas_Etat","Sas_DateDecision","Sas_CauseRefus","SISH_DossId","SISH_DossNum",
                                              "SISH_DossObjet","SISH_DossDateCloture","SISH_DossStatutAbr","SISH_DossStatut","SISH_DossEtat",
                                              "SISH_DossTypeCode","SISH_DossTypeLib"],
                               "keyList": ["i1.imdo_id"],
                               "rowList": [{"columnDataList": [uuid, state.0, "14/04/2023 10:16", null, "2023", "2023/SISH/0010",
                                  "45 Boulevard Auguste Blanquis - PARIS", null, "A traiter", "A traiter", state.1, "INS", "Insalubrité"],
                                  "keyDataList": ["9"]}]}),
                    ),
                    // §4.5, from ws_get_dossier_events.json (abridged).
                    "WS_EVT_DOSSIER_SAS" => Reply::json(
                        200,
                        json!({"searchId": "27207", "nbResults": 3,
                               "columnList": ["SAS_Référence","Evt_Date","Evt_Présentation","Evt_Documents","Evty_Libellé"],
                               "documentTypeList": {"3": "e6_t1.evt_nomdoc"},
                               "keyList": ["i1.iaff_id","e6_t1.evt_id"],
                               "rowList": [
                                 {"columnDataList": [uuid, "01/08/2024", "document 1\r\nEt document 2", "hello World.pdf", "Pièce jointe au dossier"], "keyDataList": ["28","30411"]},
                                 {"columnDataList": [uuid, "02/08/2024", "DUPONT Jean bla bla", null, "Appel téléphonique"], "keyDataList": ["28","30412"]},
                                 {"columnDataList": [uuid, null, null, null, "Visite Hygiène de l'habitat"], "keyDataList": ["28","30414"]}]}),
                    ),
                    // §4.7.
                    "SISH_VISITES_DOSSIER_SAS" => Reply::json(
                        200,
                        json!({"searchId": "12", "nbResults": 2,
                               "rowList": [
                                 {"columnDataList": ["Histologe", uuid, "2023/DD13/0010", "03/05/2023 10:16", "2023/DD13/00664-03/05/2023 10:16", "Visite contrôle", "SH"], "keyDataList": [9, 795]},
                                 {"columnDataList": ["Histologe", uuid, "2023/DD13/0010", null, "2023/DD13/00665", "Visite", "ARS"], "keyDataList": [9, 796]}]}),
                    ),
                    _ => Reply::json(200, json!({"searchId": "1", "nbResults": 0, "columnList": [], "keyList": [], "rowList": []})),
                }
            }
            _ => Reply::text(404, "<html>nginx 404</html>"),
        }
    })
    .await
}

impl Recorded {
    /// Whether the fake answered this request with a success.
    fn status_ok(&self) -> bool {
        self.status == 200
    }
}

/// The treatments of a list of Esabora requests, in order.
pub fn treatments(requests: &[Recorded]) -> Vec<String> {
    requests
        .iter()
        .filter_map(|r| r.json()["treatmentName"].as_str().map(str::to_owned))
        .collect()
}

/// A field of an Esabora treatment.
pub fn esabora_field(request: &Recorded, name: &str) -> Value {
    field(&request.json(), name).cloned().unwrap_or(Value::Null)
}

// ----------------------------------------------------------------- Zapier

/// A catch hook (§5): always 200 with `status: "success"`.
pub async fn zapier() -> Fake {
    Fake::start(|request, _| {
        if request.method != "POST" || !request.path.starts_with("/hooks/catch/") {
            return Reply::text(404, "not found");
        }
        Reply::json(
            200,
            json!({"attempt": uuid::Uuid::new_v4(), "id": uuid::Uuid::new_v4(),
                   "request_id": uuid::Uuid::new_v4(), "status": "success"}),
        )
    })
    .await
}

// ---------------------------------------------------------------- Webhook

/// A partner system receiving signed webhooks: 401 unless the signature
/// verifies for `secret` and the timestamp is recent; 200 otherwise.
pub async fn webhook_receiver(secret: &'static str) -> Fake {
    use histologe::integrations::webhook;
    Fake::start(move |request, _| {
        let now = time::OffsetDateTime::now_utc().unix_timestamp();
        let ok = webhook::verify(
            secret,
            &request
                .header(webhook::TIMESTAMP_HEADER)
                .unwrap_or_default(),
            &request
                .header(webhook::SIGNATURE_HEADER)
                .unwrap_or_default(),
            &request.body,
            now,
        );
        if ok {
            Reply::json(200, json!({"received": true}))
        } else {
            Reply::json(401, json!({"error": "bad signature"}))
        }
    })
    .await
}

// ------------------------------------------------------------------- SMTP

/// A minimal SMTP relay (RFC 5321 happy path, no TLS, no auth): answers
/// EHLO/MAIL/RCPT/DATA/QUIT and keeps each message's raw data.
#[derive(Clone)]
pub struct SmtpSink {
    pub port: u16,
    pub messages: Arc<Mutex<Vec<String>>>,
}

pub async fn smtp() -> SmtpSink {
    use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind smtp");
    let port = listener.local_addr().expect("addr").port();
    let messages = Arc::new(Mutex::new(Vec::new()));
    let store = messages.clone();
    tokio::spawn(async move {
        while let Ok((stream, _)) = listener.accept().await {
            let store = store.clone();
            tokio::spawn(async move {
                let (read, mut write) = stream.into_split();
                let mut lines = BufReader::new(read).lines();
                let _ = write.write_all(b"220 fake-smtp ESMTP\r\n").await;
                let mut data: Option<String> = None;
                while let Ok(Some(line)) = lines.next_line().await {
                    if let Some(body) = data.as_mut() {
                        if line == "." {
                            store.lock().unwrap().push(std::mem::take(body));
                            data = None;
                            let _ = write.write_all(b"250 2.0.0 queued as FAKE1\r\n").await;
                        } else {
                            body.push_str(line.strip_prefix('.').unwrap_or(&line));
                            body.push('\n');
                        }
                        continue;
                    }
                    let verb = line.get(..4).unwrap_or_default().to_ascii_uppercase();
                    // An unknown mailbox (docs/deliverability.md §5): a
                    // permanent refusal of the recipient.
                    if verb == "RCPT" && line.to_ascii_lowercase().contains("<inconnu@") {
                        let _ = write
                            .write_all(b"550 5.1.1 Recipient address rejected: User unknown\r\n")
                            .await;
                        continue;
                    }
                    let reply: &[u8] = match verb.as_str() {
                        "EHLO" => b"250-fake-smtp\r\n250 8BITMIME\r\n",
                        "HELO" | "MAIL" | "RCPT" | "RSET" | "NOOP" => b"250 2.0.0 OK\r\n",
                        "DATA" => {
                            data = Some(String::new());
                            b"354 End data with <CR><LF>.<CR><LF>\r\n"
                        }
                        "QUIT" => {
                            let _ = write.write_all(b"221 2.0.0 Bye\r\n").await;
                            break;
                        }
                        _ => b"502 5.5.2 Command not recognized\r\n",
                    };
                    let _ = write.write_all(reply).await;
                }
            });
        }
    });
    SmtpSink { port, messages }
}
