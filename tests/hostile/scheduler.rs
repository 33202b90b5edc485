//! Schedules of any length, and expressions that never match.

use servitor::scheduler::{Schedule, Scheduler, SchedulerConfig, SchedulerError};
use servitor::testing::TestTree;
use std::time::Duration;

fn ok() -> std::future::Ready<Result<(), String>> {
    std::future::ready(Ok(()))
}

#[actix_rt::test]
async fn a_scheduler_with_a_huge_health_interval_starts_and_runs_jobs() {
    tokio::time::pause();
    let (spec, jobs) = Scheduler::service(
        "jobs",
        SchedulerConfig {
            health_interval: Duration::MAX,
            max_backoff: Duration::MAX,
            ..SchedulerConfig::default()
        },
    )
    .unwrap();
    let tree = TestTree::start(spec).await.unwrap();
    jobs.add("tick", Schedule::every(Duration::from_millis(100)), ok)
        .unwrap();
    jobs.add(
        "fail",
        Schedule::every(Duration::from_millis(100)),
        || async { Err::<(), _>("no") },
    )
    .unwrap();
    tokio::time::sleep(Duration::from_millis(1_050)).await;
    assert!(jobs.stats("tick").unwrap().runs >= 9);
    assert!(jobs.stats("fail").unwrap().failures >= 1);
    assert_eq!(tree.restarts("jobs"), 0);
    tree.shutdown().await;
}

#[actix_rt::test]
async fn an_interval_of_centuries_is_not_run_early() {
    tokio::time::pause();
    let (spec, jobs) = Scheduler::service("jobs", SchedulerConfig::default()).unwrap();
    let tree = TestTree::start(spec).await.unwrap();
    let centuries = Duration::from_secs(585 * 365 * 24 * 3600);
    jobs.add("rare", Schedule::every(centuries), ok).unwrap();
    jobs.add("max", Schedule::every(Duration::MAX), ok).unwrap();
    tokio::time::sleep(Duration::from_secs(2)).await;
    for name in ["rare", "max"] {
        let stats = jobs.stats(name).unwrap();
        assert_eq!(stats.runs, 0, "{name}: {stats:?}");
        let next = stats.next_run.unwrap();
        assert!(next > tokio::time::Instant::now() + Duration::from_secs(50 * 365 * 24 * 3600));
    }
    tree.shutdown().await;
}

#[test]
fn intervals_below_a_millisecond_are_refused() {
    let (_spec, jobs) = Scheduler::service("jobs", SchedulerConfig::default()).unwrap();
    for d in [
        Duration::ZERO,
        Duration::from_nanos(1),
        Duration::from_micros(1),
        Duration::from_micros(999),
    ] {
        assert_eq!(
            jobs.add("fast", Schedule::every(d), ok),
            Err(SchedulerError::IntervalTooShort { job: "fast".into() })
        );
    }
    assert!(jobs
        .add("ok", Schedule::every(Duration::from_millis(1)), ok)
        .is_ok());
}

#[test]
fn a_cron_expression_that_never_matches_is_refused_when_parsed() {
    let err = Schedule::cron("0 0 30 2 *").unwrap_err();
    assert!(
        matches!(&err, SchedulerError::InvalidCron { problem, .. } if problem.contains("never")),
        "{err}"
    );
}
