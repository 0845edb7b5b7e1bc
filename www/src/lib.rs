//! The logsim web app. The page (`main.rs`, the Yew components under `ui/`) draws snapshots and
//! sends commands; the simulation runs in a dedicated Web Worker (`worker_main.rs`,
//! [`worker`]) that owns the one `Session`. [`protocol`] is what crosses between them,
//! [`share`] the links and exported files, [`teach`] the lessons and drill mode.
//!
//! `protocol`, `share` and `teach` are plain Rust and are tested natively; the rest exists only
//! on wasm32, so `cargo test --workspace` does not build yew or web-sys.

pub mod protocol;
pub mod share;
pub mod teach;

#[cfg(target_arch = "wasm32")]
pub mod ui;
#[cfg(target_arch = "wasm32")]
pub mod worker;
