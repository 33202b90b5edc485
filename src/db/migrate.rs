//! Migrations: ordered, versioned schema changes, given in code or read
//! from a directory, applied on sqlx's migrator in the service's start hook.
//!
//! Each migration has a version (a positive integer; they run in
//! ascending order), a name and SQL. Each runs in its own transaction and is
//! recorded in the migrations table (sqlx's `_sqlx_migrations`: version,
//! name, checksum, applied-at, success, duration), so running the same set
//! twice is a no-op. What this adds to sqlx's migrator:
//!
//! * **Line endings do not count.** The checksum is taken over the SQL with
//!   CRLF turned into LF, so a file checked out on Windows is the same
//!   migration as on Linux; a checksum recorded by plain sqlx over the
//!   unnormalized text is accepted too.
//! * **Errors name the migration** ([`MigrationError`]): an applied
//!   migration edited since ([`Modified`](MigrationError::Modified)), one
//!   that failed and was rolled back ([`Failed`](MigrationError::Failed)),
//!   one the database has but the build does not
//!   ([`Missing`](MigrationError::Missing)).
//! * **Two processes starting together apply each version once.** On
//!   PostgreSQL the run holds sqlx's advisory lock on the database; on
//!   SQLite, where that lock does nothing, a migration that fails because
//!   another process applied it meanwhile is recognized as applied. The run
//!   uses a connection of its own, closed afterwards, so a lock can never be
//!   left behind in the pool.
//!
//! ```
//! use servitor::db::{Db, DbConfig, Migrations, Sqlite};
//! use servitor::testing::TestTree;
//!
//! # #[actix_rt::main] async fn main() -> Result<(), Box<dyn std::error::Error>> {
//! let migrations = Migrations::new()
//!     .add(1, "create users", "CREATE TABLE users (id INTEGER PRIMARY KEY, name TEXT NOT NULL)")
//!     .add(2, "add email", "ALTER TABLE users ADD COLUMN email TEXT");
//! let (spec, db) = Db::<Sqlite>::builder("app-db")
//!     .config(DbConfig::default())
//!     .migrations(migrations)
//!     .build()?;
//! let tree = TestTree::start(spec).await?; // the start hook applied both
//! let applied = db.applied_migrations().await?;
//! assert_eq!(applied.iter().map(|m| m.version).collect::<Vec<_>>(), [1, 2]);
//! assert_eq!(applied[1].name, "add email");
//! tree.shutdown().await;
//! # Ok(()) }
//! ```

use super::backend::Backend;
use super::error::MigrationError;
use super::url::RedactedUrl;
use crate::kit::ConfigError;
use sqlx::migrate::{
    Migrate, MigrateError, Migration as SqlxMigration, MigrationSource, MigrationType,
};
use sqlx::{AssertSqlSafe, SqlSafeStr};
use std::borrow::Cow;
use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};
use std::time::Duration;

/// sqlx's migrations table.
pub const DEFAULT_TABLE: &str = "_sqlx_migrations";

/// One migration given in code.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Migration {
    /// Its version: positive, unique; migrations run in ascending order.
    pub version: i64,
    /// What it does, in a few words (recorded as sqlx's `description`).
    pub name: String,
    /// The statements it runs.
    pub sql: String,
    /// Run without a transaction (for statements a transaction refuses,
    /// like PostgreSQL's `CREATE INDEX CONCURRENTLY`). A failure half way
    /// then leaves it recorded as unfinished. Default `false`.
    pub no_transaction: bool,
}

/// The migrations of a database service: a list given in code, a
/// directory of files, or both (merged by version).
///
/// ```
/// use servitor::db::Migrations;
///
/// let m = Migrations::new()
///     .add(1, "create orders", "CREATE TABLE orders (id BIGINT PRIMARY KEY)")
///     .add(2, "index orders", "CREATE INDEX orders_id ON orders (id)");
/// assert_eq!(m.len(), 2);
/// assert!(Migrations::new().is_empty());
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Migrations {
    list: Vec<Migration>,
    dir: Option<PathBuf>,
    table: String,
    ignore_missing: bool,
}

impl Default for Migrations {
    fn default() -> Self {
        Migrations::new()
    }
}

/// A migration as recorded in the database.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct AppliedMigration {
    /// Its version.
    pub version: i64,
    /// Its name.
    pub name: String,
    /// When it was applied, as the database wrote it (UTC).
    pub applied_at: String,
    /// Whether it finished (false only for a failed migration run without
    /// a transaction).
    pub success: bool,
    /// The checksum recorded (SHA-384, hex).
    pub checksum: String,
    /// How long it took.
    #[serde(with = "crate::serde_duration")]
    pub duration: Duration,
}

/// What a migration run did.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct MigrationReport {
    /// The versions this run applied, in order.
    pub applied: Vec<i64>,
    /// How many were applied already (by an earlier run or another process).
    pub already_applied: usize,
    /// The highest version now applied, if any.
    pub latest: Option<i64>,
}

