//! Behaviour suite: placement. Services on the runtime's arbiter, the pool,
//! a named arbiter or a thread of their own are supervised the same way;
//! a service that blocks its thread freezes nobody else.
//!
//! These run on real time: other threads do not see a test's paused clock.

#[path = "../support/mod.rs"]
mod support;

use servitor::prelude::*;
use servitor::registry::RegistryConfig;
use servitor::tasks::{Tasks, TasksConfig};
use servitor::testing::{Journal, TestTree};
use servitor::{Placement, Status};
use std::collections::HashSet;
use std::thread::ThreadId;
use std::time::Duration;
use support::probes::{lifecycle, probe, reached};

const BOUND: Duration = Duration::from_secs(10);

/// Tells which thread it runs on; panics, fails or blocks on request.
struct Worker {
    beat: Duration,
}

impl Default for Worker {
    fn default() -> Self {
        Worker {
            beat: Duration::from_millis(50),
        }
    }
}

impl Actor for Worker {
    type Context = Context<Self>;
}

impl Service for Worker {
    fn health_interval(&self) -> Duration {
        self.beat
    }
}

#[derive(Message)]
#[rtype(result = "ThreadId")]
struct WhereAreYou;

impl Handler<WhereAreYou> for Worker {
    type Result = MessageResult<WhereAreYou>;
    fn handle(&mut self, _: WhereAreYou, _: &mut Context<Self>) -> Self::Result {
        MessageResult(std::thread::current().id())
    }
}

#[derive(Message)]
#[rtype(result = "()")]
struct Panic;

impl Handler<Panic> for Worker {
    type Result = ();
    fn handle(&mut self, _: Panic, _: &mut Context<Self>) {
        panic!("told to panic");
    }
}

#[derive(Message)]
#[rtype(result = "()")]
struct Block(Duration);

impl Handler<Block> for Worker {
    type Result = ();
    fn handle(&mut self, Block(d): Block, _: &mut Context<Self>) {
        std::thread::sleep(d);
    }
}

fn worker(name: &str, placement: Placement) -> ChildSpec {
    ChildSpec::service(name, Worker::default).placement(placement)
}

async fn thread_of(tree: &TestTree, name: &str) -> ThreadId {
    tree.runtime()
        .service::<Worker>(name)
        .unwrap()
        .call(WhereAreYou)
        .await
        .unwrap()
}

fn placements() -> [Placement; 4] {
    [
        Placement::Runtime,
        Placement::Pool,
        Placement::Named("io".into()),
        Placement::Dedicated,
    ]
}

#[actix_rt::test]
async fn every_placement_runs_where_it_says() {
    let tree = Supervisor::builder("app")
        .child(worker("runtime", Placement::Runtime))
        .child(worker("named-a", Placement::Named("io".into())))
        .child(worker("named-b", Placement::Named("io".into())))
        .child(worker("own-a", Placement::Dedicated))
        .child(worker("own-b", Placement::Dedicated));
    let config = RuntimeConfig {
        pool_size: Some(2),
        ..TestTree::config()
    };
    let tree = TestTree::start_spec(tree.build().unwrap(), config)
        .await
        .unwrap();
    let here = std::thread::current().id();
    assert_eq!(thread_of(&tree, "runtime").await, here);
    let (a, b) = (
        thread_of(&tree, "named-a").await,
        thread_of(&tree, "named-b").await,
    );
    assert_eq!(a, b, "one named arbiter");
    assert_ne!(a, here);
    let (a, b) = (
        thread_of(&tree, "own-a").await,
        thread_of(&tree, "own-b").await,
    );
    assert_ne!(a, b, "a thread each");
    assert!(a != here && b != here);
    tree.shutdown().await;
}

#[actix_rt::test]
async fn the_pool_spreads_instances_to_the_least_loaded_arbiter() {
    let mut tree = Supervisor::builder("app");
    for i in 0..6 {
        tree = tree.child(worker(&format!("w{i}"), Placement::Pool));
    }
    let config = RuntimeConfig {
        pool_size: Some(3),
        ..TestTree::config()
    };
    let tree = TestTree::start_spec(tree.build().unwrap(), config)
        .await
        .unwrap();
    assert_eq!(tree.runtime().pool_loads(), [2, 2, 2]);
    let mut threads = HashSet::new();
    for i in 0..6 {
        threads.insert(thread_of(&tree, &format!("w{i}")).await);
    }
    assert_eq!(threads.len(), 3);
    // A restart frees its place and takes the least loaded one again.
    tree.crash("w0", "moved").await.unwrap();
    tree.wait_for_status("w0", Status::Ok, BOUND).await.unwrap();
    assert_eq!(tree.runtime().pool_loads().iter().sum::<usize>(), 6);
    tree.shutdown().await;
}

