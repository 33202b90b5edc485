//! GitHub's rate-limit contract, on a clock that records every wait
//! instead of waiting: primary limits wait for the reset (or fail with
//! it), secondary limits honour `retry-after` or wait a minute and back
//! off, a 403 without rate-limit signs is a permission error, and the
//! client throttles itself before GitHub has to.

use crate::api::{self, answer, ok, primary_limit, secondary_limit, secs, Api, T0};
use chrono::{TimeZone, Utc};
use serde_json::json;
use servitor::github::{GitHubError, NewIssue, RateLimitKind, Throttle};
use std::time::Duration;
use wiremock::matchers::{method, path};
use wiremock::{Mock, ResponseTemplate};

const RUN: &str = "/repos/octocat/Hello-World/actions/runs/1";

async fn run_once_then_ok(api: &Api, first: ResponseTemplate) {
    Mock::given(method("GET"))
        .and(path(RUN))
        .respond_with(first)
        .up_to_n_times(1)
        .mount(&api.server)
        .await;
    Mock::given(method("GET"))
        .and(path(RUN))
        .respond_with(ok(200, api::workflow_run(1)))
        .mount(&api.server)
        .await;
}

#[tokio::test]
async fn a_primary_limit_waits_until_the_reset_then_sends_again() {
    let api = Api::start().await;
    run_once_then_ok(&api, answer(403, primary_limit(), 0, T0 + 30)).await;
    let run = api.repo().workflow_run(1).await.unwrap();
    assert_eq!(run.id, 1);
    // Until the reset second has passed, plus a second for clock skew.
    assert_eq!(api.clock.sleeps(), [secs(31)]);
    assert_eq!(api.received().await, 2);
    assert_eq!(api.gh.stats().rate_limited, 1);
}

#[tokio::test]
async fn a_primary_limit_answered_429_is_the_same_limit() {
    let api = Api::start().await;
    run_once_then_ok(&api, answer(429, primary_limit(), 0, T0 + 5)).await;
    api.repo().workflow_run(1).await.unwrap();
    assert_eq!(api.clock.sleeps(), [secs(6)]);
}

#[tokio::test]
async fn a_reset_beyond_the_max_wait_fails_with_the_reset_time_and_nothing_more_is_sent_until_then()
{
    let api = Api::start().await;
    run_once_then_ok(&api, answer(403, primary_limit(), 0, T0 + 3600)).await;
    let err = api.repo().workflow_run(1).await.unwrap_err();
    match &err {
        GitHubError::RateLimited {
            kind,
            resource,
            retry_after,
            retry_at,
        } => {
            assert_eq!(*kind, RateLimitKind::Primary);
            assert_eq!(resource, "core");
            assert_eq!(*retry_after, secs(3601));
            assert_eq!(*retry_at, Utc.timestamp_opt((T0 + 3600) as i64, 0).unwrap());
        }
        other => panic!("expected RateLimited, got {other:?}"),
    }
    assert_eq!(err.retry_after(), Some(secs(3601)));
    assert!(err.to_string().contains("retry in 3601 s"), "{err}");
    // The resource is exhausted: the next call fails without sending.
    let again = api.repo().workflow_run(1).await.unwrap_err();
    assert!(matches!(
        again,
        GitHubError::RateLimited {
            kind: RateLimitKind::Primary,
            ..
        }
    ));
    assert_eq!(api.received().await, 1);
    assert!(api.clock.sleeps().is_empty());
    // Once the reset has passed, calls go out again.
    api.clock.advance(secs(3601));
    assert_eq!(api.repo().workflow_run(1).await.unwrap().id, 1);
    assert_eq!(api.received().await, 2);
}

#[tokio::test]
async fn an_answer_leaving_no_quota_holds_the_next_request_until_the_reset() {
    let api = Api::start().await;
    Mock::given(method("GET"))
        .and(path(RUN))
        .respond_with(answer(200, api::workflow_run(1), 0, T0 + 10))
        .up_to_n_times(1)
        .mount(&api.server)
        .await;
    Mock::given(method("GET"))
        .and(path(RUN))
        .respond_with(ok(200, api::workflow_run(1)))
        .mount(&api.server)
        .await;
    api.repo().workflow_run(1).await.unwrap();
    assert!(api.clock.sleeps().is_empty());
    api.repo().workflow_run(1).await.unwrap();
    assert_eq!(api.clock.sleeps(), [secs(11)]);
    assert_eq!(api.received().await, 2);
}

