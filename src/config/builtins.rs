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
#[cfg(feature = "db")]
use super::types::StoredHandle;

impl ServiceTypes {
    /// Registers every built-in service compiled in (see the table on
    /// [`ServiceTypes`]): `cache`, `bus`, `tasks`, `scheduler`, `db`,
    /// `github`, `http`, each with its cargo feature.
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
        types
    }
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
