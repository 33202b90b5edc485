//! One incarnation of a child: building it, running it, and turning however
//! it ends — return, error, kill or panic — into an [`ExitReason`].
//!
//! This is where a panic in an actor becomes a failure of its
//! incarnation. actix runs an actor as a future on its arbiter; a panic in
//! any handler, hook or spawned actor future unwinds out of that future's
//! `poll`. Left alone it would reach tokio's task harness, which drops the
//! actor silently. Here the actor's future is polled under `catch_unwind`
//! and the payload read as a [`Panic`](crate::kit::Panic), so the panic
//! becomes `ExitReason::Panicked(message)` and the supervisor hears of it. (With
//! `panic = "abort"` in the build profile nothing can be caught and the
//! process ends.) Panics in code that is not an actor — bus handlers,
//! cache loaders, tasks, jobs — are caught with the same kit functions
//! where that code runs.
//!
//! An instance is one task ([`Instance`]) holding the actor's context
//! inline, and one shared block (its [`ServiceContext`]) that its
//! supervisor, its handles and its code all hold; it costs its arbiter
//! little while it idles: one actix context item (the [`Lifeline`]) watches
//! for a stop request and the next health check with an atomic load and a
//! timer check per wake-up, and its end reaches the supervisor through one
//! channel shared by all of its children.

use super::check_clock;
use super::spec::{ChildHooks, Factory};
use crate::exit::ExitReason;
use crate::handle::{AnySlot, Directory, Slot};
use crate::kit::catch_panic;
use crate::placement::{Arbiters, Place, Placement, Target};
use crate::registry::Registry;
use crate::service::{as_current, Service, ServiceContext};
use crate::status::Status;
use actix::dev::channel::{self, AddressSender};
use actix::dev::ContextFut;
use actix::fut::{wrap_future, ActorFuture, ActorFutureExt};
use actix::{ActorContext, AsyncContext, Context};
use parking_lot::Mutex;
use std::future::Future;
use std::marker::PhantomData;
use std::panic::AssertUnwindSafe;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context as TaskContext, Poll};
use std::time::Duration;
use tokio::sync::{mpsc, oneshot};
use tokio::time::Instant;

/// An instance's mailbox capacity before its actor sets another (actix's
/// default).
const MAILBOX_CAPACITY: usize = 16;

/// The shortest health interval honoured, so a zero cannot spin the arbiter.
const MIN_HEALTH_INTERVAL: Duration = Duration::from_millis(1);

/// What a child needs to start: who it is and the runtime it belongs to.
#[derive(Clone)]
pub(crate) struct StartEnv {
    pub name: Arc<str>,
    pub path: Arc<str>,
    pub incarnation: u64,
    pub restarts: u32,
    pub registry: Registry,
    pub directory: Directory,
    /// What the runtime's shutdown collects (kills, failed stops).
    pub shutdown_log: Arc<crate::runtime::ShutdownLog>,
    /// The first child of the tree that failed to start (the deepest one).
    pub first_failure: Arc<Mutex<Option<super::StartFailure>>>,
    /// Where the instance announces its end (its supervisor's exit stream).
    pub exits: Option<mpsc::UnboundedSender<ExitNotice>>,
    /// The child's lifecycle hooks, kept with its handle slot.
    pub hooks: Option<Arc<dyn ChildHooks>>,
    /// The runtime's arbiters.
    pub arbiters: Arc<Arbiters>,
    /// Where this node runs (and, for a supervisor, where its children run
    /// unless they say otherwise).
    pub placement: Placement,
}

/// "Incarnation `number` of child `id` has ended": read the reason from
/// the incarnation's context.
pub(crate) struct ExitNotice {
    pub id: Arc<str>,
    pub number: u64,
}

/// A running (or starting) instance, as its supervisor holds it.
pub(crate) struct Incarnation {
    pub number: u64,
    /// Resolves with the time the start hook succeeded; dropped when it
    /// did not.
    pub started: Option<oneshot::Receiver<Instant>>,
    /// The incarnation's context: also how it ended, once it has.
    pub cx: ServiceContext,
    /// Where it runs, unless on its supervisor's own thread (a dedicated
    /// thread is stopped with it; a pool arbiter counts it while it lives).
    place: Option<Box<Place>>,
}

impl Incarnation {
    /// Asks the instance to run its stop hook and end.
    pub fn request_stop(&mut self) {
        self.cx.request_stop_hook();
    }

