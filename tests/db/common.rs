//! What the database suites share: configurations for each backend, a
//! schema of its own per PostgreSQL test, a TCP forwarder that stands in for
//! a database appearing or vanishing on a spare port, temporary
//! directories, and a capture of everything `tracing` writes.
#![allow(dead_code)]

use parking_lot::Mutex;
#[cfg(feature = "postgres")]
use servitor::db::sqlx::{self, Connection, Executor};
use servitor::db::{Backend, Db, DbConfig, DbError};
use servitor::testing::TestTree;
use servitor::ChildSpec;
use std::io::Write;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

/// How long a test waits for something that should happen promptly.
pub const BOUND: Duration = Duration::from_secs(30);

/// A configuration for a private in-memory SQLite database, with short
/// intervals so health checks come quickly.
pub fn sqlite() -> DbConfig {
    DbConfig {
        health_interval: Duration::from_millis(50),
        ..DbConfig::default()
    }
}

#[cfg(feature = "postgres")]
/// The PostgreSQL server's URL, or `None` (with a note on stderr) when
/// `DATABASE_URL` is not set. With `SERVITOR_REQUIRE_SERVERS=1` a missing
/// URL fails the test instead.
pub fn database_url() -> Option<String> {
    match std::env::var("DATABASE_URL") {
        Ok(url) if !url.is_empty() => Some(url),
        _ => {
            if std::env::var("SERVITOR_REQUIRE_SERVERS").is_ok_and(|v| v == "1") {
                panic!(
                    "DATABASE_URL is not set, but SERVITOR_REQUIRE_SERVERS=1 requires the PostgreSQL tests to run"
                );
            }
            eprintln!(
                "skipped: DATABASE_URL is not set, and this PostgreSQL test needs a server \
                 (e.g. DATABASE_URL=postgres://postgres@127.0.0.1:5432/test)"
            );
            None
        }
    }
}

#[cfg(feature = "postgres")]
/// A schema of one test's own on the PostgreSQL server, dropped and made
/// anew, so tests sharing the server never see each other's tables.
#[derive(Debug, Clone)]
pub struct PgSchema {
    /// The server's URL as given.
    pub server: String,
    /// The schema's name.
    pub name: String,
    /// The server's URL with `search_path` set to the schema.
    pub url: String,
}

#[cfg(feature = "postgres")]
impl PgSchema {
    /// Makes the schema for `test`, or `None` when PostgreSQL tests are
    /// skipped.
    pub async fn new(test: &str) -> Option<PgSchema> {
        let server = database_url()?;
        let name = format!("servitor_{test}");
        let mut conn = sqlx::postgres::PgConnection::connect(&server)
            .await
            .unwrap_or_else(|e| {
                panic!("DATABASE_URL is set but the server cannot be reached: {e}")
            });
        conn.execute(sqlx::AssertSqlSafe(format!(
            "DROP SCHEMA IF EXISTS \"{name}\" CASCADE; CREATE SCHEMA \"{name}\""
        )))
        .await
        .expect("schema made");
        conn.close().await.ok();
        let sep = if server.contains('?') { '&' } else { '?' };
        let url = format!("{server}{sep}options[search_path]={name}");
        Some(PgSchema { server, name, url })
    }

    /// A test configuration for this schema.
    pub fn config(&self) -> DbConfig {
        DbConfig {
            url: self.url.clone().into(),
            ..sqlite_free_defaults()
        }
    }

    /// The same database reached through `127.0.0.1:port`, with `password`
    /// in the URL if given.
    pub fn url_via(&self, port: u16, password: Option<&str>) -> String {
        let options: sqlx::postgres::PgConnectOptions =
            self.server.parse().expect("a valid DATABASE_URL");
        let user = options.get_username();
        let db = options.get_database().unwrap_or("postgres");
        let auth = match password {
            Some(p) => format!("{user}:{p}"),
            None => user.to_string(),
        };
        format!(
            "postgres://{auth}@127.0.0.1:{port}/{db}?options[search_path]={}",
            self.name
        )
    }

    /// Where the server listens.
    pub fn address(&self) -> SocketAddr {
        let options: sqlx::postgres::PgConnectOptions =
            self.server.parse().expect("a valid DATABASE_URL");
        let host = match options.get_host() {
            "localhost" => "127.0.0.1",
            h => h,
        };
        format!("{host}:{}", options.get_port())
            .parse()
            .expect("a numeric host in DATABASE_URL")
    }

    /// A connection straight to the server, outside any pool.
    pub async fn admin(&self) -> sqlx::postgres::PgConnection {
        sqlx::postgres::PgConnection::connect(&self.server)
            .await
            .expect("admin connection")
    }

    /// Terminates every connection of the service `application_name`;
    /// how many there were.
    pub async fn terminate(&self, application_name: &str) -> i64 {
        let mut admin = self.admin().await;
        let n: i64 = sqlx::query_scalar(
            "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity WHERE application_name = $1",
        )
        .bind(application_name)
        .fetch_one(&mut admin)
        .await
        .expect("terminate");
        admin.close().await.ok();
        n
    }
}

/// The test defaults for PostgreSQL: fast health checks.
fn sqlite_free_defaults() -> DbConfig {
    DbConfig {
        health_interval: Duration::from_millis(50),
        ..DbConfig::default()
    }
}

