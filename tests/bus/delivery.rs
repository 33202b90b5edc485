//! Delivery: the three kinds of subscriber, what `publish` reports,
//! unsubscribing by drop, `flush`, and closing.

use crate::support::bus::{start_default, within, BUS};
use futures_util::StreamExt;
use parking_lot::Mutex;
use servitor::bus::{BusConfig, EventBus, HandlerError, RecvError, SubscriberKind, TryRecvError};
use servitor::testing::{Journal, TestTree};
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::Arc;
use tokio::sync::Semaphore;

#[actix_rt::test]
async fn a_sync_handler_runs_before_publish_returns_and_its_result_is_reported() {
    let (tree, bus) = start_default::<u32>().await;
    let seen = Arc::new(Mutex::new(Vec::new()));
    let log = seen.clone();
    let ok = bus
        .subscriber("orders.*")
        .handler(move |e| log.lock().push((e.subject().to_string(), *e.payload())))
        .unwrap();
    let picky = bus
        .subscriber("orders.*")
        .handler(|e| {
            if *e.payload() > 1 {
                Err(format!("{} is too many", e.payload()))
            } else {
                Ok(())
            }
        })
        .unwrap();

    let first = bus.publish("orders.created", 1).await.unwrap();
    assert_eq!(
        *seen.lock(),
        [("orders.created".to_string(), 1)],
        "ran before publish returned"
    );
    assert_eq!(first.reached, 2);
    assert!(first.handlers_ok());

    let second = bus.publish("orders.created", 2).await.unwrap();
    assert_eq!(second.handlers.len(), 2);
    let report = second
        .handlers
        .iter()
        .find(|h| h.subscription == picky.id())
        .unwrap();
    assert_eq!(
        report.result,
        Err(HandlerError::Failed("2 is too many".into()))
    );
    let report = second
        .handlers
        .iter()
        .find(|h| h.subscription == ok.id())
        .unwrap();
    assert_eq!(report.result, Ok(()));
    assert_eq!(picky.stats().kind, SubscriberKind::Handler);
    assert_eq!((picky.stats().delivered, picky.stats().failed), (2, 1));
    drop((ok, picky));
    tree.shutdown().await;
}

#[actix_rt::test]
async fn an_async_handler_runs_on_its_own_task_while_the_publisher_goes_on() {
    let (tree, bus) = start_default::<u32>().await;
    let journal = Journal::new();
    let gate = Arc::new(Semaphore::new(0));
    let (j, g) = (journal.clone(), gate.clone());
    let worker = bus
        .subscriber("jobs.*")
        .async_handler(move |e| {
            let (j, g) = (j.clone(), g.clone());
            async move {
                j.record(format!("start {}", e.payload()));
                g.acquire().await.unwrap().forget();
                j.record(format!("end {}", e.payload()));
            }
        })
        .unwrap();
    for n in 0..3 {
        // Returns although the handler is stuck on its first event.
        assert_eq!(bus.publish("jobs.resize", n).await.unwrap().reached, 1);
    }
    within(
        "the handler starting",
        journal.wait_for("start 0", crate::support::bus::BOUND),
    )
    .await
    .unwrap();
    assert_eq!(journal.entries(), ["start 0"], "one event at a time");
    gate.add_permits(3);
    within("the flush", bus.flush()).await;
    assert_eq!(
        journal.entries(),
        ["start 0", "end 0", "start 1", "end 1", "start 2", "end 2"]
    );
    assert_eq!(worker.stats().kind, SubscriberKind::AsyncHandler);
    drop(worker);
    tree.shutdown().await;
}

#[actix_rt::test]
async fn a_stream_receives_every_event_in_publish_order() {
    let (tree, bus) = start_default::<u32>().await;
    let mut sub = bus.subscribe("ticks").unwrap();
    for n in 0..100 {
        bus.publish("ticks", n).await.unwrap();
    }
    for n in 0..100 {
        assert_eq!(*sub.recv().await.unwrap().payload(), n);
    }
    assert_eq!(sub.try_recv().unwrap_err(), TryRecvError::Empty);
    drop(sub);
    tree.shutdown().await;
}

