//! Background task workers: submit async and blocking work, retry a flaky
//! task with backoff, cancel one, and read statuses and results by id.
//!
//! ```text
//! cargo run --example tasks
//! ```

use servitor::tasks::{RetryPolicy, TaskFilter, TaskOptions, Tasks, TasksConfig};
use servitor::{Runtime, Supervisor};
use std::time::Duration;

#[actix_rt::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let (spec, tasks) = Tasks::service("jobs", TasksConfig::default())?;
    let app = Runtime::start(Supervisor::builder("app").child(spec).build()?).await?;

    // An async task; its value is kept as JSON.
    let add = tasks
        .submit("add", |_cx| async { Ok::<_, std::io::Error>(2 + 2) })
        .await?;

    // Blocking work runs on the blocking pool, never on the arbiter.
    let sum = tasks
        .submit_blocking("sum", |_cx| {
            Ok::<_, std::io::Error>((1..=1_000u64).sum::<u64>())
        })
        .await?;

    // A flaky task: retried with exponential backoff until it succeeds.
    let flaky = tasks
        .submit_with(
            "flaky",
            TaskOptions::default().retry(RetryPolicy::exponential(5, Duration::from_millis(20))),
            |cx| async move {
                if cx.attempt() < 3 {
                    Err(format!("attempt {} failed", cx.attempt()))
                } else {
                    Ok("third time lucky")
                }
            },
        )
        .await?;

    // A long task, cancelled cooperatively.
    let long = tasks
        .submit("long", |cx| async move {
            cx.cancelled().await;
            Ok::<_, std::io::Error>(())
        })
        .await?;
    tasks.cancel(long)?;

    for id in [add, sum, flaky, long] {
        let t = tasks.wait(id, Duration::from_secs(5)).await?;
        println!(
            "{} {:<6} {:<10} attempts={} result={:?} error={:?}",
            t.id, t.name, t.status, t.attempts, t.result, t.error
        );
    }
    println!(
        "newest: {:?}",
        tasks.list(&TaskFilter::all().limit(1))[0].name
    );
    println!("stats: {:?}", tasks.stats());

    app.shutdown().await?;
    Ok(())
}
