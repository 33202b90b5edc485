//! The GitHub service: a REST client that follows GitHub's rate-limit
//! contract by default, run as a supervised service.
//!
//! It is made with the [service kit](crate::kit): [`GitHub::service`] makes
//! a [`ChildSpec`](crate::ChildSpec) to put in a supervision tree and a
//! [`GitHub`] handle. The handle is the data path — every call goes from
//! the calling task straight to GitHub, never through the actor's mailbox —
//! over state shared by every handle: the HTTP client (reqwest with
//! rustls), the token, the rate-limit figures and holds, the throttle, the
//! conditional-request cache. The actor ([`GitHubService`]) owns the
//! lifecycle and publishes the health: the rate-limit figures of every
//! resource, and the counters ([`GitHubStats`]).
//!
//! Operations, with typed requests and answers ([`models`]):
//!
//! * [`Repo::create_issue`] and [`Repo::create_pull_request`];
//! * [`Repo::workflow_runs`] and [`Workflow::runs`] — a stream over every
//!   page that follows the `Link` header and stops at a caller's
//!   [`limit`](WorkflowRuns::limit);
//! * [`Repo::workflow_run`] and [`GitHub::rate_limit`].
//!
//! ```no_run
//! use servitor::github::{GitHub, GitHubConfig, NewPullRequest, RunFilter, RunStatusFilter};
//! use servitor::{Runtime, Supervisor};
//!
//! # #[actix_rt::main] async fn main() -> Result<(), Box<dyn std::error::Error>> {
//! let (spec, gh) = GitHub::service("github", GitHubConfig::with_token(std::env::var("GITHUB_TOKEN")?))?;
//! let app = Runtime::start(Supervisor::builder("app").child(spec).build()?).await?;
//!
//! let repo = gh.repo("octo-org", "hello-world")?;
//! let failed = repo
//!     .workflow("ci.yml")?
//!     .runs(RunFilter::new().branch("main").status(RunStatusFilter::Failure).per_page(100))
//!     .limit(50)
//!     .try_collect()
//!     .await?;
//! if let Some(run) = failed.first() {
//!     let pr = NewPullRequest::new("Fix the build", "fix-build", "main").draft(true);
//!     repo.create_pull_request(&pr).await?;
//!     println!("latest failure: {}", run.html_url);
//! }
//! app.shutdown().await?;
//! # Ok(()) }
//! ```
//!
//! ## The rate-limit contract
//!
//! GitHub's documented rules are the default ([`RateLimitPolicy`],
//! [`Throttle`]), decided from the answers' headers and message, never
//! from the status alone:
//!
//! * every answer's `x-ratelimit-limit/remaining/used/reset/resource`
//!   headers are recorded per resource ([`GitHub::rate_limits`]);
//! * **primary limit** — a 403 or 429 with `x-ratelimit-remaining: 0`, or
//!   any answer leaving 0: nothing more is sent on that resource until its
//!   reset; a call waits for it if that is at most
//!   [`max_wait`](RateLimitPolicy::max_wait) away, else fails at once with
//!   [`GitHubError::RateLimited`] carrying the reset time;
//! * **secondary limit** — a 403 or 429 whose message says so (or with
//!   `retry-after`): `retry-after` is honoured; without it the call waits
//!   at least a minute, then longer ([`kit::Backoff`](crate::kit::Backoff)),
//!   up to [`secondary_retries`](RateLimitPolicy::secondary_retries) times,
//!   then fails saying how long to wait; other calls hold back meanwhile;
//! * a 403 with no sign of a rate limit is a permission error
//!   ([`GitHubError::Forbidden`]) and is not retried;
//! * **proactive throttling** — at most
//!   [`max_concurrent`](Throttle::max_concurrent) requests in flight, and
//!   content-creating requests spaced to
//!   [`content_per_minute`](Throttle::content_per_minute) (one a second by
//!   default) within [`content_per_hour`](Throttle::content_per_hour).
//!
//! Reads are retried with backoff after a 5xx or a failed connection
//! ([`Retries`]); a create is re-sent only after a rate-limit refusal (which
//! GitHub did not act on) or a connection that was never made — a POST is
//! never re-sent blindly, so an issue is never created twice. Reads are
//! conditional: an answer's `ETag` is remembered and sent back as
//! `If-None-Match`, and a `304 Not Modified` (which costs no quota) is
//! served from memory.
//!
//! Every wait goes through a [`Clock`]: tests inject a [`ManualClock`] and
//! see the exact waits without waiting.
//!
//! ## How it fails
//!
//! * **No token configured**: the service is disabled, not failed — its
//!   health is [`Status::Idle`](crate::Status::Idle) with the message
//!   "disabled: no token configured", and every call returns
//!   [`GitHubError::Disabled`] without sending anything.
//! * **Bad credentials** (401): the call returns
//!   [`GitHubError::BadCredentials`], the service reports
//!   [`Status::Failed`](crate::Status::Failed) and sends nothing more —
//!   every call fails at once — until a new token is set
//!   ([`GitHub::set_token`]).
//! * **Quota running out**: below 10 % of a resource's limit the service
//!   reports [`Status::Degraded`](crate::Status::Degraded) until the
//!   window resets. Exhausted: see the contract above.
//! * **GitHub refuses or fails**: 403, 404, 410, 422 (each
//!   `resource`/`field`/`code`), other 4xx and 5xx are typed
//!   [`GitHubError`]s with GitHub's message. A create answered 5xx or
//!   timed out says its outcome is unknown (`outcome_unknown`): check
//!   before creating again.
//! * **An answer that does not read** as GitHub documents it is
//!   [`GitHubError::Malformed`] with the first bytes of the body.
//! * **The token** never appears in logs, errors, health, panics or
//!   `Debug` output: it is a [`Secret`](crate::kit::Secret), its header is
//!   marked sensitive, and texts quoted from the HTTP stack or GitHub are
//!   scrubbed of it. Next-page links are followed only under the
//!   configured base address, so it is never sent elsewhere.
//! * **The actor crashes**: the supervisor restarts it; the handle's state
//!   (figures, holds, cache) is not the actor's and is kept, and calls go
//!   on meanwhile. **Gone for good**: every call returns
//!   [`GitHubError::Stopped`].
//! * **Bad input** is a typed error before anything is sent: an invalid
//!   config names its field ([`ConfigError`](crate::kit::ConfigError)); a
//!   bad owner, repository or workflow name, a blank title, a page size
//!   outside 1–100 are [`GitHubError::InvalidInput`].

