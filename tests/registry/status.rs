//! The status model: a total severity order, worst-wins aggregation, and the
//! JSON shape of health reports.

use servitor::health::{HealthReport, HealthSnapshot};
use servitor::status::aggregate;
use servitor::Status;
use std::collections::HashSet;

#[test]
fn every_status_has_a_distinct_severity_rising_along_all() {
    let severities: Vec<u8> = Status::ALL.iter().map(|s| s.severity()).collect();
    assert!(
        severities.windows(2).all(|w| w[0] < w[1]),
        "not strictly increasing: {severities:?}"
    );
    let distinct: HashSet<Status> = Status::ALL.into_iter().collect();
    assert_eq!(distinct.len(), Status::ALL.len());
    // Every variant is listed: each JSON name round-trips and is in ALL.
    for name in [
        "ok", "idle", "busy", "stopped", "starting", "stopping", "unknown", "warning", "degraded",
        "stale", "error", "failed",
    ] {
        let s: Status = serde_json::from_value(name.into()).unwrap();
        assert!(Status::ALL.contains(&s), "{name} missing from ALL");
    }
}

#[test]
fn ordering_agrees_with_severity_for_every_pair() {
    for a in Status::ALL {
        for b in Status::ALL {
            assert_eq!(a.cmp(&b), a.severity().cmp(&b.severity()), "{a} vs {b}");
            assert_eq!(a == b, a.severity() == b.severity(), "{a} vs {b}");
        }
    }
}

#[test]
fn faults_rank_warning_then_degraded_then_stale_then_error_then_failed_above_healthy() {
    let chain = [
        Status::Ok,
        Status::Warning,
        Status::Degraded,
        Status::Stale,
        Status::Error,
        Status::Failed,
    ];
    assert!(chain.windows(2).all(|w| w[0] < w[1]), "{chain:?}");
    for healthy in [Status::Ok, Status::Idle, Status::Busy] {
        assert!(healthy < Status::Warning);
        assert!(healthy < Status::Unknown);
    }
}

#[test]
fn aggregation_is_worst_wins_and_unknown_for_an_empty_group() {
    assert_eq!(
        aggregate([Status::Ok, Status::Ok, Status::Degraded, Status::Error]),
        Status::Error
    );
    assert_eq!(
        aggregate([Status::Error, Status::Degraded, Status::Ok, Status::Ok]),
        Status::Error,
        "order does not matter"
    );
    assert_eq!(aggregate([Status::Ok, Status::Warning]), Status::Warning);
    assert_eq!(aggregate([Status::Idle]), Status::Idle);
    assert_eq!(aggregate(std::iter::empty()), Status::Unknown);
    assert_eq!(aggregate(Status::ALL), Status::Failed);
}

#[test]
fn only_ok_idle_and_busy_are_healthy() {
    let healthy: Vec<Status> = Status::ALL.into_iter().filter(|s| s.is_healthy()).collect();
    assert_eq!(healthy, [Status::Ok, Status::Idle, Status::Busy]);
}

#[test]
fn the_json_name_display_and_as_str_agree() {
    for s in Status::ALL {
        let json = serde_json::to_value(s).unwrap();
        assert_eq!(json, s.as_str());
        assert_eq!(s.to_string(), s.as_str());
        assert_eq!(serde_json::from_value::<Status>(json).unwrap(), s);
    }
}

#[test]
fn a_health_report_serializes_every_documented_field() {
    let mut report = HealthReport::new("ingest", "app/ingest", Status::Degraded);
    report.message = Some("queue above 1000".into());
    report.uptime_ms = 1_500;
    report.restarts = 2;
    report.last_failure = Some("panicked: boom".into());
    report.details.insert("queue_depth".into(), 1_200.into());
    let json = serde_json::to_value(&report).unwrap();
    let keys: HashSet<&str> = json
        .as_object()
        .unwrap()
        .keys()
        .map(|k| k.as_str())
        .collect();
    for key in [
        "name",
        "path",
        "kind",
        "status",
        "message",
        "status_since_ms",
        "uptime_ms",
        "restarts",
        "last_failure",
        "details",
    ] {
        assert!(keys.contains(key), "`{key}` missing from {json}");
    }
    assert_eq!(json["name"], "ingest");
    assert_eq!(json["status"], "degraded");
    assert_eq!(json["message"], "queue above 1000");
    assert_eq!(json["uptime_ms"], 1_500);
    assert_eq!(json["restarts"], 2);
    assert_eq!(json["last_failure"], "panicked: boom");
    assert_eq!(json["details"]["queue_depth"], 1_200);
    assert!(json["status_since_ms"].as_u64().unwrap() > 0);
    let back: HealthReport = serde_json::from_value(json).unwrap();
    assert_eq!(back, report);
}

