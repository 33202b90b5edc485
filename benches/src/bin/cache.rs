//! The cache against the crates users reach for, in the same run: hit ratio
//! and throughput of `servitor::cache::Cache` against `quick_cache::sync::Cache`,
//! `moka::sync::Cache` and, as a floor, a `Mutex<lru::LruCache>`.
//!
//! ```text
//! cargo run --release -p servitor-benches --bin cache
//! cargo run --release -p servitor-benches --bin cache -- zipf-1.0 scan   # some workloads only
//! ```
//!
//! Every thread runs **get-then-insert-on-miss** over its own pre-drawn key
//! sequence — a read, and on a miss a write of the key, the way an
//! application uses a cache in front of a slower store. Workloads (u64 keys
//! and values):
//!
//! * **zipf-0.8**, **zipf-1.0** — Zipf-distributed ranks over 1,000,000
//!   keys with exponent 0.8 and 1.0;
//! * **scan** — the Zipf 1.0 hot set, with one-off keys (never seen before
//!   or again) in runs of 1,000 making up 20 % of the operations: a batch
//!   job passing through;
//! * **uniform** — keys drawn uniformly from 100,000 (as the project's
//!   earlier get/insert benchmark): at capacity 100k nearly every read
//!   hits, at 10k nearly every read misses and writes.
//!
//! Capacities 10,000 and 100,000 entries; 1 and 2 threads. Each round makes
//! a fresh cache per contender, warms it with the first
//! [`WARM`] operations of every thread's sequence (threads in parallel),
//! then times the next [`MEASURED`] per thread. The hit ratio is counted
//! from outside, over the measured operations, the same way for everyone.
//! Sequences come from fixed seeds and are the same for every contender;
//! contenders alternate within a round and the order rotates between
//! rounds. A figure is the median of [`ROUNDS`] rounds; ops/s is over all
//! threads. Goals: servitor's hit ratio ≥ quick_cache's − 0.5 points on
//! every Zipf and scan row, ops/s ≥ 1.0× quick_cache on every row, and
//! ahead of moka everywhere.
//!
//! Each contender is used with its defaults: servitor through its public
//! handle (no TTL, no listener; its default policy and hasher); quick_cache
//! and `lru` with their default hasher (foldhash); moka with its default
//! (SipHash).

use moka::sync::Cache as Moka;
use servitor::cache::{Cache, CacheConfig};
use std::hint::black_box;
use std::sync::{Arc, Barrier, Mutex};
use std::time::{Duration, Instant};

const ZIPF_KEYS: usize = 1_000_000;
const UNIFORM_KEYS: u64 = 100_000;
const SCAN_SHARE: f64 = 0.2;
const SCAN_RUN: usize = 1_000;
/// Operations per thread before timing starts.
const WARM: usize = 1_000_000;
/// Timed operations per thread.
const MEASURED: usize = 2_000_000;
/// Rounds per row, unless `--rounds=N` says otherwise.
const ROUNDS: usize = 5;
const CAPACITIES: [u64; 2] = [10_000, 100_000];
const THREADS: [usize; 2] = [1, 2];

/// What every contender offers: a read and a write.
trait Contender: Clone + Send + Sync + 'static {
    fn make(capacity: u64) -> Self;
    fn get(&self, k: u64) -> Option<u64>;
    fn insert(&self, k: u64, v: u64);
}

#[derive(Clone)]
struct Servitor {
    cache: Cache<u64, u64>,
    // Dropping the spec would stop the cache: keep it with the handle.
    _spec: Arc<servitor::ChildSpec>,
}

impl Contender for Servitor {
    fn make(capacity: u64) -> Self {
        let config = CacheConfig {
            capacity,
            ..CacheConfig::default()
        };
        let (spec, cache) = Cache::service("bench", config).expect("valid config");
        Servitor {
            cache,
            _spec: Arc::new(spec),
        }
    }
    #[inline]
    fn get(&self, k: u64) -> Option<u64> {
        self.cache.get(&k).expect("cache running")
    }
    #[inline]
    fn insert(&self, k: u64, v: u64) {
        self.cache.set(k, v).expect("cache running")
    }
}

type Quick = Arc<quick_cache::sync::Cache<u64, u64>>;

