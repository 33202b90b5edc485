//! Within one process: its own events are delivered once, from the local
//! bus, never again through NATS; requests cross both ways.

use super::support::{nats_url, synced, unique};
use serde_json::{json, Value};
use servitor::bus::{BusConfig, EventBus};
use servitor::nats::{Bridge, NatsConfig, Route, ORIGIN_HEADER};
use servitor::{Runtime, Supervisor};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

async fn runtime(
    url: &str,
    app: &str,
    instance: &str,
    routes: Vec<Route>,
) -> (Runtime, EventBus<Value>, Bridge<Value>) {
    let mut config = NatsConfig::new(url).app(app).instance(instance);
    config.subject_prefix = Some(app.to_string());
    config.routes = routes;
    let (bus_spec, bus) = EventBus::<Value>::service("events", BusConfig::default()).unwrap();
    let (nats_spec, bridge) = Bridge::service("nats", config, &bus).unwrap();
    let rt = Runtime::start(
        Supervisor::builder(format!("app-{instance}"))
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

#[actix_rt::test]
async fn own_events_reach_local_subscribers_once_and_own_origin_is_skipped() {
    let Some(url) =
        nats_url("own_events_reach_local_subscribers_once_and_own_origin_is_skipped").await
    else {
        return;
    };
    let app = unique("echo");
    let (rt, bus, bridge) = runtime(&url, &app, "solo", vec![Route::new("echo.>")]).await;
    let seen = Arc::new(AtomicU64::new(0));
    let counter = seen.clone();
    let _sub = bus
        .subscriber("echo.>")
        .handler(move |_| {
            counter.fetch_add(1, Ordering::Relaxed);
        })
        .unwrap();

    // A raw client hears what the bridge forwards, with the origin header.
    let raw = async_nats::connect(url.as_str()).await.unwrap();
    let mut heard = raw.subscribe(format!("{app}.echo.>")).await.unwrap();
    synced(&raw).await;
    for id in 0..10 {
        bus.publish("echo.ping", json!({ "id": id })).await.unwrap();
    }
    bridge.flush().await.unwrap();
    use futures_util::StreamExt;
    for _ in 0..10 {
        let message = tokio::time::timeout(Duration::from_secs(10), heard.next())
            .await
            .unwrap_or_else(|_| panic!("nothing heard; {:?}", bridge.stats()))
            .unwrap();
        let origin = message
            .headers
            .as_ref()
            .and_then(|h| h.get(ORIGIN_HEADER))
            .unwrap();
        assert_eq!(origin.as_str(), format!("{app}.solo"));
    }

    // A message tagged with this process's origin (as a second connection
    // of the same process would send it) is skipped, an untagged one is
    // delivered.
    let mut own = async_nats::HeaderMap::new();
    own.insert(ORIGIN_HEADER, format!("{app}.solo").as_str());
    let subject = format!("{app}.echo.ping");
    raw.publish_with_headers(subject.clone(), own, b"{\"id\":99}".to_vec().into())
        .await
        .unwrap();
    raw.publish(subject, b"{\"id\":100}".to_vec().into())
        .await
        .unwrap();
    raw.flush().await.unwrap();
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    while bridge.stats().received < 1 || bridge.stats().own_skipped < 1 {
        assert!(
            tokio::time::Instant::now() < deadline,
            "{:?}",
            bridge.stats()
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let stats = bridge.stats();
    assert_eq!(
        (stats.forwarded, stats.received, stats.own_skipped),
        (10, 1, 1)
    );
    assert_eq!(
        seen.load(Ordering::Relaxed),
        11,
        "10 own, once each, and 1 from outside"
    );
    drop(_sub);
    rt.shutdown().await.unwrap();
}

#[actix_rt::test]
async fn requests_cross_nats_both_ways() {
    let Some(url) = nats_url("requests_cross_nats_both_ways").await else {
        return;
    };
    let app = unique("request");
    let (rt_a, bus_a, a) =
        runtime(&url, &app, "asker", vec![Route::new("math.*").outbound()]).await;
    let (rt_b, bus_b, b) = runtime(
        &url,
        &app,
        "answerer",
        vec![Route::new("math.*").inbound().queue_group("math")],
    )
    .await;
    let responder = bus_b.clone();
    let _double = bus_b
        .subscriber("math.double")
        .handler(move |req| {
            let n = req.payload()["n"].as_i64().unwrap();
            responder.reply(req, json!({ "n": n * 2 })).map(|_| ())
        })
        .unwrap();
    let reply = match bus_a.request("math.double", json!({ "n": 21 })).await {
        Ok(reply) => reply,
        Err(e) => panic!(
            "{e}: asker {:?}, answerer {:?}\n{}\n{}",
            a.stats(),
            b.stats(),
            rt_a.health().table(),
            rt_b.health().table()
        ),
    };
    assert_eq!(reply["n"], 42);
    assert_eq!(b.stats().requests_in, 1);
    drop(_double);
    rt_a.shutdown().await.unwrap();
    rt_b.shutdown().await.unwrap();
}
