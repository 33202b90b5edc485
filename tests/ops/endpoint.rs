//! The endpoint through a real HTTP client against a running application.

use crate::support::{client, App, SERVICES};
use futures_util::StreamExt;
use serde_json::Value;
use servitor::http::{HttpConfig, ShowDetails};
use servitor::kit::Secret;
use std::time::Duration;

async fn get(url: &str) -> (u16, String, Value) {
    let response = client()
        .get(url)
        .send()
        .await
        .expect("the endpoint answers");
    let code = response.status().as_u16();
    let kind = response
        .headers()
        .get("content-type")
        .map(|v| v.to_str().unwrap().to_string())
        .unwrap_or_default();
    let body = response.text().await.unwrap();
    let json = serde_json::from_str(&body).unwrap_or(Value::Null);
    (code, kind, json)
}

#[actix_rt::test]
async fn health_is_health_json_in_the_draft_shape() {
    let app = App::start(HttpConfig::default()).await;
    let (code, kind, doc) = get(&format!("{}/health", app.url)).await;
    assert_eq!(code, 200);
    assert_eq!(kind, "application/health+json");
    assert_eq!(doc["status"], "pass");
    assert_eq!(doc["serviceId"], "app");
    let checks = doc["checks"].as_object().expect("checks");
    for name in SERVICES {
        let entry = &checks[&format!("{name}:uptime")][0];
        assert_eq!(entry["componentId"], name);
        assert_eq!(entry["status"], "pass");
        assert_eq!(entry["observedUnit"], "s");
        assert!(entry["observedValue"].is_number());
        let time = entry["time"].as_str().unwrap();
        assert!(
            time.len() == 24 && time.ends_with('Z') && &time[10..11] == "T",
            "{time}"
        );
    }
    assert_eq!(checks["app:uptime"][0]["componentType"], "system");
    assert_eq!(checks["sessions:uptime"][0]["componentType"], "datastore");
    let queue = &checks["jobs:queueDepth"][0];
    assert_eq!(queue["observedUnit"], "tasks");
    assert_eq!(queue["observedValue"], 0);
    for (key, value) in checks {
        let (service, measurement) = key.split_once(':').expect("service:measurement");
        assert!(!service.is_empty() && !measurement.is_empty());
        assert!(value.as_array().is_some_and(|a| a.len() == 1), "{key}");
    }
    app.shutdown().await;
}

#[actix_rt::test]
async fn a_failing_service_fails_health_with_503_but_not_liveness() {
    let (flag, spec) = crate::support::flagged("broken");
    *flag.lock() = (servitor::Status::Error, "database unreachable".into());
    let app = App::start_with(HttpConfig::default(), |tree| tree.child(spec)).await;
    let mut watch = app.registry().watch("broken").unwrap();
    crate::support::wait_for(&mut watch, servitor::Status::Error).await;
    let (code, kind, doc) = get(&format!("{}/health", app.url)).await;
    assert_eq!((code, kind.as_str()), (503, "application/health+json"));
    assert_eq!(doc["status"], "fail");
    assert_eq!(doc["checks"]["broken:uptime"][0]["status"], "fail");
    assert_eq!(
        doc["checks"]["broken:uptime"][0]["output"],
        "database unreachable"
    );
    assert!(doc["output"].as_str().unwrap().contains("1 error"), "{doc}");
    // Liveness is the root alone: an outage must not restart the process.
    let (code, _, live) = get(&format!("{}/health/live", app.url)).await;
    assert_eq!((code, live["status"].as_str()), (200, Some("pass")));
    let (code, _, ready) = get(&format!("{}/health/ready", app.url)).await;
    assert_eq!((code, ready["status"].as_str()), (503, Some("fail")));
    assert!(
        ready["output"].as_str().unwrap().contains("broken (error)"),
        "{ready}"
    );
    app.shutdown().await;
}

