//! Periodic services: ticking, failure counting, retry backoff, verdicts,
//! health details, and stopping.

use crate::support::probes::start_one_with;
use parking_lot::Mutex;
use servitor::testing::{Journal, TestTree};
use servitor::Backoff;
use servitor::{ChildSpec, RuntimeConfig, ServiceContext, Status, Ticker, TickerConfig, Verdict};
use std::collections::VecDeque;
use std::fmt;
use std::sync::Arc;
use std::time::Duration;
use tokio::time::Instant;

const SECOND: Duration = Duration::from_secs(1);

fn ms(n: u64) -> Duration {
    Duration::from_millis(n)
}

#[derive(Debug, Clone, Copy, PartialEq)]
enum PollError {
    Connection,
    Auth,
}

impl fmt::Display for PollError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            PollError::Connection => "connection refused",
            PollError::Auth => "bad credentials",
        })
    }
}

/// What one tick does: take `took`, then end with `result`.
#[derive(Debug, Clone, Copy)]
struct Outcome {
    took: Duration,
    result: Result<(), PollError>,
}

const OK: Outcome = Outcome {
    took: Duration::ZERO,
    result: Ok(()),
};
const REFUSED: Outcome = Outcome {
    took: Duration::ZERO,
    result: Err(PollError::Connection),
};
const AUTH: Outcome = Outcome {
    took: Duration::ZERO,
    result: Err(PollError::Auth),
};

/// The plan of the next ticks, and what the ticks did.
struct Script {
    base: Instant,
    plan: VecDeque<Outcome>,
    /// Used once the plan is exhausted.
    otherwise: Outcome,
    /// (incarnation, start time since `base`) of every tick.
    ticks: Vec<(u64, Duration)>,
    active: u32,
    max_active: u32,
}

type Shared = Arc<Mutex<Script>>;

fn script(plan: impl IntoIterator<Item = Outcome>, otherwise: Outcome) -> Shared {
    Arc::new(Mutex::new(Script {
        base: Instant::now(),
        plan: plan.into_iter().collect(),
        otherwise,
        ticks: Vec::new(),
        active: 0,
        max_active: 0,
    }))
}

impl Script {
    fn starts(&self) -> Vec<Duration> {
        self.ticks.iter().map(|t| t.1).collect()
    }

    fn gaps(&self) -> Vec<Duration> {
        self.starts().windows(2).map(|w| w[1] - w[0]).collect()
    }
}

struct Poller {
    script: Shared,
    journal: Journal,
}

impl Ticker for Poller {
    type Error = PollError;

    async fn tick(&mut self, cx: &ServiceContext) -> Result<(), PollError> {
        let outcome = {
            let mut s = self.script.lock();
            let at = s.base.elapsed();
            s.ticks.push((cx.incarnation(), at));
            s.active += 1;
            s.max_active = s.max_active.max(s.active);
            let otherwise = s.otherwise;
            s.plan.pop_front().unwrap_or(otherwise)
        };
        self.journal.record("tick:begin");
        tokio::time::sleep(outcome.took).await;
        self.script.lock().active -= 1;
        self.journal.record("tick:end");
        outcome.result
    }

    fn classify(&self, error: &PollError) -> Verdict {
        match error {
            PollError::Auth => Verdict::Stop,
            PollError::Connection => Verdict::Retry,
        }
    }

    async fn stop(&mut self, _: &ServiceContext) {
        self.journal.record("poller:stop");
    }
}

fn poller(config: TickerConfig, script: &Shared, journal: &Journal) -> ChildSpec {
    let (script, journal) = (script.clone(), journal.clone());
    ChildSpec::ticker("poller", config, move || Poller {
        script: script.clone(),
        journal: journal.clone(),
    })
    .unwrap()
}

/// Waits until `n` ticks have begun.
async fn wait_for_ticks(journal: &Journal, n: usize) {
    journal
        .wait_until(
            |e| e.iter().filter(|x| *x == "tick:begin").count() >= n,
            &format!("{n} ticks"),
            10 * SECOND,
        )
        .await
        .unwrap();
}

/// Asserts that two lists of durations agree within 5 ms each.
fn assert_close(actual: &[Duration], expected: &[Duration]) {
    let close = actual.len() == expected.len()
        && actual
            .iter()
            .zip(expected)
            .all(|(a, e)| a.max(e).saturating_sub(*a.min(e)) <= ms(5));
    assert!(close, "expected {expected:?}, got {actual:?}");
}

