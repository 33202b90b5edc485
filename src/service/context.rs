//! What a running service knows about itself: its name, its cancellation
//! signal, and the line to the registry it reports its health on.

use crate::exit::ExitReason;
use crate::health::Details;
use crate::placement::{Arbiters, Placed, Placement, PlacementError};
use crate::registry::{Registry, Reporter};
use crate::status::Status;
use actix::{Actor, ActorContext};
use futures_util::task::AtomicWaker;
use parking_lot::Mutex;
use std::fmt;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use tokio::sync::Notify;
use tokio_util::sync::CancellationToken;

/// The runtime's side of one incarnation of a service, handed to every hook.
///
/// It is cheap to clone; keep a clone in the service to report from message
/// handlers. Reports from an instance that has since been replaced are ignored.
///
/// ```
/// use servitor::{ServiceContext, Status};
///
/// fn on_queue_change(cx: &ServiceContext, depth: usize) {
///     cx.set_detail("queue_depth", depth);
///     if depth > 1_000 {
///         cx.set_status_with(Status::Degraded, "queue above 1000");
///     } else {
///         cx.clear_error();
///     }
/// }
/// ```
#[derive(Clone)]
pub struct ServiceContext {
    inner: Arc<Inner>,
}

/// Everything one incarnation shares with its supervisor, its handles and
/// its own code, in one allocation: an idle service costs its runtime
/// little, and a restart allocates this once.
struct Inner {
    name: Arc<str>,
    path: Arc<str>,
    incarnation: u64,
    restarts: u32,
    registry: Registry,
    arbiters: Arc<Arbiters>,
    /// False once a stop has been requested.
    running: AtomicBool,
    /// The supervisor asked the instance to run its stop hook.
    stop_requested: AtomicBool,
    /// A health check is due.
    check_due: AtomicBool,
    /// The instance's task, woken for a stop request or a due check.
    waker: AtomicWaker,
    /// Everything else that changes, under one lock.
    state: Mutex<State>,
    /// Wakes whoever waits for the instance's end.
    ended: Notify,
}

struct State {
    status: Status,
    /// How the incarnation ends or ended.
    outcome: Outcome,
    /// The cancellation token, made when somebody asks for it (most
    /// services never do); cancelled with the stop request.
    cancel: Option<CancellationToken>,
    /// How to abort the instance's task, once it was spawned.
    abort: Option<tokio::task::AbortHandle>,
    /// An abort was asked for (perhaps before the task was spawned on
    /// another thread).
    abort_asked: bool,
}

/// What is known of how an incarnation ends: one field, since a reason
/// said in advance is no longer needed once the instance has ended.
enum Outcome {
    /// Nothing said yet.
    Open,
    /// How it will end, said before it ended: a failure the service
    /// reported (`Failed`), or a supervisor that gave up (`GaveUp`).
    Ending(ExitReason),
    /// How it ended.
    Exited(ExitReason),
}

impl ServiceContext {
    pub(crate) fn new(
        name: Arc<str>,
        path: Arc<str>,
        incarnation: u64,
        restarts: u32,
        registry: Registry,
        arbiters: Arc<Arbiters>,
    ) -> Self {
        ServiceContext {
            inner: Arc::new(Inner {
                name,
                path,
                incarnation,
                restarts,
                registry,
                arbiters,
                running: AtomicBool::new(true),
                stop_requested: AtomicBool::new(false),
                check_due: AtomicBool::new(false),
                waker: AtomicWaker::new(),
                state: Mutex::new(State {
                    status: Status::Starting,
                    outcome: Outcome::Open,
                    cancel: None,
                    abort: None,
                    abort_asked: false,
                }),
                ended: Notify::new(),
            }),
        }
    }

    /// The service's name, shared.
    pub(crate) fn name_shared(&self) -> &Arc<str> {
        &self.inner.name
    }

    /// The service's name (its child id).
    pub fn name(&self) -> &str {
        &self.inner.name
    }

    /// Names from the root supervisor down to this service, joined by `/`.
    pub fn path(&self) -> &str {
        &self.inner.path
    }

    /// Which incarnation this is: 1 for the first start, one more per restart.
    pub fn incarnation(&self) -> u64 {
        self.inner.incarnation
    }

