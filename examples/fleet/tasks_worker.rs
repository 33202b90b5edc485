//! Durable tasks across processes: one queue in PostgreSQL, two worker
//! processes sharing it, one of them killed half way.
//!
//! ```text
//! DATABASE_URL=postgres://postgres@127.0.0.1:5432/test \
//!     cargo run --example fleet_tasks --features durable
//! ```
//!
//! Run without arguments, this program is the coordinator: it makes the
//! queue's tables (through the durable service's migrations), starts two
//! copies of itself as workers (`fleet_tasks worker`), queues 300
//! thumbnail tasks (some urgent, some scheduled two seconds ahead), kills
//! one worker with SIGKILL after a while, and waits until every task has
//! completed. It then prints which process ran how many, and the tasks
//! that ran more than once (the killed worker's tasks in hand, taken over
//! once their lease ran out, reported with 2 attempts).
//!
//! Run `fleet_tasks worker` yourself in more terminals to add workers; they
//! stop on Ctrl-C (their tasks in hand are finished first).

use servitor::db::{Db, DbConfig, Postgres};
use servitor::tasks::durable::{DurableConfig, DurableTasks};
use servitor::tasks::{Priority, TaskContext, TaskFilter, TaskId, TaskOptions, TaskStatus};
use servitor::{ChildSpec, Runtime, Supervisor};
use std::collections::BTreeMap;
use std::time::{Duration, SystemTime};

#[derive(serde::Serialize, serde::Deserialize)]
struct Thumbnail {
    image: String,
    width: u32,
}

#[derive(serde::Serialize, serde::Deserialize)]
struct Made {
    path: String,
    by_pid: u32,
}

fn database() -> Result<(ChildSpec, servitor::db::PgDb), servitor::kit::ConfigError> {
    let url = std::env::var("DATABASE_URL")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/test".into());
    Db::<Postgres>::service(
        "db",
        DbConfig {
            max_connections: 8,
            ..DbConfig::url(url)
        },
    )
}

/// Every process of the queue uses the same configuration: the same queue
/// name and tables. A short lease so a killed worker's tasks come back
/// within seconds.
fn queue_config(workers: usize) -> DurableConfig {
    DurableConfig {
        queue: Some("thumbnails".into()),
        table_prefix: "fleet_example".into(),
        workers,
        lease: Duration::from_secs(2),
        renew_interval: Duration::from_millis(500),
        poll_interval: Duration::from_millis(50),
        ..DurableConfig::default()
    }
}

async fn worker() -> Result<(), Box<dyn std::error::Error>> {
    let (db_spec, db) = database()?;
    let (spec, tasks) = DurableTasks::service("thumbnails", queue_config(4), db)?;
    // The handler, registered by name: any process with it can run the task.
    tasks
        .handlers()
        .register("thumbnail", |_cx: TaskContext, t: Thumbnail| async move {
            tokio::time::sleep(Duration::from_millis(20)).await; // the "work"
            Ok::<_, std::io::Error>(Made {
                path: format!("{}.{}px.png", t.image, t.width),
                by_pid: std::process::id(),
            })
        });
    let app = Runtime::start(
        Supervisor::builder("worker")
            .child(db_spec)
            .child(spec)
            .build()?,
    )
    .await?;
    eprintln!("worker {} running; Ctrl-C to stop", std::process::id());
    tokio::signal::ctrl_c().await?;
    app.shutdown().await?;
    Ok(())
}

async fn coordinator() -> Result<(), Box<dyn std::error::Error>> {
    // This process queues and reads; it runs no task itself (0 workers).
    let (db_spec, db) = database()?;
    let (spec, queue) = DurableTasks::service("thumbnails", queue_config(0), db.clone())?;
    let app = Runtime::start(
        Supervisor::builder("coordinator")
            .child(db_spec)
            .child(spec)
            .build()?,
    )
    .await?;
    // Finished rows stay in the table until deleted: start from an empty queue.
    db.execute(
        "DELETE FROM fleet_example_tasks WHERE queue = 'thumbnails'",
        (),
    )
    .await?;

    let exe = std::env::current_exe()?;
    let mut workers = [
        std::process::Command::new(&exe).arg("worker").spawn()?,
        std::process::Command::new(&exe).arg("worker").spawn()?,
    ];

    let mut ids: Vec<TaskId> = Vec::new();
    for i in 0..300u32 {
        let options = match i % 10 {
            0 => TaskOptions::default().priority(Priority::High),
            9 => TaskOptions::default().run_at(SystemTime::now() + Duration::from_secs(2)),
            _ => TaskOptions::default(),
        };
        let task = Thumbnail {
            image: format!("photo-{i}"),
            width: 320,
        };
        ids.push(queue.enqueue_with("thumbnail", &task, options).await?);
    }
    println!(
        "queued {} tasks on `{}` in {}",
        ids.len(),
        queue.queue(),
        queue.table()
    );

    // Kill one worker once a third is done.
    loop {
        let done = queue
            .list(&TaskFilter::all().status(TaskStatus::Completed).limit(1_000))
            .await?;
        if done.len() >= 100 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    workers[0].kill()?; // SIGKILL: no goodbye, its leases just stop being renewed
    workers[0].wait()?;
    println!("killed worker {}", workers[0].id());

    let mut by_pid: BTreeMap<u32, usize> = BTreeMap::new();
    let mut rerun = 0;
    for id in &ids {
        let task = queue.wait(*id, Duration::from_secs(60)).await?;
        assert_eq!(task.status, TaskStatus::Completed);
        let made: Made = serde_json::from_value(task.result.expect("a stored result"))?;
        *by_pid.entry(made.by_pid).or_default() += 1;
        if task.attempts > 1 {
            rerun += 1;
            println!(
                "  {} completed on attempt {} ({})",
                task.id, task.attempts, made.path
            );
        }
    }
    println!(
        "all {} completed; recorded by process: {by_pid:?}; {rerun} needed a second attempt",
        ids.len()
    );

    for w in &mut workers[1..] {
        // Ends the second worker; it would also stop on Ctrl-C.
        let _ = w.kill();
        let _ = w.wait();
    }
    app.shutdown().await?;
    Ok(())
}

#[actix_rt::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    match std::env::args().nth(1).as_deref() {
        Some("worker") => worker().await,
        _ => coordinator().await,
    }
}
