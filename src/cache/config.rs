//! Cache configuration: bounds, default time to live, sweep, sharding,
//! eviction policy and hasher.
//!
//! Every field has a default ([`CacheConfig::default`]) and the struct
//! deserializes from a config file with any field left out; durations are
//! whole milliseconds there, `null` for "none".
//!
//! ```
//! use std::time::Duration;
//! use servitor::cache::CacheConfig;
//!
//! let config: CacheConfig = serde_json::from_str(
//!     r#"{ "capacity": 50000, "default_ttl": 60000 }"#,
//! ).unwrap();
//! assert_eq!(config.capacity, 50_000);
//! assert_eq!(config.default_ttl, Some(Duration::from_secs(60)));
//! assert_eq!(config.sweep_interval, Duration::from_secs(1));
//! ```

use super::hasher::CacheHasher;
use super::policy::EvictionPolicy;
use crate::kit::ConfigError;
use serde::{Deserialize, Serialize};
use std::time::Duration;

/// Default [`CacheConfig::capacity`]: 10,000 entries.
pub const DEFAULT_CAPACITY: u64 = 10_000;
/// Default [`CacheConfig::sweep_interval`]: 1 s.
pub const DEFAULT_SWEEP_INTERVAL: Duration = Duration::from_secs(1);
/// Default [`CacheConfig::sweep_limit`]: 100,000 entries per pass.
pub const DEFAULT_SWEEP_LIMIT: usize = 100_000;
/// The most shards a cache may have.
pub const MAX_SHARDS: usize = 1024;

/// Automatic sharding keeps at least this many entries' room per shard.
const MIN_ENTRIES_PER_SHARD: u64 = 32;
/// Automatic sharding uses up to this many shards per CPU, at most 64.
const SHARDS_PER_CPU: usize = 16;

/// How a cache is bounded, expires entries and sweeps.
///
/// Build one with struct-update syntax:
///
/// ```
/// use std::time::Duration;
/// use servitor::cache::CacheConfig;
///
/// let config = CacheConfig {
///     capacity: 100_000,
///     default_ttl: Some(Duration::from_secs(300)),
///     ..CacheConfig::default()
/// };
/// # let _ = config;
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct CacheConfig {
    /// The most entries held; an insert beyond it evicts an entry first (an
    /// expired one if any is due, else the one the [`policy`](Self::policy)
    /// picks). At least 1. Default 10,000 ([`DEFAULT_CAPACITY`]);
    /// `u64::MAX` for no count bound.
    pub capacity: u64,
    /// The most summed weight held, as measured by the weigher given to
    /// [`CacheBuilder::weigher`](super::CacheBuilder::weigher) (often
    /// bytes). Default `None`: bounded by count only. With both set, both
    /// bounds hold. A single entry heavier than this is refused with
    /// [`CacheError::TooHeavy`](super::CacheError::TooHeavy).
    #[serde(with = "crate::serde_duration::size::option")]
    pub max_weight: Option<u64>,
    /// The time to live of entries stored without one (`set`, loaders).
    /// Default `None`: such entries never expire. Not zero.
    #[serde(with = "crate::serde_duration::option")]
    pub default_ttl: Option<Duration>,
    /// How often the cache service sweeps expired entries out and publishes
    /// its stats as health details. Default 1 s ([`DEFAULT_SWEEP_INTERVAL`]);
    /// at least 1 ms. An expired entry is never returned in between; the
    /// sweep is what removes (and reports) entries nobody reads.
    #[serde(with = "crate::serde_duration")]
    pub sweep_interval: Duration,
    /// The most entries one sweep pass removes before it yields to other
    /// actors. When more are due, the service reports
    /// [`Status::Degraded`](crate::Status::Degraded) ("sweep behind") and
    /// runs the next pass at once, until it has caught up. At least 1.
    /// Default 100,000 ([`DEFAULT_SWEEP_LIMIT`]).
    pub sweep_limit: usize,
    /// The number of shards (independently locked parts), a power of two
    /// up to [`MAX_SHARDS`]; 0 (the default) picks one: 16 per CPU (at most
    /// 64), fewer for small capacities so each shard has room for at least
    /// 32 entries.
    ///
    /// The bounds are global, but the policy's queues are kept per shard:
    /// an insert that overflows the cache evicts the policy's victim *of
    /// its own shard*. With one shard (chosen automatically for capacities
    /// under 64) the policy works over the whole cache — with
    /// [`EvictionPolicy::Lru`], exact LRU; with more shards it approximates
    /// that, and threads rarely contend.
    pub shards: usize,
    /// Which entry an insert into a full cache evicts. Default
    /// [`EvictionPolicy::S3Fifo`] (`"s3_fifo"`; or `"lru"`). See
    /// [`policy`](super::policy).
    pub policy: EvictionPolicy,
    /// The hash function of the keys: speed ([`CacheHasher::Foldhash`], the
    /// default, `"foldhash"`) or resistance to keys chosen by an attacker
    /// ([`CacheHasher::SipHash`], `"siphash"`). See [`hasher`](super::hasher).
    pub hasher: CacheHasher,
}

