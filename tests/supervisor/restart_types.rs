//! Restart types: whether a child that exited is started again, by how it
//! exited (normally or abnormally) and by its [`Restart`] type.

use crate::support::probes::{
    crash, incarnation, lifecycle_after, probe, reached, Crash, Probe, WhoAreYou,
};
use servitor::supervisor::{ChildInfo, ChildState};
use servitor::testing::{Journal, TestTree};
use servitor::{CallError, ChildSpec, ExitReason, LookupError, Status, Strategy, Supervisor};
use std::time::Duration;

async fn child(tree: &TestTree, id: &str) -> Option<ChildInfo> {
    tree.runtime()
        .root()
        .which_children()
        .await
        .unwrap()
        .into_iter()
        .find(|c| c.id == id)
}

fn under_root(child: ChildSpec) -> servitor::SupervisorBuilder {
    Supervisor::builder("root")
        .intensity(100, Duration::from_secs(1))
        .child(child)
}

/// Waits until `name` has ended for good: its registry entry is a final
/// record.
async fn ended_for_good(tree: &TestTree, name: &str) {
    crate::support::probes::ended(tree.runtime().registry(), name).await;
}

#[actix_rt::test]
async fn a_permanent_child_is_restarted_after_any_exit() {
    tokio::time::pause();
    let journal = Journal::new();
    let tree = TestTree::start_tree(under_root(probe("p", &journal)))
        .await
        .unwrap();
    let rt = tree.runtime();
    crash(rt, "p", Crash::Finish);
    reached(&journal, "p:start:2").await;
    crash(rt, "p", Crash::Panic);
    reached(&journal, "p:start:3").await;
    crash(rt, "p", Crash::Error);
    reached(&journal, "p:start:4").await;
    assert_eq!(incarnation(rt, "p").await, 4);
    let info = child(&tree, "p").await.unwrap();
    assert_eq!(info.restarts, 3);
    assert_eq!(info.state, ChildState::Running);
    tree.shutdown().await;
}

#[actix_rt::test]
async fn a_transient_child_is_restarted_after_abnormal_exits_only() {
    tokio::time::pause();
    let journal = Journal::new();
    let tree = TestTree::start_tree(under_root(probe("t", &journal).transient()))
        .await
        .unwrap();
    let rt = tree.runtime();
    let handle = rt.service::<Probe>("t").unwrap();
    crash(rt, "t", Crash::Panic);
    reached(&journal, "t:start:2").await;
    crash(rt, "t", Crash::Error);
    reached(&journal, "t:start:3").await;
    assert_eq!(incarnation(rt, "t").await, 3);

    crash(rt, "t", Crash::Finish);
    ended_for_good(&tree, "t").await;
    let info = child(&tree, "t")
        .await
        .expect("a transient child stays listed");
    assert_eq!(info.state, ChildState::Stopped);
    assert_eq!(info.last_exit, Some(ExitReason::Normal));
    assert_eq!(info.restarts, 2);
    assert!(matches!(
        handle.call(WhoAreYou).await,
        Err(CallError::Stopped { .. })
    ));
    assert_eq!(lifecycle_after(&journal, 3), Vec::<String>::new());
    tree.shutdown().await;
}

#[actix_rt::test]
async fn a_temporary_child_is_never_restarted_and_leaves_only_a_final_record_after_a_crash() {
    tokio::time::pause();
    let journal = Journal::new();
    let tree = Supervisor::builder("root")
        .intensity(100, Duration::from_secs(1))
        .child(probe("keep", &journal))
        .child(probe("tmp", &journal).temporary());
    let tree = TestTree::start_tree(tree).await.unwrap();
    let rt = tree.runtime();
    crash(rt, "tmp", Crash::Panic);
    ended_for_good(&tree, "tmp").await;
    let ids: Vec<String> = rt
        .root()
        .which_children()
        .await
        .unwrap()
        .into_iter()
        .map(|c| c.id)
        .collect();
    assert_eq!(ids, ["keep"]);
    let record = rt.registry().get("tmp").unwrap();
    assert!(
        record.is_ended() && record.status == Status::Failed,
        "{record:?}"
    );
    assert_eq!(
        rt.service::<Probe>("tmp").unwrap_err(),
        LookupError::NotFound("tmp".into())
    );
    assert_eq!(journal.count("tmp:start:1"), 1);
    assert_eq!(journal.matching("tmp:start").len(), 1);
    tree.shutdown().await;
}

#[actix_rt::test]
async fn a_temporary_child_is_never_restarted_after_a_normal_exit_either() {
    tokio::time::pause();
    let journal = Journal::new();
    let tree = TestTree::start_tree(under_root(probe("tmp", &journal).temporary()))
        .await
        .unwrap();
    let rt = tree.runtime();
    crash(rt, "tmp", Crash::Finish);
    ended_for_good(&tree, "tmp").await;
    assert!(rt.root().which_children().await.unwrap().is_empty());
    assert_eq!(rt.root().count_children().await.unwrap().specs, 0);
    let record = rt.registry().get("tmp").unwrap();
    assert!(
        record.is_ended() && record.status == Status::Stopped,
        "{record:?}"
    );
    assert!(matches!(
        rt.service::<Probe>("tmp"),
        Err(LookupError::NotFound(_))
    ));
    assert_eq!(journal.matching("tmp:start").len(), 1);
    tree.shutdown().await;
}

#[actix_rt::test]
async fn a_temporary_child_taken_down_by_a_one_for_all_restart_is_not_started_again() {
    tokio::time::pause();
    let journal = Journal::new();
    let tree = Supervisor::builder("root")
        .strategy(Strategy::OneForAll)
        .intensity(100, Duration::from_secs(1))
        .child(probe("a", &journal))
        .child(probe("tmp", &journal).temporary())
        .child(probe("b", &journal));
    let tree = TestTree::start_tree(tree).await.unwrap();
    let rt = tree.runtime();
    crash(rt, "a", Crash::Panic);
    reached(&journal, "b:start:2").await;
    assert_eq!(
        lifecycle_after(&journal, 3),
        ["b:stop:1", "tmp:stop:1", "a:start:2", "b:start:2"]
    );
    let ids: Vec<String> = rt
        .root()
        .which_children()
        .await
        .unwrap()
        .into_iter()
        .map(|c| c.id)
        .collect();
    assert_eq!(ids, ["a", "b"]);
    assert!(rt.registry().get("tmp").is_none());
    assert!(matches!(
        rt.service::<Probe>("tmp"),
        Err(LookupError::NotFound(_))
    ));

    // Another restart of everything does not bring it back either.
    crash(rt, "b", Crash::Error);
    reached(&journal, "b:start:3").await;
    assert_eq!(journal.matching("tmp:start").len(), 1);
    tree.shutdown().await;
}
