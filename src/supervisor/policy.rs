//! Restart policy: which children restart together, how often restarts may
//! happen before the supervisor gives up, and when significant children end
//! the supervisor. (How long to wait before a restart is the kit's
//! [`Backoff`](crate::kit::Backoff).)

use serde::{Deserialize, Serialize};
use std::time::Duration;

/// Which children restart when one of them exits and must be restarted.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Strategy {
    /// Only the child that exited.
    #[default]
    OneForOne,
    /// Every child: the others are stopped in reverse start order, then all
    /// start again in start order.
    OneForAll,
    /// The child that exited and every child started after it: those are
    /// stopped in reverse start order, then started again in start order.
    RestForOne,
}

/// When a supervisor ends by itself because significant children ended
/// (OTP's `auto_shutdown`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AutoShutdown {
    /// Never: significant children are not allowed.
    #[default]
    Never,
    /// When any significant child ends by itself.
    AnySignificant,
    /// When every significant child has ended by itself.
    AllSignificant,
}

/// Restart intensity: at most `max_restarts` within any sliding window of
/// length `period`. One more and the supervisor gives up.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Intensity {
    /// Restarts allowed within `period`. Default 3.
    pub max_restarts: u32,
    /// The window length. Default 5 s.
    #[serde(with = "crate::serde_duration")]
    pub period: Duration,
}

impl Default for Intensity {
    fn default() -> Self {
        Intensity {
            max_restarts: 3,
            period: Duration::from_secs(5),
        }
    }
}
