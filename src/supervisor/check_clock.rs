//! One timer per arbiter thread for the health checks of every instance on
//! it. An instance's [`Lifeline`](super::incarnation) asks for its next
//! check here instead of keeping a timer of its own: an idle service then
//! costs an entry in an ordered map rather than a timer, and a restart registers
//! no timer. A due check sets the instance's flag and wakes its task; the
//! check itself runs in the instance, so a thread that is blocked runs none
//! and its services go stale while the other threads keep reporting.

use crate::service::ServiceContext;
use std::cell::{Cell, RefCell};
use std::collections::BTreeMap;
use std::future::Future;
use std::pin::Pin;
use std::rc::Rc;
use std::task::{Context, Poll, Waker};
use tokio::time::{Instant, Sleep};

thread_local! {
    /// The clock of the arbiter running on this thread, once one was needed.
    static CLOCK: RefCell<Option<Rc<Dues>>> = const { RefCell::new(None) };
}

/// A check asked for, to cancel it by: when it is due (nanoseconds from
/// the clock's epoch), and a number that tells two at once apart.
pub(crate) type Ticket = (u64, u32);

/// Asks for a health check of `cx` at `at`, on this thread's clock.
pub(crate) fn schedule(at: Instant, cx: &ServiceContext) -> Ticket {
    let dues = CLOCK.with(|c| {
        c.borrow_mut()
            .get_or_insert_with(|| {
                let dues = Rc::new(Dues::new());
                actix_rt::spawn(Ticking {
                    dues: dues.clone(),
                    sleep: Box::pin(tokio::time::sleep_until(at)),
                });
                dues
            })
            .clone()
    });
    let seq = dues.seq.get();
    dues.seq.set(seq.wrapping_add(1));
    let ticket = (dues.offset(at), seq);
    let mut map = dues.map.borrow_mut();
    let earliest = map
        .first_key_value()
        .is_none_or(|(first, _)| ticket < *first);
    map.insert(ticket, cx.clone());
    drop(map);
    if earliest {
        if let Some(waker) = dues.waker.borrow_mut().take() {
            waker.wake();
        }
    }
    ticket
}

/// Cancels a check asked for on this thread (its instance has ended).
pub(crate) fn cancel(ticket: Ticket) {
    // During thread teardown the clock may be gone already: so is the check.
    let _ = CLOCK.try_with(|c| {
        if let Ok(c) = c.try_borrow() {
            if let Some(dues) = c.as_ref() {
                if let Ok(mut map) = dues.map.try_borrow_mut() {
                    map.remove(&ticket);
                }
            }
        }
    });
}

/// The checks asked for on one thread, earliest first.
struct Dues {
    /// What the tickets count from.
    epoch: Instant,
    map: RefCell<BTreeMap<Ticket, ServiceContext>>,
    seq: Cell<u32>,
    /// The clock task, when it waits.
    waker: RefCell<Option<Waker>>,
}

impl Dues {
    fn new() -> Dues {
        Dues {
            epoch: Instant::now(),
            map: RefCell::default(),
            seq: Cell::new(0),
            waker: RefCell::default(),
        }
    }

    /// `at` as nanoseconds from the epoch (saturating: a deadline 584
    /// years away is never).
    fn offset(&self, at: Instant) -> u64 {
        let d = at.saturating_duration_since(self.epoch);
        u64::try_from(d.as_nanos()).unwrap_or(u64::MAX)
    }

    fn instant(&self, offset: u64) -> Instant {
        crate::clock::after(self.epoch, std::time::Duration::from_nanos(offset))
    }
}

/// The clock task: sleeps until the earliest check, then flags every check
/// that is due.
struct Ticking {
    dues: Rc<Dues>,
    sleep: Pin<Box<Sleep>>,
}

impl Future for Ticking {
    type Output = ();

    fn poll(mut self: Pin<&mut Self>, task: &mut Context<'_>) -> Poll<()> {
        loop {
            let now = self.dues.offset(Instant::now());
            let mut due = Vec::new();
            let next = {
                let mut map = self.dues.map.borrow_mut();
                while map.first_key_value().is_some_and(|(t, _)| t.0 <= now) {
                    if let Some((_, cx)) = map.pop_first() {
                        due.push(cx);
                    }
                }
                map.first_key_value().map(|(t, _)| self.dues.instant(t.0))
            };
            // Outside the borrow: waking may run nothing here, but stays
            // clear of the map all the same.
            for cx in due {
                cx.check_due();
            }
            *self.dues.waker.borrow_mut() = Some(task.waker().clone());
            let Some(at) = next else {
                return Poll::Pending;
            };
            if self.sleep.deadline() != at {
                self.sleep.as_mut().reset(at);
            }
            if self.sleep.as_mut().poll(task).is_pending() {
                return Poll::Pending;
            }
        }
    }
}

impl Drop for Ticking {
    fn drop(&mut self) {
        // The arbiter's runtime is going away: a later one on this thread
        // starts a clock of its own.
        let _ = CLOCK.try_with(|c| {
            if let Ok(mut c) = c.try_borrow_mut() {
                if c.as_ref().is_some_and(|d| Rc::ptr_eq(d, &self.dues)) {
                    *c = None;
                }
            }
        });
    }
}