#[actix_rt::test]
async fn an_interval_of_100_ms_ticks_about_ten_times_in_one_second() {
    tokio::time::pause();
    let s = script([], OK);
    let tree = TestTree::start(poller(TickerConfig::every(ms(100)), &s, &Journal::new()))
        .await
        .unwrap();
    tokio::time::sleep(SECOND).await;
    let n = s.lock().ticks.len();
    assert!((10..=11).contains(&n), "{n} ticks in one second");
    assert_close(&s.lock().gaps()[..9], &[ms(100); 9]);
    tree.shutdown().await;
}

#[actix_rt::test]
async fn delay_first_tick_waits_one_interval_before_the_first_tick() {
    tokio::time::pause();
    let s = script([], OK);
    let config = TickerConfig::every(ms(500)).delay_first_tick();
    let tree = TestTree::start(poller(config, &s, &Journal::new()))
        .await
        .unwrap();
    tokio::time::sleep(ms(400)).await;
    assert!(s.lock().ticks.is_empty(), "ticked before one interval");
    tokio::time::sleep(ms(200)).await;
    assert_close(&s.lock().starts(), &[ms(500)]);
    tree.shutdown().await;
}

#[actix_rt::test]
async fn failed_ticks_show_warning_then_degraded_from_degraded_after() {
    tokio::time::pause();
    let s = script([], REFUSED);
    let config = TickerConfig::every(SECOND)
        .degraded_after(3)
        .max_failures(10)
        .retry(Backoff::exponential(ms(10), ms(10)));
    let tree = TestTree::start(poller(config, &s, &Journal::new()))
        .await
        .unwrap();
    let mut watch = tree.watch("poller");
    // (consecutive failures, status) of every change, up to the fourth failure.
    let mut seen = Vec::new();
    while seen.last().map(|s: &(u32, Status)| s.0) != Some(4) {
        let change = watch.next().await.unwrap();
        if let Some(message) = change.message {
            let n = message.split(' ').next().unwrap().parse().unwrap();
            assert!(message.contains("connection refused"), "{message}");
            seen.push((n, change.status));
        }
    }
    for &(n, status) in &seen {
        let expected = if n >= 3 {
            Status::Degraded
        } else {
            Status::Warning
        };
        assert_eq!(status, expected, "after {n} failures: {seen:?}");
    }
    assert!(seen.contains(&(2, Status::Warning)), "{seen:?}");
    assert!(seen.contains(&(3, Status::Degraded)), "{seen:?}");
    tree.shutdown().await;
}

#[actix_rt::test]
async fn the_retry_delay_doubles_per_consecutive_failure_up_to_the_cap() {
    tokio::time::pause();
    let s = script([], REFUSED);
    let config = TickerConfig::every(10 * SECOND)
        .max_failures(6)
        .retry(Backoff::exponential(ms(100), ms(400)));
    let tree = TestTree::start(poller(config, &s, &Journal::new()))
        .await
        .unwrap();
    tokio::time::sleep(ms(1_550)).await;
    let first: Vec<Duration> = {
        let s = s.lock();
        s.ticks.iter().filter(|t| t.0 == 1).map(|t| t.1).collect()
    };
    let gaps: Vec<Duration> = first.windows(2).map(|w| w[1] - w[0]).collect();
    assert_close(&gaps, &[ms(100), ms(200), ms(400), ms(400), ms(400)]);
    tree.shutdown().await;
}

#[actix_rt::test]
async fn a_success_returns_to_ok_and_to_the_normal_interval() {
    tokio::time::pause();
    let s = script([REFUSED, REFUSED, REFUSED], OK);
    let config = TickerConfig::every(SECOND).retry(Backoff::exponential(ms(100), ms(10_000)));
    let tree = TestTree::start(poller(config, &s, &Journal::new()))
        .await
        .unwrap();
    let mut watch = tree.watch("poller");
    watch.wait_for(Status::Degraded, SECOND).await.unwrap();
    watch.wait_for(Status::Ok, SECOND).await.unwrap();
    tokio::time::sleep(ms(2_100)).await;
    assert_close(
        &s.lock().gaps()[..5],
        &[ms(100), ms(200), ms(400), SECOND, SECOND],
    );
    assert_eq!(tree.status("poller"), Some(Status::Ok));
    assert_eq!(tree.restarts("poller"), 0);
    tree.shutdown().await;
}

