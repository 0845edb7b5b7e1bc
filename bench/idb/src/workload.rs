//! The B2 workload, shared by our run and the references so that all of them write the same
//! bytes: `records` records of 100 random bytes (no key, CreateTime timestamps one millisecond
//! apart), produced in batches of `batch_records` through a `PartitionLog`, with a `Sync` each
//! time the bytes appended since the last one reach `flush_bytes`, and once at the end.
//!
//! Everything here is deterministic and target-independent, so it is tested natively; only the
//! IndexedDB side lives behind `wasm32`.

use logsim::ids::{LeaderEpoch, PartitionIndex, TopicPartition};
use logsim::log::{LogConfig, LogError, NewRecord, PartitionLog, ProducerFields, RecordBatch};
use logsim::prng::Prng;
use logsim::storage::{FileName, StorageRequest};

/// Bytes of each record's value (the LinkedIn 2014 Kafka benchmark's record size).
pub const RECORD_VALUE_BYTES: usize = 100;

/// Timestamp of record 0; record `i` is stamped `BASE_TIMESTAMP_MS + i`. Also the log's clock,
/// so the encoded bytes do not depend on when the benchmark runs.
pub const BASE_TIMESTAMP_MS: i64 = 1_700_000_000_000;

/// Seed of the record values. Random bytes, because a storage layer that compresses would make
/// a repeated pattern look faster than real payloads.
const VALUES_SEED: u64 = 0x42_32_69_64_62;

/// The topic-partition the benchmark appends to.
pub const TOPIC: &str = "bench";

/// Largest workload accepted: keeps every size below 2^32 bytes on wasm32.
pub const RECORDS_MAX: u32 = 4_000_000;

/// One configuration of the benchmark.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Workload {
    pub records: u32,
    pub batch_records: u32,
    /// A `Sync` is issued as soon as the bytes appended since the last one reach this.
    pub flush_bytes: u32,
}

impl Workload {
    pub fn validate(&self) -> Result<(), String> {
        if self.records == 0 || self.records > RECORDS_MAX {
            return Err(format!(
                "records must be in 1..={RECORDS_MAX}, got {}",
                self.records
            ));
        }
        if self.batch_records == 0 || self.batch_records > 65_536 {
            return Err(format!(
                "batch_records must be in 1..=65536, got {}",
                self.batch_records
            ));
        }
        if self.flush_bytes == 0 {
            return Err("flush_bytes must be at least 1".into());
        }
        Ok(())
    }
}

/// The values of all records, `RECORD_VALUE_BYTES` each, record `i` at `i * RECORD_VALUE_BYTES`.
pub fn record_values(records: u32) -> Vec<u8> {
    let mut values = vec![0u8; records as usize * RECORD_VALUE_BYTES];
    Prng::new(VALUES_SEED).fill(&mut values);
    values
}

/// What one producer step asks of storage.
#[derive(Debug)]
pub struct Step {
    /// The log's storage requests for this batch, followed by `Sync` when the step flushes.
    pub requests: Vec<StorageRequest>,
    /// Records made durable by this step's `Sync`, if it ends with one.
    pub flushed_records: Option<u32>,
}

/// Drives a `PartitionLog` through the workload, one batch per step.
#[derive(Debug)]
pub struct Producer<'a> {
    workload: Workload,
    values: &'a [u8],
    log: PartitionLog,
    next_record: u32,
    pending_bytes: u64,
    pending_records: u32,
}

impl<'a> Producer<'a> {
    /// `values` must come from `record_values(workload.records)`.
    pub fn new(workload: Workload, values: &'a [u8]) -> Result<Producer<'a>, String> {
        workload.validate()?;
        let expected = workload.records as usize * RECORD_VALUE_BYTES;
        if values.len() != expected {
            return Err(format!(
                "{} value bytes for {} records; expected {expected}",
                values.len(),
                workload.records
            ));
        }
        let topic_partition = TopicPartition {
            topic: TOPIC.into(),
            partition: PartitionIndex(0),
        };
        let log = PartitionLog::new(topic_partition, LogConfig::default(), BASE_TIMESTAMP_MS)
            .map_err(|e| format!("cannot create the log: {e}"))?;
        Ok(Producer {
            workload,
            values,
            log,
            next_record: 0,
            pending_bytes: 0,
            pending_records: 0,
        })
    }

    pub fn log(&self) -> &PartitionLog {
        &self.log
    }

    /// The single segment file the workload writes: `RECORDS_MAX` records of 100 bytes, even in
    /// batches of one (about 170 bytes a record), stay below the default 1 GiB segment.
    pub fn log_file(&self) -> Result<FileName, String> {
        self.log
            .segment_file_name(self.log.log_start_offset(), "log")
            .map_err(|e| e.to_string())
    }

    /// Appends the next batch; `None` once every record is appended and synced.
    pub fn next_step(&mut self) -> Result<Option<Step>, LogError> {
        let remaining = self.workload.records - self.next_record;
        if remaining == 0 {
            return Ok(None);
        }
        let count = remaining.min(self.workload.batch_records);
        let first = self.next_record;
        let records: Vec<NewRecord> = (first..first + count)
            .map(|i| {
                let at = i as usize * RECORD_VALUE_BYTES;
                NewRecord::new(
                    BASE_TIMESTAMP_MS + i64::from(i),
                    None,
                    Some(&self.values[at..at + RECORD_VALUE_BYTES]),
                )
            })
            .collect();
        let batch = RecordBatch::new_data(&records, ProducerFields::NONE);
        let now_ms = BASE_TIMESTAMP_MS + i64::from(first + count);
        let info = self.log.append_as_leader(batch, LeaderEpoch(0), now_ms)?;
        self.next_record += count;
        self.pending_bytes += u64::from(info.valid_bytes);
        self.pending_records += count;
        let mut requests = self.log.take_storage_requests();
        let last = self.next_record == self.workload.records;
        let flushed_records = if last || self.pending_bytes >= u64::from(self.workload.flush_bytes)
        {
            requests.push(StorageRequest::Sync);
            let flushed = self.pending_records;
            self.pending_bytes = 0;
            self.pending_records = 0;
            Some(flushed)
        } else {
            None
        };
        Ok(Some(Step {
            requests,
            flushed_records,
        }))
    }
}

/// One flush group: the storage requests of the batches appended since the last `Sync`,
/// ending with the `Sync` that makes them durable.
#[derive(Debug)]
pub struct Group {
    pub requests: Vec<StorageRequest>,
    pub records: u32,
}

impl Producer<'_> {
    /// Appends batches up to and including the next flush; `None` once everything is synced.
    pub fn next_group(&mut self) -> Result<Option<Group>, LogError> {
        let mut requests = Vec::new();
        while let Some(step) = self.next_step()? {
            requests.extend(step.requests);
            if let Some(records) = step.flushed_records {
                return Ok(Some(Group { requests, records }));
            }
        }
        Ok(None)
    }
}

