//! The hash index of one shard: key hash → slab slot.
//!
//! An open-addressing table with linear probing and backward-shift deletion
//! (no tombstones). Each table word packs the low 32 bits of the key's hash
//! with the slab index + 1 (0 marks an empty word), so probing compares
//! hashes without touching the entries, and growing or deleting never needs
//! the entries at all. The key is hashed once per operation by the store;
//! `std::collections::HashMap` would hash it a second time, which is most of
//! the cost of a cache hit.
//!
//! Keys live only in the slab ([`super::shard`]); a probe that matches the
//! hash asks the caller whether the entry's key is the one looked for.

/// Grow when more than 3/4 of the words are used.
const MAX_LOAD_NUM: usize = 3;
const MAX_LOAD_DEN: usize = 4;
/// The first allocation, in words.
const INITIAL_WORDS: usize = 16;

/// Hash → slab index.
#[derive(Default)]
pub(crate) struct Index {
    words: Vec<u64>,
    used: usize,
}

#[inline]
fn pack(hash: u32, idx: u32) -> u64 {
    (u64::from(hash) << 32) | u64::from(idx + 1)
}

#[inline]
fn word_hash(word: u64) -> u32 {
    (word >> 32) as u32
}

#[inline]
fn word_idx(word: u64) -> u32 {
    (word as u32).wrapping_sub(1)
}

/// The part of a 64-bit key hash the index uses (shards use the high half).
#[inline]
pub(crate) fn short_hash(hash: u64) -> u32 {
    hash as u32
}

impl Index {
    #[inline]
    fn mask(&self) -> usize {
        self.words.len().wrapping_sub(1)
    }

    /// The word position and slab index of the entry with `hash` for which
    /// `is_key(idx)` holds.
    #[inline]
    pub fn find(&self, hash: u32, mut is_key: impl FnMut(u32) -> bool) -> Option<(usize, u32)> {
        if self.words.is_empty() {
            return None;
        }
        let mask = self.mask();
        let mut pos = hash as usize & mask;
        loop {
            let word = self.words[pos];
            if word == 0 {
                return None;
            }
            if word_hash(word) == hash && is_key(word_idx(word)) {
                return Some((pos, word_idx(word)));
            }
            pos = (pos + 1) & mask;
        }
    }

    /// The word position holding slab index `idx` (which must be present).
    #[inline]
    pub fn position_of(&self, hash: u32, idx: u32) -> usize {
        let (pos, _) = self
            .find(hash, |i| i == idx)
            .expect("cache index out of sync with its slab");
        pos
    }

    /// Adds slab index `idx` under `hash`; the key must not be present.
    pub fn insert(&mut self, hash: u32, idx: u32) {
        if (self.used + 1) * MAX_LOAD_DEN > self.words.len() * MAX_LOAD_NUM {
            self.grow();
        }
        let mask = self.mask();
        let mut pos = hash as usize & mask;
        while self.words[pos] != 0 {
            pos = (pos + 1) & mask;
        }
        self.words[pos] = pack(hash, idx);
        self.used += 1;
    }

    /// Removes the word at `pos`, shifting later words of the same probe run
    /// back so that lookups never meet a hole in the middle of a run.
    pub fn remove_at(&mut self, pos: usize) {
        let mask = self.mask();
        let mut hole = pos;
        let mut next = (pos + 1) & mask;
        loop {
            let word = self.words[next];
            if word == 0 {
                break;
            }
            let home = word_hash(word) as usize & mask;
            // The word may move into the hole if its home is not in the
            // cyclic range (hole, next].
            if (next.wrapping_sub(home) & mask) >= (next.wrapping_sub(hole) & mask) {
                self.words[hole] = word;
                hole = next;
            }
            next = (next + 1) & mask;
        }
        self.words[hole] = 0;
        self.used -= 1;
    }

    /// Forgets every entry and releases the memory.
    pub fn clear(&mut self) {
        self.words = Vec::new();
        self.used = 0;
    }

    /// Bytes held by the table.
    pub fn bytes(&self) -> usize {
        self.words.capacity() * std::mem::size_of::<u64>()
    }

    fn grow(&mut self) {
        let size = (self.words.len() * 2).max(INITIAL_WORDS);
        let old = std::mem::replace(&mut self.words, vec![0; size]);
        let mask = size - 1;
        for word in old.into_iter().filter(|w| *w != 0) {
            let mut pos = word_hash(word) as usize & mask;
            while self.words[pos] != 0 {
                pos = (pos + 1) & mask;
            }
            self.words[pos] = word;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn colliding_hashes_survive_removals_in_any_order() {
        let mut index = Index::default();
        // Every hash lands on the same home word: one long probe run.
        for idx in 0..40u32 {
            index.insert(7, idx);
        }
        for idx in (0..40u32).step_by(3) {
            let pos = index.position_of(7, idx);
            index.remove_at(pos);
        }
        for idx in 0..40u32 {
            let found = index.find(7, |i| i == idx).is_some();
            assert_eq!(found, idx % 3 != 0, "idx {idx}");
        }
    }

    #[test]
    fn wrapping_runs_are_shifted_back_correctly() {
        let mut index = Index::default();
        index.insert(0, 100);
        let last = index.words.len() as u32 - 1;
        // Three entries homed at the last word wrap around to the front.
        for idx in 0..3 {
            index.insert(last, idx);
        }
        let pos = index.position_of(last, 0);
        index.remove_at(pos);
        assert!(index.find(last, |i| i == 1).is_some());
        assert!(index.find(last, |i| i == 2).is_some());
        assert!(index.find(0, |i| i == 100).is_some());
        assert_eq!(index.used, 3);
    }
}
