//! How scheduler operations fail.
//!
//! * [`SchedulerError`] — a job operation was refused (bad name, bad
//!   schedule, unknown job). Nothing changed.
//! * [`ConfigError`] — building a scheduler from an invalid
//!   [`SchedulerConfig`](super::SchedulerConfig); names the field.

/// A refused job operation. Nothing was changed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SchedulerError {
    /// A job needs a non-empty name.
    #[error("a job needs a non-empty name")]
    EmptyName,
    /// A job with this name is already scheduled.
    #[error("a job named `{job}` already exists")]
    Duplicate {
        /// The job's name.
        job: String,
    },
    /// No job has this name.
    #[error("no job named `{job}`")]
    NotFound {
        /// The name asked for.
        job: String,
    },
    /// An interval schedule of zero.
    #[error("job `{job}`: the interval must be more than zero")]
    ZeroInterval {
        /// The job's name.
        job: String,
    },
    /// A cron expression that does not parse.
    #[error("invalid cron expression `{expression}`: {problem}")]
    InvalidCron {
        /// The expression as given.
        expression: String,
        /// What is wrong with it.
        problem: String,
    },
}

/// An invalid scheduler configuration.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ConfigError {
    /// A field of [`SchedulerConfig`](super::SchedulerConfig) has a value
    /// the scheduler cannot work with.
    #[error("scheduler `{scheduler}`: `{field}` {problem}")]
    InvalidField {
        /// The scheduler's service name.
        scheduler: String,
        /// The field's name, as in the config file.
        field: &'static str,
        /// What is wrong with its value.
        problem: String,
    },
    /// The service name is empty.
    #[error("a scheduler needs a non-empty service name")]
    EmptyName,
}
