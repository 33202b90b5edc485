//! One shard of the store: the [slab](super::slab) of entries, the hash
//! [index](super::index) over it, the [eviction policy](super::policy)'s
//! rings, the expiry queue and the shard's counters, all behind one lock
//! (held by [`super::engine::CacheEngine`]).

use super::expiry::{ExpiryQueue, Ttl};
use super::listener::{RemovalCause, Removals};
use super::loader::Flight;
use super::policy::{EvictionPolicy, Ghosts, Queues};
use super::slab::{Slab, Slot, NIL};
use super::stats::{CacheStats, Counters};
use hashbrown::hash_table::Entry;
use hashbrown::HashTable;
use std::borrow::Borrow;
use std::collections::HashMap;
use std::hash::Hash;
use std::sync::Arc;
use tokio::time::Instant;

/// No slot to spare in [`Shard::evict_one`].
pub(crate) const NO_SLOT: u32 = NIL;

/// Everything a shard held, taken out under its lock to be dropped after.
pub(crate) struct Drained<K, V> {
    _slots: Vec<Slot<K, V>>,
    _flights: HashMap<K, Arc<Flight<V>>>,
}

/// The fields are laid out for two threads working on the same shard:
/// the counters sit on the lock's cache line (the one line every
/// operation writes, hit or miss), then the index and slab headers, then
/// the rest, so that reads on two cores share every other line.
///
/// The index is a `hashbrown` table of slot numbers keyed by the hash the
/// engine computed once for the operation (so a key is never hashed
/// twice): one byte of control and four of slot number per bucket, small
/// enough to stay in a core's cache while the entries themselves do not.
#[repr(C)]
pub(crate) struct Shard<K, V> {
    pub counters: Counters,
    index: HashTable<u32>,
    slab: Slab<K, V>,
    /// Set when the cache service stopped for good: every operation fails.
    pub closed: bool,
    queues: Queues,
    ghosts: Ghosts,
    expiries: ExpiryQueue,
    /// Loads in progress (see [`super::loader`]).
    pub flights: HashMap<K, Arc<Flight<V>>>,
}

impl<K: Hash + Eq, V> Shard<K, V> {
    /// An empty shard; `weighted` if the cache has a weigher (the policy's
    /// shares are then measured by weight).
    pub fn new(policy: EvictionPolicy, weighted: bool) -> Self {
        Shard {
            counters: Counters::default(),
            index: HashTable::new(),
            slab: Slab::default(),
            closed: false,
            queues: Queues::new(policy, weighted),
            ghosts: Ghosts::default(),
            expiries: ExpiryQueue::default(),
            flights: HashMap::new(),
        }
    }

    /// Entries held, expired ones included.
    #[inline]
    pub fn len(&self) -> usize {
        self.queues.len()
    }

    /// The summed weight of the entries held.
    #[inline]
    pub fn weight(&self) -> u64 {
        self.queues.weight()
    }

    /// Whether a read may find an entry expired (and remove it): false
    /// while no entry has an expiry.
    #[inline]
    pub fn may_expire(&self) -> bool {
        !self.expiries.is_empty()
    }

    // ---- reads ----

    /// A read: the value of a live entry, counted as a hit or a miss (and
    /// by the policy). An expired entry is removed.
    #[inline]
    pub fn get<Q>(&mut self, hash: u64, key: &Q, removals: &mut Removals<K, V>) -> Option<V>
    where
        K: Borrow<Q>,
        Q: Eq + ?Sized,
        V: Clone,
    {
        match self.live(hash, key, removals) {
            Some(i) => {
                self.queues.touch(&mut self.slab, i);
                self.counters.hits += 1;
                self.slab[i].entry.as_ref().map(|(_, v)| v.clone())
            }
            None => {
                self.counters.misses += 1;
                None
            }
        }
    }

    /// Whether a live entry exists; not a read, the policy does not see it.
    pub fn contains<Q>(&mut self, hash: u64, key: &Q, removals: &mut Removals<K, V>) -> bool
    where
        K: Borrow<Q>,
        Q: Eq + ?Sized,
    {
        self.live(hash, key, removals).is_some()
    }

    pub fn ttl<Q>(&mut self, hash: u64, key: &Q, removals: &mut Removals<K, V>) -> Ttl
    where
        K: Borrow<Q>,
        Q: Eq + ?Sized,
    {
        match self.live(hash, key, removals) {
            None => Ttl::Missing,
            Some(i) => match self.slab[i].expires {
                None => Ttl::Persistent,
                Some(at) => Ttl::Remaining(at.saturating_duration_since(Instant::now())),
            },
        }
    }

