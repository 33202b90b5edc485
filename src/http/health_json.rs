//! `/health` in the shape of the IETF draft "Health Check Response Format
//! for HTTP APIs" (`application/health+json`), and the probe verdicts.
//!
//! ```json
//! {
//!   "status": "warn",
//!   "serviceId": "app",
//!   "description": "health of the supervision tree `app`",
//!   "output": "overall: degraded (9 services: 1 degraded)",
//!   "checks": {
//!     "jobs:uptime": [{ "componentId": "jobs", "componentType": "component",
//!                       "observedValue": 12.5, "observedUnit": "s",
//!                       "status": "pass", "time": "2026-12-01T13:04:05.123Z" }],
//!     "jobs:queueDepth": [{ "componentId": "jobs", "componentType": "component",
//!                           "observedValue": 3, "observedUnit": "tasks",
//!                           "status": "pass", "time": "2026-12-01T13:04:05.123Z" }],
//!     "db:responseTime": [{ "componentId": "db", "componentType": "datastore",
//!                           "observedValue": 250.1, "observedUnit": "ms", "status": "warn",
//!                           "time": "…", "output": "the probe took 250 ms" }]
//!   }
//! }
//! ```

use super::kinds::{self, Kind};
use super::time::rfc3339;
use crate::health::{in_subtree, HealthReport, HealthSnapshot};
use crate::status::Status;
use serde::{Deserialize, Serialize};
use serde_json::{json, Map, Value};

/// A check's status in the draft's terms.
///
/// ```
/// use servitor::http::CheckStatus;
/// use servitor::Status;
///
/// assert_eq!(CheckStatus::of(Status::Busy), CheckStatus::Pass);
/// assert_eq!(CheckStatus::of(Status::Degraded), CheckStatus::Warn);
/// assert_eq!(CheckStatus::of(Status::Stale), CheckStatus::Fail);
/// assert_eq!(CheckStatus::Warn.http_code(), 200);
/// assert_eq!(CheckStatus::Fail.http_code(), 503);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CheckStatus {
    /// Healthy: ok, idle or busy (and stopped on purpose).
    Pass,
    /// Healthy, with a concern: warning or degraded, and the passing states
    /// starting, stopping and unknown.
    Warn,
    /// Unhealthy: error, failed or stale.
    Fail,
}

impl CheckStatus {
    /// The draft's status for a service status.
    pub const fn of(status: Status) -> CheckStatus {
        match status {
            Status::Ok | Status::Idle | Status::Busy | Status::Stopped => CheckStatus::Pass,
            Status::Warning
            | Status::Degraded
            | Status::Starting
            | Status::Stopping
            | Status::Unknown => CheckStatus::Warn,
            Status::Error | Status::Failed | Status::Stale => CheckStatus::Fail,
        }
    }

    /// The HTTP status code a response with this status has: 200 for pass
    /// and warn, 503 for fail.
    pub const fn http_code(self) -> u16 {
        match self {
            CheckStatus::Pass | CheckStatus::Warn => 200,
            CheckStatus::Fail => 503,
        }
    }

    /// `"pass"`, `"warn"` or `"fail"`.
    pub const fn as_str(self) -> &'static str {
        match self {
            CheckStatus::Pass => "pass",
            CheckStatus::Warn => "warn",
            CheckStatus::Fail => "fail",
        }
    }
}

/// The reports of a snapshot that count for a verdict: live services and
/// final records that show a fault.
fn counted(reports: &[&HealthReport]) -> CheckStatus {
    reports
        .iter()
        .filter(|r| r.counts_toward_health())
        .map(|r| CheckStatus::of(r.status))
        .max()
        .unwrap_or(CheckStatus::Pass)
}

/// The members of a group: the named nodes and everything below them.
pub(crate) fn members<'a>(snapshot: &'a HealthSnapshot, names: &[String]) -> Vec<&'a HealthReport> {
    let roots: Vec<&str> = names
        .iter()
        .filter_map(|n| snapshot.get(n).map(|r| r.path.as_str()))
        .collect();
    snapshot
        .services
        .iter()
        .filter(|r| roots.iter().any(|root| in_subtree(&r.path, root)))
        .collect()
}

