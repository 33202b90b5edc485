//! What a task is from the outside: its id, status, priority, options,
//! retry policy, the context it runs with and the snapshot `get` returns.

use crate::exit::BoxError;
use crate::kit::Backoff;
use serde::{Deserialize, Serialize};
use std::fmt;
use std::sync::Arc;
use std::time::{Duration, SystemTime};
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;

/// A task's id, unique within its service; ids grow with submission order.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct TaskId(pub u64);

impl fmt::Display for TaskId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "task-{}", self.0)
    }
}

/// Where a task is in its life. The last five are final.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TaskStatus {
    /// Queued, or waiting for its retry backoff (or claimed by a worker
    /// that has not started it: workers claim a few queued tasks at once).
    Pending,
    /// A worker runs it. A task that finishes on its first poll may go
    /// from pending to its final status without being seen running.
    Running,
    /// It returned `Ok`; the value is [`TaskInfo::result`].
    Completed,
    /// It returned an error that is not retried, or panicked.
    Failed,
    /// It was cancelled with [`Tasks::cancel`](super::Tasks::cancel) (or
    /// the service stopped for good before it ran).
    Cancelled,
    /// An attempt outlived the task's timeout and was aborted. Not retried.
    TimedOut,
    /// Its last allowed attempt failed with a retryable error: retries are
    /// exhausted. Kept (like every finished task) for inspection.
    Dead,
}

impl TaskStatus {
    /// Whether the status is final (the task will not run again).
    pub fn is_finished(self) -> bool {
        !matches!(self, TaskStatus::Pending | TaskStatus::Running)
    }

    /// Whether it counts as a failure for the service's failure rate.
    pub fn is_failure(self) -> bool {
        matches!(
            self,
            TaskStatus::Failed | TaskStatus::TimedOut | TaskStatus::Dead
        )
    }
}

impl fmt::Display for TaskStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let s = match self {
            TaskStatus::Pending => "pending",
            TaskStatus::Running => "running",
            TaskStatus::Completed => "completed",
            TaskStatus::Failed => "failed",
            TaskStatus::Cancelled => "cancelled",
            TaskStatus::TimedOut => "timed out",
            TaskStatus::Dead => "dead",
        };
        f.write_str(s)
    }
}

/// Which pending task a free worker takes first: every high task before any
/// normal one, every normal before any low; first in, first out within one.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Priority {
    /// Runs before normal and low tasks.
    High,
    /// The default.
    #[default]
    Normal,
    /// Runs when no high or normal task is pending.
    Low,
}

impl Priority {
    pub(crate) fn index(self) -> usize {
        match self {
            Priority::High => 0,
            Priority::Normal => 1,
            Priority::Low => 2,
        }
    }
}

/// What a submit does when the queue is full.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum OnFull {
    /// Wait until a pending task leaves the queue (the default).
    #[default]
    Wait,
    /// Fail at once with [`TaskError::QueueFull`](super::TaskError::QueueFull).
    Fail,
}

