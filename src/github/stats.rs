//! What the client has done: counters kept on the data path with relaxed
//! atomics, published as health details.

use serde::{Deserialize, Serialize};
use std::sync::atomic::{AtomicU64, Ordering};

/// The client's counters since the service was made.
///
/// ```
/// use servitor::github::{GitHub, GitHubConfig};
///
/// let (_spec, gh) = GitHub::service("github", GitHubConfig::with_token("t")).unwrap();
/// let stats = gh.stats();
/// assert_eq!(stats.requests, 0);
/// assert_eq!(stats.in_flight, 0);
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[non_exhaustive]
pub struct GitHubStats {
    /// Requests sent (every attempt counts).
    pub requests: u64,
    /// Reads answered `304 Not Modified` and served from memory.
    pub not_modified: u64,
    /// Requests sent again after a server error or a failed connection.
    pub retries: u64,
    /// Answers that were a rate limit (primary or secondary).
    pub rate_limited: u64,
    /// Waits for a rate limit, a secondary pause or the content pace.
    pub waits: u64,
    /// Calls that ended in an error.
    pub errors: u64,
    /// Requests in flight now.
    pub in_flight: u64,
    /// Answers remembered for conditional requests.
    pub etag_entries: u64,
}

#[derive(Default)]
pub(crate) struct Counters {
    pub requests: AtomicU64,
    pub not_modified: AtomicU64,
    pub retries: AtomicU64,
    pub rate_limited: AtomicU64,
    pub waits: AtomicU64,
    pub errors: AtomicU64,
    pub in_flight: AtomicU64,
}

impl Counters {
    #[inline]
    pub fn bump(counter: &AtomicU64) {
        counter.fetch_add(1, Ordering::Relaxed);
    }

    pub fn snapshot(&self, etag_entries: usize) -> GitHubStats {
        let get = |c: &AtomicU64| c.load(Ordering::Relaxed);
        GitHubStats {
            requests: get(&self.requests),
            not_modified: get(&self.not_modified),
            retries: get(&self.retries),
            rate_limited: get(&self.rate_limited),
            waits: get(&self.waits),
            errors: get(&self.errors),
            in_flight: get(&self.in_flight),
            etag_entries: etag_entries as u64,
        }
    }
}
