//! One child as its supervisor keeps it, and as `which_children` shows it.

use super::decision::{Children, Facts};
use super::incarnation::Incarnation;
use super::spec::{ChildSpec, IncarnationMemo, Restart, SubtreeStarter};
use crate::clock::unix_ms;
use crate::exit::ExitReason;
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
    /// How often it was restarted since the runtime started — after its own
    /// exits and as a member of a sibling's group restart, also across
    /// restarts of this supervisor. The registry's
    /// [`HealthReport::restarts`](crate::HealthReport::restarts) is the same
    /// number.
    pub restarts: u32,
    /// How often the current incarnation of this supervisor restarted it
    /// (what starts again from 0 when the supervisor itself is restarted).
    pub restarts_under_current_supervisor: u32,
    /// Which incarnation runs (or ran last); 1 for the first.
    pub incarnation: u64,
    /// The reason of its last abnormal exit.
    pub last_failure: Option<String>,
    /// How its last incarnation ended, if one did.
    pub last_exit: Option<ExitReason>,
    /// When the running incarnation started, in milliseconds since the Unix
    /// epoch.
    pub started_at_ms: Option<u64>,
    /// How long the running incarnation has been up, in milliseconds.
    pub uptime_ms: Option<u64>,
    /// When a pending restart is due (restart backoff), in milliseconds
    /// since the Unix epoch.
    pub restart_at_ms: Option<u64>,
    /// How long until that restart, in milliseconds.
    pub restart_in_ms: Option<u64>,
    /// Added at run time (`add_child`) rather than in the supervisor's spec;
    /// such a child does not outlive the supervisor instance it was added to.
    pub dynamic: bool,
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
    pub spec: Arc<ChildSpec>,
    pub path: Arc<str>,
    pub state: ChildState,
    pub inc: Option<Incarnation>,
    pub incarnations: u64,
    /// Cumulative (kept in the tree's memo across supervisor restarts).
    pub restarts: u32,
    /// Restarts by this supervisor instance.
    pub local_restarts: u32,
    pub started_at: Option<Instant>,
    pub backoff_step: u32,
    /// What only a child that exited has (most never do).
    history: Option<Box<History>>,
    pub ended: bool,
    /// Added at run time, not in the spec.
    pub dynamic: bool,
}

/// What a child that exited keeps: boxed, since most children never exit.
#[derive(Default)]
pub(super) struct History {
    pub last_failure: Option<String>,
    pub last_exit: Option<ExitReason>,
    pub timer: Option<SpawnHandle>,
    /// When the pending restart is due.
    pub restart_at: Option<Instant>,
}

impl Child {
    pub fn new(mut spec: Arc<ChildSpec>, parent_path: &str, memo: &IncarnationMemo) -> Self {
        if let Some(nested) = spec.starter.nested() {
            // A nested supervisor joins this tree's incarnation numbering.
            let starter = Arc::new(SubtreeStarter {
                spec: nested.clone(),
                memo: memo.clone(),
            });
            Arc::make_mut(&mut spec).starter = starter;
        }
        let path: Arc<str> = Arc::from(format!("{parent_path}/{}", spec.id));
        let remembered = memo.take(&path);
        Child {
            restarts: remembered.restarts,
            path,
            spec,
            state: ChildState::Stopped,
            inc: None,
            incarnations: remembered.incarnation,
            local_restarts: 0,
            started_at: None,
            backoff_step: 0,
            history: None,
            ended: false,
            dynamic: false,
        }
    }

    pub fn info(&self) -> ChildInfo {
        let now = Instant::now();
        ChildInfo {
            id: self.spec.id.to_string(),
            kind: self.spec.kind,
            state: self.state,
            restart: self.spec.restart,
            restarts: self.restarts,
            restarts_under_current_supervisor: self.local_restarts,
            incarnation: self.incarnations,
            last_failure: self.last_failure().cloned(),
            last_exit: self.history.as_ref().and_then(|h| h.last_exit.clone()),
            started_at_ms: self.started_at.map(unix_ms),
            uptime_ms: self
                .started_at
                .map(|at| now.saturating_duration_since(at).as_millis() as u64),
            restart_at_ms: self.restart_at().map(unix_ms),
            restart_in_ms: self
                .restart_at()
                .map(|at| at.saturating_duration_since(now).as_millis() as u64),
            dynamic: self.dynamic,
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

    /// The child's history, made on first use.
    pub fn history(&mut self) -> &mut History {
        self.history.get_or_insert_with(Default::default)
    }

    /// The reason of its last abnormal exit.
    pub fn last_failure(&self) -> Option<&String> {
        self.history.as_ref()?.last_failure.as_ref()
    }

    /// When its pending restart is due.
    pub fn restart_at(&self) -> Option<Instant> {
        self.history.as_ref()?.restart_at
    }

    /// The pending restart's timer (shared by a group's members).
    pub fn timer(&self) -> Option<SpawnHandle> {
        self.history.as_ref()?.timer
    }

    /// Takes the pending restart's timer.
    pub fn take_timer(&mut self) -> Option<SpawnHandle> {
        self.history.as_mut()?.timer.take()
    }

    /// Takes when the pending restart was due.
    pub fn take_restart_at(&mut self) -> Option<Instant> {
        self.history.as_mut()?.restart_at.take()
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

impl Children for [Child] {
    fn count(&self) -> usize {
        self.len()
    }
    fn facts(&self, i: usize) -> Facts {
        self[i].facts()
    }
}
