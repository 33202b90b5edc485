//! The durable queue's engine — its statements, handlers and counters — and
//! the workers, lease renewal and lease sweep each process runs.
//!
//! A worker claims up to [`claim_batch`](super::DurableConfig::claim_batch)
//! ready tasks in one statement (`FOR UPDATE SKIP LOCKED`, so claimers
//! never wait for each other and never take the same row) and runs them one
//! after another on the service's arbiter. One renewer per process renews
//! the lease of every task its workers hold, in one statement every
//! [`renew_interval`](super::DurableConfig::renew_interval), so renewals
//! do not wait behind every worker for a connection. Each process also sweeps
//! leases that ran out, from any process, back to pending.

use super::config::DurableConfig;
use super::schema::Statements;
use super::stats::{Counters, DurableStats};
use crate::db::{DbError, PgDb};
use crate::exit::BoxError;
use crate::kit::{Backoff, Engine, Health, Shared};
use crate::service::ServiceContext;
use crate::status::Status;
use crate::tasks::engine::{run, Ended, Work};
use crate::tasks::handler::{is_payload_error, Handlers};
use crate::tasks::{TaskContext, TaskError, TaskId, TaskStatus};
use parking_lot::Mutex;
use std::cell::RefCell;
use std::collections::HashMap;
use std::future::Future;
use std::rc::Rc;
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::Duration;
use tokio_util::sync::CancellationToken;

/// The engine of a [`DurableTasks`](super::DurableTasks) service: its
/// queue's statements, its handlers and its counters, shared by every
/// handle and every incarnation of its actor. Use it through the handle.
pub struct DurableEngine {
    pub(crate) name: String,
    pub(crate) queue: String,
    pub(crate) config: DurableConfig,
    pub(crate) db: PgDb,
    pub(crate) sql: Statements,
    pub(crate) handlers: Handlers,
    /// This process's name in `lease_owner`: host-unique, never reused.
    pub(crate) owner: String,
    pub(crate) counters: Counters,
    /// Stops the workers of the current incarnation.
    stop: Mutex<CancellationToken>,
}

impl std::fmt::Debug for DurableEngine {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DurableEngine")
            .field("name", &self.name)
            .field("queue", &self.queue)
            .field("config", &self.config)
            .finish_non_exhaustive()
    }
}

/// A task a worker claimed: the row as the claim returned it.
pub(crate) struct Claim {
    id: i64,
    handler: String,
    payload: String,
    priority: i16,
    attempt: i32,
    max_attempts: i32,
    backoff: Option<String>,
    timeout_ms: Option<i64>,
    cancel_requested: bool,
}

type ClaimRow = (
    i64,
    String,
    String,
    i16,
    i32,
    i32,
    Option<String>,
    Option<i64>,
    bool,
    i32,
);

/// How an attempt is written back.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Settlement {
    Complete(serde_json::Value),
    Retry { error: String, delay: Duration },
    Finish { status: TaskStatus, error: String },
}

/// The one decision after an attempt: complete, retry after a backoff, or
/// finish with a final status. Errors are retried while attempts remain
/// (then the task is dead), except a payload that does not fit its
/// handler; panics and timeouts are final, as in the in-memory service.
pub(crate) fn decide(
    ended: Ended,
    attempt: u32,
    max_attempts: u32,
    backoff: &Backoff,
    cancel_requested: bool,
) -> Settlement {
    let finish = |status, error: String| Settlement::Finish { status, error };
    match ended {
        _ if cancel_requested => finish(TaskStatus::Cancelled, "cancelled".into()),
        Ended::Returned(Ok(v)) => Settlement::Complete(v),
        Ended::Returned(Err(e)) if is_payload_error(&e) => {
            finish(TaskStatus::Failed, e.to_string())
        }
        Ended::Returned(Err(e)) if attempt < max_attempts => Settlement::Retry {
            error: e.to_string(),
            delay: backoff.jittered(attempt.saturating_sub(1)),
        },
        Ended::Returned(Err(e)) => finish(TaskStatus::Dead, e.to_string()),
        Ended::Panicked(m) => finish(TaskStatus::Failed, format!("panicked: {m}")),
        Ended::TimedOut(after) => {
            finish(TaskStatus::TimedOut, format!("timed out after {after:?}"))
        }
        Ended::Cancelled => finish(TaskStatus::Cancelled, "cancelled".into()),
        Ended::Lost => finish(TaskStatus::Failed, "the worker running it died".into()),
    }
}

