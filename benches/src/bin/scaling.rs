//! Scaling over cores: services whose handler burns ~10 µs of CPU, called by
//! many concurrent callers, in paired rounds (see `servitor_benches::paired`).
//!
//! ```text
//! cargo run --release -p servitor-benches --bin scaling
//! SCALING_ONLY=0 cargo run --release -p servitor-benches --bin scaling   # one contender for 5 s (for a profiler)
//! ```
//!
//! Contenders, all alive for the whole run so that their rounds alternate:
//!
//! * **servitor pool** — the services placed on `Placement::Pool` of a
//!   runtime with `pool_size: Some(2)`: two arbiters.
//! * **servitor one arbiter** — the same tree on the runtime's own arbiter.
//! * **actix 2 arbiters** — plain actix actors started on two arbiters, half
//!   on each (what a user of actix does to use two cores).
//! * **ractor**, **kameo** — on a tokio multi-thread runtime with 2 workers.
//!
//! Callers live where the services live, as they would in an application
//! whose services call each other: for the two-thread contenders, half of
//! the callers on each thread (servitor: `Runtime::spawn_placed` on the
//! pool; actix: spawned on each arbiter; ractor and kameo: tasks of their
//! runtime), for servitor on one arbiter, on that arbiter. A round is
//! `CALLS` calls spread over `CALLERS` concurrent callers, round-robin over
//! the services; its figure is calls per second. Ratios are servitor pool /
//! contender, higher is better for servitor.

use actix::prelude::*;
use futures_util::future::join_all;
use servitor::{ChildSpec, Placement, Runtime, RuntimeConfig, ServiceRef, Supervisor};
use servitor_benches::paired::Rounds;
use std::hint::black_box;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, OnceLock};
use std::time::{Duration, Instant};

const SERVICES: usize = 8;
const CALLERS: usize = 64;
const CALLS: usize = 20_000;
const WORK: Duration = Duration::from_micros(10);
const NAMES: [&str; 5] = [
    "servitor pool",
    "servitor one arbiter",
    "actix 2 arbiters",
    "ractor",
    "kameo",
];

/// Loop iterations that take [`WORK`] on this machine, measured once.
static SPINS: OnceLock<u64> = OnceLock::new();

/// `n` rounds of xorshift that the optimiser cannot remove.
fn spin(n: u64, seed: u64) -> u64 {
    let mut x = seed | 1;
    for _ in 0..n {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        x = black_box(x);
    }
    x
}

/// ~10 µs of CPU: a handler's work.
fn burn(seed: u64) -> u64 {
    spin(*SPINS.get().expect("calibrated"), seed)
}

/// Iterations of [`spin`] that take [`WORK`]: the fastest of a few tries,
/// so that load elsewhere does not shorten the work.
fn calibrate() -> u64 {
    const TRY: u64 = 1_000_000;
    let fastest = (0..5)
        .map(|s| {
            let t = Instant::now();
            black_box(spin(TRY, s));
            t.elapsed()
        })
        .min()
        .expect("tries");
    (TRY as f64 * WORK.as_secs_f64() / fastest.as_secs_f64()).max(1.0) as u64
}

/// The service: answers a unit of work with its result.
#[derive(Default)]
struct Worker;

impl Actor for Worker {
    type Context = Context<Self>;
}

impl servitor::Service for Worker {}

#[derive(Message)]
#[rtype(result = "u64")]
struct Work(u64);

impl Handler<Work> for Worker {
    type Result = u64;
    fn handle(&mut self, w: Work, _: &mut Context<Self>) -> u64 {
        burn(w.0)
    }
}

mod ractor_worker {
    use ractor::{Actor, ActorProcessingErr, ActorRef, RpcReplyPort};

    pub struct Worker;

    pub struct Work(pub u64, pub RpcReplyPort<u64>);

    impl Actor for Worker {
        type Msg = Work;
        type State = ();
        type Arguments = ();

        async fn pre_start(&self, _: ActorRef<Work>, _: ()) -> Result<(), ActorProcessingErr> {
            Ok(())
        }

        async fn handle(
            &self,
            _: ActorRef<Work>,
            Work(seed, reply): Work,
            _: &mut (),
        ) -> Result<(), ActorProcessingErr> {
            let _ = reply.send(super::burn(seed));
            Ok(())
        }
    }
}

mod kameo_worker {
    use kameo::actor::{Actor, ActorRef};
    use kameo::error::Infallible;
    use kameo::message::{Context, Message};

    pub struct Worker;

    impl Actor for Worker {
        type Args = Self;
        type Error = Infallible;

        async fn on_start(state: Self, _: ActorRef<Self>) -> Result<Self, Infallible> {
            Ok(state)
        }
    }

    pub struct Work(pub u64);

    impl Message<Work> for Worker {
        type Reply = u64;
        async fn handle(&mut self, w: Work, _: &mut Context<Self, u64>) -> u64 {
            super::burn(w.0)
        }
    }
}

