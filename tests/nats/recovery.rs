//! The bridge as a supervised service: NATS down at start, NATS restarted
//! mid-run.

use super::support::{eventually, have_server, unique, Node, OwnServer};
use serde_json::{json, Value};
use servitor::bus::{BusConfig, EventBus};
use servitor::kit::Backoff;
use servitor::nats::{Bridge, NatsConfig, Route};
use servitor::{Runtime, Status, Supervisor};
use std::collections::BTreeSet;
use std::time::Duration;

const WITHIN: Duration = Duration::from_secs(30);

#[actix_rt::test]
async fn nats_down_at_start_reports_error_then_the_bridge_connects_by_itself() {
    if !have_server("nats_down_at_start_reports_error_then_the_bridge_connects_by_itself") {
        return;
    }
    let mut server = OwnServer::new();
    let app = unique("outage");
    let mut config = NatsConfig::new(server.url())
        .app(app.clone())
        .route(Route::new("orders.*").inbound());
    config.reconnect = Backoff::exponential(Duration::from_millis(20), Duration::from_millis(200));
    let (bus_spec, bus) = EventBus::<Value>::service("events", BusConfig::default()).unwrap();
    let (nats_spec, bridge) = Bridge::service("nats", config, &bus).unwrap();
    let rt = Runtime::start(
        Supervisor::builder("app")
            .child(bus_spec)
            .child(nats_spec)
            .build()
            .unwrap(),
    )
    .await
    .expect("the start does not wait for NATS");

    let mut watch = rt.registry().watch("nats").unwrap();
    watch
        .wait_for(Status::Error, Duration::from_secs(10))
        .await
        .unwrap();
    let report = rt.registry().get("nats").unwrap();
    let message = report.message.unwrap_or_default();
    assert!(message.contains("NATS unreachable"), "{message}");
    assert!(!bridge.is_connected());

    server.start().await;
    watch.wait_for(Status::Ok, WITHIN).await.unwrap();
    bridge.ready().await.unwrap();

    // And it works: an event published on NATS reaches the local bus.
    let mut orders = bus.subscribe("orders.*").unwrap();
    let raw = async_nats::connect(server.url()).await.unwrap();
    raw.publish(
        "orders.created",
        serde_json::to_vec(&json!({ "id": 1 })).unwrap().into(),
    )
    .await
    .unwrap();
    let event = tokio::time::timeout(WITHIN, orders.recv())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(event.payload()["id"], 1);
    assert!(bridge.stats().connections >= 1);
    drop(orders);
    rt.shutdown().await.unwrap();
}

#[tokio::test]
async fn a_nats_restart_mid_run_loses_no_confirmed_jetstream_event() {
    if !have_server("a_nats_restart_mid_run_loses_no_confirmed_jetstream_event") {
        return;
    }
    let mut server = OwnServer::new();
    server.start().await;
    let url = server.url();
    let app = unique("restart");
    let ledger = Node::start(&url, &app, "ledger", "ledger", &[]).await;
    let mut payer = Node::start(
        &url,
        &app,
        "payer",
        "payer",
        &["--count", "400", "--interval-ms", "5"],
    )
    .await;

    // Restart NATS (SIGKILL, same port and store) once some payments are
    // confirmed and before the payer is done.
    payer
        .wait_until(WITHIN, |lines| {
            lines.iter().any(|l| l.starts_with("confirmed "))
        })
        .await
        .expect("a first confirmation");
    server.kill().await;
    let confirmed_before = last_confirmed(&payer);
    server.start().await;

    payer
        .wait_line("done payer 400", Duration::from_secs(60))
        .await;
    assert!(payer.exit(WITHIN).await.success());
    let confirmed = last_confirmed(&payer);
    assert_eq!(confirmed, 400, "every payment confirmed in the end");
    assert!(confirmed_before < 400, "the restart happened mid-run");

    let got = eventually(
        "the ledger has every confirmed payment",
        Duration::from_secs(60),
        || {
            let ids: BTreeSet<u64> = ledger.ids("pay").into_iter().collect();
            std::future::ready((ids.len() as u64 >= confirmed).then_some(ids))
        },
    )
    .await;
    assert_eq!(got, (0..400).collect::<BTreeSet<u64>>());
    let deliveries = ledger.ids("pay").len();
    eprintln!(
        "{deliveries} deliveries for 400 payments ({} again after the restart)",
        deliveries - 400
    );
}

fn last_confirmed(node: &Node) -> u64 {
    node.lines()
        .iter()
        .rev()
        .find_map(|l| l.strip_prefix("confirmed ").and_then(|n| n.parse().ok()))
        .unwrap_or(0)
}

#[actix_rt::test]
async fn credentials_in_the_url_never_reach_health_logs_or_debug() {
    // Nothing listens on this port: the bridge reports the failure, and the
    // report must not carry the password.
    let port = super::support::free_port();
    let mut config = NatsConfig::new(format!("nats://ada:hunter2@127.0.0.1:{port}"));
    config.reconnect = Backoff::constant(Duration::from_millis(20));
    let (bus_spec, bus) = EventBus::<Value>::service("events", BusConfig::default()).unwrap();
    let (nats_spec, bridge) = Bridge::service("nats", config, &bus).unwrap();
    let rt = Runtime::start(
        Supervisor::builder("app")
            .child(bus_spec)
            .child(nats_spec)
            .build()
            .unwrap(),
    )
    .await
    .unwrap();
    let mut watch = rt.registry().watch("nats").unwrap();
    watch
        .wait_for(Status::Error, Duration::from_secs(10))
        .await
        .unwrap();
    let report = serde_json::to_string(&rt.registry().get("nats").unwrap()).unwrap();
    assert!(report.contains("NATS unreachable"), "{report}");
    for shown in [
        report,
        format!("{bridge:?}"),
        format!("{:?}", bridge.config()),
        serde_json::to_string(bridge.config()).unwrap(),
        bridge.client().unwrap_err().to_string(),
    ] {
        assert!(!shown.contains("hunter2"), "{shown}");
    }
    rt.shutdown().await.unwrap();
}
