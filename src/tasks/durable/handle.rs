//! [`DurableTasks`], the handle to a task queue kept in PostgreSQL.

use super::config::DurableConfig;
use super::engine::{parse_status, status_column, DurableEngine};
use super::stats::DurableStats;
use crate::db::PgDb;
use crate::kit::{self, ConfigError, Phase, Shared};
use crate::supervisor::ChildSpec;
use crate::tasks::handle::to_payload;
use crate::tasks::{
    Handlers, Priority, TaskError, TaskFilter, TaskId, TaskInfo, TaskOptions, TaskQueue,
};
use serde::Serialize;
use std::fmt;
use std::future::Future;
use std::time::{Duration, UNIX_EPOCH};
use tokio::time::Instant;

/// A handle to a durable task service: cheap to clone, valid across
/// restarts of the service's actor. Every operation is one statement on
/// the database service's pool, run on the caller's task.
///
/// Also usable through [`TaskQueue`], like the in-memory
/// [`Tasks`](crate::tasks::Tasks).
#[derive(Clone)]
pub struct DurableTasks {
    pub(crate) shared: Shared<DurableEngine>,
}

impl fmt::Debug for DurableTasks {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("DurableTasks")
            .field("name", &self.shared.name)
            .field("queue", &self.shared.queue)
            .field("phase", &self.shared.phase())
            .finish()
    }
}

type InfoRow = (
    i64,
    String,
    String,
    i16,
    i32,
    Option<String>,
    Option<String>,
    Option<String>,
    f64,
    Option<f64>,
);

fn priority_column(p: Priority) -> i16 {
    match p {
        Priority::High => 0,
        Priority::Normal => 1,
        Priority::Low => 2,
    }
}

fn ago(seconds: f64) -> Instant {
    let now = Instant::now();
    Duration::try_from_secs_f64(seconds.max(0.0))
        .ok()
        .and_then(|d| now.checked_sub(d))
        .unwrap_or(now)
}

fn info(r: InfoRow) -> TaskInfo {
    TaskInfo {
        id: TaskId(r.0 as u64),
        name: r.1,
        status: parse_status(&r.2),
        priority: match r.3 {
            0 => Priority::High,
            2 => Priority::Low,
            _ => Priority::Normal,
        },
        attempts: r.4.max(0) as u32,
        result: r.5.and_then(|v| serde_json::from_str(&v).ok()),
        error: r.6,
        unique_key: r.7,
        submitted_at: ago(r.8),
        finished_at: r.9.map(ago),
    }
}

impl DurableTasks {
    /// A durable task service named `name` on the PostgreSQL database
    /// service `db`: the child spec to put in a supervision tree after the
    /// database's own spec, and the handle. The configuration is checked
    /// here; the queue's tables are made (by migrations) when the service
    /// starts.
    ///
    /// ```
    /// use servitor::db::{Db, DbConfig, Postgres};
    /// use servitor::tasks::durable::{DurableConfig, DurableTasks};
    ///
    /// let (_db_spec, db) = Db::<Postgres>::service("db", DbConfig::url("postgres://app@127.0.0.1/app")).unwrap();
    /// let (spec, tasks) = DurableTasks::service("jobs", DurableConfig::default(), db.clone()).unwrap();
    /// assert_eq!(spec.id(), "jobs");
    /// assert_eq!(tasks.queue(), "jobs");
    ///
    /// let bad = DurableTasks::service("jobs", DurableConfig { claim_batch: 0, ..DurableConfig::default() }, db);
    /// assert_eq!(bad.unwrap_err().field_name(), Some("claim_batch"));
    /// ```
    pub fn service(
        name: impl Into<String>,
        config: DurableConfig,
        db: PgDb,
    ) -> Result<(ChildSpec, DurableTasks), ConfigError> {
        let (spec, shared) = kit::service(name, |name| {
            config.validate(name)?;
            // A worker waiting for a connection must never hold up the
            // renewer: a starved renewal loses leases of running tasks.
            let connections = db.config().max_connections as usize;
            if config.workers > 0 && config.workers + 3 > connections {
                return Err(ConfigError::field(
                    name,
                    "workers",
                    format!(
                        "needs 3 more connections than workers (the renewer, the sweep, the count), \
                         and the database service `{}` allows {connections}",
                        db.name()
                    ),
                ));
            }
            Ok(DurableEngine::new(name, config, db))
        })?;
        Ok((spec, DurableTasks { shared }))
    }

