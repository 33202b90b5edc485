//! The scheduler service: the actor that drives a scheduler's jobs and
//! publishes their stats as its health.
//!
//! The actor is the [kit](crate::kit)'s driver of the scheduler's engine.
//! When an instance starts it runs one driver loop: it starts every job
//! that is due, waits for the earliest next deadline, a change made through
//! a handle, or the end of a run, and after runs end publishes the job
//! stats as health details (also every
//! [`health_interval`](super::SchedulerConfig::health_interval)). Runs are
//! futures owned by the loop, so they run on the scheduler's arbiter and
//! end with the instance.
//!
//! How it fails: a job's error or panic is a failed run, never a crash of
//! the actor. If the instance ends anyway (an injected crash, a panic in
//! the scheduler itself), runs in progress are dropped — not counted — and
//! the supervisor restarts it; the jobs, their stats and their next slots
//! live in the engine, so the new instance resumes them, applying each
//! job's missed-run policy to slots that passed while it was down.

use super::job::{run_once, SchedulerEngine, Ticket};
use super::schedule::{never, wall_now};
use crate::exit::BoxError;
use crate::kit::{Engine, Health, Phase, Pulse, Shared};
use crate::service::ServiceContext;
use crate::status::Status;
use futures_util::stream::FuturesUnordered;
use futures_util::StreamExt;
use serde_json::json;
use std::time::{Duration, UNIX_EPOCH};
use tokio::time::Instant;

/// The supervised actor of a [`Scheduler`](super::Scheduler): the kit's
/// [`Driver`](crate::kit::Driver) of its engine. It takes no messages.
pub type SchedulerService = crate::kit::Driver<SchedulerEngine>;

impl Engine for SchedulerEngine {
    fn health_interval(&self) -> Duration {
        self.config.health_interval
    }

    fn pulse(&self) -> Option<&Pulse> {
        Some(&self.pulse)
    }

    /// Every job's stats as details, and degraded while a job has failed
    /// `degraded_after` times in a row.
    fn health(&self) -> Health {
        let now = Instant::now();
        let mut failing: Option<String> = None;
        let mut jobs = serde_json::Map::new();
        for s in self.jobs.lock().values().map(|j| &j.stats) {
            if s.enabled
                && s.consecutive_failures >= self.config.degraded_after
                && failing.is_none()
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
        let mut degraded = self.degraded.lock();
        if failing != *degraded {
            if let Some(message) = &failing {
                tracing::warn!(service = %self.name, "{message}");
            }
            degraded.clone_from(&failing);
        }
        let health = match failing {
            Some(message) => Health::new(Status::Degraded).message(message),
            None => Health::ok(),
        };
        health
            .detail("job_count", jobs.len())
            .detail("jobs", serde_json::Value::Object(jobs))
    }

    /// The driver loop: starts what is due, then waits for the next
    /// deadline, a change, or a run to end.
    async fn run(shared: Shared<Self>, _cx: ServiceContext) -> Result<(), BoxError> {
        let mut runs = FuturesUnordered::new();
        loop {
            let now = Instant::now();
            let (tickets, earliest) = shared.plan(now, wall_now());
            for ticket in tickets {
                runs.push(run_ticket(shared.clone(), ticket));
            }
            // Every wake changed something worth seeing: report it.
            shared.pulse.beat();
            let deadline = earliest.unwrap_or_else(|| never(now));
            tokio::select! {
                _ = tokio::time::sleep_until(deadline) => {}
                _ = shared.changed.notified() => {}
                Some(()) = runs.next(), if !runs.is_empty() => {}
            }
        }
    }

    fn phase_changed(&self, _from: Phase, to: Phase) {
        if to == Phase::Closed {
            // Gone for good: the jobs (and what their closures hold) go too.
            let jobs = std::mem::take(&mut *self.jobs.lock());
            drop(jobs);
            self.changed.notify_one();
        }
    }
}

/// One run of one job; records it when it ends, and also when the instance
/// ends mid-run (then as cut short).
async fn run_ticket(shared: Shared<SchedulerEngine>, ticket: Ticket) {
    let mut guard = Completion {
        shared,
        ticket: Some(ticket),
    };
    let run = guard.ticket.as_ref().map(|t| t.run.clone());
    let Some(run) = run else { return };
    let outcome = run_once(run).await;
    if let Some(t) = guard.ticket.take() {
        guard.shared.complete(&t, Some(outcome));
    }
}

struct Completion {
    shared: Shared<SchedulerEngine>,
    ticket: Option<Ticket>,
}

impl Drop for Completion {
    fn drop(&mut self) {
        if let Some(t) = self.ticket.take() {
            self.shared.complete(&t, None);
        }
    }
}