#[actix_rt::test]
async fn readiness_follows_the_required_services_and_groups_their_members() {
    let config = HttpConfig {
        required: vec!["sessions".into(), "workers".into()],
        groups: [(
            "storage".to_string(),
            vec!["sessions".to_string(), "nobody".to_string()],
        )]
        .into(),
        ..HttpConfig::default()
    };
    let app = App::start(config).await;
    let (code, kind, ready) = get(&format!("{}/health/ready", app.url)).await;
    assert_eq!(
        (code, kind.as_str(), ready["status"].as_str()),
        (200, "application/health+json", Some("pass"))
    );
    let (code, _, group) = get(&format!("{}/health/storage", app.url)).await;
    assert_eq!(
        code, 503,
        "a member that is not registered fails its group: {group}"
    );
    assert!(group["checks"]["sessions:uptime"].is_array());
    assert_eq!(group["checks"]["nobody:uptime"][0]["status"], "fail");
    assert!(group["checks"].get("jobs:uptime").is_none(), "{group}");
    let (code, kind, missing) = get(&format!("{}/health/nothing", app.url)).await;
    assert_eq!((code, kind.as_str()), (404, "application/json"));
    assert_eq!(missing["error"], "not_found");
    assert!(
        missing["message"].as_str().unwrap().contains("storage"),
        "{missing}"
    );
    app.shutdown().await;
}

#[actix_rt::test]
async fn bad_paths_and_methods_get_404_and_405_with_a_json_body() {
    let app = App::start(HttpConfig::default()).await;
    let (code, kind, body) = get(&format!("{}/nope", app.url)).await;
    assert_eq!((code, kind.as_str()), (404, "application/json"));
    assert_eq!(body["error"], "not_found");
    assert_eq!(body["message"], "no route for GET /nope");
    let (code, _, body) = get(&format!("{}/services/nobody", app.url)).await;
    assert_eq!(code, 404);
    assert_eq!(body["message"], "no service named `nobody` is registered");
    for path in ["/health", "/metrics", "/services", "/"] {
        let response = client()
            .delete(format!("{}{path}", app.url))
            .send()
            .await
            .unwrap();
        assert_eq!(response.status().as_u16(), 405, "{path}");
        assert_eq!(response.headers()["allow"], "GET, HEAD");
        let body: Value = response.json().await.unwrap();
        assert_eq!(body["error"], "method_not_allowed");
    }
    let head = client()
        .head(format!("{}/health", app.url))
        .send()
        .await
        .unwrap();
    assert_eq!(head.status().as_u16(), 200);
    app.shutdown().await;
}

#[actix_rt::test]
async fn services_are_the_registry_snapshot() {
    let app = App::start(HttpConfig::default()).await;
    app.sessions.set("k".into(), "v".into()).unwrap();
    app.crash_worker().await;
    let (code, kind, snap) = get(&format!("{}/services", app.url)).await;
    assert_eq!((code, kind.as_str()), (200, "application/json"));
    let snapshot: servitor::HealthSnapshot = serde_json::from_value(snap).expect("a snapshot");
    let names: Vec<&str> = snapshot.services.iter().map(|r| r.name.as_str()).collect();
    assert_eq!(names, SERVICES, "tree order");
    assert_eq!(snapshot.get("worker").unwrap().restarts, 1);
    assert_eq!(
        snapshot.get("worker").unwrap().last_failure.as_deref(),
        Some("injected crash")
    );
    let (code, _, one) = get(&format!("{}/services/worker", app.url)).await;
    assert_eq!(code, 200);
    let report: servitor::HealthReport = serde_json::from_value(one).unwrap();
    assert_eq!(
        (report.path.as_str(), report.restarts),
        ("app/workers/worker", 1)
    );
    app.shutdown().await;
}

async fn status_with(app: &App, path: &str, token: Option<&str>) -> (u16, Value, Option<String>) {
    let mut request = client().get(format!("{}{path}", app.url));
    if let Some(token) = token {
        request = request.bearer_auth(token);
    }
    let response = request.send().await.unwrap();
    let code = response.status().as_u16();
    let challenge = response
        .headers()
        .get("www-authenticate")
        .map(|v| v.to_str().unwrap().to_string());
    let body = response.json().await.unwrap_or(Value::Null);
    (code, body, challenge)
}