    /// Ends the instance at once; its stop hook may not run.
    pub fn kill(&self) {
        self.cx.abort();
    }

    /// Ends the instance at once as if it had failed with `reason`.
    pub fn crash(&self, reason: String) {
        self.cx.record_failure(reason);
        self.cx.abort();
    }

    /// How the instance ended, once it has.
    pub fn exit_reason(&self) -> Option<ExitReason> {
        self.cx.exit_reason()
    }

    /// Waits until the instance has ended.
    pub fn exited(&self) -> impl Future<Output = ExitReason> + 'static {
        self.cx.exited()
    }
}

impl Drop for Incarnation {
    fn drop(&mut self) {
        // An instance must never outlive the supervisor that holds it.
        if !self.cx.has_exited() {
            self.cx.abort();
        }
        if let Some(place) = self.place.take() {
            if let Target::Own(arbiter) = place.target {
                arbiter.stop();
            }
        }
    }
}

/// Builds and runs one instance of `A` where `place` says.
pub(crate) fn spawn_service<A: Service>(
    make: Arc<dyn Factory<A>>,
    env: &StartEnv,
    preset: Option<&Arc<Slot<A>>>,
    place: Place,
) -> Incarnation {
    let slot: Arc<Slot<A>> = match preset {
        Some(slot) => env
            .directory
            .adopt(&env.name, &env.path, slot, env.hooks.as_ref()),
        None => env
            .directory
            .slot::<A>(&env.name, &env.path, env.hooks.as_ref()),
    };
    let span = tracing::info_span!(
        "service",
        name = %env.name,
        path = %env.path,
        incarnation = env.incarnation
    );
    let cx = ServiceContext::new(
        env.name.clone(),
        env.path.clone(),
        env.incarnation,
        env.restarts,
        env.registry.clone(),
        env.arbiters.clone(),
    );
    let (started_tx, started_rx) = oneshot::channel();
    let announce = Announce {
        cx: cx.clone(),
        slot: slot.clone(),
        exits: env.exits.clone(),
        done: false,
    };
    // The instance is made where it runs, so nothing of it needs to be
    // `Send`. An arbiter that is gone drops the closure, and with it the
    // announcement: the incarnation is reported killed.
    let spawn_here = {
        let cx = cx.clone();
        move || {
            let instance = Instance {
                current: Some(announce.cx.clone()),
                span: (!span.is_disabled()).then(|| Box::new(span)),
                body: Body {
                    stage: Stage::Make {
                        make,
                        started: started_tx,
                    },
                    announce,
                },
            };
            cx.set_abort(actix_rt::spawn(instance).abort_handle())
        }
    };
    match &place.target {
        Target::Here => spawn_here(),
        Target::There(arbiter) => {
            arbiter.spawn_fn(spawn_here);
        }
        Target::Own(arbiter) => {
            arbiter.spawn_fn(spawn_here);
        }
    }
    Incarnation {
        number: env.incarnation,
        started: Some(started_rx),
        cx,
        place: (!matches!(place.target, Target::Here) || place.load.is_some())
            .then(|| Box::new(place)),
    }
}

/// Where an instance's task is in its life.
// The context is inline on purpose: boxing it would cost every instance a
// second allocation.
#[allow(clippy::large_enum_variant)]
enum Stage<A: Service> {
    /// Not polled yet: the actor is built on the first poll, on the thread
    /// it runs on.
    Make {
        make: Arc<dyn Factory<A>>,
        started: oneshot::Sender<Instant>,
    },
    /// The actor's actix context, polled with panics caught.
    Running(ContextFut<A, Context<A>>),
    Done,
}

/// The task of one instance. It holds the actor's context inline (one
/// allocation for the whole instance), makes its service the current one
/// while it is polled, and turns a panic in any poll into the incarnation's
/// failure.
struct Instance<A: Service> {
    body: Body<A>,
    /// The instance's context while it is not polled; while it is, the
    /// thread's current one (moved there and back, see `as_current`).
    current: Option<ServiceContext>,
    /// The `service` span every poll runs in; kept only when a subscriber
    /// wants it.
    span: Option<Box<tracing::Span>>,
}

/// The instance proper: its stage, and who hears how it ended.
struct Body<A: Service> {
    stage: Stage<A>,
    announce: Announce<A>,
}

