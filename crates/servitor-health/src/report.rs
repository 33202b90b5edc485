//! One service's health report.
//!
//! Every field is plain data and serializes with serde:
//!
//! ```
//! use servitor_health::{HealthReport, Status};
//!
//! let report = HealthReport::new("ingest", "app/ingest", Status::Ok);
//! let json = serde_json::to_value(&report).unwrap();
//! assert_eq!(json["status"], "ok");
//! assert_eq!(json["name"], "ingest");
//! ```

use crate::status::Status;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::time::{SystemTime, UNIX_EPOCH};

/// Free-form observed values a service attaches to its health (queue depth,
/// hit ratio, last run …), keyed by name.
pub type Details = BTreeMap<String, serde_json::Value>;

/// What kind of node of the supervision tree a report describes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum NodeKind {
    /// A service (worker) actor.
    Service,
    /// A supervisor actor.
    Supervisor,
}

/// The health of one service (or supervisor) as last reported.
///
/// Fields added in later versions deserialize with a default, so a reader
/// built against this version reads reports of older writers.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct HealthReport {
    /// The service's name, unique within its runtime.
    pub name: String,
    /// Names from the root supervisor down to this one, joined by `/`.
    pub path: String,
    /// Service or supervisor.
    pub kind: NodeKind,
    /// Current status.
    pub status: Status,
    /// Why it is in this status, if anybody said.
    pub message: Option<String>,
    /// When the current status began, in milliseconds since the Unix epoch.
    pub status_since_ms: u64,
    /// How long the current incarnation has been running, in milliseconds
    /// (0 while it is not running).
    pub uptime_ms: u64,
    /// How many times this service was restarted since its runtime started:
    /// after its own exits and as a member of a sibling's group restart, also
    /// across restarts of its supervisor.
    pub restarts: u32,
    /// The reason of the last abnormal exit (error text or panic message).
    /// Kept after it recovers: the current condition is `status` and
    /// `message`.
    pub last_failure: Option<String>,
    /// When a pending restart is due, in milliseconds since the Unix epoch
    /// (the service waits out its restart backoff).
    #[serde(default)]
    pub restart_at_ms: Option<u64>,
    /// For a service that ended for good (a temporary or transient child that
    /// finished or failed and is not restarted): when, in milliseconds since
    /// the Unix epoch. Its report is kept for a while as a final record.
    #[serde(default)]
    pub ended_at_ms: Option<u64>,
    /// How long the last health check of the running incarnation took, in
    /// microseconds (`None` before its first check).
    #[serde(default)]
    pub check_duration_us: Option<u64>,
    /// Observed values (queue depth, counters …).
    pub details: Details,
}

impl HealthReport {
    /// A report with the given identity and status, everything else empty.
    pub fn new(name: impl Into<String>, path: impl Into<String>, status: Status) -> Self {
        HealthReport {
            name: name.into(),
            path: path.into(),
            kind: NodeKind::Service,
            status,
            message: None,
            status_since_ms: unix_ms(SystemTime::now()),
            uptime_ms: 0,
            restarts: 0,
            last_failure: None,
            restart_at_ms: None,
            ended_at_ms: None,
            check_duration_us: None,
            details: Details::new(),
        }
    }

    /// Whether this is the final record of a service that ended for good.
    pub fn is_ended(&self) -> bool {
        self.ended_at_ms.is_some()
    }

    /// Whether the report counts toward the health of its tree: a live
    /// service always does; the final record of an ended one only while it
    /// shows a fault (a crashed job leaves a trace, a finished one does not
    /// make the tree look stopped).
    pub fn counts_toward_health(&self) -> bool {
        !self.is_ended() || self.status.is_fault()
    }
}

pub(crate) fn unix_ms(t: SystemTime) -> u64 {
    t.duration_since(UNIX_EPOCH)
        .map(|d| d.as_millis() as u64)
        .unwrap_or(0)
}