    /// How many times the supervisor had restarted this service before this
    /// incarnation began.
    pub fn restarts(&self) -> u32 {
        self.inner.restarts
    }

    /// The registry this service reports to.
    pub fn registry(&self) -> &Registry {
        &self.inner.registry
    }

    /// The status this incarnation last set.
    pub fn status(&self) -> Status {
        self.inner.state.lock().status
    }

    /// Sets the service's status, with no message.
    pub fn set_status(&self, status: Status) {
        self.report(status, None);
    }

    /// Sets the service's status with a message saying why.
    pub fn set_status_with(&self, status: Status, message: impl Into<String>) {
        self.report(status, Some(message.into()));
    }

    /// Clears a fault (warning, degraded, error, stale) back to [`Status::Ok`].
    /// A healthy or lifecycle status is left as it is.
    pub fn clear_error(&self) {
        self.clear_error_to(Status::Ok);
    }

    /// Clears a fault back to `to`, which should be ok, idle or busy
    /// (any other value is taken as ok).
    pub fn clear_error_to(&self, to: Status) {
        let to = if to.is_healthy() { to } else { Status::Ok };
        let current = self.status();
        if matches!(
            current,
            Status::Warning | Status::Degraded | Status::Error | Status::Stale
        ) {
            self.report(to, None);
        }
    }

    /// Sets one observed value in the health details.
    pub fn set_detail(&self, key: &str, value: impl serde::Serialize) {
        let value = serde_json::to_value(value).unwrap_or(serde_json::Value::Null);
        self.inner
            .registry
            .merge_detail(&self.inner.name, self.inner.incarnation, key, value);
    }

    /// Publishes a whole [`Health`](crate::kit::Health) at once: its details
    /// replace the current ones, and its status and message are reported.
    pub fn publish(&self, health: crate::kit::Health) {
        self.set_details(health.details);
        self.report(health.status, health.message);
    }

    /// Replaces all health details at once.
    pub fn set_details(&self, details: Details) {
        self.inner
            .registry
            .set_details(&self.inner.name, self.inner.incarnation, details);
    }

    /// Runs the future `make` returns on the arbiter `placement` chooses —
    /// one of the runtime's pool arbiters, a named one, a thread of its own
    /// — to spread a service's work over several threads. The future is
    /// made and polled there, so it need not be `Send`. The returned
    /// [`Placed`] resolves to its output, or to the
    /// [`Panic`](crate::kit::Panic) it ended with; dropping it leaves the
    /// work running (a dedicated thread ends with its work).
    ///
    /// ```
    /// # #[actix_rt::main] async fn main() {
    /// use servitor::prelude::*;
    /// use servitor::Placement;
    ///
    /// struct Hasher;
    /// impl Routine for Hasher {
    ///     async fn run(&mut self, cx: &ServiceContext) -> Result<(), BoxError> {
    ///         let parts: Vec<_> = (0..4u64)
    ///             .map(|i| cx.spawn_placed(&Placement::Pool, move || async move { i * i }))
    ///             .collect::<Result<_, _>>()?;
    ///         let mut sum = 0;
    ///         for part in parts {
    ///             sum += part.await?;
    ///         }
    ///         cx.set_detail("sum", sum);
    ///         Ok(())
    ///     }
    /// }
    /// let tree = Supervisor::builder("app")
    ///     .child(ChildSpec::routine("hasher", || Hasher).transient())
    ///     .build().unwrap();
    /// let app = Runtime::start(tree).await.unwrap();
    /// app.shutdown().await.unwrap();
    /// # }
    /// ```
    pub fn spawn_placed<F, Fut>(
        &self,
        placement: &Placement,
        make: F,
    ) -> Result<Placed<Fut::Output>, PlacementError>
    where
        F: FnOnce() -> Fut + Send + 'static,
        Fut: std::future::Future + 'static,
        Fut::Output: Send + 'static,
    {
        self.inner.arbiters.spawn(placement, make)
    }

    /// Tells the registry this service is alive (done for you on every
    /// health check; call it from long loops).
    pub fn heartbeat(&self) {
        self.inner
            .registry
            .heartbeat(&self.inner.name, self.inner.incarnation);
    }

