//! The database service's engine: the sqlx pool behind every handle, the
//! figures its hooks keep, the probe that tells whether the database is
//! reachable, and the maintenance its actor runs.
//!
//! The pool is made with the spec (lazily: no connection is opened until
//! one is needed) and outlives every incarnation of the actor, so a crash of
//! the actor drops no connection and the data path never waits for it.
//! sqlx does the pooling — a fair FIFO queue of waiters, the acquire
//! timeout, test-before-acquire, rollback of an abandoned transaction when
//! its connection returns. The engine adds what sqlx lacks:
//!
//! * figures: sqlx's `after_connect`, `before_acquire` and `after_release`
//!   hooks count connections, enforce the maximum lifetime at hand-out and
//!   at return (so an old connection is never handed out), and track how
//!   many connections sat idle (for the idle timeout);
//! * the idle timeout and `min_connections`, kept by the actor at every
//!   health interval (sqlx's own reaper is off: it would close connections
//!   without telling why);
//! * the probe: `SELECT 1` over the pool while the database is up; while it
//!   is down, one direct connection attempt per [`reconnect`] delay, whose
//!   error is the cause reported in health and in
//!   [`DbError::Unavailable`](super::DbError::Unavailable);
//! * the distinction between a pool that is exhausted and a database that
//!   cannot be reached, made when an acquisition times out.
//!
//! [`reconnect`]: super::DbConfig::reconnect

use super::backend::{connect_direct, options_for, Backend, Options};
use super::config::DbConfig;
use super::error::{DbError, MigrationError};
use super::migrate::{self, AppliedMigration, MigrationReport, Migrations};
use super::stats::{DbStats, Figures};
use super::url::RedactedUrl;
use crate::exit::BoxError;
use crate::kit::{ConfigError, Engine, Health, Phase, Pulse, Shared};
use crate::service::ServiceContext;
use crate::status::Status;
use parking_lot::{Mutex, RwLock};
use sqlx::pool::{PoolConnection, PoolConnectionMetadata, PoolOptions};
use sqlx::{Connection, Pool, SqlSafeStr};
use std::cell::Cell;
use std::sync::atomic::Ordering;
use std::sync::{Arc, Weak};
use std::time::{Duration, Instant};
use tokio::sync::{watch, Notify};

tokio::task_local! {
    /// Set around an acquisition so the pool's `before_acquire` hook can
    /// tell what it served: [`SERVED_IDLE`] when it handed out an idle
    /// connection; [`QUIET`] (set by the service's own probe and
    /// maintenance) keeps the acquisition out of the idle accounting.
    static ACQUIRING: Cell<u8>;
}

const SERVED_IDLE: u8 = 1;
const QUIET: u8 = 2;

/// What the pool's hooks share with the engine. The hooks hold it weakly,
/// so the pool (which owns the hooks) does not keep it alive.
pub(crate) struct Core<B: Backend> {
    pub pool: RwLock<Pool<B>>,
    pub figures: Figures,
    max_lifetime: Option<Duration>,
}

impl<B: Backend> Core<B> {
    /// `before_acquire`: an idle connection is about to be handed out.
    fn handing_out(&self, meta: &PoolConnectionMetadata) -> bool {
        if self.max_lifetime.is_some_and(|max| meta.age >= max) {
            Figures::bump(&self.figures.closed_lifetime);
            return false;
        }
        let quiet = ACQUIRING
            .try_with(|flags| {
                flags.set(flags.get() | SERVED_IDLE);
                flags.get() & QUIET != 0
            })
            .unwrap_or(false);
        if !quiet {
            let idle = self.pool.read().num_idle();
            self.figures.idle_floor.fetch_min(idle, Ordering::Relaxed);
        }
        true
    }

    /// `after_release`: a connection comes back to the pool.
    fn taking_back(&self, meta: &PoolConnectionMetadata) -> bool {
        if self.max_lifetime.is_some_and(|max| meta.age >= max) {
            Figures::bump(&self.figures.closed_lifetime);
            return false;
        }
        true
    }
}

