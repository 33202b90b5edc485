//! The table, the legend, the detail blocks and the watch lines. Everything
//! is written with ANSI styles; the output stream drops them when it is not
//! a terminal or `NO_COLOR` is set.

use anstyle::{AnsiColor, Style};
use comfy_table::{presets, CellAlignment, ColumnConstraint, ContentArrangement, Table, Width};
use servitor_health::{HealthReport, HealthSnapshot, NodeKind, Status};
use std::fmt::Write as _;

/// A status's symbol and colour.
pub fn symbol(status: Status) -> (&'static str, Style) {
    let color = |c: AnsiColor| Style::new().fg_color(Some(c.into()));
    match status {
        Status::Ok => ("●", color(AnsiColor::Green)),
        Status::Idle => ("●", color(AnsiColor::Cyan)),
        Status::Busy => ("●", color(AnsiColor::Blue)),
        Status::Warning | Status::Degraded => ("◐", color(AnsiColor::Yellow)),
        Status::Error | Status::Failed => ("×", color(AnsiColor::Red).bold()),
        Status::Stale => ("⚠", color(AnsiColor::Magenta).bold()),
        Status::Starting | Status::Stopping | Status::Stopped | Status::Unknown => {
            ("○", Style::new().dimmed())
        }
    }
}

fn painted(style: Style, text: &str) -> String {
    format!("{style}{text}{style:#}")
}

/// `● ok`, coloured.
pub fn status_cell(report: &HealthReport) -> String {
    let (sym, style) = symbol(report.status);
    let word = if report.is_ended() {
        format!("{} (ended)", report.status)
    } else {
        report.status.to_string()
    };
    painted(style, &format!("{sym} {word}"))
}

/// `3d 4h`, `2h 5m`, `1m 12s`, `4.2s`, `–`.
pub fn duration(ms: u64) -> String {
    if ms == 0 {
        return "–".into();
    }
    let s = ms / 1000;
    let (d, h, m) = (s / 86_400, s % 86_400 / 3600, s % 3600 / 60);
    if d > 0 {
        format!("{d}d {h}h")
    } else if h > 0 {
        format!("{h}h {m}m")
    } else if m > 0 {
        format!("{m}m {}s", s % 60)
    } else {
        format!("{:.1}s", ms as f64 / 1000.0)
    }
}

fn note(r: &HealthReport) -> String {
    let dim = Style::new().dimmed();
    match (&r.message, &r.last_failure) {
        (Some(m), Some(f)) if m.contains(f.as_str()) => m.clone(),
        (Some(m), Some(f)) if !r.status.is_healthy() => {
            format!("{m} {}", painted(dim, &format!("(last failure: {f})")))
        }
        (Some(m), _) => m.clone(),
        (None, Some(f)) if !r.status.is_healthy() => painted(dim, &format!("last failure: {f}")),
        _ => String::new(),
    }
}

