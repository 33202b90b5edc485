//! A tree loaded from a file: add children in code, take handles, build.

use super::de::Ctx;
use super::error::LoadError;
use super::format::Format;
use super::load::{load, place_build_error, Item, NameInfo, SupNode};
use super::types::{Handles, ServiceTypes};
use crate::handle::LookupError;
use crate::runtime::RuntimeConfig;
use crate::supervisor::{ChildSpec, SupervisorBuilder, SupervisorSpec};
use serde::Serialize;
use std::cell::RefCell;
use std::collections::HashMap;
use std::fmt;
use std::sync::Arc;

impl ServiceTypes {
    /// Loads a tree from a file: TOML for `.toml`, YAML for `.yaml` and
    /// `.yml` (feature `yaml`). Environment overrides are applied, secrets
    /// read, every entry's config deserialized and checked and its spec
    /// made, and the whole tree validated — nothing is started.
    pub fn tree_from_file(&self, file: impl AsRef<std::path::Path>) -> Result<FileTree, LoadError> {
        let file = file.as_ref();
        let shown = file.display().to_string();
        let format = Format::of(file).map_err(|reason| LoadError::Format {
            file: shown.clone(),
            reason,
        })?;
        let text = std::fs::read_to_string(file).map_err(|e| LoadError::Read {
            file: shown.clone(),
            reason: e.to_string(),
        })?;
        self.load(&text, format, Arc::from(shown.as_str()), file.parent())
    }

    /// Loads a tree from a string in `format`; errors name it `<string>`.
    /// Relative `<key>_file` paths start at the working directory.
    pub fn tree_from_str(&self, text: &str, format: Format) -> Result<FileTree, LoadError> {
        self.load(text, format, Arc::from("<string>"), None)
    }

    fn load(
        &self,
        text: &str,
        format: Format,
        source: Arc<str>,
        base_dir: Option<&std::path::Path>,
    ) -> Result<FileTree, LoadError> {
        let mut doc = format.parse(text, &source)?;
        let vars = self.env.snapshot()?;
        self.env.apply(&vars, &mut doc)?;
        let ctx = Ctx {
            vars: &vars,
            base_dir: base_dir.filter(|d| !d.as_os_str().is_empty()),
            secrets: RefCell::new(Vec::new()),
        };
        let loaded = load(&doc, self, &ctx)?;
        let tree = FileTree {
            root: loaded.root,
            names: Arc::new(loaded.names),
            handles: loaded.handles,
            runtime: loaded.runtime,
            shown: ShownConfig(loaded.shown),
            pending: None,
        };
        // The file alone is a valid tree: checked now, before any code adds
        // to it.
        tree.root
            .builder()
            .build()
            .map_err(|e| place_build_error(e, &tree.names))?;
        Ok(tree)
    }
}

/// A supervision tree loaded from a configuration file, before it is
/// built: add children in code, take the typed handles of the services the
/// file made, then [`build`](Self::build) it for
/// [`Runtime::start`](crate::Runtime::start).
///
/// ```
/// # #[cfg(feature = "cache")] {
/// use serde_json::json;
/// use servitor::cache::Cache;
/// use servitor::config::{Environment, Format, ServiceTypes};
/// use servitor::prelude::*;
///
/// # #[derive(Default)] struct Api;
/// # impl Actor for Api { type Context = Context<Self>; }
/// # impl Service for Api {}
/// # #[actix_rt::main] async fn main() -> Result<(), Box<dyn std::error::Error>> {
/// let types = ServiceTypes::new().builtins().environment(Environment::empty());
/// let file = types.tree_from_str(r#"
///     [supervisor]
///     name = "app"
///
///     [[child]]
///     type = "cache"
///     name = "sessions"
///     config = { capacity = 10000, default_ttl = "30m" }
/// "#, Format::Toml)?;
/// let sessions: Cache<String, serde_json::Value> = file.handle("sessions")?;
/// let tree = file.child(ChildSpec::service("api", Api::default)).build()?;
///
/// let app = Runtime::start(tree).await?;
/// sessions.set("s-1".into(), json!({ "user": "ada" }))?;
/// assert!(app.service::<Api>("api").is_ok());
/// app.shutdown().await?;
/// # Ok(()) }
/// # }
/// ```
pub struct FileTree {
    root: SupNode,
    names: Arc<HashMap<String, NameInfo>>,
    handles: Handles,
    runtime: RuntimeConfig,
    shown: ShownConfig,
    pending: Option<LoadError>,
}

impl fmt::Debug for FileTree {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("FileTree")
            .field("name", &self.root.name)
            .field("handles", &self.handles)
            .finish_non_exhaustive()
    }
}

impl FileTree {
    /// The root supervisor's name.
    pub fn name(&self) -> &str {
        &self.root.name
    }

