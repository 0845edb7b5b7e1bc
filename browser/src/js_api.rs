//! The edge buffer's JS API: `LogBuffer`, a typed, promise-based wrapper (wasm-bindgen) around
//! the core's `logsim::buffer::LogBuffer`, durable in IndexedDB through `IdbStorage` (or in
//! memory, for Node and tests).
//!
//! Everything the engine does is synchronous; this file adds what a platform needs: storage IO
//! (one `Sync` transaction per flush, flushes serialized by an async mutex), the flush policy
//! (per append, every N ms, every N bytes), the writer lock (Web Locks), conversions of JS
//! values with errors that name the offending field, and errors as `LogBufferError` objects
//! with Kafka's error names in `code`.

use crate::idb_storage::{delete_database, Durability, IdbStorage};
use futures::lock::Mutex as AsyncMutex;
use js_sys::{Array, ArrayBuffer, Date, Function, Object, Promise, Reflect, Uint8Array};
use logsim::buffer::{
    AppendRecord, BufferError, IdempotentProducer, LogBuffer as Engine, RecoveryNote, TopicSpec,
};
use logsim::log::batch::RecordHeader;
use logsim::storage::memory::MemoryStorage;
use logsim::storage::{
    list_everything, listed_names, read_contents, read_requests, Completion, FileName, RequestId,
    StorageError, StorageRequest, SyncStorage,
};
use std::cell::RefCell;
use std::collections::BTreeMap;
use std::rc::{Rc, Weak};
use wasm_bindgen::prelude::*;
use wasm_bindgen::JsCast;
use wasm_bindgen_futures::{spawn_local, JsFuture};

#[wasm_bindgen(module = "/src/buffer_glue.js")]
extern "C" {
    #[wasm_bindgen(js_name = acquireLock)]
    fn acquire_lock(name: &str, wait: bool) -> Promise;
    #[wasm_bindgen(js_name = storageEstimate)]
    fn storage_estimate() -> Promise;
    fn sleep(ms: f64) -> Promise;
    #[wasm_bindgen(js_name = follow)]
    fn follow_glue(
        buffer: LogBuffer,
        topic: &str,
        partition: u32,
        offset: f64,
        options: &JsValue,
    ) -> JsValue;
    #[wasm_bindgen(js_name = drain)]
    fn drain_glue(buffer: LogBuffer, options: &JsValue) -> Promise;
}

#[wasm_bindgen(typescript_custom_section)]
const TS_TYPES: &'static str = r#"
/** Bytes as the buffer takes them: text (stored as UTF-8) or binary. */
export type Bytes = string | Uint8Array | ArrayBuffer | ArrayBufferView;

/** A topic as declared in `open`: its partition count and Kafka topic configs. */
export interface TopicOptions {
  partitions?: number;
  "cleanup.policy"?: "delete" | "compact" | "compact,delete";
  "retention.ms"?: number;
  "retention.bytes"?: number;
  "segment.bytes"?: number;
  "segment.ms"?: number;
  "segment.index.bytes"?: number;
  "index.interval.bytes"?: number;
  "delete.retention.ms"?: number;
  "min.compaction.lag.ms"?: number;
  "message.timestamp.type"?: "CreateTime" | "LogAppendTime";
}

export interface LogBufferOptions {
  /** Topics to create or update (configs replaced; partitions may only grow). */
  topics?: Record<string, TopicOptions>;
  /** "indexeddb" (default) or "memory" (Node, tests: nothing survives the process). */
  storage?: "indexeddb" | "memory";
  /** IndexedDB transaction durability of each flush; default "relaxed". */
  durability?: "relaxed" | "strict";
  /** "append": every append resolves once durable; or flush every N ms and/or N bytes.
   * Default { intervalMs: 1000, bytes: 1048576 }. */
  flush?: "append" | { intervalMs?: number; bytes?: number };
  /** Another writer holds the buffer: "fail" (default) rejects with LOCK_HELD, "wait" waits. */
  lock?: "fail" | "wait";
  /** Open without the writer lock: reads only, `refresh()` sees the writer's flushed data. */
  readOnly?: boolean;
  /** How often flushes also run retention and compaction; default 300000 (Kafka's
   * log.retention.check.interval.ms). */
  retentionCheckIntervalMs?: number;
}

export interface AppendRecordInput {
  key?: Bytes | null;
  /** null is a tombstone (deletes the key on a compacted topic). */
  value?: Bytes | null;
  headers?: Record<string, Bytes | null> | Array<[string, Bytes | null]>;
  /** CreateTime in ms since the epoch (number or Date); default now. */
  timestamp?: number | Date;
  /** Explicit partition; otherwise murmur2 of the key, or one sticky partition per append. */
  partition?: number;
}

export interface AppendOptions {
  /** Idempotent append: a retry with the same producer id, epoch and sequence is not
   * written twice. All records must go to one partition. Without `sequence` the buffer takes
   * the next one, which is not retry-safe: a retry must pass its first attempt's sequence. */
  producer?: { producerId: number; producerEpoch?: number; sequence?: number };
}

export interface PartitionAppend {
  partition: number;
  baseOffset: number;
  lastOffset: number;
  recordCount: number;
  batches: number;
  /** A retry of batches already in the log: nothing written, the original offsets. */
  duplicate: boolean;
  baseSequence: number | null;
}

export interface AppendResult {
  partitions: PartitionAppend[];
  /** Each record's partition and offset, in the order given. */
  records: Array<{ partition: number; offset: number }>;
  /** Whether the records are already durable (flush policy "append"). */
  durable: boolean;
}

export interface ReadOptions {
  maxRecords?: number;
  maxBytes?: number;
  /** "text" decodes keys and values as UTF-8 strings; default bytes. */
  decode?: "bytes" | "text";
}

export interface BufferRecord {
  offset: number;
  timestamp: number;
  key: Uint8Array | string | null;
  value: Uint8Array | string | null;
  headers: Array<{ key: string; value: Uint8Array | string | null }>;
}

export interface ReadResult {
  records: BufferRecord[];
  nextOffset: number;
  logStartOffset: number;
  highWatermark: number;
}

export interface FollowOptions {
  maxRecords?: number;
  pollMs?: number;
  decode?: "bytes" | "text";
}

export interface CommittedOffset { offset: number; metadata: string; commitTimestamp: number }

export interface PartitionLag {
  topic: string;
  partition: number;
  currentOffset: number | null;
  logStartOffset: number;
  logEndOffset: number;
  lag: number;
}

export interface PartitionStats {
  topic: string;
  partition: number;
  logStartOffset: number;
  logEndOffset: number;
  sizeBytes: number;
  segments: number;
  producers: number;
  /** The log end offset as of the last flush that succeeded: offsets below it survive a crash. */
  durableEndOffset: number;
}

export interface BufferStats {
  partitions: PartitionStats[];
  consumerOffsetsBytes: number;
  consumerGroups: number;
  totalBytes: number;
  records: number;
  /** Bytes appended but not yet durable. */
  unflushedBytes: number;
  flushes: number;
  /** navigator.storage.estimate(), where the platform has it. */
  storageEstimate?: { usage: number; quota: number };
}

