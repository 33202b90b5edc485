//! Cache configuration: documented defaults, serde, and typed errors that
//! name the invalid field.

use servitor::cache::{Cache, CacheConfig, DEFAULT_CAPACITY, DEFAULT_SWEEP_LIMIT};
use servitor::kit::NameError;
use servitor::ConfigError;
use std::time::Duration;

fn build(config: CacheConfig) -> Result<(), ConfigError> {
    Cache::<String, String>::service("c", config).map(|_| ())
}

fn invalid_field(config: CacheConfig) -> String {
    match build(config) {
        Err(ConfigError::InvalidField { field, .. }) => field,
        other => panic!("expected an invalid field, got {other:?}"),
    }
}

#[test]
fn defaults_are_the_documented_values() {
    let c = CacheConfig::default();
    assert_eq!(c.capacity, DEFAULT_CAPACITY);
    assert_eq!(c.capacity, 10_000);
    assert_eq!(c.max_weight, None);
    assert_eq!(c.default_ttl, None);
    assert_eq!(c.sweep_interval, Duration::from_secs(1));
    assert_eq!(c.sweep_limit, DEFAULT_SWEEP_LIMIT);
    assert_eq!(c.shards, 0);
}

#[test]
fn an_empty_config_file_gives_the_defaults_and_durations_are_milliseconds() {
    let empty: CacheConfig = serde_json::from_str("{}").unwrap();
    assert_eq!(empty, CacheConfig::default());
    let c: CacheConfig = serde_json::from_str(
        r#"{ "capacity": 5, "default_ttl": 1500, "sweep_interval": 250, "max_weight": 4096, "shards": 2 }"#,
    )
    .unwrap();
    assert_eq!(c.capacity, 5);
    assert_eq!(c.default_ttl, Some(Duration::from_millis(1500)));
    assert_eq!(c.sweep_interval, Duration::from_millis(250));
    assert_eq!(c.max_weight, Some(4096));
    assert_eq!(c.shards, 2);
    let none: CacheConfig = serde_json::from_str(r#"{ "default_ttl": null }"#).unwrap();
    assert_eq!(none.default_ttl, None);
    let back: CacheConfig = serde_json::from_value(serde_json::to_value(&c).unwrap()).unwrap();
    assert_eq!(back, c);
}

#[test]
fn an_unknown_field_in_a_config_file_is_rejected() {
    let err = serde_json::from_str::<CacheConfig>(r#"{ "capacty": 5 }"#).unwrap_err();
    assert!(err.to_string().contains("capacty"), "{err}");
}

#[test]
fn each_invalid_value_is_a_typed_error_naming_its_field() {
    let d = CacheConfig::default;
    let cases = [
        (CacheConfig { capacity: 0, ..d() }, "capacity"),
        (
            CacheConfig {
                max_weight: Some(0),
                ..d()
            },
            "max_weight",
        ),
        (
            CacheConfig {
                default_ttl: Some(Duration::ZERO),
                ..d()
            },
            "default_ttl",
        ),
        (
            CacheConfig {
                sweep_interval: Duration::ZERO,
                ..d()
            },
            "sweep_interval",
        ),
        (
            CacheConfig {
                sweep_limit: 0,
                ..d()
            },
            "sweep_limit",
        ),
        (CacheConfig { shards: 3, ..d() }, "shards"),
        (
            CacheConfig {
                shards: 2048,
                ..d()
            },
            "shards",
        ),
    ];
    for (config, field) in cases {
        assert_eq!(invalid_field(config), field);
    }
    let err = build(CacheConfig { capacity: 0, ..d() }).unwrap_err();
    assert_eq!(err.to_string(), "`c`: `capacity` must be at least 1");
}

#[test]
fn a_weight_bound_without_a_weigher_and_an_empty_name_are_refused() {
    let err = build(CacheConfig {
        max_weight: Some(100),
        ..CacheConfig::default()
    })
    .unwrap_err();
    assert_eq!(
        err,
        ConfigError::field("c", "max_weight", "is set but no weigher was given")
    );
    let ok = Cache::<String, String>::builder("c")
        .config(CacheConfig {
            max_weight: Some(100),
            ..CacheConfig::default()
        })
        .weigher(|_, v| v.len() as u32)
        .build();
    assert!(ok.is_ok());
    let err = Cache::<String, String>::service("", CacheConfig::default()).unwrap_err();
    assert!(matches!(
        err,
        ConfigError::InvalidName {
            problem: NameError::Empty,
            ..
        }
    ));
}

#[test]
fn automatic_sharding_uses_one_shard_for_small_capacities() {
    let shards = |capacity| {
        CacheConfig {
            capacity,
            ..CacheConfig::default()
        }
        .shard_count()
    };
    assert_eq!(shards(1), 1);
    assert_eq!(shards(63), 1);
    assert_eq!(shards(64), 2);
    let big = shards(1_000_000);
    assert!(big.is_power_of_two() && (1..=64).contains(&big), "{big}");
    let (_spec, cache) = Cache::<u8, u8>::service(
        "s",
        CacheConfig {
            shards: 4,
            ..CacheConfig::default()
        },
    )
    .unwrap();
    assert_eq!(cache.shards(), 4);
}