    /// False once a stop has been requested.
    pub fn is_running(&self) -> bool {
        self.inner.running.load(Ordering::Acquire)
    }

    /// Resolves when a stop has been requested: `select!` on it in loops.
    pub async fn cancelled(&self) {
        self.cancellation_token().cancelled_owned().await
    }

    /// The cancellation token behind [`cancelled`](Self::cancelled), for
    /// handing to libraries that take one.
    pub fn cancellation_token(&self) -> CancellationToken {
        let mut state = self.inner.state.lock();
        state
            .cancel
            .get_or_insert_with(|| {
                let token = CancellationToken::new();
                if !self.is_running() {
                    token.cancel();
                }
                token
            })
            .clone()
    }

    /// Ends this incarnation abnormally with `reason` from inside an actor:
    /// the supervisor sees a failure, as if the service had crashed.
    pub fn fail<A>(&self, ctx: &mut A::Context, reason: impl fmt::Display)
    where
        A: Actor,
        A::Context: ActorContext,
    {
        self.record_failure(reason.to_string());
        ctx.stop();
    }

    /// Records why the incarnation fails, unless a reason was said already.
    pub(crate) fn record_failure(&self, reason: String) {
        let mut state = self.inner.state.lock();
        if matches!(state.outcome, Outcome::Open) {
            state.outcome = Outcome::Ending(ExitReason::Failed(reason));
        }
    }

    /// The failure the incarnation reported before it ended.
    pub(crate) fn failure(&self) -> Option<String> {
        match &self.inner.state.lock().outcome {
            Outcome::Ending(ExitReason::Failed(reason)) => Some(reason.clone()),
            _ => None,
        }
    }

    /// Ends the incarnation with `reason` once its actor stops.
    pub(crate) fn end_with(&self, reason: ExitReason) {
        let mut state = self.inner.state.lock();
        if !matches!(state.outcome, Outcome::Exited(_)) {
            state.outcome = Outcome::Ending(reason);
        }
    }

    /// How the incarnation said it would end, if it did.
    pub(crate) fn ending(&self) -> Option<ExitReason> {
        match &self.inner.state.lock().outcome {
            Outcome::Ending(reason) => Some(reason.clone()),
            _ => None,
        }
    }

    /// Marks the incarnation stopping: `is_running` turns false and the
    /// cancellation token (if one was handed out) is cancelled.
    pub(crate) fn request_stop(&self) {
        let state = self.inner.state.lock();
        self.inner.running.store(false, Ordering::Release);
        if let Some(token) = &state.cancel {
            token.cancel();
        }
    }

    /// The supervisor asks the instance to run its stop hook and end.
    pub(crate) fn request_stop_hook(&self) {
        self.request_stop();
        self.inner.stop_requested.store(true, Ordering::Release);
        self.inner.waker.wake();
    }

    /// Whether the supervisor asked for the stop hook.
    pub(crate) fn stop_hook_requested(&self) -> bool {
        self.inner.stop_requested.load(Ordering::Acquire)
    }

    /// A health check of this instance is due: wake it.
    pub(crate) fn check_due(&self) {
        self.inner.check_due.store(true, Ordering::Release);
        self.inner.waker.wake();
    }

    /// Whether a health check is due (and no longer, once asked).
    pub(crate) fn take_check_due(&self) -> bool {
        self.inner.check_due.swap(false, Ordering::AcqRel)
    }

    /// The instance's task, to wake for a stop request or a due check
    /// (each wake-up uses the registration up).
    pub(crate) fn register_waker(&self, waker: &std::task::Waker) {
        self.inner.waker.register(waker);
    }

    /// The instance's task was spawned: remember how to abort it (at once,
    /// if that was asked for already).
    pub(crate) fn set_abort(&self, handle: tokio::task::AbortHandle) {
        let mut state = self.inner.state.lock();
        if state.abort_asked {
            handle.abort();
        }
        state.abort = Some(handle);
    }

    /// Aborts the instance's task (now, or as soon as it is spawned).
    pub(crate) fn abort(&self) {
        let mut state = self.inner.state.lock();
        state.abort_asked = true;
        if let Some(handle) = &state.abort {
            handle.abort();
        }
    }

