//! Starting children: one at a time, in start order, each only once its
//! predecessor reported started.

use super::child::ChildState;
use super::restart::RetryRestart;
use super::sequence::sequence;
use super::{StartEnv, StartFailure, Step, Supervisor};
use actix::fut::{ready, wrap_future, ActorFutureExt};
use actix::prelude::*;
use std::sync::Arc;
use tokio::time::Instant;

impl Supervisor {
    /// Spawns child `i` and returns a future of its start result: the time
    /// the instance reported it started, or why it did not.
    pub(super) fn launch(
        &mut self,
        i: usize,
    ) -> impl std::future::Future<Output = Result<Instant, String>> + 'static {
        // One reading for the registry's "starting" and the start deadline.
        let now = Instant::now();
        let registry = self.env.registry.clone();
        let child = &mut self.children[i];
        child.incarnations += 1;
        // Every start after the first is a restart, also one by a new
        // instance of this supervisor.
        let started_before = u32::try_from(child.incarnations - 1).unwrap_or(u32::MAX);
        let restarts = child.restarts.max(started_before);
        if restarts != child.restarts {
            child.restarts = restarts;
            registry.record_restart(&child.spec.id, restarts, child.last_failure().cloned());
        }
        child.state = ChildState::Starting;
        child.ended = false;
        let placement = child.spec.placement.or(&self.env.placement);
        let env = StartEnv {
            name: child.spec.id.clone(),
            path: child.path.clone(),
            incarnation: child.incarnations,
            restarts: child.restarts,
            exits: Some(self.exits.clone()),
            hooks: child.spec.hooks.clone(),
            placement,
            ..self.env.clone()
        };
        let _ = registry.register(
            &env.name,
            &env.path,
            child.spec.kind,
            crate::service::DEFAULT_HEALTH_INTERVAL,
            now,
        );
        let place = match self.env.arbiters.place(&env.placement) {
            Ok(place) => place,
            Err(reason) => {
                child.state = ChildState::Stopped;
                return futures_util::future::Either::Left(std::future::ready(Err(reason)));
            }
        };
        let mut inc = child.spec.starter.clone().start(&env, place);
        let started = inc.started.take();
        let exited = inc.exited();
        child.inc = Some(inc);
        let timeout = child.spec.start_timeout;
        let deadline = crate::clock::after(now, timeout);
        futures_util::future::Either::Right(async move {
            let Some(started) = started else {
                return Err("instance could not be created".to_string());
            };
            match tokio::time::timeout_at(deadline, started).await {
                Ok(Ok(at)) => Ok(at),
                Ok(Err(_)) => Err(exited.await.to_string()),
                Err(_) => Err(format!("did not start within {timeout:?}")),
            }
        })
    }

    /// Starts every child in declared order; on the first failure stops the
    /// ones already started (reverse order) and reports which child failed.
    pub(super) fn start_all(&mut self, _: &mut Context<Self>) -> Step<Result<(), StartFailure>> {
        let ids: Vec<Arc<str>> = self.children.iter().map(|c| c.spec.id.clone()).collect();
        let starting = sequence(ids.clone(), Self::start_step);
        Box::pin(starting.then(move |result, act, ctx| -> Step<_> {
            let Err(((failed, reason), _)) = result else {
                return Box::pin(ready(Ok(())));
            };
            tracing::warn!(service = %failed, supervisor = %act.name, %reason, "service failed to start");
            act.env
                .first_failure
                .lock()
                .get_or_insert_with(|| StartFailure {
                    child: failed.to_string(),
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
                    child: failed.to_string(),
                    reason,
                })
            }))
        }))
    }

    /// One step of a start sequence: launch the child, wait for its start.
    pub(super) fn start_step(
        id: Arc<str>,
        act: &mut Self,
        _: &mut Context<Self>,
    ) -> Step<Result<(), (Arc<str>, String)>> {
        let Some(i) = act.locate(&id, act.last_launched + 1) else {
            return Box::pin(ready(Ok(())));
        };
        act.last_launched = i;
        let starting = act.launch(i);
        Box::pin(
            wrap_future::<_, Self>(starting).map(move |result, act, _| match result {
                Ok(at) => {
                    act.on_started(&id, at);
                    Ok(())
                }
                Err(reason) => Err((id, reason)),
            }),
        )
    }

    /// Child `id` started at `at`.
    pub(super) fn on_started(&mut self, id: &Arc<str>, at: Instant) {
        if let Some(i) = self.locate(id, self.last_launched) {
            let c = &mut self.children[i];
            c.state = ChildState::Running;
            c.started_at = Some(at);
            if c.take_restart_at().is_some() {
                self.env.registry.set_restart_at(id, None);
            }
        }
    }

    /// Starts the members of a restarted group in order. A child that fails
    /// to start is stopped, the members after it wait, and the failure is
    /// decided like any other exit — through a message to itself, so that a
    /// stop or a removal already waiting is handled first.
    pub(super) fn start_group(&mut self, ids: Vec<Arc<str>>, _: &mut Context<Self>) -> Step<()> {
        let starting = sequence(ids, Self::start_step);
        Box::pin(starting.then(move |result, act, ctx| -> Step<()> {
            let Err(((id, reason), later)) = result else {
                return Box::pin(ready(()));
            };
            tracing::warn!(service = %id, supervisor = %act.name, %reason, "restarted service failed to start");
            Box::pin(act.stop_child(&id, ctx).map(move |(), act, ctx| {
                for other in later.as_slice().iter().chain(std::iter::once(&id)) {
                    if let Some(k) = act.index(other) {
                        act.children[k].state = ChildState::Restarting;
                    }
                }
                if let Some(k) = act.index(&id) {
                    act.children[k].history().last_failure = Some(reason.clone());
                }
                ctx.notify(RetryRestart { id, reason });
            }))
        }))
    }
}
