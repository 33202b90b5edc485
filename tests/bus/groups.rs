//! Queue groups, NATS semantics: each event reaches exactly one member of
//! each matching group; subscribers outside groups get every event.

use crate::support::bus::{start_default, within};
use parking_lot::Mutex;
use servitor::bus::{HandlerSubscription, TryRecvError};
use std::collections::HashSet;
use std::sync::Arc;

const EVENTS: u32 = 3_000;

type Seen = Arc<Mutex<Vec<u32>>>;

fn member(
    bus: &servitor::bus::EventBus<u32>,
    pattern: &str,
    group: &str,
    seen: &Seen,
) -> HandlerSubscription {
    let seen = seen.clone();
    bus.subscriber(pattern)
        .queue_group(group)
        .async_handler(move |e| {
            let seen = seen.clone();
            async move { seen.lock().push(*e.payload()) }
        })
        .unwrap()
}

#[actix_rt::test]
async fn each_event_reaches_exactly_one_group_member_and_every_plain_subscriber() {
    let (tree, bus) = start_default::<u32>().await;
    let seen: Vec<Seen> = (0..3).map(|_| Seen::default()).collect();
    let members: Vec<_> = seen
        .iter()
        .map(|s| member(&bus, "jobs.*", "g", s))
        .collect();
    let plain_seen = Seen::default();
    let p = plain_seen.clone();
    let plain = bus
        .subscriber("jobs.*")
        .handler(move |e| p.lock().push(*e.payload()))
        .unwrap();

    for n in 0..EVENTS {
        let subject = ["jobs.resize", "jobs.encode", "jobs.upload"][n as usize % 3];
        assert_eq!(
            bus.publish(subject, n).await.unwrap().reached,
            2,
            "one member + the plain one"
        );
    }
    within("the flush", bus.flush()).await;

    let counts: Vec<usize> = seen.iter().map(|s| s.lock().len()).collect();
    assert_eq!(counts.iter().sum::<usize>(), EVENTS as usize, "{counts:?}");
    let all: HashSet<u32> = seen.iter().flat_map(|s| s.lock().clone()).collect();
    assert_eq!(all.len(), EVENTS as usize, "no event went to two members");
    assert!(
        counts.iter().all(|&c| c > 0),
        "the load is spread: {counts:?}"
    );
    assert_eq!(*plain_seen.lock(), (0..EVENTS).collect::<Vec<_>>());
    drop((members, plain));
    tree.shutdown().await;
}

#[actix_rt::test]
async fn every_group_gets_its_own_copy() {
    let (tree, bus) = start_default::<u32>().await;
    let (a, b) = (Seen::default(), Seen::default());
    let subs = [
        member(&bus, "t", "billing", &a),
        member(&bus, "t", "billing", &a),
        member(&bus, "t", "audit", &b),
        member(&bus, "t", "audit", &b),
    ];
    for n in 0..100 {
        assert_eq!(bus.publish("t", n).await.unwrap().reached, 2);
    }
    within("the flush", bus.flush()).await;
    assert_eq!(a.lock().len(), 100);
    assert_eq!(b.lock().len(), 100);
    drop(subs);
    tree.shutdown().await;
}

#[actix_rt::test]
async fn a_group_is_one_group_across_patterns() {
    let (tree, bus) = start_default::<u32>().await;
    let seen = Seen::default();
    let subs = [
        member(&bus, "jobs.*", "g", &seen),
        member(&bus, "jobs.>", "g", &seen),
        member(&bus, "jobs.resize", "g", &seen),
    ];
    for n in 0..300 {
        assert_eq!(bus.publish("jobs.resize", n).await.unwrap().reached, 1);
    }
    within("the flush", bus.flush()).await;
    let mut got = seen.lock().clone();
    got.sort();
    assert_eq!(got, (0..300).collect::<Vec<_>>());
    drop(subs);
    tree.shutdown().await;
}

#[actix_rt::test]
async fn a_member_with_a_full_queue_is_passed_over() {
    let (tree, bus) = start_default::<u32>().await;
    let stuck = bus
        .subscriber("t")
        .queue_group("g")
        .capacity(1)
        .stream()
        .unwrap();
    let mut free = bus
        .subscriber("t")
        .queue_group("g")
        .capacity(1_000)
        .stream()
        .unwrap();
    for n in 0..500 {
        let mut publish = Box::pin(bus.publish("t", n));
        assert!(
            crate::support::bus::poll_once(&mut publish)
                .await
                .is_ready(),
            "a member with room takes the event: no waiting"
        );
    }
    let to_stuck = stuck.stats().delivered;
    assert!(to_stuck <= 1, "the full member got {to_stuck}");
    let mut to_free = 0;
    while free.try_recv().is_ok() {
        to_free += 1;
    }
    assert_eq!(to_free + to_stuck, 500);
    drop((stuck, free));
    tree.shutdown().await;
}

#[actix_rt::test]
async fn when_a_member_leaves_the_others_take_its_share() {
    let (tree, bus) = start_default::<u32>().await;
    let leaving = bus.subscriber("t").queue_group("g").stream().unwrap();
    let mut staying = bus.subscriber("t").queue_group("g").stream().unwrap();
    drop(leaving);
    for n in 0..50 {
        bus.publish("t", n).await.unwrap();
    }
    for n in 0..50 {
        assert_eq!(*staying.recv().await.unwrap().payload(), n);
    }
    assert_eq!(staying.try_recv().unwrap_err(), TryRecvError::Empty);
    drop(staying);
    assert_eq!(bus.publish("t", 0).await.unwrap().reached, 0);
    tree.shutdown().await;
}

#[actix_rt::test]
async fn a_member_keeps_publish_order_for_what_it_gets() {
    let (tree, bus) = start_default::<u32>().await;
    let seen: Vec<Seen> = (0..3).map(|_| Seen::default()).collect();
    let members: Vec<_> = seen.iter().map(|s| member(&bus, "t", "g", s)).collect();
    for n in 0..1_000 {
        bus.publish("t", n).await.unwrap();
    }
    within("the flush", bus.flush()).await;
    for s in &seen {
        let got = s.lock().clone();
        assert!(got.windows(2).all(|w| w[0] < w[1]), "out of order: {got:?}");
    }
    drop(members);
    tree.shutdown().await;
}
