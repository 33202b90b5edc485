//! Scheduler configuration: backoff cap, default missed-run policy, health.
//!
//! Every field has a default ([`SchedulerConfig::default`]) and the struct
//! deserializes from a config file with any field left out; durations are
//! whole milliseconds there.
//!
//! ```
//! use std::time::Duration;
//! use servitor::scheduler::{MissedRunPolicy, SchedulerConfig};
//!
//! let config: SchedulerConfig = serde_json::from_str(
//!     r#"{ "max_backoff": 60000, "missed_runs": "catch_up_once" }"#,
//! ).unwrap();
//! assert_eq!(config.max_backoff, Duration::from_secs(60));
//! assert_eq!(config.missed_runs, MissedRunPolicy::CatchUpOnce);
//! assert_eq!(config.degraded_after, 3);
//! ```

use crate::kit::ConfigError;
use serde::{Deserialize, Serialize};
use std::time::Duration;

/// Default [`SchedulerConfig::max_backoff`]: 5 minutes.
pub const DEFAULT_MAX_BACKOFF: Duration = Duration::from_secs(5 * 60);
/// Default [`SchedulerConfig::degraded_after`]: 3 consecutive failures.
pub const DEFAULT_DEGRADED_AFTER: u32 = 3;
/// Default [`SchedulerConfig::health_interval`]: 1 s.
pub const DEFAULT_HEALTH_INTERVAL: Duration = Duration::from_secs(1);

/// What a job does about runs it missed — slots that passed while a run
/// was still going, while the process was too busy to start it, while the
/// scheduler was down, or because the clock jumped.
///
/// A slot counts as *missed* when, by the time the scheduler can start it,
/// the slot after it has come too. A run merely late by less than one
/// period is not missed; it starts at once.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum MissedRunPolicy {
    /// Drop the missed runs: the next run is at the next future slot. The
    /// default.
    #[default]
    Skip,
    /// Run once at once for all the missed slots, then resume at the next
    /// future slot.
    CatchUpOnce,
}

/// How a scheduler backs off failing jobs, treats missed runs and reports
/// its health.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct SchedulerConfig {
    /// The longest delay between retries of a failing job. After `n`
    /// consecutive failures a job runs again `period × 2ⁿ` after the failed
    /// run ended, capped at this (but never sooner than one period); the
    /// first success returns it to its schedule. `period` is the interval,
    /// or for a cron job the gap between the failed slot and the next.
    /// More than zero. Default 5 min ([`DEFAULT_MAX_BACKOFF`]).
    #[serde(with = "crate::serde_duration")]
    pub max_backoff: Duration,
    /// The missed-run policy of jobs added without one. Default
    /// [`MissedRunPolicy::Skip`].
    pub missed_runs: MissedRunPolicy,
    /// A job failing this many times in a row makes the scheduler report
    /// [`Status::Degraded`](crate::Status::Degraded) until it succeeds (or
    /// is disabled or removed). At least 1. Default 3
    /// ([`DEFAULT_DEGRADED_AFTER`]).
    pub degraded_after: u32,
    /// How often the service's health check runs (it also republishes the
    /// job stats, which are otherwise published after every run). At least
    /// 1 ms. Default 1 s ([`DEFAULT_HEALTH_INTERVAL`]).
    #[serde(with = "crate::serde_duration")]
    pub health_interval: Duration,
}

impl Default for SchedulerConfig {
    fn default() -> Self {
        SchedulerConfig {
            max_backoff: DEFAULT_MAX_BACKOFF,
            missed_runs: MissedRunPolicy::Skip,
            degraded_after: DEFAULT_DEGRADED_AFTER,
            health_interval: DEFAULT_HEALTH_INTERVAL,
        }
    }
}

impl SchedulerConfig {
    /// Checks every field; the error names the first invalid one.
    pub fn validate(&self, scheduler: &str) -> Result<(), ConfigError> {
        let invalid =
            |field: &str, problem: &str| Err(ConfigError::field(scheduler, field, problem));
        if self.max_backoff.is_zero() {
            return invalid("max_backoff", "must be more than zero");
        }
        if self.degraded_after == 0 {
            return invalid("degraded_after", "must be at least 1");
        }
        if self.health_interval < Duration::from_millis(1) {
            return invalid("health_interval", "must be at least 1 ms");
        }
        Ok(())
    }
}
