//! Transactions commit together or not at all: `commit` keeps, dropping
//! or an error rolls back, a panic rolls back and discards the connection,
//! and a holder that panics or is cancelled leaves no open transaction for
//! the next caller.

#[cfg(feature = "postgres")]
use crate::common::PgSchema;
use crate::common::{expect_err, sqlite, started};
use servitor::db::{DbConfig, DbError, Sqlite, Tx};
use tokio::sync::oneshot;

macro_rules! transactions_commit_or_roll_back {
    ($B:ty, $db:expr) => {{
        let db = $db;
        db.execute("CREATE TABLE items (id BIGINT PRIMARY KEY)", ()).await.unwrap();
        let count = || async { db.scalar::<i64>("SELECT count(*) FROM items", ()).await.unwrap() };

        let mut tx = db.begin().await.unwrap();
        tx.execute("INSERT INTO items VALUES ($1)", (1_i64,)).await.unwrap();
        assert_eq!(tx.scalar::<i64>("SELECT count(*) FROM items", ()).await.unwrap(), 1);
        tx.commit().await.unwrap();
        assert_eq!(count().await, 1);

        let mut tx = db.begin().await.unwrap();
        tx.execute("INSERT INTO items VALUES ($1)", (2_i64,)).await.unwrap();
        tx.rollback().await.unwrap();
        assert_eq!(count().await, 1);

        let mut tx = db.begin().await.unwrap();
        tx.execute("INSERT INTO items VALUES ($1)", (3_i64,)).await.unwrap();
        drop(tx);
        assert_eq!(count().await, 1, "a dropped transaction is rolled back");

        let kept = db
            .transaction(async |tx: &mut Tx<$B>| {
                tx.execute("INSERT INTO items VALUES ($1)", (4_i64,)).await?;
                Ok::<_, DbError>(4)
            })
            .await
            .unwrap();
        assert_eq!(kept, 4);
        assert_eq!(count().await, 2);

        // The second insert breaks the primary key: neither stays.
        let e = db
            .transaction(async |tx: &mut Tx<$B>| {
                tx.execute("INSERT INTO items VALUES ($1)", (5_i64,)).await?;
                tx.execute("INSERT INTO items VALUES ($1)", (5_i64,)).await?;
                Ok::<_, DbError>(())
            })
            .await
            .unwrap_err();
        assert!(e.is_unique_violation(), "{e}");
        assert_eq!(count().await, 2);

        let e = db
            .transaction(async |tx: &mut Tx<$B>| {
                tx.execute("INSERT INTO items VALUES ($1)", (6_i64,)).await?;
                if tx.scalar::<i64>("SELECT count(*) FROM items", ()).await? == 3 {
                    panic!("bad state");
                }
                Ok::<_, DbError>(())
            })
            .await
            .unwrap_err();
        assert!(matches!(e, DbError::Panicked { ref message, .. } if message == "bad state"), "{e}");
        assert_eq!(count().await, 2);
    }};
}

#[actix_rt::test]
async fn sqlite_transactions_commit_or_roll_back() {
    let (tree, db) = started::<Sqlite>("sqlite-tx", sqlite()).await;
    transactions_commit_or_roll_back!(Sqlite, &db);
    tree.shutdown().await;
}

#[cfg(feature = "postgres")]
#[actix_rt::test]
async fn postgres_transactions_commit_or_roll_back() {
    let Some(schema) = PgSchema::new("tx").await else {
        return;
    };
    let (tree, db) = started::<servitor::db::Postgres>("pg-tx", schema.config()).await;
    transactions_commit_or_roll_back!(servitor::db::Postgres, &db);
    tree.shutdown().await;
}

