//! Task timeouts, waits and retry delays of any size; a worker that dies
//! with a task in hand settles the task and is replaced.

use servitor::tasks::{
    RetryPolicy, TaskError, TaskOptions, TaskStatus, Tasks, TasksConfig, MAX_WORKERS,
};
use servitor::testing::TestTree;
use servitor::{Backoff, ConfigError};
use std::time::Duration;

const BOUND: Duration = Duration::from_secs(60);

async fn start(config: TasksConfig) -> (TestTree, Tasks) {
    // On the test's own (paused) clock.
    let config = TasksConfig {
        worker_placement: servitor::Placement::Inherit,
        ..config
    };
    let (spec, tasks) = Tasks::service("jobs", config).unwrap();
    (TestTree::start(spec).await.unwrap(), tasks)
}

#[actix_rt::test]
async fn huge_timeouts_and_waits_mean_never_and_the_workers_go_on() {
    tokio::time::pause();
    let (tree, tasks) = start(TasksConfig {
        workers: 1,
        default_timeout: Some(Duration::MAX),
        cancel_grace: Duration::MAX,
        ..TasksConfig::default()
    })
    .await;
    let slow = tasks
        .submit_with(
            "slow",
            TaskOptions::default().timeout(Duration::MAX),
            |_| async {
                tokio::time::sleep(Duration::from_millis(10)).await;
                Ok::<_, String>(1)
            },
        )
        .await
        .unwrap();
    assert_eq!(
        tasks.wait(slow, Duration::MAX).await.unwrap().status,
        TaskStatus::Completed
    );
    let next = tasks
        .submit("next", |_| async { Ok::<_, String>(2) })
        .await
        .unwrap();
    assert_eq!(
        tasks.wait(next, BOUND).await.unwrap().status,
        TaskStatus::Completed
    );
    tree.shutdown().await;
}

#[actix_rt::test]
async fn retry_policies_with_extreme_values_end_in_a_final_status() {
    tokio::time::pause();
    let (tree, tasks) = start(TasksConfig {
        workers: 1,
        ..TasksConfig::default()
    })
    .await;
    let policies = [
        RetryPolicy::exponential(3, Duration::from_millis(1)).jitter(f64::NAN),
        RetryPolicy::exponential(3, Duration::from_millis(1)).jitter(f64::INFINITY),
        RetryPolicy::exponential(70, Duration::from_secs(10)).max_delay(Duration::from_millis(1)),
        RetryPolicy::with_backoff(
            64,
            Backoff::exponential(Duration::from_secs(5), Duration::from_millis(2)),
        ),
        RetryPolicy::exponential(2, Duration::MAX).max_delay(Duration::from_millis(1)),
    ];
    for policy in policies {
        let id = tasks
            .submit_with("flaky", TaskOptions::default().retry(policy), |_| async {
                Err::<(), _>("still failing")
            })
            .await
            .unwrap();
        let done = tasks.wait(id, BOUND).await.unwrap();
        assert_eq!(done.status, TaskStatus::Dead, "{done:?}");
    }
    let after = tasks
        .submit("after", |_| async { Ok::<_, String>(()) })
        .await
        .unwrap();
    assert_eq!(
        tasks.wait(after, BOUND).await.unwrap().status,
        TaskStatus::Completed
    );
    tree.shutdown().await;
}

#[actix_rt::test]
async fn a_worker_that_dies_outside_a_task_settles_it_and_fresh_workers_take_over() {
    tokio::time::pause();
    let (tree, tasks) = start(TasksConfig {
        workers: 1,
        ..TasksConfig::default()
    })
    .await;
    let mut health = tree.watch("jobs");
    // The retry predicate is user code the worker calls after the task ran.
    let id = tasks
        .submit_with(
            "predicate-panics",
            TaskOptions::default().retry(
                RetryPolicy::exponential(3, Duration::from_millis(1))
                    .retry_if(|_| panic!("bad predicate")),
            ),
            |_| async { Err::<(), _>("fails") },
        )
        .await
        .unwrap();
    let done = tasks.wait(id, BOUND).await.unwrap();
    assert_eq!(done.status, TaskStatus::Failed);
    assert_eq!(done.error.as_deref(), Some("the worker running it died"));
    // The incarnation failed and was restarted with a fresh worker.
    health
        .wait_for(servitor::Status::Error, BOUND)
        .await
        .unwrap();
    let next = tasks
        .submit("next", |_| async { Ok::<_, String>(()) })
        .await
        .unwrap();
    assert_eq!(
        tasks.wait(next, BOUND).await.unwrap().status,
        TaskStatus::Completed
    );
    assert!(tree.restarts("jobs") >= 1);
    tree.shutdown().await;
}

#[test]
fn a_million_workers_is_a_typed_error() {
    let err = Tasks::service(
        "jobs",
        TasksConfig {
            workers: 1_000_000,
            ..TasksConfig::default()
        },
    )
    .unwrap_err();
    assert_eq!(err.field_name(), Some("workers"));
    assert!(Tasks::service(
        "jobs",
        TasksConfig {
            workers: MAX_WORKERS,
            ..TasksConfig::default()
        }
    )
    .is_ok());
    let _ = (
        TaskError::Stopped {
            service: String::new(),
        },
        ConfigError::field("a", "b", "c"),
    );
}
