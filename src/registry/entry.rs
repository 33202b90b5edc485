//! One registry entry and its status bookkeeping.

use super::watch::StatusChange;
use crate::health::HealthReport;
use crate::status::Status;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::mpsc;
use tokio::time::Instant;

pub(crate) struct Entry {
    /// Registration sequence numbers from the root down: sorting by it
    /// lists a tree depth first in start order.
    pub order: Arc<[u64]>,
    /// The report as served; its status is the effective one (stale overrides).
    pub report: HealthReport,
    /// The status the service itself last set (what stale hides).
    pub reported: Status,
    /// The message the service last set, kept only while stale hides it
    /// (otherwise it is the report's message).
    pub reported_message: Option<Box<str>>,
    pub incarnation: u64,
    pub heartbeat: Instant,
    pub interval: Duration,
    pub started: Option<Instant>,
    /// When the service ended for good: this is its final record.
    pub ended: Option<Instant>,
    /// Boxed: most services are never watched one by one.
    #[allow(clippy::box_collection)] // one word per entry, where a Vec takes three
    pub watchers: Option<Box<Vec<mpsc::UnboundedSender<StatusChange>>>>,
}

impl Entry {
    pub fn new(report: HealthReport, interval: Duration, now: Instant) -> Self {
        Entry {
            order: Arc::from([]),
            reported: report.status,
            reported_message: None,
            report,
            incarnation: 0,
            heartbeat: now,
            interval,
            started: None,
            ended: None,
            watchers: None,
        }
    }

    pub fn report_at(&self, now: Instant) -> HealthReport {
        let mut r = self.report.clone();
        r.uptime_ms = self
            .started
            .map(|s| now.saturating_duration_since(s).as_millis() as u64)
            .unwrap_or(0);
        r
    }

    pub fn change(&self, from: Option<Status>) -> StatusChange {
        StatusChange {
            name: self.report.name.clone(),
            from,
            status: self.report.status,
            message: self.report.message.clone(),
        }
    }

    /// Applies a status the service (or its supervisor) reported at `now`
    /// (read only if the status changed); true if the effective status or
    /// message changed (a change to announce).
    pub fn set_status(
        &mut self,
        status: Status,
        message: Option<String>,
        now: impl FnOnce() -> Instant,
    ) -> bool {
        self.reported = status;
        self.reported_message = None;
        let from = self.report.status;
        if from == status && self.report.message == message {
            return false;
        }
        self.report.status = status;
        self.report.message = message;
        if from != status {
            self.report.status_since_ms = crate::clock::unix_ms(now());
        }
        true
    }

    /// Hides the reported status behind stale (found at `now`); true if it
    /// was not stale yet.
    pub fn mark_stale(&mut self, message: String, now: Instant) -> bool {
        if self.report.status == Status::Stale {
            return false;
        }
        self.reported_message = self.report.message.take().map(String::into_boxed_str);
        self.report.status = Status::Stale;
        self.report.message = Some(message);
        self.report.status_since_ms = crate::clock::unix_ms(now);
        true
    }

    /// Tells this entry's watchers and those of the whole registry (`all`)
    /// that its status changed from `from`; builds the change only if
    /// someone listens.
    pub fn announce(&mut self, from: Status, all: &mut Vec<mpsc::UnboundedSender<StatusChange>>) {
        if self.watchers.is_none() && all.is_empty() {
            return;
        }
        let change = self.change(Some(from));
        self.fan_out(&change);
        all.retain(|tx| tx.send(change.clone()).is_ok());
    }

    /// Only a service that claims to be running can go silent. The
    /// heartbeat counts only while this holds, so it is refreshed on every
    /// change that makes it hold, and may be left as it is otherwise.
    pub fn watched_for_staleness(&self) -> bool {
        self.started.is_some()
            && self.ended.is_none()
            && !matches!(
                self.reported,
                Status::Stopped
                    | Status::Stopping
                    | Status::Starting
                    | Status::Failed
                    | Status::Error
            )
    }

    pub fn fan_out(&mut self, change: &StatusChange) {
        if let Some(watchers) = &mut self.watchers {
            watchers.retain(|tx| tx.send(change.clone()).is_ok());
        }
    }
}
