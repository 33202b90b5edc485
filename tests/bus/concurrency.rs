//! Many publishers on threads of their own, many topics, subscribers
//! reading in parallel: nothing lost under block, exact counts under the
//! drop policies, publish order kept per publisher at every subscriber.

use crate::support::bus::{on_thread, start_default, within};
use parking_lot::Mutex;
use servitor::bus::{EventBus, Overflow, RecvError, SubscriberStats, Subscription};
use std::collections::{HashMap, HashSet};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

/// (publisher, sequence number within that publisher)
type Stamp = (u32, u32);

/// Publishes `count` stamped events from publisher `id`, round-robin over
/// `topics`, on a thread of its own.
fn publisher(
    bus: &EventBus<Stamp>,
    id: u32,
    count: u32,
    topics: &'static [&'static str],
) -> impl std::future::Future<Output = ()> {
    let bus = bus.clone();
    on_thread(move || async move {
        for seq in 0..count {
            let topic = topics[seq as usize % topics.len()];
            bus.publish(topic, (id, seq)).await.unwrap();
        }
    })
}

/// Reads `expected` events (events + reported misses) on a thread of its
/// own; checks that each publisher's sequence strictly increases; returns
/// (received, missed, the subscription's stats at the end).
fn reader(
    mut sub: Subscription<Stamp>,
    expected: u64,
) -> impl std::future::Future<Output = (Vec<Stamp>, u64, SubscriberStats)> {
    on_thread(move || async move {
        let mut got = Vec::new();
        let mut missed = 0;
        let mut last: HashMap<u32, u32> = HashMap::new();
        while (got.len() as u64) + missed < expected {
            match sub.recv().await {
                Ok(e) => {
                    let (id, seq) = *e.payload();
                    if let Some(prev) = last.insert(id, seq) {
                        assert!(seq > prev, "publisher {id}: {seq} after {prev}");
                    }
                    got.push((id, seq));
                }
                Err(RecvError::Lagged { missed: n }) => missed += n,
                Err(e) => panic!("ended early: {e}"),
            }
        }
        (got, missed, sub.stats())
    })
}

/// Reads on a thread of its own until the bus closes (every handle
/// dropped) and the queue is empty; returns what it received.
fn reader_until_closed(
    mut sub: Subscription<Stamp>,
) -> impl std::future::Future<Output = Vec<Stamp>> {
    on_thread(move || async move {
        let mut got = Vec::new();
        loop {
            match sub.recv().await {
                Ok(e) => got.push(*e.payload()),
                Err(RecvError::Closed) => return got,
                Err(e) => panic!("no lag expected: {e}"),
            }
        }
    })
}

const TOPICS: &[&str] = &["load.a", "load.b", "load.c", "load.d"];

#[actix_rt::test]
async fn many_publishers_on_many_topics_lose_nothing_under_block() {
    let (tree, bus) = start_default::<Stamp>().await;
    const PUBLISHERS: u32 = 4;
    const EACH: u32 = 2_000;
    let total = (PUBLISHERS * EACH) as u64;
    // Small queues, so publishers really do wait for readers.
    let per_topic: Vec<_> = TOPICS
        .iter()
        .map(|t| {
            reader(
                bus.subscriber(t)
                    .capacity(8)
                    .overflow(Overflow::Block)
                    .stream()
                    .unwrap(),
                total / 4,
            )
        })
        .collect();
    let everything = reader(
        bus.subscriber("load.>").capacity(16).stream().unwrap(),
        total,
    );
    let sync_count = Arc::new(AtomicU64::new(0));
    let c = sync_count.clone();
    let _sync = bus
        .subscriber("load.*")
        .handler(move |_| {
            c.fetch_add(1, Ordering::Relaxed);
        })
        .unwrap();
    let async_seen = Arc::new(Mutex::new(Vec::new()));
    let seen = async_seen.clone();
    let _async = bus
        .subscriber("load.*")
        .capacity(4)
        .async_handler(move |e| {
            let seen = seen.clone();
            async move { seen.lock().push(*e.payload()) }
        })
        .unwrap();

    let publishers: Vec<_> = (0..PUBLISHERS)
        .map(|id| publisher(&bus, id, EACH, TOPICS))
        .collect();
    for p in publishers {
        within("a publisher", p).await;
    }
    for (topic, r) in TOPICS.iter().zip(per_topic) {
        let (got, missed, _) = within("a topic reader", r).await;
        assert_eq!((got.len() as u64, missed), (total / 4, 0), "{topic}");
    }
    let (got, missed, _) = within("the wildcard reader", everything).await;
    assert_eq!(missed, 0);
    assert_eq!(
        got.iter().collect::<HashSet<_>>().len() as u64,
        total,
        "every event exactly once"
    );
    within("the flush", bus.flush()).await;
    assert_eq!(sync_count.load(Ordering::Relaxed), total);
    let seen = async_seen.lock().clone();
    assert_eq!(seen.len() as u64, total);
    for id in 0..PUBLISHERS {
        let mine: Vec<u32> = seen.iter().filter(|s| s.0 == id).map(|s| s.1).collect();
        assert!(
            mine.windows(2).all(|w| w[0] < w[1]),
            "publisher {id} out of order at the async handler"
        );
    }
    assert_eq!(bus.stats().dropped(), 0);
    tree.shutdown().await;
}

