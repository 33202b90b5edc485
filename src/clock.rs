//! Deadlines from durations a user chose, which may be as large as
//! `Duration::MAX` ("never"): they saturate instead of overflowing the clock.

use std::time::Duration;
use tokio::time::Instant;

/// A century: far enough to mean "never", near enough to stay on any clock.
const NEVER: Duration = Duration::from_secs(100 * 365 * 24 * 3600);

/// `at + d`, or a century from `at` when `d` is longer (or the sum is past
/// the clock's end).
pub(crate) fn after(at: Instant, d: Duration) -> Instant {
    at.checked_add(d.min(NEVER))
        .or_else(|| at.checked_add(Duration::from_secs(365 * 24 * 3600)))
        .unwrap_or(at)
}

/// A deadline that is, for every purpose, never.
#[cfg(feature = "scheduler")]
pub(crate) fn never(at: Instant) -> Instant {
    after(at, NEVER)
}

/// `d × factor`, saturating at `Duration::MAX` (NaN and negatives give 0).
pub(crate) fn scaled(d: Duration, factor: f64) -> Duration {
    let secs = d.as_secs_f64() * factor;
    if secs.is_nan() || secs <= 0.0 {
        Duration::ZERO
    } else {
        Duration::try_from_secs_f64(secs).unwrap_or(Duration::MAX)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn huge_durations_saturate() {
        let now = Instant::now();
        assert!(after(now, Duration::MAX) > now);
        assert_eq!(
            after(now, Duration::from_secs(1)),
            now + Duration::from_secs(1)
        );
        assert_eq!(scaled(Duration::MAX, 1e300), Duration::MAX);
        assert_eq!(scaled(Duration::from_secs(2), 1.5), Duration::from_secs(3));
        assert_eq!(scaled(Duration::from_secs(2), f64::NAN), Duration::ZERO);
    }
}
