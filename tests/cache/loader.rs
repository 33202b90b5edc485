//! `get_or_insert_with`: single-flight loading. Concurrent callers for one
//! missing key share one loader run; its error or panic reaches all of them
//! without a hang, nothing is cached, and the next call retries.

use servitor::cache::{Cache, CacheConfig, CacheError, LoadError, Ttl};
use servitor::ChildSpec;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::{mpsc, watch};
use tokio::task::JoinSet;

#[derive(Clone, Copy)]
enum Outcome {
    Value(u32),
    Error(&'static str),
    Panic(&'static str),
}

/// Loaders that count their runs and finish only once the gate opens.
#[derive(Clone)]
struct Loaders {
    runs: Arc<AtomicUsize>,
    gate: watch::Receiver<bool>,
}

impl Loaders {
    fn new() -> (Loaders, watch::Sender<bool>) {
        let (open, gate) = watch::channel(false);
        let runs = Arc::new(AtomicUsize::new(0));
        (Loaders { runs, gate }, open)
    }

    fn runs(&self) -> usize {
        self.runs.load(Ordering::SeqCst)
    }

    async fn call(
        &self,
        c: &Cache<u32, u32>,
        key: u32,
        outcome: Outcome,
    ) -> Result<u32, LoadError> {
        let (runs, mut gate) = (self.runs.clone(), self.gate.clone());
        c.get_or_insert_with(key, move || async move {
            runs.fetch_add(1, Ordering::SeqCst);
            gate.wait_for(|open| *open).await.unwrap();
            match outcome {
                Outcome::Value(v) => Ok(v),
                Outcome::Error(e) => Err(e),
                Outcome::Panic(msg) => panic!("{msg}"),
            }
        })
        .await
    }

    /// Starts `n` callers and returns once each has made its first look-up
    /// (and so either leads the load or waits on it).
    async fn start_callers(
        &self,
        n: usize,
        c: &Cache<u32, u32>,
        key: u32,
        outcome: Outcome,
    ) -> JoinSet<Result<u32, LoadError>> {
        let (entered_tx, mut entered) = mpsc::unbounded_channel();
        let mut set = JoinSet::new();
        for _ in 0..n {
            let (loaders, c, entered_tx) = (self.clone(), c.clone(), entered_tx.clone());
            set.spawn(async move {
                let call = loaders.call(&c, key, outcome);
                tokio::pin!(call);
                // Poll the call once, then say so.
                tokio::select! {
                    biased;
                    done = &mut call => return done,
                    _ = std::future::ready(()) => {}
                }
                entered_tx.send(()).unwrap();
                call.await
            });
        }
        for _ in 0..n {
            entered.recv().await.unwrap();
        }
        set
    }
}

fn cache() -> (ChildSpec, Cache<u32, u32>) {
    Cache::service("loader", CacheConfig::default()).unwrap()
}

#[tokio::test]
async fn one_hundred_concurrent_callers_run_the_loader_once_and_all_get_its_value() {
    let (_spec, c) = cache();
    let (loaders, open) = Loaders::new();
    let callers = loaders.start_callers(100, &c, 7, Outcome::Value(42)).await;
    assert_eq!(loaders.runs(), 1, "one loader started for 100 callers");
    open.send(true).unwrap();
    let results = callers.join_all().await;
    assert_eq!(results.len(), 100);
    assert!(results.iter().all(|r| matches!(r, Ok(42))), "{results:?}");
    assert_eq!(loaders.runs(), 1);
    assert_eq!(c.get(&7).unwrap(), Some(42), "the value is cached");
    let s = c.stats();
    assert_eq!(
        (s.loads, s.load_failures, s.misses, s.inserts),
        (1, 0, 100, 1)
    );
}

#[tokio::test]
async fn a_loader_error_reaches_every_waiter_caches_nothing_and_the_next_call_retries() {
    let (_spec, c) = cache();
    let (loaders, open) = Loaders::new();
    let callers = loaders
        .start_callers(100, &c, 7, Outcome::Error("database down"))
        .await;
    open.send(true).unwrap();
    for result in callers.join_all().await {
        match result {
            Err(LoadError::Failed(e)) => assert_eq!(e.to_string(), "database down"),
            other => panic!("expected the loader's error, got {other:?}"),
        }
    }
    assert_eq!(loaders.runs(), 1);
    assert!(!c.contains(&7).unwrap(), "nothing cached");
    assert_eq!(loaders.call(&c, 7, Outcome::Value(5)).await.unwrap(), 5);
    assert_eq!(loaders.runs(), 2, "the next call ran a loader again");
    let s = c.stats();
    assert_eq!((s.loads, s.load_failures), (1, 1));
}

#[tokio::test]
async fn a_loader_panic_reaches_every_waiter_as_an_error_and_the_next_call_retries() {
    let (_spec, c) = cache();
    let (loaders, open) = Loaders::new();
    let callers = loaders
        .start_callers(100, &c, 7, Outcome::Panic("loader exploded"))
        .await;
    open.send(true).unwrap();
    for result in callers.join_all().await {
        match result {
            Err(LoadError::Panicked(msg)) => assert_eq!(msg, "loader exploded"),
            other => panic!("expected the panic as an error, got {other:?}"),
        }
    }
    assert!(!c.contains(&7).unwrap());
    assert_eq!(loaders.call(&c, 7, Outcome::Value(9)).await.unwrap(), 9);
    assert_eq!(loaders.runs(), 2);
}

#[tokio::test]
async fn when_the_leading_caller_is_cancelled_a_waiter_loads_instead() {
    let (_spec, c) = cache();
    let (loaders, open) = Loaders::new();
    let mut leader = loaders.start_callers(1, &c, 7, Outcome::Value(1)).await;
    let waiter = loaders.start_callers(1, &c, 7, Outcome::Value(2)).await;
    assert_eq!(loaders.runs(), 1);
    leader.abort_all();
    assert!(leader
        .join_next()
        .await
        .unwrap()
        .unwrap_err()
        .is_cancelled());
    open.send(true).unwrap();
    let results = waiter.join_all().await;
    assert!(matches!(results[..], [Ok(2)]), "{results:?}");
    assert_eq!(loaders.runs(), 2);
    assert_eq!(c.get(&7).unwrap(), Some(2));
}

#[tokio::test]
async fn a_present_key_is_returned_without_running_the_loader() {
    let (_spec, c) = cache();
    c.set(7, 70).unwrap();
    let (loaders, _open) = Loaders::new();
    assert_eq!(loaders.call(&c, 7, Outcome::Value(1)).await.unwrap(), 70);
    assert_eq!(loaders.runs(), 0);
    assert_eq!(c.stats().hits, 1);
}

#[tokio::test(start_paused = true)]
async fn a_loaded_value_gets_the_default_ttl() {
    let (_spec, c) = Cache::<u32, u32>::service(
        "loader",
        CacheConfig {
            default_ttl: Some(Duration::from_secs(30)),
            ..CacheConfig::default()
        },
    )
    .unwrap();
    let (loaders, open) = Loaders::new();
    open.send(true).unwrap();
    loaders.call(&c, 1, Outcome::Value(1)).await.unwrap();
    assert_eq!(c.ttl(&1).unwrap(), Ttl::Remaining(Duration::from_secs(30)));
}

#[tokio::test]
async fn loading_into_a_stopped_cache_is_a_typed_error() {
    let (spec, c) = cache();
    drop(spec);
    let (loaders, open) = Loaders::new();
    open.send(true).unwrap();
    let err = loaders.call(&c, 1, Outcome::Value(1)).await.unwrap_err();
    assert!(
        matches!(err, LoadError::Cache(CacheError::Stopped { .. })),
        "{err:?}"
    );
    assert_eq!(loaders.runs(), 0);
}
