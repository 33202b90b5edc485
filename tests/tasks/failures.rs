//! How tasks fail: panics, timeouts, retries with exponential backoff into
//! the dead set, and cancellation of pending and running tasks.

use crate::support::tasks::{held, start};

use servitor::tasks::{RetryPolicy, TaskOptions, TaskStatus, TasksConfig};
use std::convert::Infallible;
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::sync::watch;
use tokio::time::Instant;

const BOUND: Duration = Duration::from_secs(60);

fn one_worker() -> TasksConfig {
    TasksConfig {
        workers: 1,
        ..TasksConfig::default()
    }
}

#[derive(Debug, thiserror::Error)]
#[error("transient: {0}")]
struct Transient(u32);

#[derive(Debug, thiserror::Error)]
#[error("permanent")]
struct Permanent;

#[actix_rt::test]
async fn a_panicking_task_fails_with_the_panic_message_and_the_worker_survives() {
    tokio::time::pause();
    let (tree, tasks) = start(one_worker()).await;
    let boom = tasks
        .submit("boom", |_| async {
            if true {
                panic!("kaboom {}", 42);
            }
            Ok::<_, Infallible>(())
        })
        .await
        .unwrap();
    let blocking_boom = tasks
        .submit_blocking("blocking-boom", |_| -> Result<(), Infallible> {
            panic!("blocking kaboom")
        })
        .await
        .unwrap();
    let after = tasks
        .submit("after", |_| async { Ok::<_, Infallible>("still here") })
        .await
        .unwrap();
    let done = tasks.wait(boom, BOUND).await.unwrap();
    assert_eq!(done.status, TaskStatus::Failed);
    assert_eq!(done.error.as_deref(), Some("panicked: kaboom 42"));
    let done = tasks.wait(blocking_boom, BOUND).await.unwrap();
    assert_eq!(done.status, TaskStatus::Failed);
    assert_eq!(done.error.as_deref(), Some("panicked: blocking kaboom"));
    // The single worker lived on to run the next task.
    let done = tasks.wait(after, BOUND).await.unwrap();
    assert_eq!(done.status, TaskStatus::Completed);
    assert_eq!(tree.restarts("jobs"), 0);
    tree.shutdown().await;
}

#[actix_rt::test]
async fn a_task_over_its_timeout_is_aborted_as_timed_out_and_not_retried() {
    tokio::time::pause();
    let (tree, tasks) = start(TasksConfig::default()).await;
    let runs = Arc::new(AtomicU32::new(0));
    let counted = runs.clone();
    let started = Instant::now();
    let id = tasks
        .submit_with(
            "slow",
            TaskOptions::default()
                .timeout(Duration::from_secs(2))
                .retry(RetryPolicy::exponential(3, Duration::from_secs(1))),
            move |_| {
                counted.fetch_add(1, Ordering::SeqCst);
                async {
                    tokio::time::sleep(Duration::from_secs(3600)).await;
                    Ok::<_, Infallible>(())
                }
            },
        )
        .await
        .unwrap();
    let done = tasks.wait(id, BOUND).await.unwrap();
    assert_eq!(done.status, TaskStatus::TimedOut);
    assert_eq!(done.error.as_deref(), Some("timed out after 2s"));
    assert_eq!(runs.load(Ordering::SeqCst), 1);
    let took = started.elapsed();
    assert!(
        took >= Duration::from_secs(2) && took < Duration::from_secs(3),
        "{took:?}"
    );
    tree.shutdown().await;
}

#[actix_rt::test]
async fn the_config_default_timeout_applies_to_tasks_without_one() {
    tokio::time::pause();
    let (tree, tasks) = start(TasksConfig {
        default_timeout: Some(Duration::from_millis(500)),
        ..TasksConfig::default()
    })
    .await;
    let id = tasks
        .submit("slow", |_| async {
            tokio::time::sleep(Duration::from_secs(10)).await;
            Ok::<_, Infallible>(())
        })
        .await
        .unwrap();
    assert_eq!(
        tasks.wait(id, BOUND).await.unwrap().status,
        TaskStatus::TimedOut
    );
    tree.shutdown().await;
}

