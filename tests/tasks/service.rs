//! The task service as a supervised service: health details and statuses,
//! degraded on a high failure rate, pending tasks surviving an actor crash,
//! blocking work not stalling siblings, config errors naming the field,
//! and a typed error once the service is gone for good.

use crate::support::tasks::{held, release, start};

use actix::prelude::*;
use servitor::kit::NameError;
use servitor::tasks::{TaskError, TaskStatus, Tasks, TasksConfig, TasksService};
use servitor::testing::TestTree;
use servitor::ConfigError;
use servitor::{ChildSpec, Service, ServiceContext, Status, Supervisor};
use std::convert::Infallible;
use std::sync::{mpsc, Arc, Mutex};
use std::time::Duration;
use tokio::sync::watch;

const BOUND: Duration = Duration::from_secs(5);
const HEALTH: Duration = Duration::from_millis(100);

fn config() -> TasksConfig {
    TasksConfig {
        health_interval: HEALTH,
        ..TasksConfig::default()
    }
}

#[actix_rt::test]
async fn health_shows_queue_depth_and_busy_then_idle_workers() {
    tokio::time::pause();
    let (tree, tasks) = start(TasksConfig {
        workers: 2,
        ..config()
    })
    .await;
    assert_eq!(tree.status("jobs"), Some(Status::Idle));
    let (open, rx) = watch::channel(false);
    for _ in 0..3 {
        held(&tasks, "held", rx.clone()).await;
    }
    tokio::time::sleep(HEALTH * 2).await;
    let report = tree.runtime().registry().get("jobs").unwrap();
    assert_eq!(report.status, Status::Busy);
    assert_eq!(report.details["queue_depth"], 1);
    assert_eq!(report.details["workers"], 2);
    assert_eq!(report.details["busy_workers"], 2);
    assert_eq!(report.details["idle_workers"], 0);
    assert_eq!(report.details["submitted"], 3);

    open.send(true).unwrap();
    tokio::time::sleep(HEALTH * 2).await;
    let report = tree.runtime().registry().get("jobs").unwrap();
    assert_eq!(report.status, Status::Idle);
    assert_eq!(report.details["queue_depth"], 0);
    assert_eq!(report.details["busy_workers"], 0);
    assert_eq!(report.details["idle_workers"], 2);
    assert_eq!(report.details["completed"], 3);
    assert_eq!(report.details["failure_rate"], 0.0);
    tree.shutdown().await;
}

#[actix_rt::test]
async fn a_high_failure_rate_is_degraded_until_successes_bring_it_down() {
    tokio::time::pause();
    let (tree, tasks) = start(TasksConfig {
        failure_window: 4,
        degraded_failure_rate: 0.5,
        ..config()
    })
    .await;
    let mut watch = tree.watch("jobs");
    let mut last = None;
    for _ in 0..4 {
        last = Some(
            tasks
                .submit("bad", |_| async { Err::<(), _>("nope") })
                .await
                .unwrap(),
        );
    }
    tasks.wait(last.unwrap(), BOUND).await.unwrap();
    let change = watch.wait_for(Status::Degraded, BOUND).await.unwrap();
    assert_eq!(
        change.message.as_deref(),
        Some("100% of the last 4 tasks failed")
    );
    for _ in 0..3 {
        last = Some(
            tasks
                .submit("good", |_| async { Ok::<_, Infallible>(()) })
                .await
                .unwrap(),
        );
    }
    tasks.wait(last.unwrap(), BOUND).await.unwrap();
    // One failure in the last four: below the threshold again.
    watch.wait_for(Status::Idle, BOUND).await.unwrap();
    assert_eq!(tasks.stats().failure_rate, 0.25);
    tree.shutdown().await;
}

