//! Each subscriber's own bounded queue, and what it does when it is full.
//!
//! A stream subscription and an async handler each own one queue of a fixed
//! capacity; publishers push into it, the subscriber pops from it. Nothing
//! is shared between subscribers, so a slow one only ever affects itself —
//! and its [`Overflow`] policy says exactly how:
//!
//! * [`Overflow::Block`] — the publisher waits for room. Nothing is lost and
//!   memory stays bounded, but a subscriber that stops reading stops the
//!   publishers that publish to it (and only those). This is the default.
//! * [`Overflow::DropOldest`] — the oldest queued event is dropped to make
//!   room. The subscriber's next receive returns
//!   [`RecvError::Lagged`](super::RecvError::Lagged) with the exact number
//!   dropped, then the newest events.
//! * [`Overflow::DeadLetter`] — the event that does not fit is not queued but
//!   published to the dead-letter topic with its original subject and the
//!   reason, for someone else to deal with.
//!
//! Under both drop policies the publisher never waits for this subscriber.
//! Every drop is counted per subscriber and shows in the bus's health.
//!
//! The capacity bounds the events *waiting* in the queue. A subscriber
//! takes everything waiting in one go (one lock for many events, which is
//! most of the bus's speed), so it may also hold up to a capacity's worth
//! it has taken and not yet worked through: the memory a subscriber can pin
//! is bounded by twice its capacity. Its `queued` count (stats, health)
//! covers both.
//!
//! The queue also keeps the two counters [`flush`](super::EventBus::flush)
//! waits on: events accepted, and events finished with (received by a
//! stream, handled by an async handler, or dropped).
//!
//! ```
//! # #[actix_rt::main] async fn main() -> Result<(), Box<dyn std::error::Error>> {
//! use servitor::bus::{BusConfig, EventBus, Overflow, RecvError};
//! use servitor::testing::TestTree;
//!
//! let (spec, bus) = EventBus::<u32>::service("events", BusConfig::default())?;
//! let tree = TestTree::start(spec).await?;
//! let mut ticker = bus.subscriber("ticks").capacity(3).overflow(Overflow::DropOldest).stream()?;
//! let mut archive = bus.subscriber("ticks").capacity(3).overflow(Overflow::DeadLetter).stream()?;
//! let mut dead = bus.subscribe("_dlq.>")?;
//! for n in 0..5 {
//!     bus.publish("ticks", n).await?; // never waits: both policies drop
//! }
//! assert_eq!(ticker.recv().await.unwrap_err(), RecvError::Lagged { missed: 2 });
//! assert_eq!(*ticker.recv().await?.payload(), 2); // the newest three are kept
//! assert_eq!(*archive.recv().await?.payload(), 0); // the oldest three are kept...
//! let letter = dead.recv().await?; // ...and the rest are dead letters
//! assert_eq!((*letter.payload(), letter.subject().as_str()), (3, "_dlq.ticks"));
//! assert_eq!((ticker.stats().dropped, archive.stats().dropped), (2, 2));
//! # drop((ticker, archive, dead)); tree.shutdown().await; Ok(()) }
//! ```

use super::event::Event;
use parking_lot::Mutex;
use serde::{Deserialize, Serialize};
use std::collections::VecDeque;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::task::{Context, Poll, Waker};
use tokio::sync::Notify;

/// What a subscriber's full queue does with one more event.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Overflow {
    /// The publisher waits until there is room (backpressure). Lossless.
    #[default]
    Block,
    /// The oldest queued event is dropped; the subscriber is told how many
    /// it missed.
    DropOldest,
    /// The new event goes to the dead-letter topic instead.
    DeadLetter,
}

/// The outcome of offering one event to a queue without waiting.
pub(crate) enum Push<T> {
    /// Queued.
    Accepted,
    /// Queued, and the oldest event was dropped for it.
    Displaced,
    /// Full, and the policy is to wait: the event comes back.
    Full(Event<T>),
    /// Full, and the policy is to dead-letter: the event comes back.
    Rejected(Event<T>),
    /// The subscription is gone.
    Closed,
}

/// What a consumer gets when it takes from the queue.
pub(crate) enum Take {
    /// Its batch was refilled with everything that was queued.
    Batch,
    /// Events were dropped (drop-oldest): exactly this many.
    Lagged(u64),
    /// Nothing more will come.
    Closed,
}

pub(crate) struct Queue<T> {
    capacity: usize,
    policy: Overflow,
    state: Mutex<State<T>>,
    /// Publishers waiting for room (block policy).
    space: Notify,
    /// Flushes waiting for `done` to advance.
    drained: Notify,
    /// What the consumer writes per event, on a cache line of its own so
    /// that it does not bounce against the publishers' lock.
    progress: Progress,
}

