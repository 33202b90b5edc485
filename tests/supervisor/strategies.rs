//! Restart strategies: which siblings go down with a child that must be
//! restarted, in which order they stop, and in which order they start again.

use crate::support::probes::{
    crash, incarnation, lifecycle, lifecycle_after, probe, probe_with, reached, slow_stop, Crash,
};
use servitor::testing::{Journal, TestTree};
use servitor::{RuntimeError, Strategy, Supervisor, SupervisorBuilder};
use std::time::Duration;

/// Children `a`, `b`, `c`, `d` whose stop hooks take 40, 30, 20 and 10 ms:
/// were they stopped concurrently, the shortest (the latest started) would
/// finish first and reverse order would look like start order.
fn four_children(strategy: Strategy, journal: &Journal) -> SupervisorBuilder {
    let ms = Duration::from_millis;
    Supervisor::builder("root")
        .strategy(strategy)
        .intensity(100, Duration::from_secs(1))
        .child(probe_with("a", journal, &slow_stop(ms(10))))
        .child(probe_with("b", journal, &slow_stop(ms(20))))
        .child(probe_with("c", journal, &slow_stop(ms(30))))
        .child(probe_with("d", journal, &slow_stop(ms(40))))
}

async fn incarnations(tree: &TestTree) -> Vec<u64> {
    let mut out = Vec::new();
    for name in ["a", "b", "c", "d"] {
        out.push(incarnation(tree.runtime(), name).await);
    }
    out
}

#[actix_rt::test]
async fn one_for_one_restarts_only_the_child_that_crashed() {
    tokio::time::pause();
    let journal = Journal::new();
    let tree = TestTree::start_tree(four_children(Strategy::OneForOne, &journal))
        .await
        .unwrap();
    crash(tree.runtime(), "b", Crash::Panic);
    reached(&journal, "b:start:2").await;
    assert_eq!(incarnations(&tree).await, [1, 2, 1, 1]);
    assert_eq!(lifecycle_after(&journal, 4), ["b:start:2"]);
    tree.shutdown().await;
}

#[actix_rt::test]
async fn one_for_all_stops_the_others_in_reverse_start_order_then_starts_all_in_start_order() {
    tokio::time::pause();
    let journal = Journal::new();
    let tree = TestTree::start_tree(four_children(Strategy::OneForAll, &journal))
        .await
        .unwrap();
    crash(tree.runtime(), "b", Crash::Panic);
    reached(&journal, "d:start:2").await;
    assert_eq!(
        lifecycle_after(&journal, 4),
        [
            "d:stop:1",
            "c:stop:1",
            "a:stop:1",
            "a:start:2",
            "b:start:2",
            "c:start:2",
            "d:start:2",
        ]
    );
    assert_eq!(incarnations(&tree).await, [2, 2, 2, 2]);
    tree.shutdown().await;
}

#[actix_rt::test]
async fn one_for_all_after_an_error_exit_restarts_every_child() {
    tokio::time::pause();
    let journal = Journal::new();
    let tree = TestTree::start_tree(four_children(Strategy::OneForAll, &journal))
        .await
        .unwrap();
    crash(tree.runtime(), "d", Crash::Error);
    reached(&journal, "d:start:2").await;
    assert_eq!(
        lifecycle_after(&journal, 4),
        [
            "c:stop:1",
            "b:stop:1",
            "a:stop:1",
            "a:start:2",
            "b:start:2",
            "c:start:2",
            "d:start:2",
        ]
    );
    assert_eq!(incarnations(&tree).await, [2, 2, 2, 2]);
    tree.shutdown().await;
}

#[actix_rt::test]
async fn rest_for_one_restarts_later_siblings_in_start_order() {
    tokio::time::pause();
    let journal = Journal::new();
    let tree = TestTree::start_tree(four_children(Strategy::RestForOne, &journal))
        .await
        .unwrap();
    crash(tree.runtime(), "b", Crash::Panic);
    reached(&journal, "d:start:2").await;
    assert_eq!(
        lifecycle_after(&journal, 4),
        [
            "d:stop:1",
            "c:stop:1",
            "b:start:2",
            "c:start:2",
            "d:start:2"
        ]
    );
    assert_eq!(incarnations(&tree).await, [1, 2, 2, 2]);
    tree.shutdown().await;
}

#[actix_rt::test]
async fn rest_for_one_restarts_only_the_last_child_when_it_crashes() {
    tokio::time::pause();
    let journal = Journal::new();
    let tree = TestTree::start_tree(four_children(Strategy::RestForOne, &journal))
        .await
        .unwrap();
    crash(tree.runtime(), "d", Crash::Error);
    reached(&journal, "d:start:2").await;
    assert_eq!(lifecycle_after(&journal, 4), ["d:start:2"]);
    assert_eq!(incarnations(&tree).await, [1, 1, 1, 2]);
    tree.shutdown().await;
}

#[actix_rt::test]
async fn a_one_for_all_restart_counts_as_one_restart_against_the_intensity() {
    tokio::time::pause();
    let journal = Journal::new();
    let tree = Supervisor::builder("root")
        .strategy(Strategy::OneForAll)
        .intensity(1, Duration::from_secs(3600))
        .child(probe("a", &journal))
        .child(probe("b", &journal))
        .child(probe("c", &journal));
    let tree = TestTree::start_tree(tree).await.unwrap();
    let rt = tree.runtime();

    crash(rt, "b", Crash::Panic);
    reached(&journal, "c:start:2").await;
    assert!(rt.is_running(), "{:?}", lifecycle(&journal));
    let infos = rt.root().which_children().await.unwrap();
    let restarts: Vec<u32> = infos.iter().map(|c| c.restarts).collect();
    assert_eq!(
        restarts,
        [1, 1, 1],
        "every member of the group was restarted: {infos:?}"
    );
    let incs: Vec<u64> = infos.iter().map(|c| c.incarnation).collect();
    assert_eq!(incs, [2, 2, 2]);

    // The second restart within the hour is one too many.
    crash(rt, "a", Crash::Panic);
    let err = tokio::time::timeout(crate::support::probes::BOUND, rt.wait())
        .await
        .expect("the root should give up")
        .unwrap_err();
    assert!(matches!(err, RuntimeError::RootFailed { .. }), "{err:?}");
}
