//! A session cache as a supervised service: TTLs, LRU eviction, a removal
//! listener, single-flight loading, glob deletes, health details — and a
//! crash of the cache actor that loses no data.
//!
//! Run with `cargo run --example cache`.

use servitor::cache::{Cache, CacheConfig, RemovalCause};
use servitor::{Runtime, Strategy, Supervisor};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

#[actix_rt::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let expired = Arc::new(AtomicUsize::new(0));
    let counter = expired.clone();
    let (spec, sessions) = Cache::<String, String>::builder("sessions")
        .config(CacheConfig {
            capacity: 1_000,
            default_ttl: Some(Duration::from_millis(300)),
            sweep_interval: Duration::from_millis(100),
            ..CacheConfig::default()
        })
        .on_removal(move |key, _, cause| {
            if cause == RemovalCause::Expired {
                counter.fetch_add(1, Ordering::Relaxed);
            } else {
                println!("  listener: {key} left ({cause:?})");
            }
        })
        .build()?;

    let tree = Supervisor::builder("app")
        .strategy(Strategy::OneForOne)
        .intensity(5, Duration::from_secs(10))
        .child(spec)
        .build()?;
    let app = Runtime::start(tree).await?;

    println!("== set, get, TTL");
    sessions.set("session:ada".into(), "ada".into())?;
    sessions.set("session:bob".into(), "bob".into())?;
    println!("  get session:ada → {:?}", sessions.get("session:ada")?);
    println!("  ttl session:ada → {:?}", sessions.ttl("session:ada")?);
    sessions.persist("session:ada")?;
    println!("  after persist   → {:?}", sessions.ttl("session:ada")?);

    println!("== single-flight loading: 10 callers, 1 load");
    let loads = Arc::new(AtomicUsize::new(0));
    let callers = (0..10).map(|_| {
        let (sessions, loads) = (sessions.clone(), loads.clone());
        async move {
            sessions
                .get_or_insert_with("session:eve".into(), || async move {
                    loads.fetch_add(1, Ordering::Relaxed);
                    tokio::time::sleep(Duration::from_millis(20)).await;
                    Ok::<_, std::io::Error>("eve (from the database)".to_string())
                })
                .await
        }
    });
    let results = futures_util::future::join_all(callers).await;
    println!(
        "  {} callers got {:?}; the loader ran {} time(s)",
        results.len(),
        results[0].as_ref().map_err(|e| e.to_string())?,
        loads.load(Ordering::Relaxed)
    );

    println!("== glob delete");
    let removed = sessions.delete_pattern("session:[be]*")?;
    println!(
        "  delete_pattern(\"session:[be]*\") removed {removed}; left: {:?}",
        sessions.keys("*")?
    );

    println!("== the cache actor crashes: data and handle survive");
    app.supervisor("app")?
        .crash_child("sessions", "injected crash")
        .await?;
    println!(
        "  during the restart, get session:ada → {:?}",
        sessions.get("session:ada")?
    );
    tokio::time::sleep(Duration::from_millis(100)).await;
    let report = app.registry().get("sessions").expect("registered");
    println!(
        "  status {:?}, restarts {}, last failure {:?}",
        report.status, report.restarts, report.last_failure
    );

    println!("== 500 short-lived entries expire with nobody reading them");
    for i in 0..500 {
        sessions.set_with_ttl(format!("tmp:{i}"), "x".into(), Duration::from_millis(50))?;
    }
    tokio::time::sleep(Duration::from_millis(300)).await;
    println!(
        "  the sweep expired {} entries; len is now {}",
        expired.load(Ordering::Relaxed),
        sessions.len()?
    );

    println!("== health details");
    let details = app.registry().get("sessions").expect("registered").details;
    println!("{}", serde_json::to_string_pretty(&details)?);

    app.shutdown().await?;
    println!(
        "== after shutdown: {}",
        sessions.get("session:ada").unwrap_err()
    );
    Ok(())
}
