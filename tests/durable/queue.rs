//! One process: named handlers, results, priorities, start times, retries
//! into the dead-letter state, lease expiry, cancellation, unique keys and
//! configuration checks.

use crate::common::{register_double, start, Tables, BOUND};
use servitor::db::{Db, DbConfig, Postgres};
use servitor::kit::Backoff;
use servitor::tasks::durable::{DurableConfig, DurableTasks};
use servitor::tasks::{
    Priority, RetryPolicy, TaskContext, TaskError, TaskFilter, TaskOptions, TaskQueue, TaskStatus,
};
use std::time::{Duration, SystemTime};

#[actix_rt::test]
async fn named_tasks_complete_with_their_results_stored() {
    let Some(tables) = Tables::new("results").await else {
        return;
    };
    let (tree, handles) = start(&tables, |db| {
        vec![DurableTasks::service("jobs", tables.config(), db.clone()).unwrap()]
    })
    .await;
    let tasks = &handles[0];
    register_double(tasks, &tables);

    let ids = [
        tasks.enqueue("double", &1).await.unwrap(),
        tasks.enqueue("double", &21).await.unwrap(),
    ];
    let first = tasks.wait(ids[0], BOUND).await.unwrap();
    assert_eq!(first.status, TaskStatus::Completed);
    assert_eq!(first.result, Some(serde_json::json!(2)));
    assert_eq!(first.attempts, 1);
    assert_eq!(first.name, "double");
    assert!(first.finished_at.is_some());
    let second = TaskQueue::wait(tasks, ids[1], BOUND).await.unwrap();
    assert_eq!(second.result, Some(serde_json::json!(42)));

    // A payload that does not fit fails at once, with the reason.
    let bad = tasks.enqueue("double", &"not a number").await.unwrap();
    let bad = tasks.wait(bad, BOUND).await.unwrap();
    assert_eq!(bad.status, TaskStatus::Failed);
    assert!(
        bad.error.as_deref().unwrap().contains("does not fit"),
        "{bad:?}"
    );
    assert_eq!(bad.attempts, 1);

    let completed = tasks
        .list(&TaskFilter::all().status(TaskStatus::Completed))
        .await
        .unwrap();
    assert_eq!(
        completed.iter().map(|t| t.id).collect::<Vec<_>>(),
        [ids[1], ids[0]]
    );
    assert!(matches!(
        tasks.get(servitor::tasks::TaskId(u64::MAX >> 1)).await,
        Err(TaskError::NotFound { .. })
    ));
    let stats = tasks.stats();
    assert_eq!(stats.completed, 2);
    assert_eq!(stats.failed, 1);
    tree.shutdown().await;
}

#[actix_rt::test]
async fn higher_priorities_are_claimed_first_and_tasks_outlive_the_process_that_queued_them() {
    let Some(tables) = Tables::new("priorities").await else {
        return;
    };
    // A producer with no workers queues, and goes away.
    let producer_config = DurableConfig {
        workers: 0,
        ..tables.config()
    };
    let (tree, handles) = start(&tables, |db| {
        vec![DurableTasks::service("producer", producer_config, db.clone()).unwrap()]
    })
    .await;
    let mut expected = Vec::new();
    let mut by_priority = [Vec::new(), Vec::new(), Vec::new()];
    for (i, p) in [Priority::Low, Priority::Normal, Priority::High]
        .into_iter()
        .cycle()
        .take(9)
        .enumerate()
    {
        let id = handles[0]
            .enqueue_with("double", &(i as i64), TaskOptions::default().priority(p))
            .await
            .unwrap();
        let rank = match p {
            Priority::High => 0,
            Priority::Normal => 1,
            Priority::Low => 2,
        };
        by_priority[rank].push(id.0 as i64);
    }
    for ids in by_priority {
        expected.extend(ids);
    }
    tree.shutdown().await;

    // One worker, one task per claim, starts later and drains them.
    let config = DurableConfig {
        workers: 1,
        claim_batch: 1,
        ..tables.config()
    };
    let (tree, handles) = start(&tables, |db| {
        vec![DurableTasks::service("worker", config, db.clone()).unwrap()]
    })
    .await;
    register_double(&handles[0], &tables);
    let last = servitor::tasks::TaskId(*expected.last().unwrap() as u64);
    handles[0].wait(last, BOUND).await.unwrap();
    let mut conn = tables.connect().await;
    let order: Vec<i64> = servitor::db::sqlx::query_scalar(servitor::db::sqlx::AssertSqlSafe(
        format!("SELECT task_id FROM {}_runs ORDER BY seq", tables.prefix),
    ))
    .fetch_all(&mut conn)
    .await
    .unwrap();
    assert_eq!(order, expected);
    tree.shutdown().await;
}

