//! Behaviour suite: runtime.

#[path = "../support/mod.rs"]
mod support;

mod bad_input;
#[cfg(feature = "cache")]
mod ending;
mod lifecycle;
mod test_kit;
mod tracing_spans;
