//! The health registry: aggregation, staleness, watch streams, names freed,
//! concurrent reads, the JSON snapshot and its configuration.

use crate::support::probes::{
    dial, fast_sweep, probe_with, Control, Dial, GetContext, SetStatus, Stall,
};
use servitor::registry::{GetHealth, GetSnapshot, Registry, RegistryConfig, RegistryError};
use servitor::runtime::RuntimeError;
use servitor::testing::{Journal, TestTree};
use servitor::{Backoff, RuntimeConfig, ServiceRef, Status, Supervisor};
use std::collections::HashMap;
use std::time::Duration;
use tokio::time::Instant;

const SECOND: Duration = Duration::from_secs(1);
const BEAT: Duration = Duration::from_millis(100);

/// `test` → [`a`, `workers` → [`b`, `c`]], all dials beating every 100 ms.
async fn small_tree(config: RuntimeConfig) -> TestTree {
    let spec = Supervisor::builder("test")
        .intensity(1_000, SECOND)
        .child(dial("a", BEAT))
        .child(
            Supervisor::builder("workers")
                .child(dial("b", BEAT))
                .child(dial("c", BEAT)),
        )
        .build()
        .unwrap();
    TestTree::start_spec(spec, config).await.unwrap()
}

fn handle(tree: &TestTree, name: &str) -> ServiceRef<Dial> {
    tree.runtime().service::<Dial>(name).unwrap()
}

async fn set(tree: &TestTree, name: &str, status: Status) {
    handle(tree, name)
        .call(SetStatus(status, None))
        .await
        .unwrap();
}

#[actix_rt::test]
async fn subtree_status_is_the_worst_below_a_node_and_overall_the_worst_of_all() {
    tokio::time::pause();
    let tree = small_tree(RuntimeConfig::default()).await;
    let registry = tree.runtime().registry();
    assert_eq!(registry.subtree_status("test"), Some(Status::Ok));

    set(&tree, "b", Status::Degraded).await;
    assert_eq!(registry.subtree_status("workers"), Some(Status::Degraded));
    assert_eq!(registry.subtree_status("c"), Some(Status::Ok));
    assert_eq!(registry.subtree_status("a"), Some(Status::Ok));
    assert_eq!(registry.subtree_status("test"), Some(Status::Degraded));
    assert_eq!(registry.snapshot().status, Status::Degraded);

    set(&tree, "a", Status::Error).await;
    assert_eq!(registry.subtree_status("workers"), Some(Status::Degraded));
    assert_eq!(registry.subtree_status("test"), Some(Status::Error));
    assert_eq!(tree.runtime().health().status, Status::Error);
    assert_eq!(
        tree.runtime().health().subtree("test/workers"),
        Some(Status::Degraded)
    );

    set(&tree, "b", Status::Ok).await;
    assert_eq!(registry.subtree_status("workers"), Some(Status::Ok));
    assert_eq!(registry.subtree_status("nobody"), None);
    tree.shutdown().await;
}

#[actix_rt::test]
async fn a_zombie_whose_heartbeat_is_overdue_turns_stale_and_recovers_its_status_when_beats_resume()
{
    tokio::time::pause();
    let tree = small_tree(fast_sweep()).await;
    let a = handle(&tree, "a");
    a.call(SetStatus(Status::Degraded, Some("slow disk".into())))
        .await
        .unwrap();
    let mut watch = tree.watch("a");
    watch.wait_for(Status::Degraded, SECOND).await.unwrap();

    // Beating every 100 ms keeps it fresh.
    tokio::time::sleep(SECOND).await;
    assert_eq!(tree.status("a"), Some(Status::Degraded));

    let (resume, until) = tokio::sync::oneshot::channel();
    a.call(Stall(until)).await.unwrap();
    let stalled = Instant::now();
    let stale = watch.wait_for(Status::Stale, 2 * SECOND).await.unwrap();
    let silent = stalled.elapsed();
    assert!(
        silent >= 2 * BEAT && silent <= 3 * BEAT + Duration::from_millis(30),
        "stale after {silent:?}"
    );
    assert!(stale.message.unwrap().contains("no heartbeat"));
    assert!(a.is_up(), "a zombie's task is alive");
    assert_eq!(tree.restarts("a"), 0);
    assert_eq!(
        tree.status("b"),
        Some(Status::Ok),
        "only the zombie is stale"
    );
    assert_eq!(
        tree.runtime().registry().subtree_status("test"),
        Some(Status::Stale)
    );

    resume.send(()).unwrap();
    let back = watch.wait_for(Status::Degraded, SECOND).await.unwrap();
    assert_eq!(back.from, Some(Status::Stale));
    assert_eq!(back.message.as_deref(), Some("slow disk"));
    tree.shutdown().await;
}

