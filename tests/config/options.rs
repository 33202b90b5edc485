//! Every supervisor and child-spec option, and every built-in service's
//! config, read from a file is what the same option set in code is — and
//! the loaded configuration, printed, reads back as the same tree.

use crate::common::{toml, types, yaml, Ingest, IngestConfig};
use servitor::bus::{BusConfig, EventBus, Overflow};
use servitor::cache::{Cache, CacheConfig};
use servitor::config::{Format, FromConfig, Outline};
use servitor::kit::Backoff;
use servitor::prelude::*;
use servitor::scheduler::{MissedRunPolicy, Scheduler, SchedulerConfig};
use servitor::tasks::{Tasks, TasksConfig};
use servitor::{AutoShutdown, Placement, Restart, Shutdown, Strategy, SupervisorSpec};
use std::time::Duration;

fn ingest(name: &str) -> ChildSpec {
    let config = IngestConfig {
        region: "eu".into(),
        batch: 100,
        password: None,
        label: None,
    };
    ChildSpec::service(name, move || Ingest::from_config(&config))
}

const EVERY_OPTION_TOML: &str = r#"
[supervisor]
name = "app"
strategy = "rest_for_one"
intensity = { max_restarts = 7, period = "1m" }
backoff = { initial = "50ms", max = "2s", factor = 1.5, jitter = 0.25 }
backoff_reset = 45000
auto_shutdown = "any_significant"
health_interval = "2s 500ms"
placement = "runtime"

[[child]]
type = "ingest"
name = "a"
restart = "transient"
shutdown = "2s"
start_timeout = "10s"
significant = true
placement = "pool"
config = { region = "eu" }

[[child]]
type = "ingest"
name = "b"
restart = "temporary"
shutdown = "kill"
placement = { named = "io" }
config = { region = "eu" }

[[child]]
type = "ingest"
name = "c"
shutdown = "infinity"
start_timeout = 1500
placement = "dedicated"
config = { region = "eu" }

[[child]]
type = "ingest"
name = "d"
shutdown = { timeout = "250ms" }
placement = "inherit"
config = { region = "eu" }

[[child]]
type = "supervisor"
name = "work"
strategy = "one_for_all"
intensity = { max_restarts = 2 }
auto_shutdown = "all_significant"
backoff_reset = "1m"
health_interval = "10s"
placement = { named = "workers" }
restart = "transient"
shutdown = "20s"
start_timeout = "1m"
significant = true

[[child.child]]
type = "ingest"
name = "e"
restart = "transient"
significant = true
config = { region = "eu" }

[[child.child]]
type = "supervisor"
name = "deep"
"#;

const EVERY_OPTION_YAML: &str = r#"
supervisor:
  name: app
  strategy: rest_for_one
  intensity: { max_restarts: 7, period: 1m }
  backoff: { initial: 50ms, max: 2s, factor: 1.5, jitter: 0.25 }
  backoff_reset: 45000
  auto_shutdown: any_significant
  health_interval: 2s 500ms
  placement: runtime
children:
  - { type: ingest, name: a, restart: transient, shutdown: 2s, start_timeout: 10s,
      significant: true, placement: pool, config: { region: eu } }
  - { type: ingest, name: b, restart: temporary, shutdown: kill,
      placement: { named: io }, config: { region: eu } }
  - { type: ingest, name: c, shutdown: infinity, start_timeout: 1500,
      placement: dedicated, config: { region: eu } }
  - type: ingest
    name: d
    shutdown: { timeout: 250ms }
    placement: inherit
    config: { region: eu }
  - type: supervisor
    name: work
    strategy: one_for_all
    intensity: { max_restarts: 2 }
    auto_shutdown: all_significant
    backoff_reset: 1m
    health_interval: 10s
    placement: { named: workers }
    restart: transient
    shutdown: 20s
    start_timeout: 1m
    significant: true
    children:
      - { type: ingest, name: e, restart: transient, significant: true, config: { region: eu } }
      - { type: supervisor, name: deep }
"#;

