//! The edge buffer: the simulator's partition logs as a durable local buffer for one process
//! (a page, a worker, a service worker, Node). Topics of partitions, each a `PartitionLog` with
//! its idempotent-producer table; named consumers' offsets in a compacted `__consumer_offsets`
//! log in Kafka's record format; retention and compaction exactly as the brokers run them.
//!
//! Sans-IO like the rest of the core: `open` is handed the files storage holds, every change is
//! queued as `StorageRequest`s the driver drains with `take_storage_requests` and makes durable
//! with a `Sync`, and time is passed in. The browser crate drives it over IndexedDB; tests drive
//! it over `MemoryStorage`.
//!
//! One buffer is one replica with no followers, so the high watermark is the log end offset
//! (Kafka with `replication.factor=1`): a record is readable once appended, and durable once
//! the `Sync` after it completes. A crash loses exactly what was not synced; recovery cuts a
//! torn tail by its CRC, and offsets continue from the durable log end.

mod options;
#[cfg(test)]
mod tests;

pub use options::{Metadata, TopicSpec, METADATA_FILE, METADATA_FORMAT, TOPIC_CONFIGS};

use crate::broker::group::records::{
    decode_offsets_topic_record, encode_offset_commit_key, encode_offset_commit_value,
    OffsetCommitKey, OffsetsTopicRecord,
};
use crate::broker::group::OffsetAndMetadata;
use crate::broker::producer_state::{
    increment_sequence, ProducerBatchInfo, ProducerStateTable, SequenceCheck,
    PRODUCER_ID_EXPIRATION_MS_DEFAULT,
};
use crate::client::partitioner::partition_for_key;
use crate::ids::{
    validate_topic_name, LeaderEpoch, Offset, PartitionIndex, ProducerEpoch, ProducerId,
    TopicPartition,
};
use crate::limits;
use crate::log::batch::{NewRecord, ProducerFields, RecordBatch, RecordHeader};
use crate::log::config::{CleanupPolicy, LogConfig};
use crate::log::partition_log::{LogError, PartitionLog};
use crate::log::recovery::RecoveryReport;
use crate::protocol::ErrorCode;
use crate::storage::{FileName, StorageError, StorageRequest};
use std::collections::BTreeMap;
use std::fmt;

/// The internal topic holding named consumers' offsets, as in Kafka.
pub const OFFSETS_TOPIC: &str = "__consumer_offsets";

/// Kafka's `offsets.topic.segment.bytes`.
pub const OFFSETS_TOPIC_SEGMENT_BYTES: i32 = 104_857_600;

/// Every append is one batch per partition unless it would exceed `max.message.bytes`
/// (Kafka's default, 1048588 bytes) or the record limit of a batch: then it is split the way a
/// producer splits its accumulator, one batch after another.
pub const BATCH_BYTES_MAX: u32 = limits::BATCH_BYTES_MAX;

/// A refused call: Kafka's error code for it and a message naming the offending value. A
/// storage failure carries `KAFKA_STORAGE_ERROR`; `quota_exceeded` tells the browser's
/// QuotaExceededError apart.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BufferError {
    pub code: ErrorCode,
    pub message: String,
    pub quota_exceeded: bool,
}

impl BufferError {
    pub fn new(code: ErrorCode, message: impl Into<String>) -> BufferError {
        BufferError {
            code,
            message: message.into(),
            quota_exceeded: false,
        }
    }

    /// A bad argument (a wrong type, a negative offset, a missing field).
    pub fn invalid_request(message: impl Into<String>) -> BufferError {
        BufferError::new(ErrorCode::InvalidRequest, message)
    }

    pub fn storage(e: &StorageError) -> BufferError {
        BufferError {
            code: ErrorCode::KafkaStorageError,
            message: e.to_string(),
            quota_exceeded: matches!(e, StorageError::QuotaExceeded(_)),
        }
    }
}

impl fmt::Display for BufferError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.code.name(), self.message)
    }
}

impl std::error::Error for BufferError {}

impl From<LogError> for BufferError {
    fn from(e: LogError) -> Self {
        let code = match &e {
            LogError::OffsetOutOfRange { .. } => ErrorCode::OffsetOutOfRange,
            LogError::CorruptBatch(_) => ErrorCode::CorruptMessage,
            LogError::InvalidRecord(_) => ErrorCode::InvalidRecord,
            LogError::RecordBatchTooLarge { .. } => ErrorCode::MessageTooLarge,
            LogError::UnexpectedAppendOffset { .. } => ErrorCode::UnknownServerError,
            LogError::InvalidConfig(_) => ErrorCode::InvalidConfig,
            LogError::InvalidTopic(_) => ErrorCode::InvalidTopicException,
            LogError::Storage(s) => return BufferError::storage(s),
        };
        BufferError::new(code, e.to_string())
    }
}

