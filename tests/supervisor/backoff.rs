//! Restart backoff: growing delays between a crash and the restart, reset
//! after a stable run; calls wait through a backoff (within their bound); a
//! pending backoff never delays a shutdown.

use crate::support::probes::{crash, incarnation, probe, reached, Crash, Probe, WhoAreYou, BOUND};
use servitor::testing::{Journal, TestTree};
use servitor::{Backoff, CallError, Status, Supervisor, SupervisorBuilder};
use std::time::Duration;
use tokio::time::Instant;

const MS: Duration = Duration::from_millis(1);

fn tree_with(backoff: Backoff, journal: &Journal) -> SupervisorBuilder {
    Supervisor::builder("root")
        .intensity(1_000, Duration::from_secs(1))
        .backoff(backoff)
        .child(probe("p", journal))
}

fn exponential() -> Backoff {
    Backoff::exponential(100 * MS, 1_000 * MS).jitter(0.0)
}

/// Crashes `p`, waits for incarnation `next` and returns how long it took
/// (paused time: exactly the backoff, give or take a timer tick).
async fn crash_and_time_restart(tree: &TestTree, journal: &Journal, next: u64) -> Duration {
    let crashed = Instant::now();
    crash(tree.runtime(), "p", Crash::Panic);
    reached(journal, &format!("p:start:{next}")).await;
    crashed.elapsed()
}

fn assert_about(delay: Duration, expected_ms: u64) {
    let expected = Duration::from_millis(expected_ms);
    assert!(
        delay >= expected && delay <= expected + 2 * MS,
        "restart after {delay:?}, expected {expected:?}"
    );
}

#[actix_rt::test]
async fn exponential_backoff_doubles_the_delay_up_to_its_maximum() {
    tokio::time::pause();
    let journal = Journal::new();
    let tree = TestTree::start_tree(tree_with(exponential(), &journal))
        .await
        .unwrap();
    let mut delays = Vec::new();
    for next in 2..=7 {
        delays.push(crash_and_time_restart(&tree, &journal, next).await);
    }
    for (delay, expected) in delays.into_iter().zip([100, 200, 400, 800, 1000, 1000]) {
        assert_about(delay, expected);
    }
    tree.shutdown().await;
}

#[actix_rt::test]
async fn the_delay_resets_to_the_initial_after_a_stable_run() {
    tokio::time::pause();
    let journal = Journal::new();
    let tree = tree_with(exponential(), &journal).backoff_reset(Duration::from_secs(5));
    let tree = TestTree::start_tree(tree).await.unwrap();
    assert_about(crash_and_time_restart(&tree, &journal, 2).await, 100);
    assert_about(crash_and_time_restart(&tree, &journal, 3).await, 200);
    assert_about(crash_and_time_restart(&tree, &journal, 4).await, 400);
    // Not stable for long enough yet: the delay keeps growing.
    tokio::time::sleep(Duration::from_secs(4)).await;
    assert_about(crash_and_time_restart(&tree, &journal, 5).await, 800);
    // Stable for `backoff_reset`: back to the initial delay.
    tokio::time::sleep(Duration::from_secs(5)).await;
    assert_about(crash_and_time_restart(&tree, &journal, 6).await, 100);
    assert_about(crash_and_time_restart(&tree, &journal, 7).await, 200);
    tree.shutdown().await;
}

#[actix_rt::test]
async fn a_child_in_backoff_reports_error_then_ok_once_restarted() {
    tokio::time::pause();
    let journal = Journal::new();
    let backoff = Backoff::exponential(Duration::from_secs(2), Duration::from_secs(2));
    let tree = TestTree::start_tree(tree_with(backoff, &journal))
        .await
        .unwrap();
    let mut watch = tree.watch("p");
    watch.wait_for(Status::Ok, BOUND).await.unwrap();
    let crashed = Instant::now();
    crash(tree.runtime(), "p", Crash::Panic);
    let error = watch.wait_for(Status::Error, BOUND).await.unwrap();
    assert!(crashed.elapsed() < 10 * MS);
    let message = error.message.unwrap_or_default();
    assert!(message.contains("restarting in 2000 ms"), "{message}");
    assert_eq!(tree.status("p"), Some(Status::Error));
    tokio::time::sleep(Duration::from_millis(1_500)).await;
    assert_eq!(tree.status("p"), Some(Status::Error), "still in backoff");
    watch.wait_for(Status::Ok, BOUND).await.unwrap();
    assert!(crashed.elapsed() >= Duration::from_secs(2));
    assert_eq!(incarnation(tree.runtime(), "p").await, 2);
    tree.shutdown().await;
}

