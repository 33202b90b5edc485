//! The test kit: `TestTree`, injected crashes, status waits and the `Journal`.

use crate::support::probes::{lifecycle, probe, probe_with, Control, Probe, WhoAreYou};
use servitor::health::NodeKind;
use servitor::registry::WaitError;
use servitor::runtime::RuntimeError;
use servitor::supervisor::SupervisorError;
use servitor::testing::{Journal, JournalTimeout, TestTree, TEST_SUPERVISOR};
use servitor::{Status, Supervisor};
use std::time::Duration;
use tokio::time::Instant;

const SECOND: Duration = Duration::from_secs(1);

#[actix_rt::test]
async fn start_runs_one_child_under_a_supervisor_named_test() {
    tokio::time::pause();
    let journal = Journal::new();
    let tree = TestTree::start(probe("p", &journal)).await.unwrap();
    let root = tree.runtime().registry().get(TEST_SUPERVISOR).unwrap();
    assert_eq!(root.kind, NodeKind::Supervisor);
    let p = tree.runtime().registry().get("p").unwrap();
    assert_eq!(p.path, "test/p");
    assert_eq!(tree.status("p"), Some(Status::Ok));
    assert_eq!(journal.entries(), ["p:start:1"]);
    let report = tree.shutdown().await;
    assert!(report.killed.is_empty() && !report.deadline_exceeded);
    assert_eq!(lifecycle(&journal), ["p:start:1", "p:stop:1"]);
}

#[actix_rt::test]
async fn start_reports_a_child_that_fails_to_start() {
    tokio::time::pause();
    let control = Control::default();
    control.lock().fail_starts = 1;
    let err = TestTree::start(probe_with("p", &Journal::new(), &control))
        .await
        .err()
        .unwrap();
    assert!(
        matches!(&err, RuntimeError::Start(f) if f.child == "p" && f.reason.contains("p refused to start")),
        "{err:?}"
    );
}

#[actix_rt::test]
#[should_panic(expected = "invalid test tree")]
async fn start_tree_fails_the_test_on_an_invalid_tree() {
    let _ = TestTree::start_tree(Supervisor::builder("test").intensity(0, SECOND)).await;
}

#[actix_rt::test]
async fn crash_ends_the_instance_as_a_failure_without_its_stop_hook_and_it_restarts() {
    tokio::time::pause();
    let journal = Journal::new();
    let tree = TestTree::start(probe("p", &journal)).await.unwrap();
    let mut watch = tree.watch("p");
    tree.crash("p", "injected fault").await.unwrap();
    let error = watch.wait_for(Status::Error, SECOND).await.unwrap();
    assert!(error.message.unwrap().contains("injected fault"));
    watch.wait_for(Status::Ok, SECOND).await.unwrap();
    assert_eq!(tree.restarts("p"), 1);
    let report = tree.runtime().registry().get("p").unwrap();
    assert_eq!(report.last_failure.as_deref(), Some("injected fault"));
    journal.wait_for("p:drop:1", SECOND).await.unwrap();
    assert_eq!(lifecycle(&journal), ["p:start:1", "p:start:2"]);
    tree.shutdown().await;
}

#[actix_rt::test]
async fn the_test_supervisor_absorbs_many_crashes_without_escalating() {
    tokio::time::pause();
    let journal = Journal::new();
    let tree = TestTree::start(probe("p", &journal)).await.unwrap();
    let p = tree.runtime().service::<Probe>("p").unwrap();
    for n in 1..=50u64 {
        assert_eq!(p.call(WhoAreYou).await.unwrap().1, n);
        tree.crash("p", "again").await.unwrap();
    }
    assert_eq!(p.call(WhoAreYou).await.unwrap().1, 51);
    assert_eq!(tree.restarts("p"), 50);
    assert!(tree.runtime().is_running());
    tree.shutdown().await;
}

#[actix_rt::test]
async fn crash_reaches_a_service_in_a_nested_supervisor_and_refuses_unknown_names() {
    tokio::time::pause();
    let journal = Journal::new();
    let tree = TestTree::start_tree(
        Supervisor::builder("test")
            .child(probe("a", &journal))
            .child(Supervisor::builder("workers").child(probe("b", &journal))),
    )
    .await
    .unwrap();
    let mut watch = tree.watch("b");
    tree.crash("b", "nested").await.unwrap();
    watch.wait_for(Status::Error, SECOND).await.unwrap();
    watch.wait_for(Status::Ok, SECOND).await.unwrap();
    assert_eq!(tree.restarts("b"), 1);
    assert_eq!(tree.restarts("a"), 0);
    assert_eq!(
        tree.crash("nobody", "x").await,
        Err(SupervisorError::NoSuchChild("nobody".into()))
    );
    assert_eq!(
        tree.crash("test", "x").await,
        Err(SupervisorError::NoSuchChild("test".into())),
        "the root has no parent to crash it"
    );
    assert_eq!(tree.restarts("nobody"), 0);
    assert_eq!(tree.status("nobody"), None);
    tree.shutdown().await;
}

