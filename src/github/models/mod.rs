//! The request and response types of the operations, with the fields
//! GitHub documents for them.
//!
//! Requests ([`NewIssue`], [`NewPullRequest`], [`RunFilter`]) serialize to
//! exactly what GitHub expects: unset optional fields are left out rather
//! than sent as `null`. Responses keep the documented fields GitHub always
//! sends as plain values and everything it may omit or send as `null` as
//! an `Option` (or an empty list), so an answer from GitHub Enterprise
//! Server or a newer API version still reads; fields this crate does not
//! model are ignored. Timestamps are [`chrono::DateTime<Utc>`](chrono::DateTime).

mod actions;
mod common;
mod issues;
mod pulls;
mod rate_limit;

pub use actions::{
    CommitPerson, HeadCommit, PullRequestMinimal, RepositorySummary, RunConclusion, RunFilter,
    RunStatus, RunStatusFilter, WorkflowId, WorkflowRun, WorkflowRunsPage, MAX_PER_PAGE,
};
pub use common::{Label, Milestone, User};
pub use issues::{Issue, NewIssue};
pub use pulls::{BranchRef, NewPullRequest, PullRequest};
pub use rate_limit::{RateLimit, RateLimitOverview};