/// A user topic name: Kafka's rules, and not an internal (`__`) name.
pub fn validate_user_topic(name: &str) -> Result<(), BufferError> {
    validate_topic_name(name).map_err(|m| BufferError::new(ErrorCode::InvalidTopicException, m))?;
    if name.starts_with("__") {
        return Err(BufferError::new(
            ErrorCode::InvalidTopicException,
            format!("topic {name:?}: names starting with \"__\" are internal topics"),
        ));
    }
    Ok(())
}

/// A record to append.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct AppendRecord {
    pub key: Option<Vec<u8>>,
    /// `None` is a tombstone (deletes the key on a compacted topic).
    pub value: Option<Vec<u8>>,
    pub headers: Vec<RecordHeader>,
    /// CreateTime; `None` takes the append's time.
    pub timestamp_ms: Option<i64>,
    /// An explicit partition; otherwise murmur2 of the key, or the sticky partition.
    pub partition: Option<u32>,
}

/// The idempotent producer fields of an append (Kafka's batch header: producer id, epoch and
/// base sequence). `sequence: None` continues after the producer's last sequence there.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct IdempotentProducer {
    pub producer_id: i64,
    pub producer_epoch: i16,
    pub sequence: Option<i32>,
}

/// What one partition of an append got.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PartitionAppend {
    pub partition: u32,
    pub base_offset: i64,
    pub last_offset: i64,
    pub record_count: u32,
    pub batches: u32,
    /// Every batch was a retry of one already in the log: nothing was appended and the offsets
    /// are the original ones (Kafka answers a duplicate the same way).
    pub duplicate: bool,
    /// The first record's sequence, for an idempotent append.
    pub base_sequence: Option<i32>,
}

/// The answer to an append.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AppendResult {
    pub partitions: Vec<PartitionAppend>,
    /// The partition and offset of each record, in the order given.
    pub records: Vec<(u32, i64)>,
    /// Bytes queued for storage by this append (what a flush will write).
    pub bytes: u64,
}

/// A record read back.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BufferRecord {
    pub offset: i64,
    pub timestamp_ms: i64,
    pub key: Option<Vec<u8>>,
    pub value: Option<Vec<u8>>,
    pub headers: Vec<RecordHeader>,
}

/// The answer to a read.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ReadResult {
    pub records: Vec<BufferRecord>,
    /// Where the next read continues.
    pub next_offset: i64,
    pub log_start_offset: i64,
    pub high_watermark: i64,
}

/// A named consumer's committed position in one partition.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CommittedOffset {
    pub offset: i64,
    pub metadata: String,
    pub commit_timestamp_ms: i64,
}

/// One row of `kafka-consumer-groups --describe`: LAG = LOG-END-OFFSET - CURRENT-OFFSET.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PartitionLag {
    pub topic: String,
    pub partition: u32,
    pub current_offset: Option<i64>,
    pub log_start_offset: i64,
    pub log_end_offset: i64,
    /// Without a committed offset, counted from the log start (where `auto.offset.reset=
    /// earliest` would begin).
    pub lag: i64,
}

/// What recovery found in one partition's files at open.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RecoveryNote {
    pub topic: String,
    pub partition: u32,
    pub torn_tail_bytes: u64,
    pub discarded_bytes: u64,
    pub log_end_offset: i64,
    pub notes: Vec<String>,
}

/// Sizes and offsets of one partition.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PartitionStats {
    pub topic: String,
    pub partition: u32,
    pub log_start_offset: i64,
    pub log_end_offset: i64,
    pub size_bytes: u64,
    pub segments: u32,
    pub producers: u32,
}

/// `stats()`: every partition, the offsets topic, and totals.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BufferStats {
    pub partitions: Vec<PartitionStats>,
    pub consumer_offsets_bytes: u64,
    pub consumer_groups: u32,
    pub total_bytes: u64,
    pub records: i64,
}

/// What a retention pass removed.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct RetentionReport {
    pub deleted_segments: u32,
    pub deleted_bytes: u64,
    pub compacted_partitions: u32,
}

/// Records of one batch, each with its index in the append.
type Batch = Vec<(usize, NewRecord)>;

struct BufferPartition {
    log: PartitionLog,
    producers: ProducerStateTable,
}

/// The buffer. See the module documentation.
pub struct LogBuffer {
    meta: Metadata,
    meta_dirty: bool,
    partitions: BTreeMap<TopicPartition, BufferPartition>,
    offsets_log: PartitionLog,
    committed: BTreeMap<(String, TopicPartition), CommittedOffset>,
    /// Counts appends without key or partition: each one goes to the next partition (a
    /// deterministic stand-in for the sticky partitioner's "new batch, new partition").
    sticky: u64,
}

fn offsets_config() -> LogConfig {
    LogConfig {
        cleanup_policy: CleanupPolicy::Compact,
        segment_bytes: OFFSETS_TOPIC_SEGMENT_BYTES,
        ..LogConfig::default()
    }
}

fn tp(topic: &str, partition: u32) -> TopicPartition {
    TopicPartition {
        topic: topic.to_owned(),
        partition: PartitionIndex(partition),
    }
}

