//! Instruction counts under valgrind's callgrind for the same-thread call and
//! the restart path, servitor against actix, ractor and kameo. A count does
//! not move with the machine's load, so a regression shows as a number.
//!
//! ```text
//! cargo run --release -p servitor-benches --bin instructions
//! target/release/instructions --run idle 0 2000     # a tree of 2,000 idle children, for dhat
//! target/release/instructions --run start 0 100000  # one start of 100,000 children, for perf
//! ```
//!
//! The binary runs itself under `valgrind --tool=callgrind` once per
//! contender and size, each run doing the same set-up and warm-up and then
//! `n` iterations; the count per iteration is the difference between a long
//! and a short run divided by the difference in iterations, so set-up,
//! warm-up and teardown cancel out.

use servitor_benches::targets::{Calls, Restarts, CONTENDERS};
use std::process::Command;

const CALLS: (u32, u32) = (2_000, 12_000);
const RESTARTS: (u32, u32) = (200, 1_200);
const WARMUP: u32 = 200;

fn main() {
    let args: Vec<String> = std::env::args().collect();
    if let [_, flag, workload, contender, n] = &args[..] {
        if flag == "--run" {
            let contender: usize = contender.parse().expect("contender index");
            let n: u32 = n.parse().expect("iterations");
            run(workload, contender, n);
            return;
        }
    }
    if Command::new("valgrind").arg("--version").output().is_err() {
        eprintln!("valgrind is not installed (apt-get install valgrind)");
        std::process::exit(2);
    }
    let me = std::env::current_exe().expect("own path");
    println!("| benchmark | contender | instructions per iteration | servitor / contender |");
    println!("|---|---|---|---|");
    for (workload, sizes, label) in [
        ("call", CALLS, "call, caller on the arbiter"),
        ("restart", RESTARTS, "restart after panic"),
    ] {
        let counts: Vec<f64> = (0..CONTENDERS.len())
            .map(|i| per_iteration(&me, workload, i, sizes))
            .collect();
        for (i, count) in counts.iter().enumerate() {
            let ratio = if i == 0 {
                "-".to_string()
            } else {
                format!("{:.2}×", counts[0] / count)
            };
            println!("| {label} | {} | {count:.0} | {ratio} |", CONTENDERS[i]);
        }
    }
}

/// Instructions per iteration of `workload` for contender `i`.
fn per_iteration(me: &std::path::Path, workload: &str, i: usize, (short, long): (u32, u32)) -> f64 {
    let a = instructions(me, workload, i, short);
    let b = instructions(me, workload, i, long);
    (b - a) as f64 / f64::from(long - short)
}

/// Total instructions of one run under callgrind.
fn instructions(me: &std::path::Path, workload: &str, i: usize, n: u32) -> u64 {
    let out = Command::new("valgrind")
        .args(["--tool=callgrind", "--callgrind-out-file=/dev/null"])
        .arg(me)
        .args(["--run", workload, &i.to_string(), &n.to_string()])
        .env_remove("RUST_BACKTRACE")
        .output()
        .expect("valgrind runs");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{workload} {i} {n} failed:\n{stderr}");
    stderr
        .lines()
        .find_map(|l| l.split("Collected :").nth(1))
        .and_then(|v| v.trim().parse().ok())
        .unwrap_or_else(|| panic!("no instruction count in callgrind's output:\n{stderr}"))
}

/// One run: set-up, warm-up, `n` iterations, teardown.
fn run(workload: &str, contender: usize, n: u32) {
    // The restart workload panics on purpose, every iteration.
    std::panic::set_hook(Box::new(|_| {}));
    let workload = workload.to_string();
    actix_rt::System::new().block_on(async move {
        match workload.as_str() {
            "call" => {
                let (calls, owner) = Calls::start().await;
                calls.calls(contender, WARMUP).await;
                calls.calls(contender, n).await;
                owner.finish().await;
            }
            "restart" => {
                let mut restarts = Restarts::start().await;
                for _ in 0..WARMUP + n {
                    restarts.once(contender).await;
                }
                restarts.finish().await;
            }
            // Not counted by the driver: a tree of `n` idle children, held
            // for a moment, for heap profilers (`valgrind --tool=dhat`).
            "idle" => {
                let tree = servitor::Supervisor::builder("big")
                    .children((0..n).map(|i| {
                        servitor::ChildSpec::service(
                            format!("c{i}"),
                            servitor_benches::actors::Idle::default,
                        )
                    }))
                    .build()
                    .expect("tree");
                let app = servitor::Runtime::start(tree).await.expect("runtime");
                tokio::time::sleep(std::time::Duration::from_millis(50)).await;
                app.shutdown().await.expect("shutdown");
            }
            "start" => {
                // The start alone, for a profiler: no shutdown after it.
                let tree = servitor::Supervisor::builder("big")
                    .children((0..n).map(|i| {
                        servitor::ChildSpec::service(
                            format!("c{i}"),
                            servitor_benches::actors::Idle::default,
                        )
                    }))
                    .build()
                    .expect("tree");
                let t = std::time::Instant::now();
                let app = servitor::Runtime::start(tree).await.expect("runtime");
                eprintln!(
                    "start: {:.2} µs per child",
                    t.elapsed().as_secs_f64() * 1e6 / f64::from(n)
                );
                std::mem::forget(app);
                std::process::exit(0);
            }
            other => panic!("unknown workload {other}"),
        }
    });
}