impl Default for CacheConfig {
    fn default() -> Self {
        CacheConfig {
            capacity: DEFAULT_CAPACITY,
            max_weight: None,
            default_ttl: None,
            sweep_interval: DEFAULT_SWEEP_INTERVAL,
            sweep_limit: DEFAULT_SWEEP_LIMIT,
            shards: 0,
            policy: EvictionPolicy::default(),
            hasher: CacheHasher::default(),
        }
    }
}

impl CacheConfig {
    /// Checks every field; the error names the first invalid one.
    pub fn validate(&self, cache: &str) -> Result<(), ConfigError> {
        let invalid = |field: &str, problem: &str| Err(ConfigError::field(cache, field, problem));
        if self.capacity == 0 {
            return invalid("capacity", "must be at least 1");
        }
        if self.max_weight == Some(0) {
            return invalid("max_weight", "must be at least 1 (or none)");
        }
        if self.default_ttl == Some(Duration::ZERO) {
            return invalid("default_ttl", "must be more than zero (or none)");
        }
        if self.sweep_interval < Duration::from_millis(1) {
            return invalid("sweep_interval", "must be at least 1 ms");
        }
        if self.sweep_limit == 0 {
            return invalid("sweep_limit", "must be at least 1");
        }
        if self.shards != 0 && (!self.shards.is_power_of_two() || self.shards > MAX_SHARDS) {
            return invalid(
                "shards",
                &format!("must be 0 (automatic) or a power of two up to {MAX_SHARDS}"),
            );
        }
        Ok(())
    }

    /// The shard count in use: [`shards`](Self::shards), or the automatic
    /// choice when it is 0.
    ///
    /// ```
    /// use servitor::cache::CacheConfig;
    ///
    /// let tiny = CacheConfig { capacity: 3, ..CacheConfig::default() };
    /// assert_eq!(tiny.shard_count(), 1);
    /// let set = CacheConfig { shards: 8, ..CacheConfig::default() };
    /// assert_eq!(set.shard_count(), 8);
    /// ```
    pub fn shard_count(&self) -> usize {
        if self.shards != 0 {
            return self.shards;
        }
        let cpus = std::thread::available_parallelism().map_or(1, |n| n.get());
        let by_cpu = (cpus * SHARDS_PER_CPU).next_power_of_two().min(64);
        let by_capacity = floor_pow2(self.capacity / MIN_ENTRIES_PER_SHARD);
        (by_cpu as u64).min(by_capacity) as usize
    }
}

/// The largest power of two not above `n` (1 for 0).
fn floor_pow2(n: u64) -> u64 {
    if n <= 1 {
        1
    } else {
        1 << (63 - n.leading_zeros())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn floor_pow2_rounds_down() {
        assert_eq!(floor_pow2(0), 1);
        assert_eq!(floor_pow2(1), 1);
        assert_eq!(floor_pow2(3), 2);
        assert_eq!(floor_pow2(64), 64);
        assert_eq!(floor_pow2(100), 64);
    }
}
