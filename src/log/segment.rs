//! One log segment: the bytes of its `.log` file (held in memory, the page cache), its sparse
//! offset and time indexes, and the timestamps the roll and retention rules need (L-3, L-4).
//! Every batch in `bytes` was validated before it got here, so walking headers is trusted;
//! a segment never touches storage itself, the partition log turns its changes into requests.

use super::batch::{BatchHeader, NO_TIMESTAMP};
use super::config::LogConfig;
use super::index::{OffsetIndex, TimeIndex};
use crate::ids::Offset;

#[derive(Clone, Debug)]
pub struct LogSegment {
    base_offset: Offset,
    bytes: Vec<u8>,
    offset_index: OffsetIndex,
    time_index: TimeIndex,
    bytes_since_last_index_entry: u64,
    /// The largest timestamp of the first append: what `segment.ms` counts from.
    rolling_based_timestamp: Option<i64>,
    created_at_ms: i64,
    last_modified_ms: i64,
    max_timestamp_so_far: i64,
    /// The last offset of the batch that carried `max_timestamp_so_far` (Kafka's shallow
    /// offset of the max timestamp).
    offset_of_max_timestamp_so_far: Offset,
    /// One past the last offset of the last batch, or the base offset when empty.
    next_offset: Offset,
}

/// A batch's place in a segment.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct BatchLocation {
    pub position: u32,
    pub header: BatchHeader,
}

impl LogSegment {
    pub fn new(base_offset: Offset, config: &LogConfig, now_ms: i64) -> LogSegment {
        LogSegment {
            base_offset,
            bytes: Vec::new(),
            offset_index: OffsetIndex::new(base_offset, config.offset_index_entries_max()),
            time_index: TimeIndex::new(base_offset, config.time_index_entries_max()),
            bytes_since_last_index_entry: 0,
            rolling_based_timestamp: None,
            created_at_ms: now_ms,
            last_modified_ms: now_ms,
            max_timestamp_so_far: NO_TIMESTAMP,
            offset_of_max_timestamp_so_far: base_offset,
            next_offset: base_offset,
        }
    }

    /// Rebuilds a segment and its indexes from validated batch bytes (recovery, compaction,
    /// truncation), appending batch by batch exactly as the live path did.
    pub fn rebuild(
        base_offset: Offset,
        bytes: &[u8],
        config: &LogConfig,
        created_at_ms: i64,
        last_modified_ms: i64,
    ) -> LogSegment {
        let mut segment = LogSegment::new(base_offset, config, created_at_ms);
        let mut position = 0usize;
        while let Ok(header) = BatchHeader::parse(&bytes[position..]) {
            let end = position + header.size_in_bytes() as usize;
            if end > bytes.len() {
                break;
            }
            segment.append(&header, &bytes[position..end], config, last_modified_ms);
            position = end;
        }
        segment.last_modified_ms = last_modified_ms;
        segment
    }

    pub fn base_offset(&self) -> Offset {
        self.base_offset
    }

    pub fn bytes(&self) -> &[u8] {
        &self.bytes
    }

    pub fn size_in_bytes(&self) -> u64 {
        self.bytes.len() as u64
    }

    pub fn is_empty(&self) -> bool {
        self.bytes.is_empty()
    }

    pub fn next_offset(&self) -> Offset {
        self.next_offset
    }

    pub fn offset_index(&self) -> &OffsetIndex {
        &self.offset_index
    }

    pub fn time_index(&self) -> &TimeIndex {
        &self.time_index
    }

    pub fn created_at_ms(&self) -> i64 {
        self.created_at_ms
    }

    pub fn last_modified_ms(&self) -> i64 {
        self.last_modified_ms
    }

    pub fn max_timestamp_so_far(&self) -> i64 {
        self.max_timestamp_so_far
    }

    /// What time retention compares against: the largest record timestamp, or the last
    /// modification time when the segment holds no timestamps (Kafka's file mtime).
    pub fn largest_timestamp(&self) -> i64 {
        if self.max_timestamp_so_far >= 0 {
            self.max_timestamp_so_far
        } else {
            self.last_modified_ms
        }
    }

