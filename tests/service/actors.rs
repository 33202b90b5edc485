//! Message-handling actors: health checks, statuses, details and errors set
//! from handlers.

use actix::prelude::*;
use parking_lot::Mutex;
use servitor::testing::TestTree;
use servitor::{BoxError, ChildSpec, Service, ServiceContext, Status};
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::Arc;
use std::time::Duration;
use tokio::time::Instant;

const SECOND: Duration = Duration::from_secs(1);
const INTERVAL: Duration = Duration::from_millis(200);

/// What the test steers and sees of a [`Gauge`].
#[derive(Default)]
struct Panel {
    /// What the next health checks return.
    verdict: Mutex<Option<Status>>,
    checks: AtomicU32,
    /// The context of every incarnation, in order.
    contexts: Mutex<Vec<ServiceContext>>,
}

struct Gauge {
    panel: Arc<Panel>,
    initial: Status,
    cx: Option<ServiceContext>,
}

impl Actor for Gauge {
    type Context = Context<Self>;
}

impl Service for Gauge {
    fn start(
        &mut self,
        cx: &ServiceContext,
        _: &mut Context<Self>,
    ) -> ResponseActFuture<Self, Result<(), BoxError>> {
        self.cx = Some(cx.clone());
        self.panel.contexts.lock().push(cx.clone());
        Box::pin(actix::fut::ready(Ok(())))
    }

    fn health_check(&mut self, _: &ServiceContext, _: &mut Context<Self>) -> Option<Status> {
        self.panel.checks.fetch_add(1, Ordering::SeqCst);
        *self.panel.verdict.lock()
    }

    fn health_interval(&self) -> Duration {
        INTERVAL
    }

    fn initial_status(&self) -> Status {
        self.initial
    }
}

/// Runs a closure on the gauge's context from inside a handler.
#[derive(Message)]
#[rtype(result = "()")]
struct Act(Box<dyn FnOnce(&ServiceContext) + Send>);

impl Handler<Act> for Gauge {
    type Result = ();
    fn handle(&mut self, Act(f): Act, _: &mut Context<Self>) {
        f(self.cx.as_ref().expect("started"));
    }
}

async fn gauge(initial: Status) -> (TestTree, Arc<Panel>, servitor::ServiceRef<Gauge>) {
    let panel = Arc::new(Panel::default());
    let p = panel.clone();
    let spec = ChildSpec::service("gauge", move || Gauge {
        panel: p.clone(),
        initial,
        cx: None,
    });
    let tree = TestTree::start(spec).await.unwrap();
    let handle = tree.runtime().service::<Gauge>("gauge").unwrap();
    (tree, panel, handle)
}

async fn act(
    handle: &servitor::ServiceRef<Gauge>,
    f: impl FnOnce(&ServiceContext) + Send + 'static,
) {
    handle.call(Act(Box::new(f))).await.unwrap();
}

#[actix_rt::test]
async fn the_initial_status_is_reported_once_the_start_hook_succeeded() {
    tokio::time::pause();
    let (tree, _, _) = gauge(Status::Idle).await;
    assert_eq!(tree.status("gauge"), Some(Status::Idle));
    tree.shutdown().await;
}

#[actix_rt::test]
async fn the_health_check_status_reaches_the_registry_every_health_interval() {
    tokio::time::pause();
    let (tree, panel, _) = gauge(Status::Ok).await;
    let mut watch = tree.watch("gauge");
    watch.wait_for(Status::Ok, SECOND).await.unwrap();

    *panel.verdict.lock() = Some(Status::Busy);
    let asked = Instant::now();
    watch.wait_for(Status::Busy, SECOND).await.unwrap();
    assert!(
        asked.elapsed() <= INTERVAL + Duration::from_millis(5),
        "took {:?}",
        asked.elapsed()
    );

    *panel.verdict.lock() = Some(Status::Degraded);
    let asked = Instant::now();
    watch.wait_for(Status::Degraded, SECOND).await.unwrap();
    assert!(
        asked.elapsed() <= INTERVAL + Duration::from_millis(5),
        "took {:?}",
        asked.elapsed()
    );

    let before = panel.checks.load(Ordering::SeqCst);
    tokio::time::sleep(2 * SECOND).await;
    let checks = panel.checks.load(Ordering::SeqCst) - before;
    assert!(
        (9..=11).contains(&checks),
        "{checks} checks in 2 s at 200 ms"
    );
    tree.shutdown().await;
}

