//! GitHub's rate-limit contract, as state: the figures every answer
//! carries, the holds they put on further requests, how a 403 or 429 is
//! read, and the pace of content-creating requests.
//!
//! Decisions are made from the headers and the message, never from the
//! status alone:
//!
//! * `x-ratelimit-remaining: 0` on a 403 or 429 is the **primary** limit;
//! * a message about a secondary rate limit (or abuse detection), or a
//!   `retry-after` header, is the **secondary** limit; so is a 429 with no
//!   further sign, since that status means "too many requests";
//! * a 403 with none of these is a permission problem.

use super::error::RateLimitKind;
use super::models::RateLimit;
use parking_lot::Mutex;
use reqwest::header::{HeaderMap, HeaderValue};
use reqwest::StatusCode;
use std::collections::{BTreeMap, HashMap, VecDeque};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

/// Waiting for a reset starts this much after GitHub's reset second, so a
/// clock slightly ahead of GitHub's does not retry too early.
pub(crate) const RESET_MARGIN: Duration = Duration::from_secs(1);

/// The `x-ratelimit-*` headers of one answer.
#[derive(Debug, Default, Clone)]
pub(crate) struct RateHeaders {
    pub limit: Option<u64>,
    pub remaining: Option<u64>,
    pub used: Option<u64>,
    pub reset: Option<u64>,
    pub resource: Option<HeaderValue>,
}

fn number(headers: &HeaderMap, name: &str) -> Option<u64> {
    headers.get(name)?.to_str().ok()?.trim().parse().ok()
}

impl RateHeaders {
    pub fn read(headers: &HeaderMap) -> RateHeaders {
        RateHeaders {
            limit: number(headers, "x-ratelimit-limit"),
            remaining: number(headers, "x-ratelimit-remaining"),
            used: number(headers, "x-ratelimit-used"),
            reset: number(headers, "x-ratelimit-reset"),
            resource: headers.get("x-ratelimit-resource").cloned(),
        }
    }
}

/// `retry-after` in seconds (GitHub sends seconds; an HTTP date is not
/// used by GitHub and reads as absent).
pub(crate) fn retry_after(headers: &HeaderMap) -> Option<Duration> {
    number(headers, "retry-after").map(Duration::from_secs)
}

/// What a 403 or 429 means.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Refusal {
    /// The resource's quota is used up.
    Primary,
    /// A secondary limit, with GitHub's `retry-after` if it sent one.
    Secondary(Option<Duration>),
    /// No sign of a rate limit.
    NotRateLimited,
}

/// Reads a 403 or 429 by its headers and message.
pub(crate) fn classify(
    status: StatusCode,
    rate: &RateHeaders,
    retry_after: Option<Duration>,
    message: &str,
) -> Refusal {
    if rate.remaining == Some(0) {
        return Refusal::Primary;
    }
    let lower = message.to_ascii_lowercase();
    if lower.contains("secondary rate limit")
        || lower.contains("abuse detection")
        || lower.contains("rate limit")
        || retry_after.is_some()
        || status == StatusCode::TOO_MANY_REQUESTS
    {
        return Refusal::Secondary(retry_after);
    }
    Refusal::NotRateLimited
}

/// One resource's figures as last seen, and the hold its exhaustion puts
/// on further requests.
#[derive(Debug, Clone, Default)]
struct Figures {
    limit: u64,
    remaining: u64,
    used: u64,
    reset: u64,
    /// No request on this resource before this (quota used up).
    blocked_until: Option<Instant>,
}

/// A hold on sending: until when, and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Hold {
    pub until: Instant,
    pub kind: RateLimitKind,
    /// The primary limit's reset, in seconds since the Unix epoch.
    pub reset: Option<u64>,
}

/// What an answer's figures changed.
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct Observed {
    /// The resource's quota is now used up.
    pub exhausted: bool,
    /// The resource went below 10 % of its limit, or came back above it.
    pub low_changed: bool,
}

/// The rate-limit state of one client.
#[derive(Default)]
pub(crate) struct Limits {
    resources: Mutex<HashMap<String, Figures>>,
    /// After a secondary limit: nothing is sent before this.
    pause: Mutex<Option<Instant>>,
}