#[repr(align(128))]
struct Progress {
    /// Events finished with (handed out, handled, dropped or discarded).
    done: AtomicU64,
    /// Flushes waiting on this queue.
    flushers: AtomicUsize,
    /// The subscription was cancelled: stop consuming at once.
    discarded: AtomicBool,
}

struct State<T> {
    buf: VecDeque<Event<T>>,
    consumer: Option<Waker>,
    /// Dropped by drop-oldest and not yet reported as `Lagged`.
    missed: u64,
    /// Events ever queued.
    accepted: u64,
    /// No more pushes: the subscription was cancelled or the bus closed.
    closed: bool,
    /// Publishers known to wait for room.
    blocked: usize,
    /// Events this subscriber lost to overflow.
    dropped: u64,
}

/// Counters of one queue, read together.
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct QueueCounts {
    /// Accepted and not finished with: queued, or taken and not yet
    /// handed out or handled.
    pub depth: usize,
    pub accepted: u64,
    pub dropped: u64,
}

impl<T> Queue<T> {
    pub fn new(capacity: usize, policy: Overflow) -> Self {
        Queue {
            capacity,
            policy,
            state: Mutex::new(State {
                // Grow on demand: most queues stay nearly empty.
                buf: VecDeque::with_capacity(capacity.min(16)),
                consumer: None,
                missed: 0,
                accepted: 0,
                closed: false,
                blocked: 0,
                dropped: 0,
            }),
            space: Notify::new(),
            drained: Notify::new(),
            progress: Progress {
                done: AtomicU64::new(0),
                flushers: AtomicUsize::new(0),
                discarded: AtomicBool::new(false),
            },
        }
    }

    pub fn capacity(&self) -> usize {
        self.capacity
    }

    pub fn policy(&self) -> Overflow {
        self.policy
    }

    /// Whether one more event would fit now (a hint for group selection).
    pub fn has_room(&self) -> bool {
        self.state.lock().buf.len() < self.capacity
    }

    /// Offers a clone of `event` without waiting; the policy decides what a
    /// full queue does. (Cloning in place saves a copy of the event.)
    pub fn try_push(&self, event: &Event<T>) -> Push<T>
    where
        T: Clone,
    {
        let mut st = self.state.lock();
        if st.closed {
            return Push::Closed;
        }
        let outcome = if st.buf.len() < self.capacity {
            Push::Accepted
        } else {
            match self.policy {
                Overflow::Block => return Push::Full(event.clone()),
                Overflow::DeadLetter => {
                    st.dropped += 1;
                    return Push::Rejected(event.clone());
                }
                Overflow::DropOldest => {
                    st.buf.pop_front();
                    st.missed += 1;
                    st.dropped += 1;
                    self.finish(1);
                    Push::Displaced
                }
            }
        };
        st.buf.push_back(event.clone());
        st.accepted += 1;
        let waker = st.consumer.take();
        drop(st);
        if let Some(w) = waker {
            w.wake();
        }
        outcome
    }

    /// Queues `event`, waiting for room as long as it takes. Returns false
    /// if the subscription closed first, and gives the event back if
    /// `give_up` says to stop waiting (checked at every wake-up).
    pub async fn push_wait(
        &self,
        event: Event<T>,
        give_up: impl Fn() -> bool,
    ) -> Result<bool, Event<T>> {
        let mut event = Some(event);
        loop {
            let notified = self.space.notified();
            tokio::pin!(notified);
            notified.as_mut().enable();
            {
                let mut st = self.state.lock();
                if st.closed {
                    return Ok(false);
                }
                if st.buf.len() < self.capacity {
                    st.buf
                        .push_back(event.take().expect("event kept until queued"));
                    st.accepted += 1;
                    let waker = st.consumer.take();
                    drop(st);
                    if let Some(w) = waker {
                        w.wake();
                    }
                    return Ok(true);
                }
                st.blocked += 1;
            }
            if give_up() {
                return Err(event.take().expect("event kept until queued"));
            }
            notified.await;
        }
    }

    /// Counts one event lost because the queue was full and could not be
    /// waited for (a dead letter offered to a blocking queue).
    pub fn count_lost(&self) {
        self.state.lock().dropped += 1;
    }

    /// Wakes publishers waiting for room so they can see the bus stopped.
    pub fn wake_publishers(&self) {
        self.space.notify_waiters();
    }

    /// Refills the consumer's empty `batch` with everything queued (one lock
    /// for many events), or reports a lag or the end. Without a `cx`, an
    /// empty queue is `None` instead of a registered wake-up.
    pub fn take(
        &self,
        cx: Option<&mut Context<'_>>,
        batch: &mut VecDeque<Event<T>>,
    ) -> Option<Take> {
        debug_assert!(batch.is_empty());
        let mut st = self.state.lock();
        if st.missed > 0 {
            return Some(Take::Lagged(std::mem::take(&mut st.missed)));
        }
        if st.buf.is_empty() {
            if st.closed {
                return Some(Take::Closed);
            }
            if let Some(cx) = cx {
                match &st.consumer {
                    Some(w) if w.will_wake(cx.waker()) => {}
                    _ => st.consumer = Some(cx.waker().clone()),
                }
            }
            return None;
        }
        // Swap the buffers: the publishers get the consumer's empty one
        // (with its capacity), so nothing is copied or allocated.
        std::mem::swap(&mut st.buf, batch);
        let wake_space = st.blocked > 0;
        st.blocked = 0;
        drop(st);
        if wake_space {
            self.space.notify_waiters();
        }
        Some(Take::Batch)
    }

