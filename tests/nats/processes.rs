//! Runtimes as separate OS processes, sharing bus topics through NATS.

use super::support::{eventually, nats_url, unique, Node};
use std::collections::BTreeMap;
use std::time::Duration;

const WITHIN: Duration = Duration::from_secs(20);

#[tokio::test]
async fn a_queue_group_spreads_jobs_over_processes_and_wildcard_fan_out_reaches_each() {
    let Some(url) =
        nats_url("a_queue_group_spreads_jobs_over_processes_and_wildcard_fan_out_reaches_each")
            .await
    else {
        return;
    };
    let app = unique("events");
    let w1 = Node::start(&url, &app, "worker", "w1", &[]).await;
    let w2 = Node::start(&url, &app, "worker", "w2", &[]).await;
    let mut producer = Node::start(&url, &app, "producer", "p1", &["--count", "40"]).await;
    producer.wait_line("reply 42", WITHIN).await;
    producer.wait_line("done p1 40", WITHIN).await;
    assert!(producer.exit(WITHIN).await.success());

    // `audit.>` has no queue group: every worker sees every event.
    for w in [&w1, &w2] {
        w.wait_until(WITHIN, |_| w.ids("audit").len() >= 40)
            .await
            .unwrap_or_else(|| panic!("{} saw {:?}", w.name, w.ids("audit")));
    }
    // `jobs.*` joins the queue group `workers`: each job is done once in
    // the fleet.
    let done = || {
        let mut all: Vec<u64> = w1.ids("job");
        all.extend(w2.ids("job"));
        all
    };
    // Jobs land on either worker: wait on both, not on one worker's output.
    eventually("every job done", WITHIN, || async {
        (done().len() >= 40).then_some(())
    })
    .await;
    let mut counts: BTreeMap<u64, usize> = BTreeMap::new();
    for id in done() {
        *counts.entry(id).or_default() += 1;
    }
    assert_eq!(
        counts.keys().copied().collect::<Vec<_>>(),
        (0..40).collect::<Vec<_>>()
    );
    assert!(
        counts.values().all(|&n| n == 1),
        "a job was done twice: {counts:?}"
    );
}

#[tokio::test]
async fn three_processes_split_one_queue_group() {
    let Some(url) = nats_url("three_processes_split_one_queue_group").await else {
        return;
    };
    let app = unique("three");
    let workers = [
        Node::start(&url, &app, "worker", "a", &[]).await,
        Node::start(&url, &app, "worker", "b", &[]).await,
    ];
    let mut producer = Node::start(&url, &app, "producer", "p", &["--count", "300"]).await;
    producer.wait_line("done p 300", WITHIN).await;
    assert!(producer.exit(WITHIN).await.success());
    let total = || workers.iter().map(|w| w.ids("job").len()).sum::<usize>();
    // Jobs land on either worker: wait on both, not on one worker's output.
    eventually("every job done", WITHIN, || async {
        (total() >= 300).then_some(())
    })
    .await;
    let per: Vec<usize> = workers.iter().map(|w| w.ids("job").len()).collect();
    assert_eq!(per.iter().sum::<usize>(), 300);
    // NATS spreads a queue group's messages at random: with 300 jobs each
    // member gets some.
    assert!(per.iter().all(|&n| n > 0), "{per:?}");
}
