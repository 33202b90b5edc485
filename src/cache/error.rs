//! How cache operations fail.
//!
//! * [`CacheError`] — an operation could not be done: the cache service is
//!   gone for good, an entry is too heavy to hold, a glob pattern is
//!   malformed. Nothing changed in the cache.
//! * [`ConfigError`](crate::kit::ConfigError) — building a cache from an
//!   invalid [`CacheConfig`](super::CacheConfig); names the field and what
//!   is wrong with it.
//! * [`LoadError`] — a [`get_or_insert_with`](super::Cache::get_or_insert_with)
//!   loader failed or panicked; every caller waiting on that load gets the
//!   same error.

use std::sync::Arc;

/// A failed cache operation. Nothing was changed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum CacheError {
    /// The cache service is gone for good (removed from its supervisor,
    /// ended without restart, or its runtime shut down); its entries were
    /// dropped.
    #[error("cache `{service}` is stopped")]
    Stopped {
        /// The cache's service name.
        service: String,
    },
    /// The entry alone weighs more than the cache's `max_weight`; it was
    /// not stored (and an entry it would have replaced is left as it was).
    #[error("an entry of weight {weight} exceeds the weight limit {limit} of cache `{service}`")]
    TooHeavy {
        /// The cache's service name.
        service: String,
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

impl From<crate::kit::Stopped> for CacheError {
    fn from(e: crate::kit::Stopped) -> Self {
        CacheError::Stopped { service: e.service }
    }
}

/// A failed [`get_or_insert_with`](super::Cache::get_or_insert_with).
///
/// Cloneable: every caller that waited on the same load gets the same
/// error. Nothing was cached, and the next call runs the loader again.
#[derive(Debug, Clone, thiserror::Error)]
#[non_exhaustive]
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
