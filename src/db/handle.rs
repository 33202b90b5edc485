//! [`Db`], the handle application code uses, and [`DbBuilder`], which makes
//! one together with its service's [`ChildSpec`].

use super::backend::Backend;
use super::config::DbConfig;
use super::conn::{ops, Conn, Tx};
use super::engine::DbEngine;
use super::error::DbError;
use super::migrate::{AppliedMigration, MigrationReport, Migrations};
use super::params::Params;
use super::stats::DbStats;
use crate::kit::{self, catch_panic_async, ConfigError, Phase, Shared};
use crate::supervisor::ChildSpec;
use sqlx::{Decode, FromRow, Pool, SqlSafeStr, Type};
use std::fmt;

/// A handle to a database service: cheap to clone, shared by every clone,
/// valid across restarts of the service's actor.
///
/// Every operation acquires a connection from the service's pool on the
/// calling task — it never waits for the service's actor — and returns it
/// when done. Statements take their parameters bound ([`Params`]: a tuple,
/// `()` for none), never spliced into the SQL; the SQL itself is an
/// `&'static str` or wrapped in [`sqlx::AssertSqlSafe`].
///
/// ```
/// use servitor::db::{Db, DbConfig, Sqlite};
/// use servitor::testing::TestTree;
///
/// # #[actix_rt::main] async fn main() -> Result<(), Box<dyn std::error::Error>> {
/// let (spec, db) = Db::<Sqlite>::service("app-db", DbConfig::default())?;
/// let tree = TestTree::start(spec).await?;
///
/// db.execute("CREATE TABLE users (id INTEGER PRIMARY KEY, name TEXT NOT NULL)", ()).await?;
/// let added = db.execute("INSERT INTO users (name) VALUES (?), (?)", ("ada", "grace")).await?;
/// assert_eq!(added, 2);
/// let users: Vec<(i64, String)> = db.fetch_all("SELECT id, name FROM users ORDER BY id", ()).await?;
/// assert_eq!(users[1].1, "grace");
/// let one: (String,) = db.fetch_one("SELECT name FROM users WHERE id = ?", (1,)).await?;
/// assert_eq!(one.0, "ada");
/// let none: Option<(String,)> = db.fetch_optional("SELECT name FROM users WHERE id = ?", (9,)).await?;
/// assert!(none.is_none());
/// let count: i64 = db.scalar("SELECT count(*) FROM users", ()).await?;
/// assert_eq!(count, 2);
/// tree.shutdown().await;
/// assert!(db.execute("SELECT 1", ()).await.is_err()); // stopped for good
/// # Ok(()) }
/// ```
pub struct Db<B: Backend> {
    pub(crate) shared: Shared<DbEngine<B>>,
}

/// A handle to an SQLite database service.
pub type SqliteDb = Db<super::Sqlite>;

/// A handle to a PostgreSQL database service.
#[cfg(feature = "postgres")]
#[cfg_attr(docsrs, doc(cfg(feature = "postgres")))]
pub type PgDb = Db<super::Postgres>;

impl<B: Backend> Clone for Db<B> {
    fn clone(&self) -> Self {
        Db {
            shared: self.shared.clone(),
        }
    }
}

impl<B: Backend> fmt::Debug for Db<B> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Db")
            .field("name", &self.shared.name())
            .field("backend", &B::LABEL)
            .field("url", &self.shared.url)
            .field("phase", &self.shared.phase())
            .finish()
    }
}

impl<B: Backend> Db<B> {
    /// A database service named `name` with `config`: the child spec to put
    /// in a supervision tree, and the handle. Shorthand for
    /// `Db::builder(name).config(config).build()`. The configuration and
    /// URL are checked here; no connection is opened until the service
    /// starts.
    pub fn service(
        name: impl Into<String>,
        config: DbConfig,
    ) -> Result<(ChildSpec, Db<B>), ConfigError> {
        Self::builder(name).config(config).build()
    }

    /// A builder, for migrations.
    pub fn builder(name: impl Into<String>) -> DbBuilder<B> {
        DbBuilder {
            name: name.into(),
            config: DbConfig::default(),
            migrations: Migrations::new(),
            _backend: std::marker::PhantomData,
        }
    }

    /// The service's name.
    pub fn name(&self) -> &str {
        self.shared.name()
    }

