//! Eviction: which entry leaves when the cache is over its bounds.
//!
//! The default, [`EvictionPolicy::S3Fifo`], is S3-FIFO (Yang et al., SOSP
//! 2023), with the shares quick_cache tunes it to. Each shard keeps:
//!
//! * **small** — a probation queue every new key enters, about 3 % of the
//!   shard's entries (by weight with a weigher);
//! * **main** — entries that proved themselves, the rest of the shard,
//!   swept by a CLOCK hand;
//! * **ghosts** — fingerprints (no keys, no values) of keys recently
//!   evicted from small: a table of 4-byte fingerprints with places for
//!   about 35 % of the shard's entries, a newer ghost taking the place of
//!   an older one.
//!
//! A read only bumps the entry's small frequency counter (which saturates
//! at 2); nothing moves on a hit, so hits are cheap. When the cache must
//! make room, the oldest entry of small is looked at first while small
//! holds more than its share: if it was read since it came in it moves on
//! to main (spending one read), else it is evicted and its fingerprint
//! kept as a ghost. Otherwise the hand of main looks at its oldest entry:
//! one that was read has its counter decremented and stays (the hand moves
//! on), one that was not is evicted. A key inserted again while its ghost
//! is remembered goes straight to main: it was wanted twice within a short
//! window.
//!
//! So a key read once — a one-off, a scan — costs the cache only a short
//! stay in small; keys read again and again keep their place in main; and
//! because the hand decrements counters as it passes, a key that *was*
//! popular but is no longer read loses its counter within a few sweeps
//! (counters age) and leaves like any other.
//!
//! [`EvictionPolicy::Lru`] keeps one ring in recency order instead: a read
//! moves the entry to the newest end, eviction takes the oldest. It costs
//! more per hit (three entries' links are rewritten) and is easily flushed
//! by a scan; use it when recency is the whole point (with one shard it is
//! exact LRU).
//!
//! Whatever the policy, an insert that needs room takes an expired entry
//! first if one is due.

use super::slab::{Ring, Slab, State, NIL};
use serde::{Deserialize, Serialize};

/// How a cache chooses what to evict ([`CacheConfig::policy`](super::CacheConfig::policy)).
///
/// ```
/// use servitor::cache::{CacheConfig, EvictionPolicy};
///
/// let config: CacheConfig = serde_json::from_str(r#"{ "policy": "lru" }"#).unwrap();
/// assert_eq!(config.policy, EvictionPolicy::Lru);
/// assert_eq!(CacheConfig::default().policy, EvictionPolicy::S3Fifo);
/// ```
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum EvictionPolicy {
    /// S3-FIFO: a small probation queue, a main queue swept by a CLOCK hand,
    /// and ghosts of recently evicted keys. Scan resistant, frequency aware,
    /// and a hit only bumps a counter. The default.
    #[default]
    S3Fifo,
    /// Least recently used: a hit makes the entry the newest, eviction takes
    /// the oldest. Exact within a shard.
    Lru,
}

/// The highest a frequency counter goes: an entry read this often survives
/// this many passes of main's hand without being read again.
pub(crate) const MAX_FREQ: u8 = 2;
/// The share of a shard's entries (by weight with a weigher) that small
/// holds before evictions come from it.
pub(crate) const SMALL_PERCENT: u64 = 3;
/// The places in a shard's ghost table, as a share of its live entries
/// (rounded up to a power of two).
pub(crate) const GHOST_PERCENT: usize = 35;

/// The rings of one shard and the decisions of its policy.
#[repr(C)]
pub(crate) struct Queues {
    pub policy: EvictionPolicy,
    /// Shares are measured by weight (a weigher is set) or by count.
    weighted: bool,
    pub small: Ring,
    pub main: Ring,
}

impl Queues {
    pub fn new(policy: EvictionPolicy, weighted: bool) -> Queues {
        Queues {
            policy,
            weighted,
            small: Ring::default(),
            main: Ring::default(),
        }
    }

    /// Live entries on the rings.
    #[inline]
    pub fn len(&self) -> usize {
        self.small.len as usize + self.main.len as usize
    }

    /// Their summed weight.
    #[inline]
    pub fn weight(&self) -> u64 {
        self.small.weight + self.main.weight
    }

    /// Links a new live entry in slot `i`: into main if the policy is LRU
    /// or its key has a ghost (which is then forgotten), else into small.
    #[inline]
    pub fn admit<K, V>(&mut self, slab: &mut Slab<K, V>, ghosts: &mut Ghosts, i: u32) {
        let to_main = match self.policy {
            EvictionPolicy::Lru => true,
            EvictionPolicy::S3Fifo => ghosts.recall(slab[i].hash),
        };
        let slot = &mut slab[i];
        slot.freq = 0;
        if to_main {
            slot.state = State::Main;
            self.main.push(slab, i);
        } else {
            slot.state = State::Small;
            self.small.push(slab, i);
        }
    }

    /// A read (or a write) of the live entry in slot `i`.
    #[inline]
    pub fn touch<K, V>(&mut self, slab: &mut Slab<K, V>, i: u32) {
        match self.policy {
            EvictionPolicy::S3Fifo => {
                let slot = &mut slab[i];
                if slot.freq < MAX_FREQ {
                    slot.freq += 1;
                }
            }
            EvictionPolicy::Lru => self.make_newest(slab, i),
        }
    }

    fn make_newest<K, V>(&mut self, slab: &mut Slab<K, V>, i: u32) {
        if !self.main.is_newest(slab, i) {
            self.main.unlink(slab, i);
            self.main.push(slab, i);
        }
    }

