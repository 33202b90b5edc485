//! Benchmark 1: one call round trip (send, handle, reply) through a
//! `ServiceRef` against a plain actix `Addr::send` to the same actor type,
//! with the caller on the actor's arbiter and on another thread. ractor's
//! `call` and kameo's `ask` are shown for context.
//!
//! Every contender's actor runs on the same actix arbiter thread (ractor and
//! kameo spawn onto its tokio runtime), and rounds of the four alternate, so
//! that load from elsewhere on the machine hits all of them alike.

use crate::paired::Rounds;
use crate::report::{ns, Row, Unit};
use crate::rt::on_actix;
use servitor_benches::targets::{Calls, CONTENDERS};
use std::time::Instant;

/// Calls per round with the caller on the actor's thread.
const SAME_N: u32 = 20_000;
/// Calls per round with the caller on another thread: shorter rounds,
/// because the cost of a wake-up drifts with the machine.
const CROSS_N: u32 = 400;
const GOAL: f64 = 1.10;

/// Times `n` calls to contender `i`: nanoseconds per call.
async fn time(targets: &Calls, i: usize, n: u32) -> f64 {
    let t = Instant::now();
    targets.calls(i, n).await;
    ns(t.elapsed()) / f64::from(n)
}

/// Warms every contender up, then runs paired rounds until the ratios
/// settle.
async fn measure(targets: &Calls, n: u32, mut rounds: Rounds) -> Rounds {
    for i in 0..CONTENDERS.len() {
        targets.calls(i, n).await;
    }
    while rounds.more() {
        let mut round = vec![0.0; CONTENDERS.len()];
        for i in rounds.order() {
            round[i] = time(targets, i, n).await;
        }
        rounds.push(round);
    }
    rounds
}

/// (caller on the arbiter, caller on another thread)
fn both() -> (Rounds, Rounds) {
    on_actix(|| async {
        let (targets, owner) = Calls::start().await;
        let same = measure(
            &targets,
            SAME_N,
            Rounds::new(&CONTENDERS).budget(15, 101, 1.0),
        )
        .await;

        // The caller moves to a thread of its own; the actors stay here.
        let (tx, rx) = tokio::sync::oneshot::channel();
        let remote = targets.clone();
        std::thread::spawn(move || {
            let figures = crate::rt::current_thread().block_on(measure(
                &remote,
                CROSS_N,
                Rounds::new(&CONTENDERS).budget(15, 101, 3.0),
            ));
            let _ = tx.send(figures);
        });
        let cross = rx.await.expect("cross-thread caller");
        owner.finish().await;
        (same, cross)
    })
}

pub fn run(rows: &mut Vec<Row>) {
    let (same, cross) = both();
    for (label, r) in [
        ("call, caller on the arbiter", same),
        ("call, caller on another thread", cross),
    ] {
        let s = r.median(0);
        for (i, peer) in [(1, "actix send"), (2, "ractor call"), (3, "kameo ask")] {
            let name = if i == 1 {
                label.to_string()
            } else {
                format!("{label} ({})", r.name(i))
            };
            let ratio = r.ratio(0, i);
            let row = Row::paired(&name, s, peer, r.median(i), ratio, Unit::Nanos);
            rows.push(if i == 1 {
                row.goal("≤ 1.10× actix", ratio.median <= GOAL)
            } else {
                row
            });
        }
        eprintln!("  {label}: {} paired rounds", r.rounds());
    }
}
