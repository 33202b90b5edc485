//! The cache's engine: the store behind every handle of one cache — the
//! shards, the hasher, the listener and weigher — and the background sweep
//! its actor runs.
//!
//! A key is hashed once, with the configured [hasher](super::hasher); the
//! high half of the hash picks the shard, and the shard's index probes with
//! the same hash. Each shard sits behind its own lock on
//! its own cache lines, so threads working on different shards never touch
//! the same memory — except for the two totals (entries and weight) that
//! the size bounds are checked against, which change only when an entry is
//! added or removed, never on a hit.
//!
//! The bounds are global: an insert that takes the cache over its capacity
//! or weight evicts from its own shard (an expired entry if one is due,
//! else the [policy](super::policy)'s victim), and from the next shards if
//! its own has nothing else. So a cache never evicts before it is full, and
//! with one shard the policy works over the whole cache. In a full cache an
//! insert evicts as much as it adds before it looks at the totals again,
//! so the shared totals are not written at all: threads on different
//! shards share only lines they read.
//!
//! ## Lifecycle
//!
//! The engine is made with the service's [`ChildSpec`](crate::ChildSpec)
//! and outlives every incarnation of the cache's actor (a
//! [`kit::Driver`](crate::kit::Driver)): a crash of the actor loses no
//! data, and the data path never waits for it. When the service is gone for
//! good the kit closes it ([`Phase::Closed`]): the entries are dropped and
//! every operation fails with [`CacheError::Stopped`]. A copy of the spec
//! added to a tree again reopens it, empty.

use super::config::CacheConfig;
use super::error::CacheError;
use super::hasher::KeyHasher;
use super::listener::{Listener, Removals};
use super::shard::{Shard, NO_SLOT};
use super::stats::CacheStats;
use crate::exit::BoxError;
use crate::kit::{Engine, Health, Phase, Pulse, Shared};
use crate::service::ServiceContext;
use crate::status::Status;
use parking_lot::Mutex;
use std::hash::Hash;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;
use tokio::time::Instant;

/// Measures an entry for the weight bound.
pub(crate) type Weigher<K, V> = Arc<dyn Fn(&K, &V) -> u32 + Send + Sync>;

/// The most entries a sweep removes per lock hold of one shard, so readers
/// and writers of that shard wait at most this long.
const SWEEP_CHUNK: usize = 1024;

/// Keeps each shard's lock on cache lines of its own.
#[repr(align(128))]
struct Padded<T>(T);

/// One shard behind its lock.
type Locked<K, V> = Padded<Mutex<Shard<K, V>>>;

/// Entries and weight over all shards, for the size bounds. Updated from
/// each shard's own counts whenever an operation changed them, so they are
/// exact once no operation is in progress.
#[repr(align(128))]
#[derive(Default)]
struct Totals {
    count: AtomicU64,
    weight: AtomicU64,
}

/// What one sweep pass did.
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct SweepReport {
    pub expired: usize,
    /// The pass hit its limit with expired entries left.
    pub behind: bool,
}

/// The engine of a [`Cache`](super::Cache): its entries, bounds, listener
/// and counters, shared by every handle and every incarnation of its actor.
/// Its workings are internal; use it through the handle.
pub struct CacheEngine<K, V> {
    pub(crate) name: String,
    pub(crate) config: CacheConfig,
    hasher: KeyHasher,
    shards: Box<[Locked<K, V>]>,
    shard_mask: usize,
    totals: Totals,
    capacity: u64,
    max_weight: u64,
    pub(crate) listener: Option<Listener<K, V>>,
    weigher: Option<Weigher<K, V>>,
    pub(crate) loads: AtomicU64,
    pub(crate) load_failures: AtomicU64,
    /// Sweep passes so far.
    sweeps: AtomicU64,
    /// Entries the last sweep pass removed.
    last_expired: AtomicUsize,
    /// The last pass hit its limit with expired entries left.
    behind: AtomicBool,
    pulse: Pulse,
}

