//! Writing services: synchronous hooks, the current context in handlers,
//! async replies, and typed handles made with the spec.

use crate::support::probes::BOUND;
use servitor::prelude::*;
use servitor::service::{reply_async, reply_async_then};
use servitor::testing::{Journal, TestTree};
use servitor::{LookupError, Status};
use std::time::Duration;

struct Hooks {
    journal: Journal,
    refuse: bool,
}

impl Actor for Hooks {
    type Context = Context<Self>;
}

impl Service for Hooks {
    fn on_start(&mut self, cx: &ServiceContext, _: &mut Context<Self>) -> Result<(), BoxError> {
        self.journal.record(format!("start:{}", cx.incarnation()));
        if self.refuse {
            return Err("no config".into());
        }
        Ok(())
    }

    fn on_stop(&mut self, cx: &ServiceContext, _: &mut Context<Self>) {
        self.journal.record(format!("stop:{}", cx.incarnation()));
    }
}

#[actix_rt::test]
async fn synchronous_hooks_need_no_futures() {
    let journal = Journal::new();
    let j = journal.clone();
    let tree = TestTree::start(ChildSpec::service("hooks", move || Hooks {
        journal: j.clone(),
        refuse: false,
    }))
    .await
    .unwrap();
    tree.shutdown().await;
    assert_eq!(journal.entries(), ["start:1", "stop:1"]);

    let j = journal.clone();
    let err = TestTree::start(ChildSpec::service("hooks", move || Hooks {
        journal: j.clone(),
        refuse: true,
    }))
    .await
    .unwrap_err();
    assert!(err.to_string().contains("no config"), "{err}");
}

#[derive(Default)]
struct WhoAmI;

impl Actor for WhoAmI {
    type Context = Context<Self>;
}

impl Service for WhoAmI {}

#[derive(Message)]
#[rtype(result = "Option<(String, u64)>")]
struct Ask;

impl Handler<Ask> for WhoAmI {
    type Result = Option<(String, u64)>;
    fn handle(&mut self, _: Ask, _: &mut Context<Self>) -> Self::Result {
        ServiceContext::current().map(|cx| (cx.name().to_string(), cx.incarnation()))
    }
}

#[actix_rt::test]
async fn a_handler_finds_its_service_context_without_keeping_one() {
    let tree = TestTree::start(ChildSpec::service("me", WhoAmI::default))
        .await
        .unwrap();
    let me = tree.runtime().service::<WhoAmI>("me").unwrap();
    assert_eq!(me.call(Ask).await.unwrap(), Some(("me".to_string(), 1)));
    tree.crash("me", "again").await.unwrap();
    tree.wait_for_status("me", Status::Ok, BOUND).await.unwrap();
    assert_eq!(me.call(Ask).await.unwrap(), Some(("me".to_string(), 2)));
    assert!(
        ServiceContext::current().is_none(),
        "not inside a service here"
    );
    tree.shutdown().await;
}

#[derive(Default)]
struct Backend {
    served: u64,
}

impl Actor for Backend {
    type Context = Context<Self>;
}

impl Service for Backend {}

#[derive(Message)]
#[rtype(result = "u64")]
struct Double(u64);

impl Handler<Double> for Backend {
    type Result = u64;
    fn handle(&mut self, msg: Double, _: &mut Context<Self>) -> u64 {
        self.served += 1;
        msg.0 * 2
    }
}

struct Gateway {
    backend: ServiceRef<Backend>,
    forwarded: u64,
}

impl Actor for Gateway {
    type Context = Context<Self>;
}

impl Service for Gateway {}

#[derive(Message)]
#[rtype(result = "Result<u64, CallError>")]
struct Quadruple(u64);

impl Handler<Quadruple> for Gateway {
    type Result = ResponseFuture<Result<u64, CallError>>;
    fn handle(&mut self, msg: Quadruple, _: &mut Context<Self>) -> Self::Result {
        let backend = self.backend.clone();
        reply_async(async move {
            let twice = backend.call(Double(msg.0)).await?;
            backend.call(Double(twice)).await
        })
    }
}

#[derive(Message)]
#[rtype(result = "(u64, u64)")]
struct DoubleAndCount(u64);

impl Handler<DoubleAndCount> for Gateway {
    type Result = ResponseActFuture<Self, (u64, u64)>;
    fn handle(&mut self, msg: DoubleAndCount, _: &mut Context<Self>) -> Self::Result {
        let backend = self.backend.clone();
        reply_async_then(
            async move { backend.call(Double(msg.0)).await.unwrap_or(0) },
            |doubled, act: &mut Self, _| {
                act.forwarded += 1;
                (doubled, act.forwarded)
            },
        )
    }
}

#[actix_rt::test]
async fn services_are_wired_with_typed_handles_made_with_their_specs() {
    let (backend_spec, backend) = ChildSpec::service_with_handle("backend", Backend::default);
    // The gateway is listed first: its handle waits until the backend is up.
    let for_gateway = backend.clone();
    let tree = Supervisor::builder("app")
        .child(ChildSpec::service("gateway", move || Gateway {
            backend: for_gateway.clone(),
            forwarded: 0,
        }))
        .child(backend_spec);
    let tree = TestTree::start_tree(tree).await.unwrap();
    let gateway = tree.runtime().service::<Gateway>("gateway").unwrap();
    assert_eq!(gateway.call(Quadruple(3)).await.unwrap(), Ok(12));
    assert_eq!(gateway.call(DoubleAndCount(5)).await.unwrap(), (10, 1));
    assert_eq!(gateway.call(DoubleAndCount(6)).await.unwrap(), (12, 2));

    // The handle made with the spec is the runtime's handle for that name.
    tree.crash("backend", "once").await.unwrap();
    assert_eq!(backend.call(Double(21)).await.unwrap(), 42);
    assert!(matches!(
        tree.runtime().service::<Gateway>("backend"),
        Err(LookupError::WrongType { .. })
    ));
    tree.shutdown().await;
    assert!(backend.is_stopped());
}

#[actix_rt::test]
async fn a_handle_made_with_its_spec_follows_the_spec_when_it_is_added_again() {
    let (spec, handle) = ChildSpec::service_with_handle("backend", Backend::default);
    let tree = TestTree::start_tree(Supervisor::builder("app"))
        .await
        .unwrap();
    let root = tree.runtime().root();
    root.add_child(spec.clone()).await.unwrap();
    assert_eq!(handle.call(Double(1)).await.unwrap(), 2);
    root.remove_child("backend").await.unwrap();
    assert!(handle.is_stopped());
    root.add_child(spec).await.unwrap();
    assert_eq!(
        handle
            .clone()
            .with_wait(Duration::from_secs(5))
            .call(Double(2))
            .await
            .unwrap(),
        4
    );
    tree.shutdown().await;
}
