//! The health registry: one entry per running service and supervisor.
//!
//! Services push their health into the registry on every status change and
//! every periodic health check. Reads ([`Registry::get`], [`Registry::snapshot`])
//! go straight to a concurrent map and never queue behind writes or behind
//! the [`RegistryActor`], whose job is the part that needs time: it sweeps the
//! entries on an interval and marks a service [`Status::Stale`] when its last
//! heartbeat is older than a multiple of its health interval, even though its
//! task is alive (a zombie).
//!
//! Status transitions can be watched: a watcher first gets the current status,
//! then every change, in order (as gRPC's health `Watch`).
//!
//! A service that ends for good by itself (a temporary or transient child
//! that finished or failed and is not restarted) leaves a final record — its
//! last status, reason and details — for
//! [`retain_ended_for`](RegistryConfig::retain_ended_for), at most
//! [`retain_ended`](RegistryConfig::retain_ended) of them; its name is free
//! again at once.
//!
//! ```
//! # #[actix_rt::main] async fn main() {
//! use servitor::registry::{Registry, RegistryConfig};
//!
//! let registry = Registry::start(RegistryConfig::default()).unwrap();
//! assert!(registry.get("nobody").is_none());
//! assert_eq!(registry.snapshot().services.len(), 0);
//! # }
//! ```

mod actor;
mod entry;
mod watch;

pub use actor::{GetHealth, GetSnapshot, RegistryActor};
pub use watch::{StatusChange, StatusWatch, WaitError};

use crate::health::{in_subtree, unix_ms, Details, HealthReport, HealthSnapshot, NodeKind};
use crate::names::NameHash;
use crate::status::Status;
use actix::{Actor, Addr};
use dashmap::DashMap;
use entry::Entry;
use parking_lot::Mutex;
use serde::{Deserialize, Serialize};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, SystemTime};
use tokio::sync::mpsc;
use tokio::time::Instant;

/// Registry settings.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct RegistryConfig {
    /// A running service whose last heartbeat is older than
    /// `stale_after × its health interval` is marked stale. Above 1.
    /// Default 3.0.
    pub stale_after: f64,
    /// How often the registry actor looks for stale entries and prunes
    /// final records. At least 1 ms. Default 1 s.
    #[serde(with = "crate::serde_duration")]
    pub sweep_interval: Duration,
    /// The most final records of ended services kept; the oldest go first.
    /// 0 keeps none. Default 100.
    pub retain_ended: usize,
    /// How long a final record of an ended service is kept. Default 10 min.
    #[serde(with = "crate::serde_duration")]
    pub retain_ended_for: Duration,
}

/// The default [`RegistryConfig::retain_ended`]: 100 final records.
pub const DEFAULT_RETAIN_ENDED: usize = 100;
/// The default [`RegistryConfig::retain_ended_for`]: 10 minutes.
pub const DEFAULT_RETAIN_ENDED_FOR: Duration = Duration::from_secs(600);

impl Default for RegistryConfig {
    fn default() -> Self {
        RegistryConfig {
            stale_after: 3.0,
            sweep_interval: Duration::from_secs(1),
            retain_ended: DEFAULT_RETAIN_ENDED,
            retain_ended_for: DEFAULT_RETAIN_ENDED_FOR,
        }
    }
}

/// Errors of registry operations.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum RegistryError {
    /// No service of that name is registered.
    #[error("no service named `{0}` is registered")]
    NotFound(String),
    /// The name belongs to a running service already.
    #[error("the name `{0}` is taken by a running service")]
    NameTaken(String),
    /// A configuration value is out of range.
    #[error("invalid registry configuration: `{field}` {problem}")]
    InvalidConfig {
        /// The field at fault.
        field: &'static str,
        /// What is wrong with it.
        problem: &'static str,
    },
}

/// Who reports a status change.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Reporter {
    /// The node's supervisor (lifecycle: starting, restarting, stopped).
    Supervisor,
    /// One incarnation of the node; ignored once it has been replaced.
    Incarnation(u64),
}

/// A cheap, clonable handle to the registry: reads happen in the caller,
/// without a message round trip.
#[derive(Clone)]
pub struct Registry {
    shared: Arc<Shared>,
}

