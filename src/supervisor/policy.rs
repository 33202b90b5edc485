//! Restart policy: which children restart together, how often restarts may
//! happen before the supervisor gives up, and how long to wait before each.

use serde::{Deserialize, Serialize};
use std::collections::VecDeque;
use std::time::Duration;
use tokio::time::Instant;

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

/// The restarts within the last `period`, kept as timestamps so that the
/// window slides: an old restart stops counting exactly `period` after it.
#[derive(Debug, Default)]
pub(crate) struct RestartWindow {
    times: VecDeque<Instant>,
}

impl RestartWindow {
    /// Records a restart at `now`; false when it exceeds the intensity.
    pub fn admit(&mut self, now: Instant, intensity: Intensity) -> bool {
        while let Some(&t) = self.times.front() {
            if now.saturating_duration_since(t) >= intensity.period {
                self.times.pop_front();
            } else {
                break;
            }
        }
        self.times.push_back(now);
        self.times.len() as u64 <= u64::from(intensity.max_restarts)
    }
}

/// Delay before a child is restarted: `initial × factor^n`, capped at `max`,
/// spread by ± `jitter` (a fraction), where n counts the restarts since the
/// child last ran for `reset_after` without exiting.
///
/// ```
/// use std::time::Duration;
/// use servitor::Backoff;
///
/// let b = Backoff::exponential(Duration::from_millis(100), Duration::from_secs(1));
/// let delays: Vec<_> = (0..5).map(|n| b.delay(n).as_millis()).collect();
/// assert_eq!(delays, [100, 200, 400, 800, 1000]);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Backoff {
    /// First delay. Zero: restart at once (OTP's behaviour).
    #[serde(with = "crate::serde_duration")]
    pub initial: Duration,
    /// Largest delay.
    #[serde(with = "crate::serde_duration")]
    pub max: Duration,
    /// Growth per restart. Default 2.0.
    pub factor: f64,
    /// Random spread as a fraction of the delay (0.1 = ±10 %). Default 0.
    pub jitter: f64,
    /// A child that ran this long without exiting starts again from `initial`.
    /// Default 10 s.
    #[serde(with = "crate::serde_duration")]
    pub reset_after: Duration,
}

impl Default for Backoff {
    fn default() -> Self {
        Backoff::none()
    }
}

impl Backoff {
    /// Restart at once, every time.
    pub const fn none() -> Self {
        Backoff {
            initial: Duration::ZERO,
            max: Duration::ZERO,
            factor: 1.0,
            jitter: 0.0,
            reset_after: Duration::from_secs(10),
        }
    }

    /// Doubling delays from `initial` up to `max`, no jitter, reset after 10 s.
    pub const fn exponential(initial: Duration, max: Duration) -> Self {
        Backoff {
            initial,
            max,
            factor: 2.0,
            jitter: 0.0,
            reset_after: Duration::from_secs(10),
        }
    }

    /// The same backoff with another growth factor.
    pub fn factor(mut self, factor: f64) -> Self {
        self.factor = factor;
        self
    }

    /// The same backoff with jitter (a fraction of the delay, 0 to 1).
    pub fn jitter(mut self, jitter: f64) -> Self {
        self.jitter = jitter;
        self
    }

    /// The same backoff, reset after the child ran `stable` without exiting.
    pub fn reset_after(mut self, stable: Duration) -> Self {
        self.reset_after = stable;
        self
    }

    /// The delay before restart number `n` (0-based) since the last reset,
    /// without jitter.
    pub fn delay(&self, n: u32) -> Duration {
        if self.initial.is_zero() {
            return Duration::ZERO;
        }
        let grown = self.initial.as_secs_f64() * self.factor.powi(n.min(1_000) as i32);
        let capped = grown.min(self.max.as_secs_f64()).max(0.0);
        // Near Duration::MAX the float no longer converts: that is the cap.
        Duration::try_from_secs_f64(capped).unwrap_or(self.max)
    }

    /// [`delay`](Self::delay) with the jitter applied.
    pub fn jittered_delay(&self, n: u32) -> Duration {
        let base = self.delay(n);
        if self.jitter <= 0.0 || base.is_zero() {
            return base;
        }
        let spread = (fastrand::f64() * 2.0 - 1.0) * self.jitter;
        Duration::try_from_secs_f64(base.as_secs_f64() * (1.0 + spread).max(0.0))
            .unwrap_or(self.max)
    }

    pub(crate) fn validate(&self) -> Result<(), (&'static str, &'static str)> {
        if !(self.factor.is_finite() && self.factor >= 1.0) {
            return Err(("backoff.factor", "must be a finite number of at least 1"));
        }
        if !(self.jitter.is_finite() && (0.0..=1.0).contains(&self.jitter)) {
            return Err(("backoff.jitter", "must be between 0 and 1"));
        }
        if self.max < self.initial {
            return Err(("backoff.max", "must not be below backoff.initial"));
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn window_slides_instead_of_resetting_after_quiet_gap() {
        let start = Instant::now();
        let every = Duration::from_secs(2);
        let intensity = Intensity {
            max_restarts: 3,
            period: Duration::from_secs(5),
        };
        let mut w = RestartWindow::default();
        for i in 0..50 {
            assert!(
                w.admit(start + every * i, intensity),
                "restart {i} escalated"
            );
        }
        let mut w = RestartWindow::default();
        let ms = Duration::from_millis(750);
        let results: Vec<bool> = (0..4).map(|i| w.admit(start + ms * i, intensity)).collect();
        assert_eq!(results, [true, true, true, false]);
    }
}
