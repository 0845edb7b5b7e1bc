//! The log of one topic-partition: an ordered run of segments, the last one active, and the
//! offsets that bound what exists and what may be read (INV-1:
//! `log_start_offset <= high_watermark <= log_end_offset`, asserted after every mutation).
//!
//! Sans-IO: the log holds its bytes in memory (the page cache) and never does IO. Every change
//! it makes to files is pushed as a `StorageRequest` into an outbox the caller drains with
//! `take_storage_requests`, so the same log runs over memory, files and IndexedDB. Retention,
//! compaction and recovery live in their own files and extend this type.

use super::batch::{
    decode_batch, set_base_offset, set_partition_leader_epoch, BatchError, BatchHeader, Record,
    RecordBatch, TimestampType, NO_TIMESTAMP,
};
use super::config::{ConfigError, LogConfig, MessageTimestampType};
use super::segment::LogSegment;
use crate::ids::{validate_topic_name, LeaderEpoch, Offset, TopicPartition};
use crate::limits;
use crate::storage::{FileName, StorageError, StorageRequest};
use std::fmt;

/// ListOffsets' special timestamp for the log start offset.
pub const EARLIEST_TIMESTAMP: i64 = -2;
/// ListOffsets' special timestamp for the last fetchable offset (HW or LSO).
pub const LATEST_TIMESTAMP: i64 = -1;
/// ListOffsets' special timestamp for the record with the largest timestamp (KIP-734).
pub const MAX_TIMESTAMP: i64 = -3;

/// Operating failures of a log, with messages that name the offending value.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum LogError {
    OffsetOutOfRange {
        requested: Offset,
        log_start: Offset,
        log_end: Offset,
    },
    /// Bytes that are not a valid batch (Kafka's `CorruptRecordException`).
    CorruptBatch(BatchError),
    /// A well-formed batch the log refuses (Kafka's `InvalidRecordException`).
    InvalidRecord(String),
    RecordBatchTooLarge {
        size: u32,
        limit: u32,
    },
    /// A follower was handed a batch below its log end offset.
    UnexpectedAppendOffset {
        first_offset: Offset,
        log_end: Offset,
    },
    InvalidConfig(ConfigError),
    InvalidTopic(String),
    Storage(StorageError),
}

impl fmt::Display for LogError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            LogError::OffsetOutOfRange {
                requested,
                log_start,
                log_end,
            } => write!(
                f,
                "offset {requested} is out of range: the log holds [{log_start}, {log_end})"
            ),
            LogError::CorruptBatch(e) => write!(f, "corrupt record batch: {e}"),
            LogError::InvalidRecord(m) => write!(f, "invalid record: {m}"),
            LogError::RecordBatchTooLarge { size, limit } => {
                write!(
                    f,
                    "record batch of {size} bytes exceeds the {limit}-byte limit"
                )
            }
            LogError::UnexpectedAppendOffset {
                first_offset,
                log_end,
            } => write!(
                f,
                "follower append starts at offset {first_offset}, below the log end offset \
                 {log_end}"
            ),
            LogError::InvalidConfig(e) => write!(f, "{e}"),
            LogError::InvalidTopic(m) => write!(f, "{m}"),
            LogError::Storage(e) => write!(f, "{e}"),
        }
    }
}

impl std::error::Error for LogError {}

impl From<BatchError> for LogError {
    fn from(e: BatchError) -> Self {
        LogError::CorruptBatch(e)
    }
}

impl From<StorageError> for LogError {
    fn from(e: StorageError) -> Self {
        LogError::Storage(e)
    }
}

/// What an append did (Kafka's `LogAppendInfo`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AppendInfo {
    pub first_offset: Offset,
    pub last_offset: Offset,
    pub max_timestamp: i64,
    /// The broker time written into LogAppendTime batches, if the topic uses it.
    pub log_append_time_ms: Option<i64>,
    pub log_start_offset: Offset,
    pub records_count: u32,
    pub batches_count: u32,
    pub valid_bytes: u32,
    /// Whether the append rolled a new segment first.
    pub rolled: bool,
}

/// The answer to a fetch: whole batches from one segment (L-2, KIP-74).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Fetched {
    /// Concatenated batches; the first may start before the fetch offset.
    pub bytes: Vec<u8>,
    pub batches_count: u32,
    pub log_start_offset: Offset,
    pub high_watermark: Offset,
    pub log_end_offset: Offset,
}