#[actix_rt::test]
async fn a_silent_service_back_from_a_fault_starts_a_fresh_heartbeat_then_turns_stale_when_silent_on(
) {
    tokio::time::pause();
    let tree = small_tree(fast_sweep()).await;
    let a = handle(&tree, "a");
    let cx = a.call(GetContext).await.unwrap();
    let mut watch = tree.watch("a");
    // An error is not watched for staleness: silence does not count while
    // it shows, however long.
    cx.set_status(Status::Error);
    watch.wait_for(Status::Error, SECOND).await.unwrap();
    let (resume, until) = tokio::sync::oneshot::channel();
    a.call(Stall(until)).await.unwrap();
    tokio::time::sleep(SECOND).await;
    assert_eq!(tree.status("a"), Some(Status::Error));

    // Back to ok (reported from outside the stalled actor): the silence
    // before does not count against it.
    cx.set_status(Status::Ok);
    let fresh = Instant::now();
    watch.wait_for(Status::Ok, SECOND).await.unwrap();
    tokio::time::sleep(BEAT).await;
    assert_eq!(tree.status("a"), Some(Status::Ok));
    // Silent on, it is stale after its own three intervals.
    watch.wait_for(Status::Stale, SECOND).await.unwrap();
    let silent = fresh.elapsed();
    assert!(
        silent >= 3 * BEAT && silent <= 3 * BEAT + Duration::from_millis(30),
        "stale after {silent:?}"
    );
    resume.send(()).unwrap();
    watch.wait_for(Status::Ok, SECOND).await.unwrap();
    tree.shutdown().await;
}

#[actix_rt::test]
async fn a_service_waiting_out_a_restart_backoff_is_not_marked_stale() {
    tokio::time::pause();
    let spec = Supervisor::builder("test")
        .intensity(10, SECOND)
        .backoff(Backoff::exponential(10 * SECOND, 10 * SECOND))
        .child(dial("a", BEAT))
        .build()
        .unwrap();
    let tree = TestTree::start_spec(spec, fast_sweep()).await.unwrap();
    let mut watch = tree.watch("a");
    tree.crash("a", "injected").await.unwrap();
    watch.wait_for(Status::Error, SECOND).await.unwrap();
    tokio::time::sleep(5 * SECOND).await;
    assert_eq!(tree.status("a"), Some(Status::Error));
    watch.wait_for(Status::Ok, 10 * SECOND).await.unwrap();
    tree.shutdown().await;
}

#[actix_rt::test]
async fn a_watch_yields_the_current_status_first_then_every_change_in_order() {
    tokio::time::pause();
    let tree = small_tree(RuntimeConfig::default()).await;
    set(&tree, "a", Status::Idle).await;
    let mut watch = tree.runtime().registry().watch("a").unwrap();
    let sequence = [
        Status::Warning,
        Status::Degraded,
        Status::Ok,
        Status::Busy,
        Status::Error,
    ];
    for s in sequence {
        set(&tree, "a", s).await;
    }
    let first = watch.next().await.unwrap();
    assert_eq!((first.from, first.status), (None, Status::Idle));
    assert_eq!(first.name, "a");
    let mut from = Status::Idle;
    for s in sequence {
        let change = watch.next().await.unwrap();
        assert_eq!((change.from, change.status), (Some(from), s));
        from = s;
    }
    assert_eq!(watch.try_next(), None);
    tree.shutdown().await;
}

