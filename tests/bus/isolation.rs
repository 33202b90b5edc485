//! A handler that errors or panics is isolated: counted, logged with the
//! topic, optionally dead-lettered; it stays subscribed, and every other
//! subscriber gets every event.

use crate::support::log_capture;

use crate::support::bus::{start, start_default, within};
use log_capture::LogCapture;
use servitor::bus::{BusConfig, DeadLetterReason, HandlerError};
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::Arc;

const EVENTS: u32 = 100;

async fn panics_after_a_yield(message: String) {
    tokio::task::yield_now().await;
    panic!("{message}");
}

fn counter() -> (Arc<AtomicU32>, Arc<AtomicU32>) {
    let c = Arc::new(AtomicU32::new(0));
    (c.clone(), c)
}

#[actix_rt::test]
async fn a_sync_handler_that_panics_on_every_event_is_isolated() {
    let (tree, bus) = start_default::<u32>().await;
    let bad = bus
        .subscriber("t")
        .handler(|e| -> () { panic!("boom {}", e.payload()) })
        .unwrap();
    let (count, c) = counter();
    let good = bus
        .subscriber("t")
        .handler(move |_| {
            c.fetch_add(1, Ordering::SeqCst);
        })
        .unwrap();
    let mut stream = bus
        .subscriber("t")
        .capacity(EVENTS as usize)
        .stream()
        .unwrap();
    for n in 0..EVENTS {
        let published = bus
            .publish("t", n)
            .await
            .expect("a panicking handler does not fail the publish");
        assert_eq!(published.reached, 3);
        let report = published
            .handlers
            .iter()
            .find(|h| h.subscription == bad.id())
            .unwrap();
        assert_eq!(
            report.result,
            Err(HandlerError::Panicked(format!("boom {n}")))
        );
    }
    assert_eq!(count.load(Ordering::SeqCst), EVENTS);
    for n in 0..EVENTS {
        assert_eq!(*stream.recv().await.unwrap().payload(), n);
    }
    let stats = bad.stats();
    assert_eq!(
        (stats.panicked, stats.failed, stats.delivered),
        (EVENTS as u64, 0, EVENTS as u64)
    );
    assert_eq!(good.stats().panicked, 0);
    drop((bad, good, stream));
    tree.shutdown().await;
}

#[actix_rt::test]
async fn an_async_handler_that_errors_on_every_event_is_isolated() {
    let (tree, bus) = start_default::<u32>().await;
    let bad = bus
        .subscriber("t")
        .async_handler(|e| async move { Err::<(), _>(format!("cannot handle {}", e.payload())) })
        .unwrap();
    let (count, c) = counter();
    let good = bus
        .subscriber("t")
        .async_handler(move |_| {
            let c = c.clone();
            async move {
                c.fetch_add(1, Ordering::SeqCst);
            }
        })
        .unwrap();
    for n in 0..EVENTS {
        assert_eq!(bus.publish("t", n).await.unwrap().reached, 2);
    }
    within("the flush", bus.flush()).await;
    assert_eq!(count.load(Ordering::SeqCst), EVENTS);
    assert_eq!(bad.stats().failed, EVENTS as u64);
    drop((bad, good));
    tree.shutdown().await;
}

#[actix_rt::test]
async fn an_async_handler_that_panics_on_every_event_is_isolated() {
    let (tree, bus) = start_default::<u32>().await;
    // Panics in the call that makes the future, and inside the future after
    // it has been suspended once.
    let eager = bus
        .subscriber("t")
        .async_handler(|_| -> std::future::Ready<()> { panic!("eager") })
        .unwrap();
    let lazy = bus
        .subscriber("t")
        .async_handler(|e| panics_after_a_yield(format!("lazy {}", e.payload())))
        .unwrap();
    let (count, c) = counter();
    let good = bus
        .subscriber("t")
        .async_handler(move |_| {
            let c = c.clone();
            async move {
                c.fetch_add(1, Ordering::SeqCst);
            }
        })
        .unwrap();
    for n in 0..EVENTS {
        bus.publish("t", n).await.unwrap();
    }
    within("the flush", bus.flush()).await;
    assert_eq!(count.load(Ordering::SeqCst), EVENTS);
    assert_eq!(eager.stats().panicked, EVENTS as u64);
    assert_eq!(lazy.stats().panicked, EVENTS as u64);
    // Still subscribed, still isolated.
    bus.publish("t", 0).await.unwrap();
    within("the flush", bus.flush()).await;
    assert_eq!(lazy.stats().panicked, EVENTS as u64 + 1);
    drop((eager, lazy, good));
    tree.shutdown().await;
}

