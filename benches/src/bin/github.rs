//! The GitHub client against bare reqwest, in the same run, against the
//! same local server: requests per second and time per request.
//!
//! ```text
//! cargo run --release -p servitor-benches --bin github
//! ```
//!
//! A local server (wiremock, request recording off, on its own thread)
//! answers `GET /repos/octocat/Hello-World/actions/runs/1` with a workflow
//! run shaped like GitHub's example (about 3 KB of JSON) and GitHub's
//! rate-limit headers. Both contenders send the same headers (token,
//! `Accept`, API version, user agent) over one pooled reqwest client each
//! (rustls, HTTP/1.1) and decode the body into
//! `servitor::github::WorkflowRun`:
//!
//! * **servitor** — `Repo::workflow_run` through the handle of a started
//!   service, throttling off (`Throttle::off()`), everything else at its
//!   default: rate-limit headers read and recorded, holds checked, retry
//!   and conditional-request bookkeeping, counters;
//! * **reqwest** — `client.get(url).header(AUTHORIZATION, …).send()`, then
//!   `bytes()` and `serde_json::from_slice`.
//!
//! With 1 and 8 concurrent callers (tasks on the actix arbiter's
//! single-threaded runtime; the server has the other core), 10,000
//! requests per contender and round after 1,000 of warm-up, each round in
//! 20 turns of 500 alternating between the contenders (and who goes
//! first), so load from elsewhere weighs on both alike; a figure is the
//! median of 9 rounds, and the ratio the median of the rounds' own ratios.
//! Goal: servitor's time per request at most 1.10× reqwest's.

