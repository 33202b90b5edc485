//! The event bus: topic publish/subscribe with NATS wildcards, queue groups
//! and request/reply, as a supervised service that makes every loss
//! explicit.
//!
//! A bus carries events of one payload type `T` (`Clone + Send + Sync`;
//! wrap large payloads in an `Arc`, since each subscriber gets its own
//! clone). [`EventBus::service`] returns the [`ChildSpec`](crate::ChildSpec)
//! to put in a supervision tree and an [`EventBus`] handle to publish and
//! subscribe with:
//!
//! ```
//! # #[actix_rt::main] async fn main() -> Result<(), Box<dyn std::error::Error>> {
//! use std::sync::Arc;
//! use servitor::bus::{BusConfig, EventBus, Overflow};
//! use servitor::{Runtime, Supervisor};
//!
//! #[derive(Debug)]
//! struct Order { id: u64 }
//!
//! let (spec, bus) = EventBus::<Arc<Order>>::service("events", BusConfig::default())?;
//! let app = Runtime::start(Supervisor::builder("app").child(spec).build()?).await?;
//!
//! // A stream that takes every order event, dropping the oldest if it falls behind.
//! let mut audit = bus.subscriber("orders.>").overflow(Overflow::DropOldest).stream()?;
//! // A sync handler: runs inside `publish`, which reports its result.
//! let _billing = bus.subscriber("orders.created").handler(|e| {
//!     if e.payload().id == 0 { Err("no id") } else { Ok(()) }
//! })?;
//!
//! let published = bus.publish("orders.created", Arc::new(Order { id: 7 })).await?;
//! assert_eq!(published.reached, 2);
//! assert!(published.handlers_ok());
//! assert_eq!(audit.recv().await?.payload().id, 7);
//! # drop(audit);
//! app.shutdown().await?;
//! # Ok(()) }
//! ```
//!
//! The concepts, one module each:
//!
//! * [`subject`] — subjects (`orders.eu.created`) and patterns with the
//!   wildcards `*` (one token) and `>` (the rest); malformed ones and
//!   publishing to a wildcard are typed errors;
//! * [`trie`](self#matching) — how matching subscriptions are found: a
//!   subject trie, so publish cost does not grow with the number of
//!   subscriptions on other topics;
//! * [`subscriber`] — streams, sync handlers and async handlers;
//!   [`subscription`] — their handles (drop to unsubscribe);
//! * [`queue`] — each subscriber's bounded queue and its [`Overflow`]
//!   policy: block, drop-oldest with an exact `Lagged { missed }`, or
//!   dead-letter;
//! * [`handler`] — how a failing or panicking handler is isolated;
//! * [`group`] — queue groups: one member per group gets each event;
//! * [`request`] — request/reply with a timeout;
//! * [`service`] — the actor: lifecycle and health; [`config`] — settings.
//!
//! # How it fails
//!
//! Nothing is lost silently. An event a subscriber does not get is either
//! refused to the publisher (a typed [`BusError`]), waited for (block
//! policy), reported to the subscriber ([`RecvError::Lagged`] with the exact
//! count), or sent to the dead-letter topic (`_dlq.<subject>` by default)
//! with its reason and original subject — and in every case counted on the
//! subscriber ([`SubscriberStats`]) and reflected in the bus's health:
//! dropping, lagging or failing subscribers make it
//! [`Degraded`](crate::Status::Degraded), with the culprits in the details.
//! A slow subscriber only slows publishers under the block policy, and only
//! publishers of events it subscribed to. A handler that errors or panics
//! is counted, logged with the subject, optionally dead-lettered, and keeps
//! its subscription; the other subscribers are not affected.
//!
//! # Matching
//!
//! Subscriptions live in a trie keyed by token (see `trie.rs`): publishing
//! walks the subject's tokens, following the literal child and the `*`
//! child at each level and collecting `>` subscriptions on the way. The
//! table is behind a read-write lock that publishers share; only subscribe
//! and unsubscribe take it exclusively.
//!
//! # Restarts
//!
//! Subscriptions, queues and counters live in state created with the spec
//! and shared by every incarnation of the [`BusService`] actor, so:
//!
//! * **a crash** of the actor loses nothing: subscriptions stay, queued
//!   events stay, the [`EventBus`] handle keeps working, and publishes go
//!   on being delivered while the supervisor restarts the actor (the data
//!   path never needed it); the new incarnation resumes health reports;
//! * **a stop** by the supervisor (shutdown, removal, or a restart caused by
//!   a sibling) refuses publishes with [`BusError::Stopped`] — also waking
//!   publishers blocked on a full queue — until an incarnation starts
//!   again; subscriptions and queued events are kept, and consumers can go
//!   on draining them;
//! * **closing**: when the last [`EventBus`] handle is dropped nothing more
//!   can be published, so each subscriber receives what is queued and then
//!   [`RecvError::Closed`].
//!
//! If a supervisor gives up on a crashing bus, the bus stays open for
//! publishing (its health shows it failed); stop it through its supervisor
//! to refuse publishes.

pub mod config;
mod error;
pub mod event;
pub mod group;
mod handle;
pub mod handler;
pub mod queue;
pub mod request;
mod router;
pub mod service;
mod stats;
pub mod subject;
pub mod subscriber;
pub mod subscription;
mod trie;

pub use config::BusConfig;
pub use error::{BusError, RecvError, TryRecvError};
pub use event::{DeadLetter, DeadLetterReason, Event, SubscriptionId};
pub use handle::EventBus;
pub use handler::{HandlerError, HandlerReport, IntoHandlerResult};
pub use queue::Overflow;
pub use router::{BusEngine, Published};
pub use service::BusService;
pub use stats::{BusStats, SubscriberKind, SubscriberStats};
pub use subject::{
    IntoSubject, Pattern, Subject, SubjectProblem, MAX_SUBJECT_LEN, MAX_SUBJECT_TOKENS,
};
pub use subscriber::SubscriberBuilder;
pub use subscription::{HandlerSubscription, Subscription};
