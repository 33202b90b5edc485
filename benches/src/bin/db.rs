//! The database service's data path against sqlx's pool used directly, and
//! against deadpool-postgres, in the same run.
//!
//! ```text
//! DATABASE_URL=postgres://postgres@127.0.0.1:5432/test \
//!     cargo run --release -p servitor-benches --bin db
//! ```
//!
//! One operation is *acquire a connection + `SELECT 1` + release it*:
//!
//! * **servitor** — `Db::scalar::<i32>("SELECT 1", ())` through the service's
//!   handle, the service running in a servitor runtime (its probe and
//!   maintenance included);
//! * **sqlx** — `pool.acquire()`, `query_scalar("SELECT 1").fetch_one`, drop,
//!   on an sqlx pool with the same settings;
//! * **deadpool** (PostgreSQL) — `pool.get()`, `prepare_cached("SELECT 1")`
//!   and `query_one`, drop, with deadpool's fast recycling.
//!
//! 1 and 4 clients (concurrent tasks, each running its share of the
//! operations in turn), every contender on the same actix (single-threaded)
//! runtime, pools of 8 connections warmed first; PostgreSQL with
//! test-before-acquire on (sqlx's default) and off. A figure is the median of
//! 7 rounds, in operations per second; within a round servitor and sqlx run
//! in 20 alternating slices, so load elsewhere on the machine hits both
//! alike (deadpool runs after them). The goal is servitor ≤ 1.10× sqlx's time per operation. Without a
//! reachable `DATABASE_URL` (default `postgres://postgres@127.0.0.1:5432/test`)
//! the PostgreSQL rows are skipped.

use deadpool_postgres::{Manager, ManagerConfig, Pool as Deadpool, RecyclingMethod};
use servitor::db::sqlx::postgres::PgPoolOptions;
use servitor::db::sqlx::sqlite::SqlitePoolOptions;
use servitor::db::sqlx::{self, Database, Pool};
use servitor::db::{Backend, Db, DbConfig, Postgres, Sqlite};
use servitor::{Runtime, Supervisor};
use std::future::Future;
use std::time::{Duration, Instant};

const ROUNDS: usize = 7;
const PG_OPS: usize = 20_000;
const SQLITE_OPS: usize = 40_000;
const POOL: u32 = 8;

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

/// Operations per second of `ops` operations over `clients` tasks.
async fn measure<F, Fut>(clients: usize, ops: usize, op: F) -> f64
where
    F: Fn() -> Fut + Clone + 'static,
    Fut: Future<Output = ()> + 'static,
{
    let per = ops / clients;
    let start = Instant::now();
    let tasks: Vec<_> = (0..clients)
        .map(|_| {
            let op = op.clone();
            actix_rt::spawn(async move {
                for _ in 0..per {
                    op().await;
                }
            })
        })
        .collect();
    for t in tasks {
        t.await.expect("client task");
    }
    (per * clients) as f64 / start.elapsed().as_secs_f64()
}

/// Operations per second of two contenders, measured in 20 alternating
/// slices of `ops / 20` each, so a burst of load on the machine hits both
/// alike.
async fn pair<F, Fut, G, Gut>(clients: usize, ops: usize, a: F, b: G) -> (f64, f64)
where
    F: Fn() -> Fut + Clone + 'static,
    Fut: Future<Output = ()> + 'static,
    G: Fn() -> Gut + Clone + 'static,
    Gut: Future<Output = ()> + 'static,
{
    const SLICES: usize = 20;
    let slice = ops / SLICES;
    let (mut ta, mut tb) = (0.0, 0.0);
    for i in 0..SLICES {
        if i % 2 == 0 {
            ta += slice as f64 / measure(clients, slice, a.clone()).await;
            tb += slice as f64 / measure(clients, slice, b.clone()).await;
        } else {
            tb += slice as f64 / measure(clients, slice, b.clone()).await;
            ta += slice as f64 / measure(clients, slice, a.clone()).await;
        }
    }
    let total = (slice * SLICES) as f64;
    (total / ta, total / tb)
}

