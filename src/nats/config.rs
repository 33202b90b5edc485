//! The bridge's settings, with their defaults; serde-deserializable so a
//! bridge can come from a configuration file (durations as `"5s"` or whole
//! milliseconds).

use crate::bus::{Pattern, Subject};
use crate::kit::{Backoff, ConfigError, Secret};
use serde::{Deserialize, Serialize};
use std::time::Duration;

/// Settings of one NATS bridge. Every field has a documented default, so a
/// configuration file only names what it changes; unknown fields are
/// refused.
///
/// ```
/// use servitor::nats::{Delivery, Direction, NatsConfig, Route};
///
/// let config: NatsConfig = serde_json::from_str(r#"{
///     "url": "nats://127.0.0.1:4222",
///     "app": "shop",
///     "routes": [
///         { "pattern": "orders.>" },
///         { "pattern": "jobs.*", "queue_group": "workers", "direction": "in" },
///         { "pattern": "payments.>", "delivery": "jetstream" }
///     ]
/// }"#).unwrap();
/// assert_eq!(config.routes[1].direction, Direction::In);
/// assert_eq!(config.routes[2].delivery, Delivery::JetStream);
/// config.validate("nats").unwrap();
/// assert_eq!(format!("{:?}", config.url), "[redacted]"); // the URL may carry credentials
/// ```
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct NatsConfig {
    /// The server(s), comma-separated: `nats://host:4222`, with
    /// `user:password@` or a `token@` if the server wants them. A
    /// [`Secret`]: never printed. Default `nats://127.0.0.1:4222`.
    pub url: Secret,
    /// The application: processes of one application form one fleet and
    /// share one JetStream stream. One subject token. Default `servitor`.
    pub app: String,
    /// This process within the application: the origin tag on everything it
    /// publishes, and the name of its durable JetStream consumers. One
    /// subject token, unique per process. Default: `<host>-<pid>`; set it
    /// when fan-out JetStream routes must resume after the process restarts.
    pub instance: Option<String>,
    /// A subject prefix on the NATS side: local `orders.created` is
    /// `<prefix>.orders.created` on NATS. Default none (the same subject).
    pub subject_prefix: Option<String>,
    /// Which local topics cross to NATS and back. Default none.
    pub routes: Vec<Route>,
    /// How long a request crossing NATS waits for its reply. Default 5 s.
    #[serde(with = "crate::serde_duration")]
    pub request_timeout: Duration,
    /// How long one connection attempt may take. Default 2 s.
    #[serde(with = "crate::serde_duration")]
    pub connect_timeout: Duration,
    /// Delays between attempts to reach NATS, at start and after the
    /// connection is lost. Default 100 ms doubling up to 5 s, 20 % jitter.
    pub reconnect: Backoff,
    /// Events queued for NATS (waiting for a connection or a JetStream
    /// confirmation) at most; beyond it a local publish to a bridged topic
    /// reports the bridge's handler failed. Default 65 536.
    pub queue_capacity: usize,
    /// JetStream settings, for routes with [`Delivery::JetStream`].
    pub jetstream: JetStreamConfig,
    /// Publishing this process's health for the fleet.
    pub health: HealthPublishing,
    /// How often the bridge reports its own health. Default 1 s.
    #[serde(with = "crate::serde_duration")]
    pub health_interval: Duration,
}

impl Default for NatsConfig {
    fn default() -> Self {
        NatsConfig {
            url: Secret::new("nats://127.0.0.1:4222"),
            app: "servitor".into(),
            instance: None,
            subject_prefix: None,
            routes: Vec::new(),
            request_timeout: Duration::from_secs(5),
            connect_timeout: Duration::from_secs(2),
            reconnect: Backoff::exponential(Duration::from_millis(100), Duration::from_secs(5))
                .jitter(0.2),
            queue_capacity: 65_536,
            jetstream: JetStreamConfig::default(),
            health: HealthPublishing::default(),
            health_interval: Duration::from_secs(1),
        }
    }
}

/// One set of local topics that crosses to NATS.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Route {
    /// The topics, with the bus's wildcards (`orders.>`, `jobs.*`), which
    /// are NATS's too.
    pub pattern: String,
    /// Which way events cross. Default [`Direction::Both`].
    #[serde(default)]
    pub direction: Direction,
    /// For events coming in: this process joins the NATS queue group of
    /// this name, so each event goes to one process of the group. One
    /// token. Default none (every process gets every event).
    #[serde(default)]
    pub queue_group: Option<String>,
    /// Core NATS or JetStream. Default [`Delivery::Core`].
    #[serde(default)]
    pub delivery: Delivery,
}

impl Route {
    /// Both ways, core NATS, no queue group.
    pub fn new(pattern: impl Into<String>) -> Route {
        Route {
            pattern: pattern.into(),
            direction: Direction::Both,
            queue_group: None,
            delivery: Delivery::Core,
        }
    }

    /// Sets the direction.
    pub fn direction(mut self, direction: Direction) -> Route {
        self.direction = direction;
        self
    }

    /// Only local events go out.
    pub fn outbound(self) -> Route {
        self.direction(Direction::Out)
    }

