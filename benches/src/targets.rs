//! The contenders of the call and restart benchmarks, set up side by side on
//! one actix arbiter (ractor and kameo spawn onto its tokio runtime) so that
//! their rounds can alternate, and so that the instruction counts
//! (`--bin instructions`) measure exactly what the timed runs measure.

use crate::actors::{kameo_echo, ractor_echo, Boom, Echo, Ping, StopMe};
use actix::Actor;
use servitor::{CallError, ChildSpec, Runtime, ServiceRef, Supervisor};
use std::hint::black_box;
use std::time::Duration;
use tokio::sync::watch;

/// Contender names, in the order every index below uses.
pub const CONTENDERS: [&str; 4] = ["servitor", "actix", "ractor", "kameo"];

/// The four callers' handles, all pointing at echo actors on one arbiter.
#[derive(Clone)]
pub struct Calls {
    servitor: ServiceRef<Echo>,
    actix: actix::Addr<Echo>,
    ractor: ractor::ActorRef<ractor_echo::Msg>,
    kameo: kameo::actor::ActorRef<kameo_echo::Echo>,
}

/// What keeps the call targets alive; `finish` stops them.
pub struct CallsOwner {
    app: Runtime,
    ractor: ractor::ActorRef<ractor_echo::Msg>,
}

impl CallsOwner {
    pub async fn finish(self) {
        self.ractor.stop(None);
        self.app.shutdown().await.expect("shutdown");
    }
}

impl Calls {
    /// Starts the four echo actors on the current arbiter.
    pub async fn start() -> (Calls, CallsOwner) {
        let tree = Supervisor::builder("bench")
            .child(ChildSpec::service("echo", Echo::default))
            .build()
            .expect("tree");
        let app = Runtime::start(tree).await.expect("runtime");
        let (ractor, _) = ractor::Actor::spawn(None, ractor_echo::Echo, ())
            .await
            .expect("ractor spawn");
        let calls = Calls {
            servitor: app.service::<Echo>("echo").expect("handle"),
            actix: Echo::default().start(),
            ractor: ractor.clone(),
            kameo: kameo::Actor::spawn(kameo_echo::Echo::default()),
        };
        (calls, CallsOwner { app, ractor })
    }

    /// `n` call round trips to contender `i`.
    pub async fn calls(&self, i: usize, n: u32) {
        match i {
            0 => {
                for _ in 0..n {
                    black_box(self.servitor.call(Ping).await.expect("servitor call"));
                }
            }
            1 => {
                for _ in 0..n {
                    black_box(self.actix.send(Ping).await.expect("actix send"));
                }
            }
            2 => {
                for _ in 0..n {
                    black_box(ractor_echo::ping(&self.ractor).await);
                }
            }
            _ => {
                for _ in 0..n {
                    black_box(kameo_echo::ping(&self.kameo).await);
                }
            }
        }
    }
}

/// Four supervised echo actors that fail and come back:
///
/// * servitor: the handler panics; the supervisor restarts the child; the
///   next `ServiceRef::call` reaches the new instance.
/// * actix: the handler calls `ctx.stop()` under `actix::Supervisor`, which
///   restarts the same actor on the same `Addr` (actix does not catch
///   panics, so this is its cheapest form of restart).
/// * ractor: the handler panics; the parent's `handle_supervisor_evt` spawns
///   a new linked child and publishes its `ActorRef`.
/// * kameo: the handler panics; the linked parent's `on_link_died` spawns a
///   new linked child and publishes its `ActorRef`.
pub struct Restarts {
    app: Runtime,
    servitor: ServiceRef<Echo>,
    actix: actix::Addr<Echo>,
    ractor_parent: ractor::ActorRef<()>,
    ractor: watch::Receiver<Option<ractor::ActorRef<ractor_echo::Msg>>>,
    kameo_parent: kameo::actor::ActorRef<kameo_sup::Parent>,
    kameo: watch::Receiver<Option<kameo::actor::ActorRef<kameo_echo::Echo>>>,
}

impl Restarts {
    /// Starts the four supervised echo actors on the current arbiter.
    pub async fn start() -> Restarts {
        use kameo::Actor as _;
        let tree = Supervisor::builder("bench")
            .intensity(100_000, Duration::from_millis(1))
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
        Restarts {
            servitor: app.service::<Echo>("echo").expect("handle"),
            app,
            actix: actix::Supervisor::start(|_| Echo::default()),
            ractor_parent,
            ractor,
            kameo_parent,
            kameo,
        }
    }

    /// One restart of contender `i`, from the call that makes it fail until
    /// the new instance has answered; the time of that span, in nanoseconds.
    pub async fn once(&mut self, i: usize) -> f64 {
        match i {
            0 => {
                let t = std::time::Instant::now();
                servitor_once(&self.servitor).await;
                crate::report::ns(t.elapsed())
            }
            1 => {
                let t = std::time::Instant::now();
                black_box(self.actix.send(StopMe).await.expect("stop"));
                black_box(
                    self.actix
                        .send(Ping)
                        .await
                        .expect("restarted actor answers"),
                );
                crate::report::ns(t.elapsed())
            }
            2 => {
                let child = self.ractor.borrow_and_update().clone().expect("child");
                let t = std::time::Instant::now();
                let _ = child.call(ractor_echo::Msg::Boom, None).await;
                self.ractor.changed().await.expect("parent alive");
                let child = self.ractor.borrow_and_update().clone().expect("child");
                assert_eq!(ractor_echo::ping(&child).await, 1);
                crate::report::ns(t.elapsed())
            }
            _ => {
                let child = self.kameo.borrow_and_update().clone().expect("child");
                let t = std::time::Instant::now();
                let _ = child.ask(kameo_echo::Boom).await;
                self.kameo.changed().await.expect("parent alive");
                let child = self.kameo.borrow_and_update().clone().expect("child");
                assert_eq!(kameo_echo::ping(&child).await, 1);
                crate::report::ns(t.elapsed())
            }
        }
    }

    pub async fn finish(self) {
        self.ractor_parent.stop(None);
        self.kameo_parent.kill();
        self.app.shutdown().await.expect("shutdown");
    }
}

/// One servitor restart through a handle the caller already holds.
pub async fn servitor_once(h: &ServiceRef<Echo>) {
    let crashed = h.call(Boom).await;
    assert!(matches!(crashed, Err(CallError::Interrupted { .. })));
    assert_eq!(h.call(Ping).await.expect("restarted child answers"), 1);
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