#[actix_rt::test]
async fn publish_reports_how_many_subscribers_it_reached() {
    let (tree, bus) = start_default::<u32>().await;
    let a = bus.subscribe("a.b").unwrap();
    let b = bus.subscribe("a.*").unwrap();
    let c = bus.subscriber("a.>").handler(|_| ()).unwrap();
    let d = bus.subscriber(">").async_handler(|_| async {}).unwrap();
    let other = bus.subscribe("x.*").unwrap();
    assert_eq!(bus.publish("a.b", 1).await.unwrap().reached, 4);
    assert_eq!(bus.publish("a.c", 1).await.unwrap().reached, 3);
    assert_eq!(bus.publish("nobody.listens", 1).await.unwrap().reached, 1);
    drop((a, b, c, d, other));
    assert_eq!(bus.publish("a.b", 1).await.unwrap().reached, 0);
    tree.shutdown().await;
}

#[actix_rt::test]
async fn dropping_the_subscription_handle_unsubscribes() {
    let (tree, bus) = start_default::<u32>().await;
    let calls = Arc::new(AtomicU32::new(0));
    let c = calls.clone();
    let handler = bus
        .subscriber("t")
        .handler(move |_| {
            c.fetch_add(1, Ordering::SeqCst);
        })
        .unwrap();
    let stream = bus.subscribe("t").unwrap();
    assert_eq!(bus.publish("t", 1).await.unwrap().reached, 2);
    drop(handler);
    assert_eq!(bus.publish("t", 2).await.unwrap().reached, 1);
    stream.unsubscribe();
    assert_eq!(bus.publish("t", 3).await.unwrap().reached, 0);
    assert_eq!(calls.load(Ordering::SeqCst), 1);
    assert!(bus.stats().subscribers.is_empty());
    tree.shutdown().await;
}

#[actix_rt::test]
async fn a_subscriber_added_after_a_publish_does_not_get_it() {
    let (tree, bus) = start_default::<u32>().await;
    let mut early = bus.subscribe("t").unwrap();
    bus.publish("t", 1).await.unwrap();
    let mut late = bus.subscribe("t").unwrap();
    bus.publish("t", 2).await.unwrap();
    assert_eq!(*early.recv().await.unwrap().payload(), 1);
    assert_eq!(*early.recv().await.unwrap().payload(), 2);
    assert_eq!(*late.recv().await.unwrap().payload(), 2);
    assert_eq!(late.try_recv().unwrap_err(), TryRecvError::Empty);
    drop((early, late));
    tree.shutdown().await;
}

#[actix_rt::test]
async fn flush_returns_once_every_queue_is_drained() {
    let (tree, bus) = start_default::<u32>().await;
    let handled = Arc::new(AtomicU32::new(0));
    let h = handled.clone();
    let slow = bus
        .subscriber("work")
        .async_handler(move |_| {
            let h = h.clone();
            async move {
                // Gives the publisher and the flush every chance to run ahead.
                for _ in 0..3 {
                    tokio::task::yield_now().await;
                }
                h.fetch_add(1, Ordering::SeqCst);
            }
        })
        .unwrap();
    let read = Arc::new(AtomicU32::new(0));
    let mut stream = bus.subscribe("work").unwrap();
    let r = read.clone();
    let reader = actix_rt::spawn(async move {
        while stream.recv().await.is_ok() {
            r.fetch_add(1, Ordering::SeqCst);
        }
    });
    for n in 0..200 {
        bus.publish("work", n).await.unwrap();
    }
    within("the flush", bus.flush()).await;
    assert_eq!(handled.load(Ordering::SeqCst), 200);
    assert_eq!(read.load(Ordering::SeqCst), 200);
    assert_eq!(bus.stats().queued(), 0);
    drop(slow);
    drop(bus);
    within("the reader ending", reader).await.unwrap();
    tree.shutdown().await;
}

#[actix_rt::test]
async fn flush_with_nothing_queued_returns_at_once() {
    let (tree, bus) = start_default::<u32>().await;
    let _idle = bus.subscribe("t").unwrap();
    within("the flush", bus.flush()).await;
    tree.shutdown().await;
}

