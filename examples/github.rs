//! The GitHub client as a supervised service: the rate limit, the latest
//! workflow runs of a repository (followed over pages by `Link`), one run
//! in full, a conditional read answered from memory — and, only if asked,
//! an issue opened.
//!
//! It talks to the real GitHub, so it needs a token and a repository:
//!
//! ```text
//! GITHUB_TOKEN=ghp_… GITHUB_REPOSITORY=owner/name cargo run --example github --features github
//! ```
//!
//! `GITHUB_API_URL` points it at GitHub Enterprise Server
//! (`https://HOST/api/v3`); `GITHUB_CREATE_ISSUE=1` also opens an issue in
//! the repository. Without a token or a repository it says what it needs
//! and exits.

use servitor::github::{GitHub, GitHubConfig, NewIssue, RunFilter};
use servitor::{Runtime, Supervisor};
use std::process::ExitCode;

fn usage(missing: &str) -> ExitCode {
    println!("This example calls the real GitHub API and needs {missing}.");
    println!();
    println!("  GITHUB_TOKEN        a token that can read the repository's Actions");
    println!("  GITHUB_REPOSITORY   the repository, as owner/name");
    println!("  GITHUB_API_URL      optional: GitHub Enterprise Server's API address");
    println!("  GITHUB_CREATE_ISSUE optional: set to 1 to also open an issue");
    println!();
    println!(
        "  GITHUB_TOKEN=ghp_… GITHUB_REPOSITORY=owner/name cargo run --example github --features github"
    );
    ExitCode::SUCCESS
}

fn env(name: &str) -> Option<String> {
    std::env::var(name).ok().filter(|v| !v.trim().is_empty())
}

#[actix_rt::main]
async fn main() -> Result<ExitCode, Box<dyn std::error::Error>> {
    let Some(token) = env("GITHUB_TOKEN") else {
        return Ok(usage("a token (GITHUB_TOKEN)"));
    };
    let Some((owner, name)) = env("GITHUB_REPOSITORY").and_then(|r| {
        r.split_once('/')
            .map(|(o, n)| (o.to_string(), n.to_string()))
    }) else {
        return Ok(usage("a repository (GITHUB_REPOSITORY=owner/name)"));
    };

    let mut config = GitHubConfig::with_token(token);
    if let Some(url) = env("GITHUB_API_URL") {
        config.base_url = url;
    }
    let (spec, gh) = GitHub::service("github", config)?;
    let app = Runtime::start(Supervisor::builder("app").child(spec).build()?).await?;
    let repo = gh.repo(&owner, &name)?;

    println!("== rate limit (costs no quota)");
    let limits = gh.rate_limit().await?;
    for (resource, rl) in &limits.resources {
        println!(
            "  {resource:<22} {:>6} of {:>6} left",
            rl.remaining, rl.limit
        );
    }

    println!("== the latest 5 workflow runs of {}", repo.full_name());
    let mut runs = repo.workflow_runs(RunFilter::new()).limit(5);
    let mut first = None;
    while let Some(run) = runs.next().await {
        let run = run?;
        println!(
            "  #{:<5} {:<28} {:<10} {:?}/{:?}",
            run.run_number,
            run.name.as_deref().unwrap_or("?"),
            run.head_branch.as_deref().unwrap_or("?"),
            run.status,
            run.conclusion,
        );
        first.get_or_insert(run.id);
    }
    println!("  ({} runs in all)", runs.total_count().unwrap_or(0));

    if let Some(id) = first {
        println!("== run {id}, twice: the second read is conditional");
        let run = repo.workflow_run(id).await?;
        println!(
            "  {} — {}",
            run.display_title.unwrap_or_default(),
            run.html_url
        );
        repo.workflow_run(id).await?;
        println!("  answered from memory (304): {}", gh.stats().not_modified);
    }

    if env("GITHUB_CREATE_ISSUE").as_deref() == Some("1") {
        println!("== opening an issue");
        let issue = repo
            .create_issue(
                &NewIssue::new("servitor example")
                    .body("Opened by servitor's `github` example; close it at will."),
            )
            .await?;
        println!("  #{} {}", issue.number, issue.html_url);
    }

    println!("== what the service reports");
    if let Some(report) = app.registry().get("github") {
        println!("  status: {}", report.status);
    }
    println!("  {:?}", gh.stats());
    app.shutdown().await?;
    Ok(ExitCode::SUCCESS)
}
