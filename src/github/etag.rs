//! Conditional requests: the answers of reads remembered with their
//! `ETag`, so the next read of the same address sends `If-None-Match` and a
//! `304 Not Modified` (which costs no quota) is answered from memory.
//!
//! Bounded by a count; the oldest entry is forgotten first. Keys are the
//! full request address, query included.

use bytes::Bytes;
use parking_lot::Mutex;
use reqwest::header::HeaderValue;
use std::collections::{HashMap, VecDeque};

/// A remembered answer.
#[derive(Clone)]
pub(crate) struct Cached {
    pub etag: HeaderValue,
    pub body: Bytes,
}

pub(crate) struct EtagCache {
    capacity: usize,
    inner: Mutex<Entries>,
}

#[derive(Default)]
struct Entries {
    map: HashMap<String, Cached>,
    /// Keys in insertion order, for forgetting the oldest.
    order: VecDeque<String>,
}

impl EtagCache {
    pub fn new(capacity: usize) -> EtagCache {
        EtagCache {
            capacity,
            inner: Mutex::new(Entries::default()),
        }
    }

    pub fn is_enabled(&self) -> bool {
        self.capacity > 0
    }

    pub fn get(&self, url: &str) -> Option<Cached> {
        if self.capacity == 0 {
            return None;
        }
        self.inner.lock().map.get(url).cloned()
    }

    pub fn put(&self, url: &str, etag: HeaderValue, body: Bytes) {
        if self.capacity == 0 {
            return;
        }
        let mut inner = self.inner.lock();
        let entry = Cached { etag, body };
        if let Some(slot) = inner.map.get_mut(url) {
            *slot = entry;
            return;
        }
        while inner.map.len() >= self.capacity {
            let Some(oldest) = inner.order.pop_front() else {
                break;
            };
            inner.map.remove(&oldest);
        }
        inner.order.push_back(url.to_string());
        inner.map.insert(url.to_string(), entry);
    }

    pub fn len(&self) -> usize {
        self.inner.lock().map.len()
    }

    pub fn clear(&self) {
        let mut inner = self.inner.lock();
        inner.map.clear();
        inner.order.clear();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_oldest_entry_is_forgotten_first() {
        let cache = EtagCache::new(2);
        let tag = HeaderValue::from_static("\"a\"");
        cache.put("/1", tag.clone(), Bytes::from_static(b"1"));
        cache.put("/2", tag.clone(), Bytes::from_static(b"2"));
        cache.put("/1", tag.clone(), Bytes::from_static(b"1b"));
        cache.put("/3", tag.clone(), Bytes::from_static(b"3"));
        assert!(cache.get("/1").is_none());
        assert_eq!(cache.get("/2").unwrap().body, "2");
        assert_eq!(cache.get("/3").unwrap().body, "3");
        assert_eq!(cache.len(), 2);
        assert!(EtagCache::new(0).get("/1").is_none());
    }
}