/// The log file's bytes grouped exactly as our run syncs them: what the raw reference puts,
/// one transaction per group, and how many records each group holds (Dexie's transactions).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Flushes {
    pub chunks: Vec<Vec<u8>>,
    pub records: Vec<u32>,
}

impl Flushes {
    pub fn total_bytes(&self) -> u64 {
        self.chunks.iter().map(|c| c.len() as u64).sum()
    }
}

/// Runs the workload's log without storage and collects what each `Sync` makes durable.
pub fn plan_flushes(workload: Workload, values: &[u8]) -> Result<Flushes, String> {
    let mut producer = Producer::new(workload, values)?;
    let file = producer.log_file()?;
    let mut flushes = Flushes::default();
    let mut pending = Vec::new();
    while let Some(step) = producer.next_step().map_err(|e| e.to_string())? {
        for request in step.requests {
            match request {
                StorageRequest::Append { file: f, bytes } if f == file => {
                    pending.extend_from_slice(&bytes)
                }
                StorageRequest::Sync => {}
                other => {
                    return Err(format!(
                        "the workload only appends to {file}, but the log asked for {other:?}"
                    ))
                }
            }
        }
        if let Some(records) = step.flushed_records {
            flushes.chunks.push(std::mem::take(&mut pending));
            flushes.records.push(records);
        }
    }
    if producer.log().size_in_bytes() != flushes.total_bytes() {
        return Err(format!(
            "the log holds {} bytes but its appends carried {}",
            producer.log().size_in_bytes(),
            flushes.total_bytes()
        ));
    }
    Ok(flushes)
}

/// FNV-1a, 64 bits, as 16 hex digits: a cheap fingerprint to check that what our run reads
/// back from IndexedDB is byte for byte what the references wrote.
pub fn fingerprint(bytes: &[u8]) -> String {
    let mut h: u64 = 0xCBF2_9CE4_8422_2325;
    for &b in bytes {
        h ^= u64::from(b);
        h = h.wrapping_mul(0x0000_0100_0000_01B3);
    }
    format!("{h:016x}")
}

#[cfg(test)]
mod tests {
    use super::*;
    use logsim::storage::memory::MemoryStorage;
    use logsim::storage::{Completion, RequestId, SyncStorage};

    fn workload(records: u32, batch_records: u32, flush_bytes: u32) -> Workload {
        Workload {
            records,
            batch_records,
            flush_bytes,
        }
    }

    #[test]
    fn flushes_cover_every_record_and_respect_the_flush_size() {
        for (batch, flush) in [(1, 4096), (16, 65_536), (256, 65_536), (4096, 65_536)] {
            let w = workload(10_000, batch, flush);
            let values = record_values(w.records);
            let flushes = plan_flushes(w, &values).unwrap();
            assert_eq!(flushes.records.iter().sum::<u32>(), w.records);
            let (last, full) = flushes.chunks.split_last().unwrap();
            assert!(!last.is_empty());
            for chunk in full {
                assert!(chunk.len() >= flush as usize, "batch {batch}: short flush");
            }
        }
    }

    #[test]
    fn the_planned_chunks_are_what_the_log_file_holds_after_the_steps() {
        let w = workload(3_000, 16, 8_192);
        let values = record_values(w.records);
        let flushes = plan_flushes(w, &values).unwrap();
        let mut producer = Producer::new(w, &values).unwrap();
        let file = producer.log_file().unwrap();
        let mut storage = MemoryStorage::new();
        let mut id = 0u64;
        let mut syncs = 0usize;
        while let Some(step) = producer.next_step().unwrap() {
            syncs += usize::from(step.flushed_records.is_some());
            let requests = step
                .requests
                .into_iter()
                .map(|r| {
                    id += 1;
                    (RequestId(id), r)
                })
                .collect();
            for completion in storage.execute(requests) {
                assert!(matches!(completion, Completion::Done(_)), "{completion:?}");
            }
        }
        assert_eq!(syncs, flushes.chunks.len());
        let durable = storage.durable_image().get(&file).unwrap();
        assert_eq!(*durable, flushes.chunks.concat());
        assert_eq!(fingerprint(durable), fingerprint(&flushes.chunks.concat()));
    }

    #[test]
    fn bad_workloads_are_refused_with_the_value() {
        let err = workload(0, 1, 1).validate().unwrap_err();
        assert!(err.contains("got 0"), "{err}");
        let err = Producer::new(workload(2, 1, 1), &[0; 3]).unwrap_err();
        assert!(err.contains("3 value bytes"), "{err}");
    }
}
