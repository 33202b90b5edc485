//! Deadlines from durations a user chose, which may be as large as
//! `Duration::MAX` ("never"): they saturate instead of overflowing the clock;
//! and the wall-clock time of a monotonic reading, for the timestamps health
//! shows, without a second clock read.

use std::cell::Cell;
use std::time::{Duration, SystemTime, UNIX_EPOCH};
use tokio::time::Instant;

/// How old a thread's pair of readings may grow before it takes a new one:
/// a step of the system clock shows in timestamps within this time, and
/// its slewing (at most 500 ppm) moves them by under a millisecond.
const ANCHOR_AGE: Duration = Duration::from_secs(1);

thread_local! {
    /// A monotonic and a wall-clock reading taken together.
    static ANCHOR: Cell<Option<(Instant, SystemTime)>> = const { Cell::new(None) };
}

/// Milliseconds since the Unix epoch at the monotonic instant `at`.
///
/// A status change already holds a monotonic reading; stamping it from
/// that, through a pair of readings each thread renews once a second, saves
/// a wall-clock read per change (a restart makes three).
pub(crate) fn unix_ms(at: Instant) -> u64 {
    let wall = ANCHOR.with(|anchor| {
        let (mono, wall) = match anchor.get() {
            Some((mono, wall)) if at.saturating_duration_since(mono) < ANCHOR_AGE => (mono, wall),
            _ => {
                let pair = (Instant::now(), SystemTime::now());
                anchor.set(Some(pair));
                pair
            }
        };
        if at >= mono {
            wall.checked_add(at - mono)
        } else {
            wall.checked_sub(mono - at)
        }
    });
    wall.and_then(|t| t.duration_since(UNIX_EPOCH).ok())
        .map_or(0, |d| d.as_millis() as u64)
}

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
    fn wall_times_of_monotonic_readings_follow_the_system_clock() {
        let wall_ms = |t: SystemTime| t.duration_since(UNIX_EPOCH).unwrap().as_millis() as u64;
        let before = wall_ms(SystemTime::now());
        let now = Instant::now();
        let stamped = unix_ms(now);
        let after = wall_ms(SystemTime::now());
        assert!(
            (before - 1..=after + 1).contains(&stamped),
            "{before} <= {stamped} <= {after}"
        );
        // Earlier and later readings keep their distance, either side of
        // the thread's pair and across its renewal (a pair's two readings
        // are nanoseconds apart: a millisecond of rounding either way).
        let near = |a: u64, b: u64| a.abs_diff(b) <= 1;
        let hour = Duration::from_secs(3600);
        assert!(near(unix_ms(now + hour), stamped + 3_600_000));
        assert!(near(
            unix_ms(now - Duration::from_millis(1500)),
            stamped - 1500
        ));
        assert!(near(unix_ms(now + Duration::from_millis(10)), stamped + 10));
    }

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
