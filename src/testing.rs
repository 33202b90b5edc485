//! A test kit for services: run one service or a small tree under a test
//! supervisor, inject crashes, await statuses and record what happened —
//! without sleeps.
//!
//! ```
//! use std::time::Duration;
//! use actix::prelude::*;
//! use servitor::testing::TestTree;
//! use servitor::{ChildSpec, Service, Status};
//!
//! #[derive(Default)] struct Echo;
//! impl Actor for Echo { type Context = Context<Self>; }
//! impl Service for Echo {}
//!
//! # #[actix_rt::main] async fn main() {
//! let tree = TestTree::start(ChildSpec::service("echo", Echo::default)).await.unwrap();
//! let mut watch = tree.watch("echo");
//! tree.crash("echo", "injected").await.unwrap();
//! watch.wait_for(Status::Error, Duration::from_secs(1)).await.unwrap();
//! watch.wait_for(Status::Ok, Duration::from_secs(1)).await.unwrap();
//! assert_eq!(tree.restarts("echo"), 1);
//! tree.shutdown().await;
//! # }
//! ```

use crate::registry::{StatusChange, StatusWatch, WaitError};
use crate::runtime::{Runtime, RuntimeConfig, RuntimeError, ShutdownReport};
use crate::status::Status;
use crate::supervisor::{ChildSpec, Supervisor, SupervisorBuilder, SupervisorError};
use parking_lot::Mutex;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::Notify;

/// Runs `test` in an actix system on a runtime whose clock is paused from
/// the start: sleeps, timeouts and backoffs take no real time, and each
/// auto-advanced sleep lasts exactly as long as asked. (Calling
/// `tokio::time::pause()` inside `#[actix_rt::test]` pauses a clock that has
/// already run, so every auto-advanced sleep overshoots to the next
/// millisecond.) Needs the `test-util` feature.
///
/// In a test, `#[test] fn ...() { servitor::testing::run_paused(async { ... }) }`:
///
/// ```
/// use std::time::Duration;
/// use tokio::time::Instant;
///
/// servitor::testing::run_paused(async {
///     let start = Instant::now();
///     tokio::time::sleep(Duration::from_millis(250)).await;
///     assert_eq!(start.elapsed(), Duration::from_millis(250));
/// });
/// ```
#[cfg(feature = "test-util")]
#[cfg_attr(docsrs, doc(cfg(feature = "test-util")))]
pub fn run_paused<F: std::future::Future>(test: F) -> F::Output {
    actix_rt::System::with_tokio_rt(|| {
        tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .start_paused(true)
            .build()
            .expect("a current-thread tokio runtime for the test")
    })
    .block_on(test)
}

/// The name of the supervisor [`TestTree::start`] puts a single service under.
pub const TEST_SUPERVISOR: &str = "test";

/// A runtime made for tests.
#[derive(Debug)]
pub struct TestTree {
    runtime: Runtime,
}

impl TestTree {
    /// Runs one child under a one-for-one supervisor named `test` that allows
    /// 1,000 restarts per second (so crashes never escalate unless the test
    /// builds its own tree).
    pub async fn start(child: impl Into<ChildSpec>) -> Result<TestTree, RuntimeError> {
        let tree = Supervisor::builder(TEST_SUPERVISOR)
            .intensity(1_000, Duration::from_secs(1))
            .child(child);
        Self::start_tree(tree).await
    }

    /// Runs a whole tree. An invalid tree fails the test with its build error.
    pub async fn start_tree(tree: SupervisorBuilder) -> Result<TestTree, RuntimeError> {
        let spec = tree
            .build()
            .unwrap_or_else(|e| panic!("invalid test tree: {e}"));
        Self::start_spec(spec, Self::config()).await
    }

    /// The runtime settings of [`start`](Self::start) and
    /// [`start_tree`](Self::start_tree): the defaults, but signals are left
    /// to the test harness.
    pub fn config() -> RuntimeConfig {
        RuntimeConfig {
            handle_signals: false,
            ..RuntimeConfig::default()
        }
    }

    /// Runs a built tree with the given runtime settings.
    pub async fn start_spec(
        spec: crate::SupervisorSpec,
        config: RuntimeConfig,
    ) -> Result<TestTree, RuntimeError> {
        Ok(TestTree {
            runtime: Runtime::start_with(spec, config).await?,
        })
    }

    /// The runtime under test.
    pub fn runtime(&self) -> &Runtime {
        &self.runtime
    }

    /// Ends the current incarnation of `name` as a failure with `reason`,
    /// as a crash would.
    pub async fn crash(&self, name: &str, reason: &str) -> Result<(), SupervisorError> {
        let parent = self.parent_of(name)?;
        self.runtime
            .supervisor(&parent)
            .map_err(|_| SupervisorError::NoSuchChild(name.to_string()))?
            .crash_child(name, reason)
            .await
    }