    /// The slot of the live entry for `key`; removes it if expired.
    #[inline]
    fn live<Q>(&mut self, hash: u64, key: &Q, removals: &mut Removals<K, V>) -> Option<u32>
    where
        K: Borrow<Q>,
        Q: Eq + ?Sized,
    {
        let i = self.find(hash, key)?;
        if let Some(at) = self.slab[i].expires {
            if at <= Instant::now() {
                self.remove_slot(i, RemovalCause::Expired, removals);
                return None;
            }
        }
        Some(i)
    }

    #[inline]
    fn find<Q>(&self, hash: u64, key: &Q) -> Option<u32>
    where
        K: Borrow<Q>,
        Q: Eq + ?Sized,
    {
        let slab = &self.slab;
        self.index
            .find(hash, |&i| {
                let slot = &slab[i];
                slot.hash == hash && slot.key().is_some_and(|k| k.borrow() == key)
            })
            .copied()
    }

    /// Visits live entries from slot `from` on, in slot order, with whether
    /// each has expired, while `visit` returns true; returns the slot to
    /// resume from (`None`: all visited). Nothing is changed.
    pub fn scan(&self, from: u32, mut visit: impl FnMut(u32, &K, bool) -> bool) -> Option<u32> {
        let now = Instant::now();
        let end = self.slab.end();
        let mut i = from;
        while i < end {
            let slot = &self.slab[i];
            if let Some((k, _)) = &slot.entry {
                if !visit(i, k, slot.is_expired_at(now)) {
                    return Some(i + 1);
                }
            }
            i += 1;
        }
        None
    }

    /// Live entries after removing every expired one.
    pub fn live_len(&mut self, removals: &mut Removals<K, V>) -> usize {
        self.purge_expired(Instant::now(), usize::MAX, removals);
        self.len()
    }

    pub fn add_stats(&self, stats: &mut CacheStats) {
        self.counters.add_to(stats);
        stats.entries += self.len() as u64;
        stats.weight += self.weight();
        // A bucket is a control byte and a slot number; at most 7/8 used.
        let index = self.index.capacity() * 8 / 7 * (1 + std::mem::size_of::<u32>());
        let bytes = self.slab.bytes() + index + self.expiries.bytes() + self.ghosts.bytes();
        stats.estimated_bytes += bytes as u64 + self.weight();
    }

    // ---- writes ----

    /// Stores `value` under `key`, as the policy places a new entry or a
    /// write to an existing one; returns its slot. Bounds are the store's
    /// business (see [`Self::evict_one`]).
    #[inline]
    pub fn insert(
        &mut self,
        hash: u64,
        key: K,
        value: V,
        weight: u32,
        expires: Option<Instant>,
        removals: &mut Removals<K, V>,
    ) -> u32 {
        self.counters.inserts += 1;
        let slab = &self.slab;
        let found = self.index.entry(
            hash,
            |&i| {
                let slot = &slab[i];
                slot.hash == hash && slot.key() == Some(&key)
            },
            |&i| slab[i].hash,
        );
        let i = match found {
            Entry::Occupied(e) => {
                let i = *e.get();
                let was_expired = self.slab[i].expires.is_some_and(|at| at <= Instant::now());
                self.queues.reweigh(&mut self.slab, i, weight);
                let slot = &mut self.slab[i];
                slot.expires = expires;
                let old = slot
                    .entry
                    .as_mut()
                    .map(|(_, v)| std::mem::replace(v, value));
                let cause = if was_expired {
                    RemovalCause::Expired
                } else {
                    RemovalCause::Replaced
                };
                self.counters.count(cause);
                if let Some(old) = old {
                    removals.push(key, old, cause);
                }
                self.queues.touch(&mut self.slab, i);
                i
            }
            Entry::Vacant(e) => {
                let i = self.slab.alloc(hash, key, value, weight, expires);
                e.insert(i);
                self.queues.admit(&mut self.slab, &mut self.ghosts, i);
                i
            }
        };
        if let Some(at) = expires {
            self.expiries.push(at, i);
            if self.expiries.needs_compaction(self.len()) {
                self.compact_expiries();
            }
        }
        i
    }

    /// Removes the live entry for `key` and hands it back.
    pub fn take<Q>(&mut self, hash: u64, key: &Q, removals: &mut Removals<K, V>) -> Option<(K, V)>
    where
        K: Borrow<Q>,
        Q: Eq + ?Sized,
    {
        let i = self.live(hash, key, removals)?;
        self.take_slot(i, RemovalCause::Explicit)
    }

