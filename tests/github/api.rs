//! A local server that answers as GitHub does, the client pointed at it,
//! and bodies shaped like GitHub's documented examples.

use serde_json::{json, Value};
use servitor::github::{GitHub, GitHubConfig, ManualClock, Retries, Throttle};
use servitor::kit::Backoff;
use servitor::ChildSpec;
use std::time::Duration;
use wiremock::{MockServer, ResponseTemplate};

/// The token every test client uses: shaped like a classic personal
/// access token, unique enough to search for in any output.
pub const TOKEN: &str = "ghp_16C7e42F292c6912E7710c838347Ae178B4a";
/// The wall time the test clocks start at (whole seconds), so reset waits
/// are exact.
pub const T0: u64 = 1_700_000_000;
/// The retry backoff of the test configuration: 100 ms doubling, no jitter.
pub const RETRY_FIRST: Duration = Duration::from_millis(100);

/// A client of a local server, on a clock that never waits.
pub struct Api {
    pub server: MockServer,
    pub gh: GitHub,
    pub clock: ManualClock,
    /// Keeps the service open (dropping the last spec closes it).
    pub spec: Option<ChildSpec>,
}

impl Api {
    /// A client with the test configuration.
    pub async fn start() -> Api {
        Api::with(|_| {}).await
    }

    /// A client with the test configuration changed by `change`.
    pub async fn with(change: impl FnOnce(&mut GitHubConfig)) -> Api {
        let server = MockServer::start().await;
        let mut config = config(&server);
        change(&mut config);
        let clock = ManualClock::at_unix(T0);
        let (spec, gh) = GitHub::builder("github")
            .config(config)
            .clock(clock.clone())
            .build()
            .expect("valid test config");
        Api {
            server,
            gh,
            clock,
            spec: Some(spec),
        }
    }

    /// The repository of GitHub's examples.
    pub fn repo(&self) -> servitor::github::Repo {
        self.gh.repo("octocat", "Hello-World").unwrap()
    }

    /// How many requests the server has received.
    pub async fn received(&self) -> usize {
        self.server.received_requests().await.unwrap().len()
    }

    pub fn uri(&self) -> String {
        self.server.uri()
    }
}

/// The test configuration: the token, the local server, no proactive
/// throttling (tests of it turn it on), a short exact retry backoff.
pub fn config(server: &MockServer) -> GitHubConfig {
    GitHubConfig {
        token: Some(TOKEN.into()),
        base_url: server.uri(),
        throttle: Throttle::off(),
        retries: Retries {
            attempts: 3,
            backoff: Backoff::exponential(RETRY_FIRST, Duration::from_secs(1)),
        },
        ..GitHubConfig::default()
    }
}

/// A JSON answer with the rate-limit headers GitHub sends on the `core`
/// resource.
pub fn answer(status: u16, body: Value, remaining: u64, reset: u64) -> ResponseTemplate {
    rate(ResponseTemplate::new(status), 5000, remaining, reset).set_body_raw(
        serde_json::to_vec(&body).unwrap(),
        "application/json; charset=utf-8",
    )
}

/// `answer` with plenty of quota left.
pub fn ok(status: u16, body: Value) -> ResponseTemplate {
    answer(status, body, 4999, T0 + 3600)
}

/// The rate-limit headers.
pub fn rate(t: ResponseTemplate, limit: u64, remaining: u64, reset: u64) -> ResponseTemplate {
    t.insert_header("x-ratelimit-limit", limit.to_string())
        .insert_header("x-ratelimit-remaining", remaining.to_string())
        .insert_header("x-ratelimit-used", (limit - remaining).to_string())
        .insert_header("x-ratelimit-reset", reset.to_string())
        .insert_header("x-ratelimit-resource", "core")
}

pub fn user(login: &str, id: u64) -> Value {
    json!({
        "login": login,
        "id": id,
        "node_id": "MDQ6VXNlcjE=",
        "avatar_url": "https://github.com/images/error/octocat_happy.gif",
        "gravatar_id": "",
        "url": format!("https://api.github.com/users/{login}"),
        "html_url": format!("https://github.com/{login}"),
        "type": "User",
        "site_admin": false
    })
}

