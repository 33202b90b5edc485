//! Shared set-up of the task-worker suites.

use servitor::tasks::{TaskId, TaskStatus, Tasks, TasksConfig};
use servitor::testing::TestTree;
use std::convert::Infallible;
use std::time::Duration;
use tokio::sync::watch;

/// Runs a task service named `jobs` under a test supervisor, its workers on
/// the service's own arbiter: the suites drive time with a paused clock,
/// which only that thread's runtime sees. (The placement suite runs workers
/// on the pool.)
pub async fn start(config: TasksConfig) -> (TestTree, Tasks) {
    let config = TasksConfig {
        worker_placement: servitor::Placement::Inherit,
        ..config
    };
    let (spec, tasks) = Tasks::service("jobs", config).unwrap();
    (TestTree::start(spec).await.unwrap(), tasks)
}

/// Submits a task named `name` that runs until `gate` opens (is set true).
pub async fn held(tasks: &Tasks, name: &str, gate: watch::Receiver<bool>) -> TaskId {
    tasks
        .submit(name, move |_| {
            let mut gate = gate.clone();
            async move {
                let _ = gate.wait_for(|open| *open).await;
                Ok::<_, Infallible>(())
            }
        })
        .await
        .unwrap()
}

/// Checks that the [`held`] task `id` is still running at its gate, opens
/// the gate, and checks that it then completes.
pub async fn release(tasks: &Tasks, id: TaskId, open: &watch::Sender<bool>) {
    assert_eq!(tasks.get(id).unwrap().status, TaskStatus::Running);
    open.send(true).unwrap();
    let done = tasks.wait(id, Duration::from_secs(60)).await.unwrap();
    assert_eq!(done.status, TaskStatus::Completed);
}
