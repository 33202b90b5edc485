//! GitHub client configuration: where and as whom to call, timeouts, and
//! how closely to follow GitHub's rate-limit contract.

use crate::kit::{Backoff, ConfigError, Secret};
use reqwest::header::HeaderValue;
use reqwest::Url;
use serde::{Deserialize, Serialize};
use std::time::Duration;

/// Default [`GitHubConfig::base_url`]: GitHub's public REST API.
pub const DEFAULT_BASE_URL: &str = "https://api.github.com";
/// Default [`GitHubConfig::user_agent`] (GitHub refuses requests without
/// one).
pub const DEFAULT_USER_AGENT: &str = concat!("servitor/", env!("CARGO_PKG_VERSION"));
/// The shortest first wait after a secondary rate limit without
/// `retry-after`, as GitHub requires: one minute.
pub const MIN_SECONDARY_WAIT: Duration = Duration::from_secs(60);

/// How the GitHub client calls GitHub: where and as whom, timeouts, and
/// how closely to follow GitHub's rate-limit contract.
///
/// Every field has a default ([`GitHubConfig::default`]) that follows what
/// GitHub documents, and the struct deserializes from a configuration file
/// with any field left out; durations are whole milliseconds there. The
/// token prints and serializes as `[redacted]`.
///
/// ```
/// use std::time::Duration;
/// use servitor::github::GitHubConfig;
///
/// let config: GitHubConfig = serde_json::from_str(r#"{
///     "token": "ghp_example",
///     "base_url": "https://github.example.com/api/v3",
///     "request_timeout": 10000,
///     "throttle": { "max_concurrent": 4 },
///     "rate_limits": { "max_wait": 60000 }
/// }"#).unwrap();
/// assert_eq!(config.request_timeout, Duration::from_secs(10));
/// assert_eq!(config.throttle.max_concurrent, 4);
/// assert_eq!(config.throttle.content_per_minute, 60); // the default
/// assert_eq!(serde_json::to_value(&config).unwrap()["token"], "[redacted]");
/// ```
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct GitHubConfig {
    /// The token every request is authorized with (`Authorization: Bearer
    /// …`): a personal access token, a fine-grained token or an
    /// installation token. Default `None`: the service is disabled — its
    /// health says so ([`Status::Idle`](crate::Status::Idle), "disabled: no
    /// token configured") and every call fails with
    /// [`GitHubError::Disabled`](super::GitHubError::Disabled) without
    /// sending anything. Not empty.
    pub token: Option<Secret>,
    /// The API's address: `https://api.github.com` (default), or
    /// `https://HOST/api/v3` for GitHub Enterprise Server. `http` or
    /// `https`, no query. Links GitHub sends for further pages are followed
    /// only to this same scheme, host and port, so the token never goes
    /// anywhere else.
    pub base_url: String,
    /// The `User-Agent` header. Default `servitor/<version>`. Not empty.
    pub user_agent: String,
    /// How long connecting may take. Default 10 s; at least 1 ms.
    #[serde(with = "crate::serde_duration")]
    pub connect_timeout: Duration,
    /// How long one request may take, from sending to the end of the body.
    /// Default 30 s; at least 1 ms.
    #[serde(with = "crate::serde_duration")]
    pub request_timeout: Duration,
    /// Proactive throttling: concurrency and the pace of content-creating
    /// requests.
    pub throttle: Throttle,
    /// What to do when GitHub says a rate limit is reached.
    pub rate_limits: RateLimitPolicy,
    /// Retries of reads after server errors and connection failures.
    pub retries: Retries,
    /// How many answers to remember for conditional requests (`ETag`, then
    /// `If-None-Match`; a `304 Not Modified` costs no quota and is answered
    /// from memory). Default 512 entries, the oldest forgotten first; 0
    /// turns conditional requests off.
    pub etag_cache: usize,
    /// How often the service publishes its health (rate-limit figures and
    /// counters). Default 10 s; at least 1 ms.
    #[serde(with = "crate::serde_duration")]
    pub health_interval: Duration,
}

