//! Behaviour suite: tasks.

#[path = "../support/mod.rs"]
mod support;

mod failures;
mod queue;
mod service;
mod submit;
