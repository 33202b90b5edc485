//! The health of a whole tree at one moment.

use crate::report::HealthReport;
use crate::status::{aggregate, Status};
use serde::{Deserialize, Serialize};

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