/// A segment as a UI shows it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SegmentView {
    pub base_offset: Offset,
    /// The next segment's base offset, or the log end offset for the active segment.
    pub next_offset: Offset,
    pub size_bytes: u64,
    pub offset_index_entries: u32,
    pub time_index_entries: u32,
    /// Largest record timestamp, -1 if none.
    pub max_timestamp: i64,
    pub is_active: bool,
}

/// A record as a UI shows it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RecordView {
    pub offset: Offset,
    pub timestamp: i64,
    pub key: Option<Vec<u8>>,
    pub value: Option<Vec<u8>>,
    pub headers_count: u32,
    pub partition_leader_epoch: i32,
    pub producer_id: i64,
    pub is_transactional: bool,
    pub is_control: bool,
}

/// One batch as a UI draws it (see `PartitionLog::batch_spans`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct BatchSpan {
    pub base_offset: Offset,
    pub last_offset: Offset,
    pub producer_id: i64,
    pub is_transactional: bool,
    pub is_control: bool,
    pub marker: Option<super::control::ControlRecordType>,
}

#[derive(Clone, Debug)]
pub struct PartitionLog {
    pub(super) topic_partition: TopicPartition,
    pub(super) config: LogConfig,
    /// Ordered by base offset; never empty; the last one is active.
    pub(super) segments: Vec<LogSegment>,
    pub(super) log_start_offset: Offset,
    pub(super) log_end_offset: Offset,
    pub(super) high_watermark: Offset,
    /// The cleaner's checkpoint: offsets below it were compacted already.
    pub(super) first_dirty_offset: Offset,
    /// The earliest delete horizon of a tombstone still in the log, if any.
    pub(super) next_delete_horizon_ms: Option<i64>,
    pub(super) storage_requests: Vec<StorageRequest>,
    /// How far the hosting broker's wall clock is off the true time (a clock-skew fault). The
    /// log's callers pass the true time; every time the log keeps or compares (segment creation
    /// times, LogAppendTime, `retention.ms`, the cleaner's lags) is read on the broker's wall
    /// clock, `now_ms + wall_clock_skew_ms`. (`segment.ms` rolls go by record timestamps.)
    pub(super) wall_clock_skew_ms: i64,
}

impl PartitionLog {
    /// An empty log starting at offset 0, with its first (empty) segment file created.
    pub fn new(
        topic_partition: TopicPartition,
        config: LogConfig,
        now_ms: i64,
    ) -> Result<PartitionLog, LogError> {
        let mut log = PartitionLog::empty(topic_partition, config, Offset::ZERO, now_ms)?;
        log.create_segment_file(Offset::ZERO)?;
        Ok(log)
    }

    pub(super) fn empty(
        topic_partition: TopicPartition,
        config: LogConfig,
        start: Offset,
        now_ms: i64,
    ) -> Result<PartitionLog, LogError> {
        validate_topic_name(&topic_partition.topic).map_err(LogError::InvalidTopic)?;
        config.validate().map_err(LogError::InvalidConfig)?;
        let segments = vec![LogSegment::new(start, &config, now_ms)];
        Ok(PartitionLog {
            topic_partition,
            config,
            segments,
            log_start_offset: start,
            log_end_offset: start,
            high_watermark: start,
            first_dirty_offset: start,
            next_delete_horizon_ms: None,
            storage_requests: Vec::new(),
            wall_clock_skew_ms: 0,
        })
    }

    /// Sets the hosting broker's clock skew; later calls read their times on that clock.
    pub fn set_wall_clock_skew_ms(&mut self, skew_ms: i64) {
        self.wall_clock_skew_ms = skew_ms;
    }

    pub fn wall_clock_skew_ms(&self) -> i64 {
        self.wall_clock_skew_ms
    }

    /// The broker's wall-clock reading when the true time is `now_ms`.
    pub(super) fn wall_ms(&self, now_ms: i64) -> i64 {
        now_ms.saturating_add(self.wall_clock_skew_ms)
    }

    pub fn topic_partition(&self) -> &TopicPartition {
        &self.topic_partition
    }

    pub fn config(&self) -> &LogConfig {
        &self.config
    }

    pub fn log_start_offset(&self) -> Offset {
        self.log_start_offset
    }

    pub fn log_end_offset(&self) -> Offset {
        self.log_end_offset
    }

    pub fn high_watermark(&self) -> Offset {
        self.high_watermark
    }

    /// Total bytes of all segments.
    pub fn size_in_bytes(&self) -> u64 {
        self.segments.iter().map(LogSegment::size_in_bytes).sum()
    }

