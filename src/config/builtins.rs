//! The built-in services as configuration file types.
//!
//! A file-configured built-in is declared by an operator, not by the code
//! that uses it, so its key and payload types are fixed here: a `cache` is
//! a `Cache<String, serde_json::Value>` and a `bus` an
//! `EventBus<serde_json::Value>` — string keys and JSON values are what
//! any application can agree on without knowing the file, and any serde
//! type converts to and from them. For other types, register the service
//! under a name of your own with
//! [`register_service`](ServiceTypes::register_service) (or again as
//! `cache`, which replaces the built-in entry).

use super::types::ServiceTypes;
#[cfg(any(feature = "db", feature = "nats"))]
use super::types::StoredHandle;

impl ServiceTypes {
    /// Registers every built-in service compiled in (see the table on
    /// [`ServiceTypes`]): `cache`, `bus`, `tasks`, `scheduler`, `db`,
    /// `github`, `http`, `nats`, each with its cargo feature.
    pub fn builtins(self) -> ServiceTypes {
        let types = self;
        #[cfg(feature = "cache")]
        let types = types.register_service("cache", |name, config: crate::cache::CacheConfig| {
            crate::cache::Cache::<String, serde_json::Value>::service(name, config)
        });
        #[cfg(feature = "bus")]
        let types = types.register_service("bus", |name, config: crate::bus::BusConfig| {
            crate::bus::EventBus::<serde_json::Value>::service(name, config)
        });
        #[cfg(feature = "tasks")]
        let types = types.register_service("tasks", |name, config: crate::tasks::TasksConfig| {
            crate::tasks::Tasks::service(name, config)
        });
        #[cfg(feature = "scheduler")]
        let types = types.register_service(
            "scheduler",
            |name, config: crate::scheduler::SchedulerConfig| {
                crate::scheduler::Scheduler::service(name, config)
            },
        );
        #[cfg(feature = "db")]
        let types = types.insert::<crate::db::DbConfig>("db", db);
        #[cfg(feature = "github")]
        let types =
            types.register_service("github", |name, config: crate::github::GitHubConfig| {
                crate::github::GitHub::service(name, config)
            });
        #[cfg(feature = "http")]
        let types = types.register_service("http", |name, config: crate::http::HttpConfig| {
            crate::http::Http::service(name, config)
        });
        #[cfg(feature = "nats")]
        let types = types.insert_linked("nats", nats);
        types
    }
}

/// A NATS bridge: its config is a [`NatsConfig`](crate::nats::NatsConfig)
/// plus `bus`, the name of the `bus` entry it joins (default `events`),
/// which must come before it in the file.
#[cfg(feature = "nats")]
fn nats(
    name: &str,
    node: &super::value::Node,
    path: &super::value::Path,
    ctx: &super::de::Ctx<'_>,
    made_before: &super::types::Handles,
) -> Result<super::types::Made, super::types::MakeError> {
    use super::types::{Made, MakeError};
    use super::value::{Node, Value};
    let bus_name = match node.get("bus") {
        None => "events".to_string(),
        Some(n) => n
            .as_str()
            .ok_or_else(|| {
                MakeError::Config(crate::kit::ConfigError::field(
                    name,
                    "bus",
                    "must be the name of a `bus` entry",
                ))
            })?
            .to_string(),
    };
    let rest: Vec<_> = node
        .entries()
        .unwrap_or_default()
        .iter()
        .filter(|e| e.key != "bus")
        .cloned()
        .collect();
    let rest = Node::new(Value::Map(rest), node.at.clone());
    let config: crate::nats::NatsConfig =
        super::de::from_node(&rest, path, ctx).map_err(MakeError::Load)?;
    let bus: crate::bus::EventBus<serde_json::Value> = made_before.get(&bus_name).map_err(|e| {
        MakeError::Config(crate::kit::ConfigError::field(
            name,
            "bus",
            format!("names no `bus` entry before this one ({e})"),
        ))
    })?;
    let mut shown = serde_json::to_value(&config).unwrap_or(serde_json::Value::Null);
    shown["bus"] = serde_json::Value::String(bus_name);
    let (spec, bridge) =
        crate::nats::Bridge::service(name, config, &bus).map_err(MakeError::Config)?;
    Ok(Made {
        spec,
        handle: Some(StoredHandle::new(bridge)),
        shown,
    })
}

/// A database service whose backend follows its URL: `postgres://` (or
/// `postgresql://`) is a `Db<Postgres>`, anything else a `Db<Sqlite>`
/// (whose constructor refuses what SQLite cannot open).
#[cfg(feature = "db")]
fn db(
    name: &str,
    config: crate::db::DbConfig,
) -> Result<(crate::supervisor::ChildSpec, Option<StoredHandle>), crate::kit::ConfigError> {
    let url = config.url.expose();
    if url.starts_with("postgres:") || url.starts_with("postgresql:") {
        #[cfg(feature = "postgres")]
        {
            let (spec, db) = crate::db::Db::<crate::db::Postgres>::service(name, config)?;
            return Ok((spec, Some(StoredHandle::new(db))));
        }
        #[cfg(not(feature = "postgres"))]
        return Err(crate::kit::ConfigError::field(
            name,
            "url",
            "is a PostgreSQL URL, which needs servitor's `postgres` feature",
        ));
    }
    let (spec, db) = crate::db::Db::<crate::db::Sqlite>::service(name, config)?;
    Ok((spec, Some(StoredHandle::new(db))))
}