    /// Sets (`Some`) or clears (`None`) the expiry of a live entry. Returns
    /// false if there is none. An expiry not in the future removes it.
    pub fn set_expiry<Q>(
        &mut self,
        hash: u64,
        key: &Q,
        expires: Option<Instant>,
        removals: &mut Removals<K, V>,
    ) -> bool
    where
        K: Borrow<Q>,
        Q: Eq + ?Sized,
    {
        let Some(i) = self.live(hash, key, removals) else {
            return false;
        };
        if let Some(at) = expires {
            if at <= Instant::now() {
                self.remove_slot(i, RemovalCause::Expired, removals);
                return true;
            }
            self.expiries.push(at, i);
        }
        self.slab[i].expires = expires;
        true
    }

    /// Removes the expiry of a live entry that has one (Redis `PERSIST`).
    pub fn persist<Q>(&mut self, hash: u64, key: &Q, removals: &mut Removals<K, V>) -> bool
    where
        K: Borrow<Q>,
        Q: Eq + ?Sized,
    {
        match self.live(hash, key, removals) {
            Some(i) => self.slab[i].expires.take().is_some(),
            None => false,
        }
    }

    /// Removes entries due at `now`, at most `limit`. Returns how many it
    /// removed and whether more are due.
    pub fn purge_expired(
        &mut self,
        now: Instant,
        limit: usize,
        removals: &mut Removals<K, V>,
    ) -> (usize, bool) {
        let mut removed = 0;
        while removed < limit {
            match self.expiries.pop_due(now) {
                Some((_, i)) => {
                    if self.remove_if_expired(i, now, removals) {
                        removed += 1;
                    }
                }
                None => return (removed, false),
            }
        }
        (removed, self.expiries.has_due(now))
    }

    /// Removes the live entry in slot `slot` if it still holds `key` (cause
    /// explicit, or expired if it has expired). Returns whether it removed
    /// a live one.
    pub fn remove_slot_if(&mut self, slot: u32, key: &K, removals: &mut Removals<K, V>) -> bool {
        let now = Instant::now();
        let cause = match self.slab.get(slot) {
            Some(s) if s.key() == Some(key) && s.is_expired_at(now) => RemovalCause::Expired,
            Some(s) if s.key() == Some(key) => RemovalCause::Explicit,
            _ => return false,
        };
        self.remove_slot(slot, cause, removals);
        cause == RemovalCause::Explicit
    }

    /// Removes everything (cause explicit, or expired for expired entries).
    /// Returns how many live entries it removed.
    pub fn clear(&mut self, removals: &mut Removals<K, V>) -> usize {
        let now = Instant::now();
        let mut removed = 0;
        for slot in self.slab.take_all() {
            let expired = slot.is_expired_at(now);
            if let Some((k, v)) = slot.entry {
                let cause = if expired {
                    RemovalCause::Expired
                } else {
                    removed += 1;
                    RemovalCause::Explicit
                };
                self.counters.count(cause);
                removals.push(k, v, cause);
            }
        }
        self.reset();
        removed
    }

    /// Takes out everything, uncounted and unreported (the cache stopped).
    pub fn drain(&mut self) -> Drained<K, V> {
        let drained = Drained {
            _slots: self.slab.take_all(),
            _flights: std::mem::take(&mut self.flights),
        };
        self.reset();
        drained
    }

    fn reset(&mut self) {
        self.index = HashTable::new();
        self.expiries.clear();
        self.queues.clear();
        self.ghosts = Ghosts::default();
    }

    // ---- eviction ----

    /// Makes room by removing one entry: an expired one if any is due,
    /// else the policy's victim — but not the live entry in slot `keep`
    /// (the one just written; [`NO_SLOT`] for none). False if there was
    /// nothing to remove.
    #[inline]
    pub fn evict_one(&mut self, keep: u32, removals: &mut Removals<K, V>) -> bool {
        if !self.expiries.is_empty() {
            let now = Instant::now();
            while let Some((_, i)) = self.expiries.pop_due(now) {
                if self.remove_if_expired(i, now, removals) {
                    return true;
                }
            }
        }
        let Some(i) = self.queues.victim(&mut self.slab, keep) else {
            return false;
        };
        let Some((key, value)) = self.slab[i].entry.take() else {
            unreachable!("the policy chose cache slot {i}, which holds no entry")
        };
        self.counters.count(RemovalCause::Evicted);
        removals.push(key, value, RemovalCause::Evicted);
        self.queues.evicted(&mut self.slab, &mut self.ghosts, i);
        self.unindex(i);
        self.slab.release(i);
        true
    }

    /// Removes the entry in slot `i` if it is expired at `now` (the slot may
    /// since hold another entry or none: expiry items are not
    /// updated).
    fn remove_if_expired(&mut self, i: u32, now: Instant, removals: &mut Removals<K, V>) -> bool {
        match self.slab.get(i) {
            Some(slot) if slot.is_expired_at(now) => {
                self.remove_slot(i, RemovalCause::Expired, removals);
                true
            }
            _ => false,
        }
    }