    /// The backend: `sqlite` or `postgres`.
    pub fn backend(&self) -> &'static str {
        B::LABEL
    }

    /// The configuration it was built with.
    pub fn config(&self) -> &DbConfig {
        &self.shared.config
    }

    /// The URL with its password replaced by `[redacted]`.
    pub fn url(&self) -> &str {
        &self.shared.url.shown
    }

    /// Whether the service is supervised and started.
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

    /// The engine, if the data path is open: started at least once, not
    /// gone for good.
    #[inline]
    fn engine(&self) -> Result<&DbEngine<B>, DbError> {
        let engine = self.shared.check()?;
        if self.shared.phase() == Phase::Idle {
            return Err(DbError::NotStarted {
                service: self.shared.name().to_string(),
            });
        }
        Ok(engine)
    }

    /// A connection of the caller's own, until it is dropped. Waits up to
    /// the acquire timeout; fails with [`DbError::Exhausted`] if every
    /// connection stayed in use, [`DbError::Unavailable`] if the database
    /// could not be reached.
    pub async fn acquire(&self) -> Result<Conn<B>, DbError> {
        let conn = self.engine()?.acquire().await?;
        Ok(Conn::new(conn, self.shared.clone()))
    }

    /// Runs a statement with its parameters bound; the number of rows it
    /// affected.
    pub async fn execute(
        &self,
        sql: impl SqlSafeStr,
        params: impl Params<B>,
    ) -> Result<u64, DbError> {
        let engine = self.engine()?;
        let mut conn = engine.acquire().await?;
        ops::execute(engine, &mut conn, sql, params).await
    }

    /// Every row of a query, each decoded as a `T` (a tuple, or a type
    /// deriving sqlx's `FromRow`).
    pub async fn fetch_all<T>(
        &self,
        sql: impl SqlSafeStr,
        params: impl Params<B>,
    ) -> Result<Vec<T>, DbError>
    where
        T: for<'r> FromRow<'r, B::Row> + Send + Unpin,
    {
        let engine = self.engine()?;
        let mut conn = engine.acquire().await?;
        ops::fetch_all(engine, &mut conn, sql, params).await
    }

    /// The first row of a query; [`DbError::NoRows`] if there is none.
    pub async fn fetch_one<T>(
        &self,
        sql: impl SqlSafeStr,
        params: impl Params<B>,
    ) -> Result<T, DbError>
    where
        T: for<'r> FromRow<'r, B::Row> + Send + Unpin,
    {
        self.fetch_optional(sql, params)
            .await?
            .ok_or_else(|| DbError::NoRows {
                service: self.shared.name().to_string(),
            })
    }

    /// The first row of a query, if there is one.
    pub async fn fetch_optional<T>(
        &self,
        sql: impl SqlSafeStr,
        params: impl Params<B>,
    ) -> Result<Option<T>, DbError>
    where
        T: for<'r> FromRow<'r, B::Row> + Send + Unpin,
    {
        let engine = self.engine()?;
        let mut conn = engine.acquire().await?;
        ops::fetch_optional(engine, &mut conn, sql, params).await
    }

    /// The first column of the first row; [`DbError::NoRows`] if there is
    /// no row (use `Option<T>` for a column that may be `NULL`).
    pub async fn scalar<T>(
        &self,
        sql: impl SqlSafeStr,
        params: impl Params<B>,
    ) -> Result<T, DbError>
    where
        T: for<'r> Decode<'r, B> + Type<B> + Send + Unpin,
    {
        let engine = self.engine()?;
        let mut conn = engine.acquire().await?;
        ops::scalar(engine, &mut conn, sql, params).await
    }

    /// Begins a transaction on a connection of its own. See [`Tx`].
    pub async fn begin(&self) -> Result<Tx<B>, DbError> {
        self.acquire().await?.begin().await
    }

    /// Runs `work` in a transaction: committed if it returns `Ok`, rolled
    /// back if it returns `Err` (that error is returned) or panics (then
    /// [`DbError::Panicked`] is, and the connection is discarded).
    ///
    /// ```
    /// use servitor::db::{Db, DbConfig, DbError, Sqlite, Tx};
    /// use servitor::testing::TestTree;
    ///
    /// # #[actix_rt::main] async fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// let (spec, db) = Db::<Sqlite>::service("app-db", DbConfig::default())?;
    /// let tree = TestTree::start(spec).await?;
    /// db.execute("CREATE TABLE stock (item TEXT PRIMARY KEY, left INTEGER CHECK (left >= 0))", ()).await?;
    /// db.execute("INSERT INTO stock VALUES ('pen', 1)", ()).await?;
    ///
    /// let taken = db.transaction(async |tx: &mut Tx<Sqlite>| {
    ///     tx.execute("UPDATE stock SET left = left - 1 WHERE item = 'pen'", ()).await?;
    ///     Ok::<_, DbError>("pen")
    /// }).await?;
    /// assert_eq!(taken, "pen");
    ///
    /// // The CHECK fails: the update is rolled back, the error returned.
    /// let refused = db.transaction(async |tx: &mut Tx<Sqlite>| {
    ///     tx.execute("UPDATE stock SET left = left - 1 WHERE item = 'pen'", ()).await?;
    ///     Ok::<_, DbError>(())
    /// }).await;
    /// assert!(refused.is_err());
    /// assert_eq!(db.scalar::<i64>("SELECT left FROM stock", ()).await?, 0);
    /// # tree.shutdown().await; Ok(()) }
    /// ```
    pub async fn transaction<T, E, F>(&self, work: F) -> Result<T, E>
    where
        F: AsyncFnOnce(&mut Tx<B>) -> Result<T, E>,
        E: From<DbError>,
    {
        let mut tx = self.begin().await?;
        match catch_panic_async(work(&mut tx)).await {
            Ok(Ok(value)) => {
                tx.commit().await?;
                Ok(value)
            }
            Ok(Err(e)) => {
                // The caller's error is the one that matters; a failed
                // rollback discards the connection.
                let _ = tx.rollback().await;
                Err(e)
            }
            Err(panic) => {
                tx.discard();
                Err(DbError::Panicked {
                    service: self.shared.name().to_string(),
                    message: panic.into_message(),
                }
                .into())
            }
        }
    }

    /// The sqlx pool itself, for everything the handle does not offer
    /// (streams, `QueryBuilder`, the query macros, `LISTEN`). Connections
    /// taken from it directly show in the pool's gauges but not in the
    /// acquisition figures, and a timeout is sqlx's `PoolTimedOut` rather
    /// than the service's typed errors.
    pub fn pool(&self) -> Result<Pool<B>, DbError> {
        Ok(self.engine()?.pool())
    }

    /// The pool's figures now (also published as health details).
    pub fn stats(&self) -> DbStats {
        self.shared.stats()
    }

    /// Waits for the service's next health check (probe and pool
    /// maintenance) to finish, then returns the figures after it. Fails
    /// with [`DbError::Stopped`] once the service is gone for good.
    pub async fn checked(&self) -> Result<DbStats, DbError> {
        let engine = self.shared.check()?;
        tokio::select! {
            _ = engine.next_check() => {}
            _ = self.shared.stopped() => {}
        }
        self.shared.check()?;
        Ok(engine.stats())
    }

    /// Applies `migrations` now (the service's own run in its start hook);
    /// see [`Migrations`].
    pub async fn migrate(&self, migrations: &Migrations) -> Result<MigrationReport, DbError> {
        let engine = self.engine()?;
        migrations.validate(self.shared.name()).map_err(|e| {
            super::error::MigrationError::Source {
                problem: e.to_string(),
            }
        })?;
        Ok(engine.migrate(migrations).await?)
    }

    /// The migrations recorded in the database: version, name, applied-at,
    /// checksum, duration.
    pub async fn applied_migrations(&self) -> Result<Vec<AppliedMigration>, DbError> {
        self.engine()?.applied_migrations().await
    }
}