pub(crate) struct Shared {
    /// Boxed: a hash table keeps spare slots, which then cost a pointer
    /// each rather than a whole entry.
    entries: DashMap<Arc<str>, Box<Entry>, NameHash>,
    /// Subscribers of [`Registry::watch_all`].
    ///
    /// Lock order: this mutex first, then entry (shard) locks. `watch_all`
    /// must hold it while it reads every entry (so that no change slips in
    /// between a service's current status and its next change), so a writer
    /// that announces a change must take it *before* the entry it changes —
    /// the other way round, a writer and a new watcher deadlock.
    watch_all: Mutex<Vec<mpsc::UnboundedSender<StatusChange>>>,
    config: RegistryConfig,
    actor: Mutex<Option<Addr<RegistryActor>>>,
    next_seq: AtomicU64,
}

impl Registry {
    /// Starts the registry actor on the current arbiter and returns a handle.
    ///
    /// Fails when `stale_after` is not above 1 or `sweep_interval` is zero.
    pub fn start(config: RegistryConfig) -> Result<Registry, RegistryError> {
        Self::start_sized(config, 0)
    }

    /// [`start`](Self::start) with room for `capacity` services, so that a
    /// large tree's start does not grow the table step by step.
    pub(crate) fn start_sized(
        config: RegistryConfig,
        capacity: usize,
    ) -> Result<Registry, RegistryError> {
        if !(config.stale_after.is_finite() && config.stale_after > 1.0) {
            return Err(RegistryError::InvalidConfig {
                field: "stale_after",
                problem: "must be a finite number above 1",
            });
        }
        if config.sweep_interval < Duration::from_millis(1) {
            return Err(RegistryError::InvalidConfig {
                field: "sweep_interval",
                problem: "must be at least 1 ms",
            });
        }
        let registry = Registry {
            shared: Arc::new(Shared {
                entries: DashMap::with_capacity_and_hasher(capacity, NameHash::default()),
                next_seq: AtomicU64::new(0),
                watch_all: Mutex::new(Vec::new()),
                config,
                actor: Mutex::new(None),
            }),
        };
        let addr = RegistryActor::new(registry.clone()).start();
        *registry.shared.actor.lock() = Some(addr);
        Ok(registry)
    }

    /// The registry actor's address (for actix-style `send` queries).
    pub fn actor(&self) -> Option<Addr<RegistryActor>> {
        self.shared.actor.lock().clone()
    }

    /// Stops the sweeping actor. Reads keep working.
    pub fn stop(&self) {
        if let Some(addr) = self.shared.actor.lock().take() {
            addr.do_send(actor::StopSweeping);
        }
    }

    /// The settings this registry runs with.
    pub fn config(&self) -> RegistryConfig {
        self.shared.config
    }

    /// The current report of one service.
    pub fn get(&self, name: &str) -> Option<HealthReport> {
        let now = Instant::now();
        self.shared.entries.get(name).map(|e| e.report_at(now))
    }

    /// The current status of one service.
    pub fn status(&self, name: &str) -> Option<Status> {
        self.shared.entries.get(name).map(|e| e.report.status)
    }

    /// Names of every registered service and supervisor.
    pub fn names(&self) -> Vec<String> {
        self.shared
            .entries
            .iter()
            .map(|e| e.key().to_string())
            .collect()
    }

    /// Every report, in tree order (depth first, children in start order),
    /// with the overall (worst) status.
    pub fn snapshot(&self) -> HealthSnapshot {
        let now = Instant::now();
        let mut ordered: Vec<(Arc<[u64]>, HealthReport)> = self
            .shared
            .entries
            .iter()
            .map(|e| (e.order.clone(), e.report_at(now)))
            .collect();
        ordered.sort_by(|a, b| a.0.cmp(&b.0));
        HealthSnapshot::new(ordered.into_iter().map(|(_, r)| r).collect())
    }

    /// The worst status of the node named `name` and everything below it
    /// (final records of ended services count only while they show a fault).
    pub fn subtree_status(&self, name: &str) -> Option<Status> {
        let path = self.shared.entries.get(name)?.report.path.clone();
        Some(crate::status::aggregate(
            self.shared
                .entries
                .iter()
                .filter(|e| in_subtree(&e.report.path, &path))
                .filter(|e| e.report.counts_toward_health())
                .map(|e| e.report.status),
        ))
    }

    /// The snapshot as a JSON value.
    pub fn to_json(&self) -> serde_json::Value {
        serde_json::to_value(self.snapshot()).unwrap_or(serde_json::Value::Null)
    }

