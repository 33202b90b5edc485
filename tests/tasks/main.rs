//! Behaviour suite: tasks.

#[path = "../support/mod.rs"]
mod support;

mod batches;
mod failures;
mod named;
mod queue;
mod service;
mod submit;