impl Limits {
    /// Records an answer's figures (for `fallback` when it names no
    /// resource). `now` and `wall` are read only if the quota is used up.
    pub fn observe(
        &self,
        rate: &RateHeaders,
        fallback: &str,
        now: impl FnOnce() -> (Instant, SystemTime),
    ) -> Observed {
        let Some(remaining) = rate.remaining else {
            return Observed::default();
        };
        let resource = rate
            .resource
            .as_ref()
            .and_then(|v| v.to_str().ok())
            .unwrap_or(fallback);
        let mut resources = self.resources.lock();
        let figures = match resources.get_mut(resource) {
            Some(f) => f,
            None => resources.entry(resource.to_string()).or_default(),
        };
        let was_low = is_low(figures.limit, figures.remaining);
        let limit = rate.limit.unwrap_or(figures.limit);
        figures.limit = limit;
        figures.remaining = remaining;
        figures.used = rate.used.unwrap_or(limit.saturating_sub(remaining));
        figures.reset = rate.reset.unwrap_or(figures.reset);
        let mut observed = Observed {
            exhausted: false,
            low_changed: was_low != is_low(limit, remaining),
        };
        if remaining == 0 {
            let (now, wall) = now();
            figures.blocked_until = Some(now + until_reset(figures.reset, wall));
            observed.exhausted = true;
        } else {
            figures.blocked_until = None;
        }
        observed
    }

    /// Records every resource of a `GET /rate_limit` answer (at `now` and
    /// `wall`): an exhausted one holds requests until its reset.
    pub fn observe_overview(
        &self,
        resources: &BTreeMap<String, RateLimit>,
        now: Instant,
        wall: SystemTime,
    ) {
        let mut map = self.resources.lock();
        for (name, rl) in resources {
            let f = map.entry(name.clone()).or_default();
            f.limit = rl.limit;
            f.remaining = rl.remaining;
            f.used = rl.used;
            f.reset = rl.reset;
            f.blocked_until = (rl.remaining == 0).then(|| now + until_reset(rl.reset, wall));
        }
    }

    /// What holds a request on `resource` back at `now`, if anything: the
    /// later of the resource's exhaustion and a secondary pause.
    pub fn hold(&self, resource: &str, now: Instant) -> Option<Hold> {
        let mut hold = None;
        {
            let resources = self.resources.lock();
            if let Some(f) = resources.get(resource) {
                if let Some(until) = f.blocked_until.filter(|u| *u > now) {
                    hold = Some(Hold {
                        until,
                        kind: RateLimitKind::Primary,
                        reset: Some(f.reset),
                    });
                }
            }
        }
        if let Some(until) = self.pause.lock().filter(|u| *u > now) {
            if hold.as_ref().is_none_or(|h| until > h.until) {
                hold = Some(Hold {
                    until,
                    kind: RateLimitKind::Secondary,
                    reset: None,
                });
            }
        }
        hold
    }

    /// Holds every request back until `until` (a secondary limit).
    pub fn pause_until(&self, until: Instant) {
        let mut pause = self.pause.lock();
        if pause.is_none_or(|p| p < until) {
            *pause = Some(until);
        }
    }

    /// The figures of every resource seen, with the quota of windows that
    /// have reset (by `wall`) shown as restored.
    pub fn snapshot(&self, wall: SystemTime) -> BTreeMap<String, RateLimit> {
        let now = unix(wall);
        self.resources
            .lock()
            .iter()
            .map(|(name, f)| {
                let reset_passed = f.reset > 0 && f.reset <= now;
                let (remaining, used) = if reset_passed {
                    (f.limit, 0)
                } else {
                    (f.remaining, f.used)
                };
                let rl = RateLimit {
                    limit: f.limit,
                    remaining,
                    used,
                    reset: f.reset,
                    resource: Some(name.clone()),
                };
                (name.clone(), rl)
            })
            .collect()
    }
}

fn is_low(limit: u64, remaining: u64) -> bool {
    limit > 0 && remaining.saturating_mul(10) < limit
}

/// Seconds since the Unix epoch.
pub(crate) fn unix(t: SystemTime) -> u64 {
    t.duration_since(UNIX_EPOCH).map_or(0, |d| d.as_secs())
}

/// How long from `wall` until the reset second `reset` has passed, plus
/// the margin.
pub(crate) fn until_reset(reset: u64, wall: SystemTime) -> Duration {
    let at = UNIX_EPOCH + Duration::from_secs(reset);
    at.duration_since(wall).unwrap_or(Duration::ZERO) + RESET_MARGIN
}

/// The pace of content-creating requests: evenly spaced to a per-minute
/// rate, and at most so many an hour.
pub(crate) struct ContentPace {
    spacing: Option<Duration>,
    per_hour: usize,
    state: Mutex<Pace>,
}

#[derive(Default)]
struct Pace {
    /// The earliest the next one may go.
    next: Option<Instant>,
    /// When the ones of the last hour went (or will go), oldest first.
    sent: VecDeque<Instant>,
}

const HOUR: Duration = Duration::from_secs(3600);

