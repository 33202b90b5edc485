//! The bus as a supervised service: lifecycle (stopped is a typed error),
//! health (queue depths; lagging, dropping or failing subscribers →
//! degraded), restarts (subscriptions survive a crash), configuration.

use crate::support::bus::{poll_once, start, start_default, within, BOUND, BUS};
use actix::prelude::*;
use servitor::bus::{BusConfig, BusError, EventBus, Overflow};
use servitor::testing::TestTree;
use servitor::{Backoff, ChildSpec, Service, Status, Strategy, Supervisor};
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::Arc;
use std::time::Duration;

fn stopped() -> BusError {
    BusError::Stopped {
        service: BUS.to_string(),
    }
}

fn details(tree: &TestTree) -> servitor::health::Details {
    tree.runtime()
        .registry()
        .get(BUS)
        .expect("the bus is registered")
        .details
}

// ---- lifecycle ----

#[actix_rt::test]
async fn publishing_before_the_bus_starts_or_after_it_stopped_is_a_typed_error() {
    let (spec, bus) = EventBus::<u32>::service(BUS, BusConfig::default()).unwrap();
    assert_eq!(bus.publish("t", 0).await.unwrap_err(), stopped());
    assert!(!bus.is_running());
    let tree = TestTree::start(spec).await.unwrap();
    assert!(bus.is_running());
    assert_eq!(bus.publish("t", 1).await.unwrap().reached, 0);
    tree.shutdown().await;
    assert_eq!(bus.publish("t", 2).await.unwrap_err(), stopped());
    assert_eq!(bus.request("t", 3).await.unwrap_err(), stopped());
    assert!(!bus.stats().running);
}

#[actix_rt::test]
async fn stopping_the_bus_wakes_blocked_publishers_with_a_typed_error_and_keeps_queued_events() {
    let (tree, bus) = start_default::<u32>().await;
    let mut sub = bus
        .subscriber("t")
        .capacity(1)
        .overflow(Overflow::Block)
        .stream()
        .unwrap();
    bus.publish("t", 1).await.unwrap();
    let blocked = {
        let bus = bus.clone();
        actix_rt::spawn(async move { bus.publish("t", 2).await })
    };
    let mut probe = Box::pin(bus.publish("t", 3));
    assert!(poll_once(&mut probe).await.is_pending());
    tree.runtime().root().remove_child(BUS).await.unwrap();
    assert_eq!(
        within("the blocked publisher", blocked)
            .await
            .unwrap()
            .unwrap_err(),
        stopped()
    );
    assert_eq!(probe.await.unwrap_err(), stopped());
    assert_eq!(
        *sub.recv().await.unwrap().payload(),
        1,
        "queued events are kept"
    );
    drop(sub);
    tree.shutdown().await;
}

#[actix_rt::test]
async fn a_stop_lets_async_handlers_finish_what_is_queued_for_them() {
    let (tree, bus) = start_default::<u32>().await;
    let handled = Arc::new(AtomicU32::new(0));
    let h = handled.clone();
    let _slow = bus
        .subscriber("work")
        .async_handler(move |_| {
            let h = h.clone();
            async move {
                for _ in 0..5 {
                    tokio::task::yield_now().await;
                }
                h.fetch_add(1, Ordering::SeqCst);
            }
        })
        .unwrap();
    for n in 0..20 {
        bus.publish("work", n).await.unwrap();
    }
    tree.shutdown().await;
    assert_eq!(handled.load(Ordering::SeqCst), 20);
}

#[actix_rt::test]
async fn the_drain_on_stop_is_bounded() {
    tokio::time::pause();
    let config = BusConfig::default().drain_timeout(Duration::from_millis(300));
    let (tree, bus) = start::<u32>(config).await;
    let _stuck = bus
        .subscriber("work")
        .async_handler(|_| std::future::pending::<()>())
        .unwrap();
    bus.publish("work", 0).await.unwrap();
    let started = tokio::time::Instant::now();
    let report = tree.shutdown().await;
    let took = started.elapsed();
    assert!(report.killed.is_empty(), "{report:?}");
    assert!(
        took >= Duration::from_millis(300) && took < Duration::from_secs(1),
        "{took:?}"
    );
}

// ---- restarts ----

