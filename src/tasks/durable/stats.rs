//! The figures of a durable task service: what this process's workers did,
//! and the queue as last counted (shared by every process).

use serde::Serialize;
use std::sync::atomic::{AtomicBool, AtomicI64, AtomicU64, AtomicUsize, Ordering};

/// Counters of this process and gauges of the shared queue, also published
/// as the service's health details.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
#[non_exhaustive]
pub struct DurableStats {
    /// Tasks ready to run now, in the whole queue (as last counted, every
    /// health interval).
    pub ready: u64,
    /// Tasks waiting for their start time or retry backoff, in the whole
    /// queue.
    pub scheduled: u64,
    /// Tasks running under a lease, in the whole queue (any process).
    pub running: u64,
    /// Whether the last count reached the database.
    pub reachable: bool,
    /// This process's workers.
    pub workers: usize,
    /// Of them, running a task now.
    pub busy_workers: usize,
    /// Tasks this process claimed (attempts started, retries included).
    pub claimed: u64,
    /// Tasks this process completed.
    pub completed: u64,
    /// Tasks this process finished as failed.
    pub failed: u64,
    /// Tasks this process finished as timed out.
    pub timed_out: u64,
    /// Tasks this process finished as cancelled.
    pub cancelled: u64,
    /// Tasks made dead here: last attempt failed, or its lease expired.
    pub dead: u64,
    /// Retries this process scheduled after a failed attempt.
    pub retries: u64,
    /// Expired leases (of any process) this process's sweep returned to
    /// the queue.
    pub expired: u64,
    /// Leases this process's renewal found taken over (it had stalled).
    pub leases_lost: u64,
    /// Attempts that finished after their lease was taken over; their
    /// outcome was not recorded (the new owner's is).
    pub stale: u64,
    /// Statements that failed (the database down or refusing).
    pub db_errors: u64,
}

#[derive(Debug, Default)]
pub(crate) struct Counters {
    pub busy: AtomicUsize,
    pub claimed: AtomicU64,
    pub completed: AtomicU64,
    pub failed: AtomicU64,
    pub timed_out: AtomicU64,
    pub cancelled: AtomicU64,
    pub dead: AtomicU64,
    pub retries: AtomicU64,
    pub expired: AtomicU64,
    pub leases_lost: AtomicU64,
    pub stale: AtomicU64,
    pub db_errors: AtomicU64,
    ready: AtomicI64,
    scheduled: AtomicI64,
    running: AtomicI64,
    unreachable: AtomicBool,
}

impl Counters {
    pub fn store_depths(&self, ready: i64, scheduled: i64, running: i64) {
        self.ready.store(ready, Ordering::Relaxed);
        self.scheduled.store(scheduled, Ordering::Relaxed);
        self.running.store(running, Ordering::Relaxed);
    }

    pub fn set_reachable(&self, reachable: bool) {
        self.unreachable.store(!reachable, Ordering::Relaxed);
    }

    pub fn snapshot(&self, workers: usize) -> DurableStats {
        let n = |a: &AtomicU64| a.load(Ordering::Relaxed);
        let g = |a: &AtomicI64| a.load(Ordering::Relaxed).max(0) as u64;
        DurableStats {
            ready: g(&self.ready),
            scheduled: g(&self.scheduled),
            running: g(&self.running),
            reachable: !self.unreachable.load(Ordering::Relaxed),
            workers,
            busy_workers: self.busy.load(Ordering::Relaxed),
            claimed: n(&self.claimed),
            completed: n(&self.completed),
            failed: n(&self.failed),
            timed_out: n(&self.timed_out),
            cancelled: n(&self.cancelled),
            dead: n(&self.dead),
            retries: n(&self.retries),
            expired: n(&self.expired),
            leases_lost: n(&self.leases_lost),
            stale: n(&self.stale),
            db_errors: n(&self.db_errors),
        }
    }
}
