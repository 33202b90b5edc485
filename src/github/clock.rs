//! The time the client waits by.

use parking_lot::Mutex;
use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

/// A future a [`Clock`] returns for a sleep.
pub type Sleep = Pin<Box<dyn Future<Output = ()> + Send + 'static>>;

/// The time the client waits by: rate-limit waits, `retry-after`, backoff
/// and the spacing of content-creating requests all go through a
/// [`Clock`], so tests can run them without waiting.
///
/// [`SystemClock`] (the default) waits on tokio's clock, so
/// `tokio::time::pause` drives it too. [`ManualClock`] never waits: every
/// sleep moves its time forward at once and is recorded, so a test can
/// assert exactly how long the client *would* have waited — for a primary
/// limit's reset, a `retry-after`, the 60 s default, each step of a backoff
/// — while its requests to a local server run in real time.
///
/// ```
/// use std::time::Duration;
/// use servitor::github::{Clock, ManualClock};
///
/// # #[tokio::main(flavor = "current_thread")] async fn main() {
/// let clock = ManualClock::new();
/// let start = clock.now();
/// clock.sleep_until(start + Duration::from_secs(60)).await;
/// assert_eq!(clock.now() - start, Duration::from_secs(60));
/// assert_eq!(clock.sleeps(), [Duration::from_secs(60)]);
/// # }
/// ```
pub trait Clock: Send + Sync + fmt::Debug + 'static {
    /// Monotonic time now: what waits and spacing are measured in.
    fn now(&self) -> Instant;

    /// Wall-clock time now: what GitHub's `x-ratelimit-reset` (seconds
    /// since the Unix epoch) is compared with.
    fn wall(&self) -> SystemTime;

    /// Resolves at `deadline` (at once if it has passed).
    fn sleep_until(&self, deadline: Instant) -> Sleep;
}

/// The real clock: tokio's time (so `tokio::time::pause` applies) and the
/// system's wall clock.
#[derive(Debug, Clone, Copy, Default)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> Instant {
        tokio::time::Instant::now().into_std()
    }

    fn wall(&self) -> SystemTime {
        SystemTime::now()
    }

    fn sleep_until(&self, deadline: Instant) -> Sleep {
        Box::pin(tokio::time::sleep_until(tokio::time::Instant::from_std(
            deadline,
        )))
    }
}

/// A clock for tests that never waits: a sleep moves its time (monotonic
/// and wall alike) to the deadline at once and records how long it was.
/// Cheap to clone; clones share one time.
#[derive(Clone)]
pub struct ManualClock {
    inner: Arc<Mutex<Manual>>,
}

struct Manual {
    start: Instant,
    wall_start: SystemTime,
    elapsed: Duration,
    sleeps: Vec<Duration>,
}

impl ManualClock {
    /// A clock whose wall time starts now.
    pub fn new() -> ManualClock {
        ManualClock::starting_at(SystemTime::now())
    }

    /// A clock whose wall time starts at `wall` (a whole second makes
    /// reset waits exact).
    pub fn starting_at(wall: SystemTime) -> ManualClock {
        ManualClock {
            inner: Arc::new(Mutex::new(Manual {
                start: Instant::now(),
                wall_start: wall,
                elapsed: Duration::ZERO,
                sleeps: Vec::new(),
            })),
        }
    }

    /// A clock whose wall time starts at `secs` seconds after the Unix
    /// epoch.
    pub fn at_unix(secs: u64) -> ManualClock {
        ManualClock::starting_at(UNIX_EPOCH + Duration::from_secs(secs))
    }

    /// Every sleep so far that had to wait, in order, with how long it
    /// waited.
    pub fn sleeps(&self) -> Vec<Duration> {
        self.inner.lock().sleeps.clone()
    }

    /// The sum of all sleeps so far.
    pub fn elapsed(&self) -> Duration {
        self.inner.lock().elapsed
    }

    /// Moves time forward by `by` without recording a sleep (time passing
    /// between calls).
    pub fn advance(&self, by: Duration) {
        self.inner.lock().elapsed += by;
    }

    /// Forgets the recorded sleeps (time stays where it is).
    pub fn clear(&self) {
        self.inner.lock().sleeps.clear();
    }
}

impl Default for ManualClock {
    fn default() -> Self {
        ManualClock::new()
    }
}

impl fmt::Debug for ManualClock {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let inner = self.inner.lock();
        f.debug_struct("ManualClock")
            .field("elapsed", &inner.elapsed)
            .field("sleeps", &inner.sleeps.len())
            .finish()
    }
}

impl Clock for ManualClock {
    fn now(&self) -> Instant {
        let inner = self.inner.lock();
        inner.start + inner.elapsed
    }

    fn wall(&self) -> SystemTime {
        let inner = self.inner.lock();
        inner.wall_start + inner.elapsed
    }

    fn sleep_until(&self, deadline: Instant) -> Sleep {
        let mut inner = self.inner.lock();
        let now = inner.start + inner.elapsed;
        if deadline > now {
            let wait = deadline - now;
            inner.elapsed += wait;
            inner.sleeps.push(wait);
        }
        Box::pin(std::future::ready(()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test(flavor = "current_thread", start_paused = true)]
    async fn the_system_clock_follows_tokios_paused_clock() {
        let clock = SystemClock;
        let start = clock.now();
        clock.sleep_until(start + Duration::from_secs(60)).await;
        assert!(clock.now() - start >= Duration::from_secs(60));
    }

    #[test]
    fn a_manual_clock_records_only_sleeps_that_wait() {
        let clock = ManualClock::at_unix(100);
        let now = clock.now();
        drop(clock.sleep_until(now));
        drop(clock.sleep_until(now + Duration::from_secs(2)));
        clock.advance(Duration::from_secs(3));
        assert_eq!(clock.sleeps(), [Duration::from_secs(2)]);
        assert_eq!(clock.elapsed(), Duration::from_secs(5));
        assert_eq!(clock.wall(), UNIX_EPOCH + Duration::from_secs(105));
        clock.clear();
        assert!(clock.sleeps().is_empty());
    }
}
