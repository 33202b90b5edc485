//! The rate-limit status: `GET /rate_limit` (which costs no quota), and
//! the figures every answer carries in its `x-ratelimit-*` headers.

use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// One resource's quota: how much of it is left and when it comes back.
///
/// ```
/// use servitor::github::RateLimit;
///
/// let core: RateLimit = serde_json::from_str(
///     r#"{"limit": 5000, "used": 1, "remaining": 4999, "reset": 1691591363}"#,
/// ).unwrap();
/// assert_eq!(core.remaining, 4999);
/// assert!(!core.is_low());
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[non_exhaustive]
pub struct RateLimit {
    /// Requests allowed per window (an hour for `core`).
    pub limit: u64,
    /// Requests left in this window.
    pub remaining: u64,
    /// Requests made in this window.
    #[serde(default)]
    pub used: u64,
    /// When the window resets, in seconds since the Unix epoch.
    pub reset: u64,
    /// The resource (`core`, `search`, `graphql`, …), when GitHub names it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub resource: Option<String>,
}

impl RateLimit {
    /// When the window resets.
    pub fn reset_at(&self) -> SystemTime {
        UNIX_EPOCH + Duration::from_secs(self.reset)
    }

    /// Whether less than 10 % of the limit is left.
    pub fn is_low(&self) -> bool {
        self.limit > 0 && self.remaining.saturating_mul(10) < self.limit
    }
}

/// The answer of `GET /rate_limit`: every resource's quota.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct RateLimitOverview {
    /// Quota per resource (`core`, `search`, `graphql`,
    /// `integration_manifest`, `code_search`, …).
    pub resources: BTreeMap<String, RateLimit>,
    /// The `core` quota again (kept by GitHub for older clients).
    #[serde(default)]
    pub rate: Option<RateLimit>,
}

impl RateLimitOverview {
    /// The quota of the REST API's `core` resource.
    pub fn core(&self) -> Option<&RateLimit> {
        self.resources.get("core")
    }
}
