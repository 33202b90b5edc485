//! Secrets: a value that never shows itself in logs, errors, health or
//! `Debug` output.
//!
//! Passwords, tokens and URLs with credentials are held as a [`Secret`]:
//! formatting it (with `{}` or `{:?}`) prints `[redacted]`, serializing it
//! writes `"[redacted]"`, and the value itself is read only where it is used,
//! with [`Secret::expose`].
//!
//! ```
//! use servitor::kit::Secret;
//!
//! let token = Secret::new("ghp_abc123");
//! assert_eq!(format!("{token:?} {token}"), "[redacted] [redacted]");
//! assert_eq!(token.expose(), "ghp_abc123");
//! let parsed: Secret = serde_json::from_str("\"s3cr3t\"").unwrap();
//! assert_eq!(serde_json::to_string(&parsed).unwrap(), "\"[redacted]\"");
//! ```

use serde::{Deserialize, Deserializer, Serialize, Serializer};
use std::fmt;

/// What a secret prints as.
pub const REDACTED: &str = "[redacted]";

/// A string that is never printed.
#[derive(Clone, PartialEq, Eq, Default)]
pub struct Secret(String);

impl Secret {
    /// Wraps `value`.
    pub fn new(value: impl Into<String>) -> Secret {
        Secret(value.into())
    }

    /// The value, for the one place that uses it.
    pub fn expose(&self) -> &str {
        &self.0
    }

    /// Whether the value is empty.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// Replaces every occurrence of the value in `text` with `[redacted]`
    /// (for error texts of libraries that echo what they were given).
    pub fn scrub(&self, text: &str) -> String {
        if self.0.is_empty() {
            text.to_string()
        } else {
            text.replace(&self.0, REDACTED)
        }
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(REDACTED)
    }
}

impl fmt::Display for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(REDACTED)
    }
}

impl From<String> for Secret {
    fn from(s: String) -> Self {
        Secret(s)
    }
}

impl From<&str> for Secret {
    fn from(s: &str) -> Self {
        Secret(s.to_string())
    }
}

impl Serialize for Secret {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(REDACTED)
    }
}

impl<'de> Deserialize<'de> for Secret {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        String::deserialize(d).map(Secret)
    }
}
