//! What a subscriber receives: an [`Event`] is a payload with the subject it
//! was published to, and — for requests and dead letters — a little more.
//!
//! Every subscriber gets its own clone of the payload. That is why a bus's
//! payload type must be `Clone`: make it an `Arc<...>` (or any cheaply
//! clonable type) when payloads are large, and a delivery costs a reference
//! count instead of a copy.

use super::subject::Subject;
use serde::Serialize;
use std::fmt;
use std::sync::Arc;

/// Identifies one subscription on one bus (unique for the bus's lifetime).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(transparent)]
pub struct SubscriptionId(pub(crate) u64);

impl SubscriptionId {
    /// The number behind the id.
    pub fn get(self) -> u64 {
        self.0
    }
}

impl fmt::Display for SubscriptionId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "#{}", self.0)
    }
}

/// One published event as a subscriber sees it.
///
/// ```
/// use servitor::bus::{Event, Subject};
///
/// let event = Event::new(Subject::new("orders.created").unwrap(), 42u32);
/// assert_eq!(event.subject(), "orders.created");
/// assert_eq!(*event.payload(), 42);
/// assert!(event.reply_to().is_none() && event.dead_letter().is_none());
/// ```
pub struct Event<T> {
    subject: Subject,
    payload: T,
    meta: Option<Arc<Meta>>,
}

/// The rarely used parts of an event, kept behind one pointer so that a
/// plain event stays small.
#[derive(Debug)]
pub(crate) struct Meta {
    pub reply_to: Option<Subject>,
    pub dead_letter: Option<DeadLetter>,
}

impl<T> Event<T> {
    /// An event on `subject` (as a subscriber would receive it).
    pub fn new(subject: Subject, payload: T) -> Self {
        Event {
            subject,
            payload,
            meta: None,
        }
    }

    pub(crate) fn with_meta(subject: Subject, payload: T, meta: Meta) -> Self {
        Event {
            subject,
            payload,
            meta: Some(Arc::new(meta)),
        }
    }

    /// The subject it was published to (for a dead letter: the dead-letter
    /// subject; see [`dead_letter`](Self::dead_letter) for the original).
    pub fn subject(&self) -> &Subject {
        &self.subject
    }

    /// The payload.
    pub fn payload(&self) -> &T {
        &self.payload
    }

    /// The payload, by value.
    pub fn into_payload(self) -> T {
        self.payload
    }

    /// For a request: where the reply goes (answer with
    /// [`EventBus::reply`](super::EventBus::reply)).
    pub fn reply_to(&self) -> Option<&Subject> {
        self.meta.as_ref()?.reply_to.as_ref()
    }

    /// For an event on the dead-letter topic: why it is there and where it
    /// was first published.
    pub fn dead_letter(&self) -> Option<&DeadLetter> {
        self.meta.as_ref()?.dead_letter.as_ref()
    }

    pub(crate) fn is_dead_letter(&self) -> bool {
        self.dead_letter().is_some()
    }
}

impl<T: Clone> Clone for Event<T> {
    fn clone(&self) -> Self {
        Event {
            subject: self.subject.clone(),
            payload: self.payload.clone(),
            meta: self.meta.clone(),
        }
    }
}

impl<T: fmt::Debug> fmt::Debug for Event<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut d = f.debug_struct("Event");
        d.field("subject", &self.subject)
            .field("payload", &self.payload);
        if let Some(to) = self.reply_to() {
            d.field("reply_to", to);
        }
        if let Some(dl) = self.dead_letter() {
            d.field("dead_letter", dl);
        }
        d.finish()
    }
}

/// Why an event went to the dead-letter topic, and where it came from.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[non_exhaustive]
pub struct DeadLetter {
    /// Why the subscriber did not take it.
    pub reason: DeadLetterReason,
    /// The subject it was originally published to.
    pub subject: Subject,
    /// The subscription that did not take it.
    pub subscription: SubscriptionId,
}

/// Why an event was dead-lettered.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
#[non_exhaustive]
pub enum DeadLetterReason {
    /// The subscriber's queue was full and its policy is
    /// [`Overflow::DeadLetter`](super::Overflow::DeadLetter).
    Overflow {
        /// The queue's capacity.
        capacity: usize,
    },
    /// The subscriber's handler returned an error.
    HandlerFailed {
        /// The error, as text.
        error: String,
    },
    /// The subscriber's handler panicked.
    HandlerPanicked {
        /// The panic message.
        message: String,
    },
}

impl fmt::Display for DeadLetterReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            DeadLetterReason::Overflow { capacity } => {
                write!(f, "queue full (capacity {capacity})")
            }
            DeadLetterReason::HandlerFailed { error } => write!(f, "handler failed: {error}"),
            DeadLetterReason::HandlerPanicked { message } => {
                write!(f, "handler panicked: {message}")
            }
        }
    }
}
