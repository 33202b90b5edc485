//! Submitting and inspecting tasks: ids, results, statuses, `get`, `list`,
//! `wait`, priorities and unique keys.

use crate::support::tasks::{held, start};

use servitor::tasks::{
    Priority, TaskError, TaskFilter, TaskId, TaskOptions, TaskStatus, TasksConfig,
};
use std::convert::Infallible;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::sync::watch;

const BOUND: Duration = Duration::from_secs(5);

/// A gate tasks wait on until the test opens it.
fn gate() -> (watch::Sender<bool>, watch::Receiver<bool>) {
    watch::channel(false)
}

#[actix_rt::test]
async fn an_async_task_completes_with_its_value_as_json() {
    tokio::time::pause();
    let (tree, tasks) = start(TasksConfig::default()).await;
    let id = tasks
        .submit("sum", |_| async { Ok::<_, Infallible>(vec![1, 2, 3]) })
        .await
        .unwrap();
    let done = tasks.wait(id, BOUND).await.unwrap();
    assert_eq!(done.id, id);
    assert_eq!(done.name, "sum");
    assert_eq!(done.status, TaskStatus::Completed);
    assert_eq!(done.result, Some(serde_json::json!([1, 2, 3])));
    assert_eq!(done.error, None);
    assert_eq!(done.attempts, 1);
    assert!(done.finished_at.is_some());
    tree.shutdown().await;
}

#[actix_rt::test]
async fn a_blocking_task_completes_with_its_value() {
    let (tree, tasks) = start(TasksConfig::default()).await;
    let id = tasks
        .submit_blocking("hash", |cx| {
            Ok::<_, Infallible>(format!("{}", cx.attempt()))
        })
        .await
        .unwrap();
    let done = tasks.wait(id, BOUND).await.unwrap();
    assert_eq!(done.status, TaskStatus::Completed);
    assert_eq!(done.result, Some(serde_json::json!("1")));
    tree.shutdown().await;
}

#[actix_rt::test]
async fn a_task_error_is_failed_with_its_message() {
    tokio::time::pause();
    let (tree, tasks) = start(TasksConfig::default()).await;
    let id = tasks
        .submit("bad", |_| async { Err::<(), _>("disk on fire") })
        .await
        .unwrap();
    let done = tasks.wait(id, BOUND).await.unwrap();
    assert_eq!(done.status, TaskStatus::Failed);
    assert_eq!(done.error.as_deref(), Some("disk on fire"));
    assert_eq!(done.result, None);
    tree.shutdown().await;
}

#[actix_rt::test]
async fn an_unknown_id_is_a_typed_not_found_error() {
    let (tree, tasks) = start(TasksConfig::default()).await;
    let unknown = TaskId(4242);
    assert_eq!(tasks.get(unknown), Err(TaskError::NotFound { id: unknown }));
    assert_eq!(
        tasks.wait(unknown, BOUND).await,
        Err(TaskError::NotFound { id: unknown })
    );
    assert_eq!(
        tasks.cancel(unknown),
        Err(TaskError::NotFound { id: unknown })
    );
    tree.shutdown().await;
}

#[actix_rt::test]
async fn statuses_go_pending_then_running_then_completed() {
    tokio::time::pause();
    let (tree, tasks) = start(TasksConfig {
        workers: 1,
        ..TasksConfig::default()
    })
    .await;
    let (open, rx) = gate();
    let blocker = held(&tasks, "blocker", rx).await;
    let queued = tasks
        .submit("queued", |_| async { Ok::<_, Infallible>(()) })
        .await
        .unwrap();
    tokio::task::yield_now().await;
    tokio::time::sleep(Duration::from_millis(1)).await;
    assert_eq!(tasks.get(blocker).unwrap().status, TaskStatus::Running);
    assert_eq!(tasks.get(queued).unwrap().status, TaskStatus::Pending);
    open.send(true).unwrap();
    assert_eq!(
        tasks.wait(queued, BOUND).await.unwrap().status,
        TaskStatus::Completed
    );
    assert_eq!(tasks.get(blocker).unwrap().status, TaskStatus::Completed);
    tree.shutdown().await;
}

#[actix_rt::test]
async fn wait_times_out_with_the_current_status_and_the_task_runs_on() {
    tokio::time::pause();
    let (tree, tasks) = start(TasksConfig::default()).await;
    let (open, rx) = gate();
    let id = tasks
        .submit("slow", move |_| {
            let mut rx = rx.clone();
            async move {
                let _ = rx.wait_for(|o| *o).await;
                Ok::<_, Infallible>(7)
            }
        })
        .await
        .unwrap();
    let err = tasks
        .wait(id, Duration::from_millis(100))
        .await
        .unwrap_err();
    assert_eq!(
        err,
        TaskError::WaitTimedOut {
            id,
            status: TaskStatus::Running,
            after: Duration::from_millis(100)
        }
    );
    open.send(true).unwrap();
    assert_eq!(
        tasks.wait(id, BOUND).await.unwrap().result,
        Some(serde_json::json!(7))
    );
    tree.shutdown().await;
}

