//! The type registry: what a child's `type` names, how its `config` is
//! read, and how its spec (and handle) is made.

use super::de::{from_node, Ctx};
use super::env::Environment;
use super::error::LoadError;
use super::value::{Node, Path};
use crate::handle::{LookupError, ServiceRef};
use crate::kit::ConfigError;
use crate::service::Service;
use crate::supervisor::ChildSpec;
use serde::de::DeserializeOwned;
use serde::Serialize;
use std::any::Any;
use std::collections::{BTreeMap, HashMap};
use std::fmt;
use std::sync::Arc;

/// A service that can be made from a configuration file: its config type,
/// and how an instance is made from it. Register it with one line,
/// [`ServiceTypes::register`].
///
/// ```
/// use serde::{Deserialize, Serialize};
/// use servitor::config::FromConfig;
/// use servitor::kit::ConfigError;
/// use servitor::prelude::*;
///
/// #[derive(Debug, Clone, Serialize, Deserialize)]
/// #[serde(deny_unknown_fields)]
/// struct IngestConfig { region: String, #[serde(default = "default_batch")] batch: u32 }
/// fn default_batch() -> u32 { 100 }
///
/// struct Ingest { region: String, batch: u32 }
/// impl Actor for Ingest { type Context = Context<Self>; }
/// impl Service for Ingest {}
///
/// impl FromConfig for Ingest {
///     type Config = IngestConfig;
///     fn validate(name: &str, config: &IngestConfig) -> Result<(), ConfigError> {
///         if config.batch == 0 {
///             return Err(ConfigError::field(name, "batch", "must be at least 1"));
///         }
///         Ok(())
///     }
///     fn from_config(config: &IngestConfig) -> Self {
///         Ingest { region: config.region.clone(), batch: config.batch }
///     }
/// }
/// ```
pub trait FromConfig: Service {
    /// The `config` table of its entries in a file. Unknown keys should be
    /// errors (`#[serde(deny_unknown_fields)]`); keys left out take their
    /// defaults with `#[serde(default)]`. It is serialized to show the
    /// loaded configuration: hold secrets as [`Secret`](crate::kit::Secret).
    type Config: DeserializeOwned + Serialize + Send + Sync + 'static;

    /// Checks a configuration once, when the tree is loaded, before
    /// anything starts: an error names the field. Default: every value the
    /// type accepts is valid.
    fn validate(name: &str, config: &Self::Config) -> Result<(), ConfigError> {
        let _ = (name, config);
        Ok(())
    }

    /// A fresh instance, at every start and restart.
    fn from_config(config: &Self::Config) -> Self;
}

/// A typed handle stored by name.
#[derive(Clone)]
pub(crate) struct StoredHandle {
    pub value: Arc<dyn Any + Send + Sync>,
    pub type_name: &'static str,
}

impl StoredHandle {
    pub fn new<H: Clone + Send + Sync + 'static>(handle: H) -> StoredHandle {
        StoredHandle {
            value: Arc::new(handle),
            type_name: std::any::type_name::<H>(),
        }
    }
}

/// What a factory made from one entry.
pub(crate) struct Made {
    pub spec: ChildSpec,
    pub handle: Option<StoredHandle>,
    /// The typed config as it is shown (serialized; secrets redacted later).
    pub shown: serde_json::Value,
}

/// Why a factory failed: its config did not deserialize, or the service
/// refused it.
pub(crate) enum MakeError {
    Load(LoadError),
    Config(ConfigError),
}

