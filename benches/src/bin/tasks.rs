//! Task workers: throughput through the task service against
//! `tokio::spawn` + join of the same closure, paired round by round in one
//! run; then peak memory after a million tasks.
//!
//! ```text
//! cargo run --release -p servitor-benches --bin tasks
//! ```
//!
//! * **throughput** — 100,000 trivial async tasks (`async move { Ok(i) }`)
//!   submitted and awaited, per round. servitor: `Tasks::submit` with
//!   status tracking (4 workers, queue and retention large enough for all),
//!   then `wait` on every id. Two pairs:
//!   * workers on the service's own arbiter (`Placement::Inherit`) vs
//!     `tokio::spawn` of each task on that same thread, then awaiting every
//!     handle (goal ≥ 0.5×);
//!   * workers on the runtime's pool (2 arbiters on this 2-core machine,
//!     `Placement::Pool`), submitting from one of the pool's threads
//!     (`Runtime::spawn_placed`), vs the same spawn-and-join run inside a
//!     tokio multi-thread runtime with 2 workers, spawning from one of its
//!     workers (goal ≥ 1.0×).
//!
//!   Rounds are paired (`servitor_benches::paired::Rounds`): each round
//!   times every contender once in rotating order; a ratio is the median of
//!   per-round ratios, with its spread.
//! * **memory** — 1,000,000 trivial tasks through a service with
//!   `retain_finished` 10,000 and `queue_capacity` 10,000 (submits wait
//!   for room); RSS and peak RSS (`VmRSS`, `VmHWM`) after each 250,000.
//!   `--memory-only` runs this part alone, `--no-memory` skips it.

use servitor::tasks::{Tasks, TasksConfig};
use servitor::{Placement, Runtime, RuntimeConfig, Supervisor};
use servitor_benches::paired::Rounds;
use std::convert::Infallible;
use std::time::{Duration, Instant};

const N: usize = 100_000;
const MEMORY_N: usize = 1_000_000;
const CONTENDERS: [&str; 4] = [
    "servitor tasks, workers inherit",
    "tokio::spawn + join, same thread",
    "servitor tasks, workers on pool (2)",
    "tokio::spawn + join, 2-worker runtime",
];

/// One round: a fresh runtime with one task service (4 workers, queue
/// and retention large enough for all), started and shut down outside the
/// timed part, as a fresh tokio runtime would be.
async fn servitor_round(placement: Placement) -> f64 {
    let (spec, tasks) = Tasks::service(
        "bench",
        TasksConfig {
            workers: 4,
            worker_placement: placement.clone(),
            queue_capacity: N,
            retain_finished: N,
            ..TasksConfig::default()
        },
    )
    .unwrap();
    let config = RuntimeConfig {
        pool_size: Some(2),
        handle_signals: false,
        ..RuntimeConfig::default()
    };
    let app = Runtime::start_with(
        Supervisor::builder("app").child(spec).build().unwrap(),
        config,
    )
    .await
    .unwrap();
    let rate = if placement == Placement::Pool {
        // The submitter shares the pool's threads, as the tokio peer's
        // spawning task shares its runtime's workers: a third busy thread
        // on two cores would starve one of them.
        let submitter = tasks.clone();
        app.spawn_placed(&Placement::Pool, move || submit_and_wait(submitter))
            .expect("placed")
            .await
            .expect("submitter")
    } else {
        submit_and_wait(tasks.clone()).await
    };
    assert_eq!(tasks.stats().completed, N as u64);
    app.shutdown().await.unwrap();
    rate
}

/// Submits `N` trivial tasks, then waits for each: tasks per second.
async fn submit_and_wait(tasks: Tasks) -> f64 {
    let start = Instant::now();
    let mut ids = Vec::with_capacity(N);
    for i in 0..N {
        let id = tasks
            .submit("t", move |_| async move { Ok::<_, Infallible>(i) })
            .await
            .unwrap();
        ids.push(id);
    }
    for id in ids {
        tasks.wait(id, Duration::from_secs(60)).await.unwrap();
    }
    N as f64 / start.elapsed().as_secs_f64()
}

async fn spawn_round() -> f64 {
    let start = Instant::now();
    let handles: Vec<_> = (0..N)
        .map(|i| tokio::spawn(async move { Ok::<_, Infallible>(std::hint::black_box(i)) }))
        .collect();
    for h in handles {
        let _ = h.await.unwrap();
    }
    N as f64 / start.elapsed().as_secs_f64()
}

