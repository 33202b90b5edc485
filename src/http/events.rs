//! `/services/events`: Server-Sent Events from the registry's watch.
//!
//! A stream opens with `retry: 2000` and a `snapshot` event (the whole
//! registry), then one `status` event per service with its current status
//! (`"from": null`), then a `status` event for every transition as it
//! happens — [`Registry::watch_all`](crate::Registry::watch_all) gives
//! exactly that order. Between transitions, a `snapshot` event every
//! [`snapshot_interval`](super::HttpConfig::snapshot_interval) brings
//! uptimes, counters and details up to date.
//!
//! ```text
//! event: status
//! data: {"name":"ingest","from":"ok","status":"error","message":"restarting in 50 ms after: panicked: poisoned record","report":{…}}
//! ```
//!
//! The `report` of a `status` event is the service's report as the
//! registry had it when the event was sent (it may be a little ahead of the
//! transition it comes with, never behind it).

use super::engine::{Counters, Site};
use super::routes::{access, error};
use crate::registry::{Registry, StatusChange, StatusWatch};
use actix_web::http::{header, StatusCode};
use actix_web::web::{self, Bytes};
use actix_web::{HttpRequest, HttpResponse};
use serde_json::json;
use std::collections::VecDeque;
use std::sync::atomic::Ordering;
use std::sync::Arc;
use tokio_util::sync::CancellationToken;

/// Counts an open stream for as long as it lives.
struct Open(Arc<Counters>);

impl Drop for Open {
    fn drop(&mut self) {
        self.0.event_streams.fetch_sub(1, Ordering::Relaxed);
    }
}

struct State {
    registry: Registry,
    watch: StatusWatch,
    ticker: tokio::time::Interval,
    closing: CancellationToken,
    queued: VecDeque<Bytes>,
    _open: Open,
}

fn frame(event: &str, data: &serde_json::Value) -> Bytes {
    Bytes::from(format!("event: {event}\ndata: {data}\n\n"))
}

fn status_event(registry: &Registry, change: &StatusChange) -> Bytes {
    let report = registry.get(&change.name);
    frame(
        "status",
        &json!({
            "name": change.name,
            "from": change.from,
            "status": change.status,
            "message": change.message,
            "report": report,
        }),
    )
}

fn snapshot_event(registry: &Registry) -> Bytes {
    let snapshot = serde_json::to_value(registry.snapshot()).unwrap_or_default();
    frame("snapshot", &snapshot)
}

pub(crate) async fn stream(req: HttpRequest, site: web::Data<Site>) -> HttpResponse {
    if let Err(refusal) = access(&req, &site) {
        return refusal.response();
    }
    let counters = site.counters.clone();
    let max = site.config.max_event_streams;
    let open = counters.event_streams.fetch_add(1, Ordering::Relaxed);
    let guard = Open(counters);
    if open >= max {
        drop(guard);
        return error(
            StatusCode::SERVICE_UNAVAILABLE,
            format!("too many event streams open (at most {max})"),
        );
    }
    let registry = site.registry.clone();
    let mut queued = VecDeque::new();
    queued.push_back(Bytes::from_static(b"retry: 2000\n\n"));
    queued.push_back(snapshot_event(&registry));
    // Watched after the snapshot: its first items (every current status)
    // are never older than the snapshot.
    let watch = registry.watch_all();
    let every = site.config.snapshot_interval;
    let mut ticker = tokio::time::interval_at(tokio::time::Instant::now() + every, every);
    ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let state = State {
        registry,
        watch,
        ticker,
        closing: site.closing.clone(),
        queued,
        _open: guard,
    };
    let body = futures_util::stream::unfold(state, |mut st| async move {
        if let Some(next) = st.queued.pop_front() {
            return Some((Ok::<_, actix_web::Error>(next), st));
        }
        let next = tokio::select! {
            biased;
            _ = st.closing.cancelled() => return None,
            change = st.watch.next() => match change {
                Some(change) => status_event(&st.registry, &change),
                None => return None,
            },
            _ = st.ticker.tick() => snapshot_event(&st.registry),
        };
        Some((Ok(next), st))
    });
    HttpResponse::Ok()
        .content_type("text/event-stream")
        .insert_header(header::CacheControl(vec![header::CacheDirective::NoCache]))
        .insert_header(("X-Accel-Buffering", "no"))
        .streaming(body)
}
