//! Types several answers share: users, labels, milestones.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

/// A GitHub account as answers embed it (GitHub's "simple user").
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct User {
    /// The account name (`octocat`).
    pub login: String,
    /// The account's id.
    pub id: u64,
    /// The GraphQL node id.
    #[serde(default)]
    pub node_id: Option<String>,
    /// The avatar's address.
    #[serde(default)]
    pub avatar_url: Option<String>,
    /// The profile page.
    #[serde(default)]
    pub html_url: Option<String>,
    /// `User`, `Organization` or `Bot`.
    #[serde(rename = "type", default)]
    pub kind: Option<String>,
    /// Whether the account is a site administrator.
    #[serde(default)]
    pub site_admin: bool,
}

/// A label on an issue or pull request.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct Label {
    /// The label's id.
    pub id: u64,
    /// The label's name (`bug`).
    pub name: String,
    /// The GraphQL node id.
    #[serde(default)]
    pub node_id: Option<String>,
    /// The API address of the label.
    #[serde(default)]
    pub url: Option<String>,
    /// Its description.
    #[serde(default)]
    pub description: Option<String>,
    /// Its colour, six hex digits without `#`.
    #[serde(default)]
    pub color: Option<String>,
    /// Whether it is one of the repository's default labels.
    #[serde(default)]
    pub default: bool,
}

/// A milestone issues and pull requests are grouped under.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct Milestone {
    /// The milestone's id.
    pub id: u64,
    /// Its number in the repository (what [`NewIssue::milestone`](super::NewIssue::milestone) takes).
    pub number: u64,
    /// Its title (`v1.0`).
    pub title: String,
    /// `open` or `closed`.
    pub state: String,
    /// The GraphQL node id.
    #[serde(default)]
    pub node_id: Option<String>,
    /// Its description.
    #[serde(default)]
    pub description: Option<String>,
    /// Its page on GitHub.
    #[serde(default)]
    pub html_url: Option<String>,
    /// Open issues in it.
    #[serde(default)]
    pub open_issues: u64,
    /// Closed issues in it.
    #[serde(default)]
    pub closed_issues: u64,
    /// Who created it.
    #[serde(default)]
    pub creator: Option<User>,
    /// When it was created.
    #[serde(default)]
    pub created_at: Option<DateTime<Utc>>,
    /// When it is due.
    #[serde(default)]
    pub due_on: Option<DateTime<Utc>>,
}
