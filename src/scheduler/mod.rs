//! The periodic job scheduler: one supervised service running many named
//! jobs, each on an interval or a cron expression.
//!
//! It is made with the [service kit](crate::kit): [`Scheduler::service`]
//! makes a [`ChildSpec`](crate::ChildSpec) to put in a supervision tree and
//! a [`Scheduler`] handle. Through the handle,
//! application code adds, removes, enables and disables jobs at run time
//! and reads their [`JobStats`]. A job is an async closure returning
//! `Result<(), E>`; the service's actor ([`SchedulerService`]) runs it on
//! its arbiter.
//!
//! ```
//! use std::time::Duration;
//! use servitor::scheduler::{Schedule, Scheduler, SchedulerConfig};
//! use servitor::{Runtime, Supervisor};
//!
//! # #[actix_rt::main] async fn main() -> Result<(), Box<dyn std::error::Error>> {
//! let (spec, jobs) = Scheduler::service("jobs", SchedulerConfig::default())?;
//! let app = Runtime::start(Supervisor::builder("app").child(spec).build()?).await?;
//! jobs.add("heartbeat", Schedule::every(Duration::from_secs(10)), || async {
//!     Ok::<_, std::io::Error>(())
//! })?;
//! # #[cfg(feature = "cron")]
//! jobs.add("nightly", Schedule::cron("0 3 * * *")?, || async { Ok::<_, String>(()) })?;
//! # #[cfg(feature = "cron")]
//! assert_eq!(jobs.list().len(), 2);
//! app.shutdown().await?;
//! # Ok(()) }
//! ```
//!
//! ## Rules
//!
//! * **Schedules** ([`schedule`]) — an interval runs on the slots
//!   `added + k × interval` of the monotonic tokio clock; a cron
//!   expression (feature `cron`) runs at its UTC wall-clock occurrences.
//! * **No overlap** — a run that takes longer than its period delays the
//!   next; runs never stack unless [`JobOptions::allow_overlap`] is set.
//! * **Backoff** — after `n` consecutive failures the next run is
//!   `period × 2ⁿ` after the failed one ended, capped at
//!   [`SchedulerConfig::max_backoff`]; a success returns the job to its
//!   schedule.
//! * **Missed runs** — [`MissedRunPolicy`]: `Skip` (default) or
//!   `CatchUpOnce`, per job or for the whole scheduler.
//! * **Health** — the details carry every job's stats under `jobs`; a job
//!   failing [`degraded_after`](SchedulerConfig::degraded_after) times in
//!   a row makes the service [`Degraded`](crate::Status::Degraded).
//!
//! ## How it fails
//!
//! * **A job fails or panics**: a failed run, counted in its stats, with
//!   the error or panic message as `last_error`. The scheduler goes on.
//! * **The actor crashes**: the supervisor restarts it. Jobs live in state
//!   created with the spec, not in the actor, so the new instance resumes
//!   every job with its stats; runs in progress at the crash are dropped
//!   uncounted, and slots that passed while it was down go through the
//!   missed-run policy.
//! * **The service stops** (its supervisor stops it): runs in progress are
//!   dropped uncounted. Handles still accept changes, but nothing runs until
//!   an instance of the service runs again.
//! * **The service is gone for good** (removed, runtime ended, spec dropped
//!   unstarted): its jobs are dropped and every operation fails with
//!   [`SchedulerError::Stopped`].
//! * **Bad input** is a typed error: [`SchedulerError`] for job
//!   operations (empty or duplicate name, zero interval, invalid cron,
//!   unknown job); a [`ConfigError`](crate::kit::ConfigError) names an
//!   invalid name or config field.

mod config;
mod error;
mod handle;
mod job;
pub mod schedule;
mod service;

pub use config::{
    MissedRunPolicy, SchedulerConfig, DEFAULT_DEGRADED_AFTER, DEFAULT_HEALTH_INTERVAL,
    DEFAULT_MAX_BACKOFF,
};
pub use error::SchedulerError;
pub use handle::{Scheduler, MIN_INTERVAL};
pub use job::{JobOptions, JobStats, SchedulerEngine};
#[cfg(feature = "cron")]
pub use schedule::CronSchedule;
pub use schedule::Schedule;
pub use service::SchedulerService;
