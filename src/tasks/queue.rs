//! [`TaskQueue`]: the task service's API, whatever stores the tasks.

use super::error::TaskError;
use super::handler::Handlers;
use super::task::{TaskFilter, TaskId, TaskInfo, TaskOptions};
use serde::Serialize;
use std::future::Future;
use std::time::Duration;

/// What a task service offers, whatever stores its tasks — in
/// this process's memory ([`Tasks`](super::Tasks)) or in PostgreSQL, shared
/// by many processes (`DurableTasks`, feature `durable`).
///
/// Code written against the trait runs on either: register handlers by
/// name, enqueue tasks as a name and a serde payload, read them back, wait
/// for them, cancel them.
///
/// ```
/// use std::time::Duration;
/// use servitor::tasks::{TaskContext, TaskQueue, TaskStatus, Tasks, TasksConfig};
/// use servitor::testing::TestTree;
///
/// /// Works with the in-memory service and with a durable one alike.
/// async fn welcome(queue: &impl TaskQueue, user: &str) -> Result<String, servitor::tasks::TaskError> {
///     let id = queue.enqueue("welcome", &user).await?;
///     let done = queue.wait(id, Duration::from_secs(5)).await?;
///     assert_eq!(done.status, TaskStatus::Completed);
///     Ok(done.result.unwrap().as_str().unwrap().to_string())
/// }
///
/// # #[actix_rt::main] async fn main() -> Result<(), Box<dyn std::error::Error>> {
/// let (spec, tasks) = Tasks::service("jobs", TasksConfig::default())?;
/// tasks.handlers().register("welcome", |_cx: TaskContext, user: String| async move {
///     Ok::<_, std::io::Error>(format!("hello, {user}"))
/// });
/// let tree = TestTree::start(spec).await?;
/// assert_eq!(welcome(&tasks, "ada").await?, "hello, ada");
/// # tree.shutdown().await; Ok(()) }
/// ```
pub trait TaskQueue {
    /// The handlers tasks are run with, by name.
    fn handlers(&self) -> &Handlers;

    /// Queues a task for the handler named `handler` with `payload`
    /// (serialized to JSON now) and `options`.
    fn enqueue_with<P: Serialize + ?Sized>(
        &self,
        handler: &str,
        payload: &P,
        options: TaskOptions,
    ) -> impl Future<Output = Result<TaskId, TaskError>>;

    /// Queues a task with default options.
    fn enqueue<P: Serialize + ?Sized>(
        &self,
        handler: &str,
        payload: &P,
    ) -> impl Future<Output = Result<TaskId, TaskError>> {
        self.enqueue_with(handler, payload, TaskOptions::default())
    }

    /// A snapshot of task `id`; [`TaskError::NotFound`] if it is unknown.
    fn task(&self, id: TaskId) -> impl Future<Output = Result<TaskInfo, TaskError>>;

    /// Known tasks matching `filter`, newest first.
    fn tasks(&self, filter: &TaskFilter) -> impl Future<Output = Result<Vec<TaskInfo>, TaskError>>;

    /// Waits until task `id` is final and returns it;
    /// [`TaskError::WaitTimedOut`] after `timeout`.
    fn wait(
        &self,
        id: TaskId,
        timeout: Duration,
    ) -> impl Future<Output = Result<TaskInfo, TaskError>>;

    /// Cancels task `id`: a pending one at once, a running one through its
    /// cancellation token. False if it had already finished.
    fn cancel(&self, id: TaskId) -> impl Future<Output = Result<bool, TaskError>>;
}

impl TaskQueue for super::Tasks {
    fn handlers(&self) -> &Handlers {
        super::Tasks::handlers(self)
    }

    fn enqueue_with<P: Serialize + ?Sized>(
        &self,
        handler: &str,
        payload: &P,
        options: TaskOptions,
    ) -> impl Future<Output = Result<TaskId, TaskError>> {
        let payload = super::handle::to_payload(handler, payload);
        async move { self.enqueue_json(handler, payload?, options).await }
    }

    fn task(&self, id: TaskId) -> impl Future<Output = Result<TaskInfo, TaskError>> {
        std::future::ready(self.get(id))
    }

    fn tasks(&self, filter: &TaskFilter) -> impl Future<Output = Result<Vec<TaskInfo>, TaskError>> {
        std::future::ready(Ok(self.list(filter)))
    }

    fn wait(
        &self,
        id: TaskId,
        timeout: Duration,
    ) -> impl Future<Output = Result<TaskInfo, TaskError>> {
        super::Tasks::wait(self, id, timeout)
    }

    fn cancel(&self, id: TaskId) -> impl Future<Output = Result<bool, TaskError>> {
        std::future::ready(super::Tasks::cancel(self, id))
    }
}
