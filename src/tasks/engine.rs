//! The task service's engine — records, the priority queue, the counters —
//! and the worker loop that drains it.
//!
//! It is created with the child spec and shared by every handle and every
//! incarnation of the service's actor, so an actor crash loses no task.
//! Each incarnation runs [`workers`](super::TasksConfig::workers) worker
//! tasks where [`worker_placement`](super::TasksConfig::worker_placement)
//! says, tied to the incarnation: when the actor ends (a crash, a restart,
//! a stop) its workers take no new task, finish the one in hand, put back
//! what they claimed and did not start, and exit; the next incarnation
//! starts fresh workers on the same queue. So a crash loses no pending
//! task, and a running task is not interrupted by it (for a moment more
//! than `workers` tasks may run).
//!
//! Workers claim tasks in batches and record outcomes in the same visit to
//! the lock (see [`worker`]); a claimed task stays pending until started.

use super::config::TasksConfig;
use super::error::TaskError;
use super::task::{
    OnFull, RetryPolicy, TaskContext, TaskFilter, TaskId, TaskInfo, TaskOptions, TaskStats,
    TaskStatus,
};
use crate::exit::BoxError;
use crate::kit::{catch_panic_async, Engine, Health, Panic, Phase, Shared};
use crate::service::ServiceContext;
use crate::status::Status;
use futures_util::future::Either;
use futures_util::future::LocalBoxFuture;
use parking_lot::Mutex;
use std::collections::{HashMap, VecDeque};
use std::future::Future;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Arc;
use std::task::Poll;
use std::time::Duration;
use tokio::sync::Notify;
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;

pub(crate) type Outcome = Result<serde_json::Value, BoxError>;
type AsyncFn = dyn Fn(TaskContext) -> LocalBoxFuture<'static, Outcome> + Send + Sync;
type BlockingFn = dyn Fn(TaskContext) -> Outcome + Send + Sync;

/// A task's code, kept until it is final so retries can run it again.
#[derive(Clone)]
pub(crate) enum Work {
    Async(Arc<AsyncFn>),
    Blocking(Arc<BlockingFn>),
}

impl Work {
    pub fn asynchronous(f: Arc<AsyncFn>) -> Self {
        Work::Async(f)
    }
    pub fn blocking(f: Arc<BlockingFn>) -> Self {
        Work::Blocking(f)
    }
}

/// A task not queued yet: the queue was full.
pub(crate) struct Pending(Option<Record>);

/// The options of a task beyond its priority, when any is set.
struct Extra {
    unique_key: Option<String>,
    timeout: Option<Duration>,
    retry: Option<RetryPolicy>,
}

struct Record {
    name: String,
    status: TaskStatus,
    priority: super::Priority,
    attempts: u32,
    result: Option<serde_json::Value>,
    error: Option<String>,
    submitted_at: Instant,
    finished_at: Option<Instant>,
    /// What most tasks do not have, out of line: records stay small, so
    /// more of them fit in the cache while a worker walks the queue.
    extra: Option<Box<Extra>>,
    work: Option<Work>,
    /// Made when the task first runs (a pending task is cancelled by
    /// `cancel_requested` alone).
    token: Option<Arc<super::task::TaskToken>>,
    /// Set with the token by `cancel` and `close` (reading the token
    /// itself takes a lock).
    cancel_requested: bool,
    in_queue: bool,
    /// Pending, out of the queue, in a worker's hands: claimed with others
    /// in one visit to the lock and started without it (see [`Claims`]).
    claimed: bool,
    waiters: Option<Arc<Waiters>>,
}

/// Those waiting for one task to finish, and its final snapshot once it has.
#[derive(Default)]
struct Waiters {
    notify: Notify,
    done: std::sync::OnceLock<TaskInfo>,
}

impl Record {
    fn info(&self, id: u64) -> TaskInfo {
        TaskInfo {
            id: TaskId(id),
            name: self.name.clone(),
            status: self.status,
            priority: self.priority,
            attempts: self.attempts,
            result: self.result.clone(),
            error: self.error.clone(),
            unique_key: self.extra.as_ref().and_then(|e| e.unique_key.clone()),
            submitted_at: self.submitted_at,
            finished_at: self.finished_at,
        }
    }
}

#[derive(Default)]
struct State {
    next_id: u64,
    records: super::records::Records<Record>,
    queues: [VecDeque<u64>; 3],
    queued: usize,
    unique: HashMap<String, u64>,
    finished: VecDeque<u64>,
    /// Records retention just forgot, to drop outside the lock.
    forgotten: Vec<Record>,
    outcomes: VecDeque<bool>,
    window_failures: usize,
    stats: TaskStats,
}

/// The engine of a [`Tasks`](super::Tasks) service: its queue and task
/// records, shared by every handle, every incarnation of its actor and
/// their workers. Its workings are internal; use it through the handle.
pub struct TaskEngine {
    pub(crate) name: String,
    pub(crate) config: TasksConfig,
    state: Mutex<State>,
    /// Wakes an idle worker when a task is queued and no worker is
    /// already looking for one.
    work: Notify,
    /// Workers awake and looking for a task (not parked, not running one).
    /// A submit wakes a parked worker only when this is zero, so a steady
    /// stream of tasks does not cost a thread wake-up each. On a cache line
    /// of its own, as `busy` is: submitters read it on every submit while
    /// workers on other threads write both.
    searching: Padded<AtomicUsize>,
    /// Wakes submitters waiting for room in the queue.
    space: Notify,
    busy: Padded<AtomicUsize>,
    closed: AtomicBool,
    /// Stops the workers of the current incarnation.
    workers: Mutex<CancellationToken>,
    /// Handlers tasks may be submitted to by name.
    pub(crate) handlers: super::Handlers,
}

