//! Reads are retried with backoff after server errors and failed
//! connections; a create is never re-sent blindly — only when it never
//! left (the connection could not be made).

use crate::api::{self, ok, Api, RETRY_FIRST};
use serde_json::json;
use servitor::github::{GitHub, GitHubError, NewIssue};
use std::time::Duration;
use wiremock::matchers::{method, path};
use wiremock::{Mock, ResponseTemplate};

const RUN: &str = "/repos/octocat/Hello-World/actions/runs/1";

fn bad_gateway() -> ResponseTemplate {
    ok(502, json!({ "message": "Server Error" }))
}

/// An address nothing listens on.
fn closed_port() -> String {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    drop(listener);
    format!("http://127.0.0.1:{port}")
}

#[tokio::test]
async fn a_read_answered_5xx_is_retried_with_backoff() {
    let api = Api::start().await;
    Mock::given(method("GET"))
        .and(path(RUN))
        .respond_with(bad_gateway())
        .up_to_n_times(2)
        .expect(2)
        .mount(&api.server)
        .await;
    Mock::given(method("GET"))
        .and(path(RUN))
        .respond_with(ok(200, api::workflow_run(1)))
        .expect(1)
        .mount(&api.server)
        .await;
    assert_eq!(api.repo().workflow_run(1).await.unwrap().id, 1);
    assert_eq!(api.clock.sleeps(), [RETRY_FIRST, RETRY_FIRST * 2]);
    assert_eq!(api.gh.stats().retries, 2);
}

#[tokio::test]
async fn a_read_that_keeps_failing_is_a_server_error_after_the_retries() {
    let api = Api::start().await;
    Mock::given(method("GET"))
        .and(path(RUN))
        .respond_with(ok(503, json!({ "message": "Service Unavailable" })))
        .expect(4)
        .mount(&api.server)
        .await;
    match api.repo().workflow_run(1).await.unwrap_err() {
        GitHubError::Server {
            status,
            message,
            attempts,
            outcome_unknown,
        } => {
            assert_eq!((status, attempts, outcome_unknown), (503, 4, false));
            assert_eq!(message, "Service Unavailable");
        }
        other => panic!("expected Server, got {other:?}"),
    }
    assert_eq!(api.clock.sleeps().len(), 3);
}

#[tokio::test]
async fn a_post_answered_502_is_not_sent_again() {
    let api = Api::start().await;
    Mock::given(method("POST"))
        .and(path("/repos/octocat/Hello-World/issues"))
        .respond_with(bad_gateway())
        .expect(1)
        .mount(&api.server)
        .await;
    let err = api
        .repo()
        .create_issue(&NewIssue::new("Found a bug"))
        .await
        .unwrap_err();
    match &err {
        GitHubError::Server {
            status,
            attempts,
            outcome_unknown,
            ..
        } => assert_eq!((*status, *attempts, *outcome_unknown), (502, 1, true)),
        other => panic!("expected Server, got {other:?}"),
    }
    assert!(err.to_string().contains("not re-sent"), "{err}");
    assert!(api.clock.sleeps().is_empty());
    assert_eq!(api.received().await, 1);
}

#[tokio::test]
async fn a_read_whose_connection_fails_is_retried_then_fails_as_transport() {
    let api = Api::with(|c| c.base_url = closed_port()).await;
    match api.repo().workflow_run(1).await.unwrap_err() {
        GitHubError::Transport {
            attempts,
            timed_out,
            outcome_unknown,
            ..
        } => assert_eq!((attempts, timed_out, outcome_unknown), (4, false, false)),
        other => panic!("expected Transport, got {other:?}"),
    }
    assert_eq!(api.clock.sleeps().len(), 3);
}

#[tokio::test]
async fn a_create_whose_connection_could_not_be_made_is_tried_again_since_nothing_was_sent() {
    let api = Api::with(|c| c.base_url = closed_port()).await;
    let err = api
        .repo()
        .create_issue(&NewIssue::new("t"))
        .await
        .unwrap_err();
    match err {
        GitHubError::Transport {
            attempts,
            outcome_unknown,
            ..
        } => assert_eq!((attempts, outcome_unknown), (4, false)),
        other => panic!("expected Transport, got {other:?}"),
    }
}

#[tokio::test]
async fn a_create_that_times_out_is_not_sent_again_and_its_outcome_is_unknown() {
    let api = Api::with(|c| c.request_timeout = Duration::from_millis(200)).await;
    Mock::given(method("POST"))
        .and(path("/repos/octocat/Hello-World/issues"))
        .respond_with(ok(201, api::issue(1, "t")).set_delay(Duration::from_secs(3)))
        .expect(1)
        .mount(&api.server)
        .await;
    let err = api
        .repo()
        .create_issue(&NewIssue::new("t"))
        .await
        .unwrap_err();
    match &err {
        GitHubError::Transport {
            attempts,
            timed_out,
            outcome_unknown,
            ..
        } => assert_eq!((*attempts, *timed_out, *outcome_unknown), (1, true, true)),
        other => panic!("expected Transport, got {other:?}"),
    }
    assert!(err.to_string().contains("timed out"), "{err}");
}

#[tokio::test]
async fn a_read_that_times_out_is_retried() {
    let api = Api::with(|c| c.request_timeout = Duration::from_millis(200)).await;
    Mock::given(method("GET"))
        .and(path(RUN))
        .respond_with(ok(200, api::workflow_run(1)).set_delay(Duration::from_secs(3)))
        .up_to_n_times(1)
        .mount(&api.server)
        .await;
    Mock::given(method("GET"))
        .and(path(RUN))
        .respond_with(ok(200, api::workflow_run(1)))
        .mount(&api.server)
        .await;
    assert_eq!(api.repo().workflow_run(1).await.unwrap().id, 1);
    assert_eq!(api.received().await, 2);
}

#[tokio::test]
async fn no_retries_when_turned_off() {
    let api = Api::with(|c| c.retries.attempts = 0).await;
    Mock::given(method("GET"))
        .and(path(RUN))
        .respond_with(bad_gateway())
        .expect(1)
        .mount(&api.server)
        .await;
    let gh: &GitHub = &api.gh;
    let err = gh
        .repo("octocat", "Hello-World")
        .unwrap()
        .workflow_run(1)
        .await;
    assert!(matches!(err, Err(GitHubError::Server { attempts: 1, .. })));
}
