//! How GitHub calls fail: [`GitHubError`], and the parts it is made of.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use std::fmt;
use std::time::Duration;

/// A failed GitHub call: what GitHub said (or what went wrong before it
/// could say anything), with what the caller needs to act on it — how long
/// to wait, which field was invalid, whether a create may have happened.
///
/// No error carries the token: texts from the HTTP stack and bodies quoted
/// from GitHub are scrubbed of it before they are stored.
///
/// ```
/// use std::time::Duration;
/// use servitor::github::GitHubError;
///
/// fn advice(e: &GitHubError) -> String {
///     match e {
///         GitHubError::RateLimited { retry_after, .. } => format!("try again in {} s", retry_after.as_secs()),
///         GitHubError::Server { outcome_unknown: true, .. } => "check whether it was created".into(),
///         GitHubError::Validation { errors, .. } => format!("{} field(s) to fix", errors.len()),
///         other => other.to_string(),
///     }
/// }
/// let e = GitHubError::Gone { message: "Issues are disabled for this repo".into() };
/// assert_eq!(advice(&e), "gone on GitHub (410): Issues are disabled for this repo");
/// assert_eq!(e.status(), Some(410));
/// ```
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[non_exhaustive]
pub enum GitHubError {
    /// The service is gone for good (removed from its supervisor, ended,
    /// or its runtime shut down).
    #[error("GitHub service `{service}` is stopped")]
    Stopped {
        /// The service's name.
        service: String,
    },
    /// No token is configured: the service is disabled and sends nothing.
    #[error("GitHub service `{service}` is disabled: no token configured")]
    Disabled {
        /// The service's name.
        service: String,
    },
    /// GitHub refused the token (401). The service reports itself failed
    /// and sends nothing more until a new token is set
    /// ([`GitHub::set_token`](super::GitHub::set_token)).
    #[error("GitHub refused the token (401 bad credentials): {message}")]
    BadCredentials {
        /// GitHub's message (`Bad credentials`), or why no request was
        /// sent.
        message: String,
    },
    /// 403 without any sign of a rate limit: the token lacks a permission
    /// or scope, or the resource is off limits. Not retried.
    #[error("GitHub refused the request (403 forbidden): {message}")]
    Forbidden {
        /// GitHub's message.
        message: String,
        /// GitHub's link to the relevant documentation, if it sent one.
        documentation_url: Option<String>,
    },
    /// 404: no such resource, or it is invisible to this token.
    #[error("not found on GitHub (404): {message}")]
    NotFound {
        /// GitHub's message.
        message: String,
        /// GitHub's link to the relevant documentation, if it sent one.
        documentation_url: Option<String>,
    },
    /// 410: the resource is gone, or the feature is off (creating an issue
    /// in a repository with issues disabled).
    #[error("gone on GitHub (410): {message}")]
    Gone {
        /// GitHub's message (`Issues are disabled for this repo`).
        message: String,
    },
    /// 422: GitHub understood the request and refused its content; each
    /// problem names its resource, field and code.
    #[error("GitHub rejected the request (422 {message}){}", FieldErrors(.errors))]
    Validation {
        /// GitHub's summary (`Validation Failed`).
        message: String,
        /// Each problem GitHub listed.
        errors: Vec<FieldError>,
    },
    /// A rate limit stands in the way. Nothing more is sent for it until
    /// [`retry_at`](GitHubError::RateLimited::retry_at); the wait was longer
    /// than the configured
    /// [`max_wait`](super::RateLimitPolicy::max_wait), or the secondary
    /// limit persisted through every retry.
    #[error(
        "GitHub {kind} rate limit on `{resource}`: retry in {} s (at {})",
        retry_after.as_secs(),
        retry_at.format("%Y-%m-%dT%H:%M:%SZ")
    )]
    RateLimited {
        /// Which limit.
        kind: RateLimitKind,
        /// The rate-limit resource (`core`, `search`, …).
        resource: String,
        /// How long to wait before trying again.
        retry_after: Duration,
        /// When to try again: the primary limit's reset time, or now plus
        /// the wait.
        retry_at: DateTime<Utc>,
    },
    /// GitHub failed (5xx) and retrying did not help, or the request was a
    /// create and was not re-sent.
    #[error("GitHub server error ({status}) after {attempts} attempt(s): {message}{}", Unknown(*.outcome_unknown))]
    Server {
        /// The HTTP status.
        status: u16,
        /// GitHub's message, or the start of the body.
        message: String,
        /// Requests sent for this call.
        attempts: u32,
        /// The request creates content and GitHub may have acted on it:
        /// check (list the issues, the pull requests) before creating again.
        outcome_unknown: bool,
    },
    /// Any other refusal (400, 409, …), as GitHub stated it.
    #[error("GitHub refused the request ({status}): {message}")]
    Api {
        /// The HTTP status.
        status: u16,
        /// GitHub's message.
        message: String,
    },
    /// The answer could not be read as GitHub documents it. `body_start` is
    /// the first bytes of the body (at most 256), with the token removed.
    #[error("malformed GitHub response ({status}): {problem}; body starts with {body_start:?}")]
    Malformed {
        /// The HTTP status.
        status: u16,
        /// What could not be read.
        problem: String,
        /// The first bytes of the body, as text.
        body_start: String,
    },
    /// No answer: the connection failed or timed out, after retrying where
    /// that is safe.
    #[error("GitHub request failed after {attempts} attempt(s){}: {problem}{}", if *.timed_out { " (timed out)" } else { "" }, Unknown(*.outcome_unknown))]
    Transport {
        /// What the HTTP stack said (scrubbed of the token).
        problem: String,
        /// The connect or request timeout ran out.
        timed_out: bool,
        /// Requests attempted for this call.
        attempts: u32,
        /// The request creates content and may have reached GitHub.
        outcome_unknown: bool,
    },
    /// An argument the call cannot be made with; nothing was sent.
    #[error("invalid `{field}`: {problem}")]
    InvalidInput {
        /// The argument (`owner`, `per_page`, …).
        field: &'static str,
        /// What is wrong with it.
        problem: String,
    },
}

