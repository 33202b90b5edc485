//! [`GitHub`], the handle application code calls GitHub through, the
//! [`Repo`] and [`Workflow`] it addresses, and [`GitHubBuilder`].

use super::clock::{Clock, SystemClock};
use super::config::GitHubConfig;
use super::engine::GitHubEngine;
use super::error::GitHubError;
use super::models::{
    Issue, NewIssue, NewPullRequest, PullRequest, RateLimit, RateLimitOverview, RunFilter,
    WorkflowId, WorkflowRun,
};
use super::pages::WorkflowRuns;
use super::stats::GitHubStats;
use super::transport::Call;
use crate::kit::{self, ConfigError, Secret, Shared};
use crate::supervisor::ChildSpec;
use bytes::Bytes;
use serde::de::DeserializeOwned;
use serde::Serialize;
use std::collections::BTreeMap;
use std::fmt;
use std::sync::Arc;

/// A handle to a GitHub client service: cheap to clone, shared by every
/// clone, valid across restarts of the service.
///
/// Calls go straight to GitHub from the calling task — they never queue
/// behind the service's actor — through the service's shared state: its
/// token, its rate-limit figures and holds, its throttle and its
/// conditional-request cache. Each fails with [`GitHubError::Stopped`] once
/// the service is gone for good.
///
/// ```no_run
/// use servitor::github::{GitHub, GitHubConfig, NewIssue};
/// use servitor::{Runtime, Supervisor};
///
/// # #[actix_rt::main] async fn main() -> Result<(), Box<dyn std::error::Error>> {
/// let token = std::env::var("GITHUB_TOKEN")?;
/// let (spec, gh) = GitHub::service("github", GitHubConfig::with_token(token))?;
/// let app = Runtime::start(Supervisor::builder("app").child(spec).build()?).await?;
///
/// let repo = gh.repo("octo-org", "hello-world")?;
/// let issue = repo.create_issue(&NewIssue::new("Found a bug").labels(["bug"])).await?;
/// println!("opened #{}: {}", issue.number, issue.html_url);
/// println!("core quota left: {:?}", gh.rate_limits().get("core").map(|c| c.remaining));
///
/// app.shutdown().await?;
/// # Ok(()) }
/// ```
#[derive(Clone)]
pub struct GitHub {
    shared: Shared<GitHubEngine>,
}

impl fmt::Debug for GitHub {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("GitHub")
            .field("name", &self.shared.name())
            .field("base_url", &self.shared.base_str)
            .field("enabled", &self.shared.is_enabled())
            .finish()
    }
}

impl GitHub {
    /// A GitHub client service named `name`: the child spec to put in a
    /// supervision tree, and the handle. Shorthand for
    /// `GitHub::builder(name).config(config).build()`.
    ///
    /// ```
    /// use servitor::github::{GitHub, GitHubConfig};
    ///
    /// let (_spec, gh) = GitHub::service("github", GitHubConfig::default()).unwrap();
    /// assert!(!gh.is_enabled()); // no token: disabled, sends nothing
    /// let bad = GitHubConfig { base_url: "ftp://example.com".into(), ..GitHubConfig::default() };
    /// let err = GitHub::service("github", bad).unwrap_err();
    /// assert_eq!(err.field_name(), Some("base_url"));
    /// ```
    pub fn service(
        name: impl Into<String>,
        config: GitHubConfig,
    ) -> Result<(ChildSpec, GitHub), ConfigError> {
        GitHub::builder(name).config(config).build()
    }

    /// A builder, for a clock of your own (tests).
    pub fn builder(name: impl Into<String>) -> GitHubBuilder {
        GitHubBuilder {
            name: name.into(),
            config: GitHubConfig::default(),
            clock: None,
        }
    }

    pub(crate) fn engine(&self) -> Result<&GitHubEngine, GitHubError> {
        Ok(self.shared.check()?)
    }

    /// The service's name.
    pub fn name(&self) -> &str {
        self.shared.name()
    }

    /// The API address requests go to, without a trailing `/`.
    pub fn base_url(&self) -> &str {
        &self.shared.base_str
    }

    /// Whether a token is configured (without one, every call fails with
    /// [`GitHubError::Disabled`]).
    pub fn is_enabled(&self) -> bool {
        self.shared.is_enabled()
    }

    /// Whether the service is supervised and started.
    pub fn is_running(&self) -> bool {
        self.shared.is_running()
    }

    /// True once the service is gone for good and every call fails.
    pub fn is_stopped(&self) -> bool {
        self.shared.is_stopped()
    }

    /// Resolves once the service is gone for good.
    pub async fn stopped(&self) {
        self.shared.stopped().await
    }

