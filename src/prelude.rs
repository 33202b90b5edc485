//! The names most programs need, in one import: `use servitor::prelude::*;`.
//!
//! It also brings the actix items a service is written with (`Actor`,
//! `Context`, `Handler`, `Message` and its derive, the context traits and
//! response types), so it replaces `actix::prelude::*` — whose own
//! `Supervisor` would clash with servitor's.
//!
//! ```
//! use servitor::prelude::*;
//!
//! #[derive(Default)]
//! struct Echo;
//! impl Actor for Echo { type Context = Context<Self>; }
//! impl Service for Echo {}
//!
//! #[derive(Message)]
//! #[rtype(result = "String")]
//! struct Say(String);
//!
//! impl Handler<Say> for Echo {
//!     type Result = String;
//!     fn handle(&mut self, msg: Say, _: &mut Context<Self>) -> String { msg.0 }
//! }
//!
//! let _ = Supervisor::builder("app").child(ChildSpec::service("echo", Echo::default));
//! ```

pub use crate::exit::{BoxError, ExitReason};
pub use crate::handle::{CallError, ServiceRef};
pub use crate::kit::{Backoff, ConfigError};
pub use crate::runtime::{Runtime, RuntimeConfig};
pub use crate::service::{
    Routine, RoutineFn, Service, ServiceContext, Ticker, TickerConfig, Verdict,
};
pub use crate::status::Status;
pub use crate::supervisor::{
    AutoShutdown, ChildSpec, Restart, Strategy, Supervisor, SupervisorRef,
};

pub use actix::{
    fut::{ActorFutureExt, WrapFuture},
    Actor, ActorContext, Addr, AsyncContext, AtomicResponse, Context, Handler, Message,
    MessageResult, ResponseActFuture, ResponseFuture,
};
