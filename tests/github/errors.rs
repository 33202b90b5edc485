//! GitHub's refusals as typed errors, with what the caller needs to act.

use crate::api::{self, ok, Api, TOKEN};
use serde_json::json;
use servitor::github::{FieldError, GitHubError, NewIssue};
use wiremock::matchers::{header, method, path};
use wiremock::{Mock, ResponseTemplate};

const RUN: &str = "/repos/octocat/Hello-World/actions/runs/1";
const ISSUES: &str = "/repos/octocat/Hello-World/issues";

#[tokio::test]
async fn bad_credentials_fail_the_call_and_every_later_one_until_a_new_token_is_set() {
    let api = Api::start().await;
    Mock::given(method("GET"))
        .and(path(RUN))
        .and(header("authorization", format!("Bearer {TOKEN}").as_str()))
        .respond_with(ok(
            401,
            json!({
                "message": "Bad credentials",
                "documentation_url": "https://docs.github.com/rest",
                "status": "401"
            }),
        ))
        .expect(1)
        .mount(&api.server)
        .await;
    Mock::given(method("GET"))
        .and(path(RUN))
        .and(header("authorization", "Bearer ghp_rotated"))
        .respond_with(ok(200, api::workflow_run(1)))
        .expect(1)
        .mount(&api.server)
        .await;
    let repo = api.repo();
    match repo.workflow_run(1).await.unwrap_err() {
        GitHubError::BadCredentials { message } => assert_eq!(message, "Bad credentials"),
        other => panic!("expected BadCredentials, got {other:?}"),
    }
    // Stopped calling: nothing more is sent with the refused token.
    let again = repo.workflow_run(1).await.unwrap_err();
    assert!(
        matches!(again, GitHubError::BadCredentials { .. }),
        "{again:?}"
    );
    let create = repo.create_issue(&NewIssue::new("t")).await.unwrap_err();
    assert!(matches!(create, GitHubError::BadCredentials { .. }));
    assert_eq!(api.received().await, 1);

    api.gh.set_token("ghp_rotated").unwrap();
    assert_eq!(repo.workflow_run(1).await.unwrap().id, 1);
}

#[tokio::test]
async fn not_found_and_gone_say_what_github_said() {
    let api = Api::start().await;
    Mock::given(method("GET"))
        .and(path(RUN))
        .respond_with(ok(
            404,
            json!({
                "message": "Not Found",
                "documentation_url": "https://docs.github.com/rest/actions/workflow-runs#get-a-workflow-run",
                "status": "404"
            }),
        ))
        .mount(&api.server)
        .await;
    Mock::given(method("POST"))
        .and(path(ISSUES))
        .respond_with(ok(
            410,
            json!({
                "message": "Issues are disabled for this repo",
                "documentation_url": "https://docs.github.com/v3/issues/",
                "status": "410"
            }),
        ))
        .expect(1)
        .mount(&api.server)
        .await;
    let repo = api.repo();
    let missing = repo.workflow_run(1).await.unwrap_err();
    assert_eq!(missing.status(), Some(404));
    assert!(matches!(
        &missing,
        GitHubError::NotFound { message, documentation_url: Some(_) } if message == "Not Found"
    ));
    let gone = repo.create_issue(&NewIssue::new("t")).await.unwrap_err();
    assert_eq!(
        gone,
        GitHubError::Gone {
            message: "Issues are disabled for this repo".into()
        }
    );
    assert_eq!(api.gh.stats().errors, 2);
}

