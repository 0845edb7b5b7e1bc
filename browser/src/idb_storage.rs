//! The IndexedDB storage backend: the storage contract of `logsim::storage` over a browser's
//! IndexedDB, with exactly the durability model of the memory backend.
//!
//! Append, Replace, Truncate and Delete change a *live overlay* held in memory at once; Read and
//! List see live state (durable chunks plus the overlay). `Sync` writes every pending change in
//! ONE readwrite transaction and completes when that transaction commits, so a crash (dropping
//! the backend without `Sync`) leaves exactly what the last committed `Sync` wrote, and a
//! `Replace` is never seen half-done.
//!
//! Layout, database version 1:
//! - object store `chunks`, key `[file name, chunk index]`, value a `Uint8Array` of at most
//!   [`CHUNK_BYTES_MAX`] bytes. A file's content is its chunks in index order.
//! - object store `files`, key the file name, value the array of its chunk lengths. It is the
//!   durable directory: `open` reads it once, so List never touches IndexedDB.
//!
//! At `Sync` a file's pending tail is written as whole chunks (many appended records per put,
//! never one put per record). A small last chunk (under [`MERGE_BELOW_BYTES`]) is kept in memory
//! and rewritten together with the next tail, so frequent small syncs do not leave thousands of
//! tiny chunks, while the bytes rewritten per sync stay bounded.
//!
//! Only this crate touches IndexedDB; nothing here panics on a browser failure: every
//! `DOMException` becomes a `StorageError` (`QuotaExceededError` → `QuotaExceeded`, anything
//! else → `Io` with the exception's name and message).

use js_sys::{Array, Object, Reflect, Uint8Array};
use logsim::storage::{Answer, Completion, FileName, RequestId, StorageError, StorageRequest};
use std::collections::BTreeMap;
use wasm_bindgen::prelude::*;
use wasm_bindgen::JsCast;
use wasm_bindgen_futures::JsFuture;
use web_sys::{
    DomException, IdbDatabase, IdbFactory, IdbKeyRange, IdbObjectStore, IdbRequest, IdbTransaction,
    IdbTransactionMode,
};

/// Largest chunk written to the `chunks` store; larger tails are split.
pub const CHUNK_BYTES_MAX: u32 = 1024 * 1024;

/// A last chunk smaller than this is rewritten with the next synced tail instead of starting a
/// new chunk. Bounds both the number of chunks and the bytes rewritten per `Sync`.
pub const MERGE_BELOW_BYTES: u32 = 64 * 1024;

const _: () = assert!(MERGE_BELOW_BYTES <= CHUNK_BYTES_MAX);

const DB_VERSION: u32 = 1;
const CHUNKS: &str = "chunks";
const FILES: &str = "files";

/// How hard a `Sync` transaction asks the browser to flush before reporting completion.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Durability {
    /// `durability: "relaxed"`: complete once the write is in the OS; survives a tab crash, not
    /// necessarily a power loss. Much faster; the default for the simulator's session.
    #[default]
    Relaxed,
    /// `durability: "strict"`: complete only after the data is flushed to disk.
    Strict,
}

impl Durability {
    fn as_str(self) -> &'static str {
        match self {
            Durability::Relaxed => "relaxed",
            Durability::Strict => "strict",
        }
    }
}

#[wasm_bindgen]
extern "C" {
    // `IDBDatabase.transaction(stores, mode, { durability })`. web-sys has it only behind
    // `web_sys_unstable_apis`; binding it here keeps the build flags plain.
    #[wasm_bindgen(js_name = IDBDatabase)]
    type DatabaseWithOptions;

    #[wasm_bindgen(catch, method, js_name = transaction)]
    fn transaction_with_options(
        this: &DatabaseWithOptions,
        store_names: &JsValue,
        mode: IdbTransactionMode,
        options: &JsValue,
    ) -> Result<IdbTransaction, JsValue>;
}

/// What a `Sync` made durable for one file.
#[derive(Clone, Debug, Default)]
struct DurableFile {
    /// Length of each chunk, by index.
    chunks: Vec<u32>,
    /// The bytes of the last chunk, when it is small and known (written by this connection).
    last_chunk: Option<Vec<u8>>,
}

impl DurableFile {
    fn prefix_len(&self, count: usize) -> u64 {
        self.chunks[..count].iter().map(|&c| u64::from(c)).sum()
    }
}

