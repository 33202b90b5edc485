//! The fleet view: every service of every process of an application, from
//! the health messages the runtimes publish on NATS.
//!
//! A [`FleetView`] is fed by its bridge (when
//! [`watch_fleet`](super::HealthPublishing::watch_fleet) is on, the
//! default): the bridge subscribes to `servitor.health.<app>.>` and hands
//! every message over, and adds this process's own reports without a round
//! trip. The data and the rules — staleness after
//! [`stale_after`](super::HealthPublishing::stale_after) silent heartbeat
//! intervals, worst-wins over the fleet, goodbyes — are
//! [`servitor_health::fleet`]'s, so the `servitorctl --nats` view and this
//! one agree.
//!
//! ```
//! use servitor::nats::FleetView;
//! use servitor::Status;
//!
//! let view = FleetView::new(Default::default());
//! let snapshot = view.snapshot();
//! assert!(snapshot.processes.is_empty());
//! assert_eq!(snapshot.status, Status::Unknown); // nothing heard yet
//! // As a tree: one node per process, its services below it.
//! assert!(view.health_snapshot().services.is_empty());
//! ```

use crate::health::HealthSnapshot;
use parking_lot::Mutex;
pub use servitor_health::fleet::{
    Fleet, FleetConfig, FleetSnapshot, HealthMessage, MessageKind, ProcessHealth,
};
use std::fmt;
use std::sync::Arc;
use std::time::Instant;

/// A live view of a fleet; cheap to clone (clones share the view).
#[derive(Clone, Default)]
pub struct FleetView {
    fleet: Arc<Mutex<Fleet>>,
}

impl FleetView {
    /// An empty view judging processes by `config`.
    pub fn new(config: FleetConfig) -> FleetView {
        FleetView {
            fleet: Arc::new(Mutex::new(Fleet::new(config))),
        }
    }

    /// Takes in one message, received now.
    pub fn apply(&self, message: HealthMessage) {
        self.fleet.lock().apply(message, Instant::now());
    }

    /// Every process as seen now (processes gone longer than the retention
    /// are forgotten first).
    pub fn snapshot(&self) -> FleetSnapshot {
        let now = Instant::now();
        let mut fleet = self.fleet.lock();
        fleet.prune(now);
        fleet.snapshot(now)
    }

    /// The fleet as one tree (see
    /// [`FleetSnapshot::to_health_snapshot`]): what the HTTP endpoint's
    /// `/services` serves with a fleet source.
    pub fn health_snapshot(&self) -> HealthSnapshot {
        self.snapshot().to_health_snapshot()
    }
}

impl fmt::Debug for FleetView {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let snapshot = self.snapshot();
        f.debug_struct("FleetView")
            .field("processes", &snapshot.processes.len())
            .field("status", &snapshot.status)
            .finish()
    }
}

#[cfg(feature = "http")]
impl crate::http::FleetSource for FleetView {
    fn fleet_snapshot(&self) -> HealthSnapshot {
        self.health_snapshot()
    }
}
