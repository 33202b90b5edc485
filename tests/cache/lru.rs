//! Size bounds and the LRU policy (`EvictionPolicy::Lru`): strict LRU, a
//! capacity never exceeded once an insert returns, no eviction before the
//! cache is full, and the optional weight bound. The default policy has
//! its own suite (`policy.rs`).

use servitor::cache::{Cache, CacheConfig, CacheError, EvictionPolicy, RemovalCause};
use servitor::ChildSpec;
use std::sync::{Arc, Mutex};
use std::time::Duration;

fn lru<K, V>(capacity: u64, shards: usize) -> (ChildSpec, Cache<K, V>)
where
    K: std::hash::Hash + Eq + Clone + Send + Sync + 'static,
    V: Clone + Send + Sync + 'static,
{
    Cache::service(
        "lru",
        CacheConfig {
            capacity,
            shards,
            policy: EvictionPolicy::Lru,
            ..CacheConfig::default()
        },
    )
    .unwrap()
}

#[test]
fn with_capacity_3_reading_a_then_inserting_d_evicts_b() {
    let (_spec, c) = lru::<&str, u32>(3, 0);
    c.set("a", 1).unwrap();
    c.set("b", 2).unwrap();
    c.set("c", 3).unwrap();
    assert_eq!(c.get("a").unwrap(), Some(1));
    c.set("d", 4).unwrap();
    assert_eq!(c.len().unwrap(), 3);
    assert_eq!(c.get("b").unwrap(), None, "b was the least recently used");
    for (k, v) in [("a", 1), ("c", 3), ("d", 4)] {
        assert_eq!(c.get(k).unwrap(), Some(v), "{k} survives");
    }
    assert_eq!(c.stats().evicted, 1);
}

#[test]
fn one_shard_is_exact_lru_at_any_capacity() {
    let (_spec, c) = lru::<u32, u32>(100, 1);
    for i in 0..100 {
        c.set(i, i).unwrap();
    }
    for i in (0..100).step_by(2) {
        c.get(&i).unwrap();
    }
    for i in 100..150 {
        c.set(i, i).unwrap();
    }
    for i in 0..100 {
        assert_eq!(c.contains(&i).unwrap(), i % 2 == 0, "key {i}");
    }
}

#[test]
fn re_setting_a_key_makes_it_recent_but_contains_and_ttl_do_not() {
    let (_spec, c) = lru::<&str, u32>(2, 0);
    c.set("a", 1).unwrap();
    c.set("b", 2).unwrap();
    c.set("a", 10).unwrap();
    c.set("c", 3).unwrap();
    assert!(
        !c.contains("b").unwrap(),
        "re-set a is recent, b is evicted"
    );

    let (_spec, c) = lru::<&str, u32>(2, 0);
    c.set("a", 1).unwrap();
    c.set("b", 2).unwrap();
    assert!(c.contains("a").unwrap());
    c.ttl("a").unwrap();
    c.set("c", 3).unwrap();
    assert!(!c.contains("a").unwrap(), "contains/ttl are not reads");
}

#[test]
fn len_never_exceeds_the_capacity_once_an_insert_returns() {
    let (_spec, c) = lru::<u32, u32>(100, 8);
    let mut rng = fastrand::Rng::with_seed(11);
    for _ in 0..5_000 {
        c.set(rng.u32(0..1_000), 0).unwrap();
        assert!(c.len().unwrap() <= 100);
    }
    assert_eq!(c.len().unwrap(), 100);
}

#[test]
fn a_sharded_cache_evicts_nothing_until_it_is_full() {
    let (_spec, c) = lru::<u64, u64>(10_000, 0);
    assert!(c.shards() > 1);
    for i in 0..10_000 {
        c.set(i, i).unwrap();
    }
    assert_eq!(c.stats().evicted, 0);
    assert_eq!(c.len().unwrap(), 10_000);
    c.set(10_000, 0).unwrap();
    assert_eq!(c.stats().evicted, 1);
    assert_eq!(c.len().unwrap(), 10_000);
}

#[test]
fn concurrent_writers_keep_the_bound_and_the_books_balanced() {
    let (_spec, c) = lru::<u64, u64>(1_000, 0);
    let writers: Vec<_> = (0..2u64)
        .map(|t| {
            let c = c.clone();
            std::thread::spawn(move || {
                for i in 0..50_000u64 {
                    c.set((t << 32) | i, i).unwrap();
                }
            })
        })
        .collect();
    for w in writers {
        w.join().unwrap();
    }
    let len = c.len().unwrap() as u64;
    let s = c.stats();
    assert!((999..=1_000).contains(&len), "len {len}");
    assert_eq!(s.entries, len);
    assert_eq!(s.inserts, 100_000);
    assert_eq!(s.inserts - s.evicted, len);
}

#[test]
fn the_weight_bound_evicts_least_recently_used_entries_by_weight() {
    let evicted = Arc::new(Mutex::new(Vec::new()));
    let log = evicted.clone();
    let (_spec, c) = Cache::<&str, String>::builder("w")
        .config(CacheConfig {
            capacity: u64::MAX,
            max_weight: Some(10),
            shards: 1, // exact LRU order over the whole cache
            policy: EvictionPolicy::Lru,
            ..CacheConfig::default()
        })
        .weigher(|_, v| v.len() as u32)
        .on_removal(move |k, _, cause| log.lock().unwrap().push((*k, cause)))
        .build()
        .unwrap();
    c.set("a", "xxxx".into()).unwrap();
    c.set("b", "xxxx".into()).unwrap();
    c.get("a").unwrap();
    c.set("c", "xxxxx".into()).unwrap();
    assert_eq!(*evicted.lock().unwrap(), [("b", RemovalCause::Evicted)]);
    let s = c.stats();
    assert_eq!(s.weight, 9);
    assert!(s.weight <= 10);
    assert_eq!(c.len().unwrap(), 2);
}

#[test]
fn an_entry_heavier_than_the_whole_budget_is_refused_and_changes_nothing() {
    let (_spec, c) = Cache::<&str, String>::builder("w")
        .config(CacheConfig {
            max_weight: Some(8),
            ..CacheConfig::default()
        })
        .weigher(|_, v| v.len() as u32)
        .build()
        .unwrap();
    c.set("k", "small".into()).unwrap();
    let err = c.set("k", "much too large".into()).unwrap_err();
    assert_eq!(
        err,
        CacheError::TooHeavy {
            service: "w".into(),
            weight: 14,
            limit: 8
        }
    );
    assert_eq!(c.get("k").unwrap().as_deref(), Some("small"));
}

#[tokio::test(start_paused = true)]
async fn expired_entries_make_room_before_live_ones_are_evicted() {
    let causes = Arc::new(Mutex::new(Vec::new()));
    let log = causes.clone();
    let (_spec, c) = Cache::<&str, u32>::builder("x")
        .config(CacheConfig {
            capacity: 2,
            ..CacheConfig::default()
        })
        .on_removal(move |k, _, cause| log.lock().unwrap().push((*k, cause)))
        .build()
        .unwrap();
    c.set_persistent("old", 1).unwrap();
    c.set_with_ttl("short", 2, Duration::from_millis(10))
        .unwrap();
    tokio::time::advance(Duration::from_millis(10)).await;
    c.set("new", 3).unwrap();
    assert_eq!(*causes.lock().unwrap(), [("short", RemovalCause::Expired)]);
    assert!(c.contains("old").unwrap(), "the live LRU entry was kept");
    assert_eq!(c.stats().evicted, 0);
}
