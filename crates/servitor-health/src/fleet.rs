//! Health across processes: the message every servitor runtime publishes
//! about its services, and the [`Fleet`] that aggregates those messages
//! into one view of every service of every process.
//!
//! A runtime publishes on subjects of the form
//! `servitor.health.<app>.<instance>.<service>` (see [`report_subject`]):
//! a [`HealthMessage`] of kind [`Transition`](MessageKind::Transition) at
//! every status change, and a [`Heartbeat`](MessageKind::Heartbeat) for
//! every service every [`interval_ms`](HealthMessage::interval_ms). When it
//! shuts down it says [`Goodbye`](MessageKind::Goodbye) once, on
//! `servitor.health.<app>.<instance>` ([`process_subject`]). The transport
//! (NATS in servitor) is not this crate's business: anything that can hand
//! over the decoded messages can feed a [`Fleet`].
//!
//! The fleet judges liveness by its own clock, never the sender's (clocks
//! of machines differ): a process from which nothing arrived for
//! [`stale_after`](FleetConfig::stale_after) heartbeat intervals is
//! **stale**, and so is each of its services; the fleet's status is the
//! worst of every service that counts, so one stale process makes the
//! whole fleet `stale`.
//!
//! ```
//! use std::time::{Duration, Instant};
//! use servitor_health::fleet::{Fleet, FleetConfig, HealthMessage, MessageKind};
//! use servitor_health::{HealthReport, Status};
//!
//! let mut fleet = Fleet::new(FleetConfig::default());
//! let t0 = Instant::now();
//! for (instance, status) in [("web-1", Status::Ok), ("web-2", Status::Degraded)] {
//!     let report = HealthReport::new("db", "app/db", status);
//!     fleet.apply(HealthMessage::new("shop", instance, MessageKind::Heartbeat, 1000, Some(report)), t0);
//! }
//! let view = fleet.snapshot(t0);
//! assert_eq!((view.processes.len(), view.status), (2, Status::Degraded));
//!
//! // web-1 keeps beating, web-2 falls silent: after 3 intervals it is stale.
//! let later = t0 + Duration::from_millis(3500);
//! let report = HealthReport::new("db", "app/db", Status::Ok);
//! fleet.apply(HealthMessage::new("shop", "web-1", MessageKind::Heartbeat, 1000, Some(report)), later);
//! let view = fleet.snapshot(later);
//! assert!(view.process("shop", "web-2").unwrap().stale);
//! assert_eq!(view.status, Status::Stale);
//! ```

use crate::report::{HealthReport, NodeKind};
use crate::snapshot::HealthSnapshot;
use crate::status::{aggregate, Status};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::time::{Duration, Instant};

/// The first two tokens of every health subject.
pub const SUBJECT_PREFIX: &str = "servitor.health";

/// What a [`HealthMessage`] says.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum MessageKind {
    /// The service's status changed; the report is the new state.
    Transition,
    /// The periodic account of one service: the process is alive.
    Heartbeat,
    /// The process is shutting down on purpose (no report): its services
    /// show stopped, and it does not turn stale.
    Goodbye,
}

/// One message about one service (or, for a goodbye, one process).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct HealthMessage {
    /// The application: processes of one application form a fleet.
    pub app: String,
    /// The process within the application (unique per process).
    pub instance: String,
    /// Transition, heartbeat or goodbye.
    pub kind: MessageKind,
    /// How often the sender beats, in milliseconds; the receiver's
    /// staleness deadline is a multiple of it.
    pub interval_ms: u64,
    /// The service's report (none for a goodbye).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub report: Option<HealthReport>,
}

impl HealthMessage {
    /// A message of `kind` from `instance` of `app`.
    pub fn new(
        app: impl Into<String>,
        instance: impl Into<String>,
        kind: MessageKind,
        interval_ms: u64,
        report: Option<HealthReport>,
    ) -> HealthMessage {
        HealthMessage {
            app: app.into(),
            instance: instance.into(),
            kind,
            interval_ms,
            report,
        }
    }

    /// The subject it is published on: [`report_subject`] for a report,
    /// [`process_subject`] for a goodbye.
    pub fn subject(&self) -> String {
        match &self.report {
            Some(r) => report_subject(&self.app, &self.instance, &r.name),
            None => process_subject(&self.app, &self.instance),
        }
    }
}

/// One name as one subject token: letters, digits, `-` and `_` stay, every
/// other byte becomes `~` and two hex digits, so names with dots, spaces or
/// wildcard characters cannot change a subject's shape.
///
/// ```
/// assert_eq!(servitor_health::fleet::subject_token("orders-db"), "orders-db");
/// assert_eq!(servitor_health::fleet::subject_token("a.b*"), "a~2Eb~2A");
/// ```
pub fn subject_token(name: &str) -> String {
    let mut out = String::with_capacity(name.len());
    for b in name.bytes() {
        if b.is_ascii_alphanumeric() || b == b'-' || b == b'_' {
            out.push(b as char);
        } else {
            out.push_str(&format!("~{b:02X}"));
        }
    }
    if out.is_empty() {
        out.push_str("~00");
    }
    out
}