    /// Watches one service: the first item is its current status, then every
    /// change, in order. The watch ends after the service is deregistered.
    pub fn watch(&self, name: &str) -> Result<StatusWatch, RegistryError> {
        let (tx, rx) = mpsc::unbounded_channel();
        let mut entry = self
            .shared
            .entries
            .get_mut(name)
            .ok_or_else(|| RegistryError::NotFound(name.to_string()))?;
        let _ = tx.send(entry.change(None));
        entry.watchers.get_or_insert_with(Default::default).push(tx);
        Ok(StatusWatch::new(rx))
    }

    /// Watches every service: first the current status of each, then every
    /// change of any of them (in order per service).
    pub fn watch_all(&self) -> StatusWatch {
        let (tx, rx) = mpsc::unbounded_channel();
        let mut all = self.shared.watch_all.lock();
        for e in self.shared.entries.iter() {
            let _ = tx.send(e.change(None));
        }
        all.push(tx);
        StatusWatch::new(rx)
    }

    // ---- writes (crate-internal: services write through their context) ----

    /// Registers a node about to start, or — a restart — sets the
    /// registered one `Starting`. One lookup in the common cases.
    pub(crate) fn register(
        &self,
        name: &Arc<str>,
        path: &str,
        kind: NodeKind,
        interval: Duration,
        now: Instant,
    ) -> Result<(), RegistryError> {
        use dashmap::mapref::entry::Entry as Slot;
        let ended = {
            let mut all = self.shared.watch_all.lock();
            match self.shared.entries.get_mut(name) {
                // A restarted node is registered already: no allocation.
                Some(mut e) if e.ended.is_none() => {
                    if e.report.path != path {
                        return Err(RegistryError::NameTaken(name.to_string()));
                    }
                    // Starting is not watched for staleness: no heartbeat.
                    let from = e.report.status;
                    if e.set_status(Status::Starting, None, || now) {
                        e.announce(from, &mut all);
                    }
                    return Ok(());
                }
                found => found.is_some(),
            }
        };
        if ended {
            // The final record of an ended service gives way to a new one.
            self.drop_ended(name);
        }
        // Looked up before the new entry's shard is locked.
        let mut order = path
            .rsplit_once('/')
            .and_then(|(parent, _)| parent.rsplit('/').next())
            .and_then(|parent| self.shared.entries.get(parent).map(|e| e.order.to_vec()))
            .unwrap_or_default();
        order.push(self.shared.next_seq.fetch_add(1, Ordering::Relaxed));
        let order: Arc<[u64]> = Arc::from(order);
        let mut all = self.shared.watch_all.lock();
        match self.shared.entries.entry(name.clone()) {
            Slot::Occupied(o) if o.get().report.path == path => Ok(()),
            Slot::Occupied(_) => Err(RegistryError::NameTaken(name.to_string())),
            Slot::Vacant(v) => {
                let mut report = HealthReport::new(&**name, path, Status::Starting);
                report.kind = kind;
                let mut entry = Entry::new(report, interval, now);
                entry.order = order;
                let e = v.insert(Box::new(entry));
                if !all.is_empty() {
                    fan_out_all(&mut all, e.change(None));
                }
                Ok(())
            }
        }
    }

    pub(crate) fn deregister(&self, name: &str) {
        let mut all = self.shared.watch_all.lock();
        if let Some((_, mut e)) = self.shared.entries.remove(name) {
            if e.report.status != Status::Stopped && e.report.status != Status::Failed {
                let from = e.report.status;
                if e.set_status(Status::Stopped, None, Instant::now) {
                    e.announce(from, &mut all);
                }
            }
        }
    }

    /// Deregisters the node at `path` and everything below it.
    pub(crate) fn deregister_subtree(&self, path: &str) {
        let names: Vec<Arc<str>> = self
            .shared
            .entries
            .iter()
            .filter(|e| in_subtree(&e.report.path, path))
            .map(|e| e.key().clone())
            .collect();
        for n in names {
            self.deregister(&n);
        }
    }

    /// Deregisters everything (the runtime has shut down).
    pub(crate) fn clear(&self) {
        for n in self.names() {
            self.deregister(&n);
        }
    }

    /// Whether `name` is taken by a live (not ended) entry.
    pub(crate) fn is_registered(&self, name: &str) -> bool {
        self.shared
            .entries
            .get(name)
            .is_some_and(|e| e.ended.is_none())
    }

