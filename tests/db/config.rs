//! Configuration: documented defaults, config files in milliseconds, and a
//! typed error naming the field for every bad value, when the spec is made.

use crate::common::sqlite;
use servitor::db::{Db, DbConfig, Sqlite};
use servitor::kit::Backoff;
use std::time::Duration;

#[test]
fn the_defaults_are_the_documented_ones() {
    let c = DbConfig::default();
    assert_eq!(c.url.expose(), "sqlite::memory:");
    assert_eq!((c.min_connections, c.max_connections), (0, 10));
    assert_eq!(c.acquire_timeout, Duration::from_secs(5));
    assert_eq!(c.idle_timeout, Some(Duration::from_secs(600)));
    assert_eq!(c.max_lifetime, Some(Duration::from_secs(1800)));
    assert_eq!(c.statement_timeout, None);
    assert!(c.test_before_acquire);
    assert_eq!(c.busy_timeout, Duration::from_secs(5));
    assert_eq!(c.health_interval, Duration::from_secs(5));
    assert_eq!(c.health.waiting, 1);
    assert_eq!(c.health.latency, Duration::from_secs(1));
    assert_eq!(c.reconnect.initial, Duration::from_millis(100));
    assert_eq!(c.reconnect.max, Duration::from_secs(5));
    assert!(c.migrations_dir.is_none());
}

#[test]
fn a_config_file_gives_durations_in_milliseconds_and_may_leave_anything_out() {
    let c: DbConfig = serde_json::from_str(
        r#"{ "url": "sqlite://x.db", "idle_timeout": null, "max_lifetime": 60000,
             "health": { "waiting": 3 }, "acquire_timeout": 250 }"#,
    )
    .unwrap();
    assert_eq!(c.idle_timeout, None);
    assert_eq!(c.max_lifetime, Some(Duration::from_secs(60)));
    assert_eq!(c.acquire_timeout, Duration::from_millis(250));
    assert_eq!(c.health.waiting, 3);
    assert_eq!(c.health.latency, Duration::from_secs(1));
    let again: DbConfig =
        serde_json::from_value(serde_json::to_value(&c).unwrap_or_default()).unwrap_or_default();
    assert_eq!(
        again.max_lifetime, c.max_lifetime,
        "round trip (the URL is written redacted)"
    );
    let e = serde_json::from_str::<DbConfig>(r#"{ "max_conections": 3 }"#).unwrap_err();
    assert!(e.to_string().contains("max_conections"), "{e}");
}

#[test]
fn every_bad_value_is_refused_naming_its_field() {
    let field = |config: DbConfig| {
        Db::<Sqlite>::service("checked", config)
            .map(|_| ())
            .unwrap_err()
            .field_name()
            .map(str::to_string)
    };
    let base = sqlite;
    let cases: Vec<(DbConfig, &str)> = vec![
        (
            DbConfig {
                max_connections: 0,
                ..base()
            },
            "max_connections",
        ),
        (
            DbConfig {
                min_connections: 11,
                ..base()
            },
            "min_connections",
        ),
        (
            DbConfig {
                acquire_timeout: Duration::ZERO,
                ..base()
            },
            "acquire_timeout",
        ),
        (
            DbConfig {
                idle_timeout: Some(Duration::ZERO),
                ..base()
            },
            "idle_timeout",
        ),
        (
            DbConfig {
                max_lifetime: Some(Duration::ZERO),
                ..base()
            },
            "max_lifetime",
        ),
        (
            DbConfig {
                health_interval: Duration::ZERO,
                ..base()
            },
            "health_interval",
        ),
        (
            DbConfig {
                health: servitor::db::HealthThresholds {
                    latency: Duration::ZERO,
                    ..Default::default()
                },
                ..base()
            },
            "health.latency",
        ),
        (
            DbConfig {
                reconnect: Backoff::exponential(Duration::from_secs(2), Duration::from_secs(1)),
                ..base()
            },
            "reconnect.max",
        ),
        (DbConfig::url("mysql://db/app"), "url"),
        (DbConfig::url("not a url"), "url"),
        (DbConfig::url("sqlite::memory:?mode=bogus"), "url"),
        (
            DbConfig {
                statement_timeout: Some(Duration::from_secs(1)),
                ..base()
            },
            "url",
        ),
    ];
    for (config, expected) in cases {
        assert_eq!(
            field(config.clone()).as_deref(),
            Some(expected),
            "{config:?}"
        );
    }
    let e = Db::<Sqlite>::service("checked", DbConfig::url("mysql://db/app")).unwrap_err();
    assert!(e.to_string().contains("scheme `mysql`"), "{e}");
    let e = Db::<Sqlite>::service(
        "checked",
        DbConfig {
            statement_timeout: Some(Duration::from_secs(1)),
            ..base()
        },
    )
    .unwrap_err();
    assert!(e.to_string().contains("not supported by SQLite"), "{e}");
    assert!(Db::<Sqlite>::service("bad/name", base()).is_err());
}

#[cfg(feature = "postgres")]
#[test]
fn postgres_urls_are_checked_too() {
    use servitor::db::Postgres;
    let ok = Db::<Postgres>::service(
        "pg-checked",
        DbConfig {
            statement_timeout: Some(Duration::from_secs(2)),
            ..DbConfig::url(
                "postgres://app@127.0.0.1:5432/app?sslmode=disable&options[search_path]=x",
            )
        },
    );
    let (_spec, db) = ok.unwrap();
    assert_eq!(db.backend(), "postgres");
    for (url, problem) in [
        ("postgres://app@db/app?sslmode=sometimes", "url"),
        ("postgres://app@db/app?typo=1", "url"),
        ("sqlite::memory:", "url"),
    ] {
        let e = Db::<Postgres>::service("pg-checked", DbConfig::url(url)).unwrap_err();
        assert_eq!(e.field_name(), Some(problem), "{url}: {e}");
    }
}
