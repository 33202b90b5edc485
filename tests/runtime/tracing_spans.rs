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

#[actix_rt::test]
async fn runtime_events_name_the_service_even_when_info_spans_are_filtered_out() {
    use crate::support::probes::{crash, probe, reached, Crash};
    tokio::time::pause();
    let logs = LogCapture::start_at(tracing::Level::WARN);
    let journal = servitor::testing::Journal::new();
    let tree = servitor::Supervisor::builder("root")
        .intensity(1, std::time::Duration::from_secs(60))
        .child(probe("p", &journal));
    let tree = TestTree::start_tree(tree).await.unwrap();
    crash(tree.runtime(), "p", Crash::Panic);
    reached(&journal, "p:start:2").await;
    crash(tree.runtime(), "p", Crash::Panic);
    let _ = tokio::time::timeout(std::time::Duration::from_secs(30), tree.runtime().wait()).await;

    let panicked = logs.line(&["service panicked"]);
    assert!(
        panicked.contains("service=p") && panicked.contains("path=root/p"),
        "{panicked}"
    );
    assert!(panicked.contains("p was told to panic"), "{panicked}");
    let exited = logs.line(&["service exited abnormally"]);
    assert!(exited.contains("service=p"), "{exited}");
    let gave_up = logs.line(&["supervisor gives up"]);
    assert!(gave_up.contains("service=root"), "{gave_up}");
}

#[actix_rt::test]
async fn restarts_are_logged_with_the_service_and_the_delay() {
    use crate::support::probes::{crash, probe, reached, Crash};
    tokio::time::pause();
    let logs = LogCapture::start_at(tracing::Level::INFO);
    let journal = servitor::testing::Journal::new();
    let tree = TestTree::start(probe("p", &journal)).await.unwrap();
    crash(tree.runtime(), "p", Crash::Error);
    reached(&journal, "p:start:2").await;
    let restart = logs.line(&["restarting service"]);
    assert!(
        restart.contains("service=p") && restart.contains("delay_ms=0"),
        "{restart}"
    );
    tree.shutdown().await;
}

#[actix_rt::test]
async fn the_panic_hook_routes_panics_in_service_code_to_tracing_with_the_service_name() {
    use crate::support::probes::{crash, probe, reached, Crash};
    servitor::kit::install_panic_hook();
    tokio::time::pause();
    let logs = LogCapture::start_at(tracing::Level::ERROR);
    let journal = servitor::testing::Journal::new();
    let tree = TestTree::start(probe("p", &journal)).await.unwrap();
    crash(tree.runtime(), "p", Crash::Panic);
    reached(&journal, "p:start:2").await;
    let line = logs.line(&["panic in service code"]);
    assert!(
        line.contains("service=p") && line.contains("incarnation=1"),
        "{line}"
    );
    assert!(
        line.contains("probes.rs:"),
        "the location is logged: {line}"
    );
    tree.shutdown().await;
}
