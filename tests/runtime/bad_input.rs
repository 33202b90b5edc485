//! Bad input: every invalid tree is a typed `BuildError` at build time, and
//! every invalid service config a `ConfigError` when the spec is made, whose
//! message names the field (or name) at fault.

use crate::support::probes::Dial;
use servitor::kit::{NameError, MAX_NAME_LEN};
use servitor::supervisor::SupervisorConfig;
use servitor::{
    AutoShutdown, Backoff, BuildError, ChildSpec, ServiceContext, Supervisor, SupervisorBuilder,
    Ticker, TickerConfig,
};
use std::time::Duration;

const SECOND: Duration = Duration::from_secs(1);

fn svc(name: &str) -> ChildSpec {
    crate::support::probes::dial(name, SECOND)
}

struct Nop;

impl Ticker for Nop {
    type Error = String;
    async fn tick(&mut self, _: &ServiceContext) -> Result<(), String> {
        Ok(())
    }
}

fn ticker(config: TickerConfig) -> Result<ChildSpec, servitor::ConfigError> {
    ChildSpec::ticker("poller", config, || Nop)
}

fn empty(what: &'static str) -> BuildError {
    BuildError::InvalidName {
        what,
        name: String::new(),
        problem: NameError::Empty,
    }
}

/// Builds `tree`, expecting an `InvalidField` on `node` naming `field`.
#[track_caller]
fn assert_invalid_field(tree: SupervisorBuilder, node: &str, field: &str) {
    let err = tree.build().expect_err("an invalid tree was accepted");
    let BuildError::InvalidField {
        node: n, field: f, ..
    } = &err
    else {
        panic!("expected an invalid `{field}`, got {err:?}");
    };
    assert_eq!((n.as_str(), f.as_str()), (node, field), "{err}");
    let text = err.to_string();
    assert!(text.contains(field) && text.contains(node), "{text}");
}

#[test]
fn duplicate_child_ids_are_rejected() {
    let err = Supervisor::builder("app")
        .child(svc("db"))
        .child(svc("db"))
        .build()
        .unwrap_err();
    assert_eq!(err, BuildError::DuplicateName { name: "db".into() });
    assert!(err.to_string().contains("`db`"));
}

#[test]
fn duplicate_names_across_nested_supervisors_are_rejected() {
    let err = Supervisor::builder("app")
        .child(svc("db"))
        .child(Supervisor::builder("workers").child(svc("db")))
        .build()
        .unwrap_err();
    assert_eq!(err, BuildError::DuplicateName { name: "db".into() });

    let err = Supervisor::builder("app")
        .child(Supervisor::builder("a").child(svc("x")))
        .child(Supervisor::builder("b").child(Supervisor::builder("c").child(svc("x"))))
        .build()
        .unwrap_err();
    assert_eq!(err, BuildError::DuplicateName { name: "x".into() });

    // A child named like a supervisor, or like the root.
    let err = Supervisor::builder("app")
        .child(Supervisor::builder("workers"))
        .child(svc("workers"))
        .build()
        .unwrap_err();
    assert_eq!(
        err,
        BuildError::DuplicateName {
            name: "workers".into()
        }
    );
    let err = Supervisor::builder("app")
        .child(svc("app"))
        .build()
        .unwrap_err();
    assert_eq!(err, BuildError::DuplicateName { name: "app".into() });
}

#[test]
fn empty_names_are_rejected_for_children_and_supervisors() {
    let err = Supervisor::builder("app")
        .child(svc(""))
        .build()
        .unwrap_err();
    assert_eq!(err, empty("child"));
    assert_eq!(err.to_string(), "child name `` is invalid: it is empty");
    let err = Supervisor::builder("").build().unwrap_err();
    assert_eq!(err, empty("supervisor"));
    let err = Supervisor::builder("app")
        .child(Supervisor::builder(""))
        .build()
        .unwrap_err();
    assert_eq!(err, empty("supervisor"));
}