/// Runs `spec` under a test supervisor.
pub async fn start(spec: ChildSpec) -> TestTree {
    TestTree::start(spec).await.expect("the tree starts")
}

/// A service with `config`, started.
pub async fn started<B: Backend>(name: &str, config: DbConfig) -> (TestTree, Db<B>) {
    let (spec, db) = Db::<B>::service(name, config).expect("valid config");
    (start(spec).await, db)
}

/// A port on the loopback interface nobody listens on (for now).
pub fn spare_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("a spare port")
        .port()
}

/// A TCP forwarder from a loopback port to a server: the database
/// "appears" on the port when it starts and vanishes, with every
/// connection through it, when it stops.
pub struct Forwarder {
    task: tokio::task::JoinHandle<()>,
}

impl Forwarder {
    /// Forwards `127.0.0.1:port` to `target`, delaying each chunk the
    /// server sends by `delay`.
    pub async fn start(port: u16, target: SocketAddr, delay: Duration) -> Forwarder {
        let listener = TcpListener::bind(("127.0.0.1", port))
            .await
            .expect("the port is free");
        let task = tokio::spawn(async move {
            let mut links = tokio::task::JoinSet::new();
            loop {
                let Ok((client, _)) = listener.accept().await else {
                    break;
                };
                links.spawn(link(client, target, delay));
            }
        });
        Forwarder { task }
    }

    /// Stops listening and cuts every connection through it.
    pub async fn stop(self) {
        self.task.abort();
        let _ = self.task.await;
    }
}

async fn link(client: TcpStream, target: SocketAddr, delay: Duration) {
    let Ok(server) = TcpStream::connect(target).await else {
        return;
    };
    let (mut cr, mut cw) = client.into_split();
    let (mut sr, mut sw) = server.into_split();
    let up = async move {
        let _ = tokio::io::copy(&mut cr, &mut sw).await;
        let _ = sw.shutdown().await;
    };
    let down = async move {
        let mut buf = vec![0u8; 16 * 1024];
        loop {
            let n = match sr.read(&mut buf).await {
                Ok(0) | Err(_) => break,
                Ok(n) => n,
            };
            if !delay.is_zero() {
                tokio::time::sleep(delay).await;
            }
            if cw.write_all(&buf[..n]).await.is_err() {
                break;
            }
        }
        let _ = cw.shutdown().await;
    };
    tokio::join!(up, down);
}

/// A directory of its own under the system's temporary directory, removed
/// when dropped.
pub struct TempDir(PathBuf);

impl TempDir {
    pub fn new(test: &str) -> TempDir {
        static N: AtomicU64 = AtomicU64::new(0);
        let path = std::env::temp_dir().join(format!(
            "servitor-db-{test}-{}-{}",
            std::process::id(),
            N.fetch_add(1, Ordering::Relaxed)
        ));
        let _ = std::fs::remove_dir_all(&path);
        std::fs::create_dir_all(&path).expect("temp dir");
        TempDir(path)
    }

    pub fn path(&self) -> &Path {
        &self.0
    }

    /// Writes `contents` to `name` in the directory.
    pub fn write(&self, name: &str, contents: &str) {
        std::fs::write(self.0.join(name), contents).expect("file written");
    }

    /// An SQLite URL for a file `name` in the directory.
    pub fn sqlite_url(&self, name: &str) -> String {
        format!("sqlite://{}", self.0.join(name).display())
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// Everything `tracing` writes on this thread, at every level, until dropped.
pub struct Capture {
    buf: Arc<Mutex<Vec<u8>>>,
    _guard: tracing::subscriber::DefaultGuard,
}

#[derive(Clone)]
struct Sink(Arc<Mutex<Vec<u8>>>);

impl Write for Sink {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl<'a> tracing_subscriber::fmt::MakeWriter<'a> for Sink {
    type Writer = Sink;
    fn make_writer(&'a self) -> Sink {
        self.clone()
    }
}

impl Capture {
    pub fn start() -> Capture {
        let buf = Arc::new(Mutex::new(Vec::new()));
        let subscriber = tracing_subscriber::fmt()
            .with_writer(Sink(buf.clone()))
            .with_max_level(tracing::Level::TRACE)
            .with_ansi(false)
            .finish();
        let _guard = tracing::subscriber::set_default(subscriber);
        Capture { buf, _guard }
    }

    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.buf.lock()).into_owned()
    }
}

/// Waits until the service's figures satisfy `done`, one health check at a
/// time (bounded by [`BOUND`]).
pub async fn until_checked<B: Backend>(
    db: &Db<B>,
    mut done: impl FnMut(&servitor::db::DbStats) -> bool,
) -> servitor::db::DbStats {
    tokio::time::timeout(BOUND, async {
        loop {
            let stats = db.checked().await.expect("service running");
            if done(&stats) {
                return stats;
            }
        }
    })
    .await
    .unwrap_or_else(|_| panic!("figures never reached the expected state: {:?}", db.stats()))
}

/// The error, which the test expects.
pub fn expect_err<T: std::fmt::Debug>(r: Result<T, DbError>) -> DbError {
    match r {
        Ok(v) => panic!("expected an error, got {v:?}"),
        Err(e) => e,
    }
}
