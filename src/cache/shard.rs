//! One shard of the store: a slab of entries threaded on an LRU list, the
//! hash index over it, the expiry queue and the shard's counters, all
//! behind one lock (held by [`super::engine::CacheEngine`]).
//!
//! Entries live in a `Vec` of slots and link to each other by slot number
//! (an intrusive doubly linked list without pointers or per-entry
//! allocations): the head is the most recently used entry, the tail the
//! least. A read moves its entry to the head; the size bound evicts from the
//! tail. Within one shard the order is exact LRU; a cache with one shard is
//! exact LRU as a whole (see [`CacheConfig::shards`](super::CacheConfig::shards)).

use super::expiry::{ExpiryQueue, Ttl};
use super::index::{short_hash, Index};
use super::listener::{RemovalCause, Removals};
use super::loader::Flight;
use super::stats::{CacheStats, Counters};
use std::borrow::Borrow;
use std::collections::HashMap;
use std::hash::Hash;
use std::sync::Arc;
use tokio::time::Instant;

/// "No slot": the end of a list.
const NIL: u32 = u32::MAX;
/// No slot to spare in [`Shard::evict_one`].
pub(crate) const NO_SLOT: u32 = NIL;

struct Node<K, V> {
    key: K,
    value: V,
    /// The full hash of `key` (the index keeps only its low half).
    hash: u64,
    expires: Option<Instant>,
    weight: u32,
    /// Towards the head (more recently used).
    prev: u32,
    /// Towards the tail (less recently used).
    next: u32,
}

enum Slot<K, V> {
    Used(Node<K, V>),
    Free { next: u32 },
}

/// Everything a shard held, taken out under its lock to be dropped after.
pub(crate) struct Drained<K, V> {
    _slots: Vec<Slot<K, V>>,
    _flights: HashMap<K, Arc<Flight<V>>>,
}

pub(crate) struct Shard<K, V> {
    index: Index,
    slots: Vec<Slot<K, V>>,
    free: u32,
    head: u32,
    tail: u32,
    len: usize,
    weight: u64,
    expiries: ExpiryQueue,
    pub counters: Counters,
    /// Loads in progress (see [`super::loader`]).
    pub flights: HashMap<K, Arc<Flight<V>>>,
    /// Set when the cache service stopped for good: every operation fails.
    pub closed: bool,
}

impl<K: Hash + Eq, V> Shard<K, V> {
    pub fn new() -> Self {
        Shard {
            index: Index::default(),
            slots: Vec::new(),
            free: NIL,
            head: NIL,
            tail: NIL,
            len: 0,
            weight: 0,
            expiries: ExpiryQueue::default(),
            counters: Counters::default(),
            flights: HashMap::new(),
            closed: false,
        }
    }

    /// Entries held, expired ones included.
    #[inline]
    pub fn len(&self) -> usize {
        self.len
    }

    /// The summed weight of the entries held.
    #[inline]
    pub fn weight(&self) -> u64 {
        self.weight
    }

    // ---- reads ----

    /// A read: the value of a live entry (moved to the head of the LRU
    /// list), counted as a hit or a miss. An expired entry is removed.
    #[inline]
    pub fn get<Q>(&mut self, hash: u64, key: &Q, removals: &mut Removals<K, V>) -> Option<V>
    where
        K: Borrow<Q>,
        Q: Eq + ?Sized,
        V: Clone,
    {
        match self.live(hash, key, removals) {
            Some((_, i)) => {
                self.touch(i);
                self.counters.hits += 1;
                Some(self.node(i).value.clone())
            }
            None => {
                self.counters.misses += 1;
                None
            }
        }
    }