use reqwest::header::{HeaderMap, HeaderValue, ACCEPT, AUTHORIZATION};
use servitor::github::{GitHub, GitHubConfig, Repo, Throttle, WorkflowRun};
use servitor::{Runtime, Supervisor};
use std::sync::Arc;
use std::time::{Duration, Instant};
use wiremock::matchers::{method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

const REQUESTS: usize = 10_000;
const WARM_UP: usize = 1_000;
const ROUNDS: usize = 9;
/// Turns per round and contender.
const TURNS: usize = 20;
const TOKEN: &str = "ghp_16C7e42F292c6912E7710c838347Ae178B4a";
const PATH: &str = "/repos/octocat/Hello-World/actions/runs/1";

fn user() -> serde_json::Value {
    serde_json::json!({
        "login": "octocat", "id": 1, "node_id": "MDQ6VXNlcjE=",
        "avatar_url": "https://github.com/images/error/octocat_happy.gif",
        "url": "https://api.github.com/users/octocat", "html_url": "https://github.com/octocat",
        "type": "User", "site_admin": false
    })
}

fn run_body() -> Vec<u8> {
    let run = serde_json::json!({
        "id": 1, "name": "Build", "node_id": "MDEyOldvcmtmbG93IFJ1bjI2OTI4OQ==",
        "check_suite_id": 42, "check_suite_node_id": "MDEwOkNoZWNrU3VpdGU0Mg==",
        "head_branch": "master", "head_sha": "acb5820ced9479c074f688cc328bf03f341a511d",
        "path": ".github/workflows/build.yml@main", "run_number": 562, "event": "push",
        "display_title": "Update README.md", "status": "completed", "conclusion": "success",
        "workflow_id": 159038,
        "url": "https://api.github.com/repos/octo-org/octo-repo/actions/runs/30433642",
        "html_url": "https://github.com/octo-org/octo-repo/actions/runs/30433642",
        "pull_requests": [], "created_at": "2020-01-22T19:33:08Z", "updated_at": "2020-01-22T19:33:08Z",
        "actor": user(), "run_attempt": 1, "run_started_at": "2020-01-22T19:33:08Z",
        "triggering_actor": user(),
        "jobs_url": "https://api.github.com/repos/octo-org/octo-repo/actions/runs/30433642/jobs",
        "logs_url": "https://api.github.com/repos/octo-org/octo-repo/actions/runs/30433642/logs",
        "check_suite_url": "https://api.github.com/repos/octo-org/octo-repo/check-suites/414944374",
        "artifacts_url": "https://api.github.com/repos/octo-org/octo-repo/actions/runs/30433642/artifacts",
        "cancel_url": "https://api.github.com/repos/octo-org/octo-repo/actions/runs/30433642/cancel",
        "rerun_url": "https://api.github.com/repos/octo-org/octo-repo/actions/runs/30433642/rerun",
        "workflow_url": "https://api.github.com/repos/octo-org/octo-repo/actions/workflows/159038",
        "head_commit": {
            "id": "acb5820ced9479c074f688cc328bf03f341a511d",
            "tree_id": "d23f6eedb1e1b9610bbc754ddb5197bfe7271223",
            "message": "Create linter.yaml", "timestamp": "2020-01-22T19:33:05Z",
            "author": { "name": "Octo Cat", "email": "octocat@github.com" },
            "committer": { "name": "GitHub", "email": "noreply@github.com" }
        },
        "repository": {
            "id": 1296269, "node_id": "MDEwOlJlcG9zaXRvcnkxMjk2MjY5", "name": "Hello-World",
            "full_name": "octocat/Hello-World", "owner": user(), "private": false,
            "html_url": "https://github.com/octocat/Hello-World", "description": "This your first repo!",
            "fork": false
        },
        "head_repository": {
            "id": 217723378, "node_id": "MDEwOlJlcG9zaXRvcnkyMTc3MjMzNzg=", "name": "octo-repo",
            "full_name": "octo-org/octo-repo", "private": true, "owner": user(),
            "html_url": "https://github.com/octo-org/octo-repo"
        }
    });
    serde_json::to_vec(&run).unwrap()
}

async fn server() -> MockServer {
    let server = MockServer::builder()
        .disable_request_recording()
        .start()
        .await;
    let body = run_body();
    println!("answer body: {} bytes", body.len());
    Mock::given(method("GET"))
        .and(path(PATH))
        .respond_with(
            ResponseTemplate::new(200)
                .set_body_raw(body, "application/json; charset=utf-8")
                .insert_header("x-ratelimit-limit", "5000")
                .insert_header("x-ratelimit-remaining", "4999")
                .insert_header("x-ratelimit-used", "1")
                .insert_header("x-ratelimit-reset", "4102444800")
                .insert_header("x-ratelimit-resource", "core"),
        )
        .mount(&server)
        .await;
    server
}

/// What both contenders do: one `GET` of a run, decoded.
#[derive(Clone)]
enum Contender {
    Servitor(Repo),
    Reqwest(reqwest::Client, Arc<str>),
}

impl Contender {
    async fn get(&self) -> WorkflowRun {
        match self {
            Contender::Servitor(repo) => repo.workflow_run(1).await.expect("a run"),
            Contender::Reqwest(client, url) => {
                let mut auth = HeaderValue::from_str(&format!("Bearer {TOKEN}")).unwrap();
                auth.set_sensitive(true);
                let response = client
                    .get(&**url)
                    .header(AUTHORIZATION, auth)
                    .send()
                    .await
                    .expect("an answer");
                assert!(response.status().is_success());
                let body = response.bytes().await.expect("a body");
                serde_json::from_slice(&body).expect("a run")
            }
        }
    }
}

/// `total` requests by `callers` concurrent tasks; the time per request.
async fn round(contender: &Contender, callers: usize, total: usize) -> Duration {
    let per_caller = total / callers;
    let start = Instant::now();
    let tasks: Vec<_> = (0..callers)
        .map(|_| {
            let c = contender.clone();
            actix_rt::spawn(async move {
                for _ in 0..per_caller {
                    std::hint::black_box(c.get().await);
                }
            })
        })
        .collect();
    for t in tasks {
        t.await.unwrap();
    }
    start.elapsed() / (per_caller * callers) as u32
}

fn median(mut v: Vec<Duration>) -> Duration {
    v.sort();
    v[v.len() / 2]
}

#[actix_rt::main]
async fn main() {
    let server = server().await;
    let (spec, gh) = GitHub::service(
        "github",
        GitHubConfig {
            token: Some(TOKEN.into()),
            base_url: server.uri(),
            throttle: Throttle::off(),
            ..GitHubConfig::default()
        },
    )
    .unwrap();
    let app = Runtime::start(Supervisor::builder("app").child(spec).build().unwrap())
        .await
        .unwrap();
    let servitor = Contender::Servitor(gh.repo("octocat", "Hello-World").unwrap());

    let mut headers = HeaderMap::new();
    headers.insert(
        ACCEPT,
        HeaderValue::from_static("application/vnd.github+json"),
    );
    headers.insert(
        "x-github-api-version",
        HeaderValue::from_static("2022-11-28"),
    );
    let client = reqwest::Client::builder()
        .user_agent("servitor/0.1.0")
        .default_headers(headers)
        .connect_timeout(Duration::from_secs(10))
        .timeout(Duration::from_secs(30))
        .build()
        .unwrap();
    let bare = Contender::Reqwest(client, format!("{}{PATH}", server.uri()).into());

    println!(
        "GET one workflow run, {REQUESTS} requests per round, median of {ROUNDS} rounds, throttling off"
    );
    println!(
        "| callers | servitor | reqwest | servitor µs/req | reqwest µs/req | ratio (time) | goal ≤ 1.10× |"
    );
    println!("|---:|---:|---:|---:|---:|---:|---|");
    for callers in [1, 8] {
        round(&servitor, callers, WARM_UP).await;
        round(&bare, callers, WARM_UP).await;
        let (mut s, mut r, mut ratios) = (Vec::new(), Vec::new(), Vec::new());
        for _ in 0..ROUNDS {
            // Short turns, alternating who goes first, so whatever else
            // the machine does weighs on both alike.
            let (mut a, mut b) = (Duration::ZERO, Duration::ZERO);
            for turn in 0..TURNS {
                if turn % 2 == 0 {
                    a += round(&servitor, callers, REQUESTS / TURNS).await;
                    b += round(&bare, callers, REQUESTS / TURNS).await;
                } else {
                    b += round(&bare, callers, REQUESTS / TURNS).await;
                    a += round(&servitor, callers, REQUESTS / TURNS).await;
                }
            }
            s.push(a / TURNS as u32);
            r.push(b / TURNS as u32);
            ratios.push(a.as_secs_f64() / b.as_secs_f64());
        }
        let (s, r) = (median(s), median(r));
        let per_sec = |d: Duration| 1.0 / d.as_secs_f64();
        // The median of the rounds' own ratios.
        ratios.sort_by(|a, b| a.partial_cmp(b).unwrap());
        let ratio = ratios[ratios.len() / 2];
        println!(
            "| {callers} | {:.0}/s | {:.0}/s | {:.1} | {:.1} | {ratio:.3}× | {} |",
            per_sec(s),
            per_sec(r),
            s.as_secs_f64() * 1e6,
            r.as_secs_f64() * 1e6,
            if ratio <= 1.10 { "met" } else { "missed" }
        );
    }
    let stats = gh.stats();
    assert_eq!(stats.errors, 0);
    println!(
        "servitor sent {} requests, {} errors",
        stats.requests, stats.errors
    );
    app.shutdown().await.unwrap();
}
