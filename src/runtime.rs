//! The runtime: starts a supervision tree with its registry, hands out
//! handles, and shuts everything down in reverse order within a deadline.
//!
//! From the moment [`Runtime::start`] is called, the runtime catches Ctrl-C
//! and SIGTERM (unless [`RuntimeConfig::handle_signals`] is off, for
//! applications that handle signals themselves): the first signal shuts the
//! tree down gracefully — also while it is still starting — logging which
//! services the shutdown waits for; a second signal ends it at once.
//!
//! ```
//! use servitor::prelude::*;
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
//!
//! ## How it ends
//!
//! * [`shutdown`](Runtime::shutdown) (or a signal): children stop in reverse
//!   start order, each within its shutdown timeout; the whole within
//!   [`shutdown_deadline`](RuntimeConfig::shutdown_deadline), past which the
//!   rest of the tree is killed. The [`ShutdownReport`] lists what was
//!   killed and what failed while stopping.
//! * By itself: the root supervisor ends after an auto-shutdown, or gives
//!   up ([`wait`](Runtime::wait) returns [`RuntimeError::RootFailed`]).
//!
//! However it ends, every handle is closed at once: calls fail with
//! `Stopped` rather than waiting, and the built-in services refuse work.
//! The registry keeps the last health of every service until `shutdown`.

use crate::exit::ExitReason;
use crate::handle::{Directory, LookupError, ServiceRef};
use crate::health::{HealthSnapshot, NodeKind};
use crate::placement::{Arbiters, Placed, Placement, PlacementError};
use crate::registry::{Registry, RegistryConfig, RegistryError};
use crate::service::ServiceContext;
use crate::status::Status;
use crate::supervisor::{
    Incarnation, StartEnv, StartFailure, Starter, Supervisor, SupervisorRef, SupervisorSpec,
    SupervisorStarter,
};
use actix::Actor;
use parking_lot::Mutex;
use serde::{Deserialize, Serialize};
use std::sync::atomic::{AtomicBool, AtomicU8, Ordering};
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::Notify;

/// The default global shutdown deadline: 30 s.
pub const DEFAULT_SHUTDOWN_DEADLINE: Duration = Duration::from_secs(30);

/// How often a shutdown in progress logs the services it waits for.
const WAITING_LOG_EVERY: Duration = Duration::from_secs(1);

/// Errors of starting, running and stopping a runtime.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum RuntimeError {
    /// `Runtime::start` was called outside an actix system.
    #[error(
        "no actix system runs on this thread: start the runtime inside `#[actix_rt::main]` \
         (or `actix_rt::System::new().block_on(..)`, or `#[actix_rt::test]` in tests); \
         under `#[tokio::main]`, run it in `actix_rt::System::with_tokio_rt(..)` or on \
         an `actix_rt::Arbiter`"
    )]
    NoSystem,
    /// The tree failed to start; everything started was stopped again.
    #[error("the tree failed to start: {0}")]
    Start(#[from] StartFailure),
    /// A signal came while the tree was starting: what had started was
    /// stopped again.
    #[error("interrupted by a signal while starting")]
    Interrupted,
    /// The registry settings are invalid.
    #[error(transparent)]
    Registry(#[from] RegistryError),
    /// A runtime setting is invalid (nothing was started).
    #[error("invalid runtime setting `{field}`: {problem}")]
    InvalidConfig {
        /// The field of [`RuntimeConfig`].
        field: &'static str,
        /// What is wrong with it.
        problem: &'static str,
    },
    /// The root supervisor gave up (restart intensity exceeded at the top),
    /// or ended with a failure.
    #[error("the root supervisor failed: {reason}")]
    RootFailed {
        /// Why.
        reason: String,
    },
}

/// A service that failed while the shutdown stopped it (its stop hook
/// returned an error or panicked).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct StopFailure {
    /// The service.
    pub service: String,
    /// How its stop failed.
    pub reason: String,
}

/// How a shutdown went.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct ShutdownReport {
    /// Services this shutdown killed at their shutdown timeout (their stop
    /// hooks may not have run). Kills during earlier restarts are not listed.
    pub killed: Vec<String>,
    /// Services whose stop failed during this shutdown.
    pub failures: Vec<StopFailure>,
    /// True when the global deadline passed and the rest of the tree was killed.
    pub deadline_exceeded: bool,
    /// True when a second signal ended the shutdown at once.
    pub forced: bool,
}

/// The most arbiters a runtime's pool may have.
pub const MAX_POOL_SIZE: usize = 1024;