/// An issue as `POST /repos/{owner}/{repo}/issues` answers it.
pub fn issue(number: u64, title: &str) -> Value {
    json!({
        "id": 1,
        "node_id": "MDU6SXNzdWUx",
        "url": format!("https://api.github.com/repos/octocat/Hello-World/issues/{number}"),
        "repository_url": "https://api.github.com/repos/octocat/Hello-World",
        "labels_url": format!("https://api.github.com/repos/octocat/Hello-World/issues/{number}/labels{{/name}}"),
        "comments_url": format!("https://api.github.com/repos/octocat/Hello-World/issues/{number}/comments"),
        "events_url": format!("https://api.github.com/repos/octocat/Hello-World/issues/{number}/events"),
        "html_url": format!("https://github.com/octocat/Hello-World/issues/{number}"),
        "number": number,
        "state": "open",
        "title": title,
        "body": "I'm having a problem with this.",
        "user": user("octocat", 1),
        "labels": [{
            "id": 208045946,
            "node_id": "MDU6TGFiZWwyMDgwNDU5NDY=",
            "url": "https://api.github.com/repos/octocat/Hello-World/labels/bug",
            "name": "bug",
            "description": "Something isn't working",
            "color": "f29513",
            "default": true
        }],
        "assignee": user("octocat", 1),
        "assignees": [user("octocat", 1)],
        "milestone": {
            "url": "https://api.github.com/repos/octocat/Hello-World/milestones/1",
            "html_url": "https://github.com/octocat/Hello-World/milestones/v1.0",
            "id": 1002604,
            "node_id": "MDk6TWlsZXN0b25lMTAwMjYwNA==",
            "number": 1,
            "state": "open",
            "title": "v1.0",
            "description": "Tracking milestone for version 1.0",
            "creator": user("octocat", 1),
            "open_issues": 4,
            "closed_issues": 8,
            "created_at": "2011-04-10T20:09:31Z",
            "updated_at": "2014-03-03T18:58:10Z",
            "closed_at": "2013-02-12T13:22:01Z",
            "due_on": "2012-10-09T23:39:01Z"
        },
        "locked": false,
        "active_lock_reason": null,
        "comments": 0,
        "pull_request": null,
        "closed_at": null,
        "created_at": "2011-04-22T13:33:48Z",
        "updated_at": "2011-04-22T13:33:48Z",
        "closed_by": null,
        "author_association": "COLLABORATOR",
        "state_reason": null
    })
}

fn branch(label: &str, name: &str, sha: &str) -> Value {
    json!({
        "label": label,
        "ref": name,
        "sha": sha,
        "user": user("octocat", 1),
        "repo": { "id": 1296269, "name": "Hello-World", "full_name": "octocat/Hello-World" }
    })
}

/// A pull request as `POST /repos/{owner}/{repo}/pulls` answers it.
pub fn pull_request(number: u64) -> Value {
    json!({
        "url": format!("https://api.github.com/repos/octocat/Hello-World/pulls/{number}"),
        "id": 1,
        "node_id": "MDExOlB1bGxSZXF1ZXN0MQ==",
        "html_url": format!("https://github.com/octocat/Hello-World/pull/{number}"),
        "diff_url": format!("https://github.com/octocat/Hello-World/pull/{number}.diff"),
        "patch_url": format!("https://github.com/octocat/Hello-World/pull/{number}.patch"),
        "number": number,
        "state": "open",
        "locked": false,
        "title": "Amazing new feature",
        "user": user("octocat", 1),
        "body": "Please pull these awesome changes in!",
        "labels": [],
        "milestone": null,
        "created_at": "2011-01-26T19:01:12Z",
        "updated_at": "2011-01-26T19:01:12Z",
        "closed_at": null,
        "merged_at": null,
        "merge_commit_sha": null,
        "assignee": null,
        "assignees": [],
        "requested_reviewers": [user("other_user", 2)],
        "requested_teams": [],
        "head": branch("octocat:new-topic", "new-topic", "6dcb09b5b57875f334f61aebed695e2e4193db5e"),
        "base": branch("octocat:master", "master", "6dcb09b5b57875f334f61aebed695e2e4193db5e"),
        "author_association": "OWNER",
        "draft": true,
        "merged": false,
        "mergeable": null,
        "rebaseable": null,
        "mergeable_state": "unknown",
        "comments": 0,
        "review_comments": 0,
        "maintainer_can_modify": false,
        "commits": 1,
        "additions": 100,
        "deletions": 3,
        "changed_files": 5
    })
}

