//! The bus actor: lifecycle and health, not the data path.
//!
//! [`BusService`] is the supervised part of a bus, the [kit](crate::kit)'s
//! driver of its engine. The bus accepts publishes while the service runs
//! (a crash of the actor changes nothing); when its supervisor stops it,
//! publishes fail with [`BusError::Stopped`](super::BusError::Stopped) and
//! async handlers get up to [`drain_timeout`](super::BusConfig::drain_timeout)
//! to finish what is queued for them; when it is gone for good, subscribers
//! get what is queued, then `Closed`. Every [`health_interval`](super::BusConfig::health_interval)
//! — and at once on a first drop or handler failure — it reports:
//!
//! * **status** [`Degraded`](crate::Status::Degraded) while a subscriber is
//!   lagging (its queue filled to [`lag_threshold`](super::BusConfig::lag_threshold)
//!   or more), or has dropped events or had handler failures since the last
//!   report; [`Ok`](crate::Status::Ok) otherwise;
//! * **details** `subscriptions`, `published`, `dead_letters`, `queued`,
//!   `max_queue_depth`, `dropped`, `handler_failures`, and `lagging`,
//!   `dropping`, `failing`: the stats of the subscribers in trouble (at most
//!   50 each).
//!
//! It handles no messages: publishing and subscribing never wait for it.
//!
//! ```
//! # #[actix_rt::main] async fn main() -> Result<(), Box<dyn std::error::Error>> {
//! use std::time::Duration;
//! use servitor::bus::{BusConfig, EventBus, Overflow};
//! use servitor::testing::TestTree;
//! use servitor::Status;
//!
//! let (spec, bus) = EventBus::<u32>::service("events", BusConfig::default())?;
//! let tree = TestTree::start(spec).await?;
//! let mut health = tree.watch("events");
//! let slow = bus.subscriber("t").capacity(1).overflow(Overflow::DropOldest).name("slow").stream()?;
//! bus.publish("t", 1).await?;
//! bus.publish("t", 2).await?; // the first drop: reported at once
//! let change = health.wait_for(Status::Degraded, Duration::from_secs(1)).await?;
//! assert_eq!(change.message.as_deref(), Some("subscribers: 1 lagging, 1 dropping events"));
//! let details = tree.runtime().registry().get("events").unwrap().details;
//! assert_eq!(details["dropping"][0]["name"], "slow");
//! # drop(slow); tree.shutdown().await; Ok(()) }
//! ```

use super::router::BusEngine;
use super::stats::SubscriberStats;
use crate::kit::{Engine, Health, Phase, Pulse, Shared};
use crate::status::Status;
use serde_json::json;
use std::time::Duration;

/// At most this many subscribers are listed per trouble in health details.
const LISTED: usize = 50;

/// The supervised actor of an event bus (made by
/// [`EventBus::service`](super::EventBus::service)): the kit's
/// [`Driver`](crate::kit::Driver) of its engine. Its handle through the
/// runtime is `ServiceRef<BusService<T>>`; the
/// [`EventBus`](super::EventBus) handle is what publishes and subscribes.
pub type BusService<T> = crate::kit::Driver<BusEngine<T>>;

impl<T: Clone + Send + Sync + 'static> Engine for BusEngine<T> {
    fn health_interval(&self) -> Duration {
        self.config.health_interval
    }

    fn health(&self) -> Health {
        assess(self)
    }

    fn pulse(&self) -> Option<&Pulse> {
        Some(&self.pulse)
    }

    /// Gives async handlers up to `drain_timeout` to finish what is queued.
    async fn drain(shared: Shared<Self>) {
        let bound = shared.config.drain_timeout;
        let _ = tokio::time::timeout(bound, shared.drain(true)).await;
    }

    fn phase_changed(&self, _from: Phase, to: Phase) {
        self.set_accepting(to == Phase::Running);
        if to == Phase::Closed {
            self.close();
        }
    }
}

/// The bus's health from its stats and the counts at the last report.
fn assess<T>(core: &BusEngine<T>) -> Health {
    let stats = core.stats();
    let threshold = core.config.lag_threshold;
    let mut baseline = core.baseline.lock();
    let mut lagging: Vec<&SubscriberStats> = Vec::new();
    let mut dropping = Vec::new();
    let mut failing = Vec::new();
    for s in &stats.subscribers {
        let failures = s.failed + s.panicked;
        let (dropped_before, failed_before) = baseline
            .insert(s.id, (s.dropped, failures))
            .unwrap_or((0, 0));
        if s.is_lagging(threshold) {
            lagging.push(s);
        }
        if s.dropped > dropped_before {
            dropping.push(s);
        }
        if failures > failed_before {
            failing.push(s);
        }
    }
    drop(baseline);
    let list = |v: &[&SubscriberStats]| json!(v.iter().take(LISTED).collect::<Vec<_>>());
    let details = |h: Health| {
        h.detail("subscriptions", stats.subscribers.len())
            .detail("published", stats.published)
            .detail("dead_letters", stats.dead_letters)
            .detail("queued", stats.queued())
            .detail(
                "max_queue_depth",
                stats
                    .subscribers
                    .iter()
                    .map(|s| s.queued)
                    .max()
                    .unwrap_or(0),
            )
            .detail("dropped", stats.dropped())
            .detail(
                "handler_failures",
                stats
                    .subscribers
                    .iter()
                    .map(|s| s.failed + s.panicked)
                    .sum::<u64>(),
            )
            .detail("lagging", list(&lagging))
            .detail("dropping", list(&dropping))
            .detail("failing", list(&failing))
    };
    let mut trouble = Vec::new();
    if !lagging.is_empty() {
        trouble.push(format!("{} lagging", lagging.len()));
    }
    if !dropping.is_empty() {
        trouble.push(format!("{} dropping events", dropping.len()));
    }
    if !failing.is_empty() {
        trouble.push(format!("{} with failing handlers", failing.len()));
    }
    if trouble.is_empty() {
        details(Health::ok())
    } else {
        let message = format!("subscribers: {}", trouble.join(", "));
        details(Health::new(Status::Degraded).message(message))
    }
}
