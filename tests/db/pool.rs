//! The pool's limits as callers meet them: a full pool is an exhausted
//! pool (typed, with its figures), distinct from a database that cannot be
//! reached; waiters are served oldest first; the figures count what
//! happened.

use crate::common::{expect_err, sqlite, started, BOUND};
#[cfg(feature = "postgres")]
use crate::common::{spare_port, PgSchema};
use servitor::db::{Backend, Db, DbConfig, DbError, Sqlite};
use servitor::Status;
use std::time::Duration;
use tokio::sync::mpsc;

fn two_connections(config: DbConfig, acquire_timeout: Duration) -> DbConfig {
    DbConfig {
        max_connections: 2,
        acquire_timeout,
        ..config
    }
}

/// Yields until `cond` holds (for states with no event to wait on, such as
/// a task having reached the pool's queue), bounded by [`BOUND`].
async fn until(mut cond: impl FnMut() -> bool) {
    tokio::time::timeout(BOUND, async {
        while !cond() {
            tokio::time::sleep(Duration::from_millis(1)).await;
        }
    })
    .await
    .expect("the condition was never reached");
}

async fn a_full_pool_is_exhausted_not_down<B: Backend>(
    tree: &servitor::testing::TestTree,
    db: &Db<B>,
) {
    let timeout = db.config().acquire_timeout;
    let a = db.acquire().await.unwrap();
    let b = db.acquire().await.unwrap();
    let mut watch = tree.watch(db.name());
    let e = expect_err(db.acquire().await);
    match e {
        DbError::Exhausted {
            ref service,
            size,
            in_use,
            waiting,
            waited,
        } => {
            assert_eq!(service, db.name());
            assert_eq!((size, in_use, waiting), (2, 2, 1), "{e}");
            assert!(
                waited >= timeout,
                "gave up only after the acquire timeout: {waited:?}"
            );
        }
        other => panic!("expected an exhausted pool, got {other}"),
    }
    assert!(e.is_exhausted() && !e.is_unavailable());
    assert_eq!(db.stats().timed_out, 1);
    assert_eq!(db.stats().unavailable, 0);
    watch
        .wait_until(
            |c| {
                c.status == Status::Degraded
                    && c.message
                        .as_deref()
                        .is_some_and(|m| m.contains("exhausted"))
            },
            Status::Degraded,
            BOUND,
        )
        .await
        .expect("an exhausted pool makes the service degraded");
    drop((a, b));
    db.execute("SELECT 1", ()).await.unwrap();
    watch
        .wait_for(Status::Ok, BOUND)
        .await
        .expect("ok again once connections are free");
}

#[actix_rt::test]
async fn sqlite_a_full_pool_is_exhausted_not_down() {
    let (tree, db) = started::<Sqlite>(
        "sqlite-exhausted",
        two_connections(sqlite(), Duration::from_millis(200)),
    )
    .await;
    a_full_pool_is_exhausted_not_down(&tree, &db).await;
    tree.shutdown().await;
}

#[cfg(feature = "postgres")]
#[actix_rt::test]
async fn postgres_a_full_pool_is_exhausted_not_down() {
    let Some(schema) = PgSchema::new("exhausted").await else {
        return;
    };
    let (tree, db) = started::<servitor::db::Postgres>(
        "pg-exhausted",
        two_connections(schema.config(), Duration::from_millis(200)),
    )
    .await;
    a_full_pool_is_exhausted_not_down(&tree, &db).await;
    tree.shutdown().await;
}

async fn releasing_a_connection_admits_the_oldest_waiter<B: Backend>(db: &Db<B>) {
    let held_a = db.acquire().await.unwrap();
    let held_b = db.acquire().await.unwrap();
    let (served, mut order) = mpsc::unbounded_channel();
    let (release_first, first_done) = tokio::sync::oneshot::channel::<()>();
    let waiter = |name: &'static str, done: Option<tokio::sync::oneshot::Receiver<()>>| {
        let db = db.clone();
        let served = served.clone();
        tokio::spawn(async move {
            let conn = db.acquire().await.unwrap();
            served.send(name).unwrap();
            if let Some(done) = done {
                let _ = done.await;
            }
            drop(conn);
        })
    };
    let first = waiter("first", Some(first_done));
    until(|| db.stats().waiting == 1).await;
    let second = waiter("second", None);
    until(|| db.stats().waiting == 2).await;

    drop(held_a);
    assert_eq!(order.recv().await, Some("first"));
    assert_eq!(db.stats().waiting, 1, "the second still waits");
    release_first.send(()).unwrap();
    assert_eq!(order.recv().await, Some("second"));
    first.await.unwrap();
    second.await.unwrap();
    drop(held_b);

    let stats = db.stats();
    assert_eq!(stats.waiting, 0);
    assert!(stats.acquired_waited >= 2, "{stats:?}");
    assert!(stats.wait_time_us > 0, "{stats:?}");
    assert_eq!(stats.timed_out, 0);
}