#[actix_rt::test]
async fn counts_are_exact_under_drop_oldest() {
    let (tree, bus) = start_default::<Stamp>().await;
    const PUBLISHERS: u32 = 4;
    const EACH: u32 = 5_000;
    let total = (PUBLISHERS * EACH) as u64;
    let sub = bus
        .subscriber("t")
        .capacity(4)
        .overflow(Overflow::DropOldest)
        .stream()
        .unwrap();
    let read = reader(sub, total);
    let publishers: Vec<_> = (0..PUBLISHERS)
        .map(|p| publisher(&bus, p, EACH, &["t"]))
        .collect();
    for p in publishers {
        within("a publisher", p).await;
    }
    let (got, missed, stats) = within("the reader", read).await;
    assert_eq!(
        got.len() as u64 + missed,
        total,
        "received + missed = published, exactly"
    );
    assert_eq!(
        stats.dropped, missed,
        "the subscriber's count agrees with what it was told"
    );
    tree.shutdown().await;
}

#[actix_rt::test]
async fn counts_are_exact_under_dead_letter() {
    let (tree, bus) = start_default::<Stamp>().await;
    const PUBLISHERS: u32 = 4;
    const EACH: u32 = 5_000;
    let total = (PUBLISHERS * EACH) as u64;
    let letters = Arc::new(AtomicU64::new(0));
    let l = letters.clone();
    let _dlq = bus
        .subscriber("_dlq.>")
        .handler(move |e| {
            assert_eq!(e.dead_letter().unwrap().subject.as_str(), "t");
            l.fetch_add(1, Ordering::Relaxed);
        })
        .unwrap();
    let sub = bus
        .subscriber("t")
        .capacity(4)
        .overflow(Overflow::DeadLetter)
        .stream()
        .unwrap();
    let id = sub.id();
    let read = reader_until_closed(sub);
    let publishers: Vec<_> = (0..PUBLISHERS)
        .map(|p| publisher(&bus, p, EACH, &["t"]))
        .collect();
    for p in publishers {
        within("a publisher", p).await;
    }
    let stats = bus.stats();
    drop(bus); // the last handle: the reader drains, then sees Closed
    let got = within("the reader", read).await.len() as u64;
    let dead = letters.load(Ordering::Relaxed);
    assert_eq!(
        got + dead,
        total,
        "received + dead-lettered = published, exactly"
    );
    assert_eq!(stats.subscriber(id).unwrap().dead_lettered, dead);
    assert_eq!(stats.subscriber(id).unwrap().dropped, dead);
    assert_eq!(stats.dead_letters, dead);
    tree.shutdown().await;
}

