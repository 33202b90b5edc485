//! Child specifications: what a supervisor starts, and how it treats each
//! child when it exits.

use super::builder::{SupervisorBuilder, SupervisorSpec};
use super::incarnation::{spawn_service, Incarnation, StartEnv};
use super::validate::BuildError;
use crate::handle::{ServiceRef, Slot};
use crate::health::{in_subtree, NodeKind};
use crate::kit::ConfigError;
use crate::placement::{Place, Placement};
use crate::service::routine::RoutineService;
use crate::service::ticker::TickerService;
use crate::service::{Routine, Service, Ticker, TickerConfig};
use parking_lot::Mutex;
use serde::{Deserialize, Serialize};
use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

/// When a child is restarted after it exits.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Restart {
    /// Always restarted, whatever the exit.
    #[default]
    Permanent,
    /// Restarted only after an abnormal exit (error or panic).
    Transient,
    /// Never restarted, not even when a sibling's restart takes it down; it
    /// is removed from the child list once it ends.
    Temporary,
}

/// How a child is stopped.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Shutdown {
    /// Ask it to stop, and kill it if it has not stopped within this time.
    Timeout(#[serde(with = "crate::serde_duration")] Duration),
    /// Kill it at once; its stop hook does not run.
    Kill,
    /// Wait for as long as it takes (the default for supervisors).
    Infinity,
}

/// The default shutdown timeout of a service child: 5 s.
pub const DEFAULT_SHUTDOWN_TIMEOUT: Duration = Duration::from_secs(5);
/// The default start timeout: 30 s.
pub const DEFAULT_START_TIMEOUT: Duration = Duration::from_secs(30);

/// What the supervisor tells a child's owner that the child's instances
/// cannot: that the child was stopped (also while it was down after a
/// crash, where no stop hook runs), and that it is gone for good. The
/// [service kit](crate::kit) drives a service's lifecycle with it.
pub(crate) trait ChildHooks: Send + Sync + 'static {
    /// Stopped by its supervisor and not running; it may start again.
    fn stopped(&self);
    /// Gone for good: removed, ended without restart, or its runtime ended.
    fn gone(&self);
}

/// Builds a fresh instance of `A` (a child's factory).
pub(crate) trait Factory<A>: Send + Sync + 'static {
    fn make(&self) -> A;
}

impl<A, F: Fn() -> A + Send + Sync + 'static> Factory<A> for F {
    fn make(&self) -> A {
        self()
    }
}

/// Starts one incarnation of a child.
pub(crate) trait Starter: Send + Sync + 'static {
    fn start(self: Arc<Self>, env: &StartEnv, place: Place) -> Incarnation;
    /// The nested supervisor's spec, for tree-wide checks.
    fn nested(&self) -> Option<&SupervisorSpec> {
        None
    }
}

/// Starts a service: its factory, and the handle slot made with the spec
/// (`service_with_handle`). One allocation per child spec; every instance
/// holds it while it is being made.
struct ServiceStarter<A: actix::Actor, F> {
    make: F,
    preset: Option<Arc<Slot<A>>>,
}

impl<A: Service, F: Fn() -> A + Send + Sync + 'static> Factory<A> for ServiceStarter<A, F> {
    fn make(&self) -> A {
        (self.make)()
    }
}

impl<A: Service, F: Fn() -> A + Send + Sync + 'static> Starter for ServiceStarter<A, F> {
    fn start(self: Arc<Self>, env: &StartEnv, place: Place) -> Incarnation {
        let preset = self.preset.clone();
        spawn_service(self, env, preset.as_ref(), place)
    }
}

/// Starts the root supervisor of a tree (one per runtime).
pub(crate) struct SupervisorStarter {
    pub spec: SupervisorSpec,
}

