//! Tickers: services that do one unit of work — one async `tick` — every
//! interval. (For many named jobs added and changed at run time, use the
//! [scheduler](crate::scheduler) service instead.)
//!
//! Ticks never overlap: the next is scheduled when the last has finished.
//! A failed tick is classified by [`Ticker::classify`]:
//!
//! * [`Verdict::Retry`] (e.g. a refused connection): the service shows
//!   [`Status::Warning`] after one failure and [`Status::Degraded`] from
//!   `degraded_after` consecutive failures on; the next tick comes after
//!   the `retry` [`Backoff`]'s delay for that many failures.
//!   After `max_failures` consecutive failures the service exits with an
//!   error, and its supervisor's restart type, backoff and intensity take over;
//! * [`Verdict::Stop`] (e.g. bad credentials, which retrying cannot fix):
//!   the service exits with an error at once.
//!
//! A success clears the warning and returns to the normal interval. The
//! health details carry `processed`, `errors`, `consecutive_failures`,
//! `last_run_ms`, `last_duration_ms` and `last_error`.
//!
//! ```
//! use std::time::Duration;
//! use servitor::{ChildSpec, ServiceContext, Ticker, TickerConfig, Verdict};
//!
//! #[derive(Debug, thiserror::Error)]
//! enum PollError {
//!     #[error("connection refused")] Connection,
//!     #[error("bad credentials")] Auth,
//! }
//!
//! struct Poller;
//!
//! impl Ticker for Poller {
//!     type Error = PollError;
//!     async fn tick(&mut self, _cx: &ServiceContext) -> Result<(), PollError> { Ok(()) }
//!     fn classify(&self, e: &PollError) -> Verdict {
//!         match e { PollError::Auth => Verdict::Stop, PollError::Connection => Verdict::Retry }
//!     }
//! }
//!
//! let spec = ChildSpec::ticker(
//!     "poller",
//!     TickerConfig::every(Duration::from_secs(10)).max_failures(5),
//!     || Poller,
//! ).unwrap();
//! ```

use super::joint::Joint;
use super::{Service, ServiceContext};
use crate::exit::BoxError;
use crate::kit::{Backoff, ConfigError, Health};
use crate::status::Status;
use actix::fut::{ready, wrap_future, ActorFutureExt};
use actix::prelude::*;
use serde::{Deserialize, Serialize};
use std::fmt::Display;
use std::time::Duration;
use tokio::time::Instant;

/// What to do about a failed tick.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Verdict {
    /// Try again after the retry delay (counts toward `max_failures`).
    Retry,
    /// Retrying cannot help: exit with an error now.
    Stop,
}

/// A service that does one unit of work every interval.
#[allow(async_fn_in_trait)]
pub trait Ticker: 'static {
    /// The error a tick can fail with.
    type Error: Display + 'static;

    /// One unit of work.
    async fn tick(&mut self, cx: &ServiceContext) -> Result<(), Self::Error>;

    /// Whether a failed tick is worth retrying. Default: always retry.
    fn classify(&self, error: &Self::Error) -> Verdict {
        let _ = error;
        Verdict::Retry
    }

    /// Setup before the first tick; an error means the service failed to start.
    async fn start(&mut self, cx: &ServiceContext) -> Result<(), BoxError> {
        let _ = cx;
        Ok(())
    }

    /// Cleanup when stopped (after any tick in flight has finished).
    async fn stop(&mut self, cx: &ServiceContext) {
        let _ = cx;
    }
}

/// Timing and failure limits of a ticker.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct TickerConfig {
    /// Time between the end of one successful tick and the start of the next.
    #[serde(with = "crate::serde_duration")]
    pub interval: Duration,
    /// Consecutive failed ticks after which the service exits with an error.
    /// Default 5.
    pub max_failures: u32,
    /// Consecutive failures from which the status is degraded rather than
    /// warning. Default 2.
    pub degraded_after: u32,
    /// The delay before the next tick after failed ones: `retry.delay(n - 1)`
    /// after `n` consecutive failures. Default 1 s, doubling, at most 60 s.
    pub retry: Backoff,
    /// Tick at once on start (true, the default) or one interval after.
    pub tick_on_start: bool,
}

impl Default for TickerConfig {
    fn default() -> Self {
        TickerConfig::every(Duration::from_secs(60))
    }
}

