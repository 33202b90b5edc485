//! [`Bridge`], the handle of a NATS bridge, and how one is made.

use super::codec::{Codec, Json};
use super::config::NatsConfig;
use super::engine::BridgeEngine;
use super::error::NatsError;
use super::fleet::FleetView;
use super::stats::BridgeStats;
use crate::bus::EventBus;
use crate::kit::{self, ConfigError, Shared};
use crate::supervisor::ChildSpec;
use serde::de::DeserializeOwned;
use serde::Serialize;
use std::fmt;
use std::sync::atomic::Ordering::Relaxed;
use std::sync::Arc;

/// A handle to one NATS bridge: the routes between one local
/// [`EventBus`] and NATS, and this process's health for the fleet.
///
/// Cheap to clone; valid across restarts of the bridge's actor. Local code
/// keeps publishing and subscribing on the bus as before: the bridge is
/// just another subscriber and publisher there. The bridge holds a handle
/// of its bus, so the bus stays open (see the bus's closing rule) for as
/// long as the bridge exists.
///
/// ```no_run
/// # #[actix_rt::main] async fn main() -> Result<(), Box<dyn std::error::Error>> {
/// use servitor::bus::{BusConfig, EventBus};
/// use servitor::nats::{Bridge, NatsConfig, Route};
/// use servitor::{Runtime, Supervisor};
///
/// let (bus_spec, bus) = EventBus::<serde_json::Value>::service("events", BusConfig::default())?;
/// let (nats_spec, bridge) = Bridge::service("nats", NatsConfig::new("nats://127.0.0.1:4222")
///     .app("shop")
///     .route(Route::new("orders.>")), &bus)?;
/// let app = Runtime::start(Supervisor::builder("app").child(bus_spec).child(nats_spec).build()?).await?;
/// bus.publish("orders.created", serde_json::json!({ "id": 7 })).await?; // here and in every other process
/// bridge.flush().await?;
/// println!("{:?}", bridge.fleet().snapshot());
/// app.shutdown().await?;
/// # Ok(()) }
/// ```
pub struct Bridge<T: Clone + Send + Sync + 'static> {
    shared: Shared<BridgeEngine<T>>,
}

impl<T> Bridge<T>
where
    T: Clone + Send + Sync + Serialize + DeserializeOwned + 'static,
{
    /// A bridge named `name` between `bus` and NATS, with JSON payloads:
    /// the child spec that runs it under a supervisor, and its handle.
    ///
    /// Put it in the tree after the bus. Fails if the name or a setting of
    /// `config` is invalid (the error names it).
    pub fn service(
        name: impl Into<String>,
        config: NatsConfig,
        bus: &EventBus<T>,
    ) -> Result<(ChildSpec, Bridge<T>), ConfigError> {
        Bridge::builder(name, bus)
            .config(config)
            .codec(Json)
            .build()
    }
}

impl<T: Clone + Send + Sync + 'static> Bridge<T> {
    /// Starts making a bridge with a codec of one's own.
    pub fn builder(name: impl Into<String>, bus: &EventBus<T>) -> BridgeBuilder<T> {
        BridgeBuilder {
            name: name.into(),
            bus: bus.clone(),
            config: NatsConfig::default(),
            codec: None,
        }
    }

    /// The bridge's service name.
    pub fn name(&self) -> &str {
        self.shared.name()
    }

    /// The settings it runs with.
    pub fn config(&self) -> &NatsConfig {
        &self.shared.config
    }

    /// This process's instance name (configured, or `<host>-<pid>`).
    pub fn instance(&self) -> &str {
        &self.shared.instance
    }

    /// Whether it is connected to NATS now.
    pub fn is_connected(&self) -> bool {
        self.shared.link.lock().connected
    }

    /// Whether the service is supervised and started.
    pub fn is_running(&self) -> bool {
        self.shared.is_running()
    }

    /// Whether the service is gone for good.
    pub fn is_stopped(&self) -> bool {
        self.shared.is_stopped()
    }

    /// Resolves once the service is gone for good.
    pub async fn stopped(&self) {
        self.shared.stopped().await
    }

    /// Waits until the bridge is connected and the server has every
    /// inbound route's subscription (or JetStream consumer) and the fleet
    /// watch: from then on, events published anywhere on those routes
    /// reach this process. Fails only once the bridge is gone for good.
    pub async fn ready(&self) -> Result<(), NatsError> {
        loop {
            let engine = self.shared.check()?;
            let woken = engine.readiness.notified();
            if engine.is_ready() {
                return Ok(());
            }
            tokio::select! {
                () = woken => {}
                () = self.shared.stopped() => {}
            }
        }
    }

    /// Its figures.
    pub fn stats(&self) -> BridgeStats {
        self.shared.stats()
    }

    /// The fleet as this process sees it (see [`fleet`](super::fleet)).
    pub fn fleet(&self) -> FleetView {
        self.shared.fleet.clone()
    }

    /// The NATS client while connected: for everything the bridge does not
    /// do itself.
    pub fn client(&self) -> Result<async_nats::Client, NatsError> {
        let engine = self.shared.check()?;
        let client = engine.client.lock().clone();
        client.ok_or_else(|| NatsError::NotConnected {
            service: self.name().to_string(),
            cause: engine
                .link
                .lock()
                .cause
                .clone()
                .unwrap_or_else(|| "not connected yet".into()),
        })
    }

    /// Waits until every event queued for NATS when it was called has been
    /// handed to NATS (core) or confirmed by JetStream, or refused. While
    /// NATS is unreachable it keeps waiting; bound it with
    /// `tokio::time::timeout` where that matters.
    pub async fn flush(&self) -> Result<(), NatsError> {
        let engine = self.shared.check()?;
        let target = engine.counters.queued.load(Relaxed);
        loop {
            let waiting = engine.settled.notified();
            if engine.counters.settled.load(Relaxed) >= target {
                break;
            }
            waiting.await;
        }
        if let Ok(client) = self.client() {
            let _ = client.flush().await;
        }
        Ok(())
    }
}

