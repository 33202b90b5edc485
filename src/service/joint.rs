//! A future that two actor futures can drive.
//!
//! actix polls no spawned future of an actor while one of its `wait` futures
//! is pending, and the stop hook runs as such a `wait` future. A stop hook
//! that only *awaited* the spawned `run` (or in-flight `tick`) future would
//! therefore wait for a future nobody polls, and the service would be killed
//! at its shutdown timeout instead of stopping cleanly. A [`Joint`] lets the
//! spawned runner drive the work while the actor runs and the stop hook drive
//! the very same work while it waits; whichever sees it finish takes the
//! output.

use futures_util::future::LocalBoxFuture;
use std::cell::RefCell;
use std::future::{poll_fn, Future};
use std::rc::Rc;
use std::task::{Context, Poll};

/// Shared work: `None` once some driver has taken its output.
pub(crate) struct Joint<O> {
    work: Rc<RefCell<Option<LocalBoxFuture<'static, O>>>>,
}

impl<O> Clone for Joint<O> {
    fn clone(&self) -> Self {
        Joint {
            work: self.work.clone(),
        }
    }
}

impl<O: 'static> Joint<O> {
    pub(crate) fn new(work: impl Future<Output = O> + 'static) -> Self {
        Joint {
            work: Rc::new(RefCell::new(Some(Box::pin(work)))),
        }
    }

    /// Drives the work; resolves to its output for the driver that saw it
    /// finish, and to `None` for a driver that comes after.
    pub(crate) fn drive(self) -> impl Future<Output = Option<O>> + 'static {
        poll_fn(move |cx| self.poll(cx))
    }

    fn poll(&self, cx: &mut Context<'_>) -> Poll<Option<O>> {
        let mut work = self.work.borrow_mut();
        let Some(fut) = work.as_mut() else {
            return Poll::Ready(None);
        };
        match fut.as_mut().poll(cx) {
            Poll::Ready(output) => {
                *work = None;
                Poll::Ready(Some(output))
            }
            Poll::Pending => Poll::Pending,
        }
    }
}
