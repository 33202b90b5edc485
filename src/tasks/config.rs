//! Task service configuration: workers, queue bound, timeouts, retention
//! and the failure rate that makes the service degraded.
//!
//! Every field has a default ([`TasksConfig::default`]); the struct
//! deserializes with any field left out. Durations are whole milliseconds,
//! `null` for "none".
//!
//! ```
//! use servitor::tasks::TasksConfig;
//!
//! let config: TasksConfig = serde_json::from_str(r#"{ "workers": 8 }"#).unwrap();
//! assert_eq!(config.workers, 8);
//! assert_eq!(config.queue_capacity, 10_000);
//! ```

use crate::kit::ConfigError;
use crate::placement::Placement;
use serde::{Deserialize, Serialize};
use std::time::Duration;

/// Default [`TasksConfig::workers`]: 4.
pub const DEFAULT_WORKERS: usize = 4;
/// The most workers a task service may have.
pub const MAX_WORKERS: usize = 1024;
/// Default [`TasksConfig::queue_capacity`]: 10,000 pending tasks.
pub const DEFAULT_QUEUE_CAPACITY: usize = 10_000;
/// Default [`TasksConfig::cancel_grace`]: 5 s.
pub const DEFAULT_CANCEL_GRACE: Duration = Duration::from_secs(5);
/// Default [`TasksConfig::retain_finished`]: 10,000 finished tasks.
pub const DEFAULT_RETAIN_FINISHED: usize = 10_000;
/// Default [`TasksConfig::health_interval`]: 1 s.
pub const DEFAULT_HEALTH_INTERVAL: Duration = Duration::from_secs(1);
/// Default [`TasksConfig::failure_window`]: the last 100 finished tasks.
pub const DEFAULT_FAILURE_WINDOW: usize = 100;
/// Default [`TasksConfig::degraded_failure_rate`]: 0.5.
pub const DEFAULT_DEGRADED_FAILURE_RATE: f64 = 0.5;

/// How a task service runs, bounds and reports its work.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct TasksConfig {
    /// How many tasks run at once. From 1 to [`MAX_WORKERS`] (1024).
    /// Default 4 ([`DEFAULT_WORKERS`]).
    pub workers: usize,
    /// Where the workers run. Default [`Placement::Pool`]: spread over the
    /// runtime's pool arbiters, so tasks use every core. Each attempt of a
    /// task runs start to finish on one worker's thread, so a task's future
    /// need not be `Send`. [`Placement::Inherit`] keeps every worker on the
    /// task service's own arbiter: no thread is crossed (cheaper for tiny
    /// tasks), and a test's paused tokio clock applies to them.
    pub worker_placement: Placement,
    /// The most pending tasks; a submit beyond it waits or fails, as the
    /// caller chose ([`OnFull`](super::OnFull)). Retries coming back from
    /// their backoff are never refused. At least 1. Default 10,000.
    pub queue_capacity: usize,
    /// The timeout of tasks submitted without one. Default `None`: none.
    #[serde(with = "crate::serde_duration::option")]
    pub default_timeout: Option<Duration>,
    /// How long a cancelled running task may take to notice its
    /// cancellation token before it is aborted. Default 5 s.
    #[serde(with = "crate::serde_duration")]
    pub cancel_grace: Duration,
    /// The most finished tasks kept for `get`/`list`/`wait`; older ones are
    /// forgotten first. At least 1. Default 10,000.
    pub retain_finished: usize,
    /// How long a finished task is kept at most. Default `None`: by count
    /// only. Not zero. Checked on every health interval.
    #[serde(with = "crate::serde_duration::option")]
    pub retain_for: Option<Duration>,
    /// How often the service publishes its health. At least 1 ms. Default 1 s.
    #[serde(with = "crate::serde_duration")]
    pub health_interval: Duration,
    /// How many of the most recently finished tasks the failure rate is
    /// computed over. At least 1. Default 100.
    pub failure_window: usize,
    /// The failure rate (failed, timed out or dead, over the window) at or
    /// above which the service reports degraded. In (0, 1]. Default 0.5.
    pub degraded_failure_rate: f64,
}

impl Default for TasksConfig {
    fn default() -> Self {
        TasksConfig {
            workers: DEFAULT_WORKERS,
            worker_placement: Placement::Pool,
            queue_capacity: DEFAULT_QUEUE_CAPACITY,
            default_timeout: None,
            cancel_grace: DEFAULT_CANCEL_GRACE,
            retain_finished: DEFAULT_RETAIN_FINISHED,
            retain_for: None,
            health_interval: DEFAULT_HEALTH_INTERVAL,
            failure_window: DEFAULT_FAILURE_WINDOW,
            degraded_failure_rate: DEFAULT_DEGRADED_FAILURE_RATE,
        }
    }
}

impl TasksConfig {
    /// Checks every field; the error names the first invalid one.
    pub fn validate(&self, service: &str) -> Result<(), ConfigError> {
        let invalid = |field: &str, problem: &str| Err(ConfigError::field(service, field, problem));
        if self.workers == 0 {
            return invalid("workers", "must be at least 1");
        }
        if self.workers > MAX_WORKERS {
            return invalid("workers", "must be at most 1024");
        }
        if self.queue_capacity == 0 {
            return invalid("queue_capacity", "must be at least 1");
        }
        if self.default_timeout == Some(Duration::ZERO) {
            return invalid("default_timeout", "must be more than zero (or none)");
        }
        if self.retain_finished == 0 {
            return invalid("retain_finished", "must be at least 1");
        }
        if self.retain_for == Some(Duration::ZERO) {
            return invalid("retain_for", "must be more than zero (or none)");
        }
        if self.health_interval < Duration::from_millis(1) {
            return invalid("health_interval", "must be at least 1 ms");
        }
        if self.failure_window == 0 {
            return invalid("failure_window", "must be at least 1");
        }
        if !(self.degraded_failure_rate > 0.0 && self.degraded_failure_rate <= 1.0) {
            return invalid("degraded_failure_rate", "must be in (0, 1]");
        }
        Ok(())
    }
}
