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
    let advice = err.to_string();
    assert!(
        advice.contains("#[actix_rt::main]") && advice.contains("#[tokio::main]"),
        "{advice}"
    );
}

#[test]
fn under_tokio_main_the_runtime_starts_inside_an_actix_system_on_that_tokio_runtime() {
    // What the NoSystem error advises.
    let tree = Supervisor::builder("app").build().unwrap();
    let started = actix_rt::System::with_tokio_rt(|| {
        tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap()
    })
    .block_on(async { Runtime::start(tree).await?.shutdown().await });
    assert!(started.is_ok(), "{started:?}");
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
