//! Behaviour suite: cache.

#[path = "../support/mod.rs"]
mod support;

mod config;
mod glob;
mod listener;
mod loader;
mod lru;
mod ops;
mod policy;
mod service;
mod stats;
mod ttl;
