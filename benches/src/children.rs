//! Benchmark 3: one supervisor with many idle children. Time to start all,
//! heap bytes per idle child, time to stop all, and how start time grows
//! with the number of children (paired rounds of starts in fresh processes).
//! Peers: as many plain actix actors, and as many ractor actors, started and
//! stopped the same way (one after another for ractor, whose spawn waits for
//! `pre_start` like a servitor start does).

use crate::actors::Idle;
use crate::alloc::{live_bytes, rss_bytes};
use crate::paired::Rounds;
use crate::report::{ns, Row, Unit};
use crate::rt::{on_actix, on_tokio};
use actix::prelude::*;
use servitor::{ChildSpec, Runtime, Supervisor};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Instant;

const N: usize = 10_000;
const GOAL_START_NS: f64 = 0.2e9;
const GOAL_BYTES: f64 = 2048.0;
/// Linear growth: per-child start time at 100k within this factor of 1k.
const LINEAR_FACTOR: f64 = 1.5;
/// The sizes of the growth rows; the first and the last are compared.
const GROWTH: [usize; 3] = [1_000, 10_000, 100_000];
/// Fresh processes per figure of a 1k start in a round: one 1k start takes
/// a few milliseconds, so one alone says little; the median of five does.
const SMALL_RUNS: usize = 5;
/// The argument that makes the benchmark binary time one start and exit.
pub const START_ONCE: &str = "--start-once";

/// A start that takes longer is abandoned (the tree is killed) and reported
/// as a lower bound, to keep the run short: 50× the 10k goal, pro rata.
const START_CAP_PER_CHILD: std::time::Duration = std::time::Duration::from_micros(100);

/// What one population run measured.
#[derive(Clone, Copy)]
struct Population {
    start_ns: f64,
    stop_ns: f64,
    /// Live heap bytes per actor, counted by the global allocator.
    heap_per: f64,
    /// Resident-set growth per actor (VmRSS), for comparison.
    rss_per: f64,
}

/// Starts a tree of `n` idle children. With `graceful`, stops it through
/// `Runtime::shutdown` and times that; otherwise drops it (kills it).
/// `None` when the start took longer than the cap.
fn servitor(n: usize, graceful: bool) -> Option<Population> {
    on_actix(move || async move {
        let (heap0, rss0) = (live_bytes(), rss_bytes());
        let tree = idle_tree(n);
        let cap = START_CAP_PER_CHILD * n as u32;
        let t = Instant::now();
        let app = tokio::time::timeout(cap, Runtime::start(tree))
            .await
            .ok()?
            .expect("runtime");
        let start_ns = ns(t.elapsed());
        settle().await;
        let (heap1, rss1) = (live_bytes(), rss_bytes());
        let t = Instant::now();
        if graceful {
            app.shutdown().await.expect("shutdown");
        } else {
            drop(app);
        }
        let stop_ns = ns(t.elapsed());
        Some(Population {
            start_ns,
            stop_ns,
            heap_per: (heap1 - heap0) as f64 / n as f64,
            rss_per: (rss1 - rss0) as f64 / n as f64,
        })
    })
}

/// Lets already-woken tasks run to completion before memory is read.
async fn settle() {
    for _ in 0..10 {
        tokio::task::yield_now().await;
    }
}

static PLAIN_STARTED: AtomicUsize = AtomicUsize::new(0);
static PLAIN_STOPPED: AtomicUsize = AtomicUsize::new(0);

struct Plain;

impl Actor for Plain {
    type Context = Context<Self>;
    fn started(&mut self, _: &mut Context<Self>) {
        PLAIN_STARTED.fetch_add(1, Ordering::Relaxed);
    }
    fn stopped(&mut self, _: &mut Context<Self>) {
        PLAIN_STOPPED.fetch_add(1, Ordering::Relaxed);
    }
}

#[derive(Message)]
#[rtype(result = "()")]
struct Halt;

impl Handler<Halt> for Plain {
    type Result = ();
    fn handle(&mut self, _: Halt, ctx: &mut Context<Self>) {
        ctx.stop();
    }
}

async fn until(counter: &AtomicUsize, n: usize) {
    while counter.load(Ordering::Relaxed) < n {
        tokio::task::yield_now().await;
    }
}

