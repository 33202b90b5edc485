//! Each subscriber's bounded queue and its overflow policy: block
//! (backpressure, lossless), drop-oldest (an exact `Lagged`), dead-letter
//! (reason and original subject); every drop counted per subscriber.

use crate::support::bus::{poll_once, start, start_default};
use servitor::bus::{BusConfig, DeadLetterReason, Overflow, RecvError, TryRecvError};
use std::task::Poll;

#[actix_rt::test]
async fn block_makes_the_publisher_wait_for_room_and_loses_nothing() {
    let (tree, bus) = start_default::<u32>().await;
    let mut sub = bus
        .subscriber("t")
        .capacity(2)
        .overflow(Overflow::Block)
        .stream()
        .unwrap();
    bus.publish("t", 0).await.unwrap();
    bus.publish("t", 1).await.unwrap();
    let mut third = Box::pin(bus.publish("t", 2));
    assert!(
        poll_once(&mut third).await.is_pending(),
        "the queue is full: the publisher waits"
    );
    assert!(poll_once(&mut third).await.is_pending());
    assert_eq!(sub.stats().queued, 2, "memory stays bounded");
    assert_eq!(*sub.recv().await.unwrap().payload(), 0);
    let Poll::Ready(published) = poll_once(&mut third).await else {
        panic!("room was made: the publish completes");
    };
    assert_eq!(published.unwrap().reached, 1);
    assert_eq!(*sub.recv().await.unwrap().payload(), 1);
    assert_eq!(*sub.recv().await.unwrap().payload(), 2);
    assert_eq!(sub.stats().dropped, 0);
    drop(sub);
    tree.shutdown().await;
}

#[actix_rt::test]
async fn a_full_blocking_queue_only_holds_up_publishers_of_its_topics() {
    let (tree, bus) = start_default::<u32>().await;
    let _stuck = bus.subscriber("slow").capacity(1).stream().unwrap();
    let mut fast = bus.subscribe("fast").unwrap();
    bus.publish("slow", 0).await.unwrap();
    let mut blocked = Box::pin(bus.publish("slow", 1));
    assert!(poll_once(&mut blocked).await.is_pending());
    for n in 0..100 {
        let mut publish = Box::pin(bus.publish("fast", n));
        assert!(
            poll_once(&mut publish).await.is_ready(),
            "other topics flow"
        );
    }
    assert_eq!(*fast.recv().await.unwrap().payload(), 0);
    drop(blocked);
    drop(fast);
    tree.shutdown().await;
}

#[actix_rt::test]
async fn drop_oldest_tells_the_subscriber_exactly_how_many_it_missed_then_gives_the_newest() {
    let (tree, bus) = start_default::<u32>().await;
    let mut sub = bus
        .subscriber("t")
        .capacity(3)
        .overflow(Overflow::DropOldest)
        .stream()
        .unwrap();
    for n in 0..10 {
        let mut publish = Box::pin(bus.publish("t", n));
        let Poll::Ready(published) = poll_once(&mut publish).await else {
            panic!("drop-oldest never makes the publisher wait");
        };
        assert_eq!(
            published.unwrap().reached,
            1,
            "the new event is always taken"
        );
    }
    assert_eq!(
        sub.recv().await.unwrap_err(),
        RecvError::Lagged { missed: 7 }
    );
    for n in 7..10 {
        assert_eq!(*sub.recv().await.unwrap().payload(), n);
    }
    assert_eq!(sub.try_recv().unwrap_err(), TryRecvError::Empty);
    for n in 10..15 {
        bus.publish("t", n).await.unwrap();
    }
    assert_eq!(
        sub.try_recv().unwrap_err(),
        TryRecvError::Lagged { missed: 2 }
    );
    for n in 12..15 {
        assert_eq!(*sub.recv().await.unwrap().payload(), n);
    }
    assert_eq!(sub.stats().dropped, 9);
    drop(sub);
    tree.shutdown().await;
}

#[actix_rt::test]
async fn dead_letter_sends_overflow_to_the_dead_letter_topic_with_reason_and_subject() {
    let (tree, bus) = start_default::<u32>().await;
    let mut orders = bus
        .subscriber("orders.*")
        .capacity(1)
        .overflow(Overflow::DeadLetter)
        .stream()
        .unwrap();
    let mut dead = bus.subscribe("_dlq.>").unwrap();
    assert_eq!(bus.publish("orders.a", 0).await.unwrap().reached, 1);
    for (n, subject) in [(1, "orders.b"), (2, "orders.c")] {
        let published = bus.publish(subject, n).await.unwrap();
        assert_eq!((published.reached, published.dead_lettered), (0, 1));
    }
    for (n, subject) in [(1, "orders.b"), (2, "orders.c")] {
        let letter = dead.recv().await.unwrap();
        assert_eq!(letter.subject().as_str(), format!("_dlq.{subject}"));
        assert_eq!(*letter.payload(), n);
        let why = letter.dead_letter().expect("a dead letter says why");
        assert_eq!(why.reason, DeadLetterReason::Overflow { capacity: 1 });
        assert_eq!(why.subject.as_str(), subject);
        assert_eq!(why.subscription, orders.id());
    }
    assert_eq!(
        *orders.recv().await.unwrap().payload(),
        0,
        "the queue kept what it had"
    );
    let stats = orders.stats();
    assert_eq!((stats.dropped, stats.dead_lettered), (2, 2));
    assert_eq!(bus.stats().dead_letters, 2);
    drop((orders, dead));
    tree.shutdown().await;
}

