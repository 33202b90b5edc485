//! Routines: services that are one async function — a single-shot job or
//! a loop.
//!
//! A [`Routine`] runs `run` once. A job returns when its work is done — a
//! normal finish, not a failure, so give it a
//! [transient](crate::ChildSpec::transient) or
//! [temporary](crate::ChildSpec::temporary) restart type. A loop runs until
//! [`ServiceContext::cancelled`] fires, which happens when its supervisor
//! stops it; past the shutdown timeout it is killed.
//!
//! ```
//! use servitor::{BoxError, Routine, ServiceContext};
//!
//! struct Pump;
//!
//! impl Routine for Pump {
//!     async fn run(&mut self, cx: &ServiceContext) -> Result<(), BoxError> {
//!         let mut tick = tokio::time::interval(std::time::Duration::from_millis(100));
//!         loop {
//!             tokio::select! {
//!                 _ = cx.cancelled() => return Ok(()),
//!                 _ = tick.tick() => cx.heartbeat(),
//!             }
//!         }
//!     }
//! }
//! ```

use super::joint::Joint;
use super::{Service, ServiceContext, DEFAULT_HEALTH_INTERVAL};
use crate::exit::BoxError;
use actix::fut::{ready, wrap_future, ActorFutureExt};
use actix::prelude::*;
use std::future::Future;
use std::time::Duration;

/// A service that is one async function (a single-shot job or a loop).
#[allow(async_fn_in_trait)]
pub trait Routine: 'static {
    /// The work. `Ok` is a normal exit, `Err` (or a panic) a failure.
    async fn run(&mut self, cx: &ServiceContext) -> Result<(), BoxError>;

    /// Setup before `run`; an error means the service failed to start.
    async fn start(&mut self, cx: &ServiceContext) -> Result<(), BoxError> {
        let _ = cx;
        Ok(())
    }

    /// Cleanup after `run` returned because a stop was requested.
    async fn stop(&mut self, cx: &ServiceContext) {
        let _ = cx;
    }

    /// Expected heartbeat interval. Default 30 s.
    fn health_interval(&self) -> Duration {
        DEFAULT_HEALTH_INTERVAL
    }

    /// True when `run` calls [`ServiceContext::heartbeat`] itself (a loop,
    /// once per iteration): then only those beats count, and a loop that
    /// hangs shows as stale. Default false (the runtime beats for it).
    fn manual_heartbeat(&self) -> bool {
        false
    }
}

/// A [`Routine`] made of a closure: `RoutineFn(|cx| async move { ... })`.
pub struct RoutineFn<F>(pub F);

impl<F> std::fmt::Debug for RoutineFn<F> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("RoutineFn")
    }
}

impl<F, Fut> Routine for RoutineFn<F>
where
    F: FnMut(ServiceContext) -> Fut + 'static,
    Fut: Future<Output = Result<(), BoxError>>,
{
    async fn run(&mut self, cx: &ServiceContext) -> Result<(), BoxError> {
        (self.0)(cx.clone()).await
    }
}

/// The actor that runs a [`Routine`].
pub struct RoutineService<T: Routine> {
    // Boxed: actix actors must be Unpin, user types need not be.
    task: Option<Box<T>>,
    /// `run` while it executes, shared with the stop hook (see [`Joint`]).
    running: Option<Joint<RunOutput<T>>>,
}

/// What `run` hands back: the task, and how it ended.
type RunOutput<T> = (Box<T>, Result<(), BoxError>);

impl<T: Routine> RoutineService<T> {
    pub(crate) fn new(task: T) -> Self {
        RoutineService {
            task: Some(Box::new(task)),
            running: None,
        }
    }

    /// The task, while `run` is not executing.
    pub fn task(&self) -> Option<&T> {
        self.task.as_deref()
    }

    fn spawn_run(&mut self, cx: &ServiceContext, ctx: &mut Context<Self>) {
        let Some(mut task) = self.task.take() else {
            return;
        };
        let run_cx = cx.clone();
        let run = Joint::new(async move {
            let result = task.run(&run_cx).await;
            (task, result)
        });
        self.running = Some(run.clone());
        let cx = cx.clone();
        ctx.spawn(
            wrap_future::<_, Self>(run.drive()).map(move |finished, act, ctx| {
                // `None`: the stop hook saw `run` finish and handled it.
                let Some((task, result)) = finished else {
                    return;
                };
                act.task = Some(task);
                act.running = None;
                match result {
                    Err(e) => cx.fail::<Self>(ctx, e),
                    // A stop in progress finishes the instance itself.
                    Ok(()) if cx.is_running() => ctx.stop(),
                    Ok(()) => {}
                }
            }),
        );
    }
}

impl<T: Routine> Actor for RoutineService<T> {
    type Context = Context<Self>;
}

impl<T: Routine> Service for RoutineService<T> {
    fn start(
        &mut self,
        cx: &ServiceContext,
        _: &mut Context<Self>,
    ) -> ResponseActFuture<Self, Result<(), BoxError>> {
        let Some(mut task) = self.task.take() else {
            return Box::pin(ready(Ok(())));
        };
        let hook_cx = cx.clone();
        let cx = cx.clone();
        Box::pin(
            wrap_future::<_, Self>(async move {
                let result = task.start(&hook_cx).await;
                (task, result)
            })
            .map(move |(task, result), act, ctx| {
                act.task = Some(task);
                if result.is_ok() {
                    act.spawn_run(&cx, ctx);
                }
                result
            }),
        )
    }

    fn stop(&mut self, cx: &ServiceContext, _: &mut Context<Self>) -> ResponseActFuture<Self, ()> {
        let running = self.running.take();
        let cx = cx.clone();
        Box::pin(
            wrap_future::<_, Self>(async move {
                match running {
                    // Drive `run` to its end here: actix does not poll the
                    // spawned runner while this hook is pending.
                    Some(run) => run.drive().await,
                    None => None,
                }
            })
            .then(move |finished, act, _| -> ResponseActFuture<Self, ()> {
                if let Some((task, result)) = finished {
                    act.task = Some(task);
                    if let Err(e) = result {
                        cx.record_failure(e.to_string());
                    }
                }
                let Some(mut task) = act.task.take() else {
                    return Box::pin(ready(()));
                };
                Box::pin(
                    wrap_future::<_, Self>(async move {
                        task.stop(&cx).await;
                        task
                    })
                    .map(|task, act, _| act.task = Some(task)),
                )
            }),
        )
    }

    fn health_interval(&self) -> Duration {
        self.task
            .as_deref()
            .map(T::health_interval)
            .unwrap_or(DEFAULT_HEALTH_INTERVAL)
    }

    fn beats_on_health_check(&self) -> bool {
        !self.task.as_deref().is_some_and(T::manual_heartbeat)
    }
}

impl<T: Routine> std::fmt::Debug for RoutineService<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RoutineService")
            .field("running", &self.running.is_some())
            .finish()
    }
}