fn plain_actix(n: usize) -> Population {
    on_actix(move || async move {
        PLAIN_STARTED.store(0, Ordering::Relaxed);
        PLAIN_STOPPED.store(0, Ordering::Relaxed);
        let (heap0, rss0) = (live_bytes(), rss_bytes());
        let t = Instant::now();
        let addrs: Vec<Addr<Plain>> = (0..n).map(|_| Plain.start()).collect();
        until(&PLAIN_STARTED, n).await;
        let start_ns = ns(t.elapsed());
        settle().await;
        let (heap1, rss1) = (live_bytes(), rss_bytes());
        let t = Instant::now();
        for a in &addrs {
            a.do_send(Halt);
        }
        until(&PLAIN_STOPPED, n).await;
        drop(addrs);
        let stop_ns = ns(t.elapsed());
        Population {
            start_ns,
            stop_ns,
            heap_per: (heap1 - heap0) as f64 / n as f64,
            rss_per: (rss1 - rss0) as f64 / n as f64,
        }
    })
}

struct RactorIdle;

impl ractor::Actor for RactorIdle {
    type Msg = ();
    type State = ();
    type Arguments = ();
    async fn pre_start(
        &self,
        _: ractor::ActorRef<()>,
        _: (),
    ) -> Result<(), ractor::ActorProcessingErr> {
        Ok(())
    }
}

fn ractor_population(n: usize) -> Population {
    on_tokio(move || async move {
        let (heap0, rss0) = (live_bytes(), rss_bytes());
        let t = Instant::now();
        let mut actors = Vec::with_capacity(n);
        for _ in 0..n {
            actors.push(
                ractor::Actor::spawn(None, RactorIdle, ())
                    .await
                    .expect("ractor spawn"),
            );
        }
        let start_ns = ns(t.elapsed());
        settle().await;
        let (heap1, rss1) = (live_bytes(), rss_bytes());
        let t = Instant::now();
        for (a, _) in &actors {
            a.stop(None);
        }
        for (_, join) in actors {
            let _ = join.await;
        }
        let stop_ns = ns(t.elapsed());
        Population {
            start_ns,
            stop_ns,
            heap_per: (heap1 - heap0) as f64 / n as f64,
            rss_per: (rss1 - rss0) as f64 / n as f64,
        }
    })
}

pub fn run(rows: &mut Vec<Row>) {
    let s = servitor(N, true).expect("10k start within the cap");
    let a = plain_actix(N);
    let r = ractor_population(N);
    rows.push(
        Row::compare(
            "start 10k children",
            s.start_ns,
            "actix",
            a.start_ns,
            Unit::Nanos,
        )
        .goal("≤ 0.2 s", s.start_ns <= GOAL_START_NS),
    );
    rows.push(Row::compare(
        "start 10k children (ractor)",
        s.start_ns,
        "ractor",
        r.start_ns,
        Unit::Nanos,
    ));
    rows.push(
        Row::compare(
            "heap per idle child",
            s.heap_per,
            "actix",
            a.heap_per,
            Unit::Bytes,
        )
        .goal("≤ 2 KiB", s.heap_per <= GOAL_BYTES),
    );
    rows.push(Row::compare(
        "heap per idle child (ractor)",
        s.heap_per,
        "ractor",
        r.heap_per,
        Unit::Bytes,
    ));
    rows.push(Row::compare(
        "RSS per idle child",
        s.rss_per,
        "actix",
        a.rss_per,
        Unit::Bytes,
    ));
    rows.push(Row::compare(
        "stop 10k children",
        s.stop_ns,
        "actix",
        a.stop_ns,
        Unit::Nanos,
    ));
    rows.push(Row::compare(
        "stop 10k children (ractor)",
        s.stop_ns,
        "ractor",
        r.stop_ns,
        Unit::Nanos,
    ));

    growth(rows);
}