/// A factory: the entry's name, its `config` node and where it is, the
/// loading context, and the handles of the entries made before it (for a
/// service that joins another, like a NATS bridge its bus).
pub(crate) type MakeFn =
    dyn Fn(&str, &Node, &Path, &Ctx<'_>, &Handles) -> Result<Made, MakeError> + Send + Sync;

/// The services a configuration file can name, by their `type`, and the
/// environment it is loaded with.
///
/// Each entry maps a type name to a factory and its serde config type.
/// [`builtins`](Self::builtins) registers the built-in services compiled
/// in with one call; a service of your own is one line —
/// [`register`](Self::register) for a [`FromConfig`] service,
/// [`register_fn`](Self::register_fn) or
/// [`register_service`](Self::register_service) for anything a function
/// makes (a routine, a ticker, a kit service with a handle). Registering a
/// name again replaces the earlier entry, so a built-in can be given other
/// key or payload types.
///
/// | type | made with | handle |
/// | --- | --- | --- |
/// | `cache` | [`Cache::service`](crate::cache::Cache::service), [`CacheConfig`](crate::cache::CacheConfig) | `Cache<String, serde_json::Value>` |
/// | `bus` | [`EventBus::service`](crate::bus::EventBus::service), [`BusConfig`](crate::bus::BusConfig) | `EventBus<serde_json::Value>` |
/// | `tasks` | [`Tasks::service`](crate::tasks::Tasks::service), [`TasksConfig`](crate::tasks::TasksConfig) | `Tasks` |
/// | `scheduler` | [`Scheduler::service`](crate::scheduler::Scheduler::service), [`SchedulerConfig`](crate::scheduler::SchedulerConfig) | `Scheduler` |
/// | `db` | [`Db::service`](crate::db::Db::service), [`DbConfig`](crate::db::DbConfig) | `Db<Sqlite>`, or `Db<Postgres>` for a `postgres://` URL |
/// | `github` | [`GitHub::service`](crate::github::GitHub::service), [`GitHubConfig`](crate::github::GitHubConfig) | `GitHub` |
/// | `http` | [`Http::service`](crate::http::Http::service), [`HttpConfig`](crate::http::HttpConfig) | `Http` |
/// | `nats` | [`Bridge::service`](crate::nats::Bridge::service), [`NatsConfig`](crate::nats::NatsConfig) plus `bus` (the name of an earlier `bus` entry, default `events`) | `Bridge<serde_json::Value>` |
///
/// (Each needs its cargo feature; `supervisor` is reserved for nested
/// supervisors.)
///
/// ```
/// # #[cfg(all(feature = "cache", feature = "bus", feature = "tasks", feature = "scheduler"))] {
/// use servitor::config::ServiceTypes;
///
/// let types = ServiceTypes::new().builtins();
/// assert!(types.names().contains(&"cache"));
/// # }
/// ```
#[derive(Clone)]
pub struct ServiceTypes {
    factories: BTreeMap<String, Arc<MakeFn>>,
    pub(crate) env: Environment,
}

impl Default for ServiceTypes {
    fn default() -> Self {
        ServiceTypes::new()
    }
}

impl fmt::Debug for ServiceTypes {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ServiceTypes")
            .field("types", &self.names())
            .field("env", &self.env)
            .finish()
    }
}

impl ServiceTypes {
    /// No types registered, the process's environment.
    pub fn new() -> ServiceTypes {
        ServiceTypes {
            factories: BTreeMap::new(),
            env: Environment::process(),
        }
    }

    /// The registered type names, sorted.
    pub fn names(&self) -> Vec<&str> {
        self.factories.keys().map(String::as_str).collect()
    }

    /// Whether `type_name` is registered.
    pub fn contains(&self, type_name: &str) -> bool {
        self.factories.contains_key(type_name)
    }

    /// Loads with this environment (overrides and `<key>_env` secrets).
    /// Default [`Environment::process`].
    pub fn environment(mut self, env: Environment) -> ServiceTypes {
        self.env = env;
        self
    }

    /// Registers a [`FromConfig`] service as `type_name`. Its handle is a
    /// [`ServiceRef<S>`], usable before the tree starts.
    ///
    /// # Panics
    ///
    /// If `type_name` is empty or `supervisor` (reserved).
    pub fn register<S: FromConfig>(self, type_name: &str) -> ServiceTypes {
        self.register_service(type_name, |name: &str, config: S::Config| {
            S::validate(name, &config)?;
            let config = Arc::new(config);
            let (spec, handle): (ChildSpec, ServiceRef<S>) =
                ChildSpec::service_with_handle(name, move || S::from_config(&config));
            Ok((spec, handle))
        })
    }

    /// Registers a function that makes the child spec of an entry from its
    /// name and config (a routine, a ticker, a service with arguments). The
    /// entry has no typed handle; reach a service through the runtime
    /// ([`Runtime::service`](crate::Runtime::service)).
    ///
    /// ```
    /// use servitor::config::ServiceTypes;
    /// use servitor::prelude::*;
    /// use servitor::TickerConfig;
    ///
    /// struct Poll;
    /// impl Ticker for Poll {
    ///     type Error = String;
    ///     async fn tick(&mut self, _: &ServiceContext) -> Result<(), String> { Ok(()) }
    /// }
    ///
    /// let types = ServiceTypes::new()
    ///     .register_fn("poll", |name, config: TickerConfig| ChildSpec::ticker(name, config, || Poll));
    /// # let _ = types;
    /// ```
    ///
    /// # Panics
    ///
    /// If `type_name` is empty or `supervisor` (reserved).
    pub fn register_fn<C, F>(self, type_name: &str, make: F) -> ServiceTypes
    where
        C: DeserializeOwned + Serialize + 'static,
        F: Fn(&str, C) -> Result<ChildSpec, ConfigError> + Send + Sync + 'static,
    {
        self.insert::<C>(type_name, move |name, config| {
            make(name, config).map(|spec| (spec, None))
        })
    }

