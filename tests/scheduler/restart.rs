//! The scheduler as a supervised service: job definitions, stats and
//! schedule positions live in state created with the spec, so a crash of
//! the scheduler's actor keeps every job; the restarted instance resumes
//! them (once — never twice), and handles work while it is down.

use servitor::scheduler::{Schedule, Scheduler, SchedulerConfig, SchedulerService};
use servitor::testing::TestTree;
use servitor::Status;
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::Arc;
use std::time::Duration;
use tokio::time::sleep;

const MS: Duration = Duration::from_millis(1);
const BOUND: Duration = Duration::from_secs(5);

fn counting(
    count: &Arc<AtomicU32>,
) -> impl Fn() -> std::future::Ready<Result<(), String>> + Send + Sync + 'static {
    let c = count.clone();
    move || {
        c.fetch_add(1, Ordering::SeqCst);
        std::future::ready(Ok(()))
    }
}

#[actix_rt::test]
async fn jobs_and_their_stats_survive_a_crash_of_the_scheduler_actor() {
    tokio::time::pause();
    let (spec, jobs) = Scheduler::service("jobs", SchedulerConfig::default()).unwrap();
    let tree = TestTree::start(spec).await.unwrap();
    let count = Arc::new(AtomicU32::new(0));
    jobs.add("tick", Schedule::every(100 * MS), counting(&count))
        .unwrap();
    jobs.add("off", Schedule::every(100 * MS), counting(&Arc::default()))
        .unwrap();
    jobs.disable("off").unwrap();
    sleep(350 * MS).await;
    assert_eq!(jobs.stats("tick").unwrap().runs, 3);

    let mut watch = tree.watch("jobs");
    tree.crash("jobs", "injected").await.unwrap();
    // The handle works while the actor is down.
    jobs.add("late", Schedule::every(100 * MS), counting(&Arc::default()))
        .unwrap();
    watch.wait_for(Status::Error, BOUND).await.unwrap();
    watch.wait_for(Status::Ok, BOUND).await.unwrap();
    assert_eq!(tree.restarts("jobs"), 1);

    let names: Vec<_> = jobs.list().into_iter().map(|s| s.name).collect();
    assert_eq!(names, ["late", "off", "tick"]);
    assert!(
        !jobs.stats("off").unwrap().enabled,
        "disabled stays disabled"
    );
    let before = count.load(Ordering::SeqCst);
    assert_eq!(
        jobs.stats("tick").unwrap().runs as u32,
        before,
        "stats kept"
    );

    // The new instance runs the jobs — once per slot, not once per instance.
    sleep(1000 * MS).await;
    let after = count.load(Ordering::SeqCst) - before;
    assert!(
        (9..=11).contains(&after),
        "{after} runs in 1 s after the restart"
    );
    assert!(jobs.stats("late").unwrap().runs >= 9);
    assert_eq!(jobs.stats("off").unwrap().runs, 0);
    tree.shutdown().await;
}

#[actix_rt::test]
async fn a_run_in_progress_at_a_crash_is_dropped_uncounted_and_the_job_resumes() {
    tokio::time::pause();
    let (spec, jobs) = Scheduler::service("jobs", SchedulerConfig::default()).unwrap();
    let tree = TestTree::start(spec).await.unwrap();
    let finished = Arc::new(AtomicU32::new(0));
    let f = finished.clone();
    jobs.add("slow", Schedule::every(100 * MS), move || {
        let f = f.clone();
        async move {
            sleep(500 * MS).await;
            f.fetch_add(1, Ordering::SeqCst);
            Ok::<_, String>(())
        }
    })
    .unwrap();
    sleep(150 * MS).await;
    assert_eq!(jobs.stats("slow").unwrap().running, 1);
    let mut watch = tree.watch("jobs");
    tree.crash("jobs", "injected").await.unwrap();
    watch.wait_for(Status::Error, BOUND).await.unwrap();
    watch.wait_for(Status::Ok, BOUND).await.unwrap();
    let stats = jobs.stats("slow").unwrap();
    assert_eq!(
        (stats.runs, stats.failures),
        (0, 0),
        "the cut run is not counted"
    );
    sleep(2000 * MS).await;
    assert!(finished.load(Ordering::SeqCst) >= 2, "the job resumed");
    assert_eq!(jobs.stats("slow").unwrap().failures, 0);
    tree.shutdown().await;
}

#[actix_rt::test]
async fn the_scheduler_actor_is_an_ordinary_service_reachable_by_name() {
    let (spec, _jobs) = Scheduler::service("jobs", SchedulerConfig::default()).unwrap();
    let tree = TestTree::start(spec).await.unwrap();
    let actor = tree.runtime().service::<SchedulerService>("jobs").unwrap();
    assert!(actor.is_up());
    tree.shutdown().await;
}
