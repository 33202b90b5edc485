//! Subjects and patterns are bounded, so matching stays shallow; a publish
//! refused with `Stopped` reached nobody.

use crate::support::bus::{start, start_default};
use servitor::bus::{BusConfig, BusError, EventBus, Overflow, SubjectProblem, MAX_SUBJECT_TOKENS};
use servitor::{Runtime, RuntimeConfig, Supervisor};
use std::time::Duration;

fn tokens(n: usize) -> String {
    vec!["t"; n].join(".")
}

#[actix_rt::test]
async fn patterns_and_subjects_with_too_many_tokens_or_bytes_are_refused() {
    let (tree, bus) = start_default::<u32>().await;
    let err = bus.subscribe(&tokens(50_000)).unwrap_err();
    assert!(
        matches!(
            err,
            BusError::InvalidPattern {
                problem: SubjectProblem::TooLong | SubjectProblem::TooManyTokens,
                ..
            }
        ),
        "{err:?}"
    );
    let err = bus.subscribe(&tokens(MAX_SUBJECT_TOKENS + 1)).unwrap_err();
    assert!(matches!(
        err,
        BusError::InvalidPattern {
            problem: SubjectProblem::TooManyTokens,
            ..
        }
    ));
    let err = bus.publish(tokens(10_000).as_str(), 1).await.unwrap_err();
    assert!(matches!(err, BusError::InvalidSubject { .. }), "{err:?}");
    let err = bus
        .publish("x".repeat(5_000).as_str(), 1)
        .await
        .unwrap_err();
    assert!(matches!(
        err,
        BusError::InvalidSubject {
            problem: SubjectProblem::TooLong,
            ..
        }
    ));
    tree.shutdown().await;
}

#[test]
fn the_longest_pattern_is_matched_on_a_small_stack_and_dropped_without_trouble() {
    // A thread with a 256 KiB stack, an eighth of the default.
    let outcome = std::thread::Builder::new()
        .stack_size(256 * 1024)
        .spawn(|| {
            actix_rt::System::new().block_on(async {
                let (tree, bus) = start_default::<u32>().await;
                let longest = tokens(MAX_SUBJECT_TOKENS);
                let mut sub = bus.subscribe(&longest).unwrap();
                let _wild = bus
                    .subscribe(&format!("{}.>", tokens(MAX_SUBJECT_TOKENS - 1)))
                    .unwrap();
                let published = bus.publish(longest.as_str(), 7).await.unwrap();
                assert_eq!(published.reached, 2);
                assert_eq!(*sub.recv().await.unwrap().payload(), 7);
                drop(sub);
                tree.shutdown().await;
                drop(bus);
            })
        })
        .unwrap()
        .join();
    assert!(outcome.is_ok());
}

#[actix_rt::test]
async fn a_refused_publish_reached_nobody_and_a_partial_one_says_what_it_reached() {
    let (tree, bus) = start::<u32>(BusConfig::default()).await;
    let _fast = bus.subscriber("t").stream().unwrap();
    let mut slow = bus
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
    tokio::time::sleep(Duration::from_millis(20)).await;
    tree.runtime()
        .root()
        .remove_child(crate::support::bus::BUS)
        .await
        .unwrap();
    match blocked.await.unwrap() {
        Err(BusError::StoppedWhileDelivering { delivered, .. }) => assert_eq!(delivered.reached, 1),
        other => panic!("{other:?}"),
    }
    assert!(matches!(
        bus.publish("t", 3).await,
        Err(BusError::Stopped { .. })
    ));
    assert_eq!(*slow.recv().await.unwrap().payload(), 1);
    tree.shutdown().await;
}

#[actix_rt::test]
async fn a_shutdown_past_its_deadline_still_closes_the_bus() {
    let (spec, bus) = EventBus::<u32>::service("events", BusConfig::default()).unwrap();
    let stuck = crate::support::probes::probe_with(
        "stuck",
        &servitor::testing::Journal::new(),
        &crate::support::probes::slow_stop(Duration::from_secs(600)),
    )
    .shutdown_timeout(Duration::from_secs(600));
    let tree = Supervisor::builder("app")
        .child(spec)
        .child(stuck)
        .build()
        .unwrap();
    let config = RuntimeConfig {
        shutdown_deadline: Duration::from_millis(200),
        handle_signals: false,
        ..RuntimeConfig::default()
    };
    let app = Runtime::start_with(tree, config).await.unwrap();
    let mut full = bus.subscriber("t").capacity(1).stream().unwrap();
    bus.publish("t", 1).await.unwrap();
    let blocked = {
        let bus = bus.clone();
        actix_rt::spawn(async move { bus.publish("t", 2).await })
    };
    let report = app.shutdown().await.unwrap();
    assert!(report.deadline_exceeded);
    assert!(!bus.is_running());
    assert!(bus.is_stopped());
    assert!(matches!(
        bus.publish("t", 3).await,
        Err(BusError::Stopped { .. })
    ));
    let blocked = tokio::time::timeout(Duration::from_secs(5), blocked)
        .await
        .expect("the blocked publisher is released");
    assert!(blocked.unwrap().is_err());
    assert_eq!(*full.recv().await.unwrap().payload(), 1);
}