/// A workflow run as GitHub's examples show it.
pub fn workflow_run(id: u64) -> Value {
    json!({
        "id": id,
        "name": "Build",
        "node_id": "MDEyOldvcmtmbG93IFJ1bjI2OTI4OQ==",
        "check_suite_id": 42,
        "check_suite_node_id": "MDEwOkNoZWNrU3VpdGU0Mg==",
        "head_branch": "master",
        "head_sha": "acb5820ced9479c074f688cc328bf03f341a511d",
        "path": ".github/workflows/build.yml@main",
        "run_number": 562,
        "event": "push",
        "display_title": "Update README.md",
        "status": "completed",
        "conclusion": "success",
        "workflow_id": 159038,
        "url": format!("https://api.github.com/repos/octo-org/octo-repo/actions/runs/{id}"),
        "html_url": format!("https://github.com/octo-org/octo-repo/actions/runs/{id}"),
        "pull_requests": [{
            "id": 1,
            "number": 1347,
            "url": "https://api.github.com/repos/octo-org/octo-repo/pulls/1347",
            "head": { "ref": "new-topic", "sha": "acb5820ced9479c074f688cc328bf03f341a511d", "repo": { "id": 1296269, "url": "https://api.github.com/repos/octo-org/octo-repo", "name": "octo-repo" } },
            "base": { "ref": "master", "sha": "9a9b9e6d6a8c1f5b6b0a5e5d6c7f8a9b0c1d2e3f", "repo": { "id": 1296269, "url": "https://api.github.com/repos/octo-org/octo-repo", "name": "octo-repo" } }
        }],
        "created_at": "2020-01-22T19:33:08Z",
        "updated_at": "2020-01-22T19:33:08Z",
        "actor": user("octocat", 1),
        "run_attempt": 1,
        "referenced_workflows": [],
        "run_started_at": "2020-01-22T19:33:08Z",
        "triggering_actor": user("octocat", 1),
        "jobs_url": format!("https://api.github.com/repos/octo-org/octo-repo/actions/runs/{id}/jobs"),
        "logs_url": format!("https://api.github.com/repos/octo-org/octo-repo/actions/runs/{id}/logs"),
        "check_suite_url": "https://api.github.com/repos/octo-org/octo-repo/check-suites/414944374",
        "artifacts_url": format!("https://api.github.com/repos/octo-org/octo-repo/actions/runs/{id}/artifacts"),
        "cancel_url": format!("https://api.github.com/repos/octo-org/octo-repo/actions/runs/{id}/cancel"),
        "rerun_url": format!("https://api.github.com/repos/octo-org/octo-repo/actions/runs/{id}/rerun"),
        "workflow_url": "https://api.github.com/repos/octo-org/octo-repo/actions/workflows/159038",
        "head_commit": {
            "id": "acb5820ced9479c074f688cc328bf03f341a511d",
            "tree_id": "d23f6eedb1e1b9610bbc754ddb5197bfe7271223",
            "message": "Create linter.yaml",
            "timestamp": "2020-01-22T19:33:05Z",
            "author": { "name": "Octo Cat", "email": "octocat@github.com" },
            "committer": { "name": "GitHub", "email": "noreply@github.com" }
        },
        "repository": {
            "id": 1296269,
            "node_id": "MDEwOlJlcG9zaXRvcnkxMjk2MjY5",
            "name": "Hello-World",
            "full_name": "octocat/Hello-World",
            "owner": user("octocat", 1),
            "private": false,
            "html_url": "https://github.com/octocat/Hello-World",
            "description": "This your first repo!",
            "fork": false
        },
        "head_repository": {
            "id": 217723378,
            "node_id": "MDEwOlJlcG9zaXRvcnkyMTc3MjMzNzg=",
            "name": "octo-repo",
            "full_name": "octo-org/octo-repo",
            "private": true,
            "owner": user("octocat", 1),
            "html_url": "https://github.com/octo-org/octo-repo"
        }
    })
}

/// A page of runs: `{"total_count": …, "workflow_runs": [...]}`.
pub fn runs_page(total: u64, ids: impl IntoIterator<Item = u64>) -> Value {
    let runs: Vec<Value> = ids.into_iter().map(workflow_run).collect();
    json!({ "total_count": total, "workflow_runs": runs })
}

/// `GET /rate_limit`'s answer.
pub fn rate_limit_overview() -> Value {
    json!({
        "resources": {
            "core": { "limit": 5000, "used": 1, "remaining": 4999, "reset": T0 + 3600 },
            "search": { "limit": 30, "used": 12, "remaining": 18, "reset": T0 + 60 },
            "graphql": { "limit": 5000, "used": 7, "remaining": 4993, "reset": T0 + 1800 },
            "integration_manifest": { "limit": 5000, "used": 1, "remaining": 4999, "reset": T0 + 3600 },
            "code_search": { "limit": 10, "used": 0, "remaining": 10, "reset": T0 + 60 }
        },
        "rate": { "limit": 5000, "used": 1, "remaining": 4999, "reset": T0 + 3600 }
    })
}

/// GitHub's answer to a secondary rate limit.
pub fn secondary_limit() -> Value {
    json!({
        "message": "You have exceeded a secondary rate limit. Please wait a few minutes before you try again. If you reach out to GitHub Support for help, please include the request ID 1234:5678:ABCD.",
        "documentation_url": "https://docs.github.com/rest/overview/rate-limits-for-the-rest-api#about-secondary-rate-limits",
        "status": "403"
    })
}

/// GitHub's answer to an exhausted primary limit.
pub fn primary_limit() -> Value {
    json!({
        "message": "API rate limit exceeded for user ID 1. If you reach out to GitHub Support for help, please include the request ID 1234:5678:ABCD.",
        "documentation_url": "https://docs.github.com/rest/overview/rate-limits-for-the-rest-api#about-the-primary-rate-limit",
        "status": "403"
    })
}

pub fn secs(n: u64) -> Duration {
    Duration::from_secs(n)
}
