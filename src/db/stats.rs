//! Pool figures, like bb8's: gauges of the pool now and counters since the
//! service was made, the same numbers the service publishes as its health
//! details (and a metrics endpoint can export as they are: counters only
//! grow).
//!
//! * **Acquisitions** — [`acquired_direct`](DbStats::acquired_direct) (an
//!   idle connection was handed out at once) vs
//!   [`acquired_waited`](DbStats::acquired_waited) (the caller waited for a
//!   connection to be released or opened), with the total
//!   [`wait_time_us`](DbStats::wait_time_us) of those waits;
//!   [`timed_out`](DbStats::timed_out) (pool exhausted) and
//!   [`unavailable`](DbStats::unavailable) (database unreachable).
//! * **Connections** — [`connections_created`](DbStats::connections_created)
//!   and the closed ones by cause: [`closed_broken`](DbStats::closed_broken)
//!   (found dead by a ping, broken by an error, or discarded after a panic),
//!   [`closed_idle_timeout`](DbStats::closed_idle_timeout),
//!   [`closed_max_lifetime`](DbStats::closed_max_lifetime).
//!
//! Figures count what goes through the service's handle; connections taken
//! from [`Db::pool`](super::Db::pool) directly show in the gauges and the
//! connection counters, not in the acquisition counters.
//!
//! ```
//! use servitor::db::DbStats;
//!
//! let stats = DbStats::default();
//! assert_eq!(stats.acquisitions(), 0);
//! assert_eq!(stats.closed(), 0);
//! ```

use serde::{Deserialize, Serialize};
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};

/// A snapshot of a database service's pool.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct DbStats {
    /// Connections open (or being opened) now.
    pub size: u32,
    /// Of those, idle in the pool.
    pub idle: u32,
    /// Of those, handed out (or being opened): `size - idle`.
    pub in_use: u32,
    /// Callers waiting for a connection now.
    pub waiting: usize,
    /// The configured `min_connections`.
    pub min_connections: u32,
    /// The configured `max_connections`.
    pub max_connections: u32,
    /// Acquisitions served at once by an idle connection.
    pub acquired_direct: u64,
    /// Acquisitions that waited for a connection to be released or opened.
    pub acquired_waited: u64,
    /// Total time the waiting acquisitions waited, in microseconds.
    pub wait_time_us: u64,
    /// Acquisitions that gave up because every connection stayed in use
    /// ([`DbError::Exhausted`](super::DbError::Exhausted)).
    pub timed_out: u64,
    /// Acquisitions that failed because the database could not be reached
    /// ([`DbError::Unavailable`](super::DbError::Unavailable)).
    pub unavailable: u64,
    /// Connections opened.
    pub connections_created: u64,
    /// Connections closed because they were broken: a failed ping, an
    /// error that broke them, a panic while one was held.
    pub closed_broken: u64,
    /// Connections closed by the idle timeout.
    pub closed_idle_timeout: u64,
    /// Connections closed at their maximum lifetime.
    pub closed_max_lifetime: u64,
}

impl DbStats {
    /// Every acquisition served: direct and after waiting.
    pub fn acquisitions(&self) -> u64 {
        self.acquired_direct + self.acquired_waited
    }

    /// Every connection closed, whatever the cause.
    pub fn closed(&self) -> u64 {
        self.closed_broken + self.closed_idle_timeout + self.closed_max_lifetime
    }
}

/// The counters behind [`DbStats`], shared with the pool's hooks.
#[derive(Debug, Default)]
pub(crate) struct Figures {
    pub waiting: AtomicUsize,
    pub acquired_direct: AtomicU64,
    pub acquired_waited: AtomicU64,
    pub wait_time_us: AtomicU64,
    pub timed_out: AtomicU64,
    pub unavailable: AtomicU64,
    pub created: AtomicU64,
    pub closed_idle: AtomicU64,
    pub closed_lifetime: AtomicU64,
    /// The fewest idle connections seen since the idle window began.
    pub idle_floor: AtomicUsize,
    /// `timed_out` when health was last reported.
    pub reported_timeouts: AtomicU64,
}

impl Figures {
    pub fn bump(counter: &AtomicU64) {
        counter.fetch_add(1, Ordering::Relaxed);
    }

    /// The snapshot for a pool of `size` connections, `idle` of them idle.
    pub fn snapshot(&self, size: u32, idle: u32, min: u32, max: u32) -> DbStats {
        let load = |c: &AtomicU64| c.load(Ordering::Relaxed);
        let created = load(&self.created);
        let closed_idle = load(&self.closed_idle);
        let closed_lifetime = load(&self.closed_lifetime);
        // Every connection that is gone was closed for one of three
        // reasons; the idle and lifetime closes are counted where they
        // happen, the rest were broken. (`size` counts connections being
        // opened too, so this may lag by those until they are counted.)
        let closed_broken = created
            .saturating_sub(u64::from(size))
            .saturating_sub(closed_idle)
            .saturating_sub(closed_lifetime);
        DbStats {
            size,
            idle: idle.min(size),
            in_use: size.saturating_sub(idle),
            waiting: self.waiting.load(Ordering::Relaxed),
            min_connections: min,
            max_connections: max,
            acquired_direct: load(&self.acquired_direct),
            acquired_waited: load(&self.acquired_waited),
            wait_time_us: load(&self.wait_time_us),
            timed_out: load(&self.timed_out),
            unavailable: load(&self.unavailable),
            connections_created: created,
            closed_broken,
            closed_idle_timeout: closed_idle,
            closed_max_lifetime: closed_lifetime,
        }
    }
}
