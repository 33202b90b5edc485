//! Panic isolation: a panic anywhere in service code ends only that
//! instance, as a failure whose reason is the panic message.

use crate::support::probes::{probe, Probe, WhoAreYou};
use actix::prelude::*;
use servitor::runtime::RuntimeError;
use servitor::testing::{Journal, TestTree};
use servitor::{
    BoxError, CallError, ChildSpec, ExitReason, Routine, Service, ServiceContext, ServiceRef,
    Status, Strategy, Supervisor, Ticker, TickerConfig,
};
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::Arc;
use std::time::Duration;

const SECOND: Duration = Duration::from_secs(1);

/// Where a [`Bomb`] panics.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Site {
    Factory,
    Start,
    Stop,
    HealthCheck,
}

/// A service that panics at `site` while `fuse` is above zero (each panic
/// burns one), and otherwise answers [`Ping`] with its incarnation.
struct Bomb {
    site: Site,
    fuse: Arc<AtomicU32>,
    incarnation: u64,
}

fn burn(fuse: &AtomicU32) -> bool {
    fuse.fetch_update(Ordering::SeqCst, Ordering::SeqCst, |n| n.checked_sub(1))
        .is_ok()
}

impl Bomb {
    fn explode_at(&self, site: Site) {
        if self.site == site && burn(&self.fuse) {
            panic!("bomb went off in {site:?}");
        }
    }
}

impl Actor for Bomb {
    type Context = Context<Self>;
}

impl Service for Bomb {
    fn start(
        &mut self,
        cx: &ServiceContext,
        _: &mut Context<Self>,
    ) -> ResponseActFuture<Self, Result<(), BoxError>> {
        self.incarnation = cx.incarnation();
        self.explode_at(Site::Start);
        Box::pin(actix::fut::ready(Ok(())))
    }

    fn stop(&mut self, _: &ServiceContext, _: &mut Context<Self>) -> ResponseActFuture<Self, ()> {
        self.explode_at(Site::Stop);
        Box::pin(actix::fut::ready(()))
    }

    fn health_check(&mut self, _: &ServiceContext, _: &mut Context<Self>) -> Option<Status> {
        self.explode_at(Site::HealthCheck);
        None
    }

    fn health_interval(&self) -> Duration {
        Duration::from_millis(100)
    }
}

#[derive(Message)]
#[rtype(result = "u64")]
struct Ping;

impl Handler<Ping> for Bomb {
    type Result = u64;
    fn handle(&mut self, _: Ping, _: &mut Context<Self>) -> u64 {
        self.incarnation
    }
}

/// A call that is answered only after a minute.
#[derive(Message)]
#[rtype(result = "()")]
struct Slow;

impl Handler<Slow> for Bomb {
    type Result = ResponseActFuture<Self, ()>;
    fn handle(&mut self, _: Slow, _: &mut Context<Self>) -> Self::Result {
        Box::pin(tokio::time::sleep(60 * SECOND).into_actor(self))
    }
}

fn bomb(site: Site, fuse: &Arc<AtomicU32>) -> ChildSpec {
    let fuse = fuse.clone();
    ChildSpec::service("bomb", move || {
        if site == Site::Factory && burn(&fuse) {
            panic!("bomb went off in {site:?}");
        }
        Bomb {
            site,
            fuse: fuse.clone(),
            incarnation: 0,
        }
    })
}

/// A tree of `sibling` (a probe) and `child`, under a forgiving supervisor.
async fn with_sibling(child: ChildSpec, strategy: Strategy) -> (TestTree, ServiceRef<Probe>) {
    let tree = TestTree::start_tree(
        Supervisor::builder("test")
            .strategy(strategy)
            .intensity(1_000, SECOND)
            .child(probe("sibling", &Journal::new()))
            .child(child),
    )
    .await
    .unwrap();
    let sibling = tree.runtime().service::<Probe>("sibling").unwrap();
    (tree, sibling)
}

/// The registry's last failure of `name`, once it has one.
fn last_failure(tree: &TestTree, name: &str) -> String {
    tree.runtime()
        .registry()
        .get(name)
        .and_then(|r| r.last_failure)
        .unwrap_or_else(|| panic!("`{name}` has no last failure"))
}

/// The sibling still answers from its first incarnation.
async fn assert_sibling_untouched(sibling: &ServiceRef<Probe>) {
    assert_eq!(
        sibling.call(WhoAreYou).await.unwrap(),
        ("sibling".to_string(), 1)
    );
}

/// A plain actix actor, outside any tree, on the same arbiter.
struct Bystander;

impl Actor for Bystander {
    type Context = Context<Self>;
}

impl Handler<Ping> for Bystander {
    type Result = u64;
    fn handle(&mut self, _: Ping, _: &mut Context<Self>) -> u64 {
        7
    }
}

