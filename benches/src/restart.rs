//! Benchmark 2: restart latency. From the moment a call makes the handler
//! fail until the restarted actor has answered a call through the handle
//! the caller already held.
//!
//! * servitor: the handler panics; the supervisor restarts the child; the
//!   next `ServiceRef::call` reaches the new instance.
//! * actix: the handler calls `ctx.stop()` under `actix::Supervisor`, which
//!   restarts the same actor on the same `Addr` (actix does not catch
//!   panics, so this is its cheapest form of restart).
//! * ractor: the handler panics; the parent's `handle_supervisor_evt` spawns
//!   a new linked child and publishes its `ActorRef`.
//! * kameo: the handler panics; the linked parent's `on_link_died` spawns a
//!   new linked child and publishes its `ActorRef`.
//!
//! Every contender runs with a silent panic hook (set in `main`).

use crate::actors::{kameo_echo, ractor_echo, Boom, Echo, Idle, Ping, StopMe};
use crate::report::{median, ns, percentile, Row, Unit};
use crate::rt::{on_actix, on_tokio};
use servitor::{CallError, ChildSpec, Runtime, Supervisor};
use std::hint::black_box;
use std::time::{Duration, Instant};
use tokio::sync::watch;

const ITERATIONS: usize = 50_000;
/// Restarts timed with 10,000 idle siblings under the same supervisor.
const CROWDED_ITERATIONS: usize = 1_000;
const SIBLINGS: usize = 10_000;
const WARMUP: usize = 1_000;
const GOAL_MEDIAN_NS: f64 = 8_000.0;

struct Latency {
    median: f64,
    p99: f64,
}

fn latency(mut samples: Vec<f64>) -> Latency {
    Latency {
        p99: percentile(&mut samples, 99.0),
        median: median(&mut samples),
    }
}

/// Counts a short warm-up, then the timed iterations, and keeps the latter.
struct Sampler {
    done: usize,
    warmup: usize,
    total: usize,
    samples: Vec<f64>,
}

impl Sampler {
    fn new(iterations: usize) -> Self {
        let warmup = WARMUP.min(iterations / 10);
        Sampler {
            done: 0,
            warmup,
            total: warmup + iterations,
            samples: Vec::with_capacity(iterations),
        }
    }

    fn more(&self) -> bool {
        self.done < self.total
    }

    fn record(&mut self, d: Duration) {
        if self.done >= self.warmup {
            self.samples.push(ns(d));
        }
        self.done += 1;
    }

    fn finish(self) -> Latency {
        latency(self.samples)
    }
}

/// Restart latency with `siblings` idle services started before the echo.
fn servitor_restart(siblings: usize, iterations: usize) -> Latency {
    on_actix(move || async move {
        let tree = Supervisor::builder("bench")
            .intensity(100_000, Duration::from_millis(1))
            .children((0..siblings).map(|i| ChildSpec::service(format!("idle{i}"), Idle::default)))
            .child(ChildSpec::service("echo", Echo::default))
            .build()
            .expect("tree");
        let app = Runtime::start(tree).await.expect("runtime");
        let h = app.service::<Echo>("echo").expect("handle");
        let mut s = Sampler::new(iterations);
        while s.more() {
            let t = Instant::now();
            let crashed = h.call(Boom).await;
            assert!(matches!(crashed, Err(CallError::Interrupted { .. })));
            assert_eq!(h.call(Ping).await.expect("restarted child answers"), 1);
            s.record(t.elapsed());
        }
        app.shutdown().await.expect("shutdown");
        s.finish()
    })
}

fn actix_restart() -> Latency {
    on_actix(|| async {
        let addr = actix::Supervisor::start(|_| Echo::default());
        let mut s = Sampler::new(ITERATIONS);
        while s.more() {
            let t = Instant::now();
            black_box(addr.send(StopMe).await.expect("stop"));
            black_box(addr.send(Ping).await.expect("restarted actor answers"));
            s.record(t.elapsed());
        }
        s.finish()
    })
}

mod ractor_sup {
    use super::ractor_echo;
    use ractor::{Actor, ActorProcessingErr, ActorRef, SupervisionEvent};
    use tokio::sync::watch;

    /// Restarts its one child whenever it fails and publishes the new ref.
    pub struct Parent;

    pub type Current = watch::Sender<Option<ActorRef<ractor_echo::Msg>>>;

    impl Actor for Parent {
        type Msg = ();
        type State = Current;
        type Arguments = Current;

        async fn pre_start(
            &self,
            myself: ActorRef<()>,
            current: Current,
        ) -> Result<Current, ActorProcessingErr> {
            let (child, _) =
                Actor::spawn_linked(None, ractor_echo::Echo, (), myself.get_cell()).await?;
            current.send_replace(Some(child));
            Ok(current)
        }

