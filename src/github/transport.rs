//! One call, from the checks before sending to a typed answer: the path
//! every operation takes.
//!
//! ```text
//! token? ─▶ holds (exhausted resource, secondary pause) ─▶ content pace ─▶ permit ─▶ send
//!   ▲            (wait ≤ max_wait, else RateLimited)                                   │
//!   │                                                                                  ▼
//!   └── again: rate limit (wait, N tries) · 5xx / connection (reads only) ◀── figures, status
//! ```
//!
//! A request that creates content is sent again only when GitHub refused
//! it for a rate limit (it was not acted on) or its connection could not
//! be made (it never left); after a 5xx or a timeout it may have taken
//! effect, so the error says the outcome is unknown instead.

use super::engine::GitHubEngine;
use super::error::{FieldError, GitHubError, RateLimitKind};
use super::etag::Cached;
use super::limits::{classify, retry_after, RateHeaders, Refusal};
use super::stats::Counters;
use bytes::Bytes;
use chrono::{DateTime, Utc};
use reqwest::header::{HeaderValue, AUTHORIZATION, CONTENT_TYPE, ETAG, IF_NONE_MATCH, LINK};
use reqwest::{Method, StatusCode};
use serde::de::DeserializeOwned;
use serde::Deserialize;
use std::sync::atomic::Ordering;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// How many times one call waits for a primary limit's reset before it
/// gives up (a reset that does not restore the quota fails the call).
const PRIMARY_WAITS: u32 = 2;
/// How much of a body an error quotes.
const BODY_START: usize = 256;

/// A request to make.
pub(crate) struct Call<'a> {
    pub method: Method,
    pub url: &'a str,
    pub body: Option<Bytes>,
    /// It creates content (an issue, a pull request): paced, and never
    /// re-sent after an answer that may mean it took effect.
    pub creates: bool,
    /// The rate-limit resource it counts against.
    pub resource: &'static str,
}

impl<'a> Call<'a> {
    pub fn get(url: &'a str) -> Call<'a> {
        Call {
            method: Method::GET,
            url,
            body: None,
            creates: false,
            resource: "core",
        }
    }

    pub fn create(url: &'a str, body: Bytes) -> Call<'a> {
        Call {
            method: Method::POST,
            url,
            body: Some(body),
            creates: true,
            resource: "core",
        }
    }

    fn is_safe(&self) -> bool {
        self.method == Method::GET || self.method == Method::HEAD
    }
}

/// A successful answer.
#[derive(Debug)]
pub(crate) struct Reply {
    pub status: u16,
    pub body: Bytes,
    /// The `Link` header, for the next page.
    pub link: Option<String>,
}

/// What came back for one request.
struct Answer {
    status: StatusCode,
    rate: RateHeaders,
    retry_after: Option<Duration>,
    etag: Option<HeaderValue>,
    link: Option<String>,
    body: Bytes,
}

/// Counts a request in flight until dropped (also when the call is
/// dropped mid-way), waking a drain when none are left.
struct InFlight<'a>(&'a GitHubEngine);

impl<'a> InFlight<'a> {
    fn new(engine: &'a GitHubEngine) -> Self {
        engine.counters.in_flight.fetch_add(1, Ordering::AcqRel);
        InFlight(engine)
    }
}

impl Drop for InFlight<'_> {
    fn drop(&mut self) {
        if self.0.counters.in_flight.fetch_sub(1, Ordering::AcqRel) == 1 {
            self.0.idle.notify_waiters();
        }
    }
}

impl GitHubEngine {
    /// Makes `call`, following the rate-limit contract and the retry rules;
    /// a 2xx or a 304 served from memory is a [`Reply`].
    pub(crate) async fn send(&self, call: &Call<'_>) -> Result<Reply, GitHubError> {
        let result = self.attempts(call).await;
        if result.is_err() {
            Counters::bump(&self.counters.errors);
        }
        result
    }