/// The status as the table spells it.
pub(crate) fn status_column(status: TaskStatus) -> &'static str {
    match status {
        TaskStatus::Pending => "pending",
        TaskStatus::Running => "running",
        TaskStatus::Completed => "completed",
        TaskStatus::Failed => "failed",
        TaskStatus::Cancelled => "cancelled",
        TaskStatus::TimedOut => "timed_out",
        TaskStatus::Dead => "dead",
    }
}

/// The status a column holds (the table's CHECK admits no other).
pub(crate) fn parse_status(s: &str) -> TaskStatus {
    match s {
        "pending" => TaskStatus::Pending,
        "running" => TaskStatus::Running,
        "completed" => TaskStatus::Completed,
        "cancelled" => TaskStatus::Cancelled,
        "timed_out" => TaskStatus::TimedOut,
        "dead" => TaskStatus::Dead,
        _ => TaskStatus::Failed,
    }
}

impl DurableEngine {
    pub(crate) fn new(name: &str, config: DurableConfig, db: PgDb) -> DurableEngine {
        let sql = Statements::new(&config.table_prefix);
        let owner = format!(
            "{}-{}-{:08x}",
            std::process::id(),
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map_or(0, |d| d.as_millis()),
            fastrand::u32(..)
        );
        DurableEngine {
            name: name.to_string(),
            queue: config.queue.clone().unwrap_or_else(|| name.to_string()),
            config,
            db,
            sql,
            handlers: Handlers::new(),
            owner,
            counters: Counters::default(),
            stop: Mutex::new(CancellationToken::new()),
        }
    }

    pub(crate) fn db_error(&self, e: DbError) -> TaskError {
        match e {
            DbError::Stopped { .. } | DbError::NotStarted { .. } => TaskError::NotStarted {
                service: self.name.clone(),
            },
            other => TaskError::Database {
                service: self.name.clone(),
                cause: other.to_string(),
            },
        }
    }

    async fn claim(&self, owner: &str) -> Result<Vec<Claim>, DbError> {
        let rows: Vec<ClaimRow> = self
            .db
            .fetch_all(
                self.sql.claim.q(),
                (
                    self.queue.as_str(),
                    owner,
                    self.config.lease.as_millis() as f64,
                    self.config.claim_batch as i64,
                ),
            )
            .await?;
        let mut claims: Vec<Claim> = rows
            .into_iter()
            .map(|r| Claim {
                id: r.0,
                handler: r.1,
                payload: r.2,
                priority: r.3,
                attempt: r.4,
                max_attempts: r.5,
                backoff: r.6,
                timeout_ms: r.7,
                cancel_requested: r.8,
            })
            .collect();
        // RETURNING keeps no order: run them in claim order.
        claims.sort_unstable_by_key(|c| (c.priority, c.id));
        Ok(claims)
    }

    /// Renews the leases on `ids`; the ids still held, each with whether
    /// a cancellation was asked for.
    async fn renew(&self, owner: &str, ids: Vec<i64>) -> Result<Vec<(i64, bool)>, DbError> {
        self.db
            .fetch_all(
                self.sql.renew.q(),
                (ids, owner, self.config.lease.as_millis() as f64),
            )
            .await
    }

