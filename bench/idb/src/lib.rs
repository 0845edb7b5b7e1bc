//! B2, "browser log to IndexedDB": the Rust half of `tests/e2e/bench-idb.mjs`.
//!
//! In a dedicated Web Worker, `run_ours` appends the workload through our engine
//! (`PartitionLog` -> storage requests -> `IdbStorage`, one IndexedDB transaction per `Sync`),
//! and `prepare` hands the references in the same worker exactly the bytes and flush groups our
//! run writes: raw IndexedDB puts of the same chunks, and Dexie `bulkPut` of one object per
//! record with the same records per transaction. The worker (bench/idb/www/worker.js) times the
//! references, interleaves the three, and the Node script prints medians and ratios.
//!
//! Natively the crate is only the workload, so the workspace's native build stays free of
//! web-sys; its tests run there.

pub mod workload;

#[cfg(target_arch = "wasm32")]
mod browser;

#[cfg(target_arch = "wasm32")]
pub use browser::{prepare, run_ours};