/// `servitor.health.<app>.<instance>.<service>`, each name a [`subject_token`].
pub fn report_subject(app: &str, instance: &str, service: &str) -> String {
    format!(
        "{SUBJECT_PREFIX}.{}.{}.{}",
        subject_token(app),
        subject_token(instance),
        subject_token(service)
    )
}

/// `servitor.health.<app>.<instance>`: where a process says goodbye.
pub fn process_subject(app: &str, instance: &str) -> String {
    format!(
        "{SUBJECT_PREFIX}.{}.{}",
        subject_token(app),
        subject_token(instance)
    )
}

/// What to subscribe to for the fleet of `app`, or of every application
/// (`None`): `servitor.health.<app>.>` / `servitor.health.>`.
pub fn fleet_subject(app: Option<&str>) -> String {
    match app {
        Some(app) => format!("{SUBJECT_PREFIX}.{}.>", subject_token(app)),
        None => format!("{SUBJECT_PREFIX}.>"),
    }
}

/// How a [`Fleet`] judges its processes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct FleetConfig {
    /// A process is stale once nothing came from it for this many of its
    /// heartbeat intervals. Default 3.
    pub stale_after: u32,
    /// A process that said goodbye, or has been stale, for this long is
    /// forgotten, in milliseconds. Default 300 000 (5 min).
    pub forget_after_ms: u64,
}

impl Default for FleetConfig {
    fn default() -> Self {
        FleetConfig {
            stale_after: 3,
            forget_after_ms: 300_000,
        }
    }
}

#[derive(Debug, Clone)]
struct Process {
    interval: Duration,
    last_seen: Instant,
    left: Option<Instant>,
    services: BTreeMap<String, HealthReport>,
}

/// Every process of every application heard from, by `(app, instance)`.
/// Feed it messages with [`apply`](Self::apply); read it with
/// [`snapshot`](Self::snapshot). Pure data: the caller brings the clock.
#[derive(Debug, Clone, Default)]
pub struct Fleet {
    config: FleetConfig,
    processes: BTreeMap<(String, String), Process>,
}

impl Fleet {
    /// An empty fleet.
    pub fn new(config: FleetConfig) -> Fleet {
        Fleet {
            config,
            processes: BTreeMap::new(),
        }
    }

    /// Takes in one message received at `now`.
    pub fn apply(&mut self, message: HealthMessage, now: Instant) {
        let key = (message.app, message.instance);
        let process = self.processes.entry(key).or_insert_with(|| Process {
            interval: Duration::from_millis(message.interval_ms.max(1)),
            last_seen: now,
            left: None,
            services: BTreeMap::new(),
        });
        process.interval = Duration::from_millis(message.interval_ms.max(1));
        process.last_seen = now;
        match message.kind {
            MessageKind::Goodbye => process.left = Some(now),
            MessageKind::Transition | MessageKind::Heartbeat => {
                process.left = None;
                if let Some(report) = message.report {
                    process.services.insert(report.name.clone(), report);
                }
            }
        }
    }

    /// Forgets processes gone (goodbye or stale) longer than
    /// [`forget_after_ms`](FleetConfig::forget_after_ms).
    pub fn prune(&mut self, now: Instant) {
        let forget = Duration::from_millis(self.config.forget_after_ms);
        let stale_after = self.config.stale_after;
        self.processes.retain(|_, p| {
            let gone_since = p.left.unwrap_or(p.last_seen + p.interval * stale_after);
            now.saturating_duration_since(gone_since) < forget
        });
    }

    /// The fleet as seen at `now`.
    pub fn snapshot(&self, now: Instant) -> FleetSnapshot {
        let processes: Vec<ProcessHealth> = self
            .processes
            .iter()
            .map(|((app, instance), p)| {
                let silent = now.saturating_duration_since(p.last_seen);
                let left = p.left.is_some();
                let stale = !left && silent >= p.interval * self.config.stale_after;
                let services: Vec<HealthReport> = p
                    .services
                    .values()
                    .map(|r| {
                        let mut r = r.clone();
                        if left && !r.is_ended() {
                            r.status = Status::Stopped;
                        } else if stale && !r.is_ended() {
                            r.message = Some(format!(
                                "no heartbeat for {} ms (was {})",
                                silent.as_millis(),
                                r.status
                            ));
                            r.status = Status::Stale;
                        }
                        r
                    })
                    .collect();
                let status = if left {
                    Status::Stopped
                } else {
                    aggregate(
                        services
                            .iter()
                            .filter(|r| r.counts_toward_health())
                            .map(|r| r.status),
                    )
                };
                ProcessHealth {
                    app: app.clone(),
                    instance: instance.clone(),
                    status,
                    stale,
                    left,
                    last_seen_ms_ago: silent.as_millis() as u64,
                    interval_ms: p.interval.as_millis() as u64,
                    services,
                }
            })
            .collect();
        let status = aggregate(processes.iter().filter(|p| !p.left).map(|p| p.status));
        FleetSnapshot { status, processes }
    }
}

