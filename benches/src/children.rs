//! Benchmark 3: one supervisor with many idle children. Time to start all,
//! heap bytes per idle child, time to stop all, and how start time grows
//! with the number of children (the median of several runs per size). Peers: as many plain actix actors, and as
//! many ractor actors, started and stopped the same way (one after another
//! for ractor, whose spawn waits for `pre_start` like a servitor start does).

use crate::actors::Idle;
use crate::alloc::{live_bytes, rss_bytes};
use crate::report::{ns, Row, Unit};
use crate::rt::{on_actix, on_tokio};
use actix::prelude::*;
use servitor::{ChildSpec, Runtime, Supervisor};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Instant;

const N: usize = 10_000;
const GROWTH: [usize; 3] = [1_000, 10_000, 100_000];
const GOAL_START_NS: f64 = 0.2e9;
const GOAL_BYTES: f64 = 2048.0;
/// Linear growth: per-child start time at 100k within this factor of 1k.
const LINEAR_FACTOR: f64 = 1.5;

/// Runs per size of the growth rows: a 1k start takes a few milliseconds,
/// so one run of it says little; the median of several does.
fn growth_runs(n: usize) -> usize {
    if n <= 1_000 {
        15
    } else if n <= 10_000 {
        5
    } else {
        3
    }
}

/// The run with the median start time of `runs` runs; `None` if a run was
/// cut off.
fn median_start(runs: usize, mut run: impl FnMut() -> Option<Population>) -> Option<Population> {
    let mut all = Vec::with_capacity(runs);
    for _ in 0..runs {
        all.push(run()?);
    }
    all.sort_by(|a, b| a.start_ns.total_cmp(&b.start_ns));
    Some(all[all.len() / 2])
}
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
        let tree = Supervisor::builder("big")
            .children((0..n).map(|i| ChildSpec::service(format!("c{i}"), Idle::default)))
            .build()
            .expect("tree");
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

    let mut base = None;
    for n in GROWTH {
        let runs = growth_runs(n);
        let measured = median_start(runs, || servitor(n, false));
        let actix_per =
            median_start(runs, || Some(plain_actix(n))).map_or(0.0, |p| p.start_ns) / n as f64;
        let label = format!("start {}k children, per child", n / 1000);
        let last = n == GROWTH[GROWTH.len() - 1];
        let row = match measured {
            Some(p) => {
                let per = p.start_ns / n as f64;
                let first = *base.get_or_insert(per);
                let row = Row::compare(&label, per, "actix", actix_per, Unit::Nanos);
                if last {
                    row.goal("linear (≤ 1.5× of 1k)", per <= LINEAR_FACTOR * first)
                } else {
                    row
                }
            }
            None => {
                let floor = ns(START_CAP_PER_CHILD);
                let mut row = Row::compare(&label, floor, "actix", actix_per, Unit::Nanos);
                row.servitor = format!("> {} (cut off)", Unit::Nanos.format(floor));
                row.ratio = None;
                if last {
                    row.goal("linear (≤ 1.5× of 1k)", false)
                } else {
                    row
                }
            }
        };
        rows.push(row);
    }
}
