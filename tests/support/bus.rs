//! Shared by the `bus_*` suites: starting a bus under a test supervisor,
//! polling a future once, and running work on threads of its own.

use servitor::bus::{BusConfig, EventBus};
use servitor::testing::TestTree;
use std::future::Future;
use std::pin::Pin;
use std::task::Poll;
use std::time::Duration;

/// How long a test waits for something that should happen promptly. Under
/// `tokio::time::pause` it only elapses when the awaited thing never comes.
pub const BOUND: Duration = Duration::from_secs(30);

/// The bus's service name in every suite.
pub const BUS: &str = "events";

/// A bus named `events` with `config`, running under a test supervisor.
pub async fn start<T: Clone + Send + Sync + 'static>(config: BusConfig) -> (TestTree, EventBus<T>) {
    let (spec, bus) = EventBus::<T>::service(BUS, config).expect("valid bus config");
    let tree = TestTree::start(spec).await.expect("the bus starts");
    (tree, bus)
}

/// A bus with the default settings.
pub async fn start_default<T: Clone + Send + Sync + 'static>() -> (TestTree, EventBus<T>) {
    start(BusConfig::default()).await
}

/// Polls `fut` once: `Ready` with its output, or `Pending`.
pub async fn poll_once<F: Future + Unpin>(fut: &mut F) -> Poll<F::Output> {
    std::future::poll_fn(|cx| Poll::Ready(Pin::new(&mut *fut).poll(cx))).await
}

/// Runs `make()` to completion on a new OS thread with a runtime of its
/// own, in parallel with the test's thread; the returned future resolves
/// to its output (and fails the test if the thread panicked).
pub fn on_thread<F, Fut>(make: F) -> impl Future<Output = Fut::Output>
where
    F: FnOnce() -> Fut + Send + 'static,
    Fut: Future,
    Fut::Output: Send + 'static,
{
    let (tx, rx) = tokio::sync::oneshot::channel();
    std::thread::spawn(move || {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("a runtime");
        let _ = tx.send(rt.block_on(make()));
    });
    async move { rx.await.expect("the thread panicked") }
}

/// Awaits `fut`, failing the test if it takes longer than [`BOUND`].
pub async fn within<F: Future>(what: &str, fut: F) -> F::Output {
    tokio::time::timeout(BOUND, fut)
        .await
        .unwrap_or_else(|_| panic!("{what} did not happen within {BOUND:?}"))
}
