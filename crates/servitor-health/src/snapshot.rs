//! The health of a whole tree at one moment, and its text table.

use crate::report::{HealthReport, NodeKind};
use crate::status::{aggregate, Status};
use serde::{Deserialize, Serialize};
use std::fmt::Write as _;

/// The health of a whole runtime at one moment.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct HealthSnapshot {
    /// Worst status over every service and supervisor that counts toward
    /// health (see [`HealthReport::counts_toward_health`]).
    pub status: Status,
    /// One report per service and supervisor. A runtime lists them in tree
    /// order — depth first, children in start order — with the final records
    /// of ended services where they stood.
    pub services: Vec<HealthReport>,
}

impl HealthSnapshot {
    /// A snapshot of reports in the order given.
    pub fn new(services: Vec<HealthReport>) -> Self {
        let status = aggregate(
            services
                .iter()
                .filter(|r| r.counts_toward_health())
                .map(|r| r.status),
        );
        HealthSnapshot { status, services }
    }

    /// A snapshot of reports sorted by path.
    pub fn from_reports(mut services: Vec<HealthReport>) -> Self {
        services.sort_by(|a, b| a.path.cmp(&b.path));
        Self::new(services)
    }

    /// The report of one service by name.
    pub fn get(&self, name: &str) -> Option<&HealthReport> {
        self.services.iter().find(|r| r.name == name)
    }

    /// Worst status within the subtree rooted at `path` (the node itself and
    /// everything below it that counts toward health); `None` if no node has
    /// that path.
    pub fn subtree(&self, path: &str) -> Option<Status> {
        let mut found = false;
        let worst = aggregate(
            self.services
                .iter()
                .filter(|r| in_subtree(&r.path, path))
                .inspect(|_| found = true)
                .filter(|r| r.counts_toward_health())
                .map(|r| r.status),
        );
        found.then_some(worst)
    }

    /// A fixed-width text table for terminals and logs, one line per
    /// service, indented by depth:
    ///
    /// * STATUS — the node's own status; `(ended)` marks the final record
    ///   of a service that ended for good;
    /// * SUBTREE — for a supervisor, the worst status of everything below
    ///   it (what a person looking at the tree wants to know first);
    /// * RESTARTS — restarts since the runtime started (see
    ///   [`HealthReport::restarts`]); UPTIME — of the running incarnation;
    /// * NOTE — the current message, then the last failure labelled as such.
    ///
    /// The last line sums up: the overall status, and how many services are
    /// in which trouble.
    ///
    /// ```
    /// use servitor_health::{HealthReport, HealthSnapshot, Status};
    ///
    /// let mut ingest = HealthReport::new("ingest", "app/ingest", Status::Ok);
    /// ingest.last_failure = Some("panicked: poisoned order".into());
    /// let table = HealthSnapshot::new(vec![HealthReport::new("app", "app", Status::Ok), ingest]).table();
    /// assert!(table.contains("last failure: panicked: poisoned order"));
    /// assert!(table.ends_with("overall: ok (2 services, all healthy)\n"));
    /// ```
    pub fn table(&self) -> String {
        let mut out = format!(
            "{:<30} {:<16} {:<9} {:>8} {:>9}  {}\n",
            "SERVICE", "STATUS", "SUBTREE", "RESTARTS", "UPTIME", "NOTE"
        );
        for r in &self.services {
            let depth = r.path.matches('/').count();
            let name = format!("{}{}", "  ".repeat(depth), r.name);
            let status = if r.is_ended() {
                format!("{} (ended)", r.status)
            } else {
                r.status.to_string()
            };
            let subtree = match r.kind {
                NodeKind::Supervisor => self
                    .subtree(&r.path)
                    .map_or_else(|| "-".to_string(), |s| s.to_string()),
                NodeKind::Service => "-".to_string(),
            };
            let running = r.status.is_healthy()
                || matches!(r.status, Status::Warning | Status::Degraded | Status::Stale);
            let uptime = if r.uptime_ms > 0 || (running && !r.is_ended()) {
                format!("{:.1}s", r.uptime_ms as f64 / 1000.0)
            } else {
                "-".to_string()
            };
            let note = match (&r.message, &r.last_failure) {
                (Some(m), Some(f)) if m.contains(f.as_str()) => m.clone(),
                (Some(m), Some(f)) => format!("{m} (last failure: {f})"),
                (Some(m), None) => m.clone(),
                (None, Some(f)) => format!("last failure: {f}"),
                (None, None) => String::new(),
            };
            let _ = writeln!(
                out,
                "{:<30} {:<16} {:<9} {:>8} {:>9}  {}",
                name, status, subtree, r.restarts, uptime, note
            );
        }
        out.push_str(&self.summary());
        out.push('\n');
        out
    }

    /// One line: the overall status, and how many services are in which
    /// trouble (`overall: error (9 services: 1 error, 1 degraded)`).
    pub fn summary(&self) -> String {
        let counted: Vec<&HealthReport> = self
            .services
            .iter()
            .filter(|r| r.counts_toward_health())
            .collect();
        let mut trouble: Vec<(Status, usize)> = Vec::new();
        for r in counted.iter().filter(|r| r.status.is_fault()) {
            match trouble.iter_mut().find(|(s, _)| *s == r.status) {
                Some((_, n)) => *n += 1,
                None => trouble.push((r.status, 1)),
            }
        }
        trouble.sort_by_key(|t| std::cmp::Reverse(t.0));
        let n = counted.len();
        let services = if n == 1 { "service" } else { "services" };
        // A tree whose worst is idle or busy is fine: say so.
        let overall = if self.status.is_healthy() {
            Status::Ok
        } else {
            self.status
        };
        if trouble.is_empty() {
            let all = if counted.iter().all(|r| r.status.is_healthy()) {
                "all healthy"
            } else {
                "none in trouble"
            };
            format!("overall: {overall} ({n} {services}, {all})")
        } else {
            let list: Vec<String> = trouble.iter().map(|(s, k)| format!("{k} {s}")).collect();
            format!("overall: {overall} ({n} {services}: {})", list.join(", "))
        }
    }
}

/// True when `path` is `root` or lies below it (`app/db` is in the subtree
/// `app`, `application` is not).
///
/// ```
/// use servitor_health::in_subtree;
/// assert!(in_subtree("app/db", "app"));
/// assert!(in_subtree("app", "app"));
/// assert!(!in_subtree("application", "app"));
/// ```
pub fn in_subtree(path: &str, root: &str) -> bool {
    path == root || (path.starts_with(root) && path.as_bytes().get(root.len()) == Some(&b'/'))
}