/// Recovers a partition from its files, or creates it empty; the high watermark is the log
/// end offset (a single replica).
fn open_log(
    topic_partition: TopicPartition,
    config: LogConfig,
    files: &BTreeMap<String, Vec<(FileName, Vec<u8>)>>,
    now_ms: i64,
) -> Result<(PartitionLog, Option<RecoveryReport>), BufferError> {
    let dir = topic_partition.to_string();
    match files.get(&dir) {
        Some(found) if found.iter().any(|(f, _)| f.base_name().ends_with(".log")) => {
            let (mut log, report) =
                PartitionLog::recover(topic_partition, config, found.clone(), now_ms)?;
            let (start, end) = (log.log_start_offset(), log.log_end_offset());
            log.restore_offsets(start, end)?;
            Ok((log, Some(report)))
        }
        _ => Ok((PartitionLog::new(topic_partition, config, now_ms)?, None)),
    }
}

impl LogBuffer {
    /// Opens a buffer from the files its storage holds (`files`: every file, any order),
    /// declaring `topics` (new ones are created, configs replaced, partitions added). Recovery
    /// notes say what was cut from torn tails.
    pub fn open(
        topics: &BTreeMap<String, TopicSpec>,
        files: Vec<(FileName, Vec<u8>)>,
        now_ms: i64,
    ) -> Result<(LogBuffer, Vec<RecoveryNote>), BufferError> {
        let mut by_dir: BTreeMap<String, Vec<(FileName, Vec<u8>)>> = BTreeMap::new();
        let mut meta = None;
        for (file, bytes) in files {
            if file.as_str() == METADATA_FILE {
                meta = Some(Metadata::parse(&bytes)?);
            } else {
                by_dir
                    .entry(file.dir().to_owned())
                    .or_default()
                    .push((file, bytes));
            }
        }
        let meta_dirty = meta.is_none();
        let mut meta = meta.unwrap_or_default();
        let changed = meta.declare(topics)?;
        let mut buffer = LogBuffer {
            partitions: BTreeMap::new(),
            offsets_log: PartitionLog::new(tp(OFFSETS_TOPIC, 0), offsets_config(), now_ms)?,
            committed: BTreeMap::new(),
            sticky: 0,
            meta_dirty: meta_dirty || changed,
            meta,
        };
        let mut notes = Vec::new();
        let topics: Vec<(String, TopicSpec)> = buffer
            .meta
            .topics
            .iter()
            .map(|(n, s)| (n.clone(), s.clone()))
            .collect();
        for (name, spec) in topics {
            let config = spec.log_config(&name)?;
            for p in 0..spec.partitions {
                let (log, report) = open_log(tp(&name, p), config.clone(), &by_dir, now_ms)?;
                if let Some(report) = report {
                    notes.push(RecoveryNote {
                        topic: name.clone(),
                        partition: p,
                        torn_tail_bytes: report.torn_tail_bytes,
                        discarded_bytes: report.discarded_bytes,
                        log_end_offset: log.log_end_offset().0,
                        notes: report.notes(),
                    });
                }
                let mut producers = ProducerStateTable::new();
                producers.rebuild_from_log(log.batch_headers().iter());
                buffer
                    .partitions
                    .insert(tp(&name, p), BufferPartition { log, producers });
            }
        }
        let (offsets_log, _) = open_log(tp(OFFSETS_TOPIC, 0), offsets_config(), &by_dir, now_ms)?;
        buffer.offsets_log = offsets_log;
        buffer.load_committed();
        Ok((buffer, notes))
    }

    /// Replays `__consumer_offsets`: the last record per key wins, a tombstone removes it.
    fn load_committed(&mut self) {
        let end = self.offsets_log.log_end_offset();
        let start = self.offsets_log.log_start_offset();
        let mut committed = BTreeMap::new();
        self.offsets_log.visit_batches(start, end, |batch| {
            for record in &batch.records {
                let Some(key) = record.key.as_deref() else {
                    continue;
                };
                if let Ok(OffsetsTopicRecord::OffsetCommit { key, value }) =
                    decode_offsets_topic_record(key, record.value.as_deref())
                {
                    let id = (key.group_id, key.topic_partition);
                    match value {
                        Some((offset, timestamp)) => drop(committed.insert(
                            id,
                            CommittedOffset {
                                offset: offset.committed_offset.0,
                                metadata: offset.metadata,
                                commit_timestamp_ms: timestamp,
                            },
                        )),
                        None => drop(committed.remove(&id)),
                    }
                }
            }
            true
        });
        self.committed = committed;
    }

    /// The topics, with their partition counts and config overrides.
    pub fn topics(&self) -> &BTreeMap<String, TopicSpec> {
        &self.meta.topics
    }

    fn spec(&self, topic: &str) -> Result<&TopicSpec, BufferError> {
        self.meta.topics.get(topic).ok_or_else(|| {
            let known: Vec<&str> = self.meta.topics.keys().map(String::as_str).collect();
            BufferError::new(
                ErrorCode::UnknownTopicOrPartition,
                format!(
                    "unknown topic {topic:?}; this buffer has {}",
                    if known.is_empty() {
                        "no topics (declare them in open's options.topics)".to_owned()
                    } else {
                        known.join(", ")
                    }
                ),
            )
        })
    }

