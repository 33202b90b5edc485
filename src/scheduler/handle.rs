//! [`Scheduler`], the handle application code uses to manage jobs.

use super::config::SchedulerConfig;
use super::error::SchedulerError;
use super::job::{JobFn, JobOptions, JobStats, SchedulerEngine};
use super::schedule::{wall_now, Schedule};
use crate::kit::{self, ConfigError, Shared};
use crate::supervisor::ChildSpec;
use std::fmt::Display;
use std::future::Future;
use std::sync::Arc;
use tokio::time::Instant;

/// The shortest interval a job may have: the scheduler's resolution.
pub const MIN_INTERVAL: std::time::Duration = std::time::Duration::from_millis(1);

/// A handle to a scheduler: cheap to clone, shared by every clone, valid
/// across restarts of the scheduler's service.
///
/// Operations change the shared job table directly and wake the service;
/// they work whether or not the service is running, but jobs only *run*
/// while it is. Once the service is gone for good every operation fails
/// with [`SchedulerError::Stopped`].
///
/// ```
/// use std::time::Duration;
/// use servitor::scheduler::{Schedule, Scheduler, SchedulerConfig, SchedulerError};
///
/// let (_spec, jobs) = Scheduler::service("jobs", SchedulerConfig::default()).unwrap();
/// jobs.add("ping", Schedule::every(Duration::from_secs(1)), || async { Ok::<_, String>(()) }).unwrap();
/// assert!(matches!(
///     jobs.add("ping", Schedule::every(Duration::from_secs(1)), || async { Ok::<_, String>(()) }),
///     Err(SchedulerError::Duplicate { .. })
/// ));
/// jobs.disable("ping").unwrap();
/// assert!(!jobs.stats("ping").unwrap().enabled);
/// jobs.remove("ping").unwrap();
/// assert!(jobs.list().is_empty());
/// ```
#[derive(Clone)]
pub struct Scheduler {
    shared: Shared<SchedulerEngine>,
}

impl std::fmt::Debug for Scheduler {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Scheduler")
            .field("name", &self.shared.name)
            .field("config", &self.shared.config)
            .finish()
    }
}

impl Scheduler {
    /// A scheduler service named `name` with `config`: the child spec to
    /// put in a supervision tree, and the handle.
    pub fn service(
        name: impl Into<String>,
        config: SchedulerConfig,
    ) -> Result<(ChildSpec, Scheduler), ConfigError> {
        let (spec, shared) = kit::service(name, |name| {
            config.validate(name)?;
            Ok(SchedulerEngine::new(name.to_string(), config))
        })?;
        Ok((spec, Scheduler { shared }))
    }

    /// The scheduler service's name.
    pub fn name(&self) -> &str {
        &self.shared.name
    }

    /// The configuration it was built with.
    pub fn config(&self) -> &SchedulerConfig {
        &self.shared.config
    }

    /// Whether the service is supervised and started (jobs run only then).
    pub fn is_running(&self) -> bool {
        self.shared.is_running()
    }

    /// True once the service is gone for good and every operation fails.
    pub fn is_stopped(&self) -> bool {
        self.shared.is_stopped()
    }

    /// Resolves once the service is gone for good.
    pub async fn stopped(&self) {
        self.shared.stopped().await
    }

    /// Adds a job named `name` with default [`JobOptions`]. See
    /// [`add_with`](Self::add_with).
    pub fn add<F, Fut, E>(
        &self,
        name: impl Into<String>,
        schedule: Schedule,
        job: F,
    ) -> Result<(), SchedulerError>
    where
        F: Fn() -> Fut + Send + Sync + 'static,
        Fut: Future<Output = Result<(), E>> + 'static,
        E: Display + 'static,
    {
        self.add_with(name, schedule, JobOptions::default(), job)
    }

    /// Adds a job: `job` is called for each run, on the scheduler's
    /// arbiter; the run fails if its future returns an error or it panics.
    /// The first run is one period from now (for cron, the next
    /// occurrence).
    ///
    /// Fails with [`SchedulerError::EmptyName`], [`SchedulerError::Duplicate`]
    /// or [`SchedulerError::IntervalTooShort`] (under 1 ms); nothing is added then.
    pub fn add_with<F, Fut, E>(
        &self,
        name: impl Into<String>,
        schedule: Schedule,
        options: JobOptions,
        job: F,
    ) -> Result<(), SchedulerError>
    where
        F: Fn() -> Fut + Send + Sync + 'static,
        Fut: Future<Output = Result<(), E>> + 'static,
        E: Display + 'static,
    {
        let engine = self.shared.check()?;
        let name = name.into();
        if name.is_empty() {
            return Err(SchedulerError::EmptyName);
        }
        if matches!(schedule, Schedule::Every(d) if d < MIN_INTERVAL) {
            return Err(SchedulerError::IntervalTooShort { job: name });
        }
        let run: JobFn = Arc::new(move || {
            let fut = job();
            Box::pin(async move { fut.await.map_err(|e| e.to_string()) })
        });
        {
            let mut jobs = engine.jobs.lock();
            if jobs.contains_key(&name) {
                return Err(SchedulerError::Duplicate { job: name });
            }
            let job = engine.make_job(name.clone(), schedule, options, run);
            jobs.insert(name, job);
        }
        engine.changed.notify_one();
        Ok(())
    }

    /// Removes a job. A run in progress finishes, but is not recorded.
    pub fn remove(&self, name: &str) -> Result<(), SchedulerError> {
        let engine = self.shared.check()?;
        let removed = engine.jobs.lock().remove(name);
        match removed {
            Some(_) => {
                engine.changed.notify_one();
                Ok(())
            }
            None => Err(not_found(name)),
        }
    }

    /// Enables a job: its schedule restarts from now (an interval job's
    /// first run is one interval from now). No-op if already enabled.
    pub fn enable(&self, name: &str) -> Result<(), SchedulerError> {
        let engine = self.shared.check()?;
        {
            let mut jobs = engine.jobs.lock();
            let job = jobs.get_mut(name).ok_or_else(|| not_found(name))?;
            if job.enabled {
                return Ok(());
            }
            let now = Instant::now();
            job.enabled = true;
            job.plan.anchor = now;
            job.next = (job.running == 0).then(|| job.plan.first_after(now, wall_now()));
            job.stats.enabled = true;
            job.stats.next_run = job.next.map(|s| s.at);
        }
        engine.changed.notify_one();
        Ok(())
    }

    /// Disables a job: no new runs start (a run in progress finishes and
    /// is recorded). Its stats are kept.
    pub fn disable(&self, name: &str) -> Result<(), SchedulerError> {
        let engine = self.shared.check()?;
        {
            let mut jobs = engine.jobs.lock();
            let job = jobs.get_mut(name).ok_or_else(|| not_found(name))?;
            job.enabled = false;
            job.next = None;
            job.stats.enabled = false;
            job.stats.next_run = None;
        }
        engine.changed.notify_one();
        Ok(())
    }

    /// A job's stats.
    pub fn stats(&self, name: &str) -> Result<JobStats, SchedulerError> {
        let jobs = self.shared.check()?.jobs.lock();
        jobs.get(name)
            .map(|j| j.stats.clone())
            .ok_or_else(|| not_found(name))
    }

    /// Every job's stats, by name (none once the service is gone for good).
    pub fn list(&self) -> Vec<JobStats> {
        self.shared
            .jobs
            .lock()
            .values()
            .map(|j| j.stats.clone())
            .collect()
    }
}

fn not_found(name: &str) -> SchedulerError {
    SchedulerError::NotFound {
        job: name.to_string(),
    }
}
