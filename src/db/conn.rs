//! A connection held by one caller ([`Conn`]) and a transaction on one
//! ([`Tx`]).
//!
//! Both run the same statements as the handle — [`execute`](Conn::execute),
//! [`fetch_all`](Conn::fetch_all), [`fetch_one`](Conn::fetch_one),
//! [`fetch_optional`](Conn::fetch_optional), [`scalar`](Conn::scalar) — and
//! both dereference to sqlx's connection (`&mut *conn` is an sqlx executor),
//! for everything else sqlx can do.
//!
//! A [`Tx`] ends with [`commit`](Tx::commit) or [`rollback`](Tx::rollback).
//! Dropped without either — an early return, a `?`, a panic, a cancelled
//! future — it is rolled back before its connection serves anyone else, as
//! the scoped sessions of other frameworks do. A connection dropped while
//! its holder panics is discarded rather than returned: whatever it was in
//! the middle of, the next caller gets a clean one.

use super::backend::Backend;
use super::engine::DbEngine;
use super::error::DbError;
use super::params::Params;
use crate::kit::Shared;
use sqlx::pool::PoolConnection;
use sqlx::{Decode, FromRow, SqlSafeStr, Type};
use sqlx_core::transaction::TransactionManager;
use std::fmt;
use std::ops::{Deref, DerefMut};

/// The statements every way of reaching the database runs, written once.
pub(crate) mod ops {
    use super::*;

    pub async fn execute<B: Backend>(
        engine: &DbEngine<B>,
        conn: &mut B::Connection,
        sql: impl SqlSafeStr,
        params: impl Params<B>,
    ) -> Result<u64, DbError> {
        let args = params
            .into_arguments()
            .map_err(|e| engine.params_error(e))?;
        B::run_execute(conn, sql.into_sql_str(), args)
            .await
            .map_err(|e| engine.query_error(e))
    }

    pub async fn fetch_all<B: Backend, T>(
        engine: &DbEngine<B>,
        conn: &mut B::Connection,
        sql: impl SqlSafeStr,
        params: impl Params<B>,
    ) -> Result<Vec<T>, DbError>
    where
        T: for<'r> FromRow<'r, B::Row> + Send + Unpin,
    {
        let args = params
            .into_arguments()
            .map_err(|e| engine.params_error(e))?;
        B::run_fetch_all(conn, sql.into_sql_str(), args)
            .await
            .map_err(|e| engine.query_error(e))
    }

    pub async fn fetch_optional<B: Backend, T>(
        engine: &DbEngine<B>,
        conn: &mut B::Connection,
        sql: impl SqlSafeStr,
        params: impl Params<B>,
    ) -> Result<Option<T>, DbError>
    where
        T: for<'r> FromRow<'r, B::Row> + Send + Unpin,
    {
        let args = params
            .into_arguments()
            .map_err(|e| engine.params_error(e))?;
        B::run_fetch_optional(conn, sql.into_sql_str(), args)
            .await
            .map_err(|e| engine.query_error(e))
    }

    pub async fn scalar<B: Backend, T>(
        engine: &DbEngine<B>,
        conn: &mut B::Connection,
        sql: impl SqlSafeStr,
        params: impl Params<B>,
    ) -> Result<T, DbError>
    where
        T: for<'r> Decode<'r, B> + Type<B> + Send + Unpin,
    {
        let args = params
            .into_arguments()
            .map_err(|e| engine.params_error(e))?;
        B::run_scalar(conn, sql.into_sql_str(), args)
            .await
            .map_err(|e| engine.query_error(e))?
            .ok_or_else(|| DbError::NoRows {
                service: engine.name.to_string(),
            })
    }
}

