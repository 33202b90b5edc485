//! Health reports: what the registry knows about one service, and the
//! snapshot of a whole tree — the data types of the
//! [`servitor-health`](servitor_health) crate, which programs that only
//! read health (a CLI, a dashboard) use without the runtime.
//!
//! ```
//! use servitor::health::HealthReport;
//! use servitor::Status;
//!
//! let report = HealthReport::new("ingest", "app/ingest", Status::Ok);
//! assert_eq!(serde_json::to_value(&report).unwrap()["status"], "ok");
//! ```

pub use servitor_health::{in_subtree, Details, HealthReport, HealthSnapshot, NodeKind};

use std::time::{SystemTime, UNIX_EPOCH};

pub(crate) fn unix_ms(t: SystemTime) -> u64 {
    t.duration_since(UNIX_EPOCH)
        .map(|d| d.as_millis() as u64)
        .unwrap_or(0)
}