#[actix_rt::test]
async fn list_filters_by_status_and_name_newest_first_with_a_limit() {
    tokio::time::pause();
    let (tree, tasks) = start(TasksConfig::default()).await;
    let mut ids = Vec::new();
    for i in 0..6 {
        let name = if i % 2 == 0 { "even" } else { "odd" };
        let id = tasks
            .submit(name, move |_| async move {
                if i == 4 {
                    Err("four")
                } else {
                    Ok(i)
                }
            })
            .await
            .unwrap();
        ids.push(id);
    }
    for &id in &ids {
        tasks.wait(id, BOUND).await.unwrap();
    }
    let all: Vec<TaskId> = tasks
        .list(&TaskFilter::all())
        .iter()
        .map(|t| t.id)
        .collect();
    let mut newest_first = ids.clone();
    newest_first.reverse();
    assert_eq!(all, newest_first);

    let even: Vec<TaskId> = tasks
        .list(&TaskFilter::all().name("even"))
        .iter()
        .map(|t| t.id)
        .collect();
    assert_eq!(even, vec![ids[4], ids[2], ids[0]]);

    let failed = tasks.list(&TaskFilter::all().status(TaskStatus::Failed));
    assert_eq!(failed.len(), 1);
    assert_eq!(failed[0].id, ids[4]);

    let even_completed = tasks.list(
        &TaskFilter::all()
            .name("even")
            .status(TaskStatus::Completed)
            .limit(1),
    );
    assert_eq!(even_completed.len(), 1);
    assert_eq!(even_completed[0].id, ids[2]);
    tree.shutdown().await;
}

#[actix_rt::test]
async fn higher_priority_tasks_run_first_and_fifo_within_a_priority() {
    tokio::time::pause();
    let (tree, tasks) = start(TasksConfig {
        workers: 1,
        ..TasksConfig::default()
    })
    .await;
    let (open, rx) = gate();
    held(&tasks, "blocker", rx).await;
    tokio::time::sleep(Duration::from_millis(1)).await;
    let order = Arc::new(Mutex::new(Vec::new()));
    let mut last = None;
    for (name, p) in [
        ("low-1", Priority::Low),
        ("normal-1", Priority::Normal),
        ("high-1", Priority::High),
        ("low-2", Priority::Low),
        ("high-2", Priority::High),
        ("normal-2", Priority::Normal),
    ] {
        let order = order.clone();
        let id = tasks
            .submit_with(name, TaskOptions::default().priority(p), move |_| {
                let order = order.clone();
                async move {
                    order.lock().unwrap().push(name);
                    Ok::<_, Infallible>(())
                }
            })
            .await
            .unwrap();
        if name == "low-2" {
            last = Some(id);
        }
    }
    open.send(true).unwrap();
    tasks.wait(last.unwrap(), BOUND).await.unwrap();
    assert_eq!(
        *order.lock().unwrap(),
        vec!["high-1", "high-2", "normal-1", "normal-2", "low-1", "low-2"]
    );
    tree.shutdown().await;
}

#[actix_rt::test]
async fn a_unique_key_returns_the_first_id_while_it_is_pending_or_running() {
    tokio::time::pause();
    let (tree, tasks) = start(TasksConfig {
        workers: 1,
        ..TasksConfig::default()
    })
    .await;
    let (open, rx) = gate();
    let submit = |rx: watch::Receiver<bool>| {
        let tasks = tasks.clone();
        async move {
            tasks
                .submit_with(
                    "report",
                    TaskOptions::default().unique_key("report:nov"),
                    move |_| {
                        let mut rx = rx.clone();
                        async move {
                            let _ = rx.wait_for(|o| *o).await;
                            Ok::<_, Infallible>(())
                        }
                    },
                )
                .await
                .unwrap()
        }
    };
    let first = submit(rx.clone()).await;
    // Pending (the worker may not have taken it yet) or running: same id.
    assert_eq!(submit(rx.clone()).await, first);
    tokio::time::sleep(Duration::from_millis(1)).await;
    assert_eq!(tasks.get(first).unwrap().status, TaskStatus::Running);
    assert_eq!(submit(rx.clone()).await, first);
    assert_eq!(tasks.stats().submitted, 1);
    open.send(true).unwrap();
    tasks.wait(first, BOUND).await.unwrap();
    // Finished: the key is free again.
    let second = submit(rx.clone()).await;
    assert_ne!(second, first);
    assert_eq!(
        tasks.get(second).unwrap().unique_key.as_deref(),
        Some("report:nov")
    );
    tree.shutdown().await;
}
