//! Log compaction with `cleanup.policy=compact` (L-7). The cleaner keeps, for every key, only
//! the record with the highest offset; offsets never change, so gaps appear. It only touches
//! whole segments below the first uncleanable offset (`min(active segment base, high
//! watermark, first segment younger than min.compaction.lag.ms)`), and a log is cleaned only
//! when its dirty ratio exceeds `min.cleanable.dirty.ratio` or a tombstone's delete horizon has
//! passed. Tombstones get `deleteHorizon = clean time + delete.retention.ms` (attribute bit 6
//! and `baseTimestamp`, KIP-534) on the first pass that keeps them, and go on a later pass at or
//! after the horizon. Rewritten segments are queued as atomic `Replace` requests (Kafka swaps a
//! `.cleaned` file in).
//!
//! Not yet modelled: aborted transactional data and transaction markers (markers are always
//! kept), the LSO bound (the high watermark stands in), and merging small segments.

use super::batch::{decode_batch, Record, RecordBatch, TimestampType, NO_TIMESTAMP};
use super::partition_log::{LogError, PartitionLog};
use super::segment::LogSegment;
use crate::ids::Offset;
use crate::storage::StorageRequest;
use std::collections::BTreeMap;

/// What one cleaning pass did.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CleanerReport {
    /// The checkpoint before the pass: offsets below it were already clean.
    pub first_dirty_offset: Offset,
    /// Everything below this offset is now clean (the new checkpoint).
    pub cleaned_up_to: Offset,
    pub segments_rewritten: u32,
    pub records_removed: u64,
    pub tombstones_removed: u64,
    pub delete_horizons_set: u32,
    pub bytes_before: u64,
    pub bytes_after: u64,
}

impl PartitionLog {
    /// The first offset the cleaner may not touch (Kafka's `firstUncleanableDirtyOffset`,
    /// with the high watermark standing in for the LSO). `now_ms` is on the broker's wall clock.
    pub fn first_uncleanable_offset(&self, now_ms: i64) -> Offset {
        let mut bound = self.active().base_offset().min(self.high_watermark);
        let lag = self.config.min_compaction_lag_ms;
        if lag > 0 {
            let young = self.segments.iter().find(|s| {
                s.base_offset() >= self.first_dirty_offset
                    && s.largest_timestamp() > now_ms.saturating_sub(lag)
            });
            if let Some(s) = young {
                bound = bound.min(s.base_offset());
            }
        }
        bound
    }

    /// The cleaner's checkpoint: offsets below it have been compacted.
    pub fn first_dirty_offset(&self) -> Offset {
        self.first_dirty_offset.max(self.log_start_offset)
    }

