//! The bridge's counters, and the figures it reports as health.

use serde::Serialize;
use std::sync::atomic::{AtomicU64, Ordering::Relaxed};

/// The bridge's figures since it was made (they survive restarts of its
/// actor).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
#[non_exhaustive]
pub struct BridgeStats {
    /// Connected to NATS now.
    pub connected: bool,
    /// Connections made (the first and every reconnection).
    pub connections: u64,
    /// Local events handed to NATS (core publishes, and JetStream
    /// publishes sent; a JetStream retry does not count again).
    pub forwarded: u64,
    /// JetStream publishes confirmed by the stream's acknowledgement.
    pub confirmed: u64,
    /// JetStream publishes sent again after a missing confirmation.
    pub retried: u64,
    /// Events queued for NATS and not yet forwarded (or, for JetStream,
    /// not yet confirmed).
    pub pending: u64,
    /// Local events refused because the queue for NATS was full.
    pub refused: u64,
    /// NATS messages delivered to local subscribers.
    pub received: u64,
    /// NATS messages that carried this process's own origin and were
    /// skipped (they were delivered locally when published).
    pub own_skipped: u64,
    /// NATS messages whose payload did not decode (logged, not delivered).
    pub undecodable: u64,
    /// Local requests answered through NATS.
    pub requests_out: u64,
    /// NATS requests answered by local responders.
    pub requests_in: u64,
}

#[derive(Debug, Default)]
pub(crate) struct Counters {
    pub connections: AtomicU64,
    pub forwarded: AtomicU64,
    pub confirmed: AtomicU64,
    pub retried: AtomicU64,
    pub queued: AtomicU64,
    pub settled: AtomicU64,
    pub refused: AtomicU64,
    pub received: AtomicU64,
    pub own_skipped: AtomicU64,
    pub undecodable: AtomicU64,
    pub requests_out: AtomicU64,
    pub requests_in: AtomicU64,
}

impl Counters {
    pub fn bump(counter: &AtomicU64) {
        counter.fetch_add(1, Relaxed);
    }

    pub fn stats(&self, connected: bool) -> BridgeStats {
        let queued = self.queued.load(Relaxed);
        let settled = self.settled.load(Relaxed);
        BridgeStats {
            connected,
            connections: self.connections.load(Relaxed),
            forwarded: self.forwarded.load(Relaxed),
            confirmed: self.confirmed.load(Relaxed),
            retried: self.retried.load(Relaxed),
            pending: queued.saturating_sub(settled),
            refused: self.refused.load(Relaxed),
            received: self.received.load(Relaxed),
            own_skipped: self.own_skipped.load(Relaxed),
            undecodable: self.undecodable.load(Relaxed),
            requests_out: self.requests_out.load(Relaxed),
            requests_in: self.requests_in.load(Relaxed),
        }
    }
}
