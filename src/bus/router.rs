//! The data path: the state every incarnation of the bus shares, and how a
//! published event reaches its subscribers.
//!
//! Publishing runs on the publisher's task — it never queues behind the bus
//! actor's mailbox. It takes the subscription table's read lock (shared by
//! all publishers; only subscribing and unsubscribing take it exclusively),
//! walks the [trie](super::trie) for the subject, and offers the event to
//! each matching queue without waiting: one clone per subscriber. What
//! cannot finish under the lock is finished after it is released, in this
//! order: sync handlers run, overflowed events are dead-lettered, and queues
//! that are full under the block policy are waited on one by one. User code
//! never runs under the lock, so a handler may publish or subscribe.
//!
//! Ordering: a publish returns only when every matching subscriber has its
//! event (or has dropped it by its policy), so the events of one publisher
//! reach each subscriber in publish order.

use super::config::BusConfig;
use super::error::BusError;
use super::event::{DeadLetter, DeadLetterReason, Event, Meta, SubscriptionId};
use super::group;
use super::handler::{self, HandlerError, HandlerReport};
use super::queue::Push;
use super::request::{is_inbox, Inbox};
use super::stats::{BusStats, Striped};
use super::subject::Subject;
use super::subscriber::{Kind, Subscriber};
use super::trie::Trie;
use crate::kit::Pulse;
use parking_lot::{Mutex, RwLock};
use std::collections::{BTreeMap, HashMap};
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;
use tokio::time::Instant;

/// What one [`publish`](super::EventBus::publish) did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct Published {
    /// Subscribers that got the event: queued for them (even if an older
    /// event was dropped for it), or run through their sync handler
    /// (whatever it returned). A queue group counts once.
    pub reached: usize,
    /// Subscribers whose full queue sent the event to the dead-letter topic
    /// instead.
    pub dead_lettered: usize,
    /// The result of every sync handler it ran, in the order they ran.
    pub handlers: Vec<HandlerReport>,
}

impl Published {
    /// Whether every sync handler it ran succeeded.
    pub fn handlers_ok(&self) -> bool {
        self.handlers.iter().all(|h| h.result.is_ok())
    }
}

/// Work left for after the lock is released.
struct Later<T> {
    sync: Vec<Arc<Subscriber<T>>>,
    blocked: Vec<(Arc<Subscriber<T>>, Event<T>)>,
    dead: Vec<(Arc<Subscriber<T>>, Event<T>)>,
}

impl<T> Default for Later<T> {
    fn default() -> Self {
        Later {
            sync: Vec::new(),
            blocked: Vec::new(),
            dead: Vec::new(),
        }
    }
}

/// A queue group matched in one trie slot: its name and its members there.
type GroupSlot<'a, T> = (&'a Arc<str>, &'a [Arc<Subscriber<T>>]);

/// The subscription table.
struct Index<T> {
    trie: Trie<Arc<Subscriber<T>>>,
    all: BTreeMap<SubscriptionId, Arc<Subscriber<T>>>,
}

/// The engine of an [`EventBus`](super::EventBus): its subscriptions,
/// their queues and the counters, shared by its handles, its subscriptions
/// and every incarnation of its actor — so all of it survives a crash of
/// the actor. Its workings are internal; use it through the handle.
pub struct BusEngine<T> {
    pub(crate) name: Arc<str>,
    pub(crate) config: BusConfig,
    index: RwLock<Index<T>>,
    /// Publishing is open (the service runs).
    accepting: AtomicBool,
    /// Live `EventBus` handles; the queues close when the last one goes.
    pub(crate) handles: AtomicUsize,
    next_id: AtomicU64,
    published: Striped,
    dead_letters: AtomicU64,
    pub(crate) inbox: Inbox<T>,
    /// Asks the actor to report health at once (a first drop or failure).
    pub(crate) pulse: Pulse,
    /// When the last early report was asked for: at most one per health
    /// interval, so a storm of drops is one report.
    last_pulse: Mutex<Option<Instant>>,
    /// Drops and failures per subscriber at the last health report.
    pub(crate) baseline: Mutex<HashMap<SubscriptionId, (u64, u64)>>,
}