/// The `/health` body for `reports`: only the status when `detailed` is
/// false.
pub(crate) fn document(
    reports: &[&HealthReport],
    root: &str,
    description: &str,
    now_ms: u64,
    detailed: bool,
    missing: &[String],
) -> (CheckStatus, Value) {
    let mut status = counted(reports);
    if !missing.is_empty() {
        status = CheckStatus::Fail;
    }
    let mut doc = Map::new();
    doc.insert("status".into(), json!(status.as_str()));
    if !detailed {
        return (status, Value::Object(doc));
    }
    doc.insert("serviceId".into(), json!(root));
    doc.insert("description".into(), json!(description));
    let owned: Vec<HealthReport> = reports.iter().map(|r| (*r).clone()).collect();
    let summary = HealthSnapshot::new(owned).summary();
    let mut notes = Vec::new();
    if status != CheckStatus::Pass {
        notes.push(summary);
    }
    for name in missing {
        notes.push(format!("`{name}` is not registered"));
    }
    if !notes.is_empty() {
        doc.insert("output".into(), json!(notes.join("; ")));
    }
    let time = rfc3339(now_ms);
    let mut checks = Map::new();
    for r in reports {
        for (measurement, entry) in measurements(r, &time) {
            checks.insert(format!("{}:{measurement}", r.name), json!([entry]));
        }
    }
    for name in missing {
        checks.insert(
            format!("{name}:uptime"),
            json!([{
                "componentId": name,
                "componentType": "component",
                "status": "fail",
                "time": time,
                "output": "not registered",
            }]),
        );
    }
    doc.insert("checks".into(), Value::Object(checks));
    (status, Value::Object(doc))
}

/// The measurements of one report: its uptime (carrying its status and
/// message) and, for a built-in service, the figure that tells most.
fn measurements(r: &HealthReport, time: &str) -> Vec<(&'static str, Value)> {
    let kind = Kind::of(r);
    let status = CheckStatus::of(r.status).as_str();
    let output = match (&r.message, &r.last_failure) {
        (Some(m), _) => Some(m.clone()),
        (None, Some(f)) if !r.status.is_healthy() => Some(format!("last failure: {f}")),
        _ => None,
    };
    let entry = |value: Option<f64>, unit: &str| {
        let mut e = Map::new();
        e.insert("componentId".into(), json!(r.name));
        e.insert("componentType".into(), json!(kind.component_type()));
        if let Some(v) = value {
            e.insert("observedValue".into(), json_number(v));
            e.insert("observedUnit".into(), json!(unit));
        }
        e.insert("status".into(), json!(status));
        e.insert("time".into(), json!(time));
        if let Some(o) = &output {
            e.insert("output".into(), json!(o));
        }
        Value::Object(e)
    };
    let d = &r.details;
    let mut out = vec![("uptime", entry(Some(r.uptime_ms as f64 / 1000.0), "s"))];
    match kind {
        Kind::Tasks => out.push((
            "queueDepth",
            entry(kinds::number(d, "queue_depth"), "tasks"),
        )),
        Kind::Bus => out.push(("queuedEvents", entry(kinds::number(d, "queued"), "events"))),
        Kind::Cache => out.push(("entries", entry(kinds::number(d, "entries"), "entries"))),
        Kind::Db => {
            out.push((
                "responseTime",
                entry(kinds::number(d, "probe_latency_ms"), "ms"),
            ));
            out.push((
                "connections",
                entry(kinds::number(d, "in_use"), "connections"),
            ));
        }
        Kind::GitHub => {
            let lowest = kinds::rate_limits(d)
                .into_iter()
                .map(|(_, _, remaining, _)| remaining)
                .reduce(f64::min);
            out.push(("rateLimitRemaining", entry(lowest, "requests")));
        }
        Kind::Scheduler => out.push(("jobs", entry(kinds::number(d, "job_count"), "jobs"))),
        _ => {}
    }
    out
}

/// Whole numbers as integers, the rest as floats.
fn json_number(v: f64) -> Value {
    if v.fract() == 0.0 && v.abs() < 9.0e15 {
        json!(v as i64)
    } else {
        json!(v)
    }
}

/// Liveness: the root supervisor is registered and running (not stopping,
/// stopped or given up). Nothing else counts: a database outage must not
/// restart the process.
pub(crate) fn liveness(snapshot: &HealthSnapshot, root: &str) -> Result<(), String> {
    match snapshot.get(root) {
        None => Err(format!("the root supervisor `{root}` is not registered")),
        Some(r) => match r.status {
            Status::Stopping | Status::Stopped | Status::Failed => {
                Err(format!("the root supervisor `{root}` is {}", r.status))
            }
            _ => Ok(()),
        },
    }
}