/// Whether the database is reachable, as the probe last found it.
#[derive(Debug, Clone, Default)]
struct Reach {
    /// The cause, while the database cannot be reached.
    down: Option<String>,
    /// Failed attempts in a row (for the reconnect backoff).
    failures: u32,
    /// The last probe's round trip.
    latency: Option<Duration>,
    /// The last probe found the pool too busy to probe without queueing.
    skipped: bool,
    /// The last migration run.
    migrations: Option<MigrationReport>,
}

/// The engine of a database service: its pool, figures and probe state,
/// shared by every handle and every incarnation of its actor. Use it
/// through the handle ([`Db`](super::Db)).
pub struct DbEngine<B: Backend> {
    pub(crate) name: Arc<str>,
    pub(crate) config: DbConfig,
    pub(crate) url: RedactedUrl,
    options: Options<B>,
    pub(crate) core: Arc<Core<B>>,
    migrations: Migrations,
    reach: Mutex<Reach>,
    /// Keeps an in-memory SQLite database alive while the service is.
    keeper: tokio::sync::Mutex<Option<B::Connection>>,
    pulse: Pulse,
    probe_now: Notify,
    checks: watch::Sender<u64>,
    window: Mutex<Instant>,
}

impl<B: Backend> std::fmt::Debug for DbEngine<B> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DbEngine")
            .field("name", &self.name)
            .field("backend", &B::LABEL)
            .field("url", &self.url)
            .finish()
    }
}

/// Notes the end of a wait however the waiting future ends.
struct Waiting<'a>(&'a Figures);

impl<'a> Waiting<'a> {
    fn new(figures: &'a Figures) -> Self {
        figures.waiting.fetch_add(1, Ordering::Relaxed);
        Waiting(figures)
    }
}

impl Drop for Waiting<'_> {
    fn drop(&mut self) {
        self.0.waiting.fetch_sub(1, Ordering::Relaxed);
    }
}

impl<B: Backend> DbEngine<B> {
    /// An engine for `config` (checked here) and `migrations`.
    pub(crate) fn new(
        name: &str,
        config: DbConfig,
        mut migrations: Migrations,
    ) -> Result<Self, ConfigError> {
        config.validate(name)?;
        if let Some(dir) = &config.migrations_dir {
            if migrations.directory().is_some() {
                return Err(ConfigError::field(
                    name,
                    "migrations_dir",
                    "a migration directory is already given in code",
                ));
            }
            migrations = migrations.with_dir(dir.clone());
        }
        migrations.validate(name)?;
        let url = RedactedUrl::new(config.url.expose());
        let options = options_for::<B>(name, &config, &url)
            .map_err(|p| ConfigError::field(name, "url", p))?;
        let core = Arc::new_cyclic(|weak: &Weak<Core<B>>| Core {
            pool: RwLock::new(make_pool::<B>(&config, options.clone(), weak.clone())),
            figures: Figures::default(),
            max_lifetime: config.max_lifetime,
        });
        Ok(DbEngine {
            name: Arc::from(name),
            url,
            options,
            core,
            migrations,
            reach: Mutex::new(Reach::default()),
            keeper: tokio::sync::Mutex::new(None),
            pulse: Pulse::new(),
            probe_now: Notify::new(),
            checks: watch::channel(0).0,
            window: Mutex::new(Instant::now()),
            config,
        })
    }

    /// The pool, as it is now.
    pub(crate) fn pool(&self) -> Pool<B> {
        self.core.pool.read().clone()
    }

    /// The figures now.
    pub(crate) fn stats(&self) -> DbStats {
        let pool = self.core.pool.read();
        self.core.figures.snapshot(
            pool.size(),
            pool.num_idle() as u32,
            self.config.min_connections,
            self.config.max_connections,
        )
    }

