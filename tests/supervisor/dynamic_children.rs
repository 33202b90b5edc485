//! Changing a running supervisor: adding and removing children, listing
//! and counting them.

use crate::support::probes::{
    crash, failing_starts, incarnation, lifecycle, lifecycle_after, probe, probe_with, reached,
    Crash, Probe, WhoAreYou,
};
use servitor::supervisor::{ChildCounts, ChildState, SupervisorError};
use servitor::testing::{Journal, TestTree};
use servitor::NodeKind;
use servitor::{BuildError, CallError, LookupError, Restart, Supervisor};
use std::time::Duration;

async fn ids(tree: &TestTree) -> Vec<String> {
    tree.runtime()
        .root()
        .which_children()
        .await
        .unwrap()
        .into_iter()
        .map(|c| c.id)
        .collect()
}

async fn two_children(journal: &Journal) -> TestTree {
    let tree = Supervisor::builder("root")
        .intensity(100, Duration::from_secs(1))
        .child(probe("a", journal))
        .child(probe("b", journal));
    TestTree::start_tree(tree).await.unwrap()
}

#[actix_rt::test]
async fn an_added_child_starts_after_the_existing_ones_and_stops_before_them() {
    tokio::time::pause();
    let journal = Journal::new();
    let tree = two_children(&journal).await;
    let rt = tree.runtime();
    rt.root().add_child(probe("c", &journal)).await.unwrap();
    // Started by the time `add_child` returns.
    assert!(rt.service::<Probe>("c").unwrap().is_up());
    assert_eq!(ids(&tree).await, ["a", "b", "c"]);
    assert_eq!(incarnation(rt, "c").await, 1);
    tree.shutdown().await;
    assert_eq!(
        lifecycle_after(&journal, 3),
        ["c:stop:1", "b:stop:1", "a:stop:1"]
    );
}

#[actix_rt::test]
async fn adding_a_child_whose_name_is_taken_anywhere_in_the_tree_is_a_typed_error() {
    tokio::time::pause();
    let journal = Journal::new();
    let tree = Supervisor::builder("root")
        .child(probe("a", &journal))
        .child(Supervisor::builder("nested").child(probe("deep", &journal)));
    let tree = TestTree::start_tree(tree).await.unwrap();
    let root = tree.runtime().root();
    let duplicate = |name: &str| {
        SupervisorError::Invalid(BuildError::DuplicateName {
            name: name.to_string(),
        })
    };
    assert_eq!(
        root.add_child(probe("a", &journal)).await,
        Err(duplicate("a"))
    );
    assert_eq!(
        root.add_child(probe("deep", &journal)).await,
        Err(duplicate("deep"))
    );
    assert_eq!(
        root.add_child(probe("root", &journal)).await,
        Err(duplicate("root"))
    );
    let sub = Supervisor::builder("sub").child(probe("a", &journal));
    assert_eq!(root.add_child(sub).await, Err(duplicate("a")));
    let twice = Supervisor::builder("twice")
        .child(probe("x", &journal))
        .child(probe("x", &journal));
    assert_eq!(root.add_child(twice).await, Err(duplicate("x")));
    // Nothing was started or changed.
    assert_eq!(ids(&tree).await, ["a", "nested"]);
    assert_eq!(lifecycle(&journal), ["a:start:1", "deep:start:1"]);
    assert_eq!(incarnation(tree.runtime(), "a").await, 1);
    tree.shutdown().await;
}

#[actix_rt::test]
async fn adding_an_invalid_child_is_a_typed_error() {
    tokio::time::pause();
    let journal = Journal::new();
    let tree = two_children(&journal).await;
    let err = tree
        .runtime()
        .root()
        .add_child(probe("has space", &journal))
        .await
        .unwrap_err();
    assert!(
        matches!(
            err,
            SupervisorError::Invalid(BuildError::InvalidName { .. })
        ),
        "{err:?}"
    );
    tree.shutdown().await;
}

#[actix_rt::test]
async fn an_added_child_that_fails_to_start_is_not_kept() {
    tokio::time::pause();
    let journal = Journal::new();
    let tree = two_children(&journal).await;
    let rt = tree.runtime();
    let err = rt
        .root()
        .add_child(probe_with("c", &journal, &failing_starts(1)))
        .await
        .unwrap_err();
    match err {
        SupervisorError::StartFailed { child, reason } => {
            assert_eq!(child, "c");
            assert!(reason.contains("c refused to start"), "{reason}");
        }
        other => panic!("expected StartFailed, got {other:?}"),
    }
    assert_eq!(ids(&tree).await, ["a", "b"]);
    assert!(rt.registry().get("c").is_none());
    assert!(matches!(
        rt.service::<Probe>("c"),
        Err(LookupError::NotFound(_))
    ));
    tree.shutdown().await;
}

