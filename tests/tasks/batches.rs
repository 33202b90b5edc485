//! Workers claim queued tasks in batches: what a batch must never change.
//! A task claimed but not started is still pending and can be cancelled
//! without running; a task that waits sends the rest of its batch back for
//! idle workers; a waiter gets the outcome even once retention forgot the
//! record.

use crate::support::tasks::{held, release, start};

use servitor::tasks::{TaskId, TaskStatus, TasksConfig};
use std::convert::Infallible;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, OnceLock};
use std::time::Duration;
use tokio::sync::watch;

const BOUND: Duration = Duration::from_secs(60);

#[actix_rt::test]
async fn a_task_cancelled_while_claimed_in_a_batch_never_runs() {
    let (tree, tasks) = start(TasksConfig {
        workers: 1,
        ..TasksConfig::default()
    })
    .await;
    // One worker claims the first task alone, then the next two together:
    // the second cancels the third, which its worker holds but has not
    // started.
    let third: Arc<OnceLock<TaskId>> = Arc::default();
    let third_ran = Arc::new(AtomicBool::new(false));
    let first = tasks
        .submit("first", |_| async { Ok::<_, Infallible>(()) })
        .await
        .unwrap();
    let (canceller, target) = (tasks.clone(), third.clone());
    let second = tasks
        .submit("second", move |_| {
            let (tasks, target) = (canceller.clone(), target.clone());
            async move {
                let id = *target.get().expect("the third was submitted");
                Ok::<_, Infallible>(tasks.cancel(id).unwrap())
            }
        })
        .await
        .unwrap();
    let ran = third_ran.clone();
    let id = tasks
        .submit("third", move |_| {
            ran.store(true, Ordering::SeqCst);
            async { Ok::<_, Infallible>(()) }
        })
        .await
        .unwrap();
    third.set(id).unwrap();
    for id in [first, second] {
        assert_eq!(
            tasks.wait(id, BOUND).await.unwrap().status,
            TaskStatus::Completed
        );
    }
    assert_eq!(
        tasks.get(second).unwrap().result,
        Some(serde_json::json!(true))
    );
    let cancelled = tasks.wait(id, BOUND).await.unwrap();
    assert_eq!(cancelled.status, TaskStatus::Cancelled);
    assert_eq!(cancelled.attempts, 0);
    assert!(!third_ran.load(Ordering::SeqCst), "a cancelled task ran");
    assert_eq!(tasks.stats().cancelled, 1);
    tree.shutdown().await;
}

#[actix_rt::test]
async fn a_task_that_waits_sends_the_rest_of_its_batch_to_idle_workers() {
    let (tree, tasks) = start(TasksConfig {
        workers: 2,
        ..TasksConfig::default()
    })
    .await;
    let (open, gate) = watch::channel(false);
    let quick = || async { Ok::<_, Infallible>(()) };
    let first = tasks.submit("first", move |_| quick()).await.unwrap();
    // Claimed after `first` with what follows it; it waits for the gate.
    let slow = held(&tasks, "slow", gate).await;
    let after = tasks.submit("after", move |_| quick()).await.unwrap();
    let last = tasks.submit("last", move |_| quick()).await.unwrap();
    for id in [first, after, last] {
        assert_eq!(
            tasks.wait(id, BOUND).await.unwrap().status,
            TaskStatus::Completed
        );
    }
    release(&tasks, slow, &open).await;
    tree.shutdown().await;
}

#[actix_rt::test]
async fn a_waiter_gets_the_outcome_of_a_task_retention_already_forgot() {
    let (tree, tasks) = start(TasksConfig {
        workers: 1,
        retain_finished: 1,
        ..TasksConfig::default()
    })
    .await;
    let mut ids = Vec::new();
    for i in 0..5 {
        ids.push(
            tasks
                .submit("n", move |_| async move { Ok::<_, Infallible>(i) })
                .await
                .unwrap(),
        );
    }
    // Waiting before any has run: by the time this waiter runs again, the
    // four after the first have finished and pushed it out.
    let first = tasks.wait(ids[0], BOUND).await.unwrap();
    assert_eq!(first.status, TaskStatus::Completed);
    assert_eq!(first.result, Some(serde_json::json!(0)));
    tasks.wait(ids[4], BOUND).await.unwrap();
    assert!(tasks.get(ids[0]).is_err(), "retention keeps one");
    tree.shutdown().await;
}