impl<T> std::fmt::Debug for BusEngine<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("BusEngine")
            .field("name", &self.name)
            .field("accepting", &self.is_running())
            .finish_non_exhaustive()
    }
}

impl<T> BusEngine<T> {
    pub(crate) fn new(name: &str, config: BusConfig) -> Self {
        BusEngine {
            name: Arc::from(name),
            config,
            index: RwLock::new(Index {
                trie: Trie::default(),
                all: BTreeMap::new(),
            }),
            accepting: AtomicBool::new(false),
            handles: AtomicUsize::new(0),
            next_id: AtomicU64::new(1),
            published: Striped::default(),
            dead_letters: AtomicU64::new(0),
            inbox: Inbox::default(),
            pulse: Pulse::new(),
            last_pulse: Mutex::new(None),
            baseline: Mutex::new(HashMap::new()),
        }
    }

    pub(crate) fn is_running(&self) -> bool {
        self.accepting.load(Ordering::Acquire)
    }

    pub(crate) fn stopped_error(&self) -> BusError {
        BusError::Stopped {
            service: self.name.to_string(),
        }
    }

    /// The bus stopped while a publish waited for room: `Stopped` if the
    /// event reached nobody yet, else what it did reach.
    fn stopped_during(&self, delivered: Published) -> BusError {
        if delivered.reached == 0 && delivered.dead_lettered == 0 && delivered.handlers.is_empty() {
            self.stopped_error()
        } else {
            BusError::StoppedWhileDelivering {
                service: self.name.to_string(),
                delivered,
            }
        }
    }

    /// Opens publishing (the service runs) or closes it: publishers waiting
    /// for room give up.
    pub(crate) fn set_accepting(&self, open: bool) {
        self.accepting.store(open, Ordering::Release);
        if !open {
            for sub in self.index.read().all.values() {
                if let Some(q) = sub.queue() {
                    q.wake_publishers();
                }
            }
        }
    }

    /// Nothing more can be published (the last handle is gone, or the bus
    /// is gone for good), so every subscriber gets what is queued and then
    /// `Closed`.
    pub(crate) fn close(&self) {
        for sub in self.index.read().all.values() {
            if let Some(q) = sub.queue() {
                q.close();
            }
        }
    }

    /// Registers a new subscriber built by `make` with a fresh id.
    pub(crate) fn add(
        &self,
        make: impl FnOnce(SubscriptionId) -> Subscriber<T>,
    ) -> Arc<Subscriber<T>> {
        let id = SubscriptionId(self.next_id.fetch_add(1, Ordering::Relaxed));
        let sub = Arc::new(make(id));
        let mut index = self.index.write();
        index
            .trie
            .insert(&sub.pattern, sub.group.as_ref(), sub.clone());
        index.all.insert(id, sub.clone());
        sub
    }

    /// Unregisters a subscriber and discards what is queued for it.
    pub(crate) fn remove(&self, sub: &Arc<Subscriber<T>>) {
        let removed = {
            let mut index = self.index.write();
            let from_trie = index
                .trie
                .remove(&sub.pattern, sub.group.as_deref(), |s| s.id == sub.id);
            (from_trie, index.all.remove(&sub.id))
        };
        // Dropped outside the lock: a last reference may drop a handler
        // that holds a bus handle, whose drop takes the lock again.
        drop(removed);
        if let Some(q) = sub.queue() {
            q.discard();
        }
        self.baseline.lock().remove(&sub.id);
    }

    /// Asks the actor for a health report now, at most once per health
    /// interval.
    pub(crate) fn poke(&self) {
        let now = Instant::now();
        let mut last = self.last_pulse.lock();
        let due =
            last.is_none_or(|at| now.saturating_duration_since(at) >= self.config.health_interval);
        if due {
            *last = Some(now);
            self.pulse.beat();
        }
    }

