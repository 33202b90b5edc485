//! Incarnations never overlap: the old instance of a child has stopped and
//! been dropped before the new one's start hook runs, whatever caused the
//! restart. Incarnation numbers grow by one per start.

use crate::support::probes::{
    assert_before, crash, incarnation, probe, probe_with, reached, slow_stop, Crash, BOUND,
};
use servitor::testing::{Journal, TestTree};
use servitor::{Status, Strategy, Supervisor};
use std::time::Duration;

#[actix_rt::test]
async fn a_child_restarted_after_its_own_exit_is_gone_before_its_successor_starts() {
    tokio::time::pause();
    let journal = Journal::new();
    let tree = Supervisor::builder("root")
        .intensity(100, Duration::from_secs(1))
        .child(probe("p", &journal));
    let tree = TestTree::start_tree(tree).await.unwrap();
    let rt = tree.runtime();
    for (n, how) in [Crash::Panic, Crash::Error, Crash::Finish]
        .into_iter()
        .enumerate()
    {
        let old = n as u64 + 1;
        crash(rt, "p", how);
        reached(&journal, &format!("p:start:{}", old + 1)).await;
        assert_before(
            &journal,
            &format!("p:drop:{old}"),
            &format!("p:start:{}", old + 1),
        );
        assert_eq!(incarnation(rt, "p").await, old + 1);
    }
    // An injected crash (the instance is aborted) too.
    tree.crash("p", "injected").await.unwrap();
    reached(&journal, "p:start:5").await;
    assert_before(&journal, "p:drop:4", "p:start:5");
    tree.shutdown().await;
}

#[actix_rt::test]
async fn siblings_restarted_by_one_for_all_are_stopped_and_dropped_before_they_start_again() {
    tokio::time::pause();
    let journal = Journal::new();
    let tree = Supervisor::builder("root")
        .strategy(Strategy::OneForAll)
        .intensity(100, Duration::from_secs(1))
        .child(probe_with(
            "a",
            &journal,
            &slow_stop(Duration::from_millis(50)),
        ))
        .child(probe("b", &journal))
        .child(probe_with(
            "c",
            &journal,
            &slow_stop(Duration::from_millis(50)),
        ));
    let tree = TestTree::start_tree(tree).await.unwrap();
    let rt = tree.runtime();
    crash(rt, "b", Crash::Panic);
    reached(&journal, "c:start:2").await;
    for name in ["a", "b", "c"] {
        if name != "b" {
            assert_before(
                &journal,
                &format!("{name}:stop:1"),
                &format!("{name}:start:2"),
            );
        }
        assert_before(
            &journal,
            &format!("{name}:drop:1"),
            &format!("{name}:start:2"),
        );
        // No new instance of anyone starts while an old one is still around.
        assert_before(&journal, &format!("{name}:drop:1"), "a:start:2");
        assert_eq!(incarnation(rt, name).await, 2);
    }
    tree.shutdown().await;
}

#[actix_rt::test]
async fn a_sibling_killed_at_its_shutdown_timeout_is_gone_before_its_successor_starts() {
    tokio::time::pause();
    let journal = Journal::new();
    let tree = Supervisor::builder("root")
        .strategy(Strategy::RestForOne)
        .intensity(100, Duration::from_secs(1))
        .child(probe("a", &journal))
        .child(
            probe_with("stuck", &journal, &slow_stop(Duration::from_secs(3600)))
                .shutdown_timeout(Duration::from_secs(1)),
        );
    let tree = TestTree::start_tree(tree).await.unwrap();
    let rt = tree.runtime();
    crash(rt, "a", Crash::Panic);
    reached(&journal, "stuck:start:2").await;
    assert_eq!(journal.count("stuck:stop:1"), 0);
    assert_before(&journal, "stuck:drop:1", "a:start:2");
    assert_eq!(incarnation(rt, "stuck").await, 2);
    tree.shutdown().await;
}

#[actix_rt::test]
async fn grandchildren_restarted_with_their_supervisor_get_new_incarnation_numbers() {
    tokio::time::pause();
    let journal = Journal::new();
    let nested = Supervisor::builder("nested")
        .intensity(1, Duration::from_secs(60))
        .child(probe("g1", &journal))
        .child(probe("g2", &journal));
    let tree = Supervisor::builder("root")
        .intensity(10, Duration::from_secs(60))
        .child(nested);
    let tree = TestTree::start_tree(tree).await.unwrap();
    let rt = tree.runtime();
    let mut nested_watch = tree.watch("nested");
    crash(rt, "g1", Crash::Panic);
    reached(&journal, "g1:start:2").await;
    crash(rt, "g1", Crash::Panic);
    nested_watch.wait_for(Status::Failed, BOUND).await.unwrap();
    nested_watch.wait_for(Status::Ok, BOUND).await.unwrap();
    // Old and new instances are told apart by their numbers.
    assert_eq!(incarnation(rt, "g1").await, 3);
    assert_eq!(incarnation(rt, "g2").await, 2);
    assert_before(&journal, "g2:drop:1", "g1:start:3");
    assert_before(&journal, "g1:drop:2", "g1:start:3");
    let infos = rt
        .supervisor("nested")
        .unwrap()
        .which_children()
        .await
        .unwrap();
    let incs: Vec<u64> = infos.iter().map(|c| c.incarnation).collect();
    assert_eq!(incs, [3, 2]);
    tree.shutdown().await;
}