/// How the start cost per child grows from 1k to 100k children, in paired
/// rounds. Every start runs in a fresh process (see [`start_once`]), so each
/// size starts on a heap in the same state: a new one, whose pages the
/// kernel hands out on first touch. In one process the heap a 1k start
/// reuses was faulted in by earlier runs, while a 100k start always
/// outgrows it, so the comparison would be of a warm heap against a cold
/// one rather than of 1k against 100k children.
fn growth(rows: &mut Vec<Row>) {
    let contenders: Vec<(&'static str, usize)> = GROWTH
        .iter()
        .flat_map(|&n| [("servitor", n), ("actix", n)])
        .collect();
    let names: Vec<&'static str> = contenders.iter().map(|&(who, _)| who).collect();
    let rounds = Rounds::new(&names)
        .budget(7, 15, 5.0)
        .run(|i| start_per_child(contenders[i].0, contenders[i].1));
    let at = |who: &str, n: usize| {
        contenders
            .iter()
            .position(|&c| c == (who, n))
            .expect("a contender of the growth rows")
    };
    let (first, last) = (GROWTH[0], GROWTH[GROWTH.len() - 1]);
    for n in GROWTH {
        let label = format!("start {}k children, per child", n / 1000);
        let (s, a) = (at("servitor", n), at("actix", n));
        let row = Row::paired(
            &label,
            rounds.median(s),
            "actix",
            rounds.median(a),
            rounds.ratio(s, a),
            Unit::Nanos,
        );
        rows.push(if n == last {
            let growth = rounds.ratio(s, at("servitor", first));
            let mut row = row.goal(
                &format!("{}k/1k {} ≤ {LINEAR_FACTOR}×", last / 1000, growth.label()),
                growth.median <= LINEAR_FACTOR,
            );
            if rounds.median(s) >= ns(START_CAP_PER_CHILD) {
                row.servitor = format!("> {} (cut off)", Unit::Nanos.format(rounds.median(s)));
                row.met = Some(false);
            }
            row
        } else {
            row
        });
    }
    let actix = rounds.ratio(at("actix", last), at("actix", first));
    eprintln!(
        "  growth over {} rounds: actix {}k/1k {}",
        rounds.rounds(),
        last / 1000,
        actix.label()
    );
}

/// Nanoseconds per child of one start of `n` children by `who`, each run in
/// a fresh process; for the smallest size the median of [`SMALL_RUNS`].
fn start_per_child(who: &str, n: usize) -> f64 {
    let me = std::env::current_exe().expect("own path");
    let once = || {
        let out = std::process::Command::new(&me)
            .args([START_ONCE, who, &n.to_string()])
            .output()
            .expect("the benchmark runs itself");
        assert!(out.status.success(), "{who} start of {n}: {out:?}");
        String::from_utf8_lossy(&out.stdout)
            .trim()
            .parse::<f64>()
            .expect("a figure")
    };
    let runs = if n == GROWTH[0] { SMALL_RUNS } else { 1 };
    let mut figures: Vec<f64> = (0..runs).map(|_| once()).collect();
    crate::report::median(&mut figures)
}

/// One start of `n` children by `who` (`servitor` or `actix`) in this
/// process, after a start of ten children has warmed up the runtime, so
/// that what one-time set-up a process pays is not charged to the children;
/// the heap is as new. Nanoseconds per child; a servitor start is cut off at
/// [`START_CAP_PER_CHILD`] per child and reported as that.
pub fn start_once(who: &str, n: usize) -> f64 {
    let who = who.to_string();
    on_actix(move || async move {
        match who.as_str() {
            "servitor" => {
                let warm = Runtime::start(idle_tree(10)).await.expect("runtime");
                warm.shutdown().await.expect("shutdown");
                let tree = idle_tree(n);
                let t = Instant::now();
                let started =
                    tokio::time::timeout(START_CAP_PER_CHILD * n as u32, Runtime::start(tree))
                        .await;
                let took = ns(t.elapsed()) / n as f64;
                // Exiting without a teardown: nothing is measured after this.
                std::mem::forget(started);
                took
            }
            "actix" => {
                PLAIN_STARTED.store(0, Ordering::Relaxed);
                let warm: Vec<Addr<Plain>> = (0..10).map(|_| Plain.start()).collect();
                until(&PLAIN_STARTED, 10).await;
                PLAIN_STARTED.store(0, Ordering::Relaxed);
                let t = Instant::now();
                let addrs: Vec<Addr<Plain>> = (0..n).map(|_| Plain.start()).collect();
                until(&PLAIN_STARTED, n).await;
                let took = ns(t.elapsed()) / n as f64;
                std::mem::forget((warm, addrs));
                took
            }
            other => panic!("unknown contender {other}"),
        }
    })
}

fn idle_tree(n: usize) -> servitor::SupervisorSpec {
    Supervisor::builder("big")
        .children((0..n).map(|i| ChildSpec::service(format!("c{i}"), Idle::default)))
        .build()
        .expect("tree")
}
