//! The demo: a small order-taking application on a nested supervision tree,
//! doing real work in a loop, crashing now and then, and serving its
//! operations endpoint — health, metrics, the registry and a live page.
//!
//! ```text
//! cargo run --example demo --features full
//! cargo run -p servitorctl -- --watch          # in a second terminal
//! ```
//!
//! ```text
//! demo                    one-for-one
//! ├── ops                 the operations endpoint (first, so it stops last)
//! ├── storage             one-for-one
//! │   ├── orders-db       SQLite, embedded (in memory), migrations applied at start
//! │   └── catalog         cache of stored orders and the latest summary
//! ├── messaging           one-for-one
//! │   ├── events          event bus: orders.stored, reports.summary
//! │   └── github          GitHub client (disabled without GITHUB_TOKEN)
//! └── work                rest-for-one
//!     ├── jobs            task workers: each order is stored by a task (db + cache + event)
//!     ├── reports         scheduler: a summary every 2 s, a clean-up every 5 s
//!     └── intake          takes an order every 250 ms; a poisoned one crashes it
//! ```
//!
//! Options: `--for 30s` ends it by itself; `--port 0` picks a free port
//! (default 9898); `--bind ADDR` listens elsewhere; `--crash-every N` makes
//! every Nth order a poisoned one (default 40; 0 never).

use servitor::bus::{BusConfig, EventBus};
use servitor::cache::{Cache, CacheConfig};
use servitor::db::{Db, DbConfig, Migrations, Sqlite};
use servitor::github::{GitHub, GitHubConfig};
use servitor::http::{Http, HttpConfig};
use servitor::kit::Secret;
use servitor::prelude::*;
use servitor::scheduler::{Schedule, Scheduler, SchedulerConfig};
use servitor::tasks::{RetryPolicy, TaskOptions, Tasks, TasksConfig};
use servitor::{RuntimeConfig, TickerConfig};
use std::net::SocketAddr;
use std::process::ExitCode;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

const SHUTDOWN_DEADLINE: Duration = Duration::from_secs(10);

/// What flows on the bus.
#[derive(Debug, Clone)]
enum Note {
    Stored { id: i64, total_cents: i64 },
    Summary { orders: i64, revenue_cents: i64 },
}

struct Options {
    run_for: Option<Duration>,
    bind: SocketAddr,
    crash_every: u64,
}

fn parse_duration(text: &str) -> Option<Duration> {
    let (number, unit) = text
        .find(|c: char| !c.is_ascii_digit() && c != '.')
        .map_or((text, "s"), |i| text.split_at(i));
    let n: f64 = number.parse().ok()?;
    let secs = match unit {
        "ms" => n / 1000.0,
        "s" => n,
        "m" => n * 60.0,
        "h" => n * 3600.0,
        _ => return None,
    };
    Duration::try_from_secs_f64(secs).ok()
}

fn options() -> Result<Options, String> {
    let mut options = Options {
        run_for: None,
        bind: servitor::http::DEFAULT_BIND,
        crash_every: 40,
    };
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        let mut value = |name: &str| args.next().ok_or(format!("{name} needs a value"));
        match arg.as_str() {
            "--for" => {
                let v = value("--for")?;
                options.run_for = Some(
                    parse_duration(&v).ok_or(format!("--for: `{v}` is not a duration like 30s"))?,
                );
            }
            "--port" => {
                let v = value("--port")?;
                options.bind.set_port(
                    v.parse()
                        .map_err(|_| format!("--port: `{v}` is not a port"))?,
                );
            }
            "--bind" => {
                let v = value("--bind")?;
                options.bind = v
                    .parse()
                    .map_err(|_| format!("--bind: `{v}` is not an address like 127.0.0.1:9898"))?;
            }
            "--crash-every" => {
                let v = value("--crash-every")?;
                options.crash_every = v
                    .parse()
                    .map_err(|_| format!("--crash-every: `{v}` is not a number"))?;
            }
            "-h" | "--help" => {
                return Err(String::new());
            }
            other => return Err(format!("unknown option `{other}`")),
        }
    }
    Ok(options)
}

fn migrations() -> Migrations {
    Migrations::new()
        .add(
            1,
            "create orders",
            "CREATE TABLE orders (id BIGINT PRIMARY KEY, customer TEXT NOT NULL, total_cents BIGINT NOT NULL CHECK (total_cents > 0))",
        )
        .add(
            2,
            "index customers",
            "CREATE INDEX orders_by_customer ON orders (customer)",
        )
}