#[actix_rt::test]
async fn a_subtree_inherits_its_supervisors_placement_unless_a_child_says_otherwise() {
    let tree = Supervisor::builder("app").child(
        Supervisor::builder("edge")
            .placement(Placement::Named("edge".into()))
            .child(worker("inherits", Placement::Inherit))
            .child(worker("overrides", Placement::Runtime)),
    );
    let tree = TestTree::start_tree(tree).await.unwrap();
    let edge = thread_of(&tree, "inherits").await;
    assert_ne!(edge, std::thread::current().id());
    assert_eq!(
        thread_of(&tree, "overrides").await,
        std::thread::current().id()
    );
    tree.shutdown().await;
}

#[actix_rt::test]
async fn a_panic_in_a_handler_on_any_placement_is_a_failure_restarted_in_place() {
    for placement in placements() {
        let tree = TestTree::start(worker("w", placement.clone()))
            .await
            .unwrap();
        let before = thread_of(&tree, "w").await;
        let w = tree.runtime().service::<Worker>("w").unwrap();
        let mut watch = tree.watch("w");
        let err = w.call(Panic).await.unwrap_err();
        assert!(
            matches!(err, CallError::Interrupted { .. }),
            "{placement:?}: {err:?}"
        );
        watch.wait_for(Status::Error, BOUND).await.unwrap();
        watch.wait_for(Status::Ok, BOUND).await.unwrap();
        let report = tree.runtime().registry().get("w").unwrap();
        assert_eq!(report.restarts, 1, "{placement:?}");
        assert_eq!(
            report.last_failure.as_deref(),
            Some("panicked: told to panic")
        );
        let after = thread_of(&tree, "w").await;
        match placement {
            Placement::Dedicated => assert_ne!(before, after, "a new thread per incarnation"),
            Placement::Pool => {}
            _ => assert_eq!(before, after, "{placement:?}: the same place"),
        }
        tree.shutdown().await;
    }
}

struct PanicsOnStart(Journal);

impl Actor for PanicsOnStart {
    type Context = Context<Self>;
}

impl Service for PanicsOnStart {
    fn on_start(&mut self, cx: &ServiceContext, _: &mut Context<Self>) -> Result<(), BoxError> {
        self.0.record(format!("start:{}", cx.incarnation()));
        if cx.incarnation() == 1 {
            panic!("first start panics");
        }
        Ok(())
    }
}

struct FailingTick(Journal);

impl Ticker for FailingTick {
    type Error = String;
    async fn tick(&mut self, cx: &ServiceContext) -> Result<(), String> {
        self.0.record(format!("tick:{}", cx.incarnation()));
        if cx.incarnation() == 1 {
            panic!("tick panics");
        }
        Ok(())
    }
}

#[actix_rt::test]
async fn panics_in_hooks_and_ticks_on_other_threads_are_failures_like_any_other() {
    for placement in [
        Placement::Pool,
        Placement::Dedicated,
        Placement::Named("x".into()),
    ] {
        let journal = Journal::new();
        let j = journal.clone();
        let tree = Supervisor::builder("app")
            .intensity(10, Duration::from_secs(1))
            .child(
                ChildSpec::service("hook", move || PanicsOnStart(j.clone()))
                    .placement(placement.clone()),
            );
        // The first start panics: that is a failed start of the tree.
        let err = TestTree::start_tree(tree).await.unwrap_err();
        assert!(
            err.to_string().contains("first start panics"),
            "{placement:?}: {err}"
        );

        let j = journal.clone();
        let tree = Supervisor::builder("app")
            .intensity(10, Duration::from_secs(1))
            .child(
                ChildSpec::ticker(
                    "ticker",
                    TickerConfig::every(Duration::from_millis(10)),
                    move || FailingTick(j.clone()),
                )
                .unwrap()
                .placement(placement.clone()),
            );
        let tree = TestTree::start_tree(tree).await.unwrap();
        journal.wait_for("tick:2", BOUND).await.unwrap();
        let report = tree.runtime().registry().get("ticker").unwrap();
        assert_eq!(
            report.last_failure.as_deref(),
            Some("panicked: tick panics")
        );
        tree.shutdown().await;
    }
}

