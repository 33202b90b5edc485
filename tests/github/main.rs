//! Behaviour suite: the GitHub client, end to end against a local server
//! that answers as GitHub does. Nothing here reaches the real API.

// GitHub-sized JSON examples nest deeper than `json!` expands by default.
#![recursion_limit = "256"]

#[path = "../support/mod.rs"]
mod support;

mod api;
mod conditional;
mod config;
mod errors;
mod health;
mod operations;
mod pagination;
mod rate_limits;
mod retries;
mod secrets;
mod throttle;