    /// The service's name.
    pub fn name(&self) -> &str {
        &self.shared.name
    }

    /// The queue's name (the service's name unless configured).
    pub fn queue(&self) -> &str {
        &self.shared.queue
    }

    /// The configuration it was built with.
    pub fn config(&self) -> &DurableConfig {
        &self.shared.config
    }

    /// The table the tasks are kept in.
    pub fn table(&self) -> &str {
        &self.shared.sql.tasks_table
    }

    /// Whether the service is supervised and started.
    pub fn is_running(&self) -> bool {
        self.shared.is_running()
    }

    /// The handlers this process's workers run tasks with. Register them
    /// before the service starts, so no task is taken before its handler is
    /// known (a task whose handler is missing fails that attempt).
    pub fn handlers(&self) -> &Handlers {
        &self.shared.handlers
    }

    /// The engine, if the data path is open: started at least once (the
    /// tables exist), not gone for good.
    fn engine(&self) -> Result<&DurableEngine, TaskError> {
        let engine = self.shared.check()?;
        if self.shared.phase() == Phase::Idle {
            return Err(TaskError::NotStarted {
                service: self.shared.name.clone(),
            });
        }
        Ok(engine)
    }

    /// Queues a task for `handler` with `payload` and default options;
    /// any process of the queue with that handler may run it.
    pub async fn enqueue<P: Serialize + ?Sized>(
        &self,
        handler: &str,
        payload: &P,
    ) -> Result<TaskId, TaskError> {
        self.enqueue_with(handler, payload, TaskOptions::default())
            .await
    }

    /// [`enqueue`](Self::enqueue) with options: priority, start time,
    /// timeout per attempt, retries (the policy's attempts and backoff are
    /// stored with the task; its `retry_if` predicate cannot be, and is not
    /// used here), and a unique key. [`OnFull`](crate::tasks::OnFull) does
    /// not apply: the table has no capacity.
    ///
    /// Unlike the in-memory service, a handler need not be registered in
    /// the enqueuing process: workers elsewhere may have it.
    pub async fn enqueue_with<P: Serialize + ?Sized>(
        &self,
        handler: &str,
        payload: &P,
        options: TaskOptions,
    ) -> Result<TaskId, TaskError> {
        let payload = to_payload(handler, payload)?.to_string();
        let engine = self.engine()?;
        let config = &engine.config;
        let run_at = options.run_at.map(|t| {
            t.duration_since(UNIX_EPOCH)
                .map_or(0.0, |d| d.as_secs_f64())
        });
        let (max_attempts, backoff) = match &options.retry {
            Some(p) => (p.max_attempts(), serde_json::to_string(p.backoff()).ok()),
            None => (config.max_attempts, None),
        };
        let timeout = options
            .timeout
            .map(|t| t.as_millis().min(i64::MAX as u128) as i64);
        let queue = engine.queue.as_str();
        let priority = priority_column(options.priority);
        let max_attempts = max_attempts.min(i32::MAX as u32) as i32;
        let db_err = |e| engine.db_error(e);
        let id: i64 = match &options.unique_key {
            None => engine
                .db
                .scalar(
                    engine.sql.enqueue.q(),
                    (
                        queue,
                        handler,
                        payload,
                        priority,
                        run_at,
                        max_attempts,
                        backoff,
                        timeout,
                    ),
                )
                .await
                .map_err(db_err)?,
            Some(key) => {
                let inserted: Option<(i64,)> = engine
                    .db
                    .fetch_optional(
                        engine.sql.enqueue_unique.q(),
                        (
                            queue,
                            handler,
                            payload,
                            priority,
                            run_at,
                            max_attempts,
                            backoff,
                            timeout,
                            key.as_str(),
                        ),
                    )
                    .await
                    .map_err(db_err)?;
                match inserted {
                    Some((id,)) => id,
                    None => engine
                        .db
                        .scalar(engine.sql.find_unique.q(), (queue, key.as_str()))
                        .await
                        .map_err(db_err)?,
                }
            }
        };
        Ok(TaskId(id as u64))
    }

