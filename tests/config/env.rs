//! Environment overrides: `SERVITOR__<names>` sets any setting over the
//! file, typed as the setting asks; one naming nothing is an error.

use crate::common::{types, types_with};
use servitor::cache::Cache;
use servitor::config::{Environment, Format, LoadError, Outline};
use servitor::tasks::Tasks;
use servitor::{Restart, Shutdown, Strategy};
use std::time::Duration;

const FILE: &str = r#"
[supervisor]
name = "app"

[[child]]
type = "cache"
name = "sessions"
config = { capacity = 10000 }

[[child]]
type = "supervisor"
name = "work-eu"

[[child.child]]
type = "tasks"
name = "jobs"
"#;

fn load(vars: &[(&str, &str)]) -> Result<servitor::config::FileTree, LoadError> {
    types_with(vars).tree_from_str(FILE, Format::Toml)
}

fn err(vars: &[(&str, &str)]) -> String {
    load(vars)
        .expect_err("the override must be refused")
        .to_string()
}

#[test]
fn an_override_sets_a_config_value_typed_as_the_field_asks() {
    let loaded = load(&[("SERVITOR__APP__SESSIONS__CAPACITY", "20000")]).unwrap();
    let cache: Cache<String, serde_json::Value> = loaded.handle("sessions").unwrap();
    assert_eq!(cache.config().capacity, 20_000);
    // A key the file leaves out, a duration, an option-named key of the config.
    let loaded = load(&[
        ("SERVITOR__APP__SESSIONS__DEFAULT_TTL", "30m"),
        ("SERVITOR__APP__SESSIONS__CONFIG__SHARDS", "8"),
    ])
    .unwrap();
    let cache: Cache<String, serde_json::Value> = loaded.handle("sessions").unwrap();
    assert_eq!(cache.config().default_ttl, Some(Duration::from_secs(1800)));
    assert_eq!(cache.config().shards, 8);
    assert_eq!(cache.config().capacity, 10_000);
}

#[test]
fn overrides_reach_supervisor_options_child_options_nested_children_and_the_runtime() {
    let loaded = load(&[
        ("SERVITOR__APP__STRATEGY", "one_for_all"),
        ("SERVITOR__APP__INTENSITY__MAX_RESTARTS", "9"),
        ("SERVITOR__APP__SESSIONS__RESTART", "transient"),
        ("SERVITOR__APP__SESSIONS__SHUTDOWN", "kill"),
        ("SERVITOR__APP__WORK_EU__STRATEGY", "rest_for_one"),
        ("SERVITOR__APP__WORK_EU__START_TIMEOUT", "1m"),
        ("SERVITOR__APP__WORK_EU__JOBS__WORKERS", "8"),
        (
            "SERVITOR__APP__WORK_EU__JOBS__WORKER_PLACEMENT__NAMED",
            "io",
        ),
        ("SERVITOR__RUNTIME__SHUTDOWN_DEADLINE", "7s"),
        ("SERVITOR__RUNTIME__HANDLE_SIGNALS", "false"),
    ])
    .unwrap();
    assert_eq!(
        loaded.runtime_config().shutdown_deadline,
        Duration::from_secs(7)
    );
    assert!(!loaded.runtime_config().handle_signals);
    let jobs: Tasks = loaded.handle("jobs").unwrap();
    assert_eq!(jobs.config().workers, 8);
    assert_eq!(
        jobs.config().worker_placement,
        servitor::Placement::Named("io".into())
    );
    let outline = Outline::of(&loaded.build().unwrap());
    assert_eq!(outline.config.strategy, Strategy::OneForAll);
    assert_eq!(outline.config.intensity.max_restarts, 9);
    assert_eq!(outline.children[0].restart, Restart::Transient);
    assert_eq!(outline.children[0].shutdown, Shutdown::Kill);
    assert_eq!(outline.children[1].start_timeout, Duration::from_secs(60));
    let work = outline.children[1].supervisor.as_ref().unwrap();
    assert_eq!(work.config.strategy, Strategy::RestForOne);
}