#[actix_rt::test]
async fn sqlite_releasing_a_connection_admits_the_oldest_waiter() {
    let (tree, db) = started::<Sqlite>("sqlite-fifo", two_connections(sqlite(), BOUND)).await;
    releasing_a_connection_admits_the_oldest_waiter(&db).await;
    tree.shutdown().await;
}

#[cfg(feature = "postgres")]
#[actix_rt::test]
async fn postgres_releasing_a_connection_admits_the_oldest_waiter() {
    let Some(schema) = PgSchema::new("fifo").await else {
        return;
    };
    let (tree, db) =
        started::<servitor::db::Postgres>("pg-fifo", two_connections(schema.config(), BOUND)).await;
    releasing_a_connection_admits_the_oldest_waiter(&db).await;
    tree.shutdown().await;
}

#[actix_rt::test]
async fn acquisitions_are_counted_direct_or_after_waiting() {
    let (tree, db) = started::<Sqlite>("figures", sqlite()).await;
    let before = db.stats();
    // The first query needs a new connection (unless the start opened
    // one); the next ones find it idle, once it is back (a connection
    // returns to the pool in a task of its own, after a ping).
    let back = || {
        let s = db.stats();
        s.idle == s.size
    };
    db.execute("SELECT 1", ()).await.unwrap();
    until(back).await;
    let direct_before = db.stats().acquired_direct;
    for _ in 0..5 {
        db.execute("SELECT 1", ()).await.unwrap();
        until(back).await;
    }
    let stats = db.stats();
    assert_eq!(stats.acquisitions(), before.acquisitions() + 6);
    assert_eq!(stats.acquired_direct, direct_before + 5, "{stats:?}");
    assert!(stats.connections_created >= 1);
    assert_eq!(stats.size, stats.idle + stats.in_use);
    assert_eq!(stats.max_connections, 10);
    tree.shutdown().await;
}

#[actix_rt::test]
async fn an_sqlite_database_that_cannot_be_opened_is_unavailable() {
    let dir = crate::common::TempDir::new("unopenable");
    let config = DbConfig {
        url: format!("{}?mode=rw", dir.sqlite_url("missing/app.db")).into(),
        acquire_timeout: Duration::from_millis(300),
        ..sqlite()
    };
    let (tree, db) = started::<Sqlite>("unopenable", config).await;
    assert_eq!(tree.status("unopenable"), Some(Status::Error));
    let e = expect_err(db.execute("SELECT 1", ()).await);
    assert!(e.is_unavailable() && !e.is_exhausted(), "{e}");
    assert!(e.to_string().contains("unable to open"), "{e}");
    tree.shutdown().await;
}

#[cfg(feature = "postgres")]
#[actix_rt::test]
async fn a_database_nobody_listens_for_is_unavailable_with_the_cause() {
    let Some(schema) = PgSchema::new("refused").await else {
        return;
    };
    let config = DbConfig {
        url: schema.url_via(spare_port(), None).into(),
        acquire_timeout: Duration::from_millis(300),
        ..schema.config()
    };
    let (tree, db) = started::<servitor::db::Postgres>("pg-refused", config).await;
    let report = tree.runtime().registry().get("pg-refused").unwrap();
    assert_eq!(report.status, Status::Error);
    assert!(
        report
            .message
            .as_deref()
            .is_some_and(|m| m.contains("refused")),
        "{report:?}"
    );
    let e = expect_err(db.scalar::<i64>("SELECT 1", ()).await);
    match &e {
        DbError::Unavailable { cause, .. } => assert!(cause.contains("refused"), "{e}"),
        other => panic!("expected the database to be unavailable, got {other}"),
    }
    assert_eq!(db.stats().unavailable, 1);
    assert_eq!(db.stats().timed_out, 0);
    tree.shutdown().await;
}
