//! The runtime: starts a supervision tree with its registry, hands out
//! handles, and shuts everything down in reverse order within a deadline.
//!
//! ```
//! use actix::prelude::*;
//! use servitor::{ChildSpec, Runtime, Service, Supervisor};
//!
//! #[derive(Default)] struct Ingest;
//! impl Actor for Ingest { type Context = Context<Self>; }
//! impl Service for Ingest {}
//!
//! # #[actix_rt::main] async fn main() -> Result<(), Box<dyn std::error::Error>> {
//! let tree = Supervisor::builder("app")
//!     .child(ChildSpec::service("ingest", Ingest::default))
//!     .build()?;
//! let app = Runtime::start(tree).await?;
//! let ingest = app.service::<Ingest>("ingest")?;
//! assert!(ingest.is_up());
//! println!("{}", app.health().table());
//! app.shutdown().await?;
//! # Ok(()) }
//! ```

use crate::exit::ExitReason;
use crate::handle::{Directory, LookupError, ServiceRef};
use crate::health::{HealthSnapshot, NodeKind};
use crate::registry::{Registry, RegistryConfig, RegistryError};
use crate::supervisor::{
    ExitCell, Incarnation, StartEnv, StartFailure, Starter, Supervisor, SupervisorRef,
    SupervisorSpec, SupervisorStarter,
};
use actix::Actor;
use parking_lot::Mutex;
use serde::{Deserialize, Serialize};
use std::sync::Arc;
use std::time::Duration;

/// The default global shutdown deadline: 30 s.
pub const DEFAULT_SHUTDOWN_DEADLINE: Duration = Duration::from_secs(30);

/// Errors of starting, running and stopping a runtime.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RuntimeError {
    /// `Runtime::start` was called outside an actix system.
    #[error("no actix system is running on this thread (start the runtime inside `actix_rt::System` or `#[actix_rt::main]`)")]
    NoSystem,
    /// The tree failed to start; everything started was stopped again.
    #[error("the tree failed to start: {0}")]
    Start(#[from] StartFailure),
    /// The registry settings are invalid.
    #[error(transparent)]
    Registry(#[from] RegistryError),
    /// The root supervisor gave up (restart intensity exceeded at the top).
    #[error("the root supervisor failed: {reason}")]
    RootFailed {
        /// Why.
        reason: String,
    },
}

/// How a shutdown went.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ShutdownReport {
    /// Services killed at their shutdown timeout (stop hooks may not have run).
    pub killed: Vec<String>,
    /// True when the global deadline passed and the rest of the tree was killed.
    pub deadline_exceeded: bool,
}

/// Runtime settings.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct RuntimeConfig {
    /// Registry settings.
    pub registry: RegistryConfig,
    /// The whole shutdown must finish within this. Default 30 s.
    #[serde(with = "crate::serde_duration")]
    pub shutdown_deadline: Duration,
}

impl Default for RuntimeConfig {
    fn default() -> Self {
        RuntimeConfig {
            registry: RegistryConfig::default(),
            shutdown_deadline: DEFAULT_SHUTDOWN_DEADLINE,
        }
    }
}

/// A started supervision tree. Dropping it without [`shutdown`](Self::shutdown)
/// kills the tree at once.
pub struct Runtime {
    root_name: String,
    root: Mutex<Option<Incarnation>>,
    exit: Arc<ExitCell>,
    registry: Registry,
    directory: Directory,
    killed: Arc<Mutex<Vec<String>>>,
    config: RuntimeConfig,
}

impl Runtime {
    /// Starts `tree` with default settings on the current actix arbiter.
    /// Completes when every service reported started.
    pub async fn start(tree: SupervisorSpec) -> Result<Runtime, RuntimeError> {
        Self::start_with(tree, RuntimeConfig::default()).await
    }

    /// Starts `tree` with the given settings.
    pub async fn start_with(
        tree: SupervisorSpec,
        config: RuntimeConfig,
    ) -> Result<Runtime, RuntimeError> {
        if actix_rt::Arbiter::try_current().is_none() {
            return Err(RuntimeError::NoSystem);
        }
        let registry = Registry::start(config.registry)?;
        let directory = Directory::default();
        let killed = Arc::new(Mutex::new(Vec::new()));
        let first_failure = Arc::new(Mutex::new(None));
        let root_name = tree.name().to_string();
        let env = StartEnv {
            name: root_name.clone(),
            path: root_name.clone(),
            incarnation: 1,
            restarts: 0,
            registry: registry.clone(),
            directory: directory.clone(),
            killed: killed.clone(),
            first_failure: first_failure.clone(),
            exits: None,
            hooks: None,
        };
        registry.register(
            &root_name,
            &root_name,
            NodeKind::Supervisor,
            tree.config().health_interval,
        )?;
        let mut root = Starter::start(&SupervisorStarter { spec: tree }, &env);
        let started = root.started.take();
        let exit = root.exit.clone();
        let ok = match started {
            Some(rx) => rx.await.is_ok(),
            None => false,
        };
        if !ok {
            let reason = root.exited().await;
            registry.clear();
            directory.close_all();
            registry.stop();
            let failure = first_failure.lock().take().unwrap_or_else(|| StartFailure {
                child: root_name.clone(),
                reason: reason.to_string(),
            });
            return Err(RuntimeError::Start(failure));
        }
        Ok(Runtime {
            root_name,
            root: Mutex::new(Some(root)),
            exit,
            registry,
            directory,
            killed,
            config,
        })
    }

