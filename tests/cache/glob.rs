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