mod clock;
mod config;
mod engine;
mod error;
mod etag;
mod handle;
mod limits;
pub mod models;
mod pages;
mod stats;
mod transport;

pub use clock::{Clock, ManualClock, Sleep, SystemClock};
pub use config::{
    GitHubConfig, RateLimitPolicy, Retries, Throttle, DEFAULT_BASE_URL, DEFAULT_USER_AGENT,
    MIN_SECONDARY_WAIT,
};
pub use engine::GitHubEngine;
pub use error::{FieldError, GitHubError, RateLimitKind};
pub use handle::{GitHub, GitHubBuilder, Repo, Workflow};
pub use models::{
    BranchRef, CommitPerson, HeadCommit, Issue, Label, Milestone, NewIssue, NewPullRequest,
    PullRequest, PullRequestMinimal, RateLimit, RateLimitOverview, RepositorySummary,
    RunConclusion, RunFilter, RunStatus, RunStatusFilter, User, WorkflowId, WorkflowRun,
    WorkflowRunsPage,
};
pub use pages::WorkflowRuns;
pub use stats::GitHubStats;

/// The supervised actor of a GitHub client: the kit's
/// [`Driver`](crate::kit::Driver) of its engine. It takes no messages; its
/// handle through the runtime is `ServiceRef<GitHubService>`.
pub type GitHubService = crate::kit::Driver<GitHubEngine>;
