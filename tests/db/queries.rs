//! Statements through the handle, a held connection and sqlx's own pool:
//! parameters are bound, rows decode into tuples, each way of finding
//! nothing or failing is its own typed error, and the data path is closed
//! before the service starts and after it is gone.

#[cfg(feature = "postgres")]
use crate::common::PgSchema;
use crate::common::{expect_err, sqlite, started};
use servitor::db::sqlx;
use servitor::db::{Args, Db, DbConfig, DbError, Sqlite};

/// The same checks on each backend (both accept `$1`-style placeholders).
macro_rules! statements_bind_parameters_and_decode_rows {
    ($B:ty, $db:expr) => {{
        type B = $B;
        let db = $db;
        db.execute(
            "CREATE TABLE users (id BIGINT PRIMARY KEY, name TEXT NOT NULL, email TEXT UNIQUE)",
            (),
        )
        .await
        .unwrap();
        let inserted = db
            .execute(
                "INSERT INTO users (id, name, email) VALUES ($1, $2, $3), ($4, $5, $6)",
                (
                    1_i64,
                    "ada",
                    Some("ada@example.org"),
                    2_i64,
                    "grace",
                    None::<String>,
                ),
            )
            .await
            .unwrap();
        assert_eq!(inserted, 2);

        // A value that looks like SQL is data, not SQL.
        let hostile = "x'); DROP TABLE users; --";
        db.execute(
            "INSERT INTO users (id, name) VALUES ($1, $2)",
            (3_i64, hostile),
        )
        .await
        .unwrap();
        let name: String = db
            .scalar("SELECT name FROM users WHERE id = $1", (3_i64,))
            .await
            .unwrap();
        assert_eq!(name, hostile);

        let all: Vec<(i64, String, Option<String>)> = db
            .fetch_all(
                "SELECT id, name, email FROM users WHERE id < $1 ORDER BY id",
                (3_i64,),
            )
            .await
            .unwrap();
        assert_eq!(
            all,
            [
                (1, "ada".to_string(), Some("ada@example.org".to_string())),
                (2, "grace".to_string(), None)
            ]
        );
        let one: (String,) = db
            .fetch_one("SELECT name FROM users WHERE id = $1", (2_i64,))
            .await
            .unwrap();
        assert_eq!(one.0, "grace");
        let none: Option<(String,)> = db
            .fetch_optional("SELECT name FROM users WHERE id = $1", (99_i64,))
            .await
            .unwrap();
        assert!(none.is_none());
        let count: i64 = db.scalar("SELECT count(*) FROM users", ()).await.unwrap();
        assert_eq!(count, 3);
        let null: Option<String> = db
            .scalar("SELECT email FROM users WHERE id = $1", (2_i64,))
            .await
            .unwrap();
        assert_eq!(null, None);

        // Parameters counted at run time.
        let mut args = Args::<B>::new();
        for id in [1_i64, 2] {
            args = args.bind(id);
        }
        let n: i64 = db
            .scalar("SELECT count(*) FROM users WHERE id IN ($1, $2)", args)
            .await
            .unwrap();
        assert_eq!(n, 2);

        // Nothing found, refused, malformed: three different errors.
        let e = expect_err(
            db.fetch_one::<(String,)>("SELECT name FROM users WHERE id = $1", (99_i64,))
                .await,
        );
        assert!(matches!(e, DbError::NoRows { .. }), "{e}");
        let e = expect_err(
            db.scalar::<i64>("SELECT id FROM users WHERE id = $1", (99_i64,))
                .await,
        );
        assert!(matches!(e, DbError::NoRows { .. }), "{e}");
        let e = expect_err(
            db.execute(
                "INSERT INTO users (id, name, email) VALUES ($1, $2, $3)",
                (4_i64, "eve", "ada@example.org"),
            )
            .await,
        );
        assert!(e.is_unique_violation(), "{e}");
        assert!(matches!(e, DbError::Query { .. }));
        let e = expect_err(db.execute("SELEC nonsense", ()).await);
        assert!(e.database_error().is_some(), "{e}");

        // The sqlx pool itself works for everything else.
        let pool = db.pool().unwrap();
        let names: Vec<String> =
            sqlx::query_scalar("SELECT name FROM users WHERE id <= 2 ORDER BY id")
                .fetch_all(&pool)
                .await
                .unwrap();
        assert_eq!(names, ["ada", "grace"]);

        // So does a held connection, with both the handle's methods and sqlx's.
        let mut conn = db.acquire().await.unwrap();
        let n: i64 = conn.scalar("SELECT count(*) FROM users", ()).await.unwrap();
        assert_eq!(n, 3);
        let n: i64 = sqlx::query_scalar("SELECT count(*) FROM users")
            .fetch_one(&mut *conn)
            .await
            .unwrap();
        assert_eq!(n, 3);
    }};
}

