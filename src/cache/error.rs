//! How cache operations fail.
//!
//! * [`CacheError`] — an operation could not be done: the cache service is
//!   gone for good, an entry is too heavy to hold, a glob pattern is
//!   malformed. Nothing changed in the cache.
//! * [`ConfigError`] — building a cache from an invalid [`CacheConfig`](super::CacheConfig);
//!   names the field and what is wrong with it.
//! * [`LoadError`] — a [`get_or_insert_with`](super::Cache::get_or_insert_with)
//!   loader failed or panicked; every caller waiting on that load gets the
//!   same error.

use std::sync::Arc;

/// A failed cache operation. Nothing was changed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CacheError {
    /// The cache service is gone for good (removed from its supervisor,
    /// ended without restart, or its runtime shut down); its entries were
    /// dropped.
    #[error("cache `{cache}` is stopped")]
    Stopped {
        /// The cache's service name.
        cache: String,
    },
    /// The entry alone weighs more than the cache's `max_weight`; it was
    /// not stored (and an entry it would have replaced is left as it was).
    #[error("an entry of weight {weight} exceeds the weight limit {limit} of cache `{cache}`")]
    TooHeavy {
        /// The cache's service name.
        cache: String,
        /// What the weigher said the entry weighs.
        weight: u64,
        /// The cache's `max_weight`.
        limit: u64,
    },
    /// A glob pattern could not be parsed.
    #[error("invalid glob pattern `{pattern}`: {problem}")]
    InvalidPattern {
        /// The pattern as given.
        pattern: String,
        /// What is wrong with it.
        problem: String,
    },
}

/// An invalid cache configuration.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ConfigError {
    /// A field of [`CacheConfig`](super::CacheConfig) has a value the cache
    /// cannot work with.
    #[error("cache `{cache}`: `{field}` {problem}")]
    InvalidField {
        /// The cache's service name.
        cache: String,
        /// The field's name, as in the config file.
        field: &'static str,
        /// What is wrong with its value.
        problem: String,
    },
    /// `max_weight` is set but no weigher was given to measure entries.
    #[error("cache `{cache}`: `max_weight` is set but no weigher was given")]
    MissingWeigher {
        /// The cache's service name.
        cache: String,
    },
    /// The service name is empty.
    #[error("a cache needs a non-empty service name")]
    EmptyName,
}

/// A failed [`get_or_insert_with`](super::Cache::get_or_insert_with).
///
/// Cloneable: every caller that waited on the same load gets the same
/// error. Nothing was cached, and the next call runs the loader again.
#[derive(Debug, Clone, thiserror::Error)]
pub enum LoadError {
    /// The loader returned an error.
    #[error("loader failed: {0}")]
    Failed(Arc<dyn std::error::Error + Send + Sync + 'static>),
    /// The loader panicked; this is the panic message.
    #[error("loader panicked: {0}")]
    Panicked(String),
    /// The cache itself refused (it is stopped).
    #[error(transparent)]
    Cache(#[from] CacheError),
}