#[test]
fn names_with_a_slash_whitespace_or_control_characters_or_too_long_are_rejected() {
    let long = "x".repeat(MAX_NAME_LEN + 1);
    for bad in [
        "a/b",
        "/",
        "a b",
        " a",
        "a\t",
        "a\nb",
        "a\u{7}",
        long.as_str(),
    ] {
        let err = Supervisor::builder("app")
            .child(svc(bad))
            .build()
            .unwrap_err();
        assert!(
            matches!(&err, BuildError::InvalidName { name, .. } if name == bad),
            "{bad:?}: {err:?}"
        );
        let err = Supervisor::builder(bad).build().unwrap_err();
        assert!(
            matches!(&err, BuildError::InvalidName { name, .. } if name == bad),
            "{bad:?}: {err:?}"
        );
        let err = Supervisor::builder("app")
            .child(Supervisor::builder("mid").child(svc(bad)))
            .build()
            .unwrap_err();
        assert!(
            matches!(&err, BuildError::InvalidName { .. }),
            "nested {bad:?}: {err:?}"
        );
    }
    let longest = "x".repeat(MAX_NAME_LEN);
    assert!(Supervisor::builder("app")
        .child(svc(&longest))
        .build()
        .is_ok());
    assert!(Supervisor::builder("app")
        .child(svc("db-1.primary_ü"))
        .build()
        .is_ok());
}

#[test]
fn zero_or_absurd_restart_intensity_is_rejected() {
    let tree = |n, period| Supervisor::builder("app").intensity(n, period);
    assert_invalid_field(tree(0, SECOND), "app", "intensity.max_restarts");
    assert_invalid_field(tree(100_001, SECOND), "app", "intensity.max_restarts");
    assert_invalid_field(tree(u32::MAX, SECOND), "app", "intensity.max_restarts");
    assert_invalid_field(tree(3, Duration::ZERO), "app", "intensity.period");
    assert_invalid_field(tree(3, 2 * 24 * 3600 * SECOND), "app", "intensity.period");
    assert_invalid_field(tree(3, Duration::MAX), "app", "intensity.period");
    assert!(tree(1, Duration::from_millis(1)).build().is_ok());
    assert!(tree(100_000, 24 * 3600 * SECOND).build().is_ok());
}

#[test]
fn bad_intensity_in_a_nested_supervisor_names_that_supervisor() {
    let tree =
        Supervisor::builder("app").child(Supervisor::builder("workers").intensity(0, SECOND));
    assert_invalid_field(tree, "workers", "intensity.max_restarts");
}

#[test]
fn zero_shutdown_or_start_timeouts_are_rejected() {
    let tree = Supervisor::builder("app").child(svc("db").shutdown_timeout(Duration::ZERO));
    assert_invalid_field(tree, "db", "shutdown_timeout");
    let tree = Supervisor::builder("app").child(svc("db").start_timeout(Duration::ZERO));
    assert_invalid_field(tree, "db", "start_timeout");
    assert!(Supervisor::builder("app")
        .child(svc("db").kill_on_stop())
        .build()
        .is_ok());
}

#[test]
fn a_bad_backoff_factor_jitter_or_cap_is_rejected() {
    let base = Backoff::exponential(Duration::from_millis(10), SECOND);
    let cases = [
        (base.factor(0.5), "backoff.factor"),
        (base.factor(0.0), "backoff.factor"),
        (base.factor(-2.0), "backoff.factor"),
        (base.factor(f64::NAN), "backoff.factor"),
        (base.factor(f64::INFINITY), "backoff.factor"),
        (base.jitter(-0.1), "backoff.jitter"),
        (base.jitter(1.5), "backoff.jitter"),
        (base.jitter(f64::NAN), "backoff.jitter"),
        (
            Backoff::exponential(SECOND, Duration::from_millis(10)),
            "backoff.max",
        ),
    ];
    for (backoff, field) in cases {
        assert_invalid_field(Supervisor::builder("app").backoff(backoff), "app", field);
    }
    assert!(Supervisor::builder("app")
        .backoff(base.factor(1.0).jitter(1.0))
        .build()
        .is_ok());
}

#[test]
fn a_config_read_from_a_file_is_validated_like_the_builder() {
    let config: SupervisorConfig = serde_json::from_value(serde_json::json!({
        "intensity": { "max_restarts": 0, "period": 5000 }
    }))
    .unwrap();
    assert_invalid_field(
        Supervisor::builder("app").config(config),
        "app",
        "intensity.max_restarts",
    );
    let config = SupervisorConfig {
        health_interval: Duration::ZERO,
        ..Default::default()
    };
    assert_invalid_field(
        Supervisor::builder("app").config(config),
        "app",
        "health_interval",
    );
}