fn every_option_in_code() -> SupervisorSpec {
    Supervisor::builder("app")
        .strategy(Strategy::RestForOne)
        .intensity(7, Duration::from_secs(60))
        .backoff(
            Backoff::exponential(Duration::from_millis(50), Duration::from_secs(2))
                .factor(1.5)
                .jitter(0.25),
        )
        .backoff_reset(Duration::from_secs(45))
        .auto_shutdown(AutoShutdown::AnySignificant)
        .health_interval(Duration::from_millis(2500))
        .placement(Placement::Runtime)
        .child(
            ingest("a")
                .transient()
                .shutdown_timeout(Duration::from_secs(2))
                .start_timeout(Duration::from_secs(10))
                .significant()
                .placement(Placement::Pool),
        )
        .child(
            ingest("b")
                .temporary()
                .kill_on_stop()
                .placement(Placement::Named("io".into())),
        )
        .child(
            ingest("c")
                .shutdown(Shutdown::Infinity)
                .start_timeout(Duration::from_millis(1500))
                .placement(Placement::Dedicated),
        )
        .child(ingest("d").shutdown_timeout(Duration::from_millis(250)))
        .child(
            ChildSpec::supervisor(
                Supervisor::builder("work")
                    .strategy(Strategy::OneForAll)
                    .intensity(2, Duration::from_secs(5))
                    .auto_shutdown(AutoShutdown::AllSignificant)
                    .backoff_reset(Duration::from_secs(60))
                    .health_interval(Duration::from_secs(10))
                    .placement(Placement::Named("workers".into()))
                    .child(ingest("e").transient().significant())
                    .child(Supervisor::builder("deep")),
            )
            .restart(Restart::Transient)
            .shutdown_timeout(Duration::from_secs(20))
            .start_timeout(Duration::from_secs(60))
            .significant(),
        )
        .build()
        .unwrap()
}

#[test]
fn every_supervisor_and_child_option_from_toml_is_the_option_in_code() {
    let from_file = toml(EVERY_OPTION_TOML).unwrap().build().unwrap();
    assert_eq!(
        Outline::of(&from_file),
        Outline::of(&every_option_in_code())
    );
}

#[test]
fn every_option_from_yaml_is_the_same_tree() {
    let from_file = yaml(EVERY_OPTION_YAML).unwrap().build().unwrap();
    assert_eq!(
        Outline::of(&from_file),
        Outline::of(&every_option_in_code())
    );
}

#[test]
fn the_printed_configuration_reads_back_as_the_same_tree() {
    let loaded = toml(EVERY_OPTION_TOML).unwrap();
    let printed = loaded.config().to_string();
    let again = toml(&printed).unwrap_or_else(|e| panic!("{e}\n{printed}"));
    assert_eq!(again.config(), loaded.config());
    assert_eq!(
        Outline::of(&again.build().unwrap()),
        Outline::of(&every_option_in_code())
    );
}

#[test]
fn leaving_everything_out_gives_the_defaults_of_code() {
    let from_file = toml("[supervisor]\nname = \"app\"\n[[child]]\ntype = \"ingest\"\nname = \"i\"\nconfig = { region = \"eu\" }\n[[child]]\ntype = \"supervisor\"\nname = \"s\"\n")
        .unwrap()
        .build()
        .unwrap();
    let in_code = Supervisor::builder("app")
        .child(ingest("i"))
        .child(Supervisor::builder("s"))
        .build()
        .unwrap();
    assert_eq!(Outline::of(&from_file), Outline::of(&in_code));
}

#[test]
fn children_may_sit_in_the_supervisor_table() {
    let a = toml(
        "[supervisor]\nname = \"app\"\n[[supervisor.child]]\ntype = \"cache\"\nname = \"c\"\n",
    )
    .unwrap()
    .build()
    .unwrap();
    let b = toml("[supervisor]\nname = \"app\"\n[[children]]\ntype = \"cache\"\nname = \"c\"\n")
        .unwrap()
        .build()
        .unwrap();
    assert_eq!(Outline::of(&a), Outline::of(&b));
    assert_eq!(a.children().next().map(|c| c.id()), Some("c"));
    assert_eq!(
        crate::common::toml_err(
            "[supervisor]\nname = \"app\"\n[[supervisor.child]]\ntype = \"cache\"\nname = \"c\"\n[[child]]\ntype = \"cache\"\nname = \"d\"\n"
        ),
        "<string>:3:14: app: children are given both at the top level and in the supervisor's table; keep one"
    );
}