#[actix_rt::test]
async fn a_panic_in_a_handler_is_a_failure_with_the_panic_message_and_the_call_is_interrupted() {
    tokio::time::pause();
    let bystander = Bystander.start();
    let journal = Journal::new();
    let (tree, sibling) = with_sibling(probe("p", &journal), Strategy::OneForOne).await;
    let p = tree.runtime().service::<Probe>("p").unwrap();
    let mut watch = tree.watch("p");
    let err = p
        .call(crate::support::probes::Crash::Panic)
        .await
        .unwrap_err();
    assert_eq!(
        err,
        CallError::Interrupted {
            service: "p".into()
        }
    );
    watch.wait_for(Status::Error, SECOND).await.unwrap();
    assert!(last_failure(&tree, "p").contains("p was told to panic"));
    assert_eq!(p.call(WhoAreYou).await.unwrap().1, 2);
    assert_sibling_untouched(&sibling).await;
    assert_eq!(bystander.send(Ping).await.unwrap(), 7, "the arbiter died");
    tree.shutdown().await;
}

#[actix_rt::test]
async fn a_panic_in_the_start_hook_fails_the_start_with_the_panic_message() {
    tokio::time::pause();
    let fuse = Arc::new(AtomicU32::new(1));
    let err = TestTree::start(bomb(Site::Start, &fuse))
        .await
        .err()
        .unwrap();
    let RuntimeError::Start(failure) = err else {
        panic!("{err:?}");
    };
    assert_eq!(failure.child, "bomb");
    assert!(
        failure.reason.contains("bomb went off in Start"),
        "{failure}"
    );
    assert!(
        Bystander.start().send(Ping).await.is_ok(),
        "the arbiter died"
    );
}

#[actix_rt::test]
async fn a_panic_in_the_start_hook_of_a_restart_is_a_failure_and_the_service_recovers() {
    tokio::time::pause();
    let fuse = Arc::new(AtomicU32::new(0));
    let (tree, sibling) = with_sibling(bomb(Site::Start, &fuse), Strategy::OneForOne).await;
    let handle = tree.runtime().service::<Bomb>("bomb").unwrap();
    fuse.store(1, Ordering::SeqCst);
    tree.crash("bomb", "injected").await.unwrap();
    assert_eq!(
        handle.call(Ping).await.unwrap(),
        3,
        "the third start succeeds"
    );
    assert!(last_failure(&tree, "bomb").contains("bomb went off in Start"));
    assert_eq!(tree.restarts("bomb"), 2);
    assert_sibling_untouched(&sibling).await;
    tree.shutdown().await;
}

#[actix_rt::test]
async fn a_panic_in_the_factory_fails_the_start_with_the_panic_message() {
    tokio::time::pause();
    let fuse = Arc::new(AtomicU32::new(1));
    let err = TestTree::start(bomb(Site::Factory, &fuse))
        .await
        .err()
        .unwrap();
    let RuntimeError::Start(failure) = err else {
        panic!("{err:?}");
    };
    assert_eq!(failure.child, "bomb");
    assert!(
        failure.reason.contains("bomb went off in Factory"),
        "{failure}"
    );
}

#[actix_rt::test]
async fn a_panic_in_the_factory_on_restart_is_a_failure_and_the_service_recovers() {
    tokio::time::pause();
    let fuse = Arc::new(AtomicU32::new(0));
    let (tree, sibling) = with_sibling(bomb(Site::Factory, &fuse), Strategy::OneForOne).await;
    let handle = tree.runtime().service::<Bomb>("bomb").unwrap();
    fuse.store(1, Ordering::SeqCst);
    tree.crash("bomb", "injected").await.unwrap();
    assert_eq!(handle.call(Ping).await.unwrap(), 3);
    assert!(last_failure(&tree, "bomb").contains("bomb went off in Factory"));
    assert_eq!(tree.restarts("bomb"), 2);
    assert_sibling_untouched(&sibling).await;
    tree.shutdown().await;
}

#[actix_rt::test]
async fn a_panic_in_a_health_check_is_a_failure_and_interrupts_a_call_in_flight() {
    tokio::time::pause();
    let fuse = Arc::new(AtomicU32::new(0));
    let (tree, sibling) = with_sibling(bomb(Site::HealthCheck, &fuse), Strategy::OneForOne).await;
    let handle = tree.runtime().service::<Bomb>("bomb").unwrap();
    fuse.store(1, Ordering::SeqCst);
    let outcome = tokio::time::timeout(10 * SECOND, handle.call(Slow))
        .await
        .expect("the call hung");
    assert!(
        matches!(outcome, Err(CallError::Interrupted { .. })),
        "{outcome:?}"
    );
    assert_eq!(handle.call(Ping).await.unwrap(), 2);
    assert!(last_failure(&tree, "bomb").contains("bomb went off in HealthCheck"));
    assert_sibling_untouched(&sibling).await;
    tree.shutdown().await;
}

