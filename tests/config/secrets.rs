//! Secrets come from the environment or a file, never need to be in the
//! file, and never show: not in the printed configuration, not in errors,
//! not in `Debug`.

use crate::common::{types, types_with, Ingest, TempDir, WhatConfig};
use servitor::config::{Environment, Format, LoadError};
use servitor::prelude::*;
use servitor::testing::TestTree;

const FILE: &str =
    "[supervisor]\nname = \"app\"\n[[child]]\ntype = \"ingest\"\nname = \"ingest\"\n";

#[actix_rt::test]
async fn key_env_reads_the_value_from_the_environment_and_it_never_shows() {
    let text = format!(
        "{FILE}config = {{ region = \"eu\", password_env = \"INGEST_PASSWORD\", label_env = \"INGEST_LABEL\" }}\n"
    );
    let loaded = types_with(&[
        ("INGEST_PASSWORD", "hunter2"),
        ("INGEST_LABEL", "plain-but-secret"),
    ])
    .tree_from_str(&text, Format::Toml)
    .unwrap();
    let printed = format!(
        "{} {} {loaded:?}",
        loaded.config(),
        loaded.config().as_json()
    );
    assert!(!printed.contains("hunter2"), "{printed}");
    // A value read from a secret source is redacted even in a plain string field.
    assert!(!printed.contains("plain-but-secret"), "{printed}");
    assert_eq!(
        loaded.config().as_json()["child"][0]["config"]["password"],
        "[redacted]"
    );
    assert_eq!(
        loaded.config().as_json()["child"][0]["config"]["label"],
        "[redacted]"
    );

    // The service itself got the values.
    let handle: ServiceRef<Ingest> = loaded.handle("ingest").unwrap();
    let tree = TestTree::start_spec(loaded.build().unwrap(), TestTree::config())
        .await
        .unwrap();
    let config = handle.call(WhatConfig).await.unwrap();
    assert_eq!(config.password.unwrap().expose(), "hunter2");
    assert_eq!(config.label.as_deref(), Some("plain-but-secret"));
    tree.shutdown().await;
}

#[test]
fn key_file_reads_the_value_from_a_file_next_to_the_configuration() {
    let dir = TempDir::new("secrets");
    dir.write("ingest.password", "s3cr3t\n");
    let file = dir.write(
        "servitor.toml",
        &format!("{FILE}config = {{ region = \"eu\", password_file = \"ingest.password\" }}\n"),
    );
    let loaded = types().tree_from_file(&file).unwrap();
    assert_eq!(
        loaded.config().as_json()["child"][0]["config"]["password"],
        "[redacted]"
    );
    assert!(!loaded.config().to_string().contains("s3cr3t"));
}

#[test]
fn a_missing_secret_is_an_error_naming_where_it_should_be() {
    let text =
        format!("{FILE}config = {{ region = \"eu\", password_env = \"INGEST_PASSWORD\" }}\n");
    let err = types().tree_from_str(&text, Format::Toml).unwrap_err();
    assert!(matches!(err, LoadError::Secret { .. }));
    assert_eq!(
        err.to_string(),
        "<string>:6:42: app.child[0].config.password_env: the environment variable \
         `INGEST_PASSWORD` is not set"
    );
    let text =
        format!("{FILE}config = {{ region = \"eu\", password_file = \"/nonexistent/pw\" }}\n");
    let err = types()
        .tree_from_str(&text, Format::Toml)
        .unwrap_err()
        .to_string();
    assert!(
        err.starts_with(
            "<string>:6:43: app.child[0].config.password_file: cannot read the file `/nonexistent/pw`: "
        ),
        "{err}"
    );
    let text = format!(
        "{FILE}config = {{ region = \"eu\", password = \"x\", password_env = \"INGEST_PASSWORD\" }}\n"
    );
    assert_eq!(
        types()
            .tree_from_str(&text, Format::Toml)
            .unwrap_err()
            .to_string(),
        "<string>:6:58: app.child[0].config.password_env: both `password` and `password_env` \
         are given; keep one"
    );
    let text = format!("{FILE}config = {{ region = \"eu\", password_env = 5 }}\n");
    assert_eq!(
        types()
            .tree_from_str(&text, Format::Toml)
            .unwrap_err()
            .to_string(),
        "<string>:6:42: app.child[0].config.password_env: expected a string naming an \
         environment variable, found 5"
    );
}

#[test]
fn a_secret_of_the_process_environment_is_read_when_loading() {
    // PATH is set in any process; read it as a secret without setting anything.
    let Ok(path) = std::env::var("PATH") else {
        return;
    };
    let text = format!("{FILE}config = {{ region = \"eu\", label_env = \"PATH\" }}\n");
    let loaded = types()
        .environment(Environment::process())
        .tree_from_str(&text, Format::Toml)
        .unwrap();
    assert!(!loaded.config().to_string().contains(&path));
}

#[test]
fn a_field_named_like_a_secret_source_is_read_as_itself() {
    // `region_env` is not a field and `region` is: an indirection. A key
    // ending in `_env` that the type has is its own value.
    #[derive(serde::Serialize, serde::Deserialize)]
    #[serde(deny_unknown_fields)]
    struct C {
        log_file: String,
    }
    let loaded = types()
        .register_fn("logger", |name, c: C| {
            assert_eq!(c.log_file, "/var/log/x");
            Ok(ChildSpec::service(name, crate::common::Plain::default))
        })
        .tree_from_str(
            "[supervisor]\nname = \"app\"\n[[child]]\ntype = \"logger\"\nname = \"l\"\nconfig = { log_file = \"/var/log/x\" }\n",
            Format::Toml,
        )
        .unwrap();
    assert_eq!(
        loaded.config().as_json()["child"][0]["config"]["log_file"],
        "/var/log/x"
    );
}

#[cfg(feature = "github")]
#[test]
fn the_github_token_comes_from_token_env() {
    let loaded = types_with(&[("GITHUB_TOKEN", "ghp_abcdef")])
        .tree_from_str(
            "[supervisor]\nname = \"app\"\n[[child]]\ntype = \"github\"\nname = \"github\"\nconfig = { token_env = \"GITHUB_TOKEN\" }\n",
            Format::Toml,
        )
        .unwrap();
    let printed = format!("{} {loaded:?}", loaded.config());
    assert!(!printed.contains("ghp_abcdef"), "{printed}");
    assert!(printed.contains("token = \"[redacted]\""), "{printed}");
    let _github: servitor::github::GitHub = loaded.handle("github").unwrap();
}

#[cfg(feature = "db")]
#[test]
fn a_database_url_comes_from_url_env_and_its_password_never_shows() {
    let loaded = types_with(&[("ORDERS_DB", "sqlite::memory:?password=pw123")])
        .tree_from_str(
            "[supervisor]\nname = \"app\"\n[[child]]\ntype = \"db\"\nname = \"orders\"\nconfig = { url_env = \"ORDERS_DB\" }\n",
            Format::Toml,
        );
    match loaded {
        Ok(loaded) => assert!(!format!("{} {loaded:?}", loaded.config()).contains("pw123")),
        Err(e) => assert!(!e.to_string().contains("pw123"), "{e}"),
    }
}
