//! The configuration files shipped in `examples/` load, and say the same.

use crate::common::types_with;
use servitor::config::Outline;

fn example(name: &str) -> std::path::PathBuf {
    std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("examples")
        .join(name)
}

#[test]
fn the_shipped_toml_and_yaml_files_are_the_same_tree() {
    let toml = types_with(&[])
        .tree_from_file(example("servitor.toml"))
        .unwrap();
    let yaml = types_with(&[])
        .tree_from_file(example("servitor.yaml"))
        .unwrap();
    assert_eq!(toml.config(), yaml.config());
    assert_eq!(toml.runtime_config(), yaml.runtime_config());
    assert_eq!(
        Outline::of(&toml.build().unwrap()),
        Outline::of(&yaml.build().unwrap())
    );
}

#[test]
fn the_overrides_its_comments_show_work() {
    let loaded = types_with(&[
        ("SERVITOR__APP__SESSIONS__CAPACITY", "20000"),
        ("SERVITOR__APP__WORK__JOBS__WORKERS", "8"),
        ("SERVITOR__RUNTIME__SHUTDOWN_DEADLINE", "10s"),
    ])
    .tree_from_file(example("servitor.toml"))
    .unwrap();
    let shown = loaded.config().as_json();
    assert_eq!(shown["child"][0]["config"]["capacity"], 20000);
    assert_eq!(shown["child"][2]["child"][0]["config"]["workers"], 8);
    assert_eq!(shown["runtime"]["shutdown_deadline"], "10s");
}
