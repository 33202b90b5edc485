//! Building supervision trees in code, with every mistake caught at build time.

use super::policy::{AutoShutdown, Backoff, Intensity, Strategy};
use super::spec::{ChildSpec, Restart, Shutdown};
use serde::{Deserialize, Serialize};
use std::collections::HashSet;
use std::time::Duration;

/// An invalid supervision tree, found by [`SupervisorBuilder::build`].
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum BuildError {
    /// A supervisor or child has an empty name.
    #[error("a {what} has an empty name")]
    EmptyName {
        /// "supervisor" or "child".
        what: &'static str,
    },
    /// A name contains characters that cannot appear in a path.
    #[error("name `{name}` is invalid: {problem}")]
    InvalidName {
        /// The name.
        name: String,
        /// What is wrong with it.
        problem: &'static str,
    },
    /// Two nodes of the tree share a name (names are unique tree-wide, as
    /// they are how services are looked up).
    #[error("name `{name}` is used twice in the tree")]
    DuplicateName {
        /// The name.
        name: String,
    },
    /// A setting is out of range.
    #[error("`{node}`: `{field}` {problem}")]
    InvalidField {
        /// The supervisor or child.
        node: String,
        /// The setting, e.g. `intensity.period`.
        field: &'static str,
        /// What is wrong with it.
        problem: &'static str,
    },
}

/// The longest accepted name, in bytes.
pub const MAX_NAME_LEN: usize = 128;
const MAX_RESTARTS: u32 = 100_000;
const MAX_PERIOD: Duration = Duration::from_secs(24 * 3600);

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
    pub(crate) children: Vec<ChildSpec>,
}

/// A supervisor's policy, serde-deserializable for configuration files.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct SupervisorConfig {
    /// Which children restart together. Default one-for-one.
    pub strategy: Strategy,
    /// Restarts allowed within a sliding window. Default 3 in 5 s.
    pub intensity: Intensity,
    /// Delay before restarts. Default none.
    pub backoff: Backoff,
    /// Whether significant children end the supervisor. Default never.
    pub auto_shutdown: AutoShutdown,
    /// The supervisor's own heartbeat interval. Default 30 s.
    #[serde(with = "crate::serde_duration")]
    pub health_interval: Duration,
}

impl Default for SupervisorConfig {
    fn default() -> Self {
        SupervisorConfig {
            strategy: Strategy::default(),
            intensity: Intensity::default(),
            backoff: Backoff::default(),
            auto_shutdown: AutoShutdown::default(),
            health_interval: crate::service::DEFAULT_HEALTH_INTERVAL,
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
    pub fn children(&self) -> &[ChildSpec] {
        &self.children
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
                None => out.push(c.id.clone()),
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

    /// Lets significant children end the supervisor. Default never.
    pub fn auto_shutdown(mut self, auto: AutoShutdown) -> Self {
        self.spec.config.auto_shutdown = auto;
        self
    }

    /// The supervisor's own heartbeat interval. Default 30 s.
    pub fn health_interval(mut self, every: Duration) -> Self {
        self.spec.config.health_interval = every;
        self
    }

    /// Adds a child; children start in the order they are added.
    pub fn child(mut self, child: impl Into<ChildSpec>) -> Self {
        self.spec.children.push(child.into());
        self
    }

    /// Adds several children in order.
    pub fn children(mut self, children: impl IntoIterator<Item = ChildSpec>) -> Self {
        self.spec.children.extend(children);
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
        validate_name(&spec.name, "supervisor")?;
        let c = &spec.config;
        let field = |field, problem| BuildError::InvalidField {
            node: spec.name.clone(),
            field,
            problem,
        };
        if c.intensity.max_restarts == 0 {
            return Err(field("intensity.max_restarts", "must be at least 1"));
        }
        if c.intensity.max_restarts > MAX_RESTARTS {
            return Err(field("intensity.max_restarts", "must be at most 100000"));
        }
        if c.intensity.period.is_zero() {
            return Err(field("intensity.period", "must be above zero"));
        }
        if c.intensity.period > MAX_PERIOD {
            return Err(field("intensity.period", "must be at most one day"));
        }
        if c.health_interval < Duration::from_millis(1) {
            return Err(field("health_interval", "must be at least 1 ms"));
        }
        if let Err((f, p)) = c.backoff.validate() {
            return Err(field(f, p));
        }
        for child in &spec.children {
            if let Some(e) = &child.invalid {
                return Err(e.clone());
            }
            validate_child(&spec.name, c.auto_shutdown, child)?;
        }
        Ok(spec)
    }
}

pub(crate) fn validate_child(
    parent: &str,
    auto: AutoShutdown,
    child: &ChildSpec,
) -> Result<(), BuildError> {
    validate_name(&child.id, "child")?;
    let field = |field, problem| BuildError::InvalidField {
        node: child.id.clone(),
        field,
        problem,
    };
    if child.start_timeout.is_zero() {
        return Err(field("start_timeout", "must be above zero"));
    }
    if let Shutdown::Timeout(t) = child.shutdown {
        if t.is_zero() {
            return Err(field(
                "shutdown_timeout",
                "must be above zero (use kill_on_stop to kill at once)",
            ));
        }
    }
    if child.significant {
        if child.restart == Restart::Permanent {
            return Err(field(
                "significant",
                "a permanent child cannot be significant",
            ));
        }
        if auto == AutoShutdown::Never {
            return Err(BuildError::InvalidField {
                node: parent.to_string(),
                field: "auto_shutdown",
                problem: "is `never`, so a significant child is not allowed",
            });
        }
    }
    Ok(())
}

pub(crate) fn validate_name(name: &str, what: &'static str) -> Result<(), BuildError> {
    if name.is_empty() {
        return Err(BuildError::EmptyName { what });
    }
    let invalid = |problem| BuildError::InvalidName {
        name: name.to_string(),
        problem,
    };
    if name.len() > MAX_NAME_LEN {
        return Err(invalid("longer than 128 bytes"));
    }
    if name.contains('/') {
        return Err(invalid("contains `/`, the path separator"));
    }
    if name.chars().any(|c| c.is_whitespace() || c.is_control()) {
        return Err(invalid("contains whitespace or control characters"));
    }
    Ok(())
}