#[actix_rt::test]
async fn retries_back_off_exponentially_and_a_later_success_completes() {
    tokio::time::pause();
    let (tree, tasks) = start(TasksConfig::default()).await;
    let times = Arc::new(Mutex::new(Vec::new()));
    let seen = times.clone();
    let id = tasks
        .submit_with(
            "flaky",
            TaskOptions::default()
                .retry(RetryPolicy::exponential(5, Duration::from_millis(100)).jitter(0.0)),
            move |cx| {
                seen.lock().unwrap().push(Instant::now());
                async move {
                    if cx.attempt() < 4 {
                        Err(Transient(cx.attempt()))
                    } else {
                        Ok(cx.attempt())
                    }
                }
            },
        )
        .await
        .unwrap();
    let done = tasks.wait(id, BOUND).await.unwrap();
    assert_eq!(done.status, TaskStatus::Completed);
    assert_eq!(done.attempts, 4);
    assert_eq!(done.result, Some(serde_json::json!(4)));
    let times = times.lock().unwrap().clone();
    let gaps: Vec<u128> = times
        .windows(2)
        .map(|w| (w[1] - w[0]).as_millis())
        .collect();
    // The paused clock fires timers on the next millisecond tick.
    assert_eq!(gaps.len(), 3);
    for (gap, base) in gaps.iter().zip([100, 200, 400]) {
        assert!((base..=base + 2).contains(gap), "{gaps:?}");
    }
    assert_eq!(tasks.stats().retries, 3);
    tree.shutdown().await;
}

#[actix_rt::test]
async fn jitter_only_shortens_delays_and_max_delay_caps_them() {
    let policy = RetryPolicy::exponential(10, Duration::from_millis(100))
        .max_delay(Duration::from_millis(500));
    assert_eq!(policy.base_delay(1), Duration::from_millis(100));
    assert_eq!(policy.base_delay(2), Duration::from_millis(200));
    assert_eq!(policy.base_delay(3), Duration::from_millis(400));
    assert_eq!(policy.base_delay(4), Duration::from_millis(500));
    assert_eq!(policy.base_delay(60), Duration::from_millis(500));

    tokio::time::pause();
    let (tree, tasks) = start(TasksConfig::default()).await;
    let times = Arc::new(Mutex::new(Vec::new()));
    let seen = times.clone();
    let id = tasks
        .submit_with(
            "jittery",
            TaskOptions::default()
                .retry(RetryPolicy::exponential(4, Duration::from_millis(1000)).jitter(0.5)),
            move |_| {
                seen.lock().unwrap().push(Instant::now());
                async { Err::<(), _>(Transient(0)) }
            },
        )
        .await
        .unwrap();
    tasks.wait(id, BOUND).await.unwrap();
    let times = times.lock().unwrap().clone();
    for (i, w) in times.windows(2).enumerate() {
        let base = 1000u128 << i;
        let gap = (w[1] - w[0]).as_millis();
        assert!(
            gap <= base + 2 && gap >= base / 2,
            "gap {gap} for base {base}"
        );
    }
    tree.shutdown().await;
}

#[actix_rt::test]
async fn exhausted_retries_make_the_task_dead_with_the_last_error() {
    tokio::time::pause();
    let (tree, tasks) = start(TasksConfig::default()).await;
    let id = tasks
        .submit_with(
            "doomed",
            TaskOptions::default().retry(RetryPolicy::exponential(3, Duration::from_millis(10))),
            |cx| async move { Err::<(), _>(Transient(cx.attempt())) },
        )
        .await
        .unwrap();
    // While waiting for its backoff it is pending, with the error so far.
    let done = tasks.wait(id, BOUND).await.unwrap();
    assert_eq!(done.status, TaskStatus::Dead);
    assert_eq!(done.attempts, 3);
    assert_eq!(done.error.as_deref(), Some("transient: 3"));
    assert_eq!(tasks.stats().dead, 1);
    tree.shutdown().await;
}

