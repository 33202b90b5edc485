//! Durable tasks through PostgreSQL: tasks per second drained by 1, 2 and 4
//! worker processes, servitor's durable queue against a plain
//! `FOR UPDATE SKIP LOCKED` loop written directly on sqlx, paired round by
//! round in one run.
//!
//! ```text
//! DATABASE_URL=postgres://postgres@127.0.0.1:5432/test \
//!     cargo run --release -p servitor-benches --bin durable
//! ```
//!
//! Each measurement starts `k` worker processes (this binary again, with
//! `--worker`), waits until every one reports ready, queues
//! [`TASKS`] no-op tasks in one `INSERT`, and times until none is left
//! unfinished (the parent counts them every 2 ms, on the queue's partial
//! indexes). The table holds 50,000 finished
//! tasks of another queue (analyzed once), as a queue's table in service
//! holds its history; each measurement's rows are deleted and the table
//! vacuumed before the next. Both contenders use the same
//! table (made by the durable queue's own migrations), 4 concurrent workers
//! per process on one thread, claims of 4 tasks, and one `UPDATE` per
//! finished task:
//!
//! * **servitor** — `DurableTasks` with a handler returning its payload:
//!   leases renewed every 10 s, fenced write-backs, panics caught,
//!   counters, health.
//! * **raw sqlx** — the same claim statement (`UPDATE … FROM (SELECT … FOR
//!   UPDATE SKIP LOCKED LIMIT 4) … RETURNING`), then `UPDATE … SET status =
//!   'completed', result = …` per task; no lease renewal, no fencing.
//!
//! Idle workers of both look for work every 5 ms. A figure is the median
//! over paired rounds (`servitor_benches::paired::Rounds`); a ratio is the
//! median of per-round ratios, with its spread.

use servitor::db::sqlx::postgres::PgPoolOptions;
use servitor::db::sqlx::{self, AssertSqlSafe, Connection, Executor};
use servitor::db::{Db, DbConfig, Postgres};
use servitor::tasks::durable::{DurableConfig, DurableTasks};
use servitor::tasks::TaskContext;
use servitor::{Runtime, Supervisor};
use servitor_benches::paired::Rounds;
use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// Tasks per measurement.
const TASKS: usize = 4_000;
const WORKERS: usize = 4;
const BATCH: usize = 4;
const PREFIX: &str = "bench_durable";
const IDLE_POLL: Duration = Duration::from_millis(5);
const CONTENDERS: [&str; 6] = [
    "servitor, 1 process",
    "raw sqlx, 1 process",
    "servitor, 2 processes",
    "raw sqlx, 2 processes",
    "servitor, 4 processes",
    "raw sqlx, 4 processes",
];

fn url() -> String {
    std::env::var("DATABASE_URL")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/test".into())
}

fn queue_config(queue: &str) -> DurableConfig {
    DurableConfig {
        queue: Some(queue.into()),
        table_prefix: PREFIX.into(),
        workers: WORKERS,
        claim_batch: BATCH,
        poll_interval: IDLE_POLL,
        ..DurableConfig::default()
    }
}

fn db_config() -> DbConfig {
    DbConfig {
        max_connections: (WORKERS + 3) as u32,
        ..DbConfig::url(url())
    }
}

/// A servitor worker process: the queue's service with a no-op handler.
fn servitor_worker(queue: String) {
    actix_rt::System::new().block_on(async move {
        let (db_spec, db) = Db::<Postgres>::service("db", db_config()).unwrap();
        let (spec, tasks) = DurableTasks::service("bench", queue_config(&queue), db).unwrap();
        tasks
            .handlers()
            .register("noop", |_cx: TaskContext, n: i64| async move {
                Ok::<_, std::convert::Infallible>(n)
            });
        let _app = Runtime::start(
            Supervisor::builder("app")
                .child(db_spec)
                .child(spec)
                .build()
                .unwrap(),
        )
        .await
        .unwrap();
        println!("ready");
        std::future::pending::<()>().await;
    });
}

