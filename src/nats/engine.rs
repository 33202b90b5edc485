//! The bridge's engine: the state shared by its handle, its local
//! subscriptions and every incarnation of its actor — the connection, the
//! queue for NATS, the counters — and the lifecycle that connects, runs the
//! pumps and reconnects.

use super::codec::Codec;
use super::config::NatsConfig;
use super::fleet::FleetView;
use super::outbound::Outbound;
use super::stats::{BridgeStats, Counters};
use super::{health, inbound, outbound};
use crate::bus::{EventBus, HandlerSubscription};
use crate::exit::BoxError;
use crate::kit::{Engine, Health, Phase, Pulse, Shared, WeakShared};
use crate::service::ServiceContext;
use crate::status::Status;
use async_nats::{Client, ConnectOptions, Event as NatsEvent, ServerAddr};
use futures_util::future::{select_all, LocalBoxFuture};
use futures_util::FutureExt;
use parking_lot::Mutex;
use std::collections::BTreeMap;
use std::sync::atomic::Ordering::Relaxed;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::{mpsc, Notify};

/// Where the connection stands, for health.
#[derive(Debug, Default)]
pub(crate) struct Link {
    pub connected: bool,
    /// Why it is not connected (credentials removed).
    pub cause: Option<String>,
    /// Failed attempts in a row.
    pub attempts: u32,
    /// Why the JetStream stream cannot be used, if it cannot.
    pub stream: Option<String>,
}

/// The state of one NATS bridge.
pub(crate) struct BridgeEngine<T: Clone + Send + Sync + 'static> {
    pub(crate) config: NatsConfig,
    pub(crate) instance: String,
    /// `<app>.<instance>`: the origin header's value.
    pub(crate) origin: String,
    pub(crate) bus: EventBus<T>,
    pub(crate) codec: Arc<dyn Codec<T>>,
    pub(crate) client: Mutex<Option<Client>>,
    pub(crate) link: Mutex<Link>,
    pub(crate) counters: Arc<Counters>,
    pub(crate) queue_tx: mpsc::Sender<Outbound<T>>,
    pub(crate) queue_rx: tokio::sync::Mutex<mpsc::Receiver<Outbound<T>>>,
    /// JetStream publishes sent and not confirmed, by sequence number: a
    /// new incarnation sends them again.
    pub(crate) unconfirmed: Mutex<BTreeMap<u64, Outbound<T>>>,
    /// Woken whenever an event is settled (forwarded or confirmed).
    pub(crate) settled: Notify,
    pub(crate) subscriptions: Mutex<Vec<HandlerSubscription>>,
    pub(crate) fleet: FleetView,
    pub(crate) pulse: Pulse,
    /// What every message carries: the origin, the content type.
    pub(crate) headers: async_nats::HeaderMap,
    /// Per route (and one more for the fleet watch): its NATS subscription
    /// or consumer is in place.
    pub(crate) subscribed: Vec<std::sync::atomic::AtomicBool>,
    /// Woken when the connection or a subscription comes up.
    pub(crate) readiness: Notify,
}

