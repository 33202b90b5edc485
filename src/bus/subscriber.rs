//! Subscribers: the three ways to take events, and the builder that sets
//! up each with its pattern, queue group, queue and failure handling.
//!
//! | kind | made with | runs | queue |
//! | --- | --- | --- | --- |
//! | stream | [`stream`](SubscriberBuilder::stream) | where you `recv` | own, bounded, overflow policy |
//! | sync handler | [`handler`](SubscriberBuilder::handler) | in `publish`, before it returns | none |
//! | async handler | [`async_handler`](SubscriberBuilder::async_handler) | on its own task | own, bounded, overflow policy |
//!
//! Each returns a handle; dropping it unsubscribes. A subscriber sees only
//! events published after it subscribed.

use super::error::BusError;
use super::event::{Event, SubscriptionId};
use super::handle::EventBus;
use super::handler::{self, IntoHandlerResult, SyncFn};
use super::queue::{Overflow, Queue, Take};
use super::router::BusEngine;
use super::stats::{SubscriberKind, SubscriberStats};
use super::subject::{check_group, Pattern};
use super::subscription::{HandlerSubscription, Subscription};
use crate::kit::{Shared, WeakShared};
use std::collections::VecDeque;
use std::future::{poll_fn, Future};
use std::sync::atomic::{AtomicU64, Ordering::Relaxed};
use std::sync::Arc;

/// One subscriber as the router holds it.
pub(crate) struct Subscriber<T> {
    pub id: SubscriptionId,
    pub pattern: Pattern,
    pub group: Option<Arc<str>>,
    pub name: Option<String>,
    pub kind: Kind<T>,
    pub dead_letter_failures: bool,
    /// The bus's name, for log lines.
    pub bus: Arc<str>,
    pub handled: AtomicU64,
    pub failed: AtomicU64,
    pub panicked: AtomicU64,
    pub dead_lettered: AtomicU64,
}

pub(crate) enum Kind<T> {
    Stream(Queue<T>),
    Handler(SyncFn<T>),
    AsyncHandler(Queue<T>),
}

impl<T> Subscriber<T> {
    pub fn queue(&self) -> Option<&Queue<T>> {
        match &self.kind {
            Kind::Stream(q) | Kind::AsyncHandler(q) => Some(q),
            Kind::Handler(_) => None,
        }
    }

    /// Whether it could take one more event without overflowing.
    pub fn has_room(&self) -> bool {
        self.queue().is_none_or(Queue::has_room)
    }

    pub fn stats(&self) -> SubscriberStats {
        let (kind, overflow, capacity, counts) = match &self.kind {
            Kind::Stream(q) => (
                SubscriberKind::Stream,
                Some(q.policy()),
                q.capacity(),
                q.counts(),
            ),
            Kind::AsyncHandler(q) => (
                SubscriberKind::AsyncHandler,
                Some(q.policy()),
                q.capacity(),
                q.counts(),
            ),
            Kind::Handler(_) => (SubscriberKind::Handler, None, 0, Default::default()),
        };
        let delivered = match &self.kind {
            Kind::Handler(_) => {
                self.handled.load(Relaxed) + self.failed.load(Relaxed) + self.panicked.load(Relaxed)
            }
            _ => counts.accepted,
        };
        SubscriberStats {
            id: self.id,
            pattern: self.pattern.to_string(),
            queue_group: self.group.as_deref().map(str::to_string),
            name: self.name.clone(),
            kind,
            overflow,
            capacity,
            queued: counts.depth,
            delivered,
            dropped: counts.dropped,
            dead_lettered: self.dead_lettered.load(Relaxed),
            failed: self.failed.load(Relaxed),
            panicked: self.panicked.load(Relaxed),
        }
    }
}