#[actix_rt::test]
async fn a_call_during_backoff_waits_for_the_restart_and_succeeds() {
    tokio::time::pause();
    let journal = Journal::new();
    let backoff = Backoff::exponential(Duration::from_secs(1), Duration::from_secs(1));
    let tree = TestTree::start_tree(tree_with(backoff, &journal))
        .await
        .unwrap();
    let p = tree
        .runtime()
        .service::<Probe>("p")
        .unwrap()
        .with_wait(Duration::from_secs(3));
    let mut watch = tree.watch("p");
    let crashed = Instant::now();
    crash(tree.runtime(), "p", Crash::Panic);
    watch.wait_for(Status::Error, BOUND).await.unwrap();
    assert!(!p.is_up());
    let answer = p.call(WhoAreYou).await.unwrap();
    assert_eq!(answer, ("p".to_string(), 2));
    assert!(crashed.elapsed() >= Duration::from_secs(1));
    tree.shutdown().await;
}

#[actix_rt::test]
async fn a_call_during_backoff_with_a_shorter_wait_bound_is_unavailable() {
    tokio::time::pause();
    let journal = Journal::new();
    let backoff = Backoff::exponential(Duration::from_secs(2), Duration::from_secs(2));
    let tree = TestTree::start_tree(tree_with(backoff, &journal))
        .await
        .unwrap();
    let p = tree
        .runtime()
        .service::<Probe>("p")
        .unwrap()
        .with_wait(Duration::from_millis(500));
    let mut watch = tree.watch("p");
    crash(tree.runtime(), "p", Crash::Panic);
    watch.wait_for(Status::Error, BOUND).await.unwrap();
    let err = p.call(WhoAreYou).await.unwrap_err();
    assert!(matches!(err, CallError::Unavailable { .. }), "{err:?}");
    // The restart still happens on schedule.
    watch.wait_for(Status::Ok, BOUND).await.unwrap();
    assert_eq!(p.call(WhoAreYou).await.unwrap().1, 2);
    tree.shutdown().await;
}

#[actix_rt::test]
async fn a_pending_backoff_never_delays_shutdown() {
    tokio::time::pause();
    let journal = Journal::new();
    let backoff = Backoff::exponential(Duration::from_secs(600), Duration::from_secs(600));
    let tree = Supervisor::builder("root")
        .intensity(1_000, Duration::from_secs(1))
        .backoff(backoff)
        .child(probe("a", &journal))
        .child(probe("p", &journal));
    let tree = TestTree::start_tree(tree).await.unwrap();
    let mut watch = tree.watch("p");
    crash(tree.runtime(), "p", Crash::Panic);
    watch.wait_for(Status::Error, BOUND).await.unwrap();
    let asked = Instant::now();
    let report = tree.shutdown().await;
    assert!(
        asked.elapsed() < Duration::from_secs(1),
        "shutdown took {:?}",
        asked.elapsed()
    );
    assert!(report.killed.is_empty(), "{report:?}");
    reached(&journal, "a:stop:1").await;
    assert_eq!(journal.matching("p:start").len(), 1, "never restarted");
}

