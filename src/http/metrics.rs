//! `/metrics`: the registry as Prometheus metrics, built with the
//! [`prometheus`] crate at each scrape from one lock-free registry
//! snapshot.
//!
//! Every service has a status (one series per status, 1 for the current
//! one), a restart counter, its uptime and the duration of its last health
//! check; each built-in service adds its own figures, read from the health
//! details it publishes (which built-in a service is, its figures tell:
//! see the table in the [module docs](super)). An application's own
//! services export their numeric details as
//! `servitor_service_detail{service, detail}`.
//!
//! # Next to an application's own metrics
//!
//! Nothing here is global: the endpoint never touches the `prometheus`
//! crate's default registry, and installs no recorder of the `metrics`
//! facade. Two ways to put servitor's metrics beside yours:
//!
//! * hand your [`prometheus::Registry`] to the endpoint
//!   ([`HttpBuilder::metrics_registry`](super::HttpBuilder::metrics_registry)):
//!   `/metrics` then serves both;
//! * or serve metrics yourself and register a [`ServitorCollector`] in your
//!   registry.
//!
//! An application on the `metrics` facade keeps its own exporter (its own
//! port, or its own route): its recorder and this endpoint do not meet.
//!
//! ```
//! # #[actix_rt::main] async fn main() -> Result<(), Box<dyn std::error::Error>> {
//! use servitor::http::ServitorCollector;
//! use servitor::{Runtime, Supervisor};
//! use servitor::prelude::*;
//!
//! #[derive(Default)] struct Ingest;
//! impl Actor for Ingest { type Context = Context<Self>; }
//! impl Service for Ingest {}
//!
//! let app = Runtime::start(Supervisor::builder("app")
//!     .child(ChildSpec::service("ingest", Ingest::default)).build()?).await?;
//!
//! // The application's registry, with its own metric and servitor's.
//! use servitor::http::prometheus;
//!
//! let mine = prometheus::Registry::new();
//! let orders = prometheus::IntCounter::new("orders_total", "Orders taken.")?;
//! mine.register(Box::new(orders.clone()))?;
//! mine.register(Box::new(ServitorCollector::new(app.registry().clone())))?;
//! orders.inc();
//!
//! let text = prometheus::TextEncoder::new().encode_to_string(&mine.gather())?;
//! assert!(text.contains("orders_total 1"));
//! assert!(text.contains(r#"servitor_service_status{service="ingest",status="ok"} 1"#));
//! app.shutdown().await?;
//! # Ok(()) }
//! ```

use super::kinds::{self, Kind};
use crate::health::{HealthReport, HealthSnapshot};
use crate::registry::Registry;
use crate::status::Status;
use prometheus::core::{Collector, Desc};
use prometheus::proto::MetricFamily;
use prometheus::{CounterVec, GaugeVec, Opts};
use std::collections::BTreeMap;

/// One metric family servitor exports.
struct Spec {
    name: &'static str,
    help: &'static str,
    counter: bool,
    labels: &'static [&'static str],
}

const fn gauge(name: &'static str, help: &'static str, labels: &'static [&'static str]) -> Spec {
    Spec {
        name,
        help,
        counter: false,
        labels,
    }
}

const fn counter(name: &'static str, help: &'static str, labels: &'static [&'static str]) -> Spec {
    Spec {
        name,
        help,
        counter: true,
        labels,
    }
}

const S: &[&str] = &["service"];