#[actix_rt::test]
async fn sqlite_statements_bind_parameters_and_decode_rows() {
    let (tree, db) = started::<Sqlite>("sqlite-statements", sqlite()).await;
    statements_bind_parameters_and_decode_rows!(Sqlite, &db);
    tree.shutdown().await;
}

#[cfg(feature = "postgres")]
#[actix_rt::test]
async fn postgres_statements_bind_parameters_and_decode_rows() {
    let Some(schema) = PgSchema::new("statements").await else {
        return;
    };
    let (tree, db) = started::<servitor::db::Postgres>("pg-statements", schema.config()).await;
    statements_bind_parameters_and_decode_rows!(servitor::db::Postgres, &db);
    tree.shutdown().await;
}

#[actix_rt::test]
async fn the_data_path_opens_with_the_start_and_closes_for_good_with_the_service() {
    let (spec, db) = Db::<Sqlite>::service("lifecycle", sqlite()).unwrap();
    let e = expect_err(db.scalar::<i64>("SELECT 1", ()).await);
    assert!(
        matches!(e, DbError::NotStarted { ref service } if service == "lifecycle"),
        "{e}"
    );
    let tree = crate::common::start(spec).await;
    assert!(db.is_running());
    assert_eq!(db.scalar::<i64>("SELECT 1", ()).await.unwrap(), 1);
    tree.shutdown().await;
    assert!(db.is_stopped());
    let e = expect_err(db.scalar::<i64>("SELECT 1", ()).await);
    assert!(matches!(e, DbError::Stopped { .. }), "{e}");
    assert!(db.pool().is_err());
}

#[actix_rt::test]
async fn an_in_memory_database_lives_as_long_as_the_service_not_its_connections() {
    let config = DbConfig {
        max_connections: 2,
        max_lifetime: Some(std::time::Duration::from_millis(1)),
        ..sqlite()
    };
    let (tree, db) = started::<Sqlite>("memory", config).await;
    db.execute("CREATE TABLE kept (n INTEGER)", ())
        .await
        .unwrap();
    db.execute("INSERT INTO kept VALUES (7)", ()).await.unwrap();
    // Every connection is closed at its (tiny) lifetime; the data stays.
    let n: i64 = db.scalar("SELECT n FROM kept", ()).await.unwrap();
    assert_eq!(n, 7);
    crate::common::until_checked(&db, |s| s.closed_max_lifetime >= 1).await;
    let n: i64 = db.scalar("SELECT n FROM kept", ()).await.unwrap();
    assert_eq!(n, 7);
    tree.shutdown().await;
}

#[actix_rt::test]
async fn an_sqlite_file_gets_wal_foreign_keys_and_a_busy_timeout() {
    let dir = crate::common::TempDir::new("pragmas");
    let config = DbConfig {
        url: dir.sqlite_url("app.db").into(),
        busy_timeout: std::time::Duration::from_millis(1234),
        ..sqlite()
    };
    let (tree, db) = started::<Sqlite>("pragmas", config).await;
    let mode: String = db.scalar("PRAGMA journal_mode", ()).await.unwrap();
    assert_eq!(mode, "wal");
    let fk: i64 = db.scalar("PRAGMA foreign_keys", ()).await.unwrap();
    assert_eq!(fk, 1);
    let busy: i64 = db.scalar("PRAGMA busy_timeout", ()).await.unwrap();
    assert_eq!(busy, 1234);
    assert!(dir.path().join("app.db").exists(), "the file was created");
    tree.shutdown().await;
}

#[cfg(feature = "postgres")]
#[actix_rt::test]
async fn postgres_cancels_statements_past_the_statement_timeout() {
    let Some(schema) = PgSchema::new("statement_timeout").await else {
        return;
    };
    let config = DbConfig {
        statement_timeout: Some(std::time::Duration::from_millis(50)),
        ..schema.config()
    };
    let (tree, db) = started::<servitor::db::Postgres>("pg-statement-timeout", config).await;
    let e = expect_err(db.execute("SELECT pg_sleep(5)", ()).await);
    assert!(e.is_statement_timeout(), "{e}");
    assert!(!e.is_unavailable());
    // The connection is fine afterwards.
    assert_eq!(db.scalar::<i32>("SELECT 1", ()).await.unwrap(), 1);
    tree.shutdown().await;
}
