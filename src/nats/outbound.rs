//! Local events going out: the bus subscriptions that take them, the queue
//! they wait in, and the pump that hands them to NATS — core publish,
//! JetStream publish confirmed by the stream, or a request whose reply
//! goes back to the local requester.
//!
//! Each outbound route is one sync handler on the bus, so a local publish
//! learns at once whether its event was queued for NATS (a full queue is a
//! handler failure in its [`Published`](crate::bus::Published)). An event
//! that came from NATS is never sent back out, and an event that matches
//! several outbound routes goes out once.

use super::codec::{CONTENT_TYPE_HEADER, ORIGIN_HEADER};
use super::config::Delivery;
use super::engine::BridgeEngine;
use super::inbound::from_nats;
use super::stats::Counters;
use crate::bus::{BusError, Event, Pattern};
use crate::exit::BoxError;
use crate::kit::Shared;
use async_nats::jetstream;
use async_nats::{Client, HeaderMap};
use bytes::Bytes;
use futures_util::stream::FuturesUnordered;
use futures_util::{FutureExt, StreamExt};
use std::sync::atomic::Ordering::Relaxed;
use std::sync::Arc;

/// One event on its way to NATS.
pub(crate) struct Outbound<T> {
    pub seq: u64,
    pub subject: String,
    pub payload: Bytes,
    pub delivery: Delivery,
    /// For a local request: the request, to reply to.
    pub request: Option<Event<T>>,
}

impl<T: Clone> Clone for Outbound<T> {
    fn clone(&self) -> Self {
        Outbound {
            seq: self.seq,
            subject: self.subject.clone(),
            payload: self.payload.clone(),
            delivery: self.delivery,
            request: self.request.clone(),
        }
    }
}

/// Subscribes one sync handler per outbound route on the bridge's bus.
pub(crate) fn subscribe<T: Clone + Send + Sync + 'static>(
    shared: &Shared<BridgeEngine<T>>,
) -> Result<(), BusError> {
    let routes = &shared.config.routes;
    let patterns: Vec<Option<Pattern>> = routes
        .iter()
        .map(|r| r.goes_out().then(|| Pattern::new(&r.pattern)).transpose())
        .collect::<Result<_, _>>()?;
    let patterns = Arc::new(patterns);
    let mut subscriptions = Vec::new();
    for (index, route) in routes.iter().enumerate() {
        if !route.goes_out() {
            continue;
        }
        let engine = shared.downgrade();
        let earlier = patterns.clone();
        let delivery = route.delivery;
        let sub = shared
            .bus
            .subscriber(&route.pattern)
            .name(format!("nats:{}", shared.name()))
            .handler(move |event: &Event<T>| -> Result<(), String> {
                if from_nats() {
                    return Ok(());
                }
                if earlier[..index]
                    .iter()
                    .flatten()
                    .any(|p| p.matches(event.subject()))
                {
                    return Ok(()); // an earlier route takes it
                }
                let Some(engine) = engine.upgrade() else {
                    return Ok(());
                };
                engine.enqueue(event, delivery)
            })?;
        subscriptions.push(sub);
    }
    *shared.subscriptions.lock() = subscriptions;
    Ok(())
}

impl<T: Clone + Send + Sync + 'static> BridgeEngine<T> {
    fn enqueue(&self, event: &Event<T>, delivery: Delivery) -> Result<(), String> {
        let payload = self
            .codec
            .encode(event.payload())
            .map_err(|e| e.to_string())?;
        let seq = self.counters.queued.fetch_add(1, Relaxed);
        let subject = self.nats_subject(event.subject().as_str());
        let request = event.reply_to().is_some();
        // The short road: a core event with nothing queued before it goes
        // to the client at once when the client can take it without
        // waiting, skipping the hop through the pump.
        if delivery == Delivery::Core && !request && seq == self.counters.settled.load(Relaxed) {
            let client = self.client.lock().clone();
            if let Some(client) = client.filter(|_| self.link.lock().connected) {
                let sent = client
                    .publish_with_headers(subject.clone(), self.headers(), payload.clone())
                    .now_or_never();
                if let Some(Ok(())) = sent {
                    Counters::bump(&self.counters.forwarded);
                    self.settle(1);
                    return Ok(());
                }
            }
        }
        let item = Outbound {
            seq,
            subject,
            payload,
            delivery,
            request: request.then(|| event.clone()),
        };
        if self.queue_tx.try_send(item).is_err() {
            Counters::bump(&self.counters.refused);
            self.settle(1);
            return Err(format!(
                "the queue for NATS is full ({} events)",
                self.config.queue_capacity
            ));
        }
        Ok(())
    }

    /// The headers every message of this bridge carries (made once).
    pub(crate) fn headers(&self) -> HeaderMap {
        self.headers.clone()
    }
}

