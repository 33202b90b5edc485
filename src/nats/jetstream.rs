//! JetStream: the stream the bridge's JetStream routes are stored in,
//! confirmed publishing, and the durable consumers that bring events in.
//!
//! * **The stream** (`SERVITOR_<APP>` by default) holds every JetStream
//!   route's subjects, on file storage, for
//!   [`max_age`](super::JetStreamConfig::max_age). The bridge creates it,
//!   or adds its subjects to it, when it connects.
//! * **Publishing** sends each event with a message id
//!   (`<app>.<instance>.<sequence>`) and waits for the stream's
//!   acknowledgement; without one in
//!   [`ack_timeout`](super::JetStreamConfig::ack_timeout) it sends again on
//!   the bridge's backoff — JetStream's duplicate window stores it once.
//!   An event counts as confirmed only once acknowledged: from then on it
//!   survives a NATS restart.
//! * **Consuming**: a route without a queue group has a durable consumer
//!   per process (`<instance>-r<route>`: every process gets every event); a
//!   route with a queue group shares one durable consumer per group (each
//!   event goes to one process). An event is acknowledged after it was
//!   published on the local bus, so one that a crash or a NATS restart
//!   interrupted comes again (at least once).

use super::codec::ORIGIN_HEADER;
use super::config::{Delivery, Route};
use super::engine::BridgeEngine;
use super::outbound::Outbound;
use super::stats::Counters;
use crate::exit::BoxError;
use crate::kit::Shared;
use async_nats::jetstream::consumer::{pull, AckPolicy, DeliverPolicy};
use async_nats::jetstream::message::PublishMessage;
use async_nats::jetstream::stream::{self, StorageType};
use async_nats::jetstream::{self, Context};
use futures_util::StreamExt;
use std::time::Duration;

/// Creates the stream, or adds this bridge's subjects to it.
pub(crate) async fn ensure_stream<T: Clone + Send + Sync + 'static>(
    shared: &Shared<BridgeEngine<T>>,
    context: &Context,
) -> Result<(), BoxError> {
    let name = shared.config.stream_name();
    let wanted: Vec<String> = shared
        .config
        .routes
        .iter()
        .filter(|r| r.delivery == Delivery::JetStream)
        .map(|r| shared.nats_subject(&r.pattern))
        .collect();
    let mut subjects = match context.get_stream(&name).await {
        Ok(mut existing) => existing.info().await?.config.subjects.clone(),
        Err(_) => Vec::new(),
    };
    let before = subjects.len();
    for s in wanted {
        if !subjects.contains(&s) {
            subjects.push(s);
        }
    }
    if before != 0 && before == subjects.len() {
        return Ok(());
    }
    context
        .create_or_update_stream(stream::Config {
            name,
            subjects,
            storage: StorageType::File,
            max_age: shared.config.jetstream.max_age,
            duplicate_window: Duration::from_secs(120),
            ..Default::default()
        })
        .await?;
    Ok(())
}

/// Publishes one event until the stream confirms it.
pub(crate) async fn confirm<T: Clone + Send + Sync + 'static>(
    shared: Shared<BridgeEngine<T>>,
    context: Context,
    item: Outbound<T>,
) {
    let id = format!("{}.{}", shared.origin, item.seq);
    let mut failures = 0u32;
    loop {
        let publish = PublishMessage::build()
            .payload(item.payload.clone())
            .headers(shared.headers())
            .message_id(id.as_str());
        let outcome = match context.send_publish(item.subject.clone(), publish).await {
            Ok(ack) => ack.await.map(|_| ()).map_err(|e| e.to_string()),
            Err(e) => Err(e.to_string()),
        };
        match outcome {
            Ok(()) => {
                shared.unconfirmed.lock().remove(&item.seq);
                Counters::bump(&shared.counters.confirmed);
                shared.settle(1);
                return;
            }
            Err(e) => {
                let delay = shared.config.reconnect.delay(failures);
                failures = failures.saturating_add(1);
                Counters::bump(&shared.counters.retried);
                tracing::debug!(service = %shared.name(), subject = %item.subject, error = %shared.scrub(&e), retry_in_ms = delay.as_millis() as u64, "JetStream publish not confirmed; sending again");
                tokio::time::sleep(delay).await;
            }
        }
    }
}

/// The durable consumer's name for route `index`.
fn consumer_name<T: Clone + Send + Sync + 'static>(
    shared: &BridgeEngine<T>,
    route: &Route,
    index: usize,
) -> String {
    match &route.queue_group {
        Some(group) => format!("{group}-r{index}"),
        None => format!("{}-r{index}", shared.instance),
    }
}

/// Brings one JetStream route's events in, re-creating the consumer after
/// it is lost (a NATS restart), on the bridge's backoff.
pub(crate) async fn consume<T: Clone + Send + Sync + 'static>(
    shared: Shared<BridgeEngine<T>>,
    client: async_nats::Client,
    index: usize,
) -> Result<(), BoxError> {
    let route = shared.config.routes[index].clone();
    let context = jetstream::new(client);
    let name = consumer_name(&shared, &route, index);
    let mut failures = 0u32;
    loop {
        match consume_once(&shared, &context, &route, index, &name).await {
            Ok(()) => failures = 0,
            Err(e) => {
                tracing::debug!(service = %shared.name(), consumer = %name, error = %shared.scrub(&e.to_string()), "JetStream consumer interrupted");
            }
        }
        let delay = shared.config.reconnect.delay(failures);
        failures = failures.saturating_add(1);
        tokio::time::sleep(delay).await;
    }
}

async fn consume_once<T: Clone + Send + Sync + 'static>(
    shared: &Shared<BridgeEngine<T>>,
    context: &Context,
    route: &Route,
    index: usize,
    name: &str,
) -> Result<(), BoxError> {
    ensure_stream(shared, context).await?;
    let stream = context.get_stream(shared.config.stream_name()).await?;
    let consumer: jetstream::consumer::PullConsumer = stream
        .get_or_create_consumer(
            name,
            pull::Config {
                durable_name: Some(name.to_string()),
                filter_subject: shared.nats_subject(&route.pattern),
                ack_policy: AckPolicy::Explicit,
                // A group's work not yet taken is still work; a process
                // that joins fan-out starts with what comes next.
                deliver_policy: if route.queue_group.is_some() {
                    DeliverPolicy::All
                } else {
                    DeliverPolicy::New
                },
                ack_wait: shared.config.jetstream.ack_wait,
                inactive_threshold: shared.config.jetstream.consumer_inactive,
                ..Default::default()
            },
        )
        .await?;
    let mut messages = consumer.messages().await?;
    shared.mark_subscribed(index);
    let mut errors = 0;
    while let Some(message) = messages.next().await {
        let message = match message {
            Ok(m) => {
                errors = 0;
                m
            }
            Err(e) => {
                errors += 1;
                if errors >= 3 {
                    return Err(e.into());
                }
                continue;
            }
        };
        let own = message
            .headers
            .as_ref()
            .and_then(|h| h.get(ORIGIN_HEADER))
            .is_some_and(|o| o.as_str() == shared.origin);
        if own {
            Counters::bump(&shared.counters.own_skipped);
        } else if !shared
            .deliver(message.subject.as_str(), &message.payload)
            .await
        {
            // The bus refused it (stopped): leave it unacknowledged, so it
            // comes again.
            continue;
        }
        message.ack().await?;
    }
    Ok(())
}