/// A holder that panics and one that is cancelled, each in the middle of
/// a transaction on the only connection: the next caller sees neither
/// their rows nor an open transaction. `$no_open_tx` is a statement that
/// fails inside an open transaction, `$undo` what undoes it outside one.
macro_rules! abandoned_transactions_leave_nothing_open {
    ($B:ty, $db:expr, $no_open_tx:expr, $undo:expr) => {{
        let db = $db;
        db.execute("CREATE TABLE log (n BIGINT)", ()).await.unwrap();

        let holder = db.clone();
        let panicked = tokio::spawn(async move {
            let mut tx = holder.begin().await.unwrap();
            tx.execute("INSERT INTO log VALUES (1)", ()).await.unwrap();
            panic!("the holder panicked");
        })
        .await
        .unwrap_err();
        assert!(panicked.is_panic());
        check_clean::<$B>(&db, $no_open_tx, $undo).await;

        let holder = db.clone();
        let (inserted, wait) = oneshot::channel();
        let cancelled = tokio::spawn(async move {
            let mut tx = holder.begin().await.unwrap();
            tx.execute("INSERT INTO log VALUES (2)", ()).await.unwrap();
            inserted.send(()).unwrap();
            std::future::pending::<()>().await;
            drop(tx);
        });
        wait.await.unwrap();
        cancelled.abort();
        assert!(cancelled.await.unwrap_err().is_cancelled());
        check_clean::<$B>(&db, $no_open_tx, $undo).await;

        // A plain connection dropped during a panic is discarded, not reused.
        let created = db.stats().connections_created;
        let holder = db.clone();
        let _ = tokio::spawn(async move {
            let _conn = holder.acquire().await.unwrap();
            panic!("panicked with a connection");
        })
        .await;
        check_clean::<$B>(&db, $no_open_tx, $undo).await;
        assert_eq!(
            db.stats().connections_created,
            created + 1,
            "{:?}",
            db.stats()
        );
    }};
}

async fn check_clean<B: servitor::db::Backend>(
    db: &servitor::db::Db<B>,
    no_open_tx: &'static str,
    undo: &'static str,
) where
    i64: for<'r> servitor::db::sqlx::Decode<'r, B> + servitor::db::sqlx::Type<B>,
    usize: servitor::db::sqlx::ColumnIndex<B::Row>,
{
    let mut conn = db.acquire().await.unwrap();
    let rows: i64 = conn.scalar("SELECT count(*) FROM log", ()).await.unwrap();
    assert_eq!(rows, 0, "the abandoned insert was rolled back");
    conn.execute(no_open_tx, ())
        .await
        .expect("no transaction is open on the connection");
    conn.execute(undo, ()).await.unwrap();
}

fn one_connection(config: DbConfig) -> DbConfig {
    DbConfig {
        max_connections: 1,
        ..config
    }
}

#[actix_rt::test]
async fn sqlite_abandoned_transactions_leave_nothing_open() {
    let dir = crate::common::TempDir::new("abandoned");
    let config = DbConfig {
        url: dir.sqlite_url("app.db").into(),
        ..one_connection(sqlite())
    };
    let (tree, db) = started::<Sqlite>("sqlite-abandoned", config).await;
    // SQLite refuses `BEGIN` within a transaction.
    abandoned_transactions_leave_nothing_open!(Sqlite, &db, "BEGIN", "ROLLBACK");
    tree.shutdown().await;
}

#[cfg(feature = "postgres")]
#[actix_rt::test]
async fn postgres_abandoned_transactions_leave_nothing_open() {
    let Some(schema) = PgSchema::new("abandoned").await else {
        return;
    };
    let (tree, db) =
        started::<servitor::db::Postgres>("pg-abandoned", one_connection(schema.config())).await;
    // The abandoned transaction had written, so it had a transaction id;
    // a statement outside any transaction block has none.
    abandoned_transactions_leave_nothing_open!(
        servitor::db::Postgres,
        &db,
        "DO $$ BEGIN IF pg_current_xact_id_if_assigned() IS NOT NULL THEN RAISE EXCEPTION 'a transaction is open'; END IF; END $$",
        "SELECT 1"
    );
    tree.shutdown().await;
}

#[actix_rt::test]
async fn a_transaction_on_a_held_connection_and_errors_of_bad_statements() {
    let (tree, db) = started::<Sqlite>("held-tx", sqlite()).await;
    db.execute("CREATE TABLE t (n INTEGER)", ()).await.unwrap();
    let conn = db.acquire().await.unwrap();
    let mut tx = conn.begin().await.unwrap();
    let e = expect_err(tx.execute("INSERT INTO missing VALUES (1)", ()).await);
    assert!(matches!(e, DbError::Query { .. }), "{e}");
    tx.rollback().await.unwrap();
    assert_eq!(
        db.scalar::<i64>("SELECT count(*) FROM t", ())
            .await
            .unwrap(),
        0
    );
    tree.shutdown().await;
}
