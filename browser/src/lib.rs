//! logsim in the browser: the IndexedDB storage backend and the app's saved session and, with the `js-api`
//! feature, the edge buffer's `LogBuffer` JS API. Only this crate touches IndexedDB. Natively it compiles to an empty library, so
//! `cargo test --workspace` stays fast; everything lives behind `wasm32`.

#[cfg(target_arch = "wasm32")]
mod idb_storage;
#[cfg(all(target_arch = "wasm32", feature = "js-api"))]
pub mod js_api;
#[cfg(target_arch = "wasm32")]
mod session_store;

#[cfg(target_arch = "wasm32")]
pub use idb_storage::{
    delete_database, Durability, IdbStorage, CHUNK_BYTES_MAX, MERGE_BELOW_BYTES,
};
#[cfg(target_arch = "wasm32")]
pub use session_store::SessionStore;
