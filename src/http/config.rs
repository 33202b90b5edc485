//! Endpoint configuration: where it listens, who sees what, which services
//! readiness needs, and the named health groups.
//!
//! Every field has a default ([`HttpConfig::default`]) and the struct
//! deserializes from a config file with any field left out; durations are
//! whole milliseconds there. The token is a [`Secret`]: it is never printed.
//!
//! ```
//! use servitor::http::{HttpConfig, ShowDetails};
//!
//! let config: HttpConfig = serde_json::from_str(r#"{
//!     "bind": "0.0.0.0:9898",
//!     "show_details": "when_authorized",
//!     "token": "s3cr3t",
//!     "required": ["db", "cache"],
//!     "groups": { "storage": ["db", "cache"] }
//! }"#).unwrap();
//! assert_eq!(config.show_details, ShowDetails::WhenAuthorized);
//! assert_eq!(format!("{:?}", config.token), "Some([redacted])");
//! assert_eq!(config.groups["storage"], ["db", "cache"]);
//! ```
//!
//! The configuration is checked when the service's spec is made
//! ([`Http::service`](super::Http::service)): a bad value is a
//! [`ConfigError`] naming the field, before anything starts.

use crate::kit::{ConfigError, Secret};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::net::{Ipv4Addr, SocketAddr};
use std::time::Duration;

/// Default [`HttpConfig::bind`]: `127.0.0.1:9898`, reachable from this
/// machine only.
pub const DEFAULT_BIND: SocketAddr = SocketAddr::new(
    std::net::IpAddr::V4(Ipv4Addr::new(127, 0, 0, 1)),
    DEFAULT_PORT,
);
/// The port of [`DEFAULT_BIND`].
pub const DEFAULT_PORT: u16 = 9898;
/// Default [`HttpConfig::snapshot_interval`]: 2 s.
pub const DEFAULT_SNAPSHOT_INTERVAL: Duration = Duration::from_secs(2);
/// Default [`HttpConfig::shutdown_timeout`]: 2 s.
pub const DEFAULT_SHUTDOWN_TIMEOUT: Duration = Duration::from_secs(2);
/// Default [`HttpConfig::health_interval`]: 5 s.
pub const DEFAULT_HEALTH_INTERVAL: Duration = Duration::from_secs(5);
/// Default [`HttpConfig::max_event_streams`]: 64.
pub const DEFAULT_MAX_EVENT_STREAMS: usize = 64;
/// The most [`HttpConfig::workers`] accepted.
pub const MAX_WORKERS: usize = 64;
/// Group names the endpoint uses itself (`/health/live`, `/health/ready`).
pub const RESERVED_GROUPS: [&str; 2] = ["live", "ready"];

/// Who sees more than the overall status.
///
/// "Details" are everything beyond the overall status: the checks of
/// `/health`, `/services`, `/services/{name}`, `/services/events` (and so
/// the data of the live page) and `/metrics`. The probes (`/health/live`,
/// `/health/ready`, `/health/{group}`) answer everyone, with the status
/// only.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ShowDetails {
    /// Nobody: `/health` says only the overall status and the detail routes
    /// answer `403 Forbidden`.
    Never,
    /// Callers that send `Authorization: Bearer <token>` with the configured
    /// [`token`](HttpConfig::token); others get the overall status from
    /// `/health` and `401 Unauthorized` from the detail routes.
    WhenAuthorized,
    /// Everybody who can reach the endpoint. The default, because the
    /// endpoint binds to the loopback interface by default; bind to another
    /// address and the start logs a warning unless a token is set.
    Always,
}

