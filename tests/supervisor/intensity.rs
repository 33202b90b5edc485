//! Restart intensity: at most N restarts within any sliding window; one more
//! and the supervisor gives up, stopping its children in reverse order and
//! failing, so that its own supervisor (or the runtime) deals with it.

use crate::support::probes::{
    crash, incarnation, lifecycle_after, probe, probe_with, reached, slow_stop, Crash, BOUND,
};
use servitor::supervisor::ChildState;
use servitor::testing::{Journal, TestTree};
use servitor::{Runtime, RuntimeError, Status, Strategy, Supervisor};
use std::time::Duration;

const SECOND: Duration = Duration::from_secs(1);

#[actix_rt::test]
async fn a_child_crashing_every_two_seconds_never_exhausts_three_restarts_in_five_seconds() {
    tokio::time::pause();
    let journal = Journal::new();
    let tree = Supervisor::builder("root")
        .intensity(3, 5 * SECOND)
        .child(probe("p", &journal));
    let tree = TestTree::start_tree(tree).await.unwrap();
    let rt = tree.runtime();
    for n in 2..=21 {
        tokio::time::sleep(2 * SECOND).await;
        crash(rt, "p", Crash::Panic);
        reached(&journal, &format!("p:start:{n}")).await;
    }
    assert!(rt.is_running());
    assert_eq!(incarnation(rt, "p").await, 21);
    assert_eq!(rt.root().which_children().await.unwrap()[0].restarts, 20);
    tree.shutdown().await;
}

#[actix_rt::test]
async fn the_window_slides_so_old_restarts_stop_counting_after_the_period() {
    tokio::time::pause();
    let journal = Journal::new();
    let tree = Supervisor::builder("root")
        .intensity(3, 5 * SECOND)
        .child(probe("p", &journal));
    let tree = TestTree::start_tree(tree).await.unwrap();
    let rt = tree.runtime();
    // Three quick restarts fill the window...
    for n in 2..=4 {
        crash(rt, "p", Crash::Error);
        reached(&journal, &format!("p:start:{n}")).await;
    }
    // ...and once they are a period old, three more are allowed.
    tokio::time::sleep(5 * SECOND).await;
    for n in 5..=7 {
        crash(rt, "p", Crash::Error);
        reached(&journal, &format!("p:start:{n}")).await;
    }
    assert!(rt.is_running());
    tree.shutdown().await;
}

#[actix_rt::test]
async fn four_crashes_within_three_seconds_make_the_root_give_up_stopping_the_rest_in_reverse() {
    tokio::time::pause();
    let journal = Journal::new();
    let ms = Duration::from_millis;
    // Stop hooks that get shorter down the list: stopped concurrently, the
    // last would finish first.
    let tree = Supervisor::builder("root")
        .intensity(3, 5 * SECOND)
        .child(probe_with("a", &journal, &slow_stop(ms(10))))
        .child(probe_with("b", &journal, &slow_stop(ms(20))))
        .child(probe("p", &journal))
        .child(probe_with("c", &journal, &slow_stop(ms(30))))
        .build()
        .unwrap();
    let rt = Runtime::start(tree).await.unwrap();
    for n in 2..=4 {
        crash(&rt, "p", Crash::Panic);
        reached(&journal, &format!("p:start:{n}")).await;
        tokio::time::sleep(SECOND).await;
    }
    crash(&rt, "p", Crash::Panic);
    let outcome = tokio::time::timeout(BOUND, rt.wait())
        .await
        .expect("the root should give up");
    match outcome {
        Err(RuntimeError::RootFailed { reason }) => {
            assert!(reason.contains("more than 3 restarts"), "{reason}");
            assert!(reason.contains("`p`"), "{reason}");
        }
        other => panic!("expected RootFailed, got {other:?}"),
    }
    assert!(!rt.is_running());
    assert_eq!(
        lifecycle_after(&journal, 7),
        ["c:stop:1", "b:stop:1", "a:stop:1"]
    );
    assert_eq!(journal.matching("p:start").len(), 4);
    let err = rt.shutdown().await.unwrap_err();
    assert!(matches!(err, RuntimeError::RootFailed { .. }), "{err:?}");
}

