//! Everything a service logs carries its name (and incarnation).

use crate::support::log_capture;

use actix::prelude::*;
use log_capture::LogCapture;
use servitor::testing::TestTree;
use servitor::{ChildSpec, Service};

#[derive(Default)]
struct Chatty;
impl Actor for Chatty {
    type Context = Context<Self>;
}
impl Service for Chatty {}

#[derive(Message)]
#[rtype(result = "()")]
struct Say(&'static str);

impl Handler<Say> for Chatty {
    type Result = ();
    fn handle(&mut self, msg: Say, _: &mut Context<Self>) {
        tracing::info!(said = msg.0, "handler ran");
    }
}

#[actix_rt::test]
async fn a_handlers_log_lines_carry_the_service_name_and_incarnation() {
    let logs = LogCapture::start();

    let tree = TestTree::start(ChildSpec::service("chatty", Chatty::default))
        .await
        .unwrap();
    let chatty = tree.runtime().service::<Chatty>("chatty").unwrap();
    chatty.call(Say("first")).await.unwrap();
    tree.crash("chatty", "injected").await.unwrap();
    chatty.call(Say("second")).await.unwrap();
    tree.shutdown().await;

    let first = logs.line(&["handler ran", "first"]);
    assert!(first.contains("name=chatty"), "{first}");
    assert!(first.contains("incarnation=1"), "{first}");
    let second = logs.line(&["handler ran", "second"]);
    assert!(second.contains("name=chatty"), "{second}");
    assert!(second.contains("incarnation=2"), "{second}");
}