    /// Replaces the token (a rotated or refreshed one) and lifts a refusal
    /// of the old one: after a 401 nothing is sent until this is called.
    /// Enables a service that had none.
    ///
    /// ```
    /// use servitor::github::{GitHub, GitHubConfig};
    ///
    /// let (_spec, gh) = GitHub::service("github", GitHubConfig::default()).unwrap();
    /// gh.set_token("ghs_installation_token").unwrap();
    /// assert!(gh.is_enabled());
    /// assert!(gh.set_token("").is_err());
    /// gh.clear_token();
    /// assert!(!gh.is_enabled());
    /// ```
    pub fn set_token(&self, token: impl Into<Secret>) -> Result<(), GitHubError> {
        self.engine()?.set_token(Some(token.into()))
    }

    /// Removes the token: the service is disabled until one is set.
    pub fn clear_token(&self) {
        let _ = self.shared.set_token(None);
    }

    /// The client's counters.
    pub fn stats(&self) -> GitHubStats {
        self.shared.stats()
    }

    /// The rate-limit figures last seen per resource (`core`, `search`, …),
    /// from the headers of every answer. A window whose reset time has
    /// passed shows its whole limit. Sends nothing; see
    /// [`rate_limit`](Self::rate_limit) to ask GitHub.
    pub fn rate_limits(&self) -> BTreeMap<String, RateLimit> {
        self.shared.rate_limits()
    }

    /// Asks GitHub for every resource's quota (`GET /rate_limit`, which
    /// costs none) and records it.
    pub async fn rate_limit(&self) -> Result<RateLimitOverview, GitHubError> {
        let engine = self.engine()?;
        let url = format!("{}/rate_limit", engine.base_str);
        let overview: RateLimitOverview = self.get(&url).await?;
        engine.limits.observe_overview(
            &overview.resources,
            engine.clock.now(),
            engine.clock.wall(),
        );
        Ok(overview)
    }

    /// The repository `owner/name`. Both are checked with GitHub's rules
    /// (letters, digits, `-`, `_`, `.`; at most 100 characters).
    ///
    /// ```
    /// use servitor::github::{GitHub, GitHubConfig, GitHubError};
    ///
    /// let (_spec, gh) = GitHub::service("github", GitHubConfig::with_token("t")).unwrap();
    /// let repo = gh.repo("octocat", "Hello-World").unwrap();
    /// assert_eq!(repo.full_name(), "octocat/Hello-World");
    /// assert!(matches!(gh.repo("octocat", "../admin"), Err(GitHubError::InvalidInput { field: "repo", .. })));
    /// ```
    pub fn repo(&self, owner: &str, name: &str) -> Result<Repo, GitHubError> {
        check_name("owner", owner)?;
        check_name("repo", name)?;
        let engine = self.engine()?;
        Ok(Repo {
            gh: self.clone(),
            prefix: format!("{}/repos/{owner}/{name}", engine.base_str).into(),
            full_name: format!("{owner}/{name}").into(),
        })
    }

    async fn get<T: DeserializeOwned>(&self, url: &str) -> Result<T, GitHubError> {
        let engine = self.engine()?;
        let reply = engine.send(&Call::get(url)).await?;
        engine.decode(&reply)
    }

    async fn create<B: Serialize, T: DeserializeOwned>(
        &self,
        url: &str,
        body: &B,
    ) -> Result<T, GitHubError> {
        let engine = self.engine()?;
        let body =
            serde_json::to_vec(body).map_err(|e| GitHubError::invalid("body", e.to_string()))?;
        let reply = engine.send(&Call::create(url, Bytes::from(body))).await?;
        engine.decode(&reply)
    }
}

