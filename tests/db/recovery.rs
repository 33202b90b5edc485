//! Recovery, for real: connections the server killed are replaced before
//! anyone sees an error, and a service started before its database is
//! ok as soon as the database appears.

use crate::common::{spare_port, started, until_checked, Forwarder, PgSchema, BOUND};
use servitor::db::{DbConfig, Postgres};
use servitor::Status;
use std::time::Duration;

#[actix_rt::test]
async fn connections_the_server_terminated_are_replaced_without_an_error() {
    let Some(schema) = PgSchema::new("terminated").await else {
        return;
    };
    let config = DbConfig {
        min_connections: 3,
        max_connections: 3,
        ..schema.config()
    };
    let (tree, db) = started::<Postgres>("pg-terminated", config).await;
    until_checked(&db, |s| s.size == 3 && s.idle == 3).await;
    let created = db.stats().connections_created;
    assert!(schema.terminate("pg-terminated").await >= 3);

    // Every idle connection is dead now; callers do not notice.
    let (a, b, c) = tokio::join!(
        db.scalar::<i32>("SELECT 1", ()),
        db.scalar::<i32>("SELECT 2", ()),
        db.scalar::<i32>("SELECT 3", ()),
    );
    assert_eq!((a.unwrap(), b.unwrap(), c.unwrap()), (1, 2, 3));
    let stats = until_checked(&db, |s| s.closed_broken >= 3 && s.size == 3).await;
    assert!(stats.connections_created >= created + 3, "{stats:?}");
    assert_eq!(tree.status("pg-terminated"), Some(Status::Ok));
    tree.shutdown().await;
}

#[actix_rt::test]
async fn without_test_before_acquire_dead_idle_connections_are_found_in_the_background() {
    let Some(schema) = PgSchema::new("untested").await else {
        return;
    };
    let config = DbConfig {
        min_connections: 2,
        max_connections: 2,
        test_before_acquire: false,
        ..schema.config()
    };
    let (tree, db) = started::<Postgres>("pg-untested", config).await;
    until_checked(&db, |s| s.size == 2 && s.idle == 2).await;
    assert!(schema.terminate("pg-untested").await >= 2);
    let stats = until_checked(&db, |s| s.closed_broken >= 2 && s.size == 2 && s.idle == 2).await;
    assert_eq!(stats.timed_out, 0);
    assert_eq!(db.scalar::<i32>("SELECT 1", ()).await.unwrap(), 1);
    tree.shutdown().await;
}

#[actix_rt::test]
async fn a_service_started_before_its_database_is_ok_once_the_database_appears() {
    let Some(schema) = PgSchema::new("late").await else {
        return;
    };
    let port = spare_port();
    let config = DbConfig {
        url: schema.url_via(port, None).into(),
        acquire_timeout: Duration::from_millis(300),
        ..schema.config()
    };
    let (tree, db) = started::<Postgres>("pg-late", config).await;
    let report = tree.runtime().registry().get("pg-late").unwrap();
    assert_eq!(report.status, Status::Error);
    assert!(
        report
            .message
            .as_deref()
            .is_some_and(|m| m.contains("refused")),
        "{report:?}"
    );
    assert_eq!(report.details["reachable"], false);
    // It keeps trying, on the backoff.
    db.checked().await.unwrap();
    db.checked().await.unwrap();
    assert_eq!(tree.status("pg-late"), Some(Status::Error));

    let forwarder = Forwarder::start(port, schema.address(), Duration::ZERO).await;
    tree.wait_for_status("pg-late", Status::Ok, BOUND)
        .await
        .unwrap();
    assert_eq!(db.scalar::<i32>("SELECT 1", ()).await.unwrap(), 1);
    tree.shutdown().await;
    forwarder.stop().await;
}

#[actix_rt::test]
async fn a_service_with_migrations_fails_its_start_while_the_database_is_unreachable() {
    let Some(schema) = PgSchema::new("late-migrations").await else {
        return;
    };
    let config = DbConfig {
        url: schema.url_via(spare_port(), None).into(),
        acquire_timeout: Duration::from_millis(300),
        ..schema.config()
    };
    let (spec, _db) = servitor::db::Db::<Postgres>::builder("pg-late-migrations")
        .config(config)
        .migrations(servitor::db::Migrations::new().add(1, "create t", "CREATE TABLE t (n INT)"))
        .build()
        .unwrap();
    let tree = servitor::Supervisor::builder("app")
        .child(spec)
        .build()
        .unwrap();
    match servitor::Runtime::start(tree).await {
        Err(servitor::RuntimeError::Start(failure)) => {
            assert!(
                failure.reason.contains("migrations could not run"),
                "{}",
                failure.reason
            );
            assert!(failure.reason.contains("refused"), "{}", failure.reason);
        }
        Err(other) => panic!("expected a failed start, got {other}"),
        Ok(_) => panic!("the service started without its database"),
    }
}
