//! Behaviour suite: runtime.

#[path = "../support/mod.rs"]
mod support;

mod bad_input;
mod lifecycle;
mod test_kit;
mod tracing_spans;