#[test]
fn an_invalid_ticker_config_is_refused_when_the_spec_is_made_naming_the_field() {
    let every = TickerConfig::every(SECOND);
    let cases = [
        (TickerConfig::every(Duration::ZERO), "interval"),
        (every.max_failures(0), "max_failures"),
        (every.degraded_after(0), "degraded_after"),
        (
            every.retry(Backoff::exponential(SECOND, Duration::from_millis(10))),
            "retry.max",
        ),
        (
            every.retry(Backoff::exponential(SECOND, SECOND).jitter(f64::NAN)),
            "retry.jitter",
        ),
    ];
    for (config, field) in cases {
        let err = ticker(config).expect_err("an invalid ticker config was accepted");
        assert_eq!(err.field_name(), Some(field), "{err}");
        assert!(err.to_string().contains("`poller`"), "{err}");
    }
    assert!(Supervisor::builder("app")
        .child(ticker(every.max_failures(1).degraded_after(1)).unwrap())
        .build()
        .is_ok());
}

#[test]
fn a_significant_permanent_child_is_rejected() {
    let tree = Supervisor::builder("app")
        .auto_shutdown(AutoShutdown::AnySignificant)
        .child(svc("job").permanent().significant());
    assert_invalid_field(tree, "job", "significant");
}

#[test]
fn a_significant_child_without_auto_shutdown_is_rejected() {
    let tree = Supervisor::builder("app").child(svc("job").transient().significant());
    assert_invalid_field(tree, "app", "auto_shutdown");
    assert!(Supervisor::builder("app")
        .auto_shutdown(AutoShutdown::AllSignificant)
        .child(svc("job").transient().significant())
        .build()
        .is_ok());
}

#[actix_rt::test]
async fn a_child_added_at_run_time_is_validated_like_at_build_time() {
    tokio::time::pause();
    let tree = servitor::testing::TestTree::start(svc("db")).await.unwrap();
    let root = tree.runtime().root();
    let err = root.add_child(svc("db")).await.unwrap_err();
    assert!(err.to_string().contains("`db`"), "{err}");
    let err = root.add_child(svc("a b")).await.unwrap_err();
    assert!(
        matches!(
            err,
            servitor::supervisor::SupervisorError::Invalid(BuildError::InvalidName { .. })
        ),
        "{err:?}"
    );
    let err = root
        .add_child(svc("x").shutdown_timeout(Duration::ZERO))
        .await
        .unwrap_err();
    assert!(err.to_string().contains("shutdown_timeout"), "{err}");
    let err = root
        .add_child(Supervisor::builder("sub").child(svc("db")))
        .await
        .unwrap_err();
    assert!(err.to_string().contains("`db`"), "{err}");
    assert!(tree.runtime().registry().get("x").is_none());
    assert!(tree.runtime().service::<Dial>("db").is_ok());
    tree.shutdown().await;
}

#[test]
fn an_uncapped_backoff_saturates_instead_of_panicking() {
    let uncapped = Backoff::exponential(SECOND, Duration::MAX);
    assert_eq!(uncapped.delay(3), 8 * SECOND);
    assert_eq!(uncapped.delay(200), Duration::MAX);
    assert_eq!(uncapped.jittered(200), Duration::MAX);
}

#[actix_rt::test]
async fn a_pool_of_no_threads_or_of_more_than_the_limit_is_refused_before_anything_starts() {
    use servitor::{Runtime, RuntimeConfig, RuntimeError, MAX_POOL_SIZE};
    for size in [0, MAX_POOL_SIZE + 1, usize::MAX] {
        let tree = Supervisor::builder("app").child(svc("a")).build().unwrap();
        let config = RuntimeConfig {
            pool_size: Some(size),
            handle_signals: false,
            ..RuntimeConfig::default()
        };
        let err = Runtime::start_with(tree, config).await.unwrap_err();
        assert!(
            matches!(
                err,
                RuntimeError::InvalidConfig {
                    field: "pool_size",
                    ..
                }
            ),
            "{size}: {err:?}"
        );
        assert!(err.to_string().contains("pool_size"), "{err}");
    }
    let tree = Supervisor::builder("app").child(svc("a")).build().unwrap();
    let config = RuntimeConfig {
        pool_size: Some(MAX_POOL_SIZE),
        handle_signals: false,
        ..RuntimeConfig::default()
    };
    let app = Runtime::start_with(tree, config).await.unwrap();
    app.shutdown().await.unwrap();
}
