//! The basic data path: get, set, delete, contains, clear and an exact len,
//! for any hashable key and cloneable value, from many threads.

use servitor::cache::{Cache, CacheConfig};
use servitor::ChildSpec;
use std::sync::Arc;

fn cache<K, V>(capacity: u64) -> (ChildSpec, Cache<K, V>)
where
    K: std::hash::Hash + Eq + Clone + Send + Sync + 'static,
    V: Clone + Send + Sync + 'static,
{
    Cache::service(
        "ops",
        CacheConfig {
            capacity,
            ..CacheConfig::default()
        },
    )
    .unwrap()
}

#[test]
fn a_value_set_is_got_until_deleted() {
    let (_spec, c) = cache::<String, String>(100);
    assert_eq!(c.get("k").unwrap(), None);
    c.set("k".into(), "v1".into()).unwrap();
    assert_eq!(c.get("k").unwrap().as_deref(), Some("v1"));
    assert!(c.contains("k").unwrap());
    c.set("k".into(), "v2".into()).unwrap();
    assert_eq!(c.get("k").unwrap().as_deref(), Some("v2"));
    assert_eq!(c.len().unwrap(), 1);
    assert_eq!(c.delete("k").unwrap().as_deref(), Some("v2"));
    assert_eq!(c.delete("k").unwrap(), None);
    assert!(!c.contains("k").unwrap());
    assert!(c.is_empty().unwrap());
}

#[test]
fn clear_removes_every_entry_and_says_how_many() {
    let (_spec, c) = cache::<u32, u32>(1000);
    for i in 0..500 {
        c.set(i, i).unwrap();
    }
    assert_eq!(c.len().unwrap(), 500);
    assert_eq!(c.clear().unwrap(), 500);
    assert_eq!(c.len().unwrap(), 0);
    assert_eq!(c.get(&1).unwrap(), None);
    c.set(1, 1).unwrap();
    assert_eq!(c.get(&1).unwrap(), Some(1));
}

#[test]
fn keys_and_values_are_generic_and_lookups_take_borrowed_keys() {
    #[derive(Debug, Clone, PartialEq, Eq, Hash)]
    struct Tenant {
        id: u64,
        region: &'static str,
    }
    let (_spec, c) = cache::<Tenant, Arc<Vec<u8>>>(10);
    let t = Tenant {
        id: 1,
        region: "eu",
    };
    let blob = Arc::new(vec![1, 2, 3]);
    c.set(t.clone(), blob.clone()).unwrap();
    let got = c.get(&t).unwrap().unwrap();
    assert!(
        Arc::ptr_eq(&got, &blob),
        "values are cloned Arcs, not deep copies"
    );

    let (_spec, s) = cache::<String, u8>(10);
    s.set("owned".to_string(), 1).unwrap();
    assert_eq!(s.get("owned").unwrap(), Some(1));
    assert_eq!(s.get(&"owned".to_string()).unwrap(), Some(1));
}

#[test]
fn clones_of_a_handle_share_one_cache() {
    let (_spec, a) = cache::<u8, u8>(10);
    let b = a.clone();
    a.set(1, 10).unwrap();
    assert_eq!(b.get(&1).unwrap(), Some(10));
    assert_eq!(b.name(), "ops");
}

#[test]
fn len_is_exact_after_many_threads_write_distinct_keys() {
    let (_spec, c) = cache::<u64, u64>(1_000_000);
    let threads: Vec<_> = (0..4u64)
        .map(|t| {
            let c = c.clone();
            std::thread::spawn(move || {
                for i in 0..25_000u64 {
                    c.set(t * 1_000_000 + i, i).unwrap();
                    if i % 5 == 0 {
                        c.delete(&(t * 1_000_000 + i)).unwrap();
                    }
                }
            })
        })
        .collect();
    for t in threads {
        t.join().unwrap();
    }
    assert_eq!(c.len().unwrap(), 4 * 20_000);
    assert_eq!(c.stats().entries, 4 * 20_000);
}

#[test]
fn the_handle_works_before_its_service_runs() {
    let (spec, c) = cache::<u8, u8>(10);
    c.set(1, 1).unwrap();
    assert_eq!(c.get(&1).unwrap(), Some(1));
    assert!(!c.is_stopped());
    drop(spec);
}