/// Sets up one subscription: pattern, queue group, queue capacity, overflow
/// policy, failure handling. Made by
/// [`EventBus::subscriber`](super::EventBus::subscriber); finished by one of
/// [`stream`](Self::stream), [`handler`](Self::handler) or
/// [`async_handler`](Self::async_handler), which check the pattern and the
/// settings.
///
/// ```
/// # #[actix_rt::main] async fn main() -> Result<(), Box<dyn std::error::Error>> {
/// use servitor::bus::{BusConfig, EventBus, Overflow};
/// use servitor::testing::TestTree;
///
/// let (spec, bus) = EventBus::<String>::service("events", BusConfig::default())?;
/// let tree = TestTree::start(spec).await?;
/// let mut audit = bus
///     .subscriber("orders.>")
///     .capacity(2)
///     .overflow(Overflow::DropOldest)
///     .name("audit")
///     .stream()?;
/// for n in 0..3 {
///     bus.publish("orders.created", n.to_string()).await?;
/// }
/// assert_eq!(audit.recv().await.unwrap_err(), servitor::bus::RecvError::Lagged { missed: 1 });
/// assert_eq!(audit.recv().await?.payload(), "1");
/// # drop(audit); tree.shutdown().await; Ok(()) }
/// ```
#[must_use = "a subscriber builder does nothing until `stream`, `handler` or `async_handler` is called"]
pub struct SubscriberBuilder<'b, T: Clone + Send + Sync + 'static> {
    bus: &'b EventBus<T>,
    pattern: String,
    group: Option<String>,
    capacity: Option<usize>,
    overflow: Option<Overflow>,
    dead_letter_failures: Option<bool>,
    name: Option<String>,
}

impl<T: Clone + Send + Sync + 'static> std::fmt::Debug for SubscriberBuilder<'_, T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SubscriberBuilder")
            .field("bus", &self.bus.name())
            .field("pattern", &self.pattern)
            .field("group", &self.group)
            .finish_non_exhaustive()
    }
}