impl std::fmt::Debug for TaskEngine {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TaskEngine")
            .field("name", &self.name)
            .field("config", &self.config)
            .finish_non_exhaustive()
    }
}

/// A task a worker claimed from the queue.
struct Taken {
    id: u64,
    work: Work,
    cx: TaskContext,
    timeout: Option<Duration>,
}

/// Keeps a value on a cache line of its own.
#[repr(align(128))]
#[derive(Default)]
struct Padded<T>(T);

impl<T> std::ops::Deref for Padded<T> {
    type Target = T;
    fn deref(&self) -> &T {
        &self.0
    }
}

/// While workers count as looking, a submit wakes a parked one anyway each
/// time the queue grows to a multiple of this.
const WAKE_EVERY: usize = 64;

/// Most tasks a worker claims in one visit to the lock.
const MAX_CLAIM: usize = 32;

/// What one attempt came to.
pub(crate) enum Ended {
    Returned(Outcome),
    Panicked(String),
    TimedOut(Duration),
    Cancelled,
    /// The worker running it ended first.
    Lost,
}

impl TaskEngine {
    pub(crate) fn new(name: String, config: TasksConfig) -> Self {
        TaskEngine {
            name,
            config,
            state: Mutex::new(State::default()),
            work: Notify::new(),
            space: Notify::new(),
            busy: Padded::default(),
            searching: Padded::default(),
            closed: AtomicBool::new(false),
            workers: Mutex::new(CancellationToken::new()),
            handlers: super::Handlers::new(),
        }
    }

    fn stopped(&self) -> TaskError {
        TaskError::Stopped {
            service: self.name.clone(),
        }
    }

    /// Submits a task if there is room, without waiting: the common case,
    /// kept out of the future that waits for room, so a submit that does
    /// not wait builds no such future. `Err(pending)`: full, wait with
    /// [`submit_when_room`](Self::submit_when_room).
    pub(crate) fn submit_now(
        &self,
        name: String,
        options: &TaskOptions,
        work: Work,
        delayed: bool,
    ) -> Result<Result<TaskId, Pending>, TaskError> {
        // Built before the lock is taken: the lock is held for the insert
        // alone.
        let mut pending = Some(Record {
            name,
            status: TaskStatus::Pending,
            priority: options.priority,
            attempts: 0,
            result: None,
            error: None,
            submitted_at: Instant::now(),
            finished_at: None,
            extra: extra(options, self.config.default_timeout),
            work: Some(work),
            token: None,
            cancel_requested: false,
            // A task waiting for its start time is pending but not queued;
            // the submitter's timer queues it (`requeue`).
            in_queue: !delayed,
            claimed: false,
            waiters: None,
        });
        Ok(match self.try_insert(options, &mut pending)? {
            Some(id) => Ok(id),
            None => Err(Pending(pending)),
        })
    }

    /// Waits for room in the queue, then submits.
    pub(crate) async fn submit_when_room(
        &self,
        options: &TaskOptions,
        Pending(mut pending): Pending,
    ) -> Result<TaskId, TaskError> {
        loop {
            // Full: register for room before looking again, so a slot
            // freed in between is not missed.
            let space = self.space.notified();
            tokio::pin!(space);
            space.as_mut().enable();
            if let Some(rec) = pending.as_mut() {
                rec.submitted_at = Instant::now();
            }
            if let Some(id) = self.try_insert(options, &mut pending)? {
                return Ok(id);
            }
            space.await;
        }
    }

    /// Queues the task if there is room (taking it out of `pending`), or
    /// finds the task holding its unique key. `None`: full, and the caller
    /// waits.
    fn try_insert(
        &self,
        options: &TaskOptions,
        pending: &mut Option<Record>,
    ) -> Result<Option<TaskId>, TaskError> {
        let mut st = self.state.lock();
        if self.closed.load(Ordering::Acquire) {
            return Err(self.stopped());
        }
        if let Some(key) = &options.unique_key {
            if let Some(&id) = st.unique.get(key) {
                return Ok(Some(TaskId(id)));
            }
        }
        if st.queued >= self.config.queue_capacity {
            if options.on_full == OnFull::Fail {
                return Err(TaskError::QueueFull {
                    service: self.name.clone(),
                    capacity: self.config.queue_capacity,
                });
            }
            return Ok(None);
        }
        let Some(record) = pending.take() else {
            return Ok(None);
        };
        st.next_id += 1;
        let id = st.next_id;
        if let Some(key) = &options.unique_key {
            st.unique.insert(key.clone(), id);
        }
        let (queued_now, priority) = (record.in_queue, record.priority);
        st.records.insert(id, record);
        st.stats.submitted += 1;
        if !queued_now {
            return Ok(Some(TaskId(id)));
        }
        st.queues[priority.index()].push_back(id);
        st.queued += 1;
        // A queue that keeps growing while a worker counts as looking: that
        // worker may share a thread kept busy by this very submitter, and
        // cannot run to take anything. Now and then wake another anyway.
        let growing = st.queued % WAKE_EVERY == 0;
        drop(st);
        if growing {
            self.work.notify_one();
        } else {
            self.wake_worker();
        }
        Ok(Some(TaskId(id)))
    }

