//! Checking a tree before anything starts (OTP's `check_childspecs`): names,
//! settings of each supervisor, settings of each child.

use super::builder::SupervisorConfig;
use super::policy::AutoShutdown;
use super::spec::{ChildSpec, Restart, Shutdown};
use crate::kit::{validate_name, NameError};
use std::time::Duration;

/// An invalid supervision tree, found by
/// [`SupervisorBuilder::build`](super::SupervisorBuilder::build) (or by
/// `add_child` at run time). Nothing was started.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum BuildError {
    /// A supervisor's or child's name breaks the naming rules
    /// ([`validate_name`]).
    #[error("{what} name `{name}` is invalid: {problem}")]
    InvalidName {
        /// "supervisor" or "child".
        what: &'static str,
        /// The name as given.
        name: String,
        /// What is wrong with it.
        problem: NameError,
    },
    /// Two nodes of the tree share a name (names are unique tree-wide, as
    /// they are how services are looked up).
    #[error("name `{name}` is used twice in the tree")]
    DuplicateName {
        /// The name.
        name: String,
    },
    /// A setting is out of range.
    #[error("`{node}`: `{field}` {problem}")]
    InvalidField {
        /// The supervisor or child.
        node: String,
        /// The setting, e.g. `intensity.period`.
        field: String,
        /// What is wrong with it.
        problem: String,
    },
}

/// The most restarts an intensity may allow.
const MAX_RESTARTS: u32 = 100_000;
/// The longest intensity window.
const MAX_PERIOD: Duration = Duration::from_secs(24 * 3600);

fn invalid(node: &str, field: &str, problem: &str) -> BuildError {
    BuildError::InvalidField {
        node: node.to_string(),
        field: field.to_string(),
        problem: problem.to_string(),
    }
}

fn check_name(name: &str, what: &'static str) -> Result<(), BuildError> {
    validate_name(name).map_err(|problem| BuildError::InvalidName {
        what,
        name: name.to_string(),
        problem,
    })
}

/// A supervisor's own name and policy.
pub(crate) fn validate_supervisor(name: &str, c: &SupervisorConfig) -> Result<(), BuildError> {
    check_name(name, "supervisor")?;
    let bad = |field, problem| Err(invalid(name, field, problem));
    if c.intensity.max_restarts == 0 {
        return bad("intensity.max_restarts", "must be at least 1");
    }
    if c.intensity.max_restarts > MAX_RESTARTS {
        return bad("intensity.max_restarts", "must be at most 100000");
    }
    if c.intensity.period.is_zero() {
        return bad("intensity.period", "must be above zero");
    }
    if c.intensity.period > MAX_PERIOD {
        return bad("intensity.period", "must be at most one day");
    }
    if c.health_interval < Duration::from_millis(1) {
        return bad("health_interval", "must be at least 1 ms");
    }
    if let Err(e) = c.backoff.validate() {
        return Err(invalid(
            name,
            &format!("backoff.{}", e.field()),
            e.problem(),
        ));
    }
    Ok(())
}

/// One child's name and settings, under a supervisor `parent` with `auto`.
pub(crate) fn validate_child(
    parent: &str,
    auto: AutoShutdown,
    child: &ChildSpec,
) -> Result<(), BuildError> {
    check_name(&child.id, "child")?;
    let bad = |field, problem| Err(invalid(&child.id, field, problem));
    if child.start_timeout.is_zero() {
        return bad("start_timeout", "must be above zero");
    }
    if let Shutdown::Timeout(t) = child.shutdown {
        if t.is_zero() {
            return bad(
                "shutdown_timeout",
                "must be above zero (use kill_on_stop to kill at once)",
            );
        }
    }
    if child.significant {
        if child.restart == Restart::Permanent {
            return bad("significant", "a permanent child cannot be significant");
        }
        if auto == AutoShutdown::Never {
            return Err(invalid(
                parent,
                "auto_shutdown",
                "is `never`, so a significant child is not allowed",
            ));
        }
    }
    Ok(())
}
