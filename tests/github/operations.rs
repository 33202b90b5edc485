//! Each operation sends what GitHub documents — method, path, headers,
//! query, body — and reads GitHub's answer into its typed form.

use crate::api::{self, ok, Api, TOKEN};
use serde_json::json;
use servitor::github::{
    GitHubError, NewIssue, NewPullRequest, RunConclusion, RunFilter, RunStatus, RunStatusFilter,
};
use wiremock::matchers::{body_json, header, method, path, query_param};
use wiremock::Mock;

/// The headers every request carries.
fn github_headers(m: wiremock::MockBuilder) -> wiremock::MockBuilder {
    m.and(header("authorization", format!("Bearer {TOKEN}").as_str()))
        .and(header("accept", "application/vnd.github+json"))
        .and(header("x-github-api-version", "2022-11-28"))
        .and(header(
            "user-agent",
            concat!("servitor/", env!("CARGO_PKG_VERSION")),
        ))
}

#[tokio::test]
async fn creating_an_issue_posts_the_documented_body_with_the_token_and_api_headers() {
    let api = Api::start().await;
    github_headers(Mock::given(method("POST")))
        .and(path("/repos/octocat/Hello-World/issues"))
        .and(header("content-type", "application/json"))
        .and(body_json(json!({
            "title": "Found a bug",
            "body": "I'm having a problem with this.",
            "assignees": ["octocat"],
            "milestone": 1,
            "labels": ["bug"]
        })))
        .respond_with(ok(201, api::issue(1347, "Found a bug")))
        .expect(1)
        .mount(&api.server)
        .await;

    let issue = api
        .repo()
        .create_issue(
            &NewIssue::new("Found a bug")
                .body("I'm having a problem with this.")
                .assignees(["octocat"])
                .milestone(1)
                .labels(["bug"]),
        )
        .await
        .unwrap();
    assert_eq!(issue.number, 1347);
    assert_eq!(issue.title, "Found a bug");
    assert_eq!(issue.state, "open");
    assert_eq!(issue.labels[0].name, "bug");
    assert_eq!(issue.assignees[0].login, "octocat");
    assert_eq!(issue.milestone.as_ref().unwrap().number, 1);
    assert_eq!(issue.user.as_ref().unwrap().kind.as_deref(), Some("User"));
    assert_eq!(
        issue.html_url,
        "https://github.com/octocat/Hello-World/issues/1347"
    );
    assert_eq!(issue.created_at.to_rfc3339(), "2011-04-22T13:33:48+00:00");
}

#[tokio::test]
async fn creating_a_pull_request_posts_head_base_draft_and_maintainer_can_modify() {
    let api = Api::start().await;
    github_headers(Mock::given(method("POST")))
        .and(path("/repos/octocat/Hello-World/pulls"))
        .and(body_json(json!({
            "title": "Amazing new feature",
            "head": "octocat:new-topic",
            "base": "master",
            "body": "Please pull these awesome changes in!",
            "maintainer_can_modify": false,
            "draft": true
        })))
        .respond_with(ok(201, api::pull_request(1347)))
        .expect(1)
        .mount(&api.server)
        .await;

    let pr = api
        .repo()
        .create_pull_request(
            &NewPullRequest::new("Amazing new feature", "octocat:new-topic", "master")
                .body("Please pull these awesome changes in!")
                .maintainer_can_modify(false)
                .draft(true),
        )
        .await
        .unwrap();
    assert_eq!(pr.number, 1347);
    assert!(pr.draft);
    assert!(!pr.maintainer_can_modify);
    assert_eq!(pr.head.branch, "new-topic");
    assert_eq!(pr.head.label, "octocat:new-topic");
    assert_eq!(pr.base.branch, "master");
    assert_eq!(pr.mergeable, None);
    assert_eq!(pr.requested_reviewers[0].login, "other_user");
}

#[tokio::test]
async fn one_workflow_run_is_fetched_by_id() {
    let api = Api::start().await;
    github_headers(Mock::given(method("GET")))
        .and(path("/repos/octocat/Hello-World/actions/runs/30433642"))
        .respond_with(ok(200, api::workflow_run(30433642)))
        .expect(1)
        .mount(&api.server)
        .await;

    let run = api.repo().workflow_run(30433642).await.unwrap();
    assert_eq!(run.id, 30433642);
    assert_eq!(run.name.as_deref(), Some("Build"));
    assert_eq!(run.status, Some(RunStatus::Completed));
    assert_eq!(run.conclusion, Some(RunConclusion::Success));
    assert_eq!(run.run_number, 562);
    assert_eq!(run.run_attempt, Some(1));
    assert_eq!(run.event, "push");
    assert_eq!(run.workflow_id, 159038);
    assert_eq!(run.pull_requests[0].number, 1347);
    let commit = run.head_commit.unwrap();
    assert_eq!(commit.message, "Create linter.yaml");
    assert_eq!(
        commit.author.unwrap().email.as_deref(),
        Some("octocat@github.com")
    );
    assert_eq!(run.repository.unwrap().full_name, "octocat/Hello-World");
    assert!(run.head_repository.unwrap().private);
}

#[tokio::test]
async fn unknown_statuses_and_conclusions_still_read() {
    let api = Api::start().await;
    let mut body = api::workflow_run(7);
    body["status"] = json!("some_future_status");
    body["conclusion"] = json!(null);
    Mock::given(method("GET"))
        .and(path("/repos/octocat/Hello-World/actions/runs/7"))
        .respond_with(ok(200, body))
        .mount(&api.server)
        .await;
    let run = api.repo().workflow_run(7).await.unwrap();
    assert_eq!(run.status, Some(RunStatus::Other));
    assert_eq!(run.conclusion, None);
}