/// Publishes how an incarnation ended, however its task ends — finished,
/// panicked, or dropped by an abort, also before it ran.
struct Announce<A: Service> {
    cx: ServiceContext,
    slot: Arc<Slot<A>>,
    /// The supervisor's exit stream.
    exits: Option<mpsc::UnboundedSender<ExitNotice>>,
    done: bool,
}

impl<A: Service> Announce<A> {
    fn publish(&mut self, reason: ExitReason) {
        self.done = true;
        self.slot.down();
        self.cx.set_exit(reason);
        if let Some(tx) = self.exits.take() {
            let _ = tx.send(ExitNotice {
                id: self.cx.name_shared().clone(),
                number: self.cx.incarnation(),
            });
        }
    }
}

impl<A: Service> Drop for Announce<A> {
    fn drop(&mut self) {
        if !self.done {
            // Killed before it could say how it ended (or failed, when its
            // supervisor crashed it on purpose).
            let reason = match self.cx.failure() {
                Some(reason) => ExitReason::Failed(reason),
                None => ExitReason::Killed,
            };
            self.publish(reason);
        }
    }
}

impl<A: Service> Body<A> {
    /// Builds the actor and its context; `Err` with the reason when the
    /// factory panicked.
    fn make(&mut self) -> Result<(), ExitReason> {
        let Stage::Make { make, .. } = &self.stage else {
            return Ok(());
        };
        let actor =
            catch_panic(|| make.make()).map_err(|p| ExitReason::Panicked(p.into_message()))?;
        let Stage::Make { started, .. } = std::mem::replace(&mut self.stage, Stage::Done) else {
            unreachable!("checked above")
        };
        let interval = actor.health_interval().max(MIN_HEALTH_INTERVAL);
        let beats = actor.beats_on_health_check();
        let cx = &self.announce.cx;
        cx.registry()
            .begin_incarnation(cx.name(), cx.incarnation(), interval);
        // The mailbox is made here (as `Context::new` would) to keep a
        // sender of it for the handle slot.
        let (mailbox, receiver) = channel::channel(MAILBOX_CAPACITY);
        let mut ctx = Context::<A>::with_receiver(receiver);
        ctx.wait(lifecycle::<A>(
            cx.clone(),
            self.announce.slot.clone(),
            mailbox,
            started,
            interval,
            beats,
        ));
        self.stage = Stage::Running(ctx.into_future(actor));
        Ok(())
    }

    /// How a context that finished without a panic ended.
    fn finished(&self) -> ExitReason {
        let cx = &self.announce.cx;
        match cx.ending() {
            // A failure the service reported, or a supervisor that gave up.
            Some(ending) => ending,
            None if !cx.is_running() => ExitReason::Shutdown,
            None => ExitReason::Normal,
        }
    }

    /// Drops the actor and its context. Dropping an actix context polls it
    /// once more: a second panic there is kept from escaping.
    fn drop_stage(&mut self) {
        let stage = std::mem::replace(&mut self.stage, Stage::Done);
        if !matches!(stage, Stage::Done) {
            as_current(&mut Some(self.announce.cx.clone()), || {
                let _ = catch_panic(move || drop(stage));
            });
        }
    }

    /// One poll, with panics caught: `Some` with the reason once it ended.
    fn step(&mut self, task: &mut TaskContext<'_>) -> Option<ExitReason> {
        if let Err(reason) = self.make() {
            return Some(reason);
        }
        let Stage::Running(fut) = &mut self.stage else {
            return Some(ExitReason::Killed);
        };
        match poll_caught(fut, task) {
            Ok(Poll::Pending) => None,
            Ok(Poll::Ready(())) => Some(self.finished()),
            Err(payload) => {
                let panic = crate::kit::Panic::from_payload(&*payload);
                let cx = &self.announce.cx;
                tracing::error!(service = %cx.name(), path = %cx.path(), incarnation = cx.incarnation(), panic = %panic.message(), "service panicked");
                Some(ExitReason::Panicked(panic.into_message()))
            }
        }
    }
}

/// One poll of a running context under `catch_unwind`, in a frame of its
/// own. A panic's unwinding scans the call-site table of every frame it
/// passes, the catching one included; here that table has one entry.
#[inline(never)]
fn poll_caught<A: Service>(
    fut: &mut ContextFut<A, Context<A>>,
    task: &mut TaskContext<'_>,
) -> std::thread::Result<Poll<()>> {
    std::panic::catch_unwind(AssertUnwindSafe(|| Pin::new(fut).poll(task)))
}

impl<A: Service> Future for Instance<A> {
    type Output = ();

