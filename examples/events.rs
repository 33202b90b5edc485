//! The event bus in one program: wildcards, the three kinds of subscriber,
//! a queue group of workers, request/reply, a slow subscriber whose losses
//! are reported, dead letters, and the bus's health.
//!
//! ```text
//! app (one-for-one)
//! └── events    the event bus (payload: Arc<Order>)
//! ```
//!
//! Run with `cargo run --example events`.

use servitor::bus::{BusConfig, EventBus, Overflow, TryRecvError};
use servitor::{Runtime, Status, Supervisor};
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::Arc;
use std::time::Duration;

#[derive(Debug)]
struct Order {
    id: u32,
    total_cents: u64,
}

#[actix_rt::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let config = BusConfig::default().health_interval(Duration::from_millis(100));
    let (spec, bus) = EventBus::<Arc<Order>>::service("events", config)?;
    let app = Runtime::start(Supervisor::builder("app").child(spec).build()?).await?;

    // A sync handler: runs inside `publish`, which reports its result.
    let _validate = bus.subscriber("orders.created").handler(|e| {
        if e.payload().total_cents == 0 {
            Err(format!("order {} is empty", e.payload().id))
        } else {
            Ok(())
        }
    })?;

    // A queue group: each order goes to one of three workers.
    let done = Arc::new(AtomicU32::new(0));
    let workers: Vec<_> = (0..3)
        .map(|w| {
            let done = done.clone();
            bus.subscriber("orders.*")
                .queue_group("fulfilment")
                .async_handler(move |e| {
                    let done = done.clone();
                    async move {
                        println!(
                            "worker {w} ships order {} ({})",
                            e.payload().id,
                            e.subject()
                        );
                        done.fetch_add(1, Ordering::SeqCst);
                    }
                })
        })
        .collect::<Result<_, _>>()?;

    // A slow auditor that keeps only the newest events and is told what it missed.
    let mut audit = bus
        .subscriber("orders.>")
        .capacity(4)
        .overflow(Overflow::DropOldest)
        .name("audit")
        .stream()?;

    // Overflow of a tiny dead-letter queue goes to `_dlq.<subject>`.
    let fragile = bus
        .subscriber("orders.created")
        .capacity(1)
        .overflow(Overflow::DeadLetter)
        .name("fragile")
        .stream()?;
    let mut dead = bus.subscribe("_dlq.>")?;

    // Request/reply: a pricing service answers with the order's total.
    let responder = bus.clone();
    let _pricing = bus.subscriber("pricing.quote").handler(move |req| {
        let quote = Order {
            id: req.payload().id,
            total_cents: 1_999,
        };
        responder.reply(req, Arc::new(quote)).map(|_| ())
    })?;

    for id in 1..=10 {
        let order = Arc::new(Order {
            id,
            total_cents: if id == 7 { 0 } else { u64::from(id) * 100 },
        });
        let published = bus.publish("orders.created", order).await?;
        if !published.handlers_ok() {
            println!("order {id}: {:?}", published.handlers);
        }
    }
    // The drops made the bus report itself degraded at once, with the culprits.
    let mut watch = app.registry().watch("events")?;
    watch
        .wait_for(Status::Degraded, Duration::from_secs(1))
        .await?;
    let health = app.registry().get("events").expect("registered");
    println!(
        "bus health: {:?} ({}); dropping: {}",
        health.status,
        health.message.unwrap_or_default(),
        health.details["dropping"]
    );

    loop {
        match audit.try_recv() {
            Ok(e) => println!("audit saw order {}", e.payload().id),
            Err(TryRecvError::Lagged { missed }) => {
                println!("audit missed {missed} orders (dropped as the oldest)")
            }
            Err(_) => break,
        }
    }
    while let Ok(letter) = dead.try_recv() {
        let why = letter.dead_letter().expect("a dead letter");
        println!(
            "dead letter: order {} from {} ({})",
            letter.payload().id,
            why.subject,
            why.reason
        );
    }
    // Every queue is read now but the fragile one's: let it go, then wait
    // for the workers. (`flush` waits for every queue, streams included.)
    drop(fragile);
    bus.flush().await;
    println!("workers shipped {} orders", done.load(Ordering::SeqCst));

    let quote = bus
        .request(
            "pricing.quote",
            Arc::new(Order {
                id: 42,
                total_cents: 0,
            }),
        )
        .await?;
    println!("quote for order {}: {} cents", quote.id, quote.total_cents);
    match bus
        .request_timeout(
            "pricing.refund",
            Arc::new(Order {
                id: 1,
                total_cents: 0,
            }),
            Duration::from_millis(50),
        )
        .await
    {
        Err(e) => println!("refund request: {e}"),
        Ok(_) => unreachable!("nobody answers refunds"),
    }

    drop((workers, audit, dead));
    app.shutdown().await?;
    match bus
        .publish(
            "orders.created",
            Arc::new(Order {
                id: 11,
                total_cents: 1,
            }),
        )
        .await
    {
        Err(e) => println!("after shutdown: {e}"),
        Ok(_) => unreachable!(),
    }
    Ok(())
}