/// The table of `services` (already filtered), one row per service,
/// indented by depth, and the summary line.
pub fn table(snapshot: &HealthSnapshot, width: Option<u16>) -> String {
    let bold = Style::new().bold();
    let mut table = Table::new();
    table.load_preset(presets::NOTHING);
    table.set_header(
        ["SERVICE", "STATUS", "UPTIME", "RESTARTS", "MESSAGE"].map(|h| painted(bold, h)),
    );
    match width {
        Some(w) => {
            table.set_width(w);
            table.set_content_arrangement(ContentArrangement::Dynamic);
        }
        None => {
            table.set_content_arrangement(ContentArrangement::Disabled);
        }
    }
    let top = snapshot
        .services
        .iter()
        .map(|r| r.path.matches('/').count())
        .min()
        .unwrap_or(0);
    for r in &snapshot.services {
        let depth = r.path.matches('/').count() - top;
        let name = if r.kind == NodeKind::Supervisor {
            painted(bold, &r.name)
        } else {
            r.name.clone()
        };
        table.add_row(vec![
            format!("{}{}", "  ".repeat(depth), name),
            status_cell(r),
            duration(r.uptime_ms),
            r.restarts.to_string(),
            note(r),
        ]);
    }
    for (i, align) in [(2, CellAlignment::Right), (3, CellAlignment::Right)] {
        if let Some(column) = table.column_mut(i) {
            column.set_cell_alignment(align);
        }
    }
    for i in 0..5 {
        if let Some(column) = table.column_mut(i) {
            column.set_padding((0, 2));
            if i < 4 {
                column.set_constraint(ColumnConstraint::ContentWidth);
            }
        }
    }
    if let Some(column) = table.column_mut(4) {
        column.set_constraint(ColumnConstraint::LowerBoundary(Width::Fixed(20)));
    }
    let mut out = String::new();
    for line in table.to_string().lines() {
        out.push_str(line.trim_end());
        out.push('\n');
    }
    out.push_str(&summary(snapshot));
    out.push('\n');
    out
}

/// `overall: ● ok (14 services, all healthy)`, with the symbol of the
/// overall status.
pub fn summary(snapshot: &HealthSnapshot) -> String {
    let line = snapshot.summary();
    let (sym, style) = symbol(if snapshot.status.is_healthy() {
        Status::Ok
    } else {
        snapshot.status
    });
    match line.strip_prefix("overall: ") {
        Some(rest) => {
            let (word, tail) = rest.split_once(' ').unwrap_or((rest, ""));
            format!(
                "overall: {} {tail}",
                painted(style, &format!("{sym} {word}"))
            )
        }
        None => line,
    }
}

/// Below the table with `--detailed`: per service, where it is, what it
/// last failed with, and its details.
pub fn details(snapshot: &HealthSnapshot) -> String {
    let bold = Style::new().bold();
    let dim = Style::new().dimmed();
    let mut out = String::new();
    for r in &snapshot.services {
        let _ = writeln!(
            out,
            "\n{} {}",
            painted(bold, &r.name),
            painted(dim, &format!("({}, {})", r.path, kind(r)))
        );
        let mut field = |k: &str, v: String| {
            let _ = writeln!(out, "  {} {v}", painted(dim, &format!("{k:<24}")));
        };
        field("status", status_cell(r));
        if let Some(m) = &r.message {
            field("message", m.clone());
        }
        if let Some(f) = &r.last_failure {
            field("last failure", f.clone());
        }
        if let Some(at) = r.restart_at_ms {
            field("restart due at", format!("{at} (unix ms)"));
        }
        if let Some(at) = r.ended_at_ms {
            field("ended at", format!("{at} (unix ms)"));
        }
        if let Some(us) = r.check_duration_us {
            field("last health check took", format!("{us} µs"));
        }
        for (k, v) in &r.details {
            let shown = match v {
                serde_json::Value::String(s) => s.clone(),
                other => other.to_string(),
            };
            field(k, shown);
        }
    }
    out
}

fn kind(r: &HealthReport) -> &'static str {
    match r.kind {
        NodeKind::Supervisor => "supervisor",
        _ => "service",
    }
}