#[actix_rt::test]
async fn a_nested_supervisor_that_gives_up_is_restarted_whole_by_its_parent() {
    tokio::time::pause();
    let journal = Journal::new();
    let nested = Supervisor::builder("nested")
        .intensity(1, 60 * SECOND)
        .child(probe("g1", &journal))
        .child(probe("g2", &journal));
    let tree = Supervisor::builder("root")
        .strategy(Strategy::OneForOne)
        .intensity(10, 60 * SECOND)
        .child(probe("x", &journal))
        .child(nested);
    let tree = TestTree::start_tree(tree).await.unwrap();
    let rt = tree.runtime();
    let mut nested_watch = tree.watch("nested");

    crash(rt, "g1", Crash::Panic);
    reached(&journal, "g1:start:2").await;
    assert!(journal.entries().iter().all(|e| !e.starts_with("g2:stop")));
    journal.clear();

    // The second restart within the minute is one too many for `nested`.
    crash(rt, "g1", Crash::Panic);
    nested_watch.wait_for(Status::Failed, BOUND).await.unwrap();
    journal
        .wait_until(
            |es| es.iter().filter(|e| e.contains(":start:")).count() == 2,
            "both grandchildren started again",
            BOUND,
        )
        .await
        .unwrap();
    let lifecycle = crate::support::probes::lifecycle(&journal);
    assert_eq!(lifecycle[0], "g2:stop:1", "{lifecycle:?}");
    assert!(lifecycle[1].starts_with("g1:start:"), "{lifecycle:?}");
    assert!(lifecycle[2].starts_with("g2:start:"), "{lifecycle:?}");
    assert_eq!(lifecycle.len(), 3, "{lifecycle:?}");
    nested_watch.wait_for(Status::Ok, BOUND).await.unwrap();

    // The old grandchildren are gone: both answer from a new instance.
    let g1 = incarnation(rt, "g1").await;
    let g2 = incarnation(rt, "g2").await;
    assert_eq!(
        (g1, g2),
        (3, 2),
        "grandchildren must be new incarnations, numbered after the old ones"
    );
    assert_eq!(incarnation(rt, "x").await, 1);
    assert!(rt.is_running());

    let nested_info = rt
        .root()
        .which_children()
        .await
        .unwrap()
        .into_iter()
        .find(|c| c.id == "nested")
        .unwrap();
    assert_eq!(nested_info.restarts, 1);
    assert_eq!(nested_info.incarnation, 2);
    assert_eq!(nested_info.state, ChildState::Running);
    let failure = nested_info.last_failure.unwrap_or_default();
    assert!(failure.contains("more than 1 restarts"), "{failure}");
    tree.shutdown().await;
}

#[actix_rt::test]
async fn a_nested_supervisor_giving_up_too_often_makes_the_root_give_up_too() {
    tokio::time::pause();
    let journal = Journal::new();
    let nested = Supervisor::builder("nested")
        .intensity(1, 60 * SECOND)
        .child(probe("g", &journal));
    let tree = Supervisor::builder("root")
        .intensity(1, 60 * SECOND)
        .child(probe("x", &journal))
        .child(nested)
        .build()
        .unwrap();
    let rt = Runtime::start(tree).await.unwrap();
    // Every second crash of `g` makes `nested` give up; the root restarts
    // it once, and gives up itself the second time.
    for starts in 2..=4 {
        crash(&rt, "g", Crash::Panic);
        journal
            .wait_until(
                |es| es.iter().filter(|e| e.starts_with("g:start")).count() == starts,
                "g started again",
                BOUND,
            )
            .await
            .unwrap();
    }
    assert!(rt.is_running());
    crash(&rt, "g", Crash::Panic);
    let err = tokio::time::timeout(BOUND, rt.wait())
        .await
        .expect("the root should give up")
        .unwrap_err();
    match err {
        RuntimeError::RootFailed { reason } => {
            assert!(reason.contains("`nested`"), "{reason}")
        }
        other => panic!("expected RootFailed, got {other:?}"),
    }
    reached(&journal, "x:stop:1").await;
}

#[actix_rt::test]
async fn restarts_that_keep_failing_to_start_count_against_the_intensity() {
    tokio::time::pause();
    let journal = Journal::new();
    let control = crate::support::probes::Control::default();
    let tree = Supervisor::builder("root")
        .intensity(3, 5 * SECOND)
        .child(probe("a", &journal))
        .child(probe_with("p", &journal, &control))
        .build()
        .unwrap();
    let rt = Runtime::start(tree).await.unwrap();
    control.lock().fail_starts = u32::MAX;
    crash(&rt, "p", Crash::Panic);
    let err = tokio::time::timeout(BOUND, rt.wait())
        .await
        .expect("the root should give up")
        .unwrap_err();
    match err {
        RuntimeError::RootFailed { reason } => {
            assert!(reason.contains("p refused to start"), "{reason}")
        }
        other => panic!("expected RootFailed, got {other:?}"),
    }
    // The crash and three failed restarts: the fourth restart is refused.
    assert_eq!(journal.matching("p:start").len(), 4);
    reached(&journal, "a:stop:1").await;
}
