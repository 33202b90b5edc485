//! Events and health across processes, through NATS: run one program in
//! several terminals, each a role.
//!
//! ```text
//! app (one-for-one)
//! ├── events    the event bus (payload: JSON)
//! └── nats      the bridge: routes between the bus and NATS, this process's health for the fleet
//! ```
//!
//! Start NATS (`nats-server -js`), then:
//!
//! ```sh
//! cargo run --example fleet_events --features nats -- worker --instance w1      # terminal 1
//! cargo run --example fleet_events --features nats -- worker --instance w2      # terminal 2
//! cargo run --example fleet_events --features nats -- producer --count 10       # terminal 3
//! cargo run --example fleet_events --features nats -- fleet                     # the fleet's health
//! ```
//!
//! The producer publishes `jobs.resize` events (the workers share them: a
//! NATS queue group, so each job is done once), `audit.orders.created`
//! events (every worker sees each), and asks `math.double` (one worker
//! answers). `payer` and `ledger` do the same with JetStream, where
//! delivery survives a NATS restart: stop and start `nats-server` while
//! `payer --count 1000 --interval-ms 10` runs, and the ledger still gets
//! every confirmed payment.
//!
//! Every line printed is one fact (`job jobs.resize 3 w1`), so the
//! integration tests run this same program as their processes. Options:
//! `--nats URL` (default `$NATS_URL` or `nats://127.0.0.1:4222`), `--app
//! NAME` (also the subject prefix on NATS), `--instance NAME`, `--count N`,
//! `--interval-ms N`, `--beat-ms N` (the health heartbeat), `--stay` (the
//! producer keeps running).

use serde_json::{json, Value};
use servitor::bus::{BusConfig, EventBus};
use servitor::kit::Backoff;
use servitor::nats::{Bridge, NatsConfig, Route};
use servitor::{Runtime, RuntimeConfig, Supervisor};
use std::io::Write;
use std::time::Duration;

struct Args {
    role: String,
    nats: String,
    app: String,
    instance: Option<String>,
    count: u64,
    interval: Duration,
    beat: Duration,
    stay: bool,
}

fn args() -> Result<Args, String> {
    let mut args = Args {
        role: String::new(),
        nats: std::env::var("NATS_URL").unwrap_or_else(|_| "nats://127.0.0.1:4222".into()),
        app: "fleet-demo".into(),
        instance: None,
        count: 10,
        interval: Duration::ZERO,
        beat: Duration::from_secs(2),
        stay: false,
    };
    let mut it = std::env::args().skip(1);
    while let Some(arg) = it.next() {
        let mut value = |name: &str| it.next().ok_or(format!("{name} needs a value"));
        let number = |v: String| v.parse::<u64>().map_err(|e| format!("{v}: {e}"));
        match arg.as_str() {
            "--nats" => args.nats = value("--nats")?,
            "--app" => args.app = value("--app")?,
            "--instance" => args.instance = Some(value("--instance")?),
            "--count" => args.count = number(value("--count")?)?,
            "--interval-ms" => {
                args.interval = Duration::from_millis(number(value("--interval-ms")?)?)
            }
            "--beat-ms" => args.beat = Duration::from_millis(number(value("--beat-ms")?)?),
            "--stay" => args.stay = true,
            role if args.role.is_empty() && !role.starts_with('-') => args.role = role.into(),
            other => return Err(format!("unknown argument `{other}`")),
        }
    }
    match args.role.as_str() {
        "worker" | "producer" | "payer" | "ledger" | "fleet" => Ok(args),
        _ => Err("the role is one of: worker, producer, payer, ledger, fleet".into()),
    }
}

/// One fact per line, flushed at once: the tests read them as they come.
fn say(line: impl std::fmt::Display) {
    let mut out = std::io::stdout().lock();
    let _ = writeln!(out, "{line}");
    let _ = out.flush();
}

fn id_of(payload: &Value) -> u64 {
    payload["id"].as_u64().unwrap_or(u64::MAX)
}

