//! [`Cache`], the typed handle application code uses, and
//! [`CacheBuilder`], which makes one together with its service's
//! [`ChildSpec`].

use super::config::CacheConfig;
use super::engine::{CacheEngine, Weigher};
use super::error::CacheError;
use super::expiry::Ttl;
use super::listener::{Listener, RemovalCause};
use super::stats::CacheStats;
use crate::kit::{self, ConfigError, Shared};
use crate::supervisor::ChildSpec;
use std::borrow::Borrow;
use std::hash::Hash;
use std::marker::PhantomData;
use std::sync::Arc;
use std::time::Duration;

/// A handle to a cache: cheap to clone, shared by every clone, valid across
/// restarts of the cache's service.
///
/// Operations work on the shared store directly, on the calling thread —
/// they never wait for the service's actor. Each returns
/// [`CacheError::Stopped`] once the service is gone for good (see the
/// [module docs](super)). Values are returned as clones: use `Arc<T>` values
/// for anything expensive to clone.
///
/// ```
/// use std::time::Duration;
/// use servitor::cache::{Cache, CacheConfig, Ttl};
///
/// let (_spec, cache) = Cache::<String, u64>::service("visits", CacheConfig {
///     default_ttl: Some(Duration::from_secs(60)),
///     ..CacheConfig::default()
/// }).unwrap();
/// cache.set("home".to_string(), 1).unwrap();
/// assert_eq!(cache.get("home").unwrap(), Some(1));
/// assert!(matches!(cache.ttl("home").unwrap(), Ttl::Remaining(_)));
/// assert!(cache.persist("home").unwrap());
/// assert_eq!(cache.ttl("home").unwrap(), Ttl::Persistent);
/// assert_eq!(cache.delete("home").unwrap(), Some(1));
/// assert_eq!(cache.len().unwrap(), 0);
/// ```
pub struct Cache<K, V>
where
    K: Hash + Eq + Clone + Send + Sync + 'static,
    V: Clone + Send + Sync + 'static,
{
    pub(crate) shared: Shared<CacheEngine<K, V>>,
}

impl<K, V> Clone for Cache<K, V>
where
    K: Hash + Eq + Clone + Send + Sync + 'static,
    V: Clone + Send + Sync + 'static,
{
    fn clone(&self) -> Self {
        Cache {
            shared: self.shared.clone(),
        }
    }
}

impl<K, V> std::fmt::Debug for Cache<K, V>
where
    K: Hash + Eq + Clone + Send + Sync + 'static,
    V: Clone + Send + Sync + 'static,
{
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Cache")
            .field("name", &self.shared.name)
            .field("config", &self.shared.config)
            .finish()
    }
}