/// A raw worker process: the plain SKIP LOCKED loop on an sqlx pool.
fn raw_worker(queue: String) {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async move {
        let pool = PgPoolOptions::new()
            .max_connections(WORKERS as u32 + 1)
            .connect(&url())
            .await
            .unwrap();
        let t = format!("{PREFIX}_tasks");
        let claim = format!(
            "UPDATE {t} AS t SET status = 'running', attempts = t.attempts + 1, lease_owner = $2, \
             lease_until = now() + interval '30 seconds', started_at = now() \
             FROM (SELECT id FROM {t} WHERE queue = $1 AND status = 'pending' AND run_at <= now() \
                   ORDER BY priority, run_at, id LIMIT $3 FOR UPDATE SKIP LOCKED) AS ready \
             WHERE t.id = ready.id RETURNING t.id, t.payload::text"
        );
        let complete = format!(
            "UPDATE {t} SET status = 'completed', result = $2::jsonb, finished_at = now(), \
             lease_owner = NULL, lease_until = NULL WHERE id = $1"
        );
        let owner = format!("raw-{}", std::process::id());
        let loops: Vec<_> = (0..WORKERS)
            .map(|_| {
                let (pool, claim, complete, owner, queue) = (
                    pool.clone(),
                    claim.clone(),
                    complete.clone(),
                    owner.clone(),
                    queue.clone(),
                );
                tokio::spawn(async move {
                    loop {
                        let rows: Vec<(i64, String)> =
                            sqlx::query_as(AssertSqlSafe(claim.as_str()))
                                .bind(&queue)
                                .bind(&owner)
                                .bind(BATCH as i64)
                                .fetch_all(&pool)
                                .await
                                .unwrap();
                        if rows.is_empty() {
                            tokio::time::sleep(IDLE_POLL).await;
                            continue;
                        }
                        for (id, payload) in rows {
                            let n: i64 = serde_json::from_str(&payload).unwrap();
                            sqlx::query(AssertSqlSafe(complete.as_str()))
                                .bind(id)
                                .bind(serde_json::to_string(&n).unwrap())
                                .execute(&pool)
                                .await
                                .unwrap();
                        }
                    }
                })
            })
            .collect();
        println!("ready");
        for l in loops {
            l.await.unwrap();
        }
    });
}

/// `k` worker processes of `kind`, each once it is ready.
fn spawn_workers(kind: &str, queue: &str, k: usize) -> Vec<Child> {
    let exe = std::env::current_exe().unwrap();
    (0..k)
        .map(|_| {
            let mut child = Command::new(&exe)
                .args(["--worker", kind, queue])
                .stdout(Stdio::piped())
                .stderr(Stdio::inherit())
                .spawn()
                .unwrap();
            let mut line = String::new();
            BufReader::new(child.stdout.as_mut().unwrap())
                .read_line(&mut line)
                .unwrap();
            assert_eq!(line.trim(), "ready", "a worker failed to start");
            child
        })
        .collect()
}