impl Migrations {
    /// None yet.
    pub fn new() -> Self {
        Migrations {
            list: Vec::new(),
            dir: None,
            table: DEFAULT_TABLE.to_string(),
            ignore_missing: false,
        }
    }

    /// The migrations in `dir`: files named `<VERSION>_<NAME>.sql` (sqlx's
    /// layout; `_` in the name reads as a space; `.down.sql` files are
    /// ignored, a file starting with `-- no-transaction` runs without one).
    /// Read when the service starts, so a restart picks up new files.
    pub fn dir(dir: impl Into<PathBuf>) -> Self {
        Migrations::new().with_dir(dir)
    }

    /// The same migrations, plus those in `dir`.
    pub fn with_dir(mut self, dir: impl Into<PathBuf>) -> Self {
        self.dir = Some(dir.into());
        self
    }

    /// Adds a migration.
    pub fn add(mut self, version: i64, name: impl Into<String>, sql: impl Into<String>) -> Self {
        self.list.push(Migration {
            version,
            name: name.into(),
            sql: sql.into(),
            no_transaction: false,
        });
        self
    }

    /// Adds a migration given whole (to run one without a transaction).
    pub fn push(mut self, migration: Migration) -> Self {
        self.list.push(migration);
        self
    }

    /// Accept migrations recorded in the database that are not among
    /// these (a rolling deploy where an older build starts against a newer
    /// schema). Default `false`: that is a [`MigrationError::Missing`].
    pub fn ignore_missing(mut self, ignore: bool) -> Self {
        self.ignore_missing = ignore;
        self
    }

    /// Records applied migrations in `table` instead of sqlx's
    /// `_sqlx_migrations` (schema-qualified if needed). Changing it for an
    /// existing database makes every migration look unapplied.
    pub fn table(mut self, table: impl Into<String>) -> Self {
        self.table = table.into();
        self
    }

    /// The migrations table.
    pub fn table_name(&self) -> &str {
        &self.table
    }

    /// The directory, if one was given.
    pub fn directory(&self) -> Option<&Path> {
        self.dir.as_deref()
    }

    /// How many migrations are given in code.
    pub fn len(&self) -> usize {
        self.list.len()
    }

    /// Whether there is nothing to run: no migration in code, no directory.
    pub fn is_empty(&self) -> bool {
        self.list.is_empty() && self.dir.is_none()
    }

    /// Checks what can be checked before starting; the error names the field.
    pub(crate) fn validate(&self, service: &str) -> Result<(), ConfigError> {
        let invalid = |problem: String| Err(ConfigError::field(service, "migrations", problem));
        let mut seen = HashMap::new();
        for m in &self.list {
            if m.version <= 0 {
                return invalid(format!(
                    "version {} of `{}` must be positive",
                    m.version, m.name
                ));
            }
            if m.name.trim().is_empty() {
                return invalid(format!("version {} has no name", m.version));
            }
            if let Some(other) = seen.insert(m.version, &m.name) {
                return invalid(format!(
                    "version {} is given twice (`{other}` and `{}`)",
                    m.version, m.name
                ));
            }
        }
        if let Some(dir) = &self.dir {
            if !dir.is_dir() {
                return Err(ConfigError::field(
                    service,
                    "migrations_dir",
                    format!("`{}` is not a directory", dir.display()),
                ));
            }
        }
        if self.table.trim().is_empty() {
            return invalid("the migrations table name is empty".to_string());
        }
        Ok(())
    }

    /// Every migration to run, in version order, with both checksums.
    pub(crate) async fn resolve(&self) -> Result<Vec<Resolved>, MigrationError> {
        let mut by_version: BTreeMap<i64, Resolved> = BTreeMap::new();
        for m in &self.list {
            let resolved = Resolved::new(m.version, &m.name, m.sql.clone(), m.no_transaction);
            by_version.insert(m.version, resolved);
        }
        if let Some(dir) = &self.dir {
            let found = dir
                .clone()
                .resolve()
                .await
                .map_err(|e| MigrationError::Source {
                    problem: e.to_string(),
                })?;
            for m in found {
                if m.migration_type.is_down_migration() {
                    continue;
                }
                let resolved = Resolved::new(
                    m.version,
                    &m.description,
                    m.sql.as_str().to_string(),
                    m.no_tx,
                );
                if let Some(earlier) = by_version.insert(m.version, resolved) {
                    return Err(MigrationError::Source {
                        problem: format!(
                            "version {} is given twice (`{}` in code and `{}` in `{}`)",
                            m.version,
                            earlier.name,
                            m.description,
                            dir.display()
                        ),
                    });
                }
            }
        }
        Ok(by_version.into_values().collect())
    }

    pub(crate) fn ignores_missing(&self) -> bool {
        self.ignore_missing
    }
}

/// A migration ready for sqlx: recorded with the checksum of its
/// normalized SQL; the checksum of the SQL as written is accepted too.
#[derive(Debug)]
pub(crate) struct Resolved {
    pub version: i64,
    pub name: String,
    migration: SqlxMigration,
    raw_checksum: Vec<u8>,
}

