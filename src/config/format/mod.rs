//! The file formats a tree is read from.

pub(crate) mod toml;
#[cfg(feature = "yaml")]
pub(crate) mod yaml;

use super::error::LoadError;
use super::value::Node;
use std::sync::Arc;

/// A configuration's format.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Format {
    /// TOML (`.toml`).
    Toml,
    /// YAML (`.yaml`, `.yml`; feature `yaml`).
    #[cfg(feature = "yaml")]
    #[cfg_attr(docsrs, doc(cfg(feature = "yaml")))]
    Yaml,
}

impl Format {
    /// The format a file's extension names.
    pub(crate) fn of(file: &std::path::Path) -> Result<Format, String> {
        match file
            .extension()
            .and_then(|e| e.to_str())
            .map(str::to_ascii_lowercase)
            .as_deref()
        {
            Some("toml") => Ok(Format::Toml),
            #[cfg(feature = "yaml")]
            Some("yaml" | "yml") => Ok(Format::Yaml),
            #[cfg(not(feature = "yaml"))]
            Some("yaml" | "yml") => Err("YAML files need servitor's `yaml` feature".into()),
            _ => Err("unknown format: name the file `.toml`, `.yaml` or `.yml`".into()),
        }
    }

    pub(crate) fn parse(self, text: &str, source: &Arc<str>) -> Result<Node, LoadError> {
        match self {
            Format::Toml => toml::parse(text, source),
            #[cfg(feature = "yaml")]
            Format::Yaml => yaml::parse(text, source),
        }
    }
}
