//! File and code combine: children added in code, a file tree nested in a
//! code tree, typed handles by name, and the whole running.

use crate::common::{toml, types, Ingest, Plain, WhatConfig};
use servitor::bus::EventBus;
use servitor::cache::Cache;
use servitor::config::{Format, LoadError, Outline};
use servitor::prelude::*;
use servitor::testing::TestTree;
use servitor::LookupError;

const FILE: &str = r#"
[supervisor]
name = "app"

[[child]]
type = "cache"
name = "sessions"

[[child]]
type = "bus"
name = "events"

[[child]]
type = "supervisor"
name = "work"

[[child.child]]
type = "ingest"
name = "ingest-eu"
restart = "transient"
config = { region = "eu", batch = 500 }
"#;

#[test]
fn children_added_in_code_go_after_the_files_at_the_root_or_under_a_named_supervisor() {
    let spec = toml(FILE)
        .unwrap()
        .child(ChildSpec::service("extra", Plain::default))
        .child_of(
            "work",
            ChildSpec::service("helper", Plain::default).transient(),
        )
        .build()
        .unwrap();
    let outline = Outline::of(&spec);
    let ids: Vec<&str> = outline.children.iter().map(|c| c.id.as_str()).collect();
    assert_eq!(ids, ["sessions", "events", "work", "extra"]);
    let work = outline.children[2].supervisor.as_ref().unwrap();
    let ids: Vec<&str> = work.children.iter().map(|c| c.id.as_str()).collect();
    assert_eq!(ids, ["ingest-eu", "helper"]);
}

#[test]
fn mistakes_of_the_code_part_are_errors_of_build() {
    let err = toml(FILE)
        .unwrap()
        .child_of("wrok", ChildSpec::service("helper", Plain::default))
        .build()
        .unwrap_err();
    assert_eq!(
        err,
        LoadError::NoSupervisor {
            name: "wrok".into()
        }
    );
    assert_eq!(err.to_string(), "no supervisor named `wrok` in the tree");

    // A code child taking a file's name: placed at the file's name.
    let err = toml(FILE)
        .unwrap()
        .child(ChildSpec::service("sessions", Plain::default))
        .build()
        .unwrap_err();
    assert_eq!(
        err.to_string(),
        "<string>:7:8: app.child[0].name: the name `sessions` is used twice in the tree (also \
         by a child added in code)"
    );
    // A mistake only of the code child: the builder's own error.
    let err = toml(FILE)
        .unwrap()
        .child(
            ChildSpec::service("bad", Plain::default)
                .significant()
                .transient(),
        )
        .build()
        .unwrap_err();
    assert!(
        matches!(err, LoadError::Invalid { .. } | LoadError::Tree(_)),
        "{err:?}"
    );
    assert_eq!(
        err.to_string(),
        "<string>:2:1: app.auto_shutdown: is `never`, so a significant child is not allowed"
    );
    let err = toml(FILE)
        .unwrap()
        .child(ChildSpec::service("bad", Plain::default).start_timeout(std::time::Duration::ZERO))
        .build()
        .unwrap_err();
    assert_eq!(err.to_string(), "`bad`: `start_timeout` must be above zero");
    assert!(matches!(err, LoadError::Tree(_)));
}

#[test]
fn a_file_tree_nests_in_a_tree_made_in_code() {
    let file = toml(FILE).unwrap();
    let spec = Supervisor::builder("root")
        .child(ChildSpec::service("front", Plain::default))
        .child(file)
        .build()
        .unwrap();
    let outline = Outline::of(&spec);
    assert_eq!(outline.children[1].id, "app");
    assert_eq!(
        outline.children[1]
            .supervisor
            .as_ref()
            .unwrap()
            .children
            .len(),
        3
    );
}

#[test]
fn handles_are_typed_and_a_wrong_type_is_a_typed_error() {
    let file = toml(FILE).unwrap();
    assert_eq!(file.handles().names(), ["events", "ingest-eu", "sessions"]);
    assert!(file
        .handle::<Cache<String, serde_json::Value>>("sessions")
        .is_ok());
    assert!(file.handle::<EventBus<serde_json::Value>>("events").is_ok());
    assert!(file.handle::<ServiceRef<Ingest>>("ingest-eu").is_ok());
    assert_eq!(
        file.handle::<Cache<String, String>>("sessions")
            .unwrap_err(),
        LookupError::WrongType {
            name: "sessions".into(),
            requested: std::any::type_name::<Cache<String, String>>(),
            actual: std::any::type_name::<Cache<String, serde_json::Value>>(),
        }
    );
    assert_eq!(
        file.handle::<Cache<String, String>>("nope").unwrap_err(),
        LookupError::NotFound("nope".into())
    );
    let with_fn = types()
        .register_fn("plain", |name, (): ()| Ok(ChildSpec::service(name, Plain::default)))
        .tree_from_str(
            "[supervisor]\nname = \"app\"\n[[child]]\ntype = \"plain\"\nname = \"p\"\nconfig = null\n",
            Format::Toml,
        );
    // TOML has no null: the unit config is refused with a clear message.
    assert!(with_fn.is_err());
    let with_fn = types()
        .register_fn(
            "plain",
            |name, _: std::collections::BTreeMap<String, String>| {
                Ok(ChildSpec::service(name, Plain::default))
            },
        )
        .tree_from_str(
            "[supervisor]\nname = \"app\"\n[[child]]\ntype = \"plain\"\nname = \"p\"\n",
            Format::Toml,
        )
        .unwrap();
    assert_eq!(
        with_fn
            .handle::<ServiceRef<Plain>>("p")
            .unwrap_err()
            .to_string(),
        format!(
            "service `p` is a `ChildSpec without a typed handle`, not a `{}`",
            std::any::type_name::<ServiceRef<Plain>>()
        )
    );
}

#[actix_rt::test]
async fn a_tree_from_a_file_runs_with_code_children_using_its_handles() {
    let file = toml(FILE).unwrap();
    let sessions: Cache<String, serde_json::Value> = file.handle("sessions").unwrap();
    let events: EventBus<serde_json::Value> = file.handle("events").unwrap();
    let ingest: ServiceRef<Ingest> = file.handle("ingest-eu").unwrap();
    let spec = file
        .child(ChildSpec::service("extra", Plain::default))
        .build()
        .unwrap();
    let tree = TestTree::start_spec(spec, TestTree::config())
        .await
        .unwrap();

    sessions
        .set("s-1".into(), serde_json::json!({ "user": "ada" }))
        .unwrap();
    assert_eq!(sessions.get("s-1").unwrap().unwrap()["user"], "ada");
    let mut sub = events.subscribe("orders.*").unwrap();
    events
        .publish("orders.created", serde_json::json!(1))
        .await
        .unwrap();
    assert_eq!(sub.recv().await.unwrap().payload(), &serde_json::json!(1));
    let config = ingest.call(WhatConfig).await.unwrap();
    assert_eq!((config.region.as_str(), config.batch), ("eu", 500));

    let work = tree.runtime().supervisor("work").unwrap();
    let children = work.which_children().await.unwrap();
    assert_eq!(children[0].id, "ingest-eu");
    assert_eq!(children[0].restart, servitor::Restart::Transient);
    assert!(tree.runtime().service::<Plain>("extra").is_ok());
    drop(sub);
    tree.shutdown().await;
}
