//! Jobs: their options, their stats, and the shared state the scheduler's
//! handles and actor both work on.
//!
//! The state lives in the [`SchedulerEngine`], created with the service's
//! spec — not in the actor — so a crash of the actor loses no job, no stat
//! and no schedule position.

use super::config::{MissedRunPolicy, SchedulerConfig};
use super::schedule::{later, wall_now, Plan, Schedule, Slot, Wall};
use crate::kit::{catch_call_async, Backoff};
use futures_util::future::LocalBoxFuture;
use parking_lot::Mutex;
use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::{Duration, SystemTime};
use tokio::sync::Notify;
use tokio::time::Instant;

/// A job's body, type-erased: each call starts one run.
pub(crate) type JobFn = Arc<dyn Fn() -> LocalBoxFuture<'static, Result<(), String>> + Send + Sync>;

/// Per-job options.
///
/// ```
/// use servitor::scheduler::{JobOptions, MissedRunPolicy};
/// let options = JobOptions { missed_runs: Some(MissedRunPolicy::CatchUpOnce), ..JobOptions::default() };
/// # let _ = options;
/// ```
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct JobOptions {
    /// What to do about missed runs. Default `None`: the scheduler's
    /// [`SchedulerConfig::missed_runs`].
    pub missed_runs: Option<MissedRunPolicy>,
    /// Let a run start while the previous one is still going. Default
    /// false: a slow run delays the next one, runs never stack. With
    /// overlap the schedule advances when a run starts, not when it ends.
    pub allow_overlap: bool,
    /// Add the job disabled. Default false.
    pub disabled: bool,
}

/// A job's statistics, as of the moment they were read.
#[derive(Debug, Clone, PartialEq)]
pub struct JobStats {
    /// The job's name.
    pub name: String,
    /// Its schedule, e.g. `every 100ms` or ``cron `0 * * * *` ``.
    pub schedule: String,
    /// Whether it is enabled.
    pub enabled: bool,
    /// Runs in progress now.
    pub running: u32,
    /// Runs finished (successes and failures).
    pub runs: u64,
    /// Runs that failed: returned an error or panicked.
    pub failures: u64,
    /// Failures since the last success.
    pub consecutive_failures: u32,
    /// Slots dropped by the missed-run policy (a catch-up run counts the
    /// slots it stands for but one).
    pub missed: u64,
    /// When the last finished run started, on the wall clock.
    pub last_run: Option<SystemTime>,
    /// How long the last finished run took.
    pub last_duration: Option<Duration>,
    /// The error (or panic message) of the most recent failed run (kept
    /// after later successes; `consecutive_failures` says whether it is
    /// current).
    pub last_error: Option<String>,
    /// When the next run is due; `None` when disabled or waiting for a run
    /// in progress.
    pub next_run: Option<Instant>,
}

pub(crate) struct Job {
    pub name: String,
    pub run: JobFn,
    pub plan: Plan,
    pub options: JobOptions,
    pub policy: MissedRunPolicy,
    /// Bumped when the job is removed or re-enabled, so completions of runs
    /// started before are told apart.
    pub generation: u64,
    pub enabled: bool,
    pub running: u32,
    pub next: Option<Slot>,
    pub stats: JobStats,
}

/// What the driver starts: one run of one job.
pub(crate) struct Ticket {
    pub name: String,
    pub generation: u64,
    pub run: JobFn,
    /// The slot the run stands for; a catch-up or retry run stands for
    /// "now" (`None`): its successor is the first slot after it started.
    pub slot: Option<Slot>,
}

/// The engine of a [`Scheduler`](super::Scheduler): its jobs, their stats
/// and schedule positions, shared by every handle and every incarnation of
/// its actor. Its workings are internal; use it through the handle.
pub struct SchedulerEngine {
    pub(crate) name: String,
    pub(crate) config: SchedulerConfig,
    pub(crate) jobs: Mutex<BTreeMap<String, Job>>,
    /// Wakes the driver when jobs change.
    pub(crate) changed: Notify,
    next_generation: Mutex<u64>,
    /// The failing job's message while the scheduler is degraded.
    pub(crate) degraded: Mutex<Option<String>>,
    /// Asks for a health report after runs end.
    pub(crate) pulse: crate::kit::Pulse,
}

impl std::fmt::Debug for SchedulerEngine {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SchedulerEngine")
            .field("name", &self.name)
            .field("config", &self.config)
            .finish_non_exhaustive()
    }
}

impl SchedulerEngine {
    pub(crate) fn new(name: String, config: SchedulerConfig) -> SchedulerEngine {
        SchedulerEngine {
            name,
            config,
            jobs: Mutex::new(BTreeMap::new()),
            changed: Notify::new(),
            next_generation: Mutex::new(0),
            degraded: Mutex::new(None),
            pulse: crate::kit::Pulse::new(),
        }
    }

    pub(crate) fn generation(&self) -> u64 {
        let mut g = self.next_generation.lock();
        *g += 1;
        *g
    }

    pub(crate) fn make_job(
        &self,
        name: String,
        schedule: Schedule,
        options: JobOptions,
        run: JobFn,
    ) -> Job {
        let now = Instant::now();
        let plan = Plan {
            schedule,
            anchor: now,
        };
        let enabled = !options.disabled;
        let next = enabled.then(|| plan.first_after(now, wall_now()));
        let stats = JobStats {
            name: name.clone(),
            schedule: plan.schedule.to_string(),
            enabled,
            running: 0,
            runs: 0,
            failures: 0,
            consecutive_failures: 0,
            missed: 0,
            last_run: None,
            last_duration: None,
            last_error: None,
            next_run: next.map(|s| s.at),
        };
        Job {
            name,
            run,
            policy: options.missed_runs.unwrap_or(self.config.missed_runs),
            plan,
            options,
            generation: self.generation(),
            enabled,
            running: 0,
            next,
            stats,
        }
    }

