//! Benchmark 2: restart latency. From the moment a call makes the handler
//! fail until the restarted actor has answered a call through the handle
//! the caller already held; the contenders are described in
//! [`servitor_benches::targets::Restarts`].
//!
//! Every contender runs with a silent panic hook (set in `main`).

use crate::actors::{Echo, Idle};
use crate::paired::Rounds;
use crate::report::{median, ns, percentile, Row, Unit};
use crate::rt::on_actix;
use servitor::{ChildSpec, Runtime, Supervisor};
use servitor_benches::targets::{servitor_once, Restarts, CONTENDERS};
use std::time::{Duration, Instant};

/// Restarts per paired round, per contender.
const PER_ROUND: usize = 400;
/// Restarts timed with 10,000 idle siblings under the same supervisor.
const CROWDED_ITERATIONS: usize = 1_000;
const SIBLINGS: usize = 10_000;
const WARMUP: usize = 1_000;
const GOAL_MEDIAN_NS: f64 = 8_000.0;

/// Restart latency with `siblings` idle services started before the echo:
/// every sample, in nanoseconds.
fn servitor_crowded(siblings: usize, iterations: usize) -> Vec<f64> {
    on_actix(move || async move {
        let tree = Supervisor::builder("bench")
            .intensity(100_000, Duration::from_millis(1))
            .children((0..siblings).map(|i| ChildSpec::service(format!("idle{i}"), Idle::default)))
            .child(ChildSpec::service("echo", Echo::default))
            .build()
            .expect("tree");
        let app = Runtime::start(tree).await.expect("runtime");
        let h = app.service::<Echo>("echo").expect("handle");
        let warmup = WARMUP.min(iterations / 10);
        let mut samples = Vec::with_capacity(iterations);
        for i in 0..warmup + iterations {
            let t = Instant::now();
            servitor_once(&h).await;
            if i >= warmup {
                samples.push(ns(t.elapsed()));
            }
        }
        app.shutdown().await.expect("shutdown");
        samples
    })
}

/// Paired rounds of `PER_ROUND` restarts (a round's figure is its median),
/// and every sample of every contender for the tail.
fn paired() -> (Rounds, [Vec<f64>; 4]) {
    on_actix(|| async {
        let mut c = Restarts::start().await;
        for i in 0..CONTENDERS.len() {
            for _ in 0..WARMUP {
                c.once(i).await;
            }
        }
        let mut rounds = Rounds::new(&CONTENDERS).budget(15, 101, 1.0);
        let mut all: [Vec<f64>; 4] = Default::default();
        while rounds.more() {
            let mut round = vec![0.0; CONTENDERS.len()];
            for i in rounds.order() {
                let mut samples = Vec::with_capacity(PER_ROUND);
                for _ in 0..PER_ROUND {
                    samples.push(c.once(i).await);
                }
                all[i].extend_from_slice(&samples);
                round[i] = median(&mut samples);
            }
            rounds.push(round);
        }
        c.finish().await;
        (rounds, all)
    })
}

pub fn run(rows: &mut Vec<Row>) {
    let (rounds, mut all) = paired();
    let s = rounds.median(0);
    let met =
        s <= GOAL_MEDIAN_NS && rounds.ratio(0, 2).median < 1.0 && rounds.ratio(0, 3).median < 1.0;
    for (i, peer) in [(1, "actix ctx.stop()"), (2, "ractor"), (3, "kameo")] {
        let name = if i == 1 {
            "restart after panic, median".to_string()
        } else {
            format!("restart after panic, median ({})", rounds.name(i))
        };
        let row = Row::paired(
            &name,
            s,
            peer,
            rounds.median(i),
            rounds.ratio(0, i),
            Unit::Nanos,
        );
        rows.push(if i == 1 {
            row.goal("≤ 8 µs and below ractor and kameo", met)
        } else {
            row
        });
    }
    eprintln!("  restart: {} paired rounds", rounds.rounds());
    let p99: Vec<f64> = all.iter_mut().map(|v| percentile(v, 99.0)).collect();
    for (i, peer) in [(1, "actix ctx.stop()"), (2, "ractor"), (3, "kameo")] {
        let name = if i == 1 {
            "restart after panic, p99".to_string()
        } else {
            format!("restart after panic, p99 ({})", rounds.name(i))
        };
        rows.push(Row::compare(&name, p99[0], peer, p99[i], Unit::Nanos));
    }
    let mut crowded = servitor_crowded(SIBLINGS, CROWDED_ITERATIONS);
    rows.push(Row::compare(
        "restart after panic, median, 10k siblings",
        median(&mut crowded),
        "servitor alone",
        s,
        Unit::Nanos,
    ));
}