    /// Writes an attempt back; false if the lease was no longer this
    /// worker's (another worker owns the task now).
    async fn settle(&self, owner: &str, claim: &Claim, s: Settlement) -> Result<bool, DbError> {
        let (id, attempt) = (claim.id, claim.attempt);
        let affected = match s {
            Settlement::Complete(v) => {
                self.db
                    .execute(self.sql.complete.q(), (id, owner, attempt, v.to_string()))
                    .await?
            }
            Settlement::Retry { error, delay } => {
                self.db
                    .execute(
                        self.sql.retry.q(),
                        (id, owner, attempt, error, delay.as_millis() as f64),
                    )
                    .await?
            }
            Settlement::Finish { status, error } => {
                self.db
                    .execute(
                        self.sql.finish.q(),
                        (id, owner, attempt, status_column(status), error),
                    )
                    .await?
            }
        };
        Ok(affected == 1)
    }

    /// Returns tasks whose lease ran out to pending (or dead, or
    /// cancelled); how many.
    async fn sweep(&self) -> Result<u64, DbError> {
        let expired: Vec<(String,)> = self
            .db
            .fetch_all(self.sql.expire.q(), (self.queue.as_str(),))
            .await?;
        for (status,) in &expired {
            if status == "dead" {
                self.counters.dead.fetch_add(1, Ordering::Relaxed);
            }
        }
        Ok(expired.len() as u64)
    }

    async fn count(&self) -> Result<(), DbError> {
        let (ready, scheduled, running): (i64, i64, i64) = self
            .db
            .fetch_one(self.sql.counts.q(), (self.queue.as_str(),))
            .await?;
        self.counters.store_depths(ready, scheduled, running);
        Ok(())
    }

    pub(crate) fn stats(&self) -> DurableStats {
        self.counters.snapshot(self.config.workers)
    }
}

/// A claimed task a worker of this process holds, until it is settled.
struct Held {
    token: Arc<crate::tasks::task::TaskToken>,
    /// The renewal found the lease gone: another process owns the task.
    lost: bool,
    cancel_requested: bool,
}

/// Every task this process's workers hold, whose leases its one renewer
/// renews (one statement per interval, one connection, however many
/// workers). Workers and renewer share one task on the service's arbiter.
type HeldSet = Rc<RefCell<HashMap<i64, Held>>>;

/// One worker: claims and runs tasks until `stop` fires, finishing the
/// batch in hand first.
async fn worker(shared: Shared<DurableEngine>, held: HeldSet, stop: CancellationToken) {
    let mut failures = 0u32;
    loop {
        if stop.is_cancelled() {
            return;
        }
        let wait = match shared.claim(&shared.owner).await {
            Ok(claims) if claims.is_empty() => shared.config.poll_interval,
            Ok(claims) => {
                failures = 0;
                run_batch(&shared, claims, &held).await;
                continue;
            }
            Err(e) => {
                shared.counters.db_errors.fetch_add(1, Ordering::Relaxed);
                tracing::warn!(service = %shared.name, error = %e, "claiming tasks failed");
                failures = failures.saturating_add(1);
                shared
                    .db
                    .config()
                    .reconnect
                    .jittered(failures - 1)
                    .max(shared.config.poll_interval)
            }
        };
        tokio::select! {
            _ = tokio::time::sleep(wait) => {}
            _ = stop.cancelled() => return,
        }
    }
}

/// Runs a claimed batch, its leases renewed by the process's renewer
/// meanwhile.
async fn run_batch(shared: &Shared<DurableEngine>, claims: Vec<Claim>, held: &HeldSet) {
    held.borrow_mut().extend(claims.iter().map(|c| {
        let h = Held {
            token: Arc::default(),
            lost: false,
            cancel_requested: c.cancel_requested,
        };
        (c.id, h)
    }));
    shared
        .counters
        .claimed
        .fetch_add(claims.len() as u64, Ordering::Relaxed);
    for claim in &claims {
        run_one(shared, claim, held).await;
    }
}