/// A file in the live image: the first `kept` durable chunks, then pending bytes.
#[derive(Clone, Debug, Default)]
struct LiveFile {
    kept: usize,
    tail: Vec<u8>,
}

/// The IndexedDB backend. Dropping it without `Sync` is a crash: the connection closes and the
/// live overlay is lost.
pub struct IdbStorage {
    db: IdbDatabase,
    durability: Durability,
    durable: BTreeMap<FileName, DurableFile>,
    live: BTreeMap<FileName, LiveFile>,
    // Closes this connection when another one wants to delete or upgrade the database, so
    // `delete_database` (a "start over") is never blocked by us.
    _on_version_change: Closure<dyn FnMut(web_sys::Event)>,
}

impl Drop for IdbStorage {
    fn drop(&mut self) {
        self.db.set_onversionchange(None);
        self.db.close();
    }
}

impl std::fmt::Debug for IdbStorage {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("IdbStorage")
            .field("db", &self.db.name())
            .field("durability", &self.durability)
            .field("files", &self.live.len())
            .finish()
    }
}

impl IdbStorage {
    /// Opens (creating if needed) the database `db_name` with relaxed durability.
    pub async fn open(db_name: &str) -> Result<IdbStorage, StorageError> {
        IdbStorage::open_with(db_name, Durability::default()).await
    }

    /// Opens (creating if needed) the database `db_name`; `Sync` uses `durability`.
    pub async fn open_with(
        db_name: &str,
        durability: Durability,
    ) -> Result<IdbStorage, StorageError> {
        let db = open_database(db_name).await?;
        let durable = match load_directory(&db).await {
            Ok(durable) => durable,
            Err(e) => {
                db.close();
                return Err(e);
            }
        };
        let live = durable
            .iter()
            .map(|(name, file)| {
                let live = LiveFile {
                    kept: file.chunks.len(),
                    tail: Vec::new(),
                };
                (name.clone(), live)
            })
            .collect();
        let to_close = db.clone();
        let on_version_change =
            Closure::<dyn FnMut(web_sys::Event)>::new(move |_: web_sys::Event| to_close.close());
        db.set_onversionchange(Some(on_version_change.as_ref().unchecked_ref()));
        Ok(IdbStorage {
            db,
            durability,
            durable,
            live,
            _on_version_change: on_version_change,
        })
    }

    /// The database's name.
    pub fn name(&self) -> String {
        self.db.name()
    }

    /// Closes the connection; every later request that needs IndexedDB fails with `Io`.
    pub fn close(&self) {
        self.db.close();
    }

    /// Runs the requests in order and returns one completion per request, in the same order.
    pub async fn execute(&mut self, requests: Vec<(RequestId, StorageRequest)>) -> Vec<Completion> {
        let mut completions = Vec::with_capacity(requests.len());
        for (id, request) in requests {
            let completion = Completion::new(id, self.apply(request).await);
            completions.push(completion);
        }
        completions
    }

    async fn apply(&mut self, request: StorageRequest) -> Result<Answer, StorageError> {
        match request {
            StorageRequest::Append { file, bytes } => {
                self.live
                    .entry(file)
                    .or_default()
                    .tail
                    .extend_from_slice(&bytes);
                Ok(Answer::Done)
            }
            StorageRequest::Replace { file, bytes } => {
                self.live.insert(
                    file,
                    LiveFile {
                        kept: 0,
                        tail: bytes,
                    },
                );
                Ok(Answer::Done)
            }
            StorageRequest::Truncate { file, len } => {
                self.truncate(file, len).await?;
                Ok(Answer::Done)
            }
            StorageRequest::Delete { file } => {
                self.live.remove(&file);
                Ok(Answer::Done)
            }
            StorageRequest::Sync => {
                self.sync().await?;
                Ok(Answer::Done)
            }
            StorageRequest::List { prefix } => Ok(Answer::Listed(
                self.live
                    .keys()
                    .filter(|f| f.as_str().starts_with(&prefix))
                    .cloned()
                    .collect(),
            )),
            StorageRequest::Read { file } => self.read(file).await.map(Answer::Read),
        }
    }