/// Implements the statement methods on a type that reaches a connection
/// through `self.connection()`.
macro_rules! statements {
    () => {
        /// Runs a statement with its parameters bound; the number of rows it
        /// affected.
        pub async fn execute(
            &mut self,
            sql: impl SqlSafeStr,
            params: impl Params<B>,
        ) -> Result<u64, DbError> {
            let (engine, conn) = self.parts();
            ops::execute(engine, conn, sql, params).await
        }

        /// Every row of a query, each decoded as a `T` (a tuple, or a type
        /// deriving sqlx's `FromRow`).
        pub async fn fetch_all<T>(
            &mut self,
            sql: impl SqlSafeStr,
            params: impl Params<B>,
        ) -> Result<Vec<T>, DbError>
        where
            T: for<'r> FromRow<'r, B::Row> + Send + Unpin,
        {
            let (engine, conn) = self.parts();
            ops::fetch_all(engine, conn, sql, params).await
        }

        /// The first row of a query; [`DbError::NoRows`] if there is none.
        pub async fn fetch_one<T>(
            &mut self,
            sql: impl SqlSafeStr,
            params: impl Params<B>,
        ) -> Result<T, DbError>
        where
            T: for<'r> FromRow<'r, B::Row> + Send + Unpin,
        {
            let (engine, conn) = self.parts();
            ops::fetch_optional(engine, conn, sql, params)
                .await?
                .ok_or_else(|| DbError::NoRows {
                    service: engine.name.to_string(),
                })
        }

        /// The first row of a query, if there is one.
        pub async fn fetch_optional<T>(
            &mut self,
            sql: impl SqlSafeStr,
            params: impl Params<B>,
        ) -> Result<Option<T>, DbError>
        where
            T: for<'r> FromRow<'r, B::Row> + Send + Unpin,
        {
            let (engine, conn) = self.parts();
            ops::fetch_optional(engine, conn, sql, params).await
        }

        /// The first column of the first row; [`DbError::NoRows`] if there
        /// is no row (use `Option<T>` for a column that may be `NULL`).
        pub async fn scalar<T>(
            &mut self,
            sql: impl SqlSafeStr,
            params: impl Params<B>,
        ) -> Result<T, DbError>
        where
            T: for<'r> Decode<'r, B> + Type<B> + Send + Unpin,
        {
            let (engine, conn) = self.parts();
            ops::scalar(engine, conn, sql, params).await
        }
    };
}

/// A connection from the pool, held by one caller until dropped (then
/// returned to the pool, or discarded if dropped during a panic).
///
/// ```
/// use servitor::db::{Db, DbConfig, Sqlite};
/// use servitor::testing::TestTree;
///
/// # #[actix_rt::main] async fn main() -> Result<(), Box<dyn std::error::Error>> {
/// let (spec, db) = Db::<Sqlite>::service("app-db", DbConfig::default())?;
/// let tree = TestTree::start(spec).await?;
/// let mut conn = db.acquire().await?;
/// conn.execute("CREATE TEMP TABLE scratch (n INTEGER)", ()).await?;
/// conn.execute("INSERT INTO scratch VALUES (?), (?)", (1, 2)).await?;
/// let sum: i64 = conn.scalar("SELECT sum(n) FROM scratch", ()).await?;
/// assert_eq!(sum, 3);
/// // Anything else sqlx offers works on the connection itself:
/// let n: i64 = sqlx::query_scalar("SELECT count(*) FROM scratch").fetch_one(&mut *conn).await?;
/// assert_eq!(n, 2);
/// # drop(conn); tree.shutdown().await; Ok(()) }
/// ```
pub struct Conn<B: Backend> {
    conn: PoolConnection<B>,
    shared: Shared<DbEngine<B>>,
}

impl<B: Backend> Conn<B> {
    pub(crate) fn new(conn: PoolConnection<B>, shared: Shared<DbEngine<B>>) -> Self {
        Conn { conn, shared }
    }

    fn parts(&mut self) -> (&DbEngine<B>, &mut B::Connection) {
        (&self.shared, &mut self.conn)
    }

    statements!();

    /// Begins a transaction on this connection.
    pub async fn begin(self) -> Result<Tx<B>, DbError> {
        Tx::begin(self).await
    }

    /// Closes the connection instead of returning it to the pool when it is
    /// dropped (after a session setting that must not leak to the next
    /// caller, say).
    pub fn discard(&mut self) {
        self.conn.close_on_drop();
    }
}

impl<B: Backend> Drop for Conn<B> {
    fn drop(&mut self) {
        if std::thread::panicking() {
            // Whatever the holder was in the middle of, nobody else gets it.
            self.conn.close_on_drop();
        }
    }
}