#[actix_rt::test]
async fn details_need_the_token_when_authorized_is_asked_for() {
    let config = HttpConfig {
        show_details: ShowDetails::WhenAuthorized,
        token: Some(Secret::new("s3cr3t-t0ken")),
        ..HttpConfig::default()
    };
    let app = App::start(config).await;
    // Unauthenticated: the overall status only.
    let (code, body, _) = status_with(&app, "/health", None).await;
    assert_eq!((code, &body), (200, &serde_json::json!({"status": "pass"})));
    let (code, body, _) = status_with(&app, "/health", Some("wrong")).await;
    assert_eq!((code, &body), (200, &serde_json::json!({"status": "pass"})));
    for path in [
        "/services",
        "/services/worker",
        "/services/events",
        "/metrics",
    ] {
        let (code, body, challenge) = status_with(&app, path, None).await;
        assert_eq!(code, 401, "{path}");
        assert_eq!(body["error"], "unauthorized");
        assert_eq!(challenge.as_deref(), Some("Bearer realm=\"servitor\""));
        let (code, _, _) = status_with(&app, path, Some("s3cr3t-t0keN")).await;
        assert_eq!(code, 401, "{path}: a token that differs in one letter");
    }
    // Authorised: everything.
    let (code, body, _) = status_with(&app, "/health", Some("s3cr3t-t0ken")).await;
    assert_eq!(code, 200);
    assert!(body["checks"]["worker:uptime"].is_array(), "{body}");
    let (code, body, _) = status_with(&app, "/services", Some("s3cr3t-t0ken")).await;
    assert_eq!(code, 200);
    assert_eq!(body["services"].as_array().unwrap().len(), SERVICES.len());
    // The probes answer everyone.
    let (code, body, _) = status_with(&app, "/health/live", None).await;
    assert_eq!((code, &body), (200, &serde_json::json!({"status": "pass"})));
    // The token shows nowhere.
    let (_, ops, _) = status_with(&app, "/services/ops", Some("s3cr3t-t0ken")).await;
    assert!(!ops.to_string().contains("s3cr3t"), "{ops}");
    assert!(!format!("{:?}", app.http.config()).contains("s3cr3t"));
    app.shutdown().await;
}

#[actix_rt::test]
async fn never_shows_details_to_anyone() {
    let config = HttpConfig {
        show_details: ShowDetails::Never,
        token: Some(Secret::new("s3cr3t")),
        ..HttpConfig::default()
    };
    let app = App::start(config).await;
    let (code, body, _) = status_with(&app, "/health", Some("s3cr3t")).await;
    assert_eq!((code, &body), (200, &serde_json::json!({"status": "pass"})));
    for path in ["/services", "/metrics", "/services/events"] {
        let (code, body, _) = status_with(&app, path, Some("s3cr3t")).await;
        assert_eq!(
            (code, body["error"].as_str()),
            (403, Some("forbidden")),
            "{path}"
        );
    }
    app.shutdown().await;
}

/// Reads server-sent events from a response body.
struct Sse {
    body: futures_util::stream::BoxStream<'static, reqwest::Result<bytes::Bytes>>,
    buffer: String,
}

impl Sse {
    async fn open(url: &str) -> Sse {
        let response = client()
            .get(format!("{url}/services/events"))
            .timeout(Duration::from_secs(60))
            .send()
            .await
            .unwrap();
        assert_eq!(response.status().as_u16(), 200);
        assert_eq!(response.headers()["content-type"], "text/event-stream");
        Sse {
            body: response.bytes_stream().boxed(),
            buffer: String::new(),
        }
    }

    /// The next event: (event name, data as JSON).
    async fn next(&mut self) -> Option<(String, Value)> {
        loop {
            if let Some(end) = self.buffer.find("\n\n") {
                let block: String = self.buffer.drain(..end + 2).collect();
                let mut event = String::from("message");
                let mut data = String::new();
                for line in block.lines() {
                    if let Some(v) = line.strip_prefix("event: ") {
                        event = v.to_string();
                    } else if let Some(v) = line.strip_prefix("data: ") {
                        data.push_str(v);
                    }
                }
                if data.is_empty() {
                    continue;
                }
                return Some((event, serde_json::from_str(&data).expect("JSON data")));
            }
            let chunk = tokio::time::timeout(Duration::from_secs(10), self.body.next())
                .await
                .expect("an event within 10 s")?
                .unwrap();
            self.buffer.push_str(std::str::from_utf8(&chunk).unwrap());
        }
    }
}