export interface RecoveryNote {
  topic: string;
  partition: number;
  tornTailBytes: number;
  discardedBytes: number;
  logEndOffset: number;
  notes: string[];
}

export interface RetentionReport { deletedSegments: number; deletedBytes: number; compactedPartitions: number }

export interface DrainTargetContext { topic: string; partition: number; idempotencyKeys: string[] }

export interface DrainOptions {
  consumer: string;
  topic: string;
  /** The REST proxy's base URL (Kafka REST Proxy v3). */
  url?: string;
  clusterId?: string;
  headers?: Record<string, string>;
  preservePartition?: boolean;
  /** Any other endpoint: resolve when the records are taken; throw an error with
   * `retriable: false` to stop, `written: n` if the first n were taken. */
  target?: (records: BufferRecord[], context: DrainTargetContext) => Promise<unknown>;
  maxRecords?: number;
  maxAttempts?: number;
  backoffMs?: number;
  maxBackoffMs?: number;
}

export interface DrainResult {
  shipped: number;
  batches: number;
  retries: number;
  partitions: Array<{ partition: number; from: number; to: number }>;
}
"#;

/// Where a buffer's files live.
enum Backend {
    Idb(IdbStorage),
    Memory(MemoryStorage),
}

impl Backend {
    async fn execute(&mut self, requests: Vec<(RequestId, StorageRequest)>) -> Vec<Completion> {
        match self {
            Backend::Idb(s) => s.execute(requests).await,
            Backend::Memory(s) => s.execute(requests),
        }
    }
}

#[derive(Clone, Copy)]
struct FlushPolicy {
    per_append: bool,
    interval_ms: Option<u32>,
    bytes: Option<u64>,
}

struct Inner {
    name: String,
    engine: Option<Engine>,
    read_only: bool,
    memory: bool,
    durability: Durability,
    policy: FlushPolicy,
    unflushed_bytes: u64,
    /// The last flush's failure while it stands (a full quota): appends are refused.
    blocked: Option<BufferError>,
    /// The promise every waiting `follow` shares, and its resolve function: settled at the
    /// next append or close, so idle followers never pile up.
    append_signal: Option<(Promise, Function)>,
    /// A change other than an append (an offset commit, a config, retention) waits for a flush.
    dirty: bool,
    release_lock: Option<Function>,
    recovery: Vec<RecoveryNote>,
    retention_check_interval_ms: f64,
    last_retention_ms: f64,
    flushes: u64,
    next_request: u64,
    /// Each partition's log end offset as of the last flush that succeeded: offsets below it
    /// survive a crash.
    durable_ends: BTreeMap<(String, u32), i64>,
}

struct Shared {
    inner: RefCell<Inner>,
    storage: AsyncMutex<Option<Backend>>,
}

/// A durable local log: topics of partitions with offsets, consumers and retention, Kafka's
/// semantics, in IndexedDB. See the README's "Edge buffer" section.
#[wasm_bindgen]
#[derive(Clone)]
pub struct LogBuffer {
    shared: Rc<Shared>,
}

fn now_ms() -> i64 {
    Date::now() as i64
}

/// A JS `Error` named `LogBufferError` with Kafka's error name in `code`.
fn js_error(e: &BufferError) -> JsValue {
    let error = js_sys::Error::new(&e.message);
    error.set_name("LogBufferError");
    let code = if e.quota_exceeded {
        "QUOTA_EXCEEDED"
    } else {
        e.code.name()
    };
    let _ = Reflect::set(&error, &"code".into(), &code.into());
    let _ = Reflect::set(&error, &"quotaExceeded".into(), &e.quota_exceeded.into());
    error.into()
}

fn custom_error(code: &str, message: String) -> JsValue {
    let error = js_sys::Error::new(&message);
    error.set_name("LogBufferError");
    let _ = Reflect::set(&error, &"code".into(), &code.into());
    error.into()
}

fn bad(message: impl Into<String>) -> JsValue {
    js_error(&BufferError::invalid_request(message))
}

fn describe(v: &JsValue) -> String {
    if v.is_null() {
        "null".into()
    } else if v.is_undefined() {
        "undefined".into()
    } else if Array::is_array(v) {
        "an array".into()
    } else if let Some(s) = v.as_string() {
        format!("the string {s:?}")
    } else if let Some(n) = v.as_f64() {
        format!("the number {n}")
    } else {
        v.js_typeof()
            .as_string()
            .unwrap_or_else(|| "a value".into())
    }
}

fn get(obj: &JsValue, key: &str) -> JsValue {
    Reflect::get(obj, &JsValue::from_str(key)).unwrap_or(JsValue::UNDEFINED)
}

fn set(obj: &Object, key: &str, value: impl Into<JsValue>) {
    let _ = Reflect::set(obj, &JsValue::from_str(key), &value.into());
}

/// Refuses keys an options object does not know, so a typo is an error, not a silent default.
fn check_keys(what: &str, obj: &JsValue, known: &[&str]) -> Result<(), JsValue> {
    if obj.is_undefined() || obj.is_null() {
        return Ok(());
    }
    if !obj.is_object() || Array::is_array(obj) {
        return Err(bad(format!(
            "{what} must be an object, got {}",
            describe(obj)
        )));
    }
    for key in Object::keys(obj.unchecked_ref::<Object>()).iter() {
        let key = key.as_string().unwrap_or_default();
        if !known.contains(&key.as_str()) {
            return Err(bad(format!(
                "{what}: unknown option {key:?}; valid: {}",
                known.join(", ")
            )));
        }
    }
    Ok(())
}

/// A whole number from `min` to `max`, or the default when absent.
fn whole(what: &str, v: &JsValue, min: f64, max: f64) -> Result<Option<f64>, JsValue> {
    if v.is_undefined() || v.is_null() {
        return Ok(None);
    }
    match v.as_f64() {
        Some(n) if n.fract() == 0.0 && n >= min && n <= max => Ok(Some(n)),
        _ => Err(bad(format!(
            "{what} must be a whole number from {min} to {max}, got {}",
            describe(v)
        ))),
    }
}