    /// The requests that make storage match the log, in the order they must run.
    pub fn take_storage_requests(&mut self) -> Vec<StorageRequest> {
        std::mem::take(&mut self.storage_requests)
    }

    /// The file of a segment: `topic-0/00000000000000000042.log` (`ext` without the dot).
    pub fn segment_file_name(&self, base_offset: Offset, ext: &str) -> Result<FileName, LogError> {
        Ok(FileName::new(format!(
            "{}/{:020}.{ext}",
            self.topic_partition, base_offset.0
        ))?)
    }

    pub(super) fn active(&self) -> &LogSegment {
        // `segments` is never empty: every path that removes segments adds one first.
        &self.segments[self.segments.len() - 1]
    }

    /// The base offset of the segment after `index`, or the log end offset.
    pub(super) fn upper_bound(&self, index: usize) -> Offset {
        self.segments
            .get(index + 1)
            .map_or(self.log_end_offset, LogSegment::base_offset)
    }

    /// INV-1, checked after every mutation, in release builds too.
    pub(super) fn assert_offsets(&self) {
        assert!(
            self.log_start_offset <= self.high_watermark
                && self.high_watermark <= self.log_end_offset,
            "INV-1 violated on {}: log start {} <= HW {} <= LEO {}",
            self.topic_partition,
            self.log_start_offset,
            self.high_watermark,
            self.log_end_offset
        );
        assert!(
            !self.segments.is_empty(),
            "{} lost its active segment",
            self.topic_partition
        );
    }

    // ---- appends ------------------------------------------------------------------------

    /// Appends a producer's batch as the leader: assigns `baseOffset = LEO` (INV-4), stamps
    /// `leader_epoch`, validates like Kafka's `LogValidator`, and rolls first if L-3 says so.
    pub fn append_as_leader(
        &mut self,
        batch: RecordBatch,
        leader_epoch: LeaderEpoch,
        now_ms: i64,
    ) -> Result<AppendInfo, LogError> {
        let wall_ms = self.wall_ms(now_ms);
        self.append_as_leader_at(batch, leader_epoch, wall_ms)
    }

    /// `append_as_leader` with the time already on the broker's wall clock.
    fn append_as_leader_at(
        &mut self,
        mut batch: RecordBatch,
        leader_epoch: LeaderEpoch,
        now_ms: i64,
    ) -> Result<AppendInfo, LogError> {
        self.validate_leader_batch(&batch)?;
        batch.base_offset = self.log_end_offset;
        batch.partition_leader_epoch = leader_epoch.0;
        let log_append_time_ms = match self.config.message_timestamp_type {
            MessageTimestampType::LogAppendTime => {
                batch.attributes.timestamp_type = TimestampType::LogAppendTime;
                batch.max_timestamp = now_ms;
                Some(now_ms)
            }
            MessageTimestampType::CreateTime => {
                batch.attributes.timestamp_type = TimestampType::CreateTime;
                // Like Kafka, the broker trusts records, not the producer's header field.
                batch.max_timestamp = batch
                    .records
                    .iter()
                    .map(|r| batch.record_timestamp(r))
                    .max()
                    .unwrap_or(NO_TIMESTAMP);
                None
            }
        };
        let bytes = batch.encode();
        let header = BatchHeader::parse(&bytes)?;
        let rolled = self.append_validated(&header, &bytes, now_ms)?;
        self.assert_offsets();
        Ok(AppendInfo {
            first_offset: header.base_offset,
            last_offset: header.last_offset(),
            max_timestamp: header.max_timestamp,
            log_append_time_ms,
            log_start_offset: self.log_start_offset,
            records_count: batch.records.len() as u32,
            batches_count: 1,
            valid_bytes: header.size_in_bytes(),
            rolled,
        })
    }