    fn partition(&self, topic: &str, partition: u32) -> Result<&BufferPartition, BufferError> {
        let count = self.spec(topic)?.partitions;
        self.partitions.get(&tp(topic, partition)).ok_or_else(|| {
            BufferError::new(
                ErrorCode::UnknownTopicOrPartition,
                format!(
                    "topic {topic:?} has partitions 0..{count}; there is no partition {partition}"
                ),
            )
        })
    }

    fn partition_mut(
        &mut self,
        topic: &str,
        partition: u32,
    ) -> Result<&mut BufferPartition, BufferError> {
        self.partition(topic, partition)?;
        self.partitions
            .get_mut(&tp(topic, partition))
            .ok_or_else(|| BufferError::invalid_request("unreachable: partition vanished"))
    }

    /// Replaces topic configs (Kafka's `kafka-configs --alter`; `None` removes an override),
    /// all or none: every value is validated before any applies. Tighten `retention.bytes` or
    /// `retention.ms` and run `enforce_retention` to make room.
    pub fn set_topic_configs(
        &mut self,
        topic: &str,
        changes: &[(String, Option<String>)],
    ) -> Result<(), BufferError> {
        let mut spec = self.spec(topic)?.clone();
        for (key, value) in changes {
            match value {
                Some(v) => drop(spec.configs.insert(key.clone(), v.clone())),
                None => drop(spec.configs.remove(key)),
            }
        }
        let config = spec.log_config(topic)?;
        for p in 0..spec.partitions {
            self.partition_mut(topic, p)?
                .log
                .set_config(config.clone())?;
        }
        self.meta.topics.insert(topic.to_owned(), spec);
        self.meta_dirty = true;
        Ok(())
    }

    /// One config change: `set_topic_configs` with one entry.
    pub fn set_topic_config(
        &mut self,
        topic: &str,
        key: &str,
        value: Option<&str>,
    ) -> Result<(), BufferError> {
        self.set_topic_configs(topic, &[(key.to_owned(), value.map(str::to_owned))])
    }

    /// A producer id for idempotent appends. A name always gets the same id (across reopens),
    /// so an app can retry its appends after a crash with the same id and sequences and the
    /// buffer drops the duplicates; no name gives a fresh id.
    pub fn init_producer_id(&mut self, name: Option<&str>) -> Result<(i64, i16), BufferError> {
        if let Some(name) = name {
            if name.is_empty()
                || name.chars().count() as u32 > limits::BUFFER_PRODUCER_NAME_CHARS_MAX
            {
                return Err(BufferError::invalid_request(format!(
                    "a producer name has 1 to {} characters",
                    limits::BUFFER_PRODUCER_NAME_CHARS_MAX
                )));
            }
            if let Some(&id) = self.meta.producers.get(name) {
                return Ok((id, 0));
            }
        }
        let id = self.meta.next_producer_id;
        self.meta.next_producer_id += 1;
        if let Some(name) = name {
            self.meta.producers.insert(name.to_owned(), id);
        }
        self.meta_dirty = true;
        Ok((id, 0))
    }

    /// The partition each record goes to: explicit, by murmur2 of the key, or sticky.
    fn route(&mut self, topic: &str, records: &[AppendRecord]) -> Result<Vec<u32>, BufferError> {
        let count = self.spec(topic)?.partitions;
        let sticky = (self.sticky % u64::from(count)) as u32;
        let mut used_sticky = false;
        let mut out = Vec::with_capacity(records.len());
        for (i, r) in records.iter().enumerate() {
            let p = match (r.partition, &r.key) {
                (Some(p), _) if p >= count => {
                    return Err(BufferError::new(
                        ErrorCode::UnknownTopicOrPartition,
                        format!(
                            "record {i}: topic {topic:?} has partitions 0..{count}; there is no \
                             partition {p}"
                        ),
                    ))
                }
                (Some(p), _) => p,
                (None, Some(key)) => partition_for_key(key, count).0,
                (None, None) => {
                    used_sticky = true;
                    sticky
                }
            };
            out.push(p);
        }
        if used_sticky {
            self.sticky += 1;
        }
        Ok(out)
    }