    /// Registers a function that makes the child spec of an entry and a
    /// typed handle to it, as the built-in services' `service` functions
    /// do. The loaded tree hands the handle out by name
    /// ([`FileTree::handle`](super::FileTree::handle)).
    ///
    /// ```
    /// # #[cfg(feature = "cache")] {
    /// use servitor::cache::{Cache, CacheConfig};
    /// use servitor::config::ServiceTypes;
    ///
    /// // Every `type = "session-cache"` entry is a Cache<String, Vec<u8>>.
    /// let types = ServiceTypes::new()
    ///     .register_service("session-cache", |name, config: CacheConfig| {
    ///         Cache::<String, Vec<u8>>::service(name, config)
    ///     });
    /// # let _ = types;
    /// # }
    /// ```
    ///
    /// # Panics
    ///
    /// If `type_name` is empty or `supervisor` (reserved).
    pub fn register_service<C, H, F>(self, type_name: &str, make: F) -> ServiceTypes
    where
        C: DeserializeOwned + Serialize + 'static,
        H: Clone + Send + Sync + 'static,
        F: Fn(&str, C) -> Result<(ChildSpec, H), ConfigError> + Send + Sync + 'static,
    {
        self.insert::<C>(type_name, move |name, config| {
            make(name, config).map(|(spec, handle)| (spec, Some(StoredHandle::new(handle))))
        })
    }

    /// Registers a factory whose handle type is chosen per entry (the `db`
    /// type's backend follows its URL).
    pub(crate) fn insert<C>(
        mut self,
        type_name: &str,
        make: impl Fn(&str, C) -> Result<(ChildSpec, Option<StoredHandle>), ConfigError>
            + Send
            + Sync
            + 'static,
    ) -> ServiceTypes
    where
        C: DeserializeOwned + Serialize + 'static,
    {
        assert!(
            !type_name.is_empty() && type_name != "supervisor",
            "a service type name must not be empty or `supervisor` (given {type_name:?})"
        );
        let make = move |name: &str,
                         node: &Node,
                         path: &Path,
                         ctx: &Ctx<'_>,
                         _made_before: &Handles|
              -> Result<Made, MakeError> {
            let config: C = from_node(node, path, ctx).map_err(MakeError::Load)?;
            let shown = serde_json::to_value(&config)
                .unwrap_or_else(|e| serde_json::Value::String(format!("<cannot be shown: {e}>")));
            let (spec, handle) = make(name, config).map_err(MakeError::Config)?;
            Ok(Made {
                spec,
                handle,
                shown,
            })
        };
        self.factories.insert(type_name.to_string(), Arc::new(make));
        self
    }

    /// Registers a factory that reads its node itself and sees the handles
    /// made before it.
    #[cfg(feature = "nats")]
    pub(crate) fn insert_linked(
        mut self,
        type_name: &str,
        make: impl Fn(&str, &Node, &Path, &Ctx<'_>, &Handles) -> Result<Made, MakeError>
            + Send
            + Sync
            + 'static,
    ) -> ServiceTypes {
        self.factories.insert(type_name.to_string(), Arc::new(make));
        self
    }

    pub(crate) fn factory(&self, type_name: &str) -> Option<&Arc<MakeFn>> {
        self.factories.get(type_name)
    }
}

/// The typed handles of the services a file made, by name.
///
/// A built-in service's handle is its usual handle (`Cache<String,
/// serde_json::Value>`, `Tasks` …), a [`FromConfig`] service's is a
/// [`ServiceRef`]; asking for another type, or for a service made by a
/// [`register_fn`](ServiceTypes::register_fn) factory, is a
/// [`LookupError::WrongType`] naming both types.
#[derive(Clone, Default)]
pub struct Handles {
    entries: HashMap<String, Option<StoredHandle>>,
}

impl fmt::Debug for Handles {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut names: Vec<(&String, &str)> = self
            .entries
            .iter()
            .map(|(k, v)| (k, v.as_ref().map_or("no handle", |h| h.type_name)))
            .collect();
        names.sort();
        f.debug_map().entries(names).finish()
    }
}

impl Handles {
    pub(crate) fn insert(&mut self, name: &str, handle: Option<StoredHandle>) {
        self.entries.insert(name.to_string(), handle);
    }

    /// The handle of the service `name`, as type `H`.
    pub fn get<H: Clone + 'static>(&self, name: &str) -> Result<H, LookupError> {
        let entry = self
            .entries
            .get(name)
            .ok_or_else(|| LookupError::NotFound(name.to_string()))?;
        let wrong = |actual| LookupError::WrongType {
            name: name.to_string(),
            requested: std::any::type_name::<H>(),
            actual,
        };
        let stored = entry
            .as_ref()
            .ok_or_else(|| wrong("ChildSpec without a typed handle"))?;
        stored
            .value
            .downcast_ref::<H>()
            .cloned()
            .ok_or_else(|| wrong(stored.type_name))
    }

    /// The names of the services made from the file, sorted.
    pub fn names(&self) -> Vec<&str> {
        let mut names: Vec<&str> = self.entries.keys().map(String::as_str).collect();
        names.sort_unstable();
        names
    }
}
