//! Test children shared by the behaviour suites: services that record their
//! lifecycle in a [`Journal`] and fail on command.

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
    /// The stop hook of this many next incarnations panics.
    pub panic_stops: u32,
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
        let (delay, panic) = {
            let mut b = self.control.lock();
            let panic = b.panic_stops > 0;
            if panic {
                b.panic_stops -= 1;
            }
            (b.stop_delay, panic)
        };
        if panic {
            panic!("{} stop panicked", self.name);
        }
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

/// Runtime settings whose registry sweeps for stale services every 10 ms,
/// so staleness tests need little (paused) time.
pub fn fast_sweep() -> servitor::RuntimeConfig {
    servitor::RuntimeConfig {
        registry: servitor::RegistryConfig {
            stale_after: 3.0,
            sweep_interval: Duration::from_millis(10),
            ..Default::default()
        },
        ..servitor::testing::TestTree::config()
    }
}

/// Runs one child under a one-for-one test supervisor (1,000 restarts per
/// second allowed) with the given runtime settings.
pub async fn start_one_with(
    child: ChildSpec,
    config: servitor::RuntimeConfig,
) -> servitor::testing::TestTree {
    let spec = servitor::Supervisor::builder(servitor::testing::TEST_SUPERVISOR)
        .intensity(1_000, Duration::from_secs(1))
        .child(child)
        .build()
        .expect("valid test tree");
    servitor::testing::TestTree::start_spec(spec, config)
        .await
        .expect("test tree starts")
}

// ---- helpers for the supervision suites ----

/// How long a test waits for something that should happen promptly. Under
/// `tokio::time::pause` it only elapses when the awaited thing never comes.
pub const BOUND: Duration = Duration::from_secs(30);

/// A control whose probes take `delay` in their stop hook.
pub fn slow_stop(delay: Duration) -> Control {
    Arc::new(Mutex::new(Behaviour {
        stop_delay: Some(delay),
        ..Behaviour::default()
    }))
}

/// A control whose probes take `delay` in their start hook.
pub fn slow_start(delay: Duration) -> Control {
    Arc::new(Mutex::new(Behaviour {
        start_delay: Some(delay),
        ..Behaviour::default()
    }))
}

/// A control whose probes fail their next `n` starts with an error.
pub fn failing_starts(n: u32) -> Control {
    Arc::new(Mutex::new(Behaviour {
        fail_starts: n,
        ..Behaviour::default()
    }))
}

/// Tells the running probe `name` to end its incarnation as `how` says.
pub fn crash(runtime: &servitor::Runtime, name: &str, how: Crash) {
    runtime
        .service::<Probe>(name)
        .unwrap_or_else(|e| panic!("no probe `{name}`: {e}"))
        .tell(how)
        .unwrap_or_else(|e| panic!("cannot crash `{name}`: {e}"));
}

/// The incarnation of the probe `name` that answers now (waiting for one to
/// be up).
pub async fn incarnation(runtime: &servitor::Runtime, name: &str) -> u64 {
    runtime
        .service::<Probe>(name)
        .unwrap_or_else(|e| panic!("no probe `{name}`: {e}"))
        .call(WhoAreYou)
        .await
        .unwrap_or_else(|e| panic!("`{name}` did not answer: {e}"))
        .1
}

/// Waits until the journal holds `entry` (bounded by [`BOUND`]).
pub async fn reached(journal: &Journal, entry: &str) {
    journal
        .wait_for(entry, BOUND)
        .await
        .unwrap_or_else(|e| panic!("{e}"));
}

/// The position of `entry` in the journal; panics if it is missing.
pub fn position(journal: &Journal, entry: &str) -> usize {
    let entries = journal.entries();
    entries
        .iter()
        .position(|e| e == entry)
        .unwrap_or_else(|| panic!("no journal entry `{entry}` in {entries:?}"))
}

/// Asserts that `first` was journalled before `second`.
pub fn assert_before(journal: &Journal, first: &str, second: &str) {
    assert!(
        position(journal, first) < position(journal, second),
        "`{first}` should come before `{second}`: {:?}",
        journal.entries()
    );
}

/// The lifecycle entries recorded after the first `skip` entries of
/// [`lifecycle`].
pub fn lifecycle_after(journal: &Journal, skip: usize) -> Vec<String> {
    lifecycle(journal).into_iter().skip(skip).collect()
}

/// A message-handling service whose status the test sets through calls, and
/// which can be made a zombie: alive, but too busy to beat.
pub struct Dial {
    interval: Duration,
    cx: Option<ServiceContext>,
}

impl Actor for Dial {
    type Context = Context<Self>;
}

impl Service for Dial {
    fn start(
        &mut self,
        cx: &ServiceContext,
        _: &mut Context<Self>,
    ) -> ResponseActFuture<Self, Result<(), BoxError>> {
        self.cx = Some(cx.clone());
        Box::pin(actix::fut::ready(Ok(())))
    }

    fn health_interval(&self) -> Duration {
        self.interval
    }
}

/// A child spec for a [`Dial`] named `name` that beats every `interval`.
pub fn dial(name: &str, interval: Duration) -> ChildSpec {
    ChildSpec::service(name.to_string(), move || Dial { interval, cx: None })
}

/// Sets a dial's status (and message).
#[derive(Message, Debug, Clone)]
#[rtype(result = "()")]
pub struct SetStatus(pub servitor::Status, pub Option<String>);

impl Handler<SetStatus> for Dial {
    type Result = ();
    fn handle(&mut self, SetStatus(status, message): SetStatus, _: &mut Context<Self>) {
        let cx = self.cx.as_ref().expect("started");
        match message {
            Some(m) => cx.set_status_with(status, m),
            None => cx.set_status(status),
        }
    }
}

/// Makes a dial block its context on `ctx.wait` until the sender is used or
/// dropped: its mailbox and health checks stop while its task stays alive.
#[derive(Message)]
#[rtype(result = "()")]
pub struct Stall(pub tokio::sync::oneshot::Receiver<()>);

impl Handler<Stall> for Dial {
    type Result = ();
    fn handle(&mut self, Stall(until): Stall, ctx: &mut Context<Self>) {
        ctx.wait(
            async move {
                let _ = until.await;
            }
            .into_actor(self),
        );
    }
}

/// Hands out the dial's context, to report from outside the actor.
#[derive(Message)]
#[rtype(result = "ServiceContext")]
pub struct GetContext;

impl Handler<GetContext> for Dial {
    type Result = MessageResult<GetContext>;
    fn handle(&mut self, _: GetContext, _: &mut Context<Self>) -> Self::Result {
        MessageResult(self.cx.clone().expect("started"))
    }
}

/// Waits until `name` has ended for good: its registry entry became a
/// final record (or is gone altogether).
pub async fn ended(registry: &servitor::Registry, name: &str) {
    let done = |r: &servitor::Registry| r.get(name).is_none_or(|e| e.is_ended());
    let Ok(mut watch) = registry.watch(name) else {
        return;
    };
    tokio::time::timeout(BOUND, async {
        while !done(registry) {
            if watch.next().await.is_none() {
                return;
            }
            tokio::task::yield_now().await;
        }
    })
    .await
    .unwrap_or_else(|_| panic!("`{name}` did not end: {:?}", registry.get(name)));
}
