//! Behaviour suite: the NATS bridge against a real NATS with JetStream —
//! runtimes as separate OS processes (the `fleet_events` example) sharing
//! topics with wildcards and queue groups, the fleet's health, outages on
//! servers of the tests' own.
//!
//! The shared server is `NATS_URL` or 127.0.0.1:4222; the outage tests
//! start their own `/usr/sbin/nats-server` on a spare port. Without them
//! each test says it is skipped and why; with `SERVITOR_REQUIRE_SERVERS=1`
//! (as `.ci/run` sets) it fails instead. Every test uses an app (and so a
//! subject prefix and JetStream stream) of its own, so they run in
//! parallel.

mod config;
mod echo;
mod fleet;
mod processes;
mod recovery;
mod support;
