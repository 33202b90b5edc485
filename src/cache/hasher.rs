//! How keys are hashed: speed against resistance to keys chosen by an
//! attacker ([`CacheConfig::hasher`](super::CacheConfig::hasher)).
//!
//! Every key is hashed once per operation; the high half of the hash picks
//! the shard, the low half places the key in the shard's index, and the
//! full hash identifies a ghost (a recently evicted key, see
//! [`policy`](super::policy)). Both hashers are keyed with a random seed
//! drawn for each cache, so hashes differ between caches and between runs.
//!
//! * [`CacheHasher::Foldhash`] (the default) — foldhash, the hasher of
//!   hashbrown and quick_cache: a few nanoseconds for an integer or a short
//!   string, where SipHash takes several times longer, and at cache hit
//!   rates hashing is a large part of an operation. It is seeded, so keys
//!   that collide in one cache do not collide in another, and it is
//!   *minimally* resistant to flooding: built to resist keys chosen without
//!   knowledge of the seed, with no cryptographic claim.
//! * [`CacheHasher::SipHash`] — the standard library's `RandomState`
//!   (SipHash-1-3 with random keys), the hasher of `std::collections::HashMap`:
//!   slower, and the conservative choice when keys come straight from
//!   untrusted clients who can measure response times and keep trying — a
//!   public web endpoint caching by URL or header, say.
//!
//! What a flood would cost: keys whose hashes collide fill one shard and
//! one probe run of its index, so operations on that shard slow down (each
//! probe walks the run); nothing is lost and the bounds still hold.
//!
//! ```
//! use servitor::cache::{Cache, CacheConfig, CacheHasher};
//!
//! let (_spec, by_url) = Cache::<String, Vec<u8>>::service("pages", CacheConfig {
//!     hasher: CacheHasher::SipHash, // keys come from the public internet
//!     ..CacheConfig::default()
//! }).unwrap();
//! by_url.set("/index.html".into(), b"<html>".to_vec()).unwrap();
//! assert!(by_url.contains("/index.html").unwrap());
//! ```

use serde::{Deserialize, Serialize};
use std::hash::{BuildHasher, Hash};

/// The hash function of a cache's keys. See the [module docs](self).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[non_exhaustive]
pub enum CacheHasher {
    /// foldhash with a random seed per cache: fast, minimally resistant to
    /// flooding. The default. Named `"foldhash"` in config files.
    #[default]
    #[serde(rename = "foldhash")]
    Foldhash,
    /// SipHash-1-3 with random keys (`std::hash::RandomState`): slower,
    /// resistant to keys chosen by an attacker. Named `"siphash"`.
    #[serde(rename = "siphash")]
    SipHash,
}

/// A seeded instance of the configured hasher.
pub(crate) enum KeyHasher {
    Foldhash(foldhash::fast::RandomState),
    SipHash(std::hash::RandomState),
}

impl KeyHasher {
    pub fn new(kind: CacheHasher) -> KeyHasher {
        match kind {
            CacheHasher::Foldhash => KeyHasher::Foldhash(foldhash::fast::RandomState::default()),
            CacheHasher::SipHash => KeyHasher::SipHash(std::hash::RandomState::new()),
        }
    }

    #[inline]
    pub fn hash<Q: Hash + ?Sized>(&self, key: &Q) -> u64 {
        match self {
            KeyHasher::Foldhash(s) => s.hash_one(key),
            KeyHasher::SipHash(s) => s.hash_one(key),
        }
    }
}