#[actix_rt::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args = match args() {
        Ok(a) => a,
        Err(e) => {
            eprintln!("fleet_events: {e}");
            std::process::exit(64);
        }
    };
    let mut config = NatsConfig::new(args.nats.clone()).app(args.app.clone());
    config.subject_prefix = Some(args.app.clone());
    config.instance = args.instance.clone();
    config.health.interval = args.beat;
    config.reconnect = Backoff::exponential(Duration::from_millis(50), Duration::from_secs(1));
    let routes = match args.role.as_str() {
        "worker" => vec![
            Route::new("jobs.*").inbound().queue_group("workers"),
            Route::new("audit.>").inbound(),
            Route::new("math.*").inbound().queue_group("math"),
        ],
        "producer" => vec![
            Route::new("jobs.*").outbound(),
            Route::new("audit.>").outbound(),
            Route::new("math.*").outbound(),
        ],
        "payer" => vec![Route::new("pay.>").outbound().jetstream()],
        "ledger" => vec![Route::new("pay.>").inbound().jetstream()],
        _ => vec![],
    };
    config.routes = routes;

    let (bus_spec, bus) = EventBus::<Value>::service("events", BusConfig::default())?;
    let (nats_spec, bridge) = Bridge::service("nats", config, &bus)?;
    let tree = Supervisor::builder("app")
        .child(bus_spec)
        .child(nats_spec)
        .build()?;
    let app = Runtime::start_with(
        tree,
        RuntimeConfig {
            shutdown_deadline: Duration::from_secs(5),
            ..RuntimeConfig::default()
        },
    )
    .await?;
    let me = bridge.instance().to_string();

    // Every role's local subscribers; the bridge is just another one.
    let mut keep = Vec::new();
    match args.role.as_str() {
        "worker" => {
            let name = me.clone();
            keep.push(bus.subscriber("jobs.*").handler(move |e| {
                say(format!("job {} {} {name}", e.subject(), id_of(e.payload())))
            })?);
            let name = me.clone();
            keep.push(bus.subscriber("audit.>").handler(move |e| {
                say(format!(
                    "audit {} {} {name}",
                    e.subject(),
                    id_of(e.payload())
                ))
            })?);
            let responder = bus.clone();
            keep.push(bus.subscriber("math.double").handler(move |e| {
                let n = e.payload()["n"].as_i64().unwrap_or(0);
                responder.reply(e, json!({ "n": n * 2 })).map(|_| ())
            })?);
        }
        "ledger" => {
            let name = me.clone();
            keep.push(bus.subscriber("pay.>").handler(move |e| {
                say(format!("pay {} {} {name}", e.subject(), id_of(e.payload())))
            })?);
        }
        _ => {}
    }
    bridge.ready().await?;
    say(format!("ready {me}"));

    match args.role.as_str() {
        "producer" => {
            for id in 0..args.count {
                bus.publish("jobs.resize", json!({ "id": id, "from": me }))
                    .await?;
                bus.publish("audit.orders.created", json!({ "id": id, "from": me }))
                    .await?;
                if !args.interval.is_zero() {
                    tokio::time::sleep(args.interval).await;
                }
            }
            match bus.request("math.double", json!({ "n": 21 })).await {
                Ok(reply) => say(format!("reply {}", reply["n"])),
                Err(e) => say(format!("no reply: {e}")),
            }
            bridge.flush().await?;
            say(format!("done {me} {}", args.count));
        }
        "payer" => {
            let mut last = 0;
            for id in 0..args.count {
                bus.publish("pay.eu.settled", json!({ "id": id, "from": me }))
                    .await?;
                if !args.interval.is_zero() {
                    tokio::time::sleep(args.interval).await;
                }
                let confirmed = bridge.stats().confirmed;
                if confirmed != last {
                    last = confirmed;
                    say(format!("confirmed {confirmed}"));
                }
            }
            bridge.flush().await?;
            say(format!("confirmed {}", bridge.stats().confirmed));
            say(format!("done {me} {}", args.count));
        }
        "fleet" => loop {
            tokio::select! {
                _ = tokio::time::sleep(args.beat) => {
                    println!("{}", bridge.fleet().health_snapshot().table());
                }
                _ = app.wait() => break,
            }
        },
        _ => {}
    }
    if (args.role == "producer" || args.role == "payer") && !args.stay {
        drop(keep);
        app.shutdown().await?;
        return Ok(());
    }
    app.run_until_signal().await?;
    drop(keep);
    Ok(())
}