impl Contender for Quick {
    fn make(capacity: u64) -> Self {
        Arc::new(quick_cache::sync::Cache::new(capacity as usize))
    }
    #[inline]
    fn get(&self, k: u64) -> Option<u64> {
        quick_cache::sync::Cache::get(self, &k)
    }
    #[inline]
    fn insert(&self, k: u64, v: u64) {
        quick_cache::sync::Cache::insert(self, k, v)
    }
}

impl Contender for Moka<u64, u64> {
    fn make(capacity: u64) -> Self {
        Moka::new(capacity)
    }
    #[inline]
    fn get(&self, k: u64) -> Option<u64> {
        Moka::get(self, &k)
    }
    #[inline]
    fn insert(&self, k: u64, v: u64) {
        Moka::insert(self, k, v)
    }
}

type Lru = Arc<Mutex<lru::LruCache<u64, u64>>>;

impl Contender for Lru {
    fn make(capacity: u64) -> Self {
        let cap = std::num::NonZeroUsize::new(capacity as usize).expect("capacity > 0");
        Arc::new(Mutex::new(lru::LruCache::new(cap)))
    }
    #[inline]
    fn get(&self, k: u64) -> Option<u64> {
        self.lock().expect("not poisoned").get(&k).copied()
    }
    #[inline]
    fn insert(&self, k: u64, v: u64) {
        self.lock().expect("not poisoned").put(k, v);
    }
}

/// The contenders, in table order.
const NAMES: [&str; 4] = ["servitor", "quick_cache", "moka", "Mutex<LruCache>"];

/// xorshift64*: a fixed pseudo-random sequence, the same for everyone.
struct Rng(u64);

impl Rng {
    fn new(seed: u64) -> Rng {
        Rng(seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1)
    }
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }
    /// Uniform in [0, 1).
    fn unit(&mut self) -> f64 {
        (self.next() >> 11) as f64 / (1u64 << 53) as f64
    }
}

/// Zipf ranks over `n` keys by inverting the cumulative distribution.
struct Zipf {
    cdf: Vec<f64>,
}

impl Zipf {
    fn new(n: usize, s: f64) -> Zipf {
        let mut cdf = Vec::with_capacity(n);
        let mut sum = 0.0;
        for k in 1..=n {
            sum += 1.0 / (k as f64).powf(s);
            cdf.push(sum);
        }
        for c in &mut cdf {
            *c /= sum;
        }
        Zipf { cdf }
    }
    fn sample(&self, rng: &mut Rng) -> u64 {
        let u = rng.unit();
        self.cdf.partition_point(|&c| c < u).min(self.cdf.len() - 1) as u64
    }
}

#[derive(Clone, Copy, PartialEq)]
enum Workload {
    Zipf08,
    Zipf10,
    Scan,
    Uniform,
}

impl Workload {
    const ALL: [Workload; 4] = [
        Workload::Zipf08,
        Workload::Zipf10,
        Workload::Scan,
        Workload::Uniform,
    ];
    fn name(self) -> &'static str {
        match self {
            Workload::Zipf08 => "zipf-0.8",
            Workload::Zipf10 => "zipf-1.0",
            Workload::Scan => "scan",
            Workload::Uniform => "uniform",
        }
    }
    /// Hit-ratio goals apply to the skewed workloads.
    fn has_ratio_goal(self) -> bool {
        self != Workload::Uniform
    }
}

/// The key sequence of one thread: `WARM + MEASURED` keys.
fn sequence(workload: Workload, thread: usize, zipf08: &Zipf, zipf10: &Zipf) -> Vec<u64> {
    let n = WARM + MEASURED;
    let mut rng = Rng::new(0x5EED ^ ((thread as u64 + 1) * 7919) ^ workload as u64);
    match workload {
        Workload::Zipf08 => (0..n).map(|_| zipf08.sample(&mut rng)).collect(),
        Workload::Zipf10 => (0..n).map(|_| zipf10.sample(&mut rng)).collect(),
        Workload::Uniform => (0..n).map(|_| rng.next() % UNIFORM_KEYS).collect(),
        Workload::Scan => {
            // One-off keys live above the Zipf key space, distinct per thread.
            let mut next_scan = (1u64 << 40) * (thread as u64 + 1);
            let mut out = Vec::with_capacity(n);
            // A run starts with a probability that makes runs SCAN_SHARE of all.
            let start = SCAN_SHARE / ((1.0 - SCAN_SHARE) * SCAN_RUN as f64 + SCAN_SHARE);
            while out.len() < n {
                if rng.unit() < start {
                    for _ in 0..SCAN_RUN.min(n - out.len()) {
                        out.push(next_scan);
                        next_scan += 1;
                    }
                } else {
                    out.push(zipf10.sample(&mut rng));
                }
            }
            out
        }
    }
}

