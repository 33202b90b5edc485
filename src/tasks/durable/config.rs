//! Durable queue configuration: which queue and tables, how many workers,
//! the lease, polling, attempts and backoff.
//!
//! Every field has a default ([`DurableConfig::default`]); the struct
//! deserializes with any field left out. Durations are whole milliseconds.
//!
//! ```
//! use std::time::Duration;
//! use servitor::tasks::durable::DurableConfig;
//!
//! let config: DurableConfig = serde_json::from_str(r#"{ "workers": 8, "lease": 60000 }"#).unwrap();
//! assert_eq!(config.workers, 8);
//! assert_eq!(config.lease, Duration::from_secs(60));
//! assert_eq!(config.table_prefix, "servitor");
//! assert!(config.validate("jobs").is_ok());
//! ```

use crate::kit::{Backoff, ConfigError};
use serde::{Deserialize, Serialize};
use std::time::Duration;

/// Default [`DurableConfig::table_prefix`]: `servitor`.
pub const DEFAULT_TABLE_PREFIX: &str = "servitor";
/// Default [`DurableConfig::workers`]: 4.
pub const DEFAULT_WORKERS: usize = 4;
/// Default [`DurableConfig::claim_batch`]: 4 tasks per claim.
pub const DEFAULT_CLAIM_BATCH: usize = 4;
/// Default [`DurableConfig::lease`]: 30 s.
pub const DEFAULT_LEASE: Duration = Duration::from_secs(30);
/// Default [`DurableConfig::renew_interval`]: 10 s.
pub const DEFAULT_RENEW_INTERVAL: Duration = Duration::from_secs(10);
/// Default [`DurableConfig::poll_interval`]: 200 ms.
pub const DEFAULT_POLL_INTERVAL: Duration = Duration::from_millis(200);
/// Default [`DurableConfig::max_attempts`]: 5.
pub const DEFAULT_MAX_ATTEMPTS: u32 = 5;
/// Default [`DurableConfig::health_interval`]: 1 s.
pub const DEFAULT_HEALTH_INTERVAL: Duration = Duration::from_secs(1);
/// Default [`DurableConfig::cancel_grace`]: 5 s.
pub const DEFAULT_CANCEL_GRACE: Duration = Duration::from_secs(5);

/// How a durable task service stores, claims and retries its tasks.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct DurableConfig {
    /// The queue's name: processes with the same queue and tables share
    /// its tasks. `None` (the default): the service's name.
    pub queue: Option<String>,
    /// Tables are `<prefix>_tasks` and `<prefix>_task_migrations` (the
    /// latter records the queue's own migrations apart from the
    /// application's). Lowercase letters, digits and `_`, starting with a
    /// letter, at most 40 characters. Default `servitor`.
    pub table_prefix: String,
    /// Tasks of this process running at once. From 0 (a process that only
    /// enqueues and reads) to 1024, and at most the database service's
    /// `max_connections` less 3 (each worker may hold a connection while
    /// the lease renewer, the sweep and the count need one each; checked
    /// when the spec is made). Default 4.
    pub workers: usize,
    /// The most tasks one worker claims in one statement; they run one
    /// after another under one lease renewal. From 1 to 1000. Default 4.
    /// Larger batches cost fewer round trips, but a process killed loses
    /// the lease on more tasks at once.
    pub claim_batch: usize,
    /// The visibility timeout: a claimed task is the claimer's for this
    /// long, renewed every `renew_interval` while the claimer lives. A
    /// task whose lease ran out (its process died or stalled) is taken by
    /// another worker. At least 100 ms. Default 30 s.
    #[serde(with = "crate::serde_duration")]
    pub lease: Duration,
    /// How often a worker renews the leases it holds. Below `lease`
    /// (a third of it leaves room for two missed renewals). At least 10 ms.
    /// Default 10 s.
    #[serde(with = "crate::serde_duration")]
    pub renew_interval: Duration,
    /// How long an idle worker waits before looking for ready tasks again.
    /// At least 1 ms. Default 200 ms.
    #[serde(with = "crate::serde_duration")]
    pub poll_interval: Duration,
    /// Attempts in all of a task enqueued without a
    /// [`RetryPolicy`](crate::tasks::RetryPolicy). A task whose last attempt
    /// failed, or whose last attempt's lease expired, is dead. At least 1.
    /// Default 5.
    pub max_attempts: u32,
    /// The wait before a retry of a task enqueued without a
    /// [`RetryPolicy`](crate::tasks::RetryPolicy): the kit's backoff.
    /// Default 1 s doubling up to 5 min, 20 % jitter.
    pub backoff: Backoff,
    /// The timeout of each attempt of a task enqueued without one. `None`
    /// (the default): none.
    #[serde(with = "crate::serde_duration::option")]
    pub default_timeout: Option<Duration>,
    /// How long a cancelled running task may take to notice its
    /// cancellation token before it is aborted. Default 5 s.
    #[serde(with = "crate::serde_duration")]
    pub cancel_grace: Duration,
    /// How often the service counts the queue (one statement) and
    /// publishes its health. At least 1 ms. Default 1 s.
    #[serde(with = "crate::serde_duration")]
    pub health_interval: Duration,
}