    /// Only NATS events come in.
    pub fn inbound(self) -> Route {
        self.direction(Direction::In)
    }

    /// Joins a NATS queue group for events coming in.
    pub fn queue_group(mut self, group: impl Into<String>) -> Route {
        self.queue_group = Some(group.into());
        self
    }

    /// Carries the route's events through JetStream.
    pub fn jetstream(mut self) -> Route {
        self.delivery = Delivery::JetStream;
        self
    }

    pub(crate) fn goes_out(&self) -> bool {
        matches!(self.direction, Direction::Both | Direction::Out)
    }

    pub(crate) fn comes_in(&self) -> bool {
        matches!(self.direction, Direction::Both | Direction::In)
    }
}

/// Which way a route's events cross.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum Direction {
    /// Local events go out and NATS events come in.
    #[default]
    Both,
    /// Local events go out only.
    Out,
    /// NATS events come in only.
    In,
}

/// How a route's events travel, and what that guarantees (see the
/// [module docs](super#delivery-guarantees)).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum Delivery {
    /// Core NATS: at most once, to the processes subscribed at that moment;
    /// lowest latency; request/reply works.
    #[default]
    Core,
    /// JetStream: stored in a stream and confirmed before it counts as
    /// forwarded; at least once to every durable consumer, also across a
    /// NATS restart and while a consumer process is down.
    #[serde(rename = "jetstream")]
    JetStream,
}

/// JetStream settings for the routes that use it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct JetStreamConfig {
    /// The stream's name. Default `SERVITOR_<APP>` (the app's name,
    /// upper-cased, other characters as `_`).
    pub stream: Option<String>,
    /// How long the stream keeps an event. Default 24 h.
    #[serde(with = "crate::serde_duration")]
    pub max_age: Duration,
    /// How long a publish waits for JetStream's confirmation before it is
    /// sent again (with the same message id, so JetStream stores it once).
    /// Default 2 s.
    #[serde(with = "crate::serde_duration")]
    pub ack_timeout: Duration,
    /// How long a consumer has to acknowledge an event before JetStream
    /// delivers it again. Default 30 s.
    #[serde(with = "crate::serde_duration")]
    pub ack_wait: Duration,
    /// Confirmations awaited at once. Default 256.
    pub max_in_flight: usize,
    /// A durable consumer nobody reads for this long is removed by the
    /// server. Default 1 h.
    #[serde(with = "crate::serde_duration")]
    pub consumer_inactive: Duration,
}

impl Default for JetStreamConfig {
    fn default() -> Self {
        JetStreamConfig {
            stream: None,
            max_age: Duration::from_secs(24 * 3600),
            ack_timeout: Duration::from_secs(2),
            ack_wait: Duration::from_secs(30),
            max_in_flight: 256,
            consumer_inactive: Duration::from_secs(3600),
        }
    }
}

/// Publishing the registry's statuses for the fleet (see
/// [`fleet`](super::fleet)).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct HealthPublishing {
    /// Whether this process publishes its services' health on
    /// `servitor.health.<app>.<instance>.<service>`. Default true.
    pub publish: bool,
    /// The heartbeat: every service's report is published this often (and
    /// at once on every status change). Default 2 s.
    #[serde(with = "crate::serde_duration")]
    pub interval: Duration,
    /// Whether the bridge follows the fleet's health
    /// ([`Bridge::fleet`](super::Bridge::fleet)). Default true.
    pub watch_fleet: bool,
    /// A process is stale after this many heartbeat intervals without a
    /// message. Default 3.
    pub stale_after: u32,
    /// A process gone (goodbye or stale) this long is forgotten. Default
    /// 5 min.
    #[serde(with = "crate::serde_duration")]
    pub forget_after: Duration,
}

impl Default for HealthPublishing {
    fn default() -> Self {
        HealthPublishing {
            publish: true,
            interval: Duration::from_secs(2),
            watch_fleet: true,
            stale_after: 3,
            forget_after: Duration::from_secs(300),
        }
    }
}

impl NatsConfig {
    /// The default settings for the server(s) at `url`.
    pub fn new(url: impl Into<String>) -> NatsConfig {
        NatsConfig {
            url: Secret::new(url.into()),
            ..NatsConfig::default()
        }
    }

    /// Sets the application.
    pub fn app(mut self, app: impl Into<String>) -> NatsConfig {
        self.app = app.into();
        self
    }

    /// Sets this process's instance name.
    pub fn instance(mut self, instance: impl Into<String>) -> NatsConfig {
        self.instance = Some(instance.into());
        self
    }

    /// Adds a route.
    pub fn route(mut self, route: Route) -> NatsConfig {
        self.routes.push(route);
        self
    }

    /// The JetStream stream's name (see [`JetStreamConfig::stream`]).
    pub fn stream_name(&self) -> String {
        self.jetstream.stream.clone().unwrap_or_else(|| {
            let app: String = self
                .app
                .chars()
                .map(|c| {
                    if c.is_ascii_alphanumeric() {
                        c.to_ascii_uppercase()
                    } else {
                        '_'
                    }
                })
                .collect();
            format!("SERVITOR_{app}")
        })
    }

