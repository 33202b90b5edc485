//! Run-time requests to a supervisor, and [`SupervisorRef`], the handle
//! that sends them.

use super::child::{Child, ChildCounts, ChildInfo};
use super::spec::ChildSpec;
use super::validate::BuildError;
use super::{Step, Supervisor};
use crate::handle::{CallError, ServiceRef};
use crate::health::NodeKind;
use actix::fut::{ready, wrap_future, ActorFutureExt};
use actix::prelude::*;

/// Errors of run-time changes to a supervisor.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum SupervisorError {
    /// The new child is invalid.
    #[error(transparent)]
    Invalid(#[from] BuildError),
    /// No child has that id.
    #[error("supervisor has no child `{0}`")]
    NoSuchChild(String),
    /// The new child failed to start.
    #[error("child `{child}` failed to start: {reason}")]
    StartFailed {
        /// The child.
        child: String,
        /// Why.
        reason: String,
    },
    /// The supervisor could not be reached.
    #[error(transparent)]
    Call(#[from] CallError),
}

/// Lists the children in start order.
#[derive(Debug, Clone, Copy, Message)]
#[rtype(result = "Vec<ChildInfo>")]
pub struct WhichChildren;

/// Counts the children.
#[derive(Debug, Clone, Copy, Message)]
#[rtype(result = "ChildCounts")]
pub struct CountChildren;

/// Adds a child at run time and starts it (after the existing ones).
#[derive(Debug, Message)]
#[rtype(result = "Result<(), SupervisorError>")]
pub struct AddChild(pub ChildSpec);

/// Stops a child and removes it from the child list.
#[derive(Debug, Clone, Message)]
#[rtype(result = "Result<(), SupervisorError>")]
pub struct RemoveChild(pub String);

/// Ends a child's current incarnation as if it had failed with the given
/// reason (what the [test kit](crate::testing) uses to inject crashes).
#[derive(Debug, Clone, Message)]
#[rtype(result = "Result<(), SupervisorError>")]
pub struct CrashChild {
    /// The child.
    pub id: String,
    /// The failure reason it ends with.
    pub reason: String,
}

impl Handler<WhichChildren> for Supervisor {
    type Result = MessageResult<WhichChildren>;
    fn handle(&mut self, _: WhichChildren, _: &mut Context<Self>) -> Self::Result {
        MessageResult(self.children.iter().map(Child::info).collect())
    }
}

impl Handler<CountChildren> for Supervisor {
    type Result = MessageResult<CountChildren>;
    fn handle(&mut self, _: CountChildren, _: &mut Context<Self>) -> Self::Result {
        let supervisors = self
            .children
            .iter()
            .filter(|c| c.spec.kind == NodeKind::Supervisor)
            .count();
        MessageResult(ChildCounts {
            specs: self.children.len(),
            active: self.children.iter().filter(|c| c.inc.is_some()).count(),
            supervisors,
            workers: self.children.len() - supervisors,
        })
    }
}

impl Handler<AddChild> for Supervisor {
    type Result = AtomicResponse<Self, Result<(), SupervisorError>>;
    fn handle(&mut self, AddChild(spec): AddChild, _: &mut Context<Self>) -> Self::Result {
        if let Err(e) = self.check_new_child(&spec) {
            return AtomicResponse::new(Box::pin(ready(Err(e))));
        }
        let id = spec.id.clone();
        let mut child = Child::new(std::sync::Arc::new(spec), &self.env.path, &self.memo);
        child.dynamic = true;
        self.children.push(child);
        self.reindex();
        let i = self.children.len() - 1;
        let starting = self.launch(i);
        AtomicResponse::new(Box::pin(wrap_future::<_, Self>(starting).then(
            move |result, act, ctx| -> Step<_> {
                match result {
                    Ok(at) => {
                        act.on_started(&id, at);
                        Box::pin(ready(Ok(())))
                    }
                    Err(reason) => Box::pin(act.stop_child(&id, ctx).map(move |(), act, _| {
                        act.forget(&id);
                        if let Some(k) = act.index(&id) {
                            act.children.remove(k);
                            act.reindex();
                        }
                        Err(SupervisorError::StartFailed {
                            child: id.to_string(),
                            reason,
                        })
                    })),
                }
            },
        )))
    }
}

impl Supervisor {
    fn check_new_child(&self, spec: &ChildSpec) -> Result<(), SupervisorError> {
        if let Some(e) = &spec.invalid {
            return Err((**e).clone().into());
        }
        super::validate::validate_child(&self.name, self.config.auto_shutdown, spec)?;
        let mut names = Vec::new();
        match spec.starter.nested() {
            Some(nested) => nested.names(&mut names),
            None => names.push(spec.id.to_string()),
        }
        let mut seen = std::collections::HashSet::new();
        for n in names {
            let taken = self.index(&n).is_some()
                || self.env.registry.is_registered(&n)
                || self.env.directory.contains(&n)
                || !seen.insert(n.clone());
            if taken {
                return Err(BuildError::DuplicateName { name: n }.into());
            }
        }
        Ok(())
    }
}

impl Handler<RemoveChild> for Supervisor {
    type Result = AtomicResponse<Self, Result<(), SupervisorError>>;
    fn handle(&mut self, RemoveChild(id): RemoveChild, ctx: &mut Context<Self>) -> Self::Result {
        let Some(i) = self.index(&id) else {
            return AtomicResponse::new(Box::pin(ready(Err(SupervisorError::NoSuchChild(id)))));
        };
        // A pending restart of its group still concerns the other members.
        let group_timer = self.children[i].take_timer();
        AtomicResponse::new(Box::pin(self.stop_child(&id, ctx).map(
            move |(), act, ctx| {
                act.forget(&id);
                if let Some(k) = act.index(&id) {
                    act.children.remove(k);
                    act.reindex();
                }
                if let Some(timer) = group_timer {
                    if !act.children.iter().any(|c| c.timer() == Some(timer)) {
                        ctx.cancel_future(timer);
                    }
                }
                Ok(())
            },
        )))
    }
}

impl Handler<CrashChild> for Supervisor {
    type Result = Result<(), SupervisorError>;
    fn handle(&mut self, msg: CrashChild, _: &mut Context<Self>) -> Self::Result {
        let i = self
            .index(&msg.id)
            .ok_or_else(|| SupervisorError::NoSuchChild(msg.id.clone()))?;
        match &self.children[i].inc {
            Some(inc) => {
                inc.crash(msg.reason);
                Ok(())
            }
            None => Err(SupervisorError::NoSuchChild(msg.id)),
        }
    }
}

/// A handle to a supervisor that stays valid across its restarts.
#[derive(Clone, Debug)]
pub struct SupervisorRef {
    inner: ServiceRef<Supervisor>,
}

impl SupervisorRef {
    pub(crate) fn new(inner: ServiceRef<Supervisor>) -> Self {
        SupervisorRef { inner }
    }

    /// The supervisor's name.
    pub fn name(&self) -> &str {
        self.inner.name()
    }

    /// The children in start order with their state, restart count and last failure.
    pub async fn which_children(&self) -> Result<Vec<ChildInfo>, CallError> {
        self.inner.call(WhichChildren).await
    }

    /// Counts of the children.
    pub async fn count_children(&self) -> Result<ChildCounts, CallError> {
        self.inner.call(CountChildren).await
    }

    /// Adds a child (validated like at build time) and starts it.
    pub async fn add_child(&self, spec: impl Into<ChildSpec>) -> Result<(), SupervisorError> {
        self.inner.call(AddChild(spec.into())).await?
    }

    /// Stops a child and removes it; its name is freed.
    pub async fn remove_child(&self, id: &str) -> Result<(), SupervisorError> {
        self.inner.call(RemoveChild(id.to_string())).await?
    }

    /// Ends a child's current incarnation as a failure with `reason`.
    pub async fn crash_child(
        &self,
        id: &str,
        reason: impl Into<String>,
    ) -> Result<(), SupervisorError> {
        self.inner
            .call(CrashChild {
                id: id.to_string(),
                reason: reason.into(),
            })
            .await?
    }

    /// The underlying service handle.
    pub fn service_ref(&self) -> &ServiceRef<Supervisor> {
        &self.inner
    }
}