    /// Appends records to a topic: one batch per partition (split at `max.message.bytes`),
    /// all or nothing for bad input. With `producer`, every record must go to one partition
    /// (sequences are per partition, as in Kafka) and a retry of batches still in the
    /// producer's last five is answered with the original offsets instead of a second copy.
    pub fn append(
        &mut self,
        topic: &str,
        records: Vec<AppendRecord>,
        producer: Option<IdempotentProducer>,
        now_ms: i64,
    ) -> Result<AppendResult, BufferError> {
        if records.is_empty() {
            return Err(BufferError::invalid_request(
                "append needs at least one record",
            ));
        }
        let routes = self.route(topic, &records)?;
        let count = records.len();
        let mut groups: BTreeMap<u32, Vec<(usize, NewRecord)>> = BTreeMap::new();
        for (i, (r, &p)) in records.into_iter().zip(&routes).enumerate() {
            groups
                .entry(p)
                .or_default()
                .push((i, new_record(i, r, now_ms)?));
        }
        if let Some(producer) = producer {
            if groups.len() > 1 {
                return Err(BufferError::invalid_request(format!(
                    "an idempotent append goes to one partition (Kafka's sequence numbers are per \
                     partition); these records go to partitions {}: split them by partition",
                    groups
                        .keys()
                        .map(u32::to_string)
                        .collect::<Vec<_>>()
                        .join(", ")
                )));
            }
            if producer.producer_id < 0 || producer.producer_id >= self.meta.next_producer_id {
                return Err(BufferError::new(
                    ErrorCode::UnknownProducerId,
                    format!(
                        "producer id {} was not issued by this buffer; get one from \
                         initProducerId",
                        producer.producer_id
                    ),
                ));
            }
            if producer.producer_epoch < 0 || producer.sequence.is_some_and(|s| s < 0) {
                return Err(BufferError::invalid_request(
                    "producer epoch and sequence are whole numbers from 0",
                ));
            }
        }
        // Split every partition's records into batches first, so a too-large record refuses
        // the whole append before anything is written.
        let config = self.partition(topic, 0)?.log.config().clone();
        if config.cleanup_policy.compacts() {
            if let Some((i, _)) = groups.values().flatten().find(|(_, r)| r.key.is_none()) {
                return Err(BufferError::new(
                    ErrorCode::InvalidRecord,
                    format!(
                        "record {i} has no key; compacted topic {topic:?} requires keys (Kafka \
                         refuses a keyless record on a compacted topic)"
                    ),
                ));
            }
        }
        // The log's own limit: max.message.bytes, and never more than a segment.
        let limit = BATCH_BYTES_MAX.min(u32::try_from(config.segment_bytes).unwrap_or(0));
        let mut plans: Vec<(u32, Vec<Batch>)> = Vec::new();
        for (p, group) in groups {
            plans.push((p, split_batches(group, limit)?));
        }
        let mut result = AppendResult {
            partitions: Vec::new(),
            records: vec![(0, -1); count],
            bytes: 0,
        };
        for (p, batches) in plans {
            let part = self.partition_mut(topic, p)?;
            let mut sequence = producer.map(|pr| {
                pr.sequence.unwrap_or_else(|| {
                    part.producers
                        .entry(ProducerId(pr.producer_id))
                        .filter(|e| e.producer_epoch == ProducerEpoch(pr.producer_epoch))
                        .map_or(0, |e| match e.last_sequence() {
                            last if last < 0 => 0,
                            last => increment_sequence(last, 1),
                        })
                })
            });
            let base_sequence = sequence;
            let mut summary = PartitionAppend {
                partition: p,
                base_offset: -1,
                last_offset: -1,
                record_count: 0,
                batches: 0,
                duplicate: true,
                base_sequence,
            };
            for batch in batches {
                let count = batch.len() as i32;
                let fields = match (producer, sequence) {
                    (Some(pr), Some(seq)) => ProducerFields::idempotent(
                        ProducerId(pr.producer_id),
                        ProducerEpoch(pr.producer_epoch),
                        seq,
                    ),
                    _ => ProducerFields::NONE,
                };
                let (indexes, new): (Vec<usize>, Vec<NewRecord>) = batch.into_iter().unzip();
                let record_batch = RecordBatch::new_data_owned(new, fields);
                let info = ProducerBatchInfo {
                    producer_id: fields.producer_id,
                    producer_epoch: fields.producer_epoch,
                    first_sequence: fields.base_sequence,
                    last_sequence: if fields.base_sequence < 0 {
                        -1
                    } else {
                        increment_sequence(fields.base_sequence, count - 1)
                    },
                    first_offset: Offset(-1),
                    last_offset: Offset(-1),
                    max_timestamp_ms: record_batch.max_timestamp,
                    is_control: false,
                };
                let first = match part.producers.check_client_batch(&info) {
                    Err(code) => {
                        return Err(BufferError::new(code, sequence_error(code, &info, p)))
                    }
                    Ok(SequenceCheck::Duplicate { first_offset, .. }) => first_offset,
                    Ok(SequenceCheck::Append | SequenceCheck::NotIdempotent) => {
                        let appended =
                            part.log
                                .append_as_leader(record_batch, LeaderEpoch(0), now_ms)?;
                        let end = part.log.log_end_offset();
                        part.log.set_high_watermark(end);
                        part.producers.on_append(&ProducerBatchInfo {
                            first_offset: appended.first_offset,
                            last_offset: appended.last_offset,
                            max_timestamp_ms: appended.max_timestamp,
                            ..info
                        });
                        summary.duplicate = false;
                        result.bytes += u64::from(appended.valid_bytes);
                        appended.first_offset
                    }
                };
                for (k, i) in indexes.into_iter().enumerate() {
                    result.records[i] = (p, first.0 + k as i64);
                }
                if summary.base_offset < 0 {
                    summary.base_offset = first.0;
                }
                summary.last_offset = first.0 + i64::from(count) - 1;
                summary.record_count += count as u32;
                summary.batches += 1;
                sequence = sequence.map(|s| increment_sequence(s, count));
            }
            result.partitions.push(summary);
        }
        Ok(result)
    }