/// Makes a database service: its configuration and migrations, then
/// [`build`](Self::build).
///
/// ```
/// use servitor::db::{Db, DbConfig, Migrations, Sqlite};
///
/// let (spec, db) = Db::<Sqlite>::builder("app-db")
///     .config(DbConfig::url("sqlite::memory:"))
///     .migrations(Migrations::new().add(1, "create notes", "CREATE TABLE notes (body TEXT)"))
///     .build()
///     .unwrap();
/// assert_eq!(spec.id(), "app-db");
/// assert_eq!(db.backend(), "sqlite");
/// ```
pub struct DbBuilder<B: Backend> {
    name: String,
    config: DbConfig,
    migrations: Migrations,
    _backend: std::marker::PhantomData<fn() -> B>,
}

impl<B: Backend> DbBuilder<B> {
    /// Sets the configuration.
    pub fn config(mut self, config: DbConfig) -> Self {
        self.config = config;
        self
    }

    /// Sets the migrations the start hook applies (together with those in
    /// [`DbConfig::migrations_dir`]).
    pub fn migrations(mut self, migrations: Migrations) -> Self {
        self.migrations = migrations;
        self
    }

    /// Checks everything and makes the spec and the handle. Dropping the
    /// spec without ever running it stops the service.
    pub fn build(self) -> Result<(ChildSpec, Db<B>), ConfigError> {
        let DbBuilder {
            name,
            config,
            migrations,
            ..
        } = self;
        let (spec, shared) = kit::service(name, |name| DbEngine::new(name, config, migrations))?;
        Ok((spec, Db { shared }))
    }
}

impl<B: Backend> fmt::Debug for DbBuilder<B> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("DbBuilder")
            .field("name", &self.name)
            .field("backend", &B::LABEL)
            .field("config", &self.config)
            .field("migrations", &self.migrations)
            .finish()
    }
}