    /// A connection for a caller, counted in the figures; a timeout is
    /// told apart as exhaustion or outage.
    pub(crate) async fn acquire(&self) -> Result<PoolConnection<B>, DbError> {
        let figures = &self.core.figures;
        let pool = self.pool();
        let waiting = Waiting::new(figures);
        let idle_at_entry = pool.num_idle() > 0;
        let started = Instant::now();
        let (result, flags) = ACQUIRING
            .scope(Cell::new(0), async {
                let result = pool.acquire().await;
                (result, ACQUIRING.with(Cell::get))
            })
            .await;
        match result {
            Ok(conn) => {
                drop(waiting);
                if idle_at_entry && flags & SERVED_IDLE != 0 {
                    Figures::bump(&figures.acquired_direct);
                } else {
                    Figures::bump(&figures.acquired_waited);
                    let waited = started.elapsed().as_micros() as u64;
                    figures.wait_time_us.fetch_add(waited, Ordering::Relaxed);
                }
                Ok(conn)
            }
            Err(sqlx::Error::PoolTimedOut) => {
                let error = self.timed_out(&pool, started.elapsed());
                drop(waiting);
                Err(error)
            }
            Err(sqlx::Error::PoolClosed) => Err(self.stopped()),
            Err(e) => {
                Figures::bump(&figures.unavailable);
                self.suspect();
                Err(self.unavailable(self.url.scrub(&e.to_string())))
            }
        }
    }

    /// Why an acquisition timed out: the database is down (as the probe
    /// knows, or since there was room for a connection that could not be
    /// opened), or every connection stayed in use.
    fn timed_out(&self, pool: &Pool<B>, waited: Duration) -> DbError {
        let figures = &self.core.figures;
        let size = pool.size();
        let idle = pool.num_idle() as u32;
        let known_down = self.reach.lock().down.clone();
        self.pulse.beat();
        if let Some(cause) = known_down {
            Figures::bump(&figures.unavailable);
            return self.unavailable(cause);
        }
        if size < self.config.max_connections {
            Figures::bump(&figures.unavailable);
            self.suspect();
            return self.unavailable(format!(
                "no connection could be opened within {} ms",
                self.config.acquire_timeout.as_millis()
            ));
        }
        Figures::bump(&figures.timed_out);
        DbError::Exhausted {
            service: self.name.to_string(),
            size,
            in_use: size.saturating_sub(idle),
            waiting: figures.waiting.load(Ordering::Relaxed),
            waited,
        }
    }

    pub(crate) fn stopped(&self) -> DbError {
        DbError::Stopped {
            service: self.name.to_string(),
        }
    }

    pub(crate) fn unavailable(&self, cause: String) -> DbError {
        DbError::Unavailable {
            service: self.name.to_string(),
            cause,
        }
    }

    /// A driver error from a statement, as the service's error.
    pub(crate) fn query_error(&self, e: sqlx::Error) -> DbError {
        match e {
            sqlx::Error::RowNotFound => DbError::NoRows {
                service: self.name.to_string(),
            },
            sqlx::Error::PoolClosed => self.stopped(),
            sqlx::Error::Io(_)
            | sqlx::Error::Tls(_)
            | sqlx::Error::Protocol(_)
            | sqlx::Error::WorkerCrashed
            | sqlx::Error::PoolTimedOut => {
                self.suspect();
                self.unavailable(self.url.scrub(&e.to_string()))
            }
            sqlx::Error::Database(ref db) if connection_lost(db.code().as_deref()) => {
                self.suspect();
                self.unavailable(self.url.scrub(&e.to_string()))
            }
            source => DbError::Query {
                service: self.name.to_string(),
                source,
            },
        }
    }

    pub(crate) fn params_error(&self, e: sqlx::error::BoxDynError) -> DbError {
        DbError::Params {
            service: self.name.to_string(),
            problem: e.to_string(),
        }
    }

    /// Something suggests the database went away: probe now rather than at
    /// the next interval.
    fn suspect(&self) {
        self.probe_now.notify_one();
    }

    /// Resolves after the next health check has finished.
    pub(crate) async fn next_check(&self) {
        let mut rx = self.checks.subscribe();
        let _ = rx.changed().await;
    }

    /// The migrations recorded in the database.
    pub(crate) async fn applied_migrations(&self) -> Result<Vec<AppliedMigration>, DbError> {
        let mut conn = self.acquire().await?;
        let rows = B::run_applied(&mut conn, self.migrations.table_name())
            .await
            .map_err(|e| self.query_error(e))?;
        Ok(rows
            .into_iter()
            .map(
                |(version, name, applied_at, success, checksum, nanos)| AppliedMigration {
                    version,
                    name,
                    applied_at: applied_at.unwrap_or_default(),
                    success,
                    checksum: migrate::hex(&checksum),
                    duration: Duration::from_nanos(nanos.max(0) as u64),
                },
            )
            .collect())
    }

