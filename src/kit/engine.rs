//! Engines, the state they share, and the actor that drives them.

use super::config::ConfigError;
use super::gate::{Gate, Phase};
use super::health::Health;
use super::name::validate_name;
use crate::exit::BoxError;
use crate::service::{Service, ServiceContext};
use crate::status::Status;
use crate::supervisor::{ChildHooks, ChildSpec};
use actix::fut::{wrap_future, ActorFutureExt};
use actix::{Actor, AsyncContext, Context, ResponseActFuture};
use std::fmt;
use std::future::Future;
use std::ops::Deref;
use std::sync::{Arc, Weak};
use std::time::Duration;
use tokio::sync::Notify;

/// The part of a service that outlives its actor: the data its handles
/// work on, created once with the spec and shared by every handle and every
/// incarnation of the actor.
///
/// Every method has a default but [`health`](Self::health) and
/// [`health_interval`](Self::health_interval); see the
/// [module docs](super) for a whole service made from one.
pub trait Engine: Send + Sync + Sized + 'static {
    /// How often the driving actor publishes [`health`](Self::health) (and
    /// beats). At least 1 ms.
    fn health_interval(&self) -> Duration;

    /// The engine's health now: its statistics as details, and the status
    /// they make.
    fn health(&self) -> Health;

    /// Where the engine asks for its health to be published now rather than
    /// at the next health interval (a first drop, a sweep falling behind).
    /// Default: it never asks.
    fn pulse(&self) -> Option<&Pulse> {
        None
    }

    /// The status an incarnation reports when it has started, before its
    /// first health check. Default [`Status::Ok`].
    fn initial_status(&self) -> Status {
        Status::Ok
    }

    /// Setup an incarnation does before it counts as started (connecting,
    /// running migrations). An error or a panic is a failed start, with the
    /// error as its reason; the supervisor handles it like any failed start.
    /// The data path opens ([`Phase::Running`]) only once it succeeded.
    /// Default: nothing to do.
    fn start(
        shared: Shared<Self>,
        cx: ServiceContext,
    ) -> impl Future<Output = Result<(), BoxError>> + 'static {
        let _ = (shared, cx);
        std::future::ready(Ok(()))
    }

    /// Work an incarnation does in the background (a sweep, worker tasks,
    /// a driver loop), run on the actor for as long as the incarnation
    /// lives. An error or a panic fails the incarnation, and its supervisor
    /// restarts it; returning `Ok` just ends the background work. Default:
    /// none.
    fn run(
        shared: Shared<Self>,
        cx: ServiceContext,
    ) -> impl Future<Output = Result<(), BoxError>> + 'static {
        let _ = (shared, cx);
        std::future::pending()
    }

    /// Finishes what is in flight when the supervisor stops the service
    /// (bounded by the child's shutdown timeout). Default: nothing to do.
    fn drain(shared: Shared<Self>) -> impl Future<Output = ()> + 'static {
        let _ = shared;
        std::future::ready(())
    }

    /// The service moved from one [`Phase`] to another: open the data path
    /// on [`Running`](Phase::Running), refuse or wake waiters on
    /// [`Stopped`](Phase::Stopped), drop what is held on
    /// [`Closed`](Phase::Closed). Called with no other change in progress.
    fn phase_changed(&self, from: Phase, to: Phase) {
        let _ = (from, to);
    }
}

/// An operation on a service that is gone for good.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("service `{service}` is stopped")]
pub struct Stopped {
    /// The service's name.
    pub service: String,
}

struct Inner<E> {
    name: Arc<str>,
    gate: Gate,
    engine: E,
}

/// An engine's request to publish its health now (see [`Engine::pulse`]).
/// Requests made while one is pending count once.
#[derive(Debug, Default)]
pub struct Pulse {
    wake: Notify,
}

impl Pulse {
    /// A pulse nobody has asked on yet.
    pub fn new() -> Pulse {
        Pulse::default()
    }

    /// Asks the service's actor to publish the engine's health now.
    pub fn beat(&self) {
        self.wake.notify_one();
    }

