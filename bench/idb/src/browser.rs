//! The wasm-bindgen exports the benchmark worker calls. Only `run_ours`'s append loop is timed
//! here; opening, reading back and checking happen outside the timed span.

use crate::workload::{fingerprint, plan_flushes, record_values, Group, Producer, Workload};
use js_sys::{Array, Object, Reflect, Uint32Array, Uint8Array};
use logsim::storage::{Completion, FileName, RequestId, StorageRequest};
use logsim_browser::{Durability, IdbStorage};
use std::future::Future;
use wasm_bindgen::prelude::*;

#[wasm_bindgen]
extern "C" {
    // `performance` is a global in windows and workers alike.
    #[wasm_bindgen(js_namespace = performance, js_name = now)]
    fn performance_now() -> f64;
}

fn set(object: &Object, key: &str, value: &JsValue) -> Result<(), JsError> {
    Reflect::set(object, &JsValue::from_str(key), value)
        .map(|_| ())
        .map_err(|_| JsError::new(&format!("cannot set `{key}` on a result object")))
}

fn workload(records: u32, batch_records: u32, flush_bytes: u32) -> Result<Workload, JsError> {
    let workload = Workload {
        records,
        batch_records,
        flush_bytes,
    };
    workload.validate().map_err(|e| JsError::new(&e))?;
    Ok(workload)
}

/// What the references need, computed by running the same log without storage:
/// `{ chunks: Uint8Array[], records: Uint32Array, values: Uint8Array, bytes, fingerprint }` —
/// the bytes of each flush, the records in each flush, the record values (100 bytes each, in
/// offset order), the total bytes and a fingerprint of their concatenation.
#[wasm_bindgen]
pub fn prepare(records: u32, batch_records: u32, flush_bytes: u32) -> Result<Object, JsError> {
    let workload = workload(records, batch_records, flush_bytes)?;
    let values = record_values(workload.records);
    let flushes = plan_flushes(workload, &values).map_err(|e| JsError::new(&e))?;
    let chunks: Array = flushes
        .chunks
        .iter()
        .map(|c| JsValue::from(Uint8Array::from(c.as_slice())))
        .collect();
    let result = Object::new();
    set(&result, "chunks", &chunks)?;
    set(
        &result,
        "records",
        &Uint32Array::from(flushes.records.as_slice()),
    )?;
    set(&result, "values", &Uint8Array::from(values.as_slice()))?;
    set(
        &result,
        "bytes",
        &JsValue::from(flushes.total_bytes() as f64),
    )?;
    set(
        &result,
        "fingerprint",
        &JsValue::from_str(&fingerprint(&flushes.chunks.concat())),
    )?;
    Ok(result)
}

/// Gives each request the next id.
fn numbered(requests: Vec<StorageRequest>, next_id: &mut u64) -> Vec<(RequestId, StorageRequest)> {
    requests
        .into_iter()
        .map(|request| {
            *next_id += 1;
            (RequestId(*next_id), request)
        })
        .collect()
}

fn check(completions: Vec<Completion>) -> Result<(), JsError> {
    for completion in completions {
        if let Completion::Failed(id, e) = completion {
            return Err(JsError::new(&format!(
                "storage request {} failed: {e}",
                id.0
            )));
        }
    }
    Ok(())
}

fn next_group(producer: &mut Producer<'_>) -> Result<Option<Group>, JsError> {
    producer
        .next_group()
        .map_err(|e| JsError::new(&format!("append: {e}")))
}

