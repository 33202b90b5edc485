//! The databases the service speaks to: [`Sqlite`] (feature `db`) and
//! [`Postgres`] (feature `postgres`), each an sqlx driver behind the sealed
//! [`Backend`] trait.
//!
//! A handle is typed with its backend ([`SqliteDb`](super::SqliteDb),
//! [`PgDb`](super::PgDb)); the URL's scheme must match it. What differs
//! between them lives here: how a URL and the configuration become connect
//! options (SQLite: WAL for files, foreign keys on, a busy timeout;
//! PostgreSQL: the service name as `application_name`, the statement
//! timeout), and the few statements the service runs itself.

use super::config::DbConfig;
use super::url::RedactedUrl;
use futures_util::future::BoxFuture;
use sqlx::{ConnectOptions, Connection, Database, Decode, Encode, FromRow, SqlStr, Type};
use std::future::Future;
use std::str::FromStr;

#[cfg(feature = "postgres")]
#[cfg_attr(docsrs, doc(cfg(feature = "postgres")))]
pub use sqlx::Postgres;
pub use sqlx::Sqlite;

mod sealed {
    pub trait Sealed {}
}

/// A row of the migrations table: version, description, applied-at,
/// success, checksum, execution time in ns.
#[doc(hidden)]
pub type AppliedRow = (i64, String, Option<String>, bool, Vec<u8>, i64);

/// The connect options of a backend.
pub(crate) type Options<B> = <<B as Database>::Connection as Connection>::Options;

/// A database the service can pool: [`Sqlite`] or [`Postgres`]. Sealed: its
/// methods are the service's own plumbing, written once per driver.
pub trait Backend: Database<Connection: sqlx::migrate::Migrate> + sealed::Sealed {
    /// The backend's name in health details and errors: `sqlite`, `postgres`.
    const LABEL: &'static str;
    /// The URL schemes it accepts.
    const SCHEMES: &'static [&'static str];

    /// Connect options for `url` and `config`; the error is what is wrong
    /// (naming the field is the caller's job).
    #[doc(hidden)]
    fn connect_options(
        service: &str,
        url: &str,
        config: &DbConfig,
    ) -> Result<Options<Self>, String>;

    /// Whether the database lives only as long as a connection to it is
    /// open (SQLite in memory).
    #[doc(hidden)]
    fn in_memory(url: &str) -> bool {
        let _ = url;
        false
    }

    /// The statement listing applied migrations: version, description,
    /// applied-at as text, success, checksum, execution time in ns.
    #[doc(hidden)]
    fn applied_sql(table: &str) -> String;

    /// The applied migrations, as [`applied_sql`](Self::applied_sql) lists them.
    #[doc(hidden)]
    fn run_applied<'c>(
        conn: &'c mut Self::Connection,
        table: &str,
    ) -> impl Future<Output = Result<Vec<AppliedRow>, sqlx::Error>> + Send + 'c;

    /// Runs a statement; the number of rows it affected.
    #[doc(hidden)]
    fn run_execute<'c>(
        conn: &'c mut Self::Connection,
        sql: SqlStr,
        args: Self::Arguments,
    ) -> impl Future<Output = Result<u64, sqlx::Error>> + Send + 'c;

    /// Every row, decoded.
    #[doc(hidden)]
    fn run_fetch_all<'c, T>(
        conn: &'c mut Self::Connection,
        sql: SqlStr,
        args: Self::Arguments,
    ) -> BoxFuture<'c, Result<Vec<T>, sqlx::Error>>
    where
        T: for<'r> FromRow<'r, Self::Row> + Send + Unpin + 'c;

    /// The first row, decoded, if there is one.
    #[doc(hidden)]
    fn run_fetch_optional<'c, T>(
        conn: &'c mut Self::Connection,
        sql: SqlStr,
        args: Self::Arguments,
    ) -> BoxFuture<'c, Result<Option<T>, sqlx::Error>>
    where
        T: for<'r> FromRow<'r, Self::Row> + Send + Unpin + 'c;

    /// The first column of the first row, decoded, if there is a row.
    #[doc(hidden)]
    fn run_scalar<'c, T>(
        conn: &'c mut Self::Connection,
        sql: SqlStr,
        args: Self::Arguments,
    ) -> BoxFuture<'c, Result<Option<T>, sqlx::Error>>
    where
        T: for<'r> Decode<'r, Self> + Type<Self> + Send + Unpin + 'c;
}

