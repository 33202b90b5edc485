//! The removal listener: one callback told of every entry that leaves the
//! cache, with why it left.
//!
//! Set it with [`CacheBuilder::on_removal`](super::CacheBuilder::on_removal).
//! It is called once per removed entry, with the key, the value and the
//! [`RemovalCause`]:
//!
//! * **on the thread that caused the removal** — the caller of `set` for an
//!   eviction or a replacement, of `delete`/`clear`/`delete_pattern` for an
//!   explicit removal, of a read that found the entry expired; and the cache
//!   service's own actor for expirations found by the background sweep;
//! * **after the shard lock is released**, so the listener may use the cache
//!   itself;
//! * in order per shard, but with no order across shards or threads.
//!
//! How it fails: a listener that panics unwinds into whoever triggered the
//! removal. During the background sweep that is the cache service: the
//! panic is a crash its supervisor handles (the service restarts and the
//! sweep resumes; the rest of that batch's notifications are lost). Keep
//! listeners short: they run while the caller waits.
//!
//! Entries dropped because the cache service stopped for good are not
//! reported.
//!
//! ```
//! use std::sync::{Arc, Mutex};
//! use servitor::cache::{Cache, CacheConfig, RemovalCause};
//!
//! let seen = Arc::new(Mutex::new(Vec::new()));
//! let log = seen.clone();
//! let (_spec, cache) = Cache::<&str, u32>::builder("scores")
//!     .config(CacheConfig { capacity: 1, ..CacheConfig::default() })
//!     .on_removal(move |k, v, cause| log.lock().unwrap().push((*k, *v, cause)))
//!     .build()
//!     .unwrap();
//! cache.set("a", 1).unwrap();
//! cache.set("a", 2).unwrap();
//! cache.set("b", 3).unwrap();
//! cache.delete("b").unwrap();
//! assert_eq!(
//!     *seen.lock().unwrap(),
//!     [("a", 1, RemovalCause::Replaced), ("a", 2, RemovalCause::Evicted), ("b", 3, RemovalCause::Explicit)]
//! );
//! ```

use serde::{Deserialize, Serialize};
use std::sync::Arc;

/// Why an entry left the cache.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RemovalCause {
    /// Its time to live ran out (found by a read or by the sweep).
    Expired,
    /// The size bound (entry count or weight) made room for another entry.
    Evicted,
    /// `delete`, `clear` or `delete_pattern` removed it.
    Explicit,
    /// A `set` of the same key replaced its value.
    Replaced,
}

impl RemovalCause {
    /// Every cause.
    pub const ALL: [RemovalCause; 4] = [
        RemovalCause::Expired,
        RemovalCause::Evicted,
        RemovalCause::Explicit,
        RemovalCause::Replaced,
    ];
}

/// The listener as the store keeps it.
pub(crate) type Listener<K, V> = Arc<dyn Fn(&K, &V, RemovalCause) + Send + Sync>;

/// Entries removed under a shard lock, to be reported (and dropped) after
/// it is released. Holds the first one inline: most operations remove at
/// most one entry, and a cache hit path should not allocate. With no
/// listener, entries whose drop does nothing are not kept at all.
pub(crate) struct Removals<K, V> {
    first: Option<(K, V, RemovalCause)>,
    rest: Vec<(K, V, RemovalCause)>,
    /// Whether anyone listens: if not, only entries with a drop to run
    /// (outside the lock) are kept.
    listening: bool,
}

impl<K, V> Removals<K, V> {
    #[inline]
    pub fn new(listening: bool) -> Self {
        Removals {
            first: None,
            rest: Vec::new(),
            listening,
        }
    }

    #[inline]
    pub fn push(&mut self, key: K, value: V, cause: RemovalCause) {
        if !self.listening && !std::mem::needs_drop::<(K, V)>() {
            return;
        }
        if self.first.is_none() {
            self.first = Some((key, value, cause));
        } else {
            self.rest.push((key, value, cause));
        }
    }

    #[inline]
    pub fn is_empty(&self) -> bool {
        self.first.is_none()
    }

    /// Calls `listener` for each entry, in removal order, then drops them.
    #[inline]
    pub fn notify(self, listener: Option<&Listener<K, V>>) {
        if let Some(listener) = listener {
            if self.first.is_some() {
                self.notify_each(listener);
            }
        }
    }

    fn notify_each(self, listener: &Listener<K, V>) {
        for (k, v, cause) in self.first.into_iter().chain(self.rest) {
            listener(&k, &v, cause);
        }
    }
}