#[actix_rt::test]
async fn a_panic_in_the_stop_hook_is_a_failure_and_the_siblings_and_tree_carry_on() {
    tokio::time::pause();
    let fuse = Arc::new(AtomicU32::new(1));
    let (tree, sibling) = with_sibling(bomb(Site::Stop, &fuse), Strategy::OneForAll).await;
    let handle = tree.runtime().service::<Bomb>("bomb").unwrap();
    // The sibling's crash makes one-for-all stop the bomb: its stop hook panics.
    tree.crash("sibling", "injected").await.unwrap();
    assert_eq!(handle.call(Ping).await.unwrap(), 2);
    assert_eq!(sibling.call(WhoAreYou).await.unwrap().1, 2);
    let children = tree.runtime().root().which_children().await.unwrap();
    let bomb = children.iter().find(|c| c.id == "bomb").unwrap();
    assert!(
        matches!(&bomb.last_exit, Some(ExitReason::Panicked(m)) if m.contains("bomb went off in Stop")),
        "{bomb:?}"
    );
    let report = tree.shutdown().await;
    assert!(report.killed.is_empty());
}

#[actix_rt::test]
async fn a_panic_in_the_stop_hook_is_recorded_as_the_last_failure() {
    tokio::time::pause();
    let fuse = Arc::new(AtomicU32::new(1));
    let (tree, _sibling) = with_sibling(bomb(Site::Stop, &fuse), Strategy::OneForAll).await;
    let handle = tree.runtime().service::<Bomb>("bomb").unwrap();
    tree.crash("sibling", "injected").await.unwrap();
    assert_eq!(handle.call(Ping).await.unwrap(), 2);
    assert!(last_failure(&tree, "bomb").contains("bomb went off in Stop"));
    let children = tree.runtime().root().which_children().await.unwrap();
    let bomb = children.iter().find(|c| c.id == "bomb").unwrap();
    assert!(
        bomb.last_failure
            .as_deref()
            .is_some_and(|f| f.contains("bomb went off in Stop")),
        "{bomb:?}"
    );
    tree.shutdown().await;
}

#[actix_rt::test]
async fn a_panic_in_the_stop_hook_at_shutdown_does_not_hang_the_shutdown() {
    tokio::time::pause();
    let fuse = Arc::new(AtomicU32::new(1));
    let (tree, _sibling) = with_sibling(bomb(Site::Stop, &fuse), Strategy::OneForOne).await;
    let report = tokio::time::timeout(SECOND, tree.shutdown())
        .await
        .expect("shutdown hung");
    assert!(report.killed.is_empty(), "{report:?}");
    assert!(
        Bystander.start().send(Ping).await.is_ok(),
        "the arbiter died"
    );
}

/// A loop that panics on its first run.
struct Fragile {
    fuse: Arc<AtomicU32>,
}

impl Routine for Fragile {
    async fn run(&mut self, cx: &ServiceContext) -> Result<(), BoxError> {
        tokio::time::sleep(Duration::from_millis(10)).await;
        if burn(&self.fuse) {
            panic!("loop exploded");
        }
        cx.cancelled().await;
        Ok(())
    }
}

#[actix_rt::test]
async fn a_panic_in_a_loop_is_a_failure_with_the_panic_message() {
    tokio::time::pause();
    let fuse = Arc::new(AtomicU32::new(1));
    let f = fuse.clone();
    let spec = ChildSpec::routine("loop", move || Fragile { fuse: f.clone() });
    let (tree, sibling) = with_sibling(spec, Strategy::OneForOne).await;
    let mut watch = tree.watch("loop");
    watch.wait_for(Status::Error, SECOND).await.unwrap();
    watch.wait_for(Status::Ok, SECOND).await.unwrap();
    assert!(last_failure(&tree, "loop").contains("loop exploded"));
    assert_eq!(tree.restarts("loop"), 1);
    assert_sibling_untouched(&sibling).await;
    tree.shutdown().await;
}

/// A periodic service whose second tick panics.
struct Ticking {
    ticks: Arc<AtomicU32>,
}

impl Ticker for Ticking {
    type Error = String;
    async fn tick(&mut self, _: &ServiceContext) -> Result<(), String> {
        if self.ticks.fetch_add(1, Ordering::SeqCst) == 1 {
            panic!("tick exploded");
        }
        Ok(())
    }
}

#[actix_rt::test]
async fn a_panic_in_a_periodic_tick_is_a_failure_with_the_panic_message() {
    tokio::time::pause();
    let ticks = Arc::new(AtomicU32::new(0));
    let t = ticks.clone();
    let spec = ChildSpec::ticker(
        "ticker",
        TickerConfig::every(Duration::from_millis(100)),
        move || Ticking { ticks: t.clone() },
    )
    .unwrap();
    let (tree, sibling) = with_sibling(spec, Strategy::OneForOne).await;
    let mut watch = tree.watch("ticker");
    watch.wait_for(Status::Error, SECOND).await.unwrap();
    watch.wait_for(Status::Ok, SECOND).await.unwrap();
    let failure = last_failure(&tree, "ticker");
    assert!(failure.contains("tick exploded"), "{failure}");
    assert_eq!(tree.restarts("ticker"), 1);
    assert_sibling_untouched(&sibling).await;
    tree.shutdown().await;
}