#[actix_rt::test]
async fn a_watch_of_an_unknown_name_is_an_error_and_a_watch_ends_when_its_service_is_removed() {
    tokio::time::pause();
    let tree = small_tree(RuntimeConfig::default()).await;
    let registry = tree.runtime().registry();
    assert_eq!(
        registry.watch("nobody").unwrap_err(),
        RegistryError::NotFound("nobody".into())
    );
    let mut watch = registry.watch("a").unwrap();
    tree.runtime().root().remove_child("a").await.unwrap();
    let mut seen = Vec::new();
    while let Some(c) = watch.next().await {
        seen.push(c.status);
    }
    assert_eq!(seen, [Status::Ok, Status::Stopping, Status::Stopped]);
    tree.shutdown().await;
}

#[actix_rt::test]
async fn watch_all_yields_every_current_status_then_every_change_in_order_per_service() {
    tokio::time::pause();
    let tree = small_tree(RuntimeConfig::default()).await;
    let mut all = tree.runtime().registry().watch_all();
    set(&tree, "a", Status::Warning).await;
    set(&tree, "b", Status::Degraded).await;
    set(&tree, "a", Status::Ok).await;

    let mut current = HashMap::new();
    for _ in 0..5 {
        let c = all.next().await.unwrap();
        assert_eq!(c.from, None, "{c:?}");
        current.insert(c.name, c.status);
    }
    let mut names: Vec<&str> = current.keys().map(|s| s.as_str()).collect();
    names.sort_unstable();
    assert_eq!(names, ["a", "b", "c", "test", "workers"]);
    assert!(current.values().all(|s| *s == Status::Ok), "{current:?}");

    let changes: Vec<(String, Status)> = std::iter::from_fn(|| all.try_next())
        .map(|c| (c.name, c.status))
        .collect();
    assert_eq!(
        changes,
        [
            ("a".to_string(), Status::Warning),
            ("b".to_string(), Status::Degraded),
            ("a".to_string(), Status::Ok),
        ]
    );
    tree.shutdown().await;
}

#[actix_rt::test]
async fn names_are_freed_when_a_service_is_removed_or_fails_to_start() {
    tokio::time::pause();
    let tree = small_tree(RuntimeConfig::default()).await;
    let registry = tree.runtime().registry();
    tree.runtime().root().remove_child("a").await.unwrap();
    assert!(registry.get("a").is_none());
    assert!(!registry.names().contains(&"a".to_string()));
    tree.runtime()
        .supervisor("workers")
        .unwrap()
        .remove_child("c")
        .await
        .unwrap();
    assert!(registry.get("c").is_none());
    assert!(registry.get("b").is_some());

    let control = Control::default();
    control.lock().fail_starts = 1;
    let err = tree
        .runtime()
        .root()
        .add_child(probe_with("late", &Journal::new(), &control))
        .await
        .unwrap_err();
    assert!(err.to_string().contains("late refused to start"), "{err}");
    assert!(registry.get("late").is_none());
    // … so the name can be used again.
    tree.runtime()
        .root()
        .add_child(probe_with("late", &Journal::new(), &control))
        .await
        .unwrap();
    assert_eq!(registry.status("late"), Some(Status::Ok));

    tree.runtime()
        .root()
        .add_child(dial("a", BEAT))
        .await
        .unwrap();
    assert_eq!(registry.status("a"), Some(Status::Ok));
    let registry = registry.clone();
    tree.shutdown().await;
    assert!(registry.names().is_empty(), "{:?}", registry.names());
}

