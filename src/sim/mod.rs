//! The deterministic simulation kernel: the scheduler, the trace and its hash, and scenarios.
//! Everything here is driven by one seed and by time passed in; drivers (CLI, browser) carry
//! storage requests out and completions back in.

pub mod cluster;
pub mod disk;
pub mod error;
pub mod hello;
pub mod history;
pub mod network;
pub mod scheduler;
pub mod trace;