impl Starter for SupervisorStarter {
    fn start(self: Arc<Self>, env: &StartEnv, place: Place) -> Incarnation {
        // A new tree: its incarnation numbers start afresh.
        start_supervisor(&self.spec, env, IncarnationMemo::default(), place)
    }
    fn nested(&self) -> Option<&SupervisorSpec> {
        Some(&self.spec)
    }
}

/// Starts a nested supervisor inside a running tree. It shares the tree's
/// [`IncarnationMemo`], so that the children of every new instance of the
/// nested supervisor number their incarnations on from their predecessors'.
pub(crate) struct SubtreeStarter {
    pub spec: SupervisorSpec,
    pub memo: IncarnationMemo,
}

impl Starter for SubtreeStarter {
    fn start(self: Arc<Self>, env: &StartEnv, place: Place) -> Incarnation {
        start_supervisor(&self.spec, env, self.memo.clone(), place)
    }
    fn nested(&self) -> Option<&SupervisorSpec> {
        Some(&self.spec)
    }
}

fn start_supervisor(
    spec: &SupervisorSpec,
    env: &StartEnv,
    memo: IncarnationMemo,
    place: Place,
) -> Incarnation {
    let spec = spec.clone();
    let env2 = env.clone();
    spawn_service::<super::Supervisor>(
        Arc::new(move || super::Supervisor::new(spec.clone(), env2.clone(), memo.clone())),
        env,
        None,
        place,
    )
}

/// What a running tree remembers of each node beyond the life of the
/// supervisor instance that holds it, by path: its last incarnation number
/// and how often it was restarted. A running supervisor keeps this for its
/// children itself; the table holds it only between two instances.
///
/// A supervisor's child list lives and dies with the supervisor instance;
/// this table outlives them, so that when a subtree is restarted its
/// services continue their numbering instead of starting again at 1 — the
/// number is what tells an old instance's late reports from the new one's —
/// and their restart counts stay cumulative.
#[derive(Clone, Default)]
pub(crate) struct IncarnationMemo {
    nodes: Arc<Mutex<HashMap<Arc<str>, Remembered, crate::names::NameHash>>>,
}

#[derive(Clone, Copy, Default)]
pub(crate) struct Remembered {
    /// The number of its last incarnation.
    pub incarnation: u64,
    /// How often it was restarted.
    pub restarts: u32,
}

impl IncarnationMemo {
    /// What is remembered of the node at `path` (nothing for a new node),
    /// handed over to the supervisor instance that holds it now.
    pub fn take(&self, path: &str) -> Remembered {
        self.nodes.lock().remove(path).unwrap_or_default()
    }

    /// Keeps what a supervisor instance that is going away knew of its
    /// child at `path`, for the next instance.
    pub fn keep(&self, path: Arc<str>, node: Remembered) {
        self.nodes.lock().insert(path, node);
    }

    /// Forgets the node at `path` and everything below it (removed for good:
    /// a new child of the same name starts again at 1).
    pub fn forget_subtree(&self, path: &str) {
        self.nodes.lock().retain(|p, _| !in_subtree(p, path));
    }
}

/// One child of a supervisor: its id, how to build a fresh instance, and
/// how to treat its exits.
///
/// A restart always builds a fresh instance with the factory. To keep state
/// across restarts, capture it in the factory explicitly (an `Arc<Mutex<_>>`
/// cloned into each instance).
///
/// ```
/// use std::time::Duration;
/// use actix::prelude::*;
/// use servitor::{ChildSpec, Service};
///
/// #[derive(Default)]
/// struct Ingest;
/// impl Actor for Ingest { type Context = Context<Self>; }
/// impl Service for Ingest {}
///
/// let spec = ChildSpec::service("ingest", Ingest::default)
///     .transient()
///     .shutdown_timeout(Duration::from_secs(2));
/// assert_eq!(spec.id(), "ingest");
/// ```
#[derive(Clone)]
pub struct ChildSpec {
    pub(crate) id: Arc<str>,
    pub(crate) restart: Restart,
    pub(crate) shutdown: Shutdown,
    pub(crate) start_timeout: Duration,
    pub(crate) significant: bool,
    pub(crate) kind: NodeKind,
    pub(crate) starter: Arc<dyn Starter>,
    pub(crate) hooks: Option<Arc<dyn ChildHooks>>,
    pub(crate) placement: Placement,
    /// A nested builder's error, reported when the parent is built.
    pub(crate) invalid: Option<Box<BuildError>>,
}