/// Renews the leases of every task this process holds, every renewal
/// interval; a lease found gone cancels its task's token (another process
/// runs it now), a cancellation asked for in the table cancels it too.
async fn renewer(shared: Shared<DurableEngine>, held: HeldSet, stop: CancellationToken) {
    let mut tick = tokio::time::interval(shared.config.renew_interval);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    tick.tick().await;
    loop {
        tokio::select! {
            _ = tick.tick() => {}
            _ = stop.cancelled() => {
                if held.borrow().is_empty() {
                    return;
                }
                // Workers finish their batches after a stop: keep renewing.
                tick.tick().await;
            }
        }
        let ids: Vec<i64> = held.borrow().keys().copied().collect();
        if ids.is_empty() {
            if stop.is_cancelled() {
                return;
            }
            continue;
        }
        match shared.renew(&shared.owner, ids.clone()).await {
            Ok(kept) => {
                let kept: HashMap<i64, bool> = kept.into_iter().collect();
                let mut held = held.borrow_mut();
                // Only the tasks renewed: one settled meanwhile is gone
                // from `held`, one claimed meanwhile was not asked about.
                for id in ids {
                    let Some(h) = held.get_mut(&id) else { continue };
                    match kept.get(&id) {
                        None if !h.lost => {
                            h.lost = true;
                            h.token.cancel();
                            shared.counters.leases_lost.fetch_add(1, Ordering::Relaxed);
                            tracing::warn!(service = %shared.name, task = %TaskId(id as u64), "lease lost: another process owns the task now");
                        }
                        Some(true) if !h.cancel_requested => {
                            h.cancel_requested = true;
                            h.token.cancel();
                        }
                        _ => {}
                    }
                }
            }
            Err(e) => {
                shared.counters.db_errors.fetch_add(1, Ordering::Relaxed);
                tracing::warn!(service = %shared.name, error = %e, "renewing leases failed");
            }
        }
    }
}

async fn run_one(shared: &Shared<DurableEngine>, claim: &Claim, held: &HeldSet) {
    let owner = shared.owner.as_str();
    let (token, skip) = {
        let held = held.borrow();
        let h = &held[&claim.id];
        (h.token.clone(), h.lost)
    };
    if skip {
        held.borrow_mut().remove(&claim.id);
        return;
    }
    let counters = &shared.counters;
    counters.busy.fetch_add(1, Ordering::Relaxed);
    let cx = TaskContext {
        id: TaskId(claim.id as u64),
        attempt: claim.attempt.max(1) as u32,
        token: token.clone(),
    };
    let ended = match (
        shared.handlers.get(&claim.handler),
        serde_json::from_str::<serde_json::Value>(&claim.payload),
    ) {
        _ if claim.cancel_requested => Ended::Cancelled,
        (None, _) => Ended::Returned(Err(Box::new(TaskError::UnknownHandler {
            service: shared.name.clone(),
            handler: claim.handler.clone(),
        }))),
        (_, Err(e)) => Ended::Returned(Err(Box::new(crate::tasks::PayloadError {
            handler: claim.handler.clone(),
            problem: e.to_string(),
        }))),
        (Some(f), Ok(payload)) => {
            let work = Work::asynchronous(Arc::new(move |cx| f(cx, payload.clone())));
            let timeout = claim
                .timeout_ms
                .map(|ms| Duration::from_millis(ms.max(1) as u64))
                .or(shared.config.default_timeout);
            run(work, cx, timeout, token, shared.config.cancel_grace, || ()).await
        }
    };
    counters.busy.fetch_sub(1, Ordering::Relaxed);
    // Out of the renewed set before the write-back, so a renewal racing
    // the write-back does not take a settled task for a lost lease.
    let (lost, cancel_requested) = match held.borrow_mut().remove(&claim.id) {
        Some(h) => (h.lost, h.cancel_requested || claim.cancel_requested),
        None => (true, true),
    };
    if lost {
        // Another worker has the task; its settlement is the one that counts.
        return;
    }
    let backoff = claim
        .backoff
        .as_deref()
        .and_then(|b| serde_json::from_str::<Backoff>(b).ok())
        .unwrap_or(shared.config.backoff);
    let settlement = decide(
        ended,
        claim.attempt.max(1) as u32,
        claim.max_attempts.max(1) as u32,
        &backoff,
        cancel_requested,
    );
    let counter = match &settlement {
        Settlement::Complete(_) => &counters.completed,
        Settlement::Retry { .. } => &counters.retries,
        Settlement::Finish { status, .. } => match status {
            TaskStatus::Dead => &counters.dead,
            TaskStatus::TimedOut => &counters.timed_out,
            TaskStatus::Cancelled => &counters.cancelled,
            _ => &counters.failed,
        },
    };
    if let Settlement::Finish { status, error } = &settlement {
        tracing::warn!(service = %shared.name, task = %TaskId(claim.id as u64), handler = %claim.handler, attempt = claim.attempt, %status, %error, "task finished unsuccessfully");
    }
    match shared.settle(owner, claim, settlement).await {
        Ok(true) => {
            counter.fetch_add(1, Ordering::Relaxed);
        }
        Ok(false) => {
            counters.stale.fetch_add(1, Ordering::Relaxed);
            tracing::warn!(service = %shared.name, task = %TaskId(claim.id as u64), "attempt finished after its lease was taken over; not recorded");
        }
        Err(e) => {
            // The lease runs out and the task runs again: at least once.
            counters.db_errors.fetch_add(1, Ordering::Relaxed);
            tracing::warn!(service = %shared.name, task = %TaskId(claim.id as u64), error = %e, "recording the attempt failed; it will run again once its lease expires");
        }
    }
}

