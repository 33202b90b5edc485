use actix::prelude::*;
use servitor::testing::Journal;
use servitor::{BoxError, ChildSpec, Runtime, Service, ServiceContext, Supervisor};
use std::time::Duration;

struct Probe {
    journal: Journal,
}
impl Actor for Probe {
    type Context = Context<Self>;
}
impl Service for Probe {
    fn start(
        &mut self,
        cx: &ServiceContext,
        _: &mut Context<Self>,
    ) -> ResponseActFuture<Self, Result<(), BoxError>> {
        self.journal.record(format!("start:{}", cx.incarnation()));
        Box::pin(actix::fut::ready(Ok(())))
    }
    fn stop(&mut self, cx: &ServiceContext, _: &mut Context<Self>) -> ResponseActFuture<Self, ()> {
        self.journal.record(format!("stop:{}", cx.incarnation()));
        Box::pin(actix::fut::ready(()))
    }
}
#[derive(Message)]
#[rtype(result = "u32")]
struct Ping(bool);
impl Handler<Ping> for Probe {
    type Result = u32;
    fn handle(&mut self, msg: Ping, _: &mut Context<Self>) -> u32 {
        if msg.0 {
            panic!("boom");
        }
        7
    }
}

#[actix_rt::test]
async fn smoke() {
    let j = Journal::new();
    let j2 = j.clone();
    let tree = Supervisor::builder("app")
        .child(ChildSpec::service("probe", move || Probe {
            journal: j2.clone(),
        }))
        .build()
        .unwrap();
    let app = Runtime::start(tree).await.unwrap();
    let probe = app.service::<Probe>("probe").unwrap();
    assert_eq!(probe.call(Ping(false)).await.unwrap(), 7);
    let err = probe.call(Ping(true)).await.unwrap_err();
    println!("err: {err}");
    assert_eq!(probe.call(Ping(false)).await.unwrap(), 7);
    println!("{}", app.health().table());
    let report = app.shutdown().await.unwrap();
    println!("{report:?} {:?}", j.entries());
    assert!(probe.call(Ping(false)).await.is_err());
    let _ = Duration::ZERO;
}