/// What each symbol means.
pub fn legend() -> String {
    let mut out = String::from("Legend:\n");
    for (statuses, meaning) in [
        (
            &[Status::Ok, Status::Idle, Status::Busy][..],
            "running and healthy (ok, idle, busy)",
        ),
        (
            &[Status::Warning, Status::Degraded][..],
            "running, needs attention (warning, degraded)",
        ),
        (
            &[Status::Error, Status::Failed][..],
            "crashed and restarting, or given up (error, failed)",
        ),
        (
            &[Status::Stale][..],
            "alive but silent: no heartbeat in time (stale)",
        ),
        (
            &[
                Status::Starting,
                Status::Stopping,
                Status::Stopped,
                Status::Unknown,
            ][..],
            "starting, stopping, stopped or not reported yet",
        ),
    ] {
        let marks: Vec<String> = statuses
            .iter()
            .map(|s| {
                let (sym, style) = symbol(*s);
                painted(style, &format!("{sym} {s}"))
            })
            .collect();
        let visible: usize = statuses
            .iter()
            .map(|s| s.as_str().chars().count() + 2)
            .sum::<usize>()
            + 2 * statuses.len().saturating_sub(1);
        let pad = " ".repeat(46usize.saturating_sub(visible).max(2));
        let _ = writeln!(out, "  {}{pad}{meaning}", marks.join("  "));
    }
    out.push_str("Exit codes: 0 healthy, 1 needs attention, 2 failing, 64 usage, 65 not a servitor endpoint, 66 no service matches, 69 unreachable, 77 refused (token).\n");
    out
}

/// One line per transition, for `--watch` when the output is not a
/// terminal: `+12.3s intake ok → error: restarting in 100 ms …`.
pub fn transition(
    elapsed_ms: u64,
    name: &str,
    from: Option<Status>,
    to: Status,
    message: Option<&str>,
) -> String {
    let (sym, style) = symbol(to);
    let from = from.map_or_else(|| "·".to_string(), |f| f.to_string());
    let message = message.map(|m| format!(": {m}")).unwrap_or_default();
    format!(
        "+{:.1}s {name} {from} → {}{message}",
        elapsed_ms as f64 / 1000.0,
        painted(style, &format!("{sym} {to}"))
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn strip(s: &str) -> String {
        let mut out = String::new();
        let mut chars = s.chars();
        while let Some(c) = chars.next() {
            if c == '\x1b' {
                for c in chars.by_ref() {
                    if c == 'm' {
                        break;
                    }
                }
            } else {
                out.push(c);
            }
        }
        out
    }

    #[test]
    fn every_status_has_the_symbol_the_issue_names() {
        assert_eq!(symbol(Status::Ok).0, "●");
        assert_eq!(symbol(Status::Degraded).0, "◐");
        assert_eq!(symbol(Status::Warning).0, "◐");
        assert_eq!(symbol(Status::Error).0, "×");
        assert_eq!(symbol(Status::Failed).0, "×");
        assert_eq!(symbol(Status::Stale).0, "⚠");
    }

    #[test]
    fn durations_read_as_people_write_them() {
        assert_eq!(duration(0), "–");
        assert_eq!(duration(4_200), "4.2s");
        assert_eq!(duration(72_000), "1m 12s");
        assert_eq!(duration(7_500_000), "2h 5m");
        assert_eq!(duration(3 * 86_400_000 + 4 * 3_600_000), "3d 4h");
    }

    #[test]
    fn the_table_indents_by_depth_and_sums_up() {
        let mut app = HealthReport::new("app", "app", Status::Ok);
        app.kind = NodeKind::Supervisor;
        app.uptime_ms = 1200;
        let mut db = HealthReport::new("db", "app/db", Status::Error);
        db.restarts = 2;
        db.message = Some("restarting in 50 ms after: timeout".into());
        db.last_failure = Some("timeout".into());
        let text = strip(&table(&HealthSnapshot::new(vec![app, db]), None));
        let lines: Vec<&str> = text.lines().collect();
        assert!(lines[0].starts_with("SERVICE"), "{text}");
        assert!(
            lines[1].starts_with("app ") && lines[1].contains("● ok") && lines[1].contains("1.2s"),
            "{text}"
        );
        assert!(lines[2].starts_with("  db "), "{text}");
        assert!(
            lines[2].contains("× error") && lines[2].contains("restarting in 50 ms after: timeout"),
            "{text}"
        );
        assert!(!lines[2].contains("last failure"), "{text}");
        assert_eq!(lines[3], "overall: × error (2 services: 1 error)", "{text}");
    }
}