#[actix_rt::test]
async fn a_crash_of_the_bus_actor_keeps_subscriptions_queued_events_and_the_handle() {
    let (tree, bus) = start_default::<u32>().await;
    let mut stream = bus.subscribe("t").unwrap();
    let handled = Arc::new(AtomicU32::new(0));
    let h = handled.clone();
    let _handler = bus
        .subscriber("t")
        .async_handler(move |_| {
            let h = h.clone();
            async move {
                h.fetch_add(1, Ordering::SeqCst);
            }
        })
        .unwrap();
    bus.publish("t", 1).await.unwrap();

    let mut watch = tree.watch(BUS);
    tree.crash(BUS, "injected").await.unwrap();
    watch.wait_for(Status::Error, BOUND).await.unwrap();
    watch.wait_for(Status::Ok, BOUND).await.unwrap();
    assert_eq!(tree.restarts(BUS), 1);

    assert!(bus.is_running());
    assert_eq!(
        bus.publish("t", 2).await.unwrap().reached,
        2,
        "both subscriptions survived"
    );
    assert_eq!(
        *stream.recv().await.unwrap().payload(),
        1,
        "the queued event survived"
    );
    assert_eq!(*stream.recv().await.unwrap().payload(), 2);
    within("the flush", bus.flush()).await;
    assert_eq!(handled.load(Ordering::SeqCst), 2);
    assert_eq!(bus.stats().published, 2, "counters survive too");
    drop(stream);
    tree.shutdown().await;
}

#[actix_rt::test]
async fn publishes_are_delivered_while_the_crashed_actor_waits_to_be_restarted() {
    tokio::time::pause();
    let (spec, bus) = EventBus::<u32>::service(BUS, BusConfig::default()).unwrap();
    let tree = TestTree::start_tree(
        Supervisor::builder("test")
            .intensity(10, Duration::from_secs(1))
            .backoff(Backoff::exponential(
                Duration::from_secs(5),
                Duration::from_secs(5),
            ))
            .child(spec),
    )
    .await
    .unwrap();
    let mut sub = bus.subscribe("t").unwrap();
    let mut watch = tree.watch(BUS);
    tree.crash(BUS, "injected").await.unwrap();
    watch.wait_for(Status::Error, BOUND).await.unwrap();
    let during = tokio::time::Instant::now();
    assert_eq!(
        bus.publish("t", 7).await.unwrap().reached,
        1,
        "the data path needs no actor"
    );
    assert_eq!(*sub.recv().await.unwrap().payload(), 7);
    watch.wait_for(Status::Ok, BOUND).await.unwrap();
    assert!(
        during.elapsed() >= Duration::from_secs(4),
        "it was published during the backoff"
    );
    drop(sub);
    tree.shutdown().await;
}

/// A sibling whose crash takes the bus down with it (one-for-all).
#[derive(Default)]
struct Sibling;
impl Actor for Sibling {
    type Context = Context<Self>;
}
impl Service for Sibling {}

#[actix_rt::test]
async fn subscriptions_survive_a_stop_and_start_caused_by_a_sibling() {
    let (spec, bus) = EventBus::<u32>::service(BUS, BusConfig::default()).unwrap();
    let tree = TestTree::start_tree(
        Supervisor::builder("test")
            .strategy(Strategy::OneForAll)
            .intensity(10, Duration::from_secs(1))
            .child(spec)
            .child(ChildSpec::service("sibling", Sibling::default)),
    )
    .await
    .unwrap();
    let mut sub = bus.subscribe("t").unwrap();
    bus.publish("t", 1).await.unwrap();
    let mut watch = tree.watch(BUS);
    tree.crash("sibling", "injected").await.unwrap();
    watch.wait_for(Status::Stopped, BOUND).await.unwrap();
    watch.wait_for(Status::Ok, BOUND).await.unwrap();
    assert_eq!(bus.publish("t", 2).await.unwrap().reached, 1);
    assert_eq!(*sub.recv().await.unwrap().payload(), 1);
    assert_eq!(*sub.recv().await.unwrap().payload(), 2);
    drop(sub);
    tree.shutdown().await;
}

// ---- health ----