    pub(crate) fn get(&self, id: TaskId) -> Result<TaskInfo, TaskError> {
        let st = self.state.lock();
        st.records
            .get(&id.0)
            .map(|r| r.info(id.0))
            .ok_or(TaskError::NotFound { id })
    }

    pub(crate) fn list(&self, filter: &TaskFilter) -> Vec<TaskInfo> {
        let st = self.state.lock();
        let mut matching: Vec<(u64, &Record)> = st
            .records
            .iter()
            .filter(|(_, r)| filter.status.is_none_or(|s| r.status == s))
            .filter(|(_, r)| filter.name.as_deref().is_none_or(|n| r.name == n))
            .collect();
        // Ids grow with submission: newest first is highest id first.
        matching.sort_unstable_by_key(|&(id, _)| std::cmp::Reverse(id));
        matching
            .into_iter()
            .take(filter.limit)
            .map(|(id, r)| r.info(id))
            .collect()
    }

    /// The task's snapshot if it has finished.
    pub(crate) fn finished(&self, id: TaskId) -> Result<Option<TaskInfo>, TaskError> {
        let st = self.state.lock();
        let rec = st.records.get(&id.0).ok_or(TaskError::NotFound { id })?;
        Ok(rec.status.is_finished().then(|| rec.info(id.0)))
    }

    /// Waits until the task has finished, for at most `timeout`. Callers
    /// look with [`finished`](Self::finished) first: most tasks waited for
    /// have, and that needs neither this future nor the clock.
    pub(crate) async fn wait(&self, id: TaskId, timeout: Duration) -> Result<TaskInfo, TaskError> {
        let deadline = crate::clock::after(Instant::now(), timeout);
        let waiter = {
            let mut st = self.state.lock();
            let rec = st
                .records
                .get_mut(&id.0)
                .ok_or(TaskError::NotFound { id })?;
            if rec.status.is_finished() {
                return Ok(rec.info(id.0));
            }
            rec.waiters.get_or_insert_with(Default::default).clone()
        };
        loop {
            let notified = waiter.notify.notified();
            tokio::pin!(notified);
            notified.as_mut().enable();
            // Checked after `enable`: a task finishing in between is seen.
            if let Some(info) = waiter.done.get() {
                return Ok(info.clone());
            }
            if tokio::time::timeout_at(deadline, notified).await.is_err() {
                if let Some(info) = waiter.done.get() {
                    return Ok(info.clone());
                }
                return Err(TaskError::WaitTimedOut {
                    id,
                    status: self.get(id)?.status,
                    after: timeout,
                });
            }
        }
    }

    /// Cancels a pending task at once, or asks a running one to stop.
    /// Returns false if it had already finished.
    pub(crate) fn cancel(&self, id: TaskId) -> Result<bool, TaskError> {
        let mut st = self.state.lock();
        let rec = st
            .records
            .get_mut(&id.0)
            .ok_or(TaskError::NotFound { id })?;
        // A claimed task a worker has started is running, whatever its
        // record says yet.
        let started = rec.claimed && !rec.token.as_ref().is_some_and(|t| t.revoke());
        match rec.status {
            TaskStatus::Pending if !started => {
                rec.claimed = false;
                let was_queued = std::mem::replace(&mut rec.in_queue, false);
                rec.cancel_requested = true;
                if let Some(token) = &rec.token {
                    token.cancel();
                }
                if was_queued {
                    st.queued -= 1;
                    if st.queued == 0 {
                        // Only cancelled ids are left: drop them now.
                        st.queues.iter_mut().for_each(VecDeque::clear);
                    }
                }
                self.finalize(
                    &mut st,
                    id.0,
                    TaskStatus::Cancelled,
                    Err("cancelled".into()),
                    Instant::now(),
                );
                let forgotten = std::mem::take(&mut st.forgotten);
                drop(st);
                drop(forgotten);
                self.space.notify_waiters();
                Ok(true)
            }
            TaskStatus::Pending | TaskStatus::Running => {
                rec.cancel_requested = true;
                if let Some(token) = &rec.token {
                    token.cancel();
                }
                Ok(true)
            }
            _ => Ok(false),
        }
    }

    pub(crate) fn stats(&self) -> TaskStats {
        let st = self.state.lock();
        let mut stats = st.stats.clone();
        stats.queue_depth = st.queued;
        stats.workers = self.config.workers;
        stats.busy_workers = self.busy.load(Ordering::Relaxed);
        stats.retained = st.records.len();
        stats.failure_rate = if st.outcomes.is_empty() {
            0.0
        } else {
            st.window_failures as f64 / st.outcomes.len() as f64
        };
        stats
    }

    /// Forgets finished tasks older than `retain_for`.
    pub(crate) fn prune_aged(&self) {
        let Some(age) = self.config.retain_for else {
            return;
        };
        let now = Instant::now();
        let mut st = self.state.lock();
        while let Some(&id) = st.finished.front() {
            let old = st
                .records
                .get(&id)
                .and_then(|r| r.finished_at)
                .is_none_or(|at| now.duration_since(at) >= age);
            if !old {
                break;
            }
            st.finished.pop_front();
            if let Some(record) = st.records.remove(&id) {
                st.forgotten.push(record);
            }
        }
        let forgotten = std::mem::take(&mut st.forgotten);
        drop(st);
        drop(forgotten);
    }

