//! Durations as large as `Duration::MAX` mean "never" and saturate; they
//! never panic inside the library or switch staleness detection off.

use crate::support::probes::{dial, GetContext, Stall};
use servitor::bus::{BusConfig, EventBus};
use servitor::cache::{Cache, CacheConfig};
use servitor::prelude::*;
use servitor::registry::RegistryConfig;
use servitor::tasks::{Tasks, TasksConfig};
use servitor::testing::TestTree;
use std::time::Duration;

struct Never;

impl Ticker for Never {
    type Error = String;
    async fn tick(&mut self, _: &ServiceContext) -> Result<(), String> {
        Ok(())
    }
}

#[derive(Default)]
struct Sleepy;
impl Actor for Sleepy {
    type Context = Context<Self>;
}
impl Service for Sleepy {
    fn health_interval(&self) -> Duration {
        Duration::MAX
    }
}

#[actix_rt::test]
async fn huge_health_intervals_and_stale_after_keep_staleness_detection_working() {
    tokio::time::pause();
    let (cache, _c) = Cache::<u32, u32>::service(
        "cache",
        CacheConfig {
            sweep_interval: Duration::MAX,
            ..CacheConfig::default()
        },
    )
    .unwrap();
    let (bus, _b) =
        EventBus::<u32>::service("bus", BusConfig::default().health_interval(Duration::MAX))
            .unwrap();
    let (tasks, _t) = Tasks::service(
        "tasks",
        TasksConfig {
            health_interval: Duration::MAX,
            ..TasksConfig::default()
        },
    )
    .unwrap();
    let ticker = ChildSpec::ticker(
        "ticker",
        TickerConfig::every(Duration::MAX)
            .retry(Backoff::exponential(Duration::from_secs(1), Duration::MAX)),
        || Never,
    )
    .unwrap();
    let tree = Supervisor::builder("root")
        .health_interval(Duration::MAX)
        .child(
            Supervisor::builder("mid")
                .health_interval(Duration::MAX)
                .child(ChildSpec::service("sleepy", Sleepy::default)),
        )
        .child(cache)
        .child(bus)
        .child(tasks)
        .child(ticker)
        .child(dial("zombie", Duration::from_millis(100)))
        .build()
        .unwrap();
    let config = RuntimeConfig {
        registry: RegistryConfig {
            stale_after: 1e300,
            sweep_interval: Duration::from_millis(10),
            ..RegistryConfig::default()
        },
        ..TestTree::config()
    };
    let tree = TestTree::start_spec(tree, config).await.unwrap();
    // 1e300 × 100 ms is "never": the zombie is not marked stale...
    tokio::time::sleep(Duration::from_secs(5)).await;
    assert_eq!(tree.status("zombie"), Some(Status::Ok));
    assert!(tree.runtime().is_running());
    tree.shutdown().await;

    // ...while with a finite factor, a stalled service still is.
    let tree = Supervisor::builder("root")
        .health_interval(Duration::MAX)
        .child(ChildSpec::service("sleepy", Sleepy::default))
        .child(dial("zombie", Duration::from_millis(100)))
        .build()
        .unwrap();
    let config = RuntimeConfig {
        registry: RegistryConfig {
            sweep_interval: Duration::from_millis(10),
            ..RegistryConfig::default()
        },
        ..TestTree::config()
    };
    let tree = TestTree::start_spec(tree, config).await.unwrap();
    let zombie = tree
        .runtime()
        .service::<crate::support::probes::Dial>("zombie")
        .unwrap();
    let _cx = zombie.call(GetContext).await.unwrap();
    let (_hold, until) = tokio::sync::oneshot::channel();
    zombie.tell(Stall(until)).unwrap();
    tree.wait_for_status("zombie", Status::Stale, Duration::from_secs(5))
        .await
        .unwrap();
    tree.shutdown().await;
}
