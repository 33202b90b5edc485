//! Starting, waiting for and shutting down a runtime.

use crate::support::probes::{probe, probe_with, Behaviour, Control};
use servitor::testing::Journal;
use servitor::{Runtime, RuntimeConfig, RuntimeError, Shutdown, Supervisor};
use std::sync::Arc;
use std::time::Duration;

#[test]
fn starting_outside_an_actix_system_is_a_typed_error() {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let tree = Supervisor::builder("app").build().unwrap();
    let err = rt.block_on(Runtime::start(tree)).unwrap_err();
    assert_eq!(err, RuntimeError::NoSystem);
}

#[actix_rt::test]
async fn shutdown_frees_every_name_and_stops_every_service() {
    let journal = Journal::new();
    let tree = Supervisor::builder("app")
        .child(probe("a", &journal))
        .child(Supervisor::builder("inner").child(probe("b", &journal)))
        .build()
        .unwrap();
    let app = Runtime::start(tree).await.unwrap();
    let registry = app.registry().clone();
    assert_eq!(registry.names().len(), 4);
    let report = app.shutdown().await.unwrap();
    assert!(report.killed.is_empty());
    assert!(!report.deadline_exceeded);
    assert!(registry.names().is_empty(), "{:?}", registry.names());
    assert_eq!(journal.count("a:stop:1"), 1);
    assert_eq!(journal.count("b:stop:1"), 1);
}

#[actix_rt::test]
async fn the_global_deadline_bounds_a_shutdown_that_would_wait_forever() {
    tokio::time::pause();
    let journal = Journal::new();
    let control: Control = Arc::new(parking_lot::Mutex::new(Behaviour {
        stop_delay: Some(Duration::from_secs(3600)),
        ..Behaviour::default()
    }));
    let tree = Supervisor::builder("app")
        .child(probe_with("stuck", &journal, &control).shutdown(Shutdown::Infinity))
        .build()
        .unwrap();
    let config = RuntimeConfig {
        shutdown_deadline: Duration::from_secs(2),
        ..RuntimeConfig::default()
    };
    let app = Runtime::start_with(tree, config).await.unwrap();
    let began = tokio::time::Instant::now();
    let report = app.shutdown().await.unwrap();
    assert!(report.deadline_exceeded);
    assert!(began.elapsed() < Duration::from_secs(3));
    journal
        .wait_for("stuck:drop:1", Duration::from_secs(1))
        .await
        .unwrap();
    assert_eq!(journal.count("stuck:stop:1"), 0);
}

#[actix_rt::test]
async fn run_until_signal_shuts_down_in_reverse_order_on_sigterm() {
    use tokio::signal::unix::{signal, SignalKind};
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
    let pid = std::process::id().to_string();
    let sent = tokio::time::timeout(Duration::from_secs(10), async {
        while !running.is_finished() {
            let _ = std::process::Command::new("kill")
                .args(["-TERM", &pid])
                .status();
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    })
    .await;
    assert!(sent.is_ok(), "the runtime did not react to SIGTERM");
    let report = running.await.unwrap().unwrap();
    assert!(report.killed.is_empty());
    assert_eq!(
        crate::support::probes::lifecycle(&journal),
        [
            "first:start:1",
            "second:start:1",
            "second:stop:1",
            "first:stop:1"
        ]
    );
}