    pub(crate) fn stats(&self) -> BusStats {
        let subscribers = self.index.read().all.values().map(|s| s.stats()).collect();
        BusStats {
            name: self.name.to_string(),
            running: self.is_running(),
            published: self.published.get(),
            dead_letters: self.dead_letters.load(Ordering::Relaxed),
            subscribers,
        }
    }

    /// Waits until every event queued now (for async handlers only, or for
    /// every queue) is finished with.
    pub(crate) async fn drain(&self, handlers_only: bool) {
        let targets: Vec<(Arc<Subscriber<T>>, u64)> = self
            .index
            .read()
            .all
            .values()
            .filter(|s| !handlers_only || matches!(s.kind, Kind::AsyncHandler(_)))
            .filter_map(|s| s.queue().map(|q| (s.clone(), q.accepted())))
            .collect();
        for (sub, target) in targets {
            if let Some(q) = sub.queue() {
                q.drained_to(target).await;
            }
        }
    }

    /// Counts and logs a failed handler call (no dead-lettering).
    pub(crate) fn count_failure(sub: &Subscriber<T>, subject: &Subject, error: &HandlerError) {
        match error {
            HandlerError::Failed(e) => {
                sub.failed.fetch_add(1, Ordering::Relaxed);
                tracing::warn!(service = %sub.bus, subject = %subject, subscription = %sub.id, pattern = %sub.pattern, error = %e, "event handler failed");
            }
            HandlerError::Panicked(m) => {
                sub.panicked.fetch_add(1, Ordering::Relaxed);
                tracing::warn!(service = %sub.bus, subject = %subject, subscription = %sub.id, pattern = %sub.pattern, panic = %m, "event handler panicked");
            }
        }
    }
}