    /// A snapshot of task `id`; [`TaskError::NotFound`] if the queue has no
    /// such task. Its times are read from the database's clock.
    pub async fn get(&self, id: TaskId) -> Result<TaskInfo, TaskError> {
        let engine = self.engine()?;
        let row: Option<InfoRow> = engine
            .db
            .fetch_optional(engine.sql.get.q(), (engine.queue.as_str(), id.0 as i64))
            .await
            .map_err(|e| engine.db_error(e))?;
        row.map(info).ok_or(TaskError::NotFound { id })
    }

    /// Tasks of the queue matching `filter`, newest first.
    pub async fn list(&self, filter: &TaskFilter) -> Result<Vec<TaskInfo>, TaskError> {
        let engine = self.engine()?;
        let rows: Vec<InfoRow> = engine
            .db
            .fetch_all(
                engine.sql.list.q(),
                (
                    engine.queue.as_str(),
                    filter.status.map(status_column),
                    filter.name.clone(),
                    filter.limit.min(i64::MAX as usize) as i64,
                ),
            )
            .await
            .map_err(|e| engine.db_error(e))?;
        Ok(rows.into_iter().map(info).collect())
    }

    /// Waits until task `id` is final and returns it, reading it again at
    /// growing intervals up to the poll interval;
    /// [`TaskError::WaitTimedOut`] after `timeout`.
    pub async fn wait(&self, id: TaskId, timeout: Duration) -> Result<TaskInfo, TaskError> {
        let deadline = crate::clock::after(Instant::now(), timeout);
        let mut pause = Duration::from_millis(2);
        loop {
            let task = self.get(id).await?;
            if task.status.is_finished() {
                return Ok(task);
            }
            if Instant::now() >= deadline {
                return Err(TaskError::WaitTimedOut {
                    id,
                    status: task.status,
                    after: timeout,
                });
            }
            tokio::time::sleep_until(deadline.min(Instant::now() + pause)).await;
            pause = (pause * 2).min(self.shared.config.poll_interval);
        }
    }

    /// Cancels task `id`: a pending one at once; a running one is asked to
    /// stop (its worker sees the request at its next lease renewal and
    /// cancels the task's token). False if it had already finished.
    pub async fn cancel(&self, id: TaskId) -> Result<bool, TaskError> {
        let engine = self.engine()?;
        let params = (engine.queue.as_str(), id.0 as i64);
        let db_err = |e| engine.db_error(e);
        if engine
            .db
            .execute(engine.sql.cancel_pending.q(), params)
            .await
            .map_err(db_err)?
            == 1
        {
            return Ok(true);
        }
        if engine
            .db
            .execute(engine.sql.cancel_running.q(), params)
            .await
            .map_err(db_err)?
            == 1
        {
            return Ok(true);
        }
        // Finished, or not there at all.
        self.get(id).await.map(|_| false)
    }

    /// This process's figures and the queue's last count (also the
    /// service's health details).
    pub fn stats(&self) -> DurableStats {
        self.shared.stats()
    }
}

impl TaskQueue for DurableTasks {
    fn handlers(&self) -> &Handlers {
        DurableTasks::handlers(self)
    }

    fn enqueue_with<P: Serialize + ?Sized>(
        &self,
        handler: &str,
        payload: &P,
        options: TaskOptions,
    ) -> impl Future<Output = Result<TaskId, TaskError>> {
        DurableTasks::enqueue_with(self, handler, payload, options)
    }

    fn task(&self, id: TaskId) -> impl Future<Output = Result<TaskInfo, TaskError>> {
        self.get(id)
    }

    fn tasks(&self, filter: &TaskFilter) -> impl Future<Output = Result<Vec<TaskInfo>, TaskError>> {
        self.list(filter)
    }

    fn wait(
        &self,
        id: TaskId,
        timeout: Duration,
    ) -> impl Future<Output = Result<TaskInfo, TaskError>> {
        DurableTasks::wait(self, id, timeout)
    }

    fn cancel(&self, id: TaskId) -> impl Future<Output = Result<bool, TaskError>> {
        DurableTasks::cancel(self, id)
    }
}