#[actix_rt::test]
async fn a_scheduled_task_starts_no_earlier_than_its_start_time() {
    let Some(tables) = Tables::new("run_at").await else {
        return;
    };
    let (tree, handles) = start(&tables, |db| {
        vec![DurableTasks::service("jobs", tables.config(), db.clone()).unwrap()]
    })
    .await;
    let tasks = &handles[0];
    register_double(tasks, &tables);
    let later = tasks
        .enqueue_with(
            "double",
            &1,
            TaskOptions::default().run_at(SystemTime::now() + Duration::from_millis(800)),
        )
        .await
        .unwrap();
    assert_eq!(tasks.get(later).await.unwrap().status, TaskStatus::Pending);
    let now = tasks.enqueue("double", &2).await.unwrap();
    tasks.wait(later, BOUND).await.unwrap();
    tasks.wait(now, BOUND).await.unwrap();
    let p = &tables.prefix;
    assert_eq!(
        tables
            .count(&format!(
                "SELECT count(*) FROM {p}_tasks WHERE started_at < run_at"
            ))
            .await,
        0
    );
    // The immediate one ran first although it was queued second.
    assert_eq!(
        tables
            .count(&format!(
                "SELECT task_id FROM {p}_runs ORDER BY seq LIMIT 1"
            ))
            .await,
        now.0 as i64
    );
    tree.shutdown().await;
}

#[actix_rt::test]
async fn failing_tasks_retry_with_backoff_then_are_dead() {
    let Some(tables) = Tables::new("dead").await else {
        return;
    };
    let config = DurableConfig {
        max_attempts: 2,
        backoff: Backoff::constant(Duration::from_millis(10)),
        ..tables.config()
    };
    let (tree, handles) = start(&tables, |db| {
        vec![DurableTasks::service("jobs", config, db.clone()).unwrap()]
    })
    .await;
    let tasks = &handles[0];
    tasks
        .handlers()
        .register("send", |cx: TaskContext, _: ()| async move {
            Err::<(), _>(std::io::Error::other(format!(
                "smtp down (attempt {})",
                cx.attempt()
            )))
        });

    let policy = RetryPolicy::with_backoff(
        3,
        Backoff::exponential(Duration::from_millis(20), Duration::from_millis(100)),
    );
    let with_policy = tasks
        .enqueue_with("send", &(), TaskOptions::default().retry(policy))
        .await
        .unwrap();
    let by_config = tasks.enqueue("send", &()).await.unwrap();

    let dead = tasks.wait(with_policy, BOUND).await.unwrap();
    assert_eq!(dead.status, TaskStatus::Dead);
    assert_eq!(dead.attempts, 3);
    assert_eq!(dead.error.as_deref(), Some("smtp down (attempt 3)"));
    let dead = tasks.wait(by_config, BOUND).await.unwrap();
    assert_eq!(dead.status, TaskStatus::Dead);
    assert_eq!(dead.attempts, 2);

    // The dead-letter state is a status to look tasks up by.
    let dead_letters = tasks
        .list(&TaskFilter::all().status(TaskStatus::Dead))
        .await
        .unwrap();
    assert_eq!(dead_letters.len(), 2);
    let stats = tasks.stats();
    assert_eq!((stats.retries, stats.dead), (3, 2));
    tree.shutdown().await;
}

#[actix_rt::test]
async fn an_expired_lease_is_taken_over_and_the_rerun_counts_as_a_retry() {
    let Some(tables) = Tables::new("lease").await else {
        return;
    };
    let producer_config = DurableConfig {
        workers: 0,
        ..tables.config()
    };
    let (tree, handles) = start(&tables, |db| {
        vec![DurableTasks::service("producer", producer_config, db.clone()).unwrap()]
    })
    .await;
    let rerun = handles[0].enqueue("double", &5).await.unwrap();
    let last_try = handles[0]
        .enqueue_with(
            "double",
            &6,
            TaskOptions::default().retry(RetryPolicy::with_backoff(1, Backoff::none())),
        )
        .await
        .unwrap();
    tree.shutdown().await;
    // A worker that claimed both and vanished without renewing.
    let p = &tables.prefix;
    tables
        .execute(&format!(
            "UPDATE {p}_tasks SET status = 'running', attempts = 1, lease_owner = 'vanished/0', \
             lease_until = now() - interval '1 second', started_at = now()"
        ))
        .await;

    let (tree, handles) = start(&tables, |db| {
        vec![DurableTasks::service("worker", tables.config(), db.clone()).unwrap()]
    })
    .await;
    let tasks = &handles[0];
    register_double(tasks, &tables);
    let done = tasks.wait(rerun, BOUND).await.unwrap();
    assert_eq!(done.status, TaskStatus::Completed);
    assert_eq!(
        done.attempts, 2,
        "the run after the lost lease is attempt 2"
    );
    assert_eq!(done.result, Some(serde_json::json!(10)));
    let dead = tasks.wait(last_try, BOUND).await.unwrap();
    assert_eq!(dead.status, TaskStatus::Dead);
    assert!(
        dead.error.as_deref().unwrap().contains("lease expired"),
        "{dead:?}"
    );
    assert_eq!(
        tables
            .count(&format!("SELECT sum(lost_leases)::int8 FROM {p}_tasks"))
            .await,
        2
    );
    assert!(tasks.stats().expired >= 1);
    tree.shutdown().await;
}

