//! Behaviour suite: registry.

#[path = "../support/mod.rs"]
mod support;

mod ended;
mod entries;
mod status;