#[test]
fn every_built_in_config_reads_human_durations_and_sizes() {
    let loaded = toml(
        r#"
[supervisor]
name = "app"

[[child]]
type = "cache"
name = "sessions"
[child.config]
capacity = 5000
default_ttl = "30m"
sweep_interval = "250ms"
sweep_limit = 10
shards = 4
policy = "lru"
hasher = "siphash"

[[child]]
type = "bus"
name = "events"
[child.config]
capacity = 64
overflow = "drop_oldest"
dead_letter_topic = "dead"
dead_letter_failures = true
request_timeout = "2s"
health_interval = "500ms"
lag_threshold = 0.5
drain_timeout = 3000

[[child]]
type = "tasks"
name = "jobs"
[child.config]
workers = 2
worker_placement = "inherit"
queue_capacity = 10
default_timeout = "1m"
cancel_grace = "1s"
retain_finished = 5
retain_for = "none"
health_interval = "2s"
failure_window = 7
degraded_failure_rate = 0.75

[[child]]
type = "scheduler"
name = "schedule"
[child.config]
max_backoff = "1h"
missed_runs = "catch_up_once"
degraded_after = 9
health_interval = "3s"
"#,
    )
    .unwrap();
    let cache: Cache<String, serde_json::Value> = loaded.handle("sessions").unwrap();
    assert_eq!(
        cache.config(),
        &CacheConfig {
            capacity: 5000,
            max_weight: None,
            default_ttl: Some(Duration::from_secs(1800)),
            sweep_interval: Duration::from_millis(250),
            sweep_limit: 10,
            shards: 4,
            policy: servitor::cache::EvictionPolicy::Lru,
            hasher: servitor::cache::CacheHasher::SipHash,
        }
    );
    let bus: EventBus<serde_json::Value> = loaded.handle("events").unwrap();
    assert_eq!(
        bus.config(),
        &BusConfig {
            capacity: 64,
            overflow: Overflow::DropOldest,
            dead_letter_topic: "dead".into(),
            dead_letter_failures: true,
            request_timeout: Duration::from_secs(2),
            health_interval: Duration::from_millis(500),
            lag_threshold: 0.5,
            drain_timeout: Duration::from_secs(3),
        }
    );
    let tasks: Tasks = loaded.handle("jobs").unwrap();
    assert_eq!(
        tasks.config(),
        &TasksConfig {
            workers: 2,
            worker_placement: Placement::Inherit,
            queue_capacity: 10,
            default_timeout: Some(Duration::from_secs(60)),
            cancel_grace: Duration::from_secs(1),
            retain_finished: 5,
            retain_for: None,
            health_interval: Duration::from_secs(2),
            failure_window: 7,
            degraded_failure_rate: 0.75,
        }
    );
    let scheduler: Scheduler = loaded.handle("schedule").unwrap();
    assert_eq!(
        scheduler.config(),
        &SchedulerConfig {
            max_backoff: Duration::from_secs(3600),
            missed_runs: MissedRunPolicy::CatchUpOnce,
            degraded_after: 9,
            health_interval: Duration::from_secs(3),
        }
    );
    // Printed and read back, every value is the same.
    let again = toml(&loaded.config().to_string()).unwrap();
    assert_eq!(again.config(), loaded.config());
    let cache2: Cache<String, serde_json::Value> = again.handle("sessions").unwrap();
    assert_eq!(cache2.config(), cache.config());
}