/// Every family, in one place.
const SPECS: &[Spec] = &[
    gauge(
        "servitor_status",
        "The worst status of the whole tree: 1 for the current status, 0 for the others.",
        &["status"],
    ),
    gauge(
        "servitor_service_info",
        "Where a service sits in the tree (always 1).",
        &["service", "path", "kind"],
    ),
    gauge(
        "servitor_service_status",
        "A service's status: 1 for the current status, 0 for the others.",
        &["service", "status"],
    ),
    gauge(
        "servitor_service_healthy",
        "Whether a service is ok, idle or busy (1) or not (0).",
        S,
    ),
    counter(
        "servitor_service_restarts_total",
        "Restarts of a service since its runtime started.",
        S,
    ),
    gauge(
        "servitor_service_uptime_seconds",
        "How long a service's current incarnation has run.",
        S,
    ),
    gauge(
        "servitor_service_health_check_duration_seconds",
        "How long a service's last health check took.",
        S,
    ),
    gauge(
        "servitor_service_detail",
        "A numeric health detail of an application's own service.",
        &["service", "detail"],
    ),
    // cache
    counter(
        "servitor_cache_hits_total",
        "Cache reads that found a live entry.",
        S,
    ),
    counter(
        "servitor_cache_misses_total",
        "Cache reads that found nothing.",
        S,
    ),
    counter(
        "servitor_cache_inserts_total",
        "Values stored in the cache.",
        S,
    ),
    counter(
        "servitor_cache_evictions_total",
        "Entries evicted by the cache's size bound.",
        S,
    ),
    counter(
        "servitor_cache_expirations_total",
        "Entries removed because their time to live ran out.",
        S,
    ),
    gauge("servitor_cache_entries", "Entries held by the cache.", S),
    gauge(
        "servitor_cache_capacity_entries",
        "The most entries the cache holds.",
        S,
    ),
    gauge(
        "servitor_cache_estimated_bytes",
        "Estimated memory held by the cache.",
        S,
    ),
    // bus
    counter(
        "servitor_bus_published_total",
        "Events published on the bus.",
        S,
    ),
    counter(
        "servitor_bus_dropped_total",
        "Events lost to full subscriber queues.",
        S,
    ),
    counter(
        "servitor_bus_dead_letters_total",
        "Events sent to the dead-letter topic.",
        S,
    ),
    counter(
        "servitor_bus_handler_failures_total",
        "Bus handler calls that failed or panicked.",
        S,
    ),
    gauge(
        "servitor_bus_queued_events",
        "Events queued for subscribers (the bus's lag).",
        S,
    ),
    gauge(
        "servitor_bus_max_queue_depth",
        "The longest subscriber queue.",
        S,
    ),
    gauge("servitor_bus_subscriptions", "Current subscriptions.", S),
    // tasks
    gauge(
        "servitor_tasks_queue_depth",
        "Tasks waiting for a worker.",
        S,
    ),
    gauge("servitor_tasks_workers", "Configured task workers.", S),
    gauge(
        "servitor_tasks_busy_workers",
        "Task workers running a task.",
        S,
    ),
    counter("servitor_tasks_submitted_total", "Tasks accepted.", S),
    counter("servitor_tasks_completed_total", "Tasks that completed.", S),
    counter(
        "servitor_tasks_failed_total",
        "Tasks that failed (error or panic).",
        S,
    ),
    counter("servitor_tasks_retries_total", "Task retries scheduled.", S),
    counter("servitor_tasks_timed_out_total", "Tasks that timed out.", S),
    counter("servitor_tasks_cancelled_total", "Tasks cancelled.", S),
    counter(
        "servitor_tasks_dead_total",
        "Tasks whose retries ran out.",
        S,
    ),
    // scheduler
    gauge("servitor_scheduler_jobs", "Jobs the scheduler holds.", S),
    gauge(
        "servitor_scheduler_job_enabled",
        "Whether a job is enabled.",
        &["service", "job"],
    ),
    counter(
        "servitor_scheduler_job_runs_total",
        "Runs of a job.",
        &["service", "job"],
    ),
    counter(
        "servitor_scheduler_job_failures_total",
        "Failed runs of a job.",
        &["service", "job"],
    ),
    counter(
        "servitor_scheduler_job_missed_total",
        "Runs of a job skipped because it was late.",
        &["service", "job"],
    ),
    // database pool
    gauge(
        "servitor_db_pool_connections",
        "Connections open (or being opened).",
        S,
    ),
    gauge(
        "servitor_db_pool_idle_connections",
        "Open connections idle in the pool.",
        S,
    ),
    gauge(
        "servitor_db_pool_in_use_connections",
        "Open connections handed out.",
        S,
    ),
    gauge(
        "servitor_db_pool_max_connections",
        "The most connections the pool opens.",
        S,
    ),
    gauge(
        "servitor_db_pool_waiting",
        "Callers waiting for a connection.",
        S,
    ),
    counter(
        "servitor_db_pool_acquisitions_total",
        "Connections handed out, at once or after a wait.",
        &["service", "wait"],
    ),
    counter(
        "servitor_db_pool_wait_seconds_total",
        "Time callers waited for a connection.",
        S,
    ),
    counter(
        "servitor_db_pool_timeouts_total",
        "Acquisitions that gave up on an exhausted pool.",
        S,
    ),
    counter(
        "servitor_db_pool_unavailable_total",
        "Acquisitions that failed on an unreachable database.",
        S,
    ),
    counter(
        "servitor_db_connections_created_total",
        "Connections opened.",
        S,
    ),
    gauge(
        "servitor_db_reachable",
        "Whether the last probe reached the database.",
        S,
    ),
    gauge(
        "servitor_db_probe_latency_seconds",
        "How long the last probe of the database took.",
        S,
    ),
    // GitHub
    gauge(
        "servitor_github_enabled",
        "Whether the GitHub client has a token.",
        S,
    ),
    gauge(
        "servitor_github_rate_limit_remaining",
        "Requests left in a GitHub rate-limit window.",
        &["service", "resource"],
    ),
    gauge(
        "servitor_github_rate_limit_limit",
        "Requests a GitHub rate-limit window allows.",
        &["service", "resource"],
    ),
    counter(
        "servitor_github_requests_total",
        "Requests sent to GitHub.",
        S,
    ),
    counter(
        "servitor_github_errors_total",
        "GitHub calls that ended in an error.",
        S,
    ),
    counter(
        "servitor_github_retries_total",
        "GitHub requests sent again.",
        S,
    ),
    counter(
        "servitor_github_rate_limited_total",
        "GitHub answers that were a rate limit.",
        S,
    ),
    // the endpoint itself
    counter(
        "servitor_http_requests_total",
        "Requests the operations endpoint answered.",
        S,
    ),
    gauge(
        "servitor_http_event_streams",
        "Event streams open on the operations endpoint.",
        S,
    ),
];