#[actix_rt::test]
async fn events_send_every_current_status_then_each_transition() {
    let app = App::start(HttpConfig::default()).await;
    let mut sse = Sse::open(&app.url).await;
    let (event, snapshot) = sse.next().await.unwrap();
    assert_eq!(event, "snapshot");
    assert_eq!(
        snapshot["services"].as_array().unwrap().len(),
        SERVICES.len()
    );
    // Every current status, first.
    let mut current = Vec::new();
    while current.len() < SERVICES.len() {
        let (event, data) = sse.next().await.unwrap();
        if event != "status" {
            continue;
        }
        assert!(
            data["from"].is_null(),
            "a transition before every current status: {data}"
        );
        assert_eq!(data["report"]["name"], data["name"]);
        current.push(data["name"].as_str().unwrap().to_string());
    }
    current.sort();
    let mut expected: Vec<String> = SERVICES.iter().map(|s| s.to_string()).collect();
    expected.sort();
    assert_eq!(current, expected);
    // Then the transitions an injected crash causes.
    app.runtime
        .supervisor("workers")
        .unwrap()
        .crash_child("worker", "injected crash")
        .await
        .unwrap();
    let crashed = loop {
        let (event, data) = sse.next().await.unwrap();
        if event == "status" && data["name"] == "worker" {
            assert!(!data["from"].is_null(), "{data}");
            if data["status"] == "error" {
                break data;
            }
        }
    };
    assert_eq!(crashed["from"], "ok");
    assert!(
        crashed["message"]
            .as_str()
            .unwrap()
            .contains("injected crash"),
        "{crashed}"
    );
    let back = loop {
        let (event, data) = sse.next().await.unwrap();
        if event == "status" && data["name"] == "worker" && data["status"] == "ok" {
            break data;
        }
    };
    assert_eq!(back["report"]["restarts"], 1);
    // Snapshots keep coming between transitions.
    loop {
        let (event, data) = sse.next().await.unwrap();
        if event == "snapshot" {
            assert_eq!(
                data["status"], "idle",
                "the task workers are idle, all else is ok"
            );
            break;
        }
    }
    app.shutdown().await;
}

#[actix_rt::test]
async fn a_stop_ends_open_event_streams_and_frees_the_port() {
    let app = App::start(HttpConfig::default()).await;
    let mut sse = Sse::open(&app.url).await;
    assert_eq!(sse.next().await.unwrap().0, "snapshot");
    let addr = app.http.local_addr().unwrap();
    app.shutdown().await;
    // The stream ends rather than keeping the shutdown waiting.
    while sse.next().await.is_some() {}
    std::net::TcpListener::bind(addr).expect("the port is free again");
}

#[actix_rt::test]
async fn a_crashed_endpoint_comes_back_on_the_same_port() {
    let app = App::start(HttpConfig::default()).await;
    let addr = app.http.local_addr().unwrap();
    let mut watch = app.registry().watch("ops").unwrap();
    app.runtime
        .supervisor("app")
        .unwrap()
        .crash_child("ops", "injected crash")
        .await
        .unwrap();
    crate::support::wait_for(&mut watch, servitor::Status::Error).await;
    crate::support::wait_for(&mut watch, servitor::Status::Ok).await;
    assert_eq!(app.http.local_addr().unwrap(), addr);
    let (code, _, body) = get(&format!("{}/services/ops", app.url)).await;
    assert_eq!(code, 200);
    assert_eq!(body["restarts"], 1);
    app.shutdown().await;
}

#[actix_rt::test]
async fn a_taken_port_is_a_failed_start_that_names_it() {
    let taken = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = taken.local_addr().unwrap();
    let (spec, _http) = servitor::http::Http::service("ops", HttpConfig::bind(addr)).unwrap();
    let tree = servitor::Supervisor::builder("app")
        .child(spec)
        .build()
        .unwrap();
    let err = servitor::Runtime::start_with(
        tree,
        servitor::RuntimeConfig {
            handle_signals: false,
            ..Default::default()
        },
    )
    .await
    .expect_err("the port is taken");
    let text = err.to_string();
    assert!(text.contains(&format!("cannot listen on {addr}")), "{text}");
}

#[actix_rt::test]
async fn too_many_event_streams_are_refused_with_503() {
    let config = HttpConfig {
        max_event_streams: 1,
        ..HttpConfig::default()
    };
    let app = App::start(config).await;
    let mut first = Sse::open(&app.url).await;
    assert_eq!(first.next().await.unwrap().0, "snapshot");
    let second = client()
        .get(format!("{}/services/events", app.url))
        .send()
        .await
        .unwrap();
    assert_eq!(second.status().as_u16(), 503);
    drop(first);
    app.shutdown().await;
}