#[actix_rt::test]
async fn removing_a_child_stops_it_and_frees_its_name() {
    tokio::time::pause();
    let journal = Journal::new();
    let tree = two_children(&journal).await;
    let rt = tree.runtime();
    let handle = rt.service::<Probe>("a").unwrap();
    rt.root().remove_child("a").await.unwrap();
    assert_eq!(lifecycle_after(&journal, 2), ["a:stop:1"]);
    assert_eq!(ids(&tree).await, ["b"]);
    assert!(rt.registry().get("a").is_none());
    assert!(matches!(
        rt.service::<Probe>("a"),
        Err(LookupError::NotFound(_))
    ));
    assert!(matches!(
        handle.call(WhoAreYou).await,
        Err(CallError::Stopped { .. })
    ));
    assert_eq!(rt.root().count_children().await.unwrap().specs, 1);

    // The name is free: a new child of that name starts afresh, last.
    rt.root().add_child(probe("a", &journal)).await.unwrap();
    assert_eq!(ids(&tree).await, ["b", "a"]);
    assert_eq!(incarnation(rt, "a").await, 1);
    assert_eq!(journal.count("a:start:1"), 2);
    tree.shutdown().await;
}

#[actix_rt::test]
async fn removing_an_unknown_child_is_a_typed_error() {
    tokio::time::pause();
    let journal = Journal::new();
    let tree = two_children(&journal).await;
    assert_eq!(
        tree.runtime().root().remove_child("nobody").await,
        Err(SupervisorError::NoSuchChild("nobody".into()))
    );
    tree.shutdown().await;
}

#[actix_rt::test]
async fn removing_a_nested_supervisor_stops_and_forgets_its_whole_subtree() {
    tokio::time::pause();
    let journal = Journal::new();
    let tree = Supervisor::builder("root")
        .child(probe("a", &journal))
        .child(
            Supervisor::builder("nested")
                .child(probe("g1", &journal))
                .child(probe("g2", &journal)),
        );
    let tree = TestTree::start_tree(tree).await.unwrap();
    let rt = tree.runtime();
    rt.root().remove_child("nested").await.unwrap();
    assert_eq!(lifecycle_after(&journal, 3), ["g2:stop:1", "g1:stop:1"]);
    for name in ["nested", "g1", "g2"] {
        assert!(rt.registry().get(name).is_none(), "{name}");
        assert!(rt.supervisor(name).is_err(), "{name}");
    }
    assert_eq!(ids(&tree).await, ["a"]);
    tree.shutdown().await;
}

#[actix_rt::test]
async fn which_children_lists_id_kind_state_restarts_and_last_failure_in_start_order() {
    tokio::time::pause();
    let journal = Journal::new();
    let tree = Supervisor::builder("root")
        .intensity(100, Duration::from_secs(1))
        .child(probe("a", &journal))
        .child(Supervisor::builder("nested").child(probe("g", &journal)))
        .child(probe("b", &journal).transient());
    let tree = TestTree::start_tree(tree).await.unwrap();
    let rt = tree.runtime();
    crash(rt, "b", Crash::Panic);
    reached(&journal, "b:start:2").await;
    crash(rt, "b", Crash::Error);
    reached(&journal, "b:start:3").await;

    let infos = rt.root().which_children().await.unwrap();
    let summary: Vec<(&str, NodeKind, ChildState, Restart, u32, u64)> = infos
        .iter()
        .map(|c| {
            (
                c.id.as_str(),
                c.kind,
                c.state,
                c.restart,
                c.restarts,
                c.incarnation,
            )
        })
        .collect();
    assert_eq!(
        summary,
        [
            (
                "a",
                NodeKind::Service,
                ChildState::Running,
                Restart::Permanent,
                0,
                1
            ),
            (
                "nested",
                NodeKind::Supervisor,
                ChildState::Running,
                Restart::Permanent,
                0,
                1
            ),
            (
                "b",
                NodeKind::Service,
                ChildState::Running,
                Restart::Transient,
                2,
                3
            ),
        ]
    );
    assert_eq!(infos[0].last_failure, None);
    let failure = infos[2].last_failure.clone().unwrap_or_default();
    assert!(failure.contains("b was told to fail"), "{failure}");
    assert_eq!(tree.restarts("b"), 2);
    tree.shutdown().await;
}

#[actix_rt::test]
async fn count_children_counts_specs_active_supervisors_and_workers() {
    tokio::time::pause();
    let journal = Journal::new();
    let tree = Supervisor::builder("root")
        .child(probe("a", &journal))
        .child(Supervisor::builder("nested").child(probe("g", &journal)))
        .child(probe("b", &journal).transient());
    let tree = TestTree::start_tree(tree).await.unwrap();
    let rt = tree.runtime();
    assert_eq!(
        rt.root().count_children().await.unwrap(),
        ChildCounts {
            specs: 3,
            active: 3,
            supervisors: 1,
            workers: 2
        }
    );
    // A transient child that finished stays listed but is no longer active.
    crash(rt, "b", Crash::Finish);
    let mut watch = rt.registry().watch("b").unwrap();
    while watch.next().await.is_some() {}
    assert_eq!(
        rt.root().count_children().await.unwrap(),
        ChildCounts {
            specs: 3,
            active: 2,
            supervisors: 1,
            workers: 2
        }
    );
    assert_eq!(
        rt.supervisor("nested")
            .unwrap()
            .count_children()
            .await
            .unwrap(),
        ChildCounts {
            specs: 1,
            active: 1,
            supervisors: 0,
            workers: 1
        }
    );
    tree.shutdown().await;
}
