//! How task operations fail.
//!
//! * [`TaskError`] — an operation on the task service could not be done:
//!   unknown id, full queue, a wait that timed out, a stopped service.
//! * [`ConfigError`](crate::kit::ConfigError) — an invalid name or
//!   [`TasksConfig`](super::TasksConfig); names the field.
//!
//! A task's *own* failure is not an error of these operations: it is the
//! task's [`TaskStatus`](super::TaskStatus) and
//! [`TaskInfo::error`](super::TaskInfo::error).

use super::task::{TaskId, TaskStatus};
use std::time::Duration;

/// A failed operation on a task service.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum TaskError {
    /// No task with this id is known: it never existed, or it finished and
    /// was forgotten under the retention limits.
    #[error("no task {id}")]
    NotFound {
        /// The id asked for.
        id: TaskId,
    },
    /// The queue is full and the submit asked to fail rather than wait
    /// ([`OnFull::Fail`](super::OnFull::Fail)). Nothing was queued.
    #[error("task queue of `{service}` is full ({capacity} pending)")]
    QueueFull {
        /// The task service's name.
        service: String,
        /// Its [`queue_capacity`](super::TasksConfig::queue_capacity).
        capacity: usize,
    },
    /// [`wait`](super::Tasks::wait) gave up: the task had not finished.
    #[error("task {id} still {status} after {after:?}")]
    WaitTimedOut {
        /// The task waited for.
        id: TaskId,
        /// Its status when the wait gave up.
        status: TaskStatus,
        /// How long the wait lasted.
        after: Duration,
    },
    /// The task service is gone for good (its runtime shut down or it was
    /// removed from its supervisor); nothing more is accepted.
    #[error("task service `{service}` is stopped")]
    Stopped {
        /// The task service's name.
        service: String,
    },
    /// A task was submitted by a handler name nobody registered
    /// ([`Handlers::register`](super::Handlers::register)). Nothing was
    /// queued.
    #[error("task service `{service}` has no handler named `{handler}`")]
    UnknownHandler {
        /// The task service's name.
        service: String,
        /// The name asked for.
        handler: String,
    },
    /// A payload could not be serialized to JSON. Nothing was queued.
    #[error("the payload of `{handler}` cannot be serialized: {problem}")]
    Payload {
        /// The handler's name.
        handler: String,
        /// What serde said.
        problem: String,
    },
    /// A durable queue's service has not started yet (its database and
    /// migrations come first): put its spec in a running tree.
    #[error("task service `{service}` has not been started")]
    NotStarted {
        /// The task service's name.
        service: String,
    },
    /// A durable queue's database refused or could not run a statement.
    /// The cause is the database error's message, with any password
    /// scrubbed.
    #[error("the database of task service `{service}` failed: {cause}")]
    Database {
        /// The task service's name.
        service: String,
        /// What the database or driver said.
        cause: String,
    },
}

impl From<crate::kit::Stopped> for TaskError {
    fn from(e: crate::kit::Stopped) -> Self {
        TaskError::Stopped { service: e.service }
    }
}
