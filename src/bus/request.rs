//! Request/reply: publish an event that carries a reply subject, wait for
//! the first reply, give up after a timeout.
//!
//! [`EventBus::request`](super::EventBus::request) opens an inbox (a unique
//! subject under `_INBOX.`), publishes the request with the inbox as its
//! [`reply_to`](super::Event::reply_to), and waits. A responder — any
//! subscriber, often a queue group so that one member answers — calls
//! [`EventBus::reply`](super::EventBus::reply) with the request event; the
//! reply goes straight to the waiting requester, not through the
//! subscription trie. Publishing to the reply subject works too.
//!
//! How it fails, each a [`BusError`](super::BusError):
//! `NoResponders` at once when the request reached no subscriber;
//! `TimedOut` when no reply came in time (the default timeout is
//! [`BusConfig::request_timeout`](super::BusConfig::request_timeout));
//! `Stopped` when the bus is not running. The first reply wins; later ones
//! find the inbox closed and are dropped (`reply` returns `false`).
//!
//! ```
//! # #[actix_rt::main] async fn main() -> Result<(), Box<dyn std::error::Error>> {
//! use std::time::Duration;
//! use servitor::bus::{BusConfig, BusError, EventBus};
//! use servitor::testing::TestTree;
//!
//! let (spec, bus) = EventBus::<i64>::service("events", BusConfig::default())?;
//! let tree = TestTree::start(spec).await?;
//! let responder = bus.clone();
//! let _double = bus.subscriber("math.double").queue_group("math").handler(move |req| {
//!     responder.reply(req, req.payload() * 2).map(|_| ())
//! })?;
//! assert_eq!(bus.request("math.double", 21).await?, 42);
//! let err = bus.request("math.halve", 42).await.unwrap_err();
//! assert!(matches!(err, BusError::NoResponders { .. }));
//! # drop(_double); tree.shutdown().await; Ok(()) }
//! ```

use super::event::Event;
use super::subject::Subject;
use parking_lot::Mutex;
use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering::Relaxed};
use tokio::sync::oneshot;

/// The prefix of reply subjects.
pub(crate) const INBOX_PREFIX: &str = "_INBOX.";

/// Requests waiting for their reply, by inbox number.
pub(crate) struct Inbox<T> {
    next: AtomicU64,
    waiting: Mutex<HashMap<u64, oneshot::Sender<Event<T>>>>,
}

impl<T> Default for Inbox<T> {
    fn default() -> Self {
        Inbox {
            next: AtomicU64::new(1),
            waiting: Mutex::new(HashMap::new()),
        }
    }
}

/// One open inbox; closing it (dropping) forgets the request.
pub(crate) struct Ticket<'a, T> {
    inbox: &'a Inbox<T>,
    id: u64,
    pub reply: oneshot::Receiver<Event<T>>,
}

impl<T> Drop for Ticket<'_, T> {
    fn drop(&mut self) {
        self.inbox.waiting.lock().remove(&self.id);
    }
}

impl<T> Inbox<T> {
    /// Opens an inbox: its subject and the ticket to wait on.
    pub fn open(&self) -> (Subject, Ticket<'_, T>) {
        let id = self.next.fetch_add(1, Relaxed);
        let (tx, rx) = oneshot::channel();
        self.waiting.lock().insert(id, tx);
        let subject = Subject::trusted(format!("{INBOX_PREFIX}{id}"));
        (
            subject,
            Ticket {
                inbox: self,
                id,
                reply: rx,
            },
        )
    }

    /// Hands `event` to the requester waiting on its subject; false if none
    /// is (any more).
    pub fn deliver(&self, event: Event<T>) -> bool {
        let Some(id) = event
            .subject()
            .as_str()
            .strip_prefix(INBOX_PREFIX)
            .and_then(|n| n.parse::<u64>().ok())
        else {
            return false;
        };
        let Some(tx) = self.waiting.lock().remove(&id) else {
            return false;
        };
        tx.send(event).is_ok()
    }
}

/// Whether `subject` is a reply subject.
pub(crate) fn is_inbox(subject: &Subject) -> bool {
    subject.as_str().starts_with(INBOX_PREFIX)
}
