//! Loops: a `Task` whose `run` selects on `cx.cancelled()`.

use crate::support::probes::{fast_sweep, start_one_with};
use parking_lot::Mutex;
use servitor::testing::{Journal, TestTree};
use servitor::{BoxError, ChildSpec, Routine, ServiceContext, Status};
use std::sync::Arc;
use std::time::Duration;
use tokio::time::Instant;

const SECOND: Duration = Duration::from_secs(1);

/// A loop that beats every 10 ms until cancelled (or, when `hang` is set,
/// keeps looping without beating).
struct Looper {
    journal: Journal,
    manual: bool,
    hang: Arc<Mutex<bool>>,
}

impl Routine for Looper {
    async fn run(&mut self, cx: &ServiceContext) -> Result<(), BoxError> {
        self.journal
            .record(format!("loop:run:{}", cx.incarnation()));
        loop {
            tokio::select! {
                _ = cx.cancelled() => {
                    self.journal.record(format!("loop:cancelled:{}", cx.incarnation()));
                    return Ok(());
                }
                _ = tokio::time::sleep(Duration::from_millis(10)) => {
                    if !*self.hang.lock() {
                        cx.heartbeat();
                    }
                }
            }
        }
    }

    async fn stop(&mut self, cx: &ServiceContext) {
        self.journal
            .record(format!("loop:stop:{}", cx.incarnation()));
    }

    fn health_interval(&self) -> Duration {
        Duration::from_millis(100)
    }

    fn manual_heartbeat(&self) -> bool {
        self.manual
    }
}

fn looper(journal: &Journal, manual: bool, hang: &Arc<Mutex<bool>>) -> ChildSpec {
    let (journal, hang) = (journal.clone(), hang.clone());
    ChildSpec::routine("loop", move || Looper {
        journal: journal.clone(),
        manual,
        hang: hang.clone(),
    })
}

/// A loop that never looks at its cancellation signal.
struct Stubborn {
    journal: Journal,
}

impl Routine for Stubborn {
    async fn run(&mut self, _: &ServiceContext) -> Result<(), BoxError> {
        self.journal.record("stubborn:run");
        loop {
            tokio::time::sleep(SECOND).await;
        }
    }

    async fn stop(&mut self, _: &ServiceContext) {
        self.journal.record("stubborn:stop");
    }
}

#[actix_rt::test]
async fn a_loop_is_cancelled_on_shutdown_runs_its_stop_hook_and_is_not_killed() {
    tokio::time::pause();
    let journal = Journal::new();
    let hang = Arc::default();
    let tree = TestTree::start(looper(&journal, false, &hang).shutdown_timeout(5 * SECOND))
        .await
        .unwrap();
    journal.wait_for("loop:run:1", SECOND).await.unwrap();
    let began = Instant::now();
    let report = tree.shutdown().await;
    assert!(report.killed.is_empty(), "killed: {:?}", report.killed);
    assert!(
        began.elapsed() < 5 * SECOND,
        "the shutdown waited for the kill timeout"
    );
    assert_eq!(
        journal.matching("loop:"),
        ["loop:run:1", "loop:cancelled:1", "loop:stop:1"]
    );
}

#[actix_rt::test]
async fn a_loop_removed_at_run_time_stops_as_shutdown_without_a_kill_message() {
    tokio::time::pause();
    let journal = Journal::new();
    let hang = Arc::default();
    let tree = TestTree::start(looper(&journal, false, &hang))
        .await
        .unwrap();
    journal.wait_for("loop:run:1", SECOND).await.unwrap();
    let mut watch = tree.watch("loop");
    tree.runtime().root().remove_child("loop").await.unwrap();
    watch.wait_for(Status::Stopping, SECOND).await.unwrap();
    let stopped = watch.wait_for(Status::Stopped, SECOND).await.unwrap();
    assert_eq!(stopped.message, None, "{stopped:?}");
    assert_eq!(journal.count("loop:stop:1"), 1);
    assert!(tree.shutdown().await.killed.is_empty());
}

/// A loop that, once cancelled, takes a while to finish its current batch.
struct Draining {
    journal: Journal,
}

