//! What the behaviour suites share: test services, log capture, set-up of
//! the built-in services.
#![allow(dead_code, unused_imports)]

#[cfg(feature = "bus")]
pub mod bus;
pub mod log_capture;
pub mod probes;
#[cfg(feature = "tasks")]
pub mod tasks;
