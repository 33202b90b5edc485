//! The one status type every service, supervisor and subtree is described
//! by (from the [`servitor-health`](servitor_health) crate).
//!
//! ```
//! use servitor::status::{aggregate, Status};
//!
//! assert_eq!(aggregate([Status::Ok, Status::Degraded, Status::Error]), Status::Error);
//! ```

pub use servitor_health::status::*;
