//! Failing jobs: the delay after consecutive failures doubles up to
//! `max_backoff`, a success returns the job to its interval, and a job
//! failing `degraded_after` times in a row degrades the scheduler's health,
//! whose details carry every job's stats.

use servitor::scheduler::{Schedule, Scheduler, SchedulerConfig};
use servitor::testing::TestTree;
use servitor::Status;
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::time::{sleep, Instant};

const MS: Duration = Duration::from_millis(1);
const BOUND: Duration = Duration::from_secs(30);

type Starts = Arc<Mutex<Vec<u64>>>;

/// A job that fails its first `failures` runs and records its start times
/// (ms since creation).
fn flaky(
    failures: u32,
) -> (
    Starts,
    impl Fn() -> std::future::Ready<Result<(), String>> + Send + Sync + 'static,
) {
    let t0 = Instant::now();
    let starts = Arc::new(Mutex::new(Vec::new()));
    let n = AtomicU32::new(0);
    let s = starts.clone();
    let job = move || {
        let ms = t0.elapsed().as_millis() as u64;
        s.lock().unwrap().push(ms);
        let k = n.fetch_add(1, Ordering::SeqCst);
        std::future::ready(if k < failures {
            Err(format!("failure {}", k + 1))
        } else {
            Ok(())
        })
    };
    (starts, job)
}

#[actix_rt::test]
async fn consecutive_failures_back_off_exponentially_up_to_the_cap_then_a_success_resets() {
    tokio::time::pause();
    let config = SchedulerConfig {
        max_backoff: Duration::from_secs(1),
        ..SchedulerConfig::default()
    };
    let (spec, jobs) = Scheduler::service("jobs", config).unwrap();
    let tree = TestTree::start(spec).await.unwrap();
    let (starts, job) = flaky(5);
    jobs.add("flaky", Schedule::every(100 * MS), job).unwrap();
    sleep(3750 * MS).await;
    // Fails at 100, then waits 200, 400, 800, 1000 (capped), 1000 (capped);
    // the success at 3500 puts it back on its 100 ms interval.
    assert_close(
        &starts.lock().unwrap(),
        &[100, 300, 700, 1500, 2500, 3500, 3600, 3700],
    );
    let stats = jobs.stats("flaky").unwrap();
    assert_eq!(stats.runs, 8);
    assert_eq!(stats.failures, 5);
    assert_eq!(stats.consecutive_failures, 0);
    assert_eq!(stats.last_error.as_deref(), Some("failure 5"));
    tree.shutdown().await;
}

#[actix_rt::test]
async fn backoff_state_is_visible_in_the_stats_while_failing() {
    tokio::time::pause();
    let (spec, jobs) = Scheduler::service("jobs", SchedulerConfig::default()).unwrap();
    let tree = TestTree::start(spec).await.unwrap();
    let (_starts, job) = flaky(u32::MAX);
    jobs.add("down", Schedule::every(100 * MS), job).unwrap();
    sleep(350 * MS).await; // runs at 100 and 300
    let stats = jobs.stats("down").unwrap();
    assert_eq!(
        (stats.runs, stats.failures, stats.consecutive_failures),
        (2, 2, 2)
    );
    assert_eq!(stats.last_error.as_deref(), Some("failure 2"));
    let next = stats
        .next_run
        .unwrap()
        .saturating_duration_since(Instant::now());
    assert!(
        next >= 340 * MS && next <= 360 * MS,
        "next at 300 + 400: {next:?}"
    );
    tree.shutdown().await;
}

#[actix_rt::test]
async fn a_job_failing_repeatedly_degrades_the_scheduler_until_it_succeeds() {
    tokio::time::pause();
    let (spec, jobs) = Scheduler::service("jobs", SchedulerConfig::default()).unwrap();
    let tree = TestTree::start(spec).await.unwrap();
    let mut watch = tree.watch("jobs");
    let (_starts, job) = flaky(3);
    jobs.add("flaky", Schedule::every(100 * MS), job).unwrap();
    jobs.add("fine", Schedule::every(100 * MS), || async {
        Ok::<_, String>(())
    })
    .unwrap();
    let degraded = watch.wait_for(Status::Degraded, BOUND).await.unwrap();
    let message = degraded.message.unwrap_or_default();
    assert!(
        message.contains("`flaky` failed 3 times in a row") && message.contains("failure 3"),
        "{message}"
    );
    assert_eq!(jobs.stats("flaky").unwrap().consecutive_failures, 3);
    // The fourth run succeeds: healthy again.
    watch.wait_for(Status::Ok, BOUND).await.unwrap();
    assert_eq!(jobs.stats("flaky").unwrap().consecutive_failures, 0);
    tree.shutdown().await;
}

#[actix_rt::test]
async fn disabling_a_failing_job_clears_the_degraded_status() {
    tokio::time::pause();
    let config = SchedulerConfig {
        degraded_after: 1,
        ..SchedulerConfig::default()
    };
    let (spec, jobs) = Scheduler::service("jobs", config).unwrap();
    let tree = TestTree::start(spec).await.unwrap();
    let mut watch = tree.watch("jobs");
    let (_starts, job) = flaky(u32::MAX);
    jobs.add("down", Schedule::every(100 * MS), job).unwrap();
    watch.wait_for(Status::Degraded, BOUND).await.unwrap();
    jobs.disable("down").unwrap();
    watch.wait_for(Status::Ok, BOUND).await.unwrap();
    tree.shutdown().await;
}

#[actix_rt::test]
async fn health_details_carry_every_jobs_stats() {
    tokio::time::pause();
    let (spec, jobs) = Scheduler::service("jobs", SchedulerConfig::default()).unwrap();
    let tree = TestTree::start(spec).await.unwrap();
    jobs.add("tick", Schedule::every(100 * MS), || async {
        Ok::<_, String>(())
    })
    .unwrap();
    let (_starts, job) = flaky(u32::MAX);
    jobs.add("down", Schedule::every(100 * MS), job).unwrap();
    sleep(550 * MS).await;
    let details = tree.runtime().registry().get("jobs").unwrap().details;
    assert_eq!(details["job_count"], 2);
    let tick = &details["jobs"]["tick"];
    assert_eq!(tick["runs"], 5);
    assert_eq!(tick["failures"], 0);
    assert_eq!(tick["enabled"], true);
    assert_eq!(tick["schedule"], "every 100ms");
    assert!(tick["last_run_unix_ms"].as_u64().unwrap() > 0);
    assert_eq!(tick["last_duration_ms"], 0);
    assert!(tick["next_run_in_ms"].as_u64().unwrap() <= 100);
    let down = &details["jobs"]["down"];
    assert_eq!(down["consecutive_failures"], 2);
    assert_eq!(down["last_error"], "failure 2");
    tree.shutdown().await;
}

/// Each start is at most 10 ms after the expected time: tokio timers fire
/// up to 1 ms late, and a retry counts from when the failed run ended.
fn assert_close(actual: &[u64], expected: &[u64]) {
    assert_eq!(actual.len(), expected.len(), "{actual:?} vs {expected:?}");
    for (a, e) in actual.iter().zip(expected) {
        assert!(*a >= *e && *a <= e + 10, "{actual:?} vs {expected:?}");
    }
}
