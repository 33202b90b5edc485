//! However a runtime ends, its handles answer at once, and a shutdown
//! reports what it killed and what failed while it stopped.

use crate::support::probes::{
    crash, probe, probe_with, reached, slow_stop, Behaviour, Crash, Probe, WhoAreYou,
};
use parking_lot::Mutex;
use servitor::cache::{Cache, CacheConfig};
use servitor::testing::{Journal, TestTree};
use servitor::{CallError, RuntimeError, Strategy, Supervisor};
use std::sync::Arc;
use std::time::Duration;
use tokio::time::Instant;

#[actix_rt::test]
async fn after_the_root_gives_up_calls_fail_at_once_with_stopped() {
    tokio::time::pause();
    let journal = Journal::new();
    let (cache_spec, cache) = Cache::<u32, u32>::service("cache", CacheConfig::default()).unwrap();
    let tree = Supervisor::builder("root")
        .intensity(1, Duration::from_secs(60))
        .child(cache_spec)
        .child(probe("p", &journal));
    let tree = TestTree::start_tree(tree).await.unwrap();
    let rt = tree.runtime();
    let p = rt.service::<Probe>("p").unwrap();
    crash(rt, "p", Crash::Panic);
    reached(&journal, "p:start:2").await;
    crash(rt, "p", Crash::Panic);
    let ended = tokio::time::timeout(Duration::from_secs(30), rt.wait())
        .await
        .unwrap();
    assert!(matches!(ended, Err(RuntimeError::RootFailed { .. })));
    tokio::task::yield_now().await;

    let asked = Instant::now();
    let err = p.call(WhoAreYou).await.unwrap_err();
    assert!(matches!(err, CallError::Stopped { .. }), "{err:?}");
    assert!(
        asked.elapsed() < Duration::from_millis(100),
        "it waited {:?}",
        asked.elapsed()
    );
    assert!(
        cache.is_stopped(),
        "built-in services close with the runtime"
    );
    // The last health stays visible until shutdown.
    assert!(rt.registry().get("p").is_some());
}

#[actix_rt::test]
async fn a_shutdown_reports_only_what_it_killed_itself() {
    tokio::time::pause();
    let journal = Journal::new();
    let stuck_once = slow_stop(Duration::from_secs(10));
    let tree = Supervisor::builder("root")
        .strategy(Strategy::OneForAll)
        .intensity(100, Duration::from_secs(1))
        .child(probe_with("a", &journal, &stuck_once).shutdown_timeout(Duration::from_millis(150)))
        .child(probe("b", &journal));
    let tree = TestTree::start_tree(tree).await.unwrap();
    let rt = tree.runtime();
    crash(rt, "b", Crash::Panic);
    // `a` hangs in its stop hook during the group restart and is killed.
    reached(&journal, "a:start:2").await;
    stuck_once.lock().stop_delay = None;
    let report = tree.shutdown().await;
    assert!(report.killed.is_empty(), "{report:?}");
    assert!(report.failures.is_empty(), "{report:?}");
}

#[actix_rt::test]
async fn a_shutdown_reports_kills_and_failed_stop_hooks_by_service() {
    tokio::time::pause();
    let journal = Journal::new();
    let panicky = Arc::new(Mutex::new(Behaviour {
        panic_stops: 1,
        ..Behaviour::default()
    }));
    let tree = Supervisor::builder("root")
        .child(probe_with("loud", &journal, &panicky))
        .child(
            probe_with("stuck", &journal, &slow_stop(Duration::from_secs(60)))
                .shutdown_timeout(Duration::from_millis(100)),
        );
    let tree = TestTree::start_tree(tree).await.unwrap();
    let report = tree.shutdown().await;
    assert_eq!(report.killed, ["stuck"]);
    assert_eq!(report.failures.len(), 1, "{report:?}");
    assert_eq!(report.failures[0].service, "loud");
    assert!(
        report.failures[0].reason.contains("loud stop panicked"),
        "{report:?}"
    );
}
