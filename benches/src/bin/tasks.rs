//! Task workers: throughput through the task service against
//! `tokio::spawn` + join and a raw 4-worker pool on a bounded channel, in
//! the same run; then peak memory after a million tasks.
//!
//! ```text
//! cargo run --release -p servitor-benches --bin tasks
//! ```
//!
//! * **throughput** — 100,000 trivial async tasks submitted and awaited.
//!   servitor: `Tasks::submit` with status tracking (4 workers, queue and
//!   retention large enough for all), then `wait` on every id. Baselines:
//!   `tokio::spawn` of each task, then awaiting every handle; and 4 worker
//!   tasks pulling boxed jobs from one bounded `tokio::sync::mpsc` channel
//!   (capacity 1,024). All run on the same actix (single-threaded) arbiter.
//!   A figure is the median of 5 rounds, in tasks per second.
//! * **memory** — 1,000,000 trivial tasks through a service with
//!   `retain_finished` 10,000 and `queue_capacity` 10,000 (submits wait
//!   for room); RSS and peak RSS (`VmRSS`, `VmHWM`) after each 250,000.

use servitor::tasks::{Tasks, TasksConfig};
use servitor::{Runtime, Supervisor};
use std::convert::Infallible;
use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::sync::{mpsc, Mutex, Notify};

const N: usize = 100_000;
const ROUNDS: usize = 5;
const MEMORY_N: usize = 1_000_000;

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(|a, b| a.partial_cmp(b).unwrap());
    v[v.len() / 2]
}

async fn servitor_round() -> f64 {
    let (spec, tasks) = Tasks::service(
        "bench",
        TasksConfig {
            workers: 4,
            queue_capacity: N,
            retain_finished: N,
            ..TasksConfig::default()
        },
    )
    .unwrap();
    let app = Runtime::start(Supervisor::builder("app").child(spec).build().unwrap())
        .await
        .unwrap();
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
    let rate = N as f64 / start.elapsed().as_secs_f64();
    assert_eq!(tasks.stats().completed, N as u64);
    app.shutdown().await.unwrap();
    rate
}

async fn spawn_round() -> f64 {
    let start = Instant::now();
    let handles: Vec<_> = (0..N)
        .map(|i| tokio::spawn(async move { std::hint::black_box(i) }))
        .collect();
    for h in handles {
        h.await.unwrap();
    }
    N as f64 / start.elapsed().as_secs_f64()
}

type Job = Box<dyn FnOnce() -> Pin<Box<dyn Future<Output = usize>>> + Send>;

async fn pool_round() -> f64 {
    let start = Instant::now();
    let (tx, rx) = mpsc::channel::<Job>(1024);
    let rx = Arc::new(Mutex::new(rx));
    let done = Arc::new(AtomicUsize::new(0));
    let all_done = Arc::new(Notify::new());
    for _ in 0..4 {
        let rx = rx.clone();
        let done = done.clone();
        let all_done = all_done.clone();
        tokio::task::spawn_local(async move {
            loop {
                let job = rx.lock().await.recv().await;
                let Some(job) = job else { return };
                std::hint::black_box(job().await);
                if done.fetch_add(1, Ordering::Relaxed) + 1 == N {
                    all_done.notify_one();
                }
            }
        });
    }
    for i in 0..N {
        let job: Job = Box::new(move || Box::pin(async move { i }));
        if tx.send(job).await.is_err() {
            panic!("pool closed");
        }
    }
    drop(tx);
    all_done.notified().await;
    N as f64 / start.elapsed().as_secs_f64()
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
    let (mut s, mut t, mut p) = (Vec::new(), Vec::new(), Vec::new());
    for _ in 0..ROUNDS {
        s.push(servitor_round().await);
        t.push(spawn_round().await);
        p.push(pool_round().await);
    }
    let (s, t, p) = (median(s), median(t), median(p));
    println!("throughput, {N} trivial tasks, median of {ROUNDS} rounds:");
    println!("  servitor tasks (status tracked)  {:>12.0} tasks/s", s);
    println!("  tokio::spawn + join              {:>12.0} tasks/s", t);
    println!("  raw 4-worker pool (bounded mpsc) {:>12.0} tasks/s", p);
    println!(
        "  ratio vs tokio::spawn {:.2}x (goal >= 0.5x), vs raw pool {:.2}x",
        s / t,
        s / p
    );
    memory().await;
}
