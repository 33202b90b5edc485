//! servitor's benchmarks, each against a peer measured in the same run.
//!
//! ```text
//! cargo run --release -p servitor-benches            # everything
//! cargo run --release -p servitor-benches -- restart # one or more sections
//! ```
//!
//! Sections: `call`, `restart`, `children`, `registry`. Timing is by hand
//! (`Instant`), medians over rounds or iterations; heap figures come from a
//! counting global allocator.

mod call;
mod children;
mod registry;
mod restart;

use servitor_benches::{actors, alloc, paired, report, rt};

#[global_allocator]
static ALLOC: alloc::Counting = alloc::Counting;

type Section = (&'static str, fn(&mut Vec<report::Row>));

const SECTIONS: [Section; 4] = [
    ("call", call::run),
    ("restart", restart::run),
    ("children", children::run),
    ("registry", registry::run),
];

fn main() {
    // Panics are part of the restart benchmark; printing each one to stderr
    // would cost more than the restart itself, for every contender. Any
    // other panic is a broken benchmark and is printed.
    let default = std::panic::take_hook();
    std::panic::set_hook(Box::new(move |info| {
        if info.payload().downcast_ref::<&str>() != Some(&"boom") {
            default(info);
        }
    }));
    let wanted: Vec<String> = std::env::args().skip(1).collect();
    if let [flag, who, n] = &wanted[..] {
        if flag == children::START_ONCE {
            let n = n.parse().expect("a number of children");
            println!("{}", children::start_once(who, n));
            std::process::exit(0);
        }
    }
    for w in &wanted {
        if !SECTIONS.iter().any(|(name, _)| name == w) {
            eprintln!("unknown section `{w}`; sections: call, restart, children, registry");
            std::process::exit(2);
        }
    }
    let started = std::time::Instant::now();
    let mut rows = Vec::new();
    for (name, run) in SECTIONS {
        if wanted.is_empty() || wanted.iter().any(|w| w == name) {
            eprintln!("running {name} …");
            let t = std::time::Instant::now();
            run(&mut rows);
            eprintln!("  {name} took {:.1} s", t.elapsed().as_secs_f64());
        }
    }
    println!("{}", report::table(&rows));
    println!(
        "ratio = servitor / peer (lower is better for servitor); total {:.1} s",
        started.elapsed().as_secs_f64()
    );
}
