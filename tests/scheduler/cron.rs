//! Cron schedules: parsing (5 fields, or 6 with seconds), typed errors for
//! invalid expressions, next occurrences for an injected "now" (UTC wall
//! clock), and cron jobs running in the scheduler.

use chrono::{TimeZone, Utc};
use servitor::scheduler::{Schedule, Scheduler, SchedulerConfig, SchedulerError};
use servitor::testing::TestTree;
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::Arc;
use std::time::Duration;

fn at(y: i32, mo: u32, d: u32, h: u32, mi: u32, s: u32) -> chrono::DateTime<Utc> {
    Utc.with_ymd_and_hms(y, mo, d, h, mi, s).unwrap()
}

#[test]
fn the_next_occurrence_is_the_first_match_strictly_after_now() {
    let every_15_min = Schedule::cron("*/15 * * * *").unwrap();
    let now = at(2026, 3, 1, 10, 7, 30);
    assert_eq!(
        every_15_min.next_after(now),
        Some(at(2026, 3, 1, 10, 15, 0))
    );
    // A "now" exactly on a match yields the next one, not itself.
    assert_eq!(
        every_15_min.next_after(at(2026, 3, 1, 10, 15, 0)),
        Some(at(2026, 3, 1, 10, 30, 0))
    );
    let nightly = Schedule::cron("30 2 * * *").unwrap();
    assert_eq!(
        nightly.next_after(at(2026, 12, 31, 3, 0, 0)),
        Some(at(2027, 1, 1, 2, 30, 0))
    );
}

#[test]
fn day_of_week_and_month_fields_are_honoured() {
    // Mondays at 09:00. 2026-03-04 is a Wednesday.
    let mondays = Schedule::cron("0 9 * * MON").unwrap();
    assert_eq!(
        mondays.next_after(at(2026, 3, 4, 12, 0, 0)),
        Some(at(2026, 3, 9, 9, 0, 0))
    );
    let first_of_june = Schedule::cron("0 0 1 JUN *").unwrap();
    assert_eq!(
        first_of_june.next_after(at(2026, 7, 1, 0, 0, 0)),
        Some(at(2027, 6, 1, 0, 0, 0))
    );
}

#[test]
fn a_sixth_leading_field_is_seconds() {
    let every_10_s = Schedule::cron("*/10 * * * * *").unwrap();
    assert_eq!(
        every_10_s.next_after(at(2026, 1, 1, 0, 0, 1)),
        Some(at(2026, 1, 1, 0, 0, 10))
    );
}

#[test]
fn an_invalid_expression_is_a_typed_error_naming_it() {
    for bad in ["61 * * * *", "* * *", "not cron", "", "* * * * * * * *"] {
        match Schedule::cron(bad) {
            Err(SchedulerError::InvalidCron {
                expression,
                problem,
            }) => {
                assert_eq!(expression, bad);
                assert!(!problem.is_empty());
                let shown = SchedulerError::InvalidCron {
                    expression,
                    problem,
                }
                .to_string();
                assert!(shown.contains(&format!("`{bad}`")), "{shown}");
            }
            other => panic!("`{bad}` gave {other:?}"),
        }
    }
}

#[test]
fn schedules_display_what_they_are() {
    assert_eq!(
        Schedule::cron("0 * * * *").unwrap().to_string(),
        "cron `0 * * * *`"
    );
    assert_eq!(
        Schedule::every(Duration::from_secs(2)).to_string(),
        "every 2s"
    );
}

#[actix_rt::test]
async fn a_cron_job_runs_at_its_occurrences() {
    tokio::time::pause();
    let (spec, jobs) = Scheduler::service("jobs", SchedulerConfig::default()).unwrap();
    let tree = TestTree::start(spec).await.unwrap();
    let count = Arc::new(AtomicU32::new(0));
    let c = count.clone();
    jobs.add(
        "every-second",
        Schedule::cron("* * * * * *").unwrap(),
        move || {
            c.fetch_add(1, Ordering::SeqCst);
            async { Ok::<_, String>(()) }
        },
    )
    .unwrap();
    let stats = jobs.stats("every-second").unwrap();
    assert_eq!(stats.schedule, "cron `* * * * * *`");
    let first = stats.next_run.unwrap() - tokio::time::Instant::now();
    assert!(
        first <= Duration::from_secs(1),
        "the next whole second: {first:?}"
    );
    // Cron deadlines come from the wall clock, which does not pause with
    // tokio's clock: each next occurrence is converted to a deadline against
    // a wall clock that stood (nearly) still, so in virtual time the gaps
    // grow. The exact occurrence logic is tested above with an injected now.
    tokio::time::sleep(Duration::from_millis(3500)).await;
    let runs = count.load(Ordering::SeqCst);
    assert!((2..=4).contains(&runs), "{runs} runs in 3.5 s");
    tree.shutdown().await;
}
