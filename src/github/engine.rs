//! The GitHub client's engine: the HTTP client, the token, the rate-limit
//! state, the conditional-request cache and the counters — shared by every
//! handle and every incarnation of the service's actor — and the health it
//! reports.

use super::clock::Clock;
use super::config::{authorization, GitHubConfig};
use super::error::GitHubError;
use super::etag::EtagCache;
use super::limits::{ContentPace, Limits};
use super::models::RateLimit;
use super::stats::{Counters, GitHubStats};
use crate::exit::BoxError;
use crate::kit::{ConfigError, Engine, Health, Phase, Pulse, Secret, Shared};
use crate::service::ServiceContext;
use crate::status::Status;
use chrono::{DateTime, Utc};
use parking_lot::{Mutex, RwLock};
use reqwest::header::{HeaderMap, HeaderValue, ACCEPT};
use reqwest::Url;
use std::collections::BTreeMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::{Notify, Semaphore};

/// The media type GitHub recommends.
pub(crate) const MEDIA_TYPE: &str = "application/vnd.github+json";
/// The REST API version every request asks for.
pub(crate) const API_VERSION: &str = "2022-11-28";

/// The token, as sent and as scrubbed from texts.
pub(crate) struct Token {
    pub header: HeaderValue,
    pub secret: Secret,
}

/// The engine of a [`GitHub`](super::GitHub) client. Its workings are
/// internal; use it through the handle.
pub struct GitHubEngine {
    pub(crate) name: String,
    pub(crate) config: GitHubConfig,
    pub(crate) base: Url,
    /// The base address as text, without a trailing `/`.
    pub(crate) base_str: String,
    pub(crate) client: reqwest::Client,
    pub(crate) token: RwLock<Option<Token>>,
    /// GitHub refused the token: nothing is sent until a new one is set.
    pub(crate) refused: AtomicBool,
    pub(crate) refusal: Mutex<Option<String>>,
    pub(crate) limits: Limits,
    pub(crate) pace: ContentPace,
    pub(crate) permits: Option<Semaphore>,
    pub(crate) etags: EtagCache,
    pub(crate) clock: Arc<dyn Clock>,
    pub(crate) counters: Counters,
    pub(crate) idle: Notify,
    pub(crate) pulse: Pulse,
}

impl GitHubEngine {
    pub(crate) fn new(
        name: &str,
        config: GitHubConfig,
        clock: Arc<dyn Clock>,
    ) -> Result<GitHubEngine, ConfigError> {
        let checked = config.check(name)?;
        let mut headers = HeaderMap::new();
        headers.insert(ACCEPT, HeaderValue::from_static(MEDIA_TYPE));
        headers.insert(
            "x-github-api-version",
            HeaderValue::from_static(API_VERSION),
        );
        let client = reqwest::Client::builder()
            .user_agent(config.user_agent.as_str())
            .default_headers(headers)
            .connect_timeout(config.connect_timeout)
            .timeout(config.request_timeout)
            .build()
            .map_err(|e| ConfigError::field(name, "client", e.to_string()))?;
        let token = match (checked.token, &config.token) {
            (Some(header), Some(secret)) => Some(Token {
                header,
                secret: secret.clone(),
            }),
            _ => None,
        };
        let t = config.throttle;
        Ok(GitHubEngine {
            name: name.to_string(),
            base: checked.base,
            base_str: checked.base_str,
            client,
            token: RwLock::new(token),
            refused: AtomicBool::new(false),
            refusal: Mutex::new(None),
            limits: Limits::default(),
            pace: ContentPace::new(t.content_per_minute, t.content_per_hour),
            permits: (t.max_concurrent > 0).then(|| Semaphore::new(t.max_concurrent)),
            etags: EtagCache::new(config.etag_cache),
            clock,
            counters: Counters::default(),
            idle: Notify::new(),
            pulse: Pulse::new(),
            config,
        })
    }

    pub(crate) fn is_enabled(&self) -> bool {
        self.token.read().is_some()
    }

    /// Replaces the token (or removes it, disabling the service) and lifts
    /// a refusal of the old one.
    pub(crate) fn set_token(&self, token: Option<Secret>) -> Result<(), GitHubError> {
        let next = match token {
            None => None,
            Some(secret) if secret.is_empty() => {
                return Err(GitHubError::invalid(
                    "token",
                    "must not be empty (use `clear_token` to disable the service)",
                ))
            }
            Some(secret) => {
                let header = authorization(&secret).ok_or_else(|| {
                    GitHubError::invalid("token", "contains characters an HTTP header cannot carry")
                })?;
                Some(Token { header, secret })
            }
        };
        *self.token.write() = next;
        self.refused.store(false, Ordering::Release);
        *self.refusal.lock() = None;
        self.pulse.beat();
        Ok(())
    }