#[actix_rt::test]
async fn the_retry_predicate_decides_which_errors_are_retried() {
    tokio::time::pause();
    let (tree, tasks) = start(TasksConfig::default()).await;
    let policy = RetryPolicy::exponential(5, Duration::from_millis(10))
        .retry_if(|e| e.downcast_ref::<Transient>().is_some());
    let id = tasks
        .submit_with(
            "mixed",
            TaskOptions::default().retry(policy),
            |cx| async move {
                if cx.attempt() == 1 {
                    Err::<(), Box<dyn std::error::Error + Send + Sync>>(Box::new(Transient(1)))
                } else {
                    Err(Box::new(Permanent) as Box<dyn std::error::Error + Send + Sync>)
                }
            },
        )
        .await
        .unwrap();
    let done = tasks.wait(id, BOUND).await.unwrap();
    // Retried once (transient), then failed at once (permanent): not dead.
    assert_eq!(done.status, TaskStatus::Failed);
    assert_eq!(done.attempts, 2);
    assert_eq!(done.error.as_deref(), Some("permanent"));
    tree.shutdown().await;
}

#[actix_rt::test]
async fn cancelling_a_pending_task_cancels_it_before_it_runs() {
    tokio::time::pause();
    let (tree, tasks) = start(one_worker()).await;
    let (open, rx) = watch::channel(false);
    let blocker = held(&tasks, "blocker", rx).await;
    tokio::time::sleep(Duration::from_millis(1)).await;
    let ran = Arc::new(AtomicU32::new(0));
    let counted = ran.clone();
    let pending = tasks
        .submit("pending", move |_| {
            counted.fetch_add(1, Ordering::SeqCst);
            async { Ok::<_, Infallible>(()) }
        })
        .await
        .unwrap();
    assert!(tasks.cancel(pending).unwrap());
    let info = tasks.get(pending).unwrap();
    assert_eq!(info.status, TaskStatus::Cancelled);
    assert_eq!(tasks.stats().queue_depth, 0);
    open.send(true).unwrap();
    tasks.wait(blocker, BOUND).await.unwrap();
    let after = tasks
        .submit("after", |_| async { Ok::<_, Infallible>(()) })
        .await
        .unwrap();
    tasks.wait(after, BOUND).await.unwrap();
    assert_eq!(ran.load(Ordering::SeqCst), 0);
    // Cancelling a finished task is a no-op that says so.
    assert!(!tasks.cancel(pending).unwrap());
    assert!(!tasks.cancel(after).unwrap());
    tree.shutdown().await;
}

#[actix_rt::test]
async fn a_running_task_sees_its_cancellation_token_and_ends_cancelled() {
    tokio::time::pause();
    let (tree, tasks) = start(TasksConfig::default()).await;
    let (seen_tx, seen_rx) = watch::channel(false);
    let id = tasks
        .submit("loop", move |cx| {
            let seen = seen_tx.clone();
            async move {
                cx.cancelled().await;
                seen.send_replace(true);
                Ok::<_, Infallible>(())
            }
        })
        .await
        .unwrap();
    tokio::time::sleep(Duration::from_millis(1)).await;
    assert_eq!(tasks.get(id).unwrap().status, TaskStatus::Running);
    let started = Instant::now();
    assert!(tasks.cancel(id).unwrap());
    let done = tasks.wait(id, BOUND).await.unwrap();
    assert_eq!(done.status, TaskStatus::Cancelled);
    assert!(*seen_rx.borrow());
    // It stopped by itself, well before the grace period.
    assert!(started.elapsed() < TasksConfig::default().cancel_grace);
    tree.shutdown().await;
}

#[actix_rt::test]
async fn a_running_task_that_ignores_cancellation_is_aborted_after_the_grace_period() {
    tokio::time::pause();
    let grace = Duration::from_secs(2);
    let (tree, tasks) = start(TasksConfig {
        cancel_grace: grace,
        workers: 1,
        ..TasksConfig::default()
    })
    .await;
    let id = tasks
        .submit("stubborn", |_| async {
            tokio::time::sleep(Duration::from_secs(3600)).await;
            Ok::<_, Infallible>(())
        })
        .await
        .unwrap();
    tokio::time::sleep(Duration::from_millis(1)).await;
    let started = Instant::now();
    tasks.cancel(id).unwrap();
    let done = tasks.wait(id, BOUND).await.unwrap();
    assert_eq!(done.status, TaskStatus::Cancelled);
    let took = started.elapsed();
    assert!(
        took >= grace && took <= grace + Duration::from_millis(5),
        "{took:?}"
    );
    // The worker is free again.
    let next = tasks
        .submit("next", |_| async { Ok::<_, Infallible>(()) })
        .await
        .unwrap();
    assert_eq!(
        tasks.wait(next, BOUND).await.unwrap().status,
        TaskStatus::Completed
    );
    tree.shutdown().await;
}

