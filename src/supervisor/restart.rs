//! Carrying out what [`decision`](super::decision) decided about an exit:
//! `restart_child` → `do_restart` → `restart_group_after` or `end_child`
//! or `give_up`, as OTP names the steps.

use super::child::ChildState;
use super::decision::{decide, Decision, Exited, Policy};
use super::incarnation::ExitNotice;
use super::Supervisor;
use crate::clock::unix_ms;
use crate::exit::ExitReason;
use crate::registry::Reporter;
use crate::status::Status;
use actix::fut::ActorFutureExt;
use actix::prelude::*;
use std::sync::Arc;
use std::time::Duration;
use tokio::time::Instant;

/// Retry a restart whose start failed (the supervisor's message to itself,
/// OTP's `try_again_restart`).
#[derive(Debug, Message)]
#[rtype(result = "()")]
pub(super) struct RetryRestart {
    pub id: Arc<str>,
    pub reason: String,
}

impl Handler<RetryRestart> for Supervisor {
    type Result = ();
    fn handle(&mut self, msg: RetryRestart, ctx: &mut Context<Self>) {
        let waiting = self
            .index(&msg.id)
            .is_some_and(|i| self.children[i].state == ChildState::Restarting);
        // A stop or removal handled in between has settled the child.
        let stopping = self.cx.as_ref().is_some_and(|cx| !cx.is_running());
        if waiting && !stopping {
            self.do_restart(&msg.id, &ExitReason::Failed(msg.reason), ctx);
        }
    }
}

impl Supervisor {
    /// An incarnation of a child ended: record it, then decide.
    pub(super) fn restart_child(&mut self, notice: &ExitNotice, ctx: &mut Context<Self>) {
        let Some(i) = self.index(&notice.id) else {
            return;
        };
        let child = &mut self.children[i];
        let reason = match &child.inc {
            Some(inc) if inc.number == notice.number => inc.exit_reason(),
            _ => None,
        };
        // An exit the supervisor caused itself (a stop) is handled where it
        // was caused.
        let Some(reason) = reason else { return };
        if !matches!(child.state, ChildState::Running | ChildState::Starting) {
            return;
        }
        child.inc = None;
        child.state = ChildState::Stopped;
        let registry = self.env.registry.clone();
        let failure = reason.failure();
        if let Some(failure) = &failure {
            child.history().last_failure = Some(failure.clone());
        }
        registry.mark_down(&notice.id, failure);
        if reason.is_abnormal() {
            tracing::warn!(service = %notice.id, path = %child.path, %reason, "service exited abnormally");
        } else {
            tracing::info!(service = %notice.id, path = %child.path, %reason, "service exited");
        }
        let id = notice.id.clone();
        self.do_restart(&id, &reason, ctx);
        // Recorded after the decision so the reason moves instead of being
        // copied; a temporary child that left the list keeps no history.
        if let Some(i) = self.index(&id) {
            self.children[i].history().last_exit = Some(reason);
        }
    }

    fn policy(&self) -> Policy {
        Policy {
            strategy: self.config.strategy,
            intensity: self.config.intensity,
            backoff: self.config.backoff,
            backoff_reset: self.config.backoff_reset,
            auto_shutdown: self.config.auto_shutdown,
        }
    }

    /// Decides about the exit of child `id` and carries the decision out.
    fn do_restart(&mut self, id: &Arc<str>, reason: &ExitReason, ctx: &mut Context<Self>) {
        let Some(i) = self.index(id) else { return };
        let exit = Exited {
            index: i,
            id,
            reason,
        };
        let now = Instant::now();
        let decision = decide(
            &self.policy(),
            &self.children[..],
            exit,
            &mut self.window,
            now,
            fastrand::f64(),
        );
        // The decision had how long it ran; from here on it is not running.
        self.children[i].started_at = None;
        match decision {
            Decision::Ended { remove, shut_down } => {
                self.end_child(id, reason, remove, shut_down, ctx)
            }
            Decision::GiveUp { reason: why } => {
                // The child whose exit tipped the window shows why it is down.
                self.env.registry.set_status(
                    id,
                    Reporter::Supervisor,
                    Status::Failed,
                    Some(format!(
                        "not restarted, its supervisor gave up; exited: {reason}"
                    )),
                );
                self.give_up(why, ctx)
            }
            Decision::Restart {
                group,
                delay,
                backoff_step,
            } => {
                let child = &mut self.children[i];
                child.backoff_step = backoff_step;
                let ids = self.children[group]
                    .iter()
                    .map(|c| c.spec.id.clone())
                    .collect();
                self.restart_group_after(id, reason, ids, delay, now, ctx);
            }
        }
    }

    /// Restarts `group` (ids in start order, `id` among them): stops the
    /// others in reverse start order, then starts them all after `delay`
    /// (counted from `now`, when the exit was decided).
    fn restart_group_after(
        &mut self,
        id: &Arc<str>,
        reason: &ExitReason,
        group: Vec<Arc<str>>,
        delay: Duration,
        now: Instant,
        ctx: &mut Context<Self>,
    ) {
        let Some(i) = self.index(id) else { return };
        let registry = self.env.registry.clone();
        self.count_restart(i, due(delay, || now));
        self.children[i].state = ChildState::Restarting;
        let message = if delay.is_zero() {
            format!("restarting after: {reason}")
        } else {
            format!("restarting in {} ms after: {reason}", delay.as_millis())
        };
        registry.set_status_at(
            id,
            Reporter::Supervisor,
            Status::Error,
            Some(message),
            Some(now),
        );
        let path = self.children[i].path.clone();
        tracing::info!(service = %id, path = %path, delay_ms = delay.as_millis() as u64, %reason, "restarting service");

        // Siblings go down in reverse start order, each fully before the next.
        let siblings: Vec<Arc<str>> = group.iter().rev().filter(|s| *s != id).cloned().collect();
        let id = id.clone();
        if siblings.is_empty() {
            // Nothing to wait for: one-for-one, or the exited child is last.
            self.restart_stopped_group(&id, group, delay, ctx);
            return;
        }
        let stopping = self.stop_in_order(siblings, ctx);
        ctx.wait(stopping.map(move |(), act, ctx| {
            act.restart_stopped_group(&id, group, delay, ctx);
        }));
    }