impl ChildSpec {
    /// A message-handling actor, built by `factory` at every (re)start.
    pub fn service<A, F>(id: impl Into<String>, factory: F) -> Self
    where
        A: Service,
        F: Fn() -> A + Send + Sync + 'static,
    {
        Self::with_starter(
            id,
            NodeKind::Service,
            Arc::new(ServiceStarter {
                make: factory,
                preset: None,
            }),
        )
    }

    /// A message-handling actor, as [`service`](Self::service), together
    /// with a typed handle to it that works before the tree starts: hand it
    /// to the services that call this one when you build the tree. A handle
    /// of the wrong type is a compile error, not a run-time
    /// [`LookupError`](crate::LookupError). Calls through it wait (up to its
    /// bound) until the service is up.
    ///
    /// ```
    /// use servitor::prelude::*;
    ///
    /// #[derive(Default)] struct Store;
    /// impl Actor for Store { type Context = Context<Self>; }
    /// impl Service for Store {}
    ///
    /// struct Api { store: ServiceRef<Store> }
    /// impl Actor for Api { type Context = Context<Self>; }
    /// impl Service for Api {}
    ///
    /// let (store_spec, store) = ChildSpec::service_with_handle("store", Store::default);
    /// let tree = Supervisor::builder("app")
    ///     .child(store_spec)
    ///     .child(ChildSpec::service("api", move || Api { store: store.clone() }))
    ///     .build()
    ///     .unwrap();
    /// # let _ = tree;
    /// ```
    pub fn service_with_handle<A, F>(id: impl Into<String>, factory: F) -> (Self, ServiceRef<A>)
    where
        A: Service,
        F: Fn() -> A + Send + Sync + 'static,
    {
        let id = id.into();
        let slot = Arc::new(Slot::new());
        let handle = ServiceRef::new(&id, &slot);
        let spec = Self::with_starter(
            id,
            NodeKind::Service,
            Arc::new(ServiceStarter {
                make: factory,
                preset: Some(slot),
            }),
        );
        (spec, handle)
    }

    /// A single-shot job or a loop (see [`Routine`]). A job that returns
    /// `Ok` ends normally, so make it [`transient`](Self::transient) unless
    /// it should run again.
    pub fn routine<T, F>(id: impl Into<String>, factory: F) -> Self
    where
        T: Routine,
        F: Fn() -> T + Send + Sync + 'static,
    {
        Self::service(id, move || RoutineService::new(factory()))
    }

    /// A ticker (see [`Ticker`]) ticking as `config` says. The config is
    /// checked here: an invalid one is a [`ConfigError`] naming the field.
    pub fn ticker<P, F>(
        id: impl Into<String>,
        config: TickerConfig,
        factory: F,
    ) -> Result<Self, ConfigError>
    where
        P: Ticker,
        F: Fn() -> P + Send + Sync + 'static,
    {
        let id = id.into();
        config.validate(&id)?;
        Ok(Self::service(id, move || {
            TickerService::new(factory(), config)
        }))
    }

    /// A nested supervisor.
    pub fn supervisor(builder: SupervisorBuilder) -> Self {
        let id = builder.name().to_string();
        match builder.build_nested() {
            Ok(spec) => {
                let placement = spec.config.placement.clone();
                let mut child = Self::with_starter(
                    id,
                    NodeKind::Supervisor,
                    Arc::new(SupervisorStarter { spec }),
                );
                child.shutdown = Shutdown::Infinity;
                child.placement = placement;
                child
            }
            Err(e) => {
                let mut child = Self::with_starter(
                    id,
                    NodeKind::Supervisor,
                    Arc::new(SupervisorStarter {
                        spec: SupervisorSpec::placeholder(),
                    }),
                );
                child.invalid = Some(Box::new(e));
                child
            }
        }
    }