    /// One cleaning pass if the log is eligible; `None` if there was nothing to do.
    pub fn compact(&mut self, now_ms: i64) -> Result<Option<CleanerReport>, LogError> {
        if !self.config.cleanup_policy.compacts() {
            return Ok(None);
        }
        let now_ms = self.wall_ms(now_ms);
        let first_dirty = self.first_dirty_offset();
        let uncleanable = self.first_uncleanable_offset(now_ms);
        // Whole segments entirely below the uncleanable offset.
        let cleanable = (0..self.segments.len())
            .take_while(|&i| self.upper_bound(i) <= uncleanable)
            .count();
        if cleanable == 0 {
            return Ok(None);
        }
        let (mut clean_bytes, mut dirty_bytes) = (0u64, 0u64);
        for (i, s) in self.segments[..cleanable].iter().enumerate() {
            if self.upper_bound(i) <= first_dirty {
                clean_bytes += s.size_in_bytes();
            } else {
                dirty_bytes += s.size_in_bytes();
            }
        }
        let ratio = u64::from(self.config.min_cleanable_dirty_ratio_percent);
        let dirty_enough =
            dirty_bytes > 0 && dirty_bytes * 100 > ratio * (clean_bytes + dirty_bytes);
        let horizon_due = self.next_delete_horizon_ms.is_some_and(|h| now_ms >= h);
        if !dirty_enough && !horizon_due {
            return Ok(None);
        }
        let offset_map = self.build_offset_map(first_dirty, cleanable);
        let producer_last = self.producers_last_batches();
        let mut report = CleanerReport {
            first_dirty_offset: first_dirty,
            cleaned_up_to: self.upper_bound(cleanable - 1),
            segments_rewritten: 0,
            records_removed: 0,
            tombstones_removed: 0,
            delete_horizons_set: 0,
            bytes_before: 0,
            bytes_after: 0,
        };
        let mut next_horizon: Option<i64> = None;
        let last_batch_offset = self.segments[..cleanable]
            .iter()
            .rev()
            .find_map(|s| s.batches_from(0).last().map(|b| b.header.last_offset()));
        let pass = Pass {
            now_ms,
            delete_retention_ms: self.config.delete_retention_ms,
            offset_map: &offset_map,
            producer_last: &producer_last,
            last_batch_offset,
        };
        for i in 0..cleanable {
            let segment = &self.segments[i];
            report.bytes_before += segment.size_in_bytes();
            let cleaned = pass.clean_segment(segment, &mut report, &mut next_horizon)?;
            report.bytes_after += cleaned.len() as u64;
            if cleaned != segment.bytes() {
                let rebuilt = LogSegment::rebuild(
                    segment.base_offset(),
                    &cleaned,
                    &self.config,
                    segment.created_at_ms(),
                    segment.last_modified_ms(),
                );
                self.segments[i] = rebuilt;
                let file = self.segment_file_name(self.segments[i].base_offset(), "log")?;
                self.storage_requests.push(StorageRequest::Replace {
                    file,
                    bytes: cleaned,
                });
                self.write_indexes(i)?;
                report.segments_rewritten += 1;
            }
        }
        // Tombstones above the cleaned range keep their own horizons; only ours are tracked.
        self.next_delete_horizon_ms = next_horizon;
        self.first_dirty_offset = report.cleaned_up_to;
        self.assert_offsets();
        Ok(Some(report))
    }

    /// key -> offset of its latest record, over the dirty part of the cleanable range.
    fn build_offset_map(&self, first_dirty: Offset, cleanable: usize) -> BTreeMap<Vec<u8>, Offset> {
        let mut map = BTreeMap::new();
        for segment in &self.segments[..cleanable] {
            for location in segment.batches_from(0) {
                if location.header.attributes.is_control
                    || location.header.last_offset() < first_dirty
                {
                    continue;
                }
                let Some(batch) = self.decode_at(segment, &location) else {
                    continue;
                };
                for record in &batch.records {
                    let offset = batch.record_offset(record);
                    if let (Some(key), true) = (&record.key, offset >= first_dirty) {
                        map.insert(key.clone(), offset);
                    }
                }
            }
        }
        map
    }

    /// producer id -> last offset of its last batch in the whole log: an emptied batch that is
    /// a producer's last keeps its header, so the producer's sequence survives.
    fn producers_last_batches(&self) -> BTreeMap<i64, Offset> {
        let mut last = BTreeMap::new();
        for segment in &self.segments {
            for location in segment.batches_from(0) {
                if location.header.producer_id >= 0 {
                    last.insert(location.header.producer_id, location.header.last_offset());
                }
            }
        }
        last
    }
}

struct Pass<'a> {
    now_ms: i64,
    delete_retention_ms: i64,
    offset_map: &'a BTreeMap<Vec<u8>, Offset>,
    producer_last: &'a BTreeMap<i64, Offset>,
    /// The last batch of the cleaning round, kept even when emptied so offsets stay covered.
    last_batch_offset: Option<Offset>,
}

