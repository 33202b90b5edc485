//! A periodic job scheduler as a supervised service: interval and cron jobs
//! added at run time, a flaky job backing off and degrading health, a job
//! disabled and removed, and per-job stats.
//!
//! Run with `cargo run --example scheduler` (it takes about two seconds).

use servitor::scheduler::{Schedule, Scheduler, SchedulerConfig};
use servitor::{Runtime, Supervisor};
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::Arc;
use std::time::Duration;

#[actix_rt::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let (spec, jobs) = Scheduler::service(
        "jobs",
        SchedulerConfig {
            max_backoff: Duration::from_millis(400),
            degraded_after: 2,
            health_interval: Duration::from_millis(100),
            ..SchedulerConfig::default()
        },
    )?;
    let app = Runtime::start(Supervisor::builder("app").child(spec).build()?).await?;

    jobs.add(
        "heartbeat",
        Schedule::every(Duration::from_millis(100)),
        || async { Ok::<_, String>(()) },
    )?;
    let attempts = Arc::new(AtomicU32::new(0));
    let a = attempts.clone();
    jobs.add(
        "flaky-upload",
        Schedule::every(Duration::from_millis(50)),
        move || {
            let n = a.fetch_add(1, Ordering::Relaxed);
            async move {
                if n < 3 {
                    Err(format!("upstream refused (attempt {})", n + 1))
                } else {
                    Ok(())
                }
            }
        },
    )?;
    jobs.add("every-second", Schedule::cron("* * * * * *")?, || async {
        println!("  cron: tick");
        Ok::<_, String>(())
    })?;

    tokio::time::sleep(Duration::from_millis(500)).await;
    let health = app.registry().get("jobs").expect("registered");
    println!("after 0.5 s: {:?} {:?}", health.status, health.message);

    tokio::time::sleep(Duration::from_millis(1000)).await;
    for s in jobs.list() {
        println!(
            "  {:<14} {:<22} runs {:>3}  failures {}  last error {:?}",
            s.name, s.schedule, s.runs, s.failures, s.last_error
        );
    }
    println!(
        "after 1.5 s: {:?}",
        app.registry().get("jobs").unwrap().status
    );

    jobs.disable("heartbeat")?;
    jobs.remove("every-second")?;
    println!(
        "jobs now: {:?}",
        jobs.list().iter().map(|s| &s.name).collect::<Vec<_>>()
    );

    app.shutdown().await?;
    Ok(())
}
