//! Creating a pull request: `POST /repos/{owner}/{repo}/pulls`.

use super::common::{Label, Milestone, User};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

/// A new pull request: merge `head` into `base`. Fields left unset are not
/// sent (GitHub's defaults apply: not a draft, maintainers may modify).
///
/// ```
/// use servitor::github::NewPullRequest;
///
/// let pr = NewPullRequest::new("Amazing new feature", "octocat:new-feature", "master")
///     .body("Please pull these awesome changes in!")
///     .draft(true)
///     .maintainer_can_modify(false);
/// assert_eq!(
///     serde_json::to_value(&pr).unwrap(),
///     serde_json::json!({
///         "title": "Amazing new feature",
///         "head": "octocat:new-feature",
///         "base": "master",
///         "body": "Please pull these awesome changes in!",
///         "maintainer_can_modify": false,
///         "draft": true,
///     })
/// );
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NewPullRequest {
    /// The title. Required and not blank.
    pub title: String,
    /// The branch with the changes: `branch`, or `owner:branch` for a
    /// branch of a fork.
    pub head: String,
    /// The repository of `head` when it is in another repository of the
    /// same network (`owner/repo` is not needed with `owner:branch`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub head_repo: Option<String>,
    /// The branch to merge into.
    pub base: String,
    /// The description (Markdown).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub body: Option<String>,
    /// Whether maintainers of `base` may push to `head`. GitHub's default:
    /// true.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub maintainer_can_modify: Option<bool>,
    /// Open it as a draft. GitHub's default: false.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub draft: Option<bool>,
}

impl NewPullRequest {
    /// A pull request of `head` into `base` with this title.
    pub fn new(
        title: impl Into<String>,
        head: impl Into<String>,
        base: impl Into<String>,
    ) -> NewPullRequest {
        NewPullRequest {
            title: title.into(),
            head: head.into(),
            base: base.into(),
            ..NewPullRequest::default()
        }
    }

    /// Sets the description.
    pub fn body(mut self, body: impl Into<String>) -> NewPullRequest {
        self.body = Some(body.into());
        self
    }

    /// Opens it as a draft, or not.
    pub fn draft(mut self, draft: bool) -> NewPullRequest {
        self.draft = Some(draft);
        self
    }

    /// Whether maintainers may push to the head branch.
    pub fn maintainer_can_modify(mut self, allowed: bool) -> NewPullRequest {
        self.maintainer_can_modify = Some(allowed);
        self
    }

    /// Names the repository of `head`.
    pub fn head_repo(mut self, repo: impl Into<String>) -> NewPullRequest {
        self.head_repo = Some(repo.into());
        self
    }
}

/// A pull request as GitHub returns it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct PullRequest {
    /// The pull request's id.
    pub id: u64,
    /// Its number in the repository.
    pub number: u64,
    /// Its title.
    pub title: String,
    /// `open` or `closed`.
    pub state: String,
    /// The API address of the pull request.
    pub url: String,
    /// Its page on GitHub.
    pub html_url: String,
    /// The branch with the changes.
    pub head: BranchRef,
    /// The branch it merges into.
    pub base: BranchRef,
    /// The GraphQL node id.
    #[serde(default)]
    pub node_id: Option<String>,
    /// Its description.
    #[serde(default)]
    pub body: Option<String>,
    /// Who opened it.
    #[serde(default)]
    pub user: Option<User>,
    /// Whether it is a draft.
    #[serde(default)]
    pub draft: bool,
    /// Whether the conversation is locked.
    #[serde(default)]
    pub locked: bool,
    /// Whether maintainers may push to the head branch.
    #[serde(default)]
    pub maintainer_can_modify: bool,
    /// Whether it has been merged.
    #[serde(default)]
    pub merged: bool,
    /// Whether it can be merged; `None` while GitHub is still computing it.
    #[serde(default)]
    pub mergeable: Option<bool>,
    /// Its labels.
    #[serde(default)]
    pub labels: Vec<Label>,
    /// Who it is assigned to.
    #[serde(default)]
    pub assignees: Vec<User>,
    /// Reviewers asked for.
    #[serde(default)]
    pub requested_reviewers: Vec<User>,
    /// Its milestone.
    #[serde(default)]
    pub milestone: Option<Milestone>,
    /// The diff's address.
    #[serde(default)]
    pub diff_url: Option<String>,
    /// The patch's address.
    #[serde(default)]
    pub patch_url: Option<String>,
    /// When it was opened.
    pub created_at: DateTime<Utc>,
    /// When it last changed.
    pub updated_at: DateTime<Utc>,
    /// When it was closed.
    #[serde(default)]
    pub closed_at: Option<DateTime<Utc>>,
    /// When it was merged.
    #[serde(default)]
    pub merged_at: Option<DateTime<Utc>>,
}

/// One end of a pull request: a branch at a commit.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct BranchRef {
    /// `owner:branch`.
    pub label: String,
    /// The branch name.
    #[serde(rename = "ref")]
    pub branch: String,
    /// The commit it points at.
    pub sha: String,
    /// The branch's owner.
    #[serde(default)]
    pub user: Option<User>,
}
