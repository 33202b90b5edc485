//! Single-flight loading: [`Cache::get_or_insert_with`].
//!
//! When a key is missing, the first caller runs its loader; every caller
//! that asks for the same key while that load runs waits for it instead of
//! running its own. The loaded value is cached (with the default TTL) and
//! handed to all of them.
//!
//! How it fails, without hanging anyone:
//!
//! * the loader returns an error or panics → every waiting caller gets the
//!   same [`LoadError`] (`Failed` or `Panicked`; the panic does not unwind
//!   into the callers), nothing is cached, and the next call runs a loader
//!   again;
//! * the leading caller's future is dropped (cancelled, timed out) before
//!   its loader finished → the waiters notice, and one of them runs its own
//!   loader;
//! * a loader that never finishes keeps its waiters waiting: bound it with
//!   `tokio::time::timeout` inside the loader.
//!
//! ```
//! use servitor::cache::{Cache, CacheConfig};
//!
//! # #[tokio::main(flavor = "current_thread")] async fn main() {
//! let (_spec, users) = Cache::<u64, String>::service("users", CacheConfig::default()).unwrap();
//! let name = users
//!     .get_or_insert_with(7, || async { Ok::<_, std::io::Error>("ada".to_string()) })
//!     .await
//!     .unwrap();
//! assert_eq!(name, "ada");
//! assert_eq!(users.get(&7).unwrap().as_deref(), Some("ada"));
//! # }
//! ```

use super::engine::CacheEngine;
use super::error::{CacheError, LoadError};
use super::handle::Cache;
use crate::exit::BoxError;
use crate::kit::catch_call_async;
use std::future::Future;
use std::hash::Hash;
use std::sync::atomic::Ordering;
use std::sync::Arc;
use tokio::sync::watch;

type Outcome<V> = Option<Result<V, LoadError>>;

/// One load in progress: its outcome, once there is one.
pub(crate) struct Flight<V> {
    tx: watch::Sender<Outcome<V>>,
}

enum Role<V> {
    Hit(V),
    Wait(watch::Receiver<Outcome<V>>),
    Lead(Arc<Flight<V>>),
}

impl<K, V> Cache<K, V>
where
    K: Hash + Eq + Clone + Send + Sync + 'static,
    V: Clone + Send + Sync + 'static,
{
    /// The value of `key`; if it is missing, the value `loader` produces,
    /// which is then cached with the default TTL. Concurrent calls for the
    /// same missing key run one loader and share its result (see the
    /// [module docs](super::loader) for failures). The first look-up counts
    /// as a hit or a miss; a value that cannot be cached (too heavy) is
    /// still returned.
    pub async fn get_or_insert_with<F, Fut, E>(&self, key: K, loader: F) -> Result<V, LoadError>
    where
        F: FnOnce() -> Fut,
        Fut: Future<Output = Result<V, E>>,
        E: Into<BoxError>,
    {
        let store = &*self.shared;
        let hash = store.hash(&key);
        let mut loader = Some(loader);
        loop {
            let role = store.with_shard(hash, |shard, removals| {
                if let Some(v) = shard.get(hash, &key, removals) {
                    return Role::Hit(v);
                }
                match shard.flights.get(&key) {
                    Some(flight) => Role::Wait(flight.tx.subscribe()),
                    None => {
                        let flight = Arc::new(Flight {
                            tx: watch::channel(None).0,
                        });
                        shard.flights.insert(key.clone(), flight.clone());
                        Role::Lead(flight)
                    }
                }
            })?;
            match role {
                Role::Hit(v) => return Ok(v),
                Role::Wait(mut rx) => {
                    if let Ok(outcome) = rx.wait_for(Option::is_some).await {
                        if let Some(result) = &*outcome {
                            return result.clone();
                        }
                    }
                    // The leader gave up without an outcome: look again.
                }
                Role::Lead(flight) => {
                    let loader = loader.take().expect("a caller leads at most one load");
                    return lead(store, hash, key, flight, loader).await;
                }
            }
        }
    }
}

/// Runs the loader for everyone waiting on `flight`.
async fn lead<K, V, F, Fut, E>(
    store: &CacheEngine<K, V>,
    hash: u64,
    key: K,
    flight: Arc<Flight<V>>,
    loader: F,
) -> Result<V, LoadError>
where
    K: Hash + Eq + Clone + Send + Sync + 'static,
    V: Clone + Send + Sync + 'static,
    F: FnOnce() -> Fut,
    Fut: Future<Output = Result<V, E>>,
    E: Into<BoxError>,
{
    let mut guard = Abandon {
        store,
        hash,
        key: Some(key),
        flight,
    };
    let mut result = match catch_call_async(loader).await {
        Ok(Ok(value)) => Ok(value),
        Ok(Err(e)) => Err(LoadError::Failed(Arc::from(e.into()))),
        Err(panic) => Err(LoadError::Panicked(panic.into_message())),
    };
    let counter = if result.is_ok() {
        &store.loads
    } else {
        &store.load_failures
    };
    counter.fetch_add(1, Ordering::Relaxed);
    let key = guard.key.take().expect("the key is taken once");
    let flight = guard.flight.clone();
    // Cache the value and retire the flight in one critical section: a
    // caller arriving after it finds the value, never an empty slot.
    let cached = match &result {
        Ok(value) => {
            let expires = store.expires_at(store.config.default_ttl);
            match store.insert(hash, key.clone(), value.clone(), expires, |shard| {
                retire(shard, &key, &flight)
            }) {
                // Too heavy to cache: still the value everyone asked for.
                Err(CacheError::TooHeavy { .. }) => {
                    store.with_shard(hash, |shard, _| retire(shard, &key, &flight))
                }
                other => other,
            }
        }
        Err(_) => store.with_shard(hash, |shard, _| retire(shard, &key, &flight)),
    };
    if let Err(stopped) = cached {
        result = Err(stopped.into());
    }
    flight.tx.send_replace(Some(result.clone()));
    result
}

fn retire<K: Hash + Eq, V>(
    shard: &mut super::shard::Shard<K, V>,
    key: &K,
    flight: &Arc<Flight<V>>,
) {
    if shard
        .flights
        .get(key)
        .is_some_and(|f| Arc::ptr_eq(f, flight))
    {
        shard.flights.remove(key);
    }
}

/// Retires the flight of a leader dropped before its loader finished, so
/// its waiters wake up and retry.
struct Abandon<'a, K, V>
where
    K: Hash + Eq + Send + Sync + 'static,
    V: Send + Sync + 'static,
{
    store: &'a CacheEngine<K, V>,
    hash: u64,
    key: Option<K>,
    flight: Arc<Flight<V>>,
}

impl<K, V> Drop for Abandon<'_, K, V>
where
    K: Hash + Eq + Send + Sync + 'static,
    V: Send + Sync + 'static,
{
    fn drop(&mut self) {
        if let Some(key) = self.key.take() {
            let _ = self
                .store
                .with_shard(self.hash, |shard, _| retire(shard, &key, &self.flight));
        }
    }
}