#[actix_rt::test]
async fn when_the_last_handle_is_dropped_subscribers_drain_then_see_closed() {
    let (tree, bus) = start_default::<u32>().await;
    let mut sub = bus.subscribe("t").unwrap();
    let mut stream = bus.subscribe("t").unwrap();
    let other = bus.clone();
    bus.publish("t", 1).await.unwrap();
    drop(bus);
    assert_eq!(*sub.recv().await.unwrap().payload(), 1);
    assert_eq!(
        sub.try_recv().unwrap_err(),
        TryRecvError::Empty,
        "a handle is left: not closed"
    );
    other.publish("t", 2).await.unwrap();
    drop(other);
    assert_eq!(*sub.recv().await.unwrap().payload(), 2);
    assert_eq!(sub.recv().await.unwrap_err(), RecvError::Closed);
    assert_eq!(sub.try_recv().unwrap_err(), TryRecvError::Closed);
    let rest: Vec<u32> = stream
        .by_ref()
        .map(|e| *e.unwrap().payload())
        .collect()
        .await;
    assert_eq!(rest, [1, 2], "the stream ends after the queue");
    drop((sub, stream));
    tree.shutdown().await;
}

#[actix_rt::test]
async fn a_subscription_is_a_stream_of_events() {
    let (tree, bus) = start_default::<String>().await;
    let sub = bus.subscribe("greetings.*").unwrap();
    for who in ["ann", "bob", "cid"] {
        bus.publish(format!("greetings.{who}"), format!("hello {who}"))
            .await
            .unwrap();
    }
    let got: Vec<(String, String)> = sub
        .take(3)
        .map(|e| {
            let e = e.unwrap();
            (e.subject().to_string(), e.into_payload())
        })
        .collect()
        .await;
    assert_eq!(
        got,
        [
            ("greetings.ann".to_string(), "hello ann".to_string()),
            ("greetings.bob".to_string(), "hello bob".to_string()),
            ("greetings.cid".to_string(), "hello cid".to_string()),
        ]
    );
    tree.shutdown().await;
}

#[actix_rt::test]
async fn a_detached_handler_stays_subscribed() {
    let (tree, bus) = start_default::<u32>().await;
    let calls = Arc::new(AtomicU32::new(0));
    let c = calls.clone();
    bus.subscriber("t")
        .handler(move |_| {
            c.fetch_add(1, Ordering::SeqCst);
        })
        .unwrap()
        .detach();
    bus.publish("t", 1).await.unwrap();
    bus.publish("t", 2).await.unwrap();
    assert_eq!(calls.load(Ordering::SeqCst), 2);
    assert_eq!(bus.stats().subscribers.len(), 1);
    tree.shutdown().await;
}

#[actix_rt::test]
async fn subscriptions_made_before_the_bus_starts_get_its_events() {
    let (spec, bus) = EventBus::<u32>::service(BUS, BusConfig::default()).unwrap();
    let mut early = bus.subscribe("t").unwrap();
    let tree = TestTree::start(spec).await.unwrap();
    bus.publish("t", 7).await.unwrap();
    assert_eq!(*early.recv().await.unwrap().payload(), 7);
    drop(early);
    tree.shutdown().await;
}

#[actix_rt::test]
async fn each_subscriber_gets_its_own_clone_of_the_payload() {
    let (tree, bus) = start_default::<Arc<Vec<u8>>>().await;
    let mut a = bus.subscribe("blob").unwrap();
    let mut b = bus.subscribe("blob").unwrap();
    let payload = Arc::new(vec![1, 2, 3]);
    bus.publish("blob", payload.clone()).await.unwrap();
    let (ea, eb) = (a.recv().await.unwrap(), b.recv().await.unwrap());
    assert!(Arc::ptr_eq(ea.payload(), &payload) && Arc::ptr_eq(eb.payload(), &payload));
    assert_eq!(
        Arc::strong_count(&payload),
        3,
        "an Arc payload is shared, not copied"
    );
    drop((a, b));
    tree.shutdown().await;
}
