//! What the operations tests share: an application with the endpoint on a
//! free loopback port, the external tools (and skipping without them), and
//! the binaries built beside the tests.

use servitor::cache::{Cache, CacheConfig};
use servitor::http::{Http, HttpConfig};
use servitor::prelude::*;
use servitor::tasks::{Tasks, TasksConfig};
use servitor::{Registry, RuntimeConfig, StatusWatch};
use std::path::PathBuf;
use std::time::Duration;

/// A service that does nothing but can be crashed.
#[derive(Default)]
pub struct Worker;
impl Actor for Worker {
    type Context = Context<Self>;
}
impl Service for Worker {
    fn on_start(
        &mut self,
        cx: &ServiceContext,
        _: &mut Context<Self>,
    ) -> Result<(), servitor::BoxError> {
        cx.set_detail("queued", 3);
        Ok(())
    }
    fn health_interval(&self) -> Duration {
        Duration::from_millis(200)
    }
    fn health_check(&mut self, cx: &ServiceContext, _: &mut Context<Self>) -> Option<Status> {
        cx.set_detail("queued", 3);
        None
    }
}

/// An application: `app` with the endpoint `ops`, a cache `sessions`, task
/// workers `jobs`, and under the supervisor `workers` a service `worker`
/// that tests crash.
pub struct App {
    pub runtime: Runtime,
    pub http: Http,
    pub url: String,
    pub sessions: Cache<String, String>,
}

pub const SERVICES: [&str; 6] = ["app", "ops", "sessions", "jobs", "workers", "worker"];

impl App {
    pub async fn start(config: HttpConfig) -> App {
        Self::start_with(config, |b| b).await
    }

    pub async fn start_with(
        config: HttpConfig,
        more: impl FnOnce(servitor::SupervisorBuilder) -> servitor::SupervisorBuilder,
    ) -> App {
        let config = HttpConfig {
            bind: "127.0.0.1:0".parse().unwrap(),
            snapshot_interval: Duration::from_millis(200),
            health_interval: Duration::from_millis(100),
            ..config
        };
        let (ops, http) = Http::service("ops", config).expect("a valid endpoint config");
        let (cache, sessions) = Cache::<String, String>::service(
            "sessions",
            CacheConfig {
                // Its health (and so its figures) every 50 ms.
                sweep_interval: Duration::from_millis(50),
                ..CacheConfig::default()
            },
        )
        .unwrap();
        let (tasks, _jobs) = Tasks::service(
            "jobs",
            TasksConfig {
                health_interval: Duration::from_millis(100),
                ..TasksConfig::default()
            },
        )
        .unwrap();
        let tree = Supervisor::builder("app")
            .intensity(1_000, Duration::from_secs(1))
            .child(ops)
            .child(cache)
            .child(tasks)
            .child(
                Supervisor::builder("workers")
                    .intensity(1_000, Duration::from_secs(1))
                    .backoff(Backoff::constant(Duration::from_millis(50)))
                    .child(ChildSpec::service("worker", Worker::default)),
            );
        let tree = more(tree).build().expect("a valid tree");
        let runtime = Runtime::start_with(
            tree,
            RuntimeConfig {
                handle_signals: false,
                ..RuntimeConfig::default()
            },
        )
        .await
        .expect("the app starts");
        let url = http.url().expect("listening");
        App {
            runtime,
            http,
            url,
            sessions,
        }
    }

    pub fn registry(&self) -> &Registry {
        self.runtime.registry()
    }

    /// Crashes `worker` and returns once its restart is over.
    pub async fn crash_worker(&self) {
        let mut watch = self.registry().watch("worker").unwrap();
        self.runtime
            .supervisor("workers")
            .unwrap()
            .crash_child("worker", "injected crash")
            .await
            .expect("the crash is delivered");
        wait_for(&mut watch, Status::Error).await;
        wait_for(&mut watch, Status::Ok).await;
    }

    pub async fn shutdown(self) {
        self.runtime.shutdown().await.expect("a clean shutdown");
    }
}

/// Waits for `status` on a watch, at most 10 s.
pub async fn wait_for(watch: &mut StatusWatch, status: Status) {
    watch
        .wait_for(status, Duration::from_secs(10))
        .await
        .unwrap_or_else(|e| panic!("waiting for {status}: {e}"));
}