#[cfg(feature = "db")]
#[test]
fn the_db_type_reads_its_config_and_picks_the_backend_by_url() {
    use servitor::db::{Db, Sqlite};
    let loaded = toml(
        "[supervisor]\nname = \"app\"\n[[child]]\ntype = \"db\"\nname = \"db\"\n\
         config = { url = \"sqlite::memory:\", max_connections = 3, idle_timeout = \"none\", acquire_timeout = \"2s\" }\n",
    )
    .unwrap();
    let db: Db<Sqlite> = loaded.handle("db").unwrap();
    assert_eq!(db.config().max_connections, 3);
    assert_eq!(db.config().idle_timeout, None);
    assert_eq!(db.config().acquire_timeout, Duration::from_secs(2));
    #[cfg(feature = "postgres")]
    {
        let loaded = toml(
            "[supervisor]\nname = \"app\"\n[[child]]\ntype = \"db\"\nname = \"pg\"\n\
             config = { url = \"postgres://app@127.0.0.1/app\" }\n",
        )
        .unwrap();
        let err = loaded.handle::<Db<Sqlite>>("pg").unwrap_err();
        assert!(err.to_string().contains("Postgres"), "{err}");
        assert!(loaded.handle::<servitor::db::PgDb>("pg").is_ok());
    }
}

#[test]
fn yaml_scalars_resolve_by_the_core_schema() {
    let loaded = types()
        .tree_from_str(
            "supervisor: { name: app }\nchildren:\n  - type: ingest\n    name: i\n    config:\n      region: '5'\n      label: no\n      batch: 0x10\n",
            Format::Yaml,
        )
        .unwrap();
    let shown = loaded.config().as_json();
    assert_eq!(shown["child"][0]["config"]["region"], "5");
    assert_eq!(shown["child"][0]["config"]["label"], "no");
    assert_eq!(shown["child"][0]["config"]["batch"], 16);
}

#[test]
fn sizes_read_units() {
    // A cache of byte strings bounded by their total size.
    let types = types().register_service("blobs", |name, config: CacheConfig| {
        Cache::<String, Vec<u8>>::builder(name)
            .config(config)
            .weigher(|_, v: &Vec<u8>| v.len() as u32)
            .build()
    });
    let loaded = types
        .tree_from_str(
            "[supervisor]\nname = \"app\"\n[[child]]\ntype = \"blobs\"\nname = \"blobs\"\nconfig = { max_weight = \"64 MiB\" }\n",
            Format::Toml,
        )
        .unwrap();
    let blobs: Cache<String, Vec<u8>> = loaded.handle("blobs").unwrap();
    assert_eq!(blobs.config().max_weight, Some(64 * 1024 * 1024));
    assert_eq!(
        loaded.config().as_json()["child"][0]["config"]["max_weight"],
        64 * 1024 * 1024
    );
    let err = types_err(
        types,
        "[supervisor]\nname = \"app\"\n[[child]]\ntype = \"blobs\"\nname = \"blobs\"\nconfig = { max_weight = \"lots\" }\n",
    );
    assert_eq!(
        err,
        "<string>:6:25: app.child[0].config.max_weight: invalid size \"lots\"; expected a size: an integer, or a string such as \"64 MiB\" or \"1.5GB\""
    );
}

fn types_err(types: servitor::config::ServiceTypes, text: &str) -> String {
    types
        .tree_from_str(text, Format::Toml)
        .unwrap_err()
        .to_string()
}

#[cfg(feature = "http")]
#[actix_rt::test]
async fn the_http_endpoint_is_a_built_in_type_with_its_token_from_the_environment() {
    use servitor::http::Http;
    let types = servitor::config::ServiceTypes::new()
        .builtins()
        .environment(servitor::config::Environment::from_vars([(
            "OPS_TOKEN",
            "s3cret",
        )]));
    let loaded = types
        .tree_from_str(
            r#"
[supervisor]
name = "app"

[[child]]
type = "http"
name = "ops"
[child.config]
bind = "127.0.0.1:0"
show_details = "when_authorized"
token_env = "OPS_TOKEN"
"#,
            Format::Toml,
        )
        .unwrap();
    let http: Http = loaded.handle("ops").unwrap();
    assert!(!loaded.config().to_string().contains("s3cret"));
    let app = Runtime::start(loaded.build().unwrap()).await.unwrap();
    let addr = http.local_addr().expect("bound");
    assert_ne!(addr.port(), 0);
    app.shutdown().await.unwrap();
}