    /// The instance name in use: the configured one, or `<host>-<pid>`.
    pub(crate) fn instance_name(&self) -> String {
        self.instance.clone().unwrap_or_else(|| {
            let host = std::env::var("HOSTNAME")
                .ok()
                .or_else(|| {
                    std::fs::read_to_string("/etc/hostname")
                        .ok()
                        .map(|h| h.trim().to_string())
                })
                .filter(|h| !h.is_empty())
                .unwrap_or_else(|| "host".into());
            let host: String = host
                .chars()
                .map(|c| {
                    if c.is_ascii_alphanumeric() || c == '-' {
                        c
                    } else {
                        '-'
                    }
                })
                .collect();
            format!("{host}-{}", std::process::id())
        })
    }

    /// Checks every setting; the error names the first bad one.
    pub fn validate(&self, service: &str) -> Result<(), ConfigError> {
        let bad = |field: &str, problem: &str| Err(ConfigError::field(service, field, problem));
        let servers: Vec<&str> = self.url.expose().split(',').map(str::trim).collect();
        if servers.iter().any(|s| s.is_empty()) {
            return bad("url", "must name at least one server (nats://host:port)");
        }
        for server in servers {
            if server.parse::<async_nats::ServerAddr>().is_err() {
                return bad("url", "is not a NATS server address (nats://host:port)");
            }
        }
        if !is_token(&self.app) {
            return bad(
                "app",
                "must be one subject token (letters, digits, `-`, `_`)",
            );
        }
        if let Some(instance) = &self.instance {
            if !is_token(instance) {
                return bad(
                    "instance",
                    "must be one subject token (letters, digits, `-`, `_`)",
                );
            }
        }
        if let Some(prefix) = &self.subject_prefix {
            if Subject::new(prefix).is_err() {
                return bad("subject_prefix", "must be a subject without wildcards");
            }
        }
        for (i, route) in self.routes.iter().enumerate() {
            let field = |f: &str| format!("routes[{i}].{f}");
            if Pattern::new(&route.pattern).is_err() {
                return Err(ConfigError::field(
                    service,
                    field("pattern"),
                    "is not a valid subject pattern",
                ));
            }
            if let Some(group) = &route.queue_group {
                if !is_token(group) {
                    return Err(ConfigError::field(
                        service,
                        field("queue_group"),
                        "must be one token (letters, digits, `-`, `_`)",
                    ));
                }
            }
        }
        if self.request_timeout.is_zero() {
            return bad("request_timeout", "must be above zero");
        }
        if self.connect_timeout.is_zero() {
            return bad("connect_timeout", "must be above zero");
        }
        if let Err(e) = self.reconnect.validate() {
            return Err(ConfigError::field(
                service,
                format!("reconnect.{}", e.field()),
                e.problem(),
            ));
        }
        if self.queue_capacity == 0 {
            return bad("queue_capacity", "must be at least 1");
        }
        if self.jetstream.ack_timeout.is_zero() {
            return bad("jetstream.ack_timeout", "must be above zero");
        }
        if self.jetstream.max_in_flight == 0 {
            return bad("jetstream.max_in_flight", "must be at least 1");
        }
        if let Some(stream) = &self.jetstream.stream {
            if !is_token(stream) {
                return bad(
                    "jetstream.stream",
                    "must be letters, digits, `-` and `_` only",
                );
            }
        }
        if self.health.interval.is_zero() {
            return bad("health.interval", "must be above zero");
        }
        if self.health.stale_after == 0 {
            return bad("health.stale_after", "must be at least 1");
        }
        if self.health_interval.is_zero() {
            return bad("health_interval", "must be above zero");
        }
        Ok(())
    }
}

/// One plain subject token: what app, instance, group and stream names
/// must be so they never change the shape of a subject.
fn is_token(s: &str) -> bool {
    !s.is_empty()
        && s.len() <= 128
        && s.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_bad_field_is_named() {
        let ok = NatsConfig::default().route(Route::new("orders.>"));
        ok.validate("n").unwrap();
        let cases: Vec<(NatsConfig, &str)> = vec![
            (NatsConfig::new(""), "url"),
            (NatsConfig::new("not a url at all"), "url"),
            (ok.clone().app("a.b"), "app"),
            (ok.clone().instance("x y"), "instance"),
            (ok.clone().route(Route::new("a..b")), "routes[1].pattern"),
            (
                ok.clone().route(Route::new("a").queue_group("g.h")),
                "routes[1].queue_group",
            ),
            (
                NatsConfig {
                    queue_capacity: 0,
                    ..ok.clone()
                },
                "queue_capacity",
            ),
        ];
        for (config, field) in cases {
            let err = config.validate("n").unwrap_err();
            assert_eq!(err.field_name(), Some(field), "{err}");
        }
    }

    #[test]
    fn the_stream_name_follows_the_app() {
        assert_eq!(
            NatsConfig::default().app("shop-eu").stream_name(),
            "SERVITOR_SHOP_EU"
        );
    }
}
