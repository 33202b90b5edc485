//! Behaviour suite: durable tasks on PostgreSQL (feature `durable`).
//!
//! Needs the server named by `DATABASE_URL` (e.g.
//! `postgres://postgres@127.0.0.1:5432/test`); without it every test says it
//! was skipped and why, and with `SERVITOR_REQUIRE_SERVERS=1` (as `.ci/run`
//! sets) it fails instead. Each test works on tables of its own prefix, so
//! the tests run in parallel.

mod common;
mod fleet;
mod queue;
