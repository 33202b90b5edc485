//! When a job runs: a fixed [`Schedule::every`] interval on the monotonic
//! clock, or (with the `cron` feature) a [`Schedule::cron`] expression on
//! the wall clock (UTC).
//!
//! Interval jobs use [`tokio::time::Instant`], so tests drive them with
//! `tokio::time::pause` and `advance`. Their slots are a grid anchored at
//! the moment the job was added (or last enabled): `anchor + k × interval`.
//!
//! Cron jobs follow the wall clock: the next occurrence is computed with
//! chrono from `Utc::now()` and turned into a tokio deadline at the time it
//! is scheduled. A wall-clock jump after that is seen at the next
//! occurrence (and then handled by the job's
//! [`MissedRunPolicy`](super::MissedRunPolicy)). `Schedule::next_after`
//! exposes the occurrence logic for a given "now", so it can be checked
//! deterministically.
//!
//! ```
//! use std::time::Duration;
//! use servitor::scheduler::Schedule;
//!
//! let every = Schedule::every(Duration::from_millis(100));
//! assert_eq!(every.to_string(), "every 100ms");
//! # #[cfg(feature = "cron")] {
//! use chrono::{TimeZone, Utc};
//! let nightly = Schedule::cron("30 2 * * *").unwrap();
//! let now = Utc.with_ymd_and_hms(2026, 1, 1, 12, 0, 0).unwrap();
//! assert_eq!(nightly.next_after(now), Some(Utc.with_ymd_and_hms(2026, 1, 2, 2, 30, 0).unwrap()));
//! # }
//! ```

#[cfg(feature = "cron")]
use super::error::SchedulerError;
use std::fmt;
use std::time::Duration;
use tokio::time::Instant;

/// When a job runs.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Schedule {
    /// Every interval, on the monotonic clock. Must be more than zero.
    Every(Duration),
    /// At the occurrences of a cron expression, in UTC.
    #[cfg(feature = "cron")]
    #[cfg_attr(docsrs, doc(cfg(feature = "cron")))]
    Cron(CronSchedule),
}

/// A parsed cron expression (5 fields, or 6 with leading seconds).
#[cfg(feature = "cron")]
#[cfg_attr(docsrs, doc(cfg(feature = "cron")))]
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CronSchedule {
    expression: String,
    cron: Box<croner::Cron>,
}

#[cfg(feature = "cron")]
impl CronSchedule {
    /// The expression as given.
    pub fn expression(&self) -> &str {
        &self.expression
    }

    fn next_after(&self, now: &Wall) -> Option<Wall> {
        self.cron.find_next_occurrence(now, false).ok()
    }
}

/// The wall-clock time cron slots are computed in.
#[cfg(feature = "cron")]
pub(crate) type Wall = chrono::DateTime<chrono::Utc>;

/// Without cron schedules nothing needs the wall clock.
#[cfg(not(feature = "cron"))]
#[derive(Debug, Clone, Copy)]
pub(crate) struct Wall;

/// The wall clock now.
pub(crate) fn wall_now() -> Wall {
    #[cfg(feature = "cron")]
    {
        chrono::Utc::now()
    }
    #[cfg(not(feature = "cron"))]
    {
        Wall
    }
}

impl Schedule {
    /// A fixed interval (checked to be non-zero when the job is added).
    pub fn every(interval: Duration) -> Schedule {
        Schedule::Every(interval)
    }

    /// A cron expression: `min hour day-of-month month day-of-week`, or with
    /// a leading seconds field. Evaluated in UTC. An expression that never
    /// matches (`0 0 30 2 *`) is refused; finding that out costs one full
    /// search (a few milliseconds).
    ///
    /// ```
    /// use servitor::scheduler::{Schedule, SchedulerError};
    /// assert!(Schedule::cron("*/5 * * * *").is_ok());
    /// assert!(matches!(Schedule::cron("61 * * * *"), Err(SchedulerError::InvalidCron { .. })));
    /// ```
    #[cfg(feature = "cron")]
    #[cfg_attr(docsrs, doc(cfg(feature = "cron")))]
    pub fn cron(expression: &str) -> Result<Schedule, SchedulerError> {
        use std::str::FromStr;
        let invalid = |problem: String| SchedulerError::InvalidCron {
            expression: expression.to_string(),
            problem,
        };
        let cron = croner::Cron::from_str(expression).map_err(|e| invalid(e.to_string()))?;
        // An expression that never matches (`0 0 30 2 *`) would make every
        // later search for its next occurrence run to croner's horizon (the
        // year 5000): refused here, at the cost of that search once.
        if cron
            .find_next_occurrence(&chrono::Utc::now(), false)
            .is_err()
        {
            return Err(invalid("it never matches".to_string()));
        }
        Ok(Schedule::Cron(CronSchedule {
            expression: expression.to_string(),
            cron: Box::new(cron),
        }))
    }