#[actix_rt::test]
async fn pending_tasks_survive_a_crash_of_the_service_actor_and_run_after_restart() {
    tokio::time::pause();
    let (tree, tasks) = start(TasksConfig {
        workers: 1,
        ..config()
    })
    .await;
    let (open, rx) = watch::channel(false);
    let running = held(&tasks, "held", rx.clone()).await;
    tokio::time::sleep(Duration::from_millis(1)).await;
    let pending = tasks
        .submit("pending", |_| async { Ok::<_, Infallible>("ran") })
        .await
        .unwrap();
    let mut watch = tree.watch("jobs");
    tree.crash("jobs", "injected").await.unwrap();
    // The handle works while the actor is down.
    let during = tasks
        .submit("during", |_| async { Ok::<_, Infallible>("ran too") })
        .await
        .unwrap();
    watch.wait_for(Status::Error, BOUND).await.unwrap();
    watch
        .wait_until(|c| c.status.is_healthy(), Status::Idle, BOUND)
        .await
        .unwrap();
    assert_eq!(tree.restarts("jobs"), 1);
    // The new incarnation's worker takes the pending tasks.
    for id in [pending, during] {
        let done = tasks.wait(id, BOUND).await.unwrap();
        assert_eq!(done.status, TaskStatus::Completed);
    }
    // The task running at the crash was not interrupted.
    release(&tasks, running, &open).await;
    tree.shutdown().await;
}

#[actix_rt::test]
async fn the_task_actor_is_an_ordinary_service_reachable_by_name() {
    let (tree, _tasks) = start(config()).await;
    let actor = tree.runtime().service::<TasksService>("jobs").unwrap();
    assert!(actor.is_up());
    tree.shutdown().await;
}

/// A sibling that ticks on the same arbiter as the task workers.
struct Ticker {
    ticks: watch::Sender<Vec<std::time::Instant>>,
}
impl Actor for Ticker {
    type Context = Context<Self>;
}
impl Service for Ticker {
    fn start(
        &mut self,
        _cx: &ServiceContext,
        ctx: &mut Context<Self>,
    ) -> ResponseActFuture<Self, Result<(), servitor::BoxError>> {
        ctx.run_interval(Duration::from_millis(10), |act, _| {
            act.ticks.send_modify(|t| t.push(std::time::Instant::now()));
        });
        Box::pin(actix::fut::ready(Ok(())))
    }
}

#[actix_rt::test]
async fn blocking_work_runs_off_the_arbiter_so_a_sibling_keeps_its_interval() {
    // Real time: a paused clock does not advance while blocking work runs.
    let (spec, tasks) = Tasks::service("jobs", config()).unwrap();
    let (ticks_tx, mut ticks) = watch::channel(Vec::new());
    let ticks_tx = Arc::new(Mutex::new(Some(ticks_tx)));
    let tree = TestTree::start_tree(Supervisor::builder("root").child(spec).child(
        ChildSpec::service("ticker", move || Ticker {
            ticks: ticks_tx.lock().unwrap().take().expect("started once"),
        }),
    ))
    .await
    .unwrap();
    let (release, held) = mpsc::channel::<()>();
    let held = Mutex::new(held);
    let id = tasks
        .submit_blocking("crunch", move |_| {
            // Stands for long CPU-bound work: blocks its thread until released.
            held.lock()
                .unwrap()
                .recv_timeout(Duration::from_secs(10))
                .map_err(|e| e.to_string())
        })
        .await
        .unwrap();
    let before = ticks.borrow_and_update().len();
    tokio::time::timeout(BOUND, ticks.wait_for(|t| t.len() >= before + 10))
        .await
        .expect("the sibling ticks while the blocking task runs")
        .unwrap();
    assert_eq!(tasks.get(id).unwrap().status, TaskStatus::Running);
    let stamps = ticks.borrow().clone();
    let worst = stamps[before..]
        .windows(2)
        .map(|w| w[1] - w[0])
        .max()
        .unwrap();
    assert!(
        worst < Duration::from_millis(250),
        "a tick gap of {worst:?}"
    );
    release.send(()).unwrap();
    assert_eq!(
        tasks.wait(id, BOUND).await.unwrap().status,
        TaskStatus::Completed
    );
    tree.shutdown().await;
}

#[actix_rt::test]
async fn once_the_runtime_shut_down_submits_are_refused_and_pending_tasks_cancelled() {
    tokio::time::pause();
    let (tree, tasks) = start(TasksConfig {
        workers: 1,
        ..config()
    })
    .await;
    let (_open, rx) = watch::channel(false);
    held(&tasks, "held", rx.clone()).await;
    tokio::time::sleep(Duration::from_millis(1)).await;
    let pending = tasks
        .submit("pending", |_| async { Ok::<_, Infallible>(()) })
        .await
        .unwrap();
    tree.shutdown().await;
    tokio::task::yield_now().await;
    let info = tasks.get(pending).unwrap();
    assert_eq!(info.status, TaskStatus::Cancelled);
    assert_eq!(info.error.as_deref(), Some("task service stopped"));
    assert_eq!(
        tasks
            .submit("late", |_| async { Ok::<_, Infallible>(()) })
            .await,
        Err(TaskError::Stopped {
            service: "jobs".into()
        })
    );
}

