//! Cross-connection event latency: publish → handler on the other side,
//! through the NATS bridge against raw async-nats publish/subscribe, in the
//! same run.
//!
//! ```text
//! cargo run --release -p servitor-benches --bin nats      # NATS at $NATS_URL or 127.0.0.1:4222
//! ```
//!
//! One trip is one event from side A to a handler on side B, over two NATS
//! connections (as two processes would have them), one event at a time, the
//! next sent when the handler has the last:
//!
//! * **bridge** — `bus_a.publish("bench.ping", payload)` on runtime A's
//!   event bus; A's bridge forwards it (core NATS), B's bridge delivers it to
//!   a sync handler on B's bus;
//! * **raw** — `client_a.publish(subject, serde_json::to_vec(payload))`, and
//!   on B a subscriber that decodes the JSON and hands it over.
//!
//! Both sides run on the same actix (single-threaded) runtime, which the
//! NATS server shares the machine with; the payload is the same small JSON
//! object. A figure is the mean time per trip over a round of trips;
//! rounds alternate between the contenders (`paired::Rounds`) and the ratio
//! is the median of the per-round ratios. The goal: the bridge's overhead ≤
//! 20 % (ratio ≤ 1.20×).

use futures_util::StreamExt;
use serde_json::{json, Value};
use servitor::bus::{BusConfig, EventBus};
use servitor::nats::{Bridge, NatsConfig, Route};
use servitor::{Runtime, Supervisor};
use servitor_benches::paired::Rounds;
use std::time::{Duration, Instant};
use tokio::sync::mpsc;

const TRIPS: usize = 2_000;
const WARMUP: usize = 500;

async fn side(
    url: &str,
    app: &str,
    instance: &str,
    route: Route,
) -> (Runtime, EventBus<Value>, Bridge<Value>) {
    let mut config = NatsConfig::new(url)
        .app(app)
        .instance(instance)
        .route(route);
    config.health.publish = false;
    config.health.watch_fleet = false;
    let (bus_spec, bus) = EventBus::<Value>::service("events", BusConfig::default()).unwrap();
    let (nats_spec, bridge) = Bridge::service("nats", config, &bus).unwrap();
    let rt = Runtime::start(
        Supervisor::builder(format!("bench-{instance}"))
            .child(bus_spec)
            .child(nats_spec)
            .build()
            .unwrap(),
    )
    .await
    .unwrap();
    bridge.ready().await.unwrap();
    (rt, bus, bridge)
}

/// Mean nanoseconds per trip over `n` trips of `send` → `rx`.
async fn trips<F, Fut>(n: usize, rx: &mut mpsc::UnboundedReceiver<u64>, mut send: F) -> f64
where
    F: FnMut(u64) -> Fut,
    Fut: std::future::Future<Output = ()>,
{
    let start = Instant::now();
    for i in 0..n as u64 {
        send(i).await;
        let got = rx.recv().await.expect("the handler answers");
        debug_assert_eq!(got, i);
    }
    start.elapsed().as_nanos() as f64 / n as f64
}

fn payload(i: u64) -> Value {
    json!({ "id": i, "kind": "order.created", "total_cents": 4200 })
}

#[actix_rt::main]
async fn main() {
    let url = std::env::var("NATS_URL").unwrap_or_else(|_| "nats://127.0.0.1:4222".into());
    if let Err(e) = async_nats::connect(url.as_str()).await {
        eprintln!("skipped: NATS at {url} does not answer ({e})");
        return;
    }
    let app = format!("bench{}", std::process::id());

    // The bridge: A publishes on its bus, B's handler takes it.
    let (rt_a, bus_a, _bridge_a) = side(&url, &app, "a", Route::new("bench.ping").outbound()).await;
    let (rt_b, bus_b, _bridge_b) = side(&url, &app, "b", Route::new("bench.ping").inbound()).await;
    let (tx, mut bridge_rx) = mpsc::unbounded_channel();
    let _handler = bus_b
        .subscriber("bench.ping")
        .handler(move |e| {
            let _ = tx.send(e.payload()["id"].as_u64().unwrap_or(0));
        })
        .unwrap();

    // Raw: two connections, JSON by hand.
    let raw_subject = format!("{app}.raw.ping");
    let client_a = async_nats::connect(url.as_str()).await.unwrap();
    let client_b = async_nats::connect(url.as_str()).await.unwrap();
    let mut sub = client_b.subscribe(raw_subject.clone()).await.unwrap();
    // The server has the subscription once it answered a request after it
    // (with "no responders"): `flush` only empties the socket buffer.
    let _ = client_b
        .request(format!("{app}.sync"), Vec::new().into())
        .await;
    let (raw_tx, mut raw_rx) = mpsc::unbounded_channel();
    actix_rt::spawn(async move {
        while let Some(m) = sub.next().await {
            let v: Value = serde_json::from_slice(&m.payload).unwrap();
            let _ = raw_tx.send(v["id"].as_u64().unwrap_or(0));
        }
    });

    let bridge_send = |i: u64| {
        let bus = bus_a.clone();
        async move {
            bus.publish("bench.ping", payload(i)).await.unwrap();
        }
    };
    let raw_send = |i: u64| {
        let client = client_a.clone();
        let subject = raw_subject.clone();
        async move {
            let bytes = serde_json::to_vec(&payload(i)).unwrap();
            client.publish(subject, bytes.into()).await.unwrap();
        }
    };
    trips(WARMUP, &mut bridge_rx, bridge_send).await;
    trips(WARMUP, &mut raw_rx, raw_send).await;

    let mut rounds = Rounds::new(&["bridge", "raw async-nats"]).budget(9, 40, 2.0);
    while rounds.more() {
        let mut round = vec![0.0; 2];
        for i in rounds.order() {
            round[i] = match i {
                0 => trips(TRIPS, &mut bridge_rx, bridge_send).await,
                _ => trips(TRIPS, &mut raw_rx, raw_send).await,
            };
        }
        rounds.push(round);
    }
    let ratio = rounds.ratio(0, 1);
    let us = |ns: f64| format!("{:.1} µs", ns / 1000.0);
    println!("cross-connection event latency, publish → remote handler ({TRIPS} trips a round, {} rounds)", rounds.rounds());
    println!("  bridge          {}", us(rounds.median(0)));
    println!("  raw async-nats  {}", us(rounds.median(1)));
    println!(
        "  ratio           {}  goal ≤ 1.20×: {}",
        ratio.label(),
        if ratio.median <= 1.20 {
            "met"
        } else {
            "MISSED"
        }
    );
    drop(_handler);
    let _ = tokio::time::timeout(Duration::from_secs(5), rt_a.shutdown()).await;
    let _ = tokio::time::timeout(Duration::from_secs(5), rt_b.shutdown()).await;
}