    /// Records from `offset` on, up to `max_records` and about `max_bytes` of keys, values and
    /// headers (always at least one record, like KIP-74's first batch).
    pub fn read(
        &self,
        topic: &str,
        partition: u32,
        offset: i64,
        max_records: u32,
        max_bytes: u32,
    ) -> Result<ReadResult, BufferError> {
        let log = &self.partition(topic, partition)?.log;
        let (start, end) = (log.log_start_offset(), log.log_end_offset());
        if offset < start.0 || offset > end.0 {
            return Err(BufferError::new(
                ErrorCode::OffsetOutOfRange,
                format!(
                    "offset {offset} is out of range for {topic}-{partition}: the log holds \
                     [{}, {})",
                    start.0, end.0
                ),
            ));
        }
        let mut out = ReadResult {
            records: Vec::new(),
            next_offset: offset,
            log_start_offset: start.0,
            high_watermark: log.high_watermark().0,
        };
        let mut bytes = 0u64;
        log.visit_batches(Offset(offset), end, |batch| {
            for record in &batch.records {
                let at = batch.record_offset(record).0;
                if at < offset {
                    continue;
                }
                let size = record_size(
                    record.key.as_deref(),
                    record.value.as_deref(),
                    &record.headers,
                );
                let full = out.records.len() as u32 >= max_records
                    || (!out.records.is_empty() && bytes + size > u64::from(max_bytes));
                if full {
                    return false;
                }
                bytes += size;
                out.records.push(BufferRecord {
                    offset: at,
                    timestamp_ms: batch.record_timestamp(record),
                    key: record.key.clone(),
                    value: record.value.clone(),
                    headers: record.headers.clone(),
                });
                out.next_offset = at + 1;
            }
            // A batch read to its end (compaction may have left gaps in it) moves the position
            // past it, so a reader never re-reads removed offsets.
            out.next_offset = out.next_offset.max(batch.next_offset().0);
            true
        });
        if out.records.is_empty() {
            out.next_offset = out.next_offset.max(offset);
        }
        Ok(out)
    }

    /// ListOffsets: the first offset whose record timestamp is at or after `timestamp_ms`
    /// (-2 earliest, -1 latest, -3 the largest timestamp), with that record's timestamp.
    pub fn offset_for_timestamp(
        &self,
        topic: &str,
        partition: u32,
        timestamp_ms: i64,
    ) -> Result<Option<(i64, i64)>, BufferError> {
        if timestamp_ms < -3 {
            return Err(BufferError::new(
                ErrorCode::InvalidTimestamp,
                format!(
                    "timestamp {timestamp_ms}: expected milliseconds since the epoch, or -1 \
                     (latest), -2 (earliest), -3 (largest timestamp)"
                ),
            ));
        }
        let log = &self.partition(topic, partition)?.log;
        Ok(log
            .offset_for_timestamp(timestamp_ms, log.high_watermark())
            .map(|(o, t)| (o.0, t)))
    }

    /// Offsets of the partition: (log start, high watermark = log end).
    pub fn offsets(&self, topic: &str, partition: u32) -> Result<(i64, i64), BufferError> {
        let log = &self.partition(topic, partition)?.log;
        Ok((log.log_start_offset().0, log.log_end_offset().0))
    }

    /// The idempotent producer's state in a partition: (epoch, last sequence, last offset).
    pub fn producer_state(
        &self,
        producer_id: i64,
        topic: &str,
        partition: u32,
    ) -> Result<Option<(i16, i32, i64)>, BufferError> {
        let part = self.partition(topic, partition)?;
        Ok(part.producers.entry(ProducerId(producer_id)).map(|e| {
            (
                e.producer_epoch.0,
                e.last_sequence(),
                e.last_data_offset().0,
            )
        }))
    }

