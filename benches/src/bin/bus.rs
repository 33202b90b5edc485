//! The event bus against `tokio::sync::broadcast`, and the cost of a publish
//! as wildcard subscriptions on other topics grow.
//!
//! ```text
//! cargo run --release -p servitor-benches --bin bus            # everything
//! cargo run --release -p servitor-benches --bin bus -- trie    # fanout | trie | publishers
//! ```
//!
//! * fan-out: 1 publisher → 10 subscribers (streams), deliveries per second,
//!   against a broadcast channel of the same capacity, on a current-thread
//!   runtime (where broadcast reaches its best figure: its sender yields
//!   every half capacity so the receivers keep up and nothing is lost) and
//!   on a 2-worker runtime (no pacing). A subscriber counts received +
//!   reported-missed events, so both sides stop at exactly N per subscriber;
//! * trie: ns per publish with 100 … 100,000 subscriptions `bench.t{i}.*`,
//!   each publish matching exactly one of them (a sync no-op handler),
//!   against a linear scan over the same patterns;
//! * publishers: publishes per second from 1 and 2 threads on separate
//!   topics — whether publishers serialize on the subscription table.
//!
//! Medians over rounds.

use servitor::bus::{BusConfig, EventBus, Overflow, Pattern, RecvError, Subject};
use servitor::{Runtime, Supervisor};
use std::hint::black_box;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

const SUBSCRIBERS: usize = 10;
const EVENTS: u64 = 1_000_000;
const CAPACITY: usize = 1024;
const ROUNDS: usize = 5;

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

/// Starts a bus under a supervisor on an actix system of its own thread.
fn start_bus(config: BusConfig) -> EventBus<u64> {
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        actix_rt::System::new().block_on(async move {
            let (spec, bus) = EventBus::<u64>::service("events", config).unwrap();
            let app = Runtime::start(Supervisor::builder("bench").child(spec).build().unwrap())
                .await
                .unwrap();
            tx.send(bus).unwrap();
            std::future::pending::<()>().await;
            drop(app);
        });
    });
    rx.recv().unwrap()
}

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap()
}

/// Deliveries per second through a broadcast channel.
async fn broadcast_round(pace: bool) -> f64 {
    let (tx, _) = tokio::sync::broadcast::channel::<u64>(CAPACITY);
    let mut readers = Vec::new();
    for _ in 0..SUBSCRIBERS {
        let mut rx = tx.subscribe();
        readers.push(tokio::spawn(async move {
            let (mut got, mut missed) = (0u64, 0u64);
            while got + missed < EVENTS {
                match rx.recv().await {
                    Ok(v) => {
                        black_box(v);
                        got += 1;
                    }
                    Err(tokio::sync::broadcast::error::RecvError::Lagged(n)) => missed += n,
                    Err(_) => break,
                }
            }
            got
        }));
    }
    let start = Instant::now();
    let publisher = tokio::spawn(async move {
        for i in 0..EVENTS {
            let _ = tx.send(i);
            // On one thread the receivers only run when the sender yields;
            // yielding every half capacity lets them keep up (lossless).
            if pace && i % (CAPACITY as u64 / 2) == 0 {
                tokio::task::yield_now().await;
            }
        }
    });
    publisher.await.unwrap();
    let mut delivered = 0;
    for r in readers {
        delivered += r.await.unwrap();
    }
    delivered as f64 / start.elapsed().as_secs_f64()
}

/// Deliveries per second through the bus; also the fraction delivered.
async fn bus_round(bus: &EventBus<u64>, overflow: Overflow, pace: bool) -> (f64, f64) {
    let mut readers = Vec::new();
    for _ in 0..SUBSCRIBERS {
        let mut sub = bus
            .subscriber("bench.fanout")
            .capacity(CAPACITY)
            .overflow(overflow)
            .stream()
            .unwrap();
        readers.push(tokio::spawn(async move {
            let (mut got, mut missed) = (0u64, 0u64);
            while got + missed < EVENTS {
                match sub.recv().await {
                    Ok(e) => {
                        black_box(e.payload());
                        got += 1;
                    }
                    Err(RecvError::Lagged { missed: n }) => missed += n,
                    Err(_) => break,
                }
            }
            got
        }));
    }
    let subject = Subject::new("bench.fanout").unwrap();
    let start = Instant::now();
    let publisher = {
        let bus = bus.clone();
        tokio::spawn(async move {
            for i in 0..EVENTS {
                bus.publish(&subject, i).await.unwrap();
                // The same pacing as broadcast's sender gets (drop-oldest
                // never makes a publisher wait).
                if pace && i % (CAPACITY as u64 / 2) == 0 {
                    tokio::task::yield_now().await;
                }
            }
        })
    };
    publisher.await.unwrap();
    let mut delivered = 0;
    for r in readers {
        delivered += r.await.unwrap();
    }
    let rate = delivered as f64 / start.elapsed().as_secs_f64();
    (
        rate,
        delivered as f64 / (EVENTS as f64 * SUBSCRIBERS as f64),
    )
}

