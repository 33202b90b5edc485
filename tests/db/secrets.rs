//! The password in a URL never shows: not in health, logs (at any level,
//! the driver's included), errors, panics or `Debug` output.

use crate::common::{sqlite, Capture};
use servitor::db::{Db, DbConfig, Sqlite};

const PASSWORD: &str = "hunter2-Zq8";

/// Fails the test if `text` contains the password in any form.
fn assert_clean(what: &str, text: &str) {
    for form in [PASSWORD, "hunter2", "Zq8"] {
        assert!(!text.contains(form), "{what} shows the password: {text}");
    }
}

#[test]
fn a_refused_url_does_not_show_its_password() {
    let capture = Capture::start();
    // A PostgreSQL URL for an SQLite service, and a malformed one.
    for url in [
        format!("postgres://app:{PASSWORD}@db.internal:5432/app"),
        format!("sqlite://app:{PASSWORD}@/nowhere?bogus=1"),
    ] {
        let config = DbConfig {
            url: url.into(),
            ..sqlite()
        };
        assert_clean("Debug of the config", &format!("{config:?}"));
        assert_clean(
            "the config serialized",
            &serde_json::to_string(&config).unwrap(),
        );
        let e = Db::<Sqlite>::service("refused", config.clone()).unwrap_err();
        assert_eq!(e.field_name(), Some("url"));
        assert_clean("the config error", &format!("{e} {e:?}"));
        let Err(panic) =
            std::panic::catch_unwind(|| Db::<Sqlite>::service("refused", config).unwrap())
        else {
            panic!("unwrap did not panic");
        };
        let message = panic.downcast_ref::<String>().cloned().unwrap_or_default();
        assert!(message.contains("url"), "{message}");
        assert_clean("the panic message", &message);
    }
    assert_clean("the logs", &capture.text());
}

#[cfg(feature = "postgres")]
#[actix_rt::test]
async fn a_password_in_the_url_never_shows_in_health_logs_errors_or_debug() {
    use crate::common::{spare_port, started, PgSchema};
    use servitor::db::Postgres;
    use std::time::Duration;

    let Some(schema) = PgSchema::new("secrets").await else {
        return;
    };
    let capture = Capture::start();
    // The server trusts local connections, so the password is sent and
    // ignored: the service works with it.
    let working = DbConfig {
        url: schema
            .url_via(schema.address().port(), Some(PASSWORD))
            .into(),
        ..schema.config()
    };
    let (tree, db) = started::<Postgres>("pg-secret", working).await;
    assert_eq!(db.scalar::<i32>("SELECT 1", ()).await.unwrap(), 1);
    let e = db
        .execute("SELECT * FROM no_such_table", ())
        .await
        .unwrap_err();
    assert_clean("a query error", &format!("{e} {e:?}"));
    db.checked().await.unwrap();
    let report = tree.runtime().registry().get("pg-secret").unwrap();
    let shown = serde_json::to_string(&report).unwrap();
    assert!(
        shown.contains("[redacted]"),
        "health shows where the password was: {shown}"
    );
    assert_clean("health", &shown);
    assert_clean(
        "Debug of the handle",
        &format!("{db:?} {:?} {}", db.config(), db.url()),
    );

    // Unreachable, with the password: the errors and the health say why, not it.
    let unreachable = DbConfig {
        url: schema.url_via(spare_port(), Some(PASSWORD)).into(),
        acquire_timeout: Duration::from_millis(200),
        ..schema.config()
    };
    let (tree2, down) = started::<Postgres>("pg-secret-down", unreachable).await;
    let e = down.scalar::<i32>("SELECT 1", ()).await.unwrap_err();
    assert!(e.is_unavailable());
    assert_clean("an outage error", &format!("{e} {e:?}"));
    let report =
        serde_json::to_string(&tree2.runtime().registry().get("pg-secret-down").unwrap()).unwrap();
    assert_clean("health while down", &report);
    tree2.shutdown().await;
    tree.shutdown().await;

    // A misspelt parameter carrying the password is refused without it
    // (sqlx would log and ignore it).
    let misspelt = DbConfig {
        url: format!("{}&pasword={PASSWORD}", schema.url).into(),
        ..schema.config()
    };
    let e = Db::<Postgres>::service("pg-misspelt", misspelt).unwrap_err();
    assert!(e.to_string().contains("unknown parameter `pasword`"), "{e}");
    assert_clean("the config error", &e.to_string());

    let logs = capture.text();
    assert!(
        logs.contains("pg-secret"),
        "the capture saw the services' logs"
    );
    assert_clean("the logs", &logs);
}
