//! Which built-in service a report comes from, told by the figures it
//! publishes: the endpoint reads reports only (never a service's handle),
//! and each built-in service's health details carry a set of figures no
//! other has.

use crate::health::{Details, HealthReport, NodeKind};
use serde_json::Value;

/// What a node of the tree is, as far as the endpoint's checks and metrics
/// are concerned.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Kind {
    Supervisor,
    Cache,
    Bus,
    Tasks,
    Scheduler,
    Db,
    GitHub,
    Http,
    /// An application's own service.
    Other,
}

impl Kind {
    pub(crate) fn of(report: &HealthReport) -> Kind {
        if report.kind == NodeKind::Supervisor {
            return Kind::Supervisor;
        }
        let d = &report.details;
        let has = |keys: &[&str]| keys.iter().all(|k| d.contains_key(*k));
        if has(&["hits", "misses", "evicted", "sweeps"]) {
            Kind::Cache
        } else if has(&[
            "published",
            "dead_letters",
            "subscriptions",
            "max_queue_depth",
        ]) {
            Kind::Bus
        } else if has(&["queue_depth", "workers", "busy_workers", "retries"]) {
            Kind::Tasks
        } else if has(&["jobs", "job_count"]) {
            Kind::Scheduler
        } else if has(&["backend", "max_connections", "idle", "waiting"]) {
            Kind::Db
        } else if has(&["rate_limits", "base_url", "enabled"]) {
            Kind::GitHub
        } else if has(&["requests", "event_streams", "listening"]) {
            Kind::Http
        } else {
            Kind::Other
        }
    }

    /// The IETF draft's `componentType`.
    pub(crate) fn component_type(self) -> &'static str {
        match self {
            Kind::Supervisor => "system",
            Kind::Db | Kind::Cache => "datastore",
            _ => "component",
        }
    }
}

/// A detail as a number (booleans as 0 and 1), if it is one.
pub(crate) fn number(details: &Details, key: &str) -> Option<f64> {
    as_number(details.get(key)?)
}

pub(crate) fn as_number(value: &Value) -> Option<f64> {
    match value {
        Value::Number(n) => n.as_f64(),
        Value::Bool(b) => Some(f64::from(u8::from(*b))),
        _ => None,
    }
}

/// The GitHub rate-limit resources a report lists: (resource, limit,
/// remaining, used).
pub(crate) fn rate_limits(details: &Details) -> Vec<(String, f64, f64, f64)> {
    let Some(Value::Object(limits)) = details.get("rate_limits") else {
        return Vec::new();
    };
    limits
        .iter()
        .filter_map(|(resource, rl)| {
            let get = |k: &str| rl.get(k).and_then(as_number);
            Some((
                resource.clone(),
                get("limit")?,
                get("remaining")?,
                get("used").unwrap_or(0.0),
            ))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::status::Status;

    fn report(keys: &[&str]) -> HealthReport {
        let mut r = HealthReport::new("x", "app/x", Status::Ok);
        for k in keys {
            r.details.insert((*k).to_string(), Value::from(1));
        }
        r
    }

    #[test]
    fn each_built_in_is_told_by_its_figures() {
        assert_eq!(
            Kind::of(&report(&["hits", "misses", "evicted", "sweeps", "entries"])),
            Kind::Cache
        );
        assert_eq!(
            Kind::of(&report(&[
                "published",
                "dead_letters",
                "subscriptions",
                "max_queue_depth"
            ])),
            Kind::Bus
        );
        assert_eq!(
            Kind::of(&report(&[
                "queue_depth",
                "workers",
                "busy_workers",
                "retries"
            ])),
            Kind::Tasks
        );
        assert_eq!(Kind::of(&report(&["jobs", "job_count"])), Kind::Scheduler);
        assert_eq!(
            Kind::of(&report(&["backend", "max_connections", "idle", "waiting"])),
            Kind::Db
        );
        assert_eq!(
            Kind::of(&report(&["rate_limits", "base_url", "enabled"])),
            Kind::GitHub
        );
        assert_eq!(Kind::of(&report(&["hits"])), Kind::Other);
        let mut sup = report(&[]);
        sup.kind = NodeKind::Supervisor;
        assert_eq!(Kind::of(&sup), Kind::Supervisor);
    }

    #[test]
    fn numbers_include_booleans_and_skip_text() {
        let mut d = Details::new();
        d.insert("a".into(), Value::from(2.5));
        d.insert("b".into(), Value::from(true));
        d.insert("c".into(), Value::from("x"));
        assert_eq!(number(&d, "a"), Some(2.5));
        assert_eq!(number(&d, "b"), Some(1.0));
        assert_eq!(number(&d, "c"), None);
        assert_eq!(number(&d, "d"), None);
    }
}