#[tokio::test]
async fn a_validation_failure_lists_each_resource_field_and_code() {
    let api = Api::start().await;
    Mock::given(method("POST"))
        .and(path(ISSUES))
        .respond_with(ok(
            422,
            json!({
                "message": "Validation Failed",
                "errors": [
                    { "resource": "Issue", "field": "title", "code": "missing_field" },
                    { "resource": "Label", "field": "name", "code": "invalid" },
                    { "resource": "Issue", "code": "custom", "field": "assignees", "message": "octo is not assignable" },
                    "No commits between main and topic"
                ],
                "documentation_url": "https://docs.github.com/rest/issues/issues#create-an-issue",
                "status": "422"
            }),
        ))
        .expect(1)
        .mount(&api.server)
        .await;
    let err = api
        .repo()
        .create_issue(&NewIssue::new("t").labels(["b@d"]))
        .await
        .unwrap_err();
    let GitHubError::Validation { message, errors } = &err else {
        panic!("expected Validation, got {err:?}");
    };
    assert_eq!(message, "Validation Failed");
    let triple = |e: &FieldError| (e.resource.clone(), e.field.clone(), e.code.clone());
    let s = |v: &str| Some(v.to_string());
    assert_eq!(
        triple(&errors[0]),
        (s("Issue"), s("title"), s("missing_field"))
    );
    assert_eq!(triple(&errors[1]), (s("Label"), s("name"), s("invalid")));
    assert_eq!(errors[2].message.as_deref(), Some("octo is not assignable"));
    assert_eq!(
        errors[3].message.as_deref(),
        Some("No commits between main and topic")
    );
    let text = err.to_string();
    assert!(text.contains("Issue.title: missing_field"), "{text}");
    assert!(text.contains("Label.name: invalid"), "{text}");
}

#[tokio::test]
async fn other_refusals_keep_their_status_and_message() {
    let api = Api::start().await;
    Mock::given(method("POST"))
        .and(path("/repos/octocat/Hello-World/pulls"))
        .respond_with(ok(409, json!({ "message": "Git Repository is empty." })))
        .mount(&api.server)
        .await;
    let err = api
        .repo()
        .create_pull_request(&servitor::github::NewPullRequest::new("t", "a", "b"))
        .await
        .unwrap_err();
    assert_eq!(
        err,
        GitHubError::Api {
            status: 409,
            message: "Git Repository is empty.".into()
        }
    );
}

#[tokio::test]
async fn a_body_that_does_not_read_is_malformed_with_its_first_bytes_and_never_the_token() {
    let api = Api::start().await;
    let body = format!(
        "<html><body>proxy error for Authorization: Bearer {TOKEN} {}</body></html>",
        "x".repeat(1000)
    );
    Mock::given(method("GET"))
        .and(path(RUN))
        .respond_with(ResponseTemplate::new(200).set_body_raw(body, "text/html"))
        .mount(&api.server)
        .await;
    let err = api.repo().workflow_run(1).await.unwrap_err();
    let GitHubError::Malformed {
        status,
        problem,
        body_start,
    } = &err
    else {
        panic!("expected Malformed, got {err:?}");
    };
    assert_eq!(*status, 200);
    assert!(problem.contains("expected value"), "{problem}");
    assert!(
        body_start.starts_with("<html><body>proxy error"),
        "{body_start}"
    );
    assert!(body_start.contains("Bearer [redacted]"), "{body_start}");
    assert_eq!(body_start.chars().count(), 256);
    assert!(!format!("{err} {err:?}").contains(TOKEN));
}

#[tokio::test]
async fn a_body_missing_documented_fields_is_malformed() {
    let api = Api::start().await;
    Mock::given(method("GET"))
        .and(path(RUN))
        .respond_with(ok(200, json!({ "id": 1 })))
        .mount(&api.server)
        .await;
    let err = api.repo().workflow_run(1).await.unwrap_err();
    assert!(
        matches!(&err, GitHubError::Malformed { problem, body_start, .. }
            if problem.contains("missing field") && body_start == r#"{"id":1}"#),
        "{err:?}"
    );
}

#[tokio::test]
async fn a_service_without_a_token_is_disabled_and_sends_nothing() {
    let api = Api::with(|c| c.token = None).await;
    assert!(!api.gh.is_enabled());
    let err = api.repo().workflow_run(1).await.unwrap_err();
    assert_eq!(
        err,
        GitHubError::Disabled {
            service: "github".into()
        }
    );
    assert_eq!(
        err.to_string(),
        "GitHub service `github` is disabled: no token configured"
    );
    assert_eq!(api.received().await, 0);
}

#[tokio::test]
async fn a_service_gone_for_good_refuses_every_call() {
    let mut api = Api::start().await;
    let repo = api.repo();
    drop(api.spec.take());
    assert!(api.gh.is_stopped());
    let err = repo.workflow_run(1).await.unwrap_err();
    assert_eq!(
        err,
        GitHubError::Stopped {
            service: "github".into()
        }
    );
    assert!(api.gh.repo("a", "b").is_err());
    assert_eq!(api.received().await, 0);
}
