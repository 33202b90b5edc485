//! The database service: a supervised connection pool on
//! [sqlx](https://docs.rs/sqlx) — embedded SQLite by default (feature `db`),
//! PostgreSQL with feature `postgres` — with typed errors that tell an
//! exhausted pool from a database that is down, pool figures, migrations
//! run before the service counts as started, a health probe, and recovery
//! when the database comes back.
//!
//! It is made with the [service kit](crate::kit): [`Db::service`] makes a
//! [`ChildSpec`](crate::ChildSpec) to put in a supervision tree and a
//! [`Db`] handle. The handle is the data path — [`execute`](Db::execute),
//! [`fetch_all`](Db::fetch_all), [`fetch_one`](Db::fetch_one),
//! [`fetch_optional`](Db::fetch_optional), [`scalar`](Db::scalar) with
//! bound [`Params`], [`begin`](Db::begin) / [`transaction`](Db::transaction)
//! for transactions ([`Tx`]), [`acquire`](Db::acquire) for a connection of
//! one's own ([`Conn`]), and [`pool`](Db::pool) for sqlx's pool itself. It
//! takes connections from the pool on the caller's task and never queues
//! behind the service's actor ([`DbService`]), which owns what needs time and
//! a supervisor: the start (migrations), the periodic probe and pool
//! maintenance, and publishing the health.
//!
//! ```
//! use servitor::db::{Db, DbConfig, Migrations, Sqlite};
//! use servitor::{Runtime, Supervisor};
//!
//! # #[actix_rt::main] async fn main() -> Result<(), Box<dyn std::error::Error>> {
//! let (spec, db) = Db::<Sqlite>::builder("app-db")
//!     .config(DbConfig::default()) // in-memory SQLite
//!     .migrations(Migrations::new().add(1, "create notes", "CREATE TABLE notes (id INTEGER PRIMARY KEY, body TEXT)"))
//!     .build()?;
//! let app = Runtime::start(Supervisor::builder("app").child(spec).build()?).await?;
//!
//! db.execute("INSERT INTO notes (body) VALUES (?)", ("hello",)).await?;
//! let body: String = db.scalar("SELECT body FROM notes WHERE id = ?", (1,)).await?;
//! assert_eq!(body, "hello");
//! let health = app.registry().get("app-db").unwrap();
//! assert_eq!(health.details["backend"], "sqlite");
//! assert_eq!(health.details["reachable"], true);
//! assert!(db.stats().connections_created >= 1);
//!
//! app.shutdown().await?;
//! assert!(db.scalar::<i64>("SELECT 1", ()).await.is_err()); // stopped for good
//! # Ok(()) }
//! ```
//!
//! * **Backends** — [`Sqlite`] (file or in memory; WAL for files, foreign
//!   keys on, a busy timeout) and [`Postgres`]; a handle is typed with its
//!   backend ([`SqliteDb`], [`PgDb`]) and the URL must match it
//!   ([`backend`]).
//! * **Configuration** — [`DbConfig`]: URL, pool bounds, timeouts,
//!   test-before-acquire, health thresholds, reconnect backoff ([`config`]).
//! * **Figures** — [`DbStats`], like bb8's ([`stats`]).
//! * **Migrations** — [`Migrations`], in code or from a directory, on
//!   sqlx's migrator ([`migrate`]).
//! * **Everything else** — [`sqlx`] is re-exported, so the pool from
//!   [`Db::pool`] and the connections behind [`Conn`] and [`Tx`] work with
//!   any sqlx API. TLS, JSON, date and UUID column types and the query
//!   macros are sqlx features: turn them on in your own `sqlx` dependency
//!   (same version) and Cargo enables them here too.
//!
//! ## How it fails
//!
//! * **Every connection is in use**: a caller waits for one up to
//!   [`acquire_timeout`](DbConfig::acquire_timeout), in arrival order, then
//!   gets [`DbError::Exhausted`] with the pool's size, the connections in use
//!   and the callers waiting. The service reports
//!   [`Degraded`](crate::Status::Degraded) while callers wait and after
//!   timeouts.
//! * **The database cannot be reached** (down, refusing connections, wrong
//!   credentials): callers get [`DbError::Unavailable`] with the cause; the
//!   service reports [`Error`](crate::Status::Error) with it, tries to reach
//!   the database again on the [`reconnect`](DbConfig::reconnect) backoff,
//!   and is ok again by itself within one health interval of its return.
//!   A service started while its database is down starts (and says so),
//!   unless it has migrations to run: then the start fails with the cause,
//!   and its supervisor retries it as it retries any failed start.
//! * **Connections die under the pool** (a server restart,
//!   `pg_terminate_backend`, a network cut): with
//!   [`test_before_acquire`](DbConfig::test_before_acquire) (the default)
//!   each is found dead before it is handed out and replaced, so the next
//!   query succeeds without an error; without it, the health check pings
//!   idle connections in the background.
//! * **A caller panics or is cancelled while holding a connection**: an
//!   open transaction is rolled back before the connection serves anyone
//!   else, and a connection dropped during a panic is discarded; the next
//!   caller never sees an open transaction.
//! * **A migration fails or an applied one was edited**: the start fails
//!   with a [`MigrationError`] naming it; earlier migrations stay applied,
//!   the failing one is rolled back.
//! * **The actor crashes**: the supervisor restarts it; the pool is not the
//!   actor's, so no connection is dropped and the data path keeps working.
//! * **The service is gone for good**: the pool is closed and every
//!   operation returns [`DbError::Stopped`].
//! * **Bad input** is a typed error: an invalid URL or setting is a
//!   [`ConfigError`](crate::kit::ConfigError) naming the field when the spec
//!   is made; a parameter that cannot be encoded is [`DbError::Params`]
//!   before anything is sent; a statement the database refuses is
//!   [`DbError::Query`].
//! * **Secrets**: the password in the URL never appears in health, logs,
//!   errors, panics or `Debug` output; health shows the URL with
//!   `[redacted]` in its place.

pub mod backend;
pub mod config;
mod conn;
mod engine;
mod error;
mod handle;
pub mod migrate;
pub mod params;
pub mod stats;
mod url;

#[cfg(feature = "postgres")]
#[cfg_attr(docsrs, doc(cfg(feature = "postgres")))]
pub use backend::Postgres;
pub use backend::{Backend, Sqlite, Value};
pub use config::{DbConfig, HealthThresholds};
pub use conn::{Conn, Tx};
pub use engine::DbEngine;
pub use error::{DbError, MigrationError};
#[cfg(feature = "postgres")]
pub use handle::PgDb;
pub use handle::{Db, DbBuilder, SqliteDb};
pub use migrate::{AppliedMigration, Migration, MigrationReport, Migrations};
pub use params::{Args, Params};
pub use stats::DbStats;

/// sqlx, as this crate uses it: for the pool from [`Db::pool`], the
/// connections behind [`Conn`] and [`Tx`], and [`sqlx::AssertSqlSafe`] for
/// SQL built at run time.
pub use sqlx;

/// The supervised actor of a database service: the kit's
/// [`Driver`](crate::kit::Driver) of its engine. It takes no messages; its
/// handle through the runtime is `ServiceRef<DbService<B>>`.
pub type DbService<B> = crate::kit::Driver<DbEngine<B>>;
