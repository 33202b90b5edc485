//! Listings follow GitHub's `Link` header page after page — never page
//! arithmetic — stop at the caller's limit without asking for more, and
//! follow links only under the configured base address.

use crate::api::{ok, runs_page, Api};
use servitor::github::{GitHubError, RunFilter};
use wiremock::matchers::{method, path, query_param, query_param_is_missing};
use wiremock::{Mock, MockServer};

/// Mounts 250 runs over three pages of 100, 100 and 50, linked the way
/// GitHub links them: the first page at the repository's address, the
/// next ones at `/repositories/{id}/…` with a `page` parameter.
async fn three_pages(api: &Api, expect: [u64; 3]) {
    let uri = api.uri();
    let next =
        |page: u32| format!("{uri}/repositories/1296269/actions/runs?per_page=100&page={page}");
    let link = |next_page: Option<u32>, prev: u32| {
        let mut parts = Vec::new();
        if let Some(n) = next_page {
            parts.push(format!("<{}>; rel=\"next\"", next(n)));
        }
        parts.push(format!("<{}>; rel=\"last\"", next(3)));
        if prev > 0 {
            parts.insert(0, format!("<{}>; rel=\"prev\"", next(prev)));
            parts.push(format!("<{}>; rel=\"first\"", next(1)));
        }
        parts.join(", ")
    };
    Mock::given(method("GET"))
        .and(path("/repos/octocat/Hello-World/actions/runs"))
        .and(query_param("per_page", "100"))
        .and(query_param_is_missing("page"))
        .respond_with(ok(200, runs_page(250, 1..=100)).insert_header("link", link(Some(2), 0)))
        .expect(expect[0])
        .mount(&api.server)
        .await;
    Mock::given(method("GET"))
        .and(path("/repositories/1296269/actions/runs"))
        .and(query_param("page", "2"))
        .respond_with(ok(200, runs_page(250, 101..=200)).insert_header("link", link(Some(3), 1)))
        .expect(expect[1])
        .mount(&api.server)
        .await;
    Mock::given(method("GET"))
        .and(path("/repositories/1296269/actions/runs"))
        .and(query_param("page", "3"))
        .respond_with(ok(200, runs_page(250, 201..=250)).insert_header("link", link(None, 2)))
        .expect(expect[2])
        .mount(&api.server)
        .await;
}

#[tokio::test]
async fn two_hundred_fifty_runs_come_over_three_pages_by_following_the_link_header() {
    let api = Api::start().await;
    three_pages(&api, [1, 1, 1]).await;
    let mut runs = api.repo().workflow_runs(RunFilter::new().per_page(100));
    let mut ids = Vec::new();
    while let Some(run) = runs.next().await {
        ids.push(run.unwrap().id);
    }
    assert_eq!(ids, (1..=250).collect::<Vec<u64>>());
    assert_eq!(runs.pages(), 3);
    assert_eq!(runs.total_count(), Some(250));
    assert_eq!(api.received().await, 3);
}

#[tokio::test]
async fn a_limit_stops_the_listing_without_asking_for_the_next_page() {
    let api = Api::start().await;
    three_pages(&api, [1, 1, 0]).await;
    let runs = api
        .repo()
        .workflow_runs(RunFilter::new().per_page(100))
        .limit(150)
        .try_collect()
        .await
        .unwrap();
    assert_eq!(runs.len(), 150);
    assert_eq!(runs.last().unwrap().id, 150);
    assert_eq!(api.received().await, 2);
}

#[tokio::test]
async fn a_limit_on_the_first_page_fetches_only_that_page() {
    let api = Api::start().await;
    three_pages(&api, [1, 0, 0]).await;
    let runs = api
        .repo()
        .workflow_runs(RunFilter::new().per_page(100))
        .limit(100)
        .try_collect()
        .await
        .unwrap();
    assert_eq!(runs.len(), 100);
    let none = api
        .repo()
        .workflow_runs(RunFilter::new().per_page(100))
        .limit(0)
        .try_collect()
        .await
        .unwrap();
    assert!(none.is_empty());
    assert_eq!(api.received().await, 1);
}

#[tokio::test]
async fn a_limit_without_a_page_size_asks_for_pages_of_that_size() {
    let api = Api::start().await;
    Mock::given(method("GET"))
        .and(path("/repos/octocat/Hello-World/actions/runs"))
        .and(query_param("per_page", "5"))
        .respond_with(ok(200, runs_page(99, 1..=5)).insert_header(
            "link",
            format!(
                "<{}/repositories/1/actions/runs?per_page=5&page=2>; rel=\"next\"",
                api.uri()
            ),
        ))
        .expect(1)
        .mount(&api.server)
        .await;
    let runs = api.repo().workflow_runs(RunFilter::new()).limit(5);
    assert_eq!(runs.try_collect().await.unwrap().len(), 5);
}

#[tokio::test]
async fn a_next_link_outside_the_base_address_is_not_followed() {
    let api = Api::start().await;
    let elsewhere = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path("/repos/octocat/Hello-World/actions/runs"))
        .respond_with(ok(200, runs_page(4, [1, 2])).insert_header(
            "link",
            format!(
                "<{}/repositories/1/actions/runs?page=2>; rel=\"next\"",
                elsewhere.uri()
            ),
        ))
        .mount(&api.server)
        .await;
    let mut runs = api.repo().workflow_runs(RunFilter::new());
    // The error is about the page that carried the link: its runs are not
    // handed out from a listing that cannot go on.
    match runs.next().await.unwrap() {
        Err(GitHubError::Malformed { problem, .. }) => {
            assert!(problem.contains("not under the API base URL"), "{problem}")
        }
        other => panic!("expected Malformed, got {other:?}"),
    }
    assert!(runs.next().await.is_none());
    assert!(elsewhere.received_requests().await.unwrap().is_empty());
}

#[tokio::test]
async fn an_error_on_a_later_page_comes_after_the_runs_before_it() {
    let api = Api::start().await;
    Mock::given(method("GET"))
        .and(path("/repos/octocat/Hello-World/actions/runs"))
        .respond_with(ok(200, runs_page(4, [1, 2])).insert_header(
            "link",
            format!(
                "<{}/repositories/1/actions/runs?page=2>; rel=\"next\"",
                api.uri()
            ),
        ))
        .mount(&api.server)
        .await;
    Mock::given(method("GET"))
        .and(path("/repositories/1/actions/runs"))
        .respond_with(ok(404, serde_json::json!({ "message": "Not Found" })))
        .expect(1)
        .mount(&api.server)
        .await;
    let mut runs = api.repo().workflow_runs(RunFilter::new());
    assert_eq!(runs.next().await.unwrap().unwrap().id, 1);
    assert_eq!(runs.next().await.unwrap().unwrap().id, 2);
    assert!(matches!(
        runs.next().await.unwrap(),
        Err(GitHubError::NotFound { .. })
    ));
    assert!(runs.next().await.is_none());
}

#[tokio::test]
async fn an_empty_page_ends_the_listing_whatever_its_links_say() {
    let api = Api::start().await;
    Mock::given(method("GET"))
        .and(path("/repos/octocat/Hello-World/actions/runs"))
        .respond_with(ok(200, runs_page(0, [])).insert_header(
            "link",
            format!(
                "<{}/repositories/1/actions/runs?page=2>; rel=\"next\"",
                api.uri()
            ),
        ))
        .expect(1)
        .mount(&api.server)
        .await;
    let runs = api
        .repo()
        .workflow_runs(RunFilter::new())
        .try_collect()
        .await;
    assert!(runs.unwrap().is_empty());
}
