//! Behaviour suite: bus.

#[path = "../support/mod.rs"]
mod support;

mod concurrency;
mod delivery;
mod groups;
mod isolation;
mod overflow;
mod request;
mod service;
mod subjects;
