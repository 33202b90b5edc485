//! The task service's engine — records, the priority queue, the counters —
//! and the worker loop that drains it.
//!
//! It is created with the child spec and shared by every handle and every
//! incarnation of the service's actor, so an actor crash loses no task.
//! Each incarnation runs [`workers`](super::TasksConfig::workers) worker
//! tasks on its arbiter, tied to the incarnation: when the actor ends (a
//! crash, a restart, a stop) its workers take no new task, finish the one in
//! hand, and exit; the next incarnation starts fresh workers on the same
//! queue. So a crash loses no pending task, and a running task is not
//! interrupted by it (for a moment more than `workers` tasks may run).

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
    waiters: Option<Arc<Notify>>,
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
    /// stream of tasks does not cost a thread wake-up each.
    searching: AtomicUsize,
    /// Wakes submitters waiting for room in the queue.
    space: Notify,
    busy: AtomicUsize,
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

/// A task a worker took from the queue, and whether more are queued.
struct Taken {
    id: u64,
    work: Work,
    cx: TaskContext,
    timeout: Option<Duration>,
    more: bool,
}

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
            busy: AtomicUsize::new(0),
            searching: AtomicUsize::new(0),
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

    pub(crate) async fn submit(
        &self,
        name: String,
        options: TaskOptions,
        work: Work,
    ) -> Result<TaskId, TaskError> {
        let mut pending = Some((name, work));
        if let Some(id) = self.try_insert(&options, &mut pending)? {
            return Ok(id);
        }
        loop {
            // Full: register for room before looking again, so a slot
            // freed in between is not missed.
            let space = self.space.notified();
            tokio::pin!(space);
            space.as_mut().enable();
            if let Some(id) = self.try_insert(&options, &mut pending)? {
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
        pending: &mut Option<(String, Work)>,
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
        let Some((name, work)) = pending.take() else {
            return Ok(None);
        };
        st.next_id += 1;
        let id = st.next_id;
        // A task waiting for its start time is pending but not queued; the
        // submitter's timer queues it (`requeue`).
        let queued_now = options.wait_before_start().is_none();
        if let Some(key) = &options.unique_key {
            st.unique.insert(key.clone(), id);
        }
        st.records.insert(
            id,
            Record {
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
                in_queue: queued_now,
                waiters: None,
            },
        );
        st.stats.submitted += 1;
        if !queued_now {
            return Ok(Some(TaskId(id)));
        }
        st.queues[options.priority.index()].push_back(id);
        st.queued += 1;
        drop(st);
        self.wake_worker();
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

    pub(crate) async fn wait(&self, id: TaskId, timeout: Duration) -> Result<TaskInfo, TaskError> {
        let deadline = crate::clock::after(Instant::now(), timeout);
        loop {
            let notify = {
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
            let notified = notify.notified();
            tokio::pin!(notified);
            notified.as_mut().enable();
            // Re-check: it may have finished between the lock and `enable`.
            {
                let st = self.state.lock();
                let rec = st.records.get(&id.0).ok_or(TaskError::NotFound { id })?;
                if rec.status.is_finished() {
                    return Ok(rec.info(id.0));
                }
            }
            if tokio::time::timeout_at(deadline, notified).await.is_err() {
                let status = self.get(id)?.status;
                if status.is_finished() {
                    return self.get(id);
                }
                return Err(TaskError::WaitTimedOut {
                    id,
                    status,
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
        match rec.status {
            TaskStatus::Pending => {
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
                );
                drop(st);
                self.space.notify_waiters();
                Ok(true)
            }
            TaskStatus::Running => {
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
            st.records.remove(&id);
        }
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
            if rec.status == TaskStatus::Pending {
                rec.in_queue = false;
                self.finalize(
                    &mut st,
                    id,
                    TaskStatus::Cancelled,
                    Err("task service stopped".into()),
                );
            }
        }
        st.queued = 0;
        st.queues.iter_mut().for_each(VecDeque::clear);
        drop(st);
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
    ) {
        let Some(rec) = st.records.get_mut(&id) else {
            return;
        };
        rec.status = status;
        rec.finished_at = Some(Instant::now());
        rec.work = None;
        match outcome {
            Ok(v) => {
                rec.result = Some(v);
                rec.error = None;
            }
            Err(e) => rec.error = Some(e),
        }
        if let Some(w) = rec.waiters.take() {
            w.notify_waiters();
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
                st.records.remove(&old);
            }
        }
    }

    /// Takes the next pending task (highest priority, oldest first) and
    /// marks it running.
    fn take(&self) -> Option<Taken> {
        let mut st = self.state.lock();
        if st.queued == 0 {
            return None;
        }
        for p in 0..3 {
            while let Some(id) = st.queues[p].pop_front() {
                let Some(rec) = st.records.get_mut(&id) else {
                    continue;
                };
                if rec.status != TaskStatus::Pending || !rec.in_queue {
                    continue; // cancelled while queued
                }
                let Some(work) = rec.work.clone() else {
                    continue;
                };
                rec.in_queue = false;
                rec.status = TaskStatus::Running;
                rec.attempts += 1;
                let cx = TaskContext {
                    id: TaskId(id),
                    attempt: rec.attempts,
                    token: rec.token.get_or_insert_with(Arc::default).clone(),
                };
                let timeout = rec.extra.as_ref().and_then(|e| e.timeout);
                let was_full = st.queued >= self.config.queue_capacity;
                st.queued -= 1;
                let more = st.queued > 0;
                drop(st);
                // Submitters wait only on a full queue.
                if was_full {
                    self.space.notify_waiters();
                }
                return Some(Taken {
                    id,
                    work,
                    cx,
                    timeout,
                    more,
                });
            }
        }
        None
    }

    /// Records how an attempt ended; returns a retry delay if it is retried.
    fn settle(&self, id: u64, ended: Ended) -> Option<Duration> {
        let mut st = self.state.lock();
        let rec = st.records.get_mut(&id)?;
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
        self.finalize(&mut st, id, status, outcome);
        None
    }

    /// Puts a task in the queue after its retry backoff or start delay.
    pub(crate) fn requeue(&self, id: u64) {
        let mut st = self.state.lock();
        let Some(rec) = st.records.get_mut(&id) else {
            return;
        };
        if rec.status != TaskStatus::Pending || rec.in_queue {
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
/// in hand first). Runs on the actor's arbiter; a panicking task is caught
/// here, so the worker lives on.
async fn worker(shared: Shared<TaskEngine>, stop: CancellationToken) {
    let mut ran: u32 = 0;
    let mut looking = Looking::new(&shared.searching);
    loop {
        if stop.is_cancelled() {
            return;
        }
        let taken = match shared.take() {
            Some(taken) => {
                looking.set(false);
                taken
            }
            None => {
                let notified = shared.work.notified();
                tokio::pin!(notified);
                notified.as_mut().enable();
                // No longer looking, then a last look: a task queued by a
                // submitter that still saw this worker looking is found here.
                looking.set(false);
                match shared.take() {
                    Some(taken) => taken,
                    None => {
                        tokio::select! {
                            _ = notified => {}
                            _ = stop.cancelled() => return,
                        }
                        looking.set(true);
                        continue;
                    }
                }
            }
        };
        let Taken {
            id,
            work,
            cx,
            timeout,
            more,
        } = taken;
        // This worker stopped looking; if tasks remain and nobody else
        // looks, wake another so they do not wait for this one.
        if more {
            shared.wake_worker();
        }
        shared.busy.fetch_add(1, Ordering::Relaxed);
        // Settles the task if this worker dies with it in hand.
        let mut in_hand = InHand {
            engine: &shared,
            id,
            settled: false,
        };
        let token = cx.token.clone();
        let ended = run(work, cx, timeout, token, shared.config.cancel_grace).await;
        // Settling runs user code too (a retry predicate): still in hand.
        let retry = shared.settle(id, ended);
        in_hand.settled = true;
        drop(in_hand);
        if let Some(delay) = retry {
            let shared = shared.clone();
            tokio::task::spawn_local(async move {
                tokio::time::sleep(delay).await;
                shared.requeue(id);
            });
        }
        looking.set(true);
        // Let other actors on this arbiter run now and then, even while
        // the queue never empties.
        ran = ran.wrapping_add(1);
        if ran % YIELD_EVERY == 0 {
            tokio::task::yield_now().await;
        }
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
    settled: bool,
}

impl Drop for InHand<'_> {
    fn drop(&mut self) {
        self.engine.busy.fetch_sub(1, Ordering::Relaxed);
        if !self.settled {
            let _ = self.engine.settle(self.id, Ended::Lost);
        }
    }
}

/// A worker yields to the arbiter after this many tasks in a row.
const YIELD_EVERY: u32 = 16;

type Caught = Result<Outcome, Panic>;

pub(crate) async fn run(
    work: Work,
    cx: TaskContext,
    timeout: Option<Duration>,
    token: Arc<super::task::TaskToken>,
    grace: Duration,
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
