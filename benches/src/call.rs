//! Benchmark 1: one call round trip (send, handle, reply) through a
//! `ServiceRef` against a plain actix `Addr::send` to the same actor type,
//! with the caller on the actor's arbiter and on another thread. ractor's
//! `call` and kameo's `ask` are shown for context.
//!
//! Every contender's actor runs on the same actix arbiter thread (ractor and
//! kameo spawn onto its tokio runtime), and rounds of the four alternate, so
//! that load from elsewhere on the machine hits all of them alike.

use crate::actors::{kameo_echo, ractor_echo, Echo, Ping};
use crate::paired::Rounds;
use crate::report::{ns, Row, Unit};
use crate::rt::on_actix;
use actix::Actor;
use servitor::{ChildSpec, Runtime, ServiceRef, Supervisor};
use std::hint::black_box;
use std::time::Instant;

/// Calls per round with the caller on the actor's thread.
const SAME_N: u32 = 20_000;
/// Calls per round with the caller on another thread: shorter rounds,
/// because the cost of a wake-up drifts with the machine.
const CROSS_N: u32 = 400;
const GOAL: f64 = 1.10;

/// The four callers' handles, all pointing at actors on one arbiter.
#[derive(Clone)]
struct Targets {
    servitor: ServiceRef<Echo>,
    actix: actix::Addr<Echo>,
    ractor: ractor::ActorRef<ractor_echo::Msg>,
    kameo: kameo::actor::ActorRef<kameo_echo::Echo>,
}

const CONTENDERS: [&str; 4] = ["servitor", "actix", "ractor", "kameo"];

macro_rules! round {
    ($n:expr, $call:expr) => {{
        let t = Instant::now();
        for _ in 0..$n {
            black_box($call);
        }
        ns(t.elapsed()) / f64::from($n)
    }};
}

impl Targets {
    async fn time(&self, contender: usize, n: u32) -> f64 {
        match contender {
            0 => round!(n, self.servitor.call(Ping).await.expect("servitor call")),
            1 => round!(n, self.actix.send(Ping).await.expect("actix send")),
            2 => round!(n, ractor_echo::ping(&self.ractor).await),
            _ => round!(n, kameo_echo::ping(&self.kameo).await),
        }
    }

    /// Warms every contender up, then runs paired rounds until the ratios
    /// settle.
    async fn measure(&self, n: u32, rounds: Rounds) -> Rounds {
        for i in 0..CONTENDERS.len() {
            self.time(i, n).await;
        }
        let mut rounds = rounds;
        while rounds.more() {
            let mut round = vec![0.0; CONTENDERS.len()];
            for i in rounds.order() {
                round[i] = self.time(i, n).await;
            }
            rounds.push(round);
        }
        rounds
    }
}

/// (caller on the arbiter, caller on another thread)
fn measure() -> (Rounds, Rounds) {
    on_actix(|| async {
        let tree = Supervisor::builder("bench")
            .child(ChildSpec::service("echo", Echo::default))
            .build()
            .expect("tree");
        let app = Runtime::start(tree).await.expect("runtime");
        let (ractor, _) = ractor::Actor::spawn(None, ractor_echo::Echo, ())
            .await
            .expect("ractor spawn");
        let targets = Targets {
            servitor: app.service::<Echo>("echo").expect("handle"),
            actix: Echo::default().start(),
            ractor: ractor.clone(),
            kameo: kameo::Actor::spawn(kameo_echo::Echo::default()),
        };
        let same = targets
            .measure(SAME_N, Rounds::new(&CONTENDERS).budget(15, 101, 1.0))
            .await;

        // The caller moves to a thread of its own; the actors stay here.
        let (tx, rx) = tokio::sync::oneshot::channel();
        let remote = targets.clone();
        std::thread::spawn(move || {
            let figures = crate::rt::current_thread().block_on(
                remote.measure(CROSS_N, Rounds::new(&CONTENDERS).budget(15, 101, 3.0)),
            );
            let _ = tx.send(figures);
        });
        let cross = rx.await.expect("cross-thread caller");
        ractor.stop(None);
        app.shutdown().await.expect("shutdown");
        (same, cross)
    })
}

pub fn run(rows: &mut Vec<Row>) {
    let (same, cross) = measure();
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