/// A detail read as a counter or a gauge of the service's kind.
const CACHE: &[(&str, &str)] = &[
    ("servitor_cache_hits_total", "hits"),
    ("servitor_cache_misses_total", "misses"),
    ("servitor_cache_inserts_total", "inserts"),
    ("servitor_cache_evictions_total", "evicted"),
    ("servitor_cache_expirations_total", "expired"),
    ("servitor_cache_entries", "entries"),
    ("servitor_cache_capacity_entries", "capacity"),
    ("servitor_cache_estimated_bytes", "estimated_bytes"),
];
const BUS: &[(&str, &str)] = &[
    ("servitor_bus_published_total", "published"),
    ("servitor_bus_dropped_total", "dropped"),
    ("servitor_bus_dead_letters_total", "dead_letters"),
    ("servitor_bus_handler_failures_total", "handler_failures"),
    ("servitor_bus_queued_events", "queued"),
    ("servitor_bus_max_queue_depth", "max_queue_depth"),
    ("servitor_bus_subscriptions", "subscriptions"),
];
const TASKS: &[(&str, &str)] = &[
    ("servitor_tasks_queue_depth", "queue_depth"),
    ("servitor_tasks_workers", "workers"),
    ("servitor_tasks_busy_workers", "busy_workers"),
    ("servitor_tasks_submitted_total", "submitted"),
    ("servitor_tasks_completed_total", "completed"),
    ("servitor_tasks_failed_total", "failed"),
    ("servitor_tasks_retries_total", "retries"),
    ("servitor_tasks_timed_out_total", "timed_out"),
    ("servitor_tasks_cancelled_total", "cancelled"),
    ("servitor_tasks_dead_total", "dead"),
];
const SCHEDULER: &[(&str, &str)] = &[("servitor_scheduler_jobs", "job_count")];
const DB: &[(&str, &str)] = &[
    ("servitor_db_pool_connections", "size"),
    ("servitor_db_pool_idle_connections", "idle"),
    ("servitor_db_pool_in_use_connections", "in_use"),
    ("servitor_db_pool_max_connections", "max_connections"),
    ("servitor_db_pool_waiting", "waiting"),
    ("servitor_db_pool_timeouts_total", "timed_out"),
    ("servitor_db_pool_unavailable_total", "unavailable"),
    (
        "servitor_db_connections_created_total",
        "connections_created",
    ),
    ("servitor_db_reachable", "reachable"),
];
const GITHUB: &[(&str, &str)] = &[
    ("servitor_github_enabled", "enabled"),
    ("servitor_github_requests_total", "requests"),
    ("servitor_github_errors_total", "errors"),
    ("servitor_github_retries_total", "retries"),
    ("servitor_github_rate_limited_total", "rate_limited"),
];
const HTTP: &[(&str, &str)] = &[
    ("servitor_http_requests_total", "requests"),
    ("servitor_http_event_streams", "event_streams"),
];