    /// Decodes a produce request's records (exactly one v2 batch) and appends it as leader.
    pub fn append_bytes_as_leader(
        &mut self,
        bytes: &[u8],
        leader_epoch: LeaderEpoch,
        now_ms: i64,
    ) -> Result<AppendInfo, LogError> {
        let now_ms = self.wall_ms(now_ms);
        let (batch, used) = decode_batch(bytes)?;
        if batch.attributes.is_control {
            return Err(LogError::InvalidRecord(
                "control batches are written by coordinators, not accepted in a produce request"
                    .into(),
            ));
        }
        if used != bytes.len() {
            return Err(LogError::InvalidRecord(format!(
                "produce records must hold exactly one batch; {} bytes follow the first",
                bytes.len() - used
            )));
        }
        self.validate_leader_batch(&batch)?;
        let computed_max = batch
            .records
            .iter()
            .map(|r| batch.record_timestamp(r))
            .max()
            .unwrap_or(NO_TIMESTAMP);
        let in_place = self.config.message_timestamp_type == MessageTimestampType::CreateTime
            && batch.attributes.timestamp_type == TimestampType::CreateTime
            && batch.max_timestamp == computed_max;
        if !in_place {
            // The header needs rewriting (LogAppendTime, or a wrong maxTimestamp): re-encode.
            return self.append_as_leader_at(batch, leader_epoch, now_ms);
        }
        // Kafka's in-place path for uncompressed v2 batches: assign the base offset and stamp
        // the leader epoch in the header, neither of which the CRC covers; no re-encoding.
        let mut stamped = bytes.to_vec();
        set_base_offset(&mut stamped, self.log_end_offset)?;
        set_partition_leader_epoch(&mut stamped, leader_epoch.0)?;
        let header = BatchHeader::parse(&stamped)?;
        let rolled = self.append_validated(&header, &stamped, now_ms)?;
        self.assert_offsets();
        Ok(AppendInfo {
            first_offset: header.base_offset,
            last_offset: header.last_offset(),
            max_timestamp: header.max_timestamp,
            log_append_time_ms: None,
            log_start_offset: self.log_start_offset,
            records_count: batch.records.len() as u32,
            batches_count: 1,
            valid_bytes: header.size_in_bytes(),
            rolled,
        })
    }

    fn validate_leader_batch(&self, batch: &RecordBatch) -> Result<(), LogError> {
        let count = batch.records.len();
        if count == 0 {
            return Err(LogError::InvalidRecord(
                "a produced batch must hold records".into(),
            ));
        }
        if i64::from(batch.last_offset_delta) + 1 != count as i64 {
            return Err(LogError::InvalidRecord(format!(
                "lastOffsetDelta {} does not match {count} records",
                batch.last_offset_delta
            )));
        }
        if let Some((i, r)) = batch
            .records
            .iter()
            .enumerate()
            .find(|(i, r)| r.offset_delta as i64 != *i as i64)
        {
            return Err(LogError::InvalidRecord(format!(
                "record {i} has offsetDelta {}; a produced batch counts from 0 without gaps",
                r.offset_delta
            )));
        }
        // A marker carries its producer's id with no sequence (Kafka skips sequence checks for
        // control batches), and so does a coordinator's write to an internal topic (a
        // TxnOffsetCommit in `__consumer_offsets`: Kafka's COORDINATOR origin).
        let internal = self.topic_partition.topic.starts_with("__");
        if batch.producer_id >= 0
            && batch.base_sequence < 0
            && !batch.attributes.is_control
            && !internal
        {
            return Err(LogError::InvalidRecord(format!(
                "producer {} sent baseSequence {}",
                batch.producer_id, batch.base_sequence
            )));
        }
        if batch.attributes.is_control && !batch.attributes.is_transactional {
            return Err(LogError::InvalidRecord(
                "a control batch must be transactional (an end-transaction marker)".into(),
            ));
        }
        if batch.attributes.is_control {
            batch
                .control_marker()
                .map_err(|e| LogError::InvalidRecord(e.to_string()))?;
        } else if self.config.cleanup_policy.compacts() {
            if let Some(i) = batch.records.iter().position(|r| r.key.is_none()) {
                return Err(LogError::InvalidRecord(format!(
                    "record {i} has no key; compacted topic {} requires keys",
                    self.topic_partition.topic
                )));
            }
        }
        self.check_size(batch.size_in_bytes())
    }

    fn check_size(&self, size: u32) -> Result<(), LogError> {
        let limit = limits::BATCH_BYTES_MAX.min(self.config.segment_bytes.max(0) as u32);
        if size > limit {
            return Err(LogError::RecordBatchTooLarge { size, limit });
        }
        Ok(())
    }