    /// Turns the entries of `path` and below into final records: their last
    /// status, reason and details stay visible until pruned; their names are
    /// free.
    pub(crate) fn retire_subtree(&self, path: &str) {
        if self.shared.config.retain_ended == 0 {
            return self.deregister_subtree(path);
        }
        let now = Instant::now();
        let wall = crate::clock::unix_ms(now);
        for mut e in self.shared.entries.iter_mut() {
            if in_subtree(&e.report.path, path) && e.ended.is_none() {
                e.ended = Some(now);
                e.started = None;
                e.report.ended_at_ms = Some(wall);
                e.report.restart_at_ms = None;
            }
        }
    }

    /// Removes the final record of `name`, if it is one.
    fn drop_ended(&self, name: &str) {
        let gone = self
            .shared
            .entries
            .remove_if(name, |_, e| e.ended.is_some());
        drop(gone);
    }

    /// When the pending restart of `name` is due (unix ms), or none.
    pub(crate) fn set_restart_at(&self, name: &str, at_ms: Option<u64>) {
        if let Some(mut e) = self.shared.entries.get_mut(name) {
            e.report.restart_at_ms = at_ms;
        }
    }

    /// Sets the status of a node. An instance's report is dropped once the
    /// instance has been replaced; its supervisor's always counts.
    pub(crate) fn set_status(
        &self,
        name: &str,
        by: Reporter,
        status: Status,
        message: Option<String>,
    ) {
        self.set_status_at(name, by, status, message, None);
    }

    /// [`set_status`](Self::set_status) at `at`, a clock reading the caller
    /// holds, or one taken only if the entry needs it.
    pub(crate) fn set_status_at(
        &self,
        name: &str,
        by: Reporter,
        status: Status,
        message: Option<String>,
        mut at: Option<Instant>,
    ) {
        let mut now = || *at.get_or_insert_with(Instant::now);
        let mut all = self.shared.watch_all.lock();
        let Some(mut e) = self.shared.entries.get_mut(name) else {
            return;
        };
        if let Reporter::Incarnation(n) = by {
            if n != e.incarnation {
                return;
            }
        }
        let from = e.report.status;
        if e.set_status(status, message, &mut now) {
            e.announce(from, &mut all);
        }
        if e.watched_for_staleness() {
            e.heartbeat = now();
        }
    }

    pub(crate) fn heartbeat(&self, name: &str, incarnation: u64) {
        {
            // The common case announces nothing and needs no watcher lock.
            let Some(mut e) = self.shared.entries.get_mut(name) else {
                return;
            };
            if incarnation != e.incarnation {
                return;
            }
            e.heartbeat = Instant::now();
            if e.report.status != Status::Stale {
                return;
            }
        }
        // Back from stale: take the locks in order and look again.
        let mut all = self.shared.watch_all.lock();
        let Some(mut e) = self.shared.entries.get_mut(name) else {
            return;
        };
        if incarnation != e.incarnation || e.report.status != Status::Stale {
            return;
        }
        let now = Instant::now();
        e.heartbeat = now;
        let reported = e.reported;
        let message = e.reported_message.take().map(String::from);
        let from = e.report.status;
        if e.set_status(reported, message, || now) {
            e.announce(from, &mut all);
        }
    }

    pub(crate) fn set_details(&self, name: &str, incarnation: u64, details: Details) {
        if let Some(mut e) = self.shared.entries.get_mut(name) {
            if incarnation == e.incarnation {
                e.report.details = details;
            }
        }
    }

    /// How long the last health check of `name` took.
    pub(crate) fn record_check(&self, name: &str, incarnation: u64, took: Duration) {
        if let Some(mut e) = self.shared.entries.get_mut(name) {
            if incarnation == e.incarnation {
                e.report.check_duration_us =
                    Some(took.as_micros().min(u128::from(u64::MAX)) as u64);
            }
        }
    }

    pub(crate) fn merge_detail(
        &self,
        name: &str,
        incarnation: u64,
        key: &str,
        value: serde_json::Value,
    ) {
        if let Some(mut e) = self.shared.entries.get_mut(name) {
            if incarnation == e.incarnation {
                e.report.details.insert(key.to_string(), value);
            }
        }
    }