    /// The live entry in slot `i` now weighs `weight`.
    pub fn reweigh<K, V>(&mut self, slab: &mut Slab<K, V>, i: u32, weight: u32) {
        let slot = &mut slab[i];
        let ring = match slot.state {
            State::Small => &mut self.small,
            _ => &mut self.main,
        };
        ring.weight = ring.weight - u64::from(slot.weight) + u64::from(weight);
        slot.weight = weight;
    }

    /// Unlinks the live entry in slot `i` from its ring.
    #[inline]
    pub fn unlink<K, V>(&mut self, slab: &mut Slab<K, V>, i: u32) {
        match slab[i].state {
            State::Small => self.small.unlink(slab, i),
            State::Main => self.main.unlink(slab, i),
            State::Free => unreachable!("unlinking free cache slot {i}"),
        }
    }

    /// The live entry to evict next — never the one in slot `keep` (the
    /// entry just written; [`NIL`] for none) — after moving entries on as
    /// the policy says (promotions to main, main's hand). `None` if no
    /// other entry is left. The entry stays linked: evict it with
    /// [`Self::evicted`].
    #[inline]
    pub fn victim<K, V>(&mut self, slab: &mut Slab<K, V>, keep: u32) -> Option<u32> {
        if self.policy == EvictionPolicy::Lru {
            let oldest = self.main.head;
            if oldest == NIL || (oldest == keep && self.main.len == 1) {
                return None;
            }
            return Some(if oldest == keep {
                slab[oldest].next
            } else {
                oldest
            });
        }
        // Every pass promotes an entry, decrements a counter or returns, so
        // this ends within (MAX_FREQ + 1) sweeps of the shard.
        loop {
            let small_ok = self.small.len > 1 || (self.small.len == 1 && self.small.head != keep);
            let main_ok = self.main.len > 1 || (self.main.len == 1 && self.main.head != keep);
            if !small_ok && !main_ok {
                return None;
            }
            if small_ok && (!main_ok || self.small_over_share()) {
                let i = self.small.head;
                if i == keep {
                    self.small.rotate(slab);
                    continue;
                }
                if slab[i].freq > 0 {
                    // Read while on probation: promote, spending one read.
                    self.small.unlink(slab, i);
                    let slot = &mut slab[i];
                    slot.freq -= 1;
                    slot.state = State::Main;
                    self.main.push(slab, i);
                    continue;
                }
                return Some(i);
            }
            let i = self.main.head;
            let slot = &mut slab[i];
            if i == keep || slot.freq > 0 {
                slot.freq = slot.freq.saturating_sub(1);
                self.main.rotate(slab);
                continue;
            }
            return Some(i);
        }
    }

    /// Unlinks the live entry in slot `i`, a victim; one evicted from small
    /// under S3-FIFO leaves a ghost.
    #[inline]
    pub fn evicted<K, V>(&mut self, slab: &mut Slab<K, V>, ghosts: &mut Ghosts, i: u32) {
        let state = slab[i].state;
        self.unlink(slab, i);
        if state == State::Small && self.policy == EvictionPolicy::S3Fifo {
            let places = self.len() * GHOST_PERCENT / 100;
            ghosts.remember(slab[i].hash, places);
        }
    }

    #[inline]
    fn small_over_share(&self) -> bool {
        let (small, total) = if self.weighted && self.weight() > 0 {
            (self.small.weight, self.weight())
        } else {
            (self.small.len as u64, self.len() as u64)
        };
        small * 100 > total * SMALL_PERCENT
    }

    pub fn clear(&mut self) {
        self.small.clear();
        self.main.clear();
    }
}

/// Fingerprints of keys recently evicted from small: a direct-mapped table
/// of 4-byte fingerprints (0: an empty place), a newer ghost overwriting an
/// older one in its place. Lossy — a ghost may be overwritten early, and
/// one key in about 2^31 that was never seen may pass for a ghost — which
/// costs at worst a misplaced entry, never a wrong answer.
#[derive(Default)]
pub(crate) struct Ghosts {
    table: Vec<u32>,
    /// `64 - log2(table.len())`: the top bits of a mixed hash place it.
    shift: u32,
}

impl Ghosts {
    #[inline]
    fn place(&self, hash: u64) -> usize {
        (hash.wrapping_mul(0x9E37_79B9_7F4A_7C15) >> self.shift) as usize
    }

    #[inline]
    fn fingerprint(hash: u64) -> u32 {
        (hash as u32) | 1
    }

    /// Remembers `hash`, growing the table (and forgetting every ghost) if
    /// it has fewer than `places` places.
    #[inline]
    pub fn remember(&mut self, hash: u64, places: usize) {
        if self.table.len() < places {
            let size = places.next_power_of_two().max(16);
            self.table = vec![0; size];
            self.shift = 64 - size.trailing_zeros();
        }
        if !self.table.is_empty() {
            let at = self.place(hash);
            self.table[at] = Self::fingerprint(hash);
        }
    }

    /// Whether `hash` has a ghost; forgets it if so.
    #[inline]
    pub fn recall(&mut self, hash: u64) -> bool {
        if self.table.is_empty() {
            return false;
        }
        let at = self.place(hash);
        let found = self.table[at] == Self::fingerprint(hash);
        if found {
            self.table[at] = 0;
        }
        found
    }

    /// Bytes held by the table.
    pub fn bytes(&self) -> usize {
        self.table.capacity() * std::mem::size_of::<u32>()
    }
}