type Retryable =
    Arc<dyn Fn(&(dyn std::error::Error + Send + Sync + 'static)) -> bool + Send + Sync>;

/// The one retry mechanism: the kit's [`Backoff`] with jitter, up to a
/// number of attempts, for the errors a predicate calls retryable.
///
/// Attempt `n` failing (n < `max_attempts`) schedules attempt `n + 1` after
/// `backoff.delay(n - 1)` — `initial_delay × 2^(n-1)` capped at `max_delay`
/// for [`exponential`](Self::exponential) — spread by ± `jitter` (so retries
/// of many tasks spread out) and capped at `max_delay` again.
/// When the last attempt fails with a retryable error the task is
/// [`Dead`](TaskStatus::Dead); a non-retryable error makes it
/// [`Failed`](TaskStatus::Failed) at once. Panics and timeouts are never
/// retried.
///
/// ```
/// use std::time::Duration;
/// use servitor::tasks::RetryPolicy;
///
/// let policy = RetryPolicy::exponential(5, Duration::from_millis(100))
///     .max_delay(Duration::from_secs(10))
///     .jitter(0.2)
///     .retry_if(|e| !e.to_string().contains("invalid"));
/// assert_eq!(policy.max_attempts(), 5);
/// ```
#[derive(Clone)]
pub struct RetryPolicy {
    max_attempts: u32,
    backoff: Backoff,
    retryable: Option<Retryable>,
}

impl fmt::Debug for RetryPolicy {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RetryPolicy")
            .field("max_attempts", &self.max_attempts)
            .field("backoff", &self.backoff)
            .finish_non_exhaustive()
    }
}

impl RetryPolicy {
    /// Up to `max_attempts` attempts in all (at least 1), the first retry
    /// after `initial_delay`. Defaults: `max_delay` 60 s, `jitter` 0.1,
    /// every error retryable.
    pub fn exponential(max_attempts: u32, initial_delay: Duration) -> Self {
        RetryPolicy {
            max_attempts: max_attempts.max(1),
            backoff: Backoff::exponential(initial_delay, Duration::from_secs(60)).jitter(0.1),
            retryable: None,
        }
    }

    /// Up to `max_attempts` attempts in all (at least 1), waiting as
    /// `backoff` says between them. Every error retryable.
    pub fn with_backoff(max_attempts: u32, backoff: Backoff) -> Self {
        RetryPolicy {
            max_attempts: max_attempts.max(1),
            backoff,
            retryable: None,
        }
    }

    /// Caps the delay between attempts (default 60 s).
    pub fn max_delay(mut self, max: Duration) -> Self {
        self.backoff.max = max;
        self
    }

    /// The spread of the delays, a fraction from 0 to 1 (clamped; NaN is
    /// 0). Default 0.1; 0 for exact delays.
    pub fn jitter(mut self, fraction: f64) -> Self {
        self.backoff.jitter = if fraction.is_nan() {
            0.0
        } else {
            fraction.clamp(0.0, 1.0)
        };
        self
    }

    /// Retries only errors for which `predicate` is true (downcast to tell
    /// error types apart). Default: every error.
    pub fn retry_if(
        mut self,
        predicate: impl Fn(&(dyn std::error::Error + Send + Sync + 'static)) -> bool
            + Send
            + Sync
            + 'static,
    ) -> Self {
        self.retryable = Some(Arc::new(predicate));
        self
    }

    /// The most attempts in all.
    pub fn max_attempts(&self) -> u32 {
        self.max_attempts
    }

    /// The backoff between attempts.
    pub fn backoff(&self) -> &Backoff {
        &self.backoff
    }

    /// The delay before attempt `failed + 1` after attempt `failed` failed,
    /// without jitter.
    pub fn base_delay(&self, failed: u32) -> Duration {
        self.backoff.delay(failed.saturating_sub(1))
    }

    pub(crate) fn delay(&self, failed: u32) -> Duration {
        self.backoff.jittered(failed.saturating_sub(1))
    }

    pub(crate) fn is_retryable(&self, error: &BoxError) -> bool {
        match &self.retryable {
            Some(p) => p(error.as_ref()),
            None => true,
        }
    }
}

/// How one task is run. Build with struct-update syntax or the methods.
///
/// ```
/// use std::time::Duration;
/// use servitor::tasks::{OnFull, Priority, TaskOptions};
///
/// let options = TaskOptions::default()
///     .priority(Priority::High)
///     .timeout(Duration::from_secs(30))
///     .unique_key("report:2026-11")
///     .on_full(OnFull::Fail);
/// # let _ = options;
/// ```
#[derive(Debug, Clone, Default)]
pub struct TaskOptions {
    /// Its priority (default normal).
    pub priority: Priority,
    /// The timeout of each attempt; `None`: the service's
    /// [`default_timeout`](super::TasksConfig::default_timeout).
    pub timeout: Option<Duration>,
    /// Retries (default none: the first error is final).
    pub retry: Option<RetryPolicy>,
    /// While a task with this key is pending or running, submitting another
    /// with the same key returns the first one's id and queues nothing.
    pub unique_key: Option<String>,
    /// What to do when the queue is full (default wait).
    pub on_full: OnFull,
    /// The earliest time the task may start; `None` (the default): at once.
    /// A task waiting for its time is pending but not queued: it does not
    /// count against the queue's capacity.
    pub run_at: Option<SystemTime>,
}

impl TaskOptions {
    /// Sets [`priority`](Self::priority).
    pub fn priority(mut self, priority: Priority) -> Self {
        self.priority = priority;
        self
    }
    /// Sets [`timeout`](Self::timeout).
    pub fn timeout(mut self, timeout: Duration) -> Self {
        self.timeout = Some(timeout);
        self
    }
    /// Sets [`retry`](Self::retry).
    pub fn retry(mut self, policy: RetryPolicy) -> Self {
        self.retry = Some(policy);
        self
    }
    /// Sets [`unique_key`](Self::unique_key).
    pub fn unique_key(mut self, key: impl Into<String>) -> Self {
        self.unique_key = Some(key.into());
        self
    }
    /// Sets [`on_full`](Self::on_full).
    pub fn on_full(mut self, on_full: OnFull) -> Self {
        self.on_full = on_full;
        self
    }
    /// Sets [`run_at`](Self::run_at).
    pub fn run_at(mut self, at: SystemTime) -> Self {
        self.run_at = Some(at);
        self
    }
    /// Sets [`run_at`](Self::run_at) to `delay` from now.
    pub fn run_after(mut self, delay: Duration) -> Self {
        self.run_at = Some(SystemTime::now() + delay);
        self
    }

    /// How long from now until the task may start, if it must wait.
    pub(crate) fn wait_before_start(&self) -> Option<Duration> {
        let at = self.run_at?;
        at.duration_since(SystemTime::now())
            .ok()
            .filter(|d| !d.is_zero())
    }
}

/// What a running task knows: its id, which attempt this is, and its
/// cancellation token (cancelled by [`Tasks::cancel`](super::Tasks::cancel),
/// a timeout, or the service stopping for good).
#[derive(Debug, Clone)]
pub struct TaskContext {
    pub(crate) id: TaskId,
    pub(crate) attempt: u32,
    pub(crate) token: Arc<TaskToken>,
}

/// A task's cancellation flag. Cheaper than a [`CancellationToken`] (one
/// allocation with the flag inline, no lock to share or drop it), which
/// most tasks never ask for; one is made on demand by
/// [`TaskContext::token`] and cancelled with the flag.
///
/// It also settles who moves first on a task a worker has claimed but not
/// started: the worker starting it or a cancel revoking it. Whoever wins
/// decides, without the engine's lock (the worker does not take it to
/// start a claimed task).
#[derive(Default)]
pub(crate) struct TaskToken {
    cancelled: std::sync::atomic::AtomicBool,
    /// `CLAIMED`, `STARTED` or `REVOKED`.
    claim: std::sync::atomic::AtomicU8,
    wake: tokio::sync::Notify,
    linked: std::sync::OnceLock<CancellationToken>,
}

const CLAIMED: u8 = 0;
const STARTED: u8 = 1;
const REVOKED: u8 = 2;

impl fmt::Debug for TaskToken {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TaskToken")
            .field("cancelled", &self.is_cancelled())
            .finish()
    }
}

impl TaskToken {
    pub(crate) fn cancel(&self) {
        use std::sync::atomic::Ordering;
        if !self.cancelled.swap(true, Ordering::SeqCst) {
            self.wake.notify_waiters();
            if let Some(token) = self.linked.get() {
                token.cancel();
            }
        }
    }

    pub(crate) fn is_cancelled(&self) -> bool {
        self.cancelled.load(std::sync::atomic::Ordering::SeqCst)
    }

    /// The task was claimed by a worker (again, for a retry).
    pub(crate) fn claimed(&self) {
        self.claim
            .store(CLAIMED, std::sync::atomic::Ordering::Release);
    }

    /// The worker starts the claimed task: false if a cancel revoked it
    /// first.
    pub(crate) fn start(&self) -> bool {
        use std::sync::atomic::Ordering;
        self.claim
            .compare_exchange(CLAIMED, STARTED, Ordering::AcqRel, Ordering::Acquire)
            .is_ok()
    }

    /// A cancel takes the claimed task back before it starts: false if the
    /// worker started it first.
    pub(crate) fn revoke(&self) -> bool {
        use std::sync::atomic::Ordering;
        self.claim
            .compare_exchange(CLAIMED, REVOKED, Ordering::AcqRel, Ordering::Acquire)
            .is_ok()
    }

    pub(crate) async fn cancelled(&self) {
        loop {
            let woken = self.wake.notified();
            tokio::pin!(woken);
            woken.as_mut().enable();
            if self.is_cancelled() {
                return;
            }
            woken.await;
        }
    }

    fn token(&self) -> CancellationToken {
        let token = self.linked.get_or_init(CancellationToken::new).clone();
        // A cancel that came before the token was made did not see it.
        if self.is_cancelled() {
            token.cancel();
        }
        token
    }
}

impl TaskContext {
    /// The task's id.
    pub fn id(&self) -> TaskId {
        self.id
    }
    /// Which attempt this is, from 1.
    pub fn attempt(&self) -> u32 {
        self.attempt
    }
    /// Whether the task should stop (blocking tasks: check it in loops).
    pub fn is_cancelled(&self) -> bool {
        self.token.is_cancelled()
    }
    /// Resolves when the task should stop (async tasks: `select!` on it).
    pub async fn cancelled(&self) {
        self.token.cancelled().await
    }
    /// The token itself, for libraries that take one.
    pub fn token(&self) -> CancellationToken {
        self.token.token()
    }
}

/// A snapshot of one task, as [`Tasks::get`](super::Tasks::get) and
/// [`Tasks::list`](super::Tasks::list) return it.
#[derive(Debug, Clone, PartialEq)]
pub struct TaskInfo {
    /// Its id.
    pub id: TaskId,
    /// The name it was submitted with.
    pub name: String,
    /// Its status.
    pub status: TaskStatus,
    /// Its priority.
    pub priority: Priority,
    /// Attempts started so far.
    pub attempts: u32,
    /// The value it completed with (serialized to JSON).
    pub result: Option<serde_json::Value>,
    /// The last error: the error's message, `panicked: …`, `timed out
    /// after …`, `cancelled`. A task waiting for a retry keeps its last
    /// error; a completed task has none.
    pub error: Option<String>,
    /// Its unique key, if it was given one.
    pub unique_key: Option<String>,
    /// When it was submitted.
    pub submitted_at: Instant,
    /// When it finished, if it has.
    pub finished_at: Option<Instant>,
}

/// Which tasks [`Tasks::list`](super::Tasks::list) returns: newest first,
/// at most `limit`.
#[derive(Debug, Clone)]
pub struct TaskFilter {
    /// Only tasks with this status.
    pub status: Option<TaskStatus>,
    /// Only tasks submitted with this name.
    pub name: Option<String>,
    /// At most this many (default 100).
    pub limit: usize,
}

impl Default for TaskFilter {
    fn default() -> Self {
        TaskFilter {
            status: None,
            name: None,
            limit: 100,
        }
    }
}

impl TaskFilter {
    /// Every task, newest first, up to 100.
    pub fn all() -> Self {
        Self::default()
    }
    /// Only tasks with `status`.
    pub fn status(mut self, status: TaskStatus) -> Self {
        self.status = Some(status);
        self
    }
    /// Only tasks named `name`.
    pub fn name(mut self, name: impl Into<String>) -> Self {
        self.name = Some(name.into());
        self
    }
    /// At most `limit` tasks.
    pub fn limit(mut self, limit: usize) -> Self {
        self.limit = limit;
        self
    }
}

/// Counters and gauges of a task service, also published as its health
/// details.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct TaskStats {
    /// Pending tasks in the queue (not counting those waiting for a retry).
    pub queue_depth: usize,
    /// Configured workers.
    pub workers: usize,
    /// Workers running a task now.
    pub busy_workers: usize,
    /// Tasks accepted (a deduplicated submit does not count).
    pub submitted: u64,
    /// Tasks that completed.
    pub completed: u64,
    /// Tasks that failed (error or panic).
    pub failed: u64,
    /// Tasks cancelled.
    pub cancelled: u64,
    /// Tasks that timed out.
    pub timed_out: u64,
    /// Tasks whose retries were exhausted.
    pub dead: u64,
    /// Retries scheduled.
    pub retries: u64,
    /// Tasks known now (pending, running and retained finished ones).
    pub retained: usize,
    /// Failures over the last [`failure_window`](super::TasksConfig::failure_window) finished tasks.
    pub failure_rate: f64,
}
