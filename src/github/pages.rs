//! Listing workflow runs: a stream over every page, following GitHub's
//! `Link: <…>; rel="next"` header — never computing page numbers — and
//! stopping at the caller's limit without asking for a page more.
//!
//! A next link is followed only to the configured API address (same
//! scheme, host, port and path prefix), so the token is never sent
//! anywhere else.

use super::error::GitHubError;
use super::handle::GitHub;
use super::models::{RunFilter, WorkflowRun, WorkflowRunsPage, MAX_PER_PAGE};
use super::transport::Call;
use futures_util::Stream;
use reqwest::Url;
use std::collections::VecDeque;
use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};

type PageFuture =
    Pin<Box<dyn Future<Output = Result<(WorkflowRunsPage, Option<String>), GitHubError>> + Send>>;

enum Next {
    /// Not started: the listing's address and filter.
    Start { url: String, filter: RunFilter },
    /// The next page's address.
    Page(String),
    /// Every page read, the limit reached, or an error returned.
    Done,
}

/// The workflow runs of a listing, page after page: a
/// [`Stream`](futures_util::Stream) of `Result<WorkflowRun, GitHubError>`,
/// with [`next`](Self::next) and [`try_collect`](Self::try_collect) for use
/// without stream combinators.
///
/// Pages are fetched one at a time, when the runs of the previous one have
/// been taken. An error ends the listing after it is returned.
///
/// ```no_run
/// use servitor::github::{GitHub, GitHubConfig, RunFilter};
///
/// # async fn demo(gh: GitHub) -> Result<(), servitor::github::GitHubError> {
/// let repo = gh.repo("octo-org", "hello-world")?;
/// let mut runs = repo.workflow_runs(RunFilter::new().branch("main").per_page(100)).limit(250);
/// while let Some(run) = runs.next().await {
///     let run = run?;
///     println!("#{} {:?} {:?}", run.run_number, run.status, run.conclusion);
/// }
/// println!("{} runs match in all", runs.total_count().unwrap_or(0));
/// # Ok(()) }
/// ```
pub struct WorkflowRuns {
    gh: GitHub,
    next: Next,
    buffer: VecDeque<WorkflowRun>,
    fetching: Option<PageFuture>,
    limit: Option<usize>,
    taken: usize,
    total_count: Option<u64>,
    pages: u32,
}

impl WorkflowRuns {
    pub(crate) fn new(gh: GitHub, url: String, filter: RunFilter) -> WorkflowRuns {
        WorkflowRuns {
            gh,
            next: Next::Start { url, filter },
            buffer: VecDeque::new(),
            fetching: None,
            limit: None,
            taken: 0,
            total_count: None,
            pages: 0,
        }
    }

    /// Yields at most `n` runs, and asks for no page past the one holding
    /// the `n`th. Without a page size in the filter, pages are then `n`
    /// runs (at most 100) rather than GitHub's 30.
    pub fn limit(mut self, n: usize) -> WorkflowRuns {
        self.limit = Some(n);
        self
    }

    /// How many runs match over all pages, as GitHub counted them on the
    /// last page read (`None` before the first).
    pub fn total_count(&self) -> Option<u64> {
        self.total_count
    }

    /// Pages read so far.
    pub fn pages(&self) -> u32 {
        self.pages
    }

    /// The next run, `None` once every page is read or the limit reached.
    pub async fn next(&mut self) -> Option<Result<WorkflowRun, GitHubError>> {
        std::future::poll_fn(|cx| Pin::new(&mut *self).poll_next(cx)).await
    }

    /// Every run (up to the limit), or the first error.
    pub async fn try_collect(mut self) -> Result<Vec<WorkflowRun>, GitHubError> {
        let mut runs = Vec::new();
        while let Some(run) = self.next().await {
            runs.push(run?);
        }
        Ok(runs)
    }

    fn limit_reached(&self) -> bool {
        self.limit.is_some_and(|l| self.taken >= l)
    }

    /// Starts fetching the next page, if there is one.
    fn start_fetch(&mut self) -> Option<Result<(), GitHubError>> {
        let url = match std::mem::replace(&mut self.next, Next::Done) {
            Next::Done => return None,
            Next::Page(url) => url,
            Next::Start { url, mut filter } => {
                if filter.per_page.is_none() {
                    if let Some(l) = self.limit {
                        filter.per_page = Some((l as u32).clamp(1, MAX_PER_PAGE));
                    }
                }
                match first_page(&url, &filter) {
                    Ok(url) => url,
                    Err(e) => return Some(Err(e)),
                }
            }
        };
        self.fetching = Some(Box::pin(fetch(self.gh.clone(), url)));
        Some(Ok(()))
    }
}