    async fn beaten(&self) {
        self.wake.notified().await
    }
}

/// A service's [`Engine`] with its name and lifecycle: what its handles
/// and its actor hold. Cheap to clone; dereferences to the engine.
pub struct Shared<E> {
    inner: Arc<Inner<E>>,
}

impl<E> Clone for Shared<E> {
    fn clone(&self) -> Self {
        Shared {
            inner: self.inner.clone(),
        }
    }
}

impl<E> Deref for Shared<E> {
    type Target = E;
    fn deref(&self) -> &E {
        &self.inner.engine
    }
}

impl<E> fmt::Debug for Shared<E> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Shared")
            .field("name", &self.inner.name)
            .field("phase", &self.inner.gate.phase())
            .finish()
    }
}

impl<E: Engine> Shared<E> {
    fn new(name: &str, engine: E) -> Self {
        Shared {
            inner: Arc::new(Inner {
                name: Arc::from(name),
                gate: Gate::new(),
                engine,
            }),
        }
    }

    /// The service's name.
    pub fn name(&self) -> &str {
        &self.inner.name
    }

    /// The name, shared.
    pub fn name_arc(&self) -> &Arc<str> {
        &self.inner.name
    }

    /// Where the service is in its life.
    pub fn phase(&self) -> Phase {
        self.inner.gate.phase()
    }

    /// Whether the service is supervised and started ([`Phase::Running`]).
    pub fn is_running(&self) -> bool {
        self.phase() == Phase::Running
    }

    /// Whether the service is gone for good ([`Phase::Closed`]).
    pub fn is_stopped(&self) -> bool {
        self.inner.gate.is_closed()
    }

    /// Resolves once the service is gone for good.
    pub async fn stopped(&self) {
        self.inner.gate.closed().await
    }

    /// The engine, unless the service is gone for good.
    #[inline]
    pub fn check(&self) -> Result<&E, Stopped> {
        if self.inner.gate.is_closed() {
            Err(self.stopped_error())
        } else {
            Ok(&self.inner.engine)
        }
    }

    /// The error operations return once the service is gone for good.
    pub fn stopped_error(&self) -> Stopped {
        Stopped {
            service: self.inner.name.to_string(),
        }
    }

    /// A reference that does not keep the engine alive.
    pub fn downgrade(&self) -> WeakShared<E> {
        WeakShared {
            inner: Arc::downgrade(&self.inner),
        }
    }

    pub(crate) fn move_to(&self, to: Phase) {
        let engine = &self.inner.engine;
        self.inner.gate.move_to(to, |from, to| {
            tracing::debug!(service = %self.inner.name, ?from, ?to, "service phase");
            engine.phase_changed(from, to)
        });
    }
}

/// A [`Shared`] that does not keep the engine alive.
pub struct WeakShared<E> {
    inner: Weak<Inner<E>>,
}

impl<E> Clone for WeakShared<E> {
    fn clone(&self) -> Self {
        WeakShared {
            inner: self.inner.clone(),
        }
    }
}

impl<E> fmt::Debug for WeakShared<E> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("WeakShared")
    }
}

impl<E> WeakShared<E> {
    /// The shared engine, if it still exists.
    pub fn upgrade(&self) -> Option<Shared<E>> {
        self.inner.upgrade().map(|inner| Shared { inner })
    }
}

/// What the supervisor tells a kit service that its actor cannot see: it
/// was stopped (also while crashed), or is gone for good.
impl<E: Engine> ChildHooks for WeakShared<E> {
    fn stopped(&self) {
        if let Some(shared) = self.upgrade() {
            shared.move_to(Phase::Stopped);
        }
    }

    fn gone(&self) {
        if let Some(shared) = self.upgrade() {
            shared.move_to(Phase::Closed);
        }
    }
}

/// Closes the service when the last copy of its spec is dropped.
struct CloseWhenDropped<E: Engine>(WeakShared<E>);

