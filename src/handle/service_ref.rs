use super::directory::{Slot, SlotState};
use actix::dev::ToEnvelope;
use actix::prelude::SendError;
use actix::{Actor, Addr, Handler, MailboxError, Message};
use std::sync::Arc;
use std::time::Duration;

/// The default time a call waits for a service that is down: 5 s.
pub const DEFAULT_AVAILABILITY_WAIT: Duration = Duration::from_secs(5);

/// A failed call through a [`ServiceRef`].
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CallError {
    /// The service stayed down (restarting, in backoff, starting) for the
    /// whole wait bound, or was down and the call was not allowed to wait.
    #[error("service `{service}` is unavailable (waited {waited:?})")]
    Unavailable {
        /// The service.
        service: String,
        /// How long the call waited.
        waited: Duration,
    },
    /// The service did not reply within the handle's reply timeout.
    #[error("service `{service}` did not reply within {after:?}")]
    Timeout {
        /// The service.
        service: String,
        /// The timeout.
        after: Duration,
    },
    /// The instance ended (crashed or stopped) before it replied; the message
    /// may or may not have been handled.
    #[error("service `{service}` ended before replying")]
    Interrupted {
        /// The service.
        service: String,
    },
    /// The service is gone for good (removed, finished, runtime shut down).
    #[error("service `{service}` is stopped")]
    Stopped {
        /// The service.
        service: String,
    },
}

/// A typed handle to a named service that stays valid across restarts.
///
/// Get one from [`Runtime::service`](crate::Runtime::service). Clones are
/// cheap and share nothing mutable.
///
/// ```no_run
/// # use actix::prelude::*;
/// # use servitor::{Service, ServiceRef};
/// # struct Ingest;
/// # impl Actor for Ingest { type Context = Context<Self>; }
/// # impl Service for Ingest {}
/// # #[derive(Message)] #[rtype(result = "usize")] struct Queued;
/// # impl Handler<Queued> for Ingest { type Result = usize; fn handle(&mut self, _: Queued, _: &mut Context<Self>) -> usize { 0 } }
/// # async fn demo(ingest: ServiceRef<Ingest>) -> Result<(), servitor::CallError> {
/// let queued: usize = ingest.call(Queued).await?;
/// # Ok(()) }
/// ```
pub struct ServiceRef<A: Actor> {
    name: Arc<str>,
    slot: Arc<Slot<A>>,
    wait: Duration,
    reply_timeout: Option<Duration>,
}

impl<A: Actor> Clone for ServiceRef<A> {
    fn clone(&self) -> Self {
        ServiceRef {
            name: self.name.clone(),
            slot: self.slot.clone(),
            wait: self.wait,
            reply_timeout: self.reply_timeout,
        }
    }
}

impl<A: Actor> std::fmt::Debug for ServiceRef<A> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ServiceRef")
            .field("name", &self.name)
            .field("wait", &self.wait)
            .field("reply_timeout", &self.reply_timeout)
            .finish()
    }
}

impl<A: Actor> ServiceRef<A> {
    pub(crate) fn new(name: &str, slot: &Arc<Slot<A>>) -> Self {
        ServiceRef {
            name: Arc::from(name),
            slot: slot.clone(),
            wait: DEFAULT_AVAILABILITY_WAIT,
            reply_timeout: None,
        }
    }

    /// The service's name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The same handle, waiting at most `wait` for a service that is down
    /// (zero: fail at once with [`CallError::Unavailable`]).
    pub fn with_wait(mut self, wait: Duration) -> Self {
        self.wait = wait;
        self
    }

    /// The same handle, failing a call with [`CallError::Timeout`] when the
    /// reply takes longer than `timeout`. Default: no reply timeout.
    pub fn with_reply_timeout(mut self, timeout: Duration) -> Self {
        self.reply_timeout = Some(timeout);
        self
    }

    /// True while an instance is running.
    pub fn is_up(&self) -> bool {
        matches!(&*self.slot.read(), SlotState::Up(a) if a.connected())
    }

    /// True once the service is gone for good.
    pub fn is_stopped(&self) -> bool {
        matches!(&*self.slot.read(), SlotState::Stopped)
    }

    /// The current instance's address, if one is running. The address is
    /// that instance's only: prefer the handle for anything that should
    /// survive a restart.
    pub fn addr(&self) -> Option<Addr<A>> {
        match &*self.slot.read() {
            SlotState::Up(a) if a.connected() => Some(Addr::new(a.clone())),
            _ => None,
        }
    }