impl Stream for WorkflowRuns {
    type Item = Result<WorkflowRun, GitHubError>;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        let this = &mut *self;
        loop {
            if this.limit_reached() {
                this.next = Next::Done;
                this.fetching = None;
                return Poll::Ready(None);
            }
            if let Some(run) = this.buffer.pop_front() {
                this.taken += 1;
                return Poll::Ready(Some(Ok(run)));
            }
            if let Some(fetching) = this.fetching.as_mut() {
                let result = match fetching.as_mut().poll(cx) {
                    Poll::Pending => return Poll::Pending,
                    Poll::Ready(result) => result,
                };
                this.fetching = None;
                match result {
                    Ok((page, next)) => {
                        this.pages += 1;
                        this.total_count = Some(page.total_count);
                        // An empty page ends the listing whatever its links say.
                        if !page.workflow_runs.is_empty() {
                            if let Some(next) = next {
                                this.next = Next::Page(next);
                            }
                        }
                        this.buffer.extend(page.workflow_runs);
                        continue;
                    }
                    Err(e) => return Poll::Ready(Some(Err(e))),
                }
            }
            match this.start_fetch() {
                None => return Poll::Ready(None),
                Some(Err(e)) => return Poll::Ready(Some(Err(e))),
                Some(Ok(())) => continue,
            }
        }
    }
}

impl fmt::Debug for WorkflowRuns {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("WorkflowRuns")
            .field("pages", &self.pages)
            .field("taken", &self.taken)
            .field("limit", &self.limit)
            .field("total_count", &self.total_count)
            .finish_non_exhaustive()
    }
}

fn first_page(url: &str, filter: &RunFilter) -> Result<String, GitHubError> {
    let pairs = filter.query()?;
    let url = Url::parse_with_params(url, &pairs)
        .map_err(|e| GitHubError::invalid("filter", e.to_string()))?;
    Ok(url.into())
}

async fn fetch(gh: GitHub, url: String) -> Result<(WorkflowRunsPage, Option<String>), GitHubError> {
    let engine = gh.engine()?;
    let reply = engine.send(&Call::get(&url)).await?;
    let page: WorkflowRunsPage = engine.decode(&reply)?;
    let next = match reply.link.as_deref().and_then(next_link) {
        None => None,
        Some(link) => Some(engine.within_base(link).ok_or_else(|| {
            engine.malformed(
                reply.status,
                &format!("the `Link` header's next page `{link}` is not under the API base URL"),
                &[],
            )
        })?),
    };
    Ok((page, next))
}

/// The `rel="next"` address of a `Link` header.
///
/// ```text
/// <https://api.github.com/repositories/1300192/actions/runs?page=2>; rel="next",
/// <https://api.github.com/repositories/1300192/actions/runs?page=3>; rel="last"
/// ```
pub(crate) fn next_link(header: &str) -> Option<&str> {
    let mut rest = header;
    while let Some(open) = rest.find('<') {
        let after = &rest[open + 1..];
        let close = after.find('>')?;
        let url = &after[..close];
        let params_end = after[close..].find('<').map_or(after.len(), |i| close + i);
        let params = &after[close + 1..params_end];
        let is_next = params.split(';').any(|p| {
            let p = p.trim().trim_end_matches(',').trim();
            p.strip_prefix("rel=").is_some_and(|v| {
                v.trim_matches('"')
                    .split_ascii_whitespace()
                    .any(|r| r.eq_ignore_ascii_case("next"))
            })
        });
        if is_next {
            return Some(url);
        }
        rest = &after[params_end..];
    }
    None
}

#[cfg(test)]
mod tests {
    use super::next_link;

    #[test]
    fn the_next_link_is_found_among_others_in_any_order() {
        let h = r#"<https://api.github.com/repositories/1/actions/runs?per_page=100&page=2>; rel="next", <https://api.github.com/repositories/1/actions/runs?per_page=100&page=3>; rel="last""#;
        assert_eq!(
            next_link(h),
            Some("https://api.github.com/repositories/1/actions/runs?per_page=100&page=2")
        );
        let h = r#"<https://x/a?page=1>; rel="prev", <https://x/a?page=3>; rel="next""#;
        assert_eq!(next_link(h), Some("https://x/a?page=3"));
        let h = r#"<https://x/a?status=a,b&page=1>; rel="first", <https://x/a?status=a,b&page=2>; rel=next"#;
        assert_eq!(next_link(h), Some("https://x/a?status=a,b&page=2"));
        assert_eq!(next_link(r#"<https://x/a?page=1>; rel="prev""#), None);
        assert_eq!(next_link(""), None);
        assert_eq!(next_link("<broken"), None);
    }
}
