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
use crate::paired::Rounds;
use crate::report::{median, ns, percentile, Row, Unit};
use crate::rt::on_actix;
use servitor::{CallError, ChildSpec, Runtime, ServiceRef, Supervisor};
use std::hint::black_box;
use std::time::{Duration, Instant};
use tokio::sync::watch;

/// Restarts per paired round, per contender.
const PER_ROUND: usize = 400;
/// Restarts timed with 10,000 idle siblings under the same supervisor.
const CROWDED_ITERATIONS: usize = 1_000;
const SIBLINGS: usize = 10_000;
const WARMUP: usize = 1_000;
const GOAL_MEDIAN_NS: f64 = 8_000.0;

const CONTENDERS: [&str; 4] = ["servitor", "actix", "ractor", "kameo"];

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
        let mut samples = Vec::with_capacity(iterations);
        for i in 0..WARMUP.min(iterations / 10) + iterations {
            let t = Instant::now();
            servitor_once(&h).await;
            if i >= WARMUP.min(iterations / 10) {
                samples.push(ns(t.elapsed()));
            }
        }
        app.shutdown().await.expect("shutdown");
        samples
    })
}

async fn servitor_once(h: &ServiceRef<Echo>) {
    let crashed = h.call(Boom).await;
    assert!(matches!(crashed, Err(CallError::Interrupted { .. })));
    assert_eq!(h.call(Ping).await.expect("restarted child answers"), 1);
}

/// The four contenders, alive side by side on one actix arbiter (ractor and
/// kameo spawn onto its tokio runtime), so their rounds can alternate.
struct Contenders {
    servitor: ServiceRef<Echo>,
    actix: actix::Addr<Echo>,
    ractor: watch::Receiver<Option<ractor::ActorRef<ractor_echo::Msg>>>,
    kameo: watch::Receiver<Option<kameo::actor::ActorRef<kameo_echo::Echo>>>,
}

impl Contenders {
    /// One restart of contender `i`: from the failing call until the new
    /// instance has answered.
    async fn once(&mut self, i: usize) -> f64 {
        match i {
            0 => {
                let t = Instant::now();
                servitor_once(&self.servitor).await;
                ns(t.elapsed())
            }
            1 => {
                let t = Instant::now();
                black_box(self.actix.send(StopMe).await.expect("stop"));
                black_box(self.actix.send(Ping).await.expect("restarted actor answers"));
                ns(t.elapsed())
            }
            2 => {
                let child = self.ractor.borrow_and_update().clone().expect("child");
                let t = Instant::now();
                let _ = child.call(ractor_echo::Msg::Boom, None).await;
                self.ractor.changed().await.expect("parent alive");
                let child = self.ractor.borrow_and_update().clone().expect("child");
                assert_eq!(ractor_echo::ping(&child).await, 1);
                ns(t.elapsed())
            }
            _ => {
                let child = self.kameo.borrow_and_update().clone().expect("child");
                let t = Instant::now();
                let _ = child.ask(kameo_echo::Boom).await;
                self.kameo.changed().await.expect("parent alive");
                let child = self.kameo.borrow_and_update().clone().expect("child");
                assert_eq!(kameo_echo::ping(&child).await, 1);
                ns(t.elapsed())
            }
        }
    }
}

/// Paired rounds of `PER_ROUND` restarts (a round's figure is its median),
/// and every sample of every contender for the tail.
fn paired() -> (Rounds, [Vec<f64>; 4]) {
    use kameo::Actor as _;
    on_actix(|| async {
        let tree = Supervisor::builder("bench")
            .intensity(1_000_000, Duration::from_millis(1))
            .child(ChildSpec::service("echo", Echo::default))
            .build()
            .expect("tree");
        let app = Runtime::start(tree).await.expect("runtime");
        let (rtx, ractor) = watch::channel(None);
        let (ractor_parent, _) = ractor::Actor::spawn(None, ractor_sup::Parent, rtx)
            .await
            .expect("ractor parent");
        let (ktx, mut kameo) = watch::channel(None);
        let kameo_parent = kameo_sup::Parent::spawn(ktx);
        kameo.wait_for(Option::is_some).await.expect("first child");
        let mut c = Contenders {
            servitor: app.service::<Echo>("echo").expect("handle"),
            actix: actix::Supervisor::start(|_| Echo::default()),
            ractor,
            kameo,
        };
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
        ractor_parent.stop(None);
        kameo_parent.kill();
        app.shutdown().await.expect("shutdown");
        (rounds, all)
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

pub fn run(rows: &mut Vec<Row>) {
    let (rounds, mut all) = paired();
    let s = rounds.median(0);
    let met = s <= GOAL_MEDIAN_NS && rounds.ratio(0, 2).median < 1.0 && rounds.ratio(0, 3).median < 1.0;
    for (i, peer) in [(1, "actix ctx.stop()"), (2, "ractor"), (3, "kameo")] {
        let name = if i == 1 {
            "restart after panic, median".to_string()
        } else {
            format!("restart after panic, median ({})", rounds.name(i))
        };
        let row = Row::paired(&name, s, peer, rounds.median(i), rounds.ratio(0, i), Unit::Nanos);
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