#[test]
fn an_invalid_config_is_a_typed_error_naming_the_field() {
    let bad = |config: TasksConfig| Tasks::service("jobs", config).unwrap_err();
    let field = |e: ConfigError| match e.field_name() {
        Some(field) => field.to_string(),
        None => panic!("unexpected {e:?}"),
    };
    let d = TasksConfig::default;
    assert_eq!(field(bad(TasksConfig { workers: 0, ..d() })), "workers");
    assert_eq!(
        field(bad(TasksConfig {
            queue_capacity: 0,
            ..d()
        })),
        "queue_capacity"
    );
    assert_eq!(
        field(bad(TasksConfig {
            default_timeout: Some(Duration::ZERO),
            ..d()
        })),
        "default_timeout"
    );
    assert_eq!(
        field(bad(TasksConfig {
            retain_finished: 0,
            ..d()
        })),
        "retain_finished"
    );
    assert_eq!(
        field(bad(TasksConfig {
            retain_for: Some(Duration::ZERO),
            ..d()
        })),
        "retain_for"
    );
    assert_eq!(
        field(bad(TasksConfig {
            health_interval: Duration::ZERO,
            ..d()
        })),
        "health_interval"
    );
    assert_eq!(
        field(bad(TasksConfig {
            failure_window: 0,
            ..d()
        })),
        "failure_window"
    );
    assert_eq!(
        field(bad(TasksConfig {
            degraded_failure_rate: 1.5,
            ..d()
        })),
        "degraded_failure_rate"
    );
    assert!(matches!(
        Tasks::service("", d()).unwrap_err(),
        ConfigError::InvalidName {
            problem: NameError::Empty,
            ..
        }
    ));
    let message = bad(TasksConfig { workers: 0, ..d() }).to_string();
    assert!(message.contains("`workers`"), "{message}");
}

#[test]
fn the_config_deserializes_with_documented_defaults() {
    let config: TasksConfig =
        serde_json::from_str(r#"{ "workers": 8, "default_timeout": 30000, "retain_for": null }"#)
            .unwrap();
    assert_eq!(config.workers, 8);
    assert_eq!(config.default_timeout, Some(Duration::from_secs(30)));
    assert_eq!(
        config.queue_capacity,
        servitor::tasks::DEFAULT_QUEUE_CAPACITY
    );
    assert_eq!(config.cancel_grace, servitor::tasks::DEFAULT_CANCEL_GRACE);
    assert_eq!(config.retain_finished, 10_000);
    assert_eq!(config.retain_for, None);
    assert_eq!(config.health_interval, Duration::from_secs(1));
    assert_eq!(
        config,
        TasksConfig {
            workers: 8,
            default_timeout: Some(Duration::from_secs(30)),
            ..TasksConfig::default()
        }
    );
    assert!(serde_json::from_str::<TasksConfig>(r#"{ "wokers": 8 }"#).is_err());
}

#[actix_rt::test]
async fn some_workers_busy_is_ok_and_all_busy_is_busy() {
    tokio::time::pause();
    let (tree, tasks) = start(TasksConfig {
        workers: 2,
        ..config()
    })
    .await;
    let (open, rx) = watch::channel(false);
    held(&tasks, "held", rx.clone()).await;
    tokio::time::sleep(HEALTH * 2).await;
    assert_eq!(tree.status("jobs"), Some(Status::Ok));
    held(&tasks, "held", rx.clone()).await;
    tokio::time::sleep(HEALTH * 2).await;
    assert_eq!(tree.status("jobs"), Some(Status::Busy));
    open.send(true).unwrap();
    tokio::time::sleep(HEALTH * 2).await;
    assert_eq!(tree.status("jobs"), Some(Status::Idle));
    tree.shutdown().await;
}

#[actix_rt::test]
async fn a_spec_dropped_unstarted_stops_the_service_for_good() {
    let (spec, tasks) = Tasks::service("jobs", config()).unwrap();
    drop(spec);
    assert_eq!(
        tasks
            .submit("late", |_| async { Ok::<_, Infallible>(()) })
            .await,
        Err(TaskError::Stopped {
            service: "jobs".into()
        })
    );
}