/// One measurement: tasks per second drained by `k` processes of `kind`.
async fn measure(conn: &mut sqlx::PgConnection, kind: &str, k: usize) -> f64 {
    let queue = format!("{kind}-{k}");
    let t = format!("{PREFIX}_tasks");
    // Only this run's rows go; the history stays, so the planner's view of
    // the table is the same for every measurement.
    conn.execute(AssertSqlSafe(format!(
        "DELETE FROM {t} WHERE queue <> 'history'"
    )))
    .await
    .unwrap();
    conn.execute(AssertSqlSafe(format!("VACUUM {t}")))
        .await
        .unwrap();
    let mut workers = spawn_workers(kind, &queue, k);
    let start = Instant::now();
    sqlx::query(AssertSqlSafe(format!(
        "INSERT INTO {t} (queue, handler, payload, max_attempts) \
         SELECT $1, 'noop', to_jsonb(n), 5 FROM generate_series(1, $2) AS n"
    )))
    .bind(&queue)
    .bind(TASKS as i64)
    .execute(&mut *conn)
    .await
    .unwrap();
    // Unfinished rows are in the two partial indexes: the count stays cheap.
    let left =
        format!("SELECT count(*) FROM {t} WHERE queue = $1 AND status IN ('pending', 'running')");
    loop {
        let n: i64 = sqlx::query_scalar(AssertSqlSafe(left.as_str()))
            .bind(&queue)
            .fetch_one(&mut *conn)
            .await
            .unwrap();
        if n == 0 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(2)).await;
    }
    let rate = TASKS as f64 / start.elapsed().as_secs_f64();
    for w in &mut workers {
        let _ = w.kill();
        let _ = w.wait();
    }
    rate
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    if args.get(1).map(String::as_str) == Some("--worker") {
        // A worker ends with the benchmark, however the benchmark ends.
        // SAFETY: prctl with these arguments only sets this process's
        // parent-death signal.
        unsafe {
            libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL);
        }
        let queue = args[3].clone();
        match args[2].as_str() {
            "servitor" => servitor_worker(queue),
            _ => raw_worker(queue),
        }
        return;
    }
    actix_rt::System::new().block_on(async {
        let Ok(mut conn) = sqlx::PgConnection::connect(&url()).await else {
            eprintln!("skipped: no PostgreSQL server at DATABASE_URL ({})", url());
            return;
        };
        // The table, made by the queue's own migrations.
        conn.execute(AssertSqlSafe(format!(
            "DROP TABLE IF EXISTS {PREFIX}_tasks, {PREFIX}_task_migrations"
        )))
        .await
        .unwrap();
        {
            let (db_spec, db) = Db::<Postgres>::service("db", db_config()).unwrap();
            let (spec, _tasks) =
                DurableTasks::service("setup", DurableConfig { workers: 0, ..queue_config("setup") }, db).unwrap();
            let app = Runtime::start(Supervisor::builder("app").child(db_spec).child(spec).build().unwrap())
                .await
                .unwrap();
            app.shutdown().await.unwrap();
        }
        conn.execute(AssertSqlSafe(format!(
            "INSERT INTO {PREFIX}_tasks (queue, handler, payload, max_attempts, status, result, finished_at) \
             SELECT 'history', 'noop', to_jsonb(n), 5, 'completed', to_jsonb(n), now() FROM generate_series(1, 50000) AS n; \
             ANALYZE {PREFIX}_tasks"
        )))
        .await
        .unwrap();
        println!("durable tasks: {TASKS} no-op tasks per measurement, {WORKERS} workers per process, claims of {BATCH}");
        let mut rounds = Rounds::new(&CONTENDERS).budget(5, 15, 5.0);
        while rounds.more() {
            let mut round = vec![0.0; CONTENDERS.len()];
            for i in rounds.order() {
                let kind = if i % 2 == 0 { "servitor" } else { "raw" };
                let k = [1, 2, 4][i / 2];
                round[i] = measure(&mut conn, kind, k).await;
            }
            eprintln!("  round {}: {:?}", rounds.rounds() + 1, round.iter().map(|r| *r as u64).collect::<Vec<_>>());
            rounds.push(round);
        }
        println!("{} paired rounds, median tasks/s:", rounds.rounds());
        for (i, name) in CONTENDERS.iter().enumerate() {
            println!("  {name:<24} {:>9.0} tasks/s", rounds.median(i));
        }
        for k in 0..3 {
            let s = rounds.ratio(2 * k, 2 * k + 1);
            println!("  servitor / raw, {} process(es): {}", [1, 2, 4][k], s.label());
        }
        for (i, label) in [(2, "2 vs 1"), (4, "4 vs 1")] {
            println!(
                "  scaling servitor {label}: {}   raw {label}: {}",
                rounds.ratio(i, 0).label(),
                rounds.ratio(i + 1, 1).label()
            );
        }
        conn.execute(AssertSqlSafe(format!(
            "DROP TABLE IF EXISTS {PREFIX}_tasks, {PREFIX}_task_migrations"
        )))
        .await
        .unwrap();
    });
}