    /// Runs `migrations` (resolved now) on a connection of their own.
    pub(crate) async fn migrate(
        &self,
        migrations: &Migrations,
    ) -> Result<MigrationReport, MigrationError> {
        let resolved = migrations.resolve().await?;
        let mut conn = self
            .connect_once()
            .await
            .map_err(|cause| MigrationError::Database { cause })?;
        let result = migrate::run::<B>(&mut conn, &resolved, migrations, &self.url).await;
        // Ends the session, and with it any lock the run still held.
        let _ = conn.close().await;
        result
    }

    /// One connection outside the pool, within the acquire timeout; the
    /// error is the cause, scrubbed.
    async fn connect_once(&self) -> Result<B::Connection, String> {
        match tokio::time::timeout(
            self.config.acquire_timeout,
            connect_direct::<B>(&self.options),
        )
        .await
        {
            Ok(Ok(conn)) => Ok(conn),
            Ok(Err(e)) => Err(self.url.scrub(&e.to_string())),
            Err(_) => Err(format!(
                "connecting took longer than {} ms",
                self.config.acquire_timeout.as_millis()
            )),
        }
    }

    fn mark_up(&self) {
        let was_down = {
            let mut reach = self.reach.lock();
            reach.failures = 0;
            reach.down.take()
        };
        if was_down.is_some() {
            tracing::info!(service = %self.name, "database reachable again");
            self.pulse.beat();
        }
    }

    fn mark_down(&self, cause: String) {
        let first = {
            let mut reach = self.reach.lock();
            reach.failures = reach.failures.saturating_add(1);
            let first = reach.down.is_none();
            reach.down = Some(cause.clone());
            first
        };
        if first {
            tracing::warn!(service = %self.name, %cause, "database unreachable");
            self.pulse.beat();
        }
    }

    /// Probes the database over the pool: the round trip of `SELECT 1`.
    async fn probe_pool(&self) -> Result<Option<Duration>, String> {
        let pool = self.pool();
        let busy = self.core.figures.waiting.load(Ordering::Relaxed) > 0
            || (pool.num_idle() == 0 && pool.size() >= self.config.max_connections);
        if busy {
            // Every connection is in use: the database evidently answers,
            // and queueing the probe behind the callers would be wrong.
            return Ok(None);
        }
        let limit = self.config.acquire_timeout;
        let probe = ACQUIRING.scope(Cell::new(QUIET), async {
            let mut conn = pool.acquire().await.map_err(|e| e.to_string())?;
            let started = Instant::now();
            B::run_execute(&mut conn, "SELECT 1".into_sql_str(), Default::default())
                .await
                .map_err(|e| {
                    conn.close_on_drop();
                    e.to_string()
                })?;
            Ok::<_, String>(started.elapsed())
        });
        match tokio::time::timeout(limit * 2, probe).await {
            Ok(Ok(latency)) => Ok(Some(latency)),
            Ok(Err(e)) => Err(self.url.scrub(&e)),
            Err(_) => Err(format!(
                "the probe took longer than {} ms",
                (limit * 2).as_millis()
            )),
        }
    }

    /// One health check: probe (or, while down, try to reconnect), then
    /// maintain the pool. Returns how long to wait before the next.
    async fn health_check(&self) -> Duration {
        let interval = self.config.health_interval;
        let down = self.reach.lock().down.is_some();
        if down {
            match self.connect_once().await {
                Ok(conn) => {
                    let _ = conn.close().await;
                    self.mark_up();
                }
                Err(cause) => {
                    self.mark_down(cause);
                    return self.retry_delay();
                }
            }
        }
        match self.probe_pool().await {
            Ok(latency) => {
                let mut reach = self.reach.lock();
                reach.skipped = latency.is_none();
                if latency.is_some() {
                    reach.latency = latency;
                }
            }
            Err(probe_error) => {
                // The pool could not answer: is the database down, or was a
                // pooled connection dead?
                match self.connect_once().await {
                    Ok(conn) => {
                        let _ = conn.close().await;
                        tracing::debug!(service = %self.name, error = %probe_error, "probe failed on a pooled connection; the database answers");
                    }
                    Err(cause) => {
                        self.mark_down(cause);
                        return self.retry_delay();
                    }
                }
            }
        }
        self.maintain().await;
        interval
    }