    /// Appends batches fetched from the leader, keeping their offsets and epochs. Everything is
    /// validated before anything is appended, so a bad response changes nothing.
    pub fn append_as_follower(
        &mut self,
        bytes: &[u8],
        now_ms: i64,
    ) -> Result<AppendInfo, LogError> {
        let now_ms = self.wall_ms(now_ms);
        let mut headers = Vec::new();
        let mut expected = self.log_end_offset;
        let mut at = 0usize;
        let mut records_count = 0u32;
        while at < bytes.len() {
            let (batch, used) = decode_batch(&bytes[at..])?;
            let header = BatchHeader::parse(&bytes[at..])?;
            if header.base_offset < expected {
                return Err(LogError::UnexpectedAppendOffset {
                    first_offset: header.base_offset,
                    log_end: expected,
                });
            }
            if header.last_offset_delta < 0 {
                return Err(LogError::InvalidRecord(format!(
                    "batch at offset {} has negative lastOffsetDelta {}",
                    header.base_offset, header.last_offset_delta
                )));
            }
            self.check_size(header.size_in_bytes())?;
            records_count += batch.records.len() as u32;
            expected = header.next_offset();
            headers.push((at, used, header));
            at += used;
        }
        let mut rolled = false;
        for &(start, used, header) in &headers {
            rolled |= self.append_validated(&header, &bytes[start..start + used], now_ms)?;
        }
        self.assert_offsets();
        let first = headers.first().map(|h| h.2);
        let last = headers.last().map(|h| h.2);
        Ok(AppendInfo {
            first_offset: first.map_or(self.log_end_offset, |h| h.base_offset),
            last_offset: last.map_or(self.log_end_offset.plus(-1), |h| h.last_offset()),
            max_timestamp: headers
                .iter()
                .map(|h| h.2.max_timestamp)
                .max()
                .unwrap_or(NO_TIMESTAMP),
            log_append_time_ms: None,
            log_start_offset: self.log_start_offset,
            records_count,
            batches_count: headers.len() as u32,
            valid_bytes: at as u32,
            rolled,
        })
    }

    /// Rolls if needed, appends to the active segment, and queues the storage append.
    fn append_validated(
        &mut self,
        header: &BatchHeader,
        bytes: &[u8],
        now_ms: i64,
    ) -> Result<bool, LogError> {
        let rolled = if self.active().should_roll(header, &self.config, now_ms) {
            // Kafka: the new segment starts at max(first offset of the batch, LEO).
            self.roll(header.base_offset.max(self.log_end_offset), now_ms)?;
            true
        } else {
            false
        };
        let base = self.active().base_offset();
        let file = self.segment_file_name(base, "log")?;
        let config = self.config.clone();
        let last = self.segments.len() - 1;
        self.segments[last].append(header, bytes, &config, now_ms);
        self.log_end_offset = header.next_offset();
        self.storage_requests.push(StorageRequest::Append {
            file,
            bytes: bytes.to_vec(),
        });
        Ok(rolled)
    }

    /// Rolls a new active segment at the log end offset now, whatever L-3 says (Kafka's
    /// `UnifiedLog.roll`, used by tests and operators). An empty active segment stays.
    pub fn force_roll(&mut self, now_ms: i64) -> Result<(), LogError> {
        self.roll(self.log_end_offset, self.wall_ms(now_ms))?;
        self.assert_offsets();
        Ok(())
    }

    /// Seals the active segment (its indexes go to storage) and starts a new one at `base`.
    pub(super) fn roll(&mut self, base: Offset, now_ms: i64) -> Result<(), LogError> {
        if self.active().is_empty() && self.active().base_offset() == base {
            return Ok(());
        }
        let last = self.segments.len() - 1;
        self.segments[last].seal();
        self.write_indexes(last)?;
        self.segments
            .push(LogSegment::new(base, &self.config, now_ms));
        self.create_segment_file(base)
    }

    pub(super) fn create_segment_file(&mut self, base: Offset) -> Result<(), LogError> {
        let file = self.segment_file_name(base, "log")?;
        self.storage_requests.push(StorageRequest::Append {
            file,
            bytes: Vec::new(),
        });
        Ok(())
    }

    /// Queues the `.index` and `.timeindex` files of a segment.
    pub(super) fn write_indexes(&mut self, index: usize) -> Result<(), LogError> {
        let segment = &self.segments[index];
        let base = segment.base_offset();
        let offset_index = segment.offset_index().to_bytes();
        let time_index = segment.time_index().to_bytes();
        let file = self.segment_file_name(base, "index")?;
        self.storage_requests.push(StorageRequest::Replace {
            file,
            bytes: offset_index,
        });
        let file = self.segment_file_name(base, "timeindex")?;
        self.storage_requests.push(StorageRequest::Replace {
            file,
            bytes: time_index,
        });
        Ok(())
    }

    /// Queues the deletion of a segment's three files.
    pub(super) fn delete_segment_files(&mut self, base: Offset) -> Result<(), LogError> {
        for ext in ["log", "index", "timeindex"] {
            let file = self.segment_file_name(base, ext)?;
            self.storage_requests.push(StorageRequest::Delete { file });
        }
        Ok(())
    }