impl Routine for Draining {
    async fn run(&mut self, cx: &ServiceContext) -> Result<(), BoxError> {
        self.journal.record("draining:run");
        cx.cancelled().await;
        tokio::time::sleep(Duration::from_millis(50)).await;
        self.journal.record("draining:drained");
        Ok(())
    }

    async fn stop(&mut self, _: &ServiceContext) {
        self.journal.record("draining:stop");
    }
}

#[actix_rt::test]
async fn a_loop_that_drains_after_cancellation_finishes_before_its_stop_hook_and_is_not_killed() {
    tokio::time::pause();
    let journal = Journal::new();
    let j = journal.clone();
    let spec = ChildSpec::routine("draining", move || Draining { journal: j.clone() })
        .shutdown_timeout(5 * SECOND);
    let tree = TestTree::start(spec).await.unwrap();
    journal.wait_for("draining:run", SECOND).await.unwrap();
    let began = Instant::now();
    let report = tree.shutdown().await;
    assert!(report.killed.is_empty(), "killed: {:?}", report.killed);
    assert!(
        began.elapsed() < SECOND,
        "shutdown took {:?}",
        began.elapsed()
    );
    assert_eq!(
        journal.entries(),
        ["draining:run", "draining:drained", "draining:stop"]
    );
}

#[actix_rt::test]
async fn a_loop_that_ignores_cancellation_is_killed_at_its_shutdown_timeout() {
    tokio::time::pause();
    let journal = Journal::new();
    let j = journal.clone();
    let spec = ChildSpec::routine("stubborn", move || Stubborn { journal: j.clone() })
        .shutdown_timeout(2 * SECOND);
    let tree = TestTree::start(spec).await.unwrap();
    journal.wait_for("stubborn:run", SECOND).await.unwrap();
    let began = Instant::now();
    let report = tree.shutdown().await;
    assert_eq!(report.killed, ["stubborn"]);
    assert!(began.elapsed() >= 2 * SECOND, "killed before its timeout");
    assert_eq!(
        journal.count("stubborn:stop"),
        0,
        "stop hook ran after a kill"
    );
}

#[actix_rt::test]
async fn a_loop_with_manual_heartbeat_turns_stale_when_it_stops_beating_and_recovers() {
    tokio::time::pause();
    let journal = Journal::new();
    let hang = Arc::new(Mutex::new(false));
    let tree = start_one_with(looper(&journal, true, &hang), fast_sweep()).await;
    let mut watch = tree.watch("loop");
    watch.wait_for(Status::Ok, SECOND).await.unwrap();
    // Beating every 10 ms keeps it fresh well past 3 × 100 ms.
    tokio::time::sleep(SECOND).await;
    assert_eq!(tree.status("loop"), Some(Status::Ok));

    *hang.lock() = true;
    let silent = Instant::now();
    let stale = watch.wait_for(Status::Stale, 2 * SECOND).await.unwrap();
    // The last beat came at most 10 ms before the hang began.
    assert!(
        silent.elapsed() >= Duration::from_millis(290),
        "stale after only {:?}",
        silent.elapsed()
    );
    assert!(stale.message.unwrap().contains("no heartbeat"));

    *hang.lock() = false;
    watch.wait_for(Status::Ok, SECOND).await.unwrap();
    assert_eq!(tree.restarts("loop"), 0, "staleness is not a crash");
    tree.shutdown().await;
}

#[actix_rt::test]
async fn a_loop_without_manual_heartbeat_is_kept_fresh_by_the_runtime() {
    tokio::time::pause();
    let journal = Journal::new();
    let hang = Arc::new(Mutex::new(true));
    let tree = start_one_with(looper(&journal, false, &hang), fast_sweep()).await;
    let mut watch = tree.watch("loop");
    watch.wait_for(Status::Ok, SECOND).await.unwrap();
    tokio::time::sleep(5 * SECOND).await;
    let seen: Vec<Status> = std::iter::from_fn(|| watch.try_next())
        .map(|c| c.status)
        .collect();
    assert!(!seen.contains(&Status::Stale), "went stale: {seen:?}");
    assert_eq!(tree.status("loop"), Some(Status::Ok));
    tree.shutdown().await;
}