    /// A typed handle to the service `name`; it stays valid across restarts.
    pub fn service<A: Actor>(&self, name: &str) -> Result<ServiceRef<A>, LookupError> {
        let slot = self.directory.lookup::<A>(name)?;
        Ok(ServiceRef::new(name, &slot))
    }

    /// A handle to the supervisor `name`.
    pub fn supervisor(&self, name: &str) -> Result<SupervisorRef, LookupError> {
        self.service::<Supervisor>(name).map(SupervisorRef::new)
    }

    /// The root supervisor.
    pub fn root(&self) -> SupervisorRef {
        match self.supervisor(&self.root_name) {
            Ok(s) => s,
            Err(_) => {
                let slot =
                    self.directory
                        .slot::<Supervisor>(&self.root_name, &self.root_name, None);
                SupervisorRef::new(ServiceRef::new(&self.root_name, &slot))
            }
        }
    }

    /// The health registry.
    pub fn registry(&self) -> &Registry {
        &self.registry
    }

    /// A snapshot of every service's health, with the overall status.
    pub fn health(&self) -> HealthSnapshot {
        self.registry.snapshot()
    }

    /// Whether the root supervisor is still running.
    pub fn is_running(&self) -> bool {
        self.exit.reason().is_none() && self.root.lock().is_some()
    }

    /// Waits until the tree ends by itself: `Ok` after an auto-shutdown,
    /// [`RuntimeError::RootFailed`] when the root supervisor gave up.
    pub async fn wait(&self) -> Result<(), RuntimeError> {
        root_outcome(self.exit.clone().wait().await)
    }

    /// Runs until Ctrl-C, SIGTERM or the tree ending by itself, then shuts
    /// down.
    pub async fn run_until_signal(self) -> Result<ShutdownReport, RuntimeError> {
        tokio::select! {
            _ = shutdown_signal() => {
                tracing::info!("shutdown signal received");
                self.shutdown().await
            }
            ended = self.wait() => {
                let report = self.shutdown().await;
                ended.and(report)
            }
        }
    }

    /// Stops the tree in reverse start order within the shutdown deadline
    /// (services past it are killed), then frees every name.
    pub async fn shutdown(self) -> Result<ShutdownReport, RuntimeError> {
        let root = self.root.lock().take();
        let mut deadline_exceeded = false;
        let mut outcome = Ok(());
        if let Some(mut root) = root {
            let already = root.exit.reason();
            match already {
                Some(reason) => outcome = root_outcome(reason),
                None => {
                    root.request_stop();
                    let mut exited = Box::pin(root.exited());
                    if tokio::time::timeout(self.config.shutdown_deadline, &mut exited)
                        .await
                        .is_err()
                    {
                        tracing::error!(deadline = ?self.config.shutdown_deadline, "shutdown deadline passed; killing the tree");
                        deadline_exceeded = true;
                        root.kill();
                        exited.await;
                    }
                }
            }
        }
        self.registry.clear();
        self.directory.close_all();
        self.registry.stop();
        let killed = std::mem::take(&mut *self.killed.lock());
        outcome.map(|()| ShutdownReport {
            killed,
            deadline_exceeded,
        })
    }
}

impl std::fmt::Debug for Runtime {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Runtime")
            .field("root", &self.root_name)
            .finish()
    }
}

fn root_outcome(reason: ExitReason) -> Result<(), RuntimeError> {
    match reason {
        ExitReason::Normal | ExitReason::Shutdown => Ok(()),
        other => Err(RuntimeError::RootFailed {
            reason: other.failure().unwrap_or_else(|| other.to_string()),
        }),
    }
}

async fn shutdown_signal() {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{signal, SignalKind};
        match signal(SignalKind::terminate()) {
            Ok(mut term) => {
                tokio::select! {
                    _ = tokio::signal::ctrl_c() => {}
                    _ = term.recv() => {}
                }
            }
            Err(_) => {
                let _ = tokio::signal::ctrl_c().await;
            }
        }
    }
    #[cfg(not(unix))]
    {
        let _ = tokio::signal::ctrl_c().await;
    }
}