#[actix_rt::test]
async fn health_details_carry_queue_depths_and_counters() {
    tokio::time::pause();
    let config = BusConfig::default().health_interval(Duration::from_millis(10));
    let (tree, bus) = start::<u32>(config).await;
    let _a = bus.subscriber("t").capacity(100).stream().unwrap();
    let _b = bus.subscriber("t.>").capacity(100).stream().unwrap();
    for n in 0..3 {
        bus.publish("t", n).await.unwrap();
    }
    bus.publish("t.x", 3).await.unwrap();
    tokio::time::sleep(Duration::from_millis(25)).await; // two health intervals
    let d = details(&tree);
    assert_eq!(d["subscriptions"], 2);
    assert_eq!(d["published"], 4);
    assert_eq!(d["queued"], 4);
    assert_eq!(d["max_queue_depth"], 3);
    assert_eq!(d["dropped"], 0);
    assert_eq!(tree.status(BUS), Some(Status::Ok));
    tree.shutdown().await;
}

#[actix_rt::test]
async fn a_dropping_subscriber_degrades_the_bus_at_once_until_it_recovers() {
    tokio::time::pause();
    let config = BusConfig::default().health_interval(Duration::from_secs(10));
    let (tree, bus) = start::<u32>(config).await;
    let mut watch = tree.watch(BUS);
    watch.wait_for(Status::Ok, BOUND).await.unwrap();
    let mut sub = bus
        .subscriber("t")
        .capacity(1)
        .overflow(Overflow::DropOldest)
        .name("slow")
        .stream()
        .unwrap();
    let started = tokio::time::Instant::now();
    for n in 0..3 {
        bus.publish("t", n).await.unwrap();
    }
    let change = watch.wait_for(Status::Degraded, BOUND).await.unwrap();
    assert!(
        started.elapsed() < Duration::from_secs(10),
        "reported before the next health check"
    );
    assert!(change.message.unwrap().contains("dropping"));
    let d = details(&tree);
    assert_eq!(d["dropped"], 2);
    assert_eq!(d["dropping"][0]["name"], "slow");
    assert_eq!(d["dropping"][0]["dropped"], 2);

    // Catch up: the lag report, then the newest event.
    while !matches!(sub.try_recv(), Err(servitor::bus::TryRecvError::Empty)) {}
    watch.wait_for(Status::Ok, BOUND).await.unwrap();
    drop(sub);
    tree.shutdown().await;
}

#[actix_rt::test]
async fn a_lagging_subscriber_degrades_the_bus() {
    tokio::time::pause();
    let config = BusConfig::default()
        .health_interval(Duration::from_millis(10))
        .lag_threshold(0.8);
    let (tree, bus) = start::<u32>(config).await;
    let mut watch = tree.watch(BUS);
    let mut sub = bus.subscriber("t").capacity(10).stream().unwrap();
    for n in 0..7 {
        bus.publish("t", n).await.unwrap();
    }
    tokio::time::sleep(Duration::from_millis(25)).await;
    assert_eq!(
        tree.status(BUS),
        Some(Status::Ok),
        "7 of 10 is below the threshold"
    );
    bus.publish("t", 7).await.unwrap();
    let change = watch.wait_for(Status::Degraded, BOUND).await.unwrap();
    assert!(change.message.unwrap().contains("lagging"));
    assert_eq!(details(&tree)["lagging"][0]["queued"], 8);
    for _ in 0..8 {
        sub.recv().await.unwrap();
    }
    watch.wait_for(Status::Ok, BOUND).await.unwrap();
    drop(sub);
    tree.shutdown().await;
}

#[actix_rt::test]
async fn failing_handlers_degrade_the_bus() {
    tokio::time::pause();
    let config = BusConfig::default().health_interval(Duration::from_secs(10));
    let (tree, bus) = start::<u32>(config).await;
    let mut watch = tree.watch(BUS);
    let _bad = bus
        .subscriber("t")
        .handler(|_| Err::<(), _>("nope"))
        .unwrap();
    bus.publish("t", 1).await.unwrap();
    let change = watch.wait_for(Status::Degraded, BOUND).await.unwrap();
    assert!(change.message.unwrap().contains("failing"));
    let d = details(&tree);
    assert_eq!(d["handler_failures"], 1);
    assert_eq!(d["failing"][0]["failed"], 1);
    tree.shutdown().await;
}