/// The query plumbing, the same for every driver.
macro_rules! queries {
    () => {
        fn run_applied<'c>(
            conn: &'c mut Self::Connection,
            table: &str,
        ) -> impl Future<Output = Result<Vec<AppliedRow>, sqlx::Error>> + Send + 'c {
            sqlx::query_as(sqlx::AssertSqlSafe(Self::applied_sql(table))).fetch_all(conn)
        }

        fn run_execute<'c>(
            conn: &'c mut Self::Connection,
            sql: SqlStr,
            args: Self::Arguments,
        ) -> impl Future<Output = Result<u64, sqlx::Error>> + Send + 'c {
            async move {
                Ok(sqlx::query_with(sql, args)
                    .execute(conn)
                    .await?
                    .rows_affected())
            }
        }

        fn run_fetch_all<'c, T>(
            conn: &'c mut Self::Connection,
            sql: SqlStr,
            args: Self::Arguments,
        ) -> BoxFuture<'c, Result<Vec<T>, sqlx::Error>>
        where
            T: for<'r> FromRow<'r, Self::Row> + Send + Unpin + 'c,
        {
            Box::pin(sqlx::query_as_with(sql, args).fetch_all(conn))
        }

        fn run_fetch_optional<'c, T>(
            conn: &'c mut Self::Connection,
            sql: SqlStr,
            args: Self::Arguments,
        ) -> BoxFuture<'c, Result<Option<T>, sqlx::Error>>
        where
            T: for<'r> FromRow<'r, Self::Row> + Send + Unpin + 'c,
        {
            Box::pin(sqlx::query_as_with(sql, args).fetch_optional(conn))
        }

        fn run_scalar<'c, T>(
            conn: &'c mut Self::Connection,
            sql: SqlStr,
            args: Self::Arguments,
        ) -> BoxFuture<'c, Result<Option<T>, sqlx::Error>>
        where
            T: for<'r> Decode<'r, Self> + Type<Self> + Send + Unpin + 'c,
        {
            Box::pin(sqlx::query_scalar_with(sql, args).fetch_optional(conn))
        }
    };
}

/// The part of a URL after its scheme, without `//`.
fn after_scheme(url: &str) -> &str {
    let rest = url.split_once(':').map_or("", |(_, r)| r);
    rest.strip_prefix("//").unwrap_or(rest)
}

impl sealed::Sealed for Sqlite {}

impl Backend for Sqlite {
    const LABEL: &'static str = "sqlite";
    const SCHEMES: &'static [&'static str] = &["sqlite"];

    fn connect_options(
        _service: &str,
        url: &str,
        config: &DbConfig,
    ) -> Result<Options<Self>, String> {
        use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode};
        if config.statement_timeout.is_some() {
            return Err("`statement_timeout` is not supported by SQLite; leave it unset".into());
        }
        let mut options = SqliteConnectOptions::from_str(url).map_err(|e| e.to_string())?;
        let sets_mode = RedactedUrl::param_keys(url).iter().any(|k| k == "mode");
        if !sets_mode {
            options = options.create_if_missing(true);
        }
        if !Self::in_memory(url) {
            options = options.journal_mode(SqliteJournalMode::Wal);
        }
        Ok(options.foreign_keys(true).busy_timeout(config.busy_timeout))
    }

    fn in_memory(url: &str) -> bool {
        let rest = after_scheme(url);
        let (db, params) = rest.split_once('?').unwrap_or((rest, ""));
        db == ":memory:"
            || sqlx_core::url::form_urlencoded::parse(params.as_bytes())
                .any(|(k, v)| k == "mode" && v == "memory")
    }

    fn applied_sql(table: &str) -> String {
        format!(
            "SELECT version, description, CAST(installed_on AS TEXT), success, checksum, execution_time \
             FROM {table} ORDER BY version"
        )
    }

    queries!();
}

