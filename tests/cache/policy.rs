//! The default eviction policy, S3-FIFO: bounds that hold after every
//! insert whatever the policy, hot keys that survive a scan, frequency
//! counters that age, keys wanted again soon after eviction admitted
//! straight to main — and the policy and hasher chosen by config.

use servitor::cache::{Cache, CacheConfig, CacheHasher, EvictionPolicy};
use servitor::ChildSpec;

fn cache(capacity: u64, shards: usize, policy: EvictionPolicy) -> (ChildSpec, Cache<u64, u64>) {
    Cache::service(
        "policy",
        CacheConfig {
            capacity,
            shards,
            policy,
            ..CacheConfig::default()
        },
    )
    .unwrap()
}

const POLICIES: [EvictionPolicy; 2] = [EvictionPolicy::S3Fifo, EvictionPolicy::Lru];

#[test]
fn s3_fifo_is_the_default_policy_and_foldhash_the_default_hasher() {
    let config = CacheConfig::default();
    assert_eq!(config.policy, EvictionPolicy::S3Fifo);
    assert_eq!(config.hasher, CacheHasher::Foldhash);
    let parsed: CacheConfig =
        serde_json::from_str(r#"{ "policy": "lru", "hasher": "siphash" }"#).unwrap();
    assert_eq!(parsed.policy, EvictionPolicy::Lru);
    assert_eq!(parsed.hasher, CacheHasher::SipHash);
    assert!(serde_json::from_str::<CacheConfig>(r#"{ "policy": "arc" }"#).is_err());
}

#[test]
fn the_count_bound_holds_after_every_insert_under_every_policy_and_hasher() {
    for policy in POLICIES {
        for hasher in [CacheHasher::Foldhash, CacheHasher::SipHash] {
            let (_spec, c) = Cache::<u64, u64>::service(
                "bound",
                CacheConfig {
                    capacity: 500,
                    policy,
                    hasher,
                    ..CacheConfig::default()
                },
            )
            .unwrap();
            let mut rng = fastrand::Rng::with_seed(3);
            for i in 0..20_000u64 {
                // Hot keys read often, cold ones once: the policy moves
                // entries between its queues all the time.
                let k = if i % 3 == 0 {
                    rng.u64(0..100)
                } else {
                    rng.u64(0..100_000)
                };
                if c.get(&k).unwrap().is_none() {
                    c.set(k, k).unwrap();
                }
                assert!(
                    c.stats().entries <= 500,
                    "{policy:?}/{hasher:?}: over after insert {i}"
                );
            }
            assert_eq!(c.len().unwrap(), 500, "{policy:?}/{hasher:?}");
            let s = c.stats();
            assert_eq!(
                s.inserts - s.evicted,
                500,
                "{policy:?}/{hasher:?}: books balance"
            );
        }
    }
}

#[test]
fn the_weight_bound_holds_after_every_insert_under_every_policy() {
    for policy in POLICIES {
        let (_spec, c) = Cache::<u64, String>::builder("weights")
            .config(CacheConfig {
                capacity: u64::MAX,
                max_weight: Some(10_000),
                policy,
                ..CacheConfig::default()
            })
            .weigher(|_, v| v.len() as u32)
            .build()
            .unwrap();
        let mut rng = fastrand::Rng::with_seed(5);
        for i in 0..10_000u64 {
            let k = rng.u64(0..2_000);
            let v = "x".repeat(rng.usize(1..200));
            if c.get(&k).unwrap().is_none() {
                c.set(k, v).unwrap();
            }
            assert!(
                c.stats().weight <= 10_000,
                "{policy:?}: over after insert {i}"
            );
        }
    }
}

#[test]
fn concurrent_inserts_never_leave_the_cache_over_its_bound() {
    for policy in POLICIES {
        let (_spec, c) = cache(1_000, 0, policy);
        let writers: Vec<_> = (0..2u64)
            .map(|t| {
                let c = c.clone();
                std::thread::spawn(move || {
                    let mut rng = fastrand::Rng::with_seed(t);
                    for _ in 0..50_000 {
                        let k = (t << 40) | rng.u64(0..20_000);
                        if c.get(&k).unwrap().is_none() {
                            c.set(k, k).unwrap();
                        }
                    }
                })
            })
            .collect();
        for w in writers {
            w.join().unwrap();
        }
        let len = c.len().unwrap() as u64;
        assert!((999..=1_000).contains(&len), "{policy:?}: len {len}");
        let s = c.stats();
        assert_eq!(s.entries, len);
        assert_eq!(s.inserts - s.evicted, len, "{policy:?}: books balance");
    }
}

/// Fills a cache with `hot` keys read a few times each, then passes
/// `scan` one-off keys through it; returns how many hot keys are left.
fn hot_keys_left_after_a_scan(policy: EvictionPolicy, capacity: u64, hot: u64, scan: u64) -> u64 {
    let (_spec, c) = cache(capacity, 1, policy);
    for round in 0..3 {
        for k in 0..hot {
            if c.get(&k).unwrap().is_none() {
                assert_eq!(round, 0, "{policy:?}: hot key {k} evicted before the scan");
                c.set(k, k).unwrap();
            }
        }
    }
    for k in 0..scan {
        let one_off = 1_000_000 + k;
        assert_eq!(c.get(&one_off).unwrap(), None);
        c.set(one_off, k).unwrap();
    }
    (0..hot).filter(|k| c.contains(k).unwrap()).count() as u64
}

#[test]
fn hot_keys_survive_a_scan_ten_times_the_cache() {
    assert_eq!(
        hot_keys_left_after_a_scan(EvictionPolicy::S3Fifo, 1_000, 500, 10_000),
        500,
        "every hot key survives the one-off keys"
    );
    // The contrast: LRU keeps only what was used last, the scan.
    assert_eq!(
        hot_keys_left_after_a_scan(EvictionPolicy::Lru, 1_000, 500, 10_000),
        0
    );
}

#[test]
fn a_key_that_is_no_longer_read_ages_out() {
    let (_spec, c) = cache(100, 1, EvictionPolicy::S3Fifo);
    c.set(0, 0).unwrap();
    for _ in 0..1_000 {
        c.get(&0).unwrap();
    }
    // A working set that fills the cache and is read again and again: its
    // keys all earn a place in main, so main's hand must pass key 0 (now
    // never read) until its counter is spent.
    let mut survived = 0;
    for round in 0..50 {
        for k in 1..=100u64 {
            if c.get(&k).unwrap().is_none() {
                c.set(k, k).unwrap();
            }
        }
        if c.contains(&0).unwrap() {
            survived = round + 1;
        }
    }
    assert!(
        !c.contains(&0).unwrap(),
        "a thousand reads long ago do not pin a key"
    );
    assert!(
        survived < 10,
        "gone within a few passes of the hand, not {survived}"
    );
}

#[test]
fn a_key_wanted_again_soon_after_eviction_is_admitted_to_main() {
    // Key 0 is evicted from small unread, then asked for again: its ghost
    // sends it to main, where a scan of one-off keys cannot reach it.
    let (_spec, c) = cache(1_000, 1, EvictionPolicy::S3Fifo);
    for k in 0..=1_000u64 {
        c.set(k, k).unwrap();
    }
    assert!(!c.contains(&0).unwrap(), "the oldest unread key left first");
    // At once: ghosts are a small lossy table, a newer one may take an
    // older one's place.
    c.set(0, 0).unwrap();
    for k in 0..5_000u64 {
        c.set(2_000 + k, k).unwrap();
    }
    assert!(
        c.contains(&0).unwrap(),
        "remembered, admitted to main, kept through the scan"
    );
}

#[test]
fn frequent_keys_beat_recent_ones_on_a_skewed_workload() {
    // Zipf-like reads over 10,000 keys into a cache of 500: S3-FIFO keeps
    // the head of the distribution and hits more often than LRU.
    let ratio = |policy| {
        let (_spec, c) = cache(500, 1, policy);
        let mut rng = fastrand::Rng::with_seed(9);
        for _ in 0..200_000 {
            // Squaring a uniform draw skews towards small keys.
            let u = rng.f64();
            let k = (u * u * u * 10_000.0) as u64;
            if c.get(&k).unwrap().is_none() {
                c.set(k, k).unwrap();
            }
        }
        c.stats().hit_ratio
    };
    let (s3, lru) = (ratio(EvictionPolicy::S3Fifo), ratio(EvictionPolicy::Lru));
    assert!(s3 > lru + 0.02, "S3-FIFO {s3:.3} vs LRU {lru:.3}");
}
