//! The one backoff every retry in servitor uses ([`Backoff`]).

use serde::{Deserialize, Serialize};
use std::time::Duration;

/// The one backoff: how long to wait before the next attempt after `n`
/// failures in a row.
///
/// Every retry in servitor uses it — a supervisor restarting a child, a
/// ticker retrying a failed tick, a task retrying a failed attempt, the
/// scheduler backing off a failing job — so they all grow, cap and spread
/// the same way:
///
/// `delay(n) = min(initial × factorⁿ, max)`, then shortened by a random
/// fraction of itself up to `jitter`, so delays of many retries spread out
/// and `max` stays a hard cap.
///
/// The arithmetic saturates: any `max` up to [`Duration::MAX`] and any `n`
/// give a delay, never a panic.
///
/// ```
/// use std::time::Duration;
/// use servitor::kit::Backoff;
///
/// let b = Backoff::exponential(Duration::from_millis(100), Duration::from_secs(1));
/// let delays: Vec<_> = (0..5).map(|n| b.delay(n).as_millis()).collect();
/// assert_eq!(delays, [100, 200, 400, 800, 1000]);
/// assert_eq!(b.delay(u32::MAX), Duration::from_secs(1));
///
/// let err = Backoff::try_new(Duration::from_secs(2), 2.0, Duration::from_secs(1), 0.0).unwrap_err();
/// assert_eq!(err.field(), "max");
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Backoff {
    /// The first delay (after one failure). Zero: no delay at all.
    #[serde(with = "crate::serde_duration")]
    pub initial: Duration,
    /// Growth per further failure; at least 1. Default 2.
    pub factor: f64,
    /// The largest delay; not below `initial`.
    #[serde(with = "crate::serde_duration")]
    pub max: Duration,
    /// Random spread: each delay is shortened by up to this fraction of it,
    /// 0 to 1 (0.1 = up to 10 % shorter). Default 0.
    pub jitter: f64,
}

impl Default for Backoff {
    fn default() -> Self {
        Backoff::none()
    }
}

/// A backoff setting out of range.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum BackoffError {
    /// `factor` is below 1, infinite or NaN.
    #[error("`factor` must be a finite number of at least 1")]
    Factor,
    /// `jitter` is outside 0 to 1, or NaN.
    #[error("`jitter` must be between 0 and 1")]
    Jitter,
    /// `max` is below `initial`.
    #[error("`max` must not be below `initial`")]
    MaxBelowInitial,
}

impl BackoffError {
    /// The field at fault: `factor`, `jitter` or `max`.
    pub fn field(&self) -> &'static str {
        match self {
            BackoffError::Factor => "factor",
            BackoffError::Jitter => "jitter",
            BackoffError::MaxBelowInitial => "max",
        }
    }

    /// What is wrong with it.
    pub fn problem(&self) -> &'static str {
        match self {
            BackoffError::Factor => "must be a finite number of at least 1",
            BackoffError::Jitter => "must be between 0 and 1",
            BackoffError::MaxBelowInitial => "must not be below `initial`",
        }
    }
}

impl Backoff {
    /// No delay, ever.
    pub const fn none() -> Self {
        Backoff {
            initial: Duration::ZERO,
            factor: 2.0,
            max: Duration::ZERO,
            jitter: 0.0,
        }
    }

    /// The same delay every time.
    pub const fn constant(delay: Duration) -> Self {
        Backoff {
            initial: delay,
            factor: 1.0,
            max: delay,
            jitter: 0.0,
        }
    }

    /// Doubling delays from `initial` up to `max`, no jitter. Checked by
    /// [`validate`](Self::validate) where it is used (`max` not below
    /// `initial`).
    pub const fn exponential(initial: Duration, max: Duration) -> Self {
        Backoff {
            initial,
            factor: 2.0,
            max,
            jitter: 0.0,
        }
    }