/// One of `choices` (the first is the default when absent), or an error listing them.
fn choice(what: &str, v: &JsValue, choices: &[&'static str]) -> Result<&'static str, JsValue> {
    if v.is_undefined() {
        return Ok(choices[0]);
    }
    let given = v.as_string();
    choices
        .iter()
        .find(|c| given.as_deref() == Some(**c))
        .copied()
        .ok_or_else(|| {
            let listed: Vec<String> = choices.iter().map(|c| format!("\"{c}\"")).collect();
            bad(format!(
                "{what} must be {}, got {}",
                listed.join(" or "),
                describe(v)
            ))
        })
}

fn offset_arg(what: &str, v: &JsValue) -> Result<i64, JsValue> {
    whole(what, v, 0.0, 9_007_199_254_740_991.0)?
        .map(|n| n as i64)
        .ok_or_else(|| bad(format!("{what} is required (a whole number from 0)")))
}

fn partition_arg(v: &JsValue) -> Result<u32, JsValue> {
    whole("partition", v, 0.0, f64::from(u32::MAX))?
        .map(|n| n as u32)
        .ok_or_else(|| bad("partition is required (a whole number from 0)"))
}

fn string_arg(what: &str, v: &JsValue) -> Result<String, JsValue> {
    v.as_string()
        .ok_or_else(|| bad(format!("{what} must be a string, got {}", describe(v))))
}

/// Bytes from a string (UTF-8), a Uint8Array, an ArrayBuffer or another view; `None` for
/// null or undefined; `Err(())` for anything else.
fn bytes_of(v: &JsValue) -> Result<Option<Vec<u8>>, ()> {
    if v.is_undefined() || v.is_null() {
        return Ok(None);
    }
    if let Some(s) = v.as_string() {
        return Ok(Some(s.into_bytes()));
    }
    if let Some(a) = v.dyn_ref::<Uint8Array>() {
        return Ok(Some(a.to_vec()));
    }
    if let Some(b) = v.dyn_ref::<ArrayBuffer>() {
        return Ok(Some(Uint8Array::new(b).to_vec()));
    }
    if ArrayBuffer::is_view(v) {
        let buffer = get(v, "buffer");
        let offset = get(v, "byteOffset").as_f64().unwrap_or(0.0) as u32;
        let length = get(v, "byteLength").as_f64().unwrap_or(0.0) as u32;
        return Ok(Some(
            Uint8Array::new_with_byte_offset_and_length(&buffer, offset, length).to_vec(),
        ));
    }
    Err(())
}

/// `bytes_of`, with an error naming `what` (formatted only on error: appends are hot).
fn bytes_arg(what: impl FnOnce() -> String, v: &JsValue) -> Result<Option<Vec<u8>>, JsValue> {
    bytes_of(v).map_err(|()| {
        bad(format!(
            "{} must be a string, Uint8Array, ArrayBuffer or null, got {}",
            what(),
            describe(v)
        ))
    })
}

fn headers_arg(what: &str, v: &JsValue) -> Result<Vec<RecordHeader>, JsValue> {
    if v.is_undefined() || v.is_null() {
        return Ok(Vec::new());
    }
    let pairs: Vec<(JsValue, JsValue)> = if Array::is_array(v) {
        Array::from(v)
            .iter()
            .enumerate()
            .map(|(i, pair)| {
                if !Array::is_array(&pair) || Array::from(&pair).length() != 2 {
                    return Err(bad(format!(
                        "{what}[{i}] must be a [name, value] pair, got {}",
                        describe(&pair)
                    )));
                }
                let pair = Array::from(&pair);
                Ok((pair.get(0), pair.get(1)))
            })
            .collect::<Result<_, _>>()?
    } else if v.is_object() {
        Object::entries(v.unchecked_ref::<Object>())
            .iter()
            .map(|e| {
                let e = Array::from(&e);
                (e.get(0), e.get(1))
            })
            .collect()
    } else {
        return Err(bad(format!(
            "{what} must be an object of name: value or an array of [name, value], got {}",
            describe(v)
        )));
    };
    pairs
        .into_iter()
        .map(|(k, value)| {
            let key = string_arg(&format!("{what}: a header name"), &k)?;
            let value = bytes_arg(|| format!("{what}.{key}"), &value)?;
            Ok(RecordHeader { key, value })
        })
        .collect()
}

/// The field names of a record, made into JS strings once per append, not once per record.
struct RecordFields {
    key: JsValue,
    value: JsValue,
    headers: JsValue,
    timestamp: JsValue,
    partition: JsValue,
}

fn records_arg(v: &JsValue) -> Result<Vec<AppendRecord>, JsValue> {
    const KNOWN: &[&str] = &["key", "value", "headers", "timestamp", "partition"];
    if !Array::is_array(v) {
        return Err(bad(format!(
            "records must be an array of {{ key?, value?, headers?, timestamp?, partition? }}, got {}",
            describe(v)
        )));
    }
    let f = RecordFields {
        key: JsValue::from_str("key"),
        value: JsValue::from_str("value"),
        headers: JsValue::from_str("headers"),
        timestamp: JsValue::from_str("timestamp"),
        partition: JsValue::from_str("partition"),
    };
    let field = |r: &JsValue, name: &JsValue| Reflect::get(r, name).unwrap_or(JsValue::UNDEFINED);
    let array = Array::from(v);
    let mut out = Vec::with_capacity(array.length() as usize);
    for (i, r) in array.iter().enumerate() {
        let what = || format!("records[{i}]");
        if !r.is_object() || Array::is_array(&r) {
            return Err(bad(format!(
                "{} must be an object like {{ key, value }}, got {}",
                what(),
                describe(&r)
            )));
        }
        let key = field(&r, &f.key);
        let value = field(&r, &f.value);
        let headers = field(&r, &f.headers);
        let ts = field(&r, &f.timestamp);
        let partition = field(&r, &f.partition);
        // An unknown field (a typo) is an error: when the object has more own keys than known
        // fields with a value, look for it.
        let present = [&key, &value, &headers, &ts, &partition]
            .iter()
            .filter(|v| !v.is_undefined())
            .count() as u32;
        if Object::keys(r.unchecked_ref::<Object>()).length() != present {
            check_keys(&what(), &r, KNOWN)?;
        }
        let timestamp_ms = if let Some(d) = ts.dyn_ref::<Date>() {
            let t = d.get_time();
            if t.is_nan() {
                return Err(bad(format!("{}.timestamp is an invalid Date", what())));
            }
            Some(t as i64)
        } else if ts.is_undefined() {
            None
        } else {
            whole(
                &format!("{}.timestamp", what()),
                &ts,
                0.0,
                9_007_199_254_740_991.0,
            )?
            .map(|n| n as i64)
        };
        out.push(AppendRecord {
            key: bytes_arg(|| format!("{}.key", what()), &key)?,
            value: bytes_arg(|| format!("{}.value", what()), &value)?,
            headers: if headers.is_undefined() {
                Vec::new()
            } else {
                headers_arg(&format!("{}.headers", what()), &headers)?
            },
            timestamp_ms,
            partition: if partition.is_undefined() {
                None
            } else {
                whole(
                    &format!("{}.partition", what()),
                    &partition,
                    0.0,
                    f64::from(u32::MAX),
                )?
                .map(|n| n as u32)
            },
        });
    }
    Ok(out)
}

fn topics_arg(v: &JsValue) -> Result<BTreeMap<String, TopicSpec>, JsValue> {
    if v.is_undefined() || v.is_null() {
        return Ok(BTreeMap::new());
    }
    if !v.is_object() || Array::is_array(v) {
        return Err(bad(format!(
            "options.topics must be an object of topic name: {{ partitions, ...configs }}, got {}",
            describe(v)
        )));
    }
    let json: serde_json::Value = serde_wasm_bindgen::from_value(v.clone())
        .map_err(|e| bad(format!("options.topics: {e}")))?;
    let serde_json::Value::Object(map) = json else {
        return Err(bad("options.topics must be an object"));
    };
    map.iter()
        .map(|(name, spec)| {
            let spec = if spec.is_null() {
                serde_json::json!({})
            } else {
                spec.clone()
            };
            Ok((
                name.clone(),
                TopicSpec::from_json(name, &spec).map_err(|e| js_error(&e))?,
            ))
        })
        .collect()
}

fn bytes_out(bytes: Option<&Vec<u8>>, text: bool) -> JsValue {
    match bytes {
        None => JsValue::NULL,
        Some(b) if text => JsValue::from_str(&String::from_utf8_lossy(b)),
        Some(b) => Uint8Array::from(b.as_slice()).into(),
    }
}

fn validate_name(name: &str) -> Result<(), JsValue> {
    let ok = !name.is_empty()
        && name.len() <= 100
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"._-".contains(&b));
    if ok {
        Ok(())
    } else {
        Err(bad(format!(
            "buffer name {name:?}: expected 1 to 100 ASCII letters, digits, '.', '_' or '-'"
        )))
    }
}

fn database_name(name: &str) -> String {
    format!("logsim-buffer-{name}")
}

/// Every file of a backend, read whole, for `Engine::open` (the core's two rounds).
async fn read_all(backend: &mut Backend) -> Result<Vec<(FileName, Vec<u8>)>, BufferError> {
    let storage = |e: StorageError| BufferError::storage(&e);
    let listed = backend
        .execute(vec![(RequestId(0), list_everything())])
        .await
        .pop();
    let names = listed_names(listed).map_err(storage)?;
    let reads = backend.execute(read_requests(&names, 1)).await;
    read_contents(names, reads).map_err(storage)
}

impl LogBuffer {
    fn closed_error(&self) -> JsValue {
        let name = self.shared.inner.borrow().name.clone();
        custom_error(
            "BUFFER_CLOSED",
            format!("buffer {name:?} is closed; open it again with LogBuffer.open"),
        )
    }

    /// Runs `f` on the engine (never across an await).
    fn with_engine<T>(
        &self,
        f: impl FnOnce(&mut Engine) -> Result<T, BufferError>,
    ) -> Result<T, JsValue> {
        let mut inner = self.shared.inner.borrow_mut();
        match inner.engine.as_mut() {
            Some(engine) => f(engine).map_err(|e| js_error(&e)),
            None => {
                drop(inner);
                Err(self.closed_error())
            }
        }
    }

    fn writable(&self) -> Result<(), JsValue> {
        let inner = self.shared.inner.borrow();
        if inner.engine.is_none() {
            drop(inner);
            return Err(self.closed_error());
        }
        if inner.read_only {
            return Err(custom_error(
                "READ_ONLY",
                format!(
                    "buffer {:?} was opened with readOnly: true; open it without readOnly (one \
                     writer at a time) to write",
                    inner.name
                ),
            ));
        }
        if let Some(e) = &inner.blocked {
            let mut e = e.clone();
            e.message = format!(
                "{}; the last flush failed, so appends are refused until one succeeds. Nothing \
                 flushed before is lost and the {} bytes appended since are kept in memory: make \
                 room (tighten retention.bytes with setTopicConfig, then enforceRetention) and \
                 call flush() again",
                e.message, inner.unflushed_bytes
            );
            return Err(js_error(&e));
        }
        Ok(())
    }

    /// Writes every queued change and a `Sync`; resolves once durable. Flushes run one at a
    /// time, in call order, each taking the changes queued when it starts.
    async fn flush_now(&self) -> Result<u64, JsValue> {
        let mut guard = self.shared.storage.lock().await;
        let Some(backend) = guard.as_mut() else {
            return Err(self.closed_error());
        };
        let (requests, bytes, ends) = {
            let mut inner = self.shared.inner.borrow_mut();
            let now = Date::now();
            let due = now - inner.last_retention_ms >= inner.retention_check_interval_ms;
            let Some(engine) = inner.engine.as_mut() else {
                drop(inner);
                return Err(self.closed_error());
            };
            if due {
                engine
                    .enforce_retention(now as i64)
                    .map_err(|e| js_error(&e))?;
            }
            let requests = engine.take_storage_requests().map_err(|e| js_error(&e))?;
            let ends: BTreeMap<(String, u32), i64> = engine
                .stats()
                .partitions
                .into_iter()
                .map(|p| ((p.topic, p.partition), p.log_end_offset))
                .collect();
            if due {
                inner.last_retention_ms = now;
            }
            let mut tagged = Vec::with_capacity(requests.len() + 1);
            for r in requests.into_iter().chain([StorageRequest::Sync]) {
                inner.next_request += 1;
                tagged.push((RequestId(inner.next_request), r));
            }
            let bytes = inner.unflushed_bytes;
            inner.unflushed_bytes = 0;
            (tagged, bytes, ends)
        };
        let completions = backend.execute(requests).await;
        let mut failure = completions.into_iter().find_map(|c| match c {
            Completion::Failed(_, e) => Some(BufferError::storage(&e)),
            _ => None,
        });
        // At a full quota, retention's deletions go first on their own (see
        // `IdbStorage::sync_deletions`), then the writes are tried again.
        if let (Some(e), Backend::Idb(idb)) = (&failure, &mut *backend) {
            if e.quota_exceeded && idb.sync_deletions().await.unwrap_or(false) {
                let next = {
                    let mut inner = self.shared.inner.borrow_mut();
                    inner.next_request += 1;
                    RequestId(inner.next_request)
                };
                failure = match idb.execute(vec![(next, StorageRequest::Sync)]).await.pop() {
                    Some(Completion::Failed(_, e)) => Some(BufferError::storage(&e)),
                    _ => None,
                };
            }
        }
        drop(guard);
        let mut inner = self.shared.inner.borrow_mut();
        match failure {
            Some(e) => {
                // The changes stay in the live image; the next flush writes them again.
                inner.unflushed_bytes += bytes;
                if let Some(engine) = inner.engine.as_mut() {
                    engine.mark_metadata_dirty();
                }
                if e.quota_exceeded {
                    inner.blocked = Some(e.clone());
                }
                Err(js_error(&e))
            }
            None => {
                inner.blocked = None;
                inner.dirty = false;
                inner.flushes += 1;
                inner.durable_ends = ends;
                Ok(bytes)
            }
        }
    }

    /// Closes the database and releases the writer lock; what was not flushed is dropped.
    async fn close_without_flush(&self) {
        let mut storage = self.shared.storage.lock().await;
        if let Some(Backend::Idb(s)) = storage.take() {
            s.close();
        }
        drop(storage);
        let release = {
            let mut inner = self.shared.inner.borrow_mut();
            inner.engine = None;
            inner.release_lock.take()
        };
        if let Some(f) = release {
            let _ = f.call0(&JsValue::UNDEFINED);
        }
        self.wake_waiters();
    }

    fn wake_waiters(&self) {
        let signal = self.shared.inner.borrow_mut().append_signal.take();
        if let Some((_, resolve)) = signal {
            let _ = resolve.call0(&JsValue::UNDEFINED);
        }
    }

    fn start_interval(&self, interval_ms: u32) {
        let weak: Weak<Shared> = Rc::downgrade(&self.shared);
        spawn_local(async move {
            loop {
                let _ = JsFuture::from(sleep(f64::from(interval_ms))).await;
                let Some(shared) = weak.upgrade() else { return };
                let buffer = LogBuffer { shared };
                let (open, pending) = {
                    let inner = buffer.shared.inner.borrow();
                    (
                        inner.engine.is_some(),
                        inner.unflushed_bytes > 0 || inner.dirty,
                    )
                };
                if !open {
                    return;
                }
                if pending {
                    // A failure is kept in `blocked` (quota) and retried next interval.
                    let _ = buffer.flush_now().await;
                }
            }
        });
    }
}

fn obj() -> Object {
    Object::new()
}

fn note_js(n: &RecoveryNote) -> JsValue {
    let o = obj();
    set(&o, "topic", n.topic.as_str());
    set(&o, "partition", n.partition);
    set(&o, "tornTailBytes", n.torn_tail_bytes as f64);
    set(&o, "discardedBytes", n.discarded_bytes as f64);
    set(&o, "logEndOffset", n.log_end_offset as f64);
    let notes = Array::new();
    for line in &n.notes {
        notes.push(&JsValue::from_str(line));
    }
    set(&o, "notes", notes);
    o.into()
}

#[wasm_bindgen]
impl LogBuffer {
    /// Opens (creating if needed) the buffer `name`: recovers its logs from IndexedDB (a torn
    /// tail is cut by CRC, see `recovery`), declares `options.topics`, and takes the writer
    /// lock unless `readOnly`.
    #[wasm_bindgen(unchecked_return_type = "LogBuffer")]
    pub async fn open(
        name: String,
        #[wasm_bindgen(unchecked_param_type = "LogBufferOptions")] options: JsValue,
    ) -> Result<LogBuffer, JsValue> {
        validate_name(&name)?;
        check_keys(
            "options",
            &options,
            &[
                "topics",
                "storage",
                "durability",
                "flush",
                "lock",
                "readOnly",
                "retentionCheckIntervalMs",
            ],
        )?;
        let topics = topics_arg(&get(&options, "topics"))?;
        let memory = choice(
            "options.storage",
            &get(&options, "storage"),
            &["indexeddb", "memory"],
        )? == "memory";
        let durability = match choice(
            "options.durability",
            &get(&options, "durability"),
            &["relaxed", "strict"],
        )? {
            "strict" => Durability::Strict,
            _ => Durability::Relaxed,
        };
        let flush = get(&options, "flush");
        let policy = if flush.as_string().as_deref() == Some("append") {
            FlushPolicy {
                per_append: true,
                interval_ms: None,
                bytes: None,
            }
        } else if flush.is_undefined() {
            FlushPolicy {
                per_append: false,
                interval_ms: Some(1000),
                bytes: Some(1 << 20),
            }
        } else if flush.is_object() && !Array::is_array(&flush) {
            check_keys("options.flush", &flush, &["intervalMs", "bytes"])?;
            let interval_ms = whole(
                "options.flush.intervalMs",
                &get(&flush, "intervalMs"),
                1.0,
                86_400_000.0,
            )?
            .map(|n| n as u32);
            let bytes = whole(
                "options.flush.bytes",
                &get(&flush, "bytes"),
                1.0,
                9_007_199_254_740_991.0,
            )?
            .map(|n| n as u64);
            if interval_ms.is_none() && bytes.is_none() {
                return Err(bad(
                    "options.flush needs intervalMs or bytes (or use flush: \"append\")",
                ));
            }
            FlushPolicy {
                per_append: false,
                interval_ms,
                bytes,
            }
        } else {
            return Err(bad(format!(
                "options.flush must be \"append\" or {{ intervalMs, bytes }}, got {}",
                describe(&flush)
            )));
        };
        let wait = choice("options.lock", &get(&options, "lock"), &["fail", "wait"])? == "wait";
        let read_only = match get(&options, "readOnly") {
            v if v.is_undefined() => false,
            v => v.as_bool().ok_or_else(|| {
                bad(format!(
                    "options.readOnly must be true or false, got {}",
                    describe(&v)
                ))
            })?,
        };
        let retention_check_interval_ms = whole(
            "options.retentionCheckIntervalMs",
            &get(&options, "retentionCheckIntervalMs"),
            0.0,
            9_007_199_254_740_991.0,
        )?
        .unwrap_or(300_000.0);

        let mut release_lock = None;
        if !read_only && !memory {
            let lock = JsFuture::from(acquire_lock(&database_name(&name), wait)).await?;
            if lock.is_null() {
                return Err(custom_error(
                    "LOCK_HELD",
                    format!(
                        "buffer {name:?} is open for writing in another tab or worker; open it \
                         with {{ readOnly: true }} to read, or {{ lock: \"wait\" }} to wait for \
                         the writer to close it"
                    ),
                ));
            }
            release_lock = lock.dyn_into::<Function>().ok();
        }
        let release = |release_lock: &Option<Function>| {
            if let Some(f) = release_lock {
                let _ = f.call0(&JsValue::UNDEFINED);
            }
        };
        let mut backend = if memory {
            Backend::Memory(MemoryStorage::new())
        } else {
            match IdbStorage::open_with(&database_name(&name), durability).await {
                Ok(s) => Backend::Idb(s),
                Err(e) => {
                    release(&release_lock);
                    return Err(js_error(&BufferError::storage(&e)));
                }
            }
        };
        let opened = match read_all(&mut backend).await {
            Ok(files) => Engine::open(&topics, files, now_ms()),
            Err(e) => Err(e),
        };
        let (engine, recovery) = match opened {
            Ok(x) => x,
            Err(e) => {
                release(&release_lock);
                return Err(js_error(&e));
            }
        };
        let buffer = LogBuffer {
            shared: Rc::new(Shared {
                inner: RefCell::new(Inner {
                    name,
                    engine: Some(engine),
                    read_only,
                    memory,
                    durability,
                    policy,
                    unflushed_bytes: 0,
                    blocked: None,
                    append_signal: None,
                    dirty: false,
                    release_lock,
                    recovery,
                    retention_check_interval_ms,
                    // The first flush (in open) runs retention, as a broker's log manager does
                    // at startup: reopening with a tighter retention makes room at once.
                    last_retention_ms: f64::NEG_INFINITY,
                    flushes: 0,
                    next_request: 1_000_000,
                    durable_ends: BTreeMap::new(),
                }),
                storage: AsyncMutex::new(Some(backend)),
            }),
        };
        if !read_only {
            // Make the declaration and recovery's cuts durable before the first append.
            if let Err(e) = buffer.flush_now().await {
                // Not opened: give the lock and the connection back.
                buffer.close_without_flush().await;
                return Err(e);
            }
            if let Some(ms) = policy.interval_ms {
                buffer.start_interval(ms);
            }
        }
        Ok(buffer)
    }

    /// Deletes a buffer's IndexedDB database (close it first).
    #[wasm_bindgen(js_name = deleteBuffer)]
    pub async fn delete_buffer(name: String) -> Result<(), JsValue> {
        validate_name(&name)?;
        delete_database(&database_name(&name))
            .await
            .map_err(|e| js_error(&BufferError::storage(&e)))
    }

    #[wasm_bindgen(getter)]
    pub fn name(&self) -> String {
        self.shared.inner.borrow().name.clone()
    }

    #[wasm_bindgen(getter, js_name = readOnly)]
    pub fn read_only(&self) -> bool {
        self.shared.inner.borrow().read_only
    }

    #[wasm_bindgen(getter)]
    pub fn closed(&self) -> bool {
        self.shared.inner.borrow().engine.is_none()
    }

    /// What recovery cut at open, per partition that had files.
    #[wasm_bindgen(getter, unchecked_return_type = "RecoveryNote[]")]
    pub fn recovery(&self) -> JsValue {
        let out = Array::new();
        for n in &self.shared.inner.borrow().recovery {
            out.push(&note_js(n));
        }
        out.into()
    }

    /// The topics: name → { partitions, configs }.
    #[wasm_bindgen(
        unchecked_return_type = "Record<string, { partitions: number; configs: Record<string, string> }>"
    )]
    pub fn topics(&self) -> Result<JsValue, JsValue> {
        let topics = self.with_engine(|e| Ok(e.topics().clone()))?;
        let out = obj();
        for (name, spec) in topics {
            let t = obj();
            set(&t, "partitions", spec.partitions);
            let c = obj();
            for (k, v) in &spec.configs {
                set(&c, k, v.as_str());
            }
            set(&t, "configs", c);
            set(&out, &name, t);
        }
        Ok(out.into())
    }

    /// Appends records to `topic`; resolves with each record's partition and offset (and
    /// after they are durable with flush policy "append").
    #[wasm_bindgen(unchecked_return_type = "AppendResult")]
    pub async fn append(
        &self,
        topic: JsValue,
        #[wasm_bindgen(unchecked_param_type = "AppendRecordInput[]")] records: JsValue,
        #[wasm_bindgen(unchecked_param_type = "AppendOptions")] options: JsValue,
    ) -> Result<JsValue, JsValue> {
        let topic = string_arg("topic", &topic)?;
        let records = records_arg(&records)?;
        check_keys("append options", &options, &["producer"])?;
        let producer = match get(&options, "producer") {
            p if p.is_undefined() || p.is_null() => None,
            p => {
                check_keys(
                    "options.producer",
                    &p,
                    &["producerId", "producerEpoch", "sequence"],
                )?;
                Some(IdempotentProducer {
                    producer_id: offset_arg("options.producer.producerId", &get(&p, "producerId"))?,
                    producer_epoch: whole(
                        "options.producer.producerEpoch",
                        &get(&p, "producerEpoch"),
                        0.0,
                        f64::from(i16::MAX),
                    )?
                    .map_or(0, |n| n as i16),
                    sequence: whole(
                        "options.producer.sequence",
                        &get(&p, "sequence"),
                        0.0,
                        f64::from(i32::MAX),
                    )?
                    .map(|n| n as i32),
                })
            }
        };
        self.writable()?;
        let result = self.with_engine(|e| e.append(&topic, records, producer, now_ms()))?;
        let policy = {
            let mut inner = self.shared.inner.borrow_mut();
            inner.unflushed_bytes += result.bytes;
            inner.policy
        };
        self.wake_waiters();
        let mut durable = false;
        if policy.per_append {
            if let Err(e) = self.flush_now().await {
                // The records are in the log and readable; only their flush failed.
                if let Some(error) = e.dyn_ref::<js_sys::Error>() {
                    let first = result.records.first().copied().unwrap_or((0, -1));
                    error.set_message(&format!(
                        "{} (the {} record(s) were appended, from partition {} offset {}, and \
                         will be written by the next flush that succeeds: do not append them \
                         again, or use an idempotent producer with explicit sequences)",
                        String::from(error.message()),
                        result.records.len(),
                        first.0,
                        first.1
                    ));
                }
                return Err(e);
            }
            durable = true;
        } else if let Some(limit) = policy.bytes {
            if self.shared.inner.borrow().unflushed_bytes >= limit {
                let me = self.clone();
                spawn_local(async move {
                    let _ = me.flush_now().await;
                });
            }
        }
        let out = obj();
        let parts = Array::new();
        for p in &result.partitions {
            let o = obj();
            set(&o, "partition", p.partition);
            set(&o, "baseOffset", p.base_offset as f64);
            set(&o, "lastOffset", p.last_offset as f64);
            set(&o, "recordCount", p.record_count);
            set(&o, "batches", p.batches);
            set(&o, "duplicate", p.duplicate);
            set(
                &o,
                "baseSequence",
                p.base_sequence.map_or(JsValue::NULL, JsValue::from),
            );
            parts.push(&o);
        }
        set(&out, "partitions", parts);
        let recs = Array::new();
        for (p, offset) in &result.records {
            let o = obj();
            set(&o, "partition", *p);
            set(&o, "offset", *offset as f64);
            recs.push(&o);
        }
        set(&out, "records", recs);
        set(&out, "durable", durable);
        Ok(out.into())
    }

    /// Resolves when everything appended before it is durable, with the bytes it wrote.
    pub async fn flush(&self) -> Result<f64, JsValue> {
        if self.shared.inner.borrow().read_only {
            return Ok(0.0);
        }
        Ok(self.flush_now().await? as f64)
    }

    /// Records of `topic`-`partition` from `offset` on.
    #[wasm_bindgen(unchecked_return_type = "ReadResult")]
    pub async fn read(
        &self,
        topic: JsValue,
        partition: JsValue,
        offset: JsValue,
        #[wasm_bindgen(unchecked_param_type = "ReadOptions")] options: JsValue,
    ) -> Result<JsValue, JsValue> {
        let topic = string_arg("topic", &topic)?;
        let partition = partition_arg(&partition)?;
        let offset = offset_arg("offset", &offset)?;
        check_keys(
            "read options",
            &options,
            &["maxRecords", "maxBytes", "decode"],
        )?;
        let max_records = whole(
            "options.maxRecords",
            &get(&options, "maxRecords"),
            1.0,
            1_000_000.0,
        )?
        .map_or(500, |n| n as u32);
        let max_bytes = whole(
            "options.maxBytes",
            &get(&options, "maxBytes"),
            1.0,
            f64::from(u32::MAX),
        )?
        .map_or(1 << 20, |n| n as u32);
        let text = choice(
            "options.decode",
            &get(&options, "decode"),
            &["bytes", "text"],
        )? == "text";
        let read =
            self.with_engine(|e| e.read(&topic, partition, offset, max_records, max_bytes))?;
        let out = obj();
        let records = Array::new();
        for r in &read.records {
            let o = obj();
            set(&o, "offset", r.offset as f64);
            set(&o, "timestamp", r.timestamp_ms as f64);
            set(&o, "key", bytes_out(r.key.as_ref(), text));
            set(&o, "value", bytes_out(r.value.as_ref(), text));
            let headers = Array::new();
            for h in &r.headers {
                let ho = obj();
                set(&ho, "key", h.key.as_str());
                set(&ho, "value", bytes_out(h.value.as_ref(), text));
                headers.push(&ho);
            }
            set(&o, "headers", headers);
            records.push(&o);
        }
        set(&out, "records", records);
        set(&out, "nextOffset", read.next_offset as f64);
        set(&out, "logStartOffset", read.log_start_offset as f64);
        set(&out, "highWatermark", read.high_watermark as f64);
        Ok(out.into())
    }

    /// ListOffsets by time: the first record at or after `timestamp` (ms, or a Date; -2
    /// earliest, -1 latest), or null.
    #[wasm_bindgen(js_name = offsetForTimestamp, unchecked_return_type = "{ offset: number; timestamp: number } | null")]
    pub async fn offset_for_timestamp(
        &self,
        topic: JsValue,
        partition: JsValue,
        #[wasm_bindgen(unchecked_param_type = "number | Date")] timestamp: JsValue,
    ) -> Result<JsValue, JsValue> {
        let topic = string_arg("topic", &topic)?;
        let partition = partition_arg(&partition)?;
        let ts = if let Some(d) = timestamp.dyn_ref::<Date>() {
            let t = d.get_time();
            if t.is_nan() || t < 0.0 {
                return Err(bad(format!(
                    "timestamp: the Date must be valid and not before 1970, got {}",
                    // Not toISOString: it throws on an invalid Date.
                    if t.is_nan() {
                        "an invalid Date".to_owned()
                    } else {
                        format!("{t} ms since the epoch")
                    }
                )));
            }
            t as i64
        } else {
            whole("timestamp", &timestamp, -3.0, 9_007_199_254_740_991.0)?
                .ok_or_else(|| bad("timestamp is required"))? as i64
        };
        let found = self.with_engine(|e| e.offset_for_timestamp(&topic, partition, ts))?;
        Ok(match found {
            None => JsValue::NULL,
            Some((offset, t)) => {
                let o = obj();
                set(&o, "offset", offset as f64);
                set(&o, "timestamp", t as f64);
                o.into()
            }
        })
    }

    /// An async iterator over the records from `offset` on that waits at the log end.
    #[wasm_bindgen(unchecked_return_type = "AsyncIterableIterator<BufferRecord>")]
    pub fn follow(
        &self,
        topic: JsValue,
        partition: JsValue,
        offset: JsValue,
        #[wasm_bindgen(unchecked_param_type = "FollowOptions")] options: JsValue,
    ) -> Result<JsValue, JsValue> {
        let topic = string_arg("topic", &topic)?;
        let partition = partition_arg(&partition)?;
        let offset = offset_arg("offset", &offset)?;
        check_keys(
            "follow options",
            &options,
            &["maxRecords", "pollMs", "decode"],
        )?;
        self.with_engine(|e| e.offsets(&topic, partition))?;
        Ok(follow_glue(
            self.clone(),
            &topic,
            partition,
            offset as f64,
            &options,
        ))
    }

    /// Resolves at the next append (or close).
    #[wasm_bindgen(js_name = waitForAppend)]
    pub fn wait_for_append(&self) -> Promise {
        let mut inner = self.shared.inner.borrow_mut();
        if inner.engine.is_none() {
            return Promise::resolve(&JsValue::UNDEFINED);
        }
        if let Some((promise, _)) = &inner.append_signal {
            return promise.clone();
        }
        let mut resolver = None;
        let promise = Promise::new(&mut |resolve, _| resolver = Some(resolve));
        if let Some(resolve) = resolver {
            inner.append_signal = Some((promise.clone(), resolve));
        }
        promise
    }

    /// A producer id for idempotent appends; a name gives the same id every time.
    #[wasm_bindgen(js_name = initProducerId, unchecked_return_type = "{ producerId: number; producerEpoch: number }")]
    pub async fn init_producer_id(&self, name: JsValue) -> Result<JsValue, JsValue> {
        let name = if name.is_undefined() || name.is_null() {
            None
        } else {
            Some(string_arg("producer name", &name)?)
        };
        self.writable()?;
        let (id, epoch) = self.with_engine(|e| e.init_producer_id(name.as_deref()))?;
        // The id must survive a crash before any append uses it.
        self.flush_now().await?;
        let o = obj();
        set(&o, "producerId", id as f64);
        set(&o, "producerEpoch", epoch);
        Ok(o.into())
    }

    /// An idempotent producer's state in a partition, or null if the partition has none.
    #[wasm_bindgen(js_name = producerState, unchecked_return_type = "{ producerEpoch: number; lastSequence: number; lastOffset: number } | null")]
    pub fn producer_state(
        &self,
        producer_id: JsValue,
        topic: JsValue,
        partition: JsValue,
    ) -> Result<JsValue, JsValue> {
        let id = offset_arg("producerId", &producer_id)?;
        let topic = string_arg("topic", &topic)?;
        let partition = partition_arg(&partition)?;
        Ok(
            match self.with_engine(|e| e.producer_state(id, &topic, partition))? {
                None => JsValue::NULL,
                Some((epoch, seq, offset)) => {
                    let o = obj();
                    set(&o, "producerEpoch", epoch);
                    set(&o, "lastSequence", seq);
                    set(&o, "lastOffset", offset as f64);
                    o.into()
                }
            },
        )
    }

    /// Stores a named consumer's position: the next offset it will read (OffsetCommit).
    /// Durable with the next flush.
    #[wasm_bindgen(js_name = commitOffset)]
    pub async fn commit_offset(
        &self,
        consumer: JsValue,
        topic: JsValue,
        partition: JsValue,
        offset: JsValue,
        #[wasm_bindgen(unchecked_param_type = "{ metadata?: string }")] options: JsValue,
    ) -> Result<(), JsValue> {
        let consumer = string_arg("consumer", &consumer)?;
        let topic = string_arg("topic", &topic)?;
        let partition = partition_arg(&partition)?;
        let offset = offset_arg("offset", &offset)?;
        check_keys("commitOffset options", &options, &["metadata"])?;
        let metadata = match get(&options, "metadata") {
            m if m.is_undefined() || m.is_null() => String::new(),
            m => string_arg("options.metadata", &m)?,
        };
        self.writable()?;
        self.with_engine(|e| {
            e.commit_offset(&consumer, &topic, partition, offset, &metadata, now_ms())
        })?;
        self.shared.inner.borrow_mut().dirty = true;
        if self.shared.inner.borrow().policy.per_append {
            self.flush_now().await?;
        }
        Ok(())
    }

    /// A named consumer's stored position, or null.
    #[wasm_bindgen(unchecked_return_type = "CommittedOffset | null")]
    pub async fn committed(
        &self,
        consumer: JsValue,
        topic: JsValue,
        partition: JsValue,
    ) -> Result<JsValue, JsValue> {
        let consumer = string_arg("consumer", &consumer)?;
        let topic = string_arg("topic", &topic)?;
        let partition = partition_arg(&partition)?;
        Ok(
            match self.with_engine(|e| e.committed(&consumer, &topic, partition))? {
                None => JsValue::NULL,
                Some(c) => {
                    let o = obj();
                    set(&o, "offset", c.offset as f64);
                    set(&o, "metadata", c.metadata.as_str());
                    set(&o, "commitTimestamp", c.commit_timestamp_ms as f64);
                    o.into()
                }
            },
        )
    }

    /// The consumer's lag per partition (of `topic`, or of all topics).
    #[wasm_bindgen(unchecked_return_type = "PartitionLag[]")]
    pub async fn lag(&self, consumer: JsValue, topic: JsValue) -> Result<JsValue, JsValue> {
        let consumer = string_arg("consumer", &consumer)?;
        let topic = if topic.is_undefined() || topic.is_null() {
            None
        } else {
            Some(string_arg("topic", &topic)?)
        };
        let rows = self.with_engine(|e| e.lag(&consumer, topic.as_deref()))?;
        let out = Array::new();
        for r in rows {
            let o = obj();
            set(&o, "topic", r.topic.as_str());
            set(&o, "partition", r.partition);
            set(
                &o,
                "currentOffset",
                r.current_offset
                    .map_or(JsValue::NULL, |c| (c as f64).into()),
            );
            set(&o, "logStartOffset", r.log_start_offset as f64);
            set(&o, "logEndOffset", r.log_end_offset as f64);
            set(&o, "lag", r.lag as f64);
            out.push(&o);
        }
        Ok(out.into())
    }

    /// Changes topic configs (`null` removes an override); `enforceRetention` applies them.
    #[wasm_bindgen(js_name = setTopicConfig)]
    pub async fn set_topic_config(
        &self,
        topic: JsValue,
        #[wasm_bindgen(unchecked_param_type = "TopicOptions")] configs: JsValue,
    ) -> Result<(), JsValue> {
        let topic = string_arg("topic", &topic)?;
        if !configs.is_object() || Array::is_array(&configs) {
            return Err(bad(format!(
                "configs must be an object like {{ \"retention.bytes\": 1000000 }}, got {}",
                describe(&configs)
            )));
        }
        if self.shared.inner.borrow().read_only {
            return Err(custom_error(
                "READ_ONLY",
                "a read-only buffer cannot change topic configs".into(),
            ));
        }
        let mut changes = Vec::new();
        for entry in Object::entries(configs.unchecked_ref::<Object>()).iter() {
            let entry = Array::from(&entry);
            let key = entry.get(0).as_string().unwrap_or_default();
            let v = entry.get(1);
            let value = if v.is_null() {
                None
            } else if let Some(s) = v.as_string() {
                Some(s)
            } else if let Some(n) = v.as_f64() {
                Some(format!("{n}"))
            } else {
                return Err(bad(format!(
                    "{key} must be a number, a string or null, got {}",
                    describe(&v)
                )));
            };
            changes.push((key, value));
        }
        self.with_engine(|e| e.set_topic_configs(&topic, &changes))?;
        self.shared.inner.borrow_mut().dirty = true;
        Ok(())
    }

    /// Runs retention and compaction now (flushes also run them every
    /// `retentionCheckIntervalMs`); durable with the next flush.
    #[wasm_bindgen(js_name = enforceRetention, unchecked_return_type = "RetentionReport")]
    pub async fn enforce_retention(&self) -> Result<JsValue, JsValue> {
        if self.read_only() {
            return Err(custom_error(
                "READ_ONLY",
                "a read-only buffer does not run retention; the writer does".into(),
            ));
        }
        let r = self.with_engine(|e| e.enforce_retention(now_ms()))?;
        self.shared.inner.borrow_mut().dirty = true;
        let o = obj();
        set(&o, "deletedSegments", r.deleted_segments);
        set(&o, "deletedBytes", r.deleted_bytes as f64);
        set(&o, "compactedPartitions", r.compacted_partitions);
        Ok(o.into())
    }

    /// Sizes, offsets, unflushed bytes and the platform's storage estimate.
    #[wasm_bindgen(unchecked_return_type = "BufferStats")]
    pub async fn stats(&self) -> Result<JsValue, JsValue> {
        let s = self.with_engine(|e| Ok(e.stats()))?;
        let durable_ends = self.shared.inner.borrow().durable_ends.clone();
        let o = obj();
        let parts = Array::new();
        for p in &s.partitions {
            let po = obj();
            set(&po, "topic", p.topic.as_str());
            set(&po, "partition", p.partition);
            set(&po, "logStartOffset", p.log_start_offset as f64);
            set(&po, "logEndOffset", p.log_end_offset as f64);
            set(&po, "sizeBytes", p.size_bytes as f64);
            set(&po, "segments", p.segments);
            set(&po, "producers", p.producers);
            let durable = durable_ends
                .get(&(p.topic.clone(), p.partition))
                .copied()
                .unwrap_or(0)
                .clamp(p.log_start_offset, p.log_end_offset);
            set(&po, "durableEndOffset", durable as f64);
            parts.push(&po);
        }
        set(&o, "partitions", parts);
        set(&o, "consumerOffsetsBytes", s.consumer_offsets_bytes as f64);
        set(&o, "consumerGroups", s.consumer_groups);
        set(&o, "totalBytes", s.total_bytes as f64);
        set(&o, "records", s.records as f64);
        let (unflushed, flushes, memory) = {
            let inner = self.shared.inner.borrow();
            (inner.unflushed_bytes, inner.flushes, inner.memory)
        };
        set(&o, "unflushedBytes", unflushed as f64);
        set(&o, "flushes", flushes as f64);
        if !memory {
            let estimate = JsFuture::from(storage_estimate()).await?;
            if !estimate.is_undefined() {
                set(&o, "storageEstimate", estimate);
            }
        }
        Ok(o.into())
    }

    /// Ships a topic from a consumer's position to Kafka (REST Proxy v3) or another target,
    /// at least once; the consumer's offset is stored only after each batch was taken.
    #[wasm_bindgen(unchecked_return_type = "Promise<DrainResult>")]
    pub fn drain(
        &self,
        #[wasm_bindgen(unchecked_param_type = "DrainOptions")] options: JsValue,
    ) -> Promise {
        drain_glue(self.clone(), &options)
    }

    /// Reads the writer's flushed data again (a read-only buffer).
    pub async fn refresh(&self) -> Result<(), JsValue> {
        let (read_only, name, durability) = {
            let inner = self.shared.inner.borrow();
            (inner.read_only, inner.name.clone(), inner.durability)
        };
        if !read_only {
            return Ok(());
        }
        let mut backend = Backend::Idb(
            IdbStorage::open_with(&database_name(&name), durability)
                .await
                .map_err(|e| js_error(&BufferError::storage(&e)))?,
        );
        let files = read_all(&mut backend).await.map_err(|e| js_error(&e))?;
        let (engine, _) =
            Engine::open(&BTreeMap::new(), files, now_ms()).map_err(|e| js_error(&e))?;
        *self.shared.storage.lock().await = Some(backend);
        self.shared.inner.borrow_mut().engine = Some(engine);
        self.wake_waiters();
        Ok(())
    }

    /// Flushes, releases the writer lock and closes the database.
    pub async fn close(&self) -> Result<(), JsValue> {
        if self.closed() {
            return Ok(());
        }
        let flushed = if self.read_only() {
            Ok(0)
        } else {
            self.flush_now().await
        };
        self.close_without_flush().await;
        flushed.map(|_| ())
    }
}

/// Sets the panic hook: a panic (a bug) reaches the console with its message.
#[wasm_bindgen(start)]
pub fn start() {
    console_error_panic_hook::set_once();
}
