//! One incarnation of a child: building it, running it, and turning however
//! it ends — return, error, kill or panic — into an [`ExitReason`].
//!
//! This is where a panic in an actor becomes a failure of its
//! incarnation. actix runs an actor as a future on its arbiter; a panic in
//! any handler, hook or spawned actor future unwinds out of that future's
//! `poll`. Left alone it would reach tokio's task harness, which drops the
//! actor silently. Here the actor's future is polled under the kit's
//! [`catch_panic_async`](crate::kit::catch_panic_async), so the panic becomes
//! `ExitReason::Panicked(message)` and the supervisor hears of it. (With
//! `panic = "abort"` in the build profile nothing can be caught and the
//! process ends.) Panics in code that is not an actor — bus handlers,
//! cache loaders, tasks, jobs — are caught with the same kit functions
//! where that code runs.
//!
//! An instance costs its arbiter little while it idles: one actix context
//! item (the [`Lifeline`]) watches for a stop request and the next health
//! check with two atomic loads per wake-up, and its end reaches the
//! supervisor through one channel shared by all of its children.

use super::spec::ChildHooks;
use crate::exit::ExitReason;
use crate::handle::{AnySlot, Directory, Slot};
use crate::kit::{catch_panic, catch_panic_async};
use crate::placement::{Arbiters, Place, Placement, Target};
use crate::registry::Registry;
use crate::service::{Service, ServiceContext};
use crate::status::Status;
use actix::fut::{wrap_future, ActorFuture, ActorFutureExt};
use actix::{ActorContext, AsyncContext, Context};
use futures_util::task::AtomicWaker;
use parking_lot::Mutex;
use std::future::Future;
use std::marker::PhantomData;
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::task::{Context as TaskContext, Poll};
use std::time::Duration;
use tokio::sync::{mpsc, oneshot, Notify};
use tokio::time::{Instant, Sleep};
use tracing::Instrument;

/// The shortest health interval honoured, so a zero cannot spin the arbiter.
const MIN_HEALTH_INTERVAL: Duration = Duration::from_millis(1);

/// What a child needs to start: who it is and the runtime it belongs to.
#[derive(Clone)]
pub(crate) struct StartEnv {
    pub name: String,
    pub path: String,
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
/// the incarnation's [`ExitCell`].
pub(crate) struct ExitNotice {
    pub id: Arc<str>,
    pub number: u64,
}

/// How an instance ended, once it has.
#[derive(Default)]
pub(crate) struct ExitCell {
    reason: Mutex<Option<ExitReason>>,
    ended: Notify,
}

impl ExitCell {
    pub fn reason(&self) -> Option<ExitReason> {
        self.reason.lock().clone()
    }

    pub async fn wait(self: Arc<Self>) -> ExitReason {
        loop {
            let ended = self.ended.notified();
            tokio::pin!(ended);
            ended.as_mut().enable();
            if let Some(reason) = self.reason() {
                return reason;
            }
            ended.await;
        }
    }
}

/// A stop request, seen by the instance's [`Lifeline`].
#[derive(Default)]
struct StopSignal {
    requested: AtomicBool,
    waker: AtomicWaker,
}

/// Aborts an instance's task, also one spawned on another thread that has
/// not handed its abort handle over yet.
#[derive(Default)]
struct Abort {
    state: Mutex<(Option<tokio::task::AbortHandle>, bool)>,
}

impl Abort {
    /// The task was spawned: remember how to abort it (at once, if asked to
    /// already).
    fn set(&self, handle: tokio::task::AbortHandle) {
        let mut state = self.state.lock();
        if state.1 {
            handle.abort();
        }
        state.0 = Some(handle);
    }

