//! Workflow runs: `GET /repos/{owner}/{repo}/actions/runs`,
//! `GET /repos/{owner}/{repo}/actions/workflows/{workflow_id}/runs` and
//! `GET /repos/{owner}/{repo}/actions/runs/{run_id}`.

use super::common::User;
use crate::github::error::GitHubError;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use std::fmt;

/// The most runs GitHub returns per page.
pub const MAX_PER_PAGE: u32 = 100;

/// Which workflow runs to list: GitHub's query parameters, each left out
/// when unset.
///
/// ```
/// use servitor::github::{RunFilter, RunStatusFilter};
///
/// let filter = RunFilter::new()
///     .branch("main")
///     .event("push")
///     .status(RunStatusFilter::Failure)
///     .created(">=2024-01-01")
///     .per_page(100);
/// assert_eq!(
///     serde_json::to_value(&filter).unwrap(),
///     serde_json::json!({
///         "branch": "main", "event": "push", "status": "failure",
///         "created": ">=2024-01-01", "per_page": 100,
///     })
/// );
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct RunFilter {
    /// Runs started by this login.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub actor: Option<String>,
    /// Runs of this branch (the push's branch, or a pull request's head).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub branch: Option<String>,
    /// Runs triggered by this event (`push`, `pull_request`, …).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub event: Option<String>,
    /// Runs with this status or conclusion.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub status: Option<RunStatusFilter>,
    /// Runs created in this range, in GitHub's search syntax
    /// (`>=2024-01-01`, `2024-01-01..2024-01-31`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub created: Option<String>,
    /// Runs of this head commit.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub head_sha: Option<String>,
    /// Leave the pull requests out of each run.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub exclude_pull_requests: Option<bool>,
    /// Runs of this check suite.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub check_suite_id: Option<u64>,
    /// Runs per page, 1 to 100. Unset: GitHub's default (30). The listing
    /// follows every page whatever the size; a bigger page means fewer
    /// requests.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub per_page: Option<u32>,
}

impl RunFilter {
    /// Every run.
    pub fn new() -> RunFilter {
        RunFilter::default()
    }

    /// Runs started by `login`.
    pub fn actor(mut self, login: impl Into<String>) -> RunFilter {
        self.actor = Some(login.into());
        self
    }

    /// Runs of `branch`.
    pub fn branch(mut self, branch: impl Into<String>) -> RunFilter {
        self.branch = Some(branch.into());
        self
    }

    /// Runs triggered by `event`.
    pub fn event(mut self, event: impl Into<String>) -> RunFilter {
        self.event = Some(event.into());
        self
    }

    /// Runs with this status or conclusion.
    pub fn status(mut self, status: RunStatusFilter) -> RunFilter {
        self.status = Some(status);
        self
    }

    /// Runs created in `range` (GitHub's search syntax for dates).
    pub fn created(mut self, range: impl Into<String>) -> RunFilter {
        self.created = Some(range.into());
        self
    }

    /// Runs of the head commit `sha`.
    pub fn head_sha(mut self, sha: impl Into<String>) -> RunFilter {
        self.head_sha = Some(sha.into());
        self
    }

    /// Leave pull requests out of the runs.
    pub fn exclude_pull_requests(mut self, exclude: bool) -> RunFilter {
        self.exclude_pull_requests = Some(exclude);
        self
    }

    /// Runs of the check suite `id`.
    pub fn check_suite_id(mut self, id: u64) -> RunFilter {
        self.check_suite_id = Some(id);
        self
    }

    /// Runs per page, 1 to 100.
    pub fn per_page(mut self, n: u32) -> RunFilter {
        self.per_page = Some(n);
        self
    }

    /// Checks the filter and turns it into query parameters, in the order
    /// of the fields.
    pub(crate) fn query(&self) -> Result<Vec<(String, String)>, GitHubError> {
        if let Some(n) = self.per_page {
            if n == 0 || n > MAX_PER_PAGE {
                return Err(GitHubError::invalid(
                    "per_page",
                    format!("must be 1 to {MAX_PER_PAGE}, not {n}"),
                ));
            }
        }
        let value = serde_json::to_value(self)
            .map_err(|e| GitHubError::invalid("filter", e.to_string()))?;
        let serde_json::Value::Object(map) = value else {
            return Ok(Vec::new());
        };
        Ok(map
            .into_iter()
            .map(|(k, v)| {
                let v = match v {
                    serde_json::Value::String(s) => s,
                    other => other.to_string(),
                };
                (k, v)
            })
            .collect())
    }
}

/// The statuses and conclusions a listing can be filtered by.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RunStatusFilter {
    /// Completed runs, whatever their conclusion.
    Completed,
    /// Runs that concluded `action_required`.
    ActionRequired,
    /// Runs that were cancelled.
    Cancelled,
    /// Runs that failed.
    Failure,
    /// Runs that concluded neutral.
    Neutral,
    /// Runs that were skipped.
    Skipped,
    /// Runs that went stale.
    Stale,
    /// Runs that succeeded.
    Success,
    /// Runs that timed out.
    TimedOut,
    /// Runs in progress.
    InProgress,
    /// Runs waiting for a runner.
    Queued,
    /// Runs created and not yet queued.
    Requested,
    /// Runs waiting for an approval or a protection rule.
    Waiting,
    /// Runs waiting behind another run of their concurrency group.
    Pending,
}

/// Where a run is: its `status`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum RunStatus {
    /// Waiting for a runner.
    Queued,
    /// Running.
    InProgress,
    /// Done: see its conclusion.
    Completed,
    /// Created, not queued yet.
    Requested,
    /// Waiting for an approval or a deployment protection rule.
    Waiting,
    /// Waiting behind another run of its concurrency group.
    Pending,
    /// A status this crate does not know yet.
    #[serde(other)]
    Other,
}

