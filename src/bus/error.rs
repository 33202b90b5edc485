//! The bus's errors: one enum for what an operation on the bus can fail
//! with, and the two ways a receive ends.

use super::subject::{Subject, SubjectProblem};
use std::time::Duration;

/// Why an operation on the event bus failed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum BusError {
    /// A subject to publish to is malformed, or is a wildcard.
    #[error("invalid subject `{subject}`: {problem}")]
    InvalidSubject {
        /// The subject as given.
        subject: String,
        /// What is wrong with it.
        problem: SubjectProblem,
    },
    /// A subscription pattern is malformed.
    #[error("invalid pattern `{pattern}`: {problem}")]
    InvalidPattern {
        /// The pattern as given.
        pattern: String,
        /// What is wrong with it.
        problem: SubjectProblem,
    },
    /// A queue group name is not a single plain token.
    #[error("invalid queue group `{group}`: {problem}")]
    InvalidGroup {
        /// The name as given.
        group: String,
        /// What is wrong with it.
        problem: &'static str,
    },
    /// A setting of one subscription is out of range.
    #[error(transparent)]
    InvalidConfig(#[from] crate::kit::ConfigError),
    /// The bus is not running: it has not been started yet, its supervisor
    /// stopped it, or it is gone for good. (A crash does not stop it; see
    /// the [module docs](super#restarts).)
    ///
    /// An event refused with `Stopped` reached no subscriber: publishing it
    /// again delivers it once.
    #[error("event bus `{service}` is not running")]
    Stopped {
        /// The bus's service name.
        service: String,
    },
    /// The bus stopped while the publish waited for room in a full queue
    /// (block policy), after the event had reached some subscribers:
    /// `delivered` says which ones it reached; the ones waited on did not
    /// get it. Publishing it again would deliver it twice to those reached.
    #[error("event bus `{service}` stopped while delivering (the event reached {} subscribers)", delivered.reached)]
    StoppedWhileDelivering {
        /// The bus's service name.
        service: String,
        /// What the event reached before the bus stopped.
        delivered: super::Published,
    },
    /// An async handler was subscribed outside a tokio runtime, so there is
    /// nowhere to run it.
    #[error("async handlers must be subscribed from within a tokio runtime")]
    NoRuntime,
    /// A request reached no subscriber, so no reply can come.
    #[error("no subscriber for request to `{subject}`")]
    NoResponders {
        /// The request's subject.
        subject: Subject,
    },
    /// No reply came within the timeout.
    #[error("no reply to request on `{subject}` within {after:?}")]
    TimedOut {
        /// The request's subject.
        subject: Subject,
        /// The timeout that passed.
        after: Duration,
    },
    /// [`reply`](super::EventBus::reply) was given an event that is not a
    /// request.
    #[error("the event on `{subject}` is not a request: it has no reply subject")]
    NotARequest {
        /// The event's subject.
        subject: Subject,
    },
}

impl BusError {
    pub(crate) fn invalid_subject(subject: &str, problem: SubjectProblem) -> BusError {
        BusError::InvalidSubject {
            subject: subject.to_string(),
            problem,
        }
    }
}

/// Why [`Subscription::recv`](super::Subscription::recv) returned no event.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum RecvError {
    /// The subscription's queue overflowed under the
    /// [`DropOldest`](super::Overflow::DropOldest) policy: exactly `missed`
    /// events were dropped since the last receive. The next receives return
    /// the newest events, which were kept.
    #[error("subscriber lagged: {missed} events dropped")]
    Lagged {
        /// How many events were dropped.
        missed: u64,
    },
    /// Nothing more will come: every [`EventBus`](super::EventBus) handle is
    /// gone (or the subscription was cancelled) and the queue is empty.
    #[error("the bus is closed and the queue is empty")]
    Closed,
}

/// Why [`Subscription::try_recv`](super::Subscription::try_recv) returned
/// no event.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum TryRecvError {
    /// No event is queued now.
    #[error("no event queued")]
    Empty,
    /// See [`RecvError::Lagged`].
    #[error("subscriber lagged: {missed} events dropped")]
    Lagged {
        /// How many events were dropped.
        missed: u64,
    },
    /// See [`RecvError::Closed`].
    #[error("the bus is closed and the queue is empty")]
    Closed,
}
