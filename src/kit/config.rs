//! The one configuration error of every service.
//!
//! Configuration is checked when a service's spec is made, before anything
//! starts: a bad name or a bad field is a [`ConfigError`] naming the service
//! and the field, with what is wrong.
//!
//! ```
//! use servitor::kit::ConfigError;
//!
//! let err = ConfigError::field("sessions", "capacity", "must be at least 1");
//! assert_eq!(err.to_string(), "`sessions`: `capacity` must be at least 1");
//! assert_eq!(err.field_name(), Some("capacity"));
//! ```

use super::name::NameError;

/// An invalid service configuration. Nothing was started.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ConfigError {
    /// The service's name breaks the naming rules (see [`validate_name`](super::validate_name)).
    #[error("service name `{name}` is invalid: {problem}")]
    InvalidName {
        /// The name as given.
        name: String,
        /// What is wrong with it.
        problem: NameError,
    },
    /// A setting has a value the service cannot work with.
    #[error("`{service}`: `{field}` {problem}")]
    InvalidField {
        /// The service's name.
        service: String,
        /// The setting, as named in a configuration file (`capacity`,
        /// `retry.jitter`).
        field: String,
        /// What is wrong with its value.
        problem: String,
    },
}

impl ConfigError {
    /// An [`InvalidField`](ConfigError::InvalidField) error.
    pub fn field(
        service: impl Into<String>,
        field: impl Into<String>,
        problem: impl Into<String>,
    ) -> ConfigError {
        ConfigError::InvalidField {
            service: service.into(),
            field: field.into(),
            problem: problem.into(),
        }
    }

    /// The field at fault, if the error is about one.
    pub fn field_name(&self) -> Option<&str> {
        match self {
            ConfigError::InvalidField { field, .. } => Some(field),
            ConfigError::InvalidName { .. } => None,
        }
    }
}
