//! Behaviour suite: supervisor.

#[path = "../support/mod.rs"]
mod support;

mod auto_shutdown;
mod backoff;
mod dynamic_children;
mod health_truth;
mod incarnations;
mod intensity;
mod otp_parity;
mod restart_types;
mod shutdown_order;
mod start_failure;
mod strategies;