#[cfg(feature = "postgres")]
impl sealed::Sealed for Postgres {}

/// The parameters sqlx reads from a PostgreSQL URL. Anything else is
/// refused at spec time: sqlx would log it with its value and ignore it.
#[cfg(feature = "postgres")]
const PG_PARAMS: [&str; 18] = [
    "sslmode",
    "ssl-mode",
    "sslrootcert",
    "ssl-root-cert",
    "ssl-ca",
    "sslcert",
    "ssl-cert",
    "sslkey",
    "ssl-key",
    "statement-cache-capacity",
    "host",
    "hostaddr",
    "port",
    "dbname",
    "user",
    "password",
    "application_name",
    "options",
];

#[cfg(feature = "postgres")]
impl Backend for Postgres {
    const LABEL: &'static str = "postgres";
    const SCHEMES: &'static [&'static str] = &["postgres", "postgresql"];

    fn connect_options(
        service: &str,
        url: &str,
        config: &DbConfig,
    ) -> Result<Options<Self>, String> {
        use sqlx::postgres::PgConnectOptions;
        for key in RedactedUrl::param_keys(url) {
            let known = PG_PARAMS.contains(&key.as_str())
                || (key.starts_with("options[") && key.ends_with(']'));
            if !known {
                return Err(format!("has the unknown parameter `{key}`"));
            }
        }
        let mut options = PgConnectOptions::from_str(url).map_err(|e| e.to_string())?;
        if options.get_application_name().is_none() {
            options = options.application_name(service);
        }
        if let Some(timeout) = config.statement_timeout {
            options = options.options([("statement_timeout", format!("{}", timeout.as_millis()))]);
        }
        Ok(options)
    }

    fn applied_sql(table: &str) -> String {
        format!(
            "SELECT version, description, installed_on::text, success, checksum, execution_time \
             FROM {table} ORDER BY version"
        )
    }

    queries!();
}

/// The scheme of `url`, lowercased (`""` when there is none).
pub(crate) fn scheme(url: &str) -> String {
    url.split_once(':')
        .map_or(String::new(), |(s, _)| s.to_ascii_lowercase())
}

/// Checks `url` against `B` and builds its connect options; the error is the
/// problem with the URL, scrubbed of its secrets.
pub(crate) fn options_for<B: Backend>(
    service: &str,
    config: &DbConfig,
    redacted: &RedactedUrl,
) -> Result<Options<B>, String> {
    let url = config.url.expose();
    let scheme = scheme(url);
    if !B::SCHEMES.contains(&scheme.as_str()) {
        let want = B::SCHEMES.join("` or `");
        return Err(if scheme.is_empty() {
            format!("is not a URL (expected a `{want}:` URL)")
        } else {
            format!(
                "has the scheme `{scheme}`, but this service is a {} database (expected `{want}:`)",
                B::LABEL
            )
        });
    }
    B::connect_options(service, url, config).map_err(|problem| redacted.scrub(&problem))
}

/// One connection opened outside the pool (a diagnosis of why the pool
/// cannot connect, or the connection that keeps an in-memory SQLite
/// database alive).
pub(crate) async fn connect_direct<B: Backend>(
    options: &Options<B>,
) -> Result<B::Connection, sqlx::Error> {
    options.connect().await
}

/// A value a statement is given for a placeholder (`$1` / `?`): anything
/// sqlx can encode for the backend.
pub trait Value<B: Backend>: for<'t> Encode<'t, B> + Type<B> + Send {}

impl<B: Backend, T> Value<B> for T where T: for<'t> Encode<'t, B> + Type<B> + Send {}
