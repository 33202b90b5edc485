//! The bounded queue and retention: a full queue makes submit wait or fail
//! (the caller's choice), and finished tasks are forgotten past the count
//! and age limits so memory stays flat.

use crate::support::tasks::{held, start};

use servitor::tasks::{OnFull, TaskError, TaskOptions, TaskStatus, Tasks, TasksConfig};
use std::convert::Infallible;
use std::time::Duration;
use tokio::sync::watch;

const BOUND: Duration = Duration::from_secs(60);

/// Fills the single worker with a task held until the returned sender opens.
async fn occupy_worker(tasks: &Tasks) -> watch::Sender<bool> {
    let (open, rx) = watch::channel(false);
    held(tasks, "blocker", rx).await;
    tokio::time::sleep(Duration::from_millis(1)).await;
    open
}

fn small_queue() -> TasksConfig {
    TasksConfig {
        workers: 1,
        queue_capacity: 2,
        ..TasksConfig::default()
    }
}

#[actix_rt::test]
async fn a_full_queue_fails_a_submit_that_asked_to_fail() {
    tokio::time::pause();
    let (tree, tasks) = start(small_queue()).await;
    let open = occupy_worker(&tasks).await;
    for _ in 0..2 {
        tasks
            .submit("fill", |_| async { Ok::<_, Infallible>(()) })
            .await
            .unwrap();
    }
    assert_eq!(tasks.stats().queue_depth, 2);
    let err = tasks
        .submit_with(
            "extra",
            TaskOptions::default().on_full(OnFull::Fail),
            |_| async { Ok::<_, Infallible>(()) },
        )
        .await
        .unwrap_err();
    assert_eq!(
        err,
        TaskError::QueueFull {
            service: "jobs".into(),
            capacity: 2
        }
    );
    assert_eq!(tasks.stats().submitted, 3);
    open.send(true).unwrap();
    tree.shutdown().await;
}

#[actix_rt::test]
async fn a_full_queue_makes_a_waiting_submit_wait_until_there_is_room() {
    tokio::time::pause();
    let (tree, tasks) = start(small_queue()).await;
    let open = occupy_worker(&tasks).await;
    for _ in 0..2 {
        tasks
            .submit("fill", |_| async { Ok::<_, Infallible>(()) })
            .await
            .unwrap();
    }
    let waiting = {
        let tasks = tasks.clone();
        actix_rt::spawn(async move {
            tasks
                .submit("extra", |_| async { Ok::<_, Infallible>("late") })
                .await
        })
    };
    // However long the worker stays busy, the submit waits.
    tokio::time::sleep(Duration::from_secs(30)).await;
    assert!(!waiting.is_finished());
    assert_eq!(tasks.stats().queue_depth, 2);
    open.send(true).unwrap();
    let id = waiting.await.unwrap().unwrap();
    let done = tasks.wait(id, BOUND).await.unwrap();
    assert_eq!(done.status, TaskStatus::Completed);
    assert_eq!(done.result, Some(serde_json::json!("late")));
    tree.shutdown().await;
}

#[actix_rt::test]
async fn cancelling_a_pending_task_makes_room_for_a_waiting_submit() {
    tokio::time::pause();
    let (tree, tasks) = start(small_queue()).await;
    let open = occupy_worker(&tasks).await;
    let first = tasks
        .submit("fill", |_| async { Ok::<_, Infallible>(()) })
        .await
        .unwrap();
    tasks
        .submit("fill", |_| async { Ok::<_, Infallible>(()) })
        .await
        .unwrap();
    let waiting = {
        let tasks = tasks.clone();
        actix_rt::spawn(async move {
            tasks
                .submit("extra", |_| async { Ok::<_, Infallible>(()) })
                .await
        })
    };
    tokio::time::sleep(Duration::from_millis(10)).await;
    assert!(!waiting.is_finished());
    tasks.cancel(first).unwrap();
    let id = waiting.await.unwrap().unwrap();
    assert_eq!(tasks.get(id).unwrap().status, TaskStatus::Pending);
    open.send(true).unwrap();
    tree.shutdown().await;
}

#[actix_rt::test]
async fn finished_tasks_beyond_the_retention_count_are_forgotten_oldest_first() {
    tokio::time::pause();
    let (tree, tasks) = start(TasksConfig {
        retain_finished: 10,
        ..TasksConfig::default()
    })
    .await;
    let mut ids = Vec::new();
    for i in 0..100 {
        let id = tasks
            .submit("n", move |_| async move { Ok::<_, Infallible>(i) })
            .await
            .unwrap();
        ids.push(id);
    }
    tasks.wait(ids[99], BOUND).await.unwrap();
    tokio::time::sleep(Duration::from_millis(10)).await;
    let stats = tasks.stats();
    assert_eq!(stats.completed, 100);
    assert_eq!(stats.retained, 10);
    assert_eq!(tasks.get(ids[0]), Err(TaskError::NotFound { id: ids[0] }));
    assert_eq!(
        tasks.get(ids[99]).unwrap().result,
        Some(serde_json::json!(99))
    );
    assert_eq!(tasks.list(&Default::default()).len(), 10);
    tree.shutdown().await;
}

#[actix_rt::test]
async fn finished_tasks_older_than_the_retention_age_are_forgotten() {
    tokio::time::pause();
    let (tree, tasks) = start(TasksConfig {
        retain_for: Some(Duration::from_secs(60)),
        health_interval: Duration::from_secs(1),
        ..TasksConfig::default()
    })
    .await;
    let old = tasks
        .submit("old", |_| async { Ok::<_, Infallible>(()) })
        .await
        .unwrap();
    tasks.wait(old, BOUND).await.unwrap();
    tokio::time::sleep(Duration::from_secs(30)).await;
    let young = tasks
        .submit("young", |_| async { Ok::<_, Infallible>(()) })
        .await
        .unwrap();
    tasks.wait(young, BOUND).await.unwrap();
    tokio::time::sleep(Duration::from_secs(32)).await;
    assert_eq!(tasks.get(old), Err(TaskError::NotFound { id: old }));
    assert!(tasks.get(young).is_ok());
    tokio::time::sleep(Duration::from_secs(30)).await;
    assert_eq!(tasks.get(young), Err(TaskError::NotFound { id: young }));
    tree.shutdown().await;
}

#[actix_rt::test]
async fn pending_and_running_tasks_are_never_forgotten_by_retention() {
    tokio::time::pause();
    let (tree, tasks) = start(TasksConfig {
        workers: 1,
        retain_finished: 1,
        retain_for: Some(Duration::from_millis(10)),
        health_interval: Duration::from_millis(5),
        ..TasksConfig::default()
    })
    .await;
    let open = occupy_worker(&tasks).await;
    let pending = tasks
        .submit("pending", |_| async { Ok::<_, Infallible>(()) })
        .await
        .unwrap();
    for _ in 0..3 {
        let id = tasks
            .submit_with(
                "fail-fast",
                TaskOptions::default().priority(servitor::tasks::Priority::High),
                |_| async { Ok::<_, Infallible>(()) },
            )
            .await
            .unwrap();
        let _ = tasks.cancel(id);
    }
    tokio::time::sleep(Duration::from_secs(1)).await;
    assert_eq!(tasks.get(pending).unwrap().status, TaskStatus::Pending);
    assert_eq!(
        tasks
            .list(&Default::default())
            .iter()
            .filter(|t| t.status == TaskStatus::Running)
            .count(),
        1
    );
    open.send(true).unwrap();
    assert_eq!(
        tasks.wait(pending, BOUND).await.unwrap().status,
        TaskStatus::Completed
    );
    tree.shutdown().await;
}
