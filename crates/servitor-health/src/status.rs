//! The one status type every service, supervisor and subtree is described by.
//!
//! A [`Status`] covers both where a service is in its lifecycle (starting,
//! stopping, stopped) and how well it is doing while it runs (ok, warning,
//! degraded, error). Statuses are totally ordered by [severity](Status::severity),
//! so the health of a group is simply its worst member: see [`aggregate`].
//!
//! ```
//! use servitor_health::{aggregate, Status};
//!
//! let overall = aggregate([Status::Ok, Status::Ok, Status::Degraded, Status::Error]);
//! assert_eq!(overall, Status::Error);
//! assert_eq!(aggregate(std::iter::empty()), Status::Unknown);
//! ```

use serde::{Deserialize, Serialize};
use std::fmt;

/// The lifecycle stage or condition of a service.
///
/// Variants are declared from least to most severe; `Ord` follows
/// [`severity`](Status::severity), so `max` picks the worst.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Status {
    /// Running and healthy.
    Ok,
    /// Running, healthy, with nothing to do.
    Idle,
    /// Running, healthy, working at capacity.
    Busy,
    /// Stopped on purpose; nothing is wrong.
    Stopped,
    /// Start requested, start hook not finished yet.
    Starting,
    /// Stop requested, stop hook not finished yet.
    Stopping,
    /// Nothing has been reported yet.
    Unknown,
    /// Running, but something needs attention (e.g. one failed tick).
    Warning,
    /// Running with reduced service (e.g. repeated failures, lagging consumers).
    Degraded,
    /// Alive but silent: no heartbeat within the allowed multiple of its interval.
    Stale,
    /// A runtime fault: the service crashed and is waiting to be restarted, or
    /// reported an error while still running.
    Error,
    /// Cannot start, or its supervisor gave up on it.
    Failed,
}

impl Status {
    /// Every status, from least to most severe.
    pub const ALL: [Status; 12] = [
        Status::Ok,
        Status::Idle,
        Status::Busy,
        Status::Stopped,
        Status::Starting,
        Status::Stopping,
        Status::Unknown,
        Status::Warning,
        Status::Degraded,
        Status::Stale,
        Status::Error,
        Status::Failed,
    ];

    /// Rank used for worst-wins aggregation: higher is worse.
    ///
    /// ```
    /// use servitor_health::Status;
    /// assert!(Status::Failed.severity() > Status::Error.severity());
    /// assert!(Status::Degraded.severity() > Status::Warning.severity());
    /// ```
    pub const fn severity(self) -> u8 {
        self as u8
    }

    /// True for the statuses of a running service in good shape (ok, idle, busy).
    pub const fn is_healthy(self) -> bool {
        matches!(self, Status::Ok | Status::Idle | Status::Busy)
    }

    /// True for the statuses that say something is wrong (warning,
    /// degraded, stale, error, failed).
    pub const fn is_fault(self) -> bool {
        matches!(
            self,
            Status::Warning | Status::Degraded | Status::Stale | Status::Error | Status::Failed
        )
    }

    /// The status name as it appears in JSON (`"degraded"`).
    pub const fn as_str(self) -> &'static str {
        match self {
            Status::Ok => "ok",
            Status::Idle => "idle",
            Status::Busy => "busy",
            Status::Stopped => "stopped",
            Status::Starting => "starting",
            Status::Stopping => "stopping",
            Status::Unknown => "unknown",
            Status::Warning => "warning",
            Status::Degraded => "degraded",
            Status::Stale => "stale",
            Status::Error => "error",
            Status::Failed => "failed",
        }
    }
}

impl PartialOrd for Status {
    fn partial_cmp(&self, other: &Self) -> Option<std::cmp::Ordering> {
        Some(self.cmp(other))
    }
}

impl Ord for Status {
    fn cmp(&self, other: &Self) -> std::cmp::Ordering {
        self.severity().cmp(&other.severity())
    }
}

impl fmt::Display for Status {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The worst status of a group; [`Status::Unknown`] for an empty group.
pub fn aggregate(statuses: impl IntoIterator<Item = Status>) -> Status {
    statuses.into_iter().max().unwrap_or(Status::Unknown)
}
