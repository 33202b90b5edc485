//! Single-shot jobs: a `Routine` (or `RoutineFn`) that runs once and finishes.

use servitor::runtime::RuntimeError;
use servitor::testing::{Journal, TestTree};
use servitor::{BoxError, ChildSpec, LookupError, Routine, RoutineFn, ServiceContext, Status};
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::Semaphore;

const SECOND: Duration = Duration::from_secs(1);

/// A job that waits for a permit from `gate`, records its run, and then
/// fails while `failures` is above zero (counting it down).
fn job(journal: &Journal, gate: &Arc<Semaphore>, failures: u32) -> ChildSpec {
    let journal = journal.clone();
    let gate = gate.clone();
    let failures = Arc::new(AtomicU32::new(failures));
    ChildSpec::routine("job", move || {
        let (journal, gate, failures) = (journal.clone(), gate.clone(), failures.clone());
        RoutineFn(move |cx: ServiceContext| {
            let (journal, gate, failures) = (journal.clone(), gate.clone(), failures.clone());
            async move {
                gate.acquire().await?.forget();
                journal.record(format!("job:run:{}", cx.incarnation()));
                let failing = failures
                    .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |n| n.checked_sub(1))
                    .is_ok();
                if failing {
                    return Err::<(), BoxError>("disk full".into());
                }
                Ok(())
            }
        })
    })
}

#[actix_rt::test]
async fn a_finished_transient_job_leaves_a_final_record_and_stays_in_the_child_list() {
    tokio::time::pause();
    let journal = Journal::new();
    let gate = Arc::new(Semaphore::new(0));
    let tree = TestTree::start(job(&journal, &gate, 0).transient())
        .await
        .unwrap();
    let mut watch = tree.watch("job");
    gate.add_permits(1);
    let ended = watch.wait_for(Status::Stopped, SECOND).await.unwrap();
    assert_eq!(ended.message.as_deref(), Some("ended: finished normally"));

    let report = tree.runtime().registry().get("job").unwrap();
    assert!(report.is_ended(), "{report:?}");
    assert_eq!(
        report.last_failure, None,
        "a normal finish carries no failure"
    );
    // A finished job does not make the tree look stopped.
    assert_eq!(tree.runtime().health().status, Status::Ok);
    let children = tree.runtime().root().which_children().await.unwrap();
    assert_eq!(children[0].id, "job");
    assert_eq!(children[0].state, servitor::supervisor::ChildState::Stopped);
    // It is still a child, so its id is taken.
    assert!(tree
        .runtime()
        .root()
        .add_child(job(&journal, &gate, 0))
        .await
        .is_err());
    gate.add_permits(10);
    tokio::time::sleep(SECOND).await;
    assert_eq!(journal.entries(), ["job:run:1"], "it ran once");
    tree.shutdown().await;
}

#[actix_rt::test]
async fn a_finished_temporary_job_frees_its_name_for_a_new_child() {
    tokio::time::pause();
    let journal = Journal::new();
    let gate = Arc::new(Semaphore::new(0));
    let tree = TestTree::start(job(&journal, &gate, 0).temporary())
        .await
        .unwrap();
    let mut watch = tree.watch("job");
    gate.add_permits(1);
    watch.wait_for(Status::Stopped, SECOND).await.unwrap();
    assert!(matches!(
        tree.runtime().service::<servitor::Supervisor>("job"),
        Err(LookupError::NotFound(_))
    ));
    gate.add_permits(1);
    tree.runtime()
        .root()
        .add_child(job(&journal, &gate, 0).temporary())
        .await
        .expect("the name is free again");
    journal.wait_for("job:run:1", SECOND).await.unwrap();
    assert_eq!(journal.count("job:run:1"), 2);
    tree.shutdown().await;
}

#[actix_rt::test]
async fn an_error_from_run_is_a_failure_with_that_reason_and_a_transient_job_is_restarted() {
    tokio::time::pause();
    let journal = Journal::new();
    let gate = Arc::new(Semaphore::new(0));
    let tree = TestTree::start(job(&journal, &gate, 1).transient())
        .await
        .unwrap();
    let mut watch = tree.watch("job");
    gate.add_permits(1);
    let error = watch.wait_for(Status::Error, SECOND).await.unwrap();
    assert!(error.message.unwrap().contains("disk full"));
    let report = tree.runtime().registry().get("job").unwrap();
    assert_eq!(report.last_failure.as_deref(), Some("disk full"));
    assert_eq!(report.restarts, 1);

    gate.add_permits(1);
    watch.wait_for(Status::Stopped, SECOND).await.unwrap();
    assert_eq!(journal.entries(), ["job:run:1", "job:run:2"]);
    tree.shutdown().await;
}

#[actix_rt::test]
async fn a_failed_temporary_job_is_not_restarted_and_its_final_record_shows_the_failure() {
    tokio::time::pause();
    let journal = Journal::new();
    let gate = Arc::new(Semaphore::new(0));
    let tree = TestTree::start(job(&journal, &gate, 1).temporary())
        .await
        .unwrap();
    let mut watch = tree.watch("job");
    gate.add_permits(5);
    let last = watch.wait_for(Status::Failed, SECOND).await.unwrap();
    assert!(last.message.as_deref().unwrap().contains("disk full"));
    let report = tree.runtime().registry().get("job").unwrap();
    assert!(report.is_ended());
    // A crashed job leaves a trace in the overall health.
    assert_eq!(tree.runtime().health().status, Status::Failed);
    tokio::time::sleep(SECOND).await;
    assert_eq!(journal.entries(), ["job:run:1"]);
    tree.shutdown().await;
}

#[actix_rt::test]
async fn a_permanent_job_runs_again_after_a_normal_finish() {
    tokio::time::pause();
    let journal = Journal::new();
    let gate = Arc::new(Semaphore::new(3));
    let tree = TestTree::start(job(&journal, &gate, 0)).await.unwrap();
    journal.wait_for("job:run:3", SECOND).await.unwrap();
    assert!(tree.restarts("job") >= 2);
    assert!(tree.runtime().registry().get("job").is_some());
    tree.shutdown().await;
}

/// A job whose start hook fails.
struct NoInput;

impl Routine for NoInput {
    async fn start(&mut self, _: &ServiceContext) -> Result<(), BoxError> {
        Err("input file missing".into())
    }

    async fn run(&mut self, _: &ServiceContext) -> Result<(), BoxError> {
        panic!("run must not be called after a failed start");
    }
}

#[actix_rt::test]
async fn a_failing_start_hook_is_a_start_failure_naming_the_job_and_its_reason() {
    tokio::time::pause();
    let err = TestTree::start(ChildSpec::routine("import", || NoInput).transient())
        .await
        .expect_err("the tree must not start");
    let RuntimeError::Start(failure) = err else {
        panic!("not a start failure: {err:?}");
    };
    assert_eq!(failure.child, "import");
    assert!(failure.reason.contains("input file missing"), "{failure}");
}