    /// The typed handle of the service `name` made from the file (see
    /// [`Handles`]).
    pub fn handle<H: Clone + 'static>(&self, name: &str) -> Result<H, LookupError> {
        self.handles.get(name)
    }

    /// Every typed handle the file made.
    pub fn handles(&self) -> &Handles {
        &self.handles
    }

    /// The file's `[runtime]` settings (defaults where it has none), for
    /// [`Runtime::start_with`](crate::Runtime::start_with).
    pub fn runtime_config(&self) -> RuntimeConfig {
        self.runtime
    }

    /// The configuration as loaded — after overrides, with every default
    /// filled in — with secrets redacted: safe to print or log.
    pub fn config(&self) -> &ShownConfig {
        &self.shown
    }

    /// Adds a child made in code to the root supervisor, after the file's
    /// children.
    pub fn child(mut self, child: impl Into<ChildSpec>) -> FileTree {
        self.root.items.push(Item::Spec(child.into()));
        self
    }

    /// Adds a child made in code to the supervisor `supervisor` of the
    /// file, after its children. An unknown supervisor is an error of
    /// [`build`](Self::build) ([`LoadError::NoSupervisor`]).
    pub fn child_of(mut self, supervisor: &str, child: impl Into<ChildSpec>) -> FileTree {
        match self.root.find_mut(supervisor) {
            Some(node) => node.items.push(Item::Spec(child.into())),
            None => {
                self.pending.get_or_insert(LoadError::NoSupervisor {
                    name: supervisor.to_string(),
                });
            }
        }
        self
    }

    /// Builds and validates the tree with the children added in code. An
    /// error about the file's nodes names where the file has them.
    pub fn build(self) -> Result<SupervisorSpec, LoadError> {
        if let Some(e) = self.pending {
            return Err(e);
        }
        self.root
            .builder()
            .build()
            .map_err(|e| place_build_error(e, &self.names))
    }

    /// The root supervisor's builder, to nest the file's tree in a tree
    /// made in code (`ChildSpec::from(file_tree)` does the same). Errors
    /// are then the builder's [`BuildError`](crate::BuildError)s.
    pub fn into_builder(self) -> SupervisorBuilder {
        self.root.builder()
    }
}

impl From<FileTree> for ChildSpec {
    fn from(tree: FileTree) -> ChildSpec {
        ChildSpec::supervisor(tree.into_builder())
    }
}

/// A loaded configuration with secrets redacted: every value read through
/// `<key>_env` / `<key>_file`, and every [`Secret`](crate::kit::Secret),
/// shows as `[redacted]`. Durations show as human durations.
///
/// `Display` writes it as TOML (values that are none are left out); it
/// also serializes, and [`as_json`](Self::as_json) gives it as JSON.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(transparent)]
pub struct ShownConfig(serde_json::Value);

impl ShownConfig {
    /// As a JSON value.
    pub fn as_json(&self) -> &serde_json::Value {
        &self.0
    }
}

impl fmt::Display for ShownConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match to_toml(&self.0) {
            Some(toml::Value::Table(table)) => match toml::to_string(&table) {
                Ok(text) => f.write_str(&text),
                Err(_) => write!(f, "{:#}", self.0),
            },
            _ => write!(f, "{:#}", self.0),
        }
    }
}

/// JSON as TOML: nulls left out, integers beyond TOML's range as strings.
fn to_toml(value: &serde_json::Value) -> Option<toml::Value> {
    use serde_json::Value as J;
    Some(match value {
        J::Null => return None,
        J::Bool(b) => toml::Value::Boolean(*b),
        J::Number(n) => match (n.as_i64(), n.as_f64()) {
            (Some(i), _) => toml::Value::Integer(i),
            (None, Some(x)) if n.is_f64() => toml::Value::Float(x),
            _ => toml::Value::String(n.to_string()),
        },
        J::String(s) => toml::Value::String(s.clone()),
        J::Array(items) => toml::Value::Array(items.iter().filter_map(to_toml).collect()),
        J::Object(map) => {
            // The keys a reader looks for first, then the rest in order,
            // nested tables and children last.
            const FIRST: &[&str] = &["supervisor", "runtime", "type", "name"];
            const LAST: &[&str] = &["config", "child"];
            let rank = |k: &str| match (
                FIRST.iter().position(|f| *f == k),
                LAST.iter().position(|l| *l == k),
            ) {
                (Some(i), _) => i,
                (None, Some(i)) => FIRST.len() + 1 + i,
                (None, None) => FIRST.len(),
            };
            let mut keys: Vec<&String> = map.keys().collect();
            keys.sort_by_key(|k| rank(k));
            toml::Value::Table(
                keys.into_iter()
                    .filter_map(|k| to_toml(&map[k]).map(|v| (k.clone(), v)))
                    .collect(),
            )
        }
    })
}
