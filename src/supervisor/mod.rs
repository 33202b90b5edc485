//! The supervisor actor: starts children in order, restarts them by policy,
//! gives up (escalates) when restarts come too fast, and stops children in
//! reverse order.
//!
//! The rules, after OTP's supervisor:
//!
//! * children start one at a time in declared order; the supervisor is up
//!   only when every child reported started. If one fails to start (error,
//!   panic or start timeout), the ones already started are stopped in
//!   reverse order and the start fails naming the child;
//! * when a child exits, its [`Restart`] type says whether it is restarted;
//!   the [`Strategy`] says which siblings go with it. Siblings are stopped in
//!   reverse start order, each fully before the next, then everything is
//!   started again in start order — one restart in all;
//! * more than [`Intensity::max_restarts`] restarts within any window of
//!   [`Intensity::period`] and the supervisor gives up: it stops its children
//!   in reverse order and fails, so its own supervisor applies its policy to
//!   the whole subtree;
//! * a [`Backoff`] delays restarts; a pending backoff never delays a stop;
//! * the old instance's stop has finished before the new one's start hook runs;
//!   incarnation numbers only grow, also for the children of a restarted
//!   nested supervisor, so an old instance is never taken for the new one;
//! * a child whose start hook failed or timed out is killed at once (it has
//!   no stop hook to run); only children killed because their shutdown
//!   timeout ran out are reported as killed.
//!
//! The supervisor is itself a [`Service`]: a nested supervisor is simply a
//! child whose start hook starts its own children.

mod builder;
mod incarnation;
mod policy;
mod sequence;
mod spec;

pub use builder::{BuildError, SupervisorBuilder, SupervisorConfig, SupervisorSpec, MAX_NAME_LEN};
pub use policy::{AutoShutdown, Backoff, Intensity, Strategy};
pub use spec::{
    ChildKind, ChildSpec, Restart, Shutdown, DEFAULT_SHUTDOWN_TIMEOUT, DEFAULT_START_TIMEOUT,
};

use incarnation::ExitNotice;
pub(crate) use incarnation::{ExitCell, Incarnation, StartEnv};
use spec::{IncarnationMemo, SubtreeStarter};
pub(crate) use spec::{Starter, SupervisorStarter};

use crate::exit::{BoxError, ExitReason};
use crate::handle::{AnySlot, CallError, ServiceRef};
use crate::health::NodeKind;
use crate::service::{Service, ServiceContext};
use crate::status::Status;
use actix::fut::{ready, wrap_future, ActorFutureExt};
use actix::prelude::*;
use policy::RestartWindow;
use sequence::sequence;
use serde::{Deserialize, Serialize};
use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::mpsc;
use tokio::time::Instant;

type Step<T> = ResponseActFuture<Supervisor, T>;

/// Where a child is in its life, as [`WhichChildren`] reports it.
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

/// One child as [`WhichChildren`] reports it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ChildInfo {
    /// The child's id.
    pub id: String,
    /// Service or supervisor.
    pub kind: ChildKind,
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

