//! Creating an issue: `POST /repos/{owner}/{repo}/issues`.

use super::common::{Label, Milestone, User};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

/// A new issue: its title, and optionally a body, labels, assignees and a
/// milestone. Fields left unset are not sent.
///
/// ```
/// use servitor::github::NewIssue;
///
/// let issue = NewIssue::new("Found a bug")
///     .body("I'm having a problem with this.")
///     .labels(["bug"])
///     .assignees(["octocat"])
///     .milestone(1);
/// assert_eq!(
///     serde_json::to_value(&issue).unwrap(),
///     serde_json::json!({
///         "title": "Found a bug",
///         "body": "I'm having a problem with this.",
///         "assignees": ["octocat"],
///         "milestone": 1,
///         "labels": ["bug"],
///     })
/// );
/// assert_eq!(serde_json::to_string(&NewIssue::new("t")).unwrap(), r#"{"title":"t"}"#);
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NewIssue {
    /// The title. Required and not blank.
    pub title: String,
    /// The text (Markdown).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub body: Option<String>,
    /// Logins to assign (needs push access; others are silently dropped by
    /// GitHub).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub assignees: Vec<String>,
    /// The number of the milestone to put it under (needs push access).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub milestone: Option<u64>,
    /// Label names (needs push access).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub labels: Vec<String>,
}

impl NewIssue {
    /// An issue with this title and nothing else.
    pub fn new(title: impl Into<String>) -> NewIssue {
        NewIssue {
            title: title.into(),
            ..NewIssue::default()
        }
    }

    /// Sets the body.
    pub fn body(mut self, body: impl Into<String>) -> NewIssue {
        self.body = Some(body.into());
        self
    }

    /// Sets the labels.
    pub fn labels<S: Into<String>>(mut self, labels: impl IntoIterator<Item = S>) -> NewIssue {
        self.labels = labels.into_iter().map(Into::into).collect();
        self
    }

    /// Sets the assignees.
    pub fn assignees<S: Into<String>>(mut self, logins: impl IntoIterator<Item = S>) -> NewIssue {
        self.assignees = logins.into_iter().map(Into::into).collect();
        self
    }

    /// Sets the milestone by number.
    pub fn milestone(mut self, number: u64) -> NewIssue {
        self.milestone = Some(number);
        self
    }
}

/// An issue as GitHub returns it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct Issue {
    /// The issue's id.
    pub id: u64,
    /// Its number in the repository (`#1347`).
    pub number: u64,
    /// Its title.
    pub title: String,
    /// `open` or `closed`.
    pub state: String,
    /// The API address of the issue.
    pub url: String,
    /// Its page on GitHub.
    pub html_url: String,
    /// The GraphQL node id.
    #[serde(default)]
    pub node_id: Option<String>,
    /// Its text.
    #[serde(default)]
    pub body: Option<String>,
    /// Who opened it.
    #[serde(default)]
    pub user: Option<User>,
    /// Its labels.
    #[serde(default)]
    pub labels: Vec<Label>,
    /// Who it is assigned to.
    #[serde(default)]
    pub assignees: Vec<User>,
    /// Its milestone.
    #[serde(default)]
    pub milestone: Option<Milestone>,
    /// Whether the conversation is locked.
    #[serde(default)]
    pub locked: bool,
    /// The number of comments.
    #[serde(default)]
    pub comments: u64,
    /// `OWNER`, `MEMBER`, `CONTRIBUTOR`, `NONE`, …
    #[serde(default)]
    pub author_association: Option<String>,
    /// When it was opened.
    pub created_at: DateTime<Utc>,
    /// When it last changed.
    pub updated_at: DateTime<Utc>,
    /// When it was closed.
    #[serde(default)]
    pub closed_at: Option<DateTime<Utc>>,
}
