//! The task service: background task workers with status lookup by id,
//! cancellation, one retry mechanism, priorities, a bounded queue and a
//! dead set, run as a supervised service.
//!
//! It is made with the [service kit](crate::kit): [`Tasks::service`] makes a
//! [`ChildSpec`](crate::ChildSpec) and a [`Tasks`] handle. The handle
//! submits, inspects, waits for and cancels tasks on a queue (the
//! [`TaskEngine`]) shared by every handle and every incarnation of the
//! service's actor ([`TasksService`]); the actor runs
//! [`workers`](TasksConfig::workers) workers on its arbiter and publishes
//! health.
//!
//! * **Submit** an async closure ([`Tasks::submit`]) or blocking work
//!   ([`Tasks::submit_blocking`], run on tokio's blocking pool so the
//!   arbiter is never stalled) and get a [`TaskId`]. A task's `Ok` value is
//!   kept as JSON ([`TaskInfo::result`]); an error as its message.
//! * **Named handlers**: register code under a name ([`Handlers`], through
//!   [`Tasks::handlers`]) and [`enqueue`](Tasks::enqueue) tasks as that
//!   name and a serde payload — what can be stored and run by another
//!   process. [`TaskQueue`] is the API the in-memory service and the
//!   durable PostgreSQL queue (`durable`, feature `durable`) share.
//! * **Start times**: [`TaskOptions::run_at`] / [`run_after`](TaskOptions::run_after).
//! * **Statuses** ([`TaskStatus`]): pending, running, completed, failed,
//!   cancelled, timed out, dead (retries exhausted). An unknown id is
//!   [`TaskError::NotFound`].
//! * **Inspect**: [`Tasks::get`], [`Tasks::list`] (by status and name,
//!   newest first, limited), [`Tasks::wait`] (woken by completion).
//! * **Cancel** ([`Tasks::cancel`]): a pending task at once; a running one
//!   through its [`TaskContext`] token, aborted after
//!   [`cancel_grace`](TasksConfig::cancel_grace).
//! * **Options** ([`TaskOptions`]): timeout per attempt, a [`RetryPolicy`]
//!   (exponential backoff with jitter, max attempts, retryable predicate),
//!   [`Priority`], a unique key, and [`OnFull`] backpressure.
//! * **Retention**: finished tasks are kept up to
//!   [`retain_finished`](TasksConfig::retain_finished) (and optionally
//!   [`retain_for`](TasksConfig::retain_for)), oldest forgotten first, so
//!   memory stays flat.
//! * **Health**: details carry [`TaskStats`] (queue depth, busy and idle
//!   workers, counters, failure rate); the status is busy while every
//!   worker runs a task, idle when none does and nothing is queued, ok in
//!   between, and degraded while the failure rate over
//!   the last [`failure_window`](TasksConfig::failure_window) finished
//!   tasks is at or above
//!   [`degraded_failure_rate`](TasksConfig::degraded_failure_rate).
//!
//! ```
//! use std::time::Duration;
//! use servitor::tasks::{Tasks, TasksConfig, TaskStatus};
//! use servitor::{Runtime, Supervisor};
//!
//! # #[actix_rt::main] async fn main() -> Result<(), Box<dyn std::error::Error>> {
//! let (spec, tasks) = Tasks::service("jobs", TasksConfig::default())?;
//! let app = Runtime::start(Supervisor::builder("app").child(spec).build()?).await?;
//!
//! let id = tasks.submit("add", |_cx| async { Ok::<_, std::io::Error>(2 + 2) }).await?;
//! let done = tasks.wait(id, Duration::from_secs(5)).await?;
//! assert_eq!(done.status, TaskStatus::Completed);
//! assert_eq!(done.result, Some(serde_json::json!(4)));
//!
//! app.shutdown().await?;
//! # Ok(()) }
//! ```
//!
//! ## How it fails
//!
//! * **A task panics**: it becomes [`Failed`](TaskStatus::Failed) with
//!   `panicked: <message>` as its error; the worker catches the panic and
//!   takes the next task.
//! * **The actor crashes**: its supervisor restarts it. Tasks live in the
//!   shared queue, not the actor: pending tasks stay pending (and submits
//!   keep being accepted) while it is down; its workers finish the task in
//!   hand and exit, and the new incarnation's workers take the rest.
//! * **The service is gone for good** (runtime shut down, removed from its
//!   supervisor, or the spec dropped unstarted): pending tasks become
//!   cancelled, running ones are asked to stop, submits return
//!   [`TaskError::Stopped`]; finished tasks can still be read.
//! * **The queue is full**: submit waits, or fails with
//!   [`TaskError::QueueFull`] ([`OnFull::Fail`]).
//! * **A worker dies** of a panic outside a task: the incarnation fails and
//!   its supervisor starts it again, with fresh workers.
//! * **Bad configuration**: a [`ConfigError`](crate::kit::ConfigError)
//!   names the field.

mod config;
#[cfg(feature = "durable")]
#[cfg_attr(docsrs, doc(cfg(feature = "durable")))]
pub mod durable;
mod engine;
mod error;
mod handle;
mod handler;
mod queue;
mod records;
mod task;

pub use config::{
    TasksConfig, DEFAULT_CANCEL_GRACE, DEFAULT_DEGRADED_FAILURE_RATE, DEFAULT_FAILURE_WINDOW,
    DEFAULT_HEALTH_INTERVAL, DEFAULT_QUEUE_CAPACITY, DEFAULT_RETAIN_FINISHED, DEFAULT_WORKERS,
    MAX_WORKERS,
};
pub use engine::TaskEngine;
pub use error::TaskError;
pub use handle::Tasks;
pub use handler::{Handlers, PayloadError};
pub use queue::TaskQueue;

/// The supervised actor of a task service: the kit's
/// [`Driver`](crate::kit::Driver) of its engine. It takes no messages.
pub type TasksService = crate::kit::Driver<TaskEngine>;
pub use task::{
    OnFull, Priority, RetryPolicy, TaskContext, TaskFilter, TaskId, TaskInfo, TaskOptions,
    TaskStats, TaskStatus,
};
