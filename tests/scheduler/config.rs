//! Configuration and input validation: the config deserializes with
//! documented defaults, an invalid field is a typed error naming it, and
//! bad job operations (empty or duplicate name, zero interval, unknown job)
//! are typed errors that change nothing.

use servitor::scheduler::{
    MissedRunPolicy, Schedule, Scheduler, SchedulerConfig, SchedulerError, DEFAULT_DEGRADED_AFTER,
    DEFAULT_HEALTH_INTERVAL, DEFAULT_MAX_BACKOFF,
};
use servitor::ConfigError;
use std::time::Duration;

fn ok() -> std::future::Ready<Result<(), String>> {
    std::future::ready(Ok(()))
}

#[test]
fn an_empty_config_deserializes_to_the_documented_defaults() {
    let config: SchedulerConfig = serde_json::from_str("{}").unwrap();
    assert_eq!(config, SchedulerConfig::default());
    assert_eq!(config.max_backoff, DEFAULT_MAX_BACKOFF);
    assert_eq!(config.max_backoff, Duration::from_secs(300));
    assert_eq!(config.missed_runs, MissedRunPolicy::Skip);
    assert_eq!(config.degraded_after, DEFAULT_DEGRADED_AFTER);
    assert_eq!(config.health_interval, DEFAULT_HEALTH_INTERVAL);
}

#[test]
fn every_field_deserializes_with_durations_in_milliseconds() {
    let config: SchedulerConfig = serde_json::from_str(
        r#"{ "max_backoff": 2500, "missed_runs": "catch_up_once", "degraded_after": 5, "health_interval": 200 }"#,
    )
    .unwrap();
    assert_eq!(config.max_backoff, Duration::from_millis(2500));
    assert_eq!(config.missed_runs, MissedRunPolicy::CatchUpOnce);
    assert_eq!(config.degraded_after, 5);
    assert_eq!(config.health_interval, Duration::from_millis(200));
    let back: SchedulerConfig =
        serde_json::from_str(&serde_json::to_string(&config).unwrap()).unwrap();
    assert_eq!(back, config);
}

#[test]
fn unknown_fields_and_policies_are_rejected() {
    let e = serde_json::from_str::<SchedulerConfig>(r#"{ "max_backof": 1 }"#).unwrap_err();
    assert!(e.to_string().contains("max_backof"), "{e}");
    let e = serde_json::from_str::<SchedulerConfig>(r#"{ "missed_runs": "all" }"#).unwrap_err();
    assert!(e.to_string().contains("all"), "{e}");
}

#[test]
fn an_invalid_config_is_a_typed_error_naming_the_field() {
    let cases = [
        (
            SchedulerConfig {
                max_backoff: Duration::ZERO,
                ..Default::default()
            },
            "max_backoff",
        ),
        (
            SchedulerConfig {
                degraded_after: 0,
                ..Default::default()
            },
            "degraded_after",
        ),
        (
            SchedulerConfig {
                health_interval: Duration::ZERO,
                ..Default::default()
            },
            "health_interval",
        ),
    ];
    for (config, field) in cases {
        match Scheduler::service("jobs", config) {
            Err(ConfigError::InvalidField {
                service, field: f, ..
            }) => {
                assert_eq!(service, "jobs");
                assert_eq!(f, field);
            }
            other => panic!("{field}: {:?}", other.map(|(_, s)| s)),
        }
    }
    assert!(matches!(
        Scheduler::service("", SchedulerConfig::default()).unwrap_err(),
        ConfigError::InvalidName { .. }
    ));
}

#[test]
fn bad_job_operations_are_typed_errors_that_change_nothing() {
    let (_spec, jobs) = Scheduler::service("jobs", SchedulerConfig::default()).unwrap();
    let every = Schedule::every(Duration::from_secs(1));
    assert_eq!(
        jobs.add("", every.clone(), ok),
        Err(SchedulerError::EmptyName)
    );
    assert_eq!(
        jobs.add("zero", Schedule::every(Duration::ZERO), ok),
        Err(SchedulerError::IntervalTooShort { job: "zero".into() })
    );
    jobs.add("a", every.clone(), ok).unwrap();
    assert_eq!(
        jobs.add("a", Schedule::cron("* * * * *").unwrap(), ok),
        Err(SchedulerError::Duplicate { job: "a".into() })
    );
    assert_eq!(
        jobs.stats("a").unwrap().schedule,
        "every 1s",
        "the first job is kept"
    );
    let missing = || SchedulerError::NotFound { job: "nope".into() };
    assert_eq!(jobs.remove("nope"), Err(missing()));
    assert_eq!(jobs.enable("nope"), Err(missing()));
    assert_eq!(jobs.disable("nope"), Err(missing()));
    assert_eq!(jobs.stats("nope"), Err(missing()));
    assert_eq!(jobs.list().len(), 1);
    assert_eq!(
        SchedulerError::IntervalTooShort { job: "zero".into() }.to_string(),
        "job `zero`: the interval must be at least 1 ms"
    );
}
