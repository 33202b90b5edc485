//! A fleet source: where `/services` reads the health of many processes
//! instead of this runtime's registry alone.
//!
//! Given to [`HttpBuilder::fleet`](super::HttpBuilder::fleet), a source
//! makes `GET /services` answer with its [`HealthSnapshot`] — every process
//! a node, its services below it (the `nats` feature's
//! `servitor::nats::FleetView` is one) — while `GET /services?scope=local`
//! still answers with this runtime's registry. Without one, `/services` is
//! the registry, as always.
//!
//! ```
//! use servitor::http::{FleetSource, Http};
//! use servitor::HealthSnapshot;
//!
//! struct Fixed;
//! impl FleetSource for Fixed {
//!     fn fleet_snapshot(&self) -> HealthSnapshot { HealthSnapshot::new(Vec::new()) }
//! }
//! let (_spec, _ops) = Http::builder("ops").fleet(Fixed).build()?;
//! # Ok::<(), servitor::ConfigError>(())
//! ```

use crate::health::HealthSnapshot;

/// Something that knows the health of many processes.
pub trait FleetSource: Send + Sync + 'static {
    /// Every process's services as one tree, with the worst status.
    fn fleet_snapshot(&self) -> HealthSnapshot;
}