/// How the endpoint listens and what it shows.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct HttpConfig {
    /// The address to listen on; port 0 picks a free port (read it back
    /// with [`Http::local_addr`](super::Http::local_addr)). Default
    /// `127.0.0.1:9898` ([`DEFAULT_BIND`]): this machine only.
    pub bind: SocketAddr,
    /// Who sees details. Default [`ShowDetails::Always`].
    pub show_details: ShowDetails,
    /// The bearer token that authorises a caller to see details. Required
    /// with [`ShowDetails::WhenAuthorized`]; with `Always` it is not asked
    /// for. Default none.
    pub token: Option<Secret>,
    /// The services `/health/ready` needs: ready when every one of them is
    /// ok, idle, busy or warning. A supervisor's name stands for its whole
    /// subtree. Default empty: every service of the tree (final records of
    /// services that ended for good do not count).
    pub required: Vec<String>,
    /// Named health groups, as Spring Boot Actuator has them: each is
    /// served at `/health/{group}` in the same shape as `/health`, with its
    /// members only (service or supervisor names; a supervisor stands for
    /// its subtree). Names are lowercase letters, digits, `-` and `_`;
    /// `live` and `ready` are taken. Default none.
    pub groups: BTreeMap<String, Vec<String>>,
    /// actix-web worker threads (each a thread of its own). 1 to 64.
    /// Default 1: the endpoint's work is small.
    pub workers: usize,
    /// How often `/services/events` sends a whole snapshot between status
    /// changes (uptimes, counters and details move without a status change).
    /// At least 100 ms. Default 2 s.
    #[serde(with = "crate::serde_duration")]
    pub snapshot_interval: Duration,
    /// The most `/services/events` streams open at once; more are answered
    /// `503`. At least 1. Default 64.
    pub max_event_streams: usize,
    /// How long a stop waits for requests in flight before it closes their
    /// connections (event streams are ended at once). Default 2 s.
    #[serde(with = "crate::serde_duration")]
    pub shutdown_timeout: Duration,
    /// How often the endpoint service publishes its own health (requests
    /// served, streams open). At least 1 ms. Default 5 s.
    #[serde(with = "crate::serde_duration")]
    pub health_interval: Duration,
    /// Serve the live page at `/`. Default true.
    pub page: bool,
}

impl Default for HttpConfig {
    fn default() -> Self {
        HttpConfig {
            bind: DEFAULT_BIND,
            show_details: ShowDetails::Always,
            token: None,
            required: Vec::new(),
            groups: BTreeMap::new(),
            workers: 1,
            snapshot_interval: DEFAULT_SNAPSHOT_INTERVAL,
            max_event_streams: DEFAULT_MAX_EVENT_STREAMS,
            shutdown_timeout: DEFAULT_SHUTDOWN_TIMEOUT,
            health_interval: DEFAULT_HEALTH_INTERVAL,
            page: true,
        }
    }
}

impl HttpConfig {
    /// The defaults, listening on `bind`.
    ///
    /// ```
    /// let config = servitor::http::HttpConfig::bind("127.0.0.1:0".parse().unwrap());
    /// assert_eq!(config.bind.port(), 0);
    /// ```
    pub fn bind(bind: SocketAddr) -> HttpConfig {
        HttpConfig {
            bind,
            ..HttpConfig::default()
        }
    }

