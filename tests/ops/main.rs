//! Behaviour suite: operating an application — the HTTP endpoint through a
//! real client, its metrics through Prometheus's own tools, the live page in
//! headless Chromium, the `servitorctl` CLI and the demo as processes.
//!
//! The tests that need Debian's `prometheus`, `chromium` or
//! `chromium-driver` say they are skipped when a tool is missing, and fail
//! instead with `SERVITOR_REQUIRE_SERVERS=1` (as `.ci/run` sets).

mod cli;
mod demo;
mod endpoint;
mod metrics;
mod page;
mod support;