    /// The service is gone for good: refuse submits, cancel what is pending
    /// and ask what runs to stop.
    fn close(&self) {
        if self.closed.swap(true, Ordering::AcqRel) {
            return;
        }
        let mut st = self.state.lock();
        let ids: Vec<u64> = st
            .records
            .iter()
            .filter(|(_, r)| !r.status.is_finished())
            .map(|(id, _)| id)
            .collect();
        for id in ids {
            let rec = st.records.get_mut(&id).expect("listed above");
            rec.cancel_requested = true;
            if let Some(token) = &rec.token {
                token.cancel();
            }
            let started = rec.claimed && !rec.token.as_ref().is_some_and(|t| t.revoke());
            if rec.status == TaskStatus::Pending && !started {
                rec.in_queue = false;
                rec.claimed = false;
                self.finalize(
                    &mut st,
                    id,
                    TaskStatus::Cancelled,
                    Err("task service stopped".into()),
                    Instant::now(),
                );
            }
        }
        st.queued = 0;
        st.queues.iter_mut().for_each(VecDeque::clear);
        let forgotten = std::mem::take(&mut st.forgotten);
        drop(st);
        drop(forgotten);
        self.space.notify_waiters();
        tracing::debug!(service = %self.name, "task service stopped for good");
    }

    /// Makes a task final: status, result or error, unique key released,
    /// waiters woken, retention applied.
    fn finalize(
        &self,
        st: &mut State,
        id: u64,
        status: TaskStatus,
        outcome: Result<serde_json::Value, String>,
        at: Instant,
    ) {
        let Some(rec) = st.records.get_mut(&id) else {
            return;
        };
        rec.status = status;
        rec.finished_at = Some(at);
        rec.work = None;
        match outcome {
            Ok(v) => {
                rec.result = Some(v);
                rec.error = None;
            }
            Err(e) => rec.error = Some(e),
        }
        if let Some(w) = rec.waiters.take() {
            // Handed over with the wake-up: once retention forgets the
            // record, a waiter still gets its outcome.
            let _ = w.done.set(rec.info(id));
            w.notify.notify_waiters();
        }
        if let Some(key) = rec.extra.as_ref().and_then(|e| e.unique_key.clone()) {
            if st.unique.get(&key) == Some(&id) {
                st.unique.remove(&key);
            }
        }
        match status {
            TaskStatus::Completed => st.stats.completed += 1,
            TaskStatus::Failed => st.stats.failed += 1,
            TaskStatus::Cancelled => st.stats.cancelled += 1,
            TaskStatus::TimedOut => st.stats.timed_out += 1,
            TaskStatus::Dead => st.stats.dead += 1,
            TaskStatus::Pending | TaskStatus::Running => {}
        }
        if status != TaskStatus::Cancelled {
            let failure = status.is_failure();
            st.outcomes.push_back(failure);
            st.window_failures += failure as usize;
            if st.outcomes.len() > self.config.failure_window {
                let old = st.outcomes.pop_front().unwrap_or(false);
                st.window_failures -= old as usize;
            }
        }
        st.finished.push_back(id);
        while st.finished.len() > self.config.retain_finished {
            if let Some(old) = st.finished.pop_front() {
                // Dropped by the caller once the lock is released: a record
                // holds allocations made on the submitter's thread, and
                // freeing them here would hold everyone else up.
                if let Some(record) = st.records.remove(&old) {
                    st.forgotten.push(record);
                }
            }
        }
    }

    /// Claims up to `want` pending tasks (highest priority, oldest first)
    /// into `claims`. They stay pending until started: a worker starts a
    /// claimed task without the lock (see [`Claims`]).
    fn claim(&self, st: &mut State, claims: &mut Claims<'_>, want: usize) {
        // An even share of what is queued, so one worker does not claim
        // what idle siblings could run.
        let want = want.min(st.queued.div_ceil(self.config.workers.max(1)));
        let was_full = st.queued >= self.config.queue_capacity;
        for p in 0..3 {
            while claims.unstarted.len() < want {
                let Some(id) = st.queues[p].pop_front() else {
                    break;
                };
                let Some(rec) = st.records.get_mut(&id) else {
                    continue;
                };
                if rec.status != TaskStatus::Pending || !rec.in_queue {
                    continue; // cancelled while queued
                }
                // The worker keeps the code while it runs; a retry gives it
                // back.
                let Some(work) = rec.work.take() else {
                    continue;
                };
                rec.in_queue = false;
                rec.claimed = true;
                let token = rec
                    .token
                    .get_or_insert_with(|| claims.tokens.pop().unwrap_or_default());
                token.claimed();
                let cx = TaskContext {
                    id: TaskId(id),
                    attempt: rec.attempts + 1,
                    token: token.clone(),
                };
                let timeout = rec.extra.as_ref().and_then(|e| e.timeout);
                st.queued -= 1;
                claims.unstarted.push_back(Taken {
                    id,
                    work,
                    cx,
                    timeout,
                });
            }
        }
        if st.queued == 0 {
            // Only cancelled ids are left: drop them now.
            st.queues.iter_mut().for_each(VecDeque::clear);
        }
        // Submitters wait only on a full queue.
        claims.room |= was_full && !claims.unstarted.is_empty();
    }

