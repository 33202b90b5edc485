//! Cache statistics: exact counters, not samples or estimates.
//!
//! Every counter is kept per shard and updated under the shard's lock by
//! the operation it counts, so nothing is lost or counted twice however
//! many threads use the cache: `hits + misses` is exactly the number of
//! reads (`get` and the first look-up of each `get_or_insert_with` call).
//! [`Cache::stats`](super::Cache::stats) adds the shards up one after
//! another; while other threads keep writing, the sum is a little time
//! smeared, and exact again as soon as they pause.
//!
//! The cache service publishes the same numbers as its health details.
//!
//! ```
//! use servitor::cache::{Cache, CacheConfig};
//!
//! let (_spec, cache) = Cache::<u32, u32>::service("numbers", CacheConfig::default()).unwrap();
//! cache.set(1, 10).unwrap();
//! cache.get(&1).unwrap();
//! cache.get(&2).unwrap();
//! let stats = cache.stats();
//! assert_eq!((stats.hits, stats.misses, stats.inserts, stats.entries), (1, 1, 1, 1));
//! assert_eq!(stats.hit_ratio, 0.5);
//! ```

use super::listener::RemovalCause;
use serde::{Deserialize, Serialize};

/// A snapshot of a cache's counters.
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize, Deserialize)]
pub struct CacheStats {
    /// Reads that found a live entry.
    pub hits: u64,
    /// Reads that found nothing (or an expired entry).
    pub misses: u64,
    /// `hits / (hits + misses)`; 0 before the first read.
    pub hit_ratio: f64,
    /// Values stored by `set`, `set_with_ttl`, `set_persistent` and loaders,
    /// replacements included.
    pub inserts: u64,
    /// Entries whose value a later `set` replaced.
    pub replaced: u64,
    /// Entries evicted by the size bound (count or weight).
    pub evicted: u64,
    /// Entries removed because their time to live ran out.
    pub expired: u64,
    /// Entries removed by `delete`, `clear` or `delete_pattern`.
    pub removed: u64,
    /// `get_or_insert_with` loaders that returned a value.
    pub loads: u64,
    /// `get_or_insert_with` loaders that failed or panicked.
    pub load_failures: u64,
    /// Entries held now (including expired ones the sweep has not reached
    /// yet; [`Cache::len`](super::Cache::len) excludes them).
    pub entries: u64,
    /// The summed weight of the entries, as the weigher measured them (0
    /// without a weigher).
    pub weight: u64,
    /// Estimated memory held, in bytes: the store's own tables at their
    /// allocated size (shallow size of keys and values included) plus the
    /// entries' weight, if the weigher measures bytes.
    pub estimated_bytes: u64,
}

impl CacheStats {
    /// All reads: `hits + misses`.
    pub fn reads(&self) -> u64 {
        self.hits + self.misses
    }

    /// How many entries left the cache for `cause`.
    pub fn removals(&self, cause: RemovalCause) -> u64 {
        match cause {
            RemovalCause::Expired => self.expired,
            RemovalCause::Evicted => self.evicted,
            RemovalCause::Explicit => self.removed,
            RemovalCause::Replaced => self.replaced,
        }
    }

    pub(crate) fn finish(mut self) -> Self {
        let reads = self.reads();
        self.hit_ratio = if reads == 0 {
            0.0
        } else {
            self.hits as f64 / reads as f64
        };
        self
    }
}

/// The counters of one shard, updated under its lock. The two every read
/// touches come first.
#[derive(Debug, Default, Clone, Copy)]
#[repr(C)]
pub(crate) struct Counters {
    pub hits: u64,
    pub misses: u64,
    pub inserts: u64,
    pub replaced: u64,
    pub evicted: u64,
    pub expired: u64,
    pub removed: u64,
}

impl Counters {
    pub fn count(&mut self, cause: RemovalCause) {
        match cause {
            RemovalCause::Expired => self.expired += 1,
            RemovalCause::Evicted => self.evicted += 1,
            RemovalCause::Explicit => self.removed += 1,
            RemovalCause::Replaced => self.replaced += 1,
        }
    }

    pub fn add_to(&self, stats: &mut CacheStats) {
        stats.hits += self.hits;
        stats.misses += self.misses;
        stats.inserts += self.inserts;
        stats.replaced += self.replaced;
        stats.evicted += self.evicted;
        stats.expired += self.expired;
        stats.removed += self.removed;
    }
}
