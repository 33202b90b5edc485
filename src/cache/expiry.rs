//! Time to live: what [`Cache::ttl`](super::Cache::ttl) reports, and the
//! per-shard queue the background sweep pops expired entries from.
//!
//! Expiry times are [`tokio::time::Instant`]s. Outside tokio's test
//! utilities that is the system's monotonic clock; under
//! `tokio::time::pause()` it is the runtime's paused clock, so tests move
//! time forward with `tokio::time::advance` instead of sleeping.
//!
//! An entry is expired once `now >= expires_at`. An expired entry is never
//! returned: every read checks the time and removes what it finds expired
//! (cause [`RemovalCause::Expired`](super::RemovalCause::Expired)). The
//! sweep only makes sure that entries nobody reads also leave, on time,
//! with their listener called.

use std::cmp::Reverse;
use std::collections::BinaryHeap;
use std::time::Duration;
use tokio::time::Instant;

/// The remaining time to live of a key, as Redis's `TTL` reports it.
///
/// ```
/// use std::time::Duration;
/// use servitor::cache::Ttl;
///
/// let ttl = Ttl::Remaining(Duration::from_secs(5));
/// assert_eq!(ttl.remaining(), Some(Duration::from_secs(5)));
/// assert!(Ttl::Persistent.exists() && !Ttl::Missing.exists());
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Ttl {
    /// No such key, or it has expired (Redis: `-2`).
    Missing,
    /// The key exists and never expires (Redis: `-1`).
    Persistent,
    /// The key expires after this much more time.
    Remaining(Duration),
}

impl Ttl {
    /// The remaining time, if the key exists and expires.
    pub fn remaining(self) -> Option<Duration> {
        match self {
            Ttl::Remaining(d) => Some(d),
            _ => None,
        }
    }

    /// Whether the key exists.
    pub fn exists(self) -> bool {
        !matches!(self, Ttl::Missing)
    }
}

/// When entries expire, earliest first.
///
/// A lazy min-heap of `(expires_at, slab index)`. Changing or removing an
/// entry does not touch the heap: a popped item whose slot no longer holds
/// an entry expiring by then is stale and skipped (see
/// [`Shard::purge_expired`](super::shard::Shard::purge_expired)). Stale items
/// are bounded by [`ExpiryQueue::needs_compaction`].
#[derive(Default)]
pub(crate) struct ExpiryQueue {
    heap: BinaryHeap<Reverse<(Instant, u32)>>,
}

impl ExpiryQueue {
    pub fn push(&mut self, at: Instant, idx: u32) {
        self.heap.push(Reverse((at, idx)));
    }

    /// The earliest item, if it is due at `now`.
    #[inline]
    pub fn pop_due(&mut self, now: Instant) -> Option<(Instant, u32)> {
        match self.heap.peek() {
            Some(Reverse((at, _))) if *at <= now => self.heap.pop().map(|Reverse(item)| item),
            _ => None,
        }
    }

    /// Whether anything is due at `now`.
    pub fn has_due(&self, now: Instant) -> bool {
        matches!(self.heap.peek(), Some(Reverse((at, _))) if *at <= now)
    }

    pub fn is_empty(&self) -> bool {
        self.heap.is_empty()
    }

    /// True when stale items outnumber live entries enough to rebuild.
    pub fn needs_compaction(&self, live: usize) -> bool {
        self.heap.len() > 2 * live + 1024
    }

    /// Replaces the queue with exactly these items.
    pub fn rebuild(&mut self, items: impl Iterator<Item = (Instant, u32)>) {
        self.heap = items.map(Reverse).collect();
    }

    pub fn clear(&mut self) {
        self.heap = BinaryHeap::new();
    }

    pub fn bytes(&self) -> usize {
        self.heap.capacity() * std::mem::size_of::<Reverse<(Instant, u32)>>()
    }
}
