//! Generated input through validation and use: whatever it is, the library
//! answers with a value or a typed error, never a panic.

use proptest::prelude::*;
use servitor::bus::{Pattern, Subject};
use servitor::cache::{CacheConfig, GlobPattern};
use servitor::kit::{validate_name, Backoff};
use servitor::scheduler::Schedule;
use servitor::tasks::{RetryPolicy, TasksConfig};
use servitor::TickerConfig;
use std::time::Duration;

/// Strings made of the characters that mean something somewhere.
fn tricky() -> impl Strategy<Value = String> {
    let pieces = prop::sample::select(vec![
        "a", "b", ".", "*", ">", "?", "[", "]", "\\", "-", "^", "!", " ", "\t", "/", "é",
        "\u{200b}", "\u{202e}", "0", "5", ",", "#", "L", "W",
    ]);
    prop::collection::vec(pieces, 0..64).prop_map(|v| v.concat())
}

fn duration() -> impl Strategy<Value = Duration> {
    prop_oneof![
        Just(Duration::ZERO),
        Just(Duration::MAX),
        (0u64..u64::MAX, 0u32..1_000_000_000).prop_map(|(s, n)| Duration::new(s, n)),
        (0u64..10_000).prop_map(Duration::from_millis),
    ]
}

fn float() -> impl Strategy<Value = f64> {
    prop_oneof![
        Just(f64::NAN),
        Just(f64::INFINITY),
        Just(f64::NEG_INFINITY),
        Just(0.0),
        Just(1.0),
        Just(1e300),
        -10.0f64..10.0,
    ]
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn subjects_patterns_globs_names_and_cron_never_panic(s in tricky(), key in tricky()) {
        if let (Ok(p), Ok(subject)) = (Pattern::new(&s), Subject::new(&key)) {
            let _ = p.matches(&subject);
        }
        if let Ok(g) = GlobPattern::new(&s) {
            let _ = g.matches(&key);
        }
        let _ = validate_name(&s);
        // Fields from the generator where a search for the next occurrence
        // ends soon (never-matching expressions cost one full search each
        // and have a test of their own).
        let field = s.replace([' ', '\t'], "");
        let _ = Schedule::cron(&field);
        let five = format!("{field} * * * *");
        if let Ok(schedule) = Schedule::cron(&five) {
            let _ = schedule.next_after(chrono::Utc::now());
        }
    }

    #[test]
    fn backoffs_of_any_settings_give_a_delay_within_their_cap(
        initial in duration(), max in duration(), factor in float(), jitter in float(), n in any::<u32>(), unit in 0.0f64..=1.0,
    ) {
        let b = Backoff { initial, max, factor, jitter };
        if b.validate().is_ok() {
            prop_assert!(b.delay(n) <= b.max);
            prop_assert!(b.jittered_with(n, unit) <= b.max);
        } else {
            let _ = b.delay(n);
            let _ = b.jittered_with(n, unit);
        }
        let policy = RetryPolicy::exponential(5, initial).max_delay(max).jitter(jitter);
        let _ = policy.base_delay(n);
    }

    #[test]
    fn configs_of_any_values_are_checked_without_panicking(
        a in duration(), b in duration(), f in float(), n in any::<usize>(), m in any::<u32>(),
    ) {
        let ticker = TickerConfig::every(a).max_failures(m).degraded_after(m)
            .retry(Backoff { initial: b, max: a, factor: f, jitter: f });
        if ticker.validate("t").is_ok() {
            let _ = ticker.retry_after(m);
        }
        let cache = CacheConfig {
            capacity: n as u64,
            sweep_interval: a,
            default_ttl: Some(b),
            sweep_limit: n,
            shards: n,
            ..CacheConfig::default()
        };
        if cache.validate("c").is_ok() {
            let _ = cache.shard_count();
        }
        let tasks = TasksConfig {
            workers: n,
            queue_capacity: n,
            default_timeout: Some(a),
            cancel_grace: b,
            health_interval: a,
            degraded_failure_rate: f,
            ..TasksConfig::default()
        };
        let _ = tasks.validate("t");
    }
}
