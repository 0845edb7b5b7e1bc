//! The one integration-test binary: every test that goes through the public API, natively.
//! (It leans on proptest and the kafka-protocol cross-check, which are native-only; the wasm32
//! runs cover the core through its unit tests.)
#![cfg(not(target_arch = "wasm32"))]
mod codec;
mod drills;
mod faults;
mod firehose;
mod groups;
mod partition_log;
mod tidy;
mod transactions;
