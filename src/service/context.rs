//! What a running service knows about itself: its name, its cancellation
//! signal, and the line to the registry it reports its health on.

use crate::exit::ExitReason;
use crate::health::Details;
use crate::placement::{Arbiters, Placed, Placement, PlacementError};
use crate::registry::{Registry, Reporter};
use crate::status::Status;
use actix::{Actor, ActorContext};
use parking_lot::Mutex;
use std::fmt;
use std::sync::Arc;
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

struct Inner {
    name: String,
    path: String,
    incarnation: u64,
    restarts: u32,
    registry: Registry,
    cancel: CancellationToken,
    failure: Mutex<Option<String>>,
    /// How the incarnation ends, when it says so itself (a supervisor that
    /// gives up).
    ending: Mutex<Option<ExitReason>>,
    status: Mutex<Status>,
    arbiters: Arc<Arbiters>,
}

impl ServiceContext {
    pub(crate) fn new(
        name: &str,
        path: &str,
        incarnation: u64,
        restarts: u32,
        registry: Registry,
        arbiters: Arc<Arbiters>,
    ) -> Self {
        ServiceContext {
            inner: Arc::new(Inner {
                name: name.to_string(),
                path: path.to_string(),
                incarnation,
                restarts,
                registry,
                cancel: CancellationToken::new(),
                failure: Mutex::new(None),
                ending: Mutex::new(None),
                status: Mutex::new(Status::Starting),
                arbiters,
            }),
        }
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
        *self.inner.status.lock()
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
        let place = self
            .inner
            .arbiters
            .place(placement)
            .map_err(PlacementError::NoArbiter)?;
        Ok(crate::placement::spawn_placed(place, make))
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
        !self.inner.cancel.is_cancelled()
    }

    /// Resolves when a stop has been requested: `select!` on it in loops.
    pub async fn cancelled(&self) {
        self.inner.cancel.cancelled().await
    }

    /// The cancellation token behind [`cancelled`](Self::cancelled), for
    /// handing to libraries that take one.
    pub fn cancellation_token(&self) -> CancellationToken {
        self.inner.cancel.clone()
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

    pub(crate) fn record_failure(&self, reason: String) {
        let mut f = self.inner.failure.lock();
        if f.is_none() {
            *f = Some(reason);
        }
    }

    pub(crate) fn failure(&self) -> Option<String> {
        self.inner.failure.lock().clone()
    }

    /// Ends the incarnation with `reason` once its actor stops.
    pub(crate) fn end_with(&self, reason: ExitReason) {
        *self.inner.ending.lock() = Some(reason);
    }

    pub(crate) fn ending(&self) -> Option<ExitReason> {
        self.inner.ending.lock().clone()
    }

    pub(crate) fn request_stop(&self) {
        self.inner.cancel.cancel();
    }

    pub(crate) fn report(&self, status: Status, message: Option<String>) {
        *self.inner.status.lock() = status;
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

/// Makes `cx` the [current](ServiceContext::current) service while `fut` is
/// polled (an instance's whole actor context).
pub(crate) struct InService<F> {
    cx: ServiceContext,
    fut: F,
}

impl<F> InService<F> {
    pub(crate) fn new(cx: ServiceContext, fut: F) -> Self {
        InService { cx, fut }
    }
}

/// Restores the previous current service, also when the poll panics.
struct Restore(Option<ServiceContext>);

impl Drop for Restore {
    fn drop(&mut self) {
        let previous = self.0.take();
        CURRENT.with(|c| *c.borrow_mut() = previous);
    }
}

impl<F: std::future::Future + Unpin> std::future::Future for InService<F> {
    type Output = F::Output;

    fn poll(
        mut self: std::pin::Pin<&mut Self>,
        task: &mut std::task::Context<'_>,
    ) -> std::task::Poll<F::Output> {
        let this = &mut *self;
        let previous = CURRENT.with(|c| c.borrow_mut().replace(this.cx.clone()));
        let _restore = Restore(previous);
        std::pin::Pin::new(&mut this.fut).poll(task)
    }
}
