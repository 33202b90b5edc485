//! What servitor's benchmark binaries share: the actors every contender
//! runs, the counting allocator, the paired-round harness, the result table
//! and the runtimes contenders run on.

pub mod actors;
pub mod alloc;
pub mod paired;
pub mod report;
pub mod rt;
pub mod targets;