impl<T: Clone + Send + Sync + 'static> BridgeEngine<T> {
    pub(crate) fn new(
        config: NatsConfig,
        bus: EventBus<T>,
        codec: Arc<dyn Codec<T>>,
    ) -> BridgeEngine<T> {
        let instance = config.instance_name();
        let (queue_tx, queue_rx) = mpsc::channel(config.queue_capacity);
        let subscribed = (0..=config.routes.len())
            .map(|_| std::sync::atomic::AtomicBool::new(false))
            .collect();
        let fleet = FleetView::new(servitor_health::fleet::FleetConfig {
            stale_after: config.health.stale_after,
            forget_after_ms: config.health.forget_after.as_millis() as u64,
        });
        let origin = format!("{}.{}", config.app, instance);
        BridgeEngine {
            headers: super::outbound::make_headers(&origin, codec.content_type()),
            origin,
            instance,
            config,
            bus,
            codec,
            client: Mutex::new(None),
            link: Mutex::new(Link::default()),
            counters: Arc::new(Counters::default()),
            queue_tx,
            queue_rx: tokio::sync::Mutex::new(queue_rx),
            unconfirmed: Mutex::new(BTreeMap::new()),
            settled: Notify::new(),
            subscriptions: Mutex::new(Vec::new()),
            fleet,
            pulse: Pulse::new(),
            subscribed,
            readiness: Notify::new(),
        }
    }

    /// Marks slot `index` (a route, or the fleet watch after the routes)
    /// as subscribed on the server.
    pub(crate) fn mark_subscribed(&self, index: usize) {
        self.subscribed[index].store(true, Relaxed);
        self.readiness.notify_waiters();
    }

    /// Connected, and every inbound route and the fleet watch subscribed.
    pub(crate) fn is_ready(&self) -> bool {
        let routes = &self.config.routes;
        self.link.lock().connected
            && routes
                .iter()
                .enumerate()
                .all(|(i, r)| !r.comes_in() || self.subscribed[i].load(Relaxed))
            && (!self.config.health.watch_fleet || self.subscribed[routes.len()].load(Relaxed))
    }

    pub(crate) fn stats(&self) -> BridgeStats {
        self.counters.stats(self.link.lock().connected)
    }

    /// The NATS subject of local `subject`.
    pub(crate) fn nats_subject(&self, subject: &str) -> String {
        match &self.config.subject_prefix {
            Some(prefix) => format!("{prefix}.{subject}"),
            None => subject.to_string(),
        }
    }

    /// The local subject of NATS `subject`; `None` if it lies outside the
    /// prefix.
    pub(crate) fn local_subject<'s>(&self, subject: &'s str) -> Option<&'s str> {
        match &self.config.subject_prefix {
            Some(prefix) => subject.strip_prefix(prefix.as_str())?.strip_prefix('.'),
            None => Some(subject),
        }
    }

    /// Credentials never reach a log line or a health message.
    pub(crate) fn scrub(&self, text: &str) -> String {
        let mut text = self.config.url.scrub(text);
        for server in self.config.url.expose().split(',') {
            if let Some((userinfo, _)) = server
                .split_once("://")
                .map_or(server, |(_, rest)| rest)
                .split_once('@')
            {
                text = text.replace(userinfo, crate::kit::REDACTED);
            }
        }
        text
    }

    pub(crate) fn settle(&self, n: u64) {
        self.counters.settled.fetch_add(n, Relaxed);
        self.settled.notify_waiters();
    }

    pub(crate) fn stream_problem(&self, problem: Option<String>) {
        let changed = {
            let mut link = self.link.lock();
            let changed = link.stream != problem;
            link.stream = problem;
            changed
        };
        if changed {
            self.pulse.beat();
        }
    }

    fn mark_up(&self) {
        let mut link = self.link.lock();
        let was = std::mem::replace(&mut link.connected, true);
        link.cause = None;
        link.attempts = 0;
        drop(link);
        if !was {
            Counters::bump(&self.counters.connections);
        }
        self.pulse.beat();
        self.readiness.notify_waiters();
    }

    fn mark_down(&self, cause: String) {
        let mut link = self.link.lock();
        link.connected = false;
        link.cause = Some(cause);
        drop(link);
        self.pulse.beat();
    }

    async fn connect(shared: &Shared<Self>) -> Result<Client, String> {
        let servers: Vec<ServerAddr> = shared
            .config
            .url
            .expose()
            .split(',')
            .filter_map(|s| s.trim().parse().ok())
            .collect();
        let backoff = shared.config.reconnect;
        let events = shared.downgrade();
        let options = ConnectOptions::new()
            .name(format!("servitor {}", shared.origin))
            // Own messages never come back from the server, so a queue
            // group's event always goes to another process's member.
            .no_echo()
            .connection_timeout(shared.config.connect_timeout)
            .request_timeout(Some(shared.config.request_timeout))
            .max_reconnects(None)
            .reconnect_delay_callback(move |attempts| {
                backoff.delay(attempts.saturating_sub(1).min(u32::MAX as usize) as u32)
            })
            .event_callback(move |event| {
                let events = events.clone();
                async move { on_event(&events, event) }
            });
        options
            .connect(servers)
            .await
            .map_err(|e| shared.scrub(&e.to_string()))
    }

    /// One incarnation's life: reach NATS (retrying on the backoff), then
    /// run every pump until one fails.
    async fn live(shared: Shared<Self>, cx: ServiceContext) -> Result<(), BoxError> {
        let client = loop {
            match Self::connect(&shared).await {
                Ok(client) => break client,
                Err(cause) => {
                    let attempt = {
                        let mut link = shared.link.lock();
                        link.attempts += 1;
                        link.attempts
                    };
                    let delay = shared.config.reconnect.delay(attempt - 1);
                    tracing::warn!(service = %shared.name(), %cause, attempt, retry_in_ms = delay.as_millis() as u64, "cannot reach NATS");
                    shared.mark_down(cause);
                    tokio::time::sleep(delay).await;
                }
            }
        };
        tracing::info!(service = %shared.name(), instance = %shared.instance, "connected to NATS");
        *shared.client.lock() = Some(client.clone());
        shared.mark_up();
        let mut pumps: Vec<LocalBoxFuture<'static, Result<(), BoxError>>> = vec![
            outbound::pump(shared.clone(), client.clone()).boxed_local(),
            std::future::pending().boxed_local(),
        ];
        for (index, route) in shared.config.routes.iter().enumerate() {
            if route.comes_in() {
                pumps.push(inbound::pump(shared.clone(), client.clone(), index).boxed_local());
            }
        }
        if shared.config.health.publish {
            pumps.push(
                health::publish(shared.clone(), client.clone(), cx.registry().clone())
                    .boxed_local(),
            );
        }
        if shared.config.health.watch_fleet {
            pumps.push(health::watch_fleet(shared.clone(), client.clone()).boxed_local());
        }
        // Each pump is a task of its own on the arbiter, woken alone, rather
        // than a branch of the actor's future, which wakes them all; they
        // end with the incarnation.
        let tasks: Vec<Pump> = pumps
            .into_iter()
            .map(|p| Pump(actix_rt::spawn(p)))
            .collect();
        let (result, _, _) = select_all(tasks).await;
        result
    }
}

