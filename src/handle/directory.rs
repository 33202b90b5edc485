//! The runtime's table of service slots: one per service name, kept across
//! restarts, so handles outlive instances.

use super::LookupError;
use crate::names::NameHash;
use crate::supervisor::ChildHooks;
use actix::dev::channel::AddressSender;
use actix::Actor;
use dashmap::DashMap;
use parking_lot::RwLock;
use std::any::Any;
use std::sync::Arc;
use tokio::sync::Notify;

/// Where one service currently is.
pub(crate) enum SlotState<A: Actor> {
    /// Not running now: starting, crashed, or waiting out a restart backoff.
    Down,
    /// Running, reached through this sender of its mailbox (what an
    /// `Addr` wraps: a call sends through it without making a request
    /// future of actix's).
    Up(AddressSender<A>),
    /// Gone for good: removed, finished, or its runtime shut down.
    Stopped,
}

/// The current address of one service, watched by its handles.
///
/// A lock and one `Notify`: handles read it on every call, and a runtime
/// holds one per service, so it is kept small.
pub(crate) struct Slot<A: Actor> {
    state: RwLock<SlotState<A>>,
    changed: Notify,
}

impl<A: Actor> Slot<A> {
    pub fn new() -> Self {
        Slot {
            state: RwLock::new(SlotState::Down),
            changed: Notify::new(),
        }
    }

    pub fn up(&self, mailbox: AddressSender<A>) {
        *self.state.write() = SlotState::Up(mailbox);
        self.changed.notify_waiters();
    }

    /// Reads the current state.
    pub fn read(&self) -> parking_lot::RwLockReadGuard<'_, SlotState<A>> {
        self.state.read()
    }

    /// Waits until `pick` accepts the state (checked first, then after
    /// every change), returning what it returned.
    pub async fn wait_for<T>(&self, mut pick: impl FnMut(&SlotState<A>) -> Option<T>) -> T {
        loop {
            let changed = self.changed.notified();
            tokio::pin!(changed);
            changed.as_mut().enable();
            if let Some(found) = pick(&self.state.read()) {
                return found;
            }
            changed.await;
        }
    }
}

/// Type-erased operations on a slot, for code that does not know `A`.
pub(crate) trait AnySlot: Send + Sync {
    fn down(&self);
    fn stop(&self);
    fn as_any(self: Arc<Self>) -> Arc<dyn Any + Send + Sync>;
    /// The actor type of the slot.
    fn type_name(&self) -> &'static str;
}

impl<A: Actor> AnySlot for Slot<A> {
    fn down(&self) {
        let mut state = self.state.write();
        if !matches!(*state, SlotState::Down) {
            *state = SlotState::Down;
            drop(state);
            self.changed.notify_waiters();
        }
    }
    fn stop(&self) {
        *self.state.write() = SlotState::Stopped;
        self.changed.notify_waiters();
    }
    fn as_any(self: Arc<Self>) -> Arc<dyn Any + Send + Sync> {
        self
    }
    fn type_name(&self) -> &'static str {
        std::any::type_name::<A>()
    }
}

struct Record {
    slot: Arc<dyn AnySlot>,
    path: Arc<str>,
    /// Told when the service is gone for good.
    hooks: Option<Arc<dyn ChildHooks>>,
}

/// Name → slot, shared by a runtime's supervisors and handles.
#[derive(Clone, Default)]
pub(crate) struct Directory {
    /// Boxed: spare slots of the hash table then cost a pointer each.
    slots: Arc<DashMap<Arc<str>, Box<Record>, NameHash>>,
}

impl Directory {
    /// A directory with room for `capacity` names.
    pub fn with_capacity(capacity: usize) -> Directory {
        Directory {
            slots: Arc::new(DashMap::with_capacity_and_hasher(
                capacity,
                NameHash::default(),
            )),
        }
    }

