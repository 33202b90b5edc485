//! Interval jobs: they run on their period, a slow run delays the next one
//! instead of stacking (unless overlap is allowed), a panicking job is a
//! failed run, and jobs are added, disabled, enabled and removed at run
//! time. Time is paused: the tests run in virtual time.

use servitor::scheduler::{JobOptions, Schedule, Scheduler, SchedulerConfig, SchedulerError};
use servitor::testing::TestTree;
use servitor::Status;
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::time::{sleep, Instant};

const MS: Duration = Duration::from_millis(1);

/// Start times of a job's runs, in ms since `t0`.
#[derive(Clone)]
struct Starts {
    t0: Instant,
    at: Arc<Mutex<Vec<u64>>>,
}

impl Starts {
    fn new() -> Self {
        Starts {
            t0: Instant::now(),
            at: Arc::default(),
        }
    }
    fn record(&self) {
        let ms = self.t0.elapsed().as_millis() as u64;
        self.at.lock().unwrap().push(ms);
    }
    /// Rounded to 10 ms: tokio timers fire up to a millisecond late.
    fn get(&self) -> Vec<u64> {
        self.at
            .lock()
            .unwrap()
            .iter()
            .map(|ms| (ms + 5) / 10 * 10)
            .collect()
    }
}

async fn start() -> (TestTree, Scheduler) {
    let (spec, jobs) = Scheduler::service("jobs", SchedulerConfig::default()).unwrap();
    (TestTree::start(spec).await.unwrap(), jobs)
}

#[actix_rt::test]
async fn an_interval_of_100ms_runs_ten_times_in_one_second() {
    tokio::time::pause();
    let (tree, jobs) = start().await;
    let starts = Starts::new();
    let s = starts.clone();
    jobs.add("tick", Schedule::every(100 * MS), move || {
        s.record();
        async { Ok::<_, String>(()) }
    })
    .unwrap();
    sleep(1050 * MS).await;
    assert_eq!(starts.get(), (1..=10).map(|k| k * 100).collect::<Vec<_>>());
    let stats = jobs.stats("tick").unwrap();
    assert_eq!(stats.runs, 10);
    assert_eq!(stats.failures, 0);
    assert_eq!(stats.consecutive_failures, 0);
    assert!(stats.last_run.is_some());
    assert_eq!(stats.last_duration, Some(Duration::ZERO));
    let next = stats
        .next_run
        .unwrap()
        .saturating_duration_since(Instant::now());
    assert!(
        next > 40 * MS && next <= 50 * MS,
        "next run at 1100 ms: {next:?}"
    );
    tree.shutdown().await;
}

#[actix_rt::test]
async fn a_slow_run_delays_the_next_and_runs_never_stack() {
    tokio::time::pause();
    let (tree, jobs) = start().await;
    let starts = Starts::new();
    let (s, running, peak) = (
        starts.clone(),
        Arc::new(AtomicU32::new(0)),
        Arc::new(AtomicU32::new(0)),
    );
    let (r, p) = (running.clone(), peak.clone());
    jobs.add("slow", Schedule::every(100 * MS), move || {
        s.record();
        let now = r.fetch_add(1, Ordering::SeqCst) + 1;
        p.fetch_max(now, Ordering::SeqCst);
        let r = r.clone();
        async move {
            sleep(150 * MS).await;
            r.fetch_sub(1, Ordering::SeqCst);
            Ok::<_, String>(())
        }
    })
    .unwrap();
    sleep(1000 * MS).await;
    assert_eq!(peak.load(Ordering::SeqCst), 1, "runs never overlap");
    let at = starts.get();
    // Slot 200 is late (the run ended at 250) but not missed: it runs at
    // once. Slots 300 and 400 both passed by the end at 400: skipped.
    assert_eq!(&at[..3], &[100, 250, 500]);
    for w in at.windows(2) {
        assert!(
            w[1] - w[0] >= 150,
            "each run starts after the previous ended: {at:?}"
        );
    }
    tree.shutdown().await;
}

