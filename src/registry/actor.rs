//! The registry actor: sweeps for stale heartbeats and answers actix queries.

use super::Registry;
use crate::health::{HealthReport, HealthSnapshot};
use actix::prelude::*;
use tokio::time::Instant;

/// The actor behind a [`Registry`]. It owns the staleness sweep; reads do not
/// need it, but it also answers [`GetHealth`] and [`GetSnapshot`] for code
/// that prefers messages.
#[derive(Debug)]
pub struct RegistryActor {
    registry: Registry,
}

impl RegistryActor {
    pub(crate) fn new(registry: Registry) -> Self {
        RegistryActor { registry }
    }
}

impl Actor for RegistryActor {
    type Context = Context<Self>;

    fn started(&mut self, ctx: &mut Self::Context) {
        let every = self.registry.config().sweep_interval;
        ctx.run_interval(every, |act, _| {
            act.registry.sweep(Instant::now());
        });
    }
}

/// Asks the registry actor for one service's report.
#[derive(Debug, Clone, Message)]
#[rtype(result = "Option<HealthReport>")]
pub struct GetHealth(pub String);

/// Asks the registry actor for the whole snapshot.
#[derive(Debug, Clone, Copy, Message)]
#[rtype(result = "HealthSnapshot")]
pub struct GetSnapshot;

impl Handler<GetHealth> for RegistryActor {
    type Result = MessageResult<GetHealth>;
    fn handle(&mut self, msg: GetHealth, _: &mut Self::Context) -> Self::Result {
        MessageResult(self.registry.get(&msg.0))
    }
}

impl Handler<GetSnapshot> for RegistryActor {
    type Result = MessageResult<GetSnapshot>;
    fn handle(&mut self, _: GetSnapshot, _: &mut Self::Context) -> Self::Result {
        MessageResult(self.registry.snapshot())
    }
}

/// Ends the registry actor.
#[derive(Debug, Clone, Copy, Message)]
#[rtype(result = "()")]
pub(crate) struct StopSweeping;

impl Handler<StopSweeping> for RegistryActor {
    type Result = ();
    fn handle(&mut self, _: StopSweeping, ctx: &mut Self::Context) {
        ctx.stop();
    }
}
