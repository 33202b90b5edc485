//! Glob operations for string keys: `keys` and `delete_pattern` with `*`,
//! `?`, `[ab]` classes, ranges, negation and escapes; malformed patterns
//! are typed errors.

use servitor::cache::{Cache, CacheConfig, CacheError};
use servitor::ChildSpec;
use std::sync::Arc;
use std::time::Duration;

fn users() -> (ChildSpec, Cache<String, u32>) {
    let (spec, c) = Cache::service("glob", CacheConfig::default()).unwrap();
    for k in [
        "user:1", "user:2", "user:a", "user:b", "user:c", "user:10", "user:", "order:1", "users",
    ] {
        c.set(k.to_string(), 0).unwrap();
    }
    (spec, c)
}

fn keys(c: &Cache<String, u32>, pattern: &str) -> Vec<String> {
    let mut keys = c.keys(pattern).unwrap();
    keys.sort();
    keys
}

#[test]
fn star_matches_any_run_of_characters_including_none() {
    let (_spec, c) = users();
    assert_eq!(
        keys(&c, "user:*"),
        ["user:", "user:1", "user:10", "user:2", "user:a", "user:b", "user:c"]
    );
    assert_eq!(keys(&c, "*:1"), ["order:1", "user:1"]);
    assert_eq!(keys(&c, "*").len(), 9);
}

#[test]
fn question_mark_matches_exactly_one_character() {
    let (_spec, c) = users();
    assert_eq!(
        keys(&c, "user:?"),
        ["user:1", "user:2", "user:a", "user:b", "user:c"]
    );
    assert_eq!(keys(&c, "user:??"), ["user:10"]);
}

#[test]
fn classes_ranges_and_negation_match_one_character() {
    let (_spec, c) = users();
    assert_eq!(keys(&c, "user:[ab]"), ["user:a", "user:b"]);
    assert_eq!(keys(&c, "user:[0-9]"), ["user:1", "user:2"]);
    assert_eq!(keys(&c, "user:[^0-9]"), ["user:a", "user:b", "user:c"]);
    assert_eq!(keys(&c, "user:[!ab0-9]"), ["user:c"]);
}

#[test]
fn delete_pattern_removes_only_matching_keys_and_counts_them() {
    let (_spec, c) = users();
    assert_eq!(c.delete_pattern("user:?").unwrap(), 5);
    assert_eq!(keys(&c, "*"), ["order:1", "user:", "user:10", "users"]);
    assert_eq!(c.delete_pattern("nothing*").unwrap(), 0);
    assert_eq!(c.stats().removed, 5);
}

#[test]
fn escaped_metacharacters_match_themselves() {
    let (_spec, c) = Cache::<String, u32>::service("esc", CacheConfig::default()).unwrap();
    c.set("a*b".into(), 1).unwrap();
    c.set("axb".into(), 2).unwrap();
    c.set("[x]".into(), 3).unwrap();
    assert_eq!(keys(&c, r"a\*b"), ["a*b"]);
    assert_eq!(keys(&c, r"\[x\]"), ["[x]"]);
}

#[test]
fn a_malformed_pattern_is_a_typed_error_and_deletes_nothing() {
    let (_spec, c) = users();
    for bad in ["user:[ab", "user:[z-a]", "user:\\"] {
        let err = c.delete_pattern(bad).unwrap_err();
        assert!(
            matches!(&err, CacheError::InvalidPattern { pattern, .. } if pattern == bad),
            "{err:?}"
        );
        assert!(c.keys(bad).is_err());
    }
    assert_eq!(c.len().unwrap(), 9);
}

#[tokio::test(start_paused = true)]
async fn expired_keys_are_not_listed() {
    let (_spec, c) = Cache::<Arc<str>, u32>::service("exp", CacheConfig::default()).unwrap();
    c.set(Arc::from("s:live"), 1).unwrap();
    c.set_with_ttl(Arc::from("s:gone"), 2, Duration::from_millis(5))
        .unwrap();
    tokio::time::advance(Duration::from_millis(5)).await;
    assert_eq!(c.keys("s:*").unwrap(), [Arc::<str>::from("s:live")]);
    assert_eq!(c.delete_pattern("s:*").unwrap(), 1, "only live keys count");
    let s = c.stats();
    assert_eq!((s.removed, s.expired), (1, 1));
}