#[actix_rt::test]
async fn a_tree_that_fails_to_start_leaves_no_name_behind() {
    tokio::time::pause();
    let control = Control::default();
    control.lock().fail_starts = 1;
    let spec = Supervisor::builder("test")
        .child(dial("a", BEAT))
        .child(probe_with("bad", &Journal::new(), &control))
        .build()
        .unwrap();
    let err = TestTree::start_spec(spec.clone(), RuntimeConfig::default())
        .await
        .err()
        .unwrap();
    assert!(
        matches!(err, RuntimeError::Start(ref f) if f.child == "bad"),
        "{err:?}"
    );
    // The same names start fine in a new runtime.
    let tree = TestTree::start_spec(spec, RuntimeConfig::default())
        .await
        .unwrap();
    assert_eq!(tree.status("bad"), Some(Status::Ok));
    tree.shutdown().await;
}

#[actix_rt::test]
async fn the_json_snapshot_lists_every_node_by_path_with_its_report() {
    tokio::time::pause();
    let tree = small_tree(RuntimeConfig::default()).await;
    handle(&tree, "b")
        .call(SetStatus(Status::Degraded, Some("lagging".into())))
        .await
        .unwrap();
    tree.crash("c", "injected").await.unwrap();
    tree.wait_for_status("c", Status::Ok, SECOND).await.unwrap();
    tokio::time::sleep(1_500 * Duration::from_millis(1)).await;

    let json = tree.runtime().registry().to_json();
    assert_eq!(json["status"], "degraded");
    let services = json["services"].as_array().unwrap();
    let paths: Vec<&str> = services
        .iter()
        .map(|s| s["path"].as_str().unwrap())
        .collect();
    assert_eq!(
        paths,
        [
            "test",
            "test/a",
            "test/workers",
            "test/workers/b",
            "test/workers/c"
        ]
    );
    let by_name = |n: &str| services.iter().find(|s| s["name"] == n).unwrap();
    let b = by_name("b");
    assert_eq!(b["status"], "degraded");
    assert_eq!(b["message"], "lagging");
    assert_eq!(b["kind"], "service");
    assert_eq!(by_name("workers")["kind"], "supervisor");
    let c = by_name("c");
    assert_eq!(c["restarts"], 1);
    assert_eq!(c["last_failure"], "injected");
    assert!(c["details"].is_object());
    assert!(c["status_since_ms"].as_u64().unwrap() > 0);
    let uptime = by_name("a")["uptime_ms"].as_u64().unwrap();
    assert!(uptime >= 1_500, "uptime_ms {uptime}");
    let c_uptime = c["uptime_ms"].as_u64().unwrap();
    assert!(
        c_uptime >= 1_500 && c_uptime < uptime + 1,
        "restart resets uptime: {c_uptime}"
    );
    assert_eq!(
        json,
        serde_json::to_value(tree.runtime().health()).unwrap(),
        "to_json is the snapshot"
    );
    tree.shutdown().await;
}

#[actix_rt::test]
async fn the_registry_actor_answers_health_and_snapshot_queries() {
    tokio::time::pause();
    let tree = small_tree(RuntimeConfig::default()).await;
    set(&tree, "c", Status::Busy).await;
    let actor = tree.runtime().registry().actor().unwrap();
    let c = actor.send(GetHealth("c".into())).await.unwrap().unwrap();
    assert_eq!(c.status, Status::Busy);
    assert!(actor
        .send(GetHealth("nobody".into()))
        .await
        .unwrap()
        .is_none());
    let snapshot = actor.send(GetSnapshot).await.unwrap();
    assert_eq!(snapshot.services.len(), 5);
    tree.shutdown().await;
}