#[actix_rt::test]
async fn after_max_failures_the_service_exits_with_an_error_and_is_restarted() {
    tokio::time::pause();
    let s = script([REFUSED, REFUSED, REFUSED], OK);
    let journal = Journal::new();
    let config = TickerConfig::every(SECOND)
        .max_failures(3)
        .retry(Backoff::exponential(ms(10), ms(100)));
    let tree = TestTree::start(poller(config, &s, &journal)).await.unwrap();
    let mut watch = tree.watch("poller");
    let error = watch.wait_for(Status::Error, SECOND).await.unwrap();
    assert!(
        error
            .message
            .unwrap()
            .contains("3 consecutive ticks failed"),
        "restart message names the failure"
    );
    watch.wait_for(Status::Ok, SECOND).await.unwrap();
    wait_for_ticks(&journal, 4).await;
    assert_eq!(tree.restarts("poller"), 1);
    let report = tree.runtime().registry().get("poller").unwrap();
    let failure = report.last_failure.unwrap();
    assert!(
        failure.contains("3 consecutive ticks failed") && failure.contains("connection refused"),
        "{failure}"
    );
    let incarnations: Vec<u64> = s.lock().ticks.iter().map(|t| t.0).collect();
    assert_eq!(
        incarnations,
        [1, 1, 1, 2],
        "the new incarnation ticks at once"
    );
    tree.shutdown().await;
}

#[actix_rt::test]
async fn a_stop_verdict_exits_at_once() {
    tokio::time::pause();
    let s = script([AUTH], OK);
    let journal = Journal::new();
    let config = TickerConfig::every(SECOND).max_failures(5);
    let tree = TestTree::start(poller(config, &s, &journal)).await.unwrap();
    let mut watch = tree.watch("poller");
    watch.wait_for(Status::Error, SECOND).await.unwrap();
    watch.wait_for(Status::Ok, SECOND).await.unwrap();
    wait_for_ticks(&journal, 2).await;
    assert_eq!(tree.restarts("poller"), 1);
    let failure = tree
        .runtime()
        .registry()
        .get("poller")
        .unwrap()
        .last_failure
        .unwrap();
    assert!(failure.contains("bad credentials"), "{failure}");
    let incarnations: Vec<u64> = s.lock().ticks.iter().map(|t| t.0).collect();
    assert_eq!(incarnations, [1, 2], "one failed tick was enough");
    tree.shutdown().await;
}

#[actix_rt::test]
async fn a_retry_verdict_retries_without_exiting() {
    tokio::time::pause();
    let s = script([REFUSED], OK);
    let config = TickerConfig::every(SECOND)
        .max_failures(5)
        .retry(Backoff::exponential(ms(50), ms(50)));
    let tree = TestTree::start(poller(config, &s, &Journal::new()))
        .await
        .unwrap();
    let mut watch = tree.watch("poller");
    watch.wait_for(Status::Warning, SECOND).await.unwrap();
    watch.wait_for(Status::Ok, SECOND).await.unwrap();
    assert_eq!(tree.restarts("poller"), 0);
    let ticks = s.lock().ticks.clone();
    assert_eq!(ticks.len(), 2);
    assert_eq!(ticks[1].0, 1, "the retry ran in the same incarnation");
    assert_close(&[ticks[1].1 - ticks[0].1], &[ms(50)]);
    tree.shutdown().await;
}

#[actix_rt::test]
async fn health_details_carry_the_tick_counters() {
    tokio::time::pause();
    let slow_failure = Outcome {
        took: ms(30),
        result: Err(PollError::Connection),
    };
    let s = script([OK, OK, slow_failure], OK);
    let config = TickerConfig::every(ms(100)).retry(Backoff::exponential(SECOND, SECOND));
    let tree = TestTree::start(poller(config, &s, &Journal::new()))
        .await
        .unwrap();
    tree.wait_for_status("poller", Status::Warning, SECOND)
        .await
        .unwrap();
    let report = tree.runtime().registry().get("poller").unwrap();
    let d = &report.details;
    assert_eq!(d["processed"], 2, "{d:?}");
    assert_eq!(d["errors"], 1, "{d:?}");
    assert_eq!(d["consecutive_failures"], 1, "{d:?}");
    assert_eq!(d["last_error"], "connection refused", "{d:?}");
    let took = d["last_duration_ms"].as_f64().expect("a number");
    assert!((took - 30.0).abs() < 5.0, "last_duration_ms {took}");
    let last_run = d["last_run_ms"].as_u64().expect("a number");
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_millis() as u64;
    assert!(
        now.abs_diff(last_run) < 60_000,
        "last_run_ms {last_run} is not a recent wall-clock time"
    );

    tree.wait_for_status("poller", Status::Ok, 2 * SECOND)
        .await
        .unwrap();
    let d = tree.runtime().registry().get("poller").unwrap().details;
    assert_eq!(d["processed"], 3, "{d:?}");
    assert_eq!(d["consecutive_failures"], 0, "{d:?}");
    tree.shutdown().await;
}