    /// A new incarnation begins: later reports must carry its number.
    pub(crate) fn begin_incarnation(&self, name: &str, incarnation: u64, interval: Duration) {
        if let Some(mut e) = self.shared.entries.get_mut(name) {
            e.incarnation = incarnation;
            e.interval = interval;
            if e.watched_for_staleness() {
                e.heartbeat = Instant::now();
            }
            e.report.details.clear();
        }
    }

    /// Incarnation `incarnation` of `name` has started (at `now`) and
    /// reports `status`: one lookup for both.
    pub(crate) fn mark_running(&self, name: &str, incarnation: u64, status: Status, now: Instant) {
        let mut all = self.shared.watch_all.lock();
        let Some(mut e) = self.shared.entries.get_mut(name) else {
            return;
        };
        if incarnation != e.incarnation {
            return;
        }
        e.started = Some(now);
        e.heartbeat = now;
        let from = e.report.status;
        if e.set_status(status, None, || now) {
            e.announce(from, &mut all);
        }
    }

    /// The instance of `name` is down, having failed with `failure` if it did.
    pub(crate) fn mark_down(&self, name: &str, failure: Option<String>) {
        if let Some(mut e) = self.shared.entries.get_mut(name) {
            e.started = None;
            if failure.is_some() {
                e.report.last_failure = failure;
            }
        }
    }

    /// The names of the services (not supervisors) now in `status`, in
    /// tree order; a scan of the map, without copying any report.
    pub(crate) fn services_in(&self, status: Status) -> Vec<String> {
        let mut found: Vec<(Arc<[u64]>, String)> = self
            .shared
            .entries
            .iter()
            .filter(|e| e.report.status == status && e.report.kind == NodeKind::Service)
            .map(|e| (e.order.clone(), e.report.name.clone()))
            .collect();
        found.sort_unstable_by(|a, b| a.0.cmp(&b.0));
        found.into_iter().map(|(_, name)| name).collect()
    }

    pub(crate) fn record_restart(&self, name: &str, restarts: u32, last_failure: Option<String>) {
        if let Some(mut e) = self.shared.entries.get_mut(name) {
            e.report.restarts = restarts;
            if last_failure.is_some() {
                e.report.last_failure = last_failure;
            }
        }
    }

    /// Marks running services with an overdue heartbeat as stale, and
    /// prunes final records past their time or count.
    pub(crate) fn sweep(&self, now: Instant) -> usize {
        self.prune_ended(now);
        let factor = self.shared.config.stale_after;
        let mut marked = 0;
        let mut all = self.shared.watch_all.lock();
        for mut e in self.shared.entries.iter_mut() {
            if !e.watched_for_staleness() {
                continue;
            }
            let limit = crate::clock::scaled(e.interval, factor);
            if now.saturating_duration_since(e.heartbeat) > limit {
                let silent = now.saturating_duration_since(e.heartbeat);
                let message = format!("no heartbeat for {} ms", silent.as_millis());
                let from = e.report.status;
                if e.mark_stale(message, now) {
                    e.announce(from, &mut all);
                    marked += 1;
                }
            }
        }
        marked
    }
}

impl Registry {
    /// Drops final records older than `retain_ended_for`, then the oldest
    /// beyond `retain_ended`.
    fn prune_ended(&self, now: Instant) {
        let config = self.shared.config;
        let mut ended: Vec<(Instant, Arc<str>)> = self
            .shared
            .entries
            .iter()
            .filter_map(|e| e.ended.map(|at| (at, e.key().clone())))
            .collect();
        if ended.is_empty() {
            return;
        }
        ended.sort();
        let over = ended.len().saturating_sub(config.retain_ended);
        for (i, (at, name)) in ended.into_iter().enumerate() {
            if i < over || now.saturating_duration_since(at) >= config.retain_ended_for {
                self.deregister(&name);
            }
        }
    }
}

/// Sends `change` to every `watch_all` subscriber, dropping the gone ones.
fn fan_out_all(all: &mut Vec<mpsc::UnboundedSender<StatusChange>>, change: StatusChange) {
    all.retain(|tx| tx.send(change.clone()).is_ok());
}

impl std::fmt::Debug for Registry {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Registry")
            .field("entries", &self.shared.entries.len())
            .field("config", &self.shared.config)
            .finish()
    }
}

pub(crate) fn now_ms() -> u64 {
    unix_ms(SystemTime::now())
}