async fn throughput() {
    let mt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    // Warm every contender once.
    servitor_round(Placement::Inherit).await;
    servitor_round(Placement::Pool).await;
    spawn_round().await;
    mt.spawn(spawn_round()).await.unwrap();
    // `--only <i>`: contender `i` alone, 20 rounds (for a profiler).
    let args: Vec<String> = std::env::args().collect();
    if let Some(i) = args
        .iter()
        .position(|a| a == "--only")
        .and_then(|p| args.get(p + 1))
    {
        let i: usize = i.parse().expect("a contender index");
        for _ in 0..20 {
            let rate = match i {
                0 => servitor_round(Placement::Inherit).await,
                1 => spawn_round().await,
                2 => servitor_round(Placement::Pool).await,
                _ => mt.spawn(spawn_round()).await.unwrap(),
            };
            println!("{}: {rate:.0} tasks/s", CONTENDERS[i]);
        }
        mt.shutdown_background();
        return;
    }
    let mut rounds = Rounds::new(&CONTENDERS).budget(9, 41, 3.0);
    while rounds.more() || rounds.ratio(2, 3).spread > 3.0 && rounds.rounds() < 41 {
        let mut round = vec![0.0; CONTENDERS.len()];
        for i in rounds.order() {
            round[i] = match i {
                0 => servitor_round(Placement::Inherit).await,
                1 => spawn_round().await,
                2 => servitor_round(Placement::Pool).await,
                _ => mt.spawn(spawn_round()).await.unwrap(),
            };
        }
        rounds.push(round);
    }
    println!(
        "throughput, {N} trivial tasks, {} paired rounds (median tasks/s):",
        rounds.rounds()
    );
    for (i, name) in CONTENDERS.iter().enumerate() {
        println!("  {name:<40} {:>12.0} tasks/s", rounds.median(i));
    }
    let same = rounds.ratio(0, 1);
    let multi = rounds.ratio(2, 3);
    println!(
        "  inherit vs tokio::spawn, same thread   {} (goal >= 0.5x: {})",
        same.label(),
        if same.median >= 0.5 { "met" } else { "missed" }
    );
    println!(
        "  pool vs tokio 2-worker runtime         {} (goal >= 1.0x: {})",
        multi.label(),
        if multi.median >= 1.0 { "met" } else { "missed" }
    );
    mt.shutdown_background();
}

fn rss() -> (u64, u64) {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    let field = |name: &str| {
        status
            .lines()
            .find(|l| l.starts_with(name))
            .and_then(|l| l.split_whitespace().nth(1))
            .and_then(|v| v.parse().ok())
            .unwrap_or(0)
    };
    (field("VmRSS:"), field("VmHWM:"))
}

async fn memory() {
    let (spec, tasks) = Tasks::service(
        "memory",
        TasksConfig {
            workers: 4,
            queue_capacity: 10_000,
            retain_finished: 10_000,
            ..TasksConfig::default()
        },
    )
    .unwrap();
    let app = Runtime::start(Supervisor::builder("app").child(spec).build().unwrap())
        .await
        .unwrap();
    let (before, _) = rss();
    println!("memory: RSS before {} KiB", before);
    let start = Instant::now();
    let mut last = None;
    for i in 0..MEMORY_N {
        last = Some(
            tasks
                .submit("t", move |_| async move { Ok::<_, Infallible>(i) })
                .await
                .unwrap(),
        );
        if (i + 1) % 250_000 == 0 {
            let (now, peak) = rss();
            println!(
                "  after {:>9} submitted: RSS {:>7} KiB, peak {:>7} KiB, retained {}",
                i + 1,
                now,
                peak,
                tasks.stats().retained
            );
        }
    }
    tasks
        .wait(last.unwrap(), Duration::from_secs(60))
        .await
        .unwrap();
    while tasks.stats().completed < MEMORY_N as u64 {
        tokio::task::yield_now().await;
    }
    let (now, peak) = rss();
    println!(
        "  {} completed in {:.2?}: RSS {} KiB, peak {} KiB, retained {}",
        MEMORY_N,
        start.elapsed(),
        now,
        peak,
        tasks.stats().retained
    );
    app.shutdown().await.unwrap();
}

#[actix_rt::main]
async fn main() {
    if !std::env::args().any(|a| a == "--memory-only") {
        throughput().await;
    }
    if std::env::args().any(|a| a == "--no-memory" || a == "--only") {
        return;
    }
    memory().await;
}