#[actix_rt::test]
async fn ticks_never_overlap_even_when_a_tick_outlasts_the_interval() {
    tokio::time::pause();
    let slow = Outcome {
        took: ms(250),
        result: Ok(()),
    };
    let s = script([], slow);
    let tree = TestTree::start(poller(TickerConfig::every(ms(100)), &s, &Journal::new()))
        .await
        .unwrap();
    tokio::time::sleep(2 * SECOND).await;
    {
        let s = s.lock();
        assert_eq!(s.max_active, 1, "two ticks ran at once");
        assert!(s.ticks.len() >= 4);
        // The next tick starts one interval after the last one ended.
        assert_close(&s.gaps()[..4], &[ms(350); 4]);
    }
    tree.shutdown().await;
}

#[actix_rt::test]
async fn a_stop_during_a_tick_lets_the_tick_finish_then_runs_the_stop_hook() {
    tokio::time::pause();
    let journal = Journal::new();
    let slow = Outcome {
        took: 2 * SECOND,
        result: Ok(()),
    };
    let s = script([], slow);
    let spec = poller(TickerConfig::every(SECOND), &s, &journal).shutdown_timeout(5 * SECOND);
    let tree = start_one_with(spec, RuntimeConfig::default()).await;
    journal.wait_for("tick:begin", SECOND).await.unwrap();
    let began = Instant::now();
    let report = tree.shutdown().await;
    assert!(report.killed.is_empty(), "killed: {:?}", report.killed);
    assert!(began.elapsed() < 3 * SECOND, "took {:?}", began.elapsed());
    assert_eq!(journal.entries(), ["tick:begin", "tick:end", "poller:stop"]);
}

#[test]
fn retry_after_doubles_from_the_first_delay_and_saturates_at_the_cap() {
    let config = TickerConfig::every(SECOND).retry(Backoff::exponential(ms(100), ms(1_000)));
    let delays: Vec<Duration> = (1..=6).map(|n| config.retry_after(n)).collect();
    assert_eq!(
        delays,
        [ms(100), ms(200), ms(400), ms(800), ms(1_000), ms(1_000)]
    );
    assert_eq!(config.retry_after(u32::MAX), ms(1_000));
    // An uncapped backoff (the largest cap) saturates instead of panicking.
    let uncapped = TickerConfig::every(SECOND).retry(Backoff::exponential(SECOND, Duration::MAX));
    assert_eq!(uncapped.retry_after(10), 512 * SECOND);
    assert_eq!(uncapped.retry_after(200), Duration::MAX);
    assert_eq!(uncapped.retry_after(u32::MAX), Duration::MAX);
}

/// Ticks normally until told to hang, then never finishes a tick.
struct Hangs {
    hang: Arc<std::sync::atomic::AtomicBool>,
}

impl Ticker for Hangs {
    type Error = PollError;
    async fn tick(&mut self, _cx: &ServiceContext) -> Result<(), PollError> {
        if self.hang.load(std::sync::atomic::Ordering::SeqCst) {
            std::future::pending::<()>().await;
        }
        Ok(())
    }
}

#[actix_rt::test]
async fn a_tick_that_hangs_turns_the_service_stale_although_its_actor_is_alive() {
    tokio::time::pause();
    let hang = Arc::new(std::sync::atomic::AtomicBool::new(false));
    let flag = hang.clone();
    let config = TickerConfig::every(ms(100)).retry(Backoff::exponential(ms(100), ms(100)));
    let tree = start_one_with(
        ChildSpec::ticker("poller", config, move || Hangs { hang: flag.clone() }).unwrap(),
        crate::support::probes::fast_sweep(),
    )
    .await;
    let mut watch = tree.watch("poller");
    watch.wait_for(Status::Ok, SECOND).await.unwrap();
    tokio::time::sleep(SECOND).await;
    assert_eq!(
        tree.status("poller"),
        Some(Status::Ok),
        "ticking keeps it fresh"
    );
    hang.store(true, std::sync::atomic::Ordering::SeqCst);
    let stale = watch.wait_for(Status::Stale, 2 * SECOND).await.unwrap();
    assert!(stale.message.unwrap().contains("no heartbeat"));
}
