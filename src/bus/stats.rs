//! Counters of the bus and of each subscriber: what
//! [`EventBus::stats`](super::EventBus::stats) returns and what the bus
//! service publishes in its health details.

use super::event::SubscriptionId;
use super::queue::Overflow;
use serde::Serialize;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};

/// A counter many threads add to without sharing a cache line: each
/// thread adds to its own stripe, a read sums them. (One shared atomic
/// bumped by every publish would make parallel publishers contend.)
#[derive(Default)]
pub(crate) struct Striped {
    stripes: [Stripe; STRIPES],
}

const STRIPES: usize = 8;

#[repr(align(128))]
#[derive(Default)]
struct Stripe(AtomicU64);

impl Striped {
    pub fn add(&self, n: u64) {
        thread_local! {
            static STRIPE: usize = {
                static NEXT: AtomicUsize = AtomicUsize::new(0);
                NEXT.fetch_add(1, Ordering::Relaxed) % STRIPES
            };
        }
        let i = STRIPE.with(|s| *s);
        self.stripes[i].0.fetch_add(n, Ordering::Relaxed);
    }

    pub fn get(&self) -> u64 {
        self.stripes
            .iter()
            .map(|s| s.0.load(Ordering::Relaxed))
            .sum()
    }
}

/// How a subscriber takes its events.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum SubscriberKind {
    /// A [`Subscription`](super::Subscription) read with `recv` or as a stream.
    Stream,
    /// A sync handler, run by the publisher before `publish` returns.
    Handler,
    /// An async handler, run on its own task.
    AsyncHandler,
}

/// One subscriber's counters.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[non_exhaustive]
pub struct SubscriberStats {
    /// The subscription.
    pub id: SubscriptionId,
    /// Its pattern.
    pub pattern: String,
    /// Its queue group, if any.
    pub queue_group: Option<String>,
    /// The label it was given, if any.
    pub name: Option<String>,
    /// How it takes events.
    pub kind: SubscriberKind,
    /// Its overflow policy (`None` for a sync handler, which has no queue).
    pub overflow: Option<Overflow>,
    /// Its queue's capacity (0 for a sync handler).
    pub capacity: usize,
    /// Events queued now, including one an async handler is working on.
    pub queued: usize,
    /// Events it took: queued for it, or run through its sync handler.
    pub delivered: u64,
    /// Events it lost because its queue was full (dropped as the oldest, or
    /// dead-lettered instead of queued).
    pub dropped: u64,
    /// Events it sent to the dead-letter topic (overflow or failed handler).
    pub dead_lettered: u64,
    /// Handler calls that returned an error.
    pub failed: u64,
    /// Handler calls that panicked.
    pub panicked: u64,
}

impl SubscriberStats {
    /// Whether its queue is filled to at least `threshold` of its capacity.
    pub fn is_lagging(&self, threshold: f64) -> bool {
        self.capacity > 0 && self.queued as f64 >= threshold * self.capacity as f64
    }
}

/// The whole bus's counters.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[non_exhaustive]
pub struct BusStats {
    /// The bus's service name.
    pub name: String,
    /// Whether it accepts publishes now.
    pub running: bool,
    /// Successful `publish` calls (requests included, dead letters not).
    pub published: u64,
    /// Events sent to the dead-letter topic.
    pub dead_letters: u64,
    /// Every current subscriber, by id.
    pub subscribers: Vec<SubscriberStats>,
}

impl BusStats {
    /// Events queued over all subscribers.
    pub fn queued(&self) -> usize {
        self.subscribers.iter().map(|s| s.queued).sum()
    }

    /// Events lost to overflow over all subscribers.
    pub fn dropped(&self) -> u64 {
        self.subscribers.iter().map(|s| s.dropped).sum()
    }

    /// The stats of one subscriber.
    pub fn subscriber(&self, id: SubscriptionId) -> Option<&SubscriberStats> {
        self.subscribers.iter().find(|s| s.id == id)
    }
}
