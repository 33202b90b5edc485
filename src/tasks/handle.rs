//! [`Tasks`], the handle application code submits and inspects tasks with.

use super::config::TasksConfig;
use super::engine::{TaskEngine, Work};
use super::error::TaskError;
use super::handler::Handlers;
use super::task::{TaskContext, TaskFilter, TaskId, TaskInfo, TaskOptions, TaskStats};
use crate::exit::BoxError;
use crate::kit::{self, ConfigError, Shared};
use crate::supervisor::ChildSpec;
use futures_util::FutureExt;
use serde::Serialize;
use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

/// A handle to a task service: cheap to clone, valid across restarts of
/// the service's actor, usable from any thread.
///
/// Submitting, inspecting, waiting and cancelling work on the shared queue
/// directly; they never go through the actor's mailbox.
#[derive(Clone)]
pub struct Tasks {
    pub(crate) shared: Shared<TaskEngine>,
}

impl std::fmt::Debug for Tasks {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Tasks")
            .field("name", &self.shared.name)
            .field("config", &self.shared.config)
            .finish()
    }
}

/// A payload as JSON, or the error that says why it is not.
pub(crate) fn to_payload<P: Serialize + ?Sized>(
    handler: &str,
    payload: &P,
) -> Result<serde_json::Value, TaskError> {
    serde_json::to_value(payload).map_err(|e| TaskError::Payload {
        handler: handler.to_string(),
        problem: e.to_string(),
    })
}

fn to_outcome<T: Serialize, E: Into<BoxError>>(r: Result<T, E>) -> super::engine::Outcome {
    r.map_err(Into::into)
        .and_then(|v| serde_json::to_value(v).map_err(Into::into))
}

impl Tasks {
    /// A task service named `name`: the child spec to put in a supervision
    /// tree and the handle. Tasks may be submitted at once; they run once
    /// the service has started.
    pub fn service(
        name: impl Into<String>,
        config: TasksConfig,
    ) -> Result<(ChildSpec, Tasks), ConfigError> {
        let (spec, shared) = kit::service(name, |name| {
            config.validate(name)?;
            Ok(TaskEngine::new(name.to_string(), config))
        })?;
        Ok((spec, Tasks { shared }))
    }

    /// The service's name.
    pub fn name(&self) -> &str {
        &self.shared.name
    }

    /// The configuration it was built with.
    pub fn config(&self) -> &TasksConfig {
        &self.shared.config
    }

    /// Whether the service is supervised and started (tasks submitted
    /// before it starts wait in the queue).
    pub fn is_running(&self) -> bool {
        self.shared.is_running()
    }

    /// True once the service is gone for good and submits fail.
    pub fn is_stopped(&self) -> bool {
        self.shared.is_stopped()
    }

    /// Resolves once the service is gone for good.
    pub async fn stopped(&self) {
        self.shared.stopped().await
    }

    /// Submits an async task with default options. `task` is called once per
    /// attempt with the task's [`TaskContext`]; its `Ok` value is kept as
    /// JSON in [`TaskInfo::result`], its error's message in
    /// [`TaskInfo::error`]. Waits while the queue is full.
    pub async fn submit<F, Fut, T, E>(
        &self,
        name: impl Into<String>,
        task: F,
    ) -> Result<TaskId, TaskError>
    where
        F: Fn(TaskContext) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = Result<T, E>> + 'static,
        T: Serialize + 'static,
        E: Into<BoxError> + 'static,
    {
        // Not through `submit_with`: one future less to build per submit.
        self.insert(name.into(), TaskOptions::default(), asynchronous(task))
            .await
    }

    /// [`submit`](Self::submit) with options: priority, timeout, retry,
    /// unique key, and what to do when the queue is full.
    pub async fn submit_with<F, Fut, T, E>(
        &self,
        name: impl Into<String>,
        options: TaskOptions,
        task: F,
    ) -> Result<TaskId, TaskError>
    where
        F: Fn(TaskContext) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = Result<T, E>> + 'static,
        T: Serialize + 'static,
        E: Into<BoxError> + 'static,
    {
        self.insert(name.into(), options, asynchronous(task)).await
    }

