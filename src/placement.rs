//! Where services run: on which arbiter (one thread, one event loop) each
//! instance is placed.
//!
//! By default the whole tree runs on the arbiter the runtime was started
//! on — one thread, the cheapest calls. A child (or a whole subtree, from
//! its supervisor down) can be placed elsewhere:
//!
//! | placement | runs on | for |
//! | --- | --- | --- |
//! | [`Inherit`](Placement::Inherit) (default) | where its supervisor's children run | most services |
//! | [`Runtime`](Placement::Runtime) | the arbiter the runtime was started on | a subtree that must share that thread |
//! | [`Pool`](Placement::Pool) | one of the runtime's pool arbiters, the least loaded | CPU-bound services: all cores |
//! | [`Named`](Placement::Named) | an arbiter of that name, made on first use | services that should share a thread |
//! | [`Dedicated`](Placement::Dedicated) | a thread of its own per incarnation | a service that blocks |
//!
//! The pool has [`RuntimeConfig::pool_size`](crate::RuntimeConfig::pool_size)
//! arbiters (default: the available cores), started when first used. Each
//! new incarnation placed on the pool goes to the arbiter with the fewest
//! live instances (ties: the next in turn). Counting live instances rather
//! than taking turns keeps the pool even when services restart or are
//! removed — round-robin would keep handing the next restart to whichever
//! arbiter is next, however full it is.
//!
//! Supervision is the same wherever an instance runs: its panics are
//! caught, its exit reaches its supervisor, a restart uses the same
//! placement, incarnations never overlap, shutdown order and timeouts hold.
//! A call through a handle from another thread costs what a cross-arbiter
//! actix `send` costs. An instance's futures stay on the thread it was
//! placed on: nothing a service holds needs to be `Send`.
//!
//! ```
//! use servitor::prelude::*;
//! use servitor::Placement;
//!
//! #[derive(Default)] struct Resize;
//! impl Actor for Resize { type Context = Context<Self>; }
//! impl Service for Resize {}
//!
//! let tree = Supervisor::builder("app")
//!     .child(ChildSpec::service("resize", Resize::default).placement(Placement::Pool))
//!     .child(Supervisor::builder("legacy").placement(Placement::Dedicated))
//!     .build()
//!     .unwrap();
//! # let _ = tree;
//! ```

use actix_rt::{Arbiter, ArbiterHandle};
use parking_lot::Mutex;
use serde::{Deserialize, Serialize};
use std::collections::HashMap;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::thread::ThreadId;

/// Where a child's instances run.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum Placement {
    /// Where its supervisor places its children: for a supervisor with a
    /// placement of its own, that one; at the root, the runtime's arbiter.
    #[default]
    Inherit,
    /// The arbiter the runtime was started on.
    Runtime,
    /// One of the runtime's pool arbiters: the one with the fewest live
    /// instances.
    Pool,
    /// The arbiter of this name, started when first used and shared by
    /// everything placed on it.
    Named(String),
    /// A thread of its own for each incarnation, stopped when it ends.
    Dedicated,
}

impl Placement {
    /// `self`, or `parent` when `self` is [`Inherit`](Placement::Inherit).
    pub(crate) fn or(&self, parent: &Placement) -> Placement {
        match self {
            Placement::Inherit => parent.clone(),
            other => other.clone(),
        }
    }
}

/// An arbiter and the thread it runs on.
#[derive(Clone)]
struct Known {
    handle: ArbiterHandle,
    thread: ThreadId,
}

/// One arbiter of the pool and how many live instances it holds.
struct PoolArbiter {
    known: Known,
    load: Arc<AtomicUsize>,
}

/// The runtime's arbiters: its own, the pool, the named ones. Stopped with
/// the runtime.
pub(crate) struct Arbiters {
    runtime: Known,
    pool_size: usize,
    pool: Mutex<Option<Vec<PoolArbiter>>>,
    next: AtomicUsize,
    named: Mutex<HashMap<String, Known>>,
    /// Every arbiter the runtime started, to stop at the end.
    owned: Mutex<Vec<Arbiter>>,
}

/// Where one incarnation goes, and what it holds there while it lives.
pub(crate) struct Place {
    pub target: Target,
    /// Counts the instance on its pool arbiter while it is held.
    #[allow(dead_code)]
    pub load: Option<LoadToken>,
}

pub(crate) enum Target {
    /// The thread the supervisor runs on.
    Here,
    /// Another arbiter.
    There(ArbiterHandle),
    /// A thread of its own, stopped when the incarnation is dropped.
    Own(Box<Arbiter>),
}

/// One live instance on a pool arbiter.
pub(crate) struct LoadToken(Arc<AtomicUsize>);

impl Drop for LoadToken {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::Relaxed);
    }
}

impl std::fmt::Debug for Arbiters {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Arbiters")
            .field("pool_size", &self.pool_size)
            .finish_non_exhaustive()
    }
}

/// Starts an arbiter and learns its thread.
fn start_arbiter() -> Result<(Arbiter, Known), String> {
    let arbiter = Arbiter::try_new().map_err(|e| format!("cannot start an arbiter thread: {e}"))?;
    let (tx, rx) = std::sync::mpsc::channel();
    arbiter.spawn_fn(move || {
        let _ = tx.send(std::thread::current().id());
    });
    let thread = rx
        .recv()
        .map_err(|_| "the new arbiter thread ended at once".to_string())?;
    let handle = arbiter.handle();
    Ok((arbiter, Known { handle, thread }))
}

