//! What the NATS tests share: the server (or why they are skipped), our
//! own servers for outages, and the example program run as processes.

use std::path::PathBuf;
use std::process::Stdio;
use std::sync::Arc;
use std::time::Duration;
use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::process::{Child, Command};
use tokio::sync::watch;

pub const NATS_SERVER: &str = "/usr/sbin/nats-server";

fn required() -> bool {
    std::env::var("SERVITOR_REQUIRE_SERVERS").is_ok_and(|v| v == "1")
}

/// The shared NATS at 127.0.0.1:4222 (or `NATS_URL`), if it answers; a
/// test without it says it is skipped and why, or fails with
/// `SERVITOR_REQUIRE_SERVERS=1`.
pub async fn nats_url(test: &str) -> Option<String> {
    let url = std::env::var("NATS_URL").unwrap_or_else(|_| "nats://127.0.0.1:4222".into());
    match async_nats::connect(url.as_str()).await {
        Ok(_) => Some(url),
        Err(e) => {
            if required() {
                panic!("NATS at {url} does not answer ({e}), but SERVITOR_REQUIRE_SERVERS=1 requires {test} to run");
            }
            eprintln!("skipped {test}: NATS at {url} does not answer ({e}); start `nats-server -js` (.ci/run does)");
            None
        }
    }
}

/// Whether `nats-server` is installed, for the tests that start their own.
pub fn have_server(test: &str) -> bool {
    let found = std::path::Path::new(NATS_SERVER).is_file();
    if !found {
        if required() {
            panic!("{NATS_SERVER} is not installed, but SERVITOR_REQUIRE_SERVERS=1 requires {test} to run (apt-get install nats-server)");
        }
        eprintln!("skipped {test}: {NATS_SERVER} is not installed (apt-get install nats-server; .ci/run installs it)");
    }
    found
}

/// A name no other test (or earlier run) uses: an app, and so a subject
/// prefix and a JetStream stream of its own.
pub fn unique(label: &str) -> String {
    format!("{label}-{}-{}", std::process::id(), fastrand::u32(..))
}

pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// A nats-server of the test's own (JetStream on, storage in a fresh
/// directory), on a spare loopback port; killed when dropped.
pub struct OwnServer {
    pub port: u16,
    pub store: PathBuf,
    child: Option<Child>,
}

impl OwnServer {
    /// A port and a store, nothing started yet.
    pub fn new() -> OwnServer {
        let store = std::env::temp_dir().join(unique("servitor-nats-store"));
        std::fs::create_dir_all(&store).unwrap();
        OwnServer {
            port: free_port(),
            store,
            child: None,
        }
    }

    pub fn url(&self) -> String {
        format!("nats://127.0.0.1:{}", self.port)
    }

    /// Starts it and waits until it answers.
    pub async fn start(&mut self) {
        let child = Command::new(NATS_SERVER)
            .args([
                "-a",
                "127.0.0.1",
                "-p",
                &self.port.to_string(),
                "-js",
                "-sd",
            ])
            .arg(&self.store)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .kill_on_drop(true)
            .spawn()
            .expect("nats-server starts");
        self.child = Some(child);
        let url = self.url();
        eventually("our nats-server answers", Duration::from_secs(10), || {
            let url = url.clone();
            async move { async_nats::connect(url.as_str()).await.ok().map(|_| ()) }
        })
        .await;
    }

    /// Kills it (SIGKILL) and waits until it is gone.
    pub async fn kill(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill().await;
        }
    }
}

impl Drop for OwnServer {
    fn drop(&mut self) {
        if let Some(child) = self.child.as_mut() {
            let _ = child.start_kill();
        }
        let _ = std::fs::remove_dir_all(&self.store);
    }
}

/// The `fleet_events` example, built beside this test.
pub fn example() -> PathBuf {
    let exe = std::env::current_exe().unwrap();
    let dir = exe.parent().and_then(|d| d.parent()).unwrap().to_path_buf();
    let path = dir.join("examples/fleet_events");
    assert!(
        path.is_file(),
        "{} is not built: run `cargo test -j 2 --workspace --all-features` (or `cargo build --features nats --example fleet_events`)",
        path.display()
    );
    path
}