    /// How the instance ended, once it has.
    pub(crate) fn exit_reason(&self) -> Option<ExitReason> {
        match &self.inner.state.lock().outcome {
            Outcome::Exited(reason) => Some(reason.clone()),
            _ => None,
        }
    }

    /// Whether the instance has ended.
    pub(crate) fn has_exited(&self) -> bool {
        matches!(self.inner.state.lock().outcome, Outcome::Exited(_))
    }

    /// Records how the instance ended and wakes whoever waits for it.
    pub(crate) fn set_exit(&self, reason: ExitReason) {
        self.inner.state.lock().outcome = Outcome::Exited(reason);
        self.inner.ended.notify_waiters();
    }

    /// Waits until the instance has ended.
    pub(crate) fn exited(&self) -> impl std::future::Future<Output = ExitReason> + 'static {
        let cx = self.clone();
        async move {
            loop {
                let ended = cx.inner.ended.notified();
                tokio::pin!(ended);
                ended.as_mut().enable();
                if let Some(reason) = cx.exit_reason() {
                    return reason;
                }
                ended.await;
            }
        }
    }

    /// The incarnation has started (at `now`) and reports `status`.
    pub(crate) fn report_running(&self, status: Status, now: tokio::time::Instant) {
        self.inner.state.lock().status = status;
        self.inner
            .registry
            .mark_running(&self.inner.name, self.inner.incarnation, status, now);
    }

    pub(crate) fn report(&self, status: Status, message: Option<String>) {
        self.inner.state.lock().status = status;
        self.inner.registry.set_status(
            &self.inner.name,
            Reporter::Incarnation(self.inner.incarnation),
            status,
            message,
        );
    }
}

impl fmt::Debug for ServiceContext {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ServiceContext")
            .field("name", &self.inner.name)
            .field("incarnation", &self.inner.incarnation)
            .finish()
    }
}

thread_local! {
    /// The context of the service whose instance this thread is polling.
    static CURRENT: std::cell::RefCell<Option<ServiceContext>> = const { std::cell::RefCell::new(None) };
}

impl ServiceContext {
    /// The context of the service running on this thread right now: inside
    /// its handlers, hooks, health checks and the futures it spawns on its
    /// own context; `None` elsewhere. Saves keeping a clone in the actor:
    ///
    /// ```
    /// use servitor::prelude::*;
    ///
    /// #[derive(Default)] struct Orders;
    /// impl Actor for Orders { type Context = Context<Self>; }
    /// impl Service for Orders {}
    ///
    /// #[derive(Message)] #[rtype(result = "()")] struct Placed;
    ///
    /// impl Handler<Placed> for Orders {
    ///     type Result = ();
    ///     fn handle(&mut self, _: Placed, _: &mut Context<Self>) {
    ///         if let Some(cx) = ServiceContext::current() {
    ///             cx.set_detail("last_order", "now");
    ///         }
    ///     }
    /// }
    /// ```
    pub fn current() -> Option<ServiceContext> {
        CURRENT.with(|c| c.borrow().clone())
    }

    /// Runs `f` with the current service's name and path, if a service is
    /// running on this thread (without cloning its context).
    pub(crate) fn with_current<R>(f: impl FnOnce(Option<&ServiceContext>) -> R) -> R {
        CURRENT.with(|c| f(c.borrow().as_ref()))
    }
}

/// Runs `f` with the context in `cx` as the
/// [current](ServiceContext::current) service (an instance's every poll),
/// restoring the previous one after, also when `f` panics. The context is
/// moved into the thread's slot and back, not cloned: a poll costs no
/// reference-count traffic.
pub(crate) fn as_current<R>(cx: &mut Option<ServiceContext>, f: impl FnOnce() -> R) -> R {
    let previous = CURRENT.with(|c| c.replace(cx.take()));
    let _restore = Restore { slot: cx, previous };
    f()
}

/// Puts the context back where it came from, and the previous current one
/// back in the thread's slot.
struct Restore<'a> {
    slot: &'a mut Option<ServiceContext>,
    previous: Option<ServiceContext>,
}

impl Drop for Restore<'_> {
    fn drop(&mut self) {
        let previous = self.previous.take();
        *self.slot = CURRENT.with(|c| c.replace(previous));
    }
}