    async fn attempts(&self, call: &Call<'_>) -> Result<Reply, GitHubError> {
        let auth = self.authorization()?;
        let safe = call.is_safe();
        let mut attempts = 0u32;
        let mut failures = 0u32;
        let mut secondary = 0u32;
        let mut primary = 0u32;
        loop {
            self.hold(call.resource).await?;
            if call.creates && !self.pace.is_off() {
                self.pace(call.resource).await?;
            }
            let cached = if safe { self.etags.get(call.url) } else { None };
            let outcome = {
                let _permit = match &self.permits {
                    Some(p) => Some(p.acquire().await.expect("the semaphore is never closed")),
                    None => None,
                };
                let _in_flight = InFlight::new(self);
                attempts += 1;
                Counters::bump(&self.counters.requests);
                self.exchange(call, &auth, cached.as_ref()).await
            };
            let answer = match outcome {
                Ok(answer) => answer,
                Err(e) => {
                    // A connection that was never made carried nothing:
                    // trying again cannot duplicate anything.
                    let unsent = e.is_connect();
                    if (safe || unsent) && failures < self.config.retries.attempts {
                        self.back_off(failures).await;
                        failures += 1;
                        continue;
                    }
                    return Err(GitHubError::Transport {
                        problem: self.scrub(&error_chain(&e)),
                        timed_out: e.is_timeout(),
                        attempts,
                        outcome_unknown: call.creates && !unsent,
                    });
                }
            };
            let observed = self.limits.observe(&answer.rate, call.resource, || {
                (self.clock.now(), self.clock.wall())
            });
            if observed.low_changed || observed.exhausted {
                self.pulse.beat();
            }
            let status = answer.status;
            if status.is_success() {
                if let (true, Some(etag)) = (safe && self.etags.is_enabled(), answer.etag) {
                    self.etags.put(call.url, etag, answer.body.clone());
                }
                return Ok(Reply {
                    status: status.as_u16(),
                    body: answer.body,
                    link: answer.link,
                });
            }
            if status == StatusCode::NOT_MODIFIED {
                if let Some(cached) = cached {
                    Counters::bump(&self.counters.not_modified);
                    return Ok(Reply {
                        status: 200,
                        body: cached.body,
                        link: answer.link,
                    });
                }
                return Err(self.malformed(
                    304,
                    "304 Not Modified to a request that was not conditional",
                    &answer.body,
                ));
            }
            let error = ErrorBody::read(&answer.body).scrubbed(|t| self.scrub(t));
            let message = match &error.message {
                Some(m) => m.clone(),
                None => self.fallback_message(status, &answer.body),
            };
            match status {
                StatusCode::UNAUTHORIZED => {
                    self.refuse(&message);
                    return Err(GitHubError::BadCredentials { message });
                }
                StatusCode::FORBIDDEN | StatusCode::TOO_MANY_REQUESTS => {
                    match classify(status, &answer.rate, answer.retry_after, &message) {
                        Refusal::NotRateLimited => {
                            return Err(GitHubError::Forbidden {
                                message,
                                documentation_url: error.documentation_url,
                            })
                        }
                        Refusal::Primary
                            if self.limits.hold(call.resource, self.clock.now()).is_some() =>
                        {
                            Counters::bump(&self.counters.rate_limited);
                            primary += 1;
                            tracing::warn!(service = %self.name, resource = call.resource, "GitHub primary rate limit reached");
                            if primary > PRIMARY_WAITS {
                                return Err(self.hold_error(call.resource));
                            }
                        }
                        // A primary limit without figures to wait by is
                        // waited out like a secondary one.
                        Refusal::Primary | Refusal::Secondary(_) => {
                            Counters::bump(&self.counters.rate_limited);
                            let wait = self.secondary_wait(secondary, answer.retry_after);
                            secondary += 1;
                            self.limits.pause_until(self.clock.now() + wait);
                            self.pulse.beat();
                            tracing::warn!(service = %self.name, wait_s = wait.as_secs(), tries = secondary, "GitHub secondary rate limit");
                            let policy = &self.config.rate_limits;
                            if secondary > policy.secondary_retries || wait > policy.max_wait {
                                return Err(self.rate_limited(
                                    RateLimitKind::Secondary,
                                    call.resource,
                                    wait,
                                    None,
                                ));
                            }
                        }
                    }
                    continue;
                }
                StatusCode::NOT_FOUND => {
                    return Err(GitHubError::NotFound {
                        message,
                        documentation_url: error.documentation_url,
                    })
                }
                StatusCode::GONE => return Err(GitHubError::Gone { message }),
                StatusCode::UNPROCESSABLE_ENTITY => {
                    return Err(GitHubError::Validation {
                        message,
                        errors: error.errors(),
                    })
                }
                s if s.is_server_error() => {
                    if safe && failures < self.config.retries.attempts {
                        self.back_off(failures).await;
                        failures += 1;
                        continue;
                    }
                    return Err(GitHubError::Server {
                        status: s.as_u16(),
                        message,
                        attempts,
                        outcome_unknown: call.creates,
                    });
                }
                s => {
                    return Err(GitHubError::Api {
                        status: s.as_u16(),
                        message,
                    })
                }
            }
        }
    }

