//! Migrations run in the start hook, in order, each in a transaction, and
//! are recorded; a second run is a no-op; an edited one is refused unless
//! only its line endings changed; a failing one is rolled back and named;
//! two runs at once apply each version once.

#[cfg(feature = "postgres")]
use crate::common::PgSchema;
use crate::common::{sqlite, start, TempDir};
use servitor::db::{Backend, Db, DbConfig, DbError, MigrationError, Migrations, Sqlite};
use servitor::{ConfigError, Runtime, RuntimeError, Supervisor};

fn users() -> Migrations {
    Migrations::new()
        .add(
            1,
            "create users",
            "CREATE TABLE users (id BIGINT PRIMARY KEY, name TEXT NOT NULL)",
        )
        .add(2, "add email", "ALTER TABLE users ADD COLUMN email TEXT")
}

/// The reason a service's start failed.
async fn failed_start<B: Backend>(config: DbConfig, migrations: Migrations) -> String {
    let (spec, _db) = Db::<B>::builder("migrating")
        .config(config)
        .migrations(migrations)
        .build()
        .expect("valid spec");
    let tree = Supervisor::builder("app").child(spec).build().unwrap();
    match Runtime::start(tree).await {
        Err(RuntimeError::Start(failure)) => {
            assert_eq!(failure.child, "migrating");
            failure.reason
        }
        Err(other) => panic!("expected a failed start, got {other}"),
        Ok(_) => panic!("the service started"),
    }
}

async fn migrations_are_applied_recorded_and_not_repeated<B: Backend>(config: DbConfig) {
    let (spec, db) = Db::<B>::builder("migrated")
        .config(config.clone())
        .migrations(users())
        .build()
        .unwrap();
    let tree = start(spec).await;
    let applied = db.applied_migrations().await.unwrap();
    assert_eq!(
        applied.iter().map(|m| m.version).collect::<Vec<_>>(),
        [1, 2]
    );
    assert_eq!(applied[0].name, "create users");
    assert!(applied
        .iter()
        .all(|m| m.success && m.checksum.len() == 96 && !m.applied_at.is_empty()));
    let details = tree.runtime().registry().get("migrated").unwrap().details;
    assert_eq!(details["migrations"]["applied"], serde_json::json!([1, 2]));
    assert_eq!(details["migrations"]["latest"], 2);

    // Again, from the handle: nothing to do.
    let report = db.migrate(&users()).await.unwrap();
    assert!(report.applied.is_empty(), "{report:?}");
    assert_eq!(report.already_applied, 2);
    tree.shutdown().await;

    // And from a new service on the same database, with one more.
    let more = users().add(3, "index names", "CREATE INDEX users_name ON users (name)");
    let (spec, db) = Db::<B>::builder("migrated")
        .config(config)
        .migrations(more)
        .build()
        .unwrap();
    let tree = start(spec).await;
    let applied = db.applied_migrations().await.unwrap();
    assert_eq!(
        applied.iter().map(|m| m.version).collect::<Vec<_>>(),
        [1, 2, 3]
    );
    let details = tree.runtime().registry().get("migrated").unwrap().details;
    assert_eq!(details["migrations"]["applied"], serde_json::json!([3]));
    tree.shutdown().await;
}

#[actix_rt::test]
async fn sqlite_migrations_are_applied_recorded_and_not_repeated() {
    let dir = TempDir::new("migrated");
    migrations_are_applied_recorded_and_not_repeated::<Sqlite>(DbConfig {
        url: dir.sqlite_url("app.db").into(),
        ..sqlite()
    })
    .await;
}

#[cfg(feature = "postgres")]
#[actix_rt::test]
async fn postgres_migrations_are_applied_recorded_and_not_repeated() {
    let Some(schema) = PgSchema::new("migrated").await else {
        return;
    };
    migrations_are_applied_recorded_and_not_repeated::<servitor::db::Postgres>(schema.config())
        .await;
}

async fn a_failing_migration_is_rolled_back_and_named<B: Backend>(config: DbConfig) {
    let broken = users().add(
        3,
        "add orders",
        "CREATE TABLE orders (id BIGINT PRIMARY KEY); INSERT INTO no_such_table VALUES (1)",
    );
    let reason = failed_start::<B>(config.clone(), broken).await;
    assert!(
        reason.contains("migration 3 (add orders) failed and was rolled back"),
        "{reason}"
    );
    let (tree, db) = crate::common::started::<B>("after", config).await;
    let applied = db.applied_migrations().await.unwrap();
    assert_eq!(
        applied.iter().map(|m| m.version).collect::<Vec<_>>(),
        [1, 2],
        "earlier ones stay"
    );
    let e = db
        .execute("SELECT count(*) FROM orders", ())
        .await
        .unwrap_err();
    assert!(
        matches!(e, DbError::Query { .. }),
        "the table of the failed one is gone: {e}"
    );
    tree.shutdown().await;
}

