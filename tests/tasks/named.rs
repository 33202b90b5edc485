//! Named handlers with serde payloads, start times and the backend-neutral
//! `TaskQueue` API on the in-memory service.

use crate::support::tasks::start;

use servitor::tasks::{
    RetryPolicy, TaskContext, TaskError, TaskOptions, TaskQueue, TaskStatus, TasksConfig,
};
use std::time::{Duration, SystemTime};

const BOUND: Duration = Duration::from_secs(5);

#[derive(serde::Serialize, serde::Deserialize)]
struct Email {
    to: String,
}

#[actix_rt::test]
async fn a_task_enqueued_by_name_runs_its_handler_with_the_payload() {
    tokio::time::pause();
    let (tree, tasks) = start(TasksConfig::default()).await;
    tasks
        .handlers()
        .register("send_email", |cx: TaskContext, email: Email| async move {
            Ok::<_, std::io::Error>(format!("sent to {} on attempt {}", email.to, cx.attempt()))
        });
    let id = tasks
        .enqueue(
            "send_email",
            &Email {
                to: "ada@example.org".into(),
            },
        )
        .await
        .unwrap();
    let done = tasks.wait(id, BOUND).await.unwrap();
    assert_eq!(done.status, TaskStatus::Completed);
    assert_eq!(done.name, "send_email");
    assert_eq!(
        done.result,
        Some(serde_json::json!("sent to ada@example.org on attempt 1"))
    );
    tree.shutdown().await;
}

#[actix_rt::test]
async fn an_unknown_handler_is_refused_and_a_payload_that_does_not_fit_is_not_retried() {
    tokio::time::pause();
    let (tree, tasks) = start(TasksConfig::default()).await;
    assert_eq!(
        tasks.enqueue("nobody", &1).await.unwrap_err(),
        TaskError::UnknownHandler {
            service: "jobs".into(),
            handler: "nobody".into()
        }
    );
    tasks
        .handlers()
        .register("send_email", |_cx: TaskContext, _email: Email| async move {
            Ok::<_, std::io::Error>(())
        });
    let options =
        TaskOptions::default().retry(RetryPolicy::exponential(5, Duration::from_millis(1)));
    let id = tasks
        .enqueue_with("send_email", &42, options)
        .await
        .unwrap();
    let failed = tasks.wait(id, BOUND).await.unwrap();
    assert_eq!(failed.status, TaskStatus::Failed);
    assert_eq!(failed.attempts, 1);
    assert!(failed.error.unwrap().contains("does not fit its handler"));
    tree.shutdown().await;
}

#[actix_rt::test]
async fn a_task_with_a_start_time_waits_for_it_without_filling_the_queue() {
    tokio::time::pause();
    let (tree, tasks) = start(TasksConfig {
        queue_capacity: 1,
        ..TasksConfig::default()
    })
    .await;
    let later = tasks
        .submit_with(
            "later",
            TaskOptions::default().run_after(Duration::from_secs(60)),
            |_| async { Ok::<_, std::io::Error>("later") },
        )
        .await
        .unwrap();
    let now = tasks
        .submit_with(
            "now",
            TaskOptions::default().on_full(servitor::tasks::OnFull::Fail),
            |_| async { Ok::<_, std::io::Error>("now") },
        )
        .await
        .unwrap();
    tasks.wait(now, BOUND).await.unwrap();
    assert_eq!(tasks.get(later).unwrap().status, TaskStatus::Pending);
    assert_eq!(tasks.stats().queue_depth, 0);
    tokio::time::advance(Duration::from_secs(61)).await;
    let done = tasks.wait(later, BOUND).await.unwrap();
    assert_eq!(done.result, Some(serde_json::json!("later")));
    // A start time in the past is no wait at all.
    let past = tasks
        .submit_with(
            "past",
            TaskOptions::default().run_at(SystemTime::UNIX_EPOCH),
            |_| async { Ok::<_, std::io::Error>(1) },
        )
        .await
        .unwrap();
    assert_eq!(
        tasks.wait(past, BOUND).await.unwrap().status,
        TaskStatus::Completed
    );
    tree.shutdown().await;
}

/// Written once against the trait; the durable suite runs the same calls
/// on PostgreSQL.
async fn round_trip(queue: &impl TaskQueue) {
    queue
        .handlers()
        .register("double", |_cx: TaskContext, n: i64| async move {
            Ok::<_, std::io::Error>(n * 2)
        });
    let id = queue.enqueue("double", &21).await.unwrap();
    let done = queue.wait(id, BOUND).await.unwrap();
    assert_eq!(done.result, Some(serde_json::json!(42)));
    assert_eq!(queue.task(id).await.unwrap().status, TaskStatus::Completed);
    assert_eq!(queue.tasks(&Default::default()).await.unwrap().len(), 1);
    assert!(!queue.cancel(id).await.unwrap());
}

#[actix_rt::test]
async fn the_task_queue_trait_drives_the_in_memory_service() {
    tokio::time::pause();
    let (tree, tasks) = start(TasksConfig::default()).await;
    round_trip(&tasks).await;
    tree.shutdown().await;
}
