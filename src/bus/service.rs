//! The bus actor: lifecycle and health, not the data path.
//!
//! [`BusService`] is the supervised part of a bus. Its start hook opens the
//! bus for publishing; its stop hook closes it (publishes fail with
//! [`BusError::Stopped`](super::BusError::Stopped)) and gives async handlers
//! up to [`drain_timeout`](super::BusConfig::drain_timeout) to finish what is
//! queued for them. Every [`health_interval`](super::BusConfig::health_interval)
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

use super::router::Core;
use super::stats::SubscriberStats;
use crate::exit::BoxError;
use crate::health::Details;
use crate::service::{Service, ServiceContext};
use crate::status::Status;
use actix::fut::{ready, wrap_future, ActorFutureExt};
use actix::{Actor, AsyncContext, Context, ResponseActFuture};
use serde_json::json;
use std::sync::Arc;
use std::time::Duration;

/// At most this many subscribers are listed per trouble in health details.
const LISTED: usize = 50;

/// The supervised actor of an event bus (made by
/// [`EventBus::service`](super::EventBus::service)). Its handle through the
/// runtime is `ServiceRef<BusService<T>>`; the [`EventBus`](super::EventBus)
/// handle is what publishes and subscribes.
pub struct BusService<T> {
    core: Arc<Core<T>>,
    cx: Option<ServiceContext>,
}

impl<T: Clone + Send + Sync + 'static> BusService<T> {
    pub(crate) fn new(core: Arc<Core<T>>) -> Self {
        BusService { core, cx: None }
    }

    /// Reports health now when the data path asks for it.
    fn listen(&self, ctx: &mut Context<Self>) {
        let core = self.core.clone();
        ctx.spawn(
            wrap_future::<_, Self>(async move { core.health_poke.notified().await }).map(
                |(), act, ctx| {
                    act.report();
                    act.listen(ctx);
                },
            ),
        );
    }

    fn report(&self) {
        let Some(cx) = &self.cx else { return };
        let (status, message, details) = assess(&self.core);
        cx.set_details(details);
        match message {
            Some(m) => cx.set_status_with(status, m),
            None => cx.set_status(status),
        }
    }
}

/// The bus's health from its stats and the counts at the last report.
fn assess<T>(core: &Core<T>) -> (Status, Option<String>, Details) {
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
    let mut details = Details::new();
    let mut put = |k: &str, v: serde_json::Value| {
        details.insert(k.to_string(), v);
    };
    put("subscriptions", json!(stats.subscribers.len()));
    put("published", json!(stats.published));
    put("dead_letters", json!(stats.dead_letters));
    put("queued", json!(stats.queued()));
    put(
        "max_queue_depth",
        json!(stats
            .subscribers
            .iter()
            .map(|s| s.queued)
            .max()
            .unwrap_or(0)),
    );
    put("dropped", json!(stats.dropped()));
    put(
        "handler_failures",
        json!(stats
            .subscribers
            .iter()
            .map(|s| s.failed + s.panicked)
            .sum::<u64>()),
    );
    let list = |v: &[&SubscriberStats]| json!(v.iter().take(LISTED).collect::<Vec<_>>());
    put("lagging", list(&lagging));
    put("dropping", list(&dropping));
    put("failing", list(&failing));
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
        (Status::Ok, None, details)
    } else {
        let message = format!("subscribers: {}", trouble.join(", "));
        (Status::Degraded, Some(message), details)
    }
}

impl<T: Clone + Send + Sync + 'static> Actor for BusService<T> {
    type Context = Context<Self>;
}

impl<T: Clone + Send + Sync + 'static> Service for BusService<T> {
    fn start(
        &mut self,
        cx: &ServiceContext,
        ctx: &mut Context<Self>,
    ) -> ResponseActFuture<Self, Result<(), BoxError>> {
        self.cx = Some(cx.clone());
        self.core.start();
        self.listen(ctx);
        Box::pin(ready(Ok(())))
    }

    fn stop(
        &mut self,
        _cx: &ServiceContext,
        _ctx: &mut Context<Self>,
    ) -> ResponseActFuture<Self, ()> {
        self.core.stop();
        let core = self.core.clone();
        let bound = core.config.drain_timeout;
        Box::pin(wrap_future(async move {
            let _ = tokio::time::timeout(bound, core.drain(true)).await;
        }))
    }

    fn health_check(&mut self, _cx: &ServiceContext, _ctx: &mut Context<Self>) -> Option<Status> {
        self.core.clear_poke();
        self.report();
        None
    }

    fn health_interval(&self) -> Duration {
        self.core.config.health_interval
    }
}

impl<T> Drop for BusService<T> {
    fn drop(&mut self) {
        // Killed while being stopped (the stop hook may not have run): the
        // bus is stopped all the same. A crash leaves it open — see the
        // module docs of `bus` on restarts.
        if let Some(cx) = &self.cx {
            if !cx.is_running() {
                self.core.stop();
            }
        }
    }
}
