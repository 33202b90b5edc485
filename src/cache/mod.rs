//! The cache service: a sharded in-memory key–value cache with TTLs,
//! S3-FIFO eviction, exact statistics and a removal listener, run as a
//! supervised service.
//!
//! It is made with the [service kit](crate::kit): [`Cache::service`] makes
//! a [`ChildSpec`](crate::ChildSpec) to put in a supervision tree and a
//! [`Cache`] handle. The handle is the data path — `get`, `set`, `delete` …
//! lock one shard of the engine ([`CacheEngine`]) shared by all handles and
//! return; they never queue behind an actor's mailbox. The service's actor
//! ([`CacheService`]) owns what needs time and a supervisor: the background
//! expiry sweep, and publishing the stats as its health.
//!
//! * **TTLs, Redis-style** — [`CacheConfig::default_ttl`] for `set`,
//!   [`Cache::set_with_ttl`] per entry, [`Cache::ttl`] / [`Cache::expire`] /
//!   [`Cache::persist`]. Re-inserting a key with `set` resets it to the
//!   default TTL. An expired entry is never returned, even if nothing
//!   touched the cache since; the sweep removes it and tells the listener
//!   within one [`sweep_interval`](CacheConfig::sweep_interval) of its
//!   expiry. Time is [`tokio::time::Instant`], so tests drive it with
//!   `tokio::time::pause` and `advance` ([`expiry`]).
//! * **Bounds** — [`capacity`](CacheConfig::capacity) entries and optionally
//!   [`max_weight`](CacheConfig::max_weight) by a weigher, both over the
//!   whole cache (`len` never exceeds the capacity once an insert
//!   returns).
//! * **Eviction** — S3-FIFO by default: scan resistant, frequency aware,
//!   and a hit only bumps a counter; LRU as an option
//!   ([`CacheConfig::policy`], [`policy`]).
//! * **Hashing** — foldhash by default, SipHash for keys chosen by an
//!   attacker ([`CacheConfig::hasher`], [`hasher`]).
//! * **Exact stats** — [`CacheStats`]: hits, misses, ratio, inserts,
//!   removals by cause, entries, weight, estimated bytes ([`stats`]).
//! * **Single-flight loading** — [`Cache::get_or_insert_with`] ([`loader`]).
//! * **Removal listener** with a [`RemovalCause`] ([`listener`]).
//! * **Glob operations** on string keys — [`Cache::keys`],
//!   [`Cache::delete_pattern`] ([`glob`]).
//!
//! ```
//! use std::time::Duration;
//! use servitor::cache::{Cache, CacheConfig, CacheService};
//! use servitor::{Runtime, Supervisor};
//!
//! # #[actix_rt::main] async fn main() -> Result<(), Box<dyn std::error::Error>> {
//! let (spec, sessions) = Cache::<String, String>::service("sessions", CacheConfig {
//!     capacity: 10_000,
//!     default_ttl: Some(Duration::from_secs(30 * 60)),
//!     ..CacheConfig::default()
//! })?;
//! let app = Runtime::start(Supervisor::builder("app").child(spec).build()?).await?;
//!
//! sessions.set("s-1".into(), "ada".into())?;
//! assert_eq!(sessions.get("s-1")?.as_deref(), Some("ada"));
//! assert!(app.registry().get("sessions").is_some());
//! // The actor is an ordinary service: its health, restarts and handle work as for any other.
//! assert!(app.service::<CacheService<String, String>>("sessions").is_ok());
//!
//! app.shutdown().await?;
//! assert!(sessions.get("s-1").is_err()); // stopped for good
//! # Ok(()) }
//! ```
//!
//! ## How it fails
//!
//! * **The actor crashes** (a panicking removal listener during a sweep, an
//!   injected crash): the supervisor restarts it like any service. The
//!   entries are not the actor's — they live in the store created with the
//!   spec — so they survive, every handle keeps working while the actor is
//!   down, expired entries stay invisible, and the new instance resumes the
//!   sweep.
//! * **The sweep falls behind** (more expired entries than
//!   [`sweep_limit`](CacheConfig::sweep_limit) per pass): the service
//!   reports [`Status::Degraded`](crate::Status::Degraded) until it has
//!   caught up.
//! * **The service is gone for good** (removed from its supervisor, ended
//!   without restart, runtime shut down, or its spec dropped unstarted):
//!   the entries are dropped and every operation returns
//!   [`CacheError::Stopped`]; [`Cache::stopped`] resolves.
//! * **Bad input** is a typed error: an invalid name or config names the
//!   field ([`ConfigError`](crate::kit::ConfigError)); an entry heavier than the whole weight budget is
//!   refused ([`CacheError::TooHeavy`]); a malformed glob is
//!   [`CacheError::InvalidPattern`]; a failed loader is a [`LoadError`]
//!   shared by all its waiters.
//!
//! ## Keys and values
//!
//! Keys are any `K: Hash + Eq + Clone + Send + Sync + 'static` and may be
//! looked up by a borrowed form (`&str` for `String`). Values are any
//! `V: Clone + Send + Sync + 'static`; reads return clones, so wrap large
//! values in `Arc`.

mod config;
mod engine;
mod error;
pub mod expiry;
pub mod glob;
mod handle;
pub mod hasher;
pub mod listener;
pub mod loader;
pub mod policy;
mod shard;
mod slab;
pub mod stats;

pub use config::{
    CacheConfig, DEFAULT_CAPACITY, DEFAULT_SWEEP_INTERVAL, DEFAULT_SWEEP_LIMIT, MAX_SHARDS,
};
pub use engine::CacheEngine;
pub use error::{CacheError, LoadError};
pub use expiry::Ttl;
pub use glob::GlobPattern;
pub use handle::{Cache, CacheBuilder};
pub use hasher::CacheHasher;
pub use listener::RemovalCause;
pub use policy::EvictionPolicy;

/// The supervised actor of a cache: the kit's [`Driver`](crate::kit::Driver)
/// of its engine. It takes no messages; its handle through the runtime is
/// `ServiceRef<CacheService<K, V>>`.
pub type CacheService<K, V> = crate::kit::Driver<CacheEngine<K, V>>;
pub use stats::CacheStats;
