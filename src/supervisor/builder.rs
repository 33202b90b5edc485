//! Building supervision trees in code, with every mistake caught at build time.

use super::policy::{AutoShutdown, Intensity, Strategy};
use super::spec::ChildSpec;
use super::validate::{validate_child, validate_supervisor, BuildError};
use crate::kit::Backoff;
use crate::placement::Placement;
use serde::{Deserialize, Serialize};
use std::collections::HashSet;
use std::sync::Arc;
use std::time::Duration;

/// The default [`SupervisorConfig::backoff_reset`]: 10 s.
pub const DEFAULT_BACKOFF_RESET: Duration = Duration::from_secs(10);

/// Configures a supervisor and its children.
///
/// ```
/// use std::time::Duration;
/// use actix::prelude::*;
/// use servitor::{Backoff, ChildSpec, Service, Strategy, Supervisor};
///
/// #[derive(Default)] struct Ingest;
/// impl Actor for Ingest { type Context = Context<Self>; }
/// impl Service for Ingest {}
///
/// let tree = Supervisor::builder("app")
///     .strategy(Strategy::OneForOne)
///     .intensity(3, Duration::from_secs(5))
///     .backoff(Backoff::exponential(Duration::from_millis(10), Duration::from_secs(5)))
///     .child(ChildSpec::service("ingest", Ingest::default))
///     .child(Supervisor::builder("workers").strategy(Strategy::RestForOne))
///     .build()
///     .unwrap();
/// assert_eq!(tree.name(), "app");
///
/// let err = Supervisor::builder("app").intensity(0, Duration::from_secs(5)).build().unwrap_err();
/// assert!(err.to_string().contains("intensity.max_restarts"));
/// ```
#[derive(Clone, Debug)]
#[must_use = "a builder does nothing until built"]
pub struct SupervisorBuilder {
    spec: SupervisorSpec,
}

/// A validated supervision tree, ready for [`Runtime::start`](crate::Runtime::start).
#[derive(Clone, Debug)]
pub struct SupervisorSpec {
    pub(crate) name: String,
    pub(crate) config: SupervisorConfig,
    /// Shared with the supervisor instances started from it.
    pub(crate) children: Vec<Arc<ChildSpec>>,
}

/// A supervisor's policy, serde-deserializable for configuration files.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct SupervisorConfig {
    /// Which children restart together. Default one-for-one.
    pub strategy: Strategy,
    /// Restarts allowed within a sliding window. Default 3 in 5 s.
    pub intensity: Intensity,
    /// Delay before restarts: `backoff.delay(n)` before the restart of a
    /// child that was restarted `n` times in a row. Default none.
    pub backoff: Backoff,
    /// A child that ran this long without exiting counts its restarts in a
    /// row from 0 again. Default 10 s ([`DEFAULT_BACKOFF_RESET`]).
    #[serde(with = "crate::serde_duration")]
    pub backoff_reset: Duration,
    /// Whether significant children end the supervisor. Default never.
    pub auto_shutdown: AutoShutdown,
    /// The supervisor's own heartbeat interval. Default 30 s.
    #[serde(with = "crate::serde_duration")]
    pub health_interval: Duration,
    /// Where the supervisor runs, and its children unless they say
    /// otherwise. Default [`Placement::Inherit`].
    pub placement: Placement,
}

impl Default for SupervisorConfig {
    fn default() -> Self {
        SupervisorConfig {
            strategy: Strategy::default(),
            intensity: Intensity::default(),
            backoff: Backoff::default(),
            backoff_reset: DEFAULT_BACKOFF_RESET,
            auto_shutdown: AutoShutdown::default(),
            health_interval: crate::service::DEFAULT_HEALTH_INTERVAL,
            placement: Placement::Inherit,
        }
    }
}

impl SupervisorSpec {
    /// The supervisor's name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// Its policy.
    pub fn config(&self) -> &SupervisorConfig {
        &self.config
    }

    /// Its children, in start order.
    pub fn children(&self) -> impl ExactSizeIterator<Item = &ChildSpec> {
        self.children.iter().map(|c| &**c)
    }

