//! Behaviour suite: hostile input. Every input a user controls — sizes,
//! durations, names, subjects, patterns, schedules — gets a typed error or
//! saturates; nothing panics inside the library, aborts the process or
//! quietly stops working.

#[path = "../support/mod.rs"]
mod support;

mod bus;
mod durations;
mod names;
mod properties;
mod scheduler;
mod tasks;