#[actix_rt::test]
async fn sqlite_a_failing_migration_is_rolled_back_and_named() {
    let dir = TempDir::new("failing");
    a_failing_migration_is_rolled_back_and_named::<Sqlite>(DbConfig {
        url: dir.sqlite_url("app.db").into(),
        ..sqlite()
    })
    .await;
}

#[cfg(feature = "postgres")]
#[actix_rt::test]
async fn postgres_a_failing_migration_is_rolled_back_and_named() {
    let Some(schema) = PgSchema::new("failing").await else {
        return;
    };
    a_failing_migration_is_rolled_back_and_named::<servitor::db::Postgres>(schema.config()).await;
}

#[actix_rt::test]
async fn an_edited_migration_is_refused_but_new_line_endings_are_not_an_edit() {
    let db_dir = TempDir::new("edited-db");
    let files = TempDir::new("edited-files");
    let config = DbConfig {
        url: db_dir.sqlite_url("app.db").into(),
        migrations_dir: Some(files.path().to_path_buf()),
        ..sqlite()
    };
    files.write(
        "1_create_users.sql",
        "CREATE TABLE users (\n  id INTEGER PRIMARY KEY\n);\n",
    );
    files.write(
        "2_create_posts.sql",
        "CREATE TABLE posts (\n  id INTEGER PRIMARY KEY\n);\n",
    );
    files.write("2_create_posts.down.sql", "DROP TABLE posts;\n");
    let (tree, db) = crate::common::started::<Sqlite>("edited", config.clone()).await;
    let applied = db.applied_migrations().await.unwrap();
    assert_eq!(
        applied
            .iter()
            .map(|m| (m.version, m.name.as_str()))
            .collect::<Vec<_>>(),
        [(1, "create users"), (2, "create posts")]
    );
    tree.shutdown().await;

    // Checked out with Windows line endings: the same migrations.
    files.write(
        "1_create_users.sql",
        "CREATE TABLE users (\r\n  id INTEGER PRIMARY KEY\r\n);\r\n",
    );
    let (tree, db) = crate::common::started::<Sqlite>("edited", config.clone()).await;
    assert_eq!(db.applied_migrations().await.unwrap().len(), 2);
    tree.shutdown().await;

    // A real edit is refused, naming the migration.
    files.write(
        "1_create_users.sql",
        "CREATE TABLE users (\n  id INTEGER PRIMARY KEY,\n  name TEXT\n);\n",
    );
    let reason = failed_start::<Sqlite>(config.clone(), Migrations::new()).await;
    assert!(
        reason.contains("migration 1 (create users) was changed after it was applied"),
        "{reason}"
    );

    // So is a database that has a migration this build does not know.
    files.write(
        "1_create_users.sql",
        "CREATE TABLE users (\n  id INTEGER PRIMARY KEY\n);\n",
    );
    std::fs::remove_file(files.path().join("2_create_posts.sql")).unwrap();
    let reason = failed_start::<Sqlite>(config.clone(), Migrations::new()).await;
    assert!(
        reason.contains("migration 2 is applied to the database but is not among"),
        "{reason}"
    );
    let (tree, _db) = crate::common::started::<Sqlite>(
        "edited",
        DbConfig {
            migrations_dir: None,
            ..config
        },
    )
    .await;
    tree.shutdown().await;
}

#[actix_rt::test]
async fn a_checksum_sqlx_recorded_over_crlf_text_is_accepted() {
    // Plain sqlx checksums the text as it is; a CRLF migration applied by
    // it must still count as applied here.
    let dir = TempDir::new("sqlx-crlf");
    let url = dir.sqlite_url("app.db");
    let crlf = "CREATE TABLE t (\r\n  id INTEGER\r\n);\r\n";
    {
        use servitor::db::sqlx::migrate::{Migration, MigrationType, Migrator};
        use servitor::db::sqlx::sqlite::SqlitePoolOptions;
        use servitor::db::sqlx::SqlSafeStr;
        let pool = SqlitePoolOptions::new()
            .connect(&format!("{url}?mode=rwc"))
            .await
            .unwrap();
        let m = Migration::new(
            1,
            "create t".into(),
            MigrationType::Simple,
            crlf.into_sql_str(),
            false,
        );
        Migrator::with_migrations(vec![m]).run(&pool).await.unwrap();
        pool.close().await;
    }
    let (spec, db) = Db::<Sqlite>::builder("sqlx-crlf")
        .config(DbConfig {
            url: url.into(),
            ..sqlite()
        })
        .migrations(Migrations::new().add(1, "create t", crlf))
        .build()
        .unwrap();
    let tree = start(spec).await;
    assert_eq!(db.applied_migrations().await.unwrap().len(), 1);
    tree.shutdown().await;
}