impl Default for GitHubConfig {
    fn default() -> Self {
        GitHubConfig {
            token: None,
            base_url: DEFAULT_BASE_URL.to_string(),
            user_agent: DEFAULT_USER_AGENT.to_string(),
            connect_timeout: Duration::from_secs(10),
            request_timeout: Duration::from_secs(30),
            throttle: Throttle::default(),
            rate_limits: RateLimitPolicy::default(),
            retries: Retries::default(),
            etag_cache: 512,
            health_interval: Duration::from_secs(10),
        }
    }
}

/// Proactive throttling, so GitHub's secondary limits are not hit in the
/// first place. GitHub documents at most 100 concurrent requests, at most
/// 80 content-creating requests a minute and 500 an hour, and asks for at
/// least a second between them.
///
/// ```
/// use servitor::github::Throttle;
///
/// assert_eq!(Throttle::default().max_concurrent, 10);
/// assert_eq!(Throttle::off().content_per_minute, 0);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Throttle {
    /// The most requests in flight at once; further calls wait for a free
    /// slot. Default 10; 0: no bound.
    pub max_concurrent: usize,
    /// Content-creating requests (creating an issue or a pull request) are
    /// spaced evenly to at most this many per minute. Default 60 (one a
    /// second: GitHub's advice, within its 80 a minute); 0: no spacing.
    pub content_per_minute: u32,
    /// At most this many content-creating requests in any hour. Default 500
    /// (GitHub's documented budget); 0: no hourly budget. A call that would
    /// exceed it waits (bounded by
    /// [`max_wait`](RateLimitPolicy::max_wait)) or fails with
    /// [`RateLimitKind::ContentBudget`](super::RateLimitKind::ContentBudget).
    pub content_per_hour: u32,
}

impl Default for Throttle {
    fn default() -> Self {
        Throttle {
            max_concurrent: 10,
            content_per_minute: 60,
            content_per_hour: 500,
        }
    }
}

impl Throttle {
    /// No proactive throttling at all (GitHub's answers are still
    /// followed).
    pub const fn off() -> Throttle {
        Throttle {
            max_concurrent: 0,
            content_per_minute: 0,
            content_per_hour: 0,
        }
    }
}

/// How the client follows GitHub's rate-limit answers.
///
/// * **Primary limit** (a 403 or 429 with `x-ratelimit-remaining: 0`, or
///   any answer saying 0 remain): nothing more is sent on that resource
///   until its reset time; a call waits for it if that is at most
///   `max_wait` away, else fails at once with the reset time.
/// * **Secondary limit** (a 403 or 429 whose message says so, or with
///   `retry-after`): the call waits `retry-after`, or without it the
///   backoff (one minute first, then growing), and tries again, up to
///   `secondary_retries` times; then it fails saying how long to wait.
///   Other calls hold back for the same time.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct RateLimitPolicy {
    /// The longest one wait for a rate limit may be; a longer one fails the
    /// call with [`GitHubError::RateLimited`](super::GitHubError::RateLimited)
    /// at once. Default 5 minutes; 0: never wait.
    #[serde(with = "crate::serde_duration")]
    pub max_wait: Duration,
    /// How many times a call is tried again after secondary limits.
    /// Default 3.
    pub secondary_retries: u32,
    /// The waits after secondary limits without `retry-after`: `initial`
    /// at least one minute ([`MIN_SECONDARY_WAIT`]). Default 1 min doubling
    /// up to 15 min, no jitter.
    pub secondary_backoff: Backoff,
}

impl Default for RateLimitPolicy {
    fn default() -> Self {
        RateLimitPolicy {
            max_wait: Duration::from_secs(5 * 60),
            secondary_retries: 3,
            secondary_backoff: Backoff::exponential(
                MIN_SECONDARY_WAIT,
                Duration::from_secs(15 * 60),
            ),
        }
    }
}