#[tokio::test]
async fn max_wait_zero_never_waits() {
    let api = Api::with(|c| c.rate_limits.max_wait = Duration::ZERO).await;
    run_once_then_ok(&api, answer(403, primary_limit(), 0, T0 + 2)).await;
    let err = api.repo().workflow_run(1).await.unwrap_err();
    assert_eq!(err.retry_after(), Some(secs(3)));
    assert!(api.clock.sleeps().is_empty());
}

#[tokio::test]
async fn a_secondary_limit_honours_retry_after() {
    let api = Api::start().await;
    run_once_then_ok(
        &api,
        answer(403, secondary_limit(), 4000, T0 + 3600).insert_header("retry-after", "30"),
    )
    .await;
    api.repo().workflow_run(1).await.unwrap();
    assert_eq!(api.clock.sleeps(), [secs(30)]);
    assert_eq!(api.received().await, 2);
}

#[tokio::test]
async fn a_secondary_limit_without_retry_after_waits_a_minute_then_backs_off_then_fails_saying_how_long(
) {
    let api = Api::with(|c| c.rate_limits.max_wait = secs(3600)).await;
    Mock::given(method("GET"))
        .and(path(RUN))
        .respond_with(answer(403, secondary_limit(), 4000, T0 + 3600))
        .expect(4)
        .mount(&api.server)
        .await;
    let err = api.repo().workflow_run(1).await.unwrap_err();
    // One minute, then the kit's backoff doubling it; three tries again.
    assert_eq!(api.clock.sleeps(), [secs(60), secs(120), secs(240)]);
    match err {
        GitHubError::RateLimited {
            kind, retry_after, ..
        } => {
            assert_eq!(kind, RateLimitKind::Secondary);
            assert_eq!(retry_after, secs(480));
        }
        other => panic!("expected RateLimited, got {other:?}"),
    }
}

#[tokio::test]
async fn a_secondary_wait_beyond_the_max_wait_fails_at_once_and_holds_other_calls_back() {
    let api = Api::with(|c| c.rate_limits.max_wait = secs(60)).await;
    run_once_then_ok(
        &api,
        answer(403, secondary_limit(), 4000, T0 + 3600).insert_header("retry-after", "120"),
    )
    .await;
    let err = api.repo().workflow_run(1).await.unwrap_err();
    assert_eq!(err.retry_after(), Some(secs(120)));
    // GitHub asked for two minutes of quiet: other calls do not send either.
    let other = api.repo().workflow_run(1).await.unwrap_err();
    assert!(matches!(
        other,
        GitHubError::RateLimited {
            kind: RateLimitKind::Secondary,
            ..
        }
    ));
    assert_eq!(api.received().await, 1);
    api.clock.advance(secs(120));
    api.repo().workflow_run(1).await.unwrap();
    assert!(api.clock.sleeps().is_empty());
}

#[tokio::test]
async fn a_429_without_any_header_is_a_secondary_limit() {
    let api = Api::start().await;
    run_once_then_ok(&api, ResponseTemplate::new(429)).await;
    api.repo().workflow_run(1).await.unwrap();
    assert_eq!(api.clock.sleeps(), [secs(60)]);
}

#[tokio::test]
async fn a_403_without_rate_limit_signs_is_forbidden_and_not_retried() {
    let api = Api::start().await;
    Mock::given(method("GET"))
        .and(path(RUN))
        .respond_with(answer(
            403,
            json!({
                "message": "Resource not accessible by integration",
                "documentation_url": "https://docs.github.com/rest/actions/workflow-runs#get-a-workflow-run",
                "status": "403"
            }),
            4000,
            T0 + 3600,
        ))
        .expect(1)
        .mount(&api.server)
        .await;
    match api.repo().workflow_run(1).await.unwrap_err() {
        GitHubError::Forbidden {
            message,
            documentation_url,
        } => {
            assert_eq!(message, "Resource not accessible by integration");
            assert!(documentation_url.unwrap().contains("get-a-workflow-run"));
        }
        other => panic!("expected Forbidden, got {other:?}"),
    }
    assert!(api.clock.sleeps().is_empty());
    assert_eq!(api.gh.stats().rate_limited, 0);
}

