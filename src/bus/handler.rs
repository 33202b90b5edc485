//! Handlers, and how a failing one is isolated.
//!
//! A **sync handler** runs on the publisher's task, inside
//! [`publish`](super::EventBus::publish), before it returns; its result is in
//! [`Published::handlers`](super::Published::handlers). It has no queue: it
//! is its own backpressure. Keep it short, and do not block in it.
//!
//! An **async handler** runs on a task of its own, fed by its own queue, one
//! event at a time in publish order; handlers of different subscriptions run
//! concurrently with each other and with the publisher.
//!
//! A handler returns `()` or `Result<(), E>` for any displayable `E`. An
//! error or a panic — the panic is caught with `catch_unwind` around the call
//! (and around the poll of an async handler's future) — ends only that one
//! call: it is counted on the subscriber (`failed`, `panicked`), logged at
//! `warn` with the bus, subject, subscription and pattern, shows in the
//! bus's health, and, if the subscription asks for it, the event goes to the
//! dead-letter topic. The handler stays subscribed and gets the next event;
//! every other subscriber gets every event as if nothing had happened.
//! (Panics are caught only with unwinding; `panic = "abort"` ends the process.)
//!
//! ```
//! # #[actix_rt::main] async fn main() -> Result<(), Box<dyn std::error::Error>> {
//! use servitor::bus::{BusConfig, DeadLetterReason, EventBus, HandlerError};
//! use servitor::testing::TestTree;
//!
//! let (spec, bus) = EventBus::<u32>::service("events", BusConfig::default())?;
//! let tree = TestTree::start(spec).await?;
//! let broken = bus
//!     .subscriber("orders.*")
//!     .dead_letter_failures(true)
//!     .handler(|e| -> () { panic!("cannot parse order {}", e.payload()) })?;
//! let mut fine = bus.subscribe("orders.*")?;
//! let mut dead = bus.subscribe("_dlq.>")?;
//!
//! let published = bus.publish("orders.created", 7).await?;
//! assert_eq!(published.handlers[0].result, Err(HandlerError::Panicked("cannot parse order 7".into())));
//! assert_eq!(*fine.recv().await?.payload(), 7); // the others are unaffected
//! let letter = dead.recv().await?;
//! assert!(matches!(letter.dead_letter().unwrap().reason, DeadLetterReason::HandlerPanicked { .. }));
//! assert_eq!(broken.stats().panicked, 1);
//! # drop((broken, fine, dead)); tree.shutdown().await; Ok(()) }
//! ```

use super::event::{Event, SubscriptionId};
use crate::kit::{catch_call_async, catch_panic};
use std::fmt;
use std::future::Future;

/// What a handler may return: `()` (always succeeds) or `Result<(), E>`
/// with a displayable error.
pub trait IntoHandlerResult {
    /// The result, with the error as text.
    fn into_handler_result(self) -> Result<(), String>;
}

impl IntoHandlerResult for () {
    fn into_handler_result(self) -> Result<(), String> {
        Ok(())
    }
}

impl<E: fmt::Display> IntoHandlerResult for Result<(), E> {
    fn into_handler_result(self) -> Result<(), String> {
        self.map_err(|e| e.to_string())
    }
}

/// How one handler call failed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum HandlerError {
    /// It returned an error (its text).
    #[error("handler failed: {0}")]
    Failed(String),
    /// It panicked (the panic message).
    #[error("handler panicked: {0}")]
    Panicked(String),
}

/// The result of one sync handler for one published event.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HandlerReport {
    /// Whose handler.
    pub subscription: SubscriptionId,
    /// What it returned.
    pub result: Result<(), HandlerError>,
}

/// A sync handler with its result type erased.
pub(crate) type SyncFn<T> = Box<dyn Fn(&Event<T>) -> Result<(), String> + Send + Sync>;

pub(crate) fn erase_sync<T, F, R>(f: F) -> SyncFn<T>
where
    F: Fn(&Event<T>) -> R + Send + Sync + 'static,
    R: IntoHandlerResult,
{
    Box::new(move |ev| f(ev).into_handler_result())
}

/// Calls a sync handler, turning a panic into a [`HandlerError`].
pub(crate) fn call_sync<T>(f: &SyncFn<T>, event: &Event<T>) -> Result<(), HandlerError> {
    match catch_panic(|| f(event)) {
        Ok(Ok(())) => Ok(()),
        Ok(Err(e)) => Err(HandlerError::Failed(e)),
        Err(panic) => Err(HandlerError::Panicked(panic.into_message())),
    }
}

/// Calls an async handler and awaits it, turning a panic (in the call or
/// in any poll of its future) into a [`HandlerError`].
pub(crate) async fn call_async<T, F, Fut>(f: &F, event: Event<T>) -> Result<(), HandlerError>
where
    F: Fn(Event<T>) -> Fut,
    Fut: Future,
    Fut::Output: IntoHandlerResult,
{
    match catch_call_async(|| f(event)).await {
        Ok(out) => out.into_handler_result().map_err(HandlerError::Failed),
        Err(panic) => Err(HandlerError::Panicked(panic.into_message())),
    }
}