#[actix_rt::test]
async fn registry_settings_out_of_range_are_rejected_naming_the_field() {
    let cases = [
        (1.0, SECOND, "stale_after"),
        (0.5, SECOND, "stale_after"),
        (f64::NAN, SECOND, "stale_after"),
        (f64::INFINITY, SECOND, "stale_after"),
        (3.0, Duration::ZERO, "sweep_interval"),
    ];
    for (stale_after, sweep_interval, field) in cases {
        let config = RegistryConfig {
            stale_after,
            sweep_interval,
            ..RegistryConfig::default()
        };
        match Registry::start(config) {
            Err(RegistryError::InvalidConfig { field: f, .. }) => assert_eq!(f, field),
            other => panic!("{config:?} gave {other:?}"),
        }
        let spec = Supervisor::builder("test").build().unwrap();
        let err = TestTree::start_spec(
            spec,
            RuntimeConfig {
                registry: config,
                ..Default::default()
            },
        )
        .await
        .err()
        .unwrap();
        assert!(err.to_string().contains(field), "{err}");
    }
    assert!(Registry::start(RegistryConfig::default()).is_ok());
}

/// Reads and watches from other threads while a service writes its status
/// as fast as it can: nothing deadlocks.
///
/// The tree's own health checks and the sweep are an hour apart, so a
/// deadlock among the test's threads cannot block the actix thread and the
/// test fails (after 20 s) instead of hanging.
#[actix_rt::test]
async fn reads_and_watches_from_other_threads_proceed_while_writes_happen() {
    const HOUR: Duration = Duration::from_secs(3_600);
    let spec = Supervisor::builder("test")
        .health_interval(HOUR)
        .child(dial("a", HOUR))
        .child(dial("b", HOUR))
        .build()
        .unwrap();
    let config = RuntimeConfig {
        registry: RegistryConfig {
            sweep_interval: HOUR,
            ..Default::default()
        },
        ..Default::default()
    };
    let tree = TestTree::start_spec(spec, config).await.unwrap();
    let registry = tree.runtime().registry().clone();
    let (done_tx, done_rx) = std::sync::mpsc::channel();
    for name in ["a", "b"] {
        let cx = handle(&tree, name).call(GetContext).await.unwrap();
        let done = done_tx.clone();
        std::thread::spawn(move || {
            for i in 0..20_000 {
                let s = if i % 2 == 0 {
                    Status::Degraded
                } else {
                    Status::Ok
                };
                cx.set_status(s);
                cx.heartbeat();
                cx.set_detail("i", i);
            }
            done.send("writer").unwrap();
        });
    }
    for _ in 0..2 {
        let registry = registry.clone();
        let done = done_tx.clone();
        std::thread::spawn(move || {
            for _ in 0..2_000 {
                assert!(registry.get("a").is_some());
                assert_eq!(registry.snapshot().services.len(), 3);
                assert!(registry.subtree_status("test").is_some());
                let _ = registry.to_json();
                let mut all = registry.watch_all();
                let mut one = registry.watch("a").unwrap();
                assert!(all.try_next().is_some());
                assert!(one.try_next().is_some());
            }
            done.send("reader").unwrap();
        });
    }
    drop(done_tx);
    let finished = tokio::task::spawn_blocking(move || {
        let mut finished = Vec::new();
        while let Ok(who) = done_rx.recv_timeout(Duration::from_secs(20)) {
            finished.push(who);
        }
        finished
    })
    .await
    .unwrap();
    assert_eq!(
        finished.len(),
        4,
        "deadlocked: only {finished:?} finished within 20 s"
    );
    tree.shutdown().await;
}

#[actix_rt::test]
async fn the_snapshot_lists_the_tree_depth_first_in_start_order() {
    let journal = servitor::testing::Journal::new();
    let tree = servitor::Supervisor::builder("app")
        .child(crate::support::probes::probe("zeta", &journal))
        .child(
            servitor::Supervisor::builder("workers")
                .child(crate::support::probes::probe("parser", &journal))
                .child(crate::support::probes::probe("enricher", &journal)),
        )
        .child(crate::support::probes::probe("alpha", &journal))
        .build()
        .unwrap();
    let app = servitor::Runtime::start(tree).await.unwrap();
    let names: Vec<String> = app.health().services.into_iter().map(|r| r.name).collect();
    assert_eq!(
        names,
        ["app", "zeta", "workers", "parser", "enricher", "alpha"]
    );
    app.shutdown().await.unwrap();
}