    /// The first occurrence strictly after `now` on the wall clock: for a
    /// cron schedule its next match, for an interval `now + interval`.
    /// `None` if the cron expression never matches again.
    #[cfg(feature = "cron")]
    #[cfg_attr(docsrs, doc(cfg(feature = "cron")))]
    pub fn next_after(&self, now: Wall) -> Option<Wall> {
        match self {
            Schedule::Every(d) => chrono::Duration::from_std(*d)
                .ok()
                .and_then(|d| now.checked_add_signed(d)),
            Schedule::Cron(c) => c.next_after(&now),
        }
    }
}

impl fmt::Display for Schedule {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Schedule::Every(d) => write!(f, "every {d:?}"),
            #[cfg(feature = "cron")]
            Schedule::Cron(c) => write!(f, "cron `{}`", c.expression),
        }
    }
}

/// A point a run is due: a slot of the job's schedule, or a retry.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Slot {
    pub at: Instant,
    /// The wall-clock time of a cron slot.
    #[cfg_attr(not(feature = "cron"), allow(dead_code))]
    pub wall: Option<Wall>,
    /// False for a retry after a failure: not on the schedule, never missed.
    pub on_schedule: bool,
}

/// A schedule in use by a job: the schedule plus its interval anchor.
#[derive(Debug, Clone)]
pub(crate) struct Plan {
    pub schedule: Schedule,
    pub anchor: Instant,
}

/// A wall-clock time as a tokio deadline, relative to a (now, now_wall) pair.
#[cfg(feature = "cron")]
fn to_instant(wall: Wall, now: Instant, now_wall: Wall) -> Instant {
    match (wall - now_wall).to_std() {
        Ok(ahead) => now.checked_add(ahead).unwrap_or_else(|| never(now)),
        Err(_) => {
            let behind = (now_wall - wall).to_std().unwrap_or_default();
            now.checked_sub(behind).unwrap_or(now)
        }
    }
}

pub(crate) use crate::clock::{after as later, never};

impl Plan {
    /// The first slot strictly after `now`.
    pub fn first_after(&self, now: Instant, now_wall: Wall) -> Slot {
        let _ = now_wall;
        match &self.schedule {
            Schedule::Every(p) => {
                let p = p.as_nanos().max(1);
                let since = now.saturating_duration_since(self.anchor).as_nanos();
                let k = since / p + 1;
                let at = k
                    .checked_mul(p)
                    .and_then(|n| u64::try_from(n).ok())
                    .map_or_else(
                        || never(now),
                        |n| later(self.anchor, Duration::from_nanos(n)),
                    );
                Slot {
                    at,
                    wall: None,
                    on_schedule: true,
                }
            }
            #[cfg(feature = "cron")]
            Schedule::Cron(c) => self.cron_slot(c.next_after(&now_wall), now, now_wall),
        }
    }

    /// The slot following `slot`.
    pub fn after(&self, slot: &Slot, now: Instant, now_wall: Wall) -> Slot {
        let _ = (now, now_wall);
        match &self.schedule {
            Schedule::Every(p) => Slot {
                at: later(slot.at, *p),
                wall: None,
                on_schedule: true,
            },
            #[cfg(feature = "cron")]
            Schedule::Cron(c) => match slot.wall {
                Some(wall) => self.cron_slot(c.next_after(&wall), now, now_wall),
                None => self.first_after(now, now_wall),
            },
        }
    }

    #[cfg(feature = "cron")]
    fn cron_slot(&self, wall: Option<Wall>, now: Instant, now_wall: Wall) -> Slot {
        match wall {
            Some(w) => Slot {
                at: to_instant(w, now, now_wall),
                wall: Some(w),
                on_schedule: true,
            },
            None => Slot {
                at: never(now),
                wall: None,
                on_schedule: false,
            },
        }
    }

    /// How many slots from `slot` (inclusive) have passed by `now`, up to
    /// a bound.
    pub fn passed_since(&self, slot: &Slot, now: Instant, now_wall: Wall) -> u64 {
        let _ = now_wall;
        match &self.schedule {
            Schedule::Every(p) => {
                (now.saturating_duration_since(slot.at).as_nanos() / p.as_nanos().max(1))
                    .min(u128::from(u64::MAX - 1)) as u64
                    + 1
            }
            #[cfg(feature = "cron")]
            Schedule::Cron(_) => {
                let mut n = 0;
                let mut s = *slot;
                while s.on_schedule && s.at <= now && n < 10_000 {
                    n += 1;
                    s = self.after(&s, now, now_wall);
                }
                n
            }
        }
    }

    /// The period used for backoff: the interval, or the gap between a cron
    /// slot and the next one (1 s if there is none).
    pub fn period(&self, slot: &Slot, now_wall: Wall) -> Duration {
        let _ = (slot, now_wall);
        match &self.schedule {
            Schedule::Every(p) => *p,
            #[cfg(feature = "cron")]
            Schedule::Cron(c) => {
                let base = slot.wall.unwrap_or(now_wall);
                c.next_after(&base)
                    .and_then(|n| (n - base).to_std().ok())
                    .filter(|d| !d.is_zero())
                    .unwrap_or(Duration::from_secs(1))
            }
        }
    }
}