enum Family {
    Gauge(GaugeVec),
    Counter(CounterVec),
}

impl Family {
    fn collector(&self) -> &dyn Collector {
        match self {
            Family::Gauge(g) => g,
            Family::Counter(c) => c,
        }
    }
}

/// A fresh set of every family, empty.
struct Families(BTreeMap<&'static str, Family>);

impl Families {
    fn new() -> Families {
        let families = SPECS
            .iter()
            .map(|spec| {
                let opts = Opts::new(spec.name, spec.help);
                let family = if spec.counter {
                    Family::Counter(CounterVec::new(opts, spec.labels).expect("a valid counter"))
                } else {
                    Family::Gauge(GaugeVec::new(opts, spec.labels).expect("a valid gauge"))
                };
                (spec.name, family)
            })
            .collect();
        Families(families)
    }

    /// Sets a gauge, or adds to a fresh counter (a value a scrape reads is
    /// the total so far; negative or non-finite ones are left out).
    fn put(&self, name: &str, labels: &[&str], value: f64) {
        match self.0.get(name) {
            Some(Family::Gauge(g)) if value.is_finite() => g.with_label_values(labels).set(value),
            Some(Family::Counter(c)) if value.is_finite() && value >= 0.0 => {
                c.with_label_values(labels).inc_by(value)
            }
            Some(_) => {}
            None => debug_assert!(false, "no metric family `{name}`"),
        }
    }

    fn fill(&self, snapshot: &HealthSnapshot) {
        for status in Status::ALL {
            let current = f64::from(u8::from(status == snapshot.status));
            self.put("servitor_status", &[status.as_str()], current);
        }
        for report in &snapshot.services {
            self.service(report);
        }
    }

    fn service(&self, r: &HealthReport) {
        let name = r.name.as_str();
        let kind = Kind::of(r);
        self.put(
            "servitor_service_info",
            &[name, &r.path, kind_label(kind)],
            1.0,
        );
        for status in Status::ALL {
            let current = f64::from(u8::from(status == r.status));
            self.put("servitor_service_status", &[name, status.as_str()], current);
        }
        self.put(
            "servitor_service_healthy",
            &[name],
            f64::from(u8::from(r.status.is_healthy())),
        );
        self.put(
            "servitor_service_restarts_total",
            &[name],
            f64::from(r.restarts),
        );
        self.put(
            "servitor_service_uptime_seconds",
            &[name],
            r.uptime_ms as f64 / 1e3,
        );
        if let Some(us) = r.check_duration_us {
            self.put(
                "servitor_service_health_check_duration_seconds",
                &[name],
                us as f64 / 1e6,
            );
        }
        let d = &r.details;
        let figures = |table: &[(&str, &str)]| {
            for (metric, key) in table {
                if let Some(v) = kinds::number(d, key) {
                    self.put(metric, &[name], v);
                }
            }
        };
        match kind {
            Kind::Cache => figures(CACHE),
            Kind::Bus => figures(BUS),
            Kind::Tasks => figures(TASKS),
            Kind::Http => figures(HTTP),
            Kind::Scheduler => {
                figures(SCHEDULER);
                if let Some(serde_json::Value::Object(jobs)) = d.get("jobs") {
                    for (job, stats) in jobs {
                        let get = |k: &str| stats.get(k).and_then(kinds::as_number);
                        let labels = [name, job.as_str()];
                        for (metric, key) in [
                            ("servitor_scheduler_job_enabled", "enabled"),
                            ("servitor_scheduler_job_runs_total", "runs"),
                            ("servitor_scheduler_job_failures_total", "failures"),
                            ("servitor_scheduler_job_missed_total", "missed"),
                        ] {
                            if let Some(v) = get(key) {
                                self.put(metric, &labels, v);
                            }
                        }
                    }
                }
            }
            Kind::Db => {
                figures(DB);
                for (wait, key) in [("none", "acquired_direct"), ("waited", "acquired_waited")] {
                    if let Some(v) = kinds::number(d, key) {
                        self.put("servitor_db_pool_acquisitions_total", &[name, wait], v);
                    }
                }
                if let Some(us) = kinds::number(d, "wait_time_us") {
                    self.put("servitor_db_pool_wait_seconds_total", &[name], us / 1e6);
                }
                if let Some(ms) = kinds::number(d, "probe_latency_ms") {
                    self.put("servitor_db_probe_latency_seconds", &[name], ms / 1e3);
                }
            }
            Kind::GitHub => {
                figures(GITHUB);
                for (resource, limit, remaining, _) in kinds::rate_limits(d) {
                    let labels = [name, resource.as_str()];
                    self.put("servitor_github_rate_limit_remaining", &labels, remaining);
                    self.put("servitor_github_rate_limit_limit", &labels, limit);
                }
            }
            Kind::Other => {
                for (key, value) in d {
                    if let Some(v) = kinds::as_number(value) {
                        self.put("servitor_service_detail", &[name, key], v);
                    }
                }
            }
            Kind::Supervisor => {}
        }
    }

    fn collect(&self) -> Vec<MetricFamily> {
        self.0
            .values()
            .flat_map(|f| f.collector().collect())
            .filter(|mf| !mf.get_metric().is_empty())
            .collect()
    }
}

fn kind_label(kind: Kind) -> &'static str {
    match kind {
        Kind::Supervisor => "supervisor",
        Kind::Cache => "cache",
        Kind::Bus => "bus",
        Kind::Tasks => "tasks",
        Kind::Scheduler => "scheduler",
        Kind::Db => "db",
        Kind::GitHub => "github",
        Kind::Http => "http",
        Kind::Other => "service",
    }
}