    // ---- high watermark -----------------------------------------------------------------

    /// The leader's HW moves only forward (Kafka's `maybeIncrementHighWatermark`), clamped to
    /// `[log_start_offset, log_end_offset]`. Returns the HW now in force.
    pub fn set_high_watermark(&mut self, offset: Offset) -> Offset {
        let clamped = offset.clamp(self.log_start_offset, self.log_end_offset);
        if clamped > self.high_watermark {
            self.high_watermark = clamped;
        }
        self.assert_offsets();
        self.high_watermark
    }

    /// A follower's HW follows the leader's, clamped, and may move back after a leader
    /// change (Kafka's `updateHighWatermark`).
    pub fn update_high_watermark(&mut self, offset: Offset) -> Offset {
        self.high_watermark = offset.clamp(self.log_start_offset, self.log_end_offset);
        self.assert_offsets();
        self.high_watermark
    }

    // ---- reads --------------------------------------------------------------------------

    /// Whole batches from the one segment holding `offset`, up to `max_bytes` except that the
    /// first batch is returned even if larger (KIP-74), and only batches entirely below
    /// `upper_bound` (exclusive: the HW for consumers, the LEO for followers).
    pub fn fetch(
        &self,
        offset: Offset,
        max_bytes: u32,
        upper_bound: Offset,
    ) -> Result<Fetched, LogError> {
        if offset < self.log_start_offset || offset > self.log_end_offset {
            return Err(LogError::OffsetOutOfRange {
                requested: offset,
                log_start: self.log_start_offset,
                log_end: self.log_end_offset,
            });
        }
        let upper = upper_bound.min(self.log_end_offset);
        let mut fetched = Fetched {
            bytes: Vec::new(),
            batches_count: 0,
            log_start_offset: self.log_start_offset,
            high_watermark: self.high_watermark,
            log_end_offset: self.log_end_offset,
        };
        if offset >= upper {
            return Ok(fetched);
        }
        let first = self.segment_index_for(offset);
        // A segment may hold nothing at or after `offset` (compaction): try the next one.
        for segment in &self.segments[first..] {
            let Some(start) = segment.find_batch(offset) else {
                continue;
            };
            for location in segment.batches_from(start.position) {
                let size = location.header.size_in_bytes() as usize;
                let fits =
                    fetched.bytes.is_empty() || fetched.bytes.len() + size <= max_bytes as usize;
                if location.header.last_offset() >= upper || !fits {
                    break;
                }
                fetched
                    .bytes
                    .extend_from_slice(segment.batch_bytes(&location));
                fetched.batches_count += 1;
            }
            break;
        }
        Ok(fetched)
    }

    /// The index of the segment whose range holds `offset` (the last with base <= offset).
    pub(super) fn segment_index_for(&self, offset: Offset) -> usize {
        self.segments
            .partition_point(|s| s.base_offset() <= offset)
            .saturating_sub(1)
    }

    /// ListOffsets for one timestamp (L-5): the first record in log order with a timestamp
    /// `>= timestamp`, found via the first segment whose largest timestamp reaches it, its
    /// time index and a forward scan. The specials EARLIEST (-2), LATEST (-1) and
    /// MAX_TIMESTAMP (-3) are answered too. An answer at or beyond `last_fetchable` (HW or
    /// LSO) is no answer.
    pub fn offset_for_timestamp(
        &self,
        timestamp: i64,
        last_fetchable: Offset,
    ) -> Option<(Offset, i64)> {
        let found = match timestamp {
            EARLIEST_TIMESTAMP => return Some((self.log_start_offset, NO_TIMESTAMP)),
            LATEST_TIMESTAMP => return Some((last_fetchable, NO_TIMESTAMP)),
            MAX_TIMESTAMP => self.max_timestamp_record(),
            t if t < 0 => None,
            t => self.first_record_at_or_after(t),
        };
        found.filter(|&(offset, _)| offset < last_fetchable)
    }

