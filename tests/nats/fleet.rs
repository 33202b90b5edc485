//! Health across processes: the fleet view shows every service of every
//! process, marks a killed one stale, and is what `/services` serves with
//! a fleet source.

use super::support::{eventually, nats_url, unique, Node};
use serde_json::Value;
use servitor::bus::{BusConfig, EventBus};
use servitor::http::{Http, HttpConfig};
use servitor::nats::{Bridge, FleetView, NatsConfig};
use servitor::{Runtime, Status, Supervisor};
use std::time::Duration;
use tokio::io::AsyncBufReadExt;

const WITHIN: Duration = Duration::from_secs(20);

/// This test's own runtime: a bus, a bridge watching the fleet of `app`,
/// and the HTTP endpoint with the fleet as its `/services` source.
async fn observer(url: &str, app: &str) -> (Runtime, Bridge<Value>, Http) {
    let mut config = NatsConfig::new(url).app(app).instance("observer");
    config.health.interval = Duration::from_millis(200);
    let (bus_spec, bus) = EventBus::<Value>::service("events", BusConfig::default()).unwrap();
    let (nats_spec, bridge) = Bridge::service("nats", config, &bus).unwrap();
    let (ops, http) = Http::builder("ops")
        .config(HttpConfig::bind("127.0.0.1:0".parse().unwrap()))
        .fleet(bridge.fleet())
        .build()
        .unwrap();
    let tree = Supervisor::builder("observer-app")
        .child(ops)
        .child(bus_spec)
        .child(nats_spec)
        .build()
        .unwrap();
    let rt = Runtime::start(tree).await.unwrap();
    bridge.ready().await.unwrap();
    (rt, bridge, http)
}

fn instances(view: &FleetView) -> Vec<String> {
    view.snapshot()
        .processes
        .iter()
        .map(|p| p.instance.clone())
        .collect()
}

#[actix_rt::test]
async fn the_fleet_shows_every_process_and_marks_a_killed_one_stale() {
    let Some(url) = nats_url("the_fleet_shows_every_process_and_marks_a_killed_one_stale").await
    else {
        return;
    };
    let app = unique("fleet");
    let (rt, bridge, http) = observer(&url, &app).await;
    let beat = ["--beat-ms", "200"];
    let w1 = Node::start(&url, &app, "worker", "w1", &beat).await;
    let mut w2 = Node::start(&url, &app, "worker", "w2", &beat).await;
    let view = bridge.fleet();

    let all = eventually("every process in the fleet, ok", WITHIN, || {
        let snapshot = view.snapshot();
        let ok = snapshot.processes.len() == 3
            && snapshot.status == Status::Ok
            && snapshot.processes.iter().all(|p| p.services.len() >= 3);
        std::future::ready(ok.then_some(snapshot))
    })
    .await;
    assert_eq!(instances(&view), ["observer", "w1", "w2"]);
    let w1_view = all.process(&app, "w1").unwrap();
    let names: Vec<&str> = w1_view.services.iter().map(|r| r.name.as_str()).collect();
    assert_eq!(names, ["app", "events", "nats"]);

    // `/services` serves the fleet: a node per process, services below it.
    let body: Value = reqwest::get(format!("{}/services", http.url().unwrap()))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let paths: Vec<&str> = body["services"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["path"].as_str().unwrap())
        .collect();
    assert!(
        paths.contains(&format!("{app}/w2/app/nats").as_str()),
        "{paths:?}"
    );
    let local: Value = reqwest::get(format!("{}/services?scope=local", http.url().unwrap()))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(local["services"][0]["name"], "observer-app");

    w2.kill().await; // no goodbye
    let stale = eventually("w2 stale", WITHIN, || {
        let snapshot = view.snapshot();
        let stale = snapshot.process(&app, "w2").is_some_and(|p| p.stale);
        std::future::ready(stale.then_some(snapshot))
    })
    .await;
    let w2_view = stale.process(&app, "w2").unwrap();
    assert_eq!(w2_view.status, Status::Stale);
    assert!(w2_view.services.iter().all(|r| r.status == Status::Stale));
    assert!(!stale.process(&app, "w1").unwrap().stale);
    assert_eq!(stale.status, Status::Stale, "worst wins across the fleet");
    drop(w1);
    rt.shutdown().await.unwrap();
}