#[actix_rt::test]
async fn pending_tasks_cancel_and_unique_keys_queue_once() {
    let Some(tables) = Tables::new("cancel").await else {
        return;
    };
    let (tree, handles) = start(&tables, |db| {
        vec![DurableTasks::service("jobs", tables.config(), db.clone()).unwrap()]
    })
    .await;
    let tasks = &handles[0];
    register_double(tasks, &tables);
    let options = TaskOptions::default()
        .run_after(Duration::from_secs(3600))
        .unique_key("nightly");
    let id = tasks
        .enqueue_with("double", &1, options.clone())
        .await
        .unwrap();
    assert_eq!(
        tasks
            .enqueue_with("double", &1, options.clone())
            .await
            .unwrap(),
        id
    );
    assert!(tasks.cancel(id).await.unwrap());
    assert_eq!(tasks.get(id).await.unwrap().status, TaskStatus::Cancelled);
    assert!(!tasks.cancel(id).await.unwrap());
    // The key is free again once its task is final.
    assert_ne!(tasks.enqueue_with("double", &1, options).await.unwrap(), id);

    // A running task is asked to stop through its token.
    tasks
        .handlers()
        .register("sleep", |cx: TaskContext, _: ()| async move {
            cx.cancelled().await;
            Ok::<_, std::io::Error>("stopped")
        });
    let sleeper = tasks.enqueue("sleep", &()).await.unwrap();
    tokio::time::timeout(BOUND, async {
        while tasks.get(sleeper).await.unwrap().status != TaskStatus::Running {
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    })
    .await
    .unwrap();
    assert!(tasks.cancel(sleeper).await.unwrap());
    assert_eq!(
        tasks.wait(sleeper, BOUND).await.unwrap().status,
        TaskStatus::Cancelled
    );
    tree.shutdown().await;
}

#[test]
fn configuration_is_checked_before_start_and_names_the_field() {
    let (_spec, db) =
        Db::<Postgres>::service("db", DbConfig::url("postgres://u@127.0.0.1/x")).unwrap();
    let field = |config: DurableConfig| {
        DurableTasks::service("jobs", config, db.clone())
            .unwrap_err()
            .field_name()
            .map(str::to_string)
    };
    let base = DurableConfig::default();
    let cases = [
        (
            DurableConfig {
                workers: 2000,
                ..base.clone()
            },
            "workers",
        ),
        (
            DurableConfig {
                claim_batch: 0,
                ..base.clone()
            },
            "claim_batch",
        ),
        (
            DurableConfig {
                lease: Duration::from_millis(5),
                ..base.clone()
            },
            "lease",
        ),
        (
            DurableConfig {
                renew_interval: Duration::from_secs(60),
                ..base.clone()
            },
            "renew_interval",
        ),
        (
            DurableConfig {
                max_attempts: 0,
                ..base.clone()
            },
            "max_attempts",
        ),
        (
            DurableConfig {
                table_prefix: "Drop Table".into(),
                ..base.clone()
            },
            "table_prefix",
        ),
        (
            DurableConfig {
                backoff: Backoff::constant(Duration::from_secs(1)).factor(0.5),
                ..base.clone()
            },
            "backoff.factor",
        ),
        (
            DurableConfig {
                queue: Some(String::new()),
                ..base.clone()
            },
            "queue",
        ),
    ];
    for (config, name) in cases {
        assert_eq!(field(config).as_deref(), Some(name));
    }
}

/// The same calls as the in-memory suite's, through the trait.
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
    assert_eq!(queue.tasks(&TaskFilter::all()).await.unwrap().len(), 1);
    assert!(!queue.cancel(id).await.unwrap());
}

#[actix_rt::test]
async fn the_task_queue_trait_drives_the_durable_service() {
    let Some(tables) = Tables::new("trait").await else {
        return;
    };
    let (tree, handles) = start(&tables, |db| {
        vec![DurableTasks::service("jobs", tables.config(), db.clone()).unwrap()]
    })
    .await;
    round_trip(&handles[0]).await;
    tree.shutdown().await;
}

#[actix_rt::test]
async fn operations_before_the_service_starts_are_refused_with_a_typed_error() {
    let (_spec, db) =
        Db::<Postgres>::service("db", DbConfig::url("postgres://u@127.0.0.1/x")).unwrap();
    let (_tasks_spec, tasks) = DurableTasks::service("jobs", DurableConfig::default(), db).unwrap();
    let not_started = TaskError::NotStarted {
        service: "jobs".into(),
    };
    assert_eq!(tasks.enqueue("send", &1).await.unwrap_err(), not_started);
    assert_eq!(
        tasks.get(servitor::tasks::TaskId(1)).await.unwrap_err(),
        not_started
    );
    assert_eq!(
        tasks.cancel(servitor::tasks::TaskId(1)).await.unwrap_err(),
        not_started
    );
}