    /// Stores a named consumer's position (OffsetCommit): the next offset it will read.
    pub fn commit_offset(
        &mut self,
        group: &str,
        topic: &str,
        partition: u32,
        offset: i64,
        metadata: &str,
        now_ms: i64,
    ) -> Result<(), BufferError> {
        validate_group(group)?;
        let (_, end) = self.offsets(topic, partition)?;
        if offset < 0 || offset > end {
            return Err(BufferError::new(
                ErrorCode::OffsetOutOfRange,
                format!(
                    "cannot store offset {offset} for {group:?} on {topic}-{partition}: a \
                     position is from 0 to the log end offset {end}"
                ),
            ));
        }
        if metadata.len() as u64 > u64::from(limits::OFFSET_METADATA_BYTES_MAX) {
            return Err(BufferError::new(
                ErrorCode::OffsetMetadataTooLarge,
                format!(
                    "offset metadata is {} bytes; offset.metadata.max.bytes is {}",
                    metadata.len(),
                    limits::OFFSET_METADATA_BYTES_MAX
                ),
            ));
        }
        let key = OffsetCommitKey {
            group_id: group.to_owned(),
            topic_partition: tp(topic, partition),
        };
        let value = OffsetAndMetadata {
            committed_offset: Offset(offset),
            leader_epoch: None,
            metadata: metadata.to_owned(),
        };
        let key_bytes = encode_offset_commit_key(&key).map_err(BufferError::invalid_request)?;
        let value_bytes =
            encode_offset_commit_value(&value, now_ms).map_err(BufferError::invalid_request)?;
        let record = NewRecord::new(now_ms, Some(&key_bytes), Some(&value_bytes));
        self.offsets_log.append_as_leader(
            RecordBatch::new_data(&[record], ProducerFields::NONE),
            LeaderEpoch(0),
            now_ms,
        )?;
        let end = self.offsets_log.log_end_offset();
        self.offsets_log.set_high_watermark(end);
        self.committed.insert(
            (group.to_owned(), tp(topic, partition)),
            CommittedOffset {
                offset,
                metadata: metadata.to_owned(),
                commit_timestamp_ms: now_ms,
            },
        );
        Ok(())
    }

    /// A named consumer's committed position, if it stored one.
    pub fn committed(
        &self,
        group: &str,
        topic: &str,
        partition: u32,
    ) -> Result<Option<CommittedOffset>, BufferError> {
        validate_group(group)?;
        self.partition(topic, partition)?;
        Ok(self
            .committed
            .get(&(group.to_owned(), tp(topic, partition)))
            .cloned())
    }

    /// The consumer's lag on every partition of `topic` (or of every topic).
    pub fn lag(&self, group: &str, topic: Option<&str>) -> Result<Vec<PartitionLag>, BufferError> {
        validate_group(group)?;
        if let Some(t) = topic {
            self.spec(t)?;
        }
        Ok(self
            .partitions
            .iter()
            .filter(|(k, _)| topic.is_none_or(|t| k.topic == t))
            .map(|(k, part)| {
                let current = self
                    .committed
                    .get(&(group.to_owned(), k.clone()))
                    .map(|c| c.offset);
                let (start, end) = (part.log.log_start_offset().0, part.log.log_end_offset().0);
                PartitionLag {
                    topic: k.topic.clone(),
                    partition: k.partition.0,
                    current_offset: current,
                    log_start_offset: start,
                    log_end_offset: end,
                    lag: end - current.unwrap_or(start),
                }
            })
            .collect())
    }

    /// The named consumers that stored an offset.
    pub fn groups(&self) -> Vec<String> {
        let mut groups: Vec<String> = self.committed.keys().map(|(g, _)| g.clone()).collect();
        groups.dedup();
        groups
    }

    /// One retention pass as a broker's log manager runs it: delete segments past
    /// `retention.ms` / `retention.bytes` (delete policy), compact (compact policy), forget
    /// producers whose writes are gone or idle past `producer.id.expiration.ms`.
    pub fn enforce_retention(&mut self, now_ms: i64) -> Result<RetentionReport, BufferError> {
        let mut report = RetentionReport::default();
        for part in self.partitions.values_mut() {
            let policy = part.log.config().cleanup_policy;
            if policy.deletes() {
                for deleted in part.log.apply_retention_detailed(now_ms)? {
                    report.deleted_segments += 1;
                    report.deleted_bytes += deleted.size_bytes;
                }
            }
            if policy.compacts() && part.log.compact(now_ms)?.is_some() {
                report.compacted_partitions += 1;
            }
            part.producers.truncate_head(part.log.log_start_offset());
            part.producers
                .remove_expired_producers(now_ms, PRODUCER_ID_EXPIRATION_MS_DEFAULT);
        }
        if self.offsets_log.compact(now_ms)?.is_some() {
            report.compacted_partitions += 1;
        }
        Ok(report)
    }

    pub fn stats(&self) -> BufferStats {
        let partitions: Vec<PartitionStats> = self
            .partitions
            .iter()
            .map(|(k, part)| PartitionStats {
                topic: k.topic.clone(),
                partition: k.partition.0,
                log_start_offset: part.log.log_start_offset().0,
                log_end_offset: part.log.log_end_offset().0,
                size_bytes: part.log.size_in_bytes(),
                segments: part.log.segment_views().len() as u32,
                producers: part.producers.producer_count(),
            })
            .collect();
        let consumer_offsets_bytes = self.offsets_log.size_in_bytes();
        BufferStats {
            total_bytes: partitions.iter().map(|p| p.size_bytes).sum::<u64>()
                + consumer_offsets_bytes,
            records: partitions
                .iter()
                .map(|p| p.log_end_offset - p.log_start_offset)
                .sum(),
            consumer_groups: self.groups().len() as u32,
            consumer_offsets_bytes,
            partitions,
        }
    }

