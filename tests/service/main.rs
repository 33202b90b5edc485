//! Behaviour suite: service.

#[path = "../support/mod.rs"]
mod support;

mod actors;
mod ergonomics;
mod handles;
mod loops;
mod panic_isolation;
mod single_shot;
mod ticker;