/// `callers` concurrent callers making calls until `next` reaches `CALLS`;
/// `call(k)` makes call number `k`.
async fn callers<F, Fut>(next: Arc<AtomicUsize>, callers: usize, call: F)
where
    F: Fn(usize) -> Fut,
    Fut: std::future::Future<Output = u64>,
{
    join_all((0..callers).map(|_| async {
        loop {
            let k = next.fetch_add(1, Ordering::Relaxed);
            if k >= CALLS {
                break;
            }
            black_box(call(k).await);
        }
    }))
    .await;
}

/// Calls per second of one round whose callers `run` spawns and awaits.
async fn timed<R: std::future::Future<Output = ()>>(
    run: impl FnOnce(Arc<AtomicUsize>) -> R,
) -> f64 {
    let next = Arc::new(AtomicUsize::new(0));
    let t = Instant::now();
    run(next).await;
    CALLS as f64 / t.elapsed().as_secs_f64()
}

async fn servitor_tree(placement: Placement, pool: usize) -> (Runtime, Vec<ServiceRef<Worker>>) {
    let tree = Supervisor::builder("scaling")
        .children((0..SERVICES).map(|i| {
            ChildSpec::service(format!("w{i}"), Worker::default).placement(placement.clone())
        }))
        .build()
        .expect("tree");
    let config = RuntimeConfig {
        pool_size: Some(pool),
        handle_signals: false,
        ..RuntimeConfig::default()
    };
    let app = Runtime::start_with(tree, config).await.expect("runtime");
    let refs = (0..SERVICES)
        .map(|i| app.service::<Worker>(&format!("w{i}")).expect("handle"))
        .collect();
    (app, refs)
}

struct Contenders {
    pool_app: Runtime,
    pool: Arc<Vec<ServiceRef<Worker>>>,
    single: Arc<Vec<ServiceRef<Worker>>>,
    arbiters: [actix_rt::Arbiter; 2],
    actix: Arc<Vec<Addr<Worker>>>,
    tokio: tokio::runtime::Runtime,
    ractor: Arc<Vec<ractor::ActorRef<ractor_worker::Work>>>,
    kameo: Arc<Vec<kameo::actor::ActorRef<kameo_worker::Worker>>>,
}

/// A call to service `k % SERVICES` of a servitor tree.
fn servitor_call(
    refs: &Arc<Vec<ServiceRef<Worker>>>,
) -> impl Fn(usize) -> std::pin::Pin<Box<dyn std::future::Future<Output = u64>>> + Clone + Send + 'static
{
    let refs = refs.clone();
    move |k| {
        let r = refs[k % SERVICES].clone();
        Box::pin(async move { r.call(Work(k as u64)).await.expect("call") })
    }
}

impl Contenders {
    async fn round(&self, i: usize) -> f64 {
        match i {
            0 => {
                let call = servitor_call(&self.pool);
                timed(|next| async move {
                    let halves: Vec<_> = (0..2)
                        .map(|_| {
                            let (next, call) = (next.clone(), call.clone());
                            self.pool_app
                                .spawn_placed(&Placement::Pool, move || {
                                    callers(next, CALLERS / 2, call)
                                })
                                .expect("placed")
                        })
                        .collect();
                    for h in join_all(halves).await {
                        h.expect("callers");
                    }
                })
                .await
            }
            1 => {
                let call = servitor_call(&self.single);
                timed(|next| callers(next, CALLERS, call)).await
            }
            2 => {
                let refs = self.actix.clone();
                timed(|next| async move {
                    let halves: Vec<_> = self
                        .arbiters
                        .iter()
                        .map(|a| {
                            let (tx, rx) = tokio::sync::oneshot::channel();
                            let (next, refs) = (next.clone(), refs.clone());
                            a.spawn_fn(move || {
                                actix_rt::spawn(async move {
                                    callers(next, CALLERS / 2, |k| {
                                        let r = refs[k % SERVICES].clone();
                                        async move { r.send(Work(k as u64)).await.expect("send") }
                                    })
                                    .await;
                                    let _ = tx.send(());
                                });
                            });
                            rx
                        })
                        .collect();
                    for h in join_all(halves).await {
                        h.expect("callers");
                    }
                })
                .await
            }
            3 => {
                let refs = self.ractor.clone();
                self.tokio
                    .spawn(tokio_drive(move |k| {
                        let actor = refs[k % SERVICES].clone();
                        async move {
                            match actor
                                .call(|reply| ractor_worker::Work(k as u64, reply), None)
                                .await
                            {
                                Ok(ractor::rpc::CallResult::Success(n)) => n,
                                _ => panic!("ractor call failed"),
                            }
                        }
                    }))
                    .await
                    .expect("ractor round")
            }
            _ => {
                let refs = self.kameo.clone();
                self.tokio
                    .spawn(tokio_drive(move |k| {
                        let actor = refs[k % SERVICES].clone();
                        async move { actor.ask(kameo_worker::Work(k as u64)).await.expect("ask") }
                    }))
                    .await
                    .expect("kameo round")
            }
        }
    }
}