    fn first_record_at_or_after(&self, timestamp: i64) -> Option<(Offset, i64)> {
        let first = self
            .segments
            .iter()
            .position(|s| s.max_timestamp_so_far() >= timestamp)?;
        for segment in &self.segments[first..] {
            let start = match segment.time_index().lookup_below(timestamp) {
                Some(entry) => segment.offset_index().lookup(entry.offset.plus(1)).position,
                None => 0,
            };
            for location in segment.batches_from(start) {
                if location.header.max_timestamp < timestamp {
                    continue;
                }
                let batch = self.decode_at(segment, &location)?;
                let hit = batch.records.iter().find_map(|r| {
                    let (offset, ts) = (batch.record_offset(r), batch.record_timestamp(r));
                    (ts >= timestamp && offset >= self.log_start_offset).then_some((offset, ts))
                });
                if hit.is_some() {
                    return hit;
                }
            }
        }
        None
    }

    fn max_timestamp_record(&self) -> Option<(Offset, i64)> {
        let segment = self
            .segments
            .iter()
            .filter(|s| s.max_timestamp_so_far() >= 0)
            .max_by_key(|s| (s.max_timestamp_so_far(), std::cmp::Reverse(s.base_offset())))?;
        let max = segment.max_timestamp_so_far();
        segment
            .batches_from(0)
            .filter(|b| b.header.max_timestamp == max)
            .find_map(|location| {
                let batch = self.decode_at(segment, &location)?;
                batch.records.iter().find_map(|r| {
                    (batch.record_timestamp(r) == max).then_some((batch.record_offset(r), max))
                })
            })
    }

    /// Decodes a batch the log already validated; a failure here is corruption of memory
    /// and reads as "nothing here" rather than a panic.
    pub(super) fn decode_at(
        &self,
        segment: &LogSegment,
        location: &super::segment::BatchLocation,
    ) -> Option<RecordBatch> {
        decode_batch(segment.batch_bytes(location))
            .ok()
            .map(|(b, _)| b)
    }

    /// The segments, oldest first, for a UI.
    pub fn segment_views(&self) -> Vec<SegmentView> {
        let last = self.segments.len() - 1;
        self.segments
            .iter()
            .enumerate()
            .map(|(i, s)| SegmentView {
                base_offset: s.base_offset(),
                next_offset: self.upper_bound(i),
                size_bytes: s.size_in_bytes(),
                offset_index_entries: s.offset_index().len(),
                time_index_entries: s.time_index().len(),
                max_timestamp: s.max_timestamp_so_far(),
                is_active: i == last,
            })
            .collect()
    }

    /// Decodes the batches overlapping `[from, to)`, oldest first, handing each to `visit`
    /// until it returns false (or a batch does not decode).
    pub fn visit_batches(
        &self,
        from: Offset,
        to: Offset,
        mut visit: impl FnMut(&RecordBatch) -> bool,
    ) {
        let first = self.segment_index_for(from);
        for segment in &self.segments[first..] {
            let Some(start) = segment.find_batch(from) else {
                continue;
            };
            for location in segment.batches_from(start.position) {
                if location.header.base_offset >= to {
                    return;
                }
                let Some(batch) = self.decode_at(segment, &location) else {
                    return;
                };
                if !visit(&batch) {
                    return;
                }
            }
        }
    }

    /// The batches overlapping `[from, to)`, oldest first, as a UI draws them: offsets,
    /// producer id, the transactional bit, and the marker type of a control batch (a control
    /// batch whose record does not decode is reported with `marker: None`).
    pub fn batch_spans(&self, from: Offset, to: Offset) -> Vec<BatchSpan> {
        let mut out = Vec::new();
        self.visit_batches(from, to, |batch| {
            out.push(BatchSpan {
                base_offset: batch.base_offset,
                last_offset: batch.last_offset(),
                producer_id: batch.producer_id,
                is_transactional: batch.attributes.is_transactional,
                is_control: batch.attributes.is_control,
                marker: batch
                    .attributes
                    .is_control
                    .then(|| batch.control_marker().ok().map(|m| m.control_type))
                    .flatten(),
            });
            true
        });
        out
    }

    /// Up to `max_records` records with offsets in `[from, to)`, control records included
    /// (flagged), for a UI.
    pub fn read_records(&self, from: Offset, to: Offset, max_records: u32) -> Vec<RecordView> {
        let mut out = Vec::new();
        self.visit_batches(from, to, |batch| {
            for record in &batch.records {
                let offset = batch.record_offset(record);
                if offset >= from && offset < to && (out.len() as u32) < max_records {
                    out.push(record_view(batch, record));
                }
            }
            (out.len() as u32) < max_records
        });
        out
    }

