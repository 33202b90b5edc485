//! The operations endpoint: health for load balancers and Kubernetes,
//! metrics for Prometheus, the registry for scripts and a live page for
//! people — served over HTTP by [actix-web](https://docs.rs/actix-web) as a
//! supervised service like any other.
//!
//! [`Http::service`] makes the [`ChildSpec`](crate::ChildSpec) and an
//! [`Http`] handle (which says where it listens). Put the spec first among
//! the root's children: it is then stopped last, and answers while the
//! rest of the tree shuts down.
//!
//! | route | what | who |
//! |---|---|---|
//! | `GET /health` | the tree's health as `application/health+json` ([IETF draft](https://datatracker.ietf.org/doc/html/draft-inadarei-api-health-check)): `status` pass/warn/fail, `checks` keyed `"{service}:{measurement}"`; 200 for pass and warn, 503 for fail | everyone sees the status; [details](ShowDetails) add the checks |
//! | `GET /health/live` | liveness: the root supervisor runs (nothing else: a database outage must not restart the process) | everyone |
//! | `GET /health/ready` | readiness: every [required](HttpConfig::required) service is ok, idle, busy or warning | everyone |
//! | `GET /health/{group}` | a named [health group](HttpConfig::groups), shaped as `/health` | as `/health` |
//! | `GET /metrics` | Prometheus text exposition (see [`metrics`]) | details |
//! | `GET /services`, `GET /services/{name}` | the registry's [`HealthSnapshot`](crate::HealthSnapshot) / one [`HealthReport`](crate::HealthReport) as JSON; with a [fleet source](fleet), `/services` is every process's (`?scope=local`: this one's) | details |
//! | `GET /services/events` | Server-Sent Events: every current status, then every transition (see [`events`]) | details |
//! | `GET /` | a live page: the tree, a coloured status per service, restarts, uptime, message and details, updated from the event stream | everyone (its data is the event stream's) |
//!
//! Anything else is a `404` with a small JSON body (`{"error":
//! "not_found", "message": …}`); a method other than GET or HEAD on a
//! route is a `405` with an `Allow` header. (A service named `events` is
//! listed by `/services`; `/services/events` is the stream.)
//!
//! Every answer is read from the registry's lock-free maps — never through
//! a supervisor's mailbox, which is busiest during a group restart, exactly
//! when people look.
//!
//! ```
//! # #[actix_rt::main] async fn main() -> Result<(), Box<dyn std::error::Error>> {
//! use servitor::http::{Http, HttpConfig};
//! use servitor::cache::{Cache, CacheConfig};
//! use servitor::{Runtime, Supervisor};
//!
//! let (ops, http) = Http::service("ops", HttpConfig::bind("127.0.0.1:0".parse()?))?;
//! let (cache, _sessions) = Cache::<String, String>::service("sessions", CacheConfig::default())?;
//! let app = Runtime::start(Supervisor::builder("app").child(ops).child(cache).build()?).await?;
//! println!("health at {}/health, the page at {}/", http.url()?, http.url()?);
//! app.shutdown().await?;
//! # Ok(()) }
//! ```
//!
//! ## Built-in services' figures
//!
//! The endpoint reads reports, never a service's handle, and tells which
//! built-in service a report comes from by the figures it publishes (its
//! health details). For each it adds a check to `/health` and its own
//! metric families:
//!
//! | service | `/health` measurement | metrics (`servitor_…`) |
//! |---|---|---|
//! | cache | `entries` | `cache_hits_total`, `cache_misses_total`, `cache_entries`, `cache_evictions_total`, … |
//! | bus | `queuedEvents` (the lag) | `bus_published_total`, `bus_dropped_total`, `bus_queued_events`, … |
//! | tasks | `queueDepth` | `tasks_queue_depth`, `tasks_completed_total`, `tasks_failed_total`, `tasks_retries_total`, … |
//! | scheduler | `jobs` | `scheduler_job_runs_total{job}`, `scheduler_job_failures_total{job}`, … |
//! | db | `responseTime` (probe, ms), `connections` | `db_pool_connections`, `db_pool_idle_connections`, `db_pool_waiting`, `db_pool_timeouts_total`, … |
//! | github | `rateLimitRemaining` (lowest) | `github_rate_limit_remaining{resource}`, `github_requests_total`, … |
//!
//! Every service also has `uptime` in `/health`, and
//! `servitor_service_status{status}`, `servitor_service_restarts_total`,
//! `servitor_service_uptime_seconds` and
//! `servitor_service_health_check_duration_seconds` in `/metrics`.
//!
//! ## How it fails
//!
//! * **The port is taken** (or the address is not this machine's): the
//!   start fails with the reason (`cannot listen on 127.0.0.1:9898: Address
//!   in use`), and the supervisor handles it like any failed start.
//! * **The server ends by itself, or the actor crashes**: the supervisor
//!   restarts the service. The socket is the engine's, not the
//!   incarnation's: a restart listens on the same port, and connections
//!   made meanwhile wait in its backlog.
//! * **A stop**: open event streams end at once (clients reconnect after
//!   the `retry` the stream set), requests in flight get
//!   [`shutdown_timeout`](HttpConfig::shutdown_timeout), then the server
//!   closes; the socket is closed.
//! * **Bad input**: an unknown route or service is a `404`, a wrong method
//!   a `405`, a missing or wrong token a `401` (with `WWW-Authenticate`),
//!   details turned off a `403`, one event stream too many a `503` — each
//!   with a JSON body saying why. The token is never logged or shown (it is
//!   a [`Secret`](crate::kit::Secret)) and is compared in constant time.
//! * **A slow event-stream client**: the transitions it has not read yet
//!   wait in memory for it; [`max_event_streams`](HttpConfig::max_event_streams)
//!   bounds how many such clients there are.

mod config;
mod engine;
pub mod events;
pub mod fleet;
mod handle;
mod health_json;
mod kinds;
pub mod metrics;
mod page;
mod routes;
mod time;

pub use config::{
    HttpConfig, ShowDetails, DEFAULT_BIND, DEFAULT_HEALTH_INTERVAL, DEFAULT_MAX_EVENT_STREAMS,
    DEFAULT_PORT, DEFAULT_SHUTDOWN_TIMEOUT, DEFAULT_SNAPSHOT_INTERVAL, MAX_WORKERS,
    RESERVED_GROUPS,
};
pub use engine::HttpEngine;
pub use fleet::FleetSource;
pub use handle::{Http, HttpBuilder, HttpError};
pub use health_json::CheckStatus;
pub use metrics::ServitorCollector;
pub use routes::HEALTH_JSON;

/// The Prometheus client the endpoint builds its metrics with, for
/// [`HttpBuilder::metrics_registry`] and [`ServitorCollector`] (use this one
/// so the versions match).
pub use prometheus;

/// The supervised actor of an endpoint: the kit's
/// [`Driver`](crate::kit::Driver) of its engine.
pub type HttpService = crate::kit::Driver<HttpEngine>;
