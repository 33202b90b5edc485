//! Health across processes: the bridge publishes its runtime's registry —
//! every status transition at once, and every service's report each
//! [`interval`](super::HealthPublishing::interval) as the heartbeat — on
//! `servitor.health.<app>.<instance>.<service>`, says goodbye when it is
//! stopped, and feeds the fleet view from the same subjects.
//!
//! The messages are [`HealthMessage`]s in JSON (see
//! [`servitor_health::fleet`]). They go out only while connected — health
//! is a statement about now, so nothing is queued for later — and this
//! process's own messages reach its fleet view directly.

use super::engine::BridgeEngine;
use crate::exit::BoxError;
use crate::health::HealthReport;
use crate::kit::Shared;
use crate::registry::Registry;
use async_nats::Client;
use futures_util::StreamExt;
use servitor_health::fleet::{fleet_subject, HealthMessage, MessageKind};

impl<T: Clone + Send + Sync + 'static> BridgeEngine<T> {
    fn message(&self, kind: MessageKind, report: Option<HealthReport>) -> HealthMessage {
        HealthMessage::new(
            self.config.app.clone(),
            self.instance.clone(),
            kind,
            self.config.health.interval.as_millis() as u64,
            report,
        )
    }

    async fn send(&self, client: &Client, message: HealthMessage) -> Result<(), BoxError> {
        let subject = message.subject();
        let bytes = serde_json::to_vec(&message)?;
        if self.config.health.watch_fleet {
            self.fleet.apply(message);
        }
        if self.link.lock().connected {
            client.publish(subject, bytes.into()).await?;
        }
        Ok(())
    }
}

/// Publishes transitions and heartbeats for as long as the incarnation
/// lives.
pub(crate) async fn publish<T: Clone + Send + Sync + 'static>(
    shared: Shared<BridgeEngine<T>>,
    client: Client,
    registry: Registry,
) -> Result<(), BoxError> {
    let mut changes = registry.watch_all();
    let mut beat = tokio::time::interval(shared.config.health.interval);
    beat.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tokio::select! {
            change = changes.next() => {
                let Some(change) = change else { return Ok(()) };
                if let Some(report) = registry.get(&change.name) {
                    shared.send(&client, shared.message(MessageKind::Transition, Some(report))).await?;
                }
            }
            _ = beat.tick() => {
                for report in registry.snapshot().services {
                    shared.send(&client, shared.message(MessageKind::Heartbeat, Some(report))).await?;
                }
            }
        }
    }
}

/// Says this process leaves the fleet (on a stop by its supervisor).
pub(crate) async fn goodbye<T: Clone + Send + Sync + 'static>(
    shared: &Shared<BridgeEngine<T>>,
    client: &Client,
) {
    let _ = shared
        .send(client, shared.message(MessageKind::Goodbye, None))
        .await;
}

/// Feeds the fleet view from every process of the application.
pub(crate) async fn watch_fleet<T: Clone + Send + Sync + 'static>(
    shared: Shared<BridgeEngine<T>>,
    client: Client,
) -> Result<(), BoxError> {
    let mut messages = client
        .subscribe(fleet_subject(Some(&shared.config.app)))
        .await?;
    super::engine::round_trip(&client).await?;
    shared.mark_subscribed(shared.config.routes.len());
    while let Some(message) = messages.next().await {
        match serde_json::from_slice::<HealthMessage>(&message.payload) {
            Ok(health) => shared.fleet.apply(health),
            Err(e) => {
                tracing::debug!(subject = %message.subject, error = %e, "not a health message")
            }
        }
    }
    Err("the fleet subscription ended".into())
}