/// A pattern costs time linear in the key, whatever the pattern: a long
/// literal after a star against a long key once took seconds (every
/// position of the key tried against the whole literal). The budget is far
/// above what linear matching needs, in a debug build too, and far below
/// what the old matcher took.
#[test]
fn a_long_literal_after_a_star_is_matched_in_linear_time() {
    let (_spec, c) = Cache::<String, u32>::service("hostile", CacheConfig::default()).unwrap();
    let key = "a".repeat(200_000);
    c.set(key.clone(), 1).unwrap();
    let literal = format!("*{}b", "a".repeat(10_000));
    let wildcards = format!("*{}b", "?".repeat(2_000));
    let classes = format!("*{}b", "[ab]".repeat(2_000));
    let started = std::time::Instant::now();
    for pattern in [&literal, &wildcards, &classes] {
        assert!(c.keys(pattern).unwrap().is_empty(), "nothing ends in b");
        assert_eq!(c.delete_pattern(pattern).unwrap(), 0);
    }
    let matching = format!("*{}", "a".repeat(10_000));
    assert_eq!(c.keys(&matching).unwrap(), [key]);
    let spent = started.elapsed();
    assert!(spent < Duration::from_secs(10), "took {spent:?}");
}

/// A key type whose text, when the matcher asks for it, first checks that
/// another thread can use the same shard: if the shard's lock were held
/// around matching, that thread's read would wait until this returns.
#[derive(Clone, PartialEq, Eq, Hash)]
struct Probed(String);

static PROBED: std::sync::OnceLock<Cache<Probed, u32>> = std::sync::OnceLock::new();
static PROBE_ARMED: std::sync::atomic::AtomicBool = std::sync::atomic::AtomicBool::new(false);
static SHARD_WAS_FREE: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
static SHARD_WAS_HELD: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);

impl AsRef<str> for Probed {
    fn as_ref(&self) -> &str {
        use std::sync::atomic::Ordering::SeqCst;
        if PROBE_ARMED.load(SeqCst) && self.0.starts_with("long:") {
            let (tx, rx) = std::sync::mpsc::channel();
            std::thread::spawn(move || {
                let cache = PROBED.get().unwrap();
                let _ = tx.send(cache.get(&Probed("short".into())).unwrap());
            });
            // Generous: a free shard answers in microseconds.
            match rx.recv_timeout(Duration::from_secs(30)) {
                Ok(_) => SHARD_WAS_FREE.fetch_add(1, SeqCst),
                Err(_) => SHARD_WAS_HELD.fetch_add(1, SeqCst),
            };
        }
        &self.0
    }
}

#[test]
fn pattern_operations_match_with_the_shard_lock_released() {
    use std::sync::atomic::Ordering::SeqCst;
    let (_spec, c) = Cache::<Probed, u32>::service(
        "probed",
        CacheConfig {
            shards: 1,
            ..CacheConfig::default()
        },
    )
    .unwrap();
    PROBED.set(c.clone()).ok().unwrap();
    c.set(Probed("short".into()), 1).unwrap();
    for i in 0..3 {
        c.set(Probed(format!("long:{i}:{}", "x".repeat(100_000))), 2)
            .unwrap();
    }
    PROBE_ARMED.store(true, SeqCst);
    assert_eq!(c.keys("long:*").unwrap().len(), 3);
    assert_eq!(c.delete_pattern("long:*y").unwrap(), 0);
    PROBE_ARMED.store(false, SeqCst);
    assert_eq!(
        SHARD_WAS_HELD.load(SeqCst),
        0,
        "a read waited behind a pattern match"
    );
    assert_eq!(SHARD_WAS_FREE.load(SeqCst), 6, "every long key was probed");
}
