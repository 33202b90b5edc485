//! The service model: what a supervised service is and the hooks it offers.
//!
//! Every service is an actix actor. There are four kinds:
//!
//! * **message-handling actors** implement [`Service`] next to actix's
//!   `Actor` and `Handler`s; the built-in services are of this kind;
//! * **routines** — single-shot jobs and loops — implement [`Routine`]: one
//!   async `run` that returns when the job is done, or when
//!   [`ServiceContext::cancelled`] fires for a loop;
//! * **tickers** implement [`Ticker`]: one async `tick` every interval, with
//!   failure counting, backoff and a retry/stop classifier.
//!
//! Built-in services are message-handling actors made with the
//! [service kit](crate::kit).
//!
//! How a service fails: an error from a hook, [`ServiceContext::fail`] or a
//! panic anywhere in its code ends the instance with a failure reason; its
//! supervisor then decides (see [`crate::supervisor`]).
//!
//! ```
//! use actix::prelude::*;
//! use servitor::{Service, ServiceContext, Status};
//!
//! struct Counter { n: u64 }
//!
//! impl Actor for Counter { type Context = Context<Self>; }
//!
//! impl Service for Counter {
//!     fn health_check(&mut self, _cx: &ServiceContext, _ctx: &mut Context<Self>) -> Option<Status> {
//!         Some(if self.n > 0 { Status::Busy } else { Status::Idle })
//!     }
//! }
//!
//! #[derive(Message)]
//! #[rtype(result = "u64")]
//! struct Add(u64);
//!
//! impl Handler<Add> for Counter {
//!     type Result = u64;
//!     fn handle(&mut self, msg: Add, _: &mut Context<Self>) -> u64 { self.n += msg.0; self.n }
//! }
//! ```

mod context;
mod joint;
pub mod routine;
pub mod ticker;

pub(crate) use context::as_current;
pub use context::ServiceContext;
pub use routine::{Routine, RoutineFn};
pub use ticker::{Ticker, TickerConfig, Verdict};

use crate::exit::BoxError;
use crate::status::Status;
use actix::fut::{ready, wrap_future, ActorFutureExt};
use actix::{Actor, Context, ResponseActFuture, ResponseFuture};
use std::future::Future;
use std::time::Duration;

/// The default interval between health checks (and heartbeats): 30 s.
pub const DEFAULT_HEALTH_INTERVAL: Duration = Duration::from_secs(30);

/// Lifecycle hooks of a supervised actor. Every method has a default, so
/// `impl Service for MyActor {}` is a complete service.
///
/// Setup and cleanup that need no waiting go in [`on_start`](Self::on_start)
/// and [`on_stop`](Self::on_stop). Async work goes in [`start`](Self::start)
/// and [`stop`](Self::stop), written the actix way: a future that is given
/// the actor back when it completes (see [`reply_async_then`]). Messages are
/// not handled while the start or stop hook runs.
pub trait Service: Actor<Context = Context<Self>> {
    /// Setup before the first message, when it needs no waiting. An error
    /// (or panic) means the service failed to start. Called by the default
    /// [`start`](Self::start).
    fn on_start(&mut self, cx: &ServiceContext, ctx: &mut Context<Self>) -> Result<(), BoxError> {
        let _ = (cx, ctx);
        Ok(())
    }

    /// Setup before the first message. An error (or panic) means the service
    /// failed to start: its supervisor stops the siblings it already started
    /// and reports which child failed. Default: [`on_start`](Self::on_start).
    fn start(
        &mut self,
        cx: &ServiceContext,
        ctx: &mut Context<Self>,
    ) -> ResponseActFuture<Self, Result<(), BoxError>> {
        Box::pin(ready(self.on_start(cx, ctx)))
    }

    /// Cleanup when the supervisor stops the service, when it needs no
    /// waiting. Called by the default [`stop`](Self::stop).
    fn on_stop(&mut self, cx: &ServiceContext, ctx: &mut Context<Self>) {
        let _ = (cx, ctx);
    }