    /// The slot of `name`, created on first use with the child's `hooks`.
    /// A slot of another type or path under the same name is replaced.
    pub fn slot<A: Actor>(
        &self,
        name: &Arc<str>,
        path: &Arc<str>,
        hooks: Option<&Arc<dyn ChildHooks>>,
    ) -> Arc<Slot<A>> {
        if let Some(rec) = self.slots.get(name) {
            if *rec.path == **path {
                if let Ok(slot) = rec.slot.clone().as_any().downcast::<Slot<A>>() {
                    return slot;
                }
            }
        }
        let slot = Arc::new(Slot::new());
        self.slots.insert(
            name.clone(),
            Box::new(Record {
                slot: slot.clone(),
                path: path.clone(),
                hooks: hooks.cloned(),
            }),
        );
        slot
    }

    /// Takes `slot` (made with its child spec) as the slot of `name`; a slot
    /// that ended before is opened again (down until its instance is up).
    pub fn adopt<A: Actor>(
        &self,
        name: &Arc<str>,
        path: &Arc<str>,
        slot: &Arc<Slot<A>>,
        hooks: Option<&Arc<dyn ChildHooks>>,
    ) -> Arc<Slot<A>> {
        if let Some(rec) = self.slots.get(name) {
            let same = rec.path == *path
                && rec
                    .slot
                    .clone()
                    .as_any()
                    .downcast::<Slot<A>>()
                    .is_ok_and(|s| Arc::ptr_eq(&s, slot));
            if same {
                return slot.clone();
            }
        }
        slot.down();
        self.slots.insert(
            name.clone(),
            Box::new(Record {
                slot: slot.clone(),
                path: path.clone(),
                hooks: hooks.cloned(),
            }),
        );
        slot.clone()
    }

    /// The slot of `name` if it holds an `A`.
    pub fn lookup<A: Actor>(&self, name: &str) -> Result<Arc<Slot<A>>, LookupError> {
        let rec = self
            .slots
            .get(name)
            .ok_or_else(|| LookupError::NotFound(name.to_string()))?;
        rec.slot
            .clone()
            .as_any()
            .downcast::<Slot<A>>()
            .map_err(|_| LookupError::WrongType {
                name: name.to_string(),
                requested: std::any::type_name::<A>(),
                actual: rec.slot.type_name(),
            })
    }

    pub fn contains(&self, name: &str) -> bool {
        self.slots.contains_key(name)
    }

    /// Marks the slot of `name` and of everything below it down.
    pub fn down_subtree(&self, path: &str) {
        for rec in self.slots.iter() {
            if crate::health::in_subtree(&rec.path, path) {
                rec.slot.down();
            }
        }
    }

    /// Removes `name` and everything below it: their handles see `Stopped`,
    /// and their owners hear they are gone for good.
    pub fn remove_subtree(&self, path: &str) {
        self.remove_where(|rec| crate::health::in_subtree(&rec.path, path));
    }

    /// Marks `name` and everything below it stopped (they ended for good, but
    /// stay in their supervisor's child list and may be started again by a
    /// sibling's group restart): handles see `Stopped` until then, and their
    /// owners hear they are gone.
    pub fn end_subtree(&self, path: &str) {
        let mut hooks = Vec::new();
        for rec in self.slots.iter() {
            if crate::health::in_subtree(&rec.path, path) {
                rec.slot.stop();
                hooks.extend(rec.hooks.clone());
            }
        }
        for h in hooks {
            h.gone();
        }
    }

    /// Removes every slot (the runtime ended).
    pub fn close_all(&self) {
        self.remove_where(|_| true);
    }

    fn remove_where(&self, gone: impl Fn(&Record) -> bool) {
        let mut hooks = Vec::new();
        self.slots.retain(|_, rec| {
            if !gone(rec) {
                return true;
            }
            rec.slot.stop();
            hooks.extend(rec.hooks.take());
            false
        });
        // Outside the map's locks: an owner may do anything it likes.
        for h in hooks {
            h.gone();
        }
    }
}
