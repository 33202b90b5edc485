//! Status-transition streams.

use crate::status::Status;
use serde::{Deserialize, Serialize};
use std::time::Duration;
use tokio::sync::mpsc;

/// One status transition of one service.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StatusChange {
    /// The service.
    pub name: String,
    /// The status before; `None` for the first item of a watch (the current status).
    pub from: Option<Status>,
    /// The status now.
    pub status: Status,
    /// The message that came with it.
    pub message: Option<String>,
}

/// A stream of [`StatusChange`]s from [`Registry::watch`](super::Registry::watch).
#[derive(Debug)]
pub struct StatusWatch {
    rx: mpsc::UnboundedReceiver<StatusChange>,
}

/// The watched status did not come in time, or the watch ended first.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum WaitError {
    /// The bound passed first.
    #[error("status `{wanted}` not reached within {after:?} (last seen: {last:?})")]
    Timeout {
        /// The status waited for.
        wanted: Status,
        /// The bound.
        after: Duration,
        /// The last status seen.
        last: Option<Status>,
    },
    /// The service was deregistered first.
    #[error("the watch ended before status `{wanted}` was reached (last seen: {last:?})")]
    Ended {
        /// The status waited for.
        wanted: Status,
        /// The last status seen.
        last: Option<Status>,
    },
}

impl StatusWatch {
    pub(crate) fn new(rx: mpsc::UnboundedReceiver<StatusChange>) -> Self {
        StatusWatch { rx }
    }

    /// The next transition; `None` once the watch has ended.
    pub async fn next(&mut self) -> Option<StatusChange> {
        self.rx.recv().await
    }

    /// A transition that has already arrived, without waiting.
    pub fn try_next(&mut self) -> Option<StatusChange> {
        self.rx.try_recv().ok()
    }

    /// Waits until a transition to `wanted` arrives (or it is the current
    /// status), at most `timeout`. Returns the matching change.
    pub async fn wait_for(
        &mut self,
        wanted: Status,
        timeout: Duration,
    ) -> Result<StatusChange, WaitError> {
        self.wait_until(|c| c.status == wanted, wanted, timeout)
            .await
    }

    /// Waits for the first transition accepted by `pred`, at most `timeout`.
    pub async fn wait_until(
        &mut self,
        mut pred: impl FnMut(&StatusChange) -> bool,
        wanted: Status,
        timeout: Duration,
    ) -> Result<StatusChange, WaitError> {
        let mut last = None;
        let found = tokio::time::timeout(timeout, async {
            while let Some(change) = self.rx.recv().await {
                last = Some(change.status);
                if pred(&change) {
                    return Some(change);
                }
            }
            None
        })
        .await;
        match found {
            Ok(Some(change)) => Ok(change),
            Ok(None) => Err(WaitError::Ended { wanted, last }),
            Err(_) => Err(WaitError::Timeout {
                wanted,
                after: timeout,
                last,
            }),
        }
    }
}
