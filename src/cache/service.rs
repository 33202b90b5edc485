//! The cache service: the actor that owns a cache's lifecycle, its
//! background expiry sweep and its health.
//!
//! The actor never sits on the data path — handles read and write the
//! shared store directly. What it does, every
//! [`sweep_interval`](super::CacheConfig::sweep_interval):
//!
//! 1. removes expired entries (calling the removal listener for each), at
//!    most [`sweep_limit`](super::CacheConfig::sweep_limit) per pass; if
//!    more are due it reports [`Status::Degraded`] ("sweep behind") and runs
//!    another pass at once, clearing the status when it has caught up;
//! 2. publishes the cache's [`CacheStats`](super::CacheStats) as its health
//!    details, plus `shards`, `capacity`, `sweeps`, `last_sweep_expired`
//!    and `sweep_behind`.
//!
//! How it fails: a panic in a sweep (in practice, a removal listener that
//! panics) ends the instance like any actor panic; its supervisor restarts
//! it. The entries live in the store, not the actor, so they survive the
//! restart, handles keep working while the actor is down (expired entries
//! are still never returned), and the new instance resumes sweeping.

use super::store::Store;
use crate::exit::BoxError;
use crate::health::Details;
use crate::service::{Service, ServiceContext};
use crate::status::Status;
use actix::fut::ready;
use actix::{Actor, AsyncContext, Context, ResponseActFuture};
use std::hash::Hash;
use std::sync::Arc;
use std::time::Duration;

/// The actor behind a [`Cache`](super::Cache). Build it with
/// [`Cache::service`](super::Cache::service) or
/// [`Cache::builder`](super::Cache::builder), which hand back its
/// [`ChildSpec`](crate::ChildSpec); it takes no messages.
pub struct CacheService<K, V>
where
    K: Hash + Eq + Clone + Send + Sync + 'static,
    V: Clone + Send + Sync + 'static,
{
    store: Arc<Store<K, V>>,
    cx: Option<ServiceContext>,
    sweeps: u64,
    behind: bool,
}

impl<K, V> CacheService<K, V>
where
    K: Hash + Eq + Clone + Send + Sync + 'static,
    V: Clone + Send + Sync + 'static,
{
    pub(crate) fn new(store: Arc<Store<K, V>>) -> Self {
        CacheService {
            store,
            cx: None,
            sweeps: 0,
            behind: false,
        }
    }

    fn sweep(&mut self, ctx: &mut Context<Self>) {
        let Some(cx) = self.cx.clone() else { return };
        let report = self.store.sweep(self.store.config.sweep_limit);
        self.sweeps += 1;
        self.publish(&cx, report.expired, report.behind);
        if report.behind {
            if !self.behind {
                tracing::warn!(cache = %self.store.name, removed = report.expired, "expiry sweep behind");
                cx.set_status_with(
                    Status::Degraded,
                    format!(
                        "expiry sweep behind: removed {} expired entries in one pass, more are due",
                        report.expired
                    ),
                );
            }
            self.behind = true;
            ctx.run_later(Duration::ZERO, |act, ctx| act.sweep(ctx));
        } else if self.behind {
            self.behind = false;
            cx.clear_error();
        }
    }

    fn publish(&self, cx: &ServiceContext, last_expired: usize, behind: bool) {
        let stats = self.store.stats();
        let mut details: Details = match serde_json::to_value(stats) {
            Ok(serde_json::Value::Object(map)) => map.into_iter().collect(),
            _ => Details::new(),
        };
        let mut put = |k: &str, v: serde_json::Value| {
            details.insert(k.to_string(), v);
        };
        put("shards", self.store.shard_count().into());
        put("capacity", self.store.config.capacity.into());
        put("sweeps", self.sweeps.into());
        put("last_sweep_expired", last_expired.into());
        put("sweep_behind", behind.into());
        cx.set_details(details);
    }
}

impl<K, V> Actor for CacheService<K, V>
where
    K: Hash + Eq + Clone + Send + Sync + 'static,
    V: Clone + Send + Sync + 'static,
{
    type Context = Context<Self>;
}

impl<K, V> Service for CacheService<K, V>
where
    K: Hash + Eq + Clone + Send + Sync + 'static,
    V: Clone + Send + Sync + 'static,
{
    fn start(
        &mut self,
        cx: &ServiceContext,
        ctx: &mut Context<Self>,
    ) -> ResponseActFuture<Self, Result<(), BoxError>> {
        self.store.open(cx);
        self.cx = Some(cx.clone());
        self.publish(cx, 0, false);
        ctx.run_interval(self.store.config.sweep_interval, |act, ctx| act.sweep(ctx));
        Box::pin(ready(Ok(())))
    }

    /// Health checks (and heartbeats) run as often as the sweep.
    fn health_interval(&self) -> Duration {
        self.store.config.sweep_interval
    }
}