    /// How many nodes the tree has, this supervisor and every nested one
    /// included: what the runtime sizes its tables by.
    pub(crate) fn node_count(&self) -> usize {
        let mut count = 0;
        let mut pending = vec![self];
        while let Some(spec) = pending.pop() {
            count += 1;
            for child in spec.children() {
                match child.starter.nested() {
                    Some(nested) => pending.push(nested),
                    None => count += 1,
                }
            }
        }
        count
    }

    pub(crate) fn placeholder() -> Self {
        SupervisorSpec {
            name: String::new(),
            config: SupervisorConfig::default(),
            children: Vec::new(),
        }
    }

    /// Every name in the tree, depth first.
    pub(crate) fn names(&self, out: &mut Vec<String>) {
        out.push(self.name.clone());
        for c in &self.children {
            match c.starter.nested() {
                Some(nested) => nested.names(out),
                None => out.push(c.id.to_string()),
            }
        }
    }
}

impl SupervisorBuilder {
    pub(crate) fn new(name: impl Into<String>) -> Self {
        SupervisorBuilder {
            spec: SupervisorSpec {
                name: name.into(),
                config: SupervisorConfig::default(),
                children: Vec::new(),
            },
        }
    }

    /// The supervisor's name.
    pub fn name(&self) -> &str {
        &self.spec.name
    }

    /// Replaces the whole policy (e.g. one read from a configuration file).
    pub fn config(mut self, config: SupervisorConfig) -> Self {
        self.spec.config = config;
        self
    }

    /// Which children restart together. Default one-for-one.
    pub fn strategy(mut self, strategy: Strategy) -> Self {
        self.spec.config.strategy = strategy;
        self
    }

    /// At most `max_restarts` within any window of `period`; one more and
    /// the supervisor gives up. Default 3 in 5 s.
    pub fn intensity(mut self, max_restarts: u32, period: Duration) -> Self {
        self.spec.config.intensity = Intensity {
            max_restarts,
            period,
        };
        self
    }

    /// Delay before restarts. Default none (immediate).
    pub fn backoff(mut self, backoff: Backoff) -> Self {
        self.spec.config.backoff = backoff;
        self
    }

    /// After how long a stable run a child's backoff starts over.
    /// Default 10 s.
    pub fn backoff_reset(mut self, stable: Duration) -> Self {
        self.spec.config.backoff_reset = stable;
        self
    }

    /// Lets significant children end the supervisor. Default never.
    pub fn auto_shutdown(mut self, auto: AutoShutdown) -> Self {
        self.spec.config.auto_shutdown = auto;
        self
    }

    /// Where the supervisor runs, and where its children run unless they
    /// say otherwise (see [`Placement`]). Default
    /// [`Inherit`](Placement::Inherit).
    pub fn placement(mut self, placement: Placement) -> Self {
        self.spec.config.placement = placement;
        self
    }

    /// The supervisor's own heartbeat interval. Default 30 s.
    pub fn health_interval(mut self, every: Duration) -> Self {
        self.spec.config.health_interval = every;
        self
    }

    /// Adds a child; children start in the order they are added.
    pub fn child(mut self, child: impl Into<ChildSpec>) -> Self {
        self.spec.children.push(Arc::new(child.into()));
        self
    }

    /// Adds several children in order.
    pub fn children(mut self, children: impl IntoIterator<Item = ChildSpec>) -> Self {
        self.spec
            .children
            .extend(children.into_iter().map(Arc::new));
        self
    }

    /// Validates the whole tree: names non-empty, valid and unique
    /// tree-wide, every setting in range.
    pub fn build(self) -> Result<SupervisorSpec, BuildError> {
        let spec = self.build_nested()?;
        let mut names = Vec::new();
        spec.names(&mut names);
        let mut seen = HashSet::new();
        for n in names {
            if !seen.insert(n.clone()) {
                return Err(BuildError::DuplicateName { name: n });
            }
        }
        Ok(spec)
    }

    /// Validates this level and the nested levels already built.
    pub(crate) fn build_nested(self) -> Result<SupervisorSpec, BuildError> {
        let spec = self.spec;
        validate_supervisor(&spec.name, &spec.config)?;
        for child in &spec.children {
            if let Some(e) = &child.invalid {
                return Err((**e).clone());
            }
            validate_child(&spec.name, spec.config.auto_shutdown, child)?;
        }
        Ok(spec)
    }
}