/// One process as the fleet sees it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct ProcessHealth {
    /// Its application.
    pub app: String,
    /// Its instance name.
    pub instance: String,
    /// Worst of its services that count (`stopped` once it said goodbye).
    pub status: Status,
    /// Nothing came from it for too long: every service shows `stale`.
    pub stale: bool,
    /// It said goodbye.
    pub left: bool,
    /// How long ago its last message came, in milliseconds.
    pub last_seen_ms_ago: u64,
    /// Its heartbeat interval, in milliseconds.
    pub interval_ms: u64,
    /// Its services, by name.
    pub services: Vec<HealthReport>,
}

/// Every process at one moment, with the fleet's worst-wins status.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct FleetSnapshot {
    /// Worst of every process that has not said goodbye.
    pub status: Status,
    /// Every process, by application then instance.
    pub processes: Vec<ProcessHealth>,
}

impl FleetSnapshot {
    /// One process, if the fleet has heard from it.
    pub fn process(&self, app: &str, instance: &str) -> Option<&ProcessHealth> {
        self.processes
            .iter()
            .find(|p| p.app == app && p.instance == instance)
    }

    /// The fleet as one [`HealthSnapshot`], so everything that shows a
    /// tree shows a fleet: each process is a node named
    /// `<app>/<instance>` (kind supervisor) and its services hang below it,
    /// their paths prefixed with the process's node.
    pub fn to_health_snapshot(&self) -> HealthSnapshot {
        let mut services = Vec::new();
        for p in &self.processes {
            let node = format!("{}/{}", p.app, p.instance);
            let mut head = HealthReport::new(node.clone(), node.clone(), p.status);
            head.kind = NodeKind::Supervisor;
            head.message = if p.stale {
                Some(format!("no heartbeat for {} ms", p.last_seen_ms_ago))
            } else if p.left {
                Some("left the fleet".into())
            } else {
                None
            };
            head.uptime_ms = p
                .services
                .iter()
                .map(|r| r.uptime_ms)
                .max()
                .unwrap_or_default();
            services.push(head);
            for r in &p.services {
                let mut r = r.clone();
                r.path = format!("{node}/{}", r.path);
                services.push(r);
            }
        }
        let mut snapshot = HealthSnapshot::new(services);
        snapshot.status = self.status;
        snapshot
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn beat(fleet: &mut Fleet, instance: &str, status: Status, at: Instant) {
        let r = HealthReport::new("svc", "app/svc", status);
        fleet.apply(
            HealthMessage::new("a", instance, MessageKind::Heartbeat, 100, Some(r)),
            at,
        );
    }

    #[test]
    fn a_goodbye_is_stopped_not_stale_and_does_not_count() {
        let t0 = Instant::now();
        let mut fleet = Fleet::new(FleetConfig::default());
        beat(&mut fleet, "one", Status::Ok, t0);
        beat(&mut fleet, "two", Status::Ok, t0);
        fleet.apply(
            HealthMessage::new("a", "two", MessageKind::Goodbye, 100, None),
            t0,
        );
        let later = t0 + Duration::from_millis(250);
        beat(&mut fleet, "one", Status::Ok, later);
        let view = fleet.snapshot(t0 + Duration::from_secs(10));
        let two = view.process("a", "two").unwrap();
        assert!(two.left && !two.stale);
        assert_eq!(two.services[0].status, Status::Stopped);
        assert!(view.process("a", "one").unwrap().stale);
        assert_eq!(view.status, Status::Stale);
    }

    #[test]
    fn a_beat_after_staleness_revives_the_process() {
        let t0 = Instant::now();
        let mut fleet = Fleet::new(FleetConfig::default());
        beat(&mut fleet, "one", Status::Ok, t0);
        let late = t0 + Duration::from_secs(1);
        assert_eq!(fleet.snapshot(late).status, Status::Stale);
        beat(&mut fleet, "one", Status::Ok, late);
        assert_eq!(fleet.snapshot(late).status, Status::Ok);
    }

    #[test]
    fn forgotten_after_the_retention() {
        let t0 = Instant::now();
        let mut fleet = Fleet::new(FleetConfig {
            stale_after: 3,
            forget_after_ms: 1000,
        });
        beat(&mut fleet, "one", Status::Ok, t0);
        fleet.prune(t0 + Duration::from_millis(1200));
        assert_eq!(fleet.snapshot(t0).processes.len(), 1);
        fleet.prune(t0 + Duration::from_millis(1400));
        assert!(fleet.snapshot(t0).processes.is_empty());
    }

    #[test]
    fn the_tree_view_prefixes_paths_with_the_process() {
        let t0 = Instant::now();
        let mut fleet = Fleet::new(FleetConfig::default());
        beat(&mut fleet, "one", Status::Degraded, t0);
        let tree = fleet.snapshot(t0).to_health_snapshot();
        assert_eq!(tree.services[0].name, "a/one");
        assert_eq!(tree.services[1].path, "a/one/app/svc");
        assert_eq!(tree.status, Status::Degraded);
        assert_eq!(tree.subtree("a/one"), Some(Status::Degraded));
    }
}
