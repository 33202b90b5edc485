//! The NATS bridge: local event-bus topics shared by many processes, and
//! every process's health in one fleet view, over
//! [NATS](https://nats.io) with the official client,
//! [async-nats](https://docs.rs/async-nats) (feature `nats`).
//!
//! A [`Bridge`] joins one local [`EventBus`](crate::bus::EventBus) to NATS
//! using nothing but the bus's public API — a sync handler per outbound
//! route, and `publish` / `request` for what comes in — so the bus's
//! router knows nothing of it. It is a supervised kit service like the
//! bus: [`Bridge::service`] returns the child spec and the handle.
//!
//! ```no_run
//! # #[actix_rt::main] async fn main() -> Result<(), Box<dyn std::error::Error>> {
//! use servitor::bus::{BusConfig, EventBus};
//! use servitor::nats::{Bridge, NatsConfig, Route};
//! use servitor::{Runtime, Supervisor};
//!
//! #[derive(Clone, serde::Serialize, serde::Deserialize)]
//! struct Job { id: u64 }
//!
//! let (bus_spec, bus) = EventBus::<Job>::service("events", BusConfig::default())?;
//! let config = NatsConfig::new("nats://127.0.0.1:4222")
//!     .app("shop")
//!     .route(Route::new("jobs.*").queue_group("workers"))  // one worker process per job
//!     .route(Route::new("payments.>").jetstream());        // survives a NATS restart
//! let (nats_spec, bridge) = Bridge::service("nats", config, &bus)?;
//! let app = Runtime::start(Supervisor::builder("app").child(bus_spec).child(nats_spec).build()?).await?;
//!
//! let _worker = bus.subscriber("jobs.*").handler(|job| println!("job {}", job.payload().id))?;
//! bus.publish("jobs.resize", Job { id: 7 }).await?;   // local subscribers, and one other process
//! println!("{}", bridge.fleet().health_snapshot().table());
//! # drop(_worker); app.shutdown().await?; Ok(()) }
//! ```
//!
//! The concepts, one module each:
//!
//! * [`config`] — [`NatsConfig`]: servers, app and instance, [`Route`]s,
//!   JetStream and health settings, each with its default;
//! * [`codec`] — payloads on the wire ([`Json`] by default) and the
//!   headers ([`ORIGIN_HEADER`]);
//! * the bridge itself — [`Bridge`], its engine (connection, reconnection
//!   on the kit's backoff, health), the outbound and inbound pumps, and
//!   [`jetstream`];
//! * [`health`] — publishing this runtime's registry for the fleet;
//! * [`fleet`] — [`FleetView`]: every service of every process;
//! * [`BridgeStats`] and [`NatsError`].
//!
//! # Routes
//!
//! A [`Route`] names local topics with the bus's wildcards, which are
//! NATS's (`*` one token, `>` the rest), so a subscriber on `orders.*`
//! gets the same events from every process as it would from its own.
//!
//! * **Out** (a local publish matching the route): published to NATS on the
//!   same subject (with [`subject_prefix`](NatsConfig::subject_prefix) in
//!   front, if set). A local request (`bus.request`) becomes a NATS
//!   request; the first reply, local or remote, wins.
//! * **In** (a NATS message matching the route): published on the local
//!   bus, where the bus's own rules apply — every subscriber, one member
//!   per local queue group, overflow policies. A NATS request is asked on
//!   the local bus and the local reply goes back.
//! * **Queue groups**: a route's [`queue_group`](Route::queue_group) makes
//!   the process a member of that NATS queue group, so each event goes to
//!   one process of the group (and there to one member of each local
//!   group). The connection never receives its own messages (`no_echo`),
//!   so a group's event goes to another process; a publishing process
//!   that also has local members of the group delivers to them as well —
//!   the local delivery never waits for the network.
//! * **No echo**: every message carries its origin (`<app>.<instance>` in
//!   the [`ORIGIN_HEADER`]); a bridge skips its own, so a process's
//!   subscribers see each of its own events once, from the local bus.
//!
//! # Delivery guarantees
//!
//! | route | a local publish returns when | NATS down | survives a NATS restart |
//! | --- | --- | --- | --- |
//! | [`Delivery::Core`] | the event is queued for NATS | queued up to [`queue_capacity`](NatsConfig::queue_capacity), then refused (the bus reports the bridge's handler failed); sent on reconnection | no: at most once — what NATS held in flight, and what subscribers missed while away, is lost |
//! | [`Delivery::JetStream`] | the event is queued for NATS | queued, then sent and re-sent until the stream confirms it | yes, once confirmed ([`BridgeStats::confirmed`]; [`Bridge::flush`] waits for it): stored on the stream, delivered at least once to every durable consumer |
//!
//! JetStream deliveries are at least once: an event whose local publish was
//! interrupted before it was acknowledged comes again, and a publish whose
//! confirmation was lost is sent again with the same message id (stored
//! once within the stream's two-minute duplicate window). Events of one
//! subject keep their order on core NATS; JetStream re-sends can reorder
//! them. Requests are core NATS only.
//!
//! # How it fails
//!
//! * **NATS is down when the bridge starts**: the start succeeds; the
//!   bridge reports [`Error`](crate::Status::Error) with the cause and the
//!   attempt, tries again on its [`reconnect`](NatsConfig::reconnect)
//!   backoff, and is ok as soon as it connects. Local publishing never
//!   waits for it.
//! * **The connection drops**: the client reconnects by itself on the same
//!   backoff and resubscribes; the bridge reports `error` meanwhile.
//! * **The bridge's actor crashes**: queued events, counters and the fleet
//!   view stay (they live in the engine); the next incarnation reconnects
//!   and sends unconfirmed JetStream events again.
//! * **A message does not decode**: counted
//!   ([`undecodable`](BridgeStats::undecodable)), logged with its subject,
//!   not delivered.
//! * Credentials in the URL never reach logs, health or `Debug`.

mod bridge;
pub mod codec;
pub mod config;
mod engine;
mod error;
pub mod fleet;
pub mod health;
mod inbound;
pub mod jetstream;
mod outbound;
mod stats;

pub use bridge::{Bridge, BridgeBuilder};
pub use codec::{Codec, CodecError, Json, ORIGIN_HEADER};
pub use config::{Delivery, Direction, HealthPublishing, JetStreamConfig, NatsConfig, Route};
pub use error::NatsError;
pub use fleet::FleetView;
pub use stats::BridgeStats;