impl<B: Backend> Deref for Conn<B> {
    type Target = B::Connection;
    fn deref(&self) -> &B::Connection {
        &self.conn
    }
}

impl<B: Backend> DerefMut for Conn<B> {
    fn deref_mut(&mut self) -> &mut B::Connection {
        &mut self.conn
    }
}

impl<B: Backend> fmt::Debug for Conn<B> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Conn")
            .field("service", &self.shared.name())
            .field("backend", &B::LABEL)
            .finish()
    }
}

/// A transaction: every statement on it commits together
/// ([`commit`](Tx::commit)) or not at all ([`rollback`](Tx::rollback), or
/// dropping it).
///
/// ```
/// use servitor::db::{Db, DbConfig, Sqlite};
/// use servitor::testing::TestTree;
///
/// # #[actix_rt::main] async fn main() -> Result<(), Box<dyn std::error::Error>> {
/// let (spec, db) = Db::<Sqlite>::service("app-db", DbConfig::default())?;
/// let tree = TestTree::start(spec).await?;
/// db.execute("CREATE TABLE accounts (id INTEGER PRIMARY KEY, balance INTEGER)", ()).await?;
/// db.execute("INSERT INTO accounts VALUES (1, 100), (2, 0)", ()).await?;
///
/// let mut tx = db.begin().await?;
/// tx.execute("UPDATE accounts SET balance = balance - ? WHERE id = 1", (30,)).await?;
/// tx.execute("UPDATE accounts SET balance = balance + ? WHERE id = 2", (30,)).await?;
/// tx.commit().await?;
///
/// let mut tx = db.begin().await?;
/// tx.execute("DELETE FROM accounts", ()).await?;
/// drop(tx); // rolled back
/// let total: i64 = db.scalar("SELECT sum(balance) FROM accounts", ()).await?;
/// assert_eq!(total, 100);
/// # tree.shutdown().await; Ok(()) }
/// ```
pub struct Tx<B: Backend> {
    conn: Conn<B>,
    open: bool,
}

impl<B: Backend> Tx<B> {
    pub(crate) async fn begin(conn: Conn<B>) -> Result<Tx<B>, DbError> {
        // Open from the start: if `BEGIN` fails half way, dropping rolls
        // back whatever it did.
        let mut tx = Tx { conn, open: true };
        B::TransactionManager::begin(&mut tx.conn.conn, None)
            .await
            .map_err(|e| tx.conn.shared.query_error(e))?;
        Ok(tx)
    }

    fn parts(&mut self) -> (&DbEngine<B>, &mut B::Connection) {
        self.conn.parts()
    }

    statements!();

    /// Commits the transaction.
    pub async fn commit(mut self) -> Result<(), DbError> {
        let result = B::TransactionManager::commit(&mut self.conn.conn).await;
        self.open = false;
        result.map_err(|e| {
            self.conn.discard();
            self.conn.shared.query_error(e)
        })
    }

    /// Rolls the transaction back.
    pub async fn rollback(mut self) -> Result<(), DbError> {
        let result = B::TransactionManager::rollback(&mut self.conn.conn).await;
        self.open = false;
        result.map_err(|e| {
            self.conn.discard();
            self.conn.shared.query_error(e)
        })
    }

    /// Rolls back and closes the connection (after a panic in the code
    /// that held the transaction).
    pub(crate) fn discard(mut self) {
        self.conn.discard();
    }
}

impl<B: Backend> Drop for Tx<B> {
    fn drop(&mut self) {
        if self.open {
            // Queued on the connection; sent before it serves anyone else.
            B::TransactionManager::start_rollback(&mut self.conn.conn);
        }
    }
}

impl<B: Backend> Deref for Tx<B> {
    type Target = B::Connection;
    fn deref(&self) -> &B::Connection {
        &self.conn
    }
}

impl<B: Backend> DerefMut for Tx<B> {
    fn deref_mut(&mut self) -> &mut B::Connection {
        &mut self.conn
    }
}

impl<B: Backend> fmt::Debug for Tx<B> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Tx")
            .field("service", &self.conn.shared.name())
            .field("open", &self.open)
            .finish()
    }
}