/// Opens `POOL` connections at once so every contender starts warm.
async fn warm<F, Fut>(op: F)
where
    F: Fn() -> Fut + Clone + 'static,
    Fut: Future<Output = ()> + 'static,
{
    measure(POOL as usize, POOL as usize * 20, op).await;
}

fn servitor_op<B: Backend>(
    db: &Db<B>,
) -> impl Fn() -> std::pin::Pin<Box<dyn Future<Output = ()>>> + Clone
where
    i32: for<'r> sqlx::Decode<'r, B> + sqlx::Type<B>,
{
    let db = db.clone();
    move || {
        let db = db.clone();
        Box::pin(async move {
            let one: i32 = db.scalar("SELECT 1", ()).await.expect("servitor query");
            std::hint::black_box(one);
        })
    }
}

fn sqlx_op<DB: Database>(
    pool: &Pool<DB>,
) -> impl Fn() -> std::pin::Pin<Box<dyn Future<Output = ()>>> + Clone
where
    i32: for<'r> sqlx::Decode<'r, DB> + sqlx::Type<DB>,
    for<'c> &'c mut DB::Connection: sqlx::Executor<'c, Database = DB>,
    for<'q> DB::Arguments: sqlx::IntoArguments<DB>,
    usize: sqlx::ColumnIndex<DB::Row>,
{
    let pool = pool.clone();
    move || {
        let pool = pool.clone();
        Box::pin(async move {
            let mut conn = pool.acquire().await.expect("sqlx acquire");
            let one: i32 = sqlx::query_scalar("SELECT 1")
                .fetch_one(&mut *conn)
                .await
                .expect("sqlx query");
            std::hint::black_box(one);
        })
    }
}

fn deadpool_op(
    pool: &Deadpool,
) -> impl Fn() -> std::pin::Pin<Box<dyn Future<Output = ()>>> + Clone {
    let pool = pool.clone();
    move || {
        let pool = pool.clone();
        Box::pin(async move {
            let client = pool.get().await.expect("deadpool get");
            let stmt = client.prepare_cached("SELECT 1").await.expect("prepare");
            let row = client.query_one(&stmt, &[]).await.expect("deadpool query");
            let one: i32 = row.get(0);
            std::hint::black_box(one);
        })
    }
}

struct Line {
    backend: &'static str,
    clients: usize,
    test: bool,
    servitor: f64,
    sqlx: f64,
    deadpool: Option<f64>,
}

fn print(lines: &[Line]) {
    println!(
        "| {:<8} | {:>7} | {:>19} | {:>12} | {:>12} | {:>19} | {:>12} | {:<4} |",
        "backend",
        "clients",
        "test_before_acquire",
        "servitor/s",
        "sqlx/s",
        "servitor/sqlx time",
        "deadpool/s",
        "met?"
    );
    println!(
        "|{:-<10}|{:->9}|{:->21}|{:->14}|{:->14}|{:->21}|{:->14}|{:-<6}|",
        "", "", "", "", "", "", "", ""
    );
    for l in lines {
        let ratio = l.sqlx / l.servitor;
        println!(
            "| {:<8} | {:>7} | {:>19} | {:>12.0} | {:>12.0} | {:>18.3}× | {:>12} | {:<4} |",
            l.backend,
            l.clients,
            if l.test { "on" } else { "off" },
            l.servitor,
            l.sqlx,
            ratio,
            l.deadpool.map_or("-".to_string(), |d| format!("{d:.0}")),
            if ratio <= 1.10 { "yes" } else { "NO" }
        );
    }
}