/// Sweeps expired leases back to the queue, every renewal interval.
async fn sweeper(shared: Shared<DurableEngine>, stop: CancellationToken) {
    loop {
        tokio::select! {
            _ = tokio::time::sleep(shared.config.renew_interval) => {}
            _ = stop.cancelled() => return,
        }
        match shared.sweep().await {
            Ok(n) => {
                if n > 0 {
                    shared.counters.expired.fetch_add(n, Ordering::Relaxed);
                    tracing::info!(service = %shared.name, tasks = n, "expired leases returned to the queue");
                }
            }
            Err(e) => {
                shared.counters.db_errors.fetch_add(1, Ordering::Relaxed);
                tracing::warn!(service = %shared.name, error = %e, "sweeping expired leases failed");
            }
        }
    }
}

/// Counts the queue every health interval, for the health details.
async fn counter(shared: Shared<DurableEngine>, stop: CancellationToken) {
    loop {
        if let Err(e) = shared.count().await {
            shared.counters.db_errors.fetch_add(1, Ordering::Relaxed);
            shared.counters.set_reachable(false);
            tracing::debug!(service = %shared.name, error = %e, "counting the queue failed");
        } else {
            shared.counters.set_reachable(true);
        }
        tokio::select! {
            _ = tokio::time::sleep(shared.config.health_interval) => {}
            _ = stop.cancelled() => return,
        }
    }
}

impl Engine for DurableEngine {
    fn health_interval(&self) -> Duration {
        self.config.health_interval
    }

    fn initial_status(&self) -> Status {
        Status::Idle
    }

    /// The figures as details; error while the database cannot be
    /// reached, busy while every worker runs a task, idle when nothing is
    /// ready or running.
    fn health(&self) -> Health {
        let stats = self.stats();
        let health = if !stats.reachable {
            Health::new(Status::Error).message("the queue's database cannot be reached")
        } else if stats.workers > 0 && stats.busy_workers >= stats.workers {
            Health::new(Status::Busy)
        } else if stats.busy_workers == 0 && stats.ready == 0 && stats.running == 0 {
            Health::new(Status::Idle)
        } else {
            Health::ok()
        };
        health
            .stats(&stats)
            .detail("queue", self.queue.as_str())
            .detail("table", self.sql.tasks_table.as_str())
    }