    /// Puts claimed tasks a worker did not start back at the front of the
    /// queue, in their order. One a cancel revoked is final already.
    fn unclaim(&self, st: &mut State, claims: &mut Claims<'_>) {
        while let Some(taken) = claims.unstarted.pop_back() {
            let Some(rec) = st.records.get_mut(&taken.id) else {
                continue;
            };
            if rec.status != TaskStatus::Pending || !rec.claimed {
                continue;
            }
            rec.claimed = false;
            rec.in_queue = true;
            rec.work = Some(taken.work);
            let p = rec.priority.index();
            st.queues[p].push_front(taken.id);
            st.queued += 1;
            claims.requeued = true;
        }
    }

    /// A started task did not finish on its first poll: it shows running
    /// now, and the rest of the worker's claims go back to the queue for
    /// idle workers to take.
    fn started_running(&self, claims: &mut Claims<'_>, id: u64, attempt: u32) {
        let mut st = self.state.lock();
        claims.record(self, &mut st);
        if let Some(rec) = st.records.get_mut(&id) {
            if rec.claimed && rec.status == TaskStatus::Pending {
                rec.claimed = false;
                rec.status = TaskStatus::Running;
                rec.attempts = attempt;
            }
        }
        self.unclaim(&mut st, claims);
        drop(st);
        claims.after_lock();
    }

    /// Records how an attempt ended; returns a retry delay if it is retried.
    fn settle(&self, id: u64, attempt: u32, ended: Ended) -> Option<Duration> {
        let mut st = self.state.lock();
        let retry = self.settle_locked(&mut st, id, attempt, ended, &mut None, Instant::now());
        let forgotten = std::mem::take(&mut st.forgotten);
        drop(st);
        drop(forgotten);
        retry
    }

    /// [`settle`](Self::settle), under the lock the caller holds.
    fn settle_locked(
        &self,
        st: &mut State,
        id: u64,
        attempt: u32,
        ended: Ended,
        work: &mut Option<Work>,
        at: Instant,
    ) -> Option<Duration> {
        let rec = st.records.get_mut(&id)?;
        if rec.claimed {
            // Claimed, started and finished on its first poll: its record
            // catches up now.
            rec.claimed = false;
            rec.status = TaskStatus::Running;
            rec.attempts = attempt;
        }
        let cancelled = rec.cancel_requested;
        let ended = match ended {
            // Whatever a task returns after a cancellation request, it
            // was cancelled.
            Ended::Returned(_) if cancelled => Ended::Cancelled,
            other => other,
        };
        let (status, outcome) = match ended {
            Ended::Returned(Ok(v)) => (TaskStatus::Completed, Ok(v)),
            Ended::Returned(Err(e)) => {
                let message = e.to_string();
                match rec.extra.as_ref().and_then(|e| e.retry.as_ref()) {
                    Some(policy)
                        if policy.is_retryable(&e)
                            && !cancelled
                            && !super::handler::is_payload_error(&e) =>
                    {
                        if rec.attempts < policy.max_attempts()
                            && !self.closed.load(Ordering::Acquire)
                        {
                            let delay = policy.delay(rec.attempts);
                            tracing::info!(service = %self.name, task = %TaskId(id), name = %rec.name, attempt = rec.attempts, delay_ms = delay.as_millis() as u64, error = %message, "task failed; retrying");
                            rec.status = TaskStatus::Pending;
                            rec.error = Some(message);
                            if work.is_some() {
                                rec.work = work.take();
                            }
                            st.stats.retries += 1;
                            return Some(delay);
                        }
                        tracing::warn!(service = %self.name, task = %TaskId(id), name = %rec.name, attempts = rec.attempts, error = %message, "task dead: retries exhausted");
                        (TaskStatus::Dead, Err(message))
                    }
                    _ => {
                        tracing::warn!(service = %self.name, task = %TaskId(id), name = %rec.name, error = %message, "task failed");
                        (TaskStatus::Failed, Err(message))
                    }
                }
            }
            Ended::Panicked(m) => {
                tracing::warn!(service = %self.name, task = %TaskId(id), name = %rec.name, panic = %m, "task panicked");
                (TaskStatus::Failed, Err(format!("panicked: {m}")))
            }
            Ended::TimedOut(after) => {
                tracing::warn!(service = %self.name, task = %TaskId(id), name = %rec.name, after = ?after, "task timed out");
                (
                    TaskStatus::TimedOut,
                    Err(format!("timed out after {after:?}")),
                )
            }
            Ended::Cancelled => (TaskStatus::Cancelled, Err("cancelled".to_string())),
            Ended::Lost if cancelled => (TaskStatus::Cancelled, Err("cancelled".to_string())),
            Ended::Lost => {
                tracing::warn!(service = %self.name, task = %TaskId(id), name = %rec.name, "the worker running the task died");
                (
                    TaskStatus::Failed,
                    Err("the worker running it died".to_string()),
                )
            }
        };
        self.finalize(st, id, status, outcome, at);
        None
    }

    /// Puts a task in the queue after its retry backoff or start delay.
    pub(crate) fn requeue(&self, id: u64) {
        let mut st = self.state.lock();
        let Some(rec) = st.records.get_mut(&id) else {
            return;
        };
        if rec.status != TaskStatus::Pending || rec.in_queue || rec.claimed {
            return;
        }
        rec.in_queue = true;
        let p = rec.priority.index();
        st.queues[p].push_back(id);
        st.queued += 1;
        drop(st);
        self.wake_worker();
    }

