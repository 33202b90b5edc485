//! A tree's specs as plain data, to compare two trees or read one back.

use crate::health::NodeKind;
use crate::placement::Placement;
use crate::supervisor::{ChildSpec, Restart, Shutdown, SupervisorConfig, SupervisorSpec};
use serde::Serialize;
use std::time::Duration;

/// A supervision tree's specs as plain data: each supervisor's name and
/// policy, each child's id, kind and options, nested supervisors in turn.
/// Two trees with equal outlines start the same children in the same order
/// with the same policies, however they were made (in code or from a
/// file).
///
/// ```
/// use std::time::Duration;
/// use servitor::config::Outline;
/// use servitor::prelude::*;
///
/// #[derive(Default)] struct Ingest;
/// impl Actor for Ingest { type Context = Context<Self>; }
/// impl Service for Ingest {}
///
/// let tree = Supervisor::builder("app")
///     .intensity(5, Duration::from_secs(10))
///     .child(ChildSpec::service("ingest", Ingest::default).transient())
///     .build()
///     .unwrap();
/// let outline = Outline::of(&tree);
/// assert_eq!(outline.config.intensity.max_restarts, 5);
/// assert_eq!(outline.children[0].restart, Restart::Transient);
/// ```
#[derive(Debug, Clone, PartialEq, Serialize)]
#[non_exhaustive]
pub struct Outline {
    /// The supervisor's name.
    pub name: String,
    /// Its policy.
    pub config: SupervisorConfig,
    /// Its children, in start order.
    pub children: Vec<ChildOutline>,
}

/// One child of an [`Outline`].
#[derive(Debug, Clone, PartialEq, Serialize)]
#[non_exhaustive]
pub struct ChildOutline {
    /// The child's id.
    pub id: String,
    /// Service or supervisor.
    pub kind: NodeKind,
    /// Its restart type.
    pub restart: Restart,
    /// How it is stopped.
    pub shutdown: Shutdown,
    /// How long its start may take.
    #[serde(with = "crate::serde_duration")]
    pub start_timeout: Duration,
    /// Whether it is significant.
    pub significant: bool,
    /// Where it runs.
    pub placement: Placement,
    /// A nested supervisor's outline.
    pub supervisor: Option<Outline>,
}

impl Outline {
    /// The outline of `spec`.
    pub fn of(spec: &SupervisorSpec) -> Outline {
        Outline {
            name: spec.name.clone(),
            config: spec.config.clone(),
            children: spec.children.iter().map(|c| ChildOutline::of(c)).collect(),
        }
    }
}

impl ChildOutline {
    /// The outline of one child spec.
    pub fn of(child: &ChildSpec) -> ChildOutline {
        ChildOutline {
            id: child.id.to_string(),
            kind: child.kind,
            restart: child.restart,
            shutdown: child.shutdown,
            start_timeout: child.start_timeout,
            significant: child.significant,
            placement: child.placement.clone(),
            supervisor: child.starter.nested().map(Outline::of),
        }
    }
}