/// Retries after a server error (5xx) or a failed connection. Reads are
/// retried; a request that creates content is re-sent only when its
/// connection could not even be made (so GitHub never saw it) — a POST is
/// never re-sent blindly.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Retries {
    /// Tries after the first. Default 3; 0: no retries.
    pub attempts: u32,
    /// The waits between them. Default 500 ms doubling up to 8 s, 20 %
    /// jitter.
    pub backoff: Backoff,
}

impl Default for Retries {
    fn default() -> Self {
        Retries {
            attempts: 3,
            backoff: Backoff::exponential(Duration::from_millis(500), Duration::from_secs(8))
                .jitter(0.2),
        }
    }
}

/// The checked form of a configuration, as the engine uses it.
pub(crate) struct Checked {
    pub base: Url,
    pub base_str: String,
    pub token: Option<HeaderValue>,
}

impl GitHubConfig {
    /// A configuration with this token and every other setting at its
    /// default.
    pub fn with_token(token: impl Into<Secret>) -> GitHubConfig {
        GitHubConfig {
            token: Some(token.into()),
            ..GitHubConfig::default()
        }
    }

    /// Checks every field; the error names the first invalid one.
    pub fn validate(&self, service: &str) -> Result<(), ConfigError> {
        self.check(service).map(|_| ())
    }

    pub(crate) fn check(&self, service: &str) -> Result<Checked, ConfigError> {
        let invalid = |field: &str, problem: &str| ConfigError::field(service, field, problem);
        let token = match &self.token {
            None => None,
            Some(t) if t.is_empty() => {
                return Err(invalid(
                    "token",
                    "must not be empty (leave it out to disable the service)",
                ))
            }
            Some(t) => Some(authorization(t).ok_or_else(|| {
                invalid("token", "contains characters an HTTP header cannot carry")
            })?),
        };
        let trimmed = self.base_url.trim_end_matches('/');
        let base =
            Url::parse(trimmed).map_err(|e| invalid("base_url", &format!("is not a URL ({e})")))?;
        if !matches!(base.scheme(), "http" | "https") || base.host_str().is_none() {
            return Err(invalid(
                "base_url",
                "must be an http or https URL with a host",
            ));
        }
        if base.query().is_some() || base.fragment().is_some() {
            return Err(invalid("base_url", "must not have a query or fragment"));
        }
        if !base.username().is_empty() || base.password().is_some() {
            return Err(invalid(
                "base_url",
                "must not carry credentials (use `token`)",
            ));
        }
        if self.user_agent.trim().is_empty() || HeaderValue::from_str(&self.user_agent).is_err() {
            return Err(invalid("user_agent", "must be a non-empty header value"));
        }
        for (field, d) in [
            ("connect_timeout", self.connect_timeout),
            ("request_timeout", self.request_timeout),
            ("health_interval", self.health_interval),
        ] {
            if d < Duration::from_millis(1) {
                return Err(invalid(field, "must be at least 1 ms"));
            }
        }
        let b = &self.rate_limits.secondary_backoff;
        if let Err(e) = b.validate() {
            return Err(invalid(
                &format!("rate_limits.secondary_backoff.{}", e.field()),
                e.problem(),
            ));
        }
        if b.initial < MIN_SECONDARY_WAIT {
            return Err(invalid(
                "rate_limits.secondary_backoff.initial",
                "must be at least 60000 ms (GitHub asks for a minute before retrying)",
            ));
        }
        if let Err(e) = self.retries.backoff.validate() {
            return Err(invalid(
                &format!("retries.backoff.{}", e.field()),
                e.problem(),
            ));
        }
        let base_str = base.as_str().trim_end_matches('/').to_string();
        Ok(Checked {
            base,
            base_str,
            token,
        })
    }
}

/// The `Authorization` header for a token, marked sensitive so the HTTP
/// stack never prints it.
pub(crate) fn authorization(token: &Secret) -> Option<HeaderValue> {
    let mut value = HeaderValue::from_str(&format!("Bearer {}", token.expose())).ok()?;
    value.set_sensitive(true);
    Some(value)
}
