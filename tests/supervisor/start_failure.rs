//! Starting a tree: children start one at a time in declared order, the
//! start completes only once every child has started, and a child that
//! fails to start (error, panic, timeout) undoes the whole start.

use crate::support::probes::{
    failing_starts, lifecycle, probe, probe_with, slow_start, Behaviour, Control, Probe, WhoAreYou,
    BOUND,
};
use parking_lot::Mutex;
use servitor::supervisor::{StartFailure, SupervisorError};
use servitor::testing::Journal;
use servitor::{
    ChildSpec, LookupError, Runtime, RuntimeError, Status, Supervisor, SupervisorBuilder,
};
use std::sync::Arc;
use std::time::Duration;
use tokio::time::Instant;

const MS: Duration = Duration::from_millis(1);

fn panicking_start() -> Control {
    Arc::new(Mutex::new(Behaviour {
        panic_starts: 1,
        ..Behaviour::default()
    }))
}

async fn start_failure(tree: SupervisorBuilder) -> StartFailure {
    match Runtime::start(tree.build().unwrap()).await {
        Err(RuntimeError::Start(failure)) => failure,
        Err(other) => panic!("expected a start failure, got {other}"),
        Ok(_) => panic!("the tree started"),
    }
}

/// `a`, `b`, then `bad`, then `d`: only `a` and `b` start, and are stopped
/// again in reverse order.
async fn assert_start_is_undone(bad: ChildSpec, reason_part: &str) {
    let journal = Journal::new();
    let tree = Supervisor::builder("root")
        .child(probe("a", &journal))
        .child(probe("b", &journal))
        .child(bad.clone())
        .child(probe("d", &journal));
    let failure = start_failure(tree).await;
    assert_eq!(failure.child, bad.id());
    assert!(
        failure.reason.contains(reason_part),
        "reason `{}` should mention `{reason_part}`",
        failure.reason
    );
    let mut lifecycle = lifecycle(&journal);
    lifecycle.retain(|e| !e.starts_with("bad:"));
    assert_eq!(
        lifecycle,
        ["a:start:1", "b:start:1", "b:stop:1", "a:stop:1"],
        "every started sibling stopped in reverse; `d` never started"
    );
}

#[actix_rt::test]
async fn children_start_one_at_a_time_in_declared_order_and_start_waits_for_all() {
    tokio::time::pause();
    let journal = Journal::new();
    let tree = Supervisor::builder("root")
        .child(probe_with("a", &journal, &slow_start(300 * MS)))
        .child(probe_with("b", &journal, &slow_start(200 * MS)))
        .child(probe_with("c", &journal, &slow_start(100 * MS)))
        .build()
        .unwrap();
    let began = Instant::now();
    let rt = Runtime::start(tree).await.unwrap();
    // One after another: the sum of the start hooks, not the longest one.
    assert!(
        began.elapsed() >= 600 * MS,
        "started after {:?}",
        began.elapsed()
    );
    assert_eq!(lifecycle(&journal), ["a:start:1", "b:start:1", "c:start:1"]);
    for name in ["a", "b", "c"] {
        assert!(rt.service::<Probe>(name).unwrap().is_up(), "{name}");
    }
    rt.shutdown().await.unwrap();
}

#[actix_rt::test]
async fn a_child_whose_start_hook_fails_undoes_the_start_and_is_named() {
    tokio::time::pause();
    let journal = Journal::new();
    assert_start_is_undone(
        probe_with("bad", &journal, &failing_starts(1)),
        "bad refused to start",
    )
    .await;
}

#[actix_rt::test]
async fn a_child_whose_start_hook_panics_undoes_the_start_and_is_named() {
    tokio::time::pause();
    let journal = Journal::new();
    assert_start_is_undone(
        probe_with("bad", &journal, &panicking_start()),
        "bad start panicked",
    )
    .await;
}

#[actix_rt::test]
async fn a_child_that_does_not_start_within_its_start_timeout_undoes_the_start() {
    tokio::time::pause();
    let journal = Journal::new();
    let slow = probe_with("bad", &journal, &slow_start(Duration::from_secs(3600)))
        .start_timeout(Duration::from_secs(1));
    let began = Instant::now();
    assert_start_is_undone(slow, "did not start within 1s").await;
    // Nothing waits for the stuck start hook beyond its timeout.
    assert!(
        began.elapsed() < Duration::from_millis(1_100),
        "the failed start took {:?}",
        began.elapsed()
    );
}

#[actix_rt::test]
async fn a_start_timeout_fires_at_its_own_deadline_after_shorter_and_longer_ones_came_and_went() {
    tokio::time::pause();
    let journal = Journal::new();
    // `quick` started well within 100 ms (that deadline is gone), `steady`
    // within an hour (gone too; its health checks are far away): neither
    // moves `slow`'s two seconds.
    let tree = Supervisor::builder("root")
        .child(probe("quick", &journal).start_timeout(100 * MS))
        .child(probe("steady", &journal).start_timeout(Duration::from_secs(3600)))
        .child(
            probe_with("slow", &journal, &slow_start(Duration::from_secs(3600)))
                .start_timeout(Duration::from_secs(2)),
        );
    let began = Instant::now();
    let failure = start_failure(tree).await;
    let took = began.elapsed();
    assert_eq!(failure.child, "slow");
    assert!(
        failure.reason.contains("did not start within 2s"),
        "{failure:?}"
    );
    assert!(
        took >= Duration::from_secs(2) && took < Duration::from_millis(2_100),
        "the start timed out after {took:?}"
    );
}