impl Pass<'_> {
    fn clean_segment(
        &self,
        segment: &LogSegment,
        report: &mut CleanerReport,
        next_horizon: &mut Option<i64>,
    ) -> Result<Vec<u8>, LogError> {
        let mut out = Vec::with_capacity(segment.bytes().len());
        for location in segment.batches_from(0) {
            let bytes = segment.batch_bytes(&location);
            if location.header.attributes.is_control {
                out.extend_from_slice(bytes);
                continue;
            }
            let (batch, _) = decode_batch(bytes)?;
            let kept = self.filter(&batch, report);
            let has_tombstone = kept.iter().any(|r| r.value.is_none());
            let horizon = match batch.delete_horizon_ms() {
                Some(h) => Some(h),
                None if has_tombstone => {
                    report.delete_horizons_set += 1;
                    Some(self.now_ms.saturating_add(self.delete_retention_ms))
                }
                None => None,
            };
            if has_tombstone {
                if let Some(h) = horizon {
                    *next_horizon = Some(next_horizon.map_or(h, |n: i64| n.min(h)));
                }
            }
            if kept.len() == batch.records.len() && horizon == batch.delete_horizon_ms() {
                out.extend_from_slice(bytes);
            } else if !kept.is_empty() {
                out.extend_from_slice(&rebuild_batch(&batch, kept, horizon).encode());
            } else if self.keep_empty(&batch) {
                out.extend_from_slice(&empty_batch(&batch).encode());
            }
        }
        Ok(out)
    }

    /// The records of `batch` that survive (Kafka's `shouldRetainRecord`).
    fn filter(&self, batch: &RecordBatch, report: &mut CleanerReport) -> Vec<Record> {
        let mut kept = Vec::with_capacity(batch.records.len());
        for record in &batch.records {
            let offset = batch.record_offset(record);
            let latest = match &record.key {
                Some(key) => self.offset_map.get(key).is_none_or(|&o| offset >= o),
                None => false, // keyless records cannot be compacted: Kafka drops them
            };
            let tombstone_expired = record.value.is_none()
                && batch.delete_horizon_ms().is_some_and(|h| self.now_ms >= h);
            if latest && !tombstone_expired {
                kept.push(record.clone());
            } else {
                report.records_removed += 1;
                if record.value.is_none() && latest {
                    report.tombstones_removed += 1;
                }
            }
        }
        kept
    }

    fn keep_empty(&self, batch: &RecordBatch) -> bool {
        let last = batch.last_offset();
        let producers_last =
            batch.producer_id >= 0 && self.producer_last.get(&batch.producer_id) == Some(&last);
        producers_last || self.last_batch_offset == Some(last)
    }
}

/// The surviving records in a batch with the original header fields, the original last
/// offset (Kafka's `overrideLastOffset`, so producer sequences survive) and timestamps
/// re-based on the delete horizon when there is one.
fn rebuild_batch(original: &RecordBatch, kept: Vec<Record>, horizon: Option<i64>) -> RecordBatch {
    let timestamps: Vec<i64> = kept.iter().map(|r| original.record_timestamp(r)).collect();
    let base_timestamp = horizon
        .or(timestamps.first().copied())
        .unwrap_or(NO_TIMESTAMP);
    let max_timestamp = match original.attributes.timestamp_type {
        TimestampType::LogAppendTime => original.max_timestamp,
        TimestampType::CreateTime => timestamps.iter().copied().max().unwrap_or(NO_TIMESTAMP),
    };
    let records = kept
        .into_iter()
        .zip(timestamps)
        .map(|(r, ts)| Record {
            timestamp_delta: ts.wrapping_sub(base_timestamp),
            ..r
        })
        .collect();
    let mut attributes = original.attributes;
    attributes.has_delete_horizon_ms = horizon.is_some();
    RecordBatch {
        attributes,
        base_timestamp,
        max_timestamp,
        records,
        ..original.clone()
    }
}

/// A header-only batch keeping the offsets and producer fields (Kafka's `writeEmptyHeader`).
fn empty_batch(original: &RecordBatch) -> RecordBatch {
    let mut attributes = original.attributes;
    attributes.has_delete_horizon_ms = false;
    RecordBatch {
        attributes,
        base_timestamp: original.max_timestamp,
        records: Vec::new(),
        ..original.clone()
    }
}