#[actix_rt::test]
async fn cancelling_a_task_waiting_for_its_retry_stops_the_retries() {
    tokio::time::pause();
    let (tree, tasks) = start(TasksConfig::default()).await;
    let runs = Arc::new(AtomicU32::new(0));
    let counted = runs.clone();
    let id = tasks
        .submit_with(
            "retrying",
            TaskOptions::default()
                .retry(RetryPolicy::exponential(5, Duration::from_secs(10)).jitter(0.0)),
            move |_| {
                counted.fetch_add(1, Ordering::SeqCst);
                async { Err::<(), _>(Transient(0)) }
            },
        )
        .await
        .unwrap();
    tokio::time::sleep(Duration::from_secs(1)).await;
    let info = tasks.get(id).unwrap();
    assert_eq!(info.status, TaskStatus::Pending);
    assert_eq!(info.error.as_deref(), Some("transient: 0"));
    assert!(tasks.cancel(id).unwrap());
    tokio::time::sleep(Duration::from_secs(60)).await;
    assert_eq!(tasks.get(id).unwrap().status, TaskStatus::Cancelled);
    assert_eq!(runs.load(Ordering::SeqCst), 1);
    tree.shutdown().await;
}

#[actix_rt::test]
async fn a_blocking_task_over_its_timeout_is_timed_out_and_sees_its_token_cancelled() {
    let (tree, tasks) = start(TasksConfig::default()).await;
    let (saw_tx, saw_rx) = std::sync::mpsc::channel::<bool>();
    let saw_tx = Mutex::new(saw_tx);
    let id = tasks
        .submit_blocking_with(
            "spin",
            TaskOptions::default().timeout(Duration::from_millis(50)),
            move |cx| {
                // Polls its token the way CPU-bound loops do.
                let started = std::time::Instant::now();
                while !cx.is_cancelled() && started.elapsed() < Duration::from_secs(10) {
                    std::thread::yield_now();
                }
                let _ = saw_tx.lock().unwrap().send(cx.is_cancelled());
                Ok::<_, Infallible>(())
            },
        )
        .await
        .unwrap();
    let done = tasks.wait(id, Duration::from_secs(10)).await.unwrap();
    assert_eq!(done.status, TaskStatus::TimedOut);
    let saw = tokio::task::spawn_blocking(move || saw_rx.recv_timeout(Duration::from_secs(10)))
        .await
        .unwrap();
    assert_eq!(saw, Ok(true));
    tree.shutdown().await;
}

#[actix_rt::test]
async fn failures_retries_and_dead_tasks_are_logged_with_the_service_and_task() {
    tokio::time::pause();
    let logs = crate::support::log_capture::LogCapture::start_at(tracing::Level::INFO);
    let (tree, tasks) = start(one_worker()).await;
    let id = tasks
        .submit_with(
            "flaky",
            TaskOptions::default().retry(RetryPolicy::exponential(2, Duration::from_millis(10))),
            |cx| async move { Err::<(), _>(Transient(cx.attempt())) },
        )
        .await
        .unwrap();
    assert_eq!(
        tasks.wait(id, BOUND).await.unwrap().status,
        TaskStatus::Dead
    );
    let plain = tasks
        .submit("broken", |_| async { Err::<(), _>("no input") })
        .await
        .unwrap();
    tasks.wait(plain, BOUND).await.unwrap();
    let retry = logs.line(&["task failed; retrying"]);
    assert!(
        retry.contains("service=jobs") && retry.contains("name=flaky"),
        "{retry}"
    );
    let dead = logs.line(&["task dead"]);
    assert!(
        dead.contains("WARN") && dead.contains("name=flaky"),
        "{dead}"
    );
    let failed = logs.line(&["task failed", "broken"]);
    assert!(
        failed.contains("WARN") && failed.contains("no input"),
        "{failed}"
    );
    tree.shutdown().await;
}
