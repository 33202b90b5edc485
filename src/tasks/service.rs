//! The task service's actor: it starts the workers, publishes health, and
//! applies the age limit of finished tasks. It is never on the data path.
//!
//! Each incarnation spawns [`workers`](super::TasksConfig::workers) worker
//! tasks on its arbiter, tied to the incarnation: when the actor ends (a
//! crash, a restart, a stop) its workers take no new task, finish the one
//! in hand, and exit; the next incarnation starts fresh workers on the same
//! shared queue. So a crash loses no pending task, and a running task is
//! not interrupted by it (for a moment more than `workers` tasks may run).

use super::store::{worker, Shared};
use crate::exit::BoxError;
use crate::health::Details;
use crate::service::{Service, ServiceContext};
use crate::status::Status;
use actix::fut::ready;
use actix::{Actor, Context, ResponseActFuture};
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::Duration;
use tokio_util::sync::CancellationToken;

/// The actor behind a [`Tasks`](super::Tasks) handle. Build it with
/// [`Tasks::service`](super::Tasks::service); it takes no messages.
pub struct TasksService {
    shared: Arc<Shared>,
    workers: CancellationToken,
}

impl TasksService {
    pub(crate) fn new(shared: Arc<Shared>) -> Self {
        TasksService {
            shared,
            workers: CancellationToken::new(),
        }
    }

    /// Publishes the stats as details; returns the status they make.
    fn publish(&self, cx: &ServiceContext) -> Option<Status> {
        self.shared.prune_aged();
        let stats = self.shared.stats();
        let mut details: Details = match serde_json::to_value(&stats) {
            Ok(serde_json::Value::Object(map)) => map.into_iter().collect(),
            _ => Details::new(),
        };
        details.insert(
            "idle_workers".into(),
            (stats.workers.saturating_sub(stats.busy_workers)).into(),
        );
        cx.set_details(details);
        let finished = stats.completed + stats.failed + stats.timed_out + stats.dead;
        let window = (finished as usize).min(self.shared.config.failure_window);
        if window > 0 && stats.failure_rate >= self.shared.config.degraded_failure_rate {
            cx.set_status_with(
                Status::Degraded,
                format!(
                    "{:.0}% of the last {window} tasks failed",
                    stats.failure_rate * 100.0
                ),
            );
            return None;
        }
        Some(if stats.busy_workers >= stats.workers {
            Status::Busy
        } else if stats.busy_workers == 0 && stats.queue_depth == 0 {
            Status::Idle
        } else {
            Status::Ok
        })
    }
}

impl Drop for TasksService {
    fn drop(&mut self) {
        self.workers.cancel();
    }
}

impl Actor for TasksService {
    type Context = Context<Self>;
}

impl Service for TasksService {
    fn start(
        &mut self,
        cx: &ServiceContext,
        _ctx: &mut Context<Self>,
    ) -> ResponseActFuture<Self, Result<(), BoxError>> {
        for _ in 0..self.shared.config.workers {
            actix_rt::spawn(worker(self.shared.clone(), self.workers.clone()));
        }
        if !self.shared.watching.swap(true, Ordering::AcqRel) {
            // Gone for good when the registry forgets the name.
            match cx.registry().watch(cx.name()) {
                Ok(mut watch) => {
                    let shared = Arc::downgrade(&self.shared);
                    actix_rt::spawn(async move {
                        while watch.next().await.is_some() {}
                        if let Some(shared) = shared.upgrade() {
                            shared.close();
                        }
                    });
                }
                Err(e) => {
                    tracing::warn!(tasks = %self.shared.name, error = %e, "cannot watch the registry entry")
                }
            }
        }
        self.publish(cx);
        Box::pin(ready(Ok(())))
    }

    fn stop(
        &mut self,
        _cx: &ServiceContext,
        _ctx: &mut Context<Self>,
    ) -> ResponseActFuture<Self, ()> {
        self.workers.cancel();
        Box::pin(ready(()))
    }

    fn health_check(&mut self, cx: &ServiceContext, _ctx: &mut Context<Self>) -> Option<Status> {
        self.publish(cx)
    }

    fn health_interval(&self) -> Duration {
        self.shared.config.health_interval
    }

    fn initial_status(&self) -> Status {
        Status::Idle
    }
}