    /// A backoff with every setting given, checked at once.
    pub fn try_new(
        initial: Duration,
        factor: f64,
        max: Duration,
        jitter: f64,
    ) -> Result<Backoff, BackoffError> {
        let b = Backoff {
            initial,
            factor,
            max,
            jitter,
        };
        b.validate().map(|()| b)
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

    /// The same backoff with another cap.
    pub fn max(mut self, max: Duration) -> Self {
        self.max = max;
        self
    }

    /// Checks the settings.
    pub fn validate(&self) -> Result<(), BackoffError> {
        if !(self.factor.is_finite() && self.factor >= 1.0) {
            return Err(BackoffError::Factor);
        }
        if !(self.jitter.is_finite() && (0.0..=1.0).contains(&self.jitter)) {
            return Err(BackoffError::Jitter);
        }
        if self.max < self.initial {
            return Err(BackoffError::MaxBelowInitial);
        }
        Ok(())
    }

    /// Whether every delay is zero.
    pub fn is_none(&self) -> bool {
        self.initial.is_zero()
    }

    /// The delay before attempt `n + 1` after `n` failures counted from 0
    /// (`delay(0)` is `initial`), without jitter.
    pub fn delay(&self, n: u32) -> Duration {
        if self.initial.is_zero() {
            return Duration::ZERO;
        }
        if self.factor == 2.0 {
            // Exact: shift the nanoseconds, saturating at the cap.
            let nanos = self.initial.as_nanos();
            let grown = if n >= 128 {
                u128::MAX
            } else {
                nanos
                    .checked_shl(n)
                    .filter(|g| g >> n == nanos)
                    .unwrap_or(u128::MAX)
            };
            return from_nanos_capped(grown, self.max);
        }
        let grown = self.initial.as_secs_f64() * self.factor.powi(n.min(i32::MAX as u32) as i32);
        // Anything not clearly below the cap (NaN included) is the cap.
        if grown.is_nan() || grown >= self.max.as_secs_f64() {
            return self.max;
        }
        Duration::try_from_secs_f64(grown).map_or(self.max, |d| d.min(self.max))
    }

    /// [`delay`](Self::delay) shortened by the jitter, with `unit` a number
    /// in `[0, 1]`: 0 gives the plain delay, 1 the shortest.
    pub fn jittered_with(&self, n: u32, unit: f64) -> Duration {
        let base = self.delay(n);
        if self.jitter.is_nan() || self.jitter <= 0.0 || base.is_zero() {
            return base;
        }
        let keep = 1.0 - self.jitter.min(1.0) * unit.clamp(0.0, 1.0);
        // A fraction of a valid duration: it converts, and is at most `base`.
        Duration::try_from_secs_f64(base.as_secs_f64() * keep).map_or(base, |d| d.min(base))
    }

    /// [`delay`](Self::delay) spread by the jitter at random.
    pub fn jittered(&self, n: u32) -> Duration {
        self.jittered_with(n, fastrand::f64())
    }
}

fn from_nanos_capped(nanos: u128, cap: Duration) -> Duration {
    if nanos >= cap.as_nanos() {
        return cap;
    }
    const NANOS_PER_SEC: u128 = 1_000_000_000;
    // Below the cap, so the seconds fit in a u64.
    Duration::new(
        (nanos / NANOS_PER_SEC) as u64,
        (nanos % NANOS_PER_SEC) as u32,
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn delays_grow_cap_and_never_overflow() {
        let b = Backoff::exponential(Duration::from_secs(10), Duration::from_millis(1))
            .max(Duration::from_secs(60));
        assert_eq!(b.delay(0), Duration::from_secs(10));
        assert_eq!(b.delay(62), Duration::from_secs(60));
        let huge = Backoff::exponential(Duration::MAX, Duration::MAX);
        assert_eq!(huge.delay(3), Duration::MAX);
        assert_eq!(huge.jittered_with(3, 0.0), Duration::MAX);
        assert!(huge.jittered_with(3, 0.99) <= Duration::MAX);
        let f =
            Backoff::exponential(Duration::from_millis(100), Duration::from_secs(10)).factor(1.5);
        assert_eq!(f.delay(2).as_millis(), 225);
        assert_eq!(f.delay(1_000_000), Duration::from_secs(10));
    }

    #[test]
    fn jitter_only_shortens_so_the_cap_holds() {
        let b = Backoff::exponential(Duration::from_secs(1), Duration::from_secs(2)).jitter(0.5);
        assert_eq!(b.jittered_with(0, 0.0), Duration::from_secs(1));
        assert_eq!(b.jittered_with(0, 1.0), Duration::from_millis(500));
        assert_eq!(b.jittered_with(5, 0.5), Duration::from_millis(1500));
    }

    #[test]
    fn validation_names_the_field() {
        let bad = |b: Backoff| b.validate().unwrap_err().field();
        let base = Backoff::exponential(Duration::ZERO, Duration::ZERO);
        assert_eq!(bad(base.factor(f64::NAN)), "factor");
        assert_eq!(bad(base.factor(0.5)), "factor");
        assert_eq!(bad(base.jitter(f64::NAN)), "jitter");
        assert_eq!(bad(base.jitter(1.5)), "jitter");
        assert_eq!(
            bad(Backoff::exponential(
                Duration::from_secs(2),
                Duration::from_secs(1)
            )),
            "max"
        );
    }
}