impl TickerConfig {
    /// A tick every `interval`, other settings at their defaults.
    pub const fn every(interval: Duration) -> Self {
        TickerConfig {
            interval,
            max_failures: 5,
            degraded_after: 2,
            retry: Backoff::exponential(Duration::from_secs(1), Duration::from_secs(60)),
            tick_on_start: true,
        }
    }

    /// Exit after this many consecutive failures.
    pub fn max_failures(mut self, n: u32) -> Self {
        self.max_failures = n;
        self
    }

    /// Show degraded from this many consecutive failures on.
    pub fn degraded_after(mut self, n: u32) -> Self {
        self.degraded_after = n;
        self
    }

    /// How the delay grows after failed ticks.
    pub fn retry(mut self, backoff: Backoff) -> Self {
        self.retry = backoff;
        self
    }

    /// Wait one interval before the first tick.
    pub fn delay_first_tick(mut self) -> Self {
        self.tick_on_start = false;
        self
    }

    /// The delay after `consecutive` failures (1-based).
    pub fn retry_after(&self, consecutive: u32) -> Duration {
        self.retry.jittered(consecutive.saturating_sub(1))
    }

    /// Checks every field; the error names the first invalid one.
    pub fn validate(&self, service: &str) -> Result<(), ConfigError> {
        let invalid = |field: &str, problem: &str| Err(ConfigError::field(service, field, problem));
        if self.interval < Duration::from_millis(1) {
            return invalid("interval", "must be at least 1 ms");
        }
        if self.max_failures == 0 {
            return invalid("max_failures", "must be at least 1");
        }
        if self.degraded_after == 0 {
            return invalid("degraded_after", "must be at least 1");
        }
        if let Err(e) = self.retry.validate() {
            return invalid(&format!("retry.{}", e.field()), e.problem());
        }
        Ok(())
    }
}

#[derive(Default)]
struct Counters {
    processed: u64,
    errors: u64,
    consecutive: u32,
    last_run_ms: Option<u64>,
    last_duration: Option<Duration>,
    last_error: Option<String>,
}

/// What a tick hands back: the service, how the tick ended, how long it took.
type TickOutput<P> = (Box<P>, Result<(), <P as Ticker>::Error>, Duration);

/// The actor that runs a [`Ticker`].
pub struct TickerService<P: Ticker> {
    // Boxed: actix actors must be Unpin, user types need not be.
    inner: Option<Box<P>>,
    config: TickerConfig,
    counters: Counters,
    /// The tick in flight, shared with the stop hook (see [`Joint`]).
    in_flight: Option<Joint<TickOutput<P>>>,
    cx: Option<ServiceContext>,
}

impl<P: Ticker> TickerService<P> {
    pub(crate) fn new(inner: P, config: TickerConfig) -> Self {
        TickerService {
            inner: Some(Box::new(inner)),
            config,
            counters: Counters::default(),
            in_flight: None,
            cx: None,
        }
    }

    fn schedule(&mut self, after: Duration, ctx: &mut Context<Self>) {
        ctx.run_later(after, |act, ctx| act.tick(ctx));
    }

    fn tick(&mut self, ctx: &mut Context<Self>) {
        let Some(cx) = self.cx.clone() else { return };
        if !cx.is_running() {
            return;
        }
        let Some(mut inner) = self.inner.take() else {
            return;
        };
        let tick_cx = cx.clone();
        let tick = Joint::new(async move {
            let began = Instant::now();
            let result = inner.tick(&tick_cx).await;
            (inner, result, began.elapsed())
        });
        self.in_flight = Some(tick.clone());
        ctx.spawn(
            wrap_future::<_, Self>(tick.drive()).map(move |finished, act, ctx| {
                // `None`: the stop hook saw the tick finish and counted it.
                let Some((inner, result, took)) = finished else {
                    return;
                };
                let verdict = result.as_ref().err().map(|e| inner.classify(e));
                act.inner = Some(inner);
                act.in_flight = None;
                act.record(&cx, result.map_err(|e| e.to_string()), verdict, took, ctx);
            }),
        );
    }

    /// Counts a finished tick and publishes the counters; returns the
    /// number of consecutive failures.
    fn count(&mut self, cx: &ServiceContext, result: &Result<(), String>, took: Duration) -> u32 {
        let c = &mut self.counters;
        c.last_run_ms = Some(crate::registry::now_ms());
        c.last_duration = Some(took);
        match result {
            Ok(()) => {
                c.processed += 1;
                c.consecutive = 0;
            }
            Err(error) => {
                c.errors += 1;
                c.consecutive += 1;
                c.last_error = Some(error.clone());
            }
        }
        let consecutive = c.consecutive;
        cx.heartbeat();
        self.publish(cx);
        consecutive
    }

