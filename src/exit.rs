//! Why an instance of a service ended, and how a panic becomes such a reason.
//!
//! The supervisor decides what to do from an [`ExitReason`]: a
//! [transient](crate::Restart::Transient) child is restarted only after an
//! [abnormal](ExitReason::is_abnormal) exit, a
//! [permanent](crate::Restart::Permanent) one after any exit.

use serde::{Deserialize, Serialize};
use std::fmt;

/// Boxed error type accepted from service hooks: any error converts with `?`.
pub type BoxError = Box<dyn std::error::Error + Send + Sync + 'static>;

/// How one incarnation of a service ended.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", content = "reason", rename_all = "snake_case")]
#[non_exhaustive]
pub enum ExitReason {
    /// It finished on its own without error (a single-shot job that is done,
    /// an actor that called `ctx.stop()`).
    Normal,
    /// Its supervisor stopped it and its stop hook ran to the end.
    Shutdown,
    /// Its supervisor killed it: the stop hook did not finish within the
    /// shutdown timeout (or the child is configured to be killed at once),
    /// so the hook may not have run.
    Killed,
    /// It failed with an error (start hook, run, tick, or an explicit `fail`).
    Failed(String),
    /// Service code panicked; the panic message.
    Panicked(String),
    /// A supervisor gave up: more restarts than its intensity allows (the
    /// reason says which child, how often). As in OTP this ends the
    /// supervisor like a shutdown — a transient parent entry is not
    /// restarted — while health shows it failed with the reason.
    GaveUp(String),
}

impl ExitReason {
    /// True when the exit was not asked for and not a clean finish: the
    /// exits that make a transient child restart.
    pub fn is_abnormal(&self) -> bool {
        matches!(self, ExitReason::Failed(_) | ExitReason::Panicked(_))
    }

    /// The failure text of an abnormal exit, or of a supervisor that gave up.
    pub fn failure(&self) -> Option<String> {
        match self {
            ExitReason::Failed(m) => Some(m.clone()),
            ExitReason::Panicked(m) => Some(format!("panicked: {m}")),
            ExitReason::GaveUp(m) => Some(format!("gave up: {m}")),
            _ => None,
        }
    }
}

impl fmt::Display for ExitReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ExitReason::Normal => f.write_str("finished normally"),
            ExitReason::Shutdown => f.write_str("shut down"),
            ExitReason::Killed => f.write_str("killed (stop hook may not have run)"),
            ExitReason::Failed(m) => write!(f, "failed: {m}"),
            ExitReason::Panicked(m) => write!(f, "panicked: {m}"),
            ExitReason::GaveUp(m) => write!(f, "gave up: {m}"),
        }
    }
}
