//! The slab of one shard: every entry in a `Vec` of slots, addressed by slot
//! number, threaded on circular doubly linked rings by slot number too (no
//! pointers, no allocation per entry).
//!
//! A slot is *free* (on the free list) or *live*: an entry, on the small or
//! the main ring of the [eviction policy](super::policy).

use tokio::time::Instant;

/// "No slot": an empty ring, the end of the free list.
pub(crate) const NIL: u32 = u32::MAX;

/// What a slot holds, and for a live entry which ring it is on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[repr(u8)]
pub(crate) enum State {
    /// A live entry on the small ring (S3-FIFO's probation queue).
    Small = 0,
    /// A live entry on the main ring (every live entry under LRU).
    Main = 1,
    /// Unused, on the free list.
    Free = 2,
}

impl State {
    #[inline]
    pub fn is_live(self) -> bool {
        matches!(self, State::Small | State::Main)
    }
}

/// One slot. The fields the policy reads on every pass (state, frequency,
/// links, weight) sit next to the hash, ahead of the key and value.
#[repr(align(64))]
pub(crate) struct Slot<K, V> {
    /// The full hash of the key (the index keeps only its low half).
    pub hash: u64,
    /// Towards the tail of its ring (the previous entry in queue order).
    pub prev: u32,
    /// Towards the head of its ring; on the free list, the next free slot.
    pub next: u32,
    pub weight: u32,
    pub state: State,
    /// Accesses since the policy last looked at the entry, saturating at
    /// [`MAX_FREQ`](super::policy::MAX_FREQ).
    pub freq: u8,
    pub expires: Option<Instant>,
    /// The key and value of a live entry; `None` for a free slot.
    pub entry: Option<(K, V)>,
}

impl<K, V> Slot<K, V> {
    #[inline]
    pub fn key(&self) -> Option<&K> {
        self.entry.as_ref().map(|(k, _)| k)
    }

    /// A live entry whose expiry is due at `now`.
    #[inline]
    pub fn is_expired_at(&self, now: Instant) -> bool {
        self.state.is_live() && self.expires.is_some_and(|at| at <= now)
    }
}

/// The slots and their free list.
#[repr(C)]
pub(crate) struct Slab<K, V> {
    slots: Vec<Slot<K, V>>,
    free: u32,
}

impl<K, V> Default for Slab<K, V> {
    fn default() -> Self {
        Slab {
            slots: Vec::new(),
            free: NIL,
        }
    }
}

impl<K, V> std::ops::Index<u32> for Slab<K, V> {
    type Output = Slot<K, V>;
    #[inline]
    fn index(&self, i: u32) -> &Slot<K, V> {
        &self.slots[i as usize]
    }
}

impl<K, V> std::ops::IndexMut<u32> for Slab<K, V> {
    #[inline]
    fn index_mut(&mut self, i: u32) -> &mut Slot<K, V> {
        &mut self.slots[i as usize]
    }
}

impl<K, V> Slab<K, V> {
    /// Slot numbers in use or ever used: `0..end()`.
    #[inline]
    pub fn end(&self) -> u32 {
        self.slots.len() as u32
    }

    pub fn get(&self, i: u32) -> Option<&Slot<K, V>> {
        self.slots.get(i as usize)
    }

    /// Every slot, free ones included.
    pub fn iter(&self) -> impl Iterator<Item = (u32, &Slot<K, V>)> {
        self.slots.iter().enumerate().map(|(i, s)| (i as u32, s))
    }

    /// A slot for a new live entry (not linked on any ring yet).
    #[inline]
    pub fn alloc(
        &mut self,
        hash: u64,
        key: K,
        value: V,
        weight: u32,
        expires: Option<Instant>,
    ) -> u32 {
        if self.free != NIL {
            // Fill the free slot in place: `release` left its other fields
            // (links, state, frequency) as a new entry starts with them.
            let i = self.free;
            let slot = &mut self.slots[i as usize];
            self.free = slot.next;
            slot.hash = hash;
            slot.weight = weight;
            slot.expires = expires;
            slot.entry = Some((key, value));
            i
        } else {
            let i = u32::try_from(self.slots.len())
                .ok()
                .filter(|i| *i != NIL)
                .expect("a cache shard holds at most 2^32 - 1 slots");
            self.slots.push(Slot {
                hash,
                prev: NIL,
                next: NIL,
                weight,
                state: State::Free,
                freq: 0,
                expires,
                entry: Some((key, value)),
            });
            i
        }
    }

    /// Returns slot `i` (unlinked from its ring) to the free list and hands
    /// back what it held.
    #[inline]
    pub fn release(&mut self, i: u32) -> Option<(K, V)> {
        let free = std::mem::replace(&mut self.free, i);
        let slot = &mut self.slots[i as usize];
        slot.state = State::Free;
        slot.next = free;
        slot.prev = NIL;
        slot.freq = 0;
        slot.entry.take()
    }

    /// Takes every slot out, to be dropped by the caller.
    pub fn take_all(&mut self) -> Vec<Slot<K, V>> {
        self.free = NIL;
        std::mem::take(&mut self.slots)
    }

    /// Bytes held by the slots.
    pub fn bytes(&self) -> usize {
        self.slots.capacity() * std::mem::size_of::<Slot<K, V>>()
    }
}

/// A circular doubly linked list of slots: `head` is its oldest entry (the
/// policy's hand), `head.prev` its newest.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Ring {
    pub head: u32,
    pub len: u32,
    /// The summed weight of its entries.
    pub weight: u64,
}

impl Default for Ring {
    fn default() -> Self {
        Ring {
            head: NIL,
            len: 0,
            weight: 0,
        }
    }
}

impl Ring {
    /// Links slot `i` in as the newest entry.
    #[inline(always)]
    pub fn push<K, V>(&mut self, slab: &mut Slab<K, V>, i: u32) {
        let head = self.head;
        if head == NIL {
            let s = &mut slab[i];
            s.prev = i;
            s.next = i;
            self.head = i;
        } else {
            let tail = slab[head].prev;
            {
                let s = &mut slab[i];
                s.prev = tail;
                s.next = head;
            }
            slab[tail].next = i;
            slab[head].prev = i;
        }
        self.len += 1;
        self.weight += u64::from(slab[i].weight);
    }

    /// Unlinks slot `i`, which must be on this ring.
    #[inline(always)]
    pub fn unlink<K, V>(&mut self, slab: &mut Slab<K, V>, i: u32) {
        let (prev, next) = (slab[i].prev, slab[i].next);
        if next == i {
            self.head = NIL;
        } else {
            slab[prev].next = next;
            slab[next].prev = prev;
            if self.head == i {
                self.head = next;
            }
        }
        self.len -= 1;
        self.weight -= u64::from(slab[i].weight);
    }

    /// Moves the hand one entry on: the oldest becomes the newest, without
    /// touching any link.
    #[inline]
    pub fn rotate<K, V>(&mut self, slab: &Slab<K, V>) {
        if self.head != NIL {
            self.head = slab[self.head].next;
        }
    }

    /// Whether slot `i` (on this ring) is its newest entry.
    #[inline]
    pub fn is_newest<K, V>(&self, slab: &Slab<K, V>, i: u32) -> bool {
        slab[i].next == self.head
    }

    pub fn clear(&mut self) {
        *self = Ring::default();
    }
}