    /// A task was queued: wake a parked worker unless one is looking
    /// already (it will find the task). Called after the queue's lock is
    /// released; a worker about to park stops counting as looking before
    /// it looks a last time, so no task is left without a worker.
    fn wake_worker(&self) {
        if self.searching.load(Ordering::SeqCst) == 0 {
            self.work.notify_one();
        }
    }
}

impl Engine for TaskEngine {
    fn health_interval(&self) -> Duration {
        self.config.health_interval
    }

    fn initial_status(&self) -> Status {
        Status::Idle
    }

    /// The stats as details, finished tasks past their age limit
    /// forgotten; busy while every worker runs a task, idle when nothing
    /// runs or waits, degraded while the failure rate is too high.
    fn health(&self) -> Health {
        self.prune_aged();
        let stats = self.stats();
        let finished = stats.completed + stats.failed + stats.timed_out + stats.dead;
        let window = (finished as usize).min(self.config.failure_window);
        let health = if window > 0 && stats.failure_rate >= self.config.degraded_failure_rate {
            Health::new(Status::Degraded).message(format!(
                "{:.0}% of the last {window} tasks failed",
                stats.failure_rate * 100.0
            ))
        } else if stats.busy_workers >= stats.workers {
            Health::new(Status::Busy)
        } else if stats.busy_workers == 0 && stats.queue_depth == 0 {
            Health::new(Status::Idle)
        } else {
            Health::ok()
        };
        health.stats(&stats).detail(
            "idle_workers",
            stats.workers.saturating_sub(stats.busy_workers),
        )
    }

    /// Runs the incarnation's workers where `worker_placement` says. A
    /// worker that dies of a panic outside a task fails the incarnation, so
    /// the supervisor starts fresh ones.
    fn run(
        shared: Shared<Self>,
        cx: ServiceContext,
    ) -> impl Future<Output = Result<(), BoxError>> + 'static {
        let stop = CancellationToken::new();
        *shared.workers.lock() = stop.clone();
        let placement = &shared.config.worker_placement;
        let workers: Result<Vec<_>, _> = (0..shared.config.workers)
            .map(|_| {
                let (shared, stop) = (shared.clone(), stop.clone());
                cx.spawn_placed(placement, move || worker(shared, stop))
            })
            .collect();
        async move {
            // Ends the workers with the incarnation, however it ends.
            let _stop = stop.drop_guard();
            for ended in futures_util::future::join_all(workers?).await {
                if let Err(panic) = ended {
                    return Err(format!("a task worker died: {panic}").into());
                }
            }
            Ok(())
        }
    }

    fn drain(shared: Shared<Self>) -> impl Future<Output = ()> + 'static {
        shared.workers.lock().cancel();
        std::future::ready(())
    }

    fn phase_changed(&self, from: Phase, to: Phase) {
        match to {
            Phase::Closed => self.close(),
            Phase::Running if from == Phase::Closed => self.closed.store(false, Ordering::Release),
            _ => {}
        }
    }
}

/// One worker: takes tasks until `stop` fires (it then finishes the task
/// in hand first). Runs where `worker_placement` says; a panicking task is
/// caught here, so the worker lives on.
///
/// It visits the engine's lock once per batch: to record the outcomes of
/// the attempts that ended since, and to claim the next tasks — as many as
/// it can expect to finish quickly, up to [`MAX_CLAIM`]: one after a task
/// that did not finish on its first poll, twice as many after a batch that
/// did. A claimed task that does not finish on its first poll sends the
/// rest of the batch back to the queue, so a slow task holds up no other.
async fn worker(shared: Shared<TaskEngine>, stop: CancellationToken) {
    let mut ran: u32 = 0;
    let mut looking = Looking::new(&shared.searching);
    let mut claims = Claims::new(&shared);
    let mut want = 1;
    loop {
        if stop.is_cancelled() {
            return;
        }
        let taken = match claims.unstarted.pop_front() {
            Some(taken) => taken,
            None => {
                looking.set(true);
                // A batch ends where the worker yields (below).
                let want = want.min((YIELD_EVERY - ran % YIELD_EVERY) as usize);
                if !shared.exchange(&mut claims, want) {
                    let notified = shared.work.notified();
                    tokio::pin!(notified);
                    notified.as_mut().enable();
                    // No longer looking, then a last look: a task queued by
                    // a submitter that still saw this worker looking is
                    // found here.
                    looking.set(false);
                    if !shared.exchange(&mut claims, want) {
                        tokio::select! {
                            _ = notified => {}
                            _ = stop.cancelled() => return,
                        }
                        continue;
                    }
                }
                looking.set(false);
                let Some(taken) = claims.unstarted.pop_front() else {
                    continue;
                };
                taken
            }
        };
        let Taken {
            id,
            work,
            cx,
            timeout,
        } = taken;
        if !cx.token.start() {
            continue; // cancelled before it started: final already
        }
        let attempt = cx.attempt;
        shared.busy.fetch_add(1, Ordering::Relaxed);
        // Settles the task if this worker dies with it in hand.
        let mut in_hand = InHand {
            engine: &shared,
            id,
            attempt,
            settled: false,
        };
        let token = cx.token.clone();
        let mut slow = false;
        let ended = run(
            work.clone(),
            cx,
            timeout,
            token,
            shared.config.cancel_grace,
            || {
                slow = true;
                shared.started_running(&mut claims, id, attempt);
            },
        )
        .await;
        let at = Instant::now();
        claims.ended.push_back(Attempt {
            id,
            attempt,
            ended,
            work,
            at,
        });
        in_hand.settled = true;
        drop(in_hand);
        want = if slow { 1 } else { (want * 2).min(MAX_CLAIM) };
        // Tasks that finish at once may still take long (CPU work): the
        // rest of a batch held that long goes back to idle siblings.
        if !claims.unstarted.is_empty() && at.duration_since(claims.since) >= HOLD_AT_MOST {
            shared.give_back(&mut claims);
            want = 1;
        }
        // Let other actors on this arbiter run now and then, even while
        // the queue never empties. What ended is recorded first, and any
        // claim not started goes back: the siblings on this arbiter that
        // run meanwhile take them in order, so tasks still finish in the
        // order they were queued.
        ran = ran.wrapping_add(1);
        if ran % YIELD_EVERY == 0 {
            shared.give_back(&mut claims);
            tokio::task::yield_now().await;
        }
    }
}