    fn record(
        &mut self,
        cx: &ServiceContext,
        result: Result<(), String>,
        verdict: Option<Verdict>,
        took: Duration,
        ctx: &mut Context<Self>,
    ) {
        let consecutive = self.count(cx, &result, took);
        match result {
            Ok(()) => {
                if cx.status() != Status::Ok {
                    cx.set_status(Status::Ok);
                }
                if cx.is_running() {
                    self.schedule(self.config.interval, ctx);
                }
            }
            Err(error) => {
                tracing::warn!(service = %cx.name(), path = %cx.path(), consecutive, %error, "tick failed");
                if verdict == Some(Verdict::Stop) {
                    cx.fail::<Self>(ctx, format!("tick failed and will not be retried: {error}"));
                    return;
                }
                if consecutive >= self.config.max_failures {
                    cx.fail::<Self>(
                        ctx,
                        format!("{consecutive} consecutive ticks failed, last: {error}"),
                    );
                    return;
                }
                let status = if consecutive >= self.config.degraded_after {
                    Status::Degraded
                } else {
                    Status::Warning
                };
                cx.set_status_with(
                    status,
                    format!("{consecutive} consecutive failures, last: {error}"),
                );
                if cx.is_running() {
                    self.schedule(self.config.retry_after(consecutive), ctx);
                }
            }
        }
    }

    fn publish(&self, cx: &ServiceContext) {
        let c = &self.counters;
        let health = Health::new(cx.status())
            .detail("processed", c.processed)
            .detail("errors", c.errors)
            .detail("consecutive_failures", c.consecutive)
            .detail("last_run_ms", c.last_run_ms)
            .detail(
                "last_duration_ms",
                c.last_duration.map(|d| d.as_secs_f64() * 1000.0),
            )
            .detail("last_error", &c.last_error);
        cx.set_details(health.details);
    }
}

impl<P: Ticker> Actor for TickerService<P> {
    type Context = Context<Self>;
}

impl<P: Ticker> Service for TickerService<P> {
    fn start(
        &mut self,
        cx: &ServiceContext,
        _: &mut Context<Self>,
    ) -> ResponseActFuture<Self, Result<(), BoxError>> {
        self.cx = Some(cx.clone());
        let Some(mut inner) = self.inner.take() else {
            return Box::pin(ready(Ok(())));
        };
        let hook_cx = cx.clone();
        Box::pin(
            wrap_future::<_, Self>(async move {
                let result = inner.start(&hook_cx).await;
                (inner, result)
            })
            .map(|(inner, result), act, ctx| {
                act.inner = Some(inner);
                if result.is_ok() {
                    if act.config.tick_on_start {
                        act.schedule(Duration::ZERO, ctx);
                    } else {
                        act.schedule(act.config.interval, ctx);
                    }
                }
                result
            }),
        )
    }

    fn stop(&mut self, cx: &ServiceContext, _: &mut Context<Self>) -> ResponseActFuture<Self, ()> {
        let in_flight = self.in_flight.take();
        let cx = cx.clone();
        Box::pin(
            wrap_future::<_, Self>(async move {
                match in_flight {
                    // Drive the tick to its end here: actix does not poll the
                    // spawned tick while this hook is pending.
                    Some(tick) => tick.drive().await,
                    None => None,
                }
            })
            .then(move |finished, act, _| -> ResponseActFuture<Self, ()> {
                if let Some((inner, result, took)) = finished {
                    act.inner = Some(inner);
                    act.in_flight = None;
                    act.count(&cx, &result.map_err(|e| e.to_string()), took);
                }
                let Some(mut inner) = act.inner.take() else {
                    return Box::pin(ready(()));
                };
                Box::pin(
                    wrap_future::<_, Self>(async move {
                        inner.stop(&cx).await;
                        inner
                    })
                    .map(|inner, act, _| act.inner = Some(inner)),
                )
            }),
        )
    }

    fn health_interval(&self) -> Duration {
        self.config.interval.max(self.config.retry.max)
    }

    // Every finished tick is a heartbeat; a tick that hangs shows as stale.
    fn beats_on_health_check(&self) -> bool {
        false
    }
}

impl<P: Ticker> std::fmt::Debug for TickerService<P> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TickerService")
            .field("config", &self.config)
            .finish()
    }
}