#[actix_rt::test]
async fn a_process_that_shuts_down_says_goodbye_and_is_not_stale() {
    let Some(url) = nats_url("a_process_that_shuts_down_says_goodbye_and_is_not_stale").await
    else {
        return;
    };
    let app = unique("goodbye");
    let (rt, bridge, _http) = observer(&url, &app).await;
    let mut producer = Node::start(&url, &app, "producer", "p", &["--count", "1"]).await;
    assert!(producer.exit(WITHIN).await.success());
    let view = bridge.fleet();
    let left = eventually("the producer left", WITHIN, || {
        let snapshot = view.snapshot();
        std::future::ready(snapshot.process(&app, "p").filter(|p| p.left).cloned())
    })
    .await;
    assert!(!left.stale);
    assert_eq!(left.status, Status::Stopped);
    assert_eq!(
        view.snapshot().status,
        Status::Ok,
        "a process that left does not count"
    );
    rt.shutdown().await.unwrap();
}

/// `servitorctl`, built beside this test by `cargo test --workspace`.
fn servitorctl() -> std::path::PathBuf {
    let exe = std::env::current_exe().unwrap();
    let path = exe
        .parent()
        .and_then(|d| d.parent())
        .unwrap()
        .join("servitorctl");
    assert!(
        path.is_file(),
        "{} is not built: run `cargo test -j 2 --workspace --all-features`",
        path.display()
    );
    path
}

async fn ctl(url: &str, app: &str) -> (i32, Value) {
    let out = tokio::process::Command::new(servitorctl())
        .args(["--nats", url, "--app", app, "--listen", "1", "--json"])
        .output()
        .await
        .unwrap();
    let json = serde_json::from_slice(&out.stdout).unwrap_or(Value::Null);
    (out.status.code().unwrap_or(-1), json)
}

#[tokio::test]
async fn servitorctl_reads_the_fleet_from_nats_and_shows_a_killed_process_going_stale() {
    let Some(url) =
        nats_url("servitorctl_reads_the_fleet_from_nats_and_shows_a_killed_process_going_stale")
            .await
    else {
        return;
    };
    let app = unique("ctl");
    let beat = ["--beat-ms", "200"];
    let _w1 = Node::start(&url, &app, "worker", "w1", &beat).await;
    let mut w2 = Node::start(&url, &app, "worker", "w2", &beat).await;
    let (code, json) = ctl(&url, &app).await;
    assert_eq!(code, 0, "{json}");
    let names: Vec<&str> = json["services"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["name"].as_str().unwrap())
        .collect();
    assert!(names.contains(&format!("{app}/w1").as_str()), "{names:?}");
    assert!(names.contains(&format!("{app}/w2").as_str()), "{names:?}");

    // `--watch`, piped: a line per change. w2 is heard ok, then killed:
    // its heartbeat stops, and the line says it went stale.
    let mut watch = tokio::process::Command::new(servitorctl())
        .args(["--nats", &url, "--app", &app, "--watch", "--color", "never"])
        .stdout(std::process::Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .unwrap();
    let mut lines = tokio::io::BufReader::new(watch.stdout.take().unwrap()).lines();
    let w2_node = format!(" {app}/w2 ");
    let mut next_w2_line = async || loop {
        let line = tokio::time::timeout(WITHIN, lines.next_line())
            .await
            .expect("servitorctl keeps printing")
            .unwrap()
            .expect("servitorctl runs");
        if line.contains(&w2_node) {
            return line;
        }
    };
    let first = next_w2_line().await;
    assert!(first.ends_with("● ok"), "{first}");
    w2.kill().await;
    let then = next_w2_line().await;
    assert!(then.contains("ok → ") && then.contains(" stale"), "{then}");
    let _ = watch.kill().await;
}
