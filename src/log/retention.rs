//! Retention with `cleanup.policy=delete` (L-6): whole segments go, oldest first, while one of
//! Kafka's predicates holds (time, size, log start offset breach), never past the high
//! watermark; the active segment may go too, after a roll, so a log always has a segment.
//! The log start offset then moves to the first remaining segment's base (INV-1 kept).

use super::partition_log::{LogError, PartitionLog};
use super::segment::LogSegment;
use crate::ids::Offset;

/// Why retention deleted a segment.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum RetentionReason {
    /// `now - largestTimestamp > retention.ms`.
    RetentionMs,
    /// The log exceeds `retention.bytes` by at least this segment.
    RetentionBytes,
    /// The next segment starts at or below the log start offset.
    LogStartOffsetBreach,
}

/// A segment retention deleted.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DeletedSegment {
    pub base_offset: Offset,
    pub next_offset: Offset,
    pub size_bytes: u64,
    pub largest_timestamp: i64,
    pub reason: RetentionReason,
}

impl PartitionLog {
    /// One retention check (`log.retention.check.interval.ms` tick): how many segments went
    /// (Kafka's `deleteOldSegments`). See `apply_retention_detailed` for which and why.
    pub fn apply_retention(&mut self, now_ms: i64) -> Result<u32, LogError> {
        Ok(self.apply_retention_detailed(now_ms)?.len() as u32)
    }

    /// One retention check: the segments deleted, oldest first, with the rule that took each.
    pub fn apply_retention_detailed(
        &mut self,
        now_ms: i64,
    ) -> Result<Vec<DeletedSegment>, LogError> {
        // Retention compares record timestamps with the broker's own (possibly skewed) clock.
        let now_ms = self.wall_ms(now_ms);
        let mut deleted = Vec::new();
        if self.config.cleanup_policy.deletes() {
            let retention_ms = self.config.retention_ms;
            if retention_ms >= 0 {
                let n = self.count_deletable(|s, _| {
                    now_ms.saturating_sub(s.largest_timestamp()) > retention_ms
                });
                deleted.extend(self.delete_oldest(n, RetentionReason::RetentionMs, now_ms)?);
            }
            let retention_bytes = self.config.retention_bytes;
            let size = i64::try_from(self.size_in_bytes()).unwrap_or(i64::MAX);
            if retention_bytes >= 0 && size >= retention_bytes {
                let mut diff = size - retention_bytes;
                let n = self.count_deletable(|s, _| {
                    let segment = i64::try_from(s.size_in_bytes()).unwrap_or(i64::MAX);
                    if diff - segment >= 0 {
                        diff -= segment;
                        true
                    } else {
                        false
                    }
                });
                deleted.extend(self.delete_oldest(n, RetentionReason::RetentionBytes, now_ms)?);
            }
        }
        let log_start = self.log_start_offset;
        let n = self.count_deletable(|_, next| next.is_some_and(|base| base <= log_start));
        deleted.extend(self.delete_oldest(n, RetentionReason::LogStartOffsetBreach, now_ms)?);
        self.assert_offsets();
        Ok(deleted)
    }

    /// How many segments, oldest first, satisfy `predicate(segment, next segment's base)` and
    /// lie entirely below the high watermark (Kafka's `deletableSegments`).
    fn count_deletable(
        &self,
        mut predicate: impl FnMut(&LogSegment, Option<Offset>) -> bool,
    ) -> usize {
        let last = self.segments.len() - 1;
        let mut count = 0;
        for (i, segment) in self.segments.iter().enumerate() {
            let upper = self.upper_bound(i);
            let last_and_empty = i == last && segment.is_empty();
            let next = self.segments.get(i + 1).map(LogSegment::base_offset);
            if self.high_watermark < upper || last_and_empty || !predicate(segment, next) {
                break;
            }
            count += 1;
        }
        count
    }

    fn delete_oldest(
        &mut self,
        count: usize,
        reason: RetentionReason,
        now_ms: i64,
    ) -> Result<Vec<DeletedSegment>, LogError> {
        if count == 0 {
            return Ok(Vec::new());
        }
        if count == self.segments.len() {
            // Kafka rolls first so the log keeps an (empty) active segment at the LEO.
            self.roll(self.log_end_offset, now_ms)?;
        }
        let mut deleted = Vec::with_capacity(count);
        for i in 0..count {
            let segment = &self.segments[i];
            deleted.push(DeletedSegment {
                base_offset: segment.base_offset(),
                next_offset: self.upper_bound(i),
                size_bytes: segment.size_in_bytes(),
                largest_timestamp: segment.largest_timestamp(),
                reason,
            });
        }
        self.segments.drain(..count);
        for d in &deleted {
            self.delete_segment_files(d.base_offset)?;
        }
        let first_base = self.segments[0].base_offset();
        self.log_start_offset = self.log_start_offset.max(first_base);
        self.high_watermark = self.high_watermark.max(self.log_start_offset);
        self.first_dirty_offset = self.first_dirty_offset.max(self.log_start_offset);
        self.assert_offsets();
        Ok(deleted)
    }
}