    async fn truncate(&mut self, file: FileName, len: u64) -> Result<(), StorageError> {
        let Some(live) = self.live.get(&file) else {
            return Ok(());
        };
        let empty = DurableFile::default();
        let durable = self.durable.get(&file).unwrap_or(&empty);
        let prefix = durable.prefix_len(live.kept);
        let tail_len = live.tail.len() as u64;
        if len >= prefix + tail_len {
            return Ok(());
        }
        if len >= prefix {
            let keep = usize::try_from(len - prefix).unwrap_or(usize::MAX);
            if let Some(live) = self.live.get_mut(&file) {
                live.tail.truncate(keep);
            }
            return Ok(());
        }
        // The cut falls inside durable chunk `index`: keep the chunks before it and carry the
        // kept part of that chunk as pending bytes.
        let mut start = 0u64;
        let mut index = 0usize;
        while index < live.kept && start + u64::from(durable.chunks[index]) <= len {
            start += u64::from(durable.chunks[index]);
            index += 1;
        }
        let within = usize::try_from(len - start).unwrap_or(usize::MAX);
        let tail = if within == 0 {
            Vec::new()
        } else {
            let is_last = index + 1 == durable.chunks.len();
            let mut bytes = match (&durable.last_chunk, is_last) {
                (Some(cached), true) => cached.clone(),
                _ => self.read_chunks(&file, index, index + 1).await?,
            };
            bytes.truncate(within);
            bytes
        };
        self.live.insert(file, LiveFile { kept: index, tail });
        Ok(())
    }

    async fn read(&self, file: FileName) -> Result<Vec<u8>, StorageError> {
        let Some(live) = self.live.get(&file) else {
            return Err(StorageError::NotFound(file));
        };
        if live.kept == 0 {
            return Ok(live.tail.clone());
        }
        let mut bytes = self.read_chunks(&file, 0, live.kept).await?;
        bytes.extend_from_slice(&live.tail);
        Ok(bytes)
    }

    /// Reads durable chunks `[from, to)` of `file`, checking them against the directory.
    async fn read_chunks(
        &self,
        file: &FileName,
        from: usize,
        to: usize,
    ) -> Result<Vec<u8>, StorageError> {
        let expected = self
            .durable
            .get(file)
            .map(|d| &d.chunks[from.min(d.chunks.len())..to.min(d.chunks.len())])
            .unwrap_or(&[]);
        let tx = self
            .db
            .transaction_with_str(CHUNKS)
            .map_err(|e| js_error("cannot start a read", e))?;
        let store = tx
            .object_store(CHUNKS)
            .map_err(|e| js_error("cannot open the chunks store", e))?;
        let range = chunk_range(file, from, Some(to))?;
        let request = store
            .get_all_with_key(&range)
            .map_err(|e| js_error("cannot read chunks", e))?;
        let values: Array = request_result(&request, "reading chunks")
            .await?
            .dyn_into()
            .map_err(|_| {
                StorageError::Io("reading chunks: getAll did not return an array".into())
            })?;
        if values.length() as usize != expected.len() {
            return Err(corrupt(file, "chunk count differs from the directory"));
        }
        // The directory's lengths are checked against the chunks actually read before they
        // size anything, so a damaged directory cannot ask for a huge allocation.
        let mut bytes = Vec::new();
        for (value, &len) in values.iter().zip(expected) {
            let chunk: Uint8Array = value
                .dyn_into()
                .map_err(|_| corrupt(file, "a chunk is not a Uint8Array"))?;
            if chunk.length() != len {
                return Err(corrupt(file, "a chunk's length differs from the directory"));
            }
            bytes.extend_from_slice(&chunk.to_vec());
        }
        Ok(bytes)
    }

    /// Writes every pending change in one readwrite transaction; on success the written state
    /// becomes the durable image and the overlay is empty. On failure nothing changes: the
    /// pending changes stay pending.
    async fn sync(&mut self) -> Result<(), StorageError> {
        let plan = self.plan_sync();
        self.write_plan(plan).await
    }

    /// Makes only the pending deletions durable, in a transaction of their own; the rest
    /// stays pending. IndexedDB counts a transaction's new bytes against the quota before its
    /// deletions free any, so at a full quota a `Sync` that deletes old segments and writes new
    /// bytes fails while the two in turn succeed. Only for callers whose deleted files hold
    /// nothing the live image needs (the edge buffer: retention and recovery delete only
    /// segments already gone from its logs): a crash between the two leaves the old durable
    /// image without those files. Returns whether there was anything to delete.
    pub async fn sync_deletions(&mut self) -> Result<bool, StorageError> {
        let plan: Vec<Change> = self
            .plan_sync()
            .into_iter()
            .filter(|c| c.layout.is_none())
            .collect();
        if plan.is_empty() {
            return Ok(false);
        }
        self.write_plan(plan).await?;
        Ok(true)
    }