impl TaskEngine {
    /// One visit of a worker to the lock: records what ended, then claims
    /// up to `want` tasks. False if it claimed none.
    fn exchange(&self, claims: &mut Claims<'_>, want: usize) -> bool {
        while claims.tokens.len() < want {
            claims.tokens.push(Arc::default());
        }
        let mut st = self.state.lock();
        claims.record(self, &mut st);
        self.claim(&mut st, claims, want);
        let more = st.queued > 0;
        drop(st);
        if claims.unstarted.len() > 1 {
            claims.since = Instant::now();
        }
        claims.after_lock();
        // This worker stops looking; if tasks remain and nobody else
        // looks, wake another so they do not wait for this one.
        if more && !claims.unstarted.is_empty() {
            self.wake_worker();
        }
        !claims.unstarted.is_empty()
    }

    /// Records what ended and puts back the tasks not started.
    fn give_back(&self, claims: &mut Claims<'_>) {
        let mut st = self.state.lock();
        claims.record(self, &mut st);
        self.unclaim(&mut st, claims);
        drop(st);
        claims.after_lock();
    }
}

/// What a worker holds between two visits to the engine's lock: tasks it
/// claimed and has not started, and attempts that ended whose outcome is
/// not recorded yet. Dropped (the worker ended, however), it records what
/// ended and puts back what it did not start, so nothing is lost.
struct Claims<'a> {
    engine: &'a Shared<TaskEngine>,
    unstarted: VecDeque<Taken>,
    /// Attempts that ended, not recorded yet.
    ended: VecDeque<Attempt>,
    /// Code of finished tasks, dropped once the lock is released.
    done: Vec<Work>,
    /// Records retention forgot, dropped once the lock is released.
    forgotten: Vec<Record>,
    /// Fresh tokens for the tasks it claims, made before the lock is
    /// taken.
    tokens: Vec<Arc<super::task::TaskToken>>,
    /// The attempt being recorded: recording runs user code (a retry
    /// predicate), and if that panics the attempt is recorded as lost.
    recording: Option<(u64, u32)>,
    /// Retries to schedule once the lock is released.
    retries: Vec<(u64, Duration)>,
    /// Queue room was freed / tasks were put back: who to wake after the
    /// lock.
    room: bool,
    requeued: bool,
    /// When the current batch was claimed.
    since: Instant,
}

/// An attempt that ended, as a worker hands it over.
struct Attempt {
    id: u64,
    attempt: u32,
    ended: Ended,
    /// The task's code, kept for a retry.
    work: Work,
    /// When it ended: read before the lock is taken.
    at: Instant,
}

/// How long a worker holds claimed tasks it has not started, when the
/// ones before them take long.
const HOLD_AT_MOST: Duration = Duration::from_micros(200);

impl<'a> Claims<'a> {
    fn new(engine: &'a Shared<TaskEngine>) -> Self {
        Claims {
            engine,
            unstarted: VecDeque::with_capacity(MAX_CLAIM),
            ended: VecDeque::with_capacity(MAX_CLAIM),
            recording: None,
            done: Vec::with_capacity(MAX_CLAIM),
            forgotten: Vec::with_capacity(MAX_CLAIM),
            tokens: Vec::with_capacity(MAX_CLAIM),
            retries: Vec::new(),
            room: false,
            requeued: false,
            since: Instant::now(),
        }
    }

    /// Records every attempt that ended, under the lock.
    fn record(&mut self, engine: &TaskEngine, st: &mut State) {
        while let Some(Attempt {
            id,
            attempt,
            ended,
            work,
            at,
        }) = self.ended.pop_front()
        {
            self.recording = Some((id, attempt));
            let mut work = Some(work);
            let retry = engine.settle_locked(st, id, attempt, ended, &mut work, at);
            self.recording = None;
            self.done.extend(work);
            if let Some(delay) = retry {
                self.retries.push((id, delay));
            }
        }
        std::mem::swap(&mut st.forgotten, &mut self.forgotten);
    }

    /// Wakes who waits on what this visit changed, and schedules retries.
    fn after_lock(&mut self) {
        let engine = self.engine;
        self.done.clear();
        self.forgotten.clear();
        if std::mem::take(&mut self.room) {
            engine.space.notify_waiters();
        }
        if std::mem::take(&mut self.requeued) {
            engine.wake_worker();
        }
        for (id, delay) in self.retries.drain(..) {
            let shared = engine.clone();
            tokio::task::spawn_local(async move {
                tokio::time::sleep(delay).await;
                shared.requeue(id);
            });
        }
    }
}