    /// The token's header, unless the service is disabled or GitHub has
    /// refused the token.
    fn authorization(&self) -> Result<HeaderValue, GitHubError> {
        let header = match &*self.token.read() {
            Some(t) => t.header.clone(),
            None => {
                return Err(GitHubError::Disabled {
                    service: self.name.clone(),
                })
            }
        };
        if self.refused.load(Ordering::Acquire) {
            let why = self.refusal.lock().clone().unwrap_or_default();
            return Err(GitHubError::BadCredentials {
                message: format!("{why} (not sent: GitHub refused this token; set a new one)"),
            });
        }
        Ok(header)
    }

    fn refuse(&self, message: &str) {
        *self.refusal.lock() = Some(message.to_string());
        self.refused.store(true, Ordering::Release);
        tracing::error!(service = %self.name, "GitHub refused the token (401); no further requests are sent");
        self.pulse.beat();
    }

    /// Waits while a rate limit holds requests on `resource` back, or fails
    /// if the wait would be longer than `max_wait`.
    async fn hold(&self, resource: &str) -> Result<(), GitHubError> {
        loop {
            let now = self.clock.now();
            let Some(hold) = self.limits.hold(resource, now) else {
                return Ok(());
            };
            let wait = hold.until - now;
            if wait > self.config.rate_limits.max_wait {
                return Err(self.rate_limited(hold.kind, resource, wait, hold.reset));
            }
            Counters::bump(&self.counters.waits);
            tracing::debug!(service = %self.name, resource, wait_ms = wait.as_millis() as u64, kind = %hold.kind, "waiting for a GitHub rate limit");
            self.clock.sleep_until(hold.until).await;
        }
    }

    /// The error for the hold now on `resource`.
    fn hold_error(&self, resource: &str) -> GitHubError {
        let now = self.clock.now();
        match self.limits.hold(resource, now) {
            Some(h) => self.rate_limited(h.kind, resource, h.until - now, h.reset),
            None => self.rate_limited(RateLimitKind::Primary, resource, Duration::ZERO, None),
        }
    }

    /// Waits for the slot of a content-creating request.
    async fn pace(&self, resource: &str) -> Result<(), GitHubError> {
        let now = self.clock.now();
        match self.pace.reserve(now, self.config.rate_limits.max_wait) {
            Ok(slot) => {
                if slot > now {
                    Counters::bump(&self.counters.waits);
                    self.clock.sleep_until(slot).await;
                }
                Ok(())
            }
            Err(wait) => Err(self.rate_limited(RateLimitKind::ContentBudget, resource, wait, None)),
        }
    }

    fn rate_limited(
        &self,
        kind: RateLimitKind,
        resource: &str,
        wait: Duration,
        reset: Option<u64>,
    ) -> GitHubError {
        let at = match reset {
            Some(secs) => UNIX_EPOCH + Duration::from_secs(secs),
            None => self.clock.wall() + wait,
        };
        GitHubError::RateLimited {
            kind,
            resource: resource.to_string(),
            retry_after: wait,
            retry_at: DateTime::<Utc>::from(at.max(SystemTime::UNIX_EPOCH)),
        }
    }

    /// The wait after the `n`th secondary limit of a call (from 0): GitHub's
    /// `retry-after` if it sent one (and the backoff once it persists),
    /// else the backoff, which starts at a minute.
    fn secondary_wait(&self, n: u32, retry_after: Option<Duration>) -> Duration {
        let backoff = self.config.rate_limits.secondary_backoff.jittered(n);
        match retry_after {
            Some(ra) if n == 0 => ra,
            Some(ra) => ra.max(backoff),
            None => backoff,
        }
    }

    /// Waits before retrying after the `n`th failure (from 0).
    async fn back_off(&self, n: u32) {
        Counters::bump(&self.counters.retries);
        let delay = self.config.retries.backoff.jittered(n);
        tracing::debug!(service = %self.name, delay_ms = delay.as_millis() as u64, "retrying a GitHub request");
        if !delay.is_zero() {
            self.clock.sleep_until(self.clock.now() + delay).await;
        }
    }