    /// Waits (up to the handle's bound) until an instance is running and
    /// returns its address.
    pub async fn ready(&self) -> Result<Addr<A>, CallError> {
        if let Some(a) = self.addr() {
            return Ok(a);
        }
        let outcome = tokio::time::timeout(
            self.wait,
            self.slot.wait_for(|state| match state {
                SlotState::Up(a) if a.connected() => Some(Ok(Addr::new(a.clone()))),
                SlotState::Stopped => Some(Err(self.stopped())),
                _ => None,
            }),
        )
        .await;
        outcome.unwrap_or_else(|_| {
            Err(CallError::Unavailable {
                service: self.name.to_string(),
                waited: self.wait,
            })
        })
    }

    /// Sends `msg` and waits for the reply. If the service is down, waits
    /// for it first (up to the handle's bound).
    pub async fn call<M>(&self, msg: M) -> Result<M::Result, CallError>
    where
        A: Handler<M>,
        A::Context: ToEnvelope<A, M>,
        M: Message + Send + 'static,
        M::Result: Send,
    {
        // The fast path (service up, room in its mailbox) queues the
        // message under one read lock and awaits the reply's receiver
        // itself: actix's request future, which carries a timer, is made
        // only for a full mailbox or a service that is down.
        let sent = match &*self.slot.read() {
            SlotState::Up(mailbox) if mailbox.connected() => match mailbox.send(msg) {
                Ok(reply) => Sent::Queued(reply),
                Err(SendError::Full(msg)) => Sent::Full(Addr::new(mailbox.clone()), msg),
                Err(SendError::Closed(_)) => Sent::Closed,
            },
            _ => Sent::Down(msg),
        };
        let reply = match sent {
            Sent::Queued(reply) => reply,
            Sent::Closed => return Err(self.mailbox_error(MailboxError::Closed)),
            Sent::Full(addr, msg) => return self.wait_reply(addr.send(msg)).await,
            Sent::Down(msg) => return self.wait_reply(self.ready().await?.send(msg)).await,
        };
        let replied = match self.reply_timeout {
            None => reply.await,
            Some(t) => match tokio::time::timeout(t, reply).await {
                Ok(replied) => replied,
                Err(_) => return Err(self.mailbox_error(MailboxError::Timeout)),
            },
        };
        // The instance dropped the message unanswered: it ended.
        replied.map_err(|_| self.mailbox_error(MailboxError::Closed))
    }

    /// Awaits actix's request future, with the handle's reply timeout.
    async fn wait_reply<M>(
        &self,
        request: actix::dev::Request<A, M>,
    ) -> Result<M::Result, CallError>
    where
        A: Handler<M>,
        A::Context: ToEnvelope<A, M>,
        M: Message + Send + 'static,
        M::Result: Send,
    {
        let reply = match self.reply_timeout {
            None => request.await,
            Some(t) => request.timeout(t).await,
        };
        reply.map_err(|e| self.mailbox_error(e))
    }

    /// Sends `msg` without waiting for a reply or for the service to come
    /// up; fails with [`CallError::Unavailable`] when no instance runs now.
    pub fn tell<M>(&self, msg: M) -> Result<(), CallError>
    where
        A: Handler<M>,
        A::Context: ToEnvelope<A, M>,
        M: Message + Send + 'static,
        M::Result: Send,
    {
        match &*self.slot.read() {
            SlotState::Up(mailbox) if mailbox.connected() => {
                // As `Addr::do_send`: queued even past the capacity.
                let _ = mailbox.do_send(msg);
                Ok(())
            }
            SlotState::Stopped => Err(self.stopped()),
            _ => Err(CallError::Unavailable {
                service: self.name.to_string(),
                waited: Duration::ZERO,
            }),
        }
    }

    fn mailbox_error(&self, e: MailboxError) -> CallError {
        match e {
            MailboxError::Timeout => CallError::Timeout {
                service: self.name.to_string(),
                after: self.reply_timeout.unwrap_or_default(),
            },
            MailboxError::Closed => CallError::Interrupted {
                service: self.name.to_string(),
            },
        }
    }

    fn stopped(&self) -> CallError {
        CallError::Stopped {
            service: self.name.to_string(),
        }
    }
}

/// Where a call's message went, decided under the slot's lock.
enum Sent<A: Actor, M: Message> {
    /// Queued; the reply comes on this receiver.
    Queued(tokio::sync::oneshot::Receiver<M::Result>),
    /// The mailbox is full: actix's request waits for room.
    Full(Addr<A>, M),
    /// The instance's mailbox closed after the slot said it was up.
    Closed,
    /// No instance runs now.
    Down(M),
}
