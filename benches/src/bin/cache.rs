//! The cache data path against `moka::sync::Cache`, in the same run.
//!
//! ```text
//! cargo run --release -p servitor-benches --bin cache
//! ```
//!
//! Keys are `u64`s drawn uniformly from 100,000; values are `u64`s. Rows:
//!
//! * **get-hit** — reads of keys known to be present (the cache is filled
//!   with `min(capacity, 100k)` keys first and every read is checked to hit);
//! * **insert** — writes of random keys into a cache already filled from the
//!   key space: with capacity 10k almost every insert evicts, with 1M almost
//!   every insert replaces.
//!
//! Each contender runs the same pre-drawn key sequence, on 1 and 2 threads;
//! a figure is the median of 3 rounds, in operations per second over all
//! threads. servitor's cache goes through its public handle (no TTL, no
//! listener: the configuration moka is measured in too).

use moka::sync::Cache as Moka;
use servitor::cache::{Cache, CacheConfig};
use std::hint::black_box;
use std::sync::{Arc, Barrier};
use std::time::Instant;

const KEYS: u64 = 100_000;
const ROUNDS: usize = 3;
const GET_OPS: usize = 2_000_000;
const INSERT_OPS: usize = 1_000_000;

/// The operations both contenders offer.
trait Contender: Clone + Send + Sync + 'static {
    fn name() -> &'static str;
    fn make(capacity: u64) -> Self;
    fn get(&self, k: u64) -> Option<u64>;
    fn insert(&self, k: u64, v: u64);
    /// Let background maintenance catch up (moka admits lazily).
    fn settle(&self) {}
}

#[derive(Clone)]
struct Servitor {
    cache: Cache<u64, u64>,
    // Dropping the spec would stop the cache: keep it with the handle.
    _spec: Arc<servitor::ChildSpec>,
}

impl Contender for Servitor {
    fn name() -> &'static str {
        "servitor"
    }
    fn make(capacity: u64) -> Self {
        let (spec, cache) = Cache::service(
            "bench",
            CacheConfig {
                capacity,
                ..CacheConfig::default()
            },
        )
        .expect("valid config");
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

impl Contender for Moka<u64, u64> {
    fn name() -> &'static str {
        "moka"
    }
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
    fn settle(&self) {
        self.run_pending_tasks();
    }
}

/// A fixed pseudo-random sequence (xorshift64*), the same for everyone.
fn keys(seed: u64, n: usize, below: u64) -> Vec<u64> {
    let mut x = seed | 1;
    (0..n)
        .map(|_| {
            x ^= x >> 12;
            x ^= x << 25;
            x ^= x >> 27;
            x.wrapping_mul(0x2545_F491_4F6C_DD1D) % below
        })
        .collect()
}

#[derive(Clone, Copy, PartialEq)]
enum Op {
    GetHit,
    Insert,
}

/// Operations per second of one round.
fn round<C: Contender>(op: Op, threads: usize, capacity: u64) -> f64 {
    let cache = C::make(capacity);
    let resident = capacity.min(KEYS);
    match op {
        Op::GetHit => {
            for k in 0..resident {
                cache.insert(k, k);
            }
        }
        Op::Insert => {
            for k in 0..KEYS {
                cache.insert(k, k);
            }
        }
    }
    cache.settle();
    let (ops, below) = match op {
        Op::GetHit => (GET_OPS, resident),
        Op::Insert => (INSERT_OPS, KEYS),
    };
    let barrier = Arc::new(Barrier::new(threads + 1));
    let workers: Vec<_> = (0..threads)
        .map(|t| {
            let cache = cache.clone();
            let barrier = barrier.clone();
            let seq = keys(0x5EED + t as u64 * 7919, ops, below);
            std::thread::spawn(move || {
                barrier.wait();
                let start = Instant::now();
                match op {
                    Op::GetHit => {
                        let mut hits = 0usize;
                        for &k in &seq {
                            hits += usize::from(black_box(cache.get(k)).is_some());
                        }
                        assert_eq!(hits, seq.len(), "{}: a get-hit read missed", C::name());
                    }
                    Op::Insert => {
                        for &k in &seq {
                            cache.insert(k, k ^ 1);
                        }
                    }
                }
                start.elapsed()
            })
        })
        .collect();
    barrier.wait();
    let slowest = workers
        .into_iter()
        .map(|w| w.join().expect("worker panicked"))
        .max()
        .expect("at least one thread");
    (ops * threads) as f64 / slowest.as_secs_f64()
}

fn median<C: Contender>(op: Op, threads: usize, capacity: u64) -> f64 {
    let mut runs: Vec<f64> = (0..ROUNDS)
        .map(|_| round::<C>(op, threads, capacity))
        .collect();
    runs.sort_by(f64::total_cmp);
    runs[ROUNDS / 2]
}

fn mops(x: f64) -> String {
    format!("{:.2} M/s", x / 1e6)
}

fn main() {
    println!(
        "cache data path: servitor::cache::Cache vs moka::sync::Cache (u64 keys from {KEYS}, median of {ROUNDS})\n"
    );
    println!(
        "| {:<8} | {:>7} | {:>9} | {:>13} | {:>13} | {:>6} |",
        "op", "threads", "capacity", "servitor", "moka", "ratio"
    );
    println!(
        "|{:-<10}|{:->9}|{:->11}|{:->15}|{:->15}|{:->8}|",
        "", "", "", "", "", ""
    );
    let mut worst = f64::INFINITY;
    for (op, label) in [(Op::GetHit, "get-hit"), (Op::Insert, "insert")] {
        for capacity in [10_000u64, 1_000_000] {
            for threads in [1usize, 2] {
                let ours = median::<Servitor>(op, threads, capacity);
                let theirs = median::<Moka<u64, u64>>(op, threads, capacity);
                let ratio = ours / theirs;
                worst = worst.min(ratio);
                println!(
                    "| {:<8} | {:>7} | {:>9} | {:>13} | {:>13} | {:>5.1}× |",
                    label,
                    threads,
                    capacity,
                    mops(ours),
                    mops(theirs),
                    ratio
                );
            }
        }
    }
    println!("\nworst ratio: {worst:.2}× (goal: ≥ 1.0× on every row)");
}