    async fn write_plan(&mut self, plan: Vec<Change>) -> Result<(), StorageError> {
        if plan.is_empty() {
            return Ok(());
        }
        let tx = self.sync_transaction()?;
        let write = (|| {
            let chunks = tx
                .object_store(CHUNKS)
                .map_err(|e| js_error("cannot open the chunks store", e))?;
            let files = tx
                .object_store(FILES)
                .map_err(|e| js_error("cannot open the files store", e))?;
            for change in &plan {
                write_change(&chunks, &files, change)?;
            }
            Ok::<(), StorageError>(())
        })();
        if let Err(e) = write {
            // Nothing of this transaction may be written; it may already be aborted.
            let _ = tx.abort();
            return Err(e);
        }
        transaction_done(&tx, "syncing").await?;
        for change in plan {
            match change.layout {
                None => {
                    self.durable.remove(&change.file);
                    self.live.remove(&change.file);
                }
                Some(layout) => {
                    let kept = layout.chunks.len();
                    self.durable.insert(change.file.clone(), layout);
                    self.live.insert(
                        change.file,
                        LiveFile {
                            kept,
                            tail: Vec::new(),
                        },
                    );
                }
            }
        }
        Ok(())
    }

    fn sync_transaction(&self) -> Result<IdbTransaction, StorageError> {
        let stores = Array::of2(&JsValue::from_str(CHUNKS), &JsValue::from_str(FILES));
        let options = Object::new();
        Reflect::set(
            &options,
            &JsValue::from_str("durability"),
            &JsValue::from_str(self.durability.as_str()),
        )
        .map_err(|e| js_error("cannot build transaction options", e))?;
        self.db
            .unchecked_ref::<DatabaseWithOptions>()
            .transaction_with_options(&stores, IdbTransactionMode::Readwrite, &options)
            .map_err(|e| js_error("cannot start a sync", e))
    }

    /// Compares the live overlay with the durable image, file by file.
    fn plan_sync(&self) -> Vec<Change> {
        let mut plan = Vec::new();
        for file in self.durable.keys() {
            if !self.live.contains_key(file) {
                plan.push(Change {
                    file: file.clone(),
                    delete_from: Some(0),
                    puts_from: 0,
                    bytes: Vec::new(),
                    layout: None,
                });
            }
        }
        let empty = DurableFile::default();
        for (file, live) in &self.live {
            let existing = self.durable.get(file);
            let durable = existing.unwrap_or(&empty);
            let unchanged =
                existing.is_some() && live.kept == durable.chunks.len() && live.tail.is_empty();
            if unchanged {
                continue;
            }
            // Rewrite a small last chunk together with the new tail rather than add a chunk.
            let merge = !live.tail.is_empty() && live.kept == durable.chunks.len();
            let (puts_from, bytes) = match (&durable.last_chunk, merge) {
                (Some(last), true) if live.kept > 0 => {
                    let mut bytes = Vec::with_capacity(last.len() + live.tail.len());
                    bytes.extend_from_slice(last);
                    bytes.extend_from_slice(&live.tail);
                    (live.kept - 1, bytes)
                }
                _ => (live.kept, live.tail.clone()),
            };
            let mut chunks = durable.chunks[..puts_from].to_vec();
            chunks.extend(
                bytes
                    .chunks(CHUNK_BYTES_MAX as usize)
                    .map(|c| c.len() as u32),
            );
            let last_chunk = match bytes.chunks(CHUNK_BYTES_MAX as usize).last() {
                Some(last) if (last.len() as u32) < MERGE_BELOW_BYTES => Some(last.to_vec()),
                _ => None,
            };
            plan.push(Change {
                file: file.clone(),
                delete_from: (durable.chunks.len() > live.kept).then_some(live.kept),
                puts_from,
                bytes,
                layout: Some(DurableFile { chunks, last_chunk }),
            });
        }
        plan
    }
}