#[actix_rt::test]
async fn health_reports_resume_after_a_crash() {
    tokio::time::pause();
    let config = BusConfig::default().health_interval(Duration::from_secs(10));
    let (tree, bus) = start::<u32>(config).await;
    let _slow = bus
        .subscriber("t")
        .capacity(1)
        .overflow(Overflow::DropOldest)
        .stream()
        .unwrap();
    let mut watch = tree.watch(BUS);
    tree.crash(BUS, "injected").await.unwrap();
    watch.wait_for(Status::Error, BOUND).await.unwrap();
    watch.wait_for(Status::Ok, BOUND).await.unwrap();
    bus.publish("t", 1).await.unwrap();
    bus.publish("t", 2).await.unwrap();
    watch.wait_for(Status::Degraded, BOUND).await.unwrap();
    tree.shutdown().await;
}

// ---- configuration ----

#[actix_rt::test]
async fn invalid_settings_are_typed_errors_that_name_the_field() {
    let cases: [(BusConfig, &str); 6] = [
        (BusConfig::default().capacity(0), "capacity"),
        (BusConfig::default().lag_threshold(1.5), "lag_threshold"),
        (BusConfig::default().lag_threshold(0.0), "lag_threshold"),
        (
            BusConfig::default().dead_letter_topic("dead.*"),
            "dead_letter_topic",
        ),
        (
            BusConfig::default().request_timeout(Duration::ZERO),
            "request_timeout",
        ),
        (
            BusConfig::default().health_interval(Duration::ZERO),
            "health_interval",
        ),
    ];
    for (config, field) in cases {
        let err = EventBus::<u32>::service(BUS, config).unwrap_err();
        assert!(err.field_name() == Some(field), "{field}: {err:?}");
    }
    let (tree, bus) = start_default::<u32>().await;
    let err = bus.subscriber("t").capacity(0).stream().unwrap_err();
    assert!(
        matches!(&err, BusError::InvalidConfig(e) if e.field_name() == Some("capacity")),
        "{err:?}"
    );
    tree.shutdown().await;
}

#[test]
fn the_config_deserializes_with_documented_defaults() {
    let empty: BusConfig = serde_json::from_str("{}").unwrap();
    assert_eq!(empty, BusConfig::default());
    assert_eq!(empty.capacity, 1024);
    assert_eq!(empty.overflow, Overflow::Block);
    assert_eq!(empty.dead_letter_topic, "_dlq");
    assert!(!empty.dead_letter_failures);
    assert_eq!(empty.request_timeout, Duration::from_secs(5));
    assert_eq!(empty.health_interval, Duration::from_secs(1));
    assert_eq!(empty.lag_threshold, 0.8);
    assert_eq!(empty.drain_timeout, Duration::from_secs(1));

    let json = r#"{"capacity": 8, "overflow": "dead_letter", "dead_letter_topic": "dead",
                   "dead_letter_failures": true, "request_timeout": 250, "health_interval": 100,
                   "lag_threshold": 0.5, "drain_timeout": 0}"#;
    let config: BusConfig = serde_json::from_str(json).unwrap();
    assert_eq!(
        config,
        BusConfig::default()
            .capacity(8)
            .overflow(Overflow::DeadLetter)
            .dead_letter_topic("dead")
            .dead_letter_failures(true)
            .request_timeout(Duration::from_millis(250))
            .health_interval(Duration::from_millis(100))
            .lag_threshold(0.5)
            .drain_timeout(Duration::ZERO)
    );
    let round_trip: BusConfig =
        serde_json::from_value(serde_json::to_value(&config).unwrap()).unwrap();
    assert_eq!(round_trip, config);
    let err = serde_json::from_str::<BusConfig>(r#"{"capacty": 8}"#).unwrap_err();
    assert!(err.to_string().contains("capacty"), "{err}");
}

#[actix_rt::test]
async fn an_async_handler_needs_a_tokio_runtime() {
    let (tree, bus) = start_default::<u32>().await;
    let b = bus.clone();
    let err = std::thread::spawn(move || b.subscriber("t").async_handler(|_| async {}).map(|_| ()))
        .join()
        .unwrap()
        .unwrap_err();
    assert_eq!(err, BusError::NoRuntime);
    tree.shutdown().await;
}