    fn retry_delay(&self) -> Duration {
        let failures = self.reach.lock().failures;
        self.config
            .reconnect
            .jittered(failures.saturating_sub(1))
            .min(self.config.health_interval)
    }

    /// Idle timeout, background pings and `min_connections`.
    async fn maintain(&self) {
        let pool = self.pool();
        let figures = &self.core.figures;
        let min = self.config.min_connections;
        if let Some(idle_timeout) = self.config.idle_timeout {
            let due = {
                let window = self.window.lock();
                window.elapsed() >= idle_timeout
            };
            if due {
                let floor = figures.idle_floor.load(Ordering::Relaxed);
                let surplus = (floor as u32)
                    .min(pool.size().saturating_sub(min))
                    .min(pool.num_idle() as u32);
                for _ in 0..surplus {
                    let Some(conn) = pool.try_acquire() else {
                        break;
                    };
                    Figures::bump(&figures.closed_idle);
                    let _ = conn.close().await;
                }
                *self.window.lock() = Instant::now();
                figures.idle_floor.store(pool.num_idle(), Ordering::Relaxed);
            }
        }
        if !self.config.test_before_acquire {
            // Dead idle connections are found here instead of by a caller.
            for _ in 0..pool.num_idle() {
                if figures.waiting.load(Ordering::Relaxed) > 0 {
                    break;
                }
                let Some(mut conn) = pool.try_acquire() else {
                    break;
                };
                if conn.ping().await.is_err() {
                    conn.close_on_drop();
                }
            }
        }
        if pool.size() < min {
            let mut held = Vec::new();
            let fill = ACQUIRING.scope(Cell::new(QUIET), async {
                while pool.size() < min && held.len() < min as usize {
                    match pool.acquire().await {
                        Ok(conn) => held.push(conn),
                        Err(_) => break,
                    }
                }
            });
            fill.await;
            drop(held);
        }
    }

    /// Opens what the service needs before it counts as started: a fresh
    /// pool after a close, the keeper of an in-memory database, the first
    /// probe, the migrations.
    async fn open(&self) -> Result<(), BoxError> {
        {
            let mut pool = self.core.pool.write();
            if pool.is_closed() {
                *pool = make_pool::<B>(
                    &self.config,
                    self.options.clone(),
                    Arc::downgrade(&self.core),
                );
            }
        }
        if B::in_memory(self.config.url.expose()) {
            let mut keeper = self.keeper.lock().await;
            if keeper.is_none() {
                *keeper = Some(self.connect_once().await.map_err(|cause| {
                    format!("the in-memory database could not be opened: {cause}")
                })?);
            }
        }
        if self.migrations.is_empty() {
            match self.connect_once().await {
                Ok(conn) => {
                    let _ = conn.close().await;
                    self.mark_up();
                }
                // Starts anyway: the service reports the cause and
                // reconnects by itself.
                Err(cause) => self.mark_down(cause),
            }
        } else {
            let report = self.migrate(&self.migrations).await.inspect_err(|e| {
                if let MigrationError::Database { cause } = e {
                    self.mark_down(cause.clone());
                }
            })?;
            self.mark_up();
            self.reach.lock().migrations = Some(report);
        }
        if self.reach.lock().down.is_none() {
            self.maintain().await;
        }
        Ok(())
    }

    fn close(&self) {
        let pool = self.core.pool.read().clone();
        match tokio::runtime::Handle::try_current() {
            Ok(rt) => {
                rt.spawn(async move { pool.close().await });
            }
            // Marks the pool closed; its connections go with it.
            Err(_) => drop(pool.close()),
        }
        if let Ok(mut keeper) = self.keeper.try_lock() {
            keeper.take();
        }
    }
}

/// SQLSTATEs that mean the connection is gone: class 08 (connection
/// exception) and the server shutting it down (57P01–57P03).
fn connection_lost(code: Option<&str>) -> bool {
    code.is_some_and(|c| c.starts_with("08") || matches!(c, "57P01" | "57P02" | "57P03"))
}