    /// Every storage change since the last call, in order; the driver makes them durable with
    /// one `Sync` after them.
    pub fn take_storage_requests(&mut self) -> Result<Vec<StorageRequest>, BufferError> {
        let mut out = Vec::new();
        for part in self.partitions.values_mut() {
            out.extend(part.log.take_storage_requests());
        }
        out.extend(self.offsets_log.take_storage_requests());
        if self.meta_dirty {
            out.push(StorageRequest::Replace {
                file: FileName::new(METADATA_FILE).map_err(|e| BufferError::storage(&e))?,
                bytes: self.meta.to_bytes(),
            });
            self.meta_dirty = false;
        }
        Ok(out)
    }

    /// Marks the metadata for rewriting: after a failed flush the driver calls this so the
    /// next flush writes it again.
    pub fn mark_metadata_dirty(&mut self) {
        self.meta_dirty = true;
    }
}

fn validate_group(group: &str) -> Result<(), BufferError> {
    if group.is_empty() || group.chars().count() as u32 > limits::BUFFER_CONSUMER_NAME_CHARS_MAX {
        return Err(BufferError::new(
            ErrorCode::InvalidGroupId,
            format!(
                "a consumer name has 1 to {} characters, got {group:?}",
                limits::BUFFER_CONSUMER_NAME_CHARS_MAX
            ),
        ));
    }
    Ok(())
}

fn sequence_error(code: ErrorCode, info: &ProducerBatchInfo, partition: u32) -> String {
    match code {
        ErrorCode::OutOfOrderSequenceNumber => format!(
            "producer {} epoch {}: sequence {} on partition {partition} does not follow the \
             last one this partition has (producerState tells it); a retry must reuse the \
             sequence of its first attempt",
            info.producer_id.0, info.producer_epoch.0, info.first_sequence
        ),
        ErrorCode::InvalidProducerEpoch => format!(
            "producer {} epoch {} is older than the epoch partition {partition} has seen",
            info.producer_id.0, info.producer_epoch.0
        ),
        other => format!("refused with {}", other.name()),
    }
}

/// Bytes of a record's key, value and headers: what `maxBytes` of a read counts.
fn record_size(key: Option<&[u8]>, value: Option<&[u8]>, headers: &[RecordHeader]) -> u64 {
    let h: usize = headers
        .iter()
        .map(|h| h.key.len() + h.value.as_ref().map_or(0, Vec::len))
        .sum();
    (key.map_or(0, <[u8]>::len) + value.map_or(0, <[u8]>::len) + h) as u64
}

fn new_record(i: usize, r: AppendRecord, now_ms: i64) -> Result<NewRecord, BufferError> {
    let timestamp = r.timestamp_ms.unwrap_or(now_ms);
    if timestamp < 0 {
        return Err(BufferError::new(
            ErrorCode::InvalidTimestamp,
            format!("record {i}: timestamp {timestamp} is negative; expected milliseconds since the epoch"),
        ));
    }
    if r.headers.len() as u32 > limits::RECORD_HEADERS_MAX {
        return Err(BufferError::new(
            ErrorCode::InvalidRecord,
            format!(
                "record {i} has {} headers; the limit is {}",
                r.headers.len(),
                limits::RECORD_HEADERS_MAX
            ),
        ));
    }
    Ok(NewRecord {
        timestamp_ms: timestamp,
        key: r.key,
        value: r.value,
        headers: r.headers,
    })
}

/// Splits a partition's records into batches no larger than `max.message.bytes` and the
/// record limit. A record too large for a batch of its own refuses the append.
fn split_batches(records: Batch, limit: u32) -> Result<Vec<Batch>, BufferError> {
    // A record's size in a batch differs from its size alone only by its varint deltas: 15
    // bytes covers the largest offset and timestamp deltas.
    const DELTA_SLACK: u64 = 15;
    const HEADER: u64 = 61;
    let mut batches = Vec::new();
    let mut current: Vec<(usize, NewRecord)> = Vec::new();
    let mut current_bytes = HEADER;
    for (i, record) in records {
        let alone = HEADER + u64::from(record.size_in_bytes_alone());
        if alone > u64::from(limit) {
            return Err(BufferError::new(
                ErrorCode::MessageTooLarge,
                format!(
                    "record {i} needs a {alone}-byte batch; this topic's limit is {limit} bytes \
                     (max.message.bytes {BATCH_BYTES_MAX}, and no more than segment.bytes)"
                ),
            ));
        }
        let size = alone - HEADER + DELTA_SLACK;
        let full = current.len() as u32 >= limits::BATCH_RECORDS_MAX
            || current_bytes + size > u64::from(limit);
        if full && !current.is_empty() {
            batches.push(std::mem::take(&mut current));
            current_bytes = HEADER;
        }
        current_bytes += size;
        current.push((i, record));
    }
    if !current.is_empty() {
        batches.push(current);
    }
    Ok(batches)
}