#[actix_rt::test]
async fn events_of_failing_handlers_are_dead_lettered_when_asked() {
    let (tree, bus) = start_default::<u32>().await;
    let mut dead = bus.subscribe("_dlq.>").unwrap();
    let failing = bus
        .subscriber("orders.*")
        .dead_letter_failures(true)
        .handler(|_| Err::<(), _>("db down"))
        .unwrap();
    let panicking = bus
        .subscriber("orders.*")
        .dead_letter_failures(true)
        .async_handler(|_| panics_after_a_yield("bad order".into()))
        .unwrap();
    let quiet = bus
        .subscriber("orders.*")
        .handler(|_| Err::<(), _>("not dead-lettered"))
        .unwrap();
    bus.publish("orders.created", 7).await.unwrap();
    // (Not `flush`: it would wait for this very reader.)
    let mut letters = Vec::new();
    for _ in 0..2 {
        letters.push(within("a dead letter", dead.recv()).await.unwrap());
    }
    assert_eq!(letters.len(), 2, "{letters:?}");
    let by = |id| {
        letters
            .iter()
            .find(|e| e.dead_letter().unwrap().subscription == id)
            .unwrap()
    };
    let f = by(failing.id());
    assert_eq!(f.subject().as_str(), "_dlq.orders.created");
    assert_eq!(*f.payload(), 7);
    assert_eq!(f.dead_letter().unwrap().subject.as_str(), "orders.created");
    assert_eq!(
        f.dead_letter().unwrap().reason,
        DeadLetterReason::HandlerFailed {
            error: "db down".into()
        }
    );
    let p = by(panicking.id());
    assert_eq!(
        p.dead_letter().unwrap().reason,
        DeadLetterReason::HandlerPanicked {
            message: "bad order".into()
        }
    );
    assert_eq!(failing.stats().dead_lettered, 1);
    assert_eq!(quiet.stats().dead_lettered, 0);
    drop((dead, failing, panicking, quiet));
    tree.shutdown().await;
}

#[actix_rt::test]
async fn the_bus_can_dead_letter_every_failure_by_default() {
    let (tree, bus) = start::<u32>(BusConfig::default().dead_letter_failures(true)).await;
    let mut dead = bus.subscribe("_dlq.>").unwrap();
    let _failing = bus.subscriber("t").handler(|_| Err::<(), _>("no")).unwrap();
    bus.publish("t", 1).await.unwrap();
    assert_eq!(dead.recv().await.unwrap().subject().as_str(), "_dlq.t");
    drop(dead);
    tree.shutdown().await;
}

#[actix_rt::test]
async fn a_handler_failure_is_logged_with_the_topic() {
    let logs = LogCapture::start();

    let (tree, bus) = start_default::<u32>().await;
    let _sync = bus
        .subscriber("orders.*")
        .handler(|_| Err::<(), _>("db down"))
        .unwrap();
    let _async = bus
        .subscriber("payments.>")
        .async_handler(|_| panics_after_a_yield("card declined".into()))
        .unwrap();
    let fail_both = || async {
        bus.publish("orders.created", 1).await.unwrap();
        bus.publish("payments.eu.captured", 2).await.unwrap();
        within("the flush", bus.flush()).await;
    };
    // tracing caches per log statement whether anyone listens; a test
    // running in parallel without a subscriber may have cached "no one".
    // Now that every statement has been reached, ask again from here.
    fail_both().await;
    tracing::callsite::rebuild_interest_cache();
    logs.clear();
    fail_both().await;
    tree.shutdown().await;

    let failed = logs.line(&["event handler failed"]);
    assert!(failed.contains("WARN"), "{failed}");
    assert!(failed.contains("subject=orders.created"), "{failed}");
    assert!(failed.contains("db down"), "{failed}");
    assert!(failed.contains("service=events"), "{failed}");
    let panicked = logs.line(&["event handler panicked"]);
    assert!(
        panicked.contains("subject=payments.eu.captured"),
        "{panicked}"
    );
    assert!(panicked.contains("card declined"), "{panicked}");
}

#[actix_rt::test]
async fn handlers_may_use_the_bus_from_inside() {
    let (tree, bus) = start_default::<u32>().await;
    let inner = bus.clone();
    let (subscribed, s) = counter();
    // Subscribing and unsubscribing take the table's write lock: a sync
    // handler runs outside the publisher's read lock, so this cannot deadlock.
    let _meta = bus
        .subscriber("t")
        .handler(move |_| {
            let sub = inner.subscribe("other").unwrap();
            s.fetch_add(inner.stats().subscribers.len() as u32, Ordering::SeqCst);
            drop(sub);
        })
        .unwrap();
    let forward = bus.clone();
    let _relay = bus
        .subscriber("t")
        .async_handler(move |e| {
            let forward = forward.clone();
            async move {
                forward
                    .publish("relayed", *e.payload() + 1)
                    .await
                    .map(|_| ())
            }
        })
        .unwrap();
    let mut relayed = bus.subscribe("relayed").unwrap();
    bus.publish("t", 1).await.unwrap();
    assert_eq!(*relayed.recv().await.unwrap().payload(), 2);
    assert_eq!(
        subscribed.load(Ordering::SeqCst),
        4,
        "three standing subscriptions and the new one"
    );
    drop(relayed);
    tree.shutdown().await;
}
