//! The cache as a supervised service: health details carry the stats, a
//! sweep that falls behind is degraded, a crash (or a panicking sweep) is
//! restarted with the data intact, and once the service is gone for good
//! every operation is a typed error.

use servitor::cache::{Cache, CacheConfig, CacheError, CacheService, RemovalCause};
use servitor::testing::TestTree;
use servitor::Status;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::Notify;

const BOUND: Duration = Duration::from_secs(5);
const SWEEP: Duration = Duration::from_millis(50);

fn config() -> CacheConfig {
    CacheConfig {
        sweep_interval: SWEEP,
        ..CacheConfig::default()
    }
}

#[actix_rt::test]
async fn health_details_carry_the_cache_stats() {
    tokio::time::pause();
    let (spec, c) = Cache::<String, String>::service("sessions", config()).unwrap();
    let tree = TestTree::start(spec).await.unwrap();
    assert_eq!(tree.status("sessions"), Some(Status::Ok));
    for k in ["a", "b", "c"] {
        c.set(k.into(), "v".into()).unwrap();
    }
    c.get("a").unwrap();
    c.get("b").unwrap();
    c.get("nope").unwrap();
    // Let one sweep interval pass on the paused clock: the service publishes.
    tokio::time::sleep(SWEEP * 2).await;
    let details = tree.runtime().registry().get("sessions").unwrap().details;
    assert_eq!(details["hits"], 2);
    assert_eq!(details["misses"], 1);
    assert_eq!(details["inserts"], 3);
    assert_eq!(details["entries"], 3);
    assert_eq!(details["evicted"], 0);
    assert_eq!(details["expired"], 0);
    assert_eq!(details["capacity"], 10_000);
    assert_eq!(details["sweep_behind"], false);
    assert!(details["hit_ratio"].as_f64().unwrap() > 0.66);
    assert!(details["estimated_bytes"].as_u64().unwrap() > 0);
    assert!(details["sweeps"].as_u64().unwrap() >= 1);
    tree.shutdown().await;
}

#[actix_rt::test]
async fn the_cache_actor_is_an_ordinary_service_reachable_by_name() {
    let (spec, _c) = Cache::<u32, u32>::service("numbers", config()).unwrap();
    let tree = TestTree::start(spec).await.unwrap();
    let actor = tree
        .runtime()
        .service::<CacheService<u32, u32>>("numbers")
        .unwrap();
    assert!(actor.is_up());
    tree.shutdown().await;
}

#[actix_rt::test]
async fn cached_data_survives_a_crash_of_the_cache_actor_and_sweeping_resumes() {
    tokio::time::pause();
    let swept = Arc::new(Notify::new());
    let on_expiry = swept.clone();
    let (spec, c) = Cache::<String, u32>::builder("sessions")
        .config(config())
        .on_removal(move |k, _, cause| {
            if k == "short" && cause == RemovalCause::Expired {
                on_expiry.notify_one();
            }
        })
        .build()
        .unwrap();
    let tree = TestTree::start(spec).await.unwrap();
    c.set("kept".into(), 1).unwrap();
    c.set_with_ttl("short".into(), 2, Duration::from_millis(200))
        .unwrap();
    let mut watch = tree.watch("sessions");

    tree.crash("sessions", "injected").await.unwrap();
    // The data path does not need the actor: the handle works throughout.
    assert_eq!(c.get("kept").unwrap(), Some(1));
    c.set("during".into(), 3).unwrap();
    watch.wait_for(Status::Error, BOUND).await.unwrap();
    watch.wait_for(Status::Ok, BOUND).await.unwrap();
    assert_eq!(tree.restarts("sessions"), 1);

    assert_eq!(c.get("kept").unwrap(), Some(1));
    assert_eq!(c.get("during").unwrap(), Some(3));
    // The new instance sweeps: "short" leaves with nobody reading it.
    tokio::time::timeout(Duration::from_millis(200) + SWEEP * 2, swept.notified())
        .await
        .expect("the restarted service swept the expired entry");
    assert_eq!(c.stats().entries, 2);
    tree.shutdown().await;
}

#[actix_rt::test]
async fn a_panicking_sweep_is_a_crash_the_supervisor_restarts() {
    tokio::time::pause();
    let (spec, c) = Cache::<String, u32>::builder("sessions")
        .config(config())
        .on_removal(|k, _, cause| {
            if k == "boom" && cause == RemovalCause::Expired {
                panic!("listener exploded on {k}");
            }
        })
        .build()
        .unwrap();
    let tree = TestTree::start(spec).await.unwrap();
    let mut watch = tree.watch("sessions");
    c.set("keep".into(), 1).unwrap();
    c.set_with_ttl("boom".into(), 2, Duration::from_millis(10))
        .unwrap();
    let crashed = watch.wait_for(Status::Error, BOUND).await.unwrap();
    assert!(
        crashed
            .message
            .unwrap_or_default()
            .contains("listener exploded"),
        "the panic is the failure reason"
    );
    watch.wait_for(Status::Ok, BOUND).await.unwrap();
    assert_eq!(tree.restarts("sessions"), 1);
    let report = tree.runtime().registry().get("sessions").unwrap();
    assert!(report
        .last_failure
        .unwrap()
        .contains("listener exploded on boom"));
    assert_eq!(c.get("keep").unwrap(), Some(1));
    assert_eq!(c.get("boom").unwrap(), None);
    assert_eq!(c.stats().expired, 1);
    tree.shutdown().await;
}