/// How a completed run ended: its `conclusion`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum RunConclusion {
    /// Every job succeeded.
    Success,
    /// A job failed.
    Failure,
    /// Ended neither well nor badly.
    Neutral,
    /// Cancelled.
    Cancelled,
    /// Skipped.
    Skipped,
    /// A job ran out of time.
    TimedOut,
    /// Someone has to act (a check that asks for it).
    ActionRequired,
    /// Too old to matter.
    Stale,
    /// The workflow could not start (an invalid file, a missing
    /// permission).
    StartupFailure,
    /// A conclusion this crate does not know yet.
    #[serde(other)]
    Other,
}

/// A workflow, by id or by file name (`ci.yml`).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum WorkflowId {
    /// The workflow's numeric id.
    Id(u64),
    /// The workflow file's name, without `.github/workflows/`.
    File(String),
}

impl From<u64> for WorkflowId {
    fn from(id: u64) -> Self {
        WorkflowId::Id(id)
    }
}

impl From<&str> for WorkflowId {
    fn from(file: &str) -> Self {
        WorkflowId::File(file.to_string())
    }
}

impl From<String> for WorkflowId {
    fn from(file: String) -> Self {
        WorkflowId::File(file)
    }
}

impl fmt::Display for WorkflowId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            WorkflowId::Id(id) => write!(f, "{id}"),
            WorkflowId::File(file) => f.write_str(file),
        }
    }
}

/// One page of a listing, as GitHub sends it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct WorkflowRunsPage {
    /// How many runs match, over all pages.
    pub total_count: u64,
    /// The runs on this page.
    pub workflow_runs: Vec<WorkflowRun>,
}

/// A run of a workflow.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct WorkflowRun {
    /// The run's id.
    pub id: u64,
    /// The workflow's name.
    #[serde(default)]
    pub name: Option<String>,
    /// The GraphQL node id.
    #[serde(default)]
    pub node_id: Option<String>,
    /// The run's check suite.
    #[serde(default)]
    pub check_suite_id: Option<u64>,
    /// The branch it ran on.
    #[serde(default)]
    pub head_branch: Option<String>,
    /// The commit it ran on.
    pub head_sha: String,
    /// The workflow file (`.github/workflows/build.yml`).
    #[serde(default)]
    pub path: Option<String>,
    /// The run's number for its workflow.
    pub run_number: u64,
    /// Which attempt of the run this is (1 for the first).
    #[serde(default)]
    pub run_attempt: Option<u64>,
    /// The event that triggered it.
    pub event: String,
    /// The title shown for it (the commit message, the pull request's
    /// title).
    #[serde(default)]
    pub display_title: Option<String>,
    /// Where it is.
    #[serde(default)]
    pub status: Option<RunStatus>,
    /// How it ended, once completed.
    #[serde(default)]
    pub conclusion: Option<RunConclusion>,
    /// The workflow's id.
    pub workflow_id: u64,
    /// The API address of the run.
    pub url: String,
    /// Its page on GitHub.
    pub html_url: String,
    /// Pull requests whose head is the run's commit.
    #[serde(default)]
    pub pull_requests: Vec<PullRequestMinimal>,
    /// When it was created.
    pub created_at: DateTime<Utc>,
    /// When it last changed.
    pub updated_at: DateTime<Utc>,
    /// When this attempt started.
    #[serde(default)]
    pub run_started_at: Option<DateTime<Utc>>,
    /// Who started the first attempt.
    #[serde(default)]
    pub actor: Option<User>,
    /// Who started this attempt.
    #[serde(default)]
    pub triggering_actor: Option<User>,
    /// The API address of its jobs.
    #[serde(default)]
    pub jobs_url: Option<String>,
    /// The API address of its logs.
    #[serde(default)]
    pub logs_url: Option<String>,
    /// The API address of its workflow.
    #[serde(default)]
    pub workflow_url: Option<String>,
    /// The commit it ran on.
    #[serde(default)]
    pub head_commit: Option<HeadCommit>,
    /// The repository it ran in.
    #[serde(default)]
    pub repository: Option<RepositorySummary>,
    /// The repository of the commit it ran on (a fork's, for pull
    /// requests from forks).
    #[serde(default)]
    pub head_repository: Option<RepositorySummary>,
}

/// A pull request as a workflow run refers to it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct PullRequestMinimal {
    /// The pull request's id.
    pub id: u64,
    /// Its number.
    pub number: u64,
    /// Its API address.
    pub url: String,
}

/// The commit a run ran on.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct HeadCommit {
    /// The commit's SHA.
    pub id: String,
    /// Its tree's SHA.
    #[serde(default)]
    pub tree_id: Option<String>,
    /// Its message.
    pub message: String,
    /// When it was made.
    #[serde(default)]
    pub timestamp: Option<DateTime<Utc>>,
    /// Who wrote it.
    #[serde(default)]
    pub author: Option<CommitPerson>,
    /// Who committed it.
    #[serde(default)]
    pub committer: Option<CommitPerson>,
}

/// A commit's author or committer.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct CommitPerson {
    /// Their name.
    pub name: String,
    /// Their e-mail address.
    #[serde(default)]
    pub email: Option<String>,
}

/// A repository as a run refers to it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct RepositorySummary {
    /// The repository's id.
    pub id: u64,
    /// Its name (`Hello-World`).
    pub name: String,
    /// `owner/name`.
    pub full_name: String,
    /// Whether it is private.
    #[serde(default)]
    pub private: bool,
    /// Its page on GitHub.
    #[serde(default)]
    pub html_url: Option<String>,
    /// Its owner.
    #[serde(default)]
    pub owner: Option<User>,
}
