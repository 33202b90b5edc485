//! A supervision tree from a configuration file: the built-in services
//! that `examples/servitor.toml` declares, a service added in code that
//! uses their typed handles, the loaded configuration printed (secrets
//! redacted), and environment overrides.
//!
//! Run with `cargo run --example from_file --features config`, or with the
//! YAML twin: `cargo run --example from_file --features config,yaml --
//! examples/servitor.yaml`. Try an override:
//! `SERVITOR__APP__SESSIONS__CAPACITY=20000 cargo run --example from_file
//! --features config`, or a typo in the file to see the error.

use serde_json::{json, Value};
use servitor::bus::EventBus;
use servitor::cache::Cache;
use servitor::config::ServiceTypes;
use servitor::prelude::*;
use servitor::tasks::Tasks;
use std::time::Duration;

/// A service made in code: it counts the sessions every second and
/// publishes the count.
struct Census {
    sessions: Cache<String, Value>,
    events: EventBus<Value>,
}

impl Actor for Census {
    type Context = Context<Self>;
}

impl Ticker for Census {
    type Error = String;
    async fn tick(&mut self, _: &ServiceContext) -> Result<(), String> {
        let count = self.sessions.len().map_err(|e| e.to_string())?;
        self.events
            .publish("sessions.count", json!(count))
            .await
            .map_err(|e| e.to_string())?;
        Ok(())
    }
}

#[actix_rt::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let file = std::env::args()
        .nth(1)
        .unwrap_or_else(|| concat!(env!("CARGO_MANIFEST_DIR"), "/examples/servitor.toml").into());

    // The built-in types, then the file; every error names its line.
    let types = ServiceTypes::new().builtins();
    let loaded = match types.tree_from_file(&file) {
        Ok(loaded) => loaded,
        Err(e) => {
            eprintln!("{e}");
            std::process::exit(2);
        }
    };
    println!("== loaded {file}, secrets redacted:\n{}", loaded.config());

    // The typed handles of the services the file made.
    let sessions: Cache<String, Value> = loaded.handle("sessions")?;
    let events: EventBus<Value> = loaded.handle("events")?;
    let jobs: Tasks = loaded.handle("jobs")?;

    // File and code combine: a ticker under the file's `work` supervisor.
    let census = {
        let (sessions, events) = (sessions.clone(), events.clone());
        ChildSpec::ticker(
            "census",
            TickerConfig::every(Duration::from_secs(1)),
            move || Census {
                sessions: sessions.clone(),
                events: events.clone(),
            },
        )?
    };
    let runtime = loaded.runtime_config();
    let tree = loaded.child_of("work", census).build()?;
    let app = Runtime::start_with(tree, runtime).await?;

    let mut counts = events.subscribe("sessions.count")?;
    sessions.set("s-1".into(), json!({ "user": "ada" }))?;
    sessions.set("s-2".into(), json!({ "user": "grace" }))?;
    let id = jobs
        .submit("welcome", |_| async { Ok::<_, String>("2 mails sent") })
        .await?;
    let done = jobs.wait(id, Duration::from_secs(5)).await?;
    println!("== job `welcome`: {:?}", done.status);
    let count = counts.recv().await?;
    println!("== census: {} sessions", count.payload());

    println!("== health\n{}", app.health().table());
    app.shutdown().await?;
    Ok(())
}
