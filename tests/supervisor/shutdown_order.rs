//! Stopping a tree: reverse start order, nested supervisors included, each
//! child fully stopped before the next; a child stuck in its stop hook is
//! killed at its shutdown timeout and reported.

use crate::support::probes::{lifecycle, probe, probe_with, reached, slow_stop, Probe};
use servitor::testing::Journal;
use servitor::{Runtime, Supervisor};
use std::time::Duration;
use tokio::time::Instant;

const MS: Duration = Duration::from_millis(1);

#[actix_rt::test]
async fn shutdown_stops_children_in_reverse_start_order_one_at_a_time() {
    tokio::time::pause();
    let journal = Journal::new();
    // The last child takes longest: stopped concurrently, `a` would finish
    // first.
    let tree = Supervisor::builder("root")
        .child(probe_with("a", &journal, &slow_stop(10 * MS)))
        .child(probe_with("b", &journal, &slow_stop(20 * MS)))
        .child(probe_with("c", &journal, &slow_stop(30 * MS)))
        .build()
        .unwrap();
    let rt = Runtime::start(tree).await.unwrap();
    let asked = Instant::now();
    let report = rt.shutdown().await.unwrap();
    assert!(asked.elapsed() >= 60 * MS, "{:?}", asked.elapsed());
    assert!(report.killed.is_empty());
    assert!(!report.deadline_exceeded);
    assert_eq!(
        lifecycle(&journal),
        [
            "a:start:1",
            "b:start:1",
            "c:start:1",
            "c:stop:1",
            "b:stop:1",
            "a:stop:1"
        ]
    );
}

#[actix_rt::test]
async fn shutdown_goes_depth_first_in_reverse_through_nested_supervisors() {
    tokio::time::pause();
    let journal = Journal::new();
    let inner = Supervisor::builder("inner")
        .child(probe_with("i1", &journal, &slow_stop(10 * MS)))
        .child(probe_with("i2", &journal, &slow_stop(20 * MS)));
    let tree = Supervisor::builder("root")
        .child(probe_with("a", &journal, &slow_stop(5 * MS)))
        .child(inner)
        .child(probe_with("z", &journal, &slow_stop(30 * MS)))
        .build()
        .unwrap();
    let rt = Runtime::start(tree).await.unwrap();
    rt.shutdown().await.unwrap();
    assert_eq!(
        lifecycle(&journal),
        [
            "a:start:1",
            "i1:start:1",
            "i2:start:1",
            "z:start:1",
            "z:stop:1",
            "i2:stop:1",
            "i1:stop:1",
            "a:stop:1"
        ]
    );
}

#[actix_rt::test]
async fn a_child_stuck_in_its_stop_hook_is_killed_at_its_shutdown_timeout_and_reported() {
    tokio::time::pause();
    let journal = Journal::new();
    let tree = Supervisor::builder("root")
        .child(probe("a", &journal))
        .child(
            probe_with("stuck", &journal, &slow_stop(Duration::from_secs(3600)))
                .shutdown_timeout(Duration::from_secs(2)),
        )
        .child(probe("z", &journal))
        .build()
        .unwrap();
    let rt = Runtime::start(tree).await.unwrap();
    let asked = Instant::now();
    let report = rt.shutdown().await.unwrap();
    let took = asked.elapsed();
    assert!(
        took >= Duration::from_secs(2) && took < Duration::from_secs(3),
        "shutdown took {took:?}"
    );
    assert_eq!(report.killed, ["stuck"]);
    assert!(!report.deadline_exceeded);
    // Killed: no stop entry, but the instance is gone before `a` stops.
    assert_eq!(journal.count("stuck:stop:1"), 0);
    crate::support::probes::assert_before(&journal, "z:stop:1", "stuck:drop:1");
    crate::support::probes::assert_before(&journal, "stuck:drop:1", "a:stop:1");
}

#[actix_rt::test]
async fn a_kill_on_stop_child_is_killed_without_running_its_stop_hook() {
    tokio::time::pause();
    let journal = Journal::new();
    let tree = Supervisor::builder("root")
        .child(probe("a", &journal))
        .child(probe_with("k", &journal, &slow_stop(Duration::from_secs(3600))).kill_on_stop())
        .build()
        .unwrap();
    let rt = Runtime::start(tree).await.unwrap();
    let asked = Instant::now();
    let report = rt.shutdown().await.unwrap();
    assert!(asked.elapsed() < 100 * MS, "{:?}", asked.elapsed());
    assert_eq!(journal.count("k:stop:1"), 0);
    assert_eq!(journal.count("k:drop:1"), 1);
    crate::support::probes::assert_before(&journal, "k:drop:1", "a:stop:1");
    assert!(
        report.killed.is_empty(),
        "killing a kill-on-stop child is its configured stop, not a timeout: {report:?}"
    );
}

#[actix_rt::test]
async fn a_nested_supervisor_waits_for_its_children_however_long_they_take() {
    tokio::time::pause();
    let journal = Journal::new();
    // Longer than a service's default 5 s shutdown timeout, within the child's own.
    let inner = Supervisor::builder("inner").child(
        probe_with("slow", &journal, &slow_stop(Duration::from_secs(8)))
            .shutdown_timeout(Duration::from_secs(10)),
    );
    let tree = Supervisor::builder("root")
        .child(probe("a", &journal))
        .child(inner)
        .build()
        .unwrap();
    let rt = Runtime::start(tree).await.unwrap();
    let report = rt.shutdown().await.unwrap();
    assert!(report.killed.is_empty(), "{report:?}");
    assert_eq!(
        lifecycle(&journal),
        ["a:start:1", "slow:start:1", "slow:stop:1", "a:stop:1"]
    );
}

#[actix_rt::test]
async fn after_shutdown_every_handle_reports_the_service_stopped() {
    tokio::time::pause();
    let journal = Journal::new();
    let tree = Supervisor::builder("root")
        .child(probe("a", &journal))
        .build()
        .unwrap();
    let rt = Runtime::start(tree).await.unwrap();
    let a = rt.service::<Probe>("a").unwrap();
    rt.shutdown().await.unwrap();
    reached(&journal, "a:stop:1").await;
    assert!(a.is_stopped());
}