    fn with_starter(id: impl Into<String>, kind: NodeKind, starter: Arc<dyn Starter>) -> Self {
        ChildSpec {
            id: Arc::from(id.into()),
            restart: Restart::Permanent,
            shutdown: if kind == NodeKind::Supervisor {
                Shutdown::Infinity
            } else {
                Shutdown::Timeout(DEFAULT_SHUTDOWN_TIMEOUT)
            },
            start_timeout: DEFAULT_START_TIMEOUT,
            significant: false,
            kind,
            starter,
            hooks: None,
            placement: Placement::Inherit,
            invalid: None,
        }
    }

    /// Where its instances run (see [`Placement`]). Default
    /// [`Inherit`](Placement::Inherit): where its supervisor places its
    /// children. For a nested supervisor, also where its children run
    /// unless they say otherwise.
    pub fn placement(mut self, placement: Placement) -> Self {
        self.placement = placement;
        self
    }

    /// The same spec with lifecycle hooks the supervisor calls.
    pub(crate) fn with_hooks(mut self, hooks: Arc<dyn ChildHooks>) -> Self {
        self.hooks = Some(hooks);
        self
    }

    /// The child's id (its service name).
    pub fn id(&self) -> &str {
        &self.id
    }

    /// Service or supervisor.
    pub fn kind(&self) -> NodeKind {
        self.kind
    }

    /// The restart type.
    pub fn restart_type(&self) -> Restart {
        self.restart
    }

    /// Always restart (the default).
    pub fn permanent(self) -> Self {
        self.restart(Restart::Permanent)
    }

    /// Restart only after an abnormal exit.
    pub fn transient(self) -> Self {
        self.restart(Restart::Transient)
    }

    /// Never restart; remove from the child list once ended.
    pub fn temporary(self) -> Self {
        self.restart(Restart::Temporary)
    }

    /// Sets the restart type.
    pub fn restart(mut self, restart: Restart) -> Self {
        self.restart = restart;
        self
    }

    /// Kill the child if it has not stopped within `timeout` (default 5 s
    /// for services; supervisors wait as long as they need).
    pub fn shutdown_timeout(mut self, timeout: Duration) -> Self {
        self.shutdown = Shutdown::Timeout(timeout);
        self
    }

    /// Sets how the child is stopped.
    pub fn shutdown(mut self, shutdown: Shutdown) -> Self {
        self.shutdown = shutdown;
        self
    }

    /// Kill at once on stop, without running the stop hook.
    pub fn kill_on_stop(self) -> Self {
        self.shutdown(Shutdown::Kill)
    }

    /// Fail the start if the start hook has not finished within `timeout`
    /// (default 30 s).
    pub fn start_timeout(mut self, timeout: Duration) -> Self {
        self.start_timeout = timeout;
        self
    }

    /// Marks the child significant: with the supervisor's
    /// [`AutoShutdown`](crate::AutoShutdown) its ending by itself can end
    /// the supervisor. Significant children cannot be permanent.
    pub fn significant(mut self) -> Self {
        self.significant = true;
        self
    }
}

impl std::fmt::Debug for ChildSpec {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ChildSpec")
            .field("id", &self.id)
            .field("kind", &self.kind)
            .field("restart", &self.restart)
            .field("shutdown", &self.shutdown)
            .field("start_timeout", &self.start_timeout)
            .field("significant", &self.significant)
            .finish()
    }
}

impl From<SupervisorBuilder> for ChildSpec {
    fn from(builder: SupervisorBuilder) -> Self {
        ChildSpec::supervisor(builder)
    }
}