    /// Applies the queue's migrations (once per database, whichever
    /// process comes first; the others find them applied).
    async fn start(shared: Shared<Self>, _cx: ServiceContext) -> Result<(), BoxError> {
        let migrations = shared.sql.migrations();
        shared
            .db
            .migrate(&migrations)
            .await
            .map_err(|e| -> BoxError { Box::new(shared.db_error(e)) })?;
        Ok(())
    }

    fn run(
        shared: Shared<Self>,
        _cx: ServiceContext,
    ) -> impl Future<Output = Result<(), BoxError>> + 'static {
        let stop = CancellationToken::new();
        *shared.stop.lock() = stop.clone();
        async move {
            let _stop = stop.clone().drop_guard();
            let held = HeldSet::default();
            let workers = (0..shared.config.workers)
                .map(|_| worker(shared.clone(), held.clone(), stop.clone()))
                .collect::<Vec<_>>();
            futures_util::future::join4(
                futures_util::future::join_all(workers),
                renewer(shared.clone(), held.clone(), stop.clone()),
                sweeper(shared.clone(), stop.clone()),
                counter(shared.clone(), stop.clone()),
            )
            .await;
            Ok(())
        }
    }

    /// Lets the workers finish the batch in hand, claiming nothing more
    /// (bounded by the child's shutdown timeout; what is cut short runs
    /// again once its lease expires).
    fn drain(shared: Shared<Self>) -> impl Future<Output = ()> + 'static {
        shared.stop.lock().cancel();
        std::future::ready(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn err(m: &str) -> Ended {
        Ended::Returned(Err(m.into()))
    }

    #[test]
    fn errors_retry_until_the_last_attempt_then_the_task_is_dead() {
        let b = Backoff::exponential(Duration::from_secs(1), Duration::from_secs(8));
        assert_eq!(
            decide(err("x"), 1, 3, &b, false),
            Settlement::Retry {
                error: "x".into(),
                delay: Duration::from_secs(1)
            }
        );
        assert_eq!(
            decide(err("x"), 2, 3, &b, false),
            Settlement::Retry {
                error: "x".into(),
                delay: Duration::from_secs(2)
            }
        );
        assert_eq!(
            decide(err("x"), 3, 3, &b, false),
            Settlement::Finish {
                status: TaskStatus::Dead,
                error: "x".into()
            }
        );
    }

    #[test]
    fn cancellation_panics_and_payloads_are_final() {
        let b = Backoff::none();
        let status = |s: Settlement| match s {
            Settlement::Finish { status, .. } => status,
            other => panic!("{other:?}"),
        };
        assert_eq!(
            status(decide(err("x"), 1, 3, &b, true)),
            TaskStatus::Cancelled
        );
        assert_eq!(
            status(decide(Ended::Panicked("p".into()), 1, 3, &b, false)),
            TaskStatus::Failed
        );
        let payload = Ended::Returned(Err(Box::new(crate::tasks::PayloadError {
            handler: "h".into(),
            problem: "p".into(),
        })));
        assert_eq!(status(decide(payload, 1, 3, &b, false)), TaskStatus::Failed);
        assert_eq!(
            decide(Ended::Returned(Ok(serde_json::json!(1))), 1, 1, &b, false),
            Settlement::Complete(serde_json::json!(1))
        );
    }

    #[test]
    fn statuses_round_trip_through_their_column() {
        for s in [
            TaskStatus::Pending,
            TaskStatus::Running,
            TaskStatus::Completed,
            TaskStatus::Failed,
            TaskStatus::Cancelled,
            TaskStatus::TimedOut,
            TaskStatus::Dead,
        ] {
            assert_eq!(parse_status(status_column(s)), s);
        }
    }
}