/// A pump's task, aborted when dropped (when the incarnation ends).
struct Pump(tokio::task::JoinHandle<Result<(), BoxError>>);

impl Drop for Pump {
    fn drop(&mut self) {
        self.0.abort();
    }
}

impl std::future::Future for Pump {
    type Output = Result<(), BoxError>;

    fn poll(
        mut self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<Self::Output> {
        std::pin::Pin::new(&mut self.0)
            .poll(cx)
            .map(|joined| match joined {
                Ok(result) => result,
                Err(e) if e.is_panic() => Err(format!(
                    "a NATS pump panicked: {}",
                    crate::kit::Panic::from_payload(&*e.into_panic()).into_message()
                )
                .into()),
                Err(_) => Err("a NATS pump was cancelled".into()),
            })
    }
}

/// Waits until the server has processed everything this connection sent
/// before (a subscription, say): a request nobody answers, which the server
/// itself answers with "no responders" once it got there. (The client's
/// `flush` only empties its socket buffer.)
pub(crate) async fn round_trip(client: &Client) -> Result<(), BoxError> {
    let subject = format!("_SERVITOR.sync.{}", client.new_inbox().replace('.', "-"));
    match client.request(subject, bytes::Bytes::new()).await {
        Ok(_) => Ok(()),
        Err(e) if e.kind() == async_nats::RequestErrorKind::NoResponders => Ok(()),
        Err(e) => Err(e.into()),
    }
}

fn on_event<T: Clone + Send + Sync + 'static>(
    engine: &WeakShared<BridgeEngine<T>>,
    event: NatsEvent,
) {
    let Some(shared) = engine.upgrade() else {
        return;
    };
    match event {
        NatsEvent::Connected => {
            tracing::info!(service = %shared.name(), "reconnected to NATS");
            shared.mark_up();
        }
        NatsEvent::Disconnected => {
            tracing::warn!(service = %shared.name(), "disconnected from NATS; reconnecting");
            shared.mark_down("disconnected from NATS; reconnecting".into());
        }
        other => {
            tracing::debug!(service = %shared.name(), event = %shared.scrub(&other.to_string()), "NATS event")
        }
    }
}

impl<T: Clone + Send + Sync + 'static> Engine for BridgeEngine<T> {
    fn health_interval(&self) -> Duration {
        self.config.health_interval
    }

    fn health(&self) -> Health {
        let stats = self.stats();
        let link = self.link.lock();
        let health = if let (true, Some(problem)) = (link.connected, &link.stream) {
            Health::new(Status::Error).message(format!(
                "JetStream stream `{}` not available: {problem}",
                self.config.stream_name()
            ))
        } else if link.connected {
            let nearly_full = stats.pending >= (self.config.queue_capacity as u64 * 4) / 5;
            if nearly_full {
                Health::new(Status::Degraded).message(format!(
                    "{} events waiting for NATS (capacity {})",
                    stats.pending, self.config.queue_capacity
                ))
            } else {
                Health::ok()
            }
        } else if let Some(cause) = &link.cause {
            Health::new(Status::Error).message(format!(
                "NATS unreachable: {cause} (attempt {})",
                link.attempts.max(1)
            ))
        } else {
            Health::new(Status::Starting).message("connecting to NATS")
        };
        health
            .stats(&stats)
            .detail("app", &self.config.app)
            .detail("instance", &self.instance)
            .detail("routes", self.config.routes.len())
    }

    fn pulse(&self) -> Option<&Pulse> {
        Some(&self.pulse)
    }

    fn initial_status(&self) -> Status {
        Status::Starting
    }

    fn run(
        shared: Shared<Self>,
        cx: ServiceContext,
    ) -> impl std::future::Future<Output = Result<(), BoxError>> + 'static {
        Self::live(shared, cx)
    }

    async fn drain(shared: Shared<Self>) {
        let Some(client) = shared.client.lock().take() else {
            return;
        };
        // Say goodbye, then close: bounded, so an unreachable server cannot
        // hold up a shutdown.
        let _ = tokio::time::timeout(Duration::from_secs(1), async {
            if shared.config.health.publish {
                health::goodbye(&shared, &client).await;
            }
            let _ = client.flush().await;
        })
        .await;
        shared.link.lock().connected = false;
    }

    fn phase_changed(&self, _from: Phase, to: Phase) {
        if to == Phase::Closed {
            self.subscriptions.lock().clear();
            self.client.lock().take();
        }
    }
}
