//! Test children shared by the behaviour suites: services that record their
//! lifecycle in a [`Journal`] and fail on command.
#![allow(dead_code)]

use actix::prelude::*;
use parking_lot::Mutex;
use servitor::testing::Journal;
use servitor::{BoxError, ChildSpec, Service, ServiceContext};
use std::sync::Arc;
use std::time::Duration;

/// How the next incarnations of a probe behave; shared with the test so it
/// can change them while the tree runs.
#[derive(Debug, Default, Clone)]
pub struct Behaviour {
    /// Fail the start hook of this many next incarnations with an error.
    pub fail_starts: u32,
    /// Panic in the start hook of this many next incarnations.
    pub panic_starts: u32,
    /// The start hook takes this long.
    pub start_delay: Option<Duration>,
    /// The stop hook takes this long.
    pub stop_delay: Option<Duration>,
}

pub type Control = Arc<Mutex<Behaviour>>;

/// A message-handling test service. Journal entries:
/// `{name}:start:{incarnation}` when its start hook runs,
/// `{name}:stop:{incarnation}` when its stop hook finished,
/// `{name}:drop:{incarnation}` when the instance is dropped.
pub struct Probe {
    name: String,
    journal: Journal,
    control: Control,
    incarnation: u64,
    cx: Option<ServiceContext>,
}

impl Probe {
    pub fn new(name: &str, journal: &Journal, control: &Control) -> Self {
        Probe {
            name: name.to_string(),
            journal: journal.clone(),
            control: control.clone(),
            incarnation: 0,
            cx: None,
        }
    }
}

impl Drop for Probe {
    fn drop(&mut self) {
        if self.incarnation > 0 {
            self.journal
                .record(format!("{}:drop:{}", self.name, self.incarnation));
        }
    }
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
        self.incarnation = cx.incarnation();
        self.cx = Some(cx.clone());
        self.journal
            .record(format!("{}:start:{}", self.name, cx.incarnation()));
        let (fail, panic, delay) = {
            let mut b = self.control.lock();
            let fail = b.fail_starts > 0;
            if fail {
                b.fail_starts -= 1;
            }
            let panic = !fail && b.panic_starts > 0;
            if panic {
                b.panic_starts -= 1;
            }
            (fail, panic, b.start_delay)
        };
        if panic {
            panic!("{} start panicked", self.name);
        }
        let name = self.name.clone();
        Box::pin(
            async move {
                if let Some(d) = delay {
                    tokio::time::sleep(d).await;
                }
                if fail {
                    Err(format!("{name} refused to start").into())
                } else {
                    Ok(())
                }
            }
            .into_actor(self),
        )
    }

    fn stop(&mut self, cx: &ServiceContext, _: &mut Context<Self>) -> ResponseActFuture<Self, ()> {
        let delay = self.control.lock().stop_delay;
        let entry = format!("{}:stop:{}", self.name, cx.incarnation());
        let journal = self.journal.clone();
        Box::pin(
            async move {
                if let Some(d) = delay {
                    tokio::time::sleep(d).await;
                }
                journal.record(entry);
            }
            .into_actor(self),
        )
    }
}

/// Asks a probe who it is: (name, incarnation).
#[derive(Message)]
#[rtype(result = "(String, u64)")]
pub struct WhoAreYou;

impl Handler<WhoAreYou> for Probe {
    type Result = MessageResult<WhoAreYou>;
    fn handle(&mut self, _: WhoAreYou, _: &mut Context<Self>) -> Self::Result {
        MessageResult((self.name.clone(), self.incarnation))
    }
}

/// Makes a probe end its incarnation.
#[derive(Message, Clone, Copy, Debug)]
#[rtype(result = "()")]
pub enum Crash {
    /// Panic inside the handler.
    Panic,
    /// End with an error via `ServiceContext::fail`.
    Error,
    /// End normally via `ctx.stop()`.
    Finish,
}

impl Handler<Crash> for Probe {
    type Result = ();
    fn handle(&mut self, msg: Crash, ctx: &mut Context<Self>) {
        match msg {
            Crash::Panic => panic!("{} was told to panic", self.name),
            Crash::Error => {
                if let Some(cx) = self.cx.clone() {
                    cx.fail::<Self>(ctx, format!("{} was told to fail", self.name));
                }
            }
            Crash::Finish => ctx.stop(),
        }
    }
}

/// A child spec for a probe named `name`, recording into `journal`.
pub fn probe(name: &str, journal: &Journal) -> ChildSpec {
    probe_with(name, journal, &Control::default())
}

/// A child spec for a probe whose behaviour `control` steers.
pub fn probe_with(name: &str, journal: &Journal, control: &Control) -> ChildSpec {
    let name = name.to_string();
    let journal = journal.clone();
    let control = control.clone();
    ChildSpec::service(name.clone(), move || Probe::new(&name, &journal, &control))
}

/// Only the `start`/`stop` entries, in order (drops are timing noise).
pub fn lifecycle(journal: &Journal) -> Vec<String> {
    journal
        .entries()
        .into_iter()
        .filter(|e| e.contains(":start:") || e.contains(":stop:"))
        .collect()
}
