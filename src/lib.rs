//! # servitor
//!
//! A supervised service runtime on the [actix](https://docs.rs/actix) actor
//! model. Application code defines services, arranges them in supervision
//! trees in code, and gets OTP-grade restarts, stable typed handles and a
//! health registry.
//!
//! * [`service`] — what a service is: an actix actor with lifecycle hooks
//!   ([`Service`]), a single-shot job or loop ([`Routine`]), or a worker
//!   that ticks every interval ([`Ticker`]);
//! * [`supervisor`] — where restarts are decided: strategies, restart
//!   intensity, backoff, escalation, ordered start and stop;
//! * [`handle`] — [`ServiceRef`], the typed handle that survives restarts;
//! * [`registry`] — health reports, worst-wins aggregation, staleness,
//!   status watches; [`status`] and [`health`] define the data (also
//!   available without the runtime, as the `servitor-health` crate);
//! * [`runtime`] — starting a tree, signals, graceful shutdown;
//! * [`kit`] — how a service with shared state and a supervised actor is
//!   made: every built-in service is built from it, and yours can be;
//! * [`testing`] — a test kit for users' own services;
//! * [`config`] (feature `config`, YAML with `yaml`) — trees and services
//!   from TOML or YAML files, with environment overrides and secrets.
//!
//! Built-in services, each an ordinary supervised service whose data path
//! bypasses its actor's mailbox, each behind a cargo feature (the first
//! four on by default):
//!
//! * [`cache`] (feature `cache`) — TTL cache with S3-FIFO (or LRU) eviction, exact stats,
//!   single-flight loads, a removal listener and glob operations;
//! * [`bus`] (feature `bus`) — topic publish/subscribe with NATS wildcards,
//!   explicit overflow policies, queue groups and request/reply;
//! * [`tasks`] (feature `tasks`) — background task workers with statuses,
//!   retries, priorities, cancellation and a bounded queue; named handlers
//!   with serde payloads, and (feature `durable`) a queue in PostgreSQL
//!   shared by many worker processes ([`tasks::durable`]);
//! * [`scheduler`] (feature `scheduler`; cron expressions with feature
//!   `cron`) — named interval and cron jobs changed at run time;
//! * [`db`] (feature `db` for SQLite, `postgres` for PostgreSQL; not on by
//!   default) — a database pool on sqlx with typed exhaustion and outage
//!   errors, pool figures, migrations in the start hook and recovery.
//! * [`github`] (feature `github`, not on by default) — a GitHub REST
//!   client that follows GitHub's rate-limit contract: typed operations,
//!   pagination by `Link`, throttling, conditional requests.
//!
//! Operating it: [`http`] (feature `http`) — the operations endpoint on
//! actix-web: IETF health+json, Kubernetes probes, Prometheus metrics, the
//! registry as JSON and Server-Sent Events, and a live page; the
//! `servitorctl` crate reads it from a terminal.
//!
//! Many processes: [`nats`] (feature `nats`) — a bridge that shares
//! event-bus topics across processes over NATS (JetStream where delivery
//! must survive a NATS restart) and publishes every runtime's health for a
//! fleet view.
//!
//! ## Panics
//!
//! A panic anywhere in service code — a hook, a handler, a loop, a tick, a
//! health check — ends that service's instance with the panic message as
//! its failure reason; its supervisor handles it like any other failure,
//! and siblings, the arbiter and the process are unaffected. This relies on
//! unwinding: building with `panic = "abort"` turns every such panic into
//! the end of the process.
//!
//! ## Quick start
//!
//! ```
//! use std::time::Duration;
//! use servitor::prelude::*;
//!
//! #[derive(Default)]
//! struct Greeter;
//! impl Actor for Greeter { type Context = Context<Self>; }
//! impl Service for Greeter {}
//!
//! #[derive(Message)]
//! #[rtype(result = "String")]
//! struct Greet(String);
//!
//! impl Handler<Greet> for Greeter {
//!     type Result = String;
//!     fn handle(&mut self, msg: Greet, _: &mut Context<Self>) -> String {
//!         format!("hello, {}", msg.0)
//!     }
//! }
//!
//! # #[actix_rt::main] async fn main() -> Result<(), Box<dyn std::error::Error>> {
//! let tree = Supervisor::builder("app")
//!     .strategy(Strategy::OneForOne)
//!     .intensity(3, Duration::from_secs(5))
//!     .child(ChildSpec::service("greeter", Greeter::default))
//!     .build()?;
//! let app = Runtime::start(tree).await?;
//! let greeter = app.service::<Greeter>("greeter")?;
//! assert_eq!(greeter.call(Greet("world".into())).await?, "hello, world");
//! app.shutdown().await?;
//! # Ok(()) }
//! ```

#![deny(missing_docs)]
#![cfg_attr(docsrs, feature(doc_cfg))]

#[cfg(feature = "bus")]
#[cfg_attr(docsrs, doc(cfg(feature = "bus")))]
pub mod bus;
#[cfg(feature = "cache")]
#[cfg_attr(docsrs, doc(cfg(feature = "cache")))]
pub mod cache;
mod clock;
#[cfg(feature = "config")]
#[cfg_attr(docsrs, doc(cfg(feature = "config")))]
pub mod config;
#[cfg(feature = "db")]
#[cfg_attr(docsrs, doc(cfg(feature = "db")))]
pub mod db;
pub mod exit;
#[cfg(feature = "github")]
#[cfg_attr(docsrs, doc(cfg(feature = "github")))]
pub mod github;
pub mod handle;
pub mod health;
#[cfg(feature = "http")]
#[cfg_attr(docsrs, doc(cfg(feature = "http")))]
pub mod http;
pub mod kit;
mod names;
#[cfg(feature = "nats")]
#[cfg_attr(docsrs, doc(cfg(feature = "nats")))]
pub mod nats;
pub mod placement;
pub mod prelude;
pub mod registry;
pub mod runtime;
#[cfg(feature = "scheduler")]
#[cfg_attr(docsrs, doc(cfg(feature = "scheduler")))]
pub mod scheduler;
mod serde_duration;
pub mod service;
pub mod status;
pub mod supervisor;
#[cfg(feature = "tasks")]
#[cfg_attr(docsrs, doc(cfg(feature = "tasks")))]
pub mod tasks;
pub mod testing;

pub use exit::{BoxError, ExitReason};
pub use handle::{CallError, LookupError, ServiceRef};
pub use health::{HealthReport, HealthSnapshot, NodeKind};
pub use kit::{Backoff, ConfigError};
pub use placement::{Placed, Placement, PlacementError};
pub use registry::{Registry, RegistryConfig, StatusWatch};
pub use runtime::{Runtime, RuntimeConfig, RuntimeError, ShutdownReport, MAX_POOL_SIZE};
pub use service::{Routine, RoutineFn, Service, ServiceContext, Ticker, TickerConfig, Verdict};
pub use status::Status;
pub use supervisor::{
    AutoShutdown, BuildError, ChildInfo, ChildSpec, Restart, Shutdown, Strategy, Supervisor,
    SupervisorBuilder, SupervisorError, SupervisorRef, SupervisorSpec,
};

/// The README's examples, compiled as doc tests so they stay true.
#[cfg(all(doctest, feature = "full"))]
#[doc = include_str!("../README.md")]
struct ReadmeDoctests;