/// A [`prometheus`] collector of servitor's metrics: at each collection it
/// takes one snapshot of the registry (lock-free reads) and turns it into
/// metric families. Register it in an application's own
/// [`prometheus::Registry`] to serve servitor's metrics beside the
/// application's (see the [module docs](self)).
pub struct ServitorCollector {
    registry: Registry,
    /// The families, empty: what `desc` describes.
    template: Families,
}

impl ServitorCollector {
    /// A collector of `registry`'s services.
    pub fn new(registry: Registry) -> ServitorCollector {
        ServitorCollector {
            registry,
            template: Families::new(),
        }
    }

    /// Every family for `snapshot`.
    pub(crate) fn families(snapshot: &HealthSnapshot) -> Vec<MetricFamily> {
        let families = Families::new();
        families.fill(snapshot);
        families.collect()
    }
}

impl std::fmt::Debug for ServitorCollector {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ServitorCollector")
            .field("families", &SPECS.len())
            .finish()
    }
}

impl Collector for ServitorCollector {
    fn desc(&self) -> Vec<&Desc> {
        self.template
            .0
            .values()
            .flat_map(|f| f.collector().desc())
            .collect()
    }

    fn collect(&self) -> Vec<MetricFamily> {
        Self::families(&self.registry.snapshot())
    }
}