#[test]
fn overrides_naming_nothing_are_errors() {
    assert_eq!(
        err(&[("SERVITOR__APPP__SESSIONS__CAPACITY", "1")]),
        "environment variable SERVITOR__APPP__SESSIONS__CAPACITY: names no supervisor `appp`: \
         the root supervisor is `app` (`APP`)"
    );
    assert_eq!(
        err(&[("SERVITOR__APP__SESION__CAPACITY", "1")]),
        "environment variable SERVITOR__APP__SESION__CAPACITY: names no setting or child \
         `sesion` of the supervisor `app`"
    );
    assert_eq!(
        err(&[("SERVITOR__APP__SESSIONS", "1")]),
        "environment variable SERVITOR__APP__SESSIONS: names the child `sessions` but no setting of it"
    );
    assert_eq!(
        err(&[("SERVITOR__APP__SESSIONS__TYPE", "bus")]),
        "environment variable SERVITOR__APP__SESSIONS__TYPE: the `type` of a child cannot be overridden"
    );
    assert_eq!(
        err(&[("SERVITOR__APP____X", "1")]),
        "environment variable SERVITOR__APP____X: an empty name between `__` separators"
    );
    // A typo in the config key is the config's unknown key.
    assert_eq!(
        err(&[("SERVITOR__APP__SESSIONS__CAPACTY", "1")]),
        "environment variable SERVITOR__APP__SESSIONS__CAPACTY: app.child[0].config: unknown \
         key `capacty`; did you mean `capacity`?"
    );
}

#[test]
fn a_bad_override_value_names_the_variable_and_the_key_path() {
    let e = load(&[("SERVITOR__APP__SESSIONS__CAPACITY", "lots")]).unwrap_err();
    assert_eq!(
        e.to_string(),
        "environment variable SERVITOR__APP__SESSIONS__CAPACITY: app.child[0].config.capacity: \
         expected an integer, found \"lots\""
    );
    assert_eq!(
        e.location(),
        Some(&servitor::config::Location::Env {
            var: "SERVITOR__APP__SESSIONS__CAPACITY".into()
        })
    );
    assert_eq!(
        err(&[("SERVITOR__APP__SESSIONS__CAPACITY", "0")]),
        "environment variable SERVITOR__APP__SESSIONS__CAPACITY: app.child[0].config.capacity: \
         must be at least 1"
    );
}

#[test]
fn the_prefix_is_chosen_and_overrides_can_be_turned_off() {
    let vars = [
        ("ORDERS__APP__SESSIONS__CAPACITY", "5"),
        ("SERVITOR__APP__SESSIONS__CAPACITY", "6"),
    ];
    let env = Environment::from_vars(vars).prefix("ORDERS");
    let loaded = types()
        .environment(env)
        .tree_from_str(FILE, Format::Toml)
        .unwrap();
    let cache: Cache<String, serde_json::Value> = loaded.handle("sessions").unwrap();
    assert_eq!(cache.config().capacity, 5);

    let env = Environment::from_vars(vars).without_overrides();
    let loaded = types()
        .environment(env)
        .tree_from_str(FILE, Format::Toml)
        .unwrap();
    let cache: Cache<String, serde_json::Value> = loaded.handle("sessions").unwrap();
    assert_eq!(cache.config().capacity, 10_000);
}

#[test]
fn overrides_apply_to_yaml_as_well() {
    let loaded = types_with(&[("SERVITOR__APP__SESSIONS__CAPACITY", "42")])
        .tree_from_str(
            "supervisor: { name: app }\nchildren:\n  - { type: cache, name: sessions }\n",
            Format::Yaml,
        )
        .unwrap();
    let cache: Cache<String, serde_json::Value> = loaded.handle("sessions").unwrap();
    assert_eq!(cache.config().capacity, 42);
}

#[test]
fn the_debug_output_of_an_environment_shows_no_values() {
    let env = Environment::from_vars([("GITHUB_TOKEN", "ghp_secret")]);
    let shown = format!("{env:?}");
    assert!(
        !shown.contains("ghp_secret") && !shown.contains("GITHUB_TOKEN"),
        "{shown}"
    );
}
