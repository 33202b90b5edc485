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

pub use context::ServiceContext;
pub use routine::{Routine, RoutineFn};
pub use ticker::{Ticker, TickerConfig, Verdict};

use crate::exit::BoxError;
use crate::status::Status;
use actix::fut::ready;
use actix::{Actor, Context, ResponseActFuture};
use std::time::Duration;

/// The default interval between health checks (and heartbeats): 30 s.
pub const DEFAULT_HEALTH_INTERVAL: Duration = Duration::from_secs(30);

/// Lifecycle hooks of a supervised actor. Every method has a default, so
/// `impl Service for MyActor {}` is a complete service.
///
/// Async work in a hook is written the actix way: a future that is given
/// the actor back when it completes (`fut.into_actor(self).map(|res, act, ctx| ...)`).
/// Messages are not handled while the start or stop hook runs.
pub trait Service: Actor<Context = Context<Self>> {
    /// Setup before the first message. An error (or panic) means the service
    /// failed to start: its supervisor stops the siblings it already started
    /// and reports which child failed.
    fn start(
        &mut self,
        cx: &ServiceContext,
        ctx: &mut Context<Self>,
    ) -> ResponseActFuture<Self, Result<(), BoxError>> {
        let _ = (cx, ctx);
        Box::pin(ready(Ok(())))
    }

    /// Cleanup when the supervisor stops the service. It is bounded by the
    /// child's shutdown timeout; past it the instance is killed. It does not
    /// run when the service ends on its own or crashes (use `Drop` for
    /// cleanup that must always happen).
    fn stop(
        &mut self,
        cx: &ServiceContext,
        ctx: &mut Context<Self>,
    ) -> ResponseActFuture<Self, ()> {
        let _ = (cx, ctx);
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