    /// Submits a task: at once if there is room. The future that waits for
    /// room is boxed and made only when the queue is full, so the future of
    /// a submit that does not wait stays small.
    async fn insert(
        &self,
        name: String,
        options: TaskOptions,
        work: Work,
    ) -> Result<TaskId, TaskError> {
        let waiting = match self.insert_now(name, options, work) {
            Ok(id) => return Ok(id),
            Err(InsertError::Failed(e)) => return Err(e),
            Err(InsertError::Full(waiting)) => waiting,
        };
        waiting.await
    }

    fn insert_now(
        &self,
        name: String,
        options: TaskOptions,
        work: Work,
    ) -> Result<TaskId, InsertError<'_>> {
        // Read once: whether the task is queued now and whether a timer
        // queues it later must agree.
        let delay = options.wait_before_start();
        match self
            .shared
            .submit_now(name, &options, work, delay.is_some())
        {
            Ok(Ok(id)) => {
                self.start_later(id, delay);
                Ok(id)
            }
            Ok(Err(pending)) => Err(InsertError::Full(Box::pin(async move {
                let id = self.shared.submit_when_room(&options, pending).await?;
                self.start_later(id, delay);
                Ok(id)
            }))),
            Err(e) => Err(InsertError::Failed(e)),
        }
    }

    /// A task with a start time is queued by a timer.
    fn start_later(&self, id: TaskId, delay: Option<Duration>) {
        if let Some(delay) = delay {
            let shared = self.shared.clone();
            tokio::spawn(async move {
                tokio::time::sleep(delay).await;
                shared.requeue(id.0);
            });
        }
    }

    /// The named handlers of this service: register task code under a name
    /// here, then [`enqueue`](Self::enqueue) tasks by that name with a serde
    /// payload. See [`Handlers`].
    ///
    /// ```
    /// use std::time::Duration;
    /// use servitor::tasks::{TaskContext, Tasks, TasksConfig};
    /// use servitor::testing::TestTree;
    ///
    /// #[derive(serde::Serialize, serde::Deserialize)]
    /// struct Resize { width: u32 }
    ///
    /// # #[actix_rt::main] async fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// let (spec, tasks) = Tasks::service("jobs", TasksConfig::default())?;
    /// tasks.handlers().register("resize", |_cx: TaskContext, r: Resize| async move {
    ///     Ok::<_, std::io::Error>(r.width / 2)
    /// });
    /// let tree = TestTree::start(spec).await?;
    /// let id = tasks.enqueue("resize", &Resize { width: 640 }).await?;
    /// let done = tasks.wait(id, Duration::from_secs(5)).await?;
    /// assert_eq!(done.result, Some(serde_json::json!(320)));
    /// # tree.shutdown().await; Ok(()) }
    /// ```
    pub fn handlers(&self) -> &Handlers {
        &self.shared.handlers
    }

    /// Submits a task by handler name with default options: `payload` is
    /// serialized to JSON now and handed to the handler registered under
    /// `handler` on every attempt. [`TaskError::UnknownHandler`] if no
    /// handler has that name; [`TaskError::Payload`] if the payload does not
    /// serialize.
    pub async fn enqueue<P: Serialize + ?Sized>(
        &self,
        handler: &str,
        payload: &P,
    ) -> Result<TaskId, TaskError> {
        self.enqueue_with(handler, payload, TaskOptions::default())
            .await
    }

    /// [`enqueue`](Self::enqueue) with options.
    pub async fn enqueue_with<P: Serialize + ?Sized>(
        &self,
        handler: &str,
        payload: &P,
        options: TaskOptions,
    ) -> Result<TaskId, TaskError> {
        let payload = to_payload(handler, payload)?;
        self.enqueue_json(handler, payload, options).await
    }

    pub(crate) async fn enqueue_json(
        &self,
        handler: &str,
        payload: serde_json::Value,
        options: TaskOptions,
    ) -> Result<TaskId, TaskError> {
        let f = self
            .shared
            .handlers
            .get(handler)
            .ok_or_else(|| TaskError::UnknownHandler {
                service: self.shared.name.clone(),
                handler: handler.to_string(),
            })?;
        let work = Work::asynchronous(Arc::new(move |cx| f(cx, payload.clone())));
        self.insert(handler.to_string(), options, work).await
    }

    /// Submits blocking (CPU-bound or synchronous I/O) work with default
    /// options. It runs on tokio's blocking thread pool, so it never stalls
    /// the arbiter the workers and other services run on. It cannot be
    /// aborted: on cancellation or timeout the task is settled and its
    /// thread is left to finish; check [`TaskContext::is_cancelled`] to
    /// stop early.
    pub async fn submit_blocking<F, T, E>(
        &self,
        name: impl Into<String>,
        task: F,
    ) -> Result<TaskId, TaskError>
    where
        F: Fn(TaskContext) -> Result<T, E> + Send + Sync + 'static,
        T: Serialize + 'static,
        E: Into<BoxError> + 'static,
    {
        self.insert(name.into(), TaskOptions::default(), blocking(task))
            .await
    }

    /// [`submit_blocking`](Self::submit_blocking) with options.
    pub async fn submit_blocking_with<F, T, E>(
        &self,
        name: impl Into<String>,
        options: TaskOptions,
        task: F,
    ) -> Result<TaskId, TaskError>
    where
        F: Fn(TaskContext) -> Result<T, E> + Send + Sync + 'static,
        T: Serialize + 'static,
        E: Into<BoxError> + 'static,
    {
        self.insert(name.into(), options, blocking(task)).await
    }

    /// A snapshot of task `id`; [`TaskError::NotFound`] if it is unknown
    /// (never existed, or finished and was forgotten).
    pub fn get(&self, id: TaskId) -> Result<TaskInfo, TaskError> {
        self.shared.get(id)
    }

    /// Known tasks matching `filter`, newest first.
    pub fn list(&self, filter: &TaskFilter) -> Vec<TaskInfo> {
        self.shared.list(filter)
    }

    /// Waits until task `id` is final and returns it; woken by its
    /// completion, not by polling. [`TaskError::WaitTimedOut`] after
    /// `timeout` (the task keeps running).
    pub async fn wait(&self, id: TaskId, timeout: Duration) -> Result<TaskInfo, TaskError> {
        if let Some(info) = self.shared.finished(id)? {
            return Ok(info);
        }
        // Boxed, as a submit that waits for room: most waits find the task
        // finished, and their future stays small.
        Box::pin(self.shared.wait(id, timeout)).await
    }

    /// Cancels task `id`. A pending task (queued or waiting for a retry) is
    /// cancelled at once. A running one has its cancellation token
    /// cancelled and is aborted after
    /// [`cancel_grace`](TasksConfig::cancel_grace) if it has not stopped;
    /// either way it ends [`Cancelled`](super::TaskStatus::Cancelled).
    /// Returns false if it had already finished.
    pub fn cancel(&self, id: TaskId) -> Result<bool, TaskError> {
        self.shared.cancel(id)
    }

    /// Counters and gauges (also the service's health details).
    pub fn stats(&self) -> TaskStats {
        self.shared.stats()
    }
}

/// The engine's form of an async task's code.
fn asynchronous<F, Fut, T, E>(task: F) -> Work
where
    F: Fn(TaskContext) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = Result<T, E>> + 'static,
    T: Serialize + 'static,
    E: Into<BoxError> + 'static,
{
    Work::asynchronous(Arc::new(move |cx| task(cx).map(to_outcome).boxed_local()))
}

/// The engine's form of a blocking task's code.
fn blocking<F, T, E>(task: F) -> Work
where
    F: Fn(TaskContext) -> Result<T, E> + Send + Sync + 'static,
    T: Serialize + 'static,
    E: Into<BoxError> + 'static,
{
    Work::blocking(Arc::new(move |cx| to_outcome(task(cx))))
}

/// A submit that did not go through at once.
enum InsertError<'a> {
    Failed(TaskError),
    /// The queue is full: this waits for room, then submits.
    Full(futures_util::future::BoxFuture<'a, Result<TaskId, TaskError>>),
}
