//! Benchmark 1: one call round trip (send, handle, reply) through a
//! `ServiceRef` against a plain actix `Addr::send` to the same actor type,
//! with the caller on the actor's arbiter and on another thread. ractor's
//! `call` and kameo's `ask` are shown for context.
//!
//! Every contender's actor runs on the same actix arbiter thread (ractor and
//! kameo spawn onto its tokio runtime), and rounds of the four alternate, so
//! that load from elsewhere on the machine hits all of them alike.

use crate::actors::{kameo_echo, ractor_echo, Echo, Ping};
use crate::report::{median, ns, spread, Row, Unit};
use crate::rt::on_actix;
use actix::Actor;
use servitor::{ChildSpec, Runtime, ServiceRef, Supervisor};
use std::hint::black_box;
use std::time::Instant;

/// Calls per round with the caller on the actor's thread.
const SAME_N: u32 = 100_000;
/// Calls per round with the caller on another thread: shorter rounds, and
/// more of them, because the cost of a wake-up drifts with the machine.
const CROSS_N: u32 = 2_000;
const SAME_ROUNDS: usize = 7;
const CROSS_ROUNDS: usize = 15;
const GOAL: f64 = 1.10;

/// The four callers' handles, all pointing at actors on one arbiter.
#[derive(Clone)]
struct Targets {
    servitor: ServiceRef<Echo>,
    actix: actix::Addr<Echo>,
    ractor: ractor::ActorRef<ractor_echo::Msg>,
    kameo: kameo::actor::ActorRef<kameo_echo::Echo>,
}

/// Median per-call nanoseconds over the rounds, and the rounds' spread (%).
#[derive(Clone, Copy)]
struct Figure {
    per_call: f64,
    spread: f64,
}

struct Figures {
    servitor: Figure,
    actix: Figure,
    ractor: Figure,
    kameo: Figure,
}

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
    async fn servitor(&self, n: u32) -> f64 {
        round!(n, self.servitor.call(Ping).await.expect("servitor call"))
    }
    async fn actix(&self, n: u32) -> f64 {
        round!(n, self.actix.send(Ping).await.expect("actix send"))
    }
    async fn ractor(&self, n: u32) -> f64 {
        round!(n, ractor_echo::ping(&self.ractor).await)
    }
    async fn kameo(&self, n: u32) -> f64 {
        round!(n, kameo_echo::ping(&self.kameo).await)
    }

    /// Warms every contender up, then alternates timed rounds.
    async fn measure(&self, n: u32, rounds: usize) -> Figures {
        self.servitor(n / 10).await;
        self.actix(n / 10).await;
        self.ractor(n / 10).await;
        self.kameo(n / 10).await;
        let mut v: [Vec<f64>; 4] = Default::default();
        for _ in 0..rounds {
            v[0].push(self.servitor(n).await);
            v[1].push(self.actix(n).await);
            v[2].push(self.ractor(n).await);
            v[3].push(self.kameo(n).await);
        }
        let [s, a, r, k] = v.map(|mut rounds| Figure {
            spread: spread(&mut rounds),
            per_call: median(&mut rounds),
        });
        Figures {
            servitor: s,
            actix: a,
            ractor: r,
            kameo: k,
        }
    }
}

/// (caller on the arbiter, caller on another thread)
fn measure() -> (Figures, Figures) {
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
        let same = targets.measure(SAME_N, SAME_ROUNDS).await;

        // The caller moves to a thread of its own; the actors stay here.
        let (tx, rx) = tokio::sync::oneshot::channel();
        let remote = targets.clone();
        std::thread::spawn(move || {
            let figures =
                crate::rt::current_thread().block_on(remote.measure(CROSS_N, CROSS_ROUNDS));
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
    for (label, f) in [
        ("call, caller on the arbiter", same),
        ("call, caller on another thread", cross),
    ] {
        let s = f.servitor.per_call;
        let ratio = s / f.actix.per_call;
        rows.push(
            Row::compare(label, s, "actix send", f.actix.per_call, Unit::Nanos)
                .goal("≤ 1.10× actix", ratio <= GOAL),
        );
        rows.push(Row::compare(
            &format!("{label} (ractor)"),
            s,
            "ractor call",
            f.ractor.per_call,
            Unit::Nanos,
        ));
        rows.push(Row::compare(
            &format!("{label} (kameo)"),
            s,
            "kameo ask",
            f.kameo.per_call,
            Unit::Nanos,
        ));
        eprintln!(
            "  {label}: spread of rounds servitor {:.0}%, actix {:.0}%, ractor {:.0}%, kameo {:.0}%",
            f.servitor.spread, f.actix.spread, f.ractor.spread, f.kameo.spread
        );
    }
}