impl<K, V> Cache<K, V>
where
    K: Hash + Eq + Clone + Send + Sync + 'static,
    V: Clone + Send + Sync + 'static,
{
    /// A cache service named `name` with `config`: the child spec to put in
    /// a supervision tree, and the handle. Shorthand for
    /// `Cache::builder(name).config(config).build()`.
    pub fn service(
        name: impl Into<String>,
        config: CacheConfig,
    ) -> Result<(ChildSpec, Cache<K, V>), ConfigError> {
        Self::builder(name).config(config).build()
    }

    /// A builder, for a removal listener or a weigher.
    pub fn builder(name: impl Into<String>) -> CacheBuilder<K, V> {
        CacheBuilder {
            name: name.into(),
            config: CacheConfig::default(),
            listener: None,
            weigher: None,
            _types: PhantomData,
        }
    }

    /// The cache service's name.
    pub fn name(&self) -> &str {
        &self.shared.name
    }

    /// The configuration it was built with.
    pub fn config(&self) -> &CacheConfig {
        &self.shared.config
    }

    /// The number of shards in use (see [`CacheConfig::shards`]).
    pub fn shards(&self) -> usize {
        self.shared.shard_count()
    }

    /// Whether the service is supervised and started (a crash of its actor
    /// does not change this: the data path keeps working meanwhile).
    pub fn is_running(&self) -> bool {
        self.shared.is_running()
    }

    /// True once the service is gone for good and every operation fails.
    pub fn is_stopped(&self) -> bool {
        self.shared.is_stopped()
    }

    /// Resolves once the service is gone for good.
    pub async fn stopped(&self) {
        self.shared.stopped().await
    }

    /// The value of a live entry. Counted as a hit or a miss, and as a read
    /// by the eviction [policy](super::policy) (S3-FIFO bumps the entry's
    /// frequency counter, LRU makes it the most recently used).
    #[inline]
    pub fn get<Q>(&self, key: &Q) -> Result<Option<V>, CacheError>
    where
        K: Borrow<Q>,
        Q: Hash + Eq + ?Sized,
    {
        let hash = self.shared.hash(key);
        self.shared
            .read(hash, |shard, removals| shard.get(hash, key, removals))
    }

    /// Stores `value` under `key` with the default TTL
    /// ([`CacheConfig::default_ttl`]; none: no expiry). Replacing an entry
    /// also replaces its TTL: a key re-inserted with `set` gets the default
    /// TTL again, whatever `expire` or `persist` did to it before (unlike
    /// Redis, whose `SET` makes a key persistent).
    ///
    /// Evicts an entry if the cache is full (an expired one if any is due,
    /// else the [policy](super::policy)'s victim); `len` never exceeds the
    /// capacity once this returns. Writing a key the cache holds counts as
    /// a read of it for the policy.
    #[inline]
    pub fn set(&self, key: K, value: V) -> Result<(), CacheError> {
        self.insert(key, value, self.shared.config.default_ttl)
    }

    /// Stores `value` under `key`, expiring after `ttl` (zero: at once).
    pub fn set_with_ttl(&self, key: K, value: V, ttl: Duration) -> Result<(), CacheError> {
        self.insert(key, value, Some(ttl))
    }

    /// Stores `value` under `key` with no expiry, whatever the default TTL.
    pub fn set_persistent(&self, key: K, value: V) -> Result<(), CacheError> {
        self.insert(key, value, None)
    }

    #[inline]
    fn insert(&self, key: K, value: V, ttl: Option<Duration>) -> Result<(), CacheError> {
        let engine = &*self.shared;
        let hash = engine.hash(&key);
        engine.insert(hash, key, value, engine.expires_at(ttl), |_| {})
    }

    /// Removes `key`; returns its value if it held a live one.
    pub fn delete<Q>(&self, key: &Q) -> Result<Option<V>, CacheError>
    where
        K: Borrow<Q>,
        Q: Hash + Eq + ?Sized,
    {
        let hash = self.shared.hash(key);
        let taken = self
            .shared
            .with_shard(hash, |shard, removals| shard.take(hash, key, removals))?;
        Ok(taken.map(|(k, v)| {
            if let Some(listener) = &self.shared.listener {
                listener(&k, &v, RemovalCause::Explicit);
            }
            v
        }))
    }

    /// Whether `key` has a live entry. Does not count as a read, for the
    /// stats or for the eviction policy.
    pub fn contains<Q>(&self, key: &Q) -> Result<bool, CacheError>
    where
        K: Borrow<Q>,
        Q: Hash + Eq + ?Sized,
    {
        let hash = self.shared.hash(key);
        self.shared
            .read(hash, |shard, removals| shard.contains(hash, key, removals))
    }

    /// Removes every entry; returns how many live ones there were. The
    /// listener hears of each (cause explicit, or expired for those that
    /// had expired). Counters are kept.
    pub fn clear(&self) -> Result<usize, CacheError> {
        let mut removed = 0;
        self.shared
            .each_shard(|shard, removals| removed += shard.clear(removals))?;
        Ok(removed)
    }

    /// The exact number of live entries: expired entries are removed first
    /// (and reported), so none is counted.
    pub fn len(&self) -> Result<usize, CacheError> {
        let mut len = 0;
        self.shared
            .each_shard(|shard, removals| len += shard.live_len(removals))?;
        Ok(len)
    }

    /// Whether there is no live entry.
    pub fn is_empty(&self) -> Result<bool, CacheError> {
        self.len().map(|n| n == 0)
    }

    /// The remaining time to live of `key` (Redis `TTL`). Not a read.
    pub fn ttl<Q>(&self, key: &Q) -> Result<Ttl, CacheError>
    where
        K: Borrow<Q>,
        Q: Hash + Eq + ?Sized,
    {
        let hash = self.shared.hash(key);
        self.shared
            .read(hash, |shard, removals| shard.ttl(hash, key, removals))
    }

    /// Makes `key` expire after `ttl` from now (Redis `EXPIRE`); a zero
    /// `ttl` removes it at once (cause expired). Returns whether the key
    /// existed.
    pub fn expire<Q>(&self, key: &Q, ttl: Duration) -> Result<bool, CacheError>
    where
        K: Borrow<Q>,
        Q: Hash + Eq + ?Sized,
    {
        let engine = &*self.shared;
        let hash = engine.hash(key);
        let at = engine.expires_at(Some(ttl));
        engine.with_shard(hash, |shard, removals| {
            shard.set_expiry(hash, key, at, removals)
        })
    }

    /// Removes the expiry of `key` (Redis `PERSIST`). Returns true if the
    /// key existed and had one.
    pub fn persist<Q>(&self, key: &Q) -> Result<bool, CacheError>
    where
        K: Borrow<Q>,
        Q: Hash + Eq + ?Sized,
    {
        let hash = self.shared.hash(key);
        self.shared
            .with_shard(hash, |shard, removals| shard.persist(hash, key, removals))
    }

    /// The counters, added up over the shards (see [`CacheStats`]). Still
    /// available after the service stopped.
    pub fn stats(&self) -> CacheStats {
        self.shared.stats()
    }
}

