//! The token never shows: not in logs (captured at trace level), errors,
//! health, panics or `Debug` output — even when GitHub or a proxy echoes
//! it back — while every request does carry it.

use crate::api::{self, answer, ok, secondary_limit, Api, T0, TOKEN};
use parking_lot::Mutex;
use serde_json::json;
use servitor::github::{GitHub, GitHubConfig, GitHubError, NewIssue, NewPullRequest, RunFilter};
use servitor::kit::catch_panic;
use servitor::testing::TestTree;
use std::io::Write;
use std::sync::Arc;
use wiremock::matchers::{method, path};
use wiremock::{Mock, ResponseTemplate};

/// Everything `tracing` writes on this thread, down to trace level.
#[derive(Clone, Default)]
struct Captured(Arc<Mutex<Vec<u8>>>);

impl Write for Captured {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl<'a> tracing_subscriber::fmt::MakeWriter<'a> for Captured {
    type Writer = Captured;
    fn make_writer(&'a self) -> Self::Writer {
        self.clone()
    }
}

/// `e` as the result of a call, for a caller that unwraps it.
fn returned(e: GitHubError) -> Result<(), GitHubError> {
    Err(e)
}

const RUNS: &str = "/repos/octocat/Hello-World/actions/runs";

#[actix_rt::test]
async fn the_token_never_appears_in_logs_errors_health_panics_or_debug_output() {
    let logs = Captured::default();
    let subscriber = tracing_subscriber::fmt()
        .with_max_level(tracing::Level::TRACE)
        .with_writer(logs.clone())
        .with_ansi(false)
        .finish();
    let _guard = tracing::subscriber::set_default(subscriber);

    let mut api = Api::start().await;
    let echo = format!("token {TOKEN} rejected");
    Mock::given(method("GET"))
        .and(path(format!("{RUNS}/2")))
        .respond_with(
            answer(403, secondary_limit(), 4000, T0 + 3600).insert_header("retry-after", "1"),
        )
        .up_to_n_times(1)
        .mount(&api.server)
        .await;
    Mock::given(method("GET"))
        .and(path(format!("{RUNS}/2")))
        .respond_with(ok(200, api::workflow_run(2)))
        .mount(&api.server)
        .await;
    Mock::given(method("GET"))
        .and(path(format!("{RUNS}/3")))
        .respond_with(ResponseTemplate::new(200).set_body_string(format!("oops {echo}")))
        .mount(&api.server)
        .await;
    Mock::given(method("GET"))
        .and(path(format!("{RUNS}/4")))
        .respond_with(ok(403, json!({ "message": echo })))
        .mount(&api.server)
        .await;
    Mock::given(method("POST"))
        .and(path("/repos/octocat/Hello-World/issues"))
        .respond_with(ok(500, json!({ "message": echo })))
        .mount(&api.server)
        .await;
    Mock::given(method("POST"))
        .and(path("/repos/octocat/Hello-World/pulls"))
        .respond_with(ok(
            422,
            json!({ "message": "Validation Failed", "errors": [{ "resource": "PullRequest", "field": "head", "code": "invalid", "message": echo }] }),
        ))
        .mount(&api.server)
        .await;
    Mock::given(method("GET"))
        .and(path(format!("{RUNS}/401")))
        .respond_with(ok(401, json!({ "message": echo })))
        .mount(&api.server)
        .await;
    Mock::given(method("GET"))
        .and(path(RUNS))
        .respond_with(ok(200, api::runs_page(1, [5])).insert_header(
            "link",
            format!("<http://elsewhere.invalid/x?access_token={TOKEN}>; rel=\"next\""),
        ))
        .mount(&api.server)
        .await;

    let tree = TestTree::start(api.spec.take().unwrap()).await.unwrap();
    let repo = api.repo();
    let mut texts = Vec::new();
    let mut record = |what: String| texts.push(what);

    repo.workflow_run(2).await.unwrap();
    let errors = vec![
        repo.workflow_run(3).await.unwrap_err(),
        repo.workflow_run(4).await.unwrap_err(),
        repo.create_issue(&NewIssue::new("t")).await.unwrap_err(),
        repo.create_pull_request(&NewPullRequest::new("t", "a", "b"))
            .await
            .unwrap_err(),
        repo.workflow_runs(RunFilter::new())
            .next()
            .await
            .unwrap()
            .unwrap_err(),
        repo.workflow_run(401).await.unwrap_err(),
        repo.workflow_run(401).await.unwrap_err(),
    ];
    for e in &errors {
        record(format!("{e} | {e:?}"));
        let failed = returned(e.clone());
        let panic = catch_panic(move || failed.unwrap()).unwrap_err();
        record(panic.message().to_string());
    }
    let mut watch = tree.watch("github");
    let failed = watch
        .wait_for(servitor::Status::Failed, std::time::Duration::from_secs(5))
        .await
        .unwrap();
    record(format!("{failed:?}"));
    let report = tree.runtime().registry().get("github").unwrap();
    record(format!("{report:?}"));
    record(serde_json::to_string(&report.details).unwrap());
    record(format!("{:?} {:?} {:?}", api.gh, repo, api.gh.stats()));
    let config = GitHubConfig::with_token(TOKEN);
    record(format!(
        "{config:?} {}",
        serde_json::to_string(&config).unwrap()
    ));
    record(format!("{:?}", GitHub::builder("x").config(config)));
    tree.shutdown().await;

    let logged = String::from_utf8_lossy(&logs.0.lock()).into_owned();
    assert!(
        logged.contains("GitHub refused the token"),
        "the capture works: {logged}"
    );
    assert!(logged.contains("secondary rate limit"), "{logged}");
    assert!(!logged.contains(TOKEN), "token in the logs:\n{logged}");
    for text in &texts {
        assert!(!text.contains(TOKEN), "token in: {text}");
    }
    assert!(texts.iter().any(|t| t.contains("[redacted]")));
    // …and yet every request carried it.
    let requests = api.server.received_requests().await.unwrap();
    assert!(requests.len() >= 7);
    for r in &requests {
        assert_eq!(
            r.headers.get("authorization").unwrap().to_str().unwrap(),
            format!("Bearer {TOKEN}")
        );
    }
}