#[actix_rt::test]
async fn a_restart_that_fails_to_start_is_retried_after_the_next_delay() {
    tokio::time::pause();
    let journal = Journal::new();
    let control = crate::support::probes::Control::default();
    let tree = Supervisor::builder("root")
        .intensity(1_000, Duration::from_secs(1))
        .backoff(exponential())
        .child(crate::support::probes::probe_with("p", &journal, &control));
    let tree = TestTree::start_tree(tree).await.unwrap();
    control.lock().fail_starts = 2;
    let mut last = Instant::now();
    crash(tree.runtime(), "p", Crash::Panic);
    // Each failed start is a new failure: the next attempt waits longer.
    for (next, expected) in [(2, 100), (3, 200), (4, 400)] {
        reached(&journal, &format!("p:start:{next}")).await;
        assert_about(last.elapsed(), expected);
        last = Instant::now();
    }
    assert_eq!(incarnation(tree.runtime(), "p").await, 4);
    let info = &tree.runtime().root().which_children().await.unwrap()[0];
    assert_eq!(info.restarts, 3);
    let failure = info.last_failure.clone().unwrap_or_default();
    assert!(failure.contains("p refused to start"), "{failure}");
    tree.shutdown().await;
}

#[actix_rt::test]
async fn a_one_for_all_group_in_backoff_is_listed_as_restarting_and_comes_back_together() {
    tokio::time::pause();
    let journal = Journal::new();
    let backoff = Backoff::exponential(Duration::from_secs(1), Duration::from_secs(1));
    let tree = Supervisor::builder("root")
        .strategy(servitor::Strategy::OneForAll)
        .intensity(1_000, Duration::from_secs(1))
        .backoff(backoff)
        .child(probe("a", &journal))
        .child(probe("p", &journal));
    let tree = TestTree::start_tree(tree).await.unwrap();
    let mut watch = tree.watch("p");
    let crashed = Instant::now();
    crash(tree.runtime(), "p", Crash::Panic);
    reached(&journal, "a:stop:1").await;
    watch.wait_for(Status::Error, BOUND).await.unwrap();
    let states: Vec<_> = tree
        .runtime()
        .root()
        .which_children()
        .await
        .unwrap()
        .into_iter()
        .map(|c| c.state)
        .collect();
    use servitor::supervisor::ChildState::Restarting;
    assert_eq!(states, [Restarting, Restarting]);
    reached(&journal, "p:start:2").await;
    assert_about(crashed.elapsed(), 1_000);
    crate::support::probes::assert_before(&journal, "a:start:2", "p:start:2");
    tree.shutdown().await;
}

#[actix_rt::test]
async fn removing_the_crashed_child_during_a_group_backoff_still_restarts_the_rest() {
    tokio::time::pause();
    let journal = Journal::new();
    let backoff = Backoff::exponential(Duration::from_secs(1), Duration::from_secs(1));
    let tree = Supervisor::builder("root")
        .strategy(servitor::Strategy::OneForAll)
        .intensity(1_000, Duration::from_secs(1))
        .backoff(backoff)
        .child(probe("a", &journal))
        .child(probe("p", &journal));
    let tree = TestTree::start_tree(tree).await.unwrap();
    crash(tree.runtime(), "p", Crash::Panic);
    reached(&journal, "a:stop:1").await;
    tree.runtime().root().remove_child("p").await.unwrap();
    reached(&journal, "a:start:2").await;
    assert_eq!(incarnation(tree.runtime(), "a").await, 2);
    assert_eq!(journal.matching("p:start").len(), 1);
    tree.shutdown().await;
}

#[actix_rt::test]
async fn a_pending_backoff_in_a_nested_supervisor_never_delays_shutdown() {
    tokio::time::pause();
    let journal = Journal::new();
    let backoff = Backoff::exponential(Duration::from_secs(600), Duration::from_secs(600));
    let nested = Supervisor::builder("nested")
        .strategy(servitor::Strategy::OneForAll)
        .backoff(backoff)
        .child(probe("g1", &journal))
        .child(probe("g2", &journal));
    let tree = Supervisor::builder("root")
        .child(probe("a", &journal))
        .child(nested);
    let tree = TestTree::start_tree(tree).await.unwrap();
    crash(tree.runtime(), "g2", Crash::Panic);
    reached(&journal, "g1:stop:1").await;
    let asked = Instant::now();
    tree.shutdown().await;
    assert!(
        asked.elapsed() < Duration::from_secs(1),
        "{:?}",
        asked.elapsed()
    );
    assert_eq!(journal.count("a:stop:1"), 1);
    assert_eq!(journal.matching("g1:start").len(), 1);
}