#[actix_rt::test]
async fn wait_for_status_returns_the_change_or_a_typed_timeout() {
    tokio::time::pause();
    let journal = Journal::new();
    let tree = TestTree::start(probe("p", &journal)).await.unwrap();
    let now = tree
        .wait_for_status("p", Status::Ok, SECOND)
        .await
        .expect("the current status counts");
    assert_eq!((now.from, now.status), (None, Status::Ok));

    let began = Instant::now();
    let err = tree
        .wait_for_status("p", Status::Degraded, 2 * SECOND)
        .await
        .unwrap_err();
    assert_eq!(
        err,
        WaitError::Timeout {
            wanted: Status::Degraded,
            after: 2 * SECOND,
            last: Some(Status::Ok)
        }
    );
    assert!(began.elapsed() >= 2 * SECOND);
    assert!(err.to_string().contains("degraded"), "{err}");
    tree.shutdown().await;
}

#[actix_rt::test]
async fn a_wait_ends_with_a_typed_error_when_the_service_goes_away() {
    tokio::time::pause();
    let journal = Journal::new();
    let tree = TestTree::start_tree(
        Supervisor::builder("test")
            .child(probe("p", &journal))
            .child(probe("q", &journal)),
    )
    .await
    .unwrap();
    let mut watch = tree.watch("p");
    let root = tree.runtime().root();
    let removing = actix_rt::spawn(async move { root.remove_child("p").await });
    let err = watch
        .wait_for(Status::Degraded, 10 * SECOND)
        .await
        .unwrap_err();
    assert_eq!(
        err,
        WaitError::Ended {
            wanted: Status::Degraded,
            last: Some(Status::Stopped)
        }
    );
    removing.await.unwrap().unwrap();
    tree.shutdown().await;
}

#[actix_rt::test]
#[should_panic(expected = "cannot watch `nobody`")]
async fn watching_an_unknown_service_fails_the_test() {
    let tree = TestTree::start(probe("p", &Journal::new())).await.unwrap();
    let _ = tree.watch("nobody");
}

#[actix_rt::test]
async fn journal_wait_for_times_out_with_a_typed_error_listing_the_entries() {
    tokio::time::pause();
    let journal = Journal::new();
    journal.record("a:start");
    let began = Instant::now();
    let err = journal
        .wait_for("b:start", Duration::from_millis(250))
        .await
        .unwrap_err();
    assert_eq!(
        err,
        JournalTimeout {
            wanted: "b:start".into(),
            after: Duration::from_millis(250),
            entries: vec!["a:start".into()],
        }
    );
    assert!(began.elapsed() >= Duration::from_millis(250));
    let text = err.to_string();
    assert!(
        text.contains("b:start") && text.contains("a:start"),
        "{text}"
    );
}

#[actix_rt::test]
async fn journal_wait_for_wakes_on_a_record_from_another_task() {
    tokio::time::pause();
    let journal = Journal::new();
    let writer = journal.clone();
    actix_rt::spawn(async move {
        tokio::time::sleep(Duration::from_millis(100)).await;
        writer.record("x");
        tokio::time::sleep(Duration::from_millis(100)).await;
        writer.record("y");
    });
    let began = Instant::now();
    journal.wait_for("y", 10 * SECOND).await.unwrap();
    assert!(began.elapsed() < SECOND, "woke late: {:?}", began.elapsed());
    // Already there: no waiting.
    journal.wait_for("x", Duration::ZERO).await.unwrap();
    journal
        .wait_until(|e| e.len() == 2, "two entries", Duration::ZERO)
        .await
        .unwrap();
}

#[test]
fn journal_keeps_entries_in_order_and_filters_counts_and_clears_them() {
    let journal = Journal::new();
    for e in ["a:start:1", "b:start:1", "a:stop:1", "a:start:1"] {
        journal.record(e);
    }
    assert_eq!(
        journal.entries(),
        ["a:start:1", "b:start:1", "a:stop:1", "a:start:1"]
    );
    assert_eq!(
        journal.matching("a:"),
        ["a:start:1", "a:stop:1", "a:start:1"]
    );
    assert_eq!(journal.count("a:start:1"), 2);
    assert_eq!(journal.count("c"), 0);
    let clone = journal.clone();
    clone.clear();
    assert!(journal.entries().is_empty(), "clones share one journal");
}

#[cfg(feature = "test-util")]
#[test]
fn run_paused_sleeps_exactly_as_long_as_asked() {
    use std::time::Duration;
    use tokio::time::Instant;
    servitor::testing::run_paused(async {
        let start = Instant::now();
        for ms in [1, 250, 999] {
            let before = Instant::now();
            tokio::time::sleep(Duration::from_millis(ms)).await;
            assert_eq!(before.elapsed(), Duration::from_millis(ms));
        }
        assert_eq!(start.elapsed(), Duration::from_millis(1250));
        // An actix system runs: the runtime starts inside it.
        let tree = servitor::Supervisor::builder("app").build().unwrap();
        let app = servitor::Runtime::start(tree).await.unwrap();
        app.shutdown().await.unwrap();
    });
}