/// Takes an order every tick and hands it to a task; every `crash_every`th
/// order is poisoned and the intake panics on it.
struct Intake {
    next: Arc<AtomicU64>,
    crash_every: u64,
    jobs: Tasks,
    db: Db<Sqlite>,
    catalog: Cache<String, String>,
    events: EventBus<Note>,
}

const CUSTOMERS: [&str; 5] = ["ada", "grace", "edsger", "barbara", "ken"];

impl Ticker for Intake {
    type Error = servitor::tasks::TaskError;

    async fn tick(&mut self, cx: &ServiceContext) -> Result<(), Self::Error> {
        let id = self.next.fetch_add(1, Ordering::Relaxed) + 1;
        if self.crash_every > 0 && id % self.crash_every == 0 {
            panic!("poisoned order #{id}");
        }
        cx.set_detail("last_order", id);
        let customer = CUSTOMERS[id as usize % CUSTOMERS.len()];
        let total_cents = 500 + (id as i64 * 7919) % 20_000;
        let (db, catalog, events) = (self.db.clone(), self.catalog.clone(), self.events.clone());
        // One in nine orders is declined the first time: the task retries.
        let options =
            TaskOptions::default().retry(RetryPolicy::exponential(3, Duration::from_millis(50)));
        self.jobs
            .submit_with("store-order", options, move |task| {
                let (db, catalog, events) = (db.clone(), catalog.clone(), events.clone());
                async move {
                    if id % 9 == 0 && task.attempt() == 1 {
                        return Err::<i64, servitor::BoxError>(format!("card declined for order #{id}").into());
                    }
                    db.execute(
                        "INSERT OR REPLACE INTO orders (id, customer, total_cents) VALUES ($1, $2, $3)",
                        (id as i64, customer, total_cents),
                    )
                    .await?;
                    catalog.set(format!("order:{id}"), format!("{customer}: {total_cents} cents"))?;
                    let seen = catalog.get(&format!("customer:{customer}"))?.and_then(|n| n.parse::<u64>().ok());
                    catalog.set(format!("customer:{customer}"), (seen.unwrap_or(0) + 1).to_string())?;
                    events.publish("orders.stored", Note::Stored { id: id as i64, total_cents }).await?;
                    Ok(id as i64)
                }
            })
            .await?;
        Ok(())
    }
}

fn format_ms(ms: u64) -> String {
    if ms < 1000 {
        format!("{ms} ms")
    } else {
        format!("{:.1} s", ms as f64 / 1000.0)
    }
}

/// Prints a line when a service gets into trouble, and when it is back.
async fn narrate(registry: servitor::Registry, started: Instant) {
    let mut watch = registry.watch_all();
    let mut troubled = std::collections::BTreeSet::new();
    while let Some(change) = watch.next().await {
        let Some(from) = change.from else { continue };
        let at = format_ms(started.elapsed().as_millis() as u64);
        let restarts = registry.get(&change.name).map_or(0, |r| r.restarts);
        if change.status.is_fault() {
            troubled.insert(change.name.clone());
            println!(
                "  {at:>7}  {:<10} {from} → {}{}",
                change.name,
                change.status,
                change.message.map(|m| format!(": {m}")).unwrap_or_default(),
            );
        } else if change.status.is_healthy() && troubled.remove(&change.name) {
            println!(
                "  {at:>7}  {:<10} {} again after {restarts} restart{}",
                change.name,
                change.status,
                if restarts == 1 { "" } else { "s" }
            );
        }
    }
}