impl<'b, T: Clone + Send + Sync + 'static> SubscriberBuilder<'b, T> {
    pub(crate) fn new(bus: &'b EventBus<T>, pattern: &str) -> Self {
        SubscriberBuilder {
            bus,
            pattern: pattern.to_string(),
            group: None,
            capacity: None,
            overflow: None,
            dead_letter_failures: None,
            name: None,
        }
    }

    /// Joins the queue group `name`: each event goes to one member of the
    /// group (see [`group`](super::group)). A group name is one token.
    pub fn queue_group(mut self, name: impl Into<String>) -> Self {
        self.group = Some(name.into());
        self
    }

    /// This subscriber's queue capacity, in events (default: the bus's
    /// [`capacity`](super::BusConfig::capacity)). Ignored by sync handlers,
    /// which have no queue.
    pub fn capacity(mut self, capacity: usize) -> Self {
        self.capacity = Some(capacity);
        self
    }

    /// What this subscriber's full queue does (default: the bus's
    /// [`overflow`](super::BusConfig::overflow)). Ignored by sync handlers.
    pub fn overflow(mut self, overflow: Overflow) -> Self {
        self.overflow = Some(overflow);
        self
    }

    /// Whether events whose handler fails or panics go to the dead-letter
    /// topic (default: the bus's
    /// [`dead_letter_failures`](super::BusConfig::dead_letter_failures)).
    pub fn dead_letter_failures(mut self, on: bool) -> Self {
        self.dead_letter_failures = Some(on);
        self
    }

    /// A label for stats, health details and logs.
    pub fn name(mut self, label: impl Into<String>) -> Self {
        self.name = Some(label.into());
        self
    }

    /// A subscription read with [`recv`](Subscription::recv) or as a
    /// `Stream`.
    pub fn stream(self) -> Result<Subscription<T>, BusError> {
        let core = self.bus.core().clone();
        let queue = self.queue(&core)?;
        let sub = self.register(&core, Kind::Stream(queue))?;
        Ok(Subscription::new(core.downgrade(), sub))
    }

    /// A sync handler: called on the publisher's task for every event,
    /// before `publish` returns, which reports its result.
    pub fn handler<F, R>(self, f: F) -> Result<HandlerSubscription, BusError>
    where
        F: Fn(&Event<T>) -> R + Send + Sync + 'static,
        R: IntoHandlerResult,
    {
        let core = self.bus.core().clone();
        let sub = self.register(&core, Kind::Handler(handler::erase_sync(f)))?;
        Ok(HandlerSubscription::new(core.downgrade(), sub))
    }

    /// An async handler, run on its own task (spawned on the current tokio
    /// runtime) for one event after the other, in publish order.
    pub fn async_handler<F, Fut>(self, f: F) -> Result<HandlerSubscription, BusError>
    where
        F: Fn(Event<T>) -> Fut + Send + Sync + 'static,
        Fut: Future + Send + 'static,
        Fut::Output: IntoHandlerResult,
    {
        let runtime = tokio::runtime::Handle::try_current().map_err(|_| BusError::NoRuntime)?;
        let core = self.bus.core().clone();
        let queue = self.queue(&core)?;
        let sub = self.register(&core, Kind::AsyncHandler(queue))?;
        runtime.spawn(work(core.downgrade(), sub.clone(), f));
        Ok(HandlerSubscription::new(core.downgrade(), sub))
    }

    fn queue(&self, core: &BusEngine<T>) -> Result<Queue<T>, BusError> {
        let capacity = self.capacity.unwrap_or(core.config.capacity);
        if capacity == 0 {
            return Err(crate::kit::ConfigError::field(
                &*core.name,
                "capacity",
                "must be at least 1 (subscription)",
            )
            .into());
        }
        Ok(Queue::new(
            capacity,
            self.overflow.unwrap_or(core.config.overflow),
        ))
    }

    fn register(
        self,
        core: &Shared<BusEngine<T>>,
        kind: Kind<T>,
    ) -> Result<Arc<Subscriber<T>>, BusError> {
        let pattern = Pattern::new(&self.pattern)?;
        if let Some(g) = &self.group {
            check_group(g)?;
        }
        Ok(core.add(|id| Subscriber {
            id,
            pattern,
            group: self.group.map(Arc::from),
            name: self.name,
            kind,
            dead_letter_failures: self
                .dead_letter_failures
                .unwrap_or(core.config.dead_letter_failures),
            bus: core.name.clone(),
            handled: AtomicU64::new(0),
            failed: AtomicU64::new(0),
            panicked: AtomicU64::new(0),
            dead_lettered: AtomicU64::new(0),
        }))
    }
}

/// The task behind an async handler: one event at a time, until the
/// subscription is cancelled or the bus closed and drained.
async fn work<T, F, Fut>(core: WeakShared<BusEngine<T>>, sub: Arc<Subscriber<T>>, f: F)
where
    T: Clone + Send + Sync + 'static,
    F: Fn(Event<T>) -> Fut,
    Fut: Future,
    Fut::Output: IntoHandlerResult,
{
    let queue = sub.queue().expect("an async handler has a queue");
    let mut batch = VecDeque::new();
    loop {
        match poll_fn(|cx| queue.poll_take(cx, &mut batch)).await {
            Take::Closed => return,
            Take::Lagged(missed) => {
                tracing::warn!(service = %sub.bus, subscription = %sub.id, pattern = %sub.pattern, missed, "async handler lagged: events dropped");
            }
            Take::Batch => {}
        }
        while let Some(event) = batch.pop_front() {
            if queue.is_discarded() {
                return;
            }
            let subject = event.subject().clone();
            let keep = sub.dead_letter_failures.then(|| event.clone());
            let result = handler::call_async(&f, event).await;
            match (result, core.upgrade()) {
                (Ok(()), _) => {
                    sub.handled.fetch_add(1, Relaxed);
                }
                (Err(e), Some(core)) => core.handler_failed(&sub, &subject, e, keep),
                (Err(e), None) => BusEngine::<T>::count_failure(&sub, &subject, &e),
            }
            queue.finish(1);
        }
    }
}
