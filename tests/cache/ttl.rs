//! Time to live, Redis-style: default and per-entry TTLs, TTL / EXPIRE /
//! PERSIST, re-insertion resetting to the default, expired entries never
//! returned, and the background sweep removing them with nobody reading.
//! Time is tokio's paused clock: no test waits for real time.

use servitor::cache::{Cache, CacheConfig, RemovalCause, Ttl};
use servitor::testing::TestTree;
use servitor::ChildSpec;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::Notify;
use tokio::time::advance;

const MS: Duration = Duration::from_millis(1);

fn with_default_ttl(ttl: Option<Duration>) -> (ChildSpec, Cache<&'static str, u32>) {
    Cache::service(
        "ttl",
        CacheConfig {
            default_ttl: ttl,
            ..CacheConfig::default()
        },
    )
    .unwrap()
}

#[tokio::test(start_paused = true)]
async fn set_uses_the_default_ttl_and_the_entry_is_gone_when_it_runs_out() {
    let (_spec, c) = with_default_ttl(Some(100 * MS));
    c.set("k", 1).unwrap();
    assert_eq!(c.ttl("k").unwrap(), Ttl::Remaining(100 * MS));
    advance(40 * MS).await;
    assert_eq!(c.ttl("k").unwrap(), Ttl::Remaining(60 * MS));
    assert_eq!(c.get("k").unwrap(), Some(1));
    advance(60 * MS).await;
    assert_eq!(c.get("k").unwrap(), None, "expired at exactly its TTL");
    assert!(!c.contains("k").unwrap());
    assert_eq!(c.ttl("k").unwrap(), Ttl::Missing);
}

#[tokio::test(start_paused = true)]
async fn without_a_default_ttl_entries_are_persistent() {
    let (_spec, c) = with_default_ttl(None);
    c.set("k", 1).unwrap();
    assert_eq!(c.ttl("k").unwrap(), Ttl::Persistent);
    advance(Duration::from_secs(3600 * 24 * 365)).await;
    assert_eq!(c.get("k").unwrap(), Some(1));
    assert_eq!(c.ttl("missing").unwrap(), Ttl::Missing);
}

#[tokio::test(start_paused = true)]
async fn a_per_entry_ttl_and_a_persistent_set_override_the_default() {
    let (_spec, c) = with_default_ttl(Some(100 * MS));
    c.set_with_ttl("short", 1, 10 * MS).unwrap();
    c.set_with_ttl("long", 2, 1000 * MS).unwrap();
    c.set_persistent("forever", 3).unwrap();
    assert_eq!(c.ttl("forever").unwrap(), Ttl::Persistent);
    advance(500 * MS).await;
    assert_eq!(c.get("short").unwrap(), None);
    assert_eq!(c.get("long").unwrap(), Some(2));
    assert_eq!(c.get("forever").unwrap(), Some(3));
}

#[tokio::test(start_paused = true)]
async fn expire_sets_a_new_ttl_on_existing_keys_only() {
    let (_spec, c) = with_default_ttl(Some(100 * MS));
    c.set("k", 1).unwrap();
    assert!(c.expire("k", 500 * MS).unwrap(), "extended");
    assert_eq!(c.ttl("k").unwrap(), Ttl::Remaining(500 * MS));
    advance(200 * MS).await;
    assert_eq!(c.get("k").unwrap(), Some(1), "outlived its original TTL");
    assert!(c.expire("k", 10 * MS).unwrap(), "shortened");
    advance(10 * MS).await;
    assert_eq!(c.get("k").unwrap(), None);
    assert!(
        !c.expire("k", 10 * MS).unwrap(),
        "missing keys are not created"
    );
    assert!(!c.expire("never", 10 * MS).unwrap());
}

#[tokio::test(start_paused = true)]
async fn expire_with_zero_removes_the_key_at_once_as_expired() {
    let (_spec, c) = with_default_ttl(None);
    c.set("k", 1).unwrap();
    assert!(c.expire("k", Duration::ZERO).unwrap());
    assert_eq!(c.ttl("k").unwrap(), Ttl::Missing);
    let s = c.stats();
    assert_eq!((s.expired, s.entries), (1, 0));
}