#[actix_rt::main]
async fn main() -> Result<ExitCode, Box<dyn std::error::Error>> {
    let options = match options() {
        Ok(o) => o,
        Err(problem) => {
            if !problem.is_empty() {
                eprintln!("demo: {problem}");
            }
            eprintln!(
                "usage: demo [--for 30s] [--port 9898 | --bind 127.0.0.1:9898] [--crash-every 40]"
            );
            return Ok(if problem.is_empty() {
                ExitCode::SUCCESS
            } else {
                ExitCode::from(64)
            });
        }
    };
    tracing_subscriber::fmt()
        .with_max_level(tracing::Level::WARN)
        .with_writer(std::io::stderr)
        .with_target(false)
        .init();
    servitor::kit::install_panic_hook();

    // The endpoint: loopback only, details for everyone on this machine
    // (or only with SERVITOR_TOKEN as the bearer token, if it is set).
    let mut ops_config = HttpConfig {
        required: vec!["storage".into(), "work".into()],
        groups: [
            ("storage".to_string(), vec!["storage".to_string()]),
            (
                "work".to_string(),
                vec!["work".to_string(), "events".to_string()],
            ),
        ]
        .into(),
        snapshot_interval: Duration::from_secs(1),
        ..HttpConfig::bind(options.bind)
    };
    if let Ok(token) = std::env::var("SERVITOR_TOKEN") {
        ops_config.show_details = servitor::http::ShowDetails::WhenAuthorized;
        ops_config.token = Some(Secret::new(token));
    }
    let (ops_spec, ops) = Http::service("ops", ops_config)?;

    let (db_spec, db) = Db::<Sqlite>::builder("orders-db")
        .config(DbConfig {
            health_interval: Duration::from_secs(1),
            ..DbConfig::default()
        })
        .migrations(migrations())
        .build()?;
    let (catalog_spec, catalog) = Cache::<String, String>::service(
        "catalog",
        CacheConfig {
            capacity: 400,
            default_ttl: Some(Duration::from_secs(60)),
            ..CacheConfig::default()
        },
    )?;
    let (events_spec, events) = EventBus::<Note>::service(
        "events",
        BusConfig::default().health_interval(Duration::from_secs(1)),
    )?;
    let github_config = match std::env::var("GITHUB_TOKEN") {
        Ok(token) if !token.trim().is_empty() => GitHubConfig::with_token(token),
        _ => GitHubConfig::default(),
    };
    let (github_spec, _github) = GitHub::service("github", github_config)?;
    let (jobs_spec, jobs) = Tasks::service(
        "jobs",
        TasksConfig {
            workers: 4,
            health_interval: Duration::from_secs(1),
            ..TasksConfig::default()
        },
    )?;
    let (reports_spec, reports) = Scheduler::service(
        "reports",
        SchedulerConfig {
            health_interval: Duration::from_secs(1),
            ..SchedulerConfig::default()
        },
    )?;

    let next_order = Arc::new(AtomicU64::new(0));
    let intake = {
        let (jobs, db, catalog, events) =
            (jobs.clone(), db.clone(), catalog.clone(), events.clone());
        let crash_every = options.crash_every;
        ChildSpec::ticker(
            "intake",
            TickerConfig {
                interval: Duration::from_millis(250),
                ..TickerConfig::default()
            },
            move || Intake {
                next: next_order.clone(),
                crash_every,
                jobs: jobs.clone(),
                db: db.clone(),
                catalog: catalog.clone(),
                events: events.clone(),
            },
        )?
    };

    let tree = Supervisor::builder("demo")
        .strategy(Strategy::OneForOne)
        .intensity(20, Duration::from_secs(10))
        .child(ops_spec)
        .child(
            Supervisor::builder("storage")
                .strategy(Strategy::OneForOne)
                .child(db_spec)
                .child(catalog_spec),
        )
        .child(
            Supervisor::builder("messaging")
                .strategy(Strategy::OneForOne)
                .child(events_spec)
                .child(github_spec),
        )
        .child(
            Supervisor::builder("work")
                .strategy(Strategy::RestForOne)
                .intensity(20, Duration::from_secs(10))
                .backoff(Backoff::exponential(
                    Duration::from_millis(100),
                    Duration::from_secs(2),
                ))
                .child(jobs_spec)
                .child(reports_spec)
                .child(intake),
        )
        .build()?;
    let config = RuntimeConfig {
        shutdown_deadline: SHUTDOWN_DEADLINE,
        ..RuntimeConfig::default()
    };
    let app = Runtime::start_with(tree, config).await?;
    let started = Instant::now();

    // Events between services: an auditor counts stored orders into the
    // cache; the summary job's reports are kept there too.
    let audited = Arc::new(AtomicU64::new(0));
    let _auditor = {
        let (catalog, audited) = (catalog.clone(), audited.clone());
        events
            .subscriber("orders.*")
            .name("auditor")
            .handler(move |e| {
                if let Note::Stored { id, total_cents } = e.payload() {
                    let n = audited.fetch_add(1, Ordering::Relaxed) + 1;
                    catalog.set(
                        "audit:last".into(),
                        format!("#{id} ({total_cents} cents), {n} audited"),
                    )?;
                }
                Ok::<_, servitor::BoxError>(())
            })?
    };
    let _reader = {
        let catalog = catalog.clone();
        events
            .subscriber("reports.>")
            .name("report-reader")
            .handler(move |e| {
                if let Note::Summary {
                    orders,
                    revenue_cents,
                } = e.payload()
                {
                    catalog.set(
                        "summary".into(),
                        format!("{orders} orders, {revenue_cents} cents"),
                    )?;
                }
                Ok::<_, servitor::BoxError>(())
            })?
    };
    {
        let (db, events) = (db.clone(), events.clone());
        reports.add(
            "summary",
            Schedule::every(Duration::from_secs(2)),
            move || {
                let (db, events) = (db.clone(), events.clone());
                async move {
                    let (orders, revenue_cents): (i64, i64) = db
                        .fetch_one(
                            "SELECT COUNT(*), COALESCE(SUM(total_cents), 0) FROM orders",
                            (),
                        )
                        .await?;
                    events
                        .publish(
                            "reports.summary",
                            Note::Summary {
                                orders,
                                revenue_cents,
                            },
                        )
                        .await?;
                    Ok::<_, servitor::BoxError>(())
                }
            },
        )?;
    }
    {
        let db = db.clone();
        reports.add(
            "clean-up",
            Schedule::every(Duration::from_secs(5)),
            move || {
                let db = db.clone();
                async move {
                    db.execute(
                        "DELETE FROM orders WHERE id <= (SELECT MAX(id) - 500 FROM orders)",
                        (),
                    )
                    .await?;
                    Ok::<_, servitor::BoxError>(())
                }
            },
        )?;
    }

    let url = ops.url()?;
    println!("servitor demo: an order-taking application on a supervision tree, with its operations endpoint");
    println!();
    println!("  live page    {url}/");
    println!("  health       {url}/health   (probes: {url}/health/live, {url}/health/ready)");
    println!("  metrics      {url}/metrics");
    println!("  registry     {url}/services   (events: {url}/services/events)");
    println!("  status CLI   cargo run -p servitorctl -- --url {url} --watch");
    println!();
    match options.crash_every {
        0 => println!("No crashes are injected (--crash-every 0)."),
        n => println!("Every {n}th order is poisoned and crashes the intake: watch it restart."),
    }
    match options.run_for {
        Some(d) => println!(
            "It ends by itself after {}; Ctrl-C stops it sooner.",
            format_ms(d.as_millis() as u64)
        ),
        None => println!(
            "Ctrl-C stops it within the {} s shutdown deadline (a second Ctrl-C forces it).",
            SHUTDOWN_DEADLINE.as_secs()
        ),
    }
    println!();
    actix_rt::spawn(narrate(app.registry().clone(), started));

    let ended = match options.run_for {
        Some(d) => tokio::select! {
            ended = app.wait() => ended,
            _ = tokio::time::sleep(d) => Ok(()),
        },
        None => app.wait().await,
    };
    let stopping = Instant::now();
    println!("stopping…");
    let report = app.shutdown().await;
    let took = format_ms(stopping.elapsed().as_millis() as u64);
    match (ended, report) {
        (Ok(()), Ok(report))
            if !report.deadline_exceeded && !report.forced && report.failures.is_empty() =>
        {
            println!(
                "stopped cleanly in {took} (deadline {} s); {} orders taken, {} audited",
                SHUTDOWN_DEADLINE.as_secs(),
                jobs.stats().completed,
                audited.load(Ordering::Relaxed)
            );
            Ok(ExitCode::SUCCESS)
        }
        (Ok(()), Ok(report)) => {
            println!(
                "stopped in {took}: forced {}, deadline passed {}, killed {:?}, failures {:?}",
                report.forced, report.deadline_exceeded, report.killed, report.failures
            );
            Ok(ExitCode::FAILURE)
        }
        (Err(e), _) | (_, Err(e)) => {
            println!("ended with an error after {took}: {e}");
            Ok(ExitCode::FAILURE)
        }
    }
}