#[actix_rt::test]
async fn a_start_failure_deep_in_a_nested_supervisor_names_that_child() {
    tokio::time::pause();
    let journal = Journal::new();
    let inner = Supervisor::builder("inner")
        .child(probe("g1", &journal))
        .child(probe_with("g2", &journal, &failing_starts(1)))
        .child(probe("g3", &journal));
    let middle = Supervisor::builder("middle")
        .child(probe("m", &journal))
        .child(inner);
    let tree = Supervisor::builder("root")
        .child(probe("a", &journal))
        .child(middle)
        .child(probe("b", &journal));
    let failure = start_failure(tree).await;
    assert_eq!(failure.child, "g2");
    assert!(failure.reason.contains("g2 refused to start"), "{failure}");
    let mut lifecycle = lifecycle(&journal);
    lifecycle.retain(|e| !e.starts_with("g2:"));
    assert_eq!(
        lifecycle,
        [
            "a:start:1",
            "m:start:1",
            "g1:start:1",
            "g1:stop:1",
            "m:stop:1",
            "a:stop:1"
        ]
    );
}

#[actix_rt::test]
async fn a_subtree_added_at_run_time_that_fails_to_start_leaves_nothing_registered() {
    tokio::time::pause();
    let journal = Journal::new();
    let tree = Supervisor::builder("root")
        .child(probe("x", &journal))
        .build()
        .unwrap();
    let rt = Runtime::start(tree).await.unwrap();
    let subtree = Supervisor::builder("sub")
        .child(probe("g1", &journal))
        .child(probe("g2", &journal))
        .child(probe_with("g3", &journal, &failing_starts(1)));
    let err = tokio::time::timeout(BOUND, rt.root().add_child(subtree))
        .await
        .unwrap()
        .unwrap_err();
    match &err {
        SupervisorError::StartFailed { child, reason } => {
            assert_eq!(child, "sub");
            assert!(reason.contains("g3"), "{reason}");
        }
        other => panic!("expected StartFailed, got {other:?}"),
    }
    let mut lifecycle = lifecycle(&journal);
    lifecycle.retain(|e| !e.starts_with("g3:"));
    assert_eq!(
        lifecycle,
        [
            "x:start:1",
            "g1:start:1",
            "g2:start:1",
            "g2:stop:1",
            "g1:stop:1"
        ]
    );
    for name in ["sub", "g1", "g2", "g3"] {
        assert!(
            rt.registry().get(name).is_none(),
            "`{name}` still registered"
        );
        assert!(rt.registry().watch(name).is_err(), "`{name}` watchable");
        assert!(
            matches!(rt.service::<Probe>(name), Err(LookupError::NotFound(_))),
            "`{name}` still has a handle"
        );
    }
    let ids: Vec<String> = rt
        .root()
        .which_children()
        .await
        .unwrap()
        .into_iter()
        .map(|c| c.id)
        .collect();
    assert_eq!(ids, ["x"]);
    // The names are free again: the same subtree, now healthy, can be added.
    let subtree = Supervisor::builder("sub")
        .child(probe("g1", &journal))
        .child(probe("g2", &journal))
        .child(probe("g3", &journal));
    rt.root().add_child(subtree).await.unwrap();
    assert!(rt.service::<Probe>("g3").unwrap().is_up());
    rt.shutdown().await.unwrap();
}

#[actix_rt::test]
async fn a_grandchild_failing_to_start_while_its_subtree_restarts_keeps_its_name_and_handles() {
    tokio::time::pause();
    let journal = Journal::new();
    let control = Control::default();
    let nested = Supervisor::builder("nested")
        .strategy(servitor::Strategy::OneForAll)
        .intensity(1, Duration::from_secs(60))
        .child(probe("g1", &journal))
        .child(probe_with("g2", &journal, &control));
    let tree = Supervisor::builder("root")
        .intensity(10, Duration::from_secs(60))
        .child(nested)
        .build()
        .unwrap();
    let rt = Runtime::start(tree).await.unwrap();
    let g1 = rt.service::<Probe>("g1").unwrap();
    let nested_ref = rt.supervisor("nested").unwrap();
    let mut g1_watch = rt.registry().watch("g1").unwrap();
    // `g2` fails its next two starts: the first fails `nested`'s own restart
    // (one too many: it gives up), the second fails the first attempt of the
    // root to restart `nested`; the second attempt succeeds.
    control.lock().fail_starts = 2;
    crate::support::probes::crash(&rt, "g1", crate::support::probes::Crash::Panic);
    crate::support::probes::reached(&journal, "g2:start:4").await;
    let failed_starts = ["g2:start:2", "g2:start:3"];
    let mut lifecycle = lifecycle(&journal);
    lifecycle.retain(|e| !failed_starts.contains(&e.as_str()));
    assert_eq!(
        lifecycle,
        [
            "g1:start:1",
            "g2:start:1",
            "g2:stop:1",
            "g1:start:2",
            "g1:stop:2",
            "g1:start:3",
            "g1:stop:3",
            "g1:start:4",
            "g2:start:4"
        ]
    );
    // Handles and watches taken before still reach the service.
    assert_eq!(g1.call(WhoAreYou).await.unwrap(), ("g1".to_string(), 4));
    g1_watch.wait_for(Status::Ok, BOUND).await.unwrap();
    assert_eq!(nested_ref.which_children().await.unwrap().len(), 2);
    assert!(rt.registry().get("g2").is_some());
    rt.shutdown().await.unwrap();
}
