//! [`EventBus`], the handle application code publishes and subscribes with.

use super::config::BusConfig;
use super::error::BusError;
use super::event::Event;
use super::router::{BusEngine, Published};
use super::stats::BusStats;
use super::subject::IntoSubject;
use super::subscriber::SubscriberBuilder;
use super::subscription::Subscription;
use crate::kit::{self, ConfigError, Shared};
use crate::supervisor::ChildSpec;
use std::fmt;
use std::sync::atomic::Ordering;
use std::time::Duration;

/// A handle to one event bus whose events carry payloads of type `T`.
///
/// Cheap to clone (one reference count) and usable from any thread or
/// runtime; every operation runs in the caller, none goes through the bus
/// actor's mailbox. It stays valid across restarts of the actor. When the
/// service is gone for good, or the last handle is dropped (so nothing more
/// can be published), subscribers receive what is queued for them and then
/// [`RecvError::Closed`](super::RecvError::Closed).
///
/// ```
/// # #[actix_rt::main] async fn main() -> Result<(), Box<dyn std::error::Error>> {
/// use servitor::bus::{BusConfig, EventBus};
/// use servitor::{Runtime, Supervisor};
///
/// let (spec, bus) = EventBus::<String>::service("events", BusConfig::default())?;
/// let app = Runtime::start(Supervisor::builder("app").child(spec).build()?).await?;
///
/// let mut orders = bus.subscribe("orders.*")?;
/// let published = bus.publish("orders.created", "order 1".to_string()).await?;
/// assert_eq!(published.reached, 1);
/// assert_eq!(orders.recv().await?.payload(), "order 1");
/// # drop(orders);
/// app.shutdown().await?;
/// # Ok(()) }
/// ```
pub struct EventBus<T: Clone + Send + Sync + 'static> {
    core: Shared<BusEngine<T>>,
}

impl<T: Clone + Send + Sync + 'static> EventBus<T> {
    /// A bus named `name`: the child spec that runs it under a supervisor,
    /// and a handle to it. The bus accepts publishes once the spec's service
    /// has started; subscribing works at any time.
    ///
    /// Fails if the name or a setting of `config` is invalid (the error
    /// names it).
    pub fn service(
        name: impl Into<String>,
        config: BusConfig,
    ) -> Result<(ChildSpec, EventBus<T>), ConfigError> {
        let (spec, core) = kit::service(name, |name| {
            config.validate(name)?;
            Ok(BusEngine::new(name, config))
        })?;
        Ok((spec, EventBus::from_core(core)))
    }

    fn from_core(core: Shared<BusEngine<T>>) -> Self {
        core.handles.fetch_add(1, Ordering::Relaxed);
        EventBus { core }
    }

    pub(crate) fn core(&self) -> &Shared<BusEngine<T>> {
        &self.core
    }

    /// The bus's service name.
    pub fn name(&self) -> &str {
        &self.core.name
    }

    /// The settings it runs with.
    pub fn config(&self) -> &BusConfig {
        &self.core.config
    }

    /// Whether it accepts publishes now: the service is supervised and
    /// started (a crash of its actor does not change this).
    pub fn is_running(&self) -> bool {
        self.core.is_running()
    }

    /// True once the service is gone for good: nothing more can be
    /// published, and subscribers get what is queued, then `Closed`.
    pub fn is_stopped(&self) -> bool {
        self.core.is_stopped()
    }

    /// Resolves once the service is gone for good.
    pub async fn stopped(&self) {
        self.core.stopped().await
    }

    /// Publishes `payload` on `subject` to every subscriber whose pattern
    /// matches, and reports how many it reached and what its sync handlers
    /// returned.
    ///
    /// It returns once every matching subscriber has the event: queued,
    /// handled by a sync handler, or dropped by its overflow policy. A full
    /// queue under [`Overflow::Block`](super::Overflow::Block) makes it wait
    /// for room. Subscribers that subscribe after it returns do not get it.
    ///
    /// Fails with `InvalidSubject` for a malformed or wildcard subject, and
    /// with `Stopped` if the bus is not running (also when it is stopped
    /// while this publish waits for room). Cancelling the returned future
    /// while it waits for room leaves the event undelivered to the
    /// subscribers not yet served.
    pub async fn publish(
        &self,
        subject: impl IntoSubject,
        payload: T,
    ) -> Result<Published, BusError> {
        let subject = subject.into_subject()?;
        self.core.publish(Event::new(subject, payload)).await
    }

    /// A stream subscription on `pattern` with the bus's default queue
    /// settings (see [`subscriber`](Self::subscriber) for the others).
    pub fn subscribe(&self, pattern: &str) -> Result<Subscription<T>, BusError> {
        self.subscriber(pattern).stream()
    }

    /// Starts setting up a subscriber on `pattern`: a stream, a sync handler
    /// or an async handler, with its own queue group and queue settings.
    pub fn subscriber(&self, pattern: &str) -> SubscriberBuilder<'_, T> {
        SubscriberBuilder::new(self, pattern)
    }

    /// Sends a request and waits for the first reply, at most the bus's
    /// [`request_timeout`](BusConfig::request_timeout). See
    /// [`request`](super::request).
    pub async fn request(&self, subject: impl IntoSubject, payload: T) -> Result<T, BusError> {
        self.request_timeout(subject, payload, self.core.config.request_timeout)
            .await
    }

    /// Sends a request and waits for the first reply, at most `timeout`.
    pub async fn request_timeout(
        &self,
        subject: impl IntoSubject,
        payload: T,
        timeout: Duration,
    ) -> Result<T, BusError> {
        let subject = subject.into_subject()?;
        self.core.request(subject, payload, timeout).await
    }

    /// Answers `request` with `payload`. Returns whether the requester was
    /// still waiting (false once it timed out or another reply came first).
    /// It never waits, so a sync handler can call it.
    pub fn reply(&self, request: &Event<T>, payload: T) -> Result<bool, BusError> {
        let to = request.reply_to().ok_or_else(|| BusError::NotARequest {
            subject: request.subject().clone(),
        })?;
        Ok(self.core.inbox.deliver(Event::new(to.clone(), payload)))
    }

    /// Waits until every event queued when it was called has been finished
    /// with: received from its stream, handled by its async handler (the
    /// handler returned), or dropped. A stream nobody reads keeps it
    /// waiting; bound it with `tokio::time::timeout` if that can happen.
    pub async fn flush(&self) {
        self.core.drain(false).await
    }

    /// The bus's and every subscriber's counters.
    pub fn stats(&self) -> BusStats {
        self.core.stats()
    }
}

impl<T: Clone + Send + Sync + 'static> Clone for EventBus<T> {
    fn clone(&self) -> Self {
        EventBus::from_core(self.core.clone())
    }
}

impl<T: Clone + Send + Sync + 'static> Drop for EventBus<T> {
    fn drop(&mut self) {
        if self.core.handles.fetch_sub(1, Ordering::AcqRel) == 1 {
            self.core.close();
        }
    }
}

impl<T: Clone + Send + Sync + 'static> fmt::Debug for EventBus<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("EventBus")
            .field("name", &self.core.name)
            .field("running", &self.core.is_running())
            .finish()
    }
}
