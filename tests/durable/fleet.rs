//! Many processes on one queue: three worker processes drain 10,000 tasks
//! while one of them is killed (SIGKILL) and started again.
//!
//! The worker processes are this test binary run again with
//! [`WORKER_ENV`] set, running only [`fleet_worker_process`].

use crate::common::{register_double, start, Tables, BOUND};
use servitor::tasks::durable::{DurableConfig, DurableTasks};
use std::process::Stdio;
use std::time::Duration;
use tokio::process::{Child, Command};

/// Set (to the table prefix) in a worker process.
const WORKER_ENV: &str = "SERVITOR_DURABLE_FLEET_WORKER";
const TASKS: i64 = 10_000;
const WORKERS_PER_PROCESS: usize = 4;

fn worker_config(tables: &Tables) -> DurableConfig {
    DurableConfig {
        workers: WORKERS_PER_PROCESS,
        claim_batch: 4,
        lease: Duration::from_secs(3),
        renew_interval: Duration::from_millis(500),
        ..tables.config()
    }
}

/// Not a test on its own: the body of a worker process. Without
/// [`WORKER_ENV`] it returns at once.
#[actix_rt::test]
async fn fleet_worker_process() {
    let Ok(prefix) = std::env::var(WORKER_ENV) else {
        return;
    };
    let url = std::env::var("DATABASE_URL").expect("the parent passes DATABASE_URL");
    let tables = Tables { url, prefix };
    let (_tree, handles) = start(&tables, |db| {
        vec![DurableTasks::service("worker", worker_config(&tables), db.clone()).unwrap()]
    })
    .await;
    register_double(&handles[0], &tables);
    // Runs until the parent kills it.
    std::future::pending::<()>().await;
}

fn spawn_worker(tables: &Tables) -> Child {
    Command::new(std::env::current_exe().expect("this test binary"))
        .args(["fleet::fleet_worker_process", "--exact", "--nocapture"])
        .env(WORKER_ENV, &tables.prefix)
        .env("DATABASE_URL", &tables.url)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .kill_on_drop(true)
        .spawn()
        .expect("a worker process")
}

async fn until(tables: &Tables, sql: &str, done: impl Fn(i64) -> bool) -> i64 {
    tokio::time::timeout(Duration::from_secs(300), async {
        loop {
            let n = tables.count(sql).await;
            if done(n) {
                return n;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    })
    .await
    .unwrap_or_else(|_| panic!("`{sql}` never reached the expected value"))
}

#[actix_rt::test]
async fn three_worker_processes_drain_ten_thousand_tasks_while_one_is_killed_and_restarted() {
    let Some(tables) = Tables::new("fleet").await else {
        return;
    };
    let p = tables.prefix.clone();
    // This process only queues.
    let producer = DurableConfig {
        workers: 0,
        ..tables.config()
    };
    let (tree, handles) = start(&tables, |db| {
        vec![DurableTasks::service("producer", producer, db.clone()).unwrap()]
    })
    .await;
    let queue = &handles[0];
    for chunk in (0..TASKS).collect::<Vec<_>>().chunks(100) {
        let enqueued =
            futures_util::future::join_all(chunk.iter().map(|n| queue.enqueue("double", n))).await;
        for id in enqueued {
            id.expect("enqueued");
        }
    }

    let mut workers: Vec<Child> = (0..3).map(|_| spawn_worker(&tables)).collect();
    let runs = format!("SELECT count(*) FROM {p}_runs");
    until(&tables, &runs, |n| n >= TASKS / 5).await;
    workers[0].start_kill().expect("SIGKILL sent");
    workers[0].wait().await.expect("the killed worker reaped");
    let kills = 1;
    until(&tables, &runs, |n| n >= TASKS / 2).await;
    workers[0] = spawn_worker(&tables);

    until(
        &tables,
        &format!("SELECT count(*) FROM {p}_tasks WHERE status <> 'completed'"),
        |n| n == 0,
    )
    .await;
    for w in &mut workers {
        let _ = w.start_kill();
        let _ = w.wait().await;
    }

    let count = |sql: String| {
        let tables = tables.clone();
        async move { tables.count(&sql).await }
    };
    assert_eq!(
        count(format!(
            "SELECT count(*) FROM {p}_tasks WHERE status = 'completed'"
        ))
        .await,
        TASKS
    );
    assert_eq!(
        count(format!("SELECT count(*) FROM {p}_tasks WHERE result <> to_jsonb((payload #>> '{{}}')::int8 * 2)")).await,
        0,
        "every result is stored"
    );
    let total = count(runs.clone()).await;
    let distinct = count(format!("SELECT count(DISTINCT task_id) FROM {p}_runs")).await;
    assert_eq!(distinct, TASKS, "every task ran");
    let duplicates = total - distinct;
    let lost = count(format!(
        "SELECT COALESCE(sum(lost_leases), 0)::int8 FROM {p}_tasks"
    ))
    .await;
    let retried = count(format!("SELECT count(*) FROM {p}_tasks WHERE attempts > 1")).await;
    eprintln!(
        "{TASKS} tasks, {total} runs, {duplicates} duplicates, {lost} leases lost, {retried} tasks retried, {kills} kill"
    );
    // At most the tasks the killed process was running at once run twice.
    assert!(
        duplicates <= kills * WORKERS_PER_PROCESS as i64,
        "{duplicates} duplicate runs for {kills} kill"
    );
    // Nothing ran more often than its attempts say: a repeated run is
    // reported as a retry.
    assert_eq!(
        count(format!(
            "SELECT count(*) FROM {p}_tasks t WHERE (SELECT count(*) FROM {p}_runs r WHERE r.task_id = t.id) > t.attempts"
        ))
        .await,
        0
    );
    // The restarted process took part.
    assert!(count(format!("SELECT count(DISTINCT pid) FROM {p}_runs")).await >= 4);
    tree.shutdown().await;
    let _ = BOUND;
}