/// Checks an owner, repository or workflow file name: what may go into a
/// path segment unencoded.
fn check_name(field: &'static str, name: &str) -> Result<(), GitHubError> {
    if name.is_empty() || name.len() > 100 {
        return Err(GitHubError::invalid(field, "must be 1 to 100 characters"));
    }
    if name == "." || name == ".." {
        return Err(GitHubError::invalid(field, "must not be `.` or `..`"));
    }
    if let Some(c) = name
        .chars()
        .find(|c| !(c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.')))
    {
        return Err(GitHubError::invalid(
            field,
            format!("must be letters, digits, `-`, `_` and `.` only, not {c:?}"),
        ));
    }
    Ok(())
}

fn require(field: &'static str, value: &str) -> Result<(), GitHubError> {
    if value.trim().is_empty() {
        Err(GitHubError::invalid(field, "must not be blank"))
    } else {
        Ok(())
    }
}

/// A repository, to create issues and pull requests in and list its
/// workflow runs. Made by [`GitHub::repo`]; cheap to clone.
#[derive(Clone)]
pub struct Repo {
    gh: GitHub,
    /// `{base}/repos/{owner}/{repo}`.
    prefix: Arc<str>,
    full_name: Arc<str>,
}

impl fmt::Debug for Repo {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Repo")
            .field("full_name", &self.full_name)
            .finish()
    }
}

impl Repo {
    /// `owner/name`.
    pub fn full_name(&self) -> &str {
        &self.full_name
    }

    /// Opens an issue (`POST /repos/{owner}/{repo}/issues`). Paced as a
    /// content-creating request, and never re-sent after an answer that may
    /// mean it was created.
    pub async fn create_issue(&self, issue: &NewIssue) -> Result<Issue, GitHubError> {
        require("title", &issue.title)?;
        self.gh
            .create(&format!("{}/issues", self.prefix), issue)
            .await
    }

    /// Opens a pull request (`POST /repos/{owner}/{repo}/pulls`). Paced
    /// and never re-sent like [`create_issue`](Self::create_issue).
    pub async fn create_pull_request(
        &self,
        pull: &NewPullRequest,
    ) -> Result<PullRequest, GitHubError> {
        require("title", &pull.title)?;
        require("head", &pull.head)?;
        require("base", &pull.base)?;
        self.gh
            .create(&format!("{}/pulls", self.prefix), pull)
            .await
    }

    /// The repository's workflow runs matching `filter`, newest first
    /// (`GET /repos/{owner}/{repo}/actions/runs`), over every page.
    pub fn workflow_runs(&self, filter: RunFilter) -> WorkflowRuns {
        WorkflowRuns::new(
            self.gh.clone(),
            format!("{}/actions/runs", self.prefix),
            filter,
        )
    }

    /// One workflow of the repository, by id or file name (`ci.yml`).
    pub fn workflow(&self, id: impl Into<WorkflowId>) -> Result<Workflow, GitHubError> {
        let id = id.into();
        if let WorkflowId::File(file) = &id {
            check_name("workflow", file)?;
        }
        Ok(Workflow {
            repo: self.clone(),
            prefix: format!("{}/actions/workflows/{id}", self.prefix).into(),
        })
    }

    /// One workflow run (`GET /repos/{owner}/{repo}/actions/runs/{run_id}`).
    pub async fn workflow_run(&self, run_id: u64) -> Result<WorkflowRun, GitHubError> {
        self.gh
            .get(&format!("{}/actions/runs/{run_id}", self.prefix))
            .await
    }
}

/// One workflow of a repository. Made by [`Repo::workflow`].
#[derive(Clone)]
pub struct Workflow {
    repo: Repo,
    /// `{base}/repos/{owner}/{repo}/actions/workflows/{id}`.
    prefix: Arc<str>,
}

impl fmt::Debug for Workflow {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Workflow")
            .field("repo", &self.repo.full_name)
            .field("path", &self.prefix)
            .finish()
    }
}

impl Workflow {
    /// The workflow's runs matching `filter`, newest first
    /// (`GET /repos/{owner}/{repo}/actions/workflows/{workflow_id}/runs`),
    /// over every page.
    pub fn runs(&self, filter: RunFilter) -> WorkflowRuns {
        WorkflowRuns::new(
            self.repo.gh.clone(),
            format!("{}/runs", self.prefix),
            filter,
        )
    }
}

/// Makes a [`GitHub`] client with its service's [`ChildSpec`].
pub struct GitHubBuilder {
    name: String,
    config: GitHubConfig,
    clock: Option<Arc<dyn Clock>>,
}

impl fmt::Debug for GitHubBuilder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("GitHubBuilder")
            .field("name", &self.name)
            .field("config", &self.config)
            .field("clock", &self.clock)
            .finish()
    }
}

impl GitHubBuilder {
    /// The configuration (default: [`GitHubConfig::default`]).
    pub fn config(mut self, config: GitHubConfig) -> GitHubBuilder {
        self.config = config;
        self
    }

    /// The clock waits are measured and made on (default:
    /// [`SystemClock`]). Tests use a [`ManualClock`](super::ManualClock).
    pub fn clock(mut self, clock: impl Clock) -> GitHubBuilder {
        self.clock = Some(Arc::new(clock));
        self
    }

    /// Checks the name and the configuration and makes the service.
    pub fn build(self) -> Result<(ChildSpec, GitHub), ConfigError> {
        let clock = self.clock.unwrap_or_else(|| Arc::new(SystemClock));
        let config = self.config;
        let (spec, shared) = kit::service(self.name, move |name| {
            GitHubEngine::new(name, config, clock)
        })?;
        Ok((spec, GitHub { shared }))
    }
}
