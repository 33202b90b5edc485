//! Named handlers: task code registered once under a name, so a task can be
//! submitted as that name and a serde payload instead of a closure.
//!
//! A closure cannot be stored in a database or sent to another process; a
//! name and a JSON payload can. Every process that runs tasks registers the
//! same handlers under the same names; whichever process takes a task looks
//! its handler up by name and hands it the payload, deserialized into the
//! type the handler asks for.
//!
//! ```
//! use servitor::tasks::{Handlers, TaskContext};
//!
//! #[derive(serde::Deserialize)]
//! struct Email { to: String }
//!
//! let handlers = Handlers::new();
//! handlers.register("send_email", |_cx: TaskContext, email: Email| async move {
//!     Ok::<_, std::io::Error>(format!("sent to {}", email.to))
//! });
//! assert!(handlers.contains("send_email"));
//! assert_eq!(handlers.names(), ["send_email"]);
//! ```
//!
//! ## How it fails
//!
//! * **A payload that does not fit** the handler's type fails the attempt
//!   with a [`PayloadError`], which is never retried (the same payload
//!   would not fit the next time either).
//! * **A name nobody registered** is refused when submitting
//!   ([`TaskError::UnknownHandler`](super::TaskError::UnknownHandler)); a
//!   worker of a durable queue that takes a task whose handler it does not
//!   have fails that attempt with the same error, so a process built
//!   without a handler never silently drops its tasks.

use super::engine::Outcome;
use super::task::TaskContext;
use crate::exit::BoxError;
use futures_util::future::LocalBoxFuture;
use futures_util::FutureExt;
use parking_lot::RwLock;
use serde::de::DeserializeOwned;
use serde::Serialize;
use std::collections::BTreeMap;
use std::fmt;
use std::future::Future;
use std::sync::Arc;

/// A registered handler, type-erased: JSON payload in, JSON result out.
pub(crate) type HandlerFn =
    dyn Fn(TaskContext, serde_json::Value) -> LocalBoxFuture<'static, Outcome> + Send + Sync;

/// A payload could not be deserialized into the type its handler takes.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("the payload of `{handler}` does not fit its handler: {problem}")]
pub struct PayloadError {
    /// The handler's name.
    pub handler: String,
    /// What serde said.
    pub problem: String,
}

/// The handlers a task service knows, by name. Cheap to clone; clones share
/// one set, so a handler registered through any of them is seen by all.
#[derive(Clone, Default)]
pub struct Handlers {
    map: Arc<RwLock<BTreeMap<String, Arc<HandlerFn>>>>,
}

impl fmt::Debug for Handlers {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_set().entries(self.map.read().keys()).finish()
    }
}

impl Handlers {
    /// No handler yet.
    pub fn new() -> Handlers {
        Handlers::default()
    }

    /// Registers `handler` under `name`, replacing any handler registered
    /// under it before. The handler is called once per attempt with the
    /// task's context and its payload deserialized as a `P`; its `Ok` value
    /// is kept as the task's JSON result, its error's message as the task's
    /// error. Returns the set, to register several in a row.
    pub fn register<P, F, Fut, T, E>(&self, name: impl Into<String>, handler: F) -> &Self
    where
        P: DeserializeOwned + 'static,
        F: Fn(TaskContext, P) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = Result<T, E>> + 'static,
        T: Serialize + 'static,
        E: Into<BoxError> + 'static,
    {
        let name = name.into();
        let handler_name: Arc<str> = Arc::from(name.as_str());
        let erased: Arc<HandlerFn> = Arc::new(move |cx, payload| match P::deserialize(payload) {
            Ok(p) => handler(cx, p)
                .map(|r| {
                    r.map_err(Into::into)
                        .and_then(|v| serde_json::to_value(v).map_err(Into::into))
                })
                .boxed_local(),
            Err(e) => {
                let e: BoxError = Box::new(PayloadError {
                    handler: handler_name.to_string(),
                    problem: e.to_string(),
                });
                std::future::ready(Err(e)).boxed_local()
            }
        });
        self.map.write().insert(name, erased);
        self
    }

    /// Whether a handler is registered under `name`.
    pub fn contains(&self, name: &str) -> bool {
        self.map.read().contains_key(name)
    }

    /// The registered names, in order.
    pub fn names(&self) -> Vec<String> {
        self.map.read().keys().cloned().collect()
    }

    pub(crate) fn get(&self, name: &str) -> Option<Arc<HandlerFn>> {
        self.map.read().get(name).cloned()
    }
}

/// Whether an attempt's error is a payload that does not fit (never worth
/// retrying).
pub(crate) fn is_payload_error(e: &BoxError) -> bool {
    e.downcast_ref::<PayloadError>().is_some()
}