impl Arbiters {
    /// The arbiters of a runtime started on the current arbiter.
    pub fn new(pool_size: usize) -> Arbiters {
        Arbiters {
            runtime: Known {
                handle: Arbiter::current(),
                thread: std::thread::current().id(),
            },
            pool_size: pool_size.max(1),
            pool: Mutex::new(None),
            next: AtomicUsize::new(0),
            named: Mutex::new(HashMap::new()),
            owned: Mutex::new(Vec::new()),
        }
    }

    /// Where an incarnation with effective placement `placement` goes, seen
    /// from the current thread (its supervisor's).
    pub fn place(&self, placement: &Placement) -> Result<Place, String> {
        let (known, load) = match placement {
            Placement::Inherit | Placement::Runtime => (self.runtime.clone(), None),
            Placement::Named(name) => (self.named(name)?, None),
            Placement::Pool => {
                let (known, load) = self.least_loaded()?;
                (known, Some(load))
            }
            Placement::Dedicated => {
                let (arbiter, _) = start_arbiter()?;
                return Ok(Place {
                    target: Target::Own(Box::new(arbiter)),
                    load: None,
                });
            }
        };
        let target = if known.thread == std::thread::current().id() {
            Target::Here
        } else {
            Target::There(known.handle)
        };
        Ok(Place { target, load })
    }

    fn named(&self, name: &str) -> Result<Known, String> {
        let mut named = self.named.lock();
        if let Some(k) = named.get(name) {
            return Ok(k.clone());
        }
        let (arbiter, known) = start_arbiter()?;
        self.owned.lock().push(arbiter);
        named.insert(name.to_string(), known.clone());
        Ok(known)
    }

    fn least_loaded(&self) -> Result<(Known, LoadToken), String> {
        let mut pool = self.pool.lock();
        if pool.is_none() {
            let mut arbiters = Vec::with_capacity(self.pool_size);
            for _ in 0..self.pool_size {
                let (arbiter, known) = start_arbiter()?;
                self.owned.lock().push(arbiter);
                arbiters.push(PoolArbiter {
                    known,
                    load: Arc::new(AtomicUsize::new(0)),
                });
            }
            *pool = Some(arbiters);
        }
        let arbiters = pool.as_ref().expect("the pool was just made");
        let start = self.next.fetch_add(1, Ordering::Relaxed) % arbiters.len();
        let chosen = (0..arbiters.len())
            .map(|k| &arbiters[(start + k) % arbiters.len()])
            .min_by_key(|a| a.load.load(Ordering::Relaxed))
            .expect("the pool is not empty");
        chosen.load.fetch_add(1, Ordering::Relaxed);
        Ok((chosen.known.clone(), LoadToken(chosen.load.clone())))
    }

    /// Runs what `make` makes where `placement` says (see
    /// [`ServiceContext::spawn_placed`](crate::ServiceContext::spawn_placed)).
    pub fn spawn<F, Fut>(
        &self,
        placement: &Placement,
        make: F,
    ) -> Result<Placed<Fut::Output>, PlacementError>
    where
        F: FnOnce() -> Fut + Send + 'static,
        Fut: std::future::Future + 'static,
        Fut::Output: Send + 'static,
    {
        let place = self.place(placement).map_err(PlacementError::NoArbiter)?;
        Ok(spawn_placed(place, make))
    }

    /// How many live instances each pool arbiter holds (empty before the
    /// pool is first used).
    pub fn pool_loads(&self) -> Vec<usize> {
        self.pool
            .lock()
            .as_ref()
            .map(|p| p.iter().map(|a| a.load.load(Ordering::Relaxed)).collect())
            .unwrap_or_default()
    }

    /// Stops every arbiter the runtime started.
    pub fn stop(&self) {
        for arbiter in self.owned.lock().drain(..) {
            arbiter.stop();
        }
    }
}

/// No arbiter could be had for a placement.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum PlacementError {
    /// Starting an arbiter thread failed (the reason says why).
    #[error("no arbiter for the placement: {0}")]
    NoArbiter(String),
}

/// Work running where a placement put it (see
/// [`ServiceContext::spawn_placed`](crate::ServiceContext::spawn_placed)):
/// resolves to its output, or to the panic it ended with.
#[derive(Debug)]
pub struct Placed<T> {
    rx: tokio::sync::oneshot::Receiver<Result<T, crate::kit::Panic>>,
}

impl<T> std::future::Future for Placed<T> {
    type Output = Result<T, crate::kit::Panic>;

    fn poll(
        mut self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<Self::Output> {
        std::pin::Pin::new(&mut self.rx).poll(cx).map(|r| {
            r.unwrap_or_else(|_| {
                Err(crate::kit::Panic::new(
                    "the work was dropped before it finished",
                ))
            })
        })
    }
}

/// Runs what `make` makes at `place`, reporting its end through a oneshot.
pub(crate) fn spawn_placed<F, Fut>(place: Place, make: F) -> Placed<Fut::Output>
where
    F: FnOnce() -> Fut + Send + 'static,
    Fut: std::future::Future + 'static,
    Fut::Output: Send + 'static,
{
    let (tx, rx) = tokio::sync::oneshot::channel();
    let load = place.load;
    let own = matches!(place.target, Target::Own(_));
    let run = move || {
        actix_rt::spawn(async move {
            let _load = load;
            let _ = tx.send(crate::kit::catch_panic_async(make()).await);
            if own {
                // A thread of its own ends with its work.
                Arbiter::current().stop();
            }
        });
    };
    match place.target {
        Target::Here => run(),
        Target::There(handle) => {
            handle.spawn_fn(run);
        }
        Target::Own(arbiter) => {
            arbiter.spawn_fn(run);
        }
    }
    Placed { rx }
}
