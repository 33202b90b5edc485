//! A service type of the suite's own, and loading helpers.

use serde::{Deserialize, Serialize};
use servitor::config::{Environment, FileTree, Format, FromConfig, LoadError, ServiceTypes};
use servitor::kit::{ConfigError, Secret};
use servitor::prelude::*;

/// The config of `ingest` entries.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct IngestConfig {
    pub region: String,
    #[serde(default = "default_batch")]
    pub batch: u32,
    #[serde(default)]
    pub password: Option<Secret>,
    #[serde(default)]
    pub label: Option<String>,
}

fn default_batch() -> u32 {
    100
}

/// A service made from a file: it answers with its config.
pub struct Ingest {
    pub config: IngestConfig,
}

impl Actor for Ingest {
    type Context = Context<Self>;
}

impl Service for Ingest {}

impl FromConfig for Ingest {
    type Config = IngestConfig;

    fn validate(name: &str, config: &IngestConfig) -> Result<(), ConfigError> {
        if config.batch == 0 {
            return Err(ConfigError::field(name, "batch", "must be at least 1"));
        }
        Ok(())
    }

    fn from_config(config: &IngestConfig) -> Self {
        Ingest {
            config: config.clone(),
        }
    }
}

/// Asks an `Ingest` for its config.
#[derive(Message)]
#[rtype(result = "IngestConfig")]
pub struct WhatConfig;

impl Handler<WhatConfig> for Ingest {
    type Result = MessageResult<WhatConfig>;
    fn handle(&mut self, _: WhatConfig, _: &mut Context<Self>) -> Self::Result {
        MessageResult(self.config.clone())
    }
}

/// A plain service for trees made in code.
#[derive(Default)]
pub struct Plain;

impl Actor for Plain {
    type Context = Context<Self>;
}

impl Service for Plain {}

/// The built-ins and `ingest`, with no environment at all.
pub fn types() -> ServiceTypes {
    ServiceTypes::new()
        .builtins()
        .register::<Ingest>("ingest")
        .environment(Environment::empty())
}

/// The same, with these variables.
pub fn types_with(vars: &[(&str, &str)]) -> ServiceTypes {
    types().environment(Environment::from_vars(vars.iter().copied()))
}

pub fn toml(text: &str) -> Result<FileTree, LoadError> {
    types().tree_from_str(text, Format::Toml)
}

pub fn yaml(text: &str) -> Result<FileTree, LoadError> {
    types().tree_from_str(text, Format::Yaml)
}

/// The message of loading `text` (TOML), which must fail.
pub fn toml_err(text: &str) -> String {
    toml(text)
        .expect_err("the file must be refused")
        .to_string()
}

/// The message of loading `text` (YAML), which must fail.
pub fn yaml_err(text: &str) -> String {
    yaml(text)
        .expect_err("the file must be refused")
        .to_string()
}

/// A file of its own in a fresh directory, removed when dropped.
pub struct TempDir(pub std::path::PathBuf);

impl TempDir {
    pub fn new(tag: &str) -> TempDir {
        let dir = std::env::temp_dir().join(format!(
            "servitor-config-{tag}-{}-{}",
            std::process::id(),
            fastrand_suffix()
        ));
        std::fs::create_dir_all(&dir).unwrap();
        TempDir(dir)
    }

    pub fn write(&self, name: &str, text: &str) -> std::path::PathBuf {
        let path = self.0.join(name);
        std::fs::write(&path, text).unwrap();
        path
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

fn fastrand_suffix() -> u64 {
    use std::sync::atomic::{AtomicU64, Ordering};
    static N: AtomicU64 = AtomicU64::new(0);
    N.fetch_add(1, Ordering::Relaxed)
}