impl<T: Clone + Send + Sync + 'static> Clone for Bridge<T> {
    fn clone(&self) -> Self {
        Bridge {
            shared: self.shared.clone(),
        }
    }
}

impl<T: Clone + Send + Sync + 'static> fmt::Debug for Bridge<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Bridge")
            .field("name", &self.name())
            .field("app", &self.shared.config.app)
            .field("instance", &self.shared.instance)
            .field("connected", &self.is_connected())
            .finish()
    }
}

/// Makes a [`Bridge`] with a codec of one's own: from
/// [`Bridge::builder`].
///
/// ```
/// use servitor::bus::{BusConfig, EventBus};
/// use servitor::nats::{Bridge, Json, NatsConfig};
///
/// let (_bus_spec, bus) = EventBus::<u64>::service("events", BusConfig::default())?;
/// let (_spec, bridge) = Bridge::builder("nats", &bus)
///     .config(NatsConfig::default().app("metrics"))
///     .codec(Json)
///     .build()?;
/// assert_eq!(bridge.config().app, "metrics");
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[must_use = "a builder does nothing until `build` is called"]
pub struct BridgeBuilder<T: Clone + Send + Sync + 'static> {
    name: String,
    bus: EventBus<T>,
    config: NatsConfig,
    codec: Option<Arc<dyn Codec<T>>>,
}

impl<T: Clone + Send + Sync + 'static> fmt::Debug for BridgeBuilder<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("BridgeBuilder")
            .field("name", &self.name)
            .field("config", &self.config)
            .finish_non_exhaustive()
    }
}

impl<T: Clone + Send + Sync + 'static> BridgeBuilder<T> {
    /// Its settings (default: [`NatsConfig::default`]).
    pub fn config(mut self, config: NatsConfig) -> Self {
        self.config = config;
        self
    }

    /// Its payload codec, such as [`Json`] (required: [`Bridge::service`]
    /// is the shortcut for JSON).
    pub fn codec(mut self, codec: impl Codec<T>) -> Self {
        self.codec = Some(Arc::new(codec));
        self
    }

    /// Checks the name and settings and makes the child spec and handle.
    /// The bridge's local subscriptions exist from here on: events
    /// published to a bridged topic before it connects wait in its queue.
    pub fn build(self) -> Result<(ChildSpec, Bridge<T>), ConfigError> {
        let BridgeBuilder {
            name,
            bus,
            config,
            codec,
        } = self;
        let Some(codec) = codec else {
            return Err(ConfigError::field(name, "codec", "must be given"));
        };
        let (spec, shared) = kit::service(name, |name| {
            config.validate(name)?;
            Ok(BridgeEngine::new(config, bus, codec))
        })?;
        super::outbound::subscribe(&shared)
            .map_err(|e| ConfigError::field(shared.name(), "routes", e.to_string()))?;
        Ok((spec, Bridge { shared }))
    }
}