/// CPU time the calling thread has run for.
fn thread_cpu_time() -> Duration {
    let mut ts = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: `ts` is a valid, writable timespec.
    let rc = unsafe { libc::clock_gettime(libc::CLOCK_THREAD_CPUTIME_ID, &mut ts) };
    assert_eq!(rc, 0, "clock_gettime(CLOCK_THREAD_CPUTIME_ID)");
    Duration::new(ts.tv_sec as u64, ts.tv_nsec as u32)
}

/// What one round of one contender measured.
#[derive(Clone, Copy)]
struct Measured {
    /// Operations per second of wall-clock time, over all threads.
    wall: f64,
    /// Operations per second of CPU time, summed over the threads: what the
    /// wall-clock figure would be if no other process took the CPUs.
    cpu: f64,
    hit_ratio: f64,
}

/// One measured round of one contender.
fn round<C: Contender>(capacity: u64, seqs: &[Arc<Vec<u64>>]) -> Measured {
    let cache = C::make(capacity);
    let threads = seqs.len();
    let barrier = Arc::new(Barrier::new(threads + 1));
    let workers: Vec<_> = seqs
        .iter()
        .map(|seq| {
            let cache = cache.clone();
            let barrier = barrier.clone();
            let seq = seq.clone();
            std::thread::spawn(move || {
                let (warm, timed) = seq.split_at(WARM);
                for &k in warm {
                    if cache.get(k).is_none() {
                        cache.insert(k, k);
                    }
                }
                barrier.wait();
                let start = Instant::now();
                let cpu_start = thread_cpu_time();
                let mut hits = 0usize;
                for &k in timed {
                    match black_box(cache.get(k)) {
                        Some(_) => hits += 1,
                        None => cache.insert(k, k),
                    }
                }
                (start.elapsed(), thread_cpu_time() - cpu_start, hits)
            })
        })
        .collect();
    barrier.wait();
    let mut slowest = Duration::ZERO;
    let mut cpu = 0.0;
    let mut hits = 0;
    for w in workers {
        let (elapsed, cpu_time, h) = w.join().expect("worker panicked");
        slowest = slowest.max(elapsed);
        cpu += MEASURED as f64 / cpu_time.as_secs_f64();
        hits += h;
    }
    let ops = (MEASURED * threads) as f64;
    Measured {
        wall: ops / slowest.as_secs_f64(),
        cpu,
        hit_ratio: hits as f64 / ops,
    }
}