async fn postgres_rows(url: &str, lines: &mut Vec<Line>) -> Result<(), Box<dyn std::error::Error>> {
    for test in [true, false] {
        let config = DbConfig {
            url: url.into(),
            max_connections: POOL,
            test_before_acquire: test,
            ..DbConfig::default()
        };
        let name = if test { "pg-tested" } else { "pg-untested" };
        let (spec, db) = Db::<Postgres>::service(name, config)?;
        let app = Runtime::start(Supervisor::builder("bench").child(spec).build()?).await?;
        let pool = PgPoolOptions::new()
            .max_connections(POOL)
            .test_before_acquire(test)
            .connect(url)
            .await?;
        let deadpool = {
            let pg: deadpool_postgres::tokio_postgres::Config = url.parse()?;
            let manager = Manager::from_config(
                pg,
                deadpool_postgres::tokio_postgres::NoTls,
                ManagerConfig {
                    recycling_method: RecyclingMethod::Fast,
                },
            );
            Deadpool::builder(manager).max_size(POOL as usize).build()?
        };
        warm(servitor_op(&db)).await;
        warm(sqlx_op(&pool)).await;
        warm(deadpool_op(&deadpool)).await;
        for clients in [1, 4] {
            let (mut ours, mut theirs, mut dead) = (Vec::new(), Vec::new(), Vec::new());
            for _ in 0..ROUNDS {
                let (o, t) = pair(clients, PG_OPS, servitor_op(&db), sqlx_op(&pool)).await;
                ours.push(o);
                theirs.push(t);
                if test {
                    dead.push(measure(clients, PG_OPS, deadpool_op(&deadpool)).await);
                }
            }
            lines.push(Line {
                backend: "postgres",
                clients,
                test,
                servitor: median(ours),
                sqlx: median(theirs),
                deadpool: test.then(|| median(dead)),
            });
        }
        pool.close().await;
        app.shutdown().await?;
    }
    Ok(())
}

async fn sqlite_rows(lines: &mut Vec<Line>) -> Result<(), Box<dyn std::error::Error>> {
    let config = DbConfig {
        max_connections: POOL,
        ..DbConfig::default()
    };
    let (spec, db) = Db::<Sqlite>::service("lite", config)?;
    let app = Runtime::start(Supervisor::builder("bench").child(spec).build()?).await?;
    let pool = SqlitePoolOptions::new()
        .max_connections(POOL)
        .connect("sqlite::memory:")
        .await?;
    warm(servitor_op(&db)).await;
    warm(sqlx_op(&pool)).await;
    for clients in [1, 4] {
        let (mut ours, mut theirs) = (Vec::new(), Vec::new());
        for _ in 0..ROUNDS {
            let (o, t) = pair(clients, SQLITE_OPS, servitor_op(&db), sqlx_op(&pool)).await;
            ours.push(o);
            theirs.push(t);
        }
        lines.push(Line {
            backend: "sqlite",
            clients,
            test: true,
            servitor: median(ours),
            sqlx: median(theirs),
            deadpool: None,
        });
    }
    pool.close().await;
    app.shutdown().await?;
    Ok(())
}

#[actix_rt::main]
async fn main() {
    let url = std::env::var("DATABASE_URL")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/test".into());
    println!(
        "database data path: acquire + SELECT 1 + release, pools of {POOL}, median of {ROUNDS} rounds ({PG_OPS} ops on PostgreSQL, {SQLITE_OPS} on SQLite)\n"
    );
    let mut lines = Vec::new();
    let reachable = tokio::time::timeout(
        Duration::from_secs(5),
        PgPoolOptions::new().max_connections(1).connect(&url),
    )
    .await
    .map(|r| r.is_ok())
    .unwrap_or(false);
    if reachable {
        if let Err(e) = postgres_rows(&url, &mut lines).await {
            eprintln!("PostgreSQL rows failed: {e}");
        }
    } else {
        eprintln!("skipped PostgreSQL: no server at DATABASE_URL");
    }
    if let Err(e) = sqlite_rows(&mut lines).await {
        eprintln!("SQLite rows failed: {e}");
    }
    print(&lines);
}