#[tokio::test]
async fn a_create_refused_for_a_rate_limit_is_sent_again_after_the_wait() {
    let api = Api::start().await;
    Mock::given(method("POST"))
        .and(path("/repos/octocat/Hello-World/issues"))
        .respond_with(
            answer(403, secondary_limit(), 4000, T0 + 3600).insert_header("retry-after", "5"),
        )
        .up_to_n_times(1)
        .expect(1)
        .mount(&api.server)
        .await;
    Mock::given(method("POST"))
        .and(path("/repos/octocat/Hello-World/issues"))
        .respond_with(ok(201, api::issue(1, "t")))
        .expect(1)
        .mount(&api.server)
        .await;
    let issue = api.repo().create_issue(&NewIssue::new("t")).await.unwrap();
    assert_eq!(issue.number, 1);
    assert_eq!(api.clock.sleeps(), [secs(5)]);
}

#[tokio::test]
async fn content_creating_requests_are_spaced_one_a_second_by_default() {
    let api = Api::with(|c| c.throttle = Throttle::default()).await;
    Mock::given(method("POST"))
        .and(path("/repos/octocat/Hello-World/issues"))
        .respond_with(ok(201, api::issue(1, "t")))
        .expect(3)
        .mount(&api.server)
        .await;
    Mock::given(method("GET"))
        .and(path(RUN))
        .respond_with(ok(200, api::workflow_run(1)))
        .mount(&api.server)
        .await;
    let repo = api.repo();
    for _ in 0..3 {
        repo.create_issue(&NewIssue::new("t")).await.unwrap();
        // Reads are not paced.
        repo.workflow_run(1).await.unwrap();
    }
    assert_eq!(api.clock.sleeps(), [secs(1), secs(1)]);
}

#[tokio::test]
async fn the_hourly_content_budget_fails_a_create_it_cannot_wait_for() {
    let api = Api::with(|c| {
        c.throttle = Throttle {
            content_per_minute: 0,
            content_per_hour: 2,
            ..Throttle::off()
        };
        c.rate_limits.max_wait = secs(60);
    })
    .await;
    Mock::given(method("POST"))
        .and(path("/repos/octocat/Hello-World/issues"))
        .respond_with(ok(201, api::issue(1, "t")))
        .expect(2)
        .mount(&api.server)
        .await;
    let repo = api.repo();
    repo.create_issue(&NewIssue::new("a")).await.unwrap();
    repo.create_issue(&NewIssue::new("b")).await.unwrap();
    let err = repo.create_issue(&NewIssue::new("c")).await.unwrap_err();
    match err {
        GitHubError::RateLimited {
            kind, retry_after, ..
        } => {
            assert_eq!(kind, RateLimitKind::ContentBudget);
            assert_eq!(retry_after, secs(3600));
        }
        other => panic!("expected RateLimited, got {other:?}"),
    }
}

#[tokio::test]
async fn an_exhausted_resource_in_the_rate_limit_answer_holds_requests_on_it() {
    let api = Api::start().await;
    let mut overview = api::rate_limit_overview();
    overview["resources"]["core"] =
        json!({ "limit": 5000, "used": 5000, "remaining": 0, "reset": T0 + 20 });
    Mock::given(method("GET"))
        .and(path("/rate_limit"))
        .respond_with(ok(200, overview))
        .mount(&api.server)
        .await;
    Mock::given(method("GET"))
        .and(path(RUN))
        .respond_with(ok(200, api::workflow_run(1)))
        .mount(&api.server)
        .await;
    api.gh.rate_limit().await.unwrap();
    assert_eq!(api.gh.rate_limits()["core"].remaining, 0);
    api.repo().workflow_run(1).await.unwrap();
    assert_eq!(api.clock.sleeps(), [secs(21)]);
}