    fn abort(&self) {
        let mut state = self.state.lock();
        state.1 = true;
        if let Some(handle) = &state.0 {
            handle.abort();
        }
    }
}

/// A running (or starting) instance, as its supervisor holds it.
pub(crate) struct Incarnation {
    pub number: u64,
    /// Resolves when the start hook succeeded; dropped when it did not.
    pub started: Option<oneshot::Receiver<()>>,
    pub exit: Arc<ExitCell>,
    stop: Arc<StopSignal>,
    pub cx: ServiceContext,
    abort: Arc<Abort>,
    pub slot: Arc<dyn AnySlot>,
    /// Where it runs (a dedicated thread is stopped with it; a pool
    /// arbiter counts it while it lives).
    place: Option<Place>,
}

impl Incarnation {
    /// Asks the instance to run its stop hook and end.
    pub fn request_stop(&mut self) {
        self.cx.request_stop();
        self.stop.requested.store(true, Ordering::Release);
        self.stop.waker.wake();
    }

    /// Ends the instance at once; its stop hook may not run.
    pub fn kill(&self) {
        self.abort.abort();
    }

    /// Ends the instance at once as if it had failed with `reason`.
    pub fn crash(&self, reason: String) {
        self.cx.record_failure(reason);
        self.abort.abort();
    }

    /// Waits until the instance has ended.
    pub fn exited(&self) -> impl std::future::Future<Output = ExitReason> + 'static {
        self.exit.clone().wait()
    }
}

impl Drop for Incarnation {
    fn drop(&mut self) {
        // An instance must never outlive the supervisor that holds it.
        if self.exit.reason.lock().is_none() {
            self.abort.abort();
        }
        if let Some(Place {
            target: Target::Own(arbiter),
            ..
        }) = self.place.take()
        {
            arbiter.stop();
        }
    }
}

/// Publishes an instance's end however its task ends — finished, panicked,
/// or dropped unpolled by an abort — because it lives in the task's future.
struct ExitGuard {
    reason: Option<ExitReason>,
    cx: ServiceContext,
    cell: Arc<ExitCell>,
    slot: Arc<dyn AnySlot>,
    notice: Option<(mpsc::UnboundedSender<ExitNotice>, ExitNotice)>,
}

impl Drop for ExitGuard {
    fn drop(&mut self) {
        let reason = self
            .reason
            .take()
            .unwrap_or_else(|| match self.cx.failure() {
                // Killed before it could say how it ended.
                Some(reason) => ExitReason::Failed(reason),
                None => ExitReason::Killed,
            });
        self.slot.down();
        *self.cell.reason.lock() = Some(reason);
        self.cell.ended.notify_waiters();
        if let Some((tx, notice)) = self.notice.take() {
            let _ = tx.send(notice);
        }
    }
}

/// Builds and runs one instance of `A` where `place` says.
pub(crate) fn spawn_service<A: Service>(
    make: Arc<dyn Fn() -> A + Send + Sync>,
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
    let cx = ServiceContext::new(
        &env.name,
        &env.path,
        env.incarnation,
        env.restarts,
        env.registry.clone(),
        env.arbiters.clone(),
    );
    let (started_tx, started_rx) = oneshot::channel();
    let stop = Arc::new(StopSignal::default());
    let cell = Arc::new(ExitCell::default());
    let guard = ExitGuard {
        reason: None,
        cx: cx.clone(),
        cell: cell.clone(),
        slot: slot.clone(),
        notice: env.exits.clone().map(|tx| {
            let notice = ExitNotice {
                id: Arc::from(env.name.as_str()),
                number: env.incarnation,
            };
            (tx, notice)
        }),
    };
    let span = tracing::info_span!(
        "service",
        name = %env.name,
        path = %env.path,
        incarnation = env.incarnation
    );
    let abort = Arc::new(Abort::default());
    // Made where it runs, so nothing of the instance needs to be `Send`.
    let body = {
        let cx = cx.clone();
        let slot = slot.clone();
        let stop = stop.clone();
        move || {
            async move {
                let mut guard = guard;
                guard.reason = Some(run::<A>(make, cx, slot, started_tx, stop).await);
            }
            .instrument(span)
        }
    };
    let spawn_here = {
        let abort = abort.clone();
        move || abort.set(actix_rt::spawn(body()).abort_handle())
    };
    // An arbiter that is gone drops the closure: the exit guard in it
    // reports the instance killed.
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
        exit: cell,
        stop,
        cx,
        abort,
        slot,
        place: Some(place),
    }
}

