//! NATS messages coming in: one subscription per inbound route (a queue
//! subscription when the route has a queue group), each message published
//! on the local bus, each NATS request answered by a local request.
//!
//! A message carrying this process's own origin is skipped: its local
//! subscribers had it when it was published. A message published on the
//! bus by the bridge is marked (for the duration of that publish) so the
//! bridge's own outbound handlers do not send it back out.

use super::codec::ORIGIN_HEADER;
use super::config::Delivery;
use super::engine::BridgeEngine;
use super::stats::Counters;
use crate::bus::{BusError, Subject};
use crate::exit::BoxError;
use crate::kit::Shared;
use async_nats::{Client, Message};
use futures_util::StreamExt;

tokio::task_local! {
    /// Set while the bridge publishes a NATS message on the local bus.
    static FROM_NATS: ();
}

/// Whether the current publish is the bridge delivering a NATS message.
pub(crate) fn from_nats() -> bool {
    FROM_NATS.try_with(|_| ()).is_ok()
}

/// Brings route `index`'s messages in, for as long as the connection lives.
pub(crate) async fn pump<T: Clone + Send + Sync + 'static>(
    shared: Shared<BridgeEngine<T>>,
    client: Client,
    index: usize,
) -> Result<(), BoxError> {
    let route = &shared.config.routes[index];
    if route.delivery == Delivery::JetStream {
        return super::jetstream::consume(shared.clone(), client, index).await;
    }
    let subject = shared.nats_subject(&route.pattern);
    let mut subscriber = match &route.queue_group {
        Some(group) => client.queue_subscribe(subject, group.clone()).await?,
        None => client.subscribe(subject).await?,
    };
    super::engine::round_trip(&client).await?;
    shared.mark_subscribed(index);
    while let Some(message) = subscriber.next().await {
        if is_own(&shared, &message) {
            Counters::bump(&shared.counters.own_skipped);
            continue;
        }
        match message.reply.clone() {
            Some(reply) => {
                tokio::spawn(answer(shared.clone(), client.clone(), message, reply));
            }
            None => {
                shared
                    .deliver(message.subject.as_str(), &message.payload)
                    .await;
            }
        }
    }
    Err("the NATS subscription ended".into())
}

fn is_own<T: Clone + Send + Sync + 'static>(shared: &BridgeEngine<T>, message: &Message) -> bool {
    message
        .headers
        .as_ref()
        .and_then(|h| h.get(ORIGIN_HEADER))
        .is_some_and(|o| o.as_str() == shared.origin)
}

impl<T: Clone + Send + Sync + 'static> BridgeEngine<T> {
    /// The local subject and payload of a NATS message; `None` (counted,
    /// logged) when either is not acceptable.
    fn decode(&self, subject: &str, payload: &[u8]) -> Option<(Subject, T)> {
        let local = self
            .local_subject(subject)
            .and_then(|s| Subject::new(s).ok());
        let Some(local) = local else {
            Counters::bump(&self.counters.undecodable);
            tracing::warn!(subject, "NATS message on a subject the bus does not accept");
            return None;
        };
        match self.codec.decode(payload) {
            Ok(payload) => Some((local, payload)),
            Err(e) => {
                Counters::bump(&self.counters.undecodable);
                tracing::warn!(subject, error = %e, "NATS message does not decode");
                None
            }
        }
    }

    /// Publishes a NATS message on the local bus. False when the bus
    /// refused it (it is not running); a message that does not decode
    /// counts as handled.
    pub(crate) async fn deliver(&self, subject: &str, payload: &[u8]) -> bool {
        let Some((local, payload)) = self.decode(subject, payload) else {
            return true;
        };
        match FROM_NATS.scope((), self.bus.publish(local, payload)).await {
            Ok(_) => {
                Counters::bump(&self.counters.received);
                true
            }
            Err(e @ (BusError::Stopped { .. } | BusError::StoppedWhileDelivering { .. })) => {
                tracing::warn!(subject, error = %e, "NATS message not delivered: the bus is not running");
                false
            }
            Err(e) => {
                tracing::warn!(subject, error = %e, "NATS message not delivered");
                true
            }
        }
    }
}

/// A NATS request: asked on the local bus, the reply sent back to NATS.
async fn answer<T: Clone + Send + Sync + 'static>(
    shared: Shared<BridgeEngine<T>>,
    client: Client,
    message: Message,
    reply_to: async_nats::Subject,
) {
    let Some((local, payload)) = shared.decode(message.subject.as_str(), &message.payload) else {
        return;
    };
    let asked = shared
        .bus
        .request_timeout(local, payload, shared.config.request_timeout);
    let reply = match FROM_NATS.scope((), asked).await {
        Ok(reply) => reply,
        Err(e) => {
            tracing::debug!(subject = %message.subject, error = %e, "NATS request got no local reply");
            return;
        }
    };
    match shared.codec.encode(&reply) {
        Ok(bytes) => {
            if client
                .publish_with_headers(reply_to, shared.headers(), bytes)
                .await
                .is_ok()
            {
                Counters::bump(&shared.counters.requests_in);
            }
        }
        Err(e) => tracing::warn!(subject = %message.subject, error = %e, "reply does not encode"),
    }
}