/// Readiness: every required service (or, with none named, every service
/// of the tree) is ok, idle, busy or warning. Returns the ones that are
/// not, with their status.
pub(crate) fn readiness(
    snapshot: &HealthSnapshot,
    required: &[String],
) -> Vec<(String, Option<Status>)> {
    let ready = |s: Status| s.is_healthy() || s == Status::Warning;
    let mut not_ready = Vec::new();
    if required.is_empty() {
        for r in snapshot.services.iter().filter(|r| !r.is_ended()) {
            if !ready(r.status) {
                not_ready.push((r.name.clone(), Some(r.status)));
            }
        }
        return not_ready;
    }
    for name in required {
        if snapshot.get(name).is_none() {
            not_ready.push((name.clone(), None));
        }
    }
    for r in members(snapshot, required) {
        if !r.is_ended() && !ready(r.status) {
            not_ready.push((r.name.clone(), Some(r.status)));
        }
    }
    not_ready
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::health::NodeKind;

    fn snapshot(entries: &[(&str, &str, Status)]) -> HealthSnapshot {
        HealthSnapshot::new(
            entries
                .iter()
                .map(|(name, path, status)| {
                    let mut r = HealthReport::new(*name, *path, *status);
                    if !path.contains('/') || name.starts_with("sup") {
                        r.kind = NodeKind::Supervisor;
                    }
                    r
                })
                .collect(),
        )
    }

    #[test]
    fn statuses_map_as_the_issue_says() {
        for s in [Status::Ok, Status::Idle, Status::Busy] {
            assert_eq!(CheckStatus::of(s), CheckStatus::Pass);
        }
        for s in [Status::Warning, Status::Degraded] {
            assert_eq!(CheckStatus::of(s), CheckStatus::Warn);
        }
        for s in [Status::Error, Status::Failed, Status::Stale] {
            assert_eq!(CheckStatus::of(s), CheckStatus::Fail);
        }
    }

    #[test]
    fn the_worst_counted_check_decides() {
        let snap = snapshot(&[
            ("app", "app", Status::Ok),
            ("db", "app/db", Status::Degraded),
        ]);
        let all: Vec<&HealthReport> = snap.services.iter().collect();
        let (status, doc) = document(&all, "app", "d", 0, true, &[]);
        assert_eq!(status, CheckStatus::Warn);
        assert_eq!(doc["checks"]["db:uptime"][0]["status"], "warn");
        assert_eq!(doc["checks"]["app:uptime"][0]["componentType"], "system");
        assert_eq!(
            doc["checks"]["db:uptime"][0]["time"],
            "1970-01-01T00:00:00.000Z"
        );
        assert!(doc["output"].as_str().unwrap().contains("degraded"));
    }

    #[test]
    fn without_details_only_the_status_is_said() {
        let snap = snapshot(&[("app", "app", Status::Error)]);
        let all: Vec<&HealthReport> = snap.services.iter().collect();
        let (status, doc) = document(&all, "app", "d", 0, false, &[]);
        assert_eq!(status, CheckStatus::Fail);
        assert_eq!(doc, json!({"status": "fail"}));
    }

    #[test]
    fn liveness_is_the_root_alone() {
        let snap = snapshot(&[("app", "app", Status::Ok), ("db", "app/db", Status::Error)]);
        assert!(liveness(&snap, "app").is_ok());
        let snap = snapshot(&[("app", "app", Status::Stopping)]);
        assert!(liveness(&snap, "app").is_err());
        assert!(liveness(&snap, "other").is_err());
    }

    #[test]
    fn readiness_needs_the_required_subtrees() {
        let snap = snapshot(&[
            ("app", "app", Status::Ok),
            ("sup-storage", "app/sup-storage", Status::Ok),
            ("db", "app/sup-storage/db", Status::Error),
            ("cache", "app/cache", Status::Warning),
            ("mailer", "app/mailer", Status::Starting),
        ]);
        assert_eq!(readiness(&snap, &["cache".into()]), vec![]);
        assert_eq!(
            readiness(&snap, &["sup-storage".into()]),
            vec![("db".to_string(), Some(Status::Error))]
        );
        assert_eq!(
            readiness(&snap, &["nobody".into()]),
            vec![("nobody".to_string(), None)]
        );
        let all = readiness(&snap, &[]);
        assert_eq!(all.len(), 2, "{all:?}");
    }
}