async fn run<A: Service>(
    make: Arc<dyn Fn() -> A + Send + Sync>,
    cx: ServiceContext,
    slot: Arc<Slot<A>>,
    started: oneshot::Sender<()>,
    stop: Arc<StopSignal>,
) -> ExitReason {
    let actor = match catch_panic(|| make()) {
        Ok(actor) => actor,
        Err(panic) => return ExitReason::Panicked(panic.into_message()),
    };
    let interval = actor.health_interval().max(MIN_HEALTH_INTERVAL);
    let beats = actor.beats_on_health_check();
    cx.registry()
        .begin_incarnation(cx.name(), cx.incarnation(), interval);
    let mut ctx = Context::<A>::new();
    ctx.wait(lifecycle::<A>(
        cx.clone(),
        slot,
        started,
        stop,
        interval,
        beats,
    ));
    let mut running = Box::pin(catch_panic_async(crate::service::InService::new(
        cx.clone(),
        ctx.into_future(actor),
    )));
    let outcome = (&mut running).await;
    // Dropping an actix context polls it once more; keep a second panic there
    // from escaping.
    let _ = catch_panic(move || drop(running));
    match outcome {
        Err(panic) => {
            tracing::error!(service = %cx.name(), path = %cx.path(), incarnation = cx.incarnation(), panic = %panic.message(), "service panicked");
            ExitReason::Panicked(panic.into_message())
        }
        Ok(()) => match (cx.ending(), cx.failure()) {
            (Some(ending), _) => ending,
            (None, Some(reason)) => ExitReason::Failed(reason),
            (None, None) if !cx.is_running() => ExitReason::Shutdown,
            (None, None) => ExitReason::Normal,
        },
    }
}

/// The runtime's part of an actor's life, run inside its context: the start
/// hook (blocking messages until done), then the [`Lifeline`].
fn lifecycle<A: Service>(
    cx: ServiceContext,
    slot: Arc<Slot<A>>,
    started: oneshot::Sender<()>,
    stop: Arc<StopSignal>,
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
                    slot.up(ctx.address());
                    cx.registry().mark_running(cx.name(), cx.incarnation());
                    cx.report(act.initial_status(), None);
                    let _ = started.send(());
                    ctx.spawn(Lifeline {
                        cx,
                        stop,
                        check: Box::pin(tokio::time::sleep(interval)),
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
/// the health check when its timer has fired and the stop hook when a stop
/// was requested. actix polls every item of a context on every wake-up, so
/// it checks both with an atomic load each and only touches the timer when
/// the timer has fired.
struct Lifeline<A> {
    cx: ServiceContext,
    stop: Arc<StopSignal>,
    check: Pin<Box<Sleep>>,
    interval: Duration,
    beats: bool,
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
        if !this.armed {
            // The instance's task never changes, so one registration lasts.
            this.stop.waker.register(task.waker());
            let _ = this.check.as_mut().poll(task);
            this.armed = true;
        }
        if this.stop.requested.load(Ordering::Acquire) {
            let cx = this.cx.clone();
            cx.request_stop();
            cx.report(Status::Stopping, None);
            let hook = act.stop(&cx, ctx);
            ctx.wait(hook.map(|(), _, ctx: &mut Context<A>| ActorContext::stop(ctx)));
            return Poll::Ready(());
        }
        if this.check.is_elapsed() {
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
            this.check
                .as_mut()
                .reset(crate::clock::after(Instant::now(), this.interval));
            if this.check.as_mut().poll(task).is_ready() {
                task.waker().wake_by_ref();
            }
        }
        Poll::Pending
    }
}