/// Runtime settings.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct RuntimeConfig {
    /// Registry settings.
    pub registry: RegistryConfig,
    /// The whole shutdown must finish within this. Default 30 s.
    #[serde(with = "crate::serde_duration")]
    pub shutdown_deadline: Duration,
    /// Catch Ctrl-C and SIGTERM from the moment the runtime starts: the
    /// first shuts the tree down, a second ends it at once. Default true;
    /// turn it off when the application handles signals itself (then
    /// [`Runtime::run_until_signal`] listens only while it runs).
    pub handle_signals: bool,
    /// How many arbiters (threads) the pool has that
    /// [`Placement::Pool`] places services on, started when first used:
    /// from 1 to [`MAX_POOL_SIZE`]. Default `None`: one per available core.
    pub pool_size: Option<usize>,
}

impl RuntimeConfig {
    /// Checks the settings [`Runtime::start_with`] checks before it starts
    /// anything (the registry's are checked by [`Registry::start`]).
    pub fn validate(&self) -> Result<(), RuntimeError> {
        if self.pool_size.is_some_and(|n| n == 0 || n > MAX_POOL_SIZE) {
            return Err(RuntimeError::InvalidConfig {
                field: "pool_size",
                problem: "must be from 1 to 1024",
            });
        }
        Ok(())
    }
}

impl Default for RuntimeConfig {
    fn default() -> Self {
        RuntimeConfig {
            registry: RegistryConfig::default(),
            shutdown_deadline: DEFAULT_SHUTDOWN_DEADLINE,
            handle_signals: true,
            pool_size: None,
        }
    }
}

/// What a shutdown collects from the supervisors while it runs.
#[derive(Debug, Default)]
pub(crate) struct ShutdownLog {
    active: AtomicBool,
    killed: Mutex<Vec<String>>,
    failures: Mutex<Vec<StopFailure>>,
}

impl ShutdownLog {
    /// A child was killed at its shutdown timeout.
    pub fn killed(&self, service: &str) {
        if self.active.load(Ordering::Acquire) {
            self.killed.lock().push(service.to_string());
        }
    }

    /// A child's stop failed.
    pub fn failed(&self, service: &str, reason: String) {
        if self.active.load(Ordering::Acquire) {
            self.failures.lock().push(StopFailure {
                service: service.to_string(),
                reason,
            });
        }
    }
}

const RUNNING: u8 = 0;
const STOPPING: u8 = 1;
const FORCED: u8 = 2;

/// The part of a runtime its signal listener shares.
struct Inner {
    root_name: String,
    root: Mutex<Option<Incarnation>>,
    /// The root's context: how the tree ended, once it has.
    exit: ServiceContext,
    registry: Registry,
    directory: Directory,
    arbiters: Arc<Arbiters>,
    log: Arc<ShutdownLog>,
    config: RuntimeConfig,
    /// RUNNING, STOPPING (a shutdown began) or FORCED (a second signal).
    stage: AtomicU8,
    /// A shutdown was asked for (by a signal): wakes a start in progress.
    stop_asked: Notify,
}

impl Drop for Inner {
    fn drop(&mut self) {
        // Dropped without a shutdown: the tree is killed, its threads stop.
        if let Some(root) = self.root.get_mut().take() {
            root.kill();
        }
        self.arbiters.stop();
    }
}

impl Inner {
    /// Begins a graceful shutdown: asks the root to stop. Idempotent.
    fn begin_shutdown(&self) {
        self.log.active.store(true, Ordering::Release);
        let _ = self
            .stage
            .compare_exchange(RUNNING, STOPPING, Ordering::AcqRel, Ordering::Acquire);
        if let Some(root) = self.root.lock().as_mut() {
            root.request_stop();
        }
        self.stop_asked.notify_waiters();
    }

    /// Ends the tree at once.
    fn force(&self) {
        self.stage.store(FORCED, Ordering::Release);
        if let Some(root) = self.root.lock().as_ref() {
            root.kill();
        }
        self.stop_asked.notify_waiters();
    }

    fn forced(&self) -> bool {
        self.stage.load(Ordering::Acquire) == FORCED
    }

    fn stopping(&self) -> bool {
        self.stage.load(Ordering::Acquire) != RUNNING
    }

    /// Waits for the root to end, within the deadline (then kills it),
    /// logging what the shutdown waits for. Returns whether the deadline
    /// passed.
    async fn await_end(&self) -> bool {
        let deadline = tokio::time::sleep(self.config.shutdown_deadline);
        tokio::pin!(deadline);
        let mut exited = Box::pin(self.exit.exited());
        let mut log_at = tokio::time::interval(WAITING_LOG_EVERY);
        log_at.tick().await;
        loop {
            tokio::select! {
                _ = &mut exited => return false,
                _ = &mut deadline => break,
                _ = log_at.tick() => self.log_waiting(),
            }
        }
        tracing::error!(deadline = ?self.config.shutdown_deadline, "shutdown deadline passed; killing the tree");
        if let Some(root) = self.root.lock().as_ref() {
            root.kill();
        }
        exited.await;
        true
    }

