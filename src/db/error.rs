//! How database operations fail.
//!
//! * [`DbError`] — an operation could not be done. The two ways of not
//!   getting a connection are told apart: [`DbError::Exhausted`] (the
//!   database is fine, every connection is in use; carries the pool's size,
//!   connections in use and callers waiting) and [`DbError::Unavailable`]
//!   (the database cannot be reached; carries the cause). A statement the
//!   database refused is [`DbError::Query`] with sqlx's error as its source.
//! * [`MigrationError`] — migrations could not be applied; each variant names
//!   the migration at fault. Raised in the start hook, it is the reason of a
//!   failed start.
//! * [`ConfigError`](crate::kit::ConfigError) — an invalid configuration,
//!   naming the field, when the spec is made.
//!
//! No error carries the database password: texts that come from the driver
//! are scrubbed of it before they are stored.

use std::time::Duration;

/// A failed database operation.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum DbError {
    /// The service is gone for good (removed from its supervisor, ended
    /// without restart, or its runtime shut down); its pool is closed.
    #[error("database service `{service}` is stopped")]
    Stopped {
        /// The service's name.
        service: String,
    },
    /// The service has not been started yet: put its spec in a running
    /// tree first (its start hook runs the migrations the data path may
    /// depend on).
    #[error("database service `{service}` has not been started")]
    NotStarted {
        /// The service's name.
        service: String,
    },
    /// Every connection is in use and none was released within the acquire
    /// timeout. The database itself is reachable.
    #[error(
        "database pool `{service}` is exhausted: all {size} connections in use, \
         {waiting} callers waiting; gave up after {} ms",
        waited.as_millis()
    )]
    Exhausted {
        /// The service's name.
        service: String,
        /// Connections open when this caller gave up (its `max_connections`).
        size: u32,
        /// Connections handed out (or being opened) then.
        in_use: u32,
        /// Callers waiting for a connection then, this one included.
        waiting: usize,
        /// How long this caller waited.
        waited: Duration,
    },
    /// The database cannot be reached: no connection could be opened, or
    /// the connection broke while in use.
    #[error("database `{service}` is unavailable: {cause}")]
    Unavailable {
        /// The service's name.
        service: String,
        /// Why, as the driver or the service's probe said it (without the
        /// password).
        cause: String,
    },
    /// `fetch_one` or `scalar` found no row.
    #[error("the query on `{service}` returned no row")]
    NoRows {
        /// The service's name.
        service: String,
    },
    /// A parameter could not be encoded; nothing was sent.
    #[error("a parameter for a query on `{service}` could not be encoded: {problem}")]
    Params {
        /// The service's name.
        service: String,
        /// What the encoder said.
        problem: String,
    },
    /// The database refused the statement, or its result could not be
    /// decoded into the requested type.
    #[error("a query on `{service}` failed: {source}")]
    Query {
        /// The service's name.
        service: String,
        /// The driver's error (a [`sqlx::error::DatabaseError`] for errors
        /// from the database: see [`DbError::database_error`]).
        #[source]
        source: sqlx::Error,
    },
    /// The code run in a [`transaction`](super::Db::transaction) panicked;
    /// the transaction was rolled back and its connection discarded.
    #[error("a transaction on `{service}` panicked: {message}")]
    Panicked {
        /// The service's name.
        service: String,
        /// The panic message.
        message: String,
    },
    /// Migrations could not be applied.
    #[error(transparent)]
    Migration(#[from] MigrationError),
}

impl DbError {
    /// The database's own error, if the database refused the statement.
    ///
    /// ```
    /// use servitor::db::DbError;
    ///
    /// let e = DbError::NoRows { service: "orders".into() };
    /// assert!(e.database_error().is_none());
    /// assert!(!e.is_unique_violation());
    /// ```
    pub fn database_error(&self) -> Option<&(dyn sqlx::error::DatabaseError + 'static)> {
        match self {
            DbError::Query { source, .. } => source.as_database_error(),
            _ => None,
        }
    }

    /// Whether the statement broke a unique constraint.
    pub fn is_unique_violation(&self) -> bool {
        self.database_error()
            .is_some_and(|e| e.is_unique_violation())
    }

    /// Whether the database cancelled the statement for running longer than
    /// the [`statement_timeout`](super::DbConfig::statement_timeout).
    pub fn is_statement_timeout(&self) -> bool {
        self.database_error()
            .and_then(|e| e.code())
            .is_some_and(|code| code == "57014")
    }

    /// Whether this is a pool exhaustion ([`DbError::Exhausted`]).
    pub fn is_exhausted(&self) -> bool {
        matches!(self, DbError::Exhausted { .. })
    }

    /// Whether the database could not be reached ([`DbError::Unavailable`]).
    pub fn is_unavailable(&self) -> bool {
        matches!(self, DbError::Unavailable { .. })
    }
}

impl From<crate::kit::Stopped> for DbError {
    fn from(e: crate::kit::Stopped) -> Self {
        DbError::Stopped { service: e.service }
    }
}

/// Migrations that could not be applied. Migrations are applied in version
/// order, each in its own transaction: those before the one at fault stay
/// applied, the one at fault was rolled back.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum MigrationError {
    /// An applied migration's SQL was changed since (its checksum differs
    /// from the recorded one, line endings aside). Add a new migration
    /// instead of editing an applied one.
    #[error(
        "migration {version} ({name}) was changed after it was applied: its checksum differs from the recorded one"
    )]
    Modified {
        /// Its version.
        version: i64,
        /// Its name.
        name: String,
    },
    /// A migration failed; its transaction was rolled back.
    #[error("migration {version} ({name}) failed and was rolled back: {cause}")]
    Failed {
        /// Its version.
        version: i64,
        /// Its name.
        name: String,
        /// What the database said.
        cause: String,
    },
    /// The database records a migration that is not among those given (an
    /// older build against a newer database). See
    /// [`Migrations::ignore_missing`](super::Migrations::ignore_missing).
    #[error(
        "migration {version} is applied to the database but is not among the migrations given"
    )]
    Missing {
        /// Its version.
        version: i64,
    },
    /// A migration run without a transaction failed half way and is
    /// recorded as unfinished; repair the database by hand.
    #[error("migration {version} is recorded as partly applied; repair it by hand and delete its row from the migrations table")]
    Dirty {
        /// Its version.
        version: i64,
    },
    /// The migrations could not be read or are inconsistent (an unreadable
    /// directory, a file name without a version, a version given twice).
    #[error("migrations could not be read: {problem}")]
    Source {
        /// What is wrong.
        problem: String,
    },
    /// The database could not be reached or the migrations table could not
    /// be read or written.
    #[error("migrations could not run: {cause}")]
    Database {
        /// What the database or driver said.
        cause: String,
    },
}