    /// Every batch header in the log, oldest first (to rebuild producer state).
    pub fn batch_headers(&self) -> Vec<BatchHeader> {
        let mut headers = Vec::new();
        for segment in &self.segments {
            let mut rest = segment.bytes();
            while let Ok(header) = BatchHeader::parse(rest) {
                let size = header.size_in_bytes() as usize;
                if size == 0 || size > rest.len() {
                    break;
                }
                rest = &rest[size..];
                headers.push(header);
            }
        }
        headers
    }

    /// Replaces the topic config (Kafka's alter configs): retention, compaction and the next
    /// roll follow the new values; bytes already written stay as they are.
    pub fn set_config(&mut self, config: LogConfig) -> Result<(), LogError> {
        config.validate().map_err(LogError::InvalidConfig)?;
        self.config = config;
        Ok(())
    }

    /// The bytes of every segment's `.log`, oldest first: what storage should hold.
    pub fn segment_bytes(&self) -> Vec<(Offset, &[u8])> {
        self.segments
            .iter()
            .map(|s| (s.base_offset(), s.bytes()))
            .collect()
    }

    /// For tests and checkers: whether the indexed lookup agrees with a linear scan for
    /// `offset` in every segment.
    pub fn index_lookup_matches_scan(&self, offset: Offset) -> bool {
        self.segments
            .iter()
            .all(|s| s.find_batch(offset) == s.find_batch_linear(offset))
    }

    // ---- truncation ---------------------------------------------------------------------

    /// Removes every batch holding an offset at or above `offset` (whole batches: a batch
    /// straddling `offset` goes too). Used by followers to match their leader (KIP-101/279).
    /// Returns whether anything was removed.
    pub fn truncate_to(&mut self, offset: Offset, now_ms: i64) -> Result<bool, LogError> {
        if offset >= self.log_end_offset {
            return Ok(false);
        }
        if offset < self.log_start_offset || offset <= self.segments[0].base_offset() {
            self.truncate_fully_and_start_at(offset, now_ms)?;
            return Ok(true);
        }
        // Whole segments at or above the cut go.
        while self.segments.len() > 1 && self.active().base_offset() >= offset {
            let base = self.active().base_offset();
            self.segments.pop();
            self.delete_segment_files(base)?;
        }
        let last = self.segments.len() - 1;
        let segment = &self.segments[last];
        let position = segment.truncation_position(offset);
        let base = segment.base_offset();
        let kept = segment.bytes()[..position as usize].to_vec();
        let rebuilt = LogSegment::rebuild(
            base,
            &kept,
            &self.config,
            segment.created_at_ms(),
            segment.last_modified_ms(),
        );
        self.segments[last] = rebuilt;
        self.log_end_offset = self.active().next_offset().max(base);
        self.high_watermark = self.high_watermark.min(self.log_end_offset);
        self.first_dirty_offset = self.first_dirty_offset.min(self.log_end_offset);
        let file = self.segment_file_name(base, "log")?;
        self.storage_requests.push(StorageRequest::Truncate {
            file,
            len: u64::from(position),
        });
        // The segment is active again: its sealed index files are stale.
        for ext in ["index", "timeindex"] {
            let file = self.segment_file_name(base, ext)?;
            self.storage_requests.push(StorageRequest::Delete { file });
        }
        self.assert_offsets();
        Ok(true)
    }

    /// Drops everything and restarts the log empty at `offset` (Kafka's
    /// `truncateFullyAndStartAt`).
    pub fn truncate_fully_and_start_at(
        &mut self,
        offset: Offset,
        now_ms: i64,
    ) -> Result<(), LogError> {
        let bases: Vec<Offset> = self.segments.iter().map(LogSegment::base_offset).collect();
        for base in bases {
            self.delete_segment_files(base)?;
        }
        let wall_ms = self.wall_ms(now_ms);
        self.segments = vec![LogSegment::new(offset, &self.config, wall_ms)];
        self.create_segment_file(offset)?;
        self.log_start_offset = offset;
        self.log_end_offset = offset;
        self.high_watermark = offset;
        self.first_dirty_offset = offset;
        self.next_delete_horizon_ms = None;
        self.assert_offsets();
        Ok(())
    }
}

fn record_view(batch: &RecordBatch, record: &Record) -> RecordView {
    RecordView {
        offset: batch.record_offset(record),
        timestamp: batch.record_timestamp(record),
        key: record.key.clone(),
        value: record.value.clone(),
        headers_count: record.headers.len() as u32,
        partition_leader_epoch: batch.partition_leader_epoch,
        producer_id: batch.producer_id,
        is_transactional: batch.attributes.is_transactional,
        is_control: batch.attributes.is_control,
    }
}
