//! Health reports: what the registry knows about one service, and the
//! snapshot of a whole tree.
//!
//! Every field is plain data and serializes with serde, so a snapshot can be
//! served as JSON as it is:
//!
//! ```
//! use servitor::health::HealthReport;
//! use servitor::Status;
//!
//! let report = HealthReport::new("ingest", "app/ingest", Status::Ok);
//! let json = serde_json::to_value(&report).unwrap();
//! assert_eq!(json["status"], "ok");
//! assert_eq!(json["name"], "ingest");
//! ```

use crate::status::{aggregate, Status};
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
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
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
    /// How long the current incarnation has been running, in milliseconds.
    pub uptime_ms: u64,
    /// How many times the supervisor restarted this service.
    pub restarts: u32,
    /// The reason of the last abnormal exit (error text or panic message).
    pub last_failure: Option<String>,
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
            details: Details::new(),
        }
    }
}

/// The health of a whole runtime at one moment.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct HealthSnapshot {
    /// Worst status over every service and supervisor.
    pub status: Status,
    /// One report per registered service and supervisor, ordered by path.
    pub services: Vec<HealthReport>,
}

impl HealthSnapshot {
    /// Builds a snapshot from reports, sorting them by path.
    pub fn from_reports(mut services: Vec<HealthReport>) -> Self {
        services.sort_by(|a, b| a.path.cmp(&b.path));
        let status = aggregate(services.iter().map(|r| r.status));
        HealthSnapshot { status, services }
    }

    /// The report of one service by name.
    pub fn get(&self, name: &str) -> Option<&HealthReport> {
        self.services.iter().find(|r| r.name == name)
    }

    /// Worst status within the subtree rooted at `path` (the node itself and
    /// everything below it); `None` if no node has that path.
    pub fn subtree(&self, path: &str) -> Option<Status> {
        let mut found = false;
        let worst = aggregate(
            self.services
                .iter()
                .filter(|r| in_subtree(&r.path, path))
                .inspect(|_| found = true)
                .map(|r| r.status),
        );
        found.then_some(worst)
    }

    /// A fixed-width text table, one line per service, for terminals and logs.
    pub fn table(&self) -> String {
        let mut out = format!(
            "{:<32} {:<9} {:>8} {:>10}  {}\n",
            "SERVICE", "STATUS", "RESTARTS", "UPTIME", "MESSAGE"
        );
        for r in &self.services {
            let depth = r.path.matches('/').count();
            let name = format!("{}{}", "  ".repeat(depth), r.name);
            let message = r
                .message
                .as_deref()
                .or(r.last_failure.as_deref())
                .unwrap_or("");
            out.push_str(&format!(
                "{:<32} {:<9} {:>8} {:>9.1}s  {}\n",
                name,
                r.status.as_str(),
                r.restarts,
                r.uptime_ms as f64 / 1000.0,
                message
            ));
        }
        out.push_str(&format!("overall: {}\n", self.status));
        out
    }
}

/// True when `path` is `root` or lies below it.
pub(crate) fn in_subtree(path: &str, root: &str) -> bool {
    path == root || (path.starts_with(root) && path.as_bytes().get(root.len()) == Some(&b'/'))
}

pub(crate) fn unix_ms(t: SystemTime) -> u64 {
    t.duration_since(UNIX_EPOCH)
        .map(|d| d.as_millis() as u64)
        .unwrap_or(0)
}