impl Default for DurableConfig {
    fn default() -> Self {
        DurableConfig {
            queue: None,
            table_prefix: DEFAULT_TABLE_PREFIX.to_string(),
            workers: DEFAULT_WORKERS,
            claim_batch: DEFAULT_CLAIM_BATCH,
            lease: DEFAULT_LEASE,
            renew_interval: DEFAULT_RENEW_INTERVAL,
            poll_interval: DEFAULT_POLL_INTERVAL,
            max_attempts: DEFAULT_MAX_ATTEMPTS,
            backoff: Backoff::exponential(Duration::from_secs(1), Duration::from_secs(300))
                .jitter(0.2),
            default_timeout: None,
            cancel_grace: DEFAULT_CANCEL_GRACE,
            health_interval: DEFAULT_HEALTH_INTERVAL,
        }
    }
}

impl DurableConfig {
    /// Checks every field; the error names the first invalid one.
    pub fn validate(&self, service: &str) -> Result<(), ConfigError> {
        let invalid = |field: &str, problem: &str| Err(ConfigError::field(service, field, problem));
        if let Some(queue) = &self.queue {
            if queue.is_empty() || queue.len() > 200 {
                return invalid("queue", "must be 1 to 200 bytes long");
            }
        }
        if !valid_prefix(&self.table_prefix) {
            return invalid(
                "table_prefix",
                "must start with a lowercase letter and hold only lowercase letters, digits and `_` (at most 40)",
            );
        }
        if self.workers > 1024 {
            return invalid("workers", "must be at most 1024");
        }
        if !(1..=1000).contains(&self.claim_batch) {
            return invalid("claim_batch", "must be from 1 to 1000");
        }
        if self.lease < Duration::from_millis(100) {
            return invalid("lease", "must be at least 100 ms");
        }
        if self.renew_interval < Duration::from_millis(10) {
            return invalid("renew_interval", "must be at least 10 ms");
        }
        if self.renew_interval >= self.lease {
            return invalid("renew_interval", "must be shorter than `lease`");
        }
        if self.poll_interval < Duration::from_millis(1) {
            return invalid("poll_interval", "must be at least 1 ms");
        }
        if self.max_attempts == 0 {
            return invalid("max_attempts", "must be at least 1");
        }
        if let Err(e) = self.backoff.validate() {
            return Err(ConfigError::field(
                service,
                format!("backoff.{}", e.field()),
                e.problem(),
            ));
        }
        if self.default_timeout == Some(Duration::ZERO) {
            return invalid("default_timeout", "must be more than zero (or none)");
        }
        if self.health_interval < Duration::from_millis(1) {
            return invalid("health_interval", "must be at least 1 ms");
        }
        Ok(())
    }
}

fn valid_prefix(p: &str) -> bool {
    let mut chars = p.chars();
    matches!(chars.next(), Some('a'..='z'))
        && p.len() <= 40
        && chars.all(|c| matches!(c, 'a'..='z' | '0'..='9' | '_'))
}
