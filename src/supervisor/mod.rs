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
//! * a [`Backoff`](crate::kit::Backoff) delays restarts; a pending backoff
//!   never delays a stop;
//! * a restart whose start fails counts as another failure, and is retried
//!   through a message the supervisor sends itself (OTP's
//!   `try_again_restart`), so a shutdown or a `remove_child` waiting in the
//!   meantime gets its turn first;
//! * the old instance's stop has finished before the new one's start hook runs;
//!   incarnation numbers only grow, also for the children of a restarted
//!   nested supervisor, so an old instance is never taken for the new one;
//! * a child whose start hook failed or timed out is killed at once (it has
//!   no stop hook to run); only children killed because their shutdown
//!   timeout ran out are reported as killed.
//!
//! The supervisor is itself a [`Service`]: a nested supervisor is simply a
//! child whose start hook starts its own children.
//!
//! Where things are: [`decision`](self) — the pure restart decision (read it
//! first); `restart.rs` — carrying a decision out; `start.rs` and `stop.rs`
//! — starting and stopping children in order; `messages.rs` — run-time
//! requests ([`SupervisorRef`]); `builder.rs` and `validate.rs` — building
//! and checking a tree.

mod builder;
mod check_clock;
mod child;
mod decision;
mod incarnation;
mod messages;
mod policy;
mod restart;
mod sequence;
mod spec;
mod start;
mod stop;
mod validate;

pub use builder::{SupervisorBuilder, SupervisorConfig, SupervisorSpec, DEFAULT_BACKOFF_RESET};
pub use child::{ChildCounts, ChildInfo, ChildState};
pub use messages::{
    AddChild, CountChildren, CrashChild, RemoveChild, SupervisorError, SupervisorRef, WhichChildren,
};
pub use policy::{AutoShutdown, Intensity, Strategy};
pub use spec::{ChildSpec, Restart, Shutdown, DEFAULT_SHUTDOWN_TIMEOUT, DEFAULT_START_TIMEOUT};
pub use validate::BuildError;

pub(crate) use incarnation::{Incarnation, StartEnv};
pub(crate) use spec::{ChildHooks, Starter, SupervisorStarter};

use crate::exit::BoxError;
use crate::service::{Service, ServiceContext};
use actix::fut::ActorFutureExt;
use actix::prelude::*;
use child::Child;
use decision::RestartWindow;
use incarnation::ExitNotice;
use serde::{Deserialize, Serialize};
use spec::IncarnationMemo;
use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::mpsc;

type Step<T> = ResponseActFuture<Supervisor, T>;

/// A start that failed: which child, and why.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, thiserror::Error)]
#[error("child `{child}` failed to start: {reason}")]
pub struct StartFailure {
    /// The first child that failed (a nested supervisor names its own).
    pub child: String,
    /// Why.
    pub reason: String,
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
    positions: HashMap<Arc<str>, usize, crate::names::NameHash>,
    /// Every child incarnation announces its end here; read as one stream.
    exits: mpsc::UnboundedSender<ExitNotice>,
    exit_stream: Option<mpsc::UnboundedReceiver<ExitNotice>>,
    /// Where the child launched last is (a guess for `locate`).
    last_launched: usize,
}

impl std::fmt::Debug for Supervisor {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Supervisor")
            .field("name", &self.name)
            .field("children", &self.children.len())
            .finish()
    }
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
            positions: HashMap::default(),
            exits,
            exit_stream: Some(exit_stream),
            last_launched: 0,
        };
        supervisor.reindex();
        supervisor
    }

    fn index(&self, id: &str) -> Option<usize> {
        self.positions.get(id).copied()
    }

    /// The position of child `id`, trying `hint` first: starting children
    /// in order, the next one is the one after the last, and a pointer
    /// comparison spares a lookup in a large table.
    fn locate(&self, id: &Arc<str>, hint: usize) -> Option<usize> {
        match self.children.get(hint) {
            Some(c) if Arc::ptr_eq(&c.spec.id, id) => Some(hint),
            _ => self.index(id),
        }
    }

    fn reindex(&mut self) {
        self.positions = self
            .children
            .iter()
            .enumerate()
            .map(|(i, c)| (c.spec.id.clone(), i))
            .collect();
    }

    /// Every child id, last started first.
    fn ids_in_reverse(&self) -> Vec<Arc<str>> {
        self.children
            .iter()
            .rev()
            .map(|c| c.spec.id.clone())
            .collect()
    }
}

impl Drop for Supervisor {
    fn drop(&mut self) {
        // A supervisor that ends in any way (even killed) takes its children
        // with it; those added at run time are gone for good (a new instance
        // has only its spec's children, as in OTP), so their names are free.
        for c in &mut self.children {
            if let Some(inc) = c.inc.take() {
                inc.kill();
            }
            if c.dynamic {
                self.env.registry.deregister_subtree(&c.path);
                self.env.directory.remove_subtree(&c.path);
                self.memo.forget_subtree(&c.path);
            } else {
                self.memo.keep(
                    c.path.clone(),
                    spec::Remembered {
                        incarnation: c.incarnations,
                        restarts: c.restarts,
                    },
                );
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
        self.restart_child(&notice, ctx);
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
        let all = self.ids_in_reverse();
        self.stop_in_order(all, ctx)
    }

    fn health_interval(&self) -> Duration {
        self.config.health_interval
    }
}
