//! Health that never lies: after a supervisor gives up the child that
//! tipped the window shows why; restart counts mean one thing in every view;
//! group restarts count for every member; `which_children` has the timing.

use crate::support::probes::{crash, probe, reached, Crash, Probe, WhoAreYou, BOUND};
use servitor::supervisor::ChildState;
use servitor::testing::{Journal, TestTree};
use servitor::{Backoff, RuntimeError, Status, Strategy, Supervisor};
use std::time::Duration;

const SECOND: Duration = Duration::from_secs(1);

#[actix_rt::test]
async fn the_child_whose_crash_made_a_root_give_up_shows_failed_with_its_reason() {
    tokio::time::pause();
    let journal = Journal::new();
    let tree = Supervisor::builder("root")
        .intensity(1, Duration::from_secs(60))
        .child(probe("p", &journal))
        .child(probe("q", &journal));
    let tree = TestTree::start_tree(tree).await.unwrap();
    let rt = tree.runtime();
    crash(rt, "p", Crash::Panic);
    reached(&journal, "p:start:2").await;
    crash(rt, "p", Crash::Panic);
    let ended = tokio::time::timeout(BOUND, rt.wait()).await.unwrap();
    assert!(
        matches!(ended, Err(RuntimeError::RootFailed { .. })),
        "{ended:?}"
    );

    let health = rt.health();
    let p = health.get("p").unwrap();
    assert_eq!(p.status, Status::Failed, "{p:?}");
    assert!(
        p.message
            .as_deref()
            .unwrap()
            .contains("p was told to panic"),
        "{p:?}"
    );
    assert_eq!(p.uptime_ms, 0);
    assert_eq!(health.get("q").unwrap().status, Status::Stopped);
    assert_eq!(health.get("root").unwrap().status, Status::Failed);
}

#[actix_rt::test]
async fn the_child_whose_crash_made_a_nested_supervisor_give_up_shows_failed() {
    tokio::time::pause();
    let journal = Journal::new();
    let tree = Supervisor::builder("root")
        .intensity(100, Duration::from_secs(1))
        .backoff(Backoff::constant(Duration::from_secs(3600)))
        .child(
            Supervisor::builder("mid")
                .intensity(1, Duration::from_secs(60))
                .child(probe("p", &journal))
                .child(probe("q", &journal)),
        );
    let tree = TestTree::start_tree(tree).await.unwrap();
    let rt = tree.runtime();
    let mut mid = tree.watch("mid");
    crash(rt, "p", Crash::Panic);
    reached(&journal, "p:start:2").await;
    crash(rt, "p", Crash::Panic);
    // The root restarts `mid` only after an hour: meanwhile the picture holds.
    mid.wait_for(Status::Error, BOUND).await.unwrap();
    let health = rt.health();
    let p = health.get("p").unwrap();
    assert_eq!(p.status, Status::Failed, "{p:?}");
    assert!(p
        .message
        .as_deref()
        .unwrap()
        .contains("p was told to panic"));
    let mid = health.get("mid").unwrap();
    assert!(
        mid.message.as_deref().unwrap().contains("gave up"),
        "{mid:?}"
    );
    assert!(
        mid.restart_at_ms.is_some(),
        "the pending restart is a field"
    );
    assert_eq!(health.subtree("root/mid"), Some(Status::Failed));
    tree.shutdown().await;
}

#[actix_rt::test]
async fn restart_counts_are_cumulative_and_every_view_agrees() {
    tokio::time::pause();
    let journal = Journal::new();
    let tree = Supervisor::builder("root")
        .intensity(100, Duration::from_secs(1))
        .child(
            Supervisor::builder("mid")
                .intensity(2, Duration::from_secs(10))
                .child(probe("leaf", &journal)),
        );
    let tree = TestTree::start_tree(tree).await.unwrap();
    let rt = tree.runtime();
    let mut seen = Vec::new();
    for n in 1..=5u64 {
        crash(rt, "leaf", Crash::Panic);
        // Each crash is followed by a new incarnation (after the third, `mid`
        // gives up and the root starts a new `mid`, and with it the leaf).
        let leaf = rt.service::<Probe>("leaf").unwrap();
        loop {
            match leaf.call(WhoAreYou).await {
                Ok((_, inc)) if inc > n => break,
                _ => tokio::time::sleep(Duration::from_millis(1)).await,
            }
        }
        let mid = rt.supervisor("mid").unwrap();
        let info = mid.which_children().await.unwrap().remove(0);
        let report = rt.registry().get("leaf").unwrap();
        seen.push((
            info.restarts,
            report.restarts,
            info.restarts_under_current_supervisor,
        ));
    }
    // Cumulative in both views; the per-supervisor count starts over with
    // the new `mid` (its first incarnation made 2 restarts, then gave up).
    assert_eq!(
        seen,
        [(1, 1, 1), (2, 2, 2), (3, 3, 0), (4, 4, 1), (5, 5, 2)]
    );
    tree.shutdown().await;
}