impl Drop for Claims<'_> {
    fn drop(&mut self) {
        let engine: &TaskEngine = self.engine;
        let mut st = engine.state.lock();
        if let Some((id, attempt)) = self.recording.take() {
            let _ =
                engine.settle_locked(&mut st, id, attempt, Ended::Lost, &mut None, Instant::now());
        }
        while let Some(Attempt {
            id,
            attempt,
            ended,
            work,
            at,
        }) = self.ended.pop_front()
        {
            let mut work = Some(work);
            // Recording may run a retry predicate; one that panics here,
            // perhaps while unwinding, must not abort the process.
            let recorded = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
                engine.settle_locked(&mut st, id, attempt, ended, &mut work, at)
            }));
            match recorded {
                // The worker is gone, and so perhaps its arbiter: the
                // retry is queued now rather than after its backoff.
                Ok(Some(_)) => self.retries.push((id, Duration::ZERO)),
                Ok(None) => {}
                Err(_) => {
                    let _ = engine.settle_locked(&mut st, id, attempt, Ended::Lost, &mut None, at);
                }
            }
        }
        engine.unclaim(&mut st, self);
        let forgotten = std::mem::take(&mut st.forgotten);
        drop(st);
        drop(forgotten);
        for (id, _) in std::mem::take(&mut self.retries) {
            engine.requeue(id);
        }
        engine.space.notify_waiters();
        engine.wake_worker();
    }
}

/// Whether a worker counts in the engine's `searching`; it stops counting
/// however the worker ends (also dropped mid-way).
struct Looking<'a> {
    searching: &'a AtomicUsize,
    counted: bool,
}

impl<'a> Looking<'a> {
    fn new(searching: &'a AtomicUsize) -> Self {
        searching.fetch_add(1, Ordering::SeqCst);
        Looking {
            searching,
            counted: true,
        }
    }

    fn set(&mut self, looking: bool) {
        if looking != self.counted {
            if looking {
                self.searching.fetch_add(1, Ordering::SeqCst);
            } else {
                self.searching.fetch_sub(1, Ordering::SeqCst);
            }
            self.counted = looking;
        }
    }
}

impl Drop for Looking<'_> {
    fn drop(&mut self) {
        self.set(false);
    }
}

/// The task a worker runs: if the worker ends before the task does (a panic
/// outside the task's own code, or the worker dropped), the task is settled
/// anyway — failed, or cancelled if that was asked — so it never stays
/// running.
struct InHand<'a> {
    engine: &'a TaskEngine,
    id: u64,
    attempt: u32,
    settled: bool,
}

impl Drop for InHand<'_> {
    fn drop(&mut self) {
        self.engine.busy.fetch_sub(1, Ordering::Relaxed);
        if !self.settled {
            let _ = self.engine.settle(self.id, self.attempt, Ended::Lost);
        }
    }
}

/// A worker yields to the arbiter after this many tasks in a row.
const YIELD_EVERY: u32 = MAX_CLAIM as u32;

type Caught = Result<Outcome, Panic>;

pub(crate) async fn run(
    work: Work,
    cx: TaskContext,
    timeout: Option<Duration>,
    token: Arc<super::task::TaskToken>,
    grace: Duration,
    on_pending: impl FnOnce(),
) -> Ended {
    // Not boxed: the task's own future is already boxed once.
    let fut = match work {
        Work::Async(f) => Either::Left(catch_panic_async(async move { f(cx).await })),
        Work::Blocking(f) => {
            let handle = tokio::task::spawn_blocking(move || f(cx));
            Either::Right(async move {
                let caught: Caught = match handle.await {
                    Ok(outcome) => Ok(outcome),
                    Err(e) if e.is_panic() => Err(Panic::from_payload(&*e.into_panic())),
                    Err(e) => Ok(Err(e.into())),
                };
                caught
            })
        }
    };
    tokio::pin!(fut);
    // Most tasks finish on their first poll: skip the timers for them.
    let first = std::future::poll_fn(|cx| Poll::Ready(fut.as_mut().poll(cx))).await;
    if let Poll::Ready(caught) = first {
        return caught_to_ended(caught);
    }
    on_pending();
    let deadline = timeout.map(|t| crate::clock::after(Instant::now(), t));
    let expired = async {
        match deadline {
            Some(d) => tokio::time::sleep_until(d).await,
            None => std::future::pending().await,
        }
    };
    tokio::select! {
        caught = &mut fut => return caught_to_ended(caught),
        _ = expired => {
            token.cancel();
            return Ended::TimedOut(timeout.unwrap_or_default());
        }
        _ = token.cancelled() => {}
    }
    // Cancelled while running: give it the grace period to notice.
    let _ = tokio::time::timeout(grace, &mut fut).await;
    Ended::Cancelled
}

fn caught_to_ended(caught: Caught) -> Ended {
    match caught {
        Ok(outcome) => Ended::Returned(outcome),
        Err(panic) => Ended::Panicked(panic.into_message()),
    }
}

fn extra(options: &TaskOptions, default_timeout: Option<Duration>) -> Option<Box<Extra>> {
    let timeout = options.timeout.or(default_timeout);
    if options.unique_key.is_none() && timeout.is_none() && options.retry.is_none() {
        return None;
    }
    Some(Box::new(Extra {
        unique_key: options.unique_key.clone(),
        timeout,
        retry: options.retry.clone(),
    }))
}
