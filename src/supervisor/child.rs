//! One child as its supervisor keeps it, and as `which_children` shows it.

use super::decision::Facts;
use super::incarnation::Incarnation;
use super::spec::{ChildSpec, IncarnationMemo, Restart, SubtreeStarter};
use crate::exit::ExitReason;
use crate::handle::AnySlot;
use crate::health::NodeKind;
use actix::SpawnHandle;
use serde::{Deserialize, Serialize};
use std::sync::Arc;
use tokio::time::Instant;

/// Where a child is in its life, as [`WhichChildren`](super::WhichChildren) reports it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ChildState {
    /// Its start hook is running.
    Starting,
    /// Started and running.
    Running,
    /// Being stopped.
    Stopping,
    /// Waiting to be started again (restart backoff or a sibling's restart).
    Restarting,
    /// Not running and not going to be restarted.
    Stopped,
}

/// One child as [`WhichChildren`](super::WhichChildren) reports it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ChildInfo {
    /// The child's id.
    pub id: String,
    /// Service or supervisor.
    pub kind: NodeKind,
    /// Where it is in its life.
    pub state: ChildState,
    /// Its restart type.
    pub restart: Restart,
    /// How often it was restarted.
    pub restarts: u32,
    /// Which incarnation runs (or ran last); 1 for the first.
    pub incarnation: u64,
    /// The reason of its last abnormal exit.
    pub last_failure: Option<String>,
    /// How its last incarnation ended, if one did.
    pub last_exit: Option<ExitReason>,
}

/// Counts of a supervisor's children, as OTP's `count_children`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct ChildCounts {
    /// Child specs held.
    pub specs: usize,
    /// Children running now.
    pub active: usize,
    /// Children that are supervisors.
    pub supervisors: usize,
    /// Children that are services.
    pub workers: usize,
}

pub(super) struct Child {
    pub spec: ChildSpec,
    pub path: String,
    pub state: ChildState,
    pub inc: Option<Incarnation>,
    pub slot: Option<Arc<dyn AnySlot>>,
    pub incarnations: u64,
    pub restarts: u32,
    pub last_failure: Option<String>,
    pub last_exit: Option<ExitReason>,
    pub started_at: Option<Instant>,
    pub backoff_step: u32,
    pub timer: Option<SpawnHandle>,
    pub ended: bool,
}

impl Child {
    pub fn new(mut spec: ChildSpec, parent_path: &str, memo: &IncarnationMemo) -> Self {
        if let Some(nested) = spec.starter.nested() {
            // A nested supervisor joins this tree's incarnation numbering.
            spec.starter = Arc::new(SubtreeStarter {
                spec: nested.clone(),
                memo: memo.clone(),
            });
        }
        Child {
            path: format!("{parent_path}/{}", spec.id),
            spec,
            state: ChildState::Stopped,
            inc: None,
            slot: None,
            incarnations: 0,
            restarts: 0,
            last_failure: None,
            last_exit: None,
            started_at: None,
            backoff_step: 0,
            timer: None,
            ended: false,
        }
    }

    pub fn info(&self) -> ChildInfo {
        ChildInfo {
            id: self.spec.id.clone(),
            kind: self.spec.kind,
            state: self.state,
            restart: self.spec.restart,
            restarts: self.restarts,
            incarnation: self.incarnations,
            last_failure: self.last_failure.clone(),
            last_exit: self.last_exit.clone(),
        }
    }

    /// What the restart decision needs to know.
    pub fn facts(&self) -> Facts {
        Facts {
            restart: self.spec.restart,
            significant: self.spec.significant,
            live: self.state != ChildState::Stopped,
            ended: self.ended,
            started_at: self.started_at,
            backoff_step: self.backoff_step,
        }
    }

    /// Tells the child's owner it was stopped (see `ChildHooks`).
    pub fn hook_stopped(&self) {
        if let Some(hooks) = &self.spec.hooks {
            hooks.stopped();
        }
    }

    pub fn is_temporary(&self) -> bool {
        self.spec.restart == Restart::Temporary
    }
}