/// One file's part of a `Sync`.
struct Change {
    file: FileName,
    /// Delete the durable chunks from this index on.
    delete_from: Option<usize>,
    /// Index of the first chunk `bytes` is written to.
    puts_from: usize,
    bytes: Vec<u8>,
    /// The file's durable layout after the sync; `None` when the file is deleted.
    layout: Option<DurableFile>,
}

fn write_change(
    chunks: &IdbObjectStore,
    files: &IdbObjectStore,
    change: &Change,
) -> Result<(), StorageError> {
    let name = JsValue::from_str(change.file.as_str());
    if let Some(from) = change.delete_from {
        chunks
            .delete(&chunk_range(&change.file, from, None)?.into())
            .map_err(|e| js_error("cannot delete chunks", e))?;
    }
    let Some(layout) = &change.layout else {
        files
            .delete(&name)
            .map_err(|e| js_error("cannot delete a file entry", e))?;
        return Ok(());
    };
    for (i, piece) in change.bytes.chunks(CHUNK_BYTES_MAX as usize).enumerate() {
        let key = chunk_key(&change.file, change.puts_from + i);
        chunks
            .put_with_key(&Uint8Array::from(piece), &key)
            .map_err(|e| js_error("cannot write a chunk", e))?;
    }
    let lengths: Array = layout.chunks.iter().map(|&c| JsValue::from(c)).collect();
    files
        .put_with_key(&lengths, &name)
        .map_err(|e| js_error("cannot write a file entry", e))?;
    Ok(())
}

fn chunk_key(file: &FileName, index: usize) -> JsValue {
    Array::of2(
        &JsValue::from_str(file.as_str()),
        &JsValue::from(index as u32),
    )
    .into()
}

/// The keys of `file`'s chunks `[from, to)`, or `[from, ∞)` without `to`.
fn chunk_range(
    file: &FileName,
    from: usize,
    to: Option<usize>,
) -> Result<IdbKeyRange, StorageError> {
    let lower = chunk_key(file, from);
    let upper: JsValue = match to {
        Some(to) => chunk_key(file, to),
        None => Array::of2(
            &JsValue::from_str(file.as_str()),
            &JsValue::from_f64(f64::INFINITY),
        )
        .into(),
    };
    IdbKeyRange::bound_with_lower_open_and_upper_open(&lower, &upper, false, to.is_some())
        .map_err(|e| js_error("cannot build a key range", e))
}

fn corrupt(file: &FileName, what: &str) -> StorageError {
    StorageError::Io(format!("IndexedDB content of {file} is corrupt: {what}"))
}

/// The `indexedDB` factory of the page or worker we run in.
fn factory() -> Result<IdbFactory, StorageError> {
    let value = Reflect::get(&js_sys::global(), &JsValue::from_str("indexedDB"))
        .map_err(|e| js_error("cannot reach indexedDB", e))?;
    if value.is_undefined() || value.is_null() {
        return Err(StorageError::Io(
            "IndexedDB is not available in this browser context (private mode or a sandboxed frame?)"
                .into(),
        ));
    }
    value
        .dyn_into()
        .map_err(|_| StorageError::Io("indexedDB is not an IDBFactory".into()))
}

async fn open_database(db_name: &str) -> Result<IdbDatabase, StorageError> {
    let request = factory()?
        .open_with_u32(db_name, DB_VERSION)
        .map_err(|e| js_error("cannot open the database", e))?;
    let creating = request.clone();
    let on_upgrade = Closure::<dyn FnMut(web_sys::Event)>::new(move |_: web_sys::Event| {
        // Version 1 is the only version: create both stores. Errors here abort the open, and
        // the open request reports them.
        if let Ok(result) = creating.result() {
            let db: IdbDatabase = result.unchecked_into();
            let names = db.object_store_names();
            for store in [CHUNKS, FILES] {
                if !names.contains(store) {
                    let _ = db.create_object_store(store);
                }
            }
        }
    });
    request.set_onupgradeneeded(Some(on_upgrade.as_ref().unchecked_ref()));
    let result = request_result(&request, "opening the database").await;
    request.set_onupgradeneeded(None);
    drop(on_upgrade);
    result?
        .dyn_into()
        .map_err(|_| StorageError::Io("opening the database did not give a database".into()))
}