fn fanout(bus: &EventBus<u64>, only_current_thread: bool) {
    for (label, rt, pace) in [
        (
            "current-thread runtime (the broadcast and drop-oldest publishers yield every 512 events so receivers keep up; block needs no help)",
            current_thread(),
            true,
        ),
        (
            "2-worker runtime (no pacing: broadcast and drop-oldest receivers lag)",
            runtime(),
            false,
        ),
    ] {
        if only_current_thread && !pace {
            continue;
        }
        let (mut b, mut block, mut drop_oldest, mut kept) = (vec![], vec![], vec![], vec![]);
        for _ in 0..ROUNDS {
            b.push(rt.block_on(broadcast_round(pace)));
            block.push(rt.block_on(bus_round(bus, Overflow::Block, false)).0);
            let (rate, fraction) = rt.block_on(bus_round(bus, Overflow::DropOldest, pace));
            drop_oldest.push(rate);
            kept.push(fraction);
        }
        let b = median(b);
        let block = median(block);
        let drop_oldest = median(drop_oldest);
        println!("## fan-out: 1 publisher → {SUBSCRIBERS} subscribers, {EVENTS} events, capacity {CAPACITY}; {label}\n");
        println!("| contender | deliveries/s | ratio to broadcast | goal ≥ 0.5× |");
        println!("| --- | ---: | ---: | --- |");
        println!("| tokio::sync::broadcast | {:.1} M/s | 1.00× | |", b / 1e6);
        for (name, v) in [
            ("servitor bus, block (lossless)", block),
            ("servitor bus, drop-oldest", drop_oldest),
        ] {
            let r = v / b;
            println!(
                "| {name} | {:.1} M/s | {r:.2}× | {} |",
                v / 1e6,
                if r >= 0.5 { "met" } else { "NOT met" }
            );
        }
        println!(
            "\n(drop-oldest delivered {:.1} % of the events; the rest were reported as Lagged)\n",
            median(kept) * 100.0
        );
    }
}

fn current_thread() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap()
}

fn trie_curve(bus: &EventBus<u64>) {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    println!("## publish cost with K wildcard subscriptions on distinct topics (each publish matches one)\n");
    println!("| K | servitor trie ns/publish | linear scan ns/match | trie vs K=100 |");
    println!("| ---: | ---: | ---: | ---: |");
    let mut first = None;
    for k in [100usize, 1_000, 10_000, 100_000] {
        let hits = Arc::new(AtomicU64::new(0));
        let mut subs = Vec::with_capacity(k);
        let mut patterns = Vec::with_capacity(k);
        for i in 0..k {
            let hits = hits.clone();
            let p = format!("bench.t{i}.*");
            subs.push(
                bus.subscriber(&p)
                    .handler(move |_| {
                        hits.fetch_add(1, Ordering::Relaxed);
                    })
                    .unwrap(),
            );
            patterns.push(Pattern::new(&p).unwrap());
        }
        let subjects: Vec<Subject> = (0..1024)
            .map(|_| Subject::new(&format!("bench.t{}.x", fastrand_index(k))).unwrap())
            .collect();
        let publishes = 200_000u64;
        let mut rounds = Vec::new();
        for _ in 0..ROUNDS {
            let t = rt.block_on(async {
                let start = Instant::now();
                for i in 0..publishes {
                    let s = &subjects[(i % 1024) as usize];
                    black_box(bus.publish(s, i).await.unwrap());
                }
                start.elapsed()
            });
            rounds.push(t.as_nanos() as f64 / publishes as f64);
        }
        assert_eq!(hits.load(Ordering::Relaxed), publishes * ROUNDS as u64);
        let trie = median(rounds);
        // The scan every publish would do without a trie.
        let scans = 2_000u64.min(20_000_000 / k as u64).max(20);
        let start = Instant::now();
        for i in 0..scans {
            let s = &subjects[(i % 1024) as usize];
            black_box(patterns.iter().filter(|p| p.matches(s)).count());
        }
        let scan = start.elapsed().as_nanos() as f64 / scans as f64;
        let base = *first.get_or_insert(trie);
        println!("| {k} | {trie:.0} | {scan:.0} | {:.2}× |", trie / base);
        drop(subs);
    }
    println!();
}