    fn poll(mut self: Pin<&mut Self>, task: &mut TaskContext<'_>) -> Poll<()> {
        let this = &mut *self;
        let body = &mut this.body;
        if body.announce.done {
            return Poll::Ready(());
        }
        let _entered = this.span.as_deref().map(tracing::Span::enter);
        match as_current(&mut this.current, || body.step(task)) {
            None => Poll::Pending,
            Some(reason) => {
                body.drop_stage();
                body.announce.publish(reason);
                Poll::Ready(())
            }
        }
    }
}

impl<A: Service> Drop for Body<A> {
    fn drop(&mut self) {
        // Before the announcement (a field, dropped after this): the old
        // instance is gone before anybody hears it ended.
        self.drop_stage();
    }
}

/// The runtime's part of an actor's life, run inside its context: the start
/// hook (blocking messages until done), then the [`Lifeline`].
fn lifecycle<A: Service>(
    cx: ServiceContext,
    slot: Arc<Slot<A>>,
    mailbox: AddressSender<A>,
    started: oneshot::Sender<Instant>,
    interval: Duration,
    beats: bool,
) -> impl ActorFuture<A, Output = ()> {
    let hook_cx = cx.clone();
    wrap_future::<_, A>(std::future::ready(()))
        .then(move |(), act: &mut A, ctx: &mut Context<A>| act.start(&hook_cx, ctx))
        .map(
            move |result, act: &mut A, ctx: &mut Context<A>| match result {
                Err(e) => {
                    tracing::warn!(service = %cx.name(), path = %cx.path(), error = %e, "start hook failed");
                    cx.record_failure(format!("start failed: {e}"));
                    ActorContext::stop(ctx);
                }
                Ok(()) => {
                    slot.up(mailbox);
                    let now = Instant::now();
                    cx.report_running(act.initial_status(), now);
                    let _ = started.send(now);
                    let next = check_clock::schedule(crate::clock::after(now, interval), &cx);
                    ctx.spawn(Lifeline {
                        cx,
                        next: Some(next),
                        interval,
                        beats,
                        armed: false,
                        actor: PhantomData,
                    });
                }
            },
        )
}

/// The one context item the runtime keeps in a running instance: it runs
/// the health check when the arbiter's [check clock](super::check_clock)
/// says it is due, and the stop hook when a stop was requested. actix polls
/// every item of a context on every wake-up, so it checks both with an
/// atomic load each.
struct Lifeline<A> {
    cx: ServiceContext,
    /// The next check asked for.
    next: Option<check_clock::Ticket>,
    interval: Duration,
    beats: bool,
    /// The instance's task is registered to be woken.
    armed: bool,
    actor: PhantomData<fn(A)>,
}

impl<A: Service> ActorFuture<A> for Lifeline<A> {
    type Output = ();

    fn poll(
        self: Pin<&mut Self>,
        act: &mut A,
        ctx: &mut Context<A>,
        task: &mut TaskContext<'_>,
    ) -> Poll<()> {
        let this = self.get_mut();
        loop {
            if !this.armed {
                // Registered before the flags are read: a flag set after
                // the read wakes the task.
                this.cx.register_waker(task.waker());
                this.armed = true;
            }
            if this.cx.stop_hook_requested() {
                let cx = this.cx.clone();
                cx.report(Status::Stopping, None);
                let hook = act.stop(&cx, ctx);
                ctx.wait(hook.map(|(), _, ctx: &mut Context<A>| ActorContext::stop(ctx)));
                return Poll::Ready(());
            }
            if !this.cx.take_check_due() {
                return Poll::Pending;
            }
            // The wake-up used the registration up.
            this.armed = false;
            this.next = None;
            if this.beats {
                this.cx.heartbeat();
            }
            // Wall time on purpose: what the check cost, also on a paused clock.
            let began = std::time::Instant::now();
            let checked = act.health_check(&this.cx, ctx);
            this.cx
                .registry()
                .record_check(this.cx.name(), this.cx.incarnation(), began.elapsed());
            if let Some(status) = checked {
                this.cx.report(status, None);
            }
            this.next = Some(check_clock::schedule(
                crate::clock::after(Instant::now(), this.interval),
                &this.cx,
            ));
        }
    }
}

impl<A> Drop for Lifeline<A> {
    fn drop(&mut self) {
        if let Some(next) = self.next.take() {
            check_clock::cancel(next);
        }
    }
}