#[actix_rt::test]
async fn the_dead_letter_topic_is_configurable() {
    let (tree, bus) = start::<u32>(BusConfig::default().dead_letter_topic("dead.letters")).await;
    let _full = bus
        .subscriber("t")
        .capacity(1)
        .overflow(Overflow::DeadLetter)
        .stream()
        .unwrap();
    let mut dead = bus.subscribe("dead.letters.>").unwrap();
    bus.publish("t", 0).await.unwrap();
    bus.publish("t", 1).await.unwrap();
    assert_eq!(
        dead.recv().await.unwrap().subject().as_str(),
        "dead.letters.t"
    );
    drop(dead);
    tree.shutdown().await;
}

#[actix_rt::test]
async fn a_slow_subscriber_never_delays_others_under_the_drop_policies() {
    let (tree, bus) = start_default::<u32>().await;
    let stuck_drop = bus
        .subscriber("t")
        .capacity(1)
        .overflow(Overflow::DropOldest)
        .stream()
        .unwrap();
    let stuck_dead = bus
        .subscriber("t")
        .capacity(1)
        .overflow(Overflow::DeadLetter)
        .stream()
        .unwrap();
    let mut fast = bus.subscriber("t").capacity(2_000).stream().unwrap();
    for n in 0..1_000 {
        let mut publish = Box::pin(bus.publish("t", n));
        assert!(
            poll_once(&mut publish).await.is_ready(),
            "publish {n} did not wait"
        );
    }
    for n in 0..1_000 {
        assert_eq!(*fast.recv().await.unwrap().payload(), n);
    }
    assert_eq!(stuck_drop.stats().dropped, 999);
    assert_eq!(stuck_dead.stats().dropped, 999);
    assert_eq!(fast.stats().dropped, 0);
    drop((stuck_drop, stuck_dead, fast));
    tree.shutdown().await;
}

#[actix_rt::test]
async fn drops_are_counted_per_subscriber() {
    let (tree, bus) = start_default::<u32>().await;
    let one = bus
        .subscriber("t")
        .capacity(1)
        .overflow(Overflow::DropOldest)
        .stream()
        .unwrap();
    let two = bus
        .subscriber("t")
        .capacity(2)
        .overflow(Overflow::DropOldest)
        .stream()
        .unwrap();
    let roomy = bus
        .subscriber("t")
        .capacity(100)
        .overflow(Overflow::DropOldest)
        .stream()
        .unwrap();
    for n in 0..10 {
        bus.publish("t", n).await.unwrap();
    }
    assert_eq!(one.stats().dropped, 9);
    assert_eq!(two.stats().dropped, 8);
    assert_eq!(roomy.stats().dropped, 0);
    let stats = bus.stats();
    assert_eq!(stats.dropped(), 17);
    assert_eq!(stats.subscriber(one.id()).unwrap().queued, 1);
    assert_eq!(stats.subscriber(roomy.id()).unwrap().queued, 10);
    drop((one, two, roomy));
    tree.shutdown().await;
}

#[actix_rt::test]
async fn a_dead_letter_is_never_dead_lettered_again() {
    let (tree, bus) = start_default::<u32>().await;
    let _full = bus
        .subscriber("t")
        .capacity(1)
        .overflow(Overflow::DeadLetter)
        .stream()
        .unwrap();
    let dead = bus
        .subscriber("_dlq.>")
        .capacity(1)
        .overflow(Overflow::DeadLetter)
        .stream()
        .unwrap();
    let mut loops = bus.subscribe("_dlq._dlq.>").unwrap();
    for n in 0..4 {
        bus.publish("t", n).await.unwrap();
    }
    // Three dead letters: the first fits, the next two overflow and are dropped.
    assert_eq!(dead.stats().dropped, 2);
    assert_eq!(dead.stats().dead_lettered, 0);
    assert_eq!(loops.try_recv().unwrap_err(), TryRecvError::Empty);
    assert_eq!(bus.stats().dead_letters, 3);
    drop((dead, loops));
    tree.shutdown().await;
}

#[actix_rt::test]
async fn a_dead_letter_for_a_full_blocking_queue_is_counted_not_waited_for() {
    let (tree, bus) = start_default::<u32>().await;
    let _full = bus
        .subscriber("t")
        .capacity(1)
        .overflow(Overflow::DeadLetter)
        .stream()
        .unwrap();
    let dead = bus
        .subscriber("_dlq.>")
        .capacity(1)
        .overflow(Overflow::Block)
        .stream()
        .unwrap();
    for n in 0..4 {
        let mut publish = Box::pin(bus.publish("t", n));
        assert!(
            poll_once(&mut publish).await.is_ready(),
            "publish {n} did not wait"
        );
    }
    assert_eq!(dead.stats().queued, 1);
    assert_eq!(dead.stats().dropped, 2);
    drop(dead);
    tree.shutdown().await;
}

#[actix_rt::test]
async fn the_bus_default_policy_applies_unless_a_subscription_sets_its_own() {
    let config = BusConfig::default()
        .capacity(2)
        .overflow(Overflow::DropOldest);
    let (tree, bus) = start::<u32>(config).await;
    let mut default = bus.subscribe("t").unwrap();
    let own = bus
        .subscriber("t")
        .capacity(5)
        .overflow(Overflow::DeadLetter)
        .stream()
        .unwrap();
    for n in 0..6 {
        bus.publish("t", n).await.unwrap();
    }
    assert_eq!(
        default.recv().await.unwrap_err(),
        RecvError::Lagged { missed: 4 }
    );
    let stats = own.stats();
    assert_eq!(
        (stats.capacity, stats.overflow, stats.dropped),
        (5, Some(Overflow::DeadLetter), 1)
    );
    drop((default, own));
    tree.shutdown().await;
}
