//! The pool's own limits over time: the idle timeout shrinks it back to
//! `min_connections`, and no connection older than the maximum lifetime is
//! handed out.

#[cfg(feature = "postgres")]
use crate::common::PgSchema;
use crate::common::{sqlite, started, until_checked};
use servitor::db::{Backend, Db, DbConfig, Sqlite};
use std::time::Duration;

async fn the_idle_timeout_shrinks_the_pool_to_its_minimum<B: Backend>(db: &Db<B>) {
    let held = futures_util::future::join_all((0..4).map(|_| db.acquire())).await;
    assert!(held.iter().all(|c| c.is_ok()));
    drop(held);
    let stats = until_checked(db, |s| s.size == 1).await;
    assert_eq!(stats.closed_idle_timeout, 3, "{stats:?}");
    assert_eq!(stats.closed_broken, 0, "{stats:?}");
}

fn shrinking(config: DbConfig) -> DbConfig {
    DbConfig {
        min_connections: 1,
        max_connections: 4,
        idle_timeout: Some(Duration::from_millis(150)),
        ..config
    }
}

#[actix_rt::test]
async fn sqlite_the_idle_timeout_shrinks_the_pool_to_its_minimum() {
    let (tree, db) = started::<Sqlite>("sqlite-idle", shrinking(sqlite())).await;
    the_idle_timeout_shrinks_the_pool_to_its_minimum(&db).await;
    tree.shutdown().await;
}

#[cfg(feature = "postgres")]
#[actix_rt::test]
async fn postgres_the_idle_timeout_shrinks_the_pool_to_its_minimum() {
    let Some(schema) = PgSchema::new("idle").await else {
        return;
    };
    let (tree, db) = started::<servitor::db::Postgres>("pg-idle", shrinking(schema.config())).await;
    the_idle_timeout_shrinks_the_pool_to_its_minimum(&db).await;
    tree.shutdown().await;
}

/// A temporary table lives in one connection only: whether a connection
/// sees it tells whether it is the same connection.
macro_rules! no_connection_older_than_its_lifetime_is_handed_out {
    ($db:expr, $lifetime:expr) => {{
        let db = $db;
        let mut conn = db.acquire().await.unwrap();
        conn.execute("CREATE TEMPORARY TABLE marker (n INTEGER)", ())
            .await
            .unwrap();
        drop(conn);
        // Still young: the same connection comes back.
        let mut conn = db.acquire().await.unwrap();
        assert!(
            conn.execute("SELECT * FROM marker", ()).await.is_ok(),
            "the same connection while young"
        );
        drop(conn);
        tokio::time::sleep($lifetime + Duration::from_millis(50)).await;
        let mut conn = db.acquire().await.unwrap();
        assert!(
            conn.execute("SELECT * FROM marker", ()).await.is_err(),
            "a connection past its lifetime was handed out"
        );
        drop(conn);
        assert!(db.stats().closed_max_lifetime >= 1, "{:?}", db.stats());
    }};
}

fn aging(config: DbConfig, lifetime: Duration) -> DbConfig {
    DbConfig {
        max_connections: 1,
        max_lifetime: Some(lifetime),
        // Keep the probe off the connection while the test ages it.
        health_interval: Duration::from_secs(60),
        ..config
    }
}

#[actix_rt::test]
async fn sqlite_no_connection_older_than_its_lifetime_is_handed_out() {
    let lifetime = Duration::from_millis(300);
    let (tree, db) = started::<Sqlite>("sqlite-lifetime", aging(sqlite(), lifetime)).await;
    no_connection_older_than_its_lifetime_is_handed_out!(&db, lifetime);
    tree.shutdown().await;
}

#[cfg(feature = "postgres")]
#[actix_rt::test]
async fn postgres_no_connection_older_than_its_lifetime_is_handed_out() {
    let Some(schema) = PgSchema::new("lifetime").await else {
        return;
    };
    let lifetime = Duration::from_millis(300);
    let (tree, db) =
        started::<servitor::db::Postgres>("pg-lifetime", aging(schema.config(), lifetime)).await;
    no_connection_older_than_its_lifetime_is_handed_out!(&db, lifetime);
    tree.shutdown().await;
}
