//! Panics as failures: the one place servitor turns a panic into a value.
//!
//! Wherever service code runs — an actor's handlers and hooks, a bus
//! handler, a cache loader, a task, a scheduled job — a panic is caught with
//! [`catch_panic`] or [`catch_panic_async`] and becomes a [`Panic`]
//! carrying its message; the code around it then treats it as the failure
//! it is (an incarnation that failed, a handler call that failed, a task
//! that failed). Nothing of this works with `panic = "abort"`.
//!
//! ```
//! use servitor::kit::{catch_panic, catch_panic_async};
//!
//! let caught = catch_panic(|| -> u32 { panic!("bad input {}", 7) }).unwrap_err();
//! assert_eq!(caught.message(), "bad input 7");
//! assert_eq!(caught.to_string(), "panicked: bad input 7");
//!
//! # #[tokio::main(flavor = "current_thread")] async fn main() {
//! let fine = catch_panic_async(async { 2 + 2 }).await;
//! assert_eq!(fine, Ok(4));
//! # }
//! ```

use std::any::Any;
use std::fmt;
use std::future::Future;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::pin::Pin;
use std::task::{Context, Poll};

/// A caught panic: what it said.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Panic {
    message: String,
}

impl Panic {
    /// A panic with this message.
    pub fn new(message: impl Into<String>) -> Panic {
        Panic {
            message: message.into(),
        }
    }

    /// The panic of a payload caught by `catch_unwind` (its `&str` or
    /// `String` message; other payloads are named as such).
    pub fn from_payload(payload: &(dyn Any + Send)) -> Panic {
        let message = if let Some(s) = payload.downcast_ref::<&'static str>() {
            (*s).to_string()
        } else if let Some(s) = payload.downcast_ref::<String>() {
            s.clone()
        } else {
            "panic with a non-string payload".to_string()
        };
        Panic { message }
    }

    /// The panic message.
    pub fn message(&self) -> &str {
        &self.message
    }

    /// The panic message, by value.
    pub fn into_message(self) -> String {
        self.message
    }
}

impl fmt::Display for Panic {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "panicked: {}", self.message)
    }
}

impl std::error::Error for Panic {}

/// Runs `f`, turning a panic into a [`Panic`].
pub fn catch_panic<T>(f: impl FnOnce() -> T) -> Result<T, Panic> {
    catch_unwind(AssertUnwindSafe(f)).map_err(|p| Panic::from_payload(&*p))
}

/// Awaits `fut`, turning a panic in any of its polls into a [`Panic`].
///
/// The returned future holds `fut` and nothing else, so wrapping costs no
/// memory (a task's size is its future's size).
pub fn catch_panic_async<F: Future>(fut: F) -> CatchPanic<F> {
    CatchPanic { fut }
}

pin_project_lite::pin_project! {
    /// The future of [`catch_panic_async`].
    #[derive(Debug)]
    #[must_use = "futures do nothing unless polled"]
    pub struct CatchPanic<F> {
        #[pin]
        fut: F,
    }
}

impl<F: Future> Future for CatchPanic<F> {
    type Output = Result<F::Output, Panic>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let fut = self.project().fut;
        match catch_unwind(AssertUnwindSafe(|| fut.poll(cx))) {
            Ok(Poll::Pending) => Poll::Pending,
            Ok(Poll::Ready(out)) => Poll::Ready(Ok(out)),
            Err(payload) => Poll::Ready(Err(Panic::from_payload(&*payload))),
        }
    }
}

/// Calls `f` and awaits the future it returns, turning a panic in the call
/// or in any poll into a [`Panic`].
pub async fn catch_call_async<F, Fut>(f: F) -> Result<Fut::Output, Panic>
where
    F: FnOnce() -> Fut,
    Fut: Future,
{
    let fut = catch_panic(f)?;
    catch_panic_async(fut).await
}

/// Routes panics in service code to `tracing` instead of stderr: a panic on
/// a thread that is running a service instance (its handlers, hooks,
/// health checks, loops, ticks) is logged as one `error` event with the
/// service's `service`, `path` and `incarnation` fields, the panic message
/// and where it happened — no backtrace. Other panics go to the hook that
/// was installed before. The panic is still caught and handled as a failure
/// of the instance, as without the hook.
///
/// Opt-in, because a panic hook is global to the process; call it once at
/// start-up (calling it again changes nothing).
///
/// ```
/// servitor::kit::install_panic_hook();
/// ```
pub fn install_panic_hook() {
    static INSTALLED: std::sync::Once = std::sync::Once::new();
    INSTALLED.call_once(|| {
        let previous = std::panic::take_hook();
        std::panic::set_hook(Box::new(move |info| {
            let in_service = crate::service::ServiceContext::with_current(|cx| {
                let Some(cx) = cx else { return false };
                let message = Panic::from_payload(info.payload());
                let location = info
                    .location()
                    .map(|l| format!("{}:{}:{}", l.file(), l.line(), l.column()))
                    .unwrap_or_default();
                tracing::error!(
                    service = %cx.name(),
                    path = %cx.path(),
                    incarnation = cx.incarnation(),
                    panic = %message.message(),
                    %location,
                    "panic in service code"
                );
                true
            });
            if !in_service {
                previous(info);
            }
        }));
    });
}
