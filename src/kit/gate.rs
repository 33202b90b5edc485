//! Where a kit service is in its life, as its handles see it.

use parking_lot::Mutex;
use std::sync::atomic::{AtomicU8, Ordering};
use tokio::sync::Notify;

/// The life of a service made with the kit, as its handles see it.
///
/// ```text
///  Idle ──start──▶ Running ──stopped by its supervisor──▶ Stopped ──start──▶ Running
///    │                │  (a crash leaves it Running: the data path keeps        │
///    │                │   working while the supervisor restarts the actor)      │
///    └───────── gone for good (spec dropped, removed, runtime ended) ──▶ Closed ◀┘
/// ```
///
/// A spec added to a tree again after its service was closed reopens it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Phase {
    /// Made, never started.
    Idle,
    /// Supervised and started: an incarnation runs, or is being restarted
    /// after a crash.
    Running,
    /// Stopped by its supervisor; it may be started again.
    Stopped,
    /// Gone for good: every operation fails with [`Stopped`](super::Stopped).
    Closed,
}

impl Phase {
    fn from_u8(v: u8) -> Phase {
        match v {
            0 => Phase::Idle,
            1 => Phase::Running,
            2 => Phase::Stopped,
            _ => Phase::Closed,
        }
    }

    fn as_u8(self) -> u8 {
        match self {
            Phase::Idle => 0,
            Phase::Running => 1,
            Phase::Stopped => 2,
            Phase::Closed => 3,
        }
    }
}

/// The phase, readable with one atomic load on the data path; changes are
/// serialized so the engine hears them in order.
pub(crate) struct Gate {
    phase: AtomicU8,
    changing: Mutex<()>,
    changed: Notify,
}

impl Gate {
    pub fn new() -> Gate {
        Gate {
            phase: AtomicU8::new(Phase::Idle.as_u8()),
            changing: Mutex::new(()),
            changed: Notify::new(),
        }
    }

    #[inline]
    pub fn phase(&self) -> Phase {
        Phase::from_u8(self.phase.load(Ordering::Acquire))
    }

    #[inline]
    pub fn is_closed(&self) -> bool {
        self.phase.load(Ordering::Acquire) == Phase::Closed.as_u8()
    }

    /// Moves to `to` if the move is allowed, calling `changed(from, to)`
    /// while no other change can happen. A closed gate only reopens by a
    /// start; a stop never moves it.
    pub fn move_to(&self, to: Phase, changed: impl FnOnce(Phase, Phase)) {
        let _serial = self.changing.lock();
        let from = self.phase();
        let allowed = match (from, to) {
            (a, b) if a == b => false,
            (Phase::Closed, Phase::Stopped) | (Phase::Idle, Phase::Stopped) => false,
            _ => true,
        };
        if !allowed {
            return;
        }
        self.phase.store(to.as_u8(), Ordering::Release);
        changed(from, to);
        self.changed.notify_waiters();
    }

    /// Resolves once the gate is closed.
    pub async fn closed(&self) {
        loop {
            let notified = self.changed.notified();
            tokio::pin!(notified);
            notified.as_mut().enable();
            if self.is_closed() {
                return;
            }
            notified.await;
        }
    }
}
