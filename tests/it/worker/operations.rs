//! The operations figures: the queue per job kind on /bo/interconnexions
//! (super and territory admins) and on `/metrics` of the web process and of
//! the worker, in the Prometheus text format, behind `METRICS_TOKEN`.

use std::collections::{BTreeMap, BTreeSet};

use histologe::{
    config::Secret,
    db,
    queue::{Email, Job, JobContext},
};

use super::support::enqueue;
use crate::common::TestApp;

const SUPER_ADMIN: &str = "admin@histologe.localhost";
const RT69: &str = "rt69@histologe.localhost";
const TOKEN: &str = "jeton-de-test-des-metriques";

/// A queue with two pending e-mails, one running geocoding, one dead DPE
/// lookup and one e-mail done a minute ago.
async fn some_queue(app: &TestApp) {
    let mail = |n: u32| {
        Job::SendEmail(Email::PasswordReset {
            to: format!("agent{n}@ville.fr"),
            link: "https://x/y".into(),
        })
    };
    for n in 0..3 {
        enqueue(app, &mail(n), JobContext::default()).await;
    }
    let running = enqueue(
        app,
        &Job::GeocodeReport { report_id: 1 },
        JobContext::default(),
    )
    .await;
    let dead = enqueue(app, &Job::DpeLookup { report_id: 1 }, JobContext::default()).await;
    let done = db::outbox::list_all(&app.db).await.unwrap()[0].id;
    for (sql, id) in [
        (
            "UPDATE outbox SET status = 'running', attempts = 1, locked_by = 'w', locked_until = UTC_TIMESTAMP() + INTERVAL 60 SECOND WHERE id = ?",
            running,
        ),
        (
            "UPDATE outbox SET status = 'dead', attempts = 8, last_error = 'ADEME : HTTP 400' WHERE id = ?",
            dead,
        ),
        (
            "UPDATE outbox SET status = 'done', attempts = 1, done_at = UTC_TIMESTAMP() - INTERVAL 1 MINUTE WHERE id = ?",
            done,
        ),
    ] {
        sqlx::query(sql).bind(id).execute(&app.db).await.unwrap();
    }
    // The pending e-mails have waited two minutes.
    sqlx::query("UPDATE outbox SET run_after = UTC_TIMESTAMP() - INTERVAL 120 SECOND WHERE status = 'pending'")
        .execute(&app.db)
        .await
        .unwrap();
}

/// Parses the Prometheus text format strictly enough to fail on a broken
/// line: `# HELP`/`# TYPE` comments, then `name{labels} value` samples
/// whose family was typed first. Returns sample → value.
fn parse_prometheus(text: &str) -> BTreeMap<String, f64> {
    let mut typed = BTreeSet::new();
    let mut samples = BTreeMap::new();
    for line in text.lines().filter(|l| !l.is_empty()) {
        if let Some(comment) = line.strip_prefix("# ") {
            let mut words = comment.split_whitespace();
            let keyword = words.next().unwrap();
            let name = words.next().expect("a metric name");
            if keyword == "TYPE" {
                let kind = words.next().expect("a type");
                assert!(
                    ["counter", "gauge", "histogram"].contains(&kind),
                    "type of {name}: {kind}"
                );
                typed.insert(name.to_owned());
            } else {
                assert_eq!(keyword, "HELP", "{line}");
            }
            continue;
        }
        let (series, value) = line.rsplit_once(' ').expect(line);
        let value: f64 = value.parse().expect(line);
        let name = series.split('{').next().unwrap();
        assert!(
            name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_'),
            "{line}"
        );
        if let Some(labels) = series.strip_prefix(name).filter(|l| !l.is_empty()) {
            assert!(labels.starts_with('{') && labels.ends_with('}'), "{line}");
            for pair in labels[1..labels.len() - 1].split("\",") {
                let (key, quoted) = pair.split_once('=').expect(line);
                assert!(key.chars().all(|c| c.is_ascii_alphanumeric() || c == '_'));
                assert!(quoted.starts_with('"'), "{line}");
            }
        }
        let family = ["_bucket", "_sum", "_count"]
            .iter()
            .find_map(|suffix| name.strip_suffix(suffix).filter(|f| typed.contains(*f)))
            .unwrap_or(name);
        assert!(typed.contains(family), "{name} has no # TYPE before it");
        samples.insert(series.to_owned(), value);
    }
    samples
}

