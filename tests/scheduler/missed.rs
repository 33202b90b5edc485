//! Missed runs: slots that pass while the process is stalled (here: the
//! paused clock jumps ahead in one step) or while a slow run is still
//! going. `Skip` (the default) drops them and runs at the next future slot;
//! `CatchUpOnce` runs once at once, then resumes.

use servitor::scheduler::{JobOptions, MissedRunPolicy, Schedule, Scheduler, SchedulerConfig};
use servitor::testing::TestTree;
use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::time::{advance, sleep, Instant};

const MS: Duration = Duration::from_millis(1);

type Run = Pin<Box<dyn Future<Output = Result<(), String>>>>;

/// A job recording its start times, in ms since creation rounded to 10 ms
/// (tokio timers fire up to a millisecond late); each run takes `takes`.
fn recorder(
    takes: Duration,
) -> (
    Arc<Mutex<Vec<u64>>>,
    impl Fn() -> Run + Send + Sync + 'static,
) {
    let t0 = Instant::now();
    let starts = Arc::new(Mutex::new(Vec::new()));
    let s = starts.clone();
    let job = move || -> Run {
        let ms = t0.elapsed().as_millis() as u64;
        s.lock().unwrap().push((ms + 5) / 10 * 10);
        Box::pin(async move {
            if !takes.is_zero() {
                sleep(takes).await;
            }
            Ok(())
        })
    };
    (starts, job)
}

async fn start(
    policy: Option<MissedRunPolicy>,
    takes: Duration,
) -> (TestTree, Scheduler, Arc<Mutex<Vec<u64>>>) {
    let (spec, jobs) = Scheduler::service("jobs", SchedulerConfig::default()).unwrap();
    let tree = TestTree::start(spec).await.unwrap();
    let (starts, job) = recorder(takes);
    let options = JobOptions {
        missed_runs: policy,
        ..JobOptions::default()
    };
    jobs.add_with("job", Schedule::every(100 * MS), options, job)
        .unwrap();
    (tree, jobs, starts)
}

#[actix_rt::test]
async fn skip_is_the_default_and_drops_runs_missed_during_a_stall() {
    tokio::time::pause();
    let (tree, jobs, starts) = start(None, Duration::ZERO).await;
    // The process stalls for 450 ms: slots 100..400 pass unseen.
    advance(450 * MS).await;
    sleep(170 * MS).await; // to 620
    assert_eq!(*starts.lock().unwrap(), vec![500, 600]);
    let stats = jobs.stats("job").unwrap();
    assert_eq!(stats.missed, 4);
    assert_eq!(stats.runs, 2);
    tree.shutdown().await;
}

#[actix_rt::test]
async fn catch_up_once_runs_once_at_once_after_a_stall_then_resumes() {
    tokio::time::pause();
    let (tree, jobs, starts) = start(Some(MissedRunPolicy::CatchUpOnce), Duration::ZERO).await;
    advance(450 * MS).await;
    sleep(170 * MS).await;
    assert_eq!(*starts.lock().unwrap(), vec![450, 500, 600]);
    let stats = jobs.stats("job").unwrap();
    assert_eq!(
        stats.missed, 3,
        "four slots passed, one catch-up run stood for them"
    );
    assert_eq!(stats.runs, 3);
    tree.shutdown().await;
}

#[actix_rt::test]
async fn the_scheduler_default_policy_applies_to_jobs_without_one() {
    tokio::time::pause();
    let config = SchedulerConfig {
        missed_runs: MissedRunPolicy::CatchUpOnce,
        ..SchedulerConfig::default()
    };
    let (spec, jobs) = Scheduler::service("jobs", config).unwrap();
    let tree = TestTree::start(spec).await.unwrap();
    let (starts, job) = recorder(Duration::ZERO);
    jobs.add("job", Schedule::every(100 * MS), job).unwrap();
    advance(450 * MS).await;
    sleep(70 * MS).await;
    assert_eq!(*starts.lock().unwrap(), vec![450, 500]);
    tree.shutdown().await;
}

#[actix_rt::test]
async fn a_run_late_by_less_than_a_period_is_not_missed() {
    tokio::time::pause();
    let (tree, jobs, starts) = start(None, Duration::ZERO).await;
    advance(150 * MS).await; // slot 100 is late, slot 200 is still ahead
    sleep(70 * MS).await;
    assert_eq!(*starts.lock().unwrap(), vec![150, 200]);
    assert_eq!(jobs.stats("job").unwrap().missed, 0);
    tree.shutdown().await;
}

#[actix_rt::test]
async fn slots_passed_during_a_slow_run_follow_the_policy() {
    tokio::time::pause();
    // Each run takes 250 ms: slots 200 and 300 pass during the first.
    let (tree, jobs, starts) = start(None, 250 * MS).await;
    sleep(1050 * MS).await;
    assert_eq!(*starts.lock().unwrap(), vec![100, 400, 700, 1000]);
    assert_eq!(jobs.stats("job").unwrap().missed, 6);
    tree.shutdown().await;

    let (tree, _jobs, starts) = start(Some(MissedRunPolicy::CatchUpOnce), 250 * MS).await;
    sleep(1000 * MS).await;
    // The catch-up run starts as soon as the slow one ends.
    assert_eq!(*starts.lock().unwrap(), vec![100, 350, 600, 850]);
    tree.shutdown().await;
}
