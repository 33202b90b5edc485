//! The service kit: how a built-in service is made, and how you make one
//! of your own the same way.
//!
//! A kit service has two parts:
//!
//! * an [`Engine`] — the state the service's handles work on (a cache's
//!   entries, a bus's subscriptions, a task queue). It is made once with the
//!   spec and outlives every incarnation of the actor, so a crash loses
//!   nothing and the data path never waits for a mailbox;
//! * a [`Driver`] — the supervised actor, generic over the engine. It opens
//!   the engine when an incarnation starts, runs the engine's background
//!   work ([`Engine::run`]), publishes [`Engine::health`] every
//!   [`health_interval`](Engine::health_interval) or when asked
//!   ([`Engine::pulse`]), and drains the engine when stopped.
//!
//! [`service`] makes both: it checks the name with the tree's rules
//! ([`validate_name`]), builds the engine (whose constructor checks the
//! configuration, failing with a [`ConfigError`]), and returns the
//! [`ChildSpec`](crate::ChildSpec) with the [`Shared`] engine, which the
//! service's handle wraps. Every kit service then follows one lifecycle
//! ([`Phase`]): it is open while supervised, a crash changes nothing for its
//! handles, and once it is gone for good — spec dropped, removed from its
//! supervisor, or its runtime ended however it ended — every operation fails
//! with [`Stopped`] naming it.
//!
//! The same building blocks serve every service: one [`Backoff`], one
//! [`Panic`] type with [`catch_panic`] and [`catch_panic_async`], one
//! [`Health`] to publish statistics with, one [`Secret`] for what must never
//! be printed.
//!
//! # A service of your own
//!
//! ```
//! use std::sync::atomic::{AtomicU64, Ordering};
//! use std::time::Duration;
//! use servitor::kit::{self, ConfigError, Engine, Health, Shared, Stopped};
//! use servitor::{ChildSpec, Runtime, Supervisor};
//!
//! /// The engine: what every handle and every incarnation share.
//! struct Counters { hits: AtomicU64, limit: u64 }
//!
//! impl Engine for Counters {
//!     fn health_interval(&self) -> Duration { Duration::from_secs(1) }
//!     fn health(&self) -> Health {
//!         let hits = self.hits.load(Ordering::Relaxed);
//!         let health = if hits > self.limit { Health::new(servitor::Status::Degraded).message("over the limit") } else { Health::ok() };
//!         health.detail("hits", hits)
//!     }
//! }
//!
//! /// The handle users hold.
//! #[derive(Clone, Debug)]
//! struct Hits { shared: Shared<Counters> }
//!
//! impl Hits {
//!     fn service(name: &str, limit: u64) -> Result<(ChildSpec, Hits), ConfigError> {
//!         let (spec, shared) = kit::service(name, |name| {
//!             if limit == 0 { return Err(ConfigError::field(name, "limit", "must be at least 1")); }
//!             Ok(Counters { hits: AtomicU64::new(0), limit })
//!         })?;
//!         Ok((spec, Hits { shared }))
//!     }
//!     fn hit(&self) -> Result<u64, Stopped> {
//!         Ok(self.shared.check()?.hits.fetch_add(1, Ordering::Relaxed) + 1)
//!     }
//! }
//!
//! # #[actix_rt::main] async fn main() -> Result<(), Box<dyn std::error::Error>> {
//! let (spec, hits) = Hits::service("hits", 100)?;
//! let app = Runtime::start(Supervisor::builder("app").child(spec).build()?).await?;
//! assert_eq!(hits.hit()?, 1);
//! app.shutdown().await?;
//! assert_eq!(hits.hit().unwrap_err().to_string(), "service `hits` is stopped");
//! assert!(Hits::service("hits", 0).is_err());
//! # Ok(()) }
//! ```

mod backoff;
mod config;
mod engine;
mod gate;
mod health;
mod name;
mod panic;
mod secret;

pub use backoff::{Backoff, BackoffError};
pub use config::ConfigError;
pub use engine::{service, Driver, Engine, Pulse, Shared, Stopped, WeakShared};
pub use gate::Phase;
pub use health::Health;
pub use name::{validate_name, NameError, MAX_NAME_LEN};
pub use panic::{
    catch_call_async, catch_panic, catch_panic_async, install_panic_hook, CatchPanic, Panic,
};
pub use secret::{Secret, REDACTED};
