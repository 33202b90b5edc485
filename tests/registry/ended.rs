//! Final records: a service that ended for good leaves its last status,
//! reason and details in the registry for a while, then they are pruned by
//! age and count.

use crate::support::probes::{crash, ended, probe, Crash};
use servitor::registry::RegistryConfig;
use servitor::testing::{Journal, TestTree};
use servitor::{ChildSpec, RoutineFn, RuntimeConfig, ServiceContext, Status, Supervisor};
use std::time::Duration;

fn keeping(count: usize, for_: Duration) -> RuntimeConfig {
    RuntimeConfig {
        registry: RegistryConfig {
            sweep_interval: Duration::from_millis(10),
            retain_ended: count,
            retain_ended_for: for_,
            ..RegistryConfig::default()
        },
        ..TestTree::config()
    }
}

fn job(name: &str, fail: bool) -> ChildSpec {
    ChildSpec::routine(name, move || {
        RoutineFn(move |cx: ServiceContext| async move {
            cx.set_detail("imported", 42);
            if fail {
                Err("input missing".into())
            } else {
                Ok(())
            }
        })
    })
    .temporary()
}

#[actix_rt::test]
async fn an_ended_job_keeps_its_status_reason_and_details_until_its_time_is_up() {
    tokio::time::pause();
    let tree = Supervisor::builder("root")
        .child(job("import", true))
        .child(job("report", false))
        .build()
        .unwrap();
    let tree = TestTree::start_spec(tree, keeping(10, Duration::from_secs(60)))
        .await
        .unwrap();
    let rt = tree.runtime();
    ended(rt.registry(), "import").await;
    ended(rt.registry(), "report").await;
    let import = rt.registry().get("import").unwrap();
    assert_eq!(import.status, Status::Failed);
    assert_eq!(import.message.as_deref(), Some("ended: input missing"));
    assert_eq!(import.details["imported"], 42);
    assert!(import.ended_at_ms.is_some());
    let report = rt.registry().get("report").unwrap();
    assert_eq!(report.status, Status::Stopped);
    assert_eq!(report.details["imported"], 42);
    // The failed one shows in the overall health, the finished one does not.
    assert_eq!(rt.health().status, Status::Failed);
    assert_eq!(rt.registry().subtree_status("root"), Some(Status::Failed));

    tokio::time::sleep(Duration::from_secs(61)).await;
    assert!(rt.registry().get("import").is_none());
    assert!(rt.registry().get("report").is_none());
    assert_eq!(rt.health().status, Status::Ok);
    tree.shutdown().await;
}

#[actix_rt::test]
async fn at_most_the_configured_count_of_final_records_is_kept_oldest_dropped_first() {
    tokio::time::pause();
    let tree = TestTree::start_spec(
        Supervisor::builder("root").build().unwrap(),
        keeping(2, Duration::from_secs(3600)),
    )
    .await
    .unwrap();
    let rt = tree.runtime();
    for n in 0..4 {
        let name = format!("job{n}");
        rt.root().add_child(job(&name, false)).await.unwrap();
        ended(rt.registry(), &name).await;
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let kept: Vec<String> = rt
        .health()
        .services
        .into_iter()
        .filter(|r| r.is_ended())
        .map(|r| r.name)
        .collect();
    assert_eq!(kept, ["job2", "job3"]);
    tree.shutdown().await;
}

#[actix_rt::test]
async fn a_crashed_temporary_service_leaves_a_trace_and_its_name_is_free() {
    tokio::time::pause();
    let journal = Journal::new();
    let tree = Supervisor::builder("root")
        .child(probe("keep", &journal))
        .child(probe("tmp", &journal).temporary());
    let tree = TestTree::start_tree(tree).await.unwrap();
    let rt = tree.runtime();
    crash(rt, "tmp", Crash::Panic);
    ended(rt.registry(), "tmp").await;
    let trace = rt.registry().get("tmp").unwrap();
    assert_eq!(trace.status, Status::Failed);
    assert!(trace
        .last_failure
        .as_deref()
        .unwrap()
        .contains("tmp was told to panic"));
    assert_eq!(rt.health().status, Status::Failed);
    rt.root()
        .add_child(probe("tmp", &journal).temporary())
        .await
        .expect("the name is free");
    assert!(!rt.registry().get("tmp").unwrap().is_ended());
    tree.shutdown().await;
}
