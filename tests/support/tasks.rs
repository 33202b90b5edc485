//! Shared set-up of the task-worker suites.

use servitor::tasks::{TaskId, Tasks, TasksConfig};
use servitor::testing::TestTree;
use std::convert::Infallible;
use tokio::sync::watch;

/// Runs a task service named `jobs` under a test supervisor.
pub async fn start(config: TasksConfig) -> (TestTree, Tasks) {
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
