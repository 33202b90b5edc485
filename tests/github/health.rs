//! The service's health: ok with the rate-limit figures of every resource
//! in its details, degraded below 10 % of a limit, failed on bad
//! credentials, idle and saying why when no token is configured.

use crate::api::{self, answer, ok, Api, T0, TOKEN};
use serde_json::json;
use servitor::github::GitHubService;
use servitor::testing::TestTree;
use servitor::Status;
use std::time::Duration;
use wiremock::matchers::{method, path};
use wiremock::Mock;

const BOUND: Duration = Duration::from_secs(5);
const INTERVAL: Duration = Duration::from_millis(50);
const RUN: &str = "/repos/octocat/Hello-World/actions/runs/1";

async fn tree(api: &mut Api) -> TestTree {
    TestTree::start(api.spec.take().unwrap()).await.unwrap()
}

async fn quick_health() -> Api {
    Api::with(|c| c.health_interval = INTERVAL).await
}

#[actix_rt::test]
async fn health_is_ok_with_the_rate_limit_figures_of_every_resource_in_its_details() {
    let mut api = quick_health().await;
    Mock::given(method("GET"))
        .and(path("/rate_limit"))
        .respond_with(ok(200, api::rate_limit_overview()))
        .mount(&api.server)
        .await;
    Mock::given(method("GET"))
        .and(path(RUN))
        .respond_with(answer(200, api::workflow_run(1), 4321, T0 + 3000))
        .mount(&api.server)
        .await;
    let tree = tree(&mut api).await;
    assert_eq!(tree.status("github"), Some(Status::Ok));
    api.gh.rate_limit().await.unwrap();
    api.repo().workflow_run(1).await.unwrap();

    // No more requests from here: let a health interval pass on tokio's
    // paused clock.
    tokio::time::pause();
    tokio::time::sleep(INTERVAL * 2).await;
    let report = tree.runtime().registry().get("github").unwrap();
    assert_eq!(report.status, Status::Ok);
    let limits = &report.details["rate_limits"];
    assert_eq!(
        limits["core"],
        json!({ "limit": 5000, "remaining": 4321, "used": 679, "reset": T0 + 3000 })
    );
    assert_eq!(limits["search"]["remaining"], 18);
    assert_eq!(limits["graphql"]["limit"], 5000);
    assert_eq!(report.details["requests"], 2);
    assert_eq!(report.details["enabled"], true);
    assert_eq!(report.details["base_url"], api.uri());
    tree.shutdown().await;
}

#[actix_rt::test]
async fn health_is_degraded_below_ten_percent_of_a_limit() {
    let mut api = Api::start().await;
    Mock::given(method("GET"))
        .and(path(RUN))
        .respond_with(answer(200, api::workflow_run(1), 499, T0 + 600))
        .up_to_n_times(1)
        .mount(&api.server)
        .await;
    Mock::given(method("GET"))
        .and(path(RUN))
        .respond_with(answer(200, api::workflow_run(1), 4999, T0 + 3600))
        .mount(&api.server)
        .await;
    let tree = tree(&mut api).await;
    let mut watch = tree.watch("github");
    watch.wait_for(Status::Ok, BOUND).await.unwrap();
    api.repo().workflow_run(1).await.unwrap();
    let degraded = watch.wait_for(Status::Degraded, BOUND).await.unwrap();
    let message = degraded.message.unwrap();
    assert!(
        message.contains("rate limit `core` low: 499 of 5000 left"),
        "{message}"
    );
    // A new window's figures bring it back.
    api.repo().workflow_run(1).await.unwrap();
    watch.wait_for(Status::Ok, BOUND).await.unwrap();
    tree.shutdown().await;
}

#[actix_rt::test]
async fn health_fails_on_bad_credentials_and_recovers_with_a_new_token() {
    let mut api = Api::start().await;
    Mock::given(method("GET"))
        .and(path(RUN))
        .respond_with(ok(401, json!({ "message": "Bad credentials" })))
        .mount(&api.server)
        .await;
    let tree = tree(&mut api).await;
    let mut watch = tree.watch("github");
    assert!(api.repo().workflow_run(1).await.is_err());
    let failed = watch.wait_for(Status::Failed, BOUND).await.unwrap();
    let message = failed.message.unwrap();
    assert!(message.starts_with("bad credentials"), "{message}");
    assert!(message.contains("Bad credentials"), "{message}");
    assert!(!message.contains(TOKEN));
    api.gh.set_token("ghp_new").unwrap();
    watch.wait_for(Status::Ok, BOUND).await.unwrap();
    tree.shutdown().await;
}

#[actix_rt::test]
async fn a_service_without_a_token_is_idle_and_says_it_is_disabled() {
    let mut api = Api::with(|c| {
        c.token = None;
        c.health_interval = INTERVAL;
    })
    .await;
    let tree = tree(&mut api).await;
    tokio::time::pause();
    tokio::time::sleep(INTERVAL * 2).await;
    let report = tree.runtime().registry().get("github").unwrap();
    assert_eq!(report.status, Status::Idle);
    assert_eq!(
        report.message.as_deref(),
        Some("disabled: no token configured")
    );
    assert_eq!(report.details["enabled"], false);
    // Healthy: a disabled client does not fail its tree's health.
    assert!(Status::Idle.is_healthy());
    tree.shutdown().await;
}

#[actix_rt::test]
async fn the_actor_is_an_ordinary_service_and_calls_go_on_while_it_restarts() {
    let mut api = Api::start().await;
    Mock::given(method("GET"))
        .and(path(RUN))
        .respond_with(ok(200, api::workflow_run(1)))
        .mount(&api.server)
        .await;
    let repo = api.repo();
    let tree = tree(&mut api).await;
    let actor = tree.runtime().service::<GitHubService>("github").unwrap();
    assert!(actor.is_up());
    let mut watch = tree.watch("github");
    tree.crash("github", "injected").await.unwrap();
    assert_eq!(repo.workflow_run(1).await.unwrap().id, 1);
    watch.wait_for(Status::Error, BOUND).await.unwrap();
    watch.wait_for(Status::Ok, BOUND).await.unwrap();
    assert_eq!(tree.restarts("github"), 1);
    assert_eq!(repo.workflow_run(1).await.unwrap().id, 1);
    tree.shutdown().await;
    assert!(api.gh.is_stopped());
    assert!(matches!(
        repo.workflow_run(1).await,
        Err(servitor::github::GitHubError::Stopped { .. })
    ));
}