impl<E: Engine> Drop for CloseWhenDropped<E> {
    fn drop(&mut self) {
        self.0.gone();
    }
}

/// Makes a service from an engine: checks `name` with the tree's rules,
/// builds the engine with `make` (which checks its configuration), and
/// returns the child spec that runs it under a supervisor together with the
/// shared engine its handle wraps.
///
/// The service is [`Closed`](Phase::Closed) when it is gone for good: the
/// last copy of the spec is dropped (also one never run), its supervisor
/// forgets it (removed, temporary and ended), or its runtime ends.
pub fn service<E: Engine>(
    name: impl Into<String>,
    make: impl FnOnce(&str) -> Result<E, ConfigError>,
) -> Result<(ChildSpec, Shared<E>), ConfigError> {
    let name = name.into();
    if let Err(problem) = validate_name(&name) {
        return Err(ConfigError::InvalidName { name, problem });
    }
    let shared = Shared::new(&name, make(&name)?);
    let guard = Arc::new(CloseWhenDropped(shared.downgrade()));
    let for_spec = shared.clone();
    let spec = ChildSpec::service(name, move || {
        let _keep = &guard;
        Driver::new(for_spec.clone())
    })
    .with_hooks(Arc::new(shared.downgrade()));
    Ok((spec, shared))
}

/// The supervised actor of a kit service: it opens the engine when an
/// incarnation starts, runs the engine's background work, publishes its
/// health, and drains it when stopped. It takes no messages.
pub struct Driver<E: Engine> {
    shared: Shared<E>,
}

impl<E: Engine> Driver<E> {
    fn new(shared: Shared<E>) -> Self {
        Driver { shared }
    }

    /// The engine this actor drives.
    pub fn shared(&self) -> &Shared<E> {
        &self.shared
    }

    /// The engine's start succeeded: open the data path, run the background
    /// work, listen for pulses.
    fn started(&mut self, cx: &ServiceContext, ctx: &mut Context<Self>) {
        self.shared.move_to(Phase::Running);
        cx.set_details(self.shared.health().details);
        let work = E::run(self.shared.clone(), cx.clone());
        let failing = cx.clone();
        ctx.spawn(wrap_future::<_, Self>(work).map(move |result, _, ctx| {
            if let Err(e) = result {
                failing.fail::<Self>(ctx, e);
            }
        }));
        if self.shared.pulse().is_some() {
            let shared = self.shared.clone();
            let reporting = cx.clone();
            ctx.spawn(wrap_future(async move {
                while let Some(pulse) = shared.pulse() {
                    pulse.beaten().await;
                    reporting.publish(shared.health());
                }
            }));
        }
    }
}

impl<E: Engine> fmt::Debug for Driver<E> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Driver")
            .field("service", &self.shared.name())
            .finish()
    }
}

impl<E: Engine> Actor for Driver<E> {
    type Context = Context<Self>;
}

impl<E: Engine> Service for Driver<E> {
    fn start(
        &mut self,
        cx: &ServiceContext,
        _ctx: &mut Context<Self>,
    ) -> ResponseActFuture<Self, Result<(), BoxError>> {
        let cx = cx.clone();
        let starting = E::start(self.shared.clone(), cx.clone());
        Box::pin(
            wrap_future::<_, Self>(starting).map(move |result, act, ctx| {
                if result.is_ok() {
                    act.started(&cx, ctx);
                }
                result
            }),
        )
    }

    fn stop(
        &mut self,
        _cx: &ServiceContext,
        _ctx: &mut Context<Self>,
    ) -> ResponseActFuture<Self, ()> {
        self.shared.move_to(Phase::Stopped);
        Box::pin(wrap_future(E::drain(self.shared.clone())))
    }

    fn health_check(&mut self, cx: &ServiceContext, _ctx: &mut Context<Self>) -> Option<Status> {
        cx.publish(self.shared.health());
        None
    }

    fn health_interval(&self) -> Duration {
        self.shared.health_interval()
    }

    fn initial_status(&self) -> Status {
        self.shared.initial_status()
    }
}