    /// Watches the status transitions of `name` (current status first).
    /// Panics if no such service is registered.
    pub fn watch(&self, name: &str) -> StatusWatch {
        self.runtime
            .registry()
            .watch(name)
            .unwrap_or_else(|e| panic!("cannot watch `{name}`: {e}"))
    }

    /// Waits until `name` reports `status`, at most `timeout`.
    pub async fn wait_for_status(
        &self,
        name: &str,
        status: Status,
        timeout: Duration,
    ) -> Result<StatusChange, WaitError> {
        self.watch(name).wait_for(status, timeout).await
    }

    /// The current status of `name`.
    pub fn status(&self, name: &str) -> Option<Status> {
        self.runtime.registry().status(name)
    }

    /// How often `name` has been restarted.
    pub fn restarts(&self, name: &str) -> u32 {
        self.runtime
            .registry()
            .get(name)
            .map(|r| r.restarts)
            .unwrap_or(0)
    }

    /// Shuts the runtime down; panics if the root had failed.
    pub async fn shutdown(self) -> ShutdownReport {
        self.runtime
            .shutdown()
            .await
            .unwrap_or_else(|e| panic!("shutdown failed: {e}"))
    }

    fn parent_of(&self, name: &str) -> Result<String, SupervisorError> {
        let report = self
            .runtime
            .registry()
            .get(name)
            .ok_or_else(|| SupervisorError::NoSuchChild(name.to_string()))?;
        let mut parts: Vec<&str> = report.path.split('/').collect();
        parts.pop();
        parts
            .pop()
            .map(str::to_string)
            .ok_or_else(|| SupervisorError::NoSuchChild(name.to_string()))
    }
}

/// An append-only log of events that tests can await: services under test
/// record what they do (`"db:start:1"`), tests wait for an entry instead of
/// sleeping and then assert on the exact order.
///
/// ```
/// # #[tokio::main(flavor = "current_thread")] async fn main() {
/// use std::time::Duration;
/// use servitor::testing::Journal;
///
/// let journal = Journal::new();
/// let writer = journal.clone();
/// tokio::spawn(async move { writer.record("a:start"); });
/// journal.wait_for("a:start", Duration::from_secs(1)).await.unwrap();
/// assert_eq!(journal.entries(), ["a:start"]);
/// # }
/// ```
#[derive(Clone, Default)]
pub struct Journal {
    inner: Arc<(Mutex<Vec<String>>, Notify)>,
}

/// An awaited journal entry did not arrive in time.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("no journal entry `{wanted}` within {after:?}; entries: {entries:?}")]
pub struct JournalTimeout {
    /// What was awaited.
    pub wanted: String,
    /// The bound.
    pub after: Duration,
    /// The entries at the time.
    pub entries: Vec<String>,
}

impl Journal {
    /// An empty journal.
    pub fn new() -> Self {
        Self::default()
    }

    /// Appends an entry and wakes waiters.
    pub fn record(&self, entry: impl Into<String>) {
        self.inner.0.lock().push(entry.into());
        self.inner.1.notify_waiters();
    }

    /// Every entry so far, in order.
    pub fn entries(&self) -> Vec<String> {
        self.inner.0.lock().clone()
    }

    /// The entries that start with `prefix`, in order.
    pub fn matching(&self, prefix: &str) -> Vec<String> {
        self.inner
            .0
            .lock()
            .iter()
            .filter(|e| e.starts_with(prefix))
            .cloned()
            .collect()
    }

    /// How many entries equal `entry`.
    pub fn count(&self, entry: &str) -> usize {
        self.inner.0.lock().iter().filter(|e| *e == entry).count()
    }

    /// Waits until an entry equal to `entry` exists.
    pub async fn wait_for(&self, entry: &str, timeout: Duration) -> Result<(), JournalTimeout> {
        self.wait_until(|es| es.iter().any(|e| e == entry), entry, timeout)
            .await
    }

    /// Waits until `pred` holds for the entries.
    pub async fn wait_until(
        &self,
        mut pred: impl FnMut(&[String]) -> bool,
        wanted: &str,
        timeout: Duration,
    ) -> Result<(), JournalTimeout> {
        let waiting = async {
            loop {
                let notified = self.inner.1.notified();
                tokio::pin!(notified);
                notified.as_mut().enable();
                if pred(&self.inner.0.lock()) {
                    return;
                }
                notified.await;
            }
        };
        tokio::time::timeout(timeout, waiting)
            .await
            .map_err(|_| JournalTimeout {
                wanted: wanted.to_string(),
                after: timeout,
                entries: self.entries(),
            })
    }

    /// Empties the journal.
    pub fn clear(&self) {
        self.inner.0.lock().clear();
    }
}

impl std::fmt::Debug for Journal {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_list().entries(self.entries()).finish()
    }
}