/// A lazy sqlx pool for `config` whose hooks report to `core`. sqlx's own
/// idle reaper and minimum are off: the engine keeps both.
fn make_pool<B: Backend>(config: &DbConfig, options: Options<B>, core: Weak<Core<B>>) -> Pool<B> {
    let on_connect = core.clone();
    let on_acquire = core.clone();
    let on_release = core;
    PoolOptions::<B>::new()
        .max_connections(config.max_connections)
        .min_connections(0)
        .acquire_timeout(config.acquire_timeout)
        .idle_timeout(None)
        .max_lifetime(None)
        .test_before_acquire(config.test_before_acquire)
        .after_connect(move |_conn, _meta| {
            if let Some(core) = on_connect.upgrade() {
                Figures::bump(&core.figures.created);
            }
            Box::pin(std::future::ready(Ok(())))
        })
        .before_acquire(move |_conn, meta| {
            let keep = on_acquire
                .upgrade()
                .is_none_or(|core| core.handing_out(&meta));
            Box::pin(std::future::ready(Ok(keep)))
        })
        .after_release(move |_conn, meta| {
            let keep = on_release
                .upgrade()
                .is_none_or(|core| core.taking_back(&meta));
            Box::pin(std::future::ready(Ok(keep)))
        })
        .connect_lazy_with(options)
}

impl<B: Backend> Engine for DbEngine<B> {
    fn health_interval(&self) -> Duration {
        self.config.health_interval
    }

    fn health(&self) -> Health {
        let stats = self.stats();
        let reach = self.reach.lock().clone();
        let figures = &self.core.figures;
        let timeouts = figures.timed_out.load(Ordering::Relaxed);
        let new_timeouts =
            timeouts.saturating_sub(figures.reported_timeouts.swap(timeouts, Ordering::Relaxed));
        let thresholds = self.config.health;
        let health = if let Some(cause) = &reach.down {
            Health::new(Status::Error).message(format!("database unreachable: {cause}"))
        } else if thresholds.waiting > 0 && stats.waiting >= thresholds.waiting {
            Health::new(Status::Degraded).message(format!(
                "{} callers waiting for a connection ({} of {} in use)",
                stats.waiting, stats.in_use, stats.max_connections
            ))
        } else if new_timeouts > 0 {
            Health::new(Status::Degraded).message(format!(
                "{new_timeouts} acquisitions timed out since the last report: the pool of {} is exhausted",
                stats.max_connections
            ))
        } else if reach.latency.is_some_and(|l| l >= thresholds.latency) {
            Health::new(Status::Degraded).message(format!(
                "the probe took {} ms",
                reach.latency.unwrap_or_default().as_millis()
            ))
        } else {
            Health::ok()
        };
        health
            .stats(&stats)
            .detail("backend", B::LABEL)
            .detail("url", &self.url.shown)
            .detail("reachable", reach.down.is_none())
            .detail(
                "probe_latency_ms",
                reach.latency.map(|l| l.as_secs_f64() * 1e3),
            )
            .detail("probe_skipped", reach.skipped)
            .detail("last_error", &reach.down)
            .detail("migrations", &reach.migrations)
    }

    fn pulse(&self) -> Option<&Pulse> {
        Some(&self.pulse)
    }

    fn initial_status(&self) -> Status {
        if self.reach.lock().down.is_some() {
            Status::Error
        } else {
            Status::Ok
        }
    }

    async fn start(shared: Shared<Self>, _cx: ServiceContext) -> Result<(), BoxError> {
        shared.open().await
    }

    async fn run(shared: Shared<Self>, _cx: ServiceContext) -> Result<(), BoxError> {
        loop {
            let delay = shared.health_check().await;
            shared.checks.send_modify(|n| *n = n.wrapping_add(1));
            tokio::select! {
                _ = tokio::time::sleep(delay) => {}
                _ = shared.probe_now.notified() => {}
            }
        }
    }

    fn phase_changed(&self, _from: Phase, to: Phase) {
        if to == Phase::Closed {
            self.close();
            // Wake anyone waiting for a check that will not come.
            self.checks.send_modify(|n| *n = n.wrapping_add(1));
        }
    }
}
