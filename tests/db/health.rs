//! Health: the pool's figures and the probe's latency as details; degraded
//! while callers wait or the probe is slow; an error while the database
//! cannot be reached, and ok again by itself when it returns.

#[cfg(feature = "postgres")]
use crate::common::{spare_port, Forwarder, PgSchema};
use crate::common::{sqlite, started, BOUND};
use servitor::db::{DbConfig, Sqlite};
use servitor::Status;
#[cfg(feature = "postgres")]
use std::time::Duration;

#[actix_rt::test]
async fn health_details_carry_the_pool_figures_and_the_probe_latency() {
    let (tree, db) = started::<Sqlite>("health-details", sqlite()).await;
    db.execute("SELECT 1", ()).await.unwrap();
    db.checked().await.unwrap();
    db.checked().await.unwrap();
    let report = tree.runtime().registry().get("health-details").unwrap();
    assert_eq!(report.status, Status::Ok);
    let d = &report.details;
    assert_eq!(d["backend"], "sqlite");
    assert_eq!(d["url"], "sqlite::memory:");
    assert_eq!(d["reachable"], true);
    assert!(d["probe_latency_ms"].as_f64().is_some(), "{d:?}");
    assert_eq!(d["max_connections"], 10);
    for key in [
        "size",
        "idle",
        "in_use",
        "waiting",
        "acquired_direct",
        "acquired_waited",
        "wait_time_us",
        "timed_out",
        "unavailable",
        "connections_created",
        "closed_broken",
        "closed_idle_timeout",
        "closed_max_lifetime",
    ] {
        assert!(d[key].is_u64(), "detail `{key}` missing in {d:?}");
    }
    assert!(d["connections_created"].as_u64().unwrap() >= 1);
    assert!(d["acquired_waited"].as_u64().unwrap() + d["acquired_direct"].as_u64().unwrap() >= 1);
    tree.shutdown().await;
}

#[actix_rt::test]
async fn waiting_callers_make_the_service_degraded_until_served() {
    let config = DbConfig {
        max_connections: 1,
        acquire_timeout: BOUND,
        ..sqlite()
    };
    let (tree, db) = started::<Sqlite>("health-waiting", config).await;
    let mut watch = tree.watch("health-waiting");
    let held = db.acquire().await.unwrap();
    let waiter = {
        let db = db.clone();
        tokio::spawn(async move { db.scalar::<i64>("SELECT 1", ()).await })
    };
    let change = watch.wait_for(Status::Degraded, BOUND).await.unwrap();
    assert!(
        change
            .message
            .as_deref()
            .is_some_and(|m| m.contains("1 callers waiting")),
        "{change:?}"
    );
    drop(held);
    assert_eq!(waiter.await.unwrap().unwrap(), 1);
    watch.wait_for(Status::Ok, BOUND).await.unwrap();
    tree.shutdown().await;
}

#[cfg(feature = "postgres")]
#[actix_rt::test]
async fn a_slow_probe_makes_the_service_degraded() {
    let Some(schema) = PgSchema::new("slow").await else {
        return;
    };
    let port = spare_port();
    let forwarder = Forwarder::start(port, schema.address(), Duration::from_millis(40)).await;
    let config = DbConfig {
        url: schema.url_via(port, None).into(),
        health: servitor::db::HealthThresholds {
            latency: Duration::from_millis(30),
            ..Default::default()
        },
        ..schema.config()
    };
    let (tree, _db) = started::<servitor::db::Postgres>("pg-slow", config).await;
    let change = tree
        .wait_for_status("pg-slow", Status::Degraded, BOUND)
        .await
        .unwrap();
    assert!(
        change
            .message
            .as_deref()
            .is_some_and(|m| m.contains("the probe took")),
        "{change:?}"
    );
    tree.shutdown().await;
    forwarder.stop().await;
}

#[cfg(feature = "postgres")]
#[actix_rt::test]
async fn an_outage_is_an_error_and_the_service_is_ok_again_when_the_database_returns() {
    let Some(schema) = PgSchema::new("outage").await else {
        return;
    };
    let port = spare_port();
    let forwarder = Forwarder::start(port, schema.address(), Duration::ZERO).await;
    let config = DbConfig {
        url: schema.url_via(port, None).into(),
        acquire_timeout: Duration::from_millis(500),
        min_connections: 1,
        ..schema.config()
    };
    let (tree, db) = started::<servitor::db::Postgres>("pg-outage", config).await;
    let mut watch = tree.watch("pg-outage");
    watch.wait_for(Status::Ok, BOUND).await.unwrap();
    assert_eq!(db.scalar::<i32>("SELECT 1", ()).await.unwrap(), 1);

    forwarder.stop().await;
    let change = watch.wait_for(Status::Error, BOUND).await.unwrap();
    assert!(
        change
            .message
            .as_deref()
            .is_some_and(|m| m.contains("database unreachable")),
        "{change:?}"
    );
    let e = db.scalar::<i32>("SELECT 1", ()).await.unwrap_err();
    assert!(e.is_unavailable(), "{e}");

    let forwarder = Forwarder::start(port, schema.address(), Duration::ZERO).await;
    watch.wait_for(Status::Ok, BOUND).await.unwrap();
    assert_eq!(db.scalar::<i32>("SELECT 1", ()).await.unwrap(), 1);
    let details = tree.runtime().registry().get("pg-outage").unwrap().details;
    assert_eq!(details["reachable"], true);
    tree.shutdown().await;
    forwarder.stop().await;
}