    /// Whether a live entry exists; no LRU move, not counted as a read.
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
            Some((_, i)) => match self.node(i).expires {
                None => Ttl::Persistent,
                Some(at) => Ttl::Remaining(at.saturating_duration_since(Instant::now())),
            },
        }
    }

    /// The index position and slot of the live entry for `key`; removes it
    /// if expired.
    #[inline]
    fn live<Q>(&mut self, hash: u64, key: &Q, removals: &mut Removals<K, V>) -> Option<(usize, u32)>
    where
        K: Borrow<Q>,
        Q: Eq + ?Sized,
    {
        let (pos, i) = self.find(hash, key)?;
        if let Some(at) = self.node(i).expires {
            if at <= Instant::now() {
                self.remove_at(pos, i, RemovalCause::Expired, removals);
                return None;
            }
        }
        Some((pos, i))
    }

    #[inline]
    fn find<Q>(&self, hash: u64, key: &Q) -> Option<(usize, u32)>
    where
        K: Borrow<Q>,
        Q: Eq + ?Sized,
    {
        let slots = &self.slots;
        self.index
            .find(short_hash(hash), |i| match &slots[i as usize] {
                Slot::Used(n) => n.hash == hash && n.key.borrow() == key,
                Slot::Free { .. } => false,
            })
    }

    /// Keys of live entries accepted by `pred`.
    pub fn keys_where(&self, mut pred: impl FnMut(&K) -> bool) -> Vec<K>
    where
        K: Clone,
    {
        let now = Instant::now();
        self.slots
            .iter()
            .filter_map(|s| match s {
                Slot::Used(n) if n.expires.is_none_or(|at| at > now) && pred(&n.key) => {
                    Some(n.key.clone())
                }
                _ => None,
            })
            .collect()
    }

    /// Live entries after removing every expired one.
    pub fn live_len(&mut self, removals: &mut Removals<K, V>) -> usize {
        self.purge_expired(Instant::now(), usize::MAX, removals);
        self.len
    }

    pub fn add_stats(&self, stats: &mut CacheStats) {
        self.counters.add_to(stats);
        stats.entries += self.len as u64;
        stats.weight += self.weight;
        let bytes = self.slots.capacity() * std::mem::size_of::<Slot<K, V>>()
            + self.index.bytes()
            + self.expiries.bytes();
        stats.estimated_bytes += bytes as u64 + self.weight;
    }

    // ---- writes ----

    /// Stores `value` under `key` as the most recently used entry; returns
    /// its slot. Bounds are the store's business (see [`Self::evict_one`]).
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
        let i = match self.find(hash, &key) {
            Some((_, i)) => {
                let node = self.node_mut(i);
                let was_expired = node.expires.is_some_and(|at| at <= Instant::now());
                let old_value = std::mem::replace(&mut node.value, value);
                let old_weight = std::mem::replace(&mut node.weight, weight);
                node.expires = expires;
                self.weight = self.weight - u64::from(old_weight) + u64::from(weight);
                let cause = if was_expired {
                    RemovalCause::Expired
                } else {
                    RemovalCause::Replaced
                };
                self.counters.count(cause);
                removals.push(key, old_value, cause);
                self.touch(i);
                i
            }
            None => {
                let i = self.alloc(Node {
                    key,
                    value,
                    hash,
                    expires,
                    weight,
                    prev: NIL,
                    next: NIL,
                });
                self.index.insert(short_hash(hash), i);
                self.push_front(i);
                self.len += 1;
                self.weight += u64::from(weight);
                i
            }
        };
        if let Some(at) = expires {
            self.expiries.push(at, i);
            if self.expiries.needs_compaction(self.len) {
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
        let (pos, i) = self.live(hash, key, removals)?;
        Some(self.take_at(pos, i, RemovalCause::Explicit))
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
        let Some((pos, i)) = self.live(hash, key, removals) else {
            return false;
        };
        if let Some(at) = expires {
            if at <= Instant::now() {
                self.remove_at(pos, i, RemovalCause::Expired, removals);
                return true;
            }
            self.expiries.push(at, i);
        }
        self.node_mut(i).expires = expires;
        true
    }

    /// Removes the expiry of a live entry that has one (Redis `PERSIST`).
    pub fn persist<Q>(&mut self, hash: u64, key: &Q, removals: &mut Removals<K, V>) -> bool
    where
        K: Borrow<Q>,
        Q: Eq + ?Sized,
    {
        match self.live(hash, key, removals) {
            Some((_, i)) => self.node_mut(i).expires.take().is_some(),
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

    /// Removes every live entry accepted by `pred` (cause explicit; expired
    /// ones met on the way leave as expired). Returns how many live ones.
    pub fn remove_where(
        &mut self,
        mut pred: impl FnMut(&K) -> bool,
        removals: &mut Removals<K, V>,
    ) -> usize {
        let now = Instant::now();
        let mut removed = 0;
        for i in 0..self.slots.len() as u32 {
            let cause = match &self.slots[i as usize] {
                Slot::Used(n) if n.expires.is_some_and(|at| at <= now) => RemovalCause::Expired,
                Slot::Used(n) if pred(&n.key) => RemovalCause::Explicit,
                _ => continue,
            };
            if cause == RemovalCause::Explicit {
                removed += 1;
            }
            let pos = self.position(i);
            self.remove_at(pos, i, cause, removals);
        }
        removed
    }

    /// Removes everything (cause explicit, or expired for expired entries).
    /// Returns how many live entries it removed.
    pub fn clear(&mut self, removals: &mut Removals<K, V>) -> usize {
        let now = Instant::now();
        let mut removed = 0;
        for slot in std::mem::take(&mut self.slots) {
            if let Slot::Used(n) = slot {
                let cause = if n.expires.is_some_and(|at| at <= now) {
                    RemovalCause::Expired
                } else {
                    removed += 1;
                    RemovalCause::Explicit
                };
                self.counters.count(cause);
                removals.push(n.key, n.value, cause);
            }
        }
        self.reset();
        removed
    }

    /// Takes out everything, uncounted and unreported (the cache stopped).
    pub fn drain(&mut self) -> Drained<K, V> {
        let drained = Drained {
            _slots: std::mem::take(&mut self.slots),
            _flights: std::mem::take(&mut self.flights),
        };
        self.reset();
        drained
    }

    fn reset(&mut self) {
        self.index.clear();
        self.expiries.clear();
        self.free = NIL;
        self.head = NIL;
        self.tail = NIL;
        self.len = 0;
        self.weight = 0;
    }

    // ---- internals ----

    /// Makes room by removing one entry: an expired one if any is due,
    /// else the least recently used — but not the live entry in slot `keep`
    /// (the one just written; [`NO_SLOT`] for none). False if there was
    /// nothing to remove.
    pub fn evict_one(&mut self, keep: u32, removals: &mut Removals<K, V>) -> bool {
        if !self.expiries.is_empty() {
            let now = Instant::now();
            while let Some((_, i)) = self.expiries.pop_due(now) {
                if self.remove_if_expired(i, now, removals) {
                    return true;
                }
            }
        }
        let victim = self.tail;
        if victim == NIL || victim == keep {
            return false;
        }
        let pos = self.position(victim);
        self.remove_at(pos, victim, RemovalCause::Evicted, removals);
        true
    }

    /// Removes the entry in slot `i` if it is expired at `now` (the slot may
    /// since hold another entry, or none: expiry items are not updated).
    fn remove_if_expired(&mut self, i: u32, now: Instant, removals: &mut Removals<K, V>) -> bool {
        match self.slots.get(i as usize) {
            Some(Slot::Used(n)) if n.expires.is_some_and(|at| at <= now) => {
                let pos = self.position(i);
                self.remove_at(pos, i, RemovalCause::Expired, removals);
                true
            }
            _ => false,
        }
    }

    fn compact_expiries(&mut self) {
        let live = self.slots.iter().enumerate().filter_map(|(i, s)| match s {
            Slot::Used(n) => n.expires.map(|at| (at, i as u32)),
            Slot::Free { .. } => None,
        });
        let items: Vec<_> = live.collect();
        self.expiries.rebuild(items.into_iter());
    }

    fn remove_at(
        &mut self,
        pos: usize,
        i: u32,
        cause: RemovalCause,
        removals: &mut Removals<K, V>,
    ) {
        let (key, value) = self.take_at(pos, i, cause);
        removals.push(key, value, cause);
    }

    fn take_at(&mut self, pos: usize, i: u32, cause: RemovalCause) -> (K, V) {
        self.index.remove_at(pos);
        self.unlink(i);
        let slot = std::mem::replace(&mut self.slots[i as usize], Slot::Free { next: self.free });
        self.free = i;
        let Slot::Used(node) = slot else {
            unreachable!("removed a free cache slot")
        };
        self.len -= 1;
        self.weight -= u64::from(node.weight);
        self.counters.count(cause);
        (node.key, node.value)
    }

    fn position(&self, i: u32) -> usize {
        self.index.position_of(short_hash(self.node(i).hash), i)
    }

    fn alloc(&mut self, node: Node<K, V>) -> u32 {
        if self.free != NIL {
            let i = self.free;
            let Slot::Free { next } = self.slots[i as usize] else {
                unreachable!("cache free list points at a used slot")
            };
            self.free = next;
            self.slots[i as usize] = Slot::Used(node);
            i
        } else {
            let i = u32::try_from(self.slots.len())
                .ok()
                .filter(|i| *i != NIL)
                .expect("a cache shard holds at most 2^32 - 1 entries");
            self.slots.push(Slot::Used(node));
            i
        }
    }

    #[inline]
    fn node(&self, i: u32) -> &Node<K, V> {
        match &self.slots[i as usize] {
            Slot::Used(n) => n,
            Slot::Free { .. } => unreachable!("cache slot {i} is free"),
        }
    }

    #[inline]
    fn node_mut(&mut self, i: u32) -> &mut Node<K, V> {
        match &mut self.slots[i as usize] {
            Slot::Used(n) => n,
            Slot::Free { .. } => unreachable!("cache slot {i} is free"),
        }
    }

    /// Moves entry `i` to the head of the LRU list.
    #[inline]
    fn touch(&mut self, i: u32) {
        if self.head != i {
            self.unlink(i);
            self.push_front(i);
        }
    }

    #[inline]
    fn unlink(&mut self, i: u32) {
        let (prev, next) = {
            let n = self.node(i);
            (n.prev, n.next)
        };
        if prev == NIL {
            self.head = next;
        } else {
            self.node_mut(prev).next = next;
        }
        if next == NIL {
            self.tail = prev;
        } else {
            self.node_mut(next).prev = prev;
        }
    }

    #[inline]
    fn push_front(&mut self, i: u32) {
        let head = self.head;
        {
            let n = self.node_mut(i);
            n.prev = NIL;
            n.next = head;
        }
        if head == NIL {
            self.tail = i;
        } else {
            self.node_mut(head).prev = i;
        }
        self.head = i;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn keys_in_lru_order(shard: &Shard<u32, u32>) -> Vec<u32> {
        let mut out = Vec::new();
        let mut i = shard.head;
        while i != NIL {
            out.push(shard.node(i).key);
            i = shard.node(i).next;
        }
        out
    }

    fn h(k: u32) -> u64 {
        u64::from(k).wrapping_mul(0x9E37_79B9_7F4A_7C15)
    }

    #[test]
    fn the_list_index_and_counts_stay_consistent_under_churn() {
        let mut shard = Shard::<u32, u32>::new();
        let mut r = Removals::new();
        let mut rng = fastrand::Rng::with_seed(7);
        for _ in 0..20_000 {
            let k = rng.u32(0..200);
            match rng.u8(0..4) {
                0 | 1 => {
                    let i = shard.insert(h(k), k, k, 0, None, &mut r);
                    if shard.len > 50 {
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
            assert!(shard.len <= 50);
        }
        let order = keys_in_lru_order(&shard);
        assert_eq!(order.len(), shard.len);
        for k in order {
            assert!(shard.find(h(k), &k).is_some());
        }
    }
}
