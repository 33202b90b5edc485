//! What a service says about itself: one [`Health`] value — a status, why,
//! and its statistics as details — published with
//! [`ServiceContext::publish`](crate::ServiceContext::publish).
//!
//! Every built-in service builds its health the same way: its statistics
//! struct (any `Serialize` type) becomes the details, a few more values are
//! added by name, and the status says how it is doing.
//!
//! ```
//! use servitor::kit::Health;
//! use servitor::Status;
//!
//! #[derive(serde::Serialize)]
//! struct Stats { queued: usize, dropped: u64 }
//!
//! let stats = Stats { queued: 3, dropped: 1 };
//! let health = Health::new(if stats.dropped > 0 { Status::Degraded } else { Status::Ok })
//!     .message("1 event dropped")
//!     .stats(&stats)
//!     .detail("capacity", 64);
//! assert_eq!(health.details["queued"], 3);
//! assert_eq!(health.details["capacity"], 64);
//! ```

use crate::health::Details;
use crate::status::Status;
use serde::Serialize;

/// A service's own account of its health.
#[derive(Debug, Clone, PartialEq)]
pub struct Health {
    /// How it is doing.
    pub status: Status,
    /// Why, when the status needs explaining.
    pub message: Option<String>,
    /// Observed values: statistics, gauges, settings worth seeing.
    pub details: Details,
}

impl Health {
    /// A report with this status, no message and no details.
    pub fn new(status: Status) -> Health {
        Health {
            status,
            message: None,
            details: Details::new(),
        }
    }

    /// A report saying [`Status::Ok`].
    pub fn ok() -> Health {
        Health::new(Status::Ok)
    }

    /// Sets the message.
    pub fn message(mut self, message: impl Into<String>) -> Health {
        self.message = Some(message.into());
        self
    }

    /// Adds every field of `stats` (a struct, or anything that serializes
    /// to a JSON object) to the details.
    pub fn stats(mut self, stats: &impl Serialize) -> Health {
        if let Ok(serde_json::Value::Object(map)) = serde_json::to_value(stats) {
            self.details.extend(map);
        }
        self
    }

    /// Adds one detail.
    pub fn detail(mut self, key: &str, value: impl Serialize) -> Health {
        let value = serde_json::to_value(value).unwrap_or(serde_json::Value::Null);
        self.details.insert(key.to_string(), value);
        self
    }
}