#[actix_rt::test]
async fn a_service_that_blocks_its_thread_freezes_no_sibling_and_turns_stale() {
    let tree = Supervisor::builder("app")
        .child(worker("blocker", Placement::Dedicated))
        // Beats rarely enough that a loaded machine cannot make it look stale.
        .child(
            ChildSpec::service("sibling", || Worker {
                beat: Duration::from_secs(1),
            })
            .placement(Placement::Runtime),
        );
    let config = RuntimeConfig {
        registry: RegistryConfig {
            sweep_interval: Duration::from_millis(20),
            ..RegistryConfig::default()
        },
        ..TestTree::config()
    };
    let tree = TestTree::start_spec(tree.build().unwrap(), config)
        .await
        .unwrap();
    let blocker = tree.runtime().service::<Worker>("blocker").unwrap();
    blocker.tell(Block(Duration::from_secs(2))).unwrap();
    let started = std::time::Instant::now();
    tokio::time::sleep(Duration::from_millis(10)).await;
    assert!(
        started.elapsed() < Duration::from_millis(500),
        "the runtime's thread was frozen"
    );
    let sibling = tree.runtime().service::<Worker>("sibling").unwrap();
    sibling.call(WhereAreYou).await.unwrap();
    tree.wait_for_status("blocker", Status::Stale, BOUND)
        .await
        .unwrap();
    assert_eq!(
        tree.status("sibling"),
        Some(Status::Ok),
        "the others keep reporting"
    );
    tree.wait_for_status("blocker", Status::Ok, BOUND)
        .await
        .unwrap();
    tree.shutdown().await;
}

#[actix_rt::test]
async fn shutdown_order_and_timeouts_hold_across_threads() {
    let journal = Journal::new();
    let tree = Supervisor::builder("app")
        .child(probe("first", &journal).placement(Placement::Pool))
        .child(probe("second", &journal).placement(Placement::Dedicated))
        .child(
            support::probes::probe_with(
                "stuck",
                &journal,
                &support::probes::slow_stop(Duration::from_secs(60)),
            )
            .placement(Placement::Named("slow".into()))
            .shutdown_timeout(Duration::from_millis(200)),
        );
    let tree = TestTree::start_tree(tree).await.unwrap();
    reached(&journal, "stuck:start:1").await;
    let report = tree.shutdown().await;
    assert_eq!(report.killed, ["stuck"]);
    assert_eq!(
        lifecycle(&journal),
        [
            "first:start:1",
            "second:start:1",
            "stuck:start:1",
            "second:stop:1",
            "first:stop:1"
        ]
    );
}

/// A task service of 4 workers on a pool of 2 arbiters.
async fn tasks_on_the_pool() -> (TestTree, Tasks) {
    let (spec, tasks) = Tasks::service(
        "jobs",
        TasksConfig {
            workers: 4,
            ..TasksConfig::default()
        },
    )
    .unwrap();
    let config = RuntimeConfig {
        pool_size: Some(2),
        ..TestTree::config()
    };
    let tree = TestTree::start_spec(
        Supervisor::builder("app").child(spec).build().unwrap(),
        config,
    )
    .await
    .unwrap();
    (tree, tasks)
}

#[actix_rt::test]
async fn task_workers_on_the_pool_use_several_threads_and_tasks_need_not_be_send() {
    let (tree, tasks) = tasks_on_the_pool().await;
    let mut ids = Vec::new();
    for _ in 0..32 {
        let id = tasks
            .submit("where", |_| async {
                // Not `Send`: an attempt stays on its worker's thread.
                let here = std::rc::Rc::new(format!("{:?}", std::thread::current().id()));
                tokio::time::sleep(Duration::from_millis(5)).await;
                Ok::<_, String>(here.to_string())
            })
            .await
            .unwrap();
        ids.push(id);
    }
    let mut threads = HashSet::new();
    for id in ids {
        let done = tasks.wait(id, BOUND).await.unwrap();
        threads.insert(done.result.unwrap().as_str().unwrap().to_string());
    }
    assert_eq!(threads.len(), 2, "{threads:?}");
    assert!(!threads.contains(&format!("{:?}", std::thread::current().id())));
    tree.shutdown().await;
}

#[actix_rt::test]
async fn work_spawned_from_outside_the_tree_runs_on_the_pool_and_a_panic_comes_back_as_a_value() {
    let config = RuntimeConfig {
        pool_size: Some(2),
        ..TestTree::config()
    };
    let tree = TestTree::start_spec(Supervisor::builder("app").build().unwrap(), config)
        .await
        .unwrap();
    let app = tree.runtime();
    let here = std::thread::current().id();
    let mut threads = HashSet::new();
    for _ in 0..4 {
        let placed = app
            .spawn_placed(&Placement::Pool, || async {
                // Not `Send`: made and polled on the pool's thread.
                let local = std::rc::Rc::new(std::thread::current().id());
                tokio::task::yield_now().await;
                *local
            })
            .unwrap();
        threads.insert(tokio::time::timeout(BOUND, placed).await.unwrap().unwrap());
    }
    assert!(!threads.contains(&here), "{threads:?}");
    assert!(!threads.is_empty() && threads.len() <= 2, "{threads:?}");

    let failed = app
        .spawn_placed(&Placement::Dedicated, || async { panic!("batch exploded") })
        .unwrap();
    let panic: Result<(), _> = tokio::time::timeout(BOUND, failed).await.unwrap();
    assert!(panic.unwrap_err().message().contains("batch exploded"));
    // The runtime carries on.
    assert_eq!(app.health().status, Status::Ok);
    tree.shutdown().await;
}