/// Errors of run-time changes to a supervisor.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SupervisorError {
    /// The new child is invalid.
    #[error(transparent)]
    Invalid(#[from] BuildError),
    /// No child has that id.
    #[error("supervisor has no child `{0}`")]
    NoSuchChild(String),
    /// The new child failed to start.
    #[error("child `{child}` failed to start: {reason}")]
    StartFailed {
        /// The child.
        child: String,
        /// Why.
        reason: String,
    },
    /// The supervisor could not be reached.
    #[error(transparent)]
    Call(#[from] CallError),
}

/// A start that failed: which child, and why.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("child `{child}` failed to start: {reason}")]
pub struct StartFailure {
    /// The first child that failed (a nested supervisor names its own).
    pub child: String,
    /// Why.
    pub reason: String,
}

/// Lists the children in start order.
#[derive(Debug, Clone, Copy, Message)]
#[rtype(result = "Vec<ChildInfo>")]
pub struct WhichChildren;

/// Counts the children.
#[derive(Debug, Clone, Copy, Message)]
#[rtype(result = "ChildCounts")]
pub struct CountChildren;

/// Adds a child at run time and starts it (after the existing ones).
#[derive(Debug, Message)]
#[rtype(result = "Result<(), SupervisorError>")]
pub struct AddChild(pub ChildSpec);

/// Stops a child and removes it from the child list.
#[derive(Debug, Clone, Message)]
#[rtype(result = "Result<(), SupervisorError>")]
pub struct RemoveChild(pub String);

/// Ends a child's current incarnation as if it had failed with the given
/// reason (what the [test kit](crate::testing) uses to inject crashes).
#[derive(Debug, Clone, Message)]
#[rtype(result = "Result<(), SupervisorError>")]
pub struct CrashChild {
    /// The child.
    pub id: String,
    /// The failure reason it ends with.
    pub reason: String,
}

struct Child {
    spec: ChildSpec,
    path: String,
    state: ChildState,
    inc: Option<Incarnation>,
    slot: Option<Arc<dyn AnySlot>>,
    incarnations: u64,
    restarts: u32,
    last_failure: Option<String>,
    last_exit: Option<ExitReason>,
    started_at: Option<Instant>,
    backoff_step: u32,
    timer: Option<SpawnHandle>,
    ended: bool,
}

impl Child {
    fn new(mut spec: ChildSpec, parent_path: &str, memo: &IncarnationMemo) -> Self {
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

    fn info(&self) -> ChildInfo {
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

    fn node_kind(&self) -> NodeKind {
        match self.spec.kind {
            ChildKind::Service => NodeKind::Service,
            ChildKind::Supervisor => NodeKind::Supervisor,
        }
    }
}

/// The supervisor actor. Build one with [`Supervisor::builder`] and start
/// the tree with [`Runtime::start`](crate::Runtime::start).
pub struct Supervisor {
    name: String,
    config: SupervisorConfig,
    env: StartEnv,
    children: Vec<Child>,
    window: RestartWindow,
    cx: Option<ServiceContext>,
    memo: IncarnationMemo,
    /// Child id → position in `children`, rebuilt when the list changes.
    positions: HashMap<String, usize>,
    /// Every child incarnation announces its end here; read as one stream.
    exits: mpsc::UnboundedSender<ExitNotice>,
    exit_stream: Option<mpsc::UnboundedReceiver<ExitNotice>>,
}

impl Supervisor {
    /// Starts describing a supervisor named `name`.
    pub fn builder(name: impl Into<String>) -> SupervisorBuilder {
        SupervisorBuilder::new(name)
    }

    pub(crate) fn new(spec: SupervisorSpec, env: StartEnv, memo: IncarnationMemo) -> Self {
        let children = spec
            .children
            .into_iter()
            .map(|c| Child::new(c, &env.path, &memo))
            .collect();
        let (exits, exit_stream) = mpsc::unbounded_channel();
        let mut supervisor = Supervisor {
            name: spec.name,
            config: spec.config,
            env,
            children,
            window: RestartWindow::default(),
            cx: None,
            memo,
            positions: HashMap::new(),
            exits,
            exit_stream: Some(exit_stream),
        };
        supervisor.reindex();
        supervisor
    }

    fn index(&self, id: &str) -> Option<usize> {
        self.positions.get(id).copied()
    }

    fn reindex(&mut self) {
        self.positions = self
            .children
            .iter()
            .enumerate()
            .map(|(i, c)| (c.spec.id.clone(), i))
            .collect();
    }

    /// Spawns child `i` and returns a future of its start result.
    fn launch(
        &mut self,
        i: usize,
    ) -> impl std::future::Future<Output = Result<(), String>> + 'static {
        let registry = self.env.registry.clone();
        let child = &mut self.children[i];
        child.incarnations = self.memo.next(&child.path);
        child.state = ChildState::Starting;
        child.ended = false;
        let env = StartEnv {
            name: child.spec.id.clone(),
            path: child.path.clone(),
            incarnation: child.incarnations,
            restarts: child.restarts,
            exits: Some(self.exits.clone()),
            ..self.env.clone()
        };
        let _ = registry.register(
            &env.name,
            &env.path,
            child.node_kind(),
            crate::service::DEFAULT_HEALTH_INTERVAL,
        );
        registry.set_status(&env.name, 0, Status::Starting, None);
        let mut inc = child.spec.starter.start(&env);
        child.slot = Some(inc.slot.clone());
        let started = inc.started.take();
        let exited = inc.exited();
        child.inc = Some(inc);
        let timeout = child.spec.start_timeout;
        async move {
            let Some(started) = started else {
                return Err("instance could not be created".to_string());
            };
            match tokio::time::timeout(timeout, started).await {
                Ok(Ok(())) => Ok(()),
                Ok(Err(_)) => Err(exited.await.to_string()),
                Err(_) => Err(format!("did not start within {timeout:?}")),
            }
        }
    }

    /// Starts every child in declared order; on the first failure stops the
    /// ones already started (reverse order) and reports which child failed.
    fn start_all(&mut self, _: &mut Context<Self>) -> Step<Result<(), StartFailure>> {
        let ids: Vec<String> = self.children.iter().map(|c| c.spec.id.clone()).collect();
        let starting = sequence(ids.clone(), Self::start_step);
        Box::pin(starting.then(move |result, act, ctx| -> Step<_> {
            let Err((failed, reason)) = result else {
                return Box::pin(ready(Ok(())));
            };
            tracing::warn!(child = %failed, %reason, "child failed to start");
            act.env
                .first_failure
                .lock()
                .get_or_insert_with(|| StartFailure {
                    child: failed.clone(),
                    reason: reason.clone(),
                });
            let pos = ids.iter().position(|id| *id == failed).unwrap_or(0);
            let mut undo = vec![failed.clone()];
            undo.extend(ids[..pos].iter().rev().cloned());
            // The names stay registered: whoever gives up on this supervisor
            // frees them (the runtime, or `AddChild`), while a parent that
            // restarts it keeps the handles to its children working.
            Box::pin(act.stop_in_order(undo, ctx).map(move |(), _, _| {
                Err(StartFailure {
                    child: failed,
                    reason,
                })
            }))
        }))
    }

    /// One step of a start sequence: launch the child, wait for its start.
    fn start_step(
        id: String,
        act: &mut Self,
        _: &mut Context<Self>,
    ) -> Step<Result<(), (String, String)>> {
        let Some(i) = act.index(&id) else {
            return Box::pin(ready(Ok(())));
        };
        let starting = act.launch(i);
        Box::pin(
            wrap_future::<_, Self>(starting).map(move |result, act, _| match result {
                Ok(()) => {
                    act.on_started(&id);
                    Ok(())
                }
                Err(reason) => Err((id, reason)),
            }),
        )
    }

    fn on_started(&mut self, id: &str) {
        if let Some(i) = self.index(id) {
            let c = &mut self.children[i];
            c.state = ChildState::Running;
            c.started_at = Some(Instant::now());
        }
    }

    /// Stops the children with the given ids one after another.
    fn stop_in_order(&mut self, ids: Vec<String>, _: &mut Context<Self>) -> Step<()> {
        let stopping = sequence(
            ids,
            |id: String, act: &mut Self, ctx| -> Step<Result<(), ()>> {
                Box::pin(act.stop_child(&id, ctx).map(|(), _, _| Ok(())))
            },
        );
        Box::pin(stopping.map(|_, _, _| ()))
    }

    /// Stops one child: asks, waits up to its shutdown timeout, then kills.
    /// A child whose start hook has not finished (it failed or timed out)
    /// has no stop hook to run: it is killed at once.
    fn stop_child(&mut self, id: &str, ctx: &mut Context<Self>) -> Step<()> {
        let Some(i) = self.index(id) else {
            return Box::pin(ready(()));
        };
        let registry = self.env.registry.clone();
        let child = &mut self.children[i];
        if let Some(timer) = child.timer.take() {
            ctx.cancel_future(timer);
        }
        let Some(mut inc) = child.inc.take() else {
            if child.state != ChildState::Stopped {
                child.state = ChildState::Stopped;
                registry.set_status(&child.spec.id, 0, Status::Stopped, None);
            }
            return Box::pin(ready(()));
        };
        let shutdown = if child.state == ChildState::Starting {
            Shutdown::Kill
        } else {
            child.spec.shutdown
        };
        child.state = ChildState::Stopping;
        registry.set_status(&child.spec.id, 0, Status::Stopping, None);
        let exited = inc.exited();
        let id = id.to_string();
        // The exit reason, and whether the child was killed because its
        // shutdown timeout ran out (what a shutdown report lists).
        let waiting = async move {
            let ended = match shutdown {
                Shutdown::Kill => {
                    inc.kill();
                    (exited.await, false)
                }
                Shutdown::Infinity => {
                    inc.request_stop();
                    (exited.await, false)
                }
                Shutdown::Timeout(limit) => {
                    inc.request_stop();
                    let mut exited = Box::pin(exited);
                    match tokio::time::timeout(limit, &mut exited).await {
                        Ok(reason) => (reason, false),
                        Err(_) => {
                            inc.kill();
                            (exited.await, true)
                        }
                    }
                }
            };
            drop(inc);
            ended
        };
        Box::pin(
            wrap_future::<_, Self>(waiting).map(move |(reason, timed_out), act, _| {
                act.after_stop(&id, reason, timed_out);
            }),
        )
    }

    fn after_stop(&mut self, id: &str, reason: ExitReason, timed_out: bool) {
        let Some(i) = self.index(id) else { return };
        let registry = self.env.registry.clone();
        let child = &mut self.children[i];
        child.state = ChildState::Stopped;
        child.started_at = None;
        if let Some(slot) = &child.slot {
            slot.down();
        }
        if child.spec.kind == ChildKind::Supervisor {
            // A service's own slot is down already; only a subtree needs the walk.
            self.env.directory.down_subtree(&child.path);
        }
        registry.mark_down(id);
        let message = match &reason {
            ExitReason::Killed if timed_out => {
                self.env.killed.lock().push(id.to_string());
                tracing::warn!(child = %id, "killed at its shutdown timeout; its stop hook may not have run");
                Some("killed at its shutdown timeout; its stop hook may not have run".to_string())
            }
            ExitReason::Killed => Some("killed".to_string()),
            ExitReason::Shutdown | ExitReason::Normal => None,
            other => Some(other.to_string()),
        };
        if let Some(failure) = reason.failure() {
            // A stop hook that panicked or failed is still a failure.
            child.last_failure = Some(failure.clone());
            registry.record_failure(id, failure);
        }
        registry.set_status(id, 0, Status::Stopped, message);
        child.last_exit = Some(reason);
    }

    /// Drops a child's name and handle slot (it is gone for good).
    fn forget(&mut self, id: &str) {
        if let Some(i) = self.index(id) {
            let path = self.children[i].path.clone();
            self.env.registry.deregister_subtree(&path);
            self.env.directory.remove_subtree(&path);
            self.memo.forget_subtree(&path);
        }
    }

    fn on_exit(&mut self, id: &str, number: u64, reason: ExitReason, ctx: &mut Context<Self>) {
        let Some(i) = self.index(id) else { return };
        let child = &mut self.children[i];
        let current = child.inc.as_ref().map(|c| c.number) == Some(number);
        if !current || !matches!(child.state, ChildState::Running | ChildState::Starting) {
            return;
        }
        child.inc = None;
        child.state = ChildState::Stopped;
        if let Some(slot) = &child.slot {
            slot.down();
        }
        let registry = self.env.registry.clone();
        registry.mark_down(id);
        if let Some(failure) = reason.failure() {
            child.last_failure = Some(failure.clone());
            registry.record_failure(id, failure);
        }
        child.last_exit = Some(reason.clone());
        let restart = match child.spec.restart {
            Restart::Permanent => true,
            Restart::Transient => reason.is_abnormal(),
            Restart::Temporary => false,
        };
        if reason.is_abnormal() {
            tracing::warn!(child = %id, %reason, restart, "child exited abnormally");
        } else {
            tracing::info!(child = %id, %reason, restart, "child exited");
        }
        if !restart {
            self.on_ended(id, reason, ctx);
            return;
        }
        self.restart_after_failure(id, reason, ctx);
    }

    /// A child ended and will not be restarted.
    fn on_ended(&mut self, id: &str, reason: ExitReason, ctx: &mut Context<Self>) {
        let Some(i) = self.index(id) else { return };
        let significant = self.children[i].spec.significant;
        self.children[i].ended = true;
        let message = reason.failure();
        let status = if reason.is_abnormal() {
            Status::Failed
        } else {
            Status::Stopped
        };
        self.env.registry.set_status(id, 0, status, message);
        self.forget(id);
        if self.children[i].spec.restart == Restart::Temporary {
            self.children.remove(i);
            self.reindex();
        }
        if significant && self.auto_shutdown_due() {
            tracing::info!(supervisor = %self.name, child = %id, "significant child ended: shutting down");
            let all: Vec<String> = self
                .children
                .iter()
                .rev()
                .map(|c| c.spec.id.clone())
                .collect();
            let stopping = self.stop_in_order(all, ctx);
            ctx.wait(stopping.map(|(), _, ctx| ctx.stop()));
        }
    }

    fn auto_shutdown_due(&self) -> bool {
        match self.config.auto_shutdown {
            AutoShutdown::Never => false,
            AutoShutdown::AnySignificant => true,
            AutoShutdown::AllSignificant => self
                .children
                .iter()
                .filter(|c| c.spec.significant)
                .all(|c| c.ended || c.spec.restart == Restart::Temporary && c.inc.is_none()),
        }
    }

    fn restart_after_failure(&mut self, id: &str, reason: ExitReason, ctx: &mut Context<Self>) {
        let now = Instant::now();
        if !self.window.admit(now, self.config.intensity) {
            let why = format!(
                "more than {} restarts within {:?} (last: `{id}` {reason})",
                self.config.intensity.max_restarts, self.config.intensity.period
            );
            self.give_up(why, ctx);
            return;
        }
        let Some(i) = self.index(id) else { return };
        let backoff = self.config.backoff;
        let registry = self.env.registry.clone();
        let child = &mut self.children[i];
        child.restarts += 1;
        registry.record_restart(id, child.restarts, child.last_failure.clone());
        if child
            .started_at
            .is_some_and(|s| now.saturating_duration_since(s) >= backoff.reset_after)
        {
            child.backoff_step = 0;
        }
        let delay = backoff.jittered_delay(child.backoff_step);
        child.backoff_step = child.backoff_step.saturating_add(1);
        child.state = ChildState::Restarting;
        let message = if delay.is_zero() {
            format!("restarting after: {reason}")
        } else {
            format!("restarting in {} ms after: {reason}", delay.as_millis())
        };
        registry.set_status(id, 0, Status::Error, Some(message));

        let group = self.restart_group(i);
        // Siblings go down in reverse start order, each fully before the next.
        let siblings: Vec<String> = group.iter().rev().filter(|s| *s != id).cloned().collect();
        let id = id.to_string();
        let stopping = self.stop_in_order(siblings, ctx);
        ctx.wait(stopping.map(move |(), act, ctx| {
            let mut to_start = Vec::new();
            for sid in &group {
                let Some(k) = act.index(sid) else { continue };
                if act.children[k].spec.restart == Restart::Temporary && *sid != id {
                    act.forget(sid);
                    act.children.remove(k);
                    act.reindex();
                    continue;
                }
                act.children[k].state = ChildState::Restarting;
                to_start.push(sid.clone());
            }
            if delay.is_zero() {
                act.restart_group_now(to_start, ctx);
            } else {
                // Every member holds the group's timer: stopping them all
                // (shutdown, giving up, a wider restart) cancels it, while
                // removing one of them leaves it to the others.
                let members = to_start.clone();
                let timer = ctx.run_later(delay, move |act, ctx| {
                    for sid in &to_start {
                        if let Some(k) = act.index(sid) {
                            act.children[k].timer = None;
                        }
                    }
                    act.restart_group_now(to_start, ctx);
                });
                for sid in &members {
                    if let Some(k) = act.index(sid) {
                        act.children[k].timer = Some(timer);
                    }
                }
            }
        }));
    }

    /// The ids that restart with child `i`, in start order.
    fn restart_group(&self, i: usize) -> Vec<String> {
        let live =
            |c: &&Child| c.state != ChildState::Stopped || c.spec.id == self.children[i].spec.id;
        match self.config.strategy {
            Strategy::OneForOne => vec![self.children[i].spec.id.clone()],
            Strategy::OneForAll => self
                .children
                .iter()
                .filter(live)
                .map(|c| c.spec.id.clone())
                .collect(),
            Strategy::RestForOne => self.children[i..]
                .iter()
                .filter(live)
                .map(|c| c.spec.id.clone())
                .collect(),
        }
    }

    fn restart_group_now(&mut self, ids: Vec<String>, ctx: &mut Context<Self>) {
        let ids: Vec<String> = ids
            .into_iter()
            .filter(|id| {
                self.index(id)
                    .is_some_and(|k| self.children[k].state == ChildState::Restarting)
            })
            .collect();
        let restarting = self.restart_in_order(ids, ctx);
        ctx.wait(restarting);
    }

    /// Starts restarted children in order. A child that fails to start
    /// counts as failing again: its restart is decided like any other.
    fn restart_in_order(&mut self, ids: Vec<String>, _: &mut Context<Self>) -> Step<()> {
        let starting = sequence(ids.clone(), Self::start_step);
        Box::pin(starting.then(move |result, act, ctx| -> Step<()> {
            let Err((id, reason)) = result else {
                return Box::pin(ready(()));
            };
            tracing::warn!(child = %id, %reason, "restarted child failed to start");
            let pos = ids.iter().position(|x| *x == id).unwrap_or(0);
            let later: Vec<String> = ids[pos + 1..].to_vec();
            Box::pin(act.stop_child(&id, ctx).map(move |(), act, ctx| {
                for other in &later {
                    if let Some(k) = act.index(other) {
                        act.children[k].state = ChildState::Restarting;
                    }
                }
                if let Some(k) = act.index(&id) {
                    act.children[k].last_failure = Some(reason.clone());
                    act.children[k].state = ChildState::Restarting;
                }
                act.restart_after_failure(&id, ExitReason::Failed(reason), ctx);
            }))
        }))
    }

    /// Restart intensity exceeded: stop everything and fail.
    fn give_up(&mut self, why: String, ctx: &mut Context<Self>) {
        tracing::error!(supervisor = %self.name, reason = %why, "giving up");
        if let Some(cx) = &self.cx {
            cx.report(Status::Failed, Some(why.clone()));
            cx.record_failure(why);
        }
        let all: Vec<String> = self
            .children
            .iter()
            .rev()
            .map(|c| c.spec.id.clone())
            .collect();
        let stopping = self.stop_in_order(all, ctx);
        ctx.wait(stopping.map(|(), _, ctx| ctx.stop()));
    }
}

impl Drop for Supervisor {
    fn drop(&mut self) {
        // A supervisor that ends in any way (even killed) takes its children with it.
        for c in &mut self.children {
            if let Some(inc) = c.inc.take() {
                inc.kill();
            }
        }
    }
}

impl Actor for Supervisor {
    type Context = Context<Self>;
}

/// The supervisor's end of its children's exit channel, as an actix stream.
struct ExitStream(mpsc::UnboundedReceiver<ExitNotice>);

impl futures_util::Stream for ExitStream {
    type Item = ExitNotice;
    fn poll_next(
        mut self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<Option<ExitNotice>> {
        self.0.poll_recv(cx)
    }
}

impl StreamHandler<ExitNotice> for Supervisor {
    fn handle(&mut self, notice: ExitNotice, ctx: &mut Context<Self>) {
        let Some(i) = self.index(&notice.id) else {
            return;
        };
        let reason = match &self.children[i].inc {
            Some(inc) if inc.number == notice.number => inc.exit.reason(),
            _ => None,
        };
        if let Some(reason) = reason {
            self.on_exit(&notice.id, notice.number, reason, ctx);
        }
    }

    // The supervisor holds a sender itself: the stream never ends while it runs.
    fn finished(&mut self, _: &mut Context<Self>) {}
}

impl Service for Supervisor {
    fn start(
        &mut self,
        cx: &ServiceContext,
        ctx: &mut Context<Self>,
    ) -> ResponseActFuture<Self, Result<(), BoxError>> {
        self.cx = Some(cx.clone());
        if let Some(exits) = self.exit_stream.take() {
            ctx.add_stream(ExitStream(exits));
        }
        Box::pin(self.start_all(ctx).map(|r, _, _| r.map_err(BoxError::from)))
    }

    fn stop(
        &mut self,
        _cx: &ServiceContext,
        ctx: &mut Context<Self>,
    ) -> ResponseActFuture<Self, ()> {
        let all: Vec<String> = self
            .children
            .iter()
            .rev()
            .map(|c| c.spec.id.clone())
            .collect();
        self.stop_in_order(all, ctx)
    }

    fn health_interval(&self) -> Duration {
        self.config.health_interval
    }
}

impl Handler<WhichChildren> for Supervisor {
    type Result = MessageResult<WhichChildren>;
    fn handle(&mut self, _: WhichChildren, _: &mut Context<Self>) -> Self::Result {
        MessageResult(self.children.iter().map(Child::info).collect())
    }
}

impl Handler<CountChildren> for Supervisor {
    type Result = MessageResult<CountChildren>;
    fn handle(&mut self, _: CountChildren, _: &mut Context<Self>) -> Self::Result {
        let supervisors = self
            .children
            .iter()
            .filter(|c| c.spec.kind == ChildKind::Supervisor)
            .count();
        MessageResult(ChildCounts {
            specs: self.children.len(),
            active: self.children.iter().filter(|c| c.inc.is_some()).count(),
            supervisors,
            workers: self.children.len() - supervisors,
        })
    }
}

impl Handler<AddChild> for Supervisor {
    type Result = AtomicResponse<Self, Result<(), SupervisorError>>;
    fn handle(&mut self, AddChild(spec): AddChild, _: &mut Context<Self>) -> Self::Result {
        if let Err(e) = self.check_new_child(&spec) {
            return AtomicResponse::new(Box::pin(ready(Err(e))));
        }
        let id = spec.id.clone();
        self.children
            .push(Child::new(spec, &self.env.path, &self.memo));
        self.reindex();
        let i = self.children.len() - 1;
        let starting = self.launch(i);
        AtomicResponse::new(Box::pin(wrap_future::<_, Self>(starting).then(
            move |result, act, ctx| -> Step<_> {
                match result {
                    Ok(()) => {
                        act.on_started(&id);
                        Box::pin(ready(Ok(())))
                    }
                    Err(reason) => Box::pin(act.stop_child(&id, ctx).map(move |(), act, _| {
                        act.forget(&id);
                        if let Some(k) = act.index(&id) {
                            act.children.remove(k);
                            act.reindex();
                            act.reindex();
                        }
                        Err(SupervisorError::StartFailed { child: id, reason })
                    })),
                }
            },
        )))
    }
}

impl Supervisor {
    fn check_new_child(&self, spec: &ChildSpec) -> Result<(), SupervisorError> {
        if let Some(e) = &spec.invalid {
            return Err(e.clone().into());
        }
        builder::validate_child(&self.name, self.config.auto_shutdown, spec)?;
        let mut names = Vec::new();
        match spec.starter.nested() {
            Some(nested) => nested.names(&mut names),
            None => names.push(spec.id.clone()),
        }
        let mut seen = std::collections::HashSet::new();
        for n in names {
            let taken = self.index(&n).is_some()
                || self.env.registry.is_registered(&n)
                || self.env.directory.contains(&n)
                || !seen.insert(n.clone());
            if taken {
                return Err(BuildError::DuplicateName { name: n }.into());
            }
        }
        Ok(())
    }
}

impl Handler<RemoveChild> for Supervisor {
    type Result = AtomicResponse<Self, Result<(), SupervisorError>>;
    fn handle(&mut self, RemoveChild(id): RemoveChild, ctx: &mut Context<Self>) -> Self::Result {
        let Some(i) = self.index(&id) else {
            return AtomicResponse::new(Box::pin(ready(Err(SupervisorError::NoSuchChild(id)))));
        };
        // A pending restart of its group still concerns the other members.
        let group_timer = self.children[i].timer.take();
        AtomicResponse::new(Box::pin(self.stop_child(&id, ctx).map(
            move |(), act, ctx| {
                act.forget(&id);
                if let Some(k) = act.index(&id) {
                    act.children.remove(k);
                    act.reindex();
                }
                if let Some(timer) = group_timer {
                    if !act.children.iter().any(|c| c.timer == Some(timer)) {
                        ctx.cancel_future(timer);
                    }
                }
                Ok(())
            },
        )))
    }
}

impl Handler<CrashChild> for Supervisor {
    type Result = Result<(), SupervisorError>;
    fn handle(&mut self, msg: CrashChild, _: &mut Context<Self>) -> Self::Result {
        let i = self
            .index(&msg.id)
            .ok_or_else(|| SupervisorError::NoSuchChild(msg.id.clone()))?;
        match &self.children[i].inc {
            Some(inc) => {
                inc.crash(msg.reason);
                Ok(())
            }
            None => Err(SupervisorError::NoSuchChild(msg.id)),
        }
    }
}

/// A handle to a supervisor that stays valid across its restarts.
#[derive(Clone, Debug)]
pub struct SupervisorRef {
    inner: ServiceRef<Supervisor>,
}

impl SupervisorRef {
    pub(crate) fn new(inner: ServiceRef<Supervisor>) -> Self {
        SupervisorRef { inner }
    }

    /// The supervisor's name.
    pub fn name(&self) -> &str {
        self.inner.name()
    }

    /// The children in start order with their state, restart count and last failure.
    pub async fn which_children(&self) -> Result<Vec<ChildInfo>, CallError> {
        self.inner.call(WhichChildren).await
    }

    /// Counts of the children.
    pub async fn count_children(&self) -> Result<ChildCounts, CallError> {
        self.inner.call(CountChildren).await
    }

    /// Adds a child (validated like at build time) and starts it.
    pub async fn add_child(&self, spec: impl Into<ChildSpec>) -> Result<(), SupervisorError> {
        self.inner.call(AddChild(spec.into())).await?
    }

    /// Stops a child and removes it; its name is freed.
    pub async fn remove_child(&self, id: &str) -> Result<(), SupervisorError> {
        self.inner.call(RemoveChild(id.to_string())).await?
    }

    /// Ends a child's current incarnation as a failure with `reason`.
    pub async fn crash_child(
        &self,
        id: &str,
        reason: impl Into<String>,
    ) -> Result<(), SupervisorError> {
        self.inner
            .call(CrashChild {
                id: id.to_string(),
                reason: reason.into(),
            })
            .await?
    }

    /// The underlying service handle.
    pub fn service_ref(&self) -> &ServiceRef<Supervisor> {
        &self.inner
    }
}