    /// Starts what is due at `now`; returns the tickets and the earliest
    /// deadline still ahead.
    pub(crate) fn plan(&self, now: Instant, now_wall: Wall) -> (Vec<Ticket>, Option<Instant>) {
        let mut jobs = self.jobs.lock();
        let mut tickets = Vec::new();
        let mut earliest: Option<Instant> = None;
        for job in jobs.values_mut() {
            if !job.enabled {
                continue;
            }
            if job.next.is_none() && job.running == 0 {
                // A run was cut short (the actor instance ended mid-run):
                // resume at the next slot.
                job.next = Some(job.plan.first_after(now, now_wall));
            }
            let Some(slot) = job.next else { continue };
            if slot.at <= now && (job.running == 0 || job.options.allow_overlap) {
                let mut stands_for = Some(slot);
                if slot.on_schedule {
                    let following = job.plan.after(&slot, now, now_wall);
                    if following.at <= now {
                        let passed = job.plan.passed_since(&slot, now, now_wall);
                        match job.policy {
                            MissedRunPolicy::Skip => {
                                job.stats.missed += passed;
                                job.next = Some(job.plan.first_after(now, now_wall));
                                job.stats.next_run = job.next.map(|s| s.at);
                                earliest = min(earliest, job.next.map(|s| s.at));
                                continue;
                            }
                            MissedRunPolicy::CatchUpOnce => {
                                job.stats.missed += passed.saturating_sub(1);
                                stands_for = None;
                            }
                        }
                    }
                } else {
                    stands_for = None;
                }
                job.running += 1;
                job.next = if job.options.allow_overlap {
                    Some(match stands_for {
                        Some(s) => job.plan.after(&s, now, now_wall),
                        None => job.plan.first_after(now, now_wall),
                    })
                } else {
                    None
                };
                tickets.push(Ticket {
                    name: job.name.clone(),
                    generation: job.generation,
                    run: job.run.clone(),
                    slot: stands_for,
                });
            }
            job.stats.running = job.running;
            job.stats.next_run = job.next.map(|s| s.at);
            earliest = min(earliest, job.next.map(|s| s.at));
        }
        (tickets, earliest)
    }

    /// Records the end of a run and schedules the job's next one.
    pub(crate) fn complete(&self, ticket: &Ticket, outcome: Option<Outcome>) {
        let now = Instant::now();
        let now_wall = wall_now();
        let mut jobs = self.jobs.lock();
        let Some(job) = jobs.get_mut(&ticket.name) else {
            return;
        };
        if job.generation != ticket.generation {
            return;
        }
        job.running = job.running.saturating_sub(1);
        job.stats.running = job.running;
        let Some(outcome) = outcome else {
            // Cut short: not a run. The next instance resumes the schedule.
            return;
        };
        let stats = &mut job.stats;
        stats.runs += 1;
        stats.last_run = Some(outcome.started_wall);
        stats.last_duration = Some(outcome.duration);
        let failed = match outcome.result {
            Ok(()) => {
                stats.consecutive_failures = 0;
                false
            }
            Err(e) => {
                tracing::warn!(service = %self.name, job = %ticket.name, consecutive = stats.consecutive_failures + 1, error = %e, "scheduled job failed");
                stats.failures += 1;
                stats.consecutive_failures += 1;
                stats.last_error = Some(e);
                true
            }
        };
        if !job.enabled {
            return;
        }
        let base = ticket.slot;
        let regular = match base {
            Some(s) => job.plan.after(&s, now, now_wall),
            None => job.plan.first_after(outcome.started, now_wall),
        };
        if failed {
            let period = job.plan.period(&base.unwrap_or(regular), now_wall);
            let backoff = Backoff::exponential(period, self.config.max_backoff.max(period));
            let delay = backoff.delay(job.stats.consecutive_failures);
            let retry = Slot {
                at: later(now, delay),
                wall: None,
                on_schedule: false,
            };
            job.next = Some(match job.next {
                Some(s) if s.at >= retry.at => s,
                _ => retry,
            });
        } else if !job.options.allow_overlap || job.next.is_none() {
            job.next = Some(regular);
        }
        job.stats.next_run = job.next.map(|s| s.at);
    }
}

fn min(a: Option<Instant>, b: Option<Instant>) -> Option<Instant> {
    match (a, b) {
        (Some(a), Some(b)) => Some(a.min(b)),
        (a, None) => a,
        (None, b) => b,
    }
}

/// How a run ended.
pub(crate) struct Outcome {
    pub started: Instant,
    pub started_wall: SystemTime,
    pub duration: Duration,
    pub result: Result<(), String>,
}

/// Runs one job body; a panic (in the call or in the future) is a failed
/// run with the panic message.
pub(crate) async fn run_once(run: JobFn) -> Outcome {
    let started = Instant::now();
    let started_wall = SystemTime::now();
    let result = catch_call_async(|| run())
        .await
        .unwrap_or_else(|panic| Err(panic.to_string()));
    Outcome {
        started,
        started_wall,
        duration: started.elapsed(),
        result,
    }
}