#[actix_rt::test]
async fn a_sweep_that_falls_behind_is_degraded_until_it_catches_up() {
    tokio::time::pause();
    let (spec, c) = Cache::<u32, u32>::service(
        "sessions",
        CacheConfig {
            sweep_limit: 100,
            ..config()
        },
    )
    .unwrap();
    let tree = TestTree::start(spec).await.unwrap();
    let mut watch = tree.watch("sessions");
    for i in 0..10_000 {
        c.set_with_ttl(i, i, Duration::from_millis(10)).unwrap();
    }
    let behind = watch.wait_for(Status::Degraded, BOUND).await.unwrap();
    assert!(behind.message.unwrap().contains("sweep behind"));
    watch.wait_for(Status::Ok, BOUND).await.unwrap();
    let s = c.stats();
    assert_eq!((s.entries, s.expired), (0, 10_000));
    tree.shutdown().await;
}

#[actix_rt::test]
async fn after_the_runtime_shuts_down_every_operation_is_a_stopped_error() {
    let (spec, c) = Cache::<String, u32>::service("sessions", config()).unwrap();
    let tree = TestTree::start(spec).await.unwrap();
    c.set("k".into(), 1).unwrap();
    tree.shutdown().await;
    assert!(c.is_stopped());
    let stopped = CacheError::Stopped {
        service: "sessions".into(),
    };
    assert_eq!(c.get("k").unwrap_err(), stopped);
    assert_eq!(c.set("k".into(), 2).unwrap_err(), stopped);
    assert_eq!(c.delete("k").unwrap_err(), stopped);
    assert_eq!(c.len().unwrap_err(), stopped);
    assert_eq!(c.clear().unwrap_err(), stopped);
    assert_eq!(c.keys("*").unwrap_err(), stopped);
    assert_eq!(c.expire("k", SWEEP).unwrap_err(), stopped);
    let s = c.stats();
    assert_eq!((s.inserts, s.entries), (1, 0), "counters stay readable");
}

#[actix_rt::test]
async fn removing_the_child_from_its_supervisor_stops_the_cache() {
    let (spec, c) = Cache::<String, u32>::service("sessions", config()).unwrap();
    let tree = TestTree::start(spec).await.unwrap();
    c.set("k".into(), 1).unwrap();
    let sup = tree.runtime().supervisor("test").unwrap();
    sup.remove_child("sessions").await.unwrap();
    tokio::time::timeout(BOUND, c.stopped()).await.unwrap();
    assert!(matches!(c.get("k"), Err(CacheError::Stopped { .. })));
    tree.shutdown().await;
}

#[actix_rt::test]
async fn a_kept_copy_of_the_spec_re_added_after_removal_reopens_the_cache_empty() {
    let (spec, c) = Cache::<String, u32>::service("sessions", config()).unwrap();
    let copy = spec.clone();
    let tree = TestTree::start(spec).await.unwrap();
    c.set("k".into(), 1).unwrap();
    let sup = tree.runtime().supervisor("test").unwrap();
    sup.remove_child("sessions").await.unwrap();
    // The copy keeps the spec alive: the registry forgetting the name is
    // what stops the cache.
    tokio::time::timeout(BOUND, c.stopped()).await.unwrap();
    assert!(matches!(c.get("k"), Err(CacheError::Stopped { .. })));
    sup.add_child(copy).await.unwrap();
    assert!(!c.is_stopped());
    assert_eq!(c.get("k").unwrap(), None, "reopened empty");
    c.set("k".into(), 2).unwrap();
    assert_eq!(c.get("k").unwrap(), Some(2));
    tree.shutdown().await;
}

#[actix_rt::test]
async fn a_spec_dropped_before_it_ever_ran_stops_the_cache() {
    let (spec, c) = Cache::<String, u32>::service("sessions", config()).unwrap();
    drop(spec);
    assert!(c.is_stopped());
    assert!(matches!(
        c.set("k".into(), 1),
        Err(CacheError::Stopped { .. })
    ));
}

#[actix_rt::test]
async fn entries_written_before_the_service_starts_are_kept() {
    let (spec, c) = Cache::<String, u32>::service("sessions", config()).unwrap();
    c.set("early".into(), 1).unwrap();
    let tree = TestTree::start(spec).await.unwrap();
    assert_eq!(c.get("early").unwrap(), Some(1));
    tree.shutdown().await;
}