impl<K, V> CacheEngine<K, V>
where
    K: Hash + Eq + Send + Sync + 'static,
    V: Send + Sync + 'static,
{
    /// An engine for a validated config.
    pub(crate) fn new(
        name: String,
        config: CacheConfig,
        listener: Option<Listener<K, V>>,
        weigher: Option<Weigher<K, V>>,
    ) -> Self {
        let n = config.shard_count();
        let weighted = weigher.is_some();
        let shards = (0..n)
            .map(|_| Padded(Mutex::new(Shard::new(config.policy, weighted))))
            .collect();
        CacheEngine {
            name,
            hasher: KeyHasher::new(config.hasher),
            shards,
            shard_mask: n - 1,
            totals: Totals::default(),
            capacity: config.capacity,
            max_weight: config.max_weight.unwrap_or(u64::MAX),
            config,
            listener,
            weigher,
            loads: AtomicU64::new(0),
            load_failures: AtomicU64::new(0),
            sweeps: AtomicU64::new(0),
            last_expired: AtomicUsize::new(0),
            behind: AtomicBool::new(false),
            pulse: Pulse::new(),
        }
    }

    #[inline]
    pub(crate) fn hash<Q: Hash + ?Sized>(&self, key: &Q) -> u64 {
        self.hasher.hash(key)
    }

    #[inline]
    fn shard_index(&self, hash: u64) -> usize {
        (hash >> 32) as usize & self.shard_mask
    }

    pub(crate) fn stopped_error(&self) -> CacheError {
        CacheError::Stopped {
            service: self.name.clone(),
        }
    }

    /// The weight of an entry (0 without a weigher).
    #[inline]
    pub(crate) fn weigh(&self, key: &K, value: &V) -> u32 {
        match &self.weigher {
            Some(w) => w(key, value),
            None => 0,
        }
    }

    /// When an entry written now with `ttl` expires (`None`: never; a TTL
    /// too large for the clock counts as never).
    #[inline]
    pub(crate) fn expires_at(&self, ttl: Option<Duration>) -> Option<Instant> {
        ttl.and_then(|d| Instant::now().checked_add(d))
    }

    /// Runs `f` on the shard of `hash` under its lock, then reports what it
    /// removed to the listener (after unlocking).
    #[inline]
    pub(crate) fn with_shard<R>(
        &self,
        hash: u64,
        f: impl FnOnce(&mut Shard<K, V>, &mut Removals<K, V>) -> R,
    ) -> Result<R, CacheError> {
        self.locked(self.shard_index(hash), f)
    }

    /// Runs a read on the shard of `hash`, like [`Self::with_shard`]; the
    /// totals are only brought up to date if the read may have removed an
    /// expired entry, the one change a read can make.
    #[inline]
    pub(crate) fn read<R>(
        &self,
        hash: u64,
        f: impl FnOnce(&mut Shard<K, V>, &mut Removals<K, V>) -> R,
    ) -> Result<R, CacheError> {
        let mut removals = Removals::new(self.listener.is_some());
        let out = {
            let mut shard = self.shards[self.shard_index(hash)].0.lock();
            if shard.closed {
                return Err(self.stopped_error());
            }
            let before = shard.may_expire().then(|| counts(&shard));
            let out = f(&mut shard, &mut removals);
            if let Some(before) = before {
                self.settle(before, &shard);
            }
            out
        };
        removals.notify(self.listener.as_ref());
        Ok(out)
    }

    /// Runs `f` on shard number `i`, like [`Self::with_shard`].
    pub(crate) fn with_shard_at<R>(
        &self,
        i: usize,
        f: impl FnOnce(&mut Shard<K, V>, &mut Removals<K, V>) -> R,
    ) -> Result<R, CacheError> {
        self.locked(i, f)
    }

    /// Runs `f` on every shard in turn, like [`Self::with_shard`].
    pub(crate) fn each_shard(
        &self,
        mut f: impl FnMut(&mut Shard<K, V>, &mut Removals<K, V>),
    ) -> Result<(), CacheError> {
        for i in 0..self.shards.len() {
            self.locked(i, &mut f)?;
        }
        Ok(())
    }

    #[inline]
    fn locked<R>(
        &self,
        i: usize,
        f: impl FnOnce(&mut Shard<K, V>, &mut Removals<K, V>) -> R,
    ) -> Result<R, CacheError> {
        let mut removals = Removals::new(self.listener.is_some());
        let out = {
            let mut shard = self.shards[i].0.lock();
            if shard.closed {
                return Err(self.stopped_error());
            }
            let before = counts(&shard);
            let out = f(&mut shard, &mut removals);
            self.settle(before, &shard);
            out
        };
        if !removals.is_empty() {
            removals.notify(self.listener.as_ref());
        }
        Ok(out)
    }

    /// Stores an entry, then evicts until the cache is within its bounds:
    /// from the entry's own shard first, then from the others. `also` runs
    /// under the same lock, before the insert.
    ///
    /// Room is made in the home shard against the totals as they will be
    /// once this shard's change is added, so in a full cache an insert
    /// evicts as much as it adds and the shared totals are not written at
    /// all. Only an insert that makes them grow writes them — and then
    /// checks them again, so that two inserts racing for the last room
    /// cannot both keep it.
    pub(crate) fn insert(
        &self,
        hash: u64,
        key: K,
        value: V,
        expires: Option<Instant>,
        also: impl FnOnce(&mut Shard<K, V>),
    ) -> Result<(), CacheError> {
        let weight = self.weigh(&key, &value);
        if u64::from(weight) > self.max_weight {
            return Err(CacheError::TooHeavy {
                service: self.name.clone(),
                weight: weight.into(),
                limit: self.max_weight,
            });
        }
        let home = self.shard_index(hash);
        let mut removals = Removals::new(self.listener.is_some());
        let still_over = {
            let mut shard = self.shards[home].0.lock();
            if shard.closed {
                return Err(self.stopped_error());
            }
            also(&mut shard);
            let before = counts(&shard);
            let keep = shard.insert(hash, key, value, weight, expires, &mut removals);
            let mut now = counts(&shard);
            let count = self.totals.count.load(Ordering::Relaxed);
            let total_weight = self.totals.weight.load(Ordering::Relaxed);
            while (count + now.0 as u64).saturating_sub(before.0 as u64) > self.capacity
                || (total_weight + now.1).saturating_sub(before.1) > self.max_weight
            {
                if !shard.evict_one(keep, &mut removals) {
                    break;
                }
                now = counts(&shard);
            }
            let grew = self.settle_counts(before, now);
            grew && self.evict_while_over(&mut shard, keep, &mut removals)
        };
        removals.notify(self.listener.as_ref());
        if still_over {
            // Nothing left to evict in the home shard: take from the others.
            for step in 1..self.shards.len() {
                let i = (home + step) & self.shard_mask;
                // Not through `locked`: `evict_while_over` settles the totals
                // after every eviction itself, and settling twice would
                // undercount the cache and let it grow past its bounds.
                let mut removals = Removals::new(self.listener.is_some());
                let done = {
                    let mut shard = self.shards[i].0.lock();
                    shard.closed || !self.evict_while_over(&mut shard, NO_SLOT, &mut removals)
                };
                removals.notify(self.listener.as_ref());
                if done {
                    break;
                }
            }
        }
        Ok(())
    }

    /// Evicts from `shard` while the cache is over a bound; returns whether
    /// it still is (the shard had nothing more to give).
    fn evict_while_over(
        &self,
        shard: &mut Shard<K, V>,
        keep: u32,
        removals: &mut Removals<K, V>,
    ) -> bool {
        while self.over_bounds() {
            let before = counts(shard);
            if !shard.evict_one(keep, removals) {
                return true;
            }
            self.settle(before, shard);
        }
        false
    }

    #[inline]
    fn over_bounds(&self) -> bool {
        self.totals.count.load(Ordering::Relaxed) > self.capacity
            || self.totals.weight.load(Ordering::Relaxed) > self.max_weight
    }

    /// Carries a shard's change in entries and weight over to the totals;
    /// returns whether either grew.
    #[inline]
    fn settle(&self, before: (usize, u64), shard: &Shard<K, V>) -> bool {
        self.settle_counts(before, counts(shard))
    }

    /// [`Self::settle`] with the shard's counts now already read.
    #[inline]
    fn settle_counts(
        &self,
        (len, weight): (usize, u64),
        (now_len, now_weight): (usize, u64),
    ) -> bool {
        if now_len != len {
            add_signed(&self.totals.count, now_len as u64, len as u64);
        }
        if now_weight != weight {
            add_signed(&self.totals.weight, now_weight, weight);
        }
        now_len > len || now_weight > weight
    }

    /// Removes expired entries, at most `limit`, reporting them as it goes.
    /// A listener panic unwinds out of here (into the cache actor).
    pub(crate) fn sweep(&self, limit: usize) -> SweepReport {
        let now = Instant::now();
        let mut report = SweepReport::default();
        let mut budget = limit;
        for i in 0..self.shards.len() {
            loop {
                let pass = self.locked(i, |shard, removals| {
                    shard.purge_expired(now, budget.min(SWEEP_CHUNK), removals)
                });
                let Ok((removed, more)) = pass else {
                    return report;
                };
                report.expired += removed;
                budget -= removed;
                if !more {
                    break;
                }
                if budget == 0 {
                    report.behind = true;
                    return report;
                }
            }
        }
        report
    }

    pub(crate) fn stats(&self) -> CacheStats {
        let mut stats = CacheStats::default();
        for shard in self.shards.iter() {
            shard.0.lock().add_stats(&mut stats);
        }
        stats.loads = self.loads.load(Ordering::Relaxed);
        stats.load_failures = self.load_failures.load(Ordering::Relaxed);
        stats.finish()
    }

    pub(crate) fn shard_count(&self) -> usize {
        self.shards.len()
    }

    /// Opens the shards again after the service was closed.
    fn reopen(&self) {
        for shard in self.shards.iter() {
            shard.0.lock().closed = false;
        }
    }

    /// Drops every entry and fails every later operation.
    fn close(&self) {
        for shard in self.shards.iter() {
            let drained = {
                let mut shard = shard.0.lock();
                shard.closed = true;
                let before = counts(&shard);
                let drained = shard.drain();
                self.settle(before, &shard);
                drained
            };
            drop(drained);
        }
        tracing::debug!(service = %self.name, "cache stopped for good; entries dropped");
    }

    /// One sweep pass, recorded for the health report; returns whether it
    /// fell behind. A listener panic unwinds out of here (into the actor).
    fn sweep_pass(&self) -> bool {
        let report = self.sweep(self.config.sweep_limit);
        self.sweeps.fetch_add(1, Ordering::Relaxed);
        self.last_expired.store(report.expired, Ordering::Relaxed);
        let was_behind = self.behind.swap(report.behind, Ordering::Relaxed);
        if report.behind && !was_behind {
            tracing::warn!(service = %self.name, removed = report.expired, "expiry sweep behind");
        }
        report.behind != was_behind
    }
}

