//! Where the task engine keeps its records: a ring indexed by id, since ids
//! are handed out in order and most tasks finish (and are forgotten) in
//! roughly that order.
//!
//! Submitting appends, a worker taking the oldest task reads the front, and
//! both walk memory in order, so the hardware's prefetching keeps up where
//! a hash table's scattered buckets would miss the cache on every task.
//! A record that stays while many after it are forgotten (a task scheduled
//! far ahead, a long-running one) would pin a growing run of empty slots
//! behind it; once empty slots outnumber live records, the oldest live
//! records move to a hash table on the side, so memory stays proportional
//! to the records kept.

use std::collections::{HashMap, VecDeque};
use std::hash::{BuildHasherDefault, Hasher};

/// Records by id. See the [module docs](self).
pub(crate) struct Records<R> {
    /// `ring[i]` is the record of id `base + i`, if it is still kept.
    ring: VecDeque<Option<R>>,
    base: u64,
    /// Records in `ring` (the rest of its slots are empty).
    in_ring: usize,
    /// Old records moved out of the ring.
    aside: HashMap<u64, R, BuildHasherDefault<IdHasher>>,
}

impl<R> Default for Records<R> {
    fn default() -> Self {
        Records {
            ring: VecDeque::new(),
            base: 0,
            in_ring: 0,
            aside: HashMap::default(),
        }
    }
}

/// Empty slots tolerated in the ring beyond one per record.
const SLACK: usize = 64;

impl<R> Records<R> {
    fn slot(&self, id: u64) -> Option<usize> {
        let i = id.checked_sub(self.base)?;
        (i < self.ring.len() as u64).then_some(i as usize)
    }

    /// Adds the record of `id`, which is above every id added before.
    pub fn insert(&mut self, id: u64, record: R) {
        if self.ring.is_empty() {
            self.base = id;
        }
        let end = self.base + self.ring.len() as u64;
        if id < end {
            // Not above the others after all: keep it aside.
            self.aside.insert(id, record);
            return;
        }
        for _ in end..id {
            self.ring.push_back(None);
        }
        self.ring.push_back(Some(record));
        self.in_ring += 1;
    }

    pub fn get(&self, id: &u64) -> Option<&R> {
        match self.slot(*id) {
            Some(i) => self.ring[i].as_ref(),
            None => self.aside.get(id),
        }
    }

    pub fn get_mut(&mut self, id: &u64) -> Option<&mut R> {
        match self.slot(*id) {
            Some(i) => self.ring[i].as_mut(),
            None => self.aside.get_mut(id),
        }
    }

    pub fn remove(&mut self, id: &u64) -> Option<R> {
        let Some(i) = self.slot(*id) else {
            return self.aside.remove(id);
        };
        let removed = self.ring[i].take();
        if removed.is_some() {
            self.in_ring -= 1;
            self.compact();
        }
        removed
    }

    /// Drops empty slots at the front, and moves the oldest records aside
    /// while empty slots outnumber the records.
    fn compact(&mut self) {
        loop {
            match self.ring.front() {
                Some(None) => {}
                Some(Some(_)) if self.ring.len() > 2 * self.in_ring + SLACK => {
                    if let Some(Some(record)) = self.ring.front_mut().map(Option::take) {
                        self.aside.insert(self.base, record);
                        self.in_ring -= 1;
                    }
                }
                _ => return,
            }
            self.ring.pop_front();
            self.base += 1;
        }
    }

    /// How many records are kept.
    pub fn len(&self) -> usize {
        self.in_ring + self.aside.len()
    }

    /// Every record with its id, in no particular order.
    pub fn iter(&self) -> impl Iterator<Item = (u64, &R)> {
        let base = self.base;
        self.ring
            .iter()
            .enumerate()
            .filter_map(move |(i, r)| r.as_ref().map(|r| (base + i as u64, r)))
            .chain(self.aside.iter().map(|(&id, r)| (id, r)))
    }
}

/// Hashes task ids (sequential integers) by Fibonacci multiplication:
/// cheap, and it spreads neighbouring ids over the table.
#[derive(Default)]
pub(crate) struct IdHasher(u64);

impl Hasher for IdHasher {
    fn finish(&self) -> u64 {
        self.0
    }

    fn write(&mut self, bytes: &[u8]) {
        for &b in bytes {
            self.0 = (self.0 ^ b as u64).wrapping_mul(0x0100_0000_01b3);
        }
    }

    fn write_u64(&mut self, n: u64) {
        self.0 = n.wrapping_mul(0x9E37_79B9_7F4A_7C15);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn records_are_found_by_id_and_forgotten_in_any_order() {
        let mut r = Records::default();
        for id in 1..=10u64 {
            r.insert(id, id * 10);
        }
        assert_eq!(r.get(&3), Some(&30));
        assert_eq!(r.remove(&1), Some(10));
        assert_eq!(r.remove(&5), Some(50));
        assert_eq!(r.remove(&5), None);
        assert_eq!(r.get(&5), None);
        assert_eq!(r.get(&11), None);
        assert_eq!(r.len(), 8);
        *r.get_mut(&2).unwrap() += 1;
        let mut all: Vec<_> = r.iter().map(|(id, v)| (id, *v)).collect();
        all.sort();
        assert_eq!(all[0], (2, 21));
        assert_eq!(all.len(), 8);
    }

    #[test]
    fn one_old_record_does_not_pin_empty_slots_behind_it() {
        let mut r = Records::default();
        r.insert(1, 0u64);
        for id in 2..100_000u64 {
            r.insert(id, id);
            r.remove(&id);
        }
        assert!(r.ring.len() <= SLACK + 2, "{} slots", r.ring.len());
        assert_eq!(r.get(&1), Some(&0));
        assert_eq!(r.len(), 1);
        assert_eq!(r.remove(&1), Some(0));
        assert_eq!(r.len(), 0);
    }
}