impl ContentPace {
    pub fn new(per_minute: u32, per_hour: u32) -> ContentPace {
        ContentPace {
            spacing: (per_minute > 0).then(|| Duration::from_secs(60) / per_minute),
            per_hour: per_hour as usize,
            state: Mutex::new(Pace::default()),
        }
    }

    pub fn is_off(&self) -> bool {
        self.spacing.is_none() && self.per_hour == 0
    }

    /// Reserves the slot of the next content-creating request at or after
    /// `now`, unless that is more than `max_wait` away: then `Err` with the
    /// wait, and nothing is reserved.
    pub fn reserve(&self, now: Instant, max_wait: Duration) -> Result<Instant, Duration> {
        let mut pace = self.state.lock();
        let mut slot = pace.next.map_or(now, |n| n.max(now));
        if self.per_hour > 0 {
            while pace.sent.front().is_some_and(|t| *t + HOUR <= slot) {
                pace.sent.pop_front();
            }
            if pace.sent.len() >= self.per_hour {
                let frees = pace.sent[pace.sent.len() - self.per_hour] + HOUR;
                slot = slot.max(frees);
            }
        }
        let wait = slot - now;
        if wait > max_wait {
            return Err(wait);
        }
        if let Some(spacing) = self.spacing {
            pace.next = Some(slot + spacing);
        }
        if self.per_hour > 0 {
            pace.sent.push_back(slot);
        }
        Ok(slot)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn secs(n: u64) -> Duration {
        Duration::from_secs(n)
    }

    #[test]
    fn refusals_are_read_by_headers_and_message() {
        let exhausted = RateHeaders {
            remaining: Some(0),
            ..RateHeaders::default()
        };
        let plenty = RateHeaders {
            remaining: Some(10),
            ..RateHeaders::default()
        };
        let forbidden = StatusCode::FORBIDDEN;
        assert_eq!(
            classify(forbidden, &exhausted, None, "API rate limit exceeded"),
            Refusal::Primary
        );
        assert_eq!(
            classify(
                forbidden,
                &plenty,
                None,
                "You have exceeded a secondary rate limit. Please wait a few minutes"
            ),
            Refusal::Secondary(None)
        );
        assert_eq!(
            classify(forbidden, &plenty, Some(secs(30)), "whatever"),
            Refusal::Secondary(Some(secs(30)))
        );
        assert_eq!(
            classify(StatusCode::TOO_MANY_REQUESTS, &plenty, None, ""),
            Refusal::Secondary(None)
        );
        assert_eq!(
            classify(
                forbidden,
                &plenty,
                None,
                "Resource not accessible by integration"
            ),
            Refusal::NotRateLimited
        );
    }

    #[test]
    fn content_requests_are_spaced_and_budgeted_per_hour() {
        let pace = ContentPace::new(60, 3);
        let t0 = Instant::now();
        let big = secs(10_000);
        assert_eq!(pace.reserve(t0, big), Ok(t0));
        assert_eq!(pace.reserve(t0, big), Ok(t0 + secs(1)));
        assert_eq!(pace.reserve(t0, big), Ok(t0 + secs(2)));
        // The fourth in the hour waits until the first is an hour old.
        assert_eq!(pace.reserve(t0, secs(10)), Err(HOUR));
        assert_eq!(pace.reserve(t0, big), Ok(t0 + HOUR));
        let spaced_only = ContentPace::new(60, 0);
        assert_eq!(spaced_only.reserve(t0, Duration::ZERO), Ok(t0));
        assert_eq!(spaced_only.reserve(t0, Duration::ZERO), Err(secs(1)));
        assert!(ContentPace::new(0, 0).is_off());
    }

    #[test]
    fn an_exhausted_resource_holds_until_its_reset_and_a_later_answer_releases_it() {
        let limits = Limits::default();
        let t0 = Instant::now();
        let wall = UNIX_EPOCH + secs(1_000);
        let exhausted = RateHeaders {
            limit: Some(5000),
            remaining: Some(0),
            used: Some(5000),
            reset: Some(1_030),
            resource: Some(HeaderValue::from_static("core")),
        };
        assert!(limits.observe(&exhausted, "core", || (t0, wall)).exhausted);
        let hold = limits.hold("core", t0).unwrap();
        assert_eq!(hold.until, t0 + secs(31));
        assert_eq!(hold.kind, RateLimitKind::Primary);
        assert!(limits.hold("search", t0).is_none());
        let fresh = RateHeaders {
            remaining: Some(4999),
            reset: Some(4_600),
            ..exhausted
        };
        limits.observe(&fresh, "core", || unreachable!());
        assert!(limits.hold("core", t0).is_none());
        assert_eq!(limits.snapshot(wall)["core"].remaining, 4999);
    }
}