async fn concurrent_runs_apply_each_version_once<B: Backend>(a: Db<B>, b: Db<B>)
where
    i64: for<'r> servitor::db::sqlx::Decode<'r, B> + servitor::db::sqlx::Type<B>,
    usize: servitor::db::sqlx::ColumnIndex<B::Row>,
{
    let migrations = Migrations::new()
        .add(1, "create log", "CREATE TABLE log (n BIGINT)")
        .add(2, "log two", "INSERT INTO log VALUES (2)")
        .add(3, "log three", "INSERT INTO log VALUES (3)")
        .add(4, "log four", "INSERT INTO log VALUES (4)");
    let (ra, rb) = tokio::join!(a.migrate(&migrations), b.migrate(&migrations));
    let (ra, rb) = (ra.expect("first run"), rb.expect("second run"));
    let mut all: Vec<i64> = ra.applied.iter().chain(&rb.applied).copied().collect();
    all.sort_unstable();
    assert_eq!(
        all,
        [1, 2, 3, 4],
        "each version applied by exactly one run: {ra:?} {rb:?}"
    );
    let rows: i64 = a.scalar("SELECT count(*) FROM log", ()).await.unwrap();
    assert_eq!(rows, 3);
}

#[actix_rt::test]
async fn sqlite_concurrent_runs_apply_each_version_once() {
    let dir = TempDir::new("concurrent");
    let config = DbConfig {
        url: dir.sqlite_url("app.db").into(),
        ..sqlite()
    };
    let (ta, a) = crate::common::started::<Sqlite>("first", config.clone()).await;
    let (tb, b) = crate::common::started::<Sqlite>("second", config).await;
    concurrent_runs_apply_each_version_once(a, b).await;
    ta.shutdown().await;
    tb.shutdown().await;
}

#[cfg(feature = "postgres")]
#[actix_rt::test]
async fn postgres_concurrent_runs_apply_each_version_once() {
    let Some(schema) = PgSchema::new("concurrent").await else {
        return;
    };
    let (ta, a) =
        crate::common::started::<servitor::db::Postgres>("pg-first", schema.config()).await;
    let (tb, b) =
        crate::common::started::<servitor::db::Postgres>("pg-second", schema.config()).await;
    concurrent_runs_apply_each_version_once(a, b).await;
    ta.shutdown().await;
    tb.shutdown().await;
}

#[test]
fn bad_migrations_are_refused_when_the_spec_is_made() {
    let field = |m: Migrations, config: DbConfig| -> ConfigError {
        Db::<Sqlite>::builder("bad")
            .config(config)
            .migrations(m)
            .build()
            .unwrap_err()
    };
    let e = field(
        Migrations::new()
            .add(1, "a", "SELECT 1")
            .add(1, "b", "SELECT 2"),
        sqlite(),
    );
    assert_eq!(e.field_name(), Some("migrations"));
    assert!(e.to_string().contains("version 1 is given twice"), "{e}");
    let e = field(Migrations::new().add(0, "zero", "SELECT 1"), sqlite());
    assert!(e.to_string().contains("must be positive"), "{e}");
    let e = field(Migrations::new().add(1, " ", "SELECT 1"), sqlite());
    assert!(e.to_string().contains("has no name"), "{e}");
    let e = field(Migrations::dir("/no/such/dir"), sqlite());
    assert_eq!(e.field_name(), Some("migrations_dir"));
    let e = field(
        Migrations::new(),
        DbConfig {
            migrations_dir: Some("/no/such/dir".into()),
            ..sqlite()
        },
    );
    assert_eq!(e.field_name(), Some("migrations_dir"));
}

#[actix_rt::test]
async fn a_version_both_in_code_and_in_the_directory_fails_the_start() {
    let files = TempDir::new("twice");
    files.write("1_create_a.sql", "CREATE TABLE a (n INTEGER);");
    let reason = failed_start::<Sqlite>(
        sqlite(),
        Migrations::dir(files.path()).add(1, "create b", "CREATE TABLE b (n INTEGER)"),
    )
    .await;
    assert!(reason.contains("version 1 is given twice"), "{reason}");
    let err = MigrationError::Missing { version: 4 };
    assert!(DbError::from(err).to_string().contains("migration 4"));
}
