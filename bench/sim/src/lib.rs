//! B4 of shared/spec/benchmarks.md, "simulation speed": the one definition of what is run and
//! measured, compiled natively (for `logsim bench sim`) and to wasm32 (for Node and headless
//! Chromium, through `wasm-bindgen`), so every target runs the very same cases and seeds.
//!
//! - `cases`: the workloads: swarm seeds, sized drills over 3/5/9 brokers and 10/100/1000
//!   partitions, and the LinkedIn 2014 producer workload.
//! - `measure`: one case run to its end under a caller's clock, then the bare event-loop kernel
//!   over the same event times; the result is one JSON line.
//! - `kernel`: the bare kernel, a `(time, sequence)` binary heap with a trivial handler.
//! - `report`: reads the JSON lines of every target, refuses to print a figure unless every
//!   seed's trace hash agrees across targets, and prints the table and the result lines.
//!
//! The simulator itself never reads a clock: the driver passes one in (`std::time::Instant`
//! natively, `performance.now()` in JS).

pub mod cases;
pub mod kernel;
pub mod measure;
pub mod report;

#[cfg(target_arch = "wasm32")]
mod wasm;

#[cfg(test)]
mod tests;