impl GitHubError {
    /// How long to wait before trying again, for a rate-limit error.
    pub fn retry_after(&self) -> Option<Duration> {
        match self {
            GitHubError::RateLimited { retry_after, .. } => Some(*retry_after),
            _ => None,
        }
    }

    /// The HTTP status GitHub answered with, if it answered.
    pub fn status(&self) -> Option<u16> {
        match self {
            GitHubError::BadCredentials { .. } => Some(401),
            GitHubError::Forbidden { .. } => Some(403),
            GitHubError::NotFound { .. } => Some(404),
            GitHubError::Gone { .. } => Some(410),
            GitHubError::Validation { .. } => Some(422),
            GitHubError::Server { status, .. }
            | GitHubError::Api { status, .. }
            | GitHubError::Malformed { status, .. } => Some(*status),
            _ => None,
        }
    }

    pub(crate) fn invalid(field: &'static str, problem: impl Into<String>) -> GitHubError {
        GitHubError::InvalidInput {
            field,
            problem: problem.into(),
        }
    }
}

impl From<crate::kit::Stopped> for GitHubError {
    fn from(e: crate::kit::Stopped) -> Self {
        GitHubError::Stopped { service: e.service }
    }
}

/// Which rate limit a [`GitHubError::RateLimited`] is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum RateLimitKind {
    /// The hourly quota of the resource is used up (`x-ratelimit-remaining:
    /// 0`); it comes back at the reset time.
    Primary,
    /// GitHub's secondary limit (too many requests too fast, too much
    /// concurrency, too much content created).
    Secondary,
    /// The client's own budget for content-creating requests (the hourly
    /// count GitHub documents) is spent.
    ContentBudget,
}

impl fmt::Display for RateLimitKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            RateLimitKind::Primary => "primary",
            RateLimitKind::Secondary => "secondary",
            RateLimitKind::ContentBudget => "content-creation",
        })
    }
}

/// One problem of a 422 answer, as GitHub lists it: `{"resource": "Issue",
/// "field": "title", "code": "missing_field"}`. Codes GitHub documents:
/// `missing`, `missing_field`, `invalid`, `already_exists`, `unprocessable`,
/// `custom` (with a message).
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(default)]
#[non_exhaustive]
pub struct FieldError {
    /// The kind of resource (`Issue`, `PullRequest`, `Label`).
    pub resource: Option<String>,
    /// The field at fault.
    pub field: Option<String>,
    /// What is wrong with it.
    pub code: Option<String>,
    /// GitHub's explanation, for `custom` codes and free-text errors.
    pub message: Option<String>,
}

impl fmt::Display for FieldError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let part = |s: &Option<String>| s.clone().unwrap_or_else(|| "?".into());
        write!(
            f,
            "{}.{}: {}",
            part(&self.resource),
            part(&self.field),
            part(&self.code)
        )?;
        if let Some(m) = &self.message {
            write!(f, " ({m})")?;
        }
        Ok(())
    }
}

struct FieldErrors<'a>(&'a [FieldError]);

impl fmt::Display for FieldErrors<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, e) in self.0.iter().enumerate() {
            f.write_str(if i == 0 { ": " } else { "; " })?;
            write!(f, "{e}")?;
        }
        Ok(())
    }
}

struct Unknown(bool);

impl fmt::Display for Unknown {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.0 {
            f.write_str("; not re-sent: GitHub may have acted on it, check before creating again")
        } else {
            Ok(())
        }
    }
}