    /// Sends one request and reads the whole answer.
    async fn exchange(
        &self,
        call: &Call<'_>,
        auth: &HeaderValue,
        cached: Option<&Cached>,
    ) -> Result<Answer, reqwest::Error> {
        let mut request = self
            .client
            .request(call.method.clone(), call.url)
            .header(AUTHORIZATION, auth.clone());
        if let Some(c) = cached {
            request = request.header(IF_NONE_MATCH, c.etag.clone());
        }
        if let Some(body) = &call.body {
            request = request
                .header(CONTENT_TYPE, "application/json")
                .body(body.clone());
        }
        let response = request.send().await?;
        let status = response.status();
        let headers = response.headers();
        let rate = RateHeaders::read(headers);
        let retry_after = retry_after(headers);
        let etag = headers.get(ETAG).cloned();
        let link = headers
            .get(LINK)
            .and_then(|v| v.to_str().ok())
            .map(str::to_string);
        let body = response.bytes().await?;
        Ok(Answer {
            status,
            rate,
            retry_after,
            etag,
            link,
            body,
        })
    }

    /// Reads a successful answer's body as `T`.
    pub(crate) fn decode<T: DeserializeOwned>(&self, reply: &Reply) -> Result<T, GitHubError> {
        serde_json::from_slice(&reply.body)
            .map_err(|e| self.malformed(reply.status, &e.to_string(), &reply.body))
    }

    pub(crate) fn malformed(&self, status: u16, problem: &str, body: &[u8]) -> GitHubError {
        GitHubError::Malformed {
            status,
            problem: self.scrub(problem),
            body_start: self.body_start(body),
        }
    }

    /// The first bytes of `body` as text, scrubbed of the token (before
    /// cutting, so no part of it is left at the cut).
    fn body_start(&self, body: &[u8]) -> String {
        let text = self.scrub(&String::from_utf8_lossy(body));
        match text.char_indices().nth(BODY_START) {
            Some((cut, _)) => text[..cut].to_string(),
            None => text,
        }
    }

    fn fallback_message(&self, status: StatusCode, body: &[u8]) -> String {
        let start = self.body_start(body);
        if start.trim().is_empty() {
            status
                .canonical_reason()
                .unwrap_or("no message")
                .to_string()
        } else {
            start
        }
    }
}

/// An error and its sources, as one line.
fn error_chain(e: &dyn std::error::Error) -> String {
    let mut text = e.to_string();
    let mut source = e.source();
    while let Some(s) = source {
        let more = s.to_string();
        if !text.contains(&more) {
            text.push_str(": ");
            text.push_str(&more);
        }
        source = s.source();
    }
    text
}

/// GitHub's error body: `{"message": …, "documentation_url": …, "errors": [...]}`.
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct ErrorBody {
    message: Option<String>,
    documentation_url: Option<String>,
    errors: Vec<ErrorItem>,
}

/// An entry of `errors`: usually an object, sometimes a bare string.
#[derive(Debug, Deserialize)]
#[serde(untagged)]
enum ErrorItem {
    Field(FieldError),
    Text(String),
}

impl ErrorBody {
    fn read(body: &[u8]) -> ErrorBody {
        serde_json::from_slice(body).unwrap_or_default()
    }

    /// The same body with every text passed through `scrub`.
    fn scrubbed(self, scrub: impl Fn(&str) -> String) -> ErrorBody {
        let s = |t: Option<String>| t.map(|t| scrub(&t));
        ErrorBody {
            message: s(self.message),
            documentation_url: s(self.documentation_url),
            errors: self
                .errors
                .into_iter()
                .map(|e| match e {
                    ErrorItem::Field(f) => ErrorItem::Field(FieldError {
                        resource: s(f.resource),
                        field: s(f.field),
                        code: s(f.code),
                        message: s(f.message),
                    }),
                    ErrorItem::Text(t) => ErrorItem::Text(scrub(&t)),
                })
                .collect(),
        }
    }

    fn errors(self) -> Vec<FieldError> {
        self.errors
            .into_iter()
            .map(|e| match e {
                ErrorItem::Field(f) => f,
                ErrorItem::Text(message) => FieldError {
                    message: Some(message),
                    ..FieldError::default()
                },
            })
            .collect()
    }
}
