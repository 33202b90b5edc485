//! How scheduler operations fail.
//!
//! * [`SchedulerError`] — a job operation was refused (bad name, bad
//!   schedule, unknown job). Nothing changed.
//! * [`ConfigError`](crate::kit::ConfigError) — building a scheduler
//!   from an invalid name or [`SchedulerConfig`](super::SchedulerConfig);
//!   names the field.

/// A refused job operation. Nothing was changed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum SchedulerError {
    /// The scheduler service is gone for good (removed from its supervisor,
    /// or its runtime ended); its jobs were dropped.
    #[error("scheduler `{service}` is stopped")]
    Stopped {
        /// The scheduler's service name.
        service: String,
    },
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
    /// An interval schedule shorter than 1 ms (the scheduler's resolution).
    #[error("job `{job}`: the interval must be at least 1 ms")]
    IntervalTooShort {
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

impl From<crate::kit::Stopped> for SchedulerError {
    fn from(e: crate::kit::Stopped) -> Self {
        SchedulerError::Stopped { service: e.service }
    }
}