impl<T: Clone + Send + Sync + 'static> BusEngine<T> {
    /// Delivers `event` to every matching subscriber (see the module docs).
    pub(crate) async fn publish(&self, event: Event<T>) -> Result<Published, BusError> {
        if !self.is_running() {
            return Err(self.stopped_error());
        }
        self.published.add(1);
        let mut out = Published::default();
        if is_inbox(event.subject()) && self.inbox.deliver(event.clone()) {
            out.reached += 1;
        }
        let mut later = Later::default();
        self.route(&event, &mut out, &mut later);
        self.run_handlers(&event, &mut out, later.sync);
        for (sub, ev) in later.dead {
            self.dead_letter(
                &sub,
                ev,
                DeadLetterReason::Overflow {
                    capacity: sub.queue().map_or(0, |q| q.capacity()),
                },
            );
        }
        for (sub, ev) in later.blocked {
            let q = sub.queue().expect("only queues block");
            let stopped = match q.push_wait(ev, || !self.is_running()).await {
                Ok(true) => {
                    out.reached += 1;
                    false
                }
                // Closed because the bus stopped, not by its subscriber.
                Ok(false) => !self.is_running(),
                Err(_) => true,
            };
            if stopped {
                return Err(self.stopped_during(out));
            }
        }
        Ok(out)
    }

    /// Sends `request` and waits up to `timeout` for the first reply.
    pub(crate) async fn request(
        &self,
        subject: Subject,
        payload: T,
        timeout: Duration,
    ) -> Result<T, BusError> {
        let (reply_to, mut ticket) = self.inbox.open();
        let meta = Meta {
            reply_to: Some(reply_to),
            dead_letter: None,
        };
        let published = self
            .publish(Event::with_meta(subject.clone(), payload, meta))
            .await?;
        if published.reached == 0 {
            return Err(BusError::NoResponders { subject });
        }
        match tokio::time::timeout(timeout, &mut ticket.reply).await {
            Ok(Ok(reply)) => Ok(reply.into_payload()),
            Ok(Err(_)) => Err(BusError::NoResponders { subject }),
            Err(_) => Err(BusError::TimedOut {
                subject,
                after: timeout,
            }),
        }
    }

    /// Offers `event` to every matching subscriber without waiting; what is
    /// left to do goes into `later`.
    fn route(&self, event: &Event<T>, out: &mut Published, later: &mut Later<T>) {
        let index = self.index.read();
        let mut groups: Vec<GroupSlot<'_, T>> = Vec::new();
        index.trie.visit(event.subject().as_str(), &mut |slot| {
            for sub in &slot.plain {
                self.offer(sub, event, out, later);
            }
            for (name, members) in &slot.groups {
                groups.push((name, members));
            }
        });
        if !groups.is_empty() {
            group::choose(
                &groups,
                |s| s.has_room(),
                |s| self.offer(s, event, out, later),
            );
        }
    }

    fn offer(
        &self,
        sub: &Arc<Subscriber<T>>,
        event: &Event<T>,
        out: &mut Published,
        later: &mut Later<T>,
    ) {
        let q = match &sub.kind {
            Kind::Handler(_) => return later.sync.push(sub.clone()),
            Kind::Stream(q) | Kind::AsyncHandler(q) => q,
        };
        match q.try_push(event) {
            Push::Accepted => out.reached += 1,
            Push::Displaced => {
                out.reached += 1;
                self.poke();
            }
            Push::Full(ev) => later.blocked.push((sub.clone(), ev)),
            Push::Rejected(ev) => {
                self.poke();
                // A dead letter is never dead-lettered again: it is dropped
                // (and counted), so a slow dead-letter consumer cannot loop.
                if !ev.is_dead_letter() {
                    out.dead_lettered += 1;
                    later.dead.push((sub.clone(), ev));
                }
            }
            Push::Closed => {}
        }
    }

    fn run_handlers(&self, event: &Event<T>, out: &mut Published, subs: Vec<Arc<Subscriber<T>>>) {
        for sub in subs {
            let Kind::Handler(f) = &sub.kind else {
                continue;
            };
            let result = handler::call_sync(f, event);
            out.reached += 1;
            match &result {
                Ok(()) => {
                    sub.handled.fetch_add(1, Ordering::Relaxed);
                }
                Err(e) => {
                    let keep = sub.dead_letter_failures.then(|| event.clone());
                    self.handler_failed(&sub, event.subject(), e.clone(), keep);
                }
            }
            out.handlers.push(HandlerReport {
                subscription: sub.id,
                result,
            });
        }
    }

    /// A handler call failed: count, log, and dead-letter `event` if kept.
    pub(crate) fn handler_failed(
        &self,
        sub: &Subscriber<T>,
        subject: &Subject,
        error: HandlerError,
        event: Option<Event<T>>,
    ) {
        Self::count_failure(sub, subject, &error);
        self.poke();
        if let Some(ev) = event {
            let reason = match error {
                HandlerError::Failed(error) => DeadLetterReason::HandlerFailed { error },
                HandlerError::Panicked(message) => DeadLetterReason::HandlerPanicked { message },
            };
            self.dead_letter(sub, ev, reason);
        }
    }

    /// Publishes `event` to the dead-letter topic on behalf of `from`,
    /// without waiting for anyone: a blocking queue that is full loses it
    /// (counted as a drop on that subscriber).
    fn dead_letter(&self, from: &Subscriber<T>, event: Event<T>, reason: DeadLetterReason) {
        if event.is_dead_letter() {
            return;
        }
        from.dead_lettered.fetch_add(1, Ordering::Relaxed);
        self.dead_letters.fetch_add(1, Ordering::Relaxed);
        let original = event.subject().clone();
        let subject = Subject::trusted(format!("{}.{}", self.config.dead_letter_topic, original));
        tracing::debug!(service = %self.name, subject = %original, subscription = %from.id, %reason, "event dead-lettered");
        let meta = Meta {
            reply_to: None,
            dead_letter: Some(DeadLetter {
                reason,
                subject: original,
                subscription: from.id,
            }),
        };
        let letter = Event::with_meta(subject, event.into_payload(), meta);
        let mut out = Published::default();
        let mut later = Later::default();
        self.route(&letter, &mut out, &mut later);
        self.run_handlers(&letter, &mut out, later.sync);
        for (sub, _) in later.blocked {
            if let Some(q) = sub.queue() {
                q.count_lost();
                self.poke();
            }
        }
    }
}