#[actix_rt::test]
async fn siblings_restarted_with_a_group_count_the_restart() {
    tokio::time::pause();
    let journal = Journal::new();
    let tree = Supervisor::builder("root")
        .strategy(Strategy::RestForOne)
        .intensity(100, Duration::from_secs(1))
        .child(probe("reader", &journal))
        .child(probe("parser", &journal))
        .child(probe("writer", &journal));
    let tree = TestTree::start_tree(tree).await.unwrap();
    let rt = tree.runtime();
    crash(rt, "parser", Crash::Panic);
    reached(&journal, "writer:start:2").await;
    let restarts: Vec<(String, u32, u64)> = rt
        .root()
        .which_children()
        .await
        .unwrap()
        .into_iter()
        .map(|c| (c.id, c.restarts, c.incarnation))
        .collect();
    assert_eq!(
        restarts,
        [
            ("reader".to_string(), 0, 1),
            ("parser".to_string(), 1, 2),
            ("writer".to_string(), 1, 2)
        ]
    );
    assert_eq!(rt.registry().get("writer").unwrap().restarts, 1);
    assert!(rt.health().table().contains("writer"));
    tree.shutdown().await;
}

#[actix_rt::test]
async fn which_children_tells_start_time_uptime_and_the_pending_restart() {
    tokio::time::pause();
    let journal = Journal::new();
    let tree = Supervisor::builder("root")
        .intensity(100, Duration::from_secs(1))
        .backoff(Backoff::constant(Duration::from_secs(2)))
        .child(probe("p", &journal));
    let tree = TestTree::start_tree(tree).await.unwrap();
    let rt = tree.runtime();
    tokio::time::sleep(Duration::from_millis(1500)).await;
    let info = rt.root().which_children().await.unwrap().remove(0);
    assert_eq!(info.state, ChildState::Running);
    assert!(info.started_at_ms.is_some());
    assert!(info.uptime_ms.unwrap() >= 1500, "{info:?}");
    assert_eq!(info.restart_in_ms, None);

    let mut watch = tree.watch("p");
    crash(rt, "p", Crash::Panic);
    watch.wait_for(Status::Error, SECOND).await.unwrap();
    let info = rt.root().which_children().await.unwrap().remove(0);
    assert_eq!(info.state, ChildState::Restarting);
    assert_eq!(info.uptime_ms, None);
    let due = info.restart_in_ms.expect("a restart is pending");
    assert!((1_900..=2_000).contains(&due), "{due}");
    assert!(info.restart_at_ms.is_some());
    assert!(rt.registry().get("p").unwrap().restart_at_ms.is_some());

    watch
        .wait_for(Status::Ok, Duration::from_secs(3))
        .await
        .unwrap();
    let info = rt.root().which_children().await.unwrap().remove(0);
    assert_eq!((info.restart_in_ms, info.restart_at_ms), (None, None));
    assert_eq!(rt.registry().get("p").unwrap().restart_at_ms, None);
    tree.shutdown().await;
}

/// Milliseconds since the Unix epoch, as the system clock has them now.
fn wall_ms() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_millis() as u64
}

/// `from..=to` widened by 2 ms either way: health's times are converted
/// from monotonic readings, which the system clock may slew away from by a
/// fraction of a millisecond per second.
fn around(from: u64, to: u64) -> std::ops::RangeInclusive<u64> {
    from - 2..=to + 2
}

#[actix_rt::test]
async fn the_times_health_shows_agree_with_the_system_clock_across_a_restart() {
    let journal = Journal::new();
    let delay = Duration::from_millis(300);
    let tree = Supervisor::builder("root")
        .intensity(100, Duration::from_secs(1))
        .backoff(Backoff::constant(delay))
        .child(probe("p", &journal));
    let before_start = wall_ms();
    let tree = TestTree::start_tree(tree).await.unwrap();
    let rt = tree.runtime();
    let started = wall_ms();
    let first = rt.root().which_children().await.unwrap().remove(0);
    let at = first.started_at_ms.unwrap();
    assert!(
        around(before_start, started).contains(&at),
        "{before_start} <= {at} <= {started}"
    );

    let mut watch = tree.watch("p");
    let before_crash = wall_ms();
    crash(rt, "p", Crash::Panic);
    watch.wait_for(Status::Error, SECOND).await.unwrap();
    let seen = wall_ms();
    let p = rt.registry().get("p").unwrap();
    let since = p.status_since_ms;
    assert!(
        around(before_crash, seen).contains(&since),
        "{before_crash} <= {since} <= {seen}"
    );
    // The pending restart is due its delay after the exit was decided.
    let due = p.restart_at_ms.expect("a restart is pending");
    let delay_ms = delay.as_millis() as u64;
    assert!(
        around(before_crash + delay_ms, seen + delay_ms).contains(&due),
        "{before_crash} + {delay_ms} <= {due} <= {seen} + {delay_ms}"
    );

    watch.wait_for(Status::Ok, SECOND).await.unwrap();
    let up = wall_ms();
    let again = rt.root().which_children().await.unwrap().remove(0);
    let at = again.started_at_ms.unwrap();
    assert!(around(due, up).contains(&at), "{due} <= {at} <= {up}");
    let since = rt.registry().get("p").unwrap().status_since_ms;
    assert!(around(at, up).contains(&since), "{at} <= {since} <= {up}");
    tree.shutdown().await;
}