    /// Removes the token from `text` (error texts of the HTTP stack, bodies
    /// quoted in errors).
    pub(crate) fn scrub(&self, text: &str) -> String {
        match &*self.token.read() {
            Some(t) => t.secret.scrub(text),
            None => text.to_string(),
        }
    }

    pub(crate) fn stats(&self) -> GitHubStats {
        self.counters.snapshot(self.etags.len())
    }

    pub(crate) fn rate_limits(&self) -> BTreeMap<String, RateLimit> {
        self.limits.snapshot(self.clock.wall())
    }

    /// `link` if it is under the base address (same scheme, host, port and
    /// path prefix): where a next page may be fetched from.
    pub(crate) fn within_base(&self, link: &str) -> Option<String> {
        let url = Url::parse(link).ok()?;
        let base = &self.base;
        let prefix = base.path().trim_end_matches('/');
        let path = url.path();
        let under = path == prefix || path.starts_with(&format!("{prefix}/"));
        (url.scheme() == base.scheme()
            && url.host_str() == base.host_str()
            && url.port_or_known_default() == base.port_or_known_default()
            && under)
            .then(|| url.into())
    }

    fn in_flight(&self) -> u64 {
        self.counters.in_flight.load(Ordering::Acquire)
    }
}

impl std::fmt::Debug for GitHubEngine {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("GitHubEngine")
            .field("name", &self.name)
            .field("base_url", &self.base_str)
            .field("enabled", &self.is_enabled())
            .finish_non_exhaustive()
    }
}

impl Engine for GitHubEngine {
    fn health_interval(&self) -> Duration {
        self.config.health_interval
    }

    fn health(&self) -> Health {
        let limits = self.rate_limits();
        let health = if !self.is_enabled() {
            Health::new(Status::Idle).message("disabled: no token configured")
        } else if self.refused.load(Ordering::Acquire) {
            let why = self.refusal.lock().clone().unwrap_or_default();
            Health::new(Status::Failed).message(format!(
                "bad credentials: GitHub refused the token ({why}); no requests are sent until a new token is set"
            ))
        } else if let Some((name, rl)) = limits.iter().find(|(_, rl)| rl.is_low()) {
            let reset = DateTime::<Utc>::from(rl.reset_at()).format("%H:%M:%SZ");
            Health::new(Status::Degraded).message(format!(
                "rate limit `{name}` low: {} of {} left until {reset}",
                rl.remaining, rl.limit
            ))
        } else {
            Health::ok()
        };
        let figures: BTreeMap<&str, serde_json::Value> = limits
            .iter()
            .map(|(name, rl)| {
                let v = serde_json::json!({
                    "limit": rl.limit,
                    "remaining": rl.remaining,
                    "used": rl.used,
                    "reset": rl.reset,
                });
                (name.as_str(), v)
            })
            .collect();
        health
            .stats(&self.stats())
            .detail("rate_limits", figures)
            .detail("enabled", self.is_enabled())
            .detail("base_url", &self.base_str)
    }

    fn initial_status(&self) -> Status {
        if self.is_enabled() {
            Status::Ok
        } else {
            Status::Idle
        }
    }

    fn pulse(&self) -> Option<&Pulse> {
        Some(&self.pulse)
    }

    /// Asks for a health report as soon as the incarnation has started, so
    /// the status's reason ("disabled: no token configured", a refused
    /// token) shows at once rather than after a health interval.
    async fn start(shared: Shared<Self>, _cx: ServiceContext) -> Result<(), BoxError> {
        shared.pulse.beat();
        Ok(())
    }

    /// Waits for the requests in flight to finish (bounded by the child's
    /// shutdown timeout).
    async fn drain(shared: Shared<Self>) {
        loop {
            let idle = shared.idle.notified();
            tokio::pin!(idle);
            idle.as_mut().enable();
            if shared.in_flight() == 0 {
                return;
            }
            idle.await;
        }
    }

    fn phase_changed(&self, _from: Phase, to: Phase) {
        if to == Phase::Closed {
            self.etags.clear();
        }
    }
}
