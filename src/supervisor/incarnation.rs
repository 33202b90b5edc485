//! One incarnation of a child: building it, running it, and turning however
//! it ends — return, error, kill or panic — into an [`ExitReason`].
//!
//! This is the one place where panics are caught. actix runs an actor as a
//! future on its arbiter; a panic in any handler, hook or spawned actor
//! future unwinds out of that future's `poll`. Left alone it would reach
//! tokio's task harness, which drops the actor silently. Here the actor's
//! future is polled under `catch_unwind`, so the panic becomes
//! `ExitReason::Panicked(message)` and the supervisor hears of it. (With
//! `panic = "abort"` in the build profile nothing can be caught and the
//! process ends.)

use crate::exit::{panic_message, ExitReason};
use crate::handle::{Directory, Slot};
use crate::registry::Registry;
use crate::service::{Service, ServiceContext};
use crate::status::Status;
use actix::fut::{wrap_future, ActorFutureExt};
use actix::{ActorContext, AsyncContext, Context};
use futures_util::FutureExt;
use parking_lot::Mutex;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::{oneshot, watch};
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
    /// Names of the services killed at their shutdown timeout.
    pub killed: Arc<Mutex<Vec<String>>>,
    /// The first child of the tree that failed to start (the deepest one).
    pub first_failure: Arc<Mutex<Option<super::StartFailure>>>,
}

/// A running (or starting) instance, as its supervisor holds it.
pub(crate) struct Incarnation {
    pub number: u64,
    /// Resolves when the start hook succeeded; dropped when it did not.
    pub started: Option<oneshot::Receiver<()>>,
    /// `Some` once the instance ended; closed without a value if it was killed.
    pub exit: watch::Receiver<Option<ExitReason>>,
    stop: Option<oneshot::Sender<()>>,
    pub cx: ServiceContext,
    abort: tokio::task::AbortHandle,
    pub slot: Arc<dyn crate::handle::AnySlot>,
}

impl Incarnation {
    /// Asks the instance to run its stop hook and end.
    pub fn request_stop(&mut self) {
        self.cx.request_stop();
        if let Some(tx) = self.stop.take() {
            let _ = tx.send(());
        }
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
        wait_exit(self.exit.clone(), self.cx.clone())
    }
}

impl Drop for Incarnation {
    fn drop(&mut self) {
        // An instance must never outlive the supervisor that holds it.
        if self.exit.borrow().is_none() {
            self.abort.abort();
        }
    }
}

pub(crate) async fn wait_exit(
    mut rx: watch::Receiver<Option<ExitReason>>,
    cx: ServiceContext,
) -> ExitReason {
    loop {
        if let Some(r) = rx.borrow_and_update().clone() {
            return r;
        }
        if rx.changed().await.is_err() {
            if let Some(r) = rx.borrow().clone() {
                return r;
            }
            // Killed before it could say how it ended.
            return match cx.failure() {
                Some(reason) => ExitReason::Failed(reason),
                None => ExitReason::Killed,
            };
        }
    }
}

/// Builds and runs one instance of `A` on the current arbiter.
pub(crate) fn spawn_service<A: Service>(
    make: Arc<dyn Fn() -> A + Send + Sync>,
    env: &StartEnv,
) -> Incarnation {
    let slot: Arc<Slot<A>> = env.directory.slot::<A>(&env.name, &env.path);
    let cx = ServiceContext::new(
        &env.name,
        &env.path,
        env.incarnation,
        env.restarts,
        env.registry.clone(),
    );
    let (started_tx, started_rx) = oneshot::channel();
    let (stop_tx, stop_rx) = oneshot::channel();
    let (exit_tx, exit_rx) = watch::channel(None);
    let span = tracing::info_span!("service", name = %env.name, incarnation = env.incarnation);
    let task = {
        let cx = cx.clone();
        let slot = slot.clone();
        actix_rt::spawn(
            async move {
                let reason = run::<A>(make, cx.clone(), slot.clone(), started_tx, stop_rx).await;
                crate::handle::AnySlot::down(&*slot);
                let _ = exit_tx.send(Some(reason));
            }
            .instrument(span),
        )
    };
    Incarnation {
        number: env.incarnation,
        started: Some(started_rx),
        exit: exit_rx,
        stop: Some(stop_tx),
        cx,
        abort: task.abort_handle(),
        slot,
    }
}

async fn run<A: Service>(
    make: Arc<dyn Fn() -> A + Send + Sync>,
    cx: ServiceContext,
    slot: Arc<Slot<A>>,
    started: oneshot::Sender<()>,
    stop: oneshot::Receiver<()>,
) -> ExitReason {
    let actor = match catch_unwind(AssertUnwindSafe(|| make())) {
        Ok(actor) => actor,
        Err(payload) => return ExitReason::Panicked(panic_message(&*payload)),
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
    let mut running = Box::pin(AssertUnwindSafe(ctx.into_future(actor)).catch_unwind());
    let outcome = (&mut running).await;
    // Dropping an actix context polls it once more; keep a second panic there
    // from escaping.
    let _ = catch_unwind(AssertUnwindSafe(move || drop(running)));
    match outcome {
        Err(payload) => {
            let message = panic_message(&*payload);
            tracing::error!(panic = %message, "service panicked");
            ExitReason::Panicked(message)
        }
        Ok(()) => match cx.failure() {
            Some(reason) => ExitReason::Failed(reason),
            None if !cx.is_running() => ExitReason::Shutdown,
            None => ExitReason::Normal,
        },
    }
}

/// The runtime's part of an actor's life, run inside its context: the start
/// hook (blocking messages until done), then the stop listener and the
/// health checks.
fn lifecycle<A: Service>(
    cx: ServiceContext,
    slot: Arc<Slot<A>>,
    started: oneshot::Sender<()>,
    stop: oneshot::Receiver<()>,
    interval: Duration,
    beats: bool,
) -> impl actix::ActorFuture<A, Output = ()> {
    let hook_cx = cx.clone();
    wrap_future::<_, A>(std::future::ready(()))
        .then(move |(), act: &mut A, ctx: &mut Context<A>| act.start(&hook_cx, ctx))
        .map(
            move |result, act: &mut A, ctx: &mut Context<A>| match result {
                Err(e) => {
                    tracing::warn!(error = %e, "start hook failed");
                    cx.record_failure(format!("start failed: {e}"));
                    ActorContext::stop(ctx);
                }
                Ok(()) => {
                    slot.up(ctx.address());
                    cx.registry().mark_running(cx.name(), cx.incarnation());
                    cx.report(act.initial_status(), None);
                    let _ = started.send(());
                    listen_for_stop(cx.clone(), stop, ctx);
                    ctx.run_interval(interval, move |act: &mut A, ctx| {
                        if beats {
                            cx.heartbeat();
                        }
                        if let Some(status) = act.health_check(&cx, ctx) {
                            cx.report(status, None);
                        }
                    });
                }
            },
        )
}

fn listen_for_stop<A: Service>(
    cx: ServiceContext,
    stop: oneshot::Receiver<()>,
    ctx: &mut Context<A>,
) {
    ctx.spawn(
        wrap_future::<_, A>(stop).map(move |asked, act: &mut A, ctx: &mut Context<A>| {
            cx.request_stop();
            if asked.is_err() {
                // The supervisor is gone: no one to clean up for.
                ActorContext::stop(ctx);
                return;
            }
            cx.report(Status::Stopping, None);
            let hook = act.stop(&cx, ctx);
            ctx.wait(hook.map(|(), _, ctx: &mut Context<A>| ActorContext::stop(ctx)));
        }),
    );
}
