//! Database service configuration: where the database is, how the pool is
//! sized and timed, how health is judged and how the service reconnects.
//!
//! Every field has a default ([`DbConfig::default`]) and the struct
//! deserializes from a config file with any field left out. Durations are
//! whole milliseconds there, `null` for "none". The URL is a
//! [`Secret`]: it is never printed, and the copy shown in health details has
//! its password replaced by `[redacted]`.
//!
//! ```
//! use std::time::Duration;
//! use servitor::db::DbConfig;
//!
//! let config: DbConfig = serde_json::from_str(r#"{
//!     "url": "sqlite://app.db",
//!     "max_connections": 4,
//!     "acquire_timeout": 2000,
//!     "idle_timeout": null
//! }"#).unwrap();
//! assert_eq!(config.max_connections, 4);
//! assert_eq!(config.acquire_timeout, Duration::from_secs(2));
//! assert_eq!(config.idle_timeout, None);
//! assert_eq!(config.max_lifetime, Some(Duration::from_secs(30 * 60)));
//! assert_eq!(format!("{:?}", config.url), "[redacted]");
//! ```
//!
//! The configuration is checked when the service's spec is made
//! ([`Db::service`](super::Db::service)): a bad URL or value is a
//! [`ConfigError`] naming the field, before anything starts.

use crate::kit::{Backoff, ConfigError, Secret};
use serde::{Deserialize, Serialize};
use std::path::PathBuf;
use std::time::Duration;

/// Default [`DbConfig::url`]: a private in-memory SQLite database.
pub const DEFAULT_URL: &str = "sqlite::memory:";
/// Default [`DbConfig::max_connections`]: 10.
pub const DEFAULT_MAX_CONNECTIONS: u32 = 10;
/// Default [`DbConfig::acquire_timeout`]: 5 s.
pub const DEFAULT_ACQUIRE_TIMEOUT: Duration = Duration::from_secs(5);
/// Default [`DbConfig::idle_timeout`]: 10 min.
pub const DEFAULT_IDLE_TIMEOUT: Duration = Duration::from_secs(10 * 60);
/// Default [`DbConfig::max_lifetime`]: 30 min.
pub const DEFAULT_MAX_LIFETIME: Duration = Duration::from_secs(30 * 60);
/// Default [`DbConfig::busy_timeout`]: 5 s.
pub const DEFAULT_BUSY_TIMEOUT: Duration = Duration::from_secs(5);
/// Default [`DbConfig::health_interval`]: 5 s.
pub const DEFAULT_HEALTH_INTERVAL: Duration = Duration::from_secs(5);
/// Default [`HealthThresholds::latency`]: 1 s.
pub const DEFAULT_DEGRADED_LATENCY: Duration = Duration::from_secs(1);

/// How a database service connects, pools, reports and reconnects.
///
/// Build one with struct-update syntax:
///
/// ```
/// use std::time::Duration;
/// use servitor::db::DbConfig;
///
/// let config = DbConfig {
///     url: "postgres://app:secret@db.internal/app".into(),
///     max_connections: 20,
///     statement_timeout: Some(Duration::from_secs(10)),
///     ..DbConfig::default()
/// };
/// # let _ = config;
/// ```
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct DbConfig {
    /// The database: `sqlite::memory:`, `sqlite://path/to/file.db`
    /// (created if missing unless the URL sets `mode=`), or
    /// `postgres://user:password@host:port/database` (feature `postgres`;
    /// every libpq-style parameter sqlx knows is accepted, such as
    /// `sslmode`, `application_name` or `options`). The scheme must match
    /// the backend the handle is typed with. Default `sqlite::memory:`
    /// ([`DEFAULT_URL`]): an in-memory database private to this service,
    /// kept alive as long as the service is.
    pub url: Secret,
    /// Connections the service keeps open even when idle, opened once the
    /// database is reachable and reopened after losses. Not above
    /// `max_connections`. Default 0.
    pub min_connections: u32,
    /// The most connections open at once; callers beyond it wait (up to
    /// `acquire_timeout`) for one to be released, oldest first. At least 1.
    /// Default 10 ([`DEFAULT_MAX_CONNECTIONS`]).
    pub max_connections: u32,
    /// How long a caller waits for a connection, including opening one,
    /// before it gets [`DbError::Exhausted`](super::DbError::Exhausted)
    /// (all connections in use) or
    /// [`DbError::Unavailable`](super::DbError::Unavailable) (the database
    /// cannot be reached). At least 1 ms. Default 5 s
    /// ([`DEFAULT_ACQUIRE_TIMEOUT`]).
    #[serde(with = "crate::serde_duration")]
    pub acquire_timeout: Duration,
    /// Connections beyond `min_connections` that the pool did not need for
    /// this long are closed: when, for a whole `idle_timeout`, at least `k`
    /// connections sat idle at every moment, `k` of them are closed (never
    /// below `min_connections`). Checked at every health interval. `None`:
    /// the pool never shrinks. Not zero. Default 10 min
    /// ([`DEFAULT_IDLE_TIMEOUT`]).
    #[serde(with = "crate::serde_duration::option")]
    pub idle_timeout: Option<Duration>,
    /// No connection older than this is handed out: it is closed when it
    /// comes back to the pool or is about to be handed out, and replaced.
    /// `None`: connections live as long as they work. Not zero. Default
    /// 30 min ([`DEFAULT_MAX_LIFETIME`]).
    #[serde(with = "crate::serde_duration::option")]
    pub max_lifetime: Option<Duration>,
    /// PostgreSQL only: statements running longer are cancelled by the
    /// server (`statement_timeout`, set for every connection). `None`: no
    /// limit. Not zero; on SQLite it must be `None` (SQLite has no such
    /// limit; the spec is refused rather than the setting ignored).
    /// Default `None`.
    #[serde(with = "crate::serde_duration::option")]
    pub statement_timeout: Option<Duration>,
    /// Check each idle connection with a round trip (a ping) before handing
    /// it out, so a connection the server closed is replaced instead of
    /// failing the caller's query. Costs one round trip per acquisition.
    /// When off, the service pings idle connections at every health
    /// interval instead, which drops dead ones in the background but leaves
    /// a window in which a query can fail. Default `true`.
    pub test_before_acquire: bool,
    /// SQLite only: how long a statement waits for another connection's
    /// write lock before failing with "database is locked". Default 5 s
    /// ([`DEFAULT_BUSY_TIMEOUT`]).
    #[serde(with = "crate::serde_duration")]
    pub busy_timeout: Duration,
    /// How often the service probes the database (`SELECT 1`), maintains
    /// the pool (idle timeout, `min_connections`) and publishes its health.
    /// At least 1 ms. Default 5 s ([`DEFAULT_HEALTH_INTERVAL`]).
    #[serde(with = "crate::serde_duration")]
    pub health_interval: Duration,
    /// When the service reports itself degraded.
    pub health: HealthThresholds,
    /// How long the service waits between attempts to reach a database that
    /// is down: the kit's [`Backoff`], each delay capped at
    /// `health_interval` so a database that comes back is seen within one
    /// health interval. Default: 100 ms doubling up to 5 s, 20 % jitter.
    pub reconnect: Backoff,
    /// A directory of migration files (`<VERSION>_<NAME>.sql`, sqlx's
    /// layout) run in the service's start hook, after any given in code
    /// ([`DbBuilder::migrations`](super::DbBuilder::migrations)). Must exist
    /// when the spec is made. Default `None`.
    pub migrations_dir: Option<PathBuf>,
}

