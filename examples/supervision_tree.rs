//! A nested supervision tree that crashes on purpose and recovers.
//!
//! ```text
//! app (one-for-one, 5 restarts in 10 s, backoff 50 ms → 1 s)
//! ├── ingest    message-handling actor
//! ├── import    single-shot job (transient)
//! ├── poller    periodic service whose ticks fail now and then
//! └── workers   (rest-for-one)
//!     ├── parser
//!     ├── enricher
//!     └── writer
//! ```
//!
//! Run with `cargo run --example supervision_tree`.

use actix::prelude::*;
use servitor::{
    Backoff, BoxError, ChildSpec, RoutineFn, Runtime, Service, ServiceContext, Status, Strategy,
    Supervisor, Ticker, TickerConfig,
};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

/// Counts the records it is sent; panics on a poisoned one.
#[derive(Default)]
struct Ingest {
    records: u64,
}

impl Actor for Ingest {
    type Context = Context<Self>;
}

impl Service for Ingest {
    fn health_check(&mut self, cx: &ServiceContext, _: &mut Context<Self>) -> Option<Status> {
        cx.set_detail("records", self.records);
        Some(if self.records > 0 {
            Status::Busy
        } else {
            Status::Idle
        })
    }

    fn health_interval(&self) -> Duration {
        Duration::from_millis(100)
    }
}

#[derive(Message)]
#[rtype(result = "u64")]
struct Record(&'static str);

impl Handler<Record> for Ingest {
    type Result = u64;
    fn handle(&mut self, msg: Record, _: &mut Context<Self>) -> u64 {
        if msg.0 == "poison" {
            panic!("poisoned record");
        }
        self.records += 1;
        self.records
    }
}

/// Fails every third tick with a retryable error.
struct Poller {
    ticks: Arc<AtomicU64>,
}

impl Ticker for Poller {
    type Error = String;
    async fn tick(&mut self, _cx: &ServiceContext) -> Result<(), String> {
        let n = self.ticks.fetch_add(1, Ordering::Relaxed);
        if n % 3 == 2 {
            Err(format!("upstream timed out on tick {n}"))
        } else {
            Ok(())
        }
    }
}

#[derive(Default)]
struct Worker;

impl Actor for Worker {
    type Context = Context<Self>;
}

impl Service for Worker {}

#[actix_rt::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    // Panics are failures the supervisor handles; keep their default report short.
    std::panic::set_hook(Box::new(|info| eprintln!("  (service panicked: {info})")));

    let ticks = Arc::new(AtomicU64::new(0));
    let tree = Supervisor::builder("app")
        .strategy(Strategy::OneForOne)
        .intensity(5, Duration::from_secs(10))
        .backoff(Backoff::exponential(
            Duration::from_millis(50),
            Duration::from_secs(1),
        ))
        .child(ChildSpec::service("ingest", Ingest::default))
        .child(
            ChildSpec::routine("import", || {
                RoutineFn(|cx: ServiceContext| async move {
                    cx.set_detail("imported", 42);
                    Ok::<(), BoxError>(())
                })
            })
            .transient(),
        )
        .child(ChildSpec::ticker(
            "poller",
            TickerConfig::every(Duration::from_millis(100)).retry(Backoff::exponential(
                Duration::from_millis(50),
                Duration::from_millis(200),
            )),
            move || Poller {
                ticks: ticks.clone(),
            },
        )?)
        .child(
            Supervisor::builder("workers")
                .strategy(Strategy::RestForOne)
                .child(ChildSpec::service("parser", Worker::default))
                .child(ChildSpec::service("enricher", Worker::default))
                .child(ChildSpec::service("writer", Worker::default)),
        )
        .build()?;

    let app = Runtime::start(tree).await?;
    println!("== started\n{}", app.health().table());

    let ingest = app.service::<Ingest>("ingest")?;
    for _ in 0..3 {
        ingest.call(Record("ok")).await?;
    }
    tokio::time::sleep(Duration::from_millis(250)).await;
    println!("== ingest busy, poller ticking\n{}", app.health().table());

    println!("== a poisoned record crashes ingest:");
    let crashed = ingest.call(Record("poison")).await;
    println!("  the in-flight call got: {}", crashed.unwrap_err());
    println!("{}", app.health().table());
    let count = ingest.call(Record("ok")).await?;
    println!("== the same handle reaches the new instance (count restarted at {count})");
    println!("{}", app.health().table());

    println!("== enricher fails: rest-for-one restarts enricher and writer, parser keeps running");
    let workers = app.supervisor("workers")?;
    workers.crash_child("enricher", "lost its upstream").await?;
    tokio::time::sleep(Duration::from_millis(200)).await;
    for child in workers.which_children().await? {
        println!(
            "  {:<9} {:?} incarnation {} restarts {} last failure {:?}",
            child.id, child.state, child.incarnation, child.restarts, child.last_failure
        );
    }
    println!("{}", app.health().table());

    println!("== JSON snapshot of ingest");
    println!(
        "{}",
        serde_json::to_string_pretty(&app.registry().get("ingest"))?
    );

    let report = app.shutdown().await?;
    println!("== shut down in reverse order; killed: {:?}", report.killed);
    Ok(())
}