    /// The group is down (but for `id`, which exited): temporary members
    /// leave, the others start again after `delay`.
    fn restart_stopped_group(
        &mut self,
        id: &Arc<str>,
        group: Vec<Arc<str>>,
        delay: Duration,
        ctx: &mut Context<Self>,
    ) {
        let mut to_start = group;
        let due = due(delay, Instant::now);
        to_start.retain(|sid| {
            let Some(k) = self.index(sid) else {
                return false;
            };
            if self.children[k].is_temporary() && sid != id {
                self.forget(sid);
                self.children.remove(k);
                self.reindex();
                return false;
            }
            if sid != id {
                self.count_restart(k, due);
            }
            self.children[k].state = ChildState::Restarting;
            true
        });
        if delay.is_zero() {
            self.start_restarting(to_start, ctx);
            return;
        }
        // Every member holds the group's timer: stopping them all
        // (shutdown, giving up, a wider restart) cancels it, while
        // removing one of them leaves it to the others.
        let members = to_start.clone();
        let timer = ctx.run_later(delay, move |act, ctx| {
            for sid in &to_start {
                if let Some(k) = act.index(sid) {
                    act.children[k].take_timer();
                }
            }
            act.start_restarting(to_start, ctx);
        });
        for sid in &members {
            if let Some(k) = self.index(sid) {
                self.children[k].history().timer = Some(timer);
            }
        }
    }

    /// Counts a restart of child `i` (the one that exited, or a member of its
    /// group), due at `due` or at once.
    fn count_restart(&mut self, i: usize, due: Option<Instant>) {
        let registry = self.env.registry.clone();
        let child = &mut self.children[i];
        child.restarts = child.restarts.saturating_add(1);
        child.local_restarts = child.local_restarts.saturating_add(1);
        // Its last failure is in the registry already (recorded at the exit).
        registry.record_restart(&child.spec.id, child.restarts, None);
        if let Some(at) = due {
            child.history().restart_at = Some(at);
            registry.set_restart_at(&child.spec.id, Some(unix_ms(at)));
        }
    }

    /// Starts those of `ids` still waiting to be restarted.
    fn start_restarting(&mut self, ids: Vec<Arc<str>>, ctx: &mut Context<Self>) {
        let ids: Vec<Arc<str>> = ids
            .into_iter()
            .filter(|id| {
                self.index(id)
                    .is_some_and(|k| self.children[k].state == ChildState::Restarting)
            })
            .collect();
        let starting = self.start_group(ids, ctx);
        ctx.wait(starting);
    }

    /// A child ended and is not restarted.
    fn end_child(
        &mut self,
        id: &str,
        reason: &ExitReason,
        remove: bool,
        shut_down: bool,
        ctx: &mut Context<Self>,
    ) {
        let Some(i) = self.index(id) else { return };
        self.children[i].ended = true;
        let (status, message) = match reason.failure() {
            Some(failure) => (Status::Failed, format!("ended: {failure}")),
            None => (Status::Stopped, format!("ended: {reason}")),
        };
        self.env
            .registry
            .set_status(id, Reporter::Supervisor, status, Some(message));
        let path = self.children[i].path.clone();
        tracing::info!(service = %id, path = %path, %reason, "service ended and is not restarted");
        // A final record stays in the registry for a while; the handles see
        // the service stopped.
        self.env.registry.retire_subtree(&path);
        if remove {
            self.env.directory.remove_subtree(&path);
            self.memo.forget_subtree(&path);
            self.children.remove(i);
            self.reindex();
        } else {
            // Still in the child list: a sibling's group restart starts it again.
            self.env.directory.end_subtree(&path);
        }
        if shut_down {
            tracing::info!(service = %self.name, path = %self.env.path, child = %id, "significant child ended: shutting down");
            self.stop_all_and_end(ctx);
        }
    }

    /// Restart intensity exceeded: stop everything and end. As in OTP the
    /// supervisor ends as if shut down (its parent restarts it only if it is
    /// permanent), while its health shows it failed with the reason.
    fn give_up(&mut self, why: String, ctx: &mut Context<Self>) {
        tracing::error!(service = %self.name, path = %self.env.path, reason = %why, "supervisor gives up");
        if let Some(cx) = &self.cx {
            cx.report(Status::Failed, Some(format!("gave up: {why}")));
            cx.end_with(ExitReason::GaveUp(why));
        }
        self.stop_all_and_end(ctx);
    }

    /// Drops a child's name and handle slot (it is gone for good).
    pub(super) fn forget(&mut self, id: &str) {
        if let Some(i) = self.index(id) {
            let path = self.children[i].path.clone();
            self.env.registry.deregister_subtree(&path);
            self.env.directory.remove_subtree(&path);
            self.memo.forget_subtree(&path);
        }
    }
}

/// When a restart after `delay` is due: none for one at once (the clock is
/// read only for a delayed one).
fn due(delay: Duration, now: impl FnOnce() -> Instant) -> Option<Instant> {
    (!delay.is_zero()).then(|| crate::clock::after(now(), delay))
}