/// The `/metrics` body: servitor's families, then the application's.
pub(crate) fn render(
    snapshot: &HealthSnapshot,
    app: Option<&prometheus::Registry>,
) -> Result<String, prometheus::Error> {
    let mut families = ServitorCollector::families(snapshot);
    if let Some(app) = app {
        families.extend(app.gather());
    }
    prometheus::TextEncoder::new().encode_to_string(&families)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::health::NodeKind;
    use serde_json::json;

    #[test]
    fn names_follow_the_conventions() {
        let mut seen = std::collections::BTreeSet::new();
        for spec in SPECS {
            assert!(seen.insert(spec.name), "`{}` twice", spec.name);
            assert!(spec.name.starts_with("servitor_"), "{}", spec.name);
            assert_eq!(spec.counter, spec.name.ends_with("_total"), "{}", spec.name);
            assert!(spec
                .name
                .bytes()
                .all(|b| b.is_ascii_lowercase() || b == b'_'));
        }
        for table in [CACHE, BUS, TASKS, SCHEDULER, DB, GITHUB, HTTP] {
            for (metric, _) in table {
                assert!(SPECS.iter().any(|s| s.name == *metric), "{metric}");
            }
        }
    }

    #[test]
    fn a_cache_report_becomes_cache_figures() {
        let mut sup = HealthReport::new("app", "app", Status::Ok);
        sup.kind = NodeKind::Supervisor;
        let mut cache = HealthReport::new("sessions", "app/sessions", Status::Degraded);
        cache.restarts = 2;
        cache.check_duration_us = Some(1500);
        for (k, v) in [
            ("hits", 7),
            ("misses", 3),
            ("evicted", 1),
            ("sweeps", 4),
            ("entries", 5),
        ] {
            cache.details.insert(k.into(), json!(v));
        }
        let text = render(&HealthSnapshot::new(vec![sup, cache]), None).unwrap();
        for line in [
            r#"servitor_cache_hits_total{service="sessions"} 7"#,
            r#"servitor_cache_entries{service="sessions"} 5"#,
            r#"servitor_service_restarts_total{service="sessions"} 2"#,
            r#"servitor_service_status{service="sessions",status="degraded"} 1"#,
            r#"servitor_service_status{service="sessions",status="ok"} 0"#,
            r#"servitor_service_health_check_duration_seconds{service="sessions"} 0.0015"#,
            r#"servitor_status{status="degraded"} 1"#,
            "# TYPE servitor_cache_hits_total counter",
        ] {
            assert!(
                text.lines().any(|l| l == line),
                "missing `{line}` in\n{text}"
            );
        }
        assert!(!text.contains("servitor_service_detail"), "{text}");
    }

    #[test]
    fn own_services_export_their_numeric_details() {
        let mut r = HealthReport::new("ingest", "app/ingest", Status::Ok);
        r.details.insert("queued".into(), json!(12));
        r.details.insert("note".into(), json!("text is left out"));
        let text = render(&HealthSnapshot::new(vec![r]), None).unwrap();
        assert!(
            text.contains(r#"servitor_service_detail{detail="queued",service="ingest"} 12"#),
            "{text}"
        );
        assert!(!text.contains("note"));
    }
}