/// A round with every caller a task of the tokio runtime, so callers
/// spread over its workers as a tokio application's would.
async fn tokio_drive<F, Fut>(call: F) -> f64
where
    F: Fn(usize) -> Fut + Send + Sync + 'static,
    Fut: std::future::Future<Output = u64> + Send + 'static,
{
    let call = Arc::new(call);
    let next = Arc::new(AtomicUsize::new(0));
    let t = Instant::now();
    let callers: Vec<_> = (0..CALLERS)
        .map(|_| {
            let call = call.clone();
            let next = next.clone();
            tokio::spawn(async move {
                loop {
                    let k = next.fetch_add(1, Ordering::Relaxed);
                    if k >= CALLS {
                        break;
                    }
                    black_box(call(k).await);
                }
            })
        })
        .collect();
    for c in callers {
        c.await.expect("caller");
    }
    CALLS as f64 / t.elapsed().as_secs_f64()
}

fn main() {
    let spins = calibrate();
    SPINS.set(spins).expect("calibrated once");
    eprintln!("calibration: {spins} iterations ≈ {WORK:?}");
    let system = actix_rt::System::new();
    let rounds = system.block_on(async {
        let (pool_app, pool) = servitor_tree(Placement::Pool, 2).await;
        let (single_app, single) = servitor_tree(Placement::Inherit, 2).await;
        let arbiters = [actix_rt::Arbiter::new(), actix_rt::Arbiter::new()];
        let actix: Vec<_> = (0..SERVICES)
            .map(|i| Worker::start_in_arbiter(&arbiters[i % 2].handle(), |_| Worker))
            .collect();
        let tokio = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .expect("tokio runtime");
        let (ractor, kameo) = tokio
            .spawn(async {
                let mut ractor = Vec::new();
                for _ in 0..SERVICES {
                    let (r, _) = ractor::Actor::spawn(None, ractor_worker::Worker, ())
                        .await
                        .expect("ractor spawn");
                    ractor.push(r);
                }
                let kameo: Vec<_> = (0..SERVICES)
                    .map(|_| kameo::Actor::spawn(kameo_worker::Worker))
                    .collect();
                (ractor, kameo)
            })
            .await
            .expect("spawn peers");
        let c = Contenders {
            pool_app,
            pool: Arc::new(pool),
            single: Arc::new(single),
            arbiters,
            actix: Arc::new(actix),
            tokio,
            ractor: Arc::new(ractor),
            kameo: Arc::new(kameo),
        };
        if let Some(only) = std::env::var("SCALING_ONLY")
            .ok()
            .and_then(|v| v.parse::<usize>().ok())
        {
            let t = Instant::now();
            let mut n = 0;
            while t.elapsed() < Duration::from_secs(5) {
                eprintln!("{}: {:.0} calls/s", NAMES[only], c.round(only).await);
                n += 1;
            }
            eprintln!("{n} rounds");
            std::process::exit(0);
        }
        for i in 0..NAMES.len() {
            c.round(i).await;
        }
        let mut rounds = Rounds::new(&NAMES).budget(9, 31, 2.0);
        while rounds.more() {
            let mut round = vec![0.0; NAMES.len()];
            for i in rounds.order() {
                round[i] = c.round(i).await;
            }
            rounds.push(round);
        }
        for r in c.ractor.iter() {
            r.stop(None);
        }
        let Contenders {
            tokio,
            arbiters,
            pool_app,
            ..
        } = c;
        tokio.shutdown_background();
        for a in &arbiters {
            a.stop();
        }
        pool_app.shutdown().await.expect("shutdown");
        single_app.shutdown().await.expect("shutdown");
        rounds
    });
    report(&rounds);
}

fn report(rounds: &Rounds) {
    println!(
        "{SERVICES} services × {WORK:?} of CPU per call, {CALLERS} concurrent callers, {CALLS} calls per round, {} paired rounds",
        rounds.rounds()
    );
    println!();
    println!("| contender | calls/s (median) | servitor pool / contender | goal | met? |");
    println!("|---|---|---|---|---|");
    let best_peer = (2..NAMES.len())
        .max_by(|&a, &b| rounds.median(a).total_cmp(&rounds.median(b)))
        .expect("peers");
    for (i, name) in NAMES.iter().enumerate() {
        let (ratio, goal, met) = match i {
            0 => ("-".to_string(), "", ""),
            1 => {
                let r = rounds.ratio(0, 1);
                (
                    r.label(),
                    "≥ 1.8×",
                    if r.median >= 1.8 { "yes" } else { "NO" },
                )
            }
            _ => {
                let r = rounds.ratio(0, i);
                let met = if r.median >= 1.0 { "yes" } else { "NO" };
                let goal = if i == best_peer {
                    "≥ 1.0× (best peer)"
                } else {
                    "context"
                };
                (r.label(), goal, if i == best_peer { met } else { "-" })
            }
        };
        println!(
            "| {name} | {:.0} | {ratio} | {goal} | {met} |",
            rounds.median(i)
        );
    }
}