fn run_one(which: usize, capacity: u64, seqs: &[Arc<Vec<u64>>]) -> Measured {
    match which {
        0 => round::<Servitor>(capacity, seqs),
        1 => round::<Quick>(capacity, seqs),
        2 => round::<Moka<u64, u64>>(capacity, seqs),
        _ => round::<Lru>(capacity, seqs),
    }
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

/// Medians per contender, rounds alternating contenders (`None` for
/// contenders left out).
fn row(
    capacity: u64,
    seqs: &[Arc<Vec<u64>>],
    only: &[usize],
    rounds: usize,
) -> [Option<Measured>; 4] {
    let mut runs: Vec<Vec<Measured>> = vec![Vec::new(); NAMES.len()];
    for r in 0..rounds {
        for i in 0..only.len() {
            let which = only[(i + r) % only.len()];
            runs[which].push(run_one(which, capacity, seqs));
        }
    }
    std::array::from_fn(|i| {
        let of = |f: fn(&Measured) -> f64| median(runs[i].iter().map(f).collect());
        (!runs[i].is_empty()).then(|| Measured {
            wall: of(|m| m.wall),
            cpu: of(|m| m.cpu),
            hit_ratio: of(|m| m.hit_ratio),
        })
    })
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    // `--only=servitor,quick_cache` runs some contenders only (quicker, for
    // development; the figures to record come from a full run).
    let only: Vec<usize> = match args.iter().find_map(|a| a.strip_prefix("--only=")) {
        Some(list) => list
            .split(',')
            .map(|n| {
                NAMES
                    .iter()
                    .position(|x| x == &n)
                    .expect("a contender name")
            })
            .collect(),
        None => (0..NAMES.len()).collect(),
    };
    let pick = |flag: &str, all: &[u64]| -> Vec<u64> {
        match args.iter().find_map(|a| a.strip_prefix(flag)) {
            Some(v) => vec![v.parse().expect("a number")],
            None => all.to_vec(),
        }
    };
    // `--capacity=10000`, `--threads=1`: one column of the matrix only.
    let rounds = pick("--rounds=", &[ROUNDS as u64])[0] as usize;
    let capacities = pick("--capacity=", &CAPACITIES);
    let thread_counts = pick("--threads=", &THREADS.map(|t| t as u64));
    let wanted: Vec<&String> = args.iter().filter(|a| !a.starts_with("--")).collect();
    let workloads: Vec<Workload> = Workload::ALL
        .into_iter()
        .filter(|w| wanted.is_empty() || wanted.iter().any(|a| *a == w.name()))
        .collect();
    if workloads.is_empty() {
        eprintln!("unknown workload; workloads: zipf-0.8, zipf-1.0, scan, uniform");
        std::process::exit(2);
    }
    println!(
        "cache: get-then-insert-on-miss, u64 keys; {WARM} warm-up + {MEASURED} timed ops per thread; median of {rounds} rounds\n"
    );
    println!(
        "| workload | cap | thr | hit %: servitor | quick_cache | moka | lru | M ops/s: servitor | quick_cache | moka | lru | × quick_cache | × quick_cache (CPU time) | × moka | goals |"
    );
    println!("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|");
    let zipf08 = Zipf::new(ZIPF_KEYS, 0.8);
    let zipf10 = Zipf::new(ZIPF_KEYS, 1.0);
    let mut missed = 0;
    let mut rows = 0;
    let pct =
        |m: Option<Measured>| m.map_or("–".into(), |m| format!("{:.1}", m.hit_ratio * 100.0));
    let mops = |m: Option<Measured>| m.map_or("–".into(), |m| format!("{:.2}", m.wall / 1e6));
    let times =
        |x: Option<f64>, digits: usize| x.map_or("–".into(), |x| format!("{x:.digits$}×"));
    for workload in workloads {
        let seqs: Vec<Arc<Vec<u64>>> = (0..*THREADS.iter().max().expect("threads"))
            .map(|t| Arc::new(sequence(workload, t, &zipf08, &zipf10)))
            .collect();
        for &capacity in &capacities {
            for &threads in &thread_counts {
                let threads = threads as usize;
                let r = row(capacity, &seqs[..threads], &only, rounds);
                let (ours, quick, moka) = (r[0], r[1], r[2]);
                let ratio =
                    |peer: Option<Measured>, f: fn(&Measured) -> f64| Some(f(&ours?) / f(&peer?));
                let x_quick = ratio(quick, |m| m.wall);
                let x_quick_cpu = ratio(quick, |m| m.cpu);
                let x_moka = ratio(moka, |m| m.wall);
                let hit = |m: Option<Measured>| m.map(|m| m.hit_ratio);
                let mut misses = Vec::new();
                if let (true, Some(o), Some(q)) = (workload.has_ratio_goal(), hit(ours), hit(quick))
                {
                    if o < q - 0.005 {
                        misses.push("hit ratio");
                    }
                }
                if x_quick.is_some_and(|x| x < 1.0) {
                    misses.push("ops/s vs quick_cache");
                }
                let behind_moka = x_moka.is_some_and(|x| x < 1.0)
                    || matches!((workload.has_ratio_goal(), hit(ours), hit(moka)), (true, Some(o), Some(m)) if o < m);
                if behind_moka {
                    misses.push("moka");
                }
                rows += 1;
                if !misses.is_empty() {
                    missed += 1;
                }
                let goals = if misses.is_empty() {
                    "met".to_string()
                } else {
                    format!("**missed: {}**", misses.join(", "))
                };
                println!(
                    "| {} | {}k | {} | {} | {} | {} | {} | {} | {} | {} | {} | {} | {} | {} | {} |",
                    workload.name(),
                    capacity / 1000,
                    threads,
                    pct(ours),
                    pct(quick),
                    pct(moka),
                    pct(r[3]),
                    mops(ours),
                    mops(quick),
                    mops(moka),
                    mops(r[3]),
                    times(x_quick, 2),
                    times(x_quick_cpu, 2),
                    times(x_moka, 1),
                    goals
                );
            }
        }
    }
    println!("\ngoals met on {} of {rows} rows", rows - missed);
}