#[actix_rt::test]
async fn ten_thousand_sequenced_events_arrive_in_order_at_every_subscriber() {
    let (tree, bus) = start_default::<Stamp>().await;
    const N: u32 = 10_000;
    let stream = reader(
        bus.subscriber("seq").capacity(16).stream().unwrap(),
        N as u64,
    );
    let lossy = reader(
        bus.subscriber("seq")
            .capacity(16)
            .overflow(Overflow::DropOldest)
            .stream()
            .unwrap(),
        N as u64,
    );
    let in_order = |name: &'static str| {
        let last = Arc::new(Mutex::new((None::<u32>, 0u32)));
        let l = last.clone();
        let check = move |seq: u32| {
            let mut l = l.lock();
            if let Some(prev) = l.0 {
                assert!(seq > prev, "{name}: {seq} after {prev}");
            }
            *l = (Some(seq), l.1 + 1);
        };
        (last, check)
    };
    let (sync_last, sync_check) = in_order("sync handler");
    let _sync = bus
        .subscriber("seq")
        .handler(move |e| sync_check(e.payload().1))
        .unwrap();
    let (async_last, async_check) = in_order("async handler");
    let async_check = Arc::new(async_check);
    let _async = bus
        .subscriber("seq")
        .capacity(16)
        .async_handler(move |e| {
            let check = async_check.clone();
            async move { check(e.payload().1) }
        })
        .unwrap();

    within("the publisher", publisher(&bus, 0, N, &["seq"])).await;
    let (got, missed, _) = within("the stream", stream).await;
    assert_eq!((got.len(), missed), (N as usize, 0));
    let (got, missed, _) = within("the lossy stream", lossy).await;
    assert_eq!(got.len() as u64 + missed, N as u64);
    within("the flush", bus.flush()).await;
    assert_eq!(sync_last.lock().1, N);
    assert_eq!(async_last.lock().1, N);
    tree.shutdown().await;
}

#[actix_rt::test]
async fn queue_groups_share_exactly_under_concurrency() {
    let (tree, bus) = start_default::<Stamp>().await;
    const PUBLISHERS: u32 = 3;
    const EACH: u32 = 1_000;
    let total = (PUBLISHERS * EACH) as usize;
    let members: Vec<_> = (0..3)
        .map(|_| {
            reader_until_closed(
                bus.subscriber("jobs.*")
                    .queue_group("g")
                    .capacity(8)
                    .stream()
                    .unwrap(),
            )
        })
        .collect();
    let plain = reader(
        bus.subscriber("jobs.*").capacity(8).stream().unwrap(),
        total as u64,
    );
    let publishers: Vec<_> = (0..PUBLISHERS)
        .map(|p| publisher(&bus, p, EACH, &["jobs.a", "jobs.b"]))
        .collect();
    for p in publishers {
        within("a publisher", p).await;
    }
    let (got, missed, _) = within("the plain subscriber", plain).await;
    assert_eq!((got.len(), missed), (total, 0));
    drop(bus); // the last handle: members drain, then see Closed
    let mut all = Vec::new();
    for m in members {
        all.extend(within("a member", m).await);
    }
    assert_eq!(all.len(), total, "sum over members");
    assert_eq!(
        all.iter().collect::<HashSet<_>>().len(),
        total,
        "no duplicates"
    );
    tree.shutdown().await;
}

#[actix_rt::test]
async fn subscribing_and_unsubscribing_while_publishing_loses_nothing_for_the_others() {
    let (tree, bus) = start_default::<Stamp>().await;
    const EACH: u32 = 3_000;
    let steady = reader(
        bus.subscriber("churn.>").capacity(32).stream().unwrap(),
        2 * EACH as u64,
    );
    let churner = {
        let bus = bus.clone();
        on_thread(move || async move {
            for i in 0..500 {
                let a = bus
                    .subscriber("churn.*")
                    .capacity(1)
                    .overflow(Overflow::DropOldest)
                    .stream()
                    .unwrap();
                let b = bus
                    .subscriber(">")
                    .queue_group(format!("g{}", i % 3))
                    .handler(|_| ())
                    .unwrap();
                drop((a, b));
            }
        })
    };
    let p1 = publisher(&bus, 0, EACH, &["churn.x"]);
    let p2 = publisher(&bus, 1, EACH, &["churn.y"]);
    within("the churner", churner).await;
    within("publisher 0", p1).await;
    within("publisher 1", p2).await;
    let (got, missed, _) = within("the steady reader", steady).await;
    assert_eq!((got.len() as u64, missed), (2 * EACH as u64, 0));
    assert_eq!(
        bus.stats().subscribers.len(),
        0,
        "the steady reader is gone, the churn left nothing"
    );
    tree.shutdown().await;
}