/// Reads the `files` store: every durable file and its chunk lengths.
async fn load_directory(db: &IdbDatabase) -> Result<BTreeMap<FileName, DurableFile>, StorageError> {
    let tx = db
        .transaction_with_str(FILES)
        .map_err(|e| js_error("cannot start reading the directory", e))?;
    let store = tx
        .object_store(FILES)
        .map_err(|e| js_error("cannot open the files store", e))?;
    let keys_request = store
        .get_all_keys()
        .map_err(|e| js_error("cannot list files", e))?;
    let values_request = store
        .get_all()
        .map_err(|e| js_error("cannot list files", e))?;
    let keys: Array = request_result(&keys_request, "listing files")
        .await?
        .unchecked_into();
    let values: Array = request_result(&values_request, "listing files")
        .await?
        .unchecked_into();
    let mut directory = BTreeMap::new();
    for (key, value) in keys.iter().zip(values.iter()) {
        let name = key
            .as_string()
            .ok_or_else(|| StorageError::Io("the files store holds a non-string key".into()))?;
        let name = FileName::new(name)?;
        let lengths: Array = value
            .dyn_into()
            .map_err(|_| corrupt(&name, "its directory entry is not an array"))?;
        let mut chunks = Vec::with_capacity(lengths.length() as usize);
        for length in lengths.iter() {
            match length.as_f64() {
                Some(l) if (0.0..=f64::from(CHUNK_BYTES_MAX)).contains(&l) && l.fract() == 0.0 => {
                    chunks.push(l as u32)
                }
                _ => return Err(corrupt(&name, "a chunk length is not a valid size")),
            }
        }
        directory.insert(
            name,
            DurableFile {
                chunks,
                last_chunk: None,
            },
        );
    }
    Ok(directory)
}

/// Deletes the database `db_name` (a reset, or test cleanup). Open `IdbStorage` connections to
/// it close themselves first.
pub async fn delete_database(db_name: &str) -> Result<(), StorageError> {
    let request = factory()?
        .delete_database(db_name)
        .map_err(|e| js_error("cannot delete the database", e))?;
    request_result(&request, "deleting the database").await?;
    Ok(())
}

/// Waits for a request to succeed and returns its result, or its error as a `StorageError`.
async fn request_result(request: &IdbRequest, doing: &str) -> Result<JsValue, StorageError> {
    // The promise's own resolve/reject functions are the event handlers: no Rust closure has
    // to outlive this call.
    let promise = js_sys::Promise::new(&mut |resolve, reject| {
        request.set_onsuccess(Some(&resolve));
        request.set_onerror(Some(&reject));
    });
    let outcome = JsFuture::from(promise).await;
    request.set_onsuccess(None);
    request.set_onerror(None);
    match outcome {
        Ok(_) => request.result().map_err(|e| js_error(doing, e)),
        Err(_) => Err(match request.error() {
            Ok(Some(exception)) => dom_error(doing, &exception),
            _ => StorageError::Io(format!("{doing}: the request failed without an error")),
        }),
    }
}

/// Waits for a transaction to commit; an abort becomes its error.
async fn transaction_done(tx: &IdbTransaction, doing: &str) -> Result<(), StorageError> {
    let promise = js_sys::Promise::new(&mut |resolve, reject| {
        tx.set_oncomplete(Some(&resolve));
        tx.set_onabort(Some(&reject));
    });
    let outcome = JsFuture::from(promise).await;
    tx.set_oncomplete(None);
    tx.set_onabort(None);
    match outcome {
        Ok(_) => Ok(()),
        Err(_) => Err(match tx.error() {
            Some(exception) => dom_error(doing, &exception),
            None => StorageError::Io(format!("{doing}: the transaction was aborted")),
        }),
    }
}

fn dom_error(doing: &str, exception: &DomException) -> StorageError {
    let name = exception.name();
    let message = exception.message();
    if name == "QuotaExceededError" {
        StorageError::QuotaExceeded(message)
    } else {
        StorageError::Io(format!("{doing}: {name}: {message}"))
    }
}

/// Any thrown JavaScript value as a `StorageError`.
fn js_error(doing: &str, value: JsValue) -> StorageError {
    match value.dyn_into::<DomException>() {
        Ok(exception) => dom_error(doing, &exception),
        Err(value) => {
            let text = value
                .as_string()
                .or_else(|| {
                    value
                        .dyn_ref::<js_sys::Error>()
                        .map(|e| String::from(e.message()))
                })
                .unwrap_or_else(|| format!("{value:?}"));
            StorageError::Io(format!("{doing}: {text}"))
        }
    }
}