#[actix_rt::test]
async fn overlap_is_allowed_only_when_the_job_asks_for_it() {
    tokio::time::pause();
    let (tree, jobs) = start().await;
    let starts = Starts::new();
    let (s, running, peak) = (
        starts.clone(),
        Arc::new(AtomicU32::new(0)),
        Arc::new(AtomicU32::new(0)),
    );
    let (r, p) = (running.clone(), peak.clone());
    let options = JobOptions {
        allow_overlap: true,
        ..JobOptions::default()
    };
    jobs.add_with("slow", Schedule::every(100 * MS), options, move || {
        s.record();
        let now = r.fetch_add(1, Ordering::SeqCst) + 1;
        p.fetch_max(now, Ordering::SeqCst);
        let r = r.clone();
        async move {
            sleep(250 * MS).await;
            r.fetch_sub(1, Ordering::SeqCst);
            Ok::<_, String>(())
        }
    })
    .unwrap();
    sleep(550 * MS).await;
    assert_eq!(starts.get(), vec![100, 200, 300, 400, 500]);
    assert_eq!(peak.load(Ordering::SeqCst), 3);
    assert_eq!(jobs.stats("slow").unwrap().running, 3);
    tree.shutdown().await;
}

#[actix_rt::test]
async fn a_panicking_job_is_a_failed_run_not_a_crash_of_the_scheduler() {
    tokio::time::pause();
    let (tree, jobs) = start().await;
    jobs.add("boom", Schedule::every(100 * MS), || async {
        if true {
            panic!("job exploded");
        }
        Ok::<_, String>(())
    })
    .unwrap();
    jobs.add(
        "sync-boom",
        Schedule::every(100 * MS),
        || -> std::future::Ready<Result<(), String>> { panic!("exploded before its future") },
    )
    .unwrap();
    jobs.add("err", Schedule::every(100 * MS), || async {
        Err::<(), _>("disk full")
    })
    .unwrap();
    sleep(150 * MS).await;
    let boom = jobs.stats("boom").unwrap();
    assert_eq!(
        (boom.runs, boom.failures, boom.consecutive_failures),
        (1, 1, 1)
    );
    assert!(boom.last_error.unwrap().contains("job exploded"));
    assert!(jobs
        .stats("sync-boom")
        .unwrap()
        .last_error
        .unwrap()
        .contains("exploded before its future"));
    assert_eq!(
        jobs.stats("err").unwrap().last_error.as_deref(),
        Some("disk full")
    );
    assert_eq!(tree.status("jobs"), Some(Status::Ok));
    assert_eq!(tree.restarts("jobs"), 0);
    tree.shutdown().await;
}

#[actix_rt::test]
async fn jobs_are_added_disabled_enabled_and_removed_at_run_time() {
    tokio::time::pause();
    let (tree, jobs) = start().await;
    let count = Arc::new(AtomicU32::new(0));
    let c = count.clone();
    jobs.add("tick", Schedule::every(100 * MS), move || {
        c.fetch_add(1, Ordering::SeqCst);
        async { Ok::<_, String>(()) }
    })
    .unwrap();
    sleep(250 * MS).await;
    assert_eq!(count.load(Ordering::SeqCst), 2);

    jobs.disable("tick").unwrap();
    let stats = jobs.stats("tick").unwrap();
    assert!(!stats.enabled);
    assert_eq!(stats.next_run, None);
    sleep(500 * MS).await;
    assert_eq!(
        count.load(Ordering::SeqCst),
        2,
        "a disabled job does not run"
    );

    // Enabling restarts the schedule from now: first run one interval later.
    jobs.enable("tick").unwrap();
    sleep(90 * MS).await;
    assert_eq!(count.load(Ordering::SeqCst), 2);
    sleep(20 * MS).await;
    assert_eq!(count.load(Ordering::SeqCst), 3);
    assert_eq!(
        jobs.stats("tick").unwrap().runs,
        3,
        "stats survive disable/enable"
    );

    jobs.remove("tick").unwrap();
    sleep(500 * MS).await;
    assert_eq!(
        count.load(Ordering::SeqCst),
        3,
        "a removed job does not run"
    );
    assert_eq!(
        jobs.stats("tick"),
        Err(SchedulerError::NotFound { job: "tick".into() })
    );
    assert!(jobs.list().is_empty());
    tree.shutdown().await;
}

#[actix_rt::test]
async fn list_reports_every_job_by_name() {
    tokio::time::pause();
    let (tree, jobs) = start().await;
    for name in ["b", "a", "c"] {
        jobs.add(name, Schedule::every(100 * MS), || async {
            Ok::<_, String>(())
        })
        .unwrap();
    }
    let names: Vec<_> = jobs.list().into_iter().map(|s| s.name).collect();
    assert_eq!(names, ["a", "b", "c"]);
    assert_eq!(jobs.stats("a").unwrap().schedule, "every 100ms");
    tree.shutdown().await;
}
