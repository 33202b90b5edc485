//! The scheduler service: the actor that drives a scheduler's jobs and
//! publishes their stats as its health.
//!
//! When an instance starts it spawns one driver loop in its own context.
//! The loop starts every job that is due, waits for the earliest next
//! deadline, a change made through a handle, or the end of a run, and
//! after each wake publishes the job stats as health details (at least
//! every [`health_interval`](super::SchedulerConfig::health_interval)).
//! Runs are futures owned by the loop, so they run on the scheduler's
//! arbiter and end with the instance.
//!
//! How it fails: a job's error or panic is a failed run, never a crash of
//! the actor. If the instance ends anyway (an injected crash, a panic in
//! the scheduler itself), runs in progress are dropped — not counted — and
//! the supervisor restarts it; the jobs, their stats and their next slots
//! live in the shared state, so the new instance resumes them, applying
//! each job's missed-run policy to slots that passed while it was down.

use super::job::{run_once, Shared};
use crate::exit::BoxError;
use crate::health::Details;
use crate::service::{Service, ServiceContext};
use crate::status::Status;
use actix::fut::{ready, wrap_future};
use actix::{Actor, AsyncContext, Context, ResponseActFuture};
use chrono::Utc;
use futures_util::stream::FuturesUnordered;
use futures_util::StreamExt;
use serde_json::json;
use std::sync::Arc;
use std::time::{Duration, UNIX_EPOCH};
use tokio::time::Instant;

/// The actor behind a [`Scheduler`](super::Scheduler). Build it with
/// [`Scheduler::service`](super::Scheduler::service), which hands back its
/// [`ChildSpec`](crate::ChildSpec); it takes no messages.
pub struct SchedulerService {
    shared: Arc<Shared>,
}

impl SchedulerService {
    pub(crate) fn new(shared: Arc<Shared>) -> Self {
        SchedulerService { shared }
    }
}

impl Actor for SchedulerService {
    type Context = Context<Self>;
}

impl Service for SchedulerService {
    fn start(
        &mut self,
        cx: &ServiceContext,
        ctx: &mut Context<Self>,
    ) -> ResponseActFuture<Self, Result<(), BoxError>> {
        publish(&self.shared, cx, &mut None);
        ctx.spawn(wrap_future(drive(self.shared.clone(), cx.clone())));
        Box::pin(ready(Ok(())))
    }

    fn health_interval(&self) -> Duration {
        self.shared.config.health_interval
    }
}

async fn drive(shared: Arc<Shared>, cx: ServiceContext) {
    let mut runs = FuturesUnordered::new();
    let mut degraded: Option<String> = None;
    loop {
        let now = Instant::now();
        let (tickets, earliest) = shared.plan(now, Utc::now());
        for ticket in tickets {
            let shared = shared.clone();
            runs.push(async move {
                // Records a run cut short when the instance ends mid-run.
                let mut guard = Completion {
                    shared,
                    ticket: Some(ticket),
                };
                let run = guard.ticket.as_ref().map(|t| t.run.clone()).unwrap();
                let outcome = run_once(run).await;
                if let Some(t) = guard.ticket.take() {
                    guard.shared.complete(&t, Some(outcome));
                }
            });
        }
        publish(&shared, &cx, &mut degraded);
        let wake = now + shared.config.health_interval;
        let deadline = earliest.map_or(wake, |e| e.min(wake));
        tokio::select! {
            _ = tokio::time::sleep_until(deadline) => {}
            _ = shared.changed.notified() => {}
            Some(()) = runs.next(), if !runs.is_empty() => {}
        }
    }
}

struct Completion {
    shared: Arc<Shared>,
    ticket: Option<super::job::Ticket>,
}

impl Drop for Completion {
    fn drop(&mut self) {
        if let Some(t) = self.ticket.take() {
            self.shared.complete(&t, None);
        }
    }
}

/// Publishes every job's stats as health details, and the degraded status
/// when a job has failed `degraded_after` times in a row.
fn publish(shared: &Shared, cx: &ServiceContext, degraded: &mut Option<String>) {
    let now = Instant::now();
    let mut details = Details::new();
    let mut failing: Option<String> = None;
    let mut jobs = serde_json::Map::new();
    for s in shared.jobs.lock().values().map(|j| &j.stats) {
        if s.enabled && s.consecutive_failures >= shared.config.degraded_after && failing.is_none()
        {
            failing = Some(format!(
                "job `{}` failed {} times in a row: {}",
                s.name,
                s.consecutive_failures,
                s.last_error.as_deref().unwrap_or("")
            ));
        }
        let ms = |d: Duration| d.as_millis() as u64;
        jobs.insert(
            s.name.clone(),
            json!({
                "schedule": s.schedule,
                "enabled": s.enabled,
                "running": s.running,
                "runs": s.runs,
                "failures": s.failures,
                "consecutive_failures": s.consecutive_failures,
                "missed": s.missed,
                "last_run_unix_ms": s.last_run.and_then(|t| t.duration_since(UNIX_EPOCH).ok()).map(ms),
                "last_duration_ms": s.last_duration.map(ms),
                "last_error": s.last_error,
                "next_run_in_ms": s.next_run.map(|t| ms(t.saturating_duration_since(now))),
            }),
        );
    }
    details.insert("job_count".into(), jobs.len().into());
    details.insert("jobs".into(), serde_json::Value::Object(jobs));
    cx.set_details(details);
    if failing != *degraded {
        match &failing {
            Some(message) => {
                tracing::warn!(scheduler = %shared.name, "{message}");
                cx.set_status_with(Status::Degraded, message.clone());
            }
            None => cx.clear_error(),
        }
        *degraded = failing;
    }
}