#[tokio::test(start_paused = true)]
async fn persist_removes_the_ttl_and_says_whether_there_was_one() {
    let (_spec, c) = with_default_ttl(Some(100 * MS));
    c.set("k", 1).unwrap();
    assert!(c.persist("k").unwrap());
    assert_eq!(c.ttl("k").unwrap(), Ttl::Persistent);
    assert!(!c.persist("k").unwrap(), "no TTL left to remove");
    assert!(!c.persist("missing").unwrap());
    advance(Duration::from_secs(10)).await;
    assert_eq!(c.get("k").unwrap(), Some(1));
}

#[tokio::test(start_paused = true)]
async fn re_inserting_without_a_ttl_resets_the_key_to_the_default_ttl() {
    let (_spec, c) = with_default_ttl(Some(100 * MS));
    c.set("persisted", 1).unwrap();
    c.persist("persisted").unwrap();
    c.set("persisted", 2).unwrap();
    assert_eq!(c.ttl("persisted").unwrap(), Ttl::Remaining(100 * MS));

    c.set("extended", 1).unwrap();
    c.expire("extended", Duration::from_secs(60)).unwrap();
    advance(50 * MS).await;
    c.set("extended", 2).unwrap();
    assert_eq!(c.ttl("extended").unwrap(), Ttl::Remaining(100 * MS));

    c.set_persistent("p", 1).unwrap();
    c.set("p", 2).unwrap();
    assert_eq!(c.ttl("p").unwrap(), Ttl::Remaining(100 * MS));
    advance(100 * MS).await;
    assert_eq!(c.get("p").unwrap(), None);
}

#[tokio::test(start_paused = true)]
async fn expired_entries_are_never_returned_even_with_no_traffic_and_no_sweep() {
    // No service runs here: nothing sweeps, and nothing touched the cache
    // between the writes and the reads.
    let (_spec, c) = Cache::<u32, u32>::service("quiet", CacheConfig::default()).unwrap();
    for i in 0..1_000 {
        c.set_with_ttl(i, i, 50 * MS).unwrap();
    }
    advance(50 * MS).await;
    for i in 0..1_000 {
        assert_eq!(c.get(&i).unwrap(), None, "key {i}");
    }
    assert_eq!(c.stats().hits, 0);
}

#[tokio::test(start_paused = true)]
async fn len_counts_only_live_entries() {
    let (_spec, c) = Cache::<u32, u32>::service("len", CacheConfig::default()).unwrap();
    for i in 0..100 {
        c.set_with_ttl(i, i, if i < 30 { 10 * MS } else { 1000 * MS })
            .unwrap();
    }
    assert_eq!(c.len().unwrap(), 100);
    advance(10 * MS).await;
    assert_eq!(c.len().unwrap(), 70);
    assert_eq!(c.stats().expired, 30);
}

#[actix_rt::test]
async fn the_background_sweep_empties_the_cache_within_ttl_plus_one_interval() {
    tokio::time::pause();
    let expired = Arc::new(AtomicUsize::new(0));
    let all_expired = Arc::new(Notify::new());
    let (count, done) = (expired.clone(), all_expired.clone());
    let (spec, c) = Cache::<u32, u32>::builder("sessions")
        .config(CacheConfig {
            sweep_interval: 100 * MS,
            ..CacheConfig::default()
        })
        .on_removal(move |_, _, cause| {
            assert_eq!(cause, RemovalCause::Expired);
            if count.fetch_add(1, Ordering::SeqCst) + 1 == 10_000 {
                done.notify_one();
            }
        })
        .build()
        .unwrap();
    let tree = TestTree::start(spec).await.unwrap();
    let ttl = 50 * MS;
    let started = tokio::time::Instant::now();
    for i in 0..10_000 {
        c.set_with_ttl(i, i, ttl).unwrap();
    }
    // No calls on the cache from here until the listener has heard of all.
    tokio::time::timeout(ttl + 100 * MS, all_expired.notified())
        .await
        .expect("the sweep expired every entry within TTL + sweep interval");
    assert!(started.elapsed() <= ttl + 100 * MS);
    assert_eq!(expired.load(Ordering::SeqCst), 10_000);
    let s = c.stats();
    assert_eq!((s.entries, s.expired, s.hits + s.misses), (0, 10_000, 0));
    assert_eq!(c.len().unwrap(), 0);
    tree.shutdown().await;
}