fn fastrand_index(k: usize) -> usize {
    // A small LCG so the bench needs no extra crate.
    static STATE: AtomicU64 = AtomicU64::new(0x2545_F491_4F6C_DD1D);
    let x = STATE
        .fetch_add(0x9E37_79B9_7F4A_7C15, Ordering::Relaxed)
        .wrapping_mul(0xBF58_476D_1CE4_E5B9);
    ((x >> 17) % k as u64) as usize
}

fn publishers(bus: &EventBus<u64>) {
    println!("## publishers on separate topics (one sync no-op handler each), publishes/s\n");
    println!("| publisher threads | one shared bus: total | per thread | control, a bus per thread: total |");
    println!("| ---: | ---: | ---: | ---: |");
    let per_thread = 2_000_000u64;
    let _subs: Vec<_> = (0..2)
        .map(|i| {
            bus.subscriber(&format!("bench.p{i}"))
                .handler(|_| ())
                .unwrap()
        })
        .collect();
    let own: Vec<EventBus<u64>> = (0..2).map(|_| start_bus(BusConfig::default())).collect();
    let _own_subs: Vec<_> = own
        .iter()
        .enumerate()
        .map(|(i, b)| {
            b.subscriber(&format!("bench.p{i}"))
                .handler(|_| ())
                .unwrap()
        })
        .collect();
    let measure = |threads: usize, buses: &dyn Fn(usize) -> EventBus<u64>| {
        let mut rounds = Vec::new();
        for _ in 0..ROUNDS {
            let barrier = Arc::new(std::sync::Barrier::new(threads + 1));
            let handles: Vec<_> = (0..threads)
                .map(|i| {
                    let bus = buses(i);
                    let barrier = barrier.clone();
                    std::thread::spawn(move || {
                        let rt = tokio::runtime::Builder::new_current_thread()
                            .build()
                            .unwrap();
                        let subject = Subject::new(&format!("bench.p{i}")).unwrap();
                        barrier.wait();
                        rt.block_on(async {
                            for n in 0..per_thread {
                                black_box(bus.publish(&subject, n).await.unwrap());
                            }
                        });
                    })
                })
                .collect();
            barrier.wait();
            let start = Instant::now();
            for h in handles {
                h.join().unwrap();
            }
            rounds.push((threads as u64 * per_thread) as f64 / start.elapsed().as_secs_f64());
        }
        median(rounds)
    };
    for threads in [1usize, 2] {
        let shared = measure(threads, &|_| bus.clone());
        let separate = measure(threads, &|i| own[i].clone());
        println!(
            "| {threads} | {:.1} M/s | {:.1} M/s | {:.1} M/s |",
            shared / 1e6,
            shared / 1e6 / threads as f64,
            separate / 1e6
        );
    }
    println!();
}

fn main() {
    let bus = start_bus(BusConfig::default().health_interval(Duration::from_secs(1)));
    let wanted: Vec<String> = std::env::args().skip(1).collect();
    let run = |name: &str| wanted.is_empty() || wanted.iter().any(|w| w == name);
    println!(
        "# servitor event bus benchmarks (`cargo run --release -p servitor-benches --bin bus`)\n"
    );
    if run("fanout") {
        fanout(&bus, false);
    }
    if wanted.iter().any(|w| w == "fanout1") {
        fanout(&bus, true);
    }
    if run("trie") {
        trie_curve(&bus);
    }
    if run("publishers") {
        publishers(&bus);
    }
}