#[tokio::test]
async fn the_rate_limit_is_read_and_recorded_for_every_resource() {
    let api = Api::start().await;
    github_headers(Mock::given(method("GET")))
        .and(path("/rate_limit"))
        .respond_with(ok(200, api::rate_limit_overview()))
        .expect(1)
        .mount(&api.server)
        .await;

    let overview = api.gh.rate_limit().await.unwrap();
    assert_eq!(overview.core().unwrap().remaining, 4999);
    assert_eq!(overview.resources["search"].limit, 30);
    assert_eq!(overview.rate.unwrap().limit, 5000);
    let seen = api.gh.rate_limits();
    assert_eq!(seen["search"].remaining, 18);
    assert_eq!(seen["graphql"].used, 7);
    assert_eq!(seen["code_search"].limit, 10);
    assert_eq!(seen["core"].reset, api::T0 + 3600);
}

#[tokio::test]
async fn a_repository_listing_sends_every_filter_as_a_query_parameter() {
    let api = Api::start().await;
    github_headers(Mock::given(method("GET")))
        .and(path("/repos/octocat/Hello-World/actions/runs"))
        .and(query_param("actor", "octocat"))
        .and(query_param("branch", "feature/x y"))
        .and(query_param("event", "pull_request"))
        .and(query_param("status", "timed_out"))
        .and(query_param("created", ">=2024-01-01"))
        .and(query_param(
            "head_sha",
            "acb5820ced9479c074f688cc328bf03f341a511d",
        ))
        .and(query_param("exclude_pull_requests", "true"))
        .and(query_param("check_suite_id", "42"))
        .and(query_param("per_page", "100"))
        .respond_with(ok(200, api::runs_page(2, [1, 2])))
        .expect(1)
        .mount(&api.server)
        .await;

    let filter = RunFilter::new()
        .actor("octocat")
        .branch("feature/x y")
        .event("pull_request")
        .status(RunStatusFilter::TimedOut)
        .created(">=2024-01-01")
        .head_sha("acb5820ced9479c074f688cc328bf03f341a511d")
        .exclude_pull_requests(true)
        .check_suite_id(42)
        .per_page(100);
    let runs = api
        .repo()
        .workflow_runs(filter)
        .try_collect()
        .await
        .unwrap();
    assert_eq!(runs.iter().map(|r| r.id).collect::<Vec<_>>(), [1, 2]);
}

#[tokio::test]
async fn a_workflow_is_listed_by_file_name_or_id() {
    let api = Api::start().await;
    for id in ["ci.yml", "161335"] {
        Mock::given(method("GET"))
            .and(path(format!(
                "/repos/octocat/Hello-World/actions/workflows/{id}/runs"
            )))
            .and(query_param("branch", "main"))
            .respond_with(ok(200, api::runs_page(1, [9])))
            .expect(1)
            .mount(&api.server)
            .await;
    }
    let repo = api.repo();
    let by_file = repo
        .workflow("ci.yml")
        .unwrap()
        .runs(RunFilter::new().branch("main"));
    assert_eq!(by_file.try_collect().await.unwrap()[0].id, 9);
    let by_id = repo
        .workflow(161335)
        .unwrap()
        .runs(RunFilter::new().branch("main"));
    assert_eq!(by_id.try_collect().await.unwrap()[0].id, 9);
}

#[tokio::test]
async fn an_enterprise_server_base_path_is_kept() {
    let api = Api::with(|c| c.base_url = format!("{}/api/v3/", c.base_url)).await;
    Mock::given(method("GET"))
        .and(path("/api/v3/repos/octocat/Hello-World/actions/runs/5"))
        .respond_with(ok(200, api::workflow_run(5)))
        .expect(1)
        .mount(&api.server)
        .await;
    assert_eq!(api.gh.base_url(), format!("{}/api/v3", api.uri()));
    assert_eq!(api.repo().workflow_run(5).await.unwrap().id, 5);
}

#[tokio::test]
async fn bad_input_is_refused_before_anything_is_sent() {
    let api = Api::start().await;
    let field = |e: GitHubError| match e {
        GitHubError::InvalidInput { field, .. } => field,
        other => panic!("expected InvalidInput, got {other:?}"),
    };
    assert_eq!(field(api.gh.repo("", "x").unwrap_err()), "owner");
    assert_eq!(field(api.gh.repo("octocat", "a/b").unwrap_err()), "repo");
    assert_eq!(field(api.gh.repo("octocat", "..").unwrap_err()), "repo");
    assert_eq!(field(api.gh.repo("oct?cat", "x").unwrap_err()), "owner");
    let repo = api.repo();
    assert_eq!(field(repo.workflow("../ci.yml").unwrap_err()), "workflow");
    let blank = repo.create_issue(&NewIssue::new("  ")).await.unwrap_err();
    assert_eq!(field(blank), "title");
    let no_base = repo
        .create_pull_request(&NewPullRequest::new("t", "feature", ""))
        .await
        .unwrap_err();
    assert_eq!(field(no_base), "base");
    for n in [0, 101] {
        let mut runs = repo.workflow_runs(RunFilter::new().per_page(n));
        let err = runs.next().await.unwrap().unwrap_err();
        assert!(err.to_string().contains("1 to 100"), "{err}");
        assert_eq!(field(err), "per_page");
        assert!(runs.next().await.is_none());
    }
    assert_eq!(api.received().await, 0);
}
