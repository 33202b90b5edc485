//! Trees and services from configuration files, with environment
//! overrides.
//!
//! Supervision trees are made in code; the deployment-specific part —
//! which services run, their names, restart policies, intervals, pool
//! sizes, URLs — can come from a TOML or YAML file that operators edit
//! without recompiling. A [`ServiceTypes`] registry maps each entry's
//! `type` to a factory and its serde config type; loading a file makes the
//! same [`ChildSpec`](crate::ChildSpec)s and supervisors the code would,
//! with the same checks, and code can add to the tree before it is built.
//!
//! ```
//! # #[cfg(all(feature = "cache", feature = "tasks"))] {
//! use serde::{Deserialize, Serialize};
//! use servitor::config::{Environment, Format, FromConfig, ServiceTypes};
//! use servitor::prelude::*;
//!
//! #[derive(Serialize, Deserialize)]
//! #[serde(deny_unknown_fields)]
//! struct IngestConfig { region: String, batch: u32 }
//!
//! struct Ingest { region: String }
//! impl Actor for Ingest { type Context = Context<Self>; }
//! impl Service for Ingest {}
//! impl FromConfig for Ingest {
//!     type Config = IngestConfig;
//!     fn from_config(c: &IngestConfig) -> Self { Ingest { region: c.region.clone() } }
//! }
//!
//! # #[actix_rt::main] async fn main() -> Result<(), Box<dyn std::error::Error>> {
//! let types = ServiceTypes::new()
//!     .register::<Ingest>("ingest")     // one line per service type
//!     .builtins()                       // cache, bus, tasks, scheduler, db, github
//!     .environment(Environment::from_vars([("SERVITOR__APP__SESSIONS__CAPACITY", "20000")]));
//! let file = types.tree_from_str(r#"
//!     [supervisor]
//!     name = "app"
//!     strategy = "one_for_one"
//!     intensity = { max_restarts = 3, period = "5s" }
//!
//!     [[child]]
//!     type = "ingest"
//!     name = "ingest-eu"
//!     restart = "transient"
//!     config = { region = "eu", batch = 500 }
//!
//!     [[child]]
//!     type = "cache"
//!     name = "sessions"
//!     config = { capacity = 10000, default_ttl = "30m" }
//! "#, Format::Toml)?;
//!
//! let sessions: servitor::cache::Cache<String, serde_json::Value> = file.handle("sessions")?;
//! assert_eq!(sessions.config().capacity, 20_000); // the environment won
//! let (tasks_spec, _tasks) = servitor::tasks::Tasks::service("jobs", Default::default())?;
//! let tree = file.child(tasks_spec).build()?;      // file and code combine
//!
//! let app = Runtime::start(tree).await?;
//! assert!(app.service::<Ingest>("ingest-eu").is_ok());
//! app.shutdown().await?;
//! # Ok(()) }
//! # }
//! ```
//!
//! # The file
//!
//! ```toml
//! [supervisor]                  # the root supervisor
//! name = "app"
//! strategy = "one_for_one"      # one_for_one | one_for_all | rest_for_one
//! intensity = { max_restarts = 3, period = "5s" }
//! backoff = { initial = "100ms", max = "5s", factor = 2.0, jitter = 0.1 }
//! backoff_reset = "10s"
//! auto_shutdown = "never"       # never | any_significant | all_significant
//! health_interval = "30s"
//! placement = "inherit"         # inherit | runtime | pool | dedicated | { named = "io" }
//!
//! [runtime]                     # optional: FileTree::runtime_config()
//! shutdown_deadline = "30s"
//!
//! [[child]]                     # a service
//! type = "cache"                # a registered type
//! name = "sessions"             # unique in the tree
//! restart = "permanent"         # permanent | transient | temporary
//! shutdown = "5s"               # a timeout, "kill" or "infinity"
//! start_timeout = "30s"
//! significant = false
//! placement = "pool"
//! config = { capacity = 10000, default_ttl = "30m" }   # the type's config
//!
//! [[child]]                     # a nested supervisor
//! type = "supervisor"
//! name = "workers"
//! strategy = "rest_for_one"     # every supervisor option, and
//! restart = "permanent"         # the child options but placement
//!
//! [[child.child]]               # its children, in turn
//! type = "tasks"
//! name = "jobs"
//! ```
//!
//! Every key is optional but `[supervisor]`'s `name` and a child's `type`
//! and `name`; what is left out has the default it has in code. The
//! children can also be under `[supervisor]` (`[[supervisor.child]]`), and
//! `children` is a synonym of `child` (it reads better in YAML:
//! `children:` with a list). A YAML file has the same layout
//! (`examples/servitor.yaml`).
//!
//! **Durations** are human durations — `"250ms"`, `"5s"`, `"30m"`,
//! `"1h 30m"` — or integers of milliseconds; an optional one also takes
//! `"none"`. **Sizes** (a cache's `max_weight`) take `"64 MiB"` or an
//! integer. Both are written back as strings in that syntax.
//!
//! # Types
//!
//! A child's `type` is looked up in the [`ServiceTypes`]; its `config` table
//! is deserialized into the type's config type, and the factory makes the
//! spec — the same `X::service(name, config)` call code makes, with the
//! same validation. A built-in's keys and payloads are fixed (see
//! [`ServiceTypes`]): a `cache` is a `Cache<String, serde_json::Value>`, a
//! `bus` an `EventBus<serde_json::Value>`; register your own type name for
//! others. The [`FileTree`] hands out each service's typed handle by name
//! ([`FileTree::handle`]): a wrong type is a
//! [`LookupError::WrongType`](crate::LookupError) naming both types, before
//! anything runs.
//!
//! # Environment overrides
//!
//! A variable `SERVITOR__<PATH>` sets one setting over what the file says
//! (the prefix is [`Environment::prefix`]); the path is made of names in
//! upper case, `-` and `.` written as `_`, separated by `__`:
//!
//! | variable | sets |
//! | --- | --- |
//! | `SERVITOR__APP__STRATEGY=one_for_all` | the root supervisor `app`'s `strategy` |
//! | `SERVITOR__APP__INTENSITY__MAX_RESTARTS=10` | its `intensity.max_restarts` |
//! | `SERVITOR__APP__SESSIONS__CAPACITY=20000` | the child `sessions`'s `config.capacity` |
//! | `SERVITOR__APP__SESSIONS__RESTART=transient` | the child's own `restart` option |
//! | `SERVITOR__APP__SESSIONS__CONFIG__RESTART=x` | its `config.restart` (where a config key has an option's name) |
//! | `SERVITOR__APP__WORKERS__JOBS__WORKERS=8` | `jobs` in the nested supervisor `workers` |
//! | `SERVITOR__RUNTIME__SHUTDOWN_DEADLINE=10s` | `[runtime]`'s `shutdown_deadline` |
//!
//! After a supervisor's name, a segment that names one of its options sets
//! it; anything else names a child. After a service's name, a child option
//! (`restart`, `shutdown`, `start_timeout`, `significant`, `placement`)
//! sets it, `CONFIG` goes into the config explicitly, anything else is a
//! key of its config. The value is read as the setting's type asks
//! (`20000` is an integer for an integer, a string for a string; `5s` a
//! duration). A variable naming no supervisor, child or setting is an
//! error, as a typo in the file is.
//!
//! # Secrets
//!
//! A secret need not be in the file: in any table, `<key>_env = "VAR"`
//! reads `<key>` from the environment variable `VAR`, and `<key>_file =
//! "path"` from a file (its content without the final newline; a relative
//! path starts at the configuration file's directory):
//!
//! ```toml
//! [[child]]
//! type = "github"
//! name = "github"
//! config = { token_env = "GITHUB_TOKEN" }
//!
//! [[child]]
//! type = "db"
//! name = "orders-db"
//! config = { url_file = "/run/secrets/orders-db-url" }
//! ```
//!
//! A variable that is not set or a file that cannot be read is an error
//! naming it (never the value). [`FileTree::config`] shows the loaded
//! configuration with every such value, and every
//! [`Secret`](crate::kit::Secret), as `[redacted]`.
//!
//! # How it fails
//!
//! Bad input is a [`LoadError`] before anything starts, naming the file,
//! line and column (or the environment variable) and the key path:
//!
//! ```text
//! servitor.toml:14:14: app.child[1].config.capacity: expected an integer, found "lots"
//! servitor.toml:12:8: app.child[1].type: unknown service type `cahce`; did you mean `cache`? (registered: bus, cache, …)
//! servitor.toml:15:1: app.child[1].config: unknown key `capcity`; did you mean `capacity`?
//! servitor.toml:19:8: app.child[2].name: the name `sessions` is used twice in the tree (first at servitor.toml:13:8)
//! servitor.toml:15:12: app.child[1].config.capacity: must be at least 1
//! environment variable SERVITOR__APP__SESION__CAPACITY: names no setting or child `sesion` of the supervisor `app`
//! ```
//!
//! Unknown keys are errors everywhere (typos are not ignored); values are
//! checked by the same validation as in code (a service's `validate`, the
//! supervisor builder's checks), placed at the key they are about.

mod builtins;
mod de;
mod env;
mod error;
mod format;
mod load;
mod outline;
mod tree;
mod types;
mod value;

pub use env::{Environment, DEFAULT_PREFIX};
pub use error::LoadError;
pub use format::Format;
pub use outline::{ChildOutline, Outline};
pub use tree::{FileTree, ShownConfig};
pub use types::{FromConfig, Handles, ServiceTypes};
pub use value::Location;
