//! logsim in the browser: the IndexedDB storage backend (later also the Web Worker glue and the
//! JS API). Only this crate touches IndexedDB and web APIs. Natively it compiles to an empty
//! library, so `cargo test --workspace` stays fast; everything lives behind `wasm32`.

#[cfg(target_arch = "wasm32")]
mod idb_storage;

#[cfg(target_arch = "wasm32")]
pub use idb_storage::{
    delete_database, Durability, IdbStorage, CHUNK_BYTES_MAX, MERGE_BELOW_BYTES,
};