/// The origin, and the content type unless it is JSON.
pub(crate) fn make_headers(origin: &str, content_type: &str) -> HeaderMap {
    let mut headers = HeaderMap::new();
    headers.insert(ORIGIN_HEADER, origin);
    if content_type != super::codec::JSON {
        headers.insert(CONTENT_TYPE_HEADER, content_type);
    }
    headers
}

/// Takes events from the queue and hands them to NATS, for as long as the
/// incarnation lives. JetStream publishes left unconfirmed by an earlier
/// incarnation go first.
pub(crate) async fn pump<T: Clone + Send + Sync + 'static>(
    shared: Shared<BridgeEngine<T>>,
    client: Client,
) -> Result<(), BoxError> {
    let mut context = jetstream::new(client.clone());
    context.set_timeout(shared.config.jetstream.ack_timeout);
    let uses_jetstream = shared
        .config
        .routes
        .iter()
        .any(|r| r.delivery == Delivery::JetStream);
    let mut failures = 0;
    if uses_jetstream {
        loop {
            match super::jetstream::ensure_stream(&shared, &context).await {
                Ok(()) => {
                    shared.stream_problem(None);
                    break;
                }
                Err(e) => {
                    let cause = shared.scrub(&e.to_string());
                    tracing::warn!(service = %shared.name(), stream = %shared.config.stream_name(), %cause, "JetStream stream not available");
                    shared.stream_problem(Some(cause));
                    tokio::time::sleep(shared.config.reconnect.delay(failures)).await;
                    failures += 1;
                }
            }
        }
    }
    let mut confirming = FuturesUnordered::new();
    let leftover: Vec<Outbound<T>> = shared.unconfirmed.lock().values().cloned().collect();
    for item in leftover {
        confirming.push(super::jetstream::confirm(
            shared.clone(),
            context.clone(),
            item,
        ));
    }
    let mut queue = shared.queue_rx.lock().await;
    let max_in_flight = shared.config.jetstream.max_in_flight;
    loop {
        tokio::select! {
            Some(()) = confirming.next(), if !confirming.is_empty() => {}
            item = queue.recv(), if confirming.len() < max_in_flight => {
                let Some(item) = item else { return Ok(()) };
                if let Some(request) = item.request.clone() {
                    tokio::spawn(forward_request(shared.clone(), client.clone(), item, request));
                    continue;
                }
                match item.delivery {
                    Delivery::Core => {
                        client
                            .publish_with_headers(item.subject, shared.headers(), item.payload)
                            .await?;
                        Counters::bump(&shared.counters.forwarded);
                        shared.settle(1);
                    }
                    Delivery::JetStream => {
                        Counters::bump(&shared.counters.forwarded);
                        shared.unconfirmed.lock().insert(item.seq, item.clone());
                        confirming.push(super::jetstream::confirm(shared.clone(), context.clone(), item));
                    }
                }
            }
        }
    }
}

/// A local request answered through NATS: the first reply goes to the
/// local requester (unless a local responder answered first).
async fn forward_request<T: Clone + Send + Sync + 'static>(
    shared: Shared<BridgeEngine<T>>,
    client: Client,
    item: Outbound<T>,
    request: Event<T>,
) {
    Counters::bump(&shared.counters.forwarded);
    shared.settle(1);
    let asked = client.request_with_headers(item.subject.clone(), shared.headers(), item.payload);
    let reply = match tokio::time::timeout(shared.config.request_timeout, asked).await {
        Ok(Ok(reply)) => reply,
        Ok(Err(e)) => {
            tracing::debug!(service = %shared.name(), subject = %item.subject, error = %e, "request through NATS got no reply");
            return;
        }
        Err(_) => return,
    };
    match shared.codec.decode(&reply.payload) {
        Ok(payload) => {
            Counters::bump(&shared.counters.requests_out);
            let _ = shared.bus.reply(&request, payload);
        }
        Err(e) => {
            Counters::bump(&shared.counters.undecodable);
            tracing::warn!(service = %shared.name(), subject = %item.subject, error = %e, "reply from NATS does not decode");
        }
    }
}
