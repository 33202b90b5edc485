//! `/metrics` read by real Prometheus tools: `promtool check metrics`, and a
//! Prometheus server that scrapes the application.

use crate::support::{client, eventually, free_port, tool, App, Reaper, TempDir};
use serde_json::Value;
use servitor::http::{Http, HttpConfig};
use std::process::Stdio;
use std::time::Duration;
use tokio::io::AsyncWriteExt;

async fn scrape(url: &str) -> (String, String) {
    let response = client().get(format!("{url}/metrics")).send().await.unwrap();
    assert_eq!(response.status().as_u16(), 200);
    let kind = response.headers()["content-type"]
        .to_str()
        .unwrap()
        .to_string();
    (kind, response.text().await.unwrap())
}

#[actix_rt::test]
async fn the_exposition_has_every_service_and_the_built_ins_figures() {
    let app = App::start(HttpConfig::default()).await;
    app.sessions.set("a".into(), "1".into()).unwrap();
    app.sessions.get("a").unwrap();
    app.sessions.get("b").unwrap();
    app.crash_worker().await;
    // The cache publishes its figures with its health, every 50 ms here.
    eventually(
        "the cache has published its reads",
        Duration::from_secs(10),
        || async {
            let cache = app.registry().get("sessions")?;
            (cache.details.get("misses")? == 1).then_some(())
        },
    )
    .await;
    let (kind, text) = scrape(&app.url).await;
    assert_eq!(kind, "text/plain; version=0.0.4");
    for service in crate::support::SERVICES {
        let status = if service == "jobs" { "idle" } else { "ok" };
        for line in [
            format!(r#"servitor_service_status{{service="{service}",status="{status}"}} 1"#),
            format!(r#"servitor_service_status{{service="{service}",status="error"}} 0"#),
            format!(r#"servitor_service_healthy{{service="{service}"}} 1"#),
        ] {
            assert!(text.lines().any(|l| l == line), "missing `{line}`:\n{text}");
        }
    }
    for line in [
        r#"servitor_service_restarts_total{service="worker"} 1"#,
        r#"servitor_service_detail{detail="queued",service="worker"} 3"#,
        r#"servitor_tasks_workers{service="jobs"} 4"#,
        r#"servitor_status{status="idle"} 1"#,
        "# TYPE servitor_service_restarts_total counter",
        "# TYPE servitor_service_status gauge",
    ] {
        assert!(text.lines().any(|l| l == line), "missing `{line}`:\n{text}");
    }
    // The cache's figures, which its health details carry.
    assert!(
        text.contains(r#"servitor_cache_hits_total{service="sessions"} 1"#),
        "{text}"
    );
    assert!(
        text.contains(r#"servitor_cache_misses_total{service="sessions"} 1"#),
        "{text}"
    );
    assert!(
        text.contains("servitor_service_health_check_duration_seconds{service=\"sessions\"}"),
        "{text}"
    );
    app.shutdown().await;
}

#[actix_rt::test]
async fn an_applications_own_registry_is_served_beside() {
    use servitor::http::prometheus;
    let mine = prometheus::Registry::new();
    let orders = prometheus::IntCounter::new("orders_total", "Orders taken.").unwrap();
    mine.register(Box::new(orders.clone())).unwrap();
    orders.inc_by(7);
    let (spec, http) = Http::builder("ops")
        .config(HttpConfig::bind("127.0.0.1:0".parse().unwrap()))
        .metrics_registry(mine)
        .build()
        .unwrap();
    let tree = servitor::Supervisor::builder("app")
        .child(spec)
        .build()
        .unwrap();
    let app = servitor::Runtime::start_with(
        tree,
        servitor::RuntimeConfig {
            handle_signals: false,
            ..Default::default()
        },
    )
    .await
    .unwrap();
    let (_, text) = scrape(&http.url().unwrap()).await;
    assert!(text.lines().any(|l| l == "orders_total 7"), "{text}");
    assert!(text.contains(r#"servitor_service_status{service="ops",status="ok"} 1"#));
    app.shutdown().await.unwrap();
}

#[actix_rt::test]
async fn promtool_accepts_the_exposition() {
    let Some(promtool) = tool("promtool", "prometheus", "the promtool check") else {
        return;
    };
    let app = App::start(HttpConfig::default()).await;
    app.crash_worker().await;
    let (_, text) = scrape(&app.url).await;
    let mut check = tokio::process::Command::new(promtool)
        .args(["check", "metrics"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    check
        .stdin
        .take()
        .unwrap()
        .write_all(text.as_bytes())
        .await
        .unwrap();
    let out = check.wait_with_output().await.unwrap();
    let said = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(out.status.success(), "promtool: {said}\n{text}");
    assert!(said.trim().is_empty(), "promtool found problems: {said}");
    // And it does find problems where there are some: the check is real.
    let mut bad =
        tokio::process::Command::new(tool("promtool", "prometheus", "the promtool check").unwrap())
            .args(["check", "metrics"])
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
    bad.stdin
        .take()
        .unwrap()
        .write_all(b"# TYPE restarts counter\nrestarts 1\n")
        .await
        .unwrap();
    assert!(!bad.wait_with_output().await.unwrap().status.success());
    app.shutdown().await;
}

#[actix_rt::test]
async fn a_prometheus_server_scrapes_the_service_status_series() {
    let Some(prometheus) = tool("prometheus", "prometheus", "the Prometheus scrape test") else {
        return;
    };
    let app = App::start(HttpConfig::default()).await;
    let dir = TempDir::new("prometheus");
    let target = app.http.local_addr().unwrap();
    let config = format!(
        "global:\n  scrape_interval: 1s\n  scrape_timeout: 1s\nscrape_configs:\n  - job_name: servitor\n    metrics_path: /metrics\n    static_configs:\n      - targets: ['{target}']\n"
    );
    let config_path = dir.0.join("prometheus.yml");
    std::fs::write(&config_path, config).unwrap();
    let port = free_port();
    let server = tokio::process::Command::new(prometheus)
        .arg(format!("--config.file={}", config_path.display()))
        .arg(format!(
            "--storage.tsdb.path={}",
            dir.0.join("data").display()
        ))
        .arg(format!("--web.listen-address=127.0.0.1:{port}"))
        .arg("--log.level=warn")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .kill_on_drop(true)
        .spawn()
        .expect("prometheus starts");
    let _server = Reaper(server);
    // The current status of every service: the series at 1.
    let query =
        format!("http://127.0.0.1:{port}/api/v1/query?query=servitor_service_status%3D%3D1");
    let series: Vec<Value> = eventually(
        "Prometheus has scraped the app",
        Duration::from_secs(60),
        || {
            let query = query.clone();
            async move {
                let response = client().get(&query).send().await.ok()?;
                let body: Value = response.json().await.ok()?;
                let result = body["data"]["result"].as_array()?.clone();
                (body["status"] == "success" && result.len() >= crate::support::SERVICES.len())
                    .then_some(result)
            }
        },
    )
    .await;
    let mut services: Vec<&str> = series
        .iter()
        .map(|s| s["metric"]["service"].as_str().unwrap())
        .collect();
    services.sort();
    let mut expected = crate::support::SERVICES.to_vec();
    expected.sort();
    assert_eq!(services, expected);
    for s in &series {
        assert_eq!(s["metric"]["job"], "servitor");
        assert_eq!(s["value"][1], "1", "{s}");
        let expected = if s["metric"]["service"] == "jobs" {
            "idle"
        } else {
            "ok"
        };
        assert_eq!(s["metric"]["status"], expected, "{s}");
    }
    app.shutdown().await;
}
