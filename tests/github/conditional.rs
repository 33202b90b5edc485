//! Conditional reads: an answer's `ETag` is sent back as `If-None-Match`,
//! and a `304 Not Modified` is served from memory.

use crate::api::{self, ok, rate, Api, T0};
use wiremock::matchers::{header, header_exists, method, path};
use wiremock::{Mock, ResponseTemplate};

const RUN: &str = "/repos/octocat/Hello-World/actions/runs/1";
const TAG: &str = "W/\"644b5b0155e6404a9cc4bd9d8b1ae730\"";

fn not_modified() -> ResponseTemplate {
    rate(ResponseTemplate::new(304), 5000, 4999, T0 + 3600).insert_header("etag", TAG)
}

#[tokio::test]
async fn a_repeated_read_sends_if_none_match_and_a_304_is_served_from_the_cache() {
    let api = Api::start().await;
    Mock::given(method("GET"))
        .and(path(RUN))
        .and(header("if-none-match", TAG))
        .respond_with(not_modified())
        .expect(2)
        .mount(&api.server)
        .await;
    Mock::given(method("GET"))
        .and(path(RUN))
        .respond_with(ok(200, api::workflow_run(1)).insert_header("etag", TAG))
        .expect(1)
        .mount(&api.server)
        .await;
    let repo = api.repo();
    let first = repo.workflow_run(1).await.unwrap();
    let second = repo.workflow_run(1).await.unwrap();
    let third = repo.workflow_run(1).await.unwrap();
    assert_eq!(first, second);
    assert_eq!(first, third);
    let stats = api.gh.stats();
    assert_eq!(stats.not_modified, 2);
    assert_eq!(stats.requests, 3);
    assert_eq!(stats.etag_entries, 1);
}

#[tokio::test]
async fn a_changed_resource_replaces_the_remembered_answer() {
    let api = Api::start().await;
    let mut changed = api::workflow_run(1);
    changed["status"] = "in_progress".into();
    Mock::given(method("GET"))
        .and(path(RUN))
        .and(header("if-none-match", "\"v2\""))
        .respond_with(not_modified())
        .expect(1)
        .mount(&api.server)
        .await;
    Mock::given(method("GET"))
        .and(path(RUN))
        .and(header("if-none-match", "\"v1\""))
        .respond_with(ok(200, changed).insert_header("etag", "\"v2\""))
        .expect(1)
        .mount(&api.server)
        .await;
    Mock::given(method("GET"))
        .and(path(RUN))
        .respond_with(ok(200, api::workflow_run(1)).insert_header("etag", "\"v1\""))
        .expect(1)
        .mount(&api.server)
        .await;
    let repo = api.repo();
    let v1 = repo.workflow_run(1).await.unwrap();
    let v2 = repo.workflow_run(1).await.unwrap();
    assert_ne!(v1.status, v2.status);
    assert_eq!(repo.workflow_run(1).await.unwrap(), v2);
}

#[tokio::test]
async fn conditional_requests_can_be_turned_off() {
    let api = Api::with(|c| c.etag_cache = 0).await;
    Mock::given(method("GET"))
        .and(path(RUN))
        .and(header_exists("if-none-match"))
        .respond_with(not_modified())
        .expect(0)
        .mount(&api.server)
        .await;
    Mock::given(method("GET"))
        .and(path(RUN))
        .respond_with(ok(200, api::workflow_run(1)).insert_header("etag", TAG))
        .expect(2)
        .mount(&api.server)
        .await;
    api.repo().workflow_run(1).await.unwrap();
    api.repo().workflow_run(1).await.unwrap();
    assert_eq!(api.gh.stats().etag_entries, 0);
}

#[tokio::test]
async fn creates_are_never_conditional() {
    let api = Api::start().await;
    Mock::given(method("POST"))
        .and(path("/repos/octocat/Hello-World/issues"))
        .and(header_exists("if-none-match"))
        .respond_with(not_modified())
        .expect(0)
        .mount(&api.server)
        .await;
    Mock::given(method("POST"))
        .and(path("/repos/octocat/Hello-World/issues"))
        .respond_with(ok(201, api::issue(1, "t")).insert_header("etag", TAG))
        .expect(2)
        .mount(&api.server)
        .await;
    let repo = api.repo();
    for _ in 0..2 {
        repo.create_issue(&servitor::github::NewIssue::new("t"))
            .await
            .unwrap();
    }
}