    fn compact_expiries(&mut self) {
        let items: Vec<_> = self
            .slab
            .iter()
            .filter(|(_, s)| s.state.is_live())
            .filter_map(|(i, s)| s.expires.map(|at| (at, i)))
            .collect();
        self.expiries.rebuild(items.into_iter());
    }

    fn remove_slot(&mut self, i: u32, cause: RemovalCause, removals: &mut Removals<K, V>) {
        if let Some((key, value)) = self.take_slot(i, cause) {
            removals.push(key, value, cause);
        }
    }

    /// Removes the live entry in slot `i` and hands it back. No ghost is
    /// kept: only the policy's own evictions leave one.
    fn take_slot(&mut self, i: u32, cause: RemovalCause) -> Option<(K, V)> {
        self.unindex(i);
        self.queues.unlink(&mut self.slab, i);
        self.counters.count(cause);
        self.slab.release(i)
    }

    /// Takes slot `i` out of the index.
    #[inline]
    fn unindex(&mut self, i: u32) {
        match self.index.find_entry(self.slab[i].hash, |&j| j == i) {
            Ok(entry) => {
                entry.remove();
            }
            Err(_) => unreachable!("cache slot {i} is missing from its shard's index"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::super::slab::State;
    use super::*;

    fn h(k: u32) -> u64 {
        u64::from(k).wrapping_mul(0x9E37_79B9_7F4A_7C15)
    }

    /// Every ring is consistent with the slots, the index finds every live
    /// entry, and the counts add up.
    fn check(shard: &Shard<u32, u32>) {
        let q = &shard.queues;
        for (ring, state) in [(&q.small, State::Small), (&q.main, State::Main)] {
            let mut n = 0;
            let mut weight = 0;
            let mut i = ring.head;
            if i != NIL {
                loop {
                    let slot = &shard.slab[i];
                    assert_eq!(slot.state, state);
                    assert_eq!(shard.slab[slot.next].prev, i);
                    weight += u64::from(slot.weight);
                    n += 1;
                    i = slot.next;
                    if i == ring.head {
                        break;
                    }
                }
            }
            assert_eq!(n, ring.len as usize, "{state:?} ring length");
            assert_eq!(weight, ring.weight, "{state:?} ring weight");
        }
        let mut live = 0;
        for (i, slot) in shard.slab.iter() {
            assert_eq!(slot.entry.is_some(), slot.state.is_live());
            if slot.state.is_live() {
                live += 1;
                assert!(shard.index.find(slot.hash, |&j| j == i).is_some());
            }
        }
        assert_eq!(live, shard.len());
        assert_eq!(shard.index.len(), live);
    }

    fn churn(policy: EvictionPolicy) {
        let mut shard = Shard::<u32, u32>::new(policy, false);
        let mut r = Removals::new(true);
        let mut rng = fastrand::Rng::with_seed(7);
        for step in 0..20_000 {
            let k = rng.u32(0..200);
            match rng.u8(0..4) {
                0 | 1 => {
                    let i = shard.insert(h(k), k, k, 0, None, &mut r);
                    if shard.len() > 50 {
                        assert!(shard.evict_one(i, &mut r));
                    }
                }
                2 => {
                    shard.get(h(k), &k, &mut r);
                }
                _ => {
                    shard.take(h(k), &k, &mut r);
                }
            }
            assert!(shard.len() <= 50);
            if step % 997 == 0 {
                check(&shard);
            }
        }
        check(&shard);
        for k in 0..200 {
            if let Some(i) = shard.find(h(k), &k) {
                assert_eq!(shard.slab[i].key(), Some(&k));
            }
        }
    }

    #[test]
    fn s3_fifo_rings_index_and_counts_stay_consistent_under_churn() {
        churn(EvictionPolicy::S3Fifo);
    }

    #[test]
    fn lru_ring_index_and_counts_stay_consistent_under_churn() {
        churn(EvictionPolicy::Lru);
    }

    #[test]
    fn a_key_evicted_from_small_comes_back_into_main() {
        let mut shard = Shard::<u32, u32>::new(EvictionPolicy::S3Fifo, false);
        let mut r = Removals::new(true);
        for k in 0..100 {
            shard.insert(h(k), k, k, 0, None, &mut r);
        }
        let i = shard.insert(h(100), 100, 100, 0, None, &mut r);
        assert!(shard.evict_one(i, &mut r));
        assert!(shard.find(h(0), &0).is_none(), "the oldest, never read");
        let back = shard.insert(h(0), 0, 0, 0, None, &mut r);
        assert_eq!(shard.slab[back].state, State::Main);
        let fresh = shard.insert(h(200), 200, 200, 0, None, &mut r);
        assert_eq!(shard.slab[fresh].state, State::Small);
        check(&shard);
    }
}
