//! `servitorctl` as a process against a running application.

use crate::support::{built, App, SERVICES};
use servitor::http::{HttpConfig, ShowDetails};
use servitor::kit::Secret;
use servitor::Status;
use std::process::{Output, Stdio};
use std::time::Duration;
use tokio::io::{AsyncBufReadExt, BufReader};

async fn ctl(args: &[&str]) -> Output {
    tokio::process::Command::new(built("servitorctl"))
        .args(args)
        .env_remove("SERVITOR_URL")
        .env_remove("SERVITOR_TOKEN")
        .env("NO_COLOR", "1")
        .output()
        .await
        .expect("servitorctl runs")
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

#[actix_rt::test]
async fn the_table_lists_the_tree_and_a_healthy_app_exits_0() {
    let app = App::start(HttpConfig::default()).await;
    app.crash_worker().await;
    let out = ctl(&["--url", &app.url]).await;
    let stdout = text(&out.stdout);
    assert_eq!(out.status.code(), Some(0), "{stdout}{}", text(&out.stderr));
    let lines: Vec<&str> = stdout.lines().collect();
    assert!(
        lines[0].starts_with("SERVICE") && lines[0].contains("RESTARTS"),
        "{stdout}"
    );
    for (line, name) in lines[1..].iter().zip(SERVICES) {
        assert!(line.trim_start().starts_with(name), "{name} in `{line}`");
        assert!(line.contains("● ok") || line.contains("● idle"), "{line}");
        assert!(!line.contains('\x1b'), "no colours when piped: {line:?}");
    }
    let worker = lines
        .iter()
        .find(|l| l.split_whitespace().next() == Some("worker"))
        .unwrap();
    assert!(
        worker.starts_with("    worker"),
        "indented by depth: {worker:?}"
    );
    assert!(
        worker.split_whitespace().any(|w| w == "1"),
        "one restart: {worker}"
    );
    assert_eq!(
        lines.last().unwrap(),
        &"overall: ● ok (6 services, all healthy)"
    );
    app.shutdown().await;
}

#[actix_rt::test]
async fn colours_follow_the_flag_and_no_color() {
    let app = App::start(HttpConfig::default()).await;
    let out = ctl(&["--url", &app.url, "--color", "always"]).await;
    // NO_COLOR is set by `ctl`, but an explicit --color always wins.
    assert!(
        text(&out.stdout).contains("\x1b[32m● ok"),
        "{:?}",
        text(&out.stdout)
    );
    app.shutdown().await;
}

#[actix_rt::test]
async fn the_exit_code_says_how_bad_it_is() {
    let (flag, spec) = crate::support::flagged("billing");
    let app = App::start_with(HttpConfig::default(), |tree| tree.child(spec)).await;
    let mut watch = app.registry().watch("billing").unwrap();
    for (status, word, code) in [
        (Status::Degraded, "◐ degraded", 1),
        (Status::Error, "× error", 2),
        (Status::Ok, "● ok", 0),
    ] {
        *flag.lock() = (status, format!("now {status}"));
        crate::support::wait_for(&mut watch, status).await;
        let out = ctl(&["--url", &app.url]).await;
        let stdout = text(&out.stdout);
        assert_eq!(out.status.code(), Some(code), "{status}: {stdout}");
        let line = stdout
            .lines()
            .find(|l| l.trim_start().starts_with("billing"))
            .unwrap();
        assert!(line.contains(word), "{line}");
        if status != Status::Ok {
            assert!(line.contains(&format!("now {status}")), "{line}");
        }
        // Only the services shown count: the others are fine.
        let out = ctl(&["--url", &app.url, "jobs"]).await;
        assert_eq!(out.status.code(), Some(0));
    }
    app.shutdown().await;
}

#[actix_rt::test]
async fn json_detailed_filters_and_legend() {
    let app = App::start(HttpConfig::default()).await;
    let out = ctl(&["--url", &app.url, "--json", "workers"]).await;
    assert_eq!(out.status.code(), Some(0));
    let snapshot: servitor::HealthSnapshot = serde_json::from_slice(&out.stdout).expect("JSON");
    let names: Vec<&str> = snapshot.services.iter().map(|r| r.name.as_str()).collect();
    assert_eq!(
        names,
        ["workers", "worker"],
        "a supervisor brings its subtree"
    );

    let out = ctl(&["--url", &app.url, "--detailed", "jobs"]).await;
    let stdout = text(&out.stdout);
    assert!(stdout.contains("jobs (app/jobs, service)"), "{stdout}");
    assert!(
        stdout.contains("queue_depth") && stdout.contains("busy_workers"),
        "{stdout}"
    );

    let out = ctl(&["--url", &app.url, "--legend", "ops"]).await;
    let stdout = text(&out.stdout);
    for symbol in [
        "● ok",
        "◐ warning",
        "◐ degraded",
        "× error",
        "× failed",
        "⚠ stale",
    ] {
        assert!(stdout.contains(symbol), "{symbol} in {stdout}");
    }

    let out = ctl(&["--url", &app.url, "nobody"]).await;
    assert_eq!(out.status.code(), Some(66));
    assert!(text(&out.stderr).contains("no service matches nobody"));
    app.shutdown().await;
}

#[actix_rt::test]
async fn an_unreachable_endpoint_has_its_own_exit_code_and_says_so() {
    let port = crate::support::free_port();
    let url = format!("http://127.0.0.1:{port}");
    let out = ctl(&["--url", &url, "--timeout", "2"]).await;
    assert_eq!(out.status.code(), Some(69));
    let stderr = text(&out.stderr);
    assert!(
        stderr.contains(&format!("cannot reach {url}")) && stderr.contains("--url"),
        "{stderr}"
    );
    assert!(out.stdout.is_empty());
    let out = ctl(&["--url", &url, "--json"]).await;
    assert_eq!(out.status.code(), Some(69));
    let out = ctl(&["--timeout", "-1"]).await;
    assert_eq!(out.status.code(), Some(64), "bad arguments");
}

#[actix_rt::test]
async fn a_token_is_sent_and_a_missing_one_is_explained() {
    let config = HttpConfig {
        show_details: ShowDetails::WhenAuthorized,
        token: Some(Secret::new("t0ken")),
        ..HttpConfig::default()
    };
    let app = App::start(config).await;
    let out = ctl(&["--url", &app.url]).await;
    assert_eq!(out.status.code(), Some(77));
    assert!(
        text(&out.stderr).contains("--token"),
        "{}",
        text(&out.stderr)
    );
    let out = ctl(&["--url", &app.url, "--token", "t0ken"]).await;
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    app.shutdown().await;
}

#[actix_rt::test]
async fn watch_prints_every_status_then_each_transition_when_piped() {
    let app = App::start(HttpConfig::default()).await;
    let mut child = tokio::process::Command::new(built("servitorctl"))
        .args(["--url", &app.url, "--watch"])
        .env("NO_COLOR", "1")
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .kill_on_drop(true)
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    let mut next = async || {
        tokio::time::timeout(Duration::from_secs(10), lines.next_line())
            .await
            .expect("a line within 10 s")
            .unwrap()
            .expect("the watch goes on")
    };
    for _ in SERVICES {
        let line = next().await;
        assert!(line.contains(" · → "), "a current status: {line}");
    }
    app.runtime
        .supervisor("workers")
        .unwrap()
        .crash_child("worker", "injected crash")
        .await
        .unwrap();
    let line = next().await;
    assert!(
        line.contains("worker ok → × error") && line.contains("injected crash"),
        "{line}"
    );
    child.kill().await.unwrap();
    app.shutdown().await;
}
