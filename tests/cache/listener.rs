//! The removal listener: told of every entry that leaves, with the cause —
//! expired, evicted, explicit, replaced — and free to use the cache itself.

use servitor::cache::{Cache, CacheConfig, RemovalCause};
use servitor::ChildSpec;
use std::sync::{Arc, Mutex, OnceLock};
use std::time::Duration;

type Log = Arc<Mutex<Vec<(String, u32, RemovalCause)>>>;

fn logged(capacity: u64) -> (ChildSpec, Cache<String, u32>, Log) {
    let log: Log = Arc::default();
    let sink = log.clone();
    let (spec, c) = Cache::builder("listened")
        .config(CacheConfig {
            capacity,
            ..CacheConfig::default()
        })
        .on_removal(move |k: &String, v: &u32, cause| {
            sink.lock().unwrap().push((k.clone(), *v, cause))
        })
        .build()
        .unwrap();
    (spec, c, log)
}

fn entries(log: &Log) -> Vec<(String, u32, RemovalCause)> {
    std::mem::take(&mut *log.lock().unwrap())
}

fn e(k: &str, v: u32, cause: RemovalCause) -> (String, u32, RemovalCause) {
    (k.to_string(), v, cause)
}

#[tokio::test(start_paused = true)]
async fn each_removal_is_reported_once_with_its_cause_and_value() {
    // Capacity 1: whatever the policy, the second key evicts the first.
    let (_spec, c, log) = logged(1);
    c.set("a".into(), 1).unwrap();
    c.set("a".into(), 2).unwrap();
    assert_eq!(entries(&log), [e("a", 1, RemovalCause::Replaced)]);

    c.set("b".into(), 3).unwrap();
    assert_eq!(entries(&log), [e("a", 2, RemovalCause::Evicted)]);

    assert_eq!(c.delete("b").unwrap(), Some(3));
    assert_eq!(entries(&log), [e("b", 3, RemovalCause::Explicit)]);
    assert_eq!(c.delete("b").unwrap(), None);
    assert!(
        entries(&log).is_empty(),
        "nothing removed, nothing reported"
    );

    c.set_with_ttl("t".into(), 5, Duration::from_millis(10))
        .unwrap();
    tokio::time::advance(Duration::from_millis(10)).await;
    assert_eq!(c.get("t").unwrap(), None);
    assert_eq!(entries(&log), [e("t", 5, RemovalCause::Expired)]);
}

#[tokio::test(start_paused = true)]
async fn replacing_an_expired_entry_reports_it_expired_not_replaced() {
    let (_spec, c, log) = logged(10);
    c.set_with_ttl("k".into(), 1, Duration::from_millis(10))
        .unwrap();
    tokio::time::advance(Duration::from_millis(10)).await;
    c.set("k".into(), 2).unwrap();
    assert_eq!(entries(&log), [e("k", 1, RemovalCause::Expired)]);
    let s = c.stats();
    assert_eq!((s.replaced, s.expired), (0, 1));
}

#[test]
fn clear_and_delete_pattern_report_each_entry_as_explicit() {
    let (_spec, c, log) = logged(10);
    for (i, k) in ["user:1", "user:2", "order:1"].into_iter().enumerate() {
        c.set(k.into(), i as u32).unwrap();
    }
    assert_eq!(c.delete_pattern("user:*").unwrap(), 2);
    let mut removed = entries(&log);
    removed.sort_by(|a, b| a.0.cmp(&b.0));
    assert_eq!(
        removed,
        [
            e("user:1", 0, RemovalCause::Explicit),
            e("user:2", 1, RemovalCause::Explicit)
        ]
    );
    assert_eq!(c.clear().unwrap(), 1);
    assert_eq!(entries(&log), [e("order:1", 2, RemovalCause::Explicit)]);
}

#[test]
fn a_listener_may_use_the_cache_without_deadlocking() {
    let this: Arc<OnceLock<Cache<u32, u32>>> = Arc::default();
    let inside = this.clone();
    let (_spec, c) = Cache::<u32, u32>::builder("reentrant")
        .config(CacheConfig {
            capacity: 1,
            ..CacheConfig::default()
        })
        .on_removal(move |k, _, _| {
            // Runs after the shard lock is released: the cache is free to use.
            let cache = inside.get().unwrap();
            assert_eq!(cache.get(k).unwrap(), None, "already gone when reported");
            cache.len().unwrap();
        })
        .build()
        .unwrap();
    this.set(c.clone()).unwrap();
    for i in 0..10 {
        c.set(i, i).unwrap();
    }
    assert_eq!(c.stats().evicted, 9);
    c.delete(&9).unwrap();
    assert!(c.is_empty().unwrap());
}