impl Resolved {
    fn new(version: i64, name: &str, sql: String, no_tx: bool) -> Resolved {
        let normalized = sql.replace("\r\n", "\n");
        let normalized_checksum = checksum(&normalized);
        let raw_checksum = checksum(&sql);
        let mut migration = SqlxMigration::new(
            version,
            Cow::Owned(name.to_string()),
            MigrationType::Simple,
            AssertSqlSafe(sql).into_sql_str(),
            no_tx,
        );
        migration.checksum = Cow::Owned(normalized_checksum);
        Resolved {
            version,
            name: name.to_string(),
            migration,
            raw_checksum,
        }
    }

    fn matches(&self, recorded: &[u8]) -> bool {
        recorded == &*self.migration.checksum || recorded == self.raw_checksum.as_slice()
    }
}

/// SHA-384 of `sql`, as sqlx takes it.
fn checksum(sql: &str) -> Vec<u8> {
    SqlxMigration::new(
        0,
        Cow::Borrowed(""),
        MigrationType::Simple,
        AssertSqlSafe(sql.to_string()).into_sql_str(),
        false,
    )
    .checksum
    .into_owned()
}

/// The checksum as hex.
pub(crate) fn hex(bytes: &[u8]) -> String {
    use std::fmt::Write;
    bytes
        .iter()
        .fold(String::with_capacity(bytes.len() * 2), |mut s, b| {
            let _ = write!(s, "{b:02x}");
            s
        })
}

/// Applies `migrations` over `conn` (a connection of its own: the caller
/// closes it afterwards, whatever happened, so no lock outlives the run).
pub(crate) async fn run<B: Backend>(
    conn: &mut B::Connection,
    migrations: &[Resolved],
    spec: &Migrations,
    url: &RedactedUrl,
) -> Result<MigrationReport, MigrationError> {
    let db = |e: MigrateError| MigrationError::Database {
        cause: url.scrub(&e.to_string()),
    };
    conn.lock().await.map_err(db)?;
    let result = run_locked::<B>(conn, migrations, spec, url).await;
    let unlocked = conn.unlock().await.map_err(db);
    let report = result?;
    unlocked?;
    Ok(report)
}

async fn run_locked<B: Backend>(
    conn: &mut B::Connection,
    migrations: &[Resolved],
    spec: &Migrations,
    url: &RedactedUrl,
) -> Result<MigrationReport, MigrationError> {
    let db = |e: MigrateError| MigrationError::Database {
        cause: url.scrub(&e.to_string()),
    };
    let table = spec.table_name();
    conn.ensure_migrations_table(table).await.map_err(db)?;
    if let Some(version) = conn.dirty_version(table).await.map_err(db)? {
        return Err(MigrationError::Dirty { version });
    }
    let applied: HashMap<i64, Vec<u8>> = conn
        .list_applied_migrations(table)
        .await
        .map_err(db)?
        .into_iter()
        .map(|m| (m.version, m.checksum.into_owned()))
        .collect();
    if !spec.ignores_missing() {
        let mut unknown: Vec<i64> = applied
            .keys()
            .filter(|v| !migrations.iter().any(|m| m.version == **v))
            .copied()
            .collect();
        unknown.sort_unstable();
        if let Some(&version) = unknown.first() {
            return Err(MigrationError::Missing { version });
        }
    }
    let mut report = MigrationReport::default();
    for m in migrations {
        if let Some(recorded) = applied.get(&m.version) {
            if !m.matches(recorded) {
                return Err(MigrationError::Modified {
                    version: m.version,
                    name: m.name.clone(),
                });
            }
            report.already_applied += 1;
            continue;
        }
        match conn.apply(table, &m.migration).await {
            Ok(took) => {
                tracing::info!(version = m.version, name = %m.name, took_ms = took.as_millis() as u64, "migration applied");
                report.applied.push(m.version);
            }
            Err(e) => {
                // Another process may have applied it meanwhile (SQLite has
                // no migration lock): then it is applied, as it should be.
                let now = conn.list_applied_migrations(table).await.map_err(db)?;
                match now.iter().find(|a| a.version == m.version) {
                    Some(a) if m.matches(&a.checksum) => report.already_applied += 1,
                    Some(_) => {
                        return Err(MigrationError::Modified {
                            version: m.version,
                            name: m.name.clone(),
                        })
                    }
                    None => {
                        let cause = match e {
                            MigrateError::ExecuteMigration(inner, _) => inner.to_string(),
                            other => other.to_string(),
                        };
                        return Err(MigrationError::Failed {
                            version: m.version,
                            name: m.name.clone(),
                            cause: url.scrub(&cause),
                        });
                    }
                }
            }
        }
    }
    report.latest = migrations
        .iter()
        .map(|m| m.version)
        .chain(applied.keys().copied())
        .max();
    Ok(report)
}