/// Appends the workload through `PartitionLog` into `IdbStorage` on the (fresh) database
/// `db_name`, one flush group (the batches up to a `Sync`) per `execute`.
///
/// `pipelined`: while a group's transaction commits, the log already appends the next group's
/// batches in memory (a group commit, as Kafka's log does between fsyncs); their requests are
/// submitted only once the `Sync` before them completed, so the storage order is unchanged.
/// Otherwise each group is appended only after the previous `Sync` completed.
///
/// Returns `{ ms, engine_ms, storage_cpu_ms, flushes }`: the time from the first batch to the
/// last `Sync`'s commit; the parts of it spent appending in the log and in `IdbStorage` before
/// awaiting each commit (applying the group, copying the bytes out, issuing the puts); and the
/// number of `Sync`s. With `verify`, the database is then reopened and the log file read back
/// (not timed), adding `bytes` and `fingerprint`. Leaves the database in place; the caller
/// deletes it.
#[wasm_bindgen]
pub async fn run_ours(
    db_name: String,
    records: u32,
    batch_records: u32,
    flush_bytes: u32,
    strict: bool,
    pipelined: bool,
    verify: bool,
) -> Result<Object, JsError> {
    let workload = workload(records, batch_records, flush_bytes)?;
    let durability = if strict {
        Durability::Strict
    } else {
        Durability::Relaxed
    };
    let values = record_values(workload.records);
    let mut producer = Producer::new(workload, &values).map_err(|e| JsError::new(&e))?;
    let file = producer.log_file().map_err(|e| JsError::new(&e))?;
    let mut storage = IdbStorage::open_with(&db_name, durability)
        .await
        .map_err(|e| JsError::new(&format!("opening {db_name}: {e}")))?;
    let mut next_id = 0u64;
    let mut flushes = 0u32;
    let mut engine_ms = 0.0;
    let mut storage_cpu_ms = 0.0;

    let started = performance_now();
    let mut group = next_group(&mut producer)?;
    engine_ms += performance_now() - started;
    while let Some(current) = group.take() {
        flushes += 1;
        let mut execute = std::pin::pin!(storage.execute(numbered(current.requests, &mut next_id)));
        let mut next = None;
        let mut first_poll = true;
        // The first poll applies the requests and issues the transaction (the synchronous part
        // of `IdbStorage`); the future then waits for the commit. When pipelined, the next group
        // is appended right after that first poll, while IndexedDB commits.
        let completions = std::future::poll_fn(|cx| {
            let at = performance_now();
            let poll = execute.as_mut().poll(cx);
            if first_poll {
                first_poll = false;
                storage_cpu_ms += performance_now() - at;
                if pipelined {
                    let at = performance_now();
                    next = Some(next_group(&mut producer));
                    engine_ms += performance_now() - at;
                }
            }
            poll
        })
        .await;
        check(completions)?;
        group = match next {
            Some(next) => next?,
            None => {
                let at = performance_now();
                let next = next_group(&mut producer)?;
                engine_ms += performance_now() - at;
                next
            }
        };
    }
    let ms = performance_now() - started;

    let result = Object::new();
    set(&result, "ms", &JsValue::from(ms))?;
    set(&result, "engine_ms", &JsValue::from(engine_ms))?;
    set(&result, "storage_cpu_ms", &JsValue::from(storage_cpu_ms))?;
    set(&result, "flushes", &JsValue::from(flushes))?;
    drop(storage);
    if verify {
        let bytes = read_back(&db_name, durability, &file, next_id).await?;
        let log_bytes = producer.log().size_in_bytes();
        if bytes.len() as u64 != log_bytes {
            return Err(JsError::new(&format!(
                "read back {} bytes of {file}, but the log holds {log_bytes}",
                bytes.len()
            )));
        }
        set(&result, "bytes", &JsValue::from(bytes.len() as f64))?;
        set(
            &result,
            "fingerprint",
            &JsValue::from_str(&fingerprint(&bytes)),
        )?;
    }
    Ok(result)
}

/// Reads `file` through a new connection: what the `Sync`s made durable, not a live overlay.
async fn read_back(
    db_name: &str,
    durability: Durability,
    file: &FileName,
    last_id: u64,
) -> Result<Vec<u8>, JsError> {
    let mut reopened = IdbStorage::open_with(db_name, durability)
        .await
        .map_err(|e| JsError::new(&format!("reopening {db_name}: {e}")))?;
    let read = reopened
        .execute(vec![(
            RequestId(last_id + 1),
            StorageRequest::Read { file: file.clone() },
        )])
        .await;
    match read.into_iter().next() {
        Some(Completion::Read(_, bytes)) => Ok(bytes),
        other => Err(JsError::new(&format!(
            "reading {file} back gave {other:?} instead of its bytes"
        ))),
    }
}
