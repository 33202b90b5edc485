//! Auto-shutdown: significant children that end by themselves can end their
//! supervisor normally (OTP's `auto_shutdown`).

use crate::support::probes::{crash, incarnation, lifecycle, probe, reached, Crash, BOUND};
use servitor::supervisor::ChildState;
use servitor::testing::{Journal, TestTree};
use servitor::{AutoShutdown, Runtime, Supervisor};
use std::time::Duration;

async fn wait_ended(rt: &Runtime) -> Result<(), servitor::RuntimeError> {
    tokio::time::timeout(BOUND, rt.wait())
        .await
        .expect("the runtime should end by itself")
}

/// Waits until `name` ended for good (its registry entry is a final record).
async fn gone(rt: &Runtime, name: &str) {
    crate::support::probes::ended(rt.registry(), name).await;
}

#[actix_rt::test]
async fn any_significant_ends_the_root_normally_when_a_significant_job_finishes() {
    tokio::time::pause();
    let journal = Journal::new();
    let tree = Supervisor::builder("root")
        .auto_shutdown(AutoShutdown::AnySignificant)
        .child(probe("a", &journal))
        .child(probe("job", &journal).transient().significant())
        .child(probe("z", &journal))
        .build()
        .unwrap();
    let rt = Runtime::start(tree).await.unwrap();
    crash(&rt, "job", Crash::Finish);
    assert_eq!(wait_ended(&rt).await, Ok(()));
    assert!(!rt.is_running());
    assert_eq!(
        lifecycle(&journal),
        [
            "a:start:1",
            "job:start:1",
            "z:start:1",
            "z:stop:1",
            "a:stop:1"
        ]
    );
    assert!(rt.shutdown().await.is_ok());
}

#[actix_rt::test]
async fn a_significant_transient_child_that_crashes_is_restarted_not_a_shutdown() {
    tokio::time::pause();
    let journal = Journal::new();
    let tree = Supervisor::builder("root")
        .auto_shutdown(AutoShutdown::AnySignificant)
        .intensity(10, Duration::from_secs(1))
        .child(probe("job", &journal).transient().significant())
        .build()
        .unwrap();
    let rt = Runtime::start(tree).await.unwrap();
    crash(&rt, "job", Crash::Panic);
    reached(&journal, "job:start:2").await;
    assert!(rt.is_running());
    crash(&rt, "job", Crash::Finish);
    assert_eq!(wait_ended(&rt).await, Ok(()));
}

#[actix_rt::test]
async fn all_significant_waits_until_every_significant_child_has_ended() {
    tokio::time::pause();
    let journal = Journal::new();
    let tree = Supervisor::builder("root")
        .auto_shutdown(AutoShutdown::AllSignificant)
        .child(probe("a", &journal))
        .child(probe("j1", &journal).transient().significant())
        .child(probe("j2", &journal).temporary().significant())
        .child(probe("plain", &journal).temporary())
        .build()
        .unwrap();
    let rt = Runtime::start(tree).await.unwrap();

    crash(&rt, "j1", Crash::Finish);
    gone(&rt, "j1").await;
    // A non-significant child ending changes nothing either.
    crash(&rt, "plain", Crash::Finish);
    gone(&rt, "plain").await;
    assert!(rt.is_running());
    assert_eq!(incarnation(&rt, "a").await, 1);
    assert_eq!(incarnation(&rt, "j2").await, 1);
    let states: Vec<(String, ChildState)> = rt
        .root()
        .which_children()
        .await
        .unwrap()
        .into_iter()
        .map(|c| (c.id, c.state))
        .collect();
    assert_eq!(
        states,
        [
            ("a".to_string(), ChildState::Running),
            ("j1".to_string(), ChildState::Stopped),
            ("j2".to_string(), ChildState::Running),
        ]
    );

    crash(&rt, "j2", Crash::Finish);
    assert_eq!(wait_ended(&rt).await, Ok(()));
    reached(&journal, "a:stop:1").await;
}

#[actix_rt::test]
async fn a_nested_supervisor_that_shuts_itself_down_is_not_restarted_when_transient() {
    tokio::time::pause();
    let journal = Journal::new();
    let nested = Supervisor::builder("nested")
        .auto_shutdown(AutoShutdown::AnySignificant)
        .child(probe("worker", &journal))
        .child(probe("job", &journal).transient().significant());
    let tree = Supervisor::builder("root")
        .child(probe("a", &journal))
        .child(servitor::ChildSpec::supervisor(nested).transient());
    let tree = TestTree::start_tree(tree).await.unwrap();
    let rt = tree.runtime();
    crash(rt, "job", Crash::Finish);
    gone(rt, "nested").await;
    reached(&journal, "worker:stop:1").await;
    assert!(rt.is_running());
    let nested = rt
        .root()
        .which_children()
        .await
        .unwrap()
        .into_iter()
        .find(|c| c.id == "nested")
        .unwrap();
    assert_eq!(nested.state, ChildState::Stopped);
    assert_eq!(nested.last_exit, Some(servitor::ExitReason::Normal));
    assert_eq!(journal.matching("worker:start").len(), 1);
    assert_eq!(incarnation(rt, "a").await, 1);
    tree.shutdown().await;
}