impl<K, V> std::fmt::Debug for CacheEngine<K, V> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CacheEngine")
            .field("name", &self.name)
            .field("shards", &self.shards.len())
            .finish_non_exhaustive()
    }
}

impl<K, V> Engine for CacheEngine<K, V>
where
    K: Hash + Eq + Send + Sync + 'static,
    V: Send + Sync + 'static,
{
    /// Health checks (and heartbeats) run as often as the sweep.
    fn health_interval(&self) -> Duration {
        self.config.sweep_interval
    }

    fn health(&self) -> Health {
        let behind = self.behind.load(Ordering::Relaxed);
        let expired = self.last_expired.load(Ordering::Relaxed);
        let health = if behind {
            Health::new(Status::Degraded).message(format!(
                "expiry sweep behind: removed {expired} expired entries in one pass, more are due"
            ))
        } else {
            Health::ok()
        };
        health
            .stats(&self.stats())
            .detail("shards", self.shard_count())
            .detail("capacity", self.config.capacity)
            .detail("sweeps", self.sweeps.load(Ordering::Relaxed))
            .detail("last_sweep_expired", expired)
            .detail("sweep_behind", behind)
    }

    /// Every `sweep_interval`, removes expired entries; while a pass falls
    /// behind, runs the next at once (yielding in between).
    async fn run(shared: Shared<Self>, _cx: ServiceContext) -> Result<(), BoxError> {
        let every = shared.config.sweep_interval;
        loop {
            tokio::time::sleep(every).await;
            loop {
                if shared.sweep_pass() {
                    shared.pulse.beat();
                }
                if !shared.behind.load(Ordering::Relaxed) {
                    break;
                }
                tokio::task::yield_now().await;
            }
        }
    }

    fn pulse(&self) -> Option<&Pulse> {
        Some(&self.pulse)
    }

    fn phase_changed(&self, from: Phase, to: Phase) {
        match to {
            Phase::Closed => self.close(),
            Phase::Running if from == Phase::Closed => self.reopen(),
            _ => {}
        }
    }
}

#[inline]
fn counts<K: Hash + Eq, V>(shard: &Shard<K, V>) -> (usize, u64) {
    (shard.len(), shard.weight())
}

/// Adds `now - before` (which may be negative) to `total`.
#[inline]
fn add_signed(total: &AtomicU64, now: u64, before: u64) {
    if now > before {
        total.fetch_add(now - before, Ordering::Relaxed);
    } else {
        total.fetch_sub(before - now, Ordering::Relaxed);
    }
}