    /// L-3: whether the segment must roll before `incoming` is appended.
    pub fn should_roll(&self, incoming: &BatchHeader, config: &LogConfig, now_ms: i64) -> bool {
        if self.is_empty() {
            return false;
        }
        let incoming_bytes = u64::from(incoming.size_in_bytes());
        let full = self.size_in_bytes() + incoming_bytes > config.segment_bytes.max(0) as u64;
        let waited = match self.rolling_based_timestamp {
            Some(first) if first >= 0 => incoming.max_timestamp.saturating_sub(first),
            _ => now_ms.saturating_sub(self.created_at_ms),
        };
        let too_old = waited > config.segment_ms.saturating_sub(config.segment_jitter_ms);
        let index_full = self.offset_index.is_full() || self.time_index.is_full();
        let delta = incoming.last_offset().0.saturating_sub(self.base_offset.0);
        let offsets_overflow = !(0..=i64::from(i32::MAX)).contains(&delta);
        full || too_old || index_full || offsets_overflow
    }

    /// Appends one validated batch (`bytes` is exactly the batch), indexing it when more than
    /// `index.interval.bytes` were appended since the last entry (Kafka's `LogSegment.append`).
    pub fn append(&mut self, header: &BatchHeader, bytes: &[u8], config: &LogConfig, now_ms: i64) {
        let position = self.bytes.len() as u32;
        if position == 0 {
            self.rolling_based_timestamp = Some(header.max_timestamp);
        }
        self.bytes.extend_from_slice(bytes);
        if header.max_timestamp > self.max_timestamp_so_far {
            self.max_timestamp_so_far = header.max_timestamp;
            self.offset_of_max_timestamp_so_far = header.last_offset();
        }
        if self.bytes_since_last_index_entry > config.index_interval_bytes.max(0) as u64 {
            self.offset_index.append(header.last_offset(), position);
            self.time_index.maybe_append(
                self.max_timestamp_so_far,
                self.offset_of_max_timestamp_so_far,
            );
            self.bytes_since_last_index_entry = 0;
        }
        self.bytes_since_last_index_entry += bytes.len() as u64;
        self.next_offset = header.next_offset();
        self.last_modified_ms = now_ms;
    }

    /// The segment stops being active: record its final max timestamp in the time index, as
    /// Kafka's `onBecomeInactiveSegment` does.
    pub fn seal(&mut self) {
        self.time_index.maybe_append(
            self.max_timestamp_so_far,
            self.offset_of_max_timestamp_so_far,
        );
    }

    /// Batches from `position` on, in file order.
    pub fn batches_from(&self, position: u32) -> impl Iterator<Item = BatchLocation> + '_ {
        let mut at = position as usize;
        std::iter::from_fn(move || {
            let header = BatchHeader::parse(self.bytes.get(at..)?).ok()?;
            let location = BatchLocation {
                position: at as u32,
                header,
            };
            at += header.size_in_bytes() as usize;
            Some(location)
        })
    }

    /// The first batch whose last offset is at least `target`: the offset index lookup, then a
    /// forward scan (L-4).
    pub fn find_batch(&self, target: Offset) -> Option<BatchLocation> {
        let start = self.offset_index.lookup(target).position;
        self.batches_from(start)
            .find(|b| b.header.last_offset() >= target)
    }

    /// The same answer by a scan from the first byte: the oracle for `find_batch`.
    pub fn find_batch_linear(&self, target: Offset) -> Option<BatchLocation> {
        self.batches_from(0)
            .find(|b| b.header.last_offset() >= target)
    }

    /// The bytes of the batch at `location`.
    pub fn batch_bytes(&self, location: &BatchLocation) -> &[u8] {
        let start = location.position as usize;
        &self.bytes[start..start + location.header.size_in_bytes() as usize]
    }

    /// The file position where a truncation to `offset` cuts: the start of the first batch
    /// whose last offset is at least `offset` (whole batches only), or the end.
    pub fn truncation_position(&self, offset: Offset) -> u32 {
        self.find_batch(offset)
            .map_or(self.bytes.len() as u32, |b| b.position)
    }
}
