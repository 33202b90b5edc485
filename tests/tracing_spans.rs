//! Everything a service logs carries its name (and incarnation).

use actix::prelude::*;
use parking_lot::Mutex;
use servitor::testing::TestTree;
use servitor::{ChildSpec, Service};
use std::io::Write;
use std::sync::Arc;

#[derive(Clone, Default)]
struct Captured(Arc<Mutex<Vec<u8>>>);

impl Write for Captured {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl<'a> tracing_subscriber::fmt::MakeWriter<'a> for Captured {
    type Writer = Captured;
    fn make_writer(&'a self) -> Self::Writer {
        self.clone()
    }
}

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
    let captured = Captured::default();
    let subscriber = tracing_subscriber::fmt()
        .with_writer(captured.clone())
        .with_ansi(false)
        .finish();
    let _guard = tracing::subscriber::set_default(subscriber);

    let tree = TestTree::start(ChildSpec::service("chatty", Chatty::default))
        .await
        .unwrap();
    let chatty = tree.runtime().service::<Chatty>("chatty").unwrap();
    chatty.call(Say("first")).await.unwrap();
    tree.crash("chatty", "injected").await.unwrap();
    chatty.call(Say("second")).await.unwrap();
    tree.shutdown().await;

    let text = String::from_utf8(captured.0.lock().clone()).unwrap();
    let line = |said: &str| {
        text.lines()
            .find(|l| l.contains("handler ran") && l.contains(said))
            .unwrap_or_else(|| panic!("no log line for {said} in:\n{text}"))
            .to_string()
    };
    let first = line("first");
    assert!(first.contains("name=chatty"), "{first}");
    assert!(first.contains("incarnation=1"), "{first}");
    let second = line("second");
    assert!(second.contains("name=chatty"), "{second}");
    assert!(second.contains("incarnation=2"), "{second}");
}