#[tokio::test]
async fn admins_see_the_queue_per_job_kind_agents_are_refused_by_the_access_matrix() {
    let app = TestApp::spawn().await;
    app.seed_demo().await;
    some_queue(&app).await;
    for admin in [SUPER_ADMIN, RT69] {
        app.login_as(admin).await;
        let (status, html) = app.get_html("/bo/interconnexions").await;
        assert_eq!(status, 200);
        assert!(html.contains("File d’attente du worker"), "{admin}");
        let row = |kind: &str| {
            let start = html
                .find(&format!("<th scope=\"row\">{kind}</th>"))
                .expect(kind);
            html[start..start + html[start..].find("</tr>").unwrap()].to_owned()
        };
        let mail = row("send_email");
        // 2 pending, waiting for 2 minutes, 1 done in the last hour.
        assert!(mail.contains("<td>2</td>"), "{mail}");
        assert!(mail.contains("2 min"), "{mail}");
        assert!(row("geocode_report").contains("<td>1</td>"));
        assert!(
            row("dpe_lookup").contains("abandonnée"),
            "{}",
            row("dpe_lookup")
        );
        app.logout().await;
    }
}

#[tokio::test]
async fn the_web_metrics_parse_as_prometheus_text_and_need_the_token() {
    let closed = TestApp::spawn().await;
    assert_eq!(
        closed.get("/metrics").await.status(),
        404,
        "no token, no endpoint"
    );

    let app = TestApp::spawn_tweaked(|c| c.metrics_token = Some(Secret::new(TOKEN))).await;
    some_queue(&app).await;
    assert_eq!(app.get("/metrics").await.status(), 401);
    let wrong = app
        .client
        .get(app.url("/metrics"))
        .bearer_auth("pas-le-bon")
        .send()
        .await
        .unwrap();
    assert_eq!(wrong.status(), 401);
    // A page, so that the request counters have a route to show.
    assert_eq!(app.get("/connexion").await.status(), 200);
    let answer = app
        .client
        .get(app.url("/metrics"))
        .bearer_auth(TOKEN)
        .send()
        .await
        .unwrap();
    assert_eq!(answer.status(), 200);
    assert!(
        answer.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/plain; version=0.0.4")
    );
    let samples = parse_prometheus(&answer.text().await.unwrap());
    assert_eq!(samples["histologe_jobs_pending{kind=\"send_email\"}"], 2.0);
    assert!(samples["histologe_jobs_oldest_due_seconds{kind=\"send_email\"}"] >= 120.0);
    assert_eq!(
        samples["histologe_jobs_running{kind=\"geocode_report\"}"],
        1.0
    );
    assert_eq!(samples["histologe_jobs_dead{kind=\"dpe_lookup\"}"], 1.0);
    assert_eq!(
        samples["histologe_jobs_done_last_hour{kind=\"send_email\"}"],
        1.0
    );
    assert!(
        samples
            .get(
                "histologe_http_requests_total{route=\"/connexion\",method=\"GET\",status=\"200\"}"
            )
            .is_some_and(|n| *n >= 1.0),
        "{samples:#?}"
    );
    // The histogram's buckets only grow, up to the count.
    let buckets: Vec<f64> = samples
        .iter()
        .filter(|(k, _)| {
            k.starts_with("histologe_http_request_duration_seconds_bucket{route=\"/connexion\"")
        })
        .map(|(_, v)| *v)
        .collect();
    assert!(!buckets.is_empty());
    let count = samples["histologe_http_request_duration_seconds_count{route=\"/connexion\"}"];
    assert!(buckets.iter().all(|b| *b <= count));
    assert!(samples.contains_key("histologe_db_connections{state=\"idle\"}"));
    // No raw path nor query string in the labels.
    assert!(!samples.keys().any(|k| k.contains('?')));
}

#[tokio::test]
async fn the_worker_metrics_show_the_same_queue_behind_the_token() {
    let app = TestApp::spawn().await;
    some_queue(&app).await;
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/metrics", listener.local_addr().unwrap());
    let router = histologe::worker::metrics::router(app.db.clone(), Some(Secret::new(TOKEN)));
    tokio::spawn(async move { axum::serve(listener, router).await });
    let client = reqwest::Client::new();
    assert_eq!(client.get(&url).send().await.unwrap().status(), 401);
    let answer = client.get(&url).bearer_auth(TOKEN).send().await.unwrap();
    assert_eq!(answer.status(), 200);
    let samples = parse_prometheus(&answer.text().await.unwrap());
    assert_eq!(samples["histologe_jobs_pending{kind=\"send_email\"}"], 2.0);
    assert_eq!(samples["histologe_jobs_dead{kind=\"dpe_lookup\"}"], 1.0);
    assert!(samples.contains_key("histologe_db_connections_max"));
}