#[test]
fn a_snapshot_sorts_by_path_and_aggregates_overall_and_per_subtree() {
    let snapshot = HealthSnapshot::from_reports(vec![
        HealthReport::new("b", "app/workers/b", Status::Degraded),
        HealthReport::new("app", "app", Status::Ok),
        HealthReport::new("a", "app/a", Status::Ok),
        HealthReport::new("workers", "app/workers", Status::Ok),
        HealthReport::new("workers2", "app/workers2", Status::Error),
    ]);
    let paths: Vec<&str> = snapshot.services.iter().map(|r| r.path.as_str()).collect();
    assert_eq!(
        paths,
        [
            "app",
            "app/a",
            "app/workers",
            "app/workers/b",
            "app/workers2"
        ]
    );
    assert_eq!(snapshot.status, Status::Error);
    // `app/workers2` is a sibling, not a member, of `app/workers`.
    assert_eq!(snapshot.subtree("app/workers"), Some(Status::Degraded));
    assert_eq!(snapshot.subtree("app/a"), Some(Status::Ok));
    assert_eq!(snapshot.subtree("app"), Some(Status::Error));
    assert_eq!(snapshot.subtree("elsewhere"), None);
    assert_eq!(snapshot.get("b").unwrap().status, Status::Degraded);
    assert_eq!(
        HealthSnapshot::from_reports(Vec::new()).status,
        Status::Unknown
    );
}

#[test]
fn the_table_labels_what_is_what_and_shows_each_supervisors_subtree() {
    let mut app = HealthReport::new("app", "app", Status::Ok);
    app.kind = servitor::NodeKind::Supervisor;
    let mut workers = HealthReport::new("workers", "app/workers", Status::Ok);
    workers.kind = servitor::NodeKind::Supervisor;
    let mut ingest = HealthReport::new("ingest", "app/ingest", Status::Ok);
    ingest.restarts = 2;
    ingest.uptime_ms = 1_500;
    ingest.last_failure = Some("panicked: poisoned order".into());
    let mut writer = HealthReport::new("writer", "app/workers/writer", Status::Error);
    writer.message = Some("restarting in 200 ms after: panicked: disk".into());
    writer.last_failure = Some("panicked: disk".into());
    let mut job = HealthReport::new("import", "app/import", Status::Stopped);
    job.ended_at_ms = Some(1);
    job.message = Some("ended: finished normally".into());
    let snapshot = HealthSnapshot::new(vec![app, ingest, workers, writer, job]);
    let table = snapshot.table();
    let line = |name: &str| {
        table
            .lines()
            .find(|l| l.trim_start().starts_with(name))
            .unwrap_or_else(|| panic!("no `{name}` in\n{table}"))
            .to_string()
    };
    // A recovered service: ok, and its last failure labelled as such.
    let ingest = line("ingest");
    assert!(
        ingest.contains(" ok ") && ingest.contains("last failure: panicked: poisoned order"),
        "{ingest}"
    );
    assert!(ingest.contains("1.5s"), "{ingest}");
    // Supervisors show the worst of their subtree next to their own status.
    let app = line("app");
    assert!(app.contains(" ok ") && app.contains(" error "), "{app}");
    let workers = line("workers");
    assert!(workers.contains(" error "), "{workers}");
    // The message already names the failure: not repeated.
    assert!(!line("writer").contains("last failure"), "{table}");
    assert!(line("import").contains("stopped (ended)"), "{table}");
    assert!(
        table.ends_with("overall: error (4 services: 1 error)\n"),
        "{table}"
    );
    let healthy = HealthSnapshot::new(vec![
        HealthReport::new("a", "a", Status::Idle),
        HealthReport::new("b", "a/b", Status::Busy),
    ]);
    assert_eq!(healthy.summary(), "overall: ok (2 services, all healthy)");
}