    /// Polls [`take`](Self::take).
    pub fn poll_take(&self, cx: &mut Context<'_>, batch: &mut VecDeque<Event<T>>) -> Poll<Take> {
        match self.take(Some(cx), batch) {
            Some(t) => Poll::Ready(t),
            None => Poll::Pending,
        }
    }

    /// The consumer finished with `n` events (handed out or handled).
    pub fn finish(&self, n: u64) {
        self.progress.done.fetch_add(n, Ordering::SeqCst);
        if self.progress.flushers.load(Ordering::SeqCst) > 0 {
            self.drained.notify_waiters();
        }
    }

    /// Whether the subscription was cancelled (a worker stops at once).
    pub fn is_discarded(&self) -> bool {
        self.progress.discarded.load(Ordering::Relaxed)
    }

    /// How many events have been accepted so far (a flush's target).
    pub fn accepted(&self) -> u64 {
        self.state.lock().accepted
    }

    /// Waits until every event accepted up to `target` is finished with.
    pub async fn drained_to(&self, target: u64) {
        let _flushing = Flushing::new(self);
        loop {
            let notified = self.drained.notified();
            tokio::pin!(notified);
            notified.as_mut().enable();
            if self.progress.done.load(Ordering::SeqCst) >= target {
                return;
            }
            notified.await;
        }
    }

    /// No more pushes; the consumer gets what is queued, then `Closed`.
    pub fn close(&self) {
        let mut st = self.state.lock();
        st.closed = true;
        let waker = st.consumer.take();
        drop(st);
        if let Some(w) = waker {
            w.wake();
        }
        self.space.notify_waiters();
    }

    /// No more pushes, and what is queued is discarded (the subscription was
    /// cancelled: nobody will read it).
    pub fn discard(&self) {
        self.progress.discarded.store(true, Ordering::Relaxed);
        let mut st = self.state.lock();
        st.closed = true;
        st.buf.clear();
        st.missed = 0;
        let accepted = st.accepted;
        let waker = st.consumer.take();
        drop(st);
        self.progress.done.fetch_max(accepted, Ordering::SeqCst);
        if let Some(w) = waker {
            w.wake();
        }
        self.space.notify_waiters();
        self.drained.notify_waiters();
    }

    pub fn counts(&self) -> QueueCounts {
        let st = self.state.lock();
        let done = self.progress.done.load(Ordering::SeqCst);
        QueueCounts {
            depth: st.accepted.saturating_sub(done) as usize,
            accepted: st.accepted,
            dropped: st.dropped,
        }
    }
}

/// Registers a waiting flush with a queue for as long as it waits.
struct Flushing<'a, T>(&'a Queue<T>);

impl<'a, T> Flushing<'a, T> {
    fn new(q: &'a Queue<T>) -> Self {
        q.progress.flushers.fetch_add(1, Ordering::SeqCst);
        Flushing(q)
    }
}

impl<T> Drop for Flushing<'_, T> {
    fn drop(&mut self) {
        self.0.progress.flushers.fetch_sub(1, Ordering::SeqCst);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::bus::Subject;

    fn ev(n: u32) -> Event<u32> {
        Event::new(Subject::new("t").unwrap(), n)
    }

    fn take_all(q: &Queue<u32>) -> (Option<u64>, Vec<u32>) {
        let mut batch = VecDeque::new();
        let lag = match q.take(None, &mut batch) {
            Some(Take::Lagged(n)) => {
                q.take(None, &mut batch);
                Some(n)
            }
            _ => None,
        };
        (lag, batch.into_iter().map(|e| *e.payload()).collect())
    }

    #[test]
    fn drop_oldest_reports_exact_lag_then_newest() {
        let q = Queue::new(2, Overflow::DropOldest);
        for n in 0..5 {
            q.try_push(&ev(n));
        }
        assert_eq!(take_all(&q), (Some(3), vec![3, 4]));
        assert_eq!(q.counts().dropped, 3);
    }

    #[test]
    fn dead_letter_rejects_the_new_event() {
        let q = Queue::new(1, Overflow::DeadLetter);
        assert!(matches!(q.try_push(&ev(0)), Push::Accepted));
        assert!(matches!(q.try_push(&ev(1)), Push::Rejected(e) if *e.payload() == 1));
        assert_eq!(take_all(&q), (None, vec![0]));
    }
}