pub fn client() -> reqwest::Client {
    reqwest::Client::builder()
        .timeout(Duration::from_secs(10))
        .build()
        .unwrap()
}

/// Whether tests that need servers and tools must run (CI), rather than skip.
pub fn required() -> bool {
    std::env::var("SERVITOR_REQUIRE_SERVERS").is_ok_and(|v| v == "1")
}

/// The path of an external tool, or `None` (with a line saying the test is
/// skipped) when it is not installed. With `SERVITOR_REQUIRE_SERVERS=1` a
/// missing tool fails the test.
pub fn tool(name: &str, package: &str, test: &str) -> Option<PathBuf> {
    let found = std::env::var_os("PATH").and_then(|paths| {
        std::env::split_paths(&paths)
            .map(|dir| dir.join(name))
            .find(|p| p.is_file())
    });
    if found.is_none() {
        if required() {
            panic!("`{name}` is not installed, but SERVITOR_REQUIRE_SERVERS=1 requires {test} to run (apt-get install {package})");
        }
        eprintln!("skipped {test}: `{name}` is not installed (apt-get install {package}; .ci/run installs it)");
    }
    found
}

/// A binary of this workspace, built beside this test (`cargo test
/// --workspace --all-features` builds `servitorctl` and the examples).
pub fn built(relative: &str) -> PathBuf {
    let exe = std::env::current_exe().unwrap();
    // target/<profile>/deps/ops-HASH → target/<profile>/
    let dir = exe.parent().and_then(|d| d.parent()).unwrap().to_path_buf();
    let path = dir.join(relative);
    assert!(
        path.is_file(),
        "{} is not built: run `cargo test -j 2 --workspace --all-features` (or `cargo build --workspace --all-features --examples`)",
        path.display()
    );
    path
}

/// A free loopback port (bound and released: good enough for a server the
/// test starts right after).
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// A fresh directory under the target directory, removed when dropped.
pub struct TempDir(pub PathBuf);

impl TempDir {
    pub fn new(label: &str) -> TempDir {
        let base = std::env::temp_dir().join(format!(
            "servitor-ops-{label}-{}-{}",
            std::process::id(),
            fastrand::u64(..)
        ));
        std::fs::create_dir_all(&base).unwrap();
        TempDir(base)
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// Polls `check` every 50 ms until it returns `Some`, at most `within`.
/// For external processes (a browser, a Prometheus server) that have no
/// signal to wait for.
pub async fn eventually<T, F, Fut>(what: &str, within: Duration, mut check: F) -> T
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Option<T>>,
{
    let deadline = tokio::time::Instant::now() + within;
    loop {
        if let Some(v) = check().await {
            return v;
        }
        if tokio::time::Instant::now() > deadline {
            panic!("{what}: not within {within:?}");
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// Kills a child process when dropped.
pub struct Reaper(pub tokio::process::Child);

impl Drop for Reaper {
    fn drop(&mut self) {
        let _ = self.0.start_kill();
    }
}

/// A service that reports whatever status the test sets, every 20 ms.
pub struct Flagged(pub std::sync::Arc<parking_lot::Mutex<(Status, String)>>);

impl Actor for Flagged {
    type Context = Context<Self>;
}

impl Service for Flagged {
    fn health_interval(&self) -> Duration {
        Duration::from_millis(20)
    }
    fn health_check(&mut self, cx: &ServiceContext, _: &mut Context<Self>) -> Option<Status> {
        let (status, message) = self.0.lock().clone();
        cx.set_status_with(status, message);
        None
    }
}

/// The flag of a [`Flagged`] service, and its child spec named `name`.
pub fn flagged(
    name: &str,
) -> (
    std::sync::Arc<parking_lot::Mutex<(Status, String)>>,
    ChildSpec,
) {
    let flag = std::sync::Arc::new(parking_lot::Mutex::new((Status::Ok, String::new())));
    let shared = flag.clone();
    let spec = ChildSpec::service(name.to_string(), move || Flagged(shared.clone()));
    (flag, spec)
}
