//! Hashing of short keys for the runtime's own tables: service names, and
//! the tokens of event-bus subjects.
//!
//! The registry and the handle directory are keyed by service names, which
//! the application chooses at build time, not by outside input, so they need
//! no protection against hash flooding; a multiply-rotate hash (as rustc's
//! own `FxHasher`) costs a fraction of SipHash on such short keys, and every
//! restart and status change looks names up several times.

use std::hash::{BuildHasherDefault, Hasher};

const SEED: u64 = 0x51_7c_c1_b7_27_22_0a_95;

/// A fast, non-cryptographic hasher for short trusted keys.
#[derive(Default, Clone, Copy)]
pub(crate) struct NameHasher {
    hash: u64,
}

impl NameHasher {
    #[inline]
    fn add(&mut self, word: u64) {
        self.hash = (self.hash.rotate_left(5) ^ word).wrapping_mul(SEED);
    }
}

impl Hasher for NameHasher {
    #[inline]
    fn write(&mut self, bytes: &[u8]) {
        let mut chunks = bytes.chunks_exact(8);
        for chunk in &mut chunks {
            let mut word = [0u8; 8];
            word.copy_from_slice(chunk);
            self.add(u64::from_le_bytes(word));
        }
        let rest = chunks.remainder();
        if !rest.is_empty() {
            let mut word = [0u8; 8];
            word[..rest.len()].copy_from_slice(rest);
            self.add(u64::from_le_bytes(word) ^ ((rest.len() as u64) << 56));
        }
    }

    #[inline]
    fn write_u8(&mut self, i: u8) {
        self.add(u64::from(i));
    }

    #[inline]
    fn write_usize(&mut self, i: usize) {
        self.add(i as u64);
    }

    #[inline]
    fn finish(&self) -> u64 {
        // A product's high bits mix every input bit, its low bits only the
        // input's low bits; hash tables index buckets by the low bits, so
        // the high ones are turned down to them. Without this, names that
        // share a first byte ("c1", "c2", …) crowd into a few buckets.
        self.hash.rotate_left(26)
    }
}

/// The `BuildHasher` of the runtime's name-keyed maps.
pub(crate) type NameHash = BuildHasherDefault<NameHasher>;

#[cfg(feature = "bus")]
/// The same hash started from a random seed per map, for keys that come
/// from outside the application's code (the tokens of published subjects),
/// so colliding keys cannot be computed in advance.
#[derive(Clone)]
pub(crate) struct SeededHash(u64);

#[cfg(feature = "bus")]
impl Default for SeededHash {
    fn default() -> Self {
        SeededHash(fastrand::u64(..))
    }
}

#[cfg(feature = "bus")]
impl std::hash::BuildHasher for SeededHash {
    type Hasher = NameHasher;
    fn build_hasher(&self) -> NameHasher {
        NameHasher { hash: self.0 }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::hash::BuildHasher;

    fn hash(s: &str) -> u64 {
        NameHash::default().hash_one(s)
    }

    #[test]
    fn names_differing_in_one_byte_or_length_hash_apart() {
        assert_ne!(hash("worker-1"), hash("worker-2"));
        assert_ne!(hash("a"), hash("a\0"));
        assert_ne!(hash("parser"), hash("parsers"));
        assert_eq!(hash("ingest"), hash("ingest"));
    }
}
