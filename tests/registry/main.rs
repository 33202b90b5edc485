//! Behaviour suite: registry.

#[path = "../support/mod.rs"]
mod support;

mod entries;
mod status;