/// When a database service reports [`Status::Degraded`](crate::Status::Degraded).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct HealthThresholds {
    /// Degraded while at least this many callers wait for a connection at a
    /// health check. 0: never for waiting. Default 1.
    pub waiting: usize,
    /// Degraded while the probe (`SELECT 1`) takes at least this long.
    /// At least 1 ms. Default 1 s ([`DEFAULT_DEGRADED_LATENCY`]).
    #[serde(with = "crate::serde_duration")]
    pub latency: Duration,
}

impl Default for HealthThresholds {
    fn default() -> Self {
        HealthThresholds {
            waiting: 1,
            latency: DEFAULT_DEGRADED_LATENCY,
        }
    }
}

impl Default for DbConfig {
    fn default() -> Self {
        DbConfig {
            url: Secret::new(DEFAULT_URL),
            min_connections: 0,
            max_connections: DEFAULT_MAX_CONNECTIONS,
            acquire_timeout: DEFAULT_ACQUIRE_TIMEOUT,
            idle_timeout: Some(DEFAULT_IDLE_TIMEOUT),
            max_lifetime: Some(DEFAULT_MAX_LIFETIME),
            statement_timeout: None,
            test_before_acquire: true,
            busy_timeout: DEFAULT_BUSY_TIMEOUT,
            health_interval: DEFAULT_HEALTH_INTERVAL,
            health: HealthThresholds::default(),
            reconnect: Backoff::exponential(Duration::from_millis(100), Duration::from_secs(5))
                .jitter(0.2),
            migrations_dir: None,
        }
    }
}

impl DbConfig {
    /// A default configuration for `url`.
    ///
    /// ```
    /// use servitor::db::DbConfig;
    ///
    /// let config = DbConfig::url("sqlite://orders.db");
    /// assert_eq!(config.url.expose(), "sqlite://orders.db");
    /// assert_eq!(config.max_connections, 10);
    /// ```
    pub fn url(url: impl Into<String>) -> DbConfig {
        DbConfig {
            url: Secret::new(url.into()),
            ..DbConfig::default()
        }
    }

    /// Checks every setting but the URL (which the backend checks); the
    /// error names the first invalid one.
    pub(crate) fn validate(&self, service: &str) -> Result<(), ConfigError> {
        let invalid = |field: &str, problem: &str| Err(ConfigError::field(service, field, problem));
        if self.max_connections == 0 {
            return invalid("max_connections", "must be at least 1");
        }
        if self.min_connections > self.max_connections {
            return invalid(
                "min_connections",
                &format!(
                    "must not be above `max_connections` ({})",
                    self.max_connections
                ),
            );
        }
        if self.acquire_timeout < Duration::from_millis(1) {
            return invalid("acquire_timeout", "must be at least 1 ms");
        }
        for (field, value) in [
            ("idle_timeout", self.idle_timeout),
            ("max_lifetime", self.max_lifetime),
            ("statement_timeout", self.statement_timeout),
        ] {
            if value == Some(Duration::ZERO) {
                return invalid(field, "must be more than zero (or none)");
            }
        }
        if self.health_interval < Duration::from_millis(1) {
            return invalid("health_interval", "must be at least 1 ms");
        }
        if self.health.latency < Duration::from_millis(1) {
            return invalid("health.latency", "must be at least 1 ms");
        }
        if let Err(e) = self.reconnect.validate() {
            return invalid(&format!("reconnect.{}", e.field()), e.problem());
        }
        if let Some(dir) = &self.migrations_dir {
            if !dir.is_dir() {
                return invalid(
                    "migrations_dir",
                    &format!("`{}` is not a directory", dir.display()),
                );
            }
        }
        Ok(())
    }
}
