//! Behaviour suite: scheduler.

#[path = "../support/mod.rs"]
mod support;

mod backoff;
mod config;
#[cfg(feature = "cron")]
mod cron;
mod interval;
mod missed;
mod restart;
