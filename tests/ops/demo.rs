//! The demo as a process: it starts, serves, shows a restart, and shuts
//! down cleanly within its deadline on SIGINT.

use crate::support::{built, client, eventually, Reaper};
use serde_json::Value;
use std::process::Stdio;
use std::time::{Duration, Instant};
use tokio::io::{AsyncBufReadExt, BufReader};

#[actix_rt::test]
async fn the_demo_serves_restarts_and_stops_cleanly_on_sigint() {
    let child = tokio::process::Command::new(built("examples/demo"))
        .args(["--port", "0", "--crash-every", "6", "--for", "120s"])
        .env_remove("GITHUB_TOKEN")
        .env_remove("SERVITOR_TOKEN")
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .kill_on_drop(true)
        .spawn()
        .expect("the demo starts");
    let mut demo = Reaper(child);
    let mut lines = BufReader::new(demo.0.stdout.take().unwrap()).lines();
    let mut printed = Vec::new();
    let url = loop {
        let line = tokio::time::timeout(Duration::from_secs(60), lines.next_line())
            .await
            .expect("the demo prints its URLs")
            .unwrap()
            .expect("the demo keeps running");
        printed.push(line.clone());
        if let Some(rest) = line.trim().strip_prefix("live page") {
            break rest.trim().trim_end_matches('/').to_string();
        }
    };
    // It says how to run the CLI against it.
    let cli = loop {
        let line = lines.next_line().await.unwrap().unwrap();
        if line.contains("servitorctl") {
            break line;
        }
    };
    assert!(cli.contains(&format!("--url {url}")), "{cli}");

    let health: Value = client()
        .get(format!("{url}/health"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let checks = health["checks"].as_object().unwrap();
    for service in [
        "ops",
        "orders-db",
        "catalog",
        "events",
        "github",
        "jobs",
        "reports",
        "intake",
    ] {
        assert!(
            checks.contains_key(&format!("{service}:uptime")),
            "{service}: {health}"
        );
    }
    let github = &checks["github:uptime"][0];
    assert_eq!(github["output"], "disabled: no token configured");
    let ready = client()
        .get(format!("{url}/health/ready"))
        .send()
        .await
        .unwrap();
    assert_eq!(ready.status().as_u16(), 200);

    // Real work: orders stored by tasks in the database, events audited.
    let restarted = eventually(
        "the intake crashes and is restarted",
        Duration::from_secs(60),
        || {
            let url = url.clone();
            async move {
                let snapshot: servitor::HealthSnapshot = client()
                    .get(format!("{url}/services"))
                    .send()
                    .await
                    .ok()?
                    .json()
                    .await
                    .ok()?;
                let intake = snapshot.get("intake")?;
                (intake.restarts >= 1 && intake.status == servitor::Status::Ok)
                    .then(|| snapshot.clone())
            }
        },
    )
    .await;
    let intake = restarted.get("intake").unwrap();
    assert!(
        intake
            .last_failure
            .as_deref()
            .unwrap()
            .contains("poisoned order"),
        "{intake:?}"
    );
    let jobs = restarted.get("jobs").unwrap();
    assert!(jobs.details["completed"].as_u64().unwrap() >= 1, "{jobs:?}");
    let db = restarted.get("orders-db").unwrap();
    assert_eq!(
        db.details["migrations"]["applied"]
            .as_array()
            .map(|a| a.len()),
        Some(2),
        "{:?}",
        db.details
    );
    let crash_line = loop {
        let line = lines.next_line().await.unwrap().unwrap();
        if line.contains("intake") && line.contains("→ error") {
            break line;
        }
    };
    assert!(crash_line.contains("poisoned order"), "{crash_line}");

    let pid = demo.0.id().unwrap();
    let asked = Instant::now();
    let sent = std::process::Command::new("kill")
        .args(["-INT", &pid.to_string()])
        .status()
        .unwrap();
    assert!(sent.success());
    let status = tokio::time::timeout(Duration::from_secs(15), demo.0.wait())
        .await
        .expect("the demo ends within its 10 s deadline (and a margin)")
        .unwrap();
    let took = asked.elapsed();
    let mut rest = Vec::new();
    while let Ok(Some(line)) = lines.next_line().await {
        rest.push(line);
    }
    assert!(status.success(), "{status:?}: {rest:?}");
    assert!(
        rest.iter().any(|l| l.starts_with("stopped cleanly")),
        "{rest:?}"
    );
    assert!(took < Duration::from_secs(15));
}
