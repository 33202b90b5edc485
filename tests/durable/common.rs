//! What the durable suites share: the server's URL (or the reason a test
//! is skipped), tables of a test's own, and a started tree with a database
//! service and durable task services on it.
#![allow(dead_code)]

use servitor::db::sqlx::{self, Connection, Executor};
use servitor::db::{Db, DbConfig, PgDb, Postgres};
use servitor::tasks::durable::{DurableConfig, DurableTasks};
use servitor::tasks::TaskContext;
use servitor::testing::TestTree;
use servitor::{ChildSpec, Supervisor};
use std::time::Duration;

/// How long a test waits for something that should happen promptly.
pub const BOUND: Duration = Duration::from_secs(60);

/// The PostgreSQL server's URL, or `None` (with a note on stderr) when
/// `DATABASE_URL` is not set. With `SERVITOR_REQUIRE_SERVERS=1` a missing
/// URL fails the test instead.
pub fn database_url() -> Option<String> {
    match std::env::var("DATABASE_URL") {
        Ok(url) if !url.is_empty() => Some(url),
        _ => {
            if std::env::var("SERVITOR_REQUIRE_SERVERS").is_ok_and(|v| v == "1") {
                panic!(
                    "DATABASE_URL is not set, but SERVITOR_REQUIRE_SERVERS=1 requires the durable task tests to run"
                );
            }
            eprintln!(
                "skipped: DATABASE_URL is not set, and this durable task test needs a PostgreSQL server \
                 (e.g. DATABASE_URL=postgres://postgres@127.0.0.1:5432/test)"
            );
            None
        }
    }
}

/// A test's own tables: `<prefix>_tasks`, `<prefix>_task_migrations` and
/// `<prefix>_runs` (where handlers note each run), dropped when made.
#[derive(Debug, Clone)]
pub struct Tables {
    pub url: String,
    pub prefix: String,
}

impl Tables {
    /// Tables for `test`, or `None` when the test is skipped.
    pub async fn new(test: &str) -> Option<Tables> {
        let url = database_url()?;
        let prefix = format!("dt_{test}");
        let tables = Tables { url, prefix };
        let p = &tables.prefix;
        tables
            .execute(&format!(
                "DROP TABLE IF EXISTS {p}_tasks, {p}_task_migrations, {p}_runs; \
                 CREATE TABLE {p}_runs (seq BIGSERIAL PRIMARY KEY, task_id BIGINT NOT NULL, attempt INT NOT NULL, pid INT NOT NULL)"
            ))
            .await;
        Some(tables)
    }

    /// Runs `sql` on a connection of its own.
    pub async fn execute(&self, sql: &str) {
        let mut conn = self.connect().await;
        conn.execute(sqlx::AssertSqlSafe(sql.to_string()))
            .await
            .unwrap_or_else(|e| panic!("`{sql}` failed: {e}"));
        conn.close().await.ok();
    }

    /// A number the database computes.
    pub async fn count(&self, sql: &str) -> i64 {
        let mut conn = self.connect().await;
        let n: i64 = sqlx::query_scalar(sqlx::AssertSqlSafe(sql.to_string()))
            .fetch_one(&mut conn)
            .await
            .unwrap_or_else(|e| panic!("`{sql}` failed: {e}"));
        conn.close().await.ok();
        n
    }

    pub async fn connect(&self) -> sqlx::postgres::PgConnection {
        sqlx::postgres::PgConnection::connect(&self.url)
            .await
            .unwrap_or_else(|e| panic!("DATABASE_URL is set but the server cannot be reached: {e}"))
    }

    /// A small pool for one test (tests run in parallel on one server).
    pub fn db_config(&self) -> DbConfig {
        DbConfig {
            max_connections: 7,
            health_interval: Duration::from_millis(200),
            ..DbConfig::url(self.url.clone())
        }
    }

    /// A queue configuration on these tables, with short intervals.
    pub fn config(&self) -> DurableConfig {
        DurableConfig {
            queue: Some("q".into()),
            table_prefix: self.prefix.clone(),
            poll_interval: Duration::from_millis(20),
            health_interval: Duration::from_millis(100),
            lease: Duration::from_secs(2),
            renew_interval: Duration::from_millis(500),
            ..DurableConfig::default()
        }
    }
}

/// A database service and the durable task services made by `make` from
/// it, started in one tree (database first).
pub async fn start(
    tables: &Tables,
    make: impl FnOnce(&PgDb) -> Vec<(ChildSpec, DurableTasks)>,
) -> (TestTree, Vec<DurableTasks>) {
    let (db_spec, db) = Db::<Postgres>::service("db", tables.db_config()).expect("valid db config");
    let mut tree = Supervisor::builder("test").child(db_spec);
    let mut handles = Vec::new();
    for (spec, handle) in make(&db) {
        tree = tree.child(spec);
        handles.push(handle);
    }
    let tree = TestTree::start_tree(tree).await.expect("the tree starts");
    (tree, handles)
}

/// Registers `double`: notes the run in `<prefix>_runs`, returns twice its
/// number.
pub fn register_double(tasks: &DurableTasks, tables: &Tables) {
    let sql = format!(
        "INSERT INTO {}_runs (task_id, attempt, pid) VALUES ($1, $2, $3)",
        tables.prefix
    );
    let url = tables.url.clone();
    let pool = std::sync::Arc::new(tokio::sync::OnceCell::new());
    tasks
        .handlers()
        .register("double", move |cx: TaskContext, n: i64| {
            let (sql, url, pool) = (sql.clone(), url.clone(), pool.clone());
            async move {
                let pool = pool
                    .get_or_try_init(|| {
                        servitor::db::sqlx::postgres::PgPoolOptions::new()
                            .max_connections(4)
                            .connect(&url)
                    })
                    .await?;
                servitor::db::sqlx::query(servitor::db::sqlx::AssertSqlSafe(sql))
                    .bind(cx.id().0 as i64)
                    .bind(cx.attempt() as i32)
                    .bind(std::process::id() as i32)
                    .execute(pool)
                    .await?;
                Ok::<_, servitor::db::sqlx::Error>(n * 2)
            }
        });
}
