//! Behaviour suite: signals. The runtime catches Ctrl-C and SIGTERM from the
//! moment it starts; the first shuts the tree down, a second ends it.
//!
//! Signals go to the whole process, so these tests take turns (one lock)
//! and live in a binary of their own.

#[path = "../support/mod.rs"]
mod support;

use parking_lot::Mutex;
use servitor::runtime::RuntimeError;
use servitor::testing::Journal;
use servitor::{Runtime, RuntimeConfig, Status, Supervisor};
use std::time::Duration;
use support::probes::{lifecycle, probe, probe_with, reached, slow_start, slow_stop};
use tokio::signal::unix::{signal, SignalKind};

/// One test at a time: a signal reaches every runtime of the process.
static ONE_AT_A_TIME: Mutex<()> = Mutex::new(());

/// Sends SIGTERM to this process until `done` says it was seen.
async fn sigterm_until(mut done: impl FnMut() -> bool) {
    let pid = std::process::id().to_string();
    let sent = tokio::time::timeout(Duration::from_secs(10), async {
        while !done() {
            let _ = std::process::Command::new("kill")
                .args(["-TERM", &pid])
                .status();
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    })
    .await;
    assert!(sent.is_ok(), "the runtime did not react to SIGTERM");
}

fn sigterm_once() {
    let pid = std::process::id().to_string();
    let _ = std::process::Command::new("kill")
        .args(["-TERM", &pid])
        .status();
}

#[test]
fn run_until_signal_shuts_down_in_reverse_order_on_sigterm() {
    let _turn = ONE_AT_A_TIME.lock();
    actix_rt::System::new().block_on(async {
        // Once a handler is installed, SIGTERM no longer ends the test process.
        let _keep = signal(SignalKind::terminate()).unwrap();
        let journal = Journal::new();
        let tree = Supervisor::builder("app")
            .child(probe("first", &journal))
            .child(probe("second", &journal))
            .build()
            .unwrap();
        let app = Runtime::start(tree).await.unwrap();
        let running = actix_rt::spawn(app.run_until_signal());
        sigterm_until(|| running.is_finished()).await;
        let report = running.await.unwrap().unwrap();
        assert!(report.killed.is_empty() && !report.forced);
        assert_eq!(
            lifecycle(&journal),
            [
                "first:start:1",
                "second:start:1",
                "second:stop:1",
                "first:stop:1"
            ]
        );
    });
}

#[test]
fn a_signal_without_run_until_signal_still_shuts_the_tree_down_gracefully() {
    let _turn = ONE_AT_A_TIME.lock();
    actix_rt::System::new().block_on(async {
        let _keep = signal(SignalKind::terminate()).unwrap();
        let journal = Journal::new();
        let tree = Supervisor::builder("app")
            .child(probe("first", &journal))
            .child(probe("second", &journal))
            .build()
            .unwrap();
        let app = Runtime::start(tree).await.unwrap();
        let j = journal.clone();
        sigterm_until(move || j.count("first:stop:1") == 1).await;
        assert_eq!(
            tokio::time::timeout(Duration::from_secs(5), app.wait())
                .await
                .unwrap(),
            Ok(())
        );
        assert_eq!(
            lifecycle(&journal),
            [
                "first:start:1",
                "second:start:1",
                "second:stop:1",
                "first:stop:1"
            ]
        );
        let report = app.shutdown().await.unwrap();
        assert!(!report.forced);
    });
}

#[test]
fn a_signal_while_the_tree_starts_stops_what_started_and_start_says_so() {
    let _turn = ONE_AT_A_TIME.lock();
    actix_rt::System::new().block_on(async {
        let _keep = signal(SignalKind::terminate()).unwrap();
        let journal = Journal::new();
        let tree = Supervisor::builder("app")
            .child(probe("first", &journal))
            .child(probe_with(
                "slow",
                &journal,
                &slow_start(Duration::from_secs(3)),
            ))
            .build()
            .unwrap();
        let starting = actix_rt::spawn(Runtime::start(tree));
        reached(&journal, "slow:start:1").await;
        sigterm_once();
        let outcome = tokio::time::timeout(Duration::from_secs(10), starting)
            .await
            .expect("start returns")
            .unwrap();
        assert!(
            matches!(outcome, Err(RuntimeError::Interrupted)),
            "{outcome:?}"
        );
        assert_eq!(journal.count("first:stop:1"), 1, "{:?}", journal.entries());
    });
}

#[test]
fn a_second_signal_ends_a_hung_shutdown_at_once() {
    let _turn = ONE_AT_A_TIME.lock();
    actix_rt::System::new().block_on(async {
        let _keep = signal(SignalKind::terminate()).unwrap();
        let journal = Journal::new();
        let tree = Supervisor::builder("app")
            .child(
                probe_with("hung", &journal, &slow_stop(Duration::from_secs(600)))
                    .shutdown_timeout(Duration::from_secs(600)),
            )
            .build()
            .unwrap();
        let config = RuntimeConfig {
            shutdown_deadline: Duration::from_secs(600),
            ..RuntimeConfig::default()
        };
        let app = Runtime::start_with(tree, config).await.unwrap();
        let mut hung = app.registry().watch("hung").unwrap();
        sigterm_once();
        hung.wait_for(Status::Stopping, Duration::from_secs(5))
            .await
            .unwrap();
        let began = std::time::Instant::now();
        sigterm_once();
        assert_eq!(
            tokio::time::timeout(Duration::from_secs(5), app.wait())
                .await
                .unwrap(),
            Ok(())
        );
        assert!(began.elapsed() < Duration::from_secs(5));
        let report = app.shutdown().await.unwrap();
        assert!(report.forced, "{report:?}");
        assert_eq!(journal.count("hung:stop:1"), 0, "the hook was cut short");
    });
}

#[test]
fn with_signal_handling_off_the_runtime_leaves_signals_to_the_application() {
    let _turn = ONE_AT_A_TIME.lock();
    actix_rt::System::new().block_on(async {
        let mut mine = signal(SignalKind::terminate()).unwrap();
        let journal = Journal::new();
        let tree = Supervisor::builder("app")
            .child(probe("first", &journal))
            .build()
            .unwrap();
        let config = RuntimeConfig {
            handle_signals: false,
            ..RuntimeConfig::default()
        };
        let app = Runtime::start_with(tree, config).await.unwrap();
        sigterm_once();
        tokio::time::timeout(Duration::from_secs(5), mine.recv())
            .await
            .unwrap();
        tokio::time::sleep(Duration::from_millis(100)).await;
        assert!(app.is_running());
        assert_eq!(journal.count("first:stop:1"), 0);
        app.shutdown().await.unwrap();
    });
}
