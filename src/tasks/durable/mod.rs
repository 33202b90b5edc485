//! Durable tasks: the task service's queue kept in PostgreSQL, shared by
//! any number of worker processes (feature `durable` = `tasks` +
//! `postgres`).
//!
//! [`DurableTasks::service`] makes a supervised service on a
//! [database service](crate::db) ([`PgDb`](crate::db::PgDb)) and a
//! [`DurableTasks`] handle. Tasks are a handler name and a serde payload
//! ([`Handlers`](crate::tasks::Handlers)); every process registers the
//! handlers it can run, enqueues tasks from anywhere, and its workers take
//! tasks from the one shared table. The handle implements
//! [`TaskQueue`](crate::tasks::TaskQueue), the same API as the in-memory
//! [`Tasks`](crate::tasks::Tasks).
//!
//! * **Claims** take up to [`claim_batch`](DurableConfig::claim_batch)
//!   ready tasks in one statement with `FOR UPDATE SKIP LOCKED`: highest
//!   [`Priority`](crate::tasks::Priority) first, then earliest start time,
//!   then oldest. No two workers ever hold the same task, and no claimer
//!   waits for another.
//! * **Leases** (the visibility timeout): a claimed task belongs to its
//!   worker for [`lease`](DurableConfig::lease), renewed every
//!   [`renew_interval`](DurableConfig::renew_interval) while the worker
//!   lives. Every process sweeps leases that ran out back to the queue.
//! * **At least once**: a task runs until one attempt is recorded as
//!   finished. Every write-back is fenced by the worker's lease and the
//!   attempt number, so an attempt that outlived its lease records nothing
//!   and exactly one outcome is kept. An attempt cut short (a process
//!   killed) counts: the next one is attempt 2, and
//!   [`TaskInfo::attempts`](crate::tasks::TaskInfo::attempts) above 1 is how
//!   a repeated run is reported.
//! * **Retries** use the kit's [`Backoff`](crate::kit::Backoff): the task's
//!   [`RetryPolicy`](crate::tasks::RetryPolicy) (its attempts and backoff
//!   are stored with the task) or [`max_attempts`](DurableConfig::max_attempts)
//!   and [`backoff`](DurableConfig::backoff). After the last attempt the
//!   task is [`Dead`](crate::tasks::TaskStatus::Dead): kept in the table,
//!   with its last error, for inspection — the dead-letter state.
//! * **Scheduled tasks** wait for
//!   [`TaskOptions::run_at`](crate::tasks::TaskOptions::run_at) (the
//!   database's clock decides when it has come).
//! * **Results** are stored as JSONB with the task and read back with
//!   [`DurableTasks::get`] / [`DurableTasks::wait`].
//!
//! ```no_run
//! use std::time::Duration;
//! use servitor::db::{Db, DbConfig, Postgres};
//! use servitor::tasks::durable::{DurableConfig, DurableTasks};
//! use servitor::tasks::{TaskContext, TaskStatus};
//! use servitor::{Runtime, Supervisor};
//!
//! #[derive(serde::Serialize, serde::Deserialize)]
//! struct Email { to: String }
//!
//! # #[actix_rt::main] async fn main() -> Result<(), Box<dyn std::error::Error>> {
//! let (db_spec, db) = Db::<Postgres>::service("db", DbConfig::url("postgres://postgres@127.0.0.1/test"))?;
//! let (spec, tasks) = DurableTasks::service("mail", DurableConfig::default(), db)?;
//! tasks.handlers().register("send_email", |_cx: TaskContext, email: Email| async move {
//!     Ok::<_, std::io::Error>(format!("sent to {}", email.to))
//! });
//! // The queue's service starts after its database (and makes its tables).
//! let app = Runtime::start(Supervisor::builder("app").child(db_spec).child(spec).build()?).await?;
//!
//! let id = tasks.enqueue("send_email", &Email { to: "ada@example.org".into() }).await?;
//! let done = tasks.wait(id, Duration::from_secs(10)).await?;
//! assert_eq!(done.status, TaskStatus::Completed);
//! assert_eq!(done.result, Some(serde_json::json!("sent to ada@example.org")));
//! app.shutdown().await?;
//! # Ok(()) }
//! ```
//!
//! ## What lives in PostgreSQL
//!
//! One table, `<table_prefix>_tasks`, with a row per task: queue, handler,
//! payload, status, priority, start time, attempts and their limit, the
//! backoff, the lease (owner and end), result and last error, times. Its
//! migrations are recorded in `<table_prefix>_task_migrations`, apart from
//! the application's, and applied by whichever process starts first.
//! Finished rows stay until the application deletes them.
//!
//! ## How it fails
//!
//! * **A worker process dies** (SIGKILL, power loss): its leases run out
//!   after at most [`lease`](DurableConfig::lease) and another process's
//!   sweep returns its tasks to the queue; they run again as their next
//!   attempt. If that was a task's last attempt, it is dead.
//! * **A worker stalls** past its lease: its tasks are taken over; its
//!   renewal finds the lease gone and cancels the tasks' tokens, and their
//!   late outcomes are not recorded
//!   ([`stale`](DurableStats::stale)).
//! * **The database is down**: enqueues and reads fail with
//!   [`TaskError::Database`](crate::tasks::TaskError::Database); workers
//!   back off on the database service's reconnect backoff and resume by
//!   themselves; an outcome that could not be written is run again once its
//!   lease runs out. Health reports error while the queue cannot be
//!   counted.
//! * **A handler is missing** in the process that took the task: that
//!   attempt fails with
//!   [`TaskError::UnknownHandler`](crate::tasks::TaskError::UnknownHandler)
//!   and is retried (perhaps by a process that has it) until dead.
//! * **A payload does not fit** its handler's type: the task fails at once
//!   ([`PayloadError`](crate::tasks::PayloadError)), not retried.
//! * **Bad configuration**: a [`ConfigError`](crate::kit::ConfigError)
//!   names the field when the spec is made.

mod config;
mod engine;
mod handle;
mod schema;
mod stats;

pub use config::{
    DurableConfig, DEFAULT_CANCEL_GRACE, DEFAULT_CLAIM_BATCH, DEFAULT_HEALTH_INTERVAL,
    DEFAULT_LEASE, DEFAULT_MAX_ATTEMPTS, DEFAULT_POLL_INTERVAL, DEFAULT_RENEW_INTERVAL,
    DEFAULT_TABLE_PREFIX, DEFAULT_WORKERS,
};
pub use engine::DurableEngine;
pub use handle::DurableTasks;
pub use stats::DurableStats;

/// The supervised actor of a durable task service: the kit's
/// [`Driver`](crate::kit::Driver) of its engine. It takes no messages.
pub type DurableService = crate::kit::Driver<DurableEngine>;