/// One `fleet_events` process, its stdout lines collected as they come.
pub struct Node {
    pub name: String,
    child: Child,
    lines: watch::Receiver<Arc<Vec<String>>>,
}

impl Node {
    /// Starts `fleet_events <role> --instance <name> <args…>` and waits for
    /// its `ready` line (its bridge connected and subscribed).
    pub async fn start(url: &str, app: &str, role: &str, name: &str, args: &[&str]) -> Node {
        let mut child = Command::new(example())
            .arg(role)
            .args(["--nats", url, "--app", app, "--instance", name])
            .args(args)
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .kill_on_drop(true)
            .spawn()
            .expect("fleet_events starts");
        let stdout = child.stdout.take().unwrap();
        let (tx, lines) = watch::channel(Arc::new(Vec::new()));
        tokio::spawn(async move {
            let mut reader = BufReader::new(stdout).lines();
            while let Ok(Some(line)) = reader.next_line().await {
                tx.send_modify(|all| Arc::make_mut(all).push(line));
            }
        });
        let node = Node {
            name: name.to_string(),
            child,
            lines,
        };
        node.wait_line(&format!("ready {name}"), Duration::from_secs(20))
            .await;
        node
    }

    /// Every line so far.
    pub fn lines(&self) -> Arc<Vec<String>> {
        self.lines.borrow().clone()
    }

    /// Waits until `line` was printed.
    pub async fn wait_line(&self, line: &str, within: Duration) {
        self.wait_until(within, |lines| lines.iter().any(|l| l == line))
            .await
            .unwrap_or_else(|| {
                panic!(
                    "{} did not print `{line}` within {within:?}; it printed {:?}",
                    self.name,
                    self.lines()
                )
            });
    }

    /// Waits until `done` holds for the lines printed; `None` past `within`.
    pub async fn wait_until(
        &self,
        within: Duration,
        done: impl Fn(&[String]) -> bool,
    ) -> Option<()> {
        let mut rx = self.lines.clone();
        tokio::time::timeout(within, async {
            loop {
                if done(&rx.borrow_and_update()) {
                    return;
                }
                if rx.changed().await.is_err() {
                    // The process ended: one last look.
                    if done(&rx.borrow()) {
                        return;
                    }
                    std::future::pending::<()>().await;
                }
            }
        })
        .await
        .ok()
    }

    /// Ids from lines `<kind> <subject> <id> <instance>`.
    pub fn ids(&self, kind: &str) -> Vec<u64> {
        self.lines()
            .iter()
            .filter_map(|l| {
                let mut parts = l.split(' ');
                (parts.next() == Some(kind))
                    .then(|| parts.nth(1).and_then(|id| id.parse().ok()))
                    .flatten()
            })
            .collect()
    }

    /// SIGKILL: no goodbye, no flush.
    pub async fn kill(&mut self) {
        let _ = self.child.kill().await;
    }

    /// Waits for the process to end by itself.
    pub async fn exit(&mut self, within: Duration) -> std::process::ExitStatus {
        tokio::time::timeout(within, self.child.wait())
            .await
            .unwrap_or_else(|_| panic!("{} did not exit within {within:?}", self.name))
            .unwrap()
    }
}

/// Polls `check` every 50 ms until it returns `Some`, at most `within`: for
/// what other processes do, which sends no signal to wait for.
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
        if tokio::time::Instant::now() >= deadline {
            panic!("{what}: not within {within:?}");
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// Waits until the server has processed everything `client` sent before
/// (its subscriptions): a request nobody answers comes back as "no
/// responders" only after that. (`flush` just empties the socket buffer.)
pub async fn synced(client: &async_nats::Client) {
    let subject = format!("_TEST.sync.{}", fastrand::u64(..));
    match client.request(subject, bytes::Bytes::new()).await {
        Ok(_) => {}
        Err(e) => assert_eq!(e.kind(), async_nats::RequestErrorKind::NoResponders, "{e}"),
    }
}