    /// Cleanup when the supervisor stops the service. It is bounded by the
    /// child's shutdown timeout; past it the instance is killed. It does not
    /// run when the service ends on its own or crashes (use `Drop` for
    /// cleanup that must always happen). Default: [`on_stop`](Self::on_stop).
    fn stop(
        &mut self,
        cx: &ServiceContext,
        ctx: &mut Context<Self>,
    ) -> ResponseActFuture<Self, ()> {
        self.on_stop(cx, ctx);
        Box::pin(ready(()))
    }

    /// Called every [`health_interval`](Self::health_interval); a returned
    /// status is reported to the registry. Every call is also a heartbeat.
    fn health_check(&mut self, cx: &ServiceContext, ctx: &mut Context<Self>) -> Option<Status> {
        let _ = (cx, ctx);
        None
    }

    /// How often [`health_check`](Self::health_check) runs. Default 30 s.
    fn health_interval(&self) -> Duration {
        DEFAULT_HEALTH_INTERVAL
    }

    /// Whether each health check also counts as a heartbeat. Default true.
    /// Return false when the service calls [`ServiceContext::heartbeat`]
    /// itself from its real work, so that work hanging shows as stale.
    fn beats_on_health_check(&self) -> bool {
        true
    }

    /// The status reported once the start hook succeeded. Default [`Status::Ok`].
    fn initial_status(&self) -> Status {
        Status::Ok
    }
}

/// A handler's reply that is computed by `fut` without the actor: the
/// handler returns at once, the actor handles its next message meanwhile,
/// and the caller gets the future's output. For calls to other services
/// (the cache, the bus, a [`ServiceRef`](crate::ServiceRef)) from a handler.
///
/// ```
/// use servitor::prelude::*;
/// use servitor::service::reply_async;
///
/// struct Gateway { backend: ServiceRef<Backend> }
/// impl Actor for Gateway { type Context = Context<Self>; }
/// impl Service for Gateway {}
///
/// #[derive(Default)] struct Backend;
/// impl Actor for Backend { type Context = Context<Self>; }
/// impl Service for Backend {}
///
/// #[derive(Message)] #[rtype(result = "u32")] struct Double(u32);
/// impl Handler<Double> for Backend {
///     type Result = u32;
///     fn handle(&mut self, msg: Double, _: &mut Context<Self>) -> u32 { msg.0 * 2 }
/// }
///
/// #[derive(Message)] #[rtype(result = "Result<u32, CallError>")] struct Quadruple(u32);
/// impl Handler<Quadruple> for Gateway {
///     type Result = ResponseFuture<Result<u32, CallError>>;
///     fn handle(&mut self, msg: Quadruple, _: &mut Context<Self>) -> Self::Result {
///         let backend = self.backend.clone();
///         reply_async(async move {
///             let twice = backend.call(Double(msg.0)).await?;
///             backend.call(Double(twice)).await
///         })
///     }
/// }
/// ```
pub fn reply_async<T: 'static>(fut: impl Future<Output = T> + 'static) -> ResponseFuture<T> {
    Box::pin(fut)
}

/// A handler's reply computed by `fut` without the actor, then finished
/// with the actor by `then` (its state may have changed in between: other
/// messages are handled while `fut` runs). actix gives an actor's state to
/// a future only between its awaits, so this is as close to an `async fn`
/// handler as actix allows.
///
/// ```
/// use servitor::prelude::*;
/// use servitor::service::reply_async_then;
///
/// #[derive(Default)] struct Counter { seen: u64 }
/// impl Actor for Counter { type Context = Context<Self>; }
/// impl Service for Counter {}
///
/// #[derive(Message)] #[rtype(result = "u64")] struct Fetch;
/// impl Handler<Fetch> for Counter {
///     type Result = ResponseActFuture<Self, u64>;
///     fn handle(&mut self, _: Fetch, _: &mut Context<Self>) -> Self::Result {
///         reply_async_then(async { 41 }, |fetched, act: &mut Self, _| {
///             act.seen += 1;
///             fetched + act.seen
///         })
///     }
/// }
/// ```
pub fn reply_async_then<A, T, R>(
    fut: impl Future<Output = T> + 'static,
    then: impl FnOnce(T, &mut A, &mut Context<A>) -> R + 'static,
) -> ResponseActFuture<A, R>
where
    A: Actor<Context = Context<A>>,
    T: 'static,
    R: 'static,
{
    Box::pin(wrap_future::<_, A>(fut).map(then))
}
