//! Subscription handles: what a subscriber holds, and what ends the
//! subscription when dropped.
//!
//! A [`Subscription`] is a stream subscriber's receiving end. A
//! [`HandlerSubscription`] keeps a sync or async handler subscribed; to keep
//! one for the bus's whole life without holding on to it, call
//! [`detach`](HandlerSubscription::detach).
//!
//! Dropping either removes the subscription from the bus at once: events
//! published after that do not reach it, and events still queued for it are
//! discarded (an async handler finishes the call it is in). A publish that
//! races with the drop may still deliver one last event.

use super::error::{RecvError, TryRecvError};
use super::event::{Event, SubscriptionId};
use super::queue::{Queue, Take};
use super::router::BusEngine;
use super::stats::SubscriberStats;
use super::subject::Pattern;
use super::subscriber::Subscriber;
use crate::kit::WeakShared;
use futures_util::Stream;
use std::collections::VecDeque;
use std::fmt;
use std::future::poll_fn;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

/// A stream subscriber: receive its events with [`recv`](Self::recv) or
/// use it as a [`Stream`] of `Result<Event<T>, RecvError>` (which ends
/// where `recv` would return [`RecvError::Closed`]).
///
/// ```
/// # #[actix_rt::main] async fn main() -> Result<(), Box<dyn std::error::Error>> {
/// use futures_util::StreamExt;
/// use servitor::bus::{BusConfig, EventBus};
/// use servitor::testing::TestTree;
///
/// let (spec, bus) = EventBus::<u32>::service("events", BusConfig::default())?;
/// let tree = TestTree::start(spec).await?;
/// let mut sub = bus.subscribe("sensors.*.temp")?;
/// bus.publish("sensors.kitchen.temp", 21).await?;
/// let event = sub.next().await.unwrap()?;
/// assert_eq!((event.subject().as_str(), *event.payload()), ("sensors.kitchen.temp", 21));
/// # drop(sub); tree.shutdown().await; Ok(()) }
/// ```
pub struct Subscription<T> {
    core: WeakShared<BusEngine<T>>,
    sub: Arc<Subscriber<T>>,
    /// Events taken from the queue in one go and not handed out yet.
    batch: VecDeque<Event<T>>,
}

impl<T> Subscription<T> {
    pub(crate) fn new(core: WeakShared<BusEngine<T>>, sub: Arc<Subscriber<T>>) -> Self {
        Subscription {
            core,
            sub,
            batch: VecDeque::new(),
        }
    }

    /// The next event, `Lagged` or `Closed`; `None` when nothing is queued
    /// (having registered for a wake-up if `cx` is given).
    fn next(&mut self, mut cx: Option<&mut Context<'_>>) -> Option<Result<Event<T>, RecvError>> {
        let queue: &Queue<T> = self.sub.queue().expect("a stream subscription has a queue");
        loop {
            if let Some(event) = self.batch.pop_front() {
                queue.finish(1);
                return Some(Ok(event));
            }
            match queue.take(cx.as_deref_mut(), &mut self.batch)? {
                Take::Batch => continue,
                Take::Lagged(missed) => return Some(Err(RecvError::Lagged { missed })),
                Take::Closed => return Some(Err(RecvError::Closed)),
            }
        }
    }

    /// Its id.
    pub fn id(&self) -> SubscriptionId {
        self.sub.id
    }

    /// Its pattern.
    pub fn pattern(&self) -> &Pattern {
        &self.sub.pattern
    }

    /// Its queue group, if any.
    pub fn queue_group(&self) -> Option<&str> {
        self.sub.group.as_deref()
    }

    /// Its counters.
    pub fn stats(&self) -> SubscriberStats {
        self.sub.stats()
    }

    /// The next event, waiting for one if none is queued.
    ///
    /// Fails with [`RecvError::Lagged`] once after its drop-oldest queue
    /// overflowed, and with [`RecvError::Closed`] when nothing more can come.
    pub async fn recv(&mut self) -> Result<Event<T>, RecvError> {
        poll_fn(|cx| match self.next(Some(cx)) {
            Some(r) => Poll::Ready(r),
            None => Poll::Pending,
        })
        .await
    }

    /// The next event if one is queued now.
    pub fn try_recv(&mut self) -> Result<Event<T>, TryRecvError> {
        match self.next(None) {
            Some(Ok(e)) => Ok(e),
            Some(Err(RecvError::Lagged { missed })) => Err(TryRecvError::Lagged { missed }),
            Some(Err(RecvError::Closed)) => Err(TryRecvError::Closed),
            None => Err(TryRecvError::Empty),
        }
    }