    /// Checks every field; the first problem is the error.
    pub(crate) fn validate(&self, service: &str) -> Result<(), ConfigError> {
        let invalid = |field: &str, problem: &str| Err(ConfigError::field(service, field, problem));
        if self.workers == 0 || self.workers > MAX_WORKERS {
            return invalid("workers", "must be 1 to 64");
        }
        if self.snapshot_interval < Duration::from_millis(100) {
            return invalid("snapshot_interval", "must be at least 100 ms");
        }
        if self.max_event_streams == 0 {
            return invalid("max_event_streams", "must be at least 1");
        }
        if self.health_interval < Duration::from_millis(1) {
            return invalid("health_interval", "must be at least 1 ms");
        }
        match &self.token {
            Some(token) if token.expose().trim().is_empty() => {
                return invalid("token", "must not be empty");
            }
            Some(token)
                if token
                    .expose()
                    .chars()
                    .any(|c| c.is_whitespace() || c.is_control()) =>
            {
                return invalid("token", "must not contain whitespace or control characters");
            }
            None if self.show_details == ShowDetails::WhenAuthorized => {
                return invalid("token", "must be set when show_details is when_authorized");
            }
            _ => {}
        }
        for name in &self.required {
            if crate::kit::validate_name(name).is_err() {
                return invalid("required", "holds a name that is not a valid service name");
            }
        }
        for (group, members) in &self.groups {
            let well_formed = !group.is_empty()
                && group.len() <= 64
                && group.bytes().all(|b| {
                    b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-' || b == b'_'
                });
            if !well_formed {
                return invalid(
                    "groups",
                    "has a group name that is not 1 to 64 lowercase letters, digits, `-` or `_`",
                );
            }
            if RESERVED_GROUPS.contains(&group.as_str()) {
                return invalid("groups", "uses `live` or `ready`, which the probes take");
            }
            if members.is_empty() {
                return invalid("groups", "has a group without members");
            }
            if members
                .iter()
                .any(|m| crate::kit::validate_name(m).is_err())
            {
                return invalid("groups", "has a member that is not a valid service name");
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check(config: HttpConfig) -> Option<String> {
        config
            .validate("ops")
            .err()
            .and_then(|e| e.field_name().map(str::to_string))
    }

    #[test]
    fn the_defaults_are_valid_and_local() {
        assert_eq!(check(HttpConfig::default()), None);
        assert!(HttpConfig::default().bind.ip().is_loopback());
    }

    #[test]
    fn when_authorized_needs_a_token() {
        let config = HttpConfig {
            show_details: ShowDetails::WhenAuthorized,
            ..HttpConfig::default()
        };
        assert_eq!(check(config.clone()).as_deref(), Some("token"));
        let config = HttpConfig {
            token: Some(Secret::new("t0ken")),
            ..config
        };
        assert_eq!(check(config), None);
    }

    #[test]
    fn bad_values_name_their_field() {
        let cases = [
            (
                HttpConfig {
                    workers: 0,
                    ..HttpConfig::default()
                },
                "workers",
            ),
            (
                HttpConfig {
                    workers: 65,
                    ..HttpConfig::default()
                },
                "workers",
            ),
            (
                HttpConfig {
                    snapshot_interval: Duration::from_millis(10),
                    ..HttpConfig::default()
                },
                "snapshot_interval",
            ),
            (
                HttpConfig {
                    max_event_streams: 0,
                    ..HttpConfig::default()
                },
                "max_event_streams",
            ),
            (
                HttpConfig {
                    health_interval: Duration::ZERO,
                    ..HttpConfig::default()
                },
                "health_interval",
            ),
            (
                HttpConfig {
                    token: Some(Secret::new(" ")),
                    ..HttpConfig::default()
                },
                "token",
            ),
            (
                HttpConfig {
                    token: Some(Secret::new("a b")),
                    ..HttpConfig::default()
                },
                "token",
            ),
            (
                HttpConfig {
                    required: vec!["a/b".into()],
                    ..HttpConfig::default()
                },
                "required",
            ),
            (
                HttpConfig {
                    groups: BTreeMap::from([("Live".into(), vec!["db".into()])]),
                    ..HttpConfig::default()
                },
                "groups",
            ),
            (
                HttpConfig {
                    groups: BTreeMap::from([("ready".into(), vec!["db".into()])]),
                    ..HttpConfig::default()
                },
                "groups",
            ),
            (
                HttpConfig {
                    groups: BTreeMap::from([("storage".into(), vec![])]),
                    ..HttpConfig::default()
                },
                "groups",
            ),
        ];
        for (config, field) in cases {
            assert_eq!(check(config).as_deref(), Some(field));
        }
    }

    #[test]
    fn unknown_fields_are_refused() {
        let err = serde_json::from_str::<HttpConfig>(r#"{"port": 1}"#).unwrap_err();
        assert!(err.to_string().contains("unknown field `port`"), "{err}");
    }
}