#[actix_rt::test]
async fn set_status_with_reports_the_status_and_its_message() {
    tokio::time::pause();
    let (tree, _, gauge) = gauge(Status::Ok).await;
    let mut watch = tree.watch("gauge");
    act(&gauge, |cx| {
        cx.set_status_with(Status::Degraded, "queue above 1000")
    })
    .await;
    let change = watch.wait_for(Status::Degraded, SECOND).await.unwrap();
    assert_eq!(change.from, Some(Status::Ok));
    assert_eq!(change.message.as_deref(), Some("queue above 1000"));
    let report = tree.runtime().registry().get("gauge").unwrap();
    assert_eq!(report.message.as_deref(), Some("queue above 1000"));
    tree.shutdown().await;
}

#[actix_rt::test]
async fn clear_error_returns_a_fault_to_ok() {
    tokio::time::pause();
    let (tree, _, gauge) = gauge(Status::Ok).await;
    let mut watch = tree.watch("gauge");
    for fault in [Status::Warning, Status::Degraded, Status::Error] {
        act(&gauge, move |cx| cx.set_status_with(fault, "trouble")).await;
        watch.wait_for(fault, SECOND).await.unwrap();
        act(&gauge, |cx| cx.clear_error()).await;
        let cleared = watch.wait_for(Status::Ok, SECOND).await.unwrap();
        assert_eq!(cleared.from, Some(fault));
        assert_eq!(cleared.message, None, "the fault's message is cleared too");
    }
    tree.shutdown().await;
}

#[actix_rt::test]
async fn clear_error_leaves_a_healthy_status_untouched() {
    tokio::time::pause();
    let (tree, _, gauge) = gauge(Status::Ok).await;
    act(&gauge, |cx| cx.set_status_with(Status::Busy, "at capacity")).await;
    let mut watch = tree.watch("gauge");
    act(&gauge, |cx| cx.clear_error()).await;
    act(&gauge, |cx| cx.clear_error_to(Status::Idle)).await;
    let first = watch.next().await.unwrap();
    assert_eq!(first.status, Status::Busy);
    assert_eq!(
        watch.try_next(),
        None,
        "clearing a healthy status changed it"
    );
    let report = tree.runtime().registry().get("gauge").unwrap();
    assert_eq!(report.message.as_deref(), Some("at capacity"));
    tree.shutdown().await;
}

#[actix_rt::test]
async fn clear_error_to_picks_the_healthy_status_and_takes_a_fault_as_ok() {
    tokio::time::pause();
    let (tree, _, gauge) = gauge(Status::Ok).await;
    act(&gauge, |cx| cx.set_status(Status::Warning)).await;
    act(&gauge, |cx| cx.clear_error_to(Status::Idle)).await;
    assert_eq!(tree.status("gauge"), Some(Status::Idle));
    act(&gauge, |cx| cx.set_status(Status::Error)).await;
    act(&gauge, |cx| cx.clear_error_to(Status::Degraded)).await;
    assert_eq!(tree.status("gauge"), Some(Status::Ok));
    tree.shutdown().await;
}

#[actix_rt::test]
async fn set_detail_adds_one_value_and_set_details_replaces_them_all() {
    tokio::time::pause();
    let (tree, _, gauge) = gauge(Status::Ok).await;
    act(&gauge, |cx| {
        cx.set_detail("queue_depth", 42);
        cx.set_detail("hit_ratio", 0.5);
        cx.set_detail("queue_depth", 43);
    })
    .await;
    let details = tree.runtime().registry().get("gauge").unwrap().details;
    assert_eq!(details.len(), 2, "{details:?}");
    assert_eq!(details["queue_depth"], 43);
    assert_eq!(details["hit_ratio"], 0.5);

    act(&gauge, |cx| {
        let mut d = servitor::health::Details::new();
        d.insert("only".into(), "this".into());
        cx.set_details(d);
    })
    .await;
    let details = tree.runtime().registry().get("gauge").unwrap().details;
    assert_eq!(details.len(), 1, "{details:?}");
    assert_eq!(details["only"], "this");
    tree.shutdown().await;
}

#[actix_rt::test]
async fn a_restart_begins_with_fresh_details_and_ignores_the_old_incarnations_reports() {
    tokio::time::pause();
    let (tree, panel, gauge) = gauge(Status::Ok).await;
    act(&gauge, |cx| cx.set_detail("old", true)).await;
    tree.crash("gauge", "injected").await.unwrap();
    tree.wait_for_status("gauge", Status::Ok, SECOND)
        .await
        .unwrap();
    let old = panel.contexts.lock()[0].clone();
    assert_eq!(old.incarnation(), 1);
    old.set_status_with(Status::Error, "late report from the dead");
    old.set_detail("late", true);
    let report = tree.runtime().registry().get("gauge").unwrap();
    assert_eq!(report.status, Status::Ok);
    assert!(report.details.is_empty(), "{:?}", report.details);
    assert_eq!(panel.contexts.lock()[1].incarnation(), 2);
    tree.shutdown().await;
}