/// What one task of the storm below does, by its number.
fn storm_task(
    i: usize,
    ran: std::sync::Arc<Vec<std::sync::atomic::AtomicBool>>,
) -> impl Fn(
    servitor::tasks::TaskContext,
) -> futures_util::future::LocalBoxFuture<'static, Result<usize, String>>
       + Send
       + Sync
       + 'static {
    use futures_util::FutureExt;
    move |cx| {
        ran[i].store(true, std::sync::atomic::Ordering::SeqCst);
        let attempt = cx.attempt();
        async move {
            match i % 6 {
                0 => Ok(i),
                1 => Err(format!("task {i} fails")),
                2 => panic!("task {i} panics"),
                3 => {
                    tokio::task::yield_now().await;
                    Ok(i)
                }
                4 => {
                    tokio::time::sleep(Duration::from_millis(1)).await;
                    Ok(i)
                }
                // Retried once, then done.
                _ if attempt < 2 => Err(format!("task {i}, attempt {attempt}")),
                _ => Ok(i),
            }
        }
        .boxed_local()
    }
}

#[actix_rt::test]
async fn a_storm_of_tasks_on_the_pool_ends_with_every_task_final_and_the_counts_adding_up() {
    use servitor::tasks::{RetryPolicy, TaskOptions, TaskStatus};
    use std::sync::atomic::{AtomicBool, Ordering};
    use std::sync::Arc;
    const N: usize = 3_000;
    let (tree, tasks) = tasks_on_the_pool().await;
    let ran: Arc<Vec<AtomicBool>> = Arc::new((0..N).map(|_| AtomicBool::new(false)).collect());
    // Two submitters, one on the pool beside the workers, each cancelling
    // every third of its tasks right after submitting it: pending, claimed
    // or already running, whichever it is by then.
    let submit = |half: usize, tasks: Tasks, ran: Arc<Vec<AtomicBool>>| async move {
        let mut ids = Vec::new();
        for i in (half..N).step_by(2) {
            let options =
                TaskOptions::default().retry(RetryPolicy::exponential(2, Duration::from_millis(1)));
            let id = tasks
                .submit_with("storm", options, storm_task(i, ran.clone()))
                .await
                .unwrap();
            if i % 3 == 0 {
                tasks.cancel(id).unwrap();
            }
            ids.push((i, id));
        }
        ids
    };
    let on_pool = tree
        .runtime()
        .spawn_placed(&Placement::Pool, {
            let (tasks, ran) = (tasks.clone(), ran.clone());
            move || submit(1, tasks, ran)
        })
        .unwrap();
    let mut ids = submit(0, tasks.clone(), ran.clone()).await;
    ids.extend(on_pool.await.unwrap());
    assert_eq!(ids.len(), N);
    for (i, id) in ids {
        let done = tasks.wait(id, BOUND).await.unwrap();
        let ran = ran[i].load(Ordering::SeqCst);
        match done.status {
            TaskStatus::Cancelled if done.attempts == 0 => {
                assert!(!ran, "task {i} was cancelled before it started, yet ran")
            }
            TaskStatus::Cancelled => assert!(ran, "task {i}"),
            TaskStatus::Completed => {
                assert!(ran, "task {i}");
                assert_eq!(done.result, Some(serde_json::json!(i)));
                assert_eq!(done.attempts, if i % 6 == 5 { 2 } else { 1 }, "task {i}");
            }
            TaskStatus::Failed => assert!(ran && matches!(i % 6, 2), "task {i}: {done:?}"),
            TaskStatus::Dead => assert!(ran && i % 6 == 1, "task {i}: {done:?}"),
            other => panic!("task {i} ended {other:?}"),
        }
        if i % 3 != 0 {
            assert_ne!(done.status, TaskStatus::Cancelled, "task {i}");
        }
    }
    let stats = tasks.stats();
    assert_eq!(stats.submitted, N as u64);
    assert_eq!(
        stats.completed + stats.failed + stats.cancelled + stats.timed_out + stats.dead,
        N as u64,
        "{stats:?}"
    );
    assert_eq!(stats.queue_depth, 0);
    assert_eq!(stats.busy_workers, 0);
    tree.shutdown().await;
}
