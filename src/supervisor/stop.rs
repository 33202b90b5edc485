//! Stopping children: ask, wait up to the shutdown timeout, then kill; in
//! reverse start order, each fully before the next.

use super::child::ChildState;
use super::sequence::sequence;
use super::spec::Shutdown;
use super::{Step, Supervisor};
use crate::exit::ExitReason;
use crate::health::NodeKind;
use crate::registry::Reporter;
use crate::status::Status;
use actix::fut::{ready, wrap_future, ActorFutureExt};
use actix::prelude::*;
use std::sync::Arc;

impl Supervisor {
    /// Stops the children with the given ids one after another.
    pub(super) fn stop_in_order(&mut self, ids: Vec<Arc<str>>, _: &mut Context<Self>) -> Step<()> {
        let stopping = sequence(
            ids,
            |id: Arc<str>, act: &mut Self, ctx| -> Step<Result<(), ()>> {
                Box::pin(act.stop_child(&id, ctx).map(|(), _, _| Ok(())))
            },
        );
        Box::pin(stopping.map(|_, _, _| ()))
    }

    /// Stops every child in reverse start order, then ends the supervisor
    /// (it gave up, or auto-shutdown is due).
    pub(super) fn stop_all_and_end(&mut self, ctx: &mut Context<Self>) {
        let all = self.ids_in_reverse();
        let stopping = self.stop_in_order(all, ctx);
        ctx.wait(stopping.map(|(), _, ctx| ctx.stop()));
    }

    /// Stops one child: asks, waits up to its shutdown timeout, then kills.
    /// A child whose start hook has not finished (it failed or timed out)
    /// has no stop hook to run: it is killed at once.
    pub(super) fn stop_child(&mut self, id: &str, ctx: &mut Context<Self>) -> Step<()> {
        let Some(i) = self.index(id) else {
            return Box::pin(ready(()));
        };
        let registry = self.env.registry.clone();
        let child = &mut self.children[i];
        if let Some(timer) = child.take_timer() {
            ctx.cancel_future(timer);
        }
        let Some(mut inc) = child.inc.take() else {
            if child.state != ChildState::Stopped {
                child.state = ChildState::Stopped;
                registry.set_status(&child.spec.id, Reporter::Supervisor, Status::Stopped, None);
                child.hook_stopped();
            }
            return Box::pin(ready(()));
        };
        let shutdown = if child.state == ChildState::Starting {
            Shutdown::Kill
        } else {
            child.spec.shutdown
        };
        child.state = ChildState::Stopping;
        registry.set_status(&child.spec.id, Reporter::Supervisor, Status::Stopping, None);
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
        if child.spec.kind == NodeKind::Supervisor {
            // A service's own slot is down already; only a subtree needs the walk.
            self.env.directory.down_subtree(&child.path);
        }
        let message = match &reason {
            ExitReason::Killed if timed_out => {
                self.env.shutdown_log.killed(id);
                tracing::warn!(service = %id, path = %child.path, "killed at its shutdown timeout; its stop hook may not have run");
                Some("killed at its shutdown timeout; its stop hook may not have run".to_string())
            }
            ExitReason::Killed => Some("killed".to_string()),
            ExitReason::Shutdown | ExitReason::Normal => None,
            other => Some(other.to_string()),
        };
        let failure = reason.failure();
        if let Some(failure) = &failure {
            // A stop hook that panicked or failed is still a failure.
            if reason.is_abnormal() {
                tracing::warn!(service = %id, path = %child.path, %reason, "service failed while stopping");
                self.env.shutdown_log.failed(id, failure.clone());
            }
            child.history().last_failure = Some(failure.clone());
        }
        registry.mark_down(id, failure);
        registry.set_status(id, Reporter::Supervisor, Status::Stopped, message);
        child.history().last_exit = Some(reason);
        child.hook_stopped();
    }
}