    /// Ends the subscription (as dropping it does).
    pub fn unsubscribe(self) {}
}

// Nothing in it is ever pinned in place.
impl<T> Unpin for Subscription<T> {}

impl<T> Stream for Subscription<T> {
    type Item = Result<Event<T>, RecvError>;

    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        match self.get_mut().next(Some(cx)) {
            Some(Err(RecvError::Closed)) => Poll::Ready(None),
            Some(r) => Poll::Ready(Some(r)),
            None => Poll::Pending,
        }
    }
}

impl<T> Drop for Subscription<T> {
    fn drop(&mut self) {
        leave(&self.core, &self.sub);
    }
}

impl<T> fmt::Debug for Subscription<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Subscription")
            .field("id", &self.sub.id)
            .field("pattern", &self.sub.pattern)
            .field("queue_group", &self.sub.group)
            .finish()
    }
}

fn leave<T>(core: &WeakShared<BusEngine<T>>, sub: &Arc<Subscriber<T>>) {
    match core.upgrade() {
        Some(core) => core.remove(sub),
        None => {
            if let Some(q) = sub.queue() {
                q.discard();
            }
        }
    }
}

/// The type-erased part of a handler subscription.
trait Member: Send + Sync {
    fn id(&self) -> SubscriptionId;
    fn pattern(&self) -> &Pattern;
    fn stats(&self) -> SubscriberStats;
    fn leave(&self);
}

struct Held<T> {
    core: WeakShared<BusEngine<T>>,
    sub: Arc<Subscriber<T>>,
}

impl<T: Send + Sync + 'static> Member for Held<T> {
    fn id(&self) -> SubscriptionId {
        self.sub.id
    }
    fn pattern(&self) -> &Pattern {
        &self.sub.pattern
    }
    fn stats(&self) -> SubscriberStats {
        self.sub.stats()
    }
    fn leave(&self) {
        leave(&self.core, &self.sub);
    }
}

/// Keeps a sync or async handler subscribed; dropping it unsubscribes.
///
/// It does not name the bus's payload type, so handles of different buses
/// can be kept together.
///
/// ```
/// # #[actix_rt::main] async fn main() -> Result<(), Box<dyn std::error::Error>> {
/// use servitor::bus::{BusConfig, EventBus};
/// use servitor::testing::TestTree;
///
/// let (spec, bus) = EventBus::<u32>::service("events", BusConfig::default())?;
/// let tree = TestTree::start(spec).await?;
/// let audit = bus.subscriber("orders.*").handler(|e| {
///     if *e.payload() == 0 { Err("empty order") } else { Ok(()) }
/// })?;
/// let published = bus.publish("orders.created", 0).await?;
/// assert!(published.handlers[0].result.is_err());
/// assert_eq!(audit.stats().failed, 1);
/// drop(audit);
/// assert_eq!(bus.publish("orders.created", 1).await?.reached, 0);
/// # tree.shutdown().await; Ok(()) }
/// ```
#[must_use = "dropping a HandlerSubscription unsubscribes the handler at once; use `detach` to keep it"]
pub struct HandlerSubscription {
    member: Box<dyn Member>,
    detached: bool,
}

impl HandlerSubscription {
    pub(crate) fn new<T: Send + Sync + 'static>(
        core: WeakShared<BusEngine<T>>,
        sub: Arc<Subscriber<T>>,
    ) -> Self {
        HandlerSubscription {
            member: Box::new(Held { core, sub }),
            detached: false,
        }
    }

    /// Its id.
    pub fn id(&self) -> SubscriptionId {
        self.member.id()
    }

    /// Its pattern.
    pub fn pattern(&self) -> &Pattern {
        self.member.pattern()
    }

    /// Its counters.
    pub fn stats(&self) -> SubscriberStats {
        self.member.stats()
    }

    /// Keeps the handler subscribed for as long as the bus exists, without
    /// a handle to hold.
    pub fn detach(mut self) {
        self.detached = true;
    }

    /// Ends the subscription (as dropping it does).
    pub fn unsubscribe(self) {}
}

impl Drop for HandlerSubscription {
    fn drop(&mut self) {
        if !self.detached {
            // An async handler's task sees its queue closed and ends after
            // the call it is in.
            self.member.leave();
        }
    }
}

impl fmt::Debug for HandlerSubscription {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("HandlerSubscription")
            .field("id", &self.member.id())
            .field("pattern", self.member.pattern())
            .finish()
    }
}
