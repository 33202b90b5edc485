//! # servitor-health
//!
//! The health data of [servitor](https://docs.rs/servitor) as plain data
//! types, with no runtime behind them: the [`Status`] every service is
//! described by, one service's [`HealthReport`], and the
//! [`HealthSnapshot`] of a whole tree. They serialize with serde exactly as
//! servitor serves them, so a program that only *reads* health — a status
//! CLI, a dashboard, a fleet view — depends on this crate alone, without
//! actix or tokio.
//!
//! servitor re-exports everything here as `servitor::status` and
//! `servitor::health`.
//!
//! ```
//! use servitor_health::{HealthReport, HealthSnapshot, Status};
//!
//! let json = r#"{"status":"degraded","services":[
//!     {"name":"app","path":"app","kind":"supervisor","status":"ok","message":null,
//!      "status_since_ms":0,"uptime_ms":1200,"restarts":0,"last_failure":null,"details":{}},
//!     {"name":"db","path":"app/db","kind":"service","status":"degraded","message":"slow",
//!      "status_since_ms":0,"uptime_ms":1100,"restarts":2,"last_failure":"timeout","details":{}}]}"#;
//! let snapshot: HealthSnapshot = serde_json::from_str(json).unwrap();
//! assert_eq!(snapshot.status, Status::Degraded);
//! assert_eq!(snapshot.get("db").map(|r| r.restarts), Some(2));
//! assert_eq!(snapshot.subtree("app/db"), Some(Status::Degraded));
//! # let _ = HealthReport::new("x", "x", Status::Ok);
//! ```

#![deny(missing_docs)]

pub mod fleet;
mod report;
mod snapshot;
pub mod status;

pub use report::{Details, HealthReport, NodeKind};
pub use snapshot::{in_subtree, HealthSnapshot};
pub use status::{aggregate, Status};
