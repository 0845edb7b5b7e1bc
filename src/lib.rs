//! logsim: the deterministic, sans-IO core of a Kafka-like distributed log.
//!
//! This crate owns every piece of behaviour that must be identical natively and in WebAssembly:
//! the record-batch codec, partition logs, the storage contract, and the simulation kernel. It
//! never asks the world for anything: no clock, no entropy, no IO, no threads, no async. Drivers
//! (the CLI, the browser crate) pass time and completions in and carry requests out.

#![forbid(unsafe_code)]

pub mod broker;
pub mod buffer;
pub mod check;
pub mod client;
pub mod controller;
pub mod ids;
pub mod limits;
pub mod log;
pub mod prng;
pub mod protocol;
pub mod session;
pub mod sim;
pub mod storage;
pub mod time;