    fn log_waiting(&self) {
        let waiting = self.registry.services_in(Status::Stopping);
        if !waiting.is_empty() {
            tracing::warn!(waiting = %waiting.join(", "), "shutdown is waiting for services to stop");
        }
    }
}

/// A started supervision tree. Dropping it without [`shutdown`](Self::shutdown)
/// kills the tree at once.
pub struct Runtime {
    inner: Arc<Inner>,
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
        let nodes = tree.node_count();
        config.validate()?;
        let registry = Registry::start_sized(config.registry, nodes)?;
        let directory = Directory::with_capacity(nodes);
        let pool_size = config.pool_size.unwrap_or_else(|| {
            std::thread::available_parallelism().map_or(1, std::num::NonZeroUsize::get)
        });
        let arbiters = Arc::new(Arbiters::new(pool_size));
        let placement = tree.config().placement.or(&Placement::Runtime);
        let log = Arc::new(ShutdownLog::default());
        let first_failure = Arc::new(Mutex::new(None));
        let root_name = tree.name().to_string();
        let root_id: Arc<str> = Arc::from(root_name.as_str());
        let env = StartEnv {
            name: root_id.clone(),
            path: root_id.clone(),
            incarnation: 1,
            restarts: 0,
            registry: registry.clone(),
            directory: directory.clone(),
            shutdown_log: log.clone(),
            first_failure: first_failure.clone(),
            exits: None,
            hooks: None,
            arbiters: arbiters.clone(),
            placement: placement.clone(),
        };
        registry.register(
            &root_id,
            &root_name,
            NodeKind::Supervisor,
            tree.config().health_interval,
            tokio::time::Instant::now(),
        )?;
        let place = match arbiters.place(&placement) {
            Ok(place) => place,
            Err(reason) => {
                registry.clear();
                registry.stop();
                return Err(RuntimeError::Start(StartFailure {
                    child: root_name,
                    reason,
                }));
            }
        };
        let mut root = Starter::start(Arc::new(SupervisorStarter { spec: tree }), &env, place);
        let started = root.started.take();
        let exit = root.cx.clone();
        let inner = Arc::new(Inner {
            root_name: root_name.clone(),
            root: Mutex::new(Some(root)),
            exit: exit.clone(),
            registry: registry.clone(),
            directory: directory.clone(),
            arbiters: arbiters.clone(),
            log,
            config,
            stage: AtomicU8::new(RUNNING),
            stop_asked: Notify::new(),
        });
        if config.handle_signals {
            actix_rt::spawn(listen_for_signals(Arc::downgrade(&inner)));
        }
        // However the tree ends, nobody waits on its handles any more.
        {
            let directory = directory.clone();
            let exit = exit.clone();
            actix_rt::spawn(async move {
                exit.exited().await;
                directory.close_all();
            });
        }
        let interrupted = {
            let asked = inner.stop_asked.notified();
            tokio::pin!(asked);
            asked.as_mut().enable();
            let started = async {
                match started {
                    Some(rx) => rx.await.is_ok(),
                    None => false,
                }
            };
            tokio::select! {
                ok = started => if ok { None } else { Some(false) },
                _ = asked => Some(true),
            }
        };
        if let Some(by_signal) = interrupted {
            let reason = if by_signal {
                inner.await_end().await;
                None
            } else {
                Some(exit.exited().await)
            };
            registry.clear();
            directory.close_all();
            registry.stop();
            arbiters.stop();
            return Err(match reason {
                None => RuntimeError::Interrupted,
                Some(reason) => {
                    RuntimeError::Start(first_failure.lock().take().unwrap_or_else(|| {
                        StartFailure {
                            child: root_name.clone(),
                            reason: reason.to_string(),
                        }
                    }))
                }
            });
        }
        Ok(Runtime { inner })
    }

    /// A typed handle to the service `name`; it stays valid across restarts.
    pub fn service<A: Actor>(&self, name: &str) -> Result<ServiceRef<A>, LookupError> {
        let slot = self.inner.directory.lookup::<A>(name)?;
        Ok(ServiceRef::new(name, &slot))
    }

    /// A handle to the supervisor `name`.
    pub fn supervisor(&self, name: &str) -> Result<SupervisorRef, LookupError> {
        self.service::<Supervisor>(name).map(SupervisorRef::new)
    }

    /// The root supervisor.
    pub fn root(&self) -> SupervisorRef {
        let name = &self.inner.root_name;
        match self.supervisor(name) {
            Ok(s) => s,
            Err(_) => {
                let id: Arc<str> = Arc::from(name.as_str());
                let slot = self.inner.directory.slot::<Supervisor>(&id, &id, None);
                SupervisorRef::new(ServiceRef::new(name, &slot))
            }
        }
    }

    /// The health registry.
    pub fn registry(&self) -> &Registry {
        &self.inner.registry
    }

    /// How many live instances each arbiter of the pool holds (empty until
    /// something is placed on the pool).
    pub fn pool_loads(&self) -> Vec<usize> {
        self.inner.arbiters.pool_loads()
    }

    /// Runs the future `make` returns on the arbiter `placement` chooses,
    /// as [`ServiceContext::spawn_placed`](crate::ServiceContext::spawn_placed)
    /// does for a service: work from outside the tree (a load generator, a
    /// batch job) that should share the pool's threads. The future is made
    /// and polled there, so it need not be `Send`.
    ///
    /// ```
    /// # #[actix_rt::main] async fn main() {
    /// use servitor::{Placement, Runtime, Supervisor};
    ///
    /// let app = Runtime::start(Supervisor::builder("app").build().unwrap()).await.unwrap();
    /// let on_pool = app.spawn_placed(&Placement::Pool, || async { std::thread::current().id() });
    /// let there = on_pool.unwrap().await.unwrap();
    /// assert_ne!(there, std::thread::current().id());
    /// app.shutdown().await.unwrap();
    /// # }
    /// ```
    pub fn spawn_placed<F, Fut>(
        &self,
        placement: &Placement,
        make: F,
    ) -> Result<Placed<Fut::Output>, PlacementError>
    where
        F: FnOnce() -> Fut + Send + 'static,
        Fut: std::future::Future + 'static,
        Fut::Output: Send + 'static,
    {
        self.inner.arbiters.spawn(placement, make)
    }

    /// A snapshot of every service's health, with the overall status.
    pub fn health(&self) -> HealthSnapshot {
        self.inner.registry.snapshot()
    }

    /// Whether the root supervisor is still running (and no shutdown began).
    pub fn is_running(&self) -> bool {
        self.inner.exit.exit_reason().is_none() && !self.inner.stopping()
    }

    /// Waits until the tree ends: `Ok` after an auto-shutdown or a shutdown
    /// a signal began, [`RuntimeError::RootFailed`] when the root supervisor
    /// gave up or failed.
    pub async fn wait(&self) -> Result<(), RuntimeError> {
        let reason = self.inner.exit.exited().await;
        if self.inner.stopping() {
            return Ok(());
        }
        root_outcome(reason)
    }

    /// Runs until the tree ends — by a signal (Ctrl-C, SIGTERM) or by
    /// itself — then finishes the shutdown and reports it.
    pub async fn run_until_signal(self) -> Result<ShutdownReport, RuntimeError> {
        if self.inner.config.handle_signals {
            let ended = self.wait().await;
            let report = self.shutdown().await;
            return ended.and(report);
        }
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
        let inner = &self.inner;
        let already = inner.exit.exit_reason();
        let outcome = match &already {
            Some(reason) if !inner.stopping() => root_outcome(reason.clone()),
            _ => Ok(()),
        };
        let mut deadline_exceeded = false;
        if already.is_none() {
            inner.begin_shutdown();
            deadline_exceeded = inner.await_end().await;
        }
        inner.root.lock().take();
        inner.registry.clear();
        inner.directory.close_all();
        inner.registry.stop();
        inner.arbiters.stop();
        let killed = std::mem::take(&mut *inner.log.killed.lock());
        let failures = std::mem::take(&mut *inner.log.failures.lock());
        outcome.map(|()| ShutdownReport {
            killed,
            failures,
            deadline_exceeded,
            forced: inner.forced(),
        })
    }
}

impl std::fmt::Debug for Runtime {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Runtime")
            .field("root", &self.inner.root_name)
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

/// The first signal begins a graceful shutdown, a second ends it at once.
async fn listen_for_signals(runtime: std::sync::Weak<Inner>) {
    shutdown_signal().await;
    let Some(inner) = runtime.upgrade() else {
        return;
    };
    if inner.exit.exit_reason().is_some() {
        return;
    }
    tracing::info!("shutdown signal received; stopping the tree (a second signal ends it at once)");
    inner.begin_shutdown();
    drop(inner);
    shutdown_signal().await;
    let Some(inner) = runtime.upgrade() else {
        return;
    };
    if inner.exit.exit_reason().is_none() {
        tracing::warn!("second shutdown signal: ending the tree now");
        inner.force();
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
