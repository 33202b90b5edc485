//! The bus's settings, with their defaults; serde-deserializable so they can
//! come from a configuration file (durations in whole milliseconds).

use super::queue::Overflow;
use super::subject::Subject;
use crate::kit::ConfigError;
use serde::{Deserialize, Serialize};
use std::time::Duration;

/// Settings of one event bus. Every field has a documented default, so a
/// configuration file only names what it changes; unknown fields are
/// refused.
///
/// ```
/// use std::time::Duration;
/// use servitor::bus::{BusConfig, Overflow};
///
/// let config: BusConfig = serde_json::from_str(r#"{ "capacity": 64, "overflow": "drop_oldest" }"#).unwrap();
/// assert_eq!(config, BusConfig::default().capacity(64).overflow(Overflow::DropOldest));
/// assert_eq!(config.request_timeout, Duration::from_secs(5));
///
/// let err = BusConfig::default().capacity(0).validate("events").unwrap_err();
/// assert_eq!(err.to_string(), "`events`: `capacity` must be at least 1");
/// ```
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct BusConfig {
    /// Queue capacity of each subscriber (in events) unless the subscription
    /// sets its own. Default 1024.
    pub capacity: usize,
    /// What a full queue does unless the subscription says otherwise.
    /// Default [`Overflow::Block`]: lossless, the publisher waits.
    pub overflow: Overflow,
    /// The dead-letter topic: an event dead-lettered from subject `s` is
    /// published to `{dead_letter_topic}.{s}`, so `_dlq.>` receives every
    /// dead letter. Default `_dlq`.
    pub dead_letter_topic: String,
    /// Whether an event whose handler failed or panicked is sent to the
    /// dead-letter topic, unless the subscription says otherwise. Default
    /// false (the failure is counted and logged).
    pub dead_letter_failures: bool,
    /// How long [`request`](super::EventBus::request) waits for a reply.
    /// Default 5 s.
    #[serde(with = "crate::serde_duration")]
    pub request_timeout: Duration,
    /// How often the bus reports its health (queue depths, drops, failures).
    /// A first drop or handler failure is reported at once. Default 1 s.
    #[serde(with = "crate::serde_duration")]
    pub health_interval: Duration,
    /// The fill ratio of a queue (0 < ratio ≤ 1) from which its subscriber
    /// counts as lagging and the bus reports itself degraded. Default 0.8.
    pub lag_threshold: f64,
    /// How long stopping the bus waits for async handlers to finish the
    /// events already queued for them. Default 1 s.
    #[serde(with = "crate::serde_duration")]
    pub drain_timeout: Duration,
}

/// The default per-subscriber queue capacity: 1024 events.
pub const DEFAULT_CAPACITY: usize = 1024;
/// The default dead-letter topic: `_dlq`.
pub const DEFAULT_DEAD_LETTER_TOPIC: &str = "_dlq";

impl Default for BusConfig {
    fn default() -> Self {
        BusConfig {
            capacity: DEFAULT_CAPACITY,
            overflow: Overflow::Block,
            dead_letter_topic: DEFAULT_DEAD_LETTER_TOPIC.to_string(),
            dead_letter_failures: false,
            request_timeout: Duration::from_secs(5),
            health_interval: Duration::from_secs(1),
            lag_threshold: 0.8,
            drain_timeout: Duration::from_secs(1),
        }
    }
}

impl BusConfig {
    /// Sets the default queue capacity.
    pub fn capacity(mut self, capacity: usize) -> Self {
        self.capacity = capacity;
        self
    }

    /// Sets the default overflow policy.
    pub fn overflow(mut self, overflow: Overflow) -> Self {
        self.overflow = overflow;
        self
    }

    /// Sets the dead-letter topic.
    pub fn dead_letter_topic(mut self, topic: impl Into<String>) -> Self {
        self.dead_letter_topic = topic.into();
        self
    }

    /// Sets whether failed handlers' events are dead-lettered by default.
    pub fn dead_letter_failures(mut self, on: bool) -> Self {
        self.dead_letter_failures = on;
        self
    }

    /// Sets the request timeout.
    pub fn request_timeout(mut self, timeout: Duration) -> Self {
        self.request_timeout = timeout;
        self
    }

    /// Sets the health reporting interval.
    pub fn health_interval(mut self, every: Duration) -> Self {
        self.health_interval = every;
        self
    }

    /// Sets the lag threshold (a queue fill ratio).
    pub fn lag_threshold(mut self, ratio: f64) -> Self {
        self.lag_threshold = ratio;
        self
    }

    /// Sets how long a stop waits for async handlers to drain.
    pub fn drain_timeout(mut self, timeout: Duration) -> Self {
        self.drain_timeout = timeout;
        self
    }

    /// Checks every setting; the error names the first bad one.
    pub fn validate(&self, service: &str) -> Result<(), ConfigError> {
        let bad = |field: &str, problem: &str| Err(ConfigError::field(service, field, problem));
        if self.capacity == 0 {
            return bad("capacity", "must be at least 1");
        }
        if Subject::new(&self.dead_letter_topic).is_err() {
            return bad(
                "dead_letter_topic",
                "must be a valid subject without wildcards",
            );
        }
        if self.request_timeout.is_zero() {
            return bad("request_timeout", "must be above zero");
        }
        if self.health_interval.is_zero() {
            return bad("health_interval", "must be above zero");
        }
        if !(self.lag_threshold > 0.0 && self.lag_threshold <= 1.0) {
            return bad("lag_threshold", "must be above 0 and at most 1");
        }
        Ok(())
    }
}