        async fn handle_supervisor_evt(
            &self,
            myself: ActorRef<()>,
            event: SupervisionEvent,
            current: &mut Current,
        ) -> Result<(), ActorProcessingErr> {
            if let SupervisionEvent::ActorFailed(..) = event {
                let (child, _) =
                    Actor::spawn_linked(None, ractor_echo::Echo, (), myself.get_cell()).await?;
                current.send_replace(Some(child));
            }
            Ok(())
        }
    }
}

fn ractor_restart() -> Latency {
    on_tokio(|| async {
        let (tx, mut rx) = watch::channel(None);
        let (parent, _) = ractor::Actor::spawn(None, ractor_sup::Parent, tx)
            .await
            .expect("ractor parent");
        let mut s = Sampler::new(ITERATIONS);
        while s.more() {
            let child = rx.borrow_and_update().clone().expect("child");
            let t = Instant::now();
            let _ = child.call(ractor_echo::Msg::Boom, None).await;
            rx.changed().await.expect("parent alive");
            let child = rx.borrow_and_update().clone().expect("child");
            assert_eq!(ractor_echo::ping(&child).await, 1);
            s.record(t.elapsed());
        }
        parent.stop(None);
        s.finish()
    })
}

mod kameo_sup {
    use super::kameo_echo;
    use kameo::actor::{Actor, ActorID, ActorRef, WeakActorRef};
    use kameo::error::{ActorStopReason, Infallible};
    use std::ops::ControlFlow;
    use tokio::sync::watch;

    pub type Current = watch::Sender<Option<ActorRef<kameo_echo::Echo>>>;

    /// Restarts its one linked child whenever it dies and publishes the new ref.
    pub struct Parent {
        current: Current,
    }

    impl Actor for Parent {
        type Args = Current;
        type Error = Infallible;

        async fn on_start(current: Current, me: ActorRef<Self>) -> Result<Self, Infallible> {
            let child = kameo_echo::Echo::spawn_link(&me, kameo_echo::Echo::default()).await;
            current.send_replace(Some(child));
            Ok(Parent { current })
        }

        async fn on_link_died(
            &mut self,
            me: WeakActorRef<Self>,
            _: ActorID,
            _: ActorStopReason,
        ) -> Result<ControlFlow<ActorStopReason>, Infallible> {
            if let Some(me) = me.upgrade() {
                let child = kameo_echo::Echo::spawn_link(&me, kameo_echo::Echo::default()).await;
                self.current.send_replace(Some(child));
            }
            Ok(ControlFlow::Continue(()))
        }
    }
}

fn kameo_restart() -> Latency {
    use kameo::Actor as _;
    on_tokio(|| async {
        let (tx, mut rx) = watch::channel(None);
        let parent = kameo_sup::Parent::spawn(tx);
        rx.wait_for(Option::is_some).await.expect("first child");
        let mut s = Sampler::new(ITERATIONS);
        while s.more() {
            let child = rx.borrow_and_update().clone().expect("child");
            let t = Instant::now();
            let _ = child.ask(kameo_echo::Boom).await;
            rx.changed().await.expect("parent alive");
            let child = rx.borrow_and_update().clone().expect("child");
            assert_eq!(kameo_echo::ping(&child).await, 1);
            s.record(t.elapsed());
        }
        parent.kill();
        s.finish()
    })
}

pub fn run(rows: &mut Vec<Row>) {
    let s = servitor_restart(0, ITERATIONS);
    let crowded = servitor_restart(SIBLINGS, CROWDED_ITERATIONS);
    let a = actix_restart();
    let r = ractor_restart();
    let k = kameo_restart();
    let met = s.median <= GOAL_MEDIAN_NS;
    rows.push(
        Row::compare(
            "restart after panic, median",
            s.median,
            "actix ctx.stop()",
            a.median,
            Unit::Nanos,
        )
        .goal("median ≤ 8 µs", met),
    );
    rows.push(Row::compare(
        "restart after panic, median (ractor)",
        s.median,
        "ractor",
        r.median,
        Unit::Nanos,
    ));
    rows.push(Row::compare(
        "restart after panic, median (kameo)",
        s.median,
        "kameo",
        k.median,
        Unit::Nanos,
    ));
    rows.push(Row::compare(
        "restart after panic, median, 10k siblings",
        crowded.median,
        "actix ctx.stop()",
        a.median,
        Unit::Nanos,
    ));
    rows.push(Row::compare(
        "restart after panic, p99",
        s.p99,
        "actix ctx.stop()",
        a.p99,
        Unit::Nanos,
    ));
    rows.push(Row::compare(
        "restart after panic, p99 (ractor)",
        s.p99,
        "ractor",
        r.p99,
        Unit::Nanos,
    ));
    rows.push(Row::compare(
        "restart after panic, p99 (kameo)",
        s.p99,
        "kameo",
        k.p99,
        Unit::Nanos,
    ));
}
