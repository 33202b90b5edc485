//! Exact statistics: every counter matches what happened, also under
//! concurrent use.

use servitor::cache::{Cache, CacheConfig, RemovalCause};
use std::time::Duration;

#[tokio::test(start_paused = true)]
async fn every_counter_matches_a_known_sequence_of_operations() {
    let (_spec, c) = Cache::<&str, u32>::service(
        "stats",
        CacheConfig {
            capacity: 3,
            ..CacheConfig::default()
        },
    )
    .unwrap();
    assert_eq!(c.stats().hit_ratio, 0.0, "no reads yet");
    c.set("a", 1).unwrap(); // insert
    c.set("b", 2).unwrap(); // insert
    c.set("a", 3).unwrap(); // insert, replaced
    c.get("a").unwrap(); // hit
    c.get("a").unwrap(); // hit
    c.get("zz").unwrap(); // miss
    c.set_with_ttl("t", 4, Duration::from_millis(5)).unwrap(); // insert
    tokio::time::advance(Duration::from_millis(5)).await;
    c.get("t").unwrap(); // miss, expired
    c.set("c", 5).unwrap(); // insert
    c.set("d", 6).unwrap(); // insert, evicts b (least recently used)
    c.delete("a").unwrap(); // removed
    c.contains("c").unwrap(); // not a read

    let s = c.stats();
    assert_eq!((s.hits, s.misses, s.reads()), (2, 2, 4));
    assert_eq!(s.hit_ratio, 0.5);
    assert_eq!(s.inserts, 6);
    assert_eq!(s.removals(RemovalCause::Replaced), 1);
    assert_eq!(s.removals(RemovalCause::Expired), 1);
    assert_eq!(s.removals(RemovalCause::Evicted), 1);
    assert_eq!(s.removals(RemovalCause::Explicit), 1);
    assert_eq!(s.entries, 2);
    assert_eq!(
        s.entries,
        s.inserts - s.replaced - s.expired - s.evicted - s.removed,
        "every inserted entry is either held or accounted for"
    );
}

#[test]
fn hits_plus_misses_equal_reads_under_two_threads_of_mixed_operations() {
    const OPS: usize = 100_000;
    let (_spec, c) = Cache::<u32, u32>::service(
        "mixed",
        CacheConfig {
            capacity: 1_000,
            ..CacheConfig::default()
        },
    )
    .unwrap();
    let workers: Vec<_> = (0..2u64)
        .map(|seed| {
            let c = c.clone();
            std::thread::spawn(move || {
                let mut rng = fastrand::Rng::with_seed(seed);
                let (mut reads, mut sets, mut deleted) = (0u64, 0u64, 0u64);
                for _ in 0..OPS {
                    let k = rng.u32(0..2_000);
                    match rng.u8(0..10) {
                        0..=4 => {
                            c.get(&k).unwrap();
                            reads += 1;
                        }
                        5..=7 => {
                            c.set(k, k).unwrap();
                            sets += 1;
                        }
                        8 => deleted += u64::from(c.delete(&k).unwrap().is_some()),
                        _ => {
                            c.contains(&k).unwrap();
                        }
                    }
                }
                (reads, sets, deleted)
            })
        })
        .collect();
    let (mut reads, mut sets, mut deleted) = (0, 0, 0);
    for w in workers {
        let (r, s, d) = w.join().unwrap();
        reads += r;
        sets += s;
        deleted += d;
    }
    let s = c.stats();
    assert_eq!(s.hits + s.misses, reads);
    assert_eq!(s.inserts, sets);
    assert_eq!(s.removed, deleted);
    assert_eq!(s.entries, c.len().unwrap() as u64);
    assert_eq!(
        s.entries,
        s.inserts - s.replaced - s.expired - s.evicted - s.removed
    );
    assert!(s.hits > 0 && s.misses > 0 && s.evicted > 0);
}

#[test]
fn weight_and_estimated_bytes_follow_the_entries() {
    let (_spec, c) = Cache::<u32, Vec<u8>>::builder("bytes")
        .config(CacheConfig {
            max_weight: Some(1 << 20),
            ..CacheConfig::default()
        })
        .weigher(|_, v| v.len() as u32)
        .build()
        .unwrap();
    let empty = c.stats().estimated_bytes;
    for i in 0..100 {
        c.set(i, vec![0; 1000]).unwrap();
    }
    let s = c.stats();
    assert_eq!(s.weight, 100_000);
    assert!(s.estimated_bytes >= empty + 100_000, "{s:?}");
    c.clear().unwrap();
    let s = c.stats();
    assert_eq!((s.weight, s.entries, s.removed), (0, 0, 100));
}
