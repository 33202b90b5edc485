//! Where OTP's supervisor is the reference: group restarts include children
//! that are not running, giving up ends a supervisor like a shutdown, and
//! children added at run time do not outlive their supervisor's instance.

use crate::support::probes::{crash, lifecycle, lifecycle_after, probe, reached, Crash, BOUND};
use servitor::testing::{Journal, TestTree};
use servitor::{AutoShutdown, ChildSpec, Status, Strategy, Supervisor};
use std::time::Duration;

#[actix_rt::test]
async fn a_one_for_all_restart_starts_every_child_also_a_transient_one_that_had_finished() {
    tokio::time::pause();
    let journal = Journal::new();
    let tree = Supervisor::builder("root")
        .strategy(Strategy::OneForAll)
        .intensity(100, Duration::from_secs(1))
        .child(probe("a", &journal))
        .child(probe("b", &journal).transient())
        .child(probe("c", &journal))
        .child(probe("d", &journal));
    let tree = TestTree::start_tree(tree).await.unwrap();
    let rt = tree.runtime();
    crash(rt, "b", Crash::Finish);
    crate::support::probes::ended(rt.registry(), "b").await;
    let before = lifecycle(&journal).len();
    crash(rt, "c", Crash::Panic);
    reached(&journal, "d:start:2").await;
    assert_eq!(
        lifecycle_after(&journal, before),
        [
            "d:stop:1",
            "a:stop:1",
            "a:start:2",
            "b:start:2",
            "c:start:2",
            "d:start:2"
        ]
    );
    assert_eq!(tree.status("b"), Some(Status::Ok));
    assert!(!rt.registry().get("b").unwrap().is_ended());
    tree.shutdown().await;
}

#[actix_rt::test]
async fn a_significant_child_restarted_with_its_group_no_longer_counts_as_ended() {
    tokio::time::pause();
    let journal = Journal::new();
    let tree = Supervisor::builder("root")
        .strategy(Strategy::OneForAll)
        .auto_shutdown(AutoShutdown::AllSignificant)
        .intensity(100, Duration::from_secs(1))
        .child(probe("a", &journal))
        .child(probe("b", &journal).transient().significant())
        .child(probe("c", &journal).transient().significant());
    let tree = TestTree::start_tree(tree).await.unwrap();
    let rt = tree.runtime();
    crash(rt, "b", Crash::Finish);
    crate::support::probes::ended(rt.registry(), "b").await;
    crash(rt, "a", Crash::Panic);
    reached(&journal, "c:start:2").await;
    crash(rt, "c", Crash::Finish);
    crate::support::probes::ended(rt.registry(), "c").await;
    // `b` runs again, so not every significant child has ended.
    assert!(rt.is_running());
    assert_eq!(tree.status("b"), Some(Status::Ok));
    tree.shutdown().await;
}

fn giving_up_mid(journal: &Journal) -> servitor::SupervisorBuilder {
    Supervisor::builder("mid")
        .intensity(1, Duration::from_secs(60))
        .child(probe("leaf", journal))
}

#[actix_rt::test]
async fn a_transient_supervisor_that_gives_up_is_not_restarted_and_shows_failed() {
    tokio::time::pause();
    let journal = Journal::new();
    let tree = Supervisor::builder("root")
        .intensity(100, Duration::from_secs(1))
        .child(probe("other", &journal))
        .child(ChildSpec::supervisor(giving_up_mid(&journal)).transient());
    let tree = TestTree::start_tree(tree).await.unwrap();
    let rt = tree.runtime();
    crash(rt, "leaf", Crash::Panic);
    reached(&journal, "leaf:start:2").await;
    crash(rt, "leaf", Crash::Panic);
    crate::support::probes::ended(rt.registry(), "mid").await;
    let mid = rt.registry().get("mid").unwrap();
    assert_eq!(mid.status, Status::Failed, "{mid:?}");
    assert!(
        mid.message.as_deref().unwrap().contains("gave up"),
        "{mid:?}"
    );
    let children = rt.root().which_children().await.unwrap();
    let mid = children.iter().find(|c| c.id == "mid").unwrap();
    assert_eq!(mid.incarnation, 1, "not restarted");
    assert_eq!(journal.matching("leaf:start").len(), 2);
    assert!(rt.is_running());
    tree.shutdown().await;
}

#[actix_rt::test]
async fn a_significant_transient_supervisor_that_gives_up_shuts_its_parent_down() {
    tokio::time::pause();
    let journal = Journal::new();
    let tree = Supervisor::builder("root")
        .auto_shutdown(AutoShutdown::AnySignificant)
        .child(probe("other", &journal))
        .child(
            ChildSpec::supervisor(giving_up_mid(&journal))
                .transient()
                .significant(),
        );
    let tree = TestTree::start_tree(tree).await.unwrap();
    let rt = tree.runtime();
    crash(rt, "leaf", Crash::Panic);
    reached(&journal, "leaf:start:2").await;
    crash(rt, "leaf", Crash::Panic);
    let ended = tokio::time::timeout(BOUND, rt.wait()).await.unwrap();
    assert_eq!(ended, Ok(()), "an auto-shutdown, not a failure of the root");
    reached(&journal, "other:stop:1").await;
}

#[actix_rt::test]
async fn a_child_added_at_run_time_is_gone_with_its_supervisors_instance() {
    tokio::time::pause();
    let journal = Journal::new();
    let tree = Supervisor::builder("root")
        .strategy(Strategy::OneForAll)
        .intensity(100, Duration::from_secs(1))
        .child(probe("sibling", &journal))
        .child(Supervisor::builder("mid").child(probe("spec-child", &journal)));
    let tree = TestTree::start_tree(tree).await.unwrap();
    let rt = tree.runtime();
    let mid = rt.supervisor("mid").unwrap();
    mid.add_child(probe("extra", &journal)).await.unwrap();
    let info = mid.which_children().await.unwrap();
    assert!(info.iter().any(|c| c.id == "extra" && c.dynamic));

    // A sibling's crash restarts `mid` (one-for-all): it comes back with
    // its spec's children only, as in OTP.
    crash(rt, "sibling", Crash::Panic);
    reached(&journal, "spec-child:start:2").await;
    let ids: Vec<String> = mid
        .which_children()
        .await
        .unwrap()
        .into_iter()
        .map(|c| c.id)
        .collect();
    assert_eq!(ids, ["spec-child"]);
    assert!(rt.registry().get("extra").is_none(), "its name is free");
    mid.add_child(probe("extra", &journal))
        .await
        .expect("the id can be added again");
    reached(&journal, "extra:start:1").await;
    tree.shutdown().await;
}