/// Builds a [`Cache`] and its service's [`ChildSpec`]. Get one from
/// [`Cache::builder`].
///
/// ```
/// use servitor::cache::{Cache, CacheConfig};
///
/// let (spec, pages) = Cache::<String, Vec<u8>>::builder("pages")
///     .config(CacheConfig { max_weight: Some(64 << 20), ..CacheConfig::default() })
///     .weigher(|k, v| (k.len() + v.len()) as u32)
///     .on_removal(|k, _, cause| println!("{k} left: {cause:?}"))
///     .build()
///     .unwrap();
/// assert_eq!(spec.id(), "pages");
/// # let _ = pages;
/// ```
#[must_use = "a builder does nothing until `build` is called"]
pub struct CacheBuilder<K, V> {
    name: String,
    config: CacheConfig,
    listener: Option<Listener<K, V>>,
    weigher: Option<Weigher<K, V>>,
    _types: PhantomData<fn() -> (K, V)>,
}

impl<K, V> CacheBuilder<K, V>
where
    K: Hash + Eq + Clone + Send + Sync + 'static,
    V: Clone + Send + Sync + 'static,
{
    /// Sets the configuration (default: [`CacheConfig::default`]).
    pub fn config(mut self, config: CacheConfig) -> Self {
        self.config = config;
        self
    }

    /// Calls `listener` for every entry that leaves the cache (see
    /// [`listener`](super::listener) for when and on which thread).
    pub fn on_removal(
        mut self,
        listener: impl Fn(&K, &V, RemovalCause) + Send + Sync + 'static,
    ) -> Self {
        self.listener = Some(Arc::new(listener));
        self
    }

    /// Measures entries for [`CacheConfig::max_weight`] (often in bytes).
    /// Called once per insert, outside any lock.
    pub fn weigher(mut self, weigher: impl Fn(&K, &V) -> u32 + Send + Sync + 'static) -> Self {
        self.weigher = Some(Arc::new(weigher));
        self
    }

    /// Validates the name and the configuration and makes the child spec
    /// and the handle.
    ///
    /// The spec starts the cache's actor; the handle works at once (before
    /// the service starts, entries are simply not swept yet). Dropping the
    /// spec without ever running it stops the cache.
    pub fn build(self) -> Result<(ChildSpec, Cache<K, V>), ConfigError> {
        let CacheBuilder {
            name,
            config,
            listener,
            weigher,
            ..
        } = self;
        let (spec, shared) = kit::service(name, |name| {
            config.validate(name)?;
            if config.max_weight.is_some() && weigher.is_none() {
                return Err(ConfigError::field(
                    name,
                    "max_weight",
                    "is set but no weigher was given",
                ));
            }
            Ok(CacheEngine::new(
                name.to_string(),
                config,
                listener,
                weigher,
            ))
        })?;
        Ok((spec, Cache { shared }))
    }
}

impl<K, V> std::fmt::Debug for CacheBuilder<K, V> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CacheBuilder")
            .field("name", &self.name)
            .field("config", &self.config)
            .field("listener", &self.listener.is_some())
            .field("weigher", &self.weigher.is_some())
            .finish()
    }
}
